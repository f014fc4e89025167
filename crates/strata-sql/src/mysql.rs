//! MySQL 8 and MariaDB (tested: MariaDB 10.11). The types and defaults are `mysql_types`, the
//! one mapping introspection shares; this module spells the statements.
//!
//! * **Files** have no `BEGIN;` / `COMMIT;`: MySQL commits every DDL statement, so the runner
//!   executes a file statement by statement and records its progress per statement. Files do
//!   not write `serverpod_migrations` rows (Serverpod has no MySQL); the runner keeps history.
//! * **Tables** are `ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`; `id` is
//!   `BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY`.
//! * **Identifiers** are backtick-quoted, literals have backslashes doubled as well as quotes
//!   (the server reads backslash escapes).
//! * **Columns** change with one `ALTER TABLE ... MODIFY COLUMN` restating the whole column
//!   (type, nullability and default at once), as MySQL requires.
//! * **Indexes**: only B-trees (InnoDB has no hash index and would silently build a B-tree, so
//!   `hash` is refused like `gin`, `gist`, `hnsw`, `ivfflat`); no expression elements, no
//!   predicates, no `NULLS NOT DISTINCT`. A text or blob column in a non-unique index is
//!   indexed by its first [`TEXT_INDEX_PREFIX`] characters; in a unique index it is indexed
//!   whole, since a unique prefix would refuse distinct values. MariaDB (10.5+) enforces such
//!   keys with a hidden hash; MySQL 8 refuses them, which is an error, never wrong data.
//! * **Foreign keys** are added with `ALTER TABLE ... ADD CONSTRAINT` after every table exists
//!   and dropped with `DROP FOREIGN KEY`; no `DEFERRABLE`, no `SET DEFAULT` (InnoDB refuses it).
//!
//! sea-query is not used for these statements: it quotes identifiers and escapes literals
//! itself (a second quoting and a second escaping function, which the crate's security rule
//! forbids), and every column type and default would still be raw SQL passed through its
//! `custom` escape hatches, leaving it to join strings this module already joins.

use strata_schema::{
    ColumnDefinition, ColumnType, ForeignKeyAction, ForeignKeyDefinition, IndexDefinition, IndexElementType,
    TableDefinition,
};

use crate::common::{
    add_column, check_type_supported, drop_column, foreign_key_columns, inline_foreign_key,
    referential_actions, refuse_postgres_index_details, rename_column, rename_table, sort_direction,
};
use crate::emit::unsupported;
use crate::mysql_types::{
    mysql_column_type, needs_index_prefix, MYSQL_NOW_SQL, MYSQL_RANDOM_UUID_SQL, MYSQL_RANDOM_UUID_V7_SQL,
    TEXT_INDEX_PREFIX,
};
use crate::quote;
use crate::{
    ColumnChange, ColumnDefault, Dialect, Extension, FileLayout, SqlError, SqlObject, VersionBookkeeping,
};

/// MySQL 8 / MariaDB 10.11 (config name `mysql`; `mariadb` and `mysql8` are aliases).
#[derive(Debug, Clone, Copy, Default)]
pub struct Mysql;

/// What follows every `CREATE TABLE (...)` (one literal, pinned to the `mysql_types` constants
/// by a test).
const TABLE_OPTIONS: &str = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

impl Mysql {
    /// A column's definition after its name: type, `NOT NULL`, `AUTO_INCREMENT`, `DEFAULT`,
    /// and (for `CREATE TABLE` / `ADD COLUMN`, not `MODIFY COLUMN`) `PRIMARY KEY`.
    fn column_definition(
        &self,
        table: &str,
        column: &ColumnDefinition,
        with_key: bool,
    ) -> Result<String, SqlError> {
        let object = SqlObject::column(table, &column.name);
        let mut out = self.column_type_sql(table, column)?;
        if column.is_primary() && column.is_nullable {
            return Err(SqlError::NullablePrimaryKey { object });
        }
        if !column.is_nullable {
            out.push_str(" NOT NULL");
        }
        if let Some(raw) = &column.column_default {
            match ColumnDefault::parse(raw, column.column_type, &object)? {
                ColumnDefault::Serial => {
                    if !column.is_primary() || !column.column_type.is_integer() {
                        return Err(unsupported(
                            self,
                            object,
                            "a serial default on a column other than an integer id (MySQL allows one \
                             AUTO_INCREMENT column, the primary key)",
                        ));
                    }
                    out.push_str(" AUTO_INCREMENT");
                }
                value => {
                    out.push_str(" DEFAULT ");
                    out.push_str(&self.default_sql(&object, column.column_type, &value)?);
                }
            }
        }
        if with_key && column.is_primary() {
            out.push_str(" PRIMARY KEY");
        }
        Ok(out)
    }

