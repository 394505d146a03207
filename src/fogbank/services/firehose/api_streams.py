"""Firehose control-plane operations: delivery streams, their destination, tags and encryption."""

from __future__ import annotations

import copy
import shutil
import uuid
from datetime import UTC, datetime
from typing import Any

from fogbank.context import RequestContext
from fogbank.errors import NotImplementedOperation
from fogbank.protocol.dispatch import operation
from fogbank.services.firehose import destination as destinations
from fogbank.services.firehose.api_base import ACTIVE, CREATING, FirehoseBase, now_ms
from fogbank.services.firehose.bufferlog import Checkpoint
from fogbank.services.firehose.conversion import CatalogUnavailable
from fogbank.services.firehose.errors import (
    ConcurrentModificationException,
    InvalidArgumentException,
    LimitExceededException,
    ResourceInUseException,
)
from fogbank.services.firehose.kinesis_source import KinesisSource, parse_arn
from fogbank.services.firehose.metadata import StreamMeta
from fogbank.services.firehose.runtime import DIRECT_PUT, KINESIS_SOURCE, StreamRuntime

MAX_STREAMS = 5000
MAX_TAGS = 50
DEFAULT_LIST_LIMIT = 10
DEFAULT_TAG_LIMIT = 50
_S3_CONFIGS = ("S3DestinationConfiguration", "ExtendedS3DestinationConfiguration")
_OTHER_CONFIGS = ("RedshiftDestinationConfiguration", "ElasticsearchDestinationConfiguration",
                  "AmazonopensearchserviceDestinationConfiguration", "SplunkDestinationConfiguration",
                  "HttpEndpointDestinationConfiguration", "AmazonOpenSearchServerlessDestinationConfiguration",
                  "SnowflakeDestinationConfiguration", "IcebergDestinationConfiguration")
_OTHER_UPDATES = ("RedshiftDestinationUpdate", "ElasticsearchDestinationUpdate",
                  "AmazonopensearchserviceDestinationUpdate", "SplunkDestinationUpdate",
                  "HttpEndpointDestinationUpdate", "AmazonOpenSearchServerlessDestinationUpdate",
                  "SnowflakeDestinationUpdate", "IcebergDestinationUpdate")


