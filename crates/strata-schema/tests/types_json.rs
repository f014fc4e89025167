//! strata's `types` key in `definition.json`: written only when there are types, read back
//! exactly, and refused with its JSON path when malformed.

use strata_schema::types::{DomainCheck, DomainDefinition, TypeDefinition, TypeKind};
use strata_schema::{definition_from_json, definition_to_json, DatabaseDefinition, JsonError};

fn with_types() -> DatabaseDefinition {
    let mut def = DatabaseDefinition::empty("p");
    def.types = vec![
        TypeDefinition {
            schema: "public".into(),
            name: "mood".into(),
            kind: TypeKind::Enum { values: vec!["sad".into(), "it's ok".into()] },
        },
        TypeDefinition {
            schema: "public".into(),
            name: "positive".into(),
            kind: TypeKind::Domain(DomainDefinition {
                base_type: "integer".into(),
                default: Some("1".into()),
                not_null: true,
                checks: vec![DomainCheck { name: "positive_check".into(), expression: "VALUE > 0".into() }],
            }),
        },
    ];
    def
}

#[test]
fn a_definition_without_types_has_no_types_key() {
    let text = definition_to_json(&DatabaseDefinition::empty("p"));
    assert!(!text.contains("\"types\""), "{text}");
}

#[test]
fn types_are_written_after_tables_and_read_back_exactly() {
    let def = with_types();
    let text = definition_to_json(&def);
    let tables = text.find("\"tables\"").unwrap();
    let types = text.find("\"types\"").unwrap();
    assert!(tables < types, "{text}");
    assert!(text.contains("\"check\": \"VALUE > 0\""), "{text}");
    assert_eq!(definition_from_json(&text).unwrap(), def);
    assert_eq!(definition_to_json(&definition_from_json(&text).unwrap()), text);
}

#[test]
fn a_type_with_neither_or_both_kinds_is_refused_with_its_path() {
    let text = definition_to_json(&with_types())
        .replace("\"enum\": [", "\"domain\": {\"baseType\": \"text\"}, \"enum\": [");
    match definition_from_json(&text) {
        Err(JsonError::Shape { path, message }) => {
            assert_eq!(path, "$.types[0]");
            assert!(message.contains("exactly one of \"enum\""), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
