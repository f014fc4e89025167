//! The change catalogue (spec §7.4) and the behaviours Serverpod's migration tests pin (§10.1).

mod common;

use common::*;
use strata_diff::generate_migration;
use strata_schema::*;

fn diff(a: Vec<TableDefinition>, b: Vec<TableDefinition>) -> DatabaseMigration {
    generate_migration(&db(a), &db(b))
}

// ---------------------------------------------------------------- tables

#[test]
fn new_table_is_created_with_its_definition() {
    let t = table("example", vec![col("name")]);
    let m = diff(vec![], vec![t.clone()]);
    assert_eq!(m.actions, vec![MigrationAction::CreateTable(t)]);
    assert!(m.warnings.is_empty());
    assert_eq!(m.migration_api_version, 1);
}

#[test]
fn identical_definitions_give_nothing() {
    let t = table("a", vec![col("x").nullable()]).index(idx("a_x", &["x"]));
    let u = table("b", vec![col("aId").ty(ColumnType::Bigint)]).fk(fk("b_fk_0", "aId", "a"));
    let m = diff(vec![t.clone(), u.clone()], vec![t, u]);
    assert!(m.actions.is_empty() && m.warnings.is_empty());
}

#[test]
fn removed_table_is_dropped_with_exact_warning() {
    let m = diff(vec![table("serverpod_auth_key", vec![])], vec![]);
    assert_eq!(m.actions, vec![MigrationAction::DeleteTable("serverpod_auth_key".into())]);
    assert_eq!(
        m.warnings,
        vec![MigrationWarning {
            warning_type: WarningType::TableDropped,
            message: "Table \"serverpod_auth_key\" will be dropped.".into(),
            table: "serverpod_auth_key".into(),
            columns: vec![],
            destructive: true,
        }]
    );
}

#[test]
fn removed_tables_are_dropped_in_reverse_source_order_before_creates_in_target_order() {
    let m = diff(
        vec![table("a", vec![]), table("b", vec![]), table("c", vec![])],
        vec![table("z", vec![]), table("c", vec![col("n").nullable()]), table("y", vec![])],
    );
    assert_eq!(
        action_list(&m),
        vec!["deleteTable:b", "deleteTable:a", "createTable:z", "alterTable:c", "createTable:y"]
    );
    assert_eq!(warning_list(&m), vec!["tableDropped:b:", "tableDropped:a:"]);
}

#[test]
fn renamed_table_recreates_dependents_that_keep_their_foreign_key() {
    let company = table("company", vec![col("name")]);
    let employee = table("employee", vec![col("companyId").ty(ColumnType::Bigint)]).fk(fk(
        "employee_fk_0",
        "companyId",
        "company",
    ));
    let firm = table("firm", vec![col("name")]);
    let employee2 = table("employee", vec![col("companyId").ty(ColumnType::Bigint)]).fk(fk(
        "employee_fk_0",
        "companyId",
        "firm",
    ));
    let m = diff(vec![company, employee], vec![employee2.clone(), firm.clone()]);
    assert_eq!(
        action_list(&m),
        vec!["deleteTable:employee", "deleteTable:company", "createTable:employee", "createTable:firm"]
    );
    assert_eq!(warning_list(&m), vec!["tableDropped:employee:", "tableDropped:company:"]);
    assert_eq!(m.actions[2], MigrationAction::CreateTable(employee2));
}

#[test]
fn dependents_are_found_recursively() {
    let a = table("a", vec![]);
    let b = table("b", vec![col("aId").ty(ColumnType::Bigint)]).fk(fk("b_fk_0", "aId", "a"));
    let c = table("c", vec![col("bId").ty(ColumnType::Bigint)]).fk(fk("c_fk_0", "bId", "b"));
    let unrelated = table("d", vec![]);
    let m = diff(vec![a, b.clone(), c.clone(), unrelated.clone()], vec![b, c, unrelated]);
    assert_eq!(
        action_list(&m),
        vec!["deleteTable:c", "deleteTable:b", "deleteTable:a", "createTable:b", "createTable:c"]
    );
}

#[test]
fn dependent_cycles_terminate() {
    // a <-> b reference each other; a also references x, which is renamed to y.
    let a = table(
        "a",
        vec![col("bId").ty(ColumnType::Bigint).nullable(), col("xId").ty(ColumnType::Bigint).nullable()],
    )
    .fk(fk("a_fk_0", "bId", "b"))
    .fk(fk("a_fk_1", "xId", "x"));
    let b = table("b", vec![col("aId").ty(ColumnType::Bigint).nullable()]).fk(fk("b_fk_0", "aId", "a"));
    let mut a2 = a.clone();
    a2.foreign_keys[1].reference_table = "y".into();
    let m = diff(vec![a, b.clone(), table("x", vec![])], vec![a2, b, table("y", vec![])]);
    assert_eq!(
        action_list(&m),
        vec![
            "deleteTable:b",
            "deleteTable:a",
            "deleteTable:x",
            "createTable:a",
            "createTable:b",
            "createTable:y"
        ]
    );
    assert_eq!(warning_list(&m), vec!["tableDropped:b:", "tableDropped:a:", "tableDropped:x:"]);
}

#[test]
fn referencing_table_is_only_altered_when_its_foreign_key_goes_away() {
    let company = table("company", vec![]);
    let employee = table("employee", vec![col("companyId").ty(ColumnType::Bigint), col("name")]).fk(fk(
        "employee_fk_0",
        "companyId",
        "company",
    ));
    let employee2 = table("employee", vec![col("name")]);
    let m = diff(vec![company, employee], vec![employee2]);
    assert_eq!(action_list(&m), vec!["deleteTable:company", "alterTable:employee"]);
    let MigrationAction::AlterTable(t) = &m.actions[1] else { unreachable!() };
    assert_eq!(t.delete_columns, vec!["companyId"]);
    assert_eq!(t.delete_foreign_keys, vec!["employee_fk_0"]);
    assert_eq!(warning_list(&m), vec!["tableDropped:company:", "columnDropped:employee:companyId"]);
    // The alter carries only its own table's warnings.
    assert_eq!(t.warnings.len(), 1);
    assert_eq!(t.warnings[0].table, "employee");
}

