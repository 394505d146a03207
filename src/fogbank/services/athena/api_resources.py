"""Workgroups, named queries, prepared statements, data catalogs and tags."""

from __future__ import annotations

import copy
import re
import time
import uuid
from typing import Any

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import operation
from fogbank.services.athena.base import (
    ENGINE_VERSION,
    PRIMARY,
    AthenaBase,
    decode_token,
    default_workgroup_config,
    encode_token,
    to_datetime,
)
from fogbank.services.athena.errors import InvalidRequestException, ResourceNotFoundException
from fogbank.services.athena.store import CATALOG, NAMED_QUERY, PREPARED, QUERY, TAGS, TOKEN, WORKGROUP, Conflict, Doc

DEFAULT_CATALOG = "AwsDataCatalog"
_WORKGROUP_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,128}$")


def _merge(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _page(rows: list[Doc], req: dict[str, Any], default_limit: int) -> tuple[list[Doc], str | None]:
    start = int(decode_token(req.get("NextToken")) or 0)
    limit = int(req.get("MaxResults") or default_limit)
    page = rows[start:start + limit]
    return page, encode_token(start + limit) if start + limit < len(rows) else None


class ResourceOps(AthenaBase):
    # -- workgroups ------------------------------------------------------------------------------------------

    @operation("CreateWorkGroup")
    def create_work_group(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self.ensure_primary(ctx.scope)
        name = req["Name"]
        if not _WORKGROUP_NAME.match(name):
            raise InvalidRequestException(f"Invalid WorkGroup name: {name}", "INVALID_INPUT")
        configuration = default_workgroup_config()
        _merge(configuration, req.get("Configuration") or {})
        configuration["EngineVersion"] = dict(ENGINE_VERSION)
        doc = {"Name": name, "State": "ENABLED", "Configuration": configuration,
               "Description": req.get("Description", ""), "CreationTime": time.time()}
        try:
            self.store.put(WORKGROUP, ctx.scope, "", name, doc, create_only=True)
        except Conflict:
            raise InvalidRequestException("WorkGroup is already created", "ALREADY_EXISTS") from None
        if req.get("Tags"):
            self._tag(ctx, self.arn(ctx, "workgroup", name), req["Tags"])
        return {}

    @operation("GetWorkGroup")
    def get_work_group(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        group = self.workgroup(ctx, req["WorkGroup"])
        out = copy.deepcopy(group)
        out["CreationTime"] = to_datetime(group.get("CreationTime") or 0.0)
        return {"WorkGroup": out}

    @operation("ListWorkGroups")
    def list_work_groups(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self.ensure_primary(ctx.scope)
        groups = sorted((doc for _, doc in self.store.listing(WORKGROUP, ctx.scope, "")), key=lambda d: d["Name"])
        page, token = _page(groups, req, 50)
        out: dict[str, Any] = {"WorkGroups": [{
            "Name": g["Name"], "State": g["State"], "Description": g.get("Description", ""),
            "CreationTime": to_datetime(g.get("CreationTime") or 0.0),
            "EngineVersion": dict(ENGINE_VERSION)} for g in page]}
        if token:
            out["NextToken"] = token
        return out

    @operation("UpdateWorkGroup")
    def update_work_group(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self.workgroup(ctx, req["WorkGroup"])
        updates = dict(req.get("ConfigurationUpdates") or {})

        def change(doc: Doc) -> None:
            if req.get("Description") is not None:
                doc["Description"] = req["Description"]
            if req.get("State"):
                doc["State"] = req["State"]
            config = doc.setdefault("Configuration", {})
            results = config.setdefault("ResultConfiguration", {})
            result_updates = dict(updates.pop("ResultConfigurationUpdates", None) or {})
            for flag, member in (("RemoveOutputLocation", "OutputLocation"),
                                 ("RemoveEncryptionConfiguration", "EncryptionConfiguration"),
                                 ("RemoveExpectedBucketOwner", "ExpectedBucketOwner"),
                                 ("RemoveAclConfiguration", "AclConfiguration")):
                if result_updates.pop(flag, False):
                    results.pop(member, None)
            _merge(results, result_updates)
            if not results:
                config.pop("ResultConfiguration", None)
            if updates.pop("RemoveBytesScannedCutoffPerQuery", False):
                config.pop("BytesScannedCutoffPerQuery", None)
            updates.pop("EngineVersion", None)
            _merge(config, updates)

        self.store.update(WORKGROUP, ctx.scope, req["WorkGroup"], change, parent="")
        return {}

    @operation("DeleteWorkGroup")
    def delete_work_group(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name = req["WorkGroup"]
        self.workgroup(ctx, name)
        if name == PRIMARY:
            raise InvalidRequestException("Primary workgroup cannot be deleted.", "INVALID_INPUT")
        if not req.get("RecursiveDeleteOption") and (
                self.store.count(NAMED_QUERY, ctx.scope, name) or self.store.count(PREPARED, ctx.scope, name)):
            raise InvalidRequestException(f"WorkGroup {name} is not empty: delete its named queries and prepared "
                                          "statements, or set RecursiveDeleteOption.", "INVALID_INPUT")
        self.store.delete_children((NAMED_QUERY, PREPARED, QUERY, TOKEN), ctx.scope, name)
        self.store.delete(WORKGROUP, ctx.scope, name, parent="")
        self.store.delete(TAGS, ctx.scope, self.arn(ctx, "workgroup", name), parent="")
        return {}

    # -- named queries ---------------------------------------------------------------------------------------

    @operation("CreateNamedQuery")
    def create_named_query(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        group = self.workgroup(ctx, req.get("WorkGroup"))
        named_id = str(uuid.uuid4())
        doc = {"Name": req["Name"], "Database": req["Database"], "QueryString": req["QueryString"],
               "NamedQueryId": named_id, "WorkGroup": group["Name"]}
        if req.get("Description") is not None:
            doc["Description"] = req["Description"]
        self.store.put(NAMED_QUERY, ctx.scope, group["Name"], named_id, doc, create_only=True)
        return {"NamedQueryId": named_id}

    def _named(self, ctx: RequestContext, named_id: str) -> Doc:
        doc = self.store.get(NAMED_QUERY, ctx.scope, named_id)
        if doc is None:
            raise InvalidRequestException(f"NamedQuery {named_id} was not found", "INVALID_INPUT")
        return doc

    @operation("GetNamedQuery")
    def get_named_query(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return {"NamedQuery": self._named(ctx, req["NamedQueryId"])}

    @operation("BatchGetNamedQuery")
    def batch_get_named_query(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        found, missing = [], []
        for named_id in req["NamedQueryIds"]:
            doc = self.store.get(NAMED_QUERY, ctx.scope, named_id)
            if doc is None:
                missing.append({"NamedQueryId": named_id, "ErrorCode": "INVALID_INPUT",
                                "ErrorMessage": f"NamedQuery {named_id} was not found"})
            else:
                found.append(doc)
        return {"NamedQueries": found, "UnprocessedNamedQueryIds": missing}

    @operation("ListNamedQueries")
    def list_named_queries(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        group = self.workgroup(ctx, req.get("WorkGroup"))
        docs = [doc for _, doc in self.store.listing(NAMED_QUERY, ctx.scope, group["Name"])]
        page, token = _page(docs, req, 50)
        out: dict[str, Any] = {"NamedQueryIds": [d["NamedQueryId"] for d in page]}
        if token:
            out["NextToken"] = token
        return out

    @operation("UpdateNamedQuery")
    def update_named_query(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._named(ctx, req["NamedQueryId"])

        def change(doc: Doc) -> None:
            doc["Name"] = req["Name"]
            doc["QueryString"] = req["QueryString"]
            if req.get("Description") is not None:
                doc["Description"] = req["Description"]

        self.store.update(NAMED_QUERY, ctx.scope, req["NamedQueryId"], change)
        return {}

    @operation("DeleteNamedQuery")
    def delete_named_query(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._named(ctx, req["NamedQueryId"])
        self.store.delete(NAMED_QUERY, ctx.scope, req["NamedQueryId"])
        return {}

    # -- prepared statements ---------------------------------------------------------------------------------

    @operation("CreatePreparedStatement")
    def create_prepared_statement(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        group = self.workgroup(ctx, req["WorkGroup"])
        doc = {"StatementName": req["StatementName"], "QueryStatement": req["QueryStatement"],
               "WorkGroupName": group["Name"], "LastModifiedTime": time.time()}
        if req.get("Description") is not None:
            doc["Description"] = req["Description"]
        try:
            self.store.put(PREPARED, ctx.scope, group["Name"], req["StatementName"], doc, create_only=True)
        except Conflict:
            raise InvalidRequestException(f"Prepared statement {req['StatementName']} already exists in "
                                          f"WorkGroup {group['Name']}", "ALREADY_EXISTS") from None
        return {}

    def _prepared(self, ctx: RequestContext, workgroup: str, name: str) -> Doc:
        group = self.workgroup(ctx, workgroup)
        doc = self.store.get(PREPARED, ctx.scope, name, parent=group["Name"])
        if doc is None:
            raise ResourceNotFoundException(f"Prepared statement {name} was not found in WorkGroup {workgroup}",
                                            name)
        return doc

    @operation("GetPreparedStatement")
    def get_prepared_statement(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        doc = dict(self._prepared(ctx, req["WorkGroup"], req["StatementName"]))
        doc["LastModifiedTime"] = to_datetime(doc["LastModifiedTime"])
        return {"PreparedStatement": doc}

    @operation("BatchGetPreparedStatement")
    def batch_get_prepared_statement(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        group = self.workgroup(ctx, req["WorkGroup"])
        found, missing = [], []
        for name in req["PreparedStatementNames"]:
            doc = self.store.get(PREPARED, ctx.scope, name, parent=group["Name"])
            if doc is None:
                missing.append({"StatementName": name, "ErrorCode": "INVALID_INPUT",
                                "ErrorMessage": f"Prepared statement {name} was not found"})
            else:
                doc["LastModifiedTime"] = to_datetime(doc["LastModifiedTime"])
                found.append(doc)
        return {"PreparedStatements": found, "UnprocessedPreparedStatementNames": missing}

    @operation("ListPreparedStatements")
    def list_prepared_statements(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        group = self.workgroup(ctx, req["WorkGroup"])
        docs = sorted((doc for _, doc in self.store.listing(PREPARED, ctx.scope, group["Name"])),
                      key=lambda d: d["StatementName"])
        page, token = _page(docs, req, 50)
        out: dict[str, Any] = {"PreparedStatements": [
            {"StatementName": d["StatementName"], "LastModifiedTime": to_datetime(d["LastModifiedTime"])}
            for d in page]}
        if token:
            out["NextToken"] = token
        return out

    @operation("UpdatePreparedStatement")
    def update_prepared_statement(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._prepared(ctx, req["WorkGroup"], req["StatementName"])

        def change(doc: Doc) -> None:
            doc["QueryStatement"] = req["QueryStatement"]
            doc["LastModifiedTime"] = time.time()
            if req.get("Description") is not None:
                doc["Description"] = req["Description"]

        self.store.update(PREPARED, ctx.scope, req["StatementName"], change, parent=req["WorkGroup"])
        return {}

    @operation("DeletePreparedStatement")
    def delete_prepared_statement(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._prepared(ctx, req["WorkGroup"], req["StatementName"])
        self.store.delete(PREPARED, ctx.scope, req["StatementName"], parent=req["WorkGroup"])
        return {}

    # -- data catalogs ---------------------------------------------------------------------------------------

    def _catalogs(self, ctx: RequestContext) -> list[Doc]:
        builtin = {"Name": DEFAULT_CATALOG, "Type": "GLUE", "Description": "AWS Glue Data Catalog",
                   "Parameters": {"catalog-id": ctx.account_id}, "Status": "CREATE_COMPLETE"}
        return [builtin, *sorted((doc for _, doc in self.store.listing(CATALOG, ctx.scope, "")),
                                 key=lambda d: d["Name"])]

    def _catalog(self, ctx: RequestContext, name: str) -> Doc:
        for doc in self._catalogs(ctx):
            if doc["Name"].lower() == name.lower():
                return doc
        raise InvalidRequestException(f"DataCatalog {name} was not found", "INVALID_INPUT")

    @operation("CreateDataCatalog")
    def create_data_catalog(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if req["Name"].lower() == DEFAULT_CATALOG.lower():
            raise InvalidRequestException(f"DataCatalog {req['Name']} already exists", "ALREADY_EXISTS")
        doc = {"Name": req["Name"], "Type": req["Type"], "Description": req.get("Description", ""),
               "Parameters": dict(req.get("Parameters") or {}), "Status": "CREATE_COMPLETE"}
        try:
            self.store.put(CATALOG, ctx.scope, "", req["Name"], doc, create_only=True)
        except Conflict:
            raise InvalidRequestException(f"DataCatalog {req['Name']} already exists", "ALREADY_EXISTS") from None
        if req.get("Tags"):
            self._tag(ctx, self.arn(ctx, "datacatalog", req["Name"]), req["Tags"])
        return {"DataCatalog": doc}

    @operation("GetDataCatalog")
    def get_data_catalog(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return {"DataCatalog": self._catalog(ctx, req["Name"])}

    @operation("ListDataCatalogs")
    def list_data_catalogs(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        page, token = _page(self._catalogs(ctx), req, 50)
        out: dict[str, Any] = {"DataCatalogsSummary": [
            {"CatalogName": d["Name"], "Type": d["Type"], "Status": d.get("Status", "CREATE_COMPLETE")}
            for d in page]}
        if token:
            out["NextToken"] = token
        return out

    @operation("UpdateDataCatalog")
    def update_data_catalog(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if req["Name"].lower() == DEFAULT_CATALOG.lower():
            raise InvalidRequestException("The AwsDataCatalog cannot be updated.", "INVALID_INPUT")
        self._catalog(ctx, req["Name"])

        def change(doc: Doc) -> None:
            doc["Type"] = req["Type"]
            if req.get("Description") is not None:
                doc["Description"] = req["Description"]
            if req.get("Parameters") is not None:
                doc["Parameters"] = dict(req["Parameters"])

        self.store.update(CATALOG, ctx.scope, req["Name"], change, parent="")
        return {}

    @operation("DeleteDataCatalog")
    def delete_data_catalog(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if req["Name"].lower() == DEFAULT_CATALOG.lower():
            raise InvalidRequestException("The AwsDataCatalog cannot be deleted.", "INVALID_INPUT")
        doc = self._catalog(ctx, req["Name"])
        self.store.delete(CATALOG, ctx.scope, doc["Name"], parent="")
        return {"DataCatalog": {**doc, "Status": "DELETE_COMPLETE"}}

    # -- tags ------------------------------------------------------------------------------------------------

    def _resource_exists(self, ctx: RequestContext, arn: str) -> bool:
        prefix = f"arn:aws:athena:{ctx.region}:{ctx.account_id}:"
        if not arn.startswith(prefix):
            return False
        kind, _, name = arn[len(prefix):].partition("/")
        if kind == "workgroup":
            self.ensure_primary(ctx.scope)
            return self.store.get(WORKGROUP, ctx.scope, name, parent="") is not None
        if kind == "datacatalog":
            return any(d["Name"] == name for d in self._catalogs(ctx))
        return kind == "capacity-reservation"

    def _tag(self, ctx: RequestContext, arn: str, tags: list[dict[str, str]]) -> None:
        current = self.store.get(TAGS, ctx.scope, arn, parent="") or {}
        for tag in tags:
            current[tag["Key"]] = tag.get("Value", "")
        if len(current) > 50:
            raise InvalidRequestException("A resource can have at most 50 tags.", "INVALID_INPUT")
        self.store.put(TAGS, ctx.scope, "", arn, current)

    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if not self._resource_exists(ctx, req["ResourceARN"]):
            raise ResourceNotFoundException(f"Resource {req['ResourceARN']} was not found", req["ResourceARN"])
        self._tag(ctx, req["ResourceARN"], req["Tags"])
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if not self._resource_exists(ctx, req["ResourceARN"]):
            raise ResourceNotFoundException(f"Resource {req['ResourceARN']} was not found", req["ResourceARN"])
        current = self.store.get(TAGS, ctx.scope, req["ResourceARN"], parent="") or {}
        for key in req["TagKeys"]:
            current.pop(key, None)
        self.store.put(TAGS, ctx.scope, "", req["ResourceARN"], current)
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if not self._resource_exists(ctx, req["ResourceARN"]):
            raise ResourceNotFoundException(f"Resource {req['ResourceARN']} was not found", req["ResourceARN"])
        current = self.store.get(TAGS, ctx.scope, req["ResourceARN"], parent="") or {}
        tags = [{"Key": k, "Value": v} for k, v in sorted(current.items())]
        page, token = _page(tags, req, 1000)
        out: dict[str, Any] = {"Tags": page}
        if token:
            out["NextToken"] = token
        return out

    @operation("ListEngineVersions")
    def list_engine_versions(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        return {"EngineVersions": [dict(ENGINE_VERSION),
                                   {"SelectedEngineVersion": "Athena engine version 3",
                                    "EffectiveEngineVersion": "Athena engine version 3"}]}
