//! Renders `definition.sql` and `migration.sql` from strata's schema model.
//!
//! One emitter ([`definition_sql`], [`migration_sql`]) walks the definition or migration and asks
//! a [`Dialect`] what it can do (capability methods, in the style of sqlparser-rs) and how to
//! spell each piece. PostgreSQL output is byte-identical to Serverpod's generator except for the
//! deliberate fixes listed on [`Postgres`]. [`Sqlite`] is Serverpod's own SQLite dialect, whose
//! files have a layout of their own ([`FileLayout`]). [`Mysql`] is MySQL 8 / MariaDB, whose
//! files have no transaction lines (its DDL is not transactional) and whose types and defaults
//! are [`mysql_types`], the mapping introspection shares. A new dialect implements the trait,
//! whose methods have no defaults in any database's spelling; the emitter does not change.
//!
//! The library does no I/O and never panics on any input: everything it cannot express is a
//! typed [`SqlError`] naming the table, column or index. Index expression elements and
//! predicates are the only SQL text a definition carries; an emitter writes them only after
//! they parse as exactly one expression ([`check_definition_expressions`] is the early,
//! located form of the same check for definitions read from files).

mod common;
mod defaults;
mod distributed;
mod emit;
mod error;
mod expression;
mod mysql;
pub mod mysql_types;
mod postgres;
pub mod quote;
mod sqlite;
mod sqlite_files;
mod user_types;

use strata_schema::{
    CheckConstraint, ColumnDefinition, ColumnMigration, ColumnType, DatabaseDefinition, DatabaseMigration,
    ExclusionConstraint, ForeignKeyDefinition, IndexDefinition, KeyConstraint, MigrationVersion,
    TableDefinition, TableMigration,
};

pub use common::check_index_parameters;
pub use defaults::ColumnDefault;
pub use distributed::{PgCompatible, CITUS, COCKROACHDB, YUGABYTEDB};
pub use emit::drops_serial_sequence;
pub use error::{LayoutPart, SqlError, SqlObject};
pub use expression::{check_definition_expressions, check_index_expressions, check_layout_clause, IndexPart};
pub use mysql::Mysql;
pub use postgres::{add_cross_schema_foreign_key_sql, check_native_type, Postgres};
pub use sqlite::{
    basic_type_for_storage, is_basic_sqlite_type, iso_from_epoch_millis, legacy_declared_type_to_column_type,
    sqlite_default_to_abstract, sqlite_storage_type, Sqlite, SQLITE_SCHEMA_TABLE,
};

/// A database extension some column types need before any table is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    /// pgvector (`vector`, `halfvec`, `sparsevec`, `bit`).
    Vector,
    /// PostGIS (`geography(...)`).
    Postgis,
}

/// A SQL dialect: what it can do and how it spells things. The emitter asks capabilities
/// instead of testing which dialect it has, so adding one needs no emitter change.
///
/// Nothing here defaults to one database's spelling (sqlparser-rs's rule): every capability and
/// every statement is the dialect's own answer. Spellings several dialects share live once, in
/// the crate's `common` module, and each dialect opts in by calling them.
pub trait Dialect: Send + Sync {
    /// Short name used in config and history rows (`postgres`, `sqlite`, `mysql`).
    fn name(&self) -> &'static str;

    // ---- capabilities ------------------------------------------------------------------

