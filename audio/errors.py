"""Errors users can cause with audio they supply: a ValueError, so the CLI prints one line."""

from __future__ import annotations


class AudioError(ValueError):
    """Audio that cannot be used: missing, corrupt, too long, non-finite, impossible rate, ..."""
