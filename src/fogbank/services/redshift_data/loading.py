"""COPY: loading objects of fogbank's S3 into a warehouse table.

The objects are copied to the statement's scratch folder, read by DuckDB's CSV/JSON/Parquet readers as
text (or Parquet's own types), converted to the table's column types with Redshift's rules (empty fields,
NULL AS, DATEFORMAT/TIMEFORMAT) and inserted in the statement's transaction, so a failed load leaves the
table as it was.
"""

from __future__ import annotations

import bz2
import json
import shutil

import duckdb

from fogbank.services.redshift_data import catalog
from fogbank.services.redshift_data.catalog import TableColumn
from fogbank.services.redshift_data.commands import CopyCommand
from fogbank.services.redshift_data.pgerror import RedshiftSqlError, from_duckdb
from fogbank.services.redshift_data.s3io import S3Access, S3Object, Scratch

_CHAR_TYPES = {"varchar", "bpchar"}
# CSV has no null marker: an empty field is an empty string (char columns) or NULL (others, by conversion).
NEVER_NULL = "\x1ffogbank:no-null-marker\x1f"
_FORMAT_PARTS = [("YYYY", "%Y"), ("YY", "%y"), ("MONTH", "%B"), ("MON", "%b"), ("MM", "%m"), ("DD", "%d"),
                 ("HH24", "%H"), ("HH12", "%I"), ("HH", "%I"), ("MI", "%M"), ("SS", "%S"), ("AM", "%p"),
                 ("PM", "%p"), ("US", "%f"), ("MS", "%g")]


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def strftime_format(redshift: str) -> str:
    """A Redshift DATEFORMAT/TIMEFORMAT string as a strptime format."""
    out = []
    i = 0
    upper = redshift.upper()
    while i < len(redshift):
        for part, code in _FORMAT_PARTS:
            if upper.startswith(part, i):
                out.append(code)
                i += len(part)
                break
        else:
            out.append("%%" if redshift[i] == "%" else redshift[i])
            i += 1
    return "".join(out)


def source_objects(command: CopyCommand, s3: S3Access) -> list[S3Object]:
    """The objects a COPY reads: every object under the prefix, or the entries of a manifest."""
    if command.manifest:
        try:
            manifest = json.loads(s3.read_bytes(command.source))
            entries = manifest["entries"]
        except (ValueError, KeyError, TypeError):
            raise RedshiftSqlError(f"Manifest file is not in correct json format: {command.source}") from None
        found: list[S3Object] = []
        for entry in entries:
            url = entry.get("url", "")
            listed = [o for o in s3.list(url) if o.url == url]
            if not listed:
                if entry.get("mandatory"):
                    raise RedshiftSqlError(f"Manifest file contains a mandatory file that is not found: {url}")
                continue
            found.extend(listed)
        return found
    objects = [o for o in s3.list(command.source) if not o.key.endswith("/")]
    if not objects:
        raise RedshiftSqlError(f"The specified S3 prefix '{command.source.split('/', 3)[-1]}' does not exist")
    return objects


def _fetch(command: CopyCommand, s3: S3Access, scratch: Scratch) -> list[str]:
    files: list[str] = []
    for obj in source_objects(command, s3):
        suffix = {"gzip": ".gz", "zstd": ".zst"}.get(command.compression or "", "")
        if command.fmt == "PARQUET":
            suffix = ".parquet"
        path = s3.download(obj, scratch.file(suffix))
        if command.compression == "bzip2":
            plain = scratch.file()
            with bz2.open(path, "rb") as source, open(plain, "wb") as target:
                shutil.copyfileobj(source, target)
            path.unlink()
            path = plain
        elif command.compression == "lzop":
            raise RedshiftSqlError("LZOP compression is not supported by this warehouse")
        files.append(str(path))
    return files


def _convert(expression: str, column: TableColumn, command: CopyCommand) -> str:
    """A text field as a value of the column's type, with COPY's conversion rules."""
    kind = column.declared.name
    if kind in _CHAR_TYPES:
        if command.blanks_as_null:
            expression = f"CASE WHEN trim({expression}) = '' THEN NULL ELSE {expression} END"
        elif command.empty_as_null:
            expression = f"NULLIF({expression}, '')"
        if command.truncate_columns and column.declared.length:
            expression = f"left({expression}, {column.declared.length})"
        return expression
    value = f"NULLIF(trim({expression}), '')"
    if kind == "date" and command.date_format and command.date_format.lower() != "auto":
        return f"CAST(strptime({value}, {literal(strftime_format(command.date_format))}) AS DATE)"
    if kind in ("timestamp", "timestamptz") and command.time_format:
        fmt = command.time_format.lower()
        if fmt == "epochsecs":
            return f"CAST(to_timestamp(CAST({value} AS DOUBLE)) AS {column.duckdb_type})"
        if fmt == "epochmillisecs":
            return f"CAST(to_timestamp(CAST({value} AS DOUBLE) / 1000) AS {column.duckdb_type})"
        if fmt != "auto":
            return f"CAST(strptime({value}, {literal(strftime_format(command.time_format))}) AS {column.duckdb_type})"
    if kind == "bool":
        return (f"CASE lower({value}) WHEN 't' THEN true WHEN 'f' THEN false WHEN '1' THEN true WHEN '0' THEN "
                f"false WHEN 'y' THEN true WHEN 'n' THEN false WHEN 'yes' THEN true WHEN 'no' THEN false "
                f"ELSE CAST({value} AS BOOLEAN) END")
    return f"CAST({value} AS {column.duckdb_type})"


