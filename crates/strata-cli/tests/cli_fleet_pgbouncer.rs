//! Fleets and concurrent applies through pgbouncer in `pool_mode = transaction` (started by
//! `tests/pgbouncer/start.sh`, which `.ci/run` runs), with `pooling=transaction` in the URLs:
//! every migration runs exactly once, tenant schemas stay apart, and no lock is left behind on a
//! pooled server connection.

mod common;

use std::process::{Command, Stdio};

use common::{pg_exec, pg_strings, Project, V1};
use strata_testdb::PgScratch;

const V2: &str = "20260102000000001";
const V3: &str = "20260103000000001";

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}\n{stdout}"))
}

/// Advisory locks still held on the server for `db` (none may outlive a run).
fn advisory_locks(db: &PgScratch) -> Vec<String> {
    pg_strings(
        &PgScratch::admin_url(),
        &format!(
            "SELECT l.pid::text FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
             WHERE l.locktype = 'advisory' AND d.datname = '{}'",
            db.name
        ),
    )
}

#[test]
fn a_fleet_with_tenant_schemas_through_pgbouncer() {
    let p = Project::store();
    let dbs = PgScratch::many("bouncerfleet", 5);
    let tenants = PgScratch::new("bouncertenants");
    pg_exec(&tenants.url, "CREATE SCHEMA t1; CREATE SCHEMA t2");
    pg_exec(&dbs[2].url, "CREATE TABLE company (id int)");
    let mut text: String = dbs.iter().map(|d| format!("{}\n", d.pgbouncer_url())).collect();
    text.push_str(&format!(
        "schemas {} SELECT nspname FROM pg_namespace WHERE nspname IN ('t1', 't2') ORDER BY 1\n",
        tenants.pgbouncer_url()
    ));
    let file = p.dir.join("fleet.txt");
    std::fs::write(&file, text).unwrap();
    let file = file.display().to_string();

    let run = p.run(&["apply", "--targets", &file, "--on-error", "continue", "--format", "json"]);
    run.code(1).stderr_says("7 target(s): 6 applied, 0 up to date, 1 failed, 0 not started");
    let report = json(&run.stdout);
    assert!(
        report["targets"][2]["error"].as_str().unwrap().contains("\"company\" already exists"),
        "{report}"
    );

    pg_exec(&dbs[2].url, "DROP TABLE company");
    p.run(&["apply", "--targets", &file]).code(0).stderr_says("7 target(s): 1 applied, 6 up to date");
    p.run(&["status", "--targets", &file]).code(0).says("7 up to date");
    for schema in ["t1", "t2"] {
        let tables = pg_strings(
            &tenants.url,
            &format!("SELECT tablename::text FROM pg_tables WHERE schemaname = '{schema}' ORDER BY 1"),
        );
        assert_eq!(tables, ["company", "employee", "serverpod_migrations", "strata_migration_history"]);
    }
    assert!(pg_strings(&tenants.url, "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
        .is_empty());
    for db in dbs.iter().chain([&tenants]) {
        assert!(advisory_locks(db).is_empty(), "a lock outlived the run on {}", db.name);
    }
}

#[test]
fn concurrent_applies_through_pgbouncer_run_each_migration_exactly_once() {
    // V1 directly, then two migrations for the concurrent runs to race on.
    let p = Project::store();
    let db = PgScratch::new("bouncerconcurrent");
    p.run(&["apply", "--database-url", &db.url]).code(0);
    p.add_store_field("company", "city: String?", V2);
    p.add_store_field("employee", "nickname: String?", V3);
    let url = db.pgbouncer_url();
    let children: Vec<_> = (0..6)
        .map(|_| {
            Command::new(common::BIN)
                .args(["apply", "--database-url", &url])
                .current_dir(&p.dir)
                .env_remove("DATABASE_URL")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "an apply failed:\n{stderr}");
    }
    let ok = pg_strings(
        &db.url,
        "SELECT version FROM strata_migration_history WHERE status = 'ok' ORDER BY version",
    );
    assert_eq!(ok, [V1, V2, V3], "each version ran exactly once");
    let installed = pg_strings(&db.url, "SELECT version FROM serverpod_migrations WHERE module = 'store'");
    assert_eq!(installed, [V3]);
    let columns = pg_strings(
        &db.url,
        "SELECT column_name::text FROM information_schema.columns WHERE column_name IN ('city', 'nickname') ORDER BY 1",
    );
    assert_eq!(columns, ["city", "nickname"]);
    assert!(advisory_locks(&db).is_empty());
}

#[test]
fn named_statements_another_client_left_on_the_pool_do_not_disturb_strata() {
    // Another sqlx application through the same pgbouncer leaves `sqlx_s_1`, … on the server
    // connections it was handed; strata's session statements are unnamed, so they never collide.
    use sqlx::Connection;
    let p = Project::store();
    let db = PgScratch::new("bouncerpoisoned");
    let plain = db.pgbouncer_url().replace("?pooling=transaction", "");
    common::block_on(async {
        let mut other = sqlx::PgConnection::connect(&plain).await.unwrap();
        for n in 0..3i64 {
            let _: i64 = sqlx::query_scalar("SELECT $1::bigint").bind(n).fetch_one(&mut other).await.unwrap();
        }
        let left: Vec<String> = sqlx::query_scalar("SELECT name FROM pg_prepared_statements")
            .fetch_all(&mut other)
            .await
            .unwrap();
        assert!(left.iter().any(|n| n.starts_with("sqlx_s_")), "{left:?}");
        other.close().await.unwrap();
    });
    p.run(&["apply", "--database-url", &db.pgbouncer_url()]).code(0);
    p.run(&["status", "--database-url", &db.pgbouncer_url()]).code(0);
}
