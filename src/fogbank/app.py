"""build_app(config) -> the ASGI application: one request's way through routing, auth, parse, dispatch."""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fogbank import __version__
from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.engines.models.registry import ModelRegistry
from fogbank.errors import AwsError, InternalFailure, NotImplementedOperation
from fogbank.protocol import accounts, auth
from fogbank.protocol.chunked import (
    AwsChunkedReader,
    decoded_content_length,
    is_aws_chunked,
    stored_content_encoding,
)
from fogbank.protocol.dispatch import Handler, Provider, operations_of
from fogbank.protocol.eventstream import stream_response
from fogbank.protocol.http import BytesBody, Headers, HttpRequest, HttpResponse, StreamingBody
from fogbank.protocol.parser import parse_request
from fogbank.protocol.routing import Route, Router, read_scope
from fogbank.protocol.serializer import serialize_error, serialize_response
from fogbank.protocol.specs import ServiceSpec
from fogbank.protocol.validation import validate
from fogbank.services.registry import build_providers

log = logging.getLogger("fogbank")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

STREAM_CHUNK = 1024 * 1024


class FogbankApp:
    """The ASGI callable. Providers are synchronous and run on a bounded worker pool."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.started = time.time()
        self.keys = accounts.KeyStore(config)
        self.models = ModelRegistry(config, config.model_overrides)
        self.providers: list[Provider] = build_providers(config, self.keys, self.models)
        self.handlers: dict[tuple[str, str], Handler] = {}
        self.provider_of: dict[str, Provider] = {}
        specs: list[ServiceSpec] = []
        for provider in self.providers:
            for service in provider.services:
                specs.append(ServiceSpec.load(service))
                self.provider_of[service] = provider
                for op_name, handler in operations_of(provider).items():
                    self.handlers[(service, op_name)] = handler
        self.router = Router(specs)
        # The providers that answer requests outside every botocore model, looked up once, not per request.
        self.raw_routes = [(provider, raw) for provider in self.providers
                           if (raw := getattr(provider, "raw_route", None)) is not None]
        self.executor = ThreadPoolExecutor(config.worker_threads, thread_name_prefix="fogbank-op")

    # ------------------------------------------------------------------ ASGI entry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = await self._read_request(scope, receive)
        if request.path.startswith("/_fogbank/"):
            response = self._internal(request)
        else:
            loop = asyncio.get_running_loop()
            response = await loop.run_in_executor(self.executor, self._respond, request, scope["method"] == "HEAD")
        await self._send(send, response, scope["method"] == "HEAD")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        for provider in self.providers:
            try:
                provider.close()
            except Exception:
                log.exception("closing %s failed", type(provider).__name__)
        self.models.close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def _read_request(self, scope: Scope, receive: Receive) -> HttpRequest:
        headers = Headers.from_asgi(scope["headers"])
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        path = path.split("?", 1)[0]
        length_text = headers.get("content-length")
        length = int(length_text) if length_text and length_text.isdigit() else None
        request = HttpRequest(scope["method"], path, scope.get("query_string", b"").decode("latin-1"),
                              headers, content_length=length)
        if length is not None and length > self.config.inline_body_limit:
            request.body = StreamingBody(receive, asyncio.get_running_loop())
            return request
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
            if length is None and sum(map(len, chunks)) > self.config.inline_body_limit and more:
                request.body = StreamingBody(receive, asyncio.get_running_loop(), b"".join(chunks), True)
                return request
        request.body = BytesBody(b"".join(chunks))
        return request

    async def _send(self, send: Send, response: HttpResponse, head: bool) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        body = response.body
        if isinstance(body, (bytes, bytearray)):
            if not any(k == b"content-length" for k, _ in headers):
                headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": response.status, "headers": headers})
            await send({"type": "http.response.body", "body": b"" if head else bytes(body)})
            return
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        iterator: Iterator[bytes] = iter(body)
        loop = asyncio.get_running_loop()
        try:
            if not head:
                while True:
                    chunk = await loop.run_in_executor(self.executor, next, iterator, None)
                    if chunk is None:
                        break
                    if chunk:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            close = getattr(iterator, "close", None) or getattr(body, "close", None)
            if close is not None:
                close()

    # ------------------------------------------------------------------ one AWS request

    def _respond(self, request: HttpRequest, head: bool) -> HttpResponse:
        """handle(), then a small streamed body read whole on the same worker thread: each chunk of a
        streamed body costs the event loop a thread hop, and a small object's GET would pay two."""
        response = self.handle(request)
        if not head:
            _inline_small_body(response)
        return response

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id()
        route: Route | None = None
        ctx: RequestContext | None = None
        params: dict[str, Any] | None = None
        try:
            raw = self._raw_route(request, request_id)
            if raw is not None:
                return raw
            route = self.router.route(request)
            ctx = self._context(request, route, request_id)
            if is_aws_chunked(request.headers):
                self._decode_chunked(request)
            params = parse_request(route.operation, route.wire_protocol, request, route.labels)
            if "ContentEncoding" in params and isinstance(params["ContentEncoding"], str):
                encoding = stored_content_encoding(params["ContentEncoding"])
                if encoding is None:
                    del params["ContentEncoding"]
                else:
                    params["ContentEncoding"] = encoding
            if route.wire_protocol != "rest-xml":
                validate(params, route.operation.input_shape, route.wire_protocol == "query")
            handler = self.handlers.get((route.spec.name, route.operation.name))
            if handler is None:
                raise NotImplementedOperation(
                    f"The operation {route.operation.name} of service {route.spec.name} is not implemented "
                    "by fogbank.")
            output = handler(ctx, params) or {}
            serialize = stream_response if route.operation.has_event_stream_output else serialize_response
            response = serialize(route.operation, route.wire_protocol, output, request_id, route.json_version)
            if ctx.status_override is not None:
                response.status = ctx.status_override
        except AwsError as error:
            response = self._error_response(error, route, request, request_id)
        except Exception:
            log.exception("internal failure in %s", route.operation.name if route else request.path)
            response = self._error_response(InternalFailure("We encountered an internal error. Please try "
                                                            "again."), route, request, request_id)
        if ctx is not None:
            response.headers.extend(ctx.extra_headers)
            provider = self.provider_of.get(ctx.service)
            if provider is not None:
                provider.decorate_response(ctx, params, response.headers)
        return response

    def _raw_route(self, request: HttpRequest, request_id: str) -> HttpResponse | None:
        """Requests outside every botocore model (S3's CORS preflight and browser POST uploads)."""
        for provider, raw in self.raw_routes:
            handler = raw(request)
            if handler is not None:
                scope = read_scope(request)
                identity = self.keys.resolve(scope.access_key)
                ctx = RequestContext(identity.account_id, scope.region or self.config.default_region,
                                     request_id, provider.services[0], handler.__name__, request,
                                     access_key=scope.access_key)
                try:
                    response: HttpResponse = handler(ctx, request)
                except AwsError as error:
                    return serialize_error(error, "rest-xml", request_id, request.method)
                response.headers.extend(ctx.extra_headers)
                return response
        return None

    def _decode_chunked(self, request: HttpRequest) -> None:
        """aws-chunked bodies are unwrapped here, so providers read the plain payload as a stream."""
        verifiers = auth.request_chunk_verifiers(request, self.keys)
        verify_chunk, verify_trailer = verifiers if verifiers is not None else (None, None)
        request.body = AwsChunkedReader(request.body, verify_chunk, verify_trailer=verify_trailer,
                                        decoded_length=decoded_content_length(request.headers))
        request.content_length = decoded_content_length(request.headers)

    def _context(self, request: HttpRequest, route: Route, request_id: str) -> RequestContext:
        scope = route.scope
        region = scope.region or self.config.default_region
        if self.config.auth == "strict":
            identity = auth.authenticate(request, self.keys, route.spec.signing_name, self.config)
        else:
            identity = self.keys.resolve(scope.access_key)
        return RequestContext(identity.account_id, region, request_id, route.spec.name, route.operation.name,
                              request, access_key=scope.access_key)

    def _error_response(self, error: AwsError, route: Route | None, request: HttpRequest,
                        request_id: str) -> HttpResponse:
        if route is None:
            wire = _guess_wire_protocol(request)
            return serialize_error(error, wire, request_id, request.method)
        metadata = route.spec.model.metadata
        return serialize_error(error, route.wire_protocol, request_id, request.method, route.json_version,
                               "awsQueryCompatible" in metadata, metadata.get("xmlNamespace"),
                               operation=route.operation)

    # ------------------------------------------------------------------ /_fogbank/

    def health(self) -> dict[str, Any]:
        services: dict[str, Any] = {}
        for provider in self.providers:
            try:
                state = provider.health()
            except Exception as exc:
                state = {"state": "error", "error": str(exc)}
            for service in provider.services:
                services[service] = state
        return {"version": __version__, "data_dir": str(self.config.data_dir), "auth": self.config.auth,
                "uptime_seconds": round(time.time() - self.started, 1), "services": services,
                "models": self.models.status()}

    def _internal(self, request: HttpRequest) -> HttpResponse:
        if request.path.rstrip("/") == "/_fogbank/health" and request.method in ("GET", "HEAD"):
            body = json.dumps(self.health(), indent=2).encode()
            return HttpResponse(200, [("content-type", "application/json")], body)
        return HttpResponse(404, [("content-type", "application/json")],
                            json.dumps({"message": f"no internal route {request.path}"}).encode())


