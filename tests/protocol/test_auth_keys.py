"""The KeyStore (open and strict modes, persistence) and authenticate() over it."""

from __future__ import annotations

import json
import multiprocessing
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from fogbank.config import Config
from fogbank.errors import AwsError, error_status
from fogbank.protocol.accounts import KeyStore
from fogbank.protocol.auth import authenticate
from fogbank.protocol.http import BytesBody, Headers, HttpRequest

FIXED = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: FIXED.replace(tzinfo=None))


def strict(tmp_path: Path, clock: float | None = None) -> KeyStore:
    config = Config(data_dir=tmp_path, auth="strict")
    return KeyStore(config) if clock is None else KeyStore(config, clock=lambda: clock)


def signed(service: str, access_key: str, secret: str, token: str | None = None,
           body: bytes = b"{}") -> HttpRequest:
    credentials = Credentials(access_key, secret, token)
    signer: Any = (botocore.auth.S3SigV4Auth(credentials, "s3", "us-east-1") if service == "s3"
                   else botocore.auth.SigV4Auth(credentials, service, "us-east-1"))
    request = AWSRequest(method="POST", url="http://localhost:4566/bucket/key" if service == "s3" else
                         "http://localhost:4566/", data=body)
    signer.add_auth(request)
    prepared = request.prepare()
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()]
    headers.append(("host", "localhost:4566"))
    path = "/bucket/key" if service == "s3" else "/"
    return HttpRequest("POST", path, "", Headers(headers), BytesBody(body))


# --------------------------------------------------------------------------- KeyStore

def test_open_mode_accounts(tmp_path: Path) -> None:
    keys = KeyStore(Config(data_dir=tmp_path, auth="open"))
    assert keys.lookup("123456789012") is not None
    assert keys.resolve("123456789012").account_id == "123456789012"
    assert keys.resolve("test").account_id == "000000000000"
    assert keys.resolve("AKIA1234567890123456").account_id == "000000000000"
    assert keys.resolve("").account_id == "000000000000"
    assert not (tmp_path / "accounts" / "credentials.json").exists()


def test_strict_mode_knows_only_created_keys(tmp_path: Path) -> None:
    keys = strict(tmp_path)
    assert keys.lookup("test") is None
    assert keys.lookup("123456789012") is None
    access_key, secret = keys.create_key("210987654321")
    assert access_key.startswith("AKIA") and len(access_key) == 20 and len(secret) == 40
    record = keys.lookup(access_key)
    assert record is not None
    assert (record.secret, record.account_id, record.session_token, record.expiry) == \
        (secret, "210987654321", None, None)
    default_key, _ = keys.create_key()
    assert keys.resolve(default_key).account_id == "000000000000"


def test_credentials_file_is_private_json_and_survives_restart(tmp_path: Path) -> None:
    keys = strict(tmp_path)
    access_key, secret = keys.create_key("111122223333")
    path = tmp_path / "accounts" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["keys"][access_key]["secret"] == secret
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
    again = strict(tmp_path)
    record = again.lookup(access_key)
    assert record is not None and (record.secret, record.account_id) == (secret, "111122223333")


def _create_in_other_process(data_dir: str, queue: Any) -> None:
    keys = KeyStore(Config(data_dir=Path(data_dir), auth="strict"))
    queue.put(keys.create_key("444455556666"))


def test_key_created_by_another_process_is_seen_without_restart(tmp_path: Path) -> None:
    serving = strict(tmp_path)
    first, _ = serving.create_key()
    queue: Any = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(target=_create_in_other_process,
                                                           args=(str(tmp_path), queue))
    process.start()
    access_key, secret = queue.get(timeout=60)
    process.join(60)
    record = serving.lookup(access_key)
    assert record is not None and (record.secret, record.account_id) == (secret, "444455556666")
    assert serving.lookup(first) is not None


def test_add_and_delete_key(tmp_path: Path) -> None:
    keys = strict(tmp_path)
    keys.add_key("MYFIXEDKEY", "my-secret", "123412341234")
    assert keys.lookup("MYFIXEDKEY") is not None
    with pytest.raises(ValueError):
        keys.add_key("BAD/KEY", "s")
    with pytest.raises(ValueError):
        keys.create_key("12345")
    assert keys.delete_key("MYFIXEDKEY") is True
    assert keys.lookup("MYFIXEDKEY") is None
    assert strict(tmp_path).lookup("MYFIXEDKEY") is None


def test_temporary_keys_persist_with_expiry_and_are_swept_later(tmp_path: Path) -> None:
    now = FIXED.timestamp()
    keys = strict(tmp_path, clock=now)
    temp = keys.issue_temporary("999988887777", 900, arn="arn:aws:sts::999988887777:assumed-role/r/s",
                                user_id="AROAEXAMPLE:s")
    assert temp.access_key.startswith("ASIA") and temp.session_token
    assert temp.expiry == FIXED + timedelta(seconds=900)
    loaded = strict(tmp_path).lookup(temp.access_key)
    assert loaded == temp
    assert loaded is not None and loaded.principal_arn == "arn:aws:sts::999988887777:assumed-role/r/s"
    # Two days later another write sweeps the long-expired key away.
    later = strict(tmp_path, clock=now + 2 * 86400)
    later.create_key()
    assert later.lookup(temp.access_key) is None


def test_open_mode_temporary_key_carries_its_role_account(tmp_path: Path) -> None:
    keys = KeyStore(Config(data_dir=tmp_path, auth="open"))
    temp = keys.issue_temporary("555566667777", 3600)
    assert keys.resolve(temp.access_key).account_id == "555566667777"
    assert KeyStore(Config(data_dir=tmp_path, auth="open")).resolve(temp.access_key).account_id == \
        "555566667777"


