//! SQLite.
//!
//! **Types.** Each [`ColumnType`] gets its own declared type, so `PRAGMA table_info` maps back
//! to it ([`sqlite_declared_type_to_column_type`]), and a name whose SQLite affinity keeps the
//! stored values intact:
//!
//! | ColumnType | declared type | affinity |
//! |---|---|---|
//! | text | `TEXT` | TEXT |
//! | boolean | `BOOLEAN` (0/1) | NUMERIC |
//! | integer | `INTEGER` | INTEGER |
//! | bigint | `BIGINT` | INTEGER |
//! | doublePrecision | `DOUBLE PRECISION` | REAL |
//! | timestampWithoutTimeZone | `TIMESTAMP` (ISO text) | NUMERIC |
//! | bytea | `BLOB` | BLOB |
//! | uuid | `UUID_TEXT` | TEXT |
//! | json | `JSON_TEXT` | TEXT |
//! | jsonb | `JSONB_TEXT` | TEXT |
//! | `id` with `serial` | `INTEGER PRIMARY KEY AUTOINCREMENT` | INTEGER (rowid) |
//!
//! UUIDs and JSON get TEXT-affinity names (`..._TEXT`) because under NUMERIC affinity (what a
//! bare `UUID`/`JSON` gets) a document such as `1e5` or a dash-less all-digit UUID would be
//! silently converted to a number. Vector and geography types, non-btree index methods and
//! `NULLS NOT DISTINCT` are typed "unsupported by the sqlite dialect" errors.
//!
//! **Defaults.** `now` is `CURRENT_TIMESTAMP`; `random` / `random_v7` are parenthesised
//! expressions that build a v4 / v7 UUID string from `randomblob()` (v7 takes its millisecond
//! timestamp from `julianday('now')`, which is constant within a statement); booleans are
//! `TRUE`/`FALSE`; literals are quoted. `serial` is only possible on `id`.
//!
//! **Changes.** SQLite alters in place only ADD COLUMN (of a nullable or constant-default,
//! non-key column), RENAME COLUMN, DROP COLUMN (of a column in no key, index or foreign key) and
//! CREATE/DROP INDEX. Everything else rebuilds the table: `CREATE TABLE "_strata_new_<t>"` in
//! the target shape, `INSERT INTO ... SELECT` the surviving columns (renamed ones from their old
//! names), `DROP TABLE`, `ALTER TABLE ... RENAME TO`, recreate the indexes. Foreign keys are
//! declared inside `CREATE TABLE`; SQLite does not check their targets at create time, so table
//! order does not matter, and inbound foreign keys survive a rebuild because they name the table.
//!
//! **File layout.** `PRAGMA foreign_keys` is a no-op inside a transaction, so every file is
//! `PRAGMA foreign_keys = OFF;` / `BEGIN;` / body / foreign-key check / `COMMIT;` /
//! `PRAGMA foreign_keys = ON;`. The check inserts `count(*)` of `pragma_foreign_key_check` into a
//! temp table whose CHECK constraint only admits 0, so any violation fails the statement and the
//! runner rolls the whole migration back.

use strata_schema::{ColumnDefinition, ColumnMigration, ColumnType, ForeignKeyDefinition, IndexDefinition};
use strata_schema::{IndexElementType, TableDefinition, TableMigration};

use crate::common::{index_elements, inline_foreign_key};
use crate::emit::unsupported;
use crate::quote;
use crate::{ColumnDefault, Dialect, Extension, SqlError, SqlObject};

/// SQLite (3.35 or newer: DROP COLUMN; upserts need 3.24, RENAME COLUMN 3.25).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sqlite;

/// A random v4 UUID as lower-case text.
const UUID_V4_EXPR: &str = "(lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || \
substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || \
substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))))";

/// A v7 UUID: 48-bit Unix milliseconds, version 7, variant 10xx, random tail.
const UUID_V7_EXPR: &str = "(lower(substr(printf('%012x', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)), 1, 8) || '-' || \
substr(printf('%012x', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)), 9, 4) || '-7' || \
substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || \
substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))))";

const FOREIGN_KEY_CHECK: &str = "--
-- FOREIGN KEY CHECK
--
CREATE TEMP TABLE \"_strata_fk_check\" (\"violations\" INTEGER CONSTRAINT \"foreign_key_violations_after_migration\" CHECK (\"violations\" = 0));
INSERT INTO \"_strata_fk_check\" SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE \"_strata_fk_check\";
";

/// The declared SQLite type strata writes for a column type; `None` for types SQLite cannot
/// hold (vectors, geography, unknown).
pub fn sqlite_declared_type(column_type: ColumnType) -> Option<&'static str> {
    Some(match column_type {
        ColumnType::Text => "TEXT",
        ColumnType::Boolean => "BOOLEAN",
        ColumnType::Integer => "INTEGER",
        ColumnType::DoublePrecision => "DOUBLE PRECISION",
        ColumnType::TimestampWithoutTimeZone => "TIMESTAMP",
        ColumnType::Bytea => "BLOB",
        ColumnType::Bigint => "BIGINT",
        ColumnType::Uuid => "UUID_TEXT",
        ColumnType::Json => "JSON_TEXT",
        ColumnType::Jsonb => "JSONB_TEXT",
        _ => return None,
    })
}

