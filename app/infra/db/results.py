"""What a statement's result says beyond its rows."""

from __future__ import annotations


def rowcount(result: object) -> int:
    """Rows an UPDATE or DELETE matched (0 when the driver does not say)."""
    return int(getattr(result, "rowcount", 0) or 0)
