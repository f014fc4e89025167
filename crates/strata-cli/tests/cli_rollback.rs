//! `strata rollback` end to end on PostgreSQL and SQLite: a database at V3 goes back to V1 with a
//! down migration computed from the definitions; surviving rows are kept; status says rolled
//! back; `apply --repair` stays there and a plain `apply` goes forward again; every error path.

mod common;

use std::fs;

use common::{pg_exec, pg_strings, Project, Run, V1};
use strata_testdb::PgScratch;

const V2: &str = "20260102000000001";
const V3: &str = "20260103000000001";
const NOW: &str = "20260104000000001";

/// V2 adds `company.website` and a `product` table; V3 adds `employee.phone`.
fn store_at_v3(sqlite: bool) -> Project {
    let p = Project::store_on(sqlite);
    let product = "class: Product\ntable: product\nfields:\n  title: String\n";
    fs::write(p.dir.join("lib/src/models/product.spy.yaml"), product).unwrap();
    p.add_store_field("company", "website: String?", V2);
    p.add_store_field("employee", "phone: String?", V3);
    p
}

fn now(p: &Project, url: &str, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--database-url", url]);
    p.run_at(NOW, &all)
}

const ROWS: &str = "INSERT INTO company (name, rating, website) VALUES ('acme', 1.0, 'acme.example'); \
                    INSERT INTO product (title) VALUES ('widget');";

#[test]
fn postgres_rollback_keeps_surviving_rows_and_stays_rolled_back_under_apply_repair() {
    let p = store_at_v3(false);
    let db = PgScratch::new("rollback");
    now(&p, &db.url, &["apply"]).code(0);
    pg_exec(&db.url, ROWS);
    let version = || pg_strings(&db.url, "SELECT version FROM serverpod_migrations WHERE module = 'store'");

    // The preflight counts what would be lost; without --force nothing happens.
    now(&p, &db.url, &["rollback", "--to", V1])
        .code(3)
        .says("drops column \"company\".\"website\": 1 row(s) with a value are lost")
        .says("drops table \"product\": 1 row(s) are lost")
        .says("--force");
    assert_eq!(version(), [V3]);
    let dry = now(&p, &db.url, &["rollback", "--to", V1, "--dry-run"]);
    dry.code(0);
    assert!(
        dry.stdout.contains("DROP TABLE IF EXISTS \"product\"")
            || dry.stdout.contains("DROP TABLE \"product\""),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains(&format!("'{V1}'")), "the SQL records {V1}: {}", dry.stdout);
    assert_eq!(version(), [V3], "a dry run changes nothing");

    now(&p, &db.url, &["rollback", "--to", V1, "--force"])
        .code(0)
        .says(&format!("Rolled back from {V3} to {V1}"));
    assert_eq!(version(), [V1]);
    assert_eq!(pg_strings(&db.url, "SELECT name FROM company"), ["acme"], "surviving rows are kept");
    let tables =
        pg_strings(&db.url, "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    assert!(!tables.contains(&"product".to_string()), "{tables:?}");
    now(&p, &db.url, &["status"]).code(2).says(&format!("rolled back to {V1} by strata rollback"));

    // A deploy's `apply --repair` keeps the rollback; a plain apply goes forward and says so.
    now(&p, &db.url, &["apply", "--repair"]).code(0);
    assert_eq!(version(), [V1]);
    now(&p, &db.url, &["apply"]).code(0).says(&format!("rolled back to {V1} by strata rollback"));
    assert_eq!(version(), [V3]);
    now(&p, &db.url, &["status"]).code(0);
    let history = pg_strings(
        &db.url,
        "SELECT version || ' ' || kind || ' ' || status FROM strata_migration_history ORDER BY id",
    );
    assert!(history.contains(&format!("{V1} rollback ok")), "{history:?}");
}

#[test]
fn sqlite_rollback_by_steps() {
    let p = store_at_v3(true);
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", tmp.path().join("store.db").display());
    now(&p, &url, &["apply"]).code(0);
    // Dropping a column is destructive even when it holds no data yet: --force.
    now(&p, &url, &["rollback", "--steps", "1"]).code(3).says("0 row(s) with a value are lost");
    now(&p, &url, &["rollback", "--steps", "1", "--force"])
        .code(0)
        .says(&format!("Rolled back from {V3} to {V2}"));
    let status = now(&p, &url, &["status", "--format", "json"]);
    status.code(2);
    let j: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(j["installed"], V2);
    assert!(j["rolled_back_by"].as_str().unwrap().starts_with("strata rollback"), "{j}");
    now(&p, &url, &["rollback", "--steps", "1", "--force"]).code(0);
    now(&p, &url, &["apply"]).code(0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&now(&p, &url, &["status", "--format", "json"]).stdout)
            .unwrap()["installed"],
        V3
    );
}

