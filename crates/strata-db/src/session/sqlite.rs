//! SQLite: the database's own write lock (`BEGIN IMMEDIATE`) plus the run lock file the runner
//! holds; `?n` parameters; UTC text timestamps.

use sqlx::SqliteConnection;

use super::{serverpod_version_methods, spelled_history_methods, DbFuture, Session};
use crate::history::{self, Spelling, HISTORY_TABLE};
use crate::{quote_ident, Driver};

pub(crate) const SPELLING: Spelling = Spelling {
    param: |n| format!("?{n}"),
    quote: quote_ident,
    id_column: "INTEGER PRIMARY KEY AUTOINCREMENT",
    key_text: "text",
    timestamp: "text",
    integer: "integer",
    ts_in: |p| p.to_string(),
    ts_out: |c| c.to_string(),
    concat: history::concat_pipes,
};

pub(crate) struct SqliteSession {
    pub(crate) conn: SqliteConnection,
}

impl Session for SqliteSession {
    fn driver(&self) -> Driver {
        Driver::Sqlite
    }

    /// The run lock file is the run-wide lock (taken by the runner); each step's `BEGIN
    /// IMMEDIATE` is the database's.
    fn try_lock(&mut self) -> DbFuture<'_, bool> {
        Box::pin(async { Ok(true) })
    }

    fn lock_holders(&mut self) -> DbFuture<'_, Vec<i64>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn holds_migration_lock(&mut self) -> DbFuture<'_, bool> {
        Box::pin(async { Ok(true) })
    }

    fn lock_step(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    fn unlock(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    fn begin(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async move { sqlx::Executor::execute(&mut self.conn, "BEGIN IMMEDIATE").await.map(|_| ()) })
    }

    /// A rebuild drops a table others may reference: with foreign keys on, the implicit DELETE
    /// would cascade or fail. The check before COMMIT still refuses any violation.
    fn around_file(&self) -> (&'static str, &'static str) {
        ("PRAGMA foreign_keys = OFF;\n", "\nPRAGMA foreign_keys = ON;\n")
    }

    /// PostgreSQL runs the statements of one simple-query message as one implicit transaction;
    /// SQLite and MySQL run them one by one in autocommit.
    fn prelude_outcome(&self) -> &'static str {
        "the statements before `BEGIN;` run one by one outside the transaction: those before the failing one stay applied"
    }

    fn foreign_key_violations(&mut self) -> DbFuture<'_, Vec<String>> {
        Box::pin(async move {
            let rows: Vec<(String, Option<i64>, String)> = sqlx::query_as(
                "SELECT \"table\", \"rowid\", \"parent\" FROM pragma_foreign_key_check LIMIT 10",
            )
            .fetch_all(&mut self.conn)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(t, id, p)| {
                    let id = id.map(|i| i.to_string()).unwrap_or("?".into());
                    format!("{t} rowid {id} references a missing row of {p}")
                })
                .collect())
        })
    }

    serverpod_version_methods!("sqlite");

    fn ensure_history_table(&mut self) -> DbFuture<'_, ()> {
        Box::pin(async move {
            let (table, index) = history::create_sql(&SPELLING);
            let index = index.replacen("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1);
            sqlx::Executor::execute(&mut self.conn, format!("{table};\n{index};").as_str()).await?;
            let present: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?1)")
                .bind(HISTORY_TABLE)
                .fetch_all(&mut self.conn)
                .await?;
            for column in history::ADDED_COLUMNS.iter().filter(|c| !present.iter().any(|p| p == *c)) {
                sqlx::Executor::execute(&mut self.conn, history::add_column_sql(&SPELLING, column).as_str())
                    .await?;
            }
            Ok(())
        })
    }

    spelled_history_methods!();
}

async fn table_exists(c: &mut SqliteConnection, name: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1")
        .bind(name)
        .fetch_one(c)
        .await?;
    Ok(n > 0)
}
