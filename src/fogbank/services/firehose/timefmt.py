"""Java DateTimeFormatter patterns, the language of Firehose's `!{timestamp:...}` prefix expressions.

Only formatting is needed, never parsing. A pattern is compiled once (when a stream is created or updated,
so a bad pattern is refused then) into a list of literal strings and field printers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Printer = Callable[[datetime], str]


class PatternError(ValueError):
    """A pattern DateTimeFormatter would refuse, or one that uses a field fogbank does not print."""


def _number(value: Callable[[datetime], int], width: int) -> Printer:
    return lambda t: str(value(t)).zfill(width)


def _year(count: int) -> Printer:
    if count == 2:
        return lambda t: f"{t.year % 100:02d}"
    return lambda t: str(t.year).zfill(count)


def _text(names: tuple[str, ...], index: Callable[[datetime], int], count: int) -> Printer:
    if count == 4:
        return lambda t: names[index(t)]
    if count == 5:
        return lambda t: names[index(t)][0]
    return lambda t: names[index(t)][:3]


def _offset(t: datetime, colon: bool, zulu: bool) -> str:
    delta = t.utcoffset()
    seconds = int(delta.total_seconds()) if delta is not None else 0
    if seconds == 0 and zulu:
        return "Z"
    sign = "+" if seconds >= 0 else "-"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" if colon else f"{sign}{hours:02d}{minutes:02d}"


def _zone_name(t: datetime) -> str:
    zone = t.tzinfo
    key = getattr(zone, "key", None)
    return key if isinstance(key, str) else (t.tzname() or "UTC")


def _field(letter: str, count: int) -> Printer:
    """The printer of one run of a pattern letter, as DateTimeFormatter prints it."""
    if letter in "yu":
        return _year(count)
    if letter in "ML":
        if count <= 2:
            return _number(lambda t: t.month, count)
        return _text(_MONTHS, lambda t: t.month - 1, count)
    if letter == "d" and count <= 2:
        return _number(lambda t: t.day, count)
    if letter == "D" and count <= 3:
        return _number(lambda t: t.timetuple().tm_yday, count)
    if letter == "H" and count <= 2:
        return _number(lambda t: t.hour, count)
    if letter == "k" and count <= 2:
        return _number(lambda t: t.hour or 24, count)
    if letter == "K" and count <= 2:
        return _number(lambda t: t.hour % 12, count)
    if letter == "h" and count <= 2:
        return _number(lambda t: t.hour % 12 or 12, count)
    if letter == "m" and count <= 2:
        return _number(lambda t: t.minute, count)
    if letter == "s" and count <= 2:
        return _number(lambda t: t.second, count)
    if letter == "S" and count <= 9:
        return lambda t: f"{t.microsecond:06d}{'000'}"[:count]
    if letter == "a" and count == 1:
        return lambda t: "AM" if t.hour < 12 else "PM"
    if letter == "E" and count <= 5:
        return _text(_DAYS, lambda t: t.weekday(), count)
    if letter == "e" and count <= 2:
        return _number(lambda t: t.isoweekday() % 7 + 1, count)
    if letter == "Q" and count <= 2:
        return _number(lambda t: (t.month - 1) // 3 + 1, count)
    if letter == "w" and count <= 2:
        return _number(lambda t: t.isocalendar()[1], count)
    if letter == "G" and count <= 3:
        return lambda t: "AD"
    if letter == "Z" and count <= 3:
        return lambda t: _offset(t, False, False)
    if letter == "X" and count <= 3:
        return lambda t: _offset(t, count == 3, True)
    if letter == "x" and count <= 3:
        return lambda t: _offset(t, count == 3, False)
    if letter == "z" and count <= 4:
        return lambda t: t.tzname() or "UTC"
    if letter == "V" and count == 2:
        return _zone_name
    raise PatternError(f"Unsupported pattern field '{letter * count}'")


class JavaTimeFormat:
    """A compiled DateTimeFormatter pattern: `format(datetime)` prints it."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._parts: list[str | Printer] = _compile(pattern)

    def format(self, when: datetime) -> str:
        return "".join(part if isinstance(part, str) else part(when) for part in self._parts)


def _compile(pattern: str) -> list[str | Printer]:
    parts: list[str | Printer] = []
    literal: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = i + 1
            text: list[str] = []
            while True:
                if end >= len(pattern):
                    raise PatternError(f"Pattern ends with an incomplete string literal: {pattern}")
                if pattern[end] == "'":
                    if end + 1 < len(pattern) and pattern[end + 1] == "'":
                        text.append("'")
                        end += 2
                        continue
                    break
                text.append(pattern[end])
                end += 1
            literal.append("".join(text) if end > i + 1 else "'")
            i = end + 1
            continue
        if char.isascii() and char.isalpha():
            run = i
            while run < len(pattern) and pattern[run] == char:
                run += 1
            if literal:
                parts.append("".join(literal))
                literal.clear()
            parts.append(_field(char, run - i))
            i = run
            continue
        if char in "#{}":
            raise PatternError(f"Pattern includes reserved character: '{char}'")
        if char not in "[]":  # optional-section markers: a formatter prints their content
            literal.append(char)
        i += 1
    if literal:
        parts.append("".join(literal))
    return parts
