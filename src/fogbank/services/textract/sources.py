"""Reading a request's document or image: inline bytes, or an S3 object read in-process.

S3 reads go through the S3 provider's own GetObject/HeadObject with the caller's account, so bucket
ownership applies exactly as it would for the client itself; the size is checked with HeadObject before
any byte is read, so an oversized object is refused without being loaded. Rekognition uses this too.
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


class SourceMissing(Exception):
    """The S3 object cannot be read (no bucket, no key, another account's bucket)."""


class SourceTooLarge(Exception):
    """The object is larger than the operation accepts."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"The object is {size} bytes; at most {limit} bytes are accepted")
        self.size = size
        self.limit = limit


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str
    version: str | None = None

    @staticmethod
    def of(obj: dict[str, Any], name_member: str = "Name") -> S3Location:
        return S3Location(obj.get("Bucket", ""), obj.get(name_member, ""), obj.get("Version") or None)


class S3Reader:
    def __init__(self, s3: S3Provider | None) -> None:
        self.s3 = s3

    @staticmethod
    def _ctx(account: str, region: str, operation: str) -> RequestContext:
        request = HttpRequest("GET", "/", "", Headers())
        return RequestContext(account, region, str(uuid.uuid4()), "s3", operation, request)

    def read(self, account: str, region: str, location: S3Location, limit: int) -> bytes:
        if self.s3 is None or not location.bucket or not location.key:
            raise SourceMissing("no S3 object named")
        req: dict[str, Any] = {"Bucket": location.bucket, "Key": location.key}
        if location.version:
            req["VersionId"] = location.version
        try:
            head = self.s3.head_object(self._ctx(account, region, "HeadObject"), dict(req))
            size = int(head.get("ContentLength", 0))
            if size > limit:
                raise SourceTooLarge(size, limit)
            out = self.s3.get_object(self._ctx(account, region, "GetObject"), dict(req))
        except AwsError as exc:
            raise SourceMissing(f"{exc.error_code}: {exc.message}") from exc
        return _drain(out.get("Body", b""))

    def write(self, account: str, region: str, bucket: str, key: str, data: bytes,
              content_type: str = "application/json") -> None:
        if self.s3 is None:
            raise SourceMissing("no S3 service")
        try:
            self.s3.put_object(self._ctx(account, region, "PutObject"),
                               {"Bucket": bucket, "Key": key, "Body": data, "ContentType": content_type})
        except AwsError as exc:
            raise SourceMissing(f"{exc.error_code}: {exc.message}") from exc


def _drain(body: Any) -> bytes:
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    try:
        return b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