#[test]
fn renumbered_foreign_keys_are_dropped_and_added_not_recreated() {
    let t = table("t", vec![]);
    let u = table("u", vec![]);
    let r = table("r", vec![col("tId").ty(ColumnType::Bigint), col("uId").ty(ColumnType::Bigint)])
        .fk(fk("r_fk_0", "tId", "t"))
        .fk(fk("r_fk_1", "uId", "u"));
    let r2 = table("r", vec![col("uId").ty(ColumnType::Bigint)]).fk(fk("r_fk_0", "uId", "u"));
    let m = diff(vec![r, t, u.clone()], vec![r2, u]);
    assert_eq!(action_list(&m), vec!["deleteTable:t", "alterTable:r"]);
    let MigrationAction::AlterTable(a) = &m.actions[1] else { unreachable!() };
    assert_eq!(a.delete_foreign_keys, vec!["r_fk_1", "r_fk_0"]);
    assert_eq!(a.add_foreign_keys, vec![fk("r_fk_0", "uId", "u")]);
    assert_eq!(a.delete_columns, vec!["tId"]);
}

#[test]
fn constraint_name_reused_for_a_new_column_is_replaced() {
    let p = table("p", vec![]);
    let r = table("r", vec![col("aId").ty(ColumnType::Bigint).nullable()]).fk(fk("r_fk_0", "aId", "p"));
    let r2 = table("r", vec![col("bId").ty(ColumnType::Bigint).nullable()]).fk(fk("r_fk_0", "bId", "p"));
    let a = only_alter(&diff(vec![p.clone(), r], vec![p, r2.clone()])).clone();
    assert_eq!(a.add_columns, vec![r2.columns[1].clone()]);
    assert_eq!(a.delete_columns, vec!["aId"]);
    assert_eq!(a.delete_foreign_keys, vec!["r_fk_0"]);
    assert_eq!(a.add_foreign_keys, r2.foreign_keys);
}

// ---------------------------------------------------------------- managed flag

#[test]
fn managed_to_unmanaged_gives_nothing_even_with_changes() {
    let t = table("t", vec![col("a")]);
    let t2 = table("t", vec![col("b")]).managed(Some(false));
    assert!(diff(vec![t], vec![t2]).actions.is_empty());
}

#[test]
fn unmanaged_on_either_side_alone_gives_nothing() {
    let t = table("t", vec![col("a")]).managed(Some(false));
    assert!(diff(vec![t.clone()], vec![]).actions.is_empty());
    assert!(diff(vec![], vec![t.clone()]).actions.is_empty());
    let t2 = table("t", vec![col("b")]).managed(Some(false));
    assert!(diff(vec![t], vec![t2]).actions.is_empty());
}

#[test]
fn unmanaged_to_managed_is_create_if_not_exists() {
    let t = table("t", vec![col("a")]).managed(Some(false));
    let t2 = table("t", vec![col("a"), col("b")]);
    let m = diff(vec![t], vec![t2.clone()]);
    assert_eq!(m.actions, vec![MigrationAction::CreateTableIfNotExists(t2)]);
    assert!(m.warnings.is_empty());
}

#[test]
fn live_tables_without_managed_flag_count_as_managed() {
    let live = table("stray", vec![]).live();
    let m = diff(vec![live], vec![]);
    assert_eq!(action_list(&m), vec!["deleteTable:stray"]);
}

#[test]
fn unmanaged_referencing_table_is_not_recreated_as_dependent() {
    let a = table("a", vec![]);
    let r = table("r", vec![col("aId").ty(ColumnType::Bigint)]).fk(fk("r_fk_0", "aId", "a"));
    let m = diff(vec![a, r.clone()], vec![r.managed(Some(false))]);
    assert_eq!(action_list(&m), vec!["deleteTable:a"]);
}

// ---------------------------------------------------------------- columns

#[test]
fn add_nullable_column_or_column_with_default_is_add_column() {
    let t = table("t", vec![]);
    let t2 = table("t", vec![col("a").nullable(), col("b").default("'x'")]);
    let m = diff(vec![t], vec![t2.clone()]);
    let a = only_alter(&m);
    assert_eq!(a.add_columns, t2.columns[1..].to_vec());
    assert_eq!(a.name, "t");
    assert_eq!(a.schema, "public");
    assert!(a.dart_name.is_none() && a.module.is_none());
    assert!(m.warnings.is_empty());
}

#[test]
fn add_not_null_column_without_default_recreates_table() {
    let t = table("t", vec![]);
    let t2 = table("t", vec![col("a")]);
    let m = diff(vec![t], vec![t2.clone()]);
    assert_eq!(m.actions, vec![MigrationAction::DeleteTable("t".into()), MigrationAction::CreateTable(t2)]);
    assert_eq!(
        m.warnings,
        vec![MigrationWarning {
            warning_type: WarningType::TableDropped,
            message:
                "One or more columns are added to table \"t\" which cannot be added in a table migration. \
                      The complete table will be deleted and recreated."
                    .into(),
            table: "t".into(),
            columns: vec!["a".into()],
            destructive: true,
        }]
    );
}

#[test]
fn recreate_keeps_earlier_warnings_of_the_table() {
    let t = table("t", vec![col("old").nullable(), col("u").nullable()]).index(unique(idx("t_u", &["u"])));
    let t2 = table("t", vec![col("u").nullable(), col("new1").nullable(), col("new2")]);
    let t2 = t2.index(unique(idx("t_u2", &["u"])));
    let m = diff(vec![t], vec![t2]);
    assert_eq!(action_list(&m), vec!["deleteTable:t", "createTable:t"]);
    assert_eq!(
        warning_list(&m),
        vec!["columnDropped:t:old", "uniqueIndexCreated:t:u", "tableDropped:t:new2"]
    );
}

