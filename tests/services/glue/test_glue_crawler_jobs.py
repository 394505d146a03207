"""Crawls as background jobs, in-process: stopping, refusals while running, recovery after a crash, and the
scheduler. A test-controlled S3 source holds a crawl at its first listing so states can be observed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.protocol.http import Headers, HttpRequest
from fogbank.services.glue.crawler_store import INTERRUPTED, CrawlerStore
from fogbank.services.glue.db import GlueDb
from fogbank.services.glue.errors import (
    CrawlerNotRunningException,
    CrawlerRunningException,
    CrawlerStoppingException,
)
from fogbank.services.glue.provider import GlueProvider
from fogbank.services.glue.s3source import S3Object, S3Source
from fogbank.services.s3.provider import S3Provider

ACCOUNT = "000000000000"


def ctx(operation: str = "Op") -> RequestContext:
    return RequestContext(ACCOUNT, "us-east-1", "req", "glue", operation, HttpRequest("POST", "/", "", Headers()))


class HeldSource(S3Source):
    """Lists through S3, but each listing waits until the test releases it."""

    def __init__(self, s3: S3Provider) -> None:
        super().__init__(s3)
        self.entered = threading.Event()
        self.release = threading.Event()

    def list_objects(self, account: str, bucket: str, prefix: str) -> Iterator[S3Object]:
        self.entered.set()
        assert self.release.wait(20)
        return super().list_objects(account, bucket, prefix)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[GlueProvider, S3Provider, HeldSource]]:
    config = Config(data_dir=tmp_path)
    s3 = S3Provider(config, lifecycle_interval=None)
    glue = GlueProvider(config, s3, schedule_interval=None)
    source = HeldSource(s3)
    glue.runner.source = source
    s3.create_bucket(RequestContext(ACCOUNT, "us-east-1", "r", "s3", "CreateBucket",
                                    HttpRequest("PUT", "/", "", Headers())), {"Bucket": "data"})
    glue.create_database(ctx(), {"DatabaseInput": {"Name": "db"}})
    yield glue, s3, source
    source.release.set()
    glue.close()
    s3.close()


def _crawler(glue: GlueProvider, name: str = "c", **extra: Any) -> None:
    glue.create_crawler(ctx(), {"Name": name, "Role": "r", "DatabaseName": "db",
                                "Targets": {"S3Targets": [{"Path": "s3://data/t/"}]}, **extra})


def _wait_ready(glue: GlueProvider, name: str = "c") -> dict[str, Any]:
    for _ in range(400):
        crawler: dict[str, Any] = glue.get_crawler(ctx(), {"Name": name})["Crawler"]
        if crawler["State"] == "READY" and "LastCrawl" in crawler:
            return crawler
        threading.Event().wait(0.05)
    raise AssertionError("crawl did not end")


def test_stop_moves_running_to_stopping_then_cancelled(stack: tuple[GlueProvider, S3Provider, HeldSource]) -> None:
    glue, _, source = stack
    _crawler(glue)
    glue.start_crawler(ctx(), {"Name": "c"})
    assert source.entered.wait(10)
    assert glue.get_crawler(ctx(), {"Name": "c"})["Crawler"]["State"] == "RUNNING"
    with pytest.raises(CrawlerRunningException):
        glue.start_crawler(ctx(), {"Name": "c"})
    with pytest.raises(CrawlerRunningException):
        glue.update_crawler(ctx(), {"Name": "c", "Description": "x"})
    with pytest.raises(CrawlerRunningException):
        glue.delete_crawler(ctx(), {"Name": "c"})

    glue.stop_crawler(ctx(), {"Name": "c"})
    assert glue.get_crawler(ctx(), {"Name": "c"})["Crawler"]["State"] == "STOPPING"
    with pytest.raises(CrawlerStoppingException):
        glue.stop_crawler(ctx(), {"Name": "c"})
    source.release.set()
    crawler = _wait_ready(glue)
    assert crawler["LastCrawl"]["Status"] == "CANCELLED"
    assert glue.list_crawls(ctx(), {"CrawlerName": "c"})["Crawls"][0]["State"] == "STOPPED"
    assert glue.catalog.get_tables(ACCOUNT, "us-east-1", "db") == []
    with pytest.raises(CrawlerNotRunningException):
        glue.stop_crawler(ctx(), {"Name": "c"})


def test_crawl_that_was_running_at_a_crash_ends_failed(tmp_path: Path) -> None:
    (tmp_path / "glue").mkdir()
    db = GlueDb(tmp_path / "glue" / "glue.sqlite", "")
    store = CrawlerStore(db)
    store.create(ACCOUNT, "us-east-1", "crashed", {"Targets": {"S3Targets": [{"Path": "s3://b/p/"}]}})
    crawl_id = store.begin_crawl(ACCOUNT, "us-east-1", "crashed")
    db.close()  # the process dies here: the crawl is RUNNING on disk

    glue = GlueProvider(Config(data_dir=tmp_path), None, schedule_interval=None)
    try:
        crawler = glue.get_crawler(ctx(), {"Name": "crashed"})["Crawler"]
        assert crawler["State"] == "READY"
        assert crawler["LastCrawl"]["Status"] == "FAILED"
        assert crawler["LastCrawl"]["ErrorMessage"] == INTERRUPTED
        assert crawler["LastCrawl"]["MessagePrefix"] == crawl_id
        crawls = glue.list_crawls(ctx(), {"CrawlerName": "crashed"})["Crawls"]
        assert [(c["CrawlId"], c["State"]) for c in crawls] == [(crawl_id, "FAILED")]
        glue.start_crawler(ctx(), {"Name": "crashed"})
        again = _wait_ready(glue, "crashed")
        assert again["LastCrawl"]["Status"] == "FAILED"
        assert again["LastCrawl"]["ErrorMessage"] == "S3 is not available to crawlers in this server."
    finally:
        glue.close()


def test_scheduler_starts_crawls_when_their_cron_fires(stack: tuple[GlueProvider, S3Provider, HeldSource]) -> None:
    glue, _, source = stack
    source.release.set()
    _crawler(glue, "noon", Schedule="cron(0 12 * * ? *)")
    _crawler(glue, "manual")
    runner = glue.runner
    runner._last_tick = datetime(2030, 1, 1, 11, 0, tzinfo=UTC)
    assert runner.tick(datetime(2030, 1, 1, 11, 59, tzinfo=UTC)) == []
    assert runner.tick(datetime(2030, 1, 1, 12, 0, 5, tzinfo=UTC)) == ["noon"]
    assert _wait_ready(glue, "noon")["LastCrawl"]["Status"] == "SUCCEEDED"
    assert runner.tick(datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC)) == []
    glue.stop_crawler_schedule(ctx(), {"CrawlerName": "noon"})
    assert runner.tick(datetime(2030, 1, 2, 12, 1, tzinfo=UTC)) == []
    glue.start_crawler_schedule(ctx(), {"CrawlerName": "noon"})
    assert runner.tick(datetime(2030, 1, 3, 12, 1, tzinfo=UTC)) == ["noon"]
    _wait_ready(glue, "noon")
    assert len(glue.list_crawls(ctx(), {"CrawlerName": "noon"})["Crawls"]) == 2
    assert "LastCrawl" not in glue.get_crawler(ctx(), {"Name": "manual"})["Crawler"]


def test_scheduled_start_skips_a_running_crawler(stack: tuple[GlueProvider, S3Provider, HeldSource]) -> None:
    glue, _, source = stack
    _crawler(glue, "busy", Schedule="cron(0/5 * * * ? *)")
    glue.start_crawler(ctx(), {"Name": "busy"})
    assert source.entered.wait(10)
    glue.runner._last_tick = datetime.now(UTC)
    assert glue.runner.tick(datetime.now(UTC) + timedelta(minutes=6)) == []
    source.release.set()
    _wait_ready(glue, "busy")
    assert len(glue.list_crawls(ctx(), {"CrawlerName": "busy"})["Crawls"]) == 1


def test_shutdown_during_a_crawl_records_it_failed(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path)
    s3 = S3Provider(config, lifecycle_interval=None)
    glue = GlueProvider(config, s3, schedule_interval=None)
    source = HeldSource(s3)
    glue.runner.source = source
    try:
        s3.create_bucket(RequestContext(ACCOUNT, "us-east-1", "r", "s3", "CreateBucket",
                                        HttpRequest("PUT", "/", "", Headers())), {"Bucket": "data"})
        glue.create_database(ctx(), {"DatabaseInput": {"Name": "db"}})
        _crawler(glue, "late")
        glue.start_crawler(ctx(), {"Name": "late"})
        assert source.entered.wait(10)
        closer = threading.Thread(target=glue.close)
        closer.start()
        assert glue.runner._closed.wait(10)
        source.release.set()
        closer.join(20)
        assert not closer.is_alive()
        reopened = GlueProvider(config, s3, schedule_interval=None)
        try:
            crawler = reopened.get_crawler(ctx(), {"Name": "late"})["Crawler"]
            assert crawler["State"] == "READY"
            assert crawler["LastCrawl"] == {**crawler["LastCrawl"], "Status": "FAILED", "ErrorMessage": INTERRUPTED}
            assert reopened.health() == {"state": "running", "crawls_running": 0}
        finally:
            reopened.close()
    finally:
        source.release.set()
        glue.close()
        s3.close()
