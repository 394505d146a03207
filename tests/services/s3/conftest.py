"""Fixtures for calling the S3 provider directly, without HTTP: a provider on a temp dir and contexts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.services.s3.direct_support import Direct, MakeCtx, make_ctx


@pytest.fixture
def direct(tmp_path: Path) -> Iterator[Direct]:
    d = Direct(tmp_path / "data")
    yield d
    d.p.close()


@pytest.fixture
def ctx() -> MakeCtx:
    return make_ctx
