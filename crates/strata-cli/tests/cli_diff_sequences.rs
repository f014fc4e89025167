//! Sequences, collations and extensions between two live PostgreSQL databases: `strata diff`
//! writes their SQL around the table SQL (created first, dropped last), the SQL runs on the old
//! side and leaves it in sync with the new one, in both directions, and each database diffed
//! against a TEMPLATE clone of itself reports nothing.

mod common;

use common::{diff_dbs as diff, pg_exec, pg_one, Project};
use strata_testdb::PgScratch;

/// Diffs `old` → `new` (exit 2, nothing left unrepresented), runs the SQL on `old` and checks it
/// is then in sync. Returns the SQL.
fn migrates(p: &Project, what: &str, old: &PgScratch, new: &PgScratch) -> String {
    let r = diff(p, old, new);
    assert_eq!(r.code, 2, "{what}: the databases differ: {}", r.stderr);
    assert!(!r.stderr.contains("only in db:"), "{what}: nothing is left unrepresented: {}", r.stderr);
    assert!(!r.stderr.contains("left alone"), "{what}: nothing is left alone: {}", r.stderr);
    pg_exec(&old.url, &r.stdout);
    let again = diff(p, old, new);
    assert_eq!(again.code, 0, "{what}: in sync after the SQL ran:\n{}\n{}", r.stdout, again.stderr);
    assert!(again.stdout.trim().is_empty(), "{what}: {}", again.stdout);
    r.stdout
}

/// Loads `a` and `b` into fresh databases, checks that each is free of false drift, and migrates
/// a → b and (on fresh copies) b → a. Returns both SQL texts.
fn round_trip(what: &str, a: &str, b: &str) -> [String; 2] {
    let p = Project::store();
    let load = |prefix: &str, sql: &str| {
        let db = PgScratch::new(prefix);
        pg_exec(&db.url, sql);
        db
    };
    let (old, new) = (load("seq_a", a), load("seq_b", b));
    for db in [&old, &new] {
        let clone = db.template_clone("seq_clone");
        let r = diff(&p, db, &clone);
        assert_eq!(r.code, 0, "{what}: no false drift: {}\n{}", r.stdout, r.stderr);
        assert!(r.stdout.is_empty(), "{what}: {}", r.stdout);
    }
    let forward = migrates(&p, &format!("{what} (forward)"), &old, &new);
    let (old, new) = (load("seq_b", b), load("seq_a", a));
    let backward = migrates(&p, &format!("{what} (backward)"), &old, &new);
    [forward, backward]
}

/// Where `needle` is in `sql` (failing the test when it is not there).
fn at(sql: &str, needle: &str) -> usize {
    sql.find(needle).unwrap_or_else(|| panic!("{needle:?} missing from:\n{sql}"))
}

#[test]
fn standalone_sequences_are_created_altered_and_dropped_with_every_option() {
    let [forward, backward] = round_trip(
        "sequences",
        "CREATE SEQUENCE counter; CREATE SEQUENCE batch INCREMENT BY 10 CYCLE;",
        "CREATE SEQUENCE counter AS integer START WITH 100 INCREMENT BY 5 CACHE 5; \
         CREATE SEQUENCE tiny AS smallint MINVALUE -5 MAXVALUE 1000 START WITH -5 CYCLE;",
    );
    assert!(
        forward.contains(
            "ALTER SEQUENCE \"public\".\"counter\" AS integer INCREMENT BY 5 MINVALUE 1 MAXVALUE 2147483647 \
             START WITH 100 CACHE 5;"
        ),
        "{forward}"
    );
    assert!(
        forward.contains(
            "CREATE SEQUENCE \"public\".\"tiny\" AS smallint INCREMENT BY 1 MINVALUE -5 MAXVALUE 1000 \
             START WITH -5 CACHE 1 CYCLE;"
        ),
        "{forward}"
    );
    assert!(forward.contains("DROP SEQUENCE \"public\".\"batch\";"), "{forward}");
    assert!(
        backward.contains("NO CYCLE") || backward.contains("DROP SEQUENCE \"public\".\"tiny\";"),
        "{backward}"
    );
}

