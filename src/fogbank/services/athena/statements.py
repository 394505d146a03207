"""Which kind of statement a query is, and running it: parameters and EXECUTE substituted first, then
Hive-only commands recognised by their leading words, everything else parsed with sqlglot.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.trino import Trino
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from fogbank.engines import sql as sqlengine
from fogbank.engines.sql import SqlError
from fogbank.services.athena.ddl import Ddl, parse_partition_specs
from fogbank.services.athena.engine import Engine, ExecContext, Outcome
from fogbank.services.athena.errors import QueryFailed
from fogbank.services.athena.writes import Writes

_SHOW = re.compile(r"^\s*SHOW\s+(DATABASES|SCHEMAS|TABLES|VIEWS|COLUMNS|PARTITIONS|TBLPROPERTIES|CREATE)\b\s*(.*)$",
                   re.I | re.S)
_MSCK = re.compile(r"^\s*MSCK\s+REPAIR\s+TABLE\s+([`\"\w.]+)\s*$", re.I)
_ADD_PARTITION = re.compile(r"^\s*ALTER\s+TABLE\s+([`\"\w.]+)\s+ADD\s+(IF\s+NOT\s+EXISTS\s+)?(PARTITION\b.*)$",
                            re.I | re.S)
_DROP_PARTITION = re.compile(r"^\s*ALTER\s+TABLE\s+([`\"\w.]+)\s+DROP\s+(IF\s+EXISTS\s+)?(PARTITION\b.*)$",
                             re.I | re.S)
_EXECUTE = re.compile(r"^\s*EXECUTE\s+(\w+)(?:\s+USING\s+(.*))?$", re.I | re.S)
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+(?:ANALYZE\s+)?(?:\([^)]*\)\s*)?(.*)$", re.I | re.S)
_UNLOAD = re.compile(r"^\s*UNLOAD\b", re.I)
_ICEBERG_MAINTENANCE = re.compile(r"^\s*(OPTIMIZE|VACUUM|ALTER\s+TABLE\s+\S+\s+UNSET)\b", re.I)
_DESCRIBE = re.compile(r"^\s*(?:DESCRIBE|DESC)\s+(?:FORMATTED\s+|EXTENDED\s+)?([`\"\w.]+)\s*$", re.I)
_UNSUPPORTED = re.compile(r"^\s*(PREPARE|DEALLOCATE|USE)\b", re.I)


def clean(text: str) -> str:
    """The statement without surrounding whitespace and a trailing semicolon."""
    text = text.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    return text


def split_arguments(text: str) -> list[str]:
    """`1, 'a,b', ARRAY[1, 2]` -> ['1', "'a,b'", 'ARRAY[1, 2]']: top-level commas only."""
    try:
        tokens = Trino().tokenize(text)
    except TokenError as exc:
        raise QueryFailed(f"SYNTAX_ERROR: line 1:1: {exc}") from None
    args: list[str] = []
    depth = 0
    start = 0
    for token in tokens:
        if token.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif token.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth -= 1
        elif token.token_type == TokenType.COMMA and depth == 0:
            args.append(text[start:token.start].strip())
            start = token.end + 1
    tail = text[start:].strip()
    if tail:
        args.append(tail)
    return args


def substitute(text: str, params: list[str]) -> str:
    """Replaces the statement's `?` placeholders, in order, with parameter SQL (as Athena does)."""
    try:
        tokens = Trino().tokenize(text)
    except TokenError as exc:
        raise QueryFailed(f"SYNTAX_ERROR: line 1:1: {exc}") from None
    holes = [t for t in tokens if t.token_type == TokenType.PLACEHOLDER]
    if len(holes) != len(params):
        raise QueryFailed(f"INVALID_PARAMETER_USAGE: line 1:1: Incorrect number of parameters: expected "
                          f"{len(holes)} but found {len(params)}")
    out = []
    pos = 0
    for hole, value in zip(holes, params, strict=True):
        out.append(text[pos:hole.start])
        out.append(f"({value})")
        pos = hole.end + 1
    out.append(text[pos:])
    return "".join(out)


def expand(ctx: ExecContext, query: str, params: list[str]) -> str:
    """The SQL to run: EXECUTE resolved to its prepared statement, and parameters substituted."""
    text = clean(query)
    match = _EXECUTE.match(text)
    if match:
        statement = ctx.prepared(match.group(1))
        if statement is None:
            raise QueryFailed(f"NOT_FOUND: Prepared statement not found: {match.group(1)} in workgroup "
                              f"{ctx.workgroup}")
        using = split_arguments(match.group(2)) if match.group(2) else list(params)
        return substitute(clean(statement), using)
    if params:
        return substitute(text, params)
    return text


