"""Enhanced fan-out: stream consumers and SubscribeToShard's stream of events.

SubscribeToShard answers with {"EventStream": <iterator of {"SubscribeToShardEvent": {...}}>}. The iterator
pushes records as soon as they are durable, sends an event at least every `heartbeat` seconds while the shard
is idle, ends with ChildShards when a closed shard is exhausted, and ends after five minutes as AWS's do.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import operation
from fogbank.services.kinesis.api_base import position_before, to_datetime
from fogbank.services.kinesis.api_records import RecordOperations
from fogbank.services.kinesis.errors import (
    InvalidArgumentException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from fogbank.services.kinesis.identifiers import consumer_arn, parse_consumer_arn
from fogbank.services.kinesis.metadata import ConsumerMeta, ShardMeta, StreamMeta
from fogbank.services.kinesis.shardlog import Position

SUBSCRIPTION_SECONDS = 300.0
RESUBSCRIBE_GAP_MS = 5_000
EVENT_RECORD_LIMIT = 10_000


class ConsumerOperations(RecordOperations):
    heartbeat: float = 5.0
    _subscriptions: dict[tuple[int, str, int], int]
    _subscriptions_lock: threading.Lock

    def _consumer_arn(self, stream: StreamMeta, consumer: ConsumerMeta) -> str:
        return consumer_arn(stream.region, stream.account, stream.name, consumer.name, consumer.created_s)

    def _consumer(self, ctx: RequestContext, req: dict[str, Any]) -> tuple[StreamMeta, ConsumerMeta]:
        """The consumer named by ConsumerARN, or by StreamARN and ConsumerName."""
        arn = req.get("ConsumerARN")
        if arn:
            ref = parse_consumer_arn(arn)
            if ref is None:
                raise InvalidArgumentException(f"ConsumerARN {arn} is not a valid consumer ARN.")
            stream = self._stream(ctx, {"StreamARN": arn.split("/consumer/")[0]})
            consumer = stream.consumers.get(ref.name)
            if consumer is None or consumer.created_s != ref.created_s:
                raise ResourceNotFoundException(
                    f"Consumer {ref.name} under stream {stream.name} under account {stream.account} not found.")
            return stream, consumer
        name = req.get("ConsumerName")
        if not req.get("StreamARN") or not name:
            raise InvalidArgumentException("Either ConsumerARN or both StreamARN and ConsumerName must be provided.")
        stream = self._stream(ctx, {"StreamARN": req["StreamARN"]})
        found = stream.consumers.get(name)
        if found is None:
            raise ResourceNotFoundException(
                f"Consumer {name} under stream {stream.name} under account {stream.account} not found.")
        return stream, found

    def _consumer_dict(self, stream: StreamMeta, consumer: ConsumerMeta) -> dict[str, Any]:
        return {"ConsumerName": consumer.name, "ConsumerARN": self._consumer_arn(stream, consumer),
                "ConsumerStatus": self.store.consumer_status(consumer),
                "ConsumerCreationTimestamp": to_datetime(consumer.created_ms)}

    @operation("RegisterStreamConsumer")
    def register_stream_consumer(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, {"StreamARN": req["StreamARN"]})
        consumer = self.store.register_consumer(stream, req["ConsumerName"], req.get("Tags") or {})
        return {"Consumer": self._consumer_dict(stream, consumer)}

    @operation("DescribeStreamConsumer")
    def describe_stream_consumer(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream, consumer = self._consumer(ctx, req)
        return {"ConsumerDescription": {**self._consumer_dict(stream, consumer), "StreamARN": self._arn(stream)}}

    @operation("ListStreamConsumers")
    def list_stream_consumers(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, {"StreamARN": req["StreamARN"]})
        limit = req.get("MaxResults") or 100
        after = ""
        token = req.get("NextToken")
        if token:
            state = self.store.tokens.open_page_token(ctx.scope, "consumers", token)
            if state is None or state.get("id") != stream.db_id:
                raise InvalidArgumentException(f"Invalid NextToken: {token}")
            after = state["after"]
        names = sorted(n for n in list(stream.consumers) if n > after)
        page = names[:limit]
        out: dict[str, Any] = {"Consumers": [self._consumer_dict(stream, stream.consumers[n]) for n in page]}
        if len(names) > limit:
            out["NextToken"] = self.store.tokens.page_token(ctx.scope, "consumers",
                                                            {"id": stream.db_id, "after": page[-1]})
        return out

    @operation("DeregisterStreamConsumer")
    def deregister_stream_consumer(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream, consumer = self._consumer(ctx, req)
        self.store.deregister_consumer(stream, consumer.name)
        return {}

    # ------------------------------------------------------------------ SubscribeToShard

    @operation("SubscribeToShard")
    def subscribe_to_shard(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream, consumer = self._consumer(ctx, req)
        if self.store.consumer_status(consumer) != "ACTIVE":
            raise ResourceInUseException(
                f"Consumer {consumer.name} under stream {stream.name} under account {stream.account} is not ACTIVE.")
        shard = self._shard(stream, req["ShardId"])
        start = req["StartingPosition"]
        kind = start["Type"]
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") and not start.get("SequenceNumber"):
            raise InvalidArgumentException(f"StartingPosition of type {kind} requires a SequenceNumber.")
        if kind == "AT_TIMESTAMP" and start.get("Timestamp") is None:
            raise InvalidArgumentException("StartingPosition of type AT_TIMESTAMP requires a Timestamp.")
        ordinal = self._start_ordinal(stream, shard, kind, start.get("SequenceNumber"), start.get("Timestamp"),
                                      "SubscribeToShard")
        now = self.store.now_ms()
        key = (stream.db_id, consumer.name, shard.index)
        with self._subscriptions_lock:
            previous = self._subscriptions.get(key)
            if previous is not None and now - previous < RESUBSCRIBE_GAP_MS:
                raise ResourceInUseException(
                    f"Another active subscription exists for consumer {self._consumer_arn(stream, consumer)} on "
                    f"shard {shard.shard_id}, or one started less than 5 seconds ago.")
            self._subscriptions[key] = now
        return {"EventStream": self._events(stream, shard, ordinal, now + int(SUBSCRIPTION_SECONDS * 1000))}

    def _events(self, stream: StreamMeta, shard: ShardMeta, ordinal: int, deadline_ms: int
                ) -> Iterator[dict[str, Any]]:
        shard_log = self.store.log(stream, shard)
        position: Position | None = None
        sent_any = False
        while True:
            if self.store.stream_by_id(stream.db_id) is not stream:
                raise ResourceNotFoundException(f"Stream {stream.name} under account {stream.account} not found.")
            result = self._read(stream, shard, shard_log, ordinal, position, EVENT_RECORD_LIMIT)
            now = self.store.now_ms()
            finished = shard.end_count is not None and result.next_ordinal >= shard.end_count
            if result.records or finished or not sent_any:
                event: dict[str, Any] = {
                    "Records": self._records(shard, result.records, stream.encryption_type),
                    "ContinuationSequenceNumber": position_before(shard, result.next_ordinal),
                    "MillisBehindLatest": self._behind(shard_log, result, now),
                }
                if finished:
                    event["ChildShards"] = self._children(stream, shard)
                self.store.throttles.charge_read(stream.db_id, shard.index, result.bytes_read)
                yield {"SubscribeToShardEvent": event}
                sent_any = True
                if finished:
                    return
            ordinal, position = result.next_ordinal, result.next_position
            if result.records and result.next_ordinal < result.tip.count:
                continue
            remaining = (deadline_ms - now) / 1000
            if remaining <= 0:
                return
            if not shard_log.wait_for(ordinal, min(self.heartbeat, remaining)):
                sent_any = False  # idle for a heartbeat: send an empty event so the client knows we are alive
