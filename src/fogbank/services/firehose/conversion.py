"""Record format conversion: JSON records to Parquet or ORC with the columns of a Glue Data Catalog table.

The schema is read through the Glue provider's own GetTable (or GetTableVersion) operation, in-process, for
the stream's account and region. Hive column types (`int`, `decimal(10,2)`, `array<struct<a:string>>`, ...)
map to Arrow types; JSON values are coerced the way the OpenX JSON SerDe reads them (numbers in strings,
several timestamp spellings), or more strictly for the Hive SerDe. A record that does not fit the schema is
not written; it goes to the error output as `format-conversion-failed`.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import repeat
from typing import Any

from fogbank.context import RequestContext
from fogbank.errors import AwsError
from fogbank.protocol.dispatch import operations_of
from fogbank.protocol.http import Headers, HttpRequest
from fogbank.services.firehose.processing import FORMAT_CONVERSION_FAILED, Failure, Output


class CatalogUnavailable(Exception):
    """The table's schema cannot be read; `code` is the DataFormatConversion error code."""

    def __init__(self, message: str, code: str = "DataFormatConversion.EntityNotFound") -> None:
        super().__init__(message)
        self.code = code


class ConversionError(ValueError):
    """One JSON value that does not fit its column."""


_warmed = threading.Event()
_warm_lock = threading.Lock()


def warm_up() -> None:
    """Imports what the first conversion needs (pyarrow pulls in pandas on first use, seconds of work) in the
    background, so the first batch of a new stream does not wait for it."""
    with _warm_lock:
        if _warmed.is_set():
            return
        _warmed.set()

    def load() -> None:
        try:
            pa = _pyarrow()
            import pyarrow.compute
            import pyarrow.parquet  # noqa: F401

            pa.array([0])
        except Exception:  # the conversion itself reports a missing or broken pyarrow
            return

    threading.Thread(target=load, name="fogbank-firehose-warm-up", daemon=True).start()


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise CatalogUnavailable("Record format conversion needs pyarrow, which is not installed.",
                                 "DataFormatConversion.InvalidSchema") from None
    return pyarrow


# -- the catalog ------------------------------------------------------------------------------------------

class GlueCatalog:
    """Reads table columns from the Glue provider, if this server runs one."""

    def __init__(self, glue: object | None = None) -> None:
        self.glue = glue

    def columns(self, account: str, region: str, schema: dict[str, Any]) -> list[tuple[str, str]]:
        database, table = schema.get("DatabaseName"), schema.get("TableName")
        where = f"{database}.{table}"
        if self.glue is None:
            raise CatalogUnavailable(f"The Glue Data Catalog table {where} cannot be read: this fogbank server runs "
                                     "no Glue Data Catalog.")
        operations = operations_of(self.glue)
        version = schema.get("VersionId")
        latest = version in (None, "", "LATEST")
        name = "GetTable" if latest else "GetTableVersion"
        handler = operations.get(name)
        if handler is None:
            raise CatalogUnavailable(f"The Glue Data Catalog table {where} cannot be read: the Glue service does not "
                                     f"implement {name}.")
        ctx = RequestContext(schema.get("CatalogId") or account, schema.get("Region") or region, str(uuid.uuid4()),
                             "glue", name, HttpRequest("POST", "/", "", Headers()))
        request: dict[str, Any] = {"DatabaseName": database}
        if schema.get("CatalogId"):
            request["CatalogId"] = schema["CatalogId"]
        if latest:
            request["Name"] = table
        else:
            request.update(TableName=table, VersionId=version)
        try:
            out = handler(ctx, request)
        except AwsError as exc:
            code = ("DataFormatConversion.EntityNotFound" if "NotFound" in exc.error_code
                    else "DataFormatConversion.InvalidSchema")
            raise CatalogUnavailable(f"The Glue Data Catalog table {where} cannot be read: {exc.error_code}: "
                                     f"{exc.message}", code) from None
        found = out.get("Table") if latest else (out.get("TableVersion") or {}).get("Table")
        columns = ((found or {}).get("StorageDescriptor") or {}).get("Columns") or []
        if not columns:
            raise CatalogUnavailable(f"The Glue Data Catalog table {where} has no columns.",
                                     "DataFormatConversion.InvalidSchema")
        return [(str(c["Name"]), str(c.get("Type") or "string")) for c in columns]


