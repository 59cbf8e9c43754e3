"""Bar charts as server-side SVG: the geometry only (pure), drawn by templates/devices/overview/partials/usage_chart.html.

The drawing is 100 units tall and one unit wide per bar, stretched to the
page's width (preserveAspectRatio="none"): the labels are HTML around it, so
they keep their size on a phone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HEIGHT = 100
BAR_WIDTH = 0.8
# The scale's top is at least this much above the limit line, so the line never touches the top.
HEADROOM = 1.2


@dataclass(frozen=True)
class Bar:
    x: float
    y: float  # the top of the whole bar
    height: float
    failed_height: float  # the part drawn on top in the failure colour
    value: int
    failed: int


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int  # viewBox units
    height: int
    top: int  # the value at the top edge
    limit: float
    limit_y: float
    peak: int


def nice_top(value: float) -> int:
    """A round value at or above `value` for the scale's top: 1, 2 or 5 times a power of ten."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return int(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def bar_chart(values: list[tuple[int, int]], limit: float) -> BarChart:
    """Bars for (value, failed) pairs against a limit line."""
    peak = max((value for value, _ in values), default=0)
    top = nice_top(max(peak, limit * HEADROOM))

    def scaled(n: float) -> float:
        return round(HEIGHT * n / top, 2)

    bars = [
        Bar(x=round(i + (1 - BAR_WIDTH) / 2, 2), y=round(HEIGHT - scaled(value), 2), height=scaled(value),
            failed_height=scaled(failed), value=value, failed=failed)
        for i, (value, failed) in enumerate(values)
    ]
    return BarChart(bars, len(values), HEIGHT, top, limit, round(HEIGHT - scaled(limit), 2), peak)
