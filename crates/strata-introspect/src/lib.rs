//! Reads a live database's schema into the same [`DatabaseDefinition`] the generator produces.
//!
//! Two properties drive every choice here:
//!
//! * **Zero false drift.** A database built from a `definition.sql` that strata generated must
//!   introspect to a definition that diffs as empty against that `definition.json`. Types,
//!   defaults and index details are therefore mapped to exactly the forms the generator writes
//!   (abstract defaults, `None` for database defaults, no primary-key index), and anything that
//!   would be ambiguous is left at the value generated definitions use.
//! * **Bounded cost.** PostgreSQL introspection runs a fixed number of catalog queries, one per
//!   object kind, whatever the number of tables (see [`postgres::QUERIES`]), filtered to the
//!   configured schemas, inside one read-only snapshot.
//!
//! What strata cannot represent (check constraints, enum types, views, triggers, ...) is never
//! dropped silently: it comes back as an [`IntrospectWarning`] naming the object. The
//! [`repair`] module uses those warnings to keep repair migrations from touching such objects.

pub mod catalog_diff;
pub mod drift;
pub mod fingerprint;
pub mod introspector;
pub mod mysql;
pub mod object_diff;
mod pg_indexes;
pub mod pg_objects;
mod pg_present;
mod pg_types;
mod pg_user_types;
pub mod postgres;
pub mod repair;
pub mod sqlite;
mod warning;

use strata_schema::{
    DatabaseDefinition, MigrationVersion, TableDefinition, CURRENT_SCHEMA_VERSION, MIGRATION_API_VERSION,
};

pub use drift::{
    can_hold_checks, comparable_live, comparable_tables, drift_between, drift_report, DriftReport,
};
pub use introspector::{introspect_both, IntrospectFuture, Introspector};
pub use mysql::introspect_mysql;
pub use pg_user_types::{needed_key, provided_key};
pub use postgres::introspect_postgres;
pub use sqlite::introspect_sqlite;
pub use warning::{IntrospectWarning, WarningKind};

/// Which part of the database to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrospectOptions {
    /// Schemas to read (PostgreSQL). Objects in other schemas are out of scope: not read, not
    /// reported, never touched. [`ALL_SCHEMAS`] (`*`) stands for every schema that is not the
    /// server's own (`pg_catalog`, `information_schema`, toast and temporary schemas) nor an
    /// extension's. Ignored for SQLite, which has one schema.
    pub schemas: Vec<String>,
}

impl Default for IntrospectOptions {
    fn default() -> Self {
        IntrospectOptions { schemas: vec!["public".to_string()] }
    }
}

/// The [`IntrospectOptions::schemas`] entry that reads every user schema of the database
/// (`--schema '*'`), resolved by the server query, so it costs no query of its own.
pub const ALL_SCHEMAS: &str = "*";

impl IntrospectOptions {
    /// Options reading exactly these schemas.
    pub fn with_schemas<I, S>(schemas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        IntrospectOptions { schemas: schemas.into_iter().map(Into::into).collect() }
    }
}

/// The result of reading a live database.
#[derive(Debug, Clone, PartialEq)]
pub struct Introspection {
    /// The live schema (`moduleName` "analyzer", `name` = the database name, tables with
    /// `managed: None` and no Dart names). `installed_modules` holds the bookkeeping rows.
    pub definition: DatabaseDefinition,
    /// Everything in the configured schemas that the definition cannot express.
    pub warnings: Vec<IntrospectWarning>,
    /// The rows of `serverpod_migrations` (one per module), sorted by module; empty when the
    /// table does not exist.
    pub installed_versions: Vec<MigrationVersion>,
    /// How many catalog queries were run: constant for a given server, whatever the table
    /// count (kept so tests and benchmarks can check the bound).
    pub query_count: usize,
    /// PostgreSQL's database-defined objects with their DDL (views, functions, triggers,
    /// policies, comments, grants, ...), for a diff between two live databases; empty elsewhere.
    pub objects: Vec<pg_objects::PgObject>,
    /// The schemas that were read and exist (PostgreSQL, sorted; [`ALL_SCHEMAS`] resolved),
    /// empty ones included: a diff between two databases creates and drops whole schemas from
    /// these. Empty for SQLite and MySQL.
    pub schemas: Vec<String>,
}

