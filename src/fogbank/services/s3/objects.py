"""Object operations: put, get, head, delete, copy, tagging, attributes and browser-form uploads."""

from __future__ import annotations

import contextlib
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode

from defusedxml import ElementTree

from fogbank.context import RequestContext
from fogbank.errors import AwsError
from fogbank.protocol.dispatch import operation
from fogbank.protocol.http import Readable
from fogbank.services.s3 import errors
from fogbank.services.s3.base import (
    CONTENT_FIELDS,
    MAX_PUT_SIZE,
    S3Base,
    http_date,
)
from fogbank.services.s3.conditions import check_read, etag_matches, parse_range
from fogbank.services.s3.configs import acl_document
from fogbank.services.s3.content import copy_content, read_range
from fogbank.services.s3.integrity import (
    ChecksumPlan,
    checksum_members,
)
from fogbank.services.s3.lifecycle import expiration_header
from fogbank.services.s3.records import Bucket, NewVersion, ObjectVersion
from fogbank.services.s3.rules import (
    parse_tagging_header,
    tags_from_tagset,
    tagset,
    validate_key,
    validate_metadata,
)
from fogbank.services.s3.store import Condition

MAX_COPY_SIZE = 5 * 1024**3
MAX_DELETE_OBJECTS = 1000


def write_condition(req: dict[str, Any], key: str) -> Condition | None:
    """If-Match / If-None-Match on a write, checked against the current version inside the write."""
    if_match, if_none_match = req.get("IfMatch"), req.get("IfNoneMatch")
    if if_match is None and if_none_match is None:
        return None
    if if_none_match is not None and if_none_match.strip() != "*":
        raise errors.NotImplementedFeature("If-None-Match only supports the value '*' on writes",
                                           Header="If-None-Match")

    def check(current: ObjectVersion | None) -> None:
        exists = current is not None and not current.delete_marker
        if if_none_match is not None and exists:
            raise errors.PreconditionFailed(Condition="If-None-Match")
        if if_match is not None:
            if current is None or current.delete_marker:
                raise errors.NoSuchKey(Key=key)
            if not etag_matches(if_match, current.etag):
                raise errors.PreconditionFailed(Condition="If-Match")

    return check


def delete_condition(etag: str | None, modified: Any, size: int | None, key: str) -> Condition | None:
    """S3's conditional deletes: If-Match, x-amz-if-match-last-modified-time, x-amz-if-match-size."""
    if etag is None and modified is None and size is None:
        return None

    def check(current: ObjectVersion | None) -> None:
        if current is None or current.delete_marker:
            raise errors.NoSuchKey(Key=key)
        if etag is not None and not etag_matches(etag, current.etag):
            raise errors.PreconditionFailed(Condition="If-Match")
        if modified is not None and int(current.modified) != int(modified.timestamp()):
            raise errors.PreconditionFailed(Condition="x-amz-if-match-last-modified-time")
        if size is not None and current.size != size:
            raise errors.PreconditionFailed(Condition="x-amz-if-match-size")

    return check


