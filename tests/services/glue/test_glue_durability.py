"""The catalog, crawlers and their outcomes survive a clean restart and a SIGKILL of the server."""

from __future__ import annotations

from tests.services.glue.conftest import table_input, wait_for_crawl
from tests.support import FogbankServer


def test_catalog_and_crawlers_survive_restart_and_kill(own_server: FogbankServer) -> None:
    own_server.start()
    glue, s3 = own_server.client("glue"), own_server.client("s3")
    glue.create_database(DatabaseInput={"Name": "durable", "Description": "kept"})
    glue.create_table(DatabaseName="durable", TableInput=table_input("t", [("id", "int")], [("p", "string")]))
    glue.update_table(DatabaseName="durable", TableInput=table_input("t", [("id", "bigint")], [("p", "string")]))
    glue.batch_create_partition(DatabaseName="durable", TableName="t",
                                PartitionInputList=[{"Values": [str(i)]} for i in range(5)])
    glue.tag_resource(ResourceArn="arn:aws:glue:us-east-1:000000000000:table/durable/t", TagsToAdd={"k": "v"})
    s3.create_bucket(Bucket="lake")
    s3.put_object(Bucket="lake", Key="events/day=1/a.csv", Body=b"id,v\n1,2\n")
    glue.create_crawler(Name="c", Role="r", DatabaseName="durable", Schedule="cron(0 3 * * ? *)",
                        Targets={"S3Targets": [{"Path": "s3://lake/events/"}]})
    glue.start_crawler(Name="c")
    wait_for_crawl(glue, "c")

    own_server.restart()
    glue = own_server.client("glue")
    assert glue.get_database(Name="durable")["Database"]["Description"] == "kept"
    table = glue.get_table(DatabaseName="durable", Name="t")["Table"]
    assert table["VersionId"] == "1"
    assert table["StorageDescriptor"]["Columns"] == [{"Name": "id", "Type": "bigint"}]
    assert [v["VersionId"] for v in glue.get_table_versions(DatabaseName="durable",
                                                            TableName="t")["TableVersions"]] == ["1", "0"]
    assert len(glue.get_partitions(DatabaseName="durable", TableName="t", Expression="p >= '2'")["Partitions"]) == 3
    assert glue.get_tags(ResourceArn="arn:aws:glue:us-east-1:000000000000:table/durable/t")["Tags"] == {"k": "v"}
    crawler = glue.get_crawler(Name="c")["Crawler"]
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    assert crawler["Schedule"] == {"ScheduleExpression": "cron(0 3 * * ? *)", "State": "SCHEDULED"}
    assert glue.get_table(DatabaseName="durable", Name="events")["Table"]["PartitionKeys"][0]["Name"] == "day"

    glue.create_partition(DatabaseName="durable", TableName="t", PartitionInput={"Values": ["acked"]})
    glue.delete_table(DatabaseName="durable", Name="events")
    own_server.kill()
    own_server.start()
    glue = own_server.client("glue")
    assert glue.get_partition(DatabaseName="durable", TableName="t",
                              PartitionValues=["acked"])["Partition"]["Values"] == ["acked"]
    assert [t["Name"] for t in glue.get_tables(DatabaseName="durable")["TableList"]] == ["t"]
    assert glue.get_crawler_metrics(CrawlerNameList=["c"])["CrawlerMetricsList"][0]["TablesCreated"] == 1
    own_server.stop()
