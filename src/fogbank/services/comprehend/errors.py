"""Comprehend's error shapes, as the botocore model names them."""

from __future__ import annotations

from fogbank.errors import AwsError


class InvalidRequestException(AwsError):
    code = "InvalidRequestException"


class TextSizeLimitExceededException(AwsError):
    code = "TextSizeLimitExceededException"


class UnsupportedLanguageException(AwsError):
    code = "UnsupportedLanguageException"


class BatchSizeLimitExceededException(AwsError):
    code = "BatchSizeLimitExceededException"


class ResourceNotFoundException(AwsError):
    code = "ResourceNotFoundException"


class ResourceInUseException(AwsError):
    code = "ResourceInUseException"


class ResourceUnavailableException(AwsError):
    code = "ResourceUnavailableException"


class ResourceLimitExceededException(AwsError):
    code = "ResourceLimitExceededException"


class JobNotFoundException(AwsError):
    code = "JobNotFoundException"


class InvalidFilterException(AwsError):
    code = "InvalidFilterException"


class TooManyTagsException(AwsError):
    code = "TooManyTagsException"


class TooManyTagKeysException(AwsError):
    code = "TooManyTagKeysException"


class ConcurrentModificationException(AwsError):
    code = "ConcurrentModificationException"


class InternalServerException(AwsError):
    code = "InternalServerException"
    status = 500
    sender_fault = False
