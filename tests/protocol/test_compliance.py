"""AWS's own protocol test cases, run in the server's direction.

Input cases: the HTTP request a client must send is parsed by fogbank and must give back the params
the client was given. Output cases: the result a client must read is serialized by fogbank and parsed
by botocore's own response parser, which must give back that result (errors too).
"""

from __future__ import annotations

import base64
import copy
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import HeadersDict
from botocore.model import NoShapeFoundError, OperationModel, ServiceModel, Shape
from botocore.parsers import create_parser

from fogbank.errors import ServiceError
from fogbank.protocol.http import BytesBody, Headers, HttpRequest, HttpResponse
from fogbank.protocol.parser import parse_request
from fogbank.protocol.serializer import serialize_error, serialize_response
from fogbank.protocol.specs import ServiceSpec, _compile_route
from fogbank.protocol.values import parse_timestamp

SHARED = Path(__file__).resolve().parents[3] / "shared" / "protocol-tests"

# Cases about what only a client does; a server has nothing to parse or produce for them.
CLIENT_ONLY_SUITES = {
    "Test cases for PutWithContentEncoding operation":
        "the cases give no compressed body to read (gzip request bodies: test_roundtrip, test_malformed)",
}
NOTHING_SENT = "the client sends nothing for an empty value here, so no server can tell it was given"
SKIPPED_CASES = {
    ("input", "Ec2QueryEndpointTraitWithHostLabel"): "host-label prefixes are filled in by the client's endpoint",
    ("input", "AwsJson11EndpointTraitWithHostLabel"): "host-label prefixes are filled in by the client's endpoint",
    ("input", "RestJsonHttpChecksumRequired"): "request checksums are computed by the client",
    ("input", "Ec2EmptyQueryLists"): NOTHING_SENT,
    ("input", "QueryEmptyQueryMaps"): NOTHING_SENT,
    ("input", "RestJsonOmitsEmptyListQueryValues"): NOTHING_SENT,
    ("input", "RestJsonHttpPrefixHeadersAreNotPresent"): NOTHING_SENT,
    ("input", "HttpPrefixHeadersAreNotPresent"): NOTHING_SENT,
    # Deliberate: the botocore model marks this header `jsonvalue`, so fogbank reads it as boto3 writes
    # it (base64 of JSON); the Smithy case sends base64 of the raw string.
    ("input", "MediaTypeHeaderInputBase64"): "botocore models this header as a base64 JSON value",
    # Deliberate: a flattened XML list whose item has its own name is written under that name, as
    # botocore (and AWS, e.g. SimpleDB) read it; the Smithy cases use the member name. fogbank reads both.
    ("output", "QueryXmlLists"): "flattened lists are named after their item, as botocore reads them",
    ("output", "Ec2XmlLists"): "flattened lists are named after their item, as botocore reads them",
    ("output", "XmlLists"): "flattened lists are named after their item, as botocore reads them",
}
# Responses botocore cannot read back correctly (its own ignore list has them); checked on the wire instead.
WIRE_CHECKED = {
    "RestJsonHttpPayloadTraitsWithNoBlobBody", "HttpPayloadTraitsWithNoBlobBody",
    "RestJsonHttpPayloadWithUnsetUnion", "RestXmlHttpPayloadWithUnsetUnion",
    "RestJsonInputAndOutputWithQuotedStringHeaders",
    "RestJsonInputAndOutputWithTimestampHeaders", "InputAndOutputWithTimestampHeaders",
}
# Headers every fogbank response carries; a catch-all prefix-header map reads them too.
OWN_HEADERS = {"x-amzn-requestid", "x-amz-request-id", "x-amz-id-2", "content-type", "content-length"}


