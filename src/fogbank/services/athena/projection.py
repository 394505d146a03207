"""Athena partition projection: a table whose Parameters say `projection.enabled`='true' has its partitions
computed from its properties (enum, integer, date and injected columns, `storage.location.template`) rather
than read from the catalog, whose registered partitions are then ignored, as in Athena.

A projected range can be huge (ten years of hours is 87,600 partitions per other key), so candidates are
never listed in full and then filtered. Each column's values are addressed by index; the WHERE conjuncts
that compare a column with constants first narrow each column to the indexes they allow (equality and IN
by computing the index of the constant, ranges by binary search where the column's order follows the
index), and only the product of what is left is generated and then checked exactly against the conjuncts.
Values that do not parse or fall outside the range are simply not partitions.
"""

from __future__ import annotations

import calendar
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb
from sqlglot import exp

from fogbank.engines import sql as sqlengine
from fogbank.engines.sql import SqlError, duckdb_type, quote_ident
from fogbank.services.athena.errors import QueryFailed
from fogbank.services.athena.tables import TableInfo

MAX_PARTITIONS = 1_000_000
_NUMERIC_TYPES = ("tinyint", "smallint", "int", "integer", "bigint", "decimal", "double", "float")
_UNITS = ("YEARS", "MONTHS", "WEEKS", "DAYS", "HOURS", "MINUTES", "SECONDS", "MILLISECONDS")
_FIXED_STEPS = {"WEEKS": timedelta(weeks=1), "DAYS": timedelta(days=1), "HOURS": timedelta(hours=1),
                "MINUTES": timedelta(minutes=1), "SECONDS": timedelta(seconds=1),
                "MILLISECONDS": timedelta(milliseconds=1)}
