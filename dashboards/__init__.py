"""Grafana dashboards for otel-identity, written as code with grafana-foundation-sdk.

* ``agent-sessions.json`` (:mod:`dashboards.sessions`): every session, runs and errors over
  time, latency by agent;
* ``agent-session-detail.json`` (:mod:`dashboards.session_detail`): one session (variable
  ``session``) across services: runs in time order, A2A tasks and their states, responses,
  errors, traces;
* ``a2a-across-services.json`` (:mod:`dashboards.a2a`): service graph, A2A calls and task
  states by client and server, failing and cancelled tasks.

Data sources are referred to by the uids ``tempo`` and ``prometheus`` (those of
``deploy/grafana`` and of ``grafana/otel-lgtm``). Span attribute names come from
:mod:`otel_identity.attributes`.

Usage::

    python -m dashboards            # write dashboards/generated/*.json
    python -m dashboards --check    # fail if the committed JSON differs from the code
"""

from __future__ import annotations

from dashboards.build import DASHBOARDS, GENERATED, check, main, render, write

__all__ = ["DASHBOARDS", "GENERATED", "check", "main", "render", "write"]
