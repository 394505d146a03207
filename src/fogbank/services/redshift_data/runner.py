"""Running statements: a bounded pool of workers, one DuckDB transaction per statement or batch.

A submitted statement is SUBMITTED until a worker picks it up (PICKED), STARTED while it runs, and ends
FINISHED, FAILED (with Redshift's error text) or ABORTED (cancelled). A batch runs its SQL statements in
order in one transaction: the first failure rolls all of them back. Each result set is written to its result
file before the transaction commits, so a FINISHED statement always has its result on disk.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from fogbank.services.glue.records import is_iceberg
from fogbank.services.redshift_data import (
    commands,
    external,
    external_iceberg,
    loading,
    spectrum,
    spectrum_writes,
    unloading,
)
from fogbank.services.redshift_data.commands import (
    CopyCommand,
    DatabaseCommand,
    DropSchemaCommand,
    ExternalSchemaCommand,
    NoOpCommand,
    SetCommand,
    TransactionCommand,
    UnloadCommand,
)
from fogbank.services.redshift_data.pgerror import RedshiftSqlError, from_duckdb
from fogbank.services.redshift_data.results import ResultMeta, make_column, redshift_type, write_result
from fogbank.services.redshift_data.s3io import S3Access, Scratch
from fogbank.services.redshift_data.sqltext import leading_words, split_statements
from fogbank.services.redshift_data.statements import INTERRUPTED, StatementStore
from fogbank.services.redshift_data.translate import Dialect, ExternalRef, Translated, translate, translate_query
from fogbank.services.redshift_data.warehouse import ExternalSchema, Warehouses
from fogbank.services.s3.local_access import S3LocalAccess

if TYPE_CHECKING:
    from fogbank.services.s3.provider import S3Provider

log = logging.getLogger(__name__)

BATCH_ROWS = 10_000


@dataclass
class Job:
    """A statement (or batch) waiting for or holding a worker."""

    id: str
    scope: tuple[str, str]
    owner: str
    database: str
    user: str
    sqls: list[str]
    parameters: dict[str, str]
    result_format: str
    is_batch: bool
    session: Session | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    cursor: duckdb.DuckDBPyConnection | None = None


@dataclass
class Session:
    """A Data API session: one connection kept open between statements (temporary tables survive)."""

    id: str
    scope: tuple[str, str]
    owner: str
    target: dict[str, str]
    database: str
    user: str
    keep_alive: int
    cursor: duckdb.DuckDBPyConnection | None = None
    created: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.time)
    busy: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def expires(self) -> float:
        return self.last_used + self.keep_alive


@dataclass
class Outcome:
    """What one SQL text did: rows affected or returned, and its result when it returned rows."""

    rows: int = 0
    result: ResultMeta | None = None
    wrote: bool = False


class Runner:
    """Executes jobs on the warehouses; records every state change in the statement store."""

    def __init__(self, store: StatementStore, warehouses: Warehouses, s3: S3Provider,
                 catalog: external.CatalogSource, scratch_root: Path, workers: int = 4,
                 page_bytes: int = 16 << 20) -> None:
        self.store = store
        self.warehouses = warehouses
        self.s3 = s3
        self.catalog = catalog
        self.scratch_root = scratch_root
        self.page_bytes = page_bytes
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="redshift-data")
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.closing = False
        # Query ids only grow, across restarts too (seconds since 2020 times 100, then one per query).
        self._query_id = int((time.time() - 1_577_836_800) * 100)

    def _next_query_id(self) -> int:
        with self.lock:
            self._query_id += 1
            return self._query_id

    def active(self) -> int:
        with self.lock:
            return len(self.jobs)

    def submit(self, job: Job) -> None:
        with self.lock:
            self.jobs[job.id] = job
        self.executor.submit(self._run, job)

    def cancel(self, statement_id: str) -> bool:
        """Asks a queued or running statement to stop; False if it is not running here."""
        with self.lock:
            job = self.jobs.get(statement_id)
        if job is None:
            return False
        if not job.cancelled.is_set():
            job.cancelled.set()
            threading.Thread(target=self._interrupt_until_done, args=(job,), name="redshift-data-cancel",
                             daemon=True).start()
        return True

    @staticmethod
    def _interrupt_until_done(job: Job) -> None:
        """Interrupts the job's query until the job ends: a query that starts just after one interrupt
        (between the cancel and the engine picking it up) is caught by the next."""
        while not job.done.wait(0.05):
            cursor = job.cursor
            if cursor is not None:
                with contextlib.suppress(Exception):
                    cursor.interrupt()

    def wait(self, statement_id: str, seconds: float) -> None:
        with self.lock:
            job = self.jobs.get(statement_id)
        if job is not None:
            job.done.wait(seconds)

    def close(self) -> None:
        """Stops every statement; those that were running end FAILED (the server stopped under them)."""
        self.closing = True
        with self.lock:
            jobs = list(self.jobs.values())
        for job in jobs:
            self.cancel(job.id)
        self.executor.shutdown(wait=True, cancel_futures=True)

    # -- state changes ------------------------------------------------------------------------------------

    def _set(self, job: Job, status: str, index: int | None = None, **members: Any) -> None:
        now = time.time()

        def change(record: dict[str, Any]) -> None:
            target = record if index is None else record["SubStatements"][index]
            target["Status"] = status
            target["UpdatedAt"] = now
            if status == "STARTED" and "_started" not in target:
                target["_started"] = now
            if status in ("FINISHED", "FAILED", "ABORTED") and "_started" in target:
                target["Duration"] = int((now - target["_started"]) * 1e9)
            target.update(members)

        if index is None and status in ("FINISHED", "FAILED", "ABORTED") and job.session is not None:
            # Free the session before the end is visible: a client that sees FINISHED may send the next one.
            job.session.last_used = now
            job.session.busy = False
        self.store.update(job.id, change)

    # -- running --------------------------------------------------------------------------------------------

    def _run(self, job: Job) -> None:
        try:
            if job.cancelled.is_set():
                if self.closing:
                    self._finish_failed(job, RedshiftSqlError(INTERRUPTED, prefix="FATAL"), 0)
                else:
                    self._abort_all(job)
                return
            self._set(job, "PICKED")
            self._set(job, "STARTED", RedshiftQueryId=self._next_query_id())
            self._execute(job)
        except Exception:
            log.exception("statement %s failed unexpectedly", job.id)
            with contextlib.suppress(Exception):
                self._set(job, "FAILED", Error="ERROR: internal error while running the statement")
        finally:
            with self.lock:
                self.jobs.pop(job.id, None)
            job.done.set()

    def _abort_all(self, job: Job) -> None:
        for index in range(len(job.sqls) if job.is_batch else 0):
            self._set(job, "ABORTED", index)
        self._set(job, "ABORTED", Error="Query cancelled on user's request")

    def _open(self, job: Job) -> duckdb.DuckDBPyConnection:
        session = job.session
        if session is not None:
            if session.cursor is None:
                session.cursor = self.warehouses.cursor(job.owner, job.database)
            return session.cursor
        return self.warehouses.cursor(job.owner, job.database)

    def _execute(self, job: Job) -> None:
        try:
            cursor = self._open(job)
        except RedshiftSqlError as error:
            self._finish_failed(job, error, 0)
            return
        job.cursor = cursor
        scratch = Scratch(self.scratch_root, job.id)
        dialect = Dialect(user=job.user, database=job.database)
        index = 0
        wrote = False
        totals = [0, 0]
        try:
            cursor.begin()
            for index, sql in enumerate(job.sqls):
                if job.is_batch:
                    self._set(job, "STARTED", index, RedshiftQueryId=self._next_query_id())
                outcome = self._run_text(job, cursor, sql, dialect, scratch, index)
                wrote = wrote or outcome.wrote
                totals[0] += max(outcome.rows, 0)
                totals[1] += outcome.result.size if outcome.result else 0
                if job.is_batch:
                    self._set(job, "FINISHED", index, **self._result_members(outcome))
                else:
                    members = self._result_members(outcome)
                if job.cancelled.is_set():
                    raise RedshiftSqlError("Query cancelled on user's request")
            cursor.commit()
        except Exception as error:
            with contextlib.suppress(Exception):
                cursor.rollback()
            if job.session is None:
                with contextlib.suppress(Exception):
                    cursor.close()
            if job.cancelled.is_set() and self.closing:
                self._finish_failed(job, RedshiftSqlError(INTERRUPTED, prefix="FATAL"), index)
            elif job.cancelled.is_set():
                self._finish_aborted(job, index)
            else:
                self._finish_failed(job, from_duckdb(error), index)
            return
        finally:
            scratch.close()
            job.cursor = None
        if job.session is None:
            cursor.close()
        if wrote:
            self.warehouses.checkpoint(job.owner, job.database)
        if job.is_batch:
            self._set(job, "FINISHED", ResultRows=totals[0], ResultSize=totals[1],
                      HasResultSet=self._batch_has_results(job))
        else:
            self._set(job, "FINISHED", **members)

    def _batch_has_results(self, job: Job) -> bool:
        found = self.store.get(job.id)
        return bool(found and any(s.get("HasResultSet") for s in found[1].get("SubStatements") or []))

    @staticmethod
    def _result_members(outcome: Outcome) -> dict[str, Any]:
        members: dict[str, Any] = {"ResultRows": outcome.rows, "HasResultSet": outcome.result is not None,
                                   "ResultSize": outcome.result.size if outcome.result else 0}
        if outcome.result is not None:
            members["_result"] = outcome.result.to_json()
        return members

    def _finish_failed(self, job: Job, error: RedshiftSqlError, index: int) -> None:
        text = str(error)
        if job.is_batch:
            for i in range(len(job.sqls)):
                if i < index:
                    continue
                if i == index:
                    self._set(job, "FAILED", i, Error=text)
                else:
                    self._set(job, "ABORTED", i)
        self._set(job, "FAILED", Error=text)

    def _finish_aborted(self, job: Job, index: int) -> None:
        if job.is_batch:
            for i in range(index, len(job.sqls)):
                self._set(job, "ABORTED", i)
        self._set(job, "ABORTED", Error="Query cancelled on user's request")

    def _run_text(self, job: Job, cursor: duckdb.DuckDBPyConnection, sql: str, dialect: Dialect,
                  scratch: Scratch, index: int) -> Outcome:
        """Runs every statement of one SQL text in order; the last one's outcome is the text's."""
        statements = split_statements(sql)
        if not statements:
            raise RedshiftSqlError("syntax error at end of input")
        outcome = Outcome()
        wrote = False
        for position, statement in enumerate(statements):
            last = position == len(statements) - 1
            outcome = self._run_statement(job, cursor, statement, dialect, scratch,
                                          f"{index}-{position}", len(statements) > 1 or job.is_batch, last)
            wrote = wrote or outcome.wrote
        outcome.wrote = wrote
        return outcome

    def _run_statement(self, job: Job, cursor: duckdb.DuckDBPyConnection, sql: str, dialect: Dialect,
                       scratch: Scratch, name: str, in_block: bool, keep_result: bool) -> Outcome:
        if job.cancelled.is_set():
            raise RedshiftSqlError("Query cancelled on user's request")
        schemas = self.warehouses.external_schemas(job.owner, job.database)
        dialect.external_schemas = frozenset(schemas)
        ddl = spectrum.recognize(sql, schemas)
        if ddl is not None:
            if in_block:
                raise RedshiftSqlError(f"{' '.join(leading_words(sql, 3))} on an external table cannot run inside "
                                       "a transaction block")
            if ddl.action in ("create_as", "insert"):
                return self._write_lake(job, cursor, ddl, dialect, scratch)
            spectrum.run(ddl, self.catalog(), *job.scope)
            return Outcome()
        command = commands.recognize(sql)
        if command is None:
            translated = translate(sql, job.parameters, dialect)
            return self._run_translated(job, cursor, translated, scratch, name, keep_result)
        return self._run_command(job, cursor, command, dialect, scratch, in_block)

    def _write_lake(self, job: Job, cursor: duckdb.DuckDBPyConnection, ddl: spectrum.SpectrumDdl,
                    dialect: Dialect, scratch: Scratch) -> Outcome:
        """CREATE EXTERNAL TABLE ... AS and INSERT INTO an external table: the query's rows as lake files."""
        query = translate(ddl.query, job.parameters, dialect)
        if query.kind != "query":
            raise RedshiftSqlError("the statement needs a SELECT query to write")
        self._prepare_external(job, cursor, query.external, scratch)
        rows = spectrum_writes.write(ddl, cursor, query.sql, self.catalog(), S3Access(self.s3, *job.scope), scratch,
                                     job.id)
        return Outcome(rows=rows)

    def _prepare_external(self, job: Job, cursor: duckdb.DuckDBPyConnection, refs: list[ExternalRef],
                          scratch: Scratch) -> None:
        if not refs:
            return
        schemas = self.warehouses.external_schemas(job.owner, job.database)
        catalog = self.catalog()
        account, region = job.scope
        for ref in refs:
            schema = schemas[ref.schema]
            table = external.lake_table(catalog, account, schema.region or region, schema.glue_database,
                                        ref.schema, ref.table)
            assert catalog is not None
            partitions = external.lake_partitions(catalog, account, schema.region or region,
                                                  schema.glue_database, table)
            access = S3Access(self.s3, account, region)
            if is_iceberg(table):
                view = external_iceberg.view_sql(table, S3LocalAccess(self.s3), access, scratch)
            else:
                view = external.view_sql(cursor, table, partitions, access, scratch)
            cursor.execute(f'CREATE OR REPLACE TEMP VIEW "{ref.view}" AS {view}')

    def _run_translated(self, job: Job, cursor: duckdb.DuckDBPyConnection, translated: Translated,
                        scratch: Scratch, name: str, keep_result: bool) -> Outcome:
        self._prepare_external(job, cursor, translated.external, scratch)
        for before in translated.before:
            cursor.execute(before)
        cursor.execute(translated.sql)
        if translated.kind == "query":
            description = cursor.description or []
            columns = []
            for column in description:
                type_name, precision, scale = redshift_type(str(column[1]))
                columns.append(make_column(column[0], type_name, precision, scale))
            reader = cursor.to_arrow_reader(BATCH_ROWS) if hasattr(cursor, "to_arrow_reader") \
                else cursor.fetch_record_batch(BATCH_ROWS)
            if not keep_result:
                rows = sum(batch.num_rows for batch in reader)
                return Outcome(rows=rows)
            meta = write_result(self.store.result_folder(job.id), f"{name}.{job.result_format.lower()}", columns,
                                iter(reader), job.result_format, self.page_bytes)
            return Outcome(rows=meta.rows, result=meta)
        row = cursor.fetchone() if cursor.description else None
        count = int(row[0]) if row and translated.kind == "dml" and isinstance(row[0], int) else 0
        for after in translated.after:
            cursor.execute(after)
        return Outcome(rows=count, wrote=True)

    def _run_command(self, job: Job, cursor: duckdb.DuckDBPyConnection, command: commands.Command,
                     dialect: Dialect, scratch: Scratch, in_block: bool) -> Outcome:
        account, region = job.scope
        s3 = S3Access(self.s3, account, region)
        if isinstance(command, CopyCommand):
            rows = loading.run_copy(cursor, job.database, command, s3, scratch)
            return Outcome(rows=rows, wrote=True)
        if isinstance(command, UnloadCommand):
            query = translate_query(command.query, job.parameters, dialect)
            self._prepare_external(job, cursor, query.external, scratch)
            rows = unloading.run_unload(cursor, command, query.sql, s3, scratch)
            return Outcome(rows=rows)
        if isinstance(command, TransactionCommand):
            if command.action == "commit":
                cursor.commit()
                cursor.begin()
            elif command.action == "rollback":
                cursor.rollback()
                cursor.begin()
            return Outcome()
        if isinstance(command, ExternalSchemaCommand):
            self._create_external_schema(job, cursor, command)
            return Outcome()
        if isinstance(command, DropSchemaCommand):
            return self._drop_schema(job, cursor, command)
        if isinstance(command, DatabaseCommand):
            if in_block or job.session is not None:
                raise RedshiftSqlError(f"{command.action.upper()} DATABASE cannot run inside a transaction block")
            if command.action == "create":
                self.warehouses.create_database(job.owner, command.name)
            else:
                if command.name == job.database:
                    raise RedshiftSqlError("cannot drop the currently open database")
                self.warehouses.drop_database(job.owner, command.name)
            return Outcome()
        if isinstance(command, SetCommand):
            self._set_option(job, cursor, command)
            return Outcome()
        assert isinstance(command, NoOpCommand)
        return Outcome()

    def _set_option(self, job: Job, cursor: duckdb.DuckDBPyConnection, command: SetCommand) -> None:
        if command.name == "search_path":
            schemas = [v.strip().lower() for v in command.value if v.strip() and v.strip() != "$user"]
            if not schemas:
                schemas = ["public"]
            path = ",".join(f"{job.database}.{s}" for s in schemas)
            try:
                cursor.execute(f"SET search_path = '{path}'")
                cursor.execute(f'USE "{job.database}"."{schemas[0]}"')
            except duckdb.Error as error:
                raise from_duckdb(error) from None
        elif command.name == "timezone" and command.value:
            zone = command.value[0]
            try:
                cursor.execute(f"SET TimeZone = {loading.literal(zone)}")
            except duckdb.Error:
                raise RedshiftSqlError(f'invalid value for parameter "timezone": "{zone}"') from None

    def _create_external_schema(self, job: Job, cursor: duckdb.DuckDBPyConnection,
                                command: ExternalSchemaCommand) -> None:
        account, region = job.scope
        local = cursor.execute("SELECT 1 FROM duckdb_schemas() WHERE database_name = ? AND schema_name = ?",
                               [job.database, command.schema]).fetchone()
        if local:
            if command.if_not_exists:
                return
            raise RedshiftSqlError(f'Schema "{command.schema}" already exists')
        catalog = self.catalog()
        if catalog is None:
            raise RedshiftSqlError("The Glue Data Catalog is not available to this warehouse")
        lake_region = command.region or region
        exists = getattr(catalog, "exists", None)
        if exists is not None and not exists(account, lake_region, command.glue_database):
            create = getattr(catalog, "create_database", None)
            if not command.create_database or create is None:
                raise RedshiftSqlError(f"External database {command.glue_database} does not exist in the Data "
                                       "Catalog. Use CREATE EXTERNAL DATABASE IF NOT EXISTS to create it.")
            create(account, lake_region, {"Name": command.glue_database})
        self.warehouses.add_external_schema(job.owner, job.database,
                                            ExternalSchema(command.schema, command.glue_database, command.region),
                                            command.if_not_exists)

    def _drop_schema(self, job: Job, cursor: duckdb.DuckDBPyConnection, command: DropSchemaCommand) -> Outcome:
        if self.warehouses.drop_external_schema(job.owner, job.database, command.schema):
            return Outcome()
        sql = (f'DROP SCHEMA {"IF EXISTS " if command.if_exists else ""}"{job.database}"."{command.schema}"'
               f'{" CASCADE" if command.cascade else ""}')
        cursor.execute(sql)
        return Outcome(wrote=True)


def new_statement_id() -> str:
    return str(uuid.uuid4())
