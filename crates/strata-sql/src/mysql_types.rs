//! The one mapping between Serverpod's column types and MySQL/MariaDB column types, in both
//! directions, and between strata's abstract defaults and MySQL default expressions.
//!
//! The emitter ([`crate::Mysql`]) and MySQL introspection both use these functions, so a
//! database built from any file strata writes reads back as the definition it came from.
//! The reverse direction is verified against MariaDB 10.11 (`information_schema.COLUMNS`);
//! `docs/mysql.md` records every choice and why.
//!
//! | Serverpod column type        | MySQL DDL                         | MariaDB reports (`COLUMN_TYPE`) |
//! |------------------------------|-----------------------------------|---------------------------------|
//! | bigint (int, Duration, enum) | `BIGINT`                          | `bigint(20)`                    |
//! | integer (v1 files)           | `INT`                             | `int(11)`                       |
//! | text (String, BigInt, enum)  | `LONGTEXT`                        | `longtext`                      |
//! | boolean                      | `TINYINT(1)`                      | `tinyint(1)`                    |
//! | double precision             | `DOUBLE`                          | `double`                        |
//! | timestamp (DateTime)         | `DATETIME(3)`                     | `datetime(3)`                   |
//! | bytea (ByteData)             | `LONGBLOB`                        | `longblob`                      |
//! | uuid (UuidValue)             | `CHAR(36)`                        | `char(36)`                      |
//! | json, jsonb                  | `JSON`                            | `longtext` + `json_valid` check |
//! | vector, geography, ...       | refused ([`SqlError::Unsupported`]) |                               |
//! | unknown + nativeType         | the native type, verbatim         | the same text                   |

use strata_schema::defaults::{iso_timestamp, NOW, RANDOM, RANDOM_V7, SERIAL};
use strata_schema::{ColumnDefinition, ColumnType, ForeignKeyDefinition};

use crate::common::check_type_supported;
use crate::error::{SqlError, SqlObject};
use crate::quote;

/// Storage engine of every table (the only one with foreign keys and transactions).
pub const MYSQL_ENGINE: &str = "InnoDB";
/// Character set of every table: full Unicode (`utf8` is three bytes at most in MySQL).
pub const MYSQL_CHARSET: &str = "utf8mb4";
/// Collation of every table: binary, so text compares and is unique exactly as on PostgreSQL
/// (`'a'` and `'A'` are different values), on both MySQL 8 and MariaDB.
pub const MYSQL_COLLATION: &str = "utf8mb4_bin";
/// Characters of a text or blob column that a non-unique index covers (`` `name`(255) ``).
/// 255 utf8mb4 characters are 1,020 bytes, so three such columns fit InnoDB's 3,072-byte key.
/// Unique indexes never get a prefix: a unique prefix would refuse distinct values.
pub const TEXT_INDEX_PREFIX: u32 = 255;

/// A random version 4 UUID, as text. `UUID()` is version 1 on both servers (time and MAC
/// address, not random), so the value is built from `RANDOM_BYTES` with the version nibble
/// and variant bits set.
pub const MYSQL_RANDOM_UUID_SQL: &str = "LOWER(INSERT(INSERT(INSERT(INSERT(CONCAT(\
HEX(RANDOM_BYTES(6)), '4', SUBSTR(HEX(RANDOM_BYTES(2)), 2, 3), \
ELT(1 + FLOOR(RAND() * 4), '8', '9', 'A', 'B'), SUBSTR(HEX(RANDOM_BYTES(8)), 2, 15)), \
9, 0, '-'), 14, 0, '-'), 19, 0, '-'), 24, 0, '-'))";

/// A version 7 UUID (48-bit Unix milliseconds first), as text; neither server has a built-in.
pub const MYSQL_RANDOM_UUID_V7_SQL: &str = "LOWER(INSERT(INSERT(INSERT(INSERT(CONCAT(\
LPAD(HEX(FLOOR(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000)), 12, '0'), '7', \
SUBSTR(HEX(RANDOM_BYTES(2)), 2, 3), ELT(1 + FLOOR(RAND() * 4), '8', '9', 'A', 'B'), \
SUBSTR(HEX(RANDOM_BYTES(8)), 2, 15)), 9, 0, '-'), 14, 0, '-'), 19, 0, '-'), 24, 0, '-'))";

/// "Now" for a `DATETIME(3)` column (the precision must match the column's).
pub const MYSQL_NOW_SQL: &str = "CURRENT_TIMESTAMP(3)";

