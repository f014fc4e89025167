//! The diff engine: a pure function from two schema definitions to the migration between them,
//! reproducing Serverpod's `generateDatabaseMigration` (spec §7) so that strata writes the same
//! `migration.json` as Serverpod.
//!
//! * [`generate_migration`]: old definition + new definition → actions and warnings.
//! * [`compare`]: the comparison predicates the diff is built on, and a human-readable
//!   object-by-object difference report (for drift reports).
//! * [`apply_migration`]: what running a migration does to a definition, for cross-checks.
//!
//! No I/O, no panics, and no hash-order iteration: output depends only on the inputs' order.
//!
//! # Deviations from Serverpod
//!
//! Output is identical to Serverpod's except where Serverpod's own output cannot run:
//! * A column renamed onto the physical name of a source column that is not itself renamed
//!   away (field `a` takes over column `y` while field `b`, which owned `y`, is removed):
//!   Serverpod keeps `y` and emits `RENAME COLUMN "x" TO "y"`, which PostgreSQL rejects. Here
//!   `y` is dropped (with its `columnDropped` warning) and the rename follows, since the
//!   script drops columns before renaming.
//! * A column dropped and re-added (an incompatible change) takes its indexes and foreign keys
//!   with it in PostgreSQL; Serverpod does not recreate them, so the live schema silently loses
//!   them. Here every index and foreign key on such a column is dropped before and recreated
//!   after it (with `uniqueIndexCreated` for unique indexes, which may now fail on the re-added
//!   column's values).
//!
//! * A column renamed through `column=` keeps its indexes: PostgreSQL carries them along, so
//!   they are compared as they are after the rename instead of being dropped and recreated with
//!   a false `uniqueIndexCreated` warning.
//! * Renames nobody detects by field name (a table, a field without `column=`) are proposed and
//!   made by [`renames`] when the caller chooses them; [`generate_migration`] itself stays
//!   Serverpod's drop + add.
//!
//! Added columns follow the spec's rule (§7.2): a target column is added when its name is new,
//! or when the source column of that name is renamed away; renaming only the model field while
//! the physical name stays therefore produces nothing, as §7.4 and the two-step rename recipe
//! require.

use std::collections::{BTreeMap, BTreeSet};

use strata_schema::{
    ColumnDefinition, ColumnMigration, DatabaseDefinition, DatabaseMigration, MigrationAction,
    MigrationWarning, TableDefinition, TableMigration,
};

mod apply;
pub mod casts;
pub mod compare;
mod keys;
mod layout;
pub mod renames;
pub mod warnings;

pub use apply::apply_migration;
use compare::{can_be_added_in_place, can_migrate_to, column_like, foreign_key_like, index_like};
pub use renames::{
    generate_migration_with_renames, rename_candidates, Rename, RenameCandidate, RenameError, RenamePlan,
};

