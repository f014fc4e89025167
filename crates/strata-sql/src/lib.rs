//! Renders `definition.sql` and `migration.sql` from strata's schema model.
//!
//! One emitter ([`definition_sql`], [`migration_sql`]) walks the definition or migration and asks
//! a [`Dialect`] what it can do (capability methods, in the style of sqlparser-rs) and how to
//! spell each piece. PostgreSQL output is byte-identical to Serverpod's generator except for the
//! deliberate fixes listed on [`Postgres`]. [`Sqlite`] is Serverpod's own SQLite dialect, whose
//! files have a layout of their own ([`FileLayout`]). A new dialect implements the trait; the
//! emitter does not change.
//!
//! The library does no I/O and never panics on any input: everything it cannot express is a
//! typed [`SqlError`] naming the table, column or index. Index expression elements and
//! predicates are the only SQL text a definition carries; an emitter writes them only after
//! they parse as exactly one expression ([`check_definition_expressions`] is the early,
//! located form of the same check for definitions read from files).

mod common;
mod defaults;
mod emit;
mod error;
mod expression;
pub mod mysql_types;
mod postgres;
pub mod quote;
mod sqlite;
mod sqlite_files;

use strata_schema::{
    ColumnDefinition, ColumnMigration, ColumnType, DatabaseDefinition, DatabaseMigration,
    ForeignKeyDefinition, IndexDefinition, MigrationVersion, TableDefinition, TableMigration,
};

pub use defaults::ColumnDefault;
pub use error::{SqlError, SqlObject};
pub use expression::{check_definition_expressions, check_index_expressions, IndexPart};
pub use postgres::{check_native_type, Postgres};
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
/// instead of testing which dialect it has, so adding one (MySQL) needs no emitter change.
pub trait Dialect: Send + Sync {
    /// Short name used in config and history rows (`postgres`, `sqlite`).
    fn name(&self) -> &'static str;

    // ---- capabilities ------------------------------------------------------------------

    /// DDL inside `BEGIN;`/`COMMIT;` rolls back with the transaction. Informational for the
    /// runner: every file still has exactly one `BEGIN;` and one `COMMIT;` line.
    fn supports_transactional_ddl(&self) -> bool;
    /// `ALTER COLUMN ... SET DATA TYPE`.
    fn supports_alter_column_type(&self) -> bool;
    /// `ALTER COLUMN ... SET/DROP NOT NULL`.
    fn supports_alter_column_nullability(&self) -> bool;
    /// `ALTER COLUMN ... SET/DROP DEFAULT`.
    fn supports_alter_column_default(&self) -> bool;
    /// `ALTER TABLE ... DROP COLUMN` of a plain column.
    fn supports_drop_column(&self) -> bool;
    /// `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY` / `DROP CONSTRAINT`. Without it foreign
    /// keys are declared inside `CREATE TABLE` and changing them rebuilds the table.
    fn supports_alter_foreign_keys(&self) -> bool;
    /// `NULLS NOT DISTINCT` on unique indexes.
    fn supports_nulls_not_distinct(&self) -> bool;
    /// pgvector column types and indexes.
    fn supports_vector(&self) -> bool;
    /// PostGIS geography column types.
    fn supports_geography(&self) -> bool;
    /// Whether an index access method (`btree`, `gin`, `hnsw`, ...) exists.
    fn supports_index_method(&self, method: &str) -> bool;
    /// `DROP TABLE` also drops inbound foreign keys of other tables (PostgreSQL `CASCADE`), so a
    /// recreated table needs them restored afterwards.
    fn drop_table_drops_inbound_foreign_keys(&self) -> bool;

