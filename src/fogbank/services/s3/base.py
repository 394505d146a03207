"""What every group of S3 operations shares: the store, bucket access, version lookup, object headers."""

from __future__ import annotations

import json
from email.utils import format_datetime
from typing import Any

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.errors import AccessDenied
from fogbank.protocol.dispatch import Provider
from fogbank.protocol.http import Readable
from fogbank.services.s3 import errors
from fogbank.services.s3.conditions import check_copy_source
from fogbank.services.s3.content import Ingested, ingest
from fogbank.services.s3.integrity import (
    DEFAULT_ALGORITHM,
    ChecksumPlan,
    check_content_md5,
    check_length,
    declared_length,
    parse_content_md5,
)
from fogbank.services.s3.records import NULL_VERSION, Bucket, ObjectVersion, is_version_id, to_datetime
from fogbank.services.s3.rules import parse_copy_source
from fogbank.services.s3.store import S3Store

MAX_PUT_SIZE = 5 * 1024**3
MAX_PART_SIZE = 5 * 1024**3
MIN_PART_SIZE = 5 * 1024**2
MAX_PARTS = 10_000

CONTENT_FIELDS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl",
                  "Expires", "WebsiteRedirectLocation")
SSE_FIELDS = ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled")
_RESPONSE_OVERRIDES = {
    "ResponseCacheControl": "CacheControl",
    "ResponseContentDisposition": "ContentDisposition",
    "ResponseContentEncoding": "ContentEncoding",
    "ResponseContentLanguage": "ContentLanguage",
    "ResponseContentType": "ContentType",
    "ResponseExpires": "Expires",
}
DEFAULT_CONTENT_TYPE = "binary/octet-stream"
ARCHIVED = ("GLACIER", "DEEP_ARCHIVE")


def http_date(epoch: float) -> str:
    return format_datetime(to_datetime(int(epoch)), usegmt=True)


