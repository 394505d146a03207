"""Opaque, signed tokens: shard iterators and pagination tokens carry their whole state, the server keeps none.

A token is base64 of a small binary payload and a truncated HMAC-SHA256 over the payload and the caller's
(account, region), so a client can neither forge a position nor use a token of another account. The key is
generated once and kept in the metadata database, so tokens stay valid across restarts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import struct
from dataclasses import dataclass
from typing import Any

_MAC_BYTES = 16
_ITERATOR_VERSION = 1
_ITERATOR = struct.Struct("<BQIQqqQ")
NO_SEGMENT = -1


@dataclass(frozen=True)
class IteratorState:
    stream_db_id: int
    stream_name: str
    shard_index: int
    ordinal: int
    # Where the record at `ordinal` starts on disk (segment base, byte offset), or (-1, -1) when unknown.
    segment: int
    offset: int
    issued_ms: int


class TokenSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, scope: tuple[str, str], payload: bytes) -> bytes:
        message = f"{scope[0]}\n{scope[1]}\n".encode() + payload
        return hmac.new(self._secret, message, hashlib.sha256).digest()[:_MAC_BYTES]

    def sign(self, scope: tuple[str, str], payload: bytes) -> str:
        return base64.b64encode(payload + self._mac(scope, payload)).decode("ascii")

    def open(self, scope: tuple[str, str], token: str) -> bytes | None:
        """The payload of a token this server signed for this scope, or None."""
        try:
            raw = base64.b64decode(token.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            return None
        if len(raw) <= _MAC_BYTES:
            return None
        payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(scope, payload)):
            return None
        return payload

    # ------------------------------------------------------------------ shard iterators

    def iterator(self, scope: tuple[str, str], state: IteratorState) -> str:
        name = state.stream_name.encode("utf-8")
        payload = _ITERATOR.pack(_ITERATOR_VERSION, state.stream_db_id, state.shard_index, state.ordinal,
                                 state.segment, state.offset, state.issued_ms) + name
        return self.sign(scope, payload)

    def open_iterator(self, scope: tuple[str, str], token: str) -> IteratorState | None:
        payload = self.open(scope, token)
        if payload is None or len(payload) < _ITERATOR.size or payload[0] != _ITERATOR_VERSION:
            return None
        _, db_id, shard, ordinal, segment, offset, issued = _ITERATOR.unpack_from(payload)
        try:
            name = payload[_ITERATOR.size:].decode("utf-8")
        except UnicodeDecodeError:
            return None
        return IteratorState(db_id, name, shard, ordinal, segment, offset, issued)

    # ------------------------------------------------------------------ pagination

    def page_token(self, scope: tuple[str, str], kind: str, state: dict[str, Any]) -> str:
        payload = json.dumps({"k": kind, **state}, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return self.sign(scope, payload)

    def open_page_token(self, scope: tuple[str, str], kind: str, token: str) -> dict[str, Any] | None:
        payload = self.open(scope, token)
        if payload is None:
            return None
        try:
            state = json.loads(payload)
        except ValueError:
            return None
        if not isinstance(state, dict) or state.get("k") != kind:
            return None
        return state

