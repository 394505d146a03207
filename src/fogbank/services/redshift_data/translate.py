"""Redshift SQL → DuckDB SQL: sqlglot's redshift→duckdb transpiler, plus what it leaves to the warehouse.

sqlglot carries most of the dialect (GETDATE, DATEADD, DATEDIFF, NVL, LISTAGG, TOP, ...). This module adds
what a Redshift user relies on and sqlglot does not do for DuckDB: identifiers folded to lower case, Data API
parameters bound as untyped literals, integer-typed column labels named as Redshift names them (`count`,
`?column?`), IDENTITY columns backed by sequences, declared types (VARCHAR(50), CHAR, SUPER) remembered for
column metadata, constraints Redshift does not enforce dropped, and references to external schemas routed
to views over the lake.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from fogbank.services.redshift_data.pgerror import RedshiftSqlError, from_duckdb
from fogbank.services.redshift_data.sqltext import leading_words, strip_storage_clauses

logging.getLogger("sqlglot").setLevel(logging.ERROR)

VERSION = ("PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), "
           "Redshift 1.0.0 (fogbank)")

_TEXT_TYPES = {exp.DataType.Type.VARCHAR, exp.DataType.Type.NVARCHAR, exp.DataType.Type.CHAR,
               exp.DataType.Type.NCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.BPCHAR}
_FIXED_CHAR = {exp.DataType.Type.CHAR, exp.DataType.Type.NCHAR, exp.DataType.Type.BPCHAR}
_DATE_PARTS = {"y": "year", "yr": "year", "yrs": "year", "years": "year", "mon": "month", "mons": "month",
               "months": "month", "d": "day", "days": "day", "h": "hour", "hr": "hour", "hrs": "hour",
               "hours": "hour", "m": "minute", "min": "minute", "mins": "minute", "minutes": "minute",
               "s": "second", "sec": "second", "secs": "second", "seconds": "second", "w": "week",
               "weeks": "week", "qtr": "quarter", "qtrs": "quarter", "quarters": "quarter",
               "dayofweek": "dow", "dw": "dow", "weekday": "dow", "dayofyear": "doy", "dy": "doy", "yd": "doy",
               "ms": "millisecond", "msec": "millisecond", "msecs": "millisecond", "milliseconds": "millisecond",
               "us": "microsecond", "usec": "microsecond", "usecs": "microsecond",
               "microseconds": "microsecond", "c": "century", "dec": "decade", "mil": "millennium"}
_LABEL_FUNCTION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(\(|$)")


@dataclass(frozen=True)
class ColumnType:
    """A column's type as Redshift declares it: the name its metadata reports, and its length/precision."""

    name: str
    length: int = 0
    precision: int = 0
    scale: int = 0

    def text(self) -> str:
        if self.name in ("varchar", "bpchar", "varbyte"):
            return f"{self.name}({self.length})"
        if self.name == "numeric":
            return f"numeric({self.precision},{self.scale})"
        return self.name

    @staticmethod
    def parse(text: str) -> ColumnType | None:
        match = re.fullmatch(r"([a-z0-9_ ]+)(?:\((\d+)(?:,(\d+))?\))?", text.strip())
        if not match:
            return None
        name, first, second = match.group(1), match.group(2), match.group(3)
        if name in ("varchar", "bpchar", "varbyte"):
            return ColumnType(name, length=int(first or 0))
        if name == "numeric":
            return ColumnType(name, precision=int(first or 18), scale=int(second or 0))
        return ColumnType(name)


@dataclass
class ExternalRef:
    """A table of an external schema a statement reads; the statement reads the view named `view`."""

    view: str
    schema: str
    table: str


@dataclass
class Translated:
    sql: str
    kind: str  # "query" (returns rows), "dml" (counts rows), "ddl"
    external: list[ExternalRef] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)


@dataclass
class Dialect:
    """What translation needs to know about the session."""

    user: str = "awsuser"
    database: str = "dev"
    external_schemas: frozenset[str] = frozenset()
    counter: list[int] = field(default_factory=lambda: [0])


