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
    /// The file's line number (1-based) of the body's first line.
    pub body_line: usize,
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
        ([b], [c]) if b.1 <= c.0 => Ok(SplitSql {
            prelude: &sql[..b.0],
            body: &sql[b.1..c.0],
            body_line: sql[..b.1].matches('\n').count() + 1,
            postlude: &sql[c.1..],
        }),
        ([_], [_]) => Err(bad("`COMMIT;` comes before `BEGIN;`".into())),
        _ => Err(bad(format!(
            "expected exactly one `BEGIN;` line and one `COMMIT;` line (found {} and {}); strata runs each migration in its own transaction",
            begins.len(),
            commits.len()
        ))),
    }
}

/// The first transaction-control statement in `body` (`COMMIT`, `END`, `ROLLBACK` other than
/// `ROLLBACK TO`, `BEGIN`, `START TRANSACTION`, `ABORT`), as (0-based line within `body`, the
/// keyword). Such a statement would end the runner's transaction part-way through the file:
/// what ran before it would commit without its history row.
///
/// Statements are found with sqlparser's tokenizer, so strings, quoted identifiers, comments and
/// dollar-quoted function bodies (`DO $$ BEGIN … END $$`) are never mistaken for statements;
/// `BEGIN ATOMIC … END` function bodies are skipped. Text the tokenizer rejects is scanned line by
/// line instead (a statement keyword at the start of a line).
pub fn transaction_control(body: &str) -> Option<(usize, String)> {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, body).tokenize_with_location() else {
        return transaction_control_by_line(body);
    };
    let words: Vec<Option<(String, usize)>> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .map(|t| match &t.token {
            Token::Word(w) if w.quote_style.is_none() => {
                Some((w.value.to_ascii_uppercase(), t.span.start.line.saturating_sub(1) as usize))
            }
            Token::SemiColon => Some((";".to_string(), 0)),
            _ => None,
        })
        .collect();
    let word = |i: usize| words.get(i).and_then(|w| w.as_ref()).map(|w| w.0.as_str());
    let mut at_start = true;
    let mut atomic_depth = 0usize;
    for (i, entry) in words.iter().enumerate() {
        let w = entry.as_ref().map(|x| x.0.as_str());
        if w == Some(";") {
            at_start = true;
            continue;
        }
        if w == Some("BEGIN") && word(i + 1) == Some("ATOMIC") {
            atomic_depth += 1;
        } else if at_start && atomic_depth > 0 && w == Some("END") {
            atomic_depth -= 1;
        } else if at_start && atomic_depth == 0 {
            if let Some(kw) = w.filter(|k| is_transaction_keyword(k, word(i + 1))) {
                return Some((entry.as_ref().map(|x| x.1).unwrap_or(0), kw.to_string()));
            }
        }
        at_start = false;
    }
    None
}

/// `keyword` (followed by `next`) starts a transaction-control statement.
fn is_transaction_keyword(keyword: &str, next: Option<&str>) -> bool {
    match keyword {
        "COMMIT" | "END" | "BEGIN" | "ABORT" => true,
        "ROLLBACK" => next != Some("TO"),
        "START" => next == Some("TRANSACTION"),
        _ => false,
    }
}

fn transaction_control_by_line(body: &str) -> Option<(usize, String)> {
    body.lines().enumerate().find_map(|(i, l)| {
        let mut words = l.trim().split(|c: char| !c.is_ascii_alphabetic()).filter(|w| !w.is_empty());
        let first = words.next()?.to_ascii_uppercase();
        let next = words.next().map(|w| w.to_ascii_uppercase());
        is_transaction_keyword(&first, next.as_deref()).then_some((i, first))
    })
}

/// One statement of a file run statement by statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatement<'a> {
    /// The statement's text without its `;`, comments before it and surrounding whitespace.
    pub text: &'a str,
    /// The file's line number (1-based) where it starts.
    pub line: usize,
}

impl FileStatement<'_> {
    /// Its first line, for messages (`CREATE TABLE `a` (`).
    pub fn first_line(&self) -> &str {
        self.text.lines().next().unwrap_or("").trim_end()
    }
}

/// Splits a MySQL file into its statements (see [`statements_for`]).
pub fn statements<'a>(path: &Path, sql: &'a str) -> Result<Vec<FileStatement<'a>>, DbError> {
    statements_for(path, sql, "mysql")
}

