//! Live databases: connection resolution, the migration lock, the history table, and the
//! apply / status runner.
//!
//! Architecture invariants:
//! * **The plan is a pure function** ([`plan::plan`]): installed state + files on disk + options
//!   in, steps or a typed error out. No I/O, so every edge case is unit-tested without a server.
//! * **Locks never outlive their holder.** PostgreSQL uses a session advisory lock on a dedicated
//!   connection (the same key Serverpod's own runner uses, so a Serverpod server applying
//!   migrations and strata exclude each other); SQLite uses its own write lock. There is no lock
//!   row a crash can leave behind.
//! * **Each migration is its own transaction**, together with its history row, so a failure or a
//!   crash leaves the database exactly as before that migration.
//! * **Passwords are never displayed**: [`ConnectionTarget`] only renders redacted, and every
//!   driver error passes through [`connection::sanitize`] before it becomes a [`DbError`].

pub mod checksum;
pub mod connection;
pub mod disk;
pub mod error;
pub mod history;
pub mod plan;
pub mod preflight;
pub mod reset;
mod runlock;
pub mod runner;
pub mod sqlfile;
pub mod startup;
pub mod status;
mod step;
mod timefmt;

pub use connection::{resolve_connection, ConnectionSource, ConnectionTarget};
pub use disk::{DiskMigration, RepairFile, SqlFileInfo};
pub use error::{ApplyFailure, DbError};
pub use history::{HistoryRow, RunStatus, HISTORY_TABLE};
pub use plan::{plan, InstalledState, Plan, PlanError, PlanOptions, Step, StepKind};
pub use reset::{reset, ResetRequest};
pub use runner::{
    apply, read_state, rollback, status, AppliedStep, ApplyEvent, ApplyOptions, ApplyReport, RollbackRequest,
    SkipRequest,
};
pub use startup::{migrate_at_startup, EmbeddedMigration, StartupConfig, StartupError, StartupOutcome};
pub use status::{StatusReport, StatusRow, VersionState};

use std::path::PathBuf;

/// The SQL dialect of the project's migration files and of the database they run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// The spelling used in config files and the history table.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// Parses the project's `dialect` setting (`postgres`/`postgresql`/`sqlite`).
    pub fn parse(s: &str) -> Option<Dialect> {
        match s.trim().to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Some(Dialect::Postgres),
            "sqlite" | "sqlite3" => Some(Dialect::Sqlite),
            _ => None,
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the runner needs to know about a project. Built from `strata_project::ProjectConfig`
/// (`Project::from(&cfg)`); kept as a plain struct so tests and other tools can build one
/// by hand.
#[derive(Debug, Clone)]
pub struct Project {
    /// The server package directory (holds `config/`, `.env`, `migrations/`).
    pub root: PathBuf,
    /// The project's module name: its row in `serverpod_migrations`.
    pub module_name: String,
    /// The dialect the migration files are written for.
    pub dialect: Dialect,
    /// `<root>/migrations`.
    pub migrations_dir: PathBuf,
    /// `<root>/repair-migration`.
    pub repair_dir: PathBuf,
    /// The embedded SQLite database used when nothing else is configured.
    pub sqlite_path: PathBuf,
}

impl Project {
    /// A project with Serverpod's default layout under `root`.
    pub fn with_defaults(root: impl Into<PathBuf>, module_name: &str, dialect: Dialect) -> Project {
        let root = root.into();
        Project {
            migrations_dir: root.join("migrations"),
            repair_dir: root.join("repair-migration"),
            sqlite_path: root.join(".strata").join(format!("{module_name}.db")),
            module_name: module_name.to_string(),
            dialect,
            root,
        }
    }
}

impl From<&strata_project::ProjectConfig> for Project {
    /// The project's layout as loaded by `strata-project` (its dialect is already validated to
    /// be `postgres` or `sqlite`).
    fn from(cfg: &strata_project::ProjectConfig) -> Project {
        Project {
            root: cfg.root.clone(),
            module_name: cfg.module_name.clone(),
            dialect: Dialect::parse(&cfg.dialect).unwrap_or(Dialect::Postgres),
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
