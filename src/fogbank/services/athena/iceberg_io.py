"""Iceberg's file layer on fogbank's own S3 store, in-process.

pyiceberg reads and writes table metadata, manifests and data files through a `FileIO`. This one stores
them as ordinary S3 objects of the table's account (so `aws s3 ls`, Spark or DuckDB see the same files) and
never goes through HTTP. Objects are written whole when a file is closed: a crash mid-write leaves nothing
behind that any metadata points at.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from types import TracebackType

from pyiceberg.io import FileIO, InputFile, InputStream, OutputFile, OutputStream

from fogbank.services.s3.local_access import S3LocalAccess, S3LocalError, split_uri


class _Upload(io.FileIO):
    """A local spool file that becomes the S3 object when it is closed."""

    def __init__(self, path: Path, store: S3LocalStoreIO, location: str) -> None:
        super().__init__(path, "wb")
        self._path = path
        self._store = store
        self._location = location

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        try:
            self._store.put_file(self._location, self._path)
        finally:
            self._path.unlink(missing_ok=True)

    def __enter__(self) -> _Upload:
        return self

    def __exit__(self, exctype: type[BaseException] | None, excinst: BaseException | None,
                 exctb: TracebackType | None) -> None:
        self.close()


class _Located:
    """What input and output files share: an S3 location whose size and existence are asked of the store."""

    location: str
    _store: S3LocalStoreIO

    def __len__(self) -> int:
        size = self._store.size(self.location)
        if size is None:
            raise FileNotFoundError(self.location)
        return size

    def exists(self) -> bool:
        return self._store.size(self.location) is not None


class _Input(_Located, InputFile):
    def __init__(self, location: str, store: S3LocalStoreIO) -> None:
        InputFile.__init__(self, location)
        self._store = store

    def open(self, seekable: bool = True) -> InputStream:
        return io.BytesIO(self._store.read(self.location))


class _Output(_Located, OutputFile):
    def __init__(self, location: str, store: S3LocalStoreIO) -> None:
        OutputFile.__init__(self, location)
        self._store = store

    def to_input_file(self) -> InputFile:
        return _Input(self.location, self._store)

    def create(self, overwrite: bool = False) -> OutputStream:
        if not overwrite and self.exists():
            raise FileExistsError(f"Cannot create {self.location}: it already exists")
        handle, name = tempfile.mkstemp(prefix="iceberg-", dir=self._store.spool)
        os.close(handle)
        return _Upload(Path(name), self._store, self.location)


class S3LocalStoreIO(FileIO):
    """FileIO for one account's objects in fogbank's S3; `spool` holds files while they are written."""

    def __init__(self, s3: S3LocalAccess, account: str, spool: Path) -> None:
        super().__init__({})
        self.s3 = s3
        self.account = account
        self.spool = spool
        spool.mkdir(parents=True, exist_ok=True)

    def new_input(self, location: str) -> InputFile:
        return _Input(location, self)

    def new_output(self, location: str) -> OutputFile:
        return _Output(location, self)

    def delete(self, location: str | InputFile | OutputFile) -> None:
        uri = location if isinstance(location, str) else location.location
        bucket, key = split_uri(uri)
        try:
            self.s3.delete(self.account, bucket, key)
        except S3LocalError as exc:
            raise FileNotFoundError(uri) from exc

    # -- the S3 side -----------------------------------------------------------------------------------------

    def size(self, location: str) -> int | None:
        bucket, key = split_uri(location)
        try:
            found = self.s3.head(self.account, bucket, key)
        except S3LocalError:
            return None
        return found.size if found is not None else None

    def read(self, location: str) -> bytes:
        bucket, key = split_uri(location)
        try:
            return self.s3.read(self.account, bucket, key)
        except S3LocalError as exc:
            raise FileNotFoundError(location) from exc

    def put_file(self, location: str, path: Path) -> None:
        bucket, key = split_uri(location)
        content_type = "application/json" if key.endswith(".json") else "application/octet-stream"
        try:
            self.s3.put(self.account, bucket, key, path, content_type)
        except S3LocalError as exc:
            raise PermissionError(f"Cannot write {location}: {exc}") from exc
