//! What to look at: a migration (and the definition it starts from) turned into the list of
//! questions to ask the live data. Pure, so every rule is unit-tested without a server.

use std::collections::BTreeSet;

use strata_schema::{
    ColumnDefinition, DatabaseDefinition, DatabaseMigration, ForeignKeyDefinition, IndexDefinition,
    IndexElementType, MigrationAction, TableDefinition, TableMigration,
};
use strata_sql::Dialect as _;

use super::{Check, Driver, Verdict};

/// One question about the live data, about one object of one table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Probe {
    pub check: Check,
    /// The table the question is about (as it is named before the migration).
    pub table: String,
    /// Its schema (PostgreSQL qualifies names with it; the other dialects ignore it).
    pub schema: String,
    /// What a reader calls the object: `post`, `post.title`, an index or constraint name.
    pub object: String,
    pub kind: ProbeKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ProbeKind {
    /// Rows of a dropped table.
    Rows,
    /// Non-NULL values of a dropped column.
    Values { column: String },
    /// NULLs of a column becoming NOT NULL.
    Nulls { column: String },
    /// Rows of a table getting a NOT NULL column without a default.
    RowsForNewNotNull { column: String },
    /// Groups of equal values a new unique index would reject.
    Duplicates { index: String, columns: Vec<String>, nulls_distinct: bool },
    /// Rows a new foreign key would reject. `parent_is_new`: the referenced table is created by
    /// the same migration, so it is empty and every non-NULL key is an orphan.
    Orphans {
        constraint: String,
        columns: Vec<String>,
        parent: String,
        parent_schema: String,
        parent_columns: Vec<String>,
        parent_is_new: bool,
    },
    /// The table is rewritten (or rebuilt): how big is it.
    Rewrite,
    /// Decided without a query (an expression index, a column this migration adds).
    Decided { verdict: Verdict, message: String, reason: Option<String> },
}

/// Every question `migration` raises, in migration order (so reports are deterministic).
/// Tables the migration creates are empty and raise none.
pub(crate) fn probes(
    migration: &DatabaseMigration,
    source: Option<&DatabaseDefinition>,
    driver: Driver,
) -> Vec<Probe> {
    let created: BTreeSet<&str> = migration
        .actions
        .iter()
        .filter_map(|a| match a {
            MigrationAction::CreateTable(t) => Some(t.name.as_str()),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for action in &migration.actions {
        match action {
            MigrationAction::DeleteTable(name) => {
                let schema = source.and_then(|s| s.table(name)).map(|t| t.schema.clone()).unwrap_or_default();
                out.push(Probe {
                    check: Check::DroppedTable,
                    table: name.clone(),
                    schema,
                    object: name.clone(),
                    kind: ProbeKind::Rows,
                });
            }
            MigrationAction::AlterTable(change) => {
                let before = source.and_then(|s| s.table(&change.name));
                alter_probes(change, before, &created, driver, &mut out);
            }
            MigrationAction::CreateTable(_) | MigrationAction::CreateTableIfNotExists(_) => {}
        }
    }
    out
}

/// The questions one `alterTable` raises.
fn alter_probes(
    change: &TableMigration,
    before: Option<&TableDefinition>,
    created: &BTreeSet<&str>,
    driver: Driver,
    out: &mut Vec<Probe>,
) {
    let probe = |check, object: String, kind| Probe {
        check,
        table: change.name.clone(),
        schema: change.schema.clone(),
        object,
        kind,
    };
    let dotted = |column: &str| format!("{}.{column}", change.name);

    for column in &change.delete_columns {
        out.push(probe(Check::DroppedColumn, dotted(column), ProbeKind::Values { column: column.clone() }));
    }
    for m in change.modify_columns.iter().filter(|m| m.remove_nullable) {
        let column = m.column_name.clone();
        out.push(probe(Check::NotNull, dotted(&column), ProbeKind::Nulls { column }));
    }
    // MySQL fills a new NOT NULL column with its type's implicit default instead of failing.
    if driver != Driver::Mysql {
        for c in change.add_columns.iter().filter(|c| !c.is_nullable && c.column_default.is_none()) {
            let column = c.name.clone();
            out.push(probe(Check::NotNull, dotted(&column), ProbeKind::RowsForNewNotNull { column }));
        }
    }
    for index in change.add_indexes.iter().filter(|i| i.is_unique) {
        out.push(probe(Check::UniqueIndex, index.index_name.clone(), unique_kind(index, change)));
    }
    for fk in &change.add_foreign_keys {
        out.push(probe(Check::ForeignKey, fk.constraint_name.clone(), foreign_key_kind(fk, change, created)));
    }
    if rewrites(change, before, driver) {
        out.push(probe(Check::Rewrite, change.name.clone(), ProbeKind::Rewrite));
    }
}

/// The column this migration adds under `name`, if it does.
fn added<'a>(change: &'a TableMigration, name: &str) -> Option<&'a ColumnDefinition> {
    change.add_columns.iter().find(|c| c.name == name)
}

