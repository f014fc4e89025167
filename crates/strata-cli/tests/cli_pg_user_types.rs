//! Enum and domain types, expression defaults and what strata does not create, on the real
//! PostgreSQL server: two databases are diffed, strata's SQL is run on the first, and the two
//! must then diff as in sync. What has no correct SQL is named, exits 2 and prints nothing.

mod common;

use common::{diff_dbs, no_project, pg_exec, pg_strings, Project};
use strata_testdb::PgScratch;

/// Loads `old` and `new`, applies strata's old→new SQL to old, and checks both now diff as in
/// sync (both ways) and that each database has no false drift against a clone of itself.
/// Returns the SQL.
#[track_caller]
fn migrates(prefix: &str, old: &str, new: &str) -> String {
    let (a, b) = (PgScratch::new(&format!("{prefix}_a")), PgScratch::new(&format!("{prefix}_b")));
    if !old.is_empty() {
        pg_exec(&a.url, old);
    }
    pg_exec(&b.url, new);
    let p = no_project();
    no_false_drift(&p, &a);
    no_false_drift(&p, &b);
    let r = diff_dbs(&p, &a, &b);
    r.code(2);
    run_file(&a, &r.stdout);
    diff_dbs(&p, &a, &b).code(0).stderr_says("In sync");
    diff_dbs(&p, &b, &a).code(0);
    r.stdout.clone()
}

/// Runs a migration file as psql and strata's runner do: what precedes `BEGIN;` on its own,
/// then the transaction (one multi-statement query would put both in one implicit transaction).
fn run_file(db: &PgScratch, sql: &str) {
    let (prelude, body) = sql.split_once("BEGIN;\n").expect(sql);
    if !prelude.trim().is_empty() {
        pg_exec(&db.url, prelude);
    }
    pg_exec(&db.url, &format!("BEGIN;\n{body}"));
}

/// A database diffed against a `TEMPLATE` clone of itself reports nothing.
#[track_caller]
fn no_false_drift(p: &Project, db: &PgScratch) {
    let clone = PgScratch::new("types_clone");
    pg_exec(&clone.url, "SELECT 1");
    let admin = PgScratch::admin_url();
    pg_exec(&admin, &format!("DROP DATABASE \"{}\"", clone.name));
    pg_exec(&admin, &format!("CREATE DATABASE \"{}\" TEMPLATE \"{}\"", clone.name, db.name));
    let r = diff_dbs(p, db, &clone);
    r.code(0);
    assert!(r.stdout.trim().is_empty(), "{}", r.stdout);
}

#[test]
fn enum_and_domain_are_created_before_the_table_that_uses_them() {
    let sql = migrates(
        "utypes_create",
        "",
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'it''s fine');
         CREATE DOMAIN positive AS integer DEFAULT 1 NOT NULL CONSTRAINT positive_check CHECK (VALUE > 0);
         CREATE DOMAIN small_positive AS positive CHECK (VALUE < 100);
         CREATE TABLE person (id bigserial PRIMARY KEY, m mood DEFAULT 'ok', ms mood[], n positive, s small_positive);",
    );
    let create_type =
        sql.find("CREATE TYPE \"public\".\"mood\" AS ENUM ('sad', 'ok', 'it''s fine');").expect(&sql);
    let domain = sql.find("CREATE DOMAIN \"public\".\"positive\" AS integer DEFAULT 1 NOT NULL").expect(&sql);
    let inner = sql.find("CREATE DOMAIN \"public\".\"small_positive\" AS positive").expect(&sql);
    let table = sql.find("CREATE TABLE \"person\"").expect(&sql);
    assert!(create_type < domain && domain < inner && inner < table, "{sql}");
}

#[test]
fn new_enum_labels_are_added_before_the_transaction_and_can_be_used_in_it() {
    let sql = migrates(
        "utypes_add_value",
        "CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE TABLE t (id bigserial PRIMARY KEY, m mood);",
        "CREATE TYPE mood AS ENUM ('angry', 'sad', 'ok', 'happy', 'ecstatic');
         CREATE TABLE t (id bigserial PRIMARY KEY, m mood DEFAULT 'ok');",
    );
    let begin = sql.find("BEGIN;").expect(&sql);
    for stmt in [
        "ALTER TYPE \"public\".\"mood\" ADD VALUE IF NOT EXISTS 'angry' BEFORE 'sad';",
        "ALTER TYPE \"public\".\"mood\" ADD VALUE IF NOT EXISTS 'ok' BEFORE 'happy';",
        "ALTER TYPE \"public\".\"mood\" ADD VALUE IF NOT EXISTS 'ecstatic' AFTER 'happy';",
    ] {
        assert!(sql.find(stmt).expect(&sql) < begin, "{sql}");
    }
}

