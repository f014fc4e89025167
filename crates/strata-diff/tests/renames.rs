//! Rename candidates, rename plans, and the migrations they give: no drop + add remains,
//! indexes and foreign keys are kept, chains and swaps are ordered, and applying the migration
//! in memory reaches the target.

mod common;

use common::*;
use strata_diff::{
    apply_migration, generate_migration, generate_migration_with_renames, rename_candidates, Rename,
    RenameError, RenamePlan,
};
use strata_schema::*;

fn table(name: &str, columns: Vec<ColumnDefinition>) -> TableDefinition {
    TableDefinition {
        name: name.into(),
        dart_name: None,
        module: None,
        schema: "public".into(),
        table_space: None,
        columns,
        foreign_keys: Vec::new(),
        indexes: Vec::new(),
        managed: Some(true),
        keys: Default::default(),
        partition_of: None,
        layout: Default::default(),
    }
}

fn def(tables: Vec<TableDefinition>) -> DatabaseDefinition {
    let mut d = DatabaseDefinition::empty("shop");
    d.tables = tables;
    d
}

fn unique_index(name: &str, column: &str) -> IndexDefinition {
    IndexDefinition {
        index_name: name.into(),
        elements: vec![IndexElement::column(column)],
        index_type: "btree".into(),
        is_unique: true,
        ..Default::default()
    }
}

fn fk(name: &str, column: &str, to_table: &str, to_column: &str) -> ForeignKeyDefinition {
    ForeignKeyDefinition {
        constraint_name: name.into(),
        columns: vec![column.into()],
        reference_table: to_table.into(),
        reference_table_schema: "public".into(),
        reference_columns: vec![to_column.into()],
        ..Default::default()
    }
}

fn table_rename(from: &str, to: &str) -> Rename {
    Rename::Table { from: from.into(), to: to.into() }
}

fn column_rename(table: &str, from: &str, to: &str) -> Rename {
    Rename::Column { table: table.into(), from: from.into(), to: to.into() }
}

fn plan(renames: Vec<Rename>) -> RenamePlan {
    RenamePlan { renames }
}

/// The migration with the plan, checked to reach the target in memory with nothing dropped.
fn migrate(
    source: &DatabaseDefinition,
    target: &DatabaseDefinition,
    renames: Vec<Rename>,
) -> DatabaseMigration {
    let m = generate_migration_with_renames(source, target, &plan(renames)).unwrap();
    let applied = apply_migration(source, &m);
    // Field names are model metadata, not database state: compare what the database holds.
    let physical = |d: &DatabaseDefinition| {
        let mut d = d.clone();
        d.tables.iter_mut().flat_map(|t| t.columns.iter_mut()).for_each(|c| c.field_name = None);
        d
    };
    assert!(
        generate_migration(&physical(&applied), &physical(target)).is_empty(),
        "does not reach the target: {m:#?}"
    );
    assert!(!m.is_destructive(), "a rename lost data: {:#?}", m.warnings);
    for a in &m.actions {
        assert!(!matches!(a, MigrationAction::DeleteTable(_)), "{m:#?}");
        if let MigrationAction::AlterTable(t) = a {
            assert!(t.delete_columns.is_empty() && t.add_columns.is_empty(), "{m:#?}");
        }
    }
    m
}

fn alters(m: &DatabaseMigration) -> Vec<&TableMigration> {
    m.actions
        .iter()
        .filter_map(|a| match a {
            MigrationAction::AlterTable(t) => Some(t),
            _ => None,
        })
        .collect()
}

#[test]
fn a_table_of_the_same_shape_is_a_candidate_and_never_silently_dropped() {
    let a = def(vec![table("post", vec![id(), col("title")])]);
    let b = def(vec![table("article", vec![id(), col("title")])]);
    let c = rename_candidates(&a, &b, &RenamePlan::default());
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].rename, table_rename("post", "article"));
    assert!(!c[0].ambiguous);
    assert_eq!(c[0].rename.flag(), "post=article");
    // Once chosen, it is no longer a candidate.
    assert!(rename_candidates(&a, &b, &plan(vec![table_rename("post", "article")])).is_empty());
}

