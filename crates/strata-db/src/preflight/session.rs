//! A read-only, time-bounded session per dialect. Every query preflight runs goes through
//! [`Session::scalar`], which bounds it by the per-query timeout and turns a timeout or a
//! failure into a [`ProbeError`] (the probe's verdict becomes Unknown), never a hang.

use std::time::{Duration, Instant};

use sqlx::mysql::MySqlDatabaseError;
use sqlx::{MySqlConnection, PgConnection, SqliteConnection};

use crate::connection::{db_message, scrub_urls};
use crate::{ConnectionTarget, DbError};

/// Why one query gave no answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ProbeError {
    /// The statement timeout (or a lock wait bounded by it) fired.
    TimedOut,
    /// The query failed; the message is scrubbed of passwords.
    Failed(String),
}

/// An open preflight connection.
pub(crate) enum Session<'a> {
    Postgres { conn: PgConnection, target: &'a ConnectionTarget, timeout: Duration },
    Sqlite { conn: SqliteConnection, target: &'a ConnectionTarget, timeout: Duration },
    MySql { conn: &'a mut MySqlConnection, mariadb: bool },
}

impl<'a> Session<'a> {
    /// Opens a read-only PostgreSQL session (each query runs in its own READ ONLY transaction).
    pub async fn postgres(target: &'a ConnectionTarget, timeout: Duration) -> Result<Session<'a>, DbError> {
        let conn = target.connect_postgres("strata preflight").await?;
        Ok(Session::Postgres { conn, target, timeout })
    }

    /// Opens the SQLite file read-only with `PRAGMA query_only`; a writer's lock is waited for
    /// at most `timeout`.
    pub async fn sqlite(target: &'a ConnectionTarget, timeout: Duration) -> Result<Session<'a>, DbError> {
        if target.sqlite_path().is_some_and(|p| !p.exists()) {
            return Err(DbError::Connect {
                target: target.redacted().to_string(),
                message: "the file does not exist (preflight opens it read-only and never creates it); check the path"
                    .into(),
            });
        }
        let mut conn = target.connect_sqlite_with(timeout, true).await?;
        sqlx::raw_sql("PRAGMA query_only = ON")
            .execute(&mut conn)
            .await
            .map_err(|e| target.sql_error("making the preflight connection read-only", &e))?;
        Ok(Session::Sqlite { conn, target, timeout })
    }

    /// Makes the caller's MySQL/MariaDB session read-only with a statement timeout (MariaDB
    /// `max_statement_time`, MySQL `MAX_EXECUTION_TIME`) and a metadata-lock wait bound.
    /// [`Session::finish`] puts the session back.
    pub async fn mysql(conn: &'a mut MySqlConnection, timeout: Duration) -> Result<Session<'a>, DbError> {
        let err = |e: sqlx::Error| DbError::Sql {
            context: "preparing the read-only preflight session".into(),
            message: scrub_urls(&db_message(&e)),
        };
        let version: String =
            sqlx::query_scalar("SELECT VERSION()").fetch_one(&mut *conn).await.map_err(err)?;
        let mariadb = version.contains("MariaDB");
        let limit = if mariadb {
            format!("SET SESSION max_statement_time = {:.3}", timeout.as_secs_f64())
        } else {
            format!("SET SESSION MAX_EXECUTION_TIME = {}", timeout.as_millis().max(1))
        };
        let lock_wait = format!("SET SESSION lock_wait_timeout = {}", timeout.as_secs().max(1));
        for sql in ["SET SESSION TRANSACTION READ ONLY", limit.as_str(), lock_wait.as_str()] {
            sqlx::raw_sql(sql).execute(&mut *conn).await.map_err(err)?;
        }
        Ok(Session::MySql { conn, mariadb })
    }

    /// Closes what this session opened, or restores the caller's MySQL session.
    pub async fn finish(self) {
        use sqlx::Connection as _;
        match self {
            Session::Postgres { conn, .. } => {
                let _ = conn.close().await;
            }
            Session::Sqlite { conn, .. } => {
                let _ = conn.close().await;
            }
            Session::MySql { conn, mariadb } => {
                let limit = if mariadb {
                    "SET SESSION max_statement_time = DEFAULT"
                } else {
                    "SET SESSION MAX_EXECUTION_TIME = DEFAULT"
                };
                for sql in
                    ["SET SESSION TRANSACTION READ WRITE", limit, "SET SESSION lock_wait_timeout = DEFAULT"]
                {
                    let _ = sqlx::raw_sql(sql).execute(&mut *conn).await;
                }
            }
        }
    }

    /// Runs one query returning one integer (or NULL, or no row: `None`), read-only and
    /// bounded by the timeout. `binds` are text values.
    pub async fn scalar(&mut self, sql: &str, binds: &[String]) -> Result<Option<i64>, ProbeError> {
        match self {
            Session::Postgres { conn, target, timeout } => {
                pg_scalar(conn, target, *timeout, sql, binds).await
            }
            Session::Sqlite { conn, target, timeout } => {
                sqlite_scalar(conn, target, *timeout, sql, binds).await
            }
            Session::MySql { conn, .. } => {
                let mut query = sqlx::query_scalar::<_, Option<i64>>(sql);
                for b in binds {
                    query = query.bind(b.as_str());
                }
                query
                    .fetch_optional(&mut **conn)
                    .await
                    .map(Option::flatten)
                    .map_err(|e| classify(mysql_timed_out(&e), || scrub_urls(&db_message(&e))))
            }
        }
    }
}

/// One query in its own `READ ONLY` transaction with `SET LOCAL statement_timeout`; the
/// transaction is rolled back whatever happens, so a failed probe does not poison the next.
async fn pg_scalar(
    conn: &mut PgConnection,
    target: &ConnectionTarget,
    timeout: Duration,
    sql: &str,
    binds: &[String],
) -> Result<Option<i64>, ProbeError> {
    let setup =
        format!("BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = {}", timeout.as_millis().max(1));
    let fail = |e: &sqlx::Error| {
        // 57014 query_canceled (statement_timeout), 55P03 lock_not_available.
        let timed_out = matches!(db_code(e).as_deref(), Some("57014") | Some("55P03"));
        classify(timed_out, || target.sanitize(&db_message(e)))
    };
    if let Err(e) = sqlx::raw_sql(&setup).execute(&mut *conn).await {
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
        return Err(fail(&e));
    }
    let mut query = sqlx::query_scalar::<_, Option<i64>>(sql);
    for b in binds {
        query = query.bind(b.as_str());
    }
    let result = query.fetch_optional(&mut *conn).await;
    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
    result.map(Option::flatten).map_err(|e| fail(&e))
}

/// One query with a progress handler that interrupts it at the deadline (SQLite has no
/// statement timeout); a writer's lock is bounded by the busy timeout.
async fn sqlite_scalar(
    conn: &mut SqliteConnection,
    target: &ConnectionTarget,
    timeout: Duration,
    sql: &str,
    binds: &[String],
) -> Result<Option<i64>, ProbeError> {
    let failed = |e: &sqlx::Error| ProbeError::Failed(target.sanitize(&db_message(e)));
    let deadline = Instant::now() + timeout;
    conn.lock_handle()
        .await
        .map_err(|e| failed(&e))?
        .set_progress_handler(1000, move || Instant::now() < deadline);
    let mut query = sqlx::query_scalar::<_, Option<i64>>(sql);
    for b in binds {
        query = query.bind(b.as_str());
    }
    let result = query.fetch_optional(&mut *conn).await;
    if let Ok(mut handle) = conn.lock_handle().await {
        handle.remove_progress_handler();
    }
    result.map(Option::flatten).map_err(|e| {
        // SQLITE_BUSY (5) after the busy timeout, SQLITE_INTERRUPT (9) from the handler.
        let primary = db_code(&e).and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff);
        classify(matches!(primary, Some(5) | Some(9)), || target.sanitize(&db_message(&e)))
    })
}

/// MariaDB 1969 (max_statement_time), MySQL 3024 (MAX_EXECUTION_TIME), 1205 (lock wait),
/// 1317 (interrupted).
fn mysql_timed_out(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.try_downcast_ref::<MySqlDatabaseError>())
        .is_some_and(|m| matches!(m.number(), 1969 | 3024 | 1205 | 1317))
}

fn db_code(e: &sqlx::Error) -> Option<String> {
    e.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned())
}

fn classify(timed_out: bool, message: impl FnOnce() -> String) -> ProbeError {
    if timed_out {
        ProbeError::TimedOut
    } else {
        ProbeError::Failed(message())
    }
}
