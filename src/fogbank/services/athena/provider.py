"""The Athena provider: SQL over the Glue Data Catalog and S3, run by DuckDB in background workers."""

from __future__ import annotations

from typing import Any

from fogbank.config import Config
from fogbank.services.athena.api_metadata import MetadataOps
from fogbank.services.athena.api_queries import QueryOps
from fogbank.services.athena.api_resources import ResourceOps
from fogbank.services.athena.runner import QueryRunner
from fogbank.services.athena.store import AthenaStore
from fogbank.services.glue.catalog import GlueCatalog
from fogbank.services.s3.local_access import S3LocalAccess
from fogbank.services.s3.provider import S3Provider


class AthenaProvider(QueryOps, ResourceOps, MetadataOps):
    """Athena on one machine: metadata in SQLite, queries on DuckDB reading S3 objects in place."""

    services = ("athena",)

    def __init__(self, config: Config, s3: S3Provider, catalog: GlueCatalog, workers: int = 2,
                 threads_per_query: int = 2, memory_limit: str = "2GB") -> None:
        root = config.service_dir("athena")
        self.store = AthenaStore(root)
        self.catalog = catalog
        self.s3 = S3LocalAccess(s3)
        self._init_shared()
        self.runner = QueryRunner(self.store, catalog, self.s3, root / "scratch", workers=workers,
                                  threads_per_query=threads_per_query, memory_limit=memory_limit)
        self.runner.recover()

    def close(self) -> None:
        self.runner.close()
        self.store.close()

    def health(self) -> dict[str, Any]:
        return {"state": "running", "engine": "duckdb"}
