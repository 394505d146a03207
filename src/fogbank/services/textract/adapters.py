"""Textract adapters and adapter versions: durable resources with tags, and what using one means offline.

A custom adapter is, in AWS, a fine-tuned variant of the analysis model trained from annotated documents
named by a manifest. Fine-tuning cannot be had offline, so fogbank makes this choice: a version whose
manifest is readable JSON lines (one JSON object per line, as Textract's SageMaker Ground Truth style
manifests are) becomes ACTIVE, with a StatusMessage that says it answers exactly as the base model; an
empty or malformed manifest ends in CREATION_ERROR with the line at fault. ACTIVE rather than a blanket
CREATION_ERROR, because the workflow around adapters (create, wait for ACTIVE, analyse with AdaptersConfig,
list, tag, delete) is what a pipeline tested against fogbank needs to run, and the answer it then gets is
the base model's, which the status message states; no EvaluationMetrics are reported, since none were
measured. AnalyzeDocument and StartDocumentAnalysis check every adapter an AdaptersConfig names (it must
exist in the caller's account and region, and the version must be ACTIVE) and then analyse as without it.

Resources are scoped by (account, region); ids are generated here (12 hex characters; versions count up
from "1" per adapter and are never reused), and ARNs read ``arn:aws:textract:<region>:<account>:/adapters/
<id>`` and ``.../adapters/<id>/versions/<version>``. A ClientRequestToken makes a create idempotent: the
same token with the same parameters returns the first result, with others IdempotentParameterMismatch.
Adapter names are unique within an account and region (ConflictException otherwise).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import datetime
from typing import Any

from fogbank.context import RequestContext
from fogbank.engines.metadb import LockedDb
from fogbank.errors import ValidationException
from fogbank.protocol.dispatch import operation
from fogbank.services.textract import errors
from fogbank.services.textract.sources import S3Location, S3Reader, SourceMissing, SourceTooLarge

MAX_ADAPTERS = 100
MAX_VERSIONS_PER_ADAPTER = 20
MAX_TAGS = 50
MANIFEST_MAX_BYTES = 50 * 1024 * 1024
LIST_DEFAULT = 100
LIST_MAX = 1000
BASE_MODEL_MESSAGE = ("ACTIVE: fogbank cannot fine-tune offline; this adapter version answers exactly as the "
                      "base model.")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS adapters (
    adapter_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    feature_types TEXT NOT NULL,
    auto_update TEXT,
    created REAL NOT NULL,
    token TEXT,
    request TEXT NOT NULL,
    tags TEXT NOT NULL,
    next_version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS adapters_scope ON adapters (account, region, created, adapter_id);
CREATE TABLE IF NOT EXISTS adapter_versions (
    adapter_id TEXT NOT NULL,
    version TEXT NOT NULL,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    dataset TEXT NOT NULL,
    output TEXT NOT NULL,
    kms_key TEXT,
    token TEXT,
    request TEXT NOT NULL,
    tags TEXT NOT NULL,
    PRIMARY KEY (adapter_id, version)
);
CREATE INDEX IF NOT EXISTS adapter_versions_scope ON adapter_versions (account, region, created);
"""

_ADAPTER_COLUMNS = ("adapter_id, account, region, name, description, feature_types, auto_update, created, token, "
                    "request, tags, next_version")
_VERSION_COLUMNS = ("adapter_id, version, account, region, created, status, message, dataset, output, kms_key, "
                    "token, request, tags")


def _canonical(request: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in request.items() if k != "ClientRequestToken"}, sort_keys=True, default=str)


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def adapter_arn(region: str, account: str, adapter_id: str, version: str | None = None) -> str:
    base = f"arn:aws:textract:{region}:{account}:/adapters/{adapter_id}"
    return f"{base}/versions/{version}" if version else base


