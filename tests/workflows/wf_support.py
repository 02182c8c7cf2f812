"""Shared pieces of the workflow tests: real orchestrations on the scripted client, span and checkpoint checks.

Everything is real: agent-framework ``Agent`` objects, agent-framework-orchestrations builders,
the framework's checkpoint storages, the OpenTelemetry SDK. Only the model is the deterministic
:class:`~otel_identity_testing.scripted_chat.ScriptedChatClient`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from agent_framework import (
    Agent,
    BaseChatClient,
    ChatMiddlewareLayer,
    FunctionInvocationLayer,
    WorkflowCheckpoint,
    tool,
)
from agent_framework.observability import ChatTelemetryLayer
from agent_framework_orchestrations import (
    ConcurrentBuilder,
    GroupChatBuilder,
    GroupChatState,
    HandoffBuilder,
    MagenticBuilder,
    SequentialBuilder,
)
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

from otel_identity import attributes as attr
from otel_identity_testing.scripted_chat import Rule, ScriptedChatClient

INVOKE_AGENT: Final = "invoke_agent"
WORKFLOW_SPANS: Final = ("workflow.run", "executor.process", "message.send", "edge_group.process")


@tool
def find_hotels(city: str) -> str:
    """Hotels in a city (opens a span of its own, like an HTTP call would)."""
    with trace.get_tracer("hotel-service").start_as_current_span("hotel lookup"):
        return f"3 hotels in {city}"


class LayeredScriptedClient(  # type: ignore[misc]
    FunctionInvocationLayer[Any],
    ChatMiddlewareLayer[Any],
    ChatTelemetryLayer[Any],
    BaseChatClient[Any],
):
    """The scripted model behind agent-framework 1.23's layers in the order its own clients use.

    ``FunctionInvocationLayer`` outermost (as ``AGUIChatClient``): function middleware that
    context providers contribute per run, such as the handoff orchestration's interceptor of
    ``handoff_to_*`` calls, reaches the tool loop. (``ScriptedChatClient`` puts the chat
    middleware layer first, where such middleware is dropped with a warning.) The answers are
    the scripted client's: this class only delegates the model call to it.
    """

    OTEL_PROVIDER_NAME = "scripted"
    STORES_BY_DEFAULT = True

    def __init__(self, scripted: ScriptedChatClient) -> None:
        super().__init__()
        self.scripted = scripted

    def service_url(self) -> str:
        return self.scripted.service_url()

    def _inner_get_response(self, **kwargs: Any) -> Any:
        return self.scripted._inner_get_response(**kwargs)


def scripted_agent(name: str, *, rules: Sequence[Rule] = (), **kwargs: Any) -> Agent[Any]:
    """An agent on the scripted "responses" service (rotating ``resp_*`` handles, the hardest case)."""
    scripted = ScriptedChatClient(mode="responses", rules=list(rules), default_answer=f"{name}: {{message}}")
    return Agent(LayeredScriptedClient(scripted), name=name, id=f"{name}-agent", **kwargs)


def planner_and_reviewer() -> list[Agent[Any]]:
    """Two participants; the planner calls a tool (so the run has an ``execute_tool`` span)."""
    planner = scripted_agent(
        "planner",
        rules=[Rule("plan", tool="find_hotels", arguments={"city": "Lisbon"}, answer="Plan: {result}")],
        tools=[find_hotels],
    )
    return [planner, scripted_agent("reviewer")]


# region builders


def sequential(**kwargs: Any) -> Any:
    return SequentialBuilder(participants=planner_and_reviewer(), **kwargs).build()


def concurrent(**kwargs: Any) -> Any:
    return ConcurrentBuilder(participants=planner_and_reviewer(), **kwargs).build()


def group_chat(**kwargs: Any) -> Any:
    def next_speaker(state: GroupChatState) -> str:
        return list(state.participants)[state.current_round % len(state.participants)]

    return GroupChatBuilder(
        participants=planner_and_reviewer(), selection_func=next_speaker, max_rounds=2, **kwargs
    ).build()


def answered_every_user_message(conversation: Sequence[Any]) -> bool:
    """Handoff termination: the planner answered each user message (so each turn ends with its answer)."""
    answers = sum(1 for message in conversation if message.author_name == "planner" and message.text)
    return answers >= sum(1 for message in conversation if message.role == "user")


def handoff(**kwargs: Any) -> Any:
    """Triage hands off to the planner (a tool call); the conversation ends after the planner answers."""
    persist = {"require_per_service_call_history_persistence": True}
    triage = scripted_agent("triage", rules=[Rule("plan", tool="handoff_to_planner")], **persist)
    planner = scripted_agent(
        "planner",
        rules=[Rule("plan", tool="find_hotels", arguments={"city": "Lisbon"}, answer="Plan: {result}")],
        tools=[find_hotels],
        **persist,
    )
    return (
        HandoffBuilder(
            participants=[triage, planner],
            termination_condition=answered_every_user_message,
            **kwargs,
        )
        .with_start_agent(triage)
        .build()
    )


def _ledger(*, satisfied: bool, speaker: str) -> str:
    def answer(value: object) -> dict[str, object]:
        return {"reason": "scripted", "answer": value}

    return (
        json.dumps(
            {
                "is_request_satisfied": answer(satisfied),
                "is_in_loop": answer(False),
                "is_progress_being_made": answer(True),
                "next_speaker": answer(speaker),
                "instruction_or_question": answer("plan the trip"),
            }
        )
        .replace("{", "{{")
        .replace("}", "}}")
    )


def magentic(**kwargs: Any) -> Any:
    """The standard Magentic manager on a scripted model: facts, plan, one round for the planner, final answer."""
    asked: dict[str, int] = {"progress": 0}

    def progress(first: bool) -> Callable[[str], bool]:
        def matches(text: str) -> bool:
            if "Is the request fully satisfied" not in text or (asked["progress"] == 0) is not first:
                return False
            asked["progress"] += 1
            return True

        return matches

    manager = scripted_agent(
        "manager",
        rules=[
            Rule(progress(first=True), answer=_ledger(satisfied=False, speaker="planner")),
            Rule(progress(first=False), answer=_ledger(satisfied=True, speaker="planner")),
            Rule("pre-survey", answer="Facts: Lisbon in May."),
            Rule("We have completed the task", answer="Final: a Lisbon plan."),
            Rule("assembled the following team", answer="Plan: ask the planner."),
        ],
    )
    planner, _ = planner_and_reviewer()
    return MagenticBuilder(participants=[planner], manager_agent=manager, max_round_count=4, **kwargs).build()


@dataclass(frozen=True)
class Composition:
    name: str
    build: Callable[..., Any]
    participants: tuple[str, ...]
    """Agents whose ``invoke_agent`` spans the runs of a test contain."""
    turns: int = 2
    """Turns of one session a built workflow takes (a completed Magentic workflow accepts no further task)."""


COMPOSITIONS: Final = (
    Composition("sequential", sequential, ("planner", "reviewer")),
    Composition("concurrent", concurrent, ("planner", "reviewer")),
    Composition("handoff", handoff, ("triage", "planner")),
    Composition("group_chat", group_chat, ("planner", "reviewer")),
    Composition("magentic", magentic, ("manager", "planner"), turns=1),
)

# endregion

# region span queries


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def named(spans: Iterable[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name.startswith(prefix)]


def descendants(spans: Sequence[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    """``root`` and every span below it."""
    by_parent: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        if span.parent is not None:
            by_parent.setdefault(span.parent.span_id, []).append(span)
    found = [root]
    index = 0
    while index < len(found):
        found.extend(by_parent.get(found[index].context.span_id, []))
        index += 1
    return found


def roots(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    """Spans called ``name`` (exactly, or ``name {...}``) without a parent."""
    return [span for span in spans if span.parent is None and (span.name == name or span.name.startswith(name + " "))]


def run_tree(spans: Sequence[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    """Every span of ``root``'s trace; asserts they all hang below ``root`` (one trace per outer run)."""
    in_trace = [span for span in spans if span.context.trace_id == root.context.trace_id]
    below = descendants(spans, root)
    assert {span.context.span_id for span in in_trace} == {span.context.span_id for span in below}, (
        "spans of the run's trace that are not below its run span: "
        f"{sorted(s.name for s in in_trace if s not in below)}"
    )
    return below


