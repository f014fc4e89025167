//! `strata create-migration` end to end: the built binary in a scratch copy of a fixture
//! project. Every refusal must exit non-zero and leave the project byte-for-byte unchanged.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use strata_schema::{definition_from_json, migration_from_json, MigrationAction};

const BIN: &str = env!("CARGO_BIN_EXE_strata");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/projects").join(name)
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// A scratch copy of `fixtures/projects/<name>`; the project is `<tmp>/<name>`.
struct Project {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Project {
    fn new(name: &str) -> Project {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(name);
        copy_tree(&fixture(name), &dir);
        Project { _tmp: tmp, dir }
    }

    fn shop() -> Project {
        Project::new("shop")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Runs `strata <args>` in the project directory with a fixed clock.
    fn run(&self, now: &str, args: &[&str]) -> Run {
        let out = Command::new(BIN)
            .args(args)
            .current_dir(&self.dir)
            .env("STRATA_NOW", now)
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Starts `strata create-migration` in the project directory without waiting for it.
    fn spawn_create(&self, now: &str) -> std::process::Child {
        Command::new(BIN)
            .arg("create-migration")
            .current_dir(&self.dir)
            .env("STRATA_NOW", now)
            .env_remove("RUST_BACKTRACE")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn create(&self, now: &str, extra: &[&str]) -> Run {
        let mut args = vec!["create-migration"];
        args.extend_from_slice(extra);
        self.run(now, &args)
    }

    /// Every file under the project with its bytes (directories too, as empty entries).
    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            for e in fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                if p.is_dir() {
                    out.insert(format!("{rel}/"), Vec::new());
                    walk(base, &p, out);
                } else {
                    out.insert(rel, fs::read(&p).unwrap());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.dir, &self.dir, &mut out);
        out
    }

    fn versions(&self) -> Vec<String> {
        let mut v: Vec<String> = match fs::read_dir(self.path("migrations")) {
            Ok(rd) => rd
                .map(|e| e.unwrap())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        v.sort();
        v
    }
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

const V1: &str = "20260101000000001";
const V2: &str = "20260101000000002";
const V3: &str = "20260101000000003";

const ARTIFACTS: [&str; 5] =
    ["definition.json", "definition.sql", "definition_project.json", "migration.json", "migration.sql"];

fn registry(versions: &[&str]) -> String {
    let mut s = String::from(
        "### AUTOMATICALLY GENERATED DO NOT MODIFY\n###\n\
         ### This file is generated by Serverpod when creating a migration, do not modify it\n\
         ### manually. If a collision is detected in this file when doing a code merge, resolve\n\
         ### the conflict by removing and recreating the conflicting migration.\n\n",
    );
    for v in versions {
        s.push_str(v);
        s.push('\n');
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------------

#[test]
fn creates_the_first_migration_then_reports_no_changes() {
    let p = Project::shop();
    let run = p.create(V1, &[]);
    run.assert_code(0);
    assert!(run.stdout.contains(&format!("Migration created: migrations/{V1}")), "{}", run.stdout);
    assert_eq!(p.versions(), [V1]);
    let mut files: Vec<String> = fs::read_dir(p.path(&format!("migrations/{V1}")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ARTIFACTS);
    assert_eq!(p.read("migrations/migration_registry.txt"), registry(&[V1]));

    let def = definition_from_json(&p.read(&format!("migrations/{V1}/definition.json"))).unwrap();
    assert_eq!(def.module_name, "shop");
    let names: Vec<&str> = def.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["company", "employee"]);
    assert_eq!(def.installed_modules.len(), 1);
    assert_eq!(
        (def.installed_modules[0].module.as_str(), def.installed_modules[0].version.as_str()),
        ("shop", V1)
    );
    let project = definition_from_json(&p.read(&format!("migrations/{V1}/definition_project.json"))).unwrap();
    assert!(project.installed_modules.is_empty());
    let migration = migration_from_json(&p.read(&format!("migrations/{V1}/migration.json"))).unwrap();
    assert_eq!(migration.actions.len(), 2);
    assert!(p.read(&format!("migrations/{V1}/migration.sql")).contains("CREATE TABLE \"company\""));
    // Serverpod's JSON has no trailing newline.
    assert!(!p.read(&format!("migrations/{V1}/definition.json")).ends_with('\n'));

    let before = p.snapshot();
    let run = p.create(V2, &[]);
    run.assert_code(0);
    assert!(run.stdout.contains("No changes detected."), "{}", run.stdout);
    assert_eq!(p.snapshot(), before, "no-changes must write nothing");
}

#[test]
fn output_is_deterministic() {
    let a = Project::shop();
    let b = Project::shop();
    a.create(V1, &[]).assert_code(0);
    b.create(V1, &[]).assert_code(0);
    assert_eq!(a.snapshot(), b.snapshot());
}

#[test]
fn incremental_change_is_a_new_version() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    p.write(
        "lib/src/models/employee.spy.yaml",
        "class: Employee\ntable: employee\nfields:\n  name: String\n  email: String?\n  \
         companyId: int, relation(parent=company, onDelete=Cascade)\n",
    );
    let run = p.create(V2, &[]);
    run.assert_code(0);
    assert_eq!(run.stderr, "", "a linear history has nothing to warn about");
    assert_eq!(p.versions(), [V1, V2]);
    assert_eq!(p.read("migrations/migration_registry.txt"), registry(&[V1, V2]));
    let m = migration_from_json(&p.read(&format!("migrations/{V2}/migration.json"))).unwrap();
    match &m.actions[..] {
        [MigrationAction::AlterTable(t)] => {
            assert_eq!(t.name, "employee");
            assert_eq!(t.add_columns[0].name, "email");
        }
        other => panic!("{other:?}"),
    }
    assert!(m.warnings.is_empty());
}

#[test]
fn warnings_block_without_force_and_write_nothing() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    fs::remove_file(p.path("lib/src/models/employee.spy.yaml")).unwrap();
    let before = p.snapshot();

    let run = p.create(V2, &[]);
    run.assert_code(3);
    assert!(run.stdout.contains("Migration warnings:"), "{}", run.stdout);
    let bullet = run.stdout.lines().find(|l| l.trim_start().starts_with('•')).expect("a bullet per warning");
    assert!(bullet.contains("[destructive]") && bullet.contains("employee"), "{bullet}");
    assert!(run.stdout.contains("--force"), "{}", run.stdout);
    assert_eq!(p.snapshot(), before, "blocked must write nothing");

    // --dry-run is blocked the same way.
    p.create(V2, &["--dry-run"]).assert_code(3);
    assert_eq!(p.snapshot(), before);

    let run = p.create(V2, &["--force"]);
    run.assert_code(0);
    assert!(run.stdout.contains("[destructive]"), "forced warnings are still shown: {}", run.stdout);
    assert!(run.stdout.contains(&format!("Migration created: migrations/{V2}")), "{}", run.stdout);
    let m = migration_from_json(&p.read(&format!("migrations/{V2}/migration.json"))).unwrap();
    assert!(
        matches!(&m.actions[..], [MigrationAction::DeleteTable(t)] if t == "employee"),
        "{:?}",
        m.actions
    );
    assert!(!m.warnings.is_empty());
}

#[test]
fn short_force_flag_works() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    fs::remove_file(p.path("lib/src/models/employee.spy.yaml")).unwrap();
    p.create(V2, &["-f"]).assert_code(0);
    assert_eq!(p.versions(), [V1, V2]);
}

#[test]
fn empty_creates_a_migration_without_changes() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    let run = p.create(V2, &["--empty", "--tag", "checkpoint"]);
    run.assert_code(0);
    let v = format!("{V2}-checkpoint");
    assert!(run.stdout.contains(&format!("Migration created: migrations/{v}")), "{}", run.stdout);
    let m = migration_from_json(&p.read(&format!("migrations/{v}/migration.json"))).unwrap();
    assert!(m.actions.is_empty());
    let def = definition_from_json(&p.read(&format!("migrations/{v}/definition.json"))).unwrap();
    assert_eq!(def.installed_modules[0].version, v);
    assert_eq!(p.read("migrations/migration_registry.txt"), registry(&[V1, &v]));
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let p = Project::shop();
    let before = p.snapshot();
    let run = p.create(V1, &["--dry-run"]);
    run.assert_code(0);
    assert_eq!(p.snapshot(), before, "dry run must write nothing");
    for name in ARTIFACTS {
        assert!(run.stdout.contains(name), "{name} missing from {}", run.stdout);
    }
    assert!(run.stdout.contains(&format!("migrations/{V1}")), "{}", run.stdout);
    assert!(run.stdout.contains("CREATE TABLE \"employee\""), "prints migration.sql: {}", run.stdout);
    assert!(!run.stdout.contains("Migration created"), "{}", run.stdout);

    // The plan equals what a real run writes.
    p.create(V1, &[]).assert_code(0);
    let sql = p.read(&format!("migrations/{V1}/migration.sql"));
    assert!(run.stdout.contains(&sql));
}

#[test]
fn check_is_a_ci_gate_that_writes_nothing() {
    let p = Project::shop();
    let before = p.snapshot();
    let run = p.create(V1, &["--check"]);
    run.assert_code(2);
    assert!(run.stdout.contains("strata create-migration"), "{}", run.stdout);
    assert_eq!(p.snapshot(), before);

    p.create(V1, &[]).assert_code(0);
    p.create(V2, &["--check"]).assert_code(0);

    // Pending destructive changes are "changes" too, not "blocked".
    fs::remove_file(p.path("lib/src/models/employee.spy.yaml")).unwrap();
    fs::create_dir_all(p.path(&format!("migrations/{V2}"))).unwrap();
    let before = p.snapshot();
    let run = p.create(V3, &["--check"]);
    run.assert_code(2);
    assert!(run.stderr.contains("Ignoring empty migration version directory"), "{}", run.stderr);
    assert_eq!(p.snapshot(), before, "--check never prunes either");

    let run = p.create(V3, &["--check", "--force"]);
    assert_ne!(run.code, 0, "--check cannot be combined with --force");
}

#[test]
fn json_format_reports_the_outcome() {
    let p = Project::shop();
    let run = p.create(V1, &["--json", "--dry-run"]);
    run.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["outcome"], "created");
    assert_eq!(v["written"], false);
    assert_eq!(v["version"], V1);
    assert_eq!(v["path"], format!("migrations/{V1}"));
    assert_eq!(v["files"].as_array().unwrap().len(), 5);
    assert!(v["migration_sql"].as_str().unwrap().contains("CREATE TABLE"));

    let run = p.create(V1, &["--json"]);
    run.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["written"], true);
    assert!(v.get("migration_sql").is_none());

