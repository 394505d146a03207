"""A real Athena client library against fogbank: PyAthena's DB-API cursor (GetQueryResults, parameters) and
its pandas cursor, which reads the result CSV straight from the S3 output location."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from tests.support import FogbankServer

pyathena = pytest.importorskip("pyathena")


def _connect(fogbank: FogbankServer, results_bucket: str, **kwargs: Any) -> Any:
    return pyathena.connect(s3_staging_dir=f"s3://{results_bucket}/pyathena/", region_name="us-east-1",
                            endpoint_url=fogbank.endpoint_url, aws_access_key_id="test",
                            aws_secret_access_key="test", poll_interval=0.05, **kwargs)


def test_pyathena_cursor_types_and_parameters(fogbank: FogbankServer, results_bucket: str) -> None:
    cursor = _connect(fogbank, results_bucket).cursor()
    cursor.execute("SELECT 1 AS a, 'x' AS b, DATE '2024-01-02' AS d, 1.5e0 AS f, ARRAY[1, 2] AS arr, "
                   "CAST(NULL AS VARCHAR) AS n")
    assert [(c[0], c[1]) for c in cursor.description] == [
        ("a", "integer"), ("b", "varchar"), ("d", "date"), ("f", "double"), ("arr", "array"), ("n", "varchar")]
    assert cursor.fetchall() == [(1, "x", datetime.date(2024, 1, 2), 1.5, [1, 2], None)]
    cursor.execute("SELECT x FROM UNNEST(sequence(1, 5)) AS t(x) WHERE x > %(low)s ORDER BY x", {"low": 2})
    assert cursor.fetchall() == [(3,), (4,), (5,)]


def test_pyathena_pandas_cursor_reads_result_csv(fogbank: FogbankServer, results_bucket: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from pyathena.pandas.cursor import PandasCursor

    monkeypatch.setenv("AWS_ENDPOINT_URL", fogbank.endpoint_url)
    cursor = _connect(fogbank, results_bucket, cursor_class=PandasCursor).cursor()
    frame = cursor.execute("SELECT x, CAST(x AS VARCHAR) || '!' AS label, TIMESTAMP '2024-01-02 03:04:05.123' AS ts "
                           "FROM UNNEST(sequence(1, 3)) AS t(x) ORDER BY x").as_pandas()
    assert frame["x"].tolist() == [1, 2, 3]
    assert frame["label"].tolist() == ["1!", "2!", "3!"]
    assert frame["ts"].iloc[0] == datetime.datetime(2024, 1, 2, 3, 4, 5, 123000)
