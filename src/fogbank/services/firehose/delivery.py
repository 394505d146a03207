"""One batch of buffered records becomes S3 objects: processed, partitioned, converted or compressed, named.

Object keys are `<evaluated prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>`. Every part of
a key is a function of the batch (its number, its records, the time recorded when it was planned), so
delivering the same batch again after a crash overwrites the same objects instead of adding new ones.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fogbank.context import RequestContext
from fogbank.protocol.http import Headers, HttpRequest
from fogbank.services.firehose import compression, prefixes
from fogbank.services.firehose.conversion import CatalogUnavailable, GlueCatalog
from fogbank.services.firehose.destination import Destination
from fogbank.services.firehose.processing import (
    PARTITIONING_FAILED,
    Failure,
    Output,
    Pipeline,
    SourceRecord,
)

CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class BatchContext:
    """What names a batch's objects."""

    stream_name: str
    stream_uid: str
    account: str
    region: str
    version: int
    batch: int
    planned_ms: int


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    body: bytes
    kms_key: str | None


class _Names:
    """Deterministic uuids and random strings for one batch."""

    def __init__(self, batch: BatchContext) -> None:
        self.batch = batch
        self.namespace = uuid.UUID(hex=batch.stream_uid)

    def uuid(self, label: str) -> str:
        return str(uuid.uuid5(self.namespace, f"{self.batch.batch}/{label}"))

    def random(self, label: str) -> Callable[[], str]:
        counter = iter(range(1_000_000))

        def draw() -> str:
            digest = hashlib.sha256(f"{self.batch.stream_uid}/{self.batch.batch}/{label}/{next(counter)}".encode())
            text = digest.hexdigest()
            return f"{text[:8]}-{text[8:10]}"

        return draw

    def suffix(self, destination: Destination, label: str, extension: str) -> str:
        when = datetime.fromtimestamp(self.batch.planned_ms / 1000, destination.zone)
        stamp = when.strftime("%Y-%m-%d-%H-%M-%S")
        return f"{self.batch.stream_name}-{self.batch.version}-{stamp}-{self.uuid(label)}{extension}"


def _when(destination: Destination, arrival_ms: int) -> datetime:
    return datetime.fromtimestamp(arrival_ms / 1000, destination.zone)


def _body(destination: Destination, data: bytes, key: str) -> bytes:
    entry = key.rsplit("/", 1)[-1]
    if entry.endswith(".zip"):
        entry = entry[:-4]
    return compression.compress(data, destination.compression, entry)


def build(batch: BatchContext, destination: Destination, records: list[SourceRecord], pipeline: Pipeline,
          catalog: GlueCatalog) -> list[S3Object]:
    """Every object one batch produces: data, error output and source backup."""
    names = _Names(batch)
    objects: list[S3Object] = []
    processed = pipeline.run(records)
    failures = list(processed.failures)
    groups = _partition(destination, processed.outputs, failures)
    columns = None
    if destination.converter is not None and groups:
        try:
            columns = destination.converter.columns(
                catalog.columns(batch.account, batch.region, destination.converter.schema))
        except CatalogUnavailable as exc:
            for _, outputs in groups:
                failures.extend(destination.converter.failure(o, exc.code, str(exc)) for o in outputs)
            groups = []
    for group_key, outputs in groups:
        label = "data/" + json.dumps(group_key)
        oldest = min(o.arrival_ms for o in outputs)
        values = prefixes.Values(_when(destination, oldest), dict(outputs[0].query_keys),
                                 dict(outputs[0].lambda_keys), names.random(label))
        key = prefixes.render(destination.prefixes.prefix, values) + names.suffix(destination, label,
                                                                                 destination.extension)
        if destination.converter is not None:
            assert columns is not None
            body, rejected = destination.converter.convert(outputs, columns)
            failures.extend(rejected)
            if body is None:
                continue
        else:
            body = _body(destination, b"".join(o.data for o in outputs), key)
        objects.append(S3Object(destination.bucket, key, body, destination.kms_key))
    objects.extend(_errors(destination, names, failures))
    if destination.backup is not None and records:
        backup = destination.backup
        label = "backup"
        oldest = min(r.arrival_ms for r in records)
        values = prefixes.Values(_when(backup, oldest), {}, {}, names.random(label))
        key = prefixes.render(backup.prefixes.prefix, values) + names.suffix(
            backup, label, backup.extension)
        objects.append(S3Object(backup.bucket, key, _body(backup, b"".join(r.data for r in records), key),
                                backup.kms_key))
    return objects