    /// Refuses what MySQL's foreign keys cannot do.
    fn check_foreign_key(&self, table: &str, fk: &ForeignKeyDefinition) -> Result<(), SqlError> {
        let object = || SqlObject::foreign_key(table, &fk.constraint_name);
        if fk.deferrable.is_some() {
            return Err(unsupported(
                self,
                object(),
                "a deferrable foreign key (MySQL checks every row at once)",
            ));
        }
        if fk.on_delete == Some(ForeignKeyAction::SetDefault)
            || fk.on_update == Some(ForeignKeyAction::SetDefault)
        {
            return Err(unsupported(
                self,
                object(),
                "the SET DEFAULT action (InnoDB refuses it); use SET NULL",
            ));
        }
        Ok(())
    }

    /// `` `col` `` or `` `col`(255) `` for one column element.
    fn index_element(
        &self,
        table: &TableDefinition,
        index: &IndexDefinition,
        name: &str,
    ) -> Result<String, SqlError> {
        let column = table.column(name).ok_or_else(|| SqlError::MissingColumn {
            object: SqlObject::column(&table.name, name),
            purpose: "decide whether the index element needs a prefix length",
        })?;
        let quoted = self.quote_identifier(name);
        Ok(if !index.is_unique && needs_index_prefix(column) {
            format!("{quoted}({TEXT_INDEX_PREFIX})")
        } else {
            quoted
        })
    }

    /// Refuses the index features MySQL lacks, naming the index and what to do.
    fn check_index(&self, table: &str, index: &IndexDefinition) -> Result<(), SqlError> {
        let object = || SqlObject::index(table, &index.index_name);
        let method = index.index_type.as_str();
        if !self.supports_index_method(method) {
            return Err(unsupported(
                self,
                object(),
                &format!(
                    "the {method:?} index method (InnoDB builds only B-tree indexes: use type: btree, \
                     or remove the index)"
                ),
            ));
        }
        if index.elements.is_empty() {
            return Err(SqlError::InvalidIndex {
                object: object(),
                reason: "the index has no elements".into(),
            });
        }
        if index.elements.iter().any(|e| e.element_type == IndexElementType::Expression) {
            return Err(unsupported(self, object(), "an expression index element (MariaDB has none)"));
        }
        if index.predicate.is_some() {
            return Err(unsupported(self, object(), "a partial index (WHERE predicate)"));
        }
        if index.nulls_distinct == Some(false) && !self.supports_nulls_not_distinct() {
            return Err(unsupported(self, object(), "NULLS NOT DISTINCT (null values treated as equal)"));
        }
        refuse_postgres_index_details(self, table, index)
    }
}

