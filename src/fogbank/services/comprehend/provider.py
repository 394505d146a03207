"""Amazon Comprehend: the operations, answered by the models in the shared ModelRegistry.

Real-time operations (Detect*, Batch*, ContainsPiiEntities, ClassifyDocument) run in the request's worker
thread, with each model's concurrency bounded by the registry. Asynchronous jobs, classifier training and
endpoint deployment run in the background (jobs.py, classifiers.py) with their state in SQLite.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.engines.models import keyphrases, language_id, nlp, pii, sentiment
from fogbank.engines.models.registry import ModelRegistry, ModelUnavailable
from fogbank.protocol.dispatch import Provider, operation
from fogbank.services.comprehend import errors, limits
from fogbank.services.comprehend.analysis import Analyzer
from fogbank.services.comprehend.classifiers import CLASSIFIER, CLASSIFY_LIMIT, ENDPOINT, Classifiers, public
from fogbank.services.comprehend.jobs import JOB_TYPES, JobRunner, JobType
from fogbank.services.comprehend.s3io import S3AccessError, S3Io
from fogbank.services.comprehend.store import ComprehendStore, Resource
from fogbank.services.s3.provider import S3Provider

MAX_TAGS = 50
# The registry's capabilities that Comprehend uses (the registry is shared with other services).
_OWN_CAPABILITIES = (language_id.CAPABILITY, sentiment.CAPABILITY, "nlp-", "pii-", keyphrases.CAPABILITY)


class ComprehendProvider(Provider):
    services = ("comprehend",)

    def __init__(self, config: Config, models: ModelRegistry, s3: S3Provider) -> None:
        self.config = config
        self.models = models
        self.store = ComprehendStore(config.service_dir("comprehend"))
        self.s3io = S3Io(s3)
        self.analyzer = Analyzer(models)
        language_id.register(models)
        sentiment.register(models)
        nlp.register(models, "en")
        pii.register(models)
        keyphrases.register(models)
        self.classifiers = Classifiers(self.store, self.s3io, models)
        self.jobs = JobRunner(self.store, self.s3io, self.analyzer, self.classifiers.predict_model)
        self.jobs.recover()
        self.classifiers.recover()

    def close(self) -> None:
        self.jobs.close()
        self.classifiers.close()
        self.store.close()

    def health(self) -> dict[str, Any]:
        running = len(self.store.by_status(("SUBMITTED", "IN_PROGRESS", "TRAINING")))
        return {"state": "running", "jobs_running": running,
                "models": {k: v["model"] + (" (loaded)" if v["loaded"] else "") for k, v in self.models.status().items()
                           if k.startswith(_OWN_CAPABILITIES)}}

    # ------------------------------------------------------------------ shared helpers

    def _run(self, kind: str, language: str, texts: list[str]) -> list[dict[str, Any]]:
        method: Callable[[str, list[str]], list[dict[str, Any]]] = getattr(self.analyzer, kind)
        try:
            return method(language, texts)
        except ModelUnavailable as exc:
            raise errors.InternalServerException(f"The model for this request is not available: {exc}") from exc

    def _detect(self, req: dict[str, Any], kind_name: str, operation_name: str) -> dict[str, Any]:
        kind = limits.KINDS[kind_name]
        text = _text(req)
        limits.check_size(text, kind.single_limit)
        language = req.get("LanguageCode") or ""
        if kind_name != "dominant_language":
            limits.check_language(self.models, kind, language, operation_name)
        return self._run(kind_name, language, [text])[0]

    def _batch(self, req: dict[str, Any], kind_name: str, operation_name: str) -> dict[str, Any]:
        kind = limits.KINDS[kind_name]
        texts = req["TextList"]
        if len(texts) > limits.BATCH_SIZE_LIMIT:
            raise errors.BatchSizeLimitExceededException(
                f"The number of documents in the request exceeds the limit of {limits.BATCH_SIZE_LIMIT}.")
        language = req.get("LanguageCode") or ""
        if kind_name != "dominant_language":
            limits.check_language(self.models, kind, language, operation_name)
        error_list: list[dict[str, Any]] = []
        good: list[tuple[int, str]] = []
        for index, text in enumerate(texts):
            message = limits.size_error(text, limits.BATCH_DOCUMENT_LIMIT)
            if message:
                error_list.append({"Index": index, "ErrorCode": "TEXT_SIZE_LIMIT_EXCEEDED", "ErrorMessage": message})
            elif not text.strip():
                error_list.append({"Index": index, "ErrorCode": "INVALID_DOCUMENT",
                                   "ErrorMessage": "The document is empty"})
            else:
                good.append((index, text))
        results = self._run(kind_name, language, [t for _, t in good]) if good else []
        result_list = [{"Index": index, **result} for (index, _), result in zip(good, results, strict=True)]
        return {"ResultList": result_list, "ErrorList": error_list}

    # ------------------------------------------------------------------ real-time analysis

    @operation("DetectDominantLanguage")
    def detect_dominant_language(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._detect(req, "dominant_language", "DetectDominantLanguage")

    @operation("DetectSentiment")
    def detect_sentiment(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._detect(req, "sentiment", "DetectSentiment")

    @operation("DetectKeyPhrases")
    def detect_key_phrases(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._detect(req, "key_phrases", "DetectKeyPhrases")

    @operation("DetectEntities")
    def detect_entities(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if req.get("EndpointArn"):
            endpoint = self.store.get(req["EndpointArn"])
            if endpoint is None or endpoint.account != ctx.account_id:
                raise errors.ResourceNotFoundException(f"Could not find the specified endpoint: {req['EndpointArn']}")
            raise errors.InvalidRequestException("The endpoint serves a document classifier, not an entity "
                                                 "recognizer; fogbank has no custom entity recognizers yet")
        if not req.get("LanguageCode"):
            raise errors.InvalidRequestException("LanguageCode is required when no EndpointArn is given")
        return self._detect(req, "entities", "DetectEntities")

    @operation("DetectPiiEntities")
    def detect_pii_entities(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._detect(req, "pii_entities", "DetectPiiEntities")

    @operation("ContainsPiiEntities")
    def contains_pii_entities(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._detect(req, "contains_pii", "ContainsPiiEntities")

    @operation("DetectSyntax")
    def detect_syntax(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._detect(req, "syntax", "DetectSyntax")

    @operation("DetectTargetedSentiment")
    def detect_targeted_sentiment(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._detect(req, "targeted_sentiment", "DetectTargetedSentiment")

    @operation("BatchDetectDominantLanguage")
    def batch_detect_dominant_language(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._batch(req, "dominant_language", "BatchDetectDominantLanguage")

    @operation("BatchDetectSentiment")
    def batch_detect_sentiment(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._batch(req, "sentiment", "BatchDetectSentiment")

    @operation("BatchDetectKeyPhrases")
    def batch_detect_key_phrases(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._batch(req, "key_phrases", "BatchDetectKeyPhrases")

    @operation("BatchDetectEntities")
    def batch_detect_entities(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._batch(req, "entities", "BatchDetectEntities")

    @operation("BatchDetectSyntax")
    def batch_detect_syntax(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._batch(req, "syntax", "BatchDetectSyntax")

    @operation("BatchDetectTargetedSentiment")
    def batch_detect_targeted_sentiment(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._batch(req, "targeted_sentiment", "BatchDetectTargetedSentiment")

    # ------------------------------------------------------------------ asynchronous jobs

    def _start_job(self, stem: str, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        job_type = JOB_TYPES[stem]
        token = req.get("ClientRequestToken")
        if token:
            for existing in self.store.list_kind(ctx.account_id, ctx.region, job_type.arn_kind):
                if existing.props.get("_token") == token:
                    return _start_output(existing)
        language = req.get("LanguageCode", "")
        if job_type.analysis in limits.KINDS:
            limits.check_language(self.models, limits.KINDS[job_type.analysis], language, f"Start{stem}Job")
        if req.get("EntityRecognizerArn"):
            raise errors.ResourceNotFoundException("fogbank has no custom entity recognizers: "
                                                   f"{req['EntityRecognizerArn']}")
        props: dict[str, Any] = {}
        if stem == "DocumentClassification":
            if not req.get("DocumentClassifierArn"):
                raise errors.InvalidRequestException("DocumentClassifierArn is required")
            model = self.store.get(req["DocumentClassifierArn"])
            if model is None or model.kind != CLASSIFIER or model.account != ctx.account_id:
                raise errors.ResourceNotFoundException(f"Could not find the specified classifier: "
                                                       f"{req['DocumentClassifierArn']}")
            if model.status not in ("TRAINED", "TRAINED_WITH_WARNING"):
                raise errors.ResourceUnavailableException(f"The classifier is not trained (status {model.status})")
            props["DocumentClassifierArn"] = model.arn
        input_config = dict(req["InputDataConfig"])
        input_config.setdefault("InputFormat", "ONE_DOC_PER_FILE")
        try:
            self.s3io.check_bucket(ctx.account_id, ctx.region, input_config["S3Uri"])
            self.s3io.check_bucket(ctx.account_id, ctx.region, req["OutputDataConfig"]["S3Uri"])
        except S3AccessError as exc:
            raise errors.InvalidRequestException(f"The input or output location cannot be used: {exc}") from exc
        job_id = uuid.uuid4().hex
        arn = f"arn:aws:comprehend:{ctx.region}:{ctx.account_id}:{job_type.arn_kind}/{job_id}"
        output_uri = req["OutputDataConfig"]["S3Uri"]
        base = output_uri if output_uri.endswith("/") else output_uri + "/"
        folder = f"{base}{ctx.account_id}-{job_type.tag}-{job_id}/output/"
        now = time.time()
        props.update({
            "JobId": job_id, "JobArn": arn, "JobStatus": "SUBMITTED", "SubmitTime": now,
            "InputDataConfig": input_config,
            "OutputDataConfig": {**req["OutputDataConfig"],
                                 "S3Uri": folder if stem == "PiiEntities" else folder + "output.tar.gz"},
            "DataAccessRoleArn": req["DataAccessRoleArn"],
        })
        for member in ("JobName", "LanguageCode", "VolumeKmsKeyId", "VpcConfig", "Mode", "RedactionConfig",
                       "NumberOfTopics"):
            if req.get(member) is not None:
                props[member] = req[member]
        if stem == "Topics":
            props.setdefault("NumberOfTopics", 10)
        if stem == "PiiEntities" and props.get("Mode") == "ONLY_REDACTION" and not props.get("RedactionConfig"):
            props["RedactionConfig"] = {"PiiEntityTypes": ["ALL"], "MaskMode": "MASK", "MaskCharacter": "*"}
        if token:
            props["_token"] = token
        props["_output"] = folder
        resource = Resource(arn, job_type.arn_kind, ctx.account_id, ctx.region, job_id, "SUBMITTED", now, props)
        self.store.insert(resource)
        if req.get("Tags"):
            self._put_tags(arn, req["Tags"])
        self.jobs.submit(arn)
        return _start_output(resource)

    def _job(self, job_type: JobType, ctx: RequestContext, job_id: str) -> Resource:
        found = self.store.find(ctx.account_id, ctx.region, job_type.arn_kind, job_id)
        if found is None:
            raise errors.JobNotFoundException(f"Could not find the specified job: {job_id}")
        return found

    def _describe_job(self, stem: str, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        job_type = JOB_TYPES[stem]
        return {job_type.props_key: public(self._job(job_type, ctx, req["JobId"]).props)}

    def _list_jobs(self, stem: str, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        job_type = JOB_TYPES[stem]
        flt = req.get("Filter") or {}
        if sum(1 for k in ("JobName", "JobStatus") if flt.get(k)) > 1 or (
                flt.get("SubmitTimeBefore") and flt.get("SubmitTimeAfter")):
            raise errors.InvalidFilterException("Only one filter can be set at a time")
        items = [r.props for r in self.store.list_kind(ctx.account_id, ctx.region, job_type.arn_kind)
                 if _matches(r, flt, "JobName", "JobStatus", "SubmitTime")]
        return _page(job_type.list_key, [public(p) for p in items], req)

    def _stop_job(self, stem: str, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        job_type = JOB_TYPES[stem]
        resource = self._job(job_type, ctx, req["JobId"])
        if resource.status in ("COMPLETED", "FAILED", "STOPPED"):
            raise errors.InvalidRequestException(f"The job is {resource.status} and cannot be stopped")
        updated = self.store.update(resource.arn, "STOP_REQUESTED", expect=("SUBMITTED", "IN_PROGRESS"))
        status = updated.status if updated else (self.store.get(resource.arn) or resource).status
        return {"JobId": resource.rid, "JobStatus": status}

    # ------------------------------------------------------------------ custom classification

    @operation("CreateDocumentClassifier")
    def create_document_classifier(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self.classifiers.create(ctx, req)

    @operation("DescribeDocumentClassifier")
    def describe_document_classifier(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        resource = self.classifiers.get(ctx, req["DocumentClassifierArn"])
        return {"DocumentClassifierProperties": public(resource.props)}

    @operation("ListDocumentClassifiers")
    def list_document_classifiers(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        flt = dict(req.get("Filter") or {})
        name = flt.pop("DocumentClassifierName", None)
        items = [public(r.props) for r in self.store.list_kind(ctx.account_id, ctx.region, CLASSIFIER)
                 if (not name or r.rid.split("/", 1)[0] == name) and _matches(r, flt, "", "Status", "SubmitTime")]
        return _page("DocumentClassifierPropertiesList", items, req)

    @operation("ListDocumentClassifierSummaries")
    def list_document_classifier_summaries(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return _page("DocumentClassifierSummariesList", self.classifiers.summaries(ctx), req)

    @operation("StopTrainingDocumentClassifier")
    def stop_training_document_classifier(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self.classifiers.stop(ctx, req["DocumentClassifierArn"])
        return {}

    @operation("DeleteDocumentClassifier")
    def delete_document_classifier(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self.classifiers.delete(ctx, req["DocumentClassifierArn"])
        self.models.unregister(f"classifier:{req['DocumentClassifierArn']}")
        return {}

    @operation("CreateEndpoint")
    def create_endpoint(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self.classifiers.create_endpoint(ctx, req)

    @operation("DescribeEndpoint")
    def describe_endpoint(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return {"EndpointProperties": public(self.classifiers.endpoint(ctx, req["EndpointArn"]).props)}

    @operation("ListEndpoints")
    def list_endpoints(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        flt = req.get("Filter") or {}
        items = [public(r.props) for r in self.store.list_kind(ctx.account_id, ctx.region, ENDPOINT)
                 if (not flt.get("ModelArn") or r.props.get("ModelArn") == flt["ModelArn"])
                 and _matches(r, {k: v for k, v in flt.items() if k != "ModelArn"}, "", "Status", "CreationTime")]
        return _page("EndpointPropertiesList", items, req)

    @operation("UpdateEndpoint")
    def update_endpoint(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self.classifiers.update_endpoint(ctx, req)

    @operation("DeleteEndpoint")
    def delete_endpoint(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self.classifiers.delete_endpoint(ctx, req["EndpointArn"])
        return {}

    @operation("ClassifyDocument")
    def classify_document(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        text = _text(req)
        limits.check_size(text, CLASSIFY_LIMIT)
        return self.classifiers.classify(ctx, req["EndpointArn"], text)

    # ------------------------------------------------------------------ tags

    def _tagged(self, ctx: RequestContext, arn: str) -> Resource:
        resource = self.store.get(arn)
        if resource is None or resource.account != ctx.account_id:
            raise errors.ResourceNotFoundException(f"Could not find the specified resource: {arn}")
        return resource

    def _put_tags(self, arn: str, tags: list[dict[str, str]]) -> None:
        merged = {**self.store.tags(arn), **{t["Key"]: t.get("Value", "") for t in tags}}
        if len(merged) > MAX_TAGS:
            raise errors.TooManyTagsException(f"A resource can have at most {MAX_TAGS} tags")
        self.store.set_tags(arn, {t["Key"]: t.get("Value", "") for t in tags})

    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._tagged(ctx, req["ResourceArn"])
        self._put_tags(req["ResourceArn"], req["Tags"])
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._tagged(ctx, req["ResourceArn"])
        if len(req["TagKeys"]) > MAX_TAGS:
            raise errors.TooManyTagKeysException(f"At most {MAX_TAGS} tag keys can be removed at once")
        self.store.remove_tags(req["ResourceArn"], req["TagKeys"])
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._tagged(ctx, req["ResourceArn"])
        tags = self.store.tags(req["ResourceArn"])
        return {"ResourceArn": req["ResourceArn"], "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


def _text(req: dict[str, Any]) -> str:
    """The request's text: Text, or Bytes holding UTF-8 text (fogbank reads no PDF, Word or images)."""
    if req.get("Text") is not None:
        return str(req["Text"])
    data = req.get("Bytes")
    if data is None:
        raise errors.InvalidRequestException("Either Text or Bytes must be given")
    if isinstance(data, str):
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise errors.InvalidRequestException("Bytes is not valid base64") from exc
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.InvalidRequestException("The document is not UTF-8 text; fogbank does not read PDF, Word or "
                                             "image documents", Reason="INVALID_DOCUMENT") from exc
    if not text.strip():
        raise errors.InvalidRequestException("The document is empty", Reason="INVALID_DOCUMENT")
    return text


