"""STS and strict-mode authentication through a real fogbank server, with boto3."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from tests.support import FogbankServer, make_client

ROLE = "arn:aws:iam::210987654321:role/analytics/reader"


def temp_client(url: str, creds: dict[str, Any], token: bool = True) -> Any:
    return boto3.client("sts", endpoint_url=url, region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"] if token else None,
                        config=BotoConfig(retries={"max_attempts": 1}))


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_open_mode_identity_and_assume_role(fogbank: FogbankServer, sts: Any) -> None:
    assert sts.get_caller_identity()["Account"] == "000000000000"
    assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::000000000000:root"
    as_account = make_client(fogbank.endpoint_url, "sts", access_key="123456789012")
    assert as_account.get_caller_identity()["Account"] == "123456789012"

    out = sts.assume_role(RoleArn=ROLE, RoleSessionName="nightly", DurationSeconds=900)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    now = datetime.now(UTC)
    assert now + timedelta(seconds=800) < creds["Expiration"] <= now + timedelta(seconds=901)
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::210987654321:assumed-role/reader/nightly"

    role = temp_client(fogbank.endpoint_url, creds)
    me = role.get_caller_identity()
    assert (me["Account"], me["Arn"]) == ("210987654321", "arn:aws:sts::210987654321:assumed-role/reader/nightly")
    assert sts.get_access_key_info(AccessKeyId=creds["AccessKeyId"])["Account"] == "210987654321"


def test_open_mode_validation_errors(sts: Any) -> None:
    with pytest.raises(ClientError) as info:
        sts.assume_role(RoleArn="arn:aws:iam::123456789012:user/bob", RoleSessionName="s1")
    assert error_code(info) == "ValidationError"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def _key_from_cli(data_dir: Path, account: str) -> tuple[str, str]:
    out = subprocess.run([sys.executable, "-m", "fogbank", "keys", "create", "--data-dir", str(data_dir),
                          "--account", account], check=True, capture_output=True, text=True, timeout=60)
    values = dict(line.split(" = ", 1) for line in out.stdout.strip().splitlines())
    return values["aws_access_key_id"], values["aws_secret_access_key"]


def test_strict_mode(tmp_path: Path) -> None:
    server = FogbankServer(tmp_path / "data", auth="strict").start()
    try:
        url = server.endpoint_url
        # A key created while the server runs is usable at once.
        access_key, secret = _key_from_cli(tmp_path / "data", "123456789012")
        sts = make_client(url, "sts", access_key=access_key, secret_key=secret)
        assert sts.get_caller_identity()["Account"] == "123456789012"

        with pytest.raises(ClientError) as info:
            make_client(url, "sts", access_key=access_key, secret_key="wrong").get_caller_identity()
        assert error_code(info) == "SignatureDoesNotMatch"
        with pytest.raises(ClientError) as info:
            make_client(url, "sts").get_caller_identity()  # the open-mode "test" key
        assert error_code(info) == "InvalidClientTokenId"

        creds = sts.assume_role(RoleArn=ROLE, RoleSessionName="strict")["Credentials"]
        role = temp_client(url, creds)
        assert role.get_caller_identity()["Account"] == "210987654321"
        tokenless = temp_client(url, creds, token=False)
        with pytest.raises(ClientError) as info:
            tokenless.get_caller_identity()
        assert error_code(info) == "InvalidClientTokenId"

        # Temporary keys survive a restart.
        server.restart()
        assert role.get_caller_identity()["Arn"] == "arn:aws:sts::210987654321:assumed-role/reader/strict"
    finally:
        server.stop()
