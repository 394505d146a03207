"""Redshift SQL handling without a server: splitting, parameters, command parsing and translation to DuckDB."""

from __future__ import annotations

import duckdb
import pytest

from fogbank.services.redshift_data.commands import (
    CopyCommand,
    DatabaseCommand,
    ExternalSchemaCommand,
    NoOpCommand,
    TransactionCommand,
    UnloadCommand,
    recognize,
)
from fogbank.services.redshift_data.pgerror import RedshiftSqlError, from_duckdb
from fogbank.services.redshift_data.sqltext import parameter_names, split_statements, strip_storage_clauses
from fogbank.services.redshift_data.translate import Dialect, translate


def test_split_statements_respects_quotes_and_comments() -> None:
    script = ("SELECT 'a;b'; -- a comment; with a semicolon\n SELECT \"x;y\" FROM t; /* ; */ "
              "SELECT $$body;here$$;;  ")
    assert split_statements(script) == ["SELECT 'a;b'", '-- a comment; with a semicolon\n SELECT "x;y" FROM t',
                                        "/* ; */ SELECT $$body;here$$"]
    assert split_statements(" ; -- only a comment\n") == []


def test_parameter_names_skip_casts_and_strings() -> None:
    assert parameter_names("SELECT :a, x::int, ':b', :c_1 FROM t WHERE y = :a") == ["a", "c_1"]


def test_storage_clauses_are_removed() -> None:
    sql = ("CREATE TABLE t (a INT ENCODE az64 DISTKEY, b VARCHAR(9) SORTKEY) DISTSTYLE KEY "
           "INTERLEAVED SORTKEY (a, b) BACKUP NO")
    assert " ".join(strip_storage_clauses(sql).split()) == "CREATE TABLE t (a INT , b VARCHAR(9) )"


def test_copy_options_are_parsed() -> None:
    command = recognize("COPY public.t (a, b) FROM 's3://bkt/pre/' IAM_ROLE 'arn:aws:iam::1:role/r' "
                        "FORMAT AS CSV QUOTE AS '''' DELIMITER ';' IGNOREHEADER 2 NULL AS 'NA' GZIP "
                        "EMPTYASNULL TIMEFORMAT 'auto' REGION 'us-west-2' MAXERROR 0 COMPUPDATE OFF")
    assert command == CopyCommand(table=["public", "t"], columns=["a", "b"], source="s3://bkt/pre/", fmt="CSV",
                                  delimiter=";", quote="'", ignore_header=2, null_as="NA", compression="gzip",
                                  empty_as_null=True, time_format="auto")
    with pytest.raises(RedshiftSqlError) as raised:
        recognize("COPY t FROM 's3://b/k' BOGUS")
    assert str(raised.value) == 'ERROR: syntax error at or near "BOGUS"'
    with pytest.raises(RedshiftSqlError):
        recognize("COPY t FROM 'dynamodb://table' IAM_ROLE default")


def test_unload_options_are_parsed() -> None:
    command = recognize("UNLOAD ('select * from t where s = ''x''') TO 's3://b/p/' IAM_ROLE default "
                        "FORMAT PARQUET PARTITION BY (y, m) INCLUDE ALLOWOVERWRITE MAXFILESIZE 100 MB")
    assert command == UnloadCommand(query="select * from t where s = 'x'", target="s3://b/p/", fmt="PARQUET",
                                    partition_by=["y", "m"], partition_include=True, allow_overwrite=True,
                                    max_file_size=100 * 1024 * 1024)


def test_other_commands_are_recognized() -> None:
    assert recognize("create external schema if not exists Spec from data catalog database 'Lake' "
                     "iam_role 'arn' create external database if not exists") == ExternalSchemaCommand(
        "spec", "Lake", True, None, True)
    assert recognize("CREATE DATABASE Reports") == DatabaseCommand("create", "reports")
    assert recognize("begin transaction") == TransactionCommand("begin")
    assert recognize("END") == TransactionCommand("commit")
    assert recognize("VACUUM DELETE ONLY t") == NoOpCommand("VACUUM")
    assert recognize("GRANT SELECT ON t TO bob") == NoOpCommand("GRANT")
    assert recognize("SELECT 1") is None


