"""Redshift Spectrum's statements on external schemas: CREATE EXTERNAL TABLE, DROP TABLE, and ALTER TABLE ADD /
DROP PARTITION, written to the Glue Data Catalog database behind the schema as Spectrum writes them (Hive
SerDes, EXTERNAL_TABLE), so Athena, Glue clients and the warehouse read the same table; and the two that also
write files, CREATE EXTERNAL TABLE ... AS and INSERT INTO an external table, recognized here and run by
spectrum_writes.

Only statements naming a table of an external schema are Spectrum's; the same words on a local table run
on the warehouse as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from fogbank.engines.sql import SqlError, parse
from fogbank.services.glue.hive_tables import external_table_input, partition_specs
from fogbank.services.redshift_data.external import LakeCatalog
from fogbank.services.redshift_data.pgerror import RedshiftSqlError
from fogbank.services.redshift_data.sqltext import Tokens, tokenize
from fogbank.services.redshift_data.warehouse import ExternalSchema

# Redshift type names that Hive spells differently (Hive's int8 is a tinyint, its float a 4-byte real).
_HIVE_TYPES = {"INT2": "smallint", "INT4": "int", "INT8": "bigint", "INTEGER": "int", "FLOAT4": "float",
               "REAL": "float", "FLOAT8": "double", "FLOAT": "double", "BOOL": "boolean", "NUMERIC": "decimal",
               "BPCHAR": "char", "CHARACTER": "char", "NVARCHAR": "varchar", "TEXT": "varchar(256)"}


# How much of an INSERT is read to tell whether its target is an external table.
_HEAD = 1_000


@dataclass
class SpectrumDdl:
    action: str  # create, drop, add_partitions, drop_partitions, create_as, insert
    schema: ExternalSchema
    table: str
    if_exists: bool = False  # IF EXISTS (drops) / IF NOT EXISTS (creates)
    table_input: dict[str, Any] = field(default_factory=dict)
    partitions: list[tuple[dict[str, str], str | None]] = field(default_factory=list)
    query: str = ""  # create_as, insert: the SELECT whose rows are written
    partition_names: list[str] = field(default_factory=list)  # create_as: PARTITIONED BY's column names
    clauses: str = ""  # create_as: what follows the name and PARTITIONED BY (ROW FORMAT ... TABLE PROPERTIES)


# The statements that may be Spectrum DDL, after any leading comments; checked without tokenizing the whole
# statement, which for a long INSERT would cost more than running it.
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*(CREATE\s+EXTERNAL\s+TABLE|DROP\s+TABLE|ALTER\s+TABLE|"
                      r"INSERT\s+INTO)\b", re.I | re.S)


def recognize(sql: str, schemas: dict[str, ExternalSchema]) -> SpectrumDdl | None:
    """The statement as Spectrum DDL when it creates, drops or alters a table of an external schema."""
    match = _LEADING.match(sql)
    if match is None:
        return None
    verb, statement = match.group(1).split()[0].upper(), sql[match.start(1):]
    if verb == "CREATE":
        query_at = _query_start(statement)
        if query_at is not None:
            return _create_as(statement, query_at, schemas)
        return create_ddl(statement, schemas)
    if verb == "DROP":
        return _drop(statement, schemas)
    if verb == "INSERT":
        return _insert(statement, schemas)
    return _alter(statement, schemas)


def _external(schema: str, schemas: dict[str, ExternalSchema], required: bool) -> ExternalSchema | None:
    found = schemas.get(schema.lower())
    if found is None and required:
        raise RedshiftSqlError(f'External schema "{schema}" does not exist')
    return found


def _hive_text(sql: str) -> str:
    """The statement with Redshift's spellings in Hive's: type names, and TABLE PROPERTIES as TBLPROPERTIES."""
    out: list[str] = []
    last = 0
    tokens = tokenize(sql)
    for index, token in enumerate(tokens):
        if token.kind != "word":
            continue
        replacement = None
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.text == "TABLE" and following is not None and following.text == "PROPERTIES":
            replacement = "TBLPROPERTIES"
        elif token.text == "PROPERTIES" and index > 0 and tokens[index - 1].text == "TABLE":
            replacement = ""
        elif token.text == "CHARACTER" and following is not None and following.text == "VARYING":
            replacement = "varchar"
        elif token.text == "VARYING" and index > 0 and tokens[index - 1].text == "CHARACTER":
            replacement = ""
        elif token.text == "DOUBLE" and following is not None and following.text == "PRECISION":
            replacement = "double"
        elif token.text == "PRECISION" and index > 0 and tokens[index - 1].text == "DOUBLE":
            replacement = ""
        elif token.text in _HIVE_TYPES and index > 0 and _follows_column_name(tokens, index):
            replacement = _HIVE_TYPES[token.text]
        if replacement is None:
            continue
        out.append(sql[last:token.start])
        out.append(replacement)
        last = token.start + len(token.raw)
    out.append(sql[last:])
    return "".join(out)


def _follows_column_name(tokens: list[Any], index: int) -> bool:
    """Whether the word at `index` is a column's type: it follows a name that follows `(` or `,`."""
    if index < 2:
        return False
    name, before = tokens[index - 1], tokens[index - 2]
    return name.kind in ("word", "ident") and before.kind == "symbol" and before.text in ("(", ",")


