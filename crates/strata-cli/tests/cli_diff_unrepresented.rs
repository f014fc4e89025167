//! `strata diff` never says "In sync" over a difference it cannot diff: objects strata cannot
//! represent (extended statistics, sequences, …) that differ between the two sides are named
//! on stderr with exit 2, unless `--ignore KIND` leaves that kind alone. Between two live
//! PostgreSQL databases, views, functions, triggers, policies, comments, grants and check
//! constraints are written as SQL instead (cli_diff_objects, cli_constraints_live); against a
//! definition file they are still only reported.

mod common;

use common::{pg_exec, Project};
use strata_testdb::PgScratch;

fn two_applied_databases(p: &Project) -> (PgScratch, PgScratch) {
    let (a, b) = (PgScratch::new("unrep_a"), PgScratch::new("unrep_b"));
    p.run(&["apply", "--database-url", &a.url]).code(0);
    p.run(&["apply", "--database-url", &b.url]).code(0);
    (a, b)
}

#[test]
fn objects_strata_cannot_diff_that_differ_are_not_in_sync() {
    let p = Project::store();
    let (a, b) = two_applied_databases(&p);
    let (from, to) = (format!("db:{}", a.url), format!("db:{}", b.url));
    p.run(&["diff", "--from", &from, "--to", &to]).code(0).stderr_says("In sync");

    pg_exec(
        &b.url,
        "CREATE VIEW active_employee AS SELECT * FROM employee WHERE active; \
                     ALTER TABLE company ADD CONSTRAINT rating_range CHECK (rating BETWEEN 0 AND 1); \
                     CREATE STATISTICS company_stats ON id, rating FROM company;",
    );
    let run = p.run(&["diff", "--from", &from, "--to", &to]);
    run.code(2)
        .stderr_says("Objects strata cannot diff that differ between the two sides:")
        .stderr_says("extended statistics \"company_stats\" on table \"public\".\"company\"");
    assert!(!run.stderr.contains("In sync:"), "{}", run.stderr);
    let reported_view = run.stderr.lines().any(|l| l.contains("only in") && l.contains("active_employee"));
    assert!(!reported_view, "{}", run.stderr);
    // Between two live PostgreSQL databases the view and the check are written, not reported.
    assert!(run.stdout.contains("CREATE VIEW \"public\".\"active_employee\""), "{}", run.stdout);
    assert!(run.stdout.contains("ADD CONSTRAINT \"rating_range\" CHECK"), "{}", run.stdout);
    assert!(
        !run.stderr.lines().any(|l| l.contains("only in") && l.contains("rating_range")),
        "{}",
        run.stderr
    );
    // Left alone on purpose, kind by kind (the check is SQL, so the diff still differs by it).
    p.run(&["diff", "--from", &from, "--to", &to, "--ignore", "view"]).code(2).stderr_says("company_stats");
    let run =
        p.run(&["diff", "--from", &from, "--to", &to, "--ignore", "view", "--ignore", "extended-statistics"]);
    run.code(2);
    assert!(
        !run.stderr.lines().any(|l| l.contains("only in") && l.contains("company_stats"))
            && run.stdout.contains("rating_range"),
        "{}",
        run.stderr
    );
    // Without the check, only what strata cannot diff is left: no SQL, and not in sync.
    pg_exec(&b.url, "ALTER TABLE company DROP CONSTRAINT rating_range;");
    p.run(&["diff", "--from", &from, "--to", &to, "--ignore", "view"])
        .code(2)
        .stderr_says("Not in sync: 1 object(s) strata cannot diff differ");
    // A file side has none of them, so against `latest` the live one differs too.
    p.run(&["diff", "--from", &to, "--to", "latest"]).code(2).stderr_says("only in db:");
}

#[test]
fn an_unknown_ignore_kind_lists_the_kinds() {
    let p = Project::store();
    p.run(&["diff", "--from", "latest", "--to", "latest", "--ignore", "views"])
        .code(1)
        .stderr_says("--ignore views: no such kind (kinds: check-constraint, ");
}

/// The same objects on both sides, one of them changed on one side only: the change is named.
/// Before, only names were compared (a view's query, a function's body, a policy's expression
/// and a sequence's parameters were not), and comments, grants, extensions and other schemas were
/// not read at all: every case below was "In sync".
#[test]
fn a_changed_definition_or_an_unread_kind_is_not_in_sync() {
    const BASE: &str = "CREATE VIEW v AS SELECT id FROM employee; \
        CREATE FUNCTION f(n int) RETURNS int LANGUAGE sql AS 'SELECT n + 1'; \
        CREATE SEQUENCE free_seq START 1; \
        ALTER TABLE employee ENABLE ROW LEVEL SECURITY; \
        CREATE POLICY p ON employee USING (active); \
        CREATE SCHEMA side; CREATE TABLE side.t (a int); \
        CREATE MATERIALIZED VIEW mv AS SELECT id FROM employee; CREATE TYPE mood AS ENUM ('ok');";
    // The kinds strata writes SQL for between two live databases (cli_diff_objects) are still
    // named against a definition file, which cannot hold them.
    let cases = [
        ("view query", "CREATE OR REPLACE VIEW v AS SELECT id FROM employee WHERE active", "view"),
        (
            "function body",
            "CREATE OR REPLACE FUNCTION f(n int) RETURNS int LANGUAGE sql AS 'SELECT n + 2'",
            "function",
        ),
        ("sequence", "ALTER SEQUENCE free_seq INCREMENT 5", "sequence"),
        ("policy", "ALTER POLICY p ON employee USING (NOT active)", "row-level-security-policy"),
        ("comment", "COMMENT ON TABLE employee IS 'staff'", "comment"),
        ("grant", "GRANT SELECT ON employee TO PUBLIC", "grant"),
        ("extension", "CREATE EXTENSION citext", "extension"),
        ("other schema", "ALTER TABLE side.t ADD COLUMN b text", "schema"),
        ("forced row-level security", "ALTER TABLE employee FORCE ROW LEVEL SECURITY", "row-level-security"),
        ("materialized view index", "CREATE INDEX mv_id ON mv (id)", "index"),
        ("grant on a type", "REVOKE USAGE ON TYPE mood FROM PUBLIC", "grant"),
    ];
    let p = Project::store();
    for (what, change, kind) in cases {
        let (a, b) = two_applied_databases(&p);
        pg_exec(&a.url, BASE);
        pg_exec(&b.url, BASE);
        let (from, to) = (format!("db:{}", a.url), format!("db:{}", b.url));
        p.run(&["diff", "--from", &from, "--to", &to]).code(0).stderr_says("In sync");
        pg_exec(&b.url, change);
        let run = p.run(&["diff", "--from", &from, "--to", &to]);
        assert_eq!(run.code, 2, "{what}: {}", run.stderr);
        let written = run.stdout.contains("BEGIN;");
        assert!(written || run.stderr.contains("only in db:"), "{what}: {}", run.stderr);
        assert!(!run.stderr.contains("In sync:"), "{what}: {}", run.stderr);
        p.run(&["diff", "--from", &from, "--to", &to, "--ignore", kind]).code(0).stderr_says("In sync");
        // Against a definition file (never "In sync", the objects are not in it).
        let file = p.run(&["diff", "--from", &to, "--to", "latest"]);
        assert_eq!(file.code, 2, "{what}: {}", file.stderr);
        assert!(file.stderr.contains("only in db:"), "{what}: {}", file.stderr);
    }
}
