"""The S3 destination of a delivery stream: defaults, the checks Firehose makes, updates and descriptions.

A destination is stored in the shape of ExtendedS3DestinationDescription (a plain S3DestinationConfiguration
is the same thing with fewer members), so DescribeDeliveryStream can return it as it is and the delivery code
reads one shape. `Destination` is the checked, compiled form the flusher uses.
"""

from __future__ import annotations

import copy
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from fogbank.services.firehose import compression, prefixes
from fogbank.services.firehose.conversion import Converter
from fogbank.services.firehose.errors import InvalidArgumentException
from fogbank.services.firehose.processing import ProcessorError, Steps, compile_steps

DESTINATION_ID = "destinationId-000000000001"
DEFAULT_SIZE_MB = 5
DEFAULT_INTERVAL_S = 300
CONVERSION_SIZE_MB = 128
MIN_CONVERSION_SIZE_MB = 64
MIN_PARTITIONING_SIZE_MB = 64
MIB = 1024 * 1024

_PLAIN_MEMBERS = ("RoleARN", "BucketARN", "Prefix", "ErrorOutputPrefix", "BufferingHints", "CompressionFormat",
                  "EncryptionConfiguration", "CloudWatchLoggingOptions")
_EXTENDED_MEMBERS = (*_PLAIN_MEMBERS, "ProcessingConfiguration", "S3BackupMode", "DataFormatConversionConfiguration",
                     "DynamicPartitioningConfiguration", "FileExtension", "CustomTimeZone")


def bucket_of(bucket_arn: str) -> str:
    return bucket_arn.split(":::", 1)[1] if ":::" in bucket_arn else bucket_arn


def _plain(config: dict[str, Any]) -> dict[str, Any]:
    """An S3DestinationDescription: the given members plus the defaults Firehose reports."""
    out: dict[str, Any] = {k: copy.deepcopy(config[k]) for k in _PLAIN_MEMBERS if config.get(k) is not None}
    out.setdefault("BufferingHints", {})
    out["BufferingHints"].setdefault("SizeInMBs", DEFAULT_SIZE_MB)
    out["BufferingHints"].setdefault("IntervalInSeconds", DEFAULT_INTERVAL_S)
    out.setdefault("CompressionFormat", compression.UNCOMPRESSED)
    out.setdefault("EncryptionConfiguration", {"NoEncryptionConfig": "NoEncryption"})
    out.setdefault("CloudWatchLoggingOptions", {"Enabled": False})
    return out


def from_create(req: dict[str, Any]) -> dict[str, Any]:
    """The stored description of the destination a CreateDeliveryStream request configures."""
    extended = req.get("ExtendedS3DestinationConfiguration")
    if extended is None:
        return _plain(req["S3DestinationConfiguration"])
    conversion_on = _conversion_enabled(extended.get("DataFormatConversionConfiguration"))
    hints = dict(extended.get("BufferingHints") or {})
    if conversion_on:
        hints.setdefault("SizeInMBs", CONVERSION_SIZE_MB)
    out = _plain({**extended, "BufferingHints": hints})
    for name in _EXTENDED_MEMBERS[len(_PLAIN_MEMBERS):]:
        if extended.get(name) is not None:
            out[name] = copy.deepcopy(extended[name])
    out.setdefault("S3BackupMode", "Disabled")
    if extended.get("S3BackupConfiguration") is not None:
        out["S3BackupDescription"] = _plain(extended["S3BackupConfiguration"])
    return out


def _conversion_enabled(config: dict[str, Any] | None) -> bool:
    return bool(config) and (config or {}).get("Enabled", True) is not False


def _partitioning_enabled(description: dict[str, Any]) -> bool:
    return bool((description.get("DynamicPartitioningConfiguration") or {}).get("Enabled"))


