//! Renames the diff cannot see by itself: a table or column that disappears while one of the
//! same shape appears. Serverpod turns these into drop + add (data loss behind `--force`);
//! here they are proposed as [`RenameCandidate`]s, and the ones a user chooses ([`RenamePlan`])
//! become `RENAME` statements that keep the rows, indexes and foreign keys.
//!
//! * [`rename_candidates`]: the undecided pairs, each flagged when it is ambiguous (one object
//!   matches several others): reported, never guessed.
//! * [`generate_migration_with_renames`]: the diff with the plan applied. The source is first
//!   rewritten as if the renames had already happened (tables, columns, the indexes and keys
//!   that use them, inbound keys), so the ordinary diff sees only what else changed; then the
//!   rename actions are put in front, ordered so that chains and swaps run (temporary names
//!   for cycles, [`strata_schema::rename_steps`]).
//!
//! Pure and deterministic like the rest of the crate.

use std::collections::BTreeMap;
use std::fmt;

use strata_schema::{
    ColumnDefinition, ColumnMigration, DatabaseDefinition, DatabaseMigration, IndexElementType,
    MigrationAction, TableDefinition, TableMigration,
};

use crate::compare::{can_migrate_to, pg_type_text};

/// One chosen or proposed rename. Column renames name their table as the new models do.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rename {
    Table { from: String, to: String },
    Column { table: String, from: String, to: String },
}

impl Rename {
    /// The `--rename` argument that chooses this rename (`old=new`, `table.old=table.new`).
    pub fn flag(&self) -> String {
        match self {
            Rename::Table { from, to } => format!("{from}={to}"),
            Rename::Column { table, from, to } => format!("{table}.{from}={table}.{to}"),
        }
    }

    /// Parses a `--rename` argument: `old=new` renames a table, `table.old=table.new` a column
    /// (both sides name the same table).
    pub fn parse(text: &str) -> Result<Rename, RenameError> {
        let bad = |why: &str| RenameError::Syntax { flag: text.to_string(), why: why.to_string() };
        let (from, to) = text.split_once('=').ok_or_else(|| bad("it has no \"=\""))?;
        let (from, to) = (from.trim(), to.trim());
        match (from.split_once('.'), to.split_once('.')) {
            (None, None) if !from.is_empty() && !to.is_empty() => {
                Ok(Rename::Table { from: from.to_string(), to: to.to_string() })
            }
            (Some((table, old)), Some((table_again, new))) => {
                if table != table_again {
                    return Err(bad("a column rename names the same table on both sides (a table rename is a separate --rename old=new)"));
                }
                if table.is_empty()
                    || old.is_empty()
                    || new.is_empty()
                    || old.contains('.')
                    || new.contains('.')
                {
                    return Err(bad("expected table.old=table.new"));
                }
                Ok(Rename::Column { table: table.to_string(), from: old.to_string(), to: new.to_string() })
            }
            _ => Err(bad("expected old=new (a table) or table.old=table.new (a column)")),
        }
    }

    fn names(&self) -> (&str, &str) {
        match self {
            Rename::Table { from, to } | Rename::Column { from, to, .. } => (from, to),
        }
    }
}

impl fmt::Display for Rename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rename::Table { from, to } => write!(f, "table {from} to {to}"),
            Rename::Column { table, from, to } => write!(f, "column {table}.{from} to {table}.{to}"),
        }
    }
}

/// A rename the diff proposes: `from` disappears, `to` of the same shape appears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenameCandidate {
    pub rename: Rename,
    /// `from` or `to` also pairs with another object: only the user can tell which is meant.
    pub ambiguous: bool,
}

/// The renames the user chose (`--rename`, or a "yes" at the prompt).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenamePlan {
    pub renames: Vec<Rename>,
}

