"""Helpers of the dashboard tests: the real tools (promtool, Node with Grafana's own packages) and the
files under test (dashboards/generated, docker-compose.yml, deploy/).

A missing tool fails the test (never skips it) with a message naming the script that installs it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import pytest
import yaml  # type: ignore[import-untyped]

REPO: Final = Path(__file__).resolve().parents[2]
GENERATED: Final = REPO / "dashboards" / "generated"
TOOLS: Final = REPO / "dashboards" / "tools"
DEPLOY: Final = REPO / "deploy"
COMPOSE: Final = REPO / "docker-compose.yml"
COLLECTOR_CONFIG: Final = DEPLOY / "otel-collector" / "config.yaml"
TEMPO_CONFIG: Final = DEPLOY / "tempo" / "tempo.yaml"
PROMETHEUS_CONFIG: Final = DEPLOY / "prometheus" / "prometheus.yml"
LOKI_CONFIG: Final = DEPLOY / "loki" / "loki.yaml"
DATASOURCES: Final = DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
DASHBOARD_PROVIDERS: Final = DEPLOY / "grafana" / "provisioning" / "dashboards" / "otel-identity.yaml"
INSTALL: Final = "scripts/install-dashboard-tools.sh"

GRAFANA_VARIABLES: Final = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range": "1h",
    "$__tags": 'service_name="concierge"',
}
"""Grafana's variables in PromQL, replaced by values of the same kind before promtool parses it."""


def missing(what: str) -> None:
    pytest.fail(f"{what} is missing: run `bash {INSTALL}` (as root; CI runs it before the tests)", pytrace=False)


def executable(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"`{name}`")
    assert path is not None
    return path


def run_node(script: str, payload: Any) -> Any:
    """Run ``dashboards/tools/<script>`` with the machine's Node.js: JSON in, JSON out."""
    node = executable("node")
    for package in ("@grafana/lezer-traceql", "@grafana/lezer-logql", "@grafana/data"):
        if not (TOOLS / "node_modules" / package / "package.json").is_file():
            missing(f"npm package {package} in {TOOLS.relative_to(REPO)}/node_modules")
    done = subprocess.run(
        [node, str(TOOLS / script)], input=json.dumps(payload), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stderr}"
    return json.loads(done.stdout)


def run(command: list[str], *, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=120, check=False)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def dashboards() -> dict[str, dict[str, Any]]:
    """File name -> dashboard model, as committed."""
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(GENERATED.glob("*.json"))}


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' panels included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def targets(kind: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(dashboard file, panel, target) for every target whose data source type is ``kind``."""
    found = []
    for name, dashboard in dashboards().items():
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                if target.get("datasource", {}).get("type") == kind:
                    found.append((name, panel, target))
    return found


def traceql_queries() -> list[str]:
    return [target["query"] for _, _, target in targets("tempo") if target.get("query")]


def logql_queries() -> list[str]:
    return [target["expr"] for _, _, target in targets("loki") if target.get("expr")]


def dashboard_promql() -> list[str]:
    return [target["expr"] for _, _, target in targets("prometheus")]


def provisioned_promql() -> list[str]:
    """PromQL of the data sources' trace-to-metrics links (``$$`` is a literal ``$`` in provisioning)."""
    queries = []
    for source in load_yaml(DATASOURCES)["datasources"]:
        for query in source.get("jsonData", {}).get("tracesToMetrics", {}).get("queries", []):
            queries.append(query["query"].replace("$$", "$"))
    return queries


