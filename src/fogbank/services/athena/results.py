"""Query results as Athena keeps them: a CSV in the output location with every value quoted and NULL as an
empty field, column metadata with Athena's type names, and GetQueryResults pages read back from that CSV.

Values are rendered inside DuckDB (one SQL expression per column, derived from its type) the way Athena's
engine prints them: timestamps with milliseconds, booleans as true/false, arrays as [a, b], maps and rows as
{k=v}, doubles as Java prints them, varbinary as spaced hex.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import threading
from array import array
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from itertools import accumulate
from pathlib import Path
from typing import Any, BinaryIO, cast

import duckdb
from duckdb.sqltypes import DuckDBPyType

from fogbank.engines.sql import quote_ident

_INT_TYPES = {"tinyint": ("tinyint", 3), "smallint": ("smallint", 5), "integer": ("integer", 10),
              "bigint": ("bigint", 19), "hugeint": ("bigint", 19), "utinyint": ("smallint", 5),
              "usmallint": ("integer", 10), "uinteger": ("bigint", 19), "ubigint": ("bigint", 19),
              "uhugeint": ("bigint", 19)}


def athena_type(dtype: DuckDBPyType) -> tuple[str, int, int]:
    """(Athena type name, precision, scale) of a DuckDB result column."""
    tid = dtype.id
    text = str(dtype)
    if text == "JSON":
        return "json", 0, 0
    if tid in _INT_TYPES:
        name, precision = _INT_TYPES[tid]
        return name, precision, 0
    if tid == "decimal":
        children = dict(dtype.children)
        return "decimal", int(cast(int, children["precision"])), int(cast(int, children["scale"]))
    simple = {"varchar": ("varchar", 2147483647), "boolean": ("boolean", 0), "double": ("double", 17),
              "float": ("float", 17), "date": ("date", 0), "timestamp": ("timestamp", 3),
              "timestamp_ms": ("timestamp", 3), "timestamp_s": ("timestamp", 3), "timestamp_ns": ("timestamp", 3),
              "timestamp with time zone": ("timestamp with time zone", 3), "time": ("time", 3),
              "blob": ("varbinary", 1073741824), "interval": ("interval day to second", 0),
              "uuid": ("uuid", 0), "list": ("array", 0), "array": ("array", 0), "map": ("map", 0),
              "struct": ("row", 0), "null": ("unknown", 0)}
    name, precision = simple.get(tid, ("varchar", 2147483647))
    return name, precision, 0


def child_type(dtype: DuckDBPyType, index: int) -> DuckDBPyType:
    """The type of a nested type's index-th child (list element, map key/value, struct field)."""
    return cast(DuckDBPyType, dtype.children[index][1])


def column_info(names: list[str], types: list[DuckDBPyType]) -> list[dict[str, Any]]:
    out = []
    for name, dtype in zip(names, types, strict=True):
        type_name, precision, scale = athena_type(dtype)
        out.append({"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": name, "Label": name,
                    "Type": type_name, "Precision": precision, "Scale": scale, "Nullable": "UNKNOWN",
                    "CaseSensitive": type_name in ("varchar", "char", "json")})
    return out


