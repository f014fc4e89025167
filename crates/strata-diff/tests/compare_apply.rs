//! The comparison predicates, the difference report, and the migration simulation.

mod common;

use common::*;
use strata_diff::compare::*;
use strata_diff::{apply_migration, generate_migration};
use strata_schema::*;

// ---------------------------------------------------------------- predicates

/// One edit of an object, each of which must break `like`.
type Mutation<T> = Box<dyn Fn(&mut T)>;

#[test]
fn column_like_rules() {
    let c = col("c").ty(ColumnType::Integer).dart("int");
    assert!(column_like(&c, &c.clone().ty(ColumnType::Bigint)));
    assert!(column_like(&c, &c.clone().dart("String").field("other")));
    assert!(!column_like(&c, &c.clone().named("d")));
    assert!(!column_like(&c, &c.clone().nullable()));
    assert!(!column_like(&c, &c.clone().default("1")));
    assert!(!column_like(&c, &c.clone().ty(ColumnType::Text)));
    assert!(!column_like(&c, &c.clone().dim(3)));
}

#[test]
fn can_migrate_to_rules() {
    let c = col("c").dart("String");
    assert!(can_migrate_to(&c, &c.clone().named("other").nullable().default("'x'")));
    assert!(can_migrate_to(&c, &c.clone().dart("String?")));
    assert!(!can_migrate_to(&c, &c.clone().dart("Uri?")));
    let mut live = c.clone();
    live.dart_type = None;
    assert!(can_migrate_to(&live, &c.clone().dart("Uri")), "unknown Dart type on one side is not compared");
    let i = col("i").ty(ColumnType::Integer);
    assert!(!can_migrate_to(&i, &i.clone().ty(ColumnType::Bigint)), "integer ≠ bigint here");
    assert!(!can_migrate_to(&i, &i.clone().default("serial")));
    assert!(can_migrate_to(&i.clone().default("serial"), &i.clone().default("serial").nullable()));
    let j = col("j").ty(ColumnType::Json);
    assert!(can_migrate_to(&j, &j.clone().ty(ColumnType::Jsonb)));
    assert!(can_migrate_to(&j.clone().ty(ColumnType::Jsonb), &j));
    assert!(!can_migrate_to(&j, &j.clone().ty(ColumnType::Text)));
    let v = col("v").ty(ColumnType::Vector).dim(3);
    assert!(!can_migrate_to(&v, &v.clone().dim(4)));
    assert!(!can_be_created_in_table_migration(&col("x")));
    assert!(can_be_created_in_table_migration(&col("x").nullable()));
    assert!(can_be_created_in_table_migration(&col("x").default("'a'")));
    assert!(!can_be_created_in_table_migration(&id()));
}

#[test]
fn index_like_rules() {
    let i = idx("Some_Idx", &["a"]);
    assert!(index_like(&i, &i.clone()));
    let mut lower = i.clone();
    lower.index_name = "some_idx".into();
    assert!(index_like(&i, &lower), "names compare without case");
    let mut nd = i.clone();
    nd.nulls_distinct = Some(true);
    assert!(index_like(&i, &nd));
    nd.nulls_distinct = Some(false);
    assert!(!index_like(&i, &nd));
    let variants: Vec<Mutation<IndexDefinition>> = vec![
        Box::new(|x| x.index_type = "hash".into()),
        Box::new(|x| x.is_unique = true),
        Box::new(|x| x.is_primary = true),
        Box::new(|x| x.predicate = Some("a > 0".into())),
        Box::new(|x| x.table_space = Some("fast".into())),
        Box::new(|x| x.gin_operator_class = Some(GinOperatorClass::JsonbPathOps)),
        Box::new(|x| x.vector_distance_function = Some(VectorDistanceFunction::L2)),
        Box::new(|x| x.vector_column_type = Some(ColumnType::Halfvec)),
        Box::new(|x| x.parameters = Some(vec![("lists".into(), "100".into())])),
        Box::new(|x| x.elements.push(IndexElement::column("b"))),
        Box::new(|x| x.elements[0].element_type = IndexElementType::Expression),
        Box::new(|x| x.index_name = "other".into()),
    ];
    for v in variants {
        let mut other = i.clone();
        v(&mut other);
        assert!(!index_like(&i, &other), "{other:?}");
    }
    let mut empty_params = i.clone();
    empty_params.parameters = Some(vec![]);
    assert!(index_like(&i, &empty_params), "absent and empty parameters are the same map");
}

