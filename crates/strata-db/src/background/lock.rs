//! One runner per job: PostgreSQL takes a session advisory lock keyed by the job's name on the
//! connection that runs the batches (so it dies with that connection, and with any batch it had
//! open); SQLite an OS file lock on `<database>.strata-background-<job>.lock`, which dies with the
//! process. Neither leaves anything behind after a crash.

use std::path::PathBuf;

use super::store::JobConn;
use crate::connection::ConnectionTarget;
use crate::runlock::RunLock;
use crate::DbError;

/// A held job lock; dropping it (or closing the PostgreSQL connection) releases it.
pub(crate) enum JobLock {
    /// Held by the job connection's session.
    Session,
    /// Held through this open file.
    File(#[allow(dead_code)] RunLock),
}

/// The advisory-lock name of a job; `hashtext()` of it is the key.
pub(crate) fn lock_name(job: &str) -> String {
    format!("strata_background:{job}")
}

/// The SQLite lock file of a job.
fn lock_file(target: &ConnectionTarget, job: &str) -> Option<PathBuf> {
    let db = target.sqlite_path()?;
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".strata-background-{job}.lock"));
    Some(db.with_file_name(name))
}

/// Takes the job's lock once, without waiting; None when another runner holds it.
pub(crate) async fn try_lock(
    conn: &mut JobConn,
    target: &ConnectionTarget,
    job: &str,
) -> Result<Option<JobLock>, DbError> {
    match conn {
        JobConn::Pg(c) => {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
                .bind(lock_name(job))
                .fetch_one(c)
                .await
                .map_err(|e| target.sql_error(format!("taking the lock of background job `{job}`"), &e))?;
            Ok(got.then_some(JobLock::Session))
        }
        JobConn::Sqlite(_) => {
            let path = lock_file(target, job).unwrap_or_default();
            Ok(crate::runlock::try_acquire(&path)?.map(JobLock::File))
        }
    }
}

/// Who holds the job's lock right now (None: nobody), for messages and `status`.
pub(crate) async fn holder(conn: &mut JobConn, target: &ConnectionTarget, job: &str) -> Option<String> {
    match conn {
        JobConn::Pg(c) => {
            let pids: Vec<i32> = sqlx::query_scalar(crate::session::PG_LOCK_HOLDERS_SQL)
                .bind(lock_name(job))
                .fetch_all(c)
                .await
                .ok()?;
            pids.first().map(|p| format!("backend pid {p}"))
        }
        JobConn::Sqlite(_) => crate::runlock::holder_at(&lock_file(target, job)?),
    }
}

/// Inside a batch transaction: true while this connection still holds the job's lock (a
/// session lock can be lost to `pg_advisory_unlock_all` or a pooler that swapped the session).
pub(crate) async fn still_held(conn: &mut JobConn, job: &str) -> Result<bool, sqlx::Error> {
    match conn {
        JobConn::Pg(c) => {
            let sql = format!(
                "SELECT count(*) FROM ({}) h WHERE h.pid = pg_backend_pid()",
                crate::session::PG_LOCK_HOLDERS_SQL
            );
            let n: i64 = sqlx::query_scalar(&sql).bind(lock_name(job)).fetch_one(c).await?;
            Ok(n > 0)
        }
        JobConn::Sqlite(_) => Ok(true),
    }
}
