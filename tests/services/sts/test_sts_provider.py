"""The STS provider called directly: identities, temporary keys, and the errors STS gives."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.errors import AwsError, error_status
from fogbank.protocol.accounts import KeyStore
from fogbank.protocol.http import Headers, HttpRequest
from fogbank.services.sts.provider import StsProvider

ROLE = "arn:aws:iam::210987654321:role/team/deployer"


def make(tmp_path: Path, auth: str = "open") -> StsProvider:
    config = Config(data_dir=tmp_path, auth=auth)  # type: ignore[arg-type]
    return StsProvider(config, KeyStore(config))


def ctx(access_key: str, provider: StsProvider, region: str = "us-east-1") -> RequestContext:
    account = provider.keys.resolve(access_key).account_id
    return RequestContext(account, region, "req-1", "sts", "op", HttpRequest("POST", "/", "", Headers()),
                          access_key=access_key)


def jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_get_caller_identity_for_open_mode_keys(tmp_path: Path) -> None:
    sts = make(tmp_path)
    assert sts.get_caller_identity(ctx("test", sts), {}) == {
        "UserId": "000000000000", "Account": "000000000000", "Arn": "arn:aws:iam::000000000000:root"}
    assert sts.get_caller_identity(ctx("123456789012", sts), {})["Arn"] == "arn:aws:iam::123456789012:root"
    assert sts.get_caller_identity(ctx("test", sts, "cn-north-1"), {})["Arn"] == \
        "arn:aws-cn:iam::000000000000:root"


def test_get_caller_identity_for_strict_mode_key(tmp_path: Path) -> None:
    sts = make(tmp_path, "strict")
    access_key, _ = sts.keys.create_key("111122223333")
    assert sts.get_caller_identity(ctx(access_key, sts), {})["Account"] == "111122223333"


def test_assume_role_issues_working_temporary_key(tmp_path: Path) -> None:
    sts = make(tmp_path)
    before = datetime.now(UTC).replace(microsecond=0)
    out = sts.assume_role(ctx("test", sts), {"RoleArn": ROLE, "RoleSessionName": "build-42",
                                             "DurationSeconds": 1800, "SourceIdentity": "alice"})
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert len(creds["SecretAccessKey"]) == 40 and creds["SessionToken"]
    expiration = creds["Expiration"]
    assert expiration.tzinfo is not None
    assert before + timedelta(seconds=1800) <= expiration <= datetime.now(UTC) + timedelta(seconds=1800)
    user = out["AssumedRoleUser"]
    assert user["Arn"] == "arn:aws:sts::210987654321:assumed-role/deployer/build-42"
    assert user["AssumedRoleId"].startswith("AROA") and user["AssumedRoleId"].endswith(":build-42")
    assert out["SourceIdentity"] == "alice"
    # The temporary key acts in the role's account and reports the assumed role.
    record = sts.keys.lookup(creds["AccessKeyId"])
    assert record is not None
    assert (record.secret, record.session_token, record.expiry) == \
        (creds["SecretAccessKey"], creds["SessionToken"], expiration)
    me = sts.get_caller_identity(ctx(creds["AccessKeyId"], sts), {})
    assert me == {"UserId": user["AssumedRoleId"], "Account": "210987654321", "Arn": user["Arn"]}
    assert sts.get_access_key_info(ctx("test", sts), {"AccessKeyId": creds["AccessKeyId"]}) == \
        {"Account": "210987654321"}
    # The role id is stable for the role.
    again = sts.assume_role(ctx("test", sts), {"RoleArn": ROLE, "RoleSessionName": "other"})
    assert again["AssumedRoleUser"]["AssumedRoleId"].split(":")[0] == user["AssumedRoleId"].split(":")[0]


def test_assume_role_default_duration_and_persistence(tmp_path: Path) -> None:
    sts = make(tmp_path)
    start = time.time()
    out = sts.assume_role(ctx("test", sts), {"RoleArn": ROLE, "RoleSessionName": "s1"})
    seconds = out["Credentials"]["Expiration"].timestamp() - start
    assert 3599 <= seconds <= 3601
    reopened = make(tmp_path)
    assert reopened.keys.resolve(out["Credentials"]["AccessKeyId"]).account_id == "210987654321"


@pytest.mark.parametrize("req,code,message", [
    ({"RoleArn": "arn:aws:iam::12345:role/x", "RoleSessionName": "s1"}, "ValidationError", "Request ARN is invalid"),
    ({"RoleArn": "arn:aws:iam::123456789012:user/x", "RoleSessionName": "s1"}, "ValidationError",
     "Request ARN is invalid"),
    ({"RoleArn": ROLE, "RoleSessionName": "bad name"}, "ValidationError", "roleSessionName"),
    ({"RoleArn": ROLE, "RoleSessionName": "s1", "DurationSeconds": 899}, "ValidationError",
     "greater than or equal to 900"),
    ({"RoleArn": ROLE, "RoleSessionName": "s1", "DurationSeconds": 43201}, "ValidationError",
     "less than or equal to 43200"),
    ({"RoleArn": ROLE, "RoleSessionName": "s1", "Policy": "{not json"}, "MalformedPolicyDocument",
     "not in the valid JSON format"),
])
def test_assume_role_errors(tmp_path: Path, req: dict[str, Any], code: str, message: str) -> None:
    sts = make(tmp_path)
    with pytest.raises(AwsError) as info:
        sts.assume_role(ctx("test", sts), req)
    assert info.value.error_code == code
    assert message in str(info.value)
    assert error_status(info.value) == 400


def test_assume_role_policy_reports_packed_size(tmp_path: Path) -> None:
    sts = make(tmp_path)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                                 "Resource": "*"}]})
    out = sts.assume_role(ctx("test", sts), {"RoleArn": ROLE, "RoleSessionName": "s1", "Policy": policy})
    assert 1 <= out["PackedPolicySize"] <= 100


def test_role_chaining_is_limited_to_one_hour(tmp_path: Path) -> None:
    sts = make(tmp_path)
    first = sts.assume_role(ctx("test", sts), {"RoleArn": ROLE, "RoleSessionName": "s1"})["Credentials"]
    chained = ctx(first["AccessKeyId"], sts)
    with pytest.raises(AwsError) as info:
        sts.assume_role(chained, {"RoleArn": "arn:aws:iam::333344445555:role/next", "RoleSessionName": "s2",
                                  "DurationSeconds": 7200})
    assert "role chaining" in str(info.value)
    out = sts.assume_role(chained, {"RoleArn": "arn:aws:iam::333344445555:role/next", "RoleSessionName": "s2"})
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::333344445555:assumed-role/next/s2"


def test_get_session_token(tmp_path: Path) -> None:
    sts = make(tmp_path, "strict")
    access_key, _ = sts.keys.create_key("444455556666")
    out = sts.get_session_token(ctx(access_key, sts), {"DurationSeconds": 900})
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    record = sts.keys.lookup(creds["AccessKeyId"])
    assert record is not None and record.account_id == "444455556666"
    assert sts.get_caller_identity(ctx(creds["AccessKeyId"], sts), {})["Arn"] == \
        "arn:aws:iam::444455556666:root"
    with pytest.raises(AwsError) as info:
        sts.get_session_token(ctx(creds["AccessKeyId"], sts), {})
    assert (info.value.error_code, error_status(info.value)) == ("AccessDenied", 403)


def test_get_federation_token(tmp_path: Path) -> None:
    sts = make(tmp_path)
    out = sts.get_federation_token(ctx("123456789012", sts), {"Name": "bob"})
    assert out["FederatedUser"] == {"FederatedUserId": "123456789012:bob",
                                    "Arn": "arn:aws:sts::123456789012:federated-user/bob"}
    me = sts.get_caller_identity(ctx(out["Credentials"]["AccessKeyId"], sts), {})
    assert me["Arn"] == "arn:aws:sts::123456789012:federated-user/bob"


def test_assume_role_with_web_identity(tmp_path: Path) -> None:
    sts = make(tmp_path)
    exp = int(time.time()) + 600
    token = jwt({"sub": "user-7", "aud": ["my-app"], "iss": "https://issuer.example.com/realm", "exp": exp})
    out = sts.assume_role_with_web_identity(ctx("", sts), {"RoleArn": ROLE, "RoleSessionName": "web",
                                                           "WebIdentityToken": token})
    assert out["SubjectFromWebIdentityToken"] == "user-7"
    assert out["Audience"] == "my-app"
    assert out["Provider"] == "issuer.example.com/realm"
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::210987654321:assumed-role/deployer/web"
    assert sts.keys.resolve(out["Credentials"]["AccessKeyId"]).account_id == "210987654321"

    with pytest.raises(AwsError) as info:
        sts.assume_role_with_web_identity(ctx("", sts), {"RoleArn": ROLE, "RoleSessionName": "web",
                                                         "WebIdentityToken": "not-a-jwt"})
    assert info.value.error_code == "InvalidIdentityToken"
    expired = jwt({"sub": "u", "aud": "a", "iss": "https://i", "exp": int(time.time()) - 10})
    with pytest.raises(AwsError) as info:
        sts.assume_role_with_web_identity(ctx("", sts), {"RoleArn": ROLE, "RoleSessionName": "web",
                                                         "WebIdentityToken": expired})
    assert info.value.error_code == "ExpiredTokenException"