def assert_one_conversation(tree: Sequence[ReadableSpan], *, session_id: str, conversation_id: str) -> set[str]:
    """Every span of the run carries the outer session and conversation; participant runs are nested in it.

    ``tree[0]`` is the outer run span. Returns the names of the agents that ran inside it.
    """
    wrong = [
        (span.name, attrs(span).get(attr.SESSION_ID), attrs(span).get(attr.GEN_AI_CONVERSATION_ID))
        for span in tree
        if attrs(span).get(attr.SESSION_ID) != session_id
        or attrs(span).get(attr.GEN_AI_CONVERSATION_ID) != conversation_id
    ]
    assert not wrong, f"spans without the outer session {session_id!r} / conversation {conversation_id!r}: {wrong}"
    assert not [s.name for s in tree if str(attrs(s).get(attr.GEN_AI_CONVERSATION_ID, "")).startswith("resp_")]
    outer_run = attrs(tree[0]).get(attr.RUN_ID)
    assert isinstance(outer_run, str)
    names = {span.name for span in tree}
    for kind in ("workflow.run", "executor.process", "message.send", "edge_group.process", "chat"):
        assert any(name.startswith(kind) for name in names), f"no {kind} span in the run: {sorted(names)}"
    runs = [span for span in tree if span.name.startswith(f"{INVOKE_AGENT} ") and span is not tree[0]]
    assert runs, f"no participant run in {sorted(names)}"
    for run in runs:
        own = attrs(run)
        assert own.get(attr.RUN_ID) not in (None, outer_run), f"{run.name}: a nested run has its own run id"
        assert own.get(attr.PARENT_RUN_ID) is not None, f"{run.name} does not record the run it is nested in"
        assert own.get(attr.AGENT_SESSION_ID) != session_id
    return {run.name.removeprefix(f"{INVOKE_AGENT} ") for run in runs}