/// Why the columns cannot be checked because this migration adds them: `None` when none is
/// new; Safe when every new one starts as NULL (NULLs are never duplicates nor orphans).
fn new_columns_verdict(change: &TableMigration, columns: &[String], what: &str) -> Option<ProbeKind> {
    let new: Vec<&ColumnDefinition> = columns.iter().filter_map(|c| added(change, c)).collect();
    if new.is_empty() {
        return None;
    }
    let names = new.iter().map(|c| format!("{}.{}", change.name, c.name)).collect::<Vec<_>>().join(", ");
    if new.iter().all(|c| c.column_default.is_none()) {
        return Some(ProbeKind::Decided {
            verdict: Verdict::Safe,
            message: format!("safe: {names} is new and starts as NULL, so {what}"),
            reason: None,
        });
    }
    Some(ProbeKind::Decided {
        verdict: Verdict::Unknown,
        message: format!("unknown: {names} is new with a default; check {what} by hand"),
        reason: Some("the column is added by this migration with a default".into()),
    })
}

fn unique_kind(index: &IndexDefinition, change: &TableMigration) -> ProbeKind {
    let has_expression = index.elements.iter().any(|e| e.element_type == IndexElementType::Expression);
    if has_expression || index.predicate.is_some() {
        // Checking would mean running SQL text from a definition file.
        return ProbeKind::Decided {
            verdict: Verdict::Unknown,
            message: format!(
                "unknown: unique index {} has an expression or a WHERE clause, which preflight does not run; \
                 check it for duplicates by hand",
                index.index_name
            ),
            reason: Some("expression or partial index".into()),
        };
    }
    let columns: Vec<String> = index.elements.iter().map(|e| e.definition.clone()).collect();
    let nulls_distinct = index.nulls_distinct.unwrap_or(true);
    let what = format!("unique index {} has no duplicates", index.index_name);
    if nulls_distinct {
        if let Some(decided) = new_columns_verdict(change, &columns, &what) {
            return decided;
        }
    } else if columns.iter().any(|c| added(change, c).is_some()) {
        return ProbeKind::Decided {
            verdict: Verdict::Unknown,
            message: format!(
                "unknown: unique index {} covers a new column; check it by hand",
                index.index_name
            ),
            reason: Some("NULLS NOT DISTINCT over a column added by this migration".into()),
        };
    }
    ProbeKind::Duplicates { index: index.index_name.clone(), columns, nulls_distinct }
}

fn foreign_key_kind(
    fk: &ForeignKeyDefinition,
    change: &TableMigration,
    created: &BTreeSet<&str>,
) -> ProbeKind {
    let what = format!("foreign key {} has no orphan rows", fk.constraint_name);
    if let Some(decided) = new_columns_verdict(change, &fk.columns, &what) {
        return decided;
    }
    ProbeKind::Orphans {
        constraint: fk.constraint_name.clone(),
        columns: fk.columns.clone(),
        parent: fk.reference_table.clone(),
        parent_schema: fk.reference_table_schema.clone(),
        parent_columns: fk.reference_columns.clone(),
        parent_is_new: created.contains(fk.reference_table.as_str()),
    }
}

/// Whether the dialect rewrites (or rebuilds) every row of the table for this change.
fn rewrites(change: &TableMigration, before: Option<&TableDefinition>, driver: Driver) -> bool {
    match driver {
        Driver::Postgres => change.modify_columns.iter().any(|m| {
            if m.new_type.is_none() {
                return false;
            }
            let old = before.and_then(|t| t.column(&m.column_name)).and_then(|c| c.native_type.as_deref());
            // Unknown old or new exact type: assume the expensive case.
            match (old, m.new_native_type.as_deref()) {
                (Some(old), Some(new)) => {
                    strata_diff::casts::in_place_cast(old, new)
                        != Some(strata_diff::casts::CastCost::CatalogOnly)
                }
                _ => true,
            }
        }),
        Driver::Sqlite => sqlite_rebuilds(change, before),
        // ALTER TABLE ... MODIFY with a new type copies the table on MySQL and MariaDB.
        Driver::Mysql => change.modify_columns.iter().any(|m| m.new_type.is_some()),
    }
}

