"""A telemetry outage is logged once, not once per batch."""

from __future__ import annotations

import logging

import pytest

from otel_identity._log_once import RepeatedLogFilter


def test_repeats_are_suppressed_then_summarised(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [100.0]
    monkeypatch.setattr("otel_identity._log_once.time.monotonic", lambda: clock[0])
    logger = logging.getLogger("test.export.outage")
    log_filter = RepeatedLogFilter(interval=60)
    logger.addFilter(log_filter)
    try:
        with caplog.at_level(logging.WARNING, logger="test.export.outage"):
            for _ in range(50):
                logger.error("Failed to export spans batch to %s", "127.0.0.1:9")
            logger.warning("another message")
            clock[0] += 61
            logger.error("Failed to export spans batch to %s", "127.0.0.1:9")
    finally:
        logger.removeFilter(log_filter)
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "Failed to export spans batch to 127.0.0.1:9",
        "another message",
        "Failed to export spans batch to 127.0.0.1:9 (49 more like this in the last 61 s)",
    ]
