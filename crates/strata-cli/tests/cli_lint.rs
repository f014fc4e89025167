//! `strata lint` end to end: version selection, the three output formats, exit codes (0 clean,
//! 2 findings, 1 error, each error path), suppressions in a hand-edited file, and
//! `create-migration` showing the same codes. No database is needed: lint reads files only.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{Project, Run, BIN};

const V2: &str = "20260103000000001";
const V3: &str = "20260104000000001";

/// The `store` project on SQLite with a second version that drops `employee.email` (forced).
fn store_with_dropped_column() -> Project {
    let p = Project::store_on(true);
    let model = p.dir.join("lib/src/models/employee.spy.yaml");
    let text = fs::read_to_string(&model).unwrap();
    fs::write(
        &model,
        text.replace("  email: String?\n", "").replace("  employee_email_idx:\n    fields: email\n", ""),
    )
    .unwrap();
    p.run_at(V2, &["create-migration", "--force"]).code(0);
    p
}

fn migration_sql(p: &Project, version: &str) -> std::path::PathBuf {
    p.dir.join("migrations").join(version).join("migration.sql")
}

#[test]
fn the_repository_example_project_lints_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(BIN).arg("-C").arg(&root).args(["lint", "--all"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "no findings means nothing on stdout");
    assert!(stderr.contains("2 migration files: no findings"), "{stderr}");
}

#[test]
fn a_dropped_column_is_reported_in_text_with_file_line_and_code_and_exits_2() {
    let p = store_with_dropped_column();
    let run = p.run(&["lint"]);
    run.code(2);
    let file = format!("migrations/{V2}/migration.sql:");
    assert!(run.stdout.lines().all(|l| l.starts_with(&file)), "{}", run.stdout);
    assert!(run.stdout.contains(" warning DS102 "), "{}", run.stdout);
    assert!(run.stdout.contains(" warning BC102 "), "the previous version's model reads it: {}", run.stdout);
    assert!(run.stdout.contains("\"email\""), "{}", run.stdout);
    run.stderr_says("1 migration file").stderr_says("docs/lint.md");
    // Same input, same bytes.
    assert_eq!(p.run(&["lint"]).stdout, run.stdout);
}

#[test]
fn json_and_github_formats_carry_the_same_findings() {
    let p = store_with_dropped_column();
    let text = p.run(&["lint"]);
    let json = p.run(&["lint", "--format", "json"]);
    json.code(2);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("stdout is one JSON document");
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), text.stdout.lines().count());
    let ds102 = findings.iter().find(|f| f["code"] == "DS102").expect("DS102 in JSON");
    assert_eq!(ds102["family"], "destructive");
    assert_eq!(ds102["severity"], "warning");
    assert_eq!(ds102["version"], V2);
    assert_eq!(ds102["table"], "employee");
    assert!(ds102["line"].as_u64().unwrap() > 0);

    let github = p.run(&["lint", "--format", "github"]);
    github.code(2);
    assert_eq!(github.stdout.lines().count(), findings.len());
    let line = github.stdout.lines().find(|l| l.contains("title=DS102")).expect("DS102 annotation");
    assert!(line.starts_with(&format!("::warning file=migrations/{V2}/migration.sql,line=")), "{line}");
}

#[test]
fn all_since_and_explicit_versions_select_what_they_say() {
    let p = store_with_dropped_column();
    fs::create_dir_all(p.dir.join("migrations").join(V3)).unwrap();
    fs::write(migration_sql(&p, V3), "BEGIN;\nALTER TABLE \"company\" ADD COLUMN \"memo\" TEXT;\nCOMMIT;\n")
        .unwrap();
    let all = p.run(&["lint", "--all"]);
    all.code(2).stderr_says("3 migration files");
    let since = p.run(&["lint", "--since", V2]);
    since.code(0).stderr_says("1 migration file: no findings");
    let first = p.run(&["lint", common::V1]);
    first.code(0).stderr_says("1 migration file: no findings");
    let both = p.run(&["lint", V3, V2]);
    both.code(2).stderr_says("2 migration files");
    assert_eq!(both.stdout, all.stdout, "V1 and V3 add nothing: the findings are V2's");
}

