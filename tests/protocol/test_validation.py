"""Model constraints on parsed input, with the messages AWS itself sends for them."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.model import Shape

from fogbank.errors import AwsError
from fogbank.protocol.validation import ValidationError, ValidationException, validate


def input_shape(service: str, operation: str) -> Shape:
    shape = botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape
    assert shape is not None
    return shape


def message(service: str, operation: str, params: dict[str, Any], query_style: bool = False) -> str:
    with pytest.raises(AwsError) as caught:
        validate(params, input_shape(service, operation), query_style)
    error = caught.value
    assert error.status == 400 and error.sender_fault
    assert isinstance(error, ValidationError if query_style else ValidationException)
    return error.message


def test_valid_input_passes() -> None:
    validate({"StreamName": "clicks", "ShardCount": 2}, input_shape("kinesis", "CreateStream"))
    validate({"Records": [{"Data": b"x", "PartitionKey": "p"}], "StreamName": "s"},
             input_shape("kinesis", "PutRecords"))


def test_required_member() -> None:
    assert message("kinesis", "PutRecords", {"StreamName": "s"}) == (
        "1 validation error detected: Value null at 'records' failed to satisfy constraint: "
        "Member must not be null")


def test_required_members_inside_list_items() -> None:
    text = message("kinesis", "PutRecords", {"Records": [{"Data": b"x", "PartitionKey": "p"}, {"PartitionKey": "q"}]})
    assert text == ("1 validation error detected: Value null at 'records.2.member.data' failed to "
                    "satisfy constraint: Member must not be null")


def test_enum() -> None:
    text = message("kinesis", "CreateStream", {"StreamName": "s", "RecordDistributionStrategy": "RANDOM"})
    assert text == ("1 validation error detected: Value 'RANDOM' at 'recordDistributionStrategy' failed to "
                    "satisfy constraint: Member must satisfy enum value set: [AUTO, USER_PARTITION_KEY]")


def test_string_length_and_pattern_reported_together() -> None:
    text = message("kinesis", "CreateStream", {"StreamName": "bad name!" + "x" * 130})
    assert text.startswith("2 validation errors detected: ")
    assert ("at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128"
            in text)
    assert "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+" in text
    assert "; Value 'bad name!xxx" in text


def test_minimum_string_length() -> None:
    text = message("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "a"},
                   query_style=True)
    assert text == ("1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: "
                    "Member must have length greater than or equal to 2")


def test_numeric_range() -> None:
    text = message("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "ab",
                                         "DurationSeconds": 60}, query_style=True)
    assert text == ("1 validation error detected: Value '60' at 'durationSeconds' failed to satisfy constraint: "
                    "Member must have value greater than or equal to 900")
    text = message("kinesis", "CreateStream", {"StreamName": "s", "ShardCount": 0})
    assert text.endswith("Value '0' at 'shardCount' failed to satisfy constraint: "
                         "Member must have value greater than or equal to 1")


def test_list_and_blob_lengths() -> None:
    text = message("kinesis", "PutRecords", {"StreamName": "s", "Records": []})
    assert text == ("1 validation error detected: Value '[]' at 'records' failed to satisfy constraint: "
                    "Member must have length greater than or equal to 1")
    big = b"\0" * (10 * 1024 * 1024 + 1)
    text = message("kinesis", "PutRecord", {"StreamName": "s", "PartitionKey": "p", "Data": big})
    assert text == ("1 validation error detected: Value at 'data' failed to satisfy constraint: "
                    "Member must have length less than or equal to 10485760")


def test_sensitive_values_are_not_echoed() -> None:
    token = input_shape("sts", "AssumeRoleWithWebIdentity").members["WebIdentityToken"]
    assert token.metadata.get("sensitive")
    text = message("sts", "AssumeRoleWithWebIdentity", {"RoleArn": "arn:aws:iam::123456789012:role/r",
                                                        "RoleSessionName": "ab", "WebIdentityToken": "t"},
                   query_style=True)
    assert text == ("1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: "
                    "Member must have length greater than or equal to 4")


def test_every_error_is_listed() -> None:
    text = message("redshift-data", "ExecuteStatement", {"WorkgroupName": "x", "ResultFormat": "XML",
                                                         "WaitTimeSeconds": 99})
    assert text.startswith("5 validation errors detected: Value null at 'sql' failed to satisfy constraint: "
                           "Member must not be null; Value 'x' at 'workgroupName' failed to satisfy constraint: "
                           "Member must have length greater than or equal to 3; Value 'x' at 'workgroupName' "
                           "failed to satisfy constraint: Member must satisfy regular expression pattern: ")
    assert text.endswith("; Value 'XML' at 'resultFormat' failed to satisfy constraint: Member must satisfy enum "
                         "value set: [JSON, CSV]; Value '99' at 'waitTimeSeconds' failed to satisfy constraint: "
                         "Member must have value less than or equal to 30")
