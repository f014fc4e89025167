//! `strata apply` / `strata status` as processes on the real MariaDB: eight concurrent applies,
//! `kill -9` in the middle of a migration, and what `status` prints for a partly applied one.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

const V2: &str = "20250102000000000-orders";
const V2_FILE: &str = "migrations/20250102000000000-orders/migration.sql";

/// A copy of the MySQL apply fixture (strata.toml says `dialect = "mysql"`).
fn project() -> common::Project {
    common::Project::fixture("apply/mysql")
}

fn strata(dir: &Path, url: &str, command: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(common::BIN);
    c.arg("-C").arg(dir).arg(command).arg("--database-url").arg(url).args(extra).env_remove("DATABASE_URL");
    c
}

fn run(c: &mut Command) -> Output {
    c.output().unwrap()
}

fn query(url: &str, sql: &str) -> Vec<String> {
    let (url, sql) = (url.to_string(), sql.to_string());
    common::block_on(async move {
        let mut c = sqlx::MySqlConnection::connect(&url).await.unwrap();
        let rows: Vec<(String,)> = sqlx::query_as(&sql).fetch_all(&mut c).await.unwrap();
        rows.into_iter().map(|r| r.0).collect()
    })
}

fn markers(url: &str) -> Vec<String> {
    query(url, "SELECT step FROM run_log ORDER BY id")
}

const ALL_MARKERS: [&str; 3] = ["v2 statement 2", "v2 statement 3; with a semicolon", "v2 statement 5"];

#[test]
fn eight_concurrent_strata_apply_processes_each_migration_once_all_exit_0() {
    let db = strata_testdb::MysqlScratch::new("cli_my_conc");
    let dir = project();
    let out = run(&mut strata(&dir.dir, &db.url, "apply", &["--to", "20250101000000000"]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let children: Vec<_> = (0..8)
        .map(|_| {
            strata(&dir.dir, &db.url, "apply", &[])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(markers(&db.url), ALL_MARKERS, "every statement of V2 ran once");
    let ok = query(&db.url, "SELECT CONCAT(version, ' ', status) FROM strata_migration_history ORDER BY id");
    assert_eq!(ok, ["20250101000000000 ok", "20250102000000000-orders ok", "20250103000000000 ok"]);
}

#[test]
fn status_shows_mysql_and_which_statements_ran_in_text_and_json() {
    let db = strata_testdb::MysqlScratch::new("cli_my_status");
    let dir = project();
    assert!(run(&mut strata(&dir.dir, &db.url, "apply", &["--to", "20250101000000000"])).status.success());
    let file = dir.dir.join(V2_FILE);
    let good = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        good.replace(
            "INSERT INTO `run_log` (`step`) VALUES ('v2 statement 3",
            "INSERT INTO `nope` (`step`) VALUES ('v2 statement 3",
        ),
    )
    .unwrap();
    let out = run(&mut strata(&dir.dir, &db.url, "apply", &[]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("failed at statement 3 of 5") && err.contains("resumes at statement 3"), "{err}");

    let out = run(&mut strata(&dir.dir, &db.url, "status", &[]));
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("| mysql "), "{text}");
    assert!(text.contains(&format!("{V2}: 2 of 5 statements done, statement 3 failed: ")), "{text}");
    let out = run(&mut strata(&dir.dir, &db.url, "status", &["--format", "json"]));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let v2 = j["versions"].as_array().unwrap().iter().find(|v| v["version"] == V2).unwrap();
    assert_eq!(v2["dialect"], "mysql");
    assert_eq!(v2["statements"], serde_json::json!({"count": 5, "done": 2, "failed": 3}));

    std::fs::write(&file, good).unwrap();
    assert!(run(&mut strata(&dir.dir, &db.url, "apply", &[])).status.success());
    assert_eq!(markers(&db.url), ALL_MARKERS, "statements 3-5 only after the fix");
    assert_eq!(run(&mut strata(&dir.dir, &db.url, "status", &[])).status.code(), Some(0));
}

#[test]
fn sigkill_mid_migration_then_apply_completes() {
    let db = strata_testdb::MysqlScratch::new("cli_my_kill");
    let dir = project();
    assert!(run(&mut strata(&dir.dir, &db.url, "apply", &["--to", "20250101000000000"])).status.success());
    let file = dir.dir.join(V2_FILE);
    let good = std::fs::read_to_string(&file).unwrap();
    let slow = good.replacen(
        "INSERT INTO `run_log` (`step`) VALUES ('v2 statement 3",
        "SELECT SLEEP(3);\n\nINSERT INTO `run_log` (`step`) VALUES ('v2 statement 3",
        1,
    );
    std::fs::write(&file, slow).unwrap();

    let mut child =
        strata(&dir.dir, &db.url, "apply", &[]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let sleeping = "SELECT CAST(id AS CHAR) FROM information_schema.processlist WHERE db = DATABASE() AND info LIKE 'SELECT SLEEP(3)%'";
    let t0 = Instant::now();
    while query(&db.url, sleeping).is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(20), "the migration never reached its SLEEP");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // The next apply waits for the server to drop the dead session (and its GET_LOCK), then
    // resumes after the two statements the killed run recorded.
    let out = run(&mut strata(&dir.dir, &db.url, "apply", &["--lock-timeout", "30s"]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(markers(&db.url), ALL_MARKERS, "nothing ran twice");
    let history =
        query(&db.url, "SELECT CONCAT(version, ' ', status) FROM strata_migration_history ORDER BY id");
    assert_eq!(
        history,
        [
            "20250101000000000 ok",
            "20250102000000000-orders failed",
            "20250102000000000-orders ok",
            "20250103000000000 ok"
        ]
    );
}