#[test]
fn removed_or_reordered_enum_values_are_named_and_nothing_is_printed() {
    let (a, b) = (PgScratch::new("utypes_rm_a"), PgScratch::new("utypes_rm_b"));
    pg_exec(
        &a.url,
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE TABLE t (id bigserial PRIMARY KEY, x text);",
    );
    pg_exec(&b.url, "CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE TABLE t (id bigserial PRIMARY KEY);");
    let p = no_project();
    let r = diff_dbs(&p, &a, &b);
    r.code(2).stderr_says("enum public.mood: values removed (ok)").stderr_says("Nothing was printed");
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    pg_exec(&b.url, "DROP TABLE t; DROP TYPE mood; CREATE TYPE mood AS ENUM ('happy', 'ok', 'sad');");
    diff_dbs(&p, &a, &b).code(2).stderr_says("enum public.mood: values reordered");
}

#[test]
fn domain_constraints_defaults_and_not_null_change_in_place() {
    migrates(
        "utypes_domain",
        "CREATE DOMAIN code AS varchar(8) CONSTRAINT code_upper CHECK (VALUE = upper(VALUE));
         CREATE TABLE t (id bigserial PRIMARY KEY, c code);",
        "CREATE DOMAIN code AS varchar(8) DEFAULT 'AAA' NOT NULL CONSTRAINT code_upper CHECK (VALUE = upper(VALUE) AND length(VALUE) > 1)
             CONSTRAINT code_letters CHECK (VALUE ~ '^[A-Z]+$');
         CREATE TABLE t (id bigserial PRIMARY KEY, c code);",
    );
}

#[test]
fn types_are_dropped_after_the_columns_that_use_them() {
    let sql = migrates(
        "utypes_drop",
        "CREATE TYPE mood AS ENUM ('a', 'b'); CREATE DOMAIN d AS mood;
         CREATE TABLE t (id bigserial PRIMARY KEY, m mood, x d); CREATE TABLE u (id bigserial PRIMARY KEY, m mood);",
        "CREATE TABLE t (id bigserial PRIMARY KEY);",
    );
    let drop_domain = sql.find("DROP DOMAIN \"public\".\"d\";").expect(&sql);
    let drop_type = sql.find("DROP TYPE \"public\".\"mood\";").expect(&sql);
    assert!(sql.find("DROP TABLE").expect(&sql) < drop_domain && drop_domain < drop_type, "{sql}");
}

#[test]
fn a_column_moves_from_text_to_a_new_enum() {
    migrates(
        "utypes_to_enum",
        "CREATE TABLE t (id bigserial PRIMARY KEY, status text DEFAULT 'pending'); INSERT INTO t (status) VALUES ('done');",
        "CREATE TYPE st AS ENUM ('pending', 'done'); CREATE TABLE t (id bigserial PRIMARY KEY, status st DEFAULT 'pending');",
    );
}

#[test]
fn expression_defaults_are_written_as_the_server_renders_them() {
    let sql = migrates(
        "utypes_expr_default",
        "CREATE TABLE ev (id bigserial PRIMARY KEY);",
        "CREATE TABLE ev (id bigserial PRIMARY KEY,
             at_utc timestamp DEFAULT (now() AT TIME ZONE 'utc') NOT NULL,
             tags text[] DEFAULT '{}'::text[],
             score numeric DEFAULT 0.0,
             day date DEFAULT CURRENT_DATE,
             label text DEFAULT ('x' || 'y'));",
    );
    assert!(sql.contains("DEFAULT (now() AT TIME ZONE 'utc'::text)"), "{sql}");
}

/// `diff` with functions left out (`--ignore function`): the SQL cannot create them.
fn diff_without_functions(p: &Project, a: &PgScratch, b: &PgScratch) -> common::Run {
    let (from, to) = (format!("db:{}", a.url), format!("db:{}", b.url));
    p.run(&["diff", "--from", &from, "--to", &to, "--ignore", "function"])
}

