//! `strata apply --skip-failed / --retry-failed / --rerun` end to end on PostgreSQL and SQLite:
//! a failing V2 is retried, refused for the wrong versions, skipped with a reason (status shows
//! it, apply moves past it), and a `-- strata:rerunnable` V3 runs again while an unmarked one is
//! refused; every error path (bad version, nothing to do, a modified file, a stale run, a lock
//! held, a skipped version) leaves the database as it was.

mod common;

use std::fs;

use common::{pg_exec, pg_strings, Project, Run, V1};
use strata_testdb::PgScratch;

const V2: &str = "20260102000000001";
const V3: &str = "20260103000000001-seed";
const NOW: &str = "20260104000000001";

/// V2 adds `company.website`; V3 (empty, then edited) inserts one `seed_note` row per run.
fn store_with_seed(sqlite: bool) -> Project {
    let p = Project::store_on(sqlite);
    p.add_store_field("company", "website: String?", V2);
    p.run_at("20260103000000001", &["create-migration", "--empty", "--tag", "seed"]).code(0);
    let path = seed_path(&p);
    let sql = fs::read_to_string(&path).unwrap().replacen(
        "BEGIN;\n",
        "BEGIN;\nCREATE TABLE IF NOT EXISTS seed_note (note text);\nINSERT INTO seed_note (note) VALUES ('hi');\n",
        1,
    );
    fs::write(&path, sql).unwrap();
    p
}

fn seed_path(p: &Project) -> std::path::PathBuf {
    p.dir.join("migrations").join(V3).join("migration.sql")
}

/// Puts `header` in front of V3's migration.sql.
fn edit_seed(p: &Project, header: &str) {
    let sql = fs::read_to_string(seed_path(p)).unwrap();
    fs::write(seed_path(p), format!("{header}{sql}")).unwrap();
}

fn now(p: &Project, url: &str, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--database-url", url]);
    p.run_at(NOW, &all)
}

fn status_json(p: &Project, url: &str) -> (i32, serde_json::Value) {
    let r = now(p, url, &["status", "--format", "json"]);
    (r.code, serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout)))
}

fn state_of(j: &serde_json::Value, version: &str) -> String {
    let rows = j["versions"].as_array().unwrap_or_else(|| panic!("{j}"));
    let row = rows.iter().find(|r| r["version"] == version).unwrap_or_else(|| panic!("{version}: {j}"));
    row["status"].as_str().unwrap().to_string()
}

