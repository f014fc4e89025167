//! The per-driver seam of the runner, in the style of sqlx's `Migrate` trait: everything the
//! runner needs from a database (the migration lock, the history table, executing SQL, recording
//! rows and reading the installed version) is a [`Session`] method, and each driver module
//! (`postgres`, `sqlite`, `mysql`) implements it with its own SQL. The plan loop and the step
//! code see only `&mut dyn Session`; what differs between dialects is asked of
//! `strata_sql::Dialect` capabilities (`supports_transactional_ddl`), never of the driver's name.
//!
//! Session queries are unnamed prepared statements (`persistent(false)`): a named one would stay
//! on a server connection a transaction pooler shares with other clients (`pooled.rs`).
//!
//! Adding a driver: a module here implementing [`Session`], a `Driver` variant, and its arm in
//! [`open_migration_session`] / [`open_read_only_session`].

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::connection::ConnectionTarget;
use crate::history::{HistoryRow, NewRow, RunStatus};
use crate::{DbError, Driver};

mod mysql;
mod pooled;
mod postgres;
mod sqlite;

pub(crate) use mysql::MysqlSession;
pub use mysql::VERSION_TABLE as MYSQL_VERSION_TABLE;
pub(crate) use postgres::{PgSession, LOCK_HOLDERS_SQL as PG_LOCK_HOLDERS_SQL, SPELLING as PG_SPELLING};
pub(crate) use sqlite::{SqliteSession, SPELLING as SQLITE_SPELLING};

/// A driver call in flight (boxed so `Session` stays object safe).
pub(crate) type DbFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'a>>;

/// Per-statement progress of an attempt, as recorded in its history row.
pub(crate) struct ProgressUpdate<'a> {
    pub done: i64,
    pub checksums: &'a str,
    pub failed: Option<i64>,
    pub error: Option<&'a str>,
}

