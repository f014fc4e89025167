//! PostgreSQL: Serverpod's session advisory lock, `$n` parameters, `timestamptz` history.

use sqlx::PgConnection;

use super::{serverpod_version_methods, spelled_history_methods, DbFuture, Session};
use crate::connection::ConnectionTarget;
use crate::history::{self, Spelling};
use crate::lease::Lease;
use crate::runner::{LOCK_NAME, STEP_LOCK_NAME};
use crate::{quote_ident, DbError, Driver};

pub(crate) const SPELLING: Spelling = Spelling {
    param: |n| format!("${n}"),
    quote: quote_ident,
    id_column: "bigserial PRIMARY KEY",
    key_text: "text",
    timestamp: "timestamptz",
    integer: "bigint",
    ts_in: |p| format!("({p}::timestamp AT TIME ZONE 'UTC')"),
    ts_out: |c| format!("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')"),
    concat: history::concat_pipes,
};

/// Selects the backend pids holding the migration lock in this database (`$1`: [`LOCK_NAME`]).
pub(crate) const LOCK_HOLDERS_SQL: &str = "WITH k AS (SELECT hashtext($1)::bigint AS key) \
     SELECT l.pid FROM pg_locks l, k \
     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
       AND l.classid::bigint = ((k.key >> 32) & 4294967295) AND l.objid::bigint = (k.key & 4294967295) \
     ORDER BY l.pid";

pub(crate) struct PgSession {
    pub(crate) conn: PgConnection,
    /// The engine behind the connection (PostgreSQL, or CockroachDB, YugabyteDB, Citus).
    dialect: &'static dyn strata_sql::Dialect,
    /// The lease lock, for engines without session advisory locks (`crate::lease`).
    lease: Option<Lease>,
    /// The names whose `hashtext()` are this target's lock keys.
    pub(crate) locks: LockNames,
    /// A schema target's schema: every step transaction checks it is `current_schema()`.
    pub(crate) schema: Option<String>,
}

/// The advisory-lock names of one target. A database's own are Serverpod's; a tenant schema's
/// carry the schema, so tenants in one database neither block each other nor share a lock.
pub(crate) struct LockNames {
    pub(crate) run: String,
    pub(crate) step: String,
}

impl LockNames {
    pub(crate) fn of(target: &ConnectionTarget) -> LockNames {
        match target.schema() {
            None => LockNames { run: LOCK_NAME.into(), step: STEP_LOCK_NAME.into() },
            Some(s) => LockNames { run: format!("{LOCK_NAME}:{s}"), step: format!("{STEP_LOCK_NAME}:{s}") },
        }
    }
}

impl PgSession {
    /// The migration connection, with the session settings a long run needs (not through a
    /// transaction pooler: there a setting would stick to a server connection others share), and
    /// the lock strategy the target's dialect (or `--lock-strategy`) asks for.
    pub(crate) async fn connect(target: &ConnectionTarget) -> Result<PgSession, DbError> {
        let lease = lease_for(target)?;
        let mut conn = target.connect_postgres("strata apply").await?;
        if !target.transaction_pooled() {
            session_settings(&mut conn).await;
        }
        Ok(PgSession::on(conn, target, lease))
    }

    /// A session the server itself keeps from writing ("a dry run changes nothing"). Through a
    /// transaction pooler each read is its own `BEGIN READ ONLY` instead (`super::pooled`).
    pub(crate) async fn connect_read_only(target: &ConnectionTarget) -> Result<PgSession, DbError> {
        let lease = lease_for(target)?;
        let mut conn = target.connect_postgres("strata status").await?;
        if !target.transaction_pooled() {
            sqlx::raw_sql("SET default_transaction_read_only = on")
                .execute(&mut conn)
                .await
                .map_err(|e| target.sql_error("opening a read-only session", &e))?;
        }
        Ok(PgSession::on(conn, target, lease))
    }

    fn on(conn: PgConnection, target: &ConnectionTarget, lease: Option<Lease>) -> PgSession {
        PgSession {
            conn,
            dialect: target.dialect(),
            lease,
            locks: LockNames::of(target),
            schema: target.schema().map(String::from),
        }
    }

    /// Inside a step's transaction: a schema target must be migrating its own schema (a pooler
    /// or a `search_path` in the role's settings must never send a tenant's migration elsewhere).
    pub(crate) fn check_schema(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async move {
            let Some(schema) = &self.schema else { return Ok(()) };
            let current: Option<String> = sqlx::query_scalar("SELECT current_schema()::text")
                .persistent(false)
                .fetch_one(&mut self.conn)
                .await?;
            if current.as_deref() == Some(schema.as_str()) {
                return Ok(());
            }
            let message = format!(
                "the step would run in schema {} instead of the target schema {schema} (does the schema exist?)",
                current.as_deref().unwrap_or("none")
            );
            Err(sqlx::Error::Configuration(message.into()))
        })
    }
}

