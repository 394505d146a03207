"""Scalar conversions shared by the parsers and serializers: timestamps, blobs, floats, booleans."""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from fogbank.errors import AwsError


class SerializationError(AwsError):
    """A request whose body or parameters cannot be read as the model says (never a 500)."""

    code = "SerializationException"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# One HTTP-date ("Mon, 16 Dec 2019 23:48:18 GMT"): header lists of them cannot be split on every comma.
_HTTP_DATE = re.compile(
    r"[A-Za-z]{3},\s*\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?\s*(?:GMT|UTC|[+-]\d{4})?")
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def from_epoch(seconds: float) -> datetime:
    """Epoch seconds -> aware UTC datetime; a value no calendar can hold is a client error, not a crash."""
    if isinstance(seconds, bool) or not math.isfinite(seconds):
        raise SerializationError(f"Invalid timestamp: {seconds!r}")
    try:
        return _EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        raise SerializationError(f"Timestamp out of range: {seconds!r}") from None


def parse_timestamp(value: Any) -> datetime:
    """Accepts every timestamp form clients send: epoch seconds (number or string), ISO 8601, RFC 822."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise SerializationError(f"Expected a timestamp, got {value!r}")
    if isinstance(value, (int, float)):
        return from_epoch(value)
    if not isinstance(value, str):
        raise SerializationError(f"Expected a timestamp, got {value!r}")
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return from_epoch(number)
    try:
        iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
        parsed = datetime.fromisoformat(iso)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise SerializationError(f"Invalid timestamp: {value!r}") from None


def split_http_dates(value: str) -> list[str]:
    """A header list of HTTP-dates: each date carries its own comma, so split on whole dates."""
    found = _HTTP_DATE.findall(value)
    return found if found else [part.strip() for part in value.split(",") if part.strip()]


def epoch_seconds(value: datetime | float | int | str) -> int | float:
    """Epoch seconds with millisecond precision: an int when whole, as AWS writes them."""
    if isinstance(value, str):
        value = parse_timestamp(value)
    if isinstance(value, datetime):
        when = value if value.tzinfo else value.replace(tzinfo=UTC)
        # Whole seconds plus microseconds, as timegm(utctimetuple()) counts them, without the tuple.
        since = when - _EPOCH
        number = since.days * 86400 + since.seconds + since.microseconds / 1e6
    else:
        number = float(value)
    rounded = round(number, 3)
    return int(rounded) if rounded.is_integer() else rounded


def format_timestamp(value: datetime | float | int | str, fmt: str) -> str | float | int:
    """Renders a timestamp in a model's format: iso8601, rfc822 or unixTimestamp."""
    fmt = fmt.lower()
    if fmt == "unixtimestamp":
        return epoch_seconds(value)
    if isinstance(value, str):
        value = parse_timestamp(value)
    if isinstance(value, (int, float)):
        value = from_epoch(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if fmt == "rfc822":
        return http_date(value)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(value: datetime) -> str:
    """An aware UTC datetime as an HTTP-date (what email.utils.format_datetime(usegmt=True) writes).

    English names whatever the locale, and no email-module detour: every S3 response carries one or two.
    """
    return (f"{_DAY_NAMES[value.weekday()]}, {value.day:02d} {_MONTH_NAMES[value.month - 1]} {value.year:04d} "
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d} GMT")


def b64decode(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, str):
        raise SerializationError(f"Expected base64 text, got {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SerializationError("Invalid base64 in a blob member") from None


def b64encode(value: bytes | bytearray | str) -> str:
    if isinstance(value, str):
        value = value.encode()
    return base64.b64encode(value).decode("ascii")


def parse_float(value: Any) -> float:
    if isinstance(value, str):
        if value in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[value]
        try:
            number = float(value)
        except ValueError:
            raise SerializationError(f"Expected a number, got {value!r}") from None
        if not math.isfinite(number):  # "inf", "nan" spelled in ways AWS does not accept
            raise SerializationError(f"Expected a number, got {value!r}")
        return number
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


def float_text(value: float) -> str:
    """A float as text for XML, headers and query strings: shortest round-trip form."""
    special = format_float(value)
    if isinstance(special, str):
        return special
    return repr(value)


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
        text = value.strip()
        if len(text) <= 64:
            try:
                return int(text)
            except ValueError:
                pass
    raise SerializationError(f"Expected an integer, got {value!r}")
