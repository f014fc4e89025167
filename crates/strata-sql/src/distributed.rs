//! Distributed engines that speak PostgreSQL's wire protocol and most of its SQL: CockroachDB,
//! YugabyteDB and Citus. Each is PostgreSQL's spelling ([`Postgres`]) under its own capability
//! set ([`Engine`]): which of strata's assumptions it breaks (transactional DDL, advisory locks,
//! where an index builds online, sequences, types and index methods). What an engine lacks is
//! refused by name before anything is written; the sources of every answer are in
//! docs/distributed.md.

use strata_schema::types::{TypeChange, TypeKind};
use strata_schema::{
    CheckConstraint, ColumnDefinition, ColumnType, ExclusionConstraint, ForeignKeyDefinition,
    IndexDefinition, KeyConstraint, TableDefinition,
};

use crate::common::refuse_postgres_index_details;
use crate::emit::unsupported;
use crate::{
    ColumnChange, ColumnDefault, Dialect, Extension, FileLayout, OnlineIndexBuild, Postgres, SqlError,
    SqlObject, VersionBookkeeping,
};

/// How an engine fills a `serial` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SerialKind {
    /// A sequence, as in PostgreSQL (`serial` / `bigserial`).
    Sequence,
    /// CockroachDB: `SERIAL` is `INT8 DEFAULT unique_rowid()` (unique, roughly time-ordered,
    /// not dense); strata writes that explicitly so `serial_normalization` cannot change it.
    UniqueRowid,
}

/// One engine's answers (data, not a second dialect concept: [`PgCompatible`] is the dialect).
#[derive(Debug)]
pub struct Engine {
    name: &'static str,
    transactional_ddl: bool,
    advisory_locks: bool,
    online_index_build: OnlineIndexBuild,
    nulls_not_distinct: bool,
    serial: SerialKind,
    /// pgvector and PostGIS types are built in (no `CREATE EXTENSION` block).
    builtin_extensions: bool,
    /// Index methods that exist; anything else is refused with `method_hints`' reason.
    index_methods: &'static [&'static str],
    method_hints: &'static [(&'static str, &'static str)],
    /// Column types that do not exist on the engine, with what to do instead.
    missing_types: &'static [(ColumnType, &'static str)],
    /// `CREATE DOMAIN` / `ALTER DOMAIN` exist (CockroachDB has enums but no domains).
    domains: bool,
    /// PostgreSQL's table constraints beyond plain keys and checks: `EXCLUDE`, `DEFERRABLE`
    /// primary and unique keys, and `NO INHERIT` checks (table inheritance). Where an engine's
    /// documentation does not promise them, they are refused rather than guessed.
    postgres_constraints: bool,
    /// PostgreSQL's stored generated columns, including `ALTER COLUMN ... DROP EXPRESSION`
    /// (CockroachDB spells that `DROP STORED`).
    generated_columns: bool,
    /// Index elements take PostgreSQL's nulls order, operator class and collation, and an
    /// index `INCLUDE` and `WITH (...)` as PostgreSQL does. Where strata has not verified that,
    /// those are refused (`DESC` is written everywhere).
    postgres_index_details: bool,
}

/// A PostgreSQL-compatible distributed engine: PostgreSQL's spelling under [`Engine`]'s
/// capabilities.
#[derive(Debug, Clone, Copy)]
pub struct PgCompatible {
    engine: &'static Engine,
}

const GEOGRAPHY_TYPES: [ColumnType; 4] = [
    ColumnType::Geography,
    ColumnType::GeographyLineString,
    ColumnType::GeographyPolygon,
    ColumnType::GeographyGeometryCollection,
];