def new_request_id() -> str:
    """A random (version 4) UUID in its text form, as str(uuid.uuid4()) gives, without the UUID object."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _inline_small_body(response: HttpResponse) -> None:
    """Replaces an iterable body that declares at most one chunk's length by its bytes.

    A body that fails or runs longer while being read is handed on as a stream that replays what was read
    and then fails or continues just as the original would have.
    """
    body = response.body
    if isinstance(body, (bytes, bytearray)):
        return
    length = None
    for name, value in response.headers:
        if name == "content-length":  # as _send looks for it, so it adds no second one
            length = value
            break
    if length is None or not length.isdigit() or int(length) > STREAM_CHUNK:
        return
    iterator = iter(body)
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in iterator:
            chunks.append(chunk)
            size += len(chunk)
            if size > STREAM_CHUNK:
                response.body = _Replay(chunks, iterator, body, None)
                return
    except Exception as exc:
        response.body = _Replay(chunks, iterator, body, exc)
        return
    _close_body(iterator, body)
    response.body = b"".join(chunks)


class _Replay:
    """The chunks already read, then the rest of the original body (or the error reading it raised)."""

    def __init__(self, chunks: list[bytes], iterator: Iterator[bytes], body: object,
                 error: Exception | None) -> None:
        self._chunks = collections.deque(chunks)
        self._iterator = iterator
        self._body = body
        self._error = error

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._chunks:
            return self._chunks.popleft()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return next(self._iterator)

    def close(self) -> None:
        _close_body(self._iterator, self._body)


def _close_body(iterator: Iterator[bytes], body: object) -> None:
    close = getattr(iterator, "close", None) or getattr(body, "close", None)
    if close is not None:
        close()


def _guess_wire_protocol(request: HttpRequest) -> str:
    """The best protocol to answer a request that could not be routed to an operation."""
    if request.headers.get("x-amz-target"):
        return "json"
    if (request.headers.get("smithy-protocol") or "") == "rpc-v2-cbor":
        return "smithy-rpc-v2-cbor"
    if "Action" in request.query_dict or (request.headers.get("content-type") or "").startswith(
            "application/x-www-form-urlencoded"):
        return "query"
    return "rest-xml"


def build_app(config: Config) -> FogbankApp:
    return FogbankApp(config)
