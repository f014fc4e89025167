//! Generator benchmark: the whole `create-migration` library path (read models, parse, diff,
//! emit JSON + SQL, write the version directory atomically) on synthetic projects.
//!
//! ```text
//! cargo build --release -p strata-bench
//! taskset -c 0 target/release/strata-bench [--tables 1000,5000] [--runs 9]
//! cargo build --release -p strata-cli && target/release/strata-bench --process target/release/strata
//! taskset -c 0 target/release/strata-bench --lint 1000 [--process target/release/strata]
//! target/release/strata-bench --live-diff 1000 --strata target/release/strata --migra migra --runs 7
//! ```
//!
//! `--lint N` times `strata lint --all` over N generated migration directories instead
//! (`lint.rs`).
//!
//! `--live-diff N --strata BIN [--migra BIN]` times `strata diff --from db:A --to db:B` against
//! migra on two live N-table PostgreSQL databases, interleaved in the same run
//! (`live_diff.rs`; PostgreSQL must be up, `STRATA_TEST_PG_URL` as for the tests).
//!
//! `--process` times the whole `strata create-migration --force` process instead (what a user
//! waits for: start-up, configuration, module discovery, the library path, output, exit).
//!
//! Each project has N tables of 11 mixed-type fields (one a relation to the previous table),
//! one composite index each, and a shared enum. Scenarios:
//! * `from-empty`: no migrations yet; the first version creates every table.
//! * `5%-changed`: the latest version holds the original models; every 20th table gains a
//!   column, changes a default and changes its index.
//! * `no-changes`: the models match the latest version (nothing is written).
//!
//! Every figure is the median of `--runs` timed runs after one warm-up, single-threaded (the
//! library spawns no threads; `taskset -c 0` pins the process to one core). `median`/`min`/`max`
//! are wall-clock times of `strata_project::create_migration` (everything the CLI does except
//! argument parsing and printing); `cpu` is the thread's on-CPU time for the same call, which
//! other processes on a busy machine do not inflate. The phase columns time the same public
//! functions one by one: `read` (model files), `load` (latest `definition.json`), `lineage`
//! (`MigrationsDir::check_lineage_of`, which `create_migration` runs on every call), `parse`
//! (models -> definition), `diff`, `emit` (the two JSON definitions, `migration.json` and both
//! SQL files) and `write` (the atomic version directory). What `create_migration` does beyond
//! the phases (registry check, pruning) is the difference between `median` and their sum.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use strata_models::ModelOptions;
use strata_project::{CreateOptions, PlanOutcome, ProjectConfig};
use strata_schema::DatabaseDefinition;

mod lint;
mod live_diff;

const MODULE: &str = "bench";

fn model_yaml(i: usize, n: usize, changed: bool) -> String {
    let parent = (i + n - 1) % n;
    let quantity_default = if changed { 1 } else { 0 };
    let extra = if changed { "  note: String?\n" } else { "" };
    let index_fields = if changed { "name, active" } else { "name, createdAt" };
    format!(
        "class: Table{i:05}
table: table_{i:05}
fields:
  name: String
  description: String?
  quantity: int, default={quantity_default}
  price: double
  active: bool, default=true
  createdAt: DateTime, default=now
  updatedAt: DateTime?
  tags: List<String>?
  externalId: UuidValue?
  status: Status?
  parentId: int?, relation(parent=table_{parent:05}, onDelete=SetNull)
{extra}indexes:
  table_{i:05}_name_idx:
    fields: {index_fields}
"
    )
}

const STATUS_ENUM: &str = "enum: Status\nserialized: byName\nvalues:\n  - draft\n  - live\n  - archived\n";

fn write_models(root: &Path, n: usize, changed_every: Option<usize>) {
    let models = root.join("lib/src/models");
    if models.exists() {
        fs::remove_dir_all(&models).unwrap();
    }
    fs::create_dir_all(&models).unwrap();
    fs::write(models.join("status.spy.yaml"), STATUS_ENUM).unwrap();
    for i in 0..n {
        let changed = changed_every.is_some_and(|k| i % k == 0);
        fs::write(models.join(format!("table_{i:05}.spy.yaml")), model_yaml(i, n, changed)).unwrap();
    }
}

