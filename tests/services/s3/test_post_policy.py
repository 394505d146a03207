"""Browser POST uploads: forms from boto3's generate_presigned_post, verified and checked like S3 does."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import botocore.signers
import pytest
from botocore.config import Config as BotoConfig
from urllib3.filepost import encode_multipart_formdata

from fogbank.config import Config
from fogbank.errors import AwsError, error_status
from fogbank.protocol.accounts import KeyStore
from fogbank.protocol.http import BytesBody, Headers, HttpRequest
from fogbank.services.s3.post_policy import SPOOL_MEMORY, read_post_upload

FIXED = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
BUCKET = "uploads-bucket"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    naive = FIXED.replace(tzinfo=None)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: naive)
    monkeypatch.setattr(botocore.signers, "get_current_datetime", lambda *a, **k: naive)


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(Config(data_dir=tmp_path, auth="strict"))


def client(access_key: str, secret: str, token: str | None = None, version: str = "s3v4") -> Any:
    return boto3.client("s3", endpoint_url="http://localhost:4566", region_name="eu-west-1",
                        aws_access_key_id=access_key, aws_secret_access_key=secret, aws_session_token=token,
                        config=BotoConfig(signature_version=version))


class Trickle:
    """A body that arrives in small reads, and remembers how much was read."""

    def __init__(self, data: bytes, step: int = 7919) -> None:
        self.data = data
        self.step = step
        self.offset = 0

    def read(self, size: int = -1, /) -> bytes:
        size = self.step if size < 0 else min(size, self.step)
        chunk = self.data[self.offset:self.offset + size]
        self.offset += len(chunk)
        return chunk


def form_request(fields: dict[str, str] | list[tuple[str, Any]], file: tuple[str, bytes, str] | None = (
        "photo.jpg", b"\xff\xd8 image bytes", "image/jpeg"), after: list[tuple[str, str]] | None = None,
        body: Any = None) -> HttpRequest:
    parts: list[tuple[str, Any]] = list(fields.items()) if isinstance(fields, dict) else list(fields)
    if file is not None:
        parts.append(("file", file))
    parts.extend(after or [])
    data, content_type = encode_multipart_formdata(parts, boundary="fogbankboundary1234")
    headers = Headers([("host", "localhost:4566"), ("content-type", content_type)])
    return HttpRequest("POST", f"/{BUCKET}", "", headers, body(data) if body else BytesBody(data))


def rejected(request: HttpRequest, keys: KeyStore, now: datetime = FIXED, bucket: str = BUCKET) -> AwsError:
    with pytest.raises(AwsError) as info:
        read_post_upload(request, bucket, keys, now=now)
    return info.value


def test_sigv4_post_with_filename_key(keys: KeyStore) -> None:
    access_key, secret = keys.create_key("123456789012")
    post = client(access_key, secret).generate_presigned_post(
        BUCKET, "user/7/${filename}", Fields={"Content-Type": "image/jpeg"},
        Conditions=[{"Content-Type": "image/jpeg"}, ["content-length-range", 1, 1000]], ExpiresIn=600)
    form = read_post_upload(form_request(post["fields"]), BUCKET, keys, now=FIXED)
    try:
        assert form.key == "user/7/photo.jpg"
        assert form.filename == "photo.jpg"
        assert form.file.read() == b"\xff\xd8 image bytes"
        assert form.size == len(b"\xff\xd8 image bytes")
        assert form.fields["content-type"] == "image/jpeg"
        assert form.file_content_type == "image/jpeg"
        assert form.identity is not None and form.identity.account_id == "123456789012"
        assert form.policy is not None and form.policy["expiration"] == "2026-03-14T15:19:26Z"
    finally:
        form.close()


def test_streamed_body_and_fields_after_the_file_are_ignored(keys: KeyStore) -> None:
    access_key, secret = keys.create_key()
    post = client(access_key, secret).generate_presigned_post(BUCKET, "k.txt")
    request = form_request(post["fields"], after=[("x-amz-meta-late", "ignored")], body=Trickle)
    form = read_post_upload(request, BUCKET, keys, now=FIXED)
    assert "x-amz-meta-late" not in form.fields
    assert form.key == "k.txt"
    form.close()


def test_large_file_is_spooled_and_intact(keys: KeyStore) -> None:
    access_key, secret = keys.create_key()
    post = client(access_key, secret).generate_presigned_post(BUCKET, "big.bin")
    payload = bytes(range(256)) * (3 * SPOOL_MEMORY // 256)
    form = read_post_upload(form_request(post["fields"], ("big.bin", payload, "application/octet-stream"),
                                         body=Trickle), BUCKET, keys, now=FIXED)
    assert form.size == len(payload)
    assert form.file._rolled  # type: ignore[attr-defined]  # spooled to disk, not held in memory
    assert form.file.read() == payload
    form.close()


def test_sigv2_post(keys: KeyStore) -> None:
    access_key, secret = keys.create_key("210987654321")
    post = client(access_key, secret, version="s3").generate_presigned_post(BUCKET, "v2.txt")
    assert "signature" in post["fields"] and "AWSAccessKeyId" in post["fields"]
    form = read_post_upload(form_request(post["fields"]), BUCKET, keys, now=FIXED)
    assert form.identity is not None and form.identity.account_id == "210987654321"
    form.close()
    bad = client(access_key, "wrong-secret", version="s3").generate_presigned_post(BUCKET, "v2.txt")
    error = rejected(form_request(bad["fields"]), keys)
    assert (error.error_code, error_status(error)) == ("SignatureDoesNotMatch", 403)


def test_signature_errors(keys: KeyStore) -> None:
    access_key, secret = keys.create_key()
    post = client(access_key, "not-the-secret").generate_presigned_post(BUCKET, "k")
    assert rejected(form_request(post["fields"]), keys).error_code == "SignatureDoesNotMatch"

    unknown = client("AKIAUNKNOWNUNKNOWN00", secret).generate_presigned_post(BUCKET, "k")
    error = rejected(form_request(unknown["fields"]), keys)
    assert (error.error_code, error.fields["AWSAccessKeyId"]) == ("InvalidAccessKeyId", "AKIAUNKNOWNUNKNOWN00")

    good = client(access_key, secret).generate_presigned_post(BUCKET, "k")
    policy = json.loads(base64.b64decode(good["fields"]["policy"]))
    policy["conditions"].append(["content-length-range", 0, 10**9])
    forged = dict(good["fields"], policy=base64.b64encode(json.dumps(policy).encode()).decode())
    assert rejected(form_request(forged), keys).error_code == "SignatureDoesNotMatch"

    missing = {k: v for k, v in good["fields"].items() if k != "x-amz-signature"}
    error = rejected(form_request(missing), keys)
    assert (error.error_code, error.fields["ArgumentName"]) == ("InvalidArgument", "X-Amz-Signature")


def test_temporary_credentials_need_their_token(keys: KeyStore) -> None:
    temp = keys.issue_temporary("123456789012", 3600)
    post = client(temp.access_key, temp.secret, temp.session_token).generate_presigned_post(BUCKET, "k")
    assert post["fields"]["x-amz-security-token"] == temp.session_token
    form = read_post_upload(form_request(post["fields"]), BUCKET, keys, now=FIXED)
    form.close()
    without = client(temp.access_key, temp.secret).generate_presigned_post(BUCKET, "k")
    assert rejected(form_request(without["fields"]), keys).error_code == "InvalidToken"


def test_policy_expiry(keys: KeyStore) -> None:
    access_key, secret = keys.create_key()
    post = client(access_key, secret).generate_presigned_post(BUCKET, "k", ExpiresIn=60)
    error = rejected(form_request(post["fields"]), keys, now=FIXED + timedelta(seconds=61))
    assert (error.error_code, str(error), error_status(error)) == \
        ("AccessDenied", "Invalid according to Policy: Policy expired.", 403)


def test_conditions(keys: KeyStore) -> None:
    access_key, secret = keys.create_key()
    s3 = client(access_key, secret)
    post = s3.generate_presigned_post(BUCKET, "user/7/${filename}", Fields={"acl": "private"},
                                      Conditions=[["eq", "$acl", "private"]])
    other_key = dict(post["fields"], key="admin/evil.txt")
    error = rejected(form_request(other_key), keys)
    assert error.error_code == "AccessDenied"
    assert str(error) == 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/7/"]'

    other_acl = dict(post["fields"], acl="public-read")
    assert str(rejected(form_request(other_acl), keys)) == \
        'Invalid according to Policy: Policy Condition failed: ["eq", "$acl", "private"]'

    wrong_bucket = rejected(form_request(post["fields"]), keys, bucket="another-bucket")
    assert str(wrong_bucket) == \
        'Invalid according to Policy: Policy Condition failed: {"bucket": "uploads-bucket"}'

    extra = dict(post["fields"], **{"Content-Type": "text/html", "x-ignore-me": "fine"})
    error = rejected(form_request(extra), keys)
    assert str(error) == "Invalid according to Policy: Extra input fields: content-type"


def test_content_type_starts_with_checks_every_listed_type(keys: KeyStore) -> None:
    access_key, secret = keys.create_key()
    post = client(access_key, secret).generate_presigned_post(
        BUCKET, "k", Fields={"Content-Type": "image/png"}, Conditions=[["starts-with", "$Content-Type", "image/"]])
    read_post_upload(form_request(post["fields"]), BUCKET, keys, now=FIXED).close()
    mixed = dict(post["fields"], **{"Content-Type": "image/png,text/html"})
    assert rejected(form_request(mixed), keys).error_code == "AccessDenied"


def test_content_length_range(keys: KeyStore) -> None:
    access_key, secret = keys.create_key()
    post = client(access_key, secret).generate_presigned_post(
        BUCKET, "k", Conditions=[["content-length-range", 10, 1024 * 1024]])
    small = rejected(form_request(post["fields"], ("a.txt", b"tiny", "text/plain")), keys)
    assert (small.error_code, small.fields["ProposedSize"], small.fields["MinSizeAllowed"]) == \
        ("EntityTooSmall", "4", "10")
    # Too large: the upload stops while streaming, long before the whole body has been read.
    request = form_request(post["fields"], ("a.bin", b"x" * (8 * 1024 * 1024), "application/octet-stream"),
                           body=Trickle)
    large = rejected(request, keys)
    assert (large.error_code, large.fields["MaxSizeAllowed"]) == ("EntityTooLarge", str(1024 * 1024))
    assert isinstance(request.body, Trickle) and request.body.offset < 2 * 1024 * 1024


def test_form_errors(keys: KeyStore) -> None:
    access_key, secret = keys.create_key()
    post = client(access_key, secret).generate_presigned_post(BUCKET, "k")
    error = rejected(form_request(post["fields"], file=None), keys)
    assert (error.error_code, error.fields["ArgumentName"]) == ("InvalidArgument", "file")
    no_key = {k: v for k, v in post["fields"].items() if k != "key"}
    error = rejected(form_request(no_key), keys)
    assert (error.error_code, error.fields["ArgumentName"]) == ("InvalidArgument", "key")

    whole = form_request(post["fields"])
    assert isinstance(whole.body, BytesBody)
    truncated = HttpRequest("POST", "/b", "", whole.headers, BytesBody(whole.body.getvalue()[:-30]))
    assert rejected(truncated, keys).error_code == "MalformedPOSTRequest"
    not_multipart = HttpRequest("POST", "/b", "", Headers([("content-type", "application/json")]),
                                BytesBody(b"{}"))
    assert rejected(not_multipart, keys).error_code == "MalformedPOSTRequest"
    garbage = HttpRequest("POST", "/b", "", whole.headers, BytesBody(b"--nope\r\nnot a form at all"))
    assert rejected(garbage, keys).error_code == "MalformedPOSTRequest"


def test_bad_policy_document(keys: KeyStore, tmp_path: Path) -> None:
    open_keys = KeyStore(Config(data_dir=tmp_path / "open", auth="open"))
    fields = {"key": "k", "AWSAccessKeyId": "test", "signature": "x", "policy": "bm90IGpzb24="}
    error = rejected(form_request(fields), open_keys)
    assert (error.error_code, error_status(error)) == ("InvalidPolicyDocument", 400)
    no_expiry = base64.b64encode(json.dumps({"conditions": []}).encode()).decode()
    error = rejected(form_request(dict(fields, policy=no_expiry)), open_keys)
    assert str(error) == "Invalid Policy: Policy missing expiration."


def test_open_mode(tmp_path: Path) -> None:
    keys = KeyStore(Config(data_dir=tmp_path, auth="open"))
    # No policy at all: accepted, as for a bucket that allows anonymous writes.
    form = read_post_upload(form_request({"key": "anon/${filename}"}), BUCKET, keys, now=FIXED)
    assert (form.key, form.identity) == ("anon/photo.jpg", None)
    form.close()
    # Any signature is trusted, and a 12-digit key names the account; the policy's conditions still hold.
    post = client("123456789012", "any-secret").generate_presigned_post(BUCKET, "fixed.txt")
    form = read_post_upload(form_request(post["fields"]), BUCKET, keys, now=FIXED)
    assert form.identity is not None and form.identity.account_id == "123456789012"
    form.close()
    error = rejected(form_request(dict(post["fields"], key="other.txt")), keys)
    assert error.error_code == "AccessDenied"


def test_strict_mode_requires_a_policy(keys: KeyStore) -> None:
    error = rejected(form_request({"key": "k"}), keys)
    assert (error.error_code, error_status(error)) == ("AccessDenied", 403)