class ObjectOps(S3Base):
    """Single-object operations."""

    # -- writes ----------------------------------------------------------------------------------------

    def _put(self, ctx: RequestContext, bucket: Bucket, key: str, req: dict[str, Any]) -> dict[str, Any]:
        validate_key(key)
        self._check_acl(bucket, req.get("ACL"), any(req.get(g) for g in (
            "GrantFullControl", "GrantRead", "GrantReadACP", "GrantWriteACP")))
        metadata = validate_metadata(req.get("Metadata"))
        tags = parse_tagging_header(req.get("Tagging"))
        condition = write_condition(req, key)
        ingested, plan, checksum = self._ingest_body(ctx, req, req.get("Body"), MAX_PUT_SIZE)
        meta = self._content_meta(req)
        meta.update(self._sse_meta(bucket, req))
        if metadata:
            meta["Metadata"] = metadata
        meta["Checksums"] = {plan.algorithm: checksum}
        if req.get("ACL"):
            meta["ACL"] = req["ACL"]
        new = NewVersion(ingested.content, ingested.etag, req.get("StorageClass") or "STANDARD", meta, tags,
                         plan.algorithm, "FULL_OBJECT")
        version = self.store.put_object(bucket, key, new, condition)
        out: dict[str, Any] = {"ETag": version.etag}
        expiration = expiration_header(self.store, bucket, version)
        if expiration:
            out["Expiration"] = expiration
        if plan.requested:
            out.update(checksum_members({plan.algorithm: checksum}, "FULL_OBJECT"))
        out.update(self._sse_out(meta))
        out.update(self._version_out(self._fresh(bucket), version.version_id))
        return out

    @staticmethod
    def _sse_out(meta: dict[str, Any]) -> dict[str, Any]:
        return {k: meta[k] for k in ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled") if k in meta}

    @operation("PutObject")
    def put_object(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        if req.get("WriteOffsetBytes") is not None:
            raise errors.NotImplementedFeature("Appends are only supported in directory buckets",
                                               Header="x-amz-write-offset-bytes")
        return self._put(ctx, bucket, req["Key"], req)

    def put_object_from_form(self, ctx: RequestContext, bucket: str, key: str, body: Readable,
                             fields: dict[str, str]) -> dict[str, Any]:
        """A browser POST upload: form fields play the part of PutObject's headers."""
        target = self._bucket(ctx, bucket)
        lower = {k.lower(): v for k, v in fields.items()}
        req: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": body}
        header_members = {
            "content-type": "ContentType", "cache-control": "CacheControl",
            "content-disposition": "ContentDisposition", "content-encoding": "ContentEncoding",
            "content-language": "ContentLanguage", "acl": "ACL", "x-amz-storage-class": "StorageClass",
            "x-amz-server-side-encryption": "ServerSideEncryption",
            "x-amz-server-side-encryption-aws-kms-key-id": "SSEKMSKeyId",
            "x-amz-website-redirect-location": "WebsiteRedirectLocation",
            "x-amz-checksum-algorithm": "ChecksumAlgorithm", "content-md5": "ContentMD5",
        }
        for name, member in header_members.items():
            if lower.get(name):
                req[member] = lower[name]
        for name, value in lower.items():
            if name.startswith("x-amz-checksum-") and name != "x-amz-checksum-algorithm":
                req["Checksum" + name[len("x-amz-checksum-"):].upper()] = value
        if lower.get("expires"):
            with contextlib.suppress(TypeError, ValueError):
                req["Expires"] = parsedate_to_datetime(lower["expires"])
        metadata = {k[len("x-amz-meta-"):]: v for k, v in lower.items() if k.startswith("x-amz-meta-")}
        if metadata:
            req["Metadata"] = metadata
        if lower.get("tagging"):
            req["Tagging"] = _form_tagging(lower["tagging"])
        out = self._put(ctx, target, key, req)
        host = ctx.http.host if ctx.http is not None else ""
        location = f"http://{host}/{quote(bucket)}/{quote(key)}" if host else f"/{quote(bucket)}/{quote(key)}"
        result = {"ETag": out["ETag"], "Location": location, "Bucket": bucket, "Key": key}
        if "VersionId" in out:
            result["VersionId"] = out["VersionId"]
        return result

    # -- reads -----------------------------------------------------------------------------------------

    def _read(self, ctx: RequestContext, req: dict[str, Any], method: str, with_body: bool) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        key = req["Key"]
        version = self._version(ctx, bucket, key, req.get("VersionId"), method, with_content=with_body)
        try:
            check_read(req, version.etag, version.modified)
        except errors.NotModified:
            ctx.extra_headers.append(("ETag", version.etag))
            ctx.extra_headers.append(("Last-Modified", http_date(version.modified)))
            raise
        if with_body:
            self._check_readable(version)
        out = self._object_headers(bucket, version, req)
        expiration = expiration_header(self.store, bucket, version)
        if expiration:
            out["Expiration"] = expiration
        size = version.size
        start, length = 0, size
        part_number = req.get("PartNumber")
        partial = False
        if part_number is not None:
            if req.get("Range"):
                raise errors.InvalidRequest("Cannot specify both Range header and partNumber query parameter")
            start, length = self._part_range(version, int(part_number))
            out["PartsCount"] = max(len(version.parts), 1)
            partial = size > 0
        else:
            ranged = parse_range(req.get("Range"), size)
            if ranged is not None:
                start, length = ranged
                partial = True
        if partial:
            out["ContentRange"] = f"bytes {start}-{start + length - 1}/{size}"
            ctx.status_override = 206
        elif req.get("ChecksumMode") == "ENABLED":
            out.update(checksum_members(version.meta.get("Checksums", {}), version.checksum_type))
        out["ContentLength"] = length
        if with_body:
            assert version.content is not None
            out["Body"] = read_range(self.store.blobs, version.content, start, length)
        return out

    @staticmethod
    def _part_range(version: ObjectVersion, part_number: int) -> tuple[int, int]:
        parts = version.parts
        if not parts:
            if part_number != 1:
                raise errors.InvalidPartNumber(PartNumberRequested=part_number, ActualPartCount=1)
            return 0, version.size
        if part_number < 1 or part_number > len(parts):
            raise errors.InvalidPartNumber(PartNumberRequested=part_number, ActualPartCount=len(parts))
        start = sum(int(p["Size"]) for p in parts[:part_number - 1])
        return start, int(parts[part_number - 1]["Size"])

    @operation("GetObject")
    def get_object(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._read(ctx, req, "GET", with_body=True)

    @operation("HeadObject")
    def head_object(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._read(ctx, req, "HEAD", with_body=False)

    # -- deletes ---------------------------------------------------------------------------------------

    @operation("DeleteObject")
    def delete_object(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        key = req["Key"]
        version_id = req.get("VersionId")
        self._check_version_id(version_id)
        condition = delete_condition(req.get("IfMatch"), req.get("IfMatchLastModifiedTime"),
                                     req.get("IfMatchSize"), key)
        outcome = self.store.delete_object(bucket, key, version_id, condition)
        out: dict[str, Any] = {}
        if outcome.delete_marker:
            out["DeleteMarker"] = True
        out.update(self._version_out(self._fresh(bucket), outcome.version_id))
        return out

    @operation("DeleteObjects")
    def delete_objects(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        delete = req.get("Delete") or {}
        objects = delete.get("Objects") or []
        if not objects or len(objects) > MAX_DELETE_OBJECTS:
            raise errors.MalformedXML()
        quiet = bool(delete.get("Quiet"))
        items: list[tuple[str, str | None, Condition | None]] = []
        errors_out: list[dict[str, Any]] = []
        positions: list[int] = []
        for index, obj in enumerate(objects):
            key = obj.get("Key", "")
            version_id = obj.get("VersionId")
            try:
                self._check_version_id(version_id)
                condition = delete_condition(obj.get("ETag"), obj.get("LastModifiedTime"), obj.get("Size"), key)
            except AwsError as exc:
                errors_out.append(_delete_error(key, version_id, exc))
                continue
            items.append((key, version_id, condition))
            positions.append(index)
        outcomes = self.store.delete_objects(bucket, items) if items else []
        deleted: list[dict[str, Any]] = []
        versioned = self._fresh(bucket).ever_versioned
        for (key, version_id, _), outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, Exception):
                errors_out.append(_delete_error(key, version_id, outcome))
                continue
            if quiet:
                continue
            entry: dict[str, Any] = {"Key": key}
            if version_id is not None:
                entry["VersionId"] = version_id
            if outcome.delete_marker:
                entry["DeleteMarker"] = True
                if outcome.version_id is not None and (versioned or version_id is not None):
                    entry["DeleteMarkerVersionId"] = outcome.version_id
            deleted.append(entry)
        out: dict[str, Any] = {}
        if deleted:
            out["Deleted"] = deleted
        if errors_out:
            out["Errors"] = errors_out
        return out

    # -- copies ----------------------------------------------------------------------------------------

    @operation("CopyObject")
    def copy_object(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        key = req["Key"]
        validate_key(key)
        self._check_acl(bucket, req.get("ACL"))
        src_bucket, source, source_version_out = self._copy_source(ctx, req)
        if source.size > MAX_COPY_SIZE:
            raise errors.InvalidRequest("The specified copy source is larger than the maximum allowable size "
                                        f"for a copy source: {MAX_COPY_SIZE}")
        directive = req.get("MetadataDirective") or "COPY"
        tagging_directive = req.get("TaggingDirective") or "COPY"
        onto_itself = src_bucket.id == bucket.id and source.key == key and source.latest
        changes = any(req.get(m) for m in ("StorageClass", "ServerSideEncryption", "SSEKMSKeyId",
                                            "WebsiteRedirectLocation", "ChecksumAlgorithm"))
        if onto_itself and directive != "REPLACE" and not changes:
            raise errors.InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself without "
                "changing the object's metadata, storage class, website redirect location or encryption "
                "attributes.")
        if directive == "REPLACE":
            meta = self._content_meta(req)
            metadata = validate_metadata(req.get("Metadata"))
        else:
            meta = {k: v for k, v in source.meta.items() if k in CONTENT_FIELDS}
            metadata = dict(source.meta.get("Metadata") or {})
        meta.update(self._sse_meta(bucket, req))
        if metadata:
            meta["Metadata"] = metadata
        if req.get("ACL"):
            meta["ACL"] = req["ACL"]
        tags = parse_tagging_header(req.get("Tagging")) if tagging_directive == "REPLACE" else list(source.tags)
        condition = write_condition(req, key)
        requested = req.get("ChecksumAlgorithm")
        plan = ChecksumPlan.of({"ChecksumAlgorithm": requested} if requested else {}, None,
                               default=source.checksum_algorithm or "CRC64NVME")
        assert plan is not None and source.content is not None
        stored = source.meta.get("Checksums", {})
        reuse = (plan.algorithm == source.checksum_algorithm and source.checksum_type == "FULL_OBJECT"
                 and plan.algorithm in stored)
        multipart_source = "-" in source.etag
        copied = copy_content(self.store.blobs, source.content, 0, source.size,
                              [] if reuse else [plan.algorithm], need_md5=multipart_source)
        etag = copied.etag if multipart_source else source.etag
        checksum = stored[plan.algorithm] if reuse else copied.checksums[plan.algorithm].b64digest()
        meta["Checksums"] = {plan.algorithm: checksum}
        new = NewVersion(copied.content, etag, req.get("StorageClass") or "STANDARD", meta, tags,
                         plan.algorithm, "FULL_OBJECT")
        version = self.store.put_object(bucket, key, new, condition)
        result: dict[str, Any] = {"ETag": version.etag, "LastModified": version.last_modified}
        if requested or source.checksum_algorithm:
            result.update(checksum_members({plan.algorithm: checksum}, "FULL_OBJECT"))
        out: dict[str, Any] = {"CopyObjectResult": result}
        if source_version_out is not None:
            out["CopySourceVersionId"] = source_version_out
        out.update(self._sse_out(meta))
        out.update(self._version_out(self._fresh(bucket), version.version_id))
        return out

    # -- tagging ---------------------------------------------------------------------------------------

    @operation("GetObjectTagging")
    def get_object_tagging(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        version = self._version(ctx, bucket, req["Key"], req.get("VersionId"), "GET")
        return {"TagSet": tagset(version.tags), **self._version_out(bucket, version.version_id)}

    @operation("PutObjectTagging")
    def put_object_tagging(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        version_id = req.get("VersionId")
        self._check_version_id(version_id)
        tags = tags_from_tagset((req.get("Tagging") or {}).get("TagSet"))
        version = self.store.update_tags(bucket, req["Key"], version_id, tags)
        return self._version_out(bucket, version.version_id)

    @operation("DeleteObjectTagging")
    def delete_object_tagging(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        version_id = req.get("VersionId")
        self._check_version_id(version_id)
        version = self.store.update_tags(bucket, req["Key"], version_id, [])
        return self._version_out(bucket, version.version_id)

    # -- attributes and ACLs ---------------------------------------------------------------------------

    @operation("GetObjectAttributes")
    def get_object_attributes(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        version = self._version(ctx, bucket, req["Key"], req.get("VersionId"), "GET")
        wanted = {a.strip() for item in req.get("ObjectAttributes") or [] for a in str(item).split(",")}
        out: dict[str, Any] = {"LastModified": version.last_modified}
        out.update(self._version_out(bucket, version.version_id))
        if "ETag" in wanted:
            out["ETag"] = version.etag.strip('"')
        if "StorageClass" in wanted:
            out["StorageClass"] = version.storage_class
        if "ObjectSize" in wanted:
            out["ObjectSize"] = version.size
        checksums = version.meta.get("Checksums", {})
        if "Checksum" in wanted and checksums:
            out["Checksum"] = checksum_members(checksums, version.checksum_type)
        if "ObjectParts" in wanted and version.parts:
            out["ObjectParts"] = _parts_page(version, req)
        return out

    @operation("GetObjectAcl")
    def get_object_acl(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        version = self._version(ctx, bucket, req["Key"], req.get("VersionId"), "GET")
        out = acl_document(bucket.account, version.meta.get("ACL") or "private")
        out.update(self._version_out(bucket, version.version_id))
        return out

    @operation("PutObjectAcl")
    def put_object_acl(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        grants = bool(req.get("AccessControlPolicy")) or any(req.get(g) for g in (
            "GrantFullControl", "GrantRead", "GrantReadACP", "GrantWrite", "GrantWriteACP"))
        self._check_acl(bucket, req.get("ACL"), grants)
        version_id = req.get("VersionId")
        self._check_version_id(version_id)
        acl = req.get("ACL") or "private"

        def change(meta: dict[str, Any]) -> None:
            meta["ACL"] = acl

        self.store.update_meta(bucket, req["Key"], version_id, change)
        return {}

    @operation("RestoreObject")
    def restore_object(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        """Archived objects become readable at once (there is no archive tier to wait for)."""
        bucket = self._bucket(ctx, req)
        version = self._version(ctx, bucket, req["Key"], req.get("VersionId"), "POST")
        if version.storage_class not in ("GLACIER", "DEEP_ARCHIVE"):
            raise errors.InvalidObjectState("Restore is not allowed for the object's current storage class",
                                            StorageClass=version.storage_class)
        days = int((req.get("RestoreRequest") or {}).get("Days") or 1)
        already = "RestoredUntil" in version.meta
        until = (int(time.time() // 86400) + days + 1) * 86400

        def change(meta: dict[str, Any]) -> None:
            meta["RestoredUntil"] = until
            meta["Restore"] = f'ongoing-request="false", expiry-date="{http_date(until)}"'

        self.store.update_meta(bucket, req["Key"], req.get("VersionId"), change)
        if already:
            ctx.status_override = 200
        else:
            ctx.status_override = 202
        return {}


def _delete_error(key: str, version_id: str | None, exc: Exception) -> dict[str, Any]:
    entry: dict[str, Any] = {"Key": key}
    if version_id is not None:
        entry["VersionId"] = version_id
    if isinstance(exc, AwsError):
        entry["Code"], entry["Message"] = exc.error_code, exc.message
    else:
        entry["Code"], entry["Message"] = "InternalError", "We encountered an internal error. Please try again."
    return entry


def _parts_page(version: ObjectVersion, req: dict[str, Any]) -> dict[str, Any]:
    parts = version.parts
    marker = int(req.get("PartNumberMarker") or 0)
    limit = int(req.get("MaxParts") or 1000)
    page = [(n, p) for n, p in enumerate(parts, start=1) if n > marker][:limit]
    truncated = bool(page) and page[-1][0] < len(parts)
    out: dict[str, Any] = {"TotalPartsCount": len(parts), "PartNumberMarker": marker, "MaxParts": limit,
                           "IsTruncated": truncated}
    if page:
        out["NextPartNumberMarker"] = page[-1][0]
    listed = []
    for number, part in page:
        entry: dict[str, Any] = {"PartNumber": number, "Size": int(part["Size"])}
        entry.update(checksum_members(part.get("Checksums", {}), None))
        listed.append(entry)
    out["Parts"] = listed
    return out


def _form_tagging(xml: str) -> str:
    """A POST form's `tagging` field (a Tagging XML document) as an x-amz-tagging header value."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        raise errors.MalformedXML() from None
    pairs: list[tuple[str, str]] = []
    for tag in root.iter():
        if tag.tag.split("}")[-1] != "Tag":
            continue
        found: dict[str, str] = {}
        for child in tag:
            found[child.tag.split("}")[-1]] = child.text or ""
        pairs.append((found.get("Key", ""), found.get("Value", "")))
    return urlencode(pairs)
