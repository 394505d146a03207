"""DuckDB sessions and SQL dialect translation, shared by the SQL services (Athena, Redshift).

Other engines' SQL (Trino for Athena, Redshift's PostgreSQL dialect) is parsed with sqlglot and written
out as DuckDB SQL. sqlglot covers most of the mapping; where DuckDB's function of the same name means
something else (date_diff counts boundaries, regexp_extract returns '' on no match, date arithmetic on
dates returns timestamps), the fixes below rewrite the tree so that a translated query gives the source
engine's answer or fails with a clear reason, never a silently different one.
"""

from __future__ import annotations

import functools
import re
import struct
import threading
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import duckdb
import sqlglot
from cachetools import LRUCache
from sqlglot import exp
from sqlglot.errors import ErrorLevel, OptimizeError, ParseError, TokenError, UnsupportedError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

Schema = dict[str, dict[str, str]]


class SqlError(Exception):
    """SQL that cannot be run: a syntax error, or a construct the engine does not support.

    `kind` is a Trino-style error name (SYNTAX_ERROR, NOT_SUPPORTED, ...); `line`/`column` point into the
    original text when known.
    """

    def __init__(self, message: str, kind: str = "SYNTAX_ERROR", line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"{self.kind}: line {self.line}:{self.column}: {self.message}"


# -- DuckDB sessions ---------------------------------------------------------------------------------------

_MACROS = (
    # Trino's json_extract_scalar is NULL for objects and arrays; DuckDB's ->> returns their JSON text.
    "CREATE OR REPLACE MACRO fb_json_scalar(j, p) AS CASE WHEN json_type(j, p) IN ('OBJECT', 'ARRAY') "
    "THEN NULL ELSE json_extract_string(j, p) END",
    # Trino's regexp_extract is NULL when nothing matches; DuckDB's returns ''.
    "CREATE OR REPLACE MACRO fb_regexp_extract(s, p, g) AS "
    "CASE WHEN regexp_matches(s, p) THEN regexp_extract(s, p, g) END",
    "CREATE OR REPLACE MACRO fb_map_agg(k, v) AS map_from_entries(list(struct_pack(key := k, value := v)))",
    "CREATE OR REPLACE MACRO fb_url_extract_host(u) AS "
    "nullif(regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/]*@)?([^/:?#]+)', 1), '')",
    "CREATE OR REPLACE MACRO fb_url_extract_protocol(u) AS "
    "nullif(regexp_extract(u, '^([A-Za-z][A-Za-z0-9+.-]*):', 1), '')",
    "CREATE OR REPLACE MACRO fb_url_extract_path(u) AS "
    "regexp_extract(u, '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)', 1)",
    "CREATE OR REPLACE MACRO fb_url_extract_query(u) AS nullif(regexp_extract(u, '\\?([^#]*)', 1), '')",
    "CREATE OR REPLACE MACRO fb_to_iso8601(x) AS CASE typeof(x) "
    "WHEN 'DATE' THEN strftime(x::DATE, '%Y-%m-%d') "
    "WHEN 'TIMESTAMP WITH TIME ZONE' THEN strftime(x::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%g') || 'Z' "
    "ELSE strftime(x::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%g') END",
)


def connect(threads: int = 2, memory_limit: str = "2GB", temp_dir: Path | None = None,
            database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up as the SQL services expect: UTC, Trino-like integer division, no
    extension downloads (everything needed is built in), and fogbank's helper macros."""
    conn = duckdb.connect(database, config={"threads": threads, "memory_limit": memory_limit,
                                            "autoinstall_known_extensions": False})
    # GLOBAL, so that every cursor of the database has them too
    conn.execute("SET GLOBAL TimeZone = 'UTC'")
    conn.execute("SET GLOBAL integer_division = true")
    if temp_dir is not None:
        set_temp_dir(conn, temp_dir)
    for macro in _MACROS:
        conn.execute(macro)
    conn.create_function("fb_sci_double", java_double, ["DOUBLE"], "VARCHAR", side_effects=False)
    conn.create_function("fb_sci_real", java_real, ["FLOAT"], "VARCHAR", side_effects=False)
    conn.create_function("fb_trino_type", trino_type_name, ["VARCHAR"], "VARCHAR", side_effects=False)
    return conn


def set_temp_dir(conn: duckdb.DuckDBPyConnection, temp_dir: Path) -> None:
    """Where the connection spills; set before the connection is locked down."""
    conn.execute("SET temp_directory = ?", [str(temp_dir)])


def lock_down(conn: duckdb.DuckDBPyConnection, allowed_paths: Iterable[str],
              allowed_dirs: Iterable[str] = ()) -> None:
    """Lets the connection read exactly these files (and write under these directories), then freezes
    its configuration, so query text can never reach any other file of the machine."""
    dirs = sorted({d if d.endswith("/") else d + "/" for d in allowed_dirs})
    paths = sorted(set(allowed_paths) | {d.rstrip("/") for d in dirs})
    conn.execute("SET allowed_paths = ?", [paths])
    if dirs:
        conn.execute("SET allowed_directories = ?", [dirs])
    conn.execute("SET enable_external_access = false")
    conn.execute("SET lock_configuration = true")


_TRINO_TYPE_FIXES = (
    (re.compile(r"\btimestamp_s\b"), "timestamp(0)"),
    (re.compile(r"\btimestamp_ms\b"), "timestamp(3)"),
    (re.compile(r"\btimestamp_ns\b"), "timestamp(9)"),
    (re.compile(r"\btimestamp\b(?!\()"), "timestamp(3)"),  # Athena's timestamps are Trino's timestamp(3)
    (re.compile(r"(?<!with )\btime\b(?!\()"), "time(3)"),
    (re.compile(r"\binterval\b"), "interval day to second"),
    (re.compile(r",\s+(?=\d)"), ","),  # decimal(10,2)
)


@functools.lru_cache(maxsize=1024)
def trino_type_name(duckdb_name: str | None) -> str | None:
    """Trino's name of a DuckDB type, as Trino's typeof() prints it: array(integer), decimal(10,2),
    row(a integer, b varchar), timestamp(3) with time zone; a NULL of no type is `unknown`."""
    if duckdb_name is None:
        return None
    if duckdb_name in ("NULL", '"NULL"'):
        return "unknown"
    try:
        name = type_sql(duckdb_name, "duckdb", "trino").lower()
    except SqlError:
        return duckdb_name.lower()
    for pattern, replacement in _TRINO_TYPE_FIXES:
        name = pattern.sub(replacement, name)
    return name


# -- Java number formatting (Trino prints doubles as Java does) --------------------------------------------


def _java_scientific(text: str) -> str:
    sign = "-" if text.startswith("-") else ""
    digits_tuple = Decimal(text.lstrip("-")).normalize().as_tuple()
    digits = "".join(str(d) for d in digits_tuple.digits).rstrip("0") or "0"
    exponent = len(digits_tuple.digits) + int(digits_tuple.exponent) - 1
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exponent}"


def java_double(value: float | None) -> str | None:
    """Double.toString: plain notation in [1e-3, 1e7), else d.dddE±n, shortest round-trip digits."""
    if value is None:
        return None
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "e" not in text else format(Decimal(text), "f")
    return _java_scientific(repr(value))


def java_real(value: float | None) -> str | None:
    """Float.toString, with float32's shortest digits."""
    if value is None:
        return None
    text = _shortest_float32(value)
    if value != value or value in (float("inf"), float("-inf")) or value == 0:
        return java_double(value)
    if 1e-3 <= abs(value) < 1e7:
        return text if "e" not in text else format(Decimal(text), "f")
    return _java_scientific(text)


def _shortest_float32(value: float) -> str:
    """The fewest significant digits that read back as the same float32."""
    target = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        text = f"{target:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == target:
            return repr(float(text))
    return repr(target)


# -- types -------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _parsed_type(text: str, dialect: str) -> exp.DataType:
    try:
        return exp.DataType.build(text.strip(), dialect=dialect)
    except (ParseError, TokenError, ValueError) as exc:
        raise SqlError(f"Unknown type: {text}", "NOT_SUPPORTED") from exc


def parse_type(text: str, dialect: str = "hive") -> exp.DataType:
    """A column type as a catalog stores it (Hive spelling: array<struct<a:int>>) as a sqlglot type.

    Tables name the same few types over and over, so parsed types are kept; callers get their own copy."""
    return _parsed_type(text, dialect).copy()


@functools.lru_cache(maxsize=4096)
def duckdb_type(text: str, dialect: str = "hive") -> str:
    """The DuckDB spelling of a catalog column type."""
    built = _parsed_type(text, dialect)
    if built.this in (exp.DType.CHAR, exp.DType.VARCHAR, exp.DType.TEXT, exp.DType.NCHAR, exp.DType.NVARCHAR):
        return "VARCHAR"
    return built.sql("duckdb")


@functools.lru_cache(maxsize=4096)
def type_sql(text: str, source: str, target: str) -> str:
    """A catalog type (in `source` spelling) written in `target`'s spelling, e.g. Hive to Trino."""
    return _parsed_type(text, source).sql(target)


def hive_type(data_type: exp.DataType) -> str:
    """The Hive spelling Glue stores (lower case, no spaces after commas): map<string,int>."""
    text = data_type.sql("hive").lower()
    text = re.sub(r",\s+", ",", text)
    text = re.sub(r":\s+", ":", text)
    return text.replace("varchar", "string") if text.startswith("varchar") and "(" not in text else text


# -- translation -------------------------------------------------------------------------------------------


def parse(sql: str, dialect: str) -> exp.Expr:
    """One statement, with the source engine's error wording and position on bad syntax.

    Clients send the same statements again and again (dashboards, polling jobs, views read by every query
    over them), and copying a parsed tree costs a fraction of parsing it, so recent trees are kept; every
    caller gets a copy of its own to change."""
    return _parsed(sql, dialect).copy()


@functools.lru_cache(maxsize=512)
def _parsed(sql: str, dialect: str) -> exp.Expr:
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.RAISE) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        desc = str(first.get("description") or exc).split("\n")[0]
        raise SqlError(f"mismatched input: {desc}", "SYNTAX_ERROR", int(first.get("line") or 1),
                       int(first.get("col") or 1)) from exc
    except TokenError as exc:
        raise SqlError(f"token recognition error: {exc}") from exc
    if not statements:
        raise SqlError("mismatched input '<EOF>'. Expecting: a statement")
    if len(statements) > 1:
        raise SqlError("Only one sql statement is allowed. Got: 2", "SYNTAX_ERROR")
    if dialect in ("trino", "athena"):
        return _trino_decimals(sql, statements[0])
    return statements[0]


