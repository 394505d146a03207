"""Browser uploads to S3 with an HTML form (POST Object): the form, its policy and its signature.

The multipart body is parsed as it streams in; the file part goes to a spooled temporary file (memory up
to 1 MiB, then disk), and stops as soon as it outgrows the policy's content-length-range. Fields after
the file are ignored, as S3 ignores them. The policy is checked as S3 checks it: the signature over the
base64 policy (SigV4 ``x-amz-signature`` or SigV2 ``signature``), its expiration, every condition, and
that no form field is left without a condition.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from fogbank.errors import AwsError
from fogbank.protocol.accounts import KeyRecord, KeyStore
from fogbank.protocol.auth import auth_error, signing_key
from fogbank.protocol.http import HttpRequest

SPOOL_MEMORY = 1024 * 1024
READ_SIZE = 64 * 1024
# S3 limits the form fields that precede the file, and a single POST upload to 5 GiB.
MAX_FIELDS_BYTES = 20 * 1024
MAX_UPLOAD_BYTES = 5 * 1024**3

# Fields that need no policy condition (the signature machinery itself, and the file).
_EXEMPT_FIELDS = frozenset({"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"})
_MALFORMED = "The body of your POST request is not well-formed multipart/form-data."


class MalformedPOSTRequest(AwsError):
    code = "MalformedPOSTRequest"
    status = 400


class InvalidArgument(AwsError):
    code = "InvalidArgument"
    status = 400


class InvalidPolicyDocument(AwsError):
    code = "InvalidPolicyDocument"
    status = 400


class AccessDenied(AwsError):
    code = "AccessDenied"
    status = 403


class EntityTooLarge(AwsError):
    code = "EntityTooLarge"
    status = 400


class EntityTooSmall(AwsError):
    code = "EntityTooSmall"
    status = 400


class MaxPostPreDataLengthExceededError(AwsError):
    code = "MaxPostPreDataLengthExceededError"
    status = 400


def _missing_field(name: str) -> InvalidArgument:
    return InvalidArgument(f"Bucket POST must contain a field named '{name}'.  If it is specified, please "
                           "check the order of the fields.", ArgumentName=name, ArgumentValue="")


@dataclass
class PostForm:
    """A parsed POST upload; `file` is positioned at its start and must be closed by the caller."""

    fields: dict[str, str]  # lower-cased names, the file excluded
    key: str  # with ${filename} substituted
    file: IO[bytes]
    filename: str
    size: int
    file_content_type: str | None = None
    # The verified signer, when the form was signed (its account is the uploader's).
    identity: KeyRecord | None = None
    policy: dict[str, Any] | None = field(default=None, repr=False)

    def close(self) -> None:
        self.file.close()


# ---------------------------------------------------------------------------------------------- parsing

class _FormReader:
    """Callbacks for the streaming multipart parser; collects fields and spools the file."""

    def __init__(self, spool_dir: Path | None, limit_for: Callable[[dict[str, str]], int]) -> None:
        self.fields: dict[str, str] = {}
        self.file: IO[bytes] | None = None
        self.filename = ""
        self.file_content_type: str | None = None
        self.size = 0
        self.done = False
        self._spool_dir = spool_dir
        self._limit_for = limit_for
        self._limit = MAX_UPLOAD_BYTES
        self._file_closed = False
        self._field_bytes = 0
        self._headers: dict[str, str] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._name: str | None = None
        self._is_file = False
        self._value = bytearray()

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self.part_begin, "on_header_field": self.header_field,
                "on_header_value": self.header_value, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished, "on_part_data": self.part_data,
                "on_part_end": self.part_end, "on_end": self.end}

    def part_begin(self) -> None:
        self._headers = {}
        self._name = None
        self._is_file = False
        self._value = bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        name = self._header_name.decode("latin-1").strip().lower()
        self._headers[name] = self._header_value.decode("utf-8", "replace").strip()
        self._header_name = bytearray()
        self._header_value = bytearray()

    def headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get("content-disposition", ""))
        name = params.get(b"name")
        if disposition.lower() != b"form-data" or name is None:
            raise MalformedPOSTRequest(_MALFORMED)
        self._name = name.decode("utf-8", "replace")
        if self._name.lower() == "file" and not self._file_closed and self.file is None:
            self._is_file = True
            self.filename = params.get(b"filename", b"").decode("utf-8", "replace")
            self.file_content_type = self._headers.get("content-type")
            self._limit = min(MAX_UPLOAD_BYTES, self._limit_for(self.fields))
            spool_dir = str(self._spool_dir) if self._spool_dir is not None else None
            # Handed to the PostForm, whose owner closes it.
            self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY, dir=spool_dir)  # noqa: SIM115

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file_closed:
            return  # parts after the file are ignored
        if self._is_file:
            assert self.file is not None
            self.size += end - start
            if self.size > self._limit:
                raise EntityTooLarge("Your proposed upload exceeds the maximum allowed size",
                                     ProposedSize=str(self.size), MaxSizeAllowed=str(self._limit))
            self.file.write(data[start:end])
            return
        self._field_bytes += end - start
        if self._field_bytes > MAX_FIELDS_BYTES:
            raise MaxPostPreDataLengthExceededError(
                "Your POST request fields preceding the upload file were too large.",
                MaxPostPreDataLength=str(MAX_FIELDS_BYTES))
        self._value += data[start:end]

    def part_end(self) -> None:
        if self._file_closed:
            return
        if self._is_file:
            self._file_closed = True
            return
        if self._name is not None:
            self.fields.setdefault(self._name.lower(), self._value.decode("utf-8", "replace"))

    def end(self) -> None:
        self.done = True


def _boundary(request: HttpRequest) -> bytes:
    content_type = request.headers.get("content-type") or ""
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind.lower() != b"multipart/form-data" or not boundary:
        raise MalformedPOSTRequest(_MALFORMED)
    return boundary


def parse_post_form(request: HttpRequest, spool_dir: Path | None = None,
                    limit_for: Callable[[dict[str, str]], int] | None = None) -> PostForm:
    """Reads the whole form; `limit_for(fields before the file)` caps the file size while it streams."""
    reader = _FormReader(spool_dir, limit_for or (lambda _fields: MAX_UPLOAD_BYTES))
    try:
        parser = MultipartParser(_boundary(request), reader.callbacks())  # type: ignore[arg-type]
        while True:
            chunk = request.body.read(READ_SIZE)
            if not chunk:
                break
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        _discard(reader.file)
        raise MalformedPOSTRequest(_MALFORMED) from None
    except BaseException:
        _discard(reader.file)
        raise
    if not reader.done:
        _discard(reader.file)
        raise MalformedPOSTRequest(_MALFORMED)
    if reader.file is None:
        raise InvalidArgument("POST requires exactly one file upload per request.", ArgumentName="file",
                              ArgumentValue="0")
    reader.file.seek(0)
    form = PostForm(reader.fields, "", reader.file, reader.filename, reader.size, reader.file_content_type)
    raw_key = reader.fields.get("key")
    if raw_key is None:
        form.close()
        raise _missing_field("key")
    form.key = raw_key.replace("${filename}", reader.filename)
    if not form.key:
        form.close()
        raise InvalidArgument("User key must have a length greater than 0.", ArgumentName="key",
                              ArgumentValue="")
    return form


def _discard(handle: IO[bytes] | None) -> None:
    if handle is not None:
        handle.close()


# ---------------------------------------------------------------------------------------------- the policy

def decode_policy(text: str) -> dict[str, Any]:
    try:
        document = json.loads(base64.b64decode(text.encode("ascii"), validate=False))
    except (binascii.Error, ValueError, UnicodeError):
        raise InvalidPolicyDocument("Invalid Policy: Invalid JSON.") from None
    if not isinstance(document, dict):
        raise InvalidPolicyDocument("Invalid Policy: Invalid JSON.")
    return document


def _content_length_range(policy: dict[str, Any]) -> tuple[int, int] | None:
    found: tuple[int, int] | None = None
    for condition in policy.get("conditions") or []:
        if isinstance(condition, list) and len(condition) == 3 and str(condition[0]).lower() == \
                "content-length-range":
            try:
                low, high = int(condition[1]), int(condition[2])
            except (TypeError, ValueError):
                raise InvalidPolicyDocument("Invalid Policy: Invalid content-length-range condition: "
                                            f"{json.dumps(condition)}") from None
            found = (low, high)
    return found


def _policy_limit(fields: dict[str, str]) -> int:
    """The largest file the policy (if already read and well formed) allows; checked again afterwards."""
    text = fields.get("policy")
    if text is None:
        return MAX_UPLOAD_BYTES
    try:
        bounds = _content_length_range(decode_policy(text))
    except AwsError:
        return MAX_UPLOAD_BYTES
    return bounds[1] if bounds else MAX_UPLOAD_BYTES


def _failed(condition: Any) -> AccessDenied:
    return AccessDenied("Invalid according to Policy: Policy Condition failed: " + json.dumps(condition))


def _field_value(form: PostForm, bucket: str, name: str) -> str | None:
    name = name.lower()
    if name == "bucket":
        return bucket
    return form.fields.get(name)


def _check_condition(form: PostForm, bucket: str, condition: Any, covered: set[str]) -> None:
    if isinstance(condition, dict):
        for name, expected in condition.items():
            covered.add(str(name).lower())
            if _field_value(form, bucket, str(name)) != expected:
                raise _failed(condition)
        return
    if not isinstance(condition, list) or len(condition) != 3:
        raise InvalidPolicyDocument(f"Invalid Policy: Invalid Condition: {json.dumps(condition)}")
    op = str(condition[0]).lower()
    if op == "content-length-range":
        return
    target, expected = condition[1], condition[2]
    if op not in ("eq", "starts-with") or not isinstance(target, str) or not target.startswith("$") or \
            not isinstance(expected, str):
        raise InvalidPolicyDocument(f"Invalid Policy: Invalid Condition: {json.dumps(condition)}")
    name = target[1:].lower()
    covered.add(name)
    actual = _field_value(form, bucket, name)
    if op == "eq":
        if actual != expected:
            raise _failed(condition)
        return
    values = (actual or "").split(",") if name == "content-type" else [actual or ""]
    if (actual is None and expected) or not all(v.strip().startswith(expected) for v in values):
        raise _failed(condition)


def check_policy(form: PostForm, bucket: str, policy: dict[str, Any], now: datetime) -> None:
    """Expiration, every condition, no field left uncovered, and the content-length-range."""
    expiration = policy.get("expiration")
    if not isinstance(expiration, str):
        raise InvalidPolicyDocument("Invalid Policy: Policy missing expiration.")
    try:
        text = expiration[:-1] + "+00:00" if expiration.endswith(("Z", "z")) else expiration
        expires = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidPolicyDocument(f"Invalid Policy: Invalid 'expiration' value: '{expiration}'") from None
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if now >= expires:
        raise AccessDenied("Invalid according to Policy: Policy expired.")
    conditions = policy.get("conditions")
    if not isinstance(conditions, list):
        raise InvalidPolicyDocument("Invalid Policy: Policy missing conditions.")
    covered: set[str] = set()
    for condition in conditions:
        _check_condition(form, bucket, condition, covered)
    extra = sorted(name for name in form.fields
                   if name not in covered and name not in _EXEMPT_FIELDS and not name.startswith("x-ignore-"))
    if extra:
        raise AccessDenied("Invalid according to Policy: Extra input fields: " + ", ".join(extra))
    bounds = _content_length_range(policy)
    if bounds is not None:
        low, high = bounds
        if form.size > high:
            raise EntityTooLarge("Your proposed upload exceeds the maximum allowed size",
                                 ProposedSize=str(form.size), MaxSizeAllowed=str(high))
        if form.size < low:
            raise EntityTooSmall("Your proposed upload is smaller than the minimum allowed size",
                                 ProposedSize=str(form.size), MinSizeAllowed=str(low))


# ---------------------------------------------------------------------------------------------- the signature

def _signer(form: PostForm) -> tuple[str, Callable[[str], bool]]:
    """The access key the form claims, and a check of the signature given that key's secret."""
    fields = form.fields
    policy = fields["policy"]
    if "x-amz-signature" in fields or "x-amz-credential" in fields or "x-amz-algorithm" in fields:
        for name in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature"):
            if name.lower() not in fields:
                raise _missing_field(name)
        if fields["x-amz-algorithm"] != "AWS4-HMAC-SHA256":
            raise InvalidArgument("POST form requests must use the AWS4-HMAC-SHA256 algorithm.",
                                  ArgumentName="x-amz-algorithm", ArgumentValue=fields["x-amz-algorithm"])
        parts = fields["x-amz-credential"].split("/")
        if len(parts) != 5 or parts[4] != "aws4_request":
            raise InvalidArgument("Unable to parse the x-amz-credential field.", ArgumentName="x-amz-credential",
                                  ArgumentValue=fields["x-amz-credential"])
        access_key, date, region, service = parts[:4]
        provided = fields["x-amz-signature"].lower()

        def check_v4(secret: str) -> bool:
            key = signing_key(secret, date, region, service)
            expected = hmac.new(key, policy.encode("utf-8"), hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected, provided)

        return access_key, check_v4
    if "awsaccesskeyid" not in fields:
        raise _missing_field("AWSAccessKeyId")
    if "signature" not in fields:
        raise _missing_field("Signature")
    given = fields["signature"]

    def check_v2(secret: str) -> bool:
        digest = hmac.new(secret.encode("utf-8"), policy.encode("utf-8"), hashlib.sha1).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode("ascii"), given)

    return fields["awsaccesskeyid"], check_v2


