"""The core's rules for the identities of one agent run (``otel_identity.instrumentation.plan_run``)."""

from __future__ import annotations

from opentelemetry import context as context_api

import otel_identity as oi
from otel_identity.instrumentation import is_rotating_handle, plan_run, run_context


class Session:
    """Stands for a framework session object (weak-referenceable, as AgentSession is)."""


def test_outermost_run_uses_its_own_session_and_a_stable_conversation() -> None:
    owner = Session()
    first = plan_run(session_id="s-1", owner=owner)
    later = plan_run(session_id="s-1", service_conversation="conv_9", owner=owner)
    assert (first.session_id, first.conversation_id) == ("s-1", "s-1")
    assert later.conversation_id == "s-1", "pinned at the session's first run: one conversation per session"
    assert first.run_id != later.run_id and not first.nested


def test_a_rotating_handle_is_never_the_conversation() -> None:
    plan = plan_run(session_id="s-1", service_conversation="resp_17", owner=Session())
    assert is_rotating_handle("resp_17")
    assert plan.conversation_id == "s-1"
    assert plan.previous_response_id == "resp_17"


def test_a_stable_service_conversation_is_used_from_the_first_run() -> None:
    plan = plan_run(session_id="s-1", service_conversation="conv_9", owner=Session())
    assert plan.conversation_id == "conv_9"


def test_a_service_owned_conversation_not_yet_named_is_absent() -> None:
    first = plan_run(session_id="local-1", owner=Session(), service_owned=True)
    named = plan_run(session_id="local-1", service_conversation="ctx-7", owner=Session(), service_owned=True)
    assert first.session_id == "local-1" and first.conversation_id is None, "no stand-in"
    assert named.conversation_id == "ctx-7"
    context = run_context(first)
    identities = oi.get_identities(context)
    assert identities is not None and identities.conversation_id is None and identities.session_id == "local-1"


def test_a_run_nested_in_another_keeps_the_outer_conversation() -> None:
    outer = plan_run(session_id="user-session", owner=Session())
    token = context_api.attach(run_context(outer))
    try:
        inner = plan_run(session_id="participant-internal", service_conversation="conv_x", owner=Session())
    finally:
        context_api.detach(token)
    assert inner.session_id == "user-session"
    assert inner.conversation_id == "user-session"
    assert inner.agent_session_id == "participant-internal"
    assert inner.parent_run_id == outer.run_id and inner.nested
    assert inner.run_id != outer.run_id


def test_an_explicit_scope_wins_over_the_agent_session() -> None:
    with oi.session_scope("app-session", conversation_id="app-conversation"):
        plan = plan_run(session_id="agent-session", owner=Session())
    assert (plan.session_id, plan.conversation_id) == ("app-session", "app-conversation")
    assert plan.agent_session_id == "agent-session"
    assert plan.parent_run_id is None, "a scope is not a run"


def test_an_identity_set_upstream_wins() -> None:
    plan = plan_run(session_id="hashed-storage-key", upstream_conversation="thread-1", owner=Session())
    assert plan.conversation_id == "thread-1"


def test_bad_values_are_dropped_not_raised() -> None:
    plan = plan_run(session_id="x" * 10_000, service_conversation="bad\x00id", run_id="has space\n")
    assert plan.session_id is None and plan.conversation_id is None
    assert len(plan.run_id) == 32, "an invalid app run id is replaced by a generated one"


def test_remote_conversation_is_not_our_session() -> None:
    context = oi.set_conversation("ctx-remote", remote=True)
    assert oi.get_identities(context) is None
    with oi.session_scope("s-1"):
        inside = oi.get_identities(oi.set_conversation("ctx-remote", remote=True))
    assert inside is not None and (inside.session_id, inside.conversation_id) == ("s-1", "ctx-remote")


def test_reentering_an_equal_scope_changes_nothing() -> None:
    handle = oi.TaskHandle("task-1", "TASK_STATE_WORKING")
    with oi.session_scope("s-1", conversation_id="ctx-1"), oi.task_scope(handle):
        current = context_api.get_current()
        assert oi.set_conversation("ctx-1") is current
        assert oi.set_task(oi.TaskHandle("task-1")) is current, "the enclosing handle tracks the task's state"


def test_a_run_id_the_app_opened_is_adopted_by_the_first_agent_run_only() -> None:
    with oi.session_scope("s-1"), oi.run_scope("app-run-7"):
        first = plan_run(session_id="s-1", owner=Session())
        token = context_api.attach(run_context(first))
        try:
            deeper = plan_run(session_id="s-1", owner=Session())
        finally:
            context_api.detach(token)
    assert first.run_id == "app-run-7" and first.parent_run_id is None
    assert deeper.run_id != "app-run-7" and deeper.parent_run_id == "app-run-7"
