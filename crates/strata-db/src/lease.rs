//! The migration lock for engines without session advisory locks (CockroachDB's
//! `pg_advisory_lock` is a no-op stub; YugabyteDB's arrived late, behind a flag): a lease row
//! with an expiry and a fencing token, chosen by `strata_sql::Dialect::supports_advisory_locks`
//! (or forced with `--lock-strategy lease`).
//!
//! * **Taking it.** In one short transaction, the row `strata_migration_lease(name)` is locked
//!   with `FOR UPDATE NOWAIT` (a busy row means "held": poll again, never queue), and taken when
//!   it is free or its `expires_at` has passed: `holder` becomes this run, `fence` goes up by one.
//! * **Keeping it.** A heartbeat task on its own connection pushes `expires_at` forward every
//!   third of the TTL, only while `holder` and `fence` are still ours. A holder that dies stops
//!   renewing, so the next run takes over at most one TTL later: a killed run never blocks
//!   forever.
//! * **Fencing.** Every step transaction locks the row first (`lock_step`: `FOR UPDATE`) and,
//!   before it records anything, checks that `holder` and `fence` are still ours while renewing
//!   the expiry (`holds_migration_lock`). A run whose lease was taken over therefore rolls back
//!   instead of committing; and while a step holds the row, nobody can take it over, so a
//!   takeover always happens between steps and the new holder's re-check of the installed
//!   version and history (inside its own step transaction) sees everything the old one
//!   committed. Each migration runs exactly once.
//!
//! What the lease cannot do that a session lock does: a statement that commits itself (DDL on
//! an engine without transactional DDL) is only fenced by the checks around it, as on MySQL.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgConnection;

use crate::connection::ConnectionTarget;
use crate::session::DbFuture;
use crate::{quote_ident, DbError, Driver};

/// The lease table (one row per lock name).
pub const LEASE_TABLE: &str = "strata_migration_lease";

/// How long a lease lasts without a heartbeat when `--lease-ttl` does not say.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);

/// SQLSTATE of `FOR UPDATE NOWAIT` on a locked row (PostgreSQL, CockroachDB, YugabyteDB).
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// How runs on one database exclude each other (`apply --lock-strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockStrategy {
    /// The dialect decides: a session advisory lock where it has one, else a lease of
    /// `lease_ttl`.
    Auto { lease_ttl: Duration },
    /// The session advisory lock (refused on a dialect without real advisory locks).
    Advisory,
    /// A lease row with an expiry and a fencing token.
    Lease { ttl: Duration },
}

impl Default for LockStrategy {
    fn default() -> Self {
        LockStrategy::Auto { lease_ttl: DEFAULT_LEASE_TTL }
    }
}

impl LockStrategy {
    /// The lease TTL to use on a PostgreSQL-protocol database of `dialect`, `None` for its
    /// session lock. SQLite keeps its file lock and MySQL its `GET_LOCK` (`Auto` and
    /// `Advisory`); a lease there is refused.
    pub fn resolve(
        self,
        driver: Driver,
        dialect: &dyn strata_sql::Dialect,
    ) -> Result<Option<Duration>, DbError> {
        let lease = |ttl: Duration| match driver {
            Driver::Postgres if !ttl.is_zero() => Ok(Some(ttl)),
            Driver::Postgres => Err(DbError::InvalidLockStrategy("a lease TTL of 0 would never hold".into())),
            other => Err(DbError::InvalidLockStrategy(format!(
                "--lock-strategy lease needs a PostgreSQL-protocol database; {other} keeps its own lock"
            ))),
        };
        match self {
            LockStrategy::Lease { ttl } => lease(ttl),
            LockStrategy::Auto { lease_ttl } if driver == Driver::Postgres && !dialect.supports_advisory_locks() => {
                lease(lease_ttl)
            }
            LockStrategy::Advisory if driver == Driver::Postgres && !dialect.supports_advisory_locks() => {
                Err(DbError::InvalidLockStrategy(format!(
                    "{} has no session advisory locks (a pg_advisory_lock there would not exclude anyone); use \
                     --lock-strategy lease (the default for it)",
                    dialect.name()
                )))
            }
            LockStrategy::Auto { .. } | LockStrategy::Advisory => Ok(None),
        }
    }
}

/// This run's lease on one database.
pub(crate) struct Lease {
    holder: String,
    ttl: Duration,
    fence: Option<i64>,
    table_ready: bool,
    /// Set by the heartbeat when the row is no longer ours.
    lost: Arc<AtomicBool>,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
    target: ConnectionTarget,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop_heartbeat();
    }
}

