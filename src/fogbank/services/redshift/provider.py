"""The Redshift provider: provisioned clusters, their tags and temporary credentials.

Clusters exist so tools that create, wait for and check a cluster work; the data of a cluster lives in the
warehouse the Data API opens for it, and listeners registered in `on_cluster_deleted` drop it with the
cluster.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from typing import Any

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.protocol.dispatch import Provider, operation
from fogbank.services.redshift import clusters
from fogbank.services.redshift.docstore import DocExists, DocMissing, DocStore, Scope
from fogbank.services.redshift.errors import (
    ClusterAlreadyExistsFault,
    ClusterNotFoundFault,
    InvalidClusterStateFault,
    InvalidParameterCombination,
    InvalidParameterValue,
    InvalidTagFault,
    ResourceNotFoundFault,
    TagLimitExceededFault,
)

CLUSTER = "cluster"
MAX_TAGS = 50


def _page(items: list[dict[str, Any]], req: dict[str, Any], key: str) -> tuple[list[dict[str, Any]], str | None]:
    """Marker paging: the marker is the key of the last item returned."""
    limit = req.get("MaxRecords")
    if limit is not None and not 20 <= limit <= 100:
        raise InvalidParameterValue("MaxRecords must be between 20 and 100.")
    limit = limit or 100
    marker = req.get("Marker")
    if marker:
        try:
            after = base64.urlsafe_b64decode(marker.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            raise InvalidParameterValue("Invalid marker.") from None
        items = [i for i in items if i[key] > after]
    page = items[:limit]
    more = len(items) > limit
    next_marker = base64.urlsafe_b64encode(page[-1][key].encode()).decode() if more and page else None
    return page, next_marker


def _tag_filter(req: dict[str, Any]) -> Callable[[list[dict[str, str]]], bool]:
    keys = set(req.get("TagKeys") or [])
    values = set(req.get("TagValues") or [])

    def matches(tags: list[dict[str, str]]) -> bool:
        if keys and not any(t.get("Key") in keys for t in tags):
            return False
        return not (values and not any(t.get("Value") in values for t in tags))

    return matches


class RedshiftProvider(Provider):
    """Provisioned clusters, durable in one SQLite file under the service's data folder."""

    services = ("redshift",)

    def __init__(self, config: Config) -> None:
        self.store = DocStore(config.service_dir("redshift") / "clusters.db")
        # Called with (scope, cluster record) after a cluster is deleted.
        self.on_cluster_deleted: list[Callable[[Scope, dict[str, Any]], None]] = []

    def close(self) -> None:
        self.store.close()

    # -- what the Data API asks ---------------------------------------------------------------------------

    def find_cluster(self, scope: Scope, identifier: str) -> dict[str, Any] | None:
        """The stored record of a cluster (with its internal members), or None."""
        return self.store.get(scope, CLUSTER, identifier.lower())

    # -- clusters ---------------------------------------------------------------------------------------

    def _cluster(self, ctx: RequestContext, identifier: str) -> dict[str, Any]:
        record = self.store.get(ctx.scope, CLUSTER, identifier.lower())
        if record is None:
            raise ClusterNotFoundFault(f"Cluster {identifier} not found.")
        return record

    @operation("CreateCluster")
    def create_cluster(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        identifier = clusters.check_identifier(req["ClusterIdentifier"])
        clusters.check_username(req["MasterUsername"])
        if req.get("ManageMasterPassword"):
            if req.get("MasterUserPassword"):
                raise InvalidParameterCombination("You can't use MasterUserPassword and ManageMasterPassword "
                                                  "at the same time.")
        elif not req.get("MasterUserPassword"):
            raise InvalidParameterValue("MasterUserPassword is required unless ManageMasterPassword is true.")
        else:
            clusters.check_password(req["MasterUserPassword"])
        if len(req.get("Tags") or []) > MAX_TAGS:
            raise TagLimitExceededFault(f"You have exceeded the number of tags allowed ({MAX_TAGS}).")
        record = clusters.new_cluster(ctx.account_id, ctx.region, identifier, req)
        try:
            self.store.create(ctx.scope, CLUSTER, identifier, record)
        except DocExists:
            raise ClusterAlreadyExistsFault("Cluster already exists") from None
        return {"Cluster": clusters.public(record)}

    @operation("DescribeClusters")
    def describe_clusters(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if req.get("ClusterIdentifier"):
            return {"Clusters": [clusters.public(self._cluster(ctx, req["ClusterIdentifier"]))]}
        matches = _tag_filter(req)
        found = [clusters.public(r) for r in self.store.documents(ctx.scope, CLUSTER) if matches(r.get("Tags") or [])]
        page, marker = _page(found, req, "ClusterIdentifier")
        out: dict[str, Any] = {"Clusters": page}
        if marker:
            out["Marker"] = marker
        return out

    @operation("DeleteCluster")
    def delete_cluster(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        identifier = req["ClusterIdentifier"].lower()
        if not req.get("SkipFinalClusterSnapshot") and not req.get("FinalClusterSnapshotIdentifier"):
            raise InvalidParameterCombination("FinalClusterSnapshotIdentifier is required unless "
                                              "SkipFinalClusterSnapshot is specified.")
        try:
            record = self.store.delete(ctx.scope, CLUSTER, identifier)
        except DocMissing:
            raise ClusterNotFoundFault(f"Cluster {req['ClusterIdentifier']} not found.") from None
        for listener in self.on_cluster_deleted:
            listener(ctx.scope, record)
        record["ClusterStatus"] = "deleting"
        record["ClusterAvailabilityStatus"] = "Modifying"
        return {"Cluster": clusters.public(record)}

    def _change(self, ctx: RequestContext, identifier: str,
                change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        try:
            return self.store.update(ctx.scope, CLUSTER, identifier.lower(), change)
        except DocMissing:
            raise ClusterNotFoundFault(f"Cluster {identifier} not found.") from None

    @operation("ModifyCluster")
    def modify_cluster(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        identifier = req["ClusterIdentifier"]
        if req.get("MasterUserPassword"):
            clusters.check_password(req["MasterUserPassword"])
        new_name = req.get("NewClusterIdentifier")
        if new_name:
            new_name = clusters.check_identifier(new_name, "New cluster identifier")
        record = self._cluster(ctx, identifier)
        if record["ClusterStatus"] != "available":
            raise InvalidClusterStateFault(f"There is an operation running on the Cluster {identifier}. "
                                           "Please try to modify it later.")
        if new_name and new_name != record["ClusterIdentifier"]:
            clusters.apply_modify(record, req)
            old = record["ClusterIdentifier"]
            record["ClusterIdentifier"] = new_name
            try:
                self.store.rename(ctx.scope, CLUSTER, old, new_name, record)
            except DocExists:
                raise ClusterAlreadyExistsFault("Cluster already exists") from None
            return {"Cluster": clusters.public(record)}
        return {"Cluster": clusters.public(self._change(ctx, identifier,
                                                        lambda r: clusters.apply_modify(r, req)))}

    def _set_status(self, ctx: RequestContext, identifier: str, allowed: tuple[str, ...], status: str,
                    verb: str) -> dict[str, Any]:
        def change(record: dict[str, Any]) -> None:
            if record["ClusterStatus"] not in allowed:
                raise InvalidClusterStateFault(f"You cannot {verb} cluster {identifier} in "
                                               f"{record['ClusterStatus']} state.")
            record["ClusterStatus"] = status
            record["ClusterAvailabilityStatus"] = "Paused" if status == "paused" else "Available"

        return {"Cluster": clusters.public(self._change(ctx, identifier, change))}

    @operation("RebootCluster")
    def reboot_cluster(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._set_status(ctx, req["ClusterIdentifier"], ("available",), "available", "reboot")

    @operation("PauseCluster")
    def pause_cluster(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._set_status(ctx, req["ClusterIdentifier"], ("available",), "paused", "pause")

    @operation("ResumeCluster")
    def resume_cluster(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return self._set_status(ctx, req["ClusterIdentifier"], ("paused",), "available", "resume")

    @operation("GetClusterCredentials")
    def get_cluster_credentials(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if not req.get("ClusterIdentifier"):
            raise InvalidParameterValue("ClusterIdentifier is required.")
        self._cluster(ctx, req["ClusterIdentifier"])
        duration = int(req.get("DurationSeconds") or 900)
        if not 900 <= duration <= 3600:
            raise InvalidParameterValue("DurationSeconds must be between 900 and 3600.")
        user = req["DbUser"]
        return {"DbUser": user if user.startswith("IAM:") else f"IAM:{user}",
                "DbPassword": secrets.token_urlsafe(32), "Expiration": time.time() + duration}

    @operation("GetClusterCredentialsWithIAM")
    def get_cluster_credentials_with_iam(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if not req.get("ClusterIdentifier"):
            raise InvalidParameterValue("ClusterIdentifier is required.")
        self._cluster(ctx, req["ClusterIdentifier"])
        duration = int(req.get("DurationSeconds") or 900)
        if not 900 <= duration <= 3600:
            raise InvalidParameterValue("DurationSeconds must be between 900 and 3600.")
        return {"DbUser": "IAMR:fogbank", "DbPassword": secrets.token_urlsafe(32),
                "Expiration": time.time() + duration, "NextRefreshTime": time.time() + duration / 2}

    # -- tags ---------------------------------------------------------------------------------------------

    def _tagged_cluster(self, ctx: RequestContext, resource: str) -> str:
        prefix = f"arn:aws:redshift:{ctx.region}:{ctx.account_id}:cluster:"
        if not resource.startswith(prefix):
            raise InvalidTagFault(f"The resource name {resource} is not valid for this account and region.")
        identifier = resource[len(prefix):]
        if self.find_cluster(ctx.scope, identifier) is None:
            raise ResourceNotFoundFault(f"The resource {resource} could not be found.")
        return identifier

    @operation("CreateTags")
    def create_tags(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        identifier = self._tagged_cluster(ctx, req["ResourceName"])

        def change(record: dict[str, Any]) -> None:
            tags = {t["Key"]: t.get("Value", "") for t in record.get("Tags") or []}
            for tag in req["Tags"]:
                tags[tag["Key"]] = tag.get("Value", "")
            if len(tags) > MAX_TAGS:
                raise TagLimitExceededFault(f"You have exceeded the number of tags allowed ({MAX_TAGS}).")
            record["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]

        self._change(ctx, identifier, change)
        return {}

    @operation("DeleteTags")
    def delete_tags(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        identifier = self._tagged_cluster(ctx, req["ResourceName"])
        gone = set(req["TagKeys"])

        def change(record: dict[str, Any]) -> None:
            record["Tags"] = [t for t in record.get("Tags") or [] if t["Key"] not in gone]

        self._change(ctx, identifier, change)
        return {}

    @operation("DescribeTags")
    def describe_tags(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        kind = req.get("ResourceType")
        if kind is not None and kind.lower() != "cluster":
            return {"TaggedResources": []}
        records = self.store.documents(ctx.scope, CLUSTER)
        if req.get("ResourceName"):
            identifier = self._tagged_cluster(ctx, req["ResourceName"])
            records = [r for r in records if r["ClusterIdentifier"] == identifier]
        keys = set(req.get("TagKeys") or [])
        values = set(req.get("TagValues") or [])
        tagged: list[dict[str, Any]] = []
        for record in records:
            name = clusters.arn(ctx.account_id, ctx.region, record["ClusterIdentifier"])
            for tag in record.get("Tags") or []:
                if keys and tag["Key"] not in keys:
                    continue
                if values and tag.get("Value") not in values:
                    continue
                tagged.append({"Tag": tag, "ResourceName": name, "ResourceType": "cluster",
                               "_key": f"{name}\n{tag['Key']}"})
        page, marker = _page(tagged, req, "_key")
        out: dict[str, Any] = {"TaggedResources": [{k: v for k, v in t.items() if k != "_key"} for t in page]}
        if marker:
            out["Marker"] = marker
        return out
