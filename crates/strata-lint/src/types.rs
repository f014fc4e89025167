//! Column types as PostgreSQL's `format_type` spells them, so that a type written in SQL
//! (`VARCHAR(10)`, `int8`) compares with the previous definition's (`pg_type_text`) and feeds
//! `strata_diff::casts`, and the narrowing rule that decides DS103.

use sqlparser::ast::DataType;

/// `format_type`'s spelling of a type written in SQL: `VARCHAR(10)` → `character varying(10)`,
/// `int8` → `bigint`, `TIMESTAMP(3)` → `timestamp(3) without time zone`. Types it does not know
/// are lower-cased as written.
pub(crate) fn canonical(data_type: &DataType) -> String {
    let written = data_type.to_string().to_ascii_lowercase();
    let compact = written.replace(", ", ",");
    let (base, modifiers) = match (compact.find('('), compact.rfind(')')) {
        (Some(open), Some(close)) if open < close && close == compact.len() - 1 => {
            (compact[..open].trim().to_string(), Some(compact[open + 1..close].to_string()))
        }
        _ => (compact.clone(), None),
    };
    let with = |name: &str| match &modifiers {
        Some(m) => format!("{name}({m})"),
        None => name.to_string(),
    };
    match base.as_str() {
        "int" | "int4" | "integer" | "serial" | "serial4" => "integer".into(),
        "int8" | "bigint" | "bigserial" | "serial8" => "bigint".into(),
        "int2" | "smallint" | "smallserial" | "serial2" => "smallint".into(),
        "float8" | "double" | "double precision" => "double precision".into(),
        "float4" | "real" => "real".into(),
        "bool" | "boolean" => "boolean".into(),
        "varchar" | "character varying" => with("character varying"),
        "char" | "character" | "bpchar" => with("character"),
        "decimal" | "numeric" => with("numeric"),
        "timestamp" | "timestamp without time zone" => timestamp(&modifiers, "without"),
        "timestamptz" | "timestamp with time zone" => timestamp(&modifiers, "with"),
        "time" | "time without time zone" => "time without time zone".into(),
        "timetz" | "time with time zone" => "time with time zone".into(),
        _ => compact,
    }
}

fn timestamp(precision: &Option<String>, zone: &str) -> String {
    match precision {
        Some(p) => format!("timestamp({p}) {zone} time zone"),
        None => format!("timestamp {zone} time zone"),
    }
}

/// A type's base name and its modifiers: `character varying(10)` → (`character varying`, `10`).
fn split_type(text: &str) -> (String, Option<String>) {
    match (text.find('('), text.find(')')) {
        (Some(open), Some(close)) if open < close => (
            format!("{}{}", &text[..open], &text[close + 1..]).trim().to_string(),
            Some(text[open + 1..close].to_string()),
        ),
        _ => (text.trim().to_string(), None),
    }
}

const STRINGS: &[&str] = &["text", "character varying", "character"];

/// The rank of an exact number type, wider is higher.
fn integer_rank(base: &str) -> Option<u8> {
    match base {
        "smallint" => Some(1),
        "integer" => Some(2),
        "bigint" => Some(3),
        _ => None,
    }
}

fn is_fractional(base: &str) -> bool {
    matches!(base, "real" | "double precision" | "numeric")
}

fn numbers(modifiers: &Option<String>) -> Vec<i64> {
    modifiers
        .as_deref()
        .map_or_else(Vec::new, |m| m.split(',').filter_map(|p| p.trim().parse().ok()).collect())
}

