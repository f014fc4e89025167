//! Running jobs: the batch loop of one job under its lock, `run` over every runnable job, and
//! `finalize` (run to completion, or wait for the runner that holds the job).

use std::time::{Duration, Instant};

use super::store::{on_conn, JobConn, JobRow, JobState, JOBS_TABLE};
use super::{close, connect, find_job, lock, read_jobs, BackgroundError, JobFile};
use crate::connection::ConnectionTarget;
use crate::{quote_ident, DbError, Project};

/// What a runner reports while it works.
#[derive(Debug)]
pub enum JobEvent<'a> {
    /// The runner holds the job and starts (or continues, `resumed`) its batches.
    Started { job: &'a JobRow, resumed: bool },
    /// A batch committed. `run_rows` and `run_elapsed` count this run only (for the rate).
    Batch { job: &'a JobRow, rows: u64, run_rows: u64, run_elapsed: Duration },
    /// `run` without a name passed over this job.
    Skipped { name: &'a str, reason: String },
    /// `finalize` waits for another runner that holds the job.
    Waiting { name: &'a str, holder: &'a str },
}

/// How a job's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Its last batch committed in this run.
    Finalized,
    /// It was finalized before this run.
    AlreadyFinalized,
    /// Someone paused it; the runner stopped at a batch boundary.
    Paused,
    /// `run` without a name passed over it (see [`JobEvent::Skipped`]).
    Skipped,
    /// The deadline passed; the runner stopped at a batch boundary.
    TimedOut,
}

type Observer<'o> = &'o mut dyn FnMut(&JobEvent);

/// What a run needs besides the job.
struct Ctx<'a> {
    target: &'a ConnectionTarget,
    deadline: Option<Instant>,
}

impl Ctx<'_> {
    fn sql_error(&self, what: &str, e: sqlx::Error) -> BackgroundError {
        self.target.sql_error(what.to_string(), &e).into()
    }

    fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// `strata background run [NAME]`: runs the named job to completion, or every job that can run
/// (version applied, not paused, not finalized, not held by another runner), by version.
pub async fn run(
    project: &Project,
    target: &ConnectionTarget,
    name: Option<&str>,
    observer: Observer<'_>,
) -> Result<Vec<(String, RunOutcome)>, BackgroundError> {
    super::check_supported(target)?;
    crate::runner::check_dialect(project, target)?;
    let jobs = read_jobs(project)?;
    let chosen: Vec<&JobFile> = match name {
        Some(n) => vec![find_job(&jobs, n)?],
        None => jobs.iter().collect(),
    };
    let installed = crate::read_state(project, target).await?.version;
    let mut conn =
        connect(target, false).await?.ok_or(BackgroundError::Unsupported { driver: target.driver() })?;
    let ctx = Ctx { target, deadline: None };
    let mut outcomes = Vec::new();
    for job in chosen {
        let result = match check_applied(job, installed.as_deref()) {
            Ok(()) => run_one(&mut conn, &ctx, job, observer).await,
            Err(e) => Err(e),
        };
        let outcome = match result {
            Ok(o) => o,
            // Without a name, jobs that cannot run now are passed over, with the reason.
            Err(e) if name.is_none() && e.is_skippable() => {
                observer(&JobEvent::Skipped { name: &job.name, reason: e.to_string() });
                RunOutcome::Skipped
            }
            Err(e) => {
                close(Some(conn)).await;
                return Err(e);
            }
        };
        outcomes.push((job.name.clone(), outcome));
    }
    close(Some(conn)).await;
    Ok(outcomes)
}

/// A job runs only once its version is applied (its statement needs that version's schema).
fn check_applied(job: &JobFile, installed: Option<&str>) -> Result<(), BackgroundError> {
    if installed.is_some_and(|i| job.version.as_str() <= i) {
        return Ok(());
    }
    Err(BackgroundError::VersionNotApplied {
        name: job.name.clone(),
        version: job.version.clone(),
        installed: installed.map(str::to_string),
    })
}

