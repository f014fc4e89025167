//! Primary key, unique constraint, identity and partition changes in the diff, and
//! `apply_migration` taking the source to the target for them.

mod common;

use common::*;
use strata_diff::{apply_migration, generate_migration};
use strata_schema::*;

fn key(name: &str, columns: &[&str]) -> KeyConstraint {
    KeyConstraint {
        name: name.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        nulls_not_distinct: false,
    }
}

fn keyed(
    mut t: TableDefinition,
    primary: Option<KeyConstraint>,
    unique: Vec<KeyConstraint>,
) -> TableDefinition {
    t.keys = TableKeys { primary_key: primary, without_primary_key: false, unique };
    t
}

/// Diffs, then checks the migration replays onto the source as the target.
fn migrate(from: Vec<TableDefinition>, to: Vec<TableDefinition>) -> DatabaseMigration {
    let (source, target) = (db(from), db(to));
    let m = generate_migration(&source, &target);
    let applied = apply_migration(&source, &m);
    for t in &target.tables {
        let got = applied.table(&t.name).unwrap_or_else(|| panic!("{} missing after apply", t.name));
        assert_eq!(got.keys, t.keys, "keys of {} after apply", t.name);
    }
    m
}

#[test]
fn serverpod_tables_never_get_key_changes() {
    let before = table("item", vec![id(), col("name")]);
    let after = table("item", vec![id(), col("name"), col("extra").nullable()]);
    let m = migrate(vec![before], vec![after]);
    assert!(only_alter(&m).keys.is_empty(), "{m:?}");
}

#[test]
fn a_composite_key_replaces_the_implied_one_and_a_rename_is_a_rename() {
    let cols = || vec![id(), col("a"), col("b")];
    let m = migrate(
        vec![table("t", cols())],
        vec![keyed(table("t", cols()), Some(key("t_ab", &["a", "b"])), vec![key("t_a_key", &["a"])])],
    );
    let keys = &only_alter(&m).keys;
    assert_eq!(keys.drop, vec!["t_pkey".to_string()]);
    assert_eq!(keys.add_primary_key, Some(key("t_ab", &["a", "b"])));
    assert_eq!(keys.add_unique, vec![key("t_a_key", &["a"])]);

    let m = migrate(
        vec![keyed(table("t", cols()), Some(key("t_ab", &["a", "b"])), vec![key("t_a_key", &["a"])])],
        vec![keyed(table("t", cols()), Some(key("t_pk", &["a", "b"])), vec![key("t_a_uq", &["a"])])],
    );
    let keys = &only_alter(&m).keys;
    assert_eq!(
        keys.rename,
        vec![("t_ab".to_string(), "t_pk".to_string()), ("t_a_key".to_string(), "t_a_uq".to_string())]
    );
    assert!(keys.drop.is_empty() && keys.add_primary_key.is_none() && keys.add_unique.is_empty(), "{keys:?}");
}

#[test]
fn a_renamed_column_keeps_its_key() {
    let before = keyed(table("t", vec![col("a"), col("b")]), Some(key("t_pk", &["a"])), vec![]);
    let after = keyed(table("t", vec![col("a").named("c"), col("b")]), Some(key("t_pk", &["c"])), vec![]);
    let m = migrate(vec![before], vec![after]);
    assert!(only_alter(&m).keys.is_empty(), "{m:?}");
}

#[test]
fn an_identity_change_is_an_in_place_column_change() {
    let mut ident = col("n").ty(ColumnType::Integer);
    ident.identity = Some(Identity::Always);
    let m = migrate(
        vec![table("t", vec![id(), col("n").ty(ColumnType::Integer)])],
        vec![table("t", vec![id(), ident])],
    );
    let change = &only_alter(&m).modify_columns[0];
    assert!(change.change_identity && change.new_identity == Some(Identity::Always), "{change:?}");
    assert!(!change.change_default, "{change:?}");
}

#[test]
fn partitions_take_no_column_changes_and_drop_before_their_parent() {
    let part = |name: &str, parent: &str, cols| {
        let mut t = table(name, cols);
        t.partition_of = Some(parent.into());
        t
    };
    let m = migrate(
        vec![
            table("m", vec![col("a")]),
            part("m_1", "m", vec![col("a")]),
            part("a_child", "z_parent", vec![col("k")]),
            table("z_parent", vec![col("k")]),
        ],
        vec![
            table("m", vec![col("a"), col("b").nullable()]),
            part("m_1", "m", vec![col("a"), col("b").nullable()]),
        ],
    );
    assert_eq!(action_list(&m)[..2], ["deleteTable:a_child".to_string(), "deleteTable:z_parent".to_string()]);
    let alters: Vec<&str> = m
        .actions
        .iter()
        .filter_map(|a| match a {
            MigrationAction::AlterTable(t) => Some(t.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(alters, vec!["m"], "{m:?}");
}