def _syntax_error(sql: str, error: Exception) -> RedshiftSqlError:
    """PostgreSQL's wording of a syntax error (DuckDB parses with PostgreSQL's grammar, as Redshift's
    parser descends from it), else the token sqlglot stopped at."""
    try:
        duckdb.extract_statements(sql)
    except duckdb.ParserException as parser_error:
        return from_duckdb(parser_error)
    except duckdb.Error:
        pass
    if isinstance(error, ParseError) and error.errors:
        near = (error.errors[0].get("highlight") or "").strip()
        if near:
            return RedshiftSqlError(f'syntax error at or near "{near}"')
    return RedshiftSqlError("syntax error at end of input")


def parse(sql: str) -> exp.Expression:
    """One Redshift statement as a sqlglot tree; a parse failure is Redshift's syntax error."""
    text = strip_storage_clauses(sql) if leading_words(sql, 1) == ["CREATE"] else sql
    try:
        trees = sqlglot.parse(text, read="redshift")
    except (ParseError, TokenError) as error:
        raise _syntax_error(text, error) from None
    statements = [t for t in trees if isinstance(t, exp.Expression)]
    if len(statements) != 1:
        raise RedshiftSqlError("syntax error at end of input")
    return statements[0]


def column_type(data_type: exp.DataType) -> ColumnType:
    """The Redshift type a declared DataType names (the name Redshift's metadata reports)."""
    kind = data_type.this
    params = [p.this for p in data_type.expressions if isinstance(p, exp.DataTypeParam)]
    values = [p.name for p in params]
    numbers = [int(v) for v in values if v.isdigit()]
    T = exp.DataType.Type
    if kind in _FIXED_CHAR:
        return ColumnType("bpchar", length=numbers[0] if numbers else 1)
    if kind in _TEXT_TYPES:
        if values and values[0].upper() == "MAX":
            return ColumnType("varchar", length=65535)
        return ColumnType("varchar", length=numbers[0] if numbers else 256)
    simple = {T.SMALLINT: "int2", T.TINYINT: "int2", T.INT: "int4", T.BIGINT: "int8", T.FLOAT: "float4",
              T.DOUBLE: "float8", T.BOOLEAN: "bool", T.DATE: "date", T.TIMESTAMP: "timestamp",
              T.TIMESTAMPTZ: "timestamptz", T.TIME: "time", T.TIMETZ: "timetz", T.SUPER: "super",
              T.GEOMETRY: "geometry", T.GEOGRAPHY: "geography", T.JSON: "super"}
    if kind in simple:
        return ColumnType(simple[kind])
    if kind in (T.DECIMAL, T.BIGDECIMAL):
        return ColumnType("numeric", precision=numbers[0] if numbers else 18,
                          scale=numbers[1] if len(numbers) > 1 else 0)
    if kind in (T.VARBINARY, T.BINARY, T.BLOB):
        return ColumnType("varbyte", length=numbers[0] if numbers else 64000)
    return ColumnType(data_type.sql("redshift").lower())


def _duckdb_type(node: exp.DataType) -> exp.DataType:
    """The DuckDB type to store a Redshift type in (lengths dropped: DuckDB strings are unbounded)."""
    T = exp.DataType.Type
    kind = node.this
    if kind in _TEXT_TYPES:
        return exp.DataType.build("VARCHAR")
    if kind == T.SUPER:
        return exp.DataType.build("JSON")
    if kind in (T.VARBINARY, T.BINARY):
        return exp.DataType.build("BLOB")
    if kind == T.DECIMAL and not node.expressions:
        return exp.DataType.build("DECIMAL(18, 0)")
    if kind in (T.GEOMETRY, T.GEOGRAPHY):
        raise RedshiftSqlError(f"type {kind.value.lower()} is not supported by this warehouse")
    return node


def _label(node: exp.Expression) -> str | None:
    """The column name Redshift gives an unaliased select item, or None where the engine's own name is it."""
    if isinstance(node, (exp.Alias, exp.Star)) or (isinstance(node, exp.Column) and node.is_star):
        return None
    if isinstance(node, exp.Column):
        return None
    inner = node
    while isinstance(inner, (exp.Cast, exp.TryCast, exp.Paren)):
        inner = inner.this
    if isinstance(inner, exp.Column):
        return inner.name
    if isinstance(inner, exp.Window):
        inner = inner.this
    if isinstance(inner, exp.Case):
        return "case"
    if isinstance(inner, (exp.Func, exp.CurrentUser)):
        text = inner.sql("redshift")
        match = _LABEL_FUNCTION.match(text)
        if match:
            return match.group(1).lower()
    return "?column?"


