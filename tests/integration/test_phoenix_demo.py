"""The demo against a real Arize Phoenix server: every demo session is a Phoenix session with one trace per turn.

Phoenix groups sessions by the ``session.id`` of root spans, so this checks, through Phoenix's own
GraphQL API, that each turn of the demo is one trace whose root carries the session. Phoenix runs
as ``phoenix serve`` on free ports with its own working directory; readiness and ingestion are
polled with deadlines.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from otel_identity_demo.script import CONVERSATIONS, session_id

pytestmark = pytest.mark.integration

T = TypeVar("T")
START_DEADLINE = 150.0
INGEST_DEADLINE = 60.0
SESSIONS_QUERY = """
{ projects { edges { node { name traceCount
    sessions(first: 1000) { edges { node { sessionId numTraces } } } } } } }
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(what: str, check: Callable[[], T | None], deadline: float, server: subprocess.Popen[bytes]) -> T:
    """Poll ``check`` until it returns a value; the poll interval is a wait on the server's exit."""
    end = time.monotonic() + deadline
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {deadline:.0f} s")
        try:
            code = server.wait(timeout=0.25)
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"phoenix exited with code {code} while waiting for {what}")


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    work = tmp_path_factory.mktemp("phoenix")
    port = _free_port()
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "PHOENIX_"))},
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(_free_port()),
        "PHOENIX_WORKING_DIR": str(work),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    with open(work / "phoenix.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "phoenix.server.main", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool | None:
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200 or None
        except httpx.HTTPError:
            return None

    try:
        _until("phoenix to answer /healthz", healthy, START_DEADLINE, server)
        yield base, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _sessions(base: str) -> tuple[int, dict[str, int]]:
    response = httpx.post(f"{base}/graphql", json={"query": SESSIONS_QUERY}, timeout=10)
    response.raise_for_status()
    body = response.json()
    assert not body.get("errors"), body
    traces = 0
    found: dict[str, int] = {}
    for project in body["data"]["projects"]["edges"]:
        traces += project["node"]["traceCount"]
        for edge in project["node"]["sessions"]["edges"]:
            found[edge["node"]["sessionId"]] = edge["node"]["numTraces"]
    return traces, found


def test_every_demo_session_is_a_phoenix_session_with_one_trace_per_turn(
    phoenix: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    base, server = phoenix
    tag = f"phx{os.getpid()}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = base
    output = tmp_path / "also.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "otel_identity_demo.cli", "demo", "--run-tag", tag, "--json", "--output", str(output)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    expected = {session_id(conversation, tag): len(conversation.turns) for conversation in CONVERSATIONS}

    def ingested() -> tuple[int, dict[str, int]] | None:
        traces, found = _sessions(base)
        mine = {key: value for key, value in found.items() if key in expected}
        # Phoenix updates a project's trace count apart from its sessions: wait for both.
        return (traces, mine) if mine == expected and traces >= sum(expected.values()) else None

    traces, found = _until("the demo's sessions in phoenix", ingested, INGEST_DEADLINE, server)

    assert found == expected
    assert traces == sum(expected.values()), "no trace outside a turn: a2a-sdk's own root spans are off"
    # The same spans, written to the file as well: the sessions report agrees with Phoenix.
    report: dict[str, Any] = json.loads(done.stdout)
    assert {s["session_id"]: len(s["trace_ids"]) for s in report["sessions"]} == expected
