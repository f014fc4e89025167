//! Running one step: the file's prelude, then its body and the history row(s) in one
//! transaction, then its postlude.
//!
//! Inside the transaction, before anything is recorded, the step proves it is still entitled to
//! run: it holds the step lock, the installed version is the one it planned from, no history row
//! already says this version is applied, and (PostgreSQL) its session still holds the migration
//! lock. Any of these failing rolls the step back, so a run that lost its lock can never commit.
//! Every failure says exactly what was committed: nothing, statements before `BEGIN;`, or the
//! whole migration (when only the statements after `COMMIT;` failed).

use std::time::{Duration, Instant};

use crate::connection::{db_message, ConnectionTarget};
use crate::history::{NewRow, RunStatus};
use crate::plan::{Step, StepKind};
use crate::runner::{ApplyEvent, Conn, SERVERPOD_MIGRATIONS};
use crate::sqlfile::{has_statements, split, transaction_control, SplitSql};
use crate::{DbError, REPAIR_MODULE};

/// The installed version a step expects to find inside its transaction.
pub(crate) struct Expect {
    pub module: String,
    pub version: Option<String>,
    /// Resume a statement-by-statement migration even if statements that already ran changed
    /// (`--accept-modified`).
    pub accept_changed: bool,
}

/// Why a step did not commit.
pub(crate) enum StepErr {
    /// Another run moved the installed version: re-plan, not a failure.
    Raced(String),
    /// The database refused something: roll back, record, report.
    Sql(String),
    /// A statement before `BEGIN;` failed (those before it ran outside any transaction).
    Prelude(String),
    /// History already records this version as applied: another run did it.
    AlreadyApplied,
    /// The session no longer holds the migration lock.
    LockLost,
    /// The connection died; the server rolled the transaction back.
    ConnectionLost(String),
}

impl StepErr {
    pub(crate) fn from_db(context: &str, e: &sqlx::Error) -> StepErr {
        if is_connection_loss(e) {
            StepErr::ConnectionLost(format!("{context}: {}", db_message(e)))
        } else if context.is_empty() {
            StepErr::Sql(db_message(e))
        } else {
            StepErr::Sql(format!("{context}: {}", db_message(e)))
        }
    }
}

/// The connection itself is gone (network, server shutdown, `pg_terminate_backend`,
/// `idle_session_timeout`), as opposed to a statement failing.
pub(crate) fn is_connection_loss(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => {
            // 57P01 admin_shutdown (terminate), 57P02/57P03 crash/cannot connect now,
            // 57P05 idle_session_timeout, 08xxx connection exceptions.
            // MySQL: 70100 (the session was killed, ER_CONNECTION_KILLED / query interrupted).
            d.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08") || c == "70100")
        }
        _ => false,
    }
}

/// Runs one step. `Err(DbError::Raced)` means re-plan; every other error is final and says what
/// was committed. A dialect with transactional DDL runs the file as one transaction with its
/// history row; one without runs it statement by statement (`crate::stepwise`).
pub(crate) async fn run_step(
    conn: &mut Conn,
    target: &ConnectionTarget,
    module: &str,
    step: &Step,
    expect: &Expect,
    observer: &mut dyn FnMut(&ApplyEvent),
) -> Result<Duration, DbError> {
    if conn.dialect().supports_transactional_ddl() {
        run_transactional(conn, target, module, step, expect, observer).await
    } else {
        crate::stepwise::run_stepwise(conn, target, module, step, expect, observer).await
    }
}

/// The file's prelude, then its body and the history row(s) in one transaction, then its postlude.
async fn run_transactional(
    conn: &mut Conn,
    target: &ConnectionTarget,
    module: &str,
    step: &Step,
    expect: &Expect,
    observer: &mut dyn FnMut(&ApplyEvent),
) -> Result<Duration, DbError> {
    let parts = split(&step.file.path, &step.file.sql)?;
    refuse_transaction_statements(step, &parts)?;
    let (before, after) = conn.around_file();
    let prelude = format!("{before}{}", parts.prelude);
    let postlude = format!("{}{after}", parts.postlude);
    observer(&ApplyEvent::StepStarted { step });
    let started_at = crate::timefmt::now_utc();
    let t0 = Instant::now();
    // The attempt is visible (`status` shows it running) before anything of it runs.
    let id = conn
        .insert_history(&attempt_row(module, step, &started_at))
        .await
        .map_err(|e| target.sql_error("recording the attempt in the history table", &e))?;
    let attempt = Attempt { id, started_at };

    if has_statements(&prelude) {
        if let Err(e) = conn.execute(&prelude).await {
            let msg = format!("before BEGIN: {}", db_message(&e));
            let err =
                if is_connection_loss(&e) { StepErr::ConnectionLost(msg) } else { StepErr::Prelude(msg) };
            return fail(conn, target, module, step, expect, &attempt, t0, err, observer).await;
        }
    }
    if let Err(err) = transaction(conn, module, step, parts.body, expect, &attempt, t0).await {
        // The postlude restores settings either way; the transaction's failure is what the user
        // must see.
        let _ = run_postlude(conn, &postlude).await;
        return fail(conn, target, module, step, expect, &attempt, t0, err, observer).await;
    }
    if let Err(e) = run_postlude(conn, &postlude).await {
        let message = target.sanitize(&e);
        observer(&ApplyEvent::StepFailed { step, duration: t0.elapsed(), error: &message });
        return Err(DbError::CommittedThenFailed {
            version: step.version.clone(),
            kind: step.kind.file_name().to_string(),
            message: format!("{message}\n  file: {}", step.file.path.display()),
        });
    }
    let duration = t0.elapsed();
    observer(&ApplyEvent::StepFinished { step, duration });
    Ok(duration)
}

