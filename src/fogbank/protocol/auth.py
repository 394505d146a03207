"""Request authentication: AWS Signature Version 4 (header and presigned URL) and S3's Version 2.

The server recomputes the signature the client computed. Where clients legitimately differ in how they
canonicalise a URI or query (raw as sent, or decoded and re-encoded the way the specification says), each
reading of the same bytes is tried; none of them lets a signature cover a request other than the one
received. Which error a failure raises depends on the service: S3 has its own codes, query-protocol
services (STS, IAM, SNS) theirs, and JSON services theirs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import quote, unquote, unquote_to_bytes

from fogbank.config import Config
from fogbank.errors import AwsError, ServiceError
from fogbank.protocol.accounts import KeyRecord, KeyStore
from fogbank.protocol.http import BytesBody, HttpRequest, Readable

ALGORITHM = "AWS4-HMAC-SHA256"
ALGORITHM_V4A = "AWS4-ECDSA-P256-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600

_S3_CONTENT_SHA256 = frozenset({
    UNSIGNED_PAYLOAD, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER,
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
})
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_V4_QUERY_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date",
                    "X-Amz-SignedHeaders", "X-Amz-Expires")

# S3 sub-resources and response overrides that belong to the Version 2 canonical resource.
_V2_SUBRESOURCES = frozenset({
    "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory", "lifecycle",
    "location", "logging", "metrics", "notification", "object-lock", "partNumber", "policy", "replication",
    "requestPayment", "restore", "select", "select-type", "storageClass", "tagging", "torrent", "uploadId",
    "uploads", "versionId", "versioning", "versions", "website",
    "response-cache-control", "response-content-disposition", "response-content-encoding",
    "response-content-language", "response-content-type", "response-expires",
})

# Signing names of services that speak the query protocol and so use its error codes.
_QUERY_SERVICES = frozenset({
    "sts", "iam", "sns", "ec2", "cloudformation", "rds", "redshift", "elasticache", "autoscaling",
    "elasticloadbalancing", "elasticbeanstalk", "ses", "sdb", "importexport",
})
_S3_SERVICES = frozenset({"s3", "s3-object-lambda", "s3express"})

Scheme = Literal["sigv4-header", "sigv4-query", "sigv2-header", "sigv2-query", "sigv4a-header"]
Style = Literal["s3", "query", "json"]


@dataclass(frozen=True)
class Credential:
    """What a request says about who signed it and how, before anything is verified."""

    access_key: str
    date: str | None  # YYYYMMDD of the credential scope (SigV4 only)
    region: str | None
    service: str
    scheme: Scheme
    signature: str = ""
    signed_headers: tuple[str, ...] = ()
    # X-Amz-Date / Date for headers, X-Amz-Date for presigned v4, Expires (epoch seconds) for presigned v2.
    timestamp: str | None = None
    session_token: str | None = None

    @property
    def scope(self) -> str:
        """The credential scope string that SigV4 strings-to-sign carry."""
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


class _Malformed(Exception):
    """Signature material that is present but cannot be read."""


# ---------------------------------------------------------------------------------------------- errors

_PROBLEMS: dict[str, dict[Style, tuple[str, int]]] = {
    "signature": {"s3": ("SignatureDoesNotMatch", 403), "query": ("SignatureDoesNotMatch", 403),
                  "json": ("InvalidSignatureException", 403)},
    "unknown_key": {"s3": ("InvalidAccessKeyId", 403), "query": ("InvalidClientTokenId", 403),
                    "json": ("UnrecognizedClientException", 403)},
    "skew": {"s3": ("RequestTimeTooSkewed", 403), "query": ("SignatureDoesNotMatch", 403),
             "json": ("InvalidSignatureException", 403)},
    "expired": {"s3": ("AccessDenied", 403), "query": ("SignatureDoesNotMatch", 403),
                "json": ("InvalidSignatureException", 403)},
    "token_expired": {"s3": ("ExpiredToken", 400), "query": ("ExpiredToken", 403),
                      "json": ("ExpiredTokenException", 400)},
    "token_invalid": {"s3": ("InvalidToken", 400), "query": ("InvalidClientTokenId", 403),
                      "json": ("UnrecognizedClientException", 403)},
    "missing": {"s3": ("AccessDenied", 403), "query": ("MissingAuthenticationToken", 403),
                "json": ("MissingAuthenticationTokenException", 403)},
    "malformed": {"s3": ("AuthorizationHeaderMalformed", 400), "query": ("IncompleteSignature", 400),
                  "json": ("IncompleteSignatureException", 400)},
    "malformed_query": {"s3": ("AuthorizationQueryParametersError", 400),
                        "query": ("IncompleteSignature", 400), "json": ("IncompleteSignatureException", 400)},
    "unsupported": {"s3": ("InvalidRequest", 400), "query": ("IncompleteSignature", 400),
                    "json": ("IncompleteSignatureException", 400)},
    "headers_not_signed": {"s3": ("AccessDenied", 403), "query": ("SignatureDoesNotMatch", 403),
                           "json": ("InvalidSignatureException", 403)},
}

_DEFAULT_MESSAGES: dict[str, dict[Style, str]] = {
    "signature": {
        "s3": "The request signature we calculated does not match the signature you provided. "
              "Check your key and signing method.",
        "query": "The request signature we calculated does not match the signature you provided. Check your "
                 "AWS Secret Access Key and signing method. Consult the service documentation for details.",
        "json": "The request signature we calculated does not match the signature you provided. Check your "
                "AWS Secret Access Key and signing method. Consult the service documentation for details.",
    },
    "unknown_key": {"s3": "The AWS Access Key Id you provided does not exist in our records.",
                    "query": "The security token included in the request is invalid.",
                    "json": "The security token included in the request is invalid."},
    "token_expired": {"s3": "The provided token has expired.",
                      "query": "The security token included in the request is expired",
                      "json": "The security token included in the request is expired"},
    "token_invalid": {"s3": "The provided token is malformed or otherwise invalid.",
                      "query": "The security token included in the request is invalid.",
                      "json": "The security token included in the request is invalid."},
    "missing": {"s3": "Access Denied", "query": "Request is missing Authentication Token",
                "json": "Missing Authentication Token"},
}


def style_of(service: str) -> Style:
    """Which family of error codes a service answers authentication failures with."""
    if service in _S3_SERVICES:
        return "s3"
    return "query" if service in _QUERY_SERVICES else "json"


def auth_error(style: Style, problem: str, message: str | None = None, **fields: Any) -> AwsError:
    """The error a service of the given style returns for an authentication problem."""
    code, status = _PROBLEMS[problem][style]
    text = message or _DEFAULT_MESSAGES.get(problem, {}).get(style) or problem
    return ServiceError(code, text, status, **fields)


class XAmzContentSHA256Mismatch(AwsError):
    code = "XAmzContentSHA256Mismatch"
    status = 400


class InvalidRequest(AwsError):
    code = "InvalidRequest"
    status = 400


class InvalidArgument(AwsError):
    code = "InvalidArgument"
    status = 400


# ---------------------------------------------------------------------------------------------- parsing

def _query_value(request: HttpRequest, name: str) -> str | None:
    for key, value in request.query:
        if key == name:
            return value
    return None


def _session_token(request: HttpRequest) -> str | None:
    return (request.headers.get("x-amz-security-token") or _query_value(request, "X-Amz-Security-Token")
            or _query_value(request, "x-amz-security-token"))


def _auth_params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in re.split(r"\s*,\s*", text.strip()):
        key, eq, value = part.partition("=")
        if eq:
            params[key.strip()] = value.strip()
    return params


def _header_timestamp(request: HttpRequest) -> str | None:
    """The request time in SigV4's basic format, from X-Amz-Date or else the Date header."""
    amz = request.headers.get("x-amz-date")
    if amz:
        return amz.strip()
    date = request.headers.get("date")
    if date:
        try:
            return parsedate_to_datetime(date).astimezone(UTC).strftime(TIMESTAMP_FORMAT)
        except (TypeError, ValueError):
            return date
    return None


