"""Polly's error shapes, named as in the botocore model."""

from __future__ import annotations

from fogbank.errors import AwsError


class EngineNotSupportedException(AwsError):
    code = "EngineNotSupportedException"


class InvalidLexiconException(AwsError):
    code = "InvalidLexiconException"


class InvalidNextTokenException(AwsError):
    code = "InvalidNextTokenException"


class InvalidS3BucketException(AwsError):
    code = "InvalidS3BucketException"


class InvalidS3KeyException(AwsError):
    code = "InvalidS3KeyException"


class InvalidSampleRateException(AwsError):
    code = "InvalidSampleRateException"


class InvalidSsmlException(AwsError):
    code = "InvalidSsmlException"


class InvalidTaskIdException(AwsError):
    code = "InvalidTaskIdException"


class LanguageNotSupportedException(AwsError):
    code = "LanguageNotSupportedException"


class LexiconNotFoundException(AwsError):
    code = "LexiconNotFoundException"
    status = 404


class LexiconSizeExceededException(AwsError):
    code = "LexiconSizeExceededException"


class MarksNotSupportedForFormatException(AwsError):
    code = "MarksNotSupportedForFormatException"


class MaxLexemeLengthExceededException(AwsError):
    code = "MaxLexemeLengthExceededException"


class MaxLexiconsNumberExceededException(AwsError):
    code = "MaxLexiconsNumberExceededException"


class ServiceFailureException(AwsError):
    code = "ServiceFailureException"
    status = 500
    sender_fault = False


class SsmlMarksNotSupportedForTextTypeException(AwsError):
    code = "SsmlMarksNotSupportedForTextTypeException"


class SynthesisTaskNotFoundException(AwsError):
    code = "SynthesisTaskNotFoundException"


class TextLengthExceededException(AwsError):
    code = "TextLengthExceededException"


class UnsupportedPlsAlphabetException(AwsError):
    code = "UnsupportedPlsAlphabetException"


class UnsupportedPlsLanguageException(AwsError):
    code = "UnsupportedPlsLanguageException"


class ValidationException(AwsError):
    code = "ValidationException"