    fs::remove_file(p.path("lib/src/models/employee.spy.yaml")).unwrap();
    let run = p.create(V2, &["--json"]);
    run.assert_code(3);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["outcome"], "blocked");
    assert_eq!(v["warnings"][0]["type"], "tableDropped");
    assert_eq!(v["warnings"][0]["table"], "employee");
    assert_eq!(v["warnings"][0]["destructive"], true);

    let run = p.create(V2, &["--json", "--force"]);
    run.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!((v["outcome"].as_str(), v["written"].as_bool()), (Some("created"), Some(true)));
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1);

    let run = p.create(V3, &["--json"]);
    run.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["outcome"], "no_changes");
}

#[test]
fn tag_becomes_part_of_the_version_name() {
    let p = Project::shop();
    let run = p.create(V1, &["--tag", "v1-2-0"]);
    run.assert_code(0);
    assert_eq!(p.versions(), [format!("{V1}-v1-2-0")]);
}

#[test]
fn modules_are_merged_into_definition_json() {
    let mut app = Project::new("with_module");
    app.dir = app.dir.join("app_server");
    let run = app.create(V1, &[]);
    run.assert_code(0);
    let def = definition_from_json(&app.read(&format!("migrations/{V1}/definition.json"))).unwrap();
    let names: Vec<&str> = def.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["note", "shared_module_table"]);
    let installed: Vec<(&str, &str)> =
        def.installed_modules.iter().map(|m| (m.module.as_str(), m.version.as_str())).collect();
    assert_eq!(installed, [("app", V1), ("serverpod_test_shared_module", "20260711022602028")]);

    let project =
        definition_from_json(&app.read(&format!("migrations/{V1}/definition_project.json"))).unwrap();
    let names: Vec<&str> = project.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["note"]);
    let installed: Vec<&str> = project.installed_modules.iter().map(|m| m.module.as_str()).collect();
    assert_eq!(installed, ["serverpod_test_shared_module"]);
    let sql = app.read(&format!("migrations/{V1}/migration.sql"));
    assert!(sql.contains("serverpod_test_shared_module"), "bookkeeping for the module: {sql}");
}

