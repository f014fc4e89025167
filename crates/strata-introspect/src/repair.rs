//! The safety rules of repair migrations, kept apart from the CLI so they are unit-tested.
//!
//! A repair diffs the live schema against a target version's `definition.json`. Serverpod
//! drops every live table the target lacks and happily recreates columns it misreads; strata
//! adds these rules:
//!
//! * **Unrepresentable columns are left alone.** A column of unknown type (`varchar(20)`, an
//!   enum, an array, ...), a generated column or an identity column that the target also has
//!   is replaced, in the repair's view of the live schema, by the target's column. The diff
//!   then emits nothing for it: the repair never drops and re-adds a column it cannot read
//!   (that would lose its data for a type it merely failed to name). Each such column is
//!   reported as a [`RepairNote`], so the user converts it by hand. A column the target lacks
//!   is still dropped, behind the usual `columnDropped` warning.
//! * **The bookkeeping table stays.** `serverpod_migrations` is kept even when the target
//!   does not define it: the repair's last statements write to it.
//! * **Collateral damage is named.** Dropping (or rebuilding) a table destroys the views,
//!   triggers, constraints and foreign keys from other schemas that hang off it; each one
//!   becomes a blocking [`RepairNote`].

use std::fmt;

use strata_schema::{DatabaseDefinition, DatabaseMigration, MigrationAction, MigrationVersion};

use crate::{Introspection, WarningKind, REPAIR_MODULE};

/// Something the user must know about a repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairNote {
    /// Whether the repair must not be written without `--force`.
    pub blocking: bool,
    pub message: String,
}

impl fmt::Display for RepairNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The live definition as the repair's diff source, with the notes about what it will not
/// touch. See the module documentation for the rules.
pub fn repair_source(
    live: &Introspection,
    target: &DatabaseDefinition,
) -> (DatabaseDefinition, Vec<RepairNote>) {
    let mut source = crate::drift::comparable_live(&live.definition, target);
    let mut notes = Vec::new();
    for table in &mut source.tables {
        let Some(target_table) = target.table(&table.name) else { continue };
        for column in &mut table.columns {
            let Some(warning) = live.warnings.iter().find(|w| {
                w.is_column(&table.name, &column.name)
                    && matches!(
                        w.kind,
                        WarningKind::UnknownColumnType
                            | WarningKind::GeneratedColumn
                            | WarningKind::IdentityColumn
                    )
            }) else {
                continue;
            };
            let Some(wanted) = target_table.column(&column.name) else { continue };
            notes.push(RepairNote {
                blocking: false,
                message: format!(
                    "table \"{}\": column \"{}\" is left as it is ({}: {}); the target wants {}{}. \
                     strata cannot read it, so the repair neither alters nor recreates it: convert it by hand",
                    table.name,
                    column.name,
                    warning.kind.label(),
                    warning.detail,
                    wanted.column_type.name(),
                    if wanted.is_nullable { ", nullable" } else { ", not null" },
                ),
            });
            *column = wanted.clone();
        }
    }
    (source, notes)
}

/// The tables a migration drops, including those it drops to recreate.
pub fn dropped_tables(migration: &DatabaseMigration) -> Vec<&str> {
    migration
        .actions
        .iter()
        .filter_map(|a| match a {
            MigrationAction::DeleteTable(name) => Some(name.as_str()),
            _ => None,
        })
        .collect()
}

/// Blocking notes for a repair migration: every table it drops, named (recreated ones say
/// so), and every unrepresentable object that would go with it.
pub fn repair_guards(migration: &DatabaseMigration, live: &Introspection) -> Vec<RepairNote> {
    let mut notes = Vec::new();
    let recreated = |name: &str| {
        migration.actions.iter().any(|a| {
            matches!(a, MigrationAction::CreateTable(t) | MigrationAction::CreateTableIfNotExists(t) if t.name == name)
        })
    };
    for name in dropped_tables(migration) {
        let message = if recreated(name) {
            format!("table \"{name}\" is dropped and recreated: all its rows are lost")
        } else {
            format!("table \"{name}\" is not in the target and will be DROPPED with all its rows")
        };
        notes.push(RepairNote { blocking: true, message });
        for w in &live.warnings {
            if w.kind.dies_with_table() && w.depends_on_table(name) && !is_table_property(w, name) {
                notes.push(RepairNote {
                    blocking: true,
                    message: format!("dropping table \"{name}\" also destroys {w}"),
                });
            }
        }
    }
    for action in &migration.actions {
        let MigrationAction::AlterTable(t) = action else { continue };
        if t.delete_columns.is_empty() {
            continue;
        }
        for w in &live.warnings {
            let attached = w.depends_on_table(&t.name) && !is_table_property(w, &t.name);
            let other_column = w.table.as_deref() == Some(t.name.as_str())
                && matches!(
                    w.kind,
                    WarningKind::UnknownColumnType
                        | WarningKind::GeneratedColumn
                        | WarningKind::IdentityColumn
                        | WarningKind::ColumnCollation
                )
                && !t.delete_columns.contains(&w.name);
            if attached && w.kind.dies_with_table() && !other_column {
                notes.push(RepairNote {
                    blocking: true,
                    message: format!(
                        "dropping column(s) {} of table \"{}\" may also destroy {w}",
                        t.delete_columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", "),
                        t.name
                    ),
                });
            }
        }
    }
    notes
}

