//! Garbled input never panics: random text, and valid models with random edits.

mod common;

use proptest::prelude::*;
use strata_models::{build_project_definition, ModelOptions, SourceFile};

const SEEDS: &[&str] = &[
    "class: Company\ntable: company\nfields:\n  name: String, unique\n  employees: List<Employee>?, relation(name=ce)\nindexes:\n  company_name_idx:\n    fields: name\n",
    "class: Employee\ntable: employee\nfields:\n  company: Company?, relation(name=ce, onDelete=Cascade)\n  tags: Map<String, List<int?>>?\n  emb: Vector(3)\nindexes:\n  emb_idx:\n    fields: emb\n    type: hnsw\n    parameters:\n      m: 16\n      ef_construction: 64\n",
    "enum: Color\nserialized: byIndex\nvalues:\n  - red\n  - green\n",
    "class: Base\nfields:\n  created: DateTime, default=2024-01-01T00:00:00Z\n  d: Duration, default=1d 2h\n  r: (int, {String name})?\n",
    "class: Child\nextends: Base\ntable: child\nfields:\n  id: UuidValue, defaultModel=random_v7\n  x:\n    type: String\n    default: 'it''s'\n",
];

fn run(texts: &[String]) {
    let files: Vec<SourceFile> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| SourceFile { path: format!("f{i}.spy.yaml").into(), text: t.clone() })
        .collect();
    let mut options = ModelOptions::new("fuzz");
    options.jsonb_by_default = texts.len().is_multiple_of(2);
    match build_project_definition(&files, &options) {
        Ok(def) => {
            // Whatever builds must have sorted tables.
            assert!(def.tables.windows(2).all(|w| w[0].name <= w[1].name));
        }
        Err(e) => {
            assert!(!e.0.is_empty());
            for d in &e.0 {
                assert!(d.line >= 1 && d.column >= 1, "{d}");
                assert!(!d.message.is_empty());
            }
        }
    }
}

fn structural_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("class: ".to_string()),
            Just("table: ".to_string()),
            Just("fields:\n".to_string()),
            Just("indexes:\n".to_string()),
            Just("  ".to_string()),
            Just("\n".to_string()),
            Just(", relation(".to_string()),
            Just("List<".to_string()),
            Just("?".to_string()),
            Just("&a ".to_string()),
            Just("*a".to_string()),
            Just("'".to_string()),
            Just("\"".to_string()),
            Just("- ".to_string()),
            "[a-zA-Z0-9_:,=(){}<>\\[\\]!?'\" \n-]{0,12}",
            any::<char>().prop_map(|c| c.to_string()),
        ],
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

fn edited_seed() -> impl Strategy<Value = String> {
    (0..SEEDS.len(), prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8))
        .prop_map(|(i, edits)| {
            let mut chars: Vec<char> = SEEDS[i].chars().collect();
            for (pos, byte, op) in edits {
                let at = pos.index(chars.len() + 1);
                let c = [':', ',', '(', ')', '<', '>', ' ', '\n', '-', '\'', '?', '=', 'a', 'Z', '9']
                    [byte as usize % 15];
                match op {
                    0 => chars.insert(at, c),
                    1 if at < chars.len() => {
                        chars.remove(at);
                    }
                    _ if at < chars.len() => chars[at] = c,
                    _ => {}
                }
            }
            chars.into_iter().collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(texts in prop::collection::vec(structural_text(), 1..4)) {
        run(&texts);
    }

    #[test]
    fn edited_models_never_panic(texts in prop::collection::vec(edited_seed(), 1..5)) {
        let mut all: Vec<String> = SEEDS.iter().map(|s| s.to_string()).collect();
        all.extend(texts);
        run(&all);
    }
}

#[test]
fn seeds_build_cleanly() {
    let files: Vec<SourceFile> = SEEDS
        .iter()
        .enumerate()
        .map(|(i, t)| SourceFile { path: format!("s{i}.spy.yaml").into(), text: t.to_string() })
        .collect();
    let def = build_project_definition(&files, &ModelOptions::new("fuzz")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        def.tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["child", "company", "employee"]
    );
}
