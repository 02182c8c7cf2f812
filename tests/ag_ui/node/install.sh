#!/usr/bin/env bash
# Install the official AG-UI client (@ag-ui/client, pinned by package-lock.json) for tests/ag_ui.
# Idempotent: `npm ci` runs only when node_modules was not installed from this exact lock file.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "tests/ag_ui needs Node.js and npm (apt-get install nodejs npm)" >&2
    exit 1
fi
stamp=node_modules/.otel-identity-lock.sha256
wanted=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$wanted" > "$stamp"