/// The migration that takes `source` to `target` (Serverpod's `generateDatabaseMigration`).
///
/// `source` is the previous `definition.json` (or, for repair, the live database); `target`
/// the desired definition. Tables are matched by name only, whatever their schema.
pub fn generate_migration(source: &DatabaseDefinition, target: &DatabaseDefinition) -> DatabaseMigration {
    let mut migration = DatabaseMigration::new();
    let source_tables: Vec<&TableDefinition> = source.tables.iter().filter(|t| t.is_managed()).collect();
    let target_tables: Vec<&TableDefinition> = target.tables.iter().filter(|t| t.is_managed()).collect();
    // Name lookups only (iteration order always comes from the vectors): a linear
    // `DatabaseDefinition::table` per table made the diff quadratic in the table count.
    let source_by_name = first_by_name(&source.tables);
    let target_by_name = first_by_name(&target.tables);

    // Tables gone from the target (managed or not there) are dropped, together with every table
    // that keeps a foreign key into them: such a table is recreated so the key can be re-pointed.
    let mut delete_tables: Vec<String> = Vec::new();
    let mut delete_set: BTreeSet<String> = BTreeSet::new();
    for src in &source_tables {
        if target_by_name.contains_key(src.name.as_str()) {
            continue;
        }
        let mut names = vec![src.name.clone()];
        names.extend(find_dependent_tables(&src.name, &source_tables, &target_tables));
        for name in names {
            if delete_set.insert(name.clone()) {
                delete_tables.push(name);
            }
        }
    }

    // A changed partition key has no ALTER TABLE: the table is recreated, and so is every
    // partition or inheritance child its DROP ... CASCADE takes along.
    for src in &source_tables {
        let Some(dst) = target_by_name.get(src.name.as_str()) else { continue };
        if dst.is_managed() && layout::is_repartitioned(src, dst) && delete_set.insert(src.name.clone()) {
            delete_tables.push(src.name.clone());
            migration.warnings.push(crate::warnings::table_repartitioned(&src.name));
        }
    }
    for name in layout::children_dropped_along(&delete_set, &source_tables, &target_by_name) {
        delete_set.insert(name.clone());
        delete_tables.push(name);
    }

    // Dropped in reverse so that dependents go before the tables they point at, and children
    // (partitions, inheritance children) before their parents, whose DROP would take them along.
    let mut delete_order: Vec<&String> = delete_tables.iter().rev().collect();
    delete_order.sort_by_key(|name| std::cmp::Reverse(strata_schema::layout::depth(name, &source_by_name)));
    for name in delete_order {
        migration.actions.push(MigrationAction::DeleteTable(name.clone()));
        migration.warnings.push(crate::warnings::table_dropped(name));
    }

    for dst in strata_schema::layout::parents_first(&target_tables) {
        let src = source_by_name.get(dst.name.as_str()).copied();
        let deleted = delete_set.contains(&dst.name);
        match src {
            None => migration.actions.push(MigrationAction::CreateTable((*dst).clone())),
            Some(_) if deleted => migration.actions.push(MigrationAction::CreateTable((*dst).clone())),
            // An unmanaged table may already exist in the database: create it only if missing.
            Some(s) if !s.is_managed() => {
                migration.actions.push(MigrationAction::CreateTableIfNotExists((*dst).clone()))
            }
            Some(s) => match generate_child_migration(
                s,
                dst,
                &source_by_name,
                &target_by_name,
                &mut migration.warnings,
            ) {
                None => {
                    migration.actions.push(MigrationAction::DeleteTable(dst.name.clone()));
                    migration.actions.push(MigrationAction::CreateTable((*dst).clone()));
                }
                Some(mut tm) => {
                    if !tm.is_empty() {
                        tm.warnings =
                            migration.warnings.iter().filter(|w| w.table == dst.name).cloned().collect();
                        migration.actions.push(MigrationAction::AlterTable(tm));
                    }
                }
            },
        }
    }
    recreate_inbound_foreign_keys(&mut migration, &source_by_name, &target_tables);
    migration
}

/// Foreign keys onto a column this migration drops and adds again (a generated column whose
/// expression changes, an incompatible type change): PostgreSQL refuses to drop the column, or
/// the key or index under it, while they exist, and dropping it with `CASCADE` would lose them.
/// So each is dropped and added back, in its own table's action (made when there is none).
fn recreate_inbound_foreign_keys(
    migration: &mut DatabaseMigration,
    source_by_name: &BTreeMap<&str, &TableDefinition>,
    target_tables: &[&TableDefinition],
) {
    let mut recreated: BTreeSet<(String, String)> = BTreeSet::new();
    for action in &migration.actions {
        if let MigrationAction::AlterTable(m) = action {
            let again = m.delete_columns.iter().filter(|c| m.add_columns.iter().any(|a| &a.name == *c));
            recreated.extend(again.map(|c| (m.name.clone(), c.clone())));
        }
    }
    if recreated.is_empty() {
        return;
    }
    for dst in target_tables {
        let Some(src) = source_by_name.get(dst.name.as_str()) else { continue };
        let replaced = migration.actions.iter().any(|a| match a {
            MigrationAction::CreateTable(t) | MigrationAction::CreateTableIfNotExists(t) => {
                t.name == dst.name
            }
            MigrationAction::DeleteTable(name) => *name == dst.name,
            MigrationAction::AlterTable(_) => false,
        });
        if replaced {
            continue;
        }
        for fk in &dst.foreign_keys {
            let onto_recreated = fk
                .reference_columns
                .iter()
                .any(|c| recreated.contains(&(fk.reference_table.clone(), c.clone())));
            if !onto_recreated || src.foreign_key(&fk.constraint_name).is_none() {
                continue;
            }
            let Some(m) = table_action(migration, dst) else { continue };
            if !m.delete_foreign_keys.contains(&fk.constraint_name) {
                m.delete_foreign_keys.push(fk.constraint_name.clone());
                m.add_foreign_keys.push(fk.clone());
            }
        }
    }
}

