"""Stored video: an MP4/MOV decoded from bytes with PyAV (FFmpeg), frames sampled for the image models, and
one pass over every frame for shot boundaries and black frames.

Only what Amazon Rekognition Video accepts is opened: the MPEG-4 and QuickTime containers with H.264 video.
Anything else (another container, another codec, a file that is not a video) is a ``VideoError``, so a
video that fogbank analyses is one AWS would analyse too.

Frames for the image models are sampled at a steady rate (two a second by default): each model then sees
the frame shown at each sample time. Segments need every frame, but only a little of each: a small thumbnail
and its colour histogram (shot boundaries) and the share of dark pixels in the luma plane (black frames).
Shot boundaries are hard cuts: a jump in colours and in pixels between two consecutive frames that stands
out from the recent frame-to-frame change, so camera motion within a shot does not cut it. Gradual
transitions (fades, dissolves) are not detected as boundaries.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

ENGINE_NAME = "FFmpeg (PyAV) decoder, thumbnail-difference cut detection, luma black-frame detection"
SUPPORTED_CONTAINERS = frozenset({"mov", "mp4"})
SUPPORTED_CODECS = frozenset({"h264"})
DEFAULT_SAMPLES_PER_SECOND = 2.0
# Shot boundaries: the frame distance (0..1) a cut must reach, and how far above the recent median of
# frame-to-frame distances it must stand.
CUT_MIN_DISTANCE = 0.25
CUT_OVER_MEDIAN = 3.0
CUT_WINDOW = 12
_THUMB = (64, 36)
_LUMA_MAX_WIDTH = 320
_BINS = 16


class VideoError(Exception):
    """A video that cannot be analysed; ``reason`` is ``corrupt``, ``unsupported`` or ``too_long``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Stopped(Exception):
    """The caller asked decoding to stop (the server is shutting down)."""


@dataclass(frozen=True)
class VideoMetadata:
    codec: str
    duration_millis: int
    format: str
    frame_rate: float
    frame_height: int
    frame_width: int
    color_range: str  # FULL or LIMITED


@dataclass(frozen=True)
class AudioMetadata:
    codec: str
    duration_millis: int
    sample_rate: int
    channels: int


@dataclass
class SampledFrame:
    number: int  # 0-based, in presentation order
    timestamp_ms: int
    image: Image.Image


