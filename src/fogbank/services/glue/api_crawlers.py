"""Glue crawler operations (definitions, runs, schedules, metrics) and resource tags."""

from __future__ import annotations

import copy
import json
import re
import time
from typing import Any

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import operation
from fogbank.services.glue.api_base import GlueBase
from fogbank.services.glue.cron import parse_cron
from fogbank.services.glue.errors import (
    EntityNotFoundException,
    InvalidInputException,
    NoScheduleException,
    SchedulerNotRunningException,
    SchedulerRunningException,
)
from fogbank.services.glue.records import normalize_name

_TARGET_KINDS = ("S3Targets", "JdbcTargets", "MongoDBTargets", "DynamoDBTargets", "CatalogTargets",
                 "DeltaTargets", "IcebergTargets", "HudiTargets")
_DEFINITION = ("Role", "Targets", "DatabaseName", "Description", "Classifiers", "RecrawlPolicy",
               "SchemaChangePolicy", "LineageConfiguration", "TablePrefix", "Schedule", "Configuration",
               "CrawlerSecurityConfiguration", "LakeFormationConfiguration")
_DEFAULTS: dict[str, Any] = {
    "Classifiers": [],
    "SchemaChangePolicy": {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "DEPRECATE_IN_DATABASE"},
    "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_EVERYTHING"},
    "LineageConfiguration": {"CrawlerLineageSettings": "DISABLE"},
    "LakeFormationConfiguration": {"UseLakeFormationCredentials": False, "AccountId": ""},
}
_ARN = re.compile(r"^arn:aws[a-z-]*:glue:([^:]*):(\d{12}):(.+)$")


def _targets(given: dict[str, Any]) -> dict[str, Any]:
    targets = {kind: copy.deepcopy(given.get(kind) or []) for kind in _TARGET_KINDS}
    if not any(targets.values()):
        raise InvalidInputException("Crawler must have at least one target.")
    for target in targets["S3Targets"]:
        path = target.get("Path") or ""
        if not re.match(r"^s3[an]?://[^/]+", path, re.IGNORECASE):
            raise InvalidInputException(f"Invalid S3 target path: {path}")
        target.setdefault("Exclusions", [])
    for target in targets["IcebergTargets"]:
        paths = target.get("Paths") or []
        if not paths:
            raise InvalidInputException("An Iceberg target must have at least one path.")
        for path in paths:
            if not re.match(r"^s3[an]?://[^/]+", path, re.IGNORECASE):
                raise InvalidInputException(f"Invalid Iceberg target path: {path}")
        depth = target.get("MaximumTraversalDepth")
        if depth is not None and not 1 <= depth <= 20:
            raise InvalidInputException("MaximumTraversalDepth of an Iceberg target must be between 1 and 20.")
        target.setdefault("Exclusions", [])
    return targets


