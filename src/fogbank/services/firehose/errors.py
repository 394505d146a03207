"""Firehose's error shapes, named as in the botocore model; messages are worded at the raise site."""

from __future__ import annotations

from fogbank.errors import AwsError


class ResourceNotFoundException(AwsError):
    code = "ResourceNotFoundException"


class ResourceInUseException(AwsError):
    code = "ResourceInUseException"


class InvalidArgumentException(AwsError):
    code = "InvalidArgumentException"


class LimitExceededException(AwsError):
    code = "LimitExceededException"


class ConcurrentModificationException(AwsError):
    code = "ConcurrentModificationException"


class ServiceUnavailableException(AwsError):
    code = "ServiceUnavailableException"
    status = 503
    sender_fault = False


class InvalidSourceException(AwsError):
    code = "InvalidSourceException"


class InvalidKMSResourceException(AwsError):
    code = "InvalidKMSResourceException"
