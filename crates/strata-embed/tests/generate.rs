//! The generated embedding: which directories become versions, what each embeds, and the
//! errors a build script reports.

use std::path::Path;

use strata_embed::{generate, version_dirs, EmbedError};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A migrations/ directory with every case the listing rule distinguishes.
fn tricky_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "20240102000000000/migration.sql", "BEGIN;\nCOMMIT;\n");
    write(d.path(), "20240101000000000-first/definition.sql", "BEGIN;\nCOMMIT;\n");
    write(d.path(), "20240101000000000-first/migration.sql", "BEGIN;\nCOMMIT;\n");
    write(d.path(), ".hidden/migration.sql", "x");
    write(d.path(), "migration_registry.txt", "x");
    std::fs::create_dir(d.path().join("20240103000000000-discarded")).unwrap();
    d
}

#[test]
fn lists_versions_exactly_as_the_runner_reads_them() {
    let d = tricky_dir();
    let runner: Vec<String> =
        strata_db::disk::read_migrations(d.path()).unwrap().into_iter().map(|m| m.version).collect();
    assert_eq!(version_dirs(d.path()).unwrap(), runner);
    assert_eq!(runner, ["20240101000000000-first", "20240102000000000"]);
}

#[test]
fn embeds_each_file_by_absolute_path_and_missing_files_as_none() {
    let d = tricky_dir();
    let code = generate(d.path()).unwrap();
    let first = d.path().join("20240101000000000-first");
    assert!(
        code.contains(&format!("include_str!({:?})", first.join("definition.sql").to_str().unwrap())),
        "{code}"
    );
    let second_line = code.lines().find(|l| l.contains("\"20240102000000000\"")).unwrap();
    assert!(second_line.contains("definition_sql: None"), "{second_line}");
    assert!(second_line.contains("migration_sql: Some(include_str!("), "{second_line}");
    assert!(!code.contains("hidden") && !code.contains("discarded"), "{code}");
    assert!(code.starts_with("&[\n") && code.ends_with(']'));
    assert_eq!(generate(d.path()).unwrap(), code, "same directory, same text");
}

#[test]
fn an_empty_directory_embeds_no_versions() {
    let d = tempfile::tempdir().unwrap();
    assert_eq!(generate(d.path()).unwrap(), "&[\n]");
}

#[test]
fn a_missing_directory_names_it_and_says_what_to_do() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("migrations");
    let err = generate(&missing).unwrap_err();
    assert!(matches!(err, EmbedError::MissingDir(_)));
    let message = err.to_string();
    assert!(
        message.contains(missing.to_str().unwrap()) && message.contains("strata create-migration"),
        "{message}"
    );
}

#[test]
fn outside_a_build_script_it_says_so() {
    // Test binaries run without OUT_DIR.
    assert!(std::env::var_os("OUT_DIR").is_none());
    let err = strata_embed::embed_migrations("migrations").unwrap_err();
    assert!(err.to_string().contains("build script"), "{err}");
}
