//! PostgreSQL through a transaction pooler (`pooling=transaction` in the URL; pgbouncer's
//! `pool_mode = transaction`). The pooler may hand every transaction to another server
//! connection, so nothing here relies on session state:
//! * **No session lock.** A session advisory lock would stay on whichever server connection took
//!   it. Instead each step's transaction takes the run lock and the step lock as
//!   transaction-scoped advisory locks, then re-checks the installed version as every step does:
//!   each migration runs exactly once, and a run (or Serverpod) holding the session lock directly
//!   on the server is waited for, step by step.
//! * **Every query is inside a transaction.** A bound query is parsed and executed in two round
//!   trips; only a transaction keeps them on one server connection. Queries outside a step run in
//!   their own short transaction (`BEGIN READ ONLY` for read-only sessions).
//! * **No named prepared statement.** Every session query is unnamed (`persistent(false)`):
//!   sqlx names statements per client connection (`sqlx_s_1`, …), and a name left on a shared
//!   server connection collides with the next client's.
//! * **No session settings.** A schema target's `search_path` is `SET LOCAL` in every
//!   transaction, and the file's statements before `BEGIN;` get it prefixed in their message.

use super::postgres::PgSession;
use super::{DbFuture, Session};
use crate::connection::ConnectionTarget;
use crate::history::{HistoryRow, NewRow, RunStatus};
use crate::Driver;

pub(crate) struct PooledPgSession {
    inner: PgSession,
    /// A step transaction is open (between `begin` and `COMMIT`/`ROLLBACK`).
    in_step: bool,
    /// What opens a transaction of our own: `BEGIN` (READ ONLY) and the schema's `SET LOCAL`.
    begin_sql: String,
    /// `SET LOCAL search_path …` of a schema target.
    scope_sql: Option<String>,
    /// How long a step waits for the locks (`--lock-timeout`), as `lock_timeout` milliseconds.
    lock_wait_ms: u128,
}

impl PooledPgSession {
    pub(crate) fn new(
        inner: PgSession,
        target: &ConnectionTarget,
        read_only: bool,
        lock_wait: std::time::Duration,
    ) -> PooledPgSession {
        let scope_sql = target.search_path_sql("SET LOCAL");
        let begin = if read_only { "BEGIN READ ONLY" } else { "BEGIN" };
        let begin_sql = match &scope_sql {
            Some(scope) => format!("{begin}; {scope}"),
            None => begin.to_string(),
        };
        PooledPgSession {
            inner,
            in_step: false,
            begin_sql,
            scope_sql,
            lock_wait_ms: lock_wait.as_millis().max(1),
        }
    }

    /// Runs SQL text as is, in one simple-query message.
    fn raw<'a>(&'a mut self, sql: &'a str) -> DbFuture<'a, ()> {
        Box::pin(async move { sqlx::Executor::execute(&mut self.inner.conn, sql).await.map(|_| ()) })
    }
}

fn end_sql(commit: bool) -> &'static str {
    if commit {
        "COMMIT"
    } else {
        "ROLLBACK"
    }
}

/// Runs `$call` (a call on `$s.inner`) inside a transaction of its own unless a step's
/// transaction is open: committed when it succeeds, rolled back when it fails.
macro_rules! in_transaction {
    ($s:ident, $call:expr) => {
        Box::pin(async move {
            if $s.in_step {
                return $call.await;
            }
            let begin = $s.begin_sql.clone();
            $s.raw(&begin).await?;
            let result = $call.await;
            let ended = $s.raw(end_sql(result.is_ok())).await;
            let value = result?;
            ended.map(|_| value)
        })
    };
}

impl Session for PooledPgSession {
    fn driver(&self) -> Driver {
        Driver::Postgres
    }

