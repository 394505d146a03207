"""Analyze Lending through boto3: a W-2, a two-page pay slip and an unrelated page in one PDF from S3,
classified, read into lending fields and grouped in the summary; results paginate and land in S3."""

from __future__ import annotations

import json
import time
from typing import Any

import botocore.exceptions
import pytest
from tests.services.textract import lending_pages, render
from tests.services.textract.conftest import wait_job
from tests.support import FogbankServer

from fogbank.engines.models.lending_classes import UNCLASSIFIED, classify, page_number
from fogbank.services.textract.lending import field_type


def _fields(result: dict[str, Any]) -> dict[str, str]:
    out = {}
    for extraction in result["Extractions"]:
        for field in extraction.get("LendingDocument", {}).get("LendingFields", []):
            out[field["Type"]] = " ".join(v["Text"] for v in field["ValueDetections"])
    return out


@pytest.fixture(scope="module")
def lending_job(textract: Any, fogbank: FogbankServer) -> dict[str, Any]:
    s3 = fogbank.client("s3")
    bucket = f"lending-{int(time.time() * 1000) % 10_000_000}"
    s3.create_bucket(Bucket=bucket)
    pages = [lending_pages.w2_page(), *lending_pages.payslip_pages(), lending_pages.unrelated_page()]
    s3.put_object(Bucket=bucket, Key="packet.pdf", Body=render.pdf(pages))
    job_id = textract.start_lending_analysis(
        DocumentLocation={"S3Object": {"Bucket": bucket, "Name": "packet.pdf"}},
        OutputConfig={"S3Bucket": bucket, "S3Prefix": "lending-out"}, ClientRequestToken="packet-1")["JobId"]
    done = wait_job(textract.get_lending_analysis, job_id)
    assert done["JobStatus"] == "SUCCEEDED", done.get("StatusMessage")
    return {"job_id": job_id, "bucket": bucket, "s3": s3, "response": done}


def test_pages_are_classified_from_their_printed_phrases(lending_job: dict[str, Any]) -> None:
    response = lending_job["response"]
    assert response["DocumentMetadata"] == {"Pages": 4}
    assert response["AnalyzeLendingModelVersion"]
    results = response["Results"]
    assert [r["Page"] for r in results] == [1, 2, 3, 4]
    types = [r["PageClassification"]["PageType"][0]["Value"] for r in results]
    assert types == ["W2", "PAYSLIPS", "PAYSLIPS", UNCLASSIFIED]
    for result in results[:3]:
        assert result["PageClassification"]["PageType"][0]["Confidence"] > 80
    numbers = [r["PageClassification"]["PageNumber"][0]["Value"] for r in results]
    assert numbers == ["undetected", "1", "2", "undetected"]
    assert results[3]["Extractions"] == []


def test_w2_and_payslip_fields_are_extracted_with_values(lending_job: dict[str, Any]) -> None:
    results = lending_job["response"]["Results"]
    w2 = _fields(results[0])
    for kind, value in lending_pages.W2_EXPECTED.items():
        assert w2.get(kind) == value, (kind, w2)
    first = _fields(results[1])
    for kind, value in lending_pages.PAYSLIP_EXPECTED.items():
        assert first.get(kind) == value, (kind, first)
    second = _fields(results[2])
    assert second["NET_PAY"] == "1,702.11" and second["TOTAL_DEDUCTIONS"] == "538.27"
    field = next(f for e in results[0]["Extractions"] for f in e["LendingDocument"]["LendingFields"]
                 if f["Type"] == "EMPLOYEE_SSN")
    box = field["ValueDetections"][0]["Geometry"]["BoundingBox"]
    assert 0 < box["Left"] < 1 and 0 < box["Top"] < 1 and field["KeyDetection"]["Text"].lower().find("social") >= 0


def test_summary_groups_pages_into_documents(textract: Any, lending_job: dict[str, Any]) -> None:
    summary = textract.get_lending_analysis_summary(JobId=lending_job["job_id"])
    assert summary["JobStatus"] == "SUCCEEDED" and summary["DocumentMetadata"] == {"Pages": 4}
    groups = {g["Type"]: g for g in summary["Summary"]["DocumentGroups"]}
    assert set(groups) == {"W2", "PAYSLIPS", UNCLASSIFIED}
    assert groups["PAYSLIPS"]["SplitDocuments"] == [{"Index": 1, "Pages": [2, 3]}]
    assert groups["W2"]["SplitDocuments"] == [{"Index": 1, "Pages": [1]}]
    assert groups["W2"]["UndetectedSignatures"] == [{"Page": 1}]
    undetected = summary["Summary"]["UndetectedDocumentTypes"]
    assert "BANK_STATEMENT" in undetected and "W2" not in undetected and "PAYSLIPS" not in undetected


def test_results_paginate_and_are_written_to_s3(textract: Any, lending_job: dict[str, Any]) -> None:
    job_id = lending_job["job_id"]
    pages: list[int] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"JobId": job_id, "MaxResults": 3}
        if token:
            kwargs["NextToken"] = token
        page = textract.get_lending_analysis(**kwargs)
        assert len(page["Results"]) <= 3
        pages.extend(r["Page"] for r in page["Results"])
        token = page.get("NextToken")
        if not token:
            break
    assert pages == [1, 2, 3, 4]
    s3, bucket = lending_job["s3"], lending_job["bucket"]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"lending-out/{job_id}/")["Contents"])
    assert keys == [f"lending-out/{job_id}/detailedResponse/1", f"lending-out/{job_id}/summaryResponse/1"]
    detailed = json.loads(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read())
    assert [r["Page"] for r in detailed["Results"]] == [1, 2, 3, 4]
    summary = json.loads(s3.get_object(Bucket=bucket, Key=keys[1])["Body"].read())
    assert {g["Type"] for g in summary["Summary"]["DocumentGroups"]} == {"W2", "PAYSLIPS", UNCLASSIFIED}


