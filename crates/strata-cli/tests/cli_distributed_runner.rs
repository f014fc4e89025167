//! A project whose dialect is YugabyteDB, applied to the local PostgreSQL (which accepts
//! everything YugabyteDB's files contain): the runner must obey the dialect's capabilities.
//! Without transactional DDL it runs the file statement by statement with progress; without
//! advisory locks it takes the lease; an index build runs outside any transaction (PostgreSQL
//! refuses `CREATE INDEX CONCURRENTLY` inside one, so a wrong placement fails here); and the
//! file's `serverpod_migrations` upsert runs last, with the `ok` row.

mod common;

use common::{pg_exec, pg_strings, Project, LATER, V1};

fn yugabyte_store() -> Project {
    let p = Project::store();
    std::fs::write(p.dir.join("strata.toml"), "dialect = \"yugabytedb\"\n").unwrap();
    std::fs::remove_dir_all(p.dir.join("migrations")).unwrap();
    p.run_at(V1, &["create-migration"]).code(0);
    p
}

fn latest_version(p: &Project) -> String {
    p.versions().pop().unwrap()
}

#[test]
fn a_yugabytedb_project_runs_statement_by_statement_under_the_lease() {
    let db = strata_testdb::PgScratch::new("yb_runner");
    let p = yugabyte_store();
    let v1 = latest_version(&p);
    let sql = std::fs::read_to_string(p.dir.join(format!("migrations/{v1}/definition.sql"))).unwrap();
    assert!(!sql.lines().any(|l| l == "BEGIN;" || l == "COMMIT;"), "no transaction lines:\n{sql}");
    p.run(&["apply", "--database-url", &db.url]).code(0);

    p.add_store_field("company", "city: String?", LATER);
    let v2 = latest_version(&p);
    assert_ne!(v1, v2);
    // A hand-written online index build, after the file's upsert.
    let path = p.dir.join(format!("migrations/{v2}/migration.sql"));
    let mut migration = std::fs::read_to_string(&path).unwrap();
    migration.push_str("\nCREATE INDEX CONCURRENTLY \"company_city_idx\" ON \"company\" (\"city\");\n");
    std::fs::write(&path, migration).unwrap();
    p.run(&["apply", "--database-url", &db.url]).code(0);

    let installed = pg_strings(&db.url, "SELECT version FROM serverpod_migrations WHERE module = 'store'");
    assert_eq!(installed, [v2.as_str()]);
    let valid = "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'company_city_idx'::regclass";
    assert_eq!(pg_strings(&db.url, valid), ["true"]);
    // Progress per statement (ADD COLUMN, the version table and its index, the hand-written
    // index); the upsert is not counted among them (it runs with the ok row).
    let progress = format!(
        "SELECT status || ' ' || statements_done || '/' || statement_count FROM strata_migration_history \
         WHERE version = '{v2}'"
    );
    assert_eq!(pg_strings(&db.url, &progress), ["ok 4/4"]);
    // The dialect has no advisory locks: both runs took the lease.
    let lease = pg_strings(&db.url, "SELECT fence::text || ' ' || holder FROM strata_migration_lease");
    assert_eq!(lease, ["2 "]);
}

