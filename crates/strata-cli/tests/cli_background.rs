//! `strata background` end to end on the real servers: a 1,000,000-row backfill killed with
//! SIGKILL mid-job and resumed (every row updated exactly once), `requires_background` holding
//! back `apply`, pause/resume, the lock, finalize's timeout, bad files, and SQLite.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{pg_exec, pg_one, write, Project, BIN};

const V1: &str = "20260101000000000";
const V2: &str = "20260102000000000-backfill";
const V3: &str = "20260103000000000-after";
const JOB: &str = "bump_counter";

/// Serverpod's bookkeeping table and a version's upsert into it (PostgreSQL files record their
/// own version).
fn pg_file(version: &str, body: &str) -> String {
    format!(
        "BEGIN;\n\n{body}\n\nINSERT INTO \"serverpod_migrations\" (\"module\", \"version\", \"timestamp\")\n    VALUES ('shop', '{version}', now())\n    ON CONFLICT (\"module\")\n    DO UPDATE SET \"version\" = '{version}', \"timestamp\" = now();\n\nCOMMIT;\n"
    )
}

const PG_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS \"serverpod_migrations\" (\"id\" bigserial PRIMARY KEY, \"module\" text NOT NULL, \"version\" text NOT NULL, \"timestamp\" timestamp without time zone);\n\
     CREATE UNIQUE INDEX IF NOT EXISTS \"serverpod_migrations_ids\" ON \"serverpod_migrations\" USING btree (\"module\");\n\
     CREATE TABLE \"item\" (\"id\" bigserial PRIMARY KEY, \"counter\" integer NOT NULL DEFAULT 0);";

/// The job: one increment per row, so "exactly once" is `counter = 1` on every row.
fn job_file(batch_size: u32, pause: &str) -> String {
    format!(
        "-- Counts how often each row is touched.\n-- strata:table item\n-- strata:key id\n-- strata:batch_size {batch_size}\n-- strata:pause {pause}\n\n\
         UPDATE \"item\" SET \"counter\" = \"counter\" + 1 WHERE \"id\" BETWEEN $1 AND $2;\n"
    )
}

/// A PostgreSQL project: V1 creates `item`, V2 carries the job, V3 requires it.
fn pg_project(batch_size: u32, pause: &str) -> Project {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    write(&dir.join("strata.toml"), "module_name = \"shop\"\ndialect = \"postgres\"\n");
    let m = dir.join("migrations");
    for v in [V1, V2, V3] {
        write(&m.join(v).join("definition.sql"), &pg_file(v, PG_SCHEMA));
    }
    write(&m.join(V1).join("migration.sql"), &pg_file(V1, PG_SCHEMA));
    write(&m.join(V2).join("migration.sql"), &pg_file(V2, "-- nothing but the job"));
    write(&m.join(V2).join("background").join(format!("{JOB}.sql")), &job_file(batch_size, pause));
    let v3 = format!(
        "-- strata:requires_background {JOB}\n{}",
        pg_file(V3, "ALTER TABLE \"item\" ADD COLUMN \"note\" text;")
    );
    write(&m.join(V3).join("migration.sql"), &v3);
    Project::laid_out(tmp, dir)
}