/// The `alterTable` action of `table`, appended empty when the migration has none yet.
fn table_action<'m>(
    migration: &'m mut DatabaseMigration,
    table: &TableDefinition,
) -> Option<&'m mut TableMigration> {
    let is_table = |a: &MigrationAction| matches!(a, MigrationAction::AlterTable(m) if m.name == table.name);
    if !migration.actions.iter().any(is_table) {
        let mut m = TableMigration::new(table.name.clone(), table.schema.clone());
        m.warnings = migration.warnings.iter().filter(|w| w.table == table.name).cloned().collect();
        migration.actions.push(MigrationAction::AlterTable(m));
    }
    migration.actions.iter_mut().find_map(|a| match a {
        MigrationAction::AlterTable(m) if m.name == table.name => Some(m),
        _ => None,
    })
}

/// [`generate_table_migration`] for a table that may hang under parents: an inheritance child
/// changes only the columns its parents do not (`layout::inheritance_views`), and the
/// migration carries the table's partition, inheritance and persistence changes.
fn generate_child_migration(
    src: &TableDefinition,
    dst: &TableDefinition,
    source_by_name: &BTreeMap<&str, &TableDefinition>,
    target_by_name: &BTreeMap<&str, &TableDefinition>,
    warnings: &mut Vec<MigrationWarning>,
) -> Option<TableMigration> {
    let views = layout::inheritance_views(
        src,
        dst,
        |n| source_by_name.get(n).copied(),
        |n| target_by_name.get(n).copied(),
    );
    let (s, d) = match &views {
        Some((s, d)) => (s, d),
        None => (src, dst),
    };
    let mut tm = generate_table_migration(s, d, warnings)?;
    tm.layout = layout::layout_migration(src, dst);
    Some(tm)
}

/// Each table name's first table, as `DatabaseDefinition::table` would find it.
fn first_by_name(tables: &[TableDefinition]) -> BTreeMap<&str, &TableDefinition> {
    let mut map = BTreeMap::new();
    for t in tables {
        map.entry(t.name.as_str()).or_insert(t);
    }
    map
}

/// The source tables that point at `table_name` with a foreign key they keep in the target
/// (same constraint name and same columns), transitively, in discovery order (depth first, as
/// Serverpod's `_findDependentTables`). A referencing table that drops or renumbers the key is
/// merely altered instead.
fn find_dependent_tables(
    table_name: &str,
    source_tables: &[&TableDefinition],
    target_tables: &[&TableDefinition],
) -> Vec<String> {
    let keeps_reference = |src: &TableDefinition, referenced: &str| {
        src.foreign_keys.iter().any(|fk| {
            fk.reference_table == referenced
                && target_tables.iter().any(|t| {
                    t.name == src.name
                        && t.foreign_keys
                            .iter()
                            .any(|tfk| tfk.constraint_name == fk.constraint_name && tfk.columns == fk.columns)
                })
        })
    };

    let mut found: Vec<String> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    // Explicit stack (table, next source index) instead of recursion: no stack overflow on
    // long chains, same visiting order.
    let mut stack: Vec<(String, usize)> = vec![(table_name.to_string(), 0)];
    while let Some((name, next)) = stack.last_mut() {
        let Some(src) = source_tables.get(*next) else {
            stack.pop();
            continue;
        };
        *next += 1;
        if seen.contains(&src.name) {
            continue;
        }
        let referenced = name.clone();
        if keeps_reference(src, &referenced) {
            seen.insert(src.name.clone());
            found.push(src.name.clone());
            stack.push((src.name.clone(), 0));
        }
    }
    found
}

