//! Golden (snapshot) tests: model-edit sequences run through the real `strata` binary.
//!
//! Each case is a directory `fixtures/golden/<case>/`:
//!
//! * `project/` (optional): files copied into the scratch project before the first step
//!   (e.g. a `pubspec.yaml` overriding the default one, a module package).
//! * `step-NN/`: one model state. Its `*.yaml` files replace `lib/src/models/` entirely; a step
//!   without any `*.yaml` keeps the previous models. `step-NN/project/` (optional) is copied over
//!   the project root (e.g. to edit `strata.toml`). `step-NN/args` (optional) holds the command
//!   line, whitespace-separated; the default is `create-migration`.
//! * `expected/step-NN/` (PostgreSQL) and `expected-<dialect>/step-NN/` (`expected-sqlite`,
//!   `expected-mysql`), one per dialect `strata_sql::dialect_by_name` knows: `outcome.txt`
//!   (exit code, created version, stdout, stderr), every file of the version directory the step
//!   created (`definition.json`, `definition_project.json`, `definition.sql`, `migration.json`,
//!   `migration.sql`) and `migration_registry.txt` when it exists.
//!
//! Every step runs with `STRATA_NOW=20260101000000<NNN>` so version names are reproducible.
//! Comparison is byte-for-byte; a mismatch shows a unified diff. `STRATA_BLESS=1` rewrites the
//! expected files instead (and prints which changed). Review generated output before blessing.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_strata");

/// Module name of the scratch project is `golden` (Serverpod: package name minus `_server`).
const PUBSPEC: &str = "name: golden_server\n";

/// The dialect a case runs under: `strata_sql`'s own trait object, looked up by config name.
type Dialect = &'static dyn strata_sql::Dialect;

/// A dialect by its config name (leaked once per test: the trait object lives for the test).
fn dialect(name: &str) -> Dialect {
    Box::leak(strata_sql::dialect_by_name(name).unwrap_or_else(|| panic!("unknown dialect {name}")))
}

/// PostgreSQL, the default dialect, keeps Serverpod's `expected/`; every other dialect has
/// `expected-<name>/`.
fn expected_dir(dialect: Dialect) -> String {
    match dialect.name() {
        "postgres" => "expected".to_string(),
        other => format!("expected-{other}"),
    }
}

fn golden_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden");
    p.canonicalize().unwrap_or(p)
}

fn blessing() -> bool {
    std::env::var_os("STRATA_BLESS").is_some_and(|v| v != "0" && !v.is_empty())
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&dest).unwrap();
            copy_tree(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), &dest).unwrap_or_else(|e| panic!("copy to {}: {e}", dest.display()));
        }
    }
}

/// Points the scratch project at the dialect under test: for any dialect but the default
/// (PostgreSQL), `strata.toml` (the case's own, if it has one) gets a `dialect` line.
fn ensure_dialect(project: &Path, dialect: Dialect) {
    if dialect.name() == "postgres" {
        return;
    }
    let path = project.join("strata.toml");
    let text = fs::read_to_string(&path).unwrap_or_default();
    if !text.lines().any(|l| l.trim_start().starts_with("dialect")) {
        fs::write(&path, format!("dialect = \"{}\"\n{text}", dialect.name())).unwrap();
    }
}