    /// DDL inside a transaction rolls back with it. When true, every file is one transaction
    /// (exactly one `BEGIN;` and one `COMMIT;` line); when false (MySQL commits each DDL
    /// statement) the file has neither and the runner executes it statement by statement,
    /// recording progress per statement.
    fn supports_transactional_ddl(&self) -> bool;
    /// Changing a column's type in place.
    fn supports_alter_column_type(&self) -> bool;
    /// Changing a column's nullability in place.
    fn supports_alter_column_nullability(&self) -> bool;
    /// Changing a column's default in place.
    fn supports_alter_column_default(&self) -> bool;
    /// `ALTER TABLE ... DROP COLUMN` of a plain column.
    fn supports_drop_column(&self) -> bool;
    /// `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY` and dropping one. Without it foreign
    /// keys are declared inside `CREATE TABLE` and changing them rebuilds the table.
    fn supports_alter_foreign_keys(&self) -> bool;
    /// `NULLS NOT DISTINCT` on unique indexes.
    fn supports_nulls_not_distinct(&self) -> bool;
    /// `GENERATED ALWAYS|BY DEFAULT AS IDENTITY` columns, created and altered in place.
    fn supports_identity_columns(&self) -> bool;
    /// `GENERATED ALWAYS AS (<expr>) STORED` columns in PostgreSQL's spelling (the expression
    /// is PostgreSQL's text, as the server prints it), added with `ADD COLUMN` and made plain
    /// with `ALTER COLUMN ... DROP EXPRESSION`.
    fn supports_generated_columns(&self) -> bool;
    /// pgvector column types (read by every dialect's column type through
    /// `common::check_type_supported`).
    fn supports_vector(&self) -> bool;
    /// PostGIS geography column types (read like [`Dialect::supports_vector`]).
    fn supports_geography(&self) -> bool;
    /// Whether an index access method (`btree`, `gin`, `hnsw`, ...) exists.
    fn supports_index_method(&self, method: &str) -> bool;
    /// `DROP TABLE` also drops inbound foreign keys of other tables (PostgreSQL `CASCADE`), so a
    /// recreated table needs them restored afterwards.
    fn drop_table_drops_inbound_foreign_keys(&self) -> bool;
    /// `DROP TABLE` fails while another table's foreign key references the table (MySQL), so
    /// the emitter drops those keys first (and restores the ones a recreated table keeps).
    fn drop_table_refused_while_referenced(&self) -> bool;
    /// An index that serves a foreign key cannot be dropped while the key exists (InnoDB), so
    /// a table's foreign keys are dropped before its indexes.
    fn indexes_serve_foreign_keys(&self) -> bool;
    /// The wire protocol (and so the driver, session and introspector) that reaches a server of
    /// this dialect: `postgres`, `sqlite` or `mysql`. CockroachDB, YugabyteDB and Citus speak
    /// PostgreSQL's.
    fn wire_protocol(&self) -> &'static str;
    /// A session-level lock that dies with its connection (`pg_try_advisory_lock`, MySQL's
    /// `GET_LOCK`). Without it the runner takes a lease row with an expiry and a fencing token
    /// instead (strata-db's lease lock).
    fn supports_advisory_locks(&self) -> bool;
    /// How an index is built without blocking writes, which decides where the runner puts such a
    /// statement (inside a transaction, or alone outside one).
    fn online_index_build(&self) -> OnlineIndexBuild;

    /// Whether this in-place column change needs the table rebuilt (create new, copy, swap).
    /// Derived from the capabilities above, so no dialect's answer is assumed.
    fn needs_table_rebuild_for(&self, change: &ColumnMigration) -> bool {
        (change.new_type.is_some() && !self.supports_alter_column_type())
            || ((change.add_nullable || change.remove_nullable) && !self.supports_alter_column_nullability())
            || (change.change_default && !self.supports_alter_column_default())
    }
    /// Whether dropping `column` needs the table rebuilt. `source` is the table before the
    /// migration when known. Derived from [`Dialect::supports_drop_column`] unless a dialect
    /// knows more (SQLite refuses to drop indexed columns).
    fn needs_table_rebuild_for_dropped_column(
        &self,
        source: Option<&TableDefinition>,
        change: &TableMigration,
        column: &str,
    ) -> bool {
        let _ = (source, change, column);
        !self.supports_drop_column()
    }

    // ---- spelling ----------------------------------------------------------------------