class AdapterStore:
    """Adapters and their versions in the Textract service's SQLite database."""

    def __init__(self, db: LockedDb) -> None:
        self.db = db
        with db.lock:
            db.conn.executescript(_SCHEMA)

    # ------------------------------------------------------------------ adapters

    def adapter(self, scope: tuple[str, str], adapter_id: str) -> dict[str, Any] | None:
        row = self.db.row(f"SELECT {_ADAPTER_COLUMNS} FROM adapters WHERE adapter_id = ? AND account = ? "
                          "AND region = ?", (adapter_id, *scope))
        return _adapter(row) if row else None

    def create_adapter(self, scope: tuple[str, str], req: dict[str, Any]) -> str:
        token = req.get("ClientRequestToken")
        request = _canonical(req)
        with self.db.transaction() as db:
            if token:
                row = db.execute("SELECT adapter_id, request FROM adapters WHERE account = ? AND region = ? AND "
                                 "token = ?", (*scope, token)).fetchone()
                if row is not None:
                    if row[1] != request:
                        raise errors.IdempotentParameterMismatchException(
                            "The ClientRequestToken was used before with different parameters")
                    return str(row[0])
            if db.execute("SELECT 1 FROM adapters WHERE account = ? AND region = ? AND name = ?",
                          (*scope, req["AdapterName"])).fetchone():
                raise errors.ConflictException(f"An adapter named {req['AdapterName']} already exists")
            count = db.execute("SELECT COUNT(*) FROM adapters WHERE account = ? AND region = ?", scope).fetchone()[0]
            if count >= MAX_ADAPTERS:
                raise errors.ServiceQuotaExceededException(
                    f"The account already has {MAX_ADAPTERS} adapters in this region, the most allowed")
            adapter_id = uuid.uuid4().hex[:12]
            db.execute(f"INSERT INTO adapters ({_ADAPTER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                       (adapter_id, *scope, req["AdapterName"], req.get("Description"),
                        json.dumps(list(req["FeatureTypes"])), req.get("AutoUpdate") or "DISABLED", time.time(),
                        token, request, json.dumps(req.get("Tags") or {})))
        return adapter_id

    def update_adapter(self, scope: tuple[str, str], adapter_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self.db.transaction() as db:
            if self.adapter(scope, adapter_id) is None:
                raise _adapter_missing(adapter_id)
            name = changes.get("AdapterName")
            if name and db.execute("SELECT 1 FROM adapters WHERE account = ? AND region = ? AND name = ? AND "
                                   "adapter_id != ?", (*scope, name, adapter_id)).fetchone():
                raise errors.ConflictException(f"An adapter named {name} already exists")
            for member, column in (("AdapterName", "name"), ("Description", "description"),
                                   ("AutoUpdate", "auto_update")):
                if changes.get(member) is not None:
                    db.execute(f"UPDATE adapters SET {column} = ? WHERE adapter_id = ?", (changes[member], adapter_id))
        found = self.adapter(scope, adapter_id)
        assert found is not None
        return found

    def delete_adapter(self, scope: tuple[str, str], adapter_id: str) -> None:
        with self.db.transaction() as db:
            gone = db.execute("DELETE FROM adapters WHERE adapter_id = ? AND account = ? AND region = ?",
                              (adapter_id, *scope)).rowcount
            if not gone:
                raise _adapter_missing(adapter_id)
            db.execute("DELETE FROM adapter_versions WHERE adapter_id = ?", (adapter_id,))

    def list_adapters(self, scope: tuple[str, str], after: float | None, before: float | None,
                      cursor: tuple[float, str] | None, limit: int) -> list[dict[str, Any]]:
        sql = f"SELECT {_ADAPTER_COLUMNS} FROM adapters WHERE account = ? AND region = ?"
        args: list[Any] = [*scope]
        sql, args = _window(sql, args, after, before, cursor, "adapter_id")
        rows = self.db.rows(sql + " ORDER BY created, adapter_id LIMIT ?", (*args, limit))
        return [_adapter(r) for r in rows]

    # ------------------------------------------------------------------ versions

    def version(self, scope: tuple[str, str], adapter_id: str, version: str) -> dict[str, Any] | None:
        row = self.db.row(f"SELECT {_VERSION_COLUMNS} FROM adapter_versions WHERE adapter_id = ? AND version = ? "
                          "AND account = ? AND region = ?", (adapter_id, version, *scope))
        return _version(row) if row else None

    def find_version_by_token(self, scope: tuple[str, str], adapter_id: str, token: str) -> dict[str, Any] | None:
        row = self.db.row(f"SELECT {_VERSION_COLUMNS} FROM adapter_versions WHERE adapter_id = ? AND token = ? "
                          "AND account = ? AND region = ?", (adapter_id, token, *scope))
        return _version(row) if row else None

    def create_version(self, scope: tuple[str, str], adapter_id: str, req: dict[str, Any], status: str,
                       message: str) -> str:
        token = req.get("ClientRequestToken")
        with self.db.transaction() as db:
            row = db.execute("SELECT next_version FROM adapters WHERE adapter_id = ? AND account = ? AND region = ?",
                             (adapter_id, *scope)).fetchone()
            if row is None:
                raise _adapter_missing(adapter_id)
            count = db.execute("SELECT COUNT(*) FROM adapter_versions WHERE adapter_id = ?", (adapter_id,)).fetchone()
            if count[0] >= MAX_VERSIONS_PER_ADAPTER:
                raise errors.ServiceQuotaExceededException(
                    f"The adapter already has {MAX_VERSIONS_PER_ADAPTER} versions, the most allowed")
            version = str(row[0])
            db.execute("UPDATE adapters SET next_version = next_version + 1 WHERE adapter_id = ?", (adapter_id,))
            db.execute(f"INSERT INTO adapter_versions ({_VERSION_COLUMNS}) VALUES "
                       "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (adapter_id, version, *scope, time.time(), status, message,
                        json.dumps(req["DatasetConfig"]), json.dumps(req["OutputConfig"]), req.get("KMSKeyId"),
                        token, _canonical(req), json.dumps(req.get("Tags") or {})))
        return version

    def delete_version(self, scope: tuple[str, str], adapter_id: str, version: str) -> None:
        with self.db.transaction() as db:
            gone = db.execute("DELETE FROM adapter_versions WHERE adapter_id = ? AND version = ? AND account = ? "
                              "AND region = ?", (adapter_id, version, *scope)).rowcount
        if not gone:
            raise _version_missing(adapter_id, version)

    def list_versions(self, scope: tuple[str, str], adapter_id: str | None, after: float | None,
                      before: float | None, cursor: tuple[float, str] | None, limit: int) -> list[dict[str, Any]]:
        sql = f"SELECT {_VERSION_COLUMNS} FROM adapter_versions WHERE account = ? AND region = ?"
        args: list[Any] = [*scope]
        if adapter_id:
            sql += " AND adapter_id = ?"
            args.append(adapter_id)
        sql, args = _window(sql, args, after, before, cursor, "adapter_id || '/' || version")
        rows = self.db.rows(sql + " ORDER BY created, adapter_id, version LIMIT ?", (*args, limit))
        return [_version(r) for r in rows]

    # ------------------------------------------------------------------ tags

    def set_tags(self, scope: tuple[str, str], adapter_id: str, version: str | None,
                 update: dict[str, str], remove: list[str]) -> dict[str, str]:
        table, where = (("adapter_versions", "adapter_id = ? AND version = ?") if version
                        else ("adapters", "adapter_id = ?"))
        keys = (adapter_id, version) if version else (adapter_id,)
        with self.db.transaction() as db:
            row = db.execute(f"SELECT tags FROM {table} WHERE {where} AND account = ? AND region = ?",
                             (*keys, *scope)).fetchone()
            if row is None:
                raise errors.ResourceNotFoundException("The resource named by the ARN does not exist")
            tags: dict[str, str] = json.loads(row[0])
            tags.update(update)
            for key in remove:
                tags.pop(key, None)
            if len(tags) > MAX_TAGS:
                raise errors.ServiceQuotaExceededException(f"A resource can have at most {MAX_TAGS} tags")
            if update or remove:
                db.execute(f"UPDATE {table} SET tags = ? WHERE {where}", (json.dumps(tags), *keys))
        return tags


