//! Primary key, unique, check and exclusion constraint changes of one table (strata's
//! `keyChanges`).
//!
//! A table whose primary key both sides leave to Serverpod's `id` rule gets no key change:
//! Serverpod's own handling of the `id` column stands, so generated migrations keep their bytes.
//! Check and exclusion constraints are matched by name: a changed one is dropped and added, and so
//! is one that names a column the migration drops or retypes (PostgreSQL drops a constraint with
//! its column, and a check may not hold, or even type-check, over the new type).

use std::collections::BTreeSet;

use strata_schema::{CheckConstraint, ColumnDefinition, KeyConstraint, KeyMigration, TableDefinition};

/// The columns an `alterTable` action drops or changes the type of: constraints naming them are
/// dropped before and added again after.
pub(crate) type Reshaped<'a> = BTreeSet<&'a str>;

use crate::compare::{list_text, push, Change, Difference, DifferenceKind, ObjectKind};

/// What the keys of the table `src` → `dst` need. `renames` are the column renames (PostgreSQL
/// carries a constraint along with a renamed column); `recreated` the columns dropped and added
/// back (their constraints die with them); `reshaped` the columns dropped or retyped; `added` the
/// columns the migration adds.
pub(crate) fn key_migration(
    src: &TableDefinition,
    dst: &TableDefinition,
    renames: &[(&str, &str)],
    recreated: &BTreeSet<&str>,
    reshaped: &Reshaped,
    added: &[ColumnDefinition],
) -> KeyMigration {
    let mut m = KeyMigration::default();
    primary_key_change(src, dst, renames, recreated, added, &mut m);
    unique_changes(src, dst, renames, recreated, &mut m);
    check_changes(src, dst, reshaped, &mut m);
    exclusion_changes(src, dst, reshaped, &mut m);
    m
}

/// Whether the SQL text `sql` names one of `columns` (as a bare word or a quoted identifier).
/// A false match only costs a drop and add of the constraint; a missed one would leave it
/// dropped with its column, so any mention counts.
fn mentions_any(sql: &str, columns: &Reshaped) -> bool {
    let words: BTreeSet<&str> = sql
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| !w.is_empty())
        .collect();
    columns.iter().any(|c| words.contains(c) || sql.contains(&format!("\"{}\"", c.replace('"', "\"\""))))
}

/// Checks of `dst` that `src` lacks, has otherwise, or has over a reshaped column, are added
/// (the old one, if any, dropped first); checks gone from `dst` are dropped.
fn check_changes(src: &TableDefinition, dst: &TableDefinition, reshaped: &Reshaped, m: &mut KeyMigration) {
    let kept = |name: &str| {
        let (old, new) = (src.keys.check(name), dst.keys.check(name));
        old.zip(new).is_some_and(|(o, n)| o.same_rule(n) && !mentions_any(&o.expression, reshaped))
    };
    m.drop.extend(src.keys.checks.iter().filter(|c| !kept(&c.name)).map(|c| c.name.clone()));
    m.add_checks.extend(dst.keys.checks.iter().filter(|c| !kept(&c.name)).cloned());
}

/// [`check_changes`] for exclusion constraints.
fn exclusion_changes(
    src: &TableDefinition,
    dst: &TableDefinition,
    reshaped: &Reshaped,
    m: &mut KeyMigration,
) {
    let kept = |name: &str| {
        let (old, new) = (src.keys.exclusion(name), dst.keys.exclusion(name));
        old.zip(new).is_some_and(|(o, n)| o == n && !mentions_any(&o.definition, reshaped))
    };
    m.drop.extend(src.keys.exclusions.iter().filter(|x| !kept(&x.name)).map(|x| x.name.clone()));
    m.add_exclusions.extend(dst.keys.exclusions.iter().filter(|x| !kept(&x.name)).cloned());
}

/// `key` with its columns as they are after the column renames.
fn after_renames(key: &KeyConstraint, renames: &[(&str, &str)]) -> KeyConstraint {
    let mut key = key.clone();
    for c in &mut key.columns {
        if let Some((_, to)) = renames.iter().find(|(from, _)| *from == c.as_str()) {
            *c = to.to_string();
        }
    }
    key
}

fn touches(key: &KeyConstraint, recreated: &BTreeSet<&str>) -> bool {
    key.columns.iter().any(|c| recreated.contains(c.as_str()))
}

