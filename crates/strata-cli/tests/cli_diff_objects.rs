//! `strata diff` between two live PostgreSQL databases writes SQL for their views, materialized
//! views, functions, triggers, policies, rules, comments, grants and default privileges: each
//! case loads two schemas, diffs them, runs strata's SQL on the first and diffs again, which
//! must then be in sync (exit 0, no SQL).

mod common;

use common::{pg_exec, Project};
use strata_testdb::PgScratch;

const TABLES: &str = "CREATE TABLE item (id bigserial PRIMARY KEY, name text NOT NULL, price integer); \
                      CREATE TABLE tag (id bigserial PRIMARY KEY, label text);";

/// Loads `old` and `new` (each after [`TABLES`]), checks that strata's SQL takes old to new,
/// and returns that SQL.
fn migrates(what: &str, old: &str, new: &str) -> String {
    let p = Project::store();
    let (a, b) = (PgScratch::new("objects_a"), PgScratch::new("objects_b"));
    pg_exec(&a.url, &format!("{TABLES} {old}"));
    pg_exec(&b.url, &format!("{TABLES} {new}"));
    let (from, to) = (format!("db:{}", a.url), format!("db:{}", b.url));
    let run = p.run(&["diff", "--from", &from, "--to", &to]);
    assert_eq!(run.code, 2, "{what}: the databases differ: {}", run.stderr);
    assert!(run.stdout.contains("BEGIN;") && run.stdout.contains("COMMIT;"), "{what}: {}", run.stdout);
    assert!(!run.stderr.contains("only in db:"), "{what}: nothing is left unrepresented: {}", run.stderr);
    pg_exec(&a.url, &run.stdout);
    let again = p.run(&["diff", "--from", &from, "--to", &to]);
    assert_eq!(again.code, 0, "{what}: in sync after the SQL ran:\n{}\n{}", run.stdout, again.stderr);
    assert!(again.stdout.trim().is_empty(), "{what}: {}", again.stdout);
    run.stdout
}

#[test]
fn comments_are_set_changed_and_removed_with_their_text_escaped() {
    let sql = migrates(
        "comments",
        "COMMENT ON TABLE tag IS 'old'; COMMENT ON COLUMN item.price IS 'cents';",
        "COMMENT ON TABLE item IS 'what''s for sale'; COMMENT ON COLUMN item.name IS 'shown'; \
         COMMENT ON COLUMN item.price IS 'euro cents'; \
         CREATE VIEW cheap AS SELECT id FROM item WHERE price < 100; COMMENT ON VIEW cheap IS 'v';",
    );
    assert!(sql.contains("COMMENT ON TABLE public.item IS 'what''s for sale';"), "{sql}");
    assert!(sql.contains("COMMENT ON TABLE public.tag IS NULL;"), "{sql}");
    // After the view exists.
    assert!(sql.find("CREATE VIEW").unwrap() < sql.find("COMMENT ON VIEW").unwrap(), "{sql}");
}

#[test]
fn views_reading_a_changed_column_are_dropped_and_recreated_dependents_first() {
    let views = "CREATE VIEW priced AS SELECT id, price FROM item; \
                 CREATE VIEW expensive AS SELECT id FROM priced WHERE price > 10; \
                 COMMENT ON VIEW expensive IS 'kept'; GRANT SELECT ON expensive TO pg_monitor;";
    let sql = migrates(
        "view over a retyped column",
        views,
        &format!("ALTER TABLE item ALTER COLUMN price TYPE bigint; {views}"),
    );
    let at = |s: &str| sql.find(s).unwrap_or_else(|| panic!("{s} missing: {sql}"));
    assert!(at("DROP VIEW \"public\".\"expensive\"") < at("DROP VIEW \"public\".\"priced\""), "{sql}");
    assert!(at("DROP VIEW \"public\".\"priced\"") < at("ALTER TABLE"), "{sql}");
    assert!(at("ALTER TABLE") < at("CREATE VIEW \"public\".\"priced\""), "{sql}");
    assert!(at("CREATE VIEW \"public\".\"priced\"") < at("CREATE VIEW \"public\".\"expensive\""), "{sql}");
    // The recreated view gets its comment and grant back.
    assert!(at("CREATE VIEW \"public\".\"expensive\"") < at("COMMENT ON VIEW public.expensive"), "{sql}");
    assert!(sql.contains("GRANT SELECT ON TABLE \"public\".\"expensive\" TO \"pg_monitor\";"), "{sql}");
    migrates(
        "view changed and dropped",
        "CREATE VIEW a AS SELECT id FROM item; CREATE VIEW b AS SELECT id FROM tag;",
        "CREATE VIEW a AS SELECT id, name FROM item;",
    );
}

