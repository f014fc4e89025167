//! The dialect-independent emitter: file layout, statement order and bookkeeping.
//!
//! The layout is Serverpod's (`BEGIN;`, banners, tables, then all foreign keys, then restored
//! inbound foreign keys, then one upsert per module, `COMMIT;`); everything a dialect spells
//! differently is a [`Dialect`] call, and everything it cannot do is decided by a capability.

use std::collections::HashSet;

use strata_schema::defaults::{pg_sql_to_abstract_default, RANDOM_V7};
use strata_schema::{
    ColumnDefinition, ColumnMigration, ColumnType, DatabaseDefinition, IndexDefinition, IndexElement,
    MigrationAction, MigrationVersion, TableDefinition, TableMigration,
};

mod keys;

use keys::{early_foreign_key_drops, EarlyForeignKeyDrop};
use strata_schema::types::{type_plan, TypeChange, TypePlan};

use crate::quote;
use crate::{
    ColumnChange, ColumnDefault, Dialect, Extension, IdentityChange, LayoutStep, MigrationSqlInput, SqlError,
    SqlObject,
};

/// The bookkeeping table Serverpod's runtime reads.
pub(crate) const MIGRATIONS_TABLE: &str = "serverpod_migrations";

pub(crate) struct Emitter<'a> {
    d: &'a dyn Dialect,
}

impl<'a> Emitter<'a> {
    pub(crate) fn new(d: &'a dyn Dialect) -> Self {
        Emitter { d }
    }

    // ---------------------------------------------------------------------------------------
    // definition.sql
    // ---------------------------------------------------------------------------------------

    pub(crate) fn definition(&self, def: &DatabaseDefinition) -> Result<String, SqlError> {
        let d = self.d;
        let all_columns = || def.tables.iter().flat_map(|t| t.columns.iter());
        let mut out = String::new();
        self.begin(&mut out);
        self.prelude(
            &mut out,
            all_columns().any(|c| c.column_type.is_vector()),
            all_columns().any(|c| c.column_type.is_geography()),
            all_columns().any(is_v7_column),
        );
        let types = type_plan(&[], &def.types);
        out.push_str(&self.type_section(&types, |c| matches!(c, TypeChange::Create(_)))?);

        let mut foreign = String::new();
        let managed: Vec<&TableDefinition> = def.tables.iter().filter(|t| t.is_managed()).collect();
        for table in strata_schema::layout::parents_first(&managed) {
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
            out.push_str(&self.table_block(table, false)?);
            if d.supports_alter_foreign_keys() && !table.foreign_keys.is_empty() {
                foreign.push_str(&format!(
                    "--\n-- Foreign relations for \"{}\" table\n--\n",
                    quote::comment(&table.name)
                ));
                for fk in &table.foreign_keys {
                    foreign.push_str(&self.add_foreign_key(table, fk)?);
                }
                foreign.push('\n');
            }
        }
        out.push_str(&foreign);

        self.bookkeeping(&mut out, has_migrations_table(def), &def.installed_modules, &[])?;
        self.finish(&mut out);
        Ok(out)
    }

    // ---------------------------------------------------------------------------------------
    // migration.sql
    // ---------------------------------------------------------------------------------------

