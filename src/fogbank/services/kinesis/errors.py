"""Kinesis's error shapes, named as in the botocore model; messages are worded at the raise site as AWS words them."""

from __future__ import annotations

from fogbank.errors import AwsError


class ResourceNotFoundException(AwsError):
    code = "ResourceNotFoundException"


class ResourceInUseException(AwsError):
    code = "ResourceInUseException"


class InvalidArgumentException(AwsError):
    code = "InvalidArgumentException"


class ExpiredIteratorException(AwsError):
    code = "ExpiredIteratorException"


class ExpiredNextTokenException(AwsError):
    code = "ExpiredNextTokenException"


class ProvisionedThroughputExceededException(AwsError):
    code = "ProvisionedThroughputExceededException"


class LimitExceededException(AwsError):
    code = "LimitExceededException"


class ValidationException(AwsError):
    code = "ValidationException"


class AccessDeniedException(AwsError):
    code = "AccessDeniedException"


class InternalFailureException(AwsError):
    code = "InternalFailureException"
    status = 500
    sender_fault = False


class DryRunOperationException(AwsError):
    code = "DryRunOperationException"
