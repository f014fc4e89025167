//! `kill -9` of `strata apply` in the middle of a migration: the database is as before that
//! migration, no advisory lock survives, and the next apply completes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

const V1: &str = "20250101000000000";
const V2: &str = "20250102000000000-orders";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn strata(dir: &Path, url: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_strata"));
    c.arg("-C").arg(dir).arg("apply").arg("--database-url").arg(url).args(extra).env_remove("DATABASE_URL");
    c
}

fn query(url: &str, sql: &str) -> Vec<String> {
    let (url, sql) = (url.to_string(), sql.to_string());
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async move {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let rows: Vec<(String,)> = sqlx::query_as(&sql).fetch_all(&mut c).await.unwrap();
        rows.into_iter().map(|r| r.0).collect()
    })
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < timeout, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sigkill_mid_migration_leaves_database_and_lock_clean() {
    let db = strata_testdb::PgScratch::new("crash");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/apply/pg"), dir.path());
    assert!(strata(dir.path(), &db.url, &["--to", V1]).output().unwrap().status.success());

    let schema = "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public' \
                  AND table_name <> 'strata_migration_history' UNION ALL SELECT 'version ' || version FROM serverpod_migrations ORDER BY 1";
    let before = query(&db.url, schema);
    let file = dir.path().join(format!("migrations/{V2}/migration.sql"));
    let good = std::fs::read_to_string(&file).unwrap();
    // The sleep comes after the CREATE TABLE, so a half-applied migration would be visible.
    std::fs::write(&file, good.replace("\nCOMMIT;", "\nSELECT pg_sleep(30);\nCOMMIT;")).unwrap();

    let mut child =
        strata(dir.path(), &db.url, &[]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let sleeping = format!(
        "SELECT pid::text FROM pg_stat_activity WHERE datname = '{}' AND query LIKE '%pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid()",
        db.name
    );
    wait_until("the migration to reach pg_sleep", Duration::from_secs(20), || {
        !query(&db.url, &sleeping).is_empty()
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // The server notices the dead client (client_connection_check_interval) and rolls back
    // well before the 30 s sleep would end; the session advisory lock goes with it.
    wait_until("the orphaned backend to go away", Duration::from_secs(10), || {
        query(&db.url, &sleeping).is_empty()
    });
    wait_until("the advisory lock to be released", Duration::from_secs(5), || {
        query(
            &db.url,
            "SELECT pid::text FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .is_empty()
    });
    assert_eq!(query(&db.url, schema), before, "the killed migration left changes behind");

    // The killed attempt is visible as a stale run (PhotoPrism's "stuck in running").
    let status = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["-C", dir.path().to_str().unwrap(), "status", "--database-url", &db.url])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.status.code(), Some(2), "{shown}");
    assert!(shown.contains("stale run") && shown.contains("never finished"), "{shown}");

    std::fs::write(&file, good).unwrap();
    let out = strata(dir.path(), &db.url, &["--lock-timeout", "5s"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        query(&db.url, "SELECT version FROM serverpod_migrations WHERE module = 'shop'"),
        ["20250103000000000"]
    );
    let ok = query(&db.url, "SELECT version || ' ' || status FROM strata_migration_history ORDER BY id");
    // The killed attempt is recorded as interrupted, then the retry's own row.
    assert_eq!(
        ok,
        [
            "20250101000000000 ok",
            "20250102000000000-orders failed",
            "20250102000000000-orders ok",
            "20250103000000000 ok"
        ]
    );
    let why = query(&db.url, "SELECT error FROM strata_migration_history WHERE status = 'failed'");
    assert!(why[0].starts_with("interrupted: pid ") && why[0].contains("did not commit"), "{why:?}");
}
