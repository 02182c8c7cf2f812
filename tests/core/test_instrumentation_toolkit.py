"""``otel_identity.instrumentation``: the lifecycle pieces instrumentors share."""

from __future__ import annotations

import gc
import warnings

import otel_identity as oi
from otel_identity.instrumentation import await_in_context, linked_coroutine


async def test_await_in_context_runs_in_the_built_context_and_keeps_the_calls_name() -> None:
    async def _run_event_stream(value: int) -> str | None:
        identities = oi.get_identities()
        return identities.session_id if identities else None

    coroutine = await_in_context("test", lambda: oi.set_session("s-1"), _run_event_stream, (1,), {})
    assert coroutine.__name__ == "_run_event_stream", "code that tracks tasks by coroutine name sees the same"
    assert coroutine.__qualname__ == _run_event_stream.__qualname__
    assert await coroutine == "s-1"
    assert oi.get_identities() is None, "detached again"


async def test_await_in_context_runs_the_call_unchanged_when_our_code_fails() -> None:
    async def call() -> int:
        return 7

    def broken() -> None:
        raise RuntimeError("ours")

    assert await await_in_context("test-broken", broken, call, (), {}) == 7  # type: ignore[arg-type]
    assert oi.get_identities() is None


async def test_a_linked_coroutine_closed_unrun_closes_the_inner_one_and_discards() -> None:
    discarded: list[bool] = []

    async def inner() -> int:
        return 1

    async def ours(awaitable: object) -> int:
        return await awaitable  # type: ignore[no-any-return, misc]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        framework_call = inner()
        linked = linked_coroutine(ours(framework_call), framework_call, lambda: discarded.append(True))
        linked.close()
        del linked, framework_call
        gc.collect()
    assert discarded == [True]
    assert not [w for w in caught if "never awaited" in str(w.message)]

    framework_call = inner()
    linked = linked_coroutine(ours(framework_call), framework_call, lambda: discarded.append(True))
    assert await linked == 1
    del linked
    gc.collect()
    assert discarded == [True], "a coroutine that ran ends what it started itself"
