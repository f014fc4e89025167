//! Running one step statement by statement, for dialects without transactional DDL (MySQL
//! commits every DDL statement implicitly, so a transaction around a file would be a lie).
//!
//! Progress is recorded per statement in the attempt's history row (Atlas-style): how many
//! statements completed, the checksum of each, and which one failed with its error. Each statement
//! runs in its own transaction with its progress update, so a DML statement and its progress
//! commit together; a DDL statement commits itself just before its progress is written (a crash
//! in that gap re-runs that one statement on resume, which then fails visibly, e.g. "table
//! exists"). Before each statement and before recording its progress the step proves it is still
//! entitled to run: its session holds the migration lock, the installed version is the one it
//! planned from, and its progress row says what it last wrote.
//!
//! Resume: when the version's last attempt failed (or was interrupted) after `k` statements, the
//! next attempt compares the first `k` statements of the file with the recorded checksums. Equal:
//! it starts at statement `k + 1`. Different: it refuses, naming the changed statement, unless
//! `--accept-modified` says the database already matches the edited file.

use std::time::{Duration, Instant};

use crate::checksum::checksum;
use crate::connection::ConnectionTarget;
use crate::history::{HistoryRow, RunStatus};
use crate::plan::Step;
use crate::runner::{ApplyEvent, Conn};
use crate::session::ProgressUpdate;
use crate::sqlfile::{creates_index, is_ddl, statements_for, writes_table, FileStatement};
use crate::step::{
    attempt_row, check_expected_version, fail, history_module, record_ok, Attempt, Expect, StepErr,
};
use crate::DbError;

/// Runs `step` statement by statement, resuming after the statements a failed attempt completed.
pub(crate) async fn run_stepwise(
    conn: &mut Conn,
    target: &ConnectionTarget,
    module: &str,
    step: &Step,
    expect: &Expect,
    observer: &mut dyn FnMut(&ApplyEvent),
) -> Result<Duration, DbError> {
    if step.kind == crate::StepKind::Rollback {
        return Err(DbError::NotSupported {
            driver: conn.dialect().name(),
            what: format!("a {} step", step.kind.file_name()),
            instead: "write a new migration that makes the change".into(),
        });
    }
    let installs = repair_installs(conn, step)?;
    let dialect = conn.dialect();
    let all = statements_for(&step.file.path, &step.file.sql, dialect.wire_protocol())?;
    let (file, bookkeeping) = split_bookkeeping(all, conn.files_record_version());
    let alone: Vec<bool> = file.iter().map(|st| runs_alone(dialect, st.text)).collect();
    let sums: Vec<String> = file.iter().map(|s| checksum(s.text)).collect();
    let history = conn.history(module).await.map_err(|e| target.sql_error("reading history", &e))?;
    let resume_at = resume_point(step, expect, &file, &sums, &history)?;

    observer(&ApplyEvent::StepStarted { step });
    let started_at = crate::timefmt::now_utc();
    let t0 = Instant::now();
    let mut row = attempt_row(module, step, &started_at);
    row.statement_count = Some(file.len() as i64);
    let id = conn
        .insert_history(&row)
        .await
        .map_err(|e| target.sql_error("recording the attempt in the history table", &e))?;
    let attempt = Attempt { id, started_at };
    let progress = Run {
        file: &file,
        sums: &sums,
        attempt: &attempt,
        installs: &installs,
        bookkeeping: &bookkeeping,
        alone: &alone,
    };
    match progress.run(conn, module, step, expect, resume_at, t0).await {
        Ok(()) => {
            let duration = t0.elapsed();
            observer(&ApplyEvent::StepFinished { step, duration });
            Ok(duration)
        }
        Err(Failure::Statement { index, message }) => {
            let message = target.sanitize(&message);
            progress.record_failure(conn, index, &message, t0).await;
            observer(&ApplyEvent::StepFailed { step, duration: t0.elapsed(), error: &message });
            Err(DbError::StatementFailed {
                version: step.version.clone(),
                kind: step.kind.file_name().to_string(),
                dialect: conn.dialect().name(),
                done: index as i64,
                failed: index as i64 + 1,
                count: file.len() as i64,
                message: format!("{message}\n  file: {}", step.file.path.display()),
            })
        }
        // Statements of this attempt may have committed: its row keeps their progress and stays
        // `running`, so the run that holds the lock next marks it interrupted and resumes after
        // them. Writing it now, without the lock, could race that run.
        Err(Failure::Step(StepErr::LockLost)) => {
            let error = DbError::LockLost { version: step.version.clone() };
            let shown = error.to_string();
            observer(&ApplyEvent::StepFailed { step, duration: t0.elapsed(), error: &shown });
            Err(error)
        }
        // Another run moved the installed version (only a run ignoring the lock can): this
        // attempt's committed statements stay recorded as failed progress, so the re-plan resumes
        // after them instead of deleting the row as a transactional step would.
        Err(Failure::Step(StepErr::Raced(found))) => {
            let error = format!("the installed version changed to {found} while applying; stopped");
            let ms = t0.elapsed().as_millis() as i64;
            let _ = conn.finish_history(attempt.id, RunStatus::Failed, ms, Some(&error)).await;
            Err(DbError::Raced {
                module: expect.module.clone(),
                expected: expect.version.clone().unwrap_or_else(|| "nothing".into()),
                found,
            })
        }
        Err(Failure::Step(err)) => {
            fail(conn, target, module, step, expect, &attempt, t0, err, observer).await
        }
    }
}

