"""Reading job input from S3 and writing job output back, in-process through the S3 provider's operations.

Calls go through the operations (not the store) so that bucket ownership and policies apply exactly as for
a client of the calling account.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fogbank.context import RequestContext
from fogbank.errors import AwsError
from fogbank.protocol.http import Headers, HttpRequest

if TYPE_CHECKING:
    from fogbank.services.s3.provider import S3Provider

MAX_KEYS = 1000


class S3AccessError(Exception):
    """The job cannot read or write a location (missing bucket, no access, not an S3 URI)."""


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.lower().startswith("s3://"):
        raise S3AccessError(f"{uri} is not an S3 URI (s3://bucket/prefix)")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise S3AccessError(f"{uri} names no bucket")
    return bucket, key


class S3Io:
    def __init__(self, s3: S3Provider) -> None:
        self.s3 = s3

    @staticmethod
    def _ctx(account: str, region: str, operation: str) -> RequestContext:
        request = HttpRequest("GET", "/", "", Headers())
        return RequestContext(account, region, str(uuid.uuid4()), "s3", operation, request)

    def _call(self, account: str, region: str, operation: str, method: Any, req: dict[str, Any]) -> dict[str, Any]:
        try:
            result: dict[str, Any] = method(self._ctx(account, region, operation), req)
            return result
        except AwsError as exc:
            raise S3AccessError(f"{exc.error_code}: {exc.message or operation + ' failed'} "
                                f"(s3://{req.get('Bucket', '')}/{req.get('Key', req.get('Prefix', ''))})") from exc

    def list(self, account: str, region: str, uri: str) -> list[S3Object]:
        """The objects a job input URI names: the object itself, or every object under the prefix."""
        bucket, prefix = split_uri(uri)
        found: list[S3Object] = []
        token: str | None = None
        while True:
            req: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": MAX_KEYS}
            if token:
                req["ContinuationToken"] = token
            page = self._call(account, region, "ListObjectsV2", self.s3.list_objects_v2, req)
            for item in page.get("Contents", []):
                key = item["Key"]
                if key.endswith("/") and int(item.get("Size", 0)) == 0:
                    continue
                found.append(S3Object(bucket, key, int(item.get("Size", 0))))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                break
        exact = [o for o in found if o.key == prefix]
        return exact or found

    def check_bucket(self, account: str, region: str, uri: str) -> None:
        bucket, _ = split_uri(uri)
        self._call(account, region, "HeadBucket", self.s3.head_bucket, {"Bucket": bucket})

    def read(self, account: str, region: str, obj: S3Object) -> bytes:
        out = self._call(account, region, "GetObject", self.s3.get_object, {"Bucket": obj.bucket, "Key": obj.key})
        body = out.get("Body", b"")
        if isinstance(body, (bytes, bytearray)):
            return bytes(body)
        try:
            return b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    def write(self, account: str, region: str, bucket: str, key: str, data: bytes,
              content_type: str = "application/octet-stream") -> None:
        self._call(account, region, "PutObject", self.s3.put_object,
                   {"Bucket": bucket, "Key": key, "Body": data, "ContentType": content_type})