/// Takes the job's lock (refusing when another runner holds it) and runs it.
async fn run_one(
    conn: &mut JobConn,
    ctx: &Ctx<'_>,
    job: &JobFile,
    observer: Observer<'_>,
) -> Result<RunOutcome, BackgroundError> {
    let Some(held) = lock::try_lock(conn, ctx.target, &job.name).await? else {
        let holder =
            lock::holder(conn, ctx.target, &job.name).await.unwrap_or_else(|| "another runner".into());
        return Err(BackgroundError::Busy { name: job.name.clone(), holder });
    };
    let result = run_locked(conn, ctx, job, observer).await;
    release(conn, held, &job.name).await;
    result
}

/// Releases the job lock (closing the connection would too).
async fn release(conn: &mut JobConn, held: lock::JobLock, job: &str) {
    if let (JobConn::Pg(c), lock::JobLock::Session) = (&mut *conn, &held) {
        let _ = sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
            .bind(lock::lock_name(job))
            .execute(c)
            .await;
    }
    drop(held);
}

/// Under the job's lock: starts or continues the job and runs batches until it is finalized,
/// paused, or the deadline passes.
async fn run_locked(
    conn: &mut JobConn,
    ctx: &Ctx<'_>,
    job: &JobFile,
    observer: Observer<'_>,
) -> Result<RunOutcome, BackgroundError> {
    conn.ensure_jobs_table().await.map_err(|e| ctx.sql_error(&format!("creating {JOBS_TABLE}"), e))?;
    let (row, resumed) =
        match conn.job(&job.name, "").await.map_err(|e| ctx.sql_error("reading the job", e))? {
            None => (start(conn, ctx, job).await?, false),
            Some(row) => (continue_job(conn, ctx, job, row).await?, true),
        };
    if row.state == JobState::Finalized {
        return Ok(RunOutcome::AlreadyFinalized);
    }
    observer(&JobEvent::Started { job: &row, resumed });
    let started = Instant::now();
    let mut run_rows = 0u64;
    loop {
        if ctx.past_deadline() {
            let from = [JobState::Running];
            conn.set_state(&job.name, &from, JobState::Pending, None)
                .await
                .map_err(|e| ctx.sql_error("stopping the job", e))?;
            return Ok(RunOutcome::TimedOut);
        }
        match batch(conn, ctx, job).await? {
            Batch::Done => return Ok(RunOutcome::Finalized),
            Batch::Paused => return Ok(RunOutcome::Paused),
            Batch::Committed { row, rows } => {
                run_rows += rows;
                observer(&JobEvent::Batch { job: &row, rows, run_rows, run_elapsed: started.elapsed() });
                if row.state == JobState::Finalized {
                    return Ok(RunOutcome::Finalized);
                }
            }
        }
        if !job.pause.is_zero() {
            tokio::time::sleep(job.pause).await;
        }
    }
}

/// Checks an existing row against the file and marks it running again.
async fn continue_job(
    conn: &mut JobConn,
    ctx: &Ctx<'_>,
    job: &JobFile,
    mut row: JobRow,
) -> Result<JobRow, BackgroundError> {
    if row.checksum != job.checksum {
        return Err(BackgroundError::Modified {
            name: job.name.clone(),
            path: job.path.clone(),
            recorded: crate::checksum::short(&row.checksum).to_string(),
            current: crate::checksum::short(&job.checksum).to_string(),
        });
    }
    match row.state {
        JobState::Finalized => return Ok(row),
        JobState::Paused => return Err(BackgroundError::Paused { name: job.name.clone() }),
        JobState::Pending | JobState::Running | JobState::Failed => {}
    }
    let from = [JobState::Pending, JobState::Running, JobState::Failed];
    conn.set_state(&job.name, &from, JobState::Running, None)
        .await
        .map_err(|e| ctx.sql_error("starting the job", e))?;
    row.state = JobState::Running;
    Ok(row)
}

