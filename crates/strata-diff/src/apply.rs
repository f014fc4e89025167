//! An in-memory simulation of running a migration's PostgreSQL script against a schema.

use std::collections::{BTreeMap, BTreeSet};

use strata_schema::{
    DatabaseDefinition, ForeignKeyDefinition, MigrationAction, TableDefinition, TableMigration,
};

/// The schema `def` has after running `migration` as Serverpod's `migration.sql` would.
///
/// Modelled, in script order:
/// * actions in order; an `alterTable` in its fixed statement order (drop indexes, drop FKs,
///   drop columns, renames, add columns, alter columns, create indexes);
/// * `DROP TABLE ... CASCADE` also removes foreign keys of other tables that point at it;
/// * foreign keys of created tables and `addForeignKeys` are added after all actions, as the
///   script adds them at its end;
/// * the script's "restore foreign key" step: inbound keys removed by the CASCADE of a table
///   that is dropped and recreated come back, unless their (managed) table was itself created,
///   or dropped/re-added that key explicitly;
/// * `CREATE TABLE IF NOT EXISTS` keeps an existing table and adds only its missing indexes.
///
/// * an `alterTable` with `newName` renames the table first (inbound keys follow), and its
///   column renames carry the table's indexes and keys and other tables' keys along.
///
/// Deliberately not modelled: PostgreSQL's implicit effects on objects that depend on a
/// dropped *column* (indexes and keys dropped with `DROP COLUMN`). The
/// result is what the migration intends, which is what cross-checks against the target
/// definition need. Statements that PostgreSQL would reject (altering a missing table, adding
/// an existing name) are applied leniently instead of failing: a missing table's alter is
/// skipped, an existing index or key of the same name is replaced.
pub fn apply_migration(def: &DatabaseDefinition, migration: &crate::DatabaseMigration) -> DatabaseDefinition {
    let mut out = def.clone();
    // Keys added at the end of the script: (table, key).
    let mut pending: Vec<(String, ForeignKeyDefinition)> = Vec::new();
    // Keys removed by DROP TABLE ... CASCADE: (owning table, key).
    let mut cascaded: Vec<(String, ForeignKeyDefinition)> = Vec::new();
    let mut dropped: BTreeSet<String> = BTreeSet::new();
    let mut created: BTreeSet<String> = BTreeSet::new();
    // Keys an alter action dropped or added explicitly: (table, constraint).
    let mut explicit: BTreeSet<(String, String)> = BTreeSet::new();
    // Lookup only, so that replaying a migration stays linear in the table count.
    let mut by_name = positions(&out.tables);

    for action in &migration.actions {
        match action {
            MigrationAction::DeleteTable(name) => {
                let Some(&pos) = by_name.get(name) else { continue };
                out.tables.remove(pos);
                by_name = positions(&out.tables);
                dropped.insert(name.clone());
                for t in &mut out.tables {
                    let owner = t.name.clone();
                    t.foreign_keys.retain(|fk| {
                        let inbound = &fk.reference_table == name;
                        if inbound {
                            cascaded.push((owner.clone(), fk.clone()));
                        }
                        !inbound
                    });
                }
            }
            MigrationAction::CreateTable(table) => {
                let mut t = table.clone();
                pending
                    .extend(std::mem::take(&mut t.foreign_keys).into_iter().map(|fk| (t.name.clone(), fk)));
                created.insert(t.name.clone());
                match by_name.get(&t.name) {
                    Some(&i) => out.tables[i] = t,
                    None => {
                        by_name.insert(t.name.clone(), out.tables.len());
                        out.tables.push(t);
                    }
                }
            }
            MigrationAction::CreateTableIfNotExists(table) => {
                let mut t = table.clone();
                // The script adds these keys unconditionally, even to an existing table.
                pending
                    .extend(std::mem::take(&mut t.foreign_keys).into_iter().map(|fk| (t.name.clone(), fk)));
                created.insert(t.name.clone());
                match by_name.get(&t.name) {
                    Some(&i) => {
                        let existing = &mut out.tables[i];
                        for index in t.indexes {
                            if existing.index(&index.index_name).is_none() {
                                existing.indexes.push(index);
                            }
                        }
                    }
                    None => {
                        by_name.insert(t.name.clone(), out.tables.len());
                        out.tables.push(t);
                    }
                }
            }
            MigrationAction::AlterTable(m) => {
                let Some(&i) = by_name.get(&m.name) else { continue };
                if let Some(new_name) = &m.new_name {
                    rename_table(&mut out.tables, i, new_name);
                    by_name = positions(&out.tables);
                }
                follow_column_renames(&mut out.tables, i, m);
                alter(&mut out.tables[i], m, &mut pending, &mut explicit);
            }
        }
    }

    for (table, fk) in pending {
        if let Some(&i) = by_name.get(&table) {
            put_foreign_key(&mut out.tables[i], fk);
        }
    }

    for (owner, fk) in cascaded {
        let recreated = dropped.contains(&fk.reference_table) && created.contains(&fk.reference_table);
        if !recreated
            || created.contains(&owner)
            || explicit.contains(&(owner.clone(), fk.constraint_name.clone()))
            || !by_name.contains_key(&fk.reference_table)
        {
            continue;
        }
        if let Some(&i) = by_name.get(&owner) {
            let t = &mut out.tables[i];
            if t.is_managed() && t.foreign_key(&fk.constraint_name).is_none() {
                t.foreign_keys.push(fk);
            }
        }
    }
    out
}