/// Splits a file of a dialect without transactional DDL into its statements with sqlparser's
/// tokenizer for its wire protocol's grammar (`mysql`, or `postgres` for CockroachDB and
/// YugabyteDB, whose `$$` bodies hold `;`), so a `;` inside a string, a quoted identifier, a
/// comment or a dollar-quoted body never ends a statement. Refuses text the tokenizer rejects
/// (naming the line and column) and transaction statements, which would end the transaction the
/// runner wraps each statement in with its progress row.
pub fn statements_for<'a>(
    path: &Path,
    sql: &'a str,
    protocol: &str,
) -> Result<Vec<FileStatement<'a>>, DbError> {
    use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect};
    use sqlparser::tokenizer::{Token, Tokenizer};
    let bad = |message: String| DbError::MalformedFile { path: path.to_path_buf(), message };
    let tokens = if protocol == "postgres" {
        Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location()
    } else {
        Tokenizer::new(&MySqlDialect {}, sql).tokenize_with_location()
    }
    .map_err(|e| bad(format!("{e}; strata splits these files into statements with a SQL tokenizer")))?;
    let lines = LineStarts::new(sql);
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    for t in &tokens {
        match &t.token {
            Token::Whitespace(_) => {}
            Token::SemiColon => {
                if let Some((from, line)) = start.take() {
                    let end = lines.offset(t.span.start.line, t.span.start.column);
                    out.push(FileStatement { text: sql[from..end].trim_end(), line });
                }
            }
            _ if start.is_none() => {
                let line = t.span.start.line as usize;
                start = Some((lines.offset(t.span.start.line, t.span.start.column), line));
            }
            _ => {}
        }
    }
    if let Some((from, line)) = start {
        out.push(FileStatement { text: sql[from..].trim_end(), line });
    }
    for st in &out {
        if let Some((_, keyword)) = transaction_control(st.text) {
            return Err(bad(format!(
                "line {}: `{keyword}`: this dialect's DDL is not transactional, so strata runs its files statement \
                 by statement, each in its own transaction with its progress row; remove the transaction statements",
                st.line
            )));
        }
    }
    Ok(out)
}

/// The first words of a statement, upper-cased (quoted identifiers keep their text), skipping
/// comments: enough to tell what kind of statement it is.
fn leading_words(text: &str, n: usize) -> Vec<String> {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, text).tokenize() else { return Vec::new() };
    tokens
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .take(n)
        .map(|t| match t {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
            Token::Word(w) => w.value,
            other => other.to_string(),
        })
        .collect()
}

/// `Some(concurrently)` when the statement is `CREATE [UNIQUE] INDEX [CONCURRENTLY] …`.
pub fn creates_index(text: &str) -> Option<bool> {
    let words = leading_words(text, 4);
    let rest = match words.as_slice() {
        [c, u, i, rest @ ..] if c == "CREATE" && u == "UNIQUE" && i == "INDEX" => rest,
        [c, i, rest @ ..] if c == "CREATE" && i == "INDEX" => rest,
        _ => return None,
    };
    Some(rest.first().is_some_and(|w| w == "CONCURRENTLY"))
}

/// Whether the statement changes the schema (and so, on a dialect without transactional DDL,
/// commits by itself): `CREATE`, `ALTER`, `DROP`, `TRUNCATE`, `COMMENT`, `RENAME`, `GRANT`,
/// `REVOKE`, `REINDEX`, or a `DO` block (which may run any of them).
pub fn is_ddl(text: &str) -> bool {
    const DDL: [&str; 10] =
        ["CREATE", "ALTER", "DROP", "TRUNCATE", "COMMENT", "RENAME", "GRANT", "REVOKE", "REINDEX", "DO"];
    leading_words(text, 1).first().is_some_and(|w| DDL.contains(&w.as_str()))
}

/// Whether the statement writes rows of `table` (`INSERT INTO t`, `UPDATE t`, `DELETE FROM t`).
pub fn writes_table(text: &str, table: &str) -> bool {
    let words = leading_words(text, 3);
    let target = match words.as_slice() {
        [i, into, t, ..] if i == "INSERT" && into == "INTO" => t,
        [d, from, t, ..] if d == "DELETE" && from == "FROM" => t,
        [u, t, ..] if u == "UPDATE" => t,
        _ => return false,
    };
    // Unquoted names come back upper-cased; PostgreSQL folds them to lower case.
    target == table || *target == table.to_ascii_uppercase()
}

