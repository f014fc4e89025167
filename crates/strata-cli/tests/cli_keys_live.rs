//! Table constraints, identity, serial and partitions between two live PostgreSQL databases:
//! the SQL `strata diff` prints runs on the old side and leaves it in sync with the new one,
//! in both directions, and a database diffed against a TEMPLATE clone of itself reports nothing.

mod common;

use common::{assert_no_false_drift, diff_dbs as diff, no_project, pg_exec, pg_strings, Project};
use strata_testdb::PgScratch;

/// Diffs `old` → `new`, checks the exit code, runs the SQL on `old` and checks it is then in
/// sync (exit 0) or differs only in what strata names (`after`). Returns the SQL.
fn migrate(p: &Project, old: &PgScratch, new: &PgScratch, code: i32, after: i32) -> String {
    let r = diff(p, old, new);
    r.code(code);
    pg_exec(&old.url, &r.stdout);
    let again = diff(p, old, new);
    again.code(after);
    if after == 0 {
        again.stderr_says("In sync");
    }
    r.stdout
}

/// `member` sorts before `org`, so its foreign keys are only valid if they are added after
/// `org`'s keys exist, and dropped before them.
const KEYED: &str = "CREATE TABLE org (tenant integer NOT NULL, id integer NOT NULL, name text NOT NULL, \
      CONSTRAINT org_pk PRIMARY KEY (tenant, id), CONSTRAINT org_name_key UNIQUE (name)); \
    CREATE TABLE member (tenant integer NOT NULL, org integer NOT NULL, uid integer NOT NULL, \
      email text, org_name text, \
      PRIMARY KEY (tenant, org, uid), \
      CONSTRAINT member_email_key UNIQUE NULLS NOT DISTINCT (email), \
      CONSTRAINT member_org_fkey FOREIGN KEY (tenant, org) REFERENCES org (tenant, id) \
        DEFERRABLE INITIALLY DEFERRED, \
      CONSTRAINT member_org_name_fkey FOREIGN KEY (org_name) REFERENCES org (name));";

const UNKEYED: &str = "CREATE TABLE org (tenant integer NOT NULL, id integer NOT NULL, name text NOT NULL); \
    CREATE TABLE member (tenant integer NOT NULL, org integer NOT NULL, uid integer NOT NULL, \
      email text, org_name text);";

#[test]
fn composite_and_named_keys_are_created_before_the_foreign_keys_onto_them() {
    let (old, new) = (PgScratch::new("keys_old"), PgScratch::new("keys_new"));
    pg_exec(&old.url, UNKEYED);
    pg_exec(&new.url, KEYED);
    let p = no_project();
    let sql = migrate(&p, &old, &new, 2, 0);
    for needle in [
        "ALTER TABLE \"org\" ADD CONSTRAINT \"org_pk\" PRIMARY KEY (\"tenant\", \"id\");",
        "ALTER TABLE \"org\" ADD CONSTRAINT \"org_name_key\" UNIQUE (\"name\");",
        "ALTER TABLE \"member\" ADD CONSTRAINT \"member_email_key\" UNIQUE NULLS NOT DISTINCT (\"email\");",
        "DEFERRABLE INITIALLY DEFERRED;",
    ] {
        assert!(sql.contains(needle), "missing {needle:?} in:\n{sql}");
    }
    let key = sql.find("\"org_pk\" PRIMARY KEY").unwrap();
    let fk = sql.find("ADD CONSTRAINT \"member_org_fkey\"").unwrap();
    assert!(key < fk, "the foreign key comes before the key it references:\n{sql}");
    assert_no_false_drift(&p, &new);
}