/// A rename that cannot be applied, saying which and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenameError {
    #[error("--rename {flag}: {why}")]
    Syntax { flag: String, why: String },
    #[error("--rename {flag}: {what} does not exist {side}; check the name (renames use table and column names, not class or field names)")]
    Missing { flag: String, what: String, side: &'static str },
    #[error("--rename {flag}: {what} still exists {side}, so it is not renamed; drop the --rename, or also rename that one away")]
    StillThere { flag: String, what: String, side: &'static str },
    #[error("--rename {flag}: {name} is renamed twice; pass one --rename per {kind}")]
    Twice { flag: String, name: String, kind: &'static str },
    #[error(
        "--rename {flag}: the column changes type from {from_type} to {to_type}, which cannot be \
         done in place, so the rename would still lose its values; rename it in one migration \
         (keeping the type) and change the type in the next, or pass --no-rename to drop and re-add it"
    )]
    Incompatible { flag: String, from_type: String, to_type: String },
}

/// The renames still undecided: dropped and added tables of the same columns (name and type),
/// then, within kept tables, dropped and added columns of the same type, nullability and
/// default. Objects the plan already renames are not proposed again. Candidates come in
/// source order (tables, then each table's columns in target order).
pub fn rename_candidates(
    source: &DatabaseDefinition,
    target: &DatabaseDefinition,
    plan: &RenamePlan,
) -> Vec<RenameCandidate> {
    let renamed = apply_plan_to_source(source, target, plan);
    let mut out = table_candidates(&renamed, target);
    for dst in target.tables.iter().filter(|t| t.is_managed()) {
        let Some(src) = renamed.table(&dst.name).filter(|t| t.is_managed()) else { continue };
        out.extend(column_candidates(src, dst));
    }
    out
}

/// Pairs of `(dropped, added)` with `same`, each flagged ambiguous when either side pairs more
/// than once.
fn pair_up<T>(dropped: &[T], added: &[T], same: impl Fn(&T, &T) -> bool) -> Vec<(usize, usize, bool)> {
    let mut pairs = Vec::new();
    for (i, d) in dropped.iter().enumerate() {
        for (j, a) in added.iter().enumerate() {
            if same(d, a) {
                pairs.push((i, j));
            }
        }
    }
    let count = |f: &dyn Fn(&(usize, usize)) -> bool| pairs.iter().filter(|p| f(p)).count();
    pairs.iter().map(|&(i, j)| (i, j, count(&|p| p.0 == i) > 1 || count(&|p| p.1 == j) > 1)).collect()
}

fn table_candidates(source: &DatabaseDefinition, target: &DatabaseDefinition) -> Vec<RenameCandidate> {
    let dropped: Vec<&TableDefinition> =
        source.tables.iter().filter(|t| t.is_managed() && target.table(&t.name).is_none()).collect();
    let added: Vec<&TableDefinition> =
        target.tables.iter().filter(|t| t.is_managed() && source.table(&t.name).is_none()).collect();
    let shape = |t: &TableDefinition| {
        let mut columns: Vec<(String, strata_schema::ColumnType)> =
            t.columns.iter().map(|c| (c.name.clone(), c.column_type)).collect();
        columns.sort();
        columns
    };
    pair_up(&dropped, &added, |a, b| shape(a) == shape(b))
        .into_iter()
        .map(|(i, j, ambiguous)| RenameCandidate {
            rename: Rename::Table { from: dropped[i].name.clone(), to: added[j].name.clone() },
            ambiguous,
        })
        .collect()
}

fn column_candidates(src: &TableDefinition, dst: &TableDefinition) -> Vec<RenameCandidate> {
    let serverpod_renames = crate::field_renames(src, dst);
    let dropped: Vec<&ColumnDefinition> = src
        .columns
        .iter()
        .filter(|c| dst.column(&c.name).is_none() && !serverpod_renames.iter().any(|(f, _)| *f == c.name))
        .collect();
    let added: Vec<&ColumnDefinition> = dst
        .columns
        .iter()
        .filter(|c| src.column(&c.name).is_none() && !serverpod_renames.iter().any(|(_, t)| *t == c.name))
        .collect();
    pair_up(&dropped, &added, |a, b| same_column_shape(a, b))
        .into_iter()
        .map(|(i, j, ambiguous)| RenameCandidate {
            rename: Rename::Column {
                table: dst.name.clone(),
                from: dropped[i].name.clone(),
                to: added[j].name.clone(),
            },
            ambiguous,
        })
        .collect()
}

