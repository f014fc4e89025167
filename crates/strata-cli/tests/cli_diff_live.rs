//! `strata diff` with a live database as a side: a drift report object by object, the SQL that
//! fixes it, and exit codes 0 (in sync) / 2 (drifted) / 1 (error) for CI.

use std::path::Path;
use std::process::{Command, Output};

use sqlx::Connection;
use strata_testdb::PgScratch;

fn strata(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("STRATA_NOW", "20260101000000000")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run strata")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn exec(url: &str, sql: &str) {
    let url = url.to_string();
    let sql = sql.to_string();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(&sql).execute(&mut c).await.unwrap();
        })
    })
    .join()
    .unwrap();
}

#[test]
fn drift_report_and_exit_codes() {
    let db = PgScratch::new("diff_live");
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    std::fs::write(dir.join("strata.toml"), "module_name = \"demo\"\nmodel_roots = [\"models\"]\n").unwrap();
    std::fs::create_dir(dir.join("models")).unwrap();
    std::fs::write(
        dir.join("models/item.spy.yaml"),
        "class: Item\ntable: item\nfields:\n  name: String\n  price: double?\nindexes:\n  item_name_idx:\n    fields: name\n",
    )
    .unwrap();
    let out = strata(dir, &["create-migration"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = strata(dir, &["apply", "--database-url", &db.url]);
    assert!(out.status.success(), "{}", text(&out));

    let side = format!("db:{}", db.url);
    let out = strata(dir, &["diff", "--from", &side, "--to", "latest"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The live side is named by its database, never "the database" (nor by its URL).
    let live = format!("db:…/{}", db.name);
    assert!(text(&out).contains(&format!("In sync: {live} matches latest.")), "{}", text(&out));

    exec(&db.url, "ALTER TABLE item ADD COLUMN extra text; DROP INDEX item_name_idx; ALTER TABLE item ALTER COLUMN price SET NOT NULL;");
    let out = strata(dir, &["diff", "--from", &side, "--to", "latest"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The report is for humans (stderr); stdout is the SQL alone (see cli_streams.rs).
    for needle in [
        format!("Drift between {live} and latest (3 differences):"),
        format!("table \"item\": column \"price\" is not null in {live}, nullable in latest"),
        format!("table \"item\": column \"extra\" exists in {live} but not in latest"),
        format!("table \"item\": index \"item_name_idx\" is missing from {live} (latest has it)"),
    ] {
        assert!(stderr.contains(&needle), "missing {needle:?} in:\n{stderr}");
    }
    for needle in [
        "ALTER TABLE \"item\" DROP COLUMN \"extra\";",
        "CREATE INDEX \"item_name_idx\" ON \"item\" USING btree (\"name\");",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    // The URL (which could carry a password) is never echoed.
    assert!(!text(&out).contains(&db.url), "{}", text(&out));

    // JSON output stays machine-readable: no report lines.
    let out = strata(dir, &["diff", "--from", &side, "--to", "latest", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("diff --format json prints JSON only");
    assert_eq!(json["actions"][0]["type"], "alterTable");
}

#[test]
fn unreachable_database_is_an_error_without_the_password() {
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    std::fs::write(dir.join("strata.toml"), "module_name = \"demo\"\n").unwrap();
    let out =
        strata(dir, &["diff", "--from", "db:postgres://app:s3cret-pw@127.0.0.1:1/nope", "--to", "empty"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(!all.contains("s3cret-pw"), "password leaked: {all}");
    assert!(all.contains("--from db:"), "error should name the side: {all}");
}
