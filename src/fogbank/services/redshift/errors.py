"""Redshift's error shapes (query protocol), with the codes the botocore model gives them."""

from __future__ import annotations

from fogbank.errors import AwsError


class ClusterNotFoundFault(AwsError):
    code = "ClusterNotFound"
    status = 404


class ClusterAlreadyExistsFault(AwsError):
    code = "ClusterAlreadyExists"


class InvalidClusterStateFault(AwsError):
    code = "InvalidClusterState"


class InvalidTagFault(AwsError):
    code = "InvalidTagFault"


class TagLimitExceededFault(AwsError):
    code = "TagLimitExceededFault"


class ResourceNotFoundFault(AwsError):
    code = "ResourceNotFoundFault"
    status = 404


class UnsupportedOperationFault(AwsError):
    code = "UnsupportedOperation"


class InvalidParameterValue(AwsError):
    """AWS's common query-protocol error for a value a rule rejects (not in the service model)."""

    code = "InvalidParameterValue"


class InvalidParameterCombination(AwsError):
    code = "InvalidParameterCombination"
