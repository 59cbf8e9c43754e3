"""What values a setting accepts: one kind checks a value from JSON, from a
command-line flag or from Python alike, so every entry point refuses the same
values with the same message.

A kind's `accept(value)` returns the value normalised (an int given for a
float setting becomes a float) or raises ValueError with a message that starts
with "must be" and ends with the rejected value; callers put the setting's
name (or flag) in front of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Number:
    """An int (`integer=True`) or a float between `low` and `high` (inclusive,
    unless `above_low`); bool is refused although Python counts it as an int."""

    integer: bool = False
    low: float = 0
    high: float | None = None
    above_low: bool = False  # low itself is refused (a window of 0 s means nothing)

    @property
    def description(self) -> str:
        noun = "an integer" if self.integer else "a number"
        low = f"> {self.low:g}" if self.above_low else f">= {self.low:g}"
        if self.high is None:
            return f"{noun} {low}"
        if self.above_low:
            return f"{noun} {low} and <= {self.high:g}"
        return f"{noun} between {self.low:g} and {self.high:g}"

    def accept(self, value: Any) -> int | float:
        allowed = (int,) if self.integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, allowed):
            raise ValueError(f"must be {self.description}, not {value!r}")
        too_low = value <= self.low if self.above_low else value < self.low
        if not math.isfinite(value) or too_low or (self.high is not None and value > self.high):
            raise ValueError(f"must be {self.description}, not {value!r}")
        return value if self.integer else float(value)

    def parse(self, text: str) -> int | float:
        """The value of a command-line argument."""
        try:
            return self.accept(int(text) if self.integer else float(text))
        except ValueError:
            # The text as typed, not as parsed ("1e0", not 1.0).
            raise ValueError(f"must be {self.description}, not {text!r}") from None


@dataclass(frozen=True)
class Switch:
    """On or off: JSON true/false; a flag that takes no value on the command line."""

    description = "true or false"

    def accept(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"must be {self.description}, not {value!r}")
        return value

    def parse(self, text: str) -> bool:  # pragma: no cover - switches are store_true flags
        raise ValueError("takes no value")


@dataclass(frozen=True)
class Text:
    """A string; `optional` also takes null (and turns "" into null),
    otherwise the empty string is refused."""

    optional: bool = False

    @property
    def description(self) -> str:
        return "a string or null" if self.optional else "a non-empty string"

    def accept(self, value: Any) -> str | None:
        if self.optional and value is None:
            return None
        if not isinstance(value, str) or (not value and not self.optional):
            raise ValueError(f"must be {self.description}, not {value!r}")
        return value or None

    def parse(self, text: str) -> str | None:
        return self.accept(text)


@dataclass(frozen=True)
class Choice:
    """One of a few names (the same text in JSON and on the command line)."""

    values: tuple[str, ...]

    @property
    def description(self) -> str:
        return "one of " + ", ".join(self.values)

    def accept(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.values:
            raise ValueError(f"must be {self.description}, not {value!r}")
        return value

    def parse(self, text: str) -> str:
        return self.accept(text)


Kind = Number | Switch | Text | Choice
