//! `inspect`, `diff db:A db:B` and `create-repair-migration` on the real MariaDB, end to end.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::BIN;
use sqlx::Connection;
use strata_testdb::MysqlScratch;

fn strata(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
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

fn mysql_exec(url: &str, sql: &str) {
    common::block_on(async {
        let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap_or_else(|e| panic!("{e}\n{sql}"));
        c.close().await.ok();
    })
}

/// A MySQL project with two related models, migrated to its first version.
fn project() -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    std::fs::write(
        dir.join("strata.toml"),
        "module_name = \"shop\"\nmodel_roots = [\"models\"]\ndialect = \"mysql\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.join("models")).unwrap();
    std::fs::write(
        dir.join("models/customer.spy.yaml"),
        "class: Customer\ntable: customer\nfields:\n  name: String\n  joined: DateTime\n  vip: bool\n\
         indexes:\n  customer_name_idx:\n    fields: name\n    unique: true\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("models/order.spy.yaml"),
        "class: Order\ntable: order\nfields:\n  total: double\n  note: String?\n  \
         customer: Customer?, relation(onDelete=Cascade)\n",
    )
    .unwrap();
    let out = strata(dir, &["create-migration"]);
    assert!(out.status.success(), "{}", text(&out));
    project
}

#[test]
fn inspect_prints_sql_that_rebuilds_the_database_and_diff_compares_two_live_sides() {
    let project = project();
    let dir = project.path();
    let (a, b) = (MysqlScratch::new("cli_my_inspect_a"), MysqlScratch::new("cli_my_inspect_b"));
    let out = strata(dir, &["apply", "--database-url", &a.url]);
    assert!(out.status.success(), "{}", text(&out));

    let out = strata(dir, &["inspect", "--database-url", &a.url, "--format", "sql"]);
    assert!(out.status.success(), "{}", text(&out));
    let sql = String::from_utf8(out.stdout).unwrap();
    assert!(sql.contains("CREATE TABLE `customer`") && sql.contains("FOREIGN KEY"), "{sql}");
    assert!(!sql.contains("BEGIN;"), "MySQL files have no transaction lines: {sql}");
    mysql_exec(&b.url, &sql);

    let (side_a, side_b) = (format!("db:{}", a.url), format!("db:{}", b.url));
    let out = strata(dir, &["diff", "--from", &side_a, "--to", &side_b]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("In sync:"), "{}", text(&out));

    mysql_exec(&b.url, "ALTER TABLE `order` ADD COLUMN `extra` BIGINT");
    let out = strata(dir, &["diff", "--from", &side_a, "--to", &side_b]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ALTER TABLE `order`") && stdout.contains("`extra` BIGINT"), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("column \"extra\" is missing from db:…/{}", a.name)), "{stderr}");

    let out = strata(dir, &["inspect", "--database-url", &a.url]);
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inspect prints JSON only");
    assert_eq!(json["moduleName"], "analyzer");
}

#[test]
fn create_repair_migration_writes_a_mysql_file_bound_to_the_database() {
    let project = project();
    let dir = project.path();
    let db = MysqlScratch::new("cli_my_repair");
    let out = strata(dir, &["apply", "--database-url", &db.url]);
    assert!(out.status.success(), "{}", text(&out));
    mysql_exec(
        &db.url,
        "ALTER TABLE `order` ADD COLUMN `stray` BIGINT; DROP INDEX `customer_name_idx` ON `customer`",
    );

    let out = strata(dir, &["create-repair-migration", "--database-url", &db.url]);
    assert_eq!(out.status.code(), Some(3), "dropping a column is destructive: {}", text(&out));
    let out = strata(dir, &["create-repair-migration", "--database-url", &db.url, "--force"]);
    assert!(out.status.success(), "{}", text(&out));
    let files: Vec<_> = std::fs::read_dir(dir.join("repair-migration"))
        .expect("the repair directory")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let sql = std::fs::read_to_string(&files[0]).unwrap();
    assert!(sql.starts_with("-- strata-source-fingerprint: schema=public sha256:"), "{sql}");
    assert!(sql.contains("DROP COLUMN `stray`"), "{sql}");
    assert!(sql.contains("CREATE UNIQUE INDEX `customer_name_idx` ON `customer`"), "{sql}");
    assert!(!sql.contains("BEGIN;") && !sql.contains("search_path"), "{sql}");

    // MySQL files keep no version rows: the file says what it installs, for the runner.
    assert!(sql.lines().nth(1).is_some_and(|l| l.starts_with("-- strata-repair-installs: ")), "{sql}");

    // `apply --repair` runs it statement by statement and records the versions it installs.
    let out = strata(dir, &["apply", "--repair", "--database-url", &db.url]);
    assert!(out.status.success(), "{}", text(&out));
    let out = strata(dir, &["diff", "--from", &format!("db:{}", db.url), "--to", "latest"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = strata(dir, &["status", "--database-url", &db.url]);
    assert_eq!(out.status.code(), Some(0), "up to date after the repair: {}", text(&out));
    let out = strata(dir, &["apply", "--repair", "--database-url", &db.url]);
    assert!(out.status.success() && text(&out).contains("already"), "runs once: {}", text(&out));

    // A repair file without the line is refused before anything runs.
    let stripped: String = sql
        .lines()
        .filter(|l| !l.starts_with("-- strata-repair-installs:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&files[0], stripped).unwrap();
    let other = MysqlScratch::new("cli_my_repair_noline");
    assert!(strata(dir, &["apply", "--database-url", &other.url]).status.success());
    let out = strata(dir, &["apply", "--repair", "--force", "--database-url", &other.url]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("strata-repair-installs"), "{}", text(&out));
}

#[test]
fn apply_preflight_on_mariadb_stops_before_a_change_the_data_breaks() {
    let project = project();
    let dir = project.path();
    let db = MysqlScratch::new("cli_my_preflight");
    assert!(strata(dir, &["apply", "--database-url", &db.url]).status.success());
    mysql_exec(
        &db.url,
        "INSERT INTO `customer` (`name`, `joined`, `vip`) VALUES ('ann', '2026-01-01', 0); \
         INSERT INTO `order` (`total`, `note`, `customerId`) VALUES (1.5, NULL, 1);",
    );
    let model = dir.join("models/order.spy.yaml");
    let text_before = std::fs::read_to_string(&model).unwrap();
    std::fs::write(&model, text_before.replace("note: String?", "note: String")).unwrap();
    let out = Command::new(BIN)
        .arg("-C")
        .arg(dir)
        .args(["create-migration", "--force"])
        .env("STRATA_NOW", "20260102000000000")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    let out = strata(dir, &["apply", "--preflight", "--database-url", &db.url]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("will fail: 1 NULL in order.note"), "{}", text(&out));
    let out = strata(dir, &["status", "--database-url", &db.url]);
    assert_eq!(out.status.code(), Some(2), "still pending: {}", text(&out));

    mysql_exec(&db.url, "UPDATE `order` SET `note` = 'paid'");
    let out = strata(dir, &["apply", "--preflight", "--database-url", &db.url]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("safe: no NULLs in order.note"), "{}", text(&out));
}