#[test]
fn removed_column_is_dropped_with_exact_warning() {
    let m = diff(vec![table("t", vec![col("a")])], vec![table("t", vec![])]);
    let a = only_alter(&m);
    assert_eq!(a.delete_columns, vec!["a"]);
    let w = MigrationWarning {
        warning_type: WarningType::ColumnDropped,
        message: "Column \"a\" of table \"t\" will be dropped.".into(),
        table: "t".into(),
        columns: vec!["a".into()],
        destructive: true,
    };
    assert_eq!(m.warnings, vec![w.clone()]);
    assert_eq!(a.warnings, vec![w]);
}

#[test]
fn physical_rename_via_column_override_is_a_rename() {
    let t = table("users", vec![col("userName").field("userName")]);
    let t2 = table("users", vec![col("user_name").field("userName")]);
    let m = diff(vec![t], vec![t2]);
    let a = only_alter(&m);
    assert!(a.add_columns.is_empty() && a.delete_columns.is_empty());
    assert_eq!(
        a.modify_columns,
        vec![ColumnMigration {
            column_name: "userName".into(),
            new_column_name: Some("user_name".into()),
            add_nullable: false,
            remove_nullable: false,
            change_default: false,
            new_default: None,
            new_type: None,
            new_native_type: None,
            change_identity: false,
            new_identity: None,
            new_identity_options: None,
            drop_expression: false,
        }]
    );
    assert!(m.warnings.is_empty());
}

#[test]
fn rename_with_default_change_matches_illustrative_example() {
    let t = table("users", vec![col("userName").field("userName")]);
    let t2 = table("users", vec![col("user_name").field("userName").default("'anonymous'")]);
    let m = diff(vec![t], vec![t2]);
    let a = only_alter(&m);
    assert_eq!(
        a.modify_columns,
        vec![ColumnMigration {
            column_name: "userName".into(),
            new_column_name: Some("user_name".into()),
            add_nullable: false,
            remove_nullable: false,
            change_default: true,
            new_default: Some("'anonymous'".into()),
            new_type: None,
            new_native_type: None,
            change_identity: false,
            new_identity: None,
            new_identity_options: None,
            drop_expression: false,
        }]
    );
}

#[test]
fn several_renames_are_detected() {
    let t = table("t", vec![col("old_1").field("f1"), col("old_2").field("f2").ty(ColumnType::Integer)]);
    let t2 = table("t", vec![col("new_1").field("f1"), col("new_2").field("f2").ty(ColumnType::Integer)]);
    let m = diff(vec![t], vec![t2]);
    let a = only_alter(&m);
    let renames: Vec<_> = a
        .modify_columns
        .iter()
        .map(|c| (c.column_name.as_str(), c.new_column_name.as_deref().unwrap()))
        .collect();
    assert_eq!(renames, vec![("old_1", "new_1"), ("old_2", "new_2")]);
    assert!(a.add_columns.is_empty() && a.delete_columns.is_empty());
}

#[test]
fn rename_with_type_change_is_drop_and_add() {
    let t = table("t", vec![col("old_name").field("f").dart("String")]);
    let t2 = table("t", vec![col("new_name").field("f").ty(ColumnType::Integer).dart("int").nullable()]);
    let m = diff(vec![t], vec![t2]);
    let a = only_alter(&m);
    assert!(a.modify_columns.is_empty());
    assert_eq!(a.delete_columns, vec!["old_name"]);
    assert_eq!(a.add_columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), vec!["new_name"]);
    assert_eq!(warning_list(&m), vec!["columnDropped:t:old_name"]);
    assert_eq!(m.warnings[0].message, "Column \"old_name\" of table \"t\" will be dropped.");
}

#[test]
fn rename_with_nullability_change_is_rename_plus_modify() {
    let t = table("t", vec![col("old_name").field("f")]);
    let t2 = table("t", vec![col("new_name").field("f").nullable()]);
    let a = only_alter(&diff(vec![t], vec![t2])).clone();
    assert_eq!(a.modify_columns.len(), 1);
    let c = &a.modify_columns[0];
    assert_eq!((c.column_name.as_str(), c.new_column_name.as_deref()), ("old_name", Some("new_name")));
    assert!(c.add_nullable && !c.remove_nullable && !c.change_default);
}

#[test]
fn rename_with_not_null_added_warns_with_the_new_name() {
    let t = table("t", vec![col("old_name").field("f").nullable()]);
    let t2 = table("t", vec![col("new_name").field("f")]);
    let m = diff(vec![t], vec![t2]);
    assert_eq!(
        m.warnings,
        vec![MigrationWarning {
            warning_type: WarningType::NotNullAdded,
            message:
                "Column \"new_name\" of table \"t\" is modified to be not null. If there are existing rows \
                      with null values, this migration will fail."
                    .into(),
            table: "t".into(),
            columns: vec!["new_name".into()],
            destructive: false,
        }]
    );
}

#[test]
fn mixed_add_delete_rename() {
    let t = table(
        "t",
        vec![
            col("old_name").field("renamed"),
            col("deleted_column").field("deletedField").ty(ColumnType::Integer),
            col("unchanged_column").field("unchangedField").ty(ColumnType::Boolean),
        ],
    );
    let t2 = table(
        "t",
        vec![
            col("new_name").field("renamed"),
            col("added_column").field("addedField").ty(ColumnType::DoublePrecision).nullable(),
            col("unchanged_column").field("unchangedField").ty(ColumnType::Boolean),
        ],
    );
    let a = only_alter(&diff(vec![t], vec![t2])).clone();
    assert_eq!(a.modify_columns.len(), 1);
    assert_eq!(a.modify_columns[0].new_column_name.as_deref(), Some("new_name"));
    assert_eq!(a.add_columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), vec!["added_column"]);
    assert_eq!(a.delete_columns, vec!["deleted_column"]);
}