# -- Hive types ------------------------------------------------------------------------------------------

_TYPE_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),:])")
Coerce = Callable[[Any], Any]


@dataclass
class ColumnType:
    """An Arrow type and how to coerce one JSON value to it.

    `fast` types let Arrow convert a whole column of plain JSON values at once (Arrow refuses exactly the
    values the coercer would change or refuse, so the two paths agree); others go value by value.
    """

    arrow: Any
    coerce: Coerce
    fast: bool = False
    refuse_bools: bool = False
    iso_timestamps: bool = False


class _TypeParser:
    def __init__(self, text: str, strict: bool, timestamp_formats: list[str]) -> None:
        self.text = text
        self.tokens = [m.group(1) for m in _TYPE_TOKEN.finditer(text)]
        self.pos = 0
        self.strict = strict
        self.formats = timestamp_formats
        self.pa = _pyarrow()

    def take(self, expected: str | None = None) -> str:
        if self.pos >= len(self.tokens):
            raise ConversionError(f"unexpected end of type {self.text}")
        token = self.tokens[self.pos]
        if expected is not None and token != expected:
            raise ConversionError(f"expected {expected} in type {self.text}")
        self.pos += 1
        return token

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> ColumnType:
        result = self.type()
        if self.peek() is not None:
            raise ConversionError(f"unexpected {self.peek()} in type {self.text}")
        return result

    def type(self) -> ColumnType:
        pa = self.pa
        name = self.take().lower()
        if name == "array":
            self.take("<")
            item = self.type()
            self.take(">")
            exact = item.fast and not item.refuse_bools
            return ColumnType(pa.list_(item.arrow), _array(item.coerce), fast=exact)
        if name == "map":
            self.take("<")
            key = self.type()
            self.take(",")
            value = self.type()
            self.take(">")
            return ColumnType(pa.map_(key.arrow, value.arrow), _map(key.coerce, value.coerce))
        if name == "struct":
            self.take("<")
            fields: list[tuple[str, ColumnType]] = []
            while True:
                field_name = self.take()
                self.take(":")
                fields.append((field_name.lower(), self.type()))
                if self.peek() == ",":
                    self.take(",")
                    continue
                self.take(">")
                break
            return ColumnType(pa.struct([(n, t.arrow) for n, t in fields]), _struct(fields))
        if name in ("varchar", "char", "decimal") and self.peek() == "(":
            self.take("(")
            first = int(self.take())
            second = 0
            if self.peek() == ",":
                self.take(",")
                second = int(self.take())
            self.take(")")
            if name == "decimal":
                return ColumnType(pa.decimal128(first, second), _decimal(first, second, self.strict))
            return ColumnType(pa.string(), _string, fast=True)
        return self.primitive(name)

    def primitive(self, name: str) -> ColumnType:
        pa = self.pa
        ints = {"tinyint": (pa.int8(), 8), "smallint": (pa.int16(), 16), "int": (pa.int32(), 32),
                "integer": (pa.int32(), 32), "bigint": (pa.int64(), 64)}
        if name in ints:
            arrow, bits = ints[name]
            return ColumnType(arrow, _integer(bits, self.strict), fast=True)
        if name in ("string", "varchar", "char"):
            return ColumnType(pa.string(), _string, fast=True)
        if name in ("double", "float"):
            # Arrow would read true as 1.0, which the SerDe refuses: columns holding booleans go value by value.
            return ColumnType(pa.float64() if name == "double" else pa.float32(), _floating(self.strict), fast=True,
                              refuse_bools=True)
        if name == "boolean":
            return ColumnType(pa.bool_(), _boolean(self.strict), fast=True)
        if name == "timestamp":
            return ColumnType(pa.timestamp("ms"), _timestamp(self.strict, self.formats),
                              iso_timestamps=not self.formats)
        if name == "date":
            return ColumnType(pa.date32(), _date)
        if name == "decimal":
            return ColumnType(pa.decimal128(10, 0), _decimal(10, 0, self.strict))
        if name == "binary":
            return ColumnType(pa.binary(), _binary)
        raise ConversionError(f"unsupported column type {name}")


