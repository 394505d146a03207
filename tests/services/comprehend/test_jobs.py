"""Comprehend's asynchronous jobs: S3 in, real models, AWS's output layout back in S3."""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.support import FogbankServer

ROLE = "arn:aws:iam::000000000000:role/comprehend"


@pytest.fixture(scope="module")
def comprehend(fogbank: FogbankServer) -> Any:
    return fogbank.client("comprehend")


def wait(describe: Callable[[], dict[str, Any]], key: str, done: tuple[str, ...] = ("COMPLETED", "FAILED", "STOPPED"),
         status: str = "JobStatus") -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        props: dict[str, Any] = describe()[key]
        if props[status] in done or time.monotonic() > deadline:
            return props
        time.sleep(0.1)


def read_archive(s3: Any, uri: str) -> dict[str, str]:
    bucket, key = uri[5:].split("/", 1)
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {m.name: archive.extractfile(m).read().decode() for m in archive.getmembers()}  # type: ignore[union-attr]


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_sentiment_job_one_document_per_line(comprehend: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="in/reviews.txt",
                  Body=b"I love this phone.\nThe battery is terrible.\n\nThe box is white.\n")
    s3.put_object(Bucket=bucket, Key="in/more.txt", Body=b"Fantastic service, thank you!\n")
    started = comprehend.start_sentiment_detection_job(
        InputDataConfig={"S3Uri": f"s3://{bucket}/in/", "InputFormat": "ONE_DOC_PER_LINE"},
        OutputDataConfig={"S3Uri": f"s3://{bucket}/out"}, DataAccessRoleArn=ROLE, LanguageCode="en",
        JobName="reviews")
    assert started["JobStatus"] == "SUBMITTED"
    assert started["JobArn"].endswith(f":sentiment-detection-job/{started['JobId']}")
    props = wait(lambda: comprehend.describe_sentiment_detection_job(JobId=started["JobId"]),
                 "SentimentDetectionJobProperties")
    assert props["JobStatus"] == "COMPLETED", props.get("Message")
    expected_uri = f"s3://{bucket}/out/000000000000-SENTIMENT-{started['JobId']}/output/output.tar.gz"
    assert props["OutputDataConfig"]["S3Uri"] == expected_uri
    assert props["JobName"] == "reviews"
    assert props["EndTime"] >= props["SubmitTime"]
    records = lines(read_archive(s3, expected_uri)["output"])
    assert [(r["File"], r["Line"], r["Sentiment"]) for r in records] == [
        ("more.txt", 0, "POSITIVE"), ("reviews.txt", 0, "POSITIVE"), ("reviews.txt", 1, "NEGATIVE"),
        ("reviews.txt", 3, "NEUTRAL")]
    listed = comprehend.list_sentiment_detection_jobs(Filter={"JobName": "reviews"})
    assert started["JobId"] in [j["JobId"] for j in listed["SentimentDetectionJobPropertiesList"]]


def test_entities_job_one_document_per_file_with_an_oversized_document(comprehend: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="docs/a.txt", Body=b"Angela Merkel visited Paris in May 2019.")
    s3.put_object(Bucket=bucket, Key="docs/big.txt", Body=b"word " * 210_000)
    s3.put_object(Bucket=bucket, Key="docs/bad.txt", Body=b"\xff\xfe\xfa broken")
    started = comprehend.start_entities_detection_job(
        InputDataConfig={"S3Uri": f"s3://{bucket}/docs"}, OutputDataConfig={"S3Uri": f"s3://{bucket}/results/"},
        DataAccessRoleArn=ROLE, LanguageCode="en")
    props = wait(lambda: comprehend.describe_entities_detection_job(JobId=started["JobId"]),
                 "EntitiesDetectionJobProperties")
    assert props["JobStatus"] == "COMPLETED"
    assert props["InputDataConfig"]["InputFormat"] == "ONE_DOC_PER_FILE"
    assert "-NER-" in props["OutputDataConfig"]["S3Uri"]
    records = {r["File"]: r for r in lines(read_archive(s3, props["OutputDataConfig"]["S3Uri"])["output"])}
    assert [(e["Text"], e["Type"]) for e in records["a.txt"]["Entities"]] == [
        ("Angela Merkel", "PERSON"), ("Paris", "LOCATION"), ("May 2019", "DATE")]
    assert records["big.txt"]["ErrorCode"] == "DOCUMENT_SIZE_EXCEEDED"
    assert records["bad.txt"]["ErrorCode"] == "UNSUPPORTED_ENCODING"


