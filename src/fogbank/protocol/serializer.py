"""Operation output dicts and AwsErrors -> HTTP responses in the protocol the client spoke.

botocore's parsers are the reference for every choice here: what they read back must equal what the
provider returned. Where botocore is lenient, the AWS wire format (as the Smithy protocol tests pin it
down) decides, so that the other SDKs read the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import cbor2
import orjson
from botocore.model import OperationModel, Shape

from fogbank.errors import AwsError, error_status, is_sender_fault
from fogbank.protocol.http import HttpResponse
from fogbank.protocol.values import (
    b64encode,
    epoch_seconds,
    float_text,
    format_float,
    format_timestamp,
)

JSON_CONTENT_TYPES = {"1.0": "application/x-amz-json-1.0", "1.1": "application/x-amz-json-1.1"}
AWS_CBOR_CONTENT_TYPE = "application/x-amz-cbor-1.1"
CBOR_CONTENT_TYPE = "application/cbor"

# botocore's models drop the root element names of rest-xml output documents; AWS sends these.
XML_ROOTS: dict[str, str] = {
    "ListObjectsV2": "ListBucketResult",
    "ListObjects": "ListBucketResult",
    "ListBuckets": "ListAllMyBucketsResult",
    "ListDirectoryBuckets": "ListAllMyDirectoryBucketsResult",
    "ListObjectVersions": "ListVersionsResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "ListParts": "ListPartsResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "DeleteObjects": "DeleteResult",
    "GetObjectTagging": "Tagging",
    "GetBucketTagging": "Tagging",
    "GetBucketCors": "CORSConfiguration",
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketLifecycleConfiguration": "LifecycleConfiguration",
    "GetBucketAcl": "AccessControlPolicy",
    "GetObjectAcl": "AccessControlPolicy",
    "GetObjectAttributes": "GetObjectAttributesResponse",
    "GetBucketLocation": "LocationConstraint",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
    "GetBucketWebsite": "WebsiteConfiguration",
    "GetBucketLogging": "BucketLoggingStatus",
    "GetBucketRequestPayment": "RequestPaymentConfiguration",
    "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
    "GetObjectLockConfiguration": "ObjectLockConfiguration",
    "GetObjectRetention": "Retention",
    "GetObjectLegalHold": "LegalHold",
    "GetBucketPolicyStatus": "PolicyStatus",
    "GetBucketLifecycle": "LifecycleConfiguration",
    "GetBucketNotification": "NotificationConfiguration",
    "CreateSession": "CreateSessionResult",
    "ListBucketAnalyticsConfigurations": "ListBucketAnalyticsConfigurationResult",
    "ListBucketIntelligentTieringConfigurations": "ListBucketIntelligentTieringConfigurationsOutput",
    "ListBucketInventoryConfigurations": "ListInventoryConfigurationsResult",
    "ListBucketMetricsConfigurations": "ListMetricsConfigurationsResult",
}
S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
# Where a response member can live outside the body; any other location (querystring, uri) means the body.
RESPONSE_LOCATIONS = ("header", "headers", "statusCode")
# A bare carriage return would be read back as a newline by every XML parser.
_XML_TEXT_ENTITIES = {"\r": "&#xD;"}


# ---------------------------------------------------------------- documents (JSON, CBOR)


@dataclass(frozen=True)
class DocumentStyle:
    """How a JSON/CBOR response names members and writes scalars, which differs between protocols."""

    binary: bool = False
    #: Use a member's locationName (jsonName) as its key; Smithy RPC v2 CBOR always uses member names.
    wire_names: bool = True
    #: Timestamps are CBOR tag 1 over epoch milliseconds (AWS JSON carried as CBOR, as the Java SDKs read it).
    epoch_millis: bool = False


JSON_STYLE = DocumentStyle()
RPC_V2_CBOR_STYLE = DocumentStyle(binary=True, wire_names=False)
AWS_CBOR_STYLE = DocumentStyle(binary=True, epoch_millis=True)


def document_style(wire_protocol: str) -> DocumentStyle:
    """The document conventions of a wire protocol (for event-stream payloads as much as for bodies)."""
    if wire_protocol == "smithy-rpc-v2-cbor":
        return RPC_V2_CBOR_STYLE
    if wire_protocol == "cbor":
        return AWS_CBOR_STYLE
    return JSON_STYLE


def _document_timestamp(value: Any, shape: Shape, style: DocumentStyle, default_format: str) -> Any:
    if style.binary:
        seconds = epoch_seconds(value)
        return cbor2.CBORTag(1, round(seconds * 1000) if style.epoch_millis else seconds)
    return format_timestamp(value, shape.serialization.get("timestampFormat", default_format))


# By (shape identity, wire names?); the shape is kept beside its index so an id is never reused while cached.
_DOCUMENT_MEMBERS: dict[tuple[int, bool], tuple[Shape, dict[str, tuple[str, Shape]]]] = {}


def _document_members(shape: Shape, wire_names: bool) -> dict[str, tuple[str, Shape]]:
    """Member name -> (name on the wire, shape), in model order; built once per shape."""
    cached = _DOCUMENT_MEMBERS.get((id(shape), wire_names))
    if cached is not None and cached[0] is shape:
        return cached[1]
    found = {name: (member.serialization.get("name", name) if wire_names else name, member)
             for name, member in shape.members.items()}
    _DOCUMENT_MEMBERS[(id(shape), wire_names)] = (shape, found)
    return found


class WireReady(list):
    """A list a provider built in its document form already: structures as dicts under their members' wire
    names, no None, and nothing but strings, booleans and whole numbers inside. Documents carry it as it is,
    unchecked: checking each of a 1,000-row Athena result page's 5,000 records costs ~3 ms."""