fn is_model_file(p: &Path) -> bool {
    p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

fn step_dirs(case_dir: &Path) -> Vec<PathBuf> {
    sorted_entries(case_dir)
        .into_iter()
        .filter(|p| p.is_dir() && p.file_name().unwrap().to_string_lossy().starts_with("step-"))
        .collect()
}

fn version_dirs(project: &Path) -> BTreeSet<String> {
    sorted_entries(&project.join("migrations"))
        .into_iter()
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Every file the step produced, by the name it has in `expected/step-NN/`.
fn run_step(project: &Path, dialect: Dialect, step_dir: &Path, step_no: usize) -> BTreeMap<String, Vec<u8>> {
    let models: Vec<PathBuf> = sorted_entries(step_dir).into_iter().filter(|p| is_model_file(p)).collect();
    let models_dir = project.join("lib/src/models");
    if !models.is_empty() {
        if models_dir.exists() {
            fs::remove_dir_all(&models_dir).unwrap();
        }
        fs::create_dir_all(&models_dir).unwrap();
        for m in &models {
            fs::copy(m, models_dir.join(m.file_name().unwrap())).unwrap();
        }
    }
    if step_dir.join("project").is_dir() {
        copy_tree(&step_dir.join("project"), project);
        ensure_dialect(project, dialect);
    }
    let args_text = fs::read_to_string(step_dir.join("args")).unwrap_or_else(|_| "create-migration".into());
    let args: Vec<&str> = args_text.split_whitespace().collect();

    let before = version_dirs(project);
    let now = format!("20260101000000{step_no:03}");
    let out = Command::new(BIN)
        .args(&args)
        .current_dir(project)
        .env("STRATA_NOW", &now)
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap_or_else(|e| panic!("running {BIN}: {e}"));
    let after = version_dirs(project);
    let created: Vec<&String> = after.difference(&before).collect();
    assert!(created.len() <= 1, "step {} created several versions: {created:?}", step_dir.display());
    let removed: Vec<&String> = before.difference(&after).collect();
    assert!(removed.is_empty(), "step {} removed versions: {removed:?}", step_dir.display());

    let normalize = |bytes: &[u8]| -> String {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let mut text = text.replace(&project.display().to_string(), "<project>");
        if let Ok(canon) = project.canonicalize() {
            text = text.replace(&canon.display().to_string(), "<project>");
        }
        text
    };
    let code = out.status.code().map_or("signal".to_string(), |c| c.to_string());
    let version = created.first().map_or("none".to_string(), |v| v.to_string());
    let outcome = format!(
        "exit: {code}\nversion: {version}\n--- stdout\n{}--- stderr\n{}",
        normalize(&out.stdout),
        normalize(&out.stderr)
    );

    let mut files = BTreeMap::new();
    files.insert("outcome.txt".to_string(), outcome.into_bytes());
    if let Some(v) = created.first() {
        for f in sorted_entries(&project.join("migrations").join(v.as_str())) {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            assert!(f.is_file(), "unexpected directory {} in the version", f.display());
            files.insert(name, fs::read(&f).unwrap());
        }
    }
    let registry = project.join("migrations/migration_registry.txt");
    if registry.is_file() {
        files.insert("migration_registry.txt".to_string(), fs::read(&registry).unwrap());
    }
    files
}

fn unified_diff(expected: &[u8], actual: &[u8], name: &str) -> String {
    let e = String::from_utf8_lossy(expected);
    let a = String::from_utf8_lossy(actual);
    similar::TextDiff::from_lines(e.as_ref(), a.as_ref())
        .unified_diff()
        .context_radius(3)
        .header(&format!("expected/{name}"), &format!("actual/{name}"))
        .to_string()
}

fn read_expected(dir: &Path) -> Option<BTreeMap<String, Vec<u8>>> {
    if !dir.is_dir() {
        return None;
    }
    let mut m = BTreeMap::new();
    for f in sorted_entries(dir) {
        if f.is_file() {
            m.insert(f.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&f).unwrap());
        }
    }
    Some(m)
}

/// Tells the user what blessing changed. Written straight to the stderr handle: the test
/// harness captures `eprintln!` of passing tests, and a bless run passes.
fn report_blessed(what: &str, path: &Path) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "blessed ({what}): {}", path.display());
}

fn bless(dir: &Path, actual: &BTreeMap<String, Vec<u8>>) {
    let old = read_expected(dir).unwrap_or_default();
    if old == *actual {
        return;
    }
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap();
    }
    fs::create_dir_all(dir).unwrap();
    for (name, bytes) in actual {
        fs::write(dir.join(name), bytes).unwrap();
        match old.get(name) {
            None => report_blessed("new", &dir.join(name)),
            Some(o) if o != bytes => report_blessed("changed", &dir.join(name)),
            Some(_) => {}
        }
    }
    for name in old.keys().filter(|n| !actual.contains_key(*n)) {
        report_blessed("removed", &dir.join(name));
    }
}

