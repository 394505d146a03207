"""BlobStore: atomic commits, ids that never come from callers, orphan and temp-file sweeping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fogbank.engines.blobs import BlobStore


def test_commit_makes_bytes_readable_under_a_generated_id(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with store.writer() as writer:
        writer.write(b"hello ")
        writer.write(b"world")
        blob_id = writer.commit()
    assert len(blob_id) == 32 and all(c in "0123456789abcdef" for c in blob_id)
    assert store.read(blob_id) == b"hello world"
    assert store.size(blob_id) == 11
    assert store.path(blob_id) == tmp_path / blob_id[:2] / blob_id
    assert list((tmp_path / "tmp").iterdir()) == []


def test_uncommitted_writer_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(RuntimeError), store.writer() as writer:
        writer.write(b"partial")
        raise RuntimeError("client went away")
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list(store.ids()) == []


def test_path_rejects_anything_but_generated_ids(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    for bad in ("../../etc/passwd", "ab", "A" * 32, "0" * 31 + "/", ""):
        with pytest.raises(ValueError):
            store.path(bad)


def test_delete_is_idempotent(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    blob_id = store.put(b"x")
    store.delete(blob_id)
    store.delete(blob_id)
    assert not store.exists(blob_id)


def test_clone_is_independent_of_the_original(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    original = store.put(b"payload" * 1000)
    copy = store.clone(original)
    assert copy != original
    store.delete(original)
    assert store.read(copy) == b"payload" * 1000


def test_sweep_removes_orphans_and_temp_files_but_keeps_referenced(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    keep = store.put(b"keep")
    orphan = store.put(b"orphan")
    (tmp_path / "tmp" / "dead.part").write_bytes(b"half-written")
    report = BlobStore(tmp_path).sweep(lambda blob_id: blob_id == keep)
    assert report.orphans == 1 and report.temp_files == 1
    assert store.read(keep) == b"keep"
    assert not store.exists(orphan)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_ids_lists_every_committed_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    made = {store.put(os.urandom(10)) for _ in range(20)}
    assert set(store.ids()) == made
