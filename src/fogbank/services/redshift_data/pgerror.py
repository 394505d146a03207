"""Errors as Redshift words them: a failed statement's Error reads like the message a Redshift cluster sends
("ERROR: relation "t" does not exist"), whichever engine step raised it."""

from __future__ import annotations

import re

import duckdb


class RedshiftSqlError(Exception):
    """A statement failed; the message is Redshift's text without the "ERROR: " prefix."""

    def __init__(self, message: str, prefix: str = "ERROR") -> None:
        super().__init__(message)
        self.message = message
        self.prefix = prefix

    def __str__(self) -> str:
        return f"{self.prefix}: {self.message}"


_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r'Table with name "?([^"!]+?)"? does not exist'), 'relation "{0}" does not exist'),
    (re.compile(r'View with name "?([^"!]+?)"? does not exist'), 'relation "{0}" does not exist'),
    (re.compile(r'Table with name "?([^"!]+?)"? already exists'), 'relation "{0}" already exists'),
    (re.compile(r'View with name "?([^"!]+?)"? already exists'), 'relation "{0}" already exists'),
    (re.compile(r'Schema with name "?([^"!]+?)"? does not exist'), 'schema "{0}" does not exist'),
    (re.compile(r'Schema with name "?([^"!]+?)"? already exists'), 'schema "{0}" already exists'),
    (re.compile(r'(?:Scalar|Aggregate|Table) Function with name "?([^"!]+?)"? does not exist'),
     "function {0} does not exist"),
    (re.compile(r'Referenced column "([^"]+)" not found'), 'column "{0}" does not exist'),
    (re.compile(r'Referenced table "([^"]+)" not found'), 'missing FROM-clause entry for table "{0}"'),
    (re.compile(r'Table "([^"]+)" does not have a column (?:named|with name) "([^"]+)"'),
     'column "{1}" of relation "{0}" does not exist'),
    (re.compile(r'Ambiguous reference to column name "([^"]+)"'), 'column reference "{0}" is ambiguous'),
    (re.compile(r"Could not convert string '([^']*)' to INT(?:8|16|32|64|128)"),
     'invalid input syntax for integer: "{0}"'),
    (re.compile(r"Could not convert string '([^']*)' to (?:DOUBLE|FLOAT|DECIMAL)"),
     'invalid input syntax for type numeric: "{0}"'),
    (re.compile(r"Could not convert string '([^']*)' to BOOL"), 'invalid input syntax for type boolean: "{0}"'),
    (re.compile(r"(?:invalid date field format|Could not convert string) '([^']*)'.*DATE", re.S),
     'invalid input syntax for type date: "{0}"'),
    (re.compile(r"NOT NULL constraint failed: [^.\s]+\.(\S+)"), "Cannot insert a NULL value into column {0}"),
    (re.compile(r"Conflict on tuple deletion|Conflict on update|write-write conflict|Transaction conflict",
                re.I), "1023\nDETAIL: Serializable isolation violation on table in transaction"),
    (re.compile(r"INTERRUPT|Interrupted", re.I), "Query cancelled on user's request"),
    (re.compile(r"syntax error at or near (\"[^\"]*\"|\S+)"), "syntax error at or near {0}"),
    (re.compile(r"syntax error at end of input"), "syntax error at end of input"),
]


def _strip(message: str) -> str:
    """DuckDB's message without its "X Error:" prefix, caret context and suggestions."""
    first = re.split(r"\n\s*\n|\nLINE \d+:|\nDid you mean", message, maxsplit=1)[0].strip()
    first = re.sub(r"^[A-Za-z ]+ Error: ", "", first)
    return first.rstrip("!").strip()


def from_duckdb(error: BaseException) -> RedshiftSqlError:
    """A DuckDB exception as the error Redshift reports for the same mistake."""
    if isinstance(error, RedshiftSqlError):
        return error
    text = str(error)
    for pattern, template in _RULES:
        match = pattern.search(text)
        if match:
            return RedshiftSqlError(template.format(*match.groups()))
    if isinstance(error, duckdb.Error):
        return RedshiftSqlError(_strip(text))
    return RedshiftSqlError(str(error) or type(error).__name__)
