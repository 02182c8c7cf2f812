"""Grafana transformations that turn Tempo's span table into per-session and per-task rows.

Tempo's span table (a TraceQL search with ``tableType: spans``) has one row per matched span:
``Span ID`` (a link into the trace view), ``Start time``, ``Duration`` (ns), the hidden trace
id and one column per selected attribute, named by the attribute without its scope
(``session.id``, ``service.name``, ``status``). A span without an attribute leaves its cell
empty (``undefined``), and Grafana's *distinct count* counts that empty value as one more value.
:func:`present_count` therefore subtracts one from the distinct count of a group that had an
empty cell: the count is exact. Every pipeline here is run with Grafana's own code by
``tests/dashboards/test_transformations.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from grafana_foundation_sdk.models.dashboard import DataTransformerConfig

__all__ = [
    "DURATION",
    "ERROR_FLAG",
    "SPAN_END",
    "SPAN_ID",
    "START_TIME",
    "TRACE_ID",
    "aggregated",
    "convert_to_time",
    "difference",
    "error_flag",
    "group_by",
    "missing_flag",
    "organize",
    "present_count",
    "sort_by",
    "span_end",
]

# Display names of the fixed columns of Tempo's span table (Grafana's Tempo data source).
SPAN_ID = "Span ID"
START_TIME = "Start time"
DURATION = "Duration"
TRACE_ID = "traceIdHidden"
_STATUS = "status"
_STATUS_ORDER = ["unset", "ok", "error"]
"""Tempo's span status values; as an enum their indices are 0, 1, 2, so index // 2 is 1 only for error."""

SPAN_END = "span end"
ERROR_FLAG = "is error"


def _field(name: str) -> dict[str, object]:
    return {"matcher": {"id": "byName", "options": name}}


def _calculate(alias: str, options: Mapping[str, object]) -> DataTransformerConfig:
    # timeSeries false: a table, not series to be joined on time first.
    return DataTransformerConfig(
        id_val="calculateField", options={"alias": alias, "timeSeries": False, "replaceFields": False, **options}
    )


def missing_flag(field: str) -> DataTransformerConfig:
    """Per row, whether ``field`` is empty (true/false); named ``<field> missing``."""
    return _calculate(f"{field} missing", {"mode": "reduceRow", "reduce": {"reducer": "allIsNull", "include": [field]}})


def error_flag() -> list[DataTransformerConfig]:
    """Per row, 1 when the span's ``status`` is ``error`` else 0; named ``is error``."""
    half = f"{ERROR_FLAG} / 2"
    return [
        DataTransformerConfig(
            id_val="convertFieldType",
            options={
                "fields": {},
                "conversions": [
                    {"targetField": _STATUS, "destinationType": "enum", "enumConfig": {"text": _STATUS_ORDER}}
                ],
            },
        ),
        _calculate(
            half, {"mode": "binary", "binary": {"left": _field(_STATUS), "operator": "/", "right": {"fixed": "2"}}}
        ),
        _calculate(ERROR_FLAG, {"mode": "unary", "unary": {"operator": "floor", "fieldName": half}}),
    ]


def span_end() -> list[DataTransformerConfig]:
    """Per row, the span's end time in ms (``Start time`` + ``Duration`` / 1e6); named ``span end``."""
    millis = f"{DURATION} ms"
    return [
        _calculate(
            millis,
            {"mode": "binary", "binary": {"left": _field(DURATION), "operator": "/", "right": {"fixed": "1000000"}}},
        ),
        _calculate(
            SPAN_END,
            {"mode": "binary", "binary": {"left": _field(START_TIME), "operator": "+", "right": _field(millis)}},
        ),
    ]


def group_by(key: str, aggregations: Mapping[str, Sequence[str]]) -> DataTransformerConfig:
    """One row per value of ``key``; each other field reduced with the given Grafana reducers."""
    fields: dict[str, object] = {key: {"operation": "groupby", "aggregations": []}}
    for name, reducers in aggregations.items():
        fields[name] = {"operation": "aggregate", "aggregations": list(reducers)}
    return DataTransformerConfig(id_val="groupBy", options={"fields": fields})


def aggregated(field: str, reducer: str) -> str:
    """The name Grafana's group-by gives a reduced field: ``field (reducer)``."""
    return f"{field} ({reducer})"


def difference(left: str, right: str, alias: str) -> DataTransformerConfig:
    """``alias`` = ``left`` - ``right``, row by row."""
    return _calculate(
        alias, {"mode": "binary", "binary": {"left": _field(left), "operator": "-", "right": _field(right)}}
    )


def present_count(field: str, alias: str) -> tuple[DataTransformerConfig, dict[str, list[str]], DataTransformerConfig]:
    """The distinct non-empty values of ``field`` per group, as ``alias``.

    Returns (before the group-by, the group-by aggregations, after the group-by).
    """
    missing = f"{field} missing"
    return (
        missing_flag(field),
        {field: ["distinctCount"], missing: ["max"]},
        difference(aggregated(field, "distinctCount"), aggregated(missing, "max"), alias),
    )


def convert_to_time(field: str) -> DataTransformerConfig:
    """Show a number of ms since the epoch as a time."""
    return DataTransformerConfig(
        id_val="convertFieldType",
        options={"fields": {}, "conversions": [{"targetField": field, "destinationType": "time"}]},
    )


def organize(rename: Mapping[str, str], *, exclude: Sequence[str] = ()) -> DataTransformerConfig:
    """Rename fields and keep them in the order of ``rename``; drop ``exclude``."""
    return DataTransformerConfig(
        id_val="organize",
        options={
            "excludeByName": dict.fromkeys(exclude, True),
            "indexByName": {name: index for index, name in enumerate(rename)},
            "renameByName": dict(rename),
        },
    )


def sort_by(field: str, *, desc: bool) -> DataTransformerConfig:
    return DataTransformerConfig(id_val="sortBy", options={"sort": [{"field": field, "desc": desc}]})
