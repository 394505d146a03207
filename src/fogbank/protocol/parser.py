"""Incoming HTTP requests -> operation input dicts, for every AWS protocol, driven by the botocore model.

The result has the same member names and Python types a boto3 user passes: the provider sees exactly
what the client meant, whichever protocol carried it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.etree.ElementTree import Element

import cbor2
from botocore.model import OperationModel, Shape, StructureShape
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from fogbank.errors import AwsError
from fogbank.protocol.http import HttpRequest
from fogbank.protocol.values import (
    SerializationError,
    b64decode,
    parse_bool,
    parse_float,
    parse_int,
    parse_timestamp,
)


class MalformedXML(AwsError):
    code = "MalformedXML"
    message_default = "The XML you provided was not well-formed or did not validate against our published schema"


class MalformedQueryString(AwsError):
    code = "MalformedQueryString"


def convert_scalar(value: Any, shape: Shape) -> Any:
    """A text or JSON scalar -> the Python value of the shape's type."""
    kind = shape.type_name
    if kind in ("string", "character"):
        if not isinstance(value, str):
            raise SerializationError(f"Expected a string for {shape.name}, got {type(value).__name__}")
        return value
    if kind in ("integer", "long", "short", "byte", "bigInteger"):
        return parse_int(value)
    if kind in ("float", "double", "bigDecimal"):
        return parse_float(value)
    if kind == "boolean":
        return parse_bool(value)
    if kind == "timestamp":
        return parse_timestamp(value)
    if kind == "blob":
        return b64decode(value)
    return value


# ---------------------------------------------------------------- JSON and CBOR documents


