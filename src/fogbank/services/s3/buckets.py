"""Bucket lifecycle operations: create, head, list, delete, location and versioning."""

from __future__ import annotations

from typing import Any

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import operation
from fogbank.services.s3 import errors
from fogbank.services.s3.base import S3Base
from fogbank.services.s3.listing import decode_token, encode_token
from fogbank.services.s3.records import to_datetime
from fogbank.services.s3.rules import owner_of, tags_from_tagset, tagset, validate_bucket_name

US_EAST_1 = "us-east-1"
# Legacy location constraints that name a region differently.
_LOCATION_ALIASES = {"EU": "eu-west-1"}
_PUBLIC_ACCESS_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                          "RestrictPublicBuckets": True}


def bucket_arn(name: str) -> str:
    return f"arn:aws:s3:::{name}"


class BucketOps(S3Base):
    """Operations on buckets themselves."""

    @operation("CreateBucket")
    def create_bucket(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["Bucket"]
        validate_bucket_name(name)
        config = req.get("CreateBucketConfiguration") or {}
        constraint = config.get("LocationConstraint")
        region = ctx.region or US_EAST_1
        if constraint:
            if constraint == US_EAST_1:
                raise errors.InvalidLocationConstraint(LocationConstraint=constraint)
            if _LOCATION_ALIASES.get(constraint, constraint) != region:
                raise errors.IllegalLocationConstraintException(
                    f"The {constraint} location constraint is incompatible for the region specific endpoint "
                    "this request was sent to.")
        elif region != US_EAST_1:
            raise errors.IllegalLocationConstraintException()
        ownership = req.get("ObjectOwnership") or "BucketOwnerEnforced"
        acl = req.get("ACL")
        if ownership == "BucketOwnerEnforced" and acl not in (None, "private", "bucket-owner-full-control"):
            raise errors.InvalidBucketAclWithObjectOwnership(
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
        object_lock = bool(req.get("ObjectLockEnabledForBucket"))
        configs: dict[str, Any] = {
            "ownership": {"Rules": [{"ObjectOwnership": ownership}]},
            "public_access_block": dict(_PUBLIC_ACCESS_BLOCKED),
        }
        if acl:
            configs["acl"] = acl
        if object_lock:
            configs["object_lock"] = {"ObjectLockEnabled": "Enabled"}
        tags = config.get("Tags")
        if tags:
            configs["tagging"] = tagset(tags_from_tagset(tags, "bucket"))
        bucket, created = self.store.create_bucket(name, ctx.account_id, region, object_lock, configs)
        if not created:
            if bucket.account != ctx.account_id:
                raise errors.BucketAlreadyExists(BucketName=name)
            if not (bucket.region == US_EAST_1 and region == US_EAST_1):
                raise errors.BucketAlreadyOwnedByYou(BucketName=name)
        location = f"/{name}" if region == US_EAST_1 else f"http://{name}.s3.{region}.amazonaws.com/"
        return {"Location": location, "BucketArn": bucket_arn(name)}

    @operation("HeadBucket")
    def head_bucket(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        return {"BucketRegion": bucket.region, "AccessPointAlias": False, "BucketArn": bucket_arn(bucket.name)}

    @operation("DeleteBucket")
    def delete_bucket(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        self.store.delete_bucket(bucket)
        return {}

    @operation("ListBuckets")
    def list_buckets(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        prefix = req.get("Prefix") or ""
        region = req.get("BucketRegion")
        limit = req.get("MaxBuckets")
        if limit is not None and not 1 <= int(limit) <= 10_000:
            raise errors.InvalidArgument("Argument max-buckets must be an integer between 1 and 10000",
                                         ArgumentName="max-buckets", ArgumentValue=str(limit))
        token = req.get("ContinuationToken")
        after = decode_token(token) if token else None
        mine = [b for b in self.store.all_buckets()
                if b.account == ctx.account_id and b.name.startswith(prefix)
                and (region is None or b.region == region) and (after is None or b.name > after)]
        page = mine if limit is None else mine[:int(limit)]
        out: dict[str, Any] = {
            "Buckets": [{"Name": b.name, "CreationDate": to_datetime(b.created), "BucketRegion": b.region,
                         "BucketArn": bucket_arn(b.name)} for b in page],
            "Owner": owner_of(ctx.account_id),
        }
        if prefix:
            out["Prefix"] = prefix
        if limit is not None and len(mine) > len(page) and page:
            out["ContinuationToken"] = encode_token(page[-1].name)
        return out

    @operation("GetBucketLocation")
    def get_bucket_location(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        # us-east-1 is reported as an empty LocationConstraint element, as S3 does.
        return {"LocationConstraint": "" if bucket.region == US_EAST_1 else bucket.region}

    @operation("PutBucketVersioning")
    def put_bucket_versioning(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        config = req.get("VersioningConfiguration") or {}
        status = config.get("Status")
        if status not in ("Enabled", "Suspended"):
            raise errors.IllegalVersioningConfigurationException()
        if bucket.object_lock and status == "Suspended":
            raise errors.InvalidBucketState("An Object Lock configuration is present on this bucket, so the "
                                            "versioning state cannot be changed.")
        self.store.set_versioning(bucket, status)
        return {}

    @operation("GetBucketVersioning")
    def get_bucket_versioning(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        return {"Status": bucket.versioning} if bucket.versioning else {}
