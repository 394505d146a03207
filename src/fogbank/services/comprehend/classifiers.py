"""Custom classification: document classifiers trained from a CSV in S3, and the endpoints that serve them.

CreateDocumentClassifier reads COMPREHEND_CSV training data (``label,text`` rows; several labels joined by
``LabelDelimiter`` in MULTI_LABEL mode) from a file or every file under a prefix, trains in the background
(SUBMITTED -> TRAINING -> TRAINED, or IN_ERROR with the reason), holds out 10% (or reads TestS3Uri) and
reports metrics as Comprehend does. When OutputDataConfig is given, the confusion matrix is written to
``<S3Uri>/<account>-CLR-<id>/output/output.tar.gz``. CreateEndpoint loads a trained model into the model
registry under ``endpoint:<arn>``; ClassifyDocument answers from it.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fogbank.context import RequestContext
from fogbank.engines.models import classifier as engine
from fogbank.engines.models.registry import ModelRegistry
from fogbank.services.comprehend import errors
from fogbank.services.comprehend.jobs import _tar_gz
from fogbank.services.comprehend.s3io import S3AccessError, S3Io, split_uri
from fogbank.services.comprehend.store import ComprehendStore, Resource

log = logging.getLogger(__name__)

CLASSIFIER = "document-classifier"
ENDPOINT = "document-classifier-endpoint"
MIN_DOCS_PER_LABEL = 10
CLASSIFY_LIMIT = 10_000
_PRIVATE = "_"


def public(props: dict[str, Any]) -> dict[str, Any]:
    """Describe* output: the stored properties less fogbank's own bookkeeping (keys starting with _)."""
    return {k: v for k, v in props.items() if not k.startswith(_PRIVATE)}


