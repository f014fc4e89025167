//! The live-data preflight end to end: `create-migration --database-url` blocked by data even
//! with `--force`, `--force-data` overriding, clean data reported safe; `apply --preflight`
//! stopping before anything runs, and the failure it predicted being real.
//!
//! The change in every case: `employee.email` becomes NOT NULL while an employee has no email.

mod common;

use std::fs;

use common::{pg_exec, pg_strings, Project, Run, V1};
use sqlx::Connection;
use strata_testdb::{PgScratch, SqliteScratch};

const V2: &str = "20260102000000001";
const ROWS: &str = "INSERT INTO company (name, rating) VALUES ('acme', 1.0);
INSERT INTO employee (name, active, \"companyId\") VALUES ('ann', true, 1);";

/// Makes `employee.email` NOT NULL in the models (the next migration has that change).
fn require_email(p: &Project) {
    let path = p.dir.join("lib/src/models/employee.spy.yaml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("email: String?", "email: String")).unwrap();
}

fn at(p: &Project, now: &str, url: &str, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--database-url", url]);
    p.run_at(now, &all)
}

fn sqlite_exec(path: &std::path::Path, sql: &str) {
    common::block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display())).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap_or_else(|e| panic!("{e}\n{sql}"));
        c.close().await.unwrap();
    })
}

#[test]
fn postgres_create_migration_is_blocked_by_data_even_with_force_and_force_data_overrides() {
    let p = Project::store();
    let db = PgScratch::new("cli_preflight");
    at(&p, V1, &db.url, &["apply"]).code(0);
    pg_exec(&db.url, ROWS);
    require_email(&p);
    let before = p.files();

    at(&p, V2, &db.url, &["create-migration"])
        .code(3)
        .stderr_says("will fail: 1 NULL in employee.email")
        .stderr_says("--force-data");
    let forced = at(&p, V2, &db.url, &["create-migration", "--force"]);
    forced.code(3).stderr_says("will fail: 1 NULL in employee.email").stderr_says("nothing was written");
    assert!(forced.stdout.is_empty(), "the report is on stderr: {}", forced.stdout);
    assert_eq!(p.files(), before, "a blocked run writes nothing");

    let json = at(&p, V2, &db.url, &["create-migration", "--force", "--json"]);
    json.code(3);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["outcome"], "blocked_by_data");
    assert_eq!(value["preflight"][0]["verdict"], "will_fail");
    assert_eq!(value["preflight"][0]["object"], "employee.email");

    // --check (a CI gate) reports the data but keeps its own exit codes.
    let check = at(&p, V2, &db.url, &["create-migration", "--check"]);
    check.code(2).stderr_says("will fail: 1 NULL in employee.email");
    assert!(!check.stderr.contains("Migration aborted"), "{}", check.stderr);

    at(&p, V2, &db.url, &["create-migration", "--force-data"])
        .code(0)
        .stderr_says("will fail: 1 NULL in employee.email")
        .says(&format!("Migration created: migrations/{V2}"));
    assert!(p.dir.join("migrations").join(V2).join("migration.sql").exists());
}

#[test]
fn sqlite_create_migration_with_clean_data_says_safe_and_writes() {
    let p = Project::store_on(true);
    let db = SqliteScratch::new("cli_preflight");
    let url = format!("sqlite:{}", db.path.display());
    at(&p, V1, &url, &["apply"]).code(0);
    sqlite_exec(&db.path, ROWS);
    sqlite_exec(&db.path, "UPDATE employee SET email = 'ann@example.com'");
    require_email(&p);

    // The warning still needs --force; the data does not stop it.
    at(&p, V2, &url, &["create-migration"]).code(3).stderr_says("safe: no NULLs in employee.email");
    let created = at(&p, V2, &url, &["create-migration", "--force", "--json"]);
    created.code(0).stderr_says("safe: no NULLs in employee.email");
    let value: serde_json::Value = serde_json::from_str(&created.stdout).unwrap();
    assert_eq!(value["outcome"], "created");
    assert_eq!(value["preflight"][0]["verdict"], "safe");
    assert_eq!(value["preflight"][0]["message"], "safe: no NULLs in employee.email");
    assert!(p.dir.join("migrations").join(V2).join("migration.json").exists());
}

#[test]
fn sqlite_apply_preflight_stops_before_anything_runs_and_its_prediction_is_true() {
    let p = Project::store_on(true);
    let db = SqliteScratch::new("cli_preflight_apply");
    let url = format!("sqlite:{}", db.path.display());
    at(&p, V1, &url, &["apply"]).code(0);
    sqlite_exec(&db.path, ROWS);
    require_email(&p);
    p.run_at(V2, &["create-migration", "--force"]).code(0);

    at(&p, V2, &url, &["apply", "--preflight"])
        .code(3)
        .stderr_says(&format!("preflight {V2}:"))
        .stderr_says("will fail: 1 NULL in employee.email")
        .stderr_says("Apply stopped before anything ran");
    at(&p, V2, &url, &["status"]).code(2).says("pending");

    // Overridden, the migration runs and fails exactly as predicted (and is rolled back).
    at(&p, V2, &url, &["apply", "--preflight", "--force-data"]).code(1).says("NOT NULL");

    sqlite_exec(&db.path, "UPDATE employee SET email = 'ann@example.com'");
    at(&p, V2, &url, &["apply", "--preflight"]).code(0).stderr_says("safe: no NULLs in employee.email");
    at(&p, V2, &url, &["status"]).code(0);
}

