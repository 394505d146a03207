"""STS operations over the KeyStore: caller identity and temporary credentials.

fogbank has no IAM policy engine, so any authenticated caller may assume any role; what STS gives back
is still exact: the role ARN's account becomes the account of the temporary key, sessions expire when
DurationSeconds says, and the identity a temporary key reports is the assumed role or federated user.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.errors import AwsError
from fogbank.protocol.accounts import KeyRecord, KeyStore, open_account
from fogbank.protocol.dispatch import Provider, operation
from fogbank.services.sts.web_identity import read_web_identity

_ROLE_ARN = re.compile(r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/(?P<path>(?:[^/]+/)*)"
                       r"(?P<name>[\w+=,.@-]{1,64})")
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
_FEDERATED_NAME = re.compile(r"[\w+=,.@-]{2,32}")
# Role chaining (assuming a role with a role's credentials) is limited to one hour by STS.
CHAINED_ROLE_LIMIT = 3600
# Managed policies and session policies share this packed budget; PackedPolicySize is a percentage of it.
_PACKED_POLICY_BUDGET = 2048


class ValidationError(AwsError):
    code = "ValidationError"
    status = 400


class AccessDenied(AwsError):
    code = "AccessDenied"
    status = 403


class MalformedPolicyDocument(AwsError):
    code = "MalformedPolicyDocument"
    status = 400


class PackedPolicyTooLarge(AwsError):
    code = "PackedPolicyTooLarge"
    status = 400


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _stable_id(prefix: str, seed: str) -> str:
    """A principal id (AROA..., AIDA...) that is the same every time for the same principal."""
    digest = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode("ascii")
    return prefix + digest[:17]


def _duration(req: dict[str, Any], default: int, low: int, high: int) -> int:
    value = req.get("DurationSeconds", default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(f"Value '{value}' at 'durationSeconds' is not an integer")
    if value < low or value > high:
        bound = f"greater than or equal to {low}" if value < low else f"less than or equal to {high}"
        raise ValidationError(f"1 validation error detected: Value '{value}' at 'durationSeconds' failed to "
                              f"satisfy constraint: Member must have value {bound}")
    return value


def _packed_policy_size(req: dict[str, Any]) -> int | None:
    """Checks the session policy and reports its packed size as a percentage, as STS does."""
    policy = req.get("Policy")
    arns = req.get("PolicyArns") or []
    tags = req.get("Tags") or []
    if policy is None and not arns and not tags:
        return None
    size = 0
    if policy is not None:
        try:
            document = json.loads(policy)
        except (TypeError, ValueError):
            raise MalformedPolicyDocument("The policy is not in the valid JSON format.") from None
        if not isinstance(document, dict):
            raise MalformedPolicyDocument("The policy is not in the valid JSON format.")
        size += len(json.dumps(document, separators=(",", ":")))
    size += sum(len(str(item.get("arn", ""))) for item in arns if isinstance(item, dict))
    size += sum(len(str(t.get("Key", ""))) + len(str(t.get("Value", ""))) for t in tags if isinstance(t, dict))
    percent = -(-size * 100 // _PACKED_POLICY_BUDGET)
    if percent > 100:
        raise PackedPolicyTooLarge(f"Packed policy consumes {percent}% of allotted space, please use smaller "
                                   "policy.")
    return percent


def _check_session_name(name: Any, member: str = "roleSessionName") -> str:
    if not isinstance(name, str) or not _SESSION_NAME.fullmatch(name):
        raise ValidationError(f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy "
                              "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
    return name


class StsProvider(Provider):
    """STS over the KeyStore: the keys it issues are the ones the auth layer verifies."""

    services = ("sts",)

    def __init__(self, config: Config, keys: KeyStore) -> None:
        self.config = config
        self.keys = keys

    # ------------------------------------------------------------------ helpers

    def _caller(self, ctx: RequestContext) -> KeyRecord:
        """The record of the calling key, or the account root when the key is unknown (open mode)."""
        record = self.keys.lookup(ctx.access_key) if ctx.access_key else None
        if record is None or record.kind == "open":
            account = ctx.account_id or open_account(ctx.access_key)
            return KeyRecord(ctx.access_key, "", account, kind="open")
        return record

    def _root_arn(self, ctx: RequestContext, account: str) -> str:
        return f"arn:{partition_of(ctx.region)}:iam::{account}:root"

    @staticmethod
    def _credentials(record: KeyRecord) -> dict[str, Any]:
        return {"AccessKeyId": record.access_key, "SecretAccessKey": record.secret,
                "SessionToken": record.session_token, "Expiration": record.expiry}

    def _assume(self, ctx: RequestContext, req: dict[str, Any], duration: int) -> tuple[KeyRecord, dict[str, Any]]:
        role_arn = req.get("RoleArn")
        match = _ROLE_ARN.fullmatch(role_arn) if isinstance(role_arn, str) else None
        if match is None:
            raise ValidationError("Request ARN is invalid")
        session = _check_session_name(req.get("RoleSessionName"))
        account = match.group("account")
        role_id = _stable_id("AROA", role_arn or "")
        assumed_arn = f"arn:{match.group('partition')}:sts::{account}:assumed-role/{match.group('name')}/{session}"
        user_id = f"{role_id}:{session}"
        record = self.keys.issue_temporary(account, duration, arn=assumed_arn, user_id=user_id)
        return record, {"AssumedRoleId": user_id, "Arn": assumed_arn}

    # ------------------------------------------------------------------ operations

    @operation("GetCallerIdentity")
    def get_caller_identity(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        caller = self._caller(ctx)
        return {"UserId": caller.principal_id, "Account": caller.account_id,
                "Arn": caller.arn or self._root_arn(ctx, caller.account_id)}

    @operation("GetAccessKeyInfo")
    def get_access_key_info(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        key = req.get("AccessKeyId")
        if not isinstance(key, str) or not key:
            raise ValidationError("1 validation error detected: Value null at 'accessKeyId' failed to satisfy "
                                  "constraint: Member must not be null")
        return {"Account": self.keys.resolve(key).account_id}

    @operation("AssumeRole")
    def assume_role(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        caller = self._caller(ctx)
        duration = _duration(req, 3600, 900, 43200)
        if caller.kind == "temporary" and ":assumed-role/" in (caller.arn or "") and duration > CHAINED_ROLE_LIMIT:
            raise ValidationError("The requested DurationSeconds exceeds the 1 hour session limit for roles "
                                  "assumed by role chaining.")
        packed = _packed_policy_size(req)
        record, user = self._assume(ctx, req, duration)
        out: dict[str, Any] = {"Credentials": self._credentials(record), "AssumedRoleUser": user}
        if packed is not None:
            out["PackedPolicySize"] = packed
        if req.get("SourceIdentity"):
            out["SourceIdentity"] = req["SourceIdentity"]
        return out

    @operation("AssumeRoleWithWebIdentity")
    def assume_role_with_web_identity(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        duration = _duration(req, 3600, 900, 43200)
        identity = read_web_identity(str(req.get("WebIdentityToken") or ""), datetime.now(UTC))
        packed = _packed_policy_size(req)
        record, user = self._assume(ctx, req, duration)
        provider = req.get("ProviderId") or identity.issuer.removeprefix("https://")
        out: dict[str, Any] = {
            "Credentials": self._credentials(record), "AssumedRoleUser": user,
            "SubjectFromWebIdentityToken": identity.subject, "Provider": provider,
            "Audience": identity.audience,
        }
        if packed is not None:
            out["PackedPolicySize"] = packed
        return out

    @operation("GetSessionToken")
    def get_session_token(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        caller = self._caller(ctx)
        if caller.kind == "temporary":
            raise AccessDenied("Cannot call GetSessionToken with session credentials")
        duration = _duration(req, 43200, 900, 129600)
        record = self.keys.issue_temporary(caller.account_id, duration, arn=caller.arn, user_id=caller.user_id)
        return {"Credentials": self._credentials(record)}

    @operation("GetFederationToken")
    def get_federation_token(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        caller = self._caller(ctx)
        if caller.kind == "temporary":
            raise AccessDenied("Cannot call GetFederationToken with session credentials")
        name = req.get("Name")
        if not isinstance(name, str) or not _FEDERATED_NAME.fullmatch(name):
            raise ValidationError(f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
                                  "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
        duration = _duration(req, 43200, 900, 129600)
        packed = _packed_policy_size(req)
        account = caller.account_id
        user_id = f"{account}:{name}"
        arn = f"arn:{partition_of(ctx.region)}:sts::{account}:federated-user/{name}"
        record = self.keys.issue_temporary(account, duration, arn=arn, user_id=user_id)
        out: dict[str, Any] = {"Credentials": self._credentials(record),
                               "FederatedUser": {"FederatedUserId": user_id, "Arn": arn}}
        if packed is not None:
            out["PackedPolicySize"] = packed
        return out
