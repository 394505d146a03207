"""Translate's error shapes, named as in the botocore model."""

from __future__ import annotations

from fogbank.errors import AwsError


class ConflictException(AwsError):
    code = "ConflictException"
    status = 409


class DetectedLanguageLowConfidenceException(AwsError):
    code = "DetectedLanguageLowConfidenceException"


class InternalServerException(AwsError):
    code = "InternalServerException"
    status = 500
    sender_fault = False


class InvalidParameterValueException(AwsError):
    code = "InvalidParameterValueException"


class InvalidRequestException(AwsError):
    code = "InvalidRequestException"


class LimitExceededException(AwsError):
    code = "LimitExceededException"


class ResourceNotFoundException(AwsError):
    code = "ResourceNotFoundException"
    status = 404


class ServiceUnavailableException(AwsError):
    code = "ServiceUnavailableException"
    status = 503
    sender_fault = False


class TextSizeLimitExceededException(AwsError):
    code = "TextSizeLimitExceededException"


class UnsupportedLanguagePairException(AwsError):
    code = "UnsupportedLanguagePairException"