#[test]
fn different_field_ids_are_drop_and_add_not_rename() {
    let t = table("t", vec![col("old_name").field("fieldA")]);
    let t2 = table("t", vec![col("new_name").field("fieldB").nullable()]);
    let a = only_alter(&diff(vec![t], vec![t2])).clone();
    assert!(a.modify_columns.is_empty());
    assert_eq!(a.delete_columns, vec!["old_name"]);
    assert_eq!(a.add_columns.len(), 1);
    assert_eq!(a.add_columns[0].name, "new_name");
}

#[test]
fn renamed_field_without_column_override_not_null_recreates_table() {
    let t = table("t", vec![col("a")]);
    let t2 = table("t", vec![col("b")]);
    let m = diff(vec![t], vec![t2]);
    assert_eq!(action_list(&m), vec!["deleteTable:t", "createTable:t"]);
    assert_eq!(warning_list(&m), vec!["columnDropped:t:a", "tableDropped:t:b"]);
}

#[test]
fn renamed_field_keeping_physical_name_gives_nothing() {
    let t = table("t", vec![col("nonce").field("nonce")]);
    let t2 = table("t", vec![col("nonce").field("key")]);
    let m = diff(vec![t], vec![t2]);
    assert!(m.actions.is_empty() && m.warnings.is_empty(), "{m:#?}");
}

#[test]
fn renamed_column_and_new_field_reusing_the_old_name() {
    let t = table("t", vec![col("old_name").field("renamedField")]);
    let t2 = table(
        "t",
        vec![
            col("new_name").field("renamedField"),
            col("old_name").field("newField").ty(ColumnType::Integer).nullable(),
        ],
    );
    let m = diff(vec![t], vec![t2]);
    let a = only_alter(&m);
    assert_eq!(a.modify_columns.len(), 1);
    assert_eq!(a.modify_columns[0].column_name, "old_name");
    assert_eq!(a.modify_columns[0].new_column_name.as_deref(), Some("new_name"));
    assert_eq!(a.add_columns.len(), 1);
    assert_eq!(a.add_columns[0].name, "old_name");
    assert_eq!(a.add_columns[0].field_name.as_deref(), Some("newField"));
    assert!(a.delete_columns.is_empty());
    assert!(!m.is_destructive());
}

/// Deliberate fix: Serverpod keeps `y` and emits `RENAME "x" TO "y"`, which PostgreSQL rejects.
#[test]
fn rename_onto_the_name_of_a_removed_column_drops_that_column_first() {
    let t = table("t", vec![col("x").field("fieldA"), col("y").field("fieldB")]);
    let t2 = table("t", vec![col("y").field("fieldA")]);
    let m = diff(vec![t], vec![t2]);
    let a = only_alter(&m);
    assert_eq!(a.delete_columns, vec!["y"]);
    assert_eq!(a.modify_columns.len(), 1);
    assert_eq!(a.modify_columns[0].new_column_name.as_deref(), Some("y"));
    assert_eq!(warning_list(&m), vec!["columnDropped:t:y"]);
}

#[test]
fn not_null_to_nullable_is_drop_not_null_without_warning() {
    let m = diff(
        vec![table("serverpod_user_info", vec![col("userName")])],
        vec![table("serverpod_user_info", vec![col("userName").nullable()])],
    );
    let a = only_alter(&m);
    assert_eq!(
        a.modify_columns,
        vec![ColumnMigration {
            column_name: "userName".into(),
            new_column_name: None,
            add_nullable: true,
            remove_nullable: false,
            change_default: false,
            new_default: None,
            new_type: None,
            new_native_type: None,
            change_identity: false,
            new_identity: None,
            new_identity_options: None,
            drop_expression: false,
        }]
    );
    assert!(m.warnings.is_empty());
}

#[test]
fn nullable_to_not_null_warns_even_with_a_default() {
    let m =
        diff(vec![table("t", vec![col("a").nullable()])], vec![table("t", vec![col("a").default("'x'")])]);
    let a = only_alter(&m);
    let c = &a.modify_columns[0];
    assert!(c.remove_nullable && !c.add_nullable && c.change_default);
    assert_eq!(c.new_default.as_deref(), Some("'x'"));
    assert_eq!(warning_list(&m), vec!["notNullAdded:t:a"]);
    assert_eq!(a.warnings, m.warnings);
    assert!(!m.is_destructive());
}

#[test]
fn default_added_changed_and_dropped() {
    for (from, to) in [(None, Some("'a'")), (Some("'a'"), Some("'b'")), (Some("'a'"), None)] {
        let mut c1 = col("c").nullable();
        c1.column_default = from.map(Into::into);
        let mut c2 = col("c").nullable();
        c2.column_default = to.map(Into::into);
        let m = diff(vec![table("t", vec![c1])], vec![table("t", vec![c2])]);
        let a = only_alter(&m);
        assert_eq!(a.modify_columns.len(), 1);
        assert!(a.modify_columns[0].change_default);
        assert_eq!(a.modify_columns[0].new_default.as_deref(), to);
        assert!(m.warnings.is_empty());
    }
}

#[test]
fn same_default_gives_nothing() {
    let t = table("t", vec![col("c").default("now").ty(ColumnType::TimestampWithoutTimeZone)]);
    assert!(diff(vec![t.clone()], vec![t]).actions.is_empty());
}

#[test]
fn type_change_is_drop_and_add_with_recreate_message() {
    let m = diff(
        vec![table("t", vec![col("c").nullable()])],
        vec![table("t", vec![col("c").ty(ColumnType::Bigint).nullable()])],
    );
    let a = only_alter(&m);
    assert_eq!(a.delete_columns, vec!["c"]);
    assert_eq!(a.add_columns[0].column_type, ColumnType::Bigint);
    assert_eq!(
        m.warnings,
        vec![MigrationWarning {
            warning_type: WarningType::ColumnDropped,
            message:
                "Column \"c\" of table \"t\" is modified in a way that it must be deleted and recreated."
                    .into(),
            table: "t".into(),
            columns: vec!["c".into()],
            destructive: true,
        }]
    );
}