/// The MySQL type of a column as written in DDL (`LONGTEXT`, `DATETIME(3)`, ...).
///
/// `unknown` columns are written as their native type (a MySQL type name, as introspection
/// read it from `COLUMN_TYPE`); pgvector and PostGIS types are refused with an error naming
/// the column.
pub fn mysql_column_type(table: &str, column: &ColumnDefinition) -> Result<String, SqlError> {
    let object = || SqlObject::column(table, &column.name);
    Ok(match column.column_type {
        ColumnType::Bigint => "BIGINT",
        ColumnType::Integer => "INT",
        ColumnType::Text => "LONGTEXT",
        ColumnType::Boolean => "TINYINT(1)",
        ColumnType::DoublePrecision => "DOUBLE",
        ColumnType::TimestampWithoutTimeZone => "DATETIME(3)",
        ColumnType::Bytea => "LONGBLOB",
        ColumnType::Uuid => "CHAR(36)",
        ColumnType::Json | ColumnType::Jsonb => "JSON",
        ColumnType::Vector
        | ColumnType::Halfvec
        | ColumnType::Sparsevec
        | ColumnType::Bit
        | ColumnType::Geography
        | ColumnType::GeographyLineString
        | ColumnType::GeographyPolygon
        | ColumnType::GeographyGeometryCollection => {
            // The dialect supports neither pgvector nor PostGIS: this is always the refusal
            // every dialect shares, naming the column.
            check_type_supported(&crate::Mysql, table, column)?;
            return Err(SqlError::UnknownColumnType { object: object() });
        }
        ColumnType::Unknown => {
            let Some(native) = &column.native_type else {
                return Err(SqlError::UnknownColumnType { object: object() });
            };
            check_mysql_native_type(native).map_err(|reason| SqlError::InvalidNativeType {
                object: object(),
                native: native.clone(),
                reason,
            })?;
            return Ok(native.clone());
        }
    }
    .to_string())
}

/// The type a column of `column_type` reads back as from MySQL: `jsonb` has no MySQL
/// counterpart and is written as `JSON`, so it reads back as `json`. Everything else reads back
/// as itself. A comparison of a definition with a live MySQL database compares these.
pub fn mysql_read_back_type(column_type: ColumnType) -> ColumnType {
    match column_type {
        ColumnType::Jsonb => ColumnType::Json,
        other => other,
    }
}

/// Whether an index element on a column of this type needs a prefix length (TEXT and BLOB
/// columns cannot be indexed whole by a B-tree).
pub fn needs_index_prefix(column: &ColumnDefinition) -> bool {
    match column.column_type {
        ColumnType::Text | ColumnType::Bytea | ColumnType::Json | ColumnType::Jsonb => true,
        ColumnType::Unknown => column.native_type.as_deref().is_some_and(|n| {
            let n = n.to_ascii_lowercase();
            n.contains("text") || n.contains("blob")
        }),
        _ => false,
    }
}

/// Whether the live index `index_name` on `columns` is the one InnoDB created for a foreign key
/// of the table (named after the constraint, on exactly its columns), not one the definition
/// declares: introspection leaves it out, as a database built from `definition.sql` has it only
/// because of the key.
pub fn is_foreign_key_index(
    foreign_keys: &[ForeignKeyDefinition],
    index_name: &str,
    columns: &[String],
) -> bool {
    foreign_keys.iter().any(|fk| fk.constraint_name == index_name && fk.columns == columns)
}

/// Checks that a MySQL native type is only a type name as `COLUMN_TYPE` prints it: words,
/// numbers, `(`, `)`, `,`, spaces and closed single-quoted strings (`enum('a','b')`),
/// optionally followed by `COLLATE name`. It is spliced into statements, so anything else
/// (backticks, semicolons, comments, backslashes) is refused.
pub fn check_mysql_native_type(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("it is empty".into());
    }
    let mut chars = text.chars().peekable();
    let mut depth = 0i32;
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                    }
                    Some('\'') => break,
                    Some('\\') => return Err("it contains a backslash".into()),
                    Some(_) => {}
                    None => return Err("a quoted value is not closed".into()),
                }
            },
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced parentheses".into());
                }
            }
            c if c.is_ascii_alphanumeric() || matches!(c, '_' | ' ' | ',') => {}
            c => return Err(format!("it contains {c:?}")),
        }
    }
    if depth != 0 {
        return Err("unbalanced parentheses".into());
    }
    Ok(())
}

/// A column's type read from `information_schema.COLUMNS`, in strata's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlMappedType {
    /// The Serverpod column type, `Unknown` when strata writes no column this way.
    pub column_type: ColumnType,
    /// The exact type to keep (`COLUMN_TYPE`, plus ` COLLATE x` for a non-default collation);
    /// `Some` exactly when `column_type` is `Unknown`.
    pub native_type: Option<String>,
}