static COCKROACH_ENGINE: Engine = Engine {
    name: "cockroachdb",
    // DDL inside an explicit transaction is not atomic with it (and since v25.1
    // `autocommit_before_ddl` commits the transaction before each DDL statement).
    transactional_ddl: false,
    // pg_advisory_lock and friends are no-op stubs that always succeed.
    advisory_locks: false,
    online_index_build: OnlineIndexBuild::Always,
    nulls_not_distinct: false,
    serial: SerialKind::UniqueRowid,
    builtin_extensions: true,
    index_methods: &["btree", "gin", "gist"],
    method_hints: &[
        ("hash", "CockroachDB's USING HASH builds a hash-sharded B-tree, not a hash index; use btree"),
        ("hnsw", "CockroachDB builds vector indexes with CREATE VECTOR INDEX, not USING hnsw"),
        ("ivfflat", "CockroachDB builds vector indexes with CREATE VECTOR INDEX, not USING ivfflat"),
    ],
    missing_types: &[
        (ColumnType::Halfvec, "CockroachDB has only the vector type of pgvector's family; use vector"),
        (ColumnType::Sparsevec, "CockroachDB has only the vector type of pgvector's family; use vector"),
    ],
    domains: false,
    postgres_constraints: false,
    generated_columns: false,
    postgres_index_details: false,
};

static YUGABYTE_ENGINE: Engine = Engine {
    name: "yugabytedb",
    // Each DDL statement is its own transaction unless the preview flag
    // ysql_yb_ddl_transaction_block_enabled is on.
    transactional_ddl: false,
    // Advisory locks arrived only in recent releases, behind a flag; the lease works everywhere.
    advisory_locks: false,
    online_index_build: OnlineIndexBuild::DefaultOutsideTransaction,
    nulls_not_distinct: true,
    serial: SerialKind::Sequence,
    builtin_extensions: false,
    // btree and hash are accepted and built as LSM indexes; gin is ybgin.
    index_methods: &["btree", "hash", "gin", "lsm", "ybgin", "ybhnsw"],
    method_hints: &[
        ("gist", "YugabyteDB has no GiST indexes; use btree or gin"),
        ("hnsw", "YugabyteDB's vector index method is ybhnsw"),
        ("ivfflat", "YugabyteDB's vector index method is ybhnsw"),
    ],
    missing_types: &[
        (
            GEOGRAPHY_TYPES[0],
            "YugabyteDB does not support PostGIS; remove the column or store it as text/json",
        ),
        (
            GEOGRAPHY_TYPES[1],
            "YugabyteDB does not support PostGIS; remove the column or store it as text/json",
        ),
        (
            GEOGRAPHY_TYPES[2],
            "YugabyteDB does not support PostGIS; remove the column or store it as text/json",
        ),
        (
            GEOGRAPHY_TYPES[3],
            "YugabyteDB does not support PostGIS; remove the column or store it as text/json",
        ),
    ],
    domains: true,
    postgres_constraints: false,
    // Stable releases before 2.25 are PostgreSQL 11 based, which has no generated columns.
    generated_columns: false,
    postgres_index_details: false,
};

static CITUS_ENGINE: Engine = Engine {
    name: "citus",
    // The coordinator runs DDL in the transaction and propagates it to the workers with
    // two-phase commit.
    transactional_ddl: true,
    // Advisory locks work on the coordinator, which is where strata connects.
    advisory_locks: true,
    online_index_build: OnlineIndexBuild::ConcurrentlyOutsideTransaction,
    nulls_not_distinct: true,
    serial: SerialKind::Sequence,
    builtin_extensions: false,
    index_methods: &[],
    method_hints: &[],
    missing_types: &[],
    domains: true,
    postgres_constraints: true,
    generated_columns: true,
    postgres_index_details: true,
};

/// CockroachDB (`dialect = "cockroachdb"`).
pub const COCKROACHDB: PgCompatible = PgCompatible { engine: &COCKROACH_ENGINE };
/// YugabyteDB's YSQL (`dialect = "yugabytedb"`).
pub const YUGABYTEDB: PgCompatible = PgCompatible { engine: &YUGABYTE_ENGINE };
/// Citus, through its coordinator (`dialect = "citus"`).
pub const CITUS: PgCompatible = PgCompatible { engine: &CITUS_ENGINE };

const PG: Postgres = Postgres;

impl PgCompatible {
    /// Refuses `what` (an exclusion constraint, a deferrable key, ...) where the engine lacks
    /// PostgreSQL's extra table constraints, naming the table.
    fn check_postgres_constraints(&self, table: &str, what: &str) -> Result<(), SqlError> {
        match self.engine.postgres_constraints {
            true => Ok(()),
            false => Err(unsupported(self, SqlObject::table(table), what)),
        }
    }