class S3Base(Provider):
    """Shared state and helpers of the S3 provider's operation groups."""

    services = ("s3",)

    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = S3Store(config.service_dir("s3"))

    # -- buckets ---------------------------------------------------------------------------------------

    def _bucket(self, ctx: RequestContext, req: dict[str, Any] | str, name_key: str = "Bucket") -> Bucket:
        """The named bucket, if it exists and the caller may use it."""
        name = req if isinstance(req, str) else req[name_key]
        bucket = self.store.bucket(name)
        if bucket is None:
            raise errors.NoSuchBucket(BucketName=name)
        expected = None if isinstance(req, str) else req.get(
            "ExpectedSourceBucketOwner" if name_key == "SourceBucket" else "ExpectedBucketOwner")
        if expected and expected != bucket.account:
            raise AccessDenied("Access Denied")
        if bucket.account != ctx.account_id and not self._policy_allows(bucket, ctx.account_id):
            raise AccessDenied("Access Denied")
        return bucket

    def _policy_allows(self, bucket: Bucket, account: str) -> bool:
        """Whether the bucket policy lets another account in: any Allow naming it or everyone."""
        text = self.store.get_config(bucket.id, "policy")
        if not text:
            return False
        try:
            statements = json.loads(text).get("Statement", [])
        except (ValueError, AttributeError):
            return False
        if isinstance(statements, dict):
            statements = [statements]
        for statement in statements:
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            principal = statement.get("Principal")
            names: list[str] = []
            if principal == "*":
                return True
            if isinstance(principal, dict):
                aws = principal.get("AWS", [])
                names = [aws] if isinstance(aws, str) else list(aws)
            for name in names:
                if name == "*" or name == account or name.startswith(f"arn:aws:iam::{account}:"):
                    return True
        return False

    def _fresh(self, bucket: Bucket) -> Bucket:
        """The bucket as it is now (versioning may have changed since the request began)."""
        return self.store.bucket(bucket.name) or bucket

    # -- versions --------------------------------------------------------------------------------------

    @staticmethod
    def _check_version_id(version_id: str | None) -> None:
        if version_id is not None and not is_version_id(version_id):
            raise errors.InvalidArgument("Invalid version id specified", ArgumentName="versionId",
                                         ArgumentValue=version_id)

    def _version(self, ctx: RequestContext, bucket: Bucket, key: str, version_id: str | None,
                 method: str, with_content: bool = False) -> ObjectVersion:
        """The version a read addresses, with S3's errors for missing versions and delete markers."""
        self._check_version_id(version_id)
        version = self.store.get_object(bucket.id, key, version_id, with_content=with_content)
        if version is None:
            if version_id is None:
                raise errors.NoSuchKey(Key=key)
            if version_id != NULL_VERSION and not bucket.ever_versioned:
                raise errors.InvalidArgument("Invalid version id specified", ArgumentName="versionId",
                                             ArgumentValue=version_id)
            raise errors.NoSuchVersion(Key=key, VersionId=version_id)
        if version.delete_marker:
            ctx.extra_headers.append(("x-amz-delete-marker", "true"))
            ctx.extra_headers.append(("x-amz-version-id", version.version_id))
            if version_id is None:
                raise errors.NoSuchKey(Key=key)
            ctx.extra_headers.append(("Last-Modified", http_date(version.modified)))
            raise errors.MethodNotAllowed(Method=method, ResourceType="DeleteMarker")
        return version

    @staticmethod
    def _version_out(bucket: Bucket, version_id: str | None) -> dict[str, Any]:
        """VersionId as S3 reports it: never for buckets that were never versioned."""
        if version_id is None or (version_id == NULL_VERSION and not bucket.ever_versioned):
            return {}
        return {"VersionId": version_id}

    def _copy_source(self, ctx: RequestContext, req: dict[str, Any]) -> tuple[Bucket, ObjectVersion, str | None]:
        """The source version of a copy, after its x-amz-copy-source-if-* conditions."""
        source = parse_copy_source(req["CopySource"])
        src_req = {"SourceBucket": source.bucket, "ExpectedSourceBucketOwner": req.get("ExpectedSourceBucketOwner")}
        src_bucket = self._bucket(ctx, src_req, name_key="SourceBucket")
        self._check_version_id(source.version_id)
        version = self.store.get_object(src_bucket.id, source.key, source.version_id, with_content=True)
        if version is None:
            if source.version_id is None:
                raise errors.NoSuchKey(Key=source.key)
            raise errors.NoSuchVersion(Key=source.key, VersionId=source.version_id)
        if version.delete_marker:
            if source.version_id is not None:
                raise errors.InvalidRequest("The source of a copy request may not specifically refer to a "
                                            "delete marker by version id.")
            raise errors.NoSuchKey(Key=source.key)
        self._check_readable(version)
        check_copy_source(req, version.etag, version.modified)
        version_out = version.version_id if src_bucket.ever_versioned else None
        return src_bucket, version, version_out

    def _ingest_body(self, ctx: RequestContext, req: dict[str, Any], body: Readable | bytes | None,
                     max_size: int, force_blob: bool = False, default_algorithm: str = DEFAULT_ALGORITHM,
                     extra_algorithms: tuple[str, ...] = ()) -> tuple[Ingested, ChecksumPlan, str]:
        """Reads a request body into storage, checking every digest and length the client declared."""
        headers = ctx.http.headers if ctx.http is not None else None
        declared = declared_length(req, headers)
        if declared is not None and declared > max_size:
            raise errors.EntityTooLarge(ProposedSize=declared, MaxSizeAllowed=max_size)
        plan = ChecksumPlan.of(req, headers, default=default_algorithm)
        assert plan is not None
        md5 = parse_content_md5(req.get("ContentMD5"))
        computed: dict[str, str] = {}

        def verify(ingested: Ingested) -> None:
            check_length(declared, ingested)
            check_content_md5(md5, ingested)
            computed["value"] = plan.verify(ingested)

        algorithms = [plan.algorithm, *extra_algorithms]
        ingested = ingest(self.store.blobs, body, algorithms, max_size, verify, force_blob=force_blob)
        return ingested, plan, computed["value"]

    # -- object metadata -------------------------------------------------------------------------------

    @staticmethod
    def _object_headers(bucket: Bucket, version: ObjectVersion, req: dict[str, Any]) -> dict[str, Any]:
        """The GET/HEAD output members describing a version, with response-* overrides applied."""
        meta = version.meta
        out: dict[str, Any] = {
            "LastModified": version.last_modified,
            "ETag": version.etag,
            "AcceptRanges": "bytes",
            "ContentType": meta.get("ContentType", DEFAULT_CONTENT_TYPE),
        }
        for name in CONTENT_FIELDS:
            if name in meta and name != "ContentType":
                out[name] = meta[name]
        for name in SSE_FIELDS:
            if name in meta:
                out[name] = meta[name]
        if meta.get("Metadata"):
            out["Metadata"] = dict(meta["Metadata"])
        if version.storage_class != "STANDARD":
            out["StorageClass"] = version.storage_class
        if version.tags:
            out["TagCount"] = len(version.tags)
        if "Restore" in meta:
            out["Restore"] = meta["Restore"]
        out.update(S3Base._version_out(bucket, version.version_id))
        for param, member in _RESPONSE_OVERRIDES.items():
            if req.get(param) is not None:
                out[member] = req[param]
        return out

    @staticmethod
    def _check_readable(version: ObjectVersion) -> None:
        """Archived objects must be restored before their bytes can be read, as in S3."""
        if version.storage_class in ARCHIVED and "RestoredUntil" not in version.meta:
            raise errors.InvalidObjectState(StorageClass=version.storage_class)

    @staticmethod
    def _content_meta(req: dict[str, Any]) -> dict[str, Any]:
        """Content headers of a write request, as stored with the object."""
        meta: dict[str, Any] = {}
        for name in CONTENT_FIELDS:
            value = req.get(name)
            if value is None:
                continue
            if name == "ContentEncoding":
                value = ",".join(t.strip() for t in str(value).split(",")
                                 if t.strip() and t.strip().lower() != "aws-chunked")
                if not value:
                    continue
            meta[name] = value
        return meta

    def _sse_meta(self, bucket: Bucket, req: dict[str, Any]) -> dict[str, Any]:
        """Server-side encryption as S3 reports it: the request's, else the bucket default (SSE-S3)."""
        if req.get("ServerSideEncryption"):
            out: dict[str, Any] = {"ServerSideEncryption": req["ServerSideEncryption"]}
            if req.get("SSEKMSKeyId"):
                out["SSEKMSKeyId"] = req["SSEKMSKeyId"]
            if req.get("BucketKeyEnabled") is not None:
                out["BucketKeyEnabled"] = bool(req["BucketKeyEnabled"])
            return out
        config = self.store.get_config(bucket.id, "encryption")
        rules = (config or {}).get("Rules") or []
        default = (rules[0].get("ApplyServerSideEncryptionByDefault") if rules else None) or {}
        out = {"ServerSideEncryption": default.get("SSEAlgorithm", "AES256")}
        if default.get("KMSMasterKeyID"):
            out["SSEKMSKeyId"] = default["KMSMasterKeyID"]
        if rules and rules[0].get("BucketKeyEnabled"):
            out["BucketKeyEnabled"] = True
        return out

    def _check_acl(self, bucket: Bucket, acl: str | None, grants: bool = False) -> None:
        """With ObjectOwnership=BucketOwnerEnforced (the default), S3 refuses every ACL but private ones."""
        if acl is None and not grants:
            return
        controls = self.store.get_config(bucket.id, "ownership")
        rules = (controls or {}).get("Rules") or [{"ObjectOwnership": "BucketOwnerEnforced"}]
        enforced = rules[0].get("ObjectOwnership") == "BucketOwnerEnforced"
        if enforced and (grants or acl not in (None, "private", "bucket-owner-full-control")):
            raise errors.AccessControlListNotSupported()

    def health(self) -> dict[str, Any]:
        return {"state": "running", "buckets": len(self.store.all_buckets())}

    def close(self) -> None:
        self.store.close()
