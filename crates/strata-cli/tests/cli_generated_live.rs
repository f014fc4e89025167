//! Generated columns and identity changes between two live PostgreSQL databases: the SQL
//! `strata diff` prints runs on the old side (with rows in it) and leaves it in sync with the new
//! one, in both directions, and each database diffed against a TEMPLATE clone of itself reports
//! nothing.

mod common;

use common::{
    assert_no_false_drift, diff_dbs as diff, migrate_in_sync, no_project, pg_exec, pg_one, pg_strings,
    Project,
};
use strata_testdb::PgScratch;

/// Two scratch databases loaded with `old` and `new`, neither drifting against its own clone.
fn pair(tag: &str, old_sql: &str, new_sql: &str) -> (Project, PgScratch, PgScratch) {
    let (old, new) = (PgScratch::new(&format!("{tag}_old")), PgScratch::new(&format!("{tag}_new")));
    pg_exec(&old.url, old_sql);
    pg_exec(&new.url, new_sql);
    let p = no_project();
    assert_no_false_drift(&p, &old);
    assert_no_false_drift(&p, &new);
    (p, old, new)
}

/// Asserts every needle occurs in `sql`, in the order given.
fn in_order(sql: &str, needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        match sql[from..].find(needle) {
            Some(at) => from += at + needle.len(),
            None => panic!("missing {needle:?} (in this order) in:\n{sql}"),
        }
    }
}

const PLAIN: &str =
    "CREATE TABLE item (id integer PRIMARY KEY, price integer NOT NULL, qty integer NOT NULL, \
      label text); \
    INSERT INTO item VALUES (1, 3, 4, 'a'), (2, 5, 6, 'b');";

const GENERATED: &str =
    "CREATE TABLE item (id integer PRIMARY KEY, price integer NOT NULL, qty integer NOT NULL, \
      label text, \
      total integer GENERATED ALWAYS AS (price * qty) STORED NOT NULL, \
      shout text GENERATED ALWAYS AS (upper(label)) STORED); \
    INSERT INTO item (id, price, qty, label) VALUES (1, 3, 4, 'a'), (2, 5, 6, 'b');";

#[test]
fn generated_columns_are_added_to_a_table_with_rows_and_dropped_again() {
    let (p, old, new) = pair("gen_add", PLAIN, GENERATED);
    let sql = migrate_in_sync(&p, &old, &new);
    assert!(
        sql.contains("ADD COLUMN \"total\" integer GENERATED ALWAYS AS ((price * qty)) STORED NOT NULL;"),
        "{sql}"
    );
    assert_eq!(pg_strings(&old.url, "SELECT total::text FROM item ORDER BY id"), ["12", "30"]);
    assert_eq!(pg_one(&old.url, "SELECT shout FROM item WHERE id = 2"), "B");
    // And back: both columns are dropped.
    let plain = PgScratch::new("gen_add_back");
    pg_exec(&plain.url, PLAIN);
    let sql = migrate_in_sync(&p, &old, &plain);
    in_order(&sql, &["DROP COLUMN \"total\"", "DROP COLUMN \"shout\""]);
}

#[test]
fn a_generated_column_made_plain_keeps_its_values_and_a_plain_one_made_generated_is_recreated() {
    let swap = |sql: &str| {
        sql.replace(
            "total integer GENERATED ALWAYS AS (price * qty) STORED NOT NULL",
            "total integer NOT NULL",
        )
        .replace(
            "INSERT INTO item (id, price, qty, label) VALUES (1, 3, 4, 'a'), (2, 5, 6, 'b')",
            "INSERT INTO item VALUES (1, 3, 4, 'a', 7), (2, 5, 6, 'b', 8)",
        )
    };
    let (p, old, new) = pair("gen_plain", GENERATED, &swap(GENERATED));
    let sql = migrate_in_sync(&p, &old, &new);
    assert!(sql.contains("ALTER TABLE \"item\" ALTER COLUMN \"total\" DROP EXPRESSION;"), "{sql}");
    assert!(!sql.contains("DROP COLUMN"), "{sql}");
    assert_eq!(pg_strings(&old.url, "SELECT total::text FROM item ORDER BY id"), ["12", "30"]);

    // The other way the column is dropped and added again, named as destructive.
    let back = PgScratch::new("gen_plain_back");
    pg_exec(&back.url, GENERATED);
    let r = diff(&p, &old, &back);
    r.code(2);
    in_order(&r.stdout, &["DROP COLUMN \"total\";", "ADD COLUMN \"total\" integer GENERATED ALWAYS AS"]);
    let json = p.run(&[
        "diff",
        "--from",
        &format!("db:{}", old.url),
        "--to",
        &format!("db:{}", back.url),
        "--format",
        "json",
    ]);
    json.says("is dropped and added again as GENERATED ALWAYS AS ((price * qty)) STORED")
        .says("its current values are lost");
    migrate_in_sync(&p, &old, &back);
    assert_eq!(pg_strings(&old.url, "SELECT total::text FROM item ORDER BY id"), ["12", "30"]);
}

