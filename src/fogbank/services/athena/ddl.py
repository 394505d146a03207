"""Athena's DDL on the Glue Data Catalog: CREATE DATABASE / EXTERNAL TABLE / VIEW, DROP, ALTER TABLE
partitions and properties, MSCK REPAIR TABLE, and the SHOW / DESCRIBE family.

Tables are written to Glue exactly as Athena writes them (EXTERNAL_TABLE with Hive SerDe, input and output
formats; views as VIRTUAL_VIEW with a Presto view document), so Glue clients, crawlers and Athena see the
same catalog.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

from fogbank.engines.sql import SqlError, parse_type
from fogbank.services.athena.engine import Engine, Outcome
from fogbank.services.athena.errors import QueryFailed
from fogbank.services.athena.tables import (
    ICEBERG_PROPERTIES,
    encode_presto_view,
    partition_location,
    table_info,
)
from fogbank.services.glue.catalog import GlueCatalog
from fogbank.services.glue.errors import AlreadyExistsException, EntityNotFoundException, InvalidInputException
from fogbank.services.glue.hive_tables import column_defs, external_table_input, literal_text, partition_specs
from fogbank.services.glue.records import is_iceberg
from fogbank.services.s3.local_access import S3LocalError, split_uri


class Ddl:
    """DDL and metadata statements of one query."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ctx = engine.ctx
        self.catalog: GlueCatalog = engine.ctx.catalog

    @property
    def scope(self) -> tuple[str, str]:
        return self.ctx.account, self.ctx.region

    def _names(self, table: exp.Table) -> tuple[str, str]:
        return self.engine.session.table_parts(table)

    def _exists(self, database: str, table: str | None = None) -> bool:
        return self.catalog.exists(*self.scope, database, table)

    def _require_db(self, database: str) -> None:
        if not self._exists(database):
            raise QueryFailed(f"FAILED: SemanticException [Error 10072]: Database does not exist: {database}")

    # -- databases -----------------------------------------------------------------------------------------

    def create_database(self, node: exp.Create) -> Outcome:
        table = node.this if isinstance(node.this, exp.Table) else None
        name = (table.name or table.db if table is not None else "").lower()
        given: dict[str, Any] = {"Name": name}
        for prop in (node.args.get("properties") or exp.Properties(expressions=[])).expressions:
            if isinstance(prop, exp.SchemaCommentProperty):
                given["Description"] = literal_text(prop.this)
            elif isinstance(prop, exp.LocationProperty):
                given["LocationUri"] = literal_text(prop.this)
            elif isinstance(prop, exp.Property):
                given.setdefault("Parameters", {})[literal_text(prop.this)] = literal_text(prop.args.get("value"))
        try:
            self.catalog.create_database(*self.scope, given)
        except AlreadyExistsException:
            if not node.args.get("exists"):
                raise QueryFailed(f"FAILED: AlreadyExistsException: Database {name} already exists") from None
        except InvalidInputException as exc:
            raise QueryFailed(f"FAILED: InvalidInputException: {exc.message}") from None
        return Outcome("DDL", "CREATE_DATABASE")

    def drop_database(self, node: exp.Drop) -> Outcome:
        table = node.args["tables"][0] if node.args.get("tables") else node.this
        name = (table.name or table.db).lower()
        if not self._exists(name):
            if node.args.get("exists"):
                return Outcome("DDL", "DROP_DATABASE")
            raise QueryFailed(f"FAILED: SemanticException [Error 10072]: Database does not exist: {name}")
        if self.catalog.get_tables(*self.scope, name, limit=1) and not node.args.get("cascade"):
            raise QueryFailed(f"FAILED: InvalidOperationException(message:Database {name} is not empty. "
                              "One or more tables exist.)")
        self.catalog.delete_database(*self.scope, name)
        return Outcome("DDL", "DROP_DATABASE")

    # -- tables --------------------------------------------------------------------------------------------

    def create_table(self, node: exp.Create) -> Outcome:
        schema = node.this
        if not isinstance(schema, exp.Schema):
            raise QueryFailed("SYNTAX_ERROR: CREATE TABLE needs a column list or AS SELECT")
        database, name = self._names(schema.this)
        props = (node.args.get("properties") or exp.Properties(expressions=[])).expressions
        external = any(isinstance(p, exp.ExternalProperty) for p in props)
        if _is_iceberg(props):
            if external:
                raise QueryFailed("FAILED: External keyword not supported for table type ICEBERG.")
            return self._create_iceberg(node, schema, database, name, props)
        if not external:
            raise QueryFailed("FAILED: Only external table creation is supported. Use CREATE EXTERNAL TABLE.")
        self._require_db(database)
        table_input = external_table_input(node, name)
        location = table_input["StorageDescriptor"].get("Location", "")
        if location:
            try:
                split_uri(location)
            except S3LocalError as exc:
                raise QueryFailed(f"FAILED: {exc}") from None
        try:
            self.catalog.create_table(*self.scope, database, table_input)
        except AlreadyExistsException:
            if not node.args.get("exists"):
                raise QueryFailed(f"FAILED: AlreadyExistsException: Table {name} already exists") from None
        except InvalidInputException as exc:
            raise QueryFailed(f"FAILED: InvalidInputException: {exc.message}") from None
        return Outcome("DDL", "CREATE_TABLE")

    def _create_iceberg(self, node: exp.Create, schema: exp.Schema, database: str, name: str,
                        props: list[exp.Expr]) -> Outcome:
        self._require_db(database)
        location = ""
        partitioning: list[exp.Expr | str] = []
        properties: dict[str, str] = {}
        for prop in props:
            if isinstance(prop, exp.LocationProperty):
                location = literal_text(prop.this)
            elif isinstance(prop, exp.PartitionedByProperty):
                inner = prop.this
                partitioning = list(inner.expressions if isinstance(inner, exp.Schema | exp.Tuple) else [inner])
            elif isinstance(prop, exp.Property):
                key = literal_text(prop.this).lower()
                if key not in ICEBERG_PROPERTIES and not key.startswith(("write.", "read.", "commit.")):
                    raise QueryFailed(f"INVALID_TABLE_PROPERTY: Unsupported table property key: {key}")
                properties[key] = literal_text(prop.args.get("value"))
        columns = [(c["Name"], c["Type"]) for c in column_defs(schema)]
        comments = {c["Name"]: c["Comment"] for c in column_defs(schema) if c.get("Comment")}
        self.engine.iceberg.create(database, name, columns, partitioning, location, properties,
                                    comments, bool(node.args.get("exists")))
        return Outcome("DDL", "CREATE_TABLE")

    def drop_table(self, node: exp.Drop, view: bool = False) -> Outcome:
        table = node.args["tables"][0] if node.args.get("tables") else node.this
        database, name = self._names(table)
        kind = "DROP_VIEW" if view else "DROP_TABLE"
        try:
            existing = self.catalog.get_table(*self.scope, database, name)
        except EntityNotFoundException:
            if node.args.get("exists"):
                return Outcome("DDL", kind)
            if view:
                raise QueryFailed(f"VIEW_NOT_FOUND: line 1:1: View '{database}.{name}' does not exist") from None
            raise QueryFailed(f"FAILED: SemanticException [Error 10001]: Table not found {database}.{name}") from None
        if view and existing.get("TableType") != "VIRTUAL_VIEW":
            raise QueryFailed(f"SYNTAX_ERROR: line 1:1: View '{database}.{name}' does not exist")
        if is_iceberg(existing):
            self.engine.iceberg.drop(database, name)
            return Outcome("DDL", kind)
        self.catalog.delete_table(*self.scope, database, name)
        return Outcome("DDL", kind)

    def create_view(self, node: exp.Create) -> Outcome:
        target = node.this
        if isinstance(target, exp.Schema):
            target = target.this
        database, name = self._names(target)
        self._require_db(database)
        query = node.args.get("expression")
        if query is None:
            raise QueryFailed("SYNTAX_ERROR: CREATE VIEW needs AS SELECT")
        columns = self.engine.column_types(query)
        sql_text = query.sql("trino")
        table_input = {
            "Name": name, "TableType": "VIRTUAL_VIEW", "Parameters": {"presto_view": "true", "comment": "Presto View"},
            "ViewOriginalText": encode_presto_view(sql_text, "awsdatacatalog", database,
                                                   [(n, _presto_type(t)) for n, t in columns]),
            "ViewExpandedText": "/* Presto View */", "PartitionKeys": [],
            "StorageDescriptor": {"Columns": [{"Name": n, "Type": t} for n, t in columns],
                                  "SerdeInfo": {}, "Location": "", "InputFormat": "", "OutputFormat": ""}}
        if self._exists(database, name):
            if not node.args.get("replace"):
                raise QueryFailed(f"ALREADY_EXISTS: line 1:1: View '{database}.{name}' already exists")
            self.catalog.update_table(*self.scope, database, table_input)
        else:
            self.catalog.create_table(*self.scope, database, table_input)
        return Outcome("DDL", "CREATE_VIEW")

    # -- ALTER TABLE ---------------------------------------------------------------------------------------

    def alter_table(self, node: exp.Alter) -> Outcome:
        database, name = self._names(node.this)
        table = self._table(database, name)
        if is_iceberg(table):
            return self.engine.iceberg.alter(database, name, node)
        for action in node.args.get("actions") or []:
            if isinstance(action, exp.DropPartition):
                specs = [_partition_spec(p) for p in action.expressions]
                self._drop_partitions(database, table, specs, bool(action.args.get("exists")))
            elif isinstance(action, exp.AlterSet) and action.args.get("location") is not None:
                table["StorageDescriptor"]["Location"] = literal_text(action.args["location"])
                self._update(database, table)
            elif isinstance(action, exp.AlterSet) and action.expressions:
                for props in action.expressions:
                    for prop in props.expressions if isinstance(props, exp.Properties) else []:
                        value = literal_text(prop.args.get("value"))
                        table.setdefault("Parameters", {})[literal_text(prop.this)] = value
                self._update(database, table)
            elif isinstance(action, exp.Schema):
                existing = {c["Name"] for c in table["StorageDescriptor"].get("Columns", [])}
                for column in column_defs(action):
                    if column["Name"] in existing:
                        raise QueryFailed(f"FAILED: Duplicate column name: {column['Name']}")
                    table["StorageDescriptor"].setdefault("Columns", []).append(column)
                self._update(database, table)
            else:
                raise QueryFailed(f"NOT_SUPPORTED: ALTER TABLE {action.sql('hive')}")
        return Outcome("DDL", "ALTER_TABLE")

    def add_partitions(self, table_ref: str, if_not_exists: bool, specs: list[tuple[dict[str, str], str | None]]
                       ) -> Outcome:
        database, name = self._ref(table_ref)
        table = self._table(database, name)
        info = table_info(table)
        keys = [k for k, _ in info.partition_keys]
        inputs = []
        for values, location in specs:
            ordered = [values.get(k) for k in keys]
            if None in ordered or len(values) != len(keys):
                raise QueryFailed(f"FAILED: ValidationException: partition spec {values} does not match the "
                                  f"partition keys {keys}")
            sd = dict(table.get("StorageDescriptor") or {})
            sd["Location"] = location or partition_location(info, {"Values": ordered})
            inputs.append({"Values": ordered, "StorageDescriptor": sd})
        failures = self.catalog.create_partitions(*self.scope, database, name, inputs)
        for failed_values, error in failures:
            if isinstance(error, AlreadyExistsException) and if_not_exists:
                continue
            raise QueryFailed(f"FAILED: AlreadyExistsException: Partition already exists: {failed_values}")
        return Outcome("DDL", "ALTER_TABLE_ADD_PARTITION")

    def drop_partitions_text(self, table_ref: str, if_exists: bool, specs: list[dict[str, str]]) -> Outcome:
        database, name = self._ref(table_ref)
        table = self._table(database, name)
        self._drop_partitions(database, table, specs, if_exists)
        return Outcome("DDL", "ALTER_TABLE_DROP_PARTITION")

    def _drop_partitions(self, database: str, table: dict[str, Any], specs: list[dict[str, str]],
                         if_exists: bool) -> None:
        info = table_info(table)
        keys = [k for k, _ in info.partition_keys]
        existing = self.catalog.get_partitions(*self.scope, database, info.name)
        doomed: list[list[str]] = []
        for spec in specs:
            matches = [p["Values"] for p in existing
                       if all(dict(zip(keys, p["Values"], strict=False)).get(k) == v for k, v in spec.items())]
            if not matches and not if_exists:
                raise QueryFailed(f"FAILED: SemanticException [Error 10006]: Partition not found {spec}")
            doomed += matches
        if doomed:
            self.catalog.delete_partitions(*self.scope, database, info.name, doomed)

    def repair(self, table_ref: str) -> Outcome:
        """MSCK REPAIR TABLE: registers every Hive-style key=value folder under the location not yet known."""
        database, name = self._ref(table_ref)
        table = self._table(database, name)
        info = table_info(table)
        keys = [k for k, _ in info.partition_keys]
        if not keys:
            return Outcome("DDL", "MSCK_REPAIR_TABLE", text_rows=[])
        bucket, prefix = split_uri(info.location)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        known = {tuple(p["Values"]) for p in self.catalog.get_partitions(*self.scope, database, name)}
        found: dict[tuple[str, ...], str] = {}
        try:
            objects = list(self.ctx.s3.list(self.ctx.account, bucket, prefix))
        except S3LocalError as exc:
            raise QueryFailed(f"FAILED: {exc}") from None
        for obj in objects:
            parts = obj.key[len(prefix):].split("/")[:-1]
            if len(parts) < len(keys):
                continue
            values: list[str] = []
            for key, part in zip(keys, parts, strict=False):
                k, sep, v = part.partition("=")
                if not sep or k.lower() != key:
                    break
                values.append(_unescape_path(v))
            if len(values) == len(keys):
                found.setdefault(tuple(values), f"s3://{bucket}/{prefix}{'/'.join(parts[:len(keys)])}/")
        missing = {v: loc for v, loc in found.items() if v not in known}
        inputs = []
        for found_values, location in sorted(missing.items()):
            sd = dict(table.get("StorageDescriptor") or {})
            sd["Location"] = location
            inputs.append({"Values": list(found_values), "StorageDescriptor": sd})
        if inputs:
            self.catalog.create_partitions(*self.scope, database, name, inputs)
        rows = [[f"Partitions not in metastore:\t{name}:" + "/".join(f"{k}={v}" for k, v in zip(keys, values,
                                                                                              strict=True))]
                for values in sorted(missing)]
        rows += [[f"Repair: Added partition to metastore {name}:" + "/".join(
            f"{k}={v}" for k, v in zip(keys, values, strict=True))] for values in sorted(missing)]
        return Outcome("DDL", "MSCK_REPAIR_TABLE", text_rows=rows)

    # -- SHOW / DESCRIBE -----------------------------------------------------------------------------------

    def show(self, what: str, rest: str) -> Outcome:
        what = what.upper()
        if what in ("DATABASES", "SCHEMAS"):
            pattern = _like_pattern(rest)
            names = [d["Name"] for d in self.catalog.get_databases(*self.scope)]
            rows = [[n] for n in names if pattern is None or pattern.fullmatch(n)]
            return self._listing("database_name", rows)
        if what in ("TABLES", "VIEWS"):
            match = re.match(r"^(?:(?:IN|FROM)\s+([`\"\w.]+))?\s*(?:LIKE\s+)?('(?:[^']|'')*')?\s*$", rest, re.I)
            if match is None:
                raise QueryFailed(f"SYNTAX_ERROR: line 1:1: cannot parse SHOW {what} {rest}")
            database = _unquote(match.group(1)) if match.group(1) else self.ctx.database
            self._require_db(database)
            pattern = _like_pattern(match.group(2) or "")
            rows = []
            for t in self.catalog.get_tables(*self.scope, database):
                if what == "VIEWS" and t.get("TableType") != "VIRTUAL_VIEW":
                    continue
                if pattern is None or pattern.fullmatch(t["Name"]):
                    rows.append([t["Name"]])
            return self._listing("tab_name" if what == "TABLES" else "views", rows)
        if what == "COLUMNS":
            match = re.match(r"^(?:IN|FROM)\s+([`\"\w.]+)(?:\s+(?:IN|FROM)\s+([`\"\w]+))?\s*$", rest, re.I)
            if match is None:
                raise QueryFailed(f"SYNTAX_ERROR: line 1:1: cannot parse SHOW COLUMNS {rest}")
            ref = match.group(1) if match.group(2) is None else f"{match.group(2)}.{match.group(1)}"
            info = table_info(self._table(*self._ref(ref)))
            return self._listing("field", [[n] for n, _ in info.columns + info.partition_keys])
        if what == "PARTITIONS":
            database, name = self._ref(rest.strip())
            info = table_info(self._table(database, name))
            if not info.partition_keys:
                raise QueryFailed(f"FAILED: SemanticException Table {name} is not a partitioned table")
            keys = [k for k, _ in info.partition_keys]
            rows = [["/".join(f"{k}={v}" for k, v in zip(keys, p["Values"], strict=False))]
                    for p in self.catalog.get_partitions(*self.scope, database, name)]
            return self._listing("partition", rows)
        if what == "TBLPROPERTIES":
            match = re.match(r"^([`\"\w.]+)(?:\s*\(\s*'([^']*)'\s*\))?\s*$", rest)
            if match is None:
                raise QueryFailed(f"SYNTAX_ERROR: line 1:1: cannot parse SHOW TBLPROPERTIES {rest}")
            table = self._table(*self._ref(match.group(1)))
            params = table.get("Parameters") or {}
            if match.group(2):
                rows = [[str(params.get(match.group(2), ""))]]
            else:
                rows = [[f"{k}\t{v}"] for k, v in sorted(params.items())]
            return self._listing("prpt_name", rows)
        if what == "CREATE":
            match = re.match(r"^(TABLE|VIEW)\s+([`\"\w.]+)\s*$", rest, re.I)
            if match is None:
                raise QueryFailed(f"SYNTAX_ERROR: line 1:1: cannot parse SHOW CREATE {rest}")
            database, name = self._ref(match.group(2))
            table = self._table(database, name)
            text = self.engine.iceberg.show_create(database, name) if is_iceberg(table) else \
                show_create(table)
            return self._listing("createtab_stmt", [[line] for line in text.split("\n")])
        raise QueryFailed(f"NOT_SUPPORTED: SHOW {what}")

    def describe(self, node: exp.Describe) -> Outcome:
        target = node.this
        if not isinstance(target, exp.Table):
            raise QueryFailed("NOT_SUPPORTED: DESCRIBE of a query")
        database, name = self._names(target)
        info = table_info(self._table(database, name))
        comments = {c["Name"].lower(): c.get("Comment", "") for c in
                    (info.raw.get("StorageDescriptor") or {}).get("Columns", [])}
        rows = [[n, t, comments.get(n, "")] for n, t in info.columns + info.partition_keys]
        if info.partition_keys:
            rows += [[""], ["# Partition Information"], ["# col_name", "data_type", "comment"], [""]]
            rows += [[n, t, ""] for n, t in info.partition_keys]
        if info.is_iceberg:
            rows += self.engine.iceberg.partition_transforms(database, name)
        out = Outcome("DDL", "DESCRIBE_TABLE", text_rows=rows)
        out.columns = _string_columns(["col_name", "data_type", "comment"])
        return out

    def _listing(self, column: str, rows: list[list[str]]) -> Outcome:
        out = Outcome("DDL", "SHOW", text_rows=rows)
        out.columns = _string_columns([column])
        return out

    # -- helpers -------------------------------------------------------------------------------------------

    def _ref(self, text: str) -> tuple[str, str]:
        parts = [_unquote(p) for p in text.strip().split(".")]
        if len(parts) == 1:
            return self.ctx.database.lower(), parts[0].lower()
        if len(parts) == 3 and parts[0].lower() == "awsdatacatalog":
            parts = parts[1:]
        if len(parts) != 2:
            raise QueryFailed(f"SYNTAX_ERROR: line 1:1: invalid table name {text}")
        return parts[0].lower(), parts[1].lower()

    def _table(self, database: str, name: str) -> dict[str, Any]:
        try:
            return self.catalog.get_table(*self.scope, database, name)
        except EntityNotFoundException:
            if not self._exists(database):
                raise QueryFailed(f"SCHEMA_NOT_FOUND: line 1:1: Schema '{database}' does not exist") from None
            raise QueryFailed(f"TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog.{database}.{name}' does not exist"
                              ) from None

    def _update(self, database: str, table: dict[str, Any]) -> None:
        given = {k: v for k, v in table.items() if k not in (
            "DatabaseName", "CreateTime", "UpdateTime", "IsRegisteredWithLakeFormation", "CatalogId", "VersionId",
            "CreatedBy", "LastAccessTime")}
        self.catalog.update_table(*self.scope, database, given)