#[test]
fn corrupt_module_definition_is_an_error() {
    let mut app = Project::new("with_module");
    app.dir = app.dir.join("app_server");
    fs::write(
        app.path("../shared_server/migrations/20260711022602028/definition_project.json"),
        "{\"tables\": [}",
    )
    .unwrap();
    let run = assert_fails(&app, V1, &[]);
    assert!(run.stderr.contains("cannot load the dependency module"), "{}", run.stderr);
    assert!(run.stderr.contains("definition_project.json:1:"), "{}", run.stderr);
}

#[test]
fn trailing_empty_version_directory_is_pruned() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    fs::create_dir_all(p.path(&format!("migrations/{V2}"))).unwrap();
    p.write(
        "lib/src/models/employee.spy.yaml",
        "class: Employee\ntable: employee\nfields:\n  name: String\n  nick: String?\n  \
         companyId: int, relation(parent=company, onDelete=Cascade)\n",
    );
    let run = p.create(V3, &[]);
    run.assert_code(0);
    assert!(run.stderr.contains("Removed empty migration version directory"), "{}", run.stderr);
    assert!(run.stderr.contains(V2), "{}", run.stderr);
    assert_eq!(p.versions(), [V1, V3]);
    assert_eq!(p.read("migrations/migration_registry.txt"), registry(&[V1, V3]));
}

