"""Decoding of ``Content-Encoding: aws-chunked`` request bodies.

SDKs send S3 object bodies in this framing when they stream a payload whose checksum or signature is only
known at the end: ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` (checksum trailer, no chunk signatures),
``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` (each chunk signed) and ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER``
(signed chunks plus a signed trailer)::

    <hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n ... 0[;chunk-signature=<sig>]\\r\\n
    [<trailer name>:<value>\\r\\n]* \\r\\n

The decoder streams: unsigned chunk data is passed through as it arrives, so memory stays at one read
buffer (64 KiB) whatever the chunk size. A signed chunk is held whole until its signature is verified,
because releasing unverified bytes would let a forged body reach the store.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fogbank.errors import AwsError
from fogbank.protocol.http import Headers, Readable

READ_SIZE = 64 * 1024
# A chunk header is "<hex>;chunk-signature=<sig>": 64 hex chars for SigV4, 144 for SigV4a; 4 KiB is ample.
MAX_HEADER_LINE = 4096
MAX_TRAILER_LINE = 8192
MAX_TRAILERS = 64
# Signed chunks are buffered for verification; SDKs use 64 KiB to 1 MiB chunks, so this only stops abuse.
DEFAULT_MAX_SIGNED_CHUNK = 16 * 1024 * 1024
# Unsigned data is handed on in pieces no larger than this, however large the declared chunk.
_MAX_PIECE = 1024 * 1024

TRAILER_SIGNATURE = "x-amz-trailer-signature"

_HEX_SIZE = re.compile(r"[0-9A-Fa-f]{1,16}")

ChunkVerifier = Callable[[bytes, str], None]


class IncompleteBody(AwsError):
    """The body ended early, or carried fewer bytes than the client declared."""

    code = "IncompleteBody"
    status = 400


class InvalidChunkedBody(AwsError):
    """The aws-chunked framing itself is malformed."""

    code = "InvalidRequest"
    status = 400


class AwsChunkedReader:
    """A readable over the decoded payload of an aws-chunked body.

    `trailers` (lower-case names, without ``x-amz-trailer-signature``) is filled once the final chunk and
    the trailer section have been read, that is when `read` first returns ``b""``.

    `verify_chunk(data, signature)` is called for every chunk, the final empty one included, before any
    of its data is returned; when it is given, a chunk without ``chunk-signature`` is rejected.
    `verify_trailer(canonical, signature)` is called with the canonical trailer block (sorted lower-case
    ``name:value\\n`` lines, the form SigV4 hashes) and the ``x-amz-trailer-signature`` value; when it is
    given, a missing trailer signature is rejected. Both raise to reject.
    """

    def __init__(
        self,
        raw: Readable,
        verify_chunk: ChunkVerifier | None = None,
        *,
        decoded_length: int | None = None,
        verify_trailer: ChunkVerifier | None = None,
        max_signed_chunk: int = DEFAULT_MAX_SIGNED_CHUNK,
    ) -> None:
        if decoded_length is not None and decoded_length < 0:
            raise ValueError("decoded_length must not be negative")
        self._raw = raw
        self._verify_chunk = verify_chunk
        self._verify_trailer = verify_trailer
        self._decoded_length = decoded_length
        self._max_signed_chunk = max_signed_chunk
        self._buf = bytearray()
        self._raw_eof = False
        self._chunk_left = 0
        self._pending = b""
        self._pending_pos = 0
        self._decoded = 0
        self._done = False
        self._error: AwsError | None = None
        self.chunk_count = 0
        self.trailers: dict[str, str] = {}
        self.trailer_signature: str | None = None

    @property
    def decoded_bytes(self) -> int:
        """Payload bytes framed so far (announced by chunk headers), for progress and limits."""
        return self._decoded

    @property
    def done(self) -> bool:
        return self._done

    def read(self, size: int | None = -1, /) -> bytes:
        """Returns up to `size` payload bytes (all that remain if negative); ``b""`` only at the end."""
        if self._error is not None:
            raise self._error
        try:
            if size is None or size < 0:
                pieces = []
                while piece := self._read_some(_MAX_PIECE):
                    pieces.append(piece)
                return b"".join(pieces)
            if size == 0:
                return b""
            first = self._read_some(size)
            if len(first) == size or not first:
                return first
            out = bytearray(first)
            while len(out) < size and (piece := self._read_some(size - len(out))):
                out += piece
            return bytes(out)
        except AwsError as exc:
            # A broken body stays broken: later reads must not resume mid-frame and return garbage.
            self._error = exc
            raise

    def readable(self) -> bool:
        return True

    def _read_some(self, limit: int) -> bytes:
        while True:
            if self._pending_pos < len(self._pending):
                end = self._pending_pos + limit
                piece = self._pending[self._pending_pos:end]
                self._pending_pos += len(piece)
                if self._pending_pos >= len(self._pending):
                    self._pending, self._pending_pos = b"", 0
                return piece
            if self._chunk_left > 0:
                piece = self._take(min(limit, self._chunk_left, _MAX_PIECE))
                if not piece:
                    raise IncompleteBody("The request body ended inside a chunk's data.")
                self._chunk_left -= len(piece)
                if self._chunk_left == 0:
                    self._expect_crlf()
                return piece
            if self._done:
                return b""
            self._next_chunk()

    def _next_chunk(self) -> None:
        line = self._read_line(MAX_HEADER_LINE, "chunk header")
        if line is None:
            raise IncompleteBody("The request body ended before the final zero-length chunk.")
        size, signature = _parse_chunk_header(line)
        if self._verify_chunk is not None and signature is None:
            raise InvalidChunkedBody("A chunk of a signed aws-chunked body has no chunk-signature.")
        if self._decoded_length is not None and self._decoded + size > self._decoded_length:
            raise InvalidChunkedBody(
                f"The body carries more than the {self._decoded_length} bytes declared in "
                "x-amz-decoded-content-length."
            )
        self.chunk_count += 1
        self._decoded += size
        if size == 0:
            if self._verify_chunk is not None and signature is not None:
                self._verify_chunk(b"", signature)
            self._finish()
            return
        if self._verify_chunk is None or signature is None:
            self._chunk_left = size
            return
        if size > self._max_signed_chunk:
            raise InvalidChunkedBody(
                f"Chunk size {size} exceeds the largest signed chunk accepted ({self._max_signed_chunk})."
            )
        data = self._take_exact(size)
        self._expect_crlf()
        self._verify_chunk(data, signature)
        self._pending, self._pending_pos = data, 0

    def _finish(self) -> None:
        trailers, signature = self._read_trailers()
        if self._decoded_length is not None and self._decoded != self._decoded_length:
            raise IncompleteBody(
                f"The body carried {self._decoded} bytes but x-amz-decoded-content-length declared "
                f"{self._decoded_length}."
            )
        if self._verify_trailer is not None:
            if signature is None:
                raise InvalidChunkedBody("The signed trailer has no x-amz-trailer-signature.")
            self._verify_trailer(canonical_trailers(trailers), signature)
        if self._buf or (not self._raw_eof and self._raw.read(1)):
            raise InvalidChunkedBody("The request body continues after the final chunk's trailer.")
        self.trailers = trailers
        self.trailer_signature = signature
        self._done = True

    def _read_trailers(self) -> tuple[dict[str, str], str | None]:
        trailers: dict[str, str] = {}
        signature: str | None = None
        while True:
            line = self._read_line(MAX_TRAILER_LINE, "trailer")
            if line is None:
                raise IncompleteBody("The request body ended before the blank line that closes the trailer.")
            if not line:
                return trailers, signature
            if len(trailers) >= MAX_TRAILERS:
                raise InvalidChunkedBody(f"The body has more than {MAX_TRAILERS} trailers.")
            raw_name, sep, raw_value = line.partition(b":")
            try:
                name = raw_name.decode("ascii").strip().lower()
                value = raw_value.decode("utf-8").strip(" \t")
            except UnicodeDecodeError:
                raise InvalidChunkedBody("A trailer line is not valid text.") from None
            if not sep or not name or any(c in name for c in " \t"):
                raise InvalidChunkedBody(f"Malformed trailer line: {line[:80]!r}.")
            if name in trailers or (name == TRAILER_SIGNATURE and signature is not None):
                raise InvalidChunkedBody(f"The trailer {name} appears more than once.")
            if name == TRAILER_SIGNATURE:
                signature = value
            else:
                trailers[name] = value

    def _fill(self) -> bool:
        if self._raw_eof:
            return False
        data = self._raw.read(READ_SIZE)
        if not data:
            self._raw_eof = True
            return False
        self._buf += data
        return True

    def _read_line(self, limit: int, what: str) -> bytes | None:
        """The next CRLF-terminated line without its CRLF; None at a clean end of the raw body."""
        searched = 0
        while True:
            end = self._buf.find(b"\r\n", searched)
            if end >= 0:
                if end > limit:
                    raise InvalidChunkedBody(f"The {what} line is longer than {limit} bytes.")
                line = bytes(self._buf[:end])
                del self._buf[: end + 2]
                return line
            if len(self._buf) > limit:
                raise InvalidChunkedBody(f"The {what} line is longer than {limit} bytes.")
            searched = max(0, len(self._buf) - 1)
            if not self._fill():
                if not self._buf:
                    return None
                raise IncompleteBody(f"The request body ended inside a {what} line.")

    def _take(self, n: int) -> bytes:
        """Up to n raw bytes, from the lookahead first, else straight from the source without copying."""
        if self._buf:
            piece = bytes(self._buf[:n])
            del self._buf[:n]
            return piece
        if self._raw_eof:
            return b""
        data = self._raw.read(n)
        if not data:
            self._raw_eof = True
            return b""
        if len(data) > n:
            self._buf += data[n:]
            data = data[:n]
        return data

    def _take_exact(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            piece = self._take(min(n - len(out), _MAX_PIECE))
            if not piece:
                raise IncompleteBody("The request body ended inside a chunk's data.")
            out += piece
        return bytes(out)

    def _expect_crlf(self) -> None:
        while len(self._buf) < 2 and self._fill():
            pass
        if len(self._buf) < 2:
            raise IncompleteBody("The request body ended after a chunk's data, before its CRLF.")
        if self._buf[:2] != b"\r\n":
            raise InvalidChunkedBody("A chunk's data is not followed by CRLF; its declared size is wrong.")
        del self._buf[:2]


def _parse_chunk_header(line: bytes) -> tuple[int, str | None]:
    """(size, chunk-signature or None) from ``<hex>[;ext=value]*``; other extensions are ignored."""
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidChunkedBody("A chunk header is not ASCII.") from None
    size_text, _, extensions = text.partition(";")
    size_text = size_text.strip(" \t")
    if not _HEX_SIZE.fullmatch(size_text):
        raise InvalidChunkedBody(f"Malformed chunk size {size_text[:40]!r} in the aws-chunked body.")
    signature = None
    if extensions:
        for extension in extensions.split(";"):
            key, _, value = extension.partition("=")
            if key.strip(" \t").lower() == "chunk-signature":
                signature = value.strip(" \t")
    return int(size_text, 16), signature


def canonical_trailers(trailers: dict[str, str]) -> bytes:
    """The trailer block as SigV4 hashes it for ``x-amz-trailer-signature``."""
    return "".join(f"{name}:{trailers[name]}\n" for name in sorted(trailers)).encode("utf-8")


def is_aws_chunked(headers: Headers) -> bool:
    """Whether the body is aws-chunked: by Content-Encoding, or by a STREAMING-* payload hash.

    Some clients send the streaming payload hash without naming aws-chunked in Content-Encoding.
    """
    if "content-encoding" in headers:
        encodings = ",".join(headers.get_all("content-encoding"))
        if any(token.strip().lower() == "aws-chunked" for token in encodings.split(",")):
            return True
    return (headers.get("x-amz-content-sha256") or "").upper().startswith("STREAMING-")


def stored_content_encoding(value: str | None) -> str | None:
    """Content-Encoding without the aws-chunked token, as S3 stores it on the object (None if empty)."""
    if not value:
        return None
    kept = [t.strip() for t in value.split(",") if t.strip() and t.strip().lower() != "aws-chunked"]
    return ",".join(kept) or None


def decoded_content_length(headers: Headers) -> int | None:
    """The x-amz-decoded-content-length the client declared, if any."""
    value = headers.get("x-amz-decoded-content-length")
    if value is None:
        return None
    text = value.strip()
    if not text.isdigit() or not text.isascii():
        raise InvalidChunkedBody(f"x-amz-decoded-content-length {value[:40]!r} is not a byte count.")
    return int(text)