def _start_output(resource: Resource) -> dict[str, Any]:
    out: dict[str, Any] = {"JobId": resource.rid, "JobArn": resource.arn, "JobStatus": resource.status}
    if resource.props.get("DocumentClassifierArn"):
        out["DocumentClassifierArn"] = resource.props["DocumentClassifierArn"]
    return out


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def _matches(resource: Resource, flt: dict[str, Any], name_key: str, status_key: str, time_key: str) -> bool:
    props = resource.props
    if name_key and flt.get(name_key) and props.get(name_key) != flt[name_key]:
        return False
    if flt.get(status_key) and resource.status != flt[status_key]:
        return False
    for suffix, before in (("Before", True), ("After", False)):
        limit = flt.get(f"{time_key}{suffix}")
        if limit is not None:
            value = float(props.get(time_key, resource.created))
            if (before and value >= _epoch(limit)) or (not before and value <= _epoch(limit)):
                return False
    return True


def _page(member: str, items: list[dict[str, Any]], req: dict[str, Any]) -> dict[str, Any]:
    size = int(req.get("MaxResults") or 100)
    start = 0
    if req.get("NextToken"):
        try:
            start = int(json.loads(base64.urlsafe_b64decode(req["NextToken"]).decode())["offset"])
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise errors.InvalidRequestException("The NextToken is not valid") from exc
    out: dict[str, Any] = {member: items[start:start + size]}
    if start + size < len(items):
        out["NextToken"] = base64.urlsafe_b64encode(json.dumps({"offset": start + size}).encode()).decode()
    return out


