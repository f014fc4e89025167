//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use strata_models::{build_project_definition, Diagnostic, Diagnostics, ModelOptions, SourceFile};
use strata_schema::{ColumnDefinition, DatabaseDefinition, TableDefinition};

pub fn files(list: &[(&str, &str)]) -> Vec<SourceFile> {
    list.iter().map(|(p, t)| SourceFile { path: PathBuf::from(p), text: t.to_string() }).collect()
}

pub fn build_with(list: &[(&str, &str)], options: &ModelOptions) -> Result<DatabaseDefinition, Diagnostics> {
    build_project_definition(&files(list), options)
}

pub fn build(list: &[(&str, &str)]) -> Result<DatabaseDefinition, Diagnostics> {
    build_with(list, &ModelOptions::new("proj"))
}

pub fn ok(list: &[(&str, &str)]) -> DatabaseDefinition {
    match build(list) {
        Ok(d) => d,
        Err(e) => panic!("unexpected errors:\n{e}"),
    }
}

pub fn errs(list: &[(&str, &str)]) -> Vec<Diagnostic> {
    match build(list) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.0,
    }
}

/// The single table of a single model file.
pub fn one(yaml: &str) -> TableDefinition {
    let def = ok(&[("m.spy.yaml", yaml)]);
    assert_eq!(def.tables.len(), 1, "{:?}", def.tables);
    def.tables.into_iter().next().unwrap()
}

pub fn err_one(yaml: &str) -> Vec<Diagnostic> {
    errs(&[("m.spy.yaml", yaml)])
}

pub fn col<'a>(t: &'a TableDefinition, name: &str) -> &'a ColumnDefinition {
    t.column(name).unwrap_or_else(|| {
        panic!("no column {name} in {:?}", t.columns.iter().map(|c| &c.name).collect::<Vec<_>>())
    })
}

pub fn col_names(t: &TableDefinition) -> Vec<&str> {
    t.columns.iter().map(|c| c.name.as_str()).collect()
}

/// Asserts exactly one diagnostic at (line, column) containing `text`.
#[track_caller]
pub fn assert_err(diags: &[Diagnostic], line: usize, column: usize, text: &str) {
    let hit = diags.iter().any(|d| d.line == line && d.column == column && d.message.contains(text));
    assert!(
        hit,
        "no diagnostic at {line}:{column} containing {text:?}; got:\n{}",
        Diagnostics(diags.to_vec())
    );
}
