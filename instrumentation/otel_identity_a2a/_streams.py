"""Streams (``SendStreamingMessage``, ``SubscribeToTask``) under a span that ends with the stream.

The span's context is attached around each pull only, never across ``yield``: attaching
across a yield would leak the span into the consumer's context, and a stream abandoned
half-way could never detach it. The wrapped stream is always closed explicitly (a bare
``async for`` does not close it on ``GeneratorExit``), and the span ends whether the stream
is exhausted, fails, is closed by its consumer, or is garbage-collected (the event loop
closes abandoned async generators, which runs the ``finally`` below).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import TypeVar

from opentelemetry import context as context_api
from opentelemetry.context import Context

from otel_identity_a2a._operation import Operation

__all__ = ["Begin", "traced_stream"]

T = TypeVar("T")


Begin = Callable[[], tuple[Operation | None, Context | None, Callable[[], AsyncIterator[T]]]]


async def traced_stream(begin: Begin[T]) -> AsyncIterator[T]:
    """Run ``begin()`` on the first pull (start the span, prepare the call), then iterate the stream it opens.

    ``begin`` returns the operation (``None``: pass through untraced), the context to attach
    around each pull, and a function opening the wrapped stream. Starting on the first pull
    means a stream that is never iterated starts no span, so none is left unended.
    """
    operation, context, open_stream = begin()
    stream = _pull_in(context, open_stream)
    try:
        async for item in stream:
            if operation is not None:
                operation.observe(item)
            yield item
    except BaseException as error:
        if operation is not None:
            operation.fail(error)
        raise
    finally:
        try:
            await stream.aclose()
        finally:
            if operation is not None:
                operation.end()


async def _pull_in(context: Context | None, open_stream: Callable[[], AsyncIterator[T]]) -> AsyncGenerator[T, None]:
    token = context_api.attach(context) if context is not None else None
    try:
        stream = open_stream()
    finally:
        if token is not None:
            context_api.detach(token)
    try:
        while True:
            token = context_api.attach(context) if context is not None else None
            try:
                item = await stream.__anext__()
            except StopAsyncIteration:
                return
            finally:
                if token is not None:
                    context_api.detach(token)
            yield item
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            token = context_api.attach(context) if context is not None else None
            try:
                await aclose()
            finally:
                if token is not None:
                    context_api.detach(token)
