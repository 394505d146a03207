"""Parsed Polly input -> one audio track plus the speech marks that describe it.

Words are grouped into runs (same sentence, same prosody, no break between them); each run is one call to
the engine, so the voice keeps its sentence melody, and the engine's per-word sample ranges become word
marks. Marks are computed on the final track before resampling, in milliseconds, so they hold for any
output sample rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fogbank.engines.models.speech import Synthesizer, Utterance
from fogbank.services.polly.lexicons import Lexicon
from fogbank.services.polly.ssml import Break, Mark, Parsed, Prosody, SentenceEnd, Word
from fogbank.services.polly.voices import VITS, Voice

# IPA symbol -> Polly viseme (the 16-viseme set Polly documents, plus sil)
_VISEMES = {
    "p": "p", "b": "p", "m": "p", "f": "f", "v": "f", "θ": "T", "ð": "T", "t": "t", "d": "t", "n": "t", "l": "t",
    "ɾ": "t", "k": "k", "ɡ": "k", "g": "k", "ŋ": "k", "h": "k", "x": "k", "s": "s", "z": "s", "ʃ": "S", "ʒ": "S",  # noqa: RUF001
    "ʧ": "S", "ʤ": "S", "ɹ": "r", "r": "r", "w": "u", "j": "i", "i": "i", "ɪ": "i", "e": "e", "ɛ": "E", "æ": "a",  # noqa: RUF001
    "a": "a", "ɑ": "a", "ʌ": "E", "ə": "@", "ɚ": "@", "ɜ": "E", "ɐ": "a", "o": "o", "ɔ": "O", "ɒ": "O", "u": "u",  # noqa: RUF001
    "ʊ": "u", "ᵻ": "i", "y": "u",
}
_SENTENCE_GAP_MS = 0


@dataclass
class Rendered:
    samples: np.ndarray
    sample_rate: int
    marks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return 1000.0 * len(self.samples) / self.sample_rate if self.sample_rate else 0.0


@dataclass
class _Sentence:
    items: list[Word | Break | Mark] = field(default_factory=list)


def apply_lexicons(parsed: Parsed, lexicons: list[Lexicon]) -> None:
    """Replaces words that a lexicon knows by its alias, or pins their IPA pronunciation."""
    if not lexicons:
        return
    tokens: list[Any] = []
    for token in parsed.tokens:
        if isinstance(token, Word) and token.ipa is None:
            lexeme = next((found for lex in lexicons if (found := lex.lookup(token.spoken))), None)
            if lexeme is not None and lexeme.alias:
                for part in lexeme.alias.split():
                    tokens.append(Word(part, token.start, token.end, token.prosody))
                continue
            if lexeme is not None and lexeme.phoneme:
                token = Word(token.spoken, token.start, token.end, token.prosody, ipa=lexeme.phoneme)
        tokens.append(token)
    parsed.tokens = tokens


def _sentences(parsed: Parsed) -> list[_Sentence]:
    sentences: list[_Sentence] = [_Sentence()]
    for token in parsed.tokens:
        if isinstance(token, SentenceEnd):
            if any(isinstance(item, Word) for item in sentences[-1].items):
                sentences.append(_Sentence())
            continue
        sentences[-1].items.append(token)
    return [s for s in sentences if s.items]


def render(parsed: Parsed, voice: Voice, engine: Synthesizer, source: str) -> Rendered:
    """Synthesizes the whole input; ``source`` is the request text the marks' offsets point into."""
    rate = engine.vits.sample_rate if voice.backend == VITS and engine.vits else 22050
    track: list[np.ndarray] = []
    length = 0
    marks: list[dict[str, Any]] = []
    offsets = _byte_offsets(source)

    def at_ms(samples: int) -> int:
        return round(1000.0 * samples / rate)

    for sentence in _sentences(parsed):
        words = [item for item in sentence.items if isinstance(item, Word)]
        sentence_mark: dict[str, Any] | None = None
        if words:
            start, end = words[0].start, words[-1].end
            sentence_mark = {"time": at_ms(length), "type": "sentence", "start": offsets[start],
                             "end": offsets[end], "value": source[start:end]}
            marks.append(sentence_mark)
        pending_marks: list[Mark] = []
        run: list[Word] = []

        def flush(last_in_sentence: bool, run: list[Word] = run, pending_marks: list[Mark] = pending_marks) -> None:
            nonlocal length
            if not run:
                return
            utterance, run_rate = _speak(run, voice, engine, last_in_sentence)
            samples = utterance.samples
            if run_rate != rate:
                from fogbank.engines.models.audio import resample

                factor = rate / run_rate
                utterance.words = [(i, int(s * factor), int(e * factor)) for i, s, e in utterance.words]
                utterance.phonemes = [(p, int(s * factor), int(e * factor)) for p, s, e in utterance.phonemes]
                samples = resample(samples, run_rate, rate)
            gain = 10 ** (run[0].prosody.volume_db / 20.0)
            if gain != 1.0:
                samples = np.clip(samples * gain, -1.0, 1.0)
            _word_marks(run, utterance, length, rate, source, offsets, marks, pending_marks)
            _viseme_marks(utterance, length, rate, marks)
            track.append(samples.astype(np.float32))
            length += len(samples)
            run.clear()

        for item in sentence.items:
            if isinstance(item, Word):
                if run and run[-1].prosody != item.prosody:
                    flush(False)
                run.append(item)
            elif isinstance(item, Break):
                flush(False)
                silence = np.zeros(int(rate * item.milliseconds / 1000), dtype=np.float32)
                track.append(silence)
                length += len(silence)
            else:
                if run:
                    pending_marks.append(item)
                else:
                    marks.append(_ssml_mark(item, at_ms(length), offsets))
        flush(True)
        if sentence_mark is not None:
            first_word = next((m for m in marks[marks.index(sentence_mark):] if m["type"] == "word"), None)
            if first_word is not None:
                sentence_mark["time"] = first_word["time"]
        for mark in pending_marks:
            marks.append(_ssml_mark(mark, at_ms(length), offsets))
        pending_marks.clear()
        if sentence_mark is not None and _SENTENCE_GAP_MS:
            gap = np.zeros(int(rate * _SENTENCE_GAP_MS / 1000), dtype=np.float32)
            track.append(gap)
            length += len(gap)
    samples = np.concatenate(track) if track else np.zeros(0, dtype=np.float32)
    marks.sort(key=lambda m: m["time"])
    return Rendered(samples, rate, marks)


