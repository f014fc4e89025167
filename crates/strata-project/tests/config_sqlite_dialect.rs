//! The dialect of a Serverpod server package comes from its run-mode configs, as in Serverpod:
//! `database: filePath:` is SQLite (Serverpod's SQLite dialect), and all modes must agree.

use std::fs;

use strata_project::{ProjectConfig, ProjectError};

fn package(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("pubspec.yaml"), "name: shop_server\n").unwrap();
    fs::create_dir_all(dir.path().join("config")).unwrap();
    for (name, text) in files {
        fs::write(dir.path().join("config").join(name), text).unwrap();
    }
    dir
}

#[test]
fn file_path_selects_sqlite_and_its_file() {
    let dir = package(&[
        ("development.yaml", "database:\n  filePath: shop_dev.db\n"),
        ("production.yaml", "database:\n  filePath: /var/shop.db\n"),
        ("passwords.yaml", "shared:\n  database: secret\n"),
    ]);
    let config = ProjectConfig::load(dir.path()).unwrap();
    assert_eq!(config.dialect, "sqlite");
    assert_eq!(config.sqlite_path, dir.path().join("shop_dev.db"));
}

#[test]
fn host_and_no_database_section_stay_postgres() {
    let dir = package(&[("development.yaml", "database:\n  host: localhost\n  port: 8090\n")]);
    assert_eq!(ProjectConfig::load(dir.path()).unwrap().dialect, "postgres");
    let dir = package(&[("development.yaml", "apiServer:\n  port: 8080\n")]);
    assert_eq!(ProjectConfig::load(dir.path()).unwrap().dialect, "postgres");
}

#[test]
fn modes_that_disagree_are_an_error_naming_both_files() {
    let dir = package(&[
        ("development.yaml", "database:\n  filePath: shop.db\n"),
        ("production.yaml", "database:\n  host: db.internal\n"),
    ]);
    let err = ProjectConfig::load(dir.path()).unwrap_err();
    assert!(matches!(err, ProjectError::Config { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("production.yaml") && message.contains("development.yaml"), "{message}");
    assert!(message.contains("set `dialect` in strata.toml"), "{message}");
}

#[test]
fn strata_toml_dialect_wins() {
    let dir = package(&[("development.yaml", "database:\n  filePath: shop.db\n")]);
    fs::write(dir.path().join("strata.toml"), "dialect = \"postgres\"\n").unwrap();
    assert_eq!(ProjectConfig::load(dir.path()).unwrap().dialect, "postgres");
}