/// On-CPU time of the calling thread (Linux `schedstat`, nanoseconds): unlike wall time it
/// does not count waiting for a core the other processes hold, nor blocking in `fsync`.
fn thread_cpu() -> Option<Duration> {
    let text = fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn at(ms: u64) -> SystemTime {
    // 2026-01-01T00:00:00Z plus `ms`.
    UNIX_EPOCH + Duration::from_secs(1_767_225_600) + Duration::from_millis(ms)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[derive(Default)]
struct Phases {
    read: Vec<Duration>,
    load: Vec<Duration>,
    lineage: Vec<Duration>,
    parse: Vec<Duration>,
    diff: Vec<Duration>,
    emit: Vec<Duration>,
    write: Vec<Duration>,
}

/// The same steps as `strata_project::create_migration`, timed one by one.
fn phases_once(config: &ProjectConfig, version: &str, p: &mut Phases) {
    let t = Instant::now();
    let files = strata_project::read_model_files(config).unwrap();
    p.read.push(t.elapsed());

    let t = Instant::now();
    let dir = strata_project::MigrationsDir::new(&config.migrations_dir);
    let previous = match dir.latest().unwrap() {
        Some(v) => dir.read_definition(&v).unwrap(),
        None => DatabaseDefinition::empty(MODULE),
    };
    let previous = &previous;
    p.load.push(t.elapsed());

    // create_migration also checks that the latest version was built on its predecessor
    // (reusing the definition it loaded).
    let t = Instant::now();
    let _ = dir.check_lineage_of(&dir.versions().unwrap(), previous).unwrap();
    p.lineage.push(t.elapsed());

    let t = Instant::now();
    let options = ModelOptions { jsonb_by_default: config.jsonb_by_default, ..ModelOptions::new(MODULE) };
    let mut project = strata_models::build_project_definition(&files, &options).unwrap();
    let (project, target) = strata_project::merge_definitions(&mut project, MODULE, version, &[]);
    p.parse.push(t.elapsed());

    let t = Instant::now();
    let migration = strata_diff::generate_migration(previous, &target);
    p.diff.push(t.elapsed());

    let t = Instant::now();
    let dialect = strata_sql::dialect_by_name("postgres").unwrap();
    let definition_sql = strata_sql::definition_sql(dialect.as_ref(), &target).unwrap();
    let migration_sql = strata_sql::migration_sql(
        dialect.as_ref(),
        &strata_sql::MigrationSqlInput {
            migration: &migration,
            source: previous,
            target: &target,
            installed_modules: &target.installed_modules,
            removed_modules: &[],
        },
    )
    .unwrap();
    let out = vec![
        ("definition_project.json".to_string(), strata_schema::definition_to_json(&project).into_bytes()),
        ("definition.json".to_string(), strata_schema::definition_to_json(&target).into_bytes()),
        ("definition.sql".to_string(), definition_sql.into_bytes()),
        ("migration.json".to_string(), strata_schema::migration_to_json(&migration).into_bytes()),
        ("migration.sql".to_string(), migration_sql.into_bytes()),
    ];
    p.emit.push(t.elapsed());

    let t = Instant::now();
    let written = strata_project::write_version(&dir, version, &out).unwrap();
    p.write.push(t.elapsed());
    fs::remove_dir_all(written).unwrap();
}

struct Row {
    tables: usize,
    scenario: &'static str,
    total: Duration,
    min: Duration,
    max: Duration,
    cpu: Option<Duration>,
    phases: Option<[Duration; 7]>,
    files_written: bool,
}

fn bench_scenario(n: usize, scenario: &'static str, runs: usize) -> Row {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::write(root.join("pubspec.yaml"), format!("name: {MODULE}_server\n")).unwrap();
    write_models(root, n, None);
    let config = ProjectConfig::load(root).unwrap();
    let options = CreateOptions { force: true, ..Default::default() };
    if scenario != "from-empty" {
        let r = strata_project::create_migration(&config, &options, at(0)).unwrap();
        assert!(r.written.is_some(), "setup version not written");
        if scenario == "5%-changed" {
            write_models(root, n, Some(20));
        }
    }
    let mut totals = Vec::new();
    let mut cpus = Vec::new();
    let mut files_written = false;
    for run in 0..=runs {
        let cpu0 = thread_cpu();
        let t = Instant::now();
        let report = strata_project::create_migration(&config, &options, at(1000 + run as u64)).unwrap();
        let elapsed = t.elapsed();
        let cpu = thread_cpu().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
        match (&report.outcome, scenario) {
            (PlanOutcome::Created { .. }, "from-empty" | "5%-changed") => {}
            (PlanOutcome::NoChanges, "no-changes") => {}
            (other, _) => panic!("{scenario}: unexpected outcome {:?}", std::mem::discriminant(other)),
        }
        if let Some(w) = report.written {
            files_written = true;
            fs::remove_dir_all(w).unwrap();
        }
        if run > 0 {
            totals.push(elapsed);
            cpus.extend(cpu);
        }
    }
    let phases = if scenario == "no-changes" {
        None
    } else {
        let mut p = Phases::default();
        for run in 0..=runs {
            let mut scratch = Phases::default();
            phases_once(&config, &format!("2026010100{:07}", 2000 + run), &mut scratch);
            if run > 0 {
                p.read.extend(scratch.read);
                p.load.extend(scratch.load);
                p.lineage.extend(scratch.lineage);
                p.parse.extend(scratch.parse);
                p.diff.extend(scratch.diff);
                p.emit.extend(scratch.emit);
                p.write.extend(scratch.write);
            }
        }
        Some([
            median(p.read),
            median(p.load),
            median(p.lineage),
            median(p.parse),
            median(p.diff),
            median(p.emit),
            median(p.write),
        ])
    };
    let min = *totals.iter().min().unwrap();
    let max = *totals.iter().max().unwrap();
    let cpu = if cpus.len() == totals.len() { Some(median(cpus)) } else { None };
    Row { tables: n, scenario, total: median(totals), min, max, cpu, phases, files_written }
}

/// Wall time of the whole `strata create-migration --force` process (`bin`), as a user runs it:
/// start-up, config, module discovery, the library path, printing, exit. Median of `runs`.
fn bench_process(n: usize, scenario: &'static str, runs: usize, bin: &Path) -> (Duration, Duration) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::write(root.join("pubspec.yaml"), format!("name: {MODULE}_server\n")).unwrap();
    write_models(root, n, None);
    let run = |now: &str| {
        let t = Instant::now();
        let out = std::process::Command::new(bin)
            .args(["create-migration", "--force"])
            .current_dir(root)
            .env("STRATA_NOW", now)
            .output()
            .expect("running strata");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        t.elapsed()
    };
    if scenario != "from-empty" {
        run("20260101000000000");
        if scenario == "5%-changed" {
            write_models(root, n, Some(20));
        }
    }
    let mut walls = Vec::new();
    for i in 0..=runs {
        let wall = run(&format!("2026010100{:07}", 1000 + i));
        if scenario != "no-changes" {
            // Remove what the run wrote, so every run sees the same previous version.
            let versions = strata_project::MigrationsDir::new(root.join("migrations")).versions().unwrap();
            let latest = versions.last().unwrap().clone();
            fs::remove_dir_all(root.join("migrations").join(&latest)).unwrap();
            let registry = root.join("migrations/migration_registry.txt");
            let text = fs::read_to_string(&registry).unwrap();
            fs::write(&registry, text.replace(&format!("{latest}\n"), "")).unwrap();
        }
        if i > 0 {
            walls.push(wall);
        }
    }
    let min = *walls.iter().min().unwrap();
    (median(walls), min)
}

/// One model file with `fields` fields of mixed types, each third one indexed, and a unique one.
fn wide_model(fields: usize) -> String {
    let types = ["String", "int?", "double", "bool, default=true", "DateTime?", "UuidValue?"];
    let mut m = String::from("class: Wide\ntable: wide\nfields:\n");
    for i in 0..fields {
        m.push_str(&format!("  field{i}: {}\n", types[i % types.len()]));
    }
    m.push_str("  code: String, unique\nindexes:\n");
    for i in (0..fields).step_by(3).take(100) {
        m.push_str(&format!("  wide_field{i}_idx:\n    fields: field{i}\n"));
    }
    m
}

/// Median parse time of a `fields`-wide model (no I/O: the text is built up front).
fn bench_wide(fields: usize, runs: usize) -> (Duration, Duration, Option<Duration>) {
    let files =
        [strata_models::SourceFile { path: "lib/src/models/wide.spy.yaml".into(), text: wide_model(fields) }];
    let options = ModelOptions::new(MODULE);
    let (mut walls, mut cpus) = (Vec::new(), Vec::new());
    for run in 0..=runs {
        let cpu0 = thread_cpu();
        let t = Instant::now();
        let def = strata_models::build_project_definition(&files, &options).unwrap();
        let elapsed = t.elapsed();
        assert_eq!(def.tables[0].columns.len(), fields + 2, "id, the fields and code");
        if run > 0 {
            walls.push(elapsed);
            cpus.extend(thread_cpu().zip(cpu0).map(|(b, a)| b.saturating_sub(a)));
        }
    }
    let min = *walls.iter().min().unwrap();
    let cpu = (cpus.len() == walls.len()).then(|| median(cpus));
    (median(walls), min, cpu)
}

/// A `--flag N[,M...]` list of counts.
fn counts(value: Option<String>, flag: &str) -> Vec<usize> {
    let value = value.unwrap_or_else(|| panic!("{flag} N[,M...]"));
    value
        .split(',')
        .map(|s| s.trim().parse().unwrap_or_else(|_| panic!("{flag}: {s:?} is not a count")))
        .collect()
}

/// `path` made absolute (the benchmarks run programs from temporary directories).
fn existing_path(path: &str) -> std::path::PathBuf {
    fs::canonicalize(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn main() {
    let mut tables = vec![1000usize, 5000];
    let mut wide: Vec<usize> = Vec::new();
    let mut lint_files: Vec<usize> = Vec::new();
    let mut squawk: Option<std::path::PathBuf> = None;
    let mut live_diff: Vec<usize> = Vec::new();
    let mut strata_bin: Option<std::path::PathBuf> = None;
    let mut migra_bin = std::path::PathBuf::from("migra");
    let mut runs = 9usize;
    let mut process: Option<std::path::PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--tables" => tables = counts(args.next(), "--tables"),
            "--wide" => wide = counts(args.next(), "--wide"),
            "--lint" => lint_files = counts(args.next(), "--lint"),
            "--live-diff" => live_diff = counts(args.next(), "--live-diff"),
            "--strata" => strata_bin = Some(existing_path(&args.next().expect("--strata PATH_TO_STRATA"))),
            // A bare name is looked up on PATH.
            "--migra" => {
                let bin = args.next().expect("--migra PATH_TO_MIGRA");
                migra_bin = if bin.contains('/') { existing_path(&bin) } else { bin.into() };
            }
            "--squawk" => squawk = Some(args.next().expect("--squawk PATH_TO_SQUAWK").into()),
            "--runs" => runs = args.next().expect("--runs N").parse().expect("run count"),
            "--process" => process = Some(existing_path(&args.next().expect("--process PATH_TO_STRATA"))),
            "-h" | "--help" => {
                println!("strata-bench [--tables 1000,5000] [--wide 8000,16000,32000] [--lint 1000 [--squawk BIN]] [--live-diff 1000 --strata BIN [--migra BIN]] [--process target/release/strata] [--runs 9]");
                return;
            }
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(runs >= 1);
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; run with --release for meaningful figures");
    }
    if !live_diff.is_empty() {
        let strata = strata_bin.expect("--live-diff needs --strata PATH (a release build of strata-cli)");
        live_diff::bench(&live_diff, runs, &strata, &migra_bin);
        return;
    }
    if !lint_files.is_empty() {
        let subject = match (&squawk, &process) {
            (Some(bin), _) => lint::Subject::Squawk(bin),
            (None, Some(bin)) => lint::Subject::Process(bin),
            (None, None) => lint::Subject::Library,
        };
        lint::bench(&lint_files, runs, subject);
        return;
    }
    if !wide.is_empty() {
        println!("model parser on one table, median of {runs} runs (after 1 warm-up), times in ms");
        println!("{:>7} {:>9} {:>9} {:>9}", "fields", "median", "min", "cpu");
        for &n in &wide {
            let (wall, min, cpu) = bench_wide(n, runs);
            println!(
                "{n:>7} {:>9} {:>9} {:>9}",
                ms(wall),
                ms(min),
                cpu.map(ms).unwrap_or_else(|| "-".into())
            );
        }
        return;
    }
    if let Some(bin) = &process {
        println!(
            "whole `strata create-migration --force` process, median of {runs} runs (after 1 warm-up), ms"
        );
        println!("{:>6}  {:<11} {:>8} {:>8}", "tables", "scenario", "median", "min");
        for &n in &tables {
            for scenario in ["from-empty", "5%-changed", "no-changes"] {
                let (wall, min) = bench_process(n, scenario, runs, bin);
                println!("{n:>6}  {scenario:<11} {:>8} {:>8}", ms(wall), ms(min));
            }
        }
        return;
    }
    println!("create-migration library path, median of {runs} runs (after 1 warm-up), times in ms");
    println!(
        "{:>6}  {:<11} {:>8} {:>8} {:>8} {:>8}   {:>6} {:>6} {:>7} {:>6} {:>6} {:>6} {:>6}",
        "tables",
        "scenario",
        "median",
        "min",
        "max",
        "cpu",
        "read",
        "load",
        "lineage",
        "parse",
        "diff",
        "emit",
        "write"
    );
    for &n in &tables {
        for scenario in ["from-empty", "5%-changed", "no-changes"] {
            let r = bench_scenario(n, scenario, runs);
            let phases = match r.phases {
                Some(p) => p
                    .iter()
                    .enumerate()
                    .map(|(i, d)| if i == 2 { format!("{:>7}", ms(*d)) } else { format!("{:>6}", ms(*d)) })
                    .collect::<Vec<_>>()
                    .join(" "),
                None => "(no files written: the phases are not timed)".to_string(),
            };
            println!(
                "{:>6}  {:<11} {:>8} {:>8} {:>8} {:>8}   {}{}",
                r.tables,
                r.scenario,
                ms(r.total),
                ms(r.min),
                ms(r.max),
                r.cpu.map(ms).unwrap_or_else(|| "-".into()),
                phases,
                if r.files_written || r.phases.is_none() { "" } else { "  (nothing written)" }
            );
        }
    }
}