/// Table-level facts (partitioning, unlogged, no primary key, ...) that vanish with the table
/// itself: naming the table once is enough.
fn is_table_property(w: &crate::IntrospectWarning, table: &str) -> bool {
    w.name == table
        && w.table.as_deref() == Some(table)
        && matches!(
            w.kind,
            WarningKind::PartitionedTable
                | WarningKind::Partition
                | WarningKind::InheritedTable
                | WarningKind::UnloggedTable
                | WarningKind::RowLevelSecurity
                | WarningKind::PrimaryKey
        )
}

/// Whether the live bookkeeping rows differ from the versions the target records (Serverpod's
/// `versionsMismatch`: the `_repair` row is ignored; counts and versions must agree).
pub fn versions_mismatch(live: &[MigrationVersion], target: &[MigrationVersion]) -> bool {
    let mut a: Vec<(&str, &str)> = live
        .iter()
        .filter(|v| v.module != REPAIR_MODULE)
        .map(|v| (v.module.as_str(), v.version.as_str()))
        .collect();
    let mut b: Vec<(&str, &str)> = target
        .iter()
        .filter(|v| v.module != REPAIR_MODULE)
        .map(|v| (v.module.as_str(), v.version.as_str()))
        .collect();
    a.sort_unstable();
    b.sort_unstable();
    a != b
}

