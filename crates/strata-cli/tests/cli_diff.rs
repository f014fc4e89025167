//! `strata diff` end to end: sides, formats, exit codes (0 equal, 2 differ, 1 error).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use strata_schema::{migration_from_json, MigrationAction};

const BIN: &str = env!("CARGO_BIN_EXE_strata");
const V1: &str = "20260101000000001";

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

struct Project {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
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

impl Project {
    /// The shop fixture with one migration (`V1`) created from its models.
    fn shop_with_migration() -> Project {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("shop");
        copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/projects/shop"), &dir);
        let p = Project { _tmp: tmp, dir };
        p.run(&["create-migration"]).assert_code(0);
        p
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_at(V1, args)
    }

    fn run_at(&self, now: &str, args: &[&str]) -> Run {
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

    fn diff(&self, from: &str, to: &str, extra: &[&str]) -> Run {
        let mut args = vec!["diff", "--from", from, "--to", to];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn add_email_column(&self) {
        fs::write(
            self.dir.join("lib/src/models/employee.spy.yaml"),
            "class: Employee\ntable: employee\nfields:\n  name: String\n  email: String?\n  \
             companyId: int, relation(parent=company, onDelete=Cascade)\n",
        )
        .unwrap();
    }
}

#[test]
fn equal_sides_exit_0_and_print_no_sql() {
    let p = Project::shop_with_migration();
    for (from, to) in [("latest", "models"), ("models", "latest"), ("latest", V1), ("empty", "empty")] {
        let run = p.diff(from, to, &[]);
        run.assert_code(0);
        assert_eq!(run.stdout, "", "{from} -> {to}");
        assert_eq!(run.stderr, "", "no summary when stdout is not a terminal");
        // JSON is always JSON: the empty migration.json.
        let run = p.diff(from, to, &["--format", "json"]);
        run.assert_code(0);
        assert!(migration_from_json(run.stdout.trim_end()).unwrap().actions.is_empty(), "{from} -> {to}");
    }
    let run = p.diff("latest", "models", &["--summary"]);
    run.assert_code(0);
    assert!(run.stderr.contains("No differences."), "{}", run.stderr);
}

#[test]
fn model_change_differs_with_sql() {
    let p = Project::shop_with_migration();
    p.add_email_column();
    let run = p.diff("latest", "models", &[]);
    run.assert_code(2);
    assert!(run.stdout.contains("ALTER TABLE \"employee\""), "{}", run.stdout);
    assert!(run.stdout.contains("\"email\""), "{}", run.stdout);
    assert!(run.stdout.contains("BEGIN;") && run.stdout.contains("COMMIT;"), "{}", run.stdout);
    assert_eq!(run.stderr, "");

    // Reversed, the column is dropped.
    let run = p.diff("models", "latest", &[]);
    run.assert_code(2);
    assert!(run.stdout.contains("DROP COLUMN \"email\""), "{}", run.stdout);
}

#[test]
fn models_side_previews_the_next_migration_sql() {
    let p = Project::shop_with_migration();
    p.add_email_column();
    let v2 = "20260101000000002";
    let preview = p.run_at(v2, &["diff", "--from", "latest", "--to", "models"]);
    preview.assert_code(2);
    assert!(
        !preview.stdout.contains("DELETE FROM"),
        "the project keeps its bookkeeping row: {}",
        preview.stdout
    );
    p.run_at(v2, &["create-migration"]).assert_code(0);
    let written = fs::read_to_string(p.dir.join(format!("migrations/{v2}/migration.sql"))).unwrap();
    assert_eq!(preview.stdout, written);
}

#[test]
fn json_format_is_migration_json() {
    let p = Project::shop_with_migration();
    p.add_email_column();
    let run = p.diff("latest", "models", &["--format", "json"]);
    run.assert_code(2);
    let m = migration_from_json(&run.stdout).unwrap();
    match &m.actions[..] {
        [MigrationAction::AlterTable(t)] => assert_eq!(t.add_columns[0].name, "email"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn summary_lists_tables_and_warnings() {
    let p = Project::shop_with_migration();
    p.add_email_column();
    let run = p.diff("latest", "models", &["--summary"]);
    run.assert_code(2);
    assert!(run.stderr.contains("tables altered: employee"), "{}", run.stderr);
    assert!(run.stderr.contains("no warnings"), "{}", run.stderr);

    let run = p.diff("latest", "empty", &["--summary"]);
    run.assert_code(2);
    assert!(run.stdout.contains("DROP TABLE"), "{}", run.stdout);
    assert!(run.stderr.contains("tables dropped: "), "{}", run.stderr);
    assert!(run.stderr.contains("[destructive]"), "{}", run.stderr);

    let run = p.diff("empty", "latest", &["--summary"]);
    run.assert_code(2);
    assert!(run.stderr.contains("tables created: company, employee"), "{}", run.stderr);
}

#[test]
fn sides_can_be_paths_or_version_names() {
    let p = Project::shop_with_migration();
    let dir = format!("migrations/{V1}");
    let file = format!("migrations/{V1}/definition.json");
    let abs = p.dir.join(&file).display().to_string();
    for side in [V1, dir.as_str(), file.as_str(), abs.as_str()] {
        p.diff(side, "models", &[]).assert_code(0);
        let run = p.diff("empty", side, &[]);
        run.assert_code(2);
        assert!(run.stdout.contains("CREATE TABLE \"company\""), "{side}: {}", run.stdout);
    }
}

#[test]
fn definition_files_diff_outside_a_project() {
    let p = Project::shop_with_migration();
    let elsewhere = tempfile::tempdir().unwrap();
    let file = p.dir.join(format!("migrations/{V1}/definition.json"));
    let out = Command::new(BIN)
        .args(["diff", "--from", file.to_str().unwrap(), "--to", file.to_str().unwrap()])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // But `models` needs a project.
    let out = Command::new(BIN)
        .args(["diff", "--from", file.to_str().unwrap(), "--to", "models"])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a strata project"));
}

#[test]
fn errors_exit_1() {
    let p = Project::shop_with_migration();
    let cases: [(&str, &str, &str); 4] = [
        ("20990101000000000", "models", "Unable to find the specified migration"),
        ("nonsense", "models", "no such file, directory or version"),
        ("models", "db:nope://nowhere", ""),
        ("migrations", "models", "Required migration artifact is missing"),
    ];
    for (from, to, needle) in cases {
        let run = p.diff(from, to, &[]);
        run.assert_code(1);
        assert!(run.stderr.contains(needle), "{from} -> {to}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

#[test]
fn corrupt_definition_is_located() {
    let p = Project::shop_with_migration();
    fs::write(p.dir.join(format!("migrations/{V1}/definition.json")), "{\n  \"tables\": [,]\n}").unwrap();
    let run = p.diff("latest", "models", &[]);
    run.assert_code(1);
    assert!(run.stderr.contains("definition.json:2:"), "{}", run.stderr);
}

#[test]
fn invalid_models_are_an_error() {
    let p = Project::shop_with_migration();
    fs::write(p.dir.join("lib/src/models/bad.spy.yaml"), "class: Bad\ntable: bad\nfields:\n  x: Nope\n")
        .unwrap();
    let run = p.diff("latest", "models", &[]);
    run.assert_code(1);
    assert!(run.stderr.contains("lib/src/models/bad.spy.yaml:4:"), "{}", run.stderr);
}

#[test]
fn latest_without_versions_is_an_error() {
    let p = Project::shop_with_migration();
    fs::remove_dir_all(p.dir.join("migrations")).unwrap();
    let run = p.diff("latest", "models", &[]);
    run.assert_code(1);
    assert!(run.stderr.contains("no migration versions"), "{}", run.stderr);
    // `empty` is the way to diff from nothing.
    p.diff("empty", "models", &[]).assert_code(2);
}
