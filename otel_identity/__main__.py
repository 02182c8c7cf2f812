"""``python -m otel_identity``: says where the command is (the core package is a library and runs nothing).

The ``otel-identity`` command (``demo``, ``sessions``) lives in the separate package
``otel_identity_demo`` (the ``demo`` extra), so the library never imports the demo's
frameworks; ``python -m otel_identity_demo`` runs it.
"""

from __future__ import annotations

import sys

from otel_identity.version import __version__

MESSAGE = (
    f"otel-identity {__version__} is a library: call otel_identity.configure() in your app. "
    "The command is `otel-identity` (demo, sessions), or `python -m otel_identity_demo`, "
    "installed with the 'demo' extra: pip install -e '.[demo]'\n"
)

if __name__ == "__main__":
    sys.stderr.write(MESSAGE)
    sys.exit(2)
