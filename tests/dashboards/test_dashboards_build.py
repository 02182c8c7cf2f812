"""The committed dashboards are what the code generates, and they hang together: uids, links, data sources."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from dashboard_tools import DATASOURCES, GENERATED, REPO, dashboards, load_yaml, panels, run, targets

import dashboards as dashboards_package
from dashboards import _names


def test_committed_json_is_what_the_code_generates() -> None:
    committed = {path.name: path.read_text(encoding="utf-8") for path in GENERATED.glob("*.json")}
    assert committed == dashboards_package.render(), "run `python -m dashboards` and commit dashboards/generated"


def test_check_mode_passes_on_the_committed_json() -> None:
    done = run([sys.executable, "-m", "dashboards", "--check"])
    assert done.returncode == 0, done.stderr
    assert "3 dashboards" in done.stdout


def test_check_mode_fails_when_the_json_differs(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    shutil.copytree(GENERATED, out)
    edited = out / "agent-sessions.json"
    edited.write_text(edited.read_text(encoding="utf-8").replace('"Sessions"', '"Sessionz"'), encoding="utf-8")
    (out / "stale.json").write_text("{}\n", encoding="utf-8")
    done = run([sys.executable, "-m", "dashboards", "--check", "--out", str(out)])
    assert done.returncode == 1
    assert "agent-sessions.json: differs" in done.stderr
    assert "stale.json: no dashboard generates it" in done.stderr

    rewritten = run([sys.executable, "-m", "dashboards", "--out", str(out)])
    assert rewritten.returncode == 0, rewritten.stderr
    assert run([sys.executable, "-m", "dashboards", "--check", "--out", str(out)]).returncode == 0
    assert not (out / "stale.json").exists()


def test_uids_are_unique_and_every_link_reaches_a_dashboard() -> None:
    models = dashboards()
    assert set(models) == set(dashboards_package.DASHBOARDS)
    uids = [model["uid"] for model in models.values()]
    assert len(set(uids)) == len(uids) == 3
    linked = []
    for model in models.values():
        linked += [link["url"] for link in model.get("links", [])]
        for panel in panels(model):
            for override in panel.get("fieldConfig", {}).get("overrides", []):
                for prop in override["properties"]:
                    if prop["id"] == "links":
                        linked += [link["url"] for link in prop["value"]]
    targets_ = [re.match(r"/d/([^/?]+)", url) for url in linked]
    assert linked and all(targets_), linked
    assert {match.group(1) for match in targets_ if match} <= set(uids)


def test_the_session_link_fills_the_detail_dashboards_variable() -> None:
    models = dashboards()
    detail = models["agent-session-detail.json"]
    variables = {variable["name"]: variable for variable in detail["templating"]["list"]}
    assert variables["session"]["type"] == "textbox"
    session_urls = [
        link["url"]
        for model in models.values()
        for panel in panels(model)
        for override in panel.get("fieldConfig", {}).get("overrides", [])
        for prop in override["properties"]
        if prop["id"] == "links"
        for link in prop["value"]
    ]
    assert session_urls and all(f"/d/{detail['uid']}?var-session=${{__value.url}}" in url for url in session_urls)
    detail_targets = [target for panel in panels(detail) for target in panel.get("targets", [])]
    traceql = [target["query"] for target in detail_targets if target["datasource"]["type"] == "tempo"]
    logql = [target["expr"] for target in detail_targets if target["datasource"]["type"] == "loki"]
    assert traceql and all('span.session.id = "$session"' in query for query in traceql)
    assert logql and all("| session_id = `$session`" in query for query in logql)
    assert len(traceql) + len(logql) == len(detail_targets)


def test_every_panel_and_query_uses_a_provisioned_data_source_by_its_otel_lgtm_uid() -> None:
    provisioned = {source["uid"]: source["type"] for source in load_yaml(DATASOURCES)["datasources"]}
    expected = {_names.TEMPO.uid: "tempo", _names.PROMETHEUS.uid: "prometheus", _names.LOKI.uid: "loki"}
    assert expected == {"tempo": "tempo", "prometheus": "prometheus", "loki": "loki"}  # as grafana/otel-lgtm
    for uid, kind in expected.items():
        assert provisioned[uid] == kind
    for name, model in dashboards().items():
        for panel in panels(model):
            refs = [panel.get("datasource")] + [target.get("datasource") for target in panel.get("targets", [])]
            for ref in refs:
                assert ref is not None, f"{name}: {panel['title']} has no data source"
                assert expected.get(ref["uid"]) == ref["type"], f"{name}: {panel['title']}: {ref}"
            kinds = {target["datasource"]["type"] for target in panel.get("targets", [])}
            assert kinds <= {panel["datasource"]["type"]}, f"{name}: {panel['title']} mixes data sources"


def test_a_tempo_panel_has_one_traceql_query() -> None:
    """Grafana's Tempo data source runs only the first TraceQL query of a panel."""
    per_panel: dict[tuple[str, str], int] = {}
    for name, panel, target in targets("tempo"):
        if target.get("queryType") == "traceql":
            key = (name, panel["title"])
            per_panel[key] = per_panel.get(key, 0) + 1
    assert per_panel and max(per_panel.values()) == 1, per_panel


def test_panels_fit_the_grid_without_overlapping() -> None:
    for name, model in dashboards().items():
        boxes = []
        for panel in panels(model):
            grid = panel["gridPos"]
            assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= 24, (name, panel["title"])
            boxes.append((panel["title"], grid))
        for index, (title, a) in enumerate(boxes):
            for other, b in boxes[index + 1 :]:
                apart = (
                    a["x"] + a["w"] <= b["x"]
                    or b["x"] + b["w"] <= a["x"]
                    or a["y"] + a["h"] <= b["y"]
                    or b["y"] + b["h"] <= a["y"]
                )
                assert apart, f"{name}: {title} overlaps {other}"


def test_generated_json_lives_where_grafana_is_provisioned_from() -> None:
    assert dashboards_package.GENERATED == GENERATED
    assert GENERATED.relative_to(REPO) == Path("dashboards/generated")