#[test]
fn postgres_apply_without_preflight_is_unchanged_and_with_it_blocks() {
    let p = Project::store();
    let db = PgScratch::new("cli_preflight_apply");
    at(&p, V1, &db.url, &["apply"]).code(0);
    pg_exec(&db.url, ROWS);
    require_email(&p);
    p.run_at(V2, &["create-migration", "--force"]).code(0);
    let version = || pg_strings(&db.url, "SELECT version FROM serverpod_migrations WHERE module = 'store'");

    at(&p, V2, &db.url, &["apply", "--preflight"]).code(3).stderr_says("will fail: 1 NULL in employee.email");
    assert_eq!(version(), [V1]);
    let plain = at(&p, V2, &db.url, &["apply"]);
    // No preflight report: the migration runs and fails as the preflight said it would.
    plain.code(1).says("contains null values");
    assert!(!plain.stderr.contains("will fail:"), "{}", plain.stderr);
    assert_eq!(version(), [V1]);
}

#[test]
fn a_zero_preflight_timeout_is_refused() {
    let p = Project::store_on(true);
    p.run_at(V2, &["apply", "--preflight", "--preflight-timeout", "0"])
        .code(1)
        .stderr_says("the preflight timeout must be more than zero");
}

/// The new migration starts from the latest version on disk: a database behind it is named.
#[test]
fn create_migration_says_when_the_database_is_not_at_the_latest_version() {
    let p = Project::store_on(true);
    let db = SqliteScratch::new("cli_preflight_behind");
    let url = format!("sqlite:{}", db.path.display());
    at(&p, V1, &url, &["apply"]).code(0);
    sqlite_exec(&db.path, ROWS);
    p.add_store_field("company", "website: String?", V2);
    require_email(&p);
    at(&p, "20260103000000001", &url, &["create-migration", "--force"])
        .code(3)
        .stderr_says(&format!("warning: the database is at {V1}, not at the latest version {V2}"))
        .stderr_says("will fail: 1 NULL in employee.email");
}

/// Invalid models are reported exactly as without a database (the same located list and
/// summary), and nothing connects.
#[test]
fn invalid_models_are_reported_with_locations_before_any_preflight() {
    let p = Project::store_on(true);
    let path = p.dir.join("lib/src/models/employee.spy.yaml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("email: String?", "email: NoSuchType?")).unwrap();
    let run = at(&p, V2, "postgres://nobody@127.0.0.1:1/none", &["create-migration"]);
    run.code(1).stderr_says("employee.spy.yaml:5:10: unknown type").stderr_says("error(s) in model files");
    assert!(!run.stderr.contains("preflight"), "{}", run.stderr);
}

/// `lint --database-url`: what the live data shows is attached to the lint finding about the
/// same column, for versions the database has not applied; applied ones are not checked.
#[test]
fn sqlite_lint_with_a_database_attaches_the_data_to_its_findings() {
    let p = Project::store_on(true);
    let db = SqliteScratch::new("cli_preflight_lint");
    let url = format!("sqlite:{}", db.path.display());
    at(&p, V1, &url, &["apply"]).code(0);
    sqlite_exec(&db.path, ROWS);
    sqlite_exec(&db.path, "UPDATE employee SET email = 'ann@example.com'");
    let model = p.dir.join("lib/src/models/employee.spy.yaml");
    let text = fs::read_to_string(&model).unwrap();
    fs::write(
        &model,
        text.replace("  email: String?\n", "").replace("  employee_email_idx:\n    fields: email\n", ""),
    )
    .unwrap();
    p.run_at(V2, &["create-migration", "--force"]).code(0);

    let run = at(&p, V2, &url, &["lint"]);
    run.code(2).stderr_says(&format!("preflight {V2}:"));
    let ds102 = run.stdout.lines().position(|l| l.contains(" DS102 ")).expect(&run.stdout);
    let data = run.stdout.lines().nth(ds102 + 1).unwrap_or_default();
    assert!(
        data.starts_with("    data: loses data: 1 ") && data.contains("employee.email"),
        "{}",
        run.stdout
    );
    // Without a database, the same finding carries no data.
    assert!(!p.run_at(V2, &["lint"]).stdout.contains("data:"));

    // Once applied, the version ran on this data: it is not checked again.
    at(&p, V2, &url, &["apply", "--force-data"]).code(0);
    at(&p, V2, &url, &["lint", "--all"])
        .stderr_says(&format!("preflight {V2}: already applied on this database"));
}
