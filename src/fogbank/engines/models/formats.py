"""Local model files a user may configure instead of a default: telling the formats apart and loading them.

Supported here: a Hugging Face folder (config.json + tokenizer.json, with an ONNX export inside it, or
safetensors weights when the optional ``transformers`` package is installed), a bare ONNX folder or file, a
spaCy pipeline folder, and a fastText ``.bin``/``.ftz`` file. CTranslate2 folders and GGUF files are told
apart so that the capabilities which can use them (translation, speech, generation) get a clear answer.
Loading never touches the network: ``transformers`` is called with ``local_files_only=True``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fogbank.engines.models.registry import ModelUnavailable

Format = Literal["huggingface", "onnx", "ctranslate2", "gguf", "spacy", "fasttext"]

_ONNX_NAMES = ("model.onnx", "onnx/model.onnx", "model_quantized.onnx", "onnx/model_quantized.onnx")


def detect_format(path: Path) -> Format:
    """What kind of model a local path holds, judged by its files (never by its name alone)."""
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".gguf" or _starts_with(path, b"GGUF"):
            return "gguf"
        if suffix == ".onnx":
            return "onnx"
        if suffix in (".ftz", ".bin"):
            return "fasttext"
        raise ModelUnavailable(f"{path} is not a model file fogbank can read (.gguf, .onnx, .bin, .ftz)")
    if not path.is_dir():
        raise ModelUnavailable(f"{path} does not exist")
    if (path / "meta.json").is_file() and (path / "config.cfg").is_file():
        return "spacy"
    config = _read_json(path / "config.json")
    if (path / "model.bin").is_file() and not config.get("model_type") and not config.get("architectures"):
        return "ctranslate2"
    if config.get("model_type") or config.get("architectures"):
        return "huggingface"
    if _onnx_file(path) is not None:
        return "onnx"
    raise ModelUnavailable(f"{path} holds no model fogbank recognises (Hugging Face, ONNX, CTranslate2, spaCy)")


def _starts_with(path: Path, magic: bytes) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(magic)) == magic


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"{path} is not valid JSON: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _onnx_file(folder: Path) -> Path | None:
    for name in _ONNX_NAMES:
        if (folder / name).is_file():
            return folder / name
    found = sorted(folder.glob("*.onnx"))
    return found[0] if found else None


# ---------------------------------------------------------------------- text classification


@dataclass
class TextClassifier:
    """A sequence classifier from a local folder: texts in, one {label: probability} dict per text out."""

    name: str
    labels: list[str]
    multi_label: bool
    _predict: Any

    def predict(self, texts: list[str]) -> list[dict[str, float]]:
        return list(self._predict(texts))


def load_text_classifier(path: Path) -> TextClassifier:
    """A Hugging Face or ONNX sequence-classification model, run locally."""
    fmt = detect_format(path)
    if fmt == "onnx":
        folder = path.parent if path.is_file() else path
        return _onnx_classifier(folder, path if path.is_file() else _onnx_file(path))
    if fmt == "huggingface":
        onnx = _onnx_file(path)
        if onnx is not None:
            return _onnx_classifier(path, onnx)
        return _transformers_classifier(path)
    raise ModelUnavailable(f"{path} is a {fmt} model; a text classifier must be a Hugging Face or ONNX folder")


def _labels(config: dict[str, Any], count: int) -> list[str]:
    id2label = config.get("id2label") or {}
    return [str(id2label.get(str(i), id2label.get(i, f"LABEL_{i}"))) for i in range(count)]


def _onnx_classifier(folder: Path, model_file: Path | None) -> TextClassifier:
    if model_file is None:
        raise ModelUnavailable(f"no .onnx file in {folder}")
    try:
        import numpy as np
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError as exc:  # pragma: no cover - both are dependencies
        raise ModelUnavailable(f"ONNX models need onnxruntime and tokenizers: {exc}") from exc
    tokenizer_file = folder / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise ModelUnavailable(f"{folder} has no tokenizer.json")
    config = _read_json(folder / "config.json")
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    max_length = int(config.get("max_position_embeddings") or 512)
    tokenizer.enable_truncation(max_length=max_length)
    pad_id = int(config.get("pad_token_id") or 0)
    tokenizer.enable_padding(pad_id=pad_id)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
    input_names = [i.name for i in session.get_inputs()]
    outputs = session.get_outputs()
    width = outputs[0].shape[-1]
    multi_label = config.get("problem_type") == "multi_label_classification"
    count = width if isinstance(width, int) else len(config.get("id2label") or {})
    labels = _labels(config, count)

    def predict(texts: list[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        encoded = tokenizer.encode_batch(texts)
        feeds: dict[str, Any] = {}
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        for name in input_names:
            if name == "input_ids":
                feeds[name] = ids
            elif name == "attention_mask":
                feeds[name] = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            elif name == "token_type_ids":
                feeds[name] = np.array([e.type_ids for e in encoded], dtype=np.int64)
            else:
                raise ModelUnavailable(f"the ONNX model wants an input fogbank cannot supply: {name}")
        logits = session.run([outputs[0].name], feeds)[0]
        return [_probabilities(row.tolist(), labels, multi_label) for row in logits]

    return TextClassifier(str(folder), labels, multi_label, predict)


def _probabilities(logits: list[float], labels: list[str], multi_label: bool) -> dict[str, float]:
    if multi_label:
        return {label: 1.0 / (1.0 + math.exp(-x)) for label, x in zip(labels, logits, strict=False)}
    top = max(logits)
    exps = [math.exp(x - top) for x in logits]
    total = sum(exps)
    return {label: e / total for label, e in zip(labels, exps, strict=False)}


def _transformers_classifier(folder: Path) -> TextClassifier:
    try:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
    except ImportError as exc:
        raise ModelUnavailable(
            f"{folder} holds PyTorch/safetensors weights; install the optional 'transformers' and 'torch' "
            "packages to run it, or export it to ONNX (model.onnx beside tokenizer.json)") from exc
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(str(folder), local_files_only=True)
    model.eval()
    config = model.config
    labels = [str(config.id2label[i]) for i in range(config.num_labels)]
    multi_label = getattr(config, "problem_type", None) == "multi_label_classification"

    def predict(texts: list[str]) -> list[dict[str, float]]:
        batch = tokenizer(texts, truncation=True, padding=True, return_tensors="pt")
        with torch.no_grad():
            logits = model(**batch).logits
        return [_probabilities(row.tolist(), labels, multi_label) for row in logits]

    return TextClassifier(str(folder), labels, multi_label, predict)