def _load(kind: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    folder = SHARED / kind
    files = sorted(folder.glob("*.json"))
    if not files:
        raise RuntimeError(f"AWS protocol test cases are missing: no {folder}/*.json")
    out = []
    for path in files:
        for suite in json.loads(path.read_text("utf-8")):
            for case in suite["cases"]:
                out.append((path.stem, suite, case))
    return out


def _ids(items: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> list[str]:
    return [f"{stem}:{case.get('id') or case['given']['name']}" for stem, _, case in items]


INPUT_CASES = _load("input")
OUTPUT_CASES = _load("output")
IGNORE_LIST = json.loads((SHARED / "protocol-tests-ignore-list.json").read_text("utf-8"))


def _model(suite: dict[str, Any], case: dict[str, Any]) -> tuple[ServiceModel, OperationModel]:
    given = copy.deepcopy(case["given"])
    shapes = copy.deepcopy(suite["shapes"])
    output = given.get("output")
    if suite["metadata"]["protocol"] == "query" and output and shapes[output["shape"]].get("members"):
        # Every real query model names the result wrapper; the cases leave it implicit.
        output.setdefault("resultWrapper", f"{given['name']}Result")
    description = {"metadata": copy.deepcopy(suite["metadata"]), "shapes": shapes,
                   "operations": {given["name"]: given}}
    model = ServiceModel(description, service_name="compliance")
    return model, model.operation_model(case["given"]["name"])


def _skip_reason(kind: str, suite: dict[str, Any], case: dict[str, Any]) -> str | None:
    return CLIENT_ONLY_SUITES.get(suite.get("description", "")) or SKIPPED_CASES.get((kind, case.get("id", "")))


# ---------------------------------------------------------------- normalizing for comparison


def _epoch(value: Any) -> float:
    when = value if isinstance(value, datetime) else parse_timestamp(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return round(when.timestamp(), 3)


def normalize(value: Any, shape: Shape | None) -> Any:
    """One comparable form for what a client passes and what a parser produces."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return value
        if not isinstance(value, dict):
            return value
        return {k: normalize(v, shape.members[k]) for k, v in value.items()
                if k in shape.members and v is not None}
    if kind == "list":
        return [normalize(v, shape.member) for v in value]
    if kind == "map":
        return {k: normalize(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        return _epoch(value)
    if kind == "blob":
        if hasattr(value, "read"):
            value = value.read()
        return value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if kind == "string" and hasattr(value, "read"):
        return value.read().decode("utf-8")
    if kind in ("float", "double"):
        number = float(value)
        return "NaN" if math.isnan(number) else number
    return value


def _drop_autofilled_tokens(expected: Any, actual: Any, shape: Shape | None) -> Any:
    """A token the client generated is not in `params`; the server reads what was sent."""
    if shape is None or not isinstance(actual, dict) or not isinstance(expected, dict):
        return actual
    out = dict(actual)
    for name, member in shape.members.items():
        if member.metadata.get("idempotencyToken") and name not in expected and name in out:
            del out[name]
    return out


def _unshadow(params: Any, shape: Shape | None) -> Any:
    """A query-params map entry whose key a named query member binds is asserted through that member.

    Clients drop such entries in favour of the member; Smithy servers put every parameter in the map.
    """
    if shape is None or not isinstance(params, dict):
        return params
    bound = {m.serialization.get("name", n) for n, m in shape.members.items()
             if m.serialization.get("location") == "querystring" and m.type_name != "map"}
    out = dict(params)
    for name, member in shape.members.items():
        if member.serialization.get("location") == "querystring" and member.type_name == "map" and name in out:
            free = {k: v for k, v in out[name].items() if k not in bound}
            if free:
                out[name] = free
            else:
                del out[name]
    return out


def _drop_own_headers(parsed: dict[str, Any], shape: Shape | None) -> dict[str, Any]:
    if shape is None:
        return parsed
    for name, member in shape.members.items():
        if member.serialization.get("location") == "headers" and not member.serialization.get("name"):
            found = parsed.get(name)
            if isinstance(found, dict):
                parsed[name] = {k: v for k, v in found.items() if k.lower() not in OWN_HEADERS}
    return parsed


# ---------------------------------------------------------------- input: request -> params


def _request(serialized: dict[str, Any], protocol: str) -> HttpRequest:
    uri = serialized.get("uri", "/")
    mount = urlsplit("//" + serialized.get("host", "")).path.rstrip("/")
    if mount and uri.startswith(mount + "/"):
        uri = uri[len(mount):]  # the endpoint's own path prefix; the server is mounted under it
    parts = urlsplit(uri)
    body_text = serialized.get("body", "")
    body = base64.b64decode(body_text) if protocol == "smithy-rpc-v2-cbor" else body_text.encode("utf-8")
    headers = Headers(serialized.get("headers", {}).items())
    return HttpRequest(serialized.get("method", "POST"), parts.path or "/", parts.query, headers,
                       BytesBody(body), len(body))


def _labels(model: ServiceModel, op: OperationModel, request: HttpRequest) -> dict[str, str]:
    spec = ServiceSpec("compliance", model, model.metadata["protocol"])
    route = _compile_route(op)
    spec.add_route(route)
    present = {k for k, _ in request.headers}
    match = spec.match_rest(request.method, request.path, request.query_dict, present)
    assert match is not None, f"no route matches {request.method} {request.path} for {op.http}"
    return match[1]


@pytest.mark.parametrize(("stem", "suite", "case"), INPUT_CASES, ids=_ids(INPUT_CASES))
def test_input_case(stem: str, suite: dict[str, Any], case: dict[str, Any]) -> None:
    reason = _skip_reason("input", suite, case)
    if reason:
        pytest.skip(reason)
    model, op = _model(suite, case)
    protocol = model.metadata["protocol"]
    request = _request(case["serialized"], protocol)
    labels = _labels(model, op, request) if protocol.startswith("rest-") else {}
    parsed = parse_request(op, protocol, request, labels)
    shape = op.input_shape
    expected = _unshadow(normalize(case["params"], shape), shape)
    actual = _unshadow(normalize(_drop_autofilled_tokens(case["params"], parsed, shape), shape), shape)
    assert actual == expected


# ---------------------------------------------------------------- output: result -> response -> botocore


def _body_bytes(response: HttpResponse) -> bytes:
    body = response.body
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    return b"".join(body)


def _botocore_view(response: HttpResponse) -> dict[str, Any]:
    return {"status_code": response.status, "headers": HeadersDict(response.headers),
            "body": _body_bytes(response), "context": {"operation_name": "compliance"}}


def _check_wire(response: HttpResponse, expected: dict[str, Any]) -> None:
    """The response against the case's own bytes: status, every expected header, and the body."""
    assert response.status == expected.get("status_code", 200)
    headers = Headers(response.headers)
    for name, value in expected.get("headers", {}).items():
        if name.lower() in ("content-length", "content-type"):
            continue
        assert headers.get(name) == value, name
    body = _body_bytes(response)
    text = expected.get("body", "")
    if text.strip().startswith("{"):
        assert json.loads(body) == json.loads(text)
    else:
        assert body == text.encode("utf-8")


def _error_shape(model: ServiceModel, code: str) -> Shape | None:
    try:
        return model.shape_for_error_code(code) or model.shape_for(code)
    except NoShapeFoundError:
        return None


def _check_error(model: ServiceModel, op: OperationModel, case: dict[str, Any], protocol: str) -> None:
    code = case.get("errorCode", "")
    message = case.get("errorMessage", "")
    status = case["response"]["status_code"]
    fields = {k: v for k, v in case["error"].items() if k.lower() != "message"}
    shape = _error_shape(model, code)
    # A provider raises the error named after its shape; the serializer picks the wire code.
    error = ServiceError(shape.name if shape is not None else code, message, status, **fields)
    metadata = model.metadata
    response = serialize_error(error, protocol, "req-1", op.http.get("method", "POST"),
                               metadata.get("jsonVersion"), "awsQueryCompatible" in metadata,
                               metadata.get("xmlNamespace"), operation=op)
    assert response.status == status
    parser = create_parser(protocol)
    view = _botocore_view(response)
    parsed = parser.parse(view, op.output_shape)
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"].get("Message", "") == message
    if shape is not None:
        modeled = parser.parse(_botocore_view(response), shape)
        modeled.pop("ResponseMetadata", None)
        assert normalize(modeled, shape) == normalize(case["error"], shape)


@pytest.mark.parametrize(("stem", "suite", "case"), OUTPUT_CASES, ids=_ids(OUTPUT_CASES))
def test_output_case(stem: str, suite: dict[str, Any], case: dict[str, Any]) -> None:
    reason = _skip_reason("output", suite, case)
    if reason:
        pytest.skip(reason)
    model, op = _model(suite, case)
    protocol = model.metadata["protocol"]
    if case.get("id") in WIRE_CHECKED:
        response = serialize_response(op, protocol, copy.deepcopy(case["result"]), "req-1",
                                      model.metadata.get("jsonVersion"))
        _check_wire(response, case["response"])
    elif "error" in case:
        _check_error(model, op, case, protocol)
    else:
        response = serialize_response(op, protocol, copy.deepcopy(case["result"]), "req-1",
                                      model.metadata.get("jsonVersion"))
        parsed = create_parser(protocol).parse(_botocore_view(response), op.output_shape)
        parsed.pop("ResponseMetadata", None)
        shape = op.output_shape
        assert normalize(_drop_own_headers(parsed, shape), shape) == normalize(case["result"], shape)


def _ignored(kind: str) -> set[str]:
    return {case for protocol in IGNORE_LIST["protocols"].values()
            for case in protocol.get(kind, {}).get("cases", [])}


def test_botocore_ignore_list_backs_every_case_checked_another_way() -> None:
    """Cases fogbank checks on the wire or skips as deliberate are ones botocore cannot read either."""
    ignored_output = _ignored("output")
    assert ignored_output >= WIRE_CHECKED
    assert ignored_output >= {case for kind, case in SKIPPED_CASES if kind == "output"}
    known = {case.get("id") for _, _, case in INPUT_CASES + OUTPUT_CASES}
    assert known >= _ignored("input") | ignored_output
