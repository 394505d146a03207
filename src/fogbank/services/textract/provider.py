"""Amazon Textract: text, tables, forms, queries, layout and signatures from offline OCR and page geometry;
lending analysis (lending.py) and adapters (adapters.py) on top of them.

Synchronous operations run in the request's worker thread (OCR bounded by the model registry); the
Start*/Get* operations run as persisted background jobs (jobs.py). Limits follow AWS: synchronous calls
take one page (PNG, JPEG, single-page TIFF or PDF) of at most 10 MB; jobs read PDFs and TIFFs of up to
3,000 pages and 500 MB from S3.
"""

from __future__ import annotations

import json
from typing import Any

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.engines.models.registry import ModelRegistry
from fogbank.protocol.dispatch import Provider, operation
from fogbank.services.textract import errors
from fogbank.services.textract.adapters import AdapterOperations, AdapterStore
from fogbank.services.textract.analyzer import MODEL_VERSION, DocumentAnalyzer, validate_queries
from fogbank.services.textract.expense import expense_document
from fogbank.services.textract.identity import identity_document
from fogbank.services.textract.jobs import JobRunner, respond, respond_summary
from fogbank.services.textract.sources import S3Location, S3Reader, SourceMissing, SourceTooLarge
from fogbank.services.textract.store import Job, TextractStore

SYNC_MAX_BYTES = 10 * 1024 * 1024
MAX_RESULTS = 1000
LENDING_MAX_RESULTS = 30
_S3_MISSING = "Unable to get object metadata from S3. Check object key, region and/or access permissions."


