//! Batched background data migrations (docs/background.md): a version directory may carry
//! `background/<name>.sql`, one batched statement over a key range ([`file`]). `strata background`
//! runs it after the version is applied, batch by batch, each batch in one transaction with its
//! progress row in [`store::JOBS_TABLE`], under a per-job lock ([`lock`]).
//!
//! Guarantees:
//! * **Exactly once per key.** A batch and its progress update commit together, so after a crash
//!   (even SIGKILL) the next run starts right after the last committed batch: no committed batch
//!   runs twice, none is skipped.
//! * **One runner per job.** A second runner of the same job refuses (or, for `finalize`, waits).
//! * **The statement is parsed, never run blind**: exactly one INSERT/UPDATE/DELETE with `$1`
//!   and `$2`, bound as the batch's first and last key.

mod file;
mod lock;
mod run;
mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use file::{
    parse_job, parse_pause, template, validate_job_name, JobFile, JobFileError, DEFAULT_BATCH_SIZE,
    MAX_BATCH_SIZE,
};
pub use run::{finalize, run, JobEvent, RunOutcome};
pub(crate) use store::states_sql;
pub use store::{JobRow, JobState, JOBS_TABLE};

use crate::connection::ConnectionTarget;
use crate::{DbError, Driver, Project};
use store::JobConn;

/// The directory of a version that holds its background jobs.
pub const BACKGROUND_DIR: &str = "background";

/// Why a background command cannot do what it was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackgroundError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    File(#[from] JobFileError),
    #[error("background job `{name}` is defined twice: {} and {}; job names are unique in a project, rename one file", .first.display(), .second.display())]
    Duplicate { name: String, first: PathBuf, second: PathBuf },
    #[error("no background job named `{name}` ({})", known_jobs(.known))]
    UnknownJob { name: String, known: Vec<String> },
    #[error(
        "background jobs run on PostgreSQL and SQLite; this database is {driver}, which strata cannot run them on yet. \
         Run the statement by hand in batches, or use PostgreSQL or SQLite"
    )]
    Unsupported { driver: Driver },
    #[error(
        "background job `{name}` belongs to version {version}, which is not applied to this database yet (installed: {}); \
         run `strata apply` first",
        .installed.as_deref().unwrap_or("none")
    )]
    VersionNotApplied { name: String, version: String, installed: Option<String> },
    #[error(
        "background job `{name}` is being run by {holder}; wait for it to finish, or run `strata background finalize {name}` \
         to block until it is done"
    )]
    Busy { name: String, holder: String },
    #[error("background job `{name}` is paused; run `strata background resume {name}` first")]
    Paused { name: String },
    #[error(
        "{}: edited after background job `{name}` started (its checksum was {recorded}, it is {current} now). \
         A started job's statement must not change: restore the file, or put the new change in a new job",
        .path.display()
    )]
    Modified { name: String, path: PathBuf, recorded: String, current: String },
    #[error(
        "background job `{name}` failed in the batch of keys {first}..={last}, which was rolled back \
         ({batches} batches committed before it): {message}. Fix the cause, then `strata background run {name}` \
         retries from key {first}"
    )]
    BatchFailed { name: String, first: i64, last: i64, batches: i64, message: String },
    #[error(
        "background job `{name}` was not finalized within {}: it is {state}, {percent:.1}% of its key range done{}. \
         Run `strata background finalize {name}` again (or with a longer --timeout) to continue",
        human(.timeout),
        .holder.as_ref().map(|h| format!(", run by {h}")).unwrap_or_default()
    )]
    FinalizeTimeout { name: String, timeout: Duration, state: String, percent: f64, holder: Option<String> },
    #[error(
        "background job `{name}` stopped: its lock is no longer held by this runner (the session was reset, e.g. by a \
         connection pooler or pg_advisory_unlock_all). Nothing of the open batch was committed; run it again"
    )]
    LockLost { name: String },
    #[error("cannot {action} background job `{name}`: it is {state}")]
    WrongState { name: String, action: &'static str, state: String },
}

impl BackgroundError {
    /// A job `run` without a name passes over (paused, held by another runner, version not
    /// applied yet) rather than failing on.
    pub fn is_skippable(&self) -> bool {
        matches!(
            self,
            BackgroundError::Paused { .. }
                | BackgroundError::Busy { .. }
                | BackgroundError::VersionNotApplied { .. }
        )
    }
}

