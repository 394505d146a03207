"""Iceberg tables of the Glue Data Catalog read through an external schema, as Redshift Spectrum reads them.

The files of an Iceberg table are the ones its current snapshot lists, not what its folder holds (a rewrite
leaves the old files there until they are expired), so they are planned from the table's metadata, with
Athena's Iceberg reader: the data files, and the position delete files that remove rows from them.
"""

from __future__ import annotations

from typing import Any

from fogbank.services.redshift_data.pgerror import RedshiftSqlError
from fogbank.services.redshift_data.s3io import S3Access, S3Object, Scratch, parse_url
from fogbank.services.s3.local_access import S3LocalAccess


def view_sql(table: dict[str, Any], local: S3LocalAccess, s3: S3Access, scratch: Scratch) -> str:
    """A SELECT over the rows of the table's current snapshot, typed as its schema says."""
    from pyiceberg.catalog.noop import NoopCatalog
    from pyiceberg.serializers import FromInputFile
    from pyiceberg.table import StaticTable

    from fogbank.engines.sql import quote_ident
    from fogbank.services.athena import iceberg_scan
    from fogbank.services.athena.errors import QueryFailed
    from fogbank.services.athena.iceberg_io import S3LocalStoreIO

    qualified = f"{table.get('DatabaseName')}.{table.get('Name')}"
    location = str((table.get("Parameters") or {}).get("metadata_location") or "")
    if not location:
        raise RedshiftSqlError(f"Iceberg table {qualified} has no metadata_location")
    io = S3LocalStoreIO(local, s3.account, scratch.folder())
    try:
        metadata = FromInputFile.table_metadata(io.new_input(location))
        iceberg = StaticTable((str(table.get("DatabaseName")), str(table.get("Name"))), metadata, location, io,
                              NoopCatalog("fogbank"))
        planned = iceberg_scan.plan_files(iceberg, iceberg.current_snapshot(), [])
    except QueryFailed as failure:
        raise RedshiftSqlError(f"{qualified}: {failure.reason}") from None
    except (FileNotFoundError, ValueError) as error:
        raise RedshiftSqlError(f"Iceberg table {qualified} cannot be read: {error}") from None
    local_of: dict[str, str] = {}
    for uri, size in [*planned.files, *(d for deletes in planned.deletes.values() for d in deletes)]:
        if uri not in local_of:
            bucket, key = parse_url(uri)
            local_of[uri] = str(s3.download(S3Object(bucket, key, size), scratch.file(".parquet")))
    deletes = [iceberg_scan.PositionDeletes(local_of[data], data, local_of[delete])
               for data, files in planned.deletes.items() for delete, _ in files]
    relation = iceberg_scan.relation_sql([local_of[uri] for uri, _ in planned.files], planned.columns, deletes)
    columns = ", ".join(quote_ident(c.name) for c in planned.columns)
    return f"SELECT {columns} FROM ({relation}) fb_iceberg"
