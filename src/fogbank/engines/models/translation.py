"""Machine translation with Apertium language pairs (Debian packages), run as separate processes.

Apertium is GPL, so fogbank never links it: each translation pipes text through the ``apertium`` program.
The pairs are whatever ``apertium-*`` packages installed into the modes folder; nothing is assumed. Codes
are Amazon Translate's (ISO 639-1, with ``pt-PT`` and regional variants); a pair with no direct mode is
chained through a pivot language, English first.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import deque
from pathlib import Path

DEFAULT_MODES = Path("/usr/share/apertium/modes")

# Apertium's ISO 639-3 (and 639-1) names -> Amazon Translate codes
_CODES = {
    "eng": "en", "en": "en", "spa": "es", "es": "es", "cat": "ca", "ca": "ca", "fra": "fr", "fr": "fr",
    "por": "pt", "pt": "pt", "ita": "it", "it": "it", "glg": "gl", "gl": "gl", "eus": "eu", "eu": "eu",
    "isl": "is", "is": "is", "mkd": "mk", "mk": "mk", "bul": "bg", "ron": "ro", "ro": "ro", "rus": "ru",
    "ukr": "uk", "bel": "be", "dan": "da", "nor": "no", "nob": "no", "swe": "sv", "afr": "af", "nld": "nl",
    "ind": "id", "zlm": "ms", "urd": "ur", "hin": "hi", "pol": "pl", "oci": "oc", "oc": "oc", "srd": "sc",
    "arg": "an", "ast": "ast", "cym": "cy", "br": "br", "bre": "br", "hbs": "hr", "slv": "sl",
}
# Regional Translate codes served by a variant mode when one exists, else by the base language.
_VARIANT_MODES = {"pt": ("pt_BR",), "pt-PT": ("",), "en": ("", "US"), "ca": ("",)}
ALIASES = {"es-MX": "es", "fr-CA": "fr", "pt-PT": "pt", "zh-TW": "zh", "en-US": "en", "en-GB": "en"}


class TranslationError(Exception):
    """Apertium failed or is not installed."""


class ApertiumEngine:
    """The installed Apertium pairs and a way through them for any two languages."""

    def __init__(self, modes_dir: Path = DEFAULT_MODES, binary: str | None = None, timeout: float = 300.0) -> None:
        self.modes_dir = modes_dir
        self.binary = binary or shutil.which("apertium")
        self.timeout = timeout
        self.pairs = self._discover()
        self.name = "apertium " + ", ".join(sorted(f"{s}-{t}" for s, t in self.pairs)) if self.pairs else "apertium"

    def _discover(self) -> dict[tuple[str, str], str]:
        """(source, target) -> mode name, from the ``.mode`` files the pair packages installed."""
        pairs: dict[tuple[str, str], str] = {}
        if self.binary is None or not self.modes_dir.is_dir():
            return pairs
        variants: dict[tuple[str, str], str] = {}
        for path in sorted(self.modes_dir.glob("*.mode")):
            name = path.stem
            match = re.fullmatch(r"([a-z]{2,3})-([a-z]{2,3})(?:_(\w+))?", name)
            if not match:
                continue
            source, target = _CODES.get(match.group(1)), _CODES.get(match.group(2))
            if not source or not target or source == target:
                continue
            variant = match.group(3)
            if variant is None:
                pairs.setdefault((source, target), name)
            elif variant == "BR" and target == "pt":
                variants[(source, "pt")] = name
        for (source, target), name in variants.items():
            # Amazon Translate's "pt" is Brazilian Portuguese; the plain mode then answers "pt-PT".
            if (source, target) in pairs:
                pairs[(source, "pt-PT")] = pairs[(source, target)]
            pairs[(source, target)] = name
        for (source, target), name in list(pairs.items()):
            if source == "pt" and target != "pt-PT":
                pairs.setdefault(("pt-PT", target), name)
        return pairs

    def languages(self) -> set[str]:
        return {code for pair in self.pairs for code in pair}

    def route(self, source: str, target: str) -> list[str] | None:
        """Mode names that carry ``source`` to ``target``: the direct pair, else a chain through English,
        else the shortest chain of at most three pairs; None when the languages are not connected."""
        known = self.languages()
        source = source if source in known else ALIASES.get(source, source)
        target = target if target in known else ALIASES.get(target, target)
        if (source, target) in self.pairs:
            return [self.pairs[(source, target)]]
        if (source, "en") in self.pairs and ("en", target) in self.pairs:
            return [self.pairs[(source, "en")], self.pairs[("en", target)]]
        edges: dict[str, list[str]] = {}
        for a, b in self.pairs:
            edges.setdefault(a, []).append(b)
        seen = {source: [source]}
        queue = deque([source])
        while queue:
            node = queue.popleft()
            if len(seen[node]) > 3:
                continue
            for following in sorted(edges.get(node, []), key=lambda code: code != "en"):
                if following in seen:
                    continue
                seen[following] = [*seen[node], following]
                if following == target:
                    path = seen[following]
                    return [self.pairs[(path[i], path[i + 1])] for i in range(len(path) - 1)]
                queue.append(following)
        return None

    def translate(self, text: str, modes: list[str], fmt: str = "txt") -> str:
        """Pipes text through each mode in turn; ``fmt`` is ``txt`` or ``html`` (markup passes untouched)."""
        if not self.binary:
            raise TranslationError("apertium is not installed")
        current = text
        for mode in modes:
            try:
                done = subprocess.run([self.binary, "-d", str(self.modes_dir.parent), "-u", "-f", fmt, mode],
                                      input=current.encode("utf-8"), capture_output=True, timeout=self.timeout,
                                      check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise TranslationError(f"apertium failed: {exc}") from None
            if done.returncode != 0:
                raise TranslationError(f"apertium {mode} failed: "
                                       f"{done.stderr.decode('utf-8', 'replace').strip()[:200]}")
            current = done.stdout.decode("utf-8", "replace")
        return _keep_edges(text, current)


def _keep_edges(original: str, translated: str) -> str:
    """Apertium adds or drops a trailing newline; the caller's leading and trailing whitespace is kept."""
    core = translated.strip()
    lead = original[:len(original) - len(original.lstrip())]
    trail = original[len(original.rstrip()):]
    return f"{lead}{core}{trail}"


def load_default() -> ApertiumEngine:
    engine = ApertiumEngine()
    if engine.binary is None:
        raise TranslationError("apertium is not installed (Debian packages apertium and apertium-* pairs)")
    if not engine.pairs:
        raise TranslationError(f"no Apertium language pairs are installed in {engine.modes_dir}")
    return engine
