"""docker-compose.yml and deploy/, checked offline: the Compose schema, mounted files, pinned images, the
Collector's wiring, Tempo's TraceQL metrics, Prometheus and Grafana provisioning."""

from __future__ import annotations

import copy
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from dashboard_tools import (
    COLLECTOR_CONFIG,
    COMPOSE,
    DASHBOARD_PROVIDERS,
    DATASOURCES,
    LOKI_CONFIG,
    PROMETHEUS_CONFIG,
    REPO,
    TEMPO_CONFIG,
    collector_problems,
    component_type,
    load_yaml,
    run,
)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(COMPOSE)
    return loaded


def check_compose(path: Path) -> tuple[int, str]:
    if importlib.util.find_spec("check_jsonschema") is None:
        pytest.fail(
            "check-jsonschema is missing: pip install -e '.[dashboards]' (scripts/setup.sh does)", pytrace=False
        )
    done = run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)])
    return done.returncode, done.stdout + done.stderr


def mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host path, container path) of a service's bind mounts of repository files."""
    found = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            found.append((source, target))
    return found


def test_compose_file_validates_against_the_compose_specification() -> None:
    code, output = check_compose(COMPOSE)
    assert code == 0, output


def test_the_compose_schema_check_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text(encoding="utf-8").replace("    ports:\n", "    portz:\n", 1), encoding="utf-8")
    code, output = check_compose(broken)
    assert code != 0 and "portz" in output


def test_every_mounted_config_exists() -> None:
    found = [(name, source) for name, service in compose()["services"].items() for source, _ in mounts(service)]
    assert len(found) >= 6, found
    for name, source in found:
        assert (REPO / source).exists(), f"{name} mounts {source}, which does not exist"
    assert all(source.startswith(("./deploy/", "./dashboards/generated")) for _, source in found)


def test_the_stack_has_its_services_and_ports() -> None:
    services = compose()["services"]
    assert set(services) == {"otel-collector", "tempo", "jaeger", "prometheus", "grafana", "loki"}
    assert {"4317:4317", "4318:4318"} <= set(services["otel-collector"]["ports"])
    assert "otel/opentelemetry-collector-contrib:" in services["otel-collector"]["image"]
    assert "3000:3000" in services["grafana"]["ports"] and "16686:16686" in services["jaeger"]["ports"]
    assert "--web.enable-remote-write-receiver" in services["prometheus"]["command"]
    assert "3100:3100" in services["loki"]["ports"] and "loki" in services["otel-collector"]["depends_on"]


