//! Which PostgreSQL type changes `ALTER COLUMN ... TYPE ... USING col::new` can make in place,
//! and what they cost. Types are compared as `format_type` renders them (see
//! `ColumnDefinition::native_type`). The rules are deliberately conservative: a change this
//! module does not know is not castable, so the diff drops and re-adds the column and says so.

/// What an in-place type change costs while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CastCost {
    /// Only the catalog changes (a wider `varchar`, `varchar` → `text`, a wider `numeric`).
    CatalogOnly,
    /// Every row is rewritten and every index on the table rebuilt.
    Rewrite,
}

/// A type split into its parts: `character varying(20)[] COLLATE "C"` →
/// base `character varying`, modifiers `20`, one array dimension.
#[derive(Debug, PartialEq, Eq)]
struct TypeParts<'a> {
    base: String,
    modifiers: Option<&'a str>,
    array_dims: usize,
    collation: Option<&'a str>,
}

fn parts(text: &str) -> TypeParts<'_> {
    let (body, collation) = match text.find(" COLLATE ") {
        Some(i) => (&text[..i], Some(&text[i + 9..])),
        None => (text, None),
    };
    let mut body = body.trim();
    let mut array_dims = 0;
    while let Some(b) = body.strip_suffix("[]") {
        body = b;
        array_dims += 1;
    }
    // format_type puts modifiers after the first word: `timestamp(6) with time zone`.
    let (base, modifiers) = match (body.find('('), body.find(')')) {
        (Some(open), Some(close)) if open < close => {
            (format!("{}{}", &body[..open], &body[close + 1..]), Some(&body[open + 1..close]))
        }
        _ => (body.to_string(), None),
    };
    TypeParts { base, modifiers, array_dims, collation }
}

const STRING: &[&str] = &["text", "character varying", "character", "\"char\"", "name"];
const NUMBER: &[&str] = &["smallint", "integer", "bigint", "real", "double precision", "numeric"];
const DATETIME: &[&str] = &["date", "timestamp without time zone", "timestamp with time zone"];
const TIME: &[&str] = &["time without time zone", "time with time zone"];
const JSON: &[&str] = &["json", "jsonb"];

fn same_family(a: &str, b: &str) -> bool {
    [NUMBER, DATETIME, TIME, JSON, STRING].iter().any(|f| f.contains(&a) && f.contains(&b))
}

/// How `from` can become `to` in place, or `None` when PostgreSQL has no cast between them
/// (the column must then be dropped and re-added).
pub fn in_place_cast(from: &str, to: &str) -> Option<CastCost> {
    let (f, t) = (parts(from), parts(to));
    if f.array_dims != t.array_dims {
        // Only the I/O conversion to a string type crosses array dimensions.
        return (t.array_dims == 0 && STRING.contains(&t.base.as_str())).then_some(CastCost::Rewrite);
    }
    let (fb, tb) = (f.base.as_str(), t.base.as_str());
    if f.collation != t.collation && fb == tb && f.modifiers == t.modifiers {
        return Some(CastCost::Rewrite);
    }
    if fb == tb {
        return Some(if widens(fb, f.modifiers, t.modifiers) {
            CastCost::CatalogOnly
        } else {
            CastCost::Rewrite
        });
    }
    if fb == "character varying" && tb == "text" && f.collation == t.collation {
        return Some(CastCost::CatalogOnly);
    }
    let castable = same_family(fb, tb)
        // Every type has an I/O conversion to and from the string types.
        || STRING.contains(&tb)
        || STRING.contains(&fb)
        || matches!((fb, tb), ("boolean", "integer") | ("integer", "boolean"));
    castable.then_some(CastCost::Rewrite)
}

/// Whether a same-base change only relaxes the limit: `varchar(10)` → `varchar(20)` or
/// `varchar`, `numeric(10,2)` → `numeric(12,2)` or `numeric`.
fn widens(base: &str, from: Option<&str>, to: Option<&str>) -> bool {
    let numbers = |m: &str| m.split(',').map(|p| p.trim().parse::<i64>().ok()).collect::<Option<Vec<i64>>>();
    match (base, from, to) {
        ("character varying" | "numeric" | "bit varying", Some(_), None) => true,
        ("character varying" | "bit varying", Some(a), Some(b)) => {
            matches!((numbers(a).as_deref(), numbers(b).as_deref()), (Some([x]), Some([y])) if y >= x)
        }
        ("numeric", Some(a), Some(b)) => match (numbers(a).as_deref(), numbers(b).as_deref()) {
            (Some([p]), Some([q])) => q >= p,
            (Some([p, s]), Some([q, t])) => q >= p && s == t,
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CastCost::*;

    #[test]
    fn widening_limits_touch_only_the_catalog() {
        assert_eq!(in_place_cast("character varying(10)", "character varying(20)"), Some(CatalogOnly));
        assert_eq!(in_place_cast("character varying(10)", "character varying"), Some(CatalogOnly));
        assert_eq!(in_place_cast("character varying(10)", "text"), Some(CatalogOnly));
        assert_eq!(in_place_cast("numeric(10,2)", "numeric(12,2)"), Some(CatalogOnly));
        assert_eq!(in_place_cast("numeric(10,2)", "numeric"), Some(CatalogOnly));
    }

    #[test]
    fn other_casts_rewrite() {
        assert_eq!(in_place_cast("character varying(20)", "character varying(10)"), Some(Rewrite));
        assert_eq!(in_place_cast("numeric(10,2)", "numeric(10,3)"), Some(Rewrite));
        assert_eq!(in_place_cast("integer", "bigint"), Some(Rewrite));
        assert_eq!(in_place_cast("timestamp with time zone", "timestamp without time zone"), Some(Rewrite));
        assert_eq!(in_place_cast("timestamp(3) without time zone", "date"), Some(Rewrite));
        assert_eq!(in_place_cast("json", "jsonb"), Some(Rewrite));
        assert_eq!(in_place_cast("text", "mood"), Some(Rewrite));
        assert_eq!(in_place_cast("mood", "text"), Some(Rewrite));
        assert_eq!(in_place_cast("text[]", "character varying(5)[]"), Some(Rewrite));
        assert_eq!(in_place_cast("text[]", "text"), Some(Rewrite));
        assert_eq!(in_place_cast("text", "text COLLATE \"C\""), Some(Rewrite));
        assert_eq!(in_place_cast("boolean", "integer"), Some(Rewrite));
    }

    #[test]
    fn no_cast_means_none() {
        assert_eq!(in_place_cast("uuid", "bigint"), None);
        assert_eq!(in_place_cast("bytea", "integer"), None);
        assert_eq!(in_place_cast("date", "integer"), None);
        assert_eq!(in_place_cast("integer[]", "integer"), None);
        assert_eq!(in_place_cast("vector(3)", "halfvec(3)"), None);
        assert_eq!(in_place_cast("mood", "color"), None);
    }
}