/// Byte offsets of a text's lines, to turn the tokenizer's (line, column) into a slice index.
struct LineStarts<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineStarts<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineStarts { text, starts }
    }

    /// The byte offset of 1-based `line`, 1-based character `column`.
    fn offset(&self, line: u64, column: u64) -> usize {
        let from = self.starts.get((line as usize).saturating_sub(1)).copied().unwrap_or(self.text.len());
        let rest = &self.text[from..];
        let chars = (column as usize).saturating_sub(1);
        from + rest.char_indices().nth(chars).map(|(i, _)| i).unwrap_or(rest.len())
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
    fn splits_mysql_statements_by_tokens() {
        let sql = "-- header\nCREATE TABLE `a;b` (\n  `x` text DEFAULT 'p;q' -- c;d\n);\n/* e; */ INSERT INTO t VALUES (\"é;\");\nSELECT 1";
        let st = statements(Path::new("m.sql"), sql).unwrap();
        let texts: Vec<(&str, usize)> = st.iter().map(|s| (s.text, s.line)).collect();
        assert_eq!(
            texts,
            [
                ("CREATE TABLE `a;b` (\n  `x` text DEFAULT 'p;q' -- c;d\n)", 2),
                ("INSERT INTO t VALUES (\"é;\")", 5),
                ("SELECT 1", 6)
            ]
        );
        assert_eq!(st[0].first_line(), "CREATE TABLE `a;b` (");
        assert!(statements(Path::new("m.sql"), "-- only a comment\n").unwrap().is_empty());
    }

    #[test]
    fn mysql_files_refuse_transactions_and_bad_tokens() {
        let e = statements(Path::new("m.sql"), "SELECT 1;\nCOMMIT;\n").unwrap_err().to_string();
        assert!(e.contains("m.sql") && e.contains("line 2") && e.contains("COMMIT"), "{e}");
        let e = statements(Path::new("m.sql"), "SELECT 1;\nSELECT 'open\n").unwrap_err().to_string();
        assert!(e.contains("m.sql") && e.contains("Line: 2"), "{e}");
    }

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
    fn finds_transaction_control_inside_the_body() {
        let found = |body: &str| transaction_control(body).map(|(l, k)| format!("{l}:{k}"));
        assert_eq!(
            found("CREATE TABLE a (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE b (id int);\n").as_deref(),
            Some("1:COMMIT")
        );
        assert_eq!(found("SELECT 1; end;").as_deref(), Some("0:END"));
        assert_eq!(found("INSERT INTO t VALUES (1);\n  rollback;\n").as_deref(), Some("1:ROLLBACK"));
        assert_eq!(found("START TRANSACTION;").as_deref(), Some("0:START"));
        for fine in [
            "DO $$ BEGIN\n  COMMIT;\nEND $$;\n",
            "SELECT 'COMMIT; BEGIN;';\n-- COMMIT;\n/* ROLLBACK; */\n",
            "SAVEPOINT a; ROLLBACK TO SAVEPOINT a; ROLLBACK TO a;",
            "SELECT CASE WHEN true THEN 1 END;\nCREATE TABLE \"commit\" (\"end\" int);",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nSELECT f();",
            "START INDEX;",
        ] {
            assert_eq!(found(fine), None, "{fine}");
        }
    }

    #[test]
    fn body_line_is_the_files_line_number() {
        let s = split(Path::new("m.sql"), "-- a\nBEGIN;\nSELECT 1;\nCOMMIT;\n").unwrap();
        assert_eq!(s.body_line, 3);
    }

    #[test]
    fn tells_index_builds_ddl_and_bookkeeping_apart() {
        assert_eq!(creates_index("CREATE INDEX \"a\" ON \"t\" (\"x\")"), Some(false));
        assert_eq!(creates_index("-- why\ncreate unique index concurrently a on t (x)"), Some(true));
        assert_eq!(creates_index("CREATE TABLE \"index\" (x int)"), None);
        assert!(is_ddl("ALTER TABLE t ADD COLUMN x int") && is_ddl("DO $$ BEGIN END $$"));
        assert!(!is_ddl("INSERT INTO t VALUES (1)") && !is_ddl("-- CREATE\nSELECT 1"));
        let upsert = "INSERT INTO \"serverpod_migrations\" (\"module\") VALUES ('x') ON CONFLICT DO NOTHING";
        assert!(writes_table(upsert, "serverpod_migrations"));
        assert!(writes_table("DELETE FROM serverpod_migrations WHERE true", "serverpod_migrations"));
        assert!(!writes_table("INSERT INTO \"other\" VALUES (1)", "serverpod_migrations"));
        assert!(!writes_table("SELECT * FROM serverpod_migrations", "serverpod_migrations"));
    }

    #[test]
    fn postgres_files_split_around_dollar_quoted_bodies() {
        let sql =
            "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql;\nSELECT f();\n";
        let got = statements_for(Path::new("m.sql"), sql, "postgres").unwrap();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!((got[1].text, got[1].line), ("SELECT f()", 2));
    }

    #[test]
    fn comments_only_has_no_statements() {
        assert!(!has_statements("-- hi\n\n   -- there\n"));
        assert!(has_statements("-- hi\nSELECT 1;"));
    }
}