#[test]
fn a_default_using_a_sequence_comes_after_its_creation_and_before_its_drop() {
    let [forward, backward] = round_trip(
        "nextval default",
        "CREATE TABLE note (id bigserial PRIMARY KEY);",
        "CREATE SEQUENCE ticket_no START WITH 1000; \
         CREATE TABLE note (id bigserial PRIMARY KEY, ticket bigint NOT NULL DEFAULT nextval('ticket_no')); \
         CREATE TABLE ticket (id bigserial PRIMARY KEY, no bigint DEFAULT nextval('ticket_no'));",
    );
    // The default is the sequence's, not a serial column's own new sequence.
    assert!(forward.contains("DEFAULT (nextval('ticket_no'::regclass))"), "{forward}");
    assert!(
        at(&forward, "CREATE SEQUENCE \"public\".\"ticket_no\"") < at(&forward, "CREATE TABLE"),
        "{forward}"
    );
    assert!(
        at(&backward, "DROP TABLE") < at(&backward, "DROP SEQUENCE \"public\".\"ticket_no\""),
        "{backward}"
    );
    assert!(!forward.contains("serial NOT NULL DEFAULT"), "{forward}");
}

#[test]
fn a_column_switches_between_serial_and_a_standalone_sequence_by_owned_by_alone() {
    let [forward, backward] = round_trip(
        "serial and explicit sequences",
        "CREATE TABLE a (id serial PRIMARY KEY); \
         CREATE SEQUENCE b_id_seq AS integer; CREATE TABLE b (id integer NOT NULL DEFAULT nextval('b_id_seq'));",
        "CREATE SEQUENCE a_id_seq AS integer; CREATE TABLE a (id integer PRIMARY KEY DEFAULT nextval('a_id_seq')); \
         CREATE TABLE b (id serial NOT NULL);",
    );
    for sql in [&forward, &backward] {
        assert!(!sql.contains("SET DEFAULT"), "the defaults stay: {sql}");
    }
    assert!(forward.contains("ALTER SEQUENCE \"public\".\"a_id_seq\" OWNED BY NONE;"), "{forward}");
    assert!(
        forward.contains("ALTER SEQUENCE \"public\".\"b_id_seq\" OWNED BY \"public\".\"b\".\"id\";"),
        "{forward}"
    );
    assert!(
        backward.contains("ALTER SEQUENCE \"public\".\"a_id_seq\" OWNED BY \"public\".\"a\".\"id\";"),
        "{backward}"
    );
}

#[test]
fn a_sequence_outlives_the_serial_column_dropped_under_it_and_a_new_column_reuses_it() {
    let [forward, backward] = round_trip(
        "dropped serial column",
        "CREATE TABLE c (id serial, n integer);",
        "CREATE SEQUENCE c_id_seq AS integer; CREATE TABLE c (n integer);",
    );
    assert!(
        at(&forward, "ALTER SEQUENCE \"public\".\"c_id_seq\" OWNED BY NONE;")
            < at(&forward, "DROP COLUMN \"id\""),
        "released before its column goes: {forward}"
    );
    // Added back with the sequence that is there, not a serial making `c_id_seq1`.
    assert!(backward.contains("nextval('\"public\".\"c_id_seq\"'::regclass)"), "{backward}");
    assert!(
        at(&backward, "ADD COLUMN \"id\"") < at(&backward, "OWNED BY \"public\".\"c\".\"id\""),
        "{backward}"
    );
}

#[test]
fn a_new_serial_column_whose_sequence_was_altered_gets_the_options_after_it() {
    let [forward, _] = round_trip(
        "altered serial sequence",
        "",
        "CREATE TABLE d (id serial PRIMARY KEY); ALTER SEQUENCE d_id_seq INCREMENT BY 3 CACHE 7;",
    );
    assert!(
        at(&forward, "CREATE TABLE \"d\"")
            < at(&forward, "ALTER SEQUENCE \"public\".\"d_id_seq\" INCREMENT BY 3 CACHE 7;"),
        "{forward}"
    );
    assert!(!forward.contains("CREATE SEQUENCE"), "serial creates it: {forward}");
}

