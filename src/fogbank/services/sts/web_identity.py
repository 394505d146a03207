"""The claims of an OpenID Connect token, as AssumeRoleWithWebIdentity reads them.

fogbank runs without network access to identity providers, so it cannot fetch their signing keys: the
token's structure, expiry and claims are checked, its signature is not. Strict mode still requires the
request itself to be signed with a known key, so an unsigned token alone never grants credentials there.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fogbank.errors import AwsError


class InvalidIdentityToken(AwsError):
    code = "InvalidIdentityToken"
    status = 400


class ExpiredTokenException(AwsError):
    code = "ExpiredTokenException"
    status = 400


@dataclass(frozen=True)
class WebIdentity:
    subject: str
    audience: str
    issuer: str
    expires: datetime | None


def _segment(text: str) -> dict[str, Any]:
    padded = text + "=" * (-len(text) % 4)
    try:
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        raise InvalidIdentityToken("The ID Token provided is not a valid JWT. (You may see this error if you "
                                   "sent an Access Token)") from None
    if not isinstance(value, dict):
        raise InvalidIdentityToken("The ID Token provided is not a valid JWT.")
    return value


def read_web_identity(token: str, now: datetime) -> WebIdentity:
    """The subject, audience and issuer of a JWT; raises as STS does for a malformed or expired one."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise InvalidIdentityToken("The ID Token provided is not a valid JWT. (You may see this error if you "
                                   "sent an Access Token)")
    _segment(parts[0])
    claims = _segment(parts[1])
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidIdentityToken("The ID Token provided does not contain a 'sub' claim.")
    audience = claims.get("aud")
    if isinstance(audience, list):
        audience = audience[0] if audience else None
    if not isinstance(audience, str) or not audience:
        raise InvalidIdentityToken("Incorrect token audience")
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise InvalidIdentityToken("The ID Token provided does not contain an 'iss' claim.")
    expires = None
    exp = claims.get("exp")
    if exp is not None:
        if isinstance(exp, bool) or not isinstance(exp, (int, float)):
            raise InvalidIdentityToken("The 'exp' claim of the ID Token is not a number.")
        expires = datetime.fromtimestamp(exp, UTC)
        if now >= expires:
            raise ExpiredTokenException(
                f"Token expired: current date/time {int(now.timestamp())} must be before the expiration date/time "
                f"{int(exp)}")
    return WebIdentity(subject, audience, issuer, expires)