impl Dialect for Mysql {
    fn name(&self) -> &'static str {
        "mysql"
    }
    fn supports_transactional_ddl(&self) -> bool {
        false
    }
    fn supports_alter_column_type(&self) -> bool {
        true
    }
    fn supports_alter_column_nullability(&self) -> bool {
        true
    }
    fn supports_alter_column_default(&self) -> bool {
        true
    }
    fn supports_drop_column(&self) -> bool {
        true
    }
    fn supports_alter_foreign_keys(&self) -> bool {
        true
    }
    fn supports_nulls_not_distinct(&self) -> bool {
        false
    }
    fn supports_identity_columns(&self) -> bool {
        false
    }
    fn supports_generated_columns(&self) -> bool {
        // Its generated columns are spelled differently, and the expressions strata reads are
        // PostgreSQL's text.
        false
    }
    fn supports_vector(&self) -> bool {
        false
    }
    fn supports_geography(&self) -> bool {
        false
    }
    fn supports_index_method(&self, method: &str) -> bool {
        method == "btree"
    }
    fn wire_protocol(&self) -> &'static str {
        "mysql"
    }
    fn supports_advisory_locks(&self) -> bool {
        true
    }
    fn online_index_build(&self) -> crate::OnlineIndexBuild {
        crate::OnlineIndexBuild::Unsupported
    }
    fn drop_table_refused_while_referenced(&self) -> bool {
        true
    }
    fn indexes_serve_foreign_keys(&self) -> bool {
        true
    }
    fn drop_table_drops_inbound_foreign_keys(&self) -> bool {
        false
    }
    fn check_expression(&self, sql: &str) -> Result<(), String> {
        crate::expression::check_mysql(sql)
    }
    fn quote_identifier(&self, name: &str) -> String {
        quote::ident_with(name, '`')
    }
    fn quote_literal(&self, value: &str) -> String {
        quote::literal_escaping_backslashes(value)
    }
    fn column_type_sql(&self, table: &str, column: &ColumnDefinition) -> Result<String, SqlError> {
        check_type_supported(self, table, column)?;
        mysql_column_type(table, column)
    }
    fn default_sql(
        &self,
        object: &SqlObject,
        _column_type: ColumnType,
        default: &ColumnDefault,
    ) -> Result<String, SqlError> {
        Ok(match default {
            ColumnDefault::Serial => return Err(SqlError::SerialDefaultChange { object: object.clone() }),
            ColumnDefault::Now => MYSQL_NOW_SQL.to_string(),
            ColumnDefault::RandomUuid => format!("({MYSQL_RANDOM_UUID_SQL})"),
            ColumnDefault::RandomUuidV7 => format!("({MYSQL_RANDOM_UUID_V7_SQL})"),
            ColumnDefault::Number(n) => n.clone(),
            ColumnDefault::Boolean(b) => if *b { "1" } else { "0" }.to_string(),
            ColumnDefault::Timestamp(ts) => self.quote_literal(ts),
            // MySQL 8 takes TEXT, BLOB and JSON defaults only as expressions; MariaDB reads the
            // parenthesised literal back as the plain literal, so the form is the same everywhere.
            ColumnDefault::Text(text) => format!("({})", self.quote_literal(text)),
            ColumnDefault::Expression(sql) => {
                return Err(crate::defaults::expression_refused(object, sql, "MySQL"))
            }
        })
    }
    fn column_sql(&self, table: &str, column: &ColumnDefinition) -> Result<String, SqlError> {
        Ok(format!(
            "{} {}",
            self.quote_identifier(&column.name),
            self.column_definition(table, column, true)?
        ))
    }
    fn table_options_sql(&self) -> &'static str {
        TABLE_OPTIONS
    }
    fn create_index_sql(
        &self,
        table: &TableDefinition,
        index: &IndexDefinition,
        if_not_exists: bool,
    ) -> Result<String, SqlError> {
        self.check_index(&table.name, index)?;
        let elements = index
            .elements
            .iter()
            .map(|e| Ok(self.index_element(table, index, &e.definition)? + sort_direction(e)))
            .collect::<Result<Vec<_>, SqlError>>()?
            .join(", ");
        // `IF NOT EXISTS` (only in CREATE TABLE IF NOT EXISTS blocks) is MariaDB's; MySQL 8
        // has no such clause.
        Ok(format!(
            "CREATE{} INDEX{} {} ON {} ({elements});\n",
            if index.is_unique { " UNIQUE" } else { "" },
            if if_not_exists { " IF NOT EXISTS" } else { "" },
            self.quote_identifier(&index.index_name),
            self.quote_identifier(&table.name),
        ))
    }
    fn drop_index_sql(&self, table: &str, index: &str) -> String {
        format!("DROP INDEX {} ON {};\n", self.quote_identifier(index), self.quote_identifier(table))
    }
    fn drop_table_sql(&self, table: &str) -> String {
        format!("DROP TABLE {};\n", self.quote_identifier(table))
    }
    fn drop_column_sql(&self, table: &str, column: &str) -> String {
        drop_column(self, table, column)
    }
    fn rename_column_sql(&self, table: &str, from: &str, to: &str) -> String {
        rename_column(self, table, from, to)
    }
    fn add_column_sql(&self, table: &str, column_sql: &str) -> String {
        add_column(self, table, column_sql)
    }
    /// One `MODIFY COLUMN` restating the whole column: MySQL has no statement that changes
    /// only the type or only the nullability, and one statement is one step for the runner.
    fn alter_column_sql(
        &self,
        table: &str,
        column: &ColumnDefinition,
        _change: &ColumnChange,
    ) -> Result<String, SqlError> {
        Ok(format!(
            "ALTER TABLE {} MODIFY COLUMN {} {};\n",
            self.quote_identifier(table),
            self.quote_identifier(&column.name),
            self.column_definition(table, column, false)?
        ))
    }
    fn rename_table_sql(&self, from: &str, to: &str) -> String {
        rename_table(self, from, to)
    }
    fn add_foreign_key_sql(&self, table: &str, fk: &ForeignKeyDefinition) -> Result<String, SqlError> {
        self.check_foreign_key(table, fk)?;
        let (columns, references) = foreign_key_columns(self, table, fk)?;
        let mut out = format!(
            "ALTER TABLE {}\n    ADD CONSTRAINT {}\n    FOREIGN KEY ({columns})\n    REFERENCES {} ({references})",
            self.quote_identifier(table),
            self.quote_identifier(&fk.constraint_name),
            self.quote_identifier(&fk.reference_table),
        );
        out.push_str(&referential_actions(fk, "\n    "));
        out.push_str(";\n");
        Ok(out)
    }
    /// `DROP FOREIGN KEY`, and in the same statement the index InnoDB created for the key when
    /// no index of the table (as `source` has it) starts with the key's columns: InnoDB leaves
    /// that index behind, where a database built from `definition.sql` has none.
    fn drop_foreign_key_sql(
        &self,
        source: Option<&TableDefinition>,
        table: &str,
        constraint: &str,
    ) -> Result<String, SqlError> {
        let implicit_index = source
            .and_then(|t| t.foreign_keys.iter().find(|fk| fk.constraint_name == constraint).map(|fk| (t, fk)))
            .is_some_and(|(t, fk)| !has_covering_index(t, &fk.columns));
        let constraint = self.quote_identifier(constraint);
        let drop_index = if implicit_index { format!(", DROP INDEX {constraint}") } else { String::new() };
        Ok(format!(
            "ALTER TABLE {} DROP FOREIGN KEY {constraint}{drop_index};\n",
            self.quote_identifier(table)
        ))
    }
    fn inline_foreign_key_sql(&self, table: &str, fk: &ForeignKeyDefinition) -> Result<String, SqlError> {
        self.check_foreign_key(table, fk)?;
        inline_foreign_key(self, table, fk)
    }
    crate::emit::keys_unsupported_methods!();
    crate::emit::layout_unsupported_methods!();
    fn extension_sql(&self, _extension: Extension) -> Option<&'static str> {
        None
    }
    fn type_change_sql(&self, change: &strata_schema::types::TypeChange) -> Result<String, SqlError> {
        Err(crate::user_types::types_unsupported(change, "mysql"))
    }

    fn uuid_v7_function_sql(&self) -> Option<&'static str> {
        // The v7 default is an expression of built-in functions (`MYSQL_RANDOM_UUID_V7_SQL`).
        None
    }
    fn version_bookkeeping(&self) -> Option<&dyn VersionBookkeeping> {
        None
    }
    fn file_layout(&self) -> Option<&dyn FileLayout> {
        None
    }
}

/// Whether an index of `table` (or its `id` primary key) starts with `columns`, so InnoDB uses
/// it for a foreign key on them instead of creating one named after the key.
fn has_covering_index(table: &TableDefinition, columns: &[String]) -> bool {
    let starts_with = |elements: &[&str]| {
        elements.len() >= columns.len() && elements.iter().zip(columns).all(|(e, c)| e == c)
    };
    starts_with(&["id"])
        || table.indexes.iter().any(|i| {
            let elements: Vec<&str> = i.elements.iter().map(|e| e.definition.as_str()).collect();
            starts_with(&elements)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mysql_types::{MYSQL_CHARSET, MYSQL_COLLATION, MYSQL_ENGINE};

    #[test]
    fn table_options_name_the_mapping_constants() {
        assert_eq!(
            TABLE_OPTIONS,
            format!(" ENGINE={MYSQL_ENGINE} DEFAULT CHARSET={MYSQL_CHARSET} COLLATE={MYSQL_COLLATION}")
        );
    }
}
