"""Redshift Serverless namespaces and workgroups, and the Data API reaching a namespace's data through them."""

from __future__ import annotations

import contextlib
import itertools
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.services.redshift_data.conftest import Sql
from tests.support import FogbankServer

_names = itertools.count()


def _name(prefix: str) -> str:
    return f"{prefix}-{next(_names)}-{int(time.time() * 1000) % 1_000_000}"


@pytest.fixture
def serverless(fogbank: FogbankServer) -> Any:
    return fogbank.client("redshift-serverless")


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_namespace_and_workgroup_lifecycle(serverless: Any) -> None:
    namespace = _name("ns")
    workgroup = _name("wg")
    created = serverless.create_namespace(namespaceName=namespace, adminUsername="root", dbName="lake",
                                          tags=[{"key": "k", "value": "v"}])["namespace"]
    assert (created["namespaceName"], created["status"], created["dbName"]) == (namespace, "AVAILABLE", "lake")
    assert created["namespaceArn"].endswith(f":namespace/{created['namespaceId']}")
    assert serverless.get_namespace(namespaceName=namespace)["namespace"]["namespaceId"] == created["namespaceId"]
    with pytest.raises(ClientError) as raised:
        serverless.create_namespace(namespaceName=namespace)
    assert _code(raised) == "ConflictException"

    group = serverless.create_workgroup(workgroupName=workgroup, namespaceName=namespace, baseCapacity=32,
                                        configParameters=[{"parameterKey": "datestyle",
                                                           "parameterValue": "ISO, DMY"}])["workgroup"]
    assert (group["status"], group["baseCapacity"], group["endpoint"]["port"]) == ("AVAILABLE", 32, 5439)
    assert {"parameterKey": "datestyle", "parameterValue": "ISO, DMY"} in group["configParameters"]
    updated = serverless.update_workgroup(workgroupName=workgroup, baseCapacity=64)["workgroup"]
    assert updated["baseCapacity"] == 64
    assert workgroup in [w["workgroupName"] for w in serverless.list_workgroups()["workgroups"]]
    assert namespace in [n["namespaceName"] for n in serverless.list_namespaces()["namespaces"]]
    assert serverless.list_tags_for_resource(resourceArn=created["namespaceArn"])["tags"] == [
        {"key": "k", "value": "v"}]

    with pytest.raises(ClientError) as raised:
        serverless.delete_namespace(namespaceName=namespace)
    assert _code(raised) == "ConflictException"
    with pytest.raises(ClientError) as raised:
        serverless.create_workgroup(workgroupName=_name("wg"), namespaceName=namespace)
    assert _code(raised) == "ConflictException"
    with pytest.raises(ClientError) as raised:
        serverless.update_workgroup(workgroupName=workgroup, baseCapacity=12)
    assert _code(raised) == "ValidationException"

    assert serverless.delete_workgroup(workgroupName=workgroup)["workgroup"]["status"] == "DELETING"
    assert serverless.delete_namespace(namespaceName=namespace)["namespace"]["status"] == "DELETING"
    with pytest.raises(ClientError) as raised:
        serverless.get_workgroup(workgroupName=workgroup)
    assert _code(raised) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as raised:
        serverless.create_workgroup(workgroupName=_name("wg"), namespaceName=namespace)
    assert _code(raised) == "ResourceNotFoundException"


def test_data_api_through_a_workgroup(fogbank: FogbankServer, serverless: Any) -> None:
    namespace = _name("ns")
    workgroup = _name("wg")
    serverless.create_namespace(namespaceName=namespace)
    serverless.create_workgroup(workgroupName=workgroup, namespaceName=namespace)
    try:
        sql = Sql(fogbank.client("redshift-data"), {"WorkgroupName": workgroup})
        sql.ok("CREATE TABLE metrics (name VARCHAR(10), value FLOAT)")
        sql.ok("INSERT INTO metrics VALUES ('cpu', 0.5), ('mem', 0.25)")
        assert sql.rows("SELECT name, value * 2 FROM metrics ORDER BY name") == [["cpu", 1.0], ["mem", 0.5]]
        statement = sql.client.execute_statement(WorkgroupName=workgroup, Database="dev", Sql="SELECT 1")
        assert statement["WorkgroupName"] == workgroup
        assert "ClusterIdentifier" not in statement
        assert sql.client.list_databases(WorkgroupName=workgroup, Database="dev")["Databases"] == ["dev"]
    finally:
        with contextlib.suppress(ClientError):
            serverless.delete_workgroup(workgroupName=workgroup)
            serverless.delete_namespace(namespaceName=namespace)
