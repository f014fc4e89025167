//! CockroachDB, YugabyteDB and Citus: what their files look like where they differ from
//! PostgreSQL's (goldens under `fixtures/sql/distributed/`, one per case and engine, only where
//! the output differs), and the refusals, each naming the object, for what an engine lacks.

mod common;

use common::*;
use strata_schema::*;
use strata_sql::*;

const ENGINES: [PgCompatible; 3] = [COCKROACHDB, YUGABYTEDB, CITUS];

fn shop() -> Vec<TableDefinition> {
    let mut item = table(
        "item",
        "Item",
        vec![
            id(),
            col("name", ColumnType::Text, false),
            col_default("stock", ColumnType::Bigint, false, "0"),
        ],
    );
    item.indexes.push(index("item_name_idx", &["name"], true));
    let mut tag = table("tag", "Tag", vec![id(), col("itemId", ColumnType::Bigint, false)]);
    tag.foreign_keys.push(fk("tag_fk_0", "itemId", "item"));
    vec![item, tag]
}

fn embeddings() -> Vec<TableDefinition> {
    let doc = table(
        "doc",
        "Doc",
        vec![id(), vector_col("embedding", ColumnType::Vector, 3), col("at", ColumnType::Geography, true)],
    );
    vec![doc]
}

fn definition_of(tables: Vec<TableDefinition>) -> DatabaseDefinition {
    let mut tables = tables;
    tables.push(migrations_table());
    definition("shop", tables, vec![MigrationVersion::project("shop", "20250101000000000")])
}

fn add_column_and_index() -> (DatabaseMigration, DatabaseDefinition, DatabaseDefinition) {
    let source = definition_of(shop());
    let mut target_tables = shop();
    target_tables[0].columns.push(col("sku", ColumnType::Text, true));
    target_tables[0].indexes.push(index("item_sku_idx", &["sku"], false));
    let target = definition_of(target_tables);
    let mut change = alter("item");
    change.add_columns.push(col("sku", ColumnType::Text, true));
    change.add_indexes.push(index("item_sku_idx", &["sku"], false));
    (migration(vec![MigrationAction::AlterTable(change)]), source, target)
}

fn migration_for(d: &dyn Dialect) -> Result<String, SqlError> {
    let (m, source, target) = add_column_and_index();
    let installed = [MigrationVersion::project("shop", "20250102000000000")];
    let input = MigrationSqlInput {
        migration: &m,
        source: &source,
        target: &target,
        installed_modules: &installed,
        removed_modules: &[],
    };
    migration_sql(d, &input)
}

/// Compares an engine's file with its golden where it differs from PostgreSQL's, and with
/// PostgreSQL's own output where the table says it does not.
fn check_case(case: &str, render: &dyn Fn(&dyn Dialect) -> String, differs: [bool; 3]) {
    let postgres = render(&Postgres);
    for (engine, differs) in ENGINES.iter().zip(differs) {
        let sql = render(engine);
        assert_parses_postgres(&sql);
        if differs {
            assert_ne!(sql, postgres, "{case}: {} should differ from PostgreSQL", engine.name());
            assert_golden(&format!("distributed/{case}.{}.sql", engine.name()), &sql);
        } else {
            assert_same(&postgres, &sql, &format!("{case} on {} (same as PostgreSQL)", engine.name()));
        }
    }
}

#[test]
fn definitions_per_engine() {
    let render = |d: &dyn Dialect| definition_sql(d, &definition_of(shop())).unwrap();
    check_case("definition", &render, [true, true, false]);
}

#[test]
fn migrations_per_engine() {
    let render = |d: &dyn Dialect| migration_for(d).unwrap();
    check_case("add_column_and_index", &render, [true, true, false]);
}

#[test]
fn cockroach_vector_types_need_no_extension_block() {
    let def = definition_of(embeddings());
    let sql = definition_sql(&COCKROACHDB, &def).unwrap();
    assert_golden("distributed/vector.cockroachdb.sql", &sql);
    assert!(!sql.contains("CREATE EXTENSION"), "{sql}");
    assert!(definition_sql(&CITUS, &def).unwrap().contains("CREATE EXTENSION IF NOT EXISTS vector"));
}

#[test]
fn files_without_transactional_ddl_have_no_transaction_lines() {
    for engine in ENGINES {
        let sql = migration_for(&engine).unwrap();
        let lines = sql.lines().filter(|l| *l == "BEGIN;" || *l == "COMMIT;").count();
        let expected = if engine.supports_transactional_ddl() { 2 } else { 0 };
        assert_eq!(lines, expected, "{}:\n{sql}", engine.name());
    }
}

