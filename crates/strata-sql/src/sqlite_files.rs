//! The layout of Serverpod's SQLite `definition.sql` and `migration.sql`, byte for byte:
//! `BEGIN;`, one block per table or action, the `serverpod_sqlite_schema` block, one upsert per
//! module, `COMMIT;`. The pieces (column lines, indexes, foreign keys) come from the
//! [`Dialect`] methods of [`Sqlite`].

use std::collections::HashSet;

use strata_schema::{ColumnMigration, TableMigration};
use strata_schema::{ColumnType, DatabaseDefinition, MigrationAction, MigrationVersion, TableDefinition};

use crate::emit::{migrations_table_definition, MIGRATIONS_TABLE};
use crate::sqlite::{is_basic_sqlite_type, Sqlite, SQLITE_SCHEMA_TABLE};
use crate::{quote, Dialect, FileLayout, MigrationSqlInput, SqlError, VersionBookkeeping};

/// Prefix of the scratch table a rebuild fills before swapping it in (Serverpod's name).
const REBUILD_PREFIX: &str = "new_";

impl FileLayout for Sqlite {
    fn definition_sql(&self, def: &DatabaseDefinition) -> Result<String, SqlError> {
        let mut out = String::from("BEGIN;\n\n");
        for table in def.tables.iter().filter(|t| t.is_managed()) {
            out.push_str("--\n");
            match &table.dart_name {
                Some(dart) => out.push_str(&format!(
                    "-- Class {} as table {}\n",
                    quote::comment(dart),
                    quote::comment(&table.name)
                )),
                None => out.push_str(&format!("-- Table {}\n", quote::comment(&table.name))),
            }
            out.push_str("--\n");
            out.push_str(&self.table_block(&self.supported_indexes_only(table), &table.name, false, true)?);
            out.push('\n');
        }
        self.finish(&mut out, def, &def.installed_modules, &[])?;
        Ok(out)
    }

    fn migration_sql(&self, input: &MigrationSqlInput) -> Result<String, SqlError> {
        let mut out = String::from("BEGIN;\n\n");
        // The schema as the script has changed it so far, as far as table names go: a rebuild
        // after a table rename must find the renamed table's columns under its new name.
        let mut source = std::borrow::Cow::Borrowed(input.source);
        for action in &input.migration.actions {
            match action {
                MigrationAction::DeleteTable(name) => {
                    out.push_str("--\n-- ACTION DROP TABLE\n--\n");
                    out.push_str(&self.drop_table_sql(name));
                    out.push('\n');
                }
                MigrationAction::CreateTable(table) => {
                    out.push_str("--\n-- ACTION CREATE TABLE\n--\n");
                    out.push_str(&self.table_block(table, &table.name, false, true)?);
                }
                MigrationAction::CreateTableIfNotExists(table) => {
                    out.push_str("--\n-- ACTION CREATE TABLE IF NOT EXISTS\n--\n");
                    out.push_str(&self.table_block(table, &table.name, true, true)?);
                }
                MigrationAction::AlterTable(change) => {
                    out.push_str("--\n-- ACTION ALTER TABLE\n--\n");
                    if let Some(new_name) = &change.new_name {
                        out.push_str(&self.rename_table_sql(&change.name, new_name));
                        rename_source_table(source.to_mut(), &change.name, new_name);
                        if change.is_rename_only() {
                            out.push('\n');
                            continue;
                        }
                    }
                    out.push_str(&self.alter_table(change, input, &source)?);
                }
            }
        }
        self.finish(&mut out, input.target, input.installed_modules, input.removed_modules)?;
        Ok(out)
    }
}

impl Sqlite {
    /// `table` without the indexes this dialect leaves out of the database. Serverpod filters
    /// the target schema this way for `definition.sql` and rebuilds, but not the tables a
    /// migration creates (whose `-- Indexes` section then stays empty).
    fn supported_indexes_only(&self, table: &TableDefinition) -> TableDefinition {
        let mut table = table.clone();
        table.indexes.retain(|i| self.supports_index_method(&i.index_type));
        table
    }