fn table() -> String {
    quote_ident(LEASE_TABLE)
}

/// `clock_timestamp()` plus `$n` milliseconds (wall clock, not the transaction's start).
fn expiry(param: usize) -> String {
    format!("clock_timestamp() + ${param}::float8 * interval '1 millisecond'")
}

fn create_sql() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\"name\" text PRIMARY KEY, \"holder\" text NOT NULL DEFAULT '', \
         \"fence\" bigint NOT NULL DEFAULT 0, \"holder_pid\" bigint, \"acquired_at\" timestamptz, \
         \"expires_at\" timestamptz)",
        table()
    )
}

fn is_code(e: &sqlx::Error, code: &str) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some(code))
}

impl Lease {
    /// A lease of `ttl` for the run this process makes (not taken yet).
    pub(crate) fn new(target: &ConnectionTarget, ttl: Duration) -> Lease {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        Lease {
            holder: format!("{} #{nanos}", crate::runlock::this_runner()),
            ttl,
            fence: None,
            table_ready: false,
            lost: Arc::new(AtomicBool::new(false)),
            heartbeat: None,
            target: target.clone(),
        }
    }

    fn ttl_ms(&self) -> f64 {
        self.ttl.as_millis() as f64
    }

    /// Creates the table once per run. Two runs creating it at once can collide in the catalog
    /// (a unique violation): the loser's retry finds it.
    fn ensure_table<'a>(&'a mut self, c: &'a mut PgConnection) -> DbFuture<'a, ()> {
        Box::pin(async move {
            if self.table_ready {
                return Ok(());
            }
            let sql = create_sql();
            if let Err(e) = sqlx::Executor::execute(&mut *c, sql.as_str()).await {
                if !(is_code(&e, "23505") || is_code(&e, "42P07")) {
                    return Err(e);
                }
                sqlx::Executor::execute(&mut *c, sql.as_str()).await?;
            }
            self.table_ready = true;
            Ok(())
        })
    }