#[test]
fn empty_directories_are_only_pruned_when_a_version_is_written() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    fs::create_dir_all(p.path(&format!("migrations/{V2}"))).unwrap();
    let before = p.snapshot();
    let run = p.create(V3, &[]);
    run.assert_code(0);
    assert!(run.stdout.contains("No changes detected."), "{}", run.stdout);
    assert!(run.stderr.contains("Ignoring empty migration version directory"), "{}", run.stderr);
    assert_eq!(p.snapshot(), before, "no-changes leaves even empty directories alone");

    // A new version may even reuse the name of the empty directory it replaces.
    let run = p.create(V2, &["--empty"]);
    run.assert_code(0);
    assert_eq!(p.versions(), [V1, V2]);
    assert_eq!(p.read("migrations/migration_registry.txt"), registry(&[V1, V2]));
}

#[test]
fn registry_mismatch_is_reported_but_not_fatal() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    // Registry edited by a bad merge: V1 missing, a deleted version still listed.
    p.write("migrations/migration_registry.txt", &registry(&["20250101000000000", "20270101000000000"]));
    p.create(V2, &["--empty"]).assert_code(0);
    assert_eq!(
        p.read("migrations/migration_registry.txt"),
        registry(&[V1, V2]),
        "re-sorted from the listing"
    );
}

#[test]
fn fork_merged_without_registry_conflict_is_reported() {
    let main = Project::shop();
    main.create(V1, &[]).assert_code(0);
    // A branch forks after V1 and adds `invoice` as V2...
    let branch = Project::shop();
    copy_tree(&main.path("migrations"), &branch.path("migrations"));
    let invoice = "class: Invoice\ntable: invoice\nfields:\n  total: int\n";
    branch.write("lib/src/models/invoice.spy.yaml", invoice);
    branch.create(V2, &[]).assert_code(0);
    // ...while main adds `extra` as V3, also on top of V1.
    main.write("lib/src/models/extra.spy.yaml", "class: Extra\ntable: extra\nfields:\n  name: String\n");
    main.create(V3, &[]).assert_code(0);
    // The merge brings in the branch's model and version directory without touching the registry.
    copy_tree(&branch.path(&format!("migrations/{V2}")), &main.path(&format!("migrations/{V2}")));
    main.write("lib/src/models/invoice.spy.yaml", invoice);

    let run = main.create("20260101000000004", &[]);
    run.assert_code(0);
    assert!(run.stderr.contains(&format!("migration {V3} was not created on top of {V2}")), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("migration {V2} is not listed")), "{}", run.stderr);
    // The new version re-creates the branch's table, which V3's definition lacks.
    let m = migration_from_json(&main.read("migrations/20260101000000004/migration.json")).unwrap();
    assert!(
        matches!(&m.actions[..], [MigrationAction::CreateTable(t)] if t.name == "invoice"),
        "{:?}",
        m.actions
    );

    // From now on the history is linear again.
    let run = main.create("20260101000000005", &["--empty"]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
}

// ---------------------------------------------------------------------------------------------
// Errors: exit 1, nothing written
// ---------------------------------------------------------------------------------------------