    /// `CREATE TABLE "<physical>" (...) STRICT;`, then (unless skipped) the `-- Indexes`
    /// section, then a blank line. Indexes this dialect leaves out still open the section, as in
    /// Serverpod's files.
    fn table_block(
        &self,
        table: &TableDefinition,
        physical: &str,
        if_not_exists: bool,
        with_indexes: bool,
    ) -> Result<String, SqlError> {
        if !table.keys.is_empty() {
            return Err(crate::emit::keys_unsupported(self, &table.name));
        }
        let mut lines = Vec::with_capacity(table.columns.len() + table.foreign_keys.len());
        for column in &table.columns {
            lines.push(format!("    {}", self.column_sql(physical, column)?));
        }
        for fk in &table.foreign_keys {
            lines.push(format!("    {}", self.inline_foreign_key_sql(physical, fk)?));
        }
        let mut out = format!(
            "CREATE TABLE {}{} (\n{}\n){};\n",
            if if_not_exists { "IF NOT EXISTS " } else { "" },
            self.quote_identifier(physical),
            lines.join(",\n"),
            self.table_options_sql()
        );
        if with_indexes && !table.indexes.is_empty() {
            out.push_str("\n-- Indexes\n");
            for index in &table.indexes {
                out.push_str(&self.create_index_sql(table, index, if_not_exists)?);
            }
        }
        out.push('\n');
        Ok(out)
    }

    /// An `alterTable` action, in place in Serverpod's order or as a rebuild.
    fn alter_table(
        &self,
        change: &TableMigration,
        input: &MigrationSqlInput,
        source: &DatabaseDefinition,
    ) -> Result<String, SqlError> {
        let table = change.final_name();
        if !change.keys.is_empty() {
            return Err(crate::emit::keys_unsupported(self, table));
        }
        let target = input.target.table(table).ok_or_else(|| SqlError::MissingTable {
            table: table.to_string(),
            side: "target",
            purpose: "alter the table",
        })?;
        let source = source.table(table);
        if self.needs_rebuild(source, target, change) {
            return self.rebuild_table(change, source, target);
        }
        let mut out = String::new();
        // An index this dialect left out of the database is not there to drop (Serverpod's
        // `DROP INDEX` of it fails).
        let in_database = |name: &str| {
            source.and_then(|t| t.index(name)).is_none_or(|i| self.supports_index_method(&i.index_type))
        };
        for index in change.delete_indexes.iter().filter(|i| in_database(i)) {
            out.push_str(&self.drop_index_sql(table, index));
        }
        for column in &change.delete_columns {
            out.push_str(&self.drop_column_sql(table, column));
        }
        for (from, to) in crate::emit::column_rename_steps(change, Some(target)) {
            out.push_str(&self.rename_column_sql(table, &from, &to));
        }
        for column in &change.add_columns {
            out.push_str(&self.add_column_sql(table, &self.column_sql(table, column)?));
        }
        for index in &change.add_indexes {
            out.push_str(&self.create_index_sql(target, index, false)?);
        }
        out.push('\n');
        Ok(out)
    }

    /// SQLite's "other kinds of table schema changes": create `new_<table>` in the target
    /// shape, copy the surviving columns (renamed ones from their old names; json <-> jsonb
    /// converted), drop the old table, rename, recreate the indexes.
    fn rebuild_table(
        &self,
        change: &TableMigration,
        source: Option<&TableDefinition>,
        target: &TableDefinition,
    ) -> Result<String, SqlError> {
        let scratch = format!("{REBUILD_PREFIX}{}", target.name);
        let added: HashSet<&str> = change.add_columns.iter().map(|c| c.name.as_str()).collect();
        let mut into = Vec::new();
        let mut select = Vec::new();
        for column in target.columns.iter().filter(|c| !added.contains(c.name.as_str())) {
            let migration = column_migration_for(change, &column.name);
            let old = migration.map(|m| m.column_name.as_str()).unwrap_or(&column.name);
            if source.is_some_and(|s| s.column(old).is_none()) {
                continue;
            }
            into.push(self.quote_identifier(&column.name));
            select.push(match migration.and_then(|m| m.new_type) {
                Some(ColumnType::Jsonb) => format!("jsonb({})", self.quote_identifier(old)),
                Some(ColumnType::Json) => format!("json({})", self.quote_identifier(old)),
                _ => self.quote_identifier(old),
            });
        }

        let mut out = self.table_block(target, &scratch, false, false)?;
        if !into.is_empty() {
            out.push_str(&format!(
                "INSERT INTO {} ({}) SELECT {} FROM {};\n",
                self.quote_identifier(&scratch),
                into.join(", "),
                select.join(", "),
                self.quote_identifier(&target.name)
            ));
        }
        out.push_str(&self.drop_table_sql(&target.name));
        out.push_str(&self.rename_table_sql(&scratch, &target.name));
        for index in target.indexes.iter().filter(|i| self.supports_index_method(&i.index_type)) {
            out.push_str("\n-- Indexes\n");
            out.push_str(&self.create_index_sql(target, index, false)?);
        }
        out.push('\n');
        Ok(out)
    }