/// Everything but the names: type, nullability, default, vector size, native and Dart type.
fn same_column_shape(a: &ColumnDefinition, b: &ColumnDefinition) -> bool {
    a.column_type == b.column_type
        && a.is_nullable == b.is_nullable
        && a.column_default == b.column_default
        && a.vector_dimension == b.vector_dimension
        && a.native_type == b.native_type
        && a.dart_type == b.dart_type
}

/// The migration from `source` to `target` with the plan's renames made as `RENAME`
/// statements. Without renames it is exactly [`crate::generate_migration`].
pub fn generate_migration_with_renames(
    source: &DatabaseDefinition,
    target: &DatabaseDefinition,
    plan: &RenamePlan,
) -> Result<DatabaseMigration, RenameError> {
    if plan.renames.is_empty() {
        return Ok(crate::generate_migration(source, target));
    }
    validate_plan(source, target, plan)?;
    let renamed = apply_plan_to_source(source, target, plan);
    let mut migration = crate::generate_migration(&renamed, target);
    insert_rename_actions(&mut migration, source, target, plan);
    Ok(migration)
}

/// Table renames (`from`, `to`) of the plan.
fn table_pairs(plan: &RenamePlan) -> Vec<(String, String)> {
    plan.renames
        .iter()
        .filter_map(|r| match r {
            Rename::Table { from, to } => Some((from.clone(), to.clone())),
            Rename::Column { .. } => None,
        })
        .collect()
}

/// Checks every rename against the definitions before anything is generated.
fn validate_plan(
    source: &DatabaseDefinition,
    target: &DatabaseDefinition,
    plan: &RenamePlan,
) -> Result<(), RenameError> {
    let check = PlanCheck { source, target, plan, tables: table_pairs(plan) };
    let mut seen: Vec<(Option<&str>, &str, &str)> = Vec::new();
    for r in &plan.renames {
        let flag = r.flag();
        let (from, to) = r.names();
        let table = match r {
            Rename::Table { .. } => None,
            Rename::Column { table, .. } => Some(table.as_str()),
        };
        let kind = if table.is_some() { "column" } else { "table" };
        for (name, is_from) in [(from, true), (to, false)] {
            let twice =
                seen.iter().any(|(t, f, o)| *t == table && if is_from { *f == name } else { *o == name });
            if twice {
                return Err(RenameError::Twice { flag, name: name.to_string(), kind });
            }
        }
        seen.push((table, from, to));
        match table {
            None => check.table_rename(&flag, from, to)?,
            Some(t) => check.column_rename(&flag, t, from, to)?,
        }
    }
    Ok(())
}

/// What checking one rename needs to see: both definitions, the whole plan (a name another
/// rename frees may be taken), and its table renames.
struct PlanCheck<'a> {
    source: &'a DatabaseDefinition,
    target: &'a DatabaseDefinition,
    plan: &'a RenamePlan,
    tables: Vec<(String, String)>,
}

