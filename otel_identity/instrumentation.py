"""The toolkit for instrumentation authors: the same rules otel-identity's own instrumentors follow.

An instrumentor knows its framework (which method to wrap, which field holds which id) and
hands what it read to the core; it never writes an identity attribute or decides a lifetime
itself. This module is everything it needs besides the scopes in :mod:`otel_identity`:

* :func:`instrument`: enable every installed otel-identity instrumentor whose framework is
  present (what ``configure(instrument=True)`` calls); :class:`IdentityInstrumentor` is the
  core's own entry point for ``opentelemetry-instrument``. They live here, not in
  :mod:`otel_identity`, so that ``import otel_identity`` never imports
  ``opentelemetry.instrumentation`` (whose import loads propagators, ours included).
* :class:`FrameworkInstrumentor`: the base of an instrumentor for one framework (patches
  recorded and undone; nothing patched where the framework is missing).
* :func:`guard`: run telemetry code so that a bug of ours is logged and swallowed, never
  raised into the app (first failure per site at WARNING, repeats at DEBUG).
* :func:`clean_id`: read an id from a framework object: the value if it is a usable id,
  else ``None`` and a debug log (the public API's :func:`validate_id` raises instead).
* :func:`missing_framework`: why an instrumentor's framework cannot be instrumented here
  (``opentelemetry-instrument`` skips the per-instrumentor dependency check).
* :func:`await_in_context`: the one shape of "await the framework's call inside a context
  our code decides": the app's call outside any telemetry ``try``, the context always detached.
* :func:`plan_run`, :func:`run_context`, :func:`record_run`: the identities of one agent run
  decided by the core's rules (the outermost conversation wins, an identity set upstream
  wins, a rotating handle is not a conversation, a service-owned conversation not yet named
  is absent) from the fields the framework has; see :mod:`otel_identity._runs`.
* :class:`PrivateName`: a framework's private name as versioned data (owning distribution,
  verified range, expected parameters), used only where it was verified.
* :class:`Operation`, :func:`await_operation`, :func:`traced_stream`: the one operation
  lifecycle (start, observe, fail, end at most once; streams bound per pull), and
  :func:`identity_attributes` for the identities an operation names when its span starts.
  The identity attributes they write are the placement table's: pass facts, not names.

Usage
-----
.. code-block:: python

    from otel_identity import set_conversation
    from otel_identity.instrumentation import await_in_context, clean_id


    async def execute_wrapper(wrapped, instance, args, kwargs):
        def scope():
            context_id = clean_id("context_id", getattr(args[0], "context_id", None))
            return set_conversation(context_id) if context_id else None

        return await await_in_context("myframework.execute", scope, wrapped, args, kwargs)

``ruff`` forbids importing ``otel_identity._*`` outside the core (rule TID251): this module is
the supported surface.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import wrapt
from opentelemetry import context as context_api
from opentelemetry.context import Context
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap

from otel_identity._instrument import IdentityInstrumentor, instrument, missing_framework
from otel_identity._operation import (
    Observed,
    Operation,
    TaskListener,
    await_operation,
    identity_attributes,
    linked_coroutine,
    traced_stream,
)
from otel_identity._private_names import PrivateName
from otel_identity._runs import (
    RunPlan,
    is_rotating_handle,
    plan_run,
    record_run,
    run_context,
    sent_response_handle,
)
from otel_identity._safety import guard, report_swallowed
from otel_identity._validation import clean_id, validate_id

__all__ = [
    "FrameworkInstrumentor",
    "IdentityInstrumentor",
    "Observed",
    "Operation",
    "PrivateName",
    "RunPlan",
    "TaskListener",
    "await_in_context",
    "await_operation",
    "clean_id",
    "guard",
    "identity_attributes",
    "instrument",
    "is_rotating_handle",
    "linked_coroutine",
    "missing_framework",
    "plan_run",
    "record_run",
    "report_swallowed",
    "run_context",
    "sent_response_handle",
    "traced_stream",
    "validate_id",
]

T = TypeVar("T")

logger = logging.getLogger("otel_identity")


class FrameworkInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Base of an instrumentor for one framework: its patches recorded once and undone by ``uninstrument()``.

    Subclasses give ``instrumentation_dependencies()`` and :meth:`_patch`, which calls
    :meth:`_wrap` for each method it patches. Where the framework is missing or outside the
    supported range, nothing is patched (``opentelemetry-instrument`` skips the per-instrumentor
    dependency check, so it is done here) and a debug line says why.
    """

    _wrapped: list[tuple[object, str]]
    """What :meth:`_patch` wrapped (an instrumentor is a singleton: one list per class)."""

    def _wrap(self, owner: object, name: str, wrapper: Any) -> None:
        """``wrapt``-wrap ``owner.name`` with ``wrapper`` and remember it for ``uninstrument()``."""
        wrapt.wrap_function_wrapper(owner, name, wrapper)
        self._wrapped.append((owner, name))

    def _patch(self, **kwargs: Any) -> None:
        raise NotImplementedError

    def _instrument(self, **kwargs: Any) -> None:
        self._wrapped = []
        if (missing := missing_framework(self)) is not None:
            logger.debug("otel-identity: %s skipped: %s", type(self).__name__, missing)
            return
        self._patch(**kwargs)

    def _uninstrument(self, **kwargs: Any) -> None:
        wrapped = getattr(self, "_wrapped", [])
        while wrapped:
            owner, name = wrapped.pop()
            unwrap(owner, name)


def await_in_context(
    where: str,
    build: Callable[[], Context | None],
    wrapped: Callable[..., Awaitable[T]],
    args: Any,
    kwargs: Any,
) -> Coroutine[Any, Any, T]:
    """A coroutine awaiting ``wrapped(*args, **kwargs)`` with ``build()``'s context attached (unchanged when ``None``).

    ``build`` runs under :func:`guard` (named ``where``): if it fails, the call runs as if
    uninstrumented. Passes straight through when instrumentation is suppressed. The coroutine
    carries the wrapped function's ``__name__`` and ``__qualname__``: code that looks at a
    task's coroutine (a2a-sdk tracks its background tasks by name) sees what it would see
    without us.
    """
    coroutine = _in_context(where, build, wrapped, args, kwargs)
    for name in ("__name__", "__qualname__"):
        value = getattr(wrapped, name, None)
        if isinstance(value, str):
            setattr(coroutine, name, value)
    return coroutine


async def _in_context(
    where: str,
    build: Callable[[], Context | None],
    wrapped: Callable[..., Awaitable[T]],
    args: Any,
    kwargs: Any,
) -> T:
    if not is_instrumentation_enabled():
        return await wrapped(*args, **kwargs)
    context: Context | None = None
    with guard(where):
        context = build()
    if context is None:
        return await wrapped(*args, **kwargs)
    token = context_api.attach(context)
    try:
        return await wrapped(*args, **kwargs)
    finally:
        context_api.detach(token)
