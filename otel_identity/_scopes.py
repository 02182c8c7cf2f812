"""Session, run and task scopes: context managers and decorators, sync and async.

Override rules (each scope replaces the fields it owns and inherits the rest):

* ``session_scope`` owns ``session.id``, ``gen_ai.conversation.id`` and ``user.id``. Its
  conversation id is the one given, else the enclosing one for the same session, else the
  session id itself. ``user.id`` is inherited when not given. Entering a *different*
  session drops the enclosing task and previous-response handle: they belong to the other
  conversation.
  A session id equal to the conversation id already in scope names that same conversation
  (an A2A server hosting the caller's ``context_id`` as its local session): the enclosing
  session, e.g. the caller's ``session.id`` received in baggage, is kept.
* ``conversation_scope`` sets only the conversation id (an A2A ``context_id``); when no
  session is in scope, it also becomes the session id.
* ``run_scope`` owns ``otel_identity.run.id`` (generated when not given) and the run's
  previous-response handle; a nested run replaces both.
* ``task_scope`` owns ``a2a.task.id`` / ``a2a.task.state``; a nested task replaces them.

Scopes attach on entry and detach in ``finally`` on exit. Decorated generators and
:func:`bind_async_iterable` re-attach around every pull instead of across ``yield``: a stream
abandoned half-way, or resumed in another asyncio task, cannot leave an identity behind in
the consumer's context.
"""

from __future__ import annotations

import functools
import inspect
import random
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

from opentelemetry import context as context_api
from opentelemetry.context import Context

from otel_identity._identities import EMPTY, Identities, TaskHandle, get_identities, set_identities
from otel_identity._trust import set_destination
from otel_identity._validation import validate_id

