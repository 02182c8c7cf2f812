"""Checks for identity values given to the public API.

Bad input at the public API is a programming error of the caller and gets a ``ValueError``
that names the argument. Inside instrumentation the same checks run through
:func:`clean_id`, which logs at debug level and returns ``None`` instead: telemetry must
never raise into the app it observes.
"""

from __future__ import annotations

import logging
from typing import Final

__all__ = ["MAX_ID_LENGTH", "clean_id", "validate_id"]

logger = logging.getLogger("otel_identity")

MAX_ID_LENGTH: Final = 256
"""Longest identity value accepted, in characters. Longer values are not ids but payloads."""


def validate_id(name: str, value: object) -> str:
    """Return ``value`` if it is a usable identity, else raise ``ValueError`` naming ``name``."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty or blank")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"{name} is {len(value)} characters long; the limit is {MAX_ID_LENGTH}")
    if not value.isprintable():
        raise ValueError(f"{name} must not contain control characters")
    return value


def clean_id(name: str, value: object) -> str | None:
    """Like :func:`validate_id` for values read from frameworks: ``None`` and a debug log on bad input."""
    if value is None:
        return None
    try:
        return validate_id(name, value)
    except ValueError as error:
        logger.debug("otel-identity ignored %s: %s", name, error)
        return None
