//! Partitioned tables, partitions, inheritance children and unlogged tables between two live
//! PostgreSQL databases: the SQL `strata diff` prints runs on the old side and leaves its
//! catalog laid out as the new side's (partition keys, bounds, parents, local columns,
//! persistence), in both directions, and each database diffed against a TEMPLATE clone of
//! itself reports nothing.

mod common;

use common::{assert_no_false_drift, diff_dbs as diff, no_project, pg_exec, pg_strings, Project};
use strata_testdb::PgScratch;

/// One line per table of `public` saying how it is laid out: what `pg_dump` would show of
/// partitioning, inheritance, persistence and columns. Whether an inherited column is also the
/// child's own (`attislocal`) is left out: `ALTER TABLE ... INHERIT` makes every column both, and
/// no statement takes that back (docs/keys.md "Inheritance").
fn layout_facts(url: &str) -> Vec<String> {
    pg_strings(
        url,
        "SELECT c.relname::text || ' ' || c.relkind::text || c.relpersistence::text \
                || ' key=' || COALESCE(pg_get_partkeydef(c.oid), '-') \
                || ' bound=' || COALESCE(pg_get_expr(c.relpartbound, c.oid), '-') \
                || ' parents=' || COALESCE((SELECT string_agg(p.relname::text, ',' ORDER BY i.inhseqno) \
                     FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid), '-') \
                || ' columns=' || (SELECT string_agg(a.attname::text || ':' || format_type(a.atttypid, a.atttypmod) \
                     || CASE WHEN a.attnotnull THEN '!' ELSE '' END, ',' ORDER BY a.attname) \
                   FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
    )
}

/// Loads `from` and `to` into two databases, diffs `from` → `to`, runs the SQL on the first and
/// checks it is then laid out as the second and in sync with it; then the same the other way,
/// and zero false drift on both. Returns the SQL of both directions.
fn both_ways(tag: &str, from: &str, to: &str) -> [String; 2] {
    let p = no_project();
    let forward = one_way(&p, &format!("{tag}_a"), from, to);
    let backward = one_way(&p, &format!("{tag}_b"), to, from);
    [forward, backward]
}

fn one_way(p: &Project, tag: &str, from: &str, to: &str) -> String {
    let (old, new) = (PgScratch::new(&format!("{tag}_old")), PgScratch::new(&format!("{tag}_new")));
    pg_exec(&old.url, from);
    pg_exec(&new.url, to);
    assert_no_false_drift(p, &old);
    assert_no_false_drift(p, &new);
    let r = diff(p, &old, &new);
    r.code(2);
    pg_exec(&old.url, &r.stdout);
    assert_eq!(layout_facts(&old.url), layout_facts(&new.url), "after:\n{}", r.stdout);
    diff(p, &old, &new).code(0).stderr_says("In sync");
    r.stdout
}

/// `a_events` sorts before its parent `events`, and `z_sub` is partitioned itself.
const PARTITIONED: &str =
    "CREATE TABLE events (id bigint NOT NULL, day date NOT NULL, kind integer NOT NULL, \
      note text, PRIMARY KEY (id, day, kind)) PARTITION BY RANGE (day); \
    CREATE INDEX events_kind_idx ON events (kind); \
    CREATE TABLE a_events PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2024-02-01'); \
    CREATE INDEX a_events_note_idx ON a_events (note); \
    CREATE TABLE z_sub PARTITION OF events FOR VALUES FROM ('2024-02-01') TO ('2024-03-01') \
      PARTITION BY LIST (kind); \
    CREATE TABLE z_sub_1 PARTITION OF z_sub FOR VALUES IN (1); \
    CREATE TABLE events_rest PARTITION OF events DEFAULT;";

#[test]
fn partitioned_tables_and_their_partitions_are_created_parents_first_and_dropped_children_first() {
    let [create, drop] = both_ways("part_create", "", PARTITIONED);
    assert!(create.contains("PARTITION BY RANGE (day);"), "{create}");
    assert!(
        create.contains(
            "CREATE TABLE \"a_events\" PARTITION OF \"events\" FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');"
        ),
        "{create}"
    );
    assert!(create.contains("PARTITION OF \"events\" DEFAULT;"), "{create}");
    let (parent, child) =
        (create.find("TABLE \"events\" (").unwrap(), create.find("TABLE \"a_events\"").unwrap());
    let (sub, sub_child) =
        (create.find("TABLE \"z_sub\"").unwrap(), create.find("TABLE \"z_sub_1\"").unwrap());
    assert!(parent < child && parent < sub && sub < sub_child, "{create}");
    let (sub_child, sub, parent) = (
        drop.find("DROP TABLE \"z_sub_1\"").unwrap(),
        drop.find("DROP TABLE \"z_sub\"").unwrap(),
        drop.find("DROP TABLE \"events\"").unwrap(),
    );
    assert!(sub_child < sub && sub < parent, "{drop}");
}