fn bg(p: &Project, url: &str, args: &[&str]) -> common::Run {
    let mut all = vec!["background"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--database-url", url]);
    p.run(&all)
}

fn spawn_bg(p: &Project, url: &str, args: &[&str]) -> std::process::Child {
    Command::new(BIN)
        .arg("background")
        .args(args)
        .args(["--database-url", url])
        .current_dir(&p.dir)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < timeout, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn job_field(url: &str, column: &str) -> String {
    pg_one(
        url,
        &format!("SELECT coalesce({column}::text, '') FROM strata_background_jobs WHERE name = '{JOB}'"),
    )
}

/// Batches the job has committed (0 before its runner created the job table).
fn batches(url: &str) -> i64 {
    use sqlx::Connection;
    common::block_on(async {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let sql = format!("SELECT batches_done FROM strata_background_jobs WHERE name = '{JOB}'");
        let n: Option<i64> = sqlx::query_scalar(&sql).fetch_optional(&mut c).await.ok().flatten();
        c.close().await.ok();
        n.unwrap_or(0)
    })
}

#[test]
fn sigkill_mid_job_then_resume_updates_every_row_exactly_once() {
    let db = strata_testdb::PgScratch::new("bg_kill");
    let p = pg_project(10_000, "0");
    p.run(&["apply", "--to", V2, "--database-url", &db.url]).code(0);
    pg_exec(&db.url, "INSERT INTO item (counter) SELECT 0 FROM generate_series(1, 1000000)");

    // V3 needs the job: apply refuses before running anything.
    let refused = p.run(&["apply", "--database-url", &db.url]);
    refused
        .code(1)
        .stderr_says(&format!("requires background job `{JOB}`"))
        .stderr_says(&format!("strata background finalize {JOB}"));
    assert_eq!(pg_one(&db.url, "SELECT version FROM serverpod_migrations"), V2);

    let mut child = spawn_bg(&p, &db.url, &["run", JOB]);
    wait_until("ten batches to commit", Duration::from_secs(60), || batches(&db.url) >= 10);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed_at = batches(&db.url);
    assert!(killed_at < 100, "the job finished before the kill ({killed_at} batches)");
    assert_eq!(job_field(&db.url, "state"), "running");
    // The killed runner's session (and its lock) goes away; status then calls it interrupted.
    wait_until("the killed runner's lock to go", Duration::from_secs(10), || {
        bg(&p, &db.url, &["status"]).stdout.contains("running (interrupted)")
    });

    let resumed = bg(&p, &db.url, &["run", JOB]);
    resumed.code(0).stderr_says(&format!("{JOB}: continuing")).stderr_says(&format!("{JOB}: finalized"));
    let counts = pg_one(
        &db.url,
        "SELECT count(*) FILTER (WHERE counter = 1) || ' ' || count(*) || ' ' || max(counter) FROM item",
    );
    assert_eq!(counts, "1000000 1000000 1", "every row updated exactly once");
    assert_eq!(job_field(&db.url, "state"), "finalized");
    assert_eq!(job_field(&db.url, "rows_affected"), "1000000");
    assert_eq!(job_field(&db.url, "batches_done"), "100");

    let status = bg(&p, &db.url, &["status", "--format", "json"]);
    status.code(0);
    let v: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(v["all_finalized"], true);
    assert_eq!(v["jobs"][0]["state"], "finalized");
    assert_eq!(v["jobs"][0]["range_max"], 1_000_000);
    assert!(status.stderr.is_empty() || !status.stderr.contains('{'), "JSON only on stdout");

    p.run(&["apply", "--database-url", &db.url]).code(0);
    assert_eq!(pg_one(&db.url, "SELECT version FROM serverpod_migrations"), V3);
    bg(&p, &db.url, &["finalize", JOB]).code(0).stderr_says("already finalized");
}

#[test]
fn lock_finalize_timeout_unknown_jobs_and_bad_files() {
    let db = strata_testdb::PgScratch::new("bg_errors");
    let p = pg_project(100, "0");
    bg(&p, &db.url, &["run", JOB]).code(1).stderr_says("which is not applied to this database yet");
    p.run(&["apply", "--to", V2, "--database-url", &db.url]).code(0);
    pg_exec(&db.url, "INSERT INTO item (counter) SELECT 0 FROM generate_series(1, 1000)");

    bg(&p, &db.url, &["run", "nope"])
        .code(1)
        .stderr_says("no background job named `nope` (jobs on disk: bump_counter)");
    bg(&p, &db.url, &["finalize", "nope"]).code(1).stderr_says("no background job named `nope`");
    bg(&p, &db.url, &["pause", JOB]).code(1).stderr_says("it is not started");
    bg(&p, &db.url, &["status"]).code(2).says("bump_counter | 20260102000000000-backfill | pending");

    // Another runner holds the job: run refuses, finalize waits and then times out.
    let holder = db.url.clone();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        common::block_on(async move {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&holder).await.unwrap();
            sqlx::query("SELECT pg_advisory_lock(hashtext('strata_background:bump_counter'))")
                .execute(&mut c)
                .await
                .unwrap();
            held_tx.send(()).unwrap();
            let _ = tokio::task::spawn_blocking(move || rx.recv()).await;
            c.close().await.ok();
        })
    });
    held_rx.recv().unwrap();
    bg(&p, &db.url, &["run", JOB]).code(1).stderr_says("is being run by backend pid");
    let t0 = Instant::now();
    let timed_out = bg(&p, &db.url, &["finalize", JOB, "--timeout", "1s"]);
    timed_out.code(1).stderr_says("was not finalized within 1s").stderr_says("run by backend pid");
    assert!(t0.elapsed() < Duration::from_secs(10), "finalize gave up late: {:?}", t0.elapsed());
    // Released while finalize waits: finalize then runs it itself.
    let waiter = spawn_bg(&p, &db.url, &["finalize", JOB, "--timeout", "60s"]);
    std::thread::sleep(Duration::from_millis(500));
    tx.send(()).unwrap();
    t.join().unwrap();
    let out = waiter.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.contains("waiting for backend pid") && stderr.contains("finalized"),
        "{stderr}"
    );
    assert_eq!(pg_one(&db.url, "SELECT count(*)::text FROM item WHERE counter = 1"), "1000");

    // A malformed file: a line-numbered error, and nothing runs.
    let bad = p.dir.join("migrations").join(V2).join("background").join("broken.sql");
    write(&bad, "-- strata:table item\n-- strata:key id\n-- strata:batchsize 10\nUPDATE item SET counter = 0 WHERE id BETWEEN $1 AND $2;\n");
    bg(&p, &db.url, &["status"]).code(1).stderr_says("broken.sql:3: unknown setting `-- strata:batchsize`");
    write(&bad, "-- strata:table item\n-- strata:key id\nUPDATE item SET counter = 0 WHERE id > $1;\n");
    bg(&p, &db.url, &["run"])
        .code(1)
        .stderr_says("broken.sql:3: the statement must use exactly the parameters $1");
    assert_eq!(pg_one(&db.url, "SELECT count(*)::text FROM item WHERE counter = 1"), "1000");
    std::fs::remove_file(&bad).unwrap();

    // An edited file of a started job is refused.
    let file = p.dir.join("migrations").join(V2).join("background").join(format!("{JOB}.sql"));
    write(&file, &job_file(100, "0").replace("+ 1", "+ 2"));
    pg_exec(&db.url, &format!("UPDATE strata_background_jobs SET state = 'failed' WHERE name = '{JOB}'"));
    bg(&p, &db.url, &["run", JOB]).code(1).stderr_says("edited after background job `bump_counter` started");
}