# endregion

# region checkpoints


def checkpoint_text(checkpoints: Iterable[WorkflowCheckpoint]) -> str:
    """Everything the storage holds for these checkpoints, as the JSON the file storage would write."""
    from agent_framework._workflows._checkpoint_encoding import encode_checkpoint_value

    return json.dumps([encode_checkpoint_value(checkpoint.to_dict()) for checkpoint in checkpoints], default=str)


def files_text(directory: Path) -> str:
    return "\n".join(path.read_text() for path in sorted(directory.glob("*.json")))


def trace_contexts(checkpoints: Iterable[WorkflowCheckpoint]) -> list[dict[str, str]]:
    """The W3C trace contexts the framework injected into checkpointed messages."""
    return [
        context
        for checkpoint in checkpoints
        for messages in checkpoint.messages.values()
        for message in messages
        for context in (message.trace_contexts or [])
    ]


def assert_no_identity(text: str, contexts: Sequence[dict[str, str]], *secrets: str) -> None:
    """No identity baggage in what a checkpoint storage holds (and the messages did carry trace context)."""
    assert contexts, "no checkpointed message carried trace context: nothing was checked"
    for context in contexts:
        baggage = context.get("baggage", "")
        assert attr.SESSION_ID not in baggage and attr.USER_ID not in baggage, context
    for secret in secrets:
        assert secret not in text, f"{secret!r} found in checkpoint data"


# endregion
