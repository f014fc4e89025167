//! docs/expand-contract.md, run as written: `int` → `bigint` on a 200,000-row PostgreSQL table
//! through expand, a background backfill, swap and contract, each a strata version.

mod common;

use std::path::Path;

use common::{pg_exec, pg_one, pg_strings, write, Project};

const DOC: &str = include_str!("../../../docs/expand-contract.md");
const V1: &str = "20260201000000000";
const EXPAND: &str = "20260202000000000-expand";
const JOB: &str = "backfill_points_big";

/// The files of the page: each ```sql block preceded by a `<!-- file: PATH -->` line.
fn doc_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut lines = DOC.lines();
    while let Some(line) = lines.next() {
        let Some(path) = line.strip_prefix("<!-- file: ").and_then(|l| l.strip_suffix(" -->")) else {
            continue;
        };
        assert_eq!(lines.next(), Some("```sql"), "{path}: a ```sql block must follow its file line");
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        files.push((path.to_string(), format!("{}\n", body.join("\n"))));
    }
    files
}

#[test]
fn int_to_bigint_by_expand_backfill_swap_contract() {
    let files = doc_files();
    assert_eq!(files.len(), 5, "the page's files: {:?}", files.iter().map(|f| &f.0).collect::<Vec<_>>());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bank");
    write(&dir.join("strata.toml"), "module_name = \"bank\"\ndialect = \"postgres\"\n");
    for (path, text) in &files {
        write(&dir.join(path), text);
    }
    // The first version's migration.sql is its definition (as create-migration writes it).
    let v1 = dir.join("migrations").join(V1);
    std::fs::copy(v1.join("definition.sql"), v1.join("migration.sql")).unwrap();
    let p = Project::laid_out(tmp, dir);
    let db = strata_testdb::PgScratch::new("expand_contract");
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "--database-url", db.url.as_str()];
        args.extend_from_slice(extra);
        p.run(&args)
    };

    apply(&["--to", V1]).code(0);
    pg_exec(&db.url, "INSERT INTO account (points) SELECT (i % 1000)::int FROM generate_series(1, 200000) i");
    let expected_sum = pg_one(&db.url, "SELECT sum(points)::text FROM account");
    apply(&["--to", EXPAND]).code(0);
    // Old code keeps writing `points` meanwhile; the trigger copies it.
    pg_exec(
        &db.url,
        "INSERT INTO account (points) VALUES (5); UPDATE account SET points = points + 1 WHERE id <= 10",
    );
    assert_eq!(pg_one(&db.url, "SELECT count(*)::text FROM account WHERE points_big IS NOT NULL"), "11");

    let refused = apply(&[]);
    refused.code(1).stderr_says(&format!("requires background job `{JOB}`"));
    assert_eq!(pg_one(&db.url, "SELECT version FROM serverpod_migrations"), EXPAND, "nothing applied");

    p.run(&["background", "run", JOB, "--database-url", &db.url])
        .code(0)
        .stderr_says(&format!("{JOB}: finalized"));
    assert_eq!(
        pg_one(&db.url, "SELECT count(*)::text FROM account WHERE points_big IS DISTINCT FROM points"),
        "0"
    );
    // The 11 rows the trigger already synced were not touched again.
    assert_eq!(
        pg_one(
            &db.url,
            &format!("SELECT rows_affected::text FROM strata_background_jobs WHERE name = '{JOB}'")
        ),
        "199990"
    );

    apply(&[]).code(0);
    assert_eq!(pg_one(&db.url, "SELECT version FROM serverpod_migrations"), "20260204000000000-contract");
    let columns = pg_strings(
        &db.url,
        "SELECT column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns \
         WHERE table_name = 'account' ORDER BY ordinal_position",
    );
    assert_eq!(columns, ["id bigint NO", "points bigint NO"]);
    let sum = pg_one(&db.url, "SELECT (sum(points) - 5 - 10)::text FROM account");
    assert_eq!(sum, expected_sum, "every value survived the swap");
    pg_exec(&db.url, "INSERT INTO account (points) VALUES (5000000000)");
    assert_eq!(pg_one(&db.url, "SELECT max(points)::text FROM account"), "5000000000");
    assert!(Path::new(&p.dir).exists());
}