#[test]
fn pause_stops_at_a_batch_boundary_and_resume_continues() {
    let db = strata_testdb::PgScratch::new("bg_pause");
    let p = pg_project(10, "100ms");
    p.run(&["apply", "--to", V2, "--database-url", &db.url]).code(0);
    pg_exec(&db.url, "INSERT INTO item (counter) SELECT 0 FROM generate_series(1, 300)");
    let runner = spawn_bg(&p, &db.url, &["run"]);
    wait_until("two batches", Duration::from_secs(30), || batches(&db.url) >= 2);
    bg(&p, &db.url, &["pause", JOB])
        .code(0)
        .stderr_says("paused background job `bump_counter` (was running)");
    let out = runner.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.contains("bump_counter: paused"), "{stderr}");
    let at = batches(&db.url);
    assert!(at < 30, "paused only after {at} batches");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(batches(&db.url), at, "no batch after the pause");
    assert_eq!(job_field(&db.url, "state"), "paused");

    bg(&p, &db.url, &["run"])
        .code(0)
        .stderr_says("bump_counter: skipped: background job `bump_counter` is paused");
    bg(&p, &db.url, &["run", JOB]).code(1).stderr_says("strata background resume bump_counter");
    bg(&p, &db.url, &["finalize", JOB]).code(1).stderr_says("is paused");
    bg(&p, &db.url, &["resume", JOB]).code(0);
    bg(&p, &db.url, &["resume", JOB])
        .code(1)
        .stderr_says("cannot resume background job `bump_counter`: it is pending");
    bg(&p, &db.url, &["finalize", JOB, "--timeout", "60s"]).code(0).stderr_says("bump_counter: finalized");
    assert_eq!(
        pg_one(&db.url, "SELECT count(*) FILTER (WHERE counter = 1) || '/' || count(*) FROM item"),
        "300/300"
    );
    assert_eq!(job_field(&db.url, "batches_done"), "30");
}

