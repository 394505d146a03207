"""Bucket configurations: stored documents returned as sent, with S3's validation and defaults.

Tagging, policy, CORS, lifecycle, ACL, encryption, public access block, ownership controls, object lock,
website, logging, notifications, accelerate, request payment and replication.
"""

from __future__ import annotations

import json
from typing import Any

from fogbank.context import RequestContext
from fogbank.errors import AccessDenied
from fogbank.protocol.dispatch import operation
from fogbank.services.s3 import cors, errors, lifecycle
from fogbank.services.s3.base import S3Base
from fogbank.services.s3.rules import canonical_id, owner_of, tags_from_tagset, tagset

_ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
_AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
_LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
_DEFAULT_ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                                  "BucketKeyEnabled": False}]}


def acl_document(account: str, canned: str) -> dict[str, Any]:
    """The AccessControlPolicy a canned ACL stands for."""
    owner = owner_of(account)
    grants: list[dict[str, Any]] = [{"Grantee": {"Type": "CanonicalUser", **owner}, "Permission": "FULL_CONTROL"}]

    def group(uri: str, permission: str) -> None:
        grants.append({"Grantee": {"Type": "Group", "URI": uri}, "Permission": permission})

    if canned in ("public-read", "public-read-write"):
        group(_ALL_USERS, "READ")
    if canned == "public-read-write":
        group(_ALL_USERS, "WRITE")
    if canned == "authenticated-read":
        group(_AUTHENTICATED, "READ")
    if canned == "log-delivery-write":
        group(_LOG_DELIVERY, "WRITE")
        group(_LOG_DELIVERY, "READ_ACP")
    return {"Owner": owner, "Grants": grants}


def _is_public(policy: dict[str, Any]) -> bool:
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        principal = statement.get("Principal")
        if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") in ("*", ["*"])):
            return True
    return False