#[test]
fn type_change_of_not_null_column_without_default_recreates_table() {
    let m = diff(vec![table("t", vec![col("c")])], vec![table("t", vec![col("c").ty(ColumnType::Bigint)])]);
    assert_eq!(action_list(&m), vec!["deleteTable:t", "createTable:t"]);
    assert_eq!(warning_list(&m), vec!["columnDropped:t:c", "tableDropped:t:c"]);
}

#[test]
fn dart_type_change_alone_gives_nothing() {
    let t = table("t", vec![col("c").dart("List<String>")]);
    let t2 = table("t", vec![col("c").dart("List<int>")]);
    assert!(diff(vec![t], vec![t2]).actions.is_empty());
}

#[test]
fn dart_type_change_with_another_change_is_drop_and_add() {
    let t = table("t", vec![col("c").dart("String").nullable()]);
    let t2 = table("t", vec![col("c").dart("Uri?").nullable().default("'x'")]);
    let m = diff(vec![t], vec![t2]);
    let a = only_alter(&m);
    assert_eq!(a.delete_columns, vec!["c"]);
    assert_eq!(warning_list(&m), vec!["columnDropped:t:c"]);
}

#[test]
fn dart_nullability_is_stripped_before_comparing() {
    let t = table("t", vec![col("c").dart("int").ty(ColumnType::Bigint)]);
    let t2 = table("t", vec![col("c").dart("int?").ty(ColumnType::Bigint).nullable()]);
    let a = only_alter(&diff(vec![t], vec![t2])).clone();
    assert!(a.modify_columns[0].add_nullable);
    assert!(a.delete_columns.is_empty());
}

#[test]
fn json_to_jsonb_is_a_type_change_in_place() {
    let m = diff(
        vec![table("t", vec![col("c").ty(ColumnType::Json)])],
        vec![table("t", vec![col("c").ty(ColumnType::Jsonb)])],
    );
    let a = only_alter(&m);
    assert_eq!(a.modify_columns.len(), 1);
    assert_eq!(a.modify_columns[0].new_type, Some(ColumnType::Jsonb));
    assert!(!a.modify_columns[0].add_nullable && !a.modify_columns[0].change_default);
    assert!(m.warnings.is_empty());

    let back = diff(
        vec![table("t", vec![col("c").ty(ColumnType::Jsonb)])],
        vec![table("t", vec![col("c").ty(ColumnType::Json)])],
    );
    assert_eq!(only_alter(&back).modify_columns[0].new_type, Some(ColumnType::Json));
}

#[test]
fn not_null_json_to_nullable_jsonb_is_one_alter() {
    let m = diff(
        vec![table("t", vec![col("c").ty(ColumnType::Json)])],
        vec![table("t", vec![col("c").ty(ColumnType::Jsonb).nullable()])],
    );
    let a = only_alter(&m);
    assert_eq!(a.modify_columns.len(), 1);
    assert!(a.modify_columns[0].add_nullable);
    assert_eq!(a.modify_columns[0].new_type, Some(ColumnType::Jsonb));
    assert!(m.warnings.is_empty());
}

#[test]
fn integer_and_bigint_are_alike() {
    let t = table("t", vec![col("c").ty(ColumnType::Integer)]);
    let t2 = table("t", vec![col("c").ty(ColumnType::Bigint)]);
    let m = diff(vec![t.clone()], vec![t2.clone()]);
    assert!(m.actions.is_empty() && m.warnings.is_empty());
    assert!(diff(vec![t2], vec![t]).actions.is_empty());
}

#[test]
fn integer_to_bigint_with_another_change_is_drop_and_add() {
    let m = diff(
        vec![table("t", vec![col("c").ty(ColumnType::Integer)])],
        vec![table("t", vec![col("c").ty(ColumnType::Bigint).nullable()])],
    );
    assert_eq!(only_alter(&m).delete_columns, vec!["c"]);
}

#[test]
fn vector_dimension_change_is_drop_and_add() {
    for ty in [ColumnType::Vector, ColumnType::Halfvec] {
        let m = diff(
            vec![table("t", vec![col("e").ty(ty).dim(512).nullable()])],
            vec![table("t", vec![col("e").ty(ty).dim(768).nullable()])],
        );
        let a = only_alter(&m);
        assert_eq!(a.delete_columns, vec!["e"]);
        assert_eq!(a.add_columns[0].vector_dimension, Some(768));
        assert!(m.is_destructive());
        let same = table("t", vec![col("e").ty(ty).dim(512).nullable()]);
        assert!(diff(vec![same.clone()], vec![same]).actions.is_empty());
    }
}

#[test]
fn vector_dimension_change_of_not_null_column_recreates() {
    let m = diff(
        vec![table("t", vec![col("e").ty(ColumnType::Vector).dim(3)])],
        vec![table("t", vec![col("e").ty(ColumnType::Vector).dim(4)])],
    );
    assert_eq!(action_list(&m), vec!["deleteTable:t", "createTable:t"]);
}

#[test]
fn enum_by_name_to_by_index_is_drop_and_add() {
    let m = diff(
        vec![table("t", vec![col("e").default("'byName1'").dart("protocol:E")])],
        vec![table("t", vec![col("e").ty(ColumnType::Bigint).default("0").dart("protocol:E")])],
    );
    let a = only_alter(&m);
    assert_eq!(a.delete_columns, vec!["e"]);
    assert_eq!(a.add_columns[0].column_default.as_deref(), Some("0"));
}

#[test]
fn id_model_nullability_change_gives_nothing() {
    let mut t = table("t", vec![]);
    t.columns[0].dart_type = Some("int".into());
    let t2 = table("t", vec![]);
    assert!(diff(vec![t], vec![t2]).actions.is_empty());
}

