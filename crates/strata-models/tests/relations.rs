//! §1.5: id, object, explicit-field, implicit list and named relations; FK naming and actions.

mod common;

use common::*;
use strata_schema::{ColumnType, Deferrable, ForeignKeyAction as A, TableDefinition};

/// (constraint, columns, referenced table, onUpdate, onDelete, deferrable)
type FkRow = (String, Vec<String>, String, Option<A>, Option<A>, Option<Deferrable>);

const COMPANY: (&str, &str) =
    ("company.spy.yaml", "class: Company\ntable: company\nfields:\n  name: String\n");

fn fk_summary(t: &TableDefinition) -> Vec<FkRow> {
    t.foreign_keys
        .iter()
        .map(|f| {
            assert_eq!(f.reference_table_schema, "public");
            assert_eq!(f.reference_columns, ["id"]);
            assert_eq!(f.match_type, None);
            (
                f.constraint_name.clone(),
                f.columns.clone(),
                f.reference_table.clone(),
                f.on_update,
                f.on_delete,
                f.deferrable,
            )
        })
        .collect()
}

#[test]
fn id_relation_defaults_to_no_action() {
    let def = ok(&[
        COMPANY,
        (
            "e.spy.yaml",
            "class: Employee\ntable: employee\nfields:\n  companyId: int, relation(parent=company)\n",
        ),
    ]);
    let t = def.table("employee").unwrap();
    let c = col(t, "companyId");
    assert!(!c.is_nullable);
    assert_eq!(c.column_type, ColumnType::Bigint);
    assert_eq!(
        fk_summary(t),
        [(
            "employee_fk_0".into(),
            vec!["companyId".into()],
            "company".into(),
            Some(A::NoAction),
            Some(A::NoAction),
            None
        )]
    );
}

#[test]
fn actions_and_deferrability() {
    let def = ok(&[
        COMPANY,
        (
            "e.spy.yaml",
            "class: Employee\ntable: employee\nfields:\n  a: int?, relation(parent=company, onDelete=SetNull, onUpdate=Cascade)\n  b: int, relation(parent=company, onDelete=Restrict, deferrable)\n  c: int, relation(parent=company, onUpdate=SetDefault, deferred)\n",
        ),
    ]);
    let fks = fk_summary(def.table("employee").unwrap());
    assert_eq!(fks[0].3, Some(A::Cascade));
    assert_eq!(fks[0].4, Some(A::SetNull));
    assert_eq!(fks[1].4, Some(A::Restrict));
    assert_eq!(fks[1].5, Some(Deferrable::InitiallyImmediate));
    assert_eq!(fks[2].3, Some(A::SetDefault));
    assert_eq!(fks[2].5, Some(Deferrable::InitiallyDeferred));
    assert_eq!(
        fks.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        ["employee_fk_0", "employee_fk_1", "employee_fk_2"]
    );
}

#[test]
fn object_relation_injects_id_column_before_the_field() {
    let def = ok(&[
        COMPANY,
        (
            "e.spy.yaml",
            "class: Employee\ntable: employee\nfields:\n  name: String\n  company: Company?, relation(onDelete=Cascade)\n  age: int\n  backup: Company?, relation(optional)\n",
        ),
    ]);
    let t = def.table("employee").unwrap();
    assert_eq!(col_names(t), ["id", "name", "companyId", "age", "backupId"]);
    let c = col(t, "companyId");
    assert!(!c.is_nullable);
    assert_eq!(c.dart_type.as_deref(), Some("int"));
    assert_eq!(c.field_name.as_deref(), Some("companyId"));
    let b = col(t, "backupId");
    assert!(b.is_nullable);
    assert_eq!(b.dart_type.as_deref(), Some("int?"));
    let fks = fk_summary(t);
    assert_eq!(
        fks[0],
        (
            "employee_fk_0".into(),
            vec!["companyId".into()],
            "company".into(),
            Some(A::NoAction),
            Some(A::Cascade),
            None
        )
    );
    assert_eq!(fks[1].0, "employee_fk_1");
    assert_eq!(fks[1].1, ["backupId"]);
}