#[test]
fn a_column_of_the_same_shape_is_a_candidate() {
    let a = def(vec![table("post", vec![id(), col("title")])]);
    let b = def(vec![table("post", vec![id(), col("heading")])]);
    let c = rename_candidates(&a, &b, &RenamePlan::default());
    assert_eq!(
        c.iter().map(|c| c.rename.clone()).collect::<Vec<_>>(),
        vec![column_rename("post", "title", "heading")]
    );
    assert_eq!(c[0].rename.to_string(), "column post.title to post.heading");
    assert_eq!(c[0].rename.flag(), "post.title=post.heading");
}

#[test]
fn different_shapes_are_not_candidates() {
    let a = def(vec![table("post", vec![id(), col("title")])]);
    let b = def(vec![table("post", vec![id(), col("heading").nullable()])]);
    assert!(rename_candidates(&a, &b, &RenamePlan::default()).is_empty());
    let b = def(vec![table("post", vec![id(), col("views").ty(ColumnType::Bigint)])]);
    assert!(rename_candidates(&a, &b, &RenamePlan::default()).is_empty());
}

#[test]
fn two_matches_are_reported_as_ambiguous_not_guessed() {
    let a = def(vec![table("post", vec![id(), col("title")])]);
    let b = def(vec![table("post", vec![id(), col("heading"), col("subtitle")])]);
    let c = rename_candidates(&a, &b, &RenamePlan::default());
    assert_eq!(c.len(), 2);
    assert!(c.iter().all(|c| c.ambiguous));
}

#[test]
fn serverpod_column_renames_are_not_candidates() {
    // `column=` changed: Serverpod's field-name detection already renames it.
    let a = def(vec![table("post", vec![id(), col("title")])]);
    let b = def(vec![table("post", vec![id(), col("heading").field("title")])]);
    assert!(rename_candidates(&a, &b, &RenamePlan::default()).is_empty());
}

#[test]
fn a_table_rename_is_a_rename_action_and_keeps_everything() {
    let mut post = table("post", vec![id(), col("title")]);
    post.indexes.push(unique_index("post_title_idx", "title"));
    let mut comment = table("comment", vec![id(), col("postId").ty(ColumnType::Bigint)]);
    comment.foreign_keys.push(fk("comment_fk_0", "postId", "post", "id"));
    let a = def(vec![comment.clone(), post.clone()]);
    let mut article = post.clone();
    article.name = "article".into();
    comment.foreign_keys[0].reference_table = "article".into();
    let b = def(vec![article, comment]);
    let m = migrate(&a, &b, vec![table_rename("post", "article")]);
    let alters = alters(&m);
    assert_eq!(alters.len(), 1, "{m:#?}");
    assert_eq!((alters[0].name.as_str(), alters[0].new_name.as_deref()), ("post", Some("article")));
    assert!(alters[0].is_rename_only());
    assert!(m.warnings.is_empty(), "{:#?}", m.warnings);
}

#[test]
fn a_column_rename_keeps_its_unique_index_and_both_foreign_key_directions() {
    let mut user = table("user", vec![id(), col("email"), col("code")]);
    user.indexes.push(unique_index("user_code_idx", "code"));
    let mut order = table("order", vec![id(), col("userCode")]);
    order.foreign_keys.push(fk("order_fk_0", "userCode", "user", "code"));
    let a = def(vec![order.clone(), user.clone()]);

    let mut user2 = table("user", vec![id(), col("email"), col("ref")]);
    user2.indexes.push(unique_index("user_code_idx", "ref"));
    let mut order2 = table("order", vec![id(), col("customerRef")]);
    order2.foreign_keys.push(fk("order_fk_0", "customerRef", "user", "ref"));
    let b = def(vec![order2, user2]);

    let m = migrate(
        &a,
        &b,
        vec![column_rename("user", "code", "ref"), column_rename("order", "userCode", "customerRef")],
    );
    for t in alters(&m) {
        assert!(t.add_indexes.is_empty() && t.delete_indexes.is_empty(), "{m:#?}");
        assert!(t.add_foreign_keys.is_empty() && t.delete_foreign_keys.is_empty(), "{m:#?}");
        assert_eq!(t.modify_columns.len(), 1);
    }
    assert!(m.warnings.is_empty(), "no uniqueIndexCreated for a kept index: {:#?}", m.warnings);
}

