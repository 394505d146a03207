"""Custom classification: training from a CSV in S3, metrics, endpoints, ClassifyDocument and jobs."""

from __future__ import annotations

import csv
import io
import json
import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.services.comprehend.test_jobs import lines, read_archive
from tests.support import FogbankServer

ROLE = "arn:aws:iam::000000000000:role/comprehend"
TOPICS = {
    "SPORTS": ["match", "goal", "team", "coach", "league", "stadium", "score", "player", "season", "referee"],
    "FINANCE": ["stock", "market", "bank", "interest", "rates", "investor", "shares", "bond", "profit", "loan"],
    "COOKING": ["recipe", "oven", "flour", "bake", "garlic", "sauce", "butter", "simmer", "dish", "chef"],
}
FILLER = ["the", "a", "today", "we", "saw", "that", "very", "new", "and", "with", "about", "this"]


@pytest.fixture(scope="module")
def comprehend(fogbank: FogbankServer) -> Any:
    return fogbank.client("comprehend")


def documents(label: str, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = TOPICS[label]
    return [" ".join(rng.sample(words, 4) + rng.sample(FILLER, 4)) for _ in range(count)]


def csv_bytes(rows: list[tuple[str, str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def wait(describe: Callable[[], dict[str, Any]], key: str, done: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        props: dict[str, Any] = describe()[key]
        if props["Status"] in done or time.monotonic() > deadline:
            return props
        time.sleep(0.1)


def train(comprehend: Any, s3: Any, bucket: str, name: str, rows: list[tuple[str, str]],
          **extra: Any) -> dict[str, Any]:
    s3.put_object(Bucket=bucket, Key=f"train/{name}.csv", Body=csv_bytes(rows))
    arn = comprehend.create_document_classifier(
        DocumentClassifierName=name, DataAccessRoleArn=ROLE, LanguageCode="en",
        InputDataConfig={"S3Uri": f"s3://{bucket}/train/{name}.csv", **extra.pop("input", {})}, **extra,
    )["DocumentClassifierArn"]
    return wait(lambda: comprehend.describe_document_classifier(DocumentClassifierArn=arn),
                "DocumentClassifierProperties", ("TRAINED", "IN_ERROR", "STOPPED"))


def test_multi_class_classifier_endpoint_and_job(comprehend: Any, s3: Any, bucket: str) -> None:
    rows = [(label, text) for i, label in enumerate(TOPICS) for text in documents(label, 20, i)]
    props = train(comprehend, s3, bucket, "topics", rows, OutputDataConfig={"S3Uri": f"s3://{bucket}/train-out/"},
                  Tags=[{"Key": "team", "Value": "nlp"}])
    assert props["Status"] == "TRAINED", props.get("Message")
    arn = props["DocumentClassifierArn"]
    assert arn == "arn:aws:comprehend:us-east-1:000000000000:document-classifier/topics"
    metadata = props["ClassifierMetadata"]
    assert metadata["NumberOfLabels"] == 3
    assert metadata["NumberOfTrainedDocuments"] + metadata["NumberOfTestDocuments"] == 60
    assert metadata["NumberOfTestDocuments"] == 6
    metrics = metadata["EvaluationMetrics"]
    assert set(metrics) == {"Accuracy", "Precision", "Recall", "F1Score", "MicroPrecision", "MicroRecall",
                            "MicroF1Score", "HammingLoss"}
    assert metrics["Accuracy"] >= 0.8
    matrix = json.loads(read_archive(s3, props["OutputDataConfig"]["S3Uri"])["confusion_matrix.json"])
    assert sorted(matrix["labels"]) == sorted(TOPICS)
    assert comprehend.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "nlp"}]

    endpoint = comprehend.create_endpoint(EndpointName="topics-ep", ModelArn=arn, DesiredInferenceUnits=1)
    endpoint_arn = endpoint["EndpointArn"]
    described = wait(lambda: comprehend.describe_endpoint(EndpointArn=endpoint_arn), "EndpointProperties",
                     ("IN_SERVICE", "FAILED"))
    assert described["Status"] == "IN_SERVICE"
    assert described["ModelArn"] == arn
    classes = comprehend.classify_document(Text="the coach said the team will win the next match",
                                           EndpointArn=endpoint_arn)["Classes"]
    assert classes[0]["Name"] == "SPORTS"
    assert classes[0]["Score"] > classes[1]["Score"]
    assert sum(c["Score"] for c in classes) == pytest.approx(1.0, abs=1e-3)
    assert comprehend.classify_document(Text="bake the dish with garlic and butter",
                                        EndpointArn=endpoint_arn)["Classes"][0]["Name"] == "COOKING"

    with pytest.raises(ClientError) as exc:
        comprehend.delete_document_classifier(DocumentClassifierArn=arn)
    assert exc.value.response["Error"]["Code"] == "ResourceInUseException"

    s3.put_object(Bucket=bucket, Key="cls-in/docs.txt",
                  Body=b"investors sold shares as the stock market fell\nsimmer the sauce in the oven\n")
    job = comprehend.start_document_classification_job(
        DocumentClassifierArn=arn,
        InputDataConfig={"S3Uri": f"s3://{bucket}/cls-in/", "InputFormat": "ONE_DOC_PER_LINE"},
        OutputDataConfig={"S3Uri": f"s3://{bucket}/cls-out"}, DataAccessRoleArn=ROLE)
    deadline = time.monotonic() + 120
    while True:
        job_props = comprehend.describe_document_classification_job(JobId=job["JobId"])[
            "DocumentClassificationJobProperties"]
        if job_props["JobStatus"] in ("COMPLETED", "FAILED") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert job_props["JobStatus"] == "COMPLETED", job_props.get("Message")
    assert "-CLN-" in job_props["OutputDataConfig"]["S3Uri"]
    records = lines(read_archive(s3, job_props["OutputDataConfig"]["S3Uri"])["predictions.jsonl"])
    assert [(r["File"], r["Line"], r["Classes"][0]["Name"]) for r in records] == [
        ("docs.txt", "0", "FINANCE"), ("docs.txt", "1", "COOKING")]

    comprehend.delete_endpoint(EndpointArn=endpoint_arn)
    with pytest.raises(ClientError) as exc:
        comprehend.classify_document(Text="goal", EndpointArn=endpoint_arn)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    comprehend.delete_document_classifier(DocumentClassifierArn=arn)
    with pytest.raises(ClientError) as exc:
        comprehend.describe_document_classifier(DocumentClassifierArn=arn)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_multi_label_classifier(comprehend: Any, s3: Any, bucket: str) -> None:
    rows = []
    for i, label in enumerate(TOPICS):
        rows += [(label, text) for text in documents(label, 15, 10 + i)]
    rows += [("SPORTS|FINANCE", a + " " + b) for a, b in zip(documents("SPORTS", 12, 20),
                                                             documents("FINANCE", 12, 21), strict=True)]
    props = train(comprehend, s3, bucket, "multi", rows, Mode="MULTI_LABEL", input={"LabelDelimiter": "|"})
    assert props["Status"] == "TRAINED", props.get("Message")
    assert props["Mode"] == "MULTI_LABEL"
    assert 0.0 <= props["ClassifierMetadata"]["EvaluationMetrics"]["HammingLoss"] <= 0.5
    endpoint_arn = comprehend.create_endpoint(EndpointName="multi-ep", ModelArn=props["DocumentClassifierArn"],
                                              DesiredInferenceUnits=1)["EndpointArn"]
    wait(lambda: comprehend.describe_endpoint(EndpointArn=endpoint_arn), "EndpointProperties", ("IN_SERVICE",))
    labels = comprehend.classify_document(Text="the team stadium player and the stock market bank shares",
                                          EndpointArn=endpoint_arn)["Labels"]
    top = {label["Name"] for label in labels if label["Score"] >= 0.5}
    assert top == {"SPORTS", "FINANCE"}
    summaries = comprehend.list_document_classifier_summaries()["DocumentClassifierSummariesList"]
    assert any(s["DocumentClassifierName"] == "multi" and s["LatestVersionStatus"] == "TRAINED" for s in summaries)


def test_training_errors_are_reported_like_aws(comprehend: Any, s3: Any, bucket: str) -> None:
    few = [("A", "one doc"), ("B", "another doc"), ("A", "third doc")]
    props = train(comprehend, s3, bucket, "too-few", few)
    assert props["Status"] == "IN_ERROR"
    assert "at least 10" in props["Message"]
    single = [("ONLY", f"document number {i}") for i in range(12)]
    assert "at least 2" in train(comprehend, s3, bucket, "single", single)["Message"]
    rows = [(label, text) for i, label in enumerate(TOPICS) for text in documents(label, 10, i)]
    s3.put_object(Bucket=bucket, Key="train/dup.csv", Body=csv_bytes(rows))
    kwargs = dict(DocumentClassifierName="too-few", DataAccessRoleArn=ROLE, LanguageCode="en",
                  InputDataConfig={"S3Uri": f"s3://{bucket}/train/dup.csv"})
    with pytest.raises(ClientError) as exc:
        comprehend.create_document_classifier(**kwargs)
    assert exc.value.response["Error"]["Code"] == "ResourceInUseException"
    with pytest.raises(ClientError) as exc:
        comprehend.create_endpoint(EndpointName="bad-ep", ModelArn=props["DocumentClassifierArn"],
                                   DesiredInferenceUnits=1)
    assert exc.value.response["Error"]["Code"] == "ResourceUnavailableException"
    with pytest.raises(ClientError) as exc:
        comprehend.classify_document(Text="x", EndpointArn="arn:aws:comprehend:us-east-1:000000000000:"
                                                           "document-classifier-endpoint/none")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    listed = comprehend.list_document_classifiers(Filter={"Status": "IN_ERROR"})["DocumentClassifierPropertiesList"]
    assert {p["DocumentClassifierArn"].rsplit("/", 1)[-1] for p in listed} >= {"too-few", "single"}


@pytest.mark.slow
def test_trained_classifier_and_endpoint_survive_a_restart(own_server: FogbankServer) -> None:
    own_server.start()
    s3 = own_server.client("s3")
    comprehend = own_server.client("comprehend")
    s3.create_bucket(Bucket="restart-bucket")
    rows = [(label, text) for i, label in enumerate(TOPICS) for text in documents(label, 12, 30 + i)]
    props = train(comprehend, s3, "restart-bucket", "durable", rows)
    assert props["Status"] == "TRAINED"
    endpoint_arn = comprehend.create_endpoint(EndpointName="durable-ep", ModelArn=props["DocumentClassifierArn"],
                                              DesiredInferenceUnits=1)["EndpointArn"]
    wait(lambda: comprehend.describe_endpoint(EndpointArn=endpoint_arn), "EndpointProperties", ("IN_SERVICE",))
    own_server.restart()
    comprehend = own_server.client("comprehend")
    after = comprehend.describe_document_classifier(DocumentClassifierArn=props["DocumentClassifierArn"])
    assert after["DocumentClassifierProperties"]["ClassifierMetadata"] == props["ClassifierMetadata"]
    assert comprehend.describe_endpoint(EndpointArn=endpoint_arn)["EndpointProperties"]["Status"] == "IN_SERVICE"
    answer = comprehend.classify_document(Text="the oven and the flour for the recipe", EndpointArn=endpoint_arn)
    assert answer["Classes"][0]["Name"] == "COOKING"