#[test]
fn keys_are_dropped_after_the_foreign_keys_that_reference_them() {
    let (old, new) = (PgScratch::new("keys_drop_old"), PgScratch::new("keys_drop_new"));
    pg_exec(&old.url, KEYED);
    pg_exec(&new.url, UNKEYED);
    let p = no_project();
    let sql = migrate(&p, &old, &new, 2, 0);
    let fk = sql.find("DROP CONSTRAINT IF EXISTS \"member_org_name_fkey\"").unwrap();
    let key = sql.find("DROP CONSTRAINT IF EXISTS \"org_name_key\"").unwrap();
    assert!(fk < key, "{sql}");
    assert_eq!(sql.matches("\"member_org_name_fkey\"").count(), 1, "dropped once:\n{sql}");
    assert_no_false_drift(&p, &old);
}

#[test]
fn a_new_table_gets_its_keys_inline_and_an_empty_side_round_trips() {
    let (old, new) = (PgScratch::new("keys_empty"), PgScratch::new("keys_full"));
    pg_exec(&new.url, KEYED);
    let p = no_project();
    let sql = migrate(&p, &old, &new, 2, 0);
    assert!(sql.contains("    CONSTRAINT \"org_pk\" PRIMARY KEY (\"tenant\", \"id\")"), "{sql}");
    // And back: every table dropped, the referencing one first or by CASCADE.
    let empty = PgScratch::new("keys_empty_again");
    migrate(&p, &new, &empty, 2, 0);
}

#[test]
fn a_key_whose_name_alone_changes_is_renamed() {
    let (old, new) = (PgScratch::new("keys_ren_old"), PgScratch::new("keys_ren_new"));
    pg_exec(&old.url, KEYED);
    pg_exec(
        &new.url,
        &KEYED.replace("CONSTRAINT org_pk", "CONSTRAINT org_key").replace("org_name_key", "org_name_uq"),
    );
    let p = no_project();
    let sql = migrate(&p, &old, &new, 2, 0);
    assert!(sql.contains("ALTER TABLE \"org\" RENAME CONSTRAINT \"org_pk\" TO \"org_key\";"), "{sql}");
    assert!(sql.contains("RENAME CONSTRAINT \"org_name_key\" TO \"org_name_uq\";"), "{sql}");
    assert!(!sql.contains("DROP CONSTRAINT"), "{sql}");
}

#[test]
fn a_primary_key_column_can_become_nullable_once_its_key_is_gone() {
    let (old, new) = (PgScratch::new("keys_null_old"), PgScratch::new("keys_null_new"));
    pg_exec(&old.url, "CREATE TABLE t (a integer PRIMARY KEY, b text);");
    pg_exec(&new.url, "CREATE TABLE t (a integer, b text NOT NULL, CONSTRAINT t_pkey PRIMARY KEY (b));");
    let p = no_project();
    let sql = migrate(&p, &old, &new, 2, 0);
    let drop = sql.find("DROP CONSTRAINT IF EXISTS \"t_pkey\"").unwrap();
    let nullable = sql.find("ALTER COLUMN \"a\" DROP NOT NULL").unwrap();
    assert!(drop < nullable, "{sql}");
}

#[test]
fn an_id_column_without_a_key_stays_without_one() {
    let (old, new) = (PgScratch::new("keys_id_old"), PgScratch::new("keys_id_new"));
    pg_exec(&old.url, "CREATE TABLE t (name text);");
    pg_exec(&new.url, "CREATE TABLE t (id integer, name text, CONSTRAINT t_id_key UNIQUE (id));");
    let p = no_project();
    let sql = migrate(&p, &old, &new, 2, 0);
    assert!(sql.contains("ALTER TABLE \"t\" ADD COLUMN \"id\" integer;"), "{sql}");
    assert!(!sql.contains("PRIMARY KEY"), "{sql}");
    assert_no_false_drift(&p, &new);
}