def _read_credential(request: HttpRequest) -> Credential | None:
    """Like parse_credential, but raises _Malformed for signature material that cannot be read."""
    header = (request.headers.get("authorization") or "").strip()
    token = _session_token(request)
    if header:
        algorithm, _, rest = header.partition(" ")
        if algorithm in (ALGORITHM, ALGORITHM_V4A):
            params = _auth_params(rest)
            missing = [k for k in ("Credential", "SignedHeaders", "Signature") if k not in params]
            if missing:
                raise _Malformed(f"Authorization header requires '{missing[0]}' parameter.")
            parts = params["Credential"].split("/")
            signed = tuple(h.strip().lower() for h in params["SignedHeaders"].split(";") if h.strip())
            if algorithm == ALGORITHM_V4A:
                if len(parts) != 4 or parts[3] != "aws4_request":
                    raise _Malformed("The credential is malformed.")
                return Credential(parts[0], parts[1], request.headers.get("x-amz-region-set"), parts[2],
                                  "sigv4a-header", params["Signature"], signed,
                                  _header_timestamp(request), token)
            if len(parts) != 5 or parts[4] != "aws4_request" or not parts[0]:
                raise _Malformed(f"Credential should be scoped with a valid terminator: 'aws4_request', not "
                                 f"'{parts[-1]}'." if len(parts) == 5 else "The credential is malformed.")
            return Credential(parts[0], parts[1], parts[2], parts[3], "sigv4-header", params["Signature"],
                              signed, _header_timestamp(request), token)
        if algorithm == "AWS":
            key, colon, signature = rest.strip().rpartition(":")
            if not colon or not key:
                raise _Malformed("The Authorization header is not 'AWS AccessKeyId:Signature'.")
            timestamp = request.headers.get("x-amz-date") or request.headers.get("date")
            return Credential(key, None, None, "s3", "sigv2-header", signature, (), timestamp, token)
        raise _Malformed(f"Unsupported Authorization Type {algorithm!r}.")
    query = request.query_dict
    if "X-Amz-Credential" in query or "X-Amz-Signature" in query:
        missing = [k for k in _V4_QUERY_PARAMS if k not in query]
        if missing:
            raise _Malformed("Query-string authentication version 4 requires the X-Amz-Algorithm, "
                             "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                             "X-Amz-Expires parameters.")
        parts = query["X-Amz-Credential"].split("/")
        if len(parts) != 5 or parts[4] != "aws4_request" or not parts[0]:
            raise _Malformed("Error parsing the X-Amz-Credential parameter.")
        signed = tuple(h.strip().lower() for h in query["X-Amz-SignedHeaders"].split(";") if h.strip())
        return Credential(parts[0], parts[1], parts[2], parts[3], "sigv4-query", query["X-Amz-Signature"],
                          signed, query["X-Amz-Date"], token)
    if "AWSAccessKeyId" in query or "Signature" in query:
        if not all(k in query for k in ("AWSAccessKeyId", "Signature", "Expires")):
            raise _Malformed("Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
                             "parameters")
        return Credential(query["AWSAccessKeyId"], None, None, "s3", "sigv2-query", query["Signature"], (),
                          query["Expires"], token)
    return None


def parse_credential(request: HttpRequest) -> Credential | None:
    """The signer's key and scope, from whichever place the request carries them; None if unsigned
    or unreadable. Routing uses it in both auth modes, so it never raises."""
    try:
        return _read_credential(request)
    except _Malformed:
        return None


# ---------------------------------------------------------------------------------------------- SigV4

@lru_cache(maxsize=512)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The SigV4 key derived for one day, region and service."""
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _sign_hex(key: bytes, message: str) -> str:
    return hmac.new(key, _wire_bytes(message), hashlib.sha256).hexdigest()


def _wire_bytes(text: str) -> bytes:
    """Text as the client hashed it: header values arrive decoded as latin-1, the rest is ASCII."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _path_bytes(path: str) -> bytes:
    return _wire_bytes(path)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 dot-segment removal, also dropping empty segments as AWS services do."""
    kept: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    lead = "/" if path.startswith("/") else ""
    trail = "/" if path.endswith("/") and kept else ""
    return lead + "/".join(kept) + trail


def _canonical_uris(request: HttpRequest, s3: bool) -> list[str]:
    """The canonical URI readings of the request path (see the module docstring)."""
    raw = request.path or "/"
    paths = [raw]
    if s3:
        stripped = _without_virtual_host_bucket(request, raw)
        if stripped is not None:
            paths.insert(0, stripped)
    uris: list[str] = []
    for path in paths:
        if s3:
            found = [path, quote(unquote_to_bytes(path), safe="/~")]
        else:
            normal = _remove_dot_segments(path) or "/"
            found = [quote(_path_bytes(normal), safe="/~"), quote(unquote_to_bytes(normal), safe="/~"), normal]
        for uri in found:
            if uri not in uris:
                uris.append(uri)
    return uris


def _without_virtual_host_bucket(request: HttpRequest, path: str) -> str | None:
    """The path a virtual-hosted client signed, when routing has put the Host's bucket in front of it.

    Only a first segment that the (signed) Host header itself starts with is removed, so a path-style
    signature can never be replayed under another bucket.
    """
    segment, slash, rest = path.lstrip("/").partition("/")
    if not segment:
        return None
    host = request.host.lower()
    if not host.startswith(unquote(segment).lower() + "."):
        return None
    return "/" + rest if slash else "/"


def _canonical_queries(request: HttpRequest, drop: str | None = None) -> list[str]:
    pairs: list[tuple[str, str]] = []
    for part in request.query_string.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((key, value))
    if drop is not None:
        pairs = [(k, v) for k, v in pairs if unquote(k) != drop]
    encoded = sorted((quote(unquote_to_bytes(k), safe="-_.~"), quote(unquote_to_bytes(v), safe="-_.~"))
                     for k, v in pairs)
    readings = ["&".join(f"{k}={v}" for k, v in encoded), "&".join(f"{k}={v}" for k, v in sorted(pairs))]
    return list(dict.fromkeys(readings))


def _canonical_headers(request: HttpRequest, names: tuple[str, ...]) -> str:
    lines = []
    for name in names:
        values = request.headers.get_all(name)
        lines.append(f"{name}:" + ",".join(" ".join(v.split()) for v in values))
    return "\n".join(lines) + "\n"


def _basic_time(text: str) -> datetime:
    """datetime.strptime(text, TIMESTAMP_FORMAT) in UTC; a well-formed stamp (every signed request has one)
    skips strptime's regex and locale machinery."""
    if len(text) == 16 and text[8] == "T" and text[15] == "Z" and text[:8].isdigit() and text[9:15].isdigit() \
            and text.isascii():
        try:
            return datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]), int(text[11:13]),
                            int(text[13:15]), tzinfo=UTC)
        except ValueError:
            pass  # strptime words the error
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def _parse_timestamp(text: str | None) -> datetime:
    if not text:
        raise _Malformed("missing date")
    try:
        return _basic_time(text)
    except ValueError:
        raise _Malformed(f"Invalid date {text!r}") from None