/// One open connection to the database being migrated, seen through its driver.
pub(crate) trait Session: Send {
    fn driver(&self) -> Driver;
    /// The dialect of the engine behind the driver: what the step code asks capabilities of.
    fn dialect(&self) -> &'static dyn strata_sql::Dialect {
        self.driver().dialect()
    }

    // ---- the migration lock ----------------------------------------------------------------

    /// Tries once to take the run-wide migration lock on this connection.
    fn try_lock(&mut self) -> DbFuture<'_, bool>;
    /// Who holds the migration lock (server connection / backend ids), for messages.
    fn lock_holders(&mut self) -> DbFuture<'_, Vec<i64>>;
    /// True when this session still holds the migration lock (SQLite: its write lock is the
    /// transaction itself, so always true).
    fn holds_migration_lock(&mut self) -> DbFuture<'_, bool>;
    /// Inside a step's transaction: a lock that serialises step transactions even between runs
    /// that do not hold the run lock (PostgreSQL); a no-op where `begin` already did it.
    fn lock_step(&mut self) -> DbFuture<'_, ()>;
    /// The error for a lock wait that timed out, when this session's lock has more to say than
    /// the holders' ids (a lease names its holder and its expiry).
    fn lock_timeout_error(
        &mut self,
        waited: Duration,
    ) -> Pin<Box<dyn Future<Output = Option<DbError>> + Send + '_>> {
        let _ = waited;
        Box::pin(async { None })
    }
    /// Releases the migration lock (best effort: closing the connection releases it too).
    fn unlock(&mut self) -> DbFuture<'_, ()>;
    /// Starts a write transaction (SQLite: `BEGIN IMMEDIATE`, its write lock).
    fn begin(&mut self) -> DbFuture<'_, ()>;

    // ---- executing files ------------------------------------------------------------------

    /// Runs SQL text as is (one or more statements).
    fn execute<'a>(&'a mut self, sql: &'a str) -> DbFuture<'a, ()>;
    /// Statements the runner adds before a file's prelude and after its postlude (SQLite: foreign
    /// keys off around a table rebuild, as Serverpod's own runner does).
    fn around_file(&self) -> (&'static str, &'static str);
    /// What a failed prelude (the statements before `BEGIN;`) left behind, for the error.
    fn prelude_outcome(&self) -> &'static str;
    /// Rows violating foreign keys (SQLite, after a file turned them off for a rebuild).
    fn foreign_key_violations(&mut self) -> DbFuture<'_, Vec<String>>;

    // ---- the installed version -------------------------------------------------------------

    /// Whether the files of this driver write their own version into `serverpod_migrations`
    /// (Serverpod's PostgreSQL and SQLite files do). Where they do not, the runner records it.
    fn files_record_version(&self) -> bool;
    /// `module`'s installed version (None: no row, or no version table yet).
    fn module_version<'a>(&'a mut self, module: &'a str) -> DbFuture<'a, Option<String>>;
    /// Every module with an installed version, sorted.
    fn modules(&mut self) -> DbFuture<'_, Vec<String>>;
    /// Sets `module`'s installed version (its row must exist unless the runner records versions).
    fn set_module_version<'a>(&'a mut self, module: &'a str, version: &'a str) -> DbFuture<'a, ()>;

    // ---- the history table ----------------------------------------------------------------

    /// Creates the history table (and the runner's version table where files do not record
    /// versions), or adds the columns a newer strata needs to an older one.
    fn ensure_history_table(&mut self) -> DbFuture<'_, ()>;
    /// Whether the history table exists.
    fn has_history_table(&mut self) -> DbFuture<'_, bool>;
    /// Every background job's name and stored state (`crate::background`), by name; empty
    /// without a job table.
    fn background_job_states(&mut self) -> DbFuture<'_, Vec<(String, String)>>;
    /// Inserts a row and returns its id.
    fn insert_history<'a>(&'a mut self, row: &'a NewRow) -> DbFuture<'a, i64>;
    /// Records the outcome of the `running` row `id`.
    fn finish_history<'a>(
        &'a mut self,
        id: i64,
        status: RunStatus,
        duration_ms: i64,
        error: Option<&'a str>,
    ) -> DbFuture<'a, ()>;
    /// Records how far the statement-by-statement attempt `id` got.
    fn record_progress<'a>(&'a mut self, id: i64, progress: &'a ProgressUpdate<'a>) -> DbFuture<'a, ()>;
    fn delete_history(&mut self, id: i64) -> DbFuture<'_, ()>;
    /// Marks attempts left `running` by runs that died as interrupted (call under the lock).
    fn interrupt_stale_runs<'a>(&'a mut self, module: &'a str) -> DbFuture<'a, ()>;
    /// Every row of `module` and of the repair module, oldest first.
    fn history<'a>(&'a mut self, module: &'a str) -> DbFuture<'a, Vec<HistoryRow>>;
    /// The progress recorded in the row `id` (statement-by-statement attempts).
    fn progress_of(&mut self, id: i64) -> DbFuture<'_, Option<i64>>;
    /// How many rows say `version` of `module` is applied now (`ok`/`baseline`, not undone by
    /// a later repair or rollback).
    fn current_applied_rows<'a>(&'a mut self, module: &'a str, version: &'a str) -> DbFuture<'a, i64>;

    /// Closes the connection (releasing any session lock with it).
    fn close(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// Binds a [`NewRow`]'s 15 insert parameters in `history::insert_sql` order.
macro_rules! bind_new_row {
    ($query:expr, $row:expr, $dialect:expr) => {
        $query
            .bind(&$row.module)
            .bind(&$row.version)
            .bind($row.kind.as_str())
            .bind($dialect)
            .bind(&$row.checksum)
            .bind($row.status.as_str())
            .bind(&$row.started_at)
            .bind(&$row.finished_at)
            .bind($row.duration_ms)
            .bind(&$row.error)
            .bind(&$row.covered_by)
            .bind(&$row.previous_checksum)
            .bind(env!("CARGO_PKG_VERSION"))
            .bind(&$row.runner)
            .bind($row.statement_count)
    };
}
pub(crate) use bind_new_row;

/// The history methods whose SQL differs between drivers only in its [`crate::history::Spelling`]
/// (each driver's `SPELLING`); expanded inside each `impl Session`, whose `self.conn` is the sqlx
/// connection.
macro_rules! spelled_history_methods {
    () => {
        fn finish_history<'a>(
            &'a mut self,
            id: i64,
            status: crate::history::RunStatus,
            duration_ms: i64,
            error: Option<&'a str>,
        ) -> crate::session::DbFuture<'a, ()> {
            Box::pin(async move {
                let sql = crate::history::finish_sql(&SPELLING);
                let now = crate::timefmt::now_utc();
                sqlx::query(&sql)
                    .persistent(false)
                    .bind(status.as_str())
                    .bind(&now)
                    .bind(duration_ms)
                    .bind(error)
                    .bind(id)
                    .execute(&mut self.conn)
                    .await
                    .map(|_| ())
            })
        }

        fn record_progress<'a>(
            &'a mut self,
            id: i64,
            progress: &'a crate::session::ProgressUpdate<'a>,
        ) -> crate::session::DbFuture<'a, ()> {
            Box::pin(async move {
                let sql = crate::history::progress_sql(&SPELLING);
                sqlx::query(&sql)
                    .persistent(false)
                    .bind(progress.done)
                    .bind(progress.checksums)
                    .bind(progress.failed)
                    .bind(progress.error)
                    .bind(id)
                    .execute(&mut self.conn)
                    .await
                    .map(|_| ())
            })
        }

        fn progress_of(&mut self, id: i64) -> crate::session::DbFuture<'_, Option<i64>> {
            Box::pin(async move {
                let t = (SPELLING.quote)(crate::history::HISTORY_TABLE);
                let sql = format!(
                    "SELECT {} FROM {t} WHERE {} = {}",
                    (SPELLING.quote)("statements_done"),
                    (SPELLING.quote)("id"),
                    (SPELLING.param)(1)
                );
                let found: Option<Option<i64>> = sqlx::query_scalar(&sql)
                    .persistent(false)
                    .bind(id)
                    .fetch_optional(&mut self.conn)
                    .await?;
                Ok(found.flatten())
            })
        }

        fn delete_history(&mut self, id: i64) -> crate::session::DbFuture<'_, ()> {
            Box::pin(async move {
                let sql = crate::history::delete_sql(&SPELLING);
                sqlx::query(&sql).persistent(false).bind(id).execute(&mut self.conn).await.map(|_| ())
            })
        }

        fn interrupt_stale_runs<'a>(&'a mut self, module: &'a str) -> crate::session::DbFuture<'a, ()> {
            Box::pin(async move {
                let sql = crate::history::interrupt_sql(&SPELLING);
                sqlx::query(&sql)
                    .persistent(false)
                    .bind(module)
                    .bind(crate::REPAIR_MODULE)
                    .execute(&mut self.conn)
                    .await
                    .map(|_| ())
            })
        }

        fn history<'a>(
            &'a mut self,
            module: &'a str,
        ) -> crate::session::DbFuture<'a, Vec<crate::history::HistoryRow>> {
            Box::pin(async move {
                let sql = crate::history::select_sql(&SPELLING);
                let rows = sqlx::query(&sql)
                    .persistent(false)
                    .bind(module)
                    .bind(crate::REPAIR_MODULE)
                    .fetch_all(&mut self.conn)
                    .await?;
                rows.iter()
                    .map(|row| {
                        use sqlx::Row;
                        let g = |i: usize| row.try_get::<Option<String>, _>(i);
                        let n = |i: usize| row.try_get::<Option<i64>, _>(i);
                        let s = |i: usize| row.try_get::<String, _>(i);
                        let raw = (
                            row.try_get::<i64, _>(0)?,
                            s(1)?,
                            s(2)?,
                            s(3)?,
                            s(4)?,
                            g(5)?,
                            s(6)?,
                            s(7)?,
                            g(8)?,
                            n(9)?,
                            g(10)?,
                            g(11)?,
                            g(12)?,
                            g(13)?,
                        );
                        crate::history::decode(raw, (n(14)?, n(15)?, g(16)?, n(17)?))
                    })
                    .collect()
            })
        }

        fn current_applied_rows<'a>(
            &'a mut self,
            module: &'a str,
            version: &'a str,
        ) -> crate::session::DbFuture<'a, i64> {
            Box::pin(async move {
                let sql = crate::history::current_applied_sql(&SPELLING);
                sqlx::query_scalar(&sql)
                    .persistent(false)
                    .bind(module)
                    .bind(version)
                    .bind(crate::REPAIR_MODULE)
                    .bind(module)
                    .fetch_one(&mut self.conn)
                    .await
            })
        }

        fn execute<'a>(&'a mut self, sql: &'a str) -> crate::session::DbFuture<'a, ()> {
            Box::pin(async move { sqlx::Executor::execute(&mut self.conn, sql).await.map(|_| ()) })
        }

        fn close(self: Box<Self>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
            Box::pin(async move {
                use sqlx::Connection;
                let _ = self.conn.close().await;
            })
        }
    };
}
pub(crate) use spelled_history_methods;