/// Runs create-migration (after an optional setup) and checks exit 1 and an unchanged project.
#[track_caller]
fn assert_fails(p: &Project, now: &str, args: &[&str]) -> Run {
    let before = p.snapshot();
    let run = p.create(now, args);
    run.assert_code(1);
    assert_eq!(p.snapshot(), before, "a failed run must write nothing\nstderr: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

/// The model error must be printed as `lib/src/models/<file>:<line>:<column>: <message>`.
#[track_caller]
fn assert_model_error(model: &str, needle: &str) {
    assert_model_error_in(&Project::shop(), model, needle);
}

/// [`assert_model_error`] in a prepared project (e.g. one configured for SQLite).
#[track_caller]
fn assert_model_error_in(p: &Project, model: &str, needle: &str) {
    p.write("lib/src/models/thing.spy.yaml", model);
    let run = assert_fails(p, V1, &[]);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("lib/src/models/thing.spy.yaml:"))
        .unwrap_or_else(|| panic!("no located diagnostic in:\n{}", run.stderr));
    let mut parts = line.splitn(4, ':');
    let (_, l, c, msg) = (parts.next(), parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    assert!(l.parse::<usize>().unwrap() >= 1 && c.parse::<usize>().unwrap() >= 1, "{line}");
    assert!(
        msg.to_lowercase().contains(&needle.to_lowercase()),
        "expected {needle:?} in {line}\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("Unable to generate database definition"), "{}", run.stderr);
}

#[test]
fn malformed_yaml() {
    assert_model_error("class: Thing\ntable: thing\nfields:\n  name: String\n   broken: [\n", "invalid YAML");
}

#[test]
fn unknown_type() {
    assert_model_error("class: Thing\ntable: thing\nfields:\n  name: Strin\n", "Strin");
}

#[test]
fn duplicate_table() {
    assert_model_error("class: Thing\ntable: company\nfields:\n  name: String\n", "company");
}

#[test]
fn duplicate_column() {
    assert_model_error(
        "class: Thing\ntable: thing\nfields:\n  name: String\n  other: String, column=name\n",
        "name",
    );
}

#[test]
fn duplicate_index() {
    assert_model_error(
        "class: Thing\ntable: thing\nfields:\n  name: String\nindexes:\n  company_name_idx:\n    fields: name\n",
        "company_name_idx",
    );
}

#[test]
fn bad_identifier() {
    assert_model_error("class: Thing\ntable: Thing-Table\nfields:\n  name: String\n", "Thing-Table");
}

#[test]
fn over_long_table_name() {
    let long = "t".repeat(60);
    assert_model_error(&format!("class: Thing\ntable: {long}\nfields:\n  name: String\n"), "56");
}

#[test]
fn bad_relation() {
    assert_model_error(
        "class: Thing\ntable: thing\nfields:\n  companyId: int, relation(parent=company, onDelete=Explode)\n",
        "Explode",
    );
}

#[test]
fn missing_relation_parent() {
    assert_model_error(
        "class: Thing\ntable: thing\nfields:\n  count: int, relation(parent=nowhere)\n",
        "nowhere",
    );
}

#[test]
fn missing_parent_class() {
    assert_model_error("class: Thing\ntable: thing\nextends: Nowhere\nfields:\n  name: String\n", "Nowhere");
}

#[test]
fn every_model_error_is_reported() {
    let p = Project::shop();
    p.write("lib/src/models/a.spy.yaml", "class: A\ntable: a\nfields:\n  x: Nope\n");
    p.write("lib/src/models/b.spy.yaml", "class: B\ntable: b\nfields:\n  y: Nada\n");
    let run = assert_fails(&p, V1, &[]);
    assert!(run.stderr.contains("lib/src/models/a.spy.yaml:4:"), "{}", run.stderr);
    assert!(run.stderr.contains("lib/src/models/b.spy.yaml:4:"), "{}", run.stderr);
}

// Input the model format allows but the database cannot run: refused at create-migration,
// located in the model file, instead of failing at deploy time.

#[test]
fn bookkeeping_table_names_are_reserved() {
    for table in ["serverpod_migrations", "strata_migration_history"] {
        let model = format!("class: Thing\ntable: {table}\nfields:\n  name: String\n");
        assert_model_error(&model, &format!("table name \"{table}\" is reserved"));
    }
}

/// PostgreSQL allows 1,600 columns per table; `id` counts as one.
#[test]
fn more_columns_than_postgres_allows() {
    let model = |fields: usize| {
        let mut m = String::from("class: Thing\ntable: thing\nfields:\n");
        for i in 0..fields {
            m.push_str(&format!("  f{i}: int?\n"));
        }
        m
    };
    assert_model_error(&model(1600), "table \"thing\" has 1601 columns, but PostgreSQL allows at most 1600");
    let p = Project::shop();
    p.write("lib/src/models/thing.spy.yaml", &model(1599));
    p.create(V1, &[]).assert_code(0);
}

/// SQLite identifiers ignore case: `userId` and `userid` are one column, `thingIdx` and
/// `thingidx` one index. PostgreSQL keeps them apart (quoted identifiers).
#[test]
fn sqlite_names_differing_only_in_case() {
    let columns = "class: Thing\ntable: thing\nfields:\n  userId: int\n  userid: int\n";
    let indexes = "class: Thing\ntable: thing\nfields:\n  a: int\n  b: int\nindexes:\n  \
                   thingIdx:\n    fields: a\n  thingidx:\n    fields: b\n";
    for (model, needle) in [
        (columns, "column \"userid\" differs only in case from column \"userId\""),
        (indexes, "index name \"thingidx\" differs only in case from index \"thingIdx\""),
    ] {
        let p = Project::shop();
        p.write("strata.toml", "dialect = \"sqlite\"\n");
        assert_model_error_in(&p, model, needle);
        let postgres = Project::shop();
        postgres.write("lib/src/models/thing.spy.yaml", model);
        postgres.create(V1, &[]).assert_code(0);
    }
}

/// PostgreSQL has no btree operator class for `json`, so the default index type fails at
/// deploy time; `jsonb` gets a gin index and works, and SQLite stores json as text.
#[test]
fn postgres_index_on_a_json_column() {
    let model = |serialization: &str| {
        format!(
            "class: Thing\ntable: thing\n{serialization}fields:\n  data: Map<String, String>\n\
             indexes:\n  thing_data_idx:\n    fields: data\n"
        )
    };
    assert_model_error(&model(""), "no btree operator class for json");
    let jsonb = Project::shop();
    jsonb.write("lib/src/models/thing.spy.yaml", &model("serializationDataType: jsonb\n"));
    jsonb.create(V1, &[]).assert_code(0);
    let sqlite = Project::shop();
    sqlite.write("strata.toml", "dialect = \"sqlite\"\n");
    sqlite.write("lib/src/models/thing.spy.yaml", &model(""));
    sqlite.create(V1, &[]).assert_code(0);
}

#[test]
fn class_named_like_a_built_in_type() {
    assert_model_error("class: String\nfields:\n  name: String\n", "\"String\" is a built-in type");
}

#[test]
fn corrupt_definition_json_in_latest_version() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    p.write(&format!("migrations/{V1}/definition.json"), "{\n  \"moduleName\": \"shop\",\n  \"tables\": [\n");
    let run = assert_fails(&p, V2, &[]);
    assert!(run.stderr.contains("corrupted migration"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("Migration version: \"{V1}\" for module \"shop\"")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("definition.json:"), "file and position: {}", run.stderr);
    assert!(run.stderr.contains("To fix"), "{}", run.stderr);
}

#[test]
fn wrongly_shaped_definition_json_in_latest_version() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    p.write(&format!("migrations/{V1}/definition.json"), "{\"moduleName\": \"shop\", \"tables\": 3}");
    let run = assert_fails(&p, V2, &[]);
    assert!(run.stderr.contains("corrupted migration") && run.stderr.contains("tables"), "{}", run.stderr);
}

/// Edits the latest version's `definition.json` as JSON, then expects create-migration to
/// refuse it, naming the file, the problem and the fix.
#[track_caller]
fn assert_corrupt_definition(edit: impl FnOnce(&mut serde_json::Value), needle: &str) {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    let path = format!("migrations/{V1}/definition.json");
    let mut json: serde_json::Value = serde_json::from_str(&p.read(&path)).unwrap();
    edit(&mut json);
    p.write(&path, &serde_json::to_string_pretty(&json).unwrap());
    for args in [&["--check"][..], &[]] {
        let run = assert_fails(&p, V2, args);
        assert!(run.stderr.contains(&format!("{path}: ")), "names the file: {}", run.stderr);
        assert!(run.stderr.contains(needle), "expected {needle:?} in {}", run.stderr);
        assert!(run.stderr.contains("To fix"), "{}", run.stderr);
    }
}

#[test]
fn unknown_schema_version_in_latest_version() {
    assert_corrupt_definition(
        |j| j["schemaVersion"] = 99.into(),
        "\"schemaVersion\": 99 is not a format this strata reads (1 to 2); if a newer tool wrote it, upgrade strata",
    );
}

#[test]
fn duplicate_table_in_latest_version() {
    assert_corrupt_definition(
        |j| {
            let first = j["tables"][0].clone();
            j["tables"].as_array_mut().unwrap().push(first);
        },
        "table \"company\" is defined twice",
    );
}

#[test]
fn duplicate_column_in_latest_version() {
    assert_corrupt_definition(
        |j| {
            let columns = j["tables"][0]["columns"].as_array_mut().unwrap();
            columns.push(columns[1].clone());
        },
        "table \"company\" has the column \"name\" twice",
    );
}

#[test]
fn other_module_name_in_latest_version() {
    assert_corrupt_definition(
        |j| j["moduleName"] = "billing".into(),
        "\"moduleName\" is \"billing\" but this project's module is \"shop\"",
    );
}

/// The lineage check needs the latest `migration.json`; an unreadable one used to switch the
/// check off without a word.
#[test]
fn corrupt_migration_json_in_latest_version() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    let path = format!("migrations/{V1}/migration.json");
    p.write(&path, "{\n  \"actions\": [\n    {\"type\": \"createTable\",\n");
    for args in [&["--check"][..], &[]] {
        let run = assert_fails(&p, V2, args);
        assert!(run.stderr.contains(&format!("{path}:")), "names the file: {}", run.stderr);
        assert!(run.stderr.contains("invalid JSON"), "{}", run.stderr);
        assert!(run.stderr.contains(&format!("Migration version: \"{V1}\"")), "{}", run.stderr);
        assert!(run.stderr.contains("To fix"), "{}", run.stderr);
    }
}

#[test]
fn missing_definition_json_in_latest_version() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    fs::remove_file(p.path(&format!("migrations/{V1}/definition.json"))).unwrap();
    let run = assert_fails(&p, V2, &[]);
    assert!(run.stderr.contains("Required migration artifact is missing"), "{}", run.stderr);
    assert!(run.stderr.contains("definition.json"), "{}", run.stderr);
}

