//! §1.4: every default form, end to end from YAML to the stored `columnDefault`.

mod common;

use common::*;

fn default_of(ty: &str, spec: &str) -> Option<String> {
    let yaml = format!("class: D\ntable: d\nfields:\n  f: {ty}{spec}\n  e: E\n");
    let def = ok(&[
        ("d.spy.yaml", &yaml),
        ("e.spy.yaml", "enum: E\nvalues:\n  - a\n  - b\n"),
        ("i.spy.yaml", "enum: I\nserialized: byIndex\nvalues:\n  - zero\n  - one\n"),
    ]);
    col(&def.tables[0], "f").column_default.clone()
}

#[test]
fn every_default_form_of_the_table() {
    let cases: &[(&str, &str, &str)] = &[
        ("int", ", default=10", "10"),
        ("int?", ", defaultPersist=serial", "serial"),
        ("double", ", default=10.5", "10.5"),
        ("bool", ", default=true", "true"),
        ("bool", ", default=false", "false"),
        ("String", ", default='abc'", "'abc'"),
        ("String", ", default=\"abc\"", "'abc'"),
        ("String", ", default='it\\'s'", "'it''s'"),
        ("String", ", default=\"it's, fine\"", "'it''s, fine'"),
        ("DateTime", ", default=now", "now"),
        ("DateTime", ", default=2024-05-24T22:00:00.000Z", "2024-05-24T22:00:00.000Z"),
        ("DateTime", ", default=2024-05-24T22:00:00Z", "2024-05-24T22:00:00.000Z"),
        ("Duration", ", default=1d 2h 10min 30s 100ms", "94230100"),
        ("UuidValue", ", default=random", "random"),
        ("UuidValue", ", default=random_v7", "random_v7"),
        (
            "UuidValue",
            ", default='550e8400-e29b-41d4-a716-446655440000'",
            "'550e8400-e29b-41d4-a716-446655440000'",
        ),
        ("Uri", ", default='https://x'", "'https://x'"),
        ("BigInt", ", default='123'", "'123'"),
        ("E", ", default=b", "'b'"),
        ("I", ", default=one", "1"),
        ("I", ", default=zero", "0"),
    ];
    for (ty, spec, expected) in cases {
        assert_eq!(default_of(ty, spec).as_deref(), Some(*expected), "{ty}{spec}");
    }
}

#[test]
fn persist_overrides_default_and_model_only_has_no_db_default() {
    assert_eq!(default_of("double", ", defaultModel=1.0, defaultPersist=2.5").as_deref(), Some("2.5"));
    assert_eq!(default_of("int", ", default=1, defaultPersist=2").as_deref(), Some("2"));
    assert_eq!(default_of("int", ", defaultModel=5"), None);
    assert_eq!(default_of("String", ", defaultModel='x'"), None);
}

#[test]
fn map_form_defaults() {
    let t = one(
        "class: D\ntable: d\nfields:\n  s:\n    type: String\n    default: 'a''b'\n  n:\n    type: double\n    defaultPersist: 1.0\n  t:\n    type: DateTime\n    default: now\n",
    );
    assert_eq!(col(&t, "s").column_default.as_deref(), Some("'a''b'"));
    assert_eq!(col(&t, "n").column_default.as_deref(), Some("1.0"));
    assert_eq!(col(&t, "t").column_default.as_deref(), Some("now"));
}

#[test]
fn serial_forces_not_null() {
    let t = one("class: D\ntable: d\nfields:\n  visits: int?, defaultPersist=serial\n  other: int?\n");
    let v = col(&t, "visits");
    assert!(!v.is_nullable);
    assert_eq!(v.column_default.as_deref(), Some("serial"));
    assert!(col(&t, "other").is_nullable);
}

#[test]
fn invalid_defaults_are_located_errors() {
    let d = err_one("class: D\ntable: d\nfields:\n  n: int, default=abc\n  s: String, default=abc\n  l: List<int>, default=x\n  m: int, defaultModel=serial\n");
    assert_err(&d, 4, 11, "invalid default \"abc\" for field \"n\": expected an integer");
    assert_err(&d, 5, 14, "invalid default \"abc\" for field \"s\": expected a quoted string");
    assert_err(&d, 6, 17, "default values are not supported for type List<int>");
    assert_err(&d, 7, 11, "use defaultPersist=serial");
    assert_eq!(d.len(), 4, "{d:?}");
}

#[test]
fn enum_default_must_be_a_value() {
    let d = errs(&[
        ("d.spy.yaml", "class: D\ntable: d\nfields:\n  e: E, default=c\n"),
        ("e.spy.yaml", "enum: E\nvalues:\n  - a\n  - b\n"),
    ]);
    assert_err(&d, 4, 9, "expected one of the enum's values: a, b");
}
