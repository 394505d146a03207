"""The Translate provider: text, documents and S3 batch jobs through Apertium, with terminologies."""

from __future__ import annotations

import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.engines.models import language_id
from fogbank.engines.models.registry import ModelRegistry, ModelUnavailable
from fogbank.engines.models.translation import ApertiumEngine, TranslationError, load_default
from fogbank.protocol.dispatch import Provider, operation
from fogbank.services.translate import errors, profanity, terminology
from fogbank.services.translate.store import TranslateStore

if TYPE_CHECKING:
    from fogbank.services.s3.provider import S3Provider

log = logging.getLogger("fogbank.translate")

CAPABILITY = "translation"
TEXT_LIMIT = 10_000
DOCUMENT_LIMIT = 100 * 1024
BATCH_DOCUMENT_LIMIT = 20 * 1024 * 1024
LOW_CONFIDENCE = 0.3
_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "pt": "Portuguese (Brazil)",
          "pt-PT": "Portuguese (Portugal)", "it": "Italian", "ca": "Catalan", "gl": "Galician", "eu": "Basque",
          "is": "Icelandic", "mk": "Macedonian", "bg": "Bulgarian", "ro": "Romanian", "ru": "Russian",
          "uk": "Ukrainian", "be": "Belarusian", "da": "Danish", "no": "Norwegian (Bokmål)", "sv": "Swedish",
          "af": "Afrikaans", "nl": "Dutch", "id": "Indonesian", "ms": "Malay", "ur": "Urdu", "hi": "Hindi",
          "pl": "Polish", "oc": "Occitan", "cy": "Welsh", "hr": "Croatian", "sl": "Slovenian"}
_CONTENT_TYPES = {"text/plain": "txt", "text/html": "html"}


def register_model(models: ModelRegistry) -> None:
    models.register(CAPABILITY, "Apertium (Debian pairs, separate processes)", load_default,
                    "rule-based machine translation; pairs as installed", concurrency=4)