#[test]
fn foreign_key_like_rules() {
    let f = fk("r_fk_0", "pId", "p");
    let mut other_schema = f.clone();
    other_schema.reference_table_schema = "elsewhere".into();
    assert!(foreign_key_like(&f, &other_schema));
    let mut simple = f.clone();
    simple.match_type = Some(ForeignKeyMatchType::Simple);
    assert!(foreign_key_like(&f, &simple));
    let mut full = f.clone();
    full.match_type = Some(ForeignKeyMatchType::Full);
    assert!(!foreign_key_like(&simple, &full));
    let variants: Vec<Mutation<ForeignKeyDefinition>> = vec![
        Box::new(|x| x.constraint_name = "r_fk_1".into()),
        Box::new(|x| x.columns = vec!["qId".into()]),
        Box::new(|x| x.reference_table = "q".into()),
        Box::new(|x| x.reference_columns = vec!["uuid".into()]),
        Box::new(|x| x.on_update = Some(ForeignKeyAction::Cascade)),
        Box::new(|x| x.on_delete = Some(ForeignKeyAction::SetNull)),
        Box::new(|x| x.deferrable = Some(Deferrable::InitiallyDeferred)),
    ];
    for v in variants {
        let mut other = f.clone();
        v(&mut other);
        assert!(!foreign_key_like(&f, &other), "{other:?}");
    }
}

// ---------------------------------------------------------------- report

#[test]
fn table_report_is_readable_and_ordered() {
    let expected =
        table("t", vec![col("x").dart("String"), col("gone").nullable(), col("i").ty(ColumnType::Integer)])
            .index(idx("t_x", &["x"]))
            .index(idx("t_old", &["x"]))
            .fk(fk("t_fk_0", "i", "p"));
    let mut actual = table(
        "t",
        vec![
            col("x").ty(ColumnType::Bigint).nullable().default("0"),
            col("i").ty(ColumnType::Bigint),
            col("extra"),
        ],
    )
    .index(unique(idx("t_x", &["x", "i"])))
    .index(idx("T_NEW", &["x"]))
    .fk(fk("t_fk_0", "i", "q"));
    actual.foreign_keys[0].on_delete = Some(ForeignKeyAction::Cascade);
    actual.managed = None;
    let report: Vec<String> = diff_tables(&expected, &actual).iter().map(ToString::to_string).collect();
    assert_eq!(
        report,
        vec![
            "column \"x\": type text → bigint, not null → nullable, default none → 0",
            "column \"gone\" removed",
            "column \"extra\" added",
            "index \"t_x\": unique false → true, elements (x) → (x, i)",
            "index \"t_old\" removed",
            "index \"T_NEW\" added",
            "foreign key \"t_fk_0\": references p → q, on delete NO ACTION → CASCADE",
        ]
    );
    assert!(diff_tables(&expected, &expected).is_empty());
}

#[test]
fn report_matches_names_without_case_and_lists_table_properties() {
    let a = table("t", vec![]).index(idx("t_idx", &["id"])).fk(fk("t_fk", "id", "p"));
    let mut b = table("t", vec![]).index(idx("T_IDX", &["id"])).fk(fk("T_FK", "id", "p"));
    b.managed = Some(false);
    b.table_space = Some("fast".into());
    let report: Vec<String> = diff_tables(&a, &b).iter().map(ToString::to_string).collect();
    assert_eq!(report, vec!["table \"t\": tablespace none → fast, managed true → false"]);
}

#[test]
fn definition_report_lists_missing_and_extra_tables() {
    let a = db(vec![table("a", vec![]), table("b", vec![col("c")])]);
    let b = db(vec![table("b", vec![col("c").nullable()]), table("z", vec![])]);
    let report: Vec<String> = diff_definitions(&a, &b).iter().map(ToString::to_string).collect();
    assert_eq!(report, vec!["table \"a\" removed", "column \"c\": not null → nullable", "table \"z\" added"]);
    let d = &diff_definitions(&a, &b)[1];
    assert_eq!((d.table.as_str(), d.kind, d.name.as_str()), ("b", ObjectKind::Column, "c"));
}

#[test]
fn report_entries_exist_exactly_when_predicates_fail() {
    let c = col("c");
    for other in
        [c.clone().ty(ColumnType::Integer), c.clone().nullable(), c.clone().default("'a'"), c.clone().dim(2)]
    {
        assert!(!column_like(&c, &other));
        assert!(!column_changes(&c, &other).is_empty());
    }
    assert!(column_changes(&c.clone().ty(ColumnType::Integer), &c.clone().ty(ColumnType::Bigint)).is_empty());
}

// ---------------------------------------------------------------- apply

/// Tables in name order: a recreated table ends up last, which is not a difference.
fn by_name(d: DatabaseDefinition) -> Vec<TableDefinition> {
    let mut t = d.tables;
    t.sort_by(|a, b| a.name.cmp(&b.name));
    t
}

#[test]
fn apply_creates_tables_with_their_foreign_keys() {
    let p = table("p", vec![]);
    let r = table("r", vec![col("pId").ty(ColumnType::Bigint)]).fk(fk("r_fk_0", "pId", "p"));
    let target = db(vec![p, r]);
    let m = generate_migration(&db(vec![]), &target);
    assert_eq!(by_name(apply_migration(&db(vec![]), &m)), by_name(target));
}

