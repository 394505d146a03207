"""Rekognition Video through boto3 against a real server: Start* jobs on H.264 videos the tests make
(clips.py), polled with Get* until they finish, checked against what is on screen when."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from tests.services.rekognition import clips
from tests.support import FogbankServer

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw")
SAMPLES = [0, 500, 1000, 1500]  # the sampled frames of a two-second scene, in ms from its start
# Astronaut 0-2 s, cat 2-4 s, dark (not quite black) frames 4-5 s.
SCENES = [clips.Scene(clips.photo("astronaut.png"), 2), clips.Scene(clips.photo("chelsea.png"), 2),
          clips.Scene(clips.flat(25), 1)]
# A hard cut from a cup of coffee to the astronaut at 1.5 s.
CUT = [clips.Scene(clips.photo("coffee.png"), 1.5), clips.Scene(clips.photo("astronaut.png"), 1.5)]


def _code(info: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def finished(get: Callable[..., dict[str, Any]], job_id: str, **kwargs: Any) -> dict[str, Any]:
    """Polls a Get* until the job leaves IN_PROGRESS (the deadline only guards against a hung job)."""
    deadline = time.monotonic() + 600
    while True:
        response = get(JobId=job_id, **kwargs)
        if response["JobStatus"] != "IN_PROGRESS" or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def every_page(get: Callable[..., dict[str, Any]], member: str, job_id: str, **kwargs: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token = None
    while True:
        response = get(JobId=job_id, **kwargs, **({"NextToken": token} if token else {}))
        assert response["JobStatus"] == "SUCCEEDED"
        out.extend(response[member])
        token = response.get("NextToken")
        if not token:
            return out


@pytest.fixture(scope="module")
def rekognition(fogbank: FogbankServer) -> Any:
    return fogbank.client("rekognition")


@pytest.fixture(scope="module")
def videos(fogbank: FogbankServer) -> str:
    """A bucket holding the test videos and some objects that are not videos."""
    s3 = fogbank.client("s3")
    name = f"videos-{WORKER}-{int(time.time() * 1000) % 100000}".lower()
    s3.create_bucket(Bucket=name)
    scenes = clips.mp4(SCENES)
    s3.put_object(Bucket=name, Key="scenes.mp4", Body=scenes)
    s3.put_object(Bucket=name, Key="cut.mov", Body=clips.mp4(CUT, container="mov"))
    s3.put_object(Bucket=name, Key="text.mp4", Body=clips.mp4([clips.Scene(clips.text("FOGBANK VIDEO"), 1.0)]))
    s3.put_object(Bucket=name, Key="noise.mp4", Body=os.urandom(50_000))
    s3.put_object(Bucket=name, Key="truncated.mp4", Body=scenes[: len(scenes) // 2])
    s3.put_object(Bucket=name, Key="mpeg4.mp4", Body=clips.mp4(CUT, codec="mpeg4"))
    photo = io.BytesIO()
    clips.photo("chelsea.png").save(photo, "PNG")
    s3.put_object(Bucket=name, Key="cat.png", Body=photo.getvalue())
    return name


def video(bucket: str, key: str) -> dict[str, Any]:
    return {"S3Object": {"Bucket": bucket, "Name": key}}


@pytest.fixture(scope="module")
def collection(rekognition: Any) -> tuple[str, str]:
    """A collection with the astronaut's face indexed from the still photo: (collection id, face id)."""
    name = f"video-crew-{WORKER}"
    rekognition.create_collection(CollectionId=name)
    buffer = io.BytesIO()
    clips.photo("astronaut.png", (512, 512)).save(buffer, "PNG")
    indexed = rekognition.index_faces(CollectionId=name, Image={"Bytes": buffer.getvalue()},
                                      ExternalImageId="astronaut")
    return name, indexed["FaceRecords"][0]["Face"]["FaceId"]


