"""Crawls as background jobs with bounded concurrency, and the scheduler thread that starts them on their
cron schedules.

A crawl's state is committed (RUNNING) before its job is queued, and every way a job ends (success, stop,
failure, shutdown) commits READY with LastCrawl saying how it ended, so a crawler is never left running.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from fogbank.errors import AwsError
from fogbank.services.glue.catalog import GlueCatalog
from fogbank.services.glue.crawl import Crawl, CrawlCancelled, CrawlFailed
from fogbank.services.glue.crawler_store import INTERRUPTED, CrawlerStore
from fogbank.services.glue.cron import parse_cron
from fogbank.services.glue.errors import CrawlerRunningException
from fogbank.services.glue.s3source import S3Source, S3Unavailable

log = logging.getLogger(__name__)


class CrawlerRunner:
    def __init__(self, store: CrawlerStore, catalog: GlueCatalog, source: S3Source | None,
                 max_concurrent: int = 2, schedule_interval: float | None = 10.0) -> None:
        self.store = store
        self.catalog = catalog
        self.source = source
        self._executor = ThreadPoolExecutor(max_concurrent, thread_name_prefix="glue-crawl")
        self._stops: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._last_tick = datetime.now(UTC)
        self._scheduler: threading.Thread | None = None
        if schedule_interval:
            self._scheduler = threading.Thread(target=self._loop, args=(schedule_interval,),
                                               name="glue-crawler-scheduler", daemon=True)
            self._scheduler.start()

    # -- crawls -------------------------------------------------------------------------------------------

    def start(self, account: str, region: str, name: str) -> str:
        crawl_id = self.store.begin_crawl(account, region, name)
        event = threading.Event()
        with self._lock:
            self._stops[crawl_id] = event
        try:
            self._executor.submit(self._run, account, region, name, crawl_id, event)
        except RuntimeError:  # shutting down: the crawl never started
            self.store.finish_crawl(account, region, name, crawl_id, "FAILED", INTERRUPTED)
            raise
        return crawl_id

    def stop(self, account: str, region: str, name: str) -> None:
        crawl_id = self.store.request_stop(account, region, name)
        with self._lock:
            event = self._stops.get(crawl_id)
        if event is not None:
            event.set()

    def _run(self, account: str, region: str, name: str, crawl_id: str, event: threading.Event) -> None:
        status: str = "FAILED"
        error: str | None = INTERRUPTED
        metrics: dict[str, int] | None = None
        summary: str | None = None
        try:
            if self.source is None:
                raise CrawlFailed("S3 is not available to crawlers in this server.")
            record = self.store.get(account, region, name)
            crawl = Crawl(self.catalog, self.source, account, region, name, record.definition,
                          lambda: event.is_set() or self._closed.is_set())
            if event.is_set():
                raise CrawlCancelled()
            outcome = crawl.run()
            status, error, metrics, summary = "SUCCEEDED", None, outcome.metrics(), outcome.summary()
        except CrawlCancelled:
            if not self._closed.is_set() or event.is_set():
                status, error = "CANCELLED", None
        except CrawlFailed as exc:
            status, error = "FAILED", str(exc)
        except S3Unavailable:
            status, error = "FAILED", INTERRUPTED
        except AwsError as exc:
            status, error = "FAILED", f"{exc.error_code}: {exc.message}"
        except Exception as exc:
            if self._closed.is_set():  # a store closed under the crawl at shutdown
                status, error = "FAILED", INTERRUPTED
            else:
                log.exception("crawler %s failed", name)
                status, error = "FAILED", f"Internal error while crawling: {type(exc).__name__}: {exc}"
        finally:
            with self._lock:
                self._stops.pop(crawl_id, None)
            try:
                self.store.finish_crawl(account, region, name, crawl_id, status, error, metrics, summary)
            except Exception:  # the database closed under us: recover() ends the crawl at next start
                log.exception("could not record the end of crawl %s", crawl_id)

    # -- schedules ----------------------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[str]:
        """Starts every scheduled crawler with a firing in (last tick, now]; returns the names started."""
        since, self._last_tick = self._last_tick, now
        started = []
        for record in self.store.scheduled():
            expression = record.definition.get("Schedule")
            if not expression:
                continue
            try:
                due = parse_cron(expression).next_after(since)
            except AwsError:
                continue
            if due is None or due > now:
                continue
            try:
                self.start(record.account, record.region, record.name)
                started.append(record.name)
            except CrawlerRunningException:
                log.info("crawler %s is still running; its scheduled crawl is skipped", record.name)
            except Exception:
                log.exception("scheduled start of crawler %s failed", record.name)
        return started

    def _loop(self, interval: float) -> None:
        while not self._closed.wait(interval):
            try:
                self.tick(datetime.now(UTC))
            except Exception:
                log.exception("crawler scheduler tick failed")

    def close(self) -> None:
        """Stops the scheduler, asks running crawls to stop and waits for them to record how they ended."""
        self._closed.set()
        if self._scheduler is not None:
            self._scheduler.join()
        self._executor.shutdown(wait=True, cancel_futures=True)