def to_document(value: Any, shape: Shape | None, style: DocumentStyle | bool = JSON_STYLE,
                timestamp_format: str = "unixTimestamp") -> Any:
    """Python values -> a JSON-able (or CBOR-able) document following the shape.

    `style` may also be a bool (binary or not), meaning Smithy RPC v2 CBOR or JSON conventions.
    """
    if isinstance(style, bool):
        style = RPC_V2_CBOR_STYLE if style else JSON_STYLE
    if value is None or shape is None or type(value) is WireReady:
        return value
    convert = _converter(shape, style, timestamp_format)
    return value if convert is None else convert(value)


# -- converters: each shape's conversion decided once, not per value ---------------------------------------
#
# A response can hold tens of thousands of values of one shape (the rows of a result set, the records of a
# stream); looking the shape's kind and members up again for each of them costs more than the conversion.
# A converter is a function from a non-None value to its document form, or None where the value is its own
# document form (strings, booleans, document-typed members).

Convert = Callable[[Any], Any]
_CONVERTERS: dict[tuple[int, DocumentStyle, str], tuple[Shape, Convert | None]] = {}
_CONVERTERS_MAX = 4096


def _converter(shape: Shape, style: DocumentStyle, timestamp_format: str) -> Convert | None:
    key = (id(shape), style, timestamp_format)
    cached = _CONVERTERS.get(key)
    if cached is not None and cached[0] is shape:
        return cached[1]
    built = _build(shape, style, timestamp_format, set())
    if len(_CONVERTERS) >= _CONVERTERS_MAX:
        _CONVERTERS.clear()
    _CONVERTERS[key] = (shape, built)
    return built


def _build(shape: Shape, style: DocumentStyle, timestamp_format: str, building: set[str]) -> Convert | None:
    """The converter of `shape`; `building` names the aggregate shapes above it, so a recursive shape stops
    at its own name and converts its deeper levels as they come."""
    kind = shape.type_name
    if kind in ("structure", "list", "map"):
        if shape.name in building:
            return lambda value: to_document(value, shape, style, timestamp_format)
        building = building | {shape.name}
    if kind == "structure":
        return None if shape.metadata.get("document") else _structure(shape, style, timestamp_format, building)
    if kind == "list":
        names = _plain_names(shape.member, style)
        if names is not None:  # a list of flat records of scalars (rows, cells): checked in place, no call each
            return lambda value: [v if type(v) is dict and names.issuperset(v) and None not in v.values()
                                  else None if v is None else _plain_copy(v, names) for v in value]
        item = _build(shape.member, style, timestamp_format, building)
        if item is None:
            return _plain_list
        return lambda value: [None if v is None else item(v) for v in value]
    if kind == "map":
        entry = _build(shape.value, style, timestamp_format, building)
        if entry is None:
            return dict
        return lambda value: {k: None if v is None else entry(v) for k, v in value.items()}
    if kind == "timestamp":
        return lambda value: _document_timestamp(value, shape, style, timestamp_format)
    if kind == "blob":
        return _binary_blob if style.binary else b64encode
    if kind in ("float", "double"):
        return float if style.binary else _json_float
    if kind in ("integer", "long", "short", "byte"):
        return int
    return None