def format_sql(expr: str, dtype: DuckDBPyType, depth: int = 0) -> str:
    """A DuckDB expression rendering `expr` (of type `dtype`) as Athena prints it; NULL stays NULL."""
    tid = dtype.id
    if str(dtype) == "JSON":
        return f"CAST({expr} AS VARCHAR)"
    if tid == "varchar":
        return expr
    if tid == "boolean":
        return f"CASE WHEN {expr} THEN 'true' WHEN NOT {expr} THEN 'false' END"
    if tid == "double":
        return (f"CASE WHEN abs({expr}) >= 0.001 AND abs({expr}) < 10000000 THEN CAST({expr} AS VARCHAR) "
                f"ELSE fb_sci_double({expr}) END")
    if tid == "float":
        return (f"CASE WHEN abs({expr}) >= 0.001 AND abs({expr}) < 10000000 THEN CAST({expr} AS VARCHAR) "
                f"ELSE fb_sci_real({expr}) END")
    if tid.startswith("timestamp with time zone"):
        return f"strftime(CAST({expr} AS TIMESTAMP), '%Y-%m-%d %H:%M:%S.%g') || ' UTC'"
    if tid.startswith("timestamp"):
        return f"strftime(CAST({expr} AS TIMESTAMP), '%Y-%m-%d %H:%M:%S.%g')"
    if tid == "time":
        return f"strftime(TIMESTAMP '1970-01-01' + {expr}, '%H:%M:%S.%g')"
    if tid == "decimal" and dtype.children[0][1] == dtype.children[1][1]:
        # decimal(p,p): DuckDB prints 0.5 as ".5"; Trino keeps the leading zero
        return f"regexp_replace(CAST({expr} AS VARCHAR), '^(-?)\\.', '\\10.')"
    if tid == "blob":
        return f"lower(rtrim(regexp_replace(hex({expr}), '(..)', '\\1 ', 'g')))"
    var = f"fb_e{depth}"
    if tid in ("list", "array"):
        inner = format_sql(var, child_type(dtype, 0), depth + 1)
        return (f"CASE WHEN {expr} IS NOT NULL THEN '[' || array_to_string(list_transform({expr}, "
                f"lambda {var}: coalesce({inner}, 'null')), ', ') || ']' END")
    if tid == "map":
        key_type, value_type = child_type(dtype, 0), child_type(dtype, 1)
        key = format_sql(f"{var}.key", key_type, depth + 1)
        value = format_sql(f"{var}.value", value_type, depth + 1)
        return (f"CASE WHEN {expr} IS NOT NULL THEN '{{' || array_to_string(list_transform(map_entries({expr}), "
                f"lambda {var}: coalesce({key}, 'null') || '=' || coalesce({value}, 'null')), ', ') || '}}' END")
    if tid == "struct":
        parts = []
        for index, (field, _) in enumerate(dtype.children):
            inner = format_sql(f"struct_extract({expr}, {_sql_string(field)})", child_type(dtype, index), depth + 1)
            parts.append(f"{_sql_string(field + '=')} || coalesce({inner}, 'null')")
        body = " || ', ' || ".join(parts) if parts else "''"
        return f"CASE WHEN {expr} IS NOT NULL THEN '{{' || {body} || '}}' END"
    return f"CAST({expr} AS VARCHAR)"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def formatted_query(sql: str, names: list[str], types: list[DuckDBPyType]) -> str:
    """Wraps a query so that every column comes out as Athena's text, positionally (names may repeat)."""
    inner = ", ".join(f"{quote_ident(f'fb_c{i}')}" for i in range(len(names)))
    exprs = ", ".join(format_sql(quote_ident(f"fb_c{i}"), t) for i, t in enumerate(types))
    return f"SELECT {exprs} FROM ({sql}) AS fb_q({inner})"


def copyable_header(names: list[str]) -> bool:
    """Whether DuckDB's own CSV writer can write this header: every name present and told apart."""
    return all(names) and len({n.lower() for n in names}) == len(names)


def copy_csv_sql(sql: str, names: list[str], types: list[DuckDBPyType], path: str) -> str:
    """A COPY that writes the result CSV exactly as `write_csv` does: a quoted header, every value quoted
    (inner quotes doubled), NULL as an empty unquoted field, rows in the query's order, LF line ends."""
    inner = ", ".join(quote_ident(f"fb_c{i}") for i in range(len(names)))
    exprs = ", ".join(f"{format_sql(quote_ident(f'fb_c{i}'), t)} AS {quote_ident(name)}"
                      for i, (name, t) in enumerate(zip(names, types, strict=True)))
    target = "'" + path.replace("'", "''") + "'"
    return (f"COPY (SELECT {exprs} FROM ({sql}) AS fb_q({inner})) TO {target} (FORMAT CSV, HEADER true, "
            "FORCE_QUOTE *, QUOTE '\"', ESCAPE '\"', DELIMITER ',', NULLSTR '', NEW_LINE '\\n')")