#[test]
fn object_relation_with_explicit_field() {
    // Declared field (before or after the object field) carries the FK.
    for fields in [
        "  companyRef: int\n  company: Company?, relation(field=companyRef)\n",
        "  company: Company?, relation(field=companyRef)\n  companyRef: int\n",
    ] {
        let def =
            ok(&[COMPANY, ("e.spy.yaml", &format!("class: Employee\ntable: employee\nfields:\n{fields}"))]);
        let t = def.table("employee").unwrap();
        assert_eq!(col_names(t), ["id", "companyRef"]);
        assert_eq!(t.foreign_keys[0].columns, ["companyRef"]);
    }
    // An undeclared field is created.
    let def = ok(&[COMPANY, ("e.spy.yaml", "class: Employee\ntable: employee\nfields:\n  company: Company?, relation(field=employerId, optional)\n")]);
    let t = def.table("employee").unwrap();
    assert_eq!(col_names(t), ["id", "employerId"]);
    assert!(col(t, "employerId").is_nullable);
}

#[test]
fn implicit_list_relation_puts_column_on_child() {
    let def = ok(&[
        ("b.spy.yaml", "class: Book\ntable: book\nfields:\n  chapters: List<Chapter>?, relation\n"),
        ("c.spy.yaml", "class: Chapter\ntable: chapter\nfields:\n  title: String\n"),
    ]);
    assert_eq!(col_names(def.table("book").unwrap()), ["id"]);
    let ch = def.table("chapter").unwrap();
    assert_eq!(col_names(ch), ["id", "title", "_bookChaptersBookId"]);
    let c = col(ch, "_bookChaptersBookId");
    assert!(c.is_nullable);
    assert_eq!(c.dart_type.as_deref(), Some("int?"));
    assert_eq!(c.column_type, ColumnType::Bigint);
    assert_eq!(
        fk_summary(ch),
        [(
            "chapter_fk_0".into(),
            vec!["_bookChaptersBookId".into()],
            "book".into(),
            Some(A::NoAction),
            Some(A::NoAction),
            None
        )]
    );
}

#[test]
fn implicit_list_relation_with_snake_case_table() {
    let def = ok(&[
        ("b.spy.yaml", "class: UserData\ntable: user_data\nfields:\n  items: List<Item>?, relation\n"),
        ("c.spy.yaml", "class: Item\ntable: item\nfields:\n  title: String\n"),
    ]);
    assert_eq!(col_names(def.table("item").unwrap()), ["id", "title", "_userDataItemsUserDataId"]);
}

#[test]
fn named_relations_pair_both_sides() {
    // 1:n named: FK lives on the child's object relation (implicit id field).
    let def = ok(&[
        ("c.spy.yaml", "class: Company\ntable: company\nfields:\n  employees: List<Employee>?, relation(name=company_employees)\n"),
        ("e.spy.yaml", "class: Employee\ntable: employee\nfields:\n  company: Company?, relation(name=company_employees)\n"),
    ]);
    assert_eq!(col_names(def.table("company").unwrap()), ["id"]);
    let e = def.table("employee").unwrap();
    assert_eq!(col_names(e), ["id", "companyId"]);
    assert_eq!(e.foreign_keys.len(), 1);
    // 1:n named with an id field on the child.
    let def = ok(&[
        ("c.spy.yaml", "class: Company\ntable: company\nfields:\n  employees: List<Employee>?, relation(name=ce)\n"),
        ("e.spy.yaml", "class: Employee\ntable: employee\nfields:\n  companyId: int?, relation(parent=company, name=ce)\n"),
    ]);
    assert_eq!(col_names(def.table("employee").unwrap()), ["id", "companyId"]);
    // 1:1 named: the side with field= holds the FK, the other side has no column.
    let def = ok(&[
        ("u.spy.yaml", "class: User\ntable: users\nfields:\n  address: Address?, relation(name=user_address)\n"),
        ("a.spy.yaml", "class: Address\ntable: address\nfields:\n  userId: int\n  user: User?, relation(name=user_address, field=userId)\n"),
    ]);
    assert_eq!(col_names(def.table("users").unwrap()), ["id"]);
    let a = def.table("address").unwrap();
    assert_eq!(col_names(a), ["id", "userId"]);
    assert_eq!(a.foreign_keys[0].reference_table, "users");
}