fn known_jobs(known: &[String]) -> String {
    if known.is_empty() {
        "the project has no background jobs: they are `migrations/<version>/background/<name>.sql` files"
            .into()
    } else {
        format!("jobs on disk: {}", known.join(", "))
    }
}

fn human(d: &Duration) -> String {
    crate::error::human_duration(d)
}

/// Every job file of the project's versions, by version then name.
pub fn read_jobs(project: &Project) -> Result<Vec<JobFile>, BackgroundError> {
    let mut jobs: Vec<JobFile> = Vec::new();
    for version in crate::disk::read_migrations(&project.migrations_dir)? {
        let dir = project.migrations_dir.join(&version.version).join(BACKGROUND_DIR);
        for path in sql_files(&dir)? {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| DbError::Io { path: path.clone(), message: e.to_string() })?;
            let job = parse_job(&path, &version.version, &text, project.driver)?;
            if let Some(first) = jobs.iter().find(|j| j.name == job.name) {
                return Err(BackgroundError::Duplicate {
                    name: job.name,
                    first: first.path.clone(),
                    second: path,
                });
            }
            jobs.push(job);
        }
    }
    Ok(jobs)
}

/// The `*.sql` files of a `background/` directory, sorted (none when it does not exist).
fn sql_files(dir: &Path) -> Result<Vec<PathBuf>, DbError> {
    let io = |e: std::io::Error| DbError::Io { path: dir.to_path_buf(), message: e.to_string() };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(io)?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "sql") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The job `name` among `jobs`, or [`BackgroundError::UnknownJob`].
pub fn find_job<'a>(jobs: &'a [JobFile], name: &str) -> Result<&'a JobFile, BackgroundError> {
    jobs.iter().find(|j| j.name == name).ok_or_else(|| BackgroundError::UnknownJob {
        name: name.to_string(),
        known: jobs.iter().map(|j| j.name.clone()).collect(),
    })
}

/// One job as `strata background status` shows it.
#[derive(Debug, Clone)]
pub struct JobStatus {
    pub name: String,
    pub version: String,
    /// Its file on disk (None: the table has a row for a job whose file is gone).
    pub file: Option<JobFile>,
    /// Its row (None: never started here).
    pub row: Option<JobRow>,
    /// Who holds its lock right now: a runner is working on it.
    pub live: Option<String>,
    /// Whether its version is applied to this database (a job runs only after it is).
    pub version_applied: bool,
}

impl JobStatus {
    /// The stored state, `pending` without a row.
    pub fn state(&self) -> JobState {
        self.row.as_ref().map(|r| r.state).unwrap_or(JobState::Pending)
    }

    /// `running` in the table but no runner holds the lock: the runner died mid-job.
    pub fn interrupted(&self) -> bool {
        self.state() == JobState::Running && self.live.is_none()
    }

    /// The file differs from the one the job started with.
    pub fn modified(&self) -> bool {
        matches!((&self.file, &self.row), (Some(f), Some(r)) if f.checksum != r.checksum)
    }
}

/// Refuses drivers strata has no job store for, before anything else is read.
pub(crate) fn check_supported(target: &ConnectionTarget) -> Result<(), BackgroundError> {
    match target.driver() {
        Driver::Postgres | Driver::Sqlite => Ok(()),
        driver => Err(BackgroundError::Unsupported { driver }),
    }
}

/// Opens a connection for background work (refusing drivers without a job store).
pub(crate) async fn connect(
    target: &ConnectionTarget,
    read_only: bool,
) -> Result<Option<JobConn>, BackgroundError> {
    match target.driver() {
        Driver::Postgres => {
            let mut c = target.connect_postgres("strata background").await?;
            // Notice a killed runner within a second, and never time out an idle job session.
            for setting in [
                "SET client_connection_check_interval = '1s'",
                "SET idle_session_timeout = 0",
                "SET idle_in_transaction_session_timeout = 0",
            ] {
                let _ = sqlx::raw_sql(setting).execute(&mut c).await;
            }
            Ok(Some(JobConn::Pg(c)))
        }
        Driver::Sqlite => {
            if read_only && !target.sqlite_path().is_some_and(|p| p.exists()) {
                return Ok(None);
            }
            let conn = target.connect_sqlite_with(Duration::from_secs(30), read_only).await?;
            Ok(Some(JobConn::Sqlite(conn)))
        }
        driver => Err(BackgroundError::Unsupported { driver }),
    }
}