    /// The `serverpod_sqlite_schema` block, the bookkeeping, `COMMIT;`.
    fn finish(
        &self,
        out: &mut String,
        target: &DatabaseDefinition,
        installed: &[MigrationVersion],
        removed: &[String],
    ) -> Result<(), SqlError> {
        if !installed.is_empty() && !has_migrations_table(target) {
            // Not a Serverpod project: the runtime's bookkeeping table must exist for the upsert.
            let table = migrations_table_definition();
            out.push_str("--\n-- MIGRATION VERSION TABLE\n--\n");
            out.push_str(&self.table_block(&table, &table.name, true, true)?);
        }
        out.push_str(&column_types_block(&target.tables));
        if !installed.is_empty() {
            out.push('\n');
        }
        for m in installed {
            out.push_str(&format!("--\n-- MIGRATION VERSION FOR {}\n--\n", quote::comment(&m.module)));
            out.push_str(&VersionBookkeeping::upsert_migration_version_sql(
                self,
                MIGRATIONS_TABLE,
                &m.module,
                &m.version,
            ));
            out.push('\n');
        }
        if !removed.is_empty() {
            let list = removed.iter().map(|m| quote::literal(m)).collect::<Vec<_>>().join(", ");
            out.push_str(&format!("\n--\n-- MIGRATION VERSION FOR {}\n--\n", quote::comment(&list)));
            out.push_str(&VersionBookkeeping::delete_migration_versions_sql(self, MIGRATIONS_TABLE, removed));
        }
        out.push_str("\nCOMMIT;\n");
        Ok(())
    }
}

/// The column migration that produces `target_column`: a rename onto it first, then an
/// in-place change of a column that kept the name (Serverpod's precedence).
fn column_migration_for<'a>(change: &'a TableMigration, target_column: &str) -> Option<&'a ColumnMigration> {
    change.modify_columns.iter().find(|m| m.new_column_name.as_deref() == Some(target_column)).or_else(|| {
        change.modify_columns.iter().find(|m| m.new_column_name.is_none() && m.column_name == target_column)
    })
}

/// Renames a table in the working copy of the source schema (its inbound keys are rebuilt
/// from the target, so only the name matters here).
fn rename_source_table(source: &mut DatabaseDefinition, from: &str, to: &str) {
    if let Some(t) = source.tables.iter_mut().find(|t| t.name == from) {
        t.name = to.to_string();
    }
}

/// Whether `serverpod_migrations` is part of the schema.
fn has_migrations_table(def: &DatabaseDefinition) -> bool {
    def.tables.iter().any(|t| t.name == MIGRATIONS_TABLE && t.is_managed())
}

/// Recreates `serverpod_sqlite_schema` with one row per column (of every table, as Serverpod
/// does) whose type the storage class does not determine.
fn column_types_block(tables: &[TableDefinition]) -> String {
    let table = quote::ident(SQLITE_SCHEMA_TABLE);
    let mut out = format!(
        "--\n-- STORE COLUMN TYPES FOR MIGRATIONS\n--\nDROP TABLE IF EXISTS {table};\n\n\
         CREATE TABLE {table} (\n    \"table_name\" TEXT NOT NULL,\n    \"column_name\" TEXT NOT NULL,\n    \
         \"column_type\" TEXT NOT NULL,\n    \"column_vector_dimension\" INTEGER,\n    \
         PRIMARY KEY (\"table_name\", \"column_name\")\n);\n\n"
    );
    let rows: Vec<String> = tables
        .iter()
        .flat_map(|t| t.columns.iter().map(move |c| (t, c)))
        .filter(|(_, c)| !is_basic_sqlite_type(c.column_type))
        .map(|(t, c)| {
            let dimension = c.vector_dimension.map(|d| d.to_string()).unwrap_or_else(|| "NULL".to_string());
            format!(
                "    ({}, {}, {}, {dimension})",
                quote::literal(&t.name),
                quote::literal(&c.name),
                quote::literal(c.column_type.name())
            )
        })
        .collect();
    if !rows.is_empty() {
        out.push_str(&format!("INSERT INTO {table} VALUES\n{};\n", rows.join(",\n")));
    }
    out
}
