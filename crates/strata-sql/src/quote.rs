//! The only two places where untrusted text becomes SQL text.
//!
//! Every identifier the crate emits goes through [`ident`] and every literal value through
//! [`literal`], so escaping is audited in one spot instead of at each `format!`.

/// Quotes an identifier with double quotes, doubling embedded quotes.
///
/// PostgreSQL and SQLite read `"a""b"` as the name `a"b`, so Serverpod's ordinary names come
/// out byte-identical (`"serverpod_log"`) while hostile names stay inert.
pub fn ident(name: &str) -> String {
    ident_with(name, '"')
}

/// Quotes an identifier with `quote` (`"` or MySQL's `` ` ``), doubling embedded quote
/// characters: the one identifier-quoting rule, whichever character a dialect uses.
pub fn ident_with(name: &str, quote: char) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push(quote);
    for ch in name.chars() {
        if ch == quote {
            out.push(quote);
        }
        out.push(ch);
    }
    out.push(quote);
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

/// [`literal`] for a server that reads backslash escapes in string literals (MySQL and MariaDB
/// in their default SQL mode): backslashes are doubled first, so a value ending in `\` cannot
/// escape the closing quote and run the rest of the statement as SQL.
pub fn literal_escaping_backslashes(value: &str) -> String {
    literal(&value.replace('\\', "\\\\"))
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
    fn backticks_double_embedded_backticks() {
        assert_eq!(ident_with("a`b", '`'), "`a``b`");
    }

    #[test]
    fn backslashes_cannot_escape_the_closing_quote() {
        assert_eq!(literal_escaping_backslashes("x\\"), "'x\\\\'");
        assert_eq!(literal_escaping_backslashes("\\'); DROP TABLE t; --"), "'\\\\''); DROP TABLE t; --'");
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