class ConfigOps(S3Base):
    """Get/Put/Delete of bucket configuration documents."""

    def _get_required(self, bucket_id: int, name: str, missing: type[errors.S3Error], bucket: str) -> Any:
        value = self.store.get_config(bucket_id, name)
        if value is None:
            raise missing(BucketName=bucket)
        return value

    # -- tagging ---------------------------------------------------------------------------------------

    @operation("PutBucketTagging")
    def put_bucket_tagging(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        tags = tags_from_tagset((req.get("Tagging") or {}).get("TagSet"), "bucket")
        self.store.put_config(bucket.id, "tagging", tagset(tags))
        return {}

    @operation("GetBucketTagging")
    def get_bucket_tagging(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        value = self.store.get_config(bucket.id, "tagging")
        if not value:
            raise errors.NoSuchTagSet(BucketName=bucket.name)
        return {"TagSet": value}

    @operation("DeleteBucketTagging")
    def delete_bucket_tagging(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        self.store.delete_config(bucket.id, "tagging")
        return {}

    # -- policy ----------------------------------------------------------------------------------------

    @operation("PutBucketPolicy")
    def put_bucket_policy(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        text = req.get("Policy") or ""
        if not text.lstrip().startswith("{"):
            raise errors.MalformedPolicy()
        try:
            document = json.loads(text)
        except ValueError:
            raise errors.MalformedPolicy() from None
        if not isinstance(document, dict) or "Statement" not in document:
            raise errors.MalformedPolicy("Missing required field Statement")
        block = self.store.get_config(bucket.id, "public_access_block") or {}
        if block.get("BlockPublicPolicy") and _is_public(document):
            raise AccessDenied("User is not authorized to perform: s3:PutBucketPolicy on resource because "
                               "public policies are blocked by the BlockPublicPolicy block public access setting.")
        self.store.put_config(bucket.id, "policy", text)
        return {}

    @operation("GetBucketPolicy")
    def get_bucket_policy(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        return {"Policy": self._get_required(bucket.id, "policy", errors.NoSuchBucketPolicy, bucket.name)}

    @operation("GetBucketPolicyStatus")
    def get_bucket_policy_status(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        text = self._get_required(bucket.id, "policy", errors.NoSuchBucketPolicy, bucket.name)
        return {"PolicyStatus": {"IsPublic": _is_public(json.loads(text))}}

    @operation("DeleteBucketPolicy")
    def delete_bucket_policy(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        self.store.delete_config(bucket.id, "policy")
        return {}

    # -- CORS ------------------------------------------------------------------------------------------

    @operation("PutBucketCors")
    def put_bucket_cors(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        rules = cors.validate_rules(req.get("CORSConfiguration"))
        self.store.put_config(bucket.id, "cors", rules)
        return {}

    @operation("GetBucketCors")
    def get_bucket_cors(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        return {"CORSRules": self._get_required(bucket.id, "cors", errors.NoSuchCORSConfiguration, bucket.name)}

    @operation("DeleteBucketCors")
    def delete_bucket_cors(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        self.store.delete_config(bucket.id, "cors")
        return {}

    # -- lifecycle -------------------------------------------------------------------------------------

    @operation("PutBucketLifecycleConfiguration")
    def put_bucket_lifecycle_configuration(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        rules = lifecycle.validate(req.get("LifecycleConfiguration"))
        self.store.put_config(bucket.id, "lifecycle", {"Rules": rules})
        return {"TransitionDefaultMinimumObjectSize": req.get("TransitionDefaultMinimumObjectSize")
                or "all_storage_classes_128K"}

    @operation("GetBucketLifecycleConfiguration")
    def get_bucket_lifecycle_configuration(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        value = self._get_required(bucket.id, "lifecycle", errors.NoSuchLifecycleConfiguration, bucket.name)
        return {"Rules": value["Rules"], "TransitionDefaultMinimumObjectSize": "all_storage_classes_128K"}

    @operation("DeleteBucketLifecycle")
    def delete_bucket_lifecycle(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        self.store.delete_config(bucket.id, "lifecycle")
        return {}

    # -- ACLs ------------------------------------------------------------------------------------------

    @operation("GetBucketAcl")
    def get_bucket_acl(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        stored = self.store.get_config(bucket.id, "acl")
        if isinstance(stored, dict):
            return dict(stored)
        return acl_document(bucket.account, stored or "private")

    @operation("PutBucketAcl")
    def put_bucket_acl(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        policy = req.get("AccessControlPolicy")
        header_grants = any(req.get(g) for g in ("GrantFullControl", "GrantRead", "GrantReadACP", "GrantWrite",
                                                  "GrantWriteACP"))
        owner_id = canonical_id(bucket.account)
        only_owner = policy is not None and all(
            (g.get("Grantee") or {}).get("ID") == owner_id and g.get("Permission") == "FULL_CONTROL"
            for g in policy.get("Grants") or [])
        self._check_acl(bucket, req.get("ACL"), header_grants or (policy is not None and not only_owner))
        if policy is not None:
            document = {"Owner": policy.get("Owner") or owner_of(bucket.account),
                        "Grants": policy.get("Grants") or []}
            self.store.put_config(bucket.id, "acl", document)
        else:
            self.store.put_config(bucket.id, "acl", req.get("ACL") or "private")
        return {}

    # -- encryption, public access, ownership, object lock ---------------------------------------------

    @operation("PutBucketEncryption")
    def put_bucket_encryption(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        config = req.get("ServerSideEncryptionConfiguration") or {}
        rules = config.get("Rules") or []
        if not rules:
            raise errors.MalformedXML()
        for rule in rules:
            default = rule.get("ApplyServerSideEncryptionByDefault") or {}
            if default.get("KMSMasterKeyID") and default.get("SSEAlgorithm") == "AES256":
                raise errors.InvalidArgument("a KMSMasterKeyID is not applicable if the default sse algorithm "
                                             "is not aws:kms or aws:kms:dsse",
                                             ArgumentName="ApplyServerSideEncryptionByDefault")
        self.store.put_config(bucket.id, "encryption", {"Rules": rules})
        return {}

    @operation("GetBucketEncryption")
    def get_bucket_encryption(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        return {"ServerSideEncryptionConfiguration": self.store.get_config(bucket.id, "encryption")
                or _DEFAULT_ENCRYPTION}

    @operation("DeleteBucketEncryption")
    def delete_bucket_encryption(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        self.store.delete_config(bucket.id, "encryption")
        return {}

    @operation("PutPublicAccessBlock")
    def put_public_access_block(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        config = req.get("PublicAccessBlockConfiguration") or {}
        value = {k: bool(config.get(k, False)) for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                                                         "RestrictPublicBuckets")}
        self.store.put_config(bucket.id, "public_access_block", value)
        return {}

    @operation("GetPublicAccessBlock")
    def get_public_access_block(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        value = self._get_required(bucket.id, "public_access_block", errors.NoSuchPublicAccessBlockConfiguration,
                                   bucket.name)
        return {"PublicAccessBlockConfiguration": value}

    @operation("DeletePublicAccessBlock")
    def delete_public_access_block(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        self.store.delete_config(bucket.id, "public_access_block")
        return {}

    @operation("PutBucketOwnershipControls")
    def put_bucket_ownership_controls(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        controls = req.get("OwnershipControls") or {}
        rules = controls.get("Rules") or []
        if len(rules) != 1 or not rules[0].get("ObjectOwnership"):
            raise errors.MalformedXML()
        self.store.put_config(bucket.id, "ownership", {"Rules": rules})
        return {}

    @operation("GetBucketOwnershipControls")
    def get_bucket_ownership_controls(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        value = self._get_required(bucket.id, "ownership", errors.OwnershipControlsNotFoundError, bucket.name)
        return {"OwnershipControls": value}

    @operation("DeleteBucketOwnershipControls")
    def delete_bucket_ownership_controls(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        self.store.delete_config(bucket.id, "ownership")
        return {}

    @operation("PutObjectLockConfiguration")
    def put_object_lock_configuration(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        if not bucket.object_lock and bucket.versioning != "Enabled":
            raise errors.InvalidBucketState("Versioning must be 'Enabled' on the bucket to apply a Object Lock "
                                            "configuration")
        config = req.get("ObjectLockConfiguration") or {}
        self.store.put_config(bucket.id, "object_lock", config)
        return {}

    @operation("GetObjectLockConfiguration")
    def get_object_lock_configuration(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        value = self._get_required(bucket.id, "object_lock", errors.ObjectLockConfigurationNotFoundError,
                                   bucket.name)
        return {"ObjectLockConfiguration": value}

    # -- documents stored as sent ----------------------------------------------------------------------

    def _put_doc(self, ctx: RequestContext, req: dict[str, Any], name: str, member: str) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        self.store.put_config(bucket.id, name, req.get(member) or {})
        return {}

    def _get_doc(self, ctx: RequestContext, req: dict[str, Any], name: str,
                 missing: type[errors.S3Error] | None = None, default: dict[str, Any] | None = None,
                 wrap: str | None = None) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        value = self.store.get_config(bucket.id, name)
        if value is None:
            if missing is not None:
                raise missing(BucketName=bucket.name)
            value = default or {}
        return {wrap: value} if wrap else dict(value)

    def _delete_doc(self, ctx: RequestContext, req: dict[str, Any], name: str) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        self.store.delete_config(bucket.id, name)
        return {}

    @operation("PutBucketWebsite")
    def put_bucket_website(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._put_doc(ctx, req, "website", "WebsiteConfiguration")

    @operation("GetBucketWebsite")
    def get_bucket_website(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._get_doc(ctx, req, "website", errors.NoSuchWebsiteConfiguration)

    @operation("DeleteBucketWebsite")
    def delete_bucket_website(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._delete_doc(ctx, req, "website")

    @operation("PutBucketLogging")
    def put_bucket_logging(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._put_doc(ctx, req, "logging", "BucketLoggingStatus")

    @operation("GetBucketLogging")
    def get_bucket_logging(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._get_doc(ctx, req, "logging")

    @operation("PutBucketNotificationConfiguration")
    def put_bucket_notification_configuration(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._put_doc(ctx, req, "notification", "NotificationConfiguration")

    @operation("GetBucketNotificationConfiguration")
    def get_bucket_notification_configuration(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._get_doc(ctx, req, "notification")

    @operation("PutBucketAccelerateConfiguration")
    def put_bucket_accelerate_configuration(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._put_doc(ctx, req, "accelerate", "AccelerateConfiguration")

    @operation("GetBucketAccelerateConfiguration")
    def get_bucket_accelerate_configuration(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._get_doc(ctx, req, "accelerate")

    @operation("PutBucketRequestPayment")
    def put_bucket_request_payment(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._put_doc(ctx, req, "request_payment", "RequestPaymentConfiguration")

    @operation("GetBucketRequestPayment")
    def get_bucket_request_payment(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._get_doc(ctx, req, "request_payment", default={"Payer": "BucketOwner"})

    @operation("PutBucketReplication")
    def put_bucket_replication(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(ctx, req)
        if bucket.versioning != "Enabled":
            raise errors.InvalidRequest("Versioning must be 'Enabled' on the bucket to apply a replication "
                                        "configuration")
        return self._put_doc(ctx, req, "replication", "ReplicationConfiguration")

    @operation("GetBucketReplication")
    def get_bucket_replication(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._get_doc(ctx, req, "replication", errors.ReplicationConfigurationNotFoundError,
                             wrap="ReplicationConfiguration")

    @operation("DeleteBucketReplication")
    def delete_bucket_replication(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._delete_doc(ctx, req, "replication")