/// Session settings of the migration connection. Errors are ignored: older servers reject
/// settings they lack, which only loses the protection that setting adds.
async fn session_settings(c: &mut PgConnection) {
    // PostgreSQL 14+: notice a dead client within a second (see the runner's module docs).
    let _ = sqlx::raw_sql("SET client_connection_check_interval = '1s'").execute(&mut *c).await;
    // The server must not close this session for idling: it holds the lock for the whole run.
    let _ = sqlx::raw_sql("SET idle_session_timeout = 0").execute(&mut *c).await;
    let _ = sqlx::raw_sql("SET idle_in_transaction_session_timeout = 0").execute(&mut *c).await;
}

/// Backend pids holding the migration lock `name` in this database.
pub(crate) async fn lock_holders(c: &mut PgConnection, name: &str) -> Result<Vec<i64>, sqlx::Error> {
    let pids: Vec<i32> =
        sqlx::query_scalar(LOCK_HOLDERS_SQL).persistent(false).bind(name).fetch_all(c).await?;
    Ok(pids.into_iter().map(i64::from).collect())
}

#[cfg(test)]
impl PgSession {
    /// Stops the lease's heartbeat, as a stalled process would.
    pub(crate) fn stop_heartbeat_for_test(&mut self) {
        if let Some(lease) = self.lease.as_mut() {
            lease.stop_heartbeat();
        }
    }
}

/// The lease the target's lock strategy resolves to, if any.
fn lease_for(target: &ConnectionTarget) -> Result<Option<Lease>, DbError> {
    let ttl = target.lock_strategy().resolve(Driver::Postgres, target.dialect())?;
    Ok(ttl.map(|ttl| Lease::new(target, ttl)))
}

impl Session for PgSession {
    fn driver(&self) -> Driver {
        Driver::Postgres
    }

    fn dialect(&self) -> &'static dyn strata_sql::Dialect {
        self.dialect
    }

    fn try_lock(&mut self) -> DbFuture<'_, bool> {
        Box::pin(async move {
            if let Some(lease) = self.lease.as_mut() {
                return lease.try_take(&mut self.conn).await;
            }
            sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
                .persistent(false)
                .bind(&self.locks.run)
                .fetch_one(&mut self.conn)
                .await
        })
    }

    fn lock_holders(&mut self) -> DbFuture<'_, Vec<i64>> {
        Box::pin(async move {
            if let Some(lease) = self.lease.as_mut() {
                return lease.holders(&mut self.conn).await;
            }
            lock_holders(&mut self.conn, &self.locks.run).await
        })
    }

    fn lock_timeout_error(
        &mut self,
        waited: std::time::Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<DbError>> + Send + '_>> {
        Box::pin(async move {
            let lease = self.lease.as_mut()?;
            Some(lease.timeout_error(&mut self.conn, waited).await)
        })
    }

    fn holds_migration_lock(&mut self) -> DbFuture<'_, bool> {
        Box::pin(async move {
            if let Some(lease) = self.lease.as_mut() {
                return lease.holds(&mut self.conn).await;
            }
            let sql = format!("SELECT count(*) FROM ({LOCK_HOLDERS_SQL}) h WHERE h.pid = pg_backend_pid()");
            let n: i64 = sqlx::query_scalar(&sql)
                .persistent(false)
                .bind(&self.locks.run)
                .fetch_one(&mut self.conn)
                .await?;
            Ok(n > 0)
        })
    }

    fn lock_step(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async move {
            if let Some(lease) = self.lease.as_mut() {
                lease.lock_step(&mut self.conn).await?;
                return self.check_schema().await;
            }
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .persistent(false)
                .bind(&self.locks.step)
                .execute(&mut self.conn)
                .await?;
            self.check_schema().await
        })
    }

    fn unlock(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async move {
            if let Some(lease) = self.lease.as_mut() {
                return lease.release(&mut self.conn).await;
            }
            sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
                .persistent(false)
                .bind(&self.locks.run)
                .execute(&mut self.conn)
                .await
                .map(|_| ())
        })
    }

    fn begin(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async move { sqlx::Executor::execute(&mut self.conn, "BEGIN").await.map(|_| ()) })
    }

    fn around_file(&self) -> (&'static str, &'static str) {
        ("", "")
    }

    /// PostgreSQL runs the statements of one simple-query message as one implicit transaction;
    /// SQLite and MySQL run them one by one in autocommit.
    fn prelude_outcome(&self) -> &'static str {
        "the statements before `BEGIN;` ran as one implicit transaction, so none of them stays applied"
    }

    fn foreign_key_violations(&mut self) -> DbFuture<'_, Vec<String>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    serverpod_version_methods!("postgres");

    fn ensure_history_table(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async move {
            let (table, index) = history::create_sql(&SPELLING);
            let index = index.replacen("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1);
            sqlx::Executor::execute(&mut self.conn, format!("{table};\n{index};").as_str()).await?;
            for column in history::ADDED_COLUMNS {
                let sql = history::add_column_sql(&SPELLING, column).replacen(
                    "ADD COLUMN",
                    "ADD COLUMN IF NOT EXISTS",
                    1,
                );
                sqlx::Executor::execute(&mut self.conn, sql.as_str()).await?;
            }
            Ok(())
        })
    }

    spelled_history_methods!();
}

async fn table_exists(c: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .persistent(false)
        .bind(quote_ident(name))
        .fetch_one(c)
        .await
}
