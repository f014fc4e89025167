//! The migrations directory: listing, reading, pruning, and the registry.

use std::fs;
use std::path::Path;

use strata_project::{
    parse_registry, registry_text, MigrationsDir, ProjectError, RegistryIssue, SqlFile, REGISTRY_HEADER,
};
use strata_schema::{definition_to_json, migration_to_json, DatabaseDefinition, DatabaseMigration};

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn full_version(dir: &Path, v: &str) {
    let def = definition_to_json(&DatabaseDefinition::empty("demo"));
    for f in ["definition.json", "definition_project.json"] {
        write(&dir.join(v).join(f), &def);
    }
    write(&dir.join(v).join("migration.json"), &migration_to_json(&DatabaseMigration::new()));
    write(&dir.join(v).join("definition.sql"), "BEGIN;\nCOMMIT;\n");
    write(&dir.join(v).join("migration.sql"), "BEGIN;\n--m\nCOMMIT;\n");
}

#[test]
fn missing_directory_has_no_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = MigrationsDir::new(tmp.path().join("migrations"));
    assert!(dir.versions().unwrap().is_empty());
    assert_eq!(dir.latest().unwrap(), None);
    assert!(dir.prune_trailing_empty().unwrap().is_empty());
    assert!(dir.check_registry().unwrap().is_empty());
}

#[test]
fn versions_are_sorted_and_filtered() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for v in ["20240301000000000", "20240101000000000-b", "20240101000000000-a", "20240201000000000"] {
        fs::create_dir_all(root.join(v)).unwrap();
    }
    fs::create_dir_all(root.join(".strata-tmp-20250101000000000-1-0")).unwrap();
    fs::create_dir_all(root.join(".20250101000000000")).unwrap();
    fs::create_dir_all(root.join("notes")).unwrap();
    fs::create_dir_all(root.join("2024")).unwrap();
    write(&root.join("20250101000000000"), "a file, not a directory");
    write(&root.join("migration_registry.txt"), REGISTRY_HEADER);
    let dir = MigrationsDir::new(root);
    assert_eq!(
        dir.versions().unwrap(),
        ["20240101000000000-a", "20240101000000000-b", "20240201000000000", "20240301000000000"]
    );
    assert_eq!(dir.latest().unwrap().as_deref(), Some("20240301000000000"));
    // Listing is read-only: the empty directories are all still there.
    assert_eq!(dir.versions().unwrap().len(), 4);
}

#[test]
fn reads_every_artifact() {
    let tmp = tempfile::tempdir().unwrap();
    full_version(tmp.path(), "20240101000000000");
    let dir = MigrationsDir::new(tmp.path());
    assert_eq!(dir.read_definition("20240101000000000").unwrap().module_name, "demo");
    assert_eq!(dir.read_definition_project("20240101000000000").unwrap().module_name, "demo");
    assert!(dir.read_migration("20240101000000000").unwrap().actions.is_empty());
    assert_eq!(dir.read_sql("20240101000000000", SqlFile::Definition).unwrap(), "BEGIN;\nCOMMIT;\n");
    assert_eq!(dir.read_sql("20240101000000000", SqlFile::Migration).unwrap(), "BEGIN;\n--m\nCOMMIT;\n");
    assert_eq!(dir.version_path("x"), tmp.path().join("x"));
}

#[test]
fn reads_serverpod_files() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/json/definition_project_v2.json");
    let text = fs::read_to_string(fixture).unwrap();
    write(&tmp.path().join("20260711022602028/definition_project.json"), &text);
    let def = MigrationsDir::new(tmp.path()).read_definition_project("20260711022602028").unwrap();
    assert_eq!(def.module_name, "serverpod_test_shared_module");
    assert_eq!(def.tables[0].name, "shared_module_table");
}

#[test]
fn missing_artifact_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir_all(tmp.path().join("20240101000000000")).unwrap();
    write(&tmp.path().join("20240101000000000/gitkeep"), "");
    let dir = MigrationsDir::new(tmp.path());
    let err = dir.read_definition("20240101000000000").unwrap_err();
    assert!(matches!(err, ProjectError::MissingArtifact { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("Required migration artifact is missing"), "{msg}");
    assert!(msg.contains("20240101000000000") && msg.contains("definition.json"), "{msg}");
    assert!(matches!(
        dir.read_sql("20240101000000000", SqlFile::Migration),
        Err(ProjectError::MissingArtifact { .. })
    ));
}

#[test]
fn corrupt_json_reports_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("20240101000000000/definition.json"), "{\n  \"moduleName\": \"x\",\n  oops\n}");
    let dir = MigrationsDir::new(tmp.path());
    let msg = dir.read_definition("20240101000000000").unwrap_err().to_string();
    assert!(msg.contains("definition.json:3:"), "{msg}");
    assert!(msg.contains("invalid JSON"), "{msg}");

    write(&tmp.path().join("20240102000000000/migration.json"), "{\"actions\": 3}");
    let msg = dir.read_migration("20240102000000000").unwrap_err().to_string();
    assert!(msg.contains("migration.json: at $"), "{msg}");
}