    /// Whether this in-place column change needs the table rebuilt (create new, copy, swap).
    fn needs_table_rebuild_for(&self, change: &ColumnMigration) -> bool {
        (change.new_type.is_some() && !self.supports_alter_column_type())
            || ((change.add_nullable || change.remove_nullable) && !self.supports_alter_column_nullability())
            || (change.change_default && !self.supports_alter_column_default())
    }
    /// Whether dropping `column` needs the table rebuilt. `source` is the table before the
    /// migration when known.
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
    /// Quotes an identifier. Defaults to [`quote::ident`], the crate's one quoting function.
    fn quote_identifier(&self, name: &str) -> String {
        quote::ident(name)
    }
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
    /// `CREATE [UNIQUE] INDEX ...;\n`.
    fn create_index_sql(
        &self,
        table: &str,
        index: &IndexDefinition,
        if_not_exists: bool,
    ) -> Result<String, SqlError>;
    /// `DROP INDEX ...;\n`.
    fn drop_index_sql(&self, table: &str, index: &str) -> String {
        let _ = table;
        format!("DROP INDEX {};\n", self.quote_identifier(index))
    }
    /// `DROP TABLE ...;\n`.
    fn drop_table_sql(&self, table: &str) -> String;
    /// `ALTER TABLE ... DROP COLUMN ...;\n`.
    fn drop_column_sql(&self, table: &str, column: &str) -> String {
        format!(
            "ALTER TABLE {} DROP COLUMN {};\n",
            self.quote_identifier(table),
            self.quote_identifier(column)
        )
    }
    /// `ALTER TABLE ... RENAME COLUMN ... TO ...;\n`.
    fn rename_column_sql(&self, table: &str, from: &str, to: &str) -> String {
        format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {};\n",
            self.quote_identifier(table),
            self.quote_identifier(from),
            self.quote_identifier(to)
        )
    }
    /// `ALTER TABLE ... ADD COLUMN <column_sql>;\n`.
    fn add_column_sql(&self, table: &str, column_sql: &str) -> String {
        format!("ALTER TABLE {} ADD COLUMN {column_sql};\n", self.quote_identifier(table))
    }
    /// `ALTER TABLE ... ALTER COLUMN ... DROP NOT NULL` (`nullable`) or `SET NOT NULL`.
    fn alter_column_nullability_sql(&self, table: &str, column: &str, nullable: bool) -> String {
        format!(
            "ALTER TABLE {} ALTER COLUMN {} {} NOT NULL;\n",
            self.quote_identifier(table),
            self.quote_identifier(column),
            if nullable { "DROP" } else { "SET" }
        )
    }
    /// `ALTER TABLE ... ALTER COLUMN ... SET DEFAULT <sql>` or `DROP DEFAULT` (`None`).
    fn alter_column_default_sql(&self, table: &str, column: &str, default_sql: Option<&str>) -> String {
        let action = match default_sql {
            Some(sql) => format!("SET DEFAULT {sql}"),
            None => "DROP DEFAULT".to_string(),
        };
        format!(
            "ALTER TABLE {} ALTER COLUMN {} {action};\n",
            self.quote_identifier(table),
            self.quote_identifier(column)
        )
    }
    /// `ALTER TABLE ... ALTER COLUMN ... SET DATA TYPE <type> USING ...::<type>`.
    fn alter_column_type_sql(&self, table: &str, column: &str, type_sql: &str) -> String {
        let column = self.quote_identifier(column);
        format!(
            "ALTER TABLE {} ALTER COLUMN {column} SET DATA TYPE {type_sql} USING {column}::{type_sql};\n",
            self.quote_identifier(table)
        )
    }
    /// `ALTER TABLE ... RENAME TO ...;\n` (the last step of a rebuild).
    fn rename_table_sql(&self, from: &str, to: &str) -> String {
        format!("ALTER TABLE {} RENAME TO {};\n", self.quote_identifier(from), self.quote_identifier(to))
    }
    /// The bookkeeping upsert for one module (without its banner).
    fn upsert_migration_version_sql(&self, table: &str, module: &str, version: &str) -> String {
        let q = |s: &str| self.quote_identifier(s);
        let now = self.current_timestamp_sql();
        let version = quote::literal(version);
        format!(
            "INSERT INTO {} ({}, {}, {})\n    VALUES ({}, {version}, {now})\n    ON CONFLICT ({})\n    \
             DO UPDATE SET {} = {version}, {} = {now};\n",
            q(table),
            q("module"),
            q("version"),
            q("timestamp"),
            quote::literal(module),
            q("module"),
            q("version"),
            q("timestamp"),
        )
    }
    /// Deletes the bookkeeping rows of removed modules.
    ///
    /// Serverpod writes `"serverpod_migrations"WHERE` (no space); both parse the same, and
    /// strata writes the space because only correctness, not these bytes, matters to a runner.
    fn delete_migration_versions_sql(&self, table: &str, modules: &[String]) -> String {
        let list = modules.iter().map(|m| quote::literal(m)).collect::<Vec<_>>().join(", ");
        format!(
            "DELETE FROM {} WHERE {} IN ({list});\n",
            self.quote_identifier(table),
            self.quote_identifier("module")
        )
    }
    /// A standalone statement adding a foreign key (only called when
    /// [`supports_alter_foreign_keys`](Dialect::supports_alter_foreign_keys)).
    fn add_foreign_key_sql(&self, table: &str, fk: &ForeignKeyDefinition) -> Result<String, SqlError>;
    /// A standalone statement dropping a foreign key (same condition as above).
    fn drop_foreign_key_sql(&self, table: &str, constraint: &str) -> String {
        format!(
            "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {};\n",
            self.quote_identifier(table),
            self.quote_identifier(constraint)
        )
    }
    /// A foreign key as a table-constraint line inside `CREATE TABLE` (only called when the
    /// dialect cannot alter foreign keys).
    fn inline_foreign_key_sql(&self, table: &str, fk: &ForeignKeyDefinition) -> Result<String, SqlError>;
    /// The block that makes an extension available, `None` when the dialect has none.
    fn extension_sql(&self, extension: Extension) -> Option<&'static str>;
    /// The declaration of `gen_random_uuid_v7()` when the dialect needs a helper function for
    /// UUIDv7 defaults.
    fn uuid_v7_function_sql(&self) -> Option<&'static str>;
    /// The expression for "now" in bookkeeping rows.
    fn current_timestamp_sql(&self) -> &'static str;
    /// Statements that must run before `BEGIN;` (outside the transaction).
    fn before_transaction_sql(&self) -> &'static str {
        ""
    }
    /// Statements run last inside the transaction, before `COMMIT;`.
    fn before_commit_sql(&self) -> &'static str {
        ""
    }
    /// Statements that must run after `COMMIT;` (outside the transaction).
    fn after_transaction_sql(&self) -> &'static str {
        ""
    }
    /// A dialect whose files have a layout of their own (Serverpod's SQLite) renders them
    /// itself; `None` uses the shared emitter.
    fn file_layout(&self) -> Option<&dyn FileLayout> {
        None
    }
}

/// Renders whole files for a dialect whose layout the shared emitter does not produce.
pub trait FileLayout {
    /// `definition.sql` (see [`definition_sql`]).
    fn definition_sql(&self, definition: &DatabaseDefinition) -> Result<String, SqlError>;
    /// `migration.sql` (see [`migration_sql`]).
    fn migration_sql(&self, input: &MigrationSqlInput) -> Result<String, SqlError>;
}

/// Looks a dialect up by its config name (`postgres`/`postgresql`/`pg`, `sqlite`/`sqlite3`).
pub fn dialect_by_name(name: &str) -> Option<Box<dyn Dialect>> {
    match name.trim().to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" | "pg" => Some(Box::new(Postgres)),
        "sqlite" | "sqlite3" => Some(Box::new(Sqlite)),
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
            if let Err(e) = dialect.column_sql(&table.name, column) {
                problems.push(e);
            }
        }
        for index in &table.indexes {
            if let Err(e) = dialect.create_index_sql(&table.name, index, false) {
                problems.push(e);
            }
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
