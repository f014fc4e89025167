//! SQLite: Serverpod's own SQLite dialect (Serverpod 4, chosen by `database: filePath:` in
//! `config/<mode>.yaml`), strata's only one, since any SQLite database a Serverpod runtime reads
//! needs `serverpod_sqlite_schema`.
//!
//! The bytes are Serverpod's, so a Serverpod project's committed SQLite migrations replay
//! unchanged and the Serverpod runtime can read any database strata migrates:
//!
//! * **Tables** are `STRICT`; foreign keys are declared inside `CREATE TABLE`.
//! * **Types** are SQLite storage classes ([`sqlite_storage_type`]): `INTEGER` for
//!   integers, booleans (0/1) and timestamps (epoch milliseconds), `REAL`, `BLOB` for bytes,
//!   UUIDs and jsonb, and `TEXT` for text, json, vectors and geography (as text).
//! * **Keys.** `id` is `INTEGER PRIMARY KEY` (the rowid, no `AUTOINCREMENT`) or, for UUID ids,
//!   `BLOB PRIMARY KEY DEFAULT (...)`.
//! * **Defaults** are parenthesised: `now` is epoch milliseconds, literal timestamps are epoch
//!   milliseconds, booleans `1`/`0`, UUID literals `X'...'` blobs, random UUIDs built from
//!   `randomblob()`.
//! * **Indexes** have no `USING`; any method other than btree (gin, gist, hnsw, ...) is left
//!   out of the database, as Serverpod does. `NULLS NOT DISTINCT` cannot be expressed and is
//!   an error.
//! * **`serverpod_sqlite_schema`**: every file ends by recreating this table with one row per
//!   column whose abstract type SQLite's storage class does not determine (boolean, timestamp,
//!   uuid, json, jsonb, vectors, geography). The Serverpod runtime and introspection read it
//!   back to tell, say, a boolean from a bigint.
//! * **Changes** SQLite cannot `ALTER` (nullability, defaults, types, foreign keys, added
//!   columns with a default, a key or a unique index) rebuild the table as `new_<table>`.
//!   `PRAGMA foreign_keys` is the runner's business: files carry no pragma.
//!
//! Where Serverpod writes SQL that SQLite rejects, strata differs: dropping a column that is
//! still indexed or part of a foreign key rebuilds the table instead of a failing
//! `DROP COLUMN`, and so does adding a `NOT NULL` column without a default; an index left out of
//! the database is not dropped either.

use strata_schema::{ColumnDefinition, ColumnMigration, ColumnType, ForeignKeyDefinition, IndexDefinition};
use strata_schema::{IndexElementType, TableDefinition, TableMigration};

use crate::common::{
    add_column, check_type_supported, delete_versions, drop_column, inline_foreign_key, plain_index_elements,
    rename_column, rename_table, upsert_version_on_conflict,
};
use crate::emit::unsupported;
use crate::quote;
use crate::{
    ColumnChange, ColumnDefault, Dialect, Extension, FileLayout, SqlError, SqlObject, VersionBookkeeping,
};

/// Serverpod's SQLite dialect (SQLite 3.42 or newer: `unixepoch('subsecond')`, `unhex`, `STRICT`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sqlite;

/// The table recording abstract column types that SQLite's storage classes lose.
pub const SQLITE_SCHEMA_TABLE: &str = "serverpod_sqlite_schema";

/// "Now" as epoch milliseconds, the form timestamps are stored in.
pub const SQLITE_NOW_SQL: &str = "CAST(unixepoch('subsecond') * 1000 AS INTEGER)";

/// A random v4 UUID as a 16-byte blob.
pub const SQLITE_RANDOM_UUID_SQL: &str =
    "unhex(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2, 3) || \
substr('89AB', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(8)), 2, 15))";

/// A v7 UUID (48-bit Unix milliseconds first) as a 16-byte blob.
pub const SQLITE_RANDOM_UUID_V7_SQL: &str =
    "unhex(printf('%012x', CAST(unixepoch('now', 'subsecond') * 1000 AS INTEGER)) || \
'7' || substr(hex(randomblob(2)), 2, 3) || substr('89AB', 1 + (abs(random()) % 4), 1) || \
substr(hex(randomblob(8)), 2, 15))";

/// The bookkeeping timestamp (epoch milliseconds, with the sub-second part).
const BOOKKEEPING_NOW_SQL: &str = "(unixepoch('now', 'subsecond') * 1000)";