    /// Refuses a column type the engine lacks, naming the column.
    fn check_type(&self, table: &str, column: &ColumnDefinition) -> Result<(), SqlError> {
        match self.engine.missing_types.iter().find(|(t, _)| *t == column.column_type) {
            Some((t, why)) => Err(unsupported(
                self,
                SqlObject::column(table, &column.name),
                &format!("the {} column type ({why})", t.name()),
            )),
            None => Ok(()),
        }
    }

    /// A `serial` column as the engine fills it: `None` when PostgreSQL's spelling is right.
    fn serial_column_sql(&self, table: &str, column: &ColumnDefinition) -> Result<Option<String>, SqlError> {
        let object = SqlObject::column(table, &column.name);
        let Some(raw) = &column.column_default else { return Ok(None) };
        let is_serial =
            ColumnDefault::parse_or_expression(raw, column.column_type, &object)? == ColumnDefault::Serial;
        if self.engine.serial != SerialKind::UniqueRowid || !is_serial || !column.column_type.is_integer() {
            return Ok(None);
        }
        if column.column_type == ColumnType::Integer && !column.is_primary() {
            return Err(unsupported(
                self,
                object,
                "a serial integer column (CockroachDB fills SERIAL with 64-bit unique_rowid() values, which do \
                 not fit an integer; make the column bigint)",
            ));
        }
        // PostgreSQL's line for a plain bigint NOT NULL column, then the engine's own default.
        let plain = ColumnDefinition {
            column_default: None,
            column_type: ColumnType::Bigint,
            is_nullable: false,
            ..column.clone()
        };
        Ok(Some(format!("{} DEFAULT unique_rowid()", PG.column_sql(table, &plain)?)))
    }

    /// Refuses an index method the engine lacks, saying what exists instead.
    fn check_index(&self, table: &str, index: &IndexDefinition) -> Result<(), SqlError> {
        let method = index.index_type.as_str();
        if !self.supports_index_method(method) {
            let hint = self.engine.method_hints.iter().find(|(m, _)| *m == method).map(|(_, h)| *h);
            let what = match hint {
                Some(hint) => format!("index method {method:?} ({hint})"),
                None => format!("index method {method:?} (it has {})", self.engine.index_methods.join(", ")),
            };
            return Err(unsupported(self, SqlObject::index(table, &index.index_name), &what));
        }
        if index.nulls_distinct == Some(false) && !self.supports_nulls_not_distinct() {
            return Err(unsupported(self, SqlObject::index(table, &index.index_name), "NULLS NOT DISTINCT"));
        }
        if !self.engine.postgres_index_details {
            refuse_postgres_index_details(self, table, index)?;
        }
        Ok(())
    }
}

