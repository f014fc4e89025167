//! `strata reset`: drop everything strata manages and apply the latest `definition.sql` as on a
//! fresh database, all under the migration lock so no apply can run in between.
//!
//! The drops commit in one transaction (nothing half-dropped); `definition.sql` then runs as an
//! ordinary step with its history row. If it fails, the database is left empty, which is the
//! state `apply` starts a fresh database from. Whether the database may be reset at all (a
//! development database, the typed confirmation) is the caller's decision.

use std::time::Duration;

use crate::connection::ConnectionTarget;
use crate::disk::read_migrations;
use crate::history::HISTORY_TABLE;
use crate::plan::PlanOptions;
use crate::runner::{
    check_dialect, run_locked, ApplyEvent, ApplyReport, Conn, Locked, Run, SERVERPOD_MIGRATIONS,
};
use crate::{quote_ident, ApplyFailure, DbError, Driver, Project};

/// The table Serverpod's SQLite runtime reads its schema from; every SQLite file recreates it
/// (strata-sql's `SQLITE_SCHEMA_TABLE`, which that crate does not export).
const SQLITE_SCHEMA_TABLE: &str = "serverpod_sqlite_schema";

/// What to drop: the tables of the latest `definition.json` (the bookkeeping tables are added
/// here).
#[derive(Debug, Clone)]
pub struct ResetRequest {
    pub tables: Vec<String>,
    pub lock_timeout: Duration,
}

/// Drops the request's tables, `serverpod_migrations` and strata's history table (SQLite: also
/// `serverpod_sqlite_schema`), then applies the latest `definition.sql`. The report's `applied`
/// holds the definition step.
pub async fn reset(
    project: &Project,
    target: &ConnectionTarget,
    request: &ResetRequest,
    observer: &mut dyn FnMut(&ApplyEvent),
) -> Result<ApplyReport, ApplyFailure> {
    let mut report = ApplyReport::default();
    let result = async {
        check_dialect(project, target)?;
        refuse_without_transactional_ddl(target)?;
        let disk = read_migrations(&project.migrations_dir)?;
        let mut locked = Locked::open(target, request.lock_timeout, observer).await?;
        let dropped = drop_managed(locked.conn.as_mut(), target, &request.tables).await;
        let run = Run { project, target, disk: &disk, repair: None, skip: None, accept_modified: &[] };
        let result = match dropped {
            Ok(()) => {
                run_locked(locked.conn.as_mut(), &run, PlanOptions::default(), observer, &mut report).await
            }
            Err(e) => Err(e),
        };
        locked.release().await;
        result
    }
    .await;
    match result {
        Ok(()) => Ok(report),
        Err(error) => Err(ApplyFailure { error, report }),
    }
}

/// Reset promises "nothing half-dropped": without transactional DDL (MySQL, CockroachDB,
/// YugabyteDB) each DROP would commit on its own, so it refuses before touching anything.
fn refuse_without_transactional_ddl(target: &ConnectionTarget) -> Result<(), DbError> {
    let driver = target.dialect().name();
    if target.dialect().supports_transactional_ddl() {
        return Ok(());
    }
    Err(DbError::NotSupported {
        driver,
        what: "`strata reset`".into(),
        instead: format!(
            "{driver} commits every DROP on its own, so a reset could stop half-way; drop and recreate the \
             database (DROP DATABASE …; CREATE DATABASE …) and run `strata apply`"
        ),
    })
}

/// Every table reset drops, project tables first, each name once.
fn managed_tables(tables: &[String], dialect: Driver) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    let bookkeeping = [SERVERPOD_MIGRATIONS, HISTORY_TABLE, SQLITE_SCHEMA_TABLE];
    let keep = if dialect == Driver::Sqlite { 3 } else { 2 };
    for t in tables.iter().map(String::as_str).chain(bookkeeping.into_iter().take(keep)) {
        if !all.iter().any(|a| a == t) {
            all.push(t.to_string());
        }
    }
    all
}

/// The drops, as one script that commits or not at all.
fn drop_sql(tables: &[String], dialect: Driver) -> String {
    let names = managed_tables(tables, dialect);
    match dialect {
        // CASCADE: a foreign key from a table strata does not manage must not stop the reset.
        Driver::Postgres => {
            let list: Vec<String> = names.iter().map(|t| quote_ident(t)).collect();
            format!("BEGIN;\nDROP TABLE IF EXISTS {} CASCADE;\nCOMMIT;\n", list.join(", "))
        }
        // Foreign keys off: dropping a parent before its child must not fail or cascade.
        Driver::Sqlite => {
            let drops: String =
                names.iter().map(|t| format!("DROP TABLE IF EXISTS {};\n", quote_ident(t))).collect();
            format!(
                "PRAGMA foreign_keys = OFF;\nBEGIN IMMEDIATE;\n{drops}COMMIT;\nPRAGMA foreign_keys = ON;\n"
            )
        }
        // Never run: `reset` refuses dialects without transactional DDL first.
        Driver::Mysql => String::new(),
    }
}

async fn drop_managed(conn: &mut Conn, target: &ConnectionTarget, tables: &[String]) -> Result<(), DbError> {
    let sql = drop_sql(tables, conn.driver());
    if let Err(e) = conn.execute(&sql).await {
        let _ = conn.execute("ROLLBACK").await;
        return Err(target.sql_error("dropping the managed tables (nothing was dropped)", &e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_follows_the_projects_dialect_not_the_driver() {
        let mut project = crate::Project::with_defaults("/nonexistent", "shop", Driver::Postgres);
        let url = Some("postgres://app@db.internal:5432/shop");
        let target = |p: &crate::Project| {
            crate::connection::resolve_connection_with_env(p, url, None, &|_| None).unwrap()
        };
        assert!(refuse_without_transactional_ddl(&target(&project)).is_ok());
        for dialect in ["cockroachdb", "yugabytedb"] {
            project.dialect = dialect;
            let e = refuse_without_transactional_ddl(&target(&project)).unwrap_err().to_string();
            assert!(e.contains(dialect) && e.contains("half-way"), "{e}");
        }
        project.dialect = "citus";
        assert!(refuse_without_transactional_ddl(&target(&project)).is_ok());
    }

    #[test]
    fn drops_project_and_bookkeeping_tables_once() {
        let t = vec!["a".to_string(), "serverpod_migrations".to_string()];
        assert_eq!(
            drop_sql(&t, Driver::Postgres),
            "BEGIN;\nDROP TABLE IF EXISTS \"a\", \"serverpod_migrations\", \"strata_migration_history\" CASCADE;\nCOMMIT;\n"
        );
        let lite = drop_sql(&t, Driver::Sqlite);
        assert!(lite.contains("DROP TABLE IF EXISTS \"serverpod_sqlite_schema\";"), "{lite}");
        assert!(lite.starts_with("PRAGMA foreign_keys = OFF;"), "{lite}");
    }
}
