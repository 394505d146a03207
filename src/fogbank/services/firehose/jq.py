"""The jq subset Firehose's MetadataExtraction processor documents for dynamic partitioning.

A query is an object construction, `{customer_id: .customer_id, device: .type.device, year: .ts | strftime("%Y")}`,
whose values are paths (`.a`, `.a.b`, `.a["x"]`, `.a[0]`, optional `?`) piped through a few filters
(`tostring`, `tonumber`, `ascii_downcase`, `ascii_upcase`, `floor`, `strftime(fmt)`, `todate`,
`ltrimstr(s)`, `rtrimstr(s)`). Each query is compiled once, when the stream is configured.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"""\s*(?:
    (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?\d+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[{}:,.|\[\]()?])
)""", re.VERBOSE)


class JqError(ValueError):
    """A query outside the supported subset (at configuration) or one that fails on a record."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise JqError(f"Unexpected character {text[pos:].lstrip()[:1]!r} in jq query: {text}")
        kind = match.lastgroup
        assert kind is not None
        out.append(_Token(kind, match.group(kind)))
        pos = match.end()
    return out


Step = Callable[[Any], Any]


def _strftime(fmt: str) -> Step:
    def run(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise JqError("strftime/1 requires parsed datetime inputs")
        return time.strftime(fmt, time.gmtime(value))
    return run


def _tonumber(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise JqError(f"Cannot parse '{value}' as JSON") from None
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    raise JqError(f"{_type(value)} cannot be parsed as a number")


def _string_only(name: str, func: Callable[[str], str]) -> Step:
    def run(value: Any) -> Any:
        if not isinstance(value, str):
            raise JqError(f"{name} input must be a string")
        return func(value)
    return run


def _floor(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JqError(f"{_type(value)} number required")
    return math.floor(value)


_FILTERS: dict[str, Step] = {
    "tostring": lambda v: v if isinstance(v, str) else _dump(v),
    "tonumber": _tonumber,
    "ascii_downcase": _string_only("ascii_downcase", lambda s: "".join(c.lower() if c.isascii() else c for c in s)),
    "ascii_upcase": _string_only("ascii_upcase", lambda s: "".join(c.upper() if c.isascii() else c for c in s)),
    "floor": _floor,
    "todate": _strftime("%Y-%m-%dT%H:%M:%SZ"),
}
_STRING_FILTERS: dict[str, Callable[[str], Step]] = {
    "strftime": _strftime,
    "ltrimstr": lambda s: lambda v: v[len(s):] if isinstance(v, str) and v.startswith(s) else v,
    "rtrimstr": lambda s: lambda v: v[:-len(s)] if isinstance(v, str) and s and v.endswith(s) else v,
}


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _dump(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e17:
        return str(int(value))
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self, text: str | None = None) -> _Token | None:
        if self.pos >= len(self.tokens):
            return None
        token = self.tokens[self.pos]
        return token if text is None or token.text == text else None

    def take(self, text: str | None = None, kind: str | None = None) -> _Token:
        token = self.peek()
        if token is None or (text is not None and token.text != text) or (kind is not None and token.kind != kind):
            wanted = text or kind or "more input"
            found = token.text if token else "end of query"
            raise JqError(f"Expected {wanted} but found {found} in jq query: {self.text}")
        self.pos += 1
        return token

    def query(self) -> list[tuple[str, Step]]:
        self.take("{")
        pairs: list[tuple[str, Step]] = []
        while True:
            token = self.take()
            if token.kind == "ident":
                key = token.text
            elif token.kind == "string":
                key = json.loads(token.text)
            else:
                raise JqError(f"Expected a key but found {token.text} in jq query: {self.text}")
            self.take(":")
            pairs.append((key, self.pipeline()))
            if self.peek(","):
                self.take(",")
                continue
            self.take("}")
            break
        if self.peek() is not None:
            raise JqError(f"Unexpected {self.tokens[self.pos].text} after the object in jq query: {self.text}")
        return pairs

    def pipeline(self) -> Step:
        steps = [self.path()]
        while self.peek("|"):
            self.take("|")
            steps.append(self.filter())

        def run(value: Any) -> Any:
            for step in steps:
                value = step(value)
            return value

        return run

    def filter(self) -> Step:
        if self.peek(".") is not None:
            return self.path()
        name = self.take(kind="ident").text
        if name in _STRING_FILTERS:
            self.take("(")
            argument = json.loads(self.take(kind="string").text)
            self.take(")")
            return _STRING_FILTERS[name](argument)
        if name in _FILTERS:
            return _FILTERS[name]
        raise JqError(f"Unsupported jq function {name} in query: {self.text}")

    def path(self) -> Step:
        self.take(".")
        keys: list[tuple[str | int, bool]] = []
        first = True
        while True:
            token = self.peek()
            if token is None:
                break
            if token.kind == "ident" and first:
                self.take()
                keys.append((token.text, False))
            elif token.kind == "string" and first:
                self.take()
                keys.append((json.loads(token.text), False))
            elif token.text == "[":
                self.take("[")
                inner = self.take()
                if inner.kind == "string":
                    keys.append((json.loads(inner.text), False))
                elif inner.kind == "number":
                    keys.append((int(inner.text), False))
                else:
                    raise JqError(f"Unsupported index {inner.text} in jq query: {self.text}")
                self.take("]")
            elif token.text == "." and not first:
                self.take(".")
                following = self.take()
                if following.kind not in ("ident", "string"):
                    raise JqError(f"Expected a field name after '.' in jq query: {self.text}")
                keys.append((following.text if following.kind == "ident" else json.loads(following.text), False))
            elif token.text == "?" and keys:
                self.take("?")
                keys[-1] = (keys[-1][0], True)
            else:
                break
            first = False

        def run(value: Any) -> Any:
            for key, optional in keys:
                value = _index(value, key, optional)
            return value

        return run


def _index(value: Any, key: str | int, optional: bool) -> Any:
    if value is None:
        return None
    if isinstance(key, str):
        if isinstance(value, dict):
            return value.get(key)
        if optional:
            return None
        raise JqError(f'Cannot index {_type(value)} with "{key}"')
    if isinstance(value, list):
        try:
            return value[key]
        except IndexError:
            return None
    if optional:
        return None
    raise JqError(f"Cannot index {_type(value)} with number")


class MetadataQuery:
    """A compiled MetadataExtractionQuery: `extract(record)` gives the partition keys of one JSON record."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._pairs = _Parser(text).query()
        if not self._pairs:
            raise JqError(f"The jq query defines no partition key: {text}")

    @property
    def keys(self) -> list[str]:
        return [key for key, _ in self._pairs]

    def extract(self, document: Any) -> dict[str, str]:
        """Partition keys as strings, as jq prints them; a null or non-scalar key is an error."""
        out: dict[str, str] = {}
        for key, step in self._pairs:
            value = step(document)
            if value is None:
                raise JqError(f"The partition key {key} evaluated to null")
            if isinstance(value, dict | list):
                raise JqError(f"The partition key {key} evaluated to an {_type(value)}, not a scalar")
            out[key] = value if isinstance(value, str) else _dump(value)
        return out