    /// `Ok` when `sql` is exactly one expression in this dialect's grammar, else why not. Index
    /// expression elements and predicates pass this before they are written into a statement.
    fn check_expression(&self, sql: &str) -> Result<(), String>;
    /// Quotes an identifier (through [`quote::ident_with`], the crate's one quoting function).
    fn quote_identifier(&self, name: &str) -> String;
    /// Renders a string literal (through [`quote::literal`], the crate's one escaping function).
    fn quote_literal(&self, value: &str) -> String;
    /// The column's type as written in DDL (without PRIMARY KEY / NOT NULL / DEFAULT).
    fn column_type_sql(&self, table: &str, column: &ColumnDefinition) -> Result<String, SqlError>;
    /// A validated default rendered for a column of `column_type`.
    fn default_sql(
        &self,
        object: &SqlObject,
        column_type: ColumnType,
        default: &ColumnDefault,
    ) -> Result<String, SqlError>;
    /// One column line of `CREATE TABLE` / `ADD COLUMN` (`"id" bigserial PRIMARY KEY`).
    fn column_sql(&self, table: &str, column: &ColumnDefinition) -> Result<String, SqlError>;
    /// What follows the closing parenthesis of `CREATE TABLE` (MySQL: engine, charset and
    /// collation), empty when nothing does.
    fn table_options_sql(&self) -> &'static str;
    /// The clauses `table`'s partitioning, inheritance and persistence add to its `CREATE
    /// TABLE`; an error naming the table where the dialect has no such layout (a plain table
    /// has none anywhere).
    fn table_layout_sql(&self, table: &TableDefinition) -> Result<TableLayoutSql, SqlError>;
    /// `ALTER TABLE ...;\n` for one partition, inheritance or persistence change of `table`.
    fn layout_change_sql(&self, table: &str, step: &LayoutStep) -> Result<String, SqlError>;
    /// `CREATE [UNIQUE] INDEX ...;\n` on `table` (whose columns decide, on MySQL, which
    /// elements need a prefix length).
    fn create_index_sql(
        &self,
        table: &TableDefinition,
        index: &IndexDefinition,
        if_not_exists: bool,
    ) -> Result<String, SqlError>;
    /// `DROP INDEX ...;\n`.
    fn drop_index_sql(&self, table: &str, index: &str) -> String;
    /// `DROP TABLE ...;\n`.
    fn drop_table_sql(&self, table: &str) -> String;
    /// `ALTER TABLE ... DROP COLUMN ...;\n`.
    fn drop_column_sql(&self, table: &str, column: &str) -> String;
    /// `ALTER TABLE ... RENAME COLUMN ... TO ...;\n`.
    fn rename_column_sql(&self, table: &str, from: &str, to: &str) -> String;
    /// `ALTER TABLE ... ADD COLUMN <column_sql>;\n`.
    fn add_column_sql(&self, table: &str, column_sql: &str) -> String;
    /// The statements that change one column in place (after any rename): `column` is the
    /// column as it ends up (final name, type and default), `change` says which aspects change
    /// and carries their rendered SQL. Only called for changes the capabilities allow.
    fn alter_column_sql(
        &self,
        table: &str,
        column: &ColumnDefinition,
        change: &ColumnChange,
    ) -> Result<String, SqlError>;
    /// `ALTER TABLE ... RENAME TO ...;\n` (the last step of a rebuild).
    fn rename_table_sql(&self, from: &str, to: &str) -> String;
    /// A standalone statement adding a foreign key (only called when
    /// [`supports_alter_foreign_keys`](Dialect::supports_alter_foreign_keys)).
    fn add_foreign_key_sql(&self, table: &str, fk: &ForeignKeyDefinition) -> Result<String, SqlError>;
    /// A standalone statement dropping a foreign key (same condition as above). `source` is
    /// the table before the migration, when known (MySQL also drops the index it made for the
    /// key).
    fn drop_foreign_key_sql(
        &self,
        source: Option<&TableDefinition>,
        table: &str,
        constraint: &str,
    ) -> Result<String, SqlError>;
    /// A foreign key as a table-constraint line inside `CREATE TABLE` (only called when the
    /// dialect cannot alter foreign keys).
    fn inline_foreign_key_sql(&self, table: &str, fk: &ForeignKeyDefinition) -> Result<String, SqlError>;
    /// A column line of a table that states its own primary key (`TableKeys::primary_key`):
    /// [`column_sql`](Dialect::column_sql), except that `id` is never an inline `PRIMARY KEY`.
    fn keyed_column_sql(&self, table: &str, column: &ColumnDefinition) -> Result<String, SqlError>;
    /// A primary key (`primary`) or unique constraint as a table-constraint clause
    /// (`CONSTRAINT "k" PRIMARY KEY ("a", "b")`), inside `CREATE TABLE` or after `ADD`.
    fn key_constraint_sql(&self, table: &str, key: &KeyConstraint, primary: bool)
        -> Result<String, SqlError>;
    /// A `CHECK` constraint as a table-constraint clause (`CONSTRAINT "c" CHECK (...) [NO
    /// INHERIT] [NOT VALID]`), inside `CREATE TABLE` (never a `NOT VALID` one: PostgreSQL allows
    /// that only in `ALTER TABLE`) or after `ADD`; an error where the dialect writes none.
    fn check_constraint_sql(&self, table: &str, check: &CheckConstraint) -> Result<String, SqlError>;
    /// An `EXCLUDE` constraint as a table-constraint clause (`CONSTRAINT "x" EXCLUDE USING ...`);
    /// an error where the dialect writes none.
    fn exclusion_constraint_sql(
        &self,
        table: &str,
        exclusion: &ExclusionConstraint,
    ) -> Result<String, SqlError>;
    /// The statement dropping a primary key, unique, check or exclusion constraint by name.
    fn drop_key_constraint_sql(&self, table: &str, name: &str) -> Result<String, SqlError>;
    /// The statement renaming a primary key or unique constraint.
    fn rename_key_constraint_sql(&self, table: &str, from: &str, to: &str) -> Result<String, SqlError>;
    /// The block that makes an extension available, `None` when the dialect has none.
    fn extension_sql(&self, extension: Extension) -> Option<&'static str>;
    /// The declaration of `gen_random_uuid_v7()` when the dialect needs a helper function for
    /// UUIDv7 defaults.
    fn uuid_v7_function_sql(&self) -> Option<&'static str>;
    /// The statement for one change of an enum or domain type (a definition's `types`); an
    /// error where the database has no such types.
    fn type_change_sql(&self, change: &strata_schema::types::TypeChange) -> Result<String, SqlError>;
    /// How the files record which module versions are installed (Serverpod's
    /// `serverpod_migrations` rows), `None` when they do not (MySQL: Serverpod has no MySQL,
    /// and the runner keeps its own history).
    fn version_bookkeeping(&self) -> Option<&dyn VersionBookkeeping>;
    /// A dialect whose files have a layout of their own (Serverpod's SQLite) renders them
    /// itself; `None` uses the shared emitter.
    fn file_layout(&self) -> Option<&dyn FileLayout>;
}