#[test]
fn prunes_only_trailing_empty_directories_and_rewrites_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::create_dir_all(root.join("20240101000000000")).unwrap(); // empty but not trailing
    full_version(root, "20240201000000000");
    fs::create_dir_all(root.join("20240301000000000")).unwrap();
    fs::create_dir_all(root.join("20240401000000000-x")).unwrap();
    let dir = MigrationsDir::new(root);
    dir.write_registry(&dir.versions().unwrap()).unwrap();

    assert_eq!(dir.trailing_empty().unwrap(), ["20240301000000000", "20240401000000000-x"]);
    assert_eq!(dir.versions().unwrap().len(), 4, "trailing_empty is read-only");
    assert_eq!(dir.prune_trailing_empty().unwrap(), ["20240301000000000", "20240401000000000-x"]);
    assert_eq!(dir.versions().unwrap(), ["20240101000000000", "20240201000000000"]);
    assert!(root.join("20240101000000000").is_dir());
    let registry = fs::read_to_string(dir.registry_path()).unwrap();
    assert_eq!(registry, registry_text(&["20240101000000000".into(), "20240201000000000".into()]));
    assert!(dir.prune_trailing_empty().unwrap().is_empty());
}

#[test]
fn pruning_does_not_create_a_registry() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir_all(tmp.path().join("20240301000000000")).unwrap();
    let dir = MigrationsDir::new(tmp.path());
    assert_eq!(dir.prune_trailing_empty().unwrap(), ["20240301000000000"]);
    assert!(!dir.registry_path().exists());
}

#[test]
fn directory_with_only_a_gitkeep_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("20240301000000000/.gitkeep"), "");
    let dir = MigrationsDir::new(tmp.path());
    assert!(dir.prune_trailing_empty().unwrap().is_empty());
    assert_eq!(dir.versions().unwrap(), ["20240301000000000"]);
}

#[test]
fn registry_text_is_serverpods_format_sorted() {
    let text =
        registry_text(&["20240201000000000".into(), "20240101000000000".into(), "20240201000000000".into()]);
    let expected = "### AUTOMATICALLY GENERATED DO NOT MODIFY\n\
###\n\
### This file is generated by Serverpod when creating a migration, do not modify it\n\
### manually. If a collision is detected in this file when doing a code merge, resolve\n\
### the conflict by removing and recreating the conflicting migration.\n\
\n\
20240101000000000\n\
20240201000000000\n";
    assert_eq!(text, expected);
    assert_eq!(parse_registry(Path::new("r"), &text).unwrap(), ["20240101000000000", "20240201000000000"]);
}

#[test]
fn conflict_markers_name_both_sides() {
    let text = format!(
        "{REGISTRY_HEADER}\n20240115074235544\n<<<<<<< HEAD\n20240301120000000-add-orders\n=======\n\
         20240302093000000-add-invoices\n>>>>>>> feature/invoices\n"
    );
    let err = parse_registry(Path::new("migrations/migration_registry.txt"), &text).unwrap_err();
    match &err {
        ProjectError::RegistryConflict { base, ours, theirs, .. } => {
            assert_eq!(base.as_deref(), Some("20240115074235544"));
            assert_eq!(ours, &["20240301120000000-add-orders"]);
            assert_eq!(theirs, &["20240302093000000-add-invoices"]);
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    for needle in [
        "migrations/migration_registry.txt",
        "merge conflict",
        "20240115074235544",
        "20240301120000000-add-orders",
        "20240302093000000-add-invoices",
        "strata create-migration",
    ] {
        assert!(msg.contains(needle), "{needle} missing from {msg}");
    }
}

#[test]
fn diff3_conflict_base_section_is_ignored() {
    let text = "1\n<<<<<<< ours\n20240301000000000\n||||||| base\n20240101000000000\n=======\n20240302000000000\n>>>>>>> theirs\n";
    match parse_registry(Path::new("r"), text).unwrap_err() {
        ProjectError::RegistryConflict { ours, theirs, .. } => {
            assert_eq!(ours, ["20240301000000000"]);
            assert_eq!(theirs, ["20240302000000000"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn check_registry_reports_conflicts_and_mismatches() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for v in ["20240101000000000", "20240201000000000", "20240301000000000", "20240401000000000"] {
        full_version(root, v);
    }
    let dir = MigrationsDir::new(root);
    // 0201 was merged in without the registry noticing; 0401 is newer than everything listed
    // (not suspicious); 0501 was deleted to be re-created.
    write(
        &dir.registry_path(),
        &registry_text(&["20240101000000000".into(), "20240301000000000".into(), "20240501000000000".into()]),
    );
    let issues = dir.check_registry().unwrap();
    assert_eq!(
        issues,
        [
            RegistryIssue::Unlisted { version: "20240201000000000".into() },
            RegistryIssue::Missing { version: "20240501000000000".into() },
        ]
    );
    assert!(issues[0].to_string().contains("merged in from another branch"));

    dir.write_registry(&dir.versions().unwrap()).unwrap();
    assert!(dir.check_registry().unwrap().is_empty());

    write(&dir.registry_path(), "<<<<<<< HEAD\n20240401000000000\n=======\n20240402000000000\n>>>>>>> b\n");
    assert!(matches!(dir.check_registry(), Err(ProjectError::RegistryConflict { .. })));
}
