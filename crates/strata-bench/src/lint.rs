//! `--lint N`: `strata lint --all` over N generated migration directories.
//!
//! The generator writes a PostgreSQL project whose versions look like what strata writes (a
//! `migration.sql` with the bookkeeping block, and a `definition.json` of 20 tables): version
//! `i` creates a table, adds a column, creates an index, and every fifth one drops a column,
//! so the rules have findings to report. The library path times what the CLI does per
//! version: read `migration.sql`, read and check the previous `definition.json`, lint.
//! `--process BIN` times the whole `strata lint --all --format json` process instead, and
//! `--squawk BIN` times the peer linter squawk (PostgreSQL rules only) on the same files.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use strata_lint::{LintInput, RuleSet};
use strata_project::{MigrationsDir, SqlFile};
use strata_schema::{ColumnDefinition, ColumnType, DatabaseDefinition, TableDefinition};

use crate::{median, ms, thread_cpu};

fn version_name(i: usize) -> String {
    format!("2026010100{:07}-v{i}", i)
}

/// A definition of 20 tables of 8 columns, enough for the previous-definition lookups.
fn definition() -> String {
    let mut def = DatabaseDefinition::empty("bench");
    for t in 0..20 {
        let mut table = TableDefinition {
            name: format!("table_{t}"),
            dart_name: Some(format!("Table{t}")),
            module: Some("bench".into()),
            schema: "public".into(),
            managed: Some(true),
            keys: Default::default(),
            partition_of: None,
            layout: Default::default(),
            ..TableDefinition::default()
        };
        for c in 0..8usize {
            table.columns.push(ColumnDefinition {
                name: format!("column_{c}"),
                column_type: if c.is_multiple_of(2) { ColumnType::Text } else { ColumnType::Bigint },
                is_nullable: c > 3,
                dart_type: Some("String".into()),
                ..ColumnDefinition::default()
            });
        }
        def.tables.push(table);
    }
    strata_schema::definition_to_json(&def)
}

fn migration_sql(i: usize) -> String {
    let t = i % 20;
    let mut sql = format!(
        "BEGIN;\n\n--\n-- ACTION CREATE TABLE\n--\nCREATE TABLE \"new_{i}\" (\n    \"id\" bigserial PRIMARY KEY,\n    \
         \"name\" text NOT NULL,\n    \"createdAt\" timestamp without time zone NOT NULL DEFAULT now()\n);\n\
         CREATE INDEX \"new_{i}_name_idx\" ON \"new_{i}\" USING btree (\"name\");\n\n--\n-- ACTION ALTER TABLE\n--\n\
         ALTER TABLE \"table_{t}\" ADD COLUMN \"extra_{i}\" text;\n\
         CREATE INDEX \"table_{t}_extra_{i}_idx\" ON \"table_{t}\" USING btree (\"extra_{i}\");\n"
    );
    if i.is_multiple_of(5) {
        sql.push_str(&format!("ALTER TABLE \"table_{t}\" DROP COLUMN \"column_7\";\n"));
    }
    sql.push_str(
        "\n--\n-- MIGRATION VERSION TABLE\n--\nCREATE TABLE IF NOT EXISTS \"serverpod_migrations\" (\n    \
         \"id\" bigserial PRIMARY KEY,\n    \"module\" text NOT NULL,\n    \"version\" text NOT NULL,\n    \
         \"timestamp\" timestamp without time zone\n);\nCREATE UNIQUE INDEX IF NOT EXISTS \"serverpod_migrations_ids\" \
         ON \"serverpod_migrations\" USING btree (\"module\");\n\n",
    );
    let v = version_name(i);
    sql.push_str(&format!(
        "--\n-- MIGRATION VERSION FOR bench\n--\nINSERT INTO \"serverpod_migrations\" (\"module\", \"version\", \"timestamp\")\n    \
         VALUES ('bench', '{v}', now())\n    ON CONFLICT (\"module\")\n    DO UPDATE SET \"version\" = '{v}', \"timestamp\" = now();\n\n\nCOMMIT;\n"
    ));
    sql
}

/// Writes the project: `strata.toml` and `n` version directories.
fn write_project(root: &Path, n: usize) {
    fs::write(root.join("strata.toml"), "module_name = \"bench\"\ndialect = \"postgres\"\n").unwrap();
    let definition = definition();
    for i in 1..=n {
        let dir = root.join("migrations").join(version_name(i));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("migration.sql"), migration_sql(i)).unwrap();
        fs::write(dir.join("definition.json"), &definition).unwrap();
    }
}