/// The history row of one attempt, written `running` before the attempt starts.
pub(crate) struct Attempt {
    pub(crate) id: i64,
    pub(crate) started_at: String,
}

pub(crate) fn attempt_row(module: &str, step: &Step, started_at: &str) -> NewRow {
    NewRow {
        module: history_module(module, step).to_string(),
        version: step.version.clone(),
        kind: step.kind,
        checksum: Some(step.file.checksum.clone()),
        status: RunStatus::Running,
        started_at: started_at.to_string(),
        finished_at: None,
        duration_ms: None,
        error: None,
        covered_by: None,
        previous_checksum: None,
        runner: Some(crate::runlock::this_runner()),
        statement_count: None,
    }
}

/// A transaction statement inside the body would commit part of the file without its history row:
/// refused before anything runs.
fn refuse_transaction_statements(step: &Step, parts: &SplitSql) -> Result<(), DbError> {
    let Some((line, keyword)) = transaction_control(parts.body) else { return Ok(()) };
    Err(DbError::MalformedFile {
        path: step.file.path.clone(),
        message: format!(
            "line {}: `{keyword}` inside the migration's transaction. strata runs everything between `BEGIN;` and \
             `COMMIT;` as one transaction together with its history row, so a transaction statement there would \
             commit part of the file unrecorded. Remove it, or split the file into two migrations",
            line + parts.body_line
        ),
    })
}

/// After `COMMIT;`: restores connection settings the prelude changed. Runs after a failed
/// transaction too.
async fn run_postlude(conn: &mut Conn, postlude: &str) -> Result<(), String> {
    if !has_statements(postlude) {
        return Ok(());
    }
    conn.execute(postlude).await.map_err(|e| format!("after COMMIT: {}", db_message(&e)))
}

/// BEGIN, the guards, the body, the history rows, COMMIT. On error the transaction is rolled
/// back (or, for a lost connection, was rolled back by the server).
async fn transaction(
    conn: &mut Conn,
    module: &str,
    step: &Step,
    body: &str,
    expect: &Expect,
    attempt: &Attempt,
    t0: Instant,
) -> Result<(), StepErr> {
    conn.begin().await.map_err(|e| StepErr::from_db("starting the transaction", &e))?;
    let inside = async {
        conn.lock_step().await.map_err(|e| StepErr::from_db("taking the step lock", &e))?;
        check_expected_version(conn, expect).await?;
        if has_statements(body) {
            conn.execute(body).await.map_err(|e| StepErr::from_db("", &e))?;
        }
        check_after_body(conn, module, step, expect).await?;
        record_ok(conn, module, step, attempt, t0).await
    }
    .await;
    match inside {
        Ok(()) => conn.execute("COMMIT").await.map_err(|e| match StepErr::from_db("COMMIT", &e) {
            StepErr::ConnectionLost(m) => StepErr::ConnectionLost(format!(
                "{m}; the connection broke during COMMIT, so whether {} committed is unknown: run `strata status`",
                step.version
            )),
            other => other,
        }),
        Err(e) => {
            if !matches!(e, StepErr::ConnectionLost(_)) {
                let _ = conn.execute("ROLLBACK").await;
            }
            Err(e)
        }
    }
}

/// Under the step lock: has another run moved the version since we planned?
pub(crate) async fn check_expected_version(conn: &mut Conn, expect: &Expect) -> Result<(), StepErr> {
    let read = |e: sqlx::Error| StepErr::from_db("reading the installed version", &e);
    let found = conn.module_version(&expect.module).await.map_err(read)?;
    if found != expect.version {
        return Err(StepErr::Raced(found.unwrap_or_else(|| "nothing".into())));
    }
    Ok(())
}