/// Why `from` → `to` can lose or refuse stored values, or `None` when every value fits.
pub(crate) fn narrowing(from: &str, to: &str) -> Option<&'static str> {
    let (fb, fm) = split_type(from);
    let (tb, tm) = split_type(to);
    let (fb, tb) = (fb.as_str(), tb.as_str());
    if STRINGS.contains(&fb) && STRINGS.contains(&tb) {
        let limit =
            |b: &str, m: &Option<String>| if b == "text" { None } else { numbers(m).first().copied() };
        return match (limit(fb, &fm), limit(tb, &tm)) {
            (None, Some(_)) => Some("a length limit is added: longer values make the migration fail"),
            (Some(a), Some(b)) if b < a => {
                Some("the length limit shrinks: longer values make the migration fail")
            }
            _ => None,
        };
    }
    if let (Some(a), Some(b)) = (integer_rank(fb), integer_rank(tb)) {
        return (b < a).then_some("a smaller integer type: larger values make the migration fail");
    }
    if is_fractional(fb) && integer_rank(tb).is_some() {
        return Some("an integer type: fractions are rounded away");
    }
    if fb == "double precision" && tb == "real" {
        return Some("single precision: digits are lost");
    }
    if fb == "numeric" && tb == "numeric" {
        let (a, b) = (numbers(&fm), numbers(&tm));
        let scale = |n: &[i64]| n.get(1).copied().unwrap_or(0);
        return match (a.first(), b.first()) {
            (None, Some(_)) => {
                Some("a precision limit is added: larger values fail, extra digits are rounded")
            }
            (Some(p), Some(q)) if q < p || scale(&b) < scale(&a) => {
                Some("fewer digits: larger values fail, extra digits are rounded")
            }
            _ => None,
        };
    }
    if fb.starts_with("timestamp") && tb == "date" {
        return Some("a date: the time of day is lost");
    }
    if STRINGS.contains(&fb) && !STRINGS.contains(&tb) {
        return Some("text becomes another type: values that do not convert make the migration fail");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, Statement};
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn canon(sql_type: &str) -> String {
        let sql = format!("ALTER TABLE t ALTER COLUMN c TYPE {sql_type}");
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, &sql).unwrap().remove(0);
        let Statement::AlterTable(alter) = statement else { panic!() };
        let AlterTableOperation::AlterColumn {
            op: AlterColumnOperation::SetDataType { data_type, .. }, ..
        } = &alter.operations[0]
        else {
            panic!()
        };
        canonical(data_type)
    }

    #[test]
    fn written_types_get_format_type_spellings() {
        assert_eq!(canon("VARCHAR(10)"), "character varying(10)");
        assert_eq!(canon("character varying"), "character varying");
        assert_eq!(canon("int8"), "bigint");
        assert_eq!(canon("INT"), "integer");
        assert_eq!(canon("numeric(10, 2)"), "numeric(10,2)");
        assert_eq!(canon("timestamp(3)"), "timestamp(3) without time zone");
        assert_eq!(canon("timestamptz"), "timestamp with time zone");
        assert_eq!(canon("double precision"), "double precision");
        assert_eq!(canon("jsonb"), "jsonb");
        assert_eq!(canon("text[]"), "text[]");
    }

    #[test]
    fn narrowing_is_told_from_widening() {
        assert!(narrowing("character varying(20)", "character varying(10)").is_some());
        assert!(narrowing("text", "character varying(10)").is_some());
        assert!(narrowing("bigint", "integer").is_some());
        assert!(narrowing("double precision", "bigint").is_some());
        assert!(narrowing("numeric(10,2)", "numeric(8,2)").is_some());
        assert!(narrowing("numeric(10,2)", "numeric(10,1)").is_some());
        assert!(narrowing("timestamp without time zone", "date").is_some());
        assert!(narrowing("text", "integer").is_some());
        assert_eq!(narrowing("character varying(10)", "character varying(20)"), None);
        assert_eq!(narrowing("character varying(10)", "text"), None);
        assert_eq!(narrowing("integer", "bigint"), None);
        assert_eq!(narrowing("numeric(10,2)", "numeric(12,2)"), None);
        assert_eq!(narrowing("json", "jsonb"), None);
        assert_eq!(narrowing("integer", "text"), None);
    }
}