#[test]
fn latest_version_with_only_a_gitkeep_is_not_pruned_and_fails() {
    let p = Project::shop();
    p.write(&format!("migrations/{V1}/.gitkeep"), "");
    let run = assert_fails(&p, V2, &[]);
    assert!(run.stderr.contains("Required migration artifact is missing"), "{}", run.stderr);
}

#[test]
fn existing_version_directory() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    p.write("lib/src/models/extra.spy.yaml", "class: Extra\ntable: extra\nfields:\n  name: String\n");
    let run = assert_fails(&p, V1, &[]);
    assert!(
        run.stderr.contains("Unable to create migration. A directory with the same name already exists"),
        "{}",
        run.stderr
    );
}

#[test]
fn clock_behind_the_latest_version() {
    let p = Project::shop();
    p.create(V2, &[]).assert_code(0);
    p.write("lib/src/models/extra.spy.yaml", "class: Extra\ntable: extra\nfields:\n  name: String\n");
    let run = assert_fails(&p, V1, &[]);
    assert!(run.stderr.contains("does not sort after the latest version"), "{}", run.stderr);
}

/// A skewed clock only matters when a version would be written: with nothing to write,
/// `create-migration` and `--check` still report "no changes".
#[test]
fn clock_behind_the_latest_version_without_changes() {
    let p = Project::shop();
    p.create(V2, &[]).assert_code(0);
    let run = p.create(V1, &[]);
    run.assert_code(0);
    assert!(run.stdout.contains("No changes detected"), "{}", run.stdout);
    p.create(V1, &["--check"]).assert_code(0);
}