/// The methods PostgreSQL and SQLite share: installed versions in Serverpod's
/// `serverpod_migrations` (which their files write themselves) and history inserts with
/// `RETURNING`; expanded inside their `impl Session`, next to a module-level
/// `table_exists(conn, name)`. `$dialect` is the history rows' dialect name.
macro_rules! serverpod_version_methods {
    ($dialect:literal) => {
        fn has_history_table(&mut self) -> crate::session::DbFuture<'_, bool> {
            Box::pin(table_exists(&mut self.conn, crate::history::HISTORY_TABLE))
        }

        fn background_job_states(&mut self) -> crate::session::DbFuture<'_, Vec<(String, String)>> {
            Box::pin(async move {
                if !table_exists(&mut self.conn, crate::background::JOBS_TABLE).await? {
                    return Ok(Vec::new());
                }
                let sql = crate::background::states_sql(&SPELLING);
                sqlx::query_as(&sql).persistent(false).fetch_all(&mut self.conn).await
            })
        }

        fn insert_history<'a>(
            &'a mut self,
            row: &'a crate::history::NewRow,
        ) -> crate::session::DbFuture<'a, i64> {
            Box::pin(async move {
                let sql =
                    format!("{} RETURNING {}", crate::history::insert_sql(&SPELLING), (SPELLING.quote)("id"));
                crate::session::bind_new_row!(sqlx::query_scalar(&sql).persistent(false), row, $dialect)
                    .fetch_one(&mut self.conn)
                    .await
            })
        }

        fn files_record_version(&self) -> bool {
            true
        }

        fn module_version<'a>(&'a mut self, module: &'a str) -> crate::session::DbFuture<'a, Option<String>> {
            Box::pin(async move {
                if !table_exists(&mut self.conn, crate::runner::SERVERPOD_MIGRATIONS).await? {
                    return Ok(None);
                }
                let q = SPELLING.quote;
                let sql = format!(
                    "SELECT {} FROM {} WHERE {} = {}",
                    q("version"),
                    q(crate::runner::SERVERPOD_MIGRATIONS),
                    q("module"),
                    (SPELLING.param)(1)
                );
                sqlx::query_scalar(&sql).persistent(false).bind(module).fetch_optional(&mut self.conn).await
            })
        }

        fn modules(&mut self) -> crate::session::DbFuture<'_, Vec<String>> {
            Box::pin(async move {
                if !table_exists(&mut self.conn, crate::runner::SERVERPOD_MIGRATIONS).await? {
                    return Ok(Vec::new());
                }
                let q = SPELLING.quote;
                let sql = format!(
                    "SELECT {m} FROM {t} ORDER BY {m}",
                    m = q("module"),
                    t = q(crate::runner::SERVERPOD_MIGRATIONS)
                );
                sqlx::query_scalar(&sql).persistent(false).fetch_all(&mut self.conn).await
            })
        }

        /// Only moves an existing row: the file's own upsert created it.
        fn set_module_version<'a>(
            &'a mut self,
            module: &'a str,
            version: &'a str,
        ) -> crate::session::DbFuture<'a, ()> {
            Box::pin(async move {
                let (q, p) = (SPELLING.quote, SPELLING.param);
                let sql = format!(
                    "UPDATE {} SET {} = {} WHERE {} = {}",
                    q(crate::runner::SERVERPOD_MIGRATIONS),
                    q("version"),
                    p(1),
                    q("module"),
                    p(2)
                );
                sqlx::query(&sql)
                    .persistent(false)
                    .bind(version)
                    .bind(module)
                    .execute(&mut self.conn)
                    .await
                    .map(|_| ())
            })
        }
    };
}
pub(crate) use serverpod_version_methods;

