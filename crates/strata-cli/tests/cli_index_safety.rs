//! A crafted index element in `definition.json` (`"x); CREATE TABLE pwned (a int); --"`) used
//! to reach the database verbatim through `create-repair-migration` + `apply --repair`. Every
//! command that reads a definition now refuses it, naming the file, the JSON path, the table,
//! the index and the element, and writes nothing.

mod common;

use common::*;
use strata_testdb::PgScratch;

const CRAFTED: &str = "x); CREATE TABLE pwned (a int); --";

/// Turns the first element of `company_name_idx` in V1's definition.json into `CRAFTED`.
fn craft(p: &Project) {
    let path = p.definition_path(V1);
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let tables = json["tables"].as_array_mut().unwrap();
    let company = tables.iter_mut().find(|t| t["name"] == "company").unwrap();
    let index =
        company["indexes"].as_array_mut().unwrap().iter_mut().find(|i| i["indexName"] == "company_name_idx");
    let element = &mut index.unwrap()["elements"][0];
    element["type"] = 1.into();
    element["definition"] = CRAFTED.into();
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
}

#[track_caller]
fn assert_refused_naming_everything(run: &Run, file: &str) {
    run.code(1);
    assert_eq!(run.stdout, "", "nothing on stdout for a refused definition");
    for needle in [
        file,
        "elements[0].definition",
        "index \"company_name_idx\" on table \"company\"",
        "element 0",
        CRAFTED,
        "not one SQL expression",
    ] {
        run.stderr_says(needle);
    }
}

#[test]
fn create_migration_refuses_a_crafted_element_and_writes_nothing() {
    let p = Project::store();
    craft(&p);
    let before = p.files();
    let run = p.run(&["create-migration", "--force"]);
    assert_refused_naming_everything(&run, &format!("{V1}/definition.json"));
    assert_eq!(p.files(), before, "no version directory and no registry change");
}

#[test]
fn diff_refuses_a_crafted_element_from_a_version_and_from_a_path() {
    let p = Project::store();
    craft(&p);
    let before = p.files();
    for (from, to) in [("latest", "models"), (V1, "empty"), ("empty", "latest")] {
        assert_refused_naming_everything(&p.run(&["diff", "--from", from, "--to", to]), "definition.json");
    }
    let path = p.definition_path(V1).display().to_string();
    for format in ["sql", "json"] {
        let run = p.run(&["diff", "--from", "empty", "--to", &path, "--format", format]);
        assert_refused_naming_everything(&run, &path);
    }
    assert_eq!(p.files(), before);
}

#[test]
fn create_repair_migration_refuses_a_crafted_element_and_writes_nothing() {
    let db = PgScratch::new("strata_cli_crafted");
    let p = Project::store();
    p.run(&["apply", "--database-url", &db.url]).code(0);
    craft(&p);
    let before = p.files();
    let run = p.run(&["create-repair-migration", "--database-url", &db.url, "--force"]);
    run.code(1);
    for needle in [&format!("{V1}/definition.json"), "company_name_idx", "element 0", CRAFTED] {
        run.stderr_says(needle);
    }
    assert_eq!(p.files(), before, "no repair-migration file");
}
