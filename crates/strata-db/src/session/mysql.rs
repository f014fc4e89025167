//! MySQL and MariaDB: a `GET_LOCK` named lock on the migration connection, `?` parameters,
//! `DATETIME(3)` history, and the runner's own version table (MySQL migration files do not write
//! Serverpod's `serverpod_migrations`, which has no MySQL flavour).

use sqlx::MySqlConnection;

use super::{bind_new_row, spelled_history_methods, DbFuture, Session};
use crate::connection::ConnectionTarget;
use crate::history::{self, NewRow, Spelling, HISTORY_TABLE};
use crate::{DbError, Driver};

/// Where the runner records each module's installed version on MySQL (one row per module).
pub const VERSION_TABLE: &str = "strata_migration_version";

fn quote(name: &str) -> String {
    Driver::Mysql.dialect().quote_identifier(name)
}

pub(crate) const SPELLING: Spelling = Spelling {
    param: |_| "?".to_string(),
    quote,
    id_column: "bigint NOT NULL AUTO_INCREMENT PRIMARY KEY",
    key_text: "varchar(255)",
    timestamp: "datetime(3)",
    integer: "bigint",
    ts_in: |p| p.to_string(),
    ts_out: |c| format!("LEFT(DATE_FORMAT({c}, '%Y-%m-%d %H:%i:%s.%f'), 23)"),
    concat: |parts| format!("CONCAT({})", parts.join(", ")),
};

/// The named lock of this database's migrations. `GET_LOCK` names are server-wide, so the name
/// carries (a hash of) the database name; MySQL limits names to 64 characters.
const LOCK_NAME_SQL: &str = "SELECT CONCAT('strata_migrate_', LEFT(SHA2(DATABASE(), 256), 40))";

pub(crate) struct MysqlSession {
    pub(crate) conn: MySqlConnection,
    lock_name: String,
}

impl MysqlSession {
    pub(crate) async fn connect(target: &ConnectionTarget) -> Result<MysqlSession, DbError> {
        let mut conn = target.connect_mysql().await?;
        let lock_name: String = sqlx::query_scalar(LOCK_NAME_SQL)
            .fetch_one(&mut conn)
            .await
            .map_err(|e| target.sql_error("naming the migration lock", &e))?;
        Ok(MysqlSession { conn, lock_name })
    }

    /// A read-only transaction would end at the first implicit commit, so reading only is this
    /// module's promise: status and dry runs issue SELECTs alone.
    pub(crate) async fn connect_read_only(target: &ConnectionTarget) -> Result<MysqlSession, DbError> {
        Self::connect(target).await
    }

    async fn table_exists(&mut self, name: &str) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
        )
        .bind(name)
        .fetch_one(&mut self.conn)
        .await?;
        Ok(n > 0)
    }

    async fn columns_of(&mut self, table: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = ?",
        )
        .bind(table)
        .fetch_all(&mut self.conn)
        .await
    }

    async fn has_index(&mut self, table: &str, index: &str) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?",
        )
        .bind(table)
        .bind(index)
        .fetch_one(&mut self.conn)
        .await?;
        Ok(n > 0)
    }
}

impl Session for MysqlSession {
    fn driver(&self) -> Driver {
        Driver::Mysql
    }

