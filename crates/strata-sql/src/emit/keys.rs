//! Primary key, unique, check and exclusion constraint statements of an `alterTable` action, and
//! the order they need: a key is dropped only after the foreign keys referencing it, and added
//! before any foreign key (those come after every table's changes); every constraint is dropped
//! before the column drops and added after the columns it names exist with their final types.

use strata_schema::{MigrationAction, TableMigration};

use super::Emitter;
use crate::{MigrationSqlInput, SqlError};

/// A foreign key of `table` that references a key `before_table` drops: dropped right before
/// that key instead of in its own table's action, which may come later.
pub(crate) struct EarlyForeignKeyDrop {
    pub(crate) before_table: String,
    pub(crate) table: String,
    pub(crate) constraint: String,
}

impl Emitter<'_> {
    /// The early foreign key drops that belong before this action's index, key and column
    /// drops.
    pub(super) fn drop_early_foreign_keys(
        &self,
        change: &TableMigration,
        early: &[EarlyForeignKeyDrop],
    ) -> Result<String, SqlError> {
        let table = change.final_name();
        let mut out = String::new();
        for e in early.iter().filter(|e| e.before_table == table) {
            out.push_str(&self.d.drop_foreign_key_sql(None, &e.table, &e.constraint)?);
        }
        Ok(out)
    }

    /// The drops and renames of this action's keys.
    pub(super) fn drop_keys(&self, change: &TableMigration) -> Result<String, SqlError> {
        let d = self.d;
        let table = change.final_name();
        let mut out = String::new();
        for name in &change.keys.drop {
            out.push_str(&d.drop_key_constraint_sql(table, name)?);
        }
        for (from, to) in &change.keys.rename {
            out.push_str(&d.rename_key_constraint_sql(table, from, to)?);
        }
        Ok(out)
    }

    /// `ADD CONSTRAINT` for the action's new primary key, unique, check and exclusion
    /// constraints (after its columns exist and have their final nullability and types).
    pub(super) fn add_keys(&self, change: &TableMigration) -> Result<String, SqlError> {
        let d = self.d;
        let table = change.final_name();
        let primary = change.keys.add_primary_key.iter().map(|k| (k, true));
        let unique = change.keys.add_unique.iter().map(|k| (k, false));
        let mut out = String::new();
        for (key, is_primary) in primary.chain(unique) {
            out.push_str(&self.add_constraint(table, &d.key_constraint_sql(table, key, is_primary)?));
        }
        for check in &change.keys.add_checks {
            out.push_str(&self.add_constraint(table, &d.check_constraint_sql(table, check)?));
        }
        for exclusion in &change.keys.add_exclusions {
            out.push_str(&self.add_constraint(table, &d.exclusion_constraint_sql(table, exclusion)?));
        }
        Ok(out)
    }

    /// `ALTER TABLE "t" ADD <clause>;`: one table constraint added to an existing table.
    pub(super) fn add_constraint(&self, table: &str, clause: &str) -> String {
        format!("ALTER TABLE {} ADD {clause};\n", self.d.quote_identifier(table))
    }
}

/// The foreign keys this migration drops that reference a key or a column it also drops, in
/// another table (a table's own foreign keys are dropped first within its action anyway).
pub(crate) fn early_foreign_key_drops(input: &MigrationSqlInput) -> Vec<EarlyForeignKeyDrop> {
    let alters: Vec<&TableMigration> = input
        .migration
        .actions
        .iter()
        .filter_map(|a| match a {
            MigrationAction::AlterTable(m) => Some(m),
            _ => None,
        })
        .collect();
    let sources = input.source.tables_by_name();
    // Only tables that drop foreign keys can need one dropped early.
    let fk_droppers: Vec<&TableMigration> =
        alters.iter().copied().filter(|m| !m.delete_foreign_keys.is_empty()).collect();
    let mut out = Vec::new();
    for keyed in alters.iter().filter(|m| !m.keys.drop.is_empty() || !m.delete_columns.is_empty()) {
        let Some(source) = sources.get(keyed.name.as_str()) else { continue };
        let dropped_columns: Vec<Vec<String>> = keyed
            .keys
            .drop
            .iter()
            .filter_map(|name| {
                let pk = source.effective_primary_key().filter(|k| &k.name == name);
                pk.or_else(|| source.keys.unique(name).cloned()).map(|k| k.columns)
            })
            .collect();
        for other in fk_droppers.iter().filter(|m| m.name != keyed.name) {
            let Some(other_source) = sources.get(other.name.as_str()) else { continue };
            for fk in &other.delete_foreign_keys {
                let references_dropped = other_source.foreign_key(fk).is_some_and(|f| {
                    f.reference_table == keyed.name
                        && (dropped_columns.contains(&f.reference_columns)
                            || f.reference_columns.iter().any(|c| keyed.delete_columns.contains(c)))
                });
                if references_dropped {
                    out.push(EarlyForeignKeyDrop {
                        before_table: keyed.final_name().to_string(),
                        table: other.final_name().to_string(),
                        constraint: fk.clone(),
                    });
                }
            }
        }
    }
    out
}
