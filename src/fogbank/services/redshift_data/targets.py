"""Which warehouse a Data API request addresses: a provisioned cluster or a Serverless workgroup, a database
in it, and the database user the statement runs as."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fogbank.services.redshift_data.errors import ValidationException
from fogbank.services.redshift_data.warehouse import Warehouses

if TYPE_CHECKING:
    from fogbank.services.redshift.provider import RedshiftProvider
    from fogbank.services.redshift_serverless.provider import RedshiftServerlessProvider

ENDPOINT_MISSING = "Redshift endpoint doesn't exist in this region."


@dataclass(frozen=True)
class Target:
    owner: str  # "cluster/<id>" or "namespace/<id>": fogbank's ids, never names
    members: dict[str, str]  # ClusterIdentifier or WorkgroupName, as the request gave it
    database: str
    default_database: str
    user: str


def cluster_owner(record: dict[str, Any]) -> str:
    return f"cluster/{record['_id']}"


def namespace_owner(record: dict[str, Any]) -> str:
    return f"namespace/{record['namespaceId']}"


def _user_of_secret(secret_arn: str) -> str | None:
    """Secrets Redshift makes are named redshift!<cluster>-<user>; others say nothing about the user."""
    name = secret_arn.rsplit(":secret:", 1)[-1]
    if name.startswith("redshift!") and "-" in name:
        return name.rsplit("-", 2)[-2] if name.count("-") >= 2 else None
    return None


class Targets:
    def __init__(self, warehouses: Warehouses, redshift: RedshiftProvider | None,
                 serverless: RedshiftServerlessProvider | None) -> None:
        self.warehouses = warehouses
        self.redshift = redshift
        self.serverless = serverless

    def resolve(self, scope: tuple[str, str], req: dict[str, Any], database_member: str = "Database") -> Target:
        cluster = req.get("ClusterIdentifier")
        workgroup = req.get("WorkgroupName")
        if bool(cluster) == bool(workgroup):
            raise ValidationException("Either ClusterIdentifier or WorkgroupName must be specified, but not both.")
        if cluster:
            record = self.redshift.find_cluster(scope, cluster) if self.redshift is not None else None
            if record is None:
                raise ValidationException(ENDPOINT_MISSING)
            if record.get("ClusterStatus") == "paused":
                raise ValidationException(f"Cluster {cluster} is paused. Resume the cluster to run statements.")
            owner = cluster_owner(record)
            default_db = record.get("DBName") or "dev"
            default_user = record.get("MasterUsername") or "awsuser"
            members = {"ClusterIdentifier": cluster}
        else:
            name = str(workgroup)
            if name.startswith("arn:"):
                name = self._workgroup_by_arn(scope, name)
            found = self.serverless.find_workgroup(scope, name) if self.serverless is not None and name else None
            if found is None:
                raise ValidationException(ENDPOINT_MISSING)
            _, namespace = found
            owner = namespace_owner(namespace)
            default_db = namespace.get("dbName") or "dev"
            default_user = namespace.get("adminUsername") or "admin"
            members = {"WorkgroupName": workgroup}
        self.warehouses.create_database(owner, default_db, exists_ok=True)
        user = req.get("DbUser") or (_user_of_secret(req["SecretArn"]) if req.get("SecretArn") else None) \
            or default_user
        database = (req.get(database_member) or default_db).lower()
        return Target(owner, members, database, default_db, user)

    def _workgroup_by_arn(self, scope: tuple[str, str], arn: str) -> str:
        if self.serverless is None:
            return ""
        for record in self.serverless.store.documents(scope, "workgroup"):
            if record.get("workgroupArn") == arn:
                return str(record["workgroupName"])
        return ""
