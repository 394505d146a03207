"""Athena benchmark: fogbank's Athena against raw DuckDB on the same Parquet files, in one run.

fogbank is started on a free loopback port with a temporary data dir; a partitioned Parquet dataset
(`--rows` rows over 12 monthly partitions) is written into its S3 with pyarrow, registered through Athena DDL
(CREATE EXTERNAL TABLE + MSCK REPAIR TABLE), and each query below runs `--rounds` times end to end: start,
poll GetQueryExecution every 10 ms, then page through GetQueryResults. The peer is DuckDB itself reading the
same files from local disk in the same process, the floor any DuckDB-based engine can reach. The printed
figure is the ratio of medians (fogbank / DuckDB); answers are compared so a fast wrong answer cannot pass.

    .venv/bin/python bench/athena.py --rows 2000000 --rounds 5
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.config import Config as BotoConfig

BUCKET = "fogbank-bench-athena"
QUERIES = {
    "count": ("SELECT count(*) FROM bench.sales", "SELECT count(*) FROM sales"),
    "group-by": ("SELECT region, sum(amount), count(DISTINCT customer) FROM bench.sales GROUP BY region "
                 "ORDER BY region",
                 "SELECT region, sum(amount), count(DISTINCT customer) FROM sales GROUP BY region ORDER BY region"),
    "pruned": ("SELECT max(amount) FROM bench.sales WHERE month = '2024-03'",
               "SELECT max(amount) FROM sales WHERE month = '2024-03'"),
    "top-100": ("SELECT customer, amount FROM bench.sales ORDER BY amount DESC, customer LIMIT 100",
                "SELECT customer, amount FROM sales ORDER BY amount DESC, customer LIMIT 100"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_fogbank(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOGBANK_", "AWS_"))}
    process = subprocess.Popen([sys.executable, "-m", "fogbank", "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--data-dir", str(data_dir), "--log-level", "warning"], env=env,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_fogbank/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError("fogbank did not start")


def client(url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                        aws_secret_access_key="bench", config=BotoConfig(retries={"max_attempts": 1}))


def make_partition(month: int, rows: int) -> pa.Table:
    base = month * rows
    ids = pa.array(range(base, base + rows), pa.int64())
    return pa.table({
        "id": ids,
        "customer": pa.array([f"c{(i * 7919) % 50000:05d}" for i in range(base, base + rows)]),
        "region": pa.array([("eu", "us", "apac", "latam")[i % 4] for i in range(base, base + rows)]),
        "amount": pa.array([((i * 2654435761) % 100000) / 100 for i in range(base, base + rows)], pa.float64()),
    })


def athena_query(athena: Any, sql: str) -> list[list[str | None]]:
    query_id = athena.start_query_execution(QueryString=sql, ResultConfiguration={
        "OutputLocation": f"s3://{BUCKET}/results/"})["QueryExecutionId"]
    while True:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        if status["State"] not in ("QUEUED", "RUNNING"):
            break
        time.sleep(0.01)
    if status["State"] != "SUCCEEDED":
        raise RuntimeError(f"{sql}: {status}")
    rows: list[list[str | None]] = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        rows += [[c.get("VarCharValue") for c in r["Data"]] for r in page["ResultSet"]["Rows"]]
    return rows[1:]


def normalise(rows: list[Any]) -> list[tuple[str, ...]]:
    out = []
    for row in rows:
        cells = []
        for value in row:
            try:
                cells.append(f"{float(value):.6g}")
            except (TypeError, ValueError):
                cells.append(str(value))
        out.append(tuple(cells))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_200_000, help="rows in total (12 partitions)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    per_month = max(1, args.rows // 12)
    with tempfile.TemporaryDirectory(prefix="fogbank-bench-athena-") as tmp:
        local = Path(tmp) / "local"
        process, url = start_fogbank(Path(tmp) / "data")
        try:
            s3, athena = client(url, "s3"), client(url, "athena")
            s3.create_bucket(Bucket=BUCKET)
            for month in range(1, 13):
                table = make_partition(month, per_month)
                buffer = io.BytesIO()
                pq.write_table(table, buffer)
                key = f"sales/month=2024-{month:02d}/part-0.parquet"
                s3.put_object(Bucket=BUCKET, Key=key, Body=buffer.getvalue())
                (local / f"month=2024-{month:02d}").mkdir(parents=True)
                (local / f"month=2024-{month:02d}" / "part-0.parquet").write_bytes(buffer.getvalue())
            athena_query(athena, "CREATE DATABASE bench")
            athena_query(athena, "CREATE EXTERNAL TABLE bench.sales (id bigint, customer string, region string, "
                                 f"amount double) PARTITIONED BY (month string) STORED AS PARQUET "
                                 f"LOCATION 's3://{BUCKET}/sales/'")
            athena_query(athena, "MSCK REPAIR TABLE bench.sales")
            duck = duckdb.connect()
            duck.execute(f"CREATE VIEW sales AS SELECT * FROM read_parquet('{local}/*/*.parquet', "
                         "hive_partitioning = true)")
            print(f"rows={per_month * 12} rounds={args.rounds}")
            print(f"{'query':<10} {'fogbank ms':>12} {'duckdb ms':>12} {'ratio':>8}")
            for name, (athena_sql, duck_sql) in QUERIES.items():
                fog_times, duck_times = [], []
                fog_rows: list[list[str | None]] = []
                duck_rows: list[Any] = []
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    fog_rows = athena_query(athena, athena_sql)
                    fog_times.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    duck_rows = duck.execute(duck_sql).fetchall()
                    duck_times.append(time.perf_counter() - started)
                if normalise(fog_rows) != normalise(duck_rows):
                    raise SystemExit(f"{name}: answers differ: {fog_rows[:3]} vs {duck_rows[:3]}")
                fog_ms, duck_ms = statistics.median(fog_times) * 1000, statistics.median(duck_times) * 1000
                print(f"{name:<10} {fog_ms:>12.1f} {duck_ms:>12.1f} {fog_ms / duck_ms:>8.1f}")
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


if __name__ == "__main__":
    main()
