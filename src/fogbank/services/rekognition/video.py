"""Rekognition Video on stored video: the Start*/Get* operations, run as durable background jobs.

A Start* checks the S3 object exists (InvalidS3ObjectException otherwise, as AWS does at Start) and is
not too large, records the job and returns its JobId; a ClientRequestToken makes Start idempotent (the
same token gives the same JobId, and with other parameters IdempotentParameterMismatchException). The job
reads the video through the provider's S3 reader, decodes it (engines/models/video.py: MP4 or MOV with
H.264, as AWS requires) and runs the same models as the image operations on frames sampled twice a
second: labels, faces, text, unsafe content, and face search against a collection. An object that is not
such a video, or is damaged, fails its job with a StatusMessage, as AWS reports it.

Segment detection reads every frame: SHOT segments lie between hard cuts (jumps in colours and pixels
between consecutive frames), black frames belonging to no shot; TECHNICAL_CUE segments are BlackFrames,
from each frame's luma. Other cue types (colour bars, credits, slates, studio logos) need trained models
that do not ship offline and are never reported.

Person tracking follows people by their faces: a person is tracked while the face is visible, persons are
told apart by face embeddings, and the person's (body) BoundingBox is left out because nothing measures it.

Limits: 512 MiB per video from S3 (AWS allows 10 GB; the local cap keeps one video in memory), six hours
of video, 20 jobs in progress per account and region (AWS's default quota). NotificationChannel is stored
with the job but no completion message is published: fogbank does not serve SNS, so poll Get* instead.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from fogbank.context import RequestContext
from fogbank.engines.models import faces as face_models
from fogbank.engines.models import video as video_engine
from fogbank.errors import AwsError
from fogbank.protocol.dispatch import operation
from fogbank.protocol.http import Headers, HttpRequest
from fogbank.services.rekognition import errors
from fogbank.services.rekognition.facedetails import face_detail
from fogbank.services.rekognition.video_jobs import (
    RESTART_MESSAGE,
    JobFailed,
    VideoJob,
    VideoJobRunner,
    VideoJobStore,
)
from fogbank.services.textract.sources import S3Location, SourceMissing, SourceTooLarge

if TYPE_CHECKING:
    from PIL import Image

    from fogbank.config import Config
    from fogbank.services.rekognition.store import RekognitionStore
    from fogbank.services.textract.sources import S3Reader

VIDEO_S3_LIMIT = 512 * 1024 * 1024
MAX_DURATION_MS = 6 * 3600 * 1000
MAX_JOBS_IN_PROGRESS = 20
MAX_RESULTS = 1000
SAMPLES_PER_SECOND = video_engine.DEFAULT_SAMPLES_PER_SECOND
SEGMENT_MODEL_VERSION = "fogbank-segments-1.0"
_S3_MISSING = "Unable to get object metadata from S3. Check object key, region and/or access permissions."

LABELS = "labels"
FACES = "faces"
TEXT = "text"
MODERATION = "moderation"
FACE_SEARCH = "face-search"
SEGMENTS = "segments"
PERSONS = "persons"


class IdempotentParameterMismatchException(AwsError):
    code = "IdempotentParameterMismatchException"


class VideoTooLargeException(AwsError):
    code = "VideoTooLargeException"


class LimitExceededException(AwsError):
    code = "LimitExceededException"


def _token(job_id: str, offset: int, variant: str) -> str:
    return base64.urlsafe_b64encode(f"{job_id}:{offset}:{variant}".encode()).decode()


def _offset(job_id: str, variant: str, token: str | None) -> int:
    """Where a NextToken resumes; only a token this job gave out for the same sort and aggregation is valid."""
    if not token:
        return 0
    try:
        owner, offset, made_for = base64.urlsafe_b64decode(token.encode()).decode().split(":", 2)
        if owner == job_id and made_for == variant and offset.isdigit():
            return int(offset)
    except (ValueError, UnicodeDecodeError):
        pass
    raise errors.InvalidPaginationTokenException("Invalid pagination token")


def _context(account: str, region: str, operation_name: str, service: str = "rekognition") -> RequestContext:
    return RequestContext(account, region, str(uuid.uuid4()), service, operation_name,
                          HttpRequest("GET", "/", "", Headers()))


def _metadata(meta: video_engine.VideoMetadata) -> dict[str, Any]:
    return {"Codec": meta.codec, "DurationMillis": meta.duration_millis, "Format": meta.format,
            "FrameRate": meta.frame_rate, "FrameHeight": meta.frame_height, "FrameWidth": meta.frame_width,
            "ColorRange": meta.color_range}


class _Tracks:
    """Gives each face a person index: faces whose embeddings are as close as one person's share an index."""

    def __init__(self) -> None:
        self.centres: list[np.ndarray] = []
        self.counts: list[int] = []

    def index(self, embedding: np.ndarray) -> int:
        best, best_score = -1, 0.0
        for number, centre in enumerate(self.centres):
            score = face_models.similarity(embedding, centre)
            if score > best_score:
                best, best_score = number, score
        if best >= 0 and best_score >= 80.0:
            count = self.counts[best]
            self.centres[best] = (self.centres[best] * count + embedding) / (count + 1)
            self.counts[best] = count + 1
            return best
        self.centres.append(embedding.astype(np.float64))
        self.counts.append(1)
        return len(self.centres) - 1


