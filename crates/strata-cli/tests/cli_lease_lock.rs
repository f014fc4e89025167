//! The lease lock (the migration lock of engines without session advisory locks: CockroachDB,
//! YugabyteDB), forced with `--lock-strategy lease` and tested for real on the local
//! PostgreSQL, since the engines themselves cannot be installed here. Every migration writes a
//! row to `ran_log`, which no transaction rollback of strata's can fake: a double run shows as
//! two rows.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{copy_tree, pg_exec, pg_strings, wait_until};

const V1: &str = "20250101000000000";
const V2: &str = "20250102000000000-orders";
const V3: &str = "20250103000000000";

fn strata(dir: &Path, url: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(common::BIN);
    c.arg("-C")
        .arg(dir)
        .arg("apply")
        .arg("--database-url")
        .arg(url)
        .args(["--lock-strategy", "lease"])
        .args(extra)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The `pg` fixture at V1, with V2 and V3 logging their run in `ran_log`; V2 also sleeps
/// `pause` seconds, or 60 while `slow_flag` has a row.
fn project_at_v1(url: &str, pause: f64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/apply/pg"), dir.path());
    let o = strata(dir.path(), url, &["--to", V1]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    pg_exec(url, "CREATE TABLE ran_log (version text NOT NULL); CREATE TABLE slow_flag (x int);");
    for (version, extra) in [
        (
            V2,
            format!(
                "SELECT pg_sleep(CASE WHEN EXISTS (SELECT 1 FROM slow_flag) THEN 60 ELSE {pause} END);\n"
            ),
        ),
        (V3, String::new()),
    ] {
        let path = dir.path().join(format!("migrations/{version}/migration.sql"));
        let sql = std::fs::read_to_string(&path).unwrap();
        let logged = format!("BEGIN;\nINSERT INTO ran_log VALUES ('{version}');\n{extra}");
        std::fs::write(&path, sql.replacen("BEGIN;\n", &logged, 1)).unwrap();
    }
    dir
}

fn runs_of(url: &str) -> Vec<String> {
    pg_strings(url, "SELECT version || ' x' || count(*) FROM ran_log GROUP BY version ORDER BY version")
}

fn ok_rows(url: &str) -> Vec<String> {
    pg_strings(
        url,
        "SELECT version || ' x' || count(*) FROM strata_migration_history WHERE status = 'ok' GROUP BY version ORDER BY version",
    )
}

#[test]
fn eight_concurrent_processes_on_the_lease_apply_each_migration_exactly_once() {
    let db = strata_testdb::PgScratch::new("lease_concurrent");
    let dir = project_at_v1(&db.url, 0.5);
    // The session advisory lock is held elsewhere all along: the lease alone must exclude.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut blocker = rt.block_on(<sqlx::PgConnection as sqlx::Connection>::connect(&db.url)).unwrap();
    let lock = "SELECT pg_advisory_lock(hashtext('serverpod_migration_lock'))::text";
    rt.block_on(sqlx::query_scalar::<_, String>(lock).fetch_one(&mut blocker)).unwrap();
    let children: Vec<Child> =
        (0..8).map(|_| strata(dir.path(), &db.url, &["--lease-ttl", "3s"]).spawn().unwrap()).collect();
    let outputs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for o in &outputs {
        assert_eq!(o.status.code(), Some(0), "{}", text(o));
    }
    let appliers = outputs
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stderr).contains("Applied 2 migrations"))
        .count();
    assert_eq!(appliers, 1, "one process applies both pending migrations, the others find nothing to do");
    assert_eq!(runs_of(&db.url), [format!("{V2} x1"), format!("{V3} x1")]);
    assert_eq!(ok_rows(&db.url), [format!("{V1} x1"), format!("{V2} x1"), format!("{V3} x1")]);
    // Every run took the lease in turn (one fence each, plus the first --to run) and gave it back.
    let lease = pg_strings(&db.url, "SELECT fence::text || ' ' || holder FROM strata_migration_lease");
    assert_eq!(lease, ["9 "], "fence and holder after all runs: {lease:?}");
    rt.block_on(<sqlx::PgConnection as sqlx::Connection>::close(blocker)).unwrap();
}