#[test]
fn identity_columns_are_added_changed_and_dropped_never_by_drop_default() {
    let (old, new) = (PgScratch::new("ident_old"), PgScratch::new("ident_new"));
    pg_exec(
        &old.url,
        "CREATE TABLE i (a integer NOT NULL, b integer GENERATED ALWAYS AS IDENTITY, \
           c integer GENERATED BY DEFAULT AS IDENTITY, d integer DEFAULT 5); \
         INSERT INTO i (a, d) VALUES (1, 1);",
    );
    pg_exec(
        &new.url,
        "CREATE TABLE i (a integer GENERATED BY DEFAULT AS IDENTITY, b integer NOT NULL, \
           c integer GENERATED ALWAYS AS IDENTITY, d integer GENERATED ALWAYS AS IDENTITY); \
         CREATE TABLE fresh (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n integer);",
    );
    let p = no_project();
    let sql = migrate(&p, &old, &new, 2, 0);
    for needle in [
        "ALTER TABLE \"i\" ALTER COLUMN \"a\" ADD GENERATED BY DEFAULT AS IDENTITY;",
        "ALTER TABLE \"i\" ALTER COLUMN \"b\" DROP IDENTITY IF EXISTS;",
        "ALTER TABLE \"i\" ALTER COLUMN \"c\" SET GENERATED ALWAYS;",
        "ALTER TABLE \"i\" ALTER COLUMN \"d\" ADD GENERATED ALWAYS AS IDENTITY;",
        "\"id\" integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    ] {
        assert!(sql.contains(needle), "missing {needle:?} in:\n{sql}");
    }
    assert!(!sql.contains("\"b\" DROP DEFAULT"), "{sql}");
    assert_eq!(pg_strings(&old.url, "SELECT b::text FROM i"), vec!["1"], "rows keep their values");
    assert_no_false_drift(&p, &new);
}

#[test]
fn serial_ids_are_created_as_serial_and_bigserial_as_bigserial() {
    let (old, new) = (PgScratch::new("serial_old"), PgScratch::new("serial_new"));
    pg_exec(
        &new.url,
        "CREATE TABLE s (id serial PRIMARY KEY, n integer); CREATE TABLE b (id bigserial PRIMARY KEY);",
    );
    let p = no_project();
    let sql = migrate(&p, &old, &new, 2, 0);
    assert!(sql.contains("\"id\" serial PRIMARY KEY"), "{sql}");
    assert!(sql.contains("\"id\" bigserial PRIMARY KEY"), "{sql}");
    let types = "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
                 WHERE attrelid IN ('s'::regclass, 'b'::regclass) AND attname = 'id' ORDER BY attrelid::regclass::text";
    assert_eq!(pg_strings(&old.url, types), vec!["bigint", "integer"]);
}

/// The parent's new column reaches the partitions through the parent; partitions are dropped
/// before their parent (the rest of partitioning: cli_partitions_live.rs).
#[test]
fn partitions_change_through_their_parent_and_drop_before_it() {
    let (old, new) = (PgScratch::new("part_old"), PgScratch::new("part_new"));
    const PARENT: &str =
        "CREATE TABLE m (city integer NOT NULL, day date NOT NULL{extra}) PARTITION BY RANGE (day); \
         CREATE TABLE m_jan PARTITION OF m FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');";
    pg_exec(
        &old.url,
        &format!(
            "{} CREATE TABLE z_parent (k integer NOT NULL) PARTITION BY LIST (k); \
             CREATE TABLE a_child PARTITION OF z_parent FOR VALUES IN (1);",
            PARENT.replace("{extra}", "")
        ),
    );
    pg_exec(&new.url, &PARENT.replace("{extra}", ", extra text"));
    let p = no_project();
    let r = diff(&p, &old, &new);
    r.code(2);
    let sql = &r.stdout;
    assert!(sql.contains("ALTER TABLE \"m\" ADD COLUMN \"extra\" text;"), "{sql}");
    assert!(!sql.contains("ALTER TABLE \"m_jan\""), "{sql}");
    let child = sql.find("DROP TABLE \"a_child\"").unwrap();
    let parent = sql.find("DROP TABLE \"z_parent\"").unwrap();
    assert!(child < parent, "{sql}");
    pg_exec(&old.url, sql);
    let cols =
        "SELECT attname::text FROM pg_attribute WHERE attrelid = 'm_jan'::regclass AND attname = 'extra'";
    assert_eq!(pg_strings(&old.url, cols), vec!["extra"]);
    diff(&p, &old, &new).code(0).stderr_says("In sync");
    assert_no_false_drift(&p, &new);
}

