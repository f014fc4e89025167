//! Model files Serverpod accepts that strata once rejected (issue 7), each with the definition
//! Serverpod's analyzer yields for it. Inputs are our own fixtures in `fixtures/models/parity/`.

mod common;

use common::*;
use strata_models::ModelOptions;
use strata_schema::ForeignKeyAction;

/// The text of `fixtures/models/parity/<name>`.
fn parity_fixture(name: &str) -> String {
    let path = format!("{}/../../fixtures/models/parity/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Both sides of each named relation live in one class: the side with `field=` holds the
/// foreign key, its partner none; a list partner puts the implicit id on the object side.
#[test]
fn named_self_relation_pairs_two_fields_of_one_class() {
    let table = one(&parity_fixture("named_self_relation.spy.yaml"));
    assert_eq!(col_names(&table), ["id", "title", "afterId", "ownerId"]);
    assert!(col(&table, "afterId").is_nullable && col(&table, "ownerId").is_nullable);
    let fks: Vec<_> = table
        .foreign_keys
        .iter()
        .map(|f| (f.constraint_name.as_str(), f.columns.clone(), f.reference_table.as_str(), f.on_delete))
        .collect();
    assert_eq!(
        fks,
        [
            ("step_fk_0", vec!["afterId".to_string()], "step", Some(ForeignKeyAction::SetNull)),
            ("step_fk_1", vec!["ownerId".to_string()], "step", Some(ForeignKeyAction::NoAction)),
        ]
    );
}

/// A comma at the end of a field definition is ignored, as Serverpod's splitter drops empty
/// parts; the fields keep their type and keys.
#[test]
fn trailing_comma_after_a_field_definition_is_accepted() {
    let table = one(&parity_fixture("trailing_comma.spy.yaml"));
    assert_eq!(col_names(&table), ["id", "label", "weight", "sentAt"]);
    assert_eq!(col(&table, "weight").column_default.as_deref(), Some("1.5"));
    assert!(col(&table, "weight").is_nullable && !col(&table, "sentAt").is_nullable);
}

/// Enum values need only be Dart identifiers (Serverpod's `isValidEnumName`): `Daily`, `A`
/// and `NIGHTLY_RUN` are accepted, and a default names one of them.
#[test]
fn enum_values_that_are_not_lower_camel_case_are_accepted() {
    let def = ok(&[
        ("cadence.spy.yaml", &parity_fixture("cadence.spy.yaml")),
        ("report.spy.yaml", &parity_fixture("report.spy.yaml")),
    ]);
    let table = def.table("report").expect("table report");
    assert_eq!(col(table, "cadence").column_default.as_deref(), Some("'Metatrader'"));
    assert_eq!(col(table, "fallback").dart_type.as_deref(), Some("protocol:Cadence?"));
}

/// What is not a Dart identifier is still refused, naming the value.
#[test]
fn enum_values_that_are_not_identifiers_are_refused() {
    let d = err_one("enum: E\nvalues:\n  - 1st\n  - ok-not\n");
    assert_err(&d, 3, 5, "\"1st\" is not a valid enum value");
    assert_err(&d, 4, 5, "\"ok-not\" is not a valid enum value");
}

/// The hidden column of an implicit list relation is named with Serverpod's `toCamelCase`,
/// which lowercases all but the first letter of each part: field `topRowBooks` on table
/// `book_shelf` gives `_bookShelfToprowbooksBookShelfId`.
#[test]
fn implicit_list_relation_column_uses_serverpods_camel_case() {
    let def = ok(&[
        ("shelf.spy.yaml", &parity_fixture("shelf.spy.yaml")),
        ("volume.spy.yaml", &parity_fixture("volume.spy.yaml")),
    ]);
    let volume = def.table("volume").expect("table volume");
    assert_eq!(col_names(volume), ["id", "title", "_bookShelfToprowbooksBookShelfId"]);
}

/// The bookkeeping table is reserved for every module but `serverpod`, whose own package
/// declares it.
#[test]
fn only_the_serverpod_module_may_declare_serverpod_migrations() {
    let text = parity_fixture("migration_version.spy.yaml");
    let own =
        build_with(&[("m.spy.yaml", &text)], &ModelOptions::new("serverpod")).expect("serverpod builds");
    assert_eq!(own.tables[0].name, "serverpod_migrations");
    assert_err(&err_one(&text), 2, 8, "table name \"serverpod_migrations\" is reserved");
}
