"""What every group of Kinesis operations shares: finding the stream and shard a request names, and shaping
shards and sequence numbers the way DescribeStream and GetRecords show them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fogbank.context import RequestContext
from fogbank.services.kinesis.errors import InvalidArgumentException, ResourceNotFoundException
from fogbank.services.kinesis.identifiers import (
    format_sequence,
    parse_shard_id,
    parse_stream_arn,
    shard_id,
    stream_arn,
)
from fogbank.services.kinesis.metadata import ShardMeta, StreamMeta
from fogbank.services.kinesis.store import KinesisStore

# Each shard's sequence numbers count from 1: field 0 is the shard's StartingSequenceNumber, a position
# before its first record, so "after the last record seen" can always be written as a sequence number.


def record_sequence(shard: ShardMeta, ordinal: int) -> str:
    return format_sequence(shard.epoch_ms, shard.index, ordinal + 1)


def position_before(shard: ShardMeta, ordinal: int) -> str:
    """The sequence number just before the record `ordinal` (the shard's start for the first record)."""
    return format_sequence(shard.epoch_ms, shard.index, ordinal)


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class KinesisOperations:
    """Base of the operation groups; KinesisProvider sets `store`."""

    store: KinesisStore

    # ------------------------------------------------------------------ finding things

    def _stream(self, ctx: RequestContext, req: dict[str, Any], data_plane: bool = False) -> StreamMeta:
        """The stream named by StreamARN or StreamName (every operation accepts either)."""
        arn = req.get("StreamARN")
        name = req.get("StreamName")
        if arn:
            ref = parse_stream_arn(arn)
            if ref is None:
                raise InvalidArgumentException(f"StreamARN {arn} is not a valid Kinesis stream ARN.")
            if name and name != ref.name:
                raise InvalidArgumentException(
                    f"StreamARN {arn} and StreamName {name} do not refer to the same stream.")
            if (ref.account, ref.region) != ctx.scope:
                raise ResourceNotFoundException(f"Stream {ref.name} under account {ref.account} not found.")
            name = ref.name
        if not name:
            raise InvalidArgumentException("Either StreamName or StreamARN must be provided.")
        stream = self.store.require(ctx.scope, name)
        if data_plane and self.store.status_of(stream) == "CREATING":
            raise ResourceNotFoundException(f"Stream {name} under account {ctx.account_id} not found.")
        return stream

    def _shard(self, stream: StreamMeta, text: str) -> ShardMeta:
        index = parse_shard_id(text)
        if index is None:
            raise ResourceNotFoundException(
                f"Could not find shard {text} in stream {stream.name} under account {stream.account}.")
        shard = stream.shards.get(index)
        if shard is None:
            raise ResourceNotFoundException(
                f"Shard {shard_id(index)} in stream {stream.name} under account {stream.account} does not exist")
        return shard

    # ------------------------------------------------------------------ shaping

    @staticmethod
    def _arn(stream: StreamMeta) -> str:
        return stream_arn(stream.region, stream.account, stream.name)

    @staticmethod
    def _shard_dict(shard: ShardMeta) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ShardId": shard.shard_id,
            "HashKeyRange": {"StartingHashKey": str(shard.start_hash), "EndingHashKey": str(shard.end_hash)},
            "SequenceNumberRange": {"StartingSequenceNumber": position_before(shard, 0)},
        }
        if shard.parent is not None:
            out["ParentShardId"] = shard_id(shard.parent)
        if shard.adjacent_parent is not None:
            out["AdjacentParentShardId"] = shard_id(shard.adjacent_parent)
        if shard.closed_ms is not None:
            out["SequenceNumberRange"]["EndingSequenceNumber"] = position_before(shard, shard.end_count or 0)
        return out

    @staticmethod
    def _children(stream: StreamMeta, shard: ShardMeta) -> list[dict[str, Any]]:
        """ChildShards, as GetRecords and SubscribeToShard return them at the end of a closed shard."""
        out = []
        for child in sorted(list(stream.shards.values()), key=lambda s: s.index):
            if shard.index in (child.parent, child.adjacent_parent):
                parents = [shard_id(p) for p in (child.parent, child.adjacent_parent) if p is not None]
                out.append({"ShardId": child.shard_id, "ParentShards": parents,
                            "HashKeyRange": {"StartingHashKey": str(child.start_hash),
                                             "EndingHashKey": str(child.end_hash)}})
        return out

    def _mode(self, stream: StreamMeta) -> dict[str, str]:
        return {"StreamMode": stream.mode}

    @staticmethod
    def _monitoring(stream: StreamMeta) -> list[dict[str, Any]]:
        return [{"ShardLevelMetrics": list(stream.metrics)}]
