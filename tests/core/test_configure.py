"""``configure()`` and zero-code set-up, each in a fresh interpreter so global state is real.

The tracer provider and propagator are process-wide and can be set once; every case here
runs in its own subprocess, exactly as an app would start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_PRELUDE = """
import json, otel_identity as oi
from opentelemetry import trace, propagate
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

def processors(provider):
    return [type(p).__name__ for p in provider._active_span_processor._span_processors]
"""


def run_python(code: str, *, env: dict[str, str] | None = None, args: list[str] | None = None) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; it must print one JSON object as its last line."""
    full_env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    full_env.update(env or {})
    completed = subprocess.run(
        [*(args or [sys.executable]), "-c", _PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_configure_twice_gives_one_processor_and_one_exporter() -> None:
    result = run_python(
        """
        first = oi.configure(service_name="svc-a")
        second = oi.configure(service_name="svc-a")
        print(json.dumps({"same": first is second, "processors": processors(first),
                          "service": first.resource.attributes["service.name"],
                          "global": trace.get_tracer_provider() is first}))
        """,
        env={"OTEL_TRACES_EXPORTER": "console"},
    )
    assert result["same"] is True and result["global"] is True
    assert result["processors"] == ["IdentitySpanProcessor", "BatchSpanProcessor"]
    assert result["service"] == "svc-a"


def test_configure_adds_to_an_existing_provider_instead_of_replacing_it() -> None:
    result = run_python(
        """
        exporter = InMemorySpanExporter()
        mine = TracerProvider()
        mine.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(mine)
        got = oi.configure()
        with oi.session_scope("s-1"), trace.get_tracer("t").start_as_current_span("x"):
            pass
        print(json.dumps({"same": got is mine, "processors": processors(mine),
                          "session": exporter.get_finished_spans()[0].attributes.get("session.id")}))
        """
    )
    assert result == {
        "same": True,
        "processors": ["SimpleSpanProcessor", "IdentitySpanProcessor"],
        "session": "s-1",
    }


def test_configure_honours_otel_environment_variables() -> None:
    result = run_python(
        """
        provider = oi.configure()
        exporter = provider._active_span_processor._span_processors[1].span_exporter
        print(json.dumps({"service": provider.resource.attributes["service.name"],
                          "team": provider.resource.attributes.get("team"),
                          "exporter": type(exporter).__module__,
                          "endpoint": exporter._endpoint,
                          "propagator": sorted(propagate.get_global_textmap().fields)}))
        """,
        env={
            "OTEL_SERVICE_NAME": "from-env",
            "OTEL_RESOURCE_ATTRIBUTES": "team=agents",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
        },
    )
    assert result["service"] == "from-env" and result["team"] == "agents"
    assert result["exporter"].endswith("proto.grpc.trace_exporter")
    assert "127.0.0.1:4317" in str(result["endpoint"])
    assert result["propagator"] == ["baggage", "traceparent", "tracestate"]


def test_keyword_arguments_override_the_environment() -> None:
    result = run_python(
        """
        provider = oi.configure(service_name="kw", endpoint="http://127.0.0.1:9999", protocol="http/protobuf")
        exporter = provider._active_span_processor._span_processors[1].span_exporter
        print(json.dumps({"service": provider.resource.attributes["service.name"], "endpoint": exporter._endpoint}))
        """,
        env={"OTEL_SERVICE_NAME": "env", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
    )
    assert result == {"service": "kw", "endpoint": "http://127.0.0.1:9999/v1/traces"}


def test_otel_traces_exporter_none_adds_no_exporter() -> None:
    result = run_python(
        "print(json.dumps({'processors': processors(oi.configure())}))", env={"OTEL_TRACES_EXPORTER": "none"}
    )
    assert result == {"processors": ["IdentitySpanProcessor"]}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ("service_name=''", "service_name must be a non-empty str"),
        ("protocol='udp'", "protocol must be 'http/protobuf' or 'grpc'"),
        ("exporter='otlp'", "exporter must be a SpanExporter"),
        ("trusted_peers=['http://']", "trusted peer 'http://'"),
        ("trusted_peers=['host:99999']", "invalid port"),
        ("trusted_peers=5", "must be a str or an iterable of str"),
        ("endpoint=''", "endpoint must be a non-empty str"),
        ("logs='yes'", "logs must be True, False or None"),
        ("log_exporter='otlp'", "log_exporter must be a LogRecordExporter"),
        ("logger_provider=object()", "logger_provider must be an SDK LoggerProvider"),
        ("sampler=0.1", "sampler must be an opentelemetry.sdk.trace.sampling.Sampler"),
        ("sampler=oi.session_sampler(1.5)", "sampling ratio must be a number in [0, 1], got 1.5"),
        ("sampler=oi.session_sampler(0.1), tracer_provider=TracerProvider()", "this one exists already"),
    ],
)
def test_bad_configuration_raises_a_clear_value_error(kwargs: str, message: str) -> None:
    result = run_python(
        f"""
        try:
            oi.configure({kwargs})
        except ValueError as error:
            print(json.dumps({{"error": str(error)}}))
        else:
            print(json.dumps({{"error": None}}))
        """,
        env={"OTEL_TRACES_EXPORTER": "none"},
    )
    assert message in str(result["error"])


def test_opentelemetry_instrument_picks_up_our_entry_points(tmp_path: Path) -> None:
    """Zero code: ``opentelemetry-instrument python app.py`` loads our instrumentor and propagator."""
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    assert instrument.exists(), "opentelemetry-distro provides opentelemetry-instrument (test extra)"
    result = run_python(
        """
        provider = trace.get_tracer_provider()
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        with oi.session_scope("zero-code"), trace.get_tracer("app").start_as_current_span("work"):
            pass
        textmap = propagate.get_global_textmap()
        print(json.dumps({"processors": processors(provider),
                          "session": exporter.get_finished_spans()[0].attributes.get("session.id"),
                          "propagators": [type(p).__name__ for p in textmap._propagators]}))
        """,
        env={
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_PROPAGATORS": "tracecontext,otel_identity",
            "OTEL_SERVICE_NAME": "zero-code-app",
        },
        args=[str(instrument), sys.executable],
    )
    assert "IdentitySpanProcessor" in result["processors"]
    assert result["session"] == "zero-code"
    assert result["propagators"] == ["TraceContextTextMapPropagator", "IdentityBaggagePropagator"]


def test_instrument_enables_installed_instrumentors_and_skips_nothing_silently() -> None:
    result = run_python(
        """
        provider = oi.configure(service_name="x")
        from otel_identity.instrumentation import instrument
        print(json.dumps({"names": instrument(tracer_provider=provider)}))
        """,
        env={"OTEL_TRACES_EXPORTER": "none"},
    )
    assert "otel_identity" in result["names"]  # type: ignore[operator]


def test_an_instrumentor_names_its_missing_framework() -> None:
    """Under opentelemetry-instrument each of our instrumentors checks its own framework."""
    from collections.abc import Collection

    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

    from otel_identity._instrument import missing_framework

    class NeedsAbsent(BaseInstrumentor):  # type: ignore[misc]
        def instrumentation_dependencies(self) -> Collection[str]:
            return ("surely-not-installed-framework >= 1",)

        def _instrument(self, **kwargs: object) -> None: ...

        def _uninstrument(self, **kwargs: object) -> None: ...

    class NeedsPresent(BaseInstrumentor):  # type: ignore[misc]  # not a subclass: instrumentors are singletons
        def instrumentation_dependencies(self) -> Collection[str]:
            return ("opentelemetry-sdk >= 1.0",)

        def _instrument(self, **kwargs: object) -> None: ...

        def _uninstrument(self, **kwargs: object) -> None: ...

    assert "surely-not-installed-framework" in str(missing_framework(NeedsAbsent()))
    assert missing_framework(NeedsPresent()) is None


def test_configure_quiets_repeated_exporter_errors() -> None:
    result = run_python(
        """
        import logging
        from otel_identity._log_once import EXPORT_LOGGERS, RepeatedLogFilter
        oi.configure(service_name="x", endpoint="http://127.0.0.1:9")
        print(json.dumps({name: any(isinstance(f, RepeatedLogFilter) for f in logging.getLogger(name).filters)
                          for name in EXPORT_LOGGERS}))
        """
    )
    assert set(result.values()) == {True}


@pytest.mark.parametrize(
    ("env", "warning", "module"),
    [
        (
            {"OTEL_TRACES_EXPORTER": "bogus"},
            "OTEL_TRACES_EXPORTER='bogus' is not one of otlp, console, none; ignoring it",
            "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        ),
        (
            {"OTEL_TRACES_EXPORTER": "bogus,console"},
            "OTEL_TRACES_EXPORTER='bogus' is not one of otlp, console, none; ignoring it",
            "opentelemetry.sdk.trace.export",
        ),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "udp"},
            "OTEL_EXPORTER_OTLP_PROTOCOL='udp' is not one of http/protobuf, grpc; using http/protobuf",
            "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        ),
    ],
)
def test_bad_environment_values_log_a_warning_and_fall_back(env: dict[str, str], warning: str, module: str) -> None:
    """The SDK's convention: the environment never makes set-up fail; it says what it ignored."""
    result = run_python(
        """
        import logging
        seen = []
        class Keep(logging.Handler):
            def emit(self, record):
                seen.append(record.getMessage())
        logging.getLogger("otel_identity").addHandler(Keep())
        provider = oi.configure()
        exporter = provider._active_span_processor._span_processors[1].span_exporter
        print(json.dumps({"warnings": seen, "exporter": type(exporter).__module__}))
        """,
        env=env,
    )
    assert any(warning in message for message in result["warnings"]), result["warnings"]  # type: ignore[union-attr]
    assert result["exporter"] == module


def test_bad_logs_exporter_in_the_environment_falls_back_to_otlp() -> None:
    result = run_python(
        """
        import logging
        from opentelemetry._logs import get_logger_provider
        seen = []
        class Keep(logging.Handler):
            def emit(self, record):
                seen.append(record.getMessage())
        logging.getLogger("otel_identity").addHandler(Keep())
        oi.configure()
        provider = get_logger_provider()
        processors = provider._multi_log_record_processor._log_record_processors
        print(json.dumps({"warnings": seen, "processors": [type(p).__name__ for p in processors],
                          "exporter": type(processors[1]._batch_processor._exporter).__module__}))
        """,
        env={"OTEL_TRACES_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "bogus"},
    )
    assert (
        "otel-identity: OTEL_LOGS_EXPORTER='bogus' is not one of otlp, console, none; ignoring it" in result["warnings"]
    )
    assert "otel-identity: OTEL_LOGS_EXPORTER names no supported exporter; using otlp" in result["warnings"]
    assert result["processors"] == ["IdentityLogRecordProcessor", "BatchLogRecordProcessor"]
    assert result["exporter"] == "opentelemetry.exporter.otlp.proto.http._log_exporter"


def test_configure_selects_the_session_sampler_from_the_environment() -> None:
    result = run_python(
        """
        import logging
        seen = []
        class Keep(logging.Handler):
            def emit(self, record):
                seen.append(record.getMessage())
        logging.getLogger("otel_identity").addHandler(Keep())
        print(json.dumps({"sampler": oi.configure().sampler.get_description(), "warnings": seen}))
        """,
        env={
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_TRACES_SAMPLER": "otel_identity_session",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
        },
    )
    assert str(result["sampler"]).startswith("IdentityStamping{ParentBased{root:SessionRatioSampler{0.25}")
    assert result["warnings"] == []


def test_an_unknown_sampler_in_the_environment_logs_and_keeps_the_sdk_default() -> None:
    result = run_python(
        """
        import logging
        seen = []
        class Keep(logging.Handler):
            def emit(self, record):
                seen.append(record.getMessage())
        logging.getLogger("otel_identity").addHandler(Keep())
        print(json.dumps({"sampler": oi.configure().sampler.get_description(), "warnings": seen}))
        """,
        env={"OTEL_TRACES_EXPORTER": "none", "OTEL_TRACES_SAMPLER": "no_such_sampler"},
    )
    assert result["warnings"] == [
        "otel-identity: OTEL_TRACES_SAMPLER='no_such_sampler' names no installed sampler; using the SDK default"
    ]
    assert str(result["sampler"]).startswith("IdentityStamping{ParentBased{root:AlwaysOnSampler")
