"""Short H.264 videos the Rekognition video tests make themselves with PyAV: scenes of scikit-image's
photos (an astronaut's face, a cat, a cup of coffee), black frames and drawn text, each held for a known
time, so the tests know exactly what is on screen when."""

from __future__ import annotations

import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageOps
from tests.services.textract.render import font

SIZE = (320, 240)
FPS = 10


@dataclass(frozen=True)
class Scene:
    image: Image.Image
    seconds: float


def photo(name: str, size: tuple[int, int] = SIZE) -> Image.Image:
    """A scikit-image photo cropped to fill the frame (kept high, where the astronaut's face is)."""
    spec = importlib.util.find_spec("skimage")
    assert spec is not None and spec.origin is not None, "scikit-image (test dependency) is not installed"
    image = Image.open(Path(spec.origin).parent / "data" / name).convert("RGB")
    return ImageOps.fit(image, size, centering=(0.5, 0.2))


def flat(level: int, size: tuple[int, int] = SIZE) -> Image.Image:
    """A frame of one grey level (0 is black)."""
    return Image.new("RGB", size, (level, level, level))


def text(words: str, size: tuple[int, int] = SIZE) -> Image.Image:
    """Dark words on a light background, one line, as large as fits the frame."""
    image = Image.new("RGB", size, (245, 245, 240))
    draw = ImageDraw.Draw(image)
    points = 40
    face = font(points, bold=True)
    left, top, right, bottom = draw.textbbox((0, 0), words, font=face)
    while right - left > size[0] * 0.85 and points > 12:
        points -= 2
        face = font(points, bold=True)
        left, top, right, bottom = draw.textbbox((0, 0), words, font=face)
    draw.text(((size[0] - (right - left)) / 2 - left, (size[1] - (bottom - top)) / 2 - top), words,
              fill=(20, 20, 20), font=face)
    return image


def mp4(scenes: list[Scene], fps: int = FPS, codec: str = "libx264", container: str = "mp4") -> bytes:
    """The scenes one after another, each for its seconds at ``fps`` frames a second."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = scenes[0].image.size
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "18"}
        for scene in scenes:
            frame_array = np.asarray(scene.image.convert("RGB"))
            for _ in range(round(scene.seconds * fps)):
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame_array, format="rgb24")):
                    output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()