def _label_select(select: exp.Expression) -> None:
    query: exp.Expression | None = select
    while isinstance(query, (exp.Union, exp.Intersect, exp.Except)):
        query = query.this
    if isinstance(query, exp.Subquery):
        query = query.this
    if not isinstance(query, exp.Select):
        return
    items = []
    for item in query.expressions:
        label = _label(item)
        items.append(exp.alias_(item, exp.to_identifier(label, quoted=True)) if label is not None else item)
    query.set("expressions", items)


_TEMPORAL = (exp.CurrentTimestamp, exp.CurrentDate, exp.TsOrDsAdd, exp.DateAdd, exp.TimestampAdd, exp.DateTrunc,
             exp.TimestampTrunc, exp.StrToTime, exp.StrToDate, exp.TsOrDsToDate)
_TEMPORAL_TYPES = {exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ,
                   exp.DataType.Type.DATETIME}


def _is_temporal(node: exp.Expression) -> bool:
    """Whether an expression is a date or timestamp by its shape (TRUNC of one is a date in Redshift)."""
    if isinstance(node, _TEMPORAL):
        return True
    return isinstance(node, exp.Cast) and isinstance(node.to, exp.DataType) and node.to.this in _TEMPORAL_TYPES


def _replace_functions(tree: exp.Expression, dialect: Dialect) -> exp.Expression:
    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Trunc) and not node.args.get("decimals") and _is_temporal(node.this):
            return exp.Cast(this=node.this, to=exp.DataType.build("DATE"))
        if isinstance(node, exp.CurrentUser):
            return exp.Literal.string(dialect.user)
        if isinstance(node, exp.CurrentVersion):
            return exp.Literal.string(VERSION)
        if isinstance(node, exp.CurrentTimestamp) and not node.args.get("sysdate"):
            # GETDATE() is a TIMESTAMP in UTC; DuckDB's CURRENT_TIMESTAMP is a TIMESTAMPTZ.
            return exp.CurrentTimestamp(sysdate=True)
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            args = node.expressions
            if name in ("datepart", "date_part") and len(args) == 2 and isinstance(args[0], (exp.Column, exp.Var)):
                part = args[0].name.lower()
                return exp.Anonymous(this="date_part", expressions=[
                    exp.Literal.string(_DATE_PARTS.get(part, part)), args[1]])
            if name == "isnull" and len(args) == 2:
                return exp.Coalesce(this=args[0], expressions=[args[1]])
            if name == "pg_backend_pid" and not args:
                return exp.Literal.number(1073741824)
        if isinstance(node, exp.DataType):
            return _duckdb_type(node)
        return node

    return tree.transform(fix)


def _lower_identifiers(tree: exp.Expression) -> None:
    """Redshift folds every identifier to lower case (quoted ones too, unless case sensitivity is on)."""
    for identifier in tree.find_all(exp.Identifier):
        identifier.set("this", identifier.this.lower())


def _bind(tree: exp.Expression, parameters: dict[str, str]) -> exp.Expression:
    def bind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name:
            if node.name not in parameters:
                raise RedshiftSqlError(f"there is no parameter ${node.name}")
            return exp.Literal.string(parameters[node.name])
        return node

    return tree.transform(bind)


def _route_external(tree: exp.Expression, dialect: Dialect) -> list[ExternalRef]:
    refs: list[ExternalRef] = []
    if not dialect.external_schemas:
        return refs
    seen: dict[tuple[str, str], str] = {}
    for table in list(tree.find_all(exp.Table)):
        schema = table.db.lower()
        if not schema or schema not in dialect.external_schemas:
            continue
        if table.catalog and table.catalog.lower() != dialect.database:
            continue
        key = (schema, table.name.lower())
        view = seen.get(key)
        if view is None:
            dialect.counter[0] += 1
            view = f"__fogbank_external_{dialect.counter[0]}"
            seen[key] = view
            refs.append(ExternalRef(view, *key))
        alias = table.args.get("alias")
        replacement = exp.Table(this=exp.to_identifier(view, quoted=True))
        replacement.set("alias", alias if alias is not None else exp.TableAlias(
            this=exp.to_identifier(table.name.lower(), quoted=True)))
        table.replace(replacement)
    return refs


SYSTEM_VIEWS = {"svv_tables", "svv_columns", "pg_table_def", "stl_load_errors"}


