"""Polly input (plain text or SSML) -> spoken words with their source offsets, breaks, marks and prosody.

Speech marks report UTF-8 byte offsets into the request's text, so SSML is read by a small tokenizer that
keeps the position of every character (an XML parser would lose them); defusedxml first checks that the
document is well formed, so entity tricks and broken markup fail with ``InvalidSsmlException``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from defusedxml import ElementTree

_TAG_RE = re.compile(r"<(/?)([A-Za-z][\w:.-]*)([^>]*?)(/?)>|<!--.*?-->|<\?.*?\?>", re.S)
_ATTR_RE = re.compile(r"([\w:.-]+)\s*=\s*(\"[^\"]*\"|'[^']*')")
_WORD_RE = re.compile(r"\S+")
_ENTITY_RE = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|\w+);")

_RATE_WORDS = {"x-slow": 0.5, "slow": 0.75, "medium": 1.0, "fast": 1.33, "x-fast": 1.75}
_VOLUME_WORDS = {"silent": -120.0, "x-soft": -12.0, "soft": -6.0, "medium": 0.0, "loud": 6.0, "x-loud": 12.0}
_PITCH_WORDS = {"x-low": -20, "low": -10, "medium": 0, "high": 10, "x-high": 20}
_STRENGTH_MS = {"none": 0, "x-weak": 100, "weak": 250, "medium": 400, "strong": 700, "x-strong": 1000}
_KNOWN_TAGS = {"speak", "break", "prosody", "say-as", "p", "s", "mark", "sub", "phoneme", "w", "lang", "emphasis",
               "voice", "amazon:effect", "amazon:breath", "amazon:auto-breaths", "amazon:domain"}
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "prof.", "sr.", "jr.", "vs.", "etc.", "e.g.", "i.e.", "inc.",
                  "ltd.", "co.", "no.", "mt.", "jan.", "feb.", "mar.", "apr.", "jun.", "jul.", "aug.", "sep.",
                  "sept.", "oct.", "nov.", "dec.", "a.m.", "p.m.", "u.s.", "fig.", "approx."}


class SsmlError(Exception):
    """The SSML is not well formed or uses a tag or value Polly rejects."""


@dataclass(frozen=True)
class Prosody:
    rate: float = 1.0
    volume_db: float = 0.0
    pitch: int = 0


@dataclass
class Word:
    """One spoken word; ``start``/``end`` are character offsets of the source text it came from."""

    spoken: str
    start: int
    end: int
    prosody: Prosody
    ipa: str | None = None


@dataclass
class Break:
    milliseconds: int


@dataclass
class Mark:
    name: str
    start: int
    end: int


@dataclass
class SentenceEnd:
    """A forced sentence boundary (``<s>``, ``<p>``, or sentence punctuation)."""


Token = Word | Break | Mark | SentenceEnd


@dataclass
class Parsed:
    tokens: list[Token] = field(default_factory=list)
    billed_characters: int = 0


def parse_text(text: str) -> Parsed:
    """Plain text: words at their own offsets, sentence ends after sentence punctuation."""
    parsed = Parsed(billed_characters=len(text))
    _add_words(parsed.tokens, text, 0, Prosody(), [(i, i + 1) for i in range(len(text))])
    return parsed


def parse_ssml(document: str) -> Parsed:
    """SSML -> tokens; raises ``SsmlError`` with a message in Polly's words."""
    try:
        root = ElementTree.fromstring(document.encode("utf-8"))
    except Exception as exc:  # defusedxml raises its own and the stdlib's errors
        raise SsmlError(f"Invalid SSML request: {exc}") from None
    if _local(root.tag) != "speak":
        raise SsmlError("Invalid SSML request: the root element must be <speak>")
    parsed = Parsed()
    state = _Walker(document, parsed)
    state.walk()
    return parsed


def _local(tag: str) -> str:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return f"amazon:{name}" if "amazon" in namespace else name
    return tag


def _attrs(text: str) -> dict[str, str]:
    return {m.group(1): html.unescape(m.group(2)[1:-1]) for m in _ATTR_RE.finditer(text)}


