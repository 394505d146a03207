"""Running Textract's asynchronous jobs in the background and answering Get* with paginated results.

A job reads its document from S3 when it starts, analyses page by page, then stores the whole response
(and, with OutputConfig, writes it to S3 as AWS does: ``<prefix>/<JobId>/1``, ``/2``, ... of at most 1,000
blocks each; a lending job ``<prefix>/<JobId>/detailedResponse/1``, ... of at most 30 page results and
``<prefix>/<JobId>/summaryResponse/1``). A job found IN_PROGRESS when the server starts was cut short by a
restart and is marked FAILED with that reason. Pagination tokens carry the job id and an offset, so a
token from another job is refused.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from fogbank.errors import AwsError
from fogbank.services.textract import errors
from fogbank.services.textract.analyzer import MODEL_VERSION, DocumentAnalyzer
from fogbank.services.textract.expense import expense_document
from fogbank.services.textract.lending import FEATURES as LENDING_FEATURES
from fogbank.services.textract.lending import RESULTS_PAGE_MAX, lending_analysis
from fogbank.services.textract.sources import S3Location, S3Reader, SourceMissing, SourceTooLarge
from fogbank.services.textract.store import Job, TextractStore

log = logging.getLogger(__name__)

ASYNC_MAX_BYTES = 500 * 1024 * 1024
ASYNC_MAX_PAGES = 3000
PAGE_SIZE = 1000
_VERSION_MEMBER = {"text": "DetectDocumentTextModelVersion", "analysis": "AnalyzeDocumentModelVersion",
                   "expense": "AnalyzeExpenseModelVersion", "lending": "AnalyzeLendingModelVersion"}
_PAGED_MEMBER = {"text": "Blocks", "analysis": "Blocks", "expense": "ExpenseDocuments", "lending": "Results"}
RESTART_MESSAGE = "The fogbank server restarted while the job was running; start the job again."


class JobRunner:
    def __init__(self, store: TextractStore, reader: S3Reader, analyzer: DocumentAnalyzer, workers: int = 1) -> None:
        self.store = store
        self.reader = reader
        self.analyzer = analyzer
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="textract-job")
        self._closing = threading.Event()

    def close(self) -> None:
        self._closing.set()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def recover(self) -> None:
        for job in self.store.by_status("IN_PROGRESS"):
            self.store.finish(job.job_id, "FAILED", RESTART_MESSAGE)

    def submit(self, job: Job) -> None:
        self.pool.submit(self._run, job)

    def _run(self, job: Job) -> None:
        try:
            result, warnings = self._execute(job)
            self.store.results.write(job.job_id, result)
            self._write_output(replace(job, status="SUCCEEDED", warnings=warnings), result)
            pages = int(result.get("DocumentMetadata", {}).get("Pages", 0))
            self.store.finish(job.job_id, "SUCCEEDED", None, pages, warnings)
        except _Stopped:
            self.store.finish(job.job_id, "FAILED", RESTART_MESSAGE)
        except AwsError as exc:
            self.store.finish(job.job_id, "FAILED", f"{exc.error_code}: {exc.message}")
        except Exception as exc:
            log.exception("textract job %s failed", job.job_id)
            self.store.finish(job.job_id, "FAILED", f"InternalServerError: {exc}")

    def _execute(self, job: Job) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        request = job.request
        location = S3Location.of(request["DocumentLocation"]["S3Object"])
        try:
            data = self.reader.read(job.account, job.region, location, ASYNC_MAX_BYTES)
        except SourceTooLarge as exc:
            raise errors.DocumentTooLargeException(str(exc)) from exc
        except SourceMissing as exc:
            raise errors.InvalidS3ObjectException(
                "Unable to get object metadata from S3. Check object key, region and/or access permissions.") from exc
        features = set(request.get("FeatureTypes") or [])
        if job.kind == "expense":
            features = {"TABLES", "FORMS"}
        elif job.kind == "lending":
            features = set(LENDING_FEATURES)
        queries = (request.get("QueriesConfig") or {}).get("Queries") or []

        def progress(_number: int, _total: int) -> None:
            if self._closing.is_set():
                raise _Stopped()

        pages = self.analyzer.pages(data, features, queries, max_pages=ASYNC_MAX_PAGES, progress=progress)
        metadata = {"Pages": len(pages)}
        empty = [p.number for p in pages if not p.analysis.text.lines]
        warnings = [{"ErrorCode": "NO_TEXT_DETECTED", "Pages": empty}] if empty else []
        if job.kind == "lending":
            return lending_analysis(pages), warnings
        if job.kind == "expense":
            document = expense_document(pages)
            return {"DocumentMetadata": metadata, "ExpenseDocuments": [document]}, []
        blocks = [b for p in pages for b in p.blocks]
        return {"DocumentMetadata": metadata, "Blocks": blocks}, warnings

    def _write_output(self, job: Job, result: dict[str, Any]) -> None:
        output = job.request.get("OutputConfig")
        if not output:
            return
        prefix = (output.get("S3Prefix") or "").strip("/")
        base = f"{prefix}/{job.job_id}" if prefix else job.job_id
        try:
            if job.kind == "lending":
                self.reader.write(job.account, job.region, output["S3Bucket"], f"{base}/summaryResponse/1",
                                  json.dumps(respond_summary(job, result, job.warnings)).encode())
                self._write_parts(job, result, output["S3Bucket"], f"{base}/detailedResponse", RESULTS_PAGE_MAX)
            else:
                self._write_parts(job, result, output["S3Bucket"], base, PAGE_SIZE)
        except SourceMissing as exc:
            raise errors.InvalidS3ObjectException(f"Unable to write results to s3://{output['S3Bucket']}/{base}: "
                                                  f"{exc}") from exc

    def _write_parts(self, job: Job, result: dict[str, Any], bucket: str, base: str, size: int) -> None:
        token: str | None = None
        part = 1
        while True:
            page = respond(job, result, job.warnings, size, token)
            self.reader.write(job.account, job.region, bucket, f"{base}/{part}", json.dumps(page).encode())
            token = page.get("NextToken")
            if not token:
                break
            part += 1


class _Stopped(Exception):
    """The server is shutting down; the job ends FAILED rather than running on unseen."""


def _token(job_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{job_id}:{offset}".encode()).decode()


def _offset(job_id: str, token: str | None) -> int:
    if not token:
        return 0
    try:
        owner, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if owner == job_id and offset.isdigit():
            return int(offset)
    except (ValueError, UnicodeDecodeError):
        pass
    raise errors.InvalidParameterException("The pagination token is not valid for this job")


def respond(job: Job, result: dict[str, Any] | None, warnings: list[dict[str, Any]], max_results: int,
            token: str | None) -> dict[str, Any]:
    """One page of a Get* response."""
    start = _offset(job.job_id, token)
    out = _status(job, result, warnings, _VERSION_MEMBER[job.kind])
    if result is None or out["JobStatus"] != "SUCCEEDED":
        return out
    member = _PAGED_MEMBER[job.kind]
    if job.kind == "lending":
        max_results = min(max_results, RESULTS_PAGE_MAX)
    items: list[Any] = result.get(member, [])
    if job.kind == "expense":
        count = max(1, max_results // 1000)  # expense documents are paged whole
        out[member] = items[start:start + count]
        end = start + count
    else:
        out[member] = items[start:start + max_results]
        end = start + max_results
    if end < len(items):
        out["NextToken"] = _token(job.job_id, end)
    return out


def respond_summary(job: Job, result: dict[str, Any] | None, warnings: list[dict[str, Any]]) -> dict[str, Any]:
    """GetLendingAnalysisSummary: the job's status and, once it succeeded, the document groups."""
    out = _status(job, result, warnings, "AnalyzeLendingModelVersion")
    if result is not None and out["JobStatus"] == "SUCCEEDED":
        out["Summary"] = result["Summary"]
    return out


def _status(job: Job, result: dict[str, Any] | None, warnings: list[dict[str, Any]],
            version_member: str) -> dict[str, Any]:
    """What every Get* answer starts with: the job's status, model version and, once it succeeded, the
    document's metadata (a SUCCEEDED job whose result file is gone reports FAILED, saying so)."""
    out: dict[str, Any] = {"JobStatus": job.status, version_member: MODEL_VERSION}
    if job.message:
        out["StatusMessage"] = job.message
    if job.status != "SUCCEEDED" or result is None:
        if job.status == "SUCCEEDED":
            out["JobStatus"] = "FAILED"
            out["StatusMessage"] = "The job's results are missing from the data directory"
        return out
    out["DocumentMetadata"] = result["DocumentMetadata"]
    if warnings:
        out["Warnings"] = warnings
    return out