def _route_system_views(tree: exp.Expression, dialect: Dialect) -> None:
    """Redshift's system views (see warehouse.SYSTEM_VIEWS) live in the database's hidden schema."""
    for table in tree.find_all(exp.Table):
        if table.name.lower() in SYSTEM_VIEWS and table.db.lower() in ("", "pg_catalog") and not table.catalog:
            table.set("db", exp.to_identifier("main"))
            table.set("catalog", exp.to_identifier(dialect.database, quoted=True))


def _table_name(table: exp.Table) -> str:
    return ".".join(f'"{p}"' for p in (table.catalog, table.db, table.name) if p)


def _create_table(tree: exp.Create, dialect: Dialect, out: Translated) -> exp.Create:
    """Keeps what DuckDB can store of a Redshift CREATE TABLE, and remembers what it cannot."""
    properties = tree.args.get("properties")
    temporary = False
    if properties is not None:
        kept = [p for p in properties.expressions if isinstance(p, exp.TemporaryProperty)]
        temporary = bool(kept)
        tree.set("properties", exp.Properties(expressions=kept) if kept else None)
    schema = tree.this
    if not isinstance(schema, exp.Schema):
        return tree
    table = schema.this
    assert isinstance(table, exp.Table)
    like = [e for e in schema.expressions if isinstance(e, exp.LikeProperty)]
    if like:
        source = like[0].this
        return exp.Create(this=table, kind="TABLE", exists=tree.args.get("exists"),
                          properties=tree.args.get("properties"),
                          expression=exp.select("*").from_(source).limit(0))
    columns: list[exp.Expression] = []
    for item in schema.expressions:
        if not isinstance(item, exp.ColumnDef):
            continue  # PRIMARY KEY / UNIQUE / FOREIGN KEY: informational in Redshift, never enforced
        kind = item.args.get("kind")
        declared = column_type(kind) if isinstance(kind, exp.DataType) else None
        constraints = []
        for constraint in item.args.get("constraints") or []:
            ckind = constraint.args.get("kind")
            if isinstance(ckind, exp.GeneratedAsIdentityColumnConstraint):
                start = ckind.args.get("start")
                step = ckind.args.get("increment")
                sequence = f"__identity_{table.name}_{item.name}"
                prefix = ".".join(f'"{p}"' for p in (table.catalog, table.db) if p)
                qualified = f"{prefix}.\"{sequence}\"" if prefix else f'"{sequence}"'
                if not temporary:
                    out.before.append(f"CREATE OR REPLACE SEQUENCE {qualified} START WITH "
                                      f"{start.sql() if start else '1'} INCREMENT BY {step.sql() if step else '1'}")
                    constraints.append(exp.ColumnConstraint(kind=exp.DefaultColumnConstraint(
                        this=exp.Anonymous(this="nextval", expressions=[exp.Literal.string(
                            qualified.replace('"', ""))]))))
                continue
            if isinstance(ckind, (exp.NotNullColumnConstraint, exp.DefaultColumnConstraint)):
                constraints.append(constraint)
        item.set("constraints", constraints)
        columns.append(item)
        if declared is not None and not temporary:
            out.after.append(f"COMMENT ON COLUMN {_table_name(table)}.\"{item.name}\" IS "
                             f"'{declared.text()}'")
    schema.set("expressions", columns)
    return tree


def _alter_add_column(tree: exp.Alter, out: Translated) -> None:
    table = tree.this
    for action in tree.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef) and isinstance(action.args.get("kind"), exp.DataType):
            declared = column_type(action.args["kind"])
            out.after.append(f"COMMENT ON COLUMN {_table_name(table)}.\"{action.name}\" IS '{declared.text()}'")


_STATEMENTS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Values, exp.Subquery, exp.Insert, exp.Update,
               exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.TruncateTable, exp.Comment)
_OBJECT_KINDS = {"TABLE", "VIEW", "SCHEMA"}
_TABLE_FUNCTIONS = {"range", "generate_series", "unnest"}
_DENIED_PREFIXES = ("read_", "pragma_", "parquet_", "sqlite_", "postgres_", "mysql_", "iceberg_", "delta_",
                    "http_", "duckdb_secret", "duckdb_setting", "duckdb_extension", "duckdb_database")
_DENIED = {"glob", "sniff_csv", "parquet_scan", "query", "query_table", "getenv", "load_aws_credentials",
           "json_execute_serialized_sql", "sql_auto_complete", "checkpoint", "force_checkpoint"}


