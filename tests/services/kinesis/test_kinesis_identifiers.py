"""Sequence numbers, shard ids, hash keys, ARNs, tokens and the uniform-scaling plan."""

from __future__ import annotations

import hashlib
import random

import pytest

from fogbank.services.kinesis.identifiers import (
    MAX_HASH_KEY,
    SEQUENCE_DIGITS,
    consumer_arn,
    format_sequence,
    hash_key_of,
    parse_consumer_arn,
    parse_sequence,
    parse_shard_id,
    parse_stream_arn,
    stream_arn,
    uniform_ranges,
)
from fogbank.services.kinesis.resharding import Piece, scale_uniformly, shards_created
from fogbank.services.kinesis.tokens import IteratorState, TokenSigner


def test_sequence_numbers_compare_as_strings_like_numbers() -> None:
    rng = random.Random(7)
    values = [format_sequence(rng.randrange(10**12, 10**13), rng.randrange(0, 3000), rng.randrange(0, 10**15))
              for _ in range(500)]
    assert all(len(v) == SEQUENCE_DIGITS and v[0] != "0" for v in values)
    assert sorted(values) == sorted(values, key=int)


def test_sequence_numbers_round_trip_and_reject_foreign_text() -> None:
    text = format_sequence(1_700_000_000_123, 42, 987_654_321)
    parsed = parse_sequence(text)
    assert parsed is not None
    assert (parsed.epoch_ms, parsed.shard_index, parsed.ordinal) == (1_700_000_000_123, 42, 987_654_321)
    assert str(parsed) == text
    for foreign in ("0", "5", "49590338271490256608559692538361571095921575989136588898"[:-1], "x" * 56,
                    "5" + text[1:]):
        assert parse_sequence(foreign) is None


def test_shard_ids_are_read_as_leniently_as_aws_reads_them() -> None:
    assert parse_shard_id("shardId-000000000007") == 7
    assert parse_shard_id("shardId-7") == 7
    assert parse_shard_id("7") == 7
    assert parse_shard_id("anything-0012") == 12
    assert parse_shard_id("shardId-002147483647") == 2147483647
    assert parse_shard_id("shardId-002147483648") is None
    assert parse_shard_id("ABKLFD8") is None
    assert parse_shard_id("2.14E4") is None


def test_hash_key_is_the_md5_of_the_partition_key() -> None:
    assert hash_key_of("a") == int(hashlib.md5(b"a").hexdigest(), 16)
    assert hash_key_of("ü") == int(hashlib.md5("ü".encode()).hexdigest(), 16)


def test_uniform_ranges_cover_the_hash_space_without_gaps() -> None:
    for count in (1, 2, 3, 4, 7, 10, 100):
        ranges = uniform_ranges(count)
        assert ranges[0][0] == 0 and ranges[-1][1] == MAX_HASH_KEY
        assert all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(count - 1))
    assert uniform_ranges(4)[0] == (0, 85070591730234615865843651857942052863)


def test_arns_round_trip() -> None:
    arn = stream_arn("eu-west-1", "123456789012", "orders.v2")
    assert arn == "arn:aws:kinesis:eu-west-1:123456789012:stream/orders.v2"
    ref = parse_stream_arn(arn)
    assert ref is not None and (ref.region, ref.account, ref.name) == ("eu-west-1", "123456789012", "orders.v2")
    assert stream_arn("cn-north-1", "123456789012", "s").startswith("arn:aws-cn:")
    consumer = consumer_arn("us-east-1", "000000000000", "s", "app", 1_700_000_000)
    cref = parse_consumer_arn(consumer)
    assert cref is not None and (cref.name, cref.created_s, cref.stream.name) == ("app", 1_700_000_000, "s")
    assert parse_stream_arn("arn:aws:s3:::bucket") is None


def test_tokens_are_bound_to_key_and_scope() -> None:
    signer = TokenSigner(b"k" * 32)
    state = IteratorState(3, "orders", 1, 42, 0, 4096, 1_700_000_000_000)
    token = signer.iterator(("000000000000", "us-east-1"), state)
    assert len(token) <= 512
    assert signer.open_iterator(("000000000000", "us-east-1"), token) == state
    assert signer.open_iterator(("111111111111", "us-east-1"), token) is None
    assert signer.open_iterator(("000000000000", "eu-west-1"), token) is None
    assert TokenSigner(b"x" * 32).open_iterator(("000000000000", "us-east-1"), token) is None
    tampered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    assert signer.open_iterator(("000000000000", "us-east-1"), tampered) is None
    assert signer.open_iterator(("000000000000", "us-east-1"), "not a token") is None


class _Recorder:
    """Applies a scaling plan to an in-memory shard table, as the store does."""

    def __init__(self, pieces: list[Piece]) -> None:
        self.shards: dict[int, tuple[int, int, tuple[int, ...]]] = {p.index: (p.start, p.end, ()) for p in pieces}
        self.open = {p.index for p in pieces}
        self.next = max(self.shards) + 1

    def _new(self, start: int, end: int, parents: tuple[int, ...]) -> int:
        index = self.next
        self.next += 1
        self.shards[index] = (start, end, parents)
        self.open.add(index)
        return index

    def split(self, index: int, at: int) -> tuple[int, int]:
        start, end, _ = self.shards[index]
        assert index in self.open and start < at <= end
        self.open.remove(index)
        return self._new(start, at - 1, (index,)), self._new(at, end, (index,))

    def merge(self, a: int, b: int) -> int:
        (sa, ea, _), (sb, eb, _) = self.shards[a], self.shards[b]
        assert a in self.open and b in self.open and ea + 1 == sb
        self.open -= {a, b}
        return self._new(sa, eb, (a, b))


@pytest.mark.parametrize(("current", "target"), [(1, 2), (2, 1), (4, 8), (8, 4), (5, 3), (3, 5), (4, 7), (7, 4),
                                                 (6, 6), (10, 19)])
def test_uniform_scaling_ends_uniform_with_valid_lineage(current: int, target: int) -> None:
    pieces = [Piece(i, s, e) for i, (s, e) in enumerate(uniform_ranges(current))]
    recorder = _Recorder(pieces)
    result = scale_uniformly(pieces, target, recorder.split, recorder.merge)
    assert [(p.start, p.end) for p in result] == uniform_ranges(target)
    assert sorted(recorder.open) == sorted(p.index for p in result)
    assert all(len(parents) <= 2 for _, _, parents in recorder.shards.values())
    assert shards_created(pieces, target) == recorder.next - current
    if current == target:
        assert recorder.next == current
