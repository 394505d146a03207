"""CORS for buckets: validating rules, answering OPTIONS preflights, decorating actual responses.

S3 evaluates a bucket's rules in order and uses the first whose origin, method and (for preflights)
requested headers all match; origins and allowed headers may contain one '*' wildcard.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from fogbank.services.s3 import errors

METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")
MAX_RULES = 100
_VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"


@lru_cache(maxsize=1024)
def _pattern(wildcard: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in wildcard.split("*")) + "$", re.IGNORECASE)


def _matches(value: str, patterns: list[str]) -> bool:
    return any(_pattern(p).match(value) for p in patterns)


def validate_rules(config: dict[str, Any] | None) -> list[dict[str, Any]]:
    rules = (config or {}).get("CORSRules") or []
    if not rules or len(rules) > MAX_RULES:
        raise errors.MalformedXML()
    for rule in rules:
        methods = rule.get("AllowedMethods") or []
        origins = rule.get("AllowedOrigins") or []
        if not methods or not origins:
            raise errors.MalformedXML()
        for method in methods:
            if method not in METHODS:
                raise errors.InvalidRequest(f"Found unsupported HTTP method in CORS config. Unsupported method "
                                            f"is {method}")
        for origin in origins:
            if origin.count("*") > 1:
                raise errors.InvalidRequest(f'AllowedOrigin "{origin}" can not have more than one wildcard.')
        for header in rule.get("AllowedHeaders") or []:
            if header.count("*") > 1:
                raise errors.InvalidRequest(f'AllowedHeader "{header}" can not have more than one wildcard.')
    return rules


def match_rule(rules: list[dict[str, Any]], origin: str, method: str,
               request_headers: list[str] | None = None) -> dict[str, Any] | None:
    for rule in rules:
        if method not in (rule.get("AllowedMethods") or []):
            continue
        if not _matches(origin, rule.get("AllowedOrigins") or []):
            continue
        if request_headers:
            allowed = rule.get("AllowedHeaders") or []
            if not all(_matches(h, allowed) for h in request_headers):
                continue
        return rule
    return None


def response_headers(rule: dict[str, Any], origin: str, request_headers: list[str] | None,
                     preflight: bool) -> list[tuple[str, str]]:
    """The Access-Control-* headers S3 sends for a matched rule."""
    wildcard = "*" in (rule.get("AllowedOrigins") or [])
    headers = [("Access-Control-Allow-Origin", "*" if wildcard else origin),
               ("Access-Control-Allow-Methods", ", ".join(rule.get("AllowedMethods") or []))]
    if not wildcard:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    if preflight and request_headers:
        headers.append(("Access-Control-Allow-Headers", ", ".join(request_headers)))
    if rule.get("ExposeHeaders"):
        headers.append(("Access-Control-Expose-Headers", ", ".join(rule["ExposeHeaders"])))
    if rule.get("MaxAgeSeconds") is not None:
        headers.append(("Access-Control-Max-Age", str(rule["MaxAgeSeconds"])))
    headers.append(("Vary", _VARY))
    return headers


def split_header_list(value: str | None) -> list[str]:
    return [h.strip().lower() for h in (value or "").split(",") if h.strip()]


def preflight(rules: list[dict[str, Any]] | None, origin: str | None, method: str | None,
              requested_headers: str | None) -> list[tuple[str, str]]:
    """The headers of a successful preflight; raises S3's errors for the failing cases."""
    if not origin:
        raise errors.BadRequest("Insufficient information. Origin request header needed.")
    if not method or method not in METHODS:
        raise errors.BadRequest(f"Invalid Access-Control-Request-Method: {method or ''}")
    if not rules:
        raise errors.AccessForbidden("CORSResponse: CORS is not enabled for this bucket.", Method=method,
                                     ResourceType="BUCKET")
    headers = split_header_list(requested_headers)
    rule = match_rule(rules, origin, method, headers)
    if rule is None:
        raise errors.AccessForbidden(
            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, "
            "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not "
            "whitelisted by the resource's CORS spec.", Method=method, ResourceType="OBJECT")
    return response_headers(rule, origin, headers, preflight=True)