#[test]
fn fk_numbering_follows_column_order() {
    let def = ok(&[
        COMPANY,
        (
            "e.spy.yaml",
            "class: Employee\ntable: employee\nfields:\n  a: int, relation(parent=company)\n  name: String\n  company: Company?, relation\n  c: int?, relation(parent=employee)\n",
        ),
    ]);
    let t = def.table("employee").unwrap();
    let names: Vec<(&str, &str)> =
        t.foreign_keys.iter().map(|f| (f.constraint_name.as_str(), f.columns[0].as_str())).collect();
    assert_eq!(names, [("employee_fk_0", "a"), ("employee_fk_1", "companyId"), ("employee_fk_2", "c")]);
    assert_eq!(t.foreign_keys[2].reference_table, "employee");
}

#[test]
fn uuid_parent_ids_propagate() {
    let def = ok(&[
        ("p.spy.yaml", "class: P\ntable: p\nfields:\n  id: UuidValue?, defaultPersist=random\n  kids: List<K>?, relation\n"),
        ("k.spy.yaml", "class: K\ntable: k\nfields:\n  p: P?, relation\n  otherId: UuidValue, relation(parent=p)\n"),
    ]);
    let k = def.table("k").unwrap();
    assert_eq!(col(k, "pId").column_type, ColumnType::Uuid);
    assert_eq!(col(k, "pId").dart_type.as_deref(), Some("UuidValue"));
    assert_eq!(col(k, "_pKidsPId").dart_type.as_deref(), Some("UuidValue?"));
}

#[test]
fn relation_to_external_module_table() {
    let mut options = strata_models::ModelOptions::new("proj");
    options.module_aliases.insert("auth".into(), "serverpod_auth".into());
    options.external_tables.push(TableDefinition {
        name: "serverpod_user_info".into(),
        dart_name: Some("UserInfo".into()),
        ..Default::default()
    });
    let def = build_with(
        &[("u.spy.yaml", "class: U\ntable: u\nfields:\n  userInfoId: int, relation(parent=serverpod_user_info)\n  info: module:auth:UserInfo?, relation(optional)\n")],
        &options,
    )
    .unwrap();
    let t = &def.tables[0];
    assert_eq!(def.tables.len(), 1, "external tables are never emitted");
    assert_eq!(col_names(t), ["id", "userInfoId", "infoId"]);
    assert!(t.foreign_keys.iter().all(|f| f.reference_table == "serverpod_user_info"));
}

#[test]
fn relation_errors() {
    let d = errs(&[
        COMPANY,
        (
            "e.spy.yaml",
            "class: Employee\ntable: employee\nfields:\n  a: int, relation(parent=nope)\n  b: String, relation(parent=company)\n  c: int, relation(parent=company, deferrable, deferred)\n  d: int, relation(parent=company, onDelete=Explode)\n  e: int, relation(parent=company, colour=red)\n  f: int, relation(parent=company, field=x)\n  g: NoTable?, relation\n  h: int, relation\n  i: UuidValue, relation(parent=company)\n",
        ),
        ("n.spy.yaml", "class: NoTable\nfields:\n  x: int\n"),
    ]);
    assert_err(
        &d,
        4,
        20,
        "relation parent table \"nope\" of field \"a\" does not exist; known tables are company, employee",
    );
    assert_err(&d, 5, 23, "relation(parent=...) needs an id field of type int or UuidValue");
    assert_err(&d, 6, 48, "\"deferred\" and \"deferrable\" are mutually exclusive");
    assert_err(&d, 7, 36, "\"Explode\" is not a referential action for onDelete");
    assert_err(&d, 8, 36, "unknown relation key \"colour\"");
    assert_err(&d, 9, 36, "field= is only valid on object relations");
    assert_err(&d, 10, 6, "points to class \"NoTable\" which has no table");
    assert_err(&d, 11, 11, "relation on field \"h\" of type int is not valid");
    assert_err(&d, 12, 6, "field \"i\" is UuidValue but the id of table \"company\" is int");
    assert_eq!(d.len(), 9, "{d:?}");
}