#[test]
fn bad_tag() {
    let p = Project::shop();
    let run = assert_fails(&p, V1, &["--tag", "Bad_Tag"]);
    assert!(
        run.stderr.contains("Tag names can only contain lowercase letters, numbers, and dashes."),
        "{}",
        run.stderr
    );
}

/// A newline in a tag or a version directory name would forge lines of output (and split the
/// registry): refused, shown escaped.
#[test]
fn version_names_with_control_characters_are_refused() {
    let p = Project::shop();
    let run = assert_fails(&p, V1, &["--tag", "fix\nMigration created: fake"]);
    assert!(run.stderr.contains(r#"Invalid tag "fix\nMigration created: fake""#), "{}", run.stderr);
    assert!(!run.stderr.lines().any(|l| l.starts_with("Migration created")), "{}", run.stderr);

    p.create(V1, &[]).assert_code(0);
    fs::create_dir(p.path(&format!("migrations/{V2}-evil\nline"))).unwrap();
    for args in [&["--check"][..], &[]] {
        let run = assert_fails(&p, V3, args);
        let expected = format!("the version directory name \"{V2}-evil\\nline\" holds a control character");
        assert!(run.stderr.contains(&expected), "{}", run.stderr);
        assert!(!run.stderr.lines().any(|l| l.starts_with("line")), "printed raw: {}", run.stderr);
    }
}

#[test]
fn invalid_strata_now() {
    let p = Project::shop();
    let run = assert_fails(&p, "yesterday", &[]);
    assert!(run.stderr.contains("STRATA_NOW"), "{}", run.stderr);
}

#[test]
fn registry_with_merge_conflict_markers() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    p.write(
        "migrations/migration_registry.txt",
        &format!("{}<<<<<<< HEAD\n{V2}-orders\n=======\n{V2}-invoices\n>>>>>>> feature\n", registry(&[V1])),
    );
    let run = assert_fails(&p, V3, &["--empty"]);
    for needle in ["merge conflict", "-orders", "-invoices", V1, "strata create-migration"] {
        assert!(run.stderr.contains(needle), "{needle} missing: {}", run.stderr);
    }
}

#[test]
fn bad_strata_toml() {
    let p = Project::shop();
    p.write("strata.toml", "dialect = \"postgres\"\nmigratons_dir = \"m\"\n");
    let run = assert_fails(&p, V1, &[]);
    assert!(run.stderr.contains("strata.toml:2:1:"), "{}", run.stderr);
}

#[test]
fn not_a_project() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Project { dir: tmp.path().to_path_buf(), _tmp: tmp };
    let run = assert_fails(&p, V1, &[]);
    assert!(run.stderr.contains("not a strata project"), "{}", run.stderr);
}

#[test]
fn sqlite_dialect_writes_sqlite_sql() {
    let p = Project::shop();
    p.write("strata.toml", "dialect = \"sqlite\"\n");
    p.create(V1, &[]).assert_code(0);
    let sql = p.read(&format!("migrations/{V1}/definition.sql"));
    assert!(sql.contains("CREATE TABLE \"company\""), "{sql}");
    assert!(!sql.contains("bigserial"), "PostgreSQL types must not leak into SQLite: {sql}");
}

