"""AWS cron expressions, as crawler schedules use them: cron(Minutes Hours Day-of-month Month Day-of-week Year).

Supports `*`, `?`, lists, ranges, steps, month and weekday names, `L` (last day / last weekday of month),
`W` (nearest weekday) and `#` (nth weekday). Day-of-week counts 1 = SUN .. 7 = SAT; times are UTC.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from fogbank.services.glue.errors import InvalidInputException

_MONTHS = {name: i for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
_DAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
_WRAPPER = re.compile(r"^\s*cron\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)
_MAX_YEAR = 2199


class CronError(ValueError):
    pass


def _number(text: str, names: dict[str, int] | None, low: int, high: int) -> int:
    upper = text.upper()
    if names and upper in names:
        return names[upper]
    if not text.isdigit():
        raise CronError(f"invalid value {text!r}")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"value {value} out of range {low}-{high}")
    return value


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """The numbers a plain field (no L/W/#) allows."""
    out: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"invalid step {step_text!r}")
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _number(a, names, low, high), _number(b, names, low, high)
        else:
            start = _number(part, names, low, high)
            end = high if step > 1 else start
        if start <= end:
            out.update(range(start, end + 1, step))
        else:  # a wrapping range such as FRI-MON
            out.update(v for i, v in enumerate(list(range(start, high + 1)) + list(range(low, end + 1)))
                       if i % step == 0)
    return frozenset(out)


def _aws_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1


def _nearest_weekday(year: int, month: int, day: int) -> int:
    last = calendar.monthrange(year, month)[1]
    day = min(day, last)
    weekday = date(year, month, day).weekday()
    if weekday == 5:  # Saturday -> Friday, unless that leaves the month
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday -> Monday, unless that leaves the month
        return day + 1 if day < last else day - 2
    return day


@dataclass(frozen=True)
class _DayRule:
    """Day-of-month or day-of-week, with its special forms."""

    kind: str  # "any", "dom", "dow"
    values: frozenset[int] = frozenset()
    last: bool = False  # L in day-of-month
    last_weekday: bool = False  # LW
    nearest: int | None = None  # 15W
    last_of: int | None = None  # 5L in day-of-week
    nth: tuple[int, int] | None = None  # 3#2

    def matches(self, day: date) -> bool:
        if self.kind == "any":
            return True
        last = calendar.monthrange(day.year, day.month)[1]
        if self.kind == "dom":
            if self.last:
                return day.day == last
            if self.last_weekday:
                return day.day == _nearest_weekday(day.year, day.month, last) and day.weekday() < 5
            if self.nearest is not None:
                return day.day == _nearest_weekday(day.year, day.month, self.nearest)
            return day.day in self.values
        weekday = _aws_weekday(day)
        if self.last_of is not None:
            return weekday == self.last_of and day.day + 7 > last
        if self.nth is not None:
            return weekday == self.nth[0] and (day.day - 1) // 7 + 1 == self.nth[1]
        return weekday in self.values


def _dom_rule(field: str) -> _DayRule:
    upper = field.upper()
    if upper == "?":
        return _DayRule("any")
    if upper == "L":
        return _DayRule("dom", last=True)
    if upper == "LW":
        return _DayRule("dom", last_weekday=True)
    if upper.endswith("W") and upper[:-1].isdigit():
        return _DayRule("dom", nearest=_number(upper[:-1], None, 1, 31))
    return _DayRule("dom", _values(upper, 1, 31))


def _dow_rule(field: str) -> _DayRule:
    upper = field.upper()
    if upper == "?":
        return _DayRule("any")
    if upper == "L":
        return _DayRule("dow", frozenset({7}))
    if upper.endswith("L") and len(upper) > 1:
        return _DayRule("dow", last_of=_number(upper[:-1], _DAYS, 1, 7))
    if "#" in upper:
        day, nth = upper.split("#", 1)
        return _DayRule("dow", nth=(_number(day, _DAYS, 1, 7), _number(nth, None, 1, 5)))
    return _DayRule("dow", _values(upper, 1, 7, _DAYS))


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_of_month: _DayRule
    day_of_week: _DayRule

    def _day_matches(self, day: date) -> bool:
        return (day.year in self.years and day.month in self.months and self.day_of_month.matches(day)
                and self.day_of_week.matches(day))

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after `moment` (UTC), or None when the schedule never fires again."""
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        first = True
        hours = sorted(self.hours)
        minutes = sorted(self.minutes)
        while day.year <= min(_MAX_YEAR, max(self.years)):
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                first = False
                continue
            if day.month not in self.months:
                day = (date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1))
                first = False
                continue
            if self._day_matches(day):
                for hour in hours:
                    if first and hour < start.hour:
                        continue
                    for minute in minutes:
                        if first and hour == start.hour and minute < start.minute:
                            continue
                        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
            day += timedelta(days=1)
            first = False
        return None


def parse_cron(expression: str) -> CronSchedule:
    """Parses `cron(...)`; a malformed schedule is an InvalidInputException as Glue words it."""
    try:
        return _parse(expression)
    except CronError as exc:
        raise InvalidInputException(f"Invalid schedule expression: {expression} ({exc})") from None


def _parse(expression: str) -> CronSchedule:
    match = _WRAPPER.match(expression)
    if match is None:
        raise CronError("the schedule must be of the form cron(...)")
    fields = match.group(1).split()
    if len(fields) != 6:
        raise CronError("a cron expression has 6 fields")
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise CronError("exactly one of day-of-month and day-of-week must be '?'")
    schedule = CronSchedule(
        expression=expression.strip(),
        minutes=_values(minute, 0, 59),
        hours=_values(hour, 0, 23),
        months=_values(month.upper(), 1, 12, _MONTHS),
        years=_values(year, 1970, _MAX_YEAR),
        day_of_month=_dom_rule(dom),
        day_of_week=_dow_rule(dow),
    )
    if not (schedule.minutes and schedule.hours and schedule.months and schedule.years):
        raise CronError("the expression allows no time")
    return schedule
