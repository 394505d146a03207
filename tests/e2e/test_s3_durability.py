"""Crash safety: SIGKILL the server under parallel writes; every acknowledged write must survive intact."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from typing import Any

from tests.support import FogbankServer

from fogbank.services.s3.store import S3Store

MiB = 1024 * 1024


def _writer(server: FogbankServer, bucket: str, worker: int, stop: threading.Event,
            acked: dict[str, str], attempted: dict[str, str], lock: threading.Lock) -> None:
    s3 = server.client("s3")
    rng = random.Random(worker)
    i = 0
    while not stop.is_set():
        size = rng.choice([0, 1, 100, 4096, 60_000, 70_000, 300_000, 2 * MiB])
        data = os.urandom(size)
        key = f"w{worker}/obj-{i}"
        i += 1
        digest = hashlib.md5(data).hexdigest()
        with lock:
            attempted[key] = digest
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=data)
        except Exception:
            return  # the server is gone
        with lock:
            acked[key] = digest


def _multipart_writer(server: FogbankServer, bucket: str, stop: threading.Event,
                      parts_acked: dict[str, dict[int, str]]) -> None:
    s3 = server.client("s3")
    n = 0
    while not stop.is_set():
        key = f"mp/obj-{n}"
        n += 1
        try:
            upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        except Exception:
            return
        parts_acked[upload] = {}
        for number in range(1, 4):
            data = os.urandom(5 * MiB)
            try:
                response = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=data)
            except Exception:
                return
            assert response["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
            parts_acked[upload][number] = response["ETag"]


def test_sigkill_during_parallel_puts_loses_no_acknowledged_write(own_server: FogbankServer) -> None:
    own_server.start()
    s3 = own_server.client("s3")
    s3.create_bucket(Bucket="crash")
    acked: dict[str, str] = {}
    attempted: dict[str, str] = {}
    parts_acked: dict[str, dict[int, str]] = {}
    lock = threading.Lock()
    stop = threading.Event()
    threads = [threading.Thread(target=_writer, args=(own_server, "crash", w, stop, acked, attempted, lock))
               for w in range(6)]
    threads.append(threading.Thread(target=_multipart_writer, args=(own_server, "crash", stop, parts_acked)))
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acked) < 150 and time.monotonic() < deadline:
        time.sleep(0.05)
    own_server.kill()
    stop.set()
    for thread in threads:
        thread.join(60)
    assert len(acked) >= 150, "the writers made too little progress to test anything"

    own_server.start()
    s3 = own_server.client("s3")
    for key, digest in acked.items():
        body = s3.get_object(Bucket="crash", Key=key)["Body"].read()
        assert hashlib.md5(body).hexdigest() == digest, key
    listed: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="crash"):
        listed.extend(page.get("Contents", []))
    for item in listed:
        # Anything visible was either acknowledged or in flight, and then it is whole.
        assert item["Key"] in attempted, item["Key"]
        body = s3.get_object(Bucket="crash", Key=item["Key"])["Body"].read()
        assert hashlib.md5(body).hexdigest() == attempted[item["Key"]], item["Key"]
    assert set(acked) <= {item["Key"] for item in listed}

    uploads = {u["UploadId"]: u for u in s3.list_multipart_uploads(Bucket="crash").get("Uploads", [])}
    for upload_id, parts in parts_acked.items():
        assert upload_id in uploads
        listed_parts = {p["PartNumber"]: p["ETag"] for p in
                        s3.list_parts(Bucket="crash", Key=uploads[upload_id]["Key"], UploadId=upload_id)
                        .get("Parts", [])}
        for number, etag in parts.items():
            assert listed_parts.get(number) == etag
    own_server.stop()
    # The start after the crash swept what the crash left: every blob file is referenced, no temp files.
    store = S3Store(own_server.data_dir / "s3", sweep=False)
    try:
        orphans, temps = store.unreferenced_files()
    finally:
        store.close()
    assert orphans == set() and temps == 0
    own_server.start()
    s3 = own_server.client("s3")
    complete = [(u, p) for u, p in parts_acked.items() if len(p) >= 2]
    for upload_id, parts in complete[:1]:
        key = uploads[upload_id]["Key"]
        numbers = sorted(parts)[:2]
        s3.complete_multipart_upload(Bucket="crash", Key=key, UploadId=upload_id, MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": parts[n]} for n in numbers]})
        assert s3.head_object(Bucket="crash", Key=key)["ContentLength"] == 10 * MiB


def test_restart_keeps_everything(own_server: FogbankServer) -> None:
    own_server.start()
    s3 = own_server.client("s3", region="eu-west-1")
    s3.create_bucket(Bucket="keep", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_versioning(Bucket="keep", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_tagging(Bucket="keep", Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    s3.put_bucket_cors(Bucket="keep", CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://example.com"]}]})
    first = s3.put_object(Bucket="keep", Key="doc", Body=b"one", Metadata={"k": "v"})["VersionId"]
    second = s3.put_object(Bucket="keep", Key="doc", Body=b"two")["VersionId"]
    upload = s3.create_multipart_upload(Bucket="keep", Key="big")["UploadId"]
    etag = s3.upload_part(Bucket="keep", Key="big", UploadId=upload, PartNumber=1, Body=b"p" * (5 * MiB))["ETag"]

    own_server.restart()
    s3 = own_server.client("s3", region="eu-west-1")
    assert s3.get_bucket_location(Bucket="keep")["LocationConstraint"] == "eu-west-1"
    assert s3.get_bucket_versioning(Bucket="keep")["Status"] == "Enabled"
    assert s3.get_bucket_tagging(Bucket="keep")["TagSet"] == [{"Key": "team", "Value": "data"}]
    assert s3.get_bucket_cors(Bucket="keep")["CORSRules"][0]["AllowedOrigins"] == ["https://example.com"]
    assert s3.get_object(Bucket="keep", Key="doc")["Body"].read() == b"two"
    old = s3.get_object(Bucket="keep", Key="doc", VersionId=first)
    assert old["Body"].read() == b"one" and old["Metadata"] == {"k": "v"}
    assert s3.get_object(Bucket="keep", Key="doc", VersionId=second)["Body"].read() == b"two"
    parts = s3.list_parts(Bucket="keep", Key="big", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in parts] == [(1, etag)]
    s3.complete_multipart_upload(Bucket="keep", Key="big", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket="keep", Key="big")["Body"].read() == b"p" * (5 * MiB)
