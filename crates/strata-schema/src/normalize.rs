//! Upgrading v1 files (Serverpod 1.2–3.x) to the v2 model strata works with.

use crate::defaults::pg_sql_to_abstract_default;
use crate::definition::{ColumnDefinition, ColumnType, DatabaseDefinition, CURRENT_SCHEMA_VERSION};
use crate::migration::{DatabaseMigration, MigrationAction};

/// Upgrades a v1 definition in place: abstract defaults, no primary-key indexes,
/// `schemaVersion` 2. Idempotent, and a no-op on v2 input.
pub fn normalize_definition(def: &mut DatabaseDefinition) {
    if def.schema_version >= CURRENT_SCHEMA_VERSION {
        return;
    }
    def.schema_version = CURRENT_SCHEMA_VERSION;
    for table in &mut def.tables {
        table.indexes.retain(|i| !i.is_primary);
        for column in &mut table.columns {
            normalize_column(column);
        }
    }
}

/// Maps a column's default to the abstract form.
pub fn normalize_column(column: &mut ColumnDefinition) {
    if let Some(d) = &column.column_default {
        column.column_default = Some(pg_sql_to_abstract_default(d, column.column_type));
    }
}

/// Maps every default in a migration to the abstract form (idempotent, so v2 input is
/// unchanged). `modifyColumns` carry no column type, so only keywords and casts are mapped there.
pub fn normalize_migration(migration: &mut DatabaseMigration) {
    for action in &mut migration.actions {
        match action {
            MigrationAction::CreateTable(t) | MigrationAction::CreateTableIfNotExists(t) => {
                t.indexes.retain(|i| !i.is_primary);
                t.columns.iter_mut().for_each(normalize_column);
            }
            MigrationAction::AlterTable(t) => {
                t.add_columns.iter_mut().for_each(normalize_column);
                t.add_indexes.retain(|i| !i.is_primary);
                for m in &mut t.modify_columns {
                    if let Some(d) = &m.new_default {
                        m.new_default = Some(pg_sql_to_abstract_default(d, ColumnType::Unknown));
                    }
                }
            }
            MigrationAction::DeleteTable(_) => {}
        }
    }
}