def _partition(destination: Destination, outputs: list[Output],
               failures: list[Failure]) -> list[tuple[list[str], list[Output]]]:
    """Records grouped by the partition keys their prefix uses (one group without dynamic partitioning)."""
    if not outputs:
        return []
    if not destination.partitioning:
        return [([], outputs)]
    template = destination.prefixes.prefix
    used = [(p.namespace, p.value) for p in template.parts
            if isinstance(p, prefixes.Expression) and p.namespace in (prefixes.FROM_QUERY, prefixes.FROM_LAMBDA)]
    groups: dict[tuple[str, ...], list[Output]] = {}
    for output in outputs:
        values: list[str] = []
        missing: str | None = None
        for namespace, name in used:
            keys = output.query_keys if namespace == prefixes.FROM_QUERY else output.lambda_keys
            if name not in keys:
                missing = name
                break
            values.append(keys[name])
        if missing is not None:
            failures.append(_partition_failure(output, f"The partition key {missing} was not found for the record"))
            continue
        if sum(len(v) for v in values) + len(template.text) > prefixes.MAX_EVALUATED:
            failures.append(_partition_failure(output, "The evaluated prefix is longer than 512 characters"))
            continue
        groups.setdefault(tuple(values), []).append(output)
    return [(list(key), members) for key, members in sorted(groups.items())]


def _partition_failure(output: Output, message: str) -> Failure:
    document: dict[str, Any] = {
        "attemptsMade": 1, "arrivalTimestamp": output.arrival_ms,
        "errorCode": "DynamicPartitioning.MetadataExtractionFailed", "errorMessage": message,
        "attemptEndingTimestamp": output.arrival_ms,
        "rawData": base64.b64encode(output.data).decode(),
    }
    return Failure(PARTITIONING_FAILED, output.arrival_ms, document)


def _errors(destination: Destination, names: _Names, failures: list[Failure]) -> list[S3Object]:
    by_type: dict[str, list[Failure]] = {}
    for failure in failures:
        by_type.setdefault(failure.error_type, []).append(failure)
    objects: list[S3Object] = []
    for error_type, members in sorted(by_type.items()):
        label = "error/" + error_type
        oldest = min(f.arrival_ms for f in members)
        values = prefixes.Values(_when(destination, oldest), {}, {}, names.random(label), error_type)
        extension = compression.EXTENSIONS[destination.compression]
        key = prefixes.render_error(destination.prefixes, values) + names.suffix(destination, label, extension)
        data = b"".join(json.dumps(f.document, separators=(",", ":")).encode() + b"\n" for f in members)
        objects.append(S3Object(destination.bucket, key, _body(destination, data, key), destination.kms_key))
    return objects


def write(s3: Any, account: str, region: str, objects: list[S3Object]) -> None:
    """Puts the objects through the S3 provider's own PutObject, as the stream's account."""
    for obj in objects:
        ctx = RequestContext(account, region, str(uuid.uuid4()), "s3", "PutObject",
                             HttpRequest("PUT", "/", "", Headers()))
        request: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key, "Body": obj.body,
                                   "ContentType": CONTENT_TYPE}
        if obj.kms_key:
            request.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=obj.kms_key)
        s3.put_object(ctx, request)
