"""What a provisioned cluster is: the rules Redshift applies to its settings, and the Cluster record.

A fogbank cluster has no nodes to provision: it is "available" as soon as it is created, and its data lives
in the warehouse the Data API opens for it. The record keeps the members DescribeClusters returns; members
whose name starts with "_" are fogbank's own (the id the warehouse is keyed by) and never leave the server.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from fogbank.services.redshift.errors import InvalidParameterCombination, InvalidParameterValue

DEFAULT_DB = "dev"
DEFAULT_PORT = 5439
ENGINE_VERSION = "1.0"

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+.@-]*$")
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_$]*$")
_RESERVED_USERS = {"aes128", "aes256", "all", "allowoverwrite", "analyse", "analyze", "and", "any", "array",
                   "as", "asc", "authorization", "backup", "between", "binary", "both", "case", "cast", "check",
                   "column", "constraint", "create", "credentials", "cross", "current_date", "current_time",
                   "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do",
                   "else", "end", "except", "false", "for", "foreign", "from", "full", "grant", "group",
                   "having", "in", "initially", "inner", "intersect", "into", "is", "join", "leading", "left",
                   "like", "limit", "localtime", "localtimestamp", "natural", "new", "not", "null", "off",
                   "offset", "old", "on", "only", "or", "order", "outer", "primary", "public", "references",
                   "right", "select", "session_user", "similar", "some", "table", "then", "to", "trailing",
                   "true", "union", "unique", "user", "using", "verbose", "when", "where", "with", "rdsdb"}

# Members CreateCluster/ModifyCluster copy into the record as given.
_COPIED = ("NodeType", "MasterUsername", "ClusterSubnetGroupName", "PreferredMaintenanceWindow",
           "AllowVersionUpgrade", "PubliclyAccessible", "Encrypted", "KmsKeyId", "EnhancedVpcRouting",
           "MaintenanceTrackName", "SnapshotScheduleIdentifier", "DefaultIamRoleArn", "IpAddressType",
           "AutomatedSnapshotRetentionPeriod", "ManualSnapshotRetentionPeriod", "ElasticIp",
           "ExtraComputeForAutomaticOptimization")


def check_identifier(identifier: str, what: str = "Cluster identifier") -> str:
    """Redshift keeps cluster identifiers in lower case and holds them to DNS-label rules."""
    lowered = identifier.lower()
    if not 1 <= len(lowered) <= 63 or not _IDENTIFIER.match(lowered):
        raise InvalidParameterValue(
            f"{what} is invalid. Must contain from 1 to 63 alphanumeric characters or hyphens, the first "
            "character must be a letter, and it cannot end with a hyphen or contain two consecutive hyphens.")
    return lowered


def check_password(password: str) -> None:
    if not 8 <= len(password) <= 64:
        raise InvalidParameterValue("The password must be between 8 and 64 characters in length.")
    if not re.search(r"[A-Z]", password):
        raise InvalidParameterValue("Password must contain at least one uppercase letter.")
    if not re.search(r"[a-z]", password):
        raise InvalidParameterValue("Password must contain at least one lowercase letter.")
    if not re.search(r"[0-9]", password):
        raise InvalidParameterValue("Password must contain a number.")
    if any(c in password for c in "'\"\\/@ ") or any(ord(c) < 33 or ord(c) > 126 for c in password):
        raise InvalidParameterValue("The password contains characters that are not allowed: it must consist "
                                    "of printable ASCII characters other than ', \", \\, /, @ or space.")


def check_username(name: str) -> None:
    if not 1 <= len(name) <= 128 or not _USERNAME.match(name):
        raise InvalidParameterValue(
            "MasterUsername must start with a letter and contain only alphanumeric characters or _+.@-, "
            "and be 1 to 128 characters long.")
    if name.lower() in _RESERVED_USERS:
        raise InvalidParameterValue(f"MasterUsername {name} cannot be a reserved word.")


def check_db_name(name: str) -> str:
    if not 1 <= len(name) <= 64 or not _DB_NAME.match(name) or name in ("template0", "template1", "padb_harvest"):
        raise InvalidParameterValue(
            "DBName must contain 1 to 64 lowercase alphanumeric characters, underscores or dollar signs, must "
            "begin with a letter or underscore, and cannot be a reserved word.")
    return name


def node_count(req: dict[str, Any], current: int | None = None) -> int:
    """The node count a request asks for, checked against its ClusterType."""
    cluster_type = req.get("ClusterType")
    nodes = req.get("NumberOfNodes")
    if cluster_type is not None and cluster_type not in ("single-node", "multi-node"):
        raise InvalidParameterValue(f"Invalid cluster type: {cluster_type}. Valid values are single-node and "
                                    "multi-node.")
    if cluster_type == "multi-node":
        if nodes is None or nodes < 2:
            raise InvalidParameterCombination("Number of nodes for cluster type multi-node must be greater than "
                                              "or equal to 2")
        return int(nodes)
    if cluster_type == "single-node":
        if nodes is not None and nodes != 1:
            raise InvalidParameterCombination("Number of nodes for cluster type single-node must be 1")
        return 1
    if nodes is not None:
        if nodes < 1 or nodes > 128:
            raise InvalidParameterValue("NumberOfNodes must be between 1 and 128.")
        return int(nodes)
    return current or 1


def arn(account: str, region: str, identifier: str) -> str:
    return f"arn:aws:redshift:{region}:{account}:cluster:{identifier}"


def new_cluster(account: str, region: str, identifier: str, req: dict[str, Any]) -> dict[str, Any]:
    """The stored record of a cluster CreateCluster makes."""
    internal_id = str(uuid.uuid4())
    nodes = node_count(req)
    port = int(req.get("Port") or DEFAULT_PORT)
    if not 1115 <= port <= 65535:
        raise InvalidParameterValue("The port number must be between 1115 and 65535.")
    record: dict[str, Any] = {
        "_id": internal_id,
        "ClusterIdentifier": identifier,
        "ClusterStatus": "available",
        "ClusterAvailabilityStatus": "Available",
        "ModifyStatus": "",
        "DBName": check_db_name(req.get("DBName") or DEFAULT_DB),
        "Endpoint": {"Address": "localhost", "Port": port},
        "ClusterCreateTime": time.time(),
        "AutomatedSnapshotRetentionPeriod": 1,
        "ManualSnapshotRetentionPeriod": -1,
        "ClusterSecurityGroups": [{"ClusterSecurityGroupName": g, "Status": "active"}
                                  for g in req.get("ClusterSecurityGroups") or []],
        "VpcSecurityGroups": [{"VpcSecurityGroupId": g, "Status": "active"}
                              for g in req.get("VpcSecurityGroupIds") or []],
        "ClusterParameterGroups": [{"ParameterGroupName": req.get("ClusterParameterGroupName")
                                    or "default.redshift-1.0", "ParameterApplyStatus": "in-sync"}],
        "ClusterSubnetGroupName": "default",
        "VpcId": "vpc-00000000",
        "AvailabilityZone": req.get("AvailabilityZone") or f"{region}a",
        "PreferredMaintenanceWindow": "sat:10:00-sat:10:30",
        "PendingModifiedValues": {},
        "ClusterVersion": req.get("ClusterVersion") or ENGINE_VERSION,
        "AllowVersionUpgrade": True,
        "NumberOfNodes": nodes,
        "PubliclyAccessible": False,
        "Encrypted": False,
        "ClusterNodes": [{"NodeRole": "SHARED" if nodes == 1 else ("LEADER" if i == 0 else f"COMPUTE-{i - 1}"),
                          "PrivateIPAddress": "127.0.0.1", "PublicIPAddress": "127.0.0.1"}
                         for i in range(1 if nodes == 1 else nodes + 1)],
        "ClusterRevisionNumber": "1",
        "Tags": list(req.get("Tags") or []),
        "EnhancedVpcRouting": False,
        "IamRoles": [{"IamRoleArn": r, "ApplyStatus": "in-sync"} for r in req.get("IamRoles") or []],
        "PendingActions": [],
        "MaintenanceTrackName": "current",
        "DeferredMaintenanceWindows": [],
        "ClusterNamespaceArn": f"arn:aws:redshift:{region}:{account}:namespace:{internal_id}",
        "TotalStorageCapacityInMegaBytes": 400000 * nodes,
        "AquaConfiguration": {"AquaStatus": "disabled", "AquaConfigurationStatus": "auto"},
        "MultiAZ": "Enabled" if req.get("MultiAZ") else "Disabled",
    }
    for member in _COPIED:
        if req.get(member) is not None:
            record[member] = req[member]
    if req.get("ManageMasterPassword"):
        record["MasterPasswordSecretArn"] = (f"arn:aws:secretsmanager:{region}:{account}:secret:redshift!"
                                             f"{identifier}-{req['MasterUsername']}-{internal_id[:6]}")
        if req.get("MasterPasswordSecretKmsKeyId"):
            record["MasterPasswordSecretKmsKeyId"] = req["MasterPasswordSecretKmsKeyId"]
    return record


def apply_modify(record: dict[str, Any], req: dict[str, Any]) -> None:
    """ModifyCluster's changes; fogbank applies them at once, so nothing is left pending."""
    if req.get("ClusterType") is not None or req.get("NumberOfNodes") is not None:
        nodes = node_count(req, record.get("NumberOfNodes"))
        record["NumberOfNodes"] = nodes
        record["TotalStorageCapacityInMegaBytes"] = 400000 * nodes
    for member in _COPIED:
        if member != "MasterUsername" and req.get(member) is not None:
            record[member] = req[member]
    if req.get("VpcSecurityGroupIds") is not None:
        record["VpcSecurityGroups"] = [{"VpcSecurityGroupId": g, "Status": "active"}
                                       for g in req["VpcSecurityGroupIds"]]
    if req.get("ClusterParameterGroupName"):
        record["ClusterParameterGroups"] = [{"ParameterGroupName": req["ClusterParameterGroupName"],
                                             "ParameterApplyStatus": "in-sync"}]
    if req.get("Port") is not None:
        record["Endpoint"]["Port"] = int(req["Port"])
    if req.get("ClusterVersion"):
        record["ClusterVersion"] = req["ClusterVersion"]
    if req.get("MultiAZ") is not None:
        record["MultiAZ"] = "Enabled" if req["MultiAZ"] else "Disabled"
    record["ClusterRevisionNumber"] = str(int(record.get("ClusterRevisionNumber", "1")) + 1)


def public(record: dict[str, Any]) -> dict[str, Any]:
    """The record as the API returns it: without fogbank's own members."""
    return {k: v for k, v in record.items() if not k.startswith("_")}