class _Walker:
    """Walks the SSML text tag by tag, keeping the source offset of every character of content."""

    def __init__(self, document: str, parsed: Parsed) -> None:
        self.doc = document
        self.parsed = parsed
        self.prosody: list[Prosody] = [Prosody()]
        # Elements whose content is replaced: (tag, open_end, attrs, replacement kind)
        self.capture: list[tuple[str, int, dict[str, str]]] = []
        self.captured: list[tuple[str, list[tuple[int, int]]]] = []

    def walk(self) -> None:
        position = 0
        stack: list[str] = []
        for match in _TAG_RE.finditer(self.doc):
            self._content(self.doc[position:match.start()], position)
            position = match.end()
            if match.group(2) is None:
                continue  # comment or processing instruction
            closing, name, attr_text, self_closing = match.group(1), match.group(2), match.group(3), match.group(4)
            if name not in _KNOWN_TAGS:
                raise SsmlError(f"Invalid SSML request: unsupported tag <{name}>")
            attrs = _attrs(attr_text)
            if closing:
                if not stack or stack[-1] != name:
                    raise SsmlError(f"Invalid SSML request: unexpected </{name}>")
                stack.pop()
                self._close(name, match.start())
            else:
                self._open(name, attrs, match.start(), match.end())
                if self_closing:
                    self._close(name, match.start(), self_closing=True)
                else:
                    stack.append(name)
        self._content(self.doc[position:], position)

    def _content(self, raw: str, offset: int) -> None:
        if not raw:
            return
        chars, spans = _unescape(raw, offset)
        if self.captured:
            text, kept = self.captured[-1]
            self.captured[-1] = (text + chars, kept + spans)
            return
        if chars.strip():
            self.parsed.billed_characters += len(chars.strip())
        _add_words(self.parsed.tokens, chars, 0, self.prosody[-1], spans)

    def _open(self, name: str, attrs: dict[str, str], start: int, end: int) -> None:
        tokens = self.parsed.tokens
        if name == "break":
            tokens.append(Break(_break_ms(attrs)))
        elif name == "mark":
            if "name" not in attrs:
                raise SsmlError("Invalid SSML request: <mark> requires a name")
            tokens.append(Mark(attrs["name"], start, end))
        elif name in ("p", "s"):
            tokens.append(SentenceEnd())
        elif name == "prosody":
            self.prosody.append(_prosody(self.prosody[-1], attrs))
        elif name in ("say-as", "sub", "phoneme"):
            self.capture.append((name, end, attrs))
            self.captured.append(("", []))

    def _close(self, name: str, start: int, self_closing: bool = False) -> None:
        if name in ("p", "s"):
            self.parsed.tokens.append(SentenceEnd())
            if name == "p":
                self.parsed.tokens.append(Break(_STRENGTH_MS["strong"]))
        elif name == "prosody" and not self_closing:
            self.prosody.pop()
        elif name in ("say-as", "sub", "phoneme") and self.capture:
            _, open_end, attrs = self.capture.pop()
            text, spans = self.captured.pop()
            source = (spans[0][0], spans[-1][1]) if spans else (open_end, open_end)
            self._replaced(name, attrs, text, source)

    def _replaced(self, name: str, attrs: dict[str, str], text: str, source: tuple[int, int]) -> None:
        prosody = self.prosody[-1]
        self.parsed.billed_characters += len(text.strip())
        if name == "sub":
            spoken = attrs.get("alias", text)
        elif name == "say-as":
            spoken = say_as(text.strip(), attrs.get("interpret-as", ""), attrs.get("format", ""))
        else:
            alphabet = attrs.get("alphabet", "ipa")
            if alphabet != "ipa" or not attrs.get("ph"):
                spoken = text
            else:
                words = text.split()
                self.parsed.tokens.append(Word(text.strip(), source[0], source[1], prosody,
                                               ipa=attrs["ph"] if len(words) <= 1 else None))
                return
        for word in spoken.split():
            self.parsed.tokens.append(Word(word, source[0], source[1], prosody))


def _unescape(raw: str, offset: int) -> tuple[str, list[tuple[int, int]]]:
    """Content text with entities decoded, and for every character the source span it came from."""
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    position = 0
    for match in _ENTITY_RE.finditer(raw):
        for i in range(position, match.start()):
            chars.append(raw[i])
            spans.append((offset + i, offset + i + 1))
        decoded = html.unescape(match.group(0))
        for char in decoded:
            chars.append(char)
            spans.append((offset + match.start(), offset + match.end()))
        position = match.end()
    for i in range(position, len(raw)):
        chars.append(raw[i])
        spans.append((offset + i, offset + i + 1))
    return "".join(chars), spans


