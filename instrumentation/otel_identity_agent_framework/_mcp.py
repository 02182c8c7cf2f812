"""The MCP server's URL as the destination of the ``_meta`` an MCP tool call sends.

agent-framework 1.23 injects the global propagator into a ``tools/call`` request's ``_meta``
(``MCPTool.call_tool``) before any span that names the MCP server, so otel-identity's
propagator cannot tell where the identity would go and sends none. The tool knows: an
``MCPStreamableHTTPTool`` holds its server's URL in ``url``. Around its ``call_tool`` that
URL is attached with :func:`otel_identity.set_destination`; the propagator then sends
``session.id`` exactly when the URL is trusted (``OTEL_IDENTITY_TRUSTED_PEERS``). A tool
without a URL (built around a caller-supplied MCP client) is called unchanged; stdio tools
(``MCPStdioTool``) are not patched: they have no destination to name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry.context import Context

from otel_identity import set_destination
from otel_identity.instrumentation import await_in_context

__all__ = ["mcp_call_tool_wrapper"]


def _destination(tool: object) -> Context | None:
    url = getattr(tool, "url", None)
    if not isinstance(url, str) or not url:
        return None
    try:
        return set_destination(url)
    except ValueError:  # not an absolute URL with a host: the destination stays unknown, nothing is sent
        return None


async def mcp_call_tool_wrapper(
    wrapped: Callable[..., Awaitable[Any]], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Wrapper for ``MCPStreamableHTTPTool.call_tool``: the tool's URL is where ``_meta`` goes."""
    return await await_in_context(
        "agent_framework.mcp destination", lambda: _destination(instance), wrapped, args, kwargs
    )