def _skew_message(stamp: datetime, now: datetime, max_skew: int) -> str:
    minutes = max_skew // 60
    fmt = TIMESTAMP_FORMAT
    if stamp < now:
        return (f"Signature expired: {stamp.strftime(fmt)} is now earlier than "
                f"{(now - timedelta(seconds=max_skew)).strftime(fmt)} ({now.strftime(fmt)} - {minutes} min.)")
    return (f"Signature not yet current: {stamp.strftime(fmt)} is still later than "
            f"{(now + timedelta(seconds=max_skew)).strftime(fmt)} ({now.strftime(fmt)} + {minutes} min.)")


def _check_skew(style: Style, stamp: datetime, now: datetime, max_skew: int) -> None:
    if abs((now - stamp).total_seconds()) <= max_skew:
        return
    if style == "s3":
        raise auth_error(style, "skew", "The difference between the request time and the current time is too "
                         "large.", RequestTime=stamp.strftime(TIMESTAMP_FORMAT),
                         ServerTime=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         MaxAllowedSkewMilliseconds=str(max_skew * 1000))
    raise auth_error(style, "skew", _skew_message(stamp, now, max_skew))


def _payload_hash(request: HttpRequest, style: Style, presigned: bool) -> str:
    """The payload hash SigV4 puts last in the canonical request."""
    declared = request.headers.get("x-amz-content-sha256")
    if style == "s3":
        if presigned:
            return declared or _query_value(request, "X-Amz-Content-Sha256") or UNSIGNED_PAYLOAD
        if declared is None:
            raise InvalidRequest("Missing required header for this request: x-amz-content-sha256")
        if declared not in _S3_CONTENT_SHA256 and not _HEX64.fullmatch(declared):
            raise InvalidArgument("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-"
                                  "TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-"
                                  "PAYLOAD-TRAILER or a valid sha256 value.",
                                  ArgumentName="x-amz-content-sha256", ArgumentValue=declared)
        return declared
    if declared is not None and (declared == UNSIGNED_PAYLOAD or declared.startswith("STREAMING-")):
        return declared
    return hashlib.sha256(request.read_body()).hexdigest()