def _definition(req: dict[str, Any], base: dict[str, Any] | None = None) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The stored definition members a Create/UpdateCrawler request sets, checked, and those it removes."""
    changes: dict[str, Any] = {k: copy.deepcopy(req[k]) for k in _DEFINITION if req.get(k) is not None}
    removed: list[str] = []
    if "Targets" in changes:
        changes["Targets"] = _targets(changes["Targets"])
    if "Schedule" in changes:
        if changes["Schedule"].strip():
            parse_cron(changes["Schedule"])
        else:
            del changes["Schedule"]
            removed.append("Schedule")
    if changes.get("Description") == "" and base is not None:
        del changes["Description"]
        removed.append("Description")
    if "Configuration" in changes:
        try:
            config = json.loads(changes["Configuration"])
        except ValueError:
            raise InvalidInputException("Crawler configuration is not valid JSON.") from None
        if not isinstance(config, dict):
            raise InvalidInputException("Crawler configuration must be a JSON object.")
    merged = {**(base or {}), **changes}
    if (merged.get("RecrawlPolicy") or {}).get("RecrawlBehavior") == "CRAWL_NEW_FOLDERS_ONLY":
        policy = merged.get("SchemaChangePolicy") or {}
        if policy.get("UpdateBehavior", "UPDATE_IN_DATABASE") != "LOG" or \
                policy.get("DeleteBehavior", "DEPRECATE_IN_DATABASE") != "LOG":
            raise InvalidInputException("The SchemaChangePolicy for \"Crawl new folders only\" crawlers must be "
                                        "LOG for both updates and deletes.")
    return changes, tuple(removed)


class CrawlerOperations(GlueBase):
    @operation("CreateCrawler")
    def create_crawler(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        definition, _ = _definition(req)
        for key, value in _DEFAULTS.items():
            definition.setdefault(key, copy.deepcopy(value))
        if isinstance(definition.get("SchemaChangePolicy"), dict):
            definition["SchemaChangePolicy"] = {**_DEFAULTS["SchemaChangePolicy"], **definition["SchemaChangePolicy"]}
        self.crawler_store.create(ctx.account_id, ctx.region, req["Name"], definition)
        if req.get("Tags"):
            self.tags.tag(ctx.account_id, ctx.region, f"crawler/{req['Name']}", req["Tags"])
        return {}

    @operation("GetCrawler")
    def get_crawler(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        record = self.crawler_store.get(ctx.account_id, ctx.region, req["Name"])
        return {"Crawler": record.shape(time.time())}

    @operation("GetCrawlers")
    def get_crawlers(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        items, token = self._page(
            ctx, req, "GetCrawlers",
            lambda after, limit: self.crawler_store.crawlers(ctx.account_id, ctx.region, after, limit),
            lambda record: record.name, 100, 1000)
        stamp = time.time()
        return {"Crawlers": [r.shape(stamp) for r in items], **({"NextToken": token} if token else {})}

    @operation("ListCrawlers")
    def list_crawlers(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        wanted = req.get("Tags")
        names: list[str] | None = None
        if wanted:
            tagged = self.tags.resources_with(ctx.account_id, ctx.region, "crawler/", wanted)
            names = sorted(r[len("crawler/"):] for r in tagged)
        items, token = self._page(
            ctx, req, f"ListCrawlers|{sorted((wanted or {}).items())}",
            lambda after, limit: self.crawler_store.crawlers(ctx.account_id, ctx.region, after, limit, names),
            lambda record: record.name, 100, 1000)
        return {"CrawlerNames": [r.name for r in items], **({"NextToken": token} if token else {})}

    @operation("UpdateCrawler")
    def update_crawler(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._check_catalog(ctx, req)
        current = self.crawler_store.get(ctx.account_id, ctx.region, req["Name"])
        changes, removed = _definition(req, current.definition)
        if isinstance(changes.get("SchemaChangePolicy"), dict):
            changes["SchemaChangePolicy"] = {**_DEFAULTS["SchemaChangePolicy"], **changes["SchemaChangePolicy"]}
        self.crawler_store.update(ctx.account_id, ctx.region, req["Name"], changes, removed)
        return {}

    @operation("DeleteCrawler")
    def delete_crawler(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self.crawler_store.delete(ctx.account_id, ctx.region, req["Name"])
        self.tags.drop(ctx.account_id, ctx.region, f"crawler/{req['Name']}")
        return {}

    @operation("StartCrawler")
    def start_crawler(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self.runner.start(ctx.account_id, ctx.region, req["Name"])
        return {}

    @operation("StopCrawler")
    def stop_crawler(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self.runner.stop(ctx.account_id, ctx.region, req["Name"])
        return {}

    @operation("GetCrawlerMetrics")
    def get_crawler_metrics(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        names = req.get("CrawlerNameList")
        items, token = self._page(
            ctx, req, f"GetCrawlerMetrics|{names}",
            lambda after, limit: self.crawler_store.crawlers(ctx.account_id, ctx.region, after, limit, names),
            lambda record: record.name, 100, 1000)
        return {"CrawlerMetricsList": [r.metrics_shape() for r in items], **({"NextToken": token} if token else {})}

    @operation("ListCrawls")
    def list_crawls(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        crawls = self.crawler_store.history(ctx.account_id, ctx.region, req["CrawlerName"])
        for condition in req.get("Filters") or []:
            crawls = [c for c in crawls if _crawl_matches(c, condition)]
        items, token = self._page(
            ctx, req, f"ListCrawls|{req['CrawlerName']}|{req.get('Filters')}",
            lambda offset, limit: crawls[(offset or 0):(offset or 0) + limit],
            lambda crawl: crawls.index(crawl) + 1, 20, 1000)
        return {"Crawls": items, **({"NextToken": token} if token else {})}

    # -- schedules ----------------------------------------------------------------------------------------

    @operation("StartCrawlerSchedule")
    def start_crawler_schedule(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        record = self.crawler_store.get(ctx.account_id, ctx.region, req["CrawlerName"])
        if not record.definition.get("Schedule"):
            raise NoScheduleException(f"Crawler {record.name} has no schedule.")
        if record.schedule_state == "SCHEDULED":
            raise SchedulerRunningException(f"Schedule of crawler {record.name} is already running.")
        self.crawler_store.set_schedule_state(ctx.account_id, ctx.region, record.name, "SCHEDULED")
        return {}

    @operation("StopCrawlerSchedule")
    def stop_crawler_schedule(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        record = self.crawler_store.get(ctx.account_id, ctx.region, req["CrawlerName"])
        if record.schedule_state != "SCHEDULED":
            raise SchedulerNotRunningException(f"Schedule of crawler {record.name} is not running.")
        self.crawler_store.set_schedule_state(ctx.account_id, ctx.region, record.name, "NOT_SCHEDULED")
        return {}

    @operation("UpdateCrawlerSchedule")
    def update_crawler_schedule(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["CrawlerName"]
        expression = req.get("Schedule") or ""
        self.crawler_store.get(ctx.account_id, ctx.region, name)
        if expression.strip():
            parse_cron(expression)
            self.crawler_store.update(ctx.account_id, ctx.region, name, {"Schedule": expression})
        else:
            self.crawler_store.update(ctx.account_id, ctx.region, name, {}, ("Schedule",))
        return {}

    # -- tags ---------------------------------------------------------------------------------------------

    def _resource(self, ctx: RequestContext, arn: str) -> str:
        """The tagged resource an ARN names, in this caller's catalog; it must exist."""
        match = _ARN.match(arn)
        if match is None:
            raise InvalidInputException(f"Invalid resource ARN: {arn}")
        region, account, resource = match.groups()
        if account != ctx.account_id or (region and region != ctx.region):
            raise EntityNotFoundException(f"Resource {arn} not found.")
        kind, _, rest = resource.partition("/")
        if kind == "database" and rest and "/" not in rest:
            if self.catalog.exists(account, ctx.region, rest):
                return f"database/{normalize_name(rest)}"
        elif kind == "table" and rest.count("/") == 1:
            database, table = rest.split("/")
            if self.catalog.exists(account, ctx.region, database, table):
                return f"table/{normalize_name(database)}/{normalize_name(table)}"
        elif kind == "crawler" and rest:
            self.crawler_store.get(account, ctx.region, rest)
            return f"crawler/{rest}"
        elif resource == "catalog":
            return "catalog"
        raise EntityNotFoundException(f"Resource {arn} not found.")

    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self.tags.tag(ctx.account_id, ctx.region, self._resource(ctx, req["ResourceArn"]), req["TagsToAdd"])
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self.tags.untag(ctx.account_id, ctx.region, self._resource(ctx, req["ResourceArn"]), req["TagsToRemove"])
        return {}

    @operation("GetTags")
    def get_tags(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return {"Tags": self.tags.get(ctx.account_id, ctx.region, self._resource(ctx, req["ResourceArn"]))}


def _crawl_matches(crawl: dict[str, Any], condition: dict[str, Any]) -> bool:
    field = {"CRAWL_ID": "CrawlId", "STATE": "State", "START_TIME": "StartTime", "END_TIME": "EndTime",
             "DPU_HOUR": "DPUHour"}.get(condition.get("FieldName") or "")
    if field is None or condition.get("FieldValue") is None:
        return True
    value, wanted = crawl.get(field), condition["FieldValue"]
    if value is None:
        return False
    if hasattr(value, "timestamp"):
        left: Any = value.timestamp() * 1000
        right: Any = float(wanted)
    elif isinstance(value, float):
        left, right = value, float(wanted)
    else:
        left, right = str(value), str(wanted)
    op = condition.get("FilterOperator") or "EQ"
    return {"GT": left > right, "GE": left >= right, "LT": left < right, "LE": left <= right,
            "EQ": left == right, "NE": left != right}[op]