def create_ddl(sql: str, schemas: dict[str, ExternalSchema]) -> SpectrumDdl:
    """CREATE EXTERNAL TABLE with its column list, as the Glue table it makes."""
    try:
        node = parse(_hive_text(sql), "athena")
    except SqlError as exc:
        raise RedshiftSqlError(f"syntax error in CREATE EXTERNAL TABLE: {exc.message}") from None
    if not isinstance(node, exp.Create) or not isinstance(node.this, exp.Schema):
        raise RedshiftSqlError("CREATE EXTERNAL TABLE needs a column list")
    target = node.this.this
    assert isinstance(target, exp.Table)
    if not target.db:
        raise RedshiftSqlError("CREATE EXTERNAL TABLE needs a table name qualified by an external schema")
    schema = _external(target.db, schemas, required=True)
    assert schema is not None
    name = target.name.lower()
    table_input = external_table_input(node, name)
    if not table_input["StorageDescriptor"].get("Location", "").lower().startswith("s3://"):
        raise RedshiftSqlError("CREATE EXTERNAL TABLE needs LOCATION 's3://bucket/prefix/'")
    return SpectrumDdl("create", schema, name, bool(node.args.get("exists")), table_input)


def _query_start(sql: str) -> int | None:
    """Where CREATE EXTERNAL TABLE ... AS's query starts: after the first AS outside parentheses that is
    followed by SELECT, WITH or a parenthesis."""
    tokens = tokenize(sql)
    depth = 0
    for index, token in enumerate(tokens[:-1]):
        if token.kind == "symbol" and token.text in "()":
            depth += 1 if token.text == "(" else -1
        elif depth == 0 and token.kind == "word" and token.text == "AS":
            following = tokens[index + 1]
            if following.text in ("SELECT", "WITH", "("):
                return following.start
    return None


def _create_as(sql: str, query_at: int, schemas: dict[str, ExternalSchema]) -> SpectrumDdl:
    """CREATE EXTERNAL TABLE s.t [PARTITIONED BY (a, b)] ... AS SELECT: its columns come from the query."""
    tokens = Tokens(sql[:query_at])
    tokens.expect("CREATE", "EXTERNAL", "TABLE")
    if_not_exists = tokens.accept("IF", "NOT", "EXISTS")
    parts = tokens.qualified_name()
    if len(parts) != 2:
        raise RedshiftSqlError("CREATE EXTERNAL TABLE needs a table name qualified by an external schema")
    schema = _external(parts[0], schemas, required=True)
    assert schema is not None
    following = tokens.peek()
    if following is not None and following.text == "(":
        raise RedshiftSqlError("CREATE EXTERNAL TABLE AS takes its columns from the query: drop the column list")
    names: list[str] = []
    if tokens.accept("PARTITIONED", "BY"):
        tokens.expect_symbol("(")
        while True:
            names.append(tokens.name().lower())
            if not tokens.accept_symbol(","):
                break
        tokens.expect_symbol(")")
    rest = tokens.peek()
    clauses = sql[rest.start:query_at] if rest is not None else ""
    clauses = re.sub(r"\bAS\s*$", "", clauses.rstrip(), flags=re.I)
    return SpectrumDdl("create_as", schema, parts[1].lower(), if_not_exists, query=sql[query_at:],
                       partition_names=names, clauses=clauses)


def _insert(sql: str, schemas: dict[str, ExternalSchema]) -> SpectrumDdl | None:
    """INSERT INTO an external table: its query's rows become new files of the table."""
    tokens = Tokens(sql[:_HEAD])  # the target's name is near the start; a long INSERT is not tokenized twice
    tokens.expect("INSERT", "INTO")
    parts = tokens.qualified_name()
    if len(parts) != 2:
        return None
    schema = _external(parts[0], schemas, required=False)
    if schema is None:
        return None
    following = tokens.peek()
    if following is None or not (following.text in ("SELECT", "WITH") or (
            following.text == "(" and tokens.is_word("SELECT", "WITH", offset=1))):
        raise RedshiftSqlError("INSERT into an external table takes a SELECT query (no column list or VALUES)")
    return SpectrumDdl("insert", schema, parts[1].lower(), query=sql[following.start:])


