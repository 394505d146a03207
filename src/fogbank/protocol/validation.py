"""Constraint checks from the model (required, enum, length, range, pattern), worded as AWS words them."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from botocore.model import Shape

from fogbank.errors import AwsError


class ValidationException(AwsError):
    code = "ValidationException"


class ValidationError(AwsError):
    """The query protocol's spelling (STS, Redshift, ...)."""

    code = "ValidationError"


@cache
def _pattern(text: str) -> re.Pattern[str] | None:
    try:
        return re.compile(text)
    except re.error:  # a Java-only construct: AWS's own check still applies server-side, ours is skipped
        return None


def _label(name: str) -> str:
    return name[:1].lower() + name[1:]


# Longer strings are not matched against model patterns: no client value should buy unbounded regex time.
MAX_PATTERN_INPUT = 65536


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):  # AWS prints lists Java-style: [a, b]
        text = "[" + ", ".join(str(v)[:100] for v in value[:20]) + (", ..." if len(value) > 20 else "") + "]"
    else:
        text = value if isinstance(value, str) else str(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _value(value: Any, shape: Shape) -> str:
    """How AWS names the offending value: quoted, or left out for sensitive members."""
    return "Value" if shape.metadata.get("sensitive") else f"Value '{_shown(value)}'"


Path = tuple[str, ...]

# Per structure shape: (required members, members worth descending into with their labels). Shapes are kept
# beside their entries so that an id is never reused while cached.
_PLANS: dict[int, tuple[Shape, tuple[list[str], list[tuple[str, str, Shape]]]]] = {}
_CONSTRAINED: dict[int, tuple[Shape, bool]] = {}


def _constrained(shape: Shape, depth: int = 0) -> bool:
    """Whether anything at or below this shape can fail validation (most members cannot)."""
    cached = _CONSTRAINED.get(id(shape))
    if cached is not None and cached[0] is shape:
        return cached[1]
    if depth > 32:
        return True
    meta = shape.metadata
    kind = shape.type_name
    result = bool({"min", "max", "pattern"} & meta.keys()) or bool(getattr(shape, "enum", None))
    if not result:
        if kind == "structure":
            result = bool(getattr(shape, "required_members", None)) or any(
                _constrained(m, depth + 1) for m in shape.members.values())
        elif kind == "list":
            result = _constrained(shape.member, depth + 1)
        elif kind == "map":
            result = _constrained(shape.key, depth + 1) or _constrained(shape.value, depth + 1)
    _CONSTRAINED[id(shape)] = (shape, result)
    return result


def _plan(shape: Shape) -> tuple[list[str], list[tuple[str, str, Shape]]]:
    cached = _PLANS.get(id(shape))
    if cached is not None and cached[0] is shape:
        return cached[1]
    plan = (list(getattr(shape, "required_members", [])),
            [(name, _label(name), member) for name, member in shape.members.items() if _constrained(member)])
    _PLANS[id(shape)] = (shape, plan)
    return plan


def _plainly_valid(value: Any, shape: Shape) -> bool:
    """A fast yes for a string or blob inside its length bounds and without enum or pattern to check.

    Anything else (and every failure) goes through _check, which words the error exactly.
    """
    kind = shape.type_name
    if not ((kind == "string" and type(value) is str) or (kind == "blob" and type(value) is bytes)):
        return False
    meta = shape.metadata
    if "pattern" in meta or (kind == "string" and getattr(shape, "enum", None)):
        return False
    size = len(value)
    return meta.get("min", 0) <= size and ("max" not in meta or size <= meta["max"])


def _at(path: Path) -> str:
    return ".".join(path)


def _check(value: Any, shape: Shape, path: Path, errors: list[str], depth: int = 0) -> None:
    if depth > 64:
        return
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            return
        required, members = _plan(shape)
        for name in required:
            if value.get(name) is None:
                errors.append(f"Value null at '{_at((*path, _label(name)))}' failed to satisfy constraint: "
                              "Member must not be null")
        for name, label, member in members:
            item = value.get(name)
            if item is not None and not _plainly_valid(item, member):
                _check(item, member, (*path, label), errors, depth + 1)
        return
    if kind in ("list", "map"):
        size = len(value) if hasattr(value, "__len__") else 0
        if "min" in meta and size < meta["min"]:
            errors.append(f"Value '{_shown(value)}' at '{_at(path)}' failed to satisfy constraint: "
                          f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and size > meta["max"]:
            errors.append(f"Value '{_shown(value)}' at '{_at(path)}' failed to satisfy constraint: "
                          f"Member must have length less than or equal to {meta['max']}")
        if kind == "list":
            if _constrained(shape.member):
                for i, item in enumerate(value, 1):
                    _check(item, shape.member, (*path, f"{i}", "member"), errors, depth + 1)
        else:
            key_checked = _constrained(shape.key)
            value_checked = _constrained(shape.value)
            for key, item in value.items():
                if key_checked:
                    _check(key, shape.key, (*path, "key"), errors, depth + 1)
                if value_checked:
                    _check(item, shape.value, (*path, "value"), errors, depth + 1)
        return
    if kind == "string" and isinstance(value, str):
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            errors.append(f"{_value(value, shape)} at '{_at(path)}' failed to satisfy constraint: "
                          f"Member must satisfy enum value set: [{', '.join(enum)}]")
        if "min" in meta and len(value) < meta["min"]:
            errors.append(f"{_value(value, shape)} at '{_at(path)}' failed to satisfy constraint: "
                          f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{_value(value, shape)} at '{_at(path)}' failed to satisfy constraint: "
                          f"Member must have length less than or equal to {meta['max']}")
        pattern = meta.get("pattern")
        if pattern and len(value) <= MAX_PATTERN_INPUT:
            compiled = _pattern(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                errors.append(f"{_value(value, shape)} at '{_at(path)}' failed to satisfy constraint: "
                              f"Member must satisfy regular expression pattern: {pattern}")
        return
    if kind == "blob" and isinstance(value, (bytes, bytearray)):
        if "min" in meta and len(value) < meta["min"]:
            errors.append(f"Value at '{_at(path)}' failed to satisfy constraint: "
                          f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"Value at '{_at(path)}' failed to satisfy constraint: "
                          f"Member must have length less than or equal to {meta['max']}")
        return
    if kind in ("integer", "long", "float", "double") and isinstance(value, (int, float)):
        if "min" in meta and value < meta["min"]:
            errors.append(f"{_value(value, shape)} at '{_at(path)}' failed to satisfy constraint: "
                          f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            errors.append(f"{_value(value, shape)} at '{_at(path)}' failed to satisfy constraint: "
                          f"Member must have value less than or equal to {meta['max']}")


def validate(value: dict[str, Any], shape: Shape | None, query_style: bool = False) -> None:
    """Raises the service's validation error listing every violated constraint, as AWS does."""
    if shape is None:
        return
    errors: list[str] = []
    _check(value, shape, (), errors)
    if not errors:
        return
    count = len(errors)
    message = f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(errors)
    raise (ValidationError if query_style else ValidationException)(message)