def _function_name(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return None


def _check_allowed(tree: exp.Expression) -> None:
    """Only what Redshift has: no engine statements (ATTACH, PRAGMA, INSTALL, ...) and no function or table
    name that would make the engine read or write files."""
    if not isinstance(tree, _STATEMENTS):
        word = tree.sql("redshift").split(None, 1)[0] if tree.sql("redshift") else ""
        raise RedshiftSqlError(f'syntax error at or near "{word}"')
    kind = (tree.args.get("kind") or "").upper() if isinstance(tree, (exp.Create, exp.Drop, exp.Alter)) else ""
    if kind and kind not in _OBJECT_KINDS:
        raise RedshiftSqlError(f"{tree.key.upper()} {kind} is not supported by this warehouse")
    for node in tree.walk():
        name = _function_name(node)
        if name is not None and (name in _DENIED or name.startswith(_DENIED_PREFIXES)):
            raise RedshiftSqlError(f"function {name} does not exist")
        if isinstance(node, exp.Table):
            target = node.this
            if isinstance(target, exp.Func) and (_function_name(target) or "") not in _TABLE_FUNCTIONS:
                raise RedshiftSqlError(f"function {_function_name(target)} does not exist")
            if any(c in node.name for c in "/\\:") or re.search(r"\.(csv|tsv|parquet|json|jsonl|ndjson|gz|zst|"
                                                                 r"txt|duckdb|db|arrow|xlsx)$", node.name, re.I):
                raise RedshiftSqlError(f'relation "{node.name}" does not exist')


def _kind(tree: exp.Expression) -> str:
    if isinstance(tree, (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Values, exp.Subquery,
                         exp.Describe, exp.Show)):
        return "query"
    if isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge)):
        return "dml"
    return "ddl"


def _plain_views(tree: exp.Expression) -> None:
    """Materialized views become views: always as fresh as a refreshed materialized view."""
    if isinstance(tree, exp.Drop) and tree.args.get("materialized"):
        tree.set("materialized", False)
    properties = tree.args.get("properties") if isinstance(tree, exp.Create) else None
    if properties is not None:
        kept = [p for p in properties.expressions if not isinstance(p, exp.MaterializedProperty)]
        tree.set("properties", exp.Properties(expressions=kept) if kept else None)


def _select_into(tree: exp.Expression) -> exp.Expression:
    """SELECT ... INTO t is CREATE TABLE t AS SELECT ... (DuckDB has only the second)."""
    into = tree.args.get("into") if isinstance(tree, exp.Select) else None
    if into is None:
        return tree
    tree.set("into", None)
    properties = exp.Properties(expressions=[exp.TemporaryProperty()]) if into.args.get("temporary") else None
    return exp.Create(this=into.this, kind="TABLE", expression=tree, properties=properties)


def translate(sql: str, parameters: dict[str, str], dialect: Dialect) -> Translated:
    """One Redshift statement as DuckDB SQL, with what must run around it."""
    tree = parse(sql)
    if isinstance(tree, exp.Command):
        raise RedshiftSqlError(f'syntax error at or near "{tree.name}"' if tree.name
                               else "syntax error at end of input")
    _check_allowed(tree)
    _plain_views(tree)
    tree = _select_into(tree)
    tree = _bind(tree, parameters)
    _lower_identifiers(tree)
    out = Translated(sql="", kind=_kind(tree))
    if out.kind == "query":
        _label_select(tree)
    elif isinstance(tree, exp.Create) and isinstance(tree.args.get("expression"), exp.Query):
        _label_select(tree.args["expression"])
    if isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() == "TABLE":
        tree = _create_table(tree, dialect, out)
    if isinstance(tree, exp.Alter):
        _alter_add_column(tree, out)
    out.external = _route_external(tree, dialect)
    _route_system_views(tree, dialect)
    tree = _replace_functions(tree, dialect)
    out.sql = tree.sql(dialect="duckdb")
    return out


def translate_query(sql: str, parameters: dict[str, str], dialect: Dialect) -> Translated:
    """A statement that must be a query (UNLOAD's select)."""
    out = translate(sql, parameters, dialect)
    if out.kind != "query":
        raise RedshiftSqlError("UNLOAD can only be used with a SELECT statement")
    return out
