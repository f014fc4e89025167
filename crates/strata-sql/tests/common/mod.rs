//! Test support: schema builders, golden files and statement parsing.
#![allow(dead_code)]

use std::path::PathBuf;

use sqlparser::dialect::{PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use strata_schema::*;

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

pub fn col(name: &str, column_type: ColumnType, nullable: bool) -> ColumnDefinition {
    ColumnDefinition {
        name: name.to_string(),
        field_name: Some(name.to_string()),
        column_type,
        is_nullable: nullable,
        ..Default::default()
    }
}

pub fn col_default(name: &str, column_type: ColumnType, nullable: bool, default: &str) -> ColumnDefinition {
    ColumnDefinition { column_default: Some(default.to_string()), ..col(name, column_type, nullable) }
}

pub fn id() -> ColumnDefinition {
    col_default("id", ColumnType::Bigint, false, "serial")
}

pub fn vector_col(name: &str, column_type: ColumnType, dim: i64) -> ColumnDefinition {
    ColumnDefinition { vector_dimension: Some(dim), ..col(name, column_type, false) }
}

pub fn table(name: &str, dart: &str, columns: Vec<ColumnDefinition>) -> TableDefinition {
    TableDefinition {
        name: name.to_string(),
        dart_name: Some(dart.to_string()),
        module: Some("test".to_string()),
        schema: "public".to_string(),
        columns,
        managed: Some(true),
        keys: Default::default(),
        partition_of: None,
        layout: Default::default(),
        ..Default::default()
    }
}

pub fn index(name: &str, columns: &[&str], unique: bool) -> IndexDefinition {
    IndexDefinition {
        index_name: name.to_string(),
        elements: columns.iter().map(|c| IndexElement::column(*c)).collect(),
        index_type: "btree".to_string(),
        is_unique: unique,
        ..Default::default()
    }
}

pub fn fk(name: &str, column: &str, reference: &str) -> ForeignKeyDefinition {
    ForeignKeyDefinition {
        constraint_name: name.to_string(),
        columns: vec![column.to_string()],
        reference_table: reference.to_string(),
        reference_table_schema: "public".to_string(),
        reference_columns: vec!["id".to_string()],
        on_update: Some(ForeignKeyAction::NoAction),
        on_delete: Some(ForeignKeyAction::NoAction),
        match_type: None,
        deferrable: None,
    }
}

pub fn definition(
    module: &str,
    tables: Vec<TableDefinition>,
    installed: Vec<MigrationVersion>,
) -> DatabaseDefinition {
    DatabaseDefinition { tables, installed_modules: installed, ..DatabaseDefinition::empty(module) }
}

pub fn migration(actions: Vec<MigrationAction>) -> DatabaseMigration {
    DatabaseMigration { actions, ..DatabaseMigration::new() }
}

pub fn alter(name: &str) -> TableMigration {
    TableMigration::new(name, "public")
}

pub fn modify(column: &str) -> ColumnMigration {
    ColumnMigration { column_name: column.to_string(), ..Default::default() }
}

/// Serverpod's `serverpod_migrations` table, as the `serverpod` module declares it.
pub fn migrations_table() -> TableDefinition {
    TableDefinition {
        indexes: vec![index("serverpod_migrations_ids", &["module"], true)],
        module: Some("serverpod".to_string()),
        ..table(
            "serverpod_migrations",
            "DatabaseMigrationVersion",
            vec![
                id(),
                col("module", ColumnType::Text, false),
                col("version", ColumnType::Text, false),
                col("timestamp", ColumnType::TimestampWithoutTimeZone, true),
            ],
        )
    }
}

/// A target definition that contains `tables` plus the bookkeeping table (a Serverpod project).
pub fn serverpod_target(tables: Vec<TableDefinition>) -> DatabaseDefinition {
    let mut all = tables;
    all.push(migrations_table());
    definition("project", all, vec![])
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn read_fixture(rel: &str) -> String {
    let path = workspace_root().join("fixtures").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Compares `actual` with `fixtures/sql/<rel>` byte for byte; with `STRATA_BLESS=1` rewrites the
/// file instead and says so.
pub fn assert_golden(rel: &str, actual: &str) {
    let path = workspace_root().join("fixtures/sql").join(rel);
    if std::env::var("STRATA_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().expect("fixture path has a parent")).expect("mkdir fixtures");
        std::fs::write(&path, actual).expect("write golden");
        eprintln!("blessed {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with STRATA_BLESS=1 to create it)", path.display()));
    assert_same(&expected, actual, &path.display().to_string());
}

/// Byte equality with a line diff in the failure message.
pub fn assert_same(expected: &str, actual: &str, what: &str) {
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected, actual);
        panic!("{what} differs (-expected +actual):\n{}", diff.unified_diff().context_radius(3));
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Splits a generated file into statements: drops `--` comment lines and keeps `$$ ... $$`
/// bodies inside their statement.
pub fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_dollar = false;
    for line in sql.lines() {
        if !in_dollar && (line.trim().is_empty() || line.trim_start().starts_with("--")) {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if line.matches("$$").count() % 2 == 1 {
            in_dollar = !in_dollar;
        }
        if !in_dollar && line.trim_end().ends_with(';') {
            out.push(std::mem::take(&mut current));
        }
    }
    assert!(current.trim().is_empty(), "unterminated statement: {current}");
    out
}

/// Whether a statement is a PL/pgSQL block: sqlparser does not parse `DO $$ ... $$` and does
/// not look inside function bodies, so these are skipped (they are fixed text, pinned by goldens).
fn is_plpgsql(stmt: &str) -> bool {
    stmt.starts_with("DO $$") || stmt.starts_with("CREATE OR REPLACE FUNCTION")
}

/// Every statement of a PostgreSQL file parses; returns how many were parsed.
pub fn assert_parses_postgres(sql: &str) -> usize {
    let mut n = 0;
    for stmt in statements(sql) {
        if is_plpgsql(&stmt) {
            continue;
        }
        if let Err(e) = Parser::parse_sql(&PostgreSqlDialect {}, &stmt) {
            panic!("PostgreSQL statement does not parse: {e}\n{stmt}");
        }
        n += 1;
    }
    n
}

/// Every statement of a SQLite file parses; returns how many were parsed. sqlparser 0.63 only
/// accepts literal values in `PRAGMA x = v`, so the two `PRAGMA foreign_keys = OFF/ON` lines
/// around the transaction are checked textually instead.
pub fn assert_parses_sqlite(sql: &str) -> usize {
    let mut n = 0;
    for stmt in statements(sql) {
        if stmt == "PRAGMA foreign_keys = OFF;\n" || stmt == "PRAGMA foreign_keys = ON;\n" {
            continue;
        }
        if let Err(e) = Parser::parse_sql(&SQLiteDialect {}, &stmt) {
            panic!("SQLite statement does not parse: {e}\n{stmt}");
        }
        n += 1;
    }
    n
}

/// Exactly one `BEGIN;` and one `COMMIT;` line, in that order (the runner splits on them).
pub fn assert_one_transaction(sql: &str) {
    let lines: Vec<&str> = sql.lines().collect();
    let begins: Vec<usize> = (0..lines.len()).filter(|&i| lines[i] == "BEGIN;").collect();
    let commits: Vec<usize> = (0..lines.len()).filter(|&i| lines[i] == "COMMIT;").collect();
    assert_eq!(begins.len(), 1, "BEGIN; lines in:\n{sql}");
    assert_eq!(commits.len(), 1, "COMMIT; lines in:\n{sql}");
    assert!(begins[0] < commits[0]);
}

/// A table with only a name: enough for the dialects whose index statements need no column
/// types (PostgreSQL, SQLite).
pub fn named(name: &str) -> TableDefinition {
    TableDefinition { name: name.to_string(), ..Default::default() }
}
