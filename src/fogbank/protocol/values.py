"""Scalar conversions shared by the parsers and serializers: timestamps, blobs, floats, booleans."""

from __future__ import annotations

import base64
import binascii
import calendar
import math
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from fogbank.errors import AwsError


class SerializationError(AwsError):
    """A request whose body or parameters cannot be read as the model says (never a 500)."""

    code = "SerializationException"


def parse_timestamp(value: Any) -> datetime:
    """Accepts every timestamp form clients send: epoch seconds (number or string), ISO 8601, RFC 822."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise SerializationError(f"Expected a timestamp, got {value!r}")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        raise SerializationError(f"Expected a timestamp, got {value!r}")
    text = value.strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
        parsed = datetime.fromisoformat(iso)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise SerializationError(f"Invalid timestamp: {value!r}") from None


def format_timestamp(value: datetime | float | int, fmt: str) -> str | float | int:
    """Renders a timestamp in a model's format: iso8601, rfc822 or unixTimestamp."""
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if fmt == "unixTimestamp":
        epoch = calendar.timegm(value.utctimetuple()) + value.microsecond / 1e6
        return int(epoch) if value.microsecond == 0 else round(epoch, 3)
    if fmt == "rfc822":
        return format_datetime(value, usegmt=True)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def b64decode(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, str):
        raise SerializationError(f"Expected base64 text, got {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SerializationError("Invalid base64 in a blob member") from None


def b64encode(value: bytes | str) -> str:
    if isinstance(value, str):
        value = value.encode()
    return base64.b64encode(value).decode("ascii")


def parse_float(value: Any) -> float:
    if isinstance(value, str):
        special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
        if value in special:
            return special[value]
        try:
            return float(value)
        except ValueError:
            raise SerializationError(f"Expected a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SerializationError(f"Expected a number, got {value!r}")
    return float(value)


def format_float(value: float) -> str | float:
    """JSON cannot carry NaN and infinities: AWS sends them as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise SerializationError(f"Expected a boolean, got {value!r}")


def parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise SerializationError(f"Expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise SerializationError(f"Expected an integer, got {value!r}")