def test_pii_job_writes_one_out_file_per_input_and_redacts(comprehend: Any, s3: Any, bucket: str) -> None:
    text = "Call Maria Lopez at (415) 555-0199 or write to maria@example.org."
    s3.put_object(Bucket=bucket, Key="pii/note.txt", Body=text.encode())
    offsets = comprehend.start_pii_entities_detection_job(
        InputDataConfig={"S3Uri": f"s3://{bucket}/pii/"}, OutputDataConfig={"S3Uri": f"s3://{bucket}/pii-out/"},
        DataAccessRoleArn=ROLE, LanguageCode="en", Mode="ONLY_OFFSETS")
    redaction = comprehend.start_pii_entities_detection_job(
        InputDataConfig={"S3Uri": f"s3://{bucket}/pii/"}, OutputDataConfig={"S3Uri": f"s3://{bucket}/pii-red/"},
        DataAccessRoleArn=ROLE, LanguageCode="en", Mode="ONLY_REDACTION",
        RedactionConfig={"PiiEntityTypes": ["PHONE", "EMAIL"], "MaskMode": "REPLACE_WITH_PII_ENTITY_TYPE"})
    for started, prefix in ((offsets, "pii-out"), (redaction, "pii-red")):
        job_id = started["JobId"]
        props = wait(lambda: comprehend.describe_pii_entities_detection_job(JobId=job_id),  # noqa: B023
                     "PiiEntitiesDetectionJobProperties")
        assert props["JobStatus"] == "COMPLETED", props.get("Message")
        folder = f"{prefix}/000000000000-PII-{started['JobId']}/output/"
        assert props["OutputDataConfig"]["S3Uri"] == f"s3://{bucket}/{folder}"
        body = s3.get_object(Bucket=bucket, Key=folder + "note.txt.out")["Body"].read().decode()
        record = lines(body)[0]
        assert record["File"] == "note.txt"
        if started is offsets:
            found = {(text[e["BeginOffset"]:e["EndOffset"]], e["Type"]) for e in record["Entities"]}
            assert {("Maria Lopez", "NAME"), ("(415) 555-0199", "PHONE"), ("maria@example.org", "EMAIL")} <= found
        else:
            assert record["RedactedText"] == "Call Maria Lopez at [PHONE] or write to [EMAIL]."


def test_language_key_phrase_targeted_and_topic_jobs(comprehend: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="mix/docs.txt", Body=(
        b"The new stadium opened downtown with a concert.\n"
        b"Le nouveau stade a ouvert avec un concert.\n"
        b"The football team won the match at the stadium.\n"
        b"Stock markets fell as interest rates rose.\n"
        b"The central bank raised interest rates again.\n"))
    source = {"S3Uri": f"s3://{bucket}/mix/docs.txt", "InputFormat": "ONE_DOC_PER_LINE"}
    sink = {"S3Uri": f"s3://{bucket}/mix-out/"}
    language = comprehend.start_dominant_language_detection_job(InputDataConfig=source, OutputDataConfig=sink,
                                                                DataAccessRoleArn=ROLE)
    phrases = comprehend.start_key_phrases_detection_job(InputDataConfig=source, OutputDataConfig=sink,
                                                         DataAccessRoleArn=ROLE, LanguageCode="en")
    targeted = comprehend.start_targeted_sentiment_detection_job(InputDataConfig=source, OutputDataConfig=sink,
                                                                 DataAccessRoleArn=ROLE, LanguageCode="en")
    topics = comprehend.start_topics_detection_job(InputDataConfig=source, OutputDataConfig=sink,
                                                   DataAccessRoleArn=ROLE, NumberOfTopics=2)
    props = wait(lambda: comprehend.describe_dominant_language_detection_job(JobId=language["JobId"]),
                 "DominantLanguageDetectionJobProperties")
    records = lines(read_archive(s3, props["OutputDataConfig"]["S3Uri"])["output"])
    assert [r["Languages"][0]["LanguageCode"] for r in records] == ["en", "fr", "en", "en", "en"]
    props = wait(lambda: comprehend.describe_key_phrases_detection_job(JobId=phrases["JobId"]),
                 "KeyPhrasesDetectionJobProperties")
    assert "-KP-" in props["OutputDataConfig"]["S3Uri"]
    records = lines(read_archive(s3, props["OutputDataConfig"]["S3Uri"])["output"])
    assert "The new stadium" in [p["Text"] for p in records[0]["KeyPhrases"]]
    props = wait(lambda: comprehend.describe_targeted_sentiment_detection_job(JobId=targeted["JobId"]),
                 "TargetedSentimentDetectionJobProperties")
    assert "-TS-" in props["OutputDataConfig"]["S3Uri"]
    records = lines(read_archive(s3, props["OutputDataConfig"]["S3Uri"])["output"])
    assert records[2]["Entities"]
    props = wait(lambda: comprehend.describe_topics_detection_job(JobId=topics["JobId"]),
                 "TopicsDetectionJobProperties")
    assert props["JobStatus"] == "COMPLETED", props.get("Message")
    assert props["NumberOfTopics"] == 2
    files = read_archive(s3, props["OutputDataConfig"]["S3Uri"])
    assert files["topic-terms.csv"].splitlines()[0] == "topic,term,weight"
    assert {line.split(",")[0] for line in files["topic-terms.csv"].splitlines()[1:]} == {"0", "1"}
    assert "docs.txt:0" in files["doc-topics.csv"]


