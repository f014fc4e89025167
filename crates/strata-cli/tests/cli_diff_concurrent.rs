//! `strata diff --from db:A --to db:B` reads both databases at the same time.
//!
//! The evidence is not timing: the test holds an exclusive lock on `serverpod_migrations` in both
//! databases, which introspection reads last. A reader that takes one side after the other waits
//! on A's lock with B not yet connected, so both introspection backends can only ever be seen
//! waiting together when the two reads run concurrently.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{pg_exec, pg_strings, BIN};
use sqlx::Connection;
use strata_testdb::PgScratch;

const SCHEMA: &str =
    "CREATE TABLE serverpod_migrations (\"id\" bigserial PRIMARY KEY, \"module\" text NOT NULL, \
     \"version\" text NOT NULL, \"timestamp\" timestamp without time zone);\n\
     CREATE UNIQUE INDEX serverpod_migrations_ids ON serverpod_migrations USING btree (\"module\");\n\
     CREATE TABLE item (\"id\" bigserial PRIMARY KEY, \"name\" text NOT NULL);\n";

/// How long the test waits for both readers before concluding they ran one after the other.
const PATIENCE: Duration = Duration::from_secs(60);

/// The databases among `names` with a `strata-introspect` backend waiting on a lock.
fn waiting_readers(names: &[&str]) -> Vec<String> {
    let list = names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ");
    pg_strings(
        &PgScratch::admin_url(),
        &format!(
            "SELECT DISTINCT datname::text FROM pg_stat_activity WHERE application_name = 'strata-introspect' \
             AND wait_event_type = 'Lock' AND datname IN ({list}) ORDER BY 1"
        ),
    )
}

#[test]
fn both_live_sides_are_read_at_the_same_time() {
    let (a, b) = (PgScratch::new("concurrent_a"), PgScratch::new("concurrent_b"));
    pg_exec(&a.url, SCHEMA);
    pg_exec(&b.url, SCHEMA);
    let project = tempfile::tempdir().unwrap();

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut lockers = Vec::new();
    for db in [&a, &b] {
        let mut c = rt.block_on(sqlx::PgConnection::connect(&db.url)).unwrap();
        rt.block_on(
            sqlx::raw_sql("BEGIN; LOCK TABLE serverpod_migrations IN ACCESS EXCLUSIVE MODE").execute(&mut c),
        )
        .unwrap();
        lockers.push(c);
    }

    let mut diff = Command::new(BIN)
        .arg("-C")
        .arg(project.path())
        .args(["diff", "--from", &format!("db:{}", a.url), "--to", &format!("db:{}", b.url)])
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run strata");
    let names = [a.name.as_str(), b.name.as_str()];
    let started = Instant::now();
    let mut seen = waiting_readers(&names);
    while seen.len() < 2 && started.elapsed() < PATIENCE && diff.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(50));
        seen = waiting_readers(&names);
    }
    for mut c in lockers {
        rt.block_on(sqlx::raw_sql("COMMIT").execute(&mut c)).unwrap();
    }
    let out = diff.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(seen, expected, "both databases must be read at the same time; strata said:\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("In sync:"), "{stderr}");
}

#[test]
fn an_unreachable_side_of_two_is_named_without_its_password() {
    let a = PgScratch::new("concurrent_ok");
    pg_exec(&a.url, SCHEMA);
    let project = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("-C")
        .arg(project.path())
        .args([
            "diff",
            "--from",
            &format!("db:{}", a.url),
            "--to",
            "db:postgres://app:s3cret-pw@127.0.0.1:1/nope",
        ])
        .env_remove("DATABASE_URL")
        .output()
        .expect("run strata");
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(!all.contains("s3cret-pw"), "password leaked: {all}");
    assert!(all.contains("--to db:postgres://app:***@127.0.0.1:1/nope"), "the error names its side: {all}");
}
