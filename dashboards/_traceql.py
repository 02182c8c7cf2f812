"""Small TraceQL builders, so that queries are composed from attribute constants, not spelled.

Grafana runs only the first TraceQL query of a Tempo panel (``targets.traceql[0]`` in its Tempo
data source), so each panel here has exactly one; per-session numbers come from one span
search and Grafana transformations (see :mod:`dashboards._transforms`).
"""

from __future__ import annotations

import json

__all__ = ["any_of", "equals", "exists", "intrinsic", "quote", "resource", "select", "span", "spanset"]


def span(attribute: str) -> str:
    """A span-scoped attribute: ``span.session.id``."""
    return f"span.{attribute}"


def resource(attribute: str) -> str:
    """A resource-scoped attribute: ``resource.service.name``."""
    return f"resource.{attribute}"


def intrinsic(name: str) -> str:
    """An intrinsic field (``status``, ``kind``, ``name``, ``duration``) as TraceQL writes it."""
    return name


def quote(value: str) -> str:
    """A TraceQL string literal; a Grafana variable such as ``$session`` inside it is interpolated."""
    return json.dumps(value)


def equals(field: str, value: str) -> str:
    return f"{field} = {quote(value)}"


def exists(field: str) -> str:
    return f"{field} != nil"


def any_of(*conditions: str) -> str:
    return "(" + " || ".join(conditions) + ")"


def spanset(*conditions: str) -> str:
    """``{ a && b }``: the spans matching every condition."""
    return "{ " + " && ".join(conditions) + " }"


def select(query: str, *fields: str) -> str:
    """Return these fields with every matched span (they become table columns in Grafana)."""
    return f"{query} | select({', '.join(fields)})"
