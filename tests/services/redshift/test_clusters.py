"""Redshift provisioned clusters over the query protocol: lifecycle, waiters, validation, tags, credentials."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.support import FogbankServer

_names = itertools.count()


@pytest.fixture
def redshift(fogbank: FogbankServer) -> Any:
    return fogbank.client("redshift")


@pytest.fixture
def name(redshift: Any) -> Iterator[str]:
    identifier = f"cl-{next(_names)}-{int(time.time() * 1000) % 1_000_000}"
    yield identifier
    with contextlib.suppress(ClientError):
        redshift.delete_cluster(ClusterIdentifier=identifier, SkipFinalClusterSnapshot=True)


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_create_describe_and_wait(redshift: Any, name: str) -> None:
    created = redshift.create_cluster(ClusterIdentifier=name.upper(), NodeType="ra3.xlplus", MasterUsername="admin",
                                      MasterUserPassword="Passw0rd", ClusterType="multi-node", NumberOfNodes=2,
                                      DBName="warehouse", Tags=[{"Key": "team", "Value": "data"}])["Cluster"]
    assert created["ClusterIdentifier"] == name
    assert created["ClusterStatus"] == "available"
    assert (created["NodeType"], created["NumberOfNodes"], created["DBName"]) == ("ra3.xlplus", 2, "warehouse")
    assert created["Endpoint"]["Port"] == 5439
    assert created["MasterUsername"] == "admin"
    assert created["Tags"] == [{"Key": "team", "Value": "data"}]
    redshift.get_waiter("cluster_available").wait(ClusterIdentifier=name, WaiterConfig={"Delay": 1,
                                                                                        "MaxAttempts": 2})
    described = redshift.describe_clusters(ClusterIdentifier=name)["Clusters"]
    assert [c["ClusterIdentifier"] for c in described] == [name]
    assert described[0]["ClusterCreateTime"] == created["ClusterCreateTime"]
    tagged = redshift.describe_clusters(TagKeys=["team"])["Clusters"]
    assert name in [c["ClusterIdentifier"] for c in tagged]
    with pytest.raises(ClientError) as raised:
        redshift.create_cluster(ClusterIdentifier=name, NodeType="dc2.large", MasterUsername="admin",
                                MasterUserPassword="Passw0rd")
    assert _code(raised) == "ClusterAlreadyExists"


def test_validation(redshift: Any, name: str) -> None:
    cases = [
        ({"ClusterIdentifier": "1bad"}, "InvalidParameterValue"),
        ({"ClusterIdentifier": "bad--name"}, "InvalidParameterValue"),
        ({"MasterUserPassword": "short1A"}, "InvalidParameterValue"),
        ({"MasterUserPassword": "nouppercase1"}, "InvalidParameterValue"),
        ({"MasterUsername": "select"}, "InvalidParameterValue"),
        ({"ClusterType": "multi-node", "NumberOfNodes": 1}, "InvalidParameterCombination"),
    ]
    for change, code in cases:
        args = {"ClusterIdentifier": name, "NodeType": "dc2.large", "MasterUsername": "admin",
                "MasterUserPassword": "Passw0rd", **change}
        with pytest.raises(ClientError) as raised:
            redshift.create_cluster(**args)
        assert _code(raised) == code, change
    with pytest.raises(ClientError) as raised:
        redshift.describe_clusters(ClusterIdentifier="never-made")
    assert _code(raised) == "ClusterNotFound"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_modify_pause_resume_delete(redshift: Any, name: str) -> None:
    redshift.create_cluster(ClusterIdentifier=name, NodeType="dc2.large", MasterUsername="admin",
                            MasterUserPassword="Passw0rd")
    modified = redshift.modify_cluster(ClusterIdentifier=name, NumberOfNodes=4, ClusterType="multi-node",
                                       PreferredMaintenanceWindow="sun:05:00-sun:05:30")["Cluster"]
    assert (modified["NumberOfNodes"], modified["PreferredMaintenanceWindow"]) == (4, "sun:05:00-sun:05:30")
    assert redshift.pause_cluster(ClusterIdentifier=name)["Cluster"]["ClusterStatus"] == "paused"
    with pytest.raises(ClientError) as raised:
        redshift.pause_cluster(ClusterIdentifier=name)
    assert _code(raised) == "InvalidClusterState"
    assert redshift.resume_cluster(ClusterIdentifier=name)["Cluster"]["ClusterStatus"] == "available"
    renamed = f"{name}-new"
    redshift.modify_cluster(ClusterIdentifier=name, NewClusterIdentifier=renamed)
    assert redshift.describe_clusters(ClusterIdentifier=renamed)["Clusters"][0]["NumberOfNodes"] == 4
    with pytest.raises(ClientError) as raised:
        redshift.delete_cluster(ClusterIdentifier=renamed)
    assert _code(raised) == "InvalidParameterCombination"
    deleted = redshift.delete_cluster(ClusterIdentifier=renamed, SkipFinalClusterSnapshot=True)["Cluster"]
    assert deleted["ClusterStatus"] == "deleting"
    redshift.get_waiter("cluster_deleted").wait(ClusterIdentifier=renamed, WaiterConfig={"Delay": 1,
                                                                                         "MaxAttempts": 2})
    with pytest.raises(ClientError) as raised:
        redshift.describe_clusters(ClusterIdentifier=renamed)
    assert _code(raised) == "ClusterNotFound"


def test_tags_and_credentials(redshift: Any, name: str) -> None:
    cluster = redshift.create_cluster(ClusterIdentifier=name, NodeType="dc2.large", MasterUsername="admin",
                                      MasterUserPassword="Passw0rd")["Cluster"]
    arn = f"arn:aws:redshift:us-east-1:000000000000:cluster:{name}"
    assert cluster["ClusterNamespaceArn"].startswith("arn:aws:redshift:us-east-1:000000000000:namespace:")
    redshift.create_tags(ResourceName=arn, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "owner", "Value": "me"}])
    redshift.delete_tags(ResourceName=arn, TagKeys=["owner"])
    tagged = redshift.describe_tags(ResourceName=arn)["TaggedResources"]
    assert tagged == [{"Tag": {"Key": "env", "Value": "dev"}, "ResourceName": arn, "ResourceType": "cluster"}]
    credentials = redshift.get_cluster_credentials(ClusterIdentifier=name, DbUser="analyst", DbName="dev",
                                                   DurationSeconds=900)
    assert credentials["DbUser"] == "IAM:analyst"
    assert len(credentials["DbPassword"]) >= 32
    with pytest.raises(ClientError) as raised:
        redshift.get_cluster_credentials(ClusterIdentifier="never-made", DbUser="x")
    assert _code(raised) == "ClusterNotFound"


def test_describe_pages_with_markers(redshift: Any) -> None:
    prefix = f"pg-{int(time.time() * 1000) % 1_000_000}"
    names = [f"{prefix}-{i:02d}" for i in range(23)]
    try:
        for identifier in names:
            redshift.create_cluster(ClusterIdentifier=identifier, NodeType="dc2.large", MasterUsername="admin",
                                    MasterUserPassword="Passw0rd", Tags=[{"Key": prefix, "Value": "1"}])
        seen: list[str] = []
        for page in redshift.get_paginator("describe_clusters").paginate(TagKeys=[prefix],
                                                                         PaginationConfig={"PageSize": 20}):
            seen.extend(c["ClusterIdentifier"] for c in page["Clusters"])
        assert seen == names
    finally:
        for identifier in names:
            with contextlib.suppress(ClientError):
                redshift.delete_cluster(ClusterIdentifier=identifier, SkipFinalClusterSnapshot=True)