class Classifiers:
    def __init__(self, store: ComprehendStore, s3: S3Io, models: ModelRegistry) -> None:
        self.store = store
        self.s3 = s3
        self.models = models
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="comprehend-train")
        self._closing = threading.Event()

    def close(self) -> None:
        self._closing.set()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def recover(self) -> None:
        for resource in self.store.by_status(("SUBMITTED", "TRAINING", "STOP_REQUESTED", "CREATING", "UPDATING")):
            now = time.time()
            if resource.kind == CLASSIFIER:
                if resource.status == "STOP_REQUESTED":
                    self.store.update(resource.arn, "STOPPED", EndTime=now)
                else:
                    self.store.update(resource.arn, "IN_ERROR", EndTime=now,
                                      Message="The fogbank server restarted while the classifier was training")
            elif resource.kind == ENDPOINT:
                self.pool.submit(self._deploy, resource.arn)

    # ------------------------------------------------------------------ classifiers

    def create(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["DocumentClassifierName"]
        version = req.get("VersionName")
        arn = f"arn:aws:comprehend:{ctx.region}:{ctx.account_id}:{CLASSIFIER}/{name}"
        if version:
            arn += f"/version/{version}"
        config = dict(req["InputDataConfig"])
        if config.get("DataFormat", "COMPREHEND_CSV") != "COMPREHEND_CSV":
            raise errors.InvalidRequestException("fogbank trains classifiers from COMPREHEND_CSV data only",
                                                 Reason="INVALID_DOCUMENT")
        if not config.get("S3Uri"):
            raise errors.InvalidRequestException("InputDataConfig.S3Uri is required for COMPREHEND_CSV data")
        config.setdefault("DataFormat", "COMPREHEND_CSV")
        mode = req.get("Mode", "MULTI_CLASS")
        if mode == "MULTI_LABEL":
            config.setdefault("LabelDelimiter", "|")
        try:
            self.s3.check_bucket(ctx.account_id, ctx.region, config["S3Uri"])
        except S3AccessError as exc:
            raise errors.InvalidRequestException(f"The input location cannot be read: {exc}") from exc
        now = time.time()
        props: dict[str, Any] = {
            "DocumentClassifierArn": arn, "LanguageCode": req["LanguageCode"], "Status": "SUBMITTED",
            "SubmitTime": now, "InputDataConfig": config, "DataAccessRoleArn": req["DataAccessRoleArn"],
            "Mode": mode,
        }
        for member in ("VersionName", "VolumeKmsKeyId", "ModelKmsKeyId", "VpcConfig"):
            if req.get(member):
                props[member] = req[member]
        if req.get("OutputDataConfig", {}).get("S3Uri"):
            props["_output"] = req["OutputDataConfig"]["S3Uri"]
        rid = f"{name}/{version or ''}"
        resource = Resource(arn, CLASSIFIER, ctx.account_id, ctx.region, rid, "SUBMITTED", now, props)
        if not self.store.insert(resource):
            raise errors.ResourceInUseException(f"A classifier with the name {name}"
                                                + (f" and version {version}" if version else "") + " already exists")
        if req.get("Tags"):
            self.store.set_tags(arn, {t["Key"]: t.get("Value", "") for t in req["Tags"]})
        self.pool.submit(self._train, arn)
        return {"DocumentClassifierArn": arn}

    def get(self, ctx: RequestContext, arn: str) -> Resource:
        resource = self.store.get(arn)
        if resource is None or resource.kind != CLASSIFIER or resource.account != ctx.account_id:
            raise errors.ResourceNotFoundException(f"Could not find the specified classifier: {arn}")
        return resource

    def stop(self, ctx: RequestContext, arn: str) -> None:
        resource = self.get(ctx, arn)
        if resource.status in ("SUBMITTED", "TRAINING"):
            self.store.update(arn, "STOP_REQUESTED", expect=("SUBMITTED", "TRAINING"))

    def delete(self, ctx: RequestContext, arn: str) -> None:
        resource = self.get(ctx, arn)
        for endpoint in self.store.list_kind(ctx.account_id, ctx.region, ENDPOINT):
            if arn in (endpoint.props.get("ModelArn"), endpoint.props.get("DesiredModelArn")):
                raise errors.ResourceInUseException(f"The classifier is in use by the endpoint "
                                                    f"{endpoint.props['EndpointArn']}")
        if resource.status in ("SUBMITTED", "TRAINING"):
            raise errors.ResourceInUseException("The classifier is still training; stop it first")
        self.store.delete(arn)
        model_file = resource.props.get("_model")
        if model_file:
            (self.store.models_dir / model_file).unlink(missing_ok=True)

    def _stopping(self, arn: str) -> bool:
        current = self.store.get(arn)
        return self._closing.is_set() or current is None or current.status == "STOP_REQUESTED"

    def _train(self, arn: str) -> None:
        resource = self.store.update(arn, "TRAINING", expect=("SUBMITTED",), TrainingStartTime=time.time())
        if resource is None:
            if self._stopping(arn):
                self.store.update(arn, "STOPPED", EndTime=time.time())
            return
        try:
            self._train_resource(resource)
        except _TrainingError as exc:
            self.store.update(arn, "IN_ERROR", EndTime=time.time(), Message=str(exc))
        except Exception as exc:
            log.exception("training %s failed", arn)
            self.store.update(arn, "IN_ERROR", EndTime=time.time(), Message=f"Internal error: {exc}")

    def _read_csv(self, resource: Resource, uri: str) -> tuple[list[str], list[list[str]]]:
        props = resource.props
        delimiter = props["InputDataConfig"].get("LabelDelimiter", "|")
        multi = props["Mode"] == "MULTI_LABEL"
        try:
            objects = self.s3.list(resource.account, resource.region, uri)
            if not objects:
                raise _TrainingError(f"No training data was found at {uri}")
            documents: list[str] = []
            labels: list[list[str]] = []
            for obj in objects:
                data = self.s3.read(resource.account, resource.region, obj)
                try:
                    text = data.decode("utf-8-sig")
                except UnicodeDecodeError as exc:
                    raise _TrainingError(f"The training file {obj.key} is not UTF-8 text") from exc
                for row_number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
                    if not row or not any(cell.strip() for cell in row):
                        continue
                    if len(row) < 2:
                        raise _TrainingError(f"Line {row_number} of {obj.key} has no document text: each line "
                                             "must be <label>,<text>")
                    names = [n.strip() for n in (row[0].split(delimiter) if multi else [row[0]]) if n.strip()]
                    if not names:
                        raise _TrainingError(f"Line {row_number} of {obj.key} has an empty label")
                    documents.append(",".join(row[1:]))
                    labels.append(names)
        except S3AccessError as exc:
            raise _TrainingError(f"The training data could not be read: {exc}") from exc
        return documents, labels

    def _train_resource(self, resource: Resource) -> None:
        props = resource.props
        documents, labels = self._read_csv(resource, props["InputDataConfig"]["S3Uri"])
        counts: dict[str, int] = {}
        for names in labels:
            for name in names:
                counts[name] = counts.get(name, 0) + 1
        if len(counts) < 2:
            raise _TrainingError("The training data must contain at least 2 different labels")
        few = sorted(name for name, n in counts.items() if n < MIN_DOCS_PER_LABEL)
        if few:
            raise _TrainingError(f"Each label needs at least {MIN_DOCS_PER_LABEL} training documents; too few for: "
                                 + ", ".join(few))
        test_docs = test_labels = None
        if props["InputDataConfig"].get("TestS3Uri"):
            test_docs, test_labels = self._read_csv(resource, props["InputDataConfig"]["TestS3Uri"])
        if self._stopping(resource.arn):
            self.store.update(resource.arn, "STOPPED", EndTime=time.time())
            return
        try:
            model = engine.train(documents, labels, props["Mode"] == "MULTI_LABEL",
                                 test_documents=test_docs, test_labels=test_labels)
        except ValueError as exc:
            raise _TrainingError(str(exc)) from exc
        if self._stopping(resource.arn):
            self.store.update(resource.arn, "STOPPED", EndTime=time.time())
            return
        path = self.store.new_model_path()
        engine.save(model, path)
        metrics = model.metrics
        assert metrics is not None
        metadata = {
            "NumberOfLabels": len(model.labels), "NumberOfTrainedDocuments": model.train_count,
            "NumberOfTestDocuments": model.test_count,
            "EvaluationMetrics": {"Accuracy": metrics.accuracy, "Precision": metrics.precision,
                                  "Recall": metrics.recall, "F1Score": metrics.f1,
                                  "MicroPrecision": metrics.micro_precision, "MicroRecall": metrics.micro_recall,
                                  "MicroF1Score": metrics.micro_f1, "HammingLoss": metrics.hamming_loss},
        }
        output = None
        if props.get("_output"):
            output = self._write_output(resource, model)
        now = time.time()
        self.store.update(resource.arn, "TRAINED", expect=("TRAINING",), ClassifierMetadata=metadata,
                          TrainingEndTime=now, EndTime=now, _model=path.name,
                          OutputDataConfig={"S3Uri": output} if output else None)

    def _write_output(self, resource: Resource, model: engine.TrainedClassifier) -> str:
        bucket, prefix = split_uri(resource.props["_output"])
        key = ((prefix if not prefix or prefix.endswith("/") else prefix + "/")
               + f"{resource.account}-CLR-{uuid.uuid4().hex}/output/output.tar.gz")
        matrix = model.confusion or {"type": "multi_label", "labels": model.labels}
        try:
            self.s3.write(resource.account, resource.region, bucket, key,
                          _tar_gz({"confusion_matrix.json": json.dumps(matrix).encode()}), "application/gzip")
        except S3AccessError as exc:
            raise _TrainingError(f"The output location cannot be written: {exc}") from exc
        return f"s3://{bucket}/{key}"

    def summaries(self, ctx: RequestContext) -> list[dict[str, Any]]:
        groups: dict[str, list[Resource]] = {}
        for resource in self.store.list_kind(ctx.account_id, ctx.region, CLASSIFIER):
            groups.setdefault(resource.rid.split("/", 1)[0], []).append(resource)
        out = []
        for name, versions in sorted(groups.items()):
            latest = max(versions, key=lambda r: r.created)
            item: dict[str, Any] = {"DocumentClassifierName": name, "NumberOfVersions": len(versions),
                                    "LatestVersionCreatedAt": latest.created, "LatestVersionStatus": latest.status}
            if latest.props.get("VersionName"):
                item["LatestVersionName"] = latest.props["VersionName"]
            out.append(item)
        return out

    # ------------------------------------------------------------------ endpoints

    def create_endpoint(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["EndpointName"]
        model_arn = req.get("ModelArn")
        if not model_arn:
            raise errors.InvalidRequestException("ModelArn is required: fogbank endpoints serve document classifiers")
        model = self._trained(ctx, model_arn)
        arn = f"arn:aws:comprehend:{ctx.region}:{ctx.account_id}:{ENDPOINT}/{name}"
        now = time.time()
        units = int(req.get("DesiredInferenceUnits", 1))
        props: dict[str, Any] = {"EndpointArn": arn, "Status": "CREATING", "ModelArn": model.arn,
                                 "DesiredModelArn": model.arn, "DesiredInferenceUnits": units,
                                 "CurrentInferenceUnits": 0, "CreationTime": now, "LastModifiedTime": now}
        if req.get("DataAccessRoleArn"):
            props["DataAccessRoleArn"] = props["DesiredDataAccessRoleArn"] = req["DataAccessRoleArn"]
        if not self.store.insert(Resource(arn, ENDPOINT, ctx.account_id, ctx.region, name, "CREATING", now, props)):
            raise errors.ResourceInUseException(f"An endpoint with the name {name} already exists")
        if req.get("Tags"):
            self.store.set_tags(arn, {t["Key"]: t.get("Value", "") for t in req["Tags"]})
        self.pool.submit(self._deploy, arn)
        return {"EndpointArn": arn, "ModelArn": model.arn}

    def _trained(self, ctx: RequestContext, model_arn: str) -> Resource:
        model = self.store.get(model_arn)
        if model is None or model.kind != CLASSIFIER or model.account != ctx.account_id:
            raise errors.ResourceNotFoundException(f"Could not find the specified model: {model_arn}")
        if model.status not in ("TRAINED", "TRAINED_WITH_WARNING"):
            raise errors.ResourceUnavailableException(f"The model {model_arn} is not trained (status {model.status})")
        return model

    def endpoint(self, ctx: RequestContext, arn: str) -> Resource:
        resource = self.store.get(arn)
        if resource is None or resource.kind != ENDPOINT or resource.account != ctx.account_id:
            raise errors.ResourceNotFoundException(f"Could not find the specified endpoint: {arn}")
        return resource

    def update_endpoint(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        resource = self.endpoint(ctx, req["EndpointArn"])
        if resource.status not in ("IN_SERVICE", "FAILED"):
            raise errors.ResourceInUseException(f"The endpoint is {resource.status}; it cannot be updated now")
        changes: dict[str, Any] = {"LastModifiedTime": time.time()}
        if req.get("DesiredModelArn"):
            changes["DesiredModelArn"] = self._trained(ctx, req["DesiredModelArn"]).arn
        if req.get("DesiredInferenceUnits") is not None:
            changes["DesiredInferenceUnits"] = int(req["DesiredInferenceUnits"])
        if req.get("DesiredDataAccessRoleArn"):
            changes["DesiredDataAccessRoleArn"] = req["DesiredDataAccessRoleArn"]
        self.store.update(resource.arn, "UPDATING", **changes)
        self.pool.submit(self._deploy, resource.arn)
        return {"DesiredModelArn": changes.get("DesiredModelArn", resource.props.get("DesiredModelArn"))}

    def delete_endpoint(self, ctx: RequestContext, arn: str) -> None:
        resource = self.endpoint(ctx, arn)
        if resource.status in ("CREATING", "UPDATING"):
            raise errors.ResourceInUseException(f"The endpoint is {resource.status}; wait until it is IN_SERVICE")
        self.models.unregister(_capability(arn))
        self.store.delete(arn)

    def _deploy(self, arn: str) -> None:
        resource = self.store.get(arn)
        if resource is None:
            return
        model = self.store.get(resource.props.get("DesiredModelArn") or resource.props["ModelArn"])
        if model is None or not model.props.get("_model"):
            self.store.update(arn, "FAILED", Message="The model of this endpoint no longer exists")
            return
        capability = _capability(arn)
        self.models.unregister(capability)
        self._register_endpoint(resource, model)
        try:
            self.models.get(capability)
        except Exception as exc:
            self.store.update(arn, "FAILED", Message=f"The model could not be loaded: {exc}")
            return
        self.store.update(arn, "IN_SERVICE", ModelArn=model.arn, Message=None,
                          CurrentInferenceUnits=resource.props.get("DesiredInferenceUnits", 1),
                          DataAccessRoleArn=resource.props.get("DesiredDataAccessRoleArn"),
                          LastModifiedTime=time.time())

    def _register_endpoint(self, endpoint: Resource, model: Resource) -> None:
        path = self.store.models_dir / model.props["_model"]
        self.models.register(_capability(endpoint.arn), f"fogbank classifier {model.arn}", lambda: engine.load(path),
                             "custom document classifier (TF-IDF + logistic regression)",
                             concurrency=max(1, int(endpoint.props.get("DesiredInferenceUnits", 1))))

    def classify(self, ctx: RequestContext, arn: str, text: str) -> dict[str, Any]:
        resource = self.endpoint(ctx, arn)
        if resource.status != "IN_SERVICE" and not (resource.status == "UPDATING"
                                                    and self.models.has(_capability(arn))):
            raise errors.ResourceUnavailableException(f"The endpoint is not ready (status {resource.status})")
        if not self.models.has(_capability(arn)):
            model = self.store.get(resource.props["ModelArn"])  # an endpoint served before a restart
            if model is None or not model.props.get("_model"):
                raise errors.ResourceUnavailableException("The model of this endpoint no longer exists")
            self._register_endpoint(resource, model)
        multi_label, scores = self.predict_endpoint(arn, [text])
        ranked = sorted(scores[0].items(), key=lambda kv: -kv[1])
        member = "Labels" if multi_label else "Classes"
        return {member: [{"Name": name, "Score": score} for name, score in ranked]}

    def predict_endpoint(self, arn: str, texts: list[str]) -> tuple[bool, list[dict[str, float]]]:
        model: engine.TrainedClassifier = self.models.get(_capability(arn))
        return model.multi_label, self.models.run(_capability(arn), lambda m, t: m.predict(t), texts)

    def predict_model(self, model_arn: str, texts: list[str]) -> tuple[bool, list[dict[str, float]]]:
        """For classification jobs: the model's own file, loaded once into the registry."""
        model = self.store.get(model_arn)
        if model is None or not model.props.get("_model"):
            raise ValueError(f"the classifier {model_arn} no longer exists")
        capability = f"classifier:{model_arn}"
        path = self.store.models_dir / model.props["_model"]
        self.models.register(capability, f"fogbank classifier {model_arn}", lambda: engine.load(path),
                             "custom document classifier (TF-IDF + logistic regression)")
        loaded: engine.TrainedClassifier = self.models.get(capability)
        return loaded.multi_label, self.models.run(capability, lambda m, t: m.predict(t), texts)


class _TrainingError(Exception):
    """Training data or settings that cannot produce a classifier; the message is the user's answer."""


def _capability(endpoint_arn: str) -> str:
    return f"endpoint:{endpoint_arn}"
