//! `strata inspect` end to end: JSON and SQL output, warnings on stderr, schemas, SQLite,
//! and no password in any message.

use std::path::Path;
use std::process::Command;

use sqlx::{Connection, PgConnection};
use strata_schema::{definition_from_json, ColumnType};
use strata_testdb::{PgScratch, SqliteScratch};

const BIN: &str = env!("CARGO_BIN_EXE_strata");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn strata(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(BIN).args(args).current_dir(dir).env_remove("DATABASE_URL").output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn exec_pg(url: &str, sql: &str) {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let mut c = PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        c.close().await.ok();
    })
}

const SCHEMA: &str = r#"
CREATE TABLE "company" ("id" bigserial PRIMARY KEY, "name" text NOT NULL, "rating" double precision NOT NULL DEFAULT 0.5);
CREATE UNIQUE INDEX "company_name_idx" ON "company" USING btree ("name");
CREATE TABLE "employee" ("id" bigserial PRIMARY KEY, "companyId" bigint NOT NULL, "code" varchar(10));
ALTER TABLE ONLY "employee" ADD CONSTRAINT "employee_fk_0" FOREIGN KEY("companyId") REFERENCES "company"("id") ON DELETE CASCADE ON UPDATE NO ACTION;
CREATE SCHEMA other;
CREATE TABLE other.hidden (id bigserial PRIMARY KEY);
"#;

#[test]
fn json_output_is_a_definition_and_warnings_go_to_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let db = PgScratch::new("inspect_json");
    exec_pg(&db.url, SCHEMA);
    let r = strata(tmp.path(), &["inspect", "--database-url", &db.url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let def = definition_from_json(&r.stdout).expect("stdout is definition JSON");
    assert_eq!(def.module_name, "analyzer");
    let names: Vec<&str> = def.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["company", "employee"]);
    let company = def.table("company").unwrap();
    assert_eq!(company.column("rating").unwrap().column_default.as_deref(), Some("0.5"));
    assert_eq!(company.indexes[0].index_name, "company_name_idx");
    let code = def.table("employee").unwrap().column("code").unwrap();
    assert_eq!(code.column_type, ColumnType::Unknown);
    assert_eq!(code.native_type.as_deref(), Some("character varying(10)"));
    assert!(!r.stderr.contains("column of unknown type"), "{}", r.stderr);
    assert!(!r.stdout.contains("warning"), "warnings stay off stdout");

    let both = strata(
        tmp.path(),
        &["inspect", "--database-url", &db.url, "--schema", "public", "--schema", "other"],
    );
    assert_eq!(both.code, 0, "{}", both.stderr);
    assert!(definition_from_json(&both.stdout).unwrap().tables.iter().any(|t| t.name == "hidden"));
}

#[test]
fn sql_output_recreates_the_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let db = PgScratch::new("inspect_sql");
    exec_pg(&db.url, "CREATE TABLE \"company\" (\"id\" bigserial PRIMARY KEY, \"name\" text NOT NULL);");
    let r = strata(tmp.path(), &["inspect", "--database-url", &db.url, "--format", "sql"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "CREATE TABLE \"company\" (\n    \"id\" bigserial PRIMARY KEY,\n    \"name\" text NOT NULL\n);"
        ),
        "{}",
        r.stdout
    );
    // The printed SQL builds the same schema elsewhere.
    let copy = PgScratch::new("inspect_sql_copy");
    exec_pg(&copy.url, &r.stdout);
    let again = strata(tmp.path(), &["inspect", "--database-url", &copy.url, "--format", "sql"]);
    assert_eq!(again.stdout, r.stdout);
}

#[test]
fn native_types_are_printed_as_sql() {
    let tmp = tempfile::tempdir().unwrap();
    let db = PgScratch::new("inspect_native");
    exec_pg(&db.url, "CREATE TABLE t (id bigserial PRIMARY KEY, c varchar(3));");
    let r = strata(tmp.path(), &["inspect", "--database-url", &db.url, "--format", "sql"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("\"c\" character varying(3)"), "{}", r.stdout);
}

#[test]
fn sqlite_databases_are_inspected_read_only() {
    let tmp = tempfile::tempdir().unwrap();
    let db = SqliteScratch::new("inspect");
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql("CREATE TABLE \"t\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"name\" TEXT NOT NULL DEFAULT 'x');")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.ok();
    });
    let url = format!("sqlite:{}", db.path.display());
    let r = strata(tmp.path(), &["inspect", "--database-url", &url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let def = definition_from_json(&r.stdout).unwrap();
    let t = def.table("t").unwrap();
    assert_eq!(t.column("id").unwrap().column_default.as_deref(), Some("serial"));
    assert_eq!(t.column("name").unwrap().column_default.as_deref(), Some("'x'"));
    // A missing file is an error, not a new empty database.
    let missing = format!("sqlite:{}", tmp.path().join("nope.db").display());
    let r = strata(tmp.path(), &["inspect", "--database-url", &missing]);
    assert_eq!(r.code, 1);
    assert!(!tmp.path().join("nope.db").exists());
}

#[test]
fn passwords_are_never_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let r =
        strata(tmp.path(), &["inspect", "--database-url", "postgres://alice:s3cr3t-pw@127.0.0.1:1/nowhere"]);
    assert_eq!(r.code, 1);
    assert!(!r.stdout.contains("s3cr3t-pw") && !r.stderr.contains("s3cr3t-pw"), "{}", r.stderr);
    assert!(r.stderr.contains("127.0.0.1"), "{}", r.stderr);
}