fn run_case(case: &str, dialect: Dialect) {
    let case_dir = golden_root().join(case);
    assert!(case_dir.is_dir(), "missing case directory {}", case_dir.display());
    let steps = step_dirs(&case_dir);
    assert!(!steps.is_empty(), "case {case} has no step-NN directories");

    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path();
    fs::write(project.join("pubspec.yaml"), PUBSPEC).unwrap();
    if case_dir.join("project").is_dir() {
        copy_tree(&case_dir.join("project"), project);
    }
    ensure_dialect(project, dialect);

    let expected_root = case_dir.join(expected_dir(dialect));
    let bless_mode = blessing();
    let mut failures = Vec::new();
    let mut step_names = BTreeSet::new();
    for (i, step) in steps.iter().enumerate() {
        let step_name = step.file_name().unwrap().to_string_lossy().into_owned();
        step_names.insert(step_name.clone());
        let actual = run_step(project, dialect, step, i + 1);
        let exp_dir = expected_root.join(&step_name);
        if bless_mode {
            bless(&exp_dir, &actual);
            continue;
        }
        let Some(expected) = read_expected(&exp_dir) else {
            failures.push(format!(
                "{step_name}: no expectations at {}.\nReview the generated output, then bless with:\n  \
                 STRATA_BLESS=1 cargo test -p strata-cli --test golden {}::{case}\nActual outcome:\n{}",
                exp_dir.display(),
                dialect.name(),
                String::from_utf8_lossy(&actual["outcome.txt"])
            ));
            continue;
        };
        let names: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
        for name in names {
            match (expected.get(name), actual.get(name)) {
                (Some(e), Some(a)) if e == a => {}
                (Some(e), Some(a)) => {
                    failures.push(format!("{step_name}/{name} differs:\n{}", unified_diff(e, a, name)))
                }
                (Some(_), None) => failures.push(format!("{step_name}/{name}: expected but not generated")),
                (None, Some(a)) => failures.push(format!(
                    "{step_name}/{name}: generated but not expected (bless with STRATA_BLESS=1 after review):\n{}",
                    String::from_utf8_lossy(a)
                )),
                (None, None) => unreachable!(),
            }
        }
    }
    // Expectations for steps that no longer exist.
    for stale in step_dirs(&expected_root) {
        let name = stale.file_name().unwrap().to_string_lossy().into_owned();
        if !step_names.contains(&name) {
            if bless_mode {
                fs::remove_dir_all(&stale).unwrap();
                report_blessed("removed", &stale);
            } else {
                failures.push(format!("stale expectations {} (no such step)", stale.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "golden case {case} ({}): {} mismatch(es)\n\n{}",
        dialect.name(),
        failures.len(),
        failures.join("\n\n")
    );
}

macro_rules! golden_cases {
    (both: [$($both:ident),* $(,)?], postgres_only: [$($pg:ident),* $(,)?] $(,)?) => {
        const CASES: &[&str] = &[$(stringify!($both),)* $(stringify!($pg),)*];

        mod postgres {
            $(#[test] fn $both() { super::run_case(stringify!($both), super::dialect("postgres")) })*
            $(#[test] fn $pg() { super::run_case(stringify!($pg), super::dialect("postgres")) })*
        }

        mod sqlite {
            $(#[test] fn $both() { super::run_case(stringify!($both), super::dialect("sqlite")) })*
        }

        mod mysql {
            $(#[test] fn $both() { super::run_case(stringify!($both), super::dialect("mysql")) })*
        }
    };
}

golden_cases! {
    both: [
        new_table,
        remove_table,
        rename_table,
        add_columns,
        remove_column,
        column_rename,
        nullability,
        defaults_change,
        type_change,
        json_jsonb,
        vector_dimension,
        enum_serialization,
        id_types,
        serial_gain,
        indexes,
        relations,
        managed,
        defaults_all,
        vectors,
        geography,
        gin_opclass,
        nulls_distinct,
        circular_relations,
        uuid_v7,
        tag,
        empty,
        blocked_warnings,
        errors,
        modules,
        legacy_v1,
        model_features,
        dropped_column_dependents,
        diff_command,
    ],
    postgres_only: [],
}

/// A case directory that no test runs is a silent gap: fail instead.
#[test]
fn every_case_directory_is_listed() {
    let listed: BTreeSet<&str> = CASES.iter().copied().collect();
    let on_disk: Vec<String> = sorted_entries(&golden_root())
        .into_iter()
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let unlisted: Vec<&String> = on_disk.iter().filter(|c| !listed.contains(c.as_str())).collect();
    assert!(unlisted.is_empty(), "golden case directories not listed in golden.rs: {unlisted:?}");
}

/// The schema of a SQLite database as the pragmas report it, one line per object, sorted.
async fn sqlite_catalog(conn: &mut sqlx::SqliteConnection) -> Vec<String> {
    use sqlx::Row;
    let tables = "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'";
    let mut lines = Vec::new();
    for r in sqlx::query(&format!("{tables} ORDER BY 1")).fetch_all(&mut *conn).await.unwrap() {
        lines.push(format!("table {}", r.get::<String, _>(0)));
    }
    let q = format!(
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk
         FROM ({tables}) m, pragma_table_info(m.name) p ORDER BY 1, 2"
    );
    for r in sqlx::query(&q).fetch_all(&mut *conn).await.unwrap() {
        lines.push(format!(
            "column {}.{} {} notnull={} default={:?} pk={}",
            r.get::<String, _>(0),
            r.get::<String, _>(1),
            r.get::<String, _>(2),
            r.get::<i64, _>(3),
            r.get::<Option<String>, _>(4),
            r.get::<i64, _>(5)
        ));
    }
    let q = format!(
        "SELECT m.name, il.name, il.\"unique\", il.origin, il.partial,
                (SELECT group_concat(coalesce(name, '<expr>'), ',')
                 FROM (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno))
         FROM ({tables}) m, pragma_index_list(m.name) il ORDER BY 1, 2"
    );
    for r in sqlx::query(&q).fetch_all(&mut *conn).await.unwrap() {
        lines.push(format!(
            "index {}.{} unique={} origin={} partial={} ({})",
            r.get::<String, _>(0),
            r.get::<String, _>(1),
            r.get::<i64, _>(2),
            r.get::<String, _>(3),
            r.get::<i64, _>(4),
            r.get::<Option<String>, _>(5).unwrap_or_default()
        ));
    }
    let q = format!(
        "SELECT m.name, f.\"from\", f.\"table\", f.\"to\", f.on_update, f.on_delete, f.\"match\"
         FROM ({tables}) m, pragma_foreign_key_list(m.name) f ORDER BY 1, 2, 3"
    );
    for r in sqlx::query(&q).fetch_all(&mut *conn).await.unwrap() {
        lines.push(format!(
            "fk {}.{} -> {}.{} on update {} on delete {} match {}",
            r.get::<String, _>(0),
            r.get::<String, _>(1),
            r.get::<String, _>(2),
            r.get::<Option<String>, _>(3).unwrap_or_default(),
            r.get::<String, _>(4),
            r.get::<String, _>(5),
            r.get::<String, _>(6)
        ));
    }
    lines
}

/// Every SQLite golden case, replayed on a real SQLite: its blessed `migration.sql` files
/// applied in order to database A must give the same schema (per the pragmas) as its last
/// `definition.sql` applied to an empty database B.
#[test]
fn sqlite_golden_migrations_replay_to_their_final_definition() {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut failures = Vec::new();
        let mut replayed = 0;
        for case in CASES {
            let steps = step_dirs(&golden_root().join(case).join(expected_dir(dialect("sqlite"))));
            let migrations: Vec<String> =
                steps.iter().filter_map(|s| fs::read_to_string(s.join("migration.sql")).ok()).collect();
            let Some(definition) =
                steps.iter().rev().find_map(|s| fs::read_to_string(s.join("definition.sql")).ok())
            else {
                continue;
            };
            if *case == "managed" || *case == "legacy_v1" {
                // `managed`: CREATE TABLE IF NOT EXISTS leaves a re-managed table as it was
                // (spec §7.1). `legacy_v1`: starts from a hand-written version without SQL.
                continue;
            }
            let a = strata_testdb::SqliteScratch::new(&format!("replay_a_{case}"));
            let b = strata_testdb::SqliteScratch::new(&format!("replay_b_{case}"));
            let mut ca = sqlx::SqliteConnection::connect(&a.url).await.unwrap();
            let mut cb = sqlx::SqliteConnection::connect(&b.url).await.unwrap();
            let mut ok = true;
            // SQLite files leave foreign keys to the runner, which turns them off around each.
            for c in [&mut ca, &mut cb] {
                sqlx::raw_sql("PRAGMA foreign_keys = OFF").execute(c).await.unwrap();
            }
            for (i, sql) in migrations.iter().enumerate() {
                if let Err(e) = sqlx::raw_sql(sql).execute(&mut ca).await {
                    failures.push(format!("{case}: migration #{} fails on SQLite: {e}", i + 1));
                    ok = false;
                    break;
                }
            }
            if let Err(e) = sqlx::raw_sql(&definition).execute(&mut cb).await {
                failures.push(format!("{case}: last definition.sql fails on SQLite: {e}"));
                ok = false;
            }
            if ok {
                let cat_a = sqlite_catalog(&mut ca).await.join("\n") + "\n";
                let cat_b = sqlite_catalog(&mut cb).await.join("\n") + "\n";
                if cat_a != cat_b {
                    let diff = similar::TextDiff::from_lines(&cat_b, &cat_a)
                        .unified_diff()
                        .context_radius(2)
                        .header("definition.sql", "migrations replayed")
                        .to_string();
                    failures.push(format!("{case}: replayed migrations differ from definition.sql:\n{diff}"));
                }
                replayed += 1;
            }
            let _ = ca.close().await;
            let _ = cb.close().await;
        }
        assert!(replayed >= 15, "only {replayed} SQLite golden cases replayed");
        assert!(
            failures.is_empty(),
            "{} case(s) fail to replay:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    });
}
