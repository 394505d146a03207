"""Which service and operation a request is for: SigV4 scope, X-Amz-Target, Smithy path, Action, Host."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

from botocore.model import OperationModel

from fogbank.errors import AwsError, NotImplementedOperation
from fogbank.protocol.http import HttpRequest
from fogbank.protocol.specs import ServiceSpec

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request")
_SMITHY_PATH = re.compile(r"^/service/([^/]+)/operation/([^/?]+)$")
# Hosts under which the first label is an S3 bucket (virtual-hosted style).
_S3_VHOST = re.compile(r"^(?P<bucket>.+?)\.(?:s3[.-](?:[a-z0-9-]+\.)?)?(?:localhost|s3\.amazonaws\.com|"
                       r"amazonaws\.com)$")


class UnknownOperation(AwsError):
    code = "UnknownOperationException"


class UnknownService(NotImplementedOperation):
    code = "NotImplemented"


@dataclass
class Scope:
    """What the signature (or its absence) says about the caller: key, region, signing service."""

    access_key: str = ""
    region: str | None = None
    service: str | None = None


@dataclass
class Route:
    spec: ServiceSpec
    operation: OperationModel
    wire_protocol: str
    labels: dict[str, str] = field(default_factory=dict)
    scope: Scope = field(default_factory=Scope)

    @property
    def json_version(self) -> str | None:
        return self.spec.model.metadata.get("jsonVersion")


def read_scope(request: HttpRequest) -> Scope:
    auth = request.headers.get("authorization") or ""
    if auth.startswith("AWS4-"):
        m = _CREDENTIAL.search(auth)
        if m:
            return Scope(m.group(1), m.group(3), m.group(4))
    elif auth.startswith("AWS "):
        return Scope(auth[4:].split(":", 1)[0], None, "s3")
    query = request.query_dict
    if "X-Amz-Credential" in query:
        parts = query["X-Amz-Credential"].split("/")
        if len(parts) == 5:
            return Scope(parts[0], parts[2], parts[3])
    if "AWSAccessKeyId" in query:
        return Scope(query["AWSAccessKeyId"], None, "s3")
    return Scope()


def s3_virtual_host_bucket(host: str) -> str | None:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    m = _S3_VHOST.match(name.lower())
    if m is None:
        return None
    bucket = m.group("bucket")
    return None if bucket in ("s3", "www") else bucket


class Router:
    """Maps requests to (service spec, operation); knows only the services fogbank serves."""

    def __init__(self, specs: list[ServiceSpec]) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self.by_target = {spec.target_prefix: spec for spec in specs if spec.target_prefix}
        self.by_signing: dict[str, list[ServiceSpec]] = {}
        for spec in specs:
            self.by_signing.setdefault(spec.signing_name, []).append(spec)
        self.query_actions: dict[str, ServiceSpec] = {}
        for spec in specs:
            if _speaks_query(spec):
                for op in spec.model.operation_names:
                    self.query_actions.setdefault(op, spec)

    def route(self, request: HttpRequest) -> Route:
        scope = read_scope(request)
        headers = request.headers
        target = headers.get("x-amz-target")
        if target:
            prefix, _, op_name = target.rpartition(".")
            spec = self.by_target.get(prefix)
            if spec is None:
                raise UnknownService(f"The service for target {prefix!r} is not available in fogbank.")
            content_type = (headers.get("content-type") or "").lower()
            wire = "cbor" if "cbor" in content_type else "json"
            return Route(spec, self._operation(spec, op_name), wire, scope=scope)
        if (headers.get("smithy-protocol") or "").lower() == "rpc-v2-cbor":
            m = _SMITHY_PATH.match(request.path)
            if m is None:
                raise UnknownOperation("Smithy RPC v2 requests must use /service/{service}/operation/{operation}")
            spec = self.by_target.get(m.group(1))
            if spec is None:
                raise UnknownService(f"The service {m.group(1)!r} is not available in fogbank.")
            return Route(spec, self._operation(spec, m.group(2)), "smithy-rpc-v2-cbor", scope=scope)
        candidates = self.by_signing.get(scope.service or "", [])
        bucket = s3_virtual_host_bucket(request.host) if "s3" in self.specs else None
        if bucket is not None and (not candidates or scope.service == "s3"):
            request.path = "/" + quote(bucket, safe="") + request.path
            candidates = [self.specs["s3"]]
        if not candidates:
            action = request.query_dict.get("Action") or _form_action(request)
            if action and action in self.query_actions:
                candidates = [self.query_actions[action]]
            elif scope.service:
                raise UnknownService(f"The service {scope.service!r} is not available in fogbank.")
            elif "s3" in self.specs:
                candidates = [self.specs["s3"]]
        for spec in candidates:
            if _speaks_query(spec):
                action = request.query_dict.get("Action") or _form_action(request)
                if action is not None or spec.protocol == "query":
                    if action is None:
                        raise UnknownOperation("Missing Action parameter")
                    return Route(spec, self._operation(spec, action), "query", scope=scope)
            present = headers.names()
            match = spec.match_rest(request.method, request.path, request.query_dict, present)
            if match is not None:
                route, labels = match
                return Route(spec, spec.model.operation_model(route.operation), spec.protocol, labels, scope)
        name = candidates[0].name if candidates else "unknown"
        raise UnknownOperation(f"No {name} operation matches {request.method} {request.path}")

    def _operation(self, spec: ServiceSpec, name: str) -> OperationModel:
        op = spec.operation(name)
        if op is None:
            raise UnknownOperation(f"Operation {name} is not an operation of {spec.name}.")
        return op


def _speaks_query(spec: ServiceSpec) -> bool:
    return spec.protocol == "query" or "query" in (spec.model.metadata.get("protocols") or ())


def _form_action(request: HttpRequest) -> str | None:
    content_type = (request.headers.get("content-type") or "").lower()
    if request.method != "POST" or not content_type.startswith("application/x-www-form-urlencoded"):
        return None
    params: dict[str, Any] = dict(parse_qsl(request.read_body().decode("utf-8", "replace")))
    action = params.get("Action")
    return str(action) if action else None