#[test]
fn a_changed_generation_expression_recomputes_the_column() {
    let (p, old, new) = pair("gen_expr", GENERATED, &GENERATED.replace("price * qty", "price + qty"));
    let sql = migrate_in_sync(&p, &old, &new);
    in_order(&sql, &["DROP COLUMN \"total\";", "GENERATED ALWAYS AS ((price + qty)) STORED NOT NULL;"]);
    assert_eq!(pg_strings(&old.url, "SELECT total::text FROM item ORDER BY id"), ["7", "11"]);
}

#[test]
fn a_generated_column_is_recreated_around_a_column_it_uses_being_retyped_or_dropped() {
    // `qty` becomes bigint: PostgreSQL refuses while `total` uses it, so `total` is dropped first
    // and added after the type change.
    let retyped = GENERATED.replace("qty integer NOT NULL", "qty bigint NOT NULL").replace(
        "total integer GENERATED ALWAYS AS (price * qty)",
        "total bigint GENERATED ALWAYS AS (price * qty)",
    );
    let (p, old, new) = pair("gen_dep", GENERATED, &retyped);
    let sql = migrate_in_sync(&p, &old, &new);
    in_order(
        &sql,
        &["DROP COLUMN \"total\";", "ALTER COLUMN \"qty\" SET DATA TYPE bigint", "ADD COLUMN \"total\""],
    );
    assert_eq!(pg_strings(&old.url, "SELECT total::text FROM item ORDER BY id"), ["12", "30"]);

    // `label` goes and `shout` now uses `price`: the generated column is dropped before `label`.
    let dropped = "CREATE TABLE item (id integer PRIMARY KEY, price integer NOT NULL, qty integer NOT NULL, \
          total integer GENERATED ALWAYS AS (price * qty) STORED NOT NULL, \
          shout text GENERATED ALWAYS AS (price::text) STORED);";
    let gone = PgScratch::new("gen_dep_gone");
    pg_exec(&gone.url, dropped);
    let fresh = PgScratch::new("gen_dep_fresh");
    pg_exec(&fresh.url, GENERATED);
    let sql = migrate_in_sync(&p, &fresh, &gone);
    in_order(&sql, &["DROP COLUMN \"shout\";", "DROP COLUMN \"label\";", "ADD COLUMN \"shout\""]);
}

/// `child.code` references the generated `parent.code_key`, which must exist (with its unique
/// constraint) before the foreign key is added.
const WITH_FK: &str = "CREATE TABLE parent (id integer PRIMARY KEY, code text NOT NULL, \
      code_key text GENERATED ALWAYS AS (lower(code)) STORED UNIQUE); \
    CREATE TABLE child (id integer PRIMARY KEY, code text REFERENCES parent (code_key));";

#[test]
fn a_foreign_key_onto_a_generated_column_follows_the_column() {
    let (p, old, new) = pair("gen_fk", "", WITH_FK);
    let sql = migrate_in_sync(&p, &old, &new);
    in_order(&sql, &["GENERATED ALWAYS AS (lower(code)) STORED", "FOREIGN KEY(\"code\")"]);
    pg_exec(&old.url, "INSERT INTO parent VALUES (1, 'AB'); INSERT INTO child VALUES (1, 'ab');");
    // A new expression recreates the column: the foreign key onto it is dropped first and added
    // back after its unique constraint.
    let trimmed = PgScratch::new("gen_fk_trim");
    pg_exec(&trimmed.url, &WITH_FK.replace("lower(code)", "lower(btrim(code))"));
    let sql = migrate_in_sync(&p, &old, &trimmed);
    in_order(
        &sql,
        &[
            "ALTER TABLE \"child\" DROP CONSTRAINT IF EXISTS \"child_code_fkey\";",
            "ALTER TABLE \"parent\" DROP COLUMN \"code_key\";",
            "ADD CONSTRAINT \"parent_code_key_key\" UNIQUE (\"code_key\");",
            "ADD CONSTRAINT \"child_code_fkey\"",
        ],
    );
    assert_eq!(pg_one(&old.url, "SELECT code_key FROM parent"), "ab");
    migrate_in_sync(&p, &old, &new);
    // Added to an existing table too: column and key before the foreign key.
    let bare = PgScratch::new("gen_fk_bare");
    pg_exec(
        &bare.url,
        "CREATE TABLE parent (id integer PRIMARY KEY, code text NOT NULL); \
        CREATE TABLE child (id integer PRIMARY KEY, code text);",
    );
    let sql = migrate_in_sync(&p, &bare, &new);
    in_order(&sql, &["ADD COLUMN \"code_key\"", "UNIQUE (\"code_key\")", "FOREIGN KEY(\"code\")"]);
    // And back to nothing.
    let empty = PgScratch::new("gen_fk_empty");
    migrate_in_sync(&p, &old, &empty);
}

