"""Textract's error shapes, as the botocore model names them."""

from __future__ import annotations

from fogbank.errors import AwsError


class InvalidParameterException(AwsError):
    code = "InvalidParameterException"


class UnsupportedDocumentException(AwsError):
    code = "UnsupportedDocumentException"


class BadDocumentException(AwsError):
    code = "BadDocumentException"


class DocumentTooLargeException(AwsError):
    code = "DocumentTooLargeException"


class InvalidS3ObjectException(AwsError):
    code = "InvalidS3ObjectException"


class InvalidJobIdException(AwsError):
    code = "InvalidJobIdException"


class IdempotentParameterMismatchException(AwsError):
    code = "IdempotentParameterMismatchException"


class LimitExceededException(AwsError):
    code = "LimitExceededException"


class InternalServerError(AwsError):
    code = "InternalServerError"
    status = 500
    sender_fault = False


class ResourceNotFoundException(AwsError):
    code = "ResourceNotFoundException"


class ConflictException(AwsError):
    code = "ConflictException"


class ServiceQuotaExceededException(AwsError):
    code = "ServiceQuotaExceededException"
