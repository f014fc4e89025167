//! Primary key, unique, check and exclusion constraint, identity and partition changes in the
//! diff, and
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
        deferrable: None,
    }
}

fn keyed(
    mut t: TableDefinition,
    primary: Option<KeyConstraint>,
    unique: Vec<KeyConstraint>,
) -> TableDefinition {
    t.keys = TableKeys { primary_key: primary, unique, ..Default::default() };
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

fn check(name: &str, expression: &str) -> CheckConstraint {
    CheckConstraint { name: name.into(), expression: expression.into(), ..Default::default() }
}

fn checked(mut t: TableDefinition, checks: Vec<CheckConstraint>) -> TableDefinition {
    t.keys.checks = checks;
    t
}

#[test]
fn checks_are_added_dropped_and_changed_by_drop_and_add() {
    let cols = || vec![col("a"), col("b")];
    let m =
        migrate(vec![table("t", cols())], vec![checked(table("t", cols()), vec![check("pos", "(a > '')")])]);
    assert_eq!(only_alter(&m).keys.add_checks, vec![check("pos", "(a > '')")]);
    assert!(only_alter(&m).keys.drop.is_empty());

    let before = checked(table("t", cols()), vec![check("pos", "(a > '')"), check("gone", "(b <> '')")]);
    let not_valid = CheckConstraint { not_valid: true, ..check("pos", "(a > 'x')") };
    let m = migrate(vec![before], vec![checked(table("t", cols()), vec![not_valid.clone()])]);
    let keys = &only_alter(&m).keys;
    assert_eq!(keys.drop, vec!["pos".to_string(), "gone".to_string()]);
    assert_eq!(keys.add_checks, vec![not_valid]);

    let same = || checked(table("t", cols()), vec![check("pos", "(a > '')")]);
    assert!(generate_migration(&db(vec![same()]), &db(vec![same()])).actions.is_empty());
}

#[test]
fn a_check_naming_a_dropped_or_retyped_column_is_dropped_and_added_again() {
    let before =
        checked(table("t", vec![col("a"), col("b")]), vec![check("both", "((a <> b) AND (\"b\" <> ''))")]);
    let after = checked(table("t", vec![col("a")]), vec![check("both", "((a <> b) AND (\"b\" <> ''))")]);
    let m = migrate(vec![before.clone()], vec![checked(after, vec![])]);
    assert_eq!(only_alter(&m).keys.drop, vec!["both".to_string()]);

    let mut retyped = before.clone();
    retyped.columns[1].native_type = Some("integer".into());
    retyped.columns[1].column_type = ColumnType::Integer;
    let mut source = before;
    source.columns[1].native_type = Some("text".into());
    let m = migrate(vec![source], vec![retyped]);
    let keys = &only_alter(&m).keys;
    assert_eq!(keys.drop, vec!["both".to_string()]);
    assert_eq!(keys.add_checks.len(), 1);
}

#[test]
fn exclusions_and_deferrability_are_compared() {
    let exclusion = |d: &str| ExclusionConstraint { name: "no_overlap".into(), definition: d.into() };
    let mut a = table("t", vec![col("r")]);
    a.keys.exclusions = vec![exclusion("EXCLUDE USING gist (r WITH &&)")];
    let mut b = a.clone();
    b.keys.exclusions = vec![exclusion("EXCLUDE USING gist (r WITH &&) DEFERRABLE")];
    let m = migrate(vec![a.clone()], vec![b]);
    assert_eq!(only_alter(&m).keys.drop, vec!["no_overlap".to_string()]);
    assert_eq!(only_alter(&m).keys.add_exclusions.len(), 1);

    let deferred =
        KeyConstraint { deferrable: Some(Deferrable::InitiallyDeferred), ..key("t_r_key", &["r"]) };
    let m = migrate(
        vec![keyed(a.clone(), None, vec![key("t_r_key", &["r"])])],
        vec![keyed(a, None, vec![deferred.clone()])],
    );
    let keys = &only_alter(&m).keys;
    assert_eq!((keys.drop.clone(), keys.add_unique.clone()), (vec!["t_r_key".to_string()], vec![deferred]));
    assert!(keys.rename.is_empty());
}
