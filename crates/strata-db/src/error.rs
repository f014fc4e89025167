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
    #[error("unsupported database URL `{0}`: strata applies migrations to PostgreSQL (postgres://…), SQLite (sqlite:…) and MySQL/MariaDB (mysql://… or mariadb://…)")]
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
        human_duration(.waited)
    )]
    ConnectTimeout { endpoint: String, target: String, waited: Duration },
    #[error(
        "{}: could not open it within {}: another process holds a lock on it (or its file system does not answer); retry when \
         that has finished, or allow longer with --connect-timeout",
        .path.display(),
        human_duration(.waited)
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
    #[error("{}", lock_timeout_message(.waited, .holders, *.driver))]
    LockTimeout { waited: Duration, holders: Vec<i64>, driver: crate::Driver },
    #[error(
        "could not take the SQLite run lock within {}: {holder} is applying migrations to this database; \
         retry or raise --lock-timeout",
        human_duration(.waited)
    )]
    RunLockTimeout { waited: Duration, holder: String },
    #[error(
        "could not take the migration lease within {}: {}. A run that died releases it when its lease \
         expires (no heartbeat renews it); retry, raise --lock-timeout, or lower --lease-ttl",
        human_duration(.waited),
        .holder.as_deref().map_or_else(|| "another run holds it".to_string(), |h| format!("it is held by {h}"))
    )]
    LeaseTimeout { waited: Duration, holder: Option<String> },
    #[error("--lock-strategy: {0}")]
    InvalidLockStrategy(String),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{}: more than one repair migration: {}; keep exactly one", .dir.display(), .files.join(", "))]
    SeveralRepairFiles { dir: PathBuf, files: Vec<String> },
    #[error("migration {version} ({kind}) failed and was rolled back: {message}")]
    MigrationFailed { version: String, kind: String, message: String },
    #[error("migration {version} ({kind}) failed before its transaction began: {message}\n  {kept}")]
    PreludeFailed { version: String, kind: String, message: String, kept: &'static str },
    #[error(
        "migration {version} ({kind}) COMMITTED and is recorded as applied, but the statements after its \
         `COMMIT;` failed: {message}\n  those statements ran outside the transaction and are not retried: \
         finish them by hand, or move them into the next migration"
    )]
    CommittedThenFailed { version: String, kind: String, message: String },
    #[error(
        "{target}: the migration lock this connection took is not held by its next statement: the connection \
         goes through a transaction pooler (pgbouncer pool_mode=transaction?), where a session lock stays on a \
         shared server connection. Add `pooling=transaction` to the URL (docs/fleets.md)"
    )]
    LockNotKept { target: String },
    #[error(
        "lost the migration lock while applying {version}: the step was rolled back and not recorded (another \
         run may hold the lock now). Nothing was double-applied; re-run apply to continue"
    )]
    LockLost { version: String },
    #[error(
        "the database connection was lost while applying {version}: {message}\n  the server rolls back an \
         unfinished transaction, so nothing of {version} committed unless the message says COMMIT was under way; \
         re-run apply to continue (it starts again from what is recorded)"
    )]
    ConnectionLost { version: String, message: String },
    #[error(
        "refusing to record {module} {version} twice: the history table already says it is applied, so another \
         run applied it while this one was running (this attempt was rolled back). Check `strata status`"
    )]
    AlreadyApplied { module: String, version: String },
    #[error(
        "migration {version} ({kind}) failed at statement {failed} of {count}: {message}\n  {done} of {count} \
         statements committed and are recorded ({dialect} cannot roll DDL back); fix statement {failed} in the file \
         and re-run apply: it resumes at statement {failed}"
    )]
    StatementFailed {
        version: String,
        kind: String,
        dialect: &'static str,
        done: i64,
        failed: i64,
        count: i64,
        message: String,
    },
    #[error(
        "refusing to resume {version}: statement {index} (line {line}: `{text}`) already ran, and the file now \
         has a different statement {index} ({path}). Restore it as it ran, or, if the database already matches the \
         edited statement, pass --accept-modified {version} to resume after it anyway"
    )]
    CompletedStatementChanged { version: String, path: PathBuf, index: usize, line: usize, text: String },
    #[error("{what} is not supported on {driver} yet: {instead}")]
    NotSupported { driver: &'static str, what: String, instead: String },
    #[error(
        "the database changed while applying: expected {module} at {expected}, found {found}; re-run apply"
    )]
    Raced { module: String, expected: String, found: String },
}

/// `300ms`, `1.5s`, `60s`: a sub-second timeout must not read as "0s".
pub(crate) fn human_duration(d: &Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

fn lock_timeout_message(waited: &Duration, holders: &[i64], driver: crate::Driver) -> String {
    let secs = human_duration(waited);
    let Some(first) = holders.first() else {
        return format!(
            "could not take the migration lock within {secs}: another migration run holds it \
             (it was released or its holder is not visible to this user); retry or raise --lock-timeout"
        );
    };
    let ids: Vec<String> = holders.iter().map(|p| p.to_string()).collect();
    let (holder, end) = match driver {
        crate::Driver::Mysql => ("connection id", format!("`KILL {first}`")),
        _ => ("backend pid", format!("`SELECT pg_terminate_backend({first})`")),
    };
    format!(
        "could not take the migration lock within {secs}: it is held by {holder} {}. \
         If that run is stuck, {end} releases it (the lock dies with its session); otherwise retry or \
         raise --lock-timeout",
        ids.join(", ")
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_timeouts_below_a_second_are_not_zero() {
        let pg = crate::Driver::Postgres;
        let e = DbError::LockTimeout { waited: Duration::from_millis(300), holders: vec![], driver: pg };
        assert!(e.to_string().contains("within 300ms"), "{e}");
        let e = DbError::LockTimeout { waited: Duration::from_millis(1500), holders: vec![7], driver: pg };
        assert!(e.to_string().contains("within 1.5s") && e.to_string().contains("pid 7"), "{e}");
        assert!(e.to_string().contains("pg_terminate_backend(7)"), "{e}");
        let my = crate::Driver::Mysql;
        let e = DbError::LockTimeout { waited: Duration::from_secs(2), holders: vec![42], driver: my };
        assert!(e.to_string().contains("connection id 42") && e.to_string().contains("`KILL 42`"), "{e}");
        assert_eq!(human_duration(&Duration::from_secs(60)), "60s");
    }
}
