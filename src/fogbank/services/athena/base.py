"""What every group of Athena operations shares: the store, the runner, the catalog, workgroup lookup,
pagination tokens and ARNs."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from datetime import UTC, datetime
from typing import Any

from fogbank.context import RequestContext
from fogbank.protocol.dispatch import Provider
from fogbank.services.athena.errors import InvalidRequestException
from fogbank.services.athena.runner import QueryRunner
from fogbank.services.athena.store import WORKGROUP, AthenaStore, Conflict, Doc, Scope
from fogbank.services.glue.catalog import GlueCatalog
from fogbank.services.s3.local_access import S3LocalAccess

PRIMARY = "primary"
ENGINE_VERSION = {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}


def to_datetime(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def encode_token(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode("ascii")


def decode_token(token: str | None) -> Any:
    if not token:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, TypeError):
        raise InvalidRequestException("The NextToken is not valid.", "INVALID_INPUT") from None


def default_workgroup_config() -> dict[str, Any]:
    return {"EnforceWorkGroupConfiguration": False, "PublishCloudWatchMetricsEnabled": False,
            "RequesterPaysEnabled": False, "EngineVersion": dict(ENGINE_VERSION)}


class AthenaBase(Provider):
    services = ("athena",)

    store: AthenaStore
    runner: QueryRunner
    catalog: GlueCatalog
    s3: S3LocalAccess

    def _init_shared(self) -> None:
        self._primary_ready: set[Scope] = set()
        self._primary_lock = threading.Lock()

    def arn(self, ctx: RequestContext, kind: str, name: str) -> str:
        return f"arn:aws:athena:{ctx.region}:{ctx.account_id}:{kind}/{name}"

    def ensure_primary(self, scope: Scope) -> None:
        """The primary workgroup exists in every account and region from the start, as in AWS."""
        if scope in self._primary_ready:
            return
        with self._primary_lock:
            if self.store.get(WORKGROUP, scope, PRIMARY, parent="") is None:
                with contextlib.suppress(Conflict):
                    self.store.put(WORKGROUP, scope, "", PRIMARY, {
                        "Name": PRIMARY, "State": "ENABLED", "Configuration": default_workgroup_config(),
                        "Description": "", "CreationTime": 0.0}, create_only=True)
            self._primary_ready.add(scope)

    def workgroup(self, ctx: RequestContext, name: str | None) -> Doc:
        self.ensure_primary(ctx.scope)
        wanted = name or PRIMARY
        found = self.store.get(WORKGROUP, ctx.scope, wanted, parent="")
        if found is None:
            raise InvalidRequestException(f"WorkGroup {wanted} is not found.")
        return found