/// The quoted table of a job (`"schema"."table"`).
fn quoted_table(job: &JobFile) -> String {
    job.table.iter().map(|p| quote_ident(p)).collect::<Vec<_>>().join(".")
}

/// First run: reads the key range and inserts the job's row, in one transaction.
async fn start(conn: &mut JobConn, ctx: &Ctx<'_>, job: &JobFile) -> Result<JobRow, BackgroundError> {
    let key = quote_ident(&job.key);
    let range_sql =
        format!("SELECT CAST(min({key}) AS bigint), CAST(max({key}) AS bigint) FROM {}", quoted_table(job));
    let insert = super::store::insert_sql(conn.spelling());
    let table = job.table.join(".");
    let (runner, now) = (crate::runlock::this_runner(), crate::timefmt::now_utc());
    begin(conn).await.map_err(|e| ctx.sql_error("starting the job", e))?;
    let inserted: Result<(), sqlx::Error> = on_conn!(conn, c => async {
        let (min, max): (Option<i64>, Option<i64>) = sqlx::query_as(&range_sql).fetch_one(&mut *c).await?;
        sqlx::query(&insert)
            .bind(&job.name).bind(&job.version).bind(&job.checksum).bind(&table).bind(&job.key)
            .bind(min).bind(max).bind(&runner).bind(&now).bind(&now)
            .execute(&mut *c)
            .await?;
        Ok(())
    }.await);
    if let Err(e) = inserted {
        let _ = conn.execute("ROLLBACK").await;
        return Err(ctx.sql_error(&format!("reading the key range of {table}.{}", job.key), e));
    }
    conn.execute("COMMIT").await.map_err(|e| ctx.sql_error("starting the job", e))?;
    let row = conn.job(&job.name, "").await.map_err(|e| ctx.sql_error("reading the job", e))?;
    row.ok_or_else(|| {
        DbError::Sql { context: "starting the job".into(), message: "its row vanished".into() }.into()
    })
}

/// Starts a batch transaction (SQLite: `BEGIN IMMEDIATE`, taking its write lock up front).
async fn begin(conn: &mut JobConn) -> Result<(), sqlx::Error> {
    match conn {
        JobConn::Pg(_) => conn.execute("BEGIN").await,
        JobConn::Sqlite(_) => conn.execute("BEGIN IMMEDIATE").await,
    }
}

/// The row lock a batch takes on its job row (SQLite's write lock is the transaction's).
fn row_lock(conn: &JobConn) -> &'static str {
    match conn {
        JobConn::Pg(_) => " FOR UPDATE",
        JobConn::Sqlite(_) => "",
    }
}

/// What one batch transaction did.
enum Batch {
    Committed {
        row: Box<JobRow>,
        rows: u64,
    },
    /// Nothing was left: the job is now finalized.
    Done,
    /// The job was paused; nothing ran.
    Paused,
}

/// One batch: re-reads the job row (locked), runs the statement over the next keys and records
/// the progress, all in one transaction.
async fn batch(conn: &mut JobConn, ctx: &Ctx<'_>, job: &JobFile) -> Result<Batch, BackgroundError> {
    begin(conn).await.map_err(|e| ctx.sql_error("starting a batch", e))?;
    let result = batch_in_transaction(conn, ctx, job).await;
    let finish =
        if matches!(result, Ok(Batch::Committed { .. } | Batch::Done)) { "COMMIT" } else { "ROLLBACK" };
    let ended = conn.execute(finish).await;
    match (result, ended) {
        (Err(BackgroundError::BatchFailed { name, first, last, batches, message }), _) => {
            let msg = message.clone();
            let from = [JobState::Running];
            let _ = conn.set_state(&name, &from, JobState::Failed, Some(&msg)).await;
            Err(BackgroundError::BatchFailed { name, first, last, batches, message })
        }
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(ctx.sql_error("committing a batch", e)),
        (Ok(b), Ok(())) => Ok(b),
    }
}

