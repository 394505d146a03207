"""S3's two browser-facing requests outside botocore's model: CORS preflights and POST form uploads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlencode
from xml.sax.saxutils import escape

from fogbank.context import RequestContext
from fogbank.errors import AwsError
from fogbank.protocol.accounts import KeyStore
from fogbank.protocol.http import HttpRequest, HttpResponse
from fogbank.protocol.routing import s3_virtual_host_bucket
from fogbank.services.s3.post_policy import read_post_upload

RawHandler = Callable[[RequestContext, HttpRequest], HttpResponse]


class InvalidArgument(AwsError):
    code = "InvalidArgument"


def bucket_and_key(request: HttpRequest) -> tuple[str | None, str]:
    """(bucket, key) from a virtual-hosted Host header or a path-style URL."""
    path = request.path
    bucket = s3_virtual_host_bucket(request.host)
    if bucket is not None:
        return bucket, unquote(path.lstrip("/"))
    parts = path.lstrip("/").split("/", 1)
    if not parts[0]:
        return None, ""
    return unquote(parts[0]), unquote(parts[1]) if len(parts) > 1 else ""


class BrowserRoutes:
    """Mixed into the S3 provider; the app asks `raw_route` before routing by the model."""

    config: Any
    _keys: KeyStore | None = None
    cors_preflight: Callable[[RequestContext, str], HttpResponse]
    put_object_from_form: Callable[..., dict[str, Any]]

    def raw_route(self, request: HttpRequest) -> RawHandler | None:
        if request.method == "OPTIONS":
            return self.preflight
        content_type = (request.headers.get("content-type") or "").lower()
        if request.method == "POST" and content_type.startswith("multipart/form-data"):
            bucket, key = bucket_and_key(request)
            if bucket is not None and not key:
                return self.post_object
        return None

    def preflight(self, ctx: RequestContext, request: HttpRequest) -> HttpResponse:
        bucket, _ = bucket_and_key(request)
        if bucket is None:
            raise InvalidArgument("A CORS preflight needs a bucket in the URL")
        return self.cors_preflight(ctx, bucket)

    def post_object(self, ctx: RequestContext, request: HttpRequest) -> HttpResponse:
        bucket, _ = bucket_and_key(request)
        assert bucket is not None
        if self._keys is None:
            self._keys = KeyStore(self.config)
        form = read_post_upload(request, bucket, self._keys, spool_dir=self.config.service_dir("s3"))
        try:
            if form.identity is not None:
                ctx.account_id = form.identity.account_id
            fields = dict(form.fields)
            if form.file_content_type and "content-type" not in fields:
                fields["content-type"] = form.file_content_type
            result = self.put_object_from_form(ctx, bucket, form.key, form.file, fields)
        finally:
            form.close()
        headers = [("ETag", result["ETag"]), ("Location", result["Location"])]
        if result.get("VersionId"):
            headers.append(("x-amz-version-id", result["VersionId"]))
        redirect = form.fields.get("success_action_redirect") or form.fields.get("redirect")
        if redirect:
            separator = "&" if "?" in redirect else "?"
            target = redirect + separator + urlencode({"bucket": bucket, "key": form.key, "etag": result["ETag"]})
            return HttpResponse(303, [("ETag", result["ETag"]), ("Location", target)], b"")
        status = form.fields.get("success_action_status", "204")
        if status == "201":
            body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse>"
                    f"<Location>{escape(result['Location'])}</Location><Bucket>{escape(bucket)}</Bucket>"
                    f"<Key>{escape(form.key)}</Key><ETag>{escape(result['ETag'])}</ETag></PostResponse>")
            return HttpResponse(201, [*headers, ("Content-Type", "application/xml")], body.encode())
        return HttpResponse(200 if status == "200" else 204, headers, b"")