def from_document(value: Any, shape: Shape) -> Any:
    """A decoded JSON/CBOR value -> Python values of the shape (base64 blobs, epoch timestamps)."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise SerializationError(f"Expected an object for {shape.name}")
        members = shape.members
        out: dict[str, Any] = {}
        for key, item in value.items():
            member = members.get(key)
            if member is None or item is None:
                continue
            out[key] = from_document(item, member)
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise SerializationError(f"Expected a list for {shape.name}")
        return [from_document(item, shape.member) for item in value]
    if kind == "map":
        if not isinstance(value, dict):
            raise SerializationError(f"Expected a map for {shape.name}")
        return {str(k): from_document(v, shape.value) for k, v in value.items() if v is not None}
    if kind == "blob" and isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if kind == "timestamp" and not isinstance(value, str):
        return parse_timestamp(value)
    if shape.type_name == "structure" or shape.serialization.get("document") or getattr(shape, "is_document_type", False):
        return value
    return convert_scalar(value, shape)


def parse_json_body(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SerializationError(f"Request body is not valid JSON: {exc}") from None


def parse_cbor_body(body: bytes) -> Any:
    if not body:
        return {}
    try:
        return cbor2.loads(body)
    except Exception as exc:  # cbor2 raises several error types for malformed input
        raise SerializationError(f"Request body is not valid CBOR: {exc}") from None


def parse_document_request(op: OperationModel, body: Any) -> dict[str, Any]:
    shape = op.input_shape
    if shape is None:
        return {}
    if not isinstance(body, dict):
        raise SerializationError("Request body must be an object")
    result = from_document(body, shape)
    return result if isinstance(result, dict) else {}


# ---------------------------------------------------------------- query (form-encoded) protocol


def _query_name(shape: Shape, default: str) -> str:
    return str(shape.serialization.get("name", default))


def _query_value(params: dict[str, str], prefix: str, shape: Shape, keys: list[str]) -> Any:
    kind = shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            wire = _query_name(member, name)
            sub = f"{prefix}.{wire}" if prefix else wire
            value = _query_value(params, sub, member, keys)
            if value is not None:
                out[name] = value
        return out if out or not prefix else (out if any(k.startswith(prefix + ".") for k in keys) else None)
    if kind == "list":
        if shape.serialization.get("flattened"):
            base = prefix
            if shape.member.serialization.get("name"):
                base = ".".join([*prefix.split(".")[:-1], shape.member.serialization["name"]])
        else:
            base = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        if prefix in params and params[prefix] == "":
            return []
        items = _indexed(params, base, keys)
        if not items:
            return None
        return [_query_value(params, f"{base}.{i}", shape.member, keys) for i in items]
    if kind == "map":
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_name = _query_name(shape.key, "key")
        value_name = _query_name(shape.value, "value")
        items = _indexed(params, base, keys)
        if not items:
            return None
        out_map: dict[str, Any] = {}
        for i in items:
            key = params.get(f"{base}.{i}.{key_name}")
            if key is None:
                continue
            out_map[key] = _query_value(params, f"{base}.{i}.{value_name}", shape.value, keys)
        return out_map
    if prefix not in params:
        return None
    return convert_scalar(params[prefix], shape)


_INDEX = re.compile(r"(\d+)")


def _indexed(params: dict[str, str], base: str, keys: list[str]) -> list[int]:
    """The list indices present under a prefix, in numeric order."""
    start = base + "."
    found: set[int] = set()
    for key in keys:
        if key.startswith(start):
            m = _INDEX.match(key, len(start))
            if m and (len(key) == m.end() or key[m.end()] == "."):
                found.add(int(m.group(1)))
    return sorted(found)


def query_params(request: HttpRequest) -> dict[str, str]:
    """Action parameters from the form body (POST) or the query string (GET)."""
    content_type = (request.headers.get("content-type") or "").lower()
    params = dict(request.query)
    if content_type.startswith("application/x-www-form-urlencoded") or (
        request.method == "POST" and not content_type
    ):
        try:
            text = request.read_body().decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedQueryString("The request body is not valid UTF-8") from None
        params.update(parse_qsl(text, keep_blank_values=True))
    return params


def parse_query_request(op: OperationModel, request: HttpRequest) -> dict[str, Any]:
    shape = op.input_shape
    if shape is None:
        return {}
    params = query_params(request)
    keys = list(params)
    value = _query_value(params, "", shape, keys)
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------- XML documents


def parse_xml(body: bytes) -> Element:
    try:
        root: Element = SafeET.fromstring(body, forbid_dtd=True)
    except (DefusedXmlException, SafeET.ParseError, ValueError) as exc:
        raise MalformedXML("The XML you provided was not well-formed or did not validate against our "
                           f"published schema ({exc.__class__.__name__})") from None
    return root


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: Element) -> dict[str, list[Element]]:
    grouped: dict[str, list[Element]] = {}
    for child in element:
        grouped.setdefault(_local(child.tag), []).append(child)
    return grouped


def _xml_member_name(member: Shape, name: str) -> str:
    if member.type_name == "list" and member.serialization.get("flattened"):
        return str(member.member.serialization.get("name") or member.serialization.get("name", name))
    return str(member.serialization.get("name", name))


def from_xml(element: Element, shape: Shape) -> Any:
    kind = shape.type_name
    if kind == "structure":
        grouped = _children(element)
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            if member.serialization.get("location"):
                continue
            wire = _xml_member_name(member, name)
            if member.serialization.get("xmlAttribute"):
                for attr, value in element.attrib.items():
                    if _local(attr) == wire.split(":")[-1]:
                        out[name] = convert_scalar(value, member)
                continue
            found = grouped.get(wire)
            if not found:
                continue
            if member.type_name in ("list", "map") and member.serialization.get("flattened"):
                if member.type_name == "list":
                    out[name] = [from_xml(e, member.member) for e in found]
                else:
                    out[name] = _xml_map_entries(found, member)
            else:
                out[name] = from_xml(found[0], member)
        return out
    if kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        return [from_xml(e, shape.member) for e in element if _local(e.tag) == item_name]
    if kind == "map":
        return _xml_map_entries([e for e in element if _local(e.tag) == "entry"], shape)
    text = element.text or ""
    if kind in ("string", "character"):
        return text
    return convert_scalar(text.strip(), shape)


def _xml_map_entries(entries: list[Element], shape: Shape) -> dict[str, Any]:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    out: dict[str, Any] = {}
    for entry in entries:
        grouped = _children(entry)
        key_el = grouped.get(key_name)
        value_el = grouped.get(value_name)
        if key_el and value_el:
            out[key_el[0].text or ""] = from_xml(value_el[0], shape.value)
    return out


# ---------------------------------------------------------------- REST bindings (rest-json, rest-xml)


def _split_header_list(value: str) -> list[str]:
    items: list[str] = []
    current = ""
    quoted = False
    escaped = False
    for ch in value:
        if escaped:
            current += ch
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            items.append(current.strip())
            current = ""
        else:
            current += ch
    items.append(current.strip())
    return [i for i in items if i != ""]


def _header_value(value: str, shape: Shape) -> Any:
    if shape.type_name == "list":
        return [_header_value(v, shape.member) for v in _split_header_list(value)]
    if shape.serialization.get("jsonvalue"):
        try:
            return json.loads(b64decode(value))
        except ValueError:
            raise SerializationError(f"Header for {shape.name} is not base64 JSON") from None
    if shape.type_name == "blob":
        return b64decode(value)
    return convert_scalar(value, shape)


def parse_rest_request(op: OperationModel, request: HttpRequest, labels: dict[str, str],
                       body_parser: Callable[[bytes, Shape], Any]) -> dict[str, Any]:
    """URI labels, query string, headers and the payload, each member from where the model puts it."""
    shape = op.input_shape
    if shape is None:
        return {}
    assert isinstance(shape, StructureShape)
    out: dict[str, Any] = {}
    query_multi: dict[str, list[str]] = {}
    for key, value in request.query:
        query_multi.setdefault(key, []).append(value)
    bound_query: set[str] = set()
    body_members: dict[str, Shape] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            if wire in labels:
                out[name] = convert_scalar(unquote(labels[wire]), member) if member.type_name != "string" \
                    else unquote(labels[wire])
        elif location == "querystring":
            if member.type_name == "map":
                continue
            bound_query.add(wire)
            if wire in query_multi:
                if member.type_name == "list":
                    out[name] = [convert_scalar(v, member.member) for v in query_multi[wire]]
                else:
                    out[name] = convert_scalar(query_multi[wire][0], member)
        elif location == "header":
            raw = request.headers.get(wire)
            if raw is not None:
                if member.type_name == "list" and raw == "":
                    continue
                out[name] = _header_value(raw, member)
        elif location == "headers":
            prefix = wire.lower()
            found = {k[len(prefix):]: v for k, v in request.headers if k.startswith(prefix)}
            if found:
                out[name] = found
        elif location == "statusCode":
            continue
        else:
            body_members[name] = member
    for name, member in shape.members.items():
        if member.serialization.get("location") == "querystring" and member.type_name == "map":
            rest = {k: (v if member.value.type_name == "list" else v[0])
                    for k, v in query_multi.items() if k not in bound_query}
            if rest:
                out[name] = rest
    payload = shape.serialization.get("payload")
    if payload:
        member = shape.members[payload]
        if member.type_name in ("blob", "string"):
            if member.serialization.get("streaming") or member.type_name == "blob" and op.has_streaming_input:
                out[payload] = request.body
            else:
                raw_body = request.read_body()
                if raw_body or request.content_length:
                    out[payload] = raw_body if member.type_name == "blob" else raw_body.decode("utf-8")
        else:
            raw_body = request.read_body()
            if raw_body.strip():
                out[payload] = body_parser(raw_body, member)
    elif body_members:
        raw_body = request.read_body()
        if raw_body.strip():
            parsed = body_parser(raw_body, shape)
            if isinstance(parsed, dict):
                out.update({k: v for k, v in parsed.items() if k in body_members})
    return out


def rest_json_body(body: bytes, shape: Shape) -> Any:
    return from_document(parse_json_body(body), shape)


def rest_xml_body(body: bytes, shape: Shape) -> Any:
    return from_xml(parse_xml(body), shape)


# ---------------------------------------------------------------- entry point


def parse_request(op: OperationModel, wire_protocol: str, request: HttpRequest,
                  labels: dict[str, str] | None = None) -> dict[str, Any]:
    if wire_protocol == "json":
        return parse_document_request(op, parse_json_body(request.read_body()))
    if wire_protocol in ("smithy-rpc-v2-cbor", "cbor"):
        return parse_document_request(op, parse_cbor_body(request.read_body()))
    if wire_protocol in ("query", "ec2"):
        return parse_query_request(op, request)
    if wire_protocol == "rest-json":
        return parse_rest_request(op, request, labels or {}, rest_json_body)
    if wire_protocol == "rest-xml":
        return parse_rest_request(op, request, labels or {}, rest_xml_body)
    raise SerializationError(f"Unsupported protocol {wire_protocol}")
