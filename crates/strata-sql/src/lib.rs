//! OWNED BY THE SQL HELPER: this skeleton only fixes the public contract.
use strata_schema::{DatabaseDefinition, DatabaseMigration, MigrationVersion};

/// A SQL dialect: capability methods, never `if dialect == X`.
pub trait Dialect: Send + Sync {
    /// Short name used in config and history rows (`postgres`, `sqlite`).
    fn name(&self) -> &'static str;
}

/// PostgreSQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct Postgres;
impl Dialect for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }
}

/// A definition or migration this dialect cannot express.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SqlError(pub String);

/// What `migration.sql` needs besides the migration itself.
pub struct MigrationSqlInput<'a> {
    pub migration: &'a DatabaseMigration,
    /// The schema before the migration (needed to restore inbound FKs and to rebuild tables).
    pub source: &'a DatabaseDefinition,
    /// The schema after the migration.
    pub target: &'a DatabaseDefinition,
    /// Bookkeeping upserts, project first.
    pub installed_modules: &'a [MigrationVersion],
    /// Modules whose bookkeeping rows are deleted.
    pub removed_modules: &'a [String],
}

/// `definition.sql`: the whole schema for an empty database.
pub fn definition_sql(_dialect: &dyn Dialect, _definition: &DatabaseDefinition) -> Result<String, SqlError> {
    unimplemented!("strata-sql helper")
}

/// `migration.sql`: the incremental DDL.
pub fn migration_sql(_dialect: &dyn Dialect, _input: &MigrationSqlInput) -> Result<String, SqlError> {
    unimplemented!("strata-sql helper")
}