@pytest.fixture(scope="module")
def jobs(rekognition: Any, videos: str, collection: tuple[str, str]) -> dict[str, str]:
    """Every analysis job, started at once so they run side by side; the tests wait for their own."""
    scenes = video(videos, "scenes.mp4")
    return {
        "labels": rekognition.start_label_detection(Video=scenes, JobTag="scenes-labels")["JobId"],
        "cat-only": rekognition.start_label_detection(
            Video=scenes, MinConfidence=60, Settings={"GeneralLabels": {"LabelInclusionFilters": ["Cat"]}})["JobId"],
        "faces": rekognition.start_face_detection(Video=scenes)["JobId"],
        "faces-all": rekognition.start_face_detection(Video=scenes, FaceAttributes="ALL")["JobId"],
        "text": rekognition.start_text_detection(Video=video(videos, "text.mp4"))["JobId"],
        "moderation": rekognition.start_content_moderation(Video=scenes, MinConfidence=0)["JobId"],
        "search": rekognition.start_face_search(Video=scenes, CollectionId=collection[0])["JobId"],
        "persons": rekognition.start_person_tracking(Video=scenes)["JobId"],
        "cut": rekognition.start_segment_detection(Video=video(videos, "cut.mov"),
                                                   SegmentTypes=["SHOT", "TECHNICAL_CUE"])["JobId"],
        "cues": rekognition.start_segment_detection(Video=scenes, SegmentTypes=["TECHNICAL_CUE"])["JobId"],
        "strict-cues": rekognition.start_segment_detection(
            Video=scenes, SegmentTypes=["TECHNICAL_CUE"],
            Filters={"TechnicalCueFilter": {"BlackFrame": {"MaxPixelThreshold": 0.05}}})["JobId"],
    }


def test_label_detection_sees_a_person_then_a_cat(rekognition: Any, videos: str, jobs: dict[str, str]) -> None:
    response = finished(rekognition.get_label_detection, jobs["labels"])
    assert response["JobStatus"] == "SUCCEEDED", response.get("StatusMessage")
    assert response["JobId"] == jobs["labels"]
    assert response["JobTag"] == "scenes-labels"
    assert response["Video"] == video(videos, "scenes.mp4")
    assert response["VideoMetadata"] == {"Codec": "h264", "DurationMillis": 5000, "Format": "QuickTime / MOV",
                                         "FrameRate": 10.0, "FrameHeight": 240, "FrameWidth": 320,
                                         "ColorRange": "LIMITED"}
    assert response["GetRequestMetadata"] == {"SortBy": "TIMESTAMP", "AggregateBy": "TIMESTAMPS"}
    assert response["LabelModelVersion"]
    labels = response["Labels"]
    assert [d["Timestamp"] for d in labels] == sorted(d["Timestamp"] for d in labels)
    seen: dict[str, list[int]] = {}
    for detection in labels:
        seen.setdefault(detection["Label"]["Name"], []).append(detection["Timestamp"])
        assert detection["Label"]["Confidence"] >= 50
    assert seen["Person"] == SAMPLES
    assert seen["Cat"] == [2000 + t for t in SAMPLES]
    for at in seen["Cat"]:  # the cat is a cat first, whatever else it resembles
        here = {d["Label"]["Name"]: d["Label"]["Confidence"] for d in labels if d["Timestamp"] == at}
        assert here["Cat"] > here.get("Dog", 0)
    assert all(t < 4000 for timestamps in seen.values() for t in timestamps)  # nothing in the dark frames
    faces = [d for d in labels if d["Label"]["Name"] == "Face"]
    assert all(len(d["Label"]["Instances"]) == 1 for d in faces)

    by_segment = rekognition.get_label_detection(JobId=jobs["labels"], AggregateBy="SEGMENTS", SortBy="NAME")
    assert by_segment["GetRequestMetadata"] == {"SortBy": "NAME", "AggregateBy": "SEGMENTS"}
    names = [d["Label"]["Name"] for d in by_segment["Labels"]]
    assert names == sorted(names)
    cat = [d for d in by_segment["Labels"] if d["Label"]["Name"] == "Cat"]
    assert len(cat) == 1
    assert (cat[0]["StartTimestampMillis"], cat[0]["EndTimestampMillis"], cat[0]["DurationMillis"]) == (2000, 4000,
                                                                                                         2000)
    assert cat[0]["Timestamp"] == 2000
    assert "Instances" not in cat[0]["Label"]
    assert {p["Name"] for p in cat[0]["Label"]["Parents"]} == {"Animal", "Mammal", "Pet"}
    person = [d for d in by_segment["Labels"] if d["Label"]["Name"] == "Person"]
    assert [(d["StartTimestampMillis"], d["EndTimestampMillis"]) for d in person] == [(0, 2000)]

    filtered = finished(rekognition.get_label_detection, jobs["cat-only"])
    assert {d["Label"]["Name"] for d in filtered["Labels"]} == {"Cat"}
    assert [d["Timestamp"] for d in filtered["Labels"]] == [2000 + t for t in SAMPLES]
    assert "JobTag" not in filtered