_DECIMAL_LITERAL = re.compile(r"\bDECIMAL\s*'\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*'", re.IGNORECASE)


def _trino_decimals(sql: str, tree: exp.Expr) -> exp.Expr:
    """Gives bare DECIMALs Trino's types: a literal `DECIMAL '12.50'` is decimal(4,2) (its own digits), and
    `CAST(x AS DECIMAL)` is decimal(38,0); both parse to the same CAST, which DuckDB would make decimal(18,3)."""
    literals = {m.group(1) for m in _DECIMAL_LITERAL.finditer(sql)}
    for node in tree.find_all(exp.Cast):
        to = node.args.get("to")
        if not isinstance(to, exp.DataType) or to.this != exp.DType.DECIMAL or to.expressions:
            continue
        value = node.this
        precision, scale = 38, 0
        if isinstance(value, exp.Literal) and value.is_string and value.this.strip() in literals:
            digits = value.this.strip().lstrip("+-")
            whole, _, fraction = digits.partition(".")
            scale = len(fraction)
            precision = max(1, len(whole.lstrip("0")) + scale)
        if precision > 38:
            continue
        node.set("to", exp.DataType.build(f"DECIMAL({precision}, {scale})"))
    return tree


def translate(sql: str, read_dialect: str, schema: Schema | None = None) -> str:
    """`sql` in `read_dialect` as DuckDB SQL; raises SqlError for what cannot be translated faithfully."""
    return to_duckdb(parse(sql, read_dialect), read_dialect, schema)


