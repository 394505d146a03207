"""Incoming HTTP requests -> operation input dicts, for every AWS protocol, driven by the botocore model.

The result has the same member names and Python types a boto3 user passes: the provider sees exactly
what the client meant, whichever protocol carried it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.etree.ElementTree import Element

import cbor2
from botocore.model import OperationModel, Shape
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from fogbank.errors import AwsError
from fogbank.protocol.http import BytesBody, HttpRequest
from fogbank.protocol.values import (
    SerializationError,
    b64decode,
    from_epoch,
    parse_bool,
    parse_float,
    parse_int,
    parse_timestamp,
    split_http_dates,
)

_INTEGERS = ("integer", "long", "short", "byte", "bigInteger")
_DECIMALS = ("float", "double", "bigDecimal")
# Nesting deeper than any AWS shape needs; deeper documents are refused rather than recursed into.
MAX_DOCUMENT_DEPTH = 128
# Request compression (gzip) may shrink a body a thousandfold; inflating stops here.
MAX_INFLATED_BODY = 64 * 1024 * 1024
# Protocols whose bodies are documents the parser reads whole: a gzip Content-Encoding there is always
# transport compression, never content (unlike an S3 object uploaded with Content-Encoding: gzip).
DOCUMENT_PROTOCOLS = ("json", "cbor", "smithy-rpc-v2-cbor", "query", "ec2")


class MalformedXML(AwsError):
    code = "MalformedXML"


class RequestEntityTooLarge(AwsError):
    code = "RequestEntityTooLargeException"
    status = 413


class MalformedQueryString(AwsError):
    code = "MalformedQueryString"


def convert_scalar(value: Any, shape: Shape) -> Any:
    """A text or JSON scalar -> the Python value of the shape's type."""
    kind = shape.type_name
    if kind in ("string", "character"):
        if not isinstance(value, str):
            raise SerializationError(f"Expected a string for {shape.name}, got {type(value).__name__}")
        return value
    if kind in _INTEGERS:
        return parse_int(value)
    if kind in _DECIMALS:
        return parse_float(value)
    if kind == "boolean":
        return parse_bool(value)
    if kind == "timestamp":
        return parse_timestamp(value)
    if kind == "blob":
        return b64decode(value)
    return value


# ---------------------------------------------------------------- JSON and CBOR documents


@dataclass(frozen=True)
class DocumentStyle:
    """How a JSON/CBOR body names members and counts epochs, which differs between protocols."""

    #: Use a member's locationName (jsonName) as its key; Smithy RPC v2 CBOR always uses member names.
    wire_names: bool = True
    #: Epoch numbers are milliseconds (AWS JSON carried as CBOR, as the Java SDKs send it).
    epoch_millis: bool = False


JSON_STYLE = DocumentStyle()
RPC_V2_CBOR_STYLE = DocumentStyle(wire_names=False)
AWS_CBOR_STYLE = DocumentStyle(epoch_millis=True)


@dataclass(frozen=True)
class CborEpoch:
    """A CBOR tag 1 value, kept raw until the member says whether it counts seconds or milliseconds."""

    value: int | float


def _cbor_epoch(value: Any, *_: Any) -> CborEpoch:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SerializationError("CBOR tag 1 must carry a number")
    return CborEpoch(value)


# By (shape identity, wire names?); the shape is kept beside its index so an id is never reused while cached.
_BY_WIRE: dict[tuple[int, bool], tuple[Shape, dict[str, tuple[str, Shape]]]] = {}


def _member_by_wire(shape: Shape, wire_names: bool) -> dict[str, tuple[str, Shape]]:
    cached = _BY_WIRE.get((id(shape), wire_names))
    if cached is not None and cached[0] is shape:
        return cached[1]
    found: dict[str, tuple[str, Shape]] = {}
    for name, member in shape.members.items():
        key = member.serialization.get("name", name) if wire_names else name
        found[key] = (name, member)
    _BY_WIRE[(id(shape), wire_names)] = (shape, found)
    return found


def _plain(value: Any) -> Any:
    """A document-type value as plain JSON data (CBOR tags unwrapped)."""
    if isinstance(value, CborEpoch):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _document_timestamp(value: Any, style: DocumentStyle) -> Any:
    if isinstance(value, CborEpoch):
        value = value.value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return from_epoch(value / 1000 if style.epoch_millis else value)
    return parse_timestamp(value)