async fn batch_in_transaction(
    conn: &mut JobConn,
    ctx: &Ctx<'_>,
    job: &JobFile,
) -> Result<Batch, BackgroundError> {
    let row = conn.job(&job.name, row_lock(conn)).await.map_err(|e| ctx.sql_error("reading the job", e))?;
    let Some(row) = row else {
        return Err(DbError::Sql {
            context: format!("running {}", job.name),
            message: format!("its row in {JOBS_TABLE} was deleted"),
        }
        .into());
    };
    if row.state == JobState::Paused {
        return Ok(Batch::Paused);
    }
    if !lock::still_held(conn, &job.name).await.map_err(|e| ctx.sql_error("checking the job lock", e))? {
        return Err(BackgroundError::LockLost { name: job.name.clone() });
    }
    let (Some(first), Some(max)) = (row.next_key(), row.range_max) else {
        record_finished(conn, ctx, &job.name).await?;
        return Ok(Batch::Done);
    };
    let last = last_key_of_batch(conn, job, first, max)
        .await
        .map_err(|e| ctx.sql_error("finding the batch's last key", e))?;
    let rows = run_statement(conn, job, first, last).await.map_err(|e| BackgroundError::BatchFailed {
        name: job.name.clone(),
        first,
        last,
        batches: row.batches_done,
        message: ctx.target.sanitize(&crate::connection::db_message(&e)),
    })?;
    let state = if last >= max { JobState::Finalized } else { JobState::Running };
    record_batch(conn, job, last, rows, state).await.map_err(|e| ctx.sql_error("recording the batch", e))?;
    let mut row = row;
    row.last_bound = Some(last);
    row.batches_done += 1;
    row.rows_affected = row.rows_affected.saturating_add(i64::try_from(rows).unwrap_or(i64::MAX));
    row.state = state;
    Ok(Batch::Committed { row: Box::new(row), rows })
}

/// The key `batch_size - 1` rows after `first` (so a batch covers `batch_size` existing keys,
/// however sparse), or `max` when fewer are left.
async fn last_key_of_batch(
    conn: &mut JobConn,
    job: &JobFile,
    first: i64,
    max: i64,
) -> Result<i64, sqlx::Error> {
    let sp = conn.spelling();
    let key = quote_ident(&job.key);
    let sql = format!(
        "SELECT CAST({key} AS bigint) FROM {} WHERE {key} >= {} AND {key} <= {} ORDER BY {key} LIMIT 1 OFFSET {}",
        quoted_table(job),
        (sp.param)(1),
        (sp.param)(2),
        job.batch_size - 1
    );
    let found: Option<i64> =
        on_conn!(conn, c => sqlx::query_scalar(&sql).bind(first).bind(max).fetch_optional(&mut *c).await?);
    Ok(found.unwrap_or(max))
}

/// Runs the job's (parsed, checked) statement with `$1 = first`, `$2 = last`.
async fn run_statement(conn: &mut JobConn, job: &JobFile, first: i64, last: i64) -> Result<u64, sqlx::Error> {
    on_conn!(conn, c => {
        let done = sqlx::query(&job.statement).bind(first).bind(last).execute(&mut *c).await?;
        Ok(done.rows_affected())
    })
}

async fn record_batch(
    conn: &mut JobConn,
    job: &JobFile,
    last: i64,
    rows: u64,
    state: JobState,
) -> Result<(), sqlx::Error> {
    let sql = super::store::batch_done_sql(conn.spelling());
    let now = crate::timefmt::now_utc();
    let finished = (state == JobState::Finalized).then(|| now.clone());
    let rows = i64::try_from(rows).unwrap_or(i64::MAX);
    on_conn!(conn, c => sqlx::query(&sql)
        .bind(last).bind(rows).bind(state.as_str()).bind(&now).bind(&finished).bind(&job.name)
        .execute(&mut *c).await.map(|_| ()))
}

