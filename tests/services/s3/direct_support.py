"""Helpers for calling the S3 provider directly, without HTTP."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.protocol.http import Headers, HttpRequest
from fogbank.services.s3.provider import S3Provider

ACCOUNT = "000000000000"

MakeCtx = Callable[..., RequestContext]


def make_ctx(operation: str = "Op", headers: dict[str, str] | None = None, account: str = ACCOUNT,
             region: str = "us-east-1", method: str = "GET") -> RequestContext:
    request = HttpRequest(method, "/", "", Headers((headers or {}).items()))
    return RequestContext(account, region, "req-1", "s3", operation, request)


class Direct:
    """A provider plus short helpers for the calls most tests make."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.p = S3Provider(Config(data_dir=data_dir), lifecycle_interval=None)

    def reopen(self) -> None:
        self.p.close()
        self.p = S3Provider(Config(data_dir=self.data_dir), lifecycle_interval=None)

    def bucket(self, name: str = "bucket-one", **req: Any) -> str:
        self.p.create_bucket(make_ctx("CreateBucket"), {"Bucket": name, **req})
        return name

    def put(self, bucket: str, key: str, body: bytes = b"data", ctx: RequestContext | None = None,
            **req: Any) -> dict[str, Any]:
        return self.p.put_object(ctx or make_ctx("PutObject"), {"Bucket": bucket, "Key": key,
                                                               "Body": io.BytesIO(body), **req})

    def get(self, bucket: str, key: str, ctx: RequestContext | None = None, **req: Any) -> dict[str, Any]:
        out = self.p.get_object(ctx or make_ctx("GetObject"), {"Bucket": bucket, "Key": key, **req})
        body = out["Body"]
        out["Body"] = body if isinstance(body, bytes) else b"".join(body)
        return out


class TrailerBody(io.BytesIO):
    """A body as the protocol layer hands over an aws-chunked upload: trailers appear after EOF."""

    def __init__(self, data: bytes, trailers: dict[str, str]) -> None:
        super().__init__(data)
        self._pending = trailers
        self.trailers: dict[str, str] = {}

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        if not chunk:
            self.trailers = dict(self._pending)
        return chunk
