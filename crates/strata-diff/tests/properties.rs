//! Property tests: random valid definitions A and B.
//!
//! 1. diff(A, A) is empty.
//! 2. Applying diff(A, B) to A gives B's schema.
//! 3. No panics, also on invalid definitions.
//! 4. The output is deterministic.

mod common;

use std::collections::BTreeSet;

use proptest::prelude::*;
use strata_diff::compare::{column_changes, column_like, foreign_key_like, index_like};
use strata_diff::{apply_migration, generate_migration};
use strata_schema::*;

const TYPES: &[ColumnType] = &[
    ColumnType::Text,
    ColumnType::Boolean,
    ColumnType::Integer,
    ColumnType::Bigint,
    ColumnType::DoublePrecision,
    ColumnType::Json,
    ColumnType::Jsonb,
    ColumnType::Uuid,
    ColumnType::Vector,
    ColumnType::TimestampWithoutTimeZone,
];
const DEFAULTS: &[Option<&str>] = &[None, None, Some("'a'"), Some("'b'"), Some("0"), Some("serial")];

/// A column before names are made unique: small pools so that A and B share names and fields.
#[derive(Debug, Clone)]
struct RawColumn {
    field: u8,
    name: u8,
    has_field: bool,
    ty: usize,
    nullable: bool,
    default: usize,
    dart: u8,
    dim: i64,
}

#[derive(Debug, Clone)]
struct RawIndex {
    cols: Vec<u8>,
    unique: bool,
    hash: bool,
    nulls: u8,
}

#[derive(Debug, Clone)]
struct RawFk {
    col: u8,
    reference: u8,
    on_delete: u8,
    deferrable: u8,
}

#[derive(Debug, Clone)]
struct RawTable {
    name: u8,
    uuid_id: u8,
    managed: u8,
    columns: Vec<RawColumn>,
    indexes: Vec<RawIndex>,
    fks: Vec<RawFk>,
}

fn raw_column() -> impl Strategy<Value = RawColumn> {
    (
        0u8..6,
        0u8..6,
        prop::bool::weighted(0.85),
        0..TYPES.len(),
        any::<bool>(),
        0..DEFAULTS.len(),
        0u8..3,
        2i64..4,
    )
        .prop_map(|(field, name, has_field, ty, nullable, default, dart, dim)| RawColumn {
            field,
            name,
            has_field,
            ty,
            nullable,
            default,
            dart,
            dim,
        })
}

fn raw_table() -> impl Strategy<Value = RawTable> {
    (
        0u8..6,
        0u8..8,
        0u8..10,
        prop::collection::vec(raw_column(), 0..6),
        prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 1..3), any::<bool>(), prop::bool::weighted(0.2), 0u8..3)
                .prop_map(|(cols, unique, hash, nulls)| RawIndex { cols, unique, hash, nulls }),
            0..3,
        ),
        prop::collection::vec(
            (any::<u8>(), any::<u8>(), 0u8..3, 0u8..3).prop_map(|(col, reference, on_delete, deferrable)| {
                RawFk { col, reference, on_delete, deferrable }
            }),
            0..3,
        ),
    )
        .prop_map(|(name, uuid_id, managed, columns, indexes, fks)| RawTable {
            name,
            uuid_id,
            managed,
            columns,
            indexes,
            fks,
        })
}