/// `inspect` keeps the keys: its JSON states them and its SQL, loaded into an empty database,
/// diffs as empty against the source.
#[test]
fn inspect_round_trips_keys_and_identity() {
    let src = PgScratch::new("keys_inspect");
    pg_exec(
        &src.url,
        &format!("{KEYED} CREATE TABLE i (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text);"),
    );
    let p = no_project();
    let json = p.run(&["inspect", "--database-url", &src.url]);
    json.code(0);
    for needle in [
        "\"primaryKey\": {",
        "\"uniqueConstraints\": [",
        "\"nullsNotDistinct\": true",
        "\"identity\": \"byDefault\"",
    ] {
        assert!(json.stdout.contains(needle), "missing {needle:?} in:\n{}", json.stdout);
    }
    let sql = p.run(&["inspect", "--database-url", &src.url, "--format", "sql"]);
    sql.code(0);
    let copy = PgScratch::new("keys_inspect_copy");
    pg_exec(&copy.url, &sql.stdout);
    diff(&p, &src, &copy).code(0).stderr_says("In sync");
}

/// An identity's sequence options other than the defaults are part of the column: they are
/// created with it, set and reset in place, and survive `inspect --format sql`.
#[test]
fn identity_sequence_options_are_created_changed_and_reset() {
    let (old, new) = (PgScratch::new("ident_opts_old"), PgScratch::new("ident_opts_new"));
    const OLD: &str = "CREATE TABLE t (a bigint GENERATED ALWAYS AS IDENTITY, b integer GENERATED ALWAYS AS \
        IDENTITY (START WITH 50 CACHE 20), c integer NOT NULL);";
    pg_exec(&old.url, OLD);
    pg_exec(
        &new.url,
        "CREATE TABLE t (a bigint GENERATED ALWAYS AS IDENTITY (START WITH 1000 INCREMENT BY 10), \
           b integer GENERATED ALWAYS AS IDENTITY, \
           c integer GENERATED BY DEFAULT AS IDENTITY (MAXVALUE 5000 CYCLE)); \
         CREATE TABLE fresh (id smallint GENERATED ALWAYS AS IDENTITY (INCREMENT BY -1) PRIMARY KEY);",
    );
    let p = no_project();
    let sql = migrate(&p, &old, &new, 2, 0);
    for needle in [
        "ALTER TABLE \"t\" ALTER COLUMN \"a\" SET START WITH 1000 SET INCREMENT BY 10;",
        "ALTER TABLE \"t\" ALTER COLUMN \"b\" SET START WITH 1 SET CACHE 1;",
        "ALTER TABLE \"t\" ALTER COLUMN \"c\" ADD GENERATED BY DEFAULT AS IDENTITY (MAXVALUE 5000 CYCLE);",
        "GENERATED ALWAYS AS IDENTITY (START WITH -1 INCREMENT BY -1 MINVALUE -32768 MAXVALUE -1) PRIMARY KEY",
    ] {
        assert!(sql.contains(needle), "missing {needle:?} in:\n{sql}");
    }
    assert_no_false_drift(&p, &new);
    // `old` now holds every option: `inspect --format sql` keeps them.
    let inspected = p.run(&["inspect", "--database-url", &old.url, "--format", "sql"]);
    inspected.code(0);
    let copy = PgScratch::new("ident_opts_copy");
    pg_exec(&copy.url, &inspected.stdout);
    diff(&p, &old, &copy).code(0).stderr_says("In sync");
    // Back again: options return to the defaults (and to others).
    let back = PgScratch::new("ident_opts_back");
    pg_exec(&back.url, OLD);
    migrate(&p, &new, &back, 2, 0);
    let json = p.run(&["inspect", "--database-url", &old.url]);
    assert!(
        json.stdout.contains("\"identityOptions\": \"START WITH 1000 INCREMENT BY 10\""),
        "{}",
        json.stdout
    );
}
