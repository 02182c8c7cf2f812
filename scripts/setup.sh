#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine: a virtual environment with the
# project and all its extras, plus the dashboard tools (promtool, the TraceQL grammar).
# Idempotent: re-running only checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[dev,phoenix,dashboards]"
if [ -f scripts/install-dashboard-tools.sh ]; then
    bash scripts/install-dashboard-tools.sh
fi
# The official AG-UI client (npm @ag-ui/client) that tests/ag_ui drives under Node.js.
bash tests/ag_ui/node/install.sh