def csv_field(value: str | None) -> bytes:
    if value is None:
        return b""
    return b'"' + value.replace('"', '""').encode("utf-8") + b'"'


def csv_line(values: list[str | None]) -> bytes:
    return b",".join(csv_field(v) for v in values) + b"\n"


def write_csv(out: BinaryIO, header: list[str], rows: Iterator[list[Any]]) -> int:
    """Writes the header and rows; returns the number of data rows."""
    out.write(csv_line(list(header)))
    count = 0
    for row in rows:
        out.write(csv_line([None if v is None else str(v) for v in row]))
        count += 1
    return count


def fetch_batches(cursor: duckdb.DuckDBPyConnection, size: int = 4096) -> Iterator[list[Any]]:
    while True:
        batch = cursor.fetchmany(size)
        if not batch:
            return
        for row in batch:
            yield list(row)


# -- the .csv.metadata file --------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, value: str | int | bytes) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode("utf-8") if isinstance(value, str) else value
    return _varint((number << 3) | 2) + _varint(len(data)) + data


def metadata_bytes(columns: list[dict[str, Any]]) -> bytes:
    """The result-set metadata beside a CSV, as a protobuf message of column records (catalog, schema,
    table, name, label, type, precision, scale, nullable, case-sensitive), in the spirit of Athena's own."""
    body = b""
    for col in columns:
        record = (_field(1, col["CatalogName"]) + _field(2, col["SchemaName"]) + _field(3, col["TableName"])
                  + _field(4, col["Name"]) + _field(5, col["Label"]) + _field(6, col["Type"])
                  + _field(7, int(col["Precision"])) + _field(8, int(col["Scale"]))
                  + _field(9, 2 if col["Nullable"] == "UNKNOWN" else 1) + _field(10, int(col["CaseSensitive"])))
        body += _field(1, record)
    return body


# -- reading pages back ------------------------------------------------------------------------------------

_FIELD = rb'(?:"(?:[^"]|"")*"|[^",\n]*)'
_ROW = re.compile(_FIELD + rb"(?:," + _FIELD + rb")*\n")
_CELL = re.compile(rb'"((?:[^"]|"")*)"|([^",\n]*)')


def parse_csv_row(line: bytes) -> list[str | None]:
    """One row of an Athena result CSV: quoted fields are values, empty unquoted fields are NULL."""
    cells: list[str | None] = []
    pos = 0
    body = line[:-1] if line.endswith(b"\n") else line
    while True:
        match = _CELL.match(body, pos)
        if match is None:
            break
        if match.group(1) is not None:
            cells.append(match.group(1).replace(b'""', b'"').decode("utf-8", "replace"))
        else:
            raw = match.group(2)
            cells.append(raw.decode("utf-8", "replace") if raw else None)
        pos = match.end()
        if pos >= len(body) or body[pos:pos + 1] != b",":
            break
        pos += 1
    return cells


def parse_csv_rows(lines: list[bytes]) -> list[list[str | None]]:
    """Rows of an Athena result CSV, as `parse_csv_row` reads them, for a whole page at once.

    Python's csv reader does the splitting in C, but reads an empty unquoted field (NULL) and a quoted
    empty string alike. A quoted empty string always shows as `""` in its row, so rows without that
    sequence take the reader's cells (every empty one being NULL) and only the others are read cell by cell.
    """
    if not lines:
        return []
    text = b"".join(lines).decode("utf-8", "replace")
    try:
        parsed = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        parsed = []
    if len(parsed) != len(lines):
        return [parse_csv_row(line) for line in lines]
    out: list[list[str | None]] = []
    for line, cells in zip(lines, parsed, strict=True):
        if b'""' in line or not cells:  # an empty line is one NULL column, which the reader reads as no cell
            out.append(parse_csv_row(line))
        else:
            out.append([cell if cell else None for cell in cells])
    return out