# --------------------------------------------------------------------------- authenticate

def test_authenticate_returns_the_key_record(tmp_path: Path) -> None:
    keys = strict(tmp_path)
    access_key, secret = keys.create_key("123456789012")
    config = Config(data_dir=tmp_path, auth="strict")
    record = authenticate(signed("kinesis", access_key, secret), keys, "kinesis", config, now=FIXED)
    assert (record.access_key, record.account_id) == (access_key, "123456789012")
    record = authenticate(signed("s3", access_key, secret), keys, "s3", config, now=FIXED)
    assert record.account_id == "123456789012"


@pytest.mark.parametrize("service,code,status", [
    ("s3", "InvalidAccessKeyId", 403), ("kinesis", "UnrecognizedClientException", 403),
    ("sts", "InvalidClientTokenId", 403),
])
def test_authenticate_unknown_key(tmp_path: Path, service: str, code: str, status: int) -> None:
    keys = strict(tmp_path)
    with pytest.raises(AwsError) as info:
        authenticate(signed(service, "AKIAUNKNOWN000000000", "x"), keys, service,
                     Config(data_dir=tmp_path, auth="strict"), now=FIXED)
    assert (info.value.error_code, error_status(info.value)) == (code, status)


@pytest.mark.parametrize("service,code", [
    ("s3", "AccessDenied"), ("kinesis", "MissingAuthenticationTokenException"),
    ("sts", "MissingAuthenticationToken"),
])
def test_authenticate_unsigned_request(tmp_path: Path, service: str, code: str) -> None:
    request = HttpRequest("GET", "/", "", Headers([("host", "localhost")]))
    with pytest.raises(AwsError) as info:
        authenticate(request, strict(tmp_path), service, Config(data_dir=tmp_path, auth="strict"), now=FIXED)
    assert (info.value.error_code, error_status(info.value)) == (code, 403)


def test_authenticate_wrong_secret_and_malformed_header(tmp_path: Path) -> None:
    keys = strict(tmp_path)
    access_key, _ = keys.create_key()
    config = Config(data_dir=tmp_path, auth="strict")
    with pytest.raises(AwsError) as info:
        authenticate(signed("s3", access_key, "wrong"), keys, "s3", config, now=FIXED)
    assert info.value.error_code == "SignatureDoesNotMatch"
    request = HttpRequest("GET", "/", "", Headers([("authorization", "AWS4-HMAC-SHA256 Credential=x")]))
    with pytest.raises(AwsError) as info:
        authenticate(request, keys, "s3", config, now=FIXED)
    assert (info.value.error_code, error_status(info.value)) == ("AuthorizationHeaderMalformed", 400)
    with pytest.raises(AwsError) as info:
        authenticate(request, keys, "kinesis", config, now=FIXED)
    assert info.value.error_code == "IncompleteSignatureException"


def test_authenticate_temporary_credentials(tmp_path: Path) -> None:
    keys = strict(tmp_path, clock=FIXED.timestamp() - 600)
    temp = keys.issue_temporary("123456789012", 900)
    config = Config(data_dir=tmp_path, auth="strict")
    assert temp.session_token is not None
    ok = signed("kinesis", temp.access_key, temp.secret, temp.session_token)
    assert authenticate(ok, keys, "kinesis", config, now=FIXED).account_id == "123456789012"

    for service, code in (("kinesis", "UnrecognizedClientException"), ("s3", "InvalidToken")):
        no_token = signed(service, temp.access_key, temp.secret)
        with pytest.raises(AwsError) as info:
            authenticate(no_token, keys, service, config, now=FIXED)
        assert info.value.error_code == code
        wrong_token = signed(service, temp.access_key, temp.secret, "forged-token")
        with pytest.raises(AwsError) as info:
            authenticate(wrong_token, keys, service, config, now=FIXED)
        assert info.value.error_code == code

    late = FIXED + timedelta(seconds=301)
    expired = signed("kinesis", temp.access_key, temp.secret, temp.session_token)
    with pytest.raises(AwsError) as info:
        authenticate(expired, keys, "kinesis", config, now=late)
    assert (info.value.error_code, error_status(info.value)) == ("ExpiredTokenException", 400)
    with pytest.raises(AwsError) as info:
        authenticate(signed("s3", temp.access_key, temp.secret, temp.session_token), keys, "s3", config,
                     now=late)
    assert (info.value.error_code, error_status(info.value)) == ("ExpiredToken", 400)


def test_request_chunk_verifiers_for_signed_streaming_upload(tmp_path: Path) -> None:
    from fogbank.protocol.auth import chunk_signer, parse_credential, request_chunk_verifiers

    keys = strict(tmp_path)
    access_key, secret = keys.create_key()
    request = signed("s3", access_key, secret)
    assert request_chunk_verifiers(request, keys) is None  # a plain payload hash: nothing to verify

    headers = [(k, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" if k.lower() == "x-amz-content-sha256" else v)
               for k, v in request.headers]
    streaming = HttpRequest("PUT", "/bucket/key", "", Headers(headers))
    found = request_chunk_verifiers(streaming, keys)
    assert found is not None
    verify_chunk, verify_trailer = found
    assert verify_trailer is None
    credential = parse_credential(streaming)
    assert credential is not None
    expected = chunk_signer(credential, secret, credential.signature)
    verify_chunk(b"chunk one", expected(b"chunk one"))
    with pytest.raises(AwsError) as info:
        verify_chunk(b"tampered", expected(b"chunk two"))
    assert info.value.error_code == "SignatureDoesNotMatch"

    open_keys = KeyStore(Config(data_dir=tmp_path / "open", auth="open"))
    assert request_chunk_verifiers(streaming, open_keys) is None