/// The modules whose bookkeeping rows a repair deletes: live rows whose module is absent from
/// the modules it records (the target's plus `_repair`).
pub fn removed_modules(live: &[MigrationVersion], recorded: &[MigrationVersion]) -> Vec<String> {
    let mut out: Vec<String> = live
        .iter()
        .filter(|v| !recorded.iter().any(|r| r.module == v.module))
        .map(|v| v.module.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IntrospectWarning, MIGRATIONS_TABLE};
    use strata_schema::{ColumnDefinition, ColumnType, TableDefinition, TableMigration};

    fn column(name: &str, t: ColumnType) -> ColumnDefinition {
        ColumnDefinition { name: name.into(), column_type: t, is_nullable: true, ..Default::default() }
    }

    fn table(name: &str, columns: Vec<ColumnDefinition>) -> TableDefinition {
        TableDefinition { name: name.into(), schema: "public".into(), columns, ..Default::default() }
    }

    fn def(tables: Vec<TableDefinition>) -> DatabaseDefinition {
        let mut d = DatabaseDefinition::empty("p");
        d.tables = tables;
        d
    }

    fn warning(kind: WarningKind, table: Option<&str>, name: &str, deps: &[&str]) -> IntrospectWarning {
        IntrospectWarning {
            kind,
            schema: "public".into(),
            table: table.map(Into::into),
            name: name.into(),
            detail: "d".into(),
            depends_on: deps.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn live(tables: Vec<TableDefinition>, warnings: Vec<IntrospectWarning>) -> Introspection {
        Introspection {
            definition: def(tables),
            warnings,
            installed_versions: Vec::new(),
            query_count: 0,
            objects: Vec::new(),
            schemas: Vec::new(),
        }
    }

    #[test]
    fn unknown_columns_the_target_has_are_left_alone() {
        let l = live(
            vec![table("t", vec![column("id", ColumnType::Bigint), column("code", ColumnType::Unknown)])],
            vec![warning(WarningKind::UnknownColumnType, Some("t"), "code", &["t"])],
        );
        let target =
            def(vec![table("t", vec![column("id", ColumnType::Bigint), column("code", ColumnType::Text)])]);
        let (source, notes) = repair_source(&l, &target);
        assert_eq!(source.tables[0].columns[1].column_type, ColumnType::Text);
        assert_eq!(notes.len(), 1);
        assert!(!notes[0].blocking);
        assert!(notes[0].message.contains("\"code\" is left as it is"), "{}", notes[0]);
    }

    #[test]
    fn unknown_columns_the_target_lacks_stay_unknown() {
        let l = live(
            vec![table("t", vec![column("code", ColumnType::Unknown)])],
            vec![warning(WarningKind::UnknownColumnType, Some("t"), "code", &["t"])],
        );
        let target = def(vec![table("t", vec![])]);
        let (source, notes) = repair_source(&l, &target);
        assert_eq!(source.tables[0].columns[0].column_type, ColumnType::Unknown);
        assert!(notes.is_empty());
    }

    #[test]
    fn bookkeeping_table_is_kept_out_of_the_diff_unless_targeted() {
        let l = live(vec![table(MIGRATIONS_TABLE, vec![]), table("t", vec![])], vec![]);
        let (source, _) = repair_source(&l, &def(vec![table("t", vec![])]));
        assert!(source.table(MIGRATIONS_TABLE).is_none());
        let (source, _) = repair_source(&l, &def(vec![table(MIGRATIONS_TABLE, vec![])]));
        assert!(source.table(MIGRATIONS_TABLE).is_some());
    }

    #[test]
    fn dropped_tables_are_named_with_what_dies_with_them() {
        let l = live(
            vec![table("a", vec![]), table("b", vec![])],
            vec![
                warning(WarningKind::View, None, "v", &["a", "b"]),
                warning(WarningKind::EnumType, None, "mood", &["a"]),
                warning(WarningKind::UnloggedTable, Some("a"), "a", &["a"]),
                warning(WarningKind::InboundForeignKey, Some("other"), "fk", &["a"]),
            ],
        );
        let mut m = DatabaseMigration::new();
        m.actions.push(MigrationAction::DeleteTable("a".into()));
        let notes = repair_guards(&m, &l);
        let text: Vec<String> = notes.iter().map(|n| n.message.clone()).collect();
        assert!(notes.iter().all(|n| n.blocking));
        assert!(text[0].contains("table \"a\" is not in the target and will be DROPPED"), "{text:?}");
        assert!(text.iter().any(|t| t.contains("view \"public\".\"v\"")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("foreign key from another schema \"fk\"")), "{text:?}");
        assert!(!text.iter().any(|t| t.contains("mood")), "types survive a DROP TABLE: {text:?}");
        assert!(!text.iter().any(|t| t.contains("unlogged")), "{text:?}");
        assert_eq!(notes.len(), 3);
    }

    #[test]
    fn recreated_tables_say_so() {
        let l = live(vec![table("a", vec![])], vec![]);
        let mut m = DatabaseMigration::new();
        m.actions.push(MigrationAction::DeleteTable("a".into()));
        m.actions.push(MigrationAction::CreateTable(table("a", vec![])));
        let notes = repair_guards(&m, &l);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].message.contains("dropped and recreated"));
    }

    #[test]
    fn dropped_columns_name_attached_objects() {
        let l = live(
            vec![table("a", vec![])],
            vec![
                warning(WarningKind::CheckConstraint, Some("a"), "positive", &["a"]),
                warning(WarningKind::UnknownColumnType, Some("a"), "other", &["a"]),
            ],
        );
        let mut m = DatabaseMigration::new();
        let mut alter = TableMigration::new("a", "public");
        alter.delete_columns.push("amount".into());
        m.actions.push(MigrationAction::AlterTable(alter));
        let notes = repair_guards(&m, &l);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].message.contains("check constraint \"positive\""));
    }

    #[test]
    fn version_mismatch_ignores_the_repair_row() {
        let live = vec![
            MigrationVersion::dependency("p", "1"),
            MigrationVersion::dependency(REPAIR_MODULE, "x"),
            MigrationVersion::dependency("serverpod", "2"),
        ];
        let target =
            vec![MigrationVersion::project("p", "1"), MigrationVersion::dependency("serverpod", "2")];
        assert!(!versions_mismatch(&live, &target));
        assert!(versions_mismatch(&live[..1], &target));
        let other = vec![MigrationVersion::project("p", "0"), MigrationVersion::dependency("serverpod", "2")];
        assert!(versions_mismatch(&live, &other));
    }

    #[test]
    fn removed_modules_are_live_rows_not_recorded() {
        let live = vec![MigrationVersion::dependency("old", "1"), MigrationVersion::dependency("p", "1")];
        let recorded =
            vec![MigrationVersion::project("p", "2"), MigrationVersion::dependency(REPAIR_MODULE, "r")];
        assert_eq!(removed_modules(&live, &recorded), vec!["old".to_string()]);
    }
}
