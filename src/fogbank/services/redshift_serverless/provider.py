"""The Redshift Serverless provider: namespaces (where the data lives) and workgroups (how it is reached).

Both are AVAILABLE as soon as they are made. A workgroup serves exactly one namespace, and the warehouse the
Data API opens for a workgroup belongs to its namespace, so listeners in `on_namespace_deleted` drop the
data with the namespace.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.protocol.dispatch import Provider, operation
from fogbank.services.redshift.docstore import DocExists, DocMissing, DocStore, Scope
from fogbank.services.redshift_serverless.errors import (
    ConflictException,
    ResourceNotFoundException,
    TooManyTagsException,
    ValidationException,
)

NAMESPACE = "namespace"
WORKGROUP = "workgroup"
MAX_TAGS = 200
_NAME = re.compile(r"^[a-z0-9-]{3,64}$")
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_$]{0,63}$")

DEFAULT_CONFIG = [
    {"parameterKey": "auto_mv", "parameterValue": "true"},
    {"parameterKey": "datestyle", "parameterValue": "ISO, MDY"},
    {"parameterKey": "enable_case_sensitive_identifier", "parameterValue": "false"},
    {"parameterKey": "enable_user_activity_logging", "parameterValue": "true"},
    {"parameterKey": "query_group", "parameterValue": "default"},
    {"parameterKey": "require_ssl", "parameterValue": "false"},
    {"parameterKey": "search_path", "parameterValue": "$user, public"},
    {"parameterKey": "use_fips_ssl", "parameterValue": "false"},
    {"parameterKey": "max_query_execution_time", "parameterValue": "14400"},
]
_NAMESPACE_SETTINGS = ("adminUsername", "defaultIamRoleArn", "iamRoles", "kmsKeyId", "logExports",
                       "adminPasswordSecretKmsKeyId")
_WORKGROUP_SETTINGS = ("baseCapacity", "maxCapacity", "enhancedVpcRouting", "publiclyAccessible",
                       "securityGroupIds", "subnetIds", "trackName", "ipAddressType", "pricePerformanceTarget",
                       "extraComputeForAutomaticOptimization")


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name):
        raise ValidationException(f"{what} name must be between 3 and 64 characters long and contain only "
                                  "lowercase letters, numbers and hyphens.")


def _tags(given: list[dict[str, str]] | None) -> dict[str, str]:
    tags = {t["key"]: t["value"] for t in given or []}
    if len(tags) > MAX_TAGS:
        raise TooManyTagsException(f"Exceeded the maximum number of tags ({MAX_TAGS}).")
    return tags


def _page(items: list[dict[str, Any]], req: dict[str, Any], key: str) -> tuple[list[dict[str, Any]], str | None]:
    limit = req.get("maxResults") or 100
    token = req.get("nextToken")
    if token:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            raise ValidationException("Invalid nextToken.") from None
        items = [i for i in items if i[key] > after]
    page = items[:limit]
    more = len(items) > limit
    return page, (base64.urlsafe_b64encode(page[-1][key].encode()).decode() if more and page else None)


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


class RedshiftServerlessProvider(Provider):
    """Namespaces and workgroups, durable in one SQLite file under the service's data folder."""

    services = ("redshift-serverless",)

    def __init__(self, config: Config) -> None:
        self.store = DocStore(config.service_dir("redshift-serverless") / "serverless.db")
        # Called with (scope, namespace record) after a namespace is deleted.
        self.on_namespace_deleted: list[Callable[[Scope, dict[str, Any]], None]] = []

    def close(self) -> None:
        self.store.close()

    # -- what the Data API asks ---------------------------------------------------------------------------

    def find_workgroup(self, scope: Scope, name: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """A workgroup and the namespace it serves, or None."""
        workgroup = self.store.get(scope, WORKGROUP, name)
        if workgroup is None:
            return None
        namespace = self.store.get(scope, NAMESPACE, workgroup["namespaceName"])
        return (workgroup, namespace) if namespace is not None else None

    # -- namespaces -----------------------------------------------------------------------------------------

    def _namespace(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        record = self.store.get(ctx.scope, NAMESPACE, name)
        if record is None:
            raise ResourceNotFoundException(f"Namespace {name} does not exist.", resourceName=name)
        return record

    @operation("CreateNamespace")
    def create_namespace(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["namespaceName"]
        _check_name(name, "Namespace")
        db_name = req.get("dbName") or "dev"
        if not _DB_NAME.match(db_name):
            raise ValidationException("dbName must start with a letter or underscore and contain only lowercase "
                                      "letters, numbers, underscores or dollar signs.")
        if req.get("manageAdminPassword") and req.get("adminUserPassword"):
            raise ValidationException("You can't use adminUserPassword and manageAdminPassword at the same time.")
        namespace_id = str(uuid.uuid4())
        arn = f"arn:aws:redshift-serverless:{ctx.region}:{ctx.account_id}:namespace/{namespace_id}"
        record: dict[str, Any] = {
            "namespaceName": name, "namespaceId": namespace_id, "namespaceArn": arn, "dbName": db_name,
            "adminUsername": req.get("adminUsername") or "admin", "kmsKeyId": "AWS_OWNED_KMS_KEY",
            "iamRoles": [], "logExports": [], "status": "AVAILABLE", "creationDate": time.time(),
            "_tags": _tags(req.get("tags")),
        }
        for member in _NAMESPACE_SETTINGS:
            if req.get(member) is not None:
                record[member] = req[member]
        if req.get("manageAdminPassword"):
            record["adminPasswordSecretArn"] = (f"arn:aws:secretsmanager:{ctx.region}:{ctx.account_id}:secret:"
                                                f"redshift!{name}-{record['adminUsername']}-{namespace_id[:6]}")
        try:
            self.store.create(ctx.scope, NAMESPACE, name, record)
        except DocExists:
            raise ConflictException(f"Namespace {name} already exists.") from None
        return {"namespace": _public(record)}

    @operation("GetNamespace")
    def get_namespace(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return {"namespace": _public(self._namespace(ctx, req["namespaceName"]))}

    @operation("ListNamespaces")
    def list_namespaces(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        page, token = _page([_public(r) for r in self.store.documents(ctx.scope, NAMESPACE)], req, "namespaceName")
        out: dict[str, Any] = {"namespaces": page}
        if token:
            out["nextToken"] = token
        return out

    @operation("UpdateNamespace")
    def update_namespace(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["namespaceName"]
        if bool(req.get("adminUsername")) != bool(req.get("adminUserPassword")) and not req.get(
                "manageAdminPassword"):
            raise ValidationException("You must specify both adminUsername and adminUserPassword, or neither.")

        def change(record: dict[str, Any]) -> None:
            for member in _NAMESPACE_SETTINGS:
                if req.get(member) is not None:
                    record[member] = req[member]

        try:
            record = self.store.update(ctx.scope, NAMESPACE, name, change)
        except DocMissing:
            raise ResourceNotFoundException(f"Namespace {name} does not exist.", resourceName=name) from None
        return {"namespace": _public(record)}

    @operation("DeleteNamespace")
    def delete_namespace(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["namespaceName"]
        self._namespace(ctx, name)
        if any(w["namespaceName"] == name for w in self.store.documents(ctx.scope, WORKGROUP)):
            raise ConflictException(f"Namespace {name} has an associated workgroup. Delete the workgroup before "
                                    "deleting the namespace.")
        try:
            record = self.store.delete(ctx.scope, NAMESPACE, name)
        except DocMissing:
            raise ResourceNotFoundException(f"Namespace {name} does not exist.", resourceName=name) from None
        for listener in self.on_namespace_deleted:
            listener(ctx.scope, record)
        record["status"] = "DELETING"
        return {"namespace": _public(record)}

    # -- workgroups -----------------------------------------------------------------------------------------

    def _workgroup(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        record = self.store.get(ctx.scope, WORKGROUP, name)
        if record is None:
            raise ResourceNotFoundException(f"Workgroup {name} does not exist.", resourceName=name)
        return record

    @staticmethod
    def _capacity(req: dict[str, Any]) -> None:
        base = req.get("baseCapacity")
        if base is not None and (base < 8 or base > 1024 or base % 8):
            raise ValidationException("The base capacity must be between 8 and 1024 RPUs, in units of 8.")
        maximum = req.get("maxCapacity")
        if maximum is not None and base is not None and maximum < base:
            raise ValidationException("The max capacity must be greater than or equal to the base capacity.")

    @staticmethod
    def _config_parameters(current: list[dict[str, str]], given: list[dict[str, str]] | None) -> list[dict[str, str]]:
        values = {p["parameterKey"]: p["parameterValue"] for p in current}
        known = {p["parameterKey"] for p in DEFAULT_CONFIG}
        for parameter in given or []:
            key = parameter.get("parameterKey")
            if key not in known:
                raise ValidationException(f"Invalid config parameter key: {key}.")
            values[key] = parameter.get("parameterValue", "")
        return [{"parameterKey": k, "parameterValue": v} for k, v in sorted(values.items())]

    @operation("CreateWorkgroup")
    def create_workgroup(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["workgroupName"]
        _check_name(name, "Workgroup")
        namespace = self._namespace(ctx, req["namespaceName"])
        self._capacity(req)
        if any(w["namespaceName"] == namespace["namespaceName"] for w in self.store.documents(ctx.scope, WORKGROUP)):
            raise ConflictException(f"Namespace {namespace['namespaceName']} already has a workgroup.")
        port = int(req.get("port") or 5439)
        workgroup_id = str(uuid.uuid4())
        record: dict[str, Any] = {
            "workgroupName": name, "workgroupId": workgroup_id,
            "workgroupArn": f"arn:aws:redshift-serverless:{ctx.region}:{ctx.account_id}:workgroup/{workgroup_id}",
            "namespaceName": namespace["namespaceName"], "baseCapacity": 128, "enhancedVpcRouting": False,
            "configParameters": self._config_parameters(DEFAULT_CONFIG, req.get("configParameters")),
            "securityGroupIds": [], "subnetIds": [], "status": "AVAILABLE", "publiclyAccessible": False,
            "endpoint": {"address": "localhost", "port": port, "vpcEndpoints": []},
            "port": port, "creationDate": time.time(), "workgroupVersion": "1.0", "patchVersion": "1.0",
            "trackName": "current", "ipAddressType": "ipv4", "_tags": _tags(req.get("tags")),
        }
        for member in _WORKGROUP_SETTINGS:
            if req.get(member) is not None:
                record[member] = req[member]
        try:
            self.store.create(ctx.scope, WORKGROUP, name, record)
        except DocExists:
            raise ConflictException(f"Workgroup {name} already exists.") from None
        return {"workgroup": _public(record)}

    @operation("GetWorkgroup")
    def get_workgroup(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return {"workgroup": _public(self._workgroup(ctx, req["workgroupName"]))}

    @operation("ListWorkgroups")
    def list_workgroups(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        owner = req.get("ownerAccount")
        found = [] if owner and owner != ctx.account_id else [_public(r) for r in self.store.documents(ctx.scope,
                                                                                                 WORKGROUP)]
        page, token = _page(found, req, "workgroupName")
        out: dict[str, Any] = {"workgroups": page}
        if token:
            out["nextToken"] = token
        return out

    @operation("UpdateWorkgroup")
    def update_workgroup(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["workgroupName"]
        self._capacity(req)

        def change(record: dict[str, Any]) -> None:
            for member in _WORKGROUP_SETTINGS:
                if req.get(member) is not None:
                    record[member] = req[member]
            if req.get("configParameters") is not None:
                record["configParameters"] = self._config_parameters(record["configParameters"],
                                                                     req["configParameters"])
            if req.get("port") is not None:
                record["port"] = int(req["port"])
                record["endpoint"]["port"] = int(req["port"])

        try:
            record = self.store.update(ctx.scope, WORKGROUP, name, change)
        except DocMissing:
            raise ResourceNotFoundException(f"Workgroup {name} does not exist.", resourceName=name) from None
        return {"workgroup": _public(record)}

    @operation("DeleteWorkgroup")
    def delete_workgroup(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["workgroupName"]
        try:
            record = self.store.delete(ctx.scope, WORKGROUP, name)
        except DocMissing:
            raise ResourceNotFoundException(f"Workgroup {name} does not exist.", resourceName=name) from None
        record["status"] = "DELETING"
        return {"workgroup": _public(record)}

    @operation("GetCredentials")
    def get_credentials(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req.get("workgroupName")
        if not name:
            raise ValidationException("workgroupName or customDomainName is required.")
        self._workgroup(ctx, name)
        duration = int(req.get("durationSeconds") or 900)
        if not 900 <= duration <= 3600:
            raise ValidationException("durationSeconds must be between 900 and 3600.")
        now = time.time()
        return {"dbUser": "IAMR:fogbank", "dbPassword": secrets.token_urlsafe(32), "expiration": now + duration,
                "nextRefreshTime": now + duration / 2}

    # -- tags -------------------------------------------------------------------------------------------------

    def _by_arn(self, ctx: RequestContext, arn: str) -> tuple[str, str]:
        for kind, member in ((NAMESPACE, "namespaceArn"), (WORKGROUP, "workgroupArn")):
            for record in self.store.documents(ctx.scope, kind):
                if record[member] == arn:
                    return kind, record[f"{kind}Name"]
        raise ResourceNotFoundException(f"Resource {arn} does not exist.", resourceName=arn)

    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        kind, name = self._by_arn(ctx, req["resourceArn"])
        added = _tags(req["tags"])

        def change(record: dict[str, Any]) -> None:
            tags = dict(record.get("_tags") or {})
            tags.update(added)
            if len(tags) > MAX_TAGS:
                raise TooManyTagsException(f"Exceeded the maximum number of tags ({MAX_TAGS}).",
                                           resourceName=req["resourceArn"])
            record["_tags"] = tags

        self.store.update(ctx.scope, kind, name, change)
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        kind, name = self._by_arn(ctx, req["resourceArn"])
        gone = set(req["tagKeys"])

        def change(record: dict[str, Any]) -> None:
            record["_tags"] = {k: v for k, v in (record.get("_tags") or {}).items() if k not in gone}

        self.store.update(ctx.scope, kind, name, change)
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        kind, name = self._by_arn(ctx, req["resourceArn"])
        record = self.store.get(ctx.scope, kind, name) or {}
        return {"tags": [{"key": k, "value": v} for k, v in sorted((record.get("_tags") or {}).items())]}
