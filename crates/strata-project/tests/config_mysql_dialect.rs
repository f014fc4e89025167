//! `dialect = "mysql"` in strata.toml (and the aliases `strata_sql::dialect_by_name` knows)
//! selects the MySQL/MariaDB dialect; anything else is an error naming the file and position.

use std::fs;

use strata_project::{ProjectConfig, ProjectError};

fn project(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("pubspec.yaml"), "name: shop_server\n").unwrap();
    fs::write(dir.path().join("strata.toml"), toml).unwrap();
    dir
}

#[test]
fn mysql_and_its_aliases_are_stored_as_mysql() {
    for name in ["mysql", "MySQL", "mariadb", "mysql8"] {
        let dir = project(&format!("dialect = \"{name}\"\n"));
        assert_eq!(ProjectConfig::load(dir.path()).unwrap().dialect, "mysql", "{name}");
    }
}

#[test]
fn an_unknown_dialect_lists_mysql_among_the_choices() {
    let dir = project("module_name = \"shop\"\ndialect = \"oracle\"\n");
    match ProjectConfig::load(dir.path()) {
        Err(ProjectError::Config { line, column, message, .. }) => {
            assert_eq!((line, column), (2, 11));
            assert!(
                message.contains("\"oracle\"") && message.contains("postgres, sqlite, mysql"),
                "{message}"
            );
        }
        other => panic!("expected a config error, got {other:?}"),
    }
}
