"""Textract adapters through boto3: create, read, update, list with pagination and time windows, versions
from a manifest in fogbank's S3, tags by ARN, errors, AnalyzeDocument with an AdaptersConfig, and every
adapter still there after a restart."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions
import pytest
from tests.services.textract import render
from tests.support import FogbankServer

from fogbank.services.textract.adapters import check_manifest

MANIFEST = b'{"source-ref": "s3://docs/a.png", "annotations-ref": "s3://docs/a.json"}\n\n' \
           b'{"source-ref": "s3://docs/b.png"}\n'


def _code(info: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def _unique(prefix: str) -> str:
    return f"{prefix}-{time.time_ns() % 10**12}"


def test_adapter_crud_and_errors(textract: Any) -> None:
    name = _unique("invoices")
    created = textract.create_adapter(AdapterName=name, FeatureTypes=["QUERIES"], Description="Invoice fields",
                                      Tags={"team": "ap"})
    adapter_id = created["AdapterId"]
    assert len(adapter_id) == 12
    got = textract.get_adapter(AdapterId=adapter_id)
    assert got["AdapterName"] == name and got["FeatureTypes"] == ["QUERIES"] and got["Tags"] == {"team": "ap"}
    assert got["Description"] == "Invoice fields" and got["AutoUpdate"] == "DISABLED"
    assert abs(got["CreationTime"].timestamp() - time.time()) < 600
    updated = textract.update_adapter(AdapterId=adapter_id, Description="Invoice header fields",
                                      AutoUpdate="ENABLED")
    assert updated["Description"] == "Invoice header fields" and updated["AutoUpdate"] == "ENABLED"
    assert textract.get_adapter(AdapterId=adapter_id)["Description"] == "Invoice header fields"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.create_adapter(AdapterName=name, FeatureTypes=["TABLES"])
    assert _code(info) == "ConflictException"
    other = textract.create_adapter(AdapterName=_unique("other"), FeatureTypes=["FORMS"])["AdapterId"]
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.update_adapter(AdapterId=other, AdapterName=name)
    assert _code(info) == "ConflictException"
    textract.delete_adapter(AdapterId=adapter_id)
    for call in (lambda: textract.get_adapter(AdapterId=adapter_id),
                 lambda: textract.delete_adapter(AdapterId=adapter_id),
                 lambda: textract.update_adapter(AdapterId=adapter_id, Description="x")):
        with pytest.raises(botocore.exceptions.ClientError) as info:
            call()
        assert _code(info) == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.create_adapter(AdapterName="bad name!", FeatureTypes=["QUERIES"])
    assert _code(info) == "ValidationException"


def test_client_request_token_is_idempotent(textract: Any) -> None:
    name = _unique("tok")
    first = textract.create_adapter(AdapterName=name, FeatureTypes=["QUERIES"], ClientRequestToken="same-1")
    again = textract.create_adapter(AdapterName=name, FeatureTypes=["QUERIES"], ClientRequestToken="same-1")
    assert first["AdapterId"] == again["AdapterId"]
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.create_adapter(AdapterName=name, FeatureTypes=["TABLES"], ClientRequestToken="same-1")
    assert _code(info) == "IdempotentParameterMismatchException"


def test_list_adapters_paginates_and_filters_by_time(textract: Any) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    ids = [textract.create_adapter(AdapterName=_unique(f"page{i}"), FeatureTypes=["LAYOUT"])["AdapterId"]
           for i in range(5)]
    seen: list[str] = []
    token = None
    calls = 0
    while True:
        kwargs: dict[str, Any] = {"MaxResults": 2, "AfterCreationTime": before}
        if token:
            kwargs["NextToken"] = token
        page = textract.list_adapters(**kwargs)
        assert len(page["Adapters"]) <= 2
        seen.extend(a["AdapterId"] for a in page["Adapters"])
        calls += 1
        token = page.get("NextToken")
        if not token:
            break
    assert [i for i in seen if i in ids] == ids and calls >= 3
    later = textract.list_adapters(AfterCreationTime=datetime.now(UTC) + timedelta(hours=1))
    assert later["Adapters"] == []
    earlier = textract.list_adapters(BeforeCreationTime=before)
    assert not set(ids) & {a["AdapterId"] for a in earlier["Adapters"]}
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.list_adapters(NextToken="not-a-token")
    assert _code(info) == "InvalidParameterException"


def test_versions_from_manifest_tags_and_analyze(textract: Any, s3: Any, sts: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="train/manifest.jsonl", Body=MANIFEST)
    s3.put_object(Bucket=bucket, Key="train/broken.jsonl", Body=b'{"source-ref": "a"}\nnot json\n')
    adapter_id = textract.create_adapter(AdapterName=_unique("queries"), FeatureTypes=["QUERIES"])["AdapterId"]
    dataset = {"ManifestS3Object": {"Bucket": bucket, "Name": "train/manifest.jsonl"}}
    output = {"S3Bucket": bucket, "S3Prefix": "adapter-out"}
    v1 = textract.create_adapter_version(AdapterId=adapter_id, DatasetConfig=dataset, OutputConfig=output,
                                         ClientRequestToken="v-1", Tags={"stage": "dev"})
    assert v1["AdapterVersion"] == "1"
    again = textract.create_adapter_version(AdapterId=adapter_id, DatasetConfig=dataset, OutputConfig=output,
                                            ClientRequestToken="v-1", Tags={"stage": "dev"})
    assert again["AdapterVersion"] == "1"
    version = textract.get_adapter_version(AdapterId=adapter_id, AdapterVersion="1")
    assert version["Status"] == "ACTIVE" and "base model" in version["StatusMessage"]
    assert version["DatasetConfig"] == dataset and version["OutputConfig"] == output
    assert version["FeatureTypes"] == ["QUERIES"] and version["Tags"] == {"stage": "dev"}
    assert "EvaluationMetrics" not in version
    report = json.loads(s3.get_object(Bucket=bucket, Key=f"adapter-out/{adapter_id}/1/status.json")["Body"].read())
    assert report["Status"] == "ACTIVE"
    broken = textract.create_adapter_version(
        AdapterId=adapter_id, OutputConfig=output,
        DatasetConfig={"ManifestS3Object": {"Bucket": bucket, "Name": "train/broken.jsonl"}})
    assert broken["AdapterVersion"] == "2"
    failed = textract.get_adapter_version(AdapterId=adapter_id, AdapterVersion="2")
    assert failed["Status"] == "CREATION_ERROR" and "line 2" in failed["StatusMessage"]
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.create_adapter_version(
            AdapterId=adapter_id, OutputConfig=output,
            DatasetConfig={"ManifestS3Object": {"Bucket": bucket, "Name": "train/absent.jsonl"}})
    assert _code(info) == "InvalidS3ObjectException"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.create_adapter_version(AdapterId="000000000000", DatasetConfig=dataset, OutputConfig=output)
    assert _code(info) == "ResourceNotFoundException"
    listed = textract.list_adapter_versions(AdapterId=adapter_id)["AdapterVersions"]
    assert [(v["AdapterVersion"], v["Status"]) for v in listed] == [("1", "ACTIVE"), ("2", "CREATION_ERROR")]

    # Tags on the adapter and on a version, by ARN.
    region, account = textract.meta.region_name, sts.get_caller_identity()["Account"]
    arn = f"arn:aws:textract:{region}:{account}:/adapters/{adapter_id}"
    textract.tag_resource(ResourceARN=arn, Tags={"owner": "ap", "cost": "42"})
    textract.untag_resource(ResourceARN=arn, TagKeys=["cost"])
    assert textract.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"owner": "ap"}
    assert textract.list_tags_for_resource(ResourceARN=f"{arn}/versions/1")["Tags"] == {"stage": "dev"}
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.list_tags_for_resource(ResourceARN=f"arn:aws:textract:{region}:{account}:/adapters/000000000000")
    assert _code(info) == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.tag_resource(ResourceARN="arn:aws:s3:::bucket", Tags={"a": "b"})
    assert _code(info) == "ValidationException"

    # AnalyzeDocument with the adapter answers exactly as the base model; unknown adapters are refused.
    page = render.png(render.invoice())
    queries = {"Queries": [{"Text": "What is the invoice number?"}]}
    base = textract.analyze_document(Document={"Bytes": page}, FeatureTypes=["QUERIES"], QueriesConfig=queries)
    adapted = textract.analyze_document(Document={"Bytes": page}, FeatureTypes=["QUERIES"], QueriesConfig=queries,
                                        AdaptersConfig={"Adapters": [{"AdapterId": adapter_id, "Version": "1"}]})
    answers = [[b["Text"] for b in r["Blocks"] if b["BlockType"] == "QUERY_RESULT"] for r in (base, adapted)]
    assert answers[0] == answers[1] == ["INV-2024-0042"]
    for config in ({"AdapterId": "000000000000", "Version": "1"}, {"AdapterId": adapter_id, "Version": "9"},
                   {"AdapterId": adapter_id, "Version": "2"}):
        with pytest.raises(botocore.exceptions.ClientError) as info:
            textract.analyze_document(Document={"Bytes": page}, FeatureTypes=["QUERIES"], QueriesConfig=queries,
                                      AdaptersConfig={"Adapters": [config]})
        assert _code(info) == "InvalidParameterException", config
    s3.put_object(Bucket=bucket, Key="doc.png", Body=page)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.start_document_analysis(DocumentLocation={"S3Object": {"Bucket": bucket, "Name": "doc.png"}},
                                         FeatureTypes=["QUERIES"], QueriesConfig=queries,
                                         AdaptersConfig={"Adapters": [{"AdapterId": "000000000000", "Version": "1"}]})
    assert _code(info) == "InvalidParameterException"

    textract.delete_adapter_version(AdapterId=adapter_id, AdapterVersion="2")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.get_adapter_version(AdapterId=adapter_id, AdapterVersion="2")
    assert _code(info) == "ResourceNotFoundException"
    third = textract.create_adapter_version(AdapterId=adapter_id, DatasetConfig=dataset, OutputConfig=output)
    assert third["AdapterVersion"] == "3"  # numbers are never reused
    textract.delete_adapter(AdapterId=adapter_id)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.list_adapter_versions(AdapterId=adapter_id)
    assert _code(info) == "ResourceNotFoundException"


def test_manifest_checks() -> None:
    assert check_manifest(MANIFEST) is None
    assert check_manifest(b"") == "The manifest holds no JSON lines"
    assert check_manifest(b'{"a": 1}\n[1, 2]\n') == "Manifest line 2 is not a JSON object"
    assert (check_manifest(b"\xff\xfe") or "").startswith("The manifest is not UTF-8")


def test_adapters_survive_a_restart(own_server: FogbankServer) -> None:
    server = own_server.start()
    client = server.client("textract")
    s3 = server.client("s3")
    s3.create_bucket(Bucket="manifests")
    s3.put_object(Bucket="manifests", Key="m.jsonl", Body=MANIFEST)
    adapter_id = client.create_adapter(AdapterName="durable", FeatureTypes=["TABLES", "FORMS"],
                                       Tags={"k": "v"})["AdapterId"]
    client.create_adapter_version(AdapterId=adapter_id,
                                  DatasetConfig={"ManifestS3Object": {"Bucket": "manifests", "Name": "m.jsonl"}},
                                  OutputConfig={"S3Bucket": "manifests"})
    server.kill()
    server.start()
    client = server.client("textract")
    got = client.get_adapter(AdapterId=adapter_id)
    assert got["AdapterName"] == "durable" and got["FeatureTypes"] == ["TABLES", "FORMS"] and got["Tags"] == {"k": "v"}
    version = client.get_adapter_version(AdapterId=adapter_id, AdapterVersion="1")
    assert version["Status"] == "ACTIVE"
    assert [a["AdapterId"] for a in client.list_adapters()["Adapters"]] == [adapter_id]