#[test]
fn a_killed_holder_blocks_only_until_its_lease_expires_and_nothing_runs_twice() {
    let db = strata_testdb::PgScratch::new("lease_killed");
    let dir = project_at_v1(&db.url, 0.0);
    pg_exec(&db.url, "INSERT INTO slow_flag VALUES (1)");
    let mut holder = strata(dir.path(), &db.url, &["--lease-ttl", "2s"]).spawn().unwrap();
    let running =
        format!("SELECT status FROM strata_migration_history WHERE version = '{V2}' AND status = 'running'");
    wait_until("the holder runs V2", Duration::from_secs(20), || !pg_strings(&db.url, &running).is_empty());
    holder.kill().unwrap();
    holder.wait().unwrap();
    pg_exec(&db.url, "DELETE FROM slow_flag");

    let t0 = Instant::now();
    let next = strata(dir.path(), &db.url, &["--lease-ttl", "2s", "--lock-timeout", "30s"]).output().unwrap();
    let waited = t0.elapsed();
    assert!(next.status.success(), "{}", text(&next));
    assert!(
        waited < Duration::from_secs(15),
        "the dead holder's lease should expire within its TTL: {waited:?}"
    );
    assert!(String::from_utf8_lossy(&next.stderr).contains("Applied 2 migrations"), "{}", text(&next));
    // The killed attempt rolled back with its connection: V2's log row is the new run's alone.
    assert_eq!(runs_of(&db.url), [format!("{V2} x1"), format!("{V3} x1")]);
    assert_eq!(ok_rows(&db.url), [format!("{V1} x1"), format!("{V2} x1"), format!("{V3} x1")]);
    // The killed attempt is recorded as interrupted by the run that took the lease over.
    let v2_rows = format!(
        "SELECT status || ' ' || split_part(coalesce(error, ''), ':', 1) FROM strata_migration_history \
         WHERE version = '{V2}' ORDER BY started_at"
    );
    assert_eq!(pg_strings(&db.url, &v2_rows), ["failed interrupted", "ok "]);
}

/// A holder stopped inside a migration's transaction keeps the lease row locked: nobody can take
/// over (so nothing runs twice), the waiter's timeout names the holder, and the holder, once
/// resumed, still holds its lease and commits.
#[cfg(unix)]
#[test]
fn a_stalled_holder_inside_a_step_is_never_overtaken() {
    let db = strata_testdb::PgScratch::new("lease_stalled");
    let dir = project_at_v1(&db.url, 3.0);
    let holder = strata(dir.path(), &db.url, &["--lease-ttl", "1s"]).spawn().unwrap();
    let running =
        format!("SELECT status FROM strata_migration_history WHERE version = '{V2}' AND status = 'running'");
    wait_until("the holder runs V2", Duration::from_secs(20), || !pg_strings(&db.url, &running).is_empty());
    let pid = holder.id() as libc::pid_t;
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let waiter =
        strata(dir.path(), &db.url, &["--lease-ttl", "1s", "--lock-timeout", "4s"]).output().unwrap();
    unsafe { libc::kill(pid, libc::SIGCONT) };
    let held = holder.wait_with_output().unwrap();

    assert_eq!(waiter.status.code(), Some(1), "{}", text(&waiter));
    let err = String::from_utf8_lossy(&waiter.stderr);
    assert!(err.contains("could not take the migration lease within 4s"), "{err}");
    assert!(held.status.success(), "the resumed holder commits: {}", text(&held));
    assert_eq!(runs_of(&db.url), [format!("{V2} x1"), format!("{V3} x1")]);
    assert_eq!(ok_rows(&db.url), [format!("{V1} x1"), format!("{V2} x1"), format!("{V3} x1")]);
}

#[test]
fn advisory_locks_are_refused_for_an_engine_without_them() {
    let db = strata_testdb::PgScratch::new("lease_refused");
    let dir = project_at_v1(&db.url, 0.0);
    std::fs::write(dir.path().join("strata.toml"), "module_name = \"shop\"\ndialect = \"cockroachdb\"\n")
        .unwrap();
    let o = Command::new(common::BIN)
        .arg("-C")
        .arg(dir.path())
        .args(["apply", "--database-url", &db.url, "--lock-strategy", "advisory"])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cockroachdb has no session advisory locks"),
        "{}",
        text(&o)
    );
    assert!(runs_of(&db.url).is_empty());
}
