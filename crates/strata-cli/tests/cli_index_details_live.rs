//! Index details between two live PostgreSQL databases: sort order, nulls order, operator
//! classes, collations, `INCLUDE` columns and storage parameters are part of the model. The SQL
//! `strata diff` prints runs on the old side and leaves it in sync with the new one, in both
//! directions; a change of any detail alone drops and recreates the index; and a database
//! diffed against a TEMPLATE clone of itself reports nothing.

mod common;

use common::{assert_no_false_drift, diff_dbs as diff, no_project, pg_exec, pg_strings, Project};
use strata_testdb::PgScratch;

/// Diffs `old` → `new` (differences: exit 2), runs the SQL on `old` and checks they are then in
/// sync with nothing left unrepresented. Returns the SQL.
fn migrate(p: &Project, old: &PgScratch, new: &PgScratch) -> String {
    let r = diff(p, old, new);
    r.code(2);
    assert!(!r.stderr.contains("not represented"), "an index detail was left out:\n{}", r.stderr);
    pg_exec(&old.url, &r.stdout);
    let again = diff(p, old, new);
    again.code(0).stderr_says("In sync");
    r.stdout
}

/// `pg_get_indexdef` of every index in `public`, by name: what the server itself says it built.
fn index_defs(url: &str) -> Vec<String> {
    pg_strings(
        url,
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY c.relname",
    )
}

const TABLES: &str = "CREATE TABLE person (id integer PRIMARY KEY, name text, email varchar(200), \
      born date, score integer, tags integer[], doc jsonb);";

/// One index per detail, several details on some.
const INDEXES: &str = "\
    CREATE INDEX person_name_desc ON person (name DESC); \
    CREATE INDEX person_born_nulls_first ON person (born NULLS FIRST); \
    CREATE INDEX person_score_desc_nulls_last ON person (score DESC NULLS LAST, born); \
    CREATE INDEX person_email_pattern ON person (email varchar_pattern_ops); \
    CREATE INDEX person_name_c ON person (name COLLATE \"C\" text_pattern_ops DESC); \
    CREATE INDEX person_lower_name ON person (lower(name) DESC NULLS LAST); \
    CREATE UNIQUE INDEX person_email_covering ON person (email) INCLUDE (name, born); \
    CREATE INDEX person_score_fill ON person (score) WITH (fillfactor = 70); \
    CREATE INDEX person_tags ON person USING gin (tags) WITH (fastupdate = off); \
    CREATE INDEX person_doc_path ON person USING gin (doc jsonb_path_ops); \
    CREATE INDEX person_born_brin ON person USING brin (born) WITH (pages_per_range = 32); \
    CREATE INDEX person_id_desc ON person (id DESC); \
    CREATE INDEX person_id ON person (id);";

#[test]
fn every_index_detail_is_created_and_dropped_and_the_server_builds_the_same_index() {
    let (old, new) = (PgScratch::new("idx_old"), PgScratch::new("idx_new"));
    pg_exec(&old.url, TABLES);
    pg_exec(&new.url, &format!("{TABLES} {INDEXES}"));
    let p = no_project();
    let sql = migrate(&p, &old, &new);
    for needle in [
        "(\"name\" DESC)",
        "(\"born\" NULLS FIRST)",
        "(\"score\" DESC NULLS LAST, \"born\")",
        "(\"email\" \"varchar_pattern_ops\")",
        "(\"name\" COLLATE \"C\" \"text_pattern_ops\" DESC)",
        "(lower(name) DESC NULLS LAST)",
        "(\"email\") INCLUDE (\"name\", \"born\")",
        "(\"score\") WITH (fillfactor=70)",
        "USING gin (\"tags\" array_ops) WITH (fastupdate=off)",
        "USING gin (\"doc\" jsonb_path_ops)",
        "USING brin (\"born\") WITH (pages_per_range=32)",
        "\"person_id_desc\" ON \"person\" USING btree (\"id\" DESC)",
        "\"person_id\" ON \"person\" USING btree (\"id\")",
    ] {
        assert!(sql.contains(needle), "missing {needle:?} in:\n{sql}");
    }
    assert_eq!(index_defs(&old.url), index_defs(&new.url));
    assert_no_false_drift(&p, &new);
    // And back: every index dropped again.
    let bare = PgScratch::new("idx_bare");
    pg_exec(&bare.url, TABLES);
    migrate(&p, &old, &bare);
    assert_eq!(index_defs(&old.url), index_defs(&bare.url));
}