#[test]
fn cockroach_serial_is_unique_rowid_and_refused_on_integer_columns() {
    let sql = definition_sql(&COCKROACHDB, &definition_of(shop())).unwrap();
    assert!(sql.contains("\"id\" bigint PRIMARY KEY DEFAULT unique_rowid()"), "{sql}");
    assert!(!sql.contains("serial"), "{sql}");
    let counter =
        table("counter", "Counter", vec![id(), col_default("n", ColumnType::Integer, false, "serial")]);
    let e = definition_sql(&COCKROACHDB, &definition_of(vec![counter.clone()])).unwrap_err().to_string();
    assert!(e.contains("column \"n\" of table \"counter\"") && e.contains("make the column bigint"), "{e}");
    // YugabyteDB and Citus keep sequences.
    for d in [YUGABYTEDB, CITUS] {
        assert!(definition_sql(&d, &definition_of(vec![counter.clone()]))
            .unwrap()
            .contains("\"n\" serial NOT NULL"));
    }
}

fn refusal(d: &dyn Dialect, tables: Vec<TableDefinition>) -> String {
    match definition_sql(d, &definition_of(tables)) {
        Ok(sql) => panic!("{} accepted it:\n{sql}", d.name()),
        Err(e) => e.to_string(),
    }
}

fn indexed(method: &str) -> Vec<TableDefinition> {
    let mut t = table("place", "Place", vec![id(), col("name", ColumnType::Text, false)]);
    t.indexes.push(IndexDefinition { index_type: method.into(), ..index("place_idx", &["name"], false) });
    vec![t]
}

#[test]
fn missing_index_methods_are_refused_naming_the_index() {
    let cases: [(&dyn Dialect, &str, &str); 5] = [
        (&COCKROACHDB, "hash", "hash-sharded"),
        (&COCKROACHDB, "hnsw", "CREATE VECTOR INDEX"),
        (&COCKROACHDB, "brin", "it has btree, gin, gist"),
        (&YUGABYTEDB, "gist", "no GiST"),
        (&YUGABYTEDB, "hnsw", "ybhnsw"),
    ];
    for (d, method, hint) in cases {
        let e = refusal(d, indexed(method));
        assert!(
            e.contains("index \"place_idx\" on table \"place\"") && e.contains(hint),
            "{}: {e}",
            d.name()
        );
        assert!(e.contains(d.name()), "{e}");
    }
    // PostgreSQL's other methods stay available on Citus.
    assert!(definition_sql(&CITUS, &definition_of(indexed("brin"))).is_ok());
}

#[test]
fn missing_types_are_refused_naming_the_column() {
    let geo = vec![table("shop", "Shop", vec![id(), col("at", ColumnType::Geography, false)])];
    let e = refusal(&YUGABYTEDB, geo.clone());
    assert!(e.contains("column \"at\" of table \"shop\"") && e.contains("PostGIS"), "{e}");
    assert!(!definition_sql(&COCKROACHDB, &definition_of(geo)).unwrap().contains("postgis"), "built in");
    let half = vec![table("doc", "Doc", vec![id(), vector_col("h", ColumnType::Halfvec, 3)])];
    let e = refusal(&COCKROACHDB, half.clone());
    assert!(e.contains("column \"h\" of table \"doc\"") && e.contains("halfvec"), "{e}");
    assert!(definition_sql(&YUGABYTEDB, &definition_of(half)).is_ok());
}

#[test]
fn nulls_not_distinct_is_refused_where_missing() {
    let mut t = indexed("btree");
    t[0].indexes[0].nulls_distinct = Some(false);
    let e = refusal(&COCKROACHDB, t.clone());
    assert!(e.contains("NULLS NOT DISTINCT") && e.contains("place_idx"), "{e}");
    assert!(definition_sql(&YUGABYTEDB, &definition_of(t)).unwrap().contains("NULLS NOT DISTINCT"));
}

#[test]
fn every_unsupported_object_is_listed_at_once() {
    let mut t = table("mix", "Mix", vec![id(), col("at", ColumnType::Geography, false)]);
    t.indexes.push(IndexDefinition { index_type: "gist".into(), ..index("mix_at_idx", &["at"], false) });
    let problems: Vec<String> =
        unsupported_objects(&YUGABYTEDB, &definition_of(vec![t])).iter().map(|e| e.to_string()).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("column \"at\"") && problems[1].contains("index \"mix_at_idx\""));
}

#[test]
fn names_and_aliases_resolve() {
    for (alias, name) in [
        ("CockroachDB", "cockroachdb"),
        ("crdb", "cockroachdb"),
        ("yugabyte", "yugabytedb"),
        ("citus", "citus"),
    ] {
        assert_eq!(dialect_by_name(alias).map(|d| d.name()), Some(name));
    }
}
