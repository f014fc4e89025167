//! Column defaults in Serverpod's abstract form, and the mapping from PostgreSQL's rendering of a
//! default back to that form.
//!
//! Definitions store abstract defaults (`serial`, `now`, `random`, `random_v7`, quoted SQL
//! string literals, bare numbers and booleans, ISO-8601 UTC timestamps); dialects render them.
//! The same mapping normalises v1 files (raw PostgreSQL text) and live introspection, so both
//! compare equal to what the generator wrote: this is what keeps repair free of false drift.

use crate::definition::ColumnType;

/// The column owns a sequence (`bigserial`).
pub const SERIAL: &str = "serial";
/// The current timestamp.
pub const NOW: &str = "now";
/// A random UUID v4.
pub const RANDOM: &str = "random";
/// A random, time-ordered UUID v7.
pub const RANDOM_V7: &str = "random_v7";

/// Maps a PostgreSQL default expression (as `pg_get_expr` or a v1 file renders it) to the
/// abstract form for a column of type `column_type`.
///
/// Idempotent: an abstract default maps to itself.
pub fn pg_sql_to_abstract_default(sql: &str, column_type: ColumnType) -> String {
    let s = sql.trim();
    if s.starts_with("nextval(") {
        return SERIAL.to_string();
    }
    match s.to_ascii_lowercase().as_str() {
        "current_timestamp" | "now()" | "current_timestamp()" => return NOW.to_string(),
        "gen_random_uuid()" => return RANDOM.to_string(),
        "gen_random_uuid_v7()" => return RANDOM_V7.to_string(),
        _ => {}
    }
    // A leading quoted literal: drop its `::cast` suffix; keep the quotes except for
    // numbers and timestamps, which the generator writes bare.
    if let Some((literal, rest)) = split_leading_literal(s) {
        if rest.is_empty() || rest.starts_with("::") {
            let inner = unescape_literal(literal);
            return match column_type {
                ColumnType::TimestampWithoutTimeZone => {
                    iso_timestamp(&inner).unwrap_or_else(|| literal.to_string())
                }
                ColumnType::Bigint | ColumnType::Integer | ColumnType::DoublePrecision => inner,
                ColumnType::Boolean => inner,
                _ => literal.to_string(),
            };
        }
    }
    // `(-1)` style numeric renderings.
    if let Some(inner) = s.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        if inner.parse::<f64>().is_ok() {
            return inner.to_string();
        }
    }
    // Numeric casts such as `0::bigint` or `1.5::double precision`.
    if let Some((head, _cast)) = s.split_once("::") {
        if head.parse::<f64>().is_ok() {
            return head.to_string();
        }
    }
    s.to_string()
}

/// Splits `'it''s'::text` into (`'it''s'`, `::text`).
fn split_leading_literal(s: &str) -> Option<(&str, &str)> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'\'') {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some((&s[..=i], &s[i + 1..]));
        }
        i += 1;
    }
    None
}

/// The text inside a quoted SQL literal, with doubled quotes collapsed.
pub fn unescape_literal(literal: &str) -> String {
    let inner = literal.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')).unwrap_or(literal);
    inner.replace("''", "'")
}

/// Renders `text` as a quoted SQL string literal (quotes doubled). The one place a string value
/// becomes SQL text in definitions.
pub fn quote_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for ch in text.chars() {
        if ch == '\'' {
            out.push('\'');
        }
        out.push(ch);
    }
    out.push('\'');
    out
}

/// Parses `2024-05-10 22:00:00[.fff]` or an ISO form into `2024-05-10T22:00:00.000Z`.
pub fn iso_timestamp(text: &str) -> Option<String> {
    let t = text.trim().trim_end_matches('Z').trim_end_matches("+00").trim_end_matches("+00:00");
    let (date, time) = t.split_once([' ', 'T'])?;
    let d: Vec<&str> = date.split('-').collect();
    if d.len() != 3 || d[0].len() != 4 || d[1].len() != 2 || d[2].len() != 2 {
        return None;
    }
    if !d.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, b),
        None => (time, ""),
    };
    let h: Vec<&str> = hms.split(':').collect();
    if h.len() != 3 || !h.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut ms: String = frac.chars().take(3).collect();
    while ms.len() < 3 {
        ms.push('0');
    }
    Some(format!("{}-{}-{}T{}:{}:{}.{}Z", d[0], d[1], d[2], h[0], h[1], h[2], ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ColumnType::*;

    #[test]
    fn keywords() {
        assert_eq!(pg_sql_to_abstract_default("nextval('t_id_seq'::regclass)", Bigint), "serial");
        assert_eq!(pg_sql_to_abstract_default("CURRENT_TIMESTAMP", TimestampWithoutTimeZone), "now");
        assert_eq!(pg_sql_to_abstract_default("gen_random_uuid()", Uuid), "random");
        assert_eq!(pg_sql_to_abstract_default("gen_random_uuid_v7()", Uuid), "random_v7");
    }

    #[test]
    fn literals() {
        assert_eq!(pg_sql_to_abstract_default("'abc'::text", Text), "'abc'");
        assert_eq!(pg_sql_to_abstract_default("'it''s'::text", Text), "'it''s'");
        assert_eq!(pg_sql_to_abstract_default("'-1'::bigint", Bigint), "-1");
        assert_eq!(pg_sql_to_abstract_default("'-1.5'::double precision", DoublePrecision), "-1.5");
        assert_eq!(pg_sql_to_abstract_default("10", Bigint), "10");
        assert_eq!(pg_sql_to_abstract_default("true", Boolean), "true");
        assert_eq!(
            pg_sql_to_abstract_default(
                "'2024-05-10 22:00:00'::timestamp without time zone",
                TimestampWithoutTimeZone
            ),
            "2024-05-10T22:00:00.000Z"
        );
        assert_eq!(
            pg_sql_to_abstract_default(
                "'2024-05-10 22:00:00.12'::timestamp without time zone",
                TimestampWithoutTimeZone
            ),
            "2024-05-10T22:00:00.120Z"
        );
        assert_eq!(
            pg_sql_to_abstract_default("'550e8400-e29b-41d4-a716-446655440000'::uuid", Uuid),
            "'550e8400-e29b-41d4-a716-446655440000'"
        );
    }

    #[test]
    fn idempotent() {
        for (v, t) in [
            ("serial", Bigint),
            ("now", TimestampWithoutTimeZone),
            ("'abc'", Text),
            ("2024-05-10T22:00:00.000Z", TimestampWithoutTimeZone),
            ("-3", Bigint),
            ("1.5", DoublePrecision),
        ] {
            assert_eq!(pg_sql_to_abstract_default(v, t), v);
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(unescape_literal("'it''s'"), "it's");
    }
}