def _speak(run: list[Word], voice: Voice, engine: Synthesizer, last: bool) -> tuple[Utterance, int]:
    text = " ".join(word.spoken for word in run)
    prosody: Prosody = run[0].prosody
    if voice.backend == VITS and engine.vits is not None:
        final = run[-1].spoken.rstrip("\"')]}»”’")  # noqa: RUF001
        terminator = final[-1] if last and final.endswith(("?", "!", ".")) else ("." if last else ",")
        ipa = {i: word.ipa for i, word in enumerate(run) if word.ipa}
        utterance = engine.vits.synthesize(text, 1.0 / max(prosody.rate, 0.2), terminator, ipa)
        return utterance, engine.vits.sample_rate
    utterance = engine.espeak.synthesize(text, voice.espeak_voice, int(175 * prosody.rate), 50 + prosody.pitch)
    return utterance, utterance.sample_rate


def _word_marks(run: list[Word], utterance: Utterance, base: int, rate: int, source: str, offsets: list[int],
                marks: list[dict[str, Any]], pending: list[Mark]) -> None:
    last_span: tuple[int, int] | None = None
    for index, start, _end in utterance.words:
        if index >= len(run):
            continue
        word = run[index]
        time_ms = round(1000.0 * (base + start) / rate)
        while pending and pending[0].end <= word.start:
            marks.append(_ssml_mark(pending.pop(0), time_ms, offsets))
        span = (word.start, word.end)
        if span == last_span:
            continue  # several spoken words from one source span (say-as, sub): one mark, as Polly gives
        last_span = span
        marks.append({"time": time_ms, "type": "word", "start": offsets[word.start], "end": offsets[word.end],
                      "value": source[word.start:word.end]})


def _viseme_marks(utterance: Utterance, base: int, rate: int, marks: list[dict[str, Any]]) -> None:
    previous_end = 0
    previous: str | None = None
    for phoneme, start, end in utterance.phonemes:
        viseme = _VISEMES.get(phoneme)
        if viseme is None:
            continue
        if start - previous_end > rate // 10:
            marks.append({"time": round(1000.0 * (base + previous_end) / rate), "type": "viseme",
                          "value": "sil"})
            previous = "sil"
        if viseme != previous:
            marks.append({"time": round(1000.0 * (base + start) / rate), "type": "viseme", "value": viseme})
            previous = viseme
        previous_end = end
    if utterance.phonemes:
        marks.append({"time": round(1000.0 * (base + previous_end) / rate), "type": "viseme", "value": "sil"})


def _ssml_mark(mark: Mark, time_ms: int, offsets: list[int]) -> dict[str, Any]:
    return {"time": time_ms, "type": "ssml", "start": offsets[mark.start], "end": offsets[mark.end],
            "value": mark.name}


def _byte_offsets(text: str) -> list[int]:
    """UTF-8 byte offset of every character position (one more than the length, for end offsets)."""
    result = [0]
    for char in text:
        result.append(result[-1] + len(char.encode("utf-8")))
    return result


def marks_body(marks: list[dict[str, Any]], wanted: set[str]) -> bytes:
    """The JSON-lines body of a speech-marks response for the requested mark types."""
    import json

    lines = []
    for mark in marks:
        if mark["type"] not in wanted:
            continue
        lines.append(json.dumps(mark, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