#[test]
fn named_relation_without_partner_is_an_error() {
    let d = errs(&[
        (
            "c.spy.yaml",
            "class: Company\ntable: company\nfields:\n  employees: List<Employee>?, relation(name=missing)\n",
        ),
        ("e.spy.yaml", "class: Employee\ntable: employee\nfields:\n  name: String\n"),
    ]);
    assert_err(&d, 4, 40, "no field in class \"Employee\" has relation(name=missing)");
}

#[test]
fn implicit_id_field_clash_is_explained() {
    let d = errs(&[
        COMPANY,
        (
            "e.spy.yaml",
            "class: Employee\ntable: employee\nfields:\n  companyId: int\n  company: Company?, relation\n",
        ),
    ]);
    assert_err(&d, 5, 22, "write relation(field=companyId) to use it");
}

#[test]
fn map_form_relation_and_unique() {
    let def = ok(&[
        COMPANY,
        (
            "e.spy.yaml",
            "class: Employee\ntable: employee\nfields:\n  ownerId: int\n  companyId:\n    type: int?\n    relation:\n      parent: company\n      onDelete: SetNull\n      deferred: true\n  boss:\n    type: Company?\n    relation:\n      optional: true\n  code:\n    type: String\n    unique:\n      per: ownerId\n",
        ),
    ]);
    let t = def.table("employee").unwrap();
    assert_eq!(col_names(t), ["id", "ownerId", "companyId", "bossId", "code"]);
    assert!(col(t, "companyId").is_nullable);
    assert!(col(t, "bossId").is_nullable);
    let fks = fk_summary(t);
    assert_eq!(
        fks[0],
        (
            "employee_fk_0".into(),
            vec!["companyId".into()],
            "company".into(),
            Some(A::NoAction),
            Some(A::SetNull),
            Some(Deferrable::InitiallyDeferred)
        )
    );
    assert_eq!(fks[1].1, ["bossId"]);
    assert_eq!(t.indexes[0].index_name, "employee__ownerId__code__unique_idx");
}

#[test]
fn long_implicit_list_column_names_are_truncated() {
    let table = "long_table_name_that_is_quite_long_indeed";
    let def = ok(&[
        ("b.spy.yaml", &format!("class: Owner\ntable: {table}\nfields:\n  items: List<Item>?, relation\n")),
        ("c.spy.yaml", "class: Item\ntable: item\nfields:\n  title: String\n"),
    ]);
    let item = def.table("item").unwrap();
    let full = "_longTableNameThatIsQuiteLongIndeedItemsLongTableNameThatIsQuiteLongIndeed";
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(full.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let expected = format!("{}{}Id", &full[..57], &hex[..4]);
    assert_eq!(col_names(item), ["id", "title", expected.as_str()]);
    assert_eq!(item.foreign_keys[0].columns, [expected]);
}

#[test]
fn fk_numbering_uses_own_declaration_order_and_skips_inherited_fields() {
    // Serverpod numbers constraints over the table class's own fields in declaration order
    // (tail fields included where declared); inherited relation fields get no constraint.
    let def = ok(&[
        COMPANY,
        ("b.spy.yaml", "class: Base\nfields:\n  inheritedId: int, relation(parent=company)\n"),
        (
            "e.spy.yaml",
            "class: Employee\nextends: Base\ntable: employee\nfields:\n  first: int, relation(parent=company), tail\n  second: int, relation(parent=company)\n",
        ),
    ]);
    let t = def.table("employee").unwrap();
    assert_eq!(col_names(t), ["id", "inheritedId", "second", "first"]);
    let fks: Vec<(&str, &str)> =
        t.foreign_keys.iter().map(|f| (f.constraint_name.as_str(), f.columns[0].as_str())).collect();
    assert_eq!(fks, [("employee_fk_0", "first"), ("employee_fk_1", "second")]);
}
