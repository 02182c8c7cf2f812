"""Framework private names as versioned data: what we rely on, whose it is, and in which versions.

An instrumentor that needs a framework's private name (a private method to wrap, a context
variable to read) declares it once as a :class:`PrivateName`: the distribution that owns it,
the versions it was checked against, and the parameters it must have. The name is used only
when the *owning* distribution's installed version is in that range (never gated by another
package's version) and the name is found with that shape; otherwise the instrumentor takes
its public fallback. ``tests/instrumentation/test_private_names.py`` checks every registry
against the installed packages and names what moved.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
import logging
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

__all__ = ["PrivateName"]

logger = logging.getLogger("otel_identity")


@functools.cache
def _installed(distribution: str) -> Version | None:
    try:
        return Version(importlib.metadata.version(distribution))
    except (importlib.metadata.PackageNotFoundError, InvalidVersion):
        return None


@dataclass(frozen=True)
class PrivateName:
    """One private name of a framework, used only where it was verified."""

    distribution: str
    """The distribution that ships it (``agent-framework-a2a``, not the core it depends on)."""
    versions: str
    """Versions of that distribution it was checked against, as a specifier (``>=1.0.0b0,<2``)."""
    module: str
    qualname: str
    """``Class.attribute`` or a module-level name."""
    parameters: tuple[str, ...] | None = None
    """For callables: the leading parameter names it must accept (``self`` excluded)."""
    instance_attribute: bool = False
    """Set on instances, not the class (``self._stream_error``): checked in the class's source."""

    def __str__(self) -> str:
        return f"{self.module}.{self.qualname} ({self.distribution} {self.versions})"

    def problem(self) -> str | None:
        """Why the name cannot be used here, or ``None`` when it can."""
        installed = _installed(self.distribution)
        if installed is None:
            return f"{self.distribution} is not installed"
        if not SpecifierSet(self.versions, prereleases=True).contains(installed, prereleases=True):
            return f"{self.distribution} {installed} is outside the verified range {self.versions}"
        try:
            found: object = importlib.import_module(self.module)
        except ImportError as error:
            return f"module {self.module} cannot be imported: {error}"
        *owners, name = self.qualname.split(".")
        for part in owners:
            if not hasattr(found, part):
                return f"{self.module}.{'.'.join(owners)} not found in {self.distribution} {installed}"
            found = getattr(found, part)
        if self.instance_attribute:
            try:
                source = inspect.getsource(found)  # type: ignore[arg-type]
            except (OSError, TypeError):
                return f"the source of {self.module}.{'.'.join(owners)} is not available to check {name}"
            return None if f"self.{name}" in source else f"{self} is no longer set in its class"
        # A wrapped or read name must be the owner's own (a class attribute defined on that class).
        missing = name not in vars(found) if isinstance(found, type) else not hasattr(found, name)
        if missing:
            return f"{self.module}.{self.qualname} not found in {self.distribution} {installed}"
        found = getattr(found, name)
        if self.parameters is not None:
            if not callable(found):
                return f"{self} is not callable"
            names = [name for name in inspect.signature(found).parameters if name != "self"]
            if names[: len(self.parameters)] != list(self.parameters):
                return f"{self} has parameters {names}, expected {list(self.parameters)} first"
        return None

    def resolve(self) -> object | None:
        """The object (for an instance attribute: its class), or ``None`` (logged at debug) where it was not
        verified or is not there."""
        reason = self.problem()
        if reason is not None:
            logger.debug("otel-identity: not using private %s: %s", self, reason)
            return None
        found: object = importlib.import_module(self.module)
        parts = self.qualname.split(".")
        for part in parts[:-1] if self.instance_attribute else parts:
            found = getattr(found, part)
        return found

    @property
    def usable(self) -> bool:
        return self.problem() is None
