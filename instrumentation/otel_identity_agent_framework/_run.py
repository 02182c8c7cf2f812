"""One agent run: its identity scopes, its run span, and what is recorded on that span.

A run's scopes are opened before the framework starts its ``invoke_agent`` span, so that
span and every span under it (chat, execute_tool, MCP, HTTP) start with the run's
identities in their parent context. The scopes are attached only around work done for the
run: the synchronous ``run()`` call, the awaited response, and each pull of a response
stream (a stream's context variables do not survive its yields). Each attachment derives
from the context current at that moment, so the framework's own active span is kept.

The run span is the framework's ``invoke_agent`` span when its instrumentation is on, or
one we start with the same name and semconv attributes when it is off (never both).
"""

from __future__ import annotations

import weakref
from collections.abc import Collection, Mapping
from functools import partial
from types import TracebackType
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_AGENT_DESCRIPTION,
    GEN_AI_AGENT_ID,
    GEN_AI_PROVIDER_NAME,
    GenAiOperationNameValues,
)
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from otel_identity import (
    Identities,
    TaskHandle,
    attributes,
    get_identities,
    record_result,
    set_identities,
    set_task,
)
from otel_identity.instrumentation import Operation, RunPlan, guard, record_run, run_context
from otel_identity_agent_framework._framework import (
    EnteredConversation,
    StreamFacts,
    enter_framework_conversation,
    exit_framework_conversation,
    stream_error,
    upstream_conversation,
)
from otel_identity_agent_framework._identity import ContinuationFacts

__all__ = [
    "RunState",
    "adopt_framework_span",
    "applied",
    "current_state",
    "finish_span",
    "keep_span_until_collected",
    "record_response",
    "observe_stream",
    "start_run_span",
]

_STATE_KEY = context_api.create_key("otel_identity_agent_framework.run")

INVOKE_AGENT = GenAiOperationNameValues.INVOKE_AGENT.value


class RunState:
    """Everything about one run that its wrappers share, kept in the run's context."""

    def __init__(
        self,
        agent: object,
        plan: RunPlan,
        tracer: trace.Tracer,
        *,
        expects_framework_span: bool,
        task: TaskHandle | None = None,
        resumed: ContinuationFacts | None = None,
    ) -> None:
        self.agent = agent
        self.plan = plan
        self.resumed = resumed
        self.tracer = tracer
        self.expects_framework_span = expects_framework_span
        self.task = task
        self.parent_span_id = trace.get_current_span().get_span_context().span_id
        self.entered_raw = False
        """Set once the innermost ``run`` (``RawAgent.run``) of this run was called."""
        self.run_span: trace.Span | None = None
        """The span results are recorded on: the framework's ``invoke_agent`` span or ours."""
        self.own: Operation | None = None
        """Our ``invoke_agent`` span's operation, when the framework does not emit one."""
        self.recorded = False
        self.extra: dict[str, Any] = {}
        """Per-integration facts (the A2A request actually sent, for example)."""
        self.identities_cache: tuple[Identities | None, TaskHandle | None, Identities | None] | None = None
        """(enclosing identities, task, the run's identities built on them): see :func:`_run_identities`."""

    def own_run_span(self, span: trace.Span, *, error_states: Collection[str] = ()) -> None:
        """Make ``span``, started by us, the run span: we end it (like the framework's own, cancellation fails it)."""
        self.own = Operation(span, error_states=error_states, failures=BaseException)
        self.run_span = span


def current_state(context: Context | None = None) -> RunState | None:
    """The run whose scopes are attached in ``context`` (default: current), if any."""
    value = context_api.get_value(_STATE_KEY, context)
    return value if isinstance(value, RunState) else None


def _run_identities(state: RunState, base: Context) -> Identities | None:
    """The run's identities on top of those in ``base``, built once per enclosing identities.

    Every attachment of a run usually derives from the same enclosing identities, so the
    result (validation, override rules) is computed on the first and reused while the
    enclosing value is the same object; a different one (an attachment made elsewhere)
    recomputes it with the core's rules.
    """
    outer = get_identities(base)
    cached = state.identities_cache
    if cached is not None and cached[0] is outer and cached[1] is state.task:
        return cached[2]
    context = run_context(state.plan, base)
    if state.task is not None:
        context = set_task(state.task, context=context)
    identities = get_identities(context)
    state.identities_cache = (outer, state.task, identities)
    return identities


def _run_context(state: RunState, base: Context, *, with_span: bool = True) -> tuple[Context, Identities | None]:
    """``base`` with the run's identities, state and (``with_span``) our run span; and those identities."""
    identities = _run_identities(state, base)
    context = set_identities(identities, base) if identities is not None else base
    if with_span and state.own is not None:
        context = trace.set_span_in_context(state.own.span, context)
    return context_api.set_value(_STATE_KEY, state, context), identities