/// What a repair step installs, read from its `-- strata-repair-installs:` line where files keep no
/// version bookkeeping (elsewhere the file's own rows record it). A repair file without the line
/// is refused before anything runs: the runner would not know which version the database is at.
fn repair_installs(conn: &Conn, step: &Step) -> Result<Vec<(String, String)>, DbError> {
    if step.kind != crate::StepKind::Repair || conn.files_record_version() {
        return Ok(Vec::new());
    }
    crate::repairfile::recorded_installs(&step.file.sql).ok_or_else(|| DbError::NotSupported {
        driver: conn.dialect().name(),
        what: format!(
            "the repair file {} without a `{}` line (which versions it brings the database to)",
            step.file.path.display(),
            crate::repairfile::INSTALLS_MARK
        ),
        instead: "re-create it with `strata create-repair-migration`".into(),
    })
}

/// Splits off the statements that write Serverpod's `serverpod_migrations` rows, where files
/// record their own version: they run last, in the transaction that turns the attempt `ok`, so
/// the installed version moves exactly when the migration is recorded as done (run among the
/// other statements, the version would move before the rest of the file ran, and every later
/// statement's "still at the planned version" guard would stop the run).
fn split_bookkeeping(
    all: Vec<FileStatement<'_>>,
    files_record_version: bool,
) -> (Vec<FileStatement<'_>>, Vec<FileStatement<'_>>) {
    if !files_record_version {
        return (all, Vec::new());
    }
    all.into_iter().partition(|st| !writes_table(st.text, crate::runner::SERVERPOD_MIGRATIONS))
}

/// Whether a statement runs alone, outside any transaction block: DDL on a dialect whose DDL
/// is not transactional (it commits by itself, and CockroachDB's DDL inside a transaction may
/// fail at COMMIT after the transaction's other writes, its progress row among them, took
/// effect), and an index build the dialect builds online only outside a transaction
/// (`strata_sql::OnlineIndexBuild`).
pub(crate) fn runs_alone(dialect: &dyn strata_sql::Dialect, text: &str) -> bool {
    let index_alone =
        creates_index(text).is_some_and(|c| dialect.online_index_build().needs_no_transaction(c));
    index_alone || (!dialect.supports_transactional_ddl() && is_ddl(text))
}