def _delimited(command: CopyCommand, files: list[str], columns: list[TableColumn]) -> str:
    csv = command.fmt == "CSV"
    delimiter = command.delimiter or ("," if csv else "|")
    names = [f"c{i}" for i in range(len(columns))]
    options = [f"delim={literal(delimiter)}", "header=false", f"skip={command.ignore_header}",
               "auto_detect=false", "allow_quoted_nulls=false",
               "columns={" + ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names) + "}"]
    if csv:
        options.append(f"quote={literal(command.quote)}")
        options.append(f"escape={literal(command.quote)}")
    else:
        options.append("quote=''")
        options.append("escape='\\'" if command.escape else "escape=''")
    null_as = command.null_as if command.null_as is not None else (None if csv else "\\N")
    options.append(f"nullstr={literal(null_as if null_as is not None else NEVER_NULL)}")
    if command.fill_record:
        options.append("null_padding=true")
    if command.compression in ("gzip", "zstd"):
        options.append(f"compression={literal(command.compression)}")
    paths = "[" + ", ".join(literal(f) for f in files) + "]"
    items = []
    for name, column in zip(names, columns, strict=True):
        field = name
        if not csv and command.remove_quotes:
            field = f"regexp_replace({name}, '^\"(.*)\"$', '\\1')"
        items.append(f"{_convert(field, column, command)} AS {quote_ident(column.name)}")
    where = ""
    if command.ignore_blank_lines:
        where = " WHERE NOT (" + " AND ".join(f"coalesce({n}, '') = ''" for n in names) + ")"
    return f"SELECT {', '.join(items)} FROM read_csv({paths}, {', '.join(options)}){where}"


def _json(command: CopyCommand, files: list[str], columns: list[TableColumn], s3: S3Access) -> str:
    mode = command.json_paths.strip()
    if mode.lower() in ("auto", "auto ignorecase", "noshred"):
        paths = [f'$."{c.name}"' for c in columns]
    else:
        try:
            document = json.loads(s3.read_bytes(mode))
            paths = list(document["jsonpaths"])
        except (ValueError, KeyError, TypeError):
            raise RedshiftSqlError(f"Invalid JSONPath format: {mode}") from None
        if len(paths) != len(columns):
            raise RedshiftSqlError(f"Number of jsonpaths and the number of columns should match. JSONPath size: "
                                   f"{len(paths)}, Number of columns in table or column list: {len(columns)}")
    compression = f", compression={literal(command.compression)}" if command.compression in ("gzip", "zstd") else ""
    source = "[" + ", ".join(literal(f) for f in files) + "]"
    items = []
    for path, column in zip(paths, columns, strict=True):
        if column.declared.name == "super":
            items.append(f"json_extract(json, {literal(path)}) AS {quote_ident(column.name)}")
        else:
            items.append(f"{_convert(f'json_extract_string(json, {literal(path)})', column, command)} "
                         f"AS {quote_ident(column.name)}")
    return f"SELECT {', '.join(items)} FROM read_json_objects({source}, format='auto'{compression})"


def _parquet(cursor: duckdb.DuckDBPyConnection, files: list[str], columns: list[TableColumn], table: str) -> str:
    source = "read_parquet([" + ", ".join(literal(f) for f in files) + "], union_by_name=true)"
    described = cursor.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    if len(described) != len(columns):
        raise RedshiftSqlError(f"Load into table '{table}' failed: the Parquet files have {len(described)} "
                               f"columns and the column list has {len(columns)}; COPY maps Parquet columns by "
                               "position")
    items = [f"CAST({quote_ident(d[0])} AS {c.duckdb_type}) AS {quote_ident(c.name)}"
             for d, c in zip(described, columns, strict=True)]
    return f"SELECT {', '.join(items)} FROM {source}"


def _target_columns(command: CopyCommand, all_columns: list[TableColumn], table: str) -> list[TableColumn]:
    by_name = {c.name: c for c in all_columns}
    if command.columns:
        chosen = []
        for name in command.columns:
            if name not in by_name:
                raise RedshiftSqlError(f'column "{name}" of relation "{table}" does not exist')
            chosen.append(by_name[name])
        if any(c.is_identity for c in chosen) and not command.explicit_ids:
            raise RedshiftSqlError("cannot set an identity column to a value; use EXPLICIT_IDS")
        return chosen
    if command.explicit_ids:
        return all_columns
    return [c for c in all_columns if not c.is_identity]


def run_copy(cursor: duckdb.DuckDBPyConnection, database: str, command: CopyCommand, s3: S3Access,
             scratch: Scratch) -> int:
    """Loads the objects into the table in the cursor's open transaction; returns the rows loaded."""
    catalog_name, schema, table = catalog.resolve_table(cursor, database, command.table)
    all_columns = catalog.table_columns(cursor, catalog_name, schema, table)
    columns = _target_columns(command, all_columns, table)
    files = _fetch(command, s3, scratch)
    if command.fmt in ("CSV", "TEXT"):
        select = _delimited(command, files, columns)
    elif command.fmt == "JSON":
        select = _json(command, files, columns, s3)
    else:
        select = _parquet(cursor, files, columns, table)
    target = ".".join(quote_ident(p) for p in (catalog_name, schema, table))
    column_list = ", ".join(quote_ident(c.name) for c in columns)
    try:
        row = cursor.execute(f"INSERT INTO {target} ({column_list}) {select}").fetchone()
    except duckdb.Error as error:
        reason = from_duckdb(error).message
        raise RedshiftSqlError(f"Load into table '{table}' failed. Check 'stl_load_errors' system table for "
                               f"details.\nDETAIL: {reason}") from None
    return int(row[0]) if row else 0