/// The field a column stores: its model field name, or for files and live databases without
/// one, its physical name. Rename detection pairs columns through it.
fn field_id(c: &ColumnDefinition) -> &str {
    c.field_name.as_deref().unwrap_or(&c.name)
}

/// Serverpod's rename detection: a source column whose field now lives under another physical
/// name (`column=` added, changed or removed), and that can be altered in place into it, as
/// (source name, target name) in source order. Later duplicates of a field id win, as in a map;
/// a repeated source name keeps its first slot.
pub(crate) fn field_renames<'a>(
    src: &'a TableDefinition,
    dst: &'a TableDefinition,
) -> Vec<(&'a str, &'a str)> {
    let dst_by_field = |id: &str| dst.columns.iter().rev().find(|c| field_id(c) == id);
    let mut renames: Vec<(&str, &str)> = Vec::new();
    for s in &src.columns {
        let Some(d) = dst_by_field(field_id(s)) else { continue };
        if s.name == d.name || !can_migrate_to(s, d) {
            continue;
        }
        match renames.iter_mut().find(|(from, _)| *from == s.name) {
            Some(entry) => entry.1 = &d.name,
            None => renames.push((&s.name, &d.name)),
        }
    }
    renames
}

/// `index` as it is after the column renames: PostgreSQL and SQLite carry an index along when
/// a column it uses is renamed, so comparing the renamed form avoids a needless drop and
/// recreate (and a false `uniqueIndexCreated`).
fn index_after_renames(
    index: &strata_schema::IndexDefinition,
    renames: &[(&str, &str)],
) -> strata_schema::IndexDefinition {
    let mut index = index.clone();
    for e in &mut index.elements {
        if e.element_type != strata_schema::IndexElementType::Column {
            continue;
        }
        if let Some((_, to)) = renames.iter().find(|(from, _)| *from == e.definition) {
            e.definition = to.to_string();
        }
    }
    index
}

/// Generated columns kept as they are whose expression uses a column this migration drops or
/// retypes: PostgreSQL refuses both while the generated column exists, so it is dropped and added
/// again (its values are computed, none are lost), and any in-place change of its own is
/// dropped with it. Generated columns are then dropped first: one that uses a dropped column
/// must go before it.
fn recreate_dependent_generated_columns(
    src: &TableDefinition,
    dst: &TableDefinition,
    modify_columns: &mut Vec<ColumnMigration>,
    delete_columns: &mut Vec<String>,
    add_columns: &mut Vec<ColumnDefinition>,
    warnings: &mut Vec<MigrationWarning>,
) {
    let touched: Vec<String> = delete_columns
        .iter()
        .cloned()
        .chain(modify_columns.iter().filter(|m| m.new_type.is_some()).map(|m| m.column_name.clone()))
        .collect();
    for s in &src.columns {
        let Some(expression) = &s.generated else { continue };
        let Some(d) = dst.column(&s.name) else { continue };
        let kept = d.generated.as_ref() == Some(expression) && !delete_columns.contains(&s.name);
        if kept && touched.iter().any(|c| compare::expression_mentions(expression, c)) {
            delete_columns.push(s.name.clone());
            add_columns.push(d.clone());
            modify_columns.retain(|m| m.column_name != s.name);
            let own_change = |w: &MigrationWarning| w.table == src.name && w.columns == [s.name.clone()];
            warnings.retain(|w| !own_change(w));
            warnings.push(crate::warnings::generated_column_recreated(&src.name, s, d));
        }
    }
    let is_generated = |name: &String| src.column(name).is_some_and(|c| c.generated.is_some());
    delete_columns.sort_by_key(|name| !is_generated(name));
}