__all__ = [
    "bind_async_iterable",
    "bind_iterable",
    "conversation_scope",
    "destination_scope",
    "new_run_id",
    "run_scope",
    "session_scope",
    "set_conversation",
    "set_run",
    "set_session",
    "set_task",
    "task_scope",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
Handle = TypeVar("Handle")


def new_run_id() -> str:
    """A fresh run id (32 lowercase hex digits, like a trace id, but never the session).

    Drawn like OpenTelemetry's own span and trace ids (``random.getrandbits``): a correlation
    id, not a secret, and six times cheaper than ``uuid4``.
    """
    return f"{random.getrandbits(128):032x}"


def set_session(
    session_id: str,
    *,
    user_id: str | None = None,
    conversation_id: str | None = None,
    context: Context | None = None,
) -> Context:
    """A new Context in which ``session_id`` is the session (functional form of :func:`session_scope`)."""
    session_id = validate_id("session_id", session_id)
    if user_id is not None:
        user_id = validate_id("user_id", user_id)
    if conversation_id is not None:
        conversation_id = validate_id("conversation_id", conversation_id)
    return _session_context(session_id, user_id, conversation_id, context)


def _session_context(
    session_id: str,
    user_id: str | None,
    conversation_id: str | None,
    context: Context | None,
    *,
    stand_in: bool = True,
) -> Context:
    """``set_session`` for values already validated (scope objects validate once, at construction).

    ``stand_in=False``: a conversation the service owns and has not named yet stays absent
    instead of defaulting to the session id.
    """
    outer = get_identities(context) or EMPTY
    if outer.session_id is not None and session_id == outer.conversation_id:
        if user_id is None:
            return _unchanged(context)
        return set_identities(outer.with_changes(user_id=user_id), context)
    same_session = outer.session_id == session_id
    if conversation_id is None:
        if same_session and outer.conversation_id:
            conversation_id = outer.conversation_id
        elif stand_in:
            conversation_id = session_id
    identities = outer.with_changes(
        session_id=session_id,
        user_id=user_id if user_id is not None else outer.user_id,
        conversation_id=conversation_id,
        task=outer.task if same_session else None,
        previous_response_id=outer.previous_response_id if same_session else None,
    )
    return set_identities(identities, context)


def _unchanged(context: Context | None) -> Context:
    return context if context is not None else context_api.get_current()


def set_conversation(conversation_id: str, context: Context | None = None, *, remote: bool = False) -> Context:
    """A new Context whose conversation is ``conversation_id`` (functional form of :func:`conversation_scope`).

    Rules: re-entering the conversation already in scope changes nothing (the enclosing
    scope's task handle stays in force). With no session in scope the conversation also
    becomes the session (a server hosting a caller's ``context_id``), except a ``remote``
    one: the conversation a remote service named is not our session, so a caller without a
    session does not get one it would then send on.
    """
    conversation_id = validate_id("conversation_id", conversation_id)
    outer = get_identities(context) or EMPTY
    if outer.conversation_id == conversation_id:
        return _unchanged(context)
    if outer.session_id is None:
        if remote:
            return _unchanged(context)
        return set_session(conversation_id, conversation_id=conversation_id, context=context)
    return set_identities(outer.with_changes(conversation_id=conversation_id), context)


def set_run(
    run_id: str,
    *,
    previous_response_id: str | None = None,
    context: Context | None = None,
) -> Context:
    """A new Context in which ``run_id`` is the run (functional form of :func:`run_scope`)."""
    run_id = validate_id("run_id", run_id)
    if previous_response_id is not None:
        previous_response_id = validate_id("previous_response_id", previous_response_id)
    return _run_context(run_id, previous_response_id, context)


def _run_context(
    run_id: str, previous_response_id: str | None, context: Context | None, *, explicit: bool = True
) -> Context:
    """``set_run`` for values already validated; ``explicit=False`` for an agent run of ours."""
    outer = get_identities(context) or EMPTY
    return set_identities(
        outer.with_changes(run_id=run_id, previous_response_id=previous_response_id, run_opened_explicitly=explicit),
        context,
    )


def set_task(task: TaskHandle, context: Context | None = None) -> Context:
    """A new Context in which ``task`` is the task (functional form of :func:`task_scope`).

    Re-entering the task already in scope (same id) changes nothing: the enclosing handle,
    which tracks the task's state changes, stays in force.
    """
    if not isinstance(task, TaskHandle):
        raise ValueError(f"task must be a TaskHandle, got {type(task).__name__}")
    outer = get_identities(context) or EMPTY
    if outer.task is not None and outer.task.task_id == task.task_id:
        return _unchanged(context)
    return set_identities(outer.with_changes(task=task), context)


class _Scope(Generic[Handle]):
    """Shared machinery: context manager (sync and async) and decorator.

    One scope object may be entered again after it exits, and nested in itself; entries
    are kept on a stack. Each decorated call builds its context afresh.
    """

    def __init__(self) -> None:
        self._tokens: list[Any] = []

    def _build(self) -> tuple[Context, Handle]:
        raise NotImplementedError

    def __enter__(self) -> Handle:
        context, handle = self._build()
        self._tokens.append(context_api.attach(context))
        return handle

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        context_api.detach(self._tokens.pop())

    async def __aenter__(self) -> Handle:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, function: F) -> F:
        """Use the scope as a decorator: every call runs in a freshly built scope."""
        if inspect.isasyncgenfunction(function):

            @functools.wraps(function)
            def async_gen_wrapper(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                context, _ = self._build()
                return bind_async_iterable(_call_in(context, function, args, kwargs), context)

            return async_gen_wrapper  # type: ignore[return-value]
        if inspect.isgeneratorfunction(function):

            @functools.wraps(function)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
                context, _ = self._build()
                return bind_iterable(_call_in(context, function, args, kwargs), context)

            return gen_wrapper  # type: ignore[return-value]
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                context, _ = self._build()
                token = context_api.attach(context)
                try:
                    return await function(*args, **kwargs)
                finally:
                    context_api.detach(token)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            context, _ = self._build()
            token = context_api.attach(context)
            try:
                return function(*args, **kwargs)
            finally:
                context_api.detach(token)

        return wrapper  # type: ignore[return-value]


def _call_in(context: Context, function: Callable[..., T], args: Any, kwargs: Any) -> T:
    token = context_api.attach(context)
    try:
        return function(*args, **kwargs)
    finally:
        context_api.detach(token)


class session_scope(_Scope[Identities]):  # noqa: N801 - used like contextlib's lowercase managers
    """Make ``session_id`` the session of everything inside: ``with session_scope("s1"): ...``.

    For apps and frameworks with no session object of their own. Yields the
    :class:`Identities` now in scope.
    """

    def __init__(self, session_id: str, *, user_id: str | None = None, conversation_id: str | None = None) -> None:
        super().__init__()
        self._session_id = validate_id("session_id", session_id)
        self._user_id = None if user_id is None else validate_id("user_id", user_id)
        self._conversation_id = None if conversation_id is None else validate_id("conversation_id", conversation_id)

    def _build(self) -> tuple[Context, Identities]:
        context = _session_context(self._session_id, self._user_id, self._conversation_id, None)
        return context, get_identities(context) or EMPTY


class conversation_scope(_Scope[Identities]):  # noqa: N801
    """Make ``conversation_id`` (e.g. an A2A ``context_id``) the conversation of everything inside."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__()
        self._conversation_id = validate_id("conversation_id", conversation_id)

    def _build(self) -> tuple[Context, Identities]:
        context = set_conversation(self._conversation_id)
        return context, get_identities(context) or EMPTY


class run_scope(_Scope[Identities]):  # noqa: N801
    """One run: ``with run_scope() as ids: ids.run_id``. A run id is generated per entry when not given."""

    def __init__(self, run_id: str | None = None, *, previous_response_id: str | None = None) -> None:
        super().__init__()
        self._run_id = None if run_id is None else validate_id("run_id", run_id)
        self._previous = (
            None if previous_response_id is None else validate_id("previous_response_id", previous_response_id)
        )

    def _build(self) -> tuple[Context, Identities]:
        context = _run_context(self._run_id or new_run_id(), self._previous, None)
        return context, get_identities(context) or EMPTY


class destination_scope(_Scope[None]):  # noqa: N801
    """Name where injections inside go: ``with destination_scope(mcp_url): await tool.call(...)``.

    For calls whose HTTP client span the propagator cannot see (agent-framework injects MCP
    ``_meta`` before any span names the server): only a trusted destination gets identity.
    """

    def __init__(self, url: str) -> None:
        super().__init__()
        set_destination(url)  # validates now, at the call site, not at entry
        self._url = url

    def _build(self) -> tuple[Context, None]:
        return set_destination(self._url), None


class task_scope(_Scope[TaskHandle]):  # noqa: N801
    """An A2A task: ``with task_scope(task_id, state="TASK_STATE_WORKING") as task: task.set_state(...)``."""

    def __init__(self, task_id: str | TaskHandle, *, state: str | None = None) -> None:
        super().__init__()
        self._task = task_id if isinstance(task_id, TaskHandle) else TaskHandle(task_id, state)

    def _build(self) -> tuple[Context, TaskHandle]:
        return set_task(self._task), self._task


def bind_iterable(iterable: Iterable[T], context: Context | None = None) -> Iterator[T]:
    """Iterate ``iterable`` with ``context`` (default: the current one) attached around each pull only."""
    bound = context if context is not None else context_api.get_current()
    iterator = iter(iterable)
    try:
        while True:
            token = context_api.attach(bound)
            try:
                item = next(iterator)
            except StopIteration:
                return
            finally:
                context_api.detach(token)
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            token = context_api.attach(bound)
            try:
                close()
            finally:
                context_api.detach(token)


async def bind_async_iterable(iterable: AsyncIterable[T], context: Context | None = None) -> AsyncIterator[T]:
    """Async twin of :func:`bind_iterable`: safe to abandon, cancel, or resume in another task."""
    bound = context if context is not None else context_api.get_current()
    iterator = iterable.__aiter__()
    try:
        while True:
            token = context_api.attach(bound)
            try:
                item = await iterator.__anext__()
            except StopAsyncIteration:
                return
            finally:
                context_api.detach(token)
            yield item
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            token = context_api.attach(bound)
            try:
                await aclose()
            finally:
                context_api.detach(token)
