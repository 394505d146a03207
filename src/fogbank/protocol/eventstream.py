"""The AWS event-stream binary framing (application/vnd.amazon.eventstream) for streaming responses.

Each message: total length, headers length, prelude CRC, headers, payload, message CRC (all CRC32).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from botocore.model import Shape

from fogbank.errors import AwsError

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7


def _header(name: str, value: str) -> bytes:
    raw_name = name.encode("utf-8")
    raw_value = value.encode("utf-8")
    return struct.pack("B", len(raw_name)) + raw_name + struct.pack(">BH", _STRING, len(raw_value)) + raw_value


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    header_bytes = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack(">II", total, len(header_bytes))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + header_bytes + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event_message(event_type: str, payload: bytes, content_type: str) -> bytes:
    return encode_message({":message-type": "event", ":event-type": event_type,
                           ":content-type": content_type}, payload)


def exception_message(error: AwsError, payload: bytes, content_type: str) -> bytes:
    return encode_message({":message-type": "exception", ":exception-type": error.error_code,
                           ":content-type": content_type}, payload)


def encode_events(events: Iterable[dict[str, Any]], union: Shape,
                  encode_payload: Any, content_type: str) -> Iterator[bytes]:
    """Each event is a one-key dict {EventName: members}; an AwsError raised mid-stream ends it cleanly."""
    iterator = iter(events)
    try:
        for event in iterator:
            for name, value in event.items():
                member = union.members[name]
                yield event_message(name, encode_payload(value, member), content_type)
    except AwsError as error:
        body = encode_payload({"message": error.message}, None)
        yield exception_message(error, body, content_type)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def stream_response(op: Any, wire_protocol: str, output: dict[str, Any], request_id: str,
                    json_version: str | None) -> Any:
    """An operation whose output carries an event stream: initial members first, then the events."""
    from fogbank.protocol.serializer import (
        document_style,
        dump_cbor,
        dump_json,
        serialize_response,
        to_document,
    )

    shape = op.output_shape
    stream_name = shape.event_stream_name
    union = shape.members[stream_name]
    events = output.get(stream_name) or ()
    rest = {k: v for k, v in output.items() if k != stream_name}
    binary = wire_protocol in ("cbor", "smithy-rpc-v2-cbor")
    content_type = {"cbor": "application/x-amz-cbor-1.1", "smithy-rpc-v2-cbor": "application/cbor"}.get(
        wire_protocol, "application/json")

    def payload(value: Any, member: Shape | None) -> bytes:
        document = to_document(value, member, document_style(wire_protocol)) if member is not None else value
        return dump_cbor(document) if binary else dump_json(document)

    response = serialize_response(op, wire_protocol, rest, request_id, json_version)
    headers = [(k, v) for k, v in response.headers if k != "content-type"]
    headers.append(("content-type", CONTENT_TYPE))

    def body() -> Iterator[bytes]:
        if wire_protocol in ("json", "cbor", "smithy-rpc-v2-cbor"):
            initial = response.body if isinstance(response.body, bytes) else b"{}"
            yield encode_message({":message-type": "event", ":event-type": "initial-response",
                                  ":content-type": content_type}, initial)
        yield from encode_events(events, union, payload, content_type)

    response.headers = headers
    response.body = body()
    return response