def _drop(sql: str, schemas: dict[str, ExternalSchema]) -> SpectrumDdl | None:
    tokens = Tokens(sql)
    tokens.expect("DROP", "TABLE")
    if_exists = tokens.accept("IF", "EXISTS")
    first = tokens.name()
    if not tokens.accept_symbol("."):
        return None
    schema = _external(first, schemas, required=False)
    if schema is None:
        return None
    name = tokens.name().lower()
    if tokens.accept_symbol(","):
        raise RedshiftSqlError("dropping several external tables at once is not supported")
    tokens.accept("CASCADE") or tokens.accept("RESTRICT")
    if not tokens.at_end():
        raise tokens.error()
    return SpectrumDdl("drop", schema, name, if_exists)


_ALTER = re.compile(r"\s*ALTER\s+TABLE\s+(\"?[\w$]+\"?)\s*\.\s*(\"?[\w$]+\"?)\s+(ADD|DROP)\s+"
                    r"(IF\s+(?:NOT\s+)?EXISTS\s+)?(PARTITION\b.*?);?\s*$", re.I | re.S)


def _alter(sql: str, schemas: dict[str, ExternalSchema]) -> SpectrumDdl | None:
    match = _ALTER.match(sql)
    if match is None:
        first = Tokens(sql)
        first.expect("ALTER", "TABLE")
        name = first.name()
        if first.accept_symbol(".") and _external(name, schemas, required=False) is not None:
            raise RedshiftSqlError("ALTER TABLE on an external table supports ADD PARTITION and DROP PARTITION only")
        return None
    schema = _external(match.group(1).strip('"'), schemas, required=False)
    if schema is None:
        return None
    try:
        specs = partition_specs(match.group(5), quotes='"')
    except ValueError as exc:
        raise RedshiftSqlError(f"cannot read the partition specification: {exc}") from None
    action = "add_partitions" if match.group(3).upper() == "ADD" else "drop_partitions"
    if action == "add_partitions" and any(location is None for _, location in specs):
        raise RedshiftSqlError("ADD PARTITION on an external table needs LOCATION 's3://...' for each partition")
    return SpectrumDdl(action, schema, match.group(2).strip('"').lower(), bool(match.group(4)), partitions=specs)


def run(ddl: SpectrumDdl, catalog: LakeCatalog | None, account: str, region: str) -> None:
    """Writes the DDL to the Glue database behind the external schema (not create_as and insert, which run
    queries: see spectrum_writes)."""
    if catalog is None:
        raise RedshiftSqlError("The Glue Data Catalog is not available to this warehouse")
    lake_region = ddl.schema.region or region
    database = ddl.schema.glue_database
    qualified = f"{ddl.schema.name}.{ddl.table}"
    if ddl.action == "create":
        try:
            catalog.create_table(account, lake_region, database, ddl.table_input)
        except Exception as error:
            if error_code(error) == "AlreadyExistsException":
                if ddl.if_exists:
                    return
                raise RedshiftSqlError(f'relation "{qualified}" already exists') from None
            if error_code(error) == "EntityNotFoundException":
                raise RedshiftSqlError(f"External database {database} does not exist in the Data Catalog") from None
            raise
        return
    try:
        table = catalog.get_table(account, lake_region, database, ddl.table)
    except Exception as error:
        if error_code(error) != "EntityNotFoundException":
            raise
        if ddl.action == "drop" and ddl.if_exists:
            return
        raise RedshiftSqlError(f'relation "{qualified}" does not exist') from None
    if ddl.action == "drop":
        catalog.delete_table(account, lake_region, database, ddl.table)
        return
    keys = [str(k["Name"]).lower() for k in table.get("PartitionKeys") or []]
    values_list: list[list[str]] = []
    for spec, _ in ddl.partitions:
        if sorted(spec) != sorted(keys):
            raise RedshiftSqlError(f"partition {spec} does not name the partition columns {keys} of {qualified}")
        values_list.append([spec[k] for k in keys])
    if ddl.action == "add_partitions":
        inputs = []
        for values, (_, location) in zip(values_list, ddl.partitions, strict=True):
            sd = dict(table.get("StorageDescriptor") or {})
            sd["Location"] = location
            inputs.append({"Values": values, "StorageDescriptor": sd})
        failures = catalog.create_partitions(account, lake_region, database, ddl.table, inputs)
    else:
        failures = catalog.delete_partitions(account, lake_region, database, ddl.table, values_list)
    for values, failure in failures:
        if ddl.if_exists and error_code(failure) in ("AlreadyExistsException", "EntityNotFoundException"):
            continue
        verb = "already exists" if ddl.action == "add_partitions" else "does not exist"
        raise RedshiftSqlError(f"partition {values} of {qualified} {verb}")


def error_code(error: Exception) -> str:
    """The AWS error code of a catalog error (its class name for others)."""
    return str(getattr(error, "code", "") or type(error).__name__)