/// Builds a definition from raw tables. Valid (unique names, indexes over existing columns,
/// keys to existing tables' `id`) unless `wild`, which adds unmanaged tables and keys to
/// tables that do not exist.
fn build(raw: &[RawTable], wild: bool) -> DatabaseDefinition {
    let mut seen = BTreeSet::new();
    let raw: Vec<&RawTable> = raw.iter().filter(|t| seen.insert(t.name)).collect();
    let names: Vec<String> = raw.iter().map(|t| format!("t{}", t.name)).collect();
    let mut tables = Vec::new();
    for (t, tname) in raw.iter().zip(&names) {
        let id = if t.uuid_id == 0 {
            let d = if t.managed % 2 == 0 { "random" } else { "random_v7" };
            ColumnDefinition {
                name: "id".into(),
                field_name: Some("id".into()),
                column_type: ColumnType::Uuid,
                is_nullable: false,
                column_default: Some(d.into()),
                dart_type: Some("UuidValue?".into()),
                vector_dimension: None,
                native_type: None,
                identity: None,
                identity_options: None,
                generated: None,
            }
        } else {
            ColumnDefinition {
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
            }
        };
        let mut columns = vec![id];
        let (mut fields, mut cnames) = (BTreeSet::new(), BTreeSet::new());
        for c in &t.columns {
            if !fields.insert(c.field) || !cnames.insert(c.name) {
                continue;
            }
            let ty = TYPES[c.ty];
            let mut default = DEFAULTS[c.default].map(str::to_string);
            if default.as_deref() == Some("serial") && !ty.is_integer() {
                default = None;
            }
            let dart = match c.dart {
                0 => None,
                1 => Some(format!("{}{}", ty.name(), if c.nullable { "?" } else { "" })),
                _ => Some(format!("Other{}", ty.name())),
            };
            columns.push(ColumnDefinition {
                name: format!("c{}", c.name),
                field_name: c.has_field.then(|| format!("f{}", c.field)),
                column_type: ty,
                is_nullable: c.nullable,
                column_default: default,
                dart_type: dart,
                vector_dimension: ty.is_vector().then_some(c.dim),
                native_type: None,
                identity: None,
                identity_options: None,
                generated: None,
            });
        }
        let mut indexes = Vec::new();
        for (k, i) in t.indexes.iter().enumerate() {
            indexes.push(IndexDefinition {
                index_name: format!("{tname}_i{k}"),
                table_space: None,
                elements: i
                    .cols
                    .iter()
                    .map(|c| IndexElement::column(columns[*c as usize % columns.len()].name.clone()))
                    .collect(),
                index_type: if i.hash { "hash" } else { "btree" }.into(),
                is_unique: i.unique,
                is_primary: false,
                nulls_distinct: [None, Some(true), Some(false)][i.nulls as usize],
                predicate: None,
                gin_operator_class: None,
                vector_distance_function: None,
                vector_column_type: None,
                parameters: None,
                include: Vec::new(),
            });
        }
        let mut foreign_keys = Vec::new();
        for (k, f) in t.fks.iter().enumerate() {
            let reference = if wild && f.reference % 5 == 0 {
                format!("missing{}", f.reference)
            } else {
                names[f.reference as usize % names.len()].clone()
            };
            foreign_keys.push(ForeignKeyDefinition {
                constraint_name: format!("{tname}_fk_{k}"),
                columns: vec![columns[f.col as usize % columns.len()].name.clone()],
                reference_table: reference,
                reference_table_schema: "public".into(),
                reference_columns: vec!["id".into()],
                on_update: Some(ForeignKeyAction::NoAction),
                on_delete: Some(
                    [ForeignKeyAction::NoAction, ForeignKeyAction::Cascade, ForeignKeyAction::SetNull]
                        [f.on_delete as usize],
                ),
                match_type: None,
                deferrable: [None, Some(Deferrable::InitiallyImmediate), Some(Deferrable::InitiallyDeferred)]
                    [f.deferrable as usize],
            });
        }
        let managed = match (wild, t.managed) {
            (true, 0) => Some(false),
            (true, 1) => None,
            _ => Some(true),
        };
        tables.push(TableDefinition {
            name: tname.clone(),
            dart_name: Some(tname.clone()),
            module: Some("test".into()),
            schema: "public".into(),
            table_space: None,
            columns,
            foreign_keys,
            indexes,
            managed,
            keys: Default::default(),
            partition_of: None,
            layout: Default::default(),
        });
    }
    let mut d = DatabaseDefinition::empty("test");
    d.tables = tables;
    d
}

fn defs() -> impl Strategy<Value = Vec<RawTable>> {
    prop::collection::vec(raw_table(), 0..5)
}

/// Two definitions, unrelated or related.
///
/// Related: B keeps some of A's tables unchanged, edits one column of others,
/// replaces or drops the rest, and may add new ones. Independent random pairs rarely share an
/// unchanged table, which is where inbound-key restoration and dependents matter.
fn pair() -> impl Strategy<Value = (Vec<RawTable>, Vec<RawTable>)> {
    prop_oneof![related_pair(), (defs(), defs())]
}

fn related_pair() -> impl Strategy<Value = (Vec<RawTable>, Vec<RawTable>)> {
    (defs(), defs(), prop::collection::vec((0u8..5, raw_column()), 5)).prop_map(|(a, fresh, plan)| {
        let mut b = Vec::new();
        for (i, t) in a.iter().enumerate() {
            let (choice, column) = &plan[i % plan.len()];
            match choice {
                0 | 1 => b.push(t.clone()),
                2 => {
                    let mut t = t.clone();
                    match t.columns.first_mut() {
                        Some(c) => *c = column.clone(),
                        None => t.columns.push(column.clone()),
                    }
                    b.push(t);
                }
                3 => {
                    if let Some(f) = fresh.get(i) {
                        let mut f = f.clone();
                        f.name = t.name;
                        b.push(f);
                    }
                }
                _ => {}
            }
        }
        b.extend(fresh.into_iter().skip(a.len()));
        (a, b)
    })
}