def _window(sql: str, args: list[Any], after: float | None, before: float | None,
            cursor: tuple[float, str] | None, key: str) -> tuple[str, list[Any]]:
    if after is not None:
        sql += " AND created > ?"
        args.append(after)
    if before is not None:
        sql += " AND created < ?"
        args.append(before)
    if cursor is not None:
        sql += f" AND (created > ? OR (created = ? AND {key} > ?))"
        args.extend([cursor[0], cursor[0], cursor[1]])
    return sql, args


def _adapter(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"AdapterId": row[0], "Account": row[1], "Region": row[2], "AdapterName": row[3], "Description": row[4],
            "FeatureTypes": json.loads(row[5]), "AutoUpdate": row[6], "CreationTime": row[7],
            "Tags": json.loads(row[10])}


def _version(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"AdapterId": row[0], "AdapterVersion": row[1], "CreationTime": row[4], "Status": row[5],
            "StatusMessage": row[6], "DatasetConfig": json.loads(row[7]), "OutputConfig": json.loads(row[8]),
            "KMSKeyId": row[9], "Request": row[11], "Tags": json.loads(row[12])}


def _adapter_missing(adapter_id: str) -> errors.ResourceNotFoundException:
    return errors.ResourceNotFoundException(f"Adapter {adapter_id} does not exist")


