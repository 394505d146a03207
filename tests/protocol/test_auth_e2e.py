"""Strict-mode authentication through a real fogbank server: S3 with SigV4 and SigV2, presigned URLs."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from tests.support import FogbankServer, make_client

from fogbank.config import Config
from fogbank.protocol.accounts import KeyStore

KEY = "reports/2026 Q1/ü+résumé.txt"


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FogbankServer, str, str]]:
    data = tmp_path_factory.mktemp("strict") / "data"
    access_key, secret = KeyStore(Config(data_dir=Path(data), auth="strict")).create_key("123456789012")
    server = FogbankServer(data, auth="strict").start()
    yield server, access_key, secret
    server.stop()


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_s3_round_trip_and_presigned_urls(strict_server: tuple[FogbankServer, str, str],
                                          signature_version: str) -> None:
    server, access_key, secret = strict_server
    s3: Any = make_client(server.endpoint_url, "s3", access_key=access_key, secret_key=secret,
                          signature_version=signature_version)
    bucket = f"strict-{signature_version}"
    s3.create_bucket(Bucket=bucket)
    body = bytes(range(256)) * 8192  # 2 MiB: streamed to the server, not read whole
    s3.put_object(Bucket=bucket, Key=KEY, Body=body)
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == body
    s3.upload_fileobj(io.BytesIO(b"m" * (9 * 1024 * 1024)), bucket, "multipart.bin")
    assert s3.head_object(Bucket=bucket, Key="multipart.bin")["ContentLength"] == 9 * 1024 * 1024

    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": KEY}, ExpiresIn=300)
    response = requests.get(url, timeout=30)
    assert (response.status_code, response.content) == (200, body)
    tampered = requests.get(url.replace("2026%20Q1", "2026%20Q2"), timeout=30)
    assert tampered.status_code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in tampered.content


def test_s3_rejects_wrong_secret_unknown_key_and_anonymous(strict_server: tuple[FogbankServer, str, str]) -> None:
    server, access_key, _ = strict_server
    with pytest.raises(ClientError) as info:
        make_client(server.endpoint_url, "s3", access_key=access_key, secret_key="wrong").list_buckets()
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as info:
        make_client(server.endpoint_url, "s3").list_buckets()
    assert info.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    anonymous = requests.get(f"{server.endpoint_url}/", timeout=30)
    assert anonymous.status_code == 403
    assert b"<Code>AccessDenied</Code>" in anonymous.content