#[test]
fn a_failing_batch_rolls_back_is_recorded_and_retries_from_its_first_key() {
    let db = strata_testdb::PgScratch::new("bg_fail");
    let p = pg_project(100, "0");
    p.run(&["apply", "--to", V2, "--database-url", &db.url]).code(0);
    pg_exec(
        &db.url,
        "INSERT INTO item (counter) SELECT 0 FROM generate_series(1, 1000);\
                      ALTER TABLE item ADD CONSTRAINT small CHECK (id < 550 OR counter = 0)",
    );
    bg(&p, &db.url, &["run", JOB])
        .code(1)
        .stderr_says("failed in the batch of keys 501..=600")
        .stderr_says("small");
    assert_eq!(job_field(&db.url, "state"), "failed");
    assert_eq!(pg_one(&db.url, "SELECT count(*)::text FROM item WHERE counter = 1"), "500");
    bg(&p, &db.url, &["status"]).code(2).says("bump_counter: ").says("small");
    pg_exec(&db.url, "ALTER TABLE item DROP CONSTRAINT small");
    bg(&p, &db.url, &["run", JOB]).code(0).stderr_says("finalized");
    assert_eq!(
        pg_one(&db.url, "SELECT count(*) FILTER (WHERE counter = 1) || '/' || count(*) FROM item"),
        "1000/1000"
    );
}

#[test]
fn sqlite_runs_jobs_with_sparse_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    write(&dir.join("strata.toml"), "module_name = \"shop\"\ndialect = \"sqlite\"\n");
    let schema = "CREATE TABLE IF NOT EXISTS \"serverpod_migrations\" (\"id\" integer PRIMARY KEY AUTOINCREMENT, \"module\" text NOT NULL, \"version\" text NOT NULL, \"timestamp\" text);\n\
                  CREATE UNIQUE INDEX IF NOT EXISTS \"serverpod_migrations_ids\" ON \"serverpod_migrations\" (\"module\");\n\
                  CREATE TABLE \"item\" (\"id\" integer PRIMARY KEY, \"counter\" integer NOT NULL DEFAULT 0);";
    let file = |v: &str| {
        format!("BEGIN;\n{schema}\nINSERT INTO \"serverpod_migrations\" (\"module\", \"version\", \"timestamp\") VALUES ('shop', '{v}', CURRENT_TIMESTAMP)\n  ON CONFLICT (\"module\") DO UPDATE SET \"version\" = '{v}';\nCOMMIT;\n")
    };
    write(&dir.join("migrations").join(V1).join("definition.sql"), &file(V1));
    write(&dir.join("migrations").join(V1).join("migration.sql"), &file(V1));
    write(&dir.join("migrations").join(V1).join("background").join(format!("{JOB}.sql")), &job_file(7, "0"));
    let p = Project::laid_out(tmp, dir);
    p.run(&["apply"]).code(0);
    let db = p.dir.join(".strata").join("strata.db");
    let url = format!("sqlite:{}", db.display());
    common::block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        // Sparse keys: batches count existing rows, not key values.
        sqlx::raw_sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) INSERT INTO item (id) SELECT i * 1000 FROM n")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.ok();
    });
    p.run(&["background", "run"]).code(0).stderr_says("bump_counter: finalized");
    let status = p.run(&["background", "status", "--format", "json"]);
    status.code(0);
    let v: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(v["jobs"][0]["batches_done"], 15, "{}", status.stdout);
    assert_eq!(v["jobs"][0]["rows_affected"], 100);
    assert_eq!(
        (v["jobs"][0]["range_min"].clone(), v["jobs"][0]["range_max"].clone()),
        (1000.into(), 100_000.into())
    );
    let counts = common::block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let n: (i64, i64) =
            sqlx::query_as("SELECT sum(counter = 1), count(*) FROM item").fetch_one(&mut c).await.unwrap();
        n
    });
    assert_eq!(counts, (100, 100));
    assert!(Path::new(&format!("{}.strata-background-{JOB}.lock", db.display())).exists());
}

