//! Live databases: connection resolution, the migration lock, the history table, and the
//! apply / status runner.
//!
//! Architecture invariants:
//! * **The plan is a pure function** ([`plan::plan`]): installed state + files on disk + options
//!   in, steps or a typed error out. No I/O, so every edge case is unit-tested without a server.
//! * **Locks never outlive their holder.** PostgreSQL uses a session advisory lock on a dedicated
//!   connection (the same key Serverpod's own runner uses, so a Serverpod server applying
//!   migrations and strata exclude each other); MySQL a `GET_LOCK` named lock on it; SQLite its
//!   own write lock. There is no lock row a crash can leave behind.
//! * **Each migration is its own transaction**, together with its history row, so a failure or a
//!   crash leaves the database exactly as before that migration — where the dialect has
//!   transactional DDL. Elsewhere (MySQL) each statement commits with its progress in the history
//!   row, and a failed migration resumes at its failing statement.
//! * **One seam per driver**: the runner talks to the database only through
//!   `session::Session` (lock, history table, execute, record).
//! * **Passwords are never displayed**: [`ConnectionTarget`] only renders redacted, and every
//!   driver error passes through [`connection::sanitize`] before it becomes a [`DbError`].

pub mod background;
pub mod checksum;
pub mod connection;
pub mod disk;
pub mod driver;
pub mod error;
pub mod fleet;
pub mod history;
mod lease;
pub mod plan;
pub mod preflight;
pub mod repairfile;
pub mod reset;
mod runlock;
pub mod runner;
mod session;
pub mod sqlfile;
pub mod startup;
pub mod status;
mod step;
mod stepwise;
mod timefmt;

pub use connection::{resolve_connection, ConnectionSource, ConnectionTarget};
pub use disk::{DiskMigration, RepairFile, SqlFileInfo};
pub use driver::{dialect_named, Driver};
pub use error::{ApplyFailure, DbError};
pub use history::{HistoryRow, Progress, RunStatus, HISTORY_TABLE};
pub use lease::{LockStrategy, LEASE_TABLE};
pub use plan::{plan, InstalledState, Plan, PlanError, PlanOptions, Step, StepKind};
pub use reset::{reset, ResetRequest};
pub use runner::{
    apply, read_state, rollback, status, AppliedStep, ApplyEvent, ApplyOptions, ApplyReport, RollbackRequest,
    SkipRequest,
};
pub use session::MYSQL_VERSION_TABLE;
pub use startup::{migrate_at_startup, EmbeddedMigration, StartupConfig, StartupError, StartupOutcome};
pub use status::{StatusReport, StatusRow, VersionState};

use std::path::PathBuf;

/// What the runner needs to know about a project. Built from `strata_project::ProjectConfig`
/// (`Project::from(&cfg)`); kept as a plain struct so tests and other tools can build one
/// by hand.
#[derive(Debug, Clone)]
pub struct Project {
    /// The server package directory (holds `config/`, `.env`, `migrations/`).
    pub root: PathBuf,
    /// The project's module name: its row in `serverpod_migrations`.
    pub module_name: String,
    /// The driver of the database the migration files are written for.
    pub driver: Driver,
    /// The files' dialect (`strata_sql::Dialect` name): usually `driver.name()`, or an engine on
    /// that driver's wire protocol (`cockroachdb`, `yugabytedb`, `citus`) whose capabilities
    /// the runner obeys.
    pub dialect: &'static str,
    /// `<root>/migrations`.
    pub migrations_dir: PathBuf,
    /// `<root>/repair-migration`.
    pub repair_dir: PathBuf,
    /// The embedded SQLite database used when nothing else is configured.
    pub sqlite_path: PathBuf,
}

impl Project {
    /// A project with Serverpod's default layout under `root`.
    pub fn with_defaults(root: impl Into<PathBuf>, module_name: &str, driver: Driver) -> Project {
        let root = root.into();
        Project {
            migrations_dir: root.join("migrations"),
            repair_dir: root.join("repair-migration"),
            sqlite_path: root.join(".strata").join(format!("{module_name}.db")),
            module_name: module_name.to_string(),
            driver,
            dialect: driver.name(),
            root,
        }
    }
}

impl From<&strata_project::ProjectConfig> for Project {
    /// The project's layout as loaded by `strata-project` (its dialect is already validated by
    /// `strata_sql::dialect_by_name`).
    fn from(cfg: &strata_project::ProjectConfig) -> Project {
        Project {
            root: cfg.root.clone(),
            module_name: cfg.module_name.clone(),
            driver: Driver::for_dialect(&cfg.dialect).unwrap_or(Driver::Postgres),
            dialect: driver::dialect_named(&cfg.dialect).map_or("postgres", |d| d.name()),
            migrations_dir: cfg.migrations_dir.clone(),
            repair_dir: cfg.repair_dir.clone(),
            sqlite_path: cfg.sqlite_path.clone(),
        }
    }
}

/// [`resolve_connection`] for a loaded `ProjectConfig` (what other commands hold).
pub fn resolve_for_config(
    cfg: &strata_project::ProjectConfig,
    url: Option<&str>,
    mode: Option<&str>,
) -> Result<ConnectionTarget, DbError> {
    resolve_connection(&Project::from(cfg), url, mode)
}

/// Quotes an identifier: strata-sql's single quoting function, re-exported so every identifier
/// in the workspace is quoted by the same code. Values are always bound, never quoted.
pub use strata_sql::quote::ident as quote_ident;

/// The pseudo-module Serverpod records repair migrations under.
pub const REPAIR_MODULE: &str = "_repair";
