"""The a2a-sdk versions this instrumentor supports; checked before it patches anything."""

from __future__ import annotations

_instruments = ("a2a-sdk >= 1.3, < 2",)