#[test]
fn dialect_rejection_is_an_error_even_with_force() {
    let p = Project::shop();
    p.write("strata.toml", "dialect = \"sqlite\"\n");
    p.write(
        "lib/src/models/membership.spy.yaml",
        "class: Membership\ntable: membership\nfields:\n  tenantId: int\n  deletedAt: DateTime?\n\
         indexes:\n  membership_deleted_idx:\n    fields: tenantId, deletedAt\n    unique: true\n    \
         nulls_distinct: false\n",
    );
    let run = assert_fails(&p, V1, &["--force"]);
    assert!(run.stderr.contains("Unable to create migration for the \"sqlite\" database"), "{}", run.stderr);
    assert!(run.stderr.contains("membership_deleted_idx"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// Concurrency and leftovers: the project lock
// ---------------------------------------------------------------------------------------------

/// Four runs at once on one change: the project lock makes exactly one of them write the
/// version; the others re-read the latest under the lock and find nothing to do. Without the
/// lock each run wrote its own sibling version with the same `CREATE TABLE`.
#[test]
fn concurrent_runs_create_exactly_one_version() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    for round in 0..6 {
        let table = format!("round{round}");
        p.write(
            &format!("lib/src/models/{table}.spy.yaml"),
            &format!("class: Round{round}\ntable: {table}\nfields:\n  n: int\n"),
        );
        let before = p.versions();
        // Distinct clocks, so the runs do not merely collide on one directory name.
        let children: Vec<_> =
            (0..4).map(|k| p.spawn_create(&format!("2026010101{round:02}00{k:03}"))).collect();
        let runs: Vec<Run> = children.into_iter().map(|c| c.wait_with_output().unwrap().into()).collect();
        for run in &runs {
            run.assert_code(0);
        }
        let created = runs.iter().filter(|r| r.stdout.contains("Migration created")).count();
        let unchanged = runs.iter().filter(|r| r.stdout.contains("No changes detected")).count();
        assert_eq!((created, unchanged), (1, 3), "round {round}: {runs:#?}");

        let after = p.versions();
        assert_eq!(after.len(), before.len() + 1, "round {round}: exactly one new version: {after:?}");
        let refs: Vec<&str> = after.iter().map(String::as_str).collect();
        assert_eq!(p.read("migrations/migration_registry.txt"), registry(&refs), "round {round}");
        let m = migration_from_json(&p.read(&format!("migrations/{}/migration.json", after.last().unwrap())))
            .unwrap();
        assert!(
            matches!(&m.actions[..], [MigrationAction::CreateTable(t)] if t.name == table),
            "round {round}: {:?}",
            m.actions
        );
    }
    let check = p.create("20260101020000000", &["--check"]);
    check.assert_code(0);
    assert_eq!(check.stderr, "", "the chain is linear: no lineage warning");
}

/// Two versions built on the same parent (as concurrent runs used to write them): the second
/// repeats the first's `CREATE TABLE`. Replaying it in memory is a no-op, so only the
/// precondition check can see it; `--check` and create-migration must both report it.
#[test]
fn identical_sibling_versions_are_reported() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    p.write("lib/src/models/invoice.spy.yaml", "class: Invoice\ntable: invoice\nfields:\n  total: int\n");
    p.create(V2, &[]).assert_code(0);
    copy_tree(&p.path(&format!("migrations/{V2}")), &p.path(&format!("migrations/{V3}")));
    p.write("migrations/migration_registry.txt", &registry(&[V1, V2, V3]));

    for (args, code) in [(&["--check"][..], 2), (&[][..], 0)] {
        let run = p.create("20260101000000004", args);
        run.assert_code(code);
        let expected =
            format!("migration {V3} was created on the same parent as {V2} instead of on top of it");
        assert!(run.stderr.contains(&expected), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("creates table \"invoice\", which already exists"), "{}", run.stderr);
        assert!(run.stderr.contains("delete it and run `strata create-migration`"), "{}", run.stderr);
    }
}

/// A run killed while writing leaves `.strata-tmp-*` behind (the staged version directory and
/// the registry's temporary file). The next run that is not a dry run removes them under the
/// project lock, even when it has nothing else to write, and says so.
#[test]
fn next_run_removes_the_leftovers_of_a_killed_run() {
    let p = Project::shop();
    p.create(V1, &[]).assert_code(0);
    let leave_leftovers = || {
        p.write(&format!("migrations/.strata-tmp-{V2}-4242-0/definition.json"), "{\"moduleName\": \"sh");
        p.write("migrations/.strata-tmp-migration_registry.txt-4242-1", "### AUTOMATICALLY");
    };
    let leftovers = || {
        fs::read_dir(p.path("migrations"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".strata-tmp-"))
            .count()
    };

    leave_leftovers();
    p.create(V2, &["--check"]).assert_code(0);
    p.create(V2, &["--dry-run"]).assert_code(0);
    assert_eq!(leftovers(), 2, "dry runs write nothing, not even a clean-up");
    let run = p.create(V2, &[]);
    run.assert_code(0);
    assert!(run.stdout.contains("No changes detected"), "{}", run.stdout);
    assert_eq!(leftovers(), 0, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("Removed migrations/.strata-tmp-{V2}-4242-0")), "{}", run.stderr);

    // A project whose lock file was never created (a Serverpod checkout) is cleaned too.
    fs::remove_file(p.path("migrations/.strata-lock")).unwrap();
    leave_leftovers();
    p.create(V2, &[]).assert_code(0);
    assert_eq!(leftovers(), 0);
}