def _version_missing(adapter_id: str, version: str) -> errors.ResourceNotFoundException:
    return errors.ResourceNotFoundException(f"Version {version} of adapter {adapter_id} does not exist")


def _token(cursor: tuple[float, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps([cursor[0], cursor[1]]).encode()).decode()


def _cursor(token: str | None) -> tuple[float, str] | None:
    if not token:
        return None
    try:
        created, key = json.loads(base64.urlsafe_b64decode(token.encode()))
        return float(created), str(key)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise errors.InvalidParameterException("The pagination token is not valid") from None


def _limit(req: dict[str, Any]) -> int:
    return max(1, min(LIST_MAX, int(req.get("MaxResults") or LIST_DEFAULT)))


def check_manifest(data: bytes) -> str | None:
    """Why a manifest cannot be used, or None when it is JSON lines with at least one object."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "The manifest is not UTF-8 text"
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            return f"Manifest line {number} is not JSON: {exc.msg}"
        if not isinstance(item, dict):
            return f"Manifest line {number} is not a JSON object"
        count += 1
    return None if count else "The manifest holds no JSON lines"


def parse_arn(arn: str) -> tuple[tuple[str, str], str, str | None]:
    """(scope, adapter id, version or None) of an adapter or adapter version ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "textract":
        raise ValidationException(f"{arn} is not a Textract adapter ARN")
    path = parts[5].strip("/").split("/")
    if len(path) == 2 and path[0] == "adapters":
        return (parts[4], parts[3]), path[1], None
    if len(path) == 4 and path[0] == "adapters" and path[2] == "versions":
        return (parts[4], parts[3]), path[1], path[3]
    raise ValidationException(f"{arn} is not a Textract adapter ARN")


class AdapterOperations:
    """The adapter operations of the Textract provider (mixed into TextractProvider)."""

    adapters: AdapterStore
    reader: S3Reader

    def check_adapters_config(self, ctx: RequestContext, config: dict[str, Any] | None) -> None:
        """An AdaptersConfig must name ACTIVE versions of the caller's adapters; analysis then ignores it."""
        for item in (config or {}).get("Adapters") or []:
            adapter_id, version = item.get("AdapterId", ""), item.get("Version", "")
            if self.adapters.adapter(ctx.scope, adapter_id) is None:
                raise errors.InvalidParameterException(f"Adapter {adapter_id} does not exist")
            found = self.adapters.version(ctx.scope, adapter_id, version)
            if found is None:
                raise errors.InvalidParameterException(f"Version {version} of adapter {adapter_id} does not exist")
            if found["Status"] != "ACTIVE":
                raise errors.InvalidParameterException(
                    f"Version {version} of adapter {adapter_id} is {found['Status']}, not ACTIVE")
            for page in item.get("Pages") or []:
                first, dash, last = page.strip().partition("-")
                if page.strip() != "*" and (not first.isdigit() or (dash and not (last.isdigit() or last == "*"))):
                    raise errors.InvalidParameterException(f"Invalid page specification in adapter: {page!r}")

    @operation("CreateAdapter")
    def create_adapter(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if not req.get("FeatureTypes"):
            raise errors.InvalidParameterException("FeatureTypes must name at least one feature")
        return {"AdapterId": self.adapters.create_adapter(ctx.scope, req)}

    @operation("GetAdapter")
    def get_adapter(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        found = self.adapters.adapter(ctx.scope, req["AdapterId"])
        if found is None:
            raise _adapter_missing(req["AdapterId"])
        return {k: v for k, v in found.items() if k not in ("Account", "Region") and v is not None}

    @operation("UpdateAdapter")
    def update_adapter(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        found = self.adapters.update_adapter(ctx.scope, req["AdapterId"], req)
        return {k: v for k, v in found.items() if k not in ("Account", "Region", "Tags") and v is not None}

    @operation("DeleteAdapter")
    def delete_adapter(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self.adapters.delete_adapter(ctx.scope, req["AdapterId"])
        return {}

    @operation("ListAdapters")
    def list_adapters(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        limit = _limit(req)
        rows = self.adapters.list_adapters(ctx.scope, _epoch(req.get("AfterCreationTime")),
                                           _epoch(req.get("BeforeCreationTime")), _cursor(req.get("NextToken")),
                                           limit + 1)
        out: dict[str, Any] = {"Adapters": [
            {"AdapterId": r["AdapterId"], "AdapterName": r["AdapterName"], "CreationTime": r["CreationTime"],
             "FeatureTypes": r["FeatureTypes"]} for r in rows[:limit]]}
        if len(rows) > limit:
            last = rows[limit - 1]
            out["NextToken"] = _token((last["CreationTime"], last["AdapterId"]))
        return out

    @operation("CreateAdapterVersion")
    def create_adapter_version(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        adapter_id = req["AdapterId"]
        if self.adapters.adapter(ctx.scope, adapter_id) is None:
            raise _adapter_missing(adapter_id)
        token = req.get("ClientRequestToken")
        if token:
            earlier = self.adapters.find_version_by_token(ctx.scope, adapter_id, token)
            if earlier is not None:
                if earlier["Request"] != _canonical(req):
                    raise errors.IdempotentParameterMismatchException(
                        "The ClientRequestToken was used before with different parameters")
                return {"AdapterId": adapter_id, "AdapterVersion": earlier["AdapterVersion"]}
        manifest = (req.get("DatasetConfig") or {}).get("ManifestS3Object")
        if not manifest or not manifest.get("Bucket") or not manifest.get("Name"):
            raise errors.InvalidParameterException("DatasetConfig must name a ManifestS3Object with Bucket and Name")
        output = req["OutputConfig"]
        if not output.get("S3Bucket"):
            raise errors.InvalidParameterException("OutputConfig must name an S3Bucket")
        try:
            data = self.reader.read(ctx.account_id, ctx.region, S3Location.of(manifest), MANIFEST_MAX_BYTES)
        except SourceTooLarge as exc:
            raise errors.InvalidParameterException(f"The manifest is too large: {exc}") from exc
        except SourceMissing as exc:
            raise errors.InvalidS3ObjectException(
                "Unable to get object metadata from S3. Check object key, region and/or access permissions.") from exc
        problem = check_manifest(data)
        status, message = ("CREATION_ERROR", problem) if problem else ("ACTIVE", BASE_MODEL_MESSAGE)
        version = self.adapters.create_version(ctx.scope, adapter_id, req, status, message)
        prefix = (output.get("S3Prefix") or "").strip("/")
        key = f"{prefix}/{adapter_id}/{version}/status.json" if prefix else f"{adapter_id}/{version}/status.json"
        report = {"AdapterId": adapter_id, "AdapterVersion": version, "Status": status, "StatusMessage": message}
        try:
            self.reader.write(ctx.account_id, ctx.region, output["S3Bucket"], key, json.dumps(report).encode())
        except SourceMissing as exc:
            self.adapters.delete_version(ctx.scope, adapter_id, version)
            raise errors.InvalidS3ObjectException(
                f"Unable to write to the output bucket {output['S3Bucket']}: {exc}") from exc
        return {"AdapterId": adapter_id, "AdapterVersion": version}

    @operation("GetAdapterVersion")
    def get_adapter_version(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        adapter = self.adapters.adapter(ctx.scope, req["AdapterId"])
        found = self.adapters.version(ctx.scope, req["AdapterId"], req["AdapterVersion"])
        if adapter is None or found is None:
            raise _version_missing(req["AdapterId"], req["AdapterVersion"])
        out = {k: v for k, v in found.items() if k != "Request" and v is not None}
        out["FeatureTypes"] = adapter["FeatureTypes"]
        return out

    @operation("ListAdapterVersions")
    def list_adapter_versions(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        adapter_id = req.get("AdapterId")
        features: dict[str, list[str]] = {}
        if adapter_id:
            adapter = self.adapters.adapter(ctx.scope, adapter_id)
            if adapter is None:
                raise _adapter_missing(adapter_id)
        limit = _limit(req)
        rows = self.adapters.list_versions(ctx.scope, adapter_id, _epoch(req.get("AfterCreationTime")),
                                           _epoch(req.get("BeforeCreationTime")), _cursor(req.get("NextToken")),
                                           limit + 1)
        items = []
        for r in rows[:limit]:
            if r["AdapterId"] not in features:
                adapter = self.adapters.adapter(ctx.scope, r["AdapterId"])
                features[r["AdapterId"]] = adapter["FeatureTypes"] if adapter else []
            item = {"AdapterId": r["AdapterId"], "AdapterVersion": r["AdapterVersion"],
                    "CreationTime": r["CreationTime"], "FeatureTypes": features[r["AdapterId"]],
                    "Status": r["Status"]}
            if r["StatusMessage"]:
                item["StatusMessage"] = r["StatusMessage"]
            items.append(item)
        out: dict[str, Any] = {"AdapterVersions": items}
        if len(rows) > limit:
            last = rows[limit - 1]
            out["NextToken"] = _token((last["CreationTime"], f"{last['AdapterId']}/{last['AdapterVersion']}"))
        return out

    @operation("DeleteAdapterVersion")
    def delete_adapter_version(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self.adapters.delete_version(ctx.scope, req["AdapterId"], req["AdapterVersion"])
        return {}

    def _resource(self, ctx: RequestContext, arn: str) -> tuple[str, str | None]:
        scope, adapter_id, version = parse_arn(arn)
        if scope != ctx.scope:
            raise errors.ResourceNotFoundException(f"The resource {arn} does not exist")
        return adapter_id, version

    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        adapter_id, version = self._resource(ctx, req["ResourceARN"])
        self.adapters.set_tags(ctx.scope, adapter_id, version, dict(req["Tags"]), [])
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        adapter_id, version = self._resource(ctx, req["ResourceARN"])
        self.adapters.set_tags(ctx.scope, adapter_id, version, {}, list(req["TagKeys"]))
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        adapter_id, version = self._resource(ctx, req["ResourceARN"])
        return {"Tags": self.adapters.set_tags(ctx.scope, adapter_id, version, {}, [])}