@dataclass(frozen=True)
class Span:
    """Frames ``start``..``end`` (inclusive) of a segment, with their times and a confidence (0..100)."""

    start: int
    end: int
    start_ms: int
    end_ms: int  # when the last frame stops showing
    confidence: float

    @property
    def frames(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class Segments:
    shots: list[Span]
    black: list[Span]
    frame_count: int


def _open(data: bytes) -> Any:
    import av

    try:
        return av.open(io.BytesIO(data), mode="r")
    except (av.error.FFmpegError, ValueError, UnicodeDecodeError) as exc:
        raise VideoError("unsupported", f"Unsupported codec/format: {exc}") from exc


def _millis(seconds: float) -> int:
    return round(seconds * 1000)


class Video:
    """An MP4/MOV video held in memory; each pass over its frames decodes it afresh."""

    def __init__(self, data: bytes, max_duration_ms: int | None = None) -> None:
        self._data = data
        container = _open(data)
        try:
            formats = set(container.format.name.split(","))
            if not formats & SUPPORTED_CONTAINERS:
                raise VideoError("unsupported", f"Unsupported codec/format: {container.format.long_name} is not "
                                                "an MPEG-4 or MOV container")
            if not container.streams.video:
                raise VideoError("unsupported", "Unsupported codec/format: the file has no video stream")
            stream = container.streams.video[0]
            codec = stream.codec_context.name
            if codec not in SUPPORTED_CODECS:
                raise VideoError("unsupported", f"Unsupported codec/format: the video is {codec}, not H.264")
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            frame_rate = float(rate) if rate else 0.0
            if frame_rate <= 0 or not stream.width or not stream.height:
                raise VideoError("corrupt", "The video stream has no frame rate or frame size")
            if container.duration:
                duration = int(container.duration // 1000)
            elif stream.duration and stream.time_base:
                duration = _millis(float(stream.duration * stream.time_base))
            else:
                duration = 0
            if max_duration_ms is not None and duration > max_duration_ms:
                raise VideoError("too_long", f"The video lasts {duration} ms; at most {max_duration_ms} ms "
                                             "are accepted")
            pix_fmt = stream.codec_context.pix_fmt or ""
            full = stream.codec_context.color_range == 2 or pix_fmt.startswith("yuvj")
            self.metadata = VideoMetadata(codec, duration, container.format.long_name, round(frame_rate, 6),
                                          int(stream.height), int(stream.width), "FULL" if full else "LIMITED")
            self.audio: list[AudioMetadata] = []
            for audio in container.streams.audio:
                seconds = float(audio.duration * audio.time_base) if audio.duration and audio.time_base else 0.0
                self.audio.append(AudioMetadata(audio.codec_context.name, _millis(seconds) or duration,
                                                int(audio.codec_context.sample_rate or 0),
                                                int(audio.codec_context.channels or 0)))
        finally:
            container.close()

    @property
    def frame_ms(self) -> float:
        return 1000.0 / self.metadata.frame_rate

    def _decoded(self, stop: Callable[[], bool] | None) -> Iterator[tuple[int, int, Any]]:
        """(frame number, timestamp in ms from the stream's start, av.VideoFrame) for every frame."""
        import av

        container = _open(self._data)
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            start = float(stream.start_time * stream.time_base) if stream.start_time and stream.time_base else 0.0
            number = 0
            try:
                for frame in container.decode(stream):
                    if stop is not None and stop():
                        raise Stopped()
                    seconds = frame.time if frame.time is not None else number / self.metadata.frame_rate + start
                    yield number, max(0, _millis(seconds - start)), frame
                    number += 1
            except av.error.FFmpegError as exc:
                if number == 0:
                    raise VideoError("corrupt", f"The video cannot be decoded: {exc}") from exc
                # A damaged tail: the frames before it stand, as a player would show them.
            if number == 0:
                raise VideoError("corrupt", "The video has no decodable frames")
        finally:
            container.close()

    def frames(self, per_second: float = DEFAULT_SAMPLES_PER_SECOND,
               stop: Callable[[], bool] | None = None) -> Iterator[SampledFrame]:
        """The frame on screen at 0 ms and then every 1/per_second seconds, as RGB images."""
        interval = 1000.0 / per_second
        due = 0.0
        for number, timestamp, frame in self._decoded(stop):
            if timestamp + 0.5 < due:
                continue
            yield SampledFrame(number, timestamp, frame.to_image())
            due = (math.floor((timestamp + 0.5) / interval) + 1) * interval

    def segments(self, max_pixel_threshold: float = 0.2, min_coverage: float = 99.0,
                 stop: Callable[[], bool] | None = None) -> Segments:
        """Shots (hard cuts) and runs of black frames, from one pass over every frame.

        A frame is black when at least ``min_coverage`` percent of its pixels have a luma no brighter than
        ``max_pixel_threshold`` of the full luma range (limited-range video is expanded to full range
        first, so 0.2 means a luma of 51 of 255 either way, as AWS defines it). Runs of frames that are
        black by the default definition are not shots: nothing was filmed there.
        """
        distances: list[float] = []
        coverage: list[float] = []
        default_black: list[bool] = []
        times: list[int] = []
        previous: tuple[np.ndarray, np.ndarray] | None = None
        limit = math.floor(max_pixel_threshold * 255 + 1e-9)
        for _number, timestamp, frame in self._decoded(stop):
            thumb = frame.reformat(width=_THUMB[0], height=_THUMB[1], format="rgb24").to_ndarray()
            current = (thumb.astype(np.float32), colour_histogram(thumb))
            distances.append(0.0 if previous is None else frame_distance(previous, current))
            previous = current
            width = min(_LUMA_MAX_WIDTH, frame.width)
            height = max(1, round(frame.height * width / frame.width))
            luma = frame.reformat(width=width, height=height, format="gray").to_ndarray()
            counts = np.bincount(luma.ravel(), minlength=256).astype(np.float64)
            cumulative = np.cumsum(counts) / counts.sum()
            coverage.append(float(cumulative[limit]) * 100)
            default_black.append(float(cumulative[51]) * 100 >= 99.0)
            times.append(timestamp)
        frame_ms = self.frame_ms
        black = [Span(s, e, times[s], round(times[e] + frame_ms), conf)
                 for s, e, conf in black_runs(coverage, min_coverage)]
        shots = []
        for start, end, conf in shot_runs(cut_confidences(distances), default_black):
            shots.append(Span(start, end, times[start], round(times[end] + frame_ms), conf))
        return Segments(shots, black, len(times))


def colour_histogram(rgb: np.ndarray) -> np.ndarray:
    """Per-channel histograms of an RGB thumbnail, each normalised to sum to 1."""
    quantised = (rgb.reshape(-1, 3).astype(np.int32) * _BINS) // 256
    return np.concatenate([np.bincount(quantised[:, c], minlength=_BINS) / quantised.shape[0]
                           for c in range(3)])


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Half the L1 distance, averaged over the channels: 0 for the same colours, 1 for disjoint ones."""
    return float(np.abs(a - b).sum() / 6.0)


def frame_distance(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """How unlike two frames are (0..1), from (thumbnail, colour histogram) pairs.

    Half is the histogram distance, which tells scenes of different colours apart; half is the mean pixel
    difference (doubled, capped at 1), which tells apart scenes of similar colours. Motion moves pixels a
    little and colours hardly at all, so it scores low on both.
    """
    pixels = float(np.abs(a[0] - b[0]).mean()) / 255.0
    return 0.5 * histogram_distance(a[1], b[1]) + 0.5 * min(1.0, 2.0 * pixels)


def cut_confidences(distances: list[float]) -> list[float]:
    """For each frame, the confidence (50..100) that a hard cut lands on it, or 0 for none.

    ``distances[i]`` compares frame i with frame i-1. A cut is a distance of at least CUT_MIN_DISTANCE and
    CUT_OVER_MEDIAN times the median of the CUT_WINDOW distances before it, so steady motion (which moves
    every distance up) does not read as a string of cuts.
    """
    out = [0.0] * len(distances)
    for index in range(1, len(distances)):
        value = distances[index]
        window = distances[max(1, index - CUT_WINDOW):index]
        baseline = float(np.median(window)) if window else 0.0
        if value >= CUT_MIN_DISTANCE and value >= CUT_OVER_MEDIAN * baseline:
            out[index] = round(min(99.9, 50 + 50 * min(1.0, (value - baseline) / 0.4)), 3)
    return out


def shot_runs(cuts: list[float], black: list[bool]) -> list[tuple[int, int, float]]:
    """(first frame, last frame, confidence) of each shot; a shot's confidence is that of the cut opening it.

    Black frames split shots and belong to none.
    """
    runs: list[tuple[int, int, float]] = []
    start: int | None = None
    confidence = 99.9
    for index in range(len(cuts)):
        if black[index]:
            if start is not None:
                runs.append((start, index - 1, confidence))
                start = None
            continue
        if start is None:
            start = index
            confidence = cuts[index] if index and cuts[index] and not black[index - 1] else 99.9
        elif cuts[index]:
            runs.append((start, index - 1, confidence))
            start, confidence = index, cuts[index]
    if start is not None:
        runs.append((start, len(cuts) - 1, confidence))
    return runs


def black_runs(coverage: list[float], min_coverage: float) -> list[tuple[int, int, float]]:
    """(first frame, last frame, confidence) of each run of frames whose dark-pixel share reaches the minimum.

    The confidence is the run's mean dark-pixel share, at least 50 (AWS's floor for segment confidence).
    """
    runs: list[tuple[int, int, float]] = []
    start: int | None = None
    for index, value in enumerate([*coverage, -1.0]):
        if value >= min_coverage and index < len(coverage):
            if start is None:
                start = index
        elif start is not None:
            share = float(np.mean(coverage[start:index]))
            runs.append((start, index - 1, round(max(50.0, min(99.9, share)), 3)))
            start = None
    return runs


def smpte(frame_number: int, frame_rate: float) -> str:
    """The SMPTE timecode of a frame: HH:MM:SS:FF, or HH:MM:SS;FF with drop-frame numbering at 29.97/59.94."""
    nominal = max(1, round(frame_rate))
    drop_frame = abs(frame_rate - nominal * 1000 / 1001) < 0.01 and nominal in (30, 60)
    frames = frame_number
    if drop_frame:
        dropped = 2 * nominal // 30
        per_minute = nominal * 60 - dropped
        per_ten_minutes = per_minute * 10 + dropped
        tens, rest = divmod(frames, per_ten_minutes)
        frames += dropped * 9 * tens
        if rest > dropped:
            frames += dropped * ((rest - dropped) // per_minute)
    ff = frames % nominal
    seconds = frames // nominal
    sep = ";" if drop_frame else ":"
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}{sep}{ff:02d}"