#[test]
fn apply_drop_table_cascade_removes_inbound_foreign_keys() {
    let p = table("p", vec![]);
    let r = table("r", vec![col("pId").ty(ColumnType::Bigint)]).fk(fk("r_fk_0", "pId", "p"));
    let mut m = DatabaseMigration::new();
    m.actions.push(MigrationAction::DeleteTable("p".into()));
    let out = apply_migration(&db(vec![p, r]), &m);
    assert_eq!(out.tables.len(), 1);
    assert!(out.tables[0].foreign_keys.is_empty());
}

#[test]
fn apply_restores_inbound_keys_of_a_recreated_table() {
    let p = table("p", vec![]);
    let r = table("r", vec![col("pId").ty(ColumnType::Bigint)]).fk(fk("r_fk_0", "pId", "p"));
    let p2 = table("p", vec![col("name")]); // NOT NULL without default: recreated
    let source = db(vec![p, r.clone()]);
    let target = db(vec![p2, r.clone()]);
    let m = generate_migration(&source, &target);
    assert_eq!(action_list(&m), vec!["deleteTable:p", "createTable:p"]);
    assert_eq!(by_name(apply_migration(&source, &m)), by_name(target.clone()));

    // With a changed delete action, the alter's new key is used, not the old one.
    let mut r3 = r.clone();
    r3.foreign_keys[0].on_delete = Some(ForeignKeyAction::Cascade);
    let target = db(vec![table("p", vec![col("name")]), r3]);
    let m = generate_migration(&source, &target);
    assert_eq!(by_name(apply_migration(&source, &m)), by_name(target.clone()));

    // Unmanaged referencing tables are not restored.
    let source = db(vec![table("p", vec![]), r.clone().managed(Some(false))]);
    let target = db(vec![table("p", vec![col("name")]), r.clone().managed(Some(false))]);
    let out = apply_migration(&source, &generate_migration(&source, &target));
    assert!(out.table("r").unwrap().foreign_keys.is_empty());
}

#[test]
fn apply_does_not_restore_keys_of_a_table_that_is_only_dropped() {
    let p = table("p", vec![]);
    let r = table("r", vec![col("pId").ty(ColumnType::Bigint)]).fk(fk("r_fk_0", "pId", "p"));
    let r2 = table("r", vec![col("pId").ty(ColumnType::Bigint)]);
    let source = db(vec![p, r]);
    let target = db(vec![r2]);
    let m = generate_migration(&source, &target);
    assert_eq!(by_name(apply_migration(&source, &m)), by_name(target.clone()));
}

#[test]
fn apply_create_if_not_exists_keeps_the_existing_table() {
    let existing = table("t", vec![col("a")]).managed(Some(false));
    let wanted = table("t", vec![col("a"), col("b").nullable()]).index(idx("t_a", &["a"]));
    let out = apply_migration(&db(vec![existing]), &generate_migration(&db(vec![]), &db(vec![])));
    assert_eq!(out.tables[0].columns.len(), 2);
    let m = {
        let mut m = DatabaseMigration::new();
        m.actions.push(MigrationAction::CreateTableIfNotExists(wanted.clone()));
        m
    };
    let out = apply_migration(&db(vec![table("t", vec![col("a")])]), &m);
    let t = out.table("t").unwrap();
    assert_eq!(t.columns.len(), 2, "columns are untouched by IF NOT EXISTS");
    assert_eq!(t.indexes, wanted.indexes, "missing indexes are created");
}

#[test]
fn apply_alter_applies_renames_modifies_and_indexes() {
    let source = table("t", vec![col("a").field("f"), col("b").nullable(), col("j").ty(ColumnType::Json)]);
    let target = table(
        "t",
        vec![
            col("a2").field("f").nullable().default("'x'"),
            col("b"),
            col("j").ty(ColumnType::Jsonb),
            col("n").nullable(),
        ],
    )
    .index(idx("t_n", &["n"]));
    let m = generate_migration(&db(vec![source.clone()]), &db(vec![target.clone()]));
    let out = apply_migration(&db(vec![source]), &m);
    assert_eq!(out.tables, vec![target]);
}

#[test]
fn apply_renames_resolve_chains_and_swaps_against_old_names() {
    let source = table("t", vec![col("a").field("f1"), col("b").field("f2")]);
    let swap = table("t", vec![col("b").field("f1"), col("a").field("f2")]);
    let m = generate_migration(&db(vec![source.clone()]), &db(vec![swap.clone()]));
    let out = apply_migration(&db(vec![source.clone()]), &m);
    let names: Vec<_> =
        out.tables[0].columns.iter().map(|c| (c.name.as_str(), c.field_name.as_deref())).collect();
    assert_eq!(names, vec![("id", Some("id")), ("b", Some("f1")), ("a", Some("f2"))]);
}
