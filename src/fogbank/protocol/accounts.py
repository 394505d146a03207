"""Access keys and the accounts they belong to: the KeyStore.

Open mode trusts any key: a 12-digit key names its own account, any other key is the default account.
Strict mode knows only the keys in the credentials file of the data directory. In both modes the
temporary keys that STS issues are stored, so that a role's account follows its temporary key and a
restart does not invalidate sessions a client still holds.

The credentials file is JSON, mode 0600, replaced atomically (temporary file, fsync, rename). Writers
serialise through a lock file so that ``fogbank keys create`` can run beside a serving process, and a
reader reloads whenever the file changed on disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from fogbank.config import DEFAULT_ACCOUNT, Config

CREDENTIALS_FILE = "credentials.json"
LOCK_FILE = "credentials.lock"
STORE_DIR = "accounts"
FORMAT_VERSION = 1

# How stale the in-memory copy of the credentials file may be before a request looks at the file again.
REFRESH_SECONDS = 1.0
# Expired temporary keys are kept this long so that clients get "expired" rather than "unknown key".
EXPIRED_RETENTION = timedelta(days=1)

_ACCOUNT = re.compile(r"\d{12}")
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"

KeyKind = Literal["permanent", "temporary", "open"]


@dataclass(frozen=True)
class KeyRecord:
    """One access key and the principal it acts as; also the resolved identity of a request."""

    access_key: str
    secret: str
    account_id: str
    session_token: str | None = None
    expiry: datetime | None = None
    # The principal's ARN when it is not the account root (an assumed role, a federated user).
    arn: str | None = None
    user_id: str | None = None
    kind: KeyKind = "permanent"

    @property
    def principal_arn(self) -> str:
        return self.arn or f"arn:aws:iam::{self.account_id}:root"

    @property
    def principal_id(self) -> str:
        """What GetCallerIdentity reports as UserId: the account id for the root user."""
        return self.user_id or self.account_id

    def expired(self, now: datetime) -> bool:
        return self.expiry is not None and now >= self.expiry

    def to_json(self) -> dict[str, Any]:
        return {
            "secret": self.secret,
            "account_id": self.account_id,
            "session_token": self.session_token,
            "expiry": self.expiry.timestamp() if self.expiry else None,
            "arn": self.arn,
            "user_id": self.user_id,
            "kind": self.kind,
        }

    @classmethod
    def from_json(cls, access_key: str, data: dict[str, Any]) -> KeyRecord:
        expiry = data.get("expiry")
        kind = data.get("kind", "permanent")
        return cls(
            access_key=access_key,
            secret=str(data["secret"]),
            account_id=str(data["account_id"]),
            session_token=data.get("session_token"),
            expiry=datetime.fromtimestamp(float(expiry), UTC) if expiry is not None else None,
            arn=data.get("arn"),
            user_id=data.get("user_id"),
            kind="temporary" if kind == "temporary" else "permanent",
        )


def open_account(access_key: str) -> str:
    """The account an unknown key acts in when auth is open."""
    return access_key if _ACCOUNT.fullmatch(access_key) else DEFAULT_ACCOUNT


def new_access_key(prefix: str = "AKIA") -> str:
    """An AWS-shaped key id: 4-letter prefix and 16 upper-case letters and digits."""
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def new_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def new_session_token() -> str:
    """An opaque token of the length real STS tokens have, so clients that size buffers are not surprised."""
    return "FQoGZXIvYXdzE" + secrets.token_urlsafe(270)


class KeyStore:
    """The access keys fogbank knows, persisted in the data directory; safe to share between threads."""

    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self.mode = config.auth
        self._dir = config.data_dir / STORE_DIR
        self._path = self._dir / CREDENTIALS_FILE
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[str, KeyRecord] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._checked = 0.0
        self._refresh(force=True)

    @property
    def path(self) -> Path:
        return self._path

    # ------------------------------------------------------------------ reading

    def lookup(self, access_key: str) -> KeyRecord | None:
        """The record of a key; None for a key strict mode does not know.

        Open mode answers every key: a stored one as stored, any other with the open-mode account (the
        secret of such a record is empty: it is never used to verify anything).
        """
        with self._lock:
            self._refresh()
            record = self._records.get(access_key)
            if record is None and self.mode == "strict":
                self._refresh(force=True)  # a key just made by `fogbank keys create` works at once
                record = self._records.get(access_key)
        if record is not None or self.mode == "strict":
            return record
        return KeyRecord(access_key, "", open_account(access_key), kind="open")

    def resolve(self, access_key: str) -> KeyRecord:
        """The identity a request acts as without verifying it (open mode, unsigned routes)."""
        with self._lock:
            self._refresh()
            record = self._records.get(access_key)
        return record or KeyRecord(access_key, "", open_account(access_key), kind="open")

    def list_keys(self) -> list[KeyRecord]:
        with self._lock:
            self._refresh()
            return sorted(self._records.values(), key=lambda r: r.access_key)

    # ------------------------------------------------------------------ writing

    def create_key(self, account_id: str | None = None) -> tuple[str, str]:
        """A new permanent key pair for an account (the default account when none is given)."""
        account = account_id or DEFAULT_ACCOUNT
        if not _ACCOUNT.fullmatch(account):
            raise ValueError(f"account id must be 12 digits, not {account!r}")
        record = KeyRecord(new_access_key(), new_secret(), account)
        with self._mutate() as records:
            while record.access_key in records:
                record = replace(record, access_key=new_access_key())
            records[record.access_key] = record
        return record.access_key, record.secret

    def add_key(self, access_key: str, secret: str, account_id: str | None = None) -> KeyRecord:
        """Registers a key pair chosen by the operator (to keep the keys an existing setup already uses)."""
        account = account_id or DEFAULT_ACCOUNT
        if not _ACCOUNT.fullmatch(account):
            raise ValueError(f"account id must be 12 digits, not {account!r}")
        if not re.fullmatch(r"[A-Za-z0-9]{3,128}", access_key):
            raise ValueError("an access key id is 3 to 128 letters and digits")
        if not secret:
            raise ValueError("the secret must not be empty")
        record = KeyRecord(access_key, secret, account)
        with self._mutate() as records:
            records[access_key] = record
        return record

    def delete_key(self, access_key: str) -> bool:
        with self._mutate() as records:
            return records.pop(access_key, None) is not None

    def issue_temporary(self, account_id: str, duration_seconds: int, *, arn: str | None = None,
                        user_id: str | None = None) -> KeyRecord:
        """Stores and returns a temporary key (ASIA...) with its session token, valid for the duration."""
        now = datetime.fromtimestamp(int(self._clock()), UTC)
        record = KeyRecord(new_access_key("ASIA"), new_secret(), account_id, new_session_token(),
                           now + timedelta(seconds=duration_seconds), arn, user_id, "temporary")
        with self._mutate() as records:
            while record.access_key in records:
                record = replace(record, access_key=new_access_key("ASIA"))
            records[record.access_key] = record
        return record

    # ------------------------------------------------------------------ persistence

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _refresh(self, force: bool = False) -> None:
        """Reloads the file when another process replaced it, looking at most every REFRESH_SECONDS
        unless forced: requests must not pay a stat() each. Caller holds the lock."""
        now = time.monotonic()
        if not force and now - self._checked < REFRESH_SECONDS:
            return
        self._checked = now
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        self._records = self._read() if stamp is not None else {}
        self._stamp = stamp

    def _read(self) -> dict[str, KeyRecord]:
        try:
            with open(self._path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"the credentials file {self._path} cannot be read: {exc}") from exc
        keys = data.get("keys", {}) if isinstance(data, dict) else {}
        return {key: KeyRecord.from_json(key, value) for key, value in keys.items()}

    @contextlib.contextmanager
    def _mutate(self) -> Iterator[dict[str, KeyRecord]]:
        """Read-modify-write under both the thread lock and an inter-process file lock."""
        self._dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self._dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                records = self._read()
                yield records
                self._sweep(records)
                self._write(records)
                self._records = records
                self._stamp = self._file_stamp()
            finally:
                os.close(fd)

    def _sweep(self, records: dict[str, KeyRecord]) -> None:
        cutoff = datetime.fromtimestamp(self._clock(), UTC) - EXPIRED_RETENTION
        for key in [k for k, r in records.items() if r.expiry is not None and r.expiry < cutoff]:
            del records[key]

    def _write(self, records: dict[str, KeyRecord]) -> None:
        payload = {"version": FORMAT_VERSION,
                   "keys": {key: records[key].to_json() for key in sorted(records)}}
        data = json.dumps(payload, indent=1).encode("utf-8")
        tmp = self._dir / f".{CREDENTIALS_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(self._dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