#[test]
fn extensions_are_created_in_dependency_order_and_dropped_after_their_users() {
    let [forward, backward] = round_trip(
        "extensions",
        "CREATE EXTENSION hstore; CREATE TABLE kv (id bigserial PRIMARY KEY, attrs hstore);",
        "CREATE EXTENSION earthdistance CASCADE; \
         CREATE EXTENSION citext; CREATE TABLE person (id bigserial PRIMARY KEY, email citext);",
    );
    let cube = at(&forward, "CREATE EXTENSION IF NOT EXISTS \"cube\" WITH SCHEMA \"public\" VERSION '1.5';");
    assert!(cube < at(&forward, "CREATE EXTENSION IF NOT EXISTS \"earthdistance\""), "{forward}");
    assert!(
        at(&forward, "CREATE EXTENSION IF NOT EXISTS \"citext\"") < at(&forward, "CREATE TABLE \"person\""),
        "{forward}"
    );
    assert!(at(&forward, "DROP TABLE \"kv\"") < at(&forward, "DROP EXTENSION \"hstore\";"), "{forward}");
    assert!(
        at(&backward, "DROP EXTENSION \"earthdistance\";") < at(&backward, "DROP EXTENSION \"cube\";"),
        "{backward}"
    );
}

#[test]
fn an_extension_is_updated_where_the_server_has_a_path_and_named_where_it_has_none() {
    let p = Project::store();
    let (old, new) = (PgScratch::new("ext_old"), PgScratch::new("ext_new"));
    pg_exec(&old.url, "CREATE EXTENSION pg_trgm VERSION '1.5';");
    pg_exec(&new.url, "CREATE EXTENSION pg_trgm VERSION '1.6';");
    // No path from 1.6 down to 1.5: named, and no statement for it.
    let down = diff(&p, &new, &old);
    assert_eq!(down.code, 2, "{}", down.stderr);
    assert!(
        down.stderr.contains("left alone: extension pg_trgm is at version 1.6 here and 1.5 there"),
        "{}",
        down.stderr
    );
    assert!(!down.stdout.contains("ALTER EXTENSION"), "{}", down.stdout);
    let up = migrates(&p, "update", &old, &new);
    assert!(up.contains("ALTER EXTENSION \"pg_trgm\" UPDATE TO '1.6';"), "{up}");
    assert_eq!(
        pg_one(&old.url, "SELECT extversion::text FROM pg_extension WHERE extname = 'pg_trgm'"),
        "1.6"
    );
}

#[test]
fn collations_are_created_before_the_columns_using_them_and_dropped_after() {
    let [forward, backward] = round_trip(
        "collations",
        "CREATE COLLATION posix_c FROM \"POSIX\"; CREATE TABLE doc (a text, b text COLLATE posix_c);",
        "CREATE COLLATION num (provider = icu, locale = 'en-u-kn-true'); \
         CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false); \
         CREATE TABLE doc (a text COLLATE nocase, b text COLLATE num, c text COLLATE num);",
    );
    let create = at(
        &forward,
        "CREATE COLLATION \"public\".\"nocase\" (provider = icu, locale = 'und-u-ks-level2', deterministic = false);",
    );
    assert!(create < at(&forward, "ALTER TABLE"), "{forward}");
    assert!(
        at(&forward, "ALTER TABLE") < at(&forward, "DROP COLLATION \"public\".\"posix_c\";"),
        "{forward}"
    );
    assert!(backward.contains("CREATE COLLATION \"public\".\"posix_c\" (provider = libc, lc_collate = 'POSIX', lc_ctype = 'POSIX', deterministic = true);"), "{backward}");
}

#[test]
fn ignore_leaves_each_new_kind_alone() {
    let p = Project::store();
    let (a, b) = (PgScratch::new("seq_ignore_a"), PgScratch::new("seq_ignore_b"));
    pg_exec(&b.url, "CREATE SEQUENCE s; CREATE COLLATION c FROM \"POSIX\"; CREATE EXTENSION citext;");
    let (from, to) = (format!("db:{}", a.url), format!("db:{}", b.url));
    let all = ["--ignore", "sequence", "--ignore", "collation", "--ignore", "extension"];
    let ignored = p.run(&[&["diff", "--from", &from, "--to", &to][..], &all[..]].concat());
    assert_eq!(ignored.code, 0, "{}\n{}", ignored.stdout, ignored.stderr);
    let some =
        p.run(&["diff", "--from", &from, "--to", &to, "--ignore", "sequence", "--ignore", "collation"]);
    assert_eq!(some.code, 2, "{}", some.stderr);
    assert!(some.stdout.contains("CREATE EXTENSION IF NOT EXISTS \"citext\""), "{}", some.stdout);
    assert!(!some.stdout.contains("SEQUENCE") && !some.stdout.contains("COLLATION"), "{}", some.stdout);
    assert_eq!(pg_one(&a.url, "SELECT count(*)::text FROM pg_class WHERE relkind = 'S'"), "0");
}
