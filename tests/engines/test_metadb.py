"""The shared SQLite engine: durable pragmas, group commit, and rollback of a failed write."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from fogbank.engines.metadb import LockedDb, MetaDb, connect


def test_connections_are_durable_wal(tmp_path: Path) -> None:
    conn = connect(tmp_path / "a.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    conn.close()


def test_group_commit_keeps_every_write_and_isolates_a_failing_one(tmp_path: Path) -> None:
    db = MetaDb(tmp_path / "g.db", "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")

    def insert(k: int) -> None:
        db.write(lambda conn: conn.execute("INSERT INTO t VALUES (?, ?)", (k, f"v{k}")))

    threads = [threading.Thread(target=insert, args=(k,)) for k in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def failing(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES (1000, 'x')")
        raise ValueError("refused")

    with pytest.raises(ValueError):
        db.write(failing)
    db.close()
    reopened = connect(tmp_path / "g.db")
    assert reopened.execute("SELECT count(*), max(k) FROM t").fetchone() == (40, 39)
    reopened.close()


def test_locked_db_transaction_rolls_back(tmp_path: Path) -> None:
    db = LockedDb(tmp_path / "l.db", "CREATE TABLE t (k INTEGER PRIMARY KEY)")
    with db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("abort")
    assert db.rows("SELECT k FROM t", ()) == [(1,)]
    db.close()