/// Connects for a run and takes the migration lock, polling until `timeout`. The lock sits on
/// the migration connection itself, so it dies with it (see `runner`'s module docs).
pub(crate) async fn open_migration_session(
    target: &ConnectionTarget,
    timeout: Duration,
    observer: &mut dyn FnMut(&crate::ApplyEvent),
) -> Result<Box<dyn Session>, DbError> {
    // A lock strategy the database cannot have is refused before connecting.
    target.lock_strategy().resolve(target.driver(), target.dialect())?;
    let mut session: Box<dyn Session> = match target.driver() {
        Driver::Postgres if target.transaction_pooled() => {
            Box::new(pooled::PooledPgSession::new(PgSession::connect(target).await?, target, false, timeout))
        }
        Driver::Postgres => Box::new(PgSession::connect(target).await?),
        Driver::Sqlite => {
            let conn = target.connect_sqlite_with(timeout, false).await?;
            return Ok(Box::new(SqliteSession { conn }));
        }
        Driver::Mysql => Box::new(MysqlSession::connect(target).await?),
    };
    match poll_lock(session.as_mut(), target, timeout, observer).await {
        Ok(()) => Ok(session),
        Err(e) => {
            session.close().await;
            Err(e)
        }
    }
}

/// Opens a connection for reading only. `None` when the SQLite file does not exist yet (a fresh
/// database; a dry run or status must not create it).
pub(crate) async fn open_read_only_session(
    target: &ConnectionTarget,
    timeout: Duration,
) -> Result<Option<Box<dyn Session>>, DbError> {
    Ok(Some(match target.driver() {
        Driver::Postgres if target.transaction_pooled() => Box::new(pooled::PooledPgSession::new(
            PgSession::connect_read_only(target).await?,
            target,
            true,
            timeout,
        )),
        Driver::Postgres => Box::new(PgSession::connect_read_only(target).await?),
        Driver::Sqlite => {
            if !target.sqlite_path().is_some_and(|p| p.exists()) {
                return Ok(None);
            }
            Box::new(SqliteSession { conn: target.connect_sqlite_with(timeout, true).await? })
        }
        Driver::Mysql => Box::new(MysqlSession::connect_read_only(target).await?),
    }))
}

