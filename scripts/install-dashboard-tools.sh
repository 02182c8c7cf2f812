#!/usr/bin/env bash
# Install what tests/dashboards needs on a fresh Debian machine (run as root; CI runs it first):
#   * promtool, from Debian's `prometheus` package: checks the Prometheus config and every PromQL query;
#   * Node.js and npm, from Debian, when the machine has no `node`;
#   * Grafana's own TraceQL grammar (@grafana/lezer-traceql) and transformation code (@grafana/data),
#     from npm into dashboards/tools/node_modules, exactly as dashboards/tools/package-lock.json pins them;
#   * the Python side (grafana-foundation-sdk, check-jsonschema, PyYAML) is the project's `dashboards`
#     extra, which scripts/setup.sh installs; pass a Python to check it: PYTHON=.venv/bin/python.
# Idempotent: what is already there is only checked.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_updated=0
apt_install() {
    if [ "$apt_updated" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v promtool >/dev/null 2>&1; then
    echo "install-dashboard-tools: installing promtool (Debian package prometheus)"
    apt_install prometheus
fi
promtool --version 2>&1 | head -n 1

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install-dashboard-tools: installing Node.js and npm (Debian)"
    apt_install nodejs npm
fi
echo "node $(node --version)"

tools=dashboards/tools
if ! (cd "$tools" && npm ls --omit=dev --depth=0 >/dev/null 2>&1); then
    echo "install-dashboard-tools: npm ci in $tools"
    (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)
fi
node -e "require('./$tools/node_modules/@grafana/lezer-traceql'); console.log('@grafana/lezer-traceql ok')"
test -f "$tools/node_modules/@grafana/data/dist/cjs/transformations/transformDataFrame.cjs"
echo "@grafana/data $(node -p "require('./$tools/node_modules/@grafana/data/package.json').version")"

if [ -n "${PYTHON:-}" ]; then
    "$PYTHON" -c "import check_jsonschema, grafana_foundation_sdk, yaml" \
        || { echo "install-dashboard-tools: $PYTHON lacks the dashboards extra: pip install -e '.[dashboards]'" >&2; exit 1; }
fi
