"""Athena benchmark: the 22 TPC-H queries through fogbank's Athena API against raw DuckDB on the same Parquet
files, in one run; plus partition pruning on an 8-partition table.

TPC-H is generated at `--sf` with DuckDB's tpch extension (the `duckdb-extension-tpch` package from PyPI, loaded
from its wheel: nothing is downloaded) and written as one Parquet file per table. fogbank is started on a free
loopback port with a temporary data dir; the files are PUT into its S3 under `tpch/<table>/`, and a Glue crawler
catalogues them (one table per folder, schemas inferred from the Parquet footers). A ninth table, `orders_part`,
holds the orders split into 8 Hive-style partitions (`shard=0..7`, by `o_orderkey % 8`).

Each query runs `--rounds` times, alternating fogbank and DuckDB. Through Athena it is StartQueryExecution and
GetQueryExecution until it ends (after 10 ms, then every 5% of the time waited, at most every 50 ms); then the rows
are fetched both ways Athena's clients fetch them, one after the other (which goes first alternates by round):
every page of GetQueryResults (PyAthena's default cursor), and the result CSV read from the output location with
GetObject and parsed by Python's csv module (how awswrangler and PyAthena's pandas and arrow cursors read results).
In DuckDB it is the same SQL text on views over the same local files, with the same thread count and memory limit
as one fogbank query, fetched into Python. Each figure is the sum of per-query medians, and the ratio
fogbank / DuckDB, once for each way of fetching; every answer is compared cell by cell (numbers to 1e-9
relative), so a fast wrong answer fails the run.

    .venv/bin/python bench/athena.py --sf 1 --rounds 3 --markdown-out bench/RESULTS.md
    .venv/bin/python bench/athena.py --sf 0.1 --rounds 1 --queries 1,3,6   # quick look
"""

from __future__ import annotations

import argparse
import csv
import datetime
import decimal
import io
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import duckdb
from botocore.config import Config as BotoConfig

from _peers import free_port, log
from _report import machine, utc_date

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
BUCKET = "fogbank-bench-athena"
DATABASE = "tpch"
TABLES = ("customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier")
SHARDS = 8
# fogbank's Athena runs each query with 2 DuckDB threads and a 2 GB memory limit; the peer gets the same.
THREADS = 2
MEMORY = "2GB"
# GetQueryExecution is polled after 10 ms, then every 5% of the time waited so far, at most every 50 ms: a
# prompt answer for short queries, while a long one is not slowed by its own client on a 2-core machine.
POLL = 0.01
POLL_SHARE = 0.05
POLL_MAX = 0.05
TARGET_RATIO = 1.2
WARM_UP = ("SELECT count(*), sum(l_quantity) FROM lineitem WHERE l_shipdate < DATE '1995-01-01'",
           "SELECT n_name, count(*) FROM nation JOIN customer ON c_nationkey = n_nationkey GROUP BY n_name")


@dataclass
class QueryResult:
    number: int
    run_s: list[float] = field(default_factory=list)  # StartQueryExecution to SUCCEEDED seen
    engine_s: list[float] = field(default_factory=list)
    paging_s: list[float] = field(default_factory=list)  # every page of GetQueryResults
    trips_s: list[float] = field(default_factory=list)  # of which HTTP round trips (server and wire)
    file_s: list[float] = field(default_factory=list)  # GetObject of the result CSV, parsed
    duckdb_s: list[float] = field(default_factory=list)
    rows: int = 0
    scanned: int = 0
    error: str = ""

    @property
    def paged(self) -> float:
        """The query with its rows fetched by GetQueryResults."""
        return statistics.median(r + p for r, p in zip(self.run_s, self.paging_s, strict=True))

    @property
    def filed(self) -> float:
        """The query with its rows read from the result file."""
        return statistics.median(r + f for r, f in zip(self.run_s, self.file_s, strict=True))

    @property
    def duckdb(self) -> float:
        return statistics.median(self.duckdb_s)

    @property
    def engine(self) -> float:
        return statistics.median(self.engine_s)

    @property
    def paging(self) -> float:
        return statistics.median(self.paging_s)

    @property
    def trips(self) -> float:
        return statistics.median(self.trips_s)

    @property
    def file(self) -> float:
        return statistics.median(self.file_s)


