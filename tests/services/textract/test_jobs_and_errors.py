"""Textract's asynchronous jobs (multi-page PDF and TIFF from S3, pagination, S3 output, restarts) and its
answers to bad input, after which the server keeps serving."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from tests.services.textract import render
from tests.services.textract.conftest import wait_job
from tests.support import FogbankServer

PAGES = [["First page heading", "Alpha bravo charlie"], ["Second page heading", "Delta echo foxtrot"],
         ["Third page heading", "Golf hotel india"]]


def _code(info: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_text_detection_job_on_multipage_pdf_paginates_and_writes_s3(textract: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="in/three.pdf",
                  Body=render.pdf([render.text_page(lines, width=900) for lines in PAGES]))
    job_id = textract.start_document_text_detection(
        DocumentLocation={"S3Object": {"Bucket": bucket, "Name": "in/three.pdf"}},
        OutputConfig={"S3Bucket": bucket, "S3Prefix": "out"}, ClientRequestToken="tok-1")["JobId"]
    again = textract.start_document_text_detection(
        DocumentLocation={"S3Object": {"Bucket": bucket, "Name": "in/three.pdf"}},
        OutputConfig={"S3Bucket": bucket, "S3Prefix": "out"}, ClientRequestToken="tok-1")["JobId"]
    assert again == job_id
    first = wait_job(textract.get_document_text_detection, job_id)
    assert first["JobStatus"] == "SUCCEEDED", first.get("StatusMessage")
    assert first["DocumentMetadata"] == {"Pages": 3}
    blocks: list[dict[str, Any]] = []
    token = None
    calls = 0
    while True:
        kwargs: dict[str, Any] = {"JobId": job_id, "MaxResults": 7}
        if token:
            kwargs["NextToken"] = token
        page = textract.get_document_text_detection(**kwargs)
        assert len(page["Blocks"]) <= 7
        blocks.extend(page["Blocks"])
        calls += 1
        token = page.get("NextToken")
        if not token:
            break
    assert calls > 3 and len({b["Id"] for b in blocks}) == len(blocks)
    for number, lines in enumerate(PAGES, start=1):
        found = [b["Text"] for b in blocks if b["BlockType"] == "LINE" and b["Page"] == number]
        assert found == lines
    assert [b["Page"] for b in blocks if b["BlockType"] == "PAGE"] == [1, 2, 3]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"out/{job_id}/")["Contents"]
    assert [o["Key"] for o in listed] == [f"out/{job_id}/1"]
    written = json.loads(s3.get_object(Bucket=bucket, Key=f"out/{job_id}/1")["Body"].read())
    assert written["JobStatus"] == "SUCCEEDED" and len(written["Blocks"]) == len(blocks)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.start_document_text_detection(
            DocumentLocation={"S3Object": {"Bucket": bucket, "Name": "in/other.pdf"}}, ClientRequestToken="tok-1")
    assert _code(info) == "IdempotentParameterMismatchException"


def test_analysis_job_on_multipage_tiff(textract: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="scan.tiff", Body=render.tiff([render.text_page(["Name: Ada Lovelace"]),
                                                                     render.text_page(["City: London"])]))
    job_id = textract.start_document_analysis(DocumentLocation={"S3Object": {"Bucket": bucket, "Name": "scan.tiff"}},
                                              FeatureTypes=["FORMS", "QUERIES"],
                                              QueriesConfig={"Queries": [{"Text": "What is the city?",
                                                                          "Pages": ["*"]}]})["JobId"]
    done = wait_job(textract.get_document_analysis, job_id)
    assert done["JobStatus"] == "SUCCEEDED" and done["DocumentMetadata"] == {"Pages": 2}
    blocks = {b["Id"]: b for b in done["Blocks"]}
    keys = {}
    for block in done["Blocks"]:
        if block["BlockType"] == "KEY_VALUE_SET" and "KEY" in block["EntityTypes"]:
            value = blocks[block["Relationships"][0]["Ids"][0]]
            keys[block["Page"]] = " ".join(blocks[i]["Text"] for r in value.get("Relationships", [])
                                           for i in r["Ids"])
    assert keys == {1: "Ada Lovelace", 2: "London"}
    answers = [b["Text"] for b in done["Blocks"] if b["BlockType"] == "QUERY_RESULT"]
    assert answers == ["London"]


def test_job_errors_are_reported_on_the_job(textract: Any, bucket: str) -> None:
    job_id = textract.start_document_text_detection(
        DocumentLocation={"S3Object": {"Bucket": bucket, "Name": "missing.pdf"}})["JobId"]
    failed = wait_job(textract.get_document_text_detection, job_id)
    assert failed["JobStatus"] == "FAILED" and "InvalidS3ObjectException" in failed["StatusMessage"]
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.get_document_text_detection(JobId="0" * 64)
    assert _code(info) == "InvalidJobIdException"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.get_document_analysis(JobId=job_id)  # a text job is not an analysis job
    assert _code(info) == "InvalidJobIdException"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.get_document_text_detection(JobId=job_id, NextToken="bm90LWEtdG9rZW4=")
    assert _code(info) == "InvalidParameterException"


@pytest.mark.parametrize(("name", "data", "code"), [
    ("garbage", b"this is not an image at all", "UnsupportedDocumentException"),
    ("gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "UnsupportedDocumentException"),
    ("truncated png", render.png(render.text_page(["x"]))[:200], "BadDocumentException"),
    ("encrypted pdf", render.encrypted_pdf(), "UnsupportedDocumentException"),
    ("pdf without pages", render.empty_pdf(), "BadDocumentException"),
    ("two-page pdf", render.pdf([render.text_page(["a"]), render.text_page(["b"])]), "UnsupportedDocumentException"),
])
def test_bad_documents_get_aws_errors(textract: Any, name: str, data: bytes, code: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.detect_document_text(Document={"Bytes": data})
    assert _code(info) == code, name


def test_bad_requests_get_aws_errors_and_the_server_stays_up(textract: Any, fogbank: FogbankServer) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.analyze_document(Document={"Bytes": render.png(render.text_page(["x"]))}, FeatureTypes=["QUERIES"])
    assert _code(info) == "InvalidParameterException"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.detect_document_text(Document={"S3Object": {"Bucket": "no-such-bucket-here", "Name": "a.png"}})
    assert _code(info) == "InvalidS3ObjectException"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.detect_document_text(Document={"Bytes": b""})
    assert _code(info) in ("ValidationException", "InvalidParameterException")
    ok = textract.detect_document_text(Document={"Bytes": render.pdf([render.text_page(["Still serving"])])})
    assert [b["Text"] for b in ok["Blocks"] if b["BlockType"] == "LINE"] == ["Still serving"]


def test_job_cut_short_by_a_restart_ends_failed(own_server: FogbankServer, tmp_path: Path) -> None:
    server = own_server.start()
    s3 = server.client("s3")
    s3.create_bucket(Bucket="docs")
    s3.put_object(Bucket="docs", Key="long.pdf", Body=render.pdf([render.text_page([f"Page {i}"]) for i in range(12)]))
    textract = server.client("textract")
    job_id = textract.start_document_text_detection(
        DocumentLocation={"S3Object": {"Bucket": "docs", "Name": "long.pdf"}})["JobId"]
    server.kill()
    server.start()
    textract = server.client("textract")
    response = textract.get_document_text_detection(JobId=job_id)
    assert response["JobStatus"] == "FAILED"
    assert "restarted" in response["StatusMessage"]