/// Each table name's first position in `tables` (what a linear `find` would return).
fn positions(tables: &[TableDefinition]) -> BTreeMap<String, usize> {
    let mut map = BTreeMap::new();
    for (i, t) in tables.iter().enumerate() {
        map.entry(t.name.clone()).or_insert(i);
    }
    map
}

/// `ALTER TABLE ... RENAME TO ...`: the table takes the new name and every foreign key that
/// pointed at it follows, as in PostgreSQL and SQLite.
fn rename_table(tables: &mut [TableDefinition], i: usize, new_name: &str) {
    let old = std::mem::replace(&mut tables[i].name, new_name.to_string());
    for t in tables.iter_mut() {
        for fk in &mut t.foreign_keys {
            if fk.reference_table == old {
                fk.reference_table = new_name.to_string();
            }
        }
    }
}

/// What `RENAME COLUMN` does to the objects that use the column: its table's indexes and
/// foreign keys, and the foreign keys of any table that references it, follow the new name.
/// (The column itself is renamed by [`alter`].)
fn follow_column_renames(tables: &mut [TableDefinition], i: usize, m: &TableMigration) {
    let renames: Vec<(&str, &str)> = m
        .modify_columns
        .iter()
        .filter_map(|c| Some((c.column_name.as_str(), c.new_column_name.as_deref()?)))
        .collect();
    if renames.is_empty() {
        return;
    }
    let renamed = |name: &mut String| {
        if let Some((_, to)) = renames.iter().find(|(from, _)| *from == name.as_str()) {
            *name = to.to_string();
        }
    };
    let table_name = tables[i].name.clone();
    for index in &mut tables[i].indexes {
        for e in &mut index.elements {
            if e.element_type == strata_schema::IndexElementType::Column {
                renamed(&mut e.definition);
            }
        }
    }
    for fk in &mut tables[i].foreign_keys {
        fk.columns.iter_mut().for_each(renamed);
    }
    for t in tables.iter_mut() {
        for fk in t.foreign_keys.iter_mut().filter(|fk| fk.reference_table == table_name) {
            fk.reference_columns.iter_mut().for_each(renamed);
        }
    }
}

/// Replaces a key of the same name, or appends.
fn put_foreign_key(t: &mut TableDefinition, fk: ForeignKeyDefinition) {
    match t.foreign_keys.iter_mut().find(|x| x.constraint_name == fk.constraint_name) {
        Some(existing) => *existing = fk,
        None => t.foreign_keys.push(fk),
    }
}

/// One `alterTable` action, in the script's fixed statement order.
fn alter(
    table: &mut TableDefinition,
    m: &TableMigration,
    pending: &mut Vec<(String, ForeignKeyDefinition)>,
    explicit: &mut BTreeSet<(String, String)>,
) {
    table.indexes.retain(|i| !m.delete_indexes.contains(&i.index_name));
    table.foreign_keys.retain(|f| !m.delete_foreign_keys.contains(&f.constraint_name));
    for name in &m.delete_foreign_keys {
        explicit.insert((table.name.clone(), name.clone()));
    }
    for name in &m.delete_columns {
        if let Some(pos) = table.columns.iter().position(|c| &c.name == name) {
            table.columns.remove(pos);
        }
    }
    // Renames are resolved against the pre-rename names all at once, so that a chain or a swap
    // of names ends as the diff meant it.
    let renames: Vec<(&str, &str)> = m
        .modify_columns
        .iter()
        .filter_map(|c| Some((c.column_name.as_str(), c.new_column_name.as_deref()?)))
        .collect();
    for column in &mut table.columns {
        if let Some((_, to)) = renames.iter().find(|(from, _)| *from == column.name) {
            column.name = to.to_string();
        }
    }
    table.columns.extend(m.add_columns.iter().cloned());
    for c in &m.modify_columns {
        let Some(column) = table.columns.iter_mut().find(|x| x.name == c.final_name()) else { continue };
        if c.add_nullable {
            column.is_nullable = true;
        } else if c.remove_nullable {
            column.is_nullable = false;
        }
        if c.change_default {
            column.column_default = c.new_default.clone();
        }
        if let Some(t) = c.new_type {
            column.column_type = t;
        }
        if let Some(native) = &c.new_native_type {
            column.native_type = Some(native.clone());
        }
        if c.change_identity {
            column.identity = c.new_identity;
            column.identity_options = c.new_identity.and(c.new_identity_options);
        }
        if c.drop_expression {
            column.generated = None;
        }
    }
    crate::keys::apply_key_migration(table, &m.keys, &renames);
    for index in &m.add_indexes {
        match table.indexes.iter_mut().find(|x| x.index_name == index.index_name) {
            Some(existing) => *existing = index.clone(),
            None => table.indexes.push(index.clone()),
        }
    }
    for fk in &m.add_foreign_keys {
        explicit.insert((table.name.clone(), fk.constraint_name.clone()));
        pending.push((table.name.clone(), fk.clone()));
    }
}
