"""pyiceberg's catalog contract on fogbank's Glue Data Catalog, in-process.

An Iceberg table in Glue is what the open-source Iceberg Glue catalog (and Athena) make: an EXTERNAL_TABLE
whose parameters say `table_type=ICEBERG` and point at the current `metadata_location`, with the schema's
columns mirrored into the storage descriptor. A commit writes a new metadata file, then swaps the pointer
with Glue's optimistic version check, so two writers never lose each other's snapshot: the loser's commit
fails and is retried on the new state by pyiceberg, or reported.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from pyiceberg.catalog import MetastoreCatalog, PropertiesUpdateSummary
from pyiceberg.exceptions import (
    CommitFailedException,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.io import FileIO
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.schema import Schema, SchemaVisitor, visit
from pyiceberg.serializers import FromInputFile
from pyiceberg.table import CommitTableResponse, Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortOrder
from pyiceberg.table.update import TableRequirement, TableUpdate
from pyiceberg.typedef import EMPTY_DICT, Identifier, Properties
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    PrimitiveType,
    StringType,
    StructType,
    TimestampType,
    TimestamptzType,
    TimeType,
    UUIDType,
)
from pyiceberg.view import View

from fogbank.services.glue.catalog import GlueCatalog
from fogbank.services.glue.errors import (
    AlreadyExistsException,
    ConcurrentModificationException,
    EntityNotFoundException,
)
from fogbank.services.glue.records import is_iceberg

METADATA_LOCATION = "metadata_location"
_GLUE_ONLY = ("DatabaseName", "CreateTime", "UpdateTime", "IsRegisteredWithLakeFormation", "CatalogId",
              "VersionId", "CreatedBy", "LastAccessTime", "IsMultiDialectView")


_GLUE_PRIMITIVES: dict[type[PrimitiveType], str] = {
    BooleanType: "boolean", IntegerType: "int", LongType: "bigint", FloatType: "float", DoubleType: "double",
    DateType: "date", TimeType: "string", StringType: "string", UUIDType: "string", TimestampType: "timestamp",
    TimestamptzType: "timestamp", FixedType: "binary", BinaryType: "binary",
}


class GlueType(SchemaVisitor[str]):
    """An Iceberg type in the Hive spelling Glue columns use (`array<struct<a:int>>`)."""

    def schema(self, schema: Schema, struct_result: str) -> str:
        return struct_result

    def struct(self, struct: StructType, field_results: list[str]) -> str:
        return f"struct<{','.join(field_results)}>"

    def field(self, field: NestedField, field_result: str) -> str:
        return f"{field.name}:{field_result}"

    def list(self, list_type: ListType, element_result: str) -> str:
        return f"array<{element_result}>"

    def map(self, map_type: MapType, key_result: str, value_result: str) -> str:
        return f"map<{key_result},{value_result}>"

    def primitive(self, primitive: PrimitiveType) -> str:
        if isinstance(primitive, DecimalType):
            return f"decimal({primitive.precision},{primitive.scale})"
        return _GLUE_PRIMITIVES.get(type(primitive), str(primitive))


def _glue_columns(metadata: TableMetadata) -> list[dict[str, Any]]:
    """Every column any schema of the table has had; those of older schemas are marked not current."""
    out: dict[str, dict[str, Any]] = {}
    current = metadata.schema_by_id(metadata.current_schema_id)
    others = [s for s in metadata.schemas if s.schema_id != metadata.current_schema_id]
    for schema, is_current in [(current, True)] * (current is not None) + [(s, False) for s in others]:
        assert schema is not None
        for field in schema.columns:
            if field.name in out:
                continue
            column: dict[str, Any] = {"Name": field.name, "Type": visit(field.field_type, GlueType()),
                                      "Parameters": {"iceberg.field.id": str(field.field_id),
                                                     "iceberg.field.optional": str(field.optional).lower(),
                                                     "iceberg.field.current": str(is_current).lower()}}
            if field.doc:
                column["Comment"] = field.doc
            out[field.name] = column
    return list(out.values())


def glue_table_input(name: str, metadata_location: str, metadata: TableMetadata,
                     glue_table: dict[str, Any] | None = None, previous: str | None = None,
                     previous_metadata: TableMetadata | None = None) -> dict[str, Any]:
    """The Glue TableInput of an Iceberg table, as the open-source Iceberg Glue catalog writes it. Table
    properties removed since `previous_metadata` leave the Glue parameters too."""
    parameters = dict((glue_table or {}).get("Parameters") or {})
    for key in (previous_metadata.properties if previous_metadata is not None else {}):
        if key not in metadata.properties:
            parameters.pop(key, None)
    parameters.update({"table_type": "ICEBERG", METADATA_LOCATION: metadata_location})
    if previous:
        parameters["previous_metadata_location"] = previous
    for key, value in metadata.properties.items():
        parameters[key] = str(value)
    table_input: dict[str, Any] = {
        "Name": name, "TableType": "EXTERNAL_TABLE", "Parameters": parameters,
        "StorageDescriptor": {"Columns": _glue_columns(metadata), "Location": metadata.location}}
    if "Description" in metadata.properties:
        table_input["Description"] = metadata.properties["Description"]
    for key, value in (glue_table or {}).items():
        if key not in table_input and key not in _GLUE_ONLY:
            table_input[key] = value
    if glue_table:
        table_input["StorageDescriptor"] = {**(glue_table.get("StorageDescriptor") or {}),
                                            **table_input["StorageDescriptor"]}
    return table_input


class GlueIcebergCatalog(MetastoreCatalog):
    """The Iceberg tables of one (account, region) of fogbank's Glue Data Catalog."""

    def __init__(self, glue: GlueCatalog, account: str, region: str, io: FileIO) -> None:
        super().__init__("awsdatacatalog")
        self.glue = glue
        self.account = account
        self.region = region
        self.io = io

    def _load_file_io(self, properties: Properties = EMPTY_DICT, location: str | None = None) -> FileIO:
        return self.io

    # -- tables ----------------------------------------------------------------------------------------------

    def create_table(self, identifier: str | Identifier, schema: Schema | pa.Schema, location: str | None = None,
                     partition_spec: PartitionSpec = UNPARTITIONED_PARTITION_SPEC,
                     sort_order: SortOrder = UNSORTED_SORT_ORDER, properties: Properties = EMPTY_DICT) -> Table:
        return self.create_table_transaction(identifier, schema, location, partition_spec, sort_order,
                                             properties).commit_transaction()

    def load_table(self, identifier: str | Identifier) -> Table:
        database, name = self.identifier_to_database_and_table(identifier, NoSuchTableError)
        return self.table_of(self._glue_table(database, name))

    def table_of(self, glue_table: dict[str, Any]) -> Table:
        """The Iceberg table a Glue table record points at."""
        database, name = glue_table["DatabaseName"], glue_table["Name"]
        if not is_iceberg(glue_table):
            raise NoSuchTableError(f"{database}.{name} is not an Iceberg table")
        location = (glue_table.get("Parameters") or {}).get(METADATA_LOCATION)
        if not location:
            raise NoSuchTableError(f"{database}.{name} has no {METADATA_LOCATION}")
        metadata = FromInputFile.table_metadata(self.io.new_input(location))
        return Table((database, name), metadata, location, self.io, self)

    def commit_table(self, table: Table, requirements: tuple[TableRequirement, ...],
                     updates: tuple[TableUpdate, ...]) -> CommitTableResponse:
        database, name = self.identifier_to_database_and_table(table.name(), NoSuchTableError)
        try:
            glue_table: dict[str, Any] | None = self._glue_table(database, name)
        except NoSuchTableError:
            glue_table = None  # a CREATE TABLE transaction
        current = self.table_of(glue_table) if glue_table is not None else None
        staged = self._update_and_stage_table(current, (database, name), requirements, updates)
        if current is not None and staged.metadata == current.metadata:
            return CommitTableResponse(metadata=current.metadata,  # type: ignore[call-arg]
                                       metadata_location=current.metadata_location)
        self._write_metadata(staged.metadata, staged.io, staged.metadata_location)
        if glue_table is None or current is None:
            try:
                self.glue.create_table(self.account, self.region, database,
                                       glue_table_input(name, staged.metadata_location, staged.metadata))
            except AlreadyExistsException as exc:
                raise TableAlreadyExistsError(f"Table {database}.{name} already exists") from exc
        else:
            table_input = glue_table_input(name, staged.metadata_location, staged.metadata, glue_table,
                                           current.metadata_location, current.metadata)
            try:
                self.glue.update_table(self.account, self.region, database, table_input,
                                       expected_version=glue_table.get("VersionId"))
            except ConcurrentModificationException as exc:
                raise CommitFailedException(f"Table {database}.{name} was changed by another writer") from exc
        return CommitTableResponse(metadata=staged.metadata,  # type: ignore[call-arg]
                                   metadata_location=staged.metadata_location)

    def drop_table(self, identifier: str | Identifier) -> None:
        database, name = self.identifier_to_database_and_table(identifier, NoSuchTableError)
        try:
            self.glue.delete_table(self.account, self.region, database, name)
        except EntityNotFoundException as exc:
            raise NoSuchTableError(f"Table does not exist: {database}.{name}") from exc

    def rename_table(self, from_identifier: str | Identifier, to_identifier: str | Identifier) -> Table:
        """ALTER TABLE ... RENAME TO: the Glue record moves to the new name; the files stay where they are (an
        Iceberg table's location is in its metadata, not derived from its name)."""
        database, name = self.identifier_to_database_and_table(from_identifier, NoSuchTableError)
        new_database, new_name = self.identifier_to_database_and_table(to_identifier, NoSuchTableError)
        glue_table = self._glue_table(database, name)
        table_input = {k: v for k, v in glue_table.items() if k not in _GLUE_ONLY}
        table_input["Name"] = new_name
        try:
            self.glue.create_table(self.account, self.region, new_database, table_input)
        except AlreadyExistsException as exc:
            raise TableAlreadyExistsError(f"Table {new_database}.{new_name} already exists") from exc
        except EntityNotFoundException as exc:
            raise NoSuchNamespaceError(f"Database {new_database} does not exist") from exc
        try:
            self.glue.delete_table(self.account, self.region, database, name)
        except EntityNotFoundException:
            # Another statement dropped or renamed the source meanwhile: undo, so one name holds the table.
            self.glue.delete_table(self.account, self.region, new_database, new_name)
            raise NoSuchTableError(f"Table does not exist: {database}.{name}") from None
        return self.load_table((new_database, new_name))

    def register_table(self, identifier: str | Identifier, metadata_location: str, overwrite: bool = False) -> Table:
        raise NotImplementedError("register a table through Glue CreateTable with metadata_location")

    def list_tables(self, namespace: str | Identifier) -> list[Identifier]:
        database = self.namespace_to_string(namespace)
        return [(database, t["Name"]) for t in self.glue.get_tables(self.account, self.region, database)
                if is_iceberg(t)]

    def _glue_table(self, database: str, name: str) -> dict[str, Any]:
        try:
            return self.glue.get_table(self.account, self.region, database, name)
        except EntityNotFoundException as exc:
            raise NoSuchTableError(f"Table does not exist: {database}.{name}") from exc

    # -- namespaces and views: managed through Glue and Athena DDL, not through this binding -----------------

    def create_namespace(self, namespace: str | Identifier, properties: Properties = EMPTY_DICT) -> None:
        raise NotImplementedError("create databases with CREATE DATABASE")

    def drop_namespace(self, namespace: str | Identifier) -> None:
        raise NotImplementedError("drop databases with DROP DATABASE")

    def list_namespaces(self, namespace: str | Identifier = ()) -> list[Identifier]:
        return [(d["Name"],) for d in self.glue.get_databases(self.account, self.region)]

    def load_namespace_properties(self, namespace: str | Identifier) -> Properties:
        database = self.namespace_to_string(namespace)
        try:
            found = self.glue.get_database(self.account, self.region, database)
        except EntityNotFoundException:
            return {}
        properties = dict(found.get("Parameters") or {})
        if found.get("LocationUri"):
            properties["location"] = found["LocationUri"]
        return properties

    def update_namespace_properties(self, namespace: str | Identifier, removals: set[str] | None = None,
                                    updates: Properties = EMPTY_DICT) -> PropertiesUpdateSummary:
        raise NotImplementedError("alter databases through Glue UpdateDatabase")

    def list_views(self, namespace: str | Identifier) -> list[Identifier]:
        return []

    def drop_view(self, identifier: str | Identifier) -> None:
        raise NotImplementedError("Iceberg views are not supported")

    def view_exists(self, identifier: str | Identifier) -> bool:
        return False

    def load_view(self, identifier: str | Identifier) -> View:
        raise NotImplementedError("Iceberg views are not supported")

    def register_view(self, identifier: str | Identifier, metadata_location: str) -> View:
        raise NotImplementedError("Iceberg views are not supported")
