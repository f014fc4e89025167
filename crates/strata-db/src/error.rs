//! Typed errors. Messages never contain passwords: driver messages are sanitised where they are
//! wrapped (see [`crate::connection::sanitize`]).

use std::path::PathBuf;
use std::time::Duration;

use crate::plan::PlanError;
use crate::runner::ApplyReport;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    #[error("unsupported database URL `{0}`: strata applies migrations to PostgreSQL (postgres://…) and SQLite (sqlite:…)")]
    UnsupportedScheme(String),
    #[error("the project's migrations are written for {project}, but the database is {database}")]
    DialectMismatch { project: String, database: String },
    #[error("unknown run mode `{0}` (expected development, test, staging or production)")]
    UnknownMode(String),
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("cannot connect to {target}: {message}")]
    Connect { target: String, message: String },
    #[error(
        "{endpoint} did not answer within {} (connecting to {target}): check the host and port, \
         that the server is running and that nothing in between drops the connection; allow \
         longer with --connect-timeout or connect_timeout=<seconds> in the URL",
        fmt_wait(.waited)
    )]
    ConnectTimeout { endpoint: String, target: String, waited: Duration },
    #[error(
        "{}: could not open it within {}: another process holds a lock on it (or its file system does not answer); retry when \
         that has finished, or allow longer with --connect-timeout",
        .path.display(),
        fmt_wait(.waited)
    )]
    SqliteBusy { path: PathBuf, waited: Duration },
    #[error("invalid key=value connection string at column {column}: {message}")]
    InvalidConnectionString { column: usize, message: String },
    #[error("{context}: {message}")]
    Sql { context: String, message: String },
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    MalformedFile { path: PathBuf, message: String },
    #[error("{}", lock_timeout_message(.waited, .holders))]
    LockTimeout { waited: Duration, holders: Vec<i32> },
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{}: more than one repair migration: {}; keep exactly one", .dir.display(), .files.join(", "))]
    SeveralRepairFiles { dir: PathBuf, files: Vec<String> },
    #[error("migration {version} ({kind}) failed and was rolled back: {message}")]
    MigrationFailed { version: String, kind: String, message: String },
    #[error(
        "the database changed while applying: expected {module} at {expected}, found {found}; re-run apply"
    )]
    Raced { module: String, expected: String, found: String },
}

/// `10s`, `1.5s`, `500ms`.
fn fmt_wait(waited: &Duration) -> String {
    if waited.as_millis() < 1000 {
        format!("{}ms", waited.as_millis())
    } else if waited.subsec_millis() == 0 {
        format!("{}s", waited.as_secs())
    } else {
        format!("{:.1}s", waited.as_secs_f64())
    }
}

fn lock_timeout_message(waited: &Duration, holders: &[i32]) -> String {
    let secs = waited.as_secs_f64();
    if holders.is_empty() {
        format!(
            "could not take the migration lock within {secs:.0}s: another migration run holds it \
             (it was released or its holder is not visible to this user); retry or raise --lock-timeout"
        )
    } else {
        let pids: Vec<String> = holders.iter().map(|p| p.to_string()).collect();
        format!(
            "could not take the migration lock within {secs:.0}s: it is held by backend pid {}. \
             If that run is stuck, `SELECT pg_terminate_backend({})` releases it (the lock dies \
             with its session); otherwise retry or raise --lock-timeout",
            pids.join(", "),
            pids[0]
        )
    }
}

/// An apply that stopped part-way: the error plus everything that was applied before it
/// (those migrations are committed and stay applied).
#[derive(Debug)]
pub struct ApplyFailure {
    pub error: DbError,
    pub report: ApplyReport,
}

impl std::fmt::Display for ApplyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)?;
        let mut done: Vec<String> = Vec::new();
        if let Some(r) = &self.report.repair_applied {
            done.push(format!("repair {r}"));
        }
        done.extend(self.report.applied.iter().map(|s| s.version.clone()));
        if done.is_empty() {
            write!(f, "\nnothing was applied before the failure")
        } else {
            write!(f, "\napplied before the failure (committed): {}", done.join(", "))
        }
    }
}

impl std::error::Error for ApplyFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
