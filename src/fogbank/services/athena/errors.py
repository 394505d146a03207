"""Athena's error shapes, named as in the botocore model."""

from __future__ import annotations

from fogbank.errors import AwsError


class InvalidRequestException(AwsError):
    code = "InvalidRequestException"

    def __init__(self, message: str, athena_code: str | None = None) -> None:
        if athena_code:
            super().__init__(message, AthenaErrorCode=athena_code)
        else:
            super().__init__(message)


class ResourceNotFoundException(AwsError):
    code = "ResourceNotFoundException"

    def __init__(self, message: str, resource_name: str | None = None) -> None:
        if resource_name:
            super().__init__(message, ResourceName=resource_name)
        else:
            super().__init__(message)


class MetadataException(AwsError):
    code = "MetadataException"


class InternalServerException(AwsError):
    code = "InternalServerException"
    status = 500
    sender_fault = False


class TooManyRequestsException(AwsError):
    code = "TooManyRequestsException"


class QueryFailed(Exception):
    """Why a query ended FAILED, in Athena's words (`TABLE_NOT_FOUND: line 1:15: ...`).

    `category` and `error_type` fill the AthenaError member: category 1 is a system error, 2 a user
    error, 3 other.
    """

    def __init__(self, reason: str, category: int = 2, error_type: int = 1006, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.category = category
        self.error_type = error_type
        self.retryable = retryable
