"""uvicorn on 127.0.0.1 for tests, benchmarks and the demo: started on an event, stopped cleanly.

Start-up waits on uvicorn's own start-up (:class:`ReadyServer` calls back once it accepts
connections), never on a sleep. Two rules every server here follows:

* The listening socket says ``IPPROTO_TCP`` (:func:`listening_socket`): asyncio sets
  ``TCP_NODELAY`` only on sockets whose protocol says TCP, and without it Nagle plus delayed
  ACKs add ~40 ms to every keep-alive request.
* The server keeps an idle connection open longer than any client here keeps it for reuse
  (:data:`SERVER_KEEP_ALIVE`). uvicorn's default (5 s) equals httpx's ``keepalive_expiry``
  (5 s): a connection idle for about 5 s is then closed by the server just as the client
  sends its next request on it, and the client sees ``httpx.ReadError`` (a POST is not
  retried). Under CPU load the server's keep-alive timer runs late, after the request bytes
  arrived, and this race is what made a thousand-session test fail. A client closes idle
  connections first; the server never does while the client may still use them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import socket
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import uvicorn

__all__ = ["SERVER_KEEP_ALIVE", "ReadyServer", "ServerThread", "listening_socket", "serve_in_loop", "server_config"]

SERVER_KEEP_ALIVE: Final = 75
"""Seconds uvicorn keeps an idle keep-alive connection (longer than httpx's 5 s reuse window)."""
START_TIMEOUT: Final = 20.0
STOP_TIMEOUT: Final = 15.0


def listening_socket(host: str = "127.0.0.1", port: int = 0, *, backlog: int = 128) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening, so clients may connect before uvicorn runs.

    Raises ``OSError`` (``EADDRINUSE``, ``EACCES``...) when the port cannot be had.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def server_config(app: Any, **options: Any) -> uvicorn.Config:
    """uvicorn settings for a local service: quiet, no lifespan, the keep-alive rule above."""
    settings: dict[str, Any] = {
        "log_level": "warning",
        "lifespan": "off",
        "access_log": False,
        "timeout_keep_alive": SERVER_KEEP_ALIVE,
        "timeout_graceful_shutdown": 2,
    }
    settings.update(options)
    return uvicorn.Config(app, **settings)


class ReadyServer(uvicorn.Server):  # type: ignore[misc]  # uvicorn ships no type information here
    """A uvicorn server that calls ``on_ready`` once it accepts connections (not when start-up failed)."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            self._on_ready()


class ServerThread:
    """An ASGI app on 127.0.0.1 in a background thread with its own event loop; use as a context manager.

    The port is known (and connectable) at construction. Subclasses that build their app from
    the port override :meth:`app`; those that run more beside uvicorn (a gRPC server) extend
    :meth:`serve`.
    """

    def __init__(self, app: Any = None, *, host: str = "127.0.0.1", name: str = "server", **options: Any) -> None:
        self.socket = listening_socket(host)
        self.host = host
        self.port: int = self.socket.getsockname()[1]
        self.base_url = f"http://{host}:{self.port}"
        self._app = app
        self._options = options
        self._name = name
        self._ready = threading.Event()
        self._server: ReadyServer | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def app(self) -> Any:
        """The ASGI app to serve (the one given to the constructor)."""
        if self._app is None:
            raise TypeError(f"{type(self).__name__} needs an app")
        return self._app

    async def serve(self) -> None:
        """Serve until :meth:`__exit__` asks uvicorn to stop."""
        self._server = ReadyServer(server_config(self.app(), **self._options), self._ready.set)
        await self._server.serve(sockets=[self.socket])

    def _run(self) -> None:
        try:
            asyncio.run(self.serve())
        except BaseException as error:  # surfaced by __enter__ when start-up fails
            self._failure = error
        finally:
            self._ready.set()

    def __enter__(self) -> Any:
        self._thread = threading.Thread(target=self._run, name=f"{self._name}-{self.port}", daemon=True)
        self._thread.start()
        started = self._ready.wait(START_TIMEOUT) and self._server is not None and self._server.started
        if not started or self._failure is not None:
            raise RuntimeError(f"{self._name} on {self.base_url} did not start") from self._failure
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT)
        self.socket.close()


@contextlib.asynccontextmanager
async def serve_in_loop(app: Any, sock: socket.socket, **options: Any) -> AsyncIterator[None]:
    """Serve ``app`` on ``sock`` (already listening) as a task of the running loop, until the block ends.

    The task starts from an empty context, so nothing of the caller's context (its identity
    scopes) leaks into the server's requests.
    """
    server = uvicorn.Server(server_config(app, **options))
    task = contextvars.Context().run(asyncio.create_task, server.serve(sockets=[sock]))
    try:
        yield
    finally:
        server.should_exit = True
        await task
