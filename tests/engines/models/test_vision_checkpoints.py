"""The torch-free checkpoint reader, on checkpoints the test writes in both of torch's formats, and its
refusal of a pickle that would run code."""

from __future__ import annotations

import collections
import io
import os
import pickle
import sys
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fogbank.engines.models.vision_torchfile import CheckpointError, load_state_dict


class _Storage:
    def __init__(self, key: str, array: np.ndarray) -> None:
        self.key = key
        self.array = array


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, shape: tuple[int, ...], stride: tuple[int, ...]) -> None:
        self.args = (storage, offset, shape, stride)


@pytest.fixture
def fake_torch() -> Iterator[types.ModuleType]:
    """Stand-ins registered as torch.FloatStorage and torch._utils._rebuild_tensor_v2, so pickle writes the
    same references torch does, without torch."""
    saved = {name: sys.modules.get(name) for name in ("torch", "torch._utils")}
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    class LongStorage:
        pass

    def _rebuild_tensor_v2(*args: Any) -> None:
        return None

    FloatStorage.__module__ = LongStorage.__module__ = "torch"
    FloatStorage.__qualname__, LongStorage.__qualname__ = "FloatStorage", "LongStorage"
    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    torch.FloatStorage = FloatStorage  # type: ignore[attr-defined]
    torch.LongStorage = LongStorage  # type: ignore[attr-defined]
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2  # type: ignore[attr-defined]
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    try:
        yield torch
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _pickle_state(torch: types.ModuleType, state: dict[str, Any]) -> tuple[bytes, list[_Storage]]:
    storages: list[_Storage] = []
    utils = sys.modules["torch._utils"]

    class Writer(pickle.Pickler):
        def persistent_id(self, obj: Any) -> Any:
            if isinstance(obj, _Storage):
                storages.append(obj)
                kind = torch.LongStorage if obj.array.dtype == np.int64 else torch.FloatStorage
                return ("storage", kind, obj.key, "cpu", obj.array.size)
            return None

        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, _Tensor):
                return utils._rebuild_tensor_v2, (*obj.args, False, collections.OrderedDict())
            return NotImplemented

    buffer = io.BytesIO()
    Writer(buffer, protocol=2).dump(collections.OrderedDict(state))
    return buffer.getvalue(), storages


def _state() -> tuple[dict[str, _Tensor], dict[str, np.ndarray]]:
    weight = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    shared = _Storage("0", np.arange(10, dtype=np.float32))
    steps = _Storage("1", np.array([7], dtype=np.int64))
    tensors = {
        "conv.weight": _Tensor(_Storage("2", weight.ravel()), 0, (2, 3, 4), (12, 4, 1)),
        "bias": _Tensor(shared, 2, (3,), (1,)),  # a view into a larger storage, at an offset
        "transposed": _Tensor(shared, 0, (2, 2), (1, 2)),  # non-contiguous strides
        "bn.num_batches_tracked": _Tensor(steps, 0, (), ()),
    }
    expected = {"conv.weight": weight, "bias": np.array([2, 3, 4], dtype=np.float32),
                "transposed": np.array([[0, 2], [1, 3]], dtype=np.float32), "bn.num_batches_tracked": np.array(7)}
    return tensors, expected


def test_reads_the_legacy_format(tmp_path: Path, fake_torch: types.ModuleType) -> None:
    tensors, expected = _state()
    body, storages = _pickle_state(fake_torch, tensors)
    unique = {s.key: s for s in storages}
    out = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(header, out, protocol=2)
    out.write(body)
    pickle.dump(list(unique), out, protocol=2)
    for storage in unique.values():
        out.write(np.int64(storage.array.size).tobytes())
        out.write(storage.array.tobytes())
    path = tmp_path / "legacy.pth"
    path.write_bytes(out.getvalue())
    loaded = load_state_dict(path)
    assert set(loaded) == set(expected)
    for name, array in expected.items():
        np.testing.assert_array_equal(loaded[name], array)
    assert loaded["bn.num_batches_tracked"].dtype == np.int64


def test_reads_the_zip_format_with_a_nested_state_dict(tmp_path: Path, fake_torch: types.ModuleType) -> None:
    tensors, expected = _state()
    body, storages = _pickle_state(fake_torch, {"state_dict": tensors, "epoch": 3})
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model/data.pkl", body)
        for storage in {s.key: s for s in storages}.values():
            archive.writestr(f"model/data/{storage.key}", storage.array.tobytes())
    loaded = load_state_dict(path)
    for name, array in expected.items():
        np.testing.assert_array_equal(loaded[name], array)


def test_refuses_a_checkpoint_that_would_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return os.system, (f"touch {marker}",)

    out = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {}):
        pickle.dump(header, out, protocol=2)
    pickle.dump(Evil(), out, protocol=2)
    path = tmp_path / "evil.pth"
    path.write_bytes(out.getvalue())
    with pytest.raises(CheckpointError):
        load_state_dict(path)
    assert not marker.exists()
    path.write_bytes(b"not a checkpoint")
    with pytest.raises((CheckpointError, pickle.UnpicklingError, EOFError)):
        load_state_dict(path)
