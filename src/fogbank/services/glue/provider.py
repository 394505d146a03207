"""The Glue provider: the Data Catalog (api_catalog, api_partitions) and crawlers (api_crawlers).

`catalog` is the in-process API other services read the Data Catalog through (see GlueCatalog).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fogbank.config import Config
from fogbank.services.glue.api_catalog import CatalogOperations
from fogbank.services.glue.api_crawlers import CrawlerOperations
from fogbank.services.glue.api_partitions import PartitionOperations
from fogbank.services.glue.catalog import GlueCatalog
from fogbank.services.glue.crawler_runner import CrawlerRunner
from fogbank.services.glue.crawler_store import CrawlerStore
from fogbank.services.glue.db import GlueDb
from fogbank.services.glue.s3source import S3Source
from fogbank.services.glue.tags import TagStore

if TYPE_CHECKING:
    from fogbank.services.s3.provider import S3Provider

log = logging.getLogger(__name__)


class GlueProvider(CatalogOperations, PartitionOperations, CrawlerOperations):
    """Glue on one SQLite database under ``config.service_dir("glue")``; crawlers read S3 through `s3`."""

    services = ("glue",)

    def __init__(self, config: Config, s3: S3Provider | None = None, *, max_concurrent_crawls: int = 2,
                 schedule_interval: float | None = 10.0) -> None:
        self.db = GlueDb(config.service_dir("glue") / "glue.sqlite", "")
        self.catalog = GlueCatalog(self.db)
        self.tags = TagStore(self.db)
        self.catalog.on_delete = self.tags.drop
        self.crawler_store = CrawlerStore(self.db)
        interrupted = self.crawler_store.recover()
        if interrupted:
            log.warning("crawls interrupted by the last shutdown ended FAILED: %s", ", ".join(interrupted))
        self.runner = CrawlerRunner(self.crawler_store, self.catalog, S3Source(s3) if s3 is not None else None,
                                    max_concurrent_crawls, schedule_interval)

    def close(self) -> None:
        self.runner.close()
        self.db.close()

    def health(self) -> dict[str, Any]:
        return {"state": "running", "crawls_running": self.crawler_store.running_count()}
