"""Transcribe's error shapes, named as in the botocore model."""

from __future__ import annotations

from fogbank.errors import AwsError


class BadRequestException(AwsError):
    code = "BadRequestException"


class ConflictException(AwsError):
    code = "ConflictException"


class InternalFailureException(AwsError):
    code = "InternalFailureException"
    status = 500
    sender_fault = False


class LimitExceededException(AwsError):
    code = "LimitExceededException"


class NotFoundException(AwsError):
    code = "NotFoundException"
