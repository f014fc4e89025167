//! `strata diff` never says "In sync" over a difference it cannot diff: objects strata cannot
//! represent (views, triggers, check constraints, …) that differ between the two sides are named
//! on stderr with exit 2, unless `--ignore KIND` leaves that kind alone.

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
                     ALTER TABLE company ADD CONSTRAINT rating_range CHECK (rating BETWEEN 0 AND 1);",
    );
    let run = p.run(&["diff", "--from", &from, "--to", &to]);
    run.code(2)
        .stderr_says("Objects strata cannot diff that differ between the two sides:")
        .stderr_says("view \"public\".\"active_employee\"")
        .stderr_says("check constraint \"rating_range\" on table \"public\".\"company\"")
        .stderr_says("Not in sync: 2 object(s) strata cannot diff differ");
    assert!(!run.stderr.contains("In sync:"), "{}", run.stderr);
    assert!(run.stdout.trim().is_empty(), "no SQL: the definitions match: {}", run.stdout);

    // Left alone on purpose, kind by kind.
    p.run(&["diff", "--from", &from, "--to", &to, "--ignore", "view"]).code(2).stderr_says("rating_range");
    p.run(&["diff", "--from", &from, "--to", &to, "--ignore", "view", "--ignore", "check-constraint"])
        .code(0)
        .stderr_says("In sync");
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