def substitute(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def promtool_check_rules(exprs: Iterable[str], directory: Path) -> subprocess.CompletedProcess[str]:
    """``promtool check rules`` on a rules file with one recording rule per expression."""
    rules = [{"record": f"otel_identity:query_{index}", "expr": substitute(expr)} for index, expr in enumerate(exprs)]
    path = directory / "queries.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}, sort_keys=False))
    return run([executable("promtool"), "check", "rules", str(path)])


_BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
_MATCHERS = re.compile(r"\{([^}]*)\}")
_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")


def promql_labels(expr: str) -> set[str]:
    """Label names an expression groups by or matches on."""
    labels: set[str] = set()
    for group in _BY.findall(expr):
        labels.update(name.strip() for name in group.split(",") if name.strip())
    for matchers in _MATCHERS.findall(expr):
        labels.update(_MATCHER.findall(matchers))
    return labels


def component_type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


CONNECTOR_SIGNALS: Final = {"spanmetrics": ("traces", "metrics"), "servicegraph": ("traces", "metrics")}
"""Connector type -> (signal of the pipeline it exports from, signal of the pipeline it receives in)."""


def collector_problems(config: Mapping[str, Any]) -> list[str]:
    """What is wrong with a Collector config's wiring, as far as can be checked without the Collector."""
    problems = []
    sections = ("receivers", "processors", "exporters", "connectors", "extensions")
    defined = {section: set((config.get(section) or {}).keys()) for section in sections}
    service = config.get("service") or {}
    pipelines = service.get("pipelines") or {}
    if not pipelines:
        problems.append("service.pipelines is empty")
    used: dict[str, set[str]] = {section: set() for section in sections}
    connector_ends: dict[str, dict[str, set[str]]] = {}
    for pipeline_id, pipeline in pipelines.items():
        signal = component_type(pipeline_id)
        if signal not in ("traces", "metrics", "logs", "profiles"):
            problems.append(f"pipeline {pipeline_id}: unknown signal {signal}")
        for role, section in (("receivers", "receivers"), ("processors", "processors"), ("exporters", "exporters")):
            for component in (pipeline or {}).get(role) or []:
                if component in defined["connectors"] and role in ("receivers", "exporters"):
                    used["connectors"].add(component)
                    connector_ends.setdefault(component, {}).setdefault(role, set()).add(signal)
                elif component in defined[section]:
                    used[section].add(component)
                else:
                    problems.append(f"pipeline {pipeline_id}: {role[:-1]} {component} is not defined")
        if not (pipeline or {}).get("receivers") or not (pipeline or {}).get("exporters"):
            problems.append(f"pipeline {pipeline_id}: needs receivers and exporters")
    for extension in service.get("extensions") or []:
        if extension not in defined["extensions"]:
            problems.append(f"service.extensions: {extension} is not defined")
        used["extensions"].add(extension)
    for section in sections:
        for component in sorted(defined[section] - used[section]):
            problems.append(f"{section}.{component} is defined but not used")
    for connector, ends in connector_ends.items():
        expected = CONNECTOR_SIGNALS.get(component_type(connector))
        if "exporters" not in ends or "receivers" not in ends:
            problems.append(f"connector {connector} must be an exporter of one pipeline and a receiver of another")
        elif expected and (expected[0] not in ends["exporters"] or expected[1] not in ends["receivers"]):
            problems.append(f"connector {connector} connects {expected[0]} to {expected[1]}, not {dict(ends)}")
    return problems


def metric_dimensions(config: Mapping[str, Any]) -> list[str]:
    """Every span attribute a Collector config turns into a metric label (spanmetrics, servicegraph)."""
    names = []
    for connector_id, connector in (config.get("connectors") or {}).items():
        kind = component_type(connector_id)
        connector = connector or {}
        if kind == "spanmetrics":
            names += [dimension["name"] for dimension in connector.get("dimensions") or []]
            names += [d["name"] for d in (connector.get("events") or {}).get("dimensions") or []]
            names += list(connector.get("resource_metrics_key_attributes") or [])
        elif kind == "servicegraph":
            names += list(connector.get("dimensions") or [])
    return names


def tempo_dimensions(config: Mapping[str, Any]) -> list[str]:
    """Span attributes Tempo's metrics-generator turns into metric labels."""
    processor = ((config.get("metrics_generator") or {}).get("processor")) or {}
    names = []
    for name in ("service_graphs", "span_metrics"):
        names += list((processor.get(name) or {}).get("dimensions") or [])
    return names
