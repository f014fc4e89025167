//! A migration between two definitions: what `migration.json` holds.

use crate::definition::{
    name_enum, ColumnDefinition, ColumnType, ForeignKeyDefinition, IndexDefinition, TableDefinition,
    MIGRATION_API_VERSION,
};

/// The actions that take one definition to another, with the warnings a reviewer must see.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DatabaseMigration {
    pub actions: Vec<MigrationAction>,
    pub warnings: Vec<MigrationWarning>,
    pub migration_api_version: i64,
}

impl DatabaseMigration {
    /// An empty migration (no actions, no warnings).
    pub fn new() -> Self {
        DatabaseMigration {
            actions: Vec::new(),
            warnings: Vec::new(),
            migration_api_version: MIGRATION_API_VERSION,
        }
    }

    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// True when some warning means data loss (`destructive`).
    pub fn is_destructive(&self) -> bool {
        self.warnings.iter().any(|w| w.destructive)
    }
}

/// One step of a migration.
#[derive(Debug, Clone, PartialEq)]
pub enum MigrationAction {
    /// `CREATE TABLE` (and its indexes; FKs come after all tables).
    CreateTable(TableDefinition),
    /// `CREATE TABLE IF NOT EXISTS`: a previously unmanaged table becomes managed.
    CreateTableIfNotExists(TableDefinition),
    /// `DROP TABLE ... CASCADE`.
    DeleteTable(String),
    /// In-place changes to one table.
    AlterTable(TableMigration),
}

name_enum! {
    /// The `type` key of an action.
    MigrationActionType {
        CreateTable => "createTable",
        CreateTableIfNotExists => "createTableIfNotExists",
        DeleteTable => "deleteTable",
        AlterTable => "alterTable",
    }
}

impl MigrationAction {
    /// The action's type tag.
    pub fn action_type(&self) -> MigrationActionType {
        match self {
            MigrationAction::CreateTable(_) => MigrationActionType::CreateTable,
            MigrationAction::CreateTableIfNotExists(_) => MigrationActionType::CreateTableIfNotExists,
            MigrationAction::DeleteTable(_) => MigrationActionType::DeleteTable,
            MigrationAction::AlterTable(_) => MigrationActionType::AlterTable,
        }
    }

    /// The name of the table the action touches.
    pub fn table_name(&self) -> &str {
        match self {
            MigrationAction::CreateTable(t) | MigrationAction::CreateTableIfNotExists(t) => &t.name,
            MigrationAction::DeleteTable(n) => n,
            MigrationAction::AlterTable(m) => &m.name,
        }
    }
}

/// In-place changes to one table. Statement order in SQL is fixed by the emitter, not by the
/// order of these lists.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableMigration {
    pub name: String,
    /// Set for a table rename (`newName`, strata's own key, written only when set): the action
    /// first renames `name` to this, then makes its other changes under the new name.
    pub new_name: Option<String>,
    pub dart_name: Option<String>,
    pub module: Option<String>,
    pub schema: String,
    pub add_columns: Vec<ColumnDefinition>,
    pub delete_columns: Vec<String>,
    pub modify_columns: Vec<ColumnMigration>,
    pub add_indexes: Vec<IndexDefinition>,
    pub delete_indexes: Vec<String>,
    pub add_foreign_keys: Vec<ForeignKeyDefinition>,
    pub delete_foreign_keys: Vec<String>,
    /// Primary key and unique constraint changes (strata's own `keyChanges`, written only when set).
    pub keys: crate::keys::KeyMigration,
    /// Partition and inheritance moves and `SET [UN]LOGGED` (strata's own `layoutChanges`,
    /// written only when set).
    pub layout: crate::layout::LayoutMigration,
    /// The subset of the migration's warnings that concern this table.
    pub warnings: Vec<MigrationWarning>,
}

impl TableMigration {
    /// A migration of `name` in schema `public` with no changes yet.
    pub fn new(name: impl Into<String>, schema: impl Into<String>) -> Self {
        TableMigration { name: name.into(), schema: schema.into(), ..Default::default() }
    }

    /// True when no change is recorded (warnings do not count).
    pub fn is_empty(&self) -> bool {
        self.new_name.is_none()
            && self.add_columns.is_empty()
            && self.delete_columns.is_empty()
            && self.modify_columns.is_empty()
            && self.add_indexes.is_empty()
            && self.delete_indexes.is_empty()
            && self.add_foreign_keys.is_empty()
            && self.delete_foreign_keys.is_empty()
            && self.keys.is_empty()
            && self.layout.is_empty()
    }
}

