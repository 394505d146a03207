"""The HTTP request and response as the protocol layer sees them, independent of the ASGI server."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import io
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Headers:
    """Case-insensitive, order-keeping, multi-valued HTTP headers."""

    __slots__ = ("_first", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = [(k.lower(), v) for k, v in items]
        # The first value of each name wins: the reversed list builds that dict in one C call.
        self._first: dict[str, str] = dict(reversed(self._items))

    @classmethod
    def from_asgi(cls, raw: Iterable[tuple[bytes, bytes]]) -> Headers:
        """An ASGI scope's header list, decoded in one pass: every request pays for this."""
        headers = cls.__new__(cls)
        headers._items = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw]
        headers._first = dict(reversed(headers._items))
        return headers

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._first.get(name.lower(), default)

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self._items if k == name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def names(self) -> set[str]:
        return set(self._first)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class BytesBody(io.BytesIO):
    """A request body already read whole (small requests)."""


GATHER_BYTES = 1024 * 1024
# uvicorn hands over body messages of at most this size; gathering stops this far short of its target.
MESSAGE_SLACK = 64 * 1024


class StreamingBody:
    """A large request body read chunk by chunk from the event loop, from a worker thread.

    Providers are synchronous and run in threads; this bridges their blocking read() to ASGI's receive().
    Pieces of about a megabyte are gathered on the loop (one thread hop each, with one piece read ahead)
    and handed out whole where they fit, so a large upload's bytes are copied as few times as possible.
    """

    def __init__(self, receive: Callable[[], Awaitable[dict[str, Any]]], loop: asyncio.AbstractEventLoop,
                 first: bytes = b"", more: bool = True) -> None:
        self._receive = receive
        self._loop = loop
        self._pieces: collections.deque[bytes] = collections.deque([first] if first else [])
        self._more = more
        self._ahead: concurrent.futures.Future[tuple[bytes, bool]] | None = None

    async def _gather(self, want: int) -> tuple[bytes, bool]:
        """Collects close to `want` bytes on the event loop (stopping before a message could overshoot)."""
        parts: list[bytes] = []
        size = 0
        more = self._more
        while more and size < want - MESSAGE_SLACK:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ConnectionError("client disconnected before the body was complete")
            chunk = message.get("body", b"")
            more = bool(message.get("more_body", False))
            if chunk:
                parts.append(chunk)
                size += len(chunk)
        return (parts[0] if len(parts) == 1 else b"".join(parts)), more

    def _fill(self, want: int = GATHER_BYTES) -> bool:
        while self._more:
            pending = self._ahead or asyncio.run_coroutine_threadsafe(self._gather(want), self._loop)
            self._ahead = None
            try:
                chunk, self._more = pending.result()
            except ConnectionError:
                self._more = False
                raise
            if self._more:
                # Read ahead: the event loop keeps draining the socket while this thread works on the chunk.
                self._ahead = asyncio.run_coroutine_threadsafe(self._gather(GATHER_BYTES), self._loop)
            if chunk:
                self._pieces.append(chunk)
                return True
        return False

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            while self._fill():
                pass
            data = b"".join(self._pieces)
            self._pieces.clear()
            return data
        if not self._pieces and not self._fill(max(size, GATHER_BYTES)):
            return b""
        first = self._pieces[0]
        if len(first) <= size:
            return self._pieces.popleft()
        self._pieces[0] = first[size:]
        return first[:size]


@dataclass
class HttpRequest:
    method: str
    path: str  # percent-encoded, as sent
    query_string: str  # raw, without '?'
    headers: Headers
    body: Readable = field(default_factory=BytesBody)
    content_length: int | None = None

    @cached_property
    def query(self) -> list[tuple[str, str]]:
        text = self.query_string
        if "%" in text or "+" in text:
            return parse_qsl(text, keep_blank_values=True)
        # Nothing to unquote (most SDK requests: "", "x-id=GetObject", "uploads"): parse_qsl's result
        # without its per-pair unquoting.
        return [(key, value) for key, _, value in (part.partition("=") for part in text.split("&") if part)]

    @cached_property
    def query_dict(self) -> dict[str, str]:
        return dict(self.query)

    @property
    def decoded_path(self) -> str:
        return unquote(self.path)

    @property
    def host(self) -> str:
        return self.headers.get("host", "") or ""

    def read_body(self) -> bytes:
        """Reads the whole body; for bodies that the protocol needs whole (JSON, XML, CBOR, forms)."""
        if isinstance(self.body, BytesBody):
            return self.body.getvalue()
        data = self.body.read()
        self.body = BytesBody(data)
        return data


ResponseBody = bytes | Iterable[bytes]


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: ResponseBody = b""