/// What a table's layout adds to its `CREATE TABLE` ([`Dialect::table_layout_sql`]); all empty
/// for a plain logged table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableLayoutSql {
    /// Between `CREATE` and `TABLE` (`UNLOGGED `).
    pub persistence: &'static str,
    /// What replaces the column list of a partition (`PARTITION OF "m" FOR VALUES ...`): its
    /// columns are its parent's.
    pub partition_of: Option<String>,
    /// After the column list (` INHERITS ("base")`, ` PARTITION BY RANGE (day)`).
    pub suffix: String,
}

/// One partition, inheritance or persistence change of an altered table
/// ([`Dialect::layout_change_sql`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutStep<'a> {
    /// `ALTER TABLE parent DETACH PARTITION table`.
    Detach { parent: &'a str },
    /// `ALTER TABLE parent ATTACH PARTITION table <bound>`.
    Attach { parent: &'a str, bound: &'a str },
    /// `ALTER TABLE table NO INHERIT parent`.
    NoInherit { parent: &'a str },
    /// `ALTER TABLE table INHERIT parent`.
    Inherit { parent: &'a str },
    /// `SET UNLOGGED` (true) or `SET LOGGED` (false).
    SetUnlogged(bool),
}

/// How a dialect builds an index while writes go on ([`Dialect::online_index_build`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnlineIndexBuild {
    /// `CREATE INDEX CONCURRENTLY`, which refuses to run inside a transaction block
    /// (PostgreSQL, Citus): the runner runs such a statement alone, outside any transaction.
    ConcurrentlyOutsideTransaction,
    /// Every `CREATE INDEX` is online, but only outside a transaction block; inside one it is
    /// built offline (YugabyteDB): the runner runs every `CREATE INDEX` outside a transaction.
    DefaultOutsideTransaction,
    /// Every index build is an online schema change wherever it runs, and `CONCURRENTLY` is
    /// accepted and ignored (CockroachDB): placement does not matter.
    Always,
    /// No online build (SQLite, MySQL's files here): placement does not matter.
    Unsupported,
}

impl OnlineIndexBuild {
    /// Whether `CREATE [UNIQUE] INDEX` (`concurrently`: with that keyword) must run outside any
    /// transaction block to be online, or to run at all.
    pub fn needs_no_transaction(self, concurrently: bool) -> bool {
        match self {
            OnlineIndexBuild::ConcurrentlyOutsideTransaction => concurrently,
            OnlineIndexBuild::DefaultOutsideTransaction => true,
            OnlineIndexBuild::Always | OnlineIndexBuild::Unsupported => false,
        }
    }
}

/// One in-place column change, as [`Dialect::alter_column_sql`] receives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnChange {
    /// `Some(nullable)` when the nullability changes.
    pub nullable: Option<bool>,
    /// `Some(Some(sql))` for a new default, `Some(None)` when the default is dropped.
    pub default_sql: Option<Option<String>>,
    /// The new type's SQL when the type changes.
    pub type_sql: Option<String>,
    /// What happens to the column's identity, when it changes.
    pub identity: Option<IdentityChange>,
    /// An identity's sequence options change, from and to (`None`: the defaults); the dialect
    /// writes them after the identity itself.
    pub identity_options: Option<IdentityOptionsChange>,
    /// A generated column becomes plain, keeping its values (`DROP EXPRESSION`, first).
    pub drop_expression: bool,
    /// The column's `serial` default goes: its sequence is dropped after the default (it would
    /// stay behind, owned by the column, and an identity added next would get another name).
    pub drop_serial_sequence: bool,
}

