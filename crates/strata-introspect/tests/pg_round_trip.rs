//! Zero false drift on PostgreSQL: a database built from a `definition.sql` strata generates
//! introspects to a definition that diffs as empty against that definition.

mod common;

use common::*;
use strata_introspect::IntrospectOptions;
use strata_schema::*;
use strata_sql::{definition_sql, Postgres};
use strata_testdb::PgScratch;

/// Renders, applies, introspects and diffs one definition; returns the live side for extra
/// assertions.
fn round_trip(name: &str, def: &DatabaseDefinition) -> strata_introspect::Introspection {
    let sql = definition_sql(&Postgres, def).unwrap_or_else(|e| panic!("{name}: {e}"));
    let db = PgScratch::new(name);
    pg_exec(&db.url, &sql);
    let live = pg_introspect(&db.url, &IntrospectOptions::default());
    assert_no_drift(&live, def, name);
    live
}

#[test]
fn every_column_type_and_default_form() {
    use ColumnType::*;
    let mut cols = vec![id()];
    let cases: Vec<(ColumnType, Vec<&str>)> = vec![
        (Text, vec!["'abc'", "'it''s'", "''", "'with \"double\" quotes'", "'back\\slash'"]),
        (Boolean, vec!["true", "false"]),
        (Bigint, vec!["0", "10", "-1", "10000000000", "-9223372036854775808"]),
        (Integer, vec!["5", "-3"]),
        (DoublePrecision, vec!["1.5", "-1.5", "0", "2", "-2", "1.0", "0.001"]),
        (
            TimestampWithoutTimeZone,
            vec!["now", "2024-05-10T22:00:00.000Z", "2024-05-10T22:00:00.123Z", "1999-12-31T23:59:59.999Z"],
        ),
        (Uuid, vec!["random", "random_v7", "'550e8400-e29b-41d4-a716-446655440000'"]),
        (Json, vec!["'{}'", "'{\"a\": 1}'", "'[]'"]),
        (Jsonb, vec!["'{}'", "'[1, 2]'"]),
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
    // A serial column that is not the id (`bigserial NOT NULL`).
    cols.push(with_default(col("syncVersion", Bigint), "serial"));
    let def = definition(vec![table("all_types", cols)]);
    let live = round_trip("all_types", &def);
    assert!(live.warnings.is_empty(), "{:?}", live.warnings);
    // Spot-check that the mapping is exact, not merely "like" (integer stays integer).
    let t = live.definition.table("all_types").unwrap();
    assert_eq!(t.column("integer_plain").unwrap().column_type, Integer);
    assert_eq!(t.column("bigint_plain").unwrap().column_type, Bigint);
    assert_eq!(
        t.column("timestampWithoutTimeZone_d1").unwrap().column_default.as_deref(),
        Some("2024-05-10T22:00:00.000Z")
    );
    assert_eq!(t.column("id").unwrap().column_default.as_deref(), Some("serial"));
    assert!(!t.column("id").unwrap().is_nullable);
    assert_eq!(t.managed, None);
    assert_eq!(t.dart_name, None);
    assert!(t.columns.iter().all(|c| c.field_name.is_none() && c.dart_type.is_none()));
    assert_eq!(live.definition.module_name, "analyzer");
    assert!(live.definition.name.as_deref().unwrap_or("").starts_with("strata_all_types"));
}

#[test]
fn id_variants() {
    use ColumnType::*;
    let uuid_v4 = table("uuid_v4", vec![with_default(col("id", Uuid), "random"), col("name", Text)]);
    let uuid_v7 = table("uuid_v7", vec![with_default(col("id", Uuid), "random_v7")]);
    let uuid_plain = table("uuid_plain", vec![col("id", Uuid)]);
    let int_serial = table("int_serial", vec![with_default(col("id", Integer), "serial")]);
    let bigint_plain = table("bigint_plain", vec![col("id", Bigint)]);
    let def = definition(vec![uuid_v4, uuid_v7, uuid_plain, int_serial, bigint_plain]);
    let live = round_trip("ids", &def);
    assert!(live.warnings.is_empty(), "{:?}", live.warnings);
}

#[test]
fn every_index_kind() {
    use ColumnType::*;
    let mut t = table(
        "indexed",
        vec![
            id(),
            col("a", Text),
            nullable(col("b", Bigint)),
            nullable(col("c", TimestampWithoutTimeZone)),
            col("doc", Jsonb),
            col("doc2", Jsonb),
            col("h", Text),
        ],
    );
    t.indexes.push(index("indexed_a_idx", &["a"], "btree", false));
    t.indexes.push(index("indexed_ab_unique", &["a", "b"], "btree", true));
    let mut nnd = index("indexed_abc_nnd", &["a", "b", "c"], "btree", true);
    nnd.nulls_distinct = Some(false);
    t.indexes.push(nnd);
    let mut nd = index("indexed_bc_nd", &["b", "c"], "btree", true);
    nd.nulls_distinct = Some(true);
    t.indexes.push(nd);
    t.indexes.push(index("indexed_brin", &["b", "c"], "brin", false));
    t.indexes.push(index("indexed_hash", &["h"], "hash", false));
    let mut gin = index("indexed_gin", &["doc"], "gin", false);
    gin.gin_operator_class = Some(GinOperatorClass::JsonbOps);
    t.indexes.push(gin);
    let mut gin_path = index("indexed_gin_path", &["doc2"], "gin", false);
    gin_path.gin_operator_class = Some(GinOperatorClass::JsonbPathOps);
    t.indexes.push(gin_path);
    // (An index whose only element is `id` is left out: definition.sql never creates it,
    // taking it for the primary key's own index, so that drift is real, not introspection's.)
    // Mixed-case names survive quoting both ways.
    t.indexes.push(index("Indexed_MixedCase", &["a", "h"], "btree", false));
    let def = definition(vec![t]);
    let live = round_trip("indexes", &def);
    assert!(live.warnings.is_empty(), "{:?}", live.warnings);
    let t = live.definition.table("indexed").unwrap();
    assert!(t.index("indexed_pkey").is_none(), "the primary key index is not listed");
    assert_eq!(t.index("indexed_abc_nnd").unwrap().nulls_distinct, Some(false));
    assert_eq!(t.index("indexed_gin_path").unwrap().gin_operator_class, Some(GinOperatorClass::JsonbPathOps));
}

#[test]
fn geography_with_gist_and_spgist() {
    use ColumnType::*;
    let mut t = table(
        "places",
        vec![
            id(),
            col("point", Geography),
            nullable(col("line", GeographyLineString)),
            col("area", GeographyPolygon),
            nullable(col("collection", GeographyGeometryCollection)),
        ],
    );
    t.indexes.push(index("places_point_gist", &["point"], "gist", false));
    t.indexes.push(index("places_point_spgist", &["point"], "spgist", false));
    t.indexes.push(index("places_area_gist", &["area"], "gist", false));
    let def = definition(vec![t]);
    let live = round_trip("geography", &def);
    // PostGIS's own spatial_ref_sys (extension-owned) is not part of the schema.
    assert!(live.definition.table("spatial_ref_sys").is_none());
    assert!(live.warnings.is_empty(), "PostGIS objects must not be reported: {:?}", live.warnings);
}

#[test]
fn foreign_keys_with_every_action_and_deferrability() {
    use ColumnType::*;
    use ForeignKeyAction::*;
    let parent = table("parent", vec![id(), col("name", Text)]);
    let mut child_cols = vec![id()];
    let actions = [SetNull, SetDefault, Restrict, NoAction, Cascade];
    let mut fks = Vec::new();
    let mut n = 0;
    for on_delete in actions {
        for on_update in actions {
            let column = format!("p{n}");
            child_cols.push(nullable(col(&column, Bigint)));
            fks.push(fk(&format!("child_fk_{n}"), &column, "parent", on_delete, on_update));
            n += 1;
        }
    }
    for deferrable in [Deferrable::InitiallyImmediate, Deferrable::InitiallyDeferred] {
        let column = format!("p{n}");
        child_cols.push(col(&column, Bigint));
        let mut k = fk(&format!("child_fk_{n}"), &column, "parent", NoAction, NoAction);
        k.deferrable = Some(deferrable);
        fks.push(k);
        n += 1;
    }
    let mut child = table("child", child_cols);
    child.foreign_keys = fks;
    // Self reference and a cycle between two tables (FKs come after all tables).
    let mut tree = table("tree", vec![id(), nullable(col("parentId", Bigint))]);
    tree.foreign_keys.push(fk("tree_fk_0", "parentId", "tree", Cascade, NoAction));
    let mut a = table("cycle_a", vec![id(), nullable(col("bId", Bigint))]);
    a.foreign_keys.push(fk("cycle_a_fk_0", "bId", "cycle_b", SetNull, NoAction));
    let mut b = table("cycle_b", vec![id(), nullable(col("aId", Bigint))]);
    b.foreign_keys.push(fk("cycle_b_fk_0", "aId", "cycle_a", Restrict, Cascade));
    // An FK to a uuid-keyed table.
    let uparent = table("uparent", vec![with_default(col("id", Uuid), "random_v7")]);
    let mut uchild = table("uchild", vec![id(), col("uparentId", Uuid)]);
    uchild.foreign_keys.push(fk("uchild_fk_0", "uparentId", "uparent", Cascade, NoAction));
    let def = definition(vec![child, a, b, parent, tree, uchild, uparent]);
    let live = round_trip("fks", &def);
    assert!(live.warnings.is_empty(), "{:?}", live.warnings);
    let c = live.definition.table("child").unwrap();
    assert_eq!(c.foreign_keys.len(), 27);
    assert!(c.foreign_keys.iter().all(|k| k.match_type.is_none()), "MATCH SIMPLE is not reported");
}

#[test]
fn unmanaged_tables_and_bookkeeping() {
    use ColumnType::*;
    let mut legacy = table("legacy", vec![id(), col("x", Text)]);
    legacy.managed = Some(false);
    let mut migrations = table(
        "serverpod_migrations",
        vec![
            id(),
            col("module", Text),
            col("version", Text),
            nullable(col("timestamp", TimestampWithoutTimeZone)),
        ],
    );
    migrations.indexes.push(index("serverpod_migrations_ids", &["module"], "btree", true));
    let mut def = definition(vec![table("kept", vec![id()]), legacy, migrations]);
    def.installed_modules = vec![
        MigrationVersion::project("proj", "20240101000000000"),
        MigrationVersion::dependency("serverpod", "20231231000000000-core"),
    ];
    let live = round_trip("bookkeeping", &def);
    assert!(live.definition.table("legacy").is_none(), "unmanaged tables are not created");
    let mut versions: Vec<(String, String)> =
        live.installed_versions.iter().map(|v| (v.module.clone(), v.version.clone())).collect();
    versions.sort();
    assert_eq!(
        versions,
        vec![
            ("proj".to_string(), "20240101000000000".to_string()),
            ("serverpod".to_string(), "20231231000000000-core".to_string())
        ]
    );
    assert!(!strata_introspect::repair::versions_mismatch(&live.installed_versions, &def.installed_modules));
}

#[test]
fn query_count_does_not_grow_with_tables() {
    use ColumnType::*;
    let small = definition(vec![table("only", vec![id()])]);
    let mut tables = Vec::new();
    for i in 0..40 {
        let mut t = table(&format!("t{i:02}"), vec![id(), col("a", Text), nullable(col("p", Bigint))]);
        t.indexes.push(index(&format!("t{i:02}_a"), &["a"], "btree", i % 2 == 0));
        if i > 0 {
            t.foreign_keys.push(fk(
                &format!("t{i:02}_fk_0"),
                "p",
                &format!("t{:02}", i - 1),
                ForeignKeyAction::Cascade,
                ForeignKeyAction::NoAction,
            ));
        }
        tables.push(t);
    }
    let big = definition(tables);
    let a = round_trip("qc_small", &small);
    let b = round_trip("qc_big", &big);
    assert_eq!(a.query_count, b.query_count);
    assert_eq!(a.query_count, strata_introspect::postgres::QUERIES.len() - 1, "no bookkeeping table here");
}

/// Every golden fixture the generator's golden tests produced for PostgreSQL (the
/// `expected/` trees): each `definition.json` must round-trip without drift. Definitions with
/// pgvector columns cannot be built on this server (no pgvector) and definitions whose SQL
/// PostgreSQL rejects are not this crate's to judge; both are listed, never hidden.
#[test]
fn golden_fixture_definitions() {
    let files = golden_definition_files("expected");
    let mut seen = std::collections::HashSet::new();
    let mut defs = Vec::new();
    let mut with_vectors = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        if !seen.insert(text.clone()) {
            continue;
        }
        let mut def = definition_from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        strata_schema::normalize::normalize_definition(&mut def);
        if def.tables.iter().any(|t| t.columns.iter().any(|c| c.column_type.is_vector())) {
            with_vectors.push(f.display().to_string());
            continue;
        }
        defs.push((f.clone(), def));
    }
    // Eight scratch databases at a time keeps this well under the time budget.
    let rejected = std::sync::Mutex::new(Vec::new());
    for chunk in defs.chunks(8) {
        std::thread::scope(|s| {
            for (f, def) in chunk {
                let rejected = &rejected;
                s.spawn(move || {
                    let sql =
                        definition_sql(&Postgres, def).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                    let db = PgScratch::new("golden");
                    if let Err(e) = try_pg_exec(&db.url, &sql) {
                        rejected.lock().unwrap().push(format!("{}: {e}", f.display()));
                        return;
                    }
                    let live = pg_introspect(&db.url, &IntrospectOptions::default());
                    assert_no_drift(&live, def, &f.display().to_string());
                });
            }
        });
    }
    let rejected = rejected.into_inner().unwrap();
    eprintln!(
        "golden PostgreSQL definitions round-tripped: {}; with pgvector columns: {with_vectors:?}; \
         rejected by PostgreSQL: {rejected:?}",
        defs.len() - rejected.len()
    );
    assert!(defs.len() > rejected.len(), "no golden definition could be checked");
}
