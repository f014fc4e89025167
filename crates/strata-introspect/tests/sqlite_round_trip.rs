//! Zero false drift on SQLite: a database built from strata's SQLite `definition.sql`
//! (Serverpod's SQLite dialect) introspects to a definition that diffs as empty against that
//! definition.

mod common;

use common::*;
use strata_schema::*;
use strata_sql::{definition_sql, Sqlite};
use strata_testdb::SqliteScratch;

fn round_trip(def: &DatabaseDefinition, what: &str) -> strata_introspect::Introspection {
    let sql = definition_sql(&Sqlite, def).unwrap_or_else(|e| panic!("{what}: {e}"));
    let db = SqliteScratch::new("introspect");
    sqlite_exec(&db.url, &sql);
    let live = sqlite_introspect(&db.url);
    assert_no_drift(&live, def, what);
    live
}

/// Every column type with its defaults, indexes and foreign keys.
fn all_types_definition() -> DatabaseDefinition {
    use ColumnType::*;
    use ForeignKeyAction::*;
    let mut cols = vec![id()];
    let cases: Vec<(ColumnType, Vec<&str>)> = vec![
        (Text, vec!["'abc'", "'it''s'", "''"]),
        (Boolean, vec!["true", "false"]),
        (Bigint, vec!["0", "-1", "10000000000"]),
        (Integer, vec!["5"]),
        (DoublePrecision, vec!["1.5", "-1.5", "2"]),
        (TimestampWithoutTimeZone, vec!["now", "2024-05-10T22:00:00.000Z"]),
        (Uuid, vec!["random", "random_v7", "'550e8400-e29b-41d4-a716-446655440000'"]),
        (Json, vec!["'{}'"]),
        (Jsonb, vec!["'[]'"]),
        (Bytea, vec![]),
    ];
    for (t, defaults) in &cases {
        let base = t.name();
        cols.push(col(&format!("{base}_plain"), *t));
        cols.push(nullable(col(&format!("{base}_null"), *t)));
        for (i, d) in defaults.iter().enumerate() {
            cols.push(with_default(col(&format!("{base}_d{i}"), *t), d));
            cols.push(with_default(nullable(col(&format!("{base}_nd{i}"), *t)), d));
        }
    }
    let mut all = table("all_types", cols);
    all.indexes.push(index("all_types_text", &["text_plain"], "btree", false));
    all.indexes.push(index("all_types_unique", &["text_plain", "bigint_null"], "btree", true));
    let parent = table("parent", vec![id(), col("name", Text)]);
    let uparent = table("uparent", vec![with_default(col("id", Uuid), "random_v7")]);
    let mut child =
        table("child", vec![id(), nullable(col("p0", Bigint)), nullable(col("p1", Bigint)), col("u", Uuid)]);
    child.foreign_keys.push(fk("child_fk_0", "p0", "parent", Cascade, NoAction));
    child.foreign_keys.push(fk("child_fk_1", "p1", "parent", SetNull, Restrict));
    let mut deferred = fk("child_fk_2", "u", "uparent", NoAction, NoAction);
    deferred.deferrable = Some(Deferrable::InitiallyDeferred);
    child.foreign_keys.push(deferred);
    let mut legacy = table("legacy", vec![id()]);
    legacy.managed = Some(false);
    definition(vec![all, child, legacy, parent, uparent])
}

/// Storage classes plus `serverpod_sqlite_schema` read back as the abstract types, vector
/// dimensions and Serverpod's default forms, with no false drift.
#[test]
fn types_defaults_indexes_and_foreign_keys() {
    use ColumnType::*;
    let mut def = all_types_definition();
    let mut extra = table(
        "spatial",
        vec![
            id(),
            col("point", Geography),
            nullable(col("area", GeographyPolygon)),
            col("line", GeographyLineString),
        ],
    );
    for (name, t) in [("v", Vector), ("h", Halfvec), ("s", Sparsevec), ("b", Bit)] {
        extra.columns.push(ColumnDefinition { vector_dimension: Some(3), ..col(name, t) });
    }
    def.tables.push(extra);
    let live = round_trip(&def, "sqlite all types");
    assert!(live.warnings.is_empty(), "{:?}", live.warnings);
    assert!(live.definition.table(strata_sql::SQLITE_SCHEMA_TABLE).is_none());
    let v = live.definition.table("spatial").unwrap().column("v").unwrap();
    assert_eq!((v.column_type, v.vector_dimension), (Vector, Some(3)));
    // No serverpod_migrations table: the installed-versions query does not run.
    assert_eq!(live.query_count, strata_introspect::sqlite::QUERIES.len() - 1);
}

