//! Splits a migration file at its `BEGIN;` / `COMMIT;` lines.
//!
//! The runner owns the transaction (so the history row commits atomically with the migration),
//! and anything outside the file's own transaction must run outside ours too: SQLite's
//! `PRAGMA foreign_keys = OFF/ON` is silently ignored inside a transaction.

use std::path::Path;

use crate::DbError;

/// The three parts of a migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitSql<'a> {
    /// Before `BEGIN;`: runs before the transaction.
    pub prelude: &'a str,
    /// Between `BEGIN;` and `COMMIT;`: runs inside the transaction.
    pub body: &'a str,
    /// After `COMMIT;`: runs after the transaction (also after a failed one).
    pub postlude: &'a str,
}

/// Splits `sql` at the line that is exactly `BEGIN;` and the line that is exactly `COMMIT;`
/// (surrounding whitespace and case ignored). Exactly one of each is required, in that order.
pub fn split<'a>(path: &Path, sql: &'a str) -> Result<SplitSql<'a>, DbError> {
    let mut begins = Vec::new();
    let mut commits = Vec::new();
    let mut offset = 0;
    for line in sql.split_inclusive('\n') {
        let t = line.trim();
        if t.eq_ignore_ascii_case("BEGIN;") || t.eq_ignore_ascii_case("BEGIN TRANSACTION;") {
            begins.push((offset, offset + line.len()));
        } else if t.eq_ignore_ascii_case("COMMIT;") {
            commits.push((offset, offset + line.len()));
        }
        offset += line.len();
    }
    let bad = |message: String| DbError::MalformedFile { path: path.to_path_buf(), message };
    match (begins.as_slice(), commits.as_slice()) {
        ([b], [c]) if b.1 <= c.0 => Ok(SplitSql { prelude: &sql[..b.0], body: &sql[b.1..c.0], postlude: &sql[c.1..] }),
        ([_], [_]) => Err(bad("`COMMIT;` comes before `BEGIN;`".into())),
        _ => Err(bad(format!(
            "expected exactly one `BEGIN;` line and one `COMMIT;` line (found {} and {}); strata runs each migration in its own transaction",
            begins.len(),
            commits.len()
        ))),
    }
}

/// True when `sql` holds something other than whitespace and `--` comments (skips a round trip
/// for empty preludes/postludes).
pub fn has_statements(sql: &str) -> bool {
    sql.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with("--")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sqlite_file() {
        let sql = "PRAGMA foreign_keys = OFF;\nBEGIN;\n\nCREATE TABLE a (id int);\n\nCOMMIT;\nPRAGMA foreign_keys = ON;\n";
        let s = split(Path::new("m.sql"), sql).unwrap();
        assert_eq!(s.prelude, "PRAGMA foreign_keys = OFF;\n");
        assert_eq!(s.body, "\nCREATE TABLE a (id int);\n\n");
        assert_eq!(s.postlude, "PRAGMA foreign_keys = ON;\n");
        assert!(has_statements(s.prelude) && has_statements(s.postlude));
    }

    #[test]
    fn splits_postgres_file_with_crlf_and_no_trailing_newline() {
        let s = split(Path::new("m.sql"), "BEGIN;\r\nSELECT 1;\r\nCOMMIT;").unwrap();
        assert_eq!(s.prelude, "");
        assert_eq!(s.body, "SELECT 1;\r\n");
        assert_eq!(s.postlude, "");
        assert!(!has_statements(s.prelude));
    }

    #[test]
    fn statements_mentioning_begin_are_not_split_points() {
        let sql = "BEGIN;\nDO $$ BEGIN\n  RAISE NOTICE 'x';\nEND $$;\nCOMMIT;\n";
        let s = split(Path::new("m.sql"), sql).unwrap();
        assert!(s.body.contains("DO $$ BEGIN"));
    }

    #[test]
    fn rejects_missing_or_duplicate_markers() {
        for sql in
            ["SELECT 1;\n", "BEGIN;\nSELECT 1;\n", "BEGIN;\nCOMMIT;\nBEGIN;\nCOMMIT;\n", "COMMIT;\nBEGIN;\n"]
        {
            let e = split(Path::new("x/migration.sql"), sql).unwrap_err();
            assert!(e.to_string().contains("x/migration.sql"), "{e}");
        }
    }

    #[test]
    fn comments_only_has_no_statements() {
        assert!(!has_statements("-- hi\n\n   -- there\n"));
        assert!(has_statements("-- hi\nSELECT 1;"));
    }
}
