"""Glue's error shapes, named as in the botocore model; messages are worded at the raise site as AWS words them."""

from __future__ import annotations

from fogbank.errors import AwsError


class EntityNotFoundException(AwsError):
    code = "EntityNotFoundException"


class AlreadyExistsException(AwsError):
    code = "AlreadyExistsException"


class InvalidInputException(AwsError):
    code = "InvalidInputException"


class ResourceNumberLimitExceededException(AwsError):
    code = "ResourceNumberLimitExceededException"


class ConcurrentModificationException(AwsError):
    code = "ConcurrentModificationException"


class InternalServiceException(AwsError):
    code = "InternalServiceException"
    status = 500
    sender_fault = False


class CrawlerRunningException(AwsError):
    code = "CrawlerRunningException"


class CrawlerNotRunningException(AwsError):
    code = "CrawlerNotRunningException"


class CrawlerStoppingException(AwsError):
    code = "CrawlerStoppingException"


class SchedulerRunningException(AwsError):
    code = "SchedulerRunningException"


class SchedulerNotRunningException(AwsError):
    code = "SchedulerNotRunningException"


class SchedulerTransitioningException(AwsError):
    code = "SchedulerTransitioningException"


class NoScheduleException(AwsError):
    code = "NoScheduleException"


class VersionMismatchException(AwsError):
    code = "VersionMismatchException"


def error_detail(error: AwsError) -> dict[str, str]:
    """The ErrorDetail member batch operations report per failed item."""
    return {"ErrorCode": error.error_code, "ErrorMessage": error.message}


class AccessDeniedException(AwsError):
    code = "AccessDeniedException"
