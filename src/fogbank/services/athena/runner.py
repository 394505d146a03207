"""Query executions as background work: a bounded pool runs queued queries, records every state change
durably, and publishes results to the output location in S3.

States follow Athena: QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED. A stop marks the query
CANCELLED at once and interrupts DuckDB; the worker never overwrites a final state. At start, queries a
previous process left RUNNING end FAILED with a reason (their partial output is not trusted) and QUEUED
ones are queued again, so no query stays in flight forever.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb

from fogbank.services.athena import results
from fogbank.services.athena.databases import QueryDatabases
from fogbank.services.athena.engine import Engine, ExecContext, Outcome
from fogbank.services.athena.errors import QueryFailed
from fogbank.services.athena.statements import expand, run
from fogbank.services.athena.store import PREPARED, QUERY, WORKGROUP, AthenaStore, Doc, Scope
from fogbank.services.glue.catalog import GlueCatalog
from fogbank.services.s3.local_access import S3LocalAccess, S3LocalError, split_uri

log = logging.getLogger(__name__)

FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
RESTART_REASON = ("Query was interrupted because the server restarted while it was running; its results were "
                  "discarded. Run the query again.")


def context_database(doc: Doc) -> str:
    """The query's default database; clients may quote it as an identifier (awswrangler sends `name`)."""
    name = str((doc.get("QueryExecutionContext") or {}).get("Database") or "").strip()
    if len(name) > 1 and name[0] == name[-1] and name[0] in "`\"":
        name = name[1:-1]
    return name.lower() or "default"


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


# GetQueryExecution on an unfinished query answers when the query ends, or after this long at the latest (a
# round trip well within an AWS API call's own latency); at most this many such calls wait at once.
STATUS_WAIT_SECONDS = 0.1
STATUS_WAITERS = 16


class _Running:
    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.ended = threading.Event()
        self.conn: duckdb.DuckDBPyConnection | None = None
        self.lock = threading.Lock()

    def attach(self, conn: duckdb.DuckDBPyConnection | None) -> None:
        with self.lock:
            self.conn = conn

    def interrupt(self) -> None:
        self.cancelled.set()
        with self.lock:
            if self.conn is not None:
                with contextlib.suppress(duckdb.Error):
                    self.conn.interrupt()


