"""DuckDB databases reused between statements: each statement sees the objects as they are when it runs, its
temporary views end with it, and a database serves one account only."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from tests.services.athena.conftest import Athena, parquet_bytes

from fogbank.services.athena import databases
from fogbank.services.athena.databases import QueryDatabases


def _table(athena: Athena, s3: Any, bucket: str, name: str) -> None:
    athena.execute(f"CREATE EXTERNAL TABLE {name} (id bigint, word string) STORED AS PARQUET "
                   f"LOCATION 's3://{bucket}/{name}/'")


def _data(athena: Athena, sql: str) -> list[list[str | None]]:
    return athena.rows(sql)[1:]  # the header row dropped


def test_each_statement_reads_the_objects_current_when_it_runs(athena: Athena, s3: Any, bucket: str) -> None:
    _table(athena, s3, bucket, "words")
    s3.put_object(Bucket=bucket, Key="words/a.parquet",
                  Body=parquet_bytes(pa.table({"id": [1, 2], "word": ["one", "two"]})))
    assert _data(athena, "SELECT id, word FROM words ORDER BY id") == [["1", "one"], ["2", "two"]]
    # The same key with new bytes, a second object, then the first deleted: every query sees its own moment.
    s3.put_object(Bucket=bucket, Key="words/a.parquet",
                  Body=parquet_bytes(pa.table({"id": [1, 2, 3], "word": ["uno", "dos", "tres"]})))
    assert _data(athena, "SELECT id, word FROM words ORDER BY id") == [["1", "uno"], ["2", "dos"], ["3", "tres"]]
    s3.put_object(Bucket=bucket, Key="words/b.parquet", Body=parquet_bytes(pa.table({"id": [9], "word": ["nine"]})))
    assert _data(athena, "SELECT count(*), sum(id) FROM words") == [["4", "15"]]
    s3.delete_object(Bucket=bucket, Key="words/a.parquet")
    assert _data(athena, "SELECT id, word FROM words") == [["9", "nine"]]
    # A broken query in between leaves the next one unharmed.
    assert "COLUMN_NOT_FOUND" in athena.fail("SELECT nope FROM words")
    assert _data(athena, "SELECT word FROM words") == [["nine"]]


def test_a_statement_binds_to_the_table_as_it_is_now(athena: Athena, s3: Any, bucket: str) -> None:
    """The same text over a redefined table gets the new table's columns (bound columns are remembered per
    shared view, and a view's name changes with what it reads)."""
    _table(athena, s3, bucket, "shifting")
    s3.put_object(Bucket=bucket, Key="shifting/a.parquet",
                  Body=parquet_bytes(pa.table({"id": [1, 2], "word": ["one", "two"]})))
    sql = "SELECT id, word FROM shifting ORDER BY id"
    for _ in range(2):
        query_id = athena.execute(sql)["QueryExecutionId"]
        assert athena.types(query_id) == [("id", "bigint"), ("word", "varchar")]
        assert athena.result_rows(query_id)[1:] == [["1", "one"], ["2", "two"]]
    athena.execute("DROP TABLE shifting")
    athena.execute(f"CREATE EXTERNAL TABLE shifting (id double, word string) STORED AS PARQUET "
                   f"LOCATION 's3://{bucket}/shifting/'")
    query_id = athena.execute(sql)["QueryExecutionId"]
    assert athena.types(query_id) == [("id", "double"), ("word", "varchar")]
    assert athena.result_rows(query_id)[1:] == [["1.0", "one"], ["2.0", "two"]]
    s3.put_object(Bucket=bucket, Key="shifting/a.parquet",
                  Body=parquet_bytes(pa.table({"id": [3.5], "word": [None]}, schema=pa.schema(
                      [("id", pa.float64()), ("word", pa.string())]))))
    assert _data(athena, sql) == [["3.5", None]]


def test_a_statement_cannot_name_files_on_its_own(athena: Athena, s3: Any, bucket: str) -> None:
    _table(athena, s3, bucket, "secret")
    s3.put_object(Bucket=bucket, Key="secret/a.parquet", Body=parquet_bytes(pa.table({"id": [1], "word": ["x"]})))
    assert _data(athena, "SELECT word FROM secret") == [["x"]]
    for sql in ("SELECT * FROM read_text('/etc/passwd')", "SELECT * FROM read_csv('/etc/hostname')"):
        assert "file system operations are disabled by configuration" in athena.fail(sql)


