//! Property test: a random definition renamed at random (tables and columns, swaps, chains and
//! rotations included) migrates with the renames as the plan and nothing else: no table or
//! column dropped or added, no warning, and applying the migration in memory gives the target.

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use strata_diff::{apply_migration, generate_migration, generate_migration_with_renames, Rename, RenamePlan};
use strata_schema::*;

const TYPES: &[ColumnType] = &[ColumnType::Text, ColumnType::Bigint, ColumnType::Boolean, ColumnType::Jsonb];

#[derive(Debug, Clone)]
struct RawTable {
    columns: Vec<(usize, bool)>,
    unique: Option<u8>,
    fk: Option<u8>,
}

fn raw_tables() -> impl Strategy<Value = Vec<RawTable>> {
    prop::collection::vec(
        (
            prop::collection::vec((0..TYPES.len(), any::<bool>()), 1..5),
            any::<Option<u8>>(),
            any::<Option<u8>>(),
        )
            .prop_map(|(columns, unique, fk)| RawTable { columns, unique, fk }),
        1..5,
    )
}

/// Tables `t<i>` with columns `c<j>`, an optional unique index and an optional key to another
/// table's `id` (through an added `ref` column).
fn build(raw: &[RawTable]) -> DatabaseDefinition {
    let mut def = DatabaseDefinition::empty("shop");
    for (i, t) in raw.iter().enumerate() {
        let name = format!("t{i}");
        let mut columns = vec![common::id()];
        for (j, (ty, nullable)) in t.columns.iter().enumerate() {
            let mut c = common::col(&format!("c{j}"));
            c.column_type = TYPES[*ty];
            c.is_nullable = *nullable;
            columns.push(c);
        }
        let mut table = TableDefinition {
            name: name.clone(),
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
        };
        if let Some(u) = t.unique {
            let column = format!("c{}", u as usize % t.columns.len());
            table.indexes.push(IndexDefinition {
                index_name: format!("{name}_u"),
                elements: vec![IndexElement::column(&column)],
                index_type: "btree".into(),
                is_unique: true,
                ..Default::default()
            });
        }
        if let Some(f) = t.fk {
            let mut c = common::col("ref");
            c.column_type = ColumnType::Bigint;
            c.is_nullable = true;
            table.columns.push(c);
            table.foreign_keys.push(ForeignKeyDefinition {
                constraint_name: format!("{name}_fk"),
                columns: vec!["ref".into()],
                reference_table: format!("t{}", f as usize % raw.len()),
                reference_table_schema: "public".into(),
                reference_columns: vec!["id".into()],
                ..Default::default()
            });
        }
        def.tables.push(table);
    }
    def
}

/// A permutation of `0..n` from random keys (sorting the indexes by key).
fn permutation(n: usize, keys: &[u16]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (keys.get(i).copied().unwrap_or(0), i));
    order
}

/// `a` with every table `t<i>` renamed through a permutation of `t0..t<2n>` and every `c<j>`
/// through one of `c0..c<2m>`, and the plan that says so.
fn renamed(
    a: &DatabaseDefinition,
    table_keys: &[u16],
    column_keys: &[u16],
) -> (DatabaseDefinition, RenamePlan) {
    let n = a.tables.len();
    let table_perm = permutation(2 * n, table_keys);
    let table_map: BTreeMap<String, String> =
        (0..n).map(|i| (format!("t{i}"), format!("t{}", table_perm[i]))).collect();
    let mut plan = RenamePlan::default();
    for (from, to) in &table_map {
        if from != to {
            plan.renames.push(Rename::Table { from: from.clone(), to: to.clone() });
        }
    }
    let mut b = a.clone();
    for t in &mut b.tables {
        let new_table = table_map[&t.name].clone();
        let m = t.columns.iter().filter(|c| c.name.starts_with('c')).count();
        let perm = permutation(2 * m, column_keys);
        let column_map: BTreeMap<String, String> =
            (0..m).map(|j| (format!("c{j}"), format!("c{}", perm[j]))).collect();
        for (from, to) in &column_map {
            if from != to {
                plan.renames.push(Rename::Column {
                    table: new_table.clone(),
                    from: from.clone(),
                    to: to.clone(),
                });
            }
        }
        for c in &mut t.columns {
            if let Some(to) = column_map.get(&c.name) {
                c.name = to.clone();
                c.field_name = Some(to.clone());
            }
        }
        for i in &mut t.indexes {
            for e in &mut i.elements {
                if let Some(to) = column_map.get(&e.definition) {
                    e.definition = to.clone();
                }
            }
        }
        for fk in &mut t.foreign_keys {
            fk.reference_table = table_map[&fk.reference_table].clone();
        }
        t.name = new_table;
    }
    (b, plan)
}

/// The definition as the database holds it (no model field names).
fn physical(d: &DatabaseDefinition) -> DatabaseDefinition {
    let mut d = d.clone();
    d.tables.iter_mut().flat_map(|t| t.columns.iter_mut()).for_each(|c| c.field_name = None);
    d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn renames_reach_the_target_without_losing_anything(
        raw in raw_tables(),
        table_keys in prop::collection::vec(any::<u16>(), 10),
        column_keys in prop::collection::vec(any::<u16>(), 10),
    ) {
        let a = build(&raw);
        let (b, plan) = renamed(&a, &table_keys, &column_keys);
        let m = generate_migration_with_renames(&a, &b, &plan).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(m.warnings.is_empty(), "{:#?}", m);
        for action in &m.actions {
            match action {
                MigrationAction::AlterTable(t) => {
                    prop_assert!(t.add_columns.is_empty() && t.delete_columns.is_empty(), "{:#?}", m);
                    prop_assert!(t.add_indexes.is_empty() && t.delete_indexes.is_empty(), "{:#?}", m);
                }
                other => prop_assert!(false, "not a rename: {:#?}", other),
            }
        }
        let applied = apply_migration(&a, &m);
        let left = generate_migration(&physical(&applied), &physical(&b));
        prop_assert!(left.is_empty(), "left over: {:#?}\nmigration: {:#?}", left, m);
        // Deterministic.
        prop_assert_eq!(migration_to_json(&m), migration_to_json(&generate_migration_with_renames(&a, &b, &plan).unwrap()));
    }
}
