"""The demo's log lines: in its OTLP/JSON file next to the spans, each with its session, and in the sessions report.

One real run of ``otel-identity demo`` (three services, real HTTP on 127.0.0.1, scripted model).
The raw ``resourceLogs`` lines are read here independently of the report, and the report's
log counts are checked against them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from otel_identity import attributes as attr
from otel_identity_demo.sessions_report import build_report

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo-logs") / "demo.jsonl"
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    cli = "import sys; from otel_identity_demo.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", cli, "demo", "--output", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return path


def raw_logs(path: Path) -> list[dict[str, Any]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        for resource_logs in json.loads(line).get("resourceLogs", ()):
            resource = {a["key"]: a["value"].get("stringValue") for a in resource_logs["resource"]["attributes"]}
            for scope_logs in resource_logs["scopeLogs"]:
                for record in scope_logs["logRecords"]:
                    attributes = {a["key"]: a["value"].get("stringValue") for a in record.get("attributes", ())}
                    found.append(
                        {
                            "service": resource["service.name"],
                            "body": record["body"].get("stringValue", ""),
                            "severity": record.get("severityNumber", 0),
                            "trace": record.get("traceId", ""),
                            **attributes,
                        }
                    )
    return found


def session_named(records: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [record for record in records if str(record.get(attr.SESSION_ID, "")).startswith(prefix)]


def test_every_service_logs_and_every_record_carries_its_session(demo_file: Path) -> None:
    records = raw_logs(demo_file)
    assert {record["service"] for record in records} == {"concierge", "flights", "hotels"}
    report = build_report([demo_file])
    sessions = {session.session_id for session in report.sessions}
    assert all(record.get(attr.SESSION_ID) in sessions for record in records), records
    span_traces = {trace for session in report.sessions for trace in session.trace_ids}
    assert all(record["trace"] in span_traces for record in records)  # each record sits in one of its traces


def test_the_failed_task_and_the_retry_are_logged_in_their_sessions(demo_file: Path) -> None:
    records = raw_logs(demo_file)
    atlantis = session_named(records, "atlantis-")
    assert any(r["service"] == "concierge" and "failed" in r["body"] and r["severity"] >= 17 for r in atlantis)
    assert any(r["service"] == "flights" and r["severity"] >= 17 for r in atlantis)  # the framework's own error
    paris = session_named(records, "paris-trip-")
    retry = [r for r in paris if r["service"] == "concierge" and "retries" in r["body"]]
    asked = [r for r in paris if r["service"] == "hotels" and "no dates" in r["body"]]
    assert retry and asked and retry[0]["trace"] == asked[0]["trace"]
    assert retry[0][attr.RUN_ID]  # inside the concierge's run


def test_the_report_counts_each_sessions_logs_and_errors(demo_file: Path) -> None:
    records = raw_logs(demo_file)
    report = build_report([demo_file])
    for session in report.sessions:
        mine = [record for record in records if record.get(attr.SESSION_ID) == session.session_id]
        assert (session.logs, session.log_errors) == (len(mine), sum(r["severity"] >= 17 for r in mine))
    assert sum(session.logs for session in report.sessions) == len(records) > 0
    json_sessions = report.to_json()["sessions"]
    assert {s["session_id"]: s["logs"] for s in json_sessions} == {s.session_id: s.logs for s in report.sessions}