def test_job_errors(comprehend: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        comprehend.describe_sentiment_detection_job(JobId="0" * 32)
    assert exc.value.response["Error"]["Code"] == "JobNotFoundException"
    with pytest.raises(ClientError) as exc:
        comprehend.start_sentiment_detection_job(
            InputDataConfig={"S3Uri": "s3://no-such-bucket-here/in/"}, OutputDataConfig={"S3Uri": f"s3://{bucket}/o"},
            DataAccessRoleArn=ROLE, LanguageCode="en")
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    with pytest.raises(ClientError) as exc:
        comprehend.start_sentiment_detection_job(
            InputDataConfig={"S3Uri": f"s3://{bucket}/in/"}, OutputDataConfig={"S3Uri": f"s3://{bucket}/o"},
            DataAccessRoleArn=ROLE, LanguageCode="ja")
    assert exc.value.response["Error"]["Code"] == "UnsupportedLanguageException"
    with pytest.raises(ClientError) as exc:
        comprehend.list_sentiment_detection_jobs(Filter={"JobName": "a", "JobStatus": "COMPLETED"})
    assert exc.value.response["Error"]["Code"] == "InvalidFilterException"


def test_empty_input_fails_the_job_with_a_reason(comprehend: Any, bucket: str) -> None:
    started = comprehend.start_sentiment_detection_job(
        InputDataConfig={"S3Uri": f"s3://{bucket}/nothing-here/"}, OutputDataConfig={"S3Uri": f"s3://{bucket}/o"},
        DataAccessRoleArn=ROLE, LanguageCode="en")
    props = wait(lambda: comprehend.describe_sentiment_detection_job(JobId=started["JobId"]),
                 "SentimentDetectionJobProperties")
    assert props["JobStatus"] == "FAILED"
    assert "no documents" in props["Message"]


def test_client_request_token_makes_start_idempotent(comprehend: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="t/doc.txt", Body=b"Nice.")
    kwargs = dict(InputDataConfig={"S3Uri": f"s3://{bucket}/t/"}, OutputDataConfig={"S3Uri": f"s3://{bucket}/o"},
                  DataAccessRoleArn=ROLE, LanguageCode="en", ClientRequestToken="token-123")
    first = comprehend.start_key_phrases_detection_job(**kwargs)
    second = comprehend.start_key_phrases_detection_job(**kwargs)
    assert first["JobId"] == second["JobId"]


def test_a_job_running_at_a_crash_ends_failed_after_restart(own_server: FogbankServer) -> None:
    own_server.start()
    s3 = own_server.client("s3")
    comprehend = own_server.client("comprehend")
    s3.create_bucket(Bucket="crash-bucket")
    s3.put_object(Bucket="crash-bucket", Key="in/many.txt",
                  Body=("Barack Obama met Angela Merkel in Berlin on Monday.\n" * 3000).encode())
    started = comprehend.start_entities_detection_job(
        InputDataConfig={"S3Uri": "s3://crash-bucket/in/", "InputFormat": "ONE_DOC_PER_LINE"},
        OutputDataConfig={"S3Uri": "s3://crash-bucket/out/"}, DataAccessRoleArn=ROLE, LanguageCode="en")
    own_server.kill()
    own_server.start()
    comprehend = own_server.client("comprehend")
    props = comprehend.describe_entities_detection_job(JobId=started["JobId"])["EntitiesDetectionJobProperties"]
    assert props["JobStatus"] == "FAILED"
    assert "restarted" in props["Message"]
    # the server still works after the crash
    assert comprehend.detect_sentiment(Text="All good again!", LanguageCode="en")["Sentiment"] == "POSITIVE"


def test_stop_a_running_job(comprehend: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="long/many.txt",
                  Body=("The quick brown fox jumps over the lazy dog near Paris.\n" * 4000).encode())
    started = comprehend.start_entities_detection_job(
        InputDataConfig={"S3Uri": f"s3://{bucket}/long/", "InputFormat": "ONE_DOC_PER_LINE"},
        OutputDataConfig={"S3Uri": f"s3://{bucket}/long-out/"}, DataAccessRoleArn=ROLE, LanguageCode="en")
    stopped = comprehend.stop_entities_detection_job(JobId=started["JobId"])
    assert stopped["JobStatus"] in ("STOP_REQUESTED", "STOPPED")
    props = wait(lambda: comprehend.describe_entities_detection_job(JobId=started["JobId"]),
                 "EntitiesDetectionJobProperties")
    assert props["JobStatus"] == "STOPPED"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="long-out/")
    with pytest.raises(ClientError) as exc:
        comprehend.stop_entities_detection_job(JobId=started["JobId"])
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
