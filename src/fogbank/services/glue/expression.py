"""GetPartitions' Expression: a small SQL predicate language over partition keys, parsed, never evaluated.

Grammar (keywords case-insensitive)::

    expr      := term (OR term)*
    term      := factor (AND factor)*
    factor    := NOT factor | '(' expr ')' | predicate
    predicate := operand ( cmp operand
                         | [NOT] IN '(' operand (',' operand)* ')'
                         | [NOT] BETWEEN operand AND operand
                         | [NOT] LIKE operand
                         | IS [NOT] NULL )
    cmp       := = | <> | != | < | > | <= | >=
    operand   := column | 'string' | number | DATE 'yyyy-mm-dd' | TIMESTAMP '...'

Values compare by the partition key's declared type (int keys numerically, date keys as dates, string keys as
text), so `year > 9` is numeric for an int key. A predicate over a column that is not a partition key, or a
literal that cannot be read as its key's type, is an InvalidInputException, as in Glue.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fogbank.services.glue.errors import InvalidInputException

Predicate = Callable[[Mapping[str, str]], bool]

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<str>'(?:[^']|'')*'|"(?:[^"]|"")*")
    | (?P<num>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
    | (?P<op><=|>=|<>|!=|=|<|>|\(|\)|,)
    | (?P<quoted>`(?:[^`]|``)+`)
    | (?P<word>[A-Za-z_][A-Za-z0-9_$.]*)
    )""", re.VERBOSE)

