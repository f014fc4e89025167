//! The example application, run as a process from a directory with no `migrations/`: the
//! embedded migrations are applied once, then found up to date; a wrong database is refused.

use std::process::{Command, Output};

use strata_testdb::{PgScratch, SqliteScratch};

const APP: &str = env!("CARGO_BIN_EXE_strata-example-startup");

fn run(url: &str, cwd: &std::path::Path) -> Output {
    Command::new(APP).env("DATABASE_URL", url).current_dir(cwd).output().expect("running the example")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn tables(url: &str) -> Vec<String> {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
    let sql = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
    sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
}

#[tokio::test]
async fn applies_the_embedded_migrations_once_from_an_empty_directory() {
    let cwd = tempfile::tempdir().unwrap();
    let db = SqliteScratch::new("example_startup");
    let first = run(&db.url, cwd.path());
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stderr(&first).contains("20261122014500000-comments"), "{}", stderr(&first));
    assert!(first.stdout.is_empty(), "reports go to stderr");
    let names = tables(&db.url).await;
    for t in ["author", "comment", "post", "serverpod_migrations"] {
        assert!(names.iter().any(|n| n == t), "{t} missing from {names:?}");
    }
    let second = run(&db.url, cwd.path());
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stderr(&second).contains("up to date at 20261122014500000-comments"), "{}", stderr(&second));
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0, "nothing written to the working directory");
}

#[test]
fn refuses_a_database_of_another_dialect() {
    let cwd = tempfile::tempdir().unwrap();
    let db = PgScratch::new("example_startup_pg");
    let out = run(&db.url, cwd.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("written for sqlite, but the database is postgres"), "{}", stderr(&out));
}
