"""Lifecycle configurations: validation, and the expiration actions S3 applies to matching objects.

Like S3, expiry is computed from the object's creation (or, for noncurrent versions, from when a newer
version replaced it) plus the rule's days, rounded up to the next midnight UTC. Transitions are stored
and returned but not applied: fogbank has one storage tier.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from fogbank.services.s3 import errors
from fogbank.services.s3.records import Bucket, ObjectVersion, to_datetime
from fogbank.services.s3.store import S3Store

log = logging.getLogger(__name__)

DAY = 86400
_ACTIONS = ("Expiration", "Transitions", "NoncurrentVersionExpiration", "NoncurrentVersionTransitions",
            "AbortIncompleteMultipartUpload", "Transition", "NoncurrentVersionTransition")


def _positive(value: Any, message: str) -> None:
    if value is not None and int(value) <= 0:
        raise errors.InvalidArgument(message)


def validate(config: dict[str, Any] | None) -> list[dict[str, Any]]:
    rules = (config or {}).get("Rules") or []
    if not rules or len(rules) > 1000:
        raise errors.MalformedXML()
    seen: set[str] = set()
    for rule in rules:
        rule_id = rule.get("ID")
        if rule_id is not None:
            if len(rule_id) > 255:
                raise errors.InvalidArgument("ID length should not exceed allowed limit of 255")
            if rule_id in seen:
                raise errors.InvalidArgument("RuleId must be unique. Found same ID for more than one rule")
            seen.add(rule_id)
        if rule.get("Status") not in ("Enabled", "Disabled"):
            raise errors.MalformedXML()
        if "Filter" in rule and "Prefix" in rule:
            raise errors.MalformedXML()
        filt = rule.get("Filter") or {}
        if sum(1 for k in ("Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan", "And")
               if filt.get(k) is not None) > 1:
            raise errors.MalformedXML()
        if not any(rule.get(a) for a in _ACTIONS):
            raise errors.InvalidRequest("At least one action needs to be specified in a rule")
        expiration = rule.get("Expiration")
        if expiration is not None:
            given = [k for k in ("Days", "Date", "ExpiredObjectDeleteMarker") if expiration.get(k) is not None]
            if len(given) != 1:
                raise errors.MalformedXML()
            _positive(expiration.get("Days"), "'Days' for Expiration action must be a positive integer")
            date = expiration.get("Date")
            if date is not None and (date.timestamp() % DAY) != 0:
                raise errors.InvalidArgument("'Date' must be at midnight GMT")
            if expiration.get("ExpiredObjectDeleteMarker") and _has_tags(rule):
                raise errors.InvalidRequest("ExpiredObjectDeleteMarker cannot be specified with tags.")
        noncurrent = rule.get("NoncurrentVersionExpiration")
        if noncurrent is not None:
            _positive(noncurrent.get("NoncurrentDays") or 0,
                      "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
        abort = rule.get("AbortIncompleteMultipartUpload")
        if abort is not None:
            _positive(abort.get("DaysAfterInitiation") or 0,
                      "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
            if _has_tags(rule):
                raise errors.InvalidRequest("Tag-based filter cannot be used with AbortIncompleteMultipartUpload "
                                            "action")
    return rules


def _has_tags(rule: dict[str, Any]) -> bool:
    filt = rule.get("Filter") or {}
    return bool(filt.get("Tag") or (filt.get("And") or {}).get("Tags"))


def rule_prefix(rule: dict[str, Any]) -> str:
    filt = rule.get("Filter")
    if filt is None:
        return str(rule.get("Prefix") or "")
    if filt.get("And") is not None:
        return str(filt["And"].get("Prefix") or "")
    return str(filt.get("Prefix") or "")


def matches(rule: dict[str, Any], key: str, size: int | None, tags: list[tuple[str, str]] | None) -> bool:
    """Whether an object falls under a rule's filter (size and tags are ignored when None)."""
    if not key.startswith(rule_prefix(rule)):
        return False
    filt: dict[str, Any] = rule.get("Filter") or {}
    spec: dict[str, Any] = filt["And"] if filt.get("And") is not None else filt
    wanted = list(spec.get("Tags") or []) + ([spec["Tag"]] if spec.get("Tag") else [])
    if wanted and tags is not None:
        have = dict(tags)
        if any(have.get(t.get("Key")) != t.get("Value") for t in wanted):
            return False
    if size is not None:
        if spec.get("ObjectSizeGreaterThan") is not None and not size > int(spec["ObjectSizeGreaterThan"]):
            return False
        if spec.get("ObjectSizeLessThan") is not None and not size < int(spec["ObjectSizeLessThan"]):
            return False
    return True


def next_midnight(epoch: float) -> float:
    return math.ceil(epoch / DAY) * DAY