def _is_iceberg(props: list[exp.Expr]) -> bool:
    for prop in props:
        if isinstance(prop, exp.Property) and literal_text(prop.this).lower() == "table_type":
            return literal_text(prop.args.get("value")).lower() == "iceberg"
    return False


def _presto_type(hive: str) -> str:
    try:
        return parse_type(hive).sql("trino").lower()
    except SqlError:
        return "varchar"


def _string_columns(names: list[str]) -> list[dict[str, Any]]:
    return [{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": n, "Label": n, "Type": "string",
             "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": False} for n in names]


def _unquote(text: str) -> str:
    return text.strip().strip('`"')


def _like_pattern(text: str) -> re.Pattern[str] | None:
    """SHOW ... LIKE 'a*|b*': Hive's patterns, where * is any run of characters and | separates choices."""
    text = text.strip()
    if text.upper().startswith("LIKE"):
        text = text[4:].strip()
    if not text:
        return None
    pattern = text.strip("'").replace("''", "'")
    choices = [re.escape(c.strip()).replace(r"\*", ".*") for c in pattern.split("|")]
    return re.compile("|".join(f"(?:{c})" for c in choices), re.IGNORECASE)


def _unescape_path(value: str) -> str:
    from urllib.parse import unquote

    return unquote(value)


