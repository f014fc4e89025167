//! The models behind the spec's verbatim JSON examples (§2.5, §2.6) must build exactly those tables.

mod common;

use std::path::PathBuf;

use strata_models::{build_project_definition, ModelOptions, SourceFile};
use strata_schema::{
    definition_from_json, definition_to_json, ColumnDefinition, ColumnType, TableDefinition,
};

fn fixture(rel: &str) -> (PathBuf, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models").join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, text)
}

#[test]
fn shared_module_table_matches_definition_project_json() {
    let (path, text) = fixture("shared_module_table/shared_module_table.spy.yaml");
    let (_, json) = fixture("shared_module_table/definition_project.json");
    let expected = definition_from_json(&json).unwrap();
    let options = ModelOptions::new("serverpod_test_shared_module");
    let got = build_project_definition(&[SourceFile { path, text }], &options).unwrap();
    assert_eq!(got.module_name, expected.module_name);
    assert_eq!(got.tables, expected.tables);
    // And byte-identical once written (tables only; installedModules come from the project).
    let mut with_modules = got.clone();
    with_modules.installed_modules = expected.installed_modules.clone();
    assert_eq!(definition_to_json(&with_modules), json.trim_end());
}

#[test]
fn future_call_claim_entry_matches_definition_json() {
    let (path, text) = fixture("future_call_claim/future_call_claim_entry.spy.yaml");
    let (_, json) = fixture("future_call_claim/expected_table.json");
    let expected = definition_from_json(&json).unwrap();
    // The parent table belongs to the same module in Serverpod; here it comes in as an external table.
    let mut options = ModelOptions::new("serverpod");
    options.external_tables.push(TableDefinition {
        name: "serverpod_future_call".into(),
        schema: "public".into(),
        columns: vec![ColumnDefinition {
            name: "id".into(),
            column_type: ColumnType::Bigint,
            ..Default::default()
        }],
        ..Default::default()
    });
    let got = build_project_definition(&[SourceFile { path, text }], &options).unwrap();
    assert_eq!(got.tables, expected.tables);
}

#[test]
fn future_call_claim_entry_with_parent_model_in_project() {
    let (_, text) = fixture("future_call_claim/future_call_claim_entry.spy.yaml");
    let (_, json) = fixture("future_call_claim/expected_table.json");
    let expected = definition_from_json(&json).unwrap();
    let parent = "class: FutureCallEntry\ntable: serverpod_future_call\nfields:\n  name: String\n";
    let options = ModelOptions::new("serverpod");
    let got = common::build_with(&[("claim.spy.yaml", &text), ("entry.spy.yaml", parent)], &options).unwrap();
    assert_eq!(got.tables.len(), 2);
    assert_eq!(got.table("serverpod_future_call_claim"), expected.tables.first());
}