def _carried_as_is(member: Shape, style: DocumentStyle) -> bool:
    """Scalars that a document carries exactly as the provider gave them."""
    kind = member.type_name
    return kind == "string" or (kind in ("boolean", "integer", "long") and not style.binary)


def _plain_names(shape: Shape, style: DocumentStyle) -> frozenset[str] | None:
    """The member names of a structure whose members are all carried as they are under their own names;
    None for any other shape. Such a value is its own document once unknown members and None are dropped."""
    if shape.type_name != "structure" or shape.metadata.get("document"):
        return None
    members = _document_members(shape, style.wire_names)
    if not all(wire == name and _carried_as_is(member, style) for name, (wire, member) in members.items()):
        return None
    return frozenset(members)


def _plain_copy(value: Any, names: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None and k in names}


def _structure(shape: Shape, style: DocumentStyle, timestamp_format: str, building: set[str]) -> Convert:
    names = _plain_names(shape, style)
    if names is not None:
        # A value with no unknown member and no None is its own document (checked in C, with no copy made).
        def plain(value: Any) -> Any:
            if type(value) is dict and names.issuperset(value) and None not in value.values():
                return value
            return _plain_copy(value, names)

        return plain
    table: dict[str, tuple[str, Convert | None]] = {}
    for name, (wire, member) in _document_members(shape, style.wire_names).items():
        if _carried_as_is(member, style):
            table[name] = (wire, None)
        else:
            table[name] = (wire, _build(member, style, timestamp_format, building))

    def convert(value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, item in value.items():
            found = table.get(name)
            if found is None or item is None:
                continue
            wire, member = found
            out[wire] = item if member is None or type(item) is WireReady else member(item)
        return out

    return convert


def _plain_list(value: Any) -> list[Any]:
    return value if type(value) is list else list(value)


def _binary_blob(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _json_float(value: Any) -> Any:
    return format_float(float(value))


def dump_json(document: Any) -> bytes:
    """Compact UTF-8 JSON; orjson writes it several times faster than the standard library (a 1,000-row
    result page: about 0.5 ms against 4.5 ms), which stays for what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(document)
    except TypeError:
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def dump_cbor(document: Any) -> bytes:
    return bytes(cbor2.dumps(document, datetime_as_timestamp=True, timezone=None))


# ---------------------------------------------------------------- XML


def xml_text(text: str) -> str:
    return escape(text, _XML_TEXT_ENTITIES)


def _xml_scalar(value: Any, shape: Shape, timestamp_format: str = "iso8601") -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return str(format_timestamp(value, shape.serialization.get("timestampFormat", timestamp_format)))
    if kind == "blob":
        return b64encode(value)
    if kind in ("float", "double"):
        return float_text(float(value))
    return str(value)


def _ns_attrs(namespace: Any) -> str:
    if not namespace:
        return ""
    if isinstance(namespace, str):
        return f" xmlns={quoteattr(namespace)}"
    prefix = namespace.get("prefix")
    uri = namespace.get("uri", "")
    return f" xmlns:{prefix}={quoteattr(uri)}" if prefix else f" xmlns={quoteattr(uri)}"


def _xml_structure_parts(value: dict[str, Any], shape: Shape, attrs: str) -> tuple[str, list[str]]:
    """A structure's attributes and child elements; members bound to HTTP headers are left out."""
    body: list[str] = []
    for member_name, member in shape.members.items():
        item = value.get(member_name)
        if item is None or member.serialization.get("location") in RESPONSE_LOCATIONS:
            continue
        wire = member.serialization.get("name", member_name)
        if member.serialization.get("xmlAttribute"):
            namespace = member.serialization.get("xmlNamespace")
            if isinstance(namespace, dict) and namespace.get("prefix"):
                declaration = _ns_attrs(namespace)
                if declaration not in attrs:
                    attrs += declaration
            attrs += f" {wire}={quoteattr(_xml_scalar(item, member))}"
            continue
        xml_member(wire, item, member, body)
    return attrs, body


def xml_element(name: str, value: Any, shape: Shape, out: list[str], extra_attrs: str = "") -> None:
    """One element named `name` holding `value` as the shape says."""
    kind = shape.type_name
    attrs = extra_attrs + _ns_attrs(shape.serialization.get("xmlNamespace"))
    if kind == "structure":
        attrs, body = _xml_structure_parts(value, shape, attrs)
        out.append(f"<{name}{attrs}>")
        out.extend(body)
        out.append(f"</{name}>")
    elif kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        out.append(f"<{name}{attrs}>")
        for item in value:
            xml_element(item_name, item, shape.member, out)
        out.append(f"</{name}>")
    elif kind == "map":
        out.append(f"<{name}{attrs}>")
        _xml_map_entries("entry", value, shape, out)
        out.append(f"</{name}>")
    else:
        out.append(f"<{name}{attrs}>{xml_text(_xml_scalar(value, shape))}</{name}>")


def _xml_map_entries(entry_name: str, value: dict[str, Any], shape: Shape, out: list[str]) -> None:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    for key, item in value.items():
        out.append(f"<{entry_name}>")
        xml_element(key_name, key, shape.key, out)
        if item is not None:
            xml_element(value_name, item, shape.value, out)
        out.append(f"</{entry_name}>")


def xml_member(wire: str, value: Any, shape: Shape, out: list[str]) -> None:
    """A structure member: flattened lists and maps repeat their elements in place."""
    if shape.type_name == "list" and shape.serialization.get("flattened"):
        item_name = shape.member.serialization.get("name") or wire
        for item in value:
            xml_element(item_name, item, shape.member, out)
    elif shape.type_name == "map" and shape.serialization.get("flattened"):
        _xml_map_entries(wire, value, shape, out)
    else:
        xml_element(wire, value, shape, out)


def _xml_namespace(metadata: dict[str, Any]) -> str | None:
    namespace = metadata.get("xmlNamespace")
    if isinstance(namespace, dict):
        return str(namespace.get("uri")) if namespace.get("uri") else None
    return str(namespace) if namespace else None


def _query_namespace(op: OperationModel) -> str:
    metadata = op.metadata
    return _xml_namespace(metadata) or (
        f"https://{metadata.get('endpointPrefix', '')}.amazonaws.com/doc/{metadata.get('apiVersion', '')}/")


# ---------------------------------------------------------------- HTTP headers


def header_safe(text: str) -> str:
    """A header value that cannot split the response: no CR/LF, and non-ASCII text RFC 2047-encoded, as S3 does."""
    if "\r" in text or "\n" in text or "\0" in text:
        text = text.replace("\r", " ").replace("\n", " ").replace("\0", "")
    if not text.isascii():
        return "=?UTF-8?B?" + b64encode(text.encode("utf-8")) + "?="
    return text


def _quote_header_item(text: str) -> str:
    if "," in text or '"' in text or text != text.strip():
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _header_text(value: Any, shape: Shape) -> str:
    if shape.type_name == "list":
        member = shape.member
        if member.type_name in ("string", "character"):
            return ", ".join(_quote_header_item(str(v)) for v in value)
        return ", ".join(_header_text(v, member) for v in value)
    if shape.serialization.get("jsonvalue"):
        return b64encode(json.dumps(value, separators=(",", ":")))
    if shape.type_name == "timestamp":
        return str(format_timestamp(value, shape.serialization.get("timestampFormat", "rfc822")))
    if shape.type_name == "boolean":
        return "true" if value else "false"
    if shape.type_name == "blob":
        return b64encode(value)
    if shape.type_name in ("float", "double"):
        return float_text(float(value))
    return str(value)


# By shape identity; the shape is kept beside its bindings so that an id is never reused while cached.
_OUTPUT_BINDINGS: dict[int, tuple[Shape, dict[str, tuple[str, str, Shape, bool]]]] = {}


def _output_bindings(shape: Shape) -> dict[str, tuple[str, str, Shape, bool]]:
    """Members bound to headers or the status code: name -> (location, wire name, shape, plain text?);
    built once. A plain-text member's str value is its header text as it is (the commonest case)."""
    cached = _OUTPUT_BINDINGS.get(id(shape))
    if cached is not None and cached[0] is shape:
        return cached[1]
    found: dict[str, tuple[str, str, Shape, bool]] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location in ("header", "headers", "statusCode"):
            plain = member.type_name in ("string", "character") and not member.serialization.get("jsonvalue")
            found[name] = (location, member.serialization.get("name", name).lower(), member, plain)
    _OUTPUT_BINDINGS[id(shape)] = (shape, found)
    return found


def _bound_headers(shape: Shape, values: dict[str, Any], headers: list[tuple[str, str]]) -> int | None:
    """Members the model binds to headers (and the status code), written out; returns the status if bound."""
    status: int | None = None
    bindings = _output_bindings(shape)
    for name, value in values.items():
        bound = bindings.get(name)
        if bound is None or value is None:
            continue
        location, wire, member, plain = bound
        if location == "header":
            if plain and type(value) is str:
                headers.append((wire, header_safe(value)))
                continue
            if member.type_name == "list" and not value:
                continue
            headers.append((wire, header_safe(_header_text(value, member))))
        elif location == "headers":
            for key, item in value.items():
                headers.append((header_safe(wire + key.lower()), header_safe(str(item))))
        else:
            status = int(value)
    return status


# ---------------------------------------------------------------- responses


def serialize_response(op: OperationModel, wire_protocol: str, output: dict[str, Any], request_id: str,
                       json_version: str | None = None) -> HttpResponse:
    """The operation's output in the protocol the client spoke."""
    shape = op.output_shape
    status = int(op.http.get("responseCode", 200))
    headers: list[tuple[str, str]] = []
    body: bytes | Iterable[bytes] = b""
    if wire_protocol in ("json", "smithy-rpc-v2-cbor", "cbor"):
        style = document_style(wire_protocol)
        document = to_document(output, shape, style) if shape is not None else {}
        if wire_protocol == "smithy-rpc-v2-cbor":
            body = dump_cbor(document or {})
            headers.extend([("content-type", CBOR_CONTENT_TYPE), ("smithy-protocol", "rpc-v2-cbor")])
        elif wire_protocol == "cbor":
            body = dump_cbor(document or {})
            headers.append(("content-type", AWS_CBOR_CONTENT_TYPE))
        else:
            body = dump_json(document or {})
            headers.append(("content-type", JSON_CONTENT_TYPES.get(json_version or "1.0",
                                                                    JSON_CONTENT_TYPES["1.0"])))
        headers.append(("x-amzn-requestid", request_id))
    elif wire_protocol == "query":
        parts = [f"<{op.name}Response xmlns={quoteattr(_query_namespace(op))}>"]
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper") or f"{op.name}Result"
            attrs, members = _xml_structure_parts(output, shape, "")
            parts.append(f"<{wrapper}{attrs}>")
            parts.extend(members)
            parts.append(f"</{wrapper}>")
        parts.append(f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>")
        parts.append(f"</{op.name}Response>")
        body = "".join(parts).encode("utf-8")
        headers.extend([("content-type", "text/xml"), ("x-amzn-requestid", request_id)])
    elif wire_protocol == "ec2":
        attrs, members = _xml_structure_parts(output, shape, "") if shape is not None else ("", [])
        parts = [f"<{op.name}Response xmlns={quoteattr(_query_namespace(op))}{attrs}>",
                 f"<requestId>{escape(request_id)}</requestId>", *members, f"</{op.name}Response>"]
        body = "".join(parts).encode("utf-8")
        headers.extend([("content-type", "text/xml;charset=UTF-8"), ("x-amzn-requestid", request_id)])
    else:
        body, status = _rest_body(op, wire_protocol, output, headers, status)
        if wire_protocol == "rest-xml":
            headers.append(("x-amz-request-id", request_id))
            headers.append(("x-amz-id-2", request_id))
        else:
            headers.append(("x-amzn-requestid", request_id))
    return HttpResponse(status, headers, body)


def _rest_body(op: OperationModel, wire_protocol: str, output: dict[str, Any],
               headers: list[tuple[str, str]], status: int) -> tuple[bytes | Iterable[bytes], int]:
    shape = op.output_shape
    if shape is None:
        return b"", status
    bound_status = _bound_headers(shape, output, headers)
    if bound_status is not None:
        status = bound_status
    payload = shape.serialization.get("payload")
    xml = wire_protocol == "rest-xml"
    if payload:
        member = shape.members[payload]
        value = output.get(payload)
        if value is None:
            return b"", status
        if member.type_name in ("blob", "string"):
            if isinstance(value, str):
                return value.encode("utf-8"), status
            if isinstance(value, (bytes, bytearray)):
                return bytes(value), status
            return value, status
        if xml:
            root = member.serialization.get("name") or member.name
            return _xml_document(root, value, member, op), status
        _set_default(headers, "content-type", "application/json")
        return dump_json(to_document(value, member, JSON_STYLE)), status
    body_values = {k: v for k, v in output.items() if k in shape.members and v is not None
                   and shape.members[k].serialization.get("location") not in RESPONSE_LOCATIONS}
    if not body_values:
        return b"", status
    if xml:
        root = shape.serialization.get("name") or XML_ROOTS.get(op.name) or f"{op.name}Result"
        return _xml_document(root, body_values, shape, op), status
    _set_default(headers, "content-type", "application/json")
    return dump_json(to_document(body_values, shape, JSON_STYLE)), status


def _set_default(headers: list[tuple[str, str]], name: str, value: str) -> None:
    if not any(k == name for k, _ in headers):
        headers.append((name, value))


def _xml_document(root: str, value: Any, shape: Shape, op: OperationModel) -> bytes:
    namespace = S3_NAMESPACE if op.metadata.get("endpointPrefix") == "s3" else _xml_namespace(op.metadata)
    ns = f" xmlns={quoteattr(namespace)}" if namespace and not shape.serialization.get("xmlNamespace") else ""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    members = getattr(shape, "members", {})
    body_members = [k for k in members if members[k].serialization.get("location") not in RESPONSE_LOCATIONS]
    if root in members and body_members == [root] and members[root].type_name == "string":
        # A document that is a single text element (S3's GetBucketLocation).
        inner = value.get(root)
        out.append(f"<{root}{ns}>{escape(str(inner)) if inner else ''}</{root}>")
    else:
        xml_element(root, value, shape, out, ns)
    return "".join(out).encode("utf-8")


# ---------------------------------------------------------------- errors


def _error_shape(operation: OperationModel | None, code: str) -> Shape | None:
    """The modeled error shape for a code: by shape name, or by its query-protocol code."""
    if operation is None:
        return None
    for shape in operation.error_shapes:
        if shape.name == code or shape.metadata.get("error", {}).get("code") == code:
            return shape
    try:
        found = operation.service_model.shape_for_error_code(code)
    except Exception:  # a hand-built model without an error index
        return None
    return found if found is not None and found.metadata.get("exception") else None


def _message_member(shape: Shape | None) -> str | None:
    if shape is None:
        return None
    for name in shape.members:
        if name.lower() in ("message", "errormessage"):
            return str(name)
    return None


def _error_values(error: AwsError, shape: Shape | None) -> dict[str, Any]:
    """The error's modeled members; the message goes into the shape's own message member."""
    values = {k: v for k, v in error.fields.items() if v is not None}
    if shape is not None:  # an error must always go out, even when a field does not fit the model
        values = {k: v for k, v in values.items() if k not in shape.members or _member_fits(v, shape.members[k])}
    message_member = _message_member(shape)
    if message_member and error.message and message_member not in values:
        values[message_member] = error.message
    return values


def _member_fits(value: Any, member: Shape) -> bool:
    """Whether a provider's field value serializes as its member says (a loose type is left out)."""
    try:
        json.dumps(to_document(value, member, JSON_STYLE))
        xml_element("member", value, member, [])
        if member.serialization.get("location") == "header":
            _header_text(value, member)
    except (TypeError, ValueError, AttributeError, AwsError):
        return False
    return True


def _plain_json(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return b64encode(value)
    return value


def serialize_error(error: AwsError, wire_protocol: str, request_id: str, method: str = "POST",
                    json_version: str | None = None, query_compatible: bool = False,
                    xml_namespace: str | None = None, operation: OperationModel | None = None) -> HttpResponse:
    """The error in the protocol the client spoke; with the operation, modeled members are typed and placed."""
    status = error_status(error)
    code = error.error_code
    shape = _error_shape(operation, code)
    query_code = shape.metadata.get("error", {}).get("code") if shape is not None else None
    sender = "Sender" if is_sender_fault(error) else "Receiver"
    if operation is not None and "awsQueryCompatible" in operation.metadata:
        query_compatible = True
    values = _error_values(error, shape)
    headers: list[tuple[str, str]] = []
    if shape is not None:
        _bound_headers(shape, values, headers)
    if wire_protocol in ("json", "rest-json", "smithy-rpc-v2-cbor", "cbor"):
        type_name = shape.name if shape is not None else code
        headers.append(("x-amzn-errortype", type_name))
        headers.append(("x-amzn-requestid", request_id))
        if query_compatible:
            headers.append(("x-amzn-query-error", f"{query_code or code};{sender}"))
        return _json_error(wire_protocol, status, type_name, error.message, values, shape, headers, json_version)
    wire_code = query_code or code
    if wire_protocol == "rest-xml" and method == "HEAD":
        headers.extend([("x-amz-request-id", request_id), ("x-amz-id-2", request_id)])
        return HttpResponse(status, headers, b"")
    fields = _xml_error_fields(values, shape)
    message = f"<Message>{xml_text(error.message)}</Message>" if error.message else ""
    if wire_protocol == "ec2":
        text = (f"<Response><Errors><Error><Code>{escape(wire_code)}</Code>{message}{fields}</Error></Errors>"
                f"<RequestID>{escape(request_id)}</RequestID></Response>")
        headers.extend([("content-type", "text/xml;charset=UTF-8"), ("x-amzn-requestid", request_id)])
        return HttpResponse(status, headers, text.encode("utf-8"))
    if wire_protocol == "rest-xml" and (operation is None or operation.metadata.get("endpointPrefix") == "s3"):
        headers.extend([("x-amz-request-id", request_id), ("x-amz-id-2", request_id),
                        ("content-type", "application/xml")])
        text = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(wire_code)}</Code>'
                f"{message}{fields}<RequestId>{escape(request_id)}</RequestId>"
                f"<HostId>{escape(request_id)}</HostId></Error>")
        return HttpResponse(status, headers, text.encode("utf-8"))
    namespace = xml_namespace or (_xml_namespace(operation.metadata) if operation is not None else None)
    ns = f" xmlns={quoteattr(namespace)}" if namespace else ""
    text = (f"<ErrorResponse{ns}><Error><Type>{sender}</Type><Code>{escape(wire_code)}</Code>"
            f"{message}{fields}</Error><RequestId>{escape(request_id)}</RequestId></ErrorResponse>")
    if wire_protocol == "rest-xml":
        headers.extend([("x-amz-request-id", request_id), ("content-type", "application/xml")])
    else:
        headers.extend([("content-type", "text/xml"), ("x-amzn-requestid", request_id)])
    return HttpResponse(status, headers, text.encode("utf-8"))


def _json_error(wire_protocol: str, status: int, type_name: str, message: str, values: dict[str, Any],
                shape: Shape | None, headers: list[tuple[str, str]], json_version: str | None) -> HttpResponse:
    style = document_style(wire_protocol)
    if shape is not None:
        members = shape.members
        body_values = {k: v for k, v in values.items()
                       if k in members and members[k].serialization.get("location") not in RESPONSE_LOCATIONS}
        document: dict[str, Any] = to_document(body_values, shape, style) or {}
        if message and _message_member(shape) is None:
            document["message"] = message
    else:
        document = {k: _plain_json(v) for k, v in values.items()}
        if message:
            document["message"] = message
    document = {"__type": type_name, **document}
    if wire_protocol in ("smithy-rpc-v2-cbor", "cbor"):
        if wire_protocol == "cbor":
            headers.append(("content-type", AWS_CBOR_CONTENT_TYPE))
        else:
            headers.extend([("content-type", CBOR_CONTENT_TYPE), ("smithy-protocol", "rpc-v2-cbor")])
        return HttpResponse(status, headers, dump_cbor(document))
    content_type = "application/json" if wire_protocol == "rest-json" else \
        JSON_CONTENT_TYPES.get(json_version or "1.0", JSON_CONTENT_TYPES["1.0"])
    headers.append(("content-type", content_type))
    return HttpResponse(status, headers, dump_json(document))


def _xml_error_fields(values: dict[str, Any], shape: Shape | None) -> str:
    """Modeled error members as XML elements beside Code and Message."""
    out: list[str] = []
    message_member = _message_member(shape)
    if shape is None:
        for key, value in values.items():
            text = value.isoformat() if hasattr(value, "isoformat") else str(value)
            out.append(f"<{key}>{escape(text)}</{key}>")
        return "".join(out)
    for name, member in shape.members.items():
        value = values.get(name)
        if value is None or name == message_member:
            continue
        if member.serialization.get("location") in RESPONSE_LOCATIONS:
            continue
        xml_member(member.serialization.get("name", name), value, member, out)
    for key, value in values.items():
        if key not in shape.members:
            out.append(f"<{key}>{escape(str(value))}</{key}>")
    return "".join(out)