#[test]
fn id_int_to_uuid_drops_and_recreates_table() {
    let t = table("t", vec![]);
    let mut t2 = table("t", vec![]);
    t2.columns[0] = col("id").ty(ColumnType::Uuid).default("random").dart("UuidValue?");
    let m = diff(vec![t], vec![t2.clone()]);
    assert_eq!(m.actions, vec![MigrationAction::DeleteTable("t".into()), MigrationAction::CreateTable(t2)]);
    assert_eq!(warning_list(&m), vec!["columnDropped:t:id", "tableDropped:t:id"]);
}

#[test]
fn id_uuid_v4_to_v7_is_set_default() {
    let mut t = table("t", vec![]);
    t.columns[0] = col("id").ty(ColumnType::Uuid).default("random").dart("UuidValue?");
    let mut t2 = t.clone();
    t2.columns[0].column_default = Some("random_v7".into());
    let m = diff(vec![t], vec![t2]);
    let a = only_alter(&m);
    assert_eq!(a.modify_columns[0].column_name, "id");
    assert!(a.modify_columns[0].change_default);
    assert_eq!(a.modify_columns[0].new_default.as_deref(), Some("random_v7"));
    assert!(m.warnings.is_empty());
}

#[test]
fn int_column_gaining_serial_is_drop_and_add() {
    let m = diff(
        vec![table("t", vec![col("count").ty(ColumnType::Bigint).dart("int")])],
        vec![table("t", vec![col("count").ty(ColumnType::Bigint).dart("int").default("serial")])],
    );
    let a = only_alter(&m);
    assert_eq!(a.delete_columns, vec!["count"]);
    assert_eq!(a.add_columns[0].column_default.as_deref(), Some("serial"));
    assert!(a.modify_columns.is_empty());
    assert_eq!(warning_list(&m), vec!["columnDropped:t:count"]);
    assert!(m.is_destructive());
}

// ---------------------------------------------------------------- indexes

#[test]
fn add_remove_and_change_index() {
    let t = table("t", vec![col("a"), col("b")]).index(idx("t_a", &["a"])).index(idx("t_b", &["b"]));
    let t2 =
        table("t", vec![col("a"), col("b")]).index(idx("t_c", &["a", "b"])).index(idx("t_b", &["b", "a"]));
    let m = diff(vec![t], vec![t2]);
    let a = only_alter(&m);
    assert_eq!(a.delete_indexes, vec!["t_a", "t_b"]);
    assert_eq!(a.add_indexes.iter().map(|i| i.index_name.as_str()).collect::<Vec<_>>(), vec!["t_c", "t_b"]);
    assert!(m.warnings.is_empty());
}

#[test]
fn unique_index_added_warns_with_element_columns() {
    let t = table("upsert_test_model", vec![col("code"), col("category"), col("value")])
        .index(unique(idx("code_unique_idx", &["code"])))
        .index(unique(idx("category_value_unique_idx", &["category", "value"])));
    let t2 = table("upsert_test_model", vec![col("code"), col("category"), col("value")])
        .index(unique(idx("upsert_test_model__code__unique_idx", &["code"])))
        .index(unique(idx("upsert_test_model__category__value__unique_idx", &["category", "value"])));
    let m = diff(vec![t], vec![t2]);
    let a = only_alter(&m);
    assert_eq!(a.delete_indexes, vec!["code_unique_idx", "category_value_unique_idx"]);
    assert_eq!(
        m.warnings[0].message,
        "Unique index \"upsert_test_model__code__unique_idx\" is added to table \"upsert_test_model\". If there are \
         existing rows with duplicate values, this migration will fail."
    );
    assert_eq!(m.warnings[1].columns, vec!["category", "value"]);
    assert!(!m.warnings[1].destructive);
    assert_eq!(a.warnings, m.warnings);
}

#[test]
fn changed_unique_index_warns_when_recreated() {
    let t = table("t", vec![col("a")]).index(idx("t_a", &["a"]));
    let t2 = table("t", vec![col("a")]).index(unique(idx("t_a", &["a"])));
    let m = diff(vec![t], vec![t2]);
    assert_eq!(only_alter(&m).delete_indexes, vec!["t_a"]);
    assert_eq!(warning_list(&m), vec!["uniqueIndexCreated:t:a"]);
}

#[test]
fn nulls_distinct_changes() {
    let base = unique(idx("t_a", &["a"]));
    let mut not_distinct = base.clone();
    not_distinct.nulls_distinct = Some(false);
    let mut explicit = base.clone();
    explicit.nulls_distinct = Some(true);
    let t = |i: &IndexDefinition| table("t", vec![col("a").nullable()]).index(i.clone());

    let m = diff(vec![t(&base)], vec![t(&not_distinct)]);
    let a = only_alter(&m);
    assert_eq!(a.delete_indexes, vec!["t_a"]);
    assert_eq!(a.add_indexes, vec![not_distinct.clone()]);
    assert_eq!(warning_list(&m), vec!["uniqueIndexCreated:t:a"]);

    assert!(diff(vec![t(&base)], vec![t(&explicit)]).actions.is_empty());
    assert!(diff(vec![t(&explicit)], vec![t(&base)]).actions.is_empty());
}

#[test]
fn vector_index_parameters_are_compared_as_a_map() {
    let mut i = idx("t_e", &["e"]);
    i.index_type = "hnsw".into();
    i.vector_distance_function = Some(VectorDistanceFunction::Cosine);
    i.vector_column_type = Some(ColumnType::Vector);
    i.parameters = Some(vec![("m".into(), "16".into()), ("ef_construction".into(), "64".into())]);
    let mut reordered = i.clone();
    reordered.parameters = Some(vec![("ef_construction".into(), "64".into()), ("m".into(), "16".into())]);
    let mut changed = i.clone();
    changed.parameters = Some(vec![("m".into(), "32".into()), ("ef_construction".into(), "64".into())]);
    let t = |i: &IndexDefinition| table("t", vec![col("e").ty(ColumnType::Vector).dim(3)]).index(i.clone());
    assert!(diff(vec![t(&i)], vec![t(&reordered)]).actions.is_empty());
    assert_eq!(only_alter(&diff(vec![t(&i)], vec![t(&changed)])).delete_indexes, vec!["t_e"]);
}

