"""Stand-ins for names a test snapshot imports but the installed framework no longer has (both runs).

``scripts/framework_suites.py`` rewrites ``from M import X`` in its copy of a suite to
``X = placeholder("M", "X")`` when the installed ``M`` has no ``X`` (the fetched snapshots are not the
installed versions), so the rest of the module still runs. The stand-in is a fresh exception class: it can be
subclassed, raised, caught and called; a test that really needs ``X`` fails the same way in both runs.
"""

from __future__ import annotations


def placeholder(module: str, name: str) -> type[Exception]:
    doc = f"{module}.{name}: not in the installed package (framework_suites stand-in)"
    return type(name, (Exception,), {"__doc__": doc, "__module__": module})
