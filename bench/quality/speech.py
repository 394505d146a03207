"""TTS -> ASR round trip: every sentence of ``data.SPEECH`` spoken by the VITS voice, encoded to mp3 as Polly
returns it, decoded and transcribed by Whisper; prints corpus WER and real-time factors, and appends them to
bench/RESULTS.md with --record. Runs offline, in-process, on the engines the services use.

    .venv/bin/python bench/quality/speech.py [--record] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(Path(__file__).resolve().parent)]

from data import SPEECH  # noqa: E402
from metrics import wer  # noqa: E402

from fogbank.engines.models.asr import SAMPLE_RATE, WhisperRecognizer, default_model_dir  # noqa: E402
from fogbank.engines.models.audio import decode, encode  # noqa: E402
from fogbank.engines.models.speech import Synthesizer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    parser.add_argument("--limit", type=int, default=len(SPEECH))
    args = parser.parse_args()
    sentences = SPEECH[:args.limit]
    synthesizer = Synthesizer.load_default()
    recognizer = WhisperRecognizer(default_model_dir())
    assert synthesizer.vits is not None
    tts_seconds = asr_seconds = audio_seconds = 0.0
    hypotheses: list[str] = []
    for sentence in sentences:
        started = time.perf_counter()
        utterance = synthesizer.vits.synthesize(sentence)
        mp3 = encode(utterance.samples, utterance.sample_rate, "mp3")
        tts_seconds += time.perf_counter() - started
        audio = decode(mp3, SAMPLE_RATE)
        audio_seconds += audio.duration
        started = time.perf_counter()
        result = recognizer.transcribe(audio.samples, "en")
        asr_seconds += time.perf_counter() - started
        hypotheses.append(" ".join(w.text for w in result.words))
    score = wer(sentences, hypotheses)
    worst = sorted(zip(sentences, hypotheses, strict=True), key=lambda p: -wer([p[0]], [p[1]]))[:3]
    lines = [
        "",
        f"## Speech round trip (Polly VITS voice -> mp3 -> Transcribe Whisper tiny.en), {time.strftime('%Y-%m-%d')}",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| sentences (bench/quality/data.py SPEECH) | {len(sentences)} |",
        f"| audio synthesized | {audio_seconds:.1f} s |",
        f"| word error rate, TTS -> ASR | {100 * score:.2f} % |",
        f"| TTS real-time factor (synthesis + mp3 encode) | {tts_seconds / audio_seconds:.3f} |",
        f"| ASR real-time factor (beam 5, word times) | {asr_seconds / audio_seconds:.3f} |",
        "",
        "Worst sentences (reference -> recognised):",
        "",
        *[f"- {r} -> {h}" for r, h in worst],
    ]
    print("\n".join(lines))
    if args.record:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