/// Maps a declared type from `PRAGMA table_info` back to the column type strata wrote
/// (case-insensitive; the bare `UUID`/`JSON`/`JSONB` spellings are accepted too).
pub fn sqlite_declared_type_to_column_type(declared: &str) -> Option<ColumnType> {
    let upper = declared.trim().to_ascii_uppercase();
    Some(match upper.as_str() {
        "TEXT" => ColumnType::Text,
        "BOOLEAN" => ColumnType::Boolean,
        "INTEGER" => ColumnType::Integer,
        "DOUBLE PRECISION" => ColumnType::DoublePrecision,
        "TIMESTAMP" => ColumnType::TimestampWithoutTimeZone,
        "BLOB" => ColumnType::Bytea,
        "BIGINT" => ColumnType::Bigint,
        "UUID_TEXT" | "UUID" => ColumnType::Uuid,
        "JSON_TEXT" | "JSON" => ColumnType::Json,
        "JSONB_TEXT" | "JSONB" => ColumnType::Jsonb,
        _ => return None,
    })
}

impl Dialect for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn supports_transactional_ddl(&self) -> bool {
        true
    }
    fn supports_alter_column_type(&self) -> bool {
        false
    }
    fn supports_alter_column_nullability(&self) -> bool {
        false
    }
    fn supports_alter_column_default(&self) -> bool {
        false
    }
    fn supports_drop_column(&self) -> bool {
        true
    }
    fn supports_alter_foreign_keys(&self) -> bool {
        false
    }
    fn supports_nulls_not_distinct(&self) -> bool {
        false
    }
    fn supports_vector(&self) -> bool {
        false
    }
    fn supports_geography(&self) -> bool {
        false
    }
    fn check_expression(&self, sql: &str) -> Result<(), String> {
        crate::expression::check_sqlite(sql)
    }
    fn supports_index_method(&self, method: &str) -> bool {
        method == "btree"
    }
    fn drop_table_drops_inbound_foreign_keys(&self) -> bool {
        false
    }

    fn needs_table_rebuild_for(&self, change: &ColumnMigration) -> bool {
        change.new_type.is_some() || change.add_nullable || change.remove_nullable || change.change_default
    }

    fn needs_table_rebuild_for_added_column(&self, column: &ColumnDefinition) -> bool {
        // ADD COLUMN cannot add a key, a NOT NULL column without a default, or a non-constant
        // default (CURRENT_TIMESTAMP, parenthesised expressions).
        let default = column.column_default.as_deref().and_then(|raw| {
            ColumnDefault::parse(raw, column.column_type, &SqlObject::column("", &column.name)).ok()
        });
        column.is_primary()
            || (!column.is_nullable && column.column_default.is_none())
            || matches!(
                default,
                Some(
                    ColumnDefault::Serial
                        | ColumnDefault::Now
                        | ColumnDefault::RandomUuid
                        | ColumnDefault::RandomUuidV7
                )
            )
    }

    fn needs_table_rebuild_for_dropped_column(
        &self,
        source: Option<&TableDefinition>,
        change: &TableMigration,
        column: &str,
    ) -> bool {
        // DROP COLUMN fails for key, indexed and foreign-key columns; without the source table
        // we cannot tell, so rebuild.
        let Some(source) = source else { return true };
        let indexed =
            source.indexes.iter().filter(|i| !change.delete_indexes.contains(&i.index_name)).any(|i| {
                i.elements.iter().any(|e| match e.element_type {
                    IndexElementType::Column => e.definition == column,
                    IndexElementType::Expression => e.definition.contains(column),
                }) || i.predicate.as_deref().is_some_and(|p| p.contains(column))
            });
        column == "id"
            || indexed
            || source.foreign_keys.iter().any(|fk| fk.columns.iter().any(|c| c == column))
    }

    fn column_type_sql(&self, table: &str, column: &ColumnDefinition) -> Result<String, SqlError> {
        let object = SqlObject::column(table, &column.name);
        if column.column_type == ColumnType::Unknown {
            return Err(SqlError::UnknownColumnType { object });
        }
        sqlite_declared_type(column.column_type).map(str::to_string).ok_or_else(|| {
            unsupported(self, object, &format!("the column type {}", column.column_type.name()))
        })
    }

    fn default_sql(
        &self,
        object: &SqlObject,
        _column_type: ColumnType,
        default: &ColumnDefault,
    ) -> Result<String, SqlError> {
        Ok(match default {
            ColumnDefault::Serial => {
                return Err(unsupported(self, object.clone(), "a serial default on a column other than id"))
            }
            ColumnDefault::Now => "CURRENT_TIMESTAMP".to_string(),
            ColumnDefault::RandomUuid => UUID_V4_EXPR.to_string(),
            ColumnDefault::RandomUuidV7 => UUID_V7_EXPR.to_string(),
            ColumnDefault::Number(n) => n.clone(),
            ColumnDefault::Boolean(true) => "TRUE".to_string(),
            ColumnDefault::Boolean(false) => "FALSE".to_string(),
            ColumnDefault::Timestamp(ts) => quote::literal(ts),
            ColumnDefault::Text(text) => quote::literal(text),
        })
    }

    fn column_sql(&self, table: &str, column: &ColumnDefinition) -> Result<String, SqlError> {
        let object = SqlObject::column(table, &column.name);
        let name = self.quote_identifier(&column.name);
        let default = match &column.column_default {
            Some(raw) => Some(ColumnDefault::parse(raw, column.column_type, &object)?),
            None => None,
        };
        if column.is_primary() {
            if column.is_nullable {
                return Err(SqlError::NullablePrimaryKey { object });
            }
            if column.column_type.is_integer() {
                // Only the exact spelling `INTEGER PRIMARY KEY` makes the column the rowid.
                return match default {
                    Some(ColumnDefault::Serial) => Ok(format!("{name} INTEGER PRIMARY KEY AUTOINCREMENT")),
                    None => Ok(format!("{name} INTEGER PRIMARY KEY")),
                    Some(value) => Ok(format!(
                        "{name} INTEGER PRIMARY KEY DEFAULT {}",
                        self.default_sql(&object, column.column_type, &value)?
                    )),
                };
            }
            // SQLite lets non-integer primary keys hold NULL unless told otherwise.
            let mut out = format!("{name} {} PRIMARY KEY NOT NULL", self.column_type_sql(table, column)?);
            if let Some(value) = default {
                out.push_str(" DEFAULT ");
                out.push_str(&self.default_sql(&object, column.column_type, &value)?);
            }
            return Ok(out);
        }
        let mut out = format!("{name} {}", self.column_type_sql(table, column)?);
        if !column.is_nullable {
            out.push_str(" NOT NULL");
        }
        if let Some(value) = default {
            out.push_str(" DEFAULT ");
            out.push_str(&self.default_sql(&object, column.column_type, &value)?);
        }
        Ok(out)
    }

    fn create_index_sql(
        &self,
        table: &str,
        index: &IndexDefinition,
        if_not_exists: bool,
    ) -> Result<String, SqlError> {
        let object = SqlObject::index(table, &index.index_name);
        if !self.supports_index_method(&index.index_type) {
            return Err(unsupported(self, object, &format!("the index method {:?}", index.index_type)));
        }
        if index.nulls_distinct == Some(false) {
            return Err(unsupported(self, object, "NULLS NOT DISTINCT"));
        }
        if index.gin_operator_class.is_some() || index.vector_distance_function.is_some() {
            return Err(unsupported(self, object, "operator classes"));
        }
        if index.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
            return Err(unsupported(self, object, "index storage parameters"));
        }
        let elements = index_elements(self, table, index)?;
        let predicate = index.predicate.as_deref().map(|p| format!(" WHERE {p}")).unwrap_or_default();
        Ok(format!(
            "CREATE{} INDEX{} {} ON {} ({elements}){predicate};\n",
            if index.is_unique { " UNIQUE" } else { "" },
            if if_not_exists { " IF NOT EXISTS" } else { "" },
            self.quote_identifier(&index.index_name),
            self.quote_identifier(table),
        ))
    }

    fn drop_table_sql(&self, table: &str) -> String {
        format!("DROP TABLE {};\n", self.quote_identifier(table))
    }

    fn add_foreign_key_sql(&self, table: &str, fk: &ForeignKeyDefinition) -> Result<String, SqlError> {
        Err(unsupported(
            self,
            SqlObject::foreign_key(table, &fk.constraint_name),
            "adding a foreign key to an existing table (the table is rebuilt instead)",
        ))
    }

    fn inline_foreign_key_sql(&self, table: &str, fk: &ForeignKeyDefinition) -> Result<String, SqlError> {
        inline_foreign_key(self, table, fk)
    }

    fn extension_sql(&self, _extension: Extension) -> Option<&'static str> {
        None
    }
    fn uuid_v7_function_sql(&self) -> Option<&'static str> {
        None
    }
    fn current_timestamp_sql(&self) -> &'static str {
        "CURRENT_TIMESTAMP"
    }
    fn before_transaction_sql(&self) -> &'static str {
        "PRAGMA foreign_keys = OFF;\n"
    }
    fn before_commit_sql(&self) -> &'static str {
        FOREIGN_KEY_CHECK
    }
    fn after_transaction_sql(&self) -> &'static str {
        "PRAGMA foreign_keys = ON;\n"
    }
}
