"""``python -m otel_identity_demo``: the ``otel-identity`` command, for when the script is not on PATH."""

from __future__ import annotations

import sys

from otel_identity_demo.cli import main

if __name__ == "__main__":
    sys.exit(main())