#[test]
fn a_change_of_one_detail_alone_drops_and_recreates_the_index() {
    let (old, new) = (PgScratch::new("idx_chg_old"), PgScratch::new("idx_chg_new"));
    pg_exec(&old.url, &format!("{TABLES} {INDEXES}"));
    let changed = INDEXES
        .replace("(name DESC)", "(name)")
        .replace("(born NULLS FIRST)", "(born NULLS LAST)")
        .replace("(email varchar_pattern_ops)", "(email)")
        .replace("COLLATE \"C\"", "COLLATE \"POSIX\"")
        .replace("INCLUDE (name, born)", "INCLUDE (born)")
        .replace("fillfactor = 70", "fillfactor = 80")
        .replace("(doc jsonb_path_ops)", "(doc)");
    pg_exec(&new.url, &format!("{TABLES} {changed}"));
    let p = no_project();
    let sql = migrate(&p, &old, &new);
    for name in [
        "person_name_desc",
        "person_born_nulls_first",
        "person_email_pattern",
        "person_name_c",
        "person_email_covering",
        "person_score_fill",
        "person_doc_path",
    ] {
        assert!(sql.contains(&format!("DROP INDEX \"{name}\"")), "{name} not dropped:\n{sql}");
        assert!(sql.contains(&format!("INDEX \"{name}\" ON")), "{name} not recreated:\n{sql}");
    }
    for untouched in ["person_lower_name", "person_tags", "person_born_brin", "person_id_desc"] {
        assert!(!sql.contains(&format!("\"{untouched}\"")), "{untouched} was touched:\n{sql}");
    }
    assert_eq!(index_defs(&old.url), index_defs(&new.url));
    assert_no_false_drift(&p, &old);
}

#[test]
fn the_inspected_definition_states_the_details_with_strata_keys_only_where_set() {
    let db = PgScratch::new("idx_inspect");
    pg_exec(&db.url, &format!("{TABLES} {INDEXES}"));
    let p = no_project();
    let r = p.run(&["inspect", "--database-url", &db.url]);
    r.code(0);
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let indexes = json["tables"][0]["indexes"].as_array().unwrap();
    let by_name = |name: &str| indexes.iter().find(|i| i["indexName"] == name).unwrap().clone();
    let element = |name: &str, n: usize| by_name(name)["elements"][n].clone();
    assert_eq!(element("person_name_desc", 0)["descending"], true);
    // DESC sorts nulls first by default: nothing more is said.
    assert!(element("person_name_desc", 0).get("nullsFirst").is_none());
    assert_eq!(element("person_born_nulls_first", 0)["nullsFirst"], true);
    assert_eq!(element("person_score_desc_nulls_last", 0)["nullsFirst"], false);
    assert_eq!(element("person_name_c", 0)["collation"], "C");
    assert_eq!(element("person_name_c", 0)["operatorClass"], "text_pattern_ops");
    assert_eq!(by_name("person_email_covering")["include"], serde_json::json!(["name", "born"]));
    assert_eq!(by_name("person_score_fill")["parameters"], serde_json::json!({"fillfactor": "70"}));
    // gin's class keeps Serverpod's own key.
    assert_eq!(by_name("person_doc_path")["ginOperatorClass"], "jsonbPathOps");
    assert!(element("person_doc_path", 0).get("operatorClass").is_none());
    // A plain element has only Serverpod's keys.
    let plain = element("person_tags", 0);
    let mut keys: Vec<&String> = plain.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["__className__", "definition", "type"]);
    assert!(by_name("person_tags").get("include").is_none());
}
