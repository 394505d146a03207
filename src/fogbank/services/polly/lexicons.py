"""Pronunciation lexicons (W3C PLS): parsing with Polly's limits, and applying them to spoken words."""

from __future__ import annotations

from dataclasses import dataclass

from defusedxml import ElementTree

MAX_LEXICON_CHARS = 4000
MAX_LEXEME_CHARS = 100
ALPHABETS = ("ipa", "x-sampa")
_PUNCTUATION = ".,;:!?\"'()[]{}"


class LexiconError(Exception):
    """A lexicon Polly rejects; ``code`` names the AWS error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Lexeme:
    graphemes: tuple[str, ...]
    alias: str | None
    phoneme: str | None


@dataclass(frozen=True)
class Lexicon:
    alphabet: str
    language: str
    lexemes: tuple[Lexeme, ...]

    def lookup(self, word: str) -> Lexeme | None:
        """The lexeme for a spoken word, ignoring surrounding punctuation; graphemes match case-sensitively,
        as Polly matches them."""
        bare = word.strip(_PUNCTUATION)
        for lexeme in self.lexemes:
            if bare in lexeme.graphemes:
                return lexeme
        return None


def parse(content: str, languages: set[str]) -> Lexicon:
    """Parses and checks a PLS document against Polly's rules."""
    if len(content) > MAX_LEXICON_CHARS:
        raise LexiconError("LexiconSizeExceededException",
                           f"Lexicon size {len(content)} exceeds the maximum of {MAX_LEXICON_CHARS} characters.")
    try:
        root = ElementTree.fromstring(content.encode("utf-8"))
    except Exception as exc:
        raise LexiconError("InvalidLexiconException", f"Lexicon is not a valid PLS document: {exc}") from None
    if _local(root.tag) != "lexicon":
        raise LexiconError("InvalidLexiconException", "The root element of a lexicon must be <lexicon>.")
    alphabet = root.get("alphabet", "")
    if alphabet not in ALPHABETS:
        raise LexiconError("UnsupportedPlsAlphabetException", f"Alphabet {alphabet!r} is not supported.")
    language = root.get("{http://www.w3.org/XML/1998/namespace}lang", "")
    if language not in languages:
        raise LexiconError("UnsupportedPlsLanguageException", f"Language {language!r} is not supported.")
    lexemes = []
    for element in root:
        if _local(element.tag) != "lexeme":
            continue
        graphemes = tuple((g.text or "").strip() for g in element if _local(g.tag) == "grapheme")
        if not graphemes or not all(graphemes):
            raise LexiconError("InvalidLexiconException", "Every lexeme needs at least one grapheme.")
        if any(len(g) > MAX_LEXEME_CHARS for g in graphemes):
            raise LexiconError("MaxLexemeLengthExceededException",
                               f"A grapheme is longer than {MAX_LEXEME_CHARS} characters.")
        alias = next(((a.text or "").strip() for a in element if _local(a.tag) == "alias"), None)
        phoneme = next(((p.text or "").strip() for p in element if _local(p.tag) == "phoneme"), None)
        if not alias and not phoneme:
            raise LexiconError("InvalidLexiconException", "Every lexeme needs an alias or a phoneme.")
        lexemes.append(Lexeme(graphemes, alias or None, phoneme if alphabet == "ipa" else None))
    return Lexicon(alphabet, language, tuple(lexemes))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
