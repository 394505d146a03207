"""Operation output dicts and AwsErrors -> HTTP responses in the protocol the client spoke.

botocore's parsers are the reference for every choice here: what they read back must equal what the
provider returned.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import cbor2
from botocore.model import OperationModel, Shape

from fogbank.errors import AwsError, error_status, is_sender_fault
from fogbank.protocol.http import HttpResponse
from fogbank.protocol.values import b64encode, format_float, format_timestamp

JSON_CONTENT_TYPES = {"1.0": "application/x-amz-json-1.0", "1.1": "application/x-amz-json-1.1"}

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
}
S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"


# ---------------------------------------------------------------- documents (JSON, CBOR)


def to_document(value: Any, shape: Shape | None, binary: bool, timestamp_format: str = "unixTimestamp") -> Any:
    """Python values -> a JSON-able (or CBOR-able, when binary) document following the shape."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        if shape.serialization.get("document") or getattr(shape, "is_document_type", False):
            return value
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            item = value.get(name)
            if item is None:
                continue
            wire = member.serialization.get("name", name) if not binary else name
            out[wire] = to_document(item, member, binary, timestamp_format)
        return out
    if kind == "list":
        return [to_document(v, shape.member, binary, timestamp_format) for v in value]
    if kind == "map":
        return {k: to_document(v, shape.value, binary, timestamp_format) for k, v in value.items()}
    if kind == "timestamp":
        if binary:
            return value
        return format_timestamp(value, shape.serialization.get("timestampFormat", timestamp_format))
    if kind == "blob":
        if binary:
            return bytes(value) if not isinstance(value, str) else value.encode()
        return b64encode(value)
    if kind in ("float", "double") and not binary:
        return format_float(float(value))
    return value