/// Whether `actual` has the schema of `expected`, up to column order; `Err` explains how not.
fn same_schema(actual: &DatabaseDefinition, expected: &DatabaseDefinition) -> Result<(), String> {
    let names = |d: &DatabaseDefinition| d.tables.iter().map(|t| t.name.clone()).collect::<BTreeSet<_>>();
    if names(actual) != names(expected) {
        return Err(format!("tables {:?} != {:?}", names(actual), names(expected)));
    }
    for e in &expected.tables {
        let a = actual.table(&e.name).unwrap();
        let cols = |t: &TableDefinition| t.columns.iter().map(|c| c.name.clone()).collect::<BTreeSet<_>>();
        if cols(a) != cols(e) || a.columns.len() != e.columns.len() {
            return Err(format!("{}: columns {:?} != {:?}", e.name, cols(a), cols(e)));
        }
        for c in &e.columns {
            if !column_like(a.column(&c.name).unwrap(), c) {
                return Err(format!("{}: column {:?} != {:?}", e.name, a.column(&c.name), c));
            }
        }
        let idx =
            |t: &TableDefinition| t.indexes.iter().map(|i| i.index_name.clone()).collect::<BTreeSet<_>>();
        if idx(a) != idx(e) || a.indexes.len() != e.indexes.len() {
            return Err(format!("{}: indexes {:?} != {:?}", e.name, idx(a), idx(e)));
        }
        for i in &e.indexes {
            if !index_like(a.index(&i.index_name).unwrap(), i) {
                return Err(format!("{}: index {:?} != {:?}", e.name, a.index(&i.index_name), i));
            }
        }
        let fks = |t: &TableDefinition| {
            t.foreign_keys.iter().map(|f| f.constraint_name.clone()).collect::<BTreeSet<_>>()
        };
        if fks(a) != fks(e) || a.foreign_keys.len() != e.foreign_keys.len() {
            return Err(format!("{}: foreign keys {:?} != {:?}", e.name, fks(a), fks(e)));
        }
        for f in &e.foreign_keys {
            if !foreign_key_like(a.foreign_key(&f.constraint_name).unwrap(), f) {
                return Err(format!("{}: fk {:?} != {:?}", e.name, a.foreign_key(&f.constraint_name), f));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn diff_with_itself_is_empty(raw in defs(), wild in any::<bool>()) {
        let a = build(&raw, wild);
        let m = generate_migration(&a, &a);
        prop_assert!(m.actions.is_empty(), "{:#?}", m.actions);
        prop_assert!(m.warnings.is_empty(), "{:#?}", m.warnings);
    }

    #[test]
    fn applying_the_diff_reaches_the_target((ra, rb) in pair()) {
        let (a, b) = (build(&ra, false), build(&rb, false));
        let m = generate_migration(&a, &b);
        let out = apply_migration(&a, &m);
        if let Err(e) = same_schema(&out, &b) {
            return Err(TestCaseError::fail(format!("{e}\nmigration: {m:#?}")));
        }
        // And once there, there is nothing left to do.
        let again = generate_migration(&out, &b);
        prop_assert!(again.actions.is_empty(), "{:#?}", again.actions);
    }

    #[test]
    fn deterministic_and_panic_free_on_any_input((ra, rb) in pair(), wa in any::<bool>(), wb in any::<bool>()) {
        let (a, b) = (build(&ra, wa), build(&rb, wb));
        let m1 = generate_migration(&a, &b);
        let m2 = generate_migration(&a.clone(), &b.clone());
        prop_assert_eq!(&m1, &m2);
        prop_assert_eq!(migration_to_json(&m1), migration_to_json(&m2));
        let _ = apply_migration(&a, &m1);
        let _ = strata_diff::compare::diff_definitions(&a, &b);
        // Every alter carries exactly the warnings of its own table, in top-level order, and
        // the top-level list has the alter's.
        for action in &m1.actions {
            if let MigrationAction::AlterTable(t) = action {
                prop_assert!(t.warnings.iter().all(|w| w.table == t.name));
                let own: Vec<_> = m1.warnings.iter().filter(|w| w.table == t.name).cloned().collect();
                prop_assert!(t.warnings.len() <= own.len());
                prop_assert_eq!(&t.warnings[..], &own[..t.warnings.len()]);
            }
        }
    }

    #[test]
    fn column_report_is_empty_exactly_when_columns_are_alike(ra in defs(), rb in defs()) {
        let (a, b) = (build(&ra, false), build(&rb, false));
        for ta in &a.tables {
            for tb in &b.tables {
                for ca in &ta.columns {
                    for cb in tb.columns.iter().filter(|c| c.name == ca.name) {
                        prop_assert_eq!(column_like(ca, cb), column_changes(ca, cb).is_empty());
                    }
                }
            }
        }
    }
}
