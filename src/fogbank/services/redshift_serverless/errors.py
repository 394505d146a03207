"""Redshift Serverless's error shapes, named as in the botocore model."""

from __future__ import annotations

from fogbank.errors import AwsError


class ResourceNotFoundException(AwsError):
    code = "ResourceNotFoundException"


class ConflictException(AwsError):
    code = "ConflictException"


class ValidationException(AwsError):
    code = "ValidationException"


class TooManyTagsException(AwsError):
    code = "TooManyTagsException"
