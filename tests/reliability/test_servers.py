"""The local servers of :mod:`otel_identity_testing.servers` never close a connection a client may still reuse.

uvicorn's default keep-alive (5 s) equals httpx's ``keepalive_expiry`` (5 s): a connection
idle for about 5 s was closed by the server just as the client sent its next request on it,
which surfaced as ``httpx.ReadError`` in the thousand-session test under CPU load.
"""

from __future__ import annotations

import httpx

from otel_identity_testing.servers import SERVER_KEEP_ALIVE, server_config


def test_the_server_keeps_idle_connections_longer_than_clients_reuse_them() -> None:
    config = server_config(app=None)
    client_reuse = httpx.Limits().keepalive_expiry
    assert client_reuse is not None
    assert config.timeout_keep_alive == SERVER_KEEP_ALIVE > client_reuse
