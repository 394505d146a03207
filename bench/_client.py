"""A lean keep-alive HTTP/1.1 S3 client on a raw socket, one connection per thread.

Every server under test gets exactly this client, so client cost is equal for all. It is hand-written on
a socket rather than http.client because http.client spends ~300 µs of CPU per request (mostly in its
email-based header parser): on a 2-core machine that caps the client near 3,000 requests/s and would
compress the ratios between fast servers. Only path-style requests to the loopback interface are made.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from urllib.parse import quote

from _sigv4 import SigV4Signer, canonical_query

_RECV = 256 * 1024
_MAX_HEAD = 64 * 1024
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class TransferTimeout(Exception):
    """A time-boxed transfer ran past its deadline."""


class ProtocolError(OSError):
    """The server's answer is not HTTP/1.x as this client understands it."""


class _StaleConnection(OSError):
    """The server closed a kept-alive connection before answering: safe to retry once on a new one."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class S3Connection:
    """One reused connection; reopened when the server asked to close it or closed it while idle."""

    def __init__(self, host: str, port: int, signer: SigV4Signer, timeout: float = 30.0) -> None:
        if host not in _LOOPBACK:
            raise ValueError("the benchmark only talks to servers on the loopback interface")
        self.host = host
        self.port = port
        self.host_header = f"{host}:{port}"
        self.signer = signer
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self._rbuf = bytearray()
        self.reconnects = 0

    def connect(self) -> None:
        self.close()
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self._rbuf.clear()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._rbuf.clear()

    def _head(self, method: str, path: str, query: dict[str, str] | None, length: int | None) -> bytes:
        url = quote(path, safe="/-_.~") + (f"?{canonical_query(query)}" if query else "")
        lines = [f"{method} {url} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in self.signer.sign(method, self.host_header, path, query).items()]
        if length is not None:
            lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    # -- reading -------------------------------------------------------------------------------------

    def _fill(self) -> bool:
        assert self.sock is not None
        data = self.sock.recv(_RECV)
        if not data:
            return False
        self._rbuf += data
        return True

    def _read_head(self) -> tuple[int, dict[str, str], bool]:
        """Status, lower-cased headers, and whether the connection stays open afterwards."""
        first = True
        while True:
            end = self._rbuf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self._rbuf) > _MAX_HEAD:
                raise ProtocolError("response head larger than 64 KiB")
            if not self._fill():
                if first and not self._rbuf:
                    raise _StaleConnection("connection closed before any response byte")
                raise ProtocolError("connection closed inside a response head")
            first = False
        head = bytes(self._rbuf[:end]).decode("latin-1").split("\r\n")
        del self._rbuf[: end + 4]
        parts = head[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise ProtocolError(f"bad status line {head[0][:80]!r}")
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        conn_hdr = headers.get("connection", "").lower()
        keep = (parts[0] == "HTTP/1.1" and conn_hdr != "close") or conn_hdr == "keep-alive"
        return int(parts[1]), headers, keep

    def _read_into(self, view: memoryview, deadline: float | None = None, chunk: int = _RECV) -> None:
        """Fills `view` exactly: buffered bytes first, then straight from the socket."""
        assert self.sock is not None
        got = min(len(self._rbuf), len(view))
        view[:got] = self._rbuf[:got]
        del self._rbuf[:got]
        while got < len(view):
            if deadline is not None and time.perf_counter() > deadline:
                raise TransferTimeout(f"still receiving at byte {got} of {len(view)}")
            n = self.sock.recv_into(view[got : got + chunk])
            if not n:
                raise ProtocolError(f"connection closed after {got} of {len(view)} body bytes")
            got += n

    def _read_line(self) -> bytes:
        while (end := self._rbuf.find(b"\r\n")) < 0:
            if len(self._rbuf) > _MAX_HEAD or not self._fill():
                raise ProtocolError("bad chunked encoding")
        line = bytes(self._rbuf[:end])
        del self._rbuf[: end + 2]
        return line

    def _read_body(self, method: str, status: int, headers: dict[str, str]) -> bytes:
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            out = bytearray()
            while (size := int(self._read_line().split(b";")[0], 16)) > 0:
                start = len(out)
                out += bytes(size)
                self._read_into(memoryview(out)[start:])
                self._read_line()
            while self._read_line():  # trailer section ends with an empty line
                pass
            return bytes(out)
        if "content-length" in headers:
            buf = bytearray(int(headers["content-length"]))
            self._read_into(memoryview(buf))
            return bytes(buf)
        while self._fill():  # no length: the body runs until the server closes the connection
            pass
        data = bytes(self._rbuf)
        self.close()
        return data

    # -- requests ------------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: bytes | None = None, query: dict[str, str] | None = None,
    ) -> Response:
        """A whole request and response held in memory: for small objects and control calls only."""
        length = len(body) if body is not None else (0 if method in ("PUT", "POST") else None)
        for attempt in (0, 1):
            fresh = self.sock is None
            if fresh:
                self.connect()
            assert self.sock is not None
            try:
                self.sock.sendall(self._head(method, path, query, length) + (body or b""))
                status, headers, keep = self._read_head()
            except (_StaleConnection, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt or fresh:
                    raise
                self.reconnects += 1
                continue
            data = self._read_body(method, status, headers)
            if not keep:
                self.close()
            return Response(status, headers, data)
        raise AssertionError("unreachable")

    def put_stream(self, path: str, source: memoryview, chunk: int, deadline: float) -> Response:
        """PUT `source` sent in `chunk`-sized slices, so no second copy of the body is ever built."""
        self.connect()  # a large transfer starts on a fresh connection, never a stale one
        assert self.sock is not None
        self.sock.sendall(self._head("PUT", path, None, len(source)))
        for off in range(0, len(source), chunk):
            if time.perf_counter() > deadline:
                self.close()
                raise TransferTimeout(f"PUT {path} still sending at byte {off}")
            self.sock.sendall(source[off : off + chunk])
        status, headers, _ = self._read_head()
        data = self._read_body("PUT", status, headers)
        self.close()
        return Response(status, headers, data)

    def get_into(self, path: str, target: memoryview, chunk: int, deadline: float) -> tuple[Response, int]:
        """GET into a preallocated buffer in `chunk`-sized reads; returns the response and bytes read."""
        self.connect()
        assert self.sock is not None
        self.sock.sendall(self._head("GET", path, None, None))
        status, headers, _ = self._read_head()
        try:
            if status != 200 or "content-length" not in headers:
                data = self._read_body("GET", status, headers)
                if status != 200:
                    return Response(status, headers, data), 0
                if len(data) > len(target):
                    return Response(status, headers, b""), len(data)
                target[: len(data)] = data
                return Response(status, headers, b""), len(data)
            size = int(headers["content-length"])
            if size != len(target):
                return Response(status, headers, b""), size
            self._read_into(target, deadline, chunk)
            return Response(status, headers, b""), size
        finally:
            self.close()