#[test]
fn a_failed_statement_resumes_after_the_completed_ones_and_the_version_moves_once() {
    let db = strata_testdb::PgScratch::new("yb_resume");
    let p = yugabyte_store();
    p.run(&["apply", "--database-url", &db.url]).code(0);
    p.add_store_field("company", "city: String?", LATER);
    let v2 = latest_version(&p);
    let path = p.dir.join(format!("migrations/{v2}/migration.sql"));
    let good = std::fs::read_to_string(&path).unwrap();
    // A last statement (after ADD COLUMN and the version table with its index) that fails until
    // the table it writes exists.
    std::fs::write(&path, format!("{good}\nINSERT INTO audit_log SELECT 'city added';\n")).unwrap();
    p.run(&["apply", "--database-url", &db.url]).code(1).says("failed at statement 4 of 4");
    let installed = "SELECT version FROM serverpod_migrations WHERE module = 'store'";
    assert_ne!(pg_strings(&db.url, installed), [v2.as_str()], "the version moves only when the file is done");

    pg_exec(&db.url, "CREATE TABLE audit_log (message text)");
    p.run(&["apply", "--database-url", &db.url]).code(0);
    assert_eq!(pg_strings(&db.url, installed), [v2.as_str()]);
    assert_eq!(pg_strings(&db.url, "SELECT message FROM audit_log"), ["city added"]);
    let attempts = format!(
        "SELECT status || ' ' || statements_done FROM strata_migration_history WHERE version = '{v2}' ORDER BY started_at"
    );
    assert_eq!(pg_strings(&db.url, &attempts), ["failed 3", "ok 4"]);
}

#[test]
fn a_cockroachdb_project_runs_on_a_server_with_unique_rowid() {
    let db = strata_testdb::PgScratch::new("crdb_runner");
    let p = Project::store();
    std::fs::write(p.dir.join("strata.toml"), "dialect = \"cockroachdb\"\n").unwrap();
    std::fs::remove_dir_all(p.dir.join("migrations")).unwrap();
    p.run_at(V1, &["create-migration"]).code(0);
    // PostgreSQL has no unique_rowid(); a stand-in lets CockroachDB's files run here.
    pg_exec(
        &db.url,
        "CREATE SEQUENCE rowid_seq START 1000; \
         CREATE FUNCTION unique_rowid() RETURNS bigint LANGUAGE sql AS 'SELECT nextval(''rowid_seq'')';",
    );
    p.run(&["apply", "--database-url", &db.url]).code(0);
    pg_exec(&db.url, "INSERT INTO company (name, rating) VALUES ('acme', 1)");
    // 1000 went to the serverpod_migrations row, whose id is unique_rowid() too.
    assert_eq!(pg_strings(&db.url, "SELECT id::text FROM serverpod_migrations"), ["1000"]);
    assert_eq!(pg_strings(&db.url, "SELECT id::text FROM company"), ["1001"]);
    let default = "SELECT column_default FROM information_schema.columns WHERE table_name = 'company' AND column_name = 'id'";
    assert_eq!(pg_strings(&db.url, default), ["unique_rowid()"]);
    let rows = "SELECT kind || ' ' || status FROM strata_migration_history";
    assert_eq!(pg_strings(&db.url, rows), ["definition ok"]);
    assert_eq!(pg_strings(&db.url, "SELECT fence::text FROM strata_migration_lease"), ["1"]);
}

#[test]
fn a_repair_follows_the_project_dialect_and_runs_statement_by_statement() {
    let db = strata_testdb::PgScratch::new("yb_repair");
    let p = yugabyte_store();
    p.run(&["apply", "--database-url", &db.url]).code(0);
    pg_exec(&db.url, "ALTER TABLE company ADD COLUMN stray text");

    p.run(&["create-repair-migration", "--database-url", &db.url, "--force"]).code(0);
    let dir = p.dir.join("repair-migration");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let sql = std::fs::read_to_string(&files[0]).unwrap();
    // Written in the project's dialect, not the driver's: no transaction lines, which YugabyteDB
    // cannot honour around DDL (PostgreSQL's repair file has them).
    assert!(!sql.lines().any(|l| l == "BEGIN;" || l == "COMMIT;"), "no transaction lines:\n{sql}");
    assert!(sql.contains("DROP COLUMN \"stray\""), "{sql}");

    p.run(&["apply", "--repair", "--database-url", &db.url]).code(0);
    let stray = "SELECT count(*)::text FROM information_schema.columns WHERE column_name = 'stray'";
    assert_eq!(pg_strings(&db.url, stray), ["0"]);
    p.run(&["diff", "--from", &format!("db:{}", db.url), "--to", "latest"]).code(0);
}