#[test]
fn functions_are_replaced_recreated_when_their_signature_changes_and_dropped_last() {
    let sql = migrates(
        "functions",
        "CREATE FUNCTION bump(n int) RETURNS int LANGUAGE sql AS 'SELECT n + 1'; \
         CREATE FUNCTION label(i bigint) RETURNS text LANGUAGE sql AS 'SELECT i::text'; \
         CREATE FUNCTION gone() RETURNS int LANGUAGE sql AS 'SELECT 1'; \
         CREATE PROCEDURE tidy() LANGUAGE sql AS 'DELETE FROM tag';",
        "CREATE TABLE later (id bigserial PRIMARY KEY); \
         CREATE FUNCTION rows_of() RETURNS SETOF later LANGUAGE sql AS 'SELECT * FROM later'; \
         CREATE FUNCTION bump(n int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT n + 2'; \
         CREATE FUNCTION label(i bigint) RETURNS varchar LANGUAGE sql AS 'SELECT i::text'; \
         CREATE FUNCTION fresh() RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN (SELECT count(*) FROM later); END$$; \
         CREATE PROCEDURE tidy() LANGUAGE sql AS 'DELETE FROM tag WHERE label IS NULL';",
    );
    assert!(sql.contains("SET LOCAL check_function_bodies = false;"), "{sql}");
    // A function over a new table's row type waits for the table.
    assert!(sql.find("CREATE TABLE").unwrap() < sql.find("FUNCTION public.rows_of()").unwrap(), "{sql}");
    assert!(sql.contains("DROP FUNCTION \"public\".\"label\"(i bigint);"), "{sql}");
    let (drop_gone, commit) =
        (sql.find("DROP FUNCTION \"public\".\"gone\"()").unwrap(), sql.find("COMMIT;").unwrap());
    assert!(sql.find("CREATE TABLE").unwrap() < drop_gone && drop_gone < commit, "dropped last: {sql}");
}

#[test]
fn triggers_policies_row_level_security_and_rules() {
    let func = "CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.name := upper(NEW.name); RETURN NEW; END$$;";
    migrates(
        "triggers",
        &format!(
            "{func} CREATE TRIGGER t1 BEFORE INSERT ON item FOR EACH ROW EXECUTE FUNCTION stamp(); \
                  CREATE TRIGGER t2 BEFORE INSERT ON tag FOR EACH ROW EXECUTE FUNCTION stamp();"
        ),
        &format!(
            "{func} CREATE TRIGGER t1 BEFORE INSERT OR UPDATE ON item FOR EACH ROW \
                  WHEN (NEW.price IS NOT NULL) EXECUTE FUNCTION stamp(); \
                  CREATE TRIGGER t3 BEFORE UPDATE ON tag FOR EACH ROW EXECUTE FUNCTION stamp();"
        ),
    );
    let sql = migrates(
        "policies",
        "ALTER TABLE item ENABLE ROW LEVEL SECURITY; CREATE POLICY p_old ON item USING (price > 0);",
        "ALTER TABLE item ENABLE ROW LEVEL SECURITY; ALTER TABLE item FORCE ROW LEVEL SECURITY; \
         CREATE POLICY p_read ON item AS RESTRICTIVE FOR SELECT TO pg_monitor, PUBLIC USING (price > 10); \
         ALTER TABLE tag ENABLE ROW LEVEL SECURITY; \
         CREATE POLICY p_write ON tag FOR INSERT WITH CHECK (label <> '');",
    );
    assert!(sql.contains("ALTER TABLE \"public\".\"item\" FORCE ROW LEVEL SECURITY;"), "{sql}");
    assert!(sql.contains("DROP POLICY \"p_old\" ON \"public\".\"item\";"), "{sql}");
    migrates("disabling", "ALTER TABLE item ENABLE ROW LEVEL SECURITY;", "");
    migrates(
        "rules",
        "CREATE RULE keep AS ON DELETE TO tag DO INSTEAD NOTHING;",
        "CREATE RULE keep_items AS ON DELETE TO item DO INSTEAD NOTHING;",
    );
}