impl Dialect for PgCompatible {
    fn name(&self) -> &'static str {
        self.engine.name
    }
    fn supports_transactional_ddl(&self) -> bool {
        self.engine.transactional_ddl
    }
    fn supports_alter_column_type(&self) -> bool {
        PG.supports_alter_column_type()
    }
    fn supports_alter_column_nullability(&self) -> bool {
        PG.supports_alter_column_nullability()
    }
    fn supports_alter_column_default(&self) -> bool {
        PG.supports_alter_column_default()
    }
    fn supports_drop_column(&self) -> bool {
        PG.supports_drop_column()
    }
    fn supports_alter_foreign_keys(&self) -> bool {
        PG.supports_alter_foreign_keys()
    }
    fn supports_nulls_not_distinct(&self) -> bool {
        self.engine.nulls_not_distinct
    }
    fn supports_identity_columns(&self) -> bool {
        // All three accept GENERATED ... AS IDENTITY (CockroachDB since v21.2).
        PG.supports_identity_columns()
    }
    fn supports_generated_columns(&self) -> bool {
        self.engine.generated_columns && PG.supports_generated_columns()
    }
    fn supports_vector(&self) -> bool {
        PG.supports_vector()
    }
    fn supports_geography(&self) -> bool {
        !GEOGRAPHY_TYPES.iter().any(|t| self.engine.missing_types.iter().any(|(m, _)| m == t))
    }
    fn supports_index_method(&self, method: &str) -> bool {
        if self.engine.index_methods.is_empty() {
            // Citus: PostgreSQL's own access methods and those of extensions.
            return PG.supports_index_method(method);
        }
        self.engine.index_methods.contains(&method)
    }
    fn drop_table_drops_inbound_foreign_keys(&self) -> bool {
        PG.drop_table_drops_inbound_foreign_keys()
    }
    fn drop_table_refused_while_referenced(&self) -> bool {
        PG.drop_table_refused_while_referenced()
    }
    fn indexes_serve_foreign_keys(&self) -> bool {
        PG.indexes_serve_foreign_keys()
    }
    fn wire_protocol(&self) -> &'static str {
        PG.wire_protocol()
    }
    fn supports_advisory_locks(&self) -> bool {
        self.engine.advisory_locks
    }
    fn online_index_build(&self) -> OnlineIndexBuild {
        self.engine.online_index_build
    }

    fn check_expression(&self, sql: &str) -> Result<(), String> {
        PG.check_expression(sql)
    }
    fn quote_identifier(&self, name: &str) -> String {
        PG.quote_identifier(name)
    }
    fn quote_literal(&self, value: &str) -> String {
        PG.quote_literal(value)
    }
    fn column_type_sql(&self, table: &str, column: &ColumnDefinition) -> Result<String, SqlError> {
        self.check_type(table, column)?;
        PG.column_type_sql(table, column)
    }
    fn default_sql(
        &self,
        object: &SqlObject,
        column_type: ColumnType,
        default: &ColumnDefault,
    ) -> Result<String, SqlError> {
        PG.default_sql(object, column_type, default)
    }
    fn column_sql(&self, table: &str, column: &ColumnDefinition) -> Result<String, SqlError> {
        self.check_type(table, column)?;
        match self.serial_column_sql(table, column)? {
            Some(sql) => Ok(sql),
            None => PG.column_sql(table, column),
        }
    }
    fn table_options_sql(&self) -> &'static str {
        PG.table_options_sql()
    }
    fn create_index_sql(
        &self,
        table: &TableDefinition,
        index: &IndexDefinition,
        if_not_exists: bool,
    ) -> Result<String, SqlError> {
        self.check_index(&table.name, index)?;
        PG.create_index_sql(table, index, if_not_exists)
    }
    fn drop_index_sql(&self, table: &str, index: &str) -> String {
        PG.drop_index_sql(table, index)
    }
    fn drop_table_sql(&self, table: &str) -> String {
        PG.drop_table_sql(table)
    }
    fn drop_column_sql(&self, table: &str, column: &str) -> String {
        PG.drop_column_sql(table, column)
    }
    fn rename_column_sql(&self, table: &str, from: &str, to: &str) -> String {
        PG.rename_column_sql(table, from, to)
    }
    fn add_column_sql(&self, table: &str, column_sql: &str) -> String {
        PG.add_column_sql(table, column_sql)
    }
    fn alter_column_sql(
        &self,
        table: &str,
        column: &ColumnDefinition,
        change: &ColumnChange,
    ) -> Result<String, SqlError> {
        // A `unique_rowid()` serial has no sequence to drop.
        let change = ColumnChange {
            drop_serial_sequence: change.drop_serial_sequence && self.engine.serial == SerialKind::Sequence,
            ..change.clone()
        };
        PG.alter_column_sql(table, column, &change)
    }
    fn rename_table_sql(&self, from: &str, to: &str) -> String {
        PG.rename_table_sql(from, to)
    }
    fn type_change_sql(&self, change: &TypeChange) -> Result<String, SqlError> {
        let domain = match change {
            TypeChange::Create(t) | TypeChange::Drop(t) => {
                matches!(t.kind, TypeKind::Domain(_)).then(|| t.display_name())
            }
            TypeChange::AlterDomain { schema, name, .. } => Some(format!("{schema}.{name}")),
            TypeChange::AddEnumValue { .. } => None,
        };
        match domain {
            Some(name) if !self.engine.domains => {
                Err(SqlError::DomainsUnsupported { name, dialect: self.engine.name })
            }
            _ => PG.type_change_sql(change),
        }
    }
    fn keyed_column_sql(&self, table: &str, column: &ColumnDefinition) -> Result<String, SqlError> {
        self.check_type(table, column)?;
        PG.keyed_column_sql(table, column)
    }
    fn key_constraint_sql(
        &self,
        table: &str,
        key: &KeyConstraint,
        primary: bool,
    ) -> Result<String, SqlError> {
        if key.nulls_not_distinct && !self.supports_nulls_not_distinct() {
            return Err(unsupported(self, SqlObject::table(table), "UNIQUE NULLS NOT DISTINCT"));
        }
        if key.deferrable.is_some() {
            self.check_postgres_constraints(table, "a DEFERRABLE primary key or unique constraint")?;
        }
        PG.key_constraint_sql(table, key, primary)
    }
    fn check_constraint_sql(&self, table: &str, check: &CheckConstraint) -> Result<String, SqlError> {
        if check.no_inherit {
            self.check_postgres_constraints(table, "a NO INHERIT check constraint")?;
        }
        PG.check_constraint_sql(table, check)
    }
    fn exclusion_constraint_sql(
        &self,
        table: &str,
        exclusion: &ExclusionConstraint,
    ) -> Result<String, SqlError> {
        self.check_postgres_constraints(table, "an EXCLUDE constraint")?;
        PG.exclusion_constraint_sql(table, exclusion)
    }
    fn drop_key_constraint_sql(&self, table: &str, name: &str) -> Result<String, SqlError> {
        PG.drop_key_constraint_sql(table, name)
    }
    // Partitioning, inheritance and UNLOGGED differ per engine (CockroachDB has neither
    // PostgreSQL's PARTITION OF nor INHERITS); strata writes none of them there.
    crate::emit::layout_unsupported_methods!();
    fn rename_key_constraint_sql(&self, table: &str, from: &str, to: &str) -> Result<String, SqlError> {
        PG.rename_key_constraint_sql(table, from, to)
    }
    fn add_foreign_key_sql(&self, table: &str, fk: &ForeignKeyDefinition) -> Result<String, SqlError> {
        PG.add_foreign_key_sql(table, fk)
    }
    fn drop_foreign_key_sql(
        &self,
        source: Option<&TableDefinition>,
        table: &str,
        constraint: &str,
    ) -> Result<String, SqlError> {
        PG.drop_foreign_key_sql(source, table, constraint)
    }
    fn inline_foreign_key_sql(&self, table: &str, fk: &ForeignKeyDefinition) -> Result<String, SqlError> {
        PG.inline_foreign_key_sql(table, fk)
    }
    fn extension_sql(&self, extension: Extension) -> Option<&'static str> {
        if self.engine.builtin_extensions {
            return None;
        }
        PG.extension_sql(extension)
    }
    fn uuid_v7_function_sql(&self) -> Option<&'static str> {
        PG.uuid_v7_function_sql()
    }
    fn version_bookkeeping(&self) -> Option<&dyn VersionBookkeeping> {
        PG.version_bookkeeping().map(|_| self as &dyn VersionBookkeeping)
    }
    fn file_layout(&self) -> Option<&dyn FileLayout> {
        None
    }
}

