"""One case per row of the placement table: each row's behaviour follows from the row.

The expectations are derived from the row itself (its stamp, its field, its baggage), so a
row changed in the table changes what these cases expect, and the code must follow; a kind
with no case here fails :func:`test_every_row_has_a_case`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry import baggage, trace
from opentelemetry import context as context_api
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_identity as oi
from otel_identity import attributes as attr
from otel_identity.placement import PLACEMENTS, ROWS, Baggage, IdentityKind, Placement, Stamp, markdown_table

VALUE = "value-42"

Recorder = Callable[[trace.Span], None]

RECORDERS: dict[IdentityKind, Recorder] = {
    IdentityKind.RESPONSE: lambda span: oi.record_result(span, response_id=VALUE),
    IdentityKind.MESSAGE: lambda span: oi.record_result(span, message_id=VALUE),
    IdentityKind.ARTIFACT: lambda span: oi.record_result(span, artifact_id=VALUE),
    IdentityKind.REFERENCE_TASKS: lambda span: oi.record_request(span, reference_task_ids=[VALUE]),
    IdentityKind.PARENT_RUN: lambda span: oi.record_nested_run(span, parent_run_id=VALUE),
    IdentityKind.AGENT_SESSION: lambda span: oi.record_nested_run(span, agent_session_id=VALUE),
    IdentityKind.CHECKPOINT: lambda span: oi.record_checkpoint(span, checkpoint_id=VALUE, resumed=True),
    IdentityKind.CONTINUATION_TOKEN: lambda span: oi.record_continuation(span, issued=True, resumed=True),
    IdentityKind.PENDING_REQUEST: lambda span: oi.record_pending_requests(span, issued=[VALUE], answered=[VALUE]),
}
"""How an instrumentor records each identity that never enters a scope (by its row's stamp)."""

SCOPED = [row for row in ROWS if row.field is not None]
RECORDED = [row for row in ROWS if row.field is None]


def _in_scope(row: Placement) -> oi.Identities:
    """Identities holding ``VALUE`` in the row's field (a task's id and state live in its handle)."""
    if row.field == "task_id":
        return oi.Identities(task=oi.TaskHandle(VALUE))
    if row.field == "task_state":
        return oi.Identities(task=oi.TaskHandle("task-1", VALUE))
    assert row.field is not None
    return oi.Identities().with_changes(**{row.field: VALUE})


def test_every_row_has_a_case() -> None:
    assert {row.kind for row in SCOPED} | set(RECORDERS) == set(IdentityKind)
    assert not {row.kind for row in SCOPED} & set(RECORDERS), "a row is either scoped or recorded, not both"


@pytest.mark.parametrize("row", SCOPED, ids=lambda row: row.kind.value)
def test_scoped_row_reaches_the_spans_its_stamp_names(
    row: Placement, spans: InMemorySpanExporter, tracer: trace.Tracer
) -> None:
    assert row.attribute is not None
    attached = context_api.attach(oi.set_identities(_in_scope(row)))
    try:
        with tracer.start_as_current_span("plain"):
            pass
        with tracer.start_as_current_span("chat model", attributes={attr.GEN_AI_OPERATION_NAME: "chat"}):
            pass
        logged = (oi.get_identities() or oi.Identities()).log_attributes()
    finally:
        context_api.detach(attached)
    got = {span.name: dict(span.attributes or {}) for span in spans.get_finished_spans()}
    on_every_span = row.stamp is Stamp.SCOPE
    assert (got["plain"].get(row.attribute) == VALUE) is on_every_span
    assert got["chat model"].get(row.attribute) == VALUE, "scope and chat-only rows both reach chat spans"
    assert (logged.get(row.attribute) == VALUE) is on_every_span, "log records get the SCOPE rows only"


@pytest.mark.parametrize("row", RECORDED, ids=lambda row: row.kind.value)
def test_recorded_row_stays_on_its_own_span(row: Placement, spans: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    assert row.stamp in (Stamp.OWN_SPAN, Stamp.RUN_SPAN, Stamp.MARKER_ONLY)
    with oi.session_scope("s-1"), tracer.start_as_current_span("operation") as span:
        RECORDERS[row.kind](span)
        with tracer.start_as_current_span("child"):
            pass
        assert oi.get_identities() is not None
    got = {span.name: dict(span.attributes or {}) for span in spans.get_finished_spans()}
    names = {name for name in (row.attribute, *row.markers) if name is not None and name.startswith("otel_identity.")}
    written = {key for key in got["operation"] if key in {row.attribute, *row.markers}}
    assert written, f"{row.kind.value}: nothing recorded"
    if row.attribute is not None:
        value = got["operation"][row.attribute]
        assert value == VALUE or list(value) == [VALUE]  # type: ignore[arg-type]
    else:  # MARKER_ONLY: the raw value is never written, only markers
        assert row.stamp is Stamp.MARKER_ONLY
    assert not {row.attribute, *row.markers} & set(got["child"]), "never stamped onto other spans"
    assert names <= set(attr.IDENTITY_ATTRIBUTES) | {attr.TASK_STATE_CHANGE_EVENT, attr.TASK_PREVIOUS_STATE}


@pytest.mark.parametrize("row", SCOPED, ids=lambda row: row.kind.value)
def test_only_baggage_rows_cross_and_only_to_trusted_peers(row: Placement, trust: Callable[..., None]) -> None:
    assert row.attribute is not None
    propagator = oi.IdentityBaggagePropagator()
    trust(["peer.internal"], baggage_user_id=True)
    context = oi.set_identities(_in_scope(row))
    trusted: dict[str, str] = {}
    propagator.inject(trusted, context=oi.set_destination("http://peer.internal/a2a", context))
    untrusted: dict[str, str] = {}
    propagator.inject(untrusted, context=oi.set_destination("http://elsewhere.example/a2a", context))
    received = baggage.get_all(propagator.extract(trusted))
    crosses = row.baggage is not Baggage.NEVER
    assert (f"{row.attribute}={VALUE}" in trusted.get("baggage", "")) is crosses
    assert row.attribute not in untrusted.get("baggage", "")
    assert row.attribute not in received, "identity keys never stay in the received baggage"
    if crosses:
        accepted = oi.get_identities(propagator.extract(trusted))
        assert accepted is not None and getattr(accepted, row.field or "") == VALUE


def test_opt_in_rows_need_the_opt_in(trust: Callable[..., None]) -> None:
    for row in ROWS:
        if row.baggage is not Baggage.TRUSTED_OPT_IN:
            continue
        trust(["peer.internal"])  # not opted in
        carrier: dict[str, str] = {}
        context = oi.set_destination("http://peer.internal/", oi.set_identities(_in_scope(row)))
        oi.IdentityBaggagePropagator().inject(carrier, context=context)
        assert str(row.attribute) not in carrier.get("baggage", "")


SEMCONV_NAMES = {
    "session.id",
    "user.id",
    "gen_ai.conversation.id",
    "gen_ai.request.previous_response.id",
    "gen_ai.response.id",
    # The A2A registry's seven attributes (the identity ones among them).
    "a2a.message.id",
    "a2a.message.reference_task_ids",
    "a2a.task.id",
    "a2a.task.state",
}


def test_our_names_are_in_our_namespace() -> None:
    """A namespace the semantic conventions own holds only names its registry lists; the rest are ours."""
    for row in ROWS:
        if row.attribute is not None:
            assert (row.attribute not in SEMCONV_NAMES) is row.ours, (row.kind, row.attribute)
        for name in (row.attribute, *row.markers):
            assert name is None or name in SEMCONV_NAMES or name.startswith("otel_identity."), (row.kind, name)


def test_the_readme_shows_the_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "README's placement table differs from otel_identity.placement: paste it"


def test_task_state_row_is_read_per_span(spans: InMemorySpanExporter, tracer: trace.Tracer) -> None:
    """The dynamic row: a state change inside the scope reaches spans started afterwards."""
    assert PLACEMENTS[IdentityKind.TASK_STATE].dynamic
    with oi.task_scope("task-1", state="TASK_STATE_WORKING") as task:
        with tracer.start_as_current_span("before"):
            pass
        task.set_state("TASK_STATE_COMPLETED")
        with tracer.start_as_current_span("after"):
            pass
    got = {span.name: dict(span.attributes or {}) for span in spans.get_finished_spans()}
    assert got["before"][attr.A2A_TASK_STATE] == "TASK_STATE_WORKING"
    assert got["after"][attr.A2A_TASK_STATE] == "TASK_STATE_COMPLETED"
