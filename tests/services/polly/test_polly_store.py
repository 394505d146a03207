"""Synthesis tasks and translation jobs left running by a crash end failed (or stopped), never stuck."""

from __future__ import annotations

from pathlib import Path

from fogbank.services.polly.store import INTERRUPTED, PollyStore
from fogbank.services.translate.store import TranslateStore

SCOPE = ("000000000000", "us-east-1")


def test_interrupted_synthesis_tasks_fail_with_a_reason(tmp_path: Path) -> None:
    store = PollyStore(tmp_path)
    for task_id, status in (("a", "scheduled"), ("b", "inProgress"), ("c", "completed")):
        store.add_task(SCOPE, {"TaskId": task_id, "TaskStatus": status}, {})
    store.close()
    reopened = PollyStore(tmp_path)
    assert reopened.fail_interrupted() == 2
    states = {t["TaskId"]: (t["TaskStatus"], t.get("TaskStatusReason")) for t in reopened.tasks(SCOPE, None)}
    assert states == {"a": ("failed", INTERRUPTED), "b": ("failed", INTERRUPTED), "c": ("completed", None)}
    assert [t["TaskId"] for t in reopened.tasks(SCOPE, "completed")] == ["c"]
    reopened.close()


def test_interrupted_translation_jobs_fail_or_stop(tmp_path: Path) -> None:
    store = TranslateStore(tmp_path)
    for job_id, status in (("run", "IN_PROGRESS"), ("stop", "STOP_REQUESTED"), ("done", "COMPLETED")):
        store.add_job(SCOPE, {"JobId": job_id, "JobStatus": status}, f"token-{job_id}")
    assert store.add_job(SCOPE, {"JobId": "other", "JobStatus": "SUBMITTED"}, "token-run")["JobId"] == "run"
    store.close()
    reopened = TranslateStore(tmp_path)
    assert reopened.fail_interrupted() == 2
    assert (reopened.job(SCOPE, "run") or {})["JobStatus"] == "FAILED"
    assert "stopped before the job finished" in (reopened.job(SCOPE, "run") or {})["Message"]
    assert (reopened.job(SCOPE, "stop") or {})["JobStatus"] == "STOPPED"
    assert (reopened.job(SCOPE, "done") or {})["JobStatus"] == "COMPLETED"
    reopened.close()