#[test]
fn column_renamed_through_column_option_gives_no_false_unique_index_warning() {
    // Field `code` keeps its name; `column=` moves it from column `code` to `ref`.
    let mut a_table = table("user", vec![id(), col("code")]);
    a_table.indexes.push(unique_index("user_code_idx", "code"));
    let mut b_table = table("user", vec![id(), col("ref").field("code")]);
    b_table.indexes.push(unique_index("user_code_idx", "ref"));
    let (a, b) = (def(vec![a_table]), def(vec![b_table]));
    let m = generate_migration(&a, &b);
    assert!(m.warnings.is_empty(), "{:#?}", m.warnings);
    let t = alters(&m)[0];
    assert!(t.add_indexes.is_empty() && t.delete_indexes.is_empty(), "{m:#?}");
    assert_eq!(t.modify_columns[0].new_column_name.as_deref(), Some("ref"));
    assert!(generate_migration(&apply_migration(&a, &m), &b).is_empty());
}

#[test]
fn chained_and_swapped_tables_go_through_free_names() {
    let t = |name: &str, c: &str| table(name, vec![id(), col(c)]);
    // a -> b -> c
    let a = def(vec![t("a", "x"), t("b", "y")]);
    let b = def(vec![t("b", "x"), t("c", "y")]);
    let m = migrate(&a, &b, vec![table_rename("a", "b"), table_rename("b", "c")]);
    let steps: Vec<_> = alters(&m).iter().map(|t| (t.name.clone(), t.new_name.clone().unwrap())).collect();
    assert_eq!(steps, vec![("b".into(), "c".into()), ("a".into(), "b".into())]);
    // a <-> b
    let a = def(vec![t("a", "x"), t("b", "y")]);
    let b = def(vec![t("a", "y"), t("b", "x")]);
    let m = migrate(&a, &b, vec![table_rename("a", "b"), table_rename("b", "a")]);
    let steps: Vec<_> = alters(&m).iter().map(|t| (t.name.clone(), t.new_name.clone().unwrap())).collect();
    assert_eq!(
        steps,
        vec![
            ("a".into(), "_strata_tmp_0".into()),
            ("b".into(), "a".into()),
            ("_strata_tmp_0".into(), "b".into())
        ]
    );
}

#[test]
fn swapped_columns_are_one_alter_with_both_renames() {
    let a = def(vec![table("p", vec![id(), col("x"), col("y").nullable()])]);
    let b = def(vec![table("p", vec![id(), col("y"), col("x").nullable()])]);
    let m = migrate(&a, &b, vec![column_rename("p", "x", "y"), column_rename("p", "y", "x")]);
    let renames: Vec<_> = alters(&m)[0]
        .modify_columns
        .iter()
        .map(|c| (c.column_name.clone(), c.new_column_name.clone()))
        .collect();
    assert_eq!(renames, vec![("x".into(), Some("y".into())), ("y".into(), Some("x".into()))]);
}

#[test]
fn rename_steps_order_chains_and_break_cycles() {
    let pairs =
        |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
    let none = |_: &str| false;
    assert_eq!(rename_steps(&pairs(&[("a", "b"), ("b", "c")]), &none), pairs(&[("b", "c"), ("a", "b")]));
    assert_eq!(
        rename_steps(&pairs(&[("a", "b"), ("b", "c"), ("c", "a")]), &|n| n == "_strata_tmp_0"),
        pairs(&[("a", "_strata_tmp_1"), ("c", "a"), ("b", "c"), ("_strata_tmp_1", "b")])
    );
    assert_eq!(rename_steps(&pairs(&[("a", "a")]), &none), pairs(&[]));
}

