"""S3's error codes, with the status codes and messages S3 itself answers with.

Each class carries S3's usual message as its default, so a raise site only passes the extra members S3
includes in the error document (BucketName, Key, ArgumentName, ...).
"""

from __future__ import annotations

from typing import Any, ClassVar

from fogbank.errors import AccessDenied, AwsError

__all__ = ["AccessDenied"]


class S3Error(AwsError):
    """An S3 error with a default message."""

    default_message: ClassVar[str] = ""

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        super().__init__(self.default_message if message is None else message, **fields)


def _error(code: str, status: int, message: str) -> type[S3Error]:
    return type(code, (S3Error,), {"code": code, "status": status, "default_message": message,
                                   "__doc__": f"S3 {code} ({status})."})


NoSuchBucket = _error("NoSuchBucket", 404, "The specified bucket does not exist")
NoSuchKey = _error("NoSuchKey", 404, "The specified key does not exist.")
NoSuchVersion = _error("NoSuchVersion", 404, "The specified version does not exist.")
NoSuchUpload = _error(
    "NoSuchUpload", 404,
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
    "aborted or completed.")
BucketAlreadyExists = _error(
    "BucketAlreadyExists", 409,
    "The requested bucket name is not available. The bucket namespace is shared by all users of the "
    "system. Please select a different name and try again.")
BucketAlreadyOwnedByYou = _error(
    "BucketAlreadyOwnedByYou", 409,
    "Your previous request to create the named bucket succeeded and you already own it.")
BucketNotEmpty = _error("BucketNotEmpty", 409, "The bucket you tried to delete is not empty")
InvalidBucketName = _error("InvalidBucketName", 400, "The specified bucket is not valid.")
InvalidBucketState = _error("InvalidBucketState", 409, "The request is not valid with the current state of the bucket.")
IllegalLocationConstraintException = _error(
    "IllegalLocationConstraintException", 400,
    "The unspecified location constraint is incompatible for the region specific endpoint this request "
    "was sent to.")
InvalidLocationConstraint = _error("InvalidLocationConstraint", 400, "The specified location-constraint is not valid")
InvalidPart = _error(
    "InvalidPart", 400,
    "One or more of the specified parts could not be found.  The part may not have been uploaded, or the "
    "specified entity tag may not match the part's entity tag.")
InvalidPartOrder = _error(
    "InvalidPartOrder", 400,
    "The list of parts was not in ascending order. Parts must be ordered by part number.")
InvalidPartNumber = _error("InvalidPartNumber", 416, "The requested partnumber is not satisfiable")
EntityTooSmall = _error("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size.")
EntityTooLarge = _error("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size")
PreconditionFailed = _error("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold")
NotModified = _error("NotModified", 304, "Not Modified")
InvalidRange = _error("InvalidRange", 416, "The requested range is not satisfiable")
BadDigest = _error("BadDigest", 400, "The Content-MD5 you specified did not match what we received.")
InvalidDigest = _error("InvalidDigest", 400, "The Content-MD5 you specified is not valid.")
IncompleteBody = _error(
    "IncompleteBody", 400,
    "You did not provide the number of bytes specified by the Content-Length HTTP header")
KeyTooLongError = _error("KeyTooLongError", 400, "Your key is too long")
MetadataTooLarge = _error("MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size.")
MethodNotAllowed = _error("MethodNotAllowed", 405, "The specified method is not allowed against this resource.")
MalformedXML = _error(
    "MalformedXML", 400,
    "The XML you provided was not well-formed or did not validate against our published schema")
MalformedPolicy = _error("MalformedPolicy", 400, "Policies must be valid JSON and the first byte must be '{'")
InvalidArgument = _error("InvalidArgument", 400, "Invalid Argument")
InvalidRequest = _error("InvalidRequest", 400, "Invalid Request")
InvalidTag = _error("InvalidTag", 400, "The TagValue you have provided is invalid")
BadRequest = _error("BadRequest", 400, "Bad Request")
InvalidStorageClass = _error("InvalidStorageClass", 400, "The storage class you specified is not valid")
InvalidObjectState = _error("InvalidObjectState", 403, "The operation is not valid for the object's storage class")
AccessForbidden = _error("AccessForbidden", 403, "CORSResponse: This CORS request is not allowed.")
InvalidBucketAclWithObjectOwnership = _error(
    "InvalidBucketAclWithObjectOwnership", 400,
    "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
AccessControlListNotSupported = _error("AccessControlListNotSupported", 400, "The bucket does not allow ACLs")
IllegalVersioningConfigurationException = _error(
    "IllegalVersioningConfigurationException", 400,
    "The Versioning element must be specified")
NotImplementedFeature = _error("NotImplemented", 501,
                               "A header you provided implies functionality that is not implemented")

NoSuchTagSet = _error("NoSuchTagSet", 404, "The TagSet does not exist")
NoSuchCORSConfiguration = _error("NoSuchCORSConfiguration", 404, "The CORS configuration does not exist")
NoSuchBucketPolicy = _error("NoSuchBucketPolicy", 404, "The bucket policy does not exist")
NoSuchLifecycleConfiguration = _error(
    "NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist")
NoSuchWebsiteConfiguration = _error(
    "NoSuchWebsiteConfiguration", 404, "The specified bucket does not have a website configuration")
NoSuchPublicAccessBlockConfiguration = _error(
    "NoSuchPublicAccessBlockConfiguration", 404, "The public access block configuration was not found")
ServerSideEncryptionConfigurationNotFoundError = _error(
    "ServerSideEncryptionConfigurationNotFoundError", 404, "The server side encryption configuration was not found")
OwnershipControlsNotFoundError = _error(
    "OwnershipControlsNotFoundError", 404, "The bucket ownership controls were not found")
ObjectLockConfigurationNotFoundError = _error(
    "ObjectLockConfigurationNotFoundError", 404, "Object Lock configuration does not exist for this bucket")
ReplicationConfigurationNotFoundError = _error(
    "ReplicationConfigurationNotFoundError", 404, "The replication configuration was not found")
NoSuchConfiguration = _error("NoSuchConfiguration", 404, "The specified configuration does not exist.")