def _job_operations() -> None:
    """Start/Describe/List/Stop for each job family, bound as operations of the provider."""
    for stem in JOB_TYPES:
        noun = "DocumentClassification" if stem == "DocumentClassification" else f"{stem}Detection"

        def start(self: ComprehendProvider, ctx: RequestContext, req: dict[str, Any], _s: str = stem) -> dict[str, Any]:
            return self._start_job(_s, ctx, req)

        def describe(self: ComprehendProvider, ctx: RequestContext, req: dict[str, Any],
                     _s: str = stem) -> dict[str, Any]:
            return self._describe_job(_s, ctx, req)

        def list_(self: ComprehendProvider, ctx: RequestContext, req: dict[str, Any], _s: str = stem) -> dict[str, Any]:
            return self._list_jobs(_s, ctx, req)

        def stop(self: ComprehendProvider, ctx: RequestContext, req: dict[str, Any], _s: str = stem) -> dict[str, Any]:
            return self._stop_job(_s, ctx, req)

        setattr(ComprehendProvider, f"start_{noun}_job", operation(f"Start{noun}Job")(start))
        setattr(ComprehendProvider, f"describe_{noun}_job", operation(f"Describe{noun}Job")(describe))
        setattr(ComprehendProvider, f"list_{noun}_jobs", operation(f"List{noun}Jobs")(list_))
        if stem not in ("DocumentClassification", "Topics"):
            setattr(ComprehendProvider, f"stop_{noun}_job", operation(f"Stop{noun}Job")(stop))


_job_operations()
