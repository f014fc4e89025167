//! Serverpod-written files must read and write back byte-for-byte; v1 files must upgrade.

use std::path::PathBuf;
use strata_schema::*;

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/json").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn v2_definition_round_trips_byte_for_byte() {
    let text = fixture("definition_project_v2.json");
    let def = definition_from_json(&text).unwrap();
    assert_eq!(def.tables.len(), 1);
    assert_eq!(def.tables[0].columns[0].column_default.as_deref(), Some("serial"));
    assert!(!def.installed_modules[0].is_model_class);
    assert_eq!(definition_to_json(&def), text);
}

#[test]
fn v2_migrations_round_trip_byte_for_byte() {
    for name in ["migration_index_changes_v2.json", "migration_rename_default_v2.json"] {
        let text = fixture(name);
        let m = migration_from_json(&text).unwrap();
        assert_eq!(migration_to_json(&m), text, "{name}");
    }
}

#[test]
fn v1_migration_reads_with_misspelled_destructive_key() {
    let m = migration_from_json(&fixture("migration_drop_table_v1.json")).unwrap();
    assert_eq!(m.actions, vec![MigrationAction::DeleteTable("serverpod_auth_key".into())]);
    assert!(m.warnings[0].destructive);
    let out = migration_to_json(&m);
    assert!(out.contains("\"destrucive\": true"), "{out}");
    let m = migration_from_json(&fixture("migration_nullability_v1.json")).unwrap();
    let MigrationAction::AlterTable(t) = &m.actions[0] else { panic!() };
    assert!(t.modify_columns[0].add_nullable);
}

#[test]
fn v1_definition_is_normalised() {
    let text = r#"{"moduleName":"serverpod","tables":[{"name":"t","schema":"public","columns":[
        {"name":"id","columnType":6,"isNullable":false,"columnDefault":"nextval('t_id_seq'::regclass)","dartType":"int?"},
        {"name":"at","columnType":4,"isNullable":false,"columnDefault":"'2024-05-10 22:00:00'::timestamp without time zone"},
        {"name":"s","columnType":0,"isNullable":false,"columnDefault":"'a''b'::text"}],
        "foreignKeys":[],"indexes":[{"indexName":"t_pkey","elements":[{"type":0,"definition":"id"}],"type":"btree","isUnique":true,"isPrimary":true}],"managed":true}],
        "installedModules":[],"migrationApiVersion":1}"#;
    let def = definition_from_json(text).unwrap();
    assert_eq!(def.schema_version, 2);
    let t = &def.tables[0];
    assert!(t.indexes.is_empty());
    let d: Vec<_> = t.columns.iter().map(|c| c.column_default.clone().unwrap()).collect();
    assert_eq!(d, ["serial", "2024-05-10T22:00:00.000Z", "'a''b'"]);
}