    fn try_lock(&mut self) -> DbFuture<'_, bool> {
        Box::pin(async move {
            let got: Option<i64> = sqlx::query_scalar("SELECT CAST(GET_LOCK(?, 0) AS SIGNED)")
                .bind(&self.lock_name)
                .fetch_one(&mut self.conn)
                .await?;
            Ok(got == Some(1))
        })
    }

    fn lock_holders(&mut self) -> DbFuture<'_, Vec<i64>> {
        Box::pin(async move {
            let holder: Option<i64> = sqlx::query_scalar("SELECT CAST(IS_USED_LOCK(?) AS SIGNED)")
                .bind(&self.lock_name)
                .fetch_one(&mut self.conn)
                .await?;
            Ok(holder.into_iter().collect())
        })
    }

    fn holds_migration_lock(&mut self) -> DbFuture<'_, bool> {
        Box::pin(async move {
            let held: Option<i64> =
                sqlx::query_scalar("SELECT CAST(IS_USED_LOCK(?) = CONNECTION_ID() AS SIGNED)")
                    .bind(&self.lock_name)
                    .fetch_one(&mut self.conn)
                    .await?;
            Ok(held == Some(1))
        })
    }

    /// The named lock is the only serialisation MySQL offers across implicit commits; every
    /// statement checks it is still held.
    fn lock_step(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    fn unlock(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async move {
            sqlx::query("SELECT RELEASE_LOCK(?)")
                .bind(&self.lock_name)
                .execute(&mut self.conn)
                .await
                .map(|_| ())
        })
    }

    fn begin(&mut self) -> DbFuture<'_, ()> {
        Box::pin(
            async move { sqlx::Executor::execute(&mut self.conn, "START TRANSACTION").await.map(|_| ()) },
        )
    }

    fn around_file(&self) -> (&'static str, &'static str) {
        ("", "")
    }

    /// PostgreSQL runs the statements of one simple-query message as one implicit transaction;
    /// SQLite and MySQL run them one by one in autocommit.
    fn prelude_outcome(&self) -> &'static str {
        "each statement commits on its own: those before the failing one stay applied"
    }

    fn foreign_key_violations(&mut self) -> DbFuture<'_, Vec<String>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn files_record_version(&self) -> bool {
        false
    }

    fn module_version<'a>(&'a mut self, module: &'a str) -> DbFuture<'a, Option<String>> {
        Box::pin(async move {
            if !self.table_exists(VERSION_TABLE).await? {
                return Ok(None);
            }
            let sql = format!(
                "SELECT {} FROM {} WHERE {} = ?",
                quote("version"),
                quote(VERSION_TABLE),
                quote("module")
            );
            sqlx::query_scalar(&sql).bind(module).fetch_optional(&mut self.conn).await
        })
    }

    fn modules(&mut self) -> DbFuture<'_, Vec<String>> {
        Box::pin(async move {
            if !self.table_exists(VERSION_TABLE).await? {
                return Ok(Vec::new());
            }
            let sql =
                format!("SELECT {m} FROM {t} ORDER BY {m}", m = quote("module"), t = quote(VERSION_TABLE));
            sqlx::query_scalar(&sql).fetch_all(&mut self.conn).await
        })
    }

    fn set_module_version<'a>(&'a mut self, module: &'a str, version: &'a str) -> DbFuture<'a, ()> {
        Box::pin(async move {
            let (v, ts) = (quote("version"), quote("timestamp"));
            let sql = format!(
                "INSERT INTO {} ({}, {v}, {ts}) VALUES (?, ?, UTC_TIMESTAMP(3)) \
                 ON DUPLICATE KEY UPDATE {v} = ?, {ts} = UTC_TIMESTAMP(3)",
                quote(VERSION_TABLE),
                quote("module")
            );
            sqlx::query(&sql)
                .bind(module)
                .bind(version)
                .bind(version)
                .execute(&mut self.conn)
                .await
                .map(|_| ())
        })
    }

    fn ensure_history_table(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async move {
            let (table, index) = history::create_sql(&SPELLING);
            sqlx::Executor::execute(&mut self.conn, table.as_str()).await?;
            if !self.has_index(HISTORY_TABLE, &format!("{HISTORY_TABLE}_version_idx")).await? {
                sqlx::Executor::execute(&mut self.conn, index.as_str()).await?;
            }
            let present = self.columns_of(HISTORY_TABLE).await?;
            for column in history::ADDED_COLUMNS.iter().filter(|c| !present.iter().any(|p| p == *c)) {
                sqlx::Executor::execute(&mut self.conn, history::add_column_sql(&SPELLING, column).as_str())
                    .await?;
            }
            let versions = format!(
                "CREATE TABLE IF NOT EXISTS {} ({} varchar(255) NOT NULL PRIMARY KEY, {} varchar(255) NOT NULL, {} datetime(3) NOT NULL)",
                quote(VERSION_TABLE),
                quote("module"),
                quote("version"),
                quote("timestamp")
            );
            sqlx::Executor::execute(&mut self.conn, versions.as_str()).await.map(|_| ())
        })
    }

    /// Background jobs do not run on MySQL yet (`crate::background` refuses), so it has none.
    fn background_job_states(&mut self) -> DbFuture<'_, Vec<(String, String)>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn has_history_table(&mut self) -> DbFuture<'_, bool> {
        Box::pin(self.table_exists(HISTORY_TABLE))
    }

    /// MySQL 8 has no `INSERT … RETURNING`: the id is the statement's `LAST_INSERT_ID()`.
    fn insert_history<'a>(&'a mut self, row: &'a NewRow) -> DbFuture<'a, i64> {
        Box::pin(async move {
            let sql = history::insert_sql(&SPELLING);
            let done = bind_new_row!(sqlx::query(&sql), row, "mysql").execute(&mut self.conn).await?;
            i64::try_from(done.last_insert_id())
                .map_err(|_| sqlx::Error::Protocol(format!("{HISTORY_TABLE}: id out of range")))
        })
    }

    spelled_history_methods!();
}