def statement_kind(query: str) -> tuple[str, str]:
    """(StatementType, SubstatementType) as Athena reports them, decided from the text alone."""
    head = clean(query).lstrip("(").split(None, 3)
    first = head[0].upper() if head else ""
    second = head[1].upper() if len(head) > 1 else ""
    if first in ("SELECT", "WITH", "VALUES", "TABLE"):
        return "DML", "SELECT"
    if first in ("INSERT", "UPDATE", "DELETE", "MERGE", "OPTIMIZE", "VACUUM"):
        return "DML", first
    if first == "UNLOAD":
        return "DML", "UNLOAD"
    if first == "EXECUTE":
        return "DML", "EXECUTE"
    if first == "EXPLAIN":
        return "UTILITY", "EXPLAIN"
    if first in ("SHOW", "DESCRIBE", "DESC", "MSCK", "ALTER", "DROP"):
        return "DDL", f"{first}_{second}" if first != "SHOW" else "SHOW"
    if first == "CREATE":
        if re.search(r"\bAS\s*\(?\s*(SELECT|WITH)\b", query, re.I) and "VIEW" not in query.upper().split("AS")[0]:
            return "DDL", "CREATE_TABLE_AS_SELECT"
        return "DDL", "CREATE_" + (second if second not in ("EXTERNAL", "OR") else "TABLE")
    return "DDL", "UNKNOWN"


def run(engine: Engine, text: str) -> Outcome:
    """Runs one (expanded) statement."""
    ddl = Ddl(engine)
    writes = Writes(engine, ddl)
    if _UNSUPPORTED.match(text):
        word = text.split(None, 1)[0].upper()
        raise QueryFailed(f"NOT_SUPPORTED: line 1:1: {word} statements are not supported by fogbank's Athena engine")
    match = _SHOW.match(text)
    if match:
        return ddl.show(match.group(1), match.group(2).strip())
    match = _MSCK.match(text)
    if match:
        return ddl.repair(match.group(1))
    match = _ADD_PARTITION.match(text)
    if match:
        return ddl.add_partitions(match.group(1), bool(match.group(2)), parse_partition_specs(match.group(3)))
    match = _DROP_PARTITION.match(text)
    if match:
        specs = [spec for spec, _ in parse_partition_specs(match.group(3))]
        return ddl.drop_partitions_text(match.group(1), bool(match.group(2)), specs)
    if _UNLOAD.match(text):
        return writes.unload(text)
    if _ICEBERG_MAINTENANCE.match(text):
        iceberg = engine.iceberg
        maintained = iceberg.optimize(text) or iceberg.vacuum(text) or iceberg.unset_properties(text)
        if maintained is not None:
            return maintained
    match = _EXPLAIN.match(text)
    if match:
        return explain(engine, match.group(1))
    match = _DESCRIBE.match(text)
    if match:
        node = sqlengine.parse(f"DESCRIBE {match.group(1)}", "athena")
        if isinstance(node, exp.Describe):
            return ddl.describe(node)
    try:
        node = sqlengine.parse(text, "athena")
    except SqlError as exc:
        raise QueryFailed(str(exc)) from None
    if isinstance(node, exp.Query):
        return engine.select(node)
    if isinstance(node, exp.Create):
        kind = str(node.args.get("kind") or "").upper()
        if kind in ("DATABASE", "SCHEMA"):
            return ddl.create_database(node)
        if kind == "VIEW":
            return ddl.create_view(node)
        if kind == "TABLE":
            return writes.ctas(node) if node.args.get("expression") is not None else ddl.create_table(node)
    if isinstance(node, exp.Drop):
        kind = str(node.args.get("kind") or "").upper()
        if kind in ("DATABASE", "SCHEMA"):
            return ddl.drop_database(node)
        if kind in ("TABLE", "VIEW"):
            return ddl.drop_table(node, view=kind == "VIEW")
    if isinstance(node, exp.Insert):
        return writes.insert(node)
    if isinstance(node, exp.Update | exp.Delete | exp.Merge):
        return engine.iceberg.modify(node)
    if isinstance(node, exp.Alter):
        return ddl.alter_table(node)
    if isinstance(node, exp.Describe):
        return ddl.describe(node)
    raise QueryFailed(f"NOT_SUPPORTED: line 1:1: statement not supported: {text[:60]}")


def explain(engine: Engine, text: str) -> Outcome:
    node = sqlengine.parse(text, "trino")
    if not isinstance(node, exp.Query):
        raise QueryFailed("NOT_SUPPORTED: EXPLAIN is only supported for queries")
    sql_text, _ = engine.prepare(node)
    rows = engine.conn.execute(f"EXPLAIN {sql_text}").fetchall()
    lines: list[list[str]] = []
    for row in rows:
        for line in str(row[-1]).split("\n"):
            lines.append([line])
    from fogbank.services.athena.ddl import _string_columns

    out = Outcome("UTILITY", "EXPLAIN", text_rows=lines)
    out.columns = _string_columns(["Query Plan"])
    return out