_KEYWORDS = {"AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "IS", "NULL", "DATE", "TIMESTAMP", "TRUE", "FALSE"}
_INTEGRAL = {"tinyint", "smallint", "int", "integer", "bigint", "long"}
_FRACTIONAL = {"float", "double", "real"}
_MAX_LENGTH = 2048


def _kind(type_name: str) -> str:
    base = type_name.strip().lower().split("(", 1)[0]
    if base in _INTEGRAL:
        return "int"
    if base in _FRACTIONAL or base == "decimal":
        return "number"
    if base == "date":
        return "date"
    if base == "timestamp":
        return "timestamp"
    return "string"


def _convert(kind: str, text: str) -> Any:
    """A partition value or literal as its key type's Python value; ValueError when it is not one."""
    if kind == "int":
        return int(text.strip())
    if kind == "number":
        try:
            return Decimal(text.strip())
        except InvalidOperation:
            raise ValueError(text) from None
    if kind == "date":
        return date.fromisoformat(text.strip())
    if kind == "timestamp":
        return datetime.fromisoformat(text.strip())
    return text


class _Operand:
    """A column reference or a literal; `kind` is the type it compares as."""

    def __init__(self, column: str | None = None, literal: str | None = None, kind: str = "string") -> None:
        self.column = column
        self.literal = literal
        self.kind = kind

    def text(self, values: Mapping[str, str]) -> str | None:
        if self.column is not None:
            return values.get(self.column)
        return self.literal


class _Parser:
    def __init__(self, text: str, key_types: Mapping[str, str]) -> None:
        self.text = text
        self.kinds = {name.lower(): _kind(kind) for name, kind in key_types.items()}
        self.tokens = self._tokenize(text)
        self.pos = 0

    # -- tokens -------------------------------------------------------------------------------------------

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens: list[tuple[str, str]] = []
        pos = 0
        stripped = text.rstrip()
        while pos < len(stripped):
            match = _TOKEN.match(stripped, pos)
            if match is None or match.end() == pos:
                raise _error(f"unexpected character at position {pos}")
            kind = match.lastgroup or ""
            value = match.group(kind)
            if kind == "word" and value.upper() in _KEYWORDS:
                tokens.append(("kw", value.upper()))
            elif kind == "quoted":
                tokens.append(("word", value[1:-1].replace("``", "`")))
            elif kind == "str":
                quote = value[0]
                tokens.append(("str", value[1:-1].replace(quote * 2, quote)))
            else:
                tokens.append((kind, value))
            pos = match.end()
        return tokens

    def _peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise _error("unexpected end of expression")
        self.pos += 1
        return token

    def _accept(self, kind: str, value: str | None = None) -> bool:
        token = self._peek()
        if token is not None and token[0] == kind and (value is None or token[1] == value):
            self.pos += 1
            return True
        return False

    def _expect(self, kind: str, value: str) -> None:
        if not self._accept(kind, value):
            found = self._peek()
            raise _error(f"expected {value!r} but found {found[1]!r}" if found else f"expected {value!r}")

    # -- grammar ------------------------------------------------------------------------------------------

    def parse(self) -> Predicate:
        if not self.tokens:
            return lambda values: True
        predicate = self._expr()
        if self._peek() is not None:
            raise _error(f"unexpected {self._peek()[1]!r}")  # type: ignore[index]
        return predicate

    def _expr(self) -> Predicate:
        parts = [self._term()]
        while self._accept("kw", "OR"):
            parts.append(self._term())
        if len(parts) == 1:
            return parts[0]
        return lambda values: any(p(values) for p in parts)

    def _term(self) -> Predicate:
        parts = [self._factor()]
        while self._accept("kw", "AND"):
            parts.append(self._factor())
        if len(parts) == 1:
            return parts[0]
        return lambda values: all(p(values) for p in parts)

    def _factor(self) -> Predicate:
        if self._accept("kw", "NOT"):
            inner = self._factor()
            return lambda values: not inner(values)
        token = self._peek()
        if token == ("op", "("):
            self.pos += 1
            inner = self._expr()
            self._expect("op", ")")
            return inner
        return self._predicate()

    def _operand(self) -> _Operand:
        kind, value = self._take()
        if kind == "word":
            column = value.lower()
            if column not in self.kinds:
                raise _error(f"{value} is not a partition key")
            return _Operand(column=column, kind=self.kinds[column])
        if kind in ("str", "num"):
            return _Operand(literal=value, kind="literal")
        if kind == "kw" and value in ("DATE", "TIMESTAMP"):
            text_kind, text = self._take()
            if text_kind != "str":
                raise _error(f"{value} must be followed by a quoted literal")
            return _Operand(literal=text, kind="literal")
        if kind == "kw" and value in ("TRUE", "FALSE"):
            return _Operand(literal=value.lower(), kind="literal")
        raise _error(f"unexpected {value!r}")

    def _predicate(self) -> Predicate:
        left = self._operand()
        negate = self._accept("kw", "NOT")
        token = self._take()
        if token == ("kw", "IN"):
            self._expect("op", "(")
            options = [self._operand()]
            while self._accept("op", ","):
                options.append(self._operand())
            self._expect("op", ")")
            return _negated(_in(left, options), negate)
        if token == ("kw", "BETWEEN"):
            low = self._operand()
            self._expect("kw", "AND")
            high = self._operand()
            return _negated(_between(left, low, high), negate)
        if token == ("kw", "LIKE"):
            return _negated(_like(left, self._operand()), negate)
        if token == ("kw", "IS") and not negate:
            is_not = self._accept("kw", "NOT")
            self._expect("kw", "NULL")
            return lambda values: (left.text(values) is None) != is_not
        if negate or token[0] != "op" or token[1] in ("(", ")", ","):
            raise _error(f"unexpected {token[1]!r}")
        return _compare(left, token[1], self._operand())


def _error(detail: str) -> InvalidInputException:
    return InvalidInputException(f"Unsupported expression: {detail}")


def _negated(predicate: Predicate, negate: bool) -> Predicate:
    return (lambda values: not predicate(values)) if negate else predicate


def _kind_of(*operands: _Operand) -> str:
    """The type a comparison runs in: the column's, or text when only literals meet."""
    for operand in operands:
        if operand.kind != "literal":
            return operand.kind
    return "string"


def _literal_checked(kind: str, *operands: _Operand) -> None:
    """Literals that cannot be read as the compared key's type are refused up front."""
    for operand in operands:
        if operand.literal is not None and kind != "string":
            try:
                _convert(kind, operand.literal)
            except ValueError:
                raise _error(f"{operand.literal!r} is not a valid {kind} value") from None


def _value(operand: _Operand, kind: str, values: Mapping[str, str]) -> Any:
    text = operand.text(values)
    if text is None:
        return None
    try:
        return _convert(kind, text)
    except ValueError:
        return None


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "<>": lambda a, b: bool(a != b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    ">": lambda a, b: bool(a > b),
    "<=": lambda a, b: bool(a <= b),
    ">=": lambda a, b: bool(a >= b),
}


def _compare(left: _Operand, op: str, right: _Operand) -> Predicate:
    kind = _kind_of(left, right)
    _literal_checked(kind, left, right)
    test = _COMPARATORS[op]

    def check(values: Mapping[str, str]) -> bool:
        a, b = _value(left, kind, values), _value(right, kind, values)
        return a is not None and b is not None and test(a, b)

    return check


def _in(left: _Operand, options: list[_Operand]) -> Predicate:
    kind = _kind_of(left, *options)
    _literal_checked(kind, left, *options)

    def check(values: Mapping[str, str]) -> bool:
        value = _value(left, kind, values)
        return value is not None and any(value == _value(o, kind, values) for o in options)

    return check


def _between(left: _Operand, low: _Operand, high: _Operand) -> Predicate:
    kind = _kind_of(left, low, high)
    _literal_checked(kind, left, low, high)

    def check(values: Mapping[str, str]) -> bool:
        value, a, b = (_value(o, kind, values) for o in (left, low, high))
        return value is not None and a is not None and b is not None and bool(a <= value <= b)

    return check


def _like_regex(pattern: str) -> re.Pattern[str]:
    out = []
    for char in pattern:
        if char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)


def _like(left: _Operand, pattern: _Operand) -> Predicate:
    if pattern.literal is None:
        raise _error("LIKE needs a quoted pattern")
    regex = _like_regex(pattern.literal)

    def check(values: Mapping[str, str]) -> bool:
        text = left.text(values)
        return text is not None and regex.fullmatch(text) is not None

    return check


def compile_expression(text: str | None, key_types: Mapping[str, str]) -> Predicate:
    """The predicate an Expression describes, over {partition key (lower case): value} mappings."""
    if text is None or not text.strip():
        return lambda values: True
    if len(text) > _MAX_LENGTH:
        raise _error("expression is too long")
    return _Parser(text, key_types).parse()
