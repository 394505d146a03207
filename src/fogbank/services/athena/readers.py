"""DuckDB relations over a table's files, one per storage format, each yielding the table's declared columns
(by name for Parquet, ORC, Avro and JSON, by position for text and RegexSerDe groups) plus `fb_file`, the local
file a row came from.

Text columns are read as strings and converted as Hive's LazySimpleSerDe does: a value that does not parse
as the declared type is NULL, not an error, and collections are split on their delimiters.

Avro is read by DuckDB's avro extension, which ships as a Python package (never downloaded at run time); it
is loaded into a connection before the connection is locked down, and only when a query reads Avro.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import duckdb
from cachetools import LRUCache
from sqlglot import exp

from fogbank.engines.sql import duckdb_type, parse_type, quote_ident, quote_literal
from fogbank.services.athena.errors import QueryFailed
from fogbank.services.athena.tables import StorageFormat

Columns = list[tuple[str, str]]


def _file_list(files: list[str]) -> str:
    return "[" + ", ".join(quote_literal(f) for f in files) + "]"


def _describe(conn: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return [str(row[0]) for row in conn.execute(f"DESCRIBE {sql}").fetchall()]


def empty_relation(columns: Columns) -> str:
    exprs = [f"CAST(NULL AS {duckdb_type(t)}) AS {quote_ident(n)}" for n, t in columns]
    exprs.append("CAST(NULL AS VARCHAR) AS fb_file")
    return f"SELECT {', '.join(exprs)} WHERE false"


AVRO_MISSING = ("NOT_SUPPORTED: Avro needs the duckdb-extension-avro package, which is not installed or could not "
                "be loaded")


@functools.cache
def avro_extension() -> Path | None:
    """Where the installed DuckDB avro extension is, if its package is installed."""
    try:
        import duckdb_extension_avro
    except ImportError:
        return None
    root = Path(duckdb_extension_avro.__file__).parent
    found = sorted(root.rglob("avro.duckdb_extension"))
    return found[0] if found else None


def load_avro(conn: duckdb.DuckDBPyConnection) -> bool:
    """Makes read_avro and COPY ... (FORMAT AVRO) available if the package is installed; whether it is.
    Call before the connection is locked down (a locked database loads no extension)."""
    extension = avro_extension()
    if extension is None:
        return False
    try:
        conn.execute(f"LOAD {quote_literal(str(extension))}")
    except duckdb.Error:
        return False
    return True


def require_avro(available: bool) -> None:
    """Fails a statement that reads or writes Avro on a database without the Avro reader."""
    if not available:
        raise QueryFailed(AVRO_MISSING)


def relation_sql(conn: duckdb.DuckDBPyConnection, storage: StorageFormat, files: list[str], columns: Columns,
                 arrow_name: str, identities: list[Hashable] | None = None) -> str:
    """A SELECT over `files` giving `columns` (name, Hive type) and fb_file.

    `identities` name the stored objects behind `files` (one each, changing whenever an object's bytes do),
    so what was learnt from their footers can be reused by the next query over the same objects."""
    if not files:
        return empty_relation(columns)
    if storage.kind == "parquet":
        return _parquet(conn, files, columns, tuple(identities) if identities is not None else None)
    if storage.kind == "json":
        return _json(conn, storage, files, columns)
    if storage.kind == "text":
        return _text(storage, files, columns)
    if storage.kind == "orc":
        return _orc(conn, files, columns, arrow_name)
    if storage.kind == "avro":
        return _avro(conn, files, columns, identities)
    if storage.kind == "regex":
        return _regex(storage, files, columns)
    raise QueryFailed(f"NOT_SUPPORTED: storage format {storage.kind}")


def _by_name(present: list[str], columns: Columns, source: str) -> str:
    lookup = {name.lower(): name for name in present}
    exprs = []
    for name, hive in columns:
        found = lookup.get(name.lower())
        target = duckdb_type(hive)
        if found is None:
            exprs.append(f"CAST(NULL AS {target}) AS {quote_ident(name)}")
        else:
            exprs.append(f"CAST({quote_ident(found)} AS {target}) AS {quote_ident(name)}")
    exprs.append("fb_file")
    return f"SELECT {', '.join(exprs)} FROM {source}"


# The column names found in sets of Parquet objects (and Avro writer schemas), by the objects' identities:
# a table's files change rarely, and reading every footer again costs each query.
_PARQUET_NAMES: LRUCache[tuple[Hashable, ...], list[str]] = LRUCache(maxsize=512)
_AVRO_SCHEMAS: LRUCache[tuple[Hashable, ...], list[str]] = LRUCache(maxsize=512)
_NAMES_LOCK = threading.Lock()


def _remembered(cache: LRUCache[tuple[Hashable, ...], list[str]], key: tuple[Hashable, ...] | None) -> list[str] | None:
    if key is None:
        return None
    with _NAMES_LOCK:
        return cache.get(key)


def _remember(cache: LRUCache[tuple[Hashable, ...], list[str]], key: tuple[Hashable, ...] | None,
              value: list[str]) -> None:
    if key is not None:
        with _NAMES_LOCK:
            cache[key] = value


def _parquet(conn: duckdb.DuckDBPyConnection, files: list[str], columns: Columns,
             identities: tuple[Hashable, ...] | None = None) -> str:
    source = f"read_parquet({_file_list(files)}, union_by_name = true, filename = 'fb_file')"
    present = _remembered(_PARQUET_NAMES, identities)
    if present is None:
        try:
            present = [p for p in _describe(conn, f"SELECT * FROM {source}") if p != "fb_file"]
        except duckdb.Error as exc:
            raise QueryFailed(f"HIVE_CANNOT_OPEN_SPLIT: Error opening Hive split: {_first_line(exc)}", 2,
                              1006) from exc
        _remember(_PARQUET_NAMES, identities, present)
    return _by_name(present, columns, source)


def _avro(conn: duckdb.DuckDBPyConnection, files: list[str], columns: Columns,
          identities: list[Hashable] | None) -> str:
    """Avro fields match columns by name, case-insensitively, as Hive's AvroSerDe does. DuckDB's reader
    needs one schema per read, so files are grouped by their writer schema (an evolved table has several)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for index, path in enumerate(files):
        key = (identities[index],) if identities is not None else None
        schema = _remembered(_AVRO_SCHEMAS, key)
        if schema is None:
            try:
                rows = conn.execute(f"DESCRIBE SELECT * FROM read_avro({quote_literal(path)})").fetchall()
            except duckdb.Error as exc:
                raise QueryFailed(f"HIVE_CANNOT_OPEN_SPLIT: Error opening Hive split: {_first_line(exc)}", 2,
                                  1006) from exc
            schema = [f"{row[0]}\x00{row[1]}" for row in rows]
            _remember(_AVRO_SCHEMAS, key, schema)
        groups.setdefault(tuple(schema), []).append(path)
    selects = []
    for schema_key, paths in groups.items():
        present = [item.split("\x00", 1)[0] for item in schema_key]
        source = f"read_avro({_file_list(paths)}, filename = 'fb_file')"
        selects.append(_by_name(present, columns, source))
    return " UNION ALL ".join(selects)


def _regex(storage: StorageFormat, files: list[str], columns: Columns) -> str:
    """Hive's RegexSerDe: the pattern must match the whole line; each group is one column, converted as text
    fields are. A line the pattern does not match is a row of NULLs, as in Hive."""
    assert storage.regex is not None
    pattern = storage.regex
    try:
        groups = re.compile(pattern).groups
    except re.error:
        groups = len(columns)  # a pattern Python cannot read is left for DuckDB to judge
    if groups != len(columns):
        raise QueryFailed(f"HIVE_CANNOT_OPEN_SPLIT: Number of matching groups doesn't match the number of columns "
                          f"({groups} groups, {len(columns)} columns)", 2, 1006)
    full = quote_literal(f"^(?:{pattern})$")
    names = [f"c{i}" for i in range(len(columns))]
    # One column per line: the delimiter is a Unicode noncharacter, which text never holds.
    options = ["columns = {'fb_line': 'VARCHAR'}", "header = false", "auto_detect = false", "null_padding = true",
               "strict_mode = false", f"delim = {quote_literal(chr(0xFFFF))}", "quote = ''", "escape = ''",
               "filename = 'fb_file'"]
    if storage.skip_header:
        options.append(f"skip = {int(storage.skip_header)}")
    source = f"read_csv({_file_list(files)}, {', '.join(options)})"
    groups_list = "[" + ", ".join(quote_literal(n) for n in names) + "]"
    matched = (f"SELECT CASE WHEN regexp_full_match(coalesce(fb_line, ''), {full}) "
               f"THEN regexp_extract(fb_line, {full}, {groups_list}) END AS fb_m, fb_file FROM {source}")
    exprs = [f"{_text_value(f'fb_m.{quote_ident(n)}', hive, storage)} AS {quote_ident(name)}"
             for n, (name, hive) in zip(names, columns, strict=True)]
    exprs.append("fb_file")
    return f"SELECT {', '.join(exprs)} FROM ({matched})"


def _json(conn: duckdb.DuckDBPyConnection, storage: StorageFormat, files: list[str], columns: Columns) -> str:
    """JSON keys match columns case-insensitively, as the OpenX SerDe does by default."""
    present: list[str] = []
    try:
        present = _describe(conn, f"SELECT * FROM read_json({_file_list(files)}, format = 'newline_delimited', "
                                  "maximum_depth = 1, union_by_name = true, ignore_errors = true)")
    except duckdb.Error:
        present = []
    lookup = {p.lower(): p for p in present}
    spec = []
    for name, hive in columns:
        key = lookup.get(name.lower(), name)
        spec.append(f"{quote_literal(key)}: {quote_literal(duckdb_type(hive))}")
    options = "format = 'newline_delimited', filename = 'fb_file'"
    if storage.ignore_malformed:
        options += ", ignore_errors = true"
    source = f"read_json({_file_list(files)}, columns = {{{', '.join(spec)}}}, {options})"
    exprs = [f"{quote_ident(lookup.get(name.lower(), name))} AS {quote_ident(name)}" for name, _ in columns]
    exprs.append("fb_file")
    return f"SELECT {', '.join(exprs)} FROM {source}"


def _text(storage: StorageFormat, files: list[str], columns: Columns) -> str:
    raw = {f"c{i}": "VARCHAR" for i in range(len(columns))}
    spec = ", ".join(f"{quote_literal(k)}: {quote_literal(v)}" for k, v in raw.items())
    options = [f"columns = {{{spec}}}", "header = false", "auto_detect = false", "null_padding = true",
               "strict_mode = false", f"delim = {quote_literal(storage.delimiter)}",
               f"quote = {quote_literal(storage.quote)}", f"escape = {quote_literal(storage.escape)}",
               "filename = 'fb_file'"]
    if storage.skip_header:
        options.append(f"skip = {int(storage.skip_header)}")
    if storage.null_marker is not None:
        options.append(f"nullstr = {quote_literal(storage.null_marker)}")
    else:
        options.append("force_not_null = [" + ", ".join(quote_literal(k) for k in raw) + "]")
    source = f"read_csv({_file_list(files)}, {', '.join(options)})"
    exprs = [f"{_text_value(quote_ident(f'c{i}'), hive, storage)} AS {quote_ident(name)}"
             for i, (name, hive) in enumerate(columns)]
    exprs.append("fb_file")
    return f"SELECT {', '.join(exprs)} FROM {source}"


def _text_value(expr: str, hive: str, storage: StorageFormat, depth: int = 0) -> str:
    """A Hive text field as the declared type; unparseable values become NULL as in Hive."""
    data_type = parse_type(hive)
    target = duckdb_type(hive)
    kind = data_type.this
    if kind in (exp.DType.TEXT, exp.DType.VARCHAR, exp.DType.CHAR, exp.DType.NVARCHAR, exp.DType.NCHAR):
        return expr
    if kind == exp.DType.ARRAY:
        child = data_type.expressions[0]
        var = f"fb_x{depth}"
        inner = _text_value(var, child.sql("hive"), storage, depth + 1)
        delim = storage.collection_delimiter if depth == 0 else storage.map_key_delimiter
        return (f"CASE WHEN {expr} IS NULL OR {expr} = '' THEN NULL ELSE "
                f"list_transform(string_split({expr}, {quote_literal(delim)}), lambda {var}: {inner}) END")
    if kind == exp.DType.MAP:
        key_type, value_type = data_type.expressions[0], data_type.expressions[1]
        var = f"fb_x{depth}"
        mk = quote_literal(storage.map_key_delimiter)
        key = _text_value(f"split_part({var}, {mk}, 1)", key_type.sql("hive"), storage, depth + 1)
        value = _text_value(f"split_part({var}, {mk}, 2)", value_type.sql("hive"), storage, depth + 1)
        return (f"CASE WHEN {expr} IS NULL OR {expr} = '' THEN NULL ELSE map_from_entries(list_transform("
                f"string_split({expr}, {quote_literal(storage.collection_delimiter)}), "
                f"lambda {var}: {{'key': {key}, 'value': {value}}})) END")
    if kind == exp.DType.STRUCT:
        fields = []
        parts = f"string_split({expr}, {quote_literal(storage.collection_delimiter)})"
        for index, column in enumerate(data_type.expressions, start=1):
            fname = column.name
            ftype = column.args["kind"].sql("hive")
            fields.append(f"{quote_literal(fname)}: {_text_value(f'{parts}[{index}]', ftype, storage, depth + 1)}")
        return f"CASE WHEN {expr} IS NULL OR {expr} = '' THEN NULL ELSE {{{', '.join(fields)}}} END"
    if kind == exp.DType.BOOLEAN:
        return f"CASE lower(trim({expr})) WHEN 'true' THEN true WHEN 'false' THEN false END"
    return f"TRY_CAST(NULLIF(trim({expr}), '') AS {target})"


def _orc(conn: duckdb.DuckDBPyConnection, files: list[str], columns: Columns, arrow_name: str) -> str:
    """DuckDB has no built-in ORC reader, so ORC stripes are decoded with pyarrow and handed over as Arrow."""
    import pyarrow as pa
    import pyarrow.orc as orc

    tables: list[Any] = []
    for path in files:
        try:
            table = orc.ORCFile(path).read()
        except (OSError, pa.ArrowException) as exc:
            raise QueryFailed(f"HIVE_CANNOT_OPEN_SPLIT: Error opening Hive split: {exc}", 2, 1006) from exc
        table = table.rename_columns([c.lower() for c in table.column_names])
        table = table.append_column("fb_file", pa.array([path] * table.num_rows, pa.string()))
        tables.append(table)
    combined = pa.concat_tables(tables, promote_options="permissive")
    conn.register(arrow_name, combined)
    return _by_name([c for c in combined.column_names if c != "fb_file"], columns, quote_ident(arrow_name))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().split("\n")[0]