/// The in-place changes that take `src` to `dst` (Serverpod's `generateTableMigration`), or
/// `None` when some added column cannot be added to an existing table and the whole table must
/// be recreated. Warnings are appended to `warnings` in both cases; the returned migration's own
/// `warnings` list is left empty for the caller to fill.
pub fn generate_table_migration(
    src: &TableDefinition,
    dst: &TableDefinition,
    warnings: &mut Vec<MigrationWarning>,
) -> Option<TableMigration> {
    // A partition that stays under its parent has the parent's columns and keys: they change
    // through the parent (PostgreSQL refuses them on a partition), only indexes are its own. A
    // partition that moves (another parent or bound) is detached first and attached last, so
    // its columns are diffed: it must have the parent's final columns when it is attached.
    let aligned;
    let stays =
        src.partition_of == dst.partition_of && src.layout.partition_bound == dst.layout.partition_bound;
    let src = if src.partition_of.is_some() && stays {
        aligned = TableDefinition { columns: dst.columns.clone(), keys: dst.keys.clone(), ..src.clone() };
        &aligned
    } else {
        src
    };
    let renames = field_renames(src, dst);
    let rename_of = |name: &str| renames.iter().find(|(from, _)| *from == name).map(|(_, to)| *to);
    let is_rename_source = |name: &str| rename_of(name).is_some();
    let is_rename_target = |name: &str| renames.iter().any(|(_, to)| *to == name);

    // Added: new physical names, plus names freed by a rename and reused by another field.
    let mut add_columns: Vec<ColumnDefinition> = dst
        .columns
        .iter()
        .filter(|d| {
            !is_rename_target(&d.name) && (src.column(&d.name).is_none() || is_rename_source(&d.name))
        })
        .cloned()
        .collect();

    // Deleted: names gone from the target, and names a renamed column takes over (see
    // "Deviations" in the crate docs: Serverpod keeps these and emits a failing RENAME).
    let mut delete_columns: Vec<String> = Vec::new();
    for s in &src.columns {
        if is_rename_source(&s.name) {
            continue;
        }
        if dst.column(&s.name).is_none() || is_rename_target(&s.name) {
            delete_columns.push(s.name.clone());
            warnings.push(crate::warnings::column_dropped(&src.name, &s.name));
        }
    }

    let mut modify_columns: Vec<ColumnMigration> = Vec::new();
    for s in &src.columns {
        let d = match rename_of(&s.name) {
            Some(to) => dst.column(to),
            None if is_rename_target(&s.name) => None,
            None => dst.column(&s.name),
        };
        let Some(d) = d else { continue };
        if column_like(s, d) {
            continue;
        }
        if can_migrate_to(s, d) {
            let add_nullable = !s.is_nullable && d.is_nullable;
            let remove_nullable = s.is_nullable && !d.is_nullable;
            let change_default = s.column_default != d.column_default;
            let change_identity = s.identity != d.identity || s.identity_options != d.identity_options;
            let drop_expression = s.generated.is_some() && d.generated.is_none();
            let native_change = compare::is_native_change(s, d);
            let new_type = (s.column_type != d.column_type || native_change).then_some(d.column_type);
            // Only the model nullability of `id` changed: the database column stays as it is.
            let implied_key =
                s.is_primary() && !src.keys.states_primary_key() && !dst.keys.states_primary_key();
            let unchanged =
                !add_nullable && !remove_nullable && !change_default && !change_identity && !drop_expression;
            if implied_key && unchanged && new_type.is_none() {
                continue;
            }
            modify_columns.push(ColumnMigration {
                column_name: s.name.clone(),
                new_column_name: (s.name != d.name).then(|| d.name.clone()),
                add_nullable,
                remove_nullable,
                change_default,
                new_default: d.column_default.clone(),
                new_type,
                new_native_type: native_change.then(|| compare::pg_type_text(d)),
                change_identity,
                new_identity: d.identity,
                new_identity_options: d.identity_options,
                drop_expression,
            });
            if remove_nullable {
                warnings.push(crate::warnings::not_null_added(&src.name, &d.name));
            }
            if native_change {
                warnings.push(crate::warnings::column_type_changed(&src.name, s, d));
            }
        } else {
            delete_columns.push(s.name.clone());
            add_columns.push(d.clone());
            warnings.push(match compare::generation_alters_in_place(s, d) {
                true => crate::warnings::column_recreated(&src.name, &s.name),
                false => crate::warnings::generated_column_recreated(&src.name, s, d),
            });
        }
    }
    recreate_dependent_generated_columns(
        src,
        dst,
        &mut modify_columns,
        &mut delete_columns,
        &mut add_columns,
        warnings,
    );

    let mut add_indexes: Vec<_> =
        dst.indexes.iter().filter(|i| src.index(&i.index_name).is_none()).cloned().collect();
    let mut delete_indexes: Vec<String> = src
        .indexes
        .iter()
        .filter(|i| dst.index(&i.index_name).is_none())
        .map(|i| i.index_name.clone())
        .collect();
    // Columns dropped and added back under the same name: PostgreSQL drops their indexes and
    // foreign keys with them, so unchanged ones must be recreated too (Serverpod loses them).
    let recreated: BTreeSet<&str> = delete_columns
        .iter()
        .filter(|name| add_columns.iter().any(|c| &c.name == *name))
        .map(String::as_str)
        .collect();
    let touches_recreated = |elements: &[strata_schema::IndexElement]| {
        elements.iter().any(|e| {
            e.element_type == strata_schema::IndexElementType::Column
                && recreated.contains(e.definition.as_str())
        })
    };
    for s in &src.indexes {
        if let Some(d) = dst.index(&s.index_name) {
            if !index_like(&index_after_renames(s, &renames), d) || touches_recreated(&s.elements) {
                delete_indexes.push(s.index_name.clone());
                add_indexes.push(d.clone());
            }
        }
    }
    for index in add_indexes.iter().filter(|i| i.is_unique) {
        warnings.push(crate::warnings::unique_index_created(&src.name, index));
    }

    let mut add_foreign_keys: Vec<_> =
        dst.foreign_keys.iter().filter(|f| src.foreign_key(&f.constraint_name).is_none()).cloned().collect();
    let mut delete_foreign_keys: Vec<String> = src
        .foreign_keys
        .iter()
        .filter(|f| dst.foreign_key(&f.constraint_name).is_none())
        .map(|f| f.constraint_name.clone())
        .collect();
    for s in &src.foreign_keys {
        if let Some(d) = dst.foreign_key(&s.constraint_name) {
            if !foreign_key_like(s, d) || s.columns.iter().any(|c| recreated.contains(c.as_str())) {
                delete_foreign_keys.push(s.constraint_name.clone());
                add_foreign_keys.push(d.clone());
            }
        }
    }

    // A NOT NULL column without default (or a new primary key) cannot be added to a table that
    // has rows: the whole table is recreated instead. Warnings gathered so far are kept.
    let keyed = dst.keys.states_primary_key();
    if let Some(c) = add_columns.iter().find(|c| !can_be_added_in_place(c, keyed)) {
        warnings.push(crate::warnings::table_recreated(&src.name, &c.name));
        return None;
    }

    let reshaped: keys::Reshaped = delete_columns
        .iter()
        .map(String::as_str)
        .chain(modify_columns.iter().filter(|m| m.new_type.is_some()).map(|m| m.column_name.as_str()))
        .collect();
    let keys = keys::key_migration(src, dst, &renames, &recreated, &reshaped, &add_columns);
    Some(TableMigration {
        name: src.name.clone(),
        new_name: None,
        dart_name: None,
        module: None,
        schema: src.schema.clone(),
        add_columns,
        delete_columns,
        modify_columns,
        add_indexes,
        delete_indexes,
        add_foreign_keys,
        delete_foreign_keys,
        keys,
        layout: Default::default(),
        warnings: Vec::new(),
    })
}
