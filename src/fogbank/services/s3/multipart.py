"""Multipart uploads: create, upload (and copy) parts, list, complete and abort.

Parts are blobs. Completing an upload copies nothing: the object's manifest is the ordered list of its
parts' blobs, and reads stream across them.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any
from urllib.parse import quote

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import operation
from fogbank.services.s3 import errors
from fogbank.services.s3.base import MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, S3Base
from fogbank.services.s3.checksums import combine_full_object, composite_checksum, decode_digest, member_name
from fogbank.services.s3.conditions import parse_copy_range
from fogbank.services.s3.content import copy_content
from fogbank.services.s3.integrity import CRC_ALGORITHMS, DEFAULT_ALGORITHM, algorithm_of, checksum_members
from fogbank.services.s3.listing import Encoder
from fogbank.services.s3.objects import write_condition
from fogbank.services.s3.records import Bucket, Content, NewVersion, Part, Segment, Upload
from fogbank.services.s3.rules import owner_of, parse_tagging_header, validate_key, validate_metadata

MAX_UPLOADS = 1000


def _checksum_type(algorithm: str | None, requested: str | None) -> str | None:
    """The checksum type an upload gets, with S3's rules on which algorithm allows which type."""
    if requested and not algorithm:
        raise errors.InvalidRequest("The x-amz-checksum-type header can only be used with the "
                                    "x-amz-checksum-algorithm header.")
    if not algorithm:
        return None
    kind = requested or ("FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE")
    if kind == "FULL_OBJECT" and algorithm not in CRC_ALGORITHMS:
        raise errors.InvalidRequest(f"The FULL_OBJECT checksum type cannot be used with the "
                                    f"{algorithm.lower()} checksum algorithm.")
    if kind == "COMPOSITE" and algorithm == "CRC64NVME":
        raise errors.InvalidRequest("The COMPOSITE checksum type cannot be used with the crc64nvme checksum "
                                    "algorithm.")
    return kind


def _check_part_number(value: Any) -> int:
    number = int(value) if value is not None else 0
    if not 1 <= number <= MAX_PARTS:
        raise errors.InvalidArgument("Part number must be an integer between 1 and 10000, inclusive",
                                     ArgumentName="partNumber", ArgumentValue=str(value))
    return number


def _bare(etag: str) -> str:
    return etag.strip().strip('"')


