"""Polly's durable state: lexicons and speech synthesis tasks, in SQLite (WAL) under the service's folder."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fogbank.engines.metadb import LockedDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lexicons (
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, content TEXT NOT NULL,
    attributes TEXT NOT NULL, PRIMARY KEY (account, region, name));
CREATE TABLE IF NOT EXISTS tasks (
    account TEXT NOT NULL, region TEXT NOT NULL, task_id TEXT NOT NULL, created REAL NOT NULL,
    status TEXT NOT NULL, task TEXT NOT NULL, request TEXT NOT NULL, PRIMARY KEY (task_id));
CREATE INDEX IF NOT EXISTS tasks_by_scope ON tasks (account, region, created);
"""

INTERRUPTED = "fogbank stopped before the task finished; start the task again."


class PollyStore:
    """Lexicons by (account, region, name); tasks by id, each a SynthesisTask document plus its request."""

    def __init__(self, root: Path) -> None:
        self._db = LockedDb(root / "polly.db", _SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- lexicons

    def put_lexicon(self, scope: tuple[str, str], name: str, content: str, attributes: dict[str, Any]) -> None:
        self._db.execute("INSERT OR REPLACE INTO lexicons VALUES (?, ?, ?, ?, ?)",
                         (*scope, name, content, json.dumps(attributes)))

    def lexicon(self, scope: tuple[str, str], name: str) -> tuple[str, dict[str, Any]] | None:
        rows = self._db.rows("SELECT content, attributes FROM lexicons WHERE account=? AND region=? AND name=?",
                             (*scope, name))
        return (rows[0][0], json.loads(rows[0][1])) if rows else None

    def lexicons(self, scope: tuple[str, str]) -> list[tuple[str, dict[str, Any]]]:
        rows = self._db.rows("SELECT name, attributes FROM lexicons WHERE account=? AND region=? ORDER BY name",
                             scope)
        return [(row[0], json.loads(row[1])) for row in rows]

    def delete_lexicon(self, scope: tuple[str, str], name: str) -> bool:
        return self._db.execute("DELETE FROM lexicons WHERE account=? AND region=? AND name=?", (*scope, name)) > 0

    # -- tasks

    def add_task(self, scope: tuple[str, str], task: dict[str, Any], request: dict[str, Any]) -> None:
        self._db.execute("INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (*scope, task["TaskId"], time.time(), task["TaskStatus"], json.dumps(task, default=str),
                          json.dumps(request)))

    def update_task(self, task_id: str, **changes: Any) -> dict[str, Any] | None:
        with self._db.lock:
            row = self._db.row("SELECT task FROM tasks WHERE task_id=?", (task_id,))
            if row is None:
                return None
            task = json.loads(row[0])
            task.update(changes)
            self._db.execute("UPDATE tasks SET status=?, task=? WHERE task_id=?",
                             (task["TaskStatus"], json.dumps(task, default=str), task_id))
            return dict(task)

    def task(self, scope: tuple[str, str], task_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        rows = self._db.rows("SELECT task, request FROM tasks WHERE account=? AND region=? AND task_id=?",
                             (*scope, task_id))
        return (json.loads(rows[0][0]), json.loads(rows[0][1])) if rows else None

    def tasks(self, scope: tuple[str, str], status: str | None) -> list[dict[str, Any]]:
        sql = "SELECT task FROM tasks WHERE account=? AND region=?"
        args: tuple[Any, ...] = scope
        if status:
            sql += " AND status=?"
            args = (*scope, status)
        return [json.loads(row[0]) for row in self._db.rows(sql + " ORDER BY created DESC, task_id", args)]

    def fail_interrupted(self) -> int:
        """Tasks left scheduled or running by a previous process end as failed, never stuck."""
        with self._db.lock:
            rows = self._db.rows("SELECT task_id, task FROM tasks WHERE status IN ('scheduled', 'inProgress')")
            for task_id, text in rows:
                task = json.loads(text)
                task.update(TaskStatus="failed", TaskStatusReason=INTERRUPTED)
                self._db.execute("UPDATE tasks SET status='failed', task=? WHERE task_id=?",
                                 (json.dumps(task), task_id))
            return len(rows)