def _string(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _integer(bits: int, strict: bool) -> Coerce:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def coerce(value: Any) -> Any:
        if isinstance(value, bool):
            raise ConversionError(f"boolean {value} is not an integer")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and not strict:
            try:
                value = int(value.strip())
            except ValueError:
                raise ConversionError(f"'{value}' is not an integer") from None
        if not isinstance(value, int):
            raise ConversionError(f"{value!r} is not an integer")
        if not low <= value <= high:
            raise ConversionError(f"{value} is out of range for a {bits}-bit integer")
        return value

    return coerce


def _floating(strict: bool) -> Coerce:
    def coerce(value: Any) -> Any:
        if isinstance(value, bool):
            raise ConversionError(f"boolean {value} is not a number")
        if isinstance(value, str) and not strict:
            try:
                return float(value)
            except ValueError:
                raise ConversionError(f"'{value}' is not a number") from None
        if not isinstance(value, int | float):
            raise ConversionError(f"{value!r} is not a number")
        return float(value)

    return coerce


def _boolean(strict: bool) -> Coerce:
    def coerce(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and not strict and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ConversionError(f"{value!r} is not a boolean")

    return coerce


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _from_epoch(number: float, millis: bool) -> int:
    """Timestamps travel as epoch milliseconds: Arrow builds a timestamp column from ints fastest."""
    return round(number if millis else number * 1000)


def _epoch_ms(parsed: datetime) -> int:
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    delta = parsed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _parse_time(text: str) -> int:
    try:
        return _epoch_ms(datetime.fromisoformat(text))
    except ValueError:
        pass
    match = _ISO.match(text.strip())
    if match is None:
        raise ConversionError(f"'{text}' is not a supported timestamp")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = (match.group(7) or "0").ljust(6, "0")[:6]
    try:
        parsed = datetime(year, month, day, hour, minute, second, int(fraction))
    except ValueError as exc:
        raise ConversionError(f"'{text}' is not a valid timestamp: {exc}") from None
    zone = match.group(8)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        parsed -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return _epoch_ms(parsed)


def _joda(pattern: str) -> str:
    """A Joda-Time DateTimeFormat pattern as a strptime format (the common fields)."""
    table = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "M": "%m", "dd": "%d", "d": "%d", "HH": "%H", "H": "%H",
             "mm": "%M", "ss": "%S", "SSS": "%f", "S": "%f", "Z": "%z", "ZZ": "%z", "a": "%p", "hh": "%I",
             "MMM": "%b", "EEE": "%a"}
    out: list[str] = []
    for run in re.finditer(r"'([^']*)'|([A-Za-z])\2*|.", pattern):
        if run.group(1) is not None:
            out.append(run.group(1).replace("%", "%%"))
        elif run.group(2) is not None:
            if run.group(0) not in table:
                raise ConversionError(f"unsupported timestamp pattern field {run.group(0)}")
            out.append(table[run.group(0)])
        else:
            out.append(run.group(0).replace("%", "%%"))
    return "".join(out)


def _timestamp(strict: bool, formats: list[str]) -> Coerce:
    strptime_formats = [f for f in formats if f != "millis"]

    def coerce(value: Any) -> Any:
        if isinstance(value, bool):
            raise ConversionError(f"boolean {value} is not a timestamp")
        if isinstance(value, int | float):
            if strict and "millis" not in formats:
                raise ConversionError(f"{value} is not a timestamp")
            millis = "millis" in formats or (isinstance(value, int) and abs(value) >= 100_000_000_000)
            return _from_epoch(value, millis)
        if not isinstance(value, str):
            raise ConversionError(f"{value!r} is not a timestamp")
        for fmt in strptime_formats:
            try:
                return _epoch_ms(datetime.strptime(value, _joda(fmt)))
            except (ValueError, ConversionError):
                continue
        text = value.strip()
        if not strict and re.fullmatch(r"-?\d+(\.\d+)?", text):
            number = float(text)
            return _from_epoch(number, "." not in text and abs(number) >= 100_000_000_000)
        return _parse_time(text)

    return coerce


def _date(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return date(1970, 1, 1) + timedelta(days=value)
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise ConversionError(f"{value!r} is not a date")


def _decimal(precision: int, scale: int, strict: bool) -> Coerce:
    quantum = Decimal(1).scaleb(-scale)

    def coerce(value: Any) -> Any:
        if isinstance(value, bool) or (strict and isinstance(value, str)):
            raise ConversionError(f"{value!r} is not a decimal")
        try:
            number = Decimal(str(value)).quantize(quantum)
        except (InvalidOperation, ValueError):
            raise ConversionError(f"{value!r} is not a decimal") from None
        if len(number.as_tuple().digits) > precision:
            raise ConversionError(f"{value} does not fit decimal({precision},{scale})")
        return number

    return coerce


def _binary(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            return value.encode()
    raise ConversionError(f"{value!r} is not binary")


def _array(item: Coerce) -> Coerce:
    def coerce(value: Any) -> Any:
        if not isinstance(value, list):
            raise ConversionError(f"{value!r} is not an array")
        return [None if v is None else item(v) for v in value]

    return coerce


def _map(key: Coerce, item: Coerce) -> Coerce:
    def coerce(value: Any) -> Any:
        if not isinstance(value, dict):
            raise ConversionError(f"{value!r} is not an object")
        return [(key(k), None if v is None else item(v)) for k, v in value.items()]

    return coerce


def _struct(fields: list[tuple[str, ColumnType]]) -> Coerce:
    def coerce(value: Any) -> Any:
        if not isinstance(value, dict):
            raise ConversionError(f"{value!r} is not an object")
        lowered = {str(k).lower(): v for k, v in value.items()}
        out: dict[str, Any] = {}
        for name, kind in fields:
            item = lowered.get(name)
            out[name] = None if item is None else kind.coerce(item)
        return out

    return coerce


# -- conversion ------------------------------------------------------------------------------------------

_SCANNER: Any = json.JSONDecoder()  # its scan_once is the C scanner behind json.loads
_JSON_SPACE = " \t\r\n"
# Strings Arrow's cast reads exactly as `_parse_time` does; Arrow refuses impossible dates and times in them.
_PLAIN_ISO = r"^(?:000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{3})?$"


def _whole_column(pa: Any, kind: ColumnType, values: list[Any]) -> Any:
    """The column converted by Arrow in one call, or None where values must be coerced one by one.

    Arrow refuses exactly the values the coercer would change or refuse, so both paths give the same column.
    """
    if kind.iso_timestamps:
        return _iso_timestamps(pa, kind, values)
    if not kind.fast:
        return None
    if kind.refuse_bools and bool in set(map(type, values)):
        return None
    try:
        return pa.array(values, type=kind.arrow)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None


def _iso_timestamps(pa: Any, kind: ColumnType, values: list[Any]) -> Any:
    """A timestamp column whose values are all plain ISO-8601 strings (or null), parsed by Arrow."""
    if not set(map(type, values)) <= {str, type(None)}:
        return None
    import pyarrow.compute as pc

    strings = pa.array(values, type=pa.string())
    if strings.null_count == len(strings):
        return None
    if not pc.all(pc.match_substring_regex(strings, _PLAIN_ISO)).as_py():
        return None
    try:
        return strings.cast(kind.arrow)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None

class Converter:
    """One DataFormatConversionConfiguration: deserializer options and the output writer."""

    def __init__(self, config: dict[str, Any]) -> None:
        deserializer = ((config.get("InputFormatConfiguration") or {}).get("Deserializer") or {})
        self.hive = "HiveJsonSerDe" in deserializer
        openx = deserializer.get("OpenXJsonSerDe") or {}
        hive = deserializer.get("HiveJsonSerDe") or {}
        self.case_insensitive = openx.get("CaseInsensitive", True) is not False
        self.dots = bool(openx.get("ConvertDotsInJsonKeysToUnderscores", False))
        self.mappings = {k.lower(): v for k, v in (openx.get("ColumnToJsonKeyMappings") or {}).items()}
        self.timestamp_formats = list(hive.get("TimestampFormats") or [])
        serializer = ((config.get("OutputFormatConfiguration") or {}).get("Serializer") or {})
        self.orc = "OrcSerDe" in serializer
        self.options = serializer.get("OrcSerDe" if self.orc else "ParquetSerDe") or {}
        self.schema = config.get("SchemaConfiguration") or {}
        warm_up()

    def columns(self, columns: list[tuple[str, str]]) -> list[tuple[str, ColumnType]]:
        out: list[tuple[str, ColumnType]] = []
        for name, type_text in columns:
            try:
                out.append((name.lower(), _TypeParser(type_text, self.hive, self.timestamp_formats).parse()))
            except ConversionError as exc:
                raise CatalogUnavailable(f"Column {name} of the Glue table has a type fogbank cannot convert: {exc}",
                                         "DataFormatConversion.InvalidSchema") from None
        return out

    def convert(self, outputs: list[Output], columns: list[tuple[str, ColumnType]]) -> tuple[bytes | None,
                                                                                             list[Failure]]:
        """The Parquet or ORC body of the records that fit, and a failure for each record that does not.

        Work goes column by column: Arrow converts a column of plain values in one call, and only columns it
        refuses are coerced value by value. A record with any value that does not fit is left out whole.
        """
        pa = _pyarrow()
        documents, folded, owners, failures = self._parse(outputs)
        bad: dict[int, str] = {}
        arrays: list[Any] = []
        for name, kind in columns:
            mapped = self.mappings.get(name)
            if mapped is None:
                values = list(map(dict.get, folded, repeat(name)))
            else:
                values = list(map(dict.get, documents, repeat(mapped)))
            array = _whole_column(pa, kind, values)
            if array is None:
                coerced: list[Any] = []
                for value, owner in zip(values, owners, strict=True):
                    if value is None or owner in bad:
                        coerced.append(None)
                        continue
                    try:
                        coerced.append(kind.coerce(value))
                    except ConversionError as exc:
                        bad[owner] = f"column {name}: {exc}"
                        coerced.append(None)
                array = pa.array(coerced, type=kind.arrow)
            arrays.append(array)
        failures.extend(self.failure(outputs[i], "DataFormatConversion.MalformedData", message)
                        for i, message in sorted(bad.items()))
        if bad:
            keep = pa.array([row for row, owner in enumerate(owners) if owner not in bad], type=pa.int64())
            arrays = [array.take(keep) for array in arrays]
        if not arrays or len(arrays[0]) == 0:
            return None, failures
        table = pa.Table.from_arrays(arrays, names=[name for name, _ in columns])
        return self._write(table), failures

    def _parse(self, outputs: list[Output]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int],
                                                    list[Failure]]:
        """The JSON objects of every record, the same with keys as column names, each one's record, failures.

        A record is usually one object with nothing around it: the C scanner reads it in one call, and only
        other records (several documents, malformed data) take the general path. Keys are folded to column
        names only if some key needs it, which one look at all the keys of the batch tells.
        """
        scan = _SCANNER.scan_once
        documents: list[dict[str, Any]] = []
        owners: list[int] = []
        failures: list[Failure] = []
        for index, output in enumerate(outputs):
            try:
                text = output.data.decode("utf-8")
                try:
                    value, end = scan(text, 0)
                except (StopIteration, ValueError):
                    end = -1
                if type(value) is dict and (end == len(text) or (end > 0 and not text[end:].strip(_JSON_SPACE))):
                    documents.append(value)
                    owners.append(index)
                    continue
                parsed = _documents(text)
                for document in parsed:
                    if type(document) is not dict:
                        raise ConversionError("the record is not a JSON object")
            except (ConversionError, ValueError, UnicodeDecodeError) as exc:
                failures.append(self.failure(output, "DataFormatConversion.MalformedData", str(exc)))
                continue
            documents.extend(parsed)
            owners.extend(repeat(index, len(parsed)))
        fold = self.case_insensitive or self.hive
        keys: set[str] = set().union(*documents) if documents else set()
        if not self.dots and (not fold or all(k == k.lower() for k in keys)):
            return documents, documents, owners, failures
        shapes: dict[tuple[str, ...], bool] = {}
        folded: list[dict[str, Any]] = []
        for document in documents:
            shape = tuple(document)
            plain = shapes.get(shape)
            if plain is None:
                plain = shapes[shape] = not self.dots and (not fold or all(k == k.lower() for k in shape))
            folded.append(document if plain else self._fold(document, fold))
        return documents, folded, owners, failures

    def _fold(self, document: dict[str, Any], fold: bool) -> dict[str, Any]:
        """The document's keys as column names: lower-cased (unless case-sensitive), dots made underscores."""
        keys: dict[str, Any] = {}
        for key, value in document.items():
            name = key.replace(".", "_") if self.dots else key
            keys[name.lower() if fold else name] = value
        return keys

    def _write(self, table: Any) -> bytes:
        buffer = io.BytesIO()
        options = self.options
        if self.orc:
            import pyarrow.orc as orc

            compression = {"NONE": "uncompressed", "ZLIB": "zlib", "SNAPPY": "snappy"}[options.get("Compression",
                                                                                                  "SNAPPY")]
            bloom = [i for i, name in enumerate(table.column_names)
                     if name in {c.lower() for c in options.get("BloomFilterColumns") or []}]
            orc.write_table(table, buffer, file_version="0.11" if options.get("FormatVersion") == "V0_11" else "0.12",
                            stripe_size=int(options.get("StripeSizeBytes", 64 * 1024 * 1024)),
                            compression=compression, row_index_stride=int(options.get("RowIndexStride", 10000)),
                            padding_tolerance=float(options.get("PaddingTolerance", 0.05)),
                            dictionary_key_size_threshold=float(options.get("DictionaryKeyThreshold", 0.0)),
                            bloom_filter_columns=bloom or None,
                            bloom_filter_fpp=float(options.get("BloomFilterFalsePositiveProbability", 0.05)))
            return buffer.getvalue()
        import pyarrow.parquet as pq

        compression = {"UNCOMPRESSED": "none", "GZIP": "gzip", "SNAPPY": "snappy"}[options.get("Compression",
                                                                                               "SNAPPY")]
        v2 = options.get("WriterVersion") == "V2"
        pq.write_table(table, buffer, compression=compression,
                       use_dictionary=bool(options.get("EnableDictionaryCompression", False)),
                       data_page_size=int(options.get("PageSizeBytes", 1024 * 1024)),
                       version="2.6" if v2 else "1.0", data_page_version="2.0" if v2 else "1.0")
        return buffer.getvalue()

    def failure(self, output: Output, code: str, message: str) -> Failure:
        schema = self.schema
        table = {"catalogId": schema.get("CatalogId"), "databaseName": schema.get("DatabaseName"),
                 "tableName": schema.get("TableName"), "region": schema.get("Region"),
                 "versionId": schema.get("VersionId", "LATEST"), "catalogArn": None}
        document = {"attemptsMade": 1, "arrivalTimestamp": output.arrival_ms, "lastErrorCode": code,
                    "lastErrorMessage": message, "attemptEndingTimestamp": int(datetime.now(UTC).timestamp() * 1000),
                    "rawData": base64.b64encode(output.data).decode(), "dataCatalogTable": table}
        return Failure(FORMAT_CONVERSION_FAILED, output.arrival_ms, document)


def _documents(text: str) -> list[Any]:
    """The JSON values in one record: one, or several concatenated or separated by new lines."""
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        pass  # several documents, concatenated or one per line
    decoder = json.JSONDecoder()
    out: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in _JSON_SPACE:
            pos += 1
        if pos >= len(text):
            break
        value, pos = decoder.raw_decode(text, pos)
        out.append(value)
    if not out:
        raise ConversionError("the record holds no JSON")
    return out
