//! Crash-safe writes: complete results or nothing, never a half-written file or directory.

use std::fs;
use std::path::Path;

use strata_project::{registry_text, write_file_atomic, write_version, MigrationsDir, ProjectError};

fn files() -> Vec<(String, Vec<u8>)> {
    ["definition_project.json", "definition.json", "definition.sql", "migration.json", "migration.sql"]
        .iter()
        .map(|n| (n.to_string(), format!("contents of {n}").into_bytes()))
        .collect()
}

/// Every entry of `dir`, recursively, as sorted relative paths.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if p.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn write_file_atomic_creates_and_replaces_without_leftovers() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f.txt");
    write_file_atomic(&path, b"one").unwrap();
    write_file_atomic(&path, b"two").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"two");
    assert_eq!(tree(tmp.path()), ["f.txt"]);
}

#[test]
fn write_file_atomic_failure_leaves_target_and_no_temp() {
    let tmp = tempfile::tempdir().unwrap();
    // The target is a non-empty directory: the final rename must fail.
    let path = tmp.path().join("target");
    fs::create_dir_all(path.join("inside")).unwrap();
    let err = write_file_atomic(&path, b"data").unwrap_err();
    assert!(err.to_string().contains("target"), "{err}");
    assert_eq!(tree(tmp.path()), ["target", "target/inside"]);
    // A missing parent directory is an error too, naming the path.
    assert!(write_file_atomic(&tmp.path().join("nope/f.txt"), b"x").is_err());
}

#[test]
fn write_version_writes_all_files_and_the_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = MigrationsDir::new(tmp.path().join("migrations"));
    fs::create_dir_all(dir.path.join("20240101000000000")).unwrap();
    fs::write(dir.path.join("20240101000000000/definition.json"), "{}").unwrap();
    let path = write_version(&dir, "20240201000000000-tag", &files()).unwrap();
    assert_eq!(path, dir.path.join("20240201000000000-tag"));
    for (name, bytes) in files() {
        assert_eq!(fs::read(path.join(&name)).unwrap(), bytes, "{name}");
    }
    assert_eq!(
        fs::read_to_string(dir.registry_path()).unwrap(),
        registry_text(&["20240101000000000".into(), "20240201000000000-tag".into()])
    );
    // No temporaries left anywhere.
    assert!(tree(&dir.path).iter().all(|p| !p.contains(".strata-tmp")), "{:?}", tree(&dir.path));
}

#[test]
fn write_version_creates_the_migrations_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = MigrationsDir::new(tmp.path().join("migrations"));
    write_version(&dir, "20240101000000000", &files()).unwrap();
    assert_eq!(dir.versions().unwrap(), ["20240101000000000"]);
}

#[test]
fn existing_version_directory_is_refused_with_serverpods_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = MigrationsDir::new(tmp.path());
    fs::create_dir_all(tmp.path().join("20240101000000000")).unwrap();
    let err = write_version(&dir, "20240101000000000", &files()).unwrap_err();
    assert!(matches!(err, ProjectError::VersionExists { .. }));
    assert!(err
        .to_string()
        .starts_with("Unable to create migration. A directory with the same name already exists: \""));
    assert_eq!(tree(tmp.path()), ["20240101000000000"]);
}

#[test]
fn failure_while_staging_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = MigrationsDir::new(tmp.path().join("migrations"));
    let mut bad = files();
    // The operating system refuses a NUL byte in a file name: the third file fails after two
    // files were already written into the staging directory.
    bad[2].0 = "definition.sql\0".to_string();
    assert!(write_version(&dir, "20240101000000000", &bad).is_err());
    assert!(
        !dir.path.exists(),
        "the migrations directory it created is removed again: {:?}",
        tree(tmp.path())
    );

    fs::create_dir_all(&dir.path).unwrap();
    fs::write(dir.registry_path(), "old registry").unwrap();
    assert!(write_version(&dir, "20240101000000000", &bad).is_err());
    assert_eq!(tree(&dir.path), ["migration_registry.txt"]);
    assert_eq!(fs::read_to_string(dir.registry_path()).unwrap(), "old registry");
}

#[test]
fn failure_writing_the_registry_removes_the_new_version() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = MigrationsDir::new(tmp.path());
    fs::create_dir_all(tmp.path().join("20240101000000000")).unwrap();
    // A non-empty directory where the registry should go: renaming the new registry over it
    // fails after the version directory is already in place.
    fs::create_dir_all(dir.registry_path().join("blocker")).unwrap();
    let err = write_version(&dir, "20240201000000000", &files()).unwrap_err();
    assert!(err.to_string().contains("migration_registry.txt"), "{err}");
    assert_eq!(
        tree(tmp.path()),
        ["20240101000000000", "migration_registry.txt", "migration_registry.txt/blocker"]
    );
}

#[test]
fn artifact_names_must_be_plain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = MigrationsDir::new(tmp.path());
    for name in ["../escape", "a/b", ".hidden", ""] {
        let files = vec![(name.to_string(), b"x".to_vec())];
        let err = write_version(&dir, "20240101000000000", &files).unwrap_err();
        assert!(matches!(err, ProjectError::InvalidArtifactName { .. }), "{name}: {err:?}");
    }
    let err = write_version(&dir, "../20240101000000000", &files()).unwrap_err();
    assert!(matches!(err, ProjectError::InvalidArtifactName { .. }));
    assert!(tree(tmp.path()).is_empty());
}