class TextractProvider(AdapterOperations, Provider):
    services = ("textract",)

    def __init__(self, config: Config, models: ModelRegistry, s3: Any = None) -> None:
        self.config = config
        self.models = models
        self.analyzer = DocumentAnalyzer(models)
        self.reader = S3Reader(s3)
        self.store = TextractStore(config.service_dir("textract"))
        self.adapters = AdapterStore(self.store.db)
        self.jobs = JobRunner(self.store, self.reader, self.analyzer)
        self.jobs.recover()

    def close(self) -> None:
        self.jobs.close()
        self.store.close()

    def health(self) -> dict[str, Any]:
        status = self.models.status().get("ocr", {})
        return {"state": "running", "jobs_running": len(self.store.by_status("IN_PROGRESS")),
                "models": {"ocr": status.get("model", "") + (" (loaded)" if status.get("loaded") else "")}}

    # ------------------------------------------------------------------ helpers

    def _document(self, ctx: RequestContext, document: dict[str, Any] | None) -> bytes:
        document = document or {}
        data = document.get("Bytes")
        s3_object = document.get("S3Object")
        if data is not None and s3_object is not None:
            raise errors.InvalidParameterException("Specify either Bytes or S3Object, not both")
        if data is not None:
            if not data:
                raise errors.InvalidParameterException("The document is empty")
            if len(data) > SYNC_MAX_BYTES:
                raise errors.DocumentTooLargeException("Document size exceeds the 10 MB limit")
            return bytes(data)
        if s3_object is None:
            raise errors.InvalidParameterException("Document must name Bytes or an S3Object")
        try:
            return self.reader.read(ctx.account_id, ctx.region, S3Location.of(s3_object), SYNC_MAX_BYTES)
        except SourceTooLarge as exc:
            raise errors.DocumentTooLargeException(f"Document size exceeds the 10 MB limit: {exc}") from exc
        except SourceMissing as exc:
            raise errors.InvalidS3ObjectException(_S3_MISSING) from exc

    @staticmethod
    def _features(req: dict[str, Any]) -> tuple[set[str], list[dict[str, Any]]]:
        features = set(req.get("FeatureTypes") or [])
        if not features:
            raise errors.InvalidParameterException("FeatureTypes must name at least one feature")
        queries = (req.get("QueriesConfig") or {}).get("Queries") or []
        if "QUERIES" in features and not queries:
            raise errors.InvalidParameterException("FeatureTypes QUERIES requires a QueriesConfig with queries")
        if queries and "QUERIES" not in features:
            raise errors.InvalidParameterException("QueriesConfig requires QUERIES in FeatureTypes")
        validate_queries(queries)
        return features, queries

    # ------------------------------------------------------------------ synchronous

    @operation("DetectDocumentText")
    def detect_document_text(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        data = self._document(ctx, req.get("Document"))
        out = self.analyzer.respond(data, set(), [], max_pages=1)
        out["DetectDocumentTextModelVersion"] = MODEL_VERSION
        return out

    @operation("AnalyzeDocument")
    def analyze_document(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        features, queries = self._features(req)
        self.check_adapters_config(ctx, req.get("AdaptersConfig"))
        data = self._document(ctx, req.get("Document"))
        out = self.analyzer.respond(data, features, queries, max_pages=1)
        out["AnalyzeDocumentModelVersion"] = MODEL_VERSION
        return out

    @operation("AnalyzeExpense")
    def analyze_expense(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        data = self._document(ctx, req.get("Document"))
        pages = self.analyzer.pages(data, {"TABLES", "FORMS"}, [], max_pages=1)
        return {"DocumentMetadata": {"Pages": len(pages)}, "ExpenseDocuments": [expense_document(pages)]}

    @operation("AnalyzeID")
    def analyze_id(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        documents = []
        pages_total = 0
        for index, document in enumerate(req.get("DocumentPages") or [], start=1):
            data = self._document(ctx, document)
            pages = self.analyzer.pages(data, {"FORMS"}, [], max_pages=1)
            pages_total += len(pages)
            documents.append(identity_document(index, pages[0]))
        return {"IdentityDocuments": documents, "DocumentMetadata": {"Pages": pages_total},
                "AnalyzeIDModelVersion": MODEL_VERSION}

    # ------------------------------------------------------------------ asynchronous

    def _start(self, ctx: RequestContext, req: dict[str, Any], kind: str) -> dict[str, Any]:
        location = (req.get("DocumentLocation") or {}).get("S3Object")
        if not location or not location.get("Bucket") or not location.get("Name"):
            raise errors.InvalidParameterException("DocumentLocation must name an S3Object with Bucket and Name")
        if kind == "analysis":
            self._features(req)
            self.check_adapters_config(ctx, req.get("AdaptersConfig"))
        output = req.get("OutputConfig")
        if output is not None and not output.get("S3Bucket"):
            raise errors.InvalidParameterException("OutputConfig must name an S3Bucket")
        request = {k: v for k, v in req.items() if k != "ClientRequestToken"}
        token = req.get("ClientRequestToken")
        job, created = self.store.create(ctx.account_id, ctx.region, kind, request, token)
        if not created:
            if json.dumps(job.request, sort_keys=True, default=str) != json.dumps(request, sort_keys=True, default=str):
                raise errors.IdempotentParameterMismatchException(
                    "The ClientRequestToken was used before with different parameters")
            return {"JobId": job.job_id}
        self.jobs.submit(job)
        return {"JobId": job.job_id}

    def _job(self, ctx: RequestContext, req: dict[str, Any], kind: str) -> Job:
        job = self.store.get(req["JobId"])
        if job is None or job.kind != kind or (job.account, job.region) != ctx.scope:
            raise errors.InvalidJobIdException(f"An invalid job identifier was passed: {req['JobId']}")
        return job

    def _get(self, ctx: RequestContext, req: dict[str, Any], kind: str) -> dict[str, Any]:
        job = self._job(ctx, req, kind)
        limit = LENDING_MAX_RESULTS if kind == "lending" else MAX_RESULTS
        max_results = max(1, min(limit, int(req.get("MaxResults") or limit)))
        result = self.store.results.read(job.job_id) if job.status == "SUCCEEDED" else None
        return respond(job, result, job.warnings, max_results, req.get("NextToken"))

    @operation("StartDocumentTextDetection")
    def start_document_text_detection(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._start(ctx, req, "text")

    @operation("GetDocumentTextDetection")
    def get_document_text_detection(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._get(ctx, req, "text")

    @operation("StartDocumentAnalysis")
    def start_document_analysis(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._start(ctx, req, "analysis")

    @operation("GetDocumentAnalysis")
    def get_document_analysis(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._get(ctx, req, "analysis")

    @operation("StartExpenseAnalysis")
    def start_expense_analysis(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._start(ctx, req, "expense")

    @operation("GetExpenseAnalysis")
    def get_expense_analysis(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._get(ctx, req, "expense")

    @operation("StartLendingAnalysis")
    def start_lending_analysis(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._start(ctx, req, "lending")

    @operation("GetLendingAnalysis")
    def get_lending_analysis(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._get(ctx, req, "lending")

    @operation("GetLendingAnalysisSummary")
    def get_lending_analysis_summary(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        job = self._job(ctx, req, "lending")
        result = self.store.results.read(job.job_id) if job.status == "SUCCEEDED" else None
        return respond_summary(job, result, job.warnings)
