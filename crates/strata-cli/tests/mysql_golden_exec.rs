//! Every MySQL golden statement executes on the real MariaDB, and the migration chain builds the
//! same schema as the final `definition.sql`.
//!
//! For each case under `fixtures/golden/*/expected-mysql/`:
//! * each step's `definition.sql` runs on its own scratch database;
//! * the steps' `migration.sql` files run in order on one scratch database (the chain);
//! * the chain's catalog (`information_schema` tables, columns, indexes, foreign keys and
//!   checks, normalised) must equal that of a database built from the last `definition.sql`.
//!
//! Files are split into statements with sqlparser's tokenizer (MySQL grammar), as the runner
//! does, never at every `;`. A failure names the case, the file and the statement.

use std::fs;
use std::path::{Path, PathBuf};

use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};
use sqlx::{Connection, MySqlConnection, Row};

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden")
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// The statements of a file, split at the `;` tokens the MySQL tokenizer finds (so a `;` in a
/// string literal or comment does not split), each without its surrounding whitespace. A piece
/// with only comments is not a statement.
fn split_statements(sql: &str) -> Result<Vec<String>, String> {
    let tokens = Tokenizer::new(&MySqlDialect {}, sql).tokenize_with_location().map_err(|e| e.to_string())?;
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(sql.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let offset = |line: u64, column: u64| -> usize {
        let start = line_starts[(line - 1) as usize];
        start + sql[start..].chars().take((column - 1) as usize).map(char::len_utf8).sum::<usize>()
    };
    let mut statements = Vec::new();
    let mut begin = 0;
    let mut has_code = false;
    for t in &tokens {
        match &t.token {
            Token::SemiColon => {
                let end = offset(t.span.start.line, t.span.start.column);
                if has_code {
                    statements.push(sql[begin..end].trim().to_string());
                }
                begin = end + 1;
                has_code = false;
            }
            Token::Whitespace(_) | Token::EOF => {}
            _ => has_code = true,
        }
    }
    if has_code {
        return Err(format!("text after the last `;`: {}", sql[begin..].trim()));
    }
    Ok(statements)
}

/// Runs every statement of `file` on `conn`, or says which one failed and why.
async fn run_file(conn: &mut MySqlConnection, case: &str, file: &Path) -> Result<usize, String> {
    let sql = fs::read_to_string(file).map_err(|e| format!("{case}: {}: {e}", file.display()))?;
    let statements = split_statements(&sql).map_err(|e| format!("{case}: {}: {e}", file.display()))?;
    for (i, statement) in statements.iter().enumerate() {
        if let Err(e) = sqlx::raw_sql(statement).execute(&mut *conn).await {
            return Err(format!(
                "{case}: {} statement {} fails on MariaDB: {e}\n{statement}",
                file.strip_prefix(golden_root()).unwrap_or(file).display(),
                i + 1
            ));
        }
    }
    Ok(statements.len())
}

/// The schema of the current database, one sorted line per object, in terms that do not
/// depend on the order objects were created in (no ordinal positions, no auto-increment
/// counters).
async fn catalog(conn: &mut MySqlConnection) -> Vec<String> {
    let queries = [
        "SELECT CONCAT('table ', TABLE_NAME, ' ', ENGINE, ' ', TABLE_COLLATION)
         FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
        "SELECT CONCAT('column ', TABLE_NAME, '.', COLUMN_NAME, ' ', COLUMN_TYPE, ' null=', IS_NULLABLE,
                ' default=', COALESCE(COLUMN_DEFAULT, '<none>'), ' extra=', EXTRA,
                ' collation=', COALESCE(COLLATION_NAME, '-'))
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()",
        "SELECT CONCAT('index ', TABLE_NAME, '.', INDEX_NAME, ' unique=', 1 - MIN(NON_UNIQUE), ' ',
                MIN(INDEX_TYPE), ' (', GROUP_CONCAT(CONCAT(COLUMN_NAME, COALESCE(CONCAT('(', SUB_PART, ')'), ''))
                ORDER BY SEQ_IN_INDEX SEPARATOR ', '), ')')
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()
         GROUP BY TABLE_NAME, INDEX_NAME",
        "SELECT CONCAT('fk ', r.TABLE_NAME, '.', r.CONSTRAINT_NAME, ' -> ', r.REFERENCED_TABLE_NAME,
                ' (', (SELECT GROUP_CONCAT(CONCAT(k.COLUMN_NAME, '->', k.REFERENCED_COLUMN_NAME)
                        ORDER BY k.ORDINAL_POSITION SEPARATOR ', ')
                       FROM information_schema.KEY_COLUMN_USAGE k
                       WHERE k.CONSTRAINT_SCHEMA = r.CONSTRAINT_SCHEMA AND k.TABLE_NAME = r.TABLE_NAME
                         AND k.CONSTRAINT_NAME = r.CONSTRAINT_NAME),
                ') on delete ', r.DELETE_RULE, ' on update ', r.UPDATE_RULE)
         FROM information_schema.REFERENTIAL_CONSTRAINTS r WHERE r.CONSTRAINT_SCHEMA = DATABASE()",
        "SELECT CONCAT('check ', TABLE_NAME, '.', CONSTRAINT_NAME, ' ', CHECK_CLAUSE)
         FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()",
    ];
    let mut lines = Vec::new();
    for q in queries {
        for row in sqlx::query(q).fetch_all(&mut *conn).await.unwrap() {
            // CONCAT over information_schema columns comes back as VARBINARY on some servers.
            let bytes: Vec<u8> =
                row.try_get::<Vec<u8>, _>(0).unwrap_or_else(|_| row.get::<String, _>(0).into_bytes());
            lines.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    lines.sort();
    lines
}

async fn connect(db: &strata_testdb::MysqlScratch) -> MySqlConnection {
    MySqlConnection::connect(&db.url).await.unwrap_or_else(|e| panic!("connecting to {}: {e}", db.name))
}

/// One case: every definition.sql alone, the migration chain, and the catalog comparison.
/// Returns the number of statements executed.
async fn check_case(case_dir: &Path, failures: &mut Vec<String>) -> usize {
    let case = case_dir.file_name().unwrap().to_string_lossy().into_owned();
    let steps = sorted_dirs(&case_dir.join("expected-mysql"));
    let mut executed = 0;
    let mut last_definition = None;
    for step in &steps {
        let definition = step.join("definition.sql");
        if !definition.is_file() {
            continue;
        }
        let db = strata_testdb::MysqlScratch::new(&format!("def_{case}"));
        let mut conn = connect(&db).await;
        match run_file(&mut conn, &case, &definition).await {
            Ok(n) => executed += n,
            Err(e) => failures.push(e),
        }
        let _ = conn.close().await;
        last_definition = Some(definition);
    }
    let Some(last_definition) = last_definition else { return executed };
    if case == "legacy_v1" {
        // The chain starts from a hand-written version without SQL.
        return executed;
    }

    let chain_db = strata_testdb::MysqlScratch::new(&format!("chain_{case}"));
    let mut chain = connect(&chain_db).await;
    for step in &steps {
        let migration = step.join("migration.sql");
        if !migration.is_file() {
            continue;
        }
        match run_file(&mut chain, &case, &migration).await {
            Ok(n) => executed += n,
            Err(e) => {
                failures.push(e);
                return executed;
            }
        }
    }
    // `managed`: CREATE TABLE IF NOT EXISTS leaves a re-managed table as it was (spec §7.1).
    if case != "managed" {
        let final_db = strata_testdb::MysqlScratch::new(&format!("final_{case}"));
        let mut fresh = connect(&final_db).await;
        if run_file(&mut fresh, &case, &last_definition).await.is_ok() {
            let from_chain = catalog(&mut chain).await.join("\n") + "\n";
            let from_definition = catalog(&mut fresh).await.join("\n") + "\n";
            if from_chain != from_definition {
                let diff = similar::TextDiff::from_lines(&from_definition, &from_chain)
                    .unified_diff()
                    .context_radius(2)
                    .header("definition.sql", "migrations chained")
                    .to_string();
                failures.push(format!("{case}: the migration chain differs from definition.sql:\n{diff}"));
            }
        }
        let _ = fresh.close().await;
    }
    let _ = chain.close().await;
    executed
}

#[test]
fn every_mysql_golden_statement_executes_on_mariadb_and_the_chain_equals_the_definition() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut failures = Vec::new();
        let mut cases = 0;
        let mut executed = 0;
        for case_dir in sorted_dirs(&golden_root()) {
            if !case_dir.join("expected-mysql").is_dir() {
                failures.push(format!("{}: no expected-mysql goldens", case_dir.display()));
                continue;
            }
            executed += check_case(&case_dir, &mut failures).await;
            cases += 1;
        }
        assert!(cases >= 30, "only {cases} golden cases found");
        assert!(executed >= 100, "only {executed} statements executed");
        assert!(failures.is_empty(), "{} failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
    });
}

#[test]
fn the_splitter_keeps_semicolons_inside_literals_and_comments() {
    let sql = "-- a; comment\nCREATE TABLE `t;x` (`a` LONGTEXT DEFAULT ('x;y\\';z'));\n/* ; */\nDROP TABLE `t;x`;\n";
    let statements = split_statements(sql).unwrap();
    assert_eq!(statements.len(), 2, "{statements:?}");
    assert!(statements[0].ends_with("DEFAULT ('x;y\\';z'))"), "{}", statements[0]);
    assert_eq!(statements[1], "/* ; */\nDROP TABLE `t;x`");
    assert!(split_statements("DROP TABLE t").is_err());
}