impl Introspection {
    /// The result of a read: the live definition (named `name`, module [`ANALYZER_MODULE`], the
    /// applied versions as its installed modules) and what came with it.
    fn assemble(
        name: String,
        tables: Vec<TableDefinition>,
        warnings: Vec<IntrospectWarning>,
        installed_versions: Vec<MigrationVersion>,
        query_count: usize,
    ) -> Introspection {
        let definition = DatabaseDefinition {
            name: Some(name),
            module_name: ANALYZER_MODULE.to_string(),
            tables,
            installed_modules: installed_versions.clone(),
            migration_api_version: MIGRATION_API_VERSION,
            schema_version: CURRENT_SCHEMA_VERSION,
            types: Vec::new(),
        };
        Introspection {
            definition,
            warnings,
            installed_versions,
            query_count,
            objects: Vec::new(),
            schemas: Vec::new(),
        }
    }
}

/// The warning for a `serverpod_migrations` table in `schema` that exists but cannot be read.
fn migrations_table_warning(schema: &str, error: &dyn std::fmt::Display) -> IntrospectWarning {
    IntrospectWarning {
        kind: WarningKind::MigrationsTable,
        schema: schema.to_string(),
        table: Some(MIGRATIONS_TABLE.into()),
        name: MIGRATIONS_TABLE.into(),
        detail: format!("could not read the applied versions: {error}"),
        depends_on: Vec::new(),
    }
}

/// The name Serverpod's analyzer gives live definitions.
pub const ANALYZER_MODULE: &str = "analyzer";

/// Why introspection failed.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectError {
    /// A catalog query failed; `query` names which one.
    #[error("introspection query \"{query}\" failed: {source}")]
    Query {
        query: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// Opening or closing the read-only snapshot failed.
    #[error("could not open a read-only snapshot for introspection: {0}")]
    Snapshot(#[source] sqlx::Error),
    /// The options cannot be used.
    #[error("invalid introspection options: {0}")]
    InvalidOptions(String),
    /// The server is older than the oldest version the catalog queries support.
    #[error("PostgreSQL {found} is not supported for introspection (need 12 or later)")]
    UnsupportedServer { found: String },
}

/// Quotes an identifier: strata-sql's single quoting function, re-exported so every identifier
/// in the workspace is quoted by the same code. Values are always bound, never quoted.
pub use strata_sql::quote::ident as quote_ident;

/// The pseudo-module Serverpod records repair migrations under in `serverpod_migrations`.
pub const REPAIR_MODULE: &str = "_repair";

/// The bookkeeping table Serverpod (and strata) keep one row per module in.
pub const MIGRATIONS_TABLE: &str = "serverpod_migrations";

/// strata's per-migration run history (`strata_db::HISTORY_TABLE`), created by the runner.
pub const HISTORY_TABLE: &str = "strata_migration_history";

/// The runner's per-module installed version on MySQL (`strata_db::MYSQL_VERSION_TABLE`), where
/// migration files write no `serverpod_migrations` rows.
pub const MYSQL_VERSION_TABLE: &str = "strata_migration_version";

/// The lease lock's table (`strata_db::LEASE_TABLE`), on engines without advisory locks.
pub const LEASE_TABLE: &str = "strata_migration_lease";

/// The background jobs' state (`strata_db::background::JOBS_TABLE`).
pub const BACKGROUND_JOBS_TABLE: &str = "strata_background_jobs";

/// Tables strata creates for itself. They are never drift and never dropped by a repair
/// unless the target definition itself defines them.
pub const BOOKKEEPING_TABLES: &[&str] =
    &[MIGRATIONS_TABLE, HISTORY_TABLE, MYSQL_VERSION_TABLE, LEASE_TABLE, BACKGROUND_JOBS_TABLE];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_inner_quotes() {
        assert_eq!(quote_ident("a"), "\"a\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote_ident("MixedCase"), "\"MixedCase\"");
    }

    #[test]
    fn default_options_read_public() {
        assert_eq!(IntrospectOptions::default().schemas, vec!["public".to_string()]);
        assert_eq!(IntrospectOptions::with_schemas(["a", "b"]).schemas, vec!["a", "b"]);
    }
}