/// The SQLite storage class Serverpod declares for a column type; `None` for `unknown`.
pub fn sqlite_storage_type(column_type: ColumnType) -> Option<&'static str> {
    use ColumnType::*;
    Some(match column_type {
        Bigint | Integer | TimestampWithoutTimeZone | Boolean => "INTEGER",
        DoublePrecision => "REAL",
        Uuid | Bytea | Jsonb => "BLOB",
        Text
        | Json
        | Vector
        | Halfvec
        | Sparsevec
        | Bit
        | Geography
        | GeographyLineString
        | GeographyPolygon
        | GeographyGeometryCollection => "TEXT",
        Unknown => return None,
    })
}

/// Whether the storage class alone gives the column type back (so it gets no row in
/// `serverpod_sqlite_schema`). `INTEGER` reads back as bigint, which the diff treats as equal
/// to integer.
pub fn is_basic_sqlite_type(column_type: ColumnType) -> bool {
    use ColumnType::*;
    matches!(column_type, Integer | Bigint | DoublePrecision | Bytea | Text)
}

/// The column type a storage class reads back as when `serverpod_sqlite_schema` has no row
/// for the column.
pub fn basic_type_for_storage(storage: &str) -> Option<ColumnType> {
    Some(match storage.trim().to_ascii_uppercase().as_str() {
        "INTEGER" => ColumnType::Bigint,
        "REAL" => ColumnType::DoublePrecision,
        "BLOB" => ColumnType::Bytea,
        "TEXT" => ColumnType::Text,
        _ => return None,
    })
}