def _partition_spec(node: exp.Expr) -> dict[str, str]:
    spec: dict[str, str] = {}
    for item in node.expressions if isinstance(node, exp.Partition) else [node]:
        if isinstance(item, exp.EQ):
            spec[item.this.name.lower()] = literal_text(item.expression)
    return spec


def parse_partition_specs(text: str) -> list[tuple[dict[str, str], str | None]]:
    """`PARTITION (k='v', n=1) LOCATION 's3://...' PARTITION (...)` -> [(spec, location)]."""
    try:
        return partition_specs(text)
    except ValueError as exc:
        raise QueryFailed(f"SYNTAX_ERROR: line 1:1: cannot parse partition specification: {exc}") from None


def show_create(table: dict[str, Any]) -> str:
    """The DDL that would recreate a table, in Athena's layout."""
    info = table_info(table)
    db, name = info.database, info.name
    if info.is_view:
        return f"CREATE VIEW {db}.{name} AS\n{info.view_sql}"
    sd = table.get("StorageDescriptor") or {}
    cols = ",\n".join(f"  `{n}` {t}" for n, t in info.columns)
    lines = [f"CREATE EXTERNAL TABLE `{db}`.`{name}`(", cols + ")"]
    if info.partition_keys:
        lines += ["PARTITIONED BY ( ", ",\n".join(f"  `{n}` {t}" for n, t in info.partition_keys) + ")"]
    serde = sd.get("SerdeInfo") or {}
    lines += ["ROW FORMAT SERDE ", f"  '{serde.get('SerializationLibrary', '')}' "]
    params = serde.get("Parameters") or {}
    if params:
        lines += ["WITH SERDEPROPERTIES ( ", ",\n".join(f"  '{k}'='{v}'" for k, v in params.items()) + ") "]
    lines += ["STORED AS INPUTFORMAT ", f"  '{sd.get('InputFormat', '')}' ", "OUTPUTFORMAT ",
              f"  '{sd.get('OutputFormat', '')}'", "LOCATION", f"  '{sd.get('Location', '')}'"]
    tbl_params = {k: v for k, v in (table.get("Parameters") or {}).items() if k != "EXTERNAL"}
    if tbl_params:
        lines += ["TBLPROPERTIES (", ", \n".join(f"  '{k}'='{v}'" for k, v in tbl_params.items()) + ")"]
    return "\n".join(lines)