/// Holds PostgreSQL's migration lock for three seconds on another connection.
fn hold_pg_lock(url: &str) -> std::thread::JoinHandle<()> {
    let url = url.to_string();
    let t = std::thread::spawn(move || {
        common::block_on(async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query("SELECT pg_advisory_lock(hashtext('serverpod_migration_lock'))")
                .execute(&mut c)
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        })
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    t
}

#[test]
fn postgres_retry_skip_and_rerun() {
    let p = store_with_seed(false);
    let db = PgScratch::new("apply_ops");
    let version = || pg_strings(&db.url, "SELECT version FROM serverpod_migrations WHERE module = 'store'");
    now(&p, &db.url, &["apply", "--to", V1]).code(0);
    now(&p, &db.url, &["apply", "--retry-failed"]).code(1).says("nothing to retry: the next version, ");
    now(&p, &db.url, &["apply", "--skip-failed", V2, "--reason", "x"])
        .code(1)
        .says("it has not failed here; only a failed version can be skipped");

    // V2 fails: the column already exists (added by hand).
    pg_exec(&db.url, "ALTER TABLE company ADD COLUMN website text");
    now(&p, &db.url, &["apply"]).code(1).says("already exists");
    now(&p, &db.url, &["apply", "--retry-failed"]).code(1).says("retrying after a failed attempt");
    assert_eq!(version(), [V1], "--retry-failed stops at the failed version");

    // Wrong versions are refused, naming the reason; nothing changes.
    now(&p, &db.url, &["apply", "--skip-failed", "20990101000000000", "--reason", "x"])
        .code(1)
        .says("no such version on disk");
    now(&p, &db.url, &["apply", "--skip-failed", V3, "--reason", "x"])
        .code(1)
        .says(&format!("only the next pending version can be skipped, and that is {V2}"));
    now(&p, &db.url, &["apply", "--skip-failed", V1, "--reason", "x"]).code(1).says("it is not pending");
    now(&p, &db.url, &["apply", "--skip-failed", V2]).code(1).says("--reason");
    now(&p, &db.url, &["apply", "--skip-failed", V2, "--reason", "  "]).code(1).says("--reason must say why");
    // A lock held by another run: the skip waits, then gives up.
    let holder = hold_pg_lock(&db.url);
    now(&p, &db.url, &["apply", "--skip-failed", V2, "--reason", "x", "--lock-timeout", "500ms"])
        .code(1)
        .says("could not take the migration lock within 500ms");
    holder.join().unwrap();
    assert_eq!(version(), [V1]);

    // A stale attempt (a killed run) counts as failed: it can be skipped too.
    pg_exec(
        &db.url,
        &format!(
            "INSERT INTO strata_migration_history (module, version, kind, dialect, status, started_at) \
             VALUES ('store', '{V2}', 'migration', 'postgres', 'running', now())"
        ),
    );
    assert_eq!(state_of(&status_json(&p, &db.url).1, V2), "stale run");
    now(&p, &db.url, &["apply", "--skip-failed", V2, "--reason", "column added by hand"])
        .code(0)
        .says(&format!("skipped {V2}"))
        .says(&format!("applying {V3}"));
    assert_eq!(version(), [V3]);
    let (code, j) = status_json(&p, &db.url);
    assert_eq!(code, 0, "a skipped version is a recorded decision, not pending work: {j}");
    assert_eq!(state_of(&j, V2), "skipped");
    now(&p, &db.url, &["status"]).code(0).says("skipped: column added by hand");
    now(&p, &db.url, &["apply", "--retry-failed"]).code(1).says("nothing to retry: no version is pending");

    // Re-run: refused for an unmarked file, a skipped version, an unknown one.
    now(&p, &db.url, &["apply", "--rerun", V3]).code(1).says("is not marked as safe to run twice");
    now(&p, &db.url, &["apply", "--rerun", V2]).code(1).says("it was skipped (column added by hand)");
    now(&p, &db.url, &["apply", "--rerun", "20990101000000000"]).code(1).says("no such version on disk");
    assert_eq!(pg_strings(&db.url, "SELECT note FROM seed_note"), ["hi"]);
    // Marking it edits an applied file: refused until the edit is accepted.
    edit_seed(&p, "-- strata:rerunnable\n");
    now(&p, &db.url, &["apply", "--rerun", V3]).code(1).says("applied migration files were changed");
    now(&p, &db.url, &["apply", "--accept-modified", V3, "--rerun", V3]).code(0).says("(re-run)");
    now(&p, &db.url, &["apply", "--rerun", V3, V3]).code(0);
    // A version named twice runs once.
    assert_eq!(pg_strings(&db.url, "SELECT note FROM seed_note"), ["hi", "hi", "hi"]);
    assert_eq!(version(), [V3]);
    let history = pg_strings(
        &db.url,
        &format!(
            "SELECT status || ' ' || coalesce(error, '') FROM strata_migration_history \
             WHERE version IN ('{V2}', '{V3}') ORDER BY id"
        ),
    );
    assert!(history.contains(&"skipped column added by hand".to_string()), "{history:?}");
    assert_eq!(history.iter().filter(|h| *h == "ok ").count(), 3, "one ok row per run of V3: {history:?}");
    now(&p, &db.url, &["status"]).code(0);
}

#[test]
fn sqlite_skip_then_rerun() {
    let p = store_with_seed(true);
    edit_seed(&p, "-- a seed\n-- strata:rerunnable\n");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("store.db");
    let url = format!("sqlite:{}", file.display());
    now(&p, &url, &["apply", "--to", V1]).code(0);
    sqlite_exec(&file, "ALTER TABLE company ADD COLUMN website TEXT");
    now(&p, &url, &["apply"]).code(1).says("duplicate column");
    now(&p, &url, &["apply", "--rerun", V3]).code(1).says("that version is not applied yet");
    now(&p, &url, &["apply", "--skip-failed", V2, "--reason", "done by hand"]).code(0);
    let (code, j) = status_json(&p, &url);
    assert_eq!((code, state_of(&j, V2)), (0, "skipped".to_string()), "{j}");
    now(&p, &url, &["apply", "--rerun", V3]).code(0).says("(re-run)");
    assert_eq!(sqlite_exec(&file, "SELECT count(*) FROM seed_note"), 2);
    assert_eq!(status_json(&p, &url).1["installed"], V3);
}

/// Runs `sql` on the SQLite file; the first column of the first row as an integer (0 if none).
fn sqlite_exec(file: &std::path::Path, sql: &str) -> i64 {
    use sqlx::{Connection, Row};
    common::block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{}", file.display())).await.unwrap();
        let rows = sqlx::query(sql).fetch_all(&mut c).await.unwrap_or_else(|e| panic!("{e}\n{sql}"));
        c.close().await.ok();
        rows.first().map(|r| r.get::<i64, _>(0)).unwrap_or(0)
    })
}