/// The catalog facts about one column that decide its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MysqlColumnFacts<'a> {
    /// `DATA_TYPE` (`longtext`, `bigint`).
    pub data_type: &'a str,
    /// `COLUMN_TYPE` (`bigint(20)`, `char(36)`, `enum('a','b')`).
    pub column_type: &'a str,
    /// `COLLATION_NAME` (`None` for non-text columns).
    pub collation: Option<&'a str>,
    /// Whether a column-level `json_valid(`col`)` check exists (how MariaDB stores `JSON`,
    /// from `information_schema.CHECK_CONSTRAINTS`).
    pub has_json_check: bool,
}

/// Maps a column as `information_schema.COLUMNS` reports it back to a Serverpod column type.
///
/// Only the exact spellings [`mysql_column_type`] writes map (with or without the display
/// widths MariaDB adds: `bigint(20)` and MySQL 8's `bigint` are both bigint). Anything else,
/// or a text column with a collation other than [`MYSQL_COLLATION`], is `Unknown` with the
/// type kept verbatim, so a repair recreates it exactly.
pub fn mysql_type_to_column_type(facts: &MysqlColumnFacts) -> MysqlMappedType {
    let column_type = facts.column_type.trim().to_ascii_lowercase();
    let collation = facts.collation.filter(|c| !c.eq_ignore_ascii_case(MYSQL_COLLATION));
    let known = match (facts.data_type.to_ascii_lowercase().as_str(), column_type.as_str()) {
        (_, "bigint" | "bigint(20)") => Some(ColumnType::Bigint),
        (_, "int" | "int(11)") => Some(ColumnType::Integer),
        (_, "tinyint(1)") => Some(ColumnType::Boolean),
        (_, "double") => Some(ColumnType::DoublePrecision),
        (_, "datetime(3)") => Some(ColumnType::TimestampWithoutTimeZone),
        (_, "longblob") => Some(ColumnType::Bytea),
        (_, "char(36)") => Some(ColumnType::Uuid),
        (_, "json") => Some(ColumnType::Json),
        (_, "longtext") if facts.has_json_check => Some(ColumnType::Json),
        (_, "longtext") => Some(ColumnType::Text),
        _ => None,
    };
    match (known, collation) {
        (Some(t), None) => MysqlMappedType { column_type: t, native_type: None },
        (_, Some(c)) => MysqlMappedType {
            column_type: ColumnType::Unknown,
            native_type: Some(format!("{column_type} COLLATE {c}")),
        },
        (None, None) => MysqlMappedType { column_type: ColumnType::Unknown, native_type: Some(column_type) },
    }
}

/// What a column's default reads back as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MysqlReadDefault {
    /// No default (`COLUMN_DEFAULT` is SQL `NULL` or MariaDB's `NULL` for "default null").
    Absent,
    /// One of strata's abstract defaults (`serial`, `now`, `'abc'`, `10`, an ISO timestamp).
    Abstract(String),
    /// A default strata never writes, verbatim.
    Unrecognized(String),
}

/// Maps MariaDB's `COLUMN_DEFAULT` (and `EXTRA`) of a column of `column_type` back to the
/// abstract default strata's definitions hold.
///
/// MariaDB reports string defaults as quoted literals with backslash escapes (`'it\'s'`),
/// expression defaults in lower case (`current_timestamp(3)`, `lcase(...)` for `LOWER`),
/// numbers as it normalised them (`1e-3` is `0.001`), and `NULL` for a nullable column without
/// a default. MySQL 8 reports string defaults unquoted; it is not the tested server.
pub fn mysql_default_to_abstract(
    column_default: Option<&str>,
    extra: &str,
    column_type: ColumnType,
) -> MysqlReadDefault {
    if extra.to_ascii_lowercase().contains("auto_increment") {
        return MysqlReadDefault::Abstract(SERIAL.to_string());
    }
    let Some(raw) = column_default.map(str::trim) else { return MysqlReadDefault::Absent };
    if raw.eq_ignore_ascii_case("null") {
        return MysqlReadDefault::Absent;
    }
    let unrecognized = || MysqlReadDefault::Unrecognized(raw.to_string());
    let expression = normalize_expression(raw);
    let abstract_value = match column_type {
        ColumnType::TimestampWithoutTimeZone if expression == normalize_expression(MYSQL_NOW_SQL) => {
            Some(NOW.to_string())
        }
        ColumnType::TimestampWithoutTimeZone => {
            parse_mysql_literal(raw).and_then(|ts| iso_timestamp(&ts.replacen(' ', "T", 1)))
        }
        ColumnType::Uuid if expression == normalize_expression(MYSQL_RANDOM_UUID_SQL) => {
            Some(RANDOM.to_string())
        }
        ColumnType::Uuid if expression == normalize_expression(MYSQL_RANDOM_UUID_V7_SQL) => {
            Some(RANDOM_V7.to_string())
        }
        ColumnType::Boolean => match raw {
            "1" => Some("true".to_string()),
            "0" => Some("false".to_string()),
            _ => None,
        },
        ColumnType::Integer | ColumnType::Bigint | ColumnType::DoublePrecision => {
            is_number(raw).then(|| raw.to_string())
        }
        ColumnType::Unknown if is_number(raw) => Some(raw.to_string()),
        _ => parse_mysql_literal(raw).map(|value| quote::literal(&value)),
    };
    abstract_value.map(MysqlReadDefault::Abstract).unwrap_or_else(unrecognized)
}