/// Where this attempt starts: after the statements the version's last failed attempt completed,
/// if the file still has them unchanged.
fn resume_point(
    step: &Step,
    expect: &Expect,
    file: &[FileStatement],
    sums: &[String],
    history: &[HistoryRow],
) -> Result<usize, DbError> {
    let last = history.iter().rev().find(|r| {
        r.module == history_module(&expect.module, step) && r.version == step.version && r.kind == step.kind
    });
    let Some(progress) = last.filter(|r| r.status == RunStatus::Failed).and_then(|r| r.progress.as_ref())
    else {
        return Ok(0);
    };
    let done = (progress.done.max(0) as usize).min(progress.checksums.len());
    for (index, recorded) in progress.checksums.iter().take(done).enumerate() {
        if sums.get(index) != Some(recorded) && !expect.accept_changed {
            let (line, text) =
                file.get(index).map(|s| (s.line, s.first_line().to_string())).unwrap_or_default();
            return Err(DbError::CompletedStatementChanged {
                version: step.version.clone(),
                path: step.file.path.clone(),
                index: index + 1,
                line,
                text,
            });
        }
    }
    Ok(done.min(file.len()))
}

/// Why a statement-by-statement step stopped.
enum Failure {
    /// The database refused statement `index` (0-based); those before it committed.
    Statement { index: usize, message: String },
    /// A guard failed or the connection broke: handled as for a transactional step.
    Step(StepErr),
}

impl From<StepErr> for Failure {
    fn from(e: StepErr) -> Self {
        Failure::Step(e)
    }
}

/// One attempt's statements and its history row.
struct Run<'a> {
    file: &'a [FileStatement<'a>],
    sums: &'a [String],
    attempt: &'a Attempt,
    /// For a repair step: the (module, version) pairs it brings the database to.
    installs: &'a [(String, String)],
    /// The file's `serverpod_migrations` writes, run by [`Run::finish`] (see [`split_bookkeeping`]).
    bookkeeping: &'a [FileStatement<'a>],
    /// Per statement: runs outside any transaction ([`runs_alone`]).
    alone: &'a [bool],
}