    pub(crate) fn migration(&self, input: &MigrationSqlInput) -> Result<String, SqlError> {
        let d = self.d;
        let actions = &input.migration.actions;
        let new_columns = || {
            actions.iter().flat_map(|a| -> Box<dyn Iterator<Item = &ColumnDefinition>> {
                match a {
                    MigrationAction::CreateTable(t) | MigrationAction::CreateTableIfNotExists(t) => {
                        Box::new(t.columns.iter())
                    }
                    MigrationAction::AlterTable(m) => Box::new(m.add_columns.iter()),
                    MigrationAction::DeleteTable(_) => Box::new(std::iter::empty()),
                }
            })
        };
        // Serverpod only recognises the v1 spelling of a UUIDv7 `newDefault`; any spelling that
        // normalises to `random_v7` counts here, so the function always exists before use.
        let modifies_to_v7 = actions.iter().any(|a| match a {
            MigrationAction::AlterTable(m) => m.modify_columns.iter().any(|c| {
                c.change_default
                    && c.new_default
                        .as_deref()
                        .is_some_and(|v| pg_sql_to_abstract_default(v, ColumnType::Uuid) == RANDOM_V7)
            }),
            _ => false,
        });

        let types = type_plan(&input.source.types, &input.target.types);
        if let Some(reason) = types.blocked.first() {
            return Err(SqlError::TypeChangeBlocked { reason: reason.clone() });
        }
        // A label added inside a transaction cannot be used before it commits (PostgreSQL 12+),
        // so new labels go before the migration's transaction; IF NOT EXISTS makes a re-run safe.
        let mut out = self.type_section(&types, |c| matches!(c, TypeChange::AddEnumValue { .. }))?;
        self.begin(&mut out);
        self.prelude(
            &mut out,
            new_columns().any(|c| c.column_type.is_vector()),
            new_columns().any(|c| c.column_type.is_geography()),
            new_columns().any(is_v7_column) || modifies_to_v7,
        );
        out.push_str(
            &self.type_section(&types, |c| {
                matches!(c, TypeChange::Create(_) | TypeChange::AlterDomain { .. })
            })?,
        );

        out.push_str(&self.layout_section(actions, "LEAVE PARENT TABLES", leave_steps)?);
        let mut foreign = String::new();
        let mut dropped: HashSet<&str> = HashSet::new();
        let early = early_foreign_key_drops(input);
        for action in actions {
            match action {
                MigrationAction::DeleteTable(name) => {
                    out.push_str("--\n-- ACTION DROP TABLE\n--\n");
                    out.push_str(&self.drop_inbound_foreign_keys(input, name, &dropped)?);
                    dropped.insert(name);
                    out.push_str(&d.drop_table_sql(name));
                    out.push('\n');
                }
                MigrationAction::CreateTable(table) => {
                    out.push_str("--\n-- ACTION CREATE TABLE\n--\n");
                    out.push_str(&self.table_block(table, false)?);
                }
                MigrationAction::CreateTableIfNotExists(table) => {
                    out.push_str("--\n-- ACTION CREATE TABLE IF NOT EXISTS\n--\n");
                    out.push_str(&self.table_block(table, true)?);
                }
                MigrationAction::AlterTable(change) => {
                    out.push_str("--\n-- ACTION ALTER TABLE\n--\n");
                    out.push_str(&self.alter_table(change, input, &early)?);
                }
            }
            if d.supports_alter_foreign_keys() {
                match action {
                    MigrationAction::CreateTable(t) | MigrationAction::CreateTableIfNotExists(t)
                        if !t.foreign_keys.is_empty() =>
                    {
                        foreign.push_str("--\n-- ACTION CREATE FOREIGN KEY\n--\n");
                        for fk in &t.foreign_keys {
                            foreign.push_str(&self.add_foreign_key(t, fk)?);
                        }
                        foreign.push('\n');
                    }
                    MigrationAction::AlterTable(m) if !m.add_foreign_keys.is_empty() => {
                        foreign.push_str("--\n-- ACTION CREATE FOREIGN KEY\n--\n");
                        let target = target_table_or_bare(input, m.final_name());
                        for fk in &m.add_foreign_keys {
                            foreign.push_str(&self.add_foreign_key(&target, fk)?);
                        }
                    }
                    _ => {}
                }
            }
        }
        if d.drop_table_drops_inbound_foreign_keys() || d.drop_table_refused_while_referenced() {
            foreign.push_str(&self.restore_inbound_foreign_keys(input)?);
        }
        out.push_str(&self.layout_section(actions, "JOIN PARENT TABLES", join_steps)?);
        out.push_str(&foreign);
        // Types go once nothing uses them: after every table and column change.
        out.push_str(&self.type_section(&types, |c| matches!(c, TypeChange::Drop(_)))?);

        self.bookkeeping(
            &mut out,
            has_migrations_table(input.target),
            input.installed_modules,
            input.removed_modules,
        )?;
        self.finish(&mut out);
        Ok(out)
    }

    /// The statements of the type changes `pick` selects, under one banner and followed by a
    /// blank line; nothing when there are none (so files without types keep Serverpod's bytes).
    fn type_section(&self, plan: &TypePlan, pick: impl Fn(&TypeChange) -> bool) -> Result<String, SqlError> {
        let mut out = String::new();
        for change in plan.changes.iter().filter(|c| pick(c)) {
            out.push_str(&self.d.type_change_sql(change)?);
        }
        if !out.is_empty() {
            out.insert_str(0, "--\n-- ACTION TYPES\n--\n");
            out.push('\n');
        }
        Ok(out)
    }

    /// `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY ...;` on `table`. A partitioned table's
    /// key must reach its partitions, which Serverpod's `ALTER TABLE ONLY` refuses there, so it
    /// gets the plain `ALTER TABLE ... ADD` of the constraint.
    fn add_foreign_key(
        &self,
        table: &TableDefinition,
        fk: &strata_schema::ForeignKeyDefinition,
    ) -> Result<String, SqlError> {
        if table.layout.partition_key.is_none() {
            return self.d.add_foreign_key_sql(&table.name, fk);
        }
        Ok(format!(
            "ALTER TABLE {} ADD {};\n",
            self.d.quote_identifier(&table.name),
            self.d.inline_foreign_key_sql(&table.name, fk)?
        ))
    }