def _run(sql: str, parameters: dict[str, str] | None = None) -> list[tuple[object, ...]]:
    translated = translate(sql, parameters or {}, Dialect(user="alice"))
    connection = duckdb.connect()
    connection.execute("SET integer_division = true")
    for before in translated.before:
        connection.execute(before)
    return connection.execute(translated.sql).fetchall()


def test_translation_runs_on_duckdb() -> None:
    assert _run("SELECT NVL(NULL, 3), NVL2(NULL, 1, 2), ISNULL(NULL, 'x'), LEN('abcd'), 9 / 2, current_user") == [
        (3, 2, "x", 4, 4, "alice")]
    assert _run("SELECT DATEDIFF(day, '2024-01-01'::date, '2024-03-01'::date), DATEPART(month, '2024-05-06'::date), "
                "TRUNC(DATEADD(month, 1, '2024-01-31'::date))::varchar") == [(60, 5, "2024-02-29")]
    assert _run("SELECT :a || :b", {"a": "x'", "b": "y"}) == [("x'y",)]
    assert _run("SELECT TOP 1 v FROM (SELECT 1 AS v UNION ALL SELECT 2) ORDER BY v DESC") == [(2,)]
    into = translate("SELECT 1 AS one, COUNT(*) INTO TEMP copied FROM range(3)", {}, Dialect())
    assert into.kind == "ddl"
    connection = duckdb.connect()
    connection.execute(into.sql)
    assert connection.execute("SELECT * FROM copied").fetchall() == [(1, 3)]
    assert [d[0] for d in connection.description or []] == ["one", "count"]


def test_create_table_translation_keeps_declared_types() -> None:
    translated = translate("CREATE TABLE s.t (id BIGINT IDENTITY(10, 2) PRIMARY KEY, v VARCHAR(MAX), c CHAR(4), "
                           "j SUPER, UNIQUE (v)) DISTSTYLE ALL", {}, Dialect())
    assert translated.before == ['CREATE OR REPLACE SEQUENCE "s"."__identity_t_id" START WITH 10 INCREMENT BY 2']
    assert translated.after == ['COMMENT ON COLUMN "s"."t"."id" IS \'int8\'',
                                'COMMENT ON COLUMN "s"."t"."v" IS \'varchar(65535)\'',
                                'COMMENT ON COLUMN "s"."t"."c" IS \'bpchar(4)\'',
                                'COMMENT ON COLUMN "s"."t"."j" IS \'super\'']
    assert "PRIMARY KEY" not in translated.sql and "UNIQUE" not in translated.sql
    assert "JSON" in translated.sql


def test_syntax_errors_use_postgres_wording() -> None:
    with pytest.raises(RedshiftSqlError) as raised:
        translate("SELECT FROM WHERE", {}, Dialect())
    assert str(raised.value).startswith("ERROR: syntax error at or near")


def test_duckdb_errors_become_redshift_errors() -> None:
    connection = duckdb.connect()
    with pytest.raises(duckdb.Error) as raised:
        connection.execute("SELECT * FROM missing_table")
    assert str(from_duckdb(raised.value)) == 'ERROR: relation "missing_table" does not exist'


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/hostname'",
    "SELECT * FROM \"data.csv\"",
    "INSERT INTO t SELECT * FROM read_parquet('x.parquet')",
    "SELECT read_text('/etc/passwd')",
    "SELECT * FROM glob('/*')",
    "PRAGMA database_list",
    "CHECKPOINT",
    "USE other",
    "CREATE SEQUENCE s",
    "CREATE FUNCTION f(int) RETURNS int STABLE AS $$ SELECT $1 $$ LANGUAGE sql",
])
def test_engine_features_beyond_redshift_are_refused(sql: str) -> None:
    with pytest.raises(RedshiftSqlError):
        translate(sql, {}, Dialect())
