"""Opaque NextTokens: the position after which the next page starts, bound to the listing it came from."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from fogbank.services.glue.errors import InvalidInputException


def _fingerprint(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:12]


def encode(scope: str, position: Any) -> str:
    """A token for resuming after `position`; `scope` names the listing (operation and its filters)."""
    raw = json.dumps({"s": _fingerprint(scope), "p": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode(scope: str, token: str | None) -> Any:
    """The position a token resumes after, or None for the first page; foreign tokens are refused."""
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidInputException("Invalid pagination token.") from None
    if not isinstance(data, dict) or data.get("s") != _fingerprint(scope) or "p" not in data:
        raise InvalidInputException("Invalid pagination token.")
    return data["p"]


def page_size(value: int | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    return max(1, min(int(value), maximum))
