"""MCP ``_meta`` through agent-framework: identity only to an MCP server that is trusted and named.

agent-framework 1.23 (``_mcp.py``, ``_inject_otel_into_mcp_meta``) injects the global propagator
into a plain dict before its ``tools/call`` span starts, and mcp 2.x injects again inside its
"MCP send" CLIENT span, which names no peer. So at inject time nothing says where ``_meta``
goes: identity is sent only when the app names the server with ``set_destination`` *and*
trusts it. The server is a real mcp ``MCPServer`` over streamable HTTP on 127.0.0.1; its tool
answers with the ``_meta`` it received, and its own OpenTelemetry middleware extracts it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from agent_framework import MCPStreamableHTTPTool
from cross_peers import SpanWait, attached, baggage_members
from mcp.server.mcpserver import Context, MCPServer
from opentelemetry import baggage
from opentelemetry.trace import SpanKind

import otel_identity as oi
from otel_identity import attributes as attr
from otel_identity_testing.servers import ServerThread


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    """A real MCP server (streamable HTTP) on 127.0.0.1 whose ``echo_meta`` tool returns the request's ``_meta``."""
    server = MCPServer("meta-echo")

    @server.tool()
    async def echo_meta(ctx: Context) -> str:  # type: ignore[type-arg]
        """Return the _meta of this request."""
        return json.dumps(dict(ctx.request_context.meta or {}))

    app = server.streamable_http_app(stateless_http=True, json_response=True)
    with ServerThread(app, name="mcp-server", lifespan="on") as running:
        yield f"{running.base_url}/mcp"


@pytest.fixture
async def mcp_tool(mcp_url: str) -> AsyncIterator[MCPStreamableHTTPTool]:
    async with MCPStreamableHTTPTool("meta-echo", url=mcp_url) as tool:
        yield tool


async def call_with_identity(tool: MCPStreamableHTTPTool, session_id: str, destination: str | None) -> dict[str, Any]:
    """Call ``echo_meta`` through agent-framework in a session scope with another library's baggage."""
    with attached(baggage.set_baggage("tenant", "acme")), oi.session_scope(session_id):
        if destination is None:
            result = await tool.call_tool("echo_meta")
        else:
            with attached(oi.set_destination(destination)):
                result = await tool.call_tool("echo_meta")
    assert isinstance(result, list)
    structured = json.loads(result[0].text)  # type: ignore[arg-type]  # {"result": <the tool's return value>}
    return json.loads(structured["result"])  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("trusted", "named", "gets_identity"),
    [
        (True, False, False),  # trusted in configuration, but nothing says where _meta goes
        (False, True, False),  # named, but not trusted
        (True, True, True),
    ],
    ids=["trusted-unnamed", "named-untrusted", "trusted-and-named"],
)
async def test_mcp_meta_carries_identity_only_to_a_trusted_named_server(
    trusted: bool,
    named: bool,
    gets_identity: bool,
    mcp_tool: MCPStreamableHTTPTool,
    mcp_url: str,
    trust: Any,
    span_wait: SpanWait,
) -> None:
    trust([mcp_url.rsplit("/", 1)[0].removeprefix("http://")] if trusted else [])
    session = f"sess-mcp-{trusted}-{named}"
    meta = await call_with_identity(mcp_tool, session, mcp_url if named else None)

    assert meta["traceparent"].startswith("00-")  # trace context always crosses
    expected = {"tenant": "acme", attr.SESSION_ID: session} if gets_identity else {"tenant": "acme"}
    assert baggage_members([meta["baggage"]]) == expected

    trace_id = int(meta["traceparent"].split("-")[1], 16)
    server_span = span_wait.until(
        lambda span: (
            span.kind is SpanKind.SERVER
            and span.name == "tools/call echo_meta"
            and span.context is not None
            and span.context.trace_id == trace_id
        )
    )
    assert (server_span.attributes or {}).get(attr.SESSION_ID) == (session if gets_identity else None)
