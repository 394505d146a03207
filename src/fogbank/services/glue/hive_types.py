"""Hive/Glue column types: from Arrow and Avro schemas, DuckDB result types and JSON values, and how two inferred
types merge."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import pyarrow as pa
    from duckdb.sqltypes import DuckDBPyType

_INT32 = 2**31
_WIDTH = {"tinyint": 1, "smallint": 2, "int": 3, "bigint": 4}


def from_arrow(dtype: pa.DataType) -> str:
    import pyarrow.types as pat  # only crawls need pyarrow; the server starts without it

    """The Glue type a Parquet/ORC column of this Arrow type is catalogued as."""
    if pat.is_dictionary(dtype):
        return from_arrow(dtype.value_type)
    if pat.is_boolean(dtype):
        return "boolean"
    if pat.is_int8(dtype):
        return "tinyint"
    if pat.is_int16(dtype) or pat.is_uint8(dtype):
        return "smallint"
    if pat.is_int32(dtype) or pat.is_uint16(dtype):
        return "int"
    if pat.is_int64(dtype) or pat.is_uint32(dtype):
        return "bigint"
    if pat.is_uint64(dtype):
        return "decimal(20,0)"
    if pat.is_float16(dtype) or pat.is_float32(dtype):
        return "float"
    if pat.is_float64(dtype):
        return "double"
    if pat.is_decimal(dtype):
        return f"decimal({dtype.precision},{dtype.scale})"
    if pat.is_string(dtype) or pat.is_large_string(dtype) or pat.is_string_view(dtype):
        return "string"
    if pat.is_binary(dtype) or pat.is_large_binary(dtype) or pat.is_fixed_size_binary(dtype) \
            or pat.is_binary_view(dtype):
        return "binary"
    if pat.is_date(dtype):
        return "date"
    if pat.is_timestamp(dtype):
        return "timestamp"
    if pat.is_list(dtype) or pat.is_large_list(dtype) or pat.is_fixed_size_list(dtype) \
            or pat.is_list_view(dtype) or pat.is_large_list_view(dtype):
        return f"array<{from_arrow(dtype.value_type)}>"
    if pat.is_map(dtype):
        return f"map<{from_arrow(dtype.key_type)},{from_arrow(dtype.item_type)}>"
    if pat.is_struct(dtype):
        fields = ",".join(f"{dtype.field(i).name}:{from_arrow(dtype.field(i).type)}"
                          for i in range(dtype.num_fields))
        return f"struct<{fields}>"
    return "string"


_DUCKDB_SIMPLE = {
    "varchar": "string", "boolean": "boolean", "tinyint": "tinyint", "smallint": "smallint", "integer": "int",
    "bigint": "bigint", "hugeint": "bigint", "double": "double", "float": "float", "date": "date",
    "timestamp": "timestamp", "timestamp_ms": "timestamp", "timestamp_ns": "timestamp", "timestamp_s": "timestamp",
    "timestamp with time zone": "timestamp", "blob": "binary", "utinyint": "smallint", "usmallint": "int",
    "uinteger": "bigint", "ubigint": "bigint", "time": "string", "uuid": "string", "interval": "string"}


def from_duckdb(dtype: DuckDBPyType) -> str:
    """The Glue type a DuckDB result column is catalogued as (a CTAS's, a view's, a Spectrum CETAS's)."""
    tid = dtype.id
    if str(dtype) == "JSON":
        return "string"
    if tid in _DUCKDB_SIMPLE:
        return _DUCKDB_SIMPLE[tid]
    if tid == "decimal":
        sizes = dict(dtype.children)
        return f"decimal({sizes['precision']},{sizes['scale']})"
    if tid in ("list", "array"):
        return f"array<{from_duckdb(_child(dtype, 0))}>"
    if tid == "map":
        return f"map<{from_duckdb(_child(dtype, 0))},{from_duckdb(_child(dtype, 1))}>"
    if tid == "struct":
        return "struct<" + ",".join(f"{name}:{from_duckdb(_child(dtype, i))}"
                                    for i, (name, _) in enumerate(dtype.children)) + ">"
    return "string"


def _child(dtype: DuckDBPyType, index: int) -> DuckDBPyType:
    """A nested type's index-th child type (list element, map key or value, struct field)."""
    return cast("DuckDBPyType", dtype.children[index][1])


_AVRO_PRIMITIVES = {"null": "string", "boolean": "boolean", "int": "int", "long": "bigint", "float": "float",
                    "double": "double", "bytes": "binary", "string": "string"}


def from_avro(schema: Any) -> str:
    """The Glue type of an Avro schema (a type name, a union list or a complex type dict)."""
    if isinstance(schema, str):
        return _AVRO_PRIMITIVES.get(schema, "string")
    if isinstance(schema, list):
        branches = [s for s in schema if s != "null"]
        if len(branches) == 1:
            return from_avro(branches[0])
        return "string" if not branches else f"uniontype<{','.join(from_avro(b) for b in branches)}>"
    if not isinstance(schema, dict):
        return "string"
    logical = schema.get("logicalType")
    kind = schema.get("type")
    if logical == "date":
        return "date"
    if logical in ("timestamp-millis", "timestamp-micros", "local-timestamp-millis", "local-timestamp-micros"):
        return "timestamp"
    if logical == "decimal":
        return f"decimal({schema.get('precision', 38)},{schema.get('scale', 0)})"
    if kind == "record":
        fields = ",".join(f"{f['name']}:{from_avro(f['type'])}" for f in schema.get("fields", []))
        return f"struct<{fields}>"
    if kind == "array":
        return f"array<{from_avro(schema.get('items', 'string'))}>"
    if kind == "map":
        return f"map<string,{from_avro(schema.get('values', 'string'))}>"
    if kind == "enum":
        return "string"
    if kind == "fixed":
        return "binary"
    return from_avro(kind)


def of_json_value(value: Any) -> str | None:
    """The type a JSON value suggests; None for null, which says nothing."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int" if -_INT32 <= value < _INT32 else "bigint"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        element: str | None = None
        for item in value:
            element = merge(element, of_json_value(item))
        return f"array<{element or 'string'}>"
    if isinstance(value, dict):
        fields: dict[str, str | None] = {}
        for key, item in value.items():
            fields[key] = merge(fields.get(key), of_json_value(item))
        return struct_type({k: v or "string" for k, v in fields.items()})
    return "string"


def struct_type(fields: dict[str, str]) -> str:
    return "struct<" + ",".join(f"{k}:{v}" for k, v in fields.items()) + ">"


def split_top(text: str) -> list[str]:
    """Splits `a:int,b:struct<c:int,d:string>` at the commas that are not nested."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "<":
            depth += 1
        elif char == ">":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p]


def _struct_fields(type_name: str) -> dict[str, str]:
    inner = type_name[len("struct<"):-1]
    fields: dict[str, str] = {}
    for part in split_top(inner):
        name, _, kind = part.partition(":")
        fields[name] = kind
    return fields


def merge(a: str | None, b: str | None) -> str | None:
    """The narrowest type that holds values of both types (string when nothing else does)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    if a in _WIDTH and b in _WIDTH:
        return a if _WIDTH[a] >= _WIDTH[b] else b
    numeric = set(_WIDTH) | {"float", "double"}
    if a in numeric and b in numeric:
        return "double"
    if a.startswith("array<") and b.startswith("array<"):
        return f"array<{merge(a[6:-1], b[6:-1])}>"
    if a.startswith("struct<") and b.startswith("struct<"):
        fields = _struct_fields(a)
        for name, kind in _struct_fields(b).items():
            fields[name] = merge(fields.get(name), kind) or "string"
        return struct_type(fields)
    return "string"
