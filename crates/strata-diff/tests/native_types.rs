//! Type changes between native PostgreSQL types (live databases, `nativeType`): exact
//! comparison, in-place casts with their cost, drop + re-add only without a cast; files without
//! native types keep Serverpod's rules.

mod common;

use common::*;
use strata_diff::generate_migration;
use strata_schema::*;

/// A live column: exact type, no field name (introspection knows none).
fn live(name: &str, column_type: ColumnType, native: &str) -> ColumnDefinition {
    ColumnDefinition {
        field_name: None,
        native_type: Some(native.into()),
        identity: None,
        generated: None,
        ..col(name).ty(column_type).nullable()
    }
}

fn one(c: ColumnDefinition) -> DatabaseDefinition {
    db(vec![table("t", vec![id(), c])])
}

#[test]
fn integer_to_bigint_between_exact_types_is_altered_in_place() {
    let m = generate_migration(
        &one(live("n", ColumnType::Integer, "integer")),
        &one(live("n", ColumnType::Bigint, "bigint")),
    );
    let t = only_alter(&m);
    assert_eq!(t.modify_columns.len(), 1);
    assert_eq!(t.modify_columns[0].new_type, Some(ColumnType::Bigint));
    assert_eq!(t.modify_columns[0].new_native_type.as_deref(), Some("bigint"));
    assert_eq!(warning_list(&m), vec!["columnTypeChanged:t:n"]);
    assert!(m.warnings[0].message.contains("every row is rewritten"), "{}", m.warnings[0].message);
    assert!(!m.is_destructive());
}

#[test]
fn longer_varchar_changes_only_the_catalog_and_is_in_the_json() {
    let m = generate_migration(
        &one(live("s", ColumnType::Unknown, "character varying(10)")),
        &one(live("s", ColumnType::Unknown, "character varying(20)")),
    );
    let t = only_alter(&m);
    assert_eq!(t.modify_columns[0].new_native_type.as_deref(), Some("character varying(20)"));
    assert!(m.warnings[0].message.contains("only the catalog changes"), "{}", m.warnings[0].message);
    let json = migration_to_json(&m);
    assert!(json.contains("\"newNativeType\": \"character varying(20)\""), "{json}");
    assert_eq!(migration_from_json(&json).unwrap(), m);
}

#[test]
fn no_cast_drops_and_re_adds_as_destructive() {
    let m = generate_migration(
        &one(live("u", ColumnType::Uuid, "uuid")),
        &one(live("u", ColumnType::Bigint, "bigint")),
    );
    let t = only_alter(&m);
    assert_eq!(t.delete_columns, vec!["u"]);
    assert_eq!(t.add_columns[0].name, "u");
    assert!(m.is_destructive());
}

#[test]
fn files_without_native_types_keep_serverpods_rules() {
    // integer ≈ bigint, and a text → bigint change from models is still drop + re-add.
    let int = |t| one(col("n").ty(t).nullable());
    assert!(generate_migration(&int(ColumnType::Integer), &int(ColumnType::Bigint)).is_empty());
    let m = generate_migration(&int(ColumnType::Text), &int(ColumnType::Bigint));
    assert_eq!(only_alter(&m).delete_columns, vec!["n"]);
    // A live integer against a file's bigint is no drift either (an int id is written bigserial).
    assert!(generate_migration(&one(live("n", ColumnType::Integer, "integer")), &int(ColumnType::Bigint))
        .is_empty());
}