impl Run<'_> {
    async fn run(
        &self,
        conn: &mut Conn,
        module: &str,
        step: &Step,
        expect: &Expect,
        resume_at: usize,
        t0: Instant,
    ) -> Result<(), Failure> {
        check_not_applied(conn, module, step).await?;
        self.write_progress(conn, resume_at, None, None).await?;
        for index in resume_at..self.file.len() {
            self.run_statement(conn, expect, index).await?;
        }
        self.finish(conn, module, step, expect, t0).await
    }

    /// One statement in its own transaction with its progress update, between the guards.
    async fn run_statement(&self, conn: &mut Conn, expect: &Expect, index: usize) -> Result<(), Failure> {
        if self.alone[index] {
            return self.run_alone(conn, expect, index).await;
        }
        conn.begin().await.map_err(|e| StepErr::from_db("starting the transaction", &e))?;
        let result = async {
            self.check_entitled(conn, expect, index).await?;
            if let Err(e) = conn.execute(self.file[index].text).await {
                if crate::step::is_connection_loss(&e) {
                    return Err(Failure::Step(StepErr::from_db(&format!("statement {}", index + 1), &e)));
                }
                return Err(Failure::Statement { index, message: crate::connection::db_message(&e) });
            }
            check_lock(conn).await?;
            self.write_progress(conn, index + 1, None, None).await?;
            conn.execute("COMMIT").await.map_err(|e| Failure::Step(StepErr::from_db("COMMIT", &e)))
        }
        .await;
        if let Err(Failure::Statement { .. } | Failure::Step(StepErr::LockLost | StepErr::Raced(_))) = &result
        {
            let _ = conn.execute("ROLLBACK").await;
        }
        result
    }

    /// A statement outside any transaction block: its guards commit first, then it runs on its
    /// own, then its progress commits behind a fresh lock check (a crash between the statement
    /// and its progress re-runs it on resume, where it fails visibly, as DDL on MySQL does).
    async fn run_alone(&self, conn: &mut Conn, expect: &Expect, index: usize) -> Result<(), Failure> {
        conn.begin().await.map_err(|e| StepErr::from_db("starting the transaction", &e))?;
        let checked = self.check_entitled(conn, expect, index).await;
        end_transaction(conn, checked).await?;
        if let Err(e) = conn.execute(self.file[index].text).await {
            if crate::step::is_connection_loss(&e) {
                return Err(Failure::Step(StepErr::from_db(&format!("statement {}", index + 1), &e)));
            }
            return Err(Failure::Statement { index, message: crate::connection::db_message(&e) });
        }
        conn.begin().await.map_err(|e| StepErr::from_db("starting the transaction", &e))?;
        let recorded = async {
            check_lock(conn).await?;
            self.write_progress(conn, index + 1, None, None).await
        }
        .await;
        Ok(end_transaction(conn, recorded).await?)
    }

    /// The guards before a statement: the lock, the installed version, and our own progress row
    /// saying the statements before this one are done (no other run wrote it).
    async fn check_entitled(&self, conn: &mut Conn, expect: &Expect, index: usize) -> Result<(), StepErr> {
        check_lock(conn).await?;
        check_expected_version(conn, expect).await?;
        let recorded = conn
            .progress_of(self.attempt.id)
            .await
            .map_err(|e| StepErr::from_db("reading this attempt's progress", &e))?;
        if recorded != Some(index as i64) {
            return Err(StepErr::LockLost);
        }
        Ok(())
    }

    /// After the last statement: the installed version (where files do not record it) and the
    /// `ok` row, in one transaction behind the lock check.
    async fn finish(
        &self,
        conn: &mut Conn,
        module: &str,
        step: &Step,
        expect: &Expect,
        t0: Instant,
    ) -> Result<(), Failure> {
        conn.begin().await.map_err(|e| StepErr::from_db("starting the transaction", &e))?;
        let result = async {
            check_lock(conn).await?;
            check_expected_version(conn, expect).await?;
            if conn.files_record_version() {
                for st in self.bookkeeping {
                    conn.execute(st.text).await.map_err(|e| {
                        StepErr::from_db(&format!("line {}: recording the version", st.line), &e)
                    })?;
                }
                crate::step::check_after_body(conn, module, step, expect).await?;
            } else if !step.out_of_order && !step.rerun {
                conn.set_module_version(history_module(module, step), &step.version)
                    .await
                    .map_err(|e| StepErr::from_db("recording the installed version", &e))?;
                for (installed_module, version) in self.installs {
                    conn.set_module_version(installed_module, version)
                        .await
                        .map_err(|e| StepErr::from_db("recording the repaired versions", &e))?;
                }
            }
            record_ok(conn, module, step, self.attempt, t0).await?;
            conn.execute("COMMIT").await.map_err(|e| StepErr::from_db("COMMIT", &e))
        }
        .await;
        if let Err(e) = result {
            if !matches!(e, StepErr::ConnectionLost(_)) {
                let _ = conn.execute("ROLLBACK").await;
            }
            return Err(Failure::Step(e));
        }
        Ok(())
    }

    async fn write_progress(
        &self,
        conn: &mut Conn,
        done: usize,
        failed: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), StepErr> {
        let checksums = self.sums[..done].join(" ");
        let update = ProgressUpdate { done: done as i64, checksums: &checksums, failed, error };
        conn.record_progress(self.attempt.id, &update)
            .await
            .map_err(|e| StepErr::from_db("recording progress in the history table", &e))
    }

    /// Best effort: the row says which statement failed and why, then turns `failed`; the error
    /// itself is what the user must see.
    async fn record_failure(&self, conn: &mut Conn, index: usize, message: &str, t0: Instant) {
        let statement = &self.file[index];
        let error = format!(
            "statement {} failed: {} (line {}: `{}`)",
            index + 1,
            message.lines().next().unwrap_or(""),
            statement.line,
            statement.first_line()
        );
        let _ = self.write_progress(conn, index, Some(index as i64 + 1), Some(&error)).await;
        let ms = t0.elapsed().as_millis() as i64;
        let _ = conn.finish_history(self.attempt.id, RunStatus::Failed, ms, Some(&error)).await;
    }
}