def test_a_database_serves_one_account_and_is_retired_when_worn(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pool = QueryDatabases(tmp_path / "dbs", ready=1, idle=2, threads=1, memory_limit="256MB")
    try:
        pool.fill()
        first = pool.take("111111111111")
        cursor = first.session()
        cursor.execute("CREATE TEMP VIEW v AS SELECT 42 AS answer")
        (first.output_dir("q1") / "result.csv").write_text("x")
        cursor.close()
        pool.give_back(first)
        assert list(first.outputs.iterdir()) == []  # a statement's outputs end with it

        other = pool.take("222222222222")
        assert other is not first  # never lent to another account
        again = pool.take("111111111111")
        assert again is first
        with pytest.raises(duckdb.CatalogException):
            again.session().execute("SELECT * FROM v")  # temporary views died with their connection
        pool.give_back(again)
        pool.give_back(other)

        monkeypatch.setattr(databases, "IDLE_SECONDS", -1.0)
        pool.sweep()  # what the timer does for a server left idle
        assert not first.root.exists() and not other.root.exists()
        fresh = pool.take("111111111111")
        assert fresh is not first  # idle too long: closed and its folder removed
        pool.give_back(fresh, healthy=False)
        assert not fresh.root.exists()
    finally:
        pool.close()


def test_a_locked_database_reads_and_writes_only_its_own_folders(tmp_path: Path) -> None:
    pool = QueryDatabases(tmp_path / "dbs", ready=0, idle=1, threads=1, memory_limit="256MB")
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n")
    try:
        database = pool.take("111111111111")
        cursor = database.session()
        with pytest.raises(duckdb.PermissionException):
            cursor.execute(f"SELECT * FROM read_csv('{outside}')")
        with pytest.raises(duckdb.PermissionException):
            cursor.execute(f"COPY (SELECT 1) TO '{tmp_path / 'x.csv'}'")
        with pytest.raises(duckdb.InvalidInputException):
            cursor.execute("SET enable_external_access = true")
        cursor.execute(f"COPY (SELECT 1 AS a) TO '{database.output_dir('q') / 'ok.csv'}' (HEADER)")
        assert cursor.execute(f"SELECT a FROM read_csv('{database.outputs / 'q' / 'ok.csv'}')").fetchall() == [(1,)]
        cursor.close()
        pool.give_back(database)
    finally:
        pool.close()


def test_partitions_and_paths_stay_current_between_statements(athena: Athena, s3: Any, bucket: str) -> None:
    athena.execute(f"CREATE EXTERNAL TABLE parts (id bigint) PARTITIONED BY (day string) STORED AS PARQUET "
                   f"LOCATION 's3://{bucket}/parts/'")
    s3.put_object(Bucket=bucket, Key="parts/day=1/a.parquet", Body=parquet_bytes(pa.table({"id": [1]})))
    athena.execute("MSCK REPAIR TABLE parts")
    sql = 'SELECT day, id, "$path" FROM parts ORDER BY day'
    assert _data(athena, sql) == [["1", "1", f"s3://{bucket}/parts/day=1/a.parquet"]]
    assert _data(athena, sql) == [["1", "1", f"s3://{bucket}/parts/day=1/a.parquet"]]
    s3.put_object(Bucket=bucket, Key="parts/day=2/b.parquet", Body=parquet_bytes(pa.table({"id": [2]})))
    athena.execute("ALTER TABLE parts ADD PARTITION (day='2')")
    assert _data(athena, sql) == [["1", "1", f"s3://{bucket}/parts/day=1/a.parquet"],
                                  ["2", "2", f"s3://{bucket}/parts/day=2/b.parquet"]]
    assert _data(athena, "SELECT sum(id) FROM parts WHERE day = '2'") == [["2"]]


def test_shared_views_beyond_the_limit_are_dropped_oldest_first(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(databases, "MAX_VIEWS", 2)
    pool = QueryDatabases(tmp_path / "dbs", ready=0, idle=1, threads=1, memory_limit="256MB")
    try:
        database = pool.take("111111111111")
        cursor = database.session()
        for name in ("fb_va", "fb_vb", "fb_vc"):
            cursor.execute(f"CREATE VIEW {name} AS SELECT 1 AS x")
            database.add_view(name, cursor)
        assert database.has_view("fb_vb") and database.has_view("fb_vc") and not database.has_view("fb_va")
        with pytest.raises(duckdb.CatalogException):
            cursor.execute("SELECT * FROM fb_va")
        assert cursor.execute("SELECT x FROM fb_vc").fetchall() == [(1,)]
        cursor.close()
        pool.give_back(database)
    finally:
        pool.close()


def test_accounts_querying_at_once_each_see_their_own_tables(fogbank: Any) -> None:
    """Two accounts with a table of the same name, queried in parallel (with stops and failures between):
    every answer is the asking account's own."""
    accounts = {"314159265358": 10, "271828182845": 20}
    errors: list[str] = []

    def work(account: str, rows: int) -> None:
        s3 = fogbank.client("s3", access_key=account)
        glue = fogbank.client("glue", access_key=account)
        athena = fogbank.client("athena", access_key=account)
        bucket = f"iso-{account}-{int(time.time() * 1000) % 100000}"
        s3.create_bucket(Bucket=bucket)
        database = f"iso_{account}_{int(time.time() * 1000) % 100000}"
        glue.create_database(DatabaseInput={"Name": database})
        s3.put_object(Bucket=bucket, Key="t/a.parquet", Body=parquet_bytes(pa.table({"x": list(range(rows))})))
        client = Athena(athena, f"s3://{bucket}/results/", database)
        client.execute(f"CREATE EXTERNAL TABLE t (x bigint) STORED AS PARQUET LOCATION 's3://{bucket}/t/'")
        for step in range(8):
            if step % 3 == 1:
                query_id = client.start("SELECT count(*) FROM t a, t b, t c, t d")
                athena.stop_query_execution(QueryExecutionId=query_id)
            elif step % 3 == 2:
                client.fail("SELECT nope FROM t")
            got = _data(client, "SELECT count(*), sum(x) FROM t")
            if got != [[str(rows), str(rows * (rows - 1) // 2)]]:
                errors.append(f"{account}: {got}")

    threads = [threading.Thread(target=work, args=item) for item in accounts.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