def _to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _tags(tags: list[dict[str, Any]] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in tags or []:
        key = tag["Key"]
        if key.lower().startswith("aws:"):
            raise InvalidArgumentException(f"Tag keys cannot start with 'aws:': {key}")
        out[key] = tag.get("Value") or ""
    return out


def _encryption(config: dict[str, Any] | None) -> dict[str, Any]:
    if not config:
        return {"Status": "DISABLED"}
    key_type = config["KeyType"]
    key_arn = config.get("KeyARN")
    if key_type == "CUSTOMER_MANAGED_CMK" and not key_arn:
        raise InvalidArgumentException("KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.")
    if key_type == "AWS_OWNED_CMK" and key_arn:
        raise InvalidArgumentException("KeyARN must not be specified when KeyType is AWS_OWNED_CMK.")
    out: dict[str, Any] = {"Status": "ENABLED", "KeyType": key_type}
    if key_arn:
        out["KeyARN"] = key_arn
    return out


class StreamOperations(FirehoseBase):
    # -- create -----------------------------------------------------------------------------------------

    def _check_catalog(self, ctx: RequestContext, compiled: destinations.Destination) -> None:
        """Record format conversion needs its Glue table now; a table that cannot be read is refused."""
        if compiled.converter is None:
            return
        try:
            compiled.converter.columns(self.catalog.columns(ctx.account_id, ctx.region, compiled.converter.schema))
        except CatalogUnavailable as exc:
            raise InvalidArgumentException(str(exc)) from None

    @operation("CreateDeliveryStream")
    def create_delivery_stream(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["DeliveryStreamName"]
        stream_type = req.get("DeliveryStreamType") or DIRECT_PUT
        if stream_type not in (DIRECT_PUT, KINESIS_SOURCE):
            raise NotImplementedOperation(f"Delivery stream type {stream_type} is not supported by fogbank; use "
                                          "DirectPut or KinesisStreamAsSource.")
        others = [c for c in _OTHER_CONFIGS if req.get(c)]
        if others:
            raise NotImplementedOperation(f"fogbank delivers to Amazon S3 only; {others[0]} is not supported.")
        given = [c for c in _S3_CONFIGS if req.get(c)]
        if len(given) != 1:
            raise InvalidArgumentException("Exactly one destination configuration must be specified: "
                                           "ExtendedS3DestinationConfiguration or S3DestinationConfiguration.")
        source: dict[str, Any] = {}
        kinesis_config = req.get("KinesisStreamSourceConfiguration")
        if stream_type == KINESIS_SOURCE:
            if not kinesis_config:
                raise InvalidArgumentException("KinesisStreamSourceConfiguration is required when the "
                                               "DeliveryStreamType is KinesisStreamAsSource.")
            if req.get("DeliveryStreamEncryptionConfigurationInput"):
                raise InvalidArgumentException("Server-side encryption cannot be enabled for a delivery stream whose "
                                               "source is a Kinesis data stream.")
            source = {"KinesisStreamARN": kinesis_config["KinesisStreamARN"], "RoleARN": kinesis_config["RoleARN"]}
        else:
            if kinesis_config:
                raise InvalidArgumentException("KinesisStreamSourceConfiguration is only allowed when the "
                                               "DeliveryStreamType is KinesisStreamAsSource.")
            if req.get("DirectPutSourceConfiguration"):
                source = {"ThroughputHintInMBs": req["DirectPutSourceConfiguration"]["ThroughputHintInMBs"]}
        encryption = _encryption(req.get("DeliveryStreamEncryptionConfigurationInput"))
        tags = _tags(req.get("Tags"))
        if len(tags) > MAX_TAGS:
            raise LimitExceededException(f"A delivery stream cannot have more than {MAX_TAGS} tags.")
        description = destinations.from_create(req)
        compiled = destinations.compile_destination(description)
        self._check_catalog(ctx, compiled)
        kinesis_source: KinesisSource | None = None
        if stream_type == KINESIS_SOURCE:
            arn = source["KinesisStreamARN"]
            ref = parse_arn(arn)
            if ref is None or self.kinesis is None:
                raise InvalidArgumentException(f"KinesisStreamARN {arn} does not name a Kinesis stream.")
            kinesis_source = KinesisSource(self.kinesis, arn, None)
            if not kinesis_source.exists():
                raise InvalidArgumentException(f"Stream {ref.name} under account {ref.account} not found.")
        with self._lock:
            key = (ctx.account_id, ctx.region, name)
            if key in self._streams:
                raise ResourceInUseException(f"Firehose {name} under accountId {ctx.account_id} already exists")
            if sum(1 for k in self._streams if k[:2] == key[:2]) >= MAX_STREAMS:
                raise LimitExceededException(f"You have already consumed your firehose quota of {MAX_STREAMS} "
                                             "hoses.")
            created = now_ms()
            status = ACTIVE if self.activation_delay_ms <= 0 else CREATING
            meta = StreamMeta(uuid.uuid4().hex, ctx.account_id, ctx.region, name, stream_type, status, created,
                              created, 1, description, source, encryption, tags)
            directory = self._stream_dir(meta.uid)
            directory.mkdir(parents=True)
            if kinesis_source is not None:
                try:
                    state = kinesis_source.start_at_latest()
                except LookupError:
                    shutil.rmtree(directory, ignore_errors=True)
                    raise InvalidArgumentException(f"Stream {kinesis_source.ref.name} under account "
                                                   f"{kinesis_source.ref.account} not found.") from None
                Checkpoint(directory).save(kinesis=state)
            self.db.insert(meta)
            self._streams[key] = StreamRuntime(meta, directory, compiled, self.functions, self.kinesis)
        return {"DeliveryStreamARN": meta.arn}

    # -- describe, list, delete -------------------------------------------------------------------------

    @operation("DescribeDeliveryStream")
    def describe_delivery_stream(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        runtime = self._find(ctx, req["DeliveryStreamName"])
        meta = runtime.meta
        out: dict[str, Any] = {
            "DeliveryStreamName": meta.name,
            "DeliveryStreamARN": meta.arn,
            "DeliveryStreamStatus": self._status(runtime),
            "DeliveryStreamEncryptionConfiguration": copy.deepcopy(meta.encryption),
            "DeliveryStreamType": meta.stream_type,
            "VersionId": str(meta.version),
            "CreateTimestamp": _to_datetime(meta.created_ms),
            "Destinations": [destinations.describe(meta.destination)],
            "HasMoreDestinations": False,
        }
        if meta.version > 1:
            out["LastUpdateTimestamp"] = _to_datetime(meta.updated_ms)
        if meta.stream_type == KINESIS_SOURCE:
            out["Source"] = {"KinesisStreamSourceDescription": {
                "KinesisStreamARN": meta.source["KinesisStreamARN"], "RoleARN": meta.source["RoleARN"],
                "DeliveryStartTimestamp": _to_datetime(meta.created_ms)}}
        elif "ThroughputHintInMBs" in meta.source:
            out["Source"] = {"DirectPutSourceDescription": {"ThroughputHintInMBs": meta.source["ThroughputHintInMBs"]}}
        start = req.get("ExclusiveStartDestinationId")
        if start is not None and start >= destinations.DESTINATION_ID:
            out["Destinations"] = []
        return {"DeliveryStreamDescription": out}

    @operation("ListDeliveryStreams")
    def list_delivery_streams(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        wanted = req.get("DeliveryStreamType")
        start = req.get("ExclusiveStartDeliveryStreamName")
        limit = int(req.get("Limit") or DEFAULT_LIST_LIMIT)
        names = sorted(runtime.meta.name for key, runtime in list(self._streams.items())
                       if key[:2] == ctx.scope and (wanted is None or runtime.meta.stream_type == wanted)
                       and (start is None or runtime.meta.name > start))
        return {"DeliveryStreamNames": names[:limit], "HasMoreDeliveryStreams": len(names) > limit}

    @operation("DeleteDeliveryStream")
    def delete_delivery_stream(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["DeliveryStreamName"]
        with self._lock:
            runtime = self._find(ctx, name)
            if self._status(runtime) == CREATING:
                raise ResourceInUseException(f"Firehose {name} under account {ctx.account_id} is still being "
                                             "created. Delete it once it is ACTIVE.")
            self.db.delete(runtime.meta.uid)
            del self._streams[(ctx.account_id, ctx.region, name)]
        runtime.close()
        shutil.rmtree(runtime.dir, ignore_errors=True)
        return {}

    # -- destination ------------------------------------------------------------------------------------

    @operation("UpdateDestination")
    def update_destination(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["DeliveryStreamName"]
        others = [u for u in _OTHER_UPDATES if req.get(u)]
        if others:
            raise NotImplementedOperation(f"fogbank delivers to Amazon S3 only; {others[0]} is not supported.")
        updates = [u for u in ("S3DestinationUpdate", "ExtendedS3DestinationUpdate") if req.get(u) is not None]
        if len(updates) != 1:
            raise InvalidArgumentException("Exactly one destination update must be specified: "
                                           "ExtendedS3DestinationUpdate or S3DestinationUpdate.")
        with self._lock:
            runtime = self._find(ctx, name)
            meta = runtime.meta
            if self._status(runtime) != ACTIVE:
                raise ResourceInUseException(f"Firehose {name} under account {ctx.account_id} is not ACTIVE.")
            current = req["CurrentDeliveryStreamVersionId"]
            if current != str(meta.version):
                raise ConcurrentModificationException(
                    f"Cannot update firehose: {name} since the current version id: {meta.version} and specified "
                    f"version id: {current} do not match")
            if req["DestinationId"] != destinations.DESTINATION_ID:
                raise InvalidArgumentException(f"Destination Id {req['DestinationId']} not found for firehose "
                                               f"{name}.")
            description = destinations.merge_update(meta.destination, req[updates[0]])
            compiled = destinations.compile_destination(description)
            self._check_catalog(ctx, compiled)
            meta.destination = description
            meta.version += 1
            meta.updated_ms = now_ms()
            self.db.update(meta)
            runtime.set_destination(compiled)
        return {}

    # -- tags -------------------------------------------------------------------------------------------

    @operation("TagDeliveryStream")
    def tag_delivery_stream(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            runtime = self._find(ctx, req["DeliveryStreamName"])
            merged = {**runtime.meta.tags, **_tags(req["Tags"])}
            if len(merged) > MAX_TAGS:
                raise LimitExceededException(f"A delivery stream cannot have more than {MAX_TAGS} tags; this request "
                                             f"would leave {len(merged)}.")
            runtime.meta.tags = merged
            self.db.update(runtime.meta)
        return {}

    @operation("UntagDeliveryStream")
    def untag_delivery_stream(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            runtime = self._find(ctx, req["DeliveryStreamName"])
            runtime.meta.tags = {k: v for k, v in runtime.meta.tags.items() if k not in set(req["TagKeys"])}
            self.db.update(runtime.meta)
        return {}

    @operation("ListTagsForDeliveryStream")
    def list_tags_for_delivery_stream(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        runtime = self._find(ctx, req["DeliveryStreamName"])
        start = req.get("ExclusiveStartTagKey")
        limit = int(req.get("Limit") or DEFAULT_TAG_LIMIT)
        keys = sorted(k for k in runtime.meta.tags if start is None or k > start)
        tags = [{"Key": k, "Value": runtime.meta.tags[k]} for k in keys[:limit]]
        return {"Tags": tags, "HasMoreTags": len(keys) > limit}

    # -- server-side encryption -------------------------------------------------------------------------

    def _encryptable(self, ctx: RequestContext, name: str) -> Any:
        runtime = self._find(ctx, name)
        if runtime.meta.stream_type != DIRECT_PUT:
            raise InvalidArgumentException(f"Firehose {name} has a Kinesis data stream as its source; server-side "
                                           "encryption applies to DirectPut delivery streams only.")
        if self._status(runtime) != ACTIVE:
            raise ResourceInUseException(f"Firehose {name} under account {ctx.account_id} is not ACTIVE.")
        return runtime

    @operation("StartDeliveryStreamEncryption")
    def start_delivery_stream_encryption(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            runtime = self._encryptable(ctx, req["DeliveryStreamName"])
            config = req.get("DeliveryStreamEncryptionConfigurationInput") or {"KeyType": "AWS_OWNED_CMK"}
            runtime.meta.encryption = _encryption(config)
            self.db.update(runtime.meta)
        return {}

    @operation("StopDeliveryStreamEncryption")
    def stop_delivery_stream_encryption(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            runtime = self._encryptable(ctx, req["DeliveryStreamName"])
            runtime.meta.encryption = {"Status": "DISABLED"}
            self.db.update(runtime.meta)
        return {}