/// migra's shape: a new partition, a partition detached to a table of its own (before the
/// parent's new column, which it must not get), a plain table attached with a new bound, and a
/// partition's own index dropped.
#[test]
fn partitions_attach_detach_and_move_bounds() {
    let from = "CREATE TABLE m (city integer NOT NULL, day date NOT NULL) PARTITION BY RANGE (day); \
        CREATE TABLE m_feb PARTITION OF m FOR VALUES FROM ('2006-02-01') TO ('2006-03-01'); \
        CREATE TABLE m_mar PARTITION OF m FOR VALUES FROM ('2006-03-01') TO ('2006-04-01'); \
        CREATE INDEX ON m_feb (day); \
        CREATE TABLE m_apr (city integer NOT NULL, day date NOT NULL); \
        CREATE TABLE m_may PARTITION OF m FOR VALUES FROM ('2006-05-01') TO ('2006-06-01');";
    let to =
        "CREATE TABLE m (city integer NOT NULL, day date NOT NULL, extra text) PARTITION BY RANGE (day); \
        CREATE TABLE m_jan PARTITION OF m FOR VALUES FROM ('2006-01-01') TO ('2006-02-01'); \
        CREATE TABLE m_feb PARTITION OF m FOR VALUES FROM ('2006-02-01') TO ('2006-03-01'); \
        CREATE TABLE m_mar (city integer NOT NULL, day date NOT NULL); \
        CREATE TABLE m_apr PARTITION OF m FOR VALUES FROM ('2006-04-01') TO ('2006-05-01'); \
        CREATE TABLE m_may PARTITION OF m FOR VALUES FROM ('2006-05-01') TO ('2006-07-01');";
    let [forward, _] = both_ways("part_move", from, to);
    let detach = forward.find("ALTER TABLE \"m\" DETACH PARTITION \"m_mar\";").unwrap();
    let extra = forward.find("ALTER TABLE \"m\" ADD COLUMN \"extra\" text;").unwrap();
    let attach = forward
        .find(
            "ALTER TABLE \"m\" ATTACH PARTITION \"m_apr\" FOR VALUES FROM ('2006-04-01') TO ('2006-05-01');",
        )
        .unwrap();
    assert!(detach < extra && extra < attach, "{forward}");
    assert!(forward.contains("ALTER TABLE \"m\" DETACH PARTITION \"m_may\";"), "{forward}");
    assert!(forward.contains("DROP INDEX \"m_feb_day_idx\";"), "{forward}");
    assert!(!forward.contains("DROP TABLE"), "{forward}");
}

/// A partition key has no ALTER TABLE: the table and its partitions are recreated, named as
/// destructive.
#[test]
fn a_changed_partition_key_recreates_the_table_and_its_partitions() {
    let from = "CREATE TABLE r (k integer NOT NULL, d date NOT NULL) PARTITION BY RANGE (d); \
        CREATE TABLE r_1 PARTITION OF r FOR VALUES FROM ('2020-01-01') TO ('2021-01-01'); \
        CREATE TABLE plain (k integer NOT NULL, d date NOT NULL);";
    let to = "CREATE TABLE r (k integer NOT NULL, d date NOT NULL) PARTITION BY LIST (k); \
        CREATE TABLE r_1 PARTITION OF r FOR VALUES IN (1); \
        CREATE TABLE plain (k integer NOT NULL, d date NOT NULL) PARTITION BY HASH (k);";
    let p = no_project();
    let (old, new) = (PgScratch::new("part_key_old"), PgScratch::new("part_key_new"));
    pg_exec(&old.url, from);
    pg_exec(&new.url, to);
    let r = diff(&p, &old, &new);
    r.code(2);
    let sql = &r.stdout;
    assert!(sql.find("DROP TABLE \"r_1\"").unwrap() < sql.find("DROP TABLE \"r\"").unwrap(), "{sql}");
    assert!(sql.contains("PARTITION BY HASH (k);"), "{sql}");
    let (from_db, to_db) = (format!("db:{}", old.url), format!("db:{}", new.url));
    let json = p.run(&["diff", "--from", &from_db, "--to", &to_db, "--format", "json"]);
    json.says("its partition key (PARTITION BY) changes");
    both_ways("part_key", from, to);
}

