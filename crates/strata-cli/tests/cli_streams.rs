//! Machine output goes to stdout alone, human reports to stderr: `strata diff --from db:URL
//! --to latest > fix.sql` is a file psql runs, `--format json` is always JSON (also when in
//! sync), and `inspect`, `status --format json` and `create-migration --json` print nothing but
//! their JSON or SQL on stdout. Checked through the binary against a PostgreSQL scratch database.

mod common;

use std::process::Command;

use common::*;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use strata_testdb::PgScratch;

/// The store project applied to a fresh scratch database.
fn applied_store() -> (PgScratch, Project) {
    let db = PgScratch::new("strata_cli_streams");
    let p = Project::store();
    p.run(&["apply", "--database-url", &db.url]).code(0);
    (db, p)
}

#[track_caller]
fn parse_json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"))
}

#[track_caller]
fn assert_parses_as_sql(stdout: &str) {
    if let Err(e) = Parser::parse_sql(&PostgreSqlDialect {}, stdout) {
        panic!("stdout is not SQL ({e}):\n{stdout}");
    }
}

const DRIFT: &str = "ALTER TABLE employee ADD COLUMN legacy text; DROP INDEX company_name_idx;";

#[test]
fn drifted_diff_prints_sql_psql_runs_and_the_report_on_stderr() {
    let (db, p) = applied_store();
    pg_exec(&db.url, DRIFT);
    let side = format!("db:{}", db.url);
    let run = p.run(&["diff", "--from", &side, "--to", "latest"]);
    run.code(2);
    let live = format!("db:…/{}", db.name);
    run.stderr_says(&format!("Drift between {live} and latest (2 differences):"))
        .stderr_says(&format!("column \"legacy\" exists in {live} but not in latest"));
    assert!(!run.stdout.contains("Drift") && !run.stdout.contains("differences"), "{}", run.stdout);
    assert!(run.stdout.starts_with("BEGIN;"), "only the migration on stdout:\n{}", run.stdout);
    assert_parses_as_sql(&run.stdout);

    let file = p.dir.join("fix.sql");
    std::fs::write(&file, &run.stdout).unwrap();
    let psql = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url, "-f"])
        .arg(&file)
        .output()
        .expect("psql is installed with the PostgreSQL client");
    assert!(psql.status.success(), "psql failed:\n{}", String::from_utf8_lossy(&psql.stderr));

    let run = p.run(&["diff", "--from", &side, "--to", "latest"]);
    run.code(0).stderr_says(&format!("In sync: {live} matches latest."));
    assert_eq!(run.stdout, "", "in sync: no SQL at all");
}

#[test]
fn in_sync_json_is_json_and_in_sync_is_on_stderr() {
    let (db, p) = applied_store();
    let side = format!("db:{}", db.url);
    for (from, to) in [(side.as_str(), "latest"), ("latest", side.as_str())] {
        let run = p.run(&["diff", "--from", from, "--to", to, "--format", "json"]);
        run.code(0).stderr_says("In sync:");
        let json = parse_json(&run.stdout);
        assert_eq!(json["actions"], serde_json::json!([]), "{}", run.stdout);
    }
    // Without a live side too: equal definitions give the empty migration.json.
    let run = p.run(&["diff", "--from", "latest", "--to", V1, "--format", "json"]);
    run.code(0);
    assert_eq!(parse_json(&run.stdout)["actions"], serde_json::json!([]));

    pg_exec(&db.url, DRIFT);
    let run = p.run(&["diff", "--from", &side, "--to", "latest", "--format", "json"]);
    run.code(2).stderr_says(&format!("Drift between db:…/{} and latest", db.name));
    assert_eq!(parse_json(&run.stdout)["actions"][0]["type"], "alterTable");
}

#[test]
fn inspect_prints_only_json_or_sql() {
    let (db, p) = applied_store();
    pg_exec(&db.url, "CREATE VIEW big AS SELECT * FROM company;");
    let run = p.run(&["inspect", "--database-url", &db.url]);
    run.code(0).stderr_says("database: ").stderr_says("view \"public\".\"big\"");
    let json = parse_json(&run.stdout);
    assert!(json["tables"].as_array().is_some_and(|t| !t.is_empty()), "{}", run.stdout);

    let run = p.run(&["inspect", "--database-url", &db.url, "--format", "sql"]);
    run.code(0).stderr_says("database: ");
    assert!(run.stdout.starts_with("BEGIN;"), "{}", run.stdout);
    assert_parses_as_sql(&run.stdout);
}

#[test]
fn status_and_create_migration_json_are_json_alone() {
    let (db, p) = applied_store();
    let run = p.run(&["status", "--database-url", &db.url, "--format", "json"]);
    run.code(0);
    assert_eq!(parse_json(&run.stdout)["up_to_date"], true);

    let run = p.run(&["create-migration", "--json"]);
    run.code(0);
    assert_eq!(parse_json(&run.stdout)["outcome"], "no_changes");
    std::fs::write(
        p.dir.join("lib/src/models/company.spy.yaml"),
        "class: Company\ntable: company\nfields:\n  name: String\n  rating: double, default=0.5\n",
    )
    .unwrap();
    // A dropped column blocks (warnings), a dry run shows the SQL inside the JSON.
    let run = p.run(&["create-migration", "--json"]);
    run.code(3);
    assert_eq!(parse_json(&run.stdout)["outcome"], "blocked");
    let run = p.run(&["create-migration", "--json", "--dry-run", "--force"]);
    run.code(0);
    let json = parse_json(&run.stdout);
    assert!(json["migration_sql"].as_str().is_some_and(|s| s.contains("DROP COLUMN")), "{json}");
}
