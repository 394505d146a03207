"""What Glue's operation groups share: the stores, the CatalogId check and pagination."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import Provider
from fogbank.services.glue import tokens
from fogbank.services.glue.catalog import GlueCatalog
from fogbank.services.glue.crawler_runner import CrawlerRunner
from fogbank.services.glue.crawler_store import CrawlerStore
from fogbank.services.glue.errors import AccessDeniedException
from fogbank.services.glue.tags import TagStore

T = TypeVar("T")


class GlueBase(Provider):
    services = ("glue",)
    catalog: GlueCatalog
    tags: TagStore
    crawler_store: CrawlerStore
    runner: CrawlerRunner

    @staticmethod
    def _check_catalog(ctx: RequestContext, req: dict[str, Any]) -> None:
        """The Data Catalog of an account is its only catalog; another account's is not reachable."""
        catalog_id = req.get("CatalogId")
        if catalog_id is not None and catalog_id != ctx.account_id:
            raise AccessDeniedException(f"Cross-account access to catalog {catalog_id} is not allowed.")

    @staticmethod
    def _page(ctx: RequestContext, req: dict[str, Any], listing: str, fetch: Callable[[Any, int], Sequence[T]],
              position: Callable[[T], Any], default: int, maximum: int) -> tuple[list[T], str | None]:
        """One page of a listing: `fetch(after, limit)` returns items after a position, `position(item)`
        gives an item's position; NextToken is set only when more items follow."""
        scope = f"{ctx.account_id}|{ctx.region}|{listing}"
        after = tokens.decode(scope, req.get("NextToken"))
        limit = tokens.page_size(req.get("MaxResults"), default, maximum)
        items = list(fetch(after, limit + 1))
        if len(items) > limit:
            items = items[:limit]
            return items, tokens.encode(scope, position(items[-1]))
        return items, None
