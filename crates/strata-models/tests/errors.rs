//! Every error class: located at file:line:column, saying what is wrong and how to fix it, and
//! all of them collected in one run.

mod common;

use std::path::PathBuf;

use common::*;
use strata_models::{Diagnostic, Diagnostics};

#[test]
fn unknown_type_lists_known_types() {
    let d = err_one("class: A\ntable: a\nfields:\n  name: Strin\n  other: List<Strng>?\n");
    assert_err(
        &d,
        4,
        9,
        "unknown type \"Strin\"; known types are String, bool, int, double, DateTime, ByteData",
    );
    assert_err(&d, 4, 9, "(field \"name\")");
    assert_err(&d, 5, 10, "unknown type \"Strng\"");
    assert_eq!(d.len(), 2);
}

#[test]
fn malformed_types() {
    let d = err_one("class: A\ntable: a\nfields:\n  a: List<int\n  b: Vector\n  c: Map<String>\n  d: int<String>\n  e: Vector(0)\n  f: String(3)\n");
    assert_err(&d, 4, 6, "field \"a\": malformed type \"List<int\"");
    assert_err(&d, 5, 6, "type \"Vector\" needs a dimension, e.g. Vector(512)");
    assert_err(&d, 6, 6, "type \"Map\" needs 2 type argument(s)");
    assert_err(&d, 7, 6, "type \"int\" takes no type arguments");
    assert_err(&d, 8, 6, "the dimension of \"Vector\" must be at least 1");
    assert_err(&d, 9, 6, "type \"String\" takes no dimension");
}

#[test]
fn duplicate_tables_classes_and_columns_name_the_first_definition() {
    let d = errs(&[
        ("lib/a.spy.yaml", "class: A\ntable: shared\nfields:\n  x: int\n"),
        ("lib/b.spy.yaml", "class: B\ntable: shared\nfields:\n  x: int\n"),
        ("lib/c.spy.yaml", "class: A\nfields:\n  x: int\n"),
        (
            "lib/d.spy.yaml",
            "class: D\ntable: d\nfields:\n  userName: String\n  other: String, column=userName\n",
        ),
    ]);
    let at = |p: &str| {
        d.iter().filter(|x| x.path.as_path() == std::path::Path::new(p)).cloned().collect::<Vec<_>>()
    };
    assert_err(
        &at("lib/b.spy.yaml"),
        2,
        8,
        "duplicate table name \"shared\"; first defined at lib/a.spy.yaml:2:8",
    );
    assert_err(
        &at("lib/c.spy.yaml"),
        1,
        8,
        "duplicate model name \"A\"; first defined at lib/a.spy.yaml:1:8",
    );
    assert_err(
        &at("lib/d.spy.yaml"),
        5,
        3,
        "column \"userName\" is already used by the field at lib/d.spy.yaml:4:3",
    );
}

#[test]
fn identifiers_and_lengths() {
    let long_table = "t".repeat(57);
    let long_field = format!("f{}", "x".repeat(61));
    let yaml = format!(
        "class: A\ntable: {long_table}\nfields:\n  {long_field}: int\n  Bad: int\n  ok: int, column=Bad-Col\n"
    );
    let d = err_one(&yaml);
    assert_err(&d, 2, 8, "table name \"ttttt");
    assert_err(&d, 2, 8, "is 57 characters long; the limit is 56");
    assert_err(&d, 4, 3, "is 62 characters long; the limit is 61");
    assert_err(&d, 5, 3, "invalid field name \"Bad\"; use lowerCamelCase");
    assert_err(&d, 6, 12, "invalid column name \"Bad-Col\"");
    let d = err_one("class: lowercase\ntable: Upper\n");
    assert_err(&d, 1, 8, "\"lowercase\" is not a valid class name; use PascalCase");
}

#[test]
fn removed_keys_say_what_to_use_instead() {
    let d =
        err_one("class: A\ntable: a\nfields:\n  a: int, parent=a\n  b: String, database\n  c: String, api\n");
    assert_err(&d, 4, 11, "\"parent\" on field \"a\" was removed; write relation(parent=<table>) instead");
    assert_err(&d, 5, 14, "\"database\" on field \"b\" was removed; use scope=serverOnly instead");
    assert_err(&d, 6, 14, "\"api\" on field \"c\" was removed; use !persist instead");
}

#[test]
fn unknown_keys_and_bad_values() {
    let d = err_one("class: A\ntable: a\ncolour: red\ndatabase: cloud\nmanagedMigration: maybe\nfields:\n  a: int, shiny\n  b: int, scope=public\n  c: int, unique=yes\n  d: int,, tail\n  e: int, default=1, default=2\n");
    assert_err(
        &d,
        3,
        1,
        "unknown key \"colour\" in class \"A\"; valid keys are class, table, managedMigration",
    );
    assert_err(&d, 4, 11, "\"database\" must be server, client or all");
    assert_err(&d, 5, 19, "\"managedMigration\" must be true or false");
    assert_err(&d, 7, 11, "unknown key \"shiny\" on field \"a\"; valid keys are type, relation, scope");
    assert_err(&d, 8, 11, "scope of field \"b\" must be all, serverOnly or none");
    assert_err(&d, 9, 11, "write unique or unique(per=<field>) on field \"c\"");
    assert_err(&d, 10, 10, "empty item in the definition of field \"d\"");
    assert_err(&d, 11, 22, "\"default\" is given twice for field \"e\" (first at line 11, column 11)");
}

