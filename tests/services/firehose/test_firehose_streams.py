"""The control plane through boto3: streams, their description, updates, tags, encryption and AWS's errors."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.services.firehose.conftest import ROLE, MakeStream, s3_config, unique


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_create_describe_defaults_and_both_descriptions(firehose: Any, bucket: str) -> None:
    name = unique()
    arn = firehose.create_delivery_stream(
        DeliveryStreamName=name, S3DestinationConfiguration={"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}"},
        Tags=[{"Key": "team", "Value": "data"}])["DeliveryStreamARN"]
    try:
        assert arn == f"arn:aws:firehose:us-east-1:000000000000:deliverystream/{name}"
        description = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        assert description["DeliveryStreamStatus"] == "ACTIVE"
        assert description["DeliveryStreamType"] == "DirectPut"
        assert description["VersionId"] == "1"
        assert description["HasMoreDestinations"] is False
        assert description["DeliveryStreamEncryptionConfiguration"] == {"Status": "DISABLED"}
        [destination] = description["Destinations"]
        assert destination["DestinationId"] == "destinationId-000000000001"
        plain = destination["S3DestinationDescription"]
        assert plain["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 300}
        assert plain["CompressionFormat"] == "UNCOMPRESSED"
        assert plain["EncryptionConfiguration"] == {"NoEncryptionConfig": "NoEncryption"}
        assert plain["BucketARN"] == f"arn:aws:s3:::{bucket}"
        assert destination["ExtendedS3DestinationDescription"]["S3BackupMode"] == "Disabled"
        assert firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"] == [
            {"Key": "team", "Value": "data"}]
    finally:
        firehose.delete_delivery_stream(DeliveryStreamName=name)
    with pytest.raises(ClientError) as excinfo:
        firehose.describe_delivery_stream(DeliveryStreamName=name)
    assert _error(excinfo) == ("ResourceNotFoundException", f"Firehose {name} under account 000000000000 not found.")


def test_duplicate_name_and_missing_destination(firehose: Any, bucket: str, make_stream: MakeStream) -> None:
    name = make_stream(bucket)
    with pytest.raises(ClientError) as excinfo:
        firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=s3_config(bucket))
    assert _error(excinfo) == ("ResourceInUseException", f"Firehose {name} under accountId 000000000000 already exists")
    with pytest.raises(ClientError) as excinfo:
        firehose.create_delivery_stream(DeliveryStreamName=unique())
    assert _error(excinfo)[0] == "InvalidArgumentException"


def test_list_pages_by_name_and_filters_by_type(firehose: Any, bucket: str, make_stream: MakeStream) -> None:
    names = sorted(make_stream(bucket) for _ in range(3))
    seen: list[str] = []
    start: dict[str, str] = {}
    while True:
        page = firehose.list_delivery_streams(Limit=2, **start)
        seen.extend(page["DeliveryStreamNames"])
        if not page["HasMoreDeliveryStreams"]:
            break
        start = {"ExclusiveStartDeliveryStreamName": page["DeliveryStreamNames"][-1]}
    assert seen == sorted(seen)
    assert set(names) <= set(seen)
    kinesis_only = firehose.list_delivery_streams(DeliveryStreamType="KinesisStreamAsSource", Limit=100)
    assert not set(names) & set(kinesis_only["DeliveryStreamNames"])


def test_update_destination_checks_the_version_and_bumps_it(firehose: Any, bucket: str,
                                                            make_stream: MakeStream) -> None:
    name = make_stream(bucket)
    update = {"Prefix": "new/", "BufferingHints": {"IntervalInSeconds": 120}, "CompressionFormat": "GZIP"}
    with pytest.raises(ClientError) as excinfo:
        firehose.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId="7",
                                    DestinationId="destinationId-000000000001", ExtendedS3DestinationUpdate=update)
    assert _error(excinfo) == ("ConcurrentModificationException",
                               f"Cannot update firehose: {name} since the current version id: 1 and specified "
                               "version id: 7 do not match")
    firehose.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId="1",
                                DestinationId="destinationId-000000000001", ExtendedS3DestinationUpdate=update)
    description = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    extended = description["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert description["VersionId"] == "2"
    assert "LastUpdateTimestamp" in description
    assert extended["Prefix"] == "new/"
    assert extended["BufferingHints"] == {"SizeInMBs": 1, "IntervalInSeconds": 120}
    assert extended["CompressionFormat"] == "GZIP"
    with pytest.raises(ClientError) as excinfo:
        firehose.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId="2",
                                    DestinationId="destinationId-000000000009", S3DestinationUpdate={"Prefix": "x/"})
    assert _error(excinfo)[0] == "InvalidArgumentException"


def test_tags_page_merge_and_limit(firehose: Any, bucket: str, make_stream: MakeStream) -> None:
    name = make_stream(bucket)
    firehose.tag_delivery_stream(DeliveryStreamName=name, Tags=[{"Key": f"k{i:02d}", "Value": str(i)}
                                                                for i in range(5)])
    firehose.tag_delivery_stream(DeliveryStreamName=name, Tags=[{"Key": "k00", "Value": "changed"}])
    first = firehose.list_tags_for_delivery_stream(DeliveryStreamName=name, Limit=3)
    assert first["HasMoreTags"] is True
    assert first["Tags"] == [{"Key": "k00", "Value": "changed"}, {"Key": "k01", "Value": "1"},
                             {"Key": "k02", "Value": "2"}]
    rest = firehose.list_tags_for_delivery_stream(DeliveryStreamName=name, ExclusiveStartTagKey="k02")
    assert [t["Key"] for t in rest["Tags"]] == ["k03", "k04"] and rest["HasMoreTags"] is False
    firehose.untag_delivery_stream(DeliveryStreamName=name, TagKeys=["k01", "k03"])
    keys = [t["Key"] for t in firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"]]
    assert keys == ["k00", "k02", "k04"]
    with pytest.raises(ClientError) as excinfo:
        firehose.tag_delivery_stream(DeliveryStreamName=name, Tags=[{"Key": f"x{i}", "Value": "v"} for i in range(48)])
    assert _error(excinfo)[0] == "LimitExceededException"


def test_encryption_is_recorded_and_reported_by_puts(firehose: Any, bucket: str, make_stream: MakeStream) -> None:
    name = make_stream(bucket, interval=60)
    assert firehose.put_record(DeliveryStreamName=name, Record={"Data": b"a"})["Encrypted"] is False
    with pytest.raises(ClientError) as excinfo:
        firehose.start_delivery_stream_encryption(
            DeliveryStreamName=name, DeliveryStreamEncryptionConfigurationInput={"KeyType": "CUSTOMER_MANAGED_CMK"})
    assert _error(excinfo)[0] == "InvalidArgumentException"
    key = "arn:aws:kms:us-east-1:000000000000:key/0f1e2d3c-aaaa-bbbb-cccc-000000000000"
    firehose.start_delivery_stream_encryption(
        DeliveryStreamName=name,
        DeliveryStreamEncryptionConfigurationInput={"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key})
    description = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert description["DeliveryStreamEncryptionConfiguration"] == {
        "Status": "ENABLED", "KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key}
    batch = firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"b"}])
    assert batch["Encrypted"] is True
    firehose.stop_delivery_stream_encryption(DeliveryStreamName=name)
    description = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert description["DeliveryStreamEncryptionConfiguration"] == {"Status": "DISABLED"}


@pytest.mark.parametrize(("extended", "fragment"), [
    ({"Prefix": "data/!{timestamp:yyyy}/"}, "ErrorOutputPrefix cannot be null"),
    ({"Prefix": "a/!{firehose:error-output-type}/", "ErrorOutputPrefix": "e/!{firehose:error-output-type}/"},
     "Prefix cannot contain"),
    ({"Prefix": "a/!{timestamp:yyyy}/", "ErrorOutputPrefix": "e/!{timestamp:yyyy}/"},
     "must contain at least one instance of !{firehose:error-output-type}"),
    ({"Prefix": "a/!{nope:x}/", "ErrorOutputPrefix": "e/!{firehose:error-output-type}"}, "unknown namespace"),
    ({"Prefix": "a/!{timestamp:yyyy-{}/", "ErrorOutputPrefix": "e/"}, "outside of an expression"),
    ({"Prefix": "a/!{partitionKeyFromQuery:id}/", "ErrorOutputPrefix": "e/!{firehose:error-output-type}"},
     "require dynamic partitioning"),
    ({"DynamicPartitioningConfiguration": {"Enabled": True}, "Prefix": "a/!{partitionKeyFromQuery:id}/",
      "ErrorOutputPrefix": "e/!{firehose:error-output-type}"}, "SizeInMBs must be at least 64"),
    ({"size_mb": 64, "DynamicPartitioningConfiguration": {"Enabled": True}, "Prefix": "a/!{partitionKeyFromQuery:id}/",
      "ErrorOutputPrefix": "e/!{firehose:error-output-type}"}, "require an enabled MetadataExtraction processor"),
    ({"ProcessingConfiguration": {"Enabled": True, "Processors": [
        {"Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn", "ParameterValue": "arn:aws:s3:::nope"}]}]}},
     "is not a valid Lambda function ARN"),
    ({"CustomTimeZone": "Mars/Olympus"}, "not a supported time zone"),
])
def test_invalid_destinations_are_refused(firehose: Any, bucket: str, extended: dict[str, Any],
                                          fragment: str) -> None:
    name = unique()
    size = extended.pop("size_mb", 1)
    with pytest.raises(ClientError) as excinfo:
        firehose.create_delivery_stream(DeliveryStreamName=name,
                                        ExtendedS3DestinationConfiguration=s3_config(bucket, size, 1, **extended))
    code, message = _error(excinfo)
    assert code == "InvalidArgumentException"
    assert fragment in message
    with contextlib.suppress(ClientError):
        firehose.delete_delivery_stream(DeliveryStreamName=name)
    with pytest.raises(ClientError):
        firehose.describe_delivery_stream(DeliveryStreamName=name)


def test_unsupported_destinations_say_so(firehose: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        firehose.create_delivery_stream(DeliveryStreamName=unique(), HttpEndpointDestinationConfiguration={
            "EndpointConfiguration": {"Url": "https://example.com"},
            "S3Configuration": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::some-bucket"}})
    code, message = _error(excinfo)
    assert code == "NotImplemented"
    assert "HttpEndpointDestinationConfiguration" in message