class _Sha256CheckingBody:
    """A streamed S3 body that fails at its end if it does not hash to the signed x-amz-content-sha256.

    The check runs before the last bytes are handed out (at Content-Length, or at end-of-stream when the
    length is unknown), so a store that commits only after reading everything never commits a body the
    signature does not cover.
    """

    def __init__(self, inner: Readable, expected: str, length: int | None) -> None:
        self._inner = inner
        self._expected = expected.lower()
        self._length = length
        self._seen = 0
        self._hash = hashlib.sha256()
        self._checked = False

    def read(self, size: int = -1, /) -> bytes:
        data = self._inner.read(size)
        self._hash.update(data)
        self._seen += len(data)
        at_end = not data or size is None or size < 0
        if at_end or (self._length is not None and self._seen >= self._length):
            self._check()
        return data

    def _check(self) -> None:
        if self._checked:
            return
        actual = self._hash.hexdigest()
        if actual != self._expected:
            raise XAmzContentSHA256Mismatch(
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                ClientComputedContentSHA256=self._expected, S3ComputedContentSHA256=actual)
        self._checked = True


def _bind_s3_payload(request: HttpRequest, declared: str) -> None:
    """Makes an S3 body answer for the hash its signature covers (checked now, or at the end of a stream)."""
    if not _HEX64.fullmatch(declared):
        return
    if isinstance(request.body, BytesBody):
        actual = hashlib.sha256(request.body.getvalue()).hexdigest()
        if actual != declared.lower():
            raise XAmzContentSHA256Mismatch(
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                ClientComputedContentSHA256=declared, S3ComputedContentSHA256=actual)
    else:
        request.body = _Sha256CheckingBody(request.body, declared, request.content_length)


