"""The Redshift Data API provider: statements submitted, described, fetched, cancelled and listed.

Statements run asynchronously on the runner's bounded pool against the warehouse of the addressed cluster or
workgroup; their records and results are durable (see statements.py), and the database metadata operations
live in metadata.py.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.protocol.dispatch import Provider, operation
from fogbank.services.redshift_data.errors import (
    ActiveStatementsExceededException,
    ResourceNotFoundException,
    ValidationException,
)
from fogbank.services.redshift_data.external import CatalogSource, LakeCatalog
from fogbank.services.redshift_data.metadata import MetadataOperations
from fogbank.services.redshift_data.results import ResultMeta, json_records, read_page
from fogbank.services.redshift_data.runner import Job, Runner, Session
from fogbank.services.redshift_data.sqltext import parameter_names
from fogbank.services.redshift_data.statements import StatementStore, decode_token, encode_token
from fogbank.services.redshift_data.targets import Target, Targets, cluster_owner, namespace_owner
from fogbank.services.redshift_data.warehouse import Warehouses

if TYPE_CHECKING:
    from fogbank.services.redshift.docstore import Scope
    from fogbank.services.redshift.provider import RedshiftProvider
    from fogbank.services.redshift_serverless.provider import RedshiftServerlessProvider
    from fogbank.services.s3.provider import S3Provider

log = logging.getLogger(__name__)

MAX_ACTIVE_STATEMENTS = 500
MAX_SESSIONS = 500
NO_RESULT = "Query does not have result. Please check query status with DescribeStatement."
TERMINAL = ("FINISHED", "FAILED", "ABORTED")


def _no_catalog() -> LakeCatalog | None:
    return None


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


class RedshiftDataProvider(MetadataOperations, Provider):
    """The Data API over DuckDB warehouses under ``config.service_dir("redshift-data")``."""

    services = ("redshift-data",)

    def __init__(self, config: Config, s3: S3Provider, redshift: RedshiftProvider | None = None,
                 serverless: RedshiftServerlessProvider | None = None, catalog: CatalogSource = _no_catalog,
                 workers: int = 4, page_bytes: int = 16 << 20, session_sweep_interval: float = 5.0) -> None:
        root = config.service_dir("redshift-data")
        self.scratch = root / "scratch"
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.warehouses = Warehouses(root / "warehouses", self.scratch)
        self.store = StatementStore(root)
        interrupted = self.store.fail_interrupted()
        if interrupted:
            log.warning("%d Redshift Data API statements were interrupted by a restart", interrupted)
        self.store.sweep()
        self.catalog = catalog
        self.targets = Targets(self.warehouses, redshift, serverless)
        self.runner = Runner(self.store, self.warehouses, s3, catalog, self.scratch, workers=workers,
                             page_bytes=page_bytes)
        self.sessions: dict[str, Session] = {}
        self.sessions_lock = threading.Lock()
        self._stop = threading.Event()
        self._sweeper = threading.Thread(target=self._sweep_sessions, args=(session_sweep_interval,),
                                         name="redshift-data-sessions", daemon=True)
        self._sweeper.start()
        if redshift is not None:
            redshift.on_cluster_deleted.append(self._cluster_deleted)
        if serverless is not None:
            serverless.on_namespace_deleted.append(self._namespace_deleted)

    @property
    def page_bytes(self) -> int:
        return self.runner.page_bytes

    @page_bytes.setter
    def page_bytes(self, value: int) -> None:
        self.runner.page_bytes = value

    def _cluster_deleted(self, scope: Scope, record: dict[str, Any]) -> None:
        self.warehouses.drop_owner(cluster_owner(record))

    def _namespace_deleted(self, scope: Scope, record: dict[str, Any]) -> None:
        self.warehouses.drop_owner(namespace_owner(record))

    def close(self) -> None:
        self._stop.set()
        self._sweeper.join()
        self.runner.close()
        with self.sessions_lock:
            sessions = list(self.sessions.values())
            self.sessions.clear()
        for session in sessions:
            if session.cursor is not None:
                with contextlib.suppress(Exception):
                    session.cursor.close()
        self.warehouses.close()
        self.store.close()

    def health(self) -> dict[str, Any]:
        return {"state": "running", "active_statements": self.runner.active(), "sessions": len(self.sessions)}

    # -- sessions -------------------------------------------------------------------------------------------

    def _sweep_sessions(self, interval: float) -> None:
        while not self._stop.wait(interval):
            now = time.time()
            with self.sessions_lock:
                expired = [s for s in self.sessions.values() if not s.busy and s.expires <= now]
                for session in expired:
                    del self.sessions[session.id]
            for session in expired:
                if session.cursor is not None:
                    with contextlib.suppress(Exception):
                        session.cursor.close()

    def _session(self, ctx: RequestContext, session_id: str) -> Session:
        with self.sessions_lock:
            session = self.sessions.get(session_id)
        if session is None or session.scope != ctx.scope or session.expires <= time.time():
            raise ValidationException(f"Session {session_id} is not available. It may have timed out or been "
                                      "closed.")
        return session

    # -- submitting -----------------------------------------------------------------------------------------

    @staticmethod
    def _parameters(req: dict[str, Any], sqls: list[str]) -> dict[str, str]:
        given: dict[str, str] = {}
        for parameter in req.get("Parameters") or []:
            name = parameter["name"]
            if name in given:
                raise ValidationException(f"Parameter {name} is specified more than once.")
            given[name] = parameter["value"]
        for sql in sqls:
            for name in parameter_names(sql):
                if name not in given:
                    raise ValidationException(f"Parameter {name} is missing a value. Provide a value for every "
                                              "named parameter in the SQL statement.")
        return given

    def _submit(self, ctx: RequestContext, req: dict[str, Any], sqls: list[str], is_batch: bool) -> dict[str, Any]:
        for sql in sqls:
            if not sql or not sql.strip():
                raise ValidationException("The SQL statement must not be empty.")
        token = req.get("ClientToken")
        if token:
            existing = self.store.find_token(ctx.scope, token)
            if existing is not None:
                return self._submitted(existing)
        parameters = self._parameters(req, sqls)
        if self.runner.active() >= MAX_ACTIVE_STATEMENTS:
            raise ActiveStatementsExceededException(
                f"Active statements exceeded the allowed quota ({MAX_ACTIVE_STATEMENTS}).")
        session, target = self._session_and_target(ctx, req)
        statement_id = str(uuid.uuid4())
        now = time.time()
        record: dict[str, Any] = {
            "Id": statement_id, "CreatedAt": now, "UpdatedAt": now, "Status": "SUBMITTED",
            "Database": target.database, "DbUser": target.user, "HasResultSet": False, "ResultRows": -1,
            "ResultSize": -1, "Duration": -1, "RedshiftPid": 1073741824 + (hash(statement_id) % 100000),
            "RedshiftQueryId": 0, "ResultFormat": req.get("ResultFormat") or "JSON", "IsBatchStatement": is_batch,
            **target.members, "_owner": target.owner,
        }
        if req.get("SecretArn"):
            record["SecretArn"] = req["SecretArn"]
        if req.get("StatementName"):
            record["StatementName"] = req["StatementName"]
        if req.get("Parameters"):
            record["QueryParameters"] = req["Parameters"]
        if session is not None:
            record["SessionId"] = session.id
        if is_batch:
            record["QueryString"] = "; ".join(sqls)
            record["QueryStrings"] = list(sqls)
            record["SubStatements"] = [{"Id": f"{statement_id}:{i + 1}", "QueryString": sql, "Status": "SUBMITTED",
                                        "CreatedAt": now, "UpdatedAt": now, "ResultRows": -1, "ResultSize": -1,
                                        "HasResultSet": False, "Duration": -1, "RedshiftQueryId": 0}
                                       for i, sql in enumerate(sqls)]
        else:
            record["QueryString"] = sqls[0]
        self.store.insert(ctx.scope, record, token)
        job = Job(statement_id, ctx.scope, target.owner, target.database, target.user, list(sqls), parameters,
                  record["ResultFormat"], is_batch, session=session)
        self.runner.submit(job)
        wait = req.get("WaitTimeSeconds")
        if wait:
            self.runner.wait(statement_id, float(wait))
            found = self.store.get(statement_id)
            if found is not None:
                record = found[1]
        return self._submitted(record)

    def _session_and_target(self, ctx: RequestContext, req: dict[str, Any]) -> tuple[Session | None, Target]:
        session_id = req.get("SessionId")
        keep_alive = req.get("SessionKeepAliveSeconds")
        if session_id:
            if req.get("ClusterIdentifier") or req.get("WorkgroupName") or req.get("Database"):
                raise ValidationException("A statement that names a SessionId runs in that session's database; "
                                          "don't specify ClusterIdentifier, WorkgroupName or Database.")
            session = self._session(ctx, session_id)
            with session.lock:
                if session.busy:
                    raise ValidationException(f"Session {session_id} is busy running another statement.")
                session.busy = True
            if keep_alive is not None:
                session.keep_alive = int(keep_alive)
            target = Target(session.owner, session.target, session.database, session.database, session.user)
            return session, target
        target = self.targets.resolve(ctx.scope, req)
        if not keep_alive:
            return None, target
        with self.sessions_lock:
            if sum(1 for s in self.sessions.values() if s.scope == ctx.scope) >= MAX_SESSIONS:
                raise ValidationException(f"Active sessions exceeded the allowed quota ({MAX_SESSIONS}).")
            session = Session(str(uuid.uuid4()), ctx.scope, target.owner, target.members, target.database,
                              target.user, int(keep_alive), busy=True)
            self.sessions[session.id] = session
        return session, target

    @staticmethod
    def _submitted(record: dict[str, Any]) -> dict[str, Any]:
        out = {k: record[k] for k in ("Id", "CreatedAt", "Database", "DbUser", "SecretArn", "ClusterIdentifier",
                                      "WorkgroupName", "SessionId") if record.get(k) is not None}
        out["Status"] = record["Status"]
        return out

    @operation("ExecuteStatement")
    def execute_statement(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._submit(ctx, req, [req["Sql"]], is_batch=False)

    @operation("BatchExecuteStatement")
    def batch_execute_statement(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._submit(ctx, req, list(req["Sqls"]), is_batch=True)

    # -- reading statements ----------------------------------------------------------------------------------

    def _statement(self, ctx: RequestContext, statement_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """(the statement, the addressed sub-statement or None) of an Id like "<uuid>" or "<uuid>:2"."""
        base, _, suffix = statement_id.partition(":")
        found = self.store.get(base)
        if found is None or found[0] != ctx.scope:
            raise ResourceNotFoundException("Query does not exist.", ResourceId=statement_id)
        record = found[1]
        if not suffix:
            return record, None
        subs = record.get("SubStatements") or []
        if not suffix.isdigit() or not 1 <= int(suffix) <= len(subs):
            raise ResourceNotFoundException("Query does not exist.", ResourceId=statement_id)
        return record, subs[int(suffix) - 1]

    def _wait(self, req: dict[str, Any]) -> None:
        if req.get("WaitTimeSeconds"):
            self.runner.wait(req["Id"].partition(":")[0], float(req["WaitTimeSeconds"]))

    @operation("DescribeStatement")
    def describe_statement(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._wait(req)
        record, sub = self._statement(ctx, req["Id"])
        out = _public(record)
        out.pop("IsBatchStatement", None)
        out.pop("QueryStrings", None)
        if sub is not None:
            for member in ("Id", "Status", "Error", "Duration", "CreatedAt", "UpdatedAt", "QueryString",
                           "ResultRows", "ResultSize", "HasResultSet", "RedshiftQueryId"):
                if member in sub:
                    out[member] = sub[member]
                else:
                    out.pop(member, None)
            out.pop("SubStatements", None)
        elif "SubStatements" in out:
            out["SubStatements"] = [_public(s) for s in out["SubStatements"]]
        return out

    def _result(self, ctx: RequestContext, req: dict[str, Any], fmt: str) -> tuple[ResultMeta, int]:
        self._wait(req)
        record, sub = self._statement(ctx, req["Id"])
        target = sub if sub is not None else record
        if sub is None and record.get("IsBatchStatement"):
            raise ValidationException(f"Statement {req['Id']} is a batch; fetch the result of one of its "
                                      f"statements with an Id like {req['Id']}:1.")
        if target.get("Status") != "FINISHED" or not target.get("_result"):
            raise ResourceNotFoundException(NO_RESULT, ResourceId=req["Id"])
        meta = ResultMeta.from_json(target["_result"])
        if meta.fmt != fmt:
            other = "GetStatementResultV2" if meta.fmt == "CSV" else "GetStatementResult"
            raise ValidationException(f"The statement's ResultFormat is {meta.fmt}; fetch its result with {other}.")
        page = 0
        if req.get("NextToken"):
            try:
                parts = decode_token(req["NextToken"])
                if parts[0] != req["Id"] or not isinstance(parts[1], int):
                    raise ValueError("foreign token")
                page = parts[1]
            except (ValueError, IndexError):
                raise ValidationException("Invalid NextToken.") from None
            if not 0 <= page < len(meta.pages):
                raise ValidationException("Invalid NextToken.")
        return meta, page

    def _page_out(self, req: dict[str, Any], meta: ResultMeta, page: int) -> dict[str, Any]:
        out: dict[str, Any] = {"ColumnMetadata": meta.columns, "TotalNumRows": meta.rows}
        if page + 1 < len(meta.pages):
            out["NextToken"] = encode_token(req["Id"], page + 1)
        return out

    @operation("GetStatementResult")
    def get_statement_result(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        meta, page = self._result(ctx, req, "JSON")
        out = self._page_out(req, meta, page)
        out["Records"] = json_records(read_page(self.store.results, meta, page))
        return out

    @operation("GetStatementResultV2")
    def get_statement_result_v2(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        meta, page = self._result(ctx, req, "CSV")
        out = self._page_out(req, meta, page)
        text = read_page(self.store.results, meta, page).decode()
        out["Records"] = [{"CSVRecords": text}] if text else []
        out["ResultFormat"] = "CSV"
        return out

    @operation("CancelStatement")
    def cancel_statement(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        record, _ = self._statement(ctx, req["Id"].partition(":")[0])
        if record["Status"] in TERMINAL:
            raise ValidationException(f"Could not cancel a query that is already in {record['Status']} state.")
        if not self.runner.cancel(record["Id"]):
            raise ValidationException(f"Could not cancel a query that is already in {record['Status']} state.")
        return {"Status": True}

    @operation("ListStatements")
    def list_statements(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        limit = req.get("MaxResults") or 100
        before = None
        if req.get("NextToken"):
            try:
                created, last_id = decode_token(req["NextToken"])
                before = (float(created), str(last_id))
            except (ValueError, TypeError):
                raise ValidationException("Invalid NextToken.") from None
        filters = {k: req[k] for k in ("Database", "ClusterIdentifier", "WorkgroupName") if req.get(k)}

        def keep(record: dict[str, Any]) -> bool:
            return all(record.get(k) == v for k, v in filters.items())

        records = self.store.records(ctx.scope, req.get("Status"), req.get("StatementName"), before, limit, keep)
        page = records[:limit]
        statements = []
        for record in page:
            item = {k: record[k] for k in ("Id", "SecretArn", "Status", "StatementName", "CreatedAt", "UpdatedAt",
                                           "QueryParameters", "IsBatchStatement", "ResultFormat", "SessionId")
                    if record.get(k) is not None}
            if record.get("IsBatchStatement"):
                item["QueryStrings"] = record.get("QueryStrings") or []
            else:
                item["QueryString"] = record.get("QueryString", "")
            statements.append(item)
        out: dict[str, Any] = {"Statements": statements}
        if len(records) > limit and page:
            out["NextToken"] = encode_token(page[-1]["CreatedAt"], page[-1]["Id"])
        return out

    @operation("ListSessions")
    def list_sessions(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        with self.sessions_lock:
            sessions = sorted((s for s in self.sessions.values() if s.scope == ctx.scope and s.expires > now),
                              key=lambda s: s.id)
        out = []
        for session in sessions:
            if req.get("SessionId") and session.id != req["SessionId"]:
                continue
            if req.get("Database") and session.database != req["Database"]:
                continue
            if any(req.get(k) and session.target.get(k) != req[k] for k in ("ClusterIdentifier", "WorkgroupName")):
                continue
            item: dict[str, Any] = {"SessionId": session.id, "Status": "BUSY" if session.busy else "AVAILABLE",
                                    "CreatedAt": session.created, "UpdatedAt": session.last_used,
                                    "Database": session.database, "DbUser": session.user,
                                    "SessionAliveSeconds": session.keep_alive,
                                    "SessionTtl": session.expires, **session.target}
            out.append(item)
        return {"Sessions": out}
