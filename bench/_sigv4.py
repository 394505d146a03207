"""AWS Signature Version 4 for S3 requests with an unsigned payload.

Hand-rolled rather than botocore's signer so the per-request client cost is a few microseconds and is the
same for every server under test: the benchmark should measure servers, not the client's signing path.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_ALGORITHM = "AWS4-HMAC-SHA256"
_SIGNED_HEADERS = "host;x-amz-content-sha256;x-amz-date"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def canonical_query(query: dict[str, str]) -> str:
    """S3 wants every query key and value percent-encoded and the pairs sorted by key."""
    return "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
    )


class SigV4Signer:
    """Signs path-style S3 requests; caches the derived key, which only changes once a day."""

    def __init__(self, access_key: str, secret_key: str, region: str, service: str = "s3") -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.service = service
        self._key_date = ""
        self._key = b""

    def _signing_key(self, date: str) -> bytes:
        if date != self._key_date:
            k = _hmac(("AWS4" + self.secret_key).encode(), date)
            for part in (self.region, self.service, "aws4_request"):
                k = _hmac(k, part)
            self._key, self._key_date = k, date
        return self._key

    def sign(
        self, method: str, host: str, path: str, query: dict[str, str] | None = None,
        amz_date: str | None = None,
    ) -> dict[str, str]:
        """Headers to add to the request. `path` is the raw (unencoded) path; `amz_date` is for tests."""
        if amz_date is None:
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        date = amz_date[:8]
        scope = f"{date}/{self.region}/{self.service}/aws4_request"
        canonical = "\n".join((
            method,
            quote(path, safe="/-_.~"),
            canonical_query(query or {}),
            f"host:{host}\nx-amz-content-sha256:{UNSIGNED_PAYLOAD}\nx-amz-date:{amz_date}\n",
            _SIGNED_HEADERS,
            UNSIGNED_PAYLOAD,
        ))
        to_sign = "\n".join(
            (_ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest())
        )
        signature = hmac.new(self._signing_key(date), to_sign.encode(), hashlib.sha256).hexdigest()
        return {
            "Host": host,
            "X-Amz-Date": amz_date,
            "X-Amz-Content-SHA256": UNSIGNED_PAYLOAD,
            "Authorization": (
                f"{_ALGORITHM} Credential={self.access_key}/{scope}, "
                f"SignedHeaders={_SIGNED_HEADERS}, Signature={signature}"
            ),
        }