/// The guards between the body and the history row (also after a statement-by-statement file's
/// last statement, where files record their own version).
pub(crate) async fn check_after_body(
    conn: &mut Conn,
    module: &str,
    step: &Step,
    expect: &Expect,
) -> Result<(), StepErr> {
    let violations =
        conn.foreign_key_violations().await.map_err(|e| StepErr::from_db("checking foreign keys", &e))?;
    if !violations.is_empty() {
        return Err(StepErr::Sql(format!(
            "foreign key violations after the migration: {}",
            violations.join("; ")
        )));
    }
    let history_module = history_module(module, step);
    // The file must record its own version (Serverpod's upsert): a hand-edited file that lost it
    // would leave the database unable to tell what ran, and the next apply would run it again.
    let recorded = conn
        .module_version(history_module)
        .await
        .map_err(|e| StepErr::from_db(&format!("reading {SERVERPOD_MIGRATIONS} after the migration"), &e))?;
    if recorded.as_deref() != Some(step.version.as_str()) {
        return Err(StepErr::Sql(format!(
            "the file did not record version {} for module {history_module} in {SERVERPOD_MIGRATIONS} (found {}); \
             its `INSERT INTO \"{SERVERPOD_MIGRATIONS}\" … ON CONFLICT` upsert is missing or names another version",
            step.version,
            recorded.as_deref().unwrap_or("no row")
        )));
    }
    if step.out_of_order || step.rerun {
        // An older version merged late, or an applied one run again: it must not move the
        // installed version back.
        let installed = expect.version.as_deref().unwrap_or_default();
        conn.set_module_version(module, installed)
            .await
            .map_err(|e| StepErr::from_db("restoring the installed version", &e))?;
    }
    if matches!(step.kind, StepKind::Definition | StepKind::Migration) && !step.rerun {
        let applied = conn
            .current_applied_rows(module, &step.version)
            .await
            .map_err(|e| StepErr::from_db("reading history", &e))?;
        if applied > 0 {
            return Err(StepErr::AlreadyApplied);
        }
    }
    if !conn.holds_migration_lock().await.map_err(|e| StepErr::from_db("checking the migration lock", &e))? {
        return Err(StepErr::LockLost);
    }
    Ok(())
}

pub(crate) fn history_module<'a>(module: &'a str, step: &Step) -> &'a str {
    if step.kind == StepKind::Repair {
        REPAIR_MODULE
    } else {
        module
    }
}

/// Turns the attempt's row `ok`, and adds a `baseline` row for every version a definition step
/// covers.
pub(crate) async fn record_ok(
    conn: &mut Conn,
    module: &str,
    step: &Step,
    attempt: &Attempt,
    t0: Instant,
) -> Result<(), StepErr> {
    let duration_ms = t0.elapsed().as_millis() as i64;
    conn.finish_history(attempt.id, RunStatus::Ok, duration_ms, None)
        .await
        .map_err(|e| StepErr::from_db("recording history", &e))?;
    for covered in &step.covers {
        let b = NewRow {
            version: covered.clone(),
            checksum: None,
            status: RunStatus::Baseline,
            finished_at: Some(crate::timefmt::now_utc()),
            covered_by: Some(step.version.clone()),
            ..attempt_row(module, step, &attempt.started_at)
        };
        conn.insert_history(&b).await.map_err(|e| StepErr::from_db("recording history", &e))?;
    }
    Ok(())
}

/// Turns a step error into the final [`DbError`], recording a `failed` row when the database
/// really refused the file (not for races, lost locks or lost connections: nothing of this
/// attempt reached the database, and another run may own the version now).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn fail(
    conn: &mut Conn,
    target: &ConnectionTarget,
    module: &str,
    step: &Step,
    expect: &Expect,
    attempt: &Attempt,
    t0: Instant,
    err: StepErr,
    observer: &mut dyn FnMut(&ApplyEvent),
) -> Result<Duration, DbError> {
    let duration = t0.elapsed();
    let version = step.version.clone();
    let err_kind = if matches!(err, StepErr::Prelude(_)) { ErrKind::Prelude } else { ErrKind::Other };
    let error = match err {
        StepErr::Raced(found) => {
            let _ = conn.delete_history(attempt.id).await;
            return Err(DbError::Raced {
                module: expect.module.clone(),
                expected: expect.version.clone().unwrap_or_else(|| "nothing".into()),
                found,
            });
        }
        // This attempt changed nothing and another run may own the version: no row of its own.
        StepErr::AlreadyApplied => {
            let _ = conn.delete_history(attempt.id).await;
            DbError::AlreadyApplied { module: history_module(module, step).into(), version }
        }
        StepErr::LockLost => {
            let _ = conn.delete_history(attempt.id).await;
            DbError::LockLost { version }
        }
        // The row stays `running`; the next run marks it interrupted.
        StepErr::ConnectionLost(m) => DbError::ConnectionLost { version, message: target.sanitize(&m) },
        StepErr::Sql(e) | StepErr::Prelude(e) => {
            let message = target.sanitize(&e);
            let ms = duration.as_millis() as i64;
            // Best effort: the failure itself is what the user must see.
            let _ = conn.finish_history(attempt.id, RunStatus::Failed, ms, Some(&message)).await;
            observer(&ApplyEvent::StepFailed { step, duration, error: &message });
            let kind = step.kind.file_name().to_string();
            let message = format!("{message}\n  file: {}", step.file.path.display());
            return Err(if matches!(err_kind, ErrKind::Prelude) {
                DbError::PreludeFailed { version, kind, message, kept: conn.prelude_outcome() }
            } else {
                DbError::MigrationFailed { version, kind, message }
            });
        }
    };
    let shown = error.to_string();
    observer(&ApplyEvent::StepFailed { step, duration, error: &shown });
    Err(error)
}

enum ErrKind {
    Prelude,
    Other,
}