    /// Tries once: takes the lease if it is free or expired. Never waits on the row.
    pub(crate) fn try_take<'a>(&'a mut self, c: &'a mut PgConnection) -> DbFuture<'a, bool> {
        Box::pin(async move {
            self.ensure_table(c).await?;
            let seed =
                format!("INSERT INTO {} (\"name\") VALUES ($1) ON CONFLICT (\"name\") DO NOTHING", table());
            sqlx::query(&seed).bind(crate::runner::LOCK_NAME).execute(&mut *c).await?;
            sqlx::Executor::execute(&mut *c, "BEGIN").await?;
            let taken = self.take_in_transaction(c).await;
            let end = if matches!(taken, Ok(Some(_))) { "COMMIT" } else { "ROLLBACK" };
            let ended = sqlx::Executor::execute(&mut *c, end).await;
            match taken {
                Ok(Some(fence)) => {
                    ended?;
                    self.fence = Some(fence);
                    self.lost.store(false, Ordering::SeqCst);
                    self.start_heartbeat(fence);
                    Ok(true)
                }
                Ok(None) => Ok(false),
                Err(e) if is_code(&e, LOCK_NOT_AVAILABLE) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    /// Inside `try_take`'s transaction: the new fence when the row was free or expired.
    fn take_in_transaction<'a>(&'a self, c: &'a mut PgConnection) -> DbFuture<'a, Option<i64>> {
        Box::pin(async move {
            let read = format!(
                "SELECT \"holder\", \"expires_at\" IS NULL OR \"expires_at\" <= clock_timestamp() FROM {} \
                 WHERE \"name\" = $1 FOR UPDATE NOWAIT",
                table()
            );
            let (holder, expired): (String, bool) =
                sqlx::query_as(&read).bind(crate::runner::LOCK_NAME).fetch_one(&mut *c).await?;
            if !expired && holder != self.holder {
                return Ok(None);
            }
            let take = format!(
                "UPDATE {} SET \"holder\" = $2, \"fence\" = \"fence\" + 1, \"holder_pid\" = pg_backend_pid(), \
                 \"acquired_at\" = clock_timestamp(), \"expires_at\" = {} WHERE \"name\" = $1 RETURNING \"fence\"",
                table(),
                expiry(3)
            );
            let fence: i64 = sqlx::query_scalar(&take)
                .bind(crate::runner::LOCK_NAME)
                .bind(&self.holder)
                .bind(self.ttl_ms())
                .fetch_one(&mut *c)
                .await?;
            Ok(Some(fence))
        })
    }

    /// Renews the expiry every third of the TTL on a connection of its own, while the row is
    /// still ours; flags the loss otherwise. Connection errors are retried: a lease that runs out
    /// meanwhile is still ours unless someone took it (the fence says).
    fn start_heartbeat(&mut self, fence: i64) {
        self.stop_heartbeat();
        let (target, holder, lost) = (self.target.clone(), self.holder.clone(), self.lost.clone());
        let (ttl, ttl_ms) = (self.ttl, self.ttl_ms());
        self.heartbeat = Some(tokio::spawn(async move {
            let mut conn: Option<PgConnection> = None;
            loop {
                tokio::time::sleep(ttl / 3).await;
                if conn.is_none() {
                    conn = target.connect_postgres("strata lease heartbeat").await.ok();
                }
                let Some(c) = conn.as_mut() else { continue };
                match renew(c, &holder, fence, ttl_ms).await {
                    Ok(true) => {}
                    Ok(false) => {
                        lost.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(_) => conn = None,
                }
            }
        }));
    }

    /// Inside a step transaction: still ours (holder and fence), renewing the expiry and keeping
    /// the row locked until the transaction ends, so no takeover can slip in before it commits.
    pub(crate) fn holds<'a>(&'a mut self, c: &'a mut PgConnection) -> DbFuture<'a, bool> {
        Box::pin(async move {
            let Some(fence) = self.fence else { return Ok(false) };
            if self.lost.load(Ordering::SeqCst) {
                return Ok(false);
            }
            renew(c, &self.holder, fence, self.ttl_ms()).await
        })
    }

    /// First thing in a step transaction: the lease row, locked until the transaction ends
    /// (steps of every run serialise on it, as on PostgreSQL's transaction-scoped lock).
    pub(crate) fn lock_step<'a>(&'a mut self, c: &'a mut PgConnection) -> DbFuture<'a, ()> {
        Box::pin(async move {
            self.ensure_table(c).await?;
            let sql = format!("SELECT 1 FROM {} WHERE \"name\" = $1 FOR UPDATE", table());
            sqlx::query(&sql).bind(crate::runner::LOCK_NAME).fetch_optional(&mut *c).await.map(|_| ())
        })
    }

    /// The backend pid of the migration connection holding an unexpired lease (for "waiting for
    /// …" messages and `status`, which call it a backend pid as for the advisory lock).
    pub(crate) fn holders<'a>(&'a mut self, c: &'a mut PgConnection) -> DbFuture<'a, Vec<i64>> {
        Box::pin(async move { Ok(self.describe(c).await?.map(|(pid, _, _)| vec![pid]).unwrap_or_default()) })
    }

    /// The live holder's backend pid, name and seconds until its lease expires.
    #[allow(clippy::type_complexity)]
    fn describe<'a>(&'a mut self, c: &'a mut PgConnection) -> DbFuture<'a, Option<(i64, String, f64)>> {
        Box::pin(async move {
            let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                .bind(table())
                .fetch_one(&mut *c)
                .await?;
            if !exists {
                return Ok(None);
            }
            let sql = format!(
                "SELECT coalesce(\"holder_pid\", 0), \"holder\", \
                 EXTRACT(EPOCH FROM \"expires_at\" - clock_timestamp())::float8 FROM {} \
                 WHERE \"name\" = $1 AND \"holder\" <> '' AND \"expires_at\" > clock_timestamp()",
                table()
            );
            sqlx::query_as(&sql).bind(crate::runner::LOCK_NAME).fetch_optional(&mut *c).await
        })
    }

    /// The error for a wait that timed out, naming the holder and when its lease runs out.
    pub(crate) fn timeout_error<'a>(
        &'a mut self,
        c: &'a mut PgConnection,
        waited: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = DbError> + Send + 'a>> {
        Box::pin(async move {
            let holder = match self.describe(c).await {
                Ok(Some((_, name, secs))) => {
                    Some(format!("{name}, whose lease expires in {:.0}s", secs.max(0.0)))
                }
                _ => None,
            };
            DbError::LeaseTimeout { waited, holder }
        })
    }

    /// Stops renewing (on release, on drop, and in tests as a stalled process would).
    pub(crate) fn stop_heartbeat(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
    }

    /// Gives the lease back (best effort: an unreleased lease expires by itself).
    pub(crate) fn release<'a>(&'a mut self, c: &'a mut PgConnection) -> DbFuture<'a, ()> {
        Box::pin(async move {
            self.stop_heartbeat();
            let Some(fence) = self.fence.take() else { return Ok(()) };
            let sql = format!(
                "UPDATE {} SET \"holder\" = '', \"expires_at\" = NULL WHERE \"name\" = $1 AND \"holder\" = $2 \
                 AND \"fence\" = $3",
                table()
            );
            sqlx::query(&sql)
                .bind(crate::runner::LOCK_NAME)
                .bind(&self.holder)
                .bind(fence)
                .execute(c)
                .await
                .map(|_| ())
        })
    }
}

/// Pushes the expiry forward if `holder` still holds the lease with `fence`.
async fn renew(c: &mut PgConnection, holder: &str, fence: i64, ttl_ms: f64) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "UPDATE {} SET \"expires_at\" = {} WHERE \"name\" = $1 AND \"holder\" = $2 AND \"fence\" = $3 \
         RETURNING \"fence\"",
        table(),
        expiry(4)
    );
    let row: Option<i64> = sqlx::query_scalar(&sql)
        .bind(crate::runner::LOCK_NAME)
        .bind(holder)
        .bind(fence)
        .bind(ttl_ms)
        .fetch_optional(c)
        .await?;
    Ok(row.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(5);

    #[test]
    fn the_dialect_picks_the_lock() {
        let auto = LockStrategy::Auto { lease_ttl: TTL };
        let pick = |name: &str| auto.resolve(Driver::Postgres, crate::dialect_named(name).unwrap()).unwrap();
        assert_eq!(pick("postgres"), None, "PostgreSQL keeps its session advisory lock");
        assert_eq!(pick("citus"), None, "Citus's coordinator has advisory locks");
        assert_eq!(pick("cockroachdb"), Some(TTL));
        assert_eq!(pick("yugabytedb"), Some(TTL));
        let mysql = crate::dialect_named("mysql").unwrap();
        assert_eq!(auto.resolve(Driver::Mysql, mysql).unwrap(), None, "MySQL keeps GET_LOCK");
    }

    #[test]
    fn forced_strategies_are_checked_against_the_dialect() {
        let pg = crate::dialect_named("postgres").unwrap();
        let crdb = crate::dialect_named("cockroachdb").unwrap();
        assert_eq!(LockStrategy::Lease { ttl: TTL }.resolve(Driver::Postgres, pg).unwrap(), Some(TTL));
        let e = LockStrategy::Advisory.resolve(Driver::Postgres, crdb).unwrap_err().to_string();
        assert!(e.contains("cockroachdb has no session advisory locks"), "{e}");
        let sqlite = crate::dialect_named("sqlite").unwrap();
        let e = LockStrategy::Lease { ttl: TTL }.resolve(Driver::Sqlite, sqlite).unwrap_err().to_string();
        assert!(e.contains("needs a PostgreSQL-protocol database"), "{e}");
        let zero = LockStrategy::Lease { ttl: Duration::ZERO };
        assert!(zero.resolve(Driver::Postgres, pg).is_err());
    }
}

/// The lease against the local PostgreSQL, one connection per simulated run.
#[cfg(test)]
mod live_tests {
    use super::*;
    use crate::session::{PgSession, Session};

    async fn run(url: &str, ttl: Duration) -> PgSession {
        let project = crate::Project::with_defaults("/nonexistent", "shop", Driver::Postgres);
        let target = crate::connection::resolve_connection_with_env(&project, Some(url), None, &|_| None)
            .unwrap()
            .with_lock_strategy(LockStrategy::Lease { ttl });
        PgSession::connect(&target).await.unwrap()
    }

    /// A holder whose heartbeat stopped (a stalled process) loses the lease after its TTL, the
    /// next run takes it with a higher fence, and the old holder's fencing check fails inside its
    /// next step transaction, so it can only roll back.
    #[tokio::test]
    async fn an_expired_holder_is_fenced_out_after_a_takeover() {
        let db = strata_testdb::PgScratch::new("lease_fence");
        let ttl = Duration::from_millis(600);
        let mut old = run(&db.url, ttl).await;
        let mut new = run(&db.url, ttl).await;
        assert!(old.try_lock().await.unwrap());
        assert!(!new.try_lock().await.unwrap(), "held and unexpired");
        old.stop_heartbeat_for_test();
        tokio::time::sleep(ttl * 2).await;
        assert!(new.try_lock().await.unwrap(), "expired: taken over");

        old.begin().await.unwrap();
        old.lock_step().await.unwrap();
        assert!(!old.holds_migration_lock().await.unwrap(), "the old fence no longer matches");
        old.execute("ROLLBACK").await.unwrap();
        new.begin().await.unwrap();
        new.lock_step().await.unwrap();
        assert!(new.holds_migration_lock().await.unwrap());
        new.execute("COMMIT").await.unwrap();
        new.unlock().await.unwrap();
        Box::new(old).close().await;
        Box::new(new).close().await;
    }
}