# -- data --------------------------------------------------------------------------------------------------


def tpch_extension() -> Path:
    import duckdb_extension_tpch

    found = sorted(Path(duckdb_extension_tpch.__file__).parent.glob("extensions/*/tpch.duckdb_extension"))
    if not found:
        raise SystemExit("duckdb-extension-tpch has no tpch.duckdb_extension for this DuckDB")
    return found[-1]


def generate(folder: Path, sf: float) -> dict[int, str]:
    """Writes TPC-H at `sf` as Parquet under folder/<table>/ (reused when complete); returns the queries."""
    conn = duckdb.connect(config={"threads": os.cpu_count() or 2})
    conn.execute(f"LOAD '{tpch_extension()}'")
    queries = {int(n): str(q) for n, q in conn.execute("SELECT query_nr, query FROM tpch_queries()").fetchall()}
    done = folder / "COMPLETE"
    if done.exists():
        return queries
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    conn.execute(f"CALL dbgen(sf = {sf})")
    for table in TABLES:
        (folder / table).mkdir()
        conn.execute(f"COPY {table} TO '{folder / table / 'data.parquet'}' (FORMAT PARQUET)")
    conn.execute(f"COPY (SELECT *, o_orderkey % {SHARDS} AS shard FROM orders) TO '{folder / 'orders_part'}' "
                 "(FORMAT PARQUET, PARTITION_BY (shard), FILENAME_PATTERN 'data_{i}')")
    conn.close()
    done.write_text(str(sf))
    log(f"generated TPC-H sf={sf} in {time.perf_counter() - started:.1f} s")
    return queries


def local_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.parquet"))


# -- fogbank -----------------------------------------------------------------------------------------------


def start_fogbank(data_dir: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOGBANK_", "AWS_"))}
    with open(log_path, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "fogbank", "serve", "--host", "127.0.0.1", "--port",
                                    str(port), "--data-dir", str(data_dir), "--log-level", "warning"], env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_fogbank/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    stop_fogbank(process)
    raise SystemExit(f"fogbank did not start; see {log_path}")


def stop_fogbank(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def client(url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                        aws_secret_access_key="bench",
                        config=BotoConfig(retries={"max_attempts": 1}, read_timeout=600))


def land(s3: Any, folder: Path) -> int:
    """PUTs every Parquet file under tpch/ with its folder layout; returns the bytes stored."""
    s3.create_bucket(Bucket=BUCKET)
    total = 0
    for path in local_files(folder):
        key = "tpch/" + path.relative_to(folder).as_posix()
        with open(path, "rb") as body:
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        total += path.stat().st_size
    return total


def crawl(glue: Any) -> float:
    """Catalogues tpch/ with a crawler and waits for it; returns the crawl's seconds."""
    glue.create_database(DatabaseInput={"Name": DATABASE})
    glue.create_crawler(Name="tpch", Role="arn:aws:iam::000000000000:role/crawler", DatabaseName=DATABASE,
                        Targets={"S3Targets": [{"Path": f"s3://{BUCKET}/tpch/"}]})
    started = time.perf_counter()
    glue.start_crawler(Name="tpch")
    while True:
        crawler = glue.get_crawler(Name="tpch")["Crawler"]
        if crawler["State"] == "READY" and crawler.get("LastCrawl"):
            break
        time.sleep(0.2)
    if crawler["LastCrawl"]["Status"] != "SUCCEEDED":
        raise SystemExit(f"crawl failed: {crawler['LastCrawl']}")
    elapsed = time.perf_counter() - started
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]}
    expected = {*TABLES, "orders_part"}
    if set(tables) != expected:
        raise SystemExit(f"the crawler made tables {sorted(tables)}, expected {sorted(expected)}")
    keys = [k["Name"] for k in tables["orders_part"].get("PartitionKeys") or []]
    partitions = glue.get_partitions(DatabaseName=DATABASE, TableName="orders_part")["Partitions"]
    if keys != ["shard"] or len(partitions) != SHARDS:
        raise SystemExit(f"orders_part: partition keys {keys}, {len(partitions)} partitions")
    return elapsed