def merge_update(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """The description after an S3DestinationUpdate or ExtendedS3DestinationUpdate."""
    out = copy.deepcopy(current)
    was_partitioned = _partitioning_enabled(current)
    for name, value in update.items():
        if value is None:
            continue
        if name == "BufferingHints":
            out["BufferingHints"] = {**out.get("BufferingHints", {}), **value}
        elif name == "S3BackupUpdate":
            backup = out.get("S3BackupDescription") or {}
            merged = {**backup, **{k: v for k, v in value.items() if v is not None}}
            if "BufferingHints" in value:
                merged["BufferingHints"] = {**backup.get("BufferingHints", {}), **value["BufferingHints"]}
            out["S3BackupDescription"] = _plain(merged)
        elif name == "DynamicPartitioningConfiguration":
            out[name] = {**out.get(name, {}), **value}
        else:
            out[name] = copy.deepcopy(value)
    if not was_partitioned and _partitioning_enabled(out):
        raise InvalidArgumentException("Dynamic partitioning can only be enabled when the delivery stream is created.")
    if was_partitioned and not _partitioning_enabled(out):
        raise InvalidArgumentException("Dynamic partitioning cannot be disabled once it is enabled on a delivery "
                                       "stream.")
    return out


def describe(description: dict[str, Any]) -> dict[str, Any]:
    """One DestinationDescription of DescribeDeliveryStream: Firehose reports an S3 destination both ways."""
    plain = {k: copy.deepcopy(description[k]) for k in _PLAIN_MEMBERS if k in description}
    extended = copy.deepcopy(description)
    extended.setdefault("S3BackupMode", "Disabled")
    return {"DestinationId": DESTINATION_ID, "S3DestinationDescription": plain,
            "ExtendedS3DestinationDescription": extended}


@dataclass(frozen=True)
class Destination:
    """A checked destination, compiled for delivery."""

    description: dict[str, Any]
    bucket: str
    prefixes: prefixes.Prefixes
    size_bytes: int
    interval_s: int
    compression: str
    extension: str
    zone: tzinfo
    steps: Steps
    partitioning: bool
    converter: Converter | None
    kms_key: str | None
    backup: Destination | None = None


def compile_destination(description: dict[str, Any], backup: bool = False) -> Destination:
    """Checks a description as Firehose does when a stream is created or updated; raises InvalidArgumentException."""
    partitioning = _partitioning_enabled(description)
    conversion = description.get("DataFormatConversionConfiguration")
    conversion_on = _conversion_enabled(conversion)
    hints = description.get("BufferingHints") or {}
    size_mb = int(hints.get("SizeInMBs", DEFAULT_SIZE_MB))
    interval = int(hints.get("IntervalInSeconds", DEFAULT_INTERVAL_S))
    fmt = description.get("CompressionFormat", compression.UNCOMPRESSED)
    if conversion_on:
        if size_mb < MIN_CONVERSION_SIZE_MB:
            raise InvalidArgumentException("BufferingHints.SizeInMBs must be at least 64 when data format conversion "
                                           "is enabled.")
        if fmt != compression.UNCOMPRESSED:
            raise InvalidArgumentException("CompressionFormat must be UNCOMPRESSED when data format conversion is "
                                           "enabled; the serializer compresses the data.")
        _check_conversion(conversion or {})
    if partitioning and size_mb < MIN_PARTITIONING_SIZE_MB:
        raise InvalidArgumentException("BufferingHints.SizeInMBs must be at least 64 when Dynamic Partitioning is "
                                       "enabled.")
    try:
        checked = prefixes.check(description.get("Prefix") or "", description.get("ErrorOutputPrefix") or None,
                                 partitioning, backup)
    except prefixes.PrefixError as exc:
        raise InvalidArgumentException(str(exc)) from None
    try:
        steps = compile_steps(description.get("ProcessingConfiguration"), partitioning)
    except ProcessorError as exc:
        raise InvalidArgumentException(str(exc)) from None
    if partitioning:
        _check_partition_keys(checked.prefix, steps)
    zone_name = description.get("CustomTimeZone") or "UTC"
    try:
        zone: tzinfo = UTC if zone_name == "UTC" else zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidArgumentException(f"CustomTimeZone '{zone_name}' is not a supported time zone.") from None
    extension = description.get("FileExtension") or ("" if conversion_on else compression.EXTENSIONS[fmt])
    kms = (description.get("EncryptionConfiguration") or {}).get("KMSEncryptionConfig") or {}
    backup_destination = None
    if not backup and description.get("S3BackupMode") == "Enabled":
        if not description.get("S3BackupDescription"):
            raise InvalidArgumentException("S3BackupConfiguration is required when S3BackupMode is Enabled.")
        backup_destination = compile_destination(description["S3BackupDescription"], backup=True)
    return Destination(description, bucket_of(description["BucketARN"]), checked, size_mb * MIB, interval, fmt,
                       extension, zone, steps, partitioning, Converter(conversion or {}) if conversion_on else None,
                       kms.get("AWSKMSKeyARN"), backup_destination)


def _check_conversion(config: dict[str, Any]) -> None:
    schema = config.get("SchemaConfiguration") or {}
    for member in ("DatabaseName", "TableName", "RoleARN"):
        if not schema.get(member):
            raise InvalidArgumentException(f"SchemaConfiguration.{member} is required when data format conversion is "
                                           "enabled.")
    deserializer = (config.get("InputFormatConfiguration") or {}).get("Deserializer") or {}
    if len([k for k, v in deserializer.items() if v is not None]) != 1:
        raise InvalidArgumentException("InputFormatConfiguration.Deserializer must specify exactly one of "
                                       "OpenXJsonSerDe and HiveJsonSerDe.")
    serializer = (config.get("OutputFormatConfiguration") or {}).get("Serializer") or {}
    if len([k for k, v in serializer.items() if v is not None]) != 1:
        raise InvalidArgumentException("OutputFormatConfiguration.Serializer must specify exactly one of ParquetSerDe "
                                       "and OrcSerDe.")


def _check_partition_keys(prefix: prefixes.Template, steps: Steps) -> None:
    query_keys = prefix.keys(prefixes.FROM_QUERY)
    if query_keys:
        if steps.query is None or not steps.enabled:
            raise InvalidArgumentException("The Prefix uses partitionKeyFromQuery expressions, which require an "
                                           "enabled MetadataExtraction processor.")
        missing = [k for k in query_keys if k not in steps.query.keys]
        if missing:
            raise InvalidArgumentException(f"The partition keys {', '.join(missing)} in the Prefix are not defined by "
                                           "the MetadataExtractionQuery.")
    if prefix.keys(prefixes.FROM_LAMBDA) and (steps.lambda_arn is None or not steps.enabled):
        raise InvalidArgumentException("The Prefix uses partitionKeyFromLambda expressions, which require an enabled "
                                       "Lambda processor.")