impl PlanCheck<'_> {
    fn table_rename(&self, flag: &str, from: &str, to: &str) -> Result<(), RenameError> {
        let (source, target, tables) = (self.source, self.target, &self.tables);
        let managed = |def: &DatabaseDefinition, name: &str| def.table(name).is_some_and(|t| t.is_managed());
        if !managed(source, from) {
            return Err(RenameError::Missing {
                flag: flag.into(),
                what: format!("table {from}"),
                side: "in the previous migration",
            });
        }
        if !managed(target, to) {
            return Err(RenameError::Missing {
                flag: flag.into(),
                what: format!("table {to}"),
                side: "in the models",
            });
        }
        if target.table(from).is_some() && !tables.iter().any(|(_, t)| t == from) {
            return Err(RenameError::StillThere {
                flag: flag.into(),
                what: format!("table {from}"),
                side: "in the models",
            });
        }
        if source.table(to).is_some() && !tables.iter().any(|(f, _)| f == to) {
            return Err(RenameError::StillThere {
                flag: flag.into(),
                what: format!("table {to}"),
                side: "in the previous migration",
            });
        }
        Ok(())
    }

    fn column_rename(&self, flag: &str, table: &str, from: &str, to: &str) -> Result<(), RenameError> {
        let (source, target, plan, tables) = (self.source, self.target, self.plan, &self.tables);
        let missing = |what: String, side| RenameError::Missing { flag: flag.into(), what, side };
        let dst = target
            .table(table)
            .filter(|t| t.is_managed())
            .ok_or_else(|| missing(format!("table {table}"), "in the models"))?;
        let old_table = tables.iter().find(|(_, t)| t == table).map(|(f, _)| f.as_str()).unwrap_or(table);
        let src = source
            .table(old_table)
            .filter(|t| t.is_managed())
            .ok_or_else(|| missing(format!("table {old_table}"), "in the previous migration"))?;
        let from_column = src
            .column(from)
            .ok_or_else(|| missing(format!("column {table}.{from}"), "in the previous migration"))?;
        let to_column =
            dst.column(to).ok_or_else(|| missing(format!("column {table}.{to}"), "in the models"))?;
        let renamed_in_table = |pred: &dyn Fn(&str, &str) -> bool| {
            plan.renames
                .iter()
                .any(|r| matches!(r, Rename::Column { table: t, from: f, to: o } if t == table && pred(f, o)))
        };
        if dst.column(from).is_some() && !renamed_in_table(&|_, o| o == from) {
            return Err(RenameError::StillThere {
                flag: flag.into(),
                what: format!("column {table}.{from}"),
                side: "in the models",
            });
        }
        if src.column(to).is_some() && !renamed_in_table(&|f, _| f == to) {
            return Err(RenameError::StillThere {
                flag: flag.into(),
                what: format!("column {table}.{to}"),
                side: "in the previous migration",
            });
        }
        if !can_migrate_to(from_column, to_column) {
            return Err(RenameError::Incompatible {
                flag: flag.into(),
                from_type: type_label(from_column),
                to_type: type_label(to_column),
            });
        }
        Ok(())
    }
}

/// A column's type for messages: the Dart type when the models give one, else the SQL type.
fn type_label(c: &ColumnDefinition) -> String {
    c.dart_type.clone().unwrap_or_else(|| pg_type_text(c))
}

/// `source` as it would be had the plan's renames already run: tables and columns under their
/// new names (renamed columns also take the new field name, so that Serverpod's own rename
/// detection does not pair them again), with the indexes and foreign keys that use them
/// following, as PostgreSQL and SQLite do. All renames of one kind apply at once, so a swap
/// is a swap.
fn apply_plan_to_source(
    source: &DatabaseDefinition,
    target: &DatabaseDefinition,
    plan: &RenamePlan,
) -> DatabaseDefinition {
    let mut out = source.clone();
    let tables: BTreeMap<String, String> = table_pairs(plan).into_iter().collect();
    for t in &mut out.tables {
        if let Some(to) = tables.get(&t.name) {
            t.name = to.clone();
        }
        for fk in &mut t.foreign_keys {
            if let Some(to) = tables.get(&fk.reference_table) {
                fk.reference_table = to.clone();
            }
        }
    }
    // (table, old column) -> new column, tables already under their new names.
    let mut columns: BTreeMap<(String, String), String> = BTreeMap::new();
    for r in &plan.renames {
        if let Rename::Column { table, from, to } = r {
            columns.insert((table.clone(), from.clone()), to.clone());
        }
    }
    if columns.is_empty() {
        return out;
    }
    let new_name = |table: &str, column: &str| columns.get(&(table.to_string(), column.to_string())).cloned();
    for t in &mut out.tables {
        let table = t.name.clone();
        for c in &mut t.columns {
            if let Some(to) = new_name(&table, &c.name) {
                c.field_name =
                    target.table(&table).and_then(|d| d.column(&to)).and_then(|d| d.field_name.clone());
                c.name = to;
            }
        }
        for index in &mut t.indexes {
            for e in index.elements.iter_mut().filter(|e| e.element_type == IndexElementType::Column) {
                if let Some(to) = new_name(&table, &e.definition) {
                    e.definition = to;
                }
            }
        }
        for fk in &mut t.foreign_keys {
            for c in &mut fk.columns {
                if let Some(to) = new_name(&table, c) {
                    *c = to;
                }
            }
            for c in &mut fk.reference_columns {
                if let Some(to) = new_name(&fk.reference_table, c) {
                    *c = to;
                }
            }
        }
    }
    out
}

