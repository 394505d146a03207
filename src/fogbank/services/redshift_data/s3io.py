"""fogbank's S3 as the warehouse reads and writes it: in-process, through the S3 provider's operations.

Going through the operations (not the store) keeps S3's rules in force: bucket ownership and policies,
checksums, versioning. The caller is the account that ran the statement, as with a cluster's IAM role.
Objects are copied to local temporary files because DuckDB reads files; the file names are fogbank's own.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fogbank.context import RequestContext
from fogbank.errors import AwsError
from fogbank.protocol.http import Headers, HttpRequest
from fogbank.services.redshift_data.pgerror import RedshiftSqlError

if TYPE_CHECKING:
    from fogbank.services.s3.provider import S3Provider


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_url(url: str) -> tuple[str, str]:
    """s3://bucket/key-or-prefix -> (bucket, key-or-prefix)."""
    text = url.strip()
    if not text.lower().startswith("s3://"):
        raise RedshiftSqlError(f"S3 path must begin with s3://: {url}")
    bucket, _, key = text[5:].partition("/")
    if not bucket:
        raise RedshiftSqlError(f"Invalid S3 path: {url}")
    return bucket, key


class S3Access:
    """One account's view of fogbank's S3."""

    def __init__(self, s3: S3Provider, account: str, region: str) -> None:
        self.s3 = s3
        self.account = account
        self.region = region

    def _ctx(self, operation: str) -> RequestContext:
        request = HttpRequest("GET", "/", "", Headers([("host", "localhost")]))
        return RequestContext(self.account, self.region, str(uuid.uuid4()), "s3", operation, request)

    def _fail(self, error: AwsError, url: str) -> RedshiftSqlError:
        if error.error_code in ("NoSuchBucket",):
            return RedshiftSqlError(f"S3ServiceException:The specified bucket does not exist,Status 404,"
                                    f"Error NoSuchBucket ({url})")
        if error.error_code in ("AccessDenied",):
            return RedshiftSqlError(f"S3ServiceException:Access Denied,Status 403,Error AccessDenied ({url})")
        if error.error_code in ("NoSuchKey",):
            return RedshiftSqlError(f"S3ServiceException:The specified key does not exist.,Status 404,"
                                    f"Error NoSuchKey ({url})")
        return RedshiftSqlError(f"S3ServiceException:{error.message},Error {error.error_code} ({url})")

    def list(self, url: str) -> Iterator[S3Object]:
        """Objects whose key starts with the URL's key (Redshift's COPY prefix rule), in key order."""
        bucket, prefix = parse_url(url)
        token: str | None = None
        while True:
            req: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": 1000}
            if token:
                req["ContinuationToken"] = token
            try:
                out = self.s3.list_objects_v2(self._ctx("ListObjectsV2"), req)
            except AwsError as error:
                raise self._fail(error, url) from None
            for item in out.get("Contents") or []:
                yield S3Object(bucket, item["Key"], int(item.get("Size") or 0))
            token = out.get("NextContinuationToken")
            if not out.get("IsTruncated") or not token:
                return

    def read_bytes(self, url: str) -> bytes:
        bucket, key = parse_url(url)
        try:
            out = self.s3.get_object(self._ctx("GetObject"), {"Bucket": bucket, "Key": key})
        except AwsError as error:
            raise self._fail(error, url) from None
        body = out["Body"]
        if isinstance(body, (bytes, bytearray)):
            return bytes(body)
        try:
            return b"".join(body)
        finally:
            body.close()

    def download(self, obj: S3Object, destination: Path) -> Path:
        try:
            out = self.s3.get_object(self._ctx("GetObject"), {"Bucket": obj.bucket, "Key": obj.key})
        except AwsError as error:
            raise self._fail(error, obj.url) from None
        body = out["Body"]
        with open(destination, "wb") as file:
            if isinstance(body, (bytes, bytearray)):
                file.write(body)
            else:
                try:
                    for chunk in body:
                        file.write(chunk)
                finally:
                    body.close()
        return destination

    def upload(self, source: Path, bucket: str, key: str, content_type: str | None = None) -> None:
        req: dict[str, Any] = {"Bucket": bucket, "Key": key, "ContentLength": source.stat().st_size}
        if content_type:
            req["ContentType"] = content_type
        with open(source, "rb") as file:
            req["Body"] = file
            try:
                self.s3.put_object(self._ctx("PutObject"), req)
            except AwsError as error:
                raise self._fail(error, f"s3://{bucket}/{key}") from None

    def delete(self, bucket: str, key: str) -> None:
        try:
            self.s3.delete_object(self._ctx("DeleteObject"), {"Bucket": bucket, "Key": key})
        except AwsError as error:
            raise self._fail(error, f"s3://{bucket}/{key}") from None


class Scratch:
    """A statement's temporary folder for object copies and unload output, removed when it ends."""

    def __init__(self, root: Path, name: str) -> None:
        self.path = root / name
        self.path.mkdir(parents=True, exist_ok=True)
        self._count = 0

    def file(self, suffix: str = "") -> Path:
        self._count += 1
        return self.path / f"{self._count:06d}{suffix}"

    def folder(self) -> Path:
        self._count += 1
        path = self.path / f"{self._count:06d}"
        path.mkdir()
        return path

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
