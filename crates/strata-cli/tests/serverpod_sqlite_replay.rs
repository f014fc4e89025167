//! On-demand check against Serverpod's own committed SQLite history: `strata diff` between
//! every consecutive pair of versions must give Serverpod's `migration.sql` and
//! `migration.json` byte for byte, and each version's `definition.json` must render as its
//! `definition.sql`.
//!
//! Ignored by default (it needs a Serverpod checkout). Run it with the server package's
//! migrations directory, e.g.
//!
//! ```sh
//! STRATA_SERVERPOD_SQLITE_MIGRATIONS=/tmp/sp/tests/serverpod_test_sqlite/serverpod_test_sqlite_server/migrations \
//!   cargo test -p strata-cli --test serverpod_sqlite_replay -- --ignored --nocapture
//! ```
//!
//! The directory's parent is used as the project (its `config/development.yaml` has
//! `database: filePath:`, which selects the dialect, as in Serverpod).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_strata");
const ENV: &str = "STRATA_SERVERPOD_SQLITE_MIGRATIONS";

/// Versions Serverpod's current generator would not write either: they were generated before
/// Serverpod changed its SQLite output and were never regenerated. Each entry says what differs.
const WRITTEN_BY_OLDER_SERVERPOD: &[(&str, &str)] = &[
    (
        "20260401043450828",
        "rows for basic column types in serverpod_sqlite_schema (dropped by Serverpod #4988)",
    ),
    (
        "20260414140449033",
        "rows for basic column types in serverpod_sqlite_schema (dropped by Serverpod #4988) and no \
         blank line after an in-place ALTER TABLE (added by Serverpod #4998)",
    ),
    ("20260417184109022", "no blank line after an in-place ALTER TABLE (added by Serverpod #4998)"),
];

fn versions(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.len() == 17 && n.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    out.sort();
    out
}

fn diff(project: &Path, from: &Path, to: &Path, format: &str) -> String {
    let out = Command::new(BIN)
        .arg("-C")
        .arg(project)
        .args(["diff", "--format", format, "--from"])
        .arg(from)
        .arg("--to")
        .arg(to)
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(2),
        "strata diff {} -> {} failed:\n{}",
        from.display(),
        to.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn definition_sql(version_dir: &Path) -> String {
    let json = fs::read_to_string(version_dir.join("definition.json")).unwrap();
    let definition = strata_schema::definition_from_json(&json).unwrap();
    strata_sql::definition_sql(&strata_sql::Sqlite, &definition).unwrap()
}

#[test]
#[ignore = "needs a Serverpod checkout: set STRATA_SERVERPOD_SQLITE_MIGRATIONS (see the file comment)"]
fn serverpod_sqlite_history_replays_byte_exact() {
    let dir =
        PathBuf::from(std::env::var(ENV).unwrap_or_else(|_| {
            panic!("set {ENV} to a Serverpod SQLite server package's migrations directory")
        }));
    let project = dir.parent().expect("the migrations directory has a parent").to_path_buf();
    let versions = versions(&dir);
    assert!(versions.len() > 1, "{} holds fewer than two versions", dir.display());

    let (mut sql_exact, mut json_exact, mut definitions_exact) = (0, 0, 0);
    let mut unexpected = Vec::new();
    for pair in versions.windows(2) {
        let (from, to) = (dir.join(&pair[0]), dir.join(&pair[1]));
        let sql_ok =
            diff(&project, &from, &to, "sql") == fs::read_to_string(to.join("migration.sql")).unwrap();
        let json = diff(&project, &from, &to, "json");
        let json_ok = json.trim_end() == fs::read_to_string(to.join("migration.json")).unwrap();
        let known = WRITTEN_BY_OLDER_SERVERPOD.iter().find(|(v, _)| *v == pair[1]);
        println!(
            "{}: migration.sql {}, migration.json {}{}",
            pair[1],
            if sql_ok { "exact" } else { "differs" },
            if json_ok { "exact" } else { "differs" },
            match (sql_ok, known) {
                (false, Some((_, why))) => format!(" (written by an older Serverpod: {why})"),
                _ => String::new(),
            }
        );
        sql_exact += usize::from(sql_ok);
        json_exact += usize::from(json_ok);
        if !json_ok || (!sql_ok && known.is_none()) {
            unexpected.push(pair[1].clone());
        }
    }
    for version in &versions {
        let expected = fs::read_to_string(dir.join(version).join("definition.sql")).unwrap();
        let rendered = definition_sql(&dir.join(version));
        if rendered != expected {
            let first = rendered.lines().zip(expected.lines()).position(|(a, b)| a != b);
            println!("{version}: definition.sql differs from line {:?}", first.map(|l| l + 1));
            if !WRITTEN_BY_OLDER_SERVERPOD.iter().any(|(v, _)| v == version) {
                unexpected.push(format!("{version}/definition.sql"));
            }
        }
        definitions_exact += usize::from(rendered == expected);
    }
    let pairs = versions.len() - 1;
    println!(
        "score: migration.sql {sql_exact}/{pairs} byte-exact, migration.json {json_exact}/{pairs}, \
         definition.sql {definitions_exact}/{}",
        versions.len()
    );
    assert!(unexpected.is_empty(), "unexpected differences in {unexpected:?}");
}