// ---------------------------------------------------------------- foreign keys

#[test]
fn add_remove_and_change_relation_give_no_fk_warning() {
    let p = table("p", vec![]);
    let r = table("r", vec![col("pId").ty(ColumnType::Bigint).nullable()]);
    let with = r.clone().fk(fk("r_fk_0", "pId", "p"));
    let m = diff(vec![p.clone(), r.clone()], vec![p.clone(), with.clone()]);
    assert_eq!(only_alter(&m).add_foreign_keys, with.foreign_keys);
    assert!(m.warnings.is_empty());

    let m = diff(vec![p.clone(), with.clone()], vec![p.clone(), r]);
    assert_eq!(only_alter(&m).delete_foreign_keys, vec!["r_fk_0"]);
    assert!(m.warnings.is_empty());

    let mut cascade = with.clone();
    cascade.foreign_keys[0].on_delete = Some(ForeignKeyAction::Cascade);
    let m = diff(vec![p.clone(), with], vec![p, cascade.clone()]);
    let a = only_alter(&m);
    assert_eq!(a.delete_foreign_keys, vec!["r_fk_0"]);
    assert_eq!(a.add_foreign_keys, cascade.foreign_keys);
    assert!(m.warnings.is_empty());
}

#[test]
fn deferrable_toggle_replaces_the_foreign_key() {
    let p = table("p", vec![]);
    let r = table("r", vec![col("pId").ty(ColumnType::Bigint)]).fk(fk("r_fk_0", "pId", "p"));
    let mut immediate = r.clone();
    immediate.foreign_keys[0].deferrable = Some(Deferrable::InitiallyImmediate);
    let mut deferred = r.clone();
    deferred.foreign_keys[0].deferrable = Some(Deferrable::InitiallyDeferred);
    for (from, to) in [(&r, &immediate), (&immediate, &deferred), (&deferred, &r)] {
        let m = diff(vec![p.clone(), from.clone()], vec![p.clone(), to.clone()]);
        let a = only_alter(&m);
        assert_eq!(a.delete_foreign_keys, vec!["r_fk_0"]);
        assert_eq!(a.add_foreign_keys, to.foreign_keys);
    }
    assert!(diff(vec![p.clone(), deferred.clone()], vec![p, deferred]).actions.is_empty());
}

#[test]
fn fk_reference_schema_is_ignored_and_match_type_only_when_both_known() {
    let p = table("p", vec![]);
    let r = table("r", vec![col("pId").ty(ColumnType::Bigint)]).fk(fk("r_fk_0", "pId", "p"));
    let mut live = r.clone().live();
    live.foreign_keys[0].reference_table_schema = "other".into();
    live.foreign_keys[0].match_type = Some(ForeignKeyMatchType::Simple);
    assert!(diff(vec![p.clone(), live.clone()], vec![p.clone(), r.clone()]).actions.is_empty());
    let mut full = r.clone();
    full.foreign_keys[0].match_type = Some(ForeignKeyMatchType::Full);
    assert_eq!(only_alter(&diff(vec![p.clone(), live], vec![p, full])).delete_foreign_keys, vec!["r_fk_0"]);
}

// ---------------------------------------------------------------- warnings isolation

#[test]
fn alter_warnings_are_only_that_tables_and_top_level_has_all() {
    let a = table("a", vec![col("x").nullable()]);
    let b = table("b", vec![col("y").nullable()]);
    let c = table("c", vec![]);
    let gone = table("gone", vec![]);
    let a2 = table("a", vec![]);
    let b2 = table("b", vec![col("y")]);
    let c2 = table("c", vec![col("z")]); // recreated
    let m = diff(vec![a, b, c, gone], vec![a2, b2, c2]);
    assert_eq!(
        action_list(&m),
        vec!["deleteTable:gone", "alterTable:a", "alterTable:b", "deleteTable:c", "createTable:c"]
    );
    assert_eq!(
        warning_list(&m),
        vec!["tableDropped:gone:", "columnDropped:a:x", "notNullAdded:b:y", "tableDropped:c:z"]
    );
    for action in &m.actions {
        if let MigrationAction::AlterTable(t) = action {
            assert_eq!(t.warnings.len(), 1);
            assert!(t.warnings.iter().all(|w| w.table == t.name));
        }
    }
}

// ---------------------------------------------------------------- repair (live source)

#[test]
fn repair_against_live_database_compares_physical_properties_only() {
    let target =
        table("company", vec![col("name").dart("String"), col("user_name").field("userName").nullable()]);
    let mut live = target.clone().live();
    live.columns.push(col("legacyCode").no_field().nullable());
    let stray = table("old_manual_table", vec![]).live();
    let m = generate_migration(&db(vec![live, stray]), &db(vec![target]));
    assert_eq!(action_list(&m), vec!["deleteTable:old_manual_table", "alterTable:company"]);
    let MigrationAction::AlterTable(a) = &m.actions[1] else { unreachable!() };
    assert_eq!(a.delete_columns, vec!["legacyCode"]);
    assert!(a.add_columns.is_empty() && a.modify_columns.is_empty());
}

#[test]
fn repair_detects_rename_when_target_field_name_is_the_live_column_name() {
    let live = table("users", vec![col("userName").no_field()]).live();
    let target = table("users", vec![col("user_name").field("userName")]);
    let m = generate_migration(&db(vec![live]), &db(vec![target]));
    let a = only_alter(&m);
    assert_eq!(a.modify_columns[0].new_column_name.as_deref(), Some("user_name"));
    assert!(a.add_columns.is_empty() && a.delete_columns.is_empty());
}

// ---------------------------------------------------------------- robustness