def to_duckdb(tree: exp.Expr, read_dialect: str, schema: Schema | None = None,
              qualify_columns: bool = True) -> str:
    """Writes an already parsed (and possibly rewritten) tree as DuckDB SQL.

    With a schema ({table: {column: type}}), columns are qualified and types annotated first, so the
    type-dependent fixes (date arithmetic on DATE stays DATE) apply; without one, or when qualification
    fails, the tree is translated as it is.
    """
    fixes = _FIXES.get(read_dialect, ())
    try:
        key: tuple[Any, ...] | None = (read_dialect, tree.sql(read_dialect), _schema_key(schema), qualify_columns,
                                       id(fixes))
    except (UnsupportedError, ValueError):
        key = None
    if key is not None:
        with _TRANSLATIONS_LOCK:
            found = _TRANSLATIONS.get(key)
        if found is not None:
            return found
    tree = tree.copy()
    if schema is not None and qualify_columns:
        tree = _annotate(tree, read_dialect, schema, types=_needs_types(tree, read_dialect))
    for fix in fixes:
        tree = _rewrite(tree, fix)
    try:
        text = tree.sql("duckdb", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise SqlError(str(exc).split("\n")[0], "NOT_SUPPORTED") from exc
    if key is not None:
        with _TRANSLATIONS_LOCK:
            _TRANSLATIONS[key] = text
    return text


def _schema_key(schema: Schema | None) -> tuple[Any, ...] | None:
    if schema is None:
        return None
    return tuple((table, tuple(columns.items())) for table, columns in schema.items())


# Translations of recently seen statements. A tree is known by its own SQL text (with the schema it was typed
# with): writing that text is several times cheaper than qualifying, typing and fixing the tree again, which a
# dashboard or a client re-running its queries would otherwise pay every time.
_TRANSLATIONS: LRUCache[tuple[Any, ...], str] = LRUCache(maxsize=1024)
_TRANSLATIONS_LOCK = threading.Lock()


def _rewrite(tree: exp.Expr, fix: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
    """Applies `fix` bottom-up, so a rewritten node's arguments were already rewritten themselves."""
    root = tree
    for node in reversed(list(tree.dfs())):
        parent, key, index = node.parent, node.arg_key, node.index
        new = fix(node)
        if new is node:
            continue
        if parent is None or key is None:
            root = new
        else:
            parent.set(key, new, index)
    return root


# The nodes whose translation depends on their operands' types (see _trino_date_arithmetic). Typing a whole
# statement costs milliseconds of Python per query, so it is done only when one of them is present.
_TYPED_NODES: dict[str, tuple[type[exp.Expr], ...]] = {
    "trino": (exp.DateAdd, exp.DateSub, exp.DateTrunc, exp.TimestampTrunc, exp.Interval),
    "athena": (exp.DateAdd, exp.DateSub, exp.DateTrunc, exp.TimestampTrunc, exp.Interval),
}


def _needs_types(tree: exp.Expr, dialect: str) -> bool:
    kinds = _TYPED_NODES.get(dialect)
    return kinds is None or tree.find(*kinds) is not None


def _annotate(tree: exp.Expr, dialect: str, schema: Schema, types: bool = True) -> exp.Expr:
    try:
        mapping = cast(dict[str, object], schema)
        qualified = qualify(tree.copy(), schema=mapping, dialect=dialect, validate_qualify_columns=False,
                            quote_identifiers=True, identify=False, isolate_tables=False)
        return annotate_types(qualified, schema=mapping, dialect=dialect) if types else qualified
    except (OptimizeError, ParseError, KeyError, ValueError, TypeError, AttributeError):
        return tree


# -- Trino fixes -------------------------------------------------------------------------------------------

_DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}


def _unit(node: exp.Expr) -> str:
    unit = node.args.get("unit")
    return (unit.name if isinstance(unit, exp.Expression) else str(unit or "")).upper()


def _is_date(node: exp.Expr | None) -> bool:
    return node is not None and node.type is not None and node.type.this == exp.DType.DATE


def _trino_date_arithmetic(node: exp.Expr) -> exp.Expr:
    """date_add/date_trunc on a DATE stay DATE in Trino; DuckDB widens them to TIMESTAMP."""
    if isinstance(node, exp.DateAdd | exp.DateSub | exp.DateTrunc | exp.TimestampTrunc):
        target = node.args.get("this")
        if _is_date(target) and _unit(node) in _DATE_UNITS:
            return exp.Cast(this=node, to=exp.DataType.build("DATE"))
    if isinstance(node, exp.Add | exp.Sub):
        left, right = node.this, node.expression
        interval = right if isinstance(right, exp.Interval) else left if isinstance(node, exp.Add) else None
        other = left if interval is right else right
        if isinstance(interval, exp.Interval) and _is_date(other):
            unit = interval.args.get("unit")
            unit_name = (unit.name if isinstance(unit, exp.Expression) else str(unit or "")).upper()
            if unit_name.rstrip("S") in _DATE_UNITS:
                return exp.Cast(this=node, to=exp.DataType.build("DATE"))
    return node


def _trino_date_diff(node: exp.Expr) -> exp.Expr:
    """Trino's date_diff counts whole units elapsed, which is DuckDB's date_sub (date_diff counts borders)."""
    if isinstance(node, exp.DateDiff):
        unit = _unit(node) or "DAY"
        return exp.Anonymous(this="DATE_SUB", expressions=[
            exp.Literal.string(unit.lower()), node.args["expression"], node.args["this"]])
    return node


def _trino_reduce(node: exp.Expr) -> exp.Expr:
    """reduce(array, start, step, finish): DuckDB's list_reduce has no finish lambda, so the finish body is
    applied to the reduction directly."""
    if not isinstance(node, exp.Reduce) or node.args.get("finish") is None:
        return node
    finish = node.args["finish"]
    reduced = node.copy()
    reduced.set("finish", None)
    if not isinstance(finish, exp.Lambda) or len(finish.expressions) != 1:
        raise SqlError("reduce needs a one-argument finish lambda", "NOT_SUPPORTED")
    var = finish.expressions[0].name
    body = finish.this.copy()
    def is_var(item: exp.Expr) -> bool:
        if isinstance(item, exp.Column):
            return item.name == var and not item.table
        return isinstance(item, exp.Identifier) and item.name == var and not isinstance(item.parent, exp.Column)

    if is_var(body):
        return reduced
    for item in list(body.find_all(exp.Column, exp.Identifier)):
        if is_var(item):
            item.replace(reduced.copy())
    return body


def _trino_functions(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.JSONExtractScalar):
        path = node.expression
        path_sql = path.sql("trino") if isinstance(path, exp.Expression) else str(path)
        literal = exp.Literal.string(path_sql.strip("'")) if isinstance(path, exp.JSONPath) else path
        return exp.Anonymous(this="fb_json_scalar", expressions=[node.this, literal])
    if isinstance(node, exp.RegexpExtract) and not node.args.get("parameters"):
        group = node.args.get("group") or exp.Literal.number(0)
        return exp.Anonymous(this="fb_regexp_extract", expressions=[node.this, node.expression, group])
    if isinstance(node, exp.RegexpReplace):
        replacement = node.args.get("replacement")
        if isinstance(replacement, exp.Literal) and replacement.is_string:
            text = re.sub(r"\$(\d)", r"\\\1", replacement.this)
            node.set("replacement", exp.Literal.string(text))
        return node
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name in _RENAMED:
            return exp.Anonymous(this=_RENAMED[name], expressions=node.expressions)
        if name in ("format_datetime", "parse_datetime") and len(node.expressions) == 2:
            fmt = node.expressions[1]
            if not (isinstance(fmt, exp.Literal) and fmt.is_string):
                raise SqlError(f"{name} needs a constant format", "NOT_SUPPORTED")
            pattern = exp.Literal.string(joda_to_strftime(fmt.this))
            if name == "format_datetime":
                return exp.Anonymous(this="strftime", expressions=[node.expressions[0], pattern])
            return exp.Anonymous(this="strptime", expressions=[node.expressions[0], pattern])
    if isinstance(node, exp.Typeof):  # DuckDB names types its own way: INTEGER[], STRUCT(...), TIMESTAMP
        return exp.Anonymous(this="fb_trino_type", expressions=[node])
    if isinstance(node, exp.ParseDatetime):
        fmt = node.args.get("format")
        if isinstance(fmt, exp.Literal) and fmt.is_string:
            return exp.Anonymous(this="strptime", expressions=[
                node.this, exp.Literal.string(joda_to_strftime(fmt.this))])
    return node


# Trino functions DuckDB lacks, provided by the macros above.
_RENAMED = {"to_iso8601": "fb_to_iso8601", "map_agg": "fb_map_agg", "url_extract_host": "fb_url_extract_host",
            "url_extract_protocol": "fb_url_extract_protocol", "url_extract_path": "fb_url_extract_path",
            "url_extract_query": "fb_url_extract_query"}

_JODA = [("yyyy", "%Y"), ("YYYY", "%Y"), ("yy", "%y"), ("MMMM", "%B"), ("MMM", "%b"), ("MM", "%m"),
         ("dd", "%d"), ("HH", "%H"), ("hh", "%I"), ("mm", "%M"), ("ss", "%S"), ("SSSSSS", "%f"),
         ("SSS", "%g"), ("EEEE", "%A"), ("EEE", "%a"), ("a", "%p"), ("DDD", "%j"), ("ZZ", "%z"),
         ("Z", "%z"), ("M", "%-m"), ("d", "%-d"), ("H", "%-H")]


def joda_to_strftime(pattern: str) -> str:
    """A Joda-Time pattern (Trino's format_datetime/parse_datetime) as a strftime pattern."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "'":
            end = pattern.find("'", i + 1)
            end = len(pattern) if end < 0 else end
            out.append(pattern[i + 1:end].replace("%", "%%") or "'")
            i = end + 1
            continue
        for joda, strf in _JODA:
            if pattern.startswith(joda, i):
                out.append(strf)
                i += len(joda)
                break
        else:
            if pattern[i].isalpha():
                raise SqlError(f"Unsupported format_datetime pattern letter '{pattern[i]}'", "NOT_SUPPORTED")
            out.append("%%" if pattern[i] == "%" else pattern[i])
            i += 1
    return "".join(out)


_FIXES: dict[str, tuple[Callable[[exp.Expr], exp.Expr], ...]] = {
    "trino": (_trino_date_arithmetic, _trino_date_diff, _trino_reduce, _trino_functions),
    "athena": (_trino_date_arithmetic, _trino_date_diff, _trino_reduce, _trino_functions),
}


def register_fixes(dialect: str, fixes: tuple[Callable[[exp.Expr], exp.Expr], ...]) -> None:
    """Lets another dialect's service add its own tree rewrites (kept here so all fixes are in one place)."""
    _FIXES[dialect] = _FIXES.get(dialect, ()) + fixes


def quote_literal(value: Any) -> str:
    """A value as a DuckDB SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
