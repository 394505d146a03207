"""The AwsError tree: every error a client sees is one of these, serialized in the request's protocol."""

from __future__ import annotations

from typing import Any, ClassVar


class AwsError(Exception):
    """An error with an AWS error code; subclasses are named after the botocore error shapes."""

    code: ClassVar[str] = "InternalFailure"
    status: ClassVar[int] = 400
    sender_fault: ClassVar[bool] = True

    def __init__(self, message: str = "", **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        # Extra members of the error shape (S3's BucketName, Key, ...), serialized beside Code and Message.
        self.fields = fields

    @property
    def error_code(self) -> str:
        return self.code


class ServiceError(AwsError):
    """An error whose code and status are chosen at the raise site (for one-off codes)."""

    def __init__(self, code: str, message: str, status: int = 400, sender_fault: bool = True, **fields: Any):
        super().__init__(message, **fields)
        self._code = code
        self._status = status
        self._sender = sender_fault

    @property
    def error_code(self) -> str:
        return self._code

    @property
    def http_status(self) -> int:
        return self._status


def error_status(error: AwsError) -> int:
    return error.http_status if isinstance(error, ServiceError) else error.status


def is_sender_fault(error: AwsError) -> bool:
    return error._sender if isinstance(error, ServiceError) else error.sender_fault


class InternalFailure(AwsError):
    code = "InternalFailure"
    status = 500
    sender_fault = False


class ValidationException(AwsError):
    code = "ValidationException"


class SerializationException(AwsError):
    code = "SerializationException"


class UnknownOperationException(AwsError):
    code = "UnknownOperationException"


class NotImplementedOperation(AwsError):
    code = "NotImplemented"
    status = 501
    sender_fault = False


class AccessDenied(AwsError):
    code = "AccessDenied"
    status = 403


class MissingAuthenticationToken(AwsError):
    code = "MissingAuthenticationTokenException"
    status = 403


class UnrecognizedClientException(AwsError):
    code = "UnrecognizedClientException"
    status = 403


class InvalidSignatureException(AwsError):
    code = "InvalidSignatureException"
    status = 403