/// Commits the open transaction after `result` succeeded, else rolls it back (a lost connection
/// already did).
async fn end_transaction(conn: &mut Conn, result: Result<(), StepErr>) -> Result<(), StepErr> {
    match result {
        Ok(()) => conn.execute("COMMIT").await.map_err(|e| StepErr::from_db("COMMIT", &e)),
        Err(e) => {
            if !matches!(e, StepErr::ConnectionLost(_)) {
                let _ = conn.execute("ROLLBACK").await;
            }
            Err(e)
        }
    }
}

/// The session must still hold the migration lock (it dies with a killed connection).
async fn check_lock(conn: &mut Conn) -> Result<(), StepErr> {
    match conn.holds_migration_lock().await {
        Ok(true) => Ok(()),
        Ok(false) => Err(StepErr::LockLost),
        Err(e) => Err(StepErr::from_db("checking the migration lock", &e)),
    }
}

/// No current history row may already say this version is applied (another run did it).
async fn check_not_applied(conn: &mut Conn, module: &str, step: &Step) -> Result<(), StepErr> {
    if step.rerun || !matches!(step.kind, crate::StepKind::Definition | crate::StepKind::Migration) {
        return Ok(());
    }
    let applied = conn
        .current_applied_rows(module, &step.version)
        .await
        .map_err(|e| StepErr::from_db("reading history", &e))?;
    if applied > 0 {
        return Err(StepErr::AlreadyApplied);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect(name: &str) -> &'static dyn strata_sql::Dialect {
        crate::dialect_named(name).unwrap()
    }

    #[test]
    fn where_each_engine_runs_a_statement() {
        let index = "CREATE INDEX \"a\" ON \"t\" USING btree (\"x\")";
        let concurrent = "CREATE INDEX CONCURRENTLY \"a\" ON \"t\" (\"x\")";
        let table = "CREATE TABLE \"t\" (\"x\" bigint)";
        let insert = "INSERT INTO \"t\" VALUES (1)";
        let alone = |name: &str| [index, concurrent, table, insert].map(|s| runs_alone(dialect(name), s));
        // PostgreSQL and Citus: only CONCURRENTLY refuses a transaction block.
        assert_eq!(alone("postgres"), [false, true, false, false]);
        assert_eq!(alone("citus"), [false, true, false, false]);
        // YugabyteDB: every index build is online only outside a block; its DDL commits itself.
        assert_eq!(alone("yugabytedb"), [true, true, true, false]);
        // CockroachDB: DDL never inside a transaction with the progress row; DML stays in one.
        assert_eq!(alone("cockroachdb"), [true, true, true, false]);
        // MySQL: DDL commits implicitly around itself anyway, so running it alone is the same.
        assert_eq!(alone("mysql"), [true, true, true, false]);
    }

    #[test]
    fn bookkeeping_runs_last_only_where_files_record_their_version() {
        let sql = "CREATE TABLE a (x int);\nINSERT INTO \"serverpod_migrations\" (\"module\") VALUES ('p');\nINSERT INTO a VALUES (1);\n";
        let all = statements_for(std::path::Path::new("m.sql"), sql, "postgres").unwrap();
        let (work, bookkeeping) = split_bookkeeping(all.clone(), true);
        assert_eq!(work.iter().map(|s| s.line).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(bookkeeping.iter().map(|s| s.line).collect::<Vec<_>>(), [2]);
        let (work, bookkeeping) = split_bookkeeping(all, false);
        assert_eq!((work.len(), bookkeeping.len()), (3, 0));
    }
}