def test_label_results_page_with_tokens_bound_to_their_job(rekognition: Any, jobs: dict[str, str]) -> None:
    whole = finished(rekognition.get_label_detection, jobs["labels"])["Labels"]
    assert len(whole) > 7
    pages = every_page(rekognition.get_label_detection, "Labels", jobs["labels"], MaxResults=3)
    assert pages == whole
    first = rekognition.get_label_detection(JobId=jobs["labels"], MaxResults=3)
    assert len(first["Labels"]) == 3 and first["NextToken"]
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rekognition.get_label_detection(JobId=jobs["labels"], NextToken="not-a-token")
    assert _code(info) == "InvalidPaginationTokenException"
    finished(rekognition.get_label_detection, jobs["cat-only"])
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rekognition.get_label_detection(JobId=jobs["cat-only"], NextToken=first["NextToken"])
    assert _code(info) == "InvalidPaginationTokenException"
    with pytest.raises(botocore.exceptions.ClientError) as info:  # a token is for the order it was made in
        rekognition.get_label_detection(JobId=jobs["labels"], NextToken=first["NextToken"], SortBy="NAME")
    assert _code(info) == "InvalidPaginationTokenException"
    last = rekognition.get_label_detection(JobId=jobs["labels"], MaxResults=1000)
    assert last["Labels"] == whole and "NextToken" not in last


def test_face_detection_finds_the_astronaut_while_she_is_on_screen(rekognition: Any, jobs: dict[str, str]) -> None:
    response = finished(rekognition.get_face_detection, jobs["faces"])
    assert response["JobStatus"] == "SUCCEEDED", response.get("StatusMessage")
    assert [f["Timestamp"] for f in response["Faces"]] == SAMPLES
    for found in response["Faces"]:
        face = found["Face"]
        box = face["BoundingBox"]
        # The face spans about x 107-170 and y 32-94 of the 320x240 frame.
        assert 0.30 < box["Left"] < 0.37 and 0.16 < box["Width"] < 0.24
        assert 0.09 < box["Top"] < 0.17 and 0.2 < box["Height"] < 0.3
        assert face["Confidence"] > 90
        assert {lm["Type"] for lm in face["Landmarks"]} == {"eyeLeft", "eyeRight", "mouthLeft", "mouthRight", "nose"}
        assert "EyesOpen" not in face
    everything = finished(rekognition.get_face_detection, jobs["faces-all"])
    assert [f["Timestamp"] for f in everything["Faces"]] == SAMPLES
    face = everything["Faces"][0]["Face"]
    assert face["EyesOpen"]["Value"] is True
    assert len(face["Landmarks"]) == 30
    paged = every_page(rekognition.get_face_detection, "Faces", jobs["faces"], MaxResults=1)
    assert paged == response["Faces"]