#[test]
fn rollback_errors_say_what_is_wrong_and_change_nothing() {
    let p = store_at_v3(false);
    let db = PgScratch::new("rollback_errors");
    now(&p, &db.url, &["rollback", "--to", V1])
        .code(1)
        .says("nothing to roll back: the database has no version");
    now(&p, &db.url, &["apply"]).code(0);
    now(&p, &db.url, &["rollback", "--to", "20990101000000000"]).code(1).says("no such version (available: ");
    now(&p, &db.url, &["rollback", "--to", V3])
        .code(1)
        .says(&format!("{V3} is not older than the installed version {V3}"));
    now(&p, &db.url, &["rollback", "--steps", "3"]).code(1).says("only 2 older version(s) exist");
    now(&p, &db.url, &["rollback", "--steps", "0"]).code(1).says("--steps must be at least 1");

    // Another run holds the lock: the rollback waits, then gives up naming the holder.
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
    now(&p, &db.url, &["rollback", "--steps", "1", "--force", "--lock-timeout", "500ms"])
        .code(1)
        .says("could not take the migration lock within 500ms");
    holder.join().unwrap();
    assert_eq!(pg_strings(&db.url, "SELECT version FROM serverpod_migrations WHERE module = 'store'"), [V3]);
}

/// The down migration assumes every version it undoes ran as its definition says: a skipped
/// version or an edited applied file is refused (with the reason) unless --force.
#[test]
fn rollback_refuses_a_dirty_range_unless_forced() {
    // A skipped version in the range.
    let p = store_at_v3(true);
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", tmp.path().join("store.db").display());
    now(&p, &url, &["apply", "--to", V2]).code(0);
    let v3 = p.dir.join(format!("migrations/{V3}/migration.sql"));
    let good = fs::read_to_string(&v3).unwrap();
    fs::write(&v3, good.replace("COMMIT;", "SELECT * FROM no_such_table;\nCOMMIT;")).unwrap();
    now(&p, &url, &["apply"]).code(1);
    now(&p, &url, &["apply", "--skip-failed", V3, "--reason", "applied by hand"]).code(0);
    now(&p, &url, &["rollback", "--steps", "1"]).code(3).says(&format!("Rollback refused: {V3} was skipped"));
    let status = |p: &Project, url: &str| {
        serde_json::from_str::<serde_json::Value>(&now(p, url, &["status", "--format", "json"]).stdout)
            .unwrap()
    };
    assert_eq!(status(&p, &url)["installed"], V3, "nothing changed");

    // An applied file edited afterwards.
    let p2 = store_at_v3(true);
    let tmp2 = tempfile::tempdir().unwrap();
    let url2 = format!("sqlite:{}", tmp2.path().join("store.db").display());
    now(&p2, &url2, &["apply", "--to", V1]).code(0);
    now(&p2, &url2, &["apply"]).code(0);
    let v3 = p2.dir.join(format!("migrations/{V3}/migration.sql"));
    fs::write(&v3, fs::read_to_string(&v3).unwrap() + "-- edited\n").unwrap();
    now(&p2, &url2, &["rollback", "--steps", "1"])
        .code(3)
        .says(&format!("{V3} has an edited migration file"));
    assert_eq!(status(&p2, &url2)["installed"], V3);
    now(&p2, &url2, &["rollback", "--steps", "1", "--force"]).code(0);
    assert_eq!(status(&p2, &url2)["installed"], V2);
}