_NOW = re.compile(r"\s*NOW\s*(?:([+-])\s*([0-9]+)\s*(YEARS?|MONTHS?|WEEKS?|DAYS?|HOURS?|MINUTES?|SECONDS?)\s*)?",
                  re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
# Characters Hive escapes in a `key=value` folder name.
_HIVE_ESCAPED = set('"#%\'*/:=?\\\x7f{[]^')


def is_projected(info: TableInfo) -> bool:
    return bool(info.partition_keys) and info.parameters.get("projection.enabled", "").strip().lower() == "true"


def _invalid(column: str, message: str) -> QueryFailed:
    return QueryFailed(f"INVALID_TABLE_PROPERTY: For the projected partition column {column}, {message}")


def _is_numeric(hive: str) -> bool:
    return hive.strip().lower().split("(")[0] in _NUMERIC_TYPES


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


# -- Java DateTimeFormatter patterns ---------------------------------------------------------------------------

_FIELDS = {"y": "year", "u": "year", "M": "month", "L": "month", "d": "day", "H": "hour", "m": "minute",
           "s": "second", "S": "fraction"}
_RANK = {"year": 0, "month": 1, "day": 2, "hour": 3, "minute": 4, "second": 5, "fraction": 6}
_FINEST_UNIT = {"year": "YEARS", "month": "MONTHS", "day": "DAYS", "hour": "HOURS", "minute": "MINUTES",
                "second": "SECONDS", "fraction": "MILLISECONDS"}
_MONTHS = [calendar.month_name[i] for i in range(1, 13)]


@dataclass(frozen=True)
class _Token:
    field: str | None  # None for literal text
    width: int
    text: str = ""


class DateFormat:
    """The subset of Java's DateTimeFormatter patterns partition paths use: years, months (numbers and
    names), days, hours, minutes, seconds, fractions, and quoted or plain literal text."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.tokens = self._tokenize(pattern)
        self.fields = [t.field for t in self.tokens if t.field is not None]
        if "year" not in self.fields:
            raise ValueError("a date format needs a year")
        self.regex = re.compile("".join(self._regex(t) for t in self.tokens))

    @staticmethod
    def _tokenize(pattern: str) -> list[_Token]:
        tokens: list[_Token] = []
        i = 0
        while i < len(pattern):
            char = pattern[i]
            if char == "'":
                end = i + 1
                text = ""
                while end < len(pattern):
                    if pattern[end] == "'":
                        if end + 1 < len(pattern) and pattern[end + 1] == "'":
                            text += "'"
                            end += 2
                            continue
                        break
                    text += pattern[end]
                    end += 1
                else:
                    raise ValueError("unterminated quote")
                tokens.append(_Token(None, 0, text or "'"))
                i = end + 1
            elif char.isalpha():
                end = i
                while end < len(pattern) and pattern[end] == char:
                    end += 1
                if char not in _FIELDS:
                    raise ValueError(f"unsupported pattern letter {char}")
                tokens.append(_Token(_FIELDS[char], end - i))
                i = end
            else:
                tokens.append(_Token(None, 0, char))
                i += 1
        return tokens

    @staticmethod
    def _regex(token: _Token) -> str:
        if token.field is None:
            return re.escape(token.text)
        if token.field == "month" and token.width >= 3:
            return "(" + "|".join(m if token.width > 3 else m[:3] for m in _MONTHS) + ")"
        if token.field == "fraction":
            return rf"(\d{{{token.width}}})"
        if token.field == "year" and token.width != 2:
            return rf"(\d{{{token.width},9}})" if token.width > 1 else r"(\d{1,9})"
        return rf"(\d{{{token.width}}})" if token.width >= 2 else r"(\d{1,2})"

    def format(self, value: datetime) -> str:
        out = []
        for token in self.tokens:
            if token.field is None:
                out.append(token.text)
            elif token.field == "year":
                year = value.year % 100 if token.width == 2 else value.year
                out.append(str(year).zfill(token.width))
            elif token.field == "month" and token.width >= 3:
                name = _MONTHS[value.month - 1]
                out.append(name if token.width > 3 else name[:3])
            elif token.field == "fraction":
                out.append(f"{value.microsecond:06d}"[:token.width].ljust(token.width, "0"))
            else:
                number = {"month": value.month, "day": value.day, "hour": value.hour, "minute": value.minute,
                          "second": value.second}[token.field]
                out.append(str(number).zfill(token.width))
        return "".join(out)

    def parse(self, text: str) -> datetime | None:
        match = self.regex.fullmatch(text)
        if match is None:
            return None
        parts = {"year": 0, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0, "microsecond": 0}
        groups = iter(match.groups())
        for token in self.tokens:
            if token.field is None:
                continue
            raw = next(groups)
            if token.field == "month" and token.width >= 3:
                names = [m if token.width > 3 else m[:3] for m in _MONTHS]
                parts["month"] = names.index(raw) + 1
            elif token.field == "fraction":
                parts["microsecond"] = int(raw.ljust(6, "0")[:6])
            elif token.field == "year" and token.width == 2:
                parts["year"] = 2000 + int(raw)
            else:
                parts[token.field] = int(raw)
        try:
            return datetime(parts["year"], parts["month"], parts["day"], parts["hour"], parts["minute"],
                            parts["second"], parts["microsecond"], tzinfo=UTC)
        except ValueError:
            return None

    @property
    def finest(self) -> str:
        return max(self.fields, key=lambda f: _RANK[f])

    @property
    def sortable(self) -> bool:
        """Whether text order is time order: fixed-width fields from the year down, none skipped."""
        ranks = [_RANK[f] for f in self.fields]
        if ranks != list(range(len(ranks))):
            return False
        for token in self.tokens:
            if token.field == "year" and token.width != 4:
                return False
            if token.field in ("month", "day", "hour", "minute", "second") and token.width != 2:
                return False
        return True


def truncate(value: datetime, field: str) -> datetime:
    """`value` without the parts finer than what a format shows."""
    rank = _RANK[field]
    return value.replace(month=value.month if rank >= 1 else 1, day=value.day if rank >= 2 else 1,
                         hour=value.hour if rank >= 3 else 0, minute=value.minute if rank >= 4 else 0,
                         second=value.second if rank >= 5 else 0,
                         microsecond=value.microsecond if rank >= 6 else 0)


def add_months(value: datetime, months: int) -> datetime:
    year, month = divmod(value.month - 1 + months, 12)
    year += value.year
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


# -- column projections ------------------------------------------------------------------------------------------

class ColumnProjection:
    """One partition column's values, addressable by index."""

    name: str
    hive: str
    kind: str

    def __len__(self) -> int:
        raise NotImplementedError

    def value(self, index: int) -> str:
        raise NotImplementedError

    def indexes_of(self, literal: str) -> list[int] | None:
        """The indexes whose value the column compares equal to `literal` (a superset is fine; None when it
        cannot tell, so the column is not narrowed)."""
        raise NotImplementedError

    @property
    def ordered(self) -> bool:
        """Whether the column's comparison order follows the index, so ranges can be found by bisection."""
        return False

    def key(self, text: str) -> Any:
        return _number(text) if _is_numeric(self.hive) else text


@dataclass
class EnumProjection(ColumnProjection):
    name: str
    hive: str
    values: list[str]
    kind: str = "enum"

    def __len__(self) -> int:
        return len(self.values)

    def value(self, index: int) -> str:
        return self.values[index]

    def indexes_of(self, literal: str) -> list[int] | None:
        wanted = self.key(literal)
        if wanted is None:
            return None
        return [i for i, v in enumerate(self.values) if self.key(v) == wanted]


@dataclass
class IntegerProjection(ColumnProjection):
    name: str
    hive: str
    start: int
    end: int
    interval: int
    digits: int
    kind: str = "integer"

    def __len__(self) -> int:
        return 0 if self.end < self.start else (self.end - self.start) // self.interval + 1

    def value(self, index: int) -> str:
        number = self.start + index * self.interval
        return f"{number:0{self.digits}d}" if self.digits else str(number)

    def indexes_of(self, literal: str) -> list[int] | None:
        number = _number(literal)
        if number is None:
            return None if _is_numeric(self.hive) else []
        if number != number.to_integral_value():
            return []
        offset = int(number) - self.start
        if offset % self.interval or not 0 <= offset // self.interval < len(self):
            return []
        index = offset // self.interval
        if not _is_numeric(self.hive) and self.value(index) != literal:
            return []
        return [index]

    @property
    def ordered(self) -> bool:
        if _is_numeric(self.hive):
            return True
        return self.start >= 0 and len(self.value(0)) == len(self.value(max(len(self) - 1, 0)))


@dataclass
class DateProjection(ColumnProjection):
    name: str
    hive: str
    fmt: DateFormat
    start: datetime
    end: datetime
    interval: int
    unit: str
    kind: str = "date"

    def __post_init__(self) -> None:
        self._count = self._length()

    def _at(self, index: int) -> datetime:
        if self.unit == "YEARS":
            return add_months(self.start, 12 * index * self.interval)
        if self.unit == "MONTHS":
            return add_months(self.start, index * self.interval)
        return self.start + _FIXED_STEPS[self.unit] * (index * self.interval)

    def _length(self) -> int:
        if self.end < self.start:
            return 0
        if self.unit in ("YEARS", "MONTHS"):
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month
            step = self.interval * (12 if self.unit == "YEARS" else 1)
            last = months // step
            while last >= 0 and self._at(last) > self.end:
                last -= 1
            return last + 1
        delta = _FIXED_STEPS[self.unit] * self.interval
        return (self.end - self.start) // delta + 1

    def __len__(self) -> int:
        return self._count

    def value(self, index: int) -> str:
        return self.fmt.format(self._at(index))

    def indexes_of(self, literal: str) -> list[int] | None:
        moment = self.fmt.parse(literal)
        if moment is None:
            return [] if not _is_numeric(self.hive) and self.hive.lower() == "string" else None
        if self.unit in ("YEARS", "MONTHS"):
            months = (moment.year - self.start.year) * 12 + moment.month - self.start.month
            step = self.interval * (12 if self.unit == "YEARS" else 1)
            if months % step:
                return []
            index = months // step
        else:
            step_delta = _FIXED_STEPS[self.unit] * self.interval
            if (moment - self.start) % step_delta:
                return []
            index = (moment - self.start) // step_delta
        if not 0 <= index < len(self) or self._at(index) != moment:
            return []
        if self.hive.lower() in ("string", "varchar") and self.value(index) != literal:
            return []
        return [index]

    @property
    def ordered(self) -> bool:
        return self.hive.lower().startswith(("string", "varchar", "char")) and self.fmt.sortable


@dataclass
class InjectedProjection(ColumnProjection):
    """Values come only from the query: its static equality conditions on the column."""

    name: str
    hive: str
    kind: str = "injected"

    def __len__(self) -> int:
        return 0

    def value(self, index: int) -> str:
        raise IndexError(index)

    def indexes_of(self, literal: str) -> list[int] | None:
        return None


# -- configuration ---------------------------------------------------------------------------------------------

def _property(info: TableInfo, column: str, suffix: str) -> str | None:
    value = info.parameters.get(f"projection.{column}.{suffix}")
    if value is None:
        for key, found in info.parameters.items():
            if key.lower() == f"projection.{column}.{suffix}".lower():
                return found
    return value


def _required(info: TableInfo, column: str, kind: str, suffix: str) -> str:
    value = _property(info, column, suffix)
    if value is None or not value.strip():
        raise _invalid(column, f"the required property projection.{column}.{suffix} for the {kind} projection "
                               "type is missing.")
    return value


def _positive(info: TableInfo, column: str, suffix: str, default: int) -> int:
    text = _property(info, column, suffix)
    if text is None:
        return default
    try:
        number = int(text.strip())
    except ValueError:
        number = 0
    if number <= 0:
        raise _invalid(column, f"the property projection.{column}.{suffix} must be a positive integer, "
                               f"but is '{text}'.")
    return number


def column_projection(info: TableInfo, column: str, hive: str, now: datetime) -> ColumnProjection:
    kind_text = _property(info, column, "type")
    if kind_text is None or not kind_text.strip():
        raise _invalid(column, f"the required property projection.{column}.type is missing. Every partition "
                               "column of a table with projection.enabled must have a projection type.")
    kind = kind_text.strip().lower()
    if kind == "enum":
        values = _required(info, column, kind, "values").split(",")
        return EnumProjection(column, hive, values)
    if kind == "integer":
        raw = _required(info, column, kind, "range")
        try:
            bounds = [int(part.strip()) for part in raw.split(",")]
        except ValueError:
            bounds = []
        if len(bounds) != 2:
            raise _invalid(column, f"the property projection.{column}.range must be two comma-separated "
                                   f"integers, but is '{raw}'.")
        return IntegerProjection(column, hive, bounds[0], bounds[1], _positive(info, column, "interval", 1),
                                 _positive(info, column, "digits", 0) if _property(info, column, "digits") else 0)
    if kind == "date":
        return _date_projection(info, column, hive, now)
    if kind == "injected":
        return InjectedProjection(column, hive)
    raise _invalid(column, f"the projection type '{kind_text.strip()}' is not supported. Supported types are "
                           "enum, integer, date and injected.")


def _date_projection(info: TableInfo, column: str, hive: str, now: datetime) -> DateProjection:
    pattern = _required(info, column, "date", "format")
    try:
        fmt = DateFormat(pattern)
    except ValueError as exc:
        raise _invalid(column, f"the property projection.{column}.format '{pattern}' is not a valid date "
                               f"format: {exc}.") from None
    unit_text = _property(info, column, "interval.unit")
    if unit_text is not None:
        unit = unit_text.strip().upper()
        if unit not in _UNITS:
            raise _invalid(column, f"the property projection.{column}.interval.unit '{unit_text}' is invalid. "
                                   f"Valid units are {', '.join(_UNITS)}.")
    elif fmt.finest in ("year", "month", "day"):
        unit = _FINEST_UNIT[fmt.finest]
    else:
        raise _invalid(column, f"the property projection.{column}.interval.unit is required, because the date "
                               f"format '{pattern}' is finer than days.")
    interval = _positive(info, column, "interval", 1)
    raw = _required(info, column, "date", "range")
    parts = raw.split(",")
    start = _date_bound(parts[0], fmt, now) if len(parts) == 2 else None
    end = _date_bound(parts[1], fmt, now) if len(parts) == 2 else None
    if start is None or end is None:
        raise _invalid(column, f"the property projection.{column}.range must be two comma-separated dates in "
                               f"the format '{pattern}' or relative dates (NOW, NOW-3YEARS), but is '{raw}'.")
    if start > end:
        raise _invalid(column, f"the start of projection.{column}.range '{raw}' is after its end.")
    return DateProjection(column, hive, fmt, start, end, interval, unit)


def _date_bound(text: str, fmt: DateFormat, now: datetime) -> datetime | None:
    match = _NOW.fullmatch(text)
    if match is None:
        return fmt.parse(text)
    moment = truncate(now.astimezone(UTC), fmt.finest)
    if match.group(1):
        amount = int(match.group(2)) * (1 if match.group(1) == "+" else -1)
        unit = match.group(3).upper().rstrip("S") + "S"
        try:
            if unit in ("YEARS", "MONTHS"):
                moment = add_months(moment, amount * (12 if unit == "YEARS" else 1))
            else:
                moment = moment + _FIXED_STEPS[unit] * amount
        except (OverflowError, ValueError):
            return None
    return moment


# -- conjuncts -------------------------------------------------------------------------------------------------

def _literal(node: exp.Expr) -> str | None:
    """A constant's text as a partition value would spell it, or None when `node` is not a constant."""
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
        return str(node.this.this)
    if isinstance(node, exp.Literal):
        return str(node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return "-" + str(node.this.this)
    if isinstance(node, exp.Paren):
        return _literal(node.this)
    return None


def _column(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Paren):
        return _column(node.this)
    return node.name.lower() if isinstance(node, exp.Column) else None


_FLIP = {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}
_COMPARISONS = {exp.GT: "gt", exp.GTE: "gte", exp.LT: "lt", exp.LTE: "lte"}


@dataclass
class _Condition:
    column: str
    op: str  # eq | gt | gte | lt | lte | other
    values: list[str]


def _conditions(conjunct: exp.Expr) -> list[_Condition]:
    """What one conjunct says about single columns; `other` for anything that is not a comparison of one
    column with constants."""
    node = conjunct.this if isinstance(conjunct, exp.Paren) else conjunct
    if isinstance(node, exp.EQ):
        for left, right in ((node.this, node.expression), (node.expression, node.this)):
            column, value = _column(left), _literal(right)
            if column is not None and value is not None:
                return [_Condition(column, "eq", [value])]
    if isinstance(node, exp.In) and not node.args.get("query") and not node.args.get("unnest"):
        column = _column(node.this)
        values = [_literal(e) for e in node.expressions]
        if column is not None and values and all(v is not None for v in values):
            return [_Condition(column, "eq", [v for v in values if v is not None])]
    for kind, op in _COMPARISONS.items():
        if isinstance(node, kind):
            column, value = _column(node.this), _literal(node.expression)
            if column is not None and value is not None:
                return [_Condition(column, op, [value])]
            column, value = _column(node.expression), _literal(node.this)
            if column is not None and value is not None:
                return [_Condition(column, _FLIP[op], [value])]
    if isinstance(node, exp.Between):
        column, low, high = _column(node.this), _literal(node.args["low"]), _literal(node.args["high"])
        if column is not None and low is not None and high is not None:
            return [_Condition(column, "gte", [low]), _Condition(column, "lte", [high])]
    if isinstance(node, exp.Or):
        # `c = 'a' OR c = 'b'` is `c IN ('a', 'b')`.
        branches = [_conditions(branch) for branch in node.flatten()]
        if all(len(b) == 1 and b[0].op == "eq" for b in branches) and len({b[0].column for b in branches}) == 1:
            return [_Condition(branches[0][0].column, "eq", [v for b in branches for v in b[0].values])]
    return [_Condition(c.name.lower(), "other", []) for c in conjunct.find_all(exp.Column)]


# -- narrowing -------------------------------------------------------------------------------------------------

def _first(lo: int, hi: int, test: Callable[[int], bool]) -> int:
    """The first index in [lo, hi) where `test` (false, then true along the index) holds; hi if none."""
    while lo < hi:
        mid = (lo + hi) // 2
        if test(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _past(projection: ColumnProjection, op: str, bound: Any) -> Callable[[int], bool]:
    """For an ordered column, whether the value at an index is past the start (gt, gte) or past the end (lt,
    lte) of what `op bound` allows: false, then true along the index."""
    def test(index: int) -> bool:
        value = projection.key(projection.value(index))
        if op == "gt":
            return bool(value > bound)
        if op == "gte":
            return bool(value >= bound)
        if op == "lt":
            return not value < bound
        return not value <= bound
    return test


def _narrow(projection: ColumnProjection, conditions: list[_Condition]) -> Sequence[int]:
    """The indexes of a column's values that its conditions may allow."""
    lo, hi = 0, len(projection)
    allowed: set[int] | None = None
    for condition in conditions:
        if condition.op == "eq":
            found: set[int] = set()
            for literal in condition.values:
                indexes = projection.indexes_of(literal)
                if indexes is None:
                    found = set(range(lo, hi))
                    break
                found.update(indexes)
            allowed = found if allowed is None else allowed & found
        elif condition.op in ("gt", "gte", "lt", "lte") and projection.ordered:
            bound = projection.key(condition.values[0])
            if bound is None:
                continue
            try:
                if condition.op in ("gt", "gte"):
                    lo = max(lo, _first(lo, hi, _past(projection, condition.op, bound)))
                else:
                    hi = min(hi, _first(lo, hi, _past(projection, condition.op, bound)))
            except TypeError:
                continue  # a value that is not a number where numbers are compared: no narrowing
    if allowed is not None:
        return sorted(i for i in allowed if lo <= i < hi)
    return range(lo, max(lo, hi))


# -- partitions ------------------------------------------------------------------------------------------------

def _location(info: TableInfo, values: dict[str, str]) -> str:
    template = info.parameters.get("storage.location.template")
    if template:
        location = _PLACEHOLDER.sub(lambda m: values.get(m.group(1).lower(), m.group(0)), template)
    else:
        parts = [f"{_escape(k)}={_escape(values[k])}" for k, _ in info.partition_keys]
        location = info.location.rstrip("/") + "/" + "/".join(parts)
    return location if location.endswith("/") else location + "/"


def _escape(text: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in _HIVE_ESCAPED or ord(c) < 0x20 else c for c in text)


def _check_template(info: TableInfo) -> None:
    template = info.parameters.get("storage.location.template")
    if not template:
        return
    named = {m.group(1).lower() for m in _PLACEHOLDER.finditer(template)}
    for key, _ in info.partition_keys:
        if key not in named:
            raise QueryFailed(f"INVALID_TABLE_PROPERTY: The storage.location.template '{template}' of table "
                              f"{info.database}.{info.name} does not contain the placeholder ${{{key}}} for the "
                              f"projected partition column {key}.")


def candidates(info: TableInfo, conjuncts: list[exp.Expr], now: datetime) -> Iterator[list[str]]:
    """The partition values (one list per partition, in key order) the conjuncts may select, generated
    lazily after each column is narrowed; raises when the projection is misconfigured or the query cannot
    run against it."""
    _check_template(info)
    columns = [column_projection(info, key, hive, now) for key, hive in info.partition_keys]
    conditions: dict[str, list[_Condition]] = {}
    for conjunct in conjuncts:
        for condition in _conditions(conjunct):
            conditions.setdefault(condition.column, []).append(condition)
    choices: list[Sequence[str] | _Lazy] = []
    total = 1
    for projection in columns:
        own = conditions.get(projection.name, [])
        if isinstance(projection, InjectedProjection):
            values = _injected_values(projection, own)
            choices.append(values)
            total *= len(values)
            continue
        indexes = _narrow(projection, own)
        choices.append(_Lazy(projection, indexes))
        total *= len(indexes)
    if total > MAX_PARTITIONS:
        raise QueryFailed(f"HIVE_EXCEEDED_PARTITION_LIMIT: Query over table '{info.database}.{info.name}' can "
                          f"potentially read more than {MAX_PARTITIONS} partitions", 2, 1006)
    if total == 0:
        return iter(())
    return (list(values) for values in itertools.product(*choices))


class _Lazy(Sequence[str]):
    """A column's allowed values, formatted only when iterated."""

    def __init__(self, projection: ColumnProjection, indexes: Sequence[int]) -> None:
        self.projection = projection
        self.indexes = indexes

    def __len__(self) -> int:
        return len(self.indexes)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self.projection.value(i) for i in self.indexes[index]]
        return self.projection.value(self.indexes[index])

    def __iter__(self) -> Iterator[str]:
        return (self.projection.value(i) for i in self.indexes)


def _injected_values(projection: InjectedProjection, conditions: list[_Condition]) -> list[str]:
    equalities = [c for c in conditions if c.op == "eq"]
    if not equalities or len(equalities) != len(conditions):
        raise QueryFailed(f"CONSTRAINT_VIOLATION: For the injected projected partition column {projection.name}, "
                          "the WHERE clause must contain only static equality conditions, and at least one such "
                          "condition must be present.", 2, 1006)
    allowed: list[str] | None = None
    for condition in equalities:
        values = list(dict.fromkeys(condition.values))
        allowed = values if allowed is None else [v for v in allowed if v in values]
    return allowed or []


def project_partitions(info: TableInfo, conjuncts: list[exp.Expr],
                       connection: Callable[[], duckdb.DuckDBPyConnection],
                       now: datetime) -> list[dict[str, Any]]:
    """The projected partitions a query reads, as catalog-shaped partitions (Values and a Location)."""
    keys = [k for k, _ in info.partition_keys]
    chosen = list(candidates(info, conjuncts, now))
    if chosen and conjuncts:
        chosen = _exact(info, chosen, conjuncts, connection)
    return [{"Values": values, "StorageDescriptor": {"Location": _location(info, dict(zip(keys, values,
                                                                                           strict=True)))}}
            for values in chosen]


def _exact(info: TableInfo, chosen: list[list[str]], conjuncts: list[exp.Expr],
           connection: Callable[[], duckdb.DuckDBPyConnection]) -> list[list[str]]:
    """The candidates the conjuncts really select, judged by DuckDB on the typed values, as the data's own
    partition columns will be."""
    try:
        predicate = sqlengine.to_duckdb(exp.and_(*conjuncts), "trino")
    except SqlError:
        return chosen
    import pyarrow as pa

    conn = connection()
    arrays = {"fb_idx": pa.array(range(len(chosen)), pa.int64())}
    for position in range(len(info.partition_keys)):
        arrays[f"fb_raw_{position}"] = pa.array([row[position] for row in chosen], pa.string())
    name = f"fb_projected_{abs(hash((info.database, info.name, len(chosen)))) % 10**9}"
    conn.register(name, pa.table(arrays))
    typed = ", ".join(f"TRY_CAST(fb_raw_{i} AS {duckdb_type(hive)}) AS {quote_ident(key)}"
                      for i, (key, hive) in enumerate(info.partition_keys))
    try:
        kept = [int(row[0]) for row in conn.execute(
            f"SELECT fb_idx FROM (SELECT fb_idx, {typed} FROM {name}) WHERE {predicate} ORDER BY fb_idx").fetchall()]
    except duckdb.Error:
        return chosen
    finally:
        conn.unregister(name)
    return [chosen[i] for i in kept]