#[test]
fn a_suppression_in_a_hand_edited_file_silences_its_finding() {
    let p = store_with_dropped_column();
    let path = migration_sql(&p, V2);
    let sql = fs::read_to_string(&path).unwrap();
    let rebuilt = sql.replacen(
        "ALTER TABLE \"employee\" DROP COLUMN \"email\";",
        "-- strata:ignore DS102,BC102 email moved to the contact table last release\n\
         ALTER TABLE \"employee\" DROP COLUMN \"email\";",
        1,
    );
    assert_ne!(rebuilt, sql, "the drop statement is in the file:\n{sql}");
    fs::write(&path, rebuilt).unwrap();
    let run = p.run(&["lint"]);
    run.code(0).stderr_says("no findings (2 suppressed)");
    let json = p.run(&["lint", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["suppressed"][0]["reason"], "email moved to the contact table last release");

    // Without a reason the suppression silences nothing and is an error of its own.
    let sql = fs::read_to_string(&path).unwrap();
    fs::write(&path, sql.replace(" email moved to the contact table last release", "")).unwrap();
    let run = p.run(&["lint"]);
    run.code(2);
    assert!(run.stdout.contains(" error LN002 "), "{}", run.stdout);
    assert!(run.stdout.contains(" warning DS102 "), "{}", run.stdout);
}

#[test]
fn create_migration_prints_the_lint_codes_of_what_it_blocks_on() {
    let p = Project::store_on(true);
    let model = p.dir.join("lib/src/models/company.spy.yaml");
    let text = fs::read_to_string(&model).unwrap();
    fs::write(&model, text.replace("  foundedAt: DateTime?\n", "")).unwrap();
    let blocked = p.run_at(V2, &["create-migration"]);
    blocked.code(3).says("Migration aborted due to warnings");
    blocked.stderr_says(&format!("Lint findings of migrations/{V2}/migration.sql (not written)"));
    blocked.stderr_says(" warning DS102 ");
    assert!(!p.dir.join("migrations").join(V2).exists(), "blocked writes nothing");

    let forced = p.run_at(V2, &["create-migration", "--force"]);
    forced
        .code(0)
        .stderr_says(&format!("Lint findings of migrations/{V2}/migration.sql ("))
        .stderr_says(" DS102 ");
    let lint = p.run(&["lint"]);
    lint.code(2);
    for line in lint.stdout.lines() {
        assert!(
            forced.stderr.contains(line),
            "lint and create-migration show the same findings: {line}\n{}",
            forced.stderr
        );
    }
}

#[test]
fn a_migration_without_warnings_prints_no_lint_section() {
    let p = Project::store_on(true);
    p.add_store_field("company", "memo: String?", V2);
    let run = p.run_at(V3, &["create-migration", "--empty"]);
    run.code(0);
    assert!(!run.stderr.contains("Lint findings"), "{}", run.stderr);
    p.run(&["lint", "--all"]).code(0);
}

fn error(run: &Run, text: &str) {
    run.code(1);
    assert!(run.stderr.contains(text), "expected {text:?} on stderr:\n{}", run.stderr);
    assert_eq!(run.stdout, "", "an error prints no findings");
}

#[test]
fn an_unknown_version_is_an_error_naming_it() {
    let p = Project::store_on(true);
    error(&p.run(&["lint", "20990101000000000-nope"]), "there is no version \"20990101000000000-nope\"");
    error(&p.run(&["lint", "--since", "nope"]), "there is no version \"nope\"");
}

#[test]
fn conflicting_selections_are_a_usage_error() {
    let p = Project::store_on(true);
    p.run(&["lint", "--all", common::V1]).code(1);
    p.run(&["lint", "--all", "--since", common::V1]).code(1);
    p.run(&["lint", "--format", "xml"]).code(1);
}

#[test]
fn a_missing_migration_sql_is_an_error_naming_the_file() {
    let p = Project::store_on(true);
    fs::remove_file(migration_sql(&p, common::V1)).unwrap();
    error(&p.run(&["lint"]), &format!("migrations/{}/migration.sql", common::V1));
}

#[test]
fn an_unreadable_previous_definition_is_an_error_naming_it() {
    let p = store_with_dropped_column();
    fs::write(p.definition_path(common::V1), "{ not json").unwrap();
    let run = p.run(&["lint"]);
    error(&run, &format!("cannot read the definition of {}", common::V1));
    assert!(run.stderr.contains("definition.json"), "{}", run.stderr);
}

#[test]
fn an_unknown_dialect_is_an_error() {
    let p = Project::store_on(true);
    fs::write(p.dir.join("strata.toml"), "dialect = \"oracle\"\n").unwrap();
    let run = p.run(&["lint"]);
    run.code(1);
    assert!(run.stderr.contains("oracle"), "{}", run.stderr);
}

#[test]
fn no_versions_is_clean() {
    let p = Project::store_on(true);
    fs::remove_dir_all(p.dir.join("migrations")).unwrap();
    p.run(&["lint"]).code(0).stderr_says("no migration versions to lint");
}
