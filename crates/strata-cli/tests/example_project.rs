//! The example project at the repository root (`strata.toml`, `models/`, `migrations/`): its
//! checked-in migrations must be what strata generates from its models, and the README's first
//! command (apply + status on the embedded SQLite default) must work with no server.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("-C")
        .arg(repo_root())
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run strata")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn checked_in_migrations_match_the_models() {
    let out = strata(&["diff", "--from", "latest", "--to", "models"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the example project's models changed without a migration; run `strata create-migration` \
         at the repository root and commit it:\n{}",
        text(&out)
    );
    let out = strata(&["create-migration", "--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn every_checked_in_version_reproduces_from_its_predecessor() {
    // Replaying diff(previous definition.json, definition.json) must give the checked-in
    // migration.json byte for byte: the directory was written by this generator.
    let migrations = repo_root().join("migrations");
    let versions = common::version_dirs(&migrations);
    assert!(versions.len() >= 2, "the example should show an incremental upgrade");
    for pair in versions.windows(2) {
        let out = strata(&["diff", "--from", &pair[0], "--to", &pair[1], "--format", "json"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let expected = std::fs::read_to_string(migrations.join(&pair[1]).join("migration.json")).unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), expected, "{}", pair[1]);
        // And its migration.sql, in the project's (SQLite) dialect.
        let out = strata(&["diff", "--from", &pair[0], "--to", &pair[1]]);
        let expected = std::fs::read_to_string(migrations.join(&pair[1]).join("migration.sql")).unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "{}/migration.sql", pair[1]);
    }
}

#[test]
fn readme_first_command_applies_and_reports_status() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("example.db").display());
    let out = strata(&["apply", "--database-url", &url]);
    assert!(out.status.success(), "{}", text(&out));
    let out = strata(&["status", "--database-url", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("Version") && all.contains("Status"), "{all}");
    assert!(all.contains("up to date"), "{all}");
}