const IDENTITY_OLD: &str =
    "CREATE TABLE t (s serial, d integer DEFAULT 77, a integer GENERATED ALWAYS AS IDENTITY, \
      b integer GENERATED BY DEFAULT AS IDENTITY, i integer GENERATED BY DEFAULT AS IDENTITY, v text); \
    INSERT INTO t (d, i, v) VALUES (1, 10, 'x'), (2, 20, 'y');";

const IDENTITY_NEW: &str = "CREATE TABLE t (s integer GENERATED BY DEFAULT AS IDENTITY, \
      d integer GENERATED ALWAYS AS IDENTITY, a integer GENERATED BY DEFAULT AS IDENTITY, \
      b integer GENERATED ALWAYS AS IDENTITY, i integer DEFAULT 5, v text);";

#[test]
fn identity_changes_run_in_the_order_postgresql_needs() {
    let (p, old, new) = pair("ident", IDENTITY_OLD, IDENTITY_NEW);
    let sql = migrate_in_sync(&p, &old, &new);
    // serial → identity: the default and its sequence go before ADD GENERATED, and the identity
    // continues after the existing values.
    in_order(
        &sql,
        &[
            "ALTER COLUMN \"s\" DROP DEFAULT;",
            "DROP SEQUENCE",
            "ALTER COLUMN \"s\" ADD GENERATED BY DEFAULT AS IDENTITY;",
            "pg_catalog.setval(",
        ],
    );
    // default → identity: SET NOT NULL and DROP DEFAULT first.
    in_order(
        &sql,
        &[
            "ALTER COLUMN \"d\" SET NOT NULL;",
            "ALTER COLUMN \"d\" DROP DEFAULT;",
            "ALTER COLUMN \"d\" ADD GENERATED ALWAYS AS IDENTITY;",
        ],
    );
    assert!(sql.contains("ALTER COLUMN \"a\" SET GENERATED BY DEFAULT;"), "{sql}");
    assert!(sql.contains("ALTER COLUMN \"b\" SET GENERATED ALWAYS;"), "{sql}");
    // identity → default: the identity is dropped before SET DEFAULT, never DROP DEFAULT.
    in_order(&sql, &["ALTER COLUMN \"i\" DROP IDENTITY IF EXISTS;", "ALTER COLUMN \"i\" SET DEFAULT 5;"]);
    assert!(!sql.contains("\"i\" DROP DEFAULT"), "{sql}");
    // The old serial sequence is gone, and new rows continue past the existing values.
    assert_eq!(pg_one(&old.url, "SELECT count(*)::text FROM pg_class WHERE relname = 't_s_seq1'"), "0");
    pg_exec(&old.url, "INSERT INTO t (v) VALUES ('z');");
    assert_eq!(pg_one(&old.url, "SELECT s::text || ',' || d::text FROM t WHERE v = 'z'"), "3,3");

    // And back: identity → serial recreates the column (a serial needs its own sequence),
    // identity → default and the reverse swaps.
    let back = PgScratch::new("ident_back");
    pg_exec(&back.url, IDENTITY_OLD);
    let sql = migrate_in_sync(&p, &old, &back);
    in_order(&sql, &["ALTER COLUMN \"d\" DROP IDENTITY IF EXISTS;", "ALTER COLUMN \"d\" SET DEFAULT 77;"]);
    in_order(
        &sql,
        &["ALTER COLUMN \"i\" DROP DEFAULT;", "ALTER COLUMN \"i\" ADD GENERATED BY DEFAULT AS IDENTITY;"],
    );
}

#[test]
fn an_identity_dropped_leaves_a_plain_nullable_column() {
    let (p, old, new) = pair(
        "ident_drop",
        "CREATE TABLE t (f integer GENERATED ALWAYS AS IDENTITY, v text); INSERT INTO t (v) VALUES ('x');",
        "CREATE TABLE t (f integer, v text);",
    );
    let sql = migrate_in_sync(&p, &old, &new);
    in_order(&sql, &["ALTER COLUMN \"f\" DROP IDENTITY IF EXISTS;", "ALTER COLUMN \"f\" DROP NOT NULL;"]);
    assert_eq!(pg_one(&old.url, "SELECT f::text FROM t"), "1");
    // Back: NOT NULL, then the identity, numbering after the existing row.
    let back = PgScratch::new("ident_drop_back");
    pg_exec(&back.url, "CREATE TABLE t (f integer GENERATED ALWAYS AS IDENTITY, v text);");
    migrate_in_sync(&p, &old, &back);
    pg_exec(&old.url, "INSERT INTO t (v) VALUES ('y');");
    assert_eq!(pg_one(&old.url, "SELECT f::text FROM t WHERE v = 'y'"), "2");
}