#[test]
fn rename_plus_castable_change_is_one_rename_with_the_change() {
    let a = def(vec![table("p", vec![id(), col("meta").ty(ColumnType::Json).nullable()])]);
    let b = def(vec![table("p", vec![id(), col("data").ty(ColumnType::Jsonb)])]);
    let m = generate_migration_with_renames(&a, &b, &plan(vec![column_rename("p", "meta", "data")])).unwrap();
    let c = &alters(&m)[0].modify_columns[0];
    assert_eq!((c.column_name.as_str(), c.new_column_name.as_deref()), ("meta", Some("data")));
    assert_eq!(c.new_type, Some(ColumnType::Jsonb));
    assert!(c.remove_nullable);
    assert!(generate_migration(&apply_migration(&a, &m), &b).is_empty());
}

#[test]
fn rename_plus_impossible_type_change_is_refused() {
    let a = def(vec![table("p", vec![id(), col("count").dart("String")])]);
    let b = def(vec![table("p", vec![id(), col("total").ty(ColumnType::Bigint).dart("int")])]);
    let e = generate_migration_with_renames(&a, &b, &plan(vec![column_rename("p", "count", "total")]))
        .unwrap_err();
    assert!(matches!(e, RenameError::Incompatible { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("p.count=p.total") && text.contains("from String to int"), "{text}");
}

#[test]
fn a_rename_that_matches_nothing_is_an_error_naming_it() {
    let a = def(vec![table("post", vec![id(), col("title")])]);
    let b = def(vec![table("post", vec![id(), col("heading")])]);
    let err = |r: Rename| generate_migration_with_renames(&a, &b, &plan(vec![r])).unwrap_err().to_string();
    assert!(err(table_rename("nope", "post"))
        .contains("--rename nope=post: table nope does not exist in the previous migration"));
    assert!(err(table_rename("post", "nope")).contains("table nope does not exist in the models"));
    assert!(err(column_rename("post", "nope", "heading"))
        .contains("column post.nope does not exist in the previous migration"));
    assert!(
        err(column_rename("post", "title", "nope")).contains("column post.nope does not exist in the models")
    );
    assert!(err(column_rename("post", "id", "heading")).contains("column post.id still exists in the models"));
    let twice = generate_migration_with_renames(
        &a,
        &b,
        &plan(vec![column_rename("post", "title", "heading"), column_rename("post", "title", "heading")]),
    )
    .unwrap_err();
    assert!(matches!(twice, RenameError::Twice { .. }), "{twice:?}");
}

#[test]
fn rename_arguments_parse_or_say_what_is_expected() {
    assert_eq!(Rename::parse("a=b").unwrap(), table_rename("a", "b"));
    assert_eq!(Rename::parse("t.a=t.b").unwrap(), column_rename("t", "a", "b"));
    for bad in ["ab", "=b", "t.a=u.b", "t.a=b", ".a=.b", "t.a.b=t.c"] {
        let e = Rename::parse(bad).unwrap_err();
        assert!(matches!(e, RenameError::Syntax { .. }), "{bad}: {e:?}");
        assert!(e.to_string().starts_with(&format!("--rename {bad}: ")), "{e}");
    }
}

#[test]
fn without_renames_the_output_is_exactly_serverpods() {
    let a = def(vec![table("post", vec![id(), col("title")])]);
    let b = def(vec![table("post", vec![id(), col("heading")])]);
    assert_eq!(
        generate_migration_with_renames(&a, &b, &RenamePlan::default()).unwrap(),
        generate_migration(&a, &b)
    );
}

#[test]
fn table_rename_round_trips_through_migration_json() {
    let a = def(vec![table("post", vec![id(), col("title")])]);
    let b = def(vec![table("article", vec![id(), col("title")])]);
    let m = migrate(&a, &b, vec![table_rename("post", "article")]);
    let text = migration_to_json(&m);
    assert!(text.contains("\"name\": \"post\",\n        \"newName\": \"article\""), "{text}");
    assert_eq!(migration_from_json(&text).unwrap(), m);
}