/// The state of every job on disk or in the table, by version then name. Read-only.
pub async fn status(project: &Project, target: &ConnectionTarget) -> Result<Vec<JobStatus>, BackgroundError> {
    check_supported(target)?;
    crate::runner::check_dialect(project, target)?;
    let jobs = read_jobs(project)?;
    let installed = crate::read_state(project, target).await?.version;
    let mut rows: BTreeMap<String, JobRow> = BTreeMap::new();
    let mut conn = connect(target, true).await?;
    if let Some(c) = conn.as_mut() {
        if c.has_jobs_table().await.map_err(|e| target.sql_error(format!("reading {JOBS_TABLE}"), &e))? {
            let all = c.jobs().await.map_err(|e| target.sql_error(format!("reading {JOBS_TABLE}"), &e))?;
            rows.extend(all.into_iter().map(|r| (r.name.clone(), r)));
        }
    }
    let applied = |v: &str| installed.as_deref().is_some_and(|i| v <= i);
    let mut out: Vec<JobStatus> = jobs
        .into_iter()
        .map(|f| JobStatus {
            name: f.name.clone(),
            version: f.version.clone(),
            row: rows.remove(&f.name),
            version_applied: applied(&f.version),
            file: Some(f),
            live: None,
        })
        .collect();
    out.extend(rows.into_values().map(|r| JobStatus {
        name: r.name.clone(),
        version: r.version.clone(),
        version_applied: applied(&r.version),
        file: None,
        row: Some(r),
        live: None,
    }));
    if let Some(c) = conn.as_mut() {
        for s in out.iter_mut().filter(|s| s.state() == JobState::Running) {
            s.live = lock::holder(c, target, &s.name).await;
        }
    }
    close(conn).await;
    Ok(out)
}

/// Closes a job connection, if one was opened.
async fn close(conn: Option<JobConn>) {
    use sqlx::Connection;
    match conn {
        Some(JobConn::Pg(c)) => {
            let _ = c.close().await;
        }
        Some(JobConn::Sqlite(c)) => {
            let _ = c.close().await;
        }
        None => {}
    }
}

/// `strata background pause NAME`: runners stop at their next batch boundary, and `run` skips
/// the job until it is resumed. Returns the state it had.
pub async fn pause(
    project: &Project,
    target: &ConnectionTarget,
    name: &str,
) -> Result<JobState, BackgroundError> {
    let from = [JobState::Pending, JobState::Running, JobState::Failed];
    change_state(project, target, name, "pause", &from, JobState::Paused).await
}

/// `strata background resume NAME`: a paused job becomes pending again (`run` continues it from
/// its last committed batch).
pub async fn resume(
    project: &Project,
    target: &ConnectionTarget,
    name: &str,
) -> Result<JobState, BackgroundError> {
    change_state(project, target, name, "resume", &[JobState::Paused], JobState::Pending).await
}

async fn change_state(
    project: &Project,
    target: &ConnectionTarget,
    name: &str,
    action: &'static str,
    from: &[JobState],
    to: JobState,
) -> Result<JobState, BackgroundError> {
    check_supported(target)?;
    crate::runner::check_dialect(project, target)?;
    let jobs = read_jobs(project)?;
    let job = find_job(&jobs, name)?;
    let mut conn =
        connect(target, false).await?.ok_or(BackgroundError::Unsupported { driver: target.driver() })?;
    let result = change_state_on(&mut conn, target, job, action, from, to).await;
    close(Some(conn)).await;
    result
}

async fn change_state_on(
    conn: &mut JobConn,
    target: &ConnectionTarget,
    job: &JobFile,
    action: &'static str,
    from: &[JobState],
    to: JobState,
) -> Result<JobState, BackgroundError> {
    let sql_error = |e: sqlx::Error| target.sql_error(format!("updating {JOBS_TABLE}"), &e);
    conn.ensure_jobs_table().await.map_err(sql_error)?;
    let Some(before) = conn.job(&job.name, "").await.map_err(sql_error)?.map(|r| r.state) else {
        let state = "not started (`strata background run` starts it)".to_string();
        return Err(BackgroundError::WrongState { name: job.name.clone(), action, state });
    };
    if !conn.set_state(&job.name, from, to, None).await.map_err(sql_error)? {
        return Err(BackgroundError::WrongState {
            name: job.name.clone(),
            action,
            state: before.as_str().into(),
        });
    }
    Ok(before)
}