class TranslateProvider(Provider):
    services = ("translate",)

    def __init__(self, config: Config, s3: S3Provider | None = None, models: ModelRegistry | None = None,
                 workers: int = 1) -> None:
        self.store = TranslateStore(config.service_dir("translate"))
        failed = self.store.fail_interrupted()
        if failed:
            log.warning("%d translation jobs were interrupted by a restart and are marked FAILED", failed)
        self.models = models if models is not None else ModelRegistry(config)
        register_model(self.models)
        self.s3 = s3
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="translate-job")

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.store.close()

    def health(self) -> dict[str, Any]:
        return {"state": "running", "models": {CAPABILITY: self.models.status().get(CAPABILITY, {})}}

    def _engine(self) -> ApertiumEngine:
        try:
            engine: ApertiumEngine = self.models.get(CAPABILITY)
            return engine
        except ModelUnavailable as exc:
            raise errors.ServiceUnavailableException(f"No translation engine is available: {exc}") from None

    # ------------------------------------------------------------------ translation core

    def _source(self, text: str, source: str) -> str:
        if source != "auto":
            return source
        try:
            found = language_id.detect(self.models, text, 1)
        except ModelUnavailable as exc:
            raise errors.ServiceUnavailableException(f"Language detection is unavailable: {exc}") from None
        if not found or found[0][1] < LOW_CONFIDENCE:
            code = found[0][0] if found else "und"
            raise errors.DetectedLanguageLowConfidenceException(
                "Amazon Translate could not detect the source language with high enough confidence.",
                DetectedLanguageCode=code)
        return found[0][0]

    def _terminologies(self, scope: tuple[str, str], names: list[str]) -> list[tuple[str, terminology.Terminology]]:
        if len(names) > 1:
            raise errors.InvalidParameterValueException("Only one terminology can be applied per request.")
        loaded = []
        for name in names:
            stored = self.store.terminology(scope, name)
            if stored is None:
                raise errors.ResourceNotFoundException(f"The resource {name} does not exist.")
            data = stored[1]
            loaded.append((name, terminology.Terminology(tuple(data["languages"]), tuple(data["terms"]),
                                                         data["directionality"])))
        return loaded

    def _translate(self, scope: tuple[str, str], text: str, source: str, target: str, names: list[str],
                   settings: dict[str, Any], fmt: str = "txt") -> tuple[str, str, list[dict[str, Any]], dict[str, Any]]:
        """(translated text, source language used, applied terminologies, applied settings)."""
        source = self._source(text, source)
        engine = self._engine()
        terms_used = self._terminologies(scope, names)
        applied_terms: list[dict[str, Any]] = []
        if source == target:
            translated = text
        else:
            route = engine.route(source, target)
            if route is None:
                raise errors.UnsupportedLanguagePairException(
                    f"Unsupported language pair: {source} to {target}. Installed Apertium pairs: "
                    f"{', '.join(sorted(f'{s}-{t}' for s, t in engine.pairs))}.",
                    SourceLanguageCode=source, TargetLanguageCode=target)
            protected = text
            placeholders: dict[str, tuple[str, str]] = {}
            for name, terms in terms_used:
                protected, found = terminology.protect(protected, terms.pairs(source, target))
                if found:
                    placeholders.update(found)
                    unique = sorted(set(found.values()))
                    applied_terms.append({"Name": name, "Terms": [{"SourceText": s, "TargetText": t}
                                                                  for s, t in unique]})
            try:
                translated = self.models.run(CAPABILITY, lambda model: model.translate(protected, route, fmt))
            except TranslationError as exc:
                raise errors.InternalServerException(f"Translation failed: {exc}") from None
            translated = terminology.restore(translated, placeholders)
        applied: dict[str, Any] = {}
        if (settings or {}).get("Profanity") == "MASK":
            # Words Apertium does not know pass through untranslated, so the source language's list applies too.
            translated = profanity.mask(profanity.mask(translated, target), source)
            applied["Profanity"] = "MASK"
        return translated, source, applied_terms, applied

    @operation("TranslateText")
    def translate_text(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        text = req["Text"]
        size = len(text.encode("utf-8"))
        if size > TEXT_LIMIT:
            raise errors.TextSizeLimitExceededException(
                f"Input text size exceeds limit. Max length of request text allowed is {TEXT_LIMIT} bytes while in "
                f"this request the text size is {size} bytes")
        if not text.strip():
            raise errors.InvalidRequestException("The text to translate is empty.")
        translated, source, terms, applied = self._translate(
            ctx.scope, text, req["SourceLanguageCode"], req["TargetLanguageCode"], req.get("TerminologyNames") or [],
            req.get("Settings") or {})
        result: dict[str, Any] = {"TranslatedText": translated, "SourceLanguageCode": source,
                                  "TargetLanguageCode": req["TargetLanguageCode"], "AppliedTerminologies": terms}
        if applied:
            result["AppliedSettings"] = applied
        return result

    @operation("TranslateDocument")
    def translate_document(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        document = req["Document"]
        content = document["Content"]
        fmt = _CONTENT_TYPES.get(document["ContentType"])
        if fmt is None:
            raise errors.InvalidRequestException(
                f"Unsupported content type {document['ContentType']}: fogbank translates text/plain and text/html.")
        if len(content) > DOCUMENT_LIMIT:
            raise errors.LimitExceededException(f"The document exceeds the limit of {DOCUMENT_LIMIT} bytes.")
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.InvalidRequestException("The document is not valid UTF-8 text.") from None
        if not text.strip():
            raise errors.InvalidRequestException("The document is empty.")
        translated, source, terms, applied = self._translate(
            ctx.scope, text, req["SourceLanguageCode"], req["TargetLanguageCode"], req.get("TerminologyNames") or [],
            req.get("Settings") or {}, fmt)
        result: dict[str, Any] = {"TranslatedDocument": {"Content": translated.encode("utf-8")},
                                  "SourceLanguageCode": source, "TargetLanguageCode": req["TargetLanguageCode"],
                                  "AppliedTerminologies": terms}
        if applied:
            result["AppliedSettings"] = applied
        return result

    @operation("ListLanguages")
    def list_languages(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        codes = sorted(self._engine().languages())
        languages = [{"LanguageName": _NAMES.get(code, code), "LanguageCode": code} for code in codes]
        start = int(req["NextToken"]) if (req.get("NextToken") or "").isdigit() else 0
        limit = int(req.get("MaxResults") or 500)
        result: dict[str, Any] = {"Languages": languages[start:start + limit],
                                  "DisplayLanguageCode": req.get("DisplayLanguageCode") or "en"}
        if start + limit < len(languages):
            result["NextToken"] = str(start + limit)
        return result

    # ------------------------------------------------------------------ terminologies

    @operation("ImportTerminology")
    def import_terminology(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        data = req["TerminologyData"]
        fmt = data["Format"]
        directionality = data.get("Directionality") or "UNI"
        try:
            parsed = terminology.parse(data["File"], fmt, directionality)
        except terminology.TerminologyError as exc:
            raise errors.InvalidParameterValueException(str(exc)) from None
        name = req["Name"]
        now = time.time()
        existing = self.store.terminology(ctx.scope, name)
        properties = {"Name": name, "Arn": f"arn:aws:translate:{ctx.region}:{ctx.account_id}:terminology/{name}/LATEST",
                      "SourceLanguageCode": parsed.source_language,
                      "TargetLanguageCodes": list(parsed.languages[1:]), "SizeBytes": len(data["File"]),
                      "TermCount": len(parsed.terms), "CreatedAt": existing[0]["CreatedAt"] if existing else now,
                      "LastUpdatedAt": now, "Directionality": directionality, "Format": fmt, "SkippedTermCount": 0}
        if req.get("Description"):
            properties["Description"] = req["Description"]
        self.store.put_terminology(ctx.scope, name, properties,
                                   {"languages": list(parsed.languages), "terms": list(parsed.terms),
                                    "directionality": directionality})
        return {"TerminologyProperties": properties}

    @operation("GetTerminology")
    def get_terminology(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stored = self.store.terminology(ctx.scope, req["Name"])
        if stored is None:
            raise errors.ResourceNotFoundException(f"The resource {req['Name']} does not exist.")
        return {"TerminologyProperties": stored[0],
                "TerminologyDataLocation": {"RepositoryType": "S3", "Location": ""}}

    @operation("ListTerminologies")
    def list_terminologies(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return {"TerminologyPropertiesList": self.store.terminologies(ctx.scope)}

    @operation("DeleteTerminology")
    def delete_terminology(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if not self.store.delete_terminology(ctx.scope, req["Name"]):
            raise errors.ResourceNotFoundException(f"The resource {req['Name']} does not exist.")
        return {}

    # ------------------------------------------------------------------ batch jobs

    @operation("StartTextTranslationJob")
    def start_text_translation_job(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        content_type = req["InputDataConfig"]["ContentType"]
        if content_type not in _CONTENT_TYPES:
            raise errors.InvalidRequestException(
                f"Unsupported content type {content_type}: fogbank translates text/plain and text/html.")
        engine = self._engine()
        source = req["SourceLanguageCode"]
        targets = req["TargetLanguageCodes"]
        if source != "auto":
            for target in targets:
                if engine.route(source, target) is None:
                    raise errors.UnsupportedLanguagePairException(
                        f"Unsupported language pair: {source} to {target}.", SourceLanguageCode=source,
                        TargetLanguageCode=target)
        self._terminologies(ctx.scope, req.get("TerminologyNames") or [])
        job_id = uuid.uuid4().hex
        job: dict[str, Any] = {"JobId": job_id, "JobStatus": "SUBMITTED", "SourceLanguageCode": source,
                               "TargetLanguageCodes": targets, "TerminologyNames": req.get("TerminologyNames") or [],
                               "ParallelDataNames": req.get("ParallelDataNames") or [], "SubmittedTime": time.time(),
                               "InputDataConfig": req["InputDataConfig"], "OutputDataConfig": req["OutputDataConfig"],
                               "DataAccessRoleArn": req["DataAccessRoleArn"],
                               "JobDetails": {"TranslatedDocumentsCount": 0, "DocumentsWithErrorsCount": 0,
                                              "InputDocumentsCount": 0}}
        if req.get("JobName"):
            job["JobName"] = req["JobName"]
        if req.get("Settings"):
            job["Settings"] = req["Settings"]
        stored = self.store.add_job(ctx.scope, job, req["ClientToken"])
        if stored["JobId"] == job_id:
            self._executor.submit(self._run_job, ctx.scope, job_id)
        return {"JobId": stored["JobId"], "JobStatus": stored["JobStatus"]}

    @operation("DescribeTextTranslationJob")
    def describe_text_translation_job(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        job = self.store.job(ctx.scope, req["JobId"])
        if job is None:
            raise errors.ResourceNotFoundException(f"The job {req['JobId']} does not exist.")
        return {"TextTranslationJobProperties": job}

    @operation("ListTextTranslationJobs")
    def list_text_translation_jobs(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        wanted = req.get("Filter") or {}
        jobs = [j for j in self.store.jobs(ctx.scope)
                if (not wanted.get("JobName") or j.get("JobName") == wanted["JobName"])
                and (not wanted.get("JobStatus") or j["JobStatus"] == wanted["JobStatus"])]
        return {"TextTranslationJobPropertiesList": jobs}

    @operation("StopTextTranslationJob")
    def stop_text_translation_job(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        job = self.store.job(ctx.scope, req["JobId"])
        if job is None:
            raise errors.ResourceNotFoundException(f"The job {req['JobId']} does not exist.")
        if job["JobStatus"] in ("SUBMITTED", "IN_PROGRESS"):
            job = self.store.update_job(ctx.scope, req["JobId"], JobStatus="STOP_REQUESTED") or job
        return {"JobId": job["JobId"], "JobStatus": job["JobStatus"]}

    def _run_job(self, scope: tuple[str, str], job_id: str) -> None:
        from fogbank.services.s3.local_access import S3LocalAccess, S3LocalError, split_uri

        job = self.store.job(scope, job_id)
        if job is None or job["JobStatus"] != "SUBMITTED" or self.s3 is None:
            if job is not None and job["JobStatus"] == "STOP_REQUESTED":
                self.store.update_job(scope, job_id, JobStatus="STOPPED", EndTime=time.time())
            return
        self.store.update_job(scope, job_id, JobStatus="IN_PROGRESS")
        access = S3LocalAccess(self.s3)
        account = scope[0]
        fmt = _CONTENT_TYPES[job["InputDataConfig"]["ContentType"]]
        translated = errors_count = 0
        try:
            in_bucket, in_prefix = split_uri(job["InputDataConfig"]["S3Uri"])
            out_bucket, out_prefix = split_uri(job["OutputDataConfig"]["S3Uri"])
            if out_prefix and not out_prefix.endswith("/"):
                out_prefix += "/"
            folder = f"{out_prefix}{account}-TranslateText-{job_id}/"
            objects = [o for o in access.list(account, in_bucket, in_prefix) if not o.key.endswith("/")]
            self.store.update_job(scope, job_id, JobDetails={"TranslatedDocumentsCount": 0,
                                                             "DocumentsWithErrorsCount": 0,
                                                             "InputDocumentsCount": len(objects)})
            details: dict[str, list[dict[str, Any]]] = {t: [] for t in job["TargetLanguageCodes"]}
            for ref in objects:
                current = self.store.job(scope, job_id) or {}
                if current.get("JobStatus") == "STOP_REQUESTED":
                    self.store.update_job(scope, job_id, JobStatus="STOPPED", EndTime=time.time())
                    return
                relative = ref.key[len(in_prefix):].lstrip("/") if in_prefix else ref.key
                ok = True
                for target in job["TargetLanguageCodes"]:
                    try:
                        if ref.size > BATCH_DOCUMENT_LIMIT:
                            raise errors.LimitExceededException("The document exceeds 20 MB.")
                        text = access.read(account, in_bucket, ref.key).decode("utf-8")
                        result, source, _, _ = self._translate(scope, text, job["SourceLanguageCode"], target,
                                                               job["TerminologyNames"], job.get("Settings") or {}, fmt)
                        access.put(account, out_bucket, f"{folder}{target}.{relative}", result.encode("utf-8"),
                                   job["InputDataConfig"]["ContentType"])
                        details[target].append({"sourceFile": ref.key, "targetFile": f"{target}.{relative}",
                                                "sourceLanguage": source})
                    except (errors.AwsError, UnicodeDecodeError, S3LocalError) as exc:
                        ok = False
                        message = exc.message if isinstance(exc, errors.AwsError) else str(exc)
                        details[target].append({"sourceFile": ref.key, "error": message})
                if ok:
                    translated += 1
                else:
                    errors_count += 1
                self.store.update_job(scope, job_id, JobDetails={"TranslatedDocumentsCount": translated,
                                                                 "DocumentsWithErrorsCount": errors_count,
                                                                 "InputDocumentsCount": len(objects)})
            for target, files in details.items():
                access.put(account, out_bucket, f"{folder}details/{target}.details.json",
                           json.dumps({"sourceLanguageCode": job["SourceLanguageCode"], "targetLanguageCode": target,
                                       "details": files}).encode("utf-8"), "application/json")
            status = "COMPLETED" if errors_count == 0 else ("FAILED" if translated == 0 else "COMPLETED_WITH_ERROR")
            changes: dict[str, Any] = {"JobStatus": status, "EndTime": time.time()}
            if errors_count:
                changes["Message"] = f"{errors_count} of {len(objects)} documents could not be translated; see " \
                                     "the details folder."
            if not objects:
                changes = {"JobStatus": "FAILED", "EndTime": time.time(),
                           "Message": "The input location contains no documents."}
            self.store.update_job(scope, job_id, **changes)
        except S3LocalError as exc:
            self.store.update_job(scope, job_id, JobStatus="FAILED", EndTime=time.time(), Message=str(exc))
        except Exception as exc:
            log.exception("translation job %s failed", job_id)
            self.store.update_job(scope, job_id, JobStatus="FAILED", EndTime=time.time(),
                                  Message=f"Internal failure: {type(exc).__name__}")