def verify_post_signature(form: PostForm, keys: KeyStore, now: datetime) -> KeyRecord:
    """The signer of a form that carries a policy; raises S3's errors for an unknown key or bad signature.

    Open mode trusts any signature, as it does for signed headers: the fields must be there, and the
    key names the uploader's account.
    """
    access_key, check = _signer(form)
    if keys.mode != "strict":
        return keys.resolve(access_key)
    record = keys.lookup(access_key)
    if record is None:
        raise auth_error("s3", "unknown_key", AWSAccessKeyId=access_key)
    if record.kind == "temporary":
        token = form.fields.get("x-amz-security-token", "")
        if not record.session_token or not hmac.compare_digest(token.encode(), record.session_token.encode()):
            raise auth_error("s3", "token_invalid")
    if not check(record.secret):
        raise auth_error("s3", "signature", AWSAccessKeyId=access_key, StringToSign=form.fields["policy"],
                         SignatureProvided=form.fields.get("x-amz-signature") or form.fields.get("signature", ""))
    if record.expired(now):
        raise auth_error("s3", "token_expired")
    return record


def read_post_upload(request: HttpRequest, bucket: str, keys: KeyStore, now: datetime | None = None,
                     spool_dir: Path | None = None) -> PostForm:
    """Parses and authorises a POST upload to `bucket`; the caller stores `form.file` under `form.key`.

    Strict mode requires a signed policy. Open mode accepts an unsigned form without a policy (as S3 does
    for a bucket that allows anonymous writes), but a policy that is present is always enforced.
    """
    now = now or datetime.now(UTC)
    form = parse_post_form(request, spool_dir, _policy_limit)
    try:
        policy_text = form.fields.get("policy")
        if policy_text is None:
            if keys.mode == "strict":
                raise AccessDenied("Access Denied")
            return form
        form.identity = verify_post_signature(form, keys, now)
        form.policy = decode_policy(policy_text)
        check_policy(form, bucket, form.policy, now)
    except BaseException:
        form.close()
        raise
    return form
