"""Workgroups, named queries, prepared statements (EXECUTE ... USING and ExecutionParameters), data
catalogs, catalog metadata through Athena, and tags."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.services.athena.conftest import Athena, unique


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_primary_workgroup_exists_and_cannot_be_deleted(athena_client: Any) -> None:
    group = athena_client.get_work_group(WorkGroup="primary")["WorkGroup"]
    assert group["Name"] == "primary" and group["State"] == "ENABLED"
    names = [g["Name"] for g in athena_client.list_work_groups()["WorkGroups"]]
    assert "primary" in names
    with pytest.raises(ClientError) as error:
        athena_client.delete_work_group(WorkGroup="primary")
    assert _code(error) == "InvalidRequestException"


def test_workgroup_output_location_enforcement_and_cutoff(athena: Athena, results_bucket: str, s3: Any) -> None:
    client = athena.client
    name = unique("wg")
    forced = f"s3://{results_bucket}/forced/"
    client.create_work_group(Name=name, Description="team", Configuration={
        "ResultConfiguration": {"OutputLocation": forced}, "EnforceWorkGroupConfiguration": True},
        Tags=[{"Key": "team", "Value": "data"}])
    with pytest.raises(ClientError) as error:
        client.create_work_group(Name=name)
    assert _code(error) == "InvalidRequestException"
    group = client.get_work_group(WorkGroup=name)["WorkGroup"]
    assert group["Configuration"]["ResultConfiguration"]["OutputLocation"] == forced
    assert group["Configuration"]["EngineVersion"]["EffectiveEngineVersion"] == "Athena engine version 3"
    execution = athena.execute("SELECT 1", WorkGroup=name,
                               ResultConfiguration={"OutputLocation": f"s3://{results_bucket}/ignored/"})
    assert execution["ResultConfiguration"]["OutputLocation"].startswith(forced)
    assert execution["WorkGroup"] == name
    assert client.list_query_executions(WorkGroup=name)["QueryExecutionIds"] == [execution["QueryExecutionId"]]
    client.update_work_group(WorkGroup=name, ConfigurationUpdates={
        "EnforceWorkGroupConfiguration": False, "BytesScannedCutoffPerQuery": 10_000_000})
    updated = client.get_work_group(WorkGroup=name)["WorkGroup"]["Configuration"]
    assert updated["EnforceWorkGroupConfiguration"] is False
    assert updated["BytesScannedCutoffPerQuery"] == 10_000_000
    client.update_work_group(WorkGroup=name, State="DISABLED")
    with pytest.raises(ClientError) as error:
        client.start_query_execution(QueryString="SELECT 1", WorkGroup=name)
    assert _code(error) == "InvalidRequestException"
    arn = f"arn:aws:athena:us-east-1:000000000000:workgroup/{name}"
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "data"}]
    client.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == []
    client.delete_work_group(WorkGroup=name, RecursiveDeleteOption=True)
    with pytest.raises(ClientError) as error:
        client.get_work_group(WorkGroup=name)
    assert _code(error) == "InvalidRequestException"


def test_named_queries(athena: Athena) -> None:
    client = athena.client
    first = client.create_named_query(Name="q1", Database=athena.database, QueryString="SELECT 1",
                                      Description="one")["NamedQueryId"]
    second = client.create_named_query(Name="q2", Database=athena.database, QueryString="SELECT 2")["NamedQueryId"]
    got = client.get_named_query(NamedQueryId=first)["NamedQuery"]
    assert got == {"Name": "q1", "Database": athena.database, "QueryString": "SELECT 1", "Description": "one",
                   "NamedQueryId": first, "WorkGroup": "primary"}
    listed = client.list_named_queries()["NamedQueryIds"]
    assert first in listed and second in listed
    batch = client.batch_get_named_query(NamedQueryIds=[first, second, "22222222-2222-2222-2222-222222222222"])
    assert {q["Name"] for q in batch["NamedQueries"]} == {"q1", "q2"}
    assert len(batch["UnprocessedNamedQueryIds"]) == 1
    client.delete_named_query(NamedQueryId=first)
    with pytest.raises(ClientError) as error:
        client.get_named_query(NamedQueryId=first)
    assert _code(error) == "InvalidRequestException"


def test_prepared_statements_and_parameters(athena: Athena) -> None:
    client = athena.client
    name = unique("stmt")
    client.create_prepared_statement(
        StatementName=name, WorkGroup="primary",
        QueryStatement="SELECT x FROM UNNEST(sequence(1, 10)) AS t(x) WHERE x > ? AND x < ? ORDER BY x")
    statement = client.get_prepared_statement(StatementName=name, WorkGroup="primary")["PreparedStatement"]
    assert statement["StatementName"] == name and "LastModifiedTime" in statement
    assert athena.rows(f"EXECUTE {name} USING 3, 6") == [["x"], ["4"], ["5"]]
    assert athena.rows(f"EXECUTE {name}", ExecutionParameters=["7", "10"]) == [["x"], ["8"], ["9"]]
    assert athena.rows("SELECT ? || '!', ? + 1", ExecutionParameters=["'hi'", "41"]) == [
        ["_col0", "_col1"], ["hi!", "42"]]
    assert "Incorrect number of parameters" in athena.fail(f"EXECUTE {name} USING 1")
    names = [s["StatementName"] for s in client.list_prepared_statements(WorkGroup="primary")["PreparedStatements"]]
    assert name in names
    batch = client.batch_get_prepared_statement(PreparedStatementNames=[name, "missing"], WorkGroup="primary")
    assert [s["StatementName"] for s in batch["PreparedStatements"]] == [name]
    client.update_prepared_statement(StatementName=name, WorkGroup="primary", QueryStatement="SELECT ? * 2")
    assert athena.rows(f"EXECUTE {name} USING 21") == [["_col0"], ["42"]]
    client.delete_prepared_statement(StatementName=name, WorkGroup="primary")
    with pytest.raises(ClientError) as error:
        client.get_prepared_statement(StatementName=name, WorkGroup="primary")
    assert _code(error) == "ResourceNotFoundException"
    assert "Prepared statement not found" in athena.fail(f"EXECUTE {name} USING 1")


def test_data_catalogs_and_metadata(athena: Athena, glue: Any, bucket: str) -> None:
    client = athena.client
    summaries = client.list_data_catalogs()["DataCatalogsSummary"]
    assert {"CatalogName": "AwsDataCatalog", "Type": "GLUE", "Status": "CREATE_COMPLETE"} in summaries
    name = unique("cat")
    client.create_data_catalog(Name=name, Type="HIVE", Parameters={"metadata-function": "arn:aws:lambda:x"})
    assert client.get_data_catalog(Name=name)["DataCatalog"]["Type"] == "HIVE"
    client.delete_data_catalog(Name=name)
    with pytest.raises(ClientError):
        client.get_data_catalog(Name=name)
    athena.execute(f"CREATE EXTERNAL TABLE meta_t (a int COMMENT 'first', b string) PARTITIONED BY (p string) "
                   f"STORED AS PARQUET LOCATION 's3://{bucket}/meta/'")
    databases = [d["Name"] for d in client.list_databases(CatalogName="AwsDataCatalog")["DatabaseList"]]
    assert athena.database in databases
    assert client.get_database(CatalogName="AwsDataCatalog", DatabaseName=athena.database)["Database"]["Name"] == \
        athena.database
    metadata = client.get_table_metadata(CatalogName="AwsDataCatalog", DatabaseName=athena.database,
                                         TableName="meta_t")["TableMetadata"]
    assert metadata["Columns"] == [{"Name": "a", "Type": "int", "Comment": "first"}, {"Name": "b", "Type": "string"}]
    assert metadata["PartitionKeys"] == [{"Name": "p", "Type": "string"}]
    assert metadata["TableType"] == "EXTERNAL_TABLE"
    assert metadata["Parameters"]["location"] == f"s3://{bucket}/meta/"
    listed = client.list_table_metadata(CatalogName="AwsDataCatalog", DatabaseName=athena.database,
                                        Expression="meta*")["TableMetadataList"]
    assert [t["Name"] for t in listed] == ["meta_t"]
    with pytest.raises(ClientError) as error:
        client.get_table_metadata(CatalogName="AwsDataCatalog", DatabaseName=athena.database, TableName="nope")
    assert _code(error) == "MetadataException"
    with pytest.raises(ClientError) as error:
        client.list_databases(CatalogName="other")
    assert _code(error) == "MetadataException"
