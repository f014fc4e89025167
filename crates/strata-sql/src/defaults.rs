//! Abstract column defaults (`serial`, `now`, `random`, `'abc'`, `10`, ISO timestamps), parsed
//! once and validated against the column type before any dialect renders them.

use strata_schema::defaults::{iso_timestamp, pg_sql_to_abstract_default, NOW, RANDOM, RANDOM_V7, SERIAL};
use strata_schema::ColumnType;

use crate::error::{SqlError, SqlObject};
use crate::quote;

/// A validated default, independent of any dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnDefault {
    /// The column owns a sequence / auto-increment counter.
    Serial,
    /// The current timestamp.
    Now,
    /// A random UUID v4.
    RandomUuid,
    /// A random, time-ordered UUID v7.
    RandomUuidV7,
    /// A string value (unescaped); rendered as a literal plus, on PostgreSQL, a cast.
    Text(String),
    /// A numeric literal, validated to contain only a sign, digits, a point and an exponent.
    Number(String),
    Boolean(bool),
    /// A timestamp as `YYYY-MM-DD HH:MM:SS.mmm` (UTC, no zone).
    Timestamp(String),
    /// Any other default, kept as the SQL text a live database rendered it in
    /// (`(now() AT TIME ZONE 'utc'::text)`). Only [`ColumnDefault::parse_or_expression`] yields
    /// it; each dialect checks the text before writing it verbatim, or refuses it.
    Expression(String),
}

impl ColumnDefault {
    /// [`ColumnDefault::parse`], or for a default that is none of the abstract forms, the
    /// [`ColumnDefault::Expression`] it is (PostgreSQL's `pg_get_expr` text). The dialect
    /// validates it when it renders it.
    pub fn parse_or_expression(
        raw: &str,
        column_type: ColumnType,
        object: &SqlObject,
    ) -> Result<Self, SqlError> {
        match Self::parse(raw, column_type, object) {
            Err(SqlError::InvalidDefault { .. }) => Ok(ColumnDefault::Expression(raw.trim().to_string())),
            other => other,
        }
    }

    /// Parses the abstract default stored in a definition (v1 PostgreSQL text is accepted too,
    /// by normalising it first) for a column of `column_type`.
    pub fn parse(raw: &str, column_type: ColumnType, object: &SqlObject) -> Result<Self, SqlError> {
        let normalized = pg_sql_to_abstract_default(raw, column_type);
        let invalid = |reason: &str| SqlError::InvalidDefault {
            object: object.clone(),
            default: raw.to_string(),
            column_type: column_type.name(),
            reason: reason.to_string(),
        };
        match normalized.as_str() {
            SERIAL => return Ok(ColumnDefault::Serial),
            NOW => return Ok(ColumnDefault::Now),
            RANDOM => return Ok(ColumnDefault::RandomUuid),
            RANDOM_V7 => return Ok(ColumnDefault::RandomUuidV7),
            _ => {}
        }
        match column_type {
            ColumnType::Boolean => match normalized.to_ascii_lowercase().as_str() {
                "true" => Ok(ColumnDefault::Boolean(true)),
                "false" => Ok(ColumnDefault::Boolean(false)),
                _ => Err(invalid("expected true or false")),
            },
            ColumnType::Integer | ColumnType::Bigint => {
                if is_integer(&normalized) {
                    Ok(ColumnDefault::Number(normalized))
                } else {
                    Err(invalid("expected an integer"))
                }
            }
            ColumnType::DoublePrecision => {
                if is_decimal(&normalized) {
                    Ok(ColumnDefault::Number(normalized))
                } else {
                    Err(invalid("expected a number"))
                }
            }
            ColumnType::TimestampWithoutTimeZone => {
                let iso = iso_timestamp(&normalized)
                    .ok_or_else(|| invalid("expected now or an ISO-8601 UTC timestamp"))?;
                // `2024-05-24T22:00:00.000Z` -> `2024-05-24 22:00:00.000`
                let plain = iso.trim_end_matches('Z').replacen('T', " ", 1);
                Ok(ColumnDefault::Timestamp(plain))
            }
            // A native type (varchar(n), an enum, ...) takes a bare number or a literal.
            ColumnType::Unknown if is_decimal(&normalized) => Ok(ColumnDefault::Number(normalized)),
            ColumnType::Unknown => {
                quote::parse_literal(&normalized).map(ColumnDefault::Text).ok_or_else(|| {
                    invalid("the column type is unknown and the default is not a number or a literal")
                })
            }
            _ => quote::parse_literal(&normalized)
                .map(ColumnDefault::Text)
                .ok_or_else(|| invalid("expected a single-quoted literal")),
        }
    }
}