def expiry_of(rule: dict[str, Any], modified: float) -> float | None:
    expiration = rule.get("Expiration") or {}
    if expiration.get("Days") is not None:
        return next_midnight(modified + int(expiration["Days"]) * DAY)
    if expiration.get("Date") is not None:
        date: datetime = expiration["Date"]
        return date.timestamp()
    return None


def enabled_rules(store: S3Store, bucket_id: int) -> list[dict[str, Any]]:
    config = store.get_config(bucket_id, "lifecycle") or {}
    return [r for r in config.get("Rules") or [] if r.get("Status") == "Enabled"]


def expiration_header(store: S3Store, bucket: Bucket, version: ObjectVersion) -> str | None:
    """The x-amz-expiration value S3 sends with an object a rule will expire."""
    best: tuple[float, str] | None = None
    for rule in enabled_rules(store, bucket.id):
        if not matches(rule, version.key, version.size, version.tags):
            continue
        when = expiry_of(rule, version.modified)
        if when is not None and (best is None or when < best[0]):
            best = (when, str(rule.get("ID") or ""))
    if best is None:
        return None
    return f'expiry-date="{format_datetime(to_datetime(best[0]), usegmt=True)}", rule-id="{best[1]}"'


def _by_key(versions: Iterator[ObjectVersion]) -> Iterator[list[ObjectVersion]]:
    group: list[ObjectVersion] = []
    for version in versions:
        if group and group[0].key != version.key:
            yield group
            group = []
        group.append(version)
    if group:
        yield group


def apply(store: S3Store, now: datetime) -> dict[str, int]:
    """Applies every enabled expiration rule as of `now`; returns counts of what it did."""
    counts = {"expired": 0, "noncurrent": 0, "markers": 0, "uploads": 0}
    at = now.timestamp()
    for bucket_id in store.buckets_with_config("lifecycle"):
        bucket = store.bucket_by_id(bucket_id)
        rules = enabled_rules(store, bucket_id)
        if bucket is None or not rules:
            continue
        try:
            _apply_bucket(store, bucket, rules, at, counts)
        except errors.NoSuchBucket:
            continue
    return counts


def _apply_bucket(store: S3Store, bucket: Bucket, rules: list[dict[str, Any]], at: float,
                  counts: dict[str, int]) -> None:
    for group in _by_key(store.iter_versions(bucket.id)):
        remaining = list(group)
        current = group[0] if group[0].latest else None
        if current is not None and not current.delete_marker:
            for rule in rules:
                when = expiry_of(rule, current.modified)
                if when is not None and at >= when and matches(rule, current.key, current.size, current.tags):
                    try:
                        _expire_current(store, bucket, current)
                    except errors.PreconditionFailed:
                        break
                    counts["expired"] += 1
                    break
        for index, version in enumerate(group[1:], start=1):
            newer = group[index - 1]
            for rule in rules:
                spec = rule.get("NoncurrentVersionExpiration")
                if not spec or not spec.get("NoncurrentDays"):
                    continue
                keep = spec.get("NewerNoncurrentVersions")
                if keep is not None and index - 1 < int(keep):
                    continue
                if not matches(rule, version.key, None if version.delete_marker else version.size,
                               None if version.delete_marker else version.tags):
                    continue
                if at >= next_midnight(newer.modified + int(spec["NoncurrentDays"]) * DAY):
                    store.delete_object(bucket, version.key, version.version_id)
                    remaining.remove(version)
                    counts["noncurrent"] += 1
                    break
        if len(remaining) == 1 and remaining[0].delete_marker and remaining[0].latest:
            marker = remaining[0]
            for rule in rules:
                expiration = rule.get("Expiration") or {}
                if expiration.get("ExpiredObjectDeleteMarker") and marker.key.startswith(rule_prefix(rule)):
                    store.delete_object(bucket, marker.key, marker.version_id)
                    counts["markers"] += 1
                    break
    for upload in store.expired_uploads(bucket.id):
        for rule in rules:
            spec = rule.get("AbortIncompleteMultipartUpload")
            if not spec or not upload.key.startswith(rule_prefix(rule)):
                continue
            if at >= next_midnight(upload.initiated + int(spec["DaysAfterInitiation"]) * DAY):
                try:
                    store.abort_upload(upload)
                except errors.NoSuchUpload:
                    pass
                else:
                    counts["uploads"] += 1
                break


def _expire_current(store: S3Store, bucket: Bucket, current: ObjectVersion) -> None:
    """Expires the current version unless it was replaced since the scan read it."""

    def still_current(latest: ObjectVersion | None) -> None:
        if latest is None or latest.id != current.id:
            raise errors.PreconditionFailed()

    store.delete_object(bucket, current.key, None, still_current)