def test_text_detection_reads_the_rendered_words(rekognition: Any, jobs: dict[str, str]) -> None:
    response = finished(rekognition.get_text_detection, jobs["text"])
    assert response["JobStatus"] == "SUCCEEDED", response.get("StatusMessage")
    assert response["TextModelVersion"]
    assert response["VideoMetadata"]["DurationMillis"] == 1000
    lines = [(t["Timestamp"], t["TextDetection"]["DetectedText"]) for t in response["TextDetections"]
             if t["TextDetection"]["Type"] == "LINE"]
    assert lines == [(0, "FOGBANK VIDEO"), (500, "FOGBANK VIDEO")]
    words = [t["TextDetection"] for t in response["TextDetections"] if t["Timestamp"] == 0
             and t["TextDetection"]["Type"] == "WORD"]
    assert [w["DetectedText"] for w in words] == ["FOGBANK", "VIDEO"]
    assert all(w["ParentId"] == 0 for w in words)
    assert words[0]["Geometry"]["BoundingBox"]["Left"] < words[1]["Geometry"]["BoundingBox"]["Left"]


def test_text_detection_filters_regions(rekognition: Any, videos: str) -> None:
    job = rekognition.start_text_detection(Video=video(videos, "text.mp4"), Filters={
        "RegionsOfInterest": [{"BoundingBox": {"Left": 0.0, "Top": 0.8, "Width": 1.0, "Height": 0.2}}]})["JobId"]
    response = finished(rekognition.get_text_detection, job)
    assert response["JobStatus"] == "SUCCEEDED"
    assert response["TextDetections"] == []


def test_content_moderation_scores_every_sampled_frame(rekognition: Any, jobs: dict[str, str]) -> None:
    response = finished(rekognition.get_content_moderation, jobs["moderation"])
    assert response["JobStatus"] == "SUCCEEDED", response.get("StatusMessage")
    assert response["ModerationModelVersion"]
    labels = response["ModerationLabels"]
    assert [m["Timestamp"] for m in labels] == [0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500]
    assert all(m["ModerationLabel"]["Name"] == "Explicit" for m in labels)
    assert all(m["ModerationLabel"]["Confidence"] < 50 for m in labels)  # a portrait, a cat, dark frames
    merged = rekognition.get_content_moderation(JobId=jobs["moderation"], AggregateBy="SEGMENTS")
    assert [(m["StartTimestampMillis"], m["EndTimestampMillis"]) for m in merged["ModerationLabels"]] == [(0, 5000)]
    assert merged["GetRequestMetadata"] == {"SortBy": "TIMESTAMP", "AggregateBy": "SEGMENTS"}


def test_face_search_matches_the_indexed_face(rekognition: Any, jobs: dict[str, str],
                                              collection: tuple[str, str]) -> None:
    response = finished(rekognition.get_face_search, jobs["search"])
    assert response["JobStatus"] == "SUCCEEDED", response.get("StatusMessage")
    persons = response["Persons"]
    assert [p["Timestamp"] for p in persons] == SAMPLES
    assert {p["Person"]["Index"] for p in persons} == {0}
    for person in persons:
        assert [m["Face"]["FaceId"] for m in person["FaceMatches"]] == [collection[1]]
        assert person["FaceMatches"][0]["Face"]["ExternalImageId"] == "astronaut"
        assert person["FaceMatches"][0]["Similarity"] > 80
        assert 0.30 < person["Person"]["Face"]["BoundingBox"]["Left"] < 0.37


def test_person_tracking_follows_one_face(rekognition: Any, jobs: dict[str, str]) -> None:
    response = finished(rekognition.get_person_tracking, jobs["persons"], SortBy="INDEX")
    assert response["JobStatus"] == "SUCCEEDED", response.get("StatusMessage")
    assert [(p["Timestamp"], p["Person"]["Index"]) for p in response["Persons"]] == [(t, 0) for t in SAMPLES]
    assert all("BoundingBox" not in p["Person"] for p in response["Persons"])


