"""Asynchronous analysis jobs: documents read from S3, analysed in the background, results written to S3.

Output follows Comprehend's layout: ``<OutputDataConfig.S3Uri>/<account>-<TYPE>-<job id>/output/`` holding
``output.tar.gz`` (one JSON line per document, with ``File`` and ``Line``), PII jobs one ``<file>.out`` per
input file, topic jobs ``topic-terms.csv`` and ``doc-topics.csv`` in the archive. A document that cannot be
analysed (too big, not UTF-8) becomes an error line and the job still completes. Jobs run on a small pool;
a job found SUBMITTED or IN_PROGRESS when the server starts failed with the restart, and says so.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fogbank.services.comprehend import limits
from fogbank.services.comprehend.analysis import Analyzer
from fogbank.services.comprehend.s3io import S3AccessError, S3Io, S3Object, split_uri
from fogbank.services.comprehend.store import ComprehendStore, Resource

log = logging.getLogger(__name__)

CHUNK = 16
ACTIVE = ("SUBMITTED", "IN_PROGRESS", "STOP_REQUESTED")


@dataclass(frozen=True)
class JobType:
    """One family of Start/Describe/List/Stop operations."""

    arn_kind: str          # the ARN's resource type, also the store's kind
    props_key: str         # the Describe* output member
    list_key: str          # the List* output member
    analysis: str          # limits.KINDS key, or "classification" / "topics"
    tag: str               # the output folder's job-type tag


JOB_TYPES: dict[str, JobType] = {
    "DominantLanguage": JobType("dominant-language-detection-job", "DominantLanguageDetectionJobProperties",
                                "DominantLanguageDetectionJobPropertiesList", "dominant_language", "LANGUAGE"),
    "Entities": JobType("entities-detection-job", "EntitiesDetectionJobProperties",
                        "EntitiesDetectionJobPropertiesList", "entities", "NER"),
    "KeyPhrases": JobType("key-phrases-detection-job", "KeyPhrasesDetectionJobProperties",
                          "KeyPhrasesDetectionJobPropertiesList", "key_phrases", "KP"),
    "Sentiment": JobType("sentiment-detection-job", "SentimentDetectionJobProperties",
                         "SentimentDetectionJobPropertiesList", "sentiment", "SENTIMENT"),
    "TargetedSentiment": JobType("targeted-sentiment-detection-job", "TargetedSentimentDetectionJobProperties",
                                 "TargetedSentimentDetectionJobPropertiesList", "targeted_sentiment", "TS"),
    "PiiEntities": JobType("pii-entities-detection-job", "PiiEntitiesDetectionJobProperties",
                           "PiiEntitiesDetectionJobPropertiesList", "pii_entities", "PII"),
    "DocumentClassification": JobType("document-classification-job", "DocumentClassificationJobProperties",
                                      "DocumentClassificationJobPropertiesList", "classification", "CLN"),
    "Topics": JobType("topics-detection-job", "TopicsDetectionJobProperties",
                      "TopicsDetectionJobPropertiesList", "topics", "TOPICS"),
}
BY_KIND = {t.arn_kind: t for t in JOB_TYPES.values()}


@dataclass
class Document:
    file: str
    line: int | None
    text: str | None
    error: tuple[str, str] | None = None


class JobStopped(Exception):
    """The job was asked to stop between two chunks of documents."""


class JobRunner:
    def __init__(self, store: ComprehendStore, s3: S3Io, analyzer: Analyzer,
                 classify: Callable[[str, list[str]], tuple[bool, list[dict[str, float]]]], workers: int = 2) -> None:
        self.store = store
        self.s3 = s3
        self.analyzer = analyzer
        self.classify = classify
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="comprehend-job")
        self._closing = threading.Event()

    def close(self) -> None:
        self._closing.set()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def recover(self) -> None:
        """Jobs the previous process left running end now, FAILED (or STOPPED if a stop was asked)."""
        for resource in self.store.by_status(ACTIVE):
            if resource.kind not in BY_KIND:
                continue
            if resource.status == "STOP_REQUESTED":
                self.store.update(resource.arn, "STOPPED", EndTime=time.time())
            else:
                self.store.update(resource.arn, "FAILED", EndTime=time.time(),
                                  Message="INTERNAL_ERROR: the fogbank server restarted while the job was running")

    def submit(self, arn: str) -> None:
        self.pool.submit(self._run, arn)

    # ------------------------------------------------------------------ one job

    def _run(self, arn: str) -> None:
        resource = self.store.update(arn, "IN_PROGRESS", expect=("SUBMITTED",))
        if resource is None:
            current = self.store.get(arn)
            if current is not None and current.status == "STOP_REQUESTED":
                self.store.update(arn, "STOPPED", EndTime=time.time())
            return
        try:
            self._execute(resource)
        except JobStopped:
            if not self._closing.is_set():  # at shutdown the job stays IN_PROGRESS: the next start fails it
                self.store.update(arn, "STOPPED", EndTime=time.time())
        except S3AccessError as exc:
            self.store.update(arn, "FAILED", EndTime=time.time(), Message=str(exc))
        except Exception as exc:
            log.exception("comprehend job %s failed", arn)
            self.store.update(arn, "FAILED", EndTime=time.time(), Message=f"INTERNAL_ERROR: {exc}")
        else:
            self.store.update(arn, "COMPLETED", expect=("IN_PROGRESS", "STOP_REQUESTED"), EndTime=time.time())

    def _check_stop(self, arn: str) -> None:
        current = self.store.get(arn)
        if self._closing.is_set() or current is None or current.status == "STOP_REQUESTED":
            raise JobStopped()

    def _execute(self, resource: Resource) -> None:
        job_type = BY_KIND[resource.kind]
        props = resource.props
        account, region = resource.account, resource.region
        input_config = props["InputDataConfig"]
        per_line = input_config.get("InputFormat", "ONE_DOC_PER_FILE") == "ONE_DOC_PER_LINE"
        try:
            objects = self.s3.list(account, region, input_config["S3Uri"])
        except S3AccessError as exc:
            raise S3AccessError(f"NO_READ_ACCESS_TO_INPUT: {exc}") from exc
        if not objects:
            raise S3AccessError(f"INPUT_NOT_FOUND: no documents under {input_config['S3Uri']}")
        bucket, out_prefix = split_uri(props["_output"])
        limit = limits.KINDS[job_type.analysis].job_limit if job_type.analysis in limits.KINDS else 1_000_000
        if job_type.analysis == "topics":
            lines = None
            archive = self._topics(resource, self._documents(account, region, objects, per_line, limit))
        else:
            lines = self._analyse(resource, job_type, per_line, objects, limit)
            archive = None
        if job_type.analysis == "pii_entities":
            assert lines is not None
            by_file: dict[str, list[str]] = {}
            for file, line in lines:
                by_file.setdefault(file, []).append(line)
            for file, rows in by_file.items():
                self._write(account, region, bucket, out_prefix + file + ".out", ("\n".join(rows) + "\n").encode(),
                            "application/json")
            return
        if archive is None:
            assert lines is not None
            member = "predictions.jsonl" if job_type.analysis == "classification" else "output"
            archive = _tar_gz({member: ("\n".join(line for _, line in lines) + "\n").encode()})
        self._write(account, region, bucket, out_prefix + "output.tar.gz", archive, "application/gzip")

    def _write(self, account: str, region: str, bucket: str, key: str, data: bytes, content_type: str) -> None:
        try:
            self.s3.write(account, region, bucket, key, data, content_type)
        except S3AccessError as exc:
            raise S3AccessError(f"NO_WRITE_ACCESS_TO_OUTPUT: {exc}") from exc

    def _documents(self, account: str, region: str, objects: list[S3Object], per_line: bool,
                   limit: int) -> Iterator[Document]:
        for obj in objects:
            name = obj.key.rsplit("/", 1)[-1]
            try:
                data = self.s3.read(account, region, obj)
            except S3AccessError as exc:
                raise S3AccessError(f"NO_READ_ACCESS_TO_INPUT: {exc}") from exc
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                yield Document(name, 0 if per_line else None, None,
                               ("UNSUPPORTED_ENCODING", "The document is not valid UTF-8 text"))
                continue
            pieces = list(enumerate(text.splitlines())) if per_line else [(None, text)]
            for line, piece in pieces:
                if per_line and not piece.strip():
                    continue
                message = limits.size_error(piece, limit)
                if message:
                    yield Document(name, line, None, ("DOCUMENT_SIZE_EXCEEDED", message))
                elif not piece.strip():
                    yield Document(name, line, None, ("INVALID_DOCUMENT", "The document is empty"))
                else:
                    yield Document(name, line, piece)

    def _analyse(self, resource: Resource, job_type: JobType, per_line: bool, objects: list[S3Object],
                 limit: int) -> list[tuple[str, str]]:
        props = resource.props
        language = props.get("LanguageCode", "en")
        out: list[tuple[str, str]] = []
        batch: list[Document] = []

        def flush() -> None:
            self._check_stop(resource.arn)
            texts = [d.text or "" for d in batch]
            results = self._results(job_type, props, language, texts)
            for doc, result in zip(batch, results, strict=True):
                out.append((doc.file, json.dumps(self._record(job_type, doc, per_line, result))))
            batch.clear()

        for doc in self._documents(resource.account, resource.region, objects, per_line, limit):
            if doc.error is not None:
                code, message = doc.error
                record: dict[str, Any] = {"File": doc.file, "Line": doc.line if doc.line is not None else 0,
                                          "ErrorCode": code, "ErrorMessage": message}
                out.append((doc.file, json.dumps(record)))
                continue
            batch.append(doc)
            if len(batch) >= CHUNK:
                flush()
        if batch:
            flush()
        return out

    @staticmethod
    def _record(job_type: JobType, doc: Document, per_line: bool, result: dict[str, Any]) -> dict[str, Any]:
        if job_type.analysis == "classification":
            record: dict[str, Any] = {"File": doc.file}
            if per_line:
                record["Line"] = str(doc.line)
            return {**record, **result}
        return {"File": doc.file, "Line": doc.line if doc.line is not None else 0, **result}

    def _results(self, job_type: JobType, props: dict[str, Any], language: str,
                 texts: list[str]) -> list[dict[str, Any]]:
        if job_type.analysis == "classification":
            multi_label, scores = self.classify(props["DocumentClassifierArn"], texts)
            member = "Labels" if multi_label else "Classes"
            return [{member: [{"Name": k, "Score": v} for k, v in sorted(s.items(), key=lambda kv: -kv[1])[:10]]}
                    for s in scores]
        if job_type.analysis == "pii_entities" and props.get("Mode") == "ONLY_REDACTION":
            results = self.analyzer.pii_entities(language, texts)
            return [{"RedactedText": _redact(text, result["Entities"], props.get("RedactionConfig") or {})}
                    for text, result in zip(texts, results, strict=True)]
        method: Callable[[str, list[str]], list[dict[str, Any]]] = getattr(self.analyzer, job_type.analysis)
        return method(language, texts)

    def _topics(self, resource: Resource, documents: Iterator[Document]) -> bytes:
        from sklearn.decomposition import LatentDirichletAllocation
        from sklearn.feature_extraction.text import CountVectorizer

        docs = [d for d in documents if d.text]
        if len(docs) < 2:
            raise ValueError("topic modeling needs at least two documents")
        self._check_stop(resource.arn)
        topics = int(resource.props.get("NumberOfTopics") or 10)
        vectorizer = CountVectorizer(stop_words="english", max_df=0.95, min_df=1)
        counts = vectorizer.fit_transform([d.text or "" for d in docs])
        lda = LatentDirichletAllocation(n_components=min(topics, max(1, len(docs))), random_state=0)
        weights = lda.fit_transform(counts)
        terms = vectorizer.get_feature_names_out()
        term_rows = io.StringIO()
        writer = csv.writer(term_rows, lineterminator="\n")
        writer.writerow(["topic", "term", "weight"])
        for topic, row in enumerate(lda.components_):
            norm = row / row.sum()
            for index in norm.argsort()[::-1][:10]:
                writer.writerow([topic, terms[index], f"{norm[index]:.6f}"])
        doc_rows = io.StringIO()
        writer = csv.writer(doc_rows, lineterminator="\n")
        writer.writerow(["docname", "topic", "proportion"])
        for doc, row in zip(docs, weights, strict=True):
            name = doc.file if doc.line is None else f"{doc.file}:{doc.line}"
            for topic, share in enumerate(row):
                if share >= 0.01:
                    writer.writerow([name, topic, f"{share:.6f}"])
        return _tar_gz({"topic-terms.csv": term_rows.getvalue().encode(),
                        "doc-topics.csv": doc_rows.getvalue().encode()})


def _redact(text: str, entities: list[dict[str, Any]], config: dict[str, Any]) -> str:
    wanted = set(config.get("PiiEntityTypes") or ["ALL"])
    mode = config.get("MaskMode", "MASK")
    mask = config.get("MaskCharacter") or "*"
    out = []
    last = 0
    for entity in sorted(entities, key=lambda e: e["BeginOffset"]):
        if "ALL" not in wanted and entity["Type"] not in wanted:
            continue
        begin, end = entity["BeginOffset"], entity["EndOffset"]
        out.append(text[last:begin])
        out.append(f"[{entity['Type']}]" if mode == "REPLACE_WITH_PII_ENTITY_TYPE" else mask * (end - begin))
        last = end
    out.append(text[last:])
    return "".join(out)


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
