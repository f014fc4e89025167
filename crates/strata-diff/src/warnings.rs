//! The warnings the diff emits, with Serverpod's exact message texts (spec §3.2).
//!
//! The texts are part of `migration.json`, so they must match byte for byte.

use strata_schema::{ColumnDefinition, IndexDefinition, MigrationWarning, WarningType};

use crate::casts::{in_place_cast, CastCost};
use crate::compare::pg_type_text;

fn warning(
    warning_type: WarningType,
    table: &str,
    columns: Vec<String>,
    destructive: bool,
    message: String,
) -> MigrationWarning {
    MigrationWarning { warning_type, message, table: table.to_string(), columns, destructive }
}

/// A table missing from the target (or a dependent being recreated) is dropped.
pub fn table_dropped(table: &str) -> MigrationWarning {
    warning(WarningType::TableDropped, table, Vec::new(), true, format!("Table \"{table}\" will be dropped."))
}

/// A column missing from the target is dropped.
pub fn column_dropped(table: &str, column: &str) -> MigrationWarning {
    warning(
        WarningType::ColumnDropped,
        table,
        vec![column.to_string()],
        true,
        format!("Column \"{column}\" of table \"{table}\" will be dropped."),
    )
}

/// A column changed in a way ALTER COLUMN cannot express, so it is dropped and re-added.
pub fn column_recreated(table: &str, column: &str) -> MigrationWarning {
    warning(
        WarningType::ColumnDropped,
        table,
        vec![column.to_string()],
        true,
        format!("Column \"{column}\" of table \"{table}\" is modified in a way that it must be deleted and recreated."),
    )
}

/// A column becomes generated, or its generation expression changes (strata's own: Serverpod has
/// no generated columns). PostgreSQL can only `ADD COLUMN` a generated column, so the column is
/// dropped and added again: a plain column's values are lost, and the table is rewritten.
pub fn generated_column_recreated(
    table: &str,
    from: &ColumnDefinition,
    to: &ColumnDefinition,
) -> MigrationWarning {
    let column = &to.name;
    let what = match &from.generated {
        None => "becomes a generated column: its current values are lost".to_string(),
        Some(_) => "is recomputed from its generation expression".to_string(),
    };
    warning(
        WarningType::ColumnDropped,
        table,
        vec![column.clone()],
        true,
        format!(
            "Column \"{column}\" of table \"{table}\" is dropped and added again as GENERATED ALWAYS AS ({}) \
             STORED, which rewrites the table; it {what}.",
            to.generated.as_deref().unwrap_or_default()
        ),
    )
}

/// A nullable column becomes NOT NULL (named by its post-rename name).
pub fn not_null_added(table: &str, column: &str) -> MigrationWarning {
    warning(
        WarningType::NotNullAdded,
        table,
        vec![column.to_string()],
        false,
        format!(
            "Column \"{column}\" of table \"{table}\" is modified to be not null. If there are existing rows with null values, this migration will fail."
        ),
    )
}

/// A unique index is created (new, or recreated because it changed).
pub fn unique_index_created(table: &str, index: &IndexDefinition) -> MigrationWarning {
    warning(
        WarningType::UniqueIndexCreated,
        table,
        index.elements.iter().map(|e| e.definition.clone()).collect(),
        false,
        format!(
            "Unique index \"{}\" is added to table \"{table}\". If there are existing rows with duplicate values, this migration will fail.",
            index.index_name
        ),
    )
}

/// A table whose partition key changes (or that becomes, or stops being, partitioned) is
/// dropped and created again: PostgreSQL cannot change a partition key in place.
pub fn table_repartitioned(table: &str) -> MigrationWarning {
    warning(
        WarningType::TableDropped,
        table,
        Vec::new(),
        true,
        format!("Table \"{table}\" is dropped and recreated: its partition key (PARTITION BY) changes."),
    )
}

/// A column that cannot be added to a populated table forces the table to be recreated.
pub fn table_recreated(table: &str, column: &str) -> MigrationWarning {
    warning(
        WarningType::TableDropped,
        table,
        vec![column.to_string()],
        true,
        format!(
            "One or more columns are added to table \"{table}\" which cannot be added in a table migration. The complete table will be deleted and recreated."
        ),
    )
}

/// A column changes its PostgreSQL type in place (`ALTER COLUMN ... TYPE ... USING`), with what
/// that costs while it runs. Not Serverpod's: its columnType changes never cast.
pub fn column_type_changed(table: &str, from: &ColumnDefinition, to: &ColumnDefinition) -> MigrationWarning {
    let (old, new) = (pg_type_text(from), pg_type_text(to));
    let cost = match in_place_cast(&old, &new) {
        Some(CastCost::CatalogOnly) => "only the catalog changes, no rewrite".to_string(),
        _ => "every row is rewritten and every index of the table rebuilt; values that do not convert make \
              the migration fail"
            .to_string(),
    };
    warning(
        WarningType::ColumnTypeChanged,
        table,
        vec![to.name.clone()],
        false,
        format!(
            "Column \"{}\" of table \"{table}\" changes type from {old} to {new} in place (ALTER COLUMN ... \
             TYPE ... USING). It holds an ACCESS EXCLUSIVE lock on \"{table}\" while it runs: {cost}.",
            to.name
        ),
    )
}
