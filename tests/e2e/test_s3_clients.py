"""Real client libraries against a real fogbank: the AWS CLI, pandas + s3fs, DuckDB's httpfs."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.support import FogbankServer

AWS = str(Path(sys.executable).with_name("aws"))


def aws(server: FogbankServer, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=server.endpoint_url, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    result = subprocess.run([AWS, *args], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"aws {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_aws_cli_sync_up_and_down(fogbank: FogbankServer, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "up"
    (source / "nested" / "deeper").mkdir(parents=True)
    for i in range(1000):
        folder = source if i % 3 == 0 else source / "nested" if i % 3 == 1 else source / "nested" / "deeper"
        (folder / f"file-{i:04d}.txt").write_bytes(os.urandom(i % 700 + 1))
    big = source / "big.bin"
    with big.open("wb") as f:
        for _ in range(100):
            f.write(os.urandom(1024 * 1024))

    aws(fogbank, "s3", "sync", str(source), f"s3://{bucket}/data")
    listing = aws(fogbank, "s3", "ls", "--recursive", f"s3://{bucket}/data/")
    keys = [line.split(maxsplit=3)[3] for line in listing.splitlines() if line.strip()]
    assert len(keys) == 1001
    assert "data/big.bin" in keys and "data/nested/deeper/file-0002.txt" in keys

    target = tmp_path / "down"
    aws(fogbank, "s3", "sync", f"s3://{bucket}/data", str(target))
    comparison = filecmp.dircmp(source, target)
    assert not comparison.left_only and not comparison.right_only
    for path in source.rglob("*"):
        if path.is_file():
            assert filecmp.cmp(path, target / path.relative_to(source), shallow=False), path

    aws(fogbank, "s3", "rm", "--recursive", f"s3://{bucket}/data")
    assert aws(fogbank, "s3", "ls", "--recursive", f"s3://{bucket}/") == ""


def test_pandas_parquet_through_s3fs(fogbank: FogbankServer, bucket: str) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"id": range(1000), "name": [f"row-{i}" for i in range(1000)],
                          "score": [i / 7 for i in range(1000)]})
    options: dict[str, Any] = {"key": "test", "secret": "test",
                               "client_kwargs": {"endpoint_url": fogbank.endpoint_url, "region_name": "us-east-1"}}
    path = f"s3://{bucket}/tables/frame.parquet"
    frame.to_parquet(path, storage_options=options, index=False)
    back = pd.read_parquet(path, storage_options=options)
    pd.testing.assert_frame_equal(frame, back)


def test_duckdb_httpfs_reads_parquet(fogbank: FogbankServer, bucket: str, s3: Any, tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    extension_package = pytest.importorskip("duckdb_extension_httpfs")
    extension = next(Path(extension_package.__file__).parent.rglob("httpfs.duckdb_extension"))
    local = tmp_path / "numbers.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT range AS n, range * 2 AS twice FROM range(5000)) TO '{local}' (FORMAT parquet)")
    s3.upload_file(str(local), bucket, "lake/numbers.parquet")
    con.execute(f"LOAD '{extension}'")
    host = fogbank.endpoint_url.removeprefix("http://")
    con.execute(f"""CREATE SECRET fog (TYPE s3, KEY_ID 'test', SECRET 'test', REGION 'us-east-1',
                    ENDPOINT '{host}', URL_STYLE 'path', USE_SSL false)""")
    row = con.execute(f"SELECT count(*), sum(n), max(twice) FROM read_parquet('s3://{bucket}/lake/numbers.parquet')"
                      ).fetchone()
    assert row == (5000, sum(range(5000)), 9998)
    glob = con.execute(f"SELECT count(*) FROM glob('s3://{bucket}/lake/*.parquet')").fetchone()
    assert glob == (1,)