#[test]
fn materialized_views_with_their_indexes() {
    migrates(
        "materialized views",
        "CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n FROM item; CREATE INDEX totals_n ON totals (n);",
        "CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n FROM item; CREATE UNIQUE INDEX totals_n ON totals (n); \
         CREATE MATERIALIZED VIEW labels AS SELECT label FROM tag; CREATE INDEX labels_label ON labels (label);",
    );
}

#[test]
fn grants_and_default_privileges_per_privilege_and_grantee() {
    let sql = migrates(
        "grants",
        "GRANT SELECT, INSERT ON item TO pg_monitor; GRANT USAGE ON SCHEMA public TO pg_monitor; \
         CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';",
        "GRANT SELECT ON item TO pg_monitor WITH GRANT OPTION; GRANT UPDATE ON tag TO PUBLIC; \
         CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'; REVOKE EXECUTE ON FUNCTION f() FROM PUBLIC; \
         ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO pg_monitor; \
         ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;",
    );
    assert!(sql.contains("REVOKE INSERT ON TABLE \"public\".\"item\" FROM \"pg_monitor\";"), "{sql}");
    assert!(
        sql.contains("GRANT SELECT ON TABLE \"public\".\"item\" TO \"pg_monitor\" WITH GRANT OPTION;"),
        "{sql}"
    );
    assert!(sql.contains("REVOKE EXECUTE ON FUNCTION \"public\".\"f\"() FROM PUBLIC;"), "{sql}");
    assert!(sql.contains("ALTER DEFAULT PRIVILEGES FOR ROLE"), "{sql}");
    assert!(sql.contains("REVOKE USAGE ON SCHEMA \"public\" FROM \"pg_monitor\";"), "{sql}");
}

#[test]
fn ignored_kinds_are_left_out_of_the_sql_and_the_report() {
    let p = Project::store();
    let (a, b) = (PgScratch::new("objects_ign_a"), PgScratch::new("objects_ign_b"));
    pg_exec(&a.url, TABLES);
    pg_exec(&b.url, &format!("{TABLES} CREATE VIEW v AS SELECT id FROM item; COMMENT ON TABLE item IS 'x';"));
    let (from, to) = (format!("db:{}", a.url), format!("db:{}", b.url));
    let run = p.run(&["diff", "--from", &from, "--to", &to, "--ignore", "view"]);
    run.code(2);
    assert!(!run.stdout.contains("CREATE VIEW"), "{}", run.stdout);
    assert!(run.stdout.contains("COMMENT ON TABLE"), "{}", run.stdout);
    p.run(&["diff", "--from", &from, "--to", &to, "--ignore", "view", "--ignore", "comment"])
        .code(0)
        .stderr_says("In sync");
}

/// Zero false drift: a database with every kind, diffed against a template clone of itself.
#[test]
fn a_template_clone_is_in_sync() {
    let p = Project::store();
    let a = PgScratch::new("objects_tpl");
    pg_exec(
        &a.url,
        &format!(
            "{TABLES} CREATE VIEW v AS SELECT id, 'a  b'::text AS s FROM item; \
             CREATE MATERIALIZED VIEW m AS SELECT id FROM v; CREATE INDEX m_id ON m (id); \
             CREATE FUNCTION f(n int) RETURNS int LANGUAGE sql AS 'SELECT n'; \
             CREATE FUNCTION tf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$; \
             CREATE TRIGGER t BEFORE INSERT ON item FOR EACH ROW EXECUTE FUNCTION tf(); \
             ALTER TABLE item ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON item USING (price > 0); \
             CREATE RULE r AS ON DELETE TO tag DO INSTEAD NOTHING; COMMENT ON COLUMN item.name IS 'n'; \
             COMMENT ON TRIGGER t ON item IS 'trg'; GRANT SELECT ON v TO pg_monitor; \
             ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO pg_monitor;"
        ),
    );
    let clone = strata_testdb::unique_name("objects_tpl_clone");
    pg_exec(&PgScratch::admin_url(), &format!("CREATE DATABASE \"{clone}\" TEMPLATE \"{}\"", a.name));
    let clone_url = a.url.replace(&a.name, &clone);
    let run = p.run(&["diff", "--from", &format!("db:{}", a.url), "--to", &format!("db:{clone_url}")]);
    pg_exec(&PgScratch::admin_url(), &format!("DROP DATABASE \"{clone}\" WITH (FORCE)"));
    run.code(0).stderr_says("In sync");
    assert!(run.stdout.trim().is_empty(), "{}", run.stdout);
}
