"""A real Athena client library against fogbank: PyAthena's DB-API cursor (GetQueryResults, parameters) and
its pandas and arrow cursors, which read the result CSV straight from the S3 output location."""

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


def test_pyathena_arrow_cursor_reads_result_csv(fogbank: FogbankServer, results_bucket: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from pyarrow import fs
    from pyathena.arrow.cursor import ArrowCursor
    from pyathena.arrow.result_set import AthenaArrowResultSetMetadataReader as Reader

    # PyAthena makes pyarrow's S3FileSystem itself, with no endpoint, and pyarrow reads AWS_ENDPOINT_URL only for
    # file systems made from a URI (apache/arrow#49643): a user points it at fogbank the same way.
    def local_s3(self: Reader) -> fs.S3FileSystem:
        return fs.S3FileSystem(region="us-east-1", access_key="test", secret_key="test",
                               endpoint_override=fogbank.endpoint_url)

    monkeypatch.setattr(Reader, "_create_s3_file_system", local_s3)
    monkeypatch.setenv("AWS_ENDPOINT_URL", fogbank.endpoint_url)  # its boto3 S3 client reads this
    cursor = _connect(fogbank, results_bucket, cursor_class=ArrowCursor).cursor()
    table = cursor.execute("SELECT x, CAST(x AS VARCHAR) || '!' AS label, DATE '2024-01-02' AS d, "
                           "CAST(NULL AS DOUBLE) AS n, TIMESTAMP '2024-01-02 03:04:05.123' AS ts, x / 2e0 AS half "
                           "FROM UNNEST(sequence(1, 3)) AS t(x) ORDER BY x").as_arrow()
    assert table.column_names == ["x", "label", "d", "n", "ts", "half"]
    assert table.column("ts").to_pylist() == [datetime.datetime(2024, 1, 2, 3, 4, 5, 123000)] * 3
    assert table.column("half").to_pylist() == [0.5, 1.0, 1.5]
    assert table.column("x").to_pylist() == [1, 2, 3]
    assert table.column("label").to_pylist() == ["1!", "2!", "3!"]
    assert table.column("d").to_pylist() == [datetime.date(2024, 1, 2)] * 3
    assert table.column("n").to_pylist() == [None, None, None]