def test_lending_job_ids_and_tokens(textract: Any, lending_job: dict[str, Any]) -> None:
    bucket = lending_job["bucket"]
    again = textract.start_lending_analysis(
        DocumentLocation={"S3Object": {"Bucket": bucket, "Name": "packet.pdf"}},
        OutputConfig={"S3Bucket": bucket, "S3Prefix": "lending-out"}, ClientRequestToken="packet-1")["JobId"]
    assert again == lending_job["job_id"]
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.start_lending_analysis(DocumentLocation={"S3Object": {"Bucket": bucket, "Name": "other.pdf"}},
                                        ClientRequestToken="packet-1")
    assert info.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.get_lending_analysis_summary(JobId="f" * 64)
    assert info.value.response["Error"]["Code"] == "InvalidJobIdException"
    text_job = textract.start_document_text_detection(
        DocumentLocation={"S3Object": {"Bucket": bucket, "Name": "packet.pdf"}})["JobId"]
    with pytest.raises(botocore.exceptions.ClientError) as info:
        textract.get_lending_analysis(JobId=text_job)
    assert info.value.response["Error"]["Code"] == "InvalidJobIdException"


def test_missing_document_fails_the_job(textract: Any, lending_job: dict[str, Any]) -> None:
    job_id = textract.start_lending_analysis(
        DocumentLocation={"S3Object": {"Bucket": lending_job["bucket"], "Name": "absent.pdf"}})["JobId"]
    done = wait_job(textract.get_lending_analysis_summary, job_id)
    assert done["JobStatus"] == "FAILED" and "InvalidS3ObjectException" in done["StatusMessage"]
    assert "Summary" not in done


# ---------------------------------------------------------------------- the classifier and field names alone


@pytest.mark.parametrize(("lines", "expected"), [
    (["Form W-2 Wage and Tax Statement 2023", "1 Wages, tips, other compensation"], "W2"),
    (["ACME", "Earnings Statement", "Pay Period: 03/01 - 03/15", "Net Pay: 100.00"], "PAYSLIPS"),
    (["First Bank", "Statement Period: March 2024", "Beginning Balance 100.00", "Ending Balance 90.00"],
     "BANK_STATEMENT"),
    (["Form 1099-INT", "Interest Income"], "1099_INT"),
    (["Pay to the order of John Smith", "One hundred dollars"], "CHECKS"),
    (["City Power", "Service Address: 1 Elm St", "Usage 420 kWh", "Meter number 55"], "UTILITY_BILLS"),
    (["Meeting notes", "Discuss the roadmap and hiring"], UNCLASSIFIED),
    (["Deductions"], UNCLASSIFIED),  # one weak clue is not enough
])
def test_classifier_decides_from_evidence(lines: list[str], expected: str) -> None:
    found = classify(lines)
    assert found.page_type == expected, found
    if expected != UNCLASSIFIED:
        assert found.evidence and 0.6 <= found.confidence <= 1.0


def test_page_numbers_and_field_names() -> None:
    assert page_number(["Statement", "Page 3 of 7"]) == "3"
    assert page_number(["Statement", "Total 3/7"]) == "3"
    assert page_number(["Statement 2024"]) is None
    assert field_type("W2", "a Employee's social security number:") == "EMPLOYEE_SSN"
    assert field_type("W2", "bEmployeridentification number:") == "EMPLOYER_EIN"
    assert field_type("PAYSLIPS", "Pay PeriodStart:") == "PAY_PERIOD_START_DATE"
    assert field_type("PAYSLIPS", "Favourite colour:") is None
    assert field_type("UNCLASSIFIED", "Net Pay") is None


def test_textract_response_parser_reads_lending_output(textract: Any, lending_job: dict[str, Any]) -> None:
    """AWS's own caller (textractcaller) and parser (trp.trp2_lending) read fogbank's lending output, from
    the API and from the S3 output folder alike."""
    from textractcaller.t_call import OutputConfig, get_full_json_lending, get_full_json_lending_from_output_config
    from trp.trp2_lending import TFullLendingDocumentSchema

    from_api = get_full_json_lending(lending_job["job_id"], boto3_textract_client=textract)
    from_s3 = get_full_json_lending_from_output_config(
        OutputConfig(s3_bucket=lending_job["bucket"], s3_prefix="lending-out"), lending_job["job_id"],
        s3_client=lending_job["s3"])
    for raw in (from_api, from_s3):
        document = TFullLendingDocumentSchema().load(json.loads(json.dumps(raw, default=str)))
        assert document.document_metadata.pages == 4
        types = [r.page_classification.page_type[0].value for r in document.lending_results]
        assert types == ["W2", "PAYSLIPS", "PAYSLIPS", UNCLASSIFIED]
        w2_fields = {f.field_type: f.value_detections[0].text
                     for f in document.lending_results[0].extractions[0].lending_document.lending_fields}
        assert w2_fields["EMPLOYEE_SSN"] == "123-45-6789"
