"""The identifiers Kinesis clients see: sequence numbers, shard ids, hash keys and ARNs.

A sequence number is 56 decimal digits: ``4``, the shard's epoch (14 digits of milliseconds), the shard index
(12 digits) and the record's ordinal in the shard (29 digits). Every field is zero-padded, so comparing two
sequence numbers as strings gives the same answer as comparing them as numbers, as AWS's do. A child shard's
epoch is later than its parents', so records written after a split or merge sort after the records before it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

SEQUENCE_DIGITS = 56
_EPOCH_DIGITS = 14
_INDEX_DIGITS = 12
_ORDINAL_DIGITS = 29
_VERSION = "4"

MAX_HASH_KEY = 2**128 - 1
MAX_SHARD_INDEX = 2_147_483_647

_SHARD_SUFFIX = re.compile(r"(?:^|-)(\d+)$")
_STREAM_ARN = re.compile(r"^arn:(aws[a-z-]*):kinesis:([a-z0-9-]+):(\d{12}):stream/([a-zA-Z0-9_.-]{1,128})$")
_CONSUMER_ARN = re.compile(
    r"^arn:(aws[a-z-]*):kinesis:([a-z0-9-]+):(\d{12}):stream/([a-zA-Z0-9_.-]{1,128})"
    r"/consumer/([a-zA-Z0-9_.-]{1,128}):(\d+)$")


@dataclass(frozen=True)
class SequenceNumber:
    epoch_ms: int
    shard_index: int
    ordinal: int

    def __str__(self) -> str:
        return format_sequence(self.epoch_ms, self.shard_index, self.ordinal)


def format_sequence(epoch_ms: int, shard_index: int, ordinal: int) -> str:
    return f"{_VERSION}{epoch_ms:0{_EPOCH_DIGITS}d}{shard_index:0{_INDEX_DIGITS}d}{ordinal:0{_ORDINAL_DIGITS}d}"


def sequence_prefix(epoch_ms: int, shard_index: int) -> str:
    """The part shared by every sequence number of one shard: formatting a batch only appends ordinals."""
    return f"{_VERSION}{epoch_ms:0{_EPOCH_DIGITS}d}{shard_index:0{_INDEX_DIGITS}d}"


def ordinal_text(ordinal: int) -> str:
    return f"{ordinal:0{_ORDINAL_DIGITS}d}"


def parse_sequence(text: str) -> SequenceNumber | None:
    """The fields of a sequence number fogbank issued, or None for any other string."""
    if len(text) != SEQUENCE_DIGITS or not text.isdigit() or not text.startswith(_VERSION):
        return None
    epoch = int(text[1:1 + _EPOCH_DIGITS])
    index = int(text[1 + _EPOCH_DIGITS:1 + _EPOCH_DIGITS + _INDEX_DIGITS])
    ordinal = int(text[1 + _EPOCH_DIGITS + _INDEX_DIGITS:])
    return SequenceNumber(epoch, index, ordinal)


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def parse_shard_id(text: str) -> int | None:
    """AWS accepts any text ending in '-<digits>' or plain digits as a shard id ('shardId-1', '1', 'x-01')."""
    match = _SHARD_SUFFIX.search(text)
    if match is None:
        return None
    value = int(match.group(1))
    return value if value <= MAX_SHARD_INDEX else None


def hash_key_of(partition_key: str | bytes) -> int:
    """Kinesis maps a partition key to the 128-bit integer of the MD5 of its UTF-8 bytes."""
    raw = partition_key.encode("utf-8") if isinstance(partition_key, str) else partition_key
    return int.from_bytes(hashlib.md5(raw, usedforsecurity=False).digest(), "big")


def uniform_ranges(count: int) -> list[tuple[int, int]]:
    """The hash key ranges of `count` equal shards, as CreateStream and UpdateShardCount lay them out."""
    space = MAX_HASH_KEY + 1
    return [(i * space // count, (i + 1) * space // count - 1) for i in range(count)]


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def stream_arn(region: str, account: str, name: str) -> str:
    return f"arn:{partition_of(region)}:kinesis:{region}:{account}:stream/{name}"


def consumer_arn(region: str, account: str, stream_name: str, consumer_name: str, created_s: int) -> str:
    return f"{stream_arn(region, account, stream_name)}/consumer/{consumer_name}:{created_s}"


@dataclass(frozen=True)
class StreamRef:
    region: str
    account: str
    name: str


@dataclass(frozen=True)
class ConsumerRef:
    stream: StreamRef
    name: str
    created_s: int


def parse_stream_arn(arn: str) -> StreamRef | None:
    match = _STREAM_ARN.match(arn)
    if match is None:
        return None
    return StreamRef(match.group(2), match.group(3), match.group(4))


def parse_consumer_arn(arn: str) -> ConsumerRef | None:
    match = _CONSUMER_ARN.match(arn)
    if match is None:
        return None
    stream = StreamRef(match.group(2), match.group(3), match.group(4))
    return ConsumerRef(stream, match.group(5), int(match.group(6)))