def test_images_are_pinned() -> None:
    for name, service in compose()["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name}: {image} is not pinned to a version"


def test_collector_pipelines_reference_defined_components() -> None:
    config = load_yaml(COLLECTOR_CONFIG)
    assert collector_problems(config) == []
    pipelines = config["service"]["pipelines"]
    traces = [p for pid, p in pipelines.items() if component_type(pid) == "traces"]
    metrics = [p for pid, p in pipelines.items() if component_type(pid) == "metrics"]
    assert any("spanmetrics" in p["exporters"] for p in traces)
    assert any("spanmetrics" in p["receivers"] and "prometheus" in p["exporters"] for p in metrics)
    endpoints = {exporter_id: exporter.get("endpoint", "") for exporter_id, exporter in config["exporters"].items()}
    assert {endpoint.split(":")[0] for endpoint in endpoints.values()} >= {"tempo", "jaeger", "0.0.0.0"}
    trace_exporters = {e for p in traces for e in p["exporters"]}
    assert {e for e, endpoint in endpoints.items() if endpoint.startswith(("tempo:", "jaeger:"))} <= trace_exporters
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317" and protocols["http"]["endpoint"] == "0.0.0.0:4318"


def test_collector_sends_otlp_logs_to_lokis_otlp_endpoint() -> None:
    config = load_yaml(COLLECTOR_CONFIG)
    logs = [p for pid, p in config["service"]["pipelines"].items() if component_type(pid) == "logs"]
    assert len(logs) == 1 and logs[0]["receivers"] == ["otlp"]
    (exporter,) = logs[0]["exporters"]
    assert component_type(exporter) == "otlp_http"
    assert config["exporters"][exporter]["endpoint"] == "http://loki:3100/otlp"
    loki = load_yaml(LOKI_CONFIG)
    assert loki["server"]["http_listen_port"] == 3100
    assert {c["schema"] for c in loki["schema_config"]["configs"]} == {"v13"}  # structured metadata needs v13


def test_the_wiring_check_finds_broken_pipelines() -> None:
    config = load_yaml(COLLECTOR_CONFIG)
    broken = copy.deepcopy(config)
    broken["service"]["pipelines"]["traces"]["exporters"].append("otlp_grpc/nowhere")
    assert collector_problems(broken) == ["pipeline traces: exporter otlp_grpc/nowhere is not defined"]
    unused = copy.deepcopy(config)
    unused["processors"]["memory_limiter"] = {}
    assert collector_problems(unused) == ["processors.memory_limiter is defined but not used"]
    one_sided = copy.deepcopy(config)
    one_sided["service"]["pipelines"]["metrics"]["receivers"].remove("spanmetrics")
    assert any("connector spanmetrics" in problem for problem in collector_problems(one_sided))
    backwards = copy.deepcopy(config)
    backwards["service"]["pipelines"]["traces"]["exporters"].remove("spanmetrics")
    backwards["service"]["pipelines"]["logs"] = {"receivers": ["otlp"], "exporters": ["spanmetrics"]}
    assert any("connects traces to metrics" in problem for problem in collector_problems(backwards))


def test_tempo_runs_traceql_metrics_and_service_graphs() -> None:
    config = load_yaml(TEMPO_CONFIG)
    processors = config["overrides"]["defaults"]["metrics_generator"]["processors"]
    assert {"local-blocks", "service-graphs"} <= set(processors)
    assert config["metrics_generator"]["processor"]["local_blocks"]["filter_server_spans"] is False
    assert config["metrics_generator"]["traces_storage"]["path"]
    (remote_write,) = config["metrics_generator"]["storage"]["remote_write"]
    assert remote_write["url"] == "http://prometheus:9090/api/v1/write"
    protocols = config["distributor"]["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].startswith("0.0.0.0:")


def test_prometheus_scrapes_the_collectors_span_metrics() -> None:
    collector_endpoint = load_yaml(COLLECTOR_CONFIG)["exporters"]["prometheus"]["endpoint"]
    port = collector_endpoint.rsplit(":", 1)[1]
    scrape_targets = {
        target
        for job in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    assert f"otel-collector:{port}" in scrape_targets


def test_grafana_provisions_the_data_sources_and_the_dashboards() -> None:
    sources = {source["uid"]: source for source in load_yaml(DATASOURCES)["datasources"]}
    assert {uid: source["type"] for uid, source in sources.items()} == {
        "tempo": "tempo",
        "jaeger": "jaeger",
        "prometheus": "prometheus",
        "loki": "loki",
    }
    services = compose()["services"]
    for source in sources.values():
        match = re.fullmatch(r"http://([a-z-]+):(\d+)", source["url"])
        assert match is not None and match.group(1) in services, source["url"]
    for uid in ("tempo", "jaeger"):
        assert sources[uid]["jsonData"]["tracesToMetrics"]["datasourceUid"] == "prometheus"
    assert sources["tempo"]["jsonData"]["serviceMap"]["datasourceUid"] == "prometheus"
    assert sources["tempo"]["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"
    (derived,) = sources["loki"]["jsonData"]["derivedFields"]
    assert (derived["datasourceUid"], derived["matcherType"], derived["matcherRegex"]) == ("tempo", "label", "trace_id")
    assert derived["url"] == "$${__value.raw}"  # `$$` is a literal `$`: Grafana's trace id of the record
    (provider,) = load_yaml(DASHBOARD_PROVIDERS)["providers"]
    grafana_mounts = dict(mounts(services["grafana"]))
    assert grafana_mounts["./dashboards/generated"] == provider["options"]["path"]
    home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(provider["options"]["path"] + "/")
    assert (REPO / "dashboards" / "generated" / Path(home).name).is_file()
    for target in (
        "/etc/grafana/provisioning/datasources",
        "/etc/grafana/provisioning/dashboards",
    ):
        assert target in grafana_mounts.values()
