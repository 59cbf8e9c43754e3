"""Sizes in bytes as the settings give them and as messages show them: MB of 1024 × 1024 bytes."""

from __future__ import annotations

import math

MB = 1024 * 1024


def megabytes(size: int) -> str:
    """"10" for 10 MB, "10.1" for a byte more: rounded up to a tenth, so a size over a limit never reads as the limit."""
    tenths = math.ceil(size * 10 / MB)
    return f"{tenths // 10}" if tenths % 10 == 0 else f"{tenths / 10:.1f}"