    /// Nothing to take for the run: each step's transaction locks (see the module docs).
    fn try_lock(&mut self) -> DbFuture<'_, bool> {
        Box::pin(async { Ok(true) })
    }

    fn lock_holders(&mut self) -> DbFuture<'_, Vec<i64>> {
        in_transaction!(self, self.inner.lock_holders())
    }

    /// The step's transaction holds the run lock itself (taken in `lock_step`).
    fn holds_migration_lock(&mut self) -> DbFuture<'_, bool> {
        Box::pin(async { Ok(true) })
    }

    /// Waits at most `--lock-timeout` for the run lock (a run holding it directly on the server)
    /// and the step lock, then restores the server's `lock_timeout` for the migration itself.
    fn lock_step(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async move {
            let wait = format!("SET LOCAL lock_timeout = '{}ms'", self.lock_wait_ms);
            self.raw(&wait).await?;
            for name in [&self.inner.locks.run, &self.inner.locks.step] {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .persistent(false)
                    .bind(name)
                    .execute(&mut self.inner.conn)
                    .await?;
            }
            self.raw("SET LOCAL lock_timeout = DEFAULT").await?;
            self.inner.check_schema().await
        })
    }

    fn unlock(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    fn begin(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async move {
            let begin = self.begin_sql.clone();
            self.raw(&begin).await?;
            self.in_step = true;
            Ok(())
        })
    }

    fn execute<'a>(&'a mut self, sql: &'a str) -> DbFuture<'a, ()> {
        Box::pin(async move {
            if matches!(sql, "COMMIT" | "ROLLBACK") {
                self.in_step = false;
                return self.raw(end_sql(sql == "COMMIT")).await;
            }
            match (&self.scope_sql, self.in_step) {
                // One message is one implicit transaction: SET LOCAL holds for its statements.
                (Some(scope), false) => {
                    let scoped = format!("{scope};\n{sql}");
                    self.raw(&scoped).await
                }
                _ => self.raw(sql).await,
            }
        })
    }

    fn around_file(&self) -> (&'static str, &'static str) {
        self.inner.around_file()
    }

    fn prelude_outcome(&self) -> &'static str {
        self.inner.prelude_outcome()
    }

    fn foreign_key_violations(&mut self) -> DbFuture<'_, Vec<String>> {
        self.inner.foreign_key_violations()
    }

    fn files_record_version(&self) -> bool {
        self.inner.files_record_version()
    }

    fn module_version<'a>(&'a mut self, module: &'a str) -> DbFuture<'a, Option<String>> {
        in_transaction!(self, self.inner.module_version(module))
    }

    fn modules(&mut self) -> DbFuture<'_, Vec<String>> {
        in_transaction!(self, self.inner.modules())
    }

    fn set_module_version<'a>(&'a mut self, module: &'a str, version: &'a str) -> DbFuture<'a, ()> {
        in_transaction!(self, self.inner.set_module_version(module, version))
    }

    /// Under the run lock, so concurrent first runs do not race on `CREATE TABLE IF NOT EXISTS`.
    fn ensure_history_table(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async move {
            let begin = self.begin_sql.clone();
            self.raw(&begin).await?;
            self.in_step = true;
            let result = async {
                self.lock_step().await?;
                self.inner.ensure_history_table().await
            }
            .await;
            self.execute(if result.is_ok() { "COMMIT" } else { "ROLLBACK" }).await?;
            result
        })
    }

    fn has_history_table(&mut self) -> DbFuture<'_, bool> {
        in_transaction!(self, self.inner.has_history_table())
    }

    fn background_job_states(&mut self) -> DbFuture<'_, Vec<(String, String)>> {
        in_transaction!(self, self.inner.background_job_states())
    }

    fn insert_history<'a>(&'a mut self, row: &'a NewRow) -> DbFuture<'a, i64> {
        in_transaction!(self, self.inner.insert_history(row))
    }

    fn finish_history<'a>(
        &'a mut self,
        id: i64,
        status: RunStatus,
        duration_ms: i64,
        error: Option<&'a str>,
    ) -> DbFuture<'a, ()> {
        in_transaction!(self, self.inner.finish_history(id, status, duration_ms, error))
    }

    fn record_progress<'a>(
        &'a mut self,
        id: i64,
        progress: &'a super::ProgressUpdate<'a>,
    ) -> DbFuture<'a, ()> {
        in_transaction!(self, self.inner.record_progress(id, progress))
    }

    fn delete_history(&mut self, id: i64) -> DbFuture<'_, ()> {
        in_transaction!(self, self.inner.delete_history(id))
    }

    fn interrupt_stale_runs<'a>(&'a mut self, module: &'a str) -> DbFuture<'a, ()> {
        in_transaction!(self, self.inner.interrupt_stale_runs(module))
    }

    fn history<'a>(&'a mut self, module: &'a str) -> DbFuture<'a, Vec<HistoryRow>> {
        in_transaction!(self, self.inner.history(module))
    }

    fn progress_of(&mut self, id: i64) -> DbFuture<'_, Option<i64>> {
        in_transaction!(self, self.inner.progress_of(id))
    }

    fn current_applied_rows<'a>(&'a mut self, module: &'a str, version: &'a str) -> DbFuture<'a, i64> {
        in_transaction!(self, self.inner.current_applied_rows(module, version))
    }

    fn close(self: Box<Self>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let this = *self;
        Box::new(this.inner).close()
    }
}