/// An expression as MariaDB prints it back, for comparing with what strata wrote: lower case,
/// no whitespace, `lcase` spelled `lower`, outer parentheses removed.
fn normalize_expression(sql: &str) -> String {
    let mut text: String =
        sql.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    while text.starts_with('(') && text.ends_with(')') && text.len() >= 2 {
        text = text[1..text.len() - 1].to_string();
    }
    text.replace("lcase(", "lower(")
}

/// `-12`, `10.5`, `0.001`, `1e-3`.
fn is_number(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    !body.is_empty()
        && body.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '.')
        && body.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
}

/// Parses one complete MySQL string literal as MariaDB prints defaults (`'it\'s'`, `'a''b'`,
/// `'back\\slash'`) into its value; `None` unless the whole text is exactly one literal.
pub fn parse_mysql_literal(text: &str) -> Option<String> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => out.push(match chars.next()? {
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                '0' => '\0',
                'Z' => '\u{1a}',
                'b' => '\u{8}',
                other => other,
            }),
            // Inside the literal a quote is doubled (or escaped, above).
            '\'' if chars.next() != Some('\'') => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(column_type: ColumnType) -> ColumnDefinition {
        ColumnDefinition { name: "c".into(), column_type, ..Default::default() }
    }

    fn facts<'a>(data_type: &'a str, column_type: &'a str) -> MysqlColumnFacts<'a> {
        MysqlColumnFacts { data_type, column_type, collation: None, has_json_check: false }
    }

    #[test]
    fn every_writable_type_reads_back_as_itself() {
        // (type, what MariaDB 10.11 reports as DATA_TYPE / COLUMN_TYPE for the DDL we write)
        for (t, data_type, reported) in [
            (ColumnType::Bigint, "bigint", "bigint(20)"),
            (ColumnType::Integer, "int", "int(11)"),
            (ColumnType::Text, "longtext", "longtext"),
            (ColumnType::Boolean, "tinyint", "tinyint(1)"),
            (ColumnType::DoublePrecision, "double", "double"),
            (ColumnType::TimestampWithoutTimeZone, "datetime", "datetime(3)"),
            (ColumnType::Bytea, "longblob", "longblob"),
            (ColumnType::Uuid, "char", "char(36)"),
        ] {
            assert!(mysql_column_type("t", &col(t)).is_ok());
            let mut f = facts(data_type, reported);
            f.collation = Some(MYSQL_COLLATION);
            assert_eq!(mysql_type_to_column_type(&f).column_type, t, "{reported}");
        }
        let json = MysqlColumnFacts { has_json_check: true, ..facts("longtext", "longtext") };
        assert_eq!(mysql_type_to_column_type(&json).column_type, ColumnType::Json);
        assert_eq!(mysql_type_to_column_type(&facts("json", "json")).column_type, ColumnType::Json);
        assert_eq!(mysql_read_back_type(ColumnType::Jsonb), ColumnType::Json);
    }

    #[test]
    fn other_types_keep_their_native_text() {
        let m = mysql_type_to_column_type(&facts("varchar", "varchar(20)"));
        assert_eq!((m.column_type, m.native_type.as_deref()), (ColumnType::Unknown, Some("varchar(20)")));
        let ci = MysqlColumnFacts { collation: Some("utf8mb4_general_ci"), ..facts("longtext", "longtext") };
        assert_eq!(
            mysql_type_to_column_type(&ci).native_type.as_deref(),
            Some("longtext COLLATE utf8mb4_general_ci")
        );
        let native =
            ColumnDefinition { native_type: Some("enum('a','b')".into()), ..col(ColumnType::Unknown) };
        assert_eq!(mysql_column_type("t", &native).unwrap(), "enum('a','b')");
    }

    #[test]
    fn pg_only_types_and_bad_native_types_are_refused_naming_the_column() {
        let e = mysql_column_type("t", &col(ColumnType::Vector)).unwrap_err();
        assert!(e.to_string().contains("column \"c\" of table \"t\""), "{e}");
        assert!(e.to_string().contains("vector"), "{e}");
        assert!(mysql_column_type("t", &col(ColumnType::Geography)).is_err());
        assert!(matches!(
            mysql_column_type("t", &col(ColumnType::Unknown)),
            Err(SqlError::UnknownColumnType { .. })
        ));
        for bad in ["int; DROP TABLE x", "text -- c", "enum('a\\')", "`x`", "enum('a", "int)"] {
            assert!(check_mysql_native_type(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_as_mariadb_reports_them_map_back() {
        use MysqlReadDefault::*;
        let back = |d: Option<&str>, t| mysql_default_to_abstract(d, "", t);
        assert_eq!(
            mysql_default_to_abstract(None, "auto_increment", ColumnType::Bigint),
            Abstract("serial".into())
        );
        assert_eq!(back(None, ColumnType::Text), Absent);
        assert_eq!(back(Some("NULL"), ColumnType::Text), Absent);
        assert_eq!(back(Some("'NULL'"), ColumnType::Text), Abstract("'NULL'".into()));
        assert_eq!(back(Some(r"'it\'s'"), ColumnType::Text), Abstract("'it''s'".into()));
        assert_eq!(back(Some(r"'back\\slash'"), ColumnType::Text), Abstract(r"'back\slash'".into()));
        assert_eq!(
            back(Some("current_timestamp(3)"), ColumnType::TimestampWithoutTimeZone),
            Abstract("now".into())
        );
        assert_eq!(
            back(Some("'2024-05-24 22:00:00.000'"), ColumnType::TimestampWithoutTimeZone),
            Abstract("2024-05-24T22:00:00.000Z".into())
        );
        assert_eq!(back(Some("1"), ColumnType::Boolean), Abstract("true".into()));
        assert_eq!(back(Some("-5"), ColumnType::Bigint), Abstract("-5".into()));
        assert_eq!(back(Some("10.5"), ColumnType::DoublePrecision), Abstract("10.5".into()));
        let reported_v4 = "lcase(insert(insert(insert(insert(concat(hex(random_bytes(6)),'4',substr(hex(random_bytes(2)),2,3),elt(1 + floor(rand() * 4),'8','9','A','B'),substr(hex(random_bytes(8)),2,15)),9,0,'-'),14,0,'-'),19,0,'-'),24,0,'-'))";
        assert_eq!(back(Some(reported_v4), ColumnType::Uuid), Abstract("random".into()));
        let reported_v7 = "lcase(insert(insert(insert(insert(concat(lpad(hex(floor(unix_timestamp(current_timestamp(3)) * 1000)),12,'0'),'7',substr(hex(random_bytes(2)),2,3),elt(1 + floor(rand() * 4),'8','9','A','B'),substr(hex(random_bytes(8)),2,15)),9,0,'-'),14,0,'-'),19,0,'-'),24,0,'-'))";
        assert_eq!(back(Some(reported_v7), ColumnType::Uuid), Abstract("random_v7".into()));
        assert_eq!(back(Some("uuid()"), ColumnType::Uuid), Unrecognized("uuid()".into()));
        assert_eq!(back(Some("'a' 'b'"), ColumnType::Text), Unrecognized("'a' 'b'".into()));
    }

    #[test]
    fn innodb_foreign_key_indexes_are_recognised() {
        let fk = ForeignKeyDefinition {
            constraint_name: "book_fk_0".into(),
            columns: vec!["authorId".into()],
            ..Default::default()
        };
        let fks = [fk];
        assert!(is_foreign_key_index(&fks, "book_fk_0", &["authorId".to_string()]));
        assert!(!is_foreign_key_index(&fks, "book_fk_0", &["authorId".to_string(), "x".to_string()]));
        assert!(!is_foreign_key_index(&fks, "book_author_idx", &["authorId".to_string()]));
    }

    #[test]
    fn literals_parse_only_whole() {
        assert_eq!(parse_mysql_literal(r"'a\nb'").as_deref(), Some("a\nb"));
        assert_eq!(parse_mysql_literal("'a''b'").as_deref(), Some("a'b"));
        assert_eq!(parse_mysql_literal("'a'b'"), None);
        assert_eq!(parse_mysql_literal(r"'a\'"), None);
    }
}