/// An inheritance child is created with its own columns only; a column its parent drops and
/// the child declares itself is added back after the parent's change; a child leaves and joins
/// parents with NO INHERIT / INHERIT.
#[test]
fn inheritance_children_change_only_their_own_columns() {
    let from = "CREATE TABLE base (created timestamp DEFAULT now(), e integer); \
        CREATE TABLE a (a1 integer, a2 integer) INHERITS (base); \
        CREATE TABLE other (o integer); \
        CREATE TABLE leaver (l integer) INHERITS (base); \
        CREATE TABLE joiner (created timestamp, l integer);";
    let to = "CREATE TABLE base (created timestamp DEFAULT now()); \
        CREATE TABLE a (a1 integer) INHERITS (base); ALTER TABLE a ADD COLUMN e integer; \
        CREATE TABLE other (o integer); \
        CREATE TABLE b (b1 text NOT NULL) INHERITS (base, other); \
        CREATE TABLE leaver (created timestamp DEFAULT now(), e integer, l integer); \
        CREATE TABLE joiner (created timestamp, l integer); ALTER TABLE joiner INHERIT base;";
    let [forward, backward] = both_ways("inherit", from, to);
    let drop_e = forward.find("ALTER TABLE \"base\" DROP COLUMN \"e\";").unwrap();
    let add_e = forward.find("ALTER TABLE \"a\" ADD COLUMN \"e\" integer;").unwrap();
    assert!(drop_e < add_e, "{forward}");
    assert!(forward.find("ALTER TABLE \"leaver\" NO INHERIT \"base\";").unwrap() < drop_e, "{forward}");
    assert!(forward.contains("ALTER TABLE \"joiner\" INHERIT \"base\";"), "{forward}");
    assert!(forward.contains("\"b1\" text NOT NULL\n) INHERITS (\"base\", \"other\");"), "{forward}");
    assert!(!forward.contains("ALTER TABLE \"a\" DROP COLUMN \"created\""), "{forward}");
    assert!(backward.contains("ALTER TABLE \"leaver\" INHERIT \"base\";"), "{backward}");
}

/// The column a parent drops while its child declares it stays the child's own (migra's
/// inherit2): the parent's DROP COLUMN takes the inherited one away, then the child adds its own.
#[test]
fn a_column_the_parent_drops_is_added_back_as_the_childs_own() {
    let from = "CREATE TABLE base (created timestamp DEFAULT now(), e integer); \
        CREATE TABLE a (a1 integer, a2 integer) INHERITS (base);";
    let to = "CREATE TABLE base (created timestamp DEFAULT now()); \
        CREATE TABLE a (a1 integer) INHERITS (base); ALTER TABLE a ADD COLUMN e integer;";
    let sql = one_way(&no_project(), "inherit_own", from, to);
    let (drop_e, add_e) = (sql.find("ALTER TABLE \"base\" DROP COLUMN \"e\";"), sql.find("ADD COLUMN \"e\""));
    assert!(drop_e.unwrap() < add_e.unwrap(), "{sql}");
    // One more run to read `attislocal`, which the layout facts leave out.
    let p = no_project();
    let (old, new) = (PgScratch::new("inherit_own_old"), PgScratch::new("inherit_own_new"));
    pg_exec(&old.url, from);
    pg_exec(&new.url, to);
    pg_exec(&old.url, &diff(&p, &old, &new).stdout);
    let local =
        "SELECT attname::text || ' ' || attislocal::text FROM pg_attribute WHERE attrelid = 'a'::regclass \
                 AND attnum > 0 AND NOT attisdropped ORDER BY attname";
    assert_eq!(pg_strings(&old.url, local), pg_strings(&new.url, local));
}

#[test]
fn unlogged_tables_are_created_and_switched() {
    let from = "CREATE UNLOGGED TABLE cache (k text NOT NULL, v text); CREATE TABLE log (line text);";
    let to = "CREATE TABLE cache (k text NOT NULL, v text); CREATE UNLOGGED TABLE log (line text); \
        CREATE UNLOGGED TABLE scratch (s integer);";
    let [forward, backward] = both_ways("unlogged", from, to);
    assert!(forward.contains("ALTER TABLE \"cache\" SET LOGGED;"), "{forward}");
    assert!(forward.contains("ALTER TABLE \"log\" SET UNLOGGED;"), "{forward}");
    assert!(forward.contains("CREATE UNLOGGED TABLE \"scratch\" ("), "{forward}");
    assert!(backward.contains("ALTER TABLE \"cache\" SET UNLOGGED;"), "{backward}");
}

/// A partitioned table's foreign key reaches its partitions: it is added without `ONLY`, which
/// PostgreSQL refuses on a partitioned table.
#[test]
fn a_partitioned_tables_foreign_key_is_added_to_its_partitions_too() {
    let to = "CREATE TABLE region (id integer PRIMARY KEY); \
        CREATE TABLE sale (region integer NOT NULL REFERENCES region (id), day date NOT NULL) \
          PARTITION BY RANGE (day); \
        CREATE TABLE sale_2024 PARTITION OF sale FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');";
    let from = "CREATE TABLE region (id integer PRIMARY KEY); \
        CREATE TABLE sale (region integer NOT NULL, day date NOT NULL) PARTITION BY RANGE (day); \
        CREATE TABLE sale_2024 PARTITION OF sale FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');";
    let [create, _] = both_ways("part_fk_new", "", to);
    assert!(
        create.contains("ALTER TABLE \"sale\" ADD CONSTRAINT \"sale_region_fkey\" FOREIGN KEY"),
        "{create}"
    );
    let [add, _] = both_ways("part_fk_add", from, to);
    assert!(add.contains("ALTER TABLE \"sale\" ADD CONSTRAINT \"sale_region_fkey\""), "{add}");
}