/// An identity's sequence options before and after (`None`: the defaults).
pub type IdentityOptionsChange =
    (Option<strata_schema::IdentityOptions>, Option<strata_schema::IdentityOptions>);

/// An identity column change: `DROP IDENTITY` runs before the other changes of the column,
/// `ADD`/`SET GENERATED` after them (an identity needs `NOT NULL` and no default first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityChange {
    /// With the options that are not the defaults.
    Add(strata_schema::Identity, Option<strata_schema::IdentityOptions>),
    Set(strata_schema::Identity),
    Drop,
}

impl ColumnChange {
    /// Whether nothing changes (the emitter then writes no statement).
    pub fn is_empty(&self) -> bool {
        self.nullable.is_none()
            && self.default_sql.is_none()
            && self.type_sql.is_none()
            && self.identity.is_none()
            && self.identity_options.is_none()
            && !self.drop_expression
            && !self.drop_serial_sequence
    }
}

/// Serverpod's `serverpod_migrations` rows, written by the migration files themselves.
pub trait VersionBookkeeping {
    /// The upsert recording `version` for `module` (without its banner).
    fn upsert_migration_version_sql(&self, table: &str, module: &str, version: &str) -> String;
    /// Deletes the bookkeeping rows of removed modules.
    fn delete_migration_versions_sql(&self, table: &str, modules: &[String]) -> String;
}

