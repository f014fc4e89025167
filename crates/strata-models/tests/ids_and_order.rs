//! §1.8 id variants and §1.10 column order (inheritance, tail fields), §1.2 hierarchy rules.

mod common;

use common::*;
use strata_schema::ColumnType;

fn id_of(fields: &str) -> strata_schema::ColumnDefinition {
    let t = one(&format!("class: A\ntable: a\nfields:\n{fields}  name: String\n"));
    assert_eq!(t.columns[0].name, "id", "id is always first");
    t.columns[0].clone()
}

#[test]
fn id_variants() {
    for fields in ["", "  id: int?\n", "  id: int?, defaultPersist=serial\n"] {
        let id = id_of(fields);
        assert_eq!(
            (id.column_type, id.is_nullable, id.column_default.as_deref(), id.dart_type.as_deref()),
            (ColumnType::Bigint, false, Some("serial"), Some("int?")),
            "{fields}"
        );
    }
    let id = id_of("  id: UuidValue?, defaultPersist=random\n");
    assert_eq!(
        (id.column_type, id.is_nullable, id.column_default.as_deref(), id.dart_type.as_deref()),
        (ColumnType::Uuid, false, Some("random"), Some("UuidValue?"))
    );
    let id = id_of("  id: UuidValue?, defaultPersist=random_v7\n");
    assert_eq!(id.column_default.as_deref(), Some("random_v7"));
    // defaultModel=random falls back to the persisted default; the type stays non-nullable.
    let id = id_of("  id: UuidValue, defaultModel=random\n");
    assert_eq!(
        (id.is_nullable, id.column_default.as_deref(), id.dart_type.as_deref()),
        (false, Some("random"), Some("UuidValue"))
    );
    let id = id_of("  id: UuidValue, defaultModel=random_v7\n");
    assert_eq!(id.column_default.as_deref(), Some("random_v7"));
}

#[test]
fn declared_id_moves_first() {
    let t = one("class: A\ntable: a\nfields:\n  name: String\n  id: int?\n");
    assert_eq!(col_names(&t), ["id", "name"]);
}

#[test]
fn id_restrictions() {
    let d = err_one("class: A\ntable: a\nfields:\n  id: String, column=pk, scope=serverOnly, !persist\n");
    assert_err(&d, 4, 7, "the id field must be int or UuidValue, not String");
    assert_err(&d, 4, 15, "the id field cannot be renamed with column=");
    assert_err(&d, 4, 26, "the id field cannot have a scope");
    assert_err(&d, 4, 44, "the id field is always persisted");
}

const PARENT: &str = "class: Base\nfields:\n  createdAt: DateTime\n  note: String?, tail\nindexes:\n  created_idx:\n    fields: createdAt\n";
const MIDDLE: &str = "class: Middle\nextends: Base\nfields:\n  level: int\n  audit: String?, tail\n";
const CHILD: &str = "class: Child\nextends: Middle\ntable: child\nfields:\n  name: String, unique\n  last: int, tail\nindexes:\n  child_name_idx:\n    fields: name, createdAt\n";

#[test]
fn inheritance_order_and_prefixed_indexes() {
    let def = ok(&[("b.spy.yaml", PARENT), ("m.spy.yaml", MIDDLE), ("c.spy.yaml", CHILD)]);
    assert_eq!(def.tables.len(), 1);
    let t = &def.tables[0];
    assert_eq!(t.dart_name.as_deref(), Some("Child"));
    // id, inherited top-down, own, then tail fields bottom-up.
    assert_eq!(col_names(t), ["id", "createdAt", "level", "name", "last", "audit", "note"]);
    let idx: Vec<&str> = t.indexes.iter().map(|i| i.index_name.as_str()).collect();
    // Inherited (prefixed) first, then auto-unique, then explicit.
    assert_eq!(idx, ["child_created_idx", "child__name__unique_idx", "child_name_idx"]);
    assert_eq!(
        t.indexes[2].elements.iter().map(|e| e.definition.as_str()).collect::<Vec<_>>(),
        ["name", "createdAt"]
    );
}

#[test]
fn two_table_children_each_get_the_inherited_index() {
    let def = ok(&[
        ("b.spy.yaml", PARENT),
        ("x.spy.yaml", "class: X\nextends: Base\ntable: x\nfields:\n  a: int\n"),
        ("y.spy.yaml", "class: Y\nextends: Base\ntable: y\nfields:\n  b: int\n"),
    ]);
    assert_eq!(def.table("x").unwrap().indexes[0].index_name, "x_created_idx");
    assert_eq!(def.table("y").unwrap().indexes[0].index_name, "y_created_idx");
}

#[test]
fn hierarchy_errors() {
    let d = errs(&[
        ("p.spy.yaml", "class: P\ntable: p\nfields:\n  a: int\n"),
        ("c.spy.yaml", "class: C\nextends: P\ntable: c\nfields:\n  b: int\n"),
        ("u.spy.yaml", "class: U\nextends: Missing\ntable: u\nfields:\n  b: int\n"),
        ("l1.spy.yaml", "class: L1\nextends: L2\n"),
        ("l2.spy.yaml", "class: L2\nextends: L1\ntable: l2\n"),
        ("s.spy.yaml", "class: S\nsealed: true\ntable: s\n"),
        ("d.spy.yaml", "class: D\nextends: P\nfields:\n  a: String\n"),
        ("dt.spy.yaml", "class: Dt\nextends: D\ntable: dt\n"),
    ]);
    let by_file = |f: &str| d.iter().filter(|x| x.path.to_str() == Some(f)).cloned().collect::<Vec<_>>();
    assert_err(
        &by_file("c.spy.yaml"),
        3,
        8,
        "its ancestor \"P\" already has a table; only one class in a hierarchy may declare a table",
    );
    assert_err(&by_file("u.spy.yaml"), 2, 10, "extends unknown class \"Missing\"");
    assert_err(&by_file("l2.spy.yaml"), 2, 10, "inheritance cycle");
    assert_err(&by_file("s.spy.yaml"), 2, 1, "a sealed class cannot have a table");
    assert_err(&by_file("dt.spy.yaml"), 3, 8, "its ancestor \"P\" already has a table");
    assert!(by_file("d.spy.yaml").is_empty(), "a table-less child of a table class is fine");
}

#[test]
fn duplicate_inherited_field_is_reported() {
    let d = errs(&[
        ("b.spy.yaml", "class: B\nfields:\n  a: int\n"),
        ("c.spy.yaml", "class: C\nextends: B\ntable: c\nfields:\n  a: String\n"),
    ]);
    assert_err(&d, 5, 3, "field \"a\" is already defined at b.spy.yaml:3:3");
}