class Athena:
    def __init__(self, url: str, poll: float = POLL) -> None:
        self.client = client(url, "athena")
        self.s3 = client(url, "s3")
        self.poll = poll
        # The time GetQueryResults requests spend on the wire and in the server (from botocore handing the
        # signed request to HTTP until it starts parsing the response body): the rest of paging is botocore's.
        self.round_trips = 0.0
        self._sent = 0.0
        events = self.client.meta.events
        events.register("before-send.athena.GetQueryResults", self._before_send)
        events.register("before-parse.athena.GetQueryResults", self._before_parse)

    def _before_send(self, **_: Any) -> None:
        self._sent = time.perf_counter()

    def _before_parse(self, **_: Any) -> None:
        self.round_trips += time.perf_counter() - self._sent

    def start(self, sql: str) -> str:
        return str(self.client.start_query_execution(
            QueryString=sql, QueryExecutionContext={"Database": DATABASE},
            ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/results/"})["QueryExecutionId"])

    def wait(self, query_id: str) -> dict[str, Any]:
        started = time.perf_counter()
        while True:
            execution: dict[str, Any] = self.client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            if execution["Status"]["State"] not in ("QUEUED", "RUNNING"):
                return execution
            waited = time.perf_counter() - started
            time.sleep(min(max(self.poll, waited * POLL_SHARE), max(self.poll, POLL_MAX)))

    def execute(self, sql: str) -> dict[str, Any]:
        """The execution of `sql`, once it has succeeded."""
        execution = self.wait(self.start(sql))
        if execution["Status"]["State"] != "SUCCEEDED":
            raise RuntimeError(execution["Status"].get("StateChangeReason") or execution["Status"]["State"])
        return execution

    def pages(self, execution: dict[str, Any]) -> list[list[str | None]]:
        """The rows (header dropped) from every page of GetQueryResults."""
        rows: list[list[str | None]] = []
        paginator = self.client.get_paginator("get_query_results")
        for page in paginator.paginate(QueryExecutionId=execution["QueryExecutionId"]):
            rows += [[c.get("VarCharValue") for c in r["Data"]] for r in page["ResultSet"]["Rows"]]
        return rows[1:]

    def file(self, execution: dict[str, Any]) -> list[list[str | None]]:
        """The rows (header dropped) of the result CSV at the output location; an empty field is NULL (TPC-H's
        answers hold no empty strings, which Athena writes quoted)."""
        bucket, _, key = execution["ResultConfiguration"]["OutputLocation"].removeprefix("s3://").partition("/")
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        rows = csv.reader(io.StringIO(body, newline=""))
        next(rows, None)
        return [[value if value else None for value in row] for row in rows]

    def run(self, sql: str) -> tuple[list[list[str | None]], dict[str, Any]]:
        """The rows (header dropped, by GetQueryResults) and the execution."""
        execution = self.execute(sql)
        return self.pages(execution), execution


# -- the peer ----------------------------------------------------------------------------------------------


def duckdb_peer(folder: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(config={"threads": THREADS, "memory_limit": MEMORY})
    for table in TABLES:
        conn.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{folder / table / 'data.parquet'}')")
    return conn


# -- comparing answers -------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    """A cell as something comparable across the two engines: numbers as float, dates as ISO text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return text


def same_answer(ours: list[list[str | None]], theirs: list[tuple[Any, ...]]) -> str:
    """'' when the answers agree cell by cell; otherwise the first difference."""
    if len(ours) != len(theirs):
        return f"{len(ours)} rows vs {len(theirs)}"
    for index, (a_row, b_row) in enumerate(zip(ours, theirs, strict=True)):
        if len(a_row) != len(b_row):
            return f"row {index}: {len(a_row)} columns vs {len(b_row)}"
        for a, b in zip(map(_cell, a_row), map(_cell, b_row), strict=True):
            if isinstance(a, float) and isinstance(b, float):
                if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9):
                    return f"row {index}: {a_row} vs {b_row}"
            elif a != b:
                return f"row {index}: {a_row} vs {b_row}"
    return ""


# -- the run -----------------------------------------------------------------------------------------------


def run_queries(athena: Athena, duck: duckdb.DuckDBPyConnection, queries: dict[int, str], numbers: list[int],
                rounds: int) -> list[QueryResult]:
    results = []
    for number in numbers:
        sql = queries[number]
        result = QueryResult(number)
        try:
            for index in range(rounds):
                started = time.perf_counter()
                execution = athena.execute(sql)
                result.run_s.append(time.perf_counter() - started)
                result.engine_s.append(execution["Statistics"]["EngineExecutionTimeInMillis"] / 1000)
                fetched = {}
                for way in (("pages", "file") if index % 2 == 0 else ("file", "pages")):
                    started, trips = time.perf_counter(), athena.round_trips
                    fetched[way] = getattr(athena, way)(execution)
                    (result.paging_s if way == "pages" else result.file_s).append(time.perf_counter() - started)
                    if way == "pages":
                        result.trips_s.append(athena.round_trips - trips)
                started = time.perf_counter()
                theirs = duck.execute(sql).fetchall()
                result.duckdb_s.append(time.perf_counter() - started)
            result.rows = len(theirs)
            result.scanned = int(execution["Statistics"].get("DataScannedInBytes") or 0)
            result.error = same_answer(fetched["pages"], theirs)
            if not result.error and (differs := same_answer(fetched["file"], theirs)):
                result.error = "result file: " + differs
        except (RuntimeError, duckdb.Error) as exc:
            result.error = str(exc).splitlines()[0][:200]
        shown = "" if not result.duckdb_s else (
            f"fogbank {result.paged * 1000:8.1f} ms / {result.filed * 1000:8.1f} ms by file "
            f"(engine {result.engine * 1000:8.1f})  duckdb {result.duckdb * 1000:8.1f} ms  "
            f"x{result.paged / result.duckdb:5.2f} / x{result.filed / result.duckdb:5.2f}")
        log(f"Q{number:02d} {shown} {'OK' if not result.error else 'DIFFERS: ' + result.error}")
        results.append(result)
    return results


@dataclass
class Pruning:
    """Bytes scanned by a full scan of orders_part and by one query per partition (`WHERE shard = n`)."""

    full_bytes: int
    full_rows: int
    shard_bytes: list[int]
    shard_rows: list[int]
    stored: list[int]  # the bytes of each partition's files

    @property
    def shares(self) -> list[float]:
        return [b / self.full_bytes for b in self.shard_bytes] if self.full_bytes else []

    @property
    def exact(self) -> bool:
        """Every one-partition query read its own partition's files and nothing else."""
        return self.shard_bytes == self.stored and sum(self.shard_rows) == self.full_rows


def pruning(athena: Athena, folder: Path) -> Pruning:
    rows, full = athena.run("SELECT count(*) FROM orders_part")
    result = Pruning(int(full["Statistics"]["DataScannedInBytes"]), int(rows[0][0] or 0), [], [], [])
    for shard in range(SHARDS):
        rows, one = athena.run(f"SELECT count(*), sum(o_totalprice) FROM orders_part WHERE shard = {shard}")
        result.shard_bytes.append(int(one["Statistics"]["DataScannedInBytes"]))
        result.shard_rows.append(int(rows[0][0] or 0))
        result.stored.append(sum(p.stat().st_size for p in (folder / "orders_part" / f"shard={shard}").iterdir()))
    return result


def render(results: list[QueryResult], args: argparse.Namespace, landed: int, crawl_s: float,
           prune: Pruning, date: str, machine_line: str) -> str:
    ok = [r for r in results if r.run_s and r.duckdb_s]
    paged_total = sum(r.paged for r in ok)
    filed_total = sum(r.filed for r in ok)
    duck_total = sum(r.duckdb for r in ok)
    paged_ratio = paged_total / duck_total if duck_total else float("nan")
    filed_ratio = filed_total / duck_total if duck_total else float("nan")
    wrong = [r for r in results if r.error]
    lines = [
        f"## Athena benchmark: TPC-H sf={args.sf:g} — {date}",
        "",
        f"Machine: {machine_line}.",
        f"TPC-H generated by DuckDB's tpch extension (duckdb-extension-tpch {duckdb.__version__}), one Parquet "
        f"file per table, {landed / 1e6:,.1f} MB PUT into fogbank's S3 and catalogued by a Glue crawler in "
        f"{crawl_s:.1f} s. Each query: StartQueryExecution, GetQueryExecution (after 10 ms, then every 5% of the "
        "time waited, at most every 50 ms), then its rows fetched both ways clients fetch them: every page of "
        "GetQueryResults (PyAthena's default cursor), and the result CSV read with GetObject and parsed by "
        "Python's csv module (awswrangler, PyAthena's pandas and arrow cursors). The peer is DuckDB "
        f"{duckdb.__version__} running the same SQL on views over the same files ({THREADS} threads, {MEMORY}, as "
        f"one fogbank query). Two untimed warm-up queries on each side, then the median of {args.rounds} "
        "round(s), alternating the two.",
        "Run ms is StartQueryExecution until GetQueryExecution says SUCCEEDED; engine ms is the execution's "
        "EngineExecutionTimeInMillis (from the worker taking the query to its results written in S3); paging ms "
        "is the client's time in GetQueryResults, every page of 1,000 rows, of which the HTTP round trips (the "
        "server's handling and the wire, from the signed request sent to its response read) and the rest "
        "botocore's own work (building and signing requests, parsing JSON); file ms is GetObject and parsing. "
        "The DuckDB ms include fetching every row into Python tuples (`fetchall`).",
        "",
        "| query | rows | data scanned (MB) | run ms | of which engine ms | + paging ms | of which round trips ms "
        "| + file ms | DuckDB ms | ratio, paged | ratio, file | answer |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if r.run_s and r.duckdb_s:
            lines.append(f"| Q{r.number:02d} | {r.rows:,} | {r.scanned / 1e6:,.1f} | "
                         f"{statistics.median(r.run_s) * 1000:,.1f} | {r.engine * 1000:,.1f} | "
                         f"{r.paging * 1000:,.1f} | {r.trips * 1000:,.1f} | {r.file * 1000:,.1f} | "
                         f"{r.duckdb * 1000:,.1f} | "
                         f"{r.paged / r.duckdb:.2f} | {r.filed / r.duckdb:.2f} | "
                         f"{'identical' if not r.error else 'DIFFERS: ' + r.error} |")
        else:
            lines.append(f"| Q{r.number:02d} | | | | | | | | | | | FAILED: {r.error} |")
    run_total = sum(statistics.median(r.run_s) for r in ok)
    lines.append(f"| **total** | | | {run_total * 1000:,.1f} | {sum(r.engine for r in ok) * 1000:,.1f} | "
                 f"{sum(r.paging for r in ok) * 1000:,.1f} | {sum(r.trips for r in ok) * 1000:,.1f} | "
                 f"{sum(r.file for r in ok) * 1000:,.1f} | "
                 f"**{duck_total * 1000:,.1f}** | **{paged_ratio:.2f}** | **{filed_ratio:.2f}** | "
                 f"{len(results) - len(wrong)} of {len(results)} identical |")
    shares = prune.shares
    mean = sum(shares) / len(shares) if shares else float("nan")
    lines += [
        "",
        "| goal | needed | measured | result |",
        "|---|---|---:|---|",
        f"| total time fogbank / DuckDB, rows paged by GetQueryResults ({paged_total * 1000:,.1f} ms) | "
        f"≤ {TARGET_RATIO:.2f}x | {paged_ratio:.2f}x | {'PASS' if paged_ratio <= TARGET_RATIO else 'FAIL'} |",
        f"| total time fogbank / DuckDB, rows read from the result file ({filed_total * 1000:,.1f} ms) | "
        f"≤ {TARGET_RATIO:.2f}x | {filed_ratio:.2f}x | {'PASS' if filed_ratio <= TARGET_RATIO else 'FAIL'} |",
        f"| answers identical to DuckDB's, both ways | {len(results)} of {len(results)} | "
        f"{len(results) - len(wrong)} | {'PASS' if not wrong else 'FAIL'} |",
        f"| `orders_part` ({SHARDS} partitions, {prune.full_rows:,} rows, full scan {prune.full_bytes / 1e6:,.2f} MB): "
        f"bytes scanned by a one-partition query / full scan, mean of the {SHARDS} | ≤ 1/{SHARDS} = {1 / SHARDS:.4f} | "
        f"{mean:.4f} (each {min(shares):.4f} to {max(shares):.4f}) | "
        f"{'PASS' if prune.exact and mean <= 1 / SHARDS + 1e-12 else 'FAIL'} |",
        "",
        "Each one-partition query scanned exactly the bytes of its own partition's file "
        f"({'yes' if prune.exact else 'NO'}), so the shares differ only as much as the partitions' files do. "
        "DataScannedInBytes counts whole objects read.",
    ]
    return "\n".join(lines) + "\n"


def parse_numbers(text: str) -> list[int]:
    numbers: set[int] = set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        numbers.update(range(int(low), int(high or low) + 1))
    if not numbers or min(numbers) < 1 or max(numbers) > 22:
        raise argparse.ArgumentTypeError("query numbers are 1 to 22")
    return sorted(numbers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each query on each side (median reported)")
    parser.add_argument("--queries", type=parse_numbers, default=list(range(1, 23)), help="e.g. 1-22 or 1,3,6")
    parser.add_argument("--poll", type=float, default=POLL, help="shortest wait between GetQueryExecution calls")
    parser.add_argument("--data-cache", type=Path, help="keep the generated Parquet here and reuse it next time")
    parser.add_argument("--work-dir", type=Path, help="parent of the temporary folders (default: system temp)")
    parser.add_argument("--markdown-out", type=Path, help="append the results, date and machine to this file")
    parser.add_argument("--keep", action="store_true", help="keep fogbank's data dir and log")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 20 or not 0 < args.sf <= 100:
        parser.error("--rounds 1..20, --sf in (0, 100]")
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="fogbank-bench-athena-", dir=args.work_dir))
    data = args.data_cache / f"sf{args.sf:g}" if args.data_cache else root / "tpch"
    process = None
    try:
        queries = generate(data, args.sf)
        process, url = start_fogbank(root / "data", root / "server.log")
        log(f"fogbank at {url}, data in {root}")
        started = time.perf_counter()
        landed = land(client(url, "s3"), data)
        log(f"PUT {landed / 1e6:,.1f} MB in {time.perf_counter() - started:.1f} s")
        crawl_s = crawl(client(url, "glue"))
        log(f"crawled in {crawl_s:.1f} s")
        athena = Athena(url, args.poll)
        duck = duckdb_peer(data)
        for sql in WARM_UP:  # neither side is timed on its first use of the engine and the files
            athena.run(sql)
            duck.execute(sql).fetchall()
        results = run_queries(athena, duck, queries, args.queries, args.rounds)
        prune = pruning(athena, data)
        text = render(results, args, landed, crawl_s, prune, utc_date(), machine(root))
        print(text)
        if args.markdown_out is not None:
            with open(args.markdown_out, "a", encoding="utf-8") as out:
                out.write("\n" + text)
            log(f"appended to {args.markdown_out}")
        failed = any(r.error for r in results) or not prune.exact
        return 1 if failed else 0
    finally:
        if process is not None:
            stop_fogbank(process)
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
