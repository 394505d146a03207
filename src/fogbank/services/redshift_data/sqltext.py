"""Redshift SQL as text: splitting a script into statements and tokenizing the commands sqlglot does not
parse (COPY, UNLOAD, CREATE EXTERNAL SCHEMA, CREATE DATABASE, ...).

Quoted strings, quoted identifiers, comments and dollar-quoted bodies are skipped whole, so a ';' or ':name'
inside them is never taken for a statement end or a parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fogbank.services.redshift_data.pgerror import RedshiftSqlError

_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_PARAMETER = re.compile(r"[A-Za-z0-9_]+")


def _skip(sql: str, i: int) -> int:
    """The index after the quoted string, identifier, comment or dollar body starting at i (or i itself)."""
    c = sql[i]
    if c in "'\"":
        j = i + 1
        while j < len(sql):
            if sql[j] == c:
                if j + 1 < len(sql) and sql[j + 1] == c:
                    j += 2
                    continue
                return j + 1
            if c == "'" and sql[j] == "\\" and j + 1 < len(sql):
                j += 2
                continue
            j += 1
        return len(sql)
    if sql.startswith("--", i):
        end = sql.find("\n", i)
        return len(sql) if end < 0 else end + 1
    if sql.startswith("/*", i):
        end = sql.find("*/", i + 2)
        return len(sql) if end < 0 else end + 2
    if c == "$":
        match = _DOLLAR.match(sql, i)
        if match:
            end = sql.find(match.group(0), match.end())
            return len(sql) if end < 0 else end + len(match.group(0))
    return i


def split_statements(sql: str) -> list[str]:
    """The statements of a script, without their terminating ';' and without empty ones."""
    out: list[str] = []
    start = 0
    i = 0
    while i < len(sql):
        j = _skip(sql, i)
        if j != i:
            i = j
            continue
        if sql[i] == ";":
            out.append(sql[start:i])
            start = i + 1
        i += 1
    out.append(sql[start:])
    return [s.strip() for s in out if strip_comments(s).strip()]


def strip_comments(sql: str) -> str:
    parts: list[str] = []
    i = 0
    while i < len(sql):
        j = _skip(sql, i)
        if j != i:
            if sql.startswith("--", i) or sql.startswith("/*", i):
                parts.append(" ")
            else:
                parts.append(sql[i:j])
            i = j
            continue
        parts.append(sql[i])
        i += 1
    return "".join(parts)


def parameter_names(sql: str) -> list[str]:
    """The :name parameters a statement refers to, in order of first use (casts like x::int are not)."""
    names: list[str] = []
    i = 0
    while i < len(sql):
        j = _skip(sql, i)
        if j != i:
            i = j
            continue
        if sql[i] == ":":
            if sql.startswith("::", i):
                i += 2
                continue
            match = _PARAMETER.match(sql, i + 1)
            if match and (i == 0 or sql[i - 1] != ":"):
                if match.group(0) not in names:
                    names.append(match.group(0))
                i = match.end()
                continue
        i += 1
    return names


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "string", "ident" (a quoted identifier), "number", "symbol"
    text: str  # words upper-cased; strings and quoted identifiers unescaped
    raw: str
    start: int = 0


def tokenize(sql: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    text = sql
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if text.startswith("--", i) or text.startswith("/*", i):
            i = _skip(text, i)
            continue
        if c == "'":
            j = _skip(text, i)
            body = text[i + 1:j - 1] if j - i >= 2 else ""
            tokens.append(Token("string", body.replace("''", "'").replace("\\'", "'"), text[i:j], i))
            i = j
            continue
        if c == '"':
            j = _skip(text, i)
            body = text[i + 1:j - 1] if j - i >= 2 else ""
            tokens.append(Token("ident", body.replace('""', '"'), text[i:j], i))
            i = j
            continue
        word = _WORD.match(text, i)
        if word:
            tokens.append(Token("word", word.group(0).upper(), word.group(0), i))
            i = word.end()
            continue
        number = _NUMBER.match(text, i)
        if number:
            tokens.append(Token("number", number.group(0), number.group(0), i))
            i = number.end()
            continue
        tokens.append(Token("symbol", c, c, i))
        i += 1
    return tokens


class Tokens:
    """A cursor over a command's tokens with the small grammar helpers COPY and UNLOAD need."""

    def __init__(self, sql: str) -> None:
        self.items = tokenize(sql)
        self.pos = 0

    def peek(self, offset: int = 0) -> Token | None:
        index = self.pos + offset
        return self.items[index] if index < len(self.items) else None

    def at_end(self) -> bool:
        return self.pos >= len(self.items)

    def error(self) -> RedshiftSqlError:
        token = self.peek()
        return RedshiftSqlError(f'syntax error at or near "{token.raw}"' if token is not None
                                else "syntax error at end of input")

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise self.error()
        self.pos += 1
        return token

    def is_word(self, *words: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind == "word" and token.text in words

    def accept(self, *words: str) -> bool:
        """Consumes the words in sequence if they are next."""
        for offset, word in enumerate(words):
            if not self.is_word(word, offset=offset):
                return False
        self.pos += len(words)
        return True

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise self.error()

    def accept_symbol(self, symbol: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "symbol" and token.text == symbol:
            self.pos += 1
            return True
        return False

    def expect_symbol(self, symbol: str) -> None:
        if not self.accept_symbol(symbol):
            raise self.error()

    def string(self) -> str:
        token = self.next()
        if token.kind != "string":
            self.pos -= 1
            raise self.error()
        return token.text

    def number(self) -> int:
        token = self.next()
        if token.kind != "number" or "." in token.text:
            self.pos -= 1
            raise self.error()
        return int(token.text)

    def name(self) -> str:
        """An identifier as Redshift folds it: unquoted ones to lower case."""
        token = self.next()
        if token.kind == "ident":
            return token.text.lower()
        if token.kind == "word":
            return token.raw.lower()
        self.pos -= 1
        raise self.error()

    def qualified_name(self) -> list[str]:
        parts = [self.name()]
        while self.accept_symbol("."):
            parts.append(self.name())
        return parts


def leading_words(sql: str, count: int = 4) -> list[str]:
    """The first words of a statement, upper-cased (for recognizing commands)."""
    words: list[str] = []
    for token in tokenize(sql):
        if token.kind != "word":
            break
        words.append(token.text)
        if len(words) == count:
            break
    return words


_STORAGE_WORDS = {"DISTKEY", "SORTKEY", "DISTSTYLE", "ENCODE", "BACKUP", "COMPOUND", "INTERLEAVED"}


def strip_storage_clauses(sql: str) -> str:
    """CREATE TABLE without Redshift's physical-layout clauses (DISTSTYLE, DISTKEY, SORTKEY, ENCODE, BACKUP).

    They say how a cluster spreads and compresses rows; a single-node engine has nothing to do with them,
    and removing them as text lets the SQL parser see a plain CREATE TABLE.
    """
    tokens = tokenize(sql)
    cuts: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind != "word" or token.text not in _STORAGE_WORDS:
            i += 1
            continue
        start = token.start
        j = i + 1
        if token.text in ("COMPOUND", "INTERLEAVED"):
            if j < len(tokens) and tokens[j].kind == "word" and tokens[j].text == "SORTKEY":
                j += 1
            else:
                i += 1
                continue
        if token.text in ("DISTSTYLE", "ENCODE", "BACKUP"):
            j += 1  # the style, encoding or YES/NO
        elif token.text == "SORTKEY" and j < len(tokens) and tokens[j].text == "AUTO":
            j += 1
        elif j < len(tokens) and tokens[j].kind == "symbol" and tokens[j].text == "(":
            depth = 0
            while j < len(tokens):
                if tokens[j].text == "(" and tokens[j].kind == "symbol":
                    depth += 1
                elif tokens[j].text == ")" and tokens[j].kind == "symbol":
                    depth -= 1
                    if depth == 0:
                        j += 1
                        break
                j += 1
        end = tokens[j].start if j < len(tokens) else len(sql)
        cuts.append((start, end))
        i = j
    for start, end in reversed(cuts):
        sql = sql[:start] + " " + sql[end:]
    return sql
