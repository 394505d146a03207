"""UpdateShardCount's uniform scaling as a sequence of splits and merges.

Every shard Kinesis creates has one parent (a split) or two adjacent parents (a merge), and consumers such
as the KCL rely on that lineage. Scaling from any layout to `target` equal shards therefore first splits the
open shards at every target boundary that falls inside one, then merges, left to right, the pieces that make
up each target range. Intermediate shards are created and closed at once, as AWS's temporary shards are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fogbank.services.kinesis.identifiers import uniform_ranges


@dataclass(frozen=True)
class Piece:
    index: int
    start: int
    end: int


SplitFn = Callable[[int, int], tuple[int, int]]
MergeFn = Callable[[int, int], int]


def scale_uniformly(open_shards: list[Piece], target: int, split: SplitFn, merge: MergeFn) -> list[Piece]:
    """Applies the splits and merges (through the callbacks) and returns the final open shards."""
    ranges = uniform_ranges(target)
    boundaries = [start for start, _ in ranges[1:]]
    pieces: list[Piece] = []
    for shard in sorted(open_shards, key=lambda p: p.start):
        current = shard
        for boundary in boundaries:
            if current.start < boundary <= current.end:
                left, right = split(current.index, boundary)
                pieces.append(Piece(left, current.start, boundary - 1))
                current = Piece(right, boundary, current.end)
        pieces.append(current)
    result: list[Piece] = []
    for start, end in ranges:
        group = [p for p in pieces if start <= p.start and p.end <= end]
        merged = group[0]
        for piece in group[1:]:
            merged = Piece(merge(merged.index, piece.index), merged.start, piece.end)
        result.append(merged)
    return result


def shards_created(open_shards: list[Piece], target: int) -> int:
    """How many shards `scale_uniformly` will create (for the account's shard limit)."""
    counter = iter(range(1 << 30))

    def split(_: int, __: int) -> tuple[int, int]:
        return next(counter), next(counter)

    def merge(_: int, __: int) -> int:
        return next(counter)

    scale_uniformly(open_shards, target, split, merge)
    return next(counter)