#[test]
fn errors_are_located() {
    let e = definition_from_json("{\n  \"moduleName\": \"x\",\n  \"tables\": [\n").unwrap_err();
    assert!(matches!(e, JsonError::Syntax { line: 4, .. }), "{e}");
    let e = definition_from_json(r#"{"moduleName":"x","tables":[{"name":"t","columns":[{"name":"c","columnType":99,"isNullable":true}]}]}"#).unwrap_err();
    assert_eq!(e.to_string(), "at $.tables[0].columns[0].columnType: unknown column type code 99");
    let e = definition_from_json(r#"{"tables":[]}"#).unwrap_err();
    assert_eq!(e.to_string(), "at $: missing required key \"moduleName\"");
    let e = migration_from_json(r#"{"actions":[{"type":"renameTable"}]}"#).unwrap_err();
    assert_eq!(e.to_string(), "at $.actions[0].type: unknown action type \"renameTable\"");
}

/// `nativeType` is written only for `unknown` columns and read back; a known type never
/// carries it, so Serverpod's files keep their bytes.
#[test]
fn native_type_is_written_only_where_column_type_cannot_say_it() {
    let column = |name: &str, column_type, native: &str| ColumnDefinition {
        name: name.into(),
        column_type,
        is_nullable: true,
        native_type: Some(native.into()),
        identity: None,
        generated: None,
        ..Default::default()
    };
    let mut def = DatabaseDefinition::empty("p");
    def.tables.push(TableDefinition {
        name: "t".into(),
        schema: "public".into(),
        columns: vec![
            column("code", ColumnType::Unknown, "character varying(20)"),
            column("n", ColumnType::Bigint, "bigint"),
        ],
        ..Default::default()
    });
    let json = definition_to_json(&def);
    assert!(json.contains("\"nativeType\": \"character varying(20)\""), "{json}");
    assert_eq!(json.matches("nativeType").count(), 1, "{json}");
    let back = definition_from_json(&json).unwrap();
    let t = back.table("t").unwrap();
    assert_eq!(t.column("code").unwrap().native_type.as_deref(), Some("character varying(20)"));
    assert_eq!(t.column("n").unwrap().native_type, None);
    assert_eq!(definition_to_json(&back), json);
}

fn keyed_table() -> TableDefinition {
    let key = |name: &str, columns: &[&str], nulls_not_distinct| KeyConstraint {
        name: name.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        nulls_not_distinct,
    };
    TableDefinition {
        name: "member".into(),
        schema: "public".into(),
        columns: vec![ColumnDefinition {
            name: "n".into(),
            column_type: ColumnType::Integer,
            identity: Some(Identity::ByDefault),
            generated: None,
            ..Default::default()
        }],
        keys: TableKeys {
            primary_key: Some(key("member_pk", &["a", "b"], false)),
            without_primary_key: false,
            unique: vec![key("member_email_key", &["email"], true), key("member_x_key", &["x"], false)],
        },
        partition_of: Some("members".into()),
        layout: Default::default(),
        ..Default::default()
    }
}

/// strata's key, identity and partition extensions read back as written, and a table without
/// them has none of their keys (the two reading paths agree: `json.rs`'s own tests).
#[test]
fn keys_identity_and_partitions_round_trip() {
    let mut def = DatabaseDefinition::empty("p");
    def.tables.push(keyed_table());
    let json = definition_to_json(&def);
    for needle in [
        "\"primaryKey\"",
        "\"uniqueConstraints\"",
        "\"nullsNotDistinct\": true",
        "\"identity\": \"byDefault\"",
        "\"partitionOf\": \"members\"",
    ] {
        assert!(json.contains(needle), "missing {needle} in {json}");
    }
    assert_eq!(json.matches("nullsNotDistinct").count(), 1, "{json}");
    let back = definition_from_json(&json).unwrap();
    assert_eq!(back.tables[0], def.tables[0]);

    let plain = definition_to_json(&DatabaseDefinition::empty("p"));
    for key in ["primaryKey", "uniqueConstraints", "withoutPrimaryKey", "identity", "partitionOf"] {
        assert!(!plain.contains(key), "{plain}");
    }
}

#[test]
fn a_key_without_columns_is_refused_with_its_path() {
    let text = r#"{"moduleName":"m","tables":[{"name":"t","primaryKey":{"name":"t_pkey","columns":[]}}]}"#;
    let e = definition_from_json(text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "at $.tables[0].primaryKey: a key constraint needs at least one column in \"columns\""
    );
}

#[test]
fn key_changes_round_trip_in_migrations() {
    let mut change = TableMigration::new("member", "public");
    change.keys = KeyMigration {
        drop: vec!["old_pk".into()],
        rename: vec![("a_key".into(), "b_key".into())],
        add_primary_key: keyed_table().keys.primary_key,
        add_unique: keyed_table().keys.unique,
    };
    change.modify_columns.push(ColumnMigration {
        column_name: "n".into(),
        change_identity: true,
        new_identity: Some(Identity::Always),
        drop_expression: false,
        ..Default::default()
    });
    let mut m = DatabaseMigration::new();
    m.actions.push(MigrationAction::AlterTable(change));
    let json = migration_to_json(&m);
    assert!(json.contains("\"keyChanges\""), "{json}");
    assert!(json.contains("\"changeIdentity\": true"), "{json}");
    assert_eq!(migration_from_json(&json).unwrap(), m);
}
