"""Tiny models the tests build themselves, in the formats a user may configure (nothing is downloaded).

The text classifier is a bag-of-words network: each vocabulary word has one logit per label (an ONNX
Gather), summed over the unmasked tokens. With the weights chosen here its answers are known exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def word_tokenizer(vocab: list[str], path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    ids = {word: i for i, word in enumerate(["[PAD]", "[UNK]", *vocab])}
    tokenizer = Tokenizer(models.WordLevel(ids, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(path))


def bag_of_words_onnx(weights: np.ndarray, path: Path) -> None:
    """An ONNX graph: logits[b, l] = sum over tokens s with mask 1 of weights[input_ids[b, s], l]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    table = numpy_helper.from_array(weights.astype(np.float32), name="table")
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), name="axes")
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["embedded"], axis=0),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "axes_last"], ["mask_3d"]),
        helper.make_node("Mul", ["embedded", "mask_3d"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axes"], ["logits"], keepdims=0),
    ]
    axes_last = numpy_helper.from_array(np.array([2], dtype=np.int64), name="axes_last")
    graph = helper.make_graph(
        nodes, "bag_of_words",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", weights.shape[1]])],
        initializer=[table, axes, axes_last])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def text_classifier(folder: Path, words: dict[str, list[float]], labels: list[str], hf: bool = True,
                    onnx_name: str = "model.onnx") -> Path:
    """A Hugging Face style folder (config.json, tokenizer.json, an ONNX export) that scores texts by words."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = list(words)
    word_tokenizer(vocab, folder / "tokenizer.json")
    table = np.zeros((len(vocab) + 2, len(labels)), dtype=np.float32)
    for i, word in enumerate(vocab):
        table[i + 2] = words[word]
    onnx_path = folder / onnx_name
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    bag_of_words_onnx(table, onnx_path)
    config: dict[str, object] = {"id2label": {str(i): label for i, label in enumerate(labels)}, "pad_token_id": 0}
    if hf:
        config.update({"model_type": "bert", "architectures": ["BertForSequenceClassification"]})
    (folder / "config.json").write_text(json.dumps(config))
    return folder
