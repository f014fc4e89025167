//! Several schemas between two live PostgreSQL databases (`diff --schema a,b`, `--schema '*'`):
//! schemas only one side has are created or dropped, tables of the same name in two schemas are
//! diffed apart, foreign keys and views across schemas survive, and the SQL strata prints runs
//! on the old side and leaves it in sync with the new one, in both directions. A database
//! diffed against a TEMPLATE clone of itself reports nothing.

mod common;

use common::{no_project, pg_exec, pg_strings, Project, Run};
use strata_testdb::PgScratch;

/// `strata diff --from db:<from> --to db:<to> --schema <schemas>`.
fn diff(p: &Project, from: &PgScratch, to: &PgScratch, schemas: &str) -> Run {
    let (from, to) = (format!("db:{}", from.url), format!("db:{}", to.url));
    p.run(&["diff", "--from", &from, "--to", &to, "--schema", schemas])
}

/// Diffs `old` → `new` over every schema, runs the SQL on `old` and checks it is then in sync.
/// Returns the SQL.
fn migrate(p: &Project, old: &PgScratch, new: &PgScratch) -> String {
    let r = diff(p, old, new, "*");
    r.code(2);
    pg_exec(&old.url, &r.stdout);
    let again = diff(p, old, new, "*");
    again.code(0).stderr_says("In sync");
    assert!(again.stdout.is_empty(), "{}", again.stdout);
    r.stdout
}

