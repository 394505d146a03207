"""Textract fixtures: a client of the shared server, and a helper that waits for an asynchronous job."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.support import FogbankServer


@pytest.fixture(scope="module")
def textract(fogbank: FogbankServer) -> Any:
    return fogbank.client("textract")


def wait_job(get: Any, job_id: str, timeout: float = 600) -> dict[str, Any]:
    """Polls a Get* operation until the job leaves IN_PROGRESS; returns its first response page."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response: dict[str, Any] = get(JobId=job_id)
        if response["JobStatus"] != "IN_PROGRESS":
            return response
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish")