class MultipartOps(S3Base):
    """The multipart upload operations."""

    def _upload(self, bucket: Bucket, req: dict[str, Any]) -> Upload:
        upload = self.store.get_upload(bucket.id, req["Key"], req["UploadId"])
        if upload is None:
            raise errors.NoSuchUpload(UploadId=req["UploadId"])
        return upload

    @operation("CreateMultipartUpload")
    def create_multipart_upload(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        key = req["Key"]
        validate_key(key)
        self._check_acl(bucket, req.get("ACL"))
        algorithm = algorithm_of(req["ChecksumAlgorithm"]) if req.get("ChecksumAlgorithm") else None
        checksum_type = _checksum_type(algorithm, req.get("ChecksumType"))
        meta = self._content_meta(req)
        meta.update(self._sse_meta(bucket, req))
        metadata = validate_metadata(req.get("Metadata"))
        if metadata:
            meta["Metadata"] = metadata
        if req.get("ACL"):
            meta["ACL"] = req["ACL"]
        tags = parse_tagging_header(req.get("Tagging"))
        upload = self.store.create_upload(bucket, key, ctx.account_id, req.get("StorageClass") or "STANDARD",
                                          algorithm, checksum_type, meta, tags)
        out: dict[str, Any] = {"Bucket": bucket.name, "Key": key, "UploadId": upload.upload_id}
        if algorithm:
            out["ChecksumAlgorithm"] = algorithm
            out["ChecksumType"] = checksum_type
        out.update({k: meta[k] for k in ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled") if k in meta})
        return out

    def _part_algorithms(self, upload: Upload) -> tuple[str, tuple[str, ...]]:
        """The algorithm parts are checked with, and the ones computed besides for completion."""
        algorithm = upload.checksum_algorithm or DEFAULT_ALGORITHM
        return algorithm, () if upload.checksum_algorithm else (DEFAULT_ALGORITHM,)

    @operation("UploadPart")
    def upload_part(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        upload = self._upload(bucket, req)
        number = _check_part_number(req.get("PartNumber"))
        algorithm, extra = self._part_algorithms(upload)
        ingested, plan, value = self._ingest_body(ctx, req, req.get("Body"), MAX_PART_SIZE, force_blob=True,
                                                  default_algorithm=algorithm, extra_algorithms=extra)
        checksums = {plan.algorithm: value}
        for name in extra:
            checksums.setdefault(name, ingested.checksums[name].b64digest())
        if upload.checksum_algorithm and plan.algorithm != upload.checksum_algorithm:
            self.store.discard(ingested.content.blob_ids)
            raise errors.InvalidRequest(
                f"Checksum Type mismatch occurred, expected checksum Type: {upload.checksum_algorithm.lower()}, "
                f"actual checksum Type: {plan.algorithm.lower()}")
        part = Part(number, ingested.etag, ingested.content.size, _now(), ingested.content.blob_ids[0], checksums)
        self.store.put_part(upload, part)
        out: dict[str, Any] = {"ETag": part.etag}
        if plan.requested or upload.checksum_algorithm:
            out[member_name(plan.algorithm)] = value
        out.update({k: upload.meta[k] for k in ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled")
                    if k in upload.meta})
        return out

    @operation("UploadPartCopy")
    def upload_part_copy(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        upload = self._upload(bucket, req)
        number = _check_part_number(req.get("PartNumber"))
        _, source, source_version = self._copy_source(ctx, req)
        assert source.content is not None
        if req.get("CopySourceRange"):
            start, length = parse_copy_range(req["CopySourceRange"], source.size)
        else:
            start, length = 0, source.size
        if length > MAX_PART_SIZE:
            raise errors.InvalidRequest("The specified copy source is larger than the maximum allowable size "
                                        f"for a copy source: {MAX_PART_SIZE}")
        algorithm, extra = self._part_algorithms(upload)
        copied = copy_content(self.store.blobs, source.content, start, length, [algorithm, *extra],
                              need_md5=True, force_blob=True)
        checksums = {name: copied.checksums[name].b64digest() for name in (algorithm, *extra)}
        part = Part(number, copied.etag, length, _now(), copied.content.blob_ids[0], checksums)
        self.store.put_part(upload, part)
        result: dict[str, Any] = {"ETag": part.etag, "LastModified": part.last_modified}
        if upload.checksum_algorithm:
            result[member_name(algorithm)] = checksums[algorithm]
        out: dict[str, Any] = {"CopyPartResult": result}
        if source_version is not None:
            out["CopySourceVersionId"] = source_version
        return out

    @operation("CompleteMultipartUpload")
    def complete_multipart_upload(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        upload = self._upload(bucket, req)
        requested = (req.get("MultipartUpload") or {}).get("Parts") or []
        if not requested:
            raise errors.MalformedXML()
        condition = write_condition(req, upload.key)
        stored = {p.part_number: p for p in self.store.list_parts(upload)}
        used: list[Part] = []
        previous = 0
        for entry in requested:
            number = int(entry.get("PartNumber") or 0)
            if number <= previous:
                raise errors.InvalidPartOrder(UploadId=upload.upload_id)
            previous = number
            part = stored.get(number)
            if part is None or _bare(entry.get("ETag") or "") != _bare(part.etag):
                raise errors.InvalidPart(UploadId=upload.upload_id, PartNumber=number,
                                         ETag=entry.get("ETag") or "")
            for name, value in part.checksums.items():
                sent = entry.get(member_name(name))
                if sent is not None and sent != value:
                    raise errors.InvalidPart(UploadId=upload.upload_id, PartNumber=number,
                                             ETag=entry.get("ETag") or "")
            used.append(part)
        for part in used[:-1]:
            if part.size < MIN_PART_SIZE:
                raise errors.EntityTooSmall(ProposedSize=part.size, MinSizeAllowed=MIN_PART_SIZE,
                                            PartNumber=part.part_number, ETag=part.etag)
        total = sum(p.size for p in used)
        if req.get("MpuObjectSize") is not None and int(req["MpuObjectSize"]) != total:
            raise errors.InvalidRequest(f"The provided 'x-amz-mp-object-size' header value {req['MpuObjectSize']} "
                                        f"does not match what was computed: {total}")
        if req.get("ChecksumType") and upload.checksum_type and req["ChecksumType"] != upload.checksum_type:
            raise errors.InvalidRequest(f"The upload was created using the {upload.checksum_type} checksum mode. "
                                        f"The complete request must use the same checksum mode.")
        md5 = hashlib.md5(usedforsecurity=False)
        for part in used:
            md5.update(bytes.fromhex(_bare(part.etag)))
        etag = f'"{md5.hexdigest()}-{len(used)}"'
        algorithm = upload.checksum_algorithm or DEFAULT_ALGORITHM
        checksum_type = upload.checksum_type or "FULL_OBJECT"
        checksum = _object_checksum(algorithm, checksum_type, used)
        sent = req.get(member_name(algorithm))
        if sent is not None and checksum is not None and sent != checksum:
            raise errors.BadDigest(f"The {algorithm} you specified did not match the calculated checksum.")
        meta = dict(upload.meta)
        meta["Parts"] = [{"Size": p.size, "Checksums": {algorithm: p.checksums[algorithm]}}
                         if algorithm in p.checksums else {"Size": p.size} for p in used]
        if checksum is not None:
            meta["Checksums"] = {algorithm: checksum}
        content = Content(total, segments=tuple(Segment(p.blob_id, p.size) for p in used))
        new = NewVersion(content, etag, upload.storage_class, meta, list(upload.tags),
                         algorithm if checksum is not None else None,
                         checksum_type if checksum is not None else None)
        version = self.store.complete_upload(bucket, upload, used, new, condition)
        host = ctx.http.host if ctx.http is not None else ""
        path = f"/{quote(bucket.name)}/{quote(upload.key)}"
        out: dict[str, Any] = {"Location": f"http://{host}{path}" if host else path, "Bucket": bucket.name,
                               "Key": upload.key, "ETag": etag}
        if upload.checksum_algorithm and checksum is not None:
            out.update(checksum_members({algorithm: checksum}, checksum_type))
        out.update({k: meta[k] for k in ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled") if k in meta})
        out.update(self._version_out(self._fresh(bucket), version.version_id))
        return out

    @operation("AbortMultipartUpload")
    def abort_multipart_upload(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        upload = self._upload(bucket, req)
        initiated = req.get("IfMatchInitiatedTime")
        if initiated is not None and int(initiated.timestamp()) != int(upload.initiated):
            raise errors.PreconditionFailed(Condition="x-amz-if-match-initiated-time")
        self.store.abort_upload(upload)
        return {}

    @operation("ListParts")
    def list_parts(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        upload = self._upload(bucket, req)
        marker = int(req.get("PartNumberMarker") or 0)
        limit = min(int(req["MaxParts"]) if req.get("MaxParts") is not None else 1000, 1000)
        parts = self.store.list_parts(upload, after=marker, limit=limit + 1)
        truncated = len(parts) > limit
        parts = parts[:limit]
        owner = owner_of(upload.owner)
        out: dict[str, Any] = {
            "Bucket": bucket.name, "Key": upload.key, "UploadId": upload.upload_id,
            "PartNumberMarker": marker, "MaxParts": limit, "IsTruncated": truncated,
            "Initiator": owner, "Owner": owner, "StorageClass": upload.storage_class,
        }
        if parts:
            out["NextPartNumberMarker"] = parts[-1].part_number
        listed = []
        for part in parts:
            entry: dict[str, Any] = {"PartNumber": part.part_number, "LastModified": part.last_modified,
                                     "ETag": part.etag, "Size": part.size}
            if upload.checksum_algorithm and upload.checksum_algorithm in part.checksums:
                entry[member_name(upload.checksum_algorithm)] = part.checksums[upload.checksum_algorithm]
            listed.append(entry)
        if listed:
            out["Parts"] = listed
        if upload.checksum_algorithm:
            out["ChecksumAlgorithm"] = upload.checksum_algorithm
            out["ChecksumType"] = upload.checksum_type
        return out

    @operation("ListMultipartUploads")
    def list_multipart_uploads(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        enc = Encoder(req.get("EncodingType"))
        prefix, delimiter = req.get("Prefix") or "", req.get("Delimiter") or None
        limit = min(int(req["MaxUploads"]) if req.get("MaxUploads") is not None else MAX_UPLOADS, MAX_UPLOADS)
        key_marker = req.get("KeyMarker") or None
        upload_marker = req.get("UploadIdMarker") or None
        after_row = self.store.upload_row_id(upload_marker) if key_marker and upload_marker else None
        items: list[tuple[str, Any]] = []
        truncated = False
        after_key, row = key_marker, after_row
        done = False
        while not done and not truncated:
            batch = self.store.list_uploads(bucket.id, prefix, after_key, row, 500)
            if len(batch) < 500:
                done = True
            for upload in batch:
                after_key, row = upload.key, upload.id
                common = None
                if delimiter:
                    index = upload.key.find(delimiter, len(prefix))
                    if index >= 0:
                        common = upload.key[:index + len(delimiter)]
                if common is not None:
                    if common == key_marker or (items and items[-1] == ("prefix", common)):
                        continue
                    if len(items) == limit:
                        truncated = True
                        break
                    items.append(("prefix", common))
                    continue
                if len(items) == limit:
                    truncated = True
                    break
                items.append(("upload", upload))
        out: dict[str, Any] = {"Bucket": bucket.name, "KeyMarker": enc(key_marker or ""),
                               "UploadIdMarker": upload_marker or "", "MaxUploads": limit,
                               "IsTruncated": truncated, "Prefix": enc(prefix)}
        if delimiter:
            out["Delimiter"] = enc(delimiter)
        if enc.url:
            out["EncodingType"] = "url"
        uploads = []
        for kind, value in items:
            if kind != "upload":
                continue
            owner = owner_of(value.owner)
            entry: dict[str, Any] = {"UploadId": value.upload_id, "Key": enc(value.key),
                                     "Initiated": value.initiated_at, "StorageClass": value.storage_class,
                                     "Owner": owner, "Initiator": owner}
            if value.checksum_algorithm:
                entry["ChecksumAlgorithm"] = value.checksum_algorithm
                entry["ChecksumType"] = value.checksum_type
            uploads.append(entry)
        if uploads:
            out["Uploads"] = uploads
        prefixes = [{"Prefix": enc(v)} for k, v in items if k == "prefix"]
        if prefixes:
            out["CommonPrefixes"] = prefixes
        if truncated and items:
            kind, last = items[-1]
            if kind == "upload":
                out["NextKeyMarker"] = enc(last.key)
                out["NextUploadIdMarker"] = last.upload_id
            else:
                out["NextKeyMarker"] = enc(last)
        return out


def _object_checksum(algorithm: str, checksum_type: str, parts: list[Part]) -> str | None:
    """The whole object's checksum from its parts', or None when a part lacks that algorithm."""
    digests: list[bytes] = []
    for part in parts:
        value = part.checksums.get(algorithm)
        if value is None:
            return None
        digests.append(decode_digest(algorithm, value))
    if checksum_type == "COMPOSITE":
        return composite_checksum(algorithm, digests)
    return combine_full_object(algorithm, [(d, p.size) for d, p in zip(digests, parts, strict=True)])


def _now() -> float:
    return round(time.time(), 3)
