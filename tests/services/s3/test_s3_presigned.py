"""Presigned URLs in both forms boto3 makes, and browser POST forms, used from plain HTTP clients."""

from __future__ import annotations

import os
import urllib.request
from typing import Any

import requests
from tests.support import FogbankServer, make_client


def test_presigned_get_and_put_sigv2_query_form(s3: Any, bucket: str) -> None:
    data = os.urandom(3000)
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "v2.bin"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in put_url or "X-Amz-Credential=" in put_url
    assert requests.put(put_url, data=data, timeout=30).status_code == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2.bin"}, ExpiresIn=300)
    response = requests.get(get_url, timeout=30)
    assert response.status_code == 200 and response.content == data


def test_presigned_sigv4_put_from_urllib_keeps_exact_bytes(fogbank: FogbankServer, bucket: str) -> None:
    s3v4 = make_client(fogbank.endpoint_url, "s3", signature_version="s3v4")
    url = s3v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "dir/u.txt"}, ExpiresIn=300)
    assert "X-Amz-Signature=" in url
    body = b"name=value&other=1"  # looks like a form, and urllib labels it as one
    request = urllib.request.Request(url, data=body, method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    stored = s3v4.get_object(Bucket=bucket, Key="dir/u.txt")
    assert stored["Body"].read() == body
    assert stored["ContentType"] == "application/x-www-form-urlencoded"
    get_url = s3v4.generate_presigned_url("get_object", Params={
        "Bucket": bucket, "Key": "dir/u.txt", "ResponseContentType": "text/plain"}, ExpiresIn=300)
    fetched = requests.get(get_url, timeout=30)
    assert fetched.content == body and fetched.headers["Content-Type"] == "text/plain"


def test_presigned_post_form_upload(s3: Any, bucket: str) -> None:
    post = s3.generate_presigned_post(
        bucket, "uploads/${filename}",
        Fields={"success_action_status": "201", "x-amz-meta-owner": "alice"},
        Conditions=[{"success_action_status": "201"}, ["starts-with", "$key", "uploads/"],
                    {"x-amz-meta-owner": "alice"}, ["content-length-range", 1, 1024 * 1024]],
        ExpiresIn=300)
    content = os.urandom(10_000)
    response = requests.post(post["url"], data=post["fields"],
                             files={"file": ("photo.jpg", content, "image/jpeg")}, timeout=30)
    assert response.status_code == 201, response.text
    assert "<Key>uploads/photo.jpg</Key>" in response.text
    stored = s3.get_object(Bucket=bucket, Key="uploads/photo.jpg")
    assert stored["Body"].read() == content
    assert stored["Metadata"] == {"owner": "alice"}
    assert stored["ContentType"] == "image/jpeg"


def test_presigned_post_outside_policy_is_refused(s3: Any, bucket: str) -> None:
    post = s3.generate_presigned_post(bucket, "small.txt",
                                      Conditions=[["content-length-range", 1, 10]], ExpiresIn=300)
    response = requests.post(post["url"], data=post["fields"],
                             files={"file": ("small.txt", b"x" * 100, "text/plain")}, timeout=30)
    assert response.status_code == 400
    assert "EntityTooLarge" in response.text
    s3.put_object(Bucket=bucket, Key="keep.txt", Body=b"kept")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["keep.txt"]


def test_virtual_hosted_addressing(fogbank: FogbankServer, s3: Any) -> None:
    """bucket.localhost and bucket.s3.localhost name the bucket in the Host header, as AWS's endpoints do."""
    s3.create_bucket(Bucket="vhost-bucket")
    port = fogbank.endpoint_url.rsplit(":", 1)[1]
    for host in (f"vhost-bucket.localhost:{port}", f"vhost-bucket.s3.localhost:{port}"):
        put = requests.put(f"{fogbank.endpoint_url}/a/b.txt", data=host.encode(), headers={"Host": host}, timeout=30)
        assert put.status_code == 200, put.text
        assert s3.get_object(Bucket="vhost-bucket", Key="a/b.txt")["Body"].read() == host.encode()
        listing = requests.get(f"{fogbank.endpoint_url}/?list-type=2", headers={"Host": host}, timeout=30)
        assert "<Key>a/b.txt</Key>" in listing.text and "<Name>vhost-bucket</Name>" in listing.text
