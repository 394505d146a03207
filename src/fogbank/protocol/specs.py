"""botocore's service models, loaded once, with the indexes routing needs.

The models are the single source of truth for every wire format: operation names, HTTP bindings,
member locations, XML names, timestamp formats and constraints all come from them.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import cache

import botocore.session
from botocore.model import OperationModel, ServiceModel

_LABEL = re.compile(r"\{([^}]+)\}")


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


_lock = threading.Lock()


@cache
def service_model(name: str) -> ServiceModel:
    with _lock:
        return _session().get_service_model(name)


def protocol_of(model: ServiceModel) -> str:
    """The protocol a server answers in by default: the model's first listed protocol."""
    protocols = model.metadata.get("protocols")
    return protocols[0] if protocols else model.metadata["protocol"]


@dataclass(frozen=True)
class RestRoute:
    """One operation's HTTP binding compiled for matching incoming requests."""

    operation: str
    method: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    literal_query: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    literal_chars: int
    deprecated: bool = False

    def score(self, query: dict[str, str], headers_present: set[str]) -> tuple[int, int, int, int] | None:
        for key, value in self.literal_query:
            if key not in query or (value is not None and query[key] != value):
                return None
        if any(q not in query for q in self.required_query):
            return None
        if any(h not in headers_present for h in self.required_headers):
            return None
        specific = len(self.literal_query) + len(self.required_query) + len(self.required_headers)
        # Deprecated operations (PutBucketLifecycle) yield to the current one bound to the same request.
        return (self.literal_chars, specific, -len(self.labels), 0 if self.deprecated else 1)


def _compile_route(op: OperationModel) -> RestRoute:
    uri = op.http["requestUri"]
    path, _, query = uri.partition("?")
    labels: list[str] = []
    regex = "^"
    pos = 0
    literal_chars = 0
    for m in _LABEL.finditer(path):
        literal = path[pos:m.start()]
        regex += re.escape(literal)
        literal_chars += len(literal.strip("/"))
        name = m.group(1)
        greedy = name.endswith("+")
        name = name.rstrip("+")
        group = f"L{len(labels)}"  # label names may hold characters a regex group name cannot
        regex += f"(?P<{group}>.+)" if greedy else f"(?P<{group}>[^/]+)"
        labels.append(name)
        pos = m.end()
    tail = path[pos:]
    literal_chars += len(tail.strip("/"))
    greedy_end = bool(labels) and not tail and path.endswith("+}")
    regex += re.escape(tail) + "$" if greedy_end or path == "/" else re.escape(tail.rstrip("/")) + "/?$"
    literal_query: list[tuple[str, str | None]] = []
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        literal_query.append((key, value if eq else None))
    required_query: list[str] = []
    required_headers: list[str] = []
    shape = op.input_shape
    if shape is not None:
        for member_name in shape.required_members:
            member = shape.members[member_name]
            location = member.serialization.get("location")
            wire = member.serialization.get("name", member_name)
            if location == "querystring":
                required_query.append(wire)
            elif location == "header":
                required_headers.append(wire.lower())
    return RestRoute(op.name, op.http.get("method", "POST"), re.compile(regex), tuple(labels),
                     tuple(literal_query), tuple(required_query), tuple(required_headers), literal_chars,
                     bool(op.deprecated))


@dataclass
class ServiceSpec:
    """A served AWS service: its model, protocol and precompiled routes."""

    name: str
    model: ServiceModel
    protocol: str
    routes: dict[str, list[RestRoute]] = field(default_factory=dict)
    # Routes by method, then by their first literal query key (None: no literal query); most requests
    # then test only a handful of patterns instead of every operation of the method.
    _indexed: dict[str, dict[str | None, list[RestRoute]]] = field(default_factory=dict)

    @classmethod
    def load(cls, name: str) -> ServiceSpec:
        model = service_model(name)
        spec = cls(name, model, protocol_of(model))
        if spec.protocol.startswith("rest"):
            for op_name in model.operation_names:
                spec.add_route(_compile_route(model.operation_model(op_name)))
        return spec

    def add_route(self, route: RestRoute) -> None:
        self.routes.setdefault(route.method, []).append(route)
        first = route.literal_query[0][0] if route.literal_query else None
        self._indexed.setdefault(route.method, {}).setdefault(first, []).append(route)

    @property
    def signing_name(self) -> str:
        return str(self.model.signing_name)

    @property
    def target_prefix(self) -> str | None:
        return self.model.metadata.get("targetPrefix")

    def operation(self, name: str) -> OperationModel | None:
        try:
            return self.model.operation_model(name)
        except Exception:  # botocore raises OperationNotFoundError
            return None

    def match_rest(self, method: str, path: str, query: dict[str, str],
                   headers_present: set[str]) -> tuple[RestRoute, dict[str, str]] | None:
        """The most specific operation whose binding matches; label values still percent-encoded."""
        best: tuple[tuple[int, int, int, int], RestRoute, dict[str, str]] | None = None
        by_key = self._indexed.get(method, {})
        candidates = list(by_key.get(None, ()))
        for key in query:
            candidates.extend(by_key.get(key, ()))
        for route in candidates:
            m = route.pattern.match(path)
            if m is None:
                continue
            score = route.score(query, headers_present)
            if score is None:
                continue
            if best is None or score > best[0]:
                best = (score, route, {route.labels[int(k[1:])]: v for k, v in m.groupdict().items()})
        return None if best is None else (best[1], best[2])