/// Marks a job with nothing left (an empty table) finalized.
async fn record_finished(conn: &mut JobConn, ctx: &Ctx<'_>, name: &str) -> Result<(), BackgroundError> {
    let sql = super::store::finish_sql(conn.spelling());
    let now = crate::timefmt::now_utc();
    let done: Result<(), sqlx::Error> = on_conn!(conn, c => sqlx::query(&sql).bind(&now).bind(&now).bind(name).execute(&mut *c).await.map(|_| ()));
    done.map_err(|e| ctx.sql_error("finalizing the job", e))
}

/// `strata background finalize NAME`: runs the job to completion, or waits for the runner that
/// holds it, until it is finalized; fails after `timeout` (None: waits as long as it takes).
pub async fn finalize(
    project: &Project,
    target: &ConnectionTarget,
    name: &str,
    timeout: Option<Duration>,
    observer: Observer<'_>,
) -> Result<RunOutcome, BackgroundError> {
    super::check_supported(target)?;
    crate::runner::check_dialect(project, target)?;
    let jobs = read_jobs(project)?;
    let job = find_job(&jobs, name)?;
    check_applied(job, crate::read_state(project, target).await?.version.as_deref())?;
    let ctx = Ctx { target, deadline: timeout.map(|t| Instant::now() + t) };
    let mut conn =
        connect(target, false).await?.ok_or(BackgroundError::Unsupported { driver: target.driver() })?;
    let result = finalize_on(&mut conn, &ctx, job, observer).await;
    let result = match result {
        Err(BackgroundError::FinalizeTimeout { name, state, percent, holder, .. }) => {
            Err(BackgroundError::FinalizeTimeout {
                name,
                timeout: timeout.unwrap_or_default(),
                state,
                percent,
                holder,
            })
        }
        other => other,
    };
    close(Some(conn)).await;
    result
}

async fn finalize_on(
    conn: &mut JobConn,
    ctx: &Ctx<'_>,
    job: &JobFile,
    observer: Observer<'_>,
) -> Result<RunOutcome, BackgroundError> {
    let mut announced = false;
    loop {
        conn.ensure_jobs_table().await.map_err(|e| ctx.sql_error(&format!("creating {JOBS_TABLE}"), e))?;
        let row = conn.job(&job.name, "").await.map_err(|e| ctx.sql_error("reading the job", e))?;
        match row.as_ref().map(|r| r.state) {
            Some(JobState::Finalized) => return Ok(RunOutcome::AlreadyFinalized),
            Some(JobState::Paused) => return Err(BackgroundError::Paused { name: job.name.clone() }),
            _ => {}
        }
        let holder = match run_one(conn, ctx, job, observer).await {
            Ok(RunOutcome::Paused) => return Err(BackgroundError::Paused { name: job.name.clone() }),
            Ok(RunOutcome::TimedOut) => None,
            Ok(outcome) => return Ok(outcome),
            Err(BackgroundError::Busy { holder, .. }) => Some(holder),
            Err(e) => return Err(e),
        };
        if let Some(h) = holder.as_deref().filter(|_| !announced) {
            observer(&JobEvent::Waiting { name: &job.name, holder: h });
            announced = true;
        }
        if ctx.past_deadline() {
            return Err(timed_out(conn, ctx, job, holder).await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The timeout error, with the job's progress as it is now.
async fn timed_out(
    conn: &mut JobConn,
    ctx: &Ctx<'_>,
    job: &JobFile,
    holder: Option<String>,
) -> BackgroundError {
    let row = conn.job(&job.name, "").await.ok().flatten();
    BackgroundError::FinalizeTimeout {
        name: job.name.clone(),
        timeout: Duration::ZERO,
        state: row.as_ref().map(|r| r.state.as_str()).unwrap_or("not started").to_string(),
        percent: row.as_ref().map(|r| r.fraction_done() * 100.0).unwrap_or(0.0),
        holder: holder.filter(|_| ctx.deadline.is_some()),
    }
}