/// The generator's SQLite golden fixtures (`expected-sqlite/`), each round-tripped.
#[test]
fn golden_sqlite_definitions() {
    let files = golden_definition_files("expected-sqlite");
    let mut checked = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let mut def = definition_from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        strata_schema::normalize::normalize_definition(&mut def);
        round_trip(&def, &f.display().to_string());
        checked += 1;
    }
    eprintln!("golden SQLite definitions round-tripped: {checked}");
    assert!(checked > 0);
}

/// A hand-written SQLite schema: what strata cannot represent is named, the rest is read.
#[test]
fn handwritten_sqlite_schema() {
    use strata_introspect::WarningKind;
    let db = SqliteScratch::new("handwritten");
    sqlite_exec(
        &db.url,
        r#"
        CREATE TABLE "Parent" ("id" INTEGER PRIMARY KEY, "Name" TEXT NOT NULL UNIQUE, "code" VARCHAR(10));
        CREATE TABLE child (
            id INTEGER PRIMARY KEY,
            a INTEGER, b INTEGER,
            amount REAL CHECK (amount > 0),
            parent INTEGER REFERENCES "Parent" (id) ON DELETE CASCADE,
            FOREIGN KEY (a, b) REFERENCES pair (x, y)
        );
        CREATE TABLE pair (x INTEGER, y INTEGER, PRIMARY KEY (x, y));
        CREATE INDEX child_expr ON child (lower(a), b DESC) WHERE b > 0;
        CREATE VIEW v AS SELECT * FROM child;
        CREATE TRIGGER tr AFTER INSERT ON child BEGIN SELECT 1; END;
        "#,
    );
    let live = sqlite_introspect(&db.url);
    let has = |kind: WarningKind, name: &str| live.warnings.iter().any(|w| w.kind == kind && w.name == name);
    let all: Vec<String> = live.warnings.iter().map(|w| w.to_string()).collect();
    assert!(has(WarningKind::UnknownColumnType, "code"), "{all:#?}");
    assert!(has(WarningKind::UnknownColumnType, "amount"), "{all:#?}");
    assert!(has(WarningKind::CheckConstraint, "child"), "{all:#?}");
    assert!(has(WarningKind::UniqueConstraint, "sqlite_autoindex_Parent_1"), "{all:#?}");
    assert!(has(WarningKind::PrimaryKey, "pair"), "{all:#?}");
    assert!(has(WarningKind::View, "v"), "{all:#?}");
    assert!(has(WarningKind::Trigger, "tr"), "{all:#?}");
    assert!(has(WarningKind::IndexDetail, "child_expr"), "{all:#?}");
    let child = live.definition.table("child").unwrap();
    let idx = child.index("child_expr").unwrap();
    assert_eq!(idx.elements[0].element_type, IndexElementType::Expression);
    assert_eq!(idx.elements[0].definition, "lower(a)");
    assert_eq!(idx.elements[1], IndexElement::column("b"));
    assert_eq!(idx.predicate.as_deref(), Some("b > 0"));
    let composite = child.foreign_keys.iter().find(|k| k.columns.len() == 2).unwrap();
    assert_eq!(composite.reference_columns, vec!["x", "y"]);
    assert_eq!(composite.reference_table, "pair");
    let single = child.foreign_keys.iter().find(|k| k.columns == ["parent"]).unwrap();
    assert_eq!(single.on_delete, Some(ForeignKeyAction::Cascade));
    assert!(!single.constraint_name.is_empty());
    assert!(!live.definition.table("Parent").unwrap().column("Name").unwrap().is_nullable);
}

/// A live index whose element text is not one expression (SQLite keeps `DESC` in the element
/// text) is named as one strata will not write SQL for; the writable one next to it is not.
#[test]
fn live_index_expressions_strata_cannot_write_are_named() {
    use strata_introspect::WarningKind;
    let db = SqliteScratch::new("expr_check");
    sqlite_exec(
        &db.url,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);
         CREATE INDEX t_lower_desc ON t (lower(a) DESC);
         CREATE INDEX t_lower ON t (lower(a)) WHERE a <> 'x';",
    );
    let live = sqlite_introspect(&db.url);
    let unwritable = |name: &str| {
        live.warnings.iter().find(|w| {
            w.kind == WarningKind::IndexDetail && w.name == name && w.detail.contains("will not write SQL")
        })
    };
    let warning = unwritable("t_lower_desc").unwrap_or_else(|| panic!("{:#?}", live.warnings));
    assert!(warning.detail.contains("element 0 \"lower(a) DESC\" is not one SQL expression"), "{warning}");
    assert!(unwritable("t_lower").is_none(), "{:#?}", live.warnings);
    // The emitter refuses it too, so `inspect --format sql` cannot write it.
    assert!(definition_sql(&Sqlite, &live.definition).is_err());
}