/// Renders whole files for a dialect whose layout the shared emitter does not produce.
pub trait FileLayout {
    /// `definition.sql` (see [`definition_sql`]).
    fn definition_sql(&self, definition: &DatabaseDefinition) -> Result<String, SqlError>;
    /// `migration.sql` (see [`migration_sql`]).
    fn migration_sql(&self, input: &MigrationSqlInput) -> Result<String, SqlError>;
}

/// Looks a dialect up by its config name (`postgres`/`postgresql`/`pg`, `sqlite`/`sqlite3`,
/// `mysql`/`mariadb`/`mysql8`, `cockroachdb`/`cockroach`/`crdb`, `yugabytedb`/`yugabyte`,
/// `citus`).
pub fn dialect_by_name(name: &str) -> Option<Box<dyn Dialect>> {
    match name.trim().to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" | "pg" => Some(Box::new(Postgres)),
        "sqlite" | "sqlite3" => Some(Box::new(Sqlite)),
        "mysql" | "mariadb" | "mysql8" => Some(Box::new(Mysql)),
        "cockroachdb" | "cockroach" | "crdb" => Some(Box::new(COCKROACHDB)),
        "yugabytedb" | "yugabyte" => Some(Box::new(YUGABYTEDB)),
        "citus" => Some(Box::new(CITUS)),
        _ => None,
    }
}

/// What `migration.sql` needs besides the migration itself.
#[derive(Debug, Clone, Copy)]
pub struct MigrationSqlInput<'a> {
    pub migration: &'a DatabaseMigration,
    /// The schema before the migration (needed to decide SQLite table rebuilds).
    pub source: &'a DatabaseDefinition,
    /// The schema after the migration (column types for new defaults, inbound foreign keys to
    /// restore, the shape of rebuilt tables, whether `serverpod_migrations` exists).
    pub target: &'a DatabaseDefinition,
    /// Bookkeeping upserts, project first.
    pub installed_modules: &'a [MigrationVersion],
    /// Modules whose bookkeeping rows are deleted.
    pub removed_modules: &'a [String],
}

/// `definition.sql`: the whole schema for an empty database, with bookkeeping for
/// `definition.installed_modules`.
pub fn definition_sql(dialect: &dyn Dialect, definition: &DatabaseDefinition) -> Result<String, SqlError> {
    match dialect.file_layout() {
        Some(layout) => layout.definition_sql(definition),
        None => emit::Emitter::new(dialect).definition(definition),
    }
}

/// Every column and index of the managed tables that `dialect` cannot render, in definition
/// order. Rendering stops at the first problem; this lists them all, so a user fixes their
/// models in one pass instead of one error per run.
pub fn unsupported_objects(dialect: &dyn Dialect, definition: &DatabaseDefinition) -> Vec<SqlError> {
    let mut problems = Vec::new();
    for table in definition.tables.iter().filter(|t| t.is_managed()) {
        for column in &table.columns {
            let line = match table.keys.states_primary_key() {
                true => dialect.keyed_column_sql(&table.name, column),
                false => dialect.column_sql(&table.name, column),
            };
            if let Err(e) = line {
                problems.push(e);
            }
        }
        for index in &table.indexes {
            if let Err(e) = dialect.create_index_sql(table, index, false) {
                problems.push(e);
            }
        }
        if let Err(e) = dialect.table_layout_sql(table) {
            problems.push(e);
        }
    }
    problems
}

/// `migration.sql`: the incremental DDL. Repair files use the same function (Serverpod's repair
/// file ends with the same bookkeeping).
pub fn migration_sql(dialect: &dyn Dialect, input: &MigrationSqlInput) -> Result<String, SqlError> {
    match dialect.file_layout() {
        Some(layout) => layout.migration_sql(input),
        None => emit::Emitter::new(dialect).migration(input),
    }
}
