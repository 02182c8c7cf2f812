"""1,000 sessions of 3 turns across two real services at ratio 0.1: each session kept whole or dropped whole.

The caller (agent-framework ``A2AAgent``) and the callee (an agent hosted with a2a-sdk and
``A2AExecutor``) are separate processes on 127.0.0.1, each started by
``opentelemetry-instrument`` with ``OTEL_TRACES_SAMPLER=otel_identity_session`` and
``OTEL_TRACES_SAMPLER_ARG=0.1``: the sampler is selected with no code. See
:mod:`sampling_services`.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SESSIONS = 1000
TURNS = 3
RATIO = 0.1
_SCRIPT = Path(__file__).with_name("sampling_services.py")
_INSTRUMENT = Path(sys.executable).with_name("opentelemetry-instrument")


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env.update(
        OTEL_TRACES_SAMPLER="otel_identity_session",
        OTEL_TRACES_SAMPLER_ARG=str(RATIO),
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_PROPAGATORS="tracecontext,otel_identity",
        OTEL_INSTRUMENTATION_A2A_SDK_ENABLED="false",
        **extra,
    )
    return env


def _sessions(summary: dict[str, Any]) -> dict[str, set[str]]:
    """Exported trace ids by session; a trace whose spans name two sessions fails the test."""
    by_session: dict[str, set[str]] = {}
    for trace_id, entry in summary["traces"].items():
        assert len(entry["sessions"]) <= 1, (trace_id, entry)
        for session in entry["sessions"]:
            by_session.setdefault(session, set()).add(trace_id)
    return by_session


def test_sessions_are_kept_or_dropped_whole_on_both_sides() -> None:
    server = subprocess.Popen(
        [str(_INSTRUMENT), sys.executable, str(_SCRIPT), "server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_env(OTEL_SERVICE_NAME="hotels"),
    )
    try:
        assert server.stdout is not None and server.stdin is not None
        ready = server.stdout.readline().split()
        assert ready[:1] == ["READY"], ready
        port = ready[1]
        client = subprocess.run(
            [str(_INSTRUMENT), sys.executable, str(_SCRIPT), "client", port, str(SESSIONS), str(TURNS)],
            capture_output=True,
            text=True,
            env=_env(OTEL_SERVICE_NAME="concierge", OTEL_IDENTITY_TRUSTED_PEERS=f"127.0.0.1:{port}"),
            timeout=600,
        )
        assert client.returncode == 0, client.stderr[-3000:]
        server.stdin.close()
        served = json.loads(server.stdout.read().strip().splitlines()[-1])
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            server.kill()
    caller = json.loads(client.stdout.strip().splitlines()[-1])
    assert caller["sampler"].startswith("IdentityStamping{ParentBased{root:SessionRatioSampler{0.1}")
    assert served["sampler"] == caller["sampler"]
    assert len(caller["answers"]) == SESSIONS and set(caller["answers"].values()) == {TURNS}  # every call worked

    caller_sessions, callee_sessions = _sessions(caller), _sessions(served)
    kept = set(caller_sessions)
    partial = {
        session
        for session in kept | set(callee_sessions)
        if len(caller_sessions.get(session, ())) != TURNS
        or callee_sessions.get(session) != caller_sessions.get(session)
    }
    assert partial == set(), sorted(partial)[:10]
    unattributed = [trace_id for trace_id, entry in served["traces"].items() if not entry["sessions"]]
    assert unattributed == []  # every exported callee trace is one of a kept session's traces

    sigma = math.sqrt(RATIO * (1 - RATIO) / SESSIONS)
    kept_fraction = len(kept) / SESSIONS
    print(f"kept {len(kept)} of {SESSIONS} sessions ({kept_fraction:.3f}), 0 partial, sigma {sigma:.4f}")
    assert abs(kept_fraction - RATIO) <= 3 * sigma, kept_fraction
