"""boto3 against a real fogbank server: buckets and their configurations, CORS over HTTP."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from tests.support import FogbankServer, make_client


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_bucket_lifecycle(s3: Any) -> None:
    name = f"life-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.create_bucket(Bucket=name)  # us-east-1: the owner may repeat the call
    assert s3.head_bucket(Bucket=name)["BucketRegion"] == "us-east-1"
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=name)
    assert _code(exc) == "BucketNotEmpty"
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=name)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket="Invalid_Name")
    assert _code(exc) == "InvalidBucketName"


def test_bucket_in_another_region(fogbank: FogbankServer) -> None:
    eu = make_client(fogbank.endpoint_url, "s3", region="eu-central-1")
    name = f"eu-{uuid.uuid4().hex[:12]}"
    with pytest.raises(ClientError) as exc:
        eu.create_bucket(Bucket=name)
    assert _code(exc) == "IllegalLocationConstraintException"
    eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    assert eu.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-central-1"
    with pytest.raises(ClientError) as exc:
        eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    assert _code(exc) == "BucketAlreadyOwnedByYou"
    regional = eu.list_buckets(BucketRegion="eu-central-1")["Buckets"]
    assert [b["Name"] for b in regional] == [name] and regional[0]["BucketRegion"] == "eu-central-1"


def test_list_buckets_pagination(s3: Any) -> None:
    prefix = f"page-{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        s3.create_bucket(Bucket=name)
    seen = [b["Name"] for page in s3.get_paginator("list_buckets").paginate(
        Prefix=prefix, PaginationConfig={"PageSize": 2}) for b in page["Buckets"]]
    assert seen == names


def test_tagging_policy_encryption_and_access_block(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_tagging(Bucket=bucket)
    assert _code(exc) == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "ml"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "ml"}]

    with pytest.raises(ClientError) as exc:
        s3.get_bucket_policy(Bucket=bucket)
    assert _code(exc) == "NoSuchBucketPolicy"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "s3:*",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]})
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(policy)
    s3.delete_bucket_policy(Bucket=bucket)

    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    s3.delete_public_access_block(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.get_public_access_block(Bucket=bucket)
    assert _code(exc) == "NoSuchPublicAccessBlockConfiguration"
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert acl["Grants"][0]["Permission"] == "FULL_CONTROL"
    assert acl["Grants"][0]["Grantee"]["ID"] == acl["Owner"]["ID"]


def test_lifecycle_configuration_round_trip(s3: Any, bucket: str) -> None:
    rules = [
        {"ID": "expire-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30}},
        {"ID": "old-versions", "Status": "Enabled", "Filter": {},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 7}},
        {"ID": "uploads", "Status": "Disabled", "Filter": {"Prefix": ""},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
        {"ID": "on-date", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
         "Expiration": {"Date": datetime(2031, 1, 1, tzinfo=UTC)}},
    ]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == rules
    put = s3.put_object(Bucket=bucket, Key="logs/today.log", Body=b"x")
    assert 'rule-id="expire-logs"' in put["Expiration"]
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
            {"ID": "bad", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": -1}}]})
    assert _code(exc) == "InvalidArgument"
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert _code(exc) == "NoSuchLifecycleConfiguration"


CORS = {"CORSRules": [{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET", "PUT"],
                       "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 300}]}


def test_cors_configuration_and_response_headers(s3: Any, bucket: str, fogbank: FogbankServer) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_cors(Bucket=bucket)
    assert _code(exc) == "NoSuchCORSConfiguration"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=CORS)
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == CORS["CORSRules"]
    s3.put_object(Bucket=bucket, Key="page.html", Body=b"<html/>")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "page.html"})
    matched = requests.get(url, headers={"Origin": "https://app.example.com"}, timeout=30)
    assert matched.status_code == 200 and matched.content == b"<html/>"
    assert matched.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert matched.headers["Access-Control-Expose-Headers"] == "ETag"
    other = requests.get(url, headers={"Origin": "https://evil.example"}, timeout=30)
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_cors(Bucket=bucket)


def test_cors_preflight_over_http(s3: Any, bucket: str, fogbank: FogbankServer) -> None:
    url = f"{fogbank.endpoint_url}/{bucket}/some/key"
    headers = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT",
               "Access-Control-Request-Headers": "content-type"}
    before = requests.options(url, headers=headers, timeout=30)
    assert before.status_code == 403
    assert "<Code>AccessForbidden</Code>" in before.text
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=CORS)
    allowed = requests.options(url, headers=headers, timeout=30)
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert allowed.headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert allowed.headers["Access-Control-Max-Age"] == "300"
    denied = requests.options(url, headers={**headers, "Origin": "https://evil.example"}, timeout=30)
    assert denied.status_code == 403