/// One pass of what `strata lint --all` does in the library; returns the findings count.
fn lint_all(root: &Path) -> usize {
    let dir = MigrationsDir::new(root.join("migrations"));
    let versions = dir.versions().unwrap();
    let mut findings = 0;
    for (i, v) in versions.iter().enumerate() {
        let sql = dir.read_sql(v, SqlFile::Migration).unwrap();
        let previous = if i == 0 { None } else { Some(dir.read_definition(&versions[i - 1]).unwrap()) };
        let report = strata_lint::lint(&LintInput {
            dialect: RuleSet::Postgres,
            sql: &sql,
            previous: previous.as_ref(),
        });
        findings += report.findings.len();
    }
    findings
}

/// What is timed.
#[derive(Clone, Copy)]
pub enum Subject<'a> {
    /// The library path, in this process.
    Library,
    /// The whole `strata lint --all --format json` process.
    Process(&'a Path),
    /// The peer linter `squawk` over the same `migration.sql` files.
    Squawk(&'a Path),
}

/// Runs the benchmark for each size and prints one line per size.
pub fn bench(sizes: &[usize], runs: usize, subject: Subject) {
    match subject {
        Subject::Process(_) => println!("whole `strata lint --all --format json` process, median of {runs} runs (after 1 warm-up), ms"),
        Subject::Squawk(_) => println!("peer: `squawk` over the same migration.sql files, median of {runs} runs (after 1 warm-up), ms"),
        Subject::Library => println!("lint library path (read + previous definition + lint), median of {runs} runs (after 1 warm-up), ms"),
    }
    println!("{:>6} {:>9} {:>9} {:>9} {:>9} {:>9}", "files", "median", "min", "cpu", "per file", "findings");
    for &n in sizes {
        let tmp = tempfile::tempdir().unwrap();
        write_project(tmp.path(), n);
        let mut walls = Vec::new();
        let mut cpus = Vec::new();
        let mut findings = 0;
        for run in 0..=runs {
            let cpu0 = thread_cpu();
            let start = Instant::now();
            findings = match subject {
                Subject::Process(bin) => run_process(bin, tmp.path()),
                Subject::Squawk(bin) => run_squawk(bin, tmp.path()),
                Subject::Library => lint_all(tmp.path()),
            };
            let wall = start.elapsed();
            if run > 0 {
                walls.push(wall);
                if let (Some(a), Some(b)) = (cpu0, thread_cpu()) {
                    cpus.push(b - a);
                }
            }
        }
        let min = *walls.iter().min().unwrap();
        let wall = median(walls);
        let cpu = if matches!(subject, Subject::Library) && !cpus.is_empty() {
            ms(median(cpus))
        } else {
            "-".into()
        };
        let per_file = Duration::from_secs_f64(wall.as_secs_f64() / n as f64);
        println!(
            "{n:>6} {:>9} {:>9} {:>9} {:>9} {findings:>9}",
            ms(wall),
            ms(min),
            cpu,
            format!("{:.3}", per_file.as_secs_f64() * 1000.0)
        );
    }
}

/// `strata lint --all --format json` in `root`; returns the number of findings it printed.
fn run_process(bin: &Path, root: &Path) -> usize {
    let out = Command::new(bin)
        .arg("-C")
        .arg(root)
        .args(["lint", "--all", "--format", "json"])
        .stderr(Stdio::null())
        .output()
        .expect("run strata");
    assert_eq!(out.status.code(), Some(2), "the generated versions have findings");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("lint JSON");
    doc["findings"].as_array().map_or(0, Vec::len)
}

/// `squawk` over every generated `migration.sql` (one process, all files as arguments); returns
/// the number of output lines that name a rule violation.
fn run_squawk(bin: &Path, root: &Path) -> usize {
    let dir = MigrationsDir::new(root.join("migrations"));
    let files: Vec<_> =
        dir.versions().unwrap().iter().map(|v| dir.version_path(v).join("migration.sql")).collect();
    let out = Command::new(bin).args(&files).stderr(Stdio::null()).output().expect("run squawk");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("warning[") || l.contains("error["))
        .count()
}