fn primary_key_change(
    src: &TableDefinition,
    dst: &TableDefinition,
    renames: &[(&str, &str)],
    recreated: &BTreeSet<&str>,
    added: &[ColumnDefinition],
    m: &mut KeyMigration,
) {
    let explicit = src.keys.states_primary_key() || dst.keys.states_primary_key();
    if !explicit {
        return;
    }
    let old = src.effective_primary_key().map(|k| after_renames(&k, renames));
    let new = dst.effective_primary_key();
    match (old, new) {
        (Some(old), Some(new)) if old.same_shape(&new) && !touches(&old, recreated) => {
            // An implied key's real name is unknown in a file: only two stated names differ.
            let both_named = src.keys.primary_key.is_some() && dst.keys.primary_key.is_some();
            if both_named && old.name != new.name {
                m.rename.push((old.name, new.name));
            }
        }
        (old, new) => {
            if let Some(old) = old {
                m.drop.push(old.name);
            }
            // An `id` column added by this migration brings its implied key with it.
            let implied_comes_with_column =
                !dst.keys.states_primary_key() && added.iter().any(|c| c.is_primary());
            if !implied_comes_with_column {
                m.add_primary_key = new;
            }
        }
    }
}

fn unique_changes(
    src: &TableDefinition,
    dst: &TableDefinition,
    renames: &[(&str, &str)],
    recreated: &BTreeSet<&str>,
    m: &mut KeyMigration,
) {
    let old: Vec<KeyConstraint> = src.keys.unique.iter().map(|k| after_renames(k, renames)).collect();
    let kept = |k: &KeyConstraint| {
        dst.keys.unique(&k.name).is_some_and(|d| d.same_shape(k)) && !touches(k, recreated)
    };
    let mut gone: Vec<&KeyConstraint> = old.iter().filter(|k| !kept(k)).collect();
    for new in dst.keys.unique.iter() {
        if old.iter().any(|k| k.name == new.name && kept(k)) {
            continue;
        }
        // Same shape under another name, and that name is not kept: a rename.
        let renamed = gone
            .iter()
            .position(|k| k.same_shape(new) && dst.keys.unique(&k.name).is_none() && !touches(k, recreated));
        match renamed {
            Some(i) if src.keys.unique(&new.name).is_none() => {
                let from = gone.remove(i);
                m.rename.push((from.name.clone(), new.name.clone()));
            }
            _ => m.add_unique.push(new.clone()),
        }
    }
    m.drop.extend(gone.into_iter().map(|k| k.name.clone()));
}

/// What the key statements of `m` do to `table` (for [`crate::apply_migration`]), after its
/// column renames `renames`.
pub(crate) fn apply_key_migration(table: &mut TableDefinition, m: &KeyMigration, renames: &[(&str, &str)]) {
    let dropped = table.effective_primary_key().is_some_and(|pk| m.drop.contains(&pk.name));
    let has_id = table.column("id").is_some();
    let keys = &mut table.keys;
    if let Some(pk) = &mut keys.primary_key {
        *pk = after_renames(pk, renames);
    }
    for u in &mut keys.unique {
        *u = after_renames(u, renames);
    }
    if dropped {
        keys.primary_key = None;
        keys.without_primary_key = true;
    }
    keys.unique.retain(|u| !m.drop.contains(&u.name));
    for (from, to) in &m.rename {
        let named = keys.primary_key.iter_mut().chain(keys.unique.iter_mut()).find(|k| &k.name == from);
        if let Some(k) = named {
            k.name = to.clone();
        }
    }
    if let Some(pk) = &m.add_primary_key {
        // Serverpod's own key is stated by leaving it out.
        let implied = pk.columns == ["id"] && pk.name == strata_schema::default_primary_key_name(&table.name);
        keys.primary_key = (!implied).then(|| pk.clone());
        keys.without_primary_key = false;
    }
    keys.without_primary_key &= keys.primary_key.is_none() && has_id;
    keys.unique.extend(m.add_unique.iter().cloned());
    keys.unique.sort_by(|a, b| a.name.cmp(&b.name));
    keys.checks.retain(|c| !m.drop.contains(&c.name));
    keys.checks.extend(m.add_checks.iter().cloned());
    keys.checks.sort_by(|a, b| a.name.cmp(&b.name));
    keys.exclusions.retain(|x| !m.drop.contains(&x.name));
    keys.exclusions.extend(m.add_exclusions.iter().cloned());
    keys.exclusions.sort_by(|a, b| a.name.cmp(&b.name));
}