/// Reads the declared types of SQLite databases that do not record abstract types (written by
/// hand, or by strata's earlier SQLite design: `BOOLEAN`, `TIMESTAMP`, `UUID_TEXT`, ...).
/// Case-insensitive; `None` for names strata never wrote.
pub fn legacy_declared_type_to_column_type(declared: &str) -> Option<ColumnType> {
    Some(match declared.trim().to_ascii_uppercase().as_str() {
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

/// Milliseconds since the Unix epoch of `YYYY-MM-DD HH:MM:SS[.fff]` (UTC).
fn epoch_millis(timestamp: &str) -> Option<i64> {
    let (date, time) = timestamp.split_once(' ')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (t.next()??, t.next()??, t.next()??);
    let millis: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of epoch milliseconds (the inverse of [`epoch_millis`]).
pub fn iso_from_epoch_millis(millis: i64) -> String {
    let days = millis.div_euclid(86_400_000);
    let rest = millis.rem_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, ms) = (rest / 3_600_000, rest / 60_000 % 60, rest / 1000 % 60, rest % 1000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

/// The default's SQL (without the parentheses) for a column of `column_type`.
fn default_value_sql(
    object: &SqlObject,
    column_type: ColumnType,
    value: &ColumnDefault,
) -> Result<String, SqlError> {
    Ok(match value {
        ColumnDefault::Serial => "AUTOINCREMENT".to_string(),
        ColumnDefault::Now => SQLITE_NOW_SQL.to_string(),
        ColumnDefault::RandomUuid => SQLITE_RANDOM_UUID_SQL.to_string(),
        ColumnDefault::RandomUuidV7 => SQLITE_RANDOM_UUID_V7_SQL.to_string(),
        ColumnDefault::Boolean(b) => if *b { "1" } else { "0" }.to_string(),
        ColumnDefault::Number(n) => n.clone(),
        ColumnDefault::Timestamp(ts) => epoch_millis(ts)
            .ok_or_else(|| SqlError::InvalidDefault {
                object: object.clone(),
                default: ts.clone(),
                column_type: column_type.name(),
                reason: "the timestamp is out of range".to_string(),
            })?
            .to_string(),
        ColumnDefault::Text(text) if column_type == ColumnType::Uuid => uuid_blob_literal(object, text)?,
        ColumnDefault::Text(text) => quote::literal(text),
        ColumnDefault::Expression(sql) => {
            return Err(crate::defaults::expression_refused(object, sql, "SQLite"))
        }
    })
}

/// `X'550e8400e29b41d4a716446655440000'` for `550e8400-e29b-41d4-a716-446655440000`.
fn uuid_blob_literal(object: &SqlObject, text: &str) -> Result<String, SqlError> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SqlError::InvalidDefault {
            object: object.clone(),
            default: quote::literal(text),
            column_type: ColumnType::Uuid.name(),
            reason: "expected a UUID such as '550e8400-e29b-41d4-a716-446655440000'".to_string(),
        });
    }
    Ok(format!("X'{hex}'"))
}

/// Maps a default as SQLite reports it (`PRAGMA table_info`, parentheses included or not)
/// back to the abstract default strata's definitions hold; `None` when it is not one this
/// dialect writes.
pub fn sqlite_default_to_abstract(sql: &str, column_type: ColumnType) -> Option<String> {
    let mut sql = sql.trim();
    while let Some(inner) = sql.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
        if !balanced(inner) {
            break;
        }
        sql = inner.trim();
    }
    Some(match column_type {
        ColumnType::Boolean => match sql {
            "1" => "true".to_string(),
            "0" => "false".to_string(),
            _ => return None,
        },
        ColumnType::TimestampWithoutTimeZone if sql == SQLITE_NOW_SQL => "now".to_string(),
        ColumnType::TimestampWithoutTimeZone => iso_from_epoch_millis(sql.parse().ok()?),
        ColumnType::Uuid if sql == SQLITE_RANDOM_UUID_SQL => "random".to_string(),
        ColumnType::Uuid if sql == SQLITE_RANDOM_UUID_V7_SQL => "random_v7".to_string(),
        ColumnType::Uuid => {
            let hex = sql.strip_prefix(['X', 'x'])?.strip_prefix('\'')?.strip_suffix('\'')?;
            if hex.len() != 32 {
                return None;
            }
            let (a, rest) = hex.split_at(8);
            let (b, rest) = rest.split_at(4);
            let (c, rest) = rest.split_at(4);
            let (d, e) = rest.split_at(4);
            quote::literal(&format!("{a}-{b}-{c}-{d}-{e}").to_ascii_lowercase())
        }
        _ => sql.to_string(),
    })
}

/// Whether every parenthesis in `s` closes inside it (so `(a) || (b)` is not unwrapped).
fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    let mut in_string = false;
    for c in s.chars() {
        match c {
            '\'' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

impl Sqlite {
    /// ` DEFAULT (...)` or nothing.
    fn default_clause(&self, table: &str, column: &ColumnDefinition) -> Result<String, SqlError> {
        let object = SqlObject::column(table, &column.name);
        let Some(raw) = column.column_default.as_deref() else { return Ok(String::new()) };
        let value = ColumnDefault::parse(raw, column.column_type, &object)?;
        if value == ColumnDefault::Serial && !column.is_primary() {
            return Err(unsupported(self, object, "a serial default on a column other than id"));
        }
        if value == ColumnDefault::Serial && !column.column_type.is_integer() {
            return Err(unsupported(self, object, "a serial default on a non-integer column"));
        }
        Ok(format!(" DEFAULT ({})", default_value_sql(&object, column.column_type, &value)?))
    }

    /// Whether adding `column` to `target` needs a rebuild: SQLite's ADD COLUMN cannot add a
    /// key, a unique column, a non-constant default or a NOT NULL column without a default;
    /// Serverpod rebuilds for every default.
    fn add_column_needs_rebuild(target: &TableDefinition, column: &ColumnDefinition) -> bool {
        let in_unique_index = target
            .indexes
            .iter()
            .filter(|i| i.is_unique)
            .any(|i| i.elements.iter().any(|e| e.definition == column.name));
        column.is_primary() || in_unique_index || column.column_default.is_some() || !column.is_nullable
    }

    /// Whether the in-place path cannot make `change` (see the module comment).
    pub(crate) fn needs_rebuild(
        &self,
        source: Option<&TableDefinition>,
        target: &TableDefinition,
        change: &TableMigration,
    ) -> bool {
        change.modify_columns.iter().any(|m| self.needs_table_rebuild_for(m))
            || !change.delete_foreign_keys.is_empty()
            || !change.add_foreign_keys.is_empty()
            || change.add_columns.iter().any(|c| Self::add_column_needs_rebuild(target, c))
            || change
                .delete_columns
                .iter()
                .any(|c| self.needs_table_rebuild_for_dropped_column(source, change, c))
    }
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
    fn supports_identity_columns(&self) -> bool {
        false
    }
    fn supports_generated_columns(&self) -> bool {
        // Its generated columns are spelled differently, and the expressions strata reads are
        // PostgreSQL's text.
        false
    }
    fn supports_vector(&self) -> bool {
        true
    }
    fn supports_geography(&self) -> bool {
        true
    }
    fn supports_index_method(&self, method: &str) -> bool {
        method == "btree"
    }
    fn wire_protocol(&self) -> &'static str {
        "sqlite"
    }
    fn supports_advisory_locks(&self) -> bool {
        false
    }
    fn online_index_build(&self) -> crate::OnlineIndexBuild {
        crate::OnlineIndexBuild::Unsupported
    }
    fn drop_table_refused_while_referenced(&self) -> bool {
        false
    }
    fn indexes_serve_foreign_keys(&self) -> bool {
        false
    }
    fn drop_table_drops_inbound_foreign_keys(&self) -> bool {
        false
    }
    fn needs_table_rebuild_for(&self, change: &ColumnMigration) -> bool {
        change.new_type.is_some() || change.add_nullable || change.remove_nullable || change.change_default
    }
    fn needs_table_rebuild_for_dropped_column(
        &self,
        source: Option<&TableDefinition>,
        change: &TableMigration,
        column: &str,
    ) -> bool {
        // SQLite refuses DROP COLUMN for key, indexed and foreign-key columns. Indexes this
        // dialect leaves out of the database (gin, ...) do not count.
        let Some(source) = source else { return false };
        let mentions = |sql: &str| sql.contains(column);
        let indexed = source
            .indexes
            .iter()
            .filter(|i| !change.delete_indexes.contains(&i.index_name))
            .filter(|i| self.supports_index_method(&i.index_type))
            .any(|i| {
                i.elements.iter().any(|e| match e.element_type {
                    IndexElementType::Column => e.definition == column,
                    IndexElementType::Expression => mentions(&e.definition),
                }) || i.predicate.as_deref().is_some_and(mentions)
            });
        column == "id"
            || indexed
            || source.foreign_keys.iter().any(|fk| fk.columns.iter().any(|c| c == column))
    }
    fn check_expression(&self, sql: &str) -> Result<(), String> {
        crate::expression::check_sqlite(sql)
    }
    fn quote_identifier(&self, name: &str) -> String {
        quote::ident(name)
    }
    fn quote_literal(&self, value: &str) -> String {
        quote::literal(value)
    }
    fn column_type_sql(&self, table: &str, column: &ColumnDefinition) -> Result<String, SqlError> {
        check_type_supported(self, table, column)?;
        sqlite_storage_type(column.column_type)
            .map(str::to_string)
            .ok_or_else(|| SqlError::UnknownColumnType { object: SqlObject::column(table, &column.name) })
    }
    fn default_sql(
        &self,
        object: &SqlObject,
        column_type: ColumnType,
        default: &ColumnDefault,
    ) -> Result<String, SqlError> {
        Ok(format!("({})", default_value_sql(object, column_type, default)?))
    }
    fn column_sql(&self, table: &str, column: &ColumnDefinition) -> Result<String, SqlError> {
        let name = self.quote_identifier(&column.name);
        let storage = self.column_type_sql(table, column)?;
        let mut default = self.default_clause(table, column)?;
        if column.is_primary() {
            if column.is_nullable {
                return Err(SqlError::NullablePrimaryKey { object: SqlObject::column(table, &column.name) });
            }
            // `INTEGER PRIMARY KEY` is the rowid: it numbers itself, so no default.
            if storage == "INTEGER" {
                default.clear();
            }
            return Ok(format!("{name} {storage} PRIMARY KEY{default}"));
        }
        let not_null = if column.is_nullable { "" } else { " NOT NULL" };
        Ok(format!("{name} {storage}{not_null}{default}"))
    }
    fn table_options_sql(&self) -> &'static str {
        // Serverpod's tables are STRICT; `sqlite_files` writes the whole statement itself.
        " STRICT"
    }
    fn create_index_sql(
        &self,
        table: &TableDefinition,
        index: &IndexDefinition,
        if_not_exists: bool,
    ) -> Result<String, SqlError> {
        let table = table.name.as_str();
        if !self.supports_index_method(&index.index_type) {
            // Left out of the database, as Serverpod does (its runtime ignores such indexes).
            return Ok(String::new());
        }
        let object = SqlObject::index(table, &index.index_name);
        if index.nulls_distinct == Some(false) && !self.supports_nulls_not_distinct() {
            return Err(unsupported(self, object, "NULLS NOT DISTINCT (null values treated as equal)"));
        }
        let elements = plain_index_elements(self, table, index)?;
        let predicate = index.predicate.as_deref().map(|p| format!(" WHERE {p}")).unwrap_or_default();
        Ok(format!(
            "CREATE{} INDEX{} {} ON {} ({elements}){predicate};\n",
            if index.is_unique { " UNIQUE" } else { "" },
            if if_not_exists { " IF NOT EXISTS" } else { "" },
            self.quote_identifier(&index.index_name),
            self.quote_identifier(table),
        ))
    }
    fn drop_index_sql(&self, _table: &str, index: &str) -> String {
        format!("DROP INDEX {};\n", self.quote_identifier(index))
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
    fn alter_column_sql(
        &self,
        table: &str,
        column: &ColumnDefinition,
        _change: &ColumnChange,
    ) -> Result<String, SqlError> {
        // `needs_rebuild` sends every such change to a table rebuild first.
        Err(unsupported(
            self,
            SqlObject::column(table, &column.name),
            "changing a column in place (strata rebuilds the table instead)",
        ))
    }
    fn rename_table_sql(&self, from: &str, to: &str) -> String {
        rename_table(self, from, to)
    }
    fn drop_foreign_key_sql(
        &self,
        _source: Option<&TableDefinition>,
        table: &str,
        constraint: &str,
    ) -> Result<String, SqlError> {
        Err(unsupported(
            self,
            SqlObject::foreign_key(table, constraint),
            "dropping a foreign key of an existing table (the table is rebuilt instead)",
        ))
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
    crate::emit::keys_unsupported_methods!();
    crate::emit::layout_unsupported_methods!();
    fn extension_sql(&self, _extension: Extension) -> Option<&'static str> {
        None
    }
    fn type_change_sql(&self, change: &strata_schema::types::TypeChange) -> Result<String, SqlError> {
        Err(crate::user_types::types_unsupported(change, "sqlite"))
    }

    fn uuid_v7_function_sql(&self) -> Option<&'static str> {
        None
    }
    fn version_bookkeeping(&self) -> Option<&dyn VersionBookkeeping> {
        Some(self)
    }
    fn file_layout(&self) -> Option<&dyn FileLayout> {
        Some(self)
    }
}

impl VersionBookkeeping for Sqlite {
    fn upsert_migration_version_sql(&self, table: &str, module: &str, version: &str) -> String {
        upsert_version_on_conflict(self, BOOKKEEPING_NOW_SQL, table, module, version)
    }
    fn delete_migration_versions_sql(&self, table: &str, modules: &[String]) -> String {
        delete_versions(self, table, modules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_millis_round_trip() {
        assert_eq!(epoch_millis("2024-05-24 22:00:00.000"), Some(1_716_588_000_000));
        assert_eq!(epoch_millis("1970-01-01 00:00:00"), Some(0));
        assert_eq!(iso_from_epoch_millis(1_716_588_000_000), "2024-05-24T22:00:00.000Z");
        assert_eq!(iso_from_epoch_millis(-1), "1969-12-31T23:59:59.999Z");
        for ms in [0, 951_782_400_123, 4_102_444_800_000, -86_400_000] {
            let iso = iso_from_epoch_millis(ms);
            let plain = iso.trim_end_matches('Z').replacen('T', " ", 1);
            assert_eq!(epoch_millis(&plain), Some(ms), "{iso}");
        }
    }

    #[test]
    fn defaults_map_back() {
        let back = sqlite_default_to_abstract;
        assert_eq!(back("(1)", ColumnType::Boolean).as_deref(), Some("true"));
        assert_eq!(
            back(&format!("({SQLITE_NOW_SQL})"), ColumnType::TimestampWithoutTimeZone).as_deref(),
            Some("now")
        );
        assert_eq!(
            back("(1716588000000)", ColumnType::TimestampWithoutTimeZone).as_deref(),
            Some("2024-05-24T22:00:00.000Z")
        );
        assert_eq!(
            back("(X'550e8400e29b41d4a716446655440000')", ColumnType::Uuid).as_deref(),
            Some("'550e8400-e29b-41d4-a716-446655440000'")
        );
        assert_eq!(
            back(&format!("({SQLITE_RANDOM_UUID_V7_SQL})"), ColumnType::Uuid).as_deref(),
            Some("random_v7")
        );
        assert_eq!(back("('a'') (b')", ColumnType::Text).as_deref(), Some("'a'') (b'"));
    }
}