/// Zero false drift: `db` against a TEMPLATE clone of itself prints nothing and exits 0.
fn no_false_drift(p: &Project, db: &PgScratch) {
    let clone = db.template_clone("schemas_clone");
    let r = diff(p, db, &clone, "*");
    r.code(0).stderr_says("In sync");
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

/// `legacy` only here; `app.t` and `public.t` share a name and change differently; an enum in
/// `legacy`, a foreign key from `legacy` onto `app`, a view in `app`.
const OLD: &str = "CREATE SCHEMA app; CREATE SCHEMA legacy; CREATE SCHEMA spare; \
    CREATE TABLE app.customers (id integer PRIMARY KEY, name text NOT NULL); \
    CREATE TABLE t (id integer PRIMARY KEY, note text); \
    CREATE TABLE app.t (id integer PRIMARY KEY, amount numeric); \
    CREATE TYPE legacy.state AS ENUM ('a', 'b'); \
    CREATE TABLE legacy.archive (id integer PRIMARY KEY, \
      customer integer CONSTRAINT archive_customer_fkey REFERENCES app.customers (id), state legacy.state); \
    CREATE VIEW app.names AS SELECT name FROM app.customers;";

/// `shop` only here, with an enum, a foreign key onto `app` and a view reading both schemas;
/// `empty` is a schema without anything in it.
const NEW: &str = "CREATE SCHEMA app; CREATE SCHEMA shop; CREATE SCHEMA empty; CREATE SCHEMA spare; \
    CREATE TABLE app.customers (id integer PRIMARY KEY, name text NOT NULL, email text); \
    CREATE TABLE t (id integer PRIMARY KEY, note text, created date); \
    CREATE TABLE app.t (id integer PRIMARY KEY); \
    CREATE TYPE shop.status AS ENUM ('open', 'paid'); \
    CREATE TABLE shop.orders (id integer PRIMARY KEY, \
      customer integer NOT NULL CONSTRAINT orders_customer_fkey REFERENCES app.customers (id), \
      status shop.status NOT NULL); \
    CREATE VIEW shop.open_orders AS SELECT o.id, c.name FROM shop.orders o \
      JOIN app.customers c ON c.id = o.customer WHERE o.status = 'open'; \
    CREATE VIEW app.names AS SELECT name, email FROM app.customers;";

/// The user schemas of the database at `url`, sorted.
fn schemas(url: &str) -> Vec<String> {
    pg_strings(
        url,
        "SELECT nspname::text FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' \
         AND nspname <> 'information_schema' ORDER BY 1",
    )
}

fn loaded(prefix: &str, sql: &str) -> PgScratch {
    let db = PgScratch::new(prefix);
    pg_exec(&db.url, sql);
    db
}

#[test]
fn schemas_only_the_target_has_are_created_and_those_only_the_source_has_dropped() {
    let (old, new) = (loaded("schemas_old", OLD), loaded("schemas_new", NEW));
    let p = no_project();
    let sql = migrate(&p, &old, &new);
    for needle in [
        "CREATE SCHEMA \"empty\";",
        "CREATE SCHEMA \"shop\";",
        "DROP SCHEMA \"legacy\";",
        "SET LOCAL search_path TO \"app\", \"public\";",
        "SET LOCAL search_path TO \"shop\", \"public\";",
        "CREATE TYPE \"shop\".\"status\" AS ENUM ('open', 'paid');",
        "DROP TYPE \"legacy\".\"state\";",
        "REFERENCES \"app\".\"customers\"(\"id\")",
        "ALTER TABLE \"legacy\".\"archive\" DROP CONSTRAINT IF EXISTS \"archive_customer_fkey\";",
    ] {
        assert!(sql.contains(needle), "missing {needle:?} in:\n{sql}");
    }
    let create = sql.find("CREATE SCHEMA \"shop\";").unwrap();
    let tables = sql.find("SET LOCAL search_path").unwrap();
    let drop = sql.find("DROP SCHEMA \"legacy\";").unwrap();
    assert!(create < tables && tables < drop, "schemas are created first and dropped last:\n{sql}");
    assert!(!sql.contains("\"spare\""), "a schema both sides have as it is is left alone:\n{sql}");
    assert_eq!(schemas(&old.url), ["app", "empty", "public", "shop", "spare"]);
    // Tables of one name in two schemas were diffed each against its own.
    let columns = "SELECT table_schema || '.' || column_name FROM information_schema.columns \
                   WHERE table_name = 't' ORDER BY 1";
    assert_eq!(pg_strings(&old.url, columns), ["app.id", "public.created", "public.id", "public.note"]);
    no_false_drift(&p, &old);
    no_false_drift(&p, &new);
}

#[test]
fn and_back_the_other_way() {
    let (old, new) = (loaded("schemas_back_old", NEW), loaded("schemas_back_new", OLD));
    let p = no_project();
    let sql = migrate(&p, &old, &new);
    assert!(sql.contains("DROP SCHEMA \"empty\";"), "{sql}");
    assert!(sql.contains("DROP SCHEMA \"shop\";"), "{sql}");
    assert!(sql.contains("CREATE SCHEMA \"legacy\";"), "{sql}");
    let view = sql.find("DROP VIEW \"shop\".\"open_orders\";").unwrap();
    let table = sql.find("DROP TABLE \"orders\"").unwrap();
    assert!(view < table, "the view across schemas goes before its table:\n{sql}");
    assert_eq!(schemas(&old.url), ["app", "legacy", "public", "spare"]);
}

#[test]
fn named_schemas_are_read_alone_and_the_others_stay_reported() {
    let (old, new) = (loaded("schemas_named_old", OLD), loaded("schemas_named_new", NEW));
    let p = no_project();
    let r = diff(&p, &old, &new, "app,public");
    r.code(2).stderr_says("schema \"legacy\"").stderr_says("schema \"shop\"");
    assert!(!r.stdout.contains("CREATE SCHEMA"), "schemas outside --schema are never touched:\n{}", r.stdout);
    assert!(!r.stdout.contains("\"legacy\""), "{}", r.stdout);
    assert!(r.stdout.contains("ALTER TABLE \"t\" DROP COLUMN \"amount\";"), "{}", r.stdout);
    // The repeated form is the same as the comma form.
    let (from, to) = (format!("db:{}", old.url), format!("db:{}", new.url));
    let repeated = p.run(&["diff", "--from", &from, "--to", &to, "--schema", "app", "--schema", "public"]);
    assert_eq!(repeated.stdout, r.stdout);
}

#[test]
fn a_database_of_public_alone_keeps_the_single_schema_sql() {
    let old = loaded("schemas_pub_old", "CREATE TABLE t (id integer PRIMARY KEY);");
    let new = loaded("schemas_pub_new", "CREATE TABLE t (id integer PRIMARY KEY, n text);");
    let p = no_project();
    let all = diff(&p, &old, &new, "*");
    all.code(2);
    let plain = common::diff_dbs(&p, &old, &new);
    assert_eq!(all.stdout, plain.stdout, "--schema '*' on public alone changes nothing");
    assert!(!all.stdout.contains("search_path"), "{}", all.stdout);
}

#[test]
fn a_schema_that_keeps_objects_strata_does_not_drop_is_left_and_named() {
    let old = loaded(
        "schemas_keep_old",
        "CREATE SCHEMA gone; CREATE TABLE gone.t (id integer PRIMARY KEY); CREATE SEQUENCE gone.counter;",
    );
    let new = loaded("schemas_keep_new", "");
    let p = no_project();
    let r = diff(&p, &old, &new, "*");
    r.code(2).stderr_says("schema \"gone\" is not dropped").stderr_says("counter");
    assert!(!r.stdout.contains("DROP SCHEMA"), "{}", r.stdout);
    pg_exec(&old.url, &r.stdout);
    assert_eq!(pg_strings(&old.url, "SELECT count(*)::text FROM pg_tables WHERE schemaname = 'gone'"), ["0"]);
}

#[test]
fn several_schemas_need_two_live_databases() {
    let db = loaded("schemas_file", "");
    let p = no_project();
    let r = p.run(&["diff", "--from", "empty", "--to", &format!("db:{}", db.url), "--schema", "*"]);
    r.code(1).stderr_says("two live PostgreSQL databases");
}

#[test]
fn inspect_reads_every_schema_named() {
    let db = loaded("schemas_inspect", OLD);
    let p = no_project();
    let r = p.run(&["inspect", "--database-url", &db.url, "--schema", "*"]);
    r.code(0);
    for table in ["\"customers\"", "\"archive\""] {
        assert!(r.stdout.contains(table), "missing {table} in:\n{}", r.stdout);
    }
    assert!(!r.stderr.contains("not read"), "{}", r.stderr);
    let one = p.run(&["inspect", "--database-url", &db.url, "--schema", "legacy"]);
    one.code(0).stderr_says("schema \"app\"");
    assert!(!one.stdout.contains("\"name\": \"customers\""), "{}", one.stdout);
}