/// The key constraints that differ between two versions of a table, for drift reports: the
/// primary key when either side states one, and the unique constraints by name.
pub(crate) fn key_differences(a: &TableDefinition, b: &TableDefinition) -> Vec<Difference> {
    let diff = |kind, name: &str, difference| Difference {
        table: a.name.clone(),
        kind,
        name: name.to_string(),
        difference,
    };
    let mut out = Vec::new();
    if a.keys.states_primary_key() || b.keys.states_primary_key() {
        let both_named = a.keys.primary_key.is_some() && b.keys.primary_key.is_some();
        match (a.effective_primary_key(), b.effective_primary_key()) {
            (Some(x), Some(y)) => {
                let mut changes = key_changes(&x, &y);
                if both_named && x.name != y.name {
                    push(&mut changes, "name", x.name.clone(), y.name.clone());
                }
                if !changes.is_empty() {
                    out.push(diff(ObjectKind::PrimaryKey, &x.name, DifferenceKind::Changed(changes)));
                }
            }
            (Some(x), None) => out.push(diff(ObjectKind::PrimaryKey, &x.name, DifferenceKind::Removed)),
            (None, Some(y)) => out.push(diff(ObjectKind::PrimaryKey, &y.name, DifferenceKind::Added)),
            (None, None) => {}
        }
    }
    for x in &a.keys.unique {
        match b.keys.unique(&x.name) {
            Some(y) => {
                let changes = key_changes(x, y);
                if !changes.is_empty() {
                    out.push(diff(ObjectKind::UniqueConstraint, &x.name, DifferenceKind::Changed(changes)));
                }
            }
            None => out.push(diff(ObjectKind::UniqueConstraint, &x.name, DifferenceKind::Removed)),
        }
    }
    for y in b.keys.unique.iter().filter(|y| a.keys.unique(&y.name).is_none()) {
        out.push(diff(ObjectKind::UniqueConstraint, &y.name, DifferenceKind::Added));
    }
    out.extend(check_differences(a, b));
    out.extend(exclusion_differences(a, b));
    out
}

/// The check constraints that differ, by name.
fn check_differences(a: &TableDefinition, b: &TableDefinition) -> Vec<Difference> {
    let text = |c: &CheckConstraint| {
        let mut t = format!("CHECK ({})", c.expression);
        if c.no_inherit {
            t.push_str(" NO INHERIT");
        }
        if c.not_valid {
            t.push_str(" NOT VALID");
        }
        t
    };
    named_differences(&a.name, ObjectKind::CheckConstraint, &a.keys.checks, &b.keys.checks, |c| &c.name, text)
}

/// The exclusion constraints that differ, by name.
fn exclusion_differences(a: &TableDefinition, b: &TableDefinition) -> Vec<Difference> {
    let (x, y) = (&a.keys.exclusions, &b.keys.exclusions);
    named_differences(&a.name, ObjectKind::ExclusionConstraint, x, y, |x| &x.name, |x| x.definition.clone())
}

/// Objects of two lists matched by exact name, compared by their rendering `text`: changed
/// (`definition X → Y`), removed (only in `x`), added (only in `y`).
fn named_differences<T>(
    table: &str,
    kind: ObjectKind,
    x: &[T],
    y: &[T],
    name: impl Fn(&T) -> &String,
    text: impl Fn(&T) -> String,
) -> Vec<Difference> {
    let diff =
        |n: &str, difference| Difference { table: table.to_string(), kind, name: n.to_string(), difference };
    let mut out = Vec::new();
    for old in x {
        match y.iter().find(|n| name(n) == name(old)) {
            Some(new) if text(new) != text(old) => {
                let changes = vec![Change { property: "definition", from: text(old), to: text(new) }];
                out.push(diff(name(old), DifferenceKind::Changed(changes)));
            }
            Some(_) => {}
            None => out.push(diff(name(old), DifferenceKind::Removed)),
        }
    }
    for new in y.iter().filter(|n| !x.iter().any(|o| name(o) == name(n))) {
        out.push(diff(name(new), DifferenceKind::Added));
    }
    out
}

/// The properties of two keys that differ, apart from the name.
fn key_changes(x: &KeyConstraint, y: &KeyConstraint) -> Vec<Change> {
    let mut changes = Vec::new();
    if x.columns != y.columns {
        push(&mut changes, "columns", list_text(&x.columns), list_text(&y.columns));
    }
    if x.nulls_not_distinct != y.nulls_not_distinct {
        let text = |n: bool| if n { "nulls not distinct" } else { "nulls distinct" }.to_string();
        push(&mut changes, "nulls", text(x.nulls_not_distinct), text(y.nulls_not_distinct));
    }
    if x.deferrable != y.deferrable {
        let text =
            |d: Option<strata_schema::Deferrable>| d.map_or("not deferrable", |d| d.name()).to_string();
        push(&mut changes, "deferrable", text(x.deferrable), text(y.deferrable));
    }
    changes
}