def test_segments_find_the_cut_between_two_scenes(rekognition: Any, jobs: dict[str, str]) -> None:
    response = finished(rekognition.get_segment_detection, jobs["cut"])
    assert response["JobStatus"] == "SUCCEEDED", response.get("StatusMessage")
    assert response["VideoMetadata"][0]["Format"] == "QuickTime / MOV"
    assert response["VideoMetadata"][0]["DurationMillis"] == 3000
    assert response["AudioMetadata"] == []
    assert [s["Type"] for s in response["SelectedSegmentTypes"]] == ["SHOT", "TECHNICAL_CUE"]
    shots = [s for s in response["Segments"] if s["Type"] == "SHOT"]
    assert len(shots) == 2
    assert len(response["Segments"]) == 2  # no black frames in it
    first, second = shots
    assert (first["StartTimestampMillis"], first["EndTimestampMillis"], first["DurationMillis"]) == (0, 1500, 1500)
    assert (second["StartTimestampMillis"], second["EndTimestampMillis"]) == (1500, 3000)
    assert (first["StartFrameNumber"], first["EndFrameNumber"], first["DurationFrames"]) == (0, 14, 15)
    assert (second["StartFrameNumber"], second["EndFrameNumber"], second["DurationFrames"]) == (15, 29, 15)
    assert (second["StartTimecodeSMPTE"], second["EndTimecodeSMPTE"], second["DurationSMPTE"]) == (
        "00:00:01:05", "00:00:02:09", "00:00:01:05")
    assert [s["ShotSegment"]["Index"] for s in shots] == [0, 1]
    assert all(s["ShotSegment"]["Confidence"] >= 80 for s in shots)


def test_segments_find_black_frames_by_their_threshold(rekognition: Any, jobs: dict[str, str]) -> None:
    response = finished(rekognition.get_segment_detection, jobs["cues"])
    assert response["JobStatus"] == "SUCCEEDED", response.get("StatusMessage")
    assert [s["Type"] for s in response["SelectedSegmentTypes"]] == ["TECHNICAL_CUE"]
    [cue] = response["Segments"]
    assert cue["Type"] == "TECHNICAL_CUE"
    assert cue["TechnicalCueSegment"]["Type"] == "BlackFrames"
    assert cue["TechnicalCueSegment"]["Confidence"] > 90
    assert (cue["StartTimestampMillis"], cue["EndTimestampMillis"], cue["DurationMillis"]) == (4000, 5000, 1000)
    assert (cue["StartFrameNumber"], cue["EndFrameNumber"], cue["DurationFrames"]) == (40, 49, 10)
    assert cue["StartTimecodeSMPTE"] == "00:00:04:00"
    # The frames are a dark grey (luma 25 of 255): black under the default 0.2 threshold, not under 0.05.
    strict = finished(rekognition.get_segment_detection, jobs["strict-cues"])
    assert strict["JobStatus"] == "SUCCEEDED"
    assert strict["Segments"] == []


@pytest.mark.parametrize(("key", "message"), [("noise.mp4", "Unsupported codec/format"),
                                              ("truncated.mp4", ""),
                                              ("mpeg4.mp4", "not H.264"),
                                              ("cat.png", "Unsupported codec/format")])
def test_objects_that_are_not_usable_videos_fail_the_job(rekognition: Any, videos: str, key: str,
                                                         message: str) -> None:
    job = rekognition.start_label_detection(Video=video(videos, key))["JobId"]
    response = finished(rekognition.get_label_detection, job)
    assert response["JobStatus"] == "FAILED"
    assert message in response["StatusMessage"] and response["StatusMessage"]
    assert "Labels" not in response and "VideoMetadata" not in response


