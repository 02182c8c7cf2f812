"""How a demo service stops: every stop request is harmless, and nothing interrupts the final flush.

The runner closes a service's stdin and then sends SIGTERM, so a stop request arrives twice,
from two threads. The concierge's stop asks its event loop to cancel; when the first request
had already ended ``asyncio.run``, the second (the signal) met a closed loop and raised
inside ``provider.shutdown()``, in the middle of the flush: under load this lost every span
the concierge had recorded after Ctrl-C. Each script below runs in a process of its own
(signal handlers are process-wide).
"""

from __future__ import annotations

import json
import subprocess
import sys

from demo_files import demo_environment

_SHUTDOWN = """
import os, signal, sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from otel_identity_demo._process import shut_down, stop_when_asked
from otel_identity_demo._telemetry import CountingExporter, Delivery

calls = []

def stop():
    calls.append(len(calls))
    raise RuntimeError("Event loop is closed")  # what the concierge's stop meets once asyncio.run returned

class SignalledMidFlush(SpanExporter):
    def export(self, spans):
        os.kill(os.getpid(), signal.SIGTERM)  # a stop request while the main thread waits for this flush
        os.kill(os.getpid(), signal.SIGINT)
        return SpanExportResult.SUCCESS

delivery = Delivery()
delivery.destinations["file"] = CountingExporter(SignalledMidFlush())
provider = TracerProvider()
provider.add_span_processor(delivery.ended)
provider.add_span_processor(BatchSpanProcessor(delivery.destinations["file"], schedule_delay_millis=60_000))
stop_when_asked(stop)
os.kill(os.getpid(), signal.SIGTERM)  # the first request: stop runs (and raises, which must not escape)
os.kill(os.getpid(), signal.SIGINT)  # a second request: ignored
for index in range(5):
    provider.get_tracer("t").start_span(f"span {index}").end()
shut_down(provider, delivery)
sys.stderr.write(f"stop calls {calls}\\n")
"""


def test_stop_requests_are_once_and_the_flush_is_not_interrupted() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SHUTDOWN],
        capture_output=True,
        text=True,
        timeout=60,
        env=demo_environment(),
        stdin=subprocess.PIPE,  # kept open: stdin end of file is a stop request too
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == "stop calls [0]"
    kind, _, counts = done.stdout.strip().partition(" ")
    assert kind == "SPANS"
    assert json.loads(counts) == {"ended": 5, "file": {"exported": 5, "failed": 0}}


def test_python_dash_m_otel_identity_says_where_the_command_is() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "otel_identity"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2 and done.stdout == ""
    message = done.stderr.strip()
    assert message.startswith("otel-identity ") and "is a library" in message
    assert "`python -m otel_identity_demo`" in message


def test_the_core_package_does_not_import_the_demo() -> None:
    script = "import sys, otel_identity; print(sorted(m for m in sys.modules if m.startswith('otel_identity_')))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
