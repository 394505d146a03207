"""The Redshift Data API's error shapes, named as in the botocore model."""

from __future__ import annotations

from fogbank.errors import AwsError


class ValidationException(AwsError):
    code = "ValidationException"


class ResourceNotFoundException(AwsError):
    code = "ResourceNotFoundException"


class ActiveStatementsExceededException(AwsError):
    code = "ActiveStatementsExceededException"


class ActiveSessionsExceededException(AwsError):
    code = "ActiveSessionsExceededException"


class InternalServerException(AwsError):
    code = "InternalServerException"
    status = 500
    sender_fault = False


class DatabaseConnectionException(AwsError):
    code = "DatabaseConnectionException"
    status = 500
    sender_fault = False
