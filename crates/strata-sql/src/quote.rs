//! The only two places where untrusted text becomes SQL text.
//!
//! Every identifier the crate emits goes through [`ident`] and every literal value through
//! [`literal`], so escaping is audited in one spot instead of at each `format!`.

/// Quotes an identifier with double quotes, doubling embedded quotes.
///
/// PostgreSQL, SQLite (and ANSI-mode MySQL) all read `"a""b"` as the name `a"b`, so Serverpod's
/// ordinary names come out byte-identical (`"serverpod_log"`) while hostile names stay inert.
pub fn ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for ch in name.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

/// Renders `value` as a single-quoted SQL string literal, doubling embedded quotes.
///
/// Standard-conforming strings (the default on PostgreSQL >= 9.1 and the only mode of SQLite)
/// treat backslashes literally, so doubling `'` is the complete escape. Delegates to the schema
/// crate's escaper, which also encodes string defaults in definitions, so there is one escaping
/// function in the whole workspace.
pub fn literal(value: &str) -> String {
    strata_schema::defaults::quote_literal(value)
}

/// Parses one complete single-quoted literal (`'it''s'`) into its value (`it's`).
///
/// `None` unless the whole text is exactly one well-formed literal: a default such as
/// `'a' || 'b'` must not slip through as "a literal".
pub fn parse_literal(text: &str) -> Option<String> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '\'' {
            // Inside the literal a quote must be doubled.
            if chars.next() != Some('\'') {
                return None;
            }
        }
        out.push(ch);
    }
    Some(out)
}

/// Makes text safe inside a `--` comment line (banners carry table and module names).
pub fn comment(text: &str) -> String {
    text.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_double_embedded_quotes() {
        assert_eq!(ident("serverpod_log"), "\"serverpod_log\"");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn literals_double_embedded_quotes() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal("back\\slash"), "'back\\slash'");
    }

    #[test]
    fn parse_literal_accepts_only_one_literal() {
        assert_eq!(parse_literal("'it''s'").as_deref(), Some("it's"));
        assert_eq!(parse_literal("''").as_deref(), Some(""));
        assert_eq!(parse_literal("'a' || 'b'"), None);
        assert_eq!(parse_literal("'a'b'"), None);
        assert_eq!(parse_literal("abc"), None);
        assert_eq!(parse_literal("'"), None);
    }

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(comment("a\nb\rc"), "a b c");
    }
}
