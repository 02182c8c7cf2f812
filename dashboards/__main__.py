"""``python -m dashboards [--check] [--out DIR]``: see :func:`dashboards.build.main`."""

from __future__ import annotations

from dashboards.build import main

raise SystemExit(main())