impl TableMigration {
    /// True for a table rename with no other change.
    pub fn is_rename_only(&self) -> bool {
        self.new_name.is_some()
            && self.add_columns.is_empty()
            && self.delete_columns.is_empty()
            && self.modify_columns.is_empty()
            && self.add_indexes.is_empty()
            && self.delete_indexes.is_empty()
            && self.add_foreign_keys.is_empty()
            && self.delete_foreign_keys.is_empty()
            && self.keys.is_empty()
            && self.layout.is_empty()
    }

    /// The table's name after the action (its rename target, else its name).
    pub fn final_name(&self) -> &str {
        self.new_name.as_deref().unwrap_or(&self.name)
    }
}

/// The statements that carry out a set of simultaneous renames `(from, to)` one at a time:
/// a rename whose target is still taken waits until that name is renamed away, and a cycle
/// (a swap, a rotation) goes through a temporary name (`_strata_tmp_<n>`, the first free
/// one not in `taken` nor among the renames). Deterministic: the same input gives the same
/// steps. Pairs whose `from` equals `to` are skipped.
pub fn rename_steps(renames: &[(String, String)], taken: &dyn Fn(&str) -> bool) -> Vec<(String, String)> {
    let mut pending: Vec<(String, String)> = renames.iter().filter(|(f, t)| f != t).cloned().collect();
    let mut steps = Vec::with_capacity(pending.len());
    let mut next_tmp = 0usize;
    while !pending.is_empty() {
        // A rename is free to run when no other pending rename still holds its target name.
        let free = pending.iter().position(|(_, to)| !pending.iter().any(|(from, _)| from == to));
        match free {
            Some(i) => steps.push(pending.remove(i)),
            None => {
                // Only cycles remain: park the first one's source under a temporary name.
                let tmp = loop {
                    let candidate = format!("_strata_tmp_{next_tmp}");
                    next_tmp += 1;
                    let used =
                        taken(&candidate) || renames.iter().any(|(f, t)| *f == candidate || *t == candidate);
                    if !used {
                        break candidate;
                    }
                };
                let (from, to) = pending.remove(0);
                steps.push((from, tmp.clone()));
                pending.push((tmp, to));
            }
        }
    }
    steps
}

/// An in-place change to one column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnMigration {
    /// The column's name before the migration.
    pub column_name: String,
    /// Set only for a rename.
    pub new_column_name: Option<String>,
    /// NOT NULL -> NULL.
    pub add_nullable: bool,
    /// NULL -> NOT NULL.
    pub remove_nullable: bool,
    pub change_default: bool,
    /// The new abstract default; `None` with `change_default` means drop the default.
    pub new_default: Option<String>,
    /// json <-> jsonb from models; any castable change between native types (with
    /// `new_native_type`).
    pub new_type: Option<ColumnType>,
    /// The exact new PostgreSQL type of an in-place native type change (`newNativeType`,
    /// strata's own key, written only when set).
    pub new_native_type: Option<String>,
    /// The identity changes (`changeIdentity`, strata's own key, written only when set); the new
    /// one is `new_identity`, `None` for `DROP IDENTITY`.
    pub change_identity: bool,
    pub new_identity: Option<crate::definition::Identity>,
    /// With `change_identity`: the new identity's options (`newIdentityOptions`), `None` for
    /// the defaults. A change of the options alone is an identity change too.
    pub new_identity_options: Option<crate::IdentityOptions>,
    /// A generated column becomes a plain one keeping its values (`ALTER COLUMN ... DROP
    /// EXPRESSION`; `dropExpression`, strata's own key, written only when set).
    pub drop_expression: bool,
}

impl ColumnMigration {
    /// The column's name after the migration.
    pub fn final_name(&self) -> &str {
        self.new_column_name.as_deref().unwrap_or(&self.column_name)
    }
}

name_enum! {
    /// Kind of a migration warning (`columnTypeChanged` is strata's own: in-place native type changes).
    WarningType {
        TableDropped => "tableDropped",
        ColumnDropped => "columnDropped",
        NotNullAdded => "notNullAdded",
        UniqueIndexCreated => "uniqueIndexCreated",
        ColumnTypeChanged => "columnTypeChanged",
    }
}

/// Something a reviewer must acknowledge (`--force`) before the migration is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationWarning {
    pub warning_type: WarningType,
    pub message: String,
    pub table: String,
    pub columns: Vec<String>,
    /// Data loss. Persisted under Serverpod's misspelled key `destrucive`.
    pub destructive: bool,
}