def _string_to_sign(timestamp: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(_wire_bytes(canonical_request)).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def _verify_v4(request: HttpRequest, secret: str, credential: Credential, now: datetime, style: Style,
               max_skew: int) -> None:
    presigned = credential.scheme == "sigv4-query"
    stamp = _parse_timestamp(credential.timestamp)
    timestamp = credential.timestamp or ""
    if credential.date != timestamp[:8]:
        raise _Malformed(f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                         f"from HTTP: '{credential.date}' != '{timestamp[:8]}', from '{timestamp}'.")
    if "host" not in credential.signed_headers:
        raise _Malformed("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    if presigned:
        _check_presign_window(request, stamp, now, style, max_skew)
    else:
        _check_skew(style, stamp, now, max_skew)
        if style == "s3":
            unsigned = sorted({name for name, _ in request.headers
                               if name.startswith("x-amz-") and name not in credential.signed_headers})
            if unsigned:
                raise auth_error(style, "headers_not_signed",
                                 "There were headers present in the request which were not signed",
                                 HeadersNotSigned=", ".join(unsigned))
    payload = _payload_hash(request, style, presigned)
    key = signing_key(secret, credential.date or "", credential.region or "", credential.service)
    headers = _canonical_headers(request, credential.signed_headers)
    signed = ";".join(credential.signed_headers)
    provided = credential.signature.lower()
    first: tuple[str, str] | None = None
    for uri in _canonical_uris(request, style == "s3"):
        for query in _canonical_queries(request, "X-Amz-Signature" if presigned else None):
            canonical = "\n".join((request.method.upper(), uri, query, headers, signed, payload))
            to_sign = _string_to_sign(timestamp, credential.scope, canonical)
            if hmac.compare_digest(_sign_hex(key, to_sign), provided):
                if style == "s3" and not presigned:
                    _bind_s3_payload(request, payload)
                return
            if first is None:
                first = (canonical, to_sign)
    assert first is not None
    if style == "s3":
        raise auth_error(style, "signature", AWSAccessKeyId=credential.access_key, StringToSign=first[1],
                         SignatureProvided=credential.signature, CanonicalRequest=first[0])
    raise auth_error(style, "signature")


def _check_presign_window(request: HttpRequest, stamp: datetime, now: datetime, style: Style,
                          max_skew: int) -> None:
    text = request.query_dict.get("X-Amz-Expires", "")
    if not text.isdigit():
        raise _Malformed("X-Amz-Expires should be a number")
    expires = int(text)
    if expires > MAX_PRESIGN_EXPIRES:
        raise _Malformed("X-Amz-Expires must be less than a week (in seconds) that is 604800")
    if stamp - timedelta(seconds=max_skew) > now:
        raise auth_error(style, "expired", "Request is not valid yet")
    end = stamp + timedelta(seconds=expires)
    if now > end:
        if style == "s3":
            raise auth_error(style, "expired", "Request has expired", **{
                "X-Amz-Expires": text, "Expires": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")})
        raise auth_error(style, "expired", f"Signature expired: {stamp.strftime(TIMESTAMP_FORMAT)} is now "
                         f"earlier than {(now - timedelta(seconds=expires)).strftime(TIMESTAMP_FORMAT)} "
                         f"({now.strftime(TIMESTAMP_FORMAT)} - {expires} sec.)")


# ---------------------------------------------------------------------------------------------- SigV2

def _v2_resources(request: HttpRequest) -> list[str]:
    """The canonical resource; a bucket-level path is also read with the trailing slash SDKs sign."""
    subresources: list[tuple[str, str | None]] = []
    for part in request.query_string.split("&"):
        key, eq, value = part.partition("=")
        if key in _V2_SUBRESOURCES:
            subresources.append((key, unquote(value) if eq else None))
    suffix = ""
    if subresources:
        subresources.sort(key=lambda item: item[0])
        suffix = "?" + "&".join(k if v is None else f"{k}={v}" for k, v in subresources)
    path = request.path or "/"
    paths = [path]
    if path.count("/") == 1 and len(path) > 1:
        paths.append(path + "/")
    return [p + suffix for p in paths]


def _v2_amz_headers(request: HttpRequest, presigned: bool) -> str:
    found: dict[str, list[str]] = {}
    for name, value in request.headers:
        if name.startswith("x-amz-"):
            found.setdefault(name, []).append(value.strip())
    if presigned:
        for name, value in request.query:
            lower = name.lower()
            if lower.startswith("x-amz-") and lower not in found:
                found[lower] = [value.strip()]
    return "".join(f"{name}:{','.join(found[name])}\n" for name in sorted(found))


def v2_strings_to_sign(request: HttpRequest, credential: Credential) -> list[str]:
    """The Version 2 strings-to-sign this request may have been signed with (Date line readings)."""
    presigned = credential.scheme == "sigv2-query"
    query = request.query_dict

    def standard(name: str) -> str:
        value = request.headers.get(name)
        if value is None and presigned:
            value = query.get(name)
        return (value or "").strip()

    if presigned:
        dates = [credential.timestamp or ""]
    else:
        date = (request.headers.get("date") or "").strip()
        dates = [date, ""] if request.headers.get("x-amz-date") else [date]
    amz = _v2_amz_headers(request, presigned)
    head = f"{request.method.upper()}\n{standard('content-md5')}\n{standard('content-type')}\n"
    return [f"{head}{date}\n{amz}{resource}" for resource in _v2_resources(request)
            for date in dict.fromkeys(dates)]


def _verify_v2(request: HttpRequest, secret: str, credential: Credential, now: datetime, style: Style,
               max_skew: int) -> None:
    if credential.scheme == "sigv2-query":
        text = credential.timestamp or ""
        if not text.isdigit():
            raise auth_error(style, "expired", "Invalid date (should be seconds since epoch): " + text)
        end = datetime.fromtimestamp(int(text), UTC)
        if now > end:
            raise auth_error(style, "expired", "Request has expired", Expires=end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             ServerTime=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    else:
        stamp = _v2_time(credential.timestamp)
        if stamp is None:
            raise auth_error(style, "missing", "AWS authentication requires a valid Date or x-amz-date header")
        _check_skew(style, stamp, now, max_skew)
    candidates = v2_strings_to_sign(request, credential)
    for to_sign in candidates:
        digest = hmac.new(secret.encode("utf-8"), _wire_bytes(to_sign), hashlib.sha1).digest()
        if hmac.compare_digest(b64encode(digest).decode("ascii"), credential.signature):
            return
    raise auth_error(style, "signature", AWSAccessKeyId=credential.access_key, StringToSign=candidates[0],
                     SignatureProvided=credential.signature)


def _v2_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return _basic_time(text.strip())
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------- entry points

def verify(request: HttpRequest, secret: str, credential: Credential, now: datetime,
           service: str | None = None, max_skew: int = 900) -> None:
    """Raises the service's error unless the request is signed with `secret` as `credential` claims.

    `service` is the routed service's signing name; it picks the error style and must match the
    credential scope. A verified S3 request whose x-amz-content-sha256 is a digest also gets its body
    bound to that digest (checked now if already read, else when a streamed body ends).
    """
    service = service or credential.service
    style = style_of(service)
    try:
        if credential.scheme in ("sigv4-header", "sigv4-query"):
            if credential.service != service:
                raise _Malformed(f"Credential should be scoped to correct service: '{service}'.")
            _verify_v4(request, secret, credential, now, style, max_skew)
        elif credential.scheme in ("sigv2-header", "sigv2-query"):
            if style != "s3":
                raise auth_error(style, "unsupported", "Signature Version 2 is only supported by Amazon S3.")
            _verify_v2(request, secret, credential, now, style, max_skew)
        else:
            raise auth_error(style, "unsupported", "The authorization mechanism you have provided is not "
                             "supported. Please use AWS4-HMAC-SHA256.")
    except _Malformed as exc:
        problem = "malformed_query" if credential.scheme == "sigv4-query" else "malformed"
        raise auth_error(style, problem, str(exc)) from None


def authenticate(request: HttpRequest, keys: KeyStore, service: str, config: Config,
                 now: datetime | None = None) -> KeyRecord:
    """The verified identity of a request in strict mode, or the service's authentication error."""
    style = style_of(service)
    now = now or datetime.now(UTC)
    try:
        credential = _read_credential(request)
    except _Malformed as exc:
        problem = "malformed" if request.headers.get("authorization") else "malformed_query"
        raise auth_error(style, problem, str(exc)) from None
    if credential is None:
        raise auth_error(style, "missing")
    record = keys.lookup(credential.access_key)
    if record is None:
        fields = {"AWSAccessKeyId": credential.access_key} if style == "s3" else {}
        raise auth_error(style, "unknown_key", **fields)
    if record.kind == "temporary":
        token = credential.session_token or ""
        if not record.session_token or not hmac.compare_digest(token.encode(), record.session_token.encode()):
            raise auth_error(style, "token_invalid")
    verify(request, record.secret, credential, now, service, config.max_clock_skew)
    if record.expired(now):
        raise auth_error(style, "token_expired")
    return record


# ---------------------------------------------------------------------------------------------- streaming

class ChunkSigner:
    """Computes the signatures of an aws-chunked body, each chained to the one before.

    Call it with each chunk's data (the final empty chunk included) in order; `trailer` signs the
    canonical trailer block after the final chunk.
    """

    def __init__(self, key: bytes, timestamp: str, scope: str, seed_signature: str) -> None:
        self._key = key
        self._timestamp = timestamp
        self._scope = scope
        self.previous = seed_signature.lower()

    def __call__(self, chunk: bytes) -> str:
        to_sign = "\n".join(("AWS4-HMAC-SHA256-PAYLOAD", self._timestamp, self._scope, self.previous,
                             EMPTY_SHA256, hashlib.sha256(chunk).hexdigest()))
        self.previous = _sign_hex(self._key, to_sign)
        return self.previous

    def trailer(self, canonical_trailers: bytes) -> str:
        to_sign = "\n".join(("AWS4-HMAC-SHA256-TRAILER", self._timestamp, self._scope, self.previous,
                             hashlib.sha256(canonical_trailers).hexdigest()))
        self.previous = _sign_hex(self._key, to_sign)
        return self.previous


def chunk_signer(credential: Credential, secret: str, seed_signature: str) -> ChunkSigner:
    """The signer of a verified request's aws-chunked body; the seed is the request's own signature."""
    key = signing_key(secret, credential.date or "", credential.region or "", credential.service)
    return ChunkSigner(key, credential.timestamp or "", credential.scope, seed_signature)


def chunk_verifiers(credential: Credential, secret: str, seed_signature: str | None = None
                    ) -> tuple[Callable[[bytes, str], None], Callable[[bytes, str], None]]:
    """(verify_chunk, verify_trailer) for the aws-chunked reader: each raises SignatureDoesNotMatch."""
    signer = chunk_signer(credential, secret, seed_signature or credential.signature)
    style = style_of(credential.service)

    def verify_chunk(data: bytes, signature: str) -> None:
        if not hmac.compare_digest(signer(data), signature.lower()):
            raise auth_error(style, "signature")

    def verify_trailer(canonical: bytes, signature: str) -> None:
        if not hmac.compare_digest(signer.trailer(canonical), signature.lower()):
            raise auth_error(style, "signature")

    return verify_chunk, verify_trailer


def request_chunk_verifiers(request: HttpRequest, keys: KeyStore
                            ) -> tuple[Callable[[bytes, str], None], Callable[[bytes, str], None] | None] | None:
    """(verify_chunk, verify_trailer or None) for a strict-mode request whose aws-chunked body is signed.

    None when there is nothing to verify: open mode (where the request signature itself is not checked
    either), or a body that is not chunk-signed. Call it after authenticate() accepted the request.
    """
    declared = request.headers.get("x-amz-content-sha256") or ""
    if keys.mode != "strict" or declared not in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
        return None
    credential = parse_credential(request)
    if credential is None or credential.scheme != "sigv4-header":
        raise auth_error("s3", "signature")
    record = keys.lookup(credential.access_key)
    if record is None:
        raise auth_error("s3", "unknown_key", AWSAccessKeyId=credential.access_key)
    verify_chunk, verify_trailer = chunk_verifiers(credential, record.secret)
    return verify_chunk, verify_trailer if declared == STREAMING_SIGNED_TRAILER else None