class QueryRunner:
    def __init__(self, store: AthenaStore, catalog: GlueCatalog, s3: S3LocalAccess, scratch_root: Path,
                 workers: int = 2, threads_per_query: int = 2, memory_limit: str = "2GB") -> None:
        self.store = store
        self.catalog = catalog
        self.s3 = s3
        self.scratch_root = scratch_root
        self.threads_per_query = threads_per_query
        self.memory_limit = memory_limit
        shutil.rmtree(scratch_root, ignore_errors=True)
        scratch_root.mkdir(parents=True, exist_ok=True)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="athena-query")
        self.publishers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="athena-publish")
        # A database made ahead for each worker, and up to four per worker kept for the accounts that ran last
        # (an idle database holds little memory; making one costs tens of milliseconds).
        self.databases = QueryDatabases(scratch_root / "databases", ready=workers, idle=4 * workers,
                                        threads=threads_per_query, memory_limit=memory_limit)
        self.pool.submit(self.databases.fill)
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._waiters = threading.BoundedSemaphore(STATUS_WAITERS)
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------------------------

    def recover(self) -> None:
        """Ends what a previous process left running, and queues again what it never started."""
        for scope, doc in self.store.all_of_kind(QUERY):
            state = doc["Status"]["State"]
            if state == "RUNNING":
                self._finish(scope, doc["QueryExecutionId"], "FAILED", reason=RESTART_REASON, category=1,
                             error_type=401, retryable=True, only_from=("RUNNING",))
            elif state == "QUEUED":
                self.submit(scope, doc["QueryExecutionId"])

    def close(self) -> None:
        self._closed = True
        with self._lock:
            for running in self._running.values():
                running.interrupt()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.publishers.shutdown(wait=True)
        self.databases.close()

    # -- control ---------------------------------------------------------------------------------------------

    def submit(self, scope: Scope, query_id: str) -> None:
        with self._lock:
            self._running[query_id] = _Running()
        self.pool.submit(self._execute, scope, query_id)

    def stop(self, scope: Scope, query_id: str) -> None:
        now = time.time()

        def change(doc: Doc) -> None:
            if doc["Status"]["State"] in ("QUEUED", "RUNNING"):
                doc["Status"]["State"] = "CANCELLED"
                doc["Status"]["StateChangeReason"] = "Query cancelled by user"
                doc["Status"]["CompletionDateTime"] = now
                doc["Statistics"]["TotalExecutionTimeInMillis"] = _ms(now - doc["Status"]["SubmissionDateTime"])

        self.store.update(QUERY, scope, query_id, change)
        with self._lock:
            running = self._running.get(query_id)
        if running is not None:
            running.interrupt()
            running.ended.set()

    def wait_briefly(self, query_id: str) -> None:
        """Waits (a little) for a query to end, so that a client polling its state in a tight loop is answered
        the moment it ends, instead of spending on status calls the CPU the query itself runs on."""
        with self._lock:
            running = self._running.get(query_id)
        if running is None or not self._waiters.acquire(blocking=False):
            return
        try:
            running.ended.wait(STATUS_WAIT_SECONDS)
        finally:
            self._waiters.release()

    # -- one query -------------------------------------------------------------------------------------------

    def _execute(self, scope: Scope, query_id: str) -> None:
        with self._lock:
            running = self._running.get(query_id) or _Running()
        scratch = self.scratch_root / query_id
        try:
            self._run(scope, query_id, running, scratch)
        except Exception:
            if running.cancelled.is_set():  # stopped mid-way: StopQueryExecution has recorded CANCELLED
                return
            log.exception("query %s failed unexpectedly", query_id)
            self._finish(scope, query_id, "FAILED", reason="GENERIC_INTERNAL_ERROR: internal error while running "
                         "the query", category=1, error_type=401, retryable=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            with self._lock:
                self._running.pop(query_id, None)
            if not self._closed:
                self.databases.fill()  # the query has ended: its client no longer waits on this worker

    def _run(self, scope: Scope, query_id: str, running: _Running, scratch: Path) -> None:
        started = time.time()

        def to_running(doc: Doc) -> None:
            if doc["Status"]["State"] == "QUEUED":
                doc["Status"]["State"] = "RUNNING"
                doc["Statistics"]["QueryQueueTimeInMillis"] = _ms(started - doc["Status"]["SubmissionDateTime"])

        # Not synced on its own: after a power loss the query is QUEUED again and recovery runs it again.
        doc = self.store.update(QUERY, scope, query_id, to_running, durable=False)
        if doc is None or doc["Status"]["State"] != "RUNNING" or self._closed:
            return
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        output = doc.get("fb", {}).get("output_base", "")
        workgroup = doc["WorkGroup"]
        ctx = ExecContext(
            query_id=query_id, account=scope[0], region=scope[1], catalog=self.catalog, s3=self.s3, scratch=scratch,
            database=context_database(doc), workgroup=workgroup,
            output_location=output,
            prepared=lambda name: (self.store.get(PREPARED, scope, name, parent=workgroup) or {}).get(
                "QueryStatement"),
            threads=self.threads_per_query, memory_limit=self.memory_limit, cancelled=running.cancelled,
            on_connection=running.attach)
        engine: Engine | None = None
        database = self.databases.take(scope[0])
        ctx.query_database = database
        healthy = False
        try:  # the engine is closed after the final state is recorded: its client need not wait for that
            try:
                self._check_output(scope, output)
                text = expand(ctx, doc["Query"], list(doc.get("ExecutionParameters") or []))
                engine = Engine(ctx)
                outcome = run(engine, text)
                if running.cancelled.is_set():
                    return
                self._check_cutoff(scope, workgroup, outcome)
                publish = self._publish(scope, doc, outcome)
            except QueryFailed as failure:
                if running.cancelled.is_set():
                    return
                reason = engine.session.public_text(failure.reason) if engine is not None else failure.reason
                self._finish(scope, query_id, "FAILED", reason=reason, category=failure.category,
                             error_type=failure.error_type, retryable=failure.retryable, started=started)
                healthy = True  # a statement that fails cleanly leaves nothing behind but its own connection
                return
            self._finish(scope, query_id, "SUCCEEDED", outcome=outcome, started=started, published=publish)
            healthy = True
        finally:
            if engine is not None:
                engine.close()
            # A statement that broke unexpectedly, or was stopped, may have left the database mid-way: it is
            # not lent again.
            self.databases.give_back(database, healthy and not running.cancelled.is_set())

    def _check_output(self, scope: Scope, output: str) -> None:
        try:
            bucket, _ = split_uri(output)
            self.s3.bucket(scope[0], bucket)
        except S3LocalError:
            bucket = output[5:].split("/", 1)[0] if output.startswith("s3://") else output
            raise QueryFailed(f"Unable to verify/create output bucket {bucket}", 2, 1006) from None

    def _check_cutoff(self, scope: Scope, workgroup: str, outcome: Outcome) -> None:
        group = self.store.get(WORKGROUP, scope, workgroup) or {}
        cutoff = (group.get("Configuration") or {}).get("BytesScannedCutoffPerQuery")
        if cutoff and outcome.scanned_bytes > int(cutoff):
            raise QueryFailed("Query exhausted the data scan limit: the workgroup allows "
                              f"{cutoff} bytes per query and this query scanned {outcome.scanned_bytes}.", 2, 1006)

    def _publish(self, scope: Scope, doc: Doc, outcome: Outcome) -> dict[str, Any]:
        """Writes the result files Athena writes; returns what the execution record should remember."""
        base = doc["fb"]["output_base"]
        query_id = doc["QueryExecutionId"]
        bucket, prefix = split_uri(base)
        account = scope[0]
        published: dict[str, Any] = {}
        try:
            if outcome.csv_path is not None:
                key = f"{prefix}{query_id}.csv"
                # The two objects are stored side by side, so that S3's writer can commit them together
                # (one sync for both), or at least sync one while the other's bytes are written.
                metadata = self.publishers.submit(self.s3.put, account, bucket, key + ".metadata",
                                                  results.metadata_bytes(outcome.columns),
                                                  "application/octet-stream")
                try:
                    self.s3.put(account, bucket, key, outcome.csv_path, "text/csv")
                finally:
                    metadata.result()
                published["output"] = f"s3://{bucket}/{key}"
                published["format"] = "csv"
            else:
                key = f"{prefix}{query_id}.txt"
                text_path = self.scratch_root / query_id / "result.txt"
                results.write_text(text_path, outcome.text_rows or [])
                self.s3.put(account, bucket, key, text_path, "text/plain")
                published["output"] = f"s3://{bucket}/{key}"
                published["format"] = "txt"
            if outcome.written or outcome.substatement in ("INSERT", "CREATE_TABLE_AS_SELECT", "UNLOAD"):
                manifest = "".join(f"{uri}\n" for uri in outcome.written).encode()
                key = f"{prefix}{query_id}-manifest.csv"
                self.s3.put(account, bucket, key, manifest, "text/csv")
                published["manifest"] = f"s3://{bucket}/{key}"
        except S3LocalError as exc:
            raise QueryFailed(f"Unable to write query results to {base}: {exc}", 2, 1006) from None
        return published

    def _finish(self, scope: Scope, query_id: str, state: str, *, reason: str | None = None, category: int = 2,
                error_type: int = 1006, retryable: bool = False, outcome: Outcome | None = None,
                started: float | None = None, published: dict[str, Any] | None = None,
                only_from: tuple[str, ...] = ("QUEUED", "RUNNING")) -> None:
        ended = time.time()

        def change(doc: Doc) -> None:
            status = doc["Status"]
            if status["State"] not in only_from:
                return
            status["State"] = state
            status["CompletionDateTime"] = ended
            stats = doc["Statistics"]
            submitted = status["SubmissionDateTime"]
            engine_ms = _ms(ended - (started or ended))
            stats["EngineExecutionTimeInMillis"] = engine_ms
            stats["TotalExecutionTimeInMillis"] = _ms(ended - submitted)
            stats["QueryPlanningTimeInMillis"] = min(engine_ms, stats.get("QueryPlanningTimeInMillis", 0))
            stats["ServiceProcessingTimeInMillis"] = max(0, stats["TotalExecutionTimeInMillis"] - engine_ms
                                                         - stats.get("QueryQueueTimeInMillis", 0))
            if reason is not None:
                status["StateChangeReason"] = reason
                status["AthenaError"] = {"ErrorCategory": category, "ErrorType": error_type,
                                         "Retryable": retryable, "ErrorMessage": reason}
            if outcome is not None:
                doc["StatementType"] = outcome.statement_type
                doc["SubstatementType"] = outcome.substatement
                stats["DataScannedInBytes"] = outcome.scanned_bytes
                fb = doc.setdefault("fb", {})
                fb["columns"] = outcome.columns
                fb["update_count"] = outcome.update_count if outcome.substatement != "SELECT" else 0
                fb.update(published or {})
                if published and "output" in published:
                    doc.setdefault("ResultConfiguration", {})["OutputLocation"] = published["output"]
                if published and "manifest" in published:
                    stats["DataManifestLocation"] = published["manifest"]

        self.store.update(QUERY, scope, query_id, change)
        with self._lock:
            running = self._running.get(query_id)
        if running is not None:
            running.ended.set()