/// SQLite's rebuild rule, through the dialect's public capability methods. Adding a column
/// rebuilds when it has a default or is NOT NULL (the emitter also rebuilds for a new column in
/// a unique index, which always comes with one of those in Serverpod models).
fn sqlite_rebuilds(change: &TableMigration, before: Option<&TableDefinition>) -> bool {
    let sqlite = strata_sql::Sqlite;
    change.modify_columns.iter().any(|m| sqlite.needs_table_rebuild_for(m))
        || ((!change.add_foreign_keys.is_empty() || !change.delete_foreign_keys.is_empty())
            && !sqlite.supports_alter_foreign_keys())
        || change.add_columns.iter().any(|c| c.column_default.is_some() || !c.is_nullable)
        || change
            .delete_columns
            .iter()
            .any(|c| sqlite.needs_table_rebuild_for_dropped_column(before, change, c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_schema::{ColumnMigration, ColumnType, IndexElement};

    fn col(name: &str, nullable: bool, default: Option<&str>) -> ColumnDefinition {
        ColumnDefinition {
            name: name.into(),
            column_type: ColumnType::Text,
            is_nullable: nullable,
            column_default: default.map(Into::into),
            ..Default::default()
        }
    }

    fn alter(f: impl FnOnce(&mut TableMigration)) -> DatabaseMigration {
        let mut t = TableMigration::new("post", "public");
        f(&mut t);
        DatabaseMigration { actions: vec![MigrationAction::AlterTable(t)], ..DatabaseMigration::new() }
    }

    fn kinds(m: &DatabaseMigration, driver: Driver) -> Vec<(Check, String)> {
        probes(m, None, driver).into_iter().map(|p| (p.check, p.object)).collect()
    }

    #[test]
    fn created_tables_raise_nothing_and_dropped_ones_count_rows() {
        let m = DatabaseMigration {
            actions: vec![
                MigrationAction::CreateTable(TableDefinition { name: "new".into(), ..Default::default() }),
                MigrationAction::DeleteTable("old".into()),
            ],
            ..DatabaseMigration::new()
        };
        assert_eq!(kinds(&m, Driver::Postgres), [(Check::DroppedTable, "old".to_string())]);
    }

    #[test]
    fn new_not_null_column_without_default_is_checked_except_on_mysql() {
        let m = alter(|t| t.add_columns = vec![col("x", false, None), col("y", false, Some("'a'"))]);
        let pg = kinds(&m, Driver::Postgres);
        assert_eq!(pg[0], (Check::NotNull, "post.x".to_string()));
        assert!(!pg.iter().any(|(_, o)| o == "post.y"), "{pg:?}");
        assert!(kinds(&m, Driver::Mysql).iter().all(|(c, _)| *c != Check::NotNull));
    }

    #[test]
    fn expression_indexes_are_never_run_and_new_columns_decide_without_a_query() {
        let m = alter(|t| {
            t.add_columns = vec![col("slug", true, None)];
            t.add_indexes = vec![
                IndexDefinition {
                    index_name: "by_expr".into(),
                    elements: vec![IndexElement::new(IndexElementType::Expression, "lower(title)")],
                    is_unique: true,
                    ..Default::default()
                },
                IndexDefinition {
                    index_name: "by_slug".into(),
                    elements: vec![IndexElement::column("slug")],
                    is_unique: true,
                    ..Default::default()
                },
            ];
        });
        let found = probes(&m, None, Driver::Postgres);
        let verdicts: Vec<Option<Verdict>> = found
            .iter()
            .map(|p| match &p.kind {
                ProbeKind::Decided { verdict, .. } => Some(*verdict),
                _ => None,
            })
            .collect();
        assert_eq!(verdicts, [Some(Verdict::Unknown), Some(Verdict::Safe)], "{found:?}");
    }

    #[test]
    fn postgres_rewrites_only_for_casts_that_are_not_catalog_only() {
        let before = TableDefinition {
            name: "post".into(),
            columns: vec![ColumnDefinition {
                native_type: Some("character varying(10)".into()),
                identity: None,
                generated: None,
                ..col("t", true, None)
            }],
            ..Default::default()
        };
        let source = DatabaseDefinition { tables: vec![before], ..Default::default() };
        let change = |to: &str| {
            alter(|t| {
                t.modify_columns = vec![ColumnMigration {
                    column_name: "t".into(),
                    new_type: Some(ColumnType::Text),
                    new_native_type: Some(to.into()),
                    change_identity: false,
                    new_identity: None,
                    drop_expression: false,
                    ..Default::default()
                }]
            })
        };
        let rewrite = |m: &DatabaseMigration| {
            probes(m, Some(&source), Driver::Postgres).iter().any(|p| p.check == Check::Rewrite)
        };
        assert!(!rewrite(&change("character varying(20)")));
        assert!(rewrite(&change("integer")));
        let sqlite_rebuild = probes(&change("integer"), Some(&source), Driver::Sqlite)
            .iter()
            .any(|p| p.check == Check::Rewrite);
        assert!(sqlite_rebuild);
    }
}
