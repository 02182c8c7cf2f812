"""The log processor on a provider of the test's own: it never raises into the emitter, and it fills only gaps."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

import otel_identity
from otel_identity import attributes as attr


def _provider() -> tuple[LoggerProvider, InMemoryLogRecordExporter]:
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    assert otel_identity.add_identity_log_processor(provider) is True
    assert otel_identity.add_identity_log_processor(provider) is False  # once per provider
    return provider, exporter


def test_a_failure_inside_the_processor_is_swallowed_and_the_record_still_goes_out(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    provider, exporter = _provider()

    def broken(context: object = None) -> object:
        raise RuntimeError("identity lookup broke")

    monkeypatch.setattr("otel_identity._logs.get_identities", broken)
    with caplog.at_level(logging.DEBUG, logger="otel_identity"), otel_identity.session_scope("s-1"):
        provider.get_logger("app").emit(body="still delivered")
    assert [record.log_record.body for record in exporter.get_finished_logs()] == ["still delivered"]
    assert "IdentityLogRecordProcessor.on_emit" in caplog.text


def test_only_scope_keys_are_stamped_and_explicit_values_win() -> None:
    provider, exporter = _provider()
    with otel_identity.session_scope("s-2", user_id="u-2"), otel_identity.run_scope() as run:
        with otel_identity.task_scope("task-7", state="TASK_STATE_WORKING"):
            provider.get_logger("app").emit(body="one", attributes={attr.SESSION_ID: "explicit"})
    found = dict(exporter.get_finished_logs()[0].log_record.attributes or {})
    assert found[attr.SESSION_ID] == "explicit"
    assert found[attr.RUN_ID] == run.run_id
    assert found[attr.A2A_TASK_ID] == "task-7"
    assert found[attr.A2A_TASK_STATE] == "TASK_STATE_WORKING"
    assert found[attr.USER_ID] == "u-2"
    assert attr.GEN_AI_PREVIOUS_RESPONSE_ID not in found