def from_document(value: Any, shape: Shape, style: DocumentStyle = JSON_STYLE) -> Any:
    """A decoded JSON/CBOR value -> Python values of the shape (base64 blobs, epoch timestamps)."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if shape.metadata.get("document"):
            return _plain(value)
        if not isinstance(value, dict):
            raise SerializationError(f"Expected an object for {shape.name}")
        members = _member_by_wire(shape, style.wire_names)
        out: dict[str, Any] = {}
        for key, item in value.items():
            found = members.get(key) if isinstance(key, str) else None
            if found is None or item is None:
                continue
            name, member = found
            kind = member.type_name
            # The commonest members, without a call each (long record lists are made of them).
            if kind == "string" and type(item) is str:
                out[name] = item
            elif kind == "blob" and type(item) is str:
                out[name] = b64decode(item)
            else:
                out[name] = from_document(item, member, style)
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise SerializationError(f"Expected a list for {shape.name}")
        member = shape.member
        if member.type_name == "string" and all(type(item) is str for item in value):
            return list(value)  # the common case, without a call per element
        return [None if item is None else from_document(item, member, style) for item in value]
    if kind == "map":
        if not isinstance(value, dict):
            raise SerializationError(f"Expected a map for {shape.name}")
        return {str(k): from_document(v, shape.value, style) for k, v in value.items() if v is not None}
    if kind == "timestamp":
        return _document_timestamp(value, style)
    if kind == "string" and type(value) is str:
        return value
    if kind == "blob" and isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, CborEpoch):
        raise SerializationError(f"Unexpected timestamp for {shape.name}")
    return convert_scalar(value, shape)


def parse_json_body(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise SerializationError(f"Request body is not valid JSON: {exc}") from None


def parse_cbor_body(body: bytes) -> Any:
    if not body:
        return {}
    try:
        return cbor2.loads(body, semantic_decoders={1: _cbor_epoch}, max_depth=MAX_DOCUMENT_DEPTH,
                           strict_hashable_types=True)
    except SerializationError:
        raise
    except Exception as exc:  # cbor2 raises several error types for malformed input
        raise SerializationError(f"Request body is not valid CBOR: {exc}") from None


def parse_document_request(op: OperationModel, body: Any, style: DocumentStyle = JSON_STYLE) -> dict[str, Any]:
    shape = op.input_shape
    if not isinstance(body, dict):
        raise SerializationError("Request body must be an object")
    if shape is None:
        return {}
    result = from_document(body, shape, style)
    return result if isinstance(result, dict) else {}


# ---------------------------------------------------------------- query and EC2 (form-encoded) protocols


class _QueryNode:
    """One dotted segment of the flat query keys (`A.member.1.B`), so lookups never rescan all keys."""

    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, _QueryNode] = {}


def _query_tree(pairs: list[tuple[str, str]]) -> _QueryNode:
    root = _QueryNode()
    for key, value in pairs:
        node = root
        for part in key.split("."):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _QueryNode()
            node = child
        node.value = value
    return root


def _query_keys(member: Shape, name: str, ec2: bool) -> list[str]:
    """The keys clients use for a member, most specific first.

    botocore and the Smithy SDKs disagree on a few corners (EC2 capitalization of bare member names,
    renamed flattened lists); a server accepts both spellings.
    """
    serialization = member.serialization
    keys: list[str] = []
    if ec2:
        if "queryName" in serialization:
            keys.append(str(serialization["queryName"]))
        for base in (serialization.get("name"), name):
            if base:
                keys.extend([str(base)[:1].upper() + str(base)[1:], str(base)])
    else:
        if member.type_name == "list" and serialization.get("flattened") and member.member.serialization.get("name"):
            keys.append(str(member.member.serialization["name"]))
        keys.extend([str(serialization.get("name", name)), name])
    return list(dict.fromkeys(keys))


def _indexed(node: _QueryNode) -> list[_QueryNode]:
    """The children named 1, 2, 3, ... in numeric order (gaps allowed, as AWS allows them)."""
    items = [(int(k), child) for k, child in node.children.items() if k.isdigit() and len(k) < 10]
    return [child for _, child in sorted(items, key=lambda item: item[0])]


def _query_value(node: _QueryNode, shape: Shape, ec2: bool) -> Any:
    kind = shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            child = next((node.children[k] for k in _query_keys(member, name, ec2) if k in node.children), None)
            if child is not None:
                value = _query_value(child, member, ec2)
                if value is not None:
                    out[name] = value
        return out
    if kind == "list":
        flat = ec2 or shape.serialization.get("flattened")
        container = node if flat else node.children.get(shape.member.serialization.get("name", "member"))
        items = _indexed(container) if container is not None else []
        if not items:
            return [] if node.value == "" else None
        values = (_query_value(item, shape.member, ec2) for item in items)
        return [v for v in values if v is not None]
    if kind == "map":
        container = node if shape.serialization.get("flattened") else node.children.get("entry")
        entries = _indexed(container) if container is not None else []
        if not entries:
            return {} if node.value == "" else None
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out_map: dict[str, Any] = {}
        for entry in entries:
            key_node = entry.children.get(key_name)
            value_node = entry.children.get(value_name)
            if key_node is None or key_node.value is None or value_node is None:
                continue
            item = _query_value(value_node, shape.value, ec2)
            if item is not None:
                out_map[key_node.value] = item
        return out_map
    if node.value is None:
        return None
    return convert_scalar(node.value, shape)


def query_params(request: HttpRequest) -> list[tuple[str, str]]:
    """Action parameters from the query string and the form body (POST)."""
    content_type = (request.headers.get("content-type") or "").lower()
    params = list(request.query)
    if content_type.startswith("application/x-www-form-urlencoded") or (
        request.method == "POST" and not content_type
    ):
        try:
            text = request.read_body().decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedQueryString("The request body is not valid UTF-8") from None
        params.extend(parse_qsl(text, keep_blank_values=True))
    return params


def parse_query_request(op: OperationModel, request: HttpRequest, ec2: bool = False) -> dict[str, Any]:
    shape = op.input_shape
    params = query_params(request)
    if shape is None:
        return {}
    value = _query_value(_query_tree(params), shape, ec2)
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------- XML documents


def parse_xml(body: bytes) -> Element:
    """Parses untrusted XML: DTDs, entity expansion and external references are refused."""
    try:
        root: Element = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, SafeET.ParseError, ValueError, LookupError) as exc:
        raise MalformedXML("The XML you provided was not well-formed or did not validate against our "
                           f"published schema ({exc.__class__.__name__})") from None
    return root


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: Element) -> dict[str, list[Element]]:
    grouped: dict[str, list[Element]] = {}
    for child in element:
        if isinstance(child.tag, str):
            grouped.setdefault(_local(child.tag), []).append(child)
    return grouped


def _xml_member_names(member: Shape, name: str) -> list[str]:
    """Element names a member may arrive under, most specific first.

    A flattened list is named after its item in botocore's models and after the member in Smithy's;
    both spellings are read.
    """
    names = [str(member.serialization.get("name", name)), name]
    if member.type_name == "list" and member.serialization.get("flattened") and member.member.serialization.get("name"):
        names.insert(0, str(member.member.serialization["name"]))
    return list(dict.fromkeys(names))


def from_xml(element: Element, shape: Shape) -> Any:
    """An XML element -> the Python value of the shape; an empty scalar element is absent."""
    kind = shape.type_name
    if kind == "structure":
        grouped = _children(element)
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            if member.serialization.get("location"):
                continue
            if member.serialization.get("xmlAttribute"):
                wire = str(member.serialization.get("name", name)).split(":")[-1]
                for attr, text in element.attrib.items():
                    if _local(attr) == wire:
                        out[name] = convert_scalar(text, member)
                continue
            found = next((grouped[k] for k in _xml_member_names(member, name) if k in grouped), None)
            if not found:
                continue
            if member.type_name == "list" and member.serialization.get("flattened"):
                out[name] = [v for v in (from_xml(e, member.member) for e in found) if v is not None]
            elif member.type_name == "map" and member.serialization.get("flattened"):
                out[name] = _xml_map_entries(found, member)
            else:
                value = from_xml(found[0], member)
                if value is not None:
                    out[name] = value
        return out
    if kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        items = (from_xml(e, shape.member) for e in element if isinstance(e.tag, str) and _local(e.tag) == item_name)
        return [v for v in items if v is not None]
    if kind == "map":
        return _xml_map_entries([e for e in element if isinstance(e.tag, str) and _local(e.tag) == "entry"], shape)
    text = element.text or ""
    if kind in ("string", "character"):
        return text
    text = text.strip()
    if kind == "blob":
        return b64decode(text)
    if not text:
        return None
    return convert_scalar(text, shape)


def _xml_map_entries(entries: list[Element], shape: Shape) -> dict[str, Any]:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    out: dict[str, Any] = {}
    for entry in entries:
        grouped = _children(entry)
        key_el = grouped.get(key_name)
        value_el = grouped.get(value_name)
        if key_el and value_el:
            value = from_xml(value_el[0], shape.value)
            if value is not None:
                out[key_el[0].text or ""] = value
    return out


# ---------------------------------------------------------------- REST bindings (rest-json, rest-xml)


def split_header_list(value: str) -> list[str]:
    """A comma-separated header list; double-quoted items may hold commas and escaped quotes (RFC 7230)."""
    items: list[str] = []
    i, n = 0, len(value)
    while i <= n:
        while i < n and value[i] in " \t":
            i += 1
        if i < n and value[i] == '"':
            i += 1
            chars: list[str] = []
            while i < n and value[i] != '"':
                if value[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(value[i])
                i += 1
            items.append("".join(chars))
            end = value.find(",", i)
        else:
            end = value.find(",", i)
            items.append(value[i:end if end >= 0 else n].strip())
        if end < 0:
            break
        i = end + 1
    return items


def _header_value(value: str, shape: Shape) -> Any:
    if shape.type_name == "list":
        member = shape.member
        if value.strip() == "":
            return []
        if member.type_name == "timestamp" and member.serialization.get("timestampFormat", "rfc822") == "rfc822":
            parts = split_http_dates(value)
        else:
            parts = split_header_list(value)
        return [_header_value(v, member) for v in parts]
    if shape.serialization.get("jsonvalue"):
        try:
            return json.loads(b64decode(value))
        except (ValueError, RecursionError):
            raise SerializationError(f"Header for {shape.name} is not base64-encoded JSON") from None
    if shape.type_name in ("string", "character"):
        return value
    return convert_scalar(value.strip(), shape)


def _query_map(member: Shape, query: dict[str, list[str]]) -> dict[str, Any]:
    """An httpQueryParams map: every query parameter (Smithy's server rule), typed as the map says."""
    value_shape = member.value
    if value_shape.type_name == "list":
        return {k: [convert_scalar(v, value_shape.member) for v in values] for k, values in query.items()}
    return {k: convert_scalar(values[0], value_shape) for k, values in query.items()}


def _payload(op: OperationModel, request: HttpRequest, name: str, member: Shape,
             body_parser: Callable[[bytes, Shape], Any]) -> Any:
    """The one member bound to the whole body; streaming blobs stay streams (an empty body is an empty stream)."""
    if member.type_name == "blob" and member.serialization.get("streaming"):
        return request.body
    raw = request.read_body()
    if member.type_name == "blob":
        return raw if raw else None
    if member.type_name == "string":
        if not raw:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SerializationError(f"The {name} payload is not valid UTF-8") from None
    if not raw.strip():
        return None
    parsed = body_parser(raw, member)
    return None if parsed == {} and member.type_name == "structure" else parsed


@dataclass(frozen=True)
class RestBindings:
    """Where each member of a rest input shape lives, indexed once per shape for per-request lookups."""

    uri: tuple[tuple[str, str, Shape], ...]
    query: dict[str, tuple[str, Shape]]
    query_maps: tuple[tuple[str, Shape], ...]
    headers: dict[str, tuple[str, Shape]]
    prefixed: tuple[tuple[str, str], ...]
    has_body_members: bool


# By shape identity; the shape is kept beside its bindings so that an id is never reused while cached.
_BINDINGS: dict[int, tuple[Shape, RestBindings]] = {}


def rest_bindings(shape: Shape) -> RestBindings:
    found = _BINDINGS.get(id(shape))
    if found is not None and found[0] is shape:
        return found[1]
    uri: list[tuple[str, str, Shape]] = []
    query: dict[str, tuple[str, Shape]] = {}
    query_maps: list[tuple[str, Shape]] = []
    headers: dict[str, tuple[str, Shape]] = {}
    prefixed: list[tuple[str, str]] = []
    has_body = False
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            uri.append((name, wire, member))
        elif location == "querystring":
            if member.type_name == "map":
                query_maps.append((name, member))
            else:
                query[wire] = (name, member)
        elif location == "header":
            headers[wire.lower()] = (name, member)
        elif location == "headers":
            prefixed.append((name, wire.lower()))
        elif location != "statusCode":
            has_body = True
    bindings = RestBindings(tuple(uri), query, tuple(query_maps), headers, tuple(prefixed), has_body)
    _BINDINGS[id(shape)] = (shape, bindings)
    return bindings


def parse_rest_request(op: OperationModel, request: HttpRequest, labels: dict[str, str],
                       body_parser: Callable[[bytes, Shape], Any]) -> dict[str, Any]:
    """URI labels, query string, headers and the payload, each member from where the model puts it."""
    shape = op.input_shape
    if shape is None:
        return {}
    bindings = rest_bindings(shape)
    out: dict[str, Any] = {}
    for name, wire, member in bindings.uri:
        if wire in labels:
            text = unquote(labels[wire])
            out[name] = text if member.type_name == "string" else convert_scalar(text, member)
    if request.query_string:
        query: dict[str, list[str]] = {}
        for key, value in request.query:
            query.setdefault(key, []).append(value)
        for wire, values in query.items():
            bound = bindings.query.get(wire)
            if bound is None:
                continue
            name, member = bound
            if member.type_name == "list":
                out[name] = [convert_scalar(v, member.member) for v in values]
            else:
                out[name] = convert_scalar(values[0], member)
        for name, member in bindings.query_maps:
            out[name] = _query_map(member, query)
    seen: dict[str, list[str]] = {}
    for key, value in request.headers:
        if key in bindings.headers:
            seen.setdefault(key, []).append(value)
        else:
            for name, prefix in bindings.prefixed:
                if key.startswith(prefix):
                    out.setdefault(name, {})[key[len(prefix):]] = value
    for key, values in seen.items():
        name, member = bindings.headers[key]
        # a list may arrive as one header or repeated ones
        raw = ", ".join(values) if member.type_name == "list" else values[0]
        out[name] = _header_value(raw, member)
    payload = shape.serialization.get("payload")
    if payload:
        value = _payload(op, request, payload, shape.members[payload], body_parser)
        if value is not None:
            out[payload] = value
    elif bindings.has_body_members:
        raw_body = request.read_body()
        if raw_body.strip():
            parsed = body_parser(raw_body, shape)
            if isinstance(parsed, dict):
                for key, value in parsed.items():
                    if key not in out and not shape.members[key].serialization.get("location"):
                        out[key] = value
    return out


def rest_json_body(body: bytes, shape: Shape) -> Any:
    return from_document(parse_json_body(body), shape, JSON_STYLE)


def rest_xml_body(body: bytes, shape: Shape) -> Any:
    return from_xml(parse_xml(body), shape)


# ---------------------------------------------------------------- request compression


def inflate_request(op: OperationModel, wire_protocol: str, request: HttpRequest) -> None:
    """Undoes gzip request compression (botocore's requestcompression trait) before the body is read."""
    encodings = [e.strip().lower() for e in (request.headers.get("content-encoding") or "").split(",")]
    if not encodings or encodings[-1] != "gzip":
        return
    if wire_protocol not in DOCUMENT_PROTOCOLS and (op.request_compression is None or op.has_streaming_input):
        return
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(request.read_body(), MAX_INFLATED_BODY + 1)
    except zlib.error as exc:
        raise SerializationError(f"The request body is not valid gzip: {exc}") from None
    if len(data) > MAX_INFLATED_BODY or inflater.unconsumed_tail:
        raise RequestEntityTooLarge("The request body is too large once decompressed.")
    if not inflater.eof:
        raise SerializationError("The request body is truncated gzip.")
    request.body = BytesBody(data)
    request.content_length = len(data)


# ---------------------------------------------------------------- entry point


def parse_request(op: OperationModel, wire_protocol: str, request: HttpRequest,
                  labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The operation's input dict from the request, in the protocol the client spoke."""
    inflate_request(op, wire_protocol, request)
    try:
        if wire_protocol == "json":
            return parse_document_request(op, parse_json_body(request.read_body()), JSON_STYLE)
        if wire_protocol == "smithy-rpc-v2-cbor":
            return parse_document_request(op, parse_cbor_body(request.read_body()), RPC_V2_CBOR_STYLE)
        if wire_protocol == "cbor":
            return parse_document_request(op, parse_cbor_body(request.read_body()), AWS_CBOR_STYLE)
        if wire_protocol in ("query", "ec2"):
            return parse_query_request(op, request, ec2=wire_protocol == "ec2")
        if wire_protocol == "rest-json":
            return parse_rest_request(op, request, labels or {}, rest_json_body)
        if wire_protocol == "rest-xml":
            return parse_rest_request(op, request, labels or {}, rest_xml_body)
    except RecursionError:
        raise SerializationError("The request is nested too deeply") from None
    raise SerializationError(f"Unsupported protocol {wire_protocol}")
