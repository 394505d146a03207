"""Glue's SQLite database (the shared group-commit MetaDb) and the JSON codec its rows use."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from fogbank.engines.metadb import MetaDb


class GlueDb(MetaDb):
    """The one SQLite database of the Glue service, shared by the catalog and the crawler stores."""


def dumps(value: Any) -> str:
    """JSON that keeps datetimes and bytes (DecimalNumber.UnscaledValue) round-tripping exactly."""
    return json.dumps(value, default=_encode, separators=(",", ":"), ensure_ascii=False)


def loads(text: str) -> Any:
    return json.loads(text, object_hook=_decode)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
        return {"$dt": stamp.timestamp()}
    if isinstance(value, bytes | bytearray):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"cannot store {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "$dt" in obj:
            return datetime.fromtimestamp(obj["$dt"], UTC)
        if "$b64" in obj:
            return base64.b64decode(obj["$b64"])
    return obj
