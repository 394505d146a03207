"""Kinesis control-plane operations: streams, shards, resharding, retention, tags, encryption, monitoring."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import operation
from fogbank.services.kinesis.api_base import KinesisOperations, to_datetime
from fogbank.services.kinesis.errors import (
    ExpiredNextTokenException,
    InvalidArgumentException,
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
    ValidationException,
)
from fogbank.services.kinesis.identifiers import (
    MAX_HASH_KEY,
    parse_consumer_arn,
    parse_shard_id,
    parse_stream_arn,
)
from fogbank.services.kinesis.metadata import ShardMeta, StreamMeta
from fogbank.services.kinesis.store import ON_DEMAND, ON_DEMAND_SHARDS, PROVISIONED

MIN_RETENTION_HOURS = 24
MAX_RETENTION_HOURS = 8760
MAX_TAGS = 50
ALL_METRICS = ["IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
               "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds"]
NEXT_TOKEN_LIFETIME_MS = 300_000


def _check_tags(tags: dict[str, str]) -> None:
    for key, value in tags.items():
        if not 1 <= len(key) <= 128:
            raise InvalidArgumentException(f"Tag key {key!r} must be between 1 and 128 characters long.")
        if len(value) > 256:
            raise InvalidArgumentException(f"Tag value for key {key!r} must be at most 256 characters long.")


class StreamOperations(KinesisOperations):
    # ------------------------------------------------------------------ create, describe, list, delete

    @operation("CreateStream")
    def create_stream(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        mode = (req.get("StreamModeDetails") or {}).get("StreamMode", PROVISIONED)
        requested = req.get("ShardCount")
        if mode == PROVISIONED and requested is None:
            raise InvalidArgumentException("ShardCount is required for a PROVISIONED stream.")
        count = ON_DEMAND_SHARDS if mode == ON_DEMAND or requested is None else int(requested)
        tags = req.get("Tags") or {}
        if len(tags) > MAX_TAGS:
            raise InvalidArgumentException(
                f"Failed to create stream {req['StreamName']} under account {ctx.account_id} because a given "
                f"stream cannot have more than {MAX_TAGS} tags associated with it.")
        _check_tags(tags)
        self.store.create_stream(ctx.scope, req["StreamName"], count, mode, tags,
                                 req.get("MaxRecordSizeInKiB") or 1024, req.get("WarmThroughputMiBps"),
                                 req.get("RecordDistributionStrategy"))
        return {}

    @operation("DescribeStream")
    def describe_stream(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        limit = req.get("Limit") or 100
        after = req.get("ExclusiveStartShardId")
        shards = self.store.iter_shards(stream)
        if after:
            index = parse_shard_id(after)
            shards = [s for s in shards if index is None or s.index > index]
        page = shards[:limit]
        description: dict[str, Any] = {
            "StreamName": stream.name,
            "StreamARN": self._arn(stream),
            "StreamStatus": self.store.status_of(stream),
            "StreamModeDetails": self._mode(stream),
            "Shards": [self._shard_dict(s) for s in page],
            "HasMoreShards": len(shards) > limit,
            "RetentionPeriodHours": stream.retention_hours,
            "StreamCreationTimestamp": to_datetime(stream.created_ms),
            "EnhancedMonitoring": self._monitoring(stream),
            "EncryptionType": stream.encryption_type,
        }
        if stream.key_id:
            description["KeyId"] = stream.key_id
        return {"StreamDescription": description}

    @operation("DescribeStreamSummary")
    def describe_stream_summary(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        summary: dict[str, Any] = {
            "StreamName": stream.name,
            "StreamARN": self._arn(stream),
            "StreamId": stream.stream_id,
            "StreamStatus": self.store.status_of(stream),
            "StreamModeDetails": self._mode(stream),
            "RetentionPeriodHours": stream.retention_hours,
            "StreamCreationTimestamp": to_datetime(stream.created_ms),
            "EnhancedMonitoring": self._monitoring(stream),
            "EncryptionType": stream.encryption_type,
            "OpenShardCount": len(self.store.route(stream).shards),
            "ConsumerCount": len(stream.consumers),
            "MaxRecordSizeInKiB": stream.max_record_kib,
        }
        if stream.key_id:
            summary["KeyId"] = stream.key_id
        if stream.warm_mibps is not None:
            summary["WarmThroughput"] = {"TargetMiBps": stream.warm_mibps, "CurrentMiBps": stream.warm_mibps}
        if stream.distribution:
            summary["RecordDistributionStrategy"] = stream.distribution
        return {"StreamDescriptionSummary": summary}

    @operation("ListStreams")
    def list_streams(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        limit = req.get("Limit") or 100
        after = req.get("ExclusiveStartStreamName")
        token = req.get("NextToken")
        if token:
            state = self.store.tokens.open_page_token(ctx.scope, "streams", token)
            if state is None:
                raise InvalidArgumentException(f"Invalid NextToken: {token}")
            after = state["after"]
        streams = self.store.streams_in(ctx.scope)
        if after:
            streams = [s for s in streams if s.name > after]
        page = streams[:limit]
        more = len(streams) > limit
        out: dict[str, Any] = {
            "StreamNames": [s.name for s in page],
            "HasMoreStreams": more,
            "StreamSummaries": [{"StreamName": s.name, "StreamARN": self._arn(s),
                                 "StreamStatus": self.store.status_of(s), "StreamModeDetails": self._mode(s),
                                 "StreamCreationTimestamp": to_datetime(s.created_ms)} for s in page],
        }
        if more and page:
            out["NextToken"] = self.store.tokens.page_token(ctx.scope, "streams", {"after": page[-1].name})
        return out

    @operation("DeleteStream")
    def delete_stream(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        if stream.consumers and not req.get("EnforceConsumerDeletion"):
            raise ResourceInUseException(
                f"Stream {stream.name} under account {stream.account} has registered consumers, deregister them "
                "or set EnforceConsumerDeletion to delete the stream with them.")
        self.store.delete_stream(stream)
        return {}

    # ------------------------------------------------------------------ shards

    @operation("ListShards")
    def list_shards(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        token = req.get("NextToken")
        limit = req.get("MaxResults") or 1000
        if token:
            for given in ("StreamName", "StreamARN"):
                if req.get(given):
                    raise InvalidArgumentException(f"NextToken and {given} cannot be provided together.")
            state = self.store.tokens.open_page_token(ctx.scope, "shards", token)
            if state is None:
                raise InvalidArgumentException(f"Invalid NextToken: {token}")
            if self.store.now_ms() - int(state["t"]) > NEXT_TOKEN_LIFETIME_MS:
                raise ExpiredNextTokenException(
                    "The timestamp of the next-token is more than 300 seconds old; NextTokens expire after "
                    "300 seconds.")
            stream = self.store.require(ctx.scope, state["stream"])
            if stream.db_id != state["id"]:
                raise ResourceNotFoundException(f"Stream {stream.name} under account {stream.account} not found.")
            after: int | None = state["after"]
            shard_filter = state.get("filter")
        else:
            stream = self._stream(ctx, req)
            start = req.get("ExclusiveStartShardId")
            after = parse_shard_id(start) if start else None
            shard_filter = self._filter(req.get("ShardFilter"))
        shards = self._filtered(stream, shard_filter)
        if after is not None:
            shards = [s for s in shards if s.index > after]
        page = shards[:limit]
        out: dict[str, Any] = {"Shards": [self._shard_dict(s) for s in page]}
        if len(shards) > limit:
            out["NextToken"] = self.store.tokens.page_token(ctx.scope, "shards", {
                "stream": stream.name, "id": stream.db_id, "after": page[-1].index, "filter": shard_filter,
                "t": self.store.now_ms()})
        return out

    @staticmethod
    def _filter(shard_filter: dict[str, Any] | None) -> dict[str, Any] | None:
        """Checks a ShardFilter and makes it JSON-able (it rides inside NextToken)."""
        if not shard_filter:
            return None
        kind = shard_filter["Type"]
        sid = shard_filter.get("ShardId")
        when: datetime | None = shard_filter.get("Timestamp")
        if kind == "AFTER_SHARD_ID" and not sid:
            raise InvalidArgumentException("ShardId must be specified for the AFTER_SHARD_ID ShardFilter type.")
        if kind != "AFTER_SHARD_ID" and sid:
            raise InvalidArgumentException(f"ShardId must not be specified for the {kind} ShardFilter type.")
        if kind in ("AT_TIMESTAMP", "FROM_TIMESTAMP") and when is None:
            raise InvalidArgumentException(f"Timestamp must be specified for the {kind} ShardFilter type.")
        if kind not in ("AT_TIMESTAMP", "FROM_TIMESTAMP") and when is not None:
            raise InvalidArgumentException(f"Timestamp must not be specified for the {kind} ShardFilter type.")
        after = parse_shard_id(sid) if sid else None
        if sid and after is None:
            raise InvalidArgumentException(f"Invalid ShardId {sid} in ShardFilter.")
        return {"type": kind, "after": after, "ms": int(when.timestamp() * 1000) if when else None}

    def _filtered(self, stream: StreamMeta, shard_filter: dict[str, Any] | None) -> list[ShardMeta]:
        shards = self.store.iter_shards(stream)
        if shard_filter is None:
            return shards
        kind = shard_filter["type"]
        if kind == "AFTER_SHARD_ID":
            return [s for s in shards if s.index > shard_filter["after"]]
        if kind == "AT_LATEST":
            return [s for s in shards if s.is_open]
        if kind in ("AT_TRIM_HORIZON", "FROM_TRIM_HORIZON"):
            when = max(self.store.horizon_ms(stream), stream.created_ms)
        else:
            when = max(int(shard_filter["ms"]), stream.created_ms)
        if kind.startswith("AT_"):
            return [s for s in shards if s.epoch_ms <= when and (s.closed_ms is None or s.closed_ms > when)]
        return [s for s in shards if s.closed_ms is None or s.closed_ms > when]

    @operation("UpdateShardCount")
    def update_shard_count(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        target = int(req["TargetShardCount"])
        if stream.mode == ON_DEMAND:
            raise ValidationException(
                f"UpdateShardCount is not supported for stream {stream.name} under account {stream.account} "
                "because it is in ON_DEMAND mode.")
        current = len(self.store.route(stream).shards)
        if target > 2 * current:
            raise LimitExceededException(
                f"UpdateShardCount request for stream {stream.name} under account {stream.account} would more "
                f"than double the open shard count: current {current}, target {target}.")
        if target * 2 < current:
            raise LimitExceededException(
                f"UpdateShardCount request for stream {stream.name} under account {stream.account} would reduce "
                f"the open shard count below half: current {current}, target {target}.")
        before = self.store.scale(stream, target)
        return {"StreamName": stream.name, "CurrentShardCount": before, "TargetShardCount": target,
                "StreamARN": self._arn(stream)}

    def _open_shard(self, stream: StreamMeta, text: str, verb: str) -> ShardMeta:
        index = parse_shard_id(text)
        shard = stream.shards.get(index) if index is not None else None
        if shard is None:
            raise ResourceNotFoundException(
                f"Could not find shard {text} in stream {stream.name} under account {stream.account}.")
        if not shard.is_open:
            raise InvalidArgumentException(
                f"Shard {shard.shard_id} in stream {stream.name} under account {stream.account} has already been "
                f"merged or split, and thus is not eligible for {verb}.")
        return shard

    @operation("SplitShard")
    def split_shard(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        shard = self._open_shard(stream, req["ShardToSplit"], "splitting")
        at = int(req["NewStartingHashKey"])
        if not shard.start_hash + 1 < at < shard.end_hash or at > MAX_HASH_KEY:
            raise InvalidArgumentException(
                f"NewStartingHashKey {req['NewStartingHashKey']} used in SplitShard() on shard {shard.shard_id} in "
                f"stream {stream.name} under account {stream.account} is not both greater than one plus the "
                f"shard's StartingHashKey {shard.start_hash} and less than the shard's EndingHashKey "
                f"{shard.end_hash}.")
        self.store.split_shard(stream, shard.index, at)
        return {}

    @operation("MergeShards")
    def merge_shards(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        first = self._open_shard(stream, req["ShardToMerge"], "merging")
        second = self._open_shard(stream, req["AdjacentShardToMerge"], "merging")
        if first.end_hash + 1 != second.start_hash and second.end_hash + 1 != first.start_hash:
            raise InvalidArgumentException(
                f"Shards {first.shard_id} and {second.shard_id} in stream {stream.name} under account "
                f"{stream.account} are not an adjacent pair of shards eligible for merging")
        self.store.merge_shards(stream, first.index, second.index)
        return {}

    # ------------------------------------------------------------------ retention

    @staticmethod
    def _check_retention(hours: int) -> None:
        if hours < MIN_RETENTION_HOURS:
            raise InvalidArgumentException(
                f"Minimum allowed retention period is {MIN_RETENTION_HOURS} hours. Requested retention period "
                f"({hours} hours) is too short.")
        if hours > MAX_RETENTION_HOURS:
            raise InvalidArgumentException(
                f"Maximum allowed retention period is {MAX_RETENTION_HOURS} hours. Requested retention period "
                f"({hours} hours) is too long.")

    @operation("IncreaseStreamRetentionPeriod")
    def increase_retention(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        hours = int(req["RetentionPeriodHours"])
        self._check_retention(hours)
        if hours < stream.retention_hours:
            raise InvalidArgumentException(
                f"Requested retention period ({hours} hours) for stream {stream.name} can not be shorter than "
                f"existing retention period ({stream.retention_hours} hours). Use DecreaseRetentionPeriod API.")
        self.store.update(stream, lambda s: setattr(s, "retention_hours", hours))
        return {}

    @operation("DecreaseStreamRetentionPeriod")
    def decrease_retention(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        hours = int(req["RetentionPeriodHours"])
        self._check_retention(hours)
        if hours > stream.retention_hours:
            raise InvalidArgumentException(
                f"Requested retention period ({hours} hours) for stream {stream.name} can not be longer than "
                f"existing retention period ({stream.retention_hours} hours). Use IncreaseRetentionPeriod API.")
        self.store.update(stream, lambda s: setattr(s, "retention_hours", hours))
        return {}

    # ------------------------------------------------------------------ tags

    @operation("AddTagsToStream")
    def add_tags_to_stream(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        _check_tags(req["Tags"])
        self.store.add_tags(stream, req["Tags"])
        return {}

    @operation("RemoveTagsFromStream")
    def remove_tags_from_stream(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        self.store.remove_tags(stream, list(req["TagKeys"]))
        return {}

    @operation("ListTagsForStream")
    def list_tags_for_stream(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        tags = dict(stream.tags)
        keys = sorted(tags)
        after = req.get("ExclusiveStartTagKey")
        if after:
            keys = [k for k in keys if k > after]
        limit = req.get("Limit") or MAX_TAGS
        return {"Tags": [{"Key": k, "Value": tags[k]} for k in keys[:limit]], "HasMoreTags": len(keys) > limit}

    def _resource(self, ctx: RequestContext, arn: str) -> tuple[StreamMeta, str | None]:
        """The stream (and consumer name) a ResourceARN names."""
        consumer = parse_consumer_arn(arn)
        if consumer is not None:
            stream = self._stream(ctx, {"StreamARN": arn.split("/consumer/")[0]})
            found = stream.consumers.get(consumer.name)
            if found is None or found.created_s != consumer.created_s:
                raise ResourceNotFoundException(
                    f"Consumer {consumer.name} under stream {stream.name} under account {stream.account} not found.")
            return stream, consumer.name
        if parse_stream_arn(arn) is None:
            raise InvalidArgumentException(f"ResourceARN {arn} is not a Kinesis stream or consumer ARN.")
        return self._stream(ctx, {"StreamARN": arn}), None

    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream, consumer = self._resource(ctx, req["ResourceARN"])
        tags: dict[str, str] = req["Tags"]
        _check_tags(tags)
        if consumer is None:
            self.store.add_tags(stream, tags)
        else:
            target = stream.consumers[consumer]
            if len({**target.tags, **tags}) > MAX_TAGS:
                raise InvalidArgumentException(f"A consumer cannot have more than {MAX_TAGS} tags.")
            self.store.update_consumer(stream, target, lambda c: c.tags.update(tags))
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream, consumer = self._resource(ctx, req["ResourceARN"])
        keys = list(req["TagKeys"])
        if consumer is None:
            self.store.remove_tags(stream, keys)
        else:
            def drop(c: Any) -> None:
                for key in keys:
                    c.tags.pop(key, None)

            self.store.update_consumer(stream, stream.consumers[consumer], drop)
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream, consumer = self._resource(ctx, req["ResourceARN"])
        tags = dict(stream.tags if consumer is None else stream.consumers[consumer].tags)
        return {"Tags": [{"Key": k, "Value": tags[k]} for k in sorted(tags)]}

    # ------------------------------------------------------------------ settings without an engine behind them

    @operation("StartStreamEncryption")
    def start_stream_encryption(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        if req["EncryptionType"] != "KMS":
            raise InvalidArgumentException("EncryptionType must be KMS to start stream encryption.")

        def change(s: StreamMeta) -> None:
            s.encryption_type, s.key_id = "KMS", req["KeyId"]

        self.store.update(stream, change)
        return {}

    @operation("StopStreamEncryption")
    def stop_stream_encryption(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)

        def change(s: StreamMeta) -> None:
            s.encryption_type, s.key_id = "NONE", None

        self.store.update(stream, change)
        return {}

    def _monitoring_change(self, ctx: RequestContext, req: dict[str, Any], enable: bool) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        requested = list(req["ShardLevelMetrics"])
        names = ALL_METRICS if "ALL" in requested else requested
        current = list(stream.metrics)
        if enable:
            desired = [m for m in ALL_METRICS if m in current or m in names]
        else:
            desired = [m for m in current if m not in names]
        self.store.update(stream, lambda s: setattr(s, "metrics", desired))
        return {"StreamName": stream.name, "CurrentShardLevelMetrics": current,
                "DesiredShardLevelMetrics": desired, "StreamARN": self._arn(stream)}

    @operation("EnableEnhancedMonitoring")
    def enable_enhanced_monitoring(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._monitoring_change(ctx, req, True)

    @operation("DisableEnhancedMonitoring")
    def disable_enhanced_monitoring(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._monitoring_change(ctx, req, False)

    @operation("UpdateStreamMode")
    def update_stream_mode(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        mode = req["StreamModeDetails"]["StreamMode"]
        if mode == stream.mode:
            raise InvalidArgumentException(
                f"Stream {stream.name} under account {stream.account} is already in {mode} mode.")
        if mode == ON_DEMAND and self.store.on_demand_count(ctx.scope) >= self.store.on_demand_stream_limit:
            raise LimitExceededException(
                f"The on-demand stream limit of {self.store.on_demand_stream_limit} for account "
                f"{ctx.account_id} in {ctx.region} has been reached.")
        self.store.update(stream, lambda s: setattr(s, "mode", mode))
        return {}

    @operation("UpdateMaxRecordSize")
    def update_max_record_size(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        self.store.update(stream, lambda s: setattr(s, "max_record_kib", int(req["MaxRecordSizeInKiB"])))
        return {}

    @operation("UpdateStreamWarmThroughput")
    def update_stream_warm_throughput(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        if stream.mode != ON_DEMAND:
            raise InvalidArgumentException("Warm throughput applies to ON_DEMAND streams only.")
        mibps = int(req["WarmThroughputMiBps"])
        self.store.update(stream, lambda s: setattr(s, "warm_mibps", mibps))
        return {"StreamARN": self._arn(stream), "StreamName": stream.name,
                "WarmThroughput": {"TargetMiBps": mibps, "CurrentMiBps": mibps}}

    @operation("UpdateStreamRecordDistributionStrategy")
    def update_record_distribution(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(ctx, req)
        self.store.update(stream, lambda s: setattr(s, "distribution", req["RecordDistributionStrategy"]))
        return {}

    @operation("DescribeLimits")
    def describe_limits(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return {"ShardLimit": self.store.shard_limit, "OpenShardCount": self.store.open_shard_count(ctx.scope),
                "OnDemandStreamCount": self.store.on_demand_count(ctx.scope),
                "OnDemandStreamCountLimit": self.store.on_demand_stream_limit}

    @operation("PutResourcePolicy")
    def put_resource_policy(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream, _ = self._resource(ctx, req["ResourceARN"])
        self.store.update(stream, lambda s: setattr(s, "policy", req["Policy"]))
        return {}

    @operation("GetResourcePolicy")
    def get_resource_policy(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream, _ = self._resource(ctx, req["ResourceARN"])
        return {"Policy": stream.policy or "{}"}

    @operation("DeleteResourcePolicy")
    def delete_resource_policy(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stream, _ = self._resource(ctx, req["ResourceARN"])
        if stream.policy is None:
            raise ResourceNotFoundException(f"No resource policy found for resource ARN {req['ResourceARN']}.")
        self.store.update(stream, lambda s: setattr(s, "policy", None))
        return {}