#[test]
fn mysql_is_refused_by_name() {
    let db = strata_testdb::MysqlScratch::new("bg_mysql");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    write(&dir.join("strata.toml"), "module_name = \"shop\"\ndialect = \"mysql\"\n");
    write(&dir.join("migrations").join(V1).join("background").join(format!("{JOB}.sql")), &job_file(7, "0"));
    let p = Project::laid_out(tmp, dir);
    bg(&p, &db.url, &["status"])
        .code(1)
        .stderr_says("this database is mysql, which strata cannot run them on yet");
}

#[test]
fn create_migration_scaffolds_a_valid_job_template() {
    let p = Project::store_on(true);
    let before = p.files();
    p.run(&["create-migration", "--background", "Fill-Cents"])
        .code(1)
        .stderr_says("`Fill-Cents` is not a valid job name");
    assert_eq!(p.files(), before, "nothing written for a bad name");
    p.run(&["create-migration", "--tag", "fill", "--background", "fill_cents"])
        .code(0)
        .stderr_says("background/fill_cents.sql");
    let version = format!("{}-fill", common::LATER);
    let file = p.dir.join("migrations").join(&version).join("background").join("fill_cents.sql");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("-- strata:table my_table") && text.contains("BETWEEN $1 AND $2"), "{text}");
    let status = p.run(&["background", "status", "--format", "json"]);
    status.code(2);
    let v: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(v["jobs"][0]["name"], "fill_cents");
    assert_eq!(v["jobs"][0]["version"], version.as_str());
    assert_eq!(v["jobs"][0]["state"], "pending");
    assert_eq!(v["jobs"][0]["version_applied"], false);
    assert_eq!(v["jobs"][0]["batch_size"], 10_000);
}

#[test]
fn two_runners_of_one_job_one_refuses_and_rows_are_updated_once() {
    let db = strata_testdb::PgScratch::new("bg_two");
    let p = pg_project(1000, "10ms");
    p.run(&["apply", "--to", V2, "--database-url", &db.url]).code(0);
    pg_exec(&db.url, "INSERT INTO item (counter) SELECT 0 FROM generate_series(1, 50000)");
    let first = spawn_bg(&p, &db.url, &["run", JOB]);
    wait_until("the first runner's first batch", Duration::from_secs(30), || batches(&db.url) >= 1);
    let second = bg(&p, &db.url, &["run", JOB]);
    second.code(1).stderr_says("is being run by backend pid");
    // `run` without a name passes over the held job and succeeds.
    bg(&p, &db.url, &["run"])
        .code(0)
        .stderr_says("bump_counter: skipped: background job `bump_counter` is being run by");
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let counts = pg_one(&db.url, "SELECT count(*) FILTER (WHERE counter = 1) || '/' || count(*) FROM item");
    assert_eq!(counts, "50000/50000");
}
