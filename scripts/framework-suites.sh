#!/usr/bin/env bash
# The frameworks' own test suites with otel-identity off and on; prints the outcomes that differ.
# A report, not CI (always exits 0). Layout, dependencies and options: scripts/framework_suites.py.
#   scripts/framework-suites.sh                       # every suite under $FRAMEWORK_SUITES_DIR (/tmp/suites)
#   scripts/framework-suites.sh /tmp/suites/a2a-sdk --subset a2a-sdk=tests/client,tests/server
cd "$(dirname "$0")/.." || exit 0
"${VENV:-.venv}/bin/python" scripts/framework_suites.py "$@"
exit 0