def _add_words(tokens: list[Token], text: str, _base: int, prosody: Prosody, spans: list[tuple[int, int]]) -> None:
    for match in _WORD_RE.finditer(text):
        word = match.group(0)
        tokens.append(Word(word, spans[match.start()][0], spans[match.end() - 1][1], prosody))
        if ends_sentence(word):
            tokens.append(SentenceEnd())


def ends_sentence(word: str) -> bool:
    stripped = word.rstrip("\"')]}»”’")  # noqa: RUF001
    if not stripped.endswith((".", "!", "?")):
        return False
    return not (stripped.endswith(".") and (stripped.lower() in _ABBREVIATIONS or re.fullmatch(r"[A-Z]\.", stripped)))


def _break_ms(attrs: dict[str, str]) -> int:
    if "time" in attrs:
        value = attrs["time"].strip().lower()
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s)", value)
        if not match:
            raise SsmlError(f"Invalid SSML request: invalid break time {attrs['time']!r}")
        number = float(match.group(1)) * (1 if match.group(2) == "ms" else 1000)
        return int(min(number, 10000))
    strength = attrs.get("strength", "medium")
    if strength not in _STRENGTH_MS:
        raise SsmlError(f"Invalid SSML request: invalid break strength {strength!r}")
    return _STRENGTH_MS[strength]


def _prosody(current: Prosody, attrs: dict[str, str]) -> Prosody:
    rate, volume, pitch = current.rate, current.volume_db, current.pitch
    if "rate" in attrs:
        value = attrs["rate"].strip().lower()
        if value in _RATE_WORDS:
            rate = _RATE_WORDS[value]
        elif re.fullmatch(r"\d+(\.\d+)?%", value):
            rate = max(0.2, min(float(value[:-1]) / 100.0, 4.0))
        else:
            raise SsmlError(f"Invalid SSML request: invalid prosody rate {attrs['rate']!r}")
    if "volume" in attrs:
        value = attrs["volume"].strip().lower()
        if value in _VOLUME_WORDS:
            volume = _VOLUME_WORDS[value]
        elif re.fullmatch(r"[+-]\d+(\.\d+)?db", value):
            volume = current.volume_db + float(value[:-2])
        else:
            raise SsmlError(f"Invalid SSML request: invalid prosody volume {attrs['volume']!r}")
    if "pitch" in attrs:
        value = attrs["pitch"].strip().lower()
        if value in _PITCH_WORDS:
            pitch = _PITCH_WORDS[value]
        elif re.fullmatch(r"[+-]\d+(\.\d+)?%", value):
            pitch = int(float(value[:-1]))
        else:
            raise SsmlError(f"Invalid SSML request: invalid prosody pitch {attrs['pitch']!r}")
    return Prosody(rate, volume, pitch)


def say_as(text: str, interpret_as: str, fmt: str) -> str:
    """The words a ``say-as`` element is spoken as."""
    if interpret_as in ("characters", "spell-out"):
        return " ".join(ch.upper() if ch.isalpha() else ch for ch in text if not ch.isspace())
    if interpret_as in ("digits", "telephone"):
        return " ".join(ch for ch in text if ch.isalnum())
    if interpret_as == "date":
        return _date(text, fmt or "ymd")
    if interpret_as == "ordinal" and text.isdigit():
        return _ordinal(int(text))
    return text


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _date(text: str, fmt: str) -> str:
    parts = [p for p in re.split(r"[-/.\s]+", text) if p]
    fields = dict(zip(fmt, parts, strict=False))
    words: list[str] = []
    month = fields.get("m")
    if month and month.isdigit() and 1 <= int(month) <= 12:
        words.append(_MONTHS[int(month) - 1])
    elif month:
        words.append(month)
    day = fields.get("d")
    if day and day.isdigit():
        words.append(_ordinal(int(day)))
    year = fields.get("y")
    if year:
        words.append(year)
    return " ".join(words) if words else text