/// Takes the migration lock, polling every 100 ms until `timeout`. Polling (never a blocking
/// lock call) means a waiter holds no lock queue entry, and a timeout can name the holder.
async fn poll_lock(
    session: &mut dyn Session,
    target: &ConnectionTarget,
    timeout: Duration,
    observer: &mut dyn FnMut(&crate::ApplyEvent),
) -> Result<(), DbError> {
    let start = std::time::Instant::now();
    let mut announced = false;
    loop {
        let got = session.try_lock().await.map_err(|e| target.sql_error("taking the migration lock", &e))?;
        if got {
            // A transaction pooler may run the next statement on another server connection,
            // leaving the session lock behind on this one: refuse before anything runs.
            if !session
                .holds_migration_lock()
                .await
                .map_err(|e| target.sql_error("checking the migration lock", &e))?
            {
                return Err(DbError::LockNotKept { target: target.redacted().to_string() });
            }
            if announced {
                observer(&crate::ApplyEvent::LockAcquired { waited: start.elapsed() });
            }
            return Ok(());
        }
        let waited = start.elapsed();
        if waited >= timeout {
            if let Some(e) = session.lock_timeout_error(timeout).await {
                return Err(e);
            }
            let holders = session.lock_holders().await.unwrap_or_default();
            return Err(DbError::LockTimeout { waited: timeout, holders, driver: session.driver() });
        }
        if !announced {
            let holders = session.lock_holders().await.unwrap_or_default();
            observer(&crate::ApplyEvent::LockWaiting { holders: &holders });
            announced = true;
        }
        let nap = Duration::from_millis(100).min(timeout.saturating_sub(waited));
        tokio::time::sleep(nap).await;
    }
}
