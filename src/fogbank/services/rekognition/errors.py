"""Rekognition's error shapes, as the botocore model names them."""

from __future__ import annotations

from fogbank.errors import AwsError


class InvalidParameterException(AwsError):
    code = "InvalidParameterException"


class InvalidImageFormatException(AwsError):
    code = "InvalidImageFormatException"


class ImageTooLargeException(AwsError):
    code = "ImageTooLargeException"


class InvalidS3ObjectException(AwsError):
    code = "InvalidS3ObjectException"


class ResourceNotFoundException(AwsError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExistsException(AwsError):
    code = "ResourceAlreadyExistsException"


class InvalidPaginationTokenException(AwsError):
    code = "InvalidPaginationTokenException"


class InternalServerError(AwsError):
    code = "InternalServerError"
    status = 500
    sender_fault = False


class UnsupportedOperation(AwsError):
    """An operation fogbank answers but cannot perform offline (celebrity recognition has no offline model)."""

    code = "NotImplemented"
    status = 501
    sender_fault = False
