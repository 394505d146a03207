"""The Trino -> DuckDB translation in fogbank.engines.sql, run on DuckDB itself: answers must be Trino's."""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
import pytest

from fogbank.engines import sql


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    connection = sql.connect(threads=1, memory_limit="256MB")
    connection.execute("CREATE TABLE t AS SELECT DATE '2024-03-05' AS d, TIMESTAMP '2024-03-05 10:11:12' AS ts, "
                       "5 AS n, 'axyz' AS s, '{\"a\": {\"b\": \"v\"}}' AS j, [1, 2, 3] AS arr")
    return connection


def run(conn: duckdb.DuckDBPyConnection, query: str) -> tuple[object, ...]:
    schema = {"t": {"d": "DATE", "ts": "TIMESTAMP", "n": "INTEGER", "s": "VARCHAR", "j": "VARCHAR",
                    "arr": "ARRAY(INTEGER)"}}
    row = conn.execute(sql.translate(query, "trino", schema)).fetchone()
    assert row is not None
    return tuple(row)


def test_date_functions_keep_trino_types_and_semantics(conn: duckdb.DuckDBPyConnection) -> None:
    assert run(conn, "SELECT date_add('day', 30, d), date_trunc('month', d), date_add('hour', 2, ts) FROM t") == (
        datetime.date(2024, 4, 4), datetime.date(2024, 3, 1), datetime.datetime(2024, 3, 5, 12, 11, 12))
    assert run(conn, "SELECT date_diff('day', TIMESTAMP '2024-01-01 23:00', TIMESTAMP '2024-01-02 01:00'), "
                     "date_diff('month', DATE '2024-01-15', DATE '2024-02-14')") == (0, 0)
    assert run(conn, "SELECT to_iso8601(d), to_iso8601(ts), format_datetime(ts, 'yyyy-MM-dd HH:mm') FROM t") == (
        "2024-03-05", "2024-03-05T10:11:12.000", "2024-03-05 10:11")


def test_string_json_and_regex_functions(conn: duckdb.DuckDBPyConnection) -> None:
    assert run(conn, "SELECT json_extract_scalar(j, '$.a.b'), json_extract_scalar(j, '$.a'), "
                     "regexp_extract(s, 'q(x)', 1), regexp_extract(s, 'x(y)', 1), "
                     "regexp_replace(s, '(x)(y)', '$2$1') FROM t") == ("v", None, None, "y", "ayxz")


def test_integer_division_and_lambdas(conn: duckdb.DuckDBPyConnection) -> None:
    assert run(conn, "SELECT n / 2, 7 / 2, 7.0 / 2, transform(arr, x -> x * n), "
                     "reduce(arr, 0, (acc, x) -> acc + x, acc -> acc * 10) FROM t") == (2, 3, 3.5, [5, 10, 15], 60)


def test_unsupported_constructs_fail_clearly() -> None:
    with pytest.raises(sql.SqlError) as error:
        sql.translate("SELECT format_datetime(ts, 'qqq') FROM t", "trino")
    assert error.value.kind == "NOT_SUPPORTED"
    with pytest.raises(sql.SqlError) as error:
        sql.translate("SELECT FROM WHERE", "trino")
    assert error.value.kind == "SYNTAX_ERROR"
    assert str(error.value).startswith("SYNTAX_ERROR: line 1:")


def test_java_number_formatting() -> None:
    assert [sql.java_double(v) for v in (1.0, 100.0, 1e7, 1.5e-4, -2.5, 1e20, 0.001, float("nan"))] == [
        "1.0", "100.0", "1.0E7", "1.5E-4", "-2.5", "1.0E20", "0.001", "NaN"]
    assert sql.java_real(0.1) == "0.1"


def test_lock_down_allows_only_listed_files(tmp_path: Path) -> None:
    allowed = tmp_path / "ok.csv"
    allowed.write_text("a\n1\n")
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n2\n")
    connection = sql.connect(threads=1, memory_limit="128MB")
    sql.lock_down(connection, [str(allowed)])
    assert connection.execute(f"SELECT a FROM read_csv('{allowed}')").fetchall() == [(1,)]
    with pytest.raises(duckdb.Error):
        connection.execute(f"SELECT a FROM read_csv('{secret}')").fetchall()
    with pytest.raises(duckdb.Error):
        connection.execute("SET enable_external_access = true")


def test_functions_duckdb_lacks_are_provided(conn: duckdb.DuckDBPyConnection) -> None:
    import datetime

    assert run(conn, "SELECT url_extract_host('https://user@example.com:8080/a/b?q=1'), "
                     "url_extract_path('https://example.com/a/b?q=1'), url_extract_query('https://e.com/x?q=1#f'), "
                     "d + INTERVAL '2' DAY FROM t") == ("example.com", "/a/b", "q=1", datetime.date(2024, 3, 7))
    row = conn.execute(sql.translate("SELECT map_agg(k, v) FROM (VALUES ('a', 1), ('b', 2)) AS x(k, v)",
                                     "trino")).fetchone()
    assert row == ({"a": 1, "b": 2},)


def test_bare_decimals_take_trino_types() -> None:
    """DECIMAL '12.50' is decimal(4,2) and CAST(... AS DECIMAL) decimal(38,0), as in Trino (not DuckDB's 18,3)."""
    assert "DECIMAL(21, 1)" in sql.translate("SELECT DECIMAL '12345678901234567890.5'", "trino")
    assert "DECIMAL(4, 2)" in sql.translate("SELECT DECIMAL '12.50'", "athena")
    assert "DECIMAL(38, 0)" in sql.translate("SELECT CAST('1.5' AS DECIMAL)", "trino")
    assert "DECIMAL(10, 2)" in sql.translate("SELECT CAST('1.5' AS DECIMAL(10, 2))", "trino")


def test_a_repeated_statement_is_translated_once_per_schema(conn: duckdb.DuckDBPyConnection,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    annotate = sql._annotate

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return annotate(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sql, "_annotate", counting)
    query = "SELECT date_add('day', 1, x) FROM t2"
    as_date = {"t2": {"x": "DATE"}}
    first = sql.translate(query, "trino", as_date)
    assert sql.translate(query, "trino", as_date) == first
    assert len(calls) == 1  # the second time came from the cache
    # The same text over a TIMESTAMP column is another translation: the key holds the schema too.
    as_timestamp = sql.translate(query, "trino", {"t2": {"x": "TIMESTAMP"}})
    assert len(calls) == 2
    conn.execute("CREATE TABLE t2 AS SELECT DATE '2024-02-28' AS x")
    assert conn.execute(first).fetchone() == (datetime.date(2024, 2, 29),)
    assert first != as_timestamp


def test_typeof_names_types_as_trino_does(conn: duckdb.DuckDBPyConnection) -> None:
    assert run(conn, "SELECT typeof(n), typeof(s), typeof(1.5e0), typeof(CAST(n AS DECIMAL(10, 2))), typeof(arr), "
                     "typeof(d), typeof(ts), typeof(current_timestamp), typeof(NULL) FROM t") == (
        "integer", "varchar", "double", "decimal(10,2)", "array(integer)", "date", "timestamp(3)",
        "timestamp(3) with time zone", "unknown")
    assert run(conn, "SELECT typeof(map(ARRAY['k'], ARRAY[n])), typeof(CAST(ROW(n, s) AS ROW(a integer, b varchar))), "
                     "typeof(TIMESTAMP '2024-01-01 00:00:00'), typeof(CAST(n AS real)) FROM t") == (
        "map(varchar, integer)", "row(a integer, b varchar)", "timestamp(0)", "real")