/// Puts the plan's renames into the migration the diff made from the renamed source: table
/// renames as ordered `alterTable`/`newName` actions right after the leading drops (a name a
/// dropped table frees can be taken; created tables come after), column renames as
/// `newColumnName` entries in their table's `alterTable` (one is added when the table has no
/// other change). A table the diff recreates has nothing left to rename.
fn insert_rename_actions(
    migration: &mut DatabaseMigration,
    source: &DatabaseDefinition,
    target: &DatabaseDefinition,
    plan: &RenamePlan,
) {
    let rename_actions = table_rename_actions(source, target, plan);
    let added_alters = attach_column_renames(migration, target, plan);
    let leading_drops =
        migration.actions.iter().take_while(|a| matches!(a, MigrationAction::DeleteTable(_))).count();
    let tail = migration.actions.split_off(leading_drops);
    migration.actions.extend(rename_actions);
    migration.actions.extend(added_alters);
    migration.actions.extend(tail);
}

/// The table renames as `alterTable`/`newName` actions, one per step of [`strata_schema::rename_steps`].
fn table_rename_actions(
    source: &DatabaseDefinition,
    target: &DatabaseDefinition,
    plan: &RenamePlan,
) -> Vec<MigrationAction> {
    let taken = |name: &str| source.table(name).is_some() || target.table(name).is_some();
    let steps = strata_schema::rename_steps(&table_pairs(plan), &taken);
    let schema_of =
        |name: &str| source.table(name).map(|t| t.schema.clone()).unwrap_or_else(|| "public".into());
    let mut schemas: BTreeMap<String, String> = BTreeMap::new();
    let mut rename_actions: Vec<MigrationAction> = Vec::new();
    for (from, to) in steps {
        // A temporary name keeps the schema of the table parked under it.
        let schema = schemas.get(&from).cloned().unwrap_or_else(|| schema_of(&from));
        schemas.insert(to.clone(), schema.clone());
        let mut m = TableMigration::new(from, schema);
        m.new_name = Some(to);
        rename_actions.push(MigrationAction::AlterTable(m));
    }
    rename_actions
}

/// Puts each column rename into its table's `alterTable`; returns the alters to add for
/// tables that had none.
fn attach_column_renames(
    migration: &mut DatabaseMigration,
    target: &DatabaseDefinition,
    plan: &RenamePlan,
) -> Vec<MigrationAction> {
    let mut added_alters: Vec<MigrationAction> = Vec::new();
    for dst in target.tables.iter() {
        let renames: Vec<(&str, &str)> = plan
            .renames
            .iter()
            .filter_map(|r| match r {
                Rename::Column { table, from, to } if *table == dst.name => {
                    Some((from.as_str(), to.as_str()))
                }
                _ => None,
            })
            .collect();
        if renames.is_empty() || is_recreated(migration, &dst.name) {
            continue;
        }
        let existing = migration.actions.iter_mut().find_map(|a| match a {
            MigrationAction::AlterTable(m) if m.name == dst.name => Some(m),
            _ => None,
        });
        match existing {
            Some(m) => add_column_renames(m, &renames),
            None => {
                let mut m = TableMigration::new(dst.name.clone(), dst.schema.clone());
                add_column_renames(&mut m, &renames);
                m.warnings = migration.warnings.iter().filter(|w| w.table == dst.name).cloned().collect();
                added_alters.push(MigrationAction::AlterTable(m));
            }
        }
    }
    added_alters
}

/// Whether the diff drops `table` (as it is after the renames) and creates it again.
fn is_recreated(migration: &DatabaseMigration, table: &str) -> bool {
    migration.actions.iter().any(|a| matches!(a, MigrationAction::DeleteTable(n) if n == table))
}

/// Turns the diff's change of a renamed column (made under its new name) into the rename plus
/// that change, or adds a bare rename.
fn add_column_renames(m: &mut TableMigration, renames: &[(&str, &str)]) {
    for &(from, to) in renames {
        match m.modify_columns.iter_mut().find(|c| c.column_name == to && c.new_column_name.is_none()) {
            Some(c) => {
                c.column_name = from.to_string();
                c.new_column_name = Some(to.to_string());
            }
            None => m.modify_columns.push(ColumnMigration {
                column_name: from.to_string(),
                new_column_name: Some(to.to_string()),
                ..Default::default()
            }),
        }
    }
}