def split_rows(data: bytes, limit: int) -> tuple[list[bytes], int]:
    """Up to `limit` complete rows from the start of `data`, and the bytes they take."""
    rows: list[bytes] = []
    pos = 0
    while len(rows) < limit and pos < len(data):
        match = _ROW.match(data, pos)
        if match is None:
            break
        rows.append(match.group(0))
        pos = match.end()
    return rows, pos


def row_starts(data: bytes) -> array[int] | None:
    """Where each row of a result CSV starts, and after them where the file ends; None when a value holds a
    line break, so that lines are not rows (then rows are found by parsing, page by page).

    Every value is quoted with its inner quotes doubled, so a row on one line has an even number of quotes,
    and a line with an odd number is part of a row that goes on."""
    if not data:
        return array("q", [0])
    if not data.endswith(b"\n"):
        return None
    lines = data.split(b"\n")
    lines.pop()
    if any(line.count(b'"') & 1 for line in lines):
        return None
    return array("q", accumulate((len(line) + 1 for line in lines), initial=0))


def parse_csv_lines(chunk: bytes) -> list[list[str | None]]:
    """The rows of a run of whole one-line rows (as `row_starts` found them)."""
    if b'""' not in chunk:  # no quoted empty string anywhere: every empty cell is a NULL, read in one pass
        try:
            parsed = list(csv.reader(io.StringIO(chunk.decode("utf-8", "replace"), newline=""), strict=True))
        except csv.Error:
            parsed = []
        if len(parsed) == chunk.count(b"\n") and all(parsed):
            return [[cell or None for cell in cells] for cells in parsed]
    lines = chunk.split(b"\n")
    lines.pop()
    return parse_csv_rows([line + b"\n" for line in lines])


class RowIndexes:
    """Row starts of recently read result files, so that each page of a long result is read from its own
    bytes instead of finding its start again; bounded by the rows remembered (8 bytes each)."""

    def __init__(self, max_rows: int = 4_000_000) -> None:
        self.max_rows = max_rows
        self._rows = 0
        self._found: OrderedDict[tuple[Hashable, ...], array[int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Hashable, ...]) -> array[int] | None:
        with self._lock:
            found = self._found.get(key)
            if found is not None:
                self._found.move_to_end(key)
            return found

    def put(self, key: tuple[Hashable, ...], starts: array[int]) -> None:
        if len(starts) > self.max_rows:
            return
        with self._lock:
            old = self._found.pop(key, None)
            self._rows -= len(old) if old is not None else 0
            self._found[key] = starts
            self._rows += len(starts)
            while self._rows > self.max_rows:
                _, dropped = self._found.popitem(last=False)
                self._rows -= len(dropped)


def encode_token(query_id: str, row: int, offset: int) -> str:
    raw = json.dumps([query_id, row, offset], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_token(token: str, query_id: str) -> tuple[int, int] | None:
    try:
        qid, row, offset = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, TypeError):
        return None
    if qid != query_id or not isinstance(row, int) or not isinstance(offset, int) or row < 0 or offset < 0:
        return None
    return row, offset


def text_rows(data: bytes) -> list[list[str | None]]:
    """Rows of a DDL result (.txt): one line per row, tab-separated values."""
    text = data.decode("utf-8", "replace")
    if not text:
        return []
    return [list[str | None](line.split("\t")) for line in text.rstrip("\n").split("\n")]


def write_text(path: Path, rows: list[list[str]]) -> None:
    with open(path, "wb") as out:
        for row in rows:
            out.write(("\t".join(row) + "\n").encode("utf-8"))
