"""Recognised words -> Transcribe's output documents: the transcript JSON in AWS's layout, SRT and WebVTT.

Whisper attaches punctuation to words ("world."); Transcribe reports punctuation as separate items with no
times, so words are split here. Vocabulary filters act on pronunciation items only: ``mask`` replaces the
word by ``***``, ``remove`` drops it, ``tag`` keeps it and marks ``vocabulary_filter_match``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fogbank.engines.models.asr import Word

_PUNCT = ".,?!;:"
_LEADING = "\"'([{¿¡“‘"  # noqa: RUF001
_TRAILING_QUOTES = "\"')]}”’"  # noqa: RUF001
_MASK = "***"


@dataclass
class Item:
    kind: str  # "pronunciation" or "punctuation"
    content: str
    confidence: float
    start: float | None = None
    end: float | None = None
    filtered: bool = False


def items_of(words: list[Word]) -> list[Item]:
    """Pronunciation and punctuation items in spoken order."""
    items: list[Item] = []
    for word in words:
        text = word.text.strip().lstrip(_LEADING)
        trailing: list[str] = []
        while text and (text[-1] in _PUNCT or text[-1] in _TRAILING_QUOTES):
            if text[-1] in _PUNCT:
                trailing.insert(0, text[-1])
            text = text[:-1]
        if text:
            items.append(Item("pronunciation", text, word.confidence, word.start, word.end))
        for mark in trailing[:1]:
            if items:
                items.append(Item("punctuation", mark, 0.0))
    return items


def apply_filter(items: list[Item], words: set[str], method: str) -> list[Item]:
    """Applies a vocabulary filter; matching ignores case, as Transcribe's does."""
    if not words:
        return items
    lowered = {w.lower() for w in words}
    result: list[Item] = []
    for item in items:
        if item.kind == "pronunciation" and item.content.lower() in lowered:
            if method == "remove":
                continue
            if method == "mask":
                item = Item(item.kind, _MASK, item.confidence, item.start, item.end)
            else:
                item = Item(item.kind, item.content, item.confidence, item.start, item.end, filtered=True)
        result.append(item)
    return result


def transcript_text(items: list[Item]) -> str:
    parts: list[str] = []
    for item in items:
        if item.kind == "punctuation" and parts:
            parts[-1] += item.content
        else:
            parts.append(item.content)
    return " ".join(parts)


def _time(value: float | None) -> str:
    return f"{(value or 0.0):.3f}"


def transcript_document(job_name: str, account: str, items: list[Item], status: str = "COMPLETED",
                        speaker_labels: bool = False) -> dict[str, Any]:
    """The asrOutput JSON document, member for member as Transcribe writes it."""
    rendered: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        entry: dict[str, Any] = {"id": index, "type": item.kind,
                                 "alternatives": [{"confidence": f"{item.confidence:.4f}" if item.kind ==
                                                   "pronunciation" else "0.0", "content": item.content}]}
        if item.kind == "pronunciation":
            entry["start_time"] = _time(item.start)
            entry["end_time"] = _time(item.end)
        if item.filtered:
            entry["vocabulary_filter_match"] = True
        if speaker_labels:
            entry["speaker_label"] = "spk_0"
        rendered.append(entry)
    results: dict[str, Any] = {"transcripts": [{"transcript": transcript_text(items)}], "items": rendered,
                               "audio_segments": _segments(items)}
    if speaker_labels:
        timed = [i for i in items if i.kind == "pronunciation"]
        results["speaker_labels"] = {
            "speakers": 1 if timed else 0,
            "channel_label": "ch_0",
            "segments": [{"start_time": _time(timed[0].start), "end_time": _time(timed[-1].end),
                          "speaker_label": "spk_0",
                          "items": [{"start_time": _time(i.start), "end_time": _time(i.end), "speaker_label": "spk_0"}
                                    for i in timed]}] if timed else []}
    return {"jobName": job_name, "accountId": account, "status": status, "results": results}


def _segments(items: list[Item]) -> list[dict[str, Any]]:
    """Sentence-sized audio segments (ending at . ? !), as Transcribe's audio_segments."""
    segments: list[dict[str, Any]] = []
    current: list[int] = []
    for index, item in enumerate(items):
        current.append(index)
        if item.kind == "punctuation" and item.content in ".?!":
            segments.append(_segment(len(segments), items, current))
            current = []
    if current:
        segments.append(_segment(len(segments), items, current))
    return segments


def _segment(number: int, items: list[Item], indexes: list[int]) -> dict[str, Any]:
    timed = [items[i] for i in indexes if items[i].kind == "pronunciation"]
    return {"id": number, "transcript": transcript_text([items[i] for i in indexes]),
            "start_time": _time(timed[0].start if timed else 0.0), "end_time": _time(timed[-1].end if timed else 0.0),
            "items": indexes}


def _cues(items: list[Item], max_words: int = 10, max_seconds: float = 6.0) -> list[tuple[float, float, str]]:
    cues: list[tuple[float, float, str]] = []
    current: list[Item] = []

    def close() -> None:
        timed = [i for i in current if i.kind == "pronunciation"]
        if timed:
            cues.append((timed[0].start or 0.0, timed[-1].end or 0.0, transcript_text(current)))
        current.clear()

    for item in items:
        if item.kind == "pronunciation" and current:
            timed = [i for i in current if i.kind == "pronunciation"]
            if len(timed) >= max_words or (item.end or 0.0) - (timed[0].start or 0.0) > max_seconds:
                close()
        current.append(item)
        if item.kind == "punctuation" and item.content in ".?!":
            close()
    close()
    return cues


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt(items: list[Item], start_index: int = 0) -> str:
    blocks = [f"{n}\n{_clock(s, ',')} --> {_clock(e, ',')}\n{text}\n"
              for n, (s, e, text) in enumerate(_cues(items), start=start_index)]
    return "\n".join(blocks)


def vtt(items: list[Item], start_index: int = 0) -> str:
    blocks = [f"{n}\n{_clock(s, '.')} --> {_clock(e, '.')}\n{text}\n"
              for n, (s, e, text) in enumerate(_cues(items), start=start_index)]
    return "WEBVTT\n\n" + "\n".join(blocks)


def vocabulary_phrases(text: str) -> list[str]:
    """Phrases of a vocabulary file: a list (one phrase per line) or a table whose first column is Phrase."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and lines[0].split("\t")[0].strip().lower() == "phrase":
        return [line.split("\t")[0].strip() for line in lines[1:] if line.split("\t")[0].strip()]
    return lines


def spoken_phrase(phrase: str) -> str:
    """Transcribe writes multi-word phrases with hyphens ("Los-Angeles"); the recogniser wants words."""
    return re.sub(r"-", " ", phrase).strip()