#[test]
fn model_kind_errors() {
    let d = errs(&[
        ("none.spy.yaml", "fields:\n  a: int\n"),
        ("two.spy.yaml", "class: A\nenum: B\nvalues:\n  - x\n"),
        ("exc.spy.yaml", "exception: E\ntable: e\n"),
        ("enum.spy.yaml", "enum: En\ntable: en\n"),
        ("empty.spy.yaml", ""),
        ("list.spy.yaml", "- a\n- b\n"),
        ("multi.spy.yaml", "class: M\n---\nclass: N\n"),
        ("nofields.spy.yaml", "class: F\ntable: f\nfields: [a, b]\n"),
    ]);
    let at = |p: &str| {
        d.iter().filter(|x| x.path.as_path() == std::path::Path::new(p)).cloned().collect::<Vec<_>>()
    };
    assert_err(&at("none.spy.yaml"), 1, 1, "needs exactly one of the keys class, exception or enum");
    assert_err(&at("two.spy.yaml"), 2, 1, "\"enum\" conflicts with another kind key");
    assert_err(&at("exc.spy.yaml"), 2, 1, "only a class can have a table");
    assert_err(&at("enum.spy.yaml"), 2, 1, "only a class can have a table");
    assert_err(&at("enum.spy.yaml"), 1, 7, "enum \"En\" needs a \"values\" list");
    assert_err(&at("empty.spy.yaml"), 1, 1, "the model file is empty");
    assert_err(&at("list.spy.yaml"), 1, 1, "must be a map with a class, exception or enum key, found a list");
    assert_err(&at("multi.spy.yaml"), 3, 1, "exactly one YAML document");
    assert_err(
        &at("nofields.spy.yaml"),
        3,
        9,
        "\"fields\" must be a map of field names to types, found a list",
    );
}

#[test]
fn malformed_yaml_is_located() {
    let d = err_one("class: A\ntable: a\nfields:\n  name: String\n   bad: [\n");
    assert_eq!(d.len(), 1);
    assert!(d[0].message.starts_with("invalid YAML: "), "{}", d[0].message);
    assert!(d[0].line >= 4, "{:?}", d[0]);
    let d = err_one("class: A\nclass: B\n");
    assert_err(&d, 2, 1, "duplicate key \"class\" (first defined at line 1, column 1)");
    let d = err_one("class: A\ntable: a\nfields:\n  x: int\n  x: String\n");
    assert_err(&d, 5, 3, "duplicate key \"x\" (first defined at line 4, column 3)");
}

#[test]
fn all_errors_from_all_files_in_one_run_and_display() {
    let result = build(&[
        ("lib/a.spy.yaml", "class: A\ntable: a\nfields:\n  x: Strin\n"),
        ("lib/b.spy.yaml", "class: B\ntable: b\nfields:\n  y: int, relation(parent=zzz)\n"),
        ("lib/c.spy.yaml", "class: [\n"),
    ]);
    let Err(e) = result else { panic!("expected errors") };
    assert_eq!(e.0.len(), 3, "{e}");
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("lib/a.spy.yaml:4:6: unknown type \"Strin\""), "{text}");
    assert!(lines[1].starts_with("lib/b.spy.yaml:4:20: relation parent table \"zzz\""), "{text}");
    assert!(lines[2].starts_with("lib/c.spy.yaml:"), "{text}");
}

#[test]
fn diagnostic_display_format() {
    let d = Diagnostic { path: PathBuf::from("lib/x.spy.yaml"), line: 3, column: 7, message: "boom".into() };
    assert_eq!(d.to_string(), "lib/x.spy.yaml:3:7: boom");
    let all = Diagnostics(vec![d.clone(), Diagnostic { line: 4, ..d }]);
    assert_eq!(all.to_string(), "lib/x.spy.yaml:3:7: boom\nlib/x.spy.yaml:4:7: boom");
}

#[test]
fn quoted_field_strings_locate_items_inside_the_quotes() {
    let d = err_one("class: A\ntable: a\nfields:\n  a: 'int, shiny'\n");
    assert_err(&d, 4, 12, "unknown key \"shiny\"");
}

#[test]
fn mutually_exclusive_field_keys() {
    let d = errs(&[
        ("c.spy.yaml", "class: C\ntable: c\nfields:\n  name: String\n"),
        (
            "a.spy.yaml",
            "class: A\ntable: a\nfields:\n  cId: int, relation(parent=c), default=1\n  note: String, !persist, defaultPersist='x'\n  other: int, relation(parent=c), !persist\n  ok: String, !persist, defaultModel='x'\n",
        ),
    ]);
    assert_err(&d, 4, 33, "default cannot be combined with relation on field \"cId\"");
    assert_err(&d, 5, 27, "defaultPersist cannot be used on field \"note\", which is not persisted (!persist); use defaultModel instead");
    assert_err(&d, 6, 35, "a relation field is always persisted; remove !persist from field \"other\"");
    assert_eq!(d.len(), 3, "{}", Diagnostics(d.clone()));
}