    /// The layout steps `steps` picks from every altered table, under one banner and followed by
    /// a blank line; nothing when there are none.
    fn layout_section(
        &self,
        actions: &[MigrationAction],
        banner: &str,
        steps: fn(&TableMigration) -> Vec<(&str, LayoutStep<'_>)>,
    ) -> Result<String, SqlError> {
        let mut out = String::new();
        for change in actions.iter().filter_map(|a| match a {
            MigrationAction::AlterTable(m) => Some(m),
            _ => None,
        }) {
            for (table, step) in steps(change) {
                out.push_str(&self.d.layout_change_sql(table, &step)?);
            }
        }
        if !out.is_empty() {
            out.insert_str(0, &format!("--\n-- ACTION {banner}\n--\n"));
            out.push('\n');
        }
        Ok(out)
    }

    /// Extension blocks and the UUIDv7 helper, each followed by a blank line.
    fn prelude(&self, out: &mut String, vector: bool, geography: bool, uuid_v7: bool) {
        let blocks = [
            (vector, self.d.extension_sql(Extension::Vector)),
            (geography, self.d.extension_sql(Extension::Postgis)),
            (uuid_v7, self.d.uuid_v7_function_sql()),
        ];
        for (needed, sql) in blocks {
            if let (true, Some(sql)) = (needed, sql) {
                out.push_str(sql);
                out.push('\n');
            }
        }
    }

    /// `BEGIN;` when the dialect's DDL is transactional; a file of a dialect that commits
    /// each DDL statement has no transaction lines (one would claim an atomicity it lacks).
    fn begin(&self, out: &mut String) {
        if self.d.supports_transactional_ddl() {
            out.push_str("BEGIN;\n\n");
        }
    }

    /// `COMMIT;` when the file opened a transaction.
    fn finish(&self, out: &mut String) {
        if self.d.supports_transactional_ddl() {
            out.push_str("\nCOMMIT;\n");
        }
    }

    // ---------------------------------------------------------------------------------------
    // Tables
    // ---------------------------------------------------------------------------------------

    /// `CREATE TABLE` + `-- Indexes` section + blank line.
    fn table_block(&self, table: &TableDefinition, if_not_exists: bool) -> Result<String, SqlError> {
        let mut out = self.create_table(table, &table.name, if_not_exists)?;
        let indexes: Vec<&IndexDefinition> = indexes_except_id(table).collect();
        if !indexes.is_empty() {
            out.push_str("\n-- Indexes\n");
            for index in indexes {
                out.push_str(&self.d.create_index_sql(table, index, if_not_exists)?);
            }
        }
        out.push('\n');
        Ok(out)
    }

    /// `CREATE TABLE "<physical>" (...)` with `table`'s columns (and inline foreign keys when
    /// the dialect cannot add them later). `physical` differs from `table.name` in rebuilds.
    fn create_table(
        &self,
        table: &TableDefinition,
        physical: &str,
        if_not_exists: bool,
    ) -> Result<String, SqlError> {
        let d = self.d;
        let layout = d.table_layout_sql(table)?;
        let head = format!(
            "CREATE {}TABLE {}{}",
            layout.persistence,
            if if_not_exists { "IF NOT EXISTS " } else { "" },
            d.quote_identifier(physical)
        );
        if let Some(partition_of) = &layout.partition_of {
            // A partition's columns, keys and foreign keys are its parent's.
            return Ok(format!("{head} {partition_of}{};\n", layout.suffix));
        }
        let mut lines = Vec::with_capacity(table.columns.len() + table.foreign_keys.len());
        // Columns only a parent provides come with `INHERITS`.
        for column in table.columns.iter().filter(|c| !table.layout.is_inherited(&c.name)) {
            lines.push(format!("    {}", self.column_in(table, &table.name, column)?));
        }
        if let Some(pk) = &table.keys.primary_key {
            lines.push(format!("    {}", d.key_constraint_sql(&table.name, pk, true)?));
        }
        for key in &table.keys.unique {
            lines.push(format!("    {}", d.key_constraint_sql(&table.name, key, false)?));
        }
        for check in table.keys.checks.iter().filter(|c| !c.not_valid) {
            lines.push(format!("    {}", d.check_constraint_sql(&table.name, check)?));
        }
        for exclusion in &table.keys.exclusions {
            lines.push(format!("    {}", d.exclusion_constraint_sql(&table.name, exclusion)?));
        }
        if !d.supports_alter_foreign_keys() {
            for fk in &table.foreign_keys {
                lines.push(format!("    {}", d.inline_foreign_key_sql(&table.name, fk)?));
            }
        }
        let mut out =
            format!("{head} (\n{}\n){}{};\n", lines.join(",\n"), layout.suffix, d.table_options_sql());
        // PostgreSQL takes `NOT VALID` only in `ALTER TABLE ... ADD CONSTRAINT`.
        for check in table.keys.checks.iter().filter(|c| c.not_valid) {
            out.push_str(&self.add_constraint(physical, &d.check_constraint_sql(&table.name, check)?));
        }
        Ok(out)
    }

    /// A column line of `table` (named `physical` in the statement): with the inline `id`
    /// primary key unless the table states its own.
    fn column_in(
        &self,
        table: &TableDefinition,
        physical: &str,
        column: &ColumnDefinition,
    ) -> Result<String, SqlError> {
        match table.keys.states_primary_key() {
            true => self.d.keyed_column_sql(physical, column),
            false => self.d.column_sql(physical, column),
        }
    }

    /// An `alterTable` action, in place in Serverpod's fixed order. (SQLite, which rebuilds tables,
    /// writes its files itself: `sqlite_files`.) `early` are foreign keys of other tables that
    /// reference keys this migration drops, dropped here first.
    fn alter_table(
        &self,
        change: &TableMigration,
        input: &MigrationSqlInput,
        early: &[EarlyForeignKeyDrop],
    ) -> Result<String, SqlError> {
        let d = self.d;
        let mut out = String::new();
        if let Some(new_name) = &change.new_name {
            out.push_str(&d.rename_table_sql(&change.name, new_name));
        }
        // The source knows the table by its old name; every statement after the rename uses the new one.
        let source = input.source.table(&change.name);
        let table = change.final_name();
        // Foreign keys a dropped table's DROP already took away are not dropped twice.
        let dropped_early = |fk: &str| early.iter().any(|e| e.table == table && e.constraint == fk);
        out.push_str(&self.drop_early_foreign_keys(change, early)?);
        let foreign_keys = change.delete_foreign_keys.iter().filter(|fk| {
            let by_table_drop =
                d.drop_table_refused_while_referenced() && pre_dropped(input, &change.name, fk);
            !by_table_drop && !dropped_early(fk)
        });
        if d.indexes_serve_foreign_keys() {
            // An index serving a foreign key cannot be dropped while the key exists.
            for fk in foreign_keys {
                out.push_str(&d.drop_foreign_key_sql(source, table, fk)?);
            }
            for index in &change.delete_indexes {
                out.push_str(&d.drop_index_sql(table, index));
            }
        } else {
            for index in &change.delete_indexes {
                out.push_str(&d.drop_index_sql(table, index));
            }
            for fk in foreign_keys {
                out.push_str(&d.drop_foreign_key_sql(source, table, fk)?);
            }
        }
        out.push_str(&self.drop_keys(change)?);
        for column in &change.delete_columns {
            out.push_str(&d.drop_column_sql(table, column));
        }
        for (from, to) in column_rename_steps(change, input.target.table(table)) {
            out.push_str(&d.rename_column_sql(table, &from, &to));
        }
        let target = target_table_or_bare(input, table);
        // Generated columns come last: their expressions may use columns added or retyped here.
        let (generated, plain): (Vec<_>, Vec<_>) =
            change.add_columns.iter().partition(|c| c.generated.is_some());
        for column in plain {
            out.push_str(&d.add_column_sql(table, &self.column_in(&target, table, column)?));
        }
        for m in &change.modify_columns {
            out.push_str(&self.alter_column(table, m, input, source)?);
        }
        for column in generated {
            out.push_str(&d.add_column_sql(table, &self.column_in(&target, table, column)?));
        }
        out.push_str(&self.add_keys(change)?);
        if !change.add_indexes.is_empty() {
            for index in &change.add_indexes {
                out.push_str(&d.create_index_sql(&target, index, false)?);
            }
        }
        if let Some(unlogged) = change.layout.set_unlogged {
            out.push_str(&d.layout_change_sql(table, &LayoutStep::SetUnlogged(unlogged))?);
        }
        Ok(out)
    }

    /// One column's in-place change (nullability, default, type). It runs after the renames,
    /// so it uses the new name (Serverpod used the old one for SET DATA TYPE).
    fn alter_column(
        &self,
        table: &str,
        m: &ColumnMigration,
        input: &MigrationSqlInput,
        source: Option<&TableDefinition>,
    ) -> Result<String, SqlError> {
        let d = self.d;
        let name = m.final_name();
        let object = SqlObject::column(table, name);
        let mut change = ColumnChange::default();
        let before = source.and_then(|t| t.column(&m.column_name));
        if m.drop_expression {
            if !d.supports_generated_columns() {
                return Err(unsupported(d, object, "making a generated column plain (DROP EXPRESSION)"));
            }
            change.drop_expression = true;
        }
        if m.change_identity {
            if !d.supports_identity_columns() {
                return Err(unsupported(d, object, "changing a column's identity"));
            }
            change.identity = match (before.and_then(|c| c.identity), m.new_identity) {
                (_, None) => Some(IdentityChange::Drop),
                (None, Some(new)) => Some(IdentityChange::Add(new, m.new_identity_options)),
                (Some(old), Some(new)) => {
                    let old_options = before.and_then(|c| c.identity_options);
                    change.identity_options = (old_options != m.new_identity_options)
                        .then_some((old_options, m.new_identity_options));
                    (old != new).then_some(IdentityChange::Set(new))
                }
            };
        }
        if m.add_nullable || m.remove_nullable {
            if !d.supports_alter_column_nullability() {
                return Err(unsupported(d, object, "changing a column's nullability in place"));
            }
            change.nullable = Some(m.add_nullable);
        }
        if m.change_default {
            if !d.supports_alter_column_default() {
                return Err(unsupported(d, object, "changing a column's default in place"));
            }
            change.default_sql = Some(self.new_default_sql(table, m, input, &object)?);
            change.drop_serial_sequence = before.is_some_and(|c| drops_serial_sequence(c, m));
        }
        let mut column = input
            .target
            .table(table)
            .and_then(|t| t.column(name))
            .cloned()
            .unwrap_or_else(|| ColumnDefinition { name: name.to_string(), ..Default::default() });
        if let Some(new_type) = m.new_type {
            if !d.supports_alter_column_type() {
                return Err(unsupported(d, object, "changing a column's type in place"));
            }
            column.column_type = new_type;
            if let Some(native) = &m.new_native_type {
                column.native_type = Some(native.clone());
            }
            change.type_sql = Some(d.column_type_sql(table, &column)?);
        }
        // The old default may not cast to the new native type (`'a'::text` to an enum): it is
        // set again around the type change (a sequence's `nextval` casts, and stays).
        if m.new_native_type.is_some() && change.default_sql.is_none() {
            if let Some(raw) = &column.column_default {
                match ColumnDefault::parse_or_expression(raw, column.column_type, &object)? {
                    ColumnDefault::Serial => {}
                    value => {
                        change.default_sql = Some(Some(d.default_sql(&object, column.column_type, &value)?))
                    }
                }
            }
        }
        if change.is_empty() {
            return Ok(String::new());
        }
        d.alter_column_sql(table, &column, &change)
    }

    /// The SQL of a changed default, `None` when it is dropped. Unlike Serverpod, dropping the
    /// default does not end the column's statements: a type change follows.
    fn new_default_sql(
        &self,
        table: &str,
        m: &ColumnMigration,
        input: &MigrationSqlInput,
        object: &SqlObject,
    ) -> Result<Option<String>, SqlError> {
        let Some(raw) = &m.new_default else { return Ok(None) };
        let column_type = match m.new_type {
            Some(t) => t,
            None => target_column(input, table, m.final_name())?.column_type,
        };
        match ColumnDefault::parse_or_expression(raw, column_type, object)? {
            ColumnDefault::Serial => Err(SqlError::SerialDefaultChange { object: object.clone() }),
            value => Ok(Some(self.d.default_sql(object, column_type, &value)?)),
        }
    }

    /// When the dialect refuses to drop a referenced table, the foreign keys of other tables
    /// that reference `dropped` (as the source schema has them), dropped first. Tables
    /// `already_dropped` earlier in the migration took their keys with them.
    fn drop_inbound_foreign_keys(
        &self,
        input: &MigrationSqlInput,
        dropped: &str,
        already_dropped: &HashSet<&str>,
    ) -> Result<String, SqlError> {
        let mut out = String::new();
        if !self.d.drop_table_refused_while_referenced() {
            return Ok(out);
        }
        let referencing =
            input.source.tables.iter().filter(|t| {
                t.is_managed() && t.name != dropped && !already_dropped.contains(t.name.as_str())
            });
        for table in referencing {
            for fk in table.foreign_keys.iter().filter(|fk| fk.reference_table == dropped) {
                out.push_str(&self.d.drop_foreign_key_sql(Some(table), &table.name, &fk.constraint_name)?);
            }
        }
        Ok(out)
    }

    /// Foreign keys of untouched tables that point at a table dropped and recreated in this
    /// migration (`DROP TABLE ... CASCADE` removed them).
    fn restore_inbound_foreign_keys(&self, input: &MigrationSqlInput) -> Result<String, SqlError> {
        let actions = &input.migration.actions;
        let created: HashSet<&str> = actions
            .iter()
            .filter_map(|a| match a {
                MigrationAction::CreateTable(t) | MigrationAction::CreateTableIfNotExists(t) => {
                    Some(t.name.as_str())
                }
                _ => None,
            })
            .collect();
        let recreated: HashSet<&str> = actions
            .iter()
            .filter_map(|a| match a {
                MigrationAction::DeleteTable(n) if created.contains(n.as_str()) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        if recreated.is_empty() {
            return Ok(String::new());
        }
        let re_added: HashSet<(&str, &str)> = actions
            .iter()
            .filter_map(|a| match a {
                MigrationAction::AlterTable(m) => Some(m),
                _ => None,
            })
            .flat_map(|m| {
                m.add_foreign_keys.iter().map(move |fk| (m.final_name(), fk.constraint_name.as_str()))
            })
            .collect();

        let mut out = String::new();
        for table in input.target.tables.iter().filter(|t| t.is_managed()) {
            if created.contains(table.name.as_str()) {
                continue;
            }
            for fk in &table.foreign_keys {
                if recreated.contains(fk.reference_table.as_str())
                    && !re_added.contains(&(table.name.as_str(), fk.constraint_name.as_str()))
                {
                    out.push_str(&self.add_foreign_key(table, fk)?);
                }
            }
        }
        if out.is_empty() {
            return Ok(out);
        }
        Ok(format!("--\n-- ACTION RESTORE FOREIGN KEY\n--\n{out}"))
    }

    // ---------------------------------------------------------------------------------------
    // Bookkeeping
    // ---------------------------------------------------------------------------------------

    /// One upsert per installed module and the DELETE for removed ones. When the definition has
    /// no `serverpod_migrations` table (not a Serverpod project), it is created first.
    fn bookkeeping(
        &self,
        out: &mut String,
        has_table: bool,
        installed: &[MigrationVersion],
        removed: &[String],
    ) -> Result<(), SqlError> {
        let d = self.d;
        let Some(versions) = d.version_bookkeeping() else { return Ok(()) };
        if installed.is_empty() && removed.is_empty() {
            return Ok(());
        }
        if !has_table {
            let table = migrations_table_definition();
            out.push_str("\n--\n-- MIGRATION VERSION TABLE\n--\n");
            out.push_str(&self.create_table(&table, &table.name, true)?);
            for index in &table.indexes {
                out.push_str(&d.create_index_sql(&table, index, true)?);
            }
        }
        if !installed.is_empty() {
            out.push('\n');
            for m in installed {
                out.push_str(&format!("--\n-- MIGRATION VERSION FOR {}\n--\n", quote::comment(&m.module)));
                out.push_str(&versions.upsert_migration_version_sql(MIGRATIONS_TABLE, &m.module, &m.version));
                out.push('\n');
            }
        }
        if !removed.is_empty() {
            let list = removed.iter().map(|m| quote::literal(m)).collect::<Vec<_>>().join(", ");
            out.push_str(&format!("\n--\n-- MIGRATION VERSION FOR {}\n--\n", quote::comment(&list)));
            out.push_str(&versions.delete_migration_versions_sql(MIGRATIONS_TABLE, removed));
        }
        Ok(())
    }
}

/// The column renames of `change` as statements that run one after another: chains wait for
/// their target name to be free, swaps go through a temporary name no column of the table's
/// target shape uses (renames run after the drops, so only those names can be taken).
pub(crate) fn column_rename_steps(
    change: &TableMigration,
    target: Option<&TableDefinition>,
) -> Vec<(String, String)> {
    let renames: Vec<(String, String)> = change
        .modify_columns
        .iter()
        .filter_map(|m| Some((m.column_name.clone(), m.new_column_name.clone()?)))
        .collect();
    let taken = |name: &str| target.is_some_and(|t| t.column(name).is_some());
    strata_schema::rename_steps(&renames, &taken)
}

/// The key-constraint methods of a [`Dialect`] that writes only Serverpod's `PRIMARY KEY ("id")`:
/// each refuses, naming the table.
macro_rules! keys_unsupported_methods {
    () => {
        fn keyed_column_sql(
            &self,
            table: &str,
            _column: &strata_schema::ColumnDefinition,
        ) -> Result<String, SqlError> {
            Err(crate::emit::keys_unsupported(self, table))
        }
        fn key_constraint_sql(
            &self,
            table: &str,
            _key: &strata_schema::KeyConstraint,
            _primary: bool,
        ) -> Result<String, SqlError> {
            Err(crate::emit::keys_unsupported(self, table))
        }
        fn check_constraint_sql(
            &self,
            table: &str,
            _check: &strata_schema::CheckConstraint,
        ) -> Result<String, SqlError> {
            Err(crate::emit::constraints_unsupported(self, table))
        }
        fn exclusion_constraint_sql(
            &self,
            table: &str,
            _exclusion: &strata_schema::ExclusionConstraint,
        ) -> Result<String, SqlError> {
            Err(crate::emit::constraints_unsupported(self, table))
        }
        fn drop_key_constraint_sql(&self, table: &str, _name: &str) -> Result<String, SqlError> {
            Err(crate::emit::keys_unsupported(self, table))
        }
        fn rename_key_constraint_sql(&self, table: &str, _from: &str, _to: &str) -> Result<String, SqlError> {
            Err(crate::emit::keys_unsupported(self, table))
        }
    };
}
pub(crate) use keys_unsupported_methods;

/// The layout methods of a [`Dialect`] that writes only plain logged tables: a table with a
/// partition key or bound, parents or `UNLOGGED` is refused, naming it.
macro_rules! layout_unsupported_methods {
    () => {
        fn table_layout_sql(
            &self,
            table: &strata_schema::TableDefinition,
        ) -> Result<crate::TableLayoutSql, SqlError> {
            if table.layout.is_default() && table.partition_of.is_none() {
                return Ok(crate::TableLayoutSql::default());
            }
            Err(crate::emit::layout_unsupported(self, &table.name))
        }
        fn layout_change_sql(&self, table: &str, _step: &crate::LayoutStep) -> Result<String, SqlError> {
            Err(crate::emit::layout_unsupported(self, table))
        }
    };
}
pub(crate) use layout_unsupported_methods;

/// The steps that take an altered table out of its old parents, run before every other change
/// of the migration (under its name before any rename), so that neither a parent's column drop
/// nor its `DROP TABLE ... CASCADE` reaches it.
fn leave_steps(change: &TableMigration) -> Vec<(&str, LayoutStep<'_>)> {
    let detach = change.layout.detach_from.iter().map(|p| LayoutStep::Detach { parent: p });
    let no_inherit = change.layout.drop_inherits.iter().map(|p| LayoutStep::NoInherit { parent: p });
    detach.chain(no_inherit).map(|step| (change.name.as_str(), step)).collect()
}

/// The steps that put an altered table under its new parents, run after every table change of
/// the migration: the parents exist and both sides have their final columns.
fn join_steps(change: &TableMigration) -> Vec<(&str, LayoutStep<'_>)> {
    let attach =
        change.layout.attach_to.iter().map(|p| LayoutStep::Attach { parent: &p.parent, bound: &p.bound });
    let inherit = change.layout.add_inherits.iter().map(|p| LayoutStep::Inherit { parent: p });
    attach.chain(inherit).map(|step| (change.final_name(), step)).collect()
}

/// The error of a dialect that writes only plain logged tables.
pub(crate) fn layout_unsupported(d: &dyn Dialect, table: &str) -> SqlError {
    unsupported(d, SqlObject::table(table), "partitioning, table inheritance or UNLOGGED")
}

/// The error of a dialect that writes only Serverpod's `PRIMARY KEY ("id")` keys.
pub(crate) fn keys_unsupported(d: &dyn Dialect, table: &str) -> SqlError {
    unsupported(d, SqlObject::table(table), "a primary key other than (\"id\"), or a UNIQUE constraint")
}

/// The error of a dialect that writes no `CHECK` or `EXCLUDE` constraints (introspection of its
/// databases names theirs instead of reading them).
pub(crate) fn constraints_unsupported(d: &dyn Dialect, table: &str) -> SqlError {
    unsupported(d, SqlObject::table(table), "CHECK and EXCLUDE constraints")
}

/// The dialect-independent "cannot do X" error.
pub(crate) fn unsupported(d: &dyn Dialect, object: SqlObject, what: &str) -> SqlError {
    SqlError::Unsupported { dialect: d.name(), object, what: what.to_string() }
}

/// Whether the foreign key `constraint` of `table` was already dropped before a table it
/// references was dropped in this migration ([`Emitter::drop_inbound_foreign_keys`]).
fn pre_dropped(input: &MigrationSqlInput, table: &str, constraint: &str) -> bool {
    let Some(fk) = input
        .source
        .table(table)
        .and_then(|t| t.foreign_keys.iter().find(|f| f.constraint_name == constraint))
    else {
        return false;
    };
    fk.reference_table != table
        && input
            .migration
            .actions
            .iter()
            .any(|a| matches!(a, MigrationAction::DeleteTable(n) if *n == fk.reference_table))
}

/// The target table (whose column types a dialect may need to render an index), or a table with
/// only the name when the target definition lacks it.
fn target_table_or_bare(input: &MigrationSqlInput, table: &str) -> TableDefinition {
    input
        .target
        .table(table)
        .cloned()
        .unwrap_or_else(|| TableDefinition { name: table.to_string(), ..Default::default() })
}

/// The target column a modification refers to.
fn target_column<'i>(
    input: &MigrationSqlInput<'i>,
    table: &str,
    column: &str,
) -> Result<&'i ColumnDefinition, SqlError> {
    input
        .target
        .table(table)
        .ok_or_else(|| SqlError::MissingTable {
            table: table.to_string(),
            side: "target",
            purpose: "render a column default",
        })?
        .column(column)
        .ok_or_else(|| SqlError::MissingColumn {
            object: SqlObject::column(table, column),
            purpose: "render a column default",
        })
}

/// Indexes that `CREATE TABLE` does not already create: a plain single-element primary or
/// unique index on `id` is the primary key's own index (Serverpod's files list it as
/// `<table>_pkey`, and Serverpod skips it the same way). A non-unique index on `id`, or one
/// with a sort order, class, collation, `INCLUDE` columns or a predicate, is an index of its
/// own (a live database can hold one next to the key).
pub(crate) fn indexes_except_id(table: &TableDefinition) -> impl Iterator<Item = &IndexDefinition> {
    table.indexes.iter().filter(|i| {
        let plain_id = matches!(i.elements.as_slice(), [e] if e.definition == "id" && !e.has_options())
            && i.include.is_empty()
            && i.predicate.is_none();
        !(plain_id && (i.is_primary || i.is_unique))
    })
}

/// Whether the column's default is UUIDv7 in either the abstract or the v1 spelling.
fn is_v7_column(column: &ColumnDefinition) -> bool {
    column
        .column_default
        .as_deref()
        .is_some_and(|v| pg_sql_to_abstract_default(v, column.column_type) == RANDOM_V7)
}

/// Whether `serverpod_migrations` is part of the schema the file creates or migrates to.
fn has_migrations_table(def: &DatabaseDefinition) -> bool {
    def.tables.iter().any(|t| t.name == MIGRATIONS_TABLE && t.is_managed())
}

/// Serverpod's bookkeeping table (`DatabaseMigrationVersion`, spec §4.7), for projects whose
/// definition does not include it.
pub(crate) fn migrations_table_definition() -> TableDefinition {
    let column = |name: &str, column_type, is_nullable, default: Option<&str>| ColumnDefinition {
        name: name.to_string(),
        field_name: Some(name.to_string()),
        column_type,
        is_nullable,
        column_default: default.map(str::to_string),
        dart_type: None,
        vector_dimension: None,
        native_type: None,
        identity: None,
        identity_options: None,
        generated: None,
    };
    TableDefinition {
        name: MIGRATIONS_TABLE.to_string(),
        dart_name: Some("DatabaseMigrationVersion".to_string()),
        module: Some("serverpod".to_string()),
        schema: "public".to_string(),
        table_space: None,
        columns: vec![
            column("id", ColumnType::Bigint, false, Some("serial")),
            column("module", ColumnType::Text, false, None),
            column("version", ColumnType::Text, false, None),
            column("timestamp", ColumnType::TimestampWithoutTimeZone, true, None),
        ],
        foreign_keys: Vec::new(),
        indexes: vec![IndexDefinition {
            index_name: "serverpod_migrations_ids".to_string(),
            elements: vec![IndexElement::column("module")],
            index_type: "btree".to_string(),
            is_unique: true,
            ..Default::default()
        }],
        managed: Some(true),
        keys: Default::default(),
        partition_of: None,
        layout: Default::default(),
    }
}

/// Whether the `serial` default `before` loses in `m` takes its sequence along: on a live
/// database (its exact type known), and always when an identity replaces it (whose own sequence
/// would otherwise get another name). Serverpod keeps the sequence, so its files keep their bytes.
pub fn drops_serial_sequence(before: &ColumnDefinition, m: &ColumnMigration) -> bool {
    m.change_default && before.is_serial() && (before.native_type.is_some() || m.new_identity.is_some())
}
