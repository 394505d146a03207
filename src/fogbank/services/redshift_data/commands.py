"""Redshift's own commands, parsed: COPY, UNLOAD, CREATE/DROP EXTERNAL SCHEMA, CREATE/DROP DATABASE, and
the session commands a single-node warehouse accepts and has nothing to do for (Spectrum's table DDL is in
spectrum.py).

Authorization clauses (IAM_ROLE, CREDENTIALS, ACCESS_KEY_ID, ...) are accepted and ignored: the statement
runs as the account that submitted it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fogbank.services.redshift_data.pgerror import RedshiftSqlError
from fogbank.services.redshift_data.sqltext import Tokens, leading_words


@dataclass
class CopyCommand:
    table: list[str]
    columns: list[str]
    source: str
    fmt: str = "TEXT"  # TEXT (delimited), CSV, JSON, PARQUET, ORC, AVRO
    json_paths: str = "auto"
    delimiter: str | None = None
    quote: str = '"'
    ignore_header: int = 0
    null_as: str | None = None
    compression: str | None = None  # gzip, bzip2, zstd
    manifest: bool = False
    empty_as_null: bool = False
    blanks_as_null: bool = False
    date_format: str | None = None
    time_format: str | None = None
    max_error: int = 0
    remove_quotes: bool = False
    escape: bool = False
    explicit_ids: bool = False
    truncate_columns: bool = False
    fill_record: bool = False
    ignore_blank_lines: bool = False


@dataclass
class UnloadCommand:
    query: str
    target: str
    fmt: str = "TEXT"  # TEXT (delimited), CSV, PARQUET, JSON
    delimiter: str | None = None
    header: bool = False
    partition_by: list[str] = field(default_factory=list)
    partition_include: bool = False
    allow_overwrite: bool = False
    clean_path: bool = False
    compression: str | None = None
    manifest: bool = False
    manifest_verbose: bool = False
    parallel: bool = True
    null_as: str | None = None
    add_quotes: bool = False
    extension: str | None = None
    max_file_size: int | None = None


@dataclass
class ExternalSchemaCommand:
    schema: str
    glue_database: str
    if_not_exists: bool = False
    region: str | None = None
    create_database: bool = False


@dataclass
class DropSchemaCommand:
    schema: str
    if_exists: bool
    drop_external_database: bool
    cascade: bool


@dataclass
class DatabaseCommand:
    action: str  # "create" or "drop"
    name: str


@dataclass
class TransactionCommand:
    action: str  # "begin", "commit" or "rollback"


@dataclass
class SetCommand:
    """SET / RESET: search_path is honoured; the rest are session knobs of a cluster."""

    name: str
    value: list[str]


@dataclass
class NoOpCommand:
    """Accepted and done: VACUUM, ANALYZE, GRANT, CREATE USER, ... (nothing to do on one node, one user)."""

    word: str


Command = (CopyCommand | UnloadCommand | ExternalSchemaCommand | DropSchemaCommand | DatabaseCommand
           | TransactionCommand | SetCommand | NoOpCommand)

_NO_OPS = {("VACUUM",), ("ANALYZE",), ("ANALYSE",), ("GRANT",), ("REVOKE",), ("CREATE", "USER"),
           ("ALTER", "USER"), ("DROP", "USER"), ("CREATE", "GROUP"), ("ALTER", "GROUP"), ("DROP", "GROUP"),
           ("CREATE", "ROLE"), ("DROP", "ROLE"), ("ALTER", "DEFAULT"), ("COMMENT", "ON", "DATABASE"),
           ("ALTER", "DATASHARE"), ("CREATE", "DATASHARE"), ("CANCEL",), ("LOCK",), ("ALTER", "SCHEMA"),
           ("REFRESH", "MATERIALIZED")}


def _skip_authorization(tokens: Tokens) -> bool:
    """Consumes one authorization clause if next."""
    if tokens.accept("IAM_ROLE"):
        if not tokens.accept("DEFAULT"):
            tokens.string()
        return True
    if tokens.accept("CREDENTIALS") or tokens.accept("WITH", "CREDENTIALS"):
        tokens.accept("AS")
        tokens.string()
        return True
    for word in ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN", "MASTER_SYMMETRIC_KEY", "KMS_KEY_ID",
                 "CATALOG_ROLE"):
        if tokens.accept(word):
            tokens.accept("AS")
            if not tokens.accept("DEFAULT"):
                tokens.string()
            return True
    if tokens.accept("REGION"):
        tokens.accept("AS")
        tokens.string()
        return True
    return False


def _single_char(tokens: Tokens, what: str) -> str:
    value = tokens.string()
    if value in ("\\t", "\t"):
        return "\t"
    if value == "\\\\":
        return "\\"
    if len(value) != 1:
        raise RedshiftSqlError(f"{what} must be a single character")
    return value


def parse_copy(sql: str) -> CopyCommand:
    tokens = Tokens(sql)
    tokens.expect("COPY")
    table = tokens.qualified_name()
    columns: list[str] = []
    if tokens.accept_symbol("("):
        columns.append(tokens.name())
        while tokens.accept_symbol(","):
            columns.append(tokens.name())
        tokens.expect_symbol(")")
    tokens.expect("FROM")
    source = tokens.string()
    if not source.lower().startswith("s3://"):
        raise RedshiftSqlError("COPY from this data source is not supported; only s3:// sources are")
    command = CopyCommand(table, columns, source)
    while not tokens.at_end():
        if tokens.accept_symbol(","):
            continue
        if _skip_authorization(tokens):
            continue
        had_format = tokens.accept("FORMAT")
        if had_format:
            tokens.accept("AS")
        if tokens.accept("CSV"):
            command.fmt = "CSV"
            if tokens.accept("QUOTE"):
                tokens.accept("AS")
                command.quote = _single_char(tokens, "QUOTE")
        elif tokens.accept("JSON"):
            command.fmt = "JSON"
            tokens.accept("AS")
            token = tokens.peek()
            if token is not None and token.kind == "string":
                command.json_paths = tokens.string()
        elif tokens.accept("PARQUET") or tokens.accept("ORC") or tokens.accept("AVRO"):
            command.fmt = tokens.items[tokens.pos - 1].text
            tokens.accept("AS")
            token = tokens.peek()
            if token is not None and token.kind == "string":
                tokens.string()
        elif had_format:
            raise tokens.error()
        elif tokens.accept("DELIMITER"):
            tokens.accept("AS")
            command.delimiter = _single_char(tokens, "DELIMITER")
        elif tokens.accept("QUOTE"):
            tokens.accept("AS")
            command.quote = _single_char(tokens, "QUOTE")
        elif tokens.accept("IGNOREHEADER"):
            tokens.accept("AS")
            command.ignore_header = tokens.number()
        elif tokens.accept("NULL"):
            tokens.accept("AS")
            command.null_as = tokens.string()
        elif tokens.accept("GZIP") or tokens.accept("BZIP2") or tokens.accept("ZSTD") or tokens.accept("LZOP"):
            command.compression = tokens.items[tokens.pos - 1].text.lower()
        elif tokens.accept("MANIFEST"):
            command.manifest = True
        elif tokens.accept("EMPTYASNULL"):
            command.empty_as_null = True
        elif tokens.accept("BLANKSASNULL"):
            command.blanks_as_null = True
        elif tokens.accept("DATEFORMAT"):
            tokens.accept("AS")
            command.date_format = tokens.string()
        elif tokens.accept("TIMEFORMAT"):
            tokens.accept("AS")
            command.time_format = tokens.string()
        elif tokens.accept("MAXERROR"):
            tokens.accept("AS")
            command.max_error = tokens.number()
        elif tokens.accept("REMOVEQUOTES"):
            command.remove_quotes = True
        elif tokens.accept("ESCAPE"):
            command.escape = True
        elif tokens.accept("EXPLICIT_IDS"):
            command.explicit_ids = True
        elif tokens.accept("TRUNCATECOLUMNS"):
            command.truncate_columns = True
        elif tokens.accept("FILLRECORD"):
            command.fill_record = True
        elif tokens.accept("IGNOREBLANKLINES"):
            command.ignore_blank_lines = True
        elif tokens.accept("ACCEPTINVCHARS"):
            tokens.accept("AS")
            token = tokens.peek()
            if token is not None and token.kind == "string":
                tokens.string()
        elif tokens.accept("COMPUPDATE") or tokens.accept("STATUPDATE"):
            for word in ("ON", "OFF", "TRUE", "FALSE", "PRESET"):
                if tokens.accept(word):
                    break
        elif tokens.accept("ENCODING"):
            tokens.accept("AS")
            tokens.next()
        elif tokens.accept("READRATIO"):
            tokens.number()
        elif (tokens.accept("TRIMBLANKS") or tokens.accept("ROUNDEC") or tokens.accept("ACCEPTANYDATE")
              or tokens.accept("NOLOAD") or tokens.accept("ENCRYPTED") or tokens.accept("SERIALIZETOJSON")):
            continue
        else:
            raise tokens.error()
    if command.fmt in ("ORC", "AVRO"):
        raise RedshiftSqlError(f"COPY with FORMAT {command.fmt} is not supported by this warehouse")
    return command


def parse_unload(sql: str) -> UnloadCommand:
    tokens = Tokens(sql)
    tokens.expect("UNLOAD")
    tokens.expect_symbol("(")
    query = tokens.string()
    tokens.expect_symbol(")")
    tokens.expect("TO")
    target = tokens.string()
    if not target.lower().startswith("s3://"):
        raise RedshiftSqlError("UNLOAD destination must be an s3:// path")
    command = UnloadCommand(query, target)
    while not tokens.at_end():
        if tokens.accept_symbol(","):
            continue
        if _skip_authorization(tokens):
            continue
        if tokens.accept("FORMAT"):
            tokens.accept("AS")
            if tokens.accept("CSV"):
                command.fmt = "CSV"
            elif tokens.accept("PARQUET"):
                command.fmt = "PARQUET"
            elif tokens.accept("JSON"):
                command.fmt = "JSON"
            else:
                raise tokens.error()
        elif tokens.accept("CSV"):
            command.fmt = "CSV"
        elif tokens.accept("PARQUET"):
            command.fmt = "PARQUET"
        elif tokens.accept("PARTITION", "BY"):
            tokens.expect_symbol("(")
            command.partition_by.append(tokens.name())
            while tokens.accept_symbol(","):
                command.partition_by.append(tokens.name())
            tokens.expect_symbol(")")
            command.partition_include = tokens.accept("INCLUDE")
        elif tokens.accept("HEADER"):
            command.header = True
        elif tokens.accept("DELIMITER"):
            tokens.accept("AS")
            command.delimiter = _single_char(tokens, "DELIMITER")
        elif tokens.accept("ALLOWOVERWRITE"):
            command.allow_overwrite = True
        elif tokens.accept("CLEANPATH"):
            command.clean_path = True
        elif tokens.accept("GZIP") or tokens.accept("BZIP2") or tokens.accept("ZSTD"):
            command.compression = tokens.items[tokens.pos - 1].text.lower()
        elif tokens.accept("MANIFEST"):
            command.manifest = True
            command.manifest_verbose = tokens.accept("VERBOSE")
        elif tokens.accept("PARALLEL"):
            if tokens.accept("OFF") or tokens.accept("FALSE"):
                command.parallel = False
            else:
                tokens.accept("ON") or tokens.accept("TRUE")
        elif tokens.accept("NULL"):
            tokens.accept("AS")
            command.null_as = tokens.string()
        elif tokens.accept("ADDQUOTES"):
            command.add_quotes = True
        elif tokens.accept("ESCAPE") or tokens.accept("ENCRYPTED"):
            tokens.accept("AUTO")
        elif tokens.accept("EXTENSION"):
            command.extension = tokens.string().lstrip(".")
        elif tokens.accept("MAXFILESIZE") or tokens.accept("ROWGROUPSIZE"):
            word = tokens.items[tokens.pos - 1].text
            tokens.accept("AS")
            size = tokens.number()
            unit = 1024 * 1024
            if tokens.accept("GB"):
                unit *= 1024
            else:
                tokens.accept("MB")
            if word == "MAXFILESIZE":
                command.max_file_size = size * unit
        else:
            raise tokens.error()
    if command.partition_by and command.fmt not in ("PARQUET", "CSV", "TEXT", "JSON"):
        raise RedshiftSqlError("PARTITION BY is not supported for this format")
    return command


def parse_external_schema(sql: str) -> ExternalSchemaCommand:
    tokens = Tokens(sql)
    tokens.expect("CREATE", "EXTERNAL", "SCHEMA")
    if_not_exists = tokens.accept("IF", "NOT", "EXISTS")
    schema = tokens.name()
    tokens.expect("FROM")
    if not (tokens.accept("DATA", "CATALOG") or tokens.is_word("DATABASE")):
        source = tokens.peek()
        kind = source.raw if source is not None else ""
        raise RedshiftSqlError(f"External schemas FROM {kind} are not supported by this warehouse; "
                               "use FROM DATA CATALOG")
    tokens.expect("DATABASE")
    database = tokens.string()
    command = ExternalSchemaCommand(schema, database, if_not_exists)
    while not tokens.at_end():
        if tokens.accept("REGION"):
            tokens.accept("AS")
            command.region = tokens.string()
        elif tokens.accept("CREATE", "EXTERNAL", "DATABASE", "IF", "NOT", "EXISTS"):
            command.create_database = True
        elif tokens.accept("SCHEMA"):
            tokens.string()
        elif not _skip_authorization(tokens):
            raise tokens.error()
    return command


def parse_drop_schema(sql: str) -> DropSchemaCommand:
    tokens = Tokens(sql)
    tokens.expect("DROP", "SCHEMA")
    if_exists = tokens.accept("IF", "EXISTS")
    schema = tokens.name()
    if tokens.accept_symbol(","):
        raise RedshiftSqlError("dropping several schemas at once is not supported")
    drop_db = tokens.accept("DROP", "EXTERNAL", "DATABASE")
    cascade = tokens.accept("CASCADE")
    tokens.accept("RESTRICT")
    if not tokens.at_end():
        raise tokens.error()
    return DropSchemaCommand(schema, if_exists, drop_db, cascade)


def parse_database(sql: str) -> DatabaseCommand:
    tokens = Tokens(sql)
    action = "create" if tokens.accept("CREATE") else "drop"
    if action == "drop":
        tokens.expect("DROP")
    tokens.expect("DATABASE")
    name = tokens.name()
    return DatabaseCommand(action, name)


def parse_set(sql: str) -> SetCommand:
    tokens = Tokens(sql)
    if tokens.accept("RESET"):
        return SetCommand(tokens.name() if not tokens.at_end() else "all", [])
    tokens.expect("SET")
    tokens.accept("SESSION") or tokens.accept("LOCAL")
    name = tokens.name()
    if not (tokens.accept("TO") or tokens.accept_symbol("=")):
        raise tokens.error()
    values: list[str] = []
    while not tokens.at_end():
        token = tokens.next()
        if token.kind == "symbol" and token.text == ",":
            continue
        values.append(token.text if token.kind in ("string", "ident") else token.raw)
    return SetCommand(name, values)


def recognize(sql: str) -> Command | None:
    """The command a statement is, when it is one of Redshift's own; None for plain SQL."""
    words = leading_words(sql, 4)
    if not words:
        return None
    first = words[0]
    if first == "COPY":
        return parse_copy(sql)
    if first == "UNLOAD":
        return parse_unload(sql)
    if words[:3] == ["CREATE", "EXTERNAL", "SCHEMA"]:
        return parse_external_schema(sql)
    if words[:2] == ["DROP", "SCHEMA"]:
        return parse_drop_schema(sql)
    if words[:2] in (["CREATE", "DATABASE"], ["DROP", "DATABASE"]):
        return parse_database(sql)
    if first in ("BEGIN", "START") and (len(words) == 1 or words[1] in ("TRANSACTION", "WORK")):
        return TransactionCommand("begin")
    if first in ("COMMIT", "END") and (len(words) == 1 or words[1] in ("TRANSACTION", "WORK")):
        return TransactionCommand("commit")
    if first in ("ROLLBACK", "ABORT") and (len(words) == 1 or words[1] in ("TRANSACTION", "WORK")):
        return TransactionCommand("rollback")
    if first in ("SET", "RESET"):
        return parse_set(sql)
    if words[:3] == ["CREATE", "EXTERNAL", "VIEW"]:
        raise RedshiftSqlError("CREATE EXTERNAL VIEW is not supported by this warehouse")
    for length in (3, 2, 1):
        if tuple(words[:length]) in _NO_OPS:
            return NoOpCommand(" ".join(words[:length]))
    return None