def test_bad_requests_get_aws_errors(rekognition: Any, videos: str, jobs: dict[str, str]) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rekognition.start_label_detection(Video=video(videos, "missing.mp4"))
    assert _code(info) == "InvalidS3ObjectException"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rekognition.start_segment_detection(Video=video("no-such-bucket-here", "a.mp4"), SegmentTypes=["SHOT"])
    assert _code(info) == "InvalidS3ObjectException"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rekognition.start_face_search(Video=video(videos, "scenes.mp4"), CollectionId="no-such-collection")
    assert _code(info) == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rekognition.get_label_detection(JobId="0" * 64)
    assert _code(info) == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as info:  # a label job is not a face detection job
        rekognition.get_face_detection(JobId=jobs["labels"])
    assert _code(info) == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rekognition.start_celebrity_recognition(Video=video(videos, "scenes.mp4"))
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_client_request_token_makes_start_idempotent(rekognition: Any, videos: str) -> None:
    token = f"cut-{WORKER}-{time.time_ns()}"
    first = rekognition.start_segment_detection(Video=video(videos, "cut.mov"), SegmentTypes=["SHOT"],
                                                ClientRequestToken=token, JobTag="once")["JobId"]
    again = rekognition.start_segment_detection(Video=video(videos, "cut.mov"), SegmentTypes=["SHOT"],
                                                ClientRequestToken=token, JobTag="once")["JobId"]
    assert again == first
    assert len(first) == 64
    with pytest.raises(botocore.exceptions.ClientError) as info:
        rekognition.start_segment_detection(Video=video(videos, "scenes.mp4"), SegmentTypes=["SHOT"],
                                            ClientRequestToken=token)
    assert _code(info) == "IdempotentParameterMismatchException"
    other = rekognition.start_segment_detection(Video=video(videos, "cut.mov"), SegmentTypes=["SHOT"],
                                                ClientRequestToken=token + "-2", JobTag="once")["JobId"]
    assert other != first
    response = finished(rekognition.get_segment_detection, first)
    assert response["JobTag"] == "once"
    assert [s["Type"] for s in response["Segments"]] == ["SHOT", "SHOT"]


def test_results_survive_a_restart_and_a_killed_job_ends_failed(own_server: FogbankServer, tmp_path: Path) -> None:
    server = own_server.start()
    s3 = server.client("s3")
    s3.create_bucket(Bucket="tapes")
    s3.put_object(Bucket="tapes", Key="cut.mp4", Body=clips.mp4(CUT))
    long_scenes = [clips.Scene(clips.photo(name, (160, 120)), 10)
                   for name in ("astronaut.png", "chelsea.png", "coffee.png", "astronaut.png")]
    s3.put_object(Bucket="tapes", Key="long.mp4", Body=clips.mp4(long_scenes, fps=5))
    rekognition = server.client("rekognition")
    done = rekognition.start_segment_detection(Video=video("tapes", "cut.mp4"), SegmentTypes=["SHOT"],
                                               ClientRequestToken="survivor")["JobId"]
    before = finished(rekognition.get_segment_detection, done)
    assert before["JobStatus"] == "SUCCEEDED"
    running = rekognition.start_label_detection(Video=video("tapes", "long.mp4"))["JobId"]
    assert rekognition.get_label_detection(JobId=running)["JobStatus"] == "IN_PROGRESS"
    server.kill()
    server.start()
    rekognition = server.client("rekognition")
    after = rekognition.get_segment_detection(JobId=done)
    before.pop("ResponseMetadata")
    after.pop("ResponseMetadata")
    assert after == before
    cut_short = rekognition.get_label_detection(JobId=running)
    assert cut_short["JobStatus"] == "FAILED"
    assert "restarted" in cut_short["StatusMessage"]
    again = rekognition.start_segment_detection(Video=video("tapes", "cut.mp4"), SegmentTypes=["SHOT"],
                                                ClientRequestToken="survivor")["JobId"]
    assert again == done


def test_a_camera_pan_is_one_shot_and_timecodes_follow_smpte() -> None:
    from fogbank.engines.models import video as engine

    wide = clips.photo("motorcycle_left.png", (741, 500)).resize((480, 240))
    panning = [clips.Scene(wide.crop((4 * i, 0, 4 * i + 320, 240)), 0.1) for i in range(40)]
    found = engine.Video(clips.mp4(panning)).segments()
    assert [(s.start, s.end) for s in found.shots] == [(0, 39)]
    assert found.black == [] and found.frame_count == 40
    assert engine.smpte(0, 25.0) == "00:00:00:00"
    assert engine.smpte(3 * 3600 * 25 + 61 * 25 + 7, 25.0) == "03:01:01:07"
    # 29.97 fps drop-frame: frame numbers 0 and 1 are skipped at each minute but every tenth.
    assert engine.smpte(1799, 30000 / 1001) == "00:00:59;29"
    assert engine.smpte(1800, 30000 / 1001) == "00:01:00;02"
    assert engine.smpte(17982, 30000 / 1001) == "00:10:00;00"
