"""aws-chunked decoding, against bodies that botocore itself frames and against SigV4-signed chunk streams."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import httpchecksum
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from fogbank.errors import AwsError
from fogbank.protocol.chunked import (
    READ_SIZE,
    AwsChunkedReader,
    IncompleteBody,
    InvalidChunkedBody,
    canonical_trailers,
    decoded_content_length,
    is_aws_chunked,
    stored_content_encoding,
)
from fogbank.protocol.http import Headers

BOTOCORE_CHECKSUMS: dict[str, type[httpchecksum.BaseChecksum]] = {
    "CRC32": httpchecksum.Crc32Checksum,
    "CRC32C": httpchecksum.CrtCrc32cChecksum,
    "CRC64NVME": httpchecksum.CrtCrc64NvmeChecksum,
    "SHA1": httpchecksum.Sha1Checksum,
    "SHA256": httpchecksum.Sha256Checksum,
}


# --------------------------------------------------------------------------- bodies framed by botocore


class _EmptyRaw:
    def stream(self) -> Iterator[bytes]:
        return iter(())


def capture_put(body: Any, **params: Any) -> tuple[Headers, bytes]:
    """Runs boto3's PutObject up to the wire and returns the headers and body bytes it would send."""
    captured: list[tuple[AWSPreparedRequest, bytes]] = []

    def before_send(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        sent = request.body
        raw = sent.read() if hasattr(sent, "read") else b"".join(sent) if sent is not None else b""
        captured.append((request, raw if isinstance(raw, bytes) else bytes(raw)))
        return AWSResponse(request.url, 200, {}, _EmptyRaw())

    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1"
    )
    # botocore moves the checksum into an aws-chunked trailer only over TLS; nothing is ever connected.
    client = session.client("s3", endpoint_url="https://127.0.0.1:4566")
    client.meta.events.register("before-send.s3", before_send)
    try:
        client.put_object(Bucket="bucket", Key="key", Body=body, **params)
    finally:
        client.close()
    assert len(captured) == 1
    request, raw = captured[0]
    headers = Headers(
        (k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()
    )
    return headers, raw


def botocore_b64(algorithm: str, data: bytes) -> str:
    checksum = BOTOCORE_CHECKSUMS[algorithm]()
    checksum.update(data)
    return checksum.b64digest()


def reader_for(headers: Headers, raw: bytes, **kwargs: Any) -> AwsChunkedReader:
    return AwsChunkedReader(io.BytesIO(raw), decoded_length=decoded_content_length(headers), **kwargs)


class ShortReads:
    """A source that hands out at most `step` bytes a call, as a socket may, and counts what it gave."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = data
        self._pos = 0
        self._step = step

    @property
    def consumed(self) -> int:
        return self._pos

    def read(self, size: int = -1, /) -> bytes:
        n = self._step if size is None or size < 0 else min(size, self._step)
        piece = self._data[self._pos:self._pos + n]
        self._pos += len(piece)
        return piece


@pytest.mark.parametrize("algorithm", sorted(BOTOCORE_CHECKSUMS))
def test_small_body_with_each_trailer_checksum(algorithm: str) -> None:
    payload = os.urandom(3_000)
    headers, raw = capture_put(payload, ChecksumAlgorithm=algorithm)
    assert headers.get("content-encoding") == "aws-chunked"
    assert headers.get("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert is_aws_chunked(headers)

    reader = reader_for(headers, raw)
    assert reader.read() == payload
    assert reader.read() == b""
    trailer = f"x-amz-checksum-{algorithm.lower()}"
    assert headers.get("x-amz-trailer") == trailer
    assert reader.trailers == {trailer: botocore_b64(algorithm, payload)}
    assert reader.trailer_signature is None
    assert reader.chunk_count == 2  # one data chunk and the final empty one


def test_multi_chunk_body_read_in_many_sizes() -> None:
    payload = os.urandom(2 * 1024 * 1024 + 12_345)
    headers, raw = capture_put(payload, ChecksumAlgorithm="CRC32C")
    assert decoded_content_length(headers) == len(payload)
    for size in (1_000_003, 65_536, 7_777, -1):
        reader = reader_for(headers, raw)
        pieces = []
        while piece := reader.read(size):
            assert size < 0 or len(piece) <= size
            pieces.append(piece)
        assert b"".join(pieces) == payload
        assert reader.chunk_count == 4  # boto3 frames 1 MiB chunks: 1 MiB, 1 MiB, the rest, then 0
        assert reader.trailers == {"x-amz-checksum-crc32c": botocore_b64("CRC32C", payload)}
        assert reader.done


def test_full_reads_span_chunk_boundaries() -> None:
    payload = os.urandom(1024 * 1024 + 100)
    headers, raw = capture_put(payload)
    reader = reader_for(headers, raw)
    # A sized read returns exactly that many bytes until the end, across the 1 MiB chunk boundary.
    first = reader.read(1024 * 1024 + 50)
    assert first == payload[: 1024 * 1024 + 50]
    assert reader.read(1_000) == payload[1024 * 1024 + 50:]
    assert reader.read(1_000) == b""
    assert reader.read(0) == b""


def test_small_chunks_from_a_short_reading_file() -> None:
    payload = os.urandom(50_000)

    class Dribble(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            return super().read(min(4_097, size) if size is not None and size >= 0 else 4_097)

    headers, raw = capture_put(Dribble(payload), ChecksumAlgorithm="SHA256")
    reader = reader_for(headers, raw)
    assert reader.read() == payload
    assert reader.chunk_count == 14  # 12 chunks of 4097 bytes, one of 836, and the final one
    assert reader.trailers == {"x-amz-checksum-sha256": botocore_b64("SHA256", payload)}


def test_source_delivering_one_byte_at_a_time() -> None:
    payload = os.urandom(700)
    headers, raw = capture_put(payload, ChecksumAlgorithm="CRC64NVME")
    reader = AwsChunkedReader(ShortReads(raw, 1), decoded_length=decoded_content_length(headers))
    assert reader.read(100) == payload[:100]
    assert reader.read() == payload[100:]
    assert reader.trailers == {"x-amz-checksum-crc64nvme": botocore_b64("CRC64NVME", payload)}


def test_empty_body() -> None:
    headers, raw = capture_put(b"")
    assert raw == b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    reader = reader_for(headers, raw)
    assert reader.read(10) == b""
    assert reader.trailers == {"x-amz-checksum-crc32": "AAAAAA=="}


def test_unsigned_chunks_stream_with_bounded_lookahead() -> None:
    payload = os.urandom(3 * 1024 * 1024)
    _, raw = capture_put(payload)
    source = ShortReads(raw, 10 * 1024 * 1024)
    reader = AwsChunkedReader(source, decoded_length=len(payload))
    produced = 0
    while piece := reader.read(5_000):
        assert piece == payload[produced:produced + len(piece)]
        produced += len(piece)
        # What was taken from the source but not yet returned: never a whole 1 MiB chunk.
        assert source.consumed - produced <= READ_SIZE + 64
    assert produced == len(payload)


# --------------------------------------------------------------------------- malformed framing


def test_every_truncation_is_an_incomplete_body() -> None:
    payload = os.urandom(150)
    _, raw = capture_put(payload, ChecksumAlgorithm="CRC32C")
    for cut in range(len(raw)):
        reader = AwsChunkedReader(io.BytesIO(raw[:cut]))
        with pytest.raises(IncompleteBody) as info:
            reader.read()
        assert info.value.status == 400
        assert info.value.error_code == "IncompleteBody"
        assert reader.trailers == {}
    assert AwsChunkedReader(io.BytesIO(raw)).read() == payload


def test_truncation_also_fails_with_a_one_byte_source() -> None:
    payload = os.urandom(40)
    _, raw = capture_put(payload)
    for cut in (0, 1, 3, 20, len(raw) - 30, len(raw) - 1):
        with pytest.raises(IncompleteBody):
            AwsChunkedReader(ShortReads(raw[:cut], 1)).read()


@pytest.mark.parametrize(
    "size_field", [b"zz", b"0x10", b"+10", b"1_0", b"-1", b"", b" ", b"12345678901234567", b"\xff1"]
)
def test_malformed_chunk_sizes(size_field: bytes) -> None:
    body = size_field + b"\r\n" + b"a" * 16 + b"\r\n0\r\n\r\n"
    with pytest.raises(InvalidChunkedBody) as info:
        AwsChunkedReader(io.BytesIO(body)).read()
    assert info.value.error_code == "InvalidRequest"
    assert info.value.status == 400


def test_chunk_size_whitespace_and_unknown_extensions_are_accepted() -> None:
    body = b"5 ;foo=bar\r\nhello\r\n3;ext\r\nabc\r\n0\r\n\r\n"
    reader = AwsChunkedReader(io.BytesIO(body))
    assert reader.read() == b"helloabc"
    assert reader.trailers == {}


def test_declared_size_larger_than_data() -> None:
    body = b"6\r\nhello\r\n0\r\n\r\n"  # declares 6 bytes, frames 5: the CRLF lands inside the data
    with pytest.raises(InvalidChunkedBody, match="CRLF"):
        AwsChunkedReader(io.BytesIO(body)).read()


def test_declared_size_smaller_than_data() -> None:
    body = b"3\r\nhello\r\n0\r\n\r\n"
    with pytest.raises(InvalidChunkedBody):
        AwsChunkedReader(io.BytesIO(body)).read()


def test_decoded_length_mismatch() -> None:
    body = b"5\r\nhello\r\n0\r\n\r\n"
    assert AwsChunkedReader(io.BytesIO(body), decoded_length=5).read() == b"hello"
    with pytest.raises(IncompleteBody, match="declared 6"):
        AwsChunkedReader(io.BytesIO(body), decoded_length=6).read()
    reader = AwsChunkedReader(io.BytesIO(body), decoded_length=4)
    with pytest.raises(InvalidChunkedBody, match="more than the 4 bytes"):
        reader.read(1)  # rejected at the chunk header, before any byte of it is handed out


def test_bytes_after_the_end_are_rejected() -> None:
    with pytest.raises(InvalidChunkedBody, match="continues after"):
        AwsChunkedReader(io.BytesIO(b"2\r\nhi\r\n0\r\n\r\nextra")).read()


@pytest.mark.parametrize(
    "trailer_block",
    [b"no-colon\r\n\r\n", b":value\r\n\r\n", b"bad name:v\r\n\r\n", b"a:1\r\na:2\r\n\r\n", b"x:\xff\r\n\r\n"],
)
def test_malformed_trailers(trailer_block: bytes) -> None:
    with pytest.raises(InvalidChunkedBody):
        AwsChunkedReader(io.BytesIO(b"2\r\nhi\r\n0\r\n" + trailer_block)).read()


def test_trailer_names_are_lower_cased_and_values_trimmed() -> None:
    body = b"2\r\nhi\r\n0\r\nX-Amz-Checksum-CRC32:  AAAAAA== \r\nX-Other:\r\n\r\n"
    reader = AwsChunkedReader(io.BytesIO(body))
    assert reader.read() == b"hi"
    assert reader.trailers == {"x-amz-checksum-crc32": "AAAAAA==", "x-other": ""}


class Endless:
    """A source that never ends: the decoder must give up on its own rather than wait for a CRLF."""

    def __init__(self, prefix: bytes, filler: bytes) -> None:
        self._prefix = prefix
        self._filler = filler
        self.calls = 0

    def read(self, size: int = -1, /) -> bytes:
        self.calls += 1
        assert self.calls < 10_000, "decoder kept reading an endless body"
        if self._prefix:
            out, self._prefix = self._prefix, b""
            return out
        n = READ_SIZE if size is None or size < 0 else size
        return (self._filler * (n // len(self._filler) + 1))[:n]


@pytest.mark.parametrize(
    ("prefix", "filler"),
    [(b"", b"a"), (b"5\r\nhello\r\n0\r\n", b"x"), (b"5\r\nhello\r\n0\r\n", b"k:v\r\n")],
)
def test_endless_garbage_is_rejected(prefix: bytes, filler: bytes) -> None:
    with pytest.raises(InvalidChunkedBody):
        AwsChunkedReader(Endless(prefix, filler)).read()


def test_errors_are_sticky() -> None:
    reader = AwsChunkedReader(io.BytesIO(b"5\r\nhel"))
    with pytest.raises(IncompleteBody) as first:
        reader.read()
    with pytest.raises(IncompleteBody) as second:
        reader.read(1)
    assert second.value is first.value


# --------------------------------------------------------------------------- SigV4-signed chunks

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TIMESTAMP = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


SIGNING_KEY = _hmac(
    _hmac(_hmac(_hmac(("AWS4" + SECRET).encode(), "20130524"), "us-east-1"), "s3"), "aws4_request"
)


def chunk_signature(previous: str, data: bytes) -> str:
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256-PAYLOAD", TIMESTAMP, SCOPE, previous, EMPTY_SHA256,
            hashlib.sha256(data).hexdigest(),
        ]
    )
    return hmac.new(SIGNING_KEY, string_to_sign.encode(), hashlib.sha256).hexdigest()


def trailer_signature(previous: str, canonical: bytes) -> str:
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256-TRAILER", TIMESTAMP, SCOPE, previous, hashlib.sha256(canonical).hexdigest()]
    )
    return hmac.new(SIGNING_KEY, string_to_sign.encode(), hashlib.sha256).hexdigest()


def signed_body(payload: bytes, chunk_size: int, seed: str, trailers: dict[str, str] | None = None) -> bytes:
    """Frames `payload` as STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER), chaining signatures from `seed`."""
    out = bytearray()
    previous = seed
    chunks = [payload[i:i + chunk_size] for i in range(0, len(payload), chunk_size)] + [b""]
    for chunk in chunks:
        previous = chunk_signature(previous, chunk)
        out += f"{len(chunk):x};chunk-signature={previous}\r\n".encode() + chunk
        if chunk:
            out += b"\r\n"
    if trailers is not None:
        ordered = sorted(trailers.items())
        lines = "".join(f"{name}:{value}\r\n" for name, value in ordered)
        signature = trailer_signature(previous, "".join(f"{n}:{v}\n" for n, v in ordered).encode())
        out += f"{lines}x-amz-trailer-signature:{signature}\r\n".encode()
    out += b"\r\n"
    return bytes(out)


class SignatureMismatch(AwsError):
    code = "SignatureDoesNotMatch"
    status = 403


class ChainVerifier:
    """What the auth module supplies: checks each chunk (and the trailer) against the running signature."""

    def __init__(self, seed: str) -> None:
        self.previous = seed
        self.chunks: list[int] = []

    def chunk(self, data: bytes, signature: str) -> None:
        expected = chunk_signature(self.previous, data)
        if not hmac.compare_digest(expected, signature):
            raise SignatureMismatch("chunk signature does not match")
        self.previous = signature
        self.chunks.append(len(data))

    def trailer(self, canonical: bytes, signature: str) -> None:
        if not hmac.compare_digest(trailer_signature(self.previous, canonical), signature):
            raise SignatureMismatch("trailer signature does not match")


SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"


def test_signed_chunks_match_the_published_s3_example() -> None:
    # The example of the S3 "Transferring Payload in Multiple Chunks" page: 66560 bytes of 'a' in 64 KiB
    # chunks, with the seed signature and the three chunk signatures printed there.
    body = signed_body(b"a" * 66_560, 65_536, SEED)
    assert body.startswith(
        b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
    )
    assert b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" in body
    assert body.endswith(
        b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
    )
    verifier = ChainVerifier(SEED)
    reader = AwsChunkedReader(io.BytesIO(body), verifier.chunk, decoded_length=66_560)
    assert reader.read() == b"a" * 66_560
    assert verifier.chunks == [65_536, 1_024, 0]
    assert reader.trailers == {}


def test_signed_body_with_random_payload_and_short_reads() -> None:
    payload = os.urandom(300_000)
    body = signed_body(payload, 8_192, SEED)
    verifier = ChainVerifier(SEED)
    reader = AwsChunkedReader(ShortReads(body, 1_000), verifier.chunk, decoded_length=len(payload))
    assert reader.read(12_345) == payload[:12_345]
    assert reader.read() == payload[12_345:]
    assert len(verifier.chunks) == 38  # 36 full chunks, one of 5088 bytes, the final empty one


def test_tampered_chunk_is_rejected_before_its_data_is_returned() -> None:
    payload = os.urandom(20_000)
    body = bytearray(signed_body(payload, 8_192, SEED))
    second_chunk_data = body.index(b"\r\n", body.index(b"\r\n") + 2 + 8_192 + 2) + 2
    body[second_chunk_data + 10] ^= 0x01
    reader = AwsChunkedReader(io.BytesIO(bytes(body)), ChainVerifier(SEED).chunk)
    assert reader.read(8_192) == payload[:8_192]
    with pytest.raises(SignatureMismatch):
        reader.read(1)


def test_reordered_chunks_break_the_chain() -> None:
    payload = os.urandom(16_384)
    body = signed_body(payload, 8_192, SEED)
    # Chunk headers are ASCII, so their line ends are found safely; data lengths are known.
    first_end = body.index(b"\r\n") + 2 + 8_192 + 2
    second_end = body.index(b"\r\n", first_end) + 2 + 8_192 + 2
    swapped = body[first_end:second_end] + body[:first_end] + body[second_end:]
    with pytest.raises(SignatureMismatch):
        AwsChunkedReader(io.BytesIO(swapped), ChainVerifier(SEED).chunk).read()


def test_missing_chunk_signature_is_rejected_when_verifying() -> None:
    body = b"5\r\nhello\r\n0\r\n\r\n"
    with pytest.raises(InvalidChunkedBody, match="chunk-signature"):
        AwsChunkedReader(io.BytesIO(body), ChainVerifier(SEED).chunk).read()


def test_signed_body_decodes_without_a_verifier() -> None:
    payload = os.urandom(10_000)
    reader = AwsChunkedReader(io.BytesIO(signed_body(payload, 4_096, SEED)))
    assert reader.read() == payload


def test_oversized_signed_chunk_is_refused_before_buffering() -> None:
    payload = os.urandom(4_096)
    body = signed_body(payload, 4_096, SEED)
    reader = AwsChunkedReader(ShortReads(body, 100), ChainVerifier(SEED).chunk, max_signed_chunk=1_024)
    with pytest.raises(InvalidChunkedBody, match="largest signed chunk"):
        reader.read(1)


def test_signed_trailer() -> None:
    payload = os.urandom(70_000)
    checksum = botocore_b64("CRC32C", payload)
    body = signed_body(payload, 65_536, SEED, {"x-amz-checksum-crc32c": checksum})
    verifier = ChainVerifier(SEED)
    reader = AwsChunkedReader(
        io.BytesIO(body), verifier.chunk, decoded_length=len(payload), verify_trailer=verifier.trailer
    )
    assert reader.read() == payload
    assert reader.trailers == {"x-amz-checksum-crc32c": checksum}
    assert reader.trailer_signature is not None and len(reader.trailer_signature) == 64
    assert verifier.chunks == [65_536, 4_464, 0]


def test_tampered_trailer_is_rejected() -> None:
    payload = os.urandom(1_000)
    body = signed_body(payload, 65_536, SEED, {"x-amz-checksum-crc32": botocore_b64("CRC32", payload)})
    forged = body.replace(
        botocore_b64("CRC32", payload).encode(), botocore_b64("CRC32", payload + b"!").encode()
    )
    verifier = ChainVerifier(SEED)
    reader = AwsChunkedReader(io.BytesIO(forged), verifier.chunk, verify_trailer=verifier.trailer)
    with pytest.raises(SignatureMismatch, match="trailer"):
        reader.read()
    assert reader.trailers == {}


def test_missing_trailer_signature_is_rejected_when_verifying() -> None:
    body = b"2\r\nhi\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    with pytest.raises(InvalidChunkedBody, match="x-amz-trailer-signature"):
        AwsChunkedReader(io.BytesIO(body), verify_trailer=lambda canonical, sig: None).read()


def test_canonical_trailers_are_sorted_name_value_lines() -> None:
    assert canonical_trailers({"x-b": "2", "x-a": "1"}) == b"x-a:1\nx-b:2\n"


# --------------------------------------------------------------------------- header helpers


def test_is_aws_chunked() -> None:
    assert is_aws_chunked(Headers([("Content-Encoding", "gzip, aws-chunked")]))
    assert is_aws_chunked(Headers([("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")]))
    assert not is_aws_chunked(Headers([("Content-Encoding", "gzip")]))
    assert not is_aws_chunked(Headers([("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]))


def test_stored_content_encoding() -> None:
    assert stored_content_encoding("aws-chunked") is None
    assert stored_content_encoding("gzip,aws-chunked") == "gzip"
    assert stored_content_encoding("aws-chunked, br") == "br"
    assert stored_content_encoding(None) is None


def test_decoded_content_length() -> None:
    assert decoded_content_length(Headers([("X-Amz-Decoded-Content-Length", "66560")])) == 66_560
    assert decoded_content_length(Headers()) is None
    for bad in ("-1", "abc", "", "1e3", "١٢"):
        with pytest.raises(InvalidChunkedBody):
            decoded_content_length(Headers([("x-amz-decoded-content-length", bad)]))


def test_trailer_checksum_from_botocore_is_base64_of_its_digest() -> None:
    # Guards the comparison above: the trailer carries base64 of the raw digest, not of a hex string.
    payload = b"123456789"
    headers, raw = capture_put(payload, ChecksumAlgorithm="CRC32")
    reader = reader_for(headers, raw)
    assert reader.read() == payload
    assert base64.b64decode(reader.trailers["x-amz-checksum-crc32"]) == bytes.fromhex("cbf43926")
