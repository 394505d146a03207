"""Bucket configurations, CORS and lifecycle expiry, called directly."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.services.s3.direct_support import Direct, make_ctx

from fogbank.config import Config
from fogbank.errors import AccessDenied
from fogbank.services.s3 import errors
from fogbank.services.s3.provider import S3Provider

CORS_RULES = [
    {"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET", "PUT"],
     "AllowedHeaders": ["content-type", "x-amz-*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]},
]


def test_bucket_tagging(direct: Direct) -> None:
    bucket = direct.bucket()
    with pytest.raises(errors.NoSuchTagSet):
        direct.p.get_bucket_tagging(make_ctx(), {"Bucket": bucket})
    tags = [{"Key": "team", "Value": "data"}, {"Key": "cost", "Value": "42"}]
    direct.p.put_bucket_tagging(make_ctx(), {"Bucket": bucket, "Tagging": {"TagSet": tags}})
    assert direct.p.get_bucket_tagging(make_ctx(), {"Bucket": bucket})["TagSet"] == tags
    with pytest.raises(errors.InvalidTag):
        direct.p.put_bucket_tagging(make_ctx(), {"Bucket": bucket, "Tagging": {
            "TagSet": [{"Key": "aws:reserved", "Value": "x"}]}})
    direct.p.delete_bucket_tagging(make_ctx(), {"Bucket": bucket})
    with pytest.raises(errors.NoSuchTagSet):
        direct.p.get_bucket_tagging(make_ctx(), {"Bucket": bucket})


def test_bucket_policy(direct: Direct) -> None:
    bucket = direct.bucket()
    with pytest.raises(errors.NoSuchBucketPolicy):
        direct.p.get_bucket_policy(make_ctx(), {"Bucket": bucket})
    with pytest.raises(errors.MalformedPolicy):
        direct.p.put_bucket_policy(make_ctx(), {"Bucket": bucket, "Policy": "not json"})
    public = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})
    with pytest.raises(AccessDenied):
        direct.p.put_bucket_policy(make_ctx(), {"Bucket": bucket, "Policy": public})
    direct.p.put_public_access_block(make_ctx(), {"Bucket": bucket, "PublicAccessBlockConfiguration": {
        "BlockPublicPolicy": False}})
    direct.p.put_bucket_policy(make_ctx(), {"Bucket": bucket, "Policy": public})
    assert direct.p.get_bucket_policy(make_ctx(), {"Bucket": bucket})["Policy"] == public
    assert direct.p.get_bucket_policy_status(make_ctx(), {"Bucket": bucket})["PolicyStatus"]["IsPublic"] is True
    direct.p.delete_bucket_policy(make_ctx(), {"Bucket": bucket})
    with pytest.raises(errors.NoSuchBucketPolicy):
        direct.p.get_bucket_policy(make_ctx(), {"Bucket": bucket})


def test_defaults_of_a_new_bucket(direct: Direct) -> None:
    bucket = direct.bucket()
    encryption = direct.p.get_bucket_encryption(make_ctx(), {"Bucket": bucket})
    assert encryption["ServerSideEncryptionConfiguration"]["Rules"][0][
        "ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = direct.p.get_public_access_block(make_ctx(), {"Bucket": bucket})["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                     "RestrictPublicBuckets": True}
    ownership = direct.p.get_bucket_ownership_controls(make_ctx(), {"Bucket": bucket})
    assert ownership["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    acl = direct.p.get_bucket_acl(make_ctx(), {"Bucket": bucket})
    assert acl["Grants"] == [{"Grantee": {"Type": "CanonicalUser", **acl["Owner"]}, "Permission": "FULL_CONTROL"}]
    with pytest.raises(errors.AccessControlListNotSupported):
        direct.p.put_bucket_acl(make_ctx(), {"Bucket": bucket, "ACL": "public-read"})
    with pytest.raises(errors.AccessControlListNotSupported):
        direct.put(bucket, "k", ACL="public-read")
    assert direct.put(bucket, "k", ACL="bucket-owner-full-control")["ServerSideEncryption"] == "AES256"


def test_acls_when_ownership_allows_them(direct: Direct) -> None:
    bucket = direct.bucket(ObjectOwnership="ObjectWriter")
    direct.p.put_bucket_acl(make_ctx(), {"Bucket": bucket, "ACL": "public-read"})
    grants = direct.p.get_bucket_acl(make_ctx(), {"Bucket": bucket})["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
            "Permission": "READ"} in grants
    direct.put(bucket, "k", ACL="public-read")
    assert len(direct.p.get_object_acl(make_ctx(), {"Bucket": bucket, "Key": "k"})["Grants"]) == 2


def test_encryption_and_other_documents(direct: Direct) -> None:
    bucket = direct.bucket()
    config = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                                  "KMSMasterKeyID": "alias/key"},
                         "BucketKeyEnabled": True}]}
    direct.p.put_bucket_encryption(make_ctx(), {"Bucket": bucket, "ServerSideEncryptionConfiguration": config})
    assert direct.p.get_bucket_encryption(make_ctx(), {"Bucket": bucket})[
        "ServerSideEncryptionConfiguration"] == config
    put = direct.put(bucket, "k")
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == "alias/key"
    website = {"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "error.html"}}
    with pytest.raises(errors.NoSuchWebsiteConfiguration):
        direct.p.get_bucket_website(make_ctx(), {"Bucket": bucket})
    direct.p.put_bucket_website(make_ctx(), {"Bucket": bucket, "WebsiteConfiguration": website})
    assert direct.p.get_bucket_website(make_ctx(), {"Bucket": bucket}) == website
    assert direct.p.get_bucket_request_payment(make_ctx(), {"Bucket": bucket}) == {"Payer": "BucketOwner"}


# -- CORS -------------------------------------------------------------------------------------------------

def test_cors_configuration_and_preflight(direct: Direct) -> None:
    bucket = direct.bucket()
    with pytest.raises(errors.NoSuchCORSConfiguration):
        direct.p.get_bucket_cors(make_ctx(), {"Bucket": bucket})
    with pytest.raises(errors.AccessForbidden):
        direct.p.cors_preflight(make_ctx(headers={"origin": "https://app.example.com",
                                                  "access-control-request-method": "GET"}), bucket)
    with pytest.raises(errors.InvalidRequest):
        direct.p.put_bucket_cors(make_ctx(), {"Bucket": bucket, "CORSConfiguration": {"CORSRules": [
            {"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]}})
    direct.p.put_bucket_cors(make_ctx(), {"Bucket": bucket, "CORSConfiguration": {"CORSRules": CORS_RULES}})
    assert direct.p.get_bucket_cors(make_ctx(), {"Bucket": bucket})["CORSRules"] == CORS_RULES

    response = direct.p.cors_preflight(make_ctx(method="OPTIONS", headers={
        "origin": "https://app.example.com", "access-control-request-method": "PUT",
        "access-control-request-headers": "Content-Type, X-Amz-Date"}), bucket)
    headers = dict(response.headers)
    assert response.status == 200
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert headers["Access-Control-Allow-Headers"] == "content-type, x-amz-date"
    assert headers["Access-Control-Max-Age"] == "600" and headers["Access-Control-Expose-Headers"] == "ETag"

    wildcard = dict(direct.p.cors_preflight(make_ctx(headers={
        "origin": "https://other.example", "access-control-request-method": "GET"}), bucket).headers)
    assert wildcard["Access-Control-Allow-Origin"] == "*"
    with pytest.raises(errors.AccessForbidden) as exc:
        direct.p.cors_preflight(make_ctx(headers={"origin": "https://other.example",
                                                  "access-control-request-method": "PUT"}), bucket)
    assert exc.value.status == 403
    with pytest.raises(errors.AccessForbidden):
        direct.p.cors_preflight(make_ctx(headers={"origin": "https://app.example.com",
                                                  "access-control-request-method": "PUT",
                                                  "access-control-request-headers": "x-custom"}), bucket)
    with pytest.raises(errors.BadRequest):
        direct.p.cors_preflight(make_ctx(headers={"access-control-request-method": "GET"}), bucket)


def test_cors_decorates_matching_responses(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.p.put_bucket_cors(make_ctx(), {"Bucket": bucket, "CORSConfiguration": {"CORSRules": CORS_RULES}})
    headers: list[tuple[str, str]] = []
    direct.p.decorate_response(make_ctx(method="PUT", headers={"origin": "https://app.example.com"}),
                               {"Bucket": bucket, "Key": "k"}, headers)
    assert ("Access-Control-Allow-Origin", "https://app.example.com") in headers
    assert ("Access-Control-Expose-Headers", "ETag") in headers
    untouched: list[tuple[str, str]] = []
    direct.p.decorate_response(make_ctx(method="DELETE", headers={"origin": "https://app.example.com"}),
                               {"Bucket": bucket}, untouched)
    direct.p.decorate_response(make_ctx(method="GET"), {"Bucket": bucket}, untouched)
    direct.p.decorate_response(make_ctx(method="GET", headers={"origin": "x"}), None, untouched)
    assert untouched == []


# -- lifecycle --------------------------------------------------------------------------------------------

def _lifecycle(direct: Direct, bucket: str, rules: list[dict[str, Any]]) -> None:
    direct.p.put_bucket_lifecycle_configuration(make_ctx(), {"Bucket": bucket,
                                                             "LifecycleConfiguration": {"Rules": rules}})


def test_lifecycle_configuration_is_validated_and_returned(direct: Direct) -> None:
    bucket = direct.bucket()
    with pytest.raises(errors.NoSuchLifecycleConfiguration):
        direct.p.get_bucket_lifecycle_configuration(make_ctx(), {"Bucket": bucket})
    with pytest.raises(errors.InvalidArgument):
        _lifecycle(direct, bucket, [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""},
                                     "Expiration": {"Days": 0}}])
    with pytest.raises(errors.InvalidArgument):
        _lifecycle(direct, bucket, [{"ID": "r", "Status": "Enabled", "Filter": {},
                                     "Expiration": {"Date": datetime(2030, 1, 1, 12, tzinfo=UTC)}}])
    with pytest.raises(errors.InvalidRequest):
        _lifecycle(direct, bucket, [{"ID": "r", "Status": "Enabled", "Filter": {}}])
    rules = [{"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 7}},
             {"ID": "date", "Status": "Disabled", "Filter": {},
              "Expiration": {"Date": datetime(2030, 1, 1, tzinfo=UTC)}}]
    _lifecycle(direct, bucket, rules)
    assert direct.p.get_bucket_lifecycle_configuration(make_ctx(), {"Bucket": bucket})["Rules"] == rules
    direct.p.delete_bucket_lifecycle(make_ctx(), {"Bucket": bucket})
    with pytest.raises(errors.NoSuchLifecycleConfiguration):
        direct.p.get_bucket_lifecycle_configuration(make_ctx(), {"Bucket": bucket})


def test_expiration_days_and_filters(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "logs/old.txt", b"x" * 10)
    direct.put(bucket, "logs/tagged.txt", b"x" * 10, Tagging="keep=yes")
    direct.put(bucket, "data/file.txt", b"x")
    _lifecycle(direct, bucket, [
        {"ID": "logs", "Status": "Enabled", "Expiration": {"Days": 3},
         "Filter": {"And": {"Prefix": "logs/", "Tags": [{"Key": "keep", "Value": "no"}]}}},
        {"ID": "untagged-logs", "Status": "Enabled", "Expiration": {"Days": 3},
         "Filter": {"And": {"Prefix": "logs/old", "ObjectSizeGreaterThan": 5}}},
    ])
    head = direct.p.head_object(make_ctx(), {"Bucket": bucket, "Key": "logs/old.txt"})
    assert 'rule-id="untagged-logs"' in head["Expiration"]
    assert direct.p.apply_lifecycle(datetime.now(UTC) + timedelta(days=2))["expired"] == 0
    counts = direct.p.apply_lifecycle(datetime.now(UTC) + timedelta(days=5))
    assert counts["expired"] == 1
    keys = [c["Key"] for c in direct.p.list_objects_v2(make_ctx(), {"Bucket": bucket})["Contents"]]
    assert keys == ["data/file.txt", "logs/tagged.txt"]


def test_expiration_in_versioned_bucket_and_noncurrent_cleanup(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.p.put_bucket_versioning(make_ctx(), {"Bucket": bucket, "VersioningConfiguration": {"Status": "Enabled"}})
    direct.put(bucket, "k", b"old")
    direct.put(bucket, "k", b"new")
    _lifecycle(direct, bucket, [
        {"ID": "expire", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 10}},
        {"ID": "noncurrent", "Status": "Enabled", "Filter": {}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
        {"ID": "markers", "Status": "Enabled", "Filter": {}, "Expiration": {"ExpiredObjectDeleteMarker": True}},
    ])
    counts = direct.p.apply_lifecycle(datetime.now(UTC) + timedelta(days=3))
    assert counts["noncurrent"] == 1 and counts["expired"] == 0
    versions = direct.p.list_object_versions(make_ctx(), {"Bucket": bucket})
    assert len(versions["Versions"]) == 1 and "DeleteMarkers" not in versions
    counts = direct.p.apply_lifecycle(datetime.now(UTC) + timedelta(days=12))
    assert counts["expired"] == 1
    versions = direct.p.list_object_versions(make_ctx(), {"Bucket": bucket})
    assert len(versions["Versions"]) == 1 and len(versions["DeleteMarkers"]) == 1
    counts = direct.p.apply_lifecycle(datetime.now(UTC) + timedelta(days=14))
    assert counts["noncurrent"] == 1 and counts["markers"] == 1
    assert direct.p.list_object_versions(make_ctx(), {"Bucket": bucket}).get("Versions") is None
    assert direct.p.list_object_versions(make_ctx(), {"Bucket": bucket}).get("DeleteMarkers") is None


def test_expiration_date_and_incomplete_uploads(direct: Direct) -> None:
    bucket = direct.bucket()
    direct.put(bucket, "tmp/a", b"x")
    upload = direct.p.create_multipart_upload(make_ctx(), {"Bucket": bucket, "Key": "tmp/upload"})["UploadId"]
    tomorrow = datetime.fromtimestamp((time.time() // 86400 + 1) * 86400, UTC)
    _lifecycle(direct, bucket, [
        {"ID": "date", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Date": tomorrow}},
        {"ID": "mpu", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
    ])
    assert direct.p.apply_lifecycle(datetime.now(UTC)) == {"expired": 0, "noncurrent": 0, "markers": 0,
                                                           "uploads": 0}
    counts = direct.p.apply_lifecycle(tomorrow + timedelta(days=2))
    assert counts["expired"] == 1 and counts["uploads"] == 1
    with pytest.raises(errors.NoSuchUpload):
        direct.p.list_parts(make_ctx(), {"Bucket": bucket, "Key": "tmp/upload", "UploadId": upload})


def test_background_thread_applies_rules(tmp_path: Path) -> None:
    provider = S3Provider(Config(data_dir=tmp_path / "data"), lifecycle_interval=0.05)
    try:
        provider.create_bucket(make_ctx(), {"Bucket": "auto-expire"})
        provider.put_object(make_ctx(), {"Bucket": "auto-expire", "Key": "old/k", "Body": b"x"})
        provider.put_object(make_ctx(), {"Bucket": "auto-expire", "Key": "new/k", "Body": b"x"})
        midnight = datetime.fromtimestamp(time.time() // 86400 * 86400, UTC)
        provider.put_bucket_lifecycle_configuration(make_ctx(), {"Bucket": "auto-expire", "LifecycleConfiguration": {
            "Rules": [{"ID": "past", "Status": "Enabled", "Filter": {"Prefix": "old/"},
                       "Expiration": {"Date": midnight}}]}})
        deadline = time.monotonic() + 30
        keys = ["new/k", "old/k"]
        while time.monotonic() < deadline:
            listed = provider.list_objects_v2(make_ctx(), {"Bucket": "auto-expire"})
            keys = [c["Key"] for c in listed.get("Contents", [])]
            if keys == ["new/k"]:
                break
            time.sleep(0.05)
        assert keys == ["new/k"]
    finally:
        provider.close()
