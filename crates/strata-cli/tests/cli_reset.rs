//! `strata reset` end to end on PostgreSQL and SQLite: it drops the managed tables and the
//! bookkeeping, applies the latest definition.sql as on a fresh database, and leaves tables it
//! does not manage alone; it refuses a database not marked for development, a missing or wrong
//! confirmation, and gives up when another run holds the lock, changing nothing each time.

mod common;

use std::fs;

use common::{pg_exec, pg_strings, Project, Run, V1};
use strata_testdb::PgScratch;

const V2: &str = "20260102000000001";
const NOW: &str = "20260104000000001";

/// The store fixture with V2 adding `company.website`.
fn store_at_v2(sqlite: bool) -> Project {
    let p = Project::store_on(sqlite);
    p.add_store_field("company", "website: String?", V2);
    p
}

/// `config/<mode>.yaml` pointing at the scratch database.
fn write_mode_config(p: &Project, mode: &str, db: &PgScratch) {
    let yaml = format!("database:\n  host: 127.0.0.1\n  port: 5432\n  name: {}\n  user: postgres\n", db.name);
    common::write(&p.dir.join("config").join(format!("{mode}.yaml")), &yaml);
}

fn now(p: &Project, args: &[&str]) -> Run {
    p.run_at(NOW, args)
}

const ROWS: &str = "INSERT INTO company (name, rating, website) VALUES ('acme', 1.0, 'acme.example');";

#[test]
fn postgres_reset_refuses_then_drops_and_reapplies() {
    let p = store_at_v2(false);
    let db = PgScratch::new("reset");
    write_mode_config(&p, "development", &db);
    write_mode_config(&p, "staging", &db);
    now(&p, &["apply", "--to", V1, "--database-url", &db.url]).code(0);
    now(&p, &["apply", "--database-url", &db.url]).code(0);
    pg_exec(&db.url, &format!("{ROWS} CREATE TABLE keep_me (x int); INSERT INTO keep_me VALUES (7);"));
    let companies = || pg_strings(&db.url, "SELECT name FROM company");
    let yes = format!("--yes-i-mean-it={}", db.name);

    // Not marked for development: refused whatever the confirmation.
    now(&p, &["reset", "--database-url", &db.url, &yes]).code(3).says("not marked as a development database");
    now(&p, &["reset", "--mode", "staging", &yes]).code(3).says("--mode development");
    // No terminal and no confirmation, or the wrong name: refused.
    now(&p, &["reset", "--mode", "development"])
        .code(3)
        .says(&format!("not on a terminal: confirm with --yes-i-mean-it={}", db.name));
    now(&p, &["reset", "--mode", "development", "--yes-i-mean-it=shop"])
        .code(3)
        .says(&format!("`shop` is not the database's name ({})", db.name));
    // Another run holds the lock: gives up, naming the wait.
    let holder = std::thread::spawn({
        let url = db.url.clone();
        move || {
            common::block_on(async {
                use sqlx::Connection;
                let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::query("SELECT pg_advisory_lock(hashtext('serverpod_migration_lock'))")
                    .execute(&mut c)
                    .await
                    .unwrap();
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            })
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    now(&p, &["reset", "--mode", "development", &yes, "--lock-timeout", "500ms"])
        .code(1)
        .says("could not take the migration lock within 500ms");
    holder.join().unwrap();
    assert_eq!(companies(), ["acme"], "every refusal changed nothing");

    now(&p, &["reset", "--mode", "development", &yes]).code(0).says(&format!("the database is at {V2}"));
    assert!(companies().is_empty(), "the managed tables were dropped and recreated");
    assert_eq!(pg_strings(&db.url, "SELECT x::text FROM keep_me"), ["7"], "unmanaged tables stay");
    assert_eq!(pg_strings(&db.url, "SELECT version FROM serverpod_migrations WHERE module = 'store'"), [V2]);
    let history = pg_strings(
        &db.url,
        "SELECT version || ' ' || kind || ' ' || status FROM strata_migration_history ORDER BY id",
    );
    assert_eq!(
        history,
        [format!("{V2} definition ok"), format!("{V1} definition baseline")],
        "history starts again, as on a fresh database"
    );
    now(&p, &["status", "--database-url", &db.url]).code(0);
}

#[test]
fn sqlite_reset_needs_only_the_file_name() {
    let p = store_at_v2(true);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("store.db");
    let url = format!("sqlite:{}", file.display());
    now(&p, &["apply", "--to", V1, "--database-url", &url]).code(0);
    now(&p, &["apply", "--database-url", &url]).code(0);
    now(&p, &["reset", "--database-url", &url, "--yes-i-mean-it=other.db"])
        .code(3)
        .says("`other.db` is not the database's name (store.db)");
    now(&p, &["reset", "--database-url", &url, "--yes-i-mean-it=store.db"])
        .code(0)
        .says(&format!("the database is at {V2}"));
    let status = now(&p, &["status", "--format", "json", "--database-url", &url]);
    status.code(0);
    let j: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(j["installed"], V2);
    assert_eq!(j["versions"][0]["status"], "baseline", "{j}");

    // Nothing to reset to: no versions on disk.
    fs::remove_dir_all(p.dir.join("migrations")).unwrap();
    fs::create_dir(p.dir.join("migrations")).unwrap();
    now(&p, &["reset", "--database-url", &url, "--yes-i-mean-it=store.db"])
        .code(1)
        .says("no migration versions; nothing to reset to");
}

/// On a terminal, reset asks for the database's name: a wrong answer changes nothing, the right
/// one resets. `script` gives the command a pseudo-terminal.
#[test]
fn on_a_terminal_reset_asks_for_the_name() {
    use std::io::Write as _;
    let p = store_at_v2(true);
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", tmp.path().join("store.db").display());
    now(&p, &["apply", "--database-url", &url]).code(0);
    let typed = |answer: &str| {
        let cmd = format!("{} -C '{}' reset --database-url '{url}'", common::BIN, p.dir.display());
        let mut child = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env("STRATA_NOW", NOW)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("script(1) from util-linux gives the command a terminal");
        child.stdin.take().unwrap().write_all(format!("{answer}\n").as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, shown) = typed("other.db");
    assert_eq!(code, Some(3), "{shown}");
    assert!(
        shown.contains("Type its name to go on") && shown.contains("is not the database's name"),
        "{shown}"
    );
    let (code, shown) = typed("store.db");
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains(&format!("the database is at {V2}")), "{shown}");
}