def dump_json(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def dump_cbor(document: Any) -> bytes:
    return bytes(cbor2.dumps(document, datetime_as_timestamp=True, timezone=None))


# ---------------------------------------------------------------- XML


def _xml_scalar(value: Any, shape: Shape, timestamp_format: str) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return str(format_timestamp(value, shape.serialization.get("timestampFormat", timestamp_format)))
    if kind == "blob":
        return b64encode(value)
    if kind in ("float", "double"):
        return str(format_float(float(value)))
    return str(value)


def _ns_attrs(shape: Shape) -> str:
    ns = shape.serialization.get("xmlNamespace")
    if not ns:
        return ""
    if isinstance(ns, str):
        return f" xmlns={quoteattr(ns)}"
    prefix = ns.get("prefix")
    return f" xmlns:{prefix}={quoteattr(ns['uri'])}" if prefix else f" xmlns={quoteattr(ns['uri'])}"


def xml_element(name: str, value: Any, shape: Shape, out: list[str], ts: str = "iso8601",
                extra_attrs: str = "") -> None:
    kind = shape.type_name
    if kind == "structure":
        attrs = extra_attrs + _ns_attrs(shape)
        body: list[str] = []
        for member_name, member in shape.members.items():
            item = value.get(member_name)
            if item is None or member.serialization.get("location"):
                continue
            wire = member.serialization.get("name", member_name)
            if member.serialization.get("xmlAttribute"):
                ns = member.serialization.get("xmlNamespace")
                if ns and isinstance(ns, dict) and ns.get("prefix") and f"xmlns:{ns['prefix']}" not in attrs:
                    attrs += f" xmlns:{ns['prefix']}={quoteattr(ns['uri'])}"
                attrs += f" {wire}={quoteattr(_xml_scalar(item, member, ts))}"
                continue
            xml_member(wire, item, member, body, ts)
        out.append(f"<{name}{attrs}>")
        out.extend(body)
        out.append(f"</{name}>")
    elif kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        out.append(f"<{name}{extra_attrs}>")
        for item in value:
            xml_element(item_name, item, shape.member, out, ts)
        out.append(f"</{name}>")
    elif kind == "map":
        out.append(f"<{name}{extra_attrs}>")
        _xml_map_entries("entry", value, shape, out, ts)
        out.append(f"</{name}>")
    else:
        out.append(f"<{name}{extra_attrs}>{escape(_xml_scalar(value, shape, ts))}</{name}>")


def _xml_map_entries(entry_name: str, value: dict[str, Any], shape: Shape, out: list[str], ts: str) -> None:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    for key, item in value.items():
        out.append(f"<{entry_name}>")
        xml_element(key_name, key, shape.key, out, ts)
        xml_element(value_name, item, shape.value, out, ts)
        out.append(f"</{entry_name}>")


def xml_member(wire: str, value: Any, shape: Shape, out: list[str], ts: str) -> None:
    """A structure member: flattened lists and maps repeat their elements in place."""
    if shape.type_name == "list" and shape.serialization.get("flattened"):
        item_name = shape.member.serialization.get("name") or wire
        for item in value:
            xml_element(item_name, item, shape.member, out, ts)
    elif shape.type_name == "map" and shape.serialization.get("flattened"):
        _xml_map_entries(wire, value, shape, out, ts)
    else:
        xml_element(wire, value, shape, out, ts)


# ---------------------------------------------------------------- responses


def _header_text(value: Any, shape: Shape) -> str:
    if shape.type_name == "list":
        parts = []
        for v in value:
            text = _header_text(v, shape.member)
            parts.append(f'"{text}"' if shape.member.type_name == "string" and ("," in text or '"' in text)
                         else text)
        return ",".join(parts)
    if shape.serialization.get("jsonvalue"):
        return b64encode(json.dumps(value, separators=(",", ":")))
    if shape.type_name == "timestamp":
        return str(format_timestamp(value, shape.serialization.get("timestampFormat", "rfc822")))
    if shape.type_name == "boolean":
        return "true" if value else "false"
    if shape.type_name == "blob":
        return b64encode(value)
    if shape.type_name in ("float", "double"):
        return str(format_float(float(value)))
    return str(value)


def _encode_text(value: str) -> bytes:
    return value.encode("utf-8")


def serialize_response(op: OperationModel, wire_protocol: str, output: dict[str, Any], request_id: str,
                       json_version: str | None = None) -> HttpResponse:
    shape = op.output_shape
    status = int(op.http.get("responseCode", 200))
    headers: list[tuple[str, str]] = []
    body: bytes | Iterable[bytes] = b""
    if wire_protocol in ("json", "smithy-rpc-v2-cbor", "cbor"):
        binary = wire_protocol != "json"
        document = to_document(output, shape, binary) if shape is not None else {}
        if binary:
            body = dump_cbor(document or {})
            headers.append(("content-type", "application/cbor"))
            if wire_protocol == "smithy-rpc-v2-cbor":
                headers.append(("smithy-protocol", "rpc-v2-cbor"))
        else:
            body = dump_json(document or {})
            headers.append(("content-type", JSON_CONTENT_TYPES.get(json_version or "1.0",
                                                                    "application/x-amz-json-1.0")))
        headers.append(("x-amzn-requestid", request_id))
    elif wire_protocol in ("query", "ec2"):
        ns = op.metadata.get("xmlNamespace") or f"https://{op.metadata.get('endpointPrefix', '')}.amazonaws.com/doc/{op.metadata.get('apiVersion', '')}/"
        parts = [f'<{op.name}Response xmlns="{escape(ns)}">']
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper") or f"{op.name}Result"
            xml_element(wrapper, output, shape, parts)
        parts.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>")
        parts.append(f"</{op.name}Response>")
        body = _encode_text("".join(parts))
        headers.append(("content-type", "text/xml"))
        headers.append(("x-amzn-requestid", request_id))
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
    body_members = False
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        value = output.get(name)
        if location == "header":
            if value is not None and not (member.type_name == "list" and not value):
                headers.append((member.serialization.get("name", name).lower(), _header_text(value, member)))
        elif location == "headers":
            prefix = member.serialization.get("name", name).lower()
            for key, item in (value or {}).items():
                headers.append((prefix + key.lower(), str(item)))
        elif location == "statusCode":
            if value is not None:
                status = int(value)
        elif name != shape.serialization.get("payload"):
            body_members = True
    payload = shape.serialization.get("payload")
    xml = wire_protocol == "rest-xml"
    if payload:
        member = shape.members[payload]
        value = output.get(payload)
        if member.type_name in ("blob", "string"):
            if value is None:
                return b"", status
            if isinstance(value, str):
                return _encode_text(value), status
            return value, status
        if value is None:
            return b"", status
        if xml:
            root = member.serialization.get("name") or member.name
            return _xml_document(root, value, member, op), status
        headers.append(("content-type", "application/json"))
        return dump_json(to_document(value, member, False)), status
    if not body_members:
        return b"", status
    if xml:
        root = shape.serialization.get("name") or XML_ROOTS.get(op.name) or f"{op.name}Result"
        return _xml_document(root, output, shape, op), status
    headers.append(("content-type", "application/json"))
    document = {k: v for k, v in output.items() if k in shape.members
                and not shape.members[k].serialization.get("location")}
    return dump_json(to_document(document, shape, False)), status


def _xml_document(root: str, value: Any, shape: Shape, op: OperationModel) -> bytes:
    ns = f' xmlns="{S3_NAMESPACE}"' if op.metadata.get("endpointPrefix") == "s3" \
        and not shape.serialization.get("xmlNamespace") else ""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    members = getattr(shape, "members", {})
    if root in members and len([k for k in members if not members[k].serialization.get("location")]) == 1:
        # A document that is a single text element (S3's GetBucketLocation).
        inner = value.get(root)
        out.append(f"<{root}{ns}>{escape(str(inner)) if inner else ''}</{root}>")
    else:
        xml_element(root, value, shape, out, "iso8601", ns)
    return _encode_text("".join(out))


# ---------------------------------------------------------------- errors


def serialize_error(error: AwsError, wire_protocol: str, request_id: str, method: str = "POST",
                    json_version: str | None = None, query_compatible: bool = False,
                    xml_namespace: str | None = None, operation: OperationModel | None = None) -> HttpResponse:
    status = error_status(error)
    code = error.error_code
    message = error.message
    headers: list[tuple[str, str]] = []
    fields = {k: v for k, v in error.fields.items() if v is not None}
    if wire_protocol in ("json", "rest-json", "smithy-rpc-v2-cbor", "cbor"):
        document: dict[str, Any] = {"__type": code, "message": message}
        for key, value in fields.items():
            document[key] = value.isoformat() if hasattr(value, "isoformat") else value
        headers.append(("x-amzn-errortype", code))
        headers.append(("x-amzn-requestid", request_id))
        if query_compatible:
            headers.append(("x-amzn-query-error", f"{code};{'Sender' if is_sender_fault(error) else 'Receiver'}"))
        if wire_protocol in ("smithy-rpc-v2-cbor", "cbor"):
            headers.append(("content-type", "application/cbor"))
            headers.append(("smithy-protocol", "rpc-v2-cbor"))
            return HttpResponse(status, headers, dump_cbor(document))
        content_type = "application/json" if wire_protocol == "rest-json" else \
            JSON_CONTENT_TYPES.get(json_version or "1.0", "application/x-amz-json-1.0")
        headers.append(("content-type", content_type))
        return HttpResponse(status, headers, dump_json(document))
    extra = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in fields.items())
    if wire_protocol == "rest-xml":
        headers.extend([("x-amz-request-id", request_id), ("x-amz-id-2", request_id)])
        if method == "HEAD":
            return HttpResponse(status, headers, b"")
        headers.append(("content-type", "application/xml"))
        text = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(code)}</Code>'
                f"<Message>{escape(message)}</Message>{extra}<RequestId>{request_id}</RequestId>"
                f"<HostId>{request_id}</HostId></Error>")
        return HttpResponse(status, headers, _encode_text(text))
    kind = "Sender" if is_sender_fault(error) else "Receiver"
    ns = f' xmlns="{escape(xml_namespace)}"' if xml_namespace else ""
    text = (f"<ErrorResponse{ns}><Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message>{extra}</Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    headers.extend([("content-type", "text/xml"), ("x-amzn-requestid", request_id)])
    return HttpResponse(status, headers, _encode_text(text))
