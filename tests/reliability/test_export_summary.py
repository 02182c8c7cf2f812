"""A failing pipeline's last word: repeats held back by the once-per-message filter are counted at exit.

The filter ``configure()`` puts on the exporter loggers lets the first "Failed to export"
through and holds the repeats back; before this, a process that exited within the summary
interval never said how many more exports failed. A real OTLP exporter against a collector
that refuses connections, in a process of its own (the summary runs at interpreter exit).
"""

from __future__ import annotations

import socket
import subprocess
import sys

_SCRIPT = """
import logging, sys
from opentelemetry import trace
import otel_identity

logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")
provider = otel_identity.configure(service_name="outage", endpoint=sys.argv[1])
tracer = provider.get_tracer("t")
for index in range(3):  # three separate exports, three failures of one message
    tracer.start_span(f"span {index}").end()
    provider.force_flush()
"""


def test_failures_held_back_are_counted_when_the_process_exits() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound:
        bound.bind(("127.0.0.1", 0))  # bound, not listening: every connection is refused
        endpoint = f"http://127.0.0.1:{bound.getsockname()[1]}"
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT, endpoint],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", "OTEL_EXPORTER_OTLP_TIMEOUT": "0.5"},
            check=False,
        )

    assert done.returncode == 0, done.stderr
    failures = [line for line in done.stderr.splitlines() if "Failed to export" in line]
    assert len(failures) == 2, done.stderr
    assert "more like this" not in failures[0]
    assert "(2 more like this in the last" in failures[1] and failures[1].endswith(" s, not shown)"), failures[1]