impl VersionBookkeeping for PgCompatible {
    fn upsert_migration_version_sql(&self, table: &str, module: &str, version: &str) -> String {
        PG.upsert_migration_version_sql(table, module, version)
    }
    fn delete_migration_versions_sql(&self, table: &str, modules: &[String]) -> String {
        PG.delete_migration_versions_sql(table, modules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [PgCompatible; 3] = [COCKROACHDB, YUGABYTEDB, CITUS];

    #[test]
    fn each_engine_states_what_it_breaks() {
        let row = |d: &PgCompatible| {
            (d.name(), d.supports_transactional_ddl(), d.supports_advisory_locks(), d.online_index_build())
        };
        assert_eq!(
            ALL.iter().map(row).collect::<Vec<_>>(),
            [
                ("cockroachdb", false, false, OnlineIndexBuild::Always),
                ("yugabytedb", false, false, OnlineIndexBuild::DefaultOutsideTransaction),
                ("citus", true, true, OnlineIndexBuild::ConcurrentlyOutsideTransaction),
            ]
        );
        for d in ALL {
            assert_eq!(d.wire_protocol(), "postgres");
            assert!(d.version_bookkeeping().is_some(), "{}: Serverpod's rows stay", d.name());
        }
    }

    #[test]
    fn unique_constraints_follow_nulls_not_distinct() {
        let key = KeyConstraint {
            name: "t_code_key".into(),
            columns: vec!["code".into()],
            nulls_not_distinct: true,
        };
        let err = COCKROACHDB.key_constraint_sql("t", &key, false).unwrap_err().to_string();
        assert!(err.contains("NULLS NOT DISTINCT") && err.contains("\"t\""), "{err}");
        for d in [YUGABYTEDB, CITUS] {
            assert_eq!(
                d.key_constraint_sql("t", &key, false).unwrap(),
                PG.key_constraint_sql("t", &key, false).unwrap()
            );
        }
        let plain = KeyConstraint { nulls_not_distinct: false, ..key };
        assert!(COCKROACHDB.key_constraint_sql("t", &plain, false).is_ok());
    }

    #[test]
    fn domains_only_where_the_engine_has_them() {
        use strata_schema::types::{DomainDefinition, TypeDefinition};
        let domain = TypeDefinition {
            schema: "public".into(),
            name: "email".into(),
            kind: TypeKind::Domain(DomainDefinition { base_type: "text".into(), ..Default::default() }),
        };
        let labels = TypeDefinition {
            schema: "public".into(),
            name: "mood".into(),
            kind: TypeKind::Enum { values: vec!["ok".into()] },
        };
        let err = COCKROACHDB.type_change_sql(&TypeChange::Create(domain.clone())).unwrap_err().to_string();
        assert!(err.contains("public.email") && err.contains("cockroachdb"), "{err}");
        let create_enum = TypeChange::Create(labels);
        assert_eq!(
            COCKROACHDB.type_change_sql(&create_enum).unwrap(),
            PG.type_change_sql(&create_enum).unwrap()
        );
        for d in [YUGABYTEDB, CITUS] {
            let create = TypeChange::Create(domain.clone());
            assert_eq!(d.type_change_sql(&create).unwrap(), PG.type_change_sql(&create).unwrap());
        }
    }

    #[test]
    fn index_methods_per_engine() {
        let methods = ["btree", "gin", "gist", "hash", "hnsw", "ivfflat", "brin", "ybhnsw"];
        let supported = |d: PgCompatible| methods.iter().filter(|m| d.supports_index_method(m)).count();
        assert!(COCKROACHDB.supports_index_method("gist") && !COCKROACHDB.supports_index_method("hash"));
        assert!(!YUGABYTEDB.supports_index_method("gist") && YUGABYTEDB.supports_index_method("ybhnsw"));
        assert_eq!(supported(CITUS), methods.len(), "Citus has PostgreSQL's and its extensions'");
        assert_eq!(supported(COCKROACHDB), 3);
    }

    #[test]
    fn types_per_engine() {
        assert!(COCKROACHDB.supports_geography() && CITUS.supports_geography());
        assert!(!YUGABYTEDB.supports_geography());
        assert!(!COCKROACHDB.supports_nulls_not_distinct() && YUGABYTEDB.supports_nulls_not_distinct());
        assert!(COCKROACHDB.extension_sql(Extension::Vector).is_none(), "built in");
        assert!(YUGABYTEDB.extension_sql(Extension::Vector).is_some());
        assert!(CITUS.extension_sql(Extension::Postgis).is_some());
    }

    #[test]
    fn placement_of_index_builds() {
        use OnlineIndexBuild::*;
        assert!(ConcurrentlyOutsideTransaction.needs_no_transaction(true));
        assert!(!ConcurrentlyOutsideTransaction.needs_no_transaction(false));
        assert!(DefaultOutsideTransaction.needs_no_transaction(false));
        assert!(!Always.needs_no_transaction(true));
        assert!(!Unsupported.needs_no_transaction(true));
    }
}
