"""Identity never leaks between concurrent sessions, threads, or out of an abandoned stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_identity as oi
from otel_identity import attributes as attr


def test_a_thousand_concurrent_asyncio_sessions_do_not_cross_talk(
    spans: InMemorySpanExporter, tracer: trace.Tracer
) -> None:
    async def session(index: int) -> None:
        async with oi.session_scope(f"s-{index}"), oi.run_scope(f"r-{index}"):
            for turn in range(3):
                with tracer.start_as_current_span(f"{index}/{turn}"):
                    await asyncio.sleep(0)  # yield to the other 999 sessions mid-span

    async def main() -> None:
        await asyncio.gather(*(session(index) for index in range(1000)))

    asyncio.run(main())
    finished = spans.get_finished_spans()
    assert len(finished) == 3000
    for span in finished:
        index = span.name.split("/")[0]
        assert span.attributes[attr.SESSION_ID] == f"s-{index}"
        assert span.attributes[attr.RUN_ID] == f"r-{index}"


def test_a_thread_pool_does_not_cross_talk(spans: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    def work(index: int) -> str | None:
        with oi.session_scope(f"s-{index}"):
            with tracer.start_as_current_span(str(index)):
                pass
        return (oi.get_identities() or oi.Identities()).session_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        leftovers = list(pool.map(work, range(400)))
    assert leftovers == [None] * 400, "every worker thread is clean after its scope"
    for span in spans.get_finished_spans():
        assert span.attributes[attr.SESSION_ID] == f"s-{span.name}"


async def _stream(tracer: trace.Tracer, chunks: int) -> AsyncIterator[int]:
    for index in range(chunks):
        with tracer.start_as_current_span(f"chunk-{index}"):
            pass
        yield index


def test_an_abandoned_stream_leaves_no_identity_for_the_next_run(
    spans: InMemorySpanExporter, tracer: trace.Tracer
) -> None:
    async def main() -> None:
        with oi.session_scope("s-stream"):
            context = oi.set_run("r-stream")
        stream = oi.bind_async_iterable(_stream(tracer, 10), context)
        async for index in stream:
            if index == 1:
                break  # abandoned half-way, never closed explicitly
        assert oi.get_identities() is None
        with tracer.start_as_current_span("next-run"):
            pass
        await stream.aclose()

    asyncio.run(main())
    got = {span.name: span.attributes for span in spans.get_finished_spans()}
    assert got["chunk-1"][attr.RUN_ID] == "r-stream"
    assert attr.SESSION_ID not in got["next-run"] and attr.RUN_ID not in got["next-run"]


def test_a_stream_resumed_in_another_task_and_cancelled_keeps_both_tasks_clean(
    spans: InMemorySpanExporter, tracer: trace.Tracer
) -> None:
    async def main() -> None:
        context = oi.set_session("s-moving")
        stream = oi.bind_async_iterable(_stream(tracer, 5), context)
        first = await stream.__anext__()
        second = await asyncio.create_task(stream.__anext__())  # resumed by another asyncio task
        blocked = asyncio.Event()

        async def slow() -> AsyncIterator[int]:
            blocked.set()
            await asyncio.Event().wait()  # never set: cancelled from outside
            yield 0

        pending = asyncio.create_task(oi.bind_async_iterable(slow(), context).__anext__())
        await blocked.wait()
        pending.cancel()
        cancelled = False
        try:
            await pending
        except asyncio.CancelledError:
            cancelled = True
        assert (first, second, cancelled) == (0, 1, True)
        assert oi.get_identities() is None
        await stream.aclose()

    asyncio.run(main())
    assert {span.attributes[attr.SESSION_ID] for span in spans.get_finished_spans()} == {"s-moving"}


def test_bind_iterable_reapplies_the_scope_per_pull(spans: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    def numbers():  # type: ignore[no-untyped-def]
        for index in range(3):
            with tracer.start_as_current_span(f"n-{index}"):
                pass
            yield index

    context = oi.set_session("s-sync")
    iterator = oi.bind_iterable(numbers(), context)
    assert next(iterator) == 0
    assert oi.get_identities() is None
    iterator.close()
    assert [span.attributes[attr.SESSION_ID] for span in spans.get_finished_spans()] == ["s-sync"]