/// The refusal of an expression default by a dialect that does not write PostgreSQL's
/// expression text.
pub(crate) fn expression_refused(object: &SqlObject, sql: &str, dialect: &str) -> SqlError {
    SqlError::InvalidDefault {
        object: object.clone(),
        default: sql.to_string(),
        column_type: "native",
        reason: format!("an expression default is written for PostgreSQL only, not {dialect}; use an abstract default (now, a literal, a number)"),
    }
}

/// `-12`, `0`, `94230100`.
fn is_integer(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `10.5`, `-1`, `1e-3`, `.5`: what SQL accepts as a bare numeric literal (no `inf`/`NaN`).
fn is_decimal(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_ok = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !digits_ok(int) || !digits_ok(frac) {
        return false;
    }
    match exponent {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && digits_ok(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str, t: ColumnType) -> Result<ColumnDefault, SqlError> {
        ColumnDefault::parse(raw, t, &SqlObject::column("t", "c"))
    }

    #[test]
    fn keywords_and_v1_text() {
        assert_eq!(parse("serial", ColumnType::Bigint), Ok(ColumnDefault::Serial));
        assert_eq!(parse("nextval('t_id_seq'::regclass)", ColumnType::Bigint), Ok(ColumnDefault::Serial));
        assert_eq!(parse("now", ColumnType::TimestampWithoutTimeZone), Ok(ColumnDefault::Now));
        assert_eq!(parse("gen_random_uuid_v7()", ColumnType::Uuid), Ok(ColumnDefault::RandomUuidV7));
        assert_eq!(parse("'it''s'::text", ColumnType::Text), Ok(ColumnDefault::Text("it's".into())));
    }

    #[test]
    fn typed_values() {
        assert_eq!(parse("-10", ColumnType::Bigint), Ok(ColumnDefault::Number("-10".into())));
        assert_eq!(parse("10.5", ColumnType::DoublePrecision), Ok(ColumnDefault::Number("10.5".into())));
        assert_eq!(parse("1e-3", ColumnType::DoublePrecision), Ok(ColumnDefault::Number("1e-3".into())));
        assert_eq!(parse("true", ColumnType::Boolean), Ok(ColumnDefault::Boolean(true)));
        assert_eq!(
            parse("2024-05-24T22:00:00.000Z", ColumnType::TimestampWithoutTimeZone),
            Ok(ColumnDefault::Timestamp("2024-05-24 22:00:00.000".into()))
        );
    }

    #[test]
    fn anything_else_is_an_expression_for_the_dialect_to_check() {
        let expr = |raw: &str, t| ColumnDefault::parse_or_expression(raw, t, &SqlObject::column("t", "c"));
        assert_eq!(
            expr("(now() AT TIME ZONE 'utc'::text)", ColumnType::TimestampWithoutTimeZone),
            Ok(ColumnDefault::Expression("(now() AT TIME ZONE 'utc'::text)".into()))
        );
        assert_eq!(expr("now", ColumnType::TimestampWithoutTimeZone), Ok(ColumnDefault::Now));
        assert_eq!(expr("'a'::text", ColumnType::Text), Ok(ColumnDefault::Text("a".into())));
    }

    #[test]
    fn rejects_injection_and_nonsense() {
        for (raw, t) in [
            ("1; DROP TABLE x", ColumnType::Bigint),
            ("NaN", ColumnType::DoublePrecision),
            ("inf", ColumnType::DoublePrecision),
            ("yes", ColumnType::Boolean),
            ("'a' || 'b'", ColumnType::Text),
            ("abc", ColumnType::Text),
            ("tomorrow", ColumnType::TimestampWithoutTimeZone),
            ("'x' || 'y'", ColumnType::Unknown),
            ("now() + 1", ColumnType::Unknown),
        ] {
            assert!(matches!(parse(raw, t), Err(SqlError::InvalidDefault { .. })), "{raw}");
        }
    }
}
