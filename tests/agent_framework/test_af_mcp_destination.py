"""MCP ``_meta`` carries ``session.id`` to a trusted MCP server with no ``set_destination`` in app code.

agent-framework injects ``_meta`` before any span names the MCP server; the instrumentor names
the tool's URL as the destination around ``MCPStreamableHTTPTool.call_tool``, so the core's
trust rules decide. The server is the real MCP server of ``tests/cross_service/test_cross_mcp.py``
(streamable HTTP on 127.0.0.1), whose ``echo_meta`` tool answers with the ``_meta`` it received.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from agent_framework import MCPStreamableHTTPTool
from opentelemetry import baggage
from opentelemetry import context as context_api
from otel_identity_agent_framework import AgentFrameworkInstrumentor

import otel_identity as oi
from otel_identity import attributes as attr

_CROSS_SERVICE = str(Path(__file__).resolve().parents[1] / "cross_service")
if _CROSS_SERVICE not in sys.path:
    sys.path.append(_CROSS_SERVICE)

from cross_peers import attached, baggage_members  # noqa: E402
from test_cross_mcp import mcp_url  # noqa: E402

__all__ = ["mcp_url"]  # the module-scoped MCP server fixture, reused


@pytest.fixture
async def mcp_tool(mcp_url: str) -> AsyncIterator[MCPStreamableHTTPTool]:
    async with MCPStreamableHTTPTool("meta-echo", url=mcp_url) as tool:
        yield tool


async def _meta_in_session(tool: MCPStreamableHTTPTool, session_id: str) -> dict[str, Any]:
    """Call ``echo_meta`` in a session scope (plus another library's baggage); the ``_meta`` the server got."""
    before = context_api.get_current()
    with attached(baggage.set_baggage("tenant", "acme")), oi.session_scope(session_id):
        result = await tool.call_tool("echo_meta")
    assert context_api.get_current() == before  # the destination scope is gone after the call
    assert isinstance(result, list)
    structured = json.loads(result[0].text)  # type: ignore[arg-type]  # {"result": <the tool's return value>}
    return json.loads(structured["result"])  # type: ignore[no-any-return]


def _host(url: str) -> str:
    return url.rsplit("/", 1)[0].removeprefix("http://")


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "untrusted"])
async def test_mcp_meta_carries_identity_exactly_when_the_tool_url_is_trusted(
    trusted: bool,
    instrumentor: AgentFrameworkInstrumentor,
    mcp_tool: MCPStreamableHTTPTool,
    mcp_url: str,
    trust: Any,
) -> None:
    trust([_host(mcp_url)] if trusted else ["127.0.0.9:1"])
    session = f"sess-af-mcp-{trusted}"
    meta = await _meta_in_session(mcp_tool, session)

    assert meta["traceparent"].startswith("00-")  # trace context always crosses
    expected = {"tenant": "acme", attr.SESSION_ID: session} if trusted else {"tenant": "acme"}
    assert baggage_members([meta["baggage"]]) == expected


async def test_mcp_meta_without_the_instrumentor_names_no_destination(
    mcp_tool: MCPStreamableHTTPTool, mcp_url: str, trust: Any
) -> None:
    """The baseline the instrumentor changes: trusted, but nothing names where ``_meta`` goes."""
    trust([_host(mcp_url)])
    meta = await _meta_in_session(mcp_tool, "sess-af-mcp-bare")
    assert baggage_members([meta["baggage"]]) == {"tenant": "acme"}


async def test_uninstrument_restores_the_unnamed_call(
    mcp_tool: MCPStreamableHTTPTool, mcp_url: str, trust: Any, tracer_provider: Any
) -> None:
    trust([_host(mcp_url)])
    instance = AgentFrameworkInstrumentor()
    instance.instrument()
    try:
        named = await _meta_in_session(mcp_tool, "sess-af-mcp-on")
    finally:
        instance.uninstrument()
    unnamed = await _meta_in_session(mcp_tool, "sess-af-mcp-off")
    assert baggage_members([named["baggage"]])[attr.SESSION_ID] == "sess-af-mcp-on"
    assert attr.SESSION_ID not in baggage_members([unnamed["baggage"]])


async def test_mcp_call_is_unchanged_when_instrumentation_is_suppressed(
    instrumentor: AgentFrameworkInstrumentor, mcp_tool: MCPStreamableHTTPTool, mcp_url: str, trust: Any
) -> None:
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    trust([_host(mcp_url)])
    with suppress_instrumentation():
        meta = await _meta_in_session(mcp_tool, "sess-af-mcp-suppressed")
    assert attr.SESSION_ID not in baggage_members([meta.get("baggage", "")])