class VideoOperations:
    """The stored-video operations of RekognitionProvider (mixed into it; it supplies the models and stores)."""

    if TYPE_CHECKING:
        config: Config
        reader: S3Reader
        store: RekognitionStore

        def _faces(self, image: Image.Image, embed: bool = False,
                   max_faces: int | None = None) -> list[face_models.Face]: ...

        def _labels_of(self, image: Image.Image, min_conf: float,
                       settings: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...

        def _text_of(self, image: Image.Image, filters: dict[str, Any]) -> list[dict[str, Any]]: ...

        def _moderation_of(self, image: Image.Image, min_conf: float) -> list[dict[str, Any]]: ...

        def _collection(self, ctx: RequestContext, collection_id: str) -> None: ...

        def _matches(self, ctx: RequestContext, collection_id: str, probe: np.ndarray, threshold: float,
                     max_faces: int, exclude: str | None = None) -> list[dict[str, Any]]: ...

    def _start_video(self, versions: dict[str, str]) -> None:
        """Opens the job store and worker; ``versions`` names the model versions (labels, text, moderation)."""
        self.video_versions = versions
        self.video_store = VideoJobStore(self.config.service_dir("rekognition"))
        self.video_jobs = VideoJobRunner(self.video_store, self._analyse)
        self.video_jobs.recover()

    def _close_video(self) -> None:
        self.video_jobs.close()
        self.video_store.close()

    # ------------------------------------------------------------------ starting

    def _start(self, ctx: RequestContext, kind: str, req: dict[str, Any]) -> dict[str, Any]:
        token = req.get("ClientRequestToken")
        asked = {k: v for k, v in req.items() if k != "ClientRequestToken"}
        if token:
            existing = self.video_store.find(ctx.account_id, ctx.region, kind, token)
            if existing is not None:
                return {"JobId": self._same_job(existing, asked).job_id}
        s3_object = (req.get("Video") or {}).get("S3Object")
        if not s3_object:
            raise errors.InvalidParameterException("Video must name an S3Object")
        location = S3Location.of(s3_object)
        if not location.bucket or not location.key:
            raise errors.InvalidParameterException("Video.S3Object must name a Bucket and a Name")
        if kind == FACE_SEARCH:
            self._collection(ctx, req["CollectionId"])
        size = self._object_size(ctx, location)
        if size > VIDEO_S3_LIMIT:
            raise VideoTooLargeException(f"The video is {size} bytes; fogbank analyses videos of at most "
                                         f"{VIDEO_S3_LIMIT} bytes")
        if len(self.video_store.running(ctx.account_id, ctx.region)) >= MAX_JOBS_IN_PROGRESS:
            raise LimitExceededException(f"At most {MAX_JOBS_IN_PROGRESS} video jobs may be in progress at once")
        job, created = self.video_store.create(ctx.account_id, ctx.region, kind, asked, token)
        if created:
            self.video_jobs.submit(job)
        else:
            self._same_job(job, asked)
        return {"JobId": job.job_id}

    @staticmethod
    def _same_job(job: VideoJob, asked: dict[str, Any]) -> VideoJob:
        if json.dumps(job.request, sort_keys=True) != json.dumps(asked, sort_keys=True):
            raise IdempotentParameterMismatchException(
                "ClientRequestToken was used before with other parameters")
        return job

    def _object_size(self, ctx: RequestContext, location: S3Location) -> int:
        """The object's size from S3 HeadObject under the caller's account, without reading it."""
        s3 = self.reader.s3
        if s3 is None:
            raise errors.InvalidS3ObjectException(_S3_MISSING)
        head: dict[str, Any] = {"Bucket": location.bucket, "Key": location.key}
        if location.version:
            head["VersionId"] = location.version
        try:
            found = s3.head_object(_context(ctx.account_id, ctx.region, "HeadObject", "s3"), head)
        except AwsError as exc:
            raise errors.InvalidS3ObjectException(_S3_MISSING) from exc
        return int(found.get("ContentLength", 0))

    @operation("StartLabelDetection")
    def start_label_detection(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._start(ctx, LABELS, req)

    @operation("StartFaceDetection")
    def start_face_detection(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._start(ctx, FACES, req)

    @operation("StartTextDetection")
    def start_text_detection(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._start(ctx, TEXT, req)

    @operation("StartContentModeration")
    def start_content_moderation(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._start(ctx, MODERATION, req)

    @operation("StartFaceSearch")
    def start_face_search(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._start(ctx, FACE_SEARCH, req)

    @operation("StartSegmentDetection")
    def start_segment_detection(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._start(ctx, SEGMENTS, req)

    @operation("StartPersonTracking")
    def start_person_tracking(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._start(ctx, PERSONS, req)

    # ------------------------------------------------------------------ running (on a worker thread)

    def _analyse(self, job: VideoJob, stopping: Callable[[], bool]) -> dict[str, Any]:
        request = job.request
        location = S3Location.of(request["Video"]["S3Object"])
        try:
            data = self.reader.read(job.account, job.region, location, VIDEO_S3_LIMIT)
        except SourceTooLarge as exc:
            raise JobFailed(f"The video is too large: {exc}") from exc
        except SourceMissing as exc:
            raise JobFailed(_S3_MISSING) from exc
        try:
            video = video_engine.Video(data, MAX_DURATION_MS)
            del data
            result: dict[str, Any] = {"VideoMetadata": _metadata(video.metadata),
                                      "SampleMillis": round(1000 / SAMPLES_PER_SECOND)}
            if job.kind == SEGMENTS:
                result.update(self._segments(video, request, stopping))
            else:
                result["Items"] = list(self._frame_items(job, video, stopping))
        except video_engine.VideoError as exc:
            raise JobFailed(str(exc)) from exc
        except video_engine.Stopped as exc:
            raise JobFailed(RESTART_MESSAGE) from exc
        return result

    def _frame_items(self, job: VideoJob, video: video_engine.Video,
                     stopping: Callable[[], bool]) -> Iterator[dict[str, Any]]:
        request = job.request
        tracks = _Tracks()
        ctx = _context(job.account, job.region, "StartFaceSearch")
        for frame in video.frames(SAMPLES_PER_SECOND, stopping):
            image, at = frame.image, frame.timestamp_ms
            if job.kind == LABELS:
                settings = (request.get("Settings") or {}).get("GeneralLabels") or {}
                for label in self._labels_of(image, float(request.get("MinConfidence", 50.0)), settings):
                    yield {"Timestamp": at, "Label": label}
            elif job.kind == FACES:
                attributes = [request.get("FaceAttributes") or "DEFAULT"]
                for face in self._faces(image, max_faces=100):
                    yield {"Timestamp": at, "Face": face_detail(face, image.width, image.height, attributes)}
            elif job.kind == TEXT:
                for detection in self._text_of(image, request.get("Filters") or {}):
                    yield {"Timestamp": at, "TextDetection": detection}
            elif job.kind == MODERATION:
                for label in self._moderation_of(image, float(request.get("MinConfidence", 50.0))):
                    yield {"Timestamp": at, "ModerationLabel": label}
            else:
                for face in self._faces(image, embed=True, max_faces=100):
                    assert face.embedding is not None
                    person: dict[str, Any] = {"Index": tracks.index(face.embedding),
                                              "Face": face_detail(face, image.width, image.height, ["DEFAULT"])}
                    if job.kind == PERSONS:
                        yield {"Timestamp": at, "Person": person}
                        continue
                    matches = self._matches(ctx, request["CollectionId"], face.embedding,
                                            float(request.get("FaceMatchThreshold", 80.0)), 100)
                    if matches:
                        yield {"Timestamp": at, "Person": person, "FaceMatches": matches}

    def _segments(self, video: video_engine.Video, request: dict[str, Any],
                  stopping: Callable[[], bool]) -> dict[str, Any]:
        wanted = list(dict.fromkeys(request["SegmentTypes"]))
        filters = request.get("Filters") or {}
        cue_filter = filters.get("TechnicalCueFilter") or {}
        black_frame = cue_filter.get("BlackFrame") or {}
        found = video.segments(float(black_frame.get("MaxPixelThreshold", 0.2)),
                               float(black_frame.get("MinCoveragePercentage", 99.0)), stopping)
        rate = video.metadata.frame_rate
        items: list[dict[str, Any]] = []
        if "SHOT" in wanted:
            least = float((filters.get("ShotFilter") or {}).get("MinSegmentConfidence", 50.0))
            for index, span in enumerate(found.shots):
                if span.confidence >= least:
                    items.append({**_segment("SHOT", span, rate),
                                  "ShotSegment": {"Index": index, "Confidence": span.confidence}})
        if "TECHNICAL_CUE" in wanted:
            least = float(cue_filter.get("MinSegmentConfidence", 50.0))
            for span in found.black:
                if span.confidence >= least:
                    items.append({**_segment("TECHNICAL_CUE", span, rate),
                                  "TechnicalCueSegment": {"Type": "BlackFrames", "Confidence": span.confidence}})
        items.sort(key=lambda s: (s["StartTimestampMillis"], s["Type"]))
        return {"Items": items,
                "SelectedSegmentTypes": [{"Type": t, "ModelVersion": SEGMENT_MODEL_VERSION} for t in wanted],
                "AudioMetadata": [{"Codec": a.codec, "DurationMillis": a.duration_millis, "SampleRate": a.sample_rate,
                                   "NumberOfChannels": a.channels} for a in video.audio]}

    # ------------------------------------------------------------------ getting

    def _get(self, ctx: RequestContext, kind: str, req: dict[str, Any],
             variant: str = "") -> tuple[dict[str, Any], dict[str, Any] | None, int, int]:
        """The response's common members, the job's result when it succeeded, the page's offset and size."""
        job = self.video_store.get(ctx.account_id, ctx.region, kind, req["JobId"])
        if job is None:
            raise errors.ResourceNotFoundException(f"The job id: {req['JobId']} does not exist")
        offset = _offset(job.job_id, variant, req.get("NextToken"))
        limit = min(MAX_RESULTS, int(req.get("MaxResults") or MAX_RESULTS))
        out: dict[str, Any] = {"JobStatus": job.status, "JobId": job.job_id, "Video": job.request["Video"]}
        if job.request.get("JobTag"):
            out["JobTag"] = job.request["JobTag"]
        if job.message:
            out["StatusMessage"] = job.message
        result = None
        if job.status == "SUCCEEDED":
            result = self.video_store.results.read(job.job_id)
            if result is None:
                out["JobStatus"] = "FAILED"
                out["StatusMessage"] = "The job's results are missing from the data directory"
            elif kind != SEGMENTS:
                out["VideoMetadata"] = result["VideoMetadata"]
        return out, result, offset, limit

    @staticmethod
    def _page(out: dict[str, Any], member: str, items: list[dict[str, Any]], offset: int, limit: int,
              variant: str = "") -> dict[str, Any]:
        out[member] = items[offset:offset + limit]
        if offset + limit < len(items):
            out["NextToken"] = _token(out["JobId"], offset + limit, variant)
        return out

    @operation("GetLabelDetection")
    def get_label_detection(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        sort, aggregate = req.get("SortBy") or "TIMESTAMP", req.get("AggregateBy") or "TIMESTAMPS"
        variant = f"{sort}.{aggregate}"
        out, result, offset, limit = self._get(ctx, LABELS, req, variant)
        out["LabelModelVersion"] = self.video_versions["labels"]
        out["GetRequestMetadata"] = {"SortBy": sort, "AggregateBy": aggregate}
        if result is None:
            return out
        items = _arranged(result, "Label", sort, aggregate)
        return self._page(out, "Labels", items, offset, limit, variant)

    @operation("GetContentModeration")
    def get_content_moderation(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        sort, aggregate = req.get("SortBy") or "TIMESTAMP", req.get("AggregateBy") or "TIMESTAMPS"
        variant = f"{sort}.{aggregate}"
        out, result, offset, limit = self._get(ctx, MODERATION, req, variant)
        out["ModerationModelVersion"] = self.video_versions["moderation"]
        out["GetRequestMetadata"] = {"SortBy": sort, "AggregateBy": aggregate}
        if result is None:
            return out
        items = _arranged(result, "ModerationLabel", sort, aggregate)
        return self._page(out, "ModerationLabels", items, offset, limit, variant)

    @operation("GetFaceDetection")
    def get_face_detection(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        out, result, offset, limit = self._get(ctx, FACES, req)
        if result is None:
            return out
        return self._page(out, "Faces", result["Items"], offset, limit)

    @operation("GetTextDetection")
    def get_text_detection(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        out, result, offset, limit = self._get(ctx, TEXT, req)
        out["TextModelVersion"] = self.video_versions["text"]
        if result is None:
            return out
        return self._page(out, "TextDetections", result["Items"], offset, limit)

    @operation("GetFaceSearch")
    def get_face_search(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        sort = req.get("SortBy") or "TIMESTAMP"
        out, result, offset, limit = self._get(ctx, FACE_SEARCH, req, sort)
        if result is None:
            return out
        return self._page(out, "Persons", _by_person(result["Items"], sort), offset, limit, sort)

    @operation("GetPersonTracking")
    def get_person_tracking(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        sort = req.get("SortBy") or "TIMESTAMP"
        out, result, offset, limit = self._get(ctx, PERSONS, req, sort)
        if result is None:
            return out
        return self._page(out, "Persons", _by_person(result["Items"], sort), offset, limit, sort)

    @operation("GetSegmentDetection")
    def get_segment_detection(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        out, result, offset, limit = self._get(ctx, SEGMENTS, req)
        if result is None:
            return out
        out["VideoMetadata"] = [result["VideoMetadata"]]
        out["AudioMetadata"] = result.get("AudioMetadata", [])
        out["SelectedSegmentTypes"] = result["SelectedSegmentTypes"]
        return self._page(out, "Segments", result["Items"], offset, limit)


def _segment(kind: str, span: video_engine.Span, rate: float) -> dict[str, Any]:
    return {"Type": kind, "StartTimestampMillis": span.start_ms, "EndTimestampMillis": span.end_ms,
            "DurationMillis": span.end_ms - span.start_ms,
            "StartTimecodeSMPTE": video_engine.smpte(span.start, rate),
            "EndTimecodeSMPTE": video_engine.smpte(span.end, rate),
            "DurationSMPTE": video_engine.smpte(span.frames, rate),
            "StartFrameNumber": span.start, "EndFrameNumber": span.end, "DurationFrames": span.frames}


def _by_person(items: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    if sort == "INDEX":
        return sorted(items, key=lambda item: (item["Person"]["Index"], item["Timestamp"]))
    return items  # stored in time order, persons within a frame largest face first


def _arranged(result: dict[str, Any], member: str, sort: str, aggregate: str) -> list[dict[str, Any]]:
    """Per-frame detections as asked: one per sampled frame (TIMESTAMPS) or merged into runs (SEGMENTS).

    A run is the consecutive sampled frames that show one label; it lasts until the next sample after its
    last frame (or the video's end) and carries the run's highest confidence. Boxes of instances are per
    frame, so runs leave them out, as AWS does.
    """
    items: list[dict[str, Any]] = result["Items"]
    if aggregate == "SEGMENTS":
        step = int(result.get("SampleMillis", 500))
        end_of_video = int(result["VideoMetadata"].get("DurationMillis") or 0)
        runs: dict[str, list[dict[str, Any]]] = {}
        open_runs: dict[str, dict[str, Any]] = {}
        for item in items:
            name = item[member]["Name"]
            at = item["Timestamp"]
            run = open_runs.get(name)
            if run is not None and at - run["_last"] <= step * 1.5:
                run["_last"] = at
                run[member]["Confidence"] = max(run[member]["Confidence"], item[member]["Confidence"])
                continue
            label = {k: v for k, v in item[member].items() if k != "Instances"}
            run = {"Timestamp": at, member: label, "_last": at}
            open_runs[name] = run
            runs.setdefault(name, []).append(run)
        items = []
        for name_runs in runs.values():
            for run in name_runs:
                last = run.pop("_last")
                end = last + step if not end_of_video else min(end_of_video, last + step)
                end = max(end, run["Timestamp"])
                items.append({**run, "StartTimestampMillis": run["Timestamp"], "EndTimestampMillis": end,
                              "DurationMillis": end - run["Timestamp"]})
    if sort == "NAME":
        return sorted(items, key=lambda item: (item[member]["Name"], item["Timestamp"]))
    return sorted(items, key=lambda item: (item["Timestamp"], -item[member]["Confidence"], item[member]["Name"]))