#[test]
fn a_default_calling_a_function_the_sql_does_not_create_is_named_and_nothing_is_printed() {
    let function = "CREATE FUNCTION default_status() RETURNS text LANGUAGE sql AS $$ SELECT 'active' $$;";
    let (a, b) = (PgScratch::new("utypes_fn_a"), PgScratch::new("utypes_fn_b"));
    pg_exec(
        &b.url,
        &format!(
            "{function} CREATE TABLE u (id bigserial PRIMARY KEY, status text DEFAULT default_status());"
        ),
    );
    let p = no_project();
    // Functions left alone (`--ignore function`): nothing would create it first.
    let r = diff_without_functions(&p, &a, &b);
    r.code(2)
        .stderr_says("dependency \"status\" on table \"public\".\"u\": its default needs function \"public\".\"default_status\"")
        .stderr_says("Nothing was printed");
    assert!(r.stdout.is_empty(), "{}", r.stdout);

    // Otherwise the function is created before the table, and the SQL runs.
    let fresh = a.template_clone("utypes_fn_fresh");
    let r = diff_dbs(&p, &fresh, &b);
    r.code(2);
    let (function_at, table_at) =
        (r.stdout.find("FUNCTION public.default_status()"), r.stdout.find("CREATE TABLE"));
    assert!(function_at.is_some() && function_at < table_at, "{}", r.stdout);
    pg_exec(&fresh.url, &r.stdout);
    diff_dbs(&p, &fresh, &b).code(0);

    // Once the function exists on the old side, the table is created with its default.
    pg_exec(&a.url, function);
    let r = diff_dbs(&p, &a, &b);
    r.code(2);
    assert!(!r.stdout.contains("FUNCTION public.default_status"), "{}", r.stdout);
    assert!(r.stdout.contains("DEFAULT default_status()"), "{}", r.stdout);
    pg_exec(&a.url, &r.stdout);
    diff_dbs(&p, &a, &b).code(0);
}

#[test]
fn a_domain_check_calling_a_function_the_sql_does_not_create_is_named_and_nothing_is_printed() {
    let (a, b) = (PgScratch::new("utypes_dfn_a"), PgScratch::new("utypes_dfn_b"));
    pg_exec(
        &b.url,
        "CREATE FUNCTION ok_id(v text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT v LIKE 'id_%' $$;
         CREATE DOMAIN custom_id AS text CHECK (ok_id(VALUE));
         CREATE TABLE e (id custom_id PRIMARY KEY);",
    );
    let p = no_project();
    let r = diff_without_functions(&p, &a, &b);
    r.code(2).stderr_says("needs function \"public\".\"ok_id\"").stderr_says("Nothing was printed");
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    // Between two live databases the function is created before the domain.
    let r = diff_dbs(&p, &a, &b);
    pg_exec(&a.url, &r.stdout);
    diff_dbs(&p, &a, &b).code(0);
}

#[test]
fn a_column_of_an_extension_type_the_old_side_lacks_is_named_and_nothing_is_printed() {
    let (a, b) = (PgScratch::new("utypes_ext_a"), PgScratch::new("utypes_ext_b"));
    pg_exec(
        &b.url,
        "CREATE EXTENSION hstore; CREATE TABLE kv (id bigserial PRIMARY KEY, h hstore, hs hstore[]);",
    );
    let p = no_project();
    // Leaving extensions alone, nothing creates it: named, nothing printed.
    let (from, to) = (format!("db:{}", a.url), format!("db:{}", b.url));
    let r = p.run(&["diff", "--from", &from, "--to", &to, "--ignore", "extension"]);
    r.code(2)
        .stderr_says("dependency \"h\" on table \"public\".\"kv\": its type needs extension \"hstore\"")
        .stderr_says("dependency \"hs\" on table \"public\".\"kv\"");
    assert!(r.stdout.is_empty(), "{}", r.stdout);

    // Between two live databases the object SQL creates the extension before the table.
    let r = diff_dbs(&p, &a, &b);
    r.code(2).says("CREATE EXTENSION IF NOT EXISTS \"hstore\"");
    pg_exec(&a.url, &r.stdout);
    diff_dbs(&p, &a, &b).code(0);
}

#[test]
fn inspect_sql_creates_the_types_and_reads_back_the_same() {
    let source = PgScratch::new("utypes_inspect");
    pg_exec(
        &source.url,
        "CREATE TYPE mood AS ENUM ('a', 'b'); CREATE DOMAIN pos AS bigint CHECK (VALUE > 0);
         CREATE TABLE t (id bigserial PRIMARY KEY, m mood NOT NULL DEFAULT 'b', p pos);",
    );
    let p = no_project();
    let r = p.run(&["inspect", "--database-url", &source.url, "--format", "sql"]);
    r.code(0);
    let copy = PgScratch::new("utypes_inspect_copy");
    pg_exec(&copy.url, &r.stdout);
    diff_dbs(&p, &source, &copy).code(0);
    let json = p.run(&["inspect", "--database-url", &source.url]);
    json.code(0);
    assert!(json.stdout.contains("\"types\": ["), "{}", json.stdout);
    let labels = pg_strings(&copy.url, "SELECT enumlabel::text FROM pg_enum ORDER BY enumsortorder");
    assert_eq!(labels, ["a", "b"]);
}