class applied:  # noqa: N801 - used like contextlib's lowercase managers
    """Attach the run's identities (and our run span, if any) to the current context for the block.

    Also makes the run's conversation id the framework's own telemetry conversation id,
    so its ``invoke_agent`` and ``chat`` spans carry the stable id, unless one is already set
    there (upstream, by a protocol adapter or an enclosing run): an identity set upstream wins.

    A plain class, not a ``contextlib`` generator: it is entered several times per run and
    once per stream pull, where a generator-based manager was a measurable share of the
    instrumentor's cost.
    """

    __slots__ = ("_conversation", "_state", "_token")

    def __init__(self, state: RunState) -> None:
        self._state = state
        self._token: object = None
        self._conversation: EnteredConversation | None = None

    def __enter__(self) -> None:
        conversation: str | None = None
        with guard("agent_framework.applied"):
            context, identities = _run_context(self._state, context_api.get_current())
            if identities is not None and upstream_conversation() is None:
                conversation = identities.conversation_id
            self._token = context_api.attach(context)
        self._conversation = enter_framework_conversation(conversation)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        manager, self._conversation = self._conversation, None
        token, self._token = self._token, None
        try:
            if manager is not None:
                exit_framework_conversation(manager)
        finally:
            if token is not None:
                context_api.detach(token)  # type: ignore[arg-type]


def _agent_attributes(agent: object) -> dict[str, AttributeValue]:
    result: dict[str, AttributeValue] = {attributes.GEN_AI_OPERATION_NAME: INVOKE_AGENT}
    agent_id = getattr(agent, "id", None)
    name = getattr(agent, "name", None) or agent_id
    for key, value in (
        (GEN_AI_AGENT_ID, agent_id),
        (attributes.GEN_AI_AGENT_NAME, name),
        (GEN_AI_AGENT_DESCRIPTION, getattr(agent, "description", None)),
        (
            GEN_AI_PROVIDER_NAME,
            getattr(agent, "otel_provider_name", None) or getattr(agent, "AGENT_PROVIDER_NAME", None),
        ),
    ):
        if isinstance(value, str) and value:
            result[key] = value
    return result


def start_run_span(
    state: RunState,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    extra: Mapping[str, AttributeValue] | None = None,
    error_states: Collection[str] = (),
) -> trace.Span:
    """Start our ``invoke_agent {agent}`` span inside the run's scopes; it becomes the run span.

    Started, not made current: the run's attachments make it current where the run works.
    """
    attrs = _agent_attributes(state.agent)
    if extra:
        attrs.update(extra)
    name = f"{INVOKE_AGENT} {attrs.get(attributes.GEN_AI_AGENT_NAME, 'agent')}"
    context, _ = _run_context(state, context_api.get_current(), with_span=False)
    span = state.tracer.start_span(name, context=context, kind=kind, attributes=attrs)
    state.own_run_span(span, error_states=error_states)
    record_run(span, state.plan)
    _record_resumed(state, span)
    return span


def _record_resumed(state: RunState, span: trace.Span) -> None:
    if state.resumed is not None:
        state.resumed.record(span, resumed=True)


def adopt_framework_span(state: RunState) -> None:
    """Make the current span the run span if it is the framework's ``invoke_agent`` span of this run.

    Called from inside the framework's span (where ``RawAgent.run`` executes). Writes what
    the framework cannot know: the previous-response handle and a resumed continuation.
    (The conversation id is not written here: the framework sets all its attributes again
    when the run ends, so only its own context variable reaches that attribute.)
    """
    if state.run_span is not None:
        return
    if state.own is not None:
        state.run_span = state.own.span
        return
    if not state.expects_framework_span:
        return
    span = trace.get_current_span()
    span_context = span.get_span_context()
    if not span.is_recording() or not span_context.is_valid or span_context.span_id == state.parent_span_id:
        return
    existing = getattr(span, "attributes", None) or {}
    if existing.get(attributes.GEN_AI_OPERATION_NAME) != INVOKE_AGENT:
        return
    state.run_span = span
    record_run(span, state.plan)
    _record_resumed(state, span)


def record_response(state: RunState, response_id: object, continuation_token: object) -> None:
    """Record the run's result ids on the run span, once.

    The response id goes on the span of the operation that produced it: on our own run span
    (no framework span carries it), never on the framework's ``invoke_agent``, where the
    framework itself decides (it leaves it to the chat span that produced it).
    """
    if state.recorded:
        return
    state.recorded = True
    span = state.run_span
    if span is None:
        return
    if state.own is not None:
        record_result(span, response_id=response_id)
    issued = ContinuationFacts.from_token(continuation_token)
    if issued is not None:
        issued.record(span, issued=True)


def observe_stream(state: RunState, stream: Any, *, keep_items: bool = False) -> StreamFacts:
    """Watch ``stream``'s updates and record its result on the run span when it is consumed.

    The cleanup hook runs when the stream ends, fails or is closed, before any cleanup
    registered after it (the framework's, which ends its span). A failed stream records
    no result.
    """
    facts = StreamFacts(keep_items=keep_items)
    stream.with_transform_hook(facts.observe)
    stream.with_cleanup_hook(partial(_record_stream_result, state, stream, facts))
    return facts


def _record_stream_result(state: RunState, stream: Any, facts: StreamFacts) -> None:
    with guard("agent_framework.record_stream_result"):
        if stream_error(stream) is None:
            record_response(state, facts.response_id, facts.continuation_token)


def finish_span(state: RunState, error: BaseException | None = None) -> None:
    """End our run span (once), marking ``error`` on it."""
    own = state.own
    if own is None:
        return
    if error is not None:
        own.fail(error)
    own.end()


def end_span_quietly(span: trace.Span) -> None:
    """Finalizer for abandoned streams: end the span unless it already ended."""
    with guard("agent_framework.end_span_quietly"):
        if span.is_recording():
            span.end()


def keep_span_until_collected(stream: object, state: RunState) -> None:
    """End our run span when an abandoned stream is garbage-collected (as the framework does for its own)."""
    if state.own is not None:
        weakref.finalize(stream, end_span_quietly, state.own.span)
