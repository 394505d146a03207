"""Query execution operations: start, get, batch-get, list, stop, results and runtime statistics."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import operation
from fogbank.protocol.serializer import WireReady
from fogbank.services.athena import results
from fogbank.services.athena.base import ENGINE_VERSION, AthenaBase, decode_token, encode_token, to_datetime
from fogbank.services.athena.errors import InvalidRequestException
from fogbank.services.athena.statements import clean, statement_kind
from fogbank.services.athena.store import PREPARED, QUERY, TOKEN, Conflict, Doc
from fogbank.services.s3.local_access import S3LocalError, split_uri

_PAGE_BYTES = 1024 * 1024
# Result files up to this size are indexed by row on their first page, and later pages read just their rows.
_INDEXED_BYTES = 16 * 1024 * 1024
_ROW_INDEXES = results.RowIndexes()
# A manifest's rows are the URIs of the files a statement wrote; AWS documents no column for them, so one
# varchar column named for what it holds.
_MANIFEST_COLUMNS = [{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": "path", "Label": "path",
                      "Type": "varchar", "Precision": 2147483647, "Scale": 0, "Nullable": "UNKNOWN",
                      "CaseSensitive": True}]


def _output_base(location: str) -> str:
    return location if location.endswith("/") else location + "/"


class QueryOps(AthenaBase):
    @operation("StartQueryExecution")
    def start_query_execution(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        group = self.workgroup(ctx, req.get("WorkGroup"))
        if group["State"] != "ENABLED":
            raise InvalidRequestException(f"WorkGroup {group['Name']} is disabled.")
        query = req["QueryString"]
        if not clean(query):
            raise InvalidRequestException("Query string is empty.", "INVALID_INPUT")
        token = req.get("ClientRequestToken")
        if token:
            existing = self.store.get(TOKEN, ctx.scope, token, parent=group["Name"])
            if existing is not None:
                return {"QueryExecutionId": existing["QueryExecutionId"]}
        config = group.get("Configuration") or {}
        enforce = bool(config.get("EnforceWorkGroupConfiguration"))
        requested = dict(req.get("ResultConfiguration") or {})
        group_results = dict(config.get("ResultConfiguration") or {})
        result_config = group_results if enforce else {**group_results, **requested}
        location = result_config.get("OutputLocation")
        if not location:
            raise InvalidRequestException(
                "No output location provided. An output location is required either through the Workgroup result "
                "configuration setting or as an API input.", "INVALID_INPUT")
        try:
            split_uri(location)
        except S3LocalError:
            raise InvalidRequestException(f"Invalid OutputLocation: {location}", "INVALID_INPUT") from None
        params = list(req.get("ExecutionParameters") or [])
        query_id = str(uuid.uuid4())
        kind = self._kind(ctx, group["Name"], query, params)
        base = _output_base(location)
        extension = "csv" if kind[1] in ("SELECT", "EXECUTE") else "txt"
        context = dict(req.get("QueryExecutionContext") or {})
        context.setdefault("Catalog", "awsdatacatalog")
        doc: Doc = {
            "QueryExecutionId": query_id, "Query": query, "StatementType": kind[0], "SubstatementType": kind[1],
            "ResultConfiguration": {**{k: v for k, v in result_config.items() if k != "OutputLocation"},
                                    "OutputLocation": f"{base}{query_id}.{extension}"},
            "ResultReuseConfiguration": req.get("ResultReuseConfiguration") or {
                "ResultReuseByAgeConfiguration": {"Enabled": False}},
            "QueryExecutionContext": context,
            "Status": {"State": "QUEUED", "SubmissionDateTime": time.time()},
            "Statistics": {"EngineExecutionTimeInMillis": 0, "DataScannedInBytes": 0, "TotalExecutionTimeInMillis": 0,
                           "QueryQueueTimeInMillis": 0, "ServicePreProcessingTimeInMillis": 0,
                           "QueryPlanningTimeInMillis": 0, "ServiceProcessingTimeInMillis": 0,
                           "ResultReuseInformation": {"ReusedPreviousResult": False}},
            "WorkGroup": group["Name"], "EngineVersion": dict(ENGINE_VERSION),
            "fb": {"output_base": base},
        }
        if params:
            doc["ExecutionParameters"] = params
        # The query and its client token are recorded together: one durable commit, and never one without the
        # other (boto3 sends a token with every StartQueryExecution).
        docs = [(QUERY, group["Name"], query_id, doc)]
        if token:
            docs.insert(0, (TOKEN, group["Name"], token, {"QueryExecutionId": query_id}))
        try:
            self.store.create_all(ctx.scope, docs)
        except Conflict:
            if not token:
                raise
            existing = self.store.get(TOKEN, ctx.scope, token, parent=group["Name"]) or {}
            return {"QueryExecutionId": existing.get("QueryExecutionId", query_id)}
        self.runner.submit(ctx.scope, query_id)
        return {"QueryExecutionId": query_id}

    def _kind(self, ctx: RequestContext, workgroup: str, query: str, params: list[str]) -> tuple[str, str]:
        kind = statement_kind(query)
        if kind[1] != "EXECUTE":
            return kind
        name = clean(query).split()[1] if len(clean(query).split()) > 1 else ""
        prepared = self.store.get(PREPARED, ctx.scope, name, parent=workgroup)
        if prepared is None:
            return kind
        return statement_kind(prepared["QueryStatement"])

    def _query(self, ctx: RequestContext, query_id: str) -> Doc:
        doc = self.store.get(QUERY, ctx.scope, query_id)
        if doc is None:
            raise InvalidRequestException(f"QueryExecution {query_id} was not found", "INVALID_INPUT")
        return doc

    @staticmethod
    def _execution(doc: Doc) -> dict[str, Any]:
        """The QueryExecution of a stored document (read fresh from the store, so it is changed in place)."""
        out = {k: v for k, v in doc.items() if k != "fb"}
        status = out["Status"]
        status["SubmissionDateTime"] = to_datetime(status["SubmissionDateTime"])
        if "CompletionDateTime" in status:
            status["CompletionDateTime"] = to_datetime(status["CompletionDateTime"])
        if status["State"] in ("QUEUED", "RUNNING"):
            out["Statistics"] = {k: v for k, v in out["Statistics"].items()
                                 if k in ("QueryQueueTimeInMillis", "ResultReuseInformation")}
        return out

    @operation("GetQueryExecution")
    def get_query_execution(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        query_id = req["QueryExecutionId"]
        doc = self._query(ctx, query_id)
        if doc["Status"]["State"] in ("QUEUED", "RUNNING"):
            self.runner.wait_briefly(query_id)
            doc = self._query(ctx, query_id)
        return {"QueryExecution": self._execution(doc)}

    @operation("BatchGetQueryExecution")
    def batch_get_query_execution(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        found, missing = [], []
        for query_id in req["QueryExecutionIds"]:
            doc = self.store.get(QUERY, ctx.scope, query_id)
            if doc is None:
                missing.append({"QueryExecutionId": query_id, "ErrorCode": "INVALID_INPUT",
                                "ErrorMessage": f"QueryExecution {query_id} was not found"})
            else:
                found.append(self._execution(doc))
        return {"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing}

    @operation("ListQueryExecutions")
    def list_query_executions(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        group = self.workgroup(ctx, req.get("WorkGroup"))
        limit = int(req.get("MaxResults") or 50)
        after = decode_token(req.get("NextToken"))
        rows = self.store.listing(QUERY, ctx.scope, group["Name"], newest_first=True, after=after, limit=limit + 1)
        out: dict[str, Any] = {"QueryExecutionIds": [doc["QueryExecutionId"] for _, doc in rows[:limit]]}
        if len(rows) > limit:
            out["NextToken"] = encode_token(rows[limit - 1][0])
        return out

    @operation("StopQueryExecution")
    def stop_query_execution(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._query(ctx, req["QueryExecutionId"])
        self.runner.stop(ctx.scope, req["QueryExecutionId"])
        return {}

    @operation("GetQueryRuntimeStatistics")
    def get_query_runtime_statistics(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        doc = self._query(ctx, req["QueryExecutionId"])
        stats = doc["Statistics"]
        fb = doc.get("fb", {})
        rows = fb.get("update_count") if doc.get("SubstatementType") != "SELECT" else fb.get("rows")
        return {"QueryRuntimeStatistics": {
            "Timeline": {k: stats.get(k, 0) for k in (
                "QueryQueueTimeInMillis", "ServicePreProcessingTimeInMillis", "QueryPlanningTimeInMillis",
                "EngineExecutionTimeInMillis", "ServiceProcessingTimeInMillis", "TotalExecutionTimeInMillis")},
            "Rows": {"InputBytes": stats.get("DataScannedInBytes", 0), "OutputRows": int(rows or 0)}}}

    # -- results -----------------------------------------------------------------------------------------------

    @operation("GetQueryResults")
    def get_query_results(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        query_id = req["QueryExecutionId"]
        doc = self._query(ctx, query_id)
        state = doc["Status"]["State"]
        if state in ("QUEUED", "RUNNING"):
            raise InvalidRequestException(f"Query has not yet finished. Current state: {state}", "INVALID_INPUT")
        if state != "SUCCEEDED":
            reason = doc["Status"].get("StateChangeReason", "")
            raise InvalidRequestException(f"Query did not finish successfully. Final query state: {state}"
                                          + (f"\n{reason}" if reason else ""), "INVALID_INPUT")
        limit = int(req.get("MaxResults") or 1000)
        fb = doc.get("fb", {})
        manifest = req.get("QueryResultType") == "DATA_MANIFEST"
        if manifest and not fb.get("manifest"):
            raise InvalidRequestException(
                f"Query {query_id} has no manifest: only CREATE TABLE AS SELECT, INSERT INTO and UNLOAD write one "
                "(use QueryResultType DATA_ROWS for its results)", "INVALID_INPUT")
        output = fb["manifest"] if manifest else fb.get("output") or doc["ResultConfiguration"]["OutputLocation"]
        bucket, key = split_uri(output)
        position = (0, 0)
        if req.get("NextToken"):
            decoded = results.decode_token(req["NextToken"], query_id)
            if decoded is None:
                raise InvalidRequestException("The NextToken is not valid.", "INVALID_INPUT")
            position = decoded
        try:
            if manifest:  # one written file's S3 URI a line, no header
                rows, next_position = self._text_page(ctx, bucket, key, position, limit)
            elif fb.get("format") == "csv":
                rows, next_position = self._csv_page(ctx, bucket, key, position, limit)
            else:
                rows, next_position = self._text_page(ctx, bucket, key, position, limit)
        except S3LocalError as exc:
            raise InvalidRequestException(f"Unable to read query results from {output}: {exc}",
                                          "INVALID_INPUT") from None
        out: dict[str, Any] = {
            "UpdateCount": int(fb.get("update_count") or 0),
            "ResultSet": {"Rows": WireReady([{"Data": [{} if v is None else {"VarCharValue": v} for v in row]}
                                             for row in rows]),
                          "ResultSetMetadata": {"ColumnInfo": (_MANIFEST_COLUMNS if manifest
                                                               else fb.get("columns") or [])}}}
        if next_position is not None:
            out["NextToken"] = results.encode_token(query_id, *next_position)
        return out

    def _csv_page(self, ctx: RequestContext, bucket: str, key: str, position: tuple[int, int],
                  limit: int) -> tuple[list[list[str | None]], tuple[int, int] | None]:
        head = self.s3.head(ctx.account_id, bucket, key)
        if head is None:
            raise S3LocalError(f"The specified key does not exist: s3://{bucket}/{key}")
        identity = (ctx.account_id, bucket, key, head.etag, head.size, head.modified)
        starts = _ROW_INDEXES.get(identity)
        data: bytes | None = None
        if starts is None and head.size <= _INDEXED_BYTES:
            data = self.s3.read(ctx.account_id, bucket, key)
            starts = results.row_starts(data)
            if starts is not None:
                _ROW_INDEXES.put(identity, starts)
        row, offset = position
        if starts is None or row >= len(starts) or starts[row] != offset:
            return self._csv_page_parsed(ctx, bucket, key, head.size, position, limit)
        last = len(starts) - 1  # starts ends with the file's size
        end = min(row + limit, last)
        if data is not None:
            chunk = data[starts[row]:starts[end]]
        else:
            chunk = self.s3.read_range(ctx.account_id, bucket, key, starts[row], starts[end] - starts[row])
        rows = results.parse_csv_lines(chunk)
        return rows, ((end, starts[end]) if end < last else None)

    def _csv_page_parsed(self, ctx: RequestContext, bucket: str, key: str, size: int, position: tuple[int, int],
                         limit: int) -> tuple[list[list[str | None]], tuple[int, int] | None]:
        """A page found by parsing from its start: for files whose values hold line breaks, and big ones."""
        row, offset = position
        window = _PAGE_BYTES
        while True:
            data = self.s3.read_range(ctx.account_id, bucket, key, offset, window)
            lines, used = results.split_rows(data, limit)
            if len(lines) >= limit or offset + len(data) >= size:
                break
            window *= 4
        rows = results.parse_csv_rows(lines)
        end = offset + used
        if end >= size or not lines:
            return rows, None
        return rows, (row + len(rows), end)

    def _text_page(self, ctx: RequestContext, bucket: str, key: str, position: tuple[int, int],
                   limit: int) -> tuple[list[list[str | None]], tuple[int, int] | None]:
        data = self.s3.read(ctx.account_id, bucket, key)
        all_rows = results.text_rows(data)
        start = position[0]
        page: list[list[str | None]] = [list(r) for r in all_rows[start:start + limit]]
        if start + limit < len(all_rows):
            return page, (start + limit, 0)
        return page, None