#[test]
fn weird_inputs_do_not_panic() {
    let dup =
        table("t", vec![col("a"), col("a").nullable()]).index(idx("i", &["missing"])).index(idx("i", &["a"]));
    let dangling = table("u", vec![col("x").field("a"), col("y").field("a")])
        .fk(fk("u_fk_0", "x", "nowhere"))
        .fk(fk("u_fk_0", "y", "t"));
    let selfref = table("s", vec![col("sId").ty(ColumnType::Bigint)]).fk(fk("s_fk_0", "sId", "s"));
    let a = vec![dup.clone(), dup.clone(), dangling.clone(), selfref.clone()];
    let b = vec![
        table("t", vec![col("b").field("a")]),
        dangling.clone(),
        table("u", vec![col("z").field("a").nullable()]),
        selfref.clone().fk(fk("s_fk_1", "sId", "gone")),
    ];
    let m1 = diff(a.clone(), b.clone());
    let m2 = diff(b.clone(), a.clone());
    let _ = strata_diff::apply_migration(&db(a.clone()), &m1);
    let _ = strata_diff::apply_migration(&db(b.clone()), &m2);
    assert_eq!(m1, diff(a, b));
}

#[test]
fn repair_keeps_live_tables_that_are_unmanaged_in_the_target() {
    let live = table("legacy", vec![col("x")]).live();
    let target = table("legacy", vec![col("y")]).managed(Some(false));
    let m = generate_migration(&db(vec![live]), &db(vec![target]));
    assert!(m.actions.is_empty() && m.warnings.is_empty());
}

#[test]
fn many_to_many_with_renamed_referenced_table() {
    // company <- company_employee -> employee; company is renamed to firm.
    let company = table("company", vec![col("name")]);
    let employee = table("employee", vec![col("name")]);
    let join = |parent: &str| {
        table(
            "company_employee",
            vec![col("companyId").ty(ColumnType::Bigint), col("employeeId").ty(ColumnType::Bigint)],
        )
        .fk(fk("company_employee_fk_0", "companyId", parent))
        .fk(fk("company_employee_fk_1", "employeeId", "employee"))
    };
    let unrelated = table("note", vec![col("text")]);
    let source = vec![company, join("company"), employee.clone(), unrelated.clone()];
    let target = vec![join("firm"), employee.clone(), table("firm", vec![col("name")]), unrelated.clone()];
    let m = diff(source.clone(), target);
    assert_eq!(
        action_list(&m),
        vec![
            "deleteTable:company_employee",
            "deleteTable:company",
            "createTable:company_employee",
            "createTable:firm",
        ]
    );
    let out = strata_diff::apply_migration(&db(source.clone()), &m);
    assert_eq!(out.table("company_employee").unwrap().foreign_keys.len(), 2);

    // When the join table drops its reference column instead, it is only altered.
    let join_without = table("company_employee", vec![col("employeeId").ty(ColumnType::Bigint)]).fk(fk(
        "company_employee_fk_0",
        "employeeId",
        "employee",
    ));
    let m = diff(source, vec![join_without, employee, table("firm", vec![col("name")]), unrelated]);
    assert_eq!(
        action_list(&m),
        vec!["deleteTable:company", "alterTable:company_employee", "createTable:firm"]
    );
    let MigrationAction::AlterTable(a) = &m.actions[1] else { unreachable!() };
    assert_eq!(a.delete_columns, vec!["companyId"]);
    assert_eq!(a.delete_foreign_keys, vec!["company_employee_fk_1", "company_employee_fk_0"]);
    assert_eq!(a.add_foreign_keys.len(), 1);
}

/// Regression: PostgreSQL drops a column's indexes and foreign keys with the column, so a column
/// recreated by an incompatible change must get its (unchanged) index and FK recreated too.
#[test]
fn recreated_column_recreates_its_index_and_foreign_key() {
    use strata_schema::*;
    let col = |name: &str, ty: ColumnType, dart: &str| ColumnDefinition {
        name: name.into(),
        field_name: Some(name.into()),
        column_type: ty,
        is_nullable: true,
        column_default: None,
        dart_type: Some(dart.into()),
        vector_dimension: None,
        native_type: None,
        identity: None,
        identity_options: None,
        generated: None,
    };
    let id = ColumnDefinition {
        name: "id".into(),
        field_name: Some("id".into()),
        column_type: ColumnType::Bigint,
        is_nullable: false,
        column_default: Some("serial".into()),
        dart_type: Some("int?".into()),
        vector_dimension: None,
        native_type: None,
        identity: None,
        identity_options: None,
        generated: None,
    };
    let table = |c: ColumnDefinition| TableDefinition {
        name: "t".into(),
        schema: "public".into(),
        columns: vec![id.clone(), c],
        indexes: vec![IndexDefinition {
            index_name: "t_code_idx".into(),
            elements: vec![IndexElement::column("code")],
            index_type: "btree".into(),
            is_unique: true,
            ..Default::default()
        }],
        foreign_keys: vec![ForeignKeyDefinition {
            constraint_name: "t_fk_0".into(),
            columns: vec!["code".into()],
            reference_table: "t".into(),
            reference_table_schema: "public".into(),
            reference_columns: vec!["id".into()],
            on_update: Some(ForeignKeyAction::NoAction),
            on_delete: Some(ForeignKeyAction::NoAction),
            ..Default::default()
        }],
        managed: Some(true),
        ..Default::default()
    };
    let def = |t| DatabaseDefinition { tables: vec![t], ..DatabaseDefinition::empty("p") };
    let before = def(table(col("code", ColumnType::Text, "String?")));
    let after = def(table(col("code", ColumnType::Bigint, "int?")));
    let m = strata_diff::generate_migration(&before, &after);
    let MigrationAction::AlterTable(alter) = &m.actions[0] else { panic!("expected an alter: {m:?}") };
    assert_eq!(alter.delete_columns, ["code"]);
    assert_eq!(alter.delete_indexes, ["t_code_idx"]);
    assert_eq!(alter.add_indexes[0].index_name, "t_code_idx");
    assert_eq!(alter.delete_foreign_keys, ["t_fk_0"]);
    assert_eq!(alter.add_foreign_keys[0].constraint_name, "t_fk_0");
    assert!(m.warnings.iter().any(|w| w.warning_type == WarningType::UniqueIndexCreated));
}
