"""The S3 provider: every S3 operation fogbank answers, plus CORS and lifecycle expiry."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.protocol.http import HttpResponse
from fogbank.services.s3 import cors, errors, lifecycle
from fogbank.services.s3.browser import BrowserRoutes
from fogbank.services.s3.buckets import BucketOps
from fogbank.services.s3.configs import ConfigOps
from fogbank.services.s3.listing import ListingOps
from fogbank.services.s3.multipart import MultipartOps
from fogbank.services.s3.objects import ObjectOps

log = logging.getLogger(__name__)

LIFECYCLE_INTERVAL = 60.0


class S3Provider(BrowserRoutes, BucketOps, ObjectOps, ListingOps, MultipartOps, ConfigOps):
    """S3 on local disk: object bytes in blobs, everything else in SQLite."""

    services = ("s3",)

    def __init__(self, config: Config, lifecycle_interval: float | None = LIFECYCLE_INTERVAL) -> None:
        super().__init__(config)
        self._stop = threading.Event()
        self._lifecycle_thread: threading.Thread | None = None
        if lifecycle_interval:
            self._lifecycle_thread = threading.Thread(target=self._lifecycle_loop, args=(lifecycle_interval,),
                                                      name="s3-lifecycle", daemon=True)
            self._lifecycle_thread.start()

    # -- lifecycle -------------------------------------------------------------------------------------

    def apply_lifecycle(self, now: datetime) -> dict[str, int]:
        """Applies the expiration actions of every bucket's lifecycle rules as of `now`."""
        return lifecycle.apply(self.store, now)

    def _lifecycle_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.apply_lifecycle(datetime.now(UTC))
            except Exception:
                log.exception("lifecycle run failed")

    def close(self) -> None:
        self._stop.set()
        if self._lifecycle_thread is not None:
            self._lifecycle_thread.join()
        super().close()

    # -- CORS ------------------------------------------------------------------------------------------

    def cors_preflight(self, ctx: RequestContext, bucket: str) -> HttpResponse:
        """Answers an OPTIONS preflight for a bucket or object URL.

        Raises S3's errors (NoSuchBucket, BadRequest, or AccessForbidden 403 when no rule matches) for the
        caller to serialize like any other error.
        """
        target = self.store.bucket(bucket)
        if target is None:
            raise errors.NoSuchBucket(BucketName=bucket)
        headers = ctx.http.headers
        rules = self.store.get_config(target.id, "cors")
        allowed = cors.preflight(rules, headers.get("origin"), headers.get("access-control-request-method"),
                                 headers.get("access-control-request-headers"))
        return HttpResponse(200, [*allowed, ("Content-Length", "0")], b"")

    def decorate_response(self, ctx: RequestContext, request: dict[str, Any] | None,
                          headers: list[tuple[str, str]]) -> None:
        """Adds Access-Control-* headers when the request's Origin matches one of the bucket's rules."""
        try:
            origin = ctx.http.headers.get("origin") if ctx.http is not None else None
            name = (request or {}).get("Bucket")
            if not origin or not isinstance(name, str):
                return
            bucket = self.store.bucket(name)
            if bucket is None:
                return
            rules = self.store.get_config(bucket.id, "cors")
            if not rules:
                return
            rule = cors.match_rule(rules, origin, ctx.http.method.upper())
            if rule is not None:
                headers.extend(cors.response_headers(rule, origin, None, preflight=False))
        except Exception:
            log.exception("could not add CORS headers")
