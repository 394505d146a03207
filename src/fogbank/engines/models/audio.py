"""Audio decoding and encoding for the speech services, on PyAV (FFmpeg's libraries, BSD-licensed bindings).

Speech engines work on mono float32 samples; the services speak containers (wav, flac, mp3, ogg, webm, mp4).
Everything that crosses that boundary goes through here, so a corrupt or unsupported file fails in one
place with one exception type (``AudioError``) that the services turn into AWS's failure reasons.
Ogg Vorbis is encoded by the ``ffmpeg`` program (libvorbis) when it is installed, because FFmpeg's built-in
Vorbis encoder only writes stereo and is marked experimental; PyAV's encoder is the fallback.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Container names as FFmpeg reports them -> the MediaFormat values Transcribe knows.
_CONTAINER_FORMATS = {
    "wav": "wav", "flac": "flac", "mp3": "mp3", "ogg": "ogg", "webm": "webm", "matroska": "webm",
    "mov": "mp4", "mp4": "mp4", "m4a": "m4a", "3gp": "mp4", "3g2": "mp4", "mj2": "mp4", "amr": "amr",
}


class AudioError(Exception):
    """Media that cannot be decoded, is empty, or is in a format fogbank does not read."""


@dataclass(frozen=True)
class DecodedAudio:
    """Mono float32 samples in [-1, 1] at ``sample_rate``, plus what the container said about itself."""

    samples: np.ndarray
    sample_rate: int
    source_rate: int
    media_format: str
    channels: int

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate) if self.sample_rate else 0.0


def media_format_of(container: str) -> str | None:
    """The Transcribe MediaFormat of an FFmpeg container name (``"mov,mp4,m4a,3gp,3g2,mj2"`` included)."""
    for name in container.split(","):
        found = _CONTAINER_FORMATS.get(name.strip())
        if found:
            return found
    return None


def decode(source: Path | bytes, sample_rate: int = 16000, max_seconds: float | None = None) -> DecodedAudio:
    """Decodes the first audio stream to mono float32 at ``sample_rate``.

    ``max_seconds`` bounds the work on hostile input: decoding stops there and the caller decides whether
    a longer file is an error.
    """
    if isinstance(source, bytes | bytearray) and not source:
        raise AudioError("The media file is empty.")
    if isinstance(source, Path) and source.stat().st_size == 0:
        raise AudioError("The media file is empty.")
    handle: Any = io.BytesIO(source) if isinstance(source, bytes | bytearray) else str(source)
    try:
        container = av_open(handle)
    except Exception as exc:
        raise AudioError(f"The media file could not be decoded: {_short(exc)}") from None
    try:
        streams = container.streams.audio
        if not streams:
            raise AudioError("The media file has no audio stream.")
        stream = streams[0]
        source_rate = int(stream.codec_context.sample_rate or 0)
        channels = int(stream.codec_context.channels or 1)
        media_format = media_format_of(container.format.name) or container.format.name
        import av

        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        pieces: list[np.ndarray] = []
        total = 0
        limit = int(max_seconds * sample_rate) if max_seconds else None
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    pieces.append(chunk)
                    total += len(chunk)
                if limit is not None and total >= limit:
                    break
            for out in resampler.resample(None):
                pieces.append(out.to_ndarray().reshape(-1))
        except AudioError:
            raise
        except Exception as exc:
            raise AudioError(f"The media file could not be decoded: {_short(exc)}") from None
    finally:
        container.close()
    samples = np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, dtype=np.float32)
    if samples.size == 0:
        raise AudioError("The media file contains no audio samples.")
    return DecodedAudio(samples, sample_rate, source_rate or sample_rate, media_format, channels)


def av_open(handle: Any) -> Any:
    """Opens a container for reading with FFmpeg's probing; a function so tests can see one entry point."""
    import av

    return av.open(handle, mode="r", metadata_errors="ignore")


def to_int16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Mono float32 resampling with FFmpeg's resampler (band-limited, unlike linear interpolation)."""
    if from_rate == to_rate or samples.size == 0:
        return samples.astype(np.float32)
    import av

    frame = av.AudioFrame.from_ndarray(samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = from_rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=to_rate)
    pieces = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    pieces += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, dtype=np.float32)


def encode(samples: np.ndarray, sample_rate: int, output_format: str, ffmpeg: str | None = None) -> bytes:
    """Mono float32 samples -> the bytes of one of Polly's output formats at ``sample_rate``.

    pcm is signed 16-bit little-endian without a header, as Polly returns it; mulaw/alaw are raw G.711 at
    8 kHz; mp3, ogg_vorbis and ogg_opus are complete files; wav is for tests and benchmarks.
    """
    if output_format == "pcm":
        return to_int16(samples).tobytes()
    if output_format == "wav":
        return _wav(to_int16(samples), sample_rate)
    if output_format in ("mulaw", "alaw"):
        return _raw_codec(samples, sample_rate, "pcm_mulaw" if output_format == "mulaw" else "pcm_alaw",
                          "mulaw" if output_format == "mulaw" else "alaw")
    if output_format == "mp3":
        return _container(samples, sample_rate, "mp3", "libmp3lame", "mono")
    if output_format == "ogg_opus":
        return _container(resample(samples, sample_rate, 48000), 48000, "ogg", "libopus", "mono")
    if output_format == "ogg_vorbis":
        binary = ffmpeg if ffmpeg is not None else shutil.which("ffmpeg")
        if binary:
            return _ffmpeg_vorbis(binary, samples, sample_rate)
        return _container(samples, sample_rate, "ogg", "vorbis", "stereo", {"strict": "experimental"})
    raise AudioError(f"Unsupported output format {output_format}")


def _wav(pcm: np.ndarray, sample_rate: int) -> bytes:
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def _container(samples: np.ndarray, sample_rate: int, fmt: str, codec: str, layout: str,
               options: dict[str, str] | None = None) -> bytes:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as container:
        stream: Any = container.add_stream(codec, rate=sample_rate, layout=layout, options=options or {})
        frame = av.AudioFrame.from_ndarray(samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = sample_rate
        target = stream.codec_context.format.name if stream.codec_context.format else "s16"
        resampler = av.AudioResampler(format=target, layout=layout, rate=sample_rate)
        for converted in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(converted):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def _raw_codec(samples: np.ndarray, sample_rate: int, codec: str, fmt: str) -> bytes:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as container:
        stream: Any = container.add_stream(codec, rate=sample_rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(to_int16(samples).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = sample_rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def _ffmpeg_vorbis(binary: str, samples: np.ndarray, sample_rate: int) -> bytes:
    command = [binary, "-hide_banner", "-loglevel", "error", "-f", "s16le", "-ar", str(sample_rate), "-ac", "1",
               "-i", "pipe:0", "-c:a", "libvorbis", "-q:a", "4", "-f", "ogg", "pipe:1"]
    done = subprocess.run(command, input=to_int16(samples).tobytes(), capture_output=True, timeout=300, check=False)
    if done.returncode != 0 or not done.stdout:
        return _container(samples, sample_rate, "ogg", "vorbis", "stereo", {"strict": "experimental"})
    return done.stdout


def _short(exc: BaseException) -> str:
    """The error's message without the file name FFmpeg appends (scratch paths are not the client's business)."""
    text = str(getattr(exc, "strerror", None) or exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
