//! How `create-migration` decides renames: never silently. Off a terminal, undecided candidates
//! block (exit 3) with the exact flags to pass; `--rename` chooses, `--no-rename` accepts drop +
//! add (then the usual `--force` rule); a `--rename` that names nothing is an error. On a
//! terminal (`script` gives one) each candidate is asked, Django style.

mod common;

use std::fs;
use std::io::Write as _;

use common::{Project, Run, BIN};

const V1: &str = "20260101000000001";
const V2: &str = "20260102000000001";

/// A project at version 1 with `post.title`, whose models now call the column `heading`.
fn renamed_title() -> Project {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    fs::create_dir_all(dir.join("models")).unwrap();
    fs::write(dir.join("strata.toml"), "module_name = \"blog\"\nmodel_roots = [\"models\"]\n").unwrap();
    let model =
        |field: &str| format!("class: Post\ntable: post\nfields:\n  {field}: String\n  views: int?\n");
    fs::write(dir.join("models/post.spy.yaml"), model("title")).unwrap();
    let p = Project::laid_out(tmp, dir);
    p.run_at(V1, &["create-migration"]).code(0);
    fs::write(p.dir.join("models/post.spy.yaml"), model("heading")).unwrap();
    p
}

fn migration_sql(p: &Project) -> String {
    fs::read_to_string(p.dir.join("migrations").join(V2).join("migration.sql")).unwrap()
}

#[test]
fn off_a_terminal_an_undecided_rename_blocks_with_the_flags_to_pass() {
    let p = renamed_title();
    let before = p.files();
    for args in [&["create-migration"][..], &["create-migration", "--force"][..]] {
        p.run_at(V2, args)
            .code(3)
            .stderr_says("these drops may be renames; nothing was written")
            .stderr_says("column post.title to post.heading?  --rename post.title=post.heading")
            .stderr_says("--no-rename");
    }
    assert_eq!(p.files(), before, "nothing is written");
    let json = p.run_at(V2, &["create-migration", "--json"]);
    json.code(3);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["outcome"], "blocked");
    assert_eq!(v["renames"][0]["flag"], "post.title=post.heading");
    assert_eq!(v["renames"][0]["ambiguous"], false);
}

#[test]
fn rename_flag_emits_a_rename_and_no_drop() {
    let p = renamed_title();
    p.run_at(V2, &["create-migration", "--rename", "post.title=post.heading"]).code(0);
    let sql = migration_sql(&p);
    assert!(sql.contains("ALTER TABLE \"post\" RENAME COLUMN \"title\" TO \"heading\";"), "{sql}");
    assert!(!sql.contains("DROP COLUMN") && !sql.contains("ADD COLUMN"), "{sql}");
}

#[test]
fn no_rename_accepts_drop_and_add_under_the_force_rule() {
    let p = renamed_title();
    p.run_at(V2, &["create-migration", "--no-rename"]).code(3).says("Migration aborted due to warnings");
    p.run_at(V2, &["create-migration", "--no-rename", "--force"]).code(0);
    // Serverpod's rule for a NOT NULL column without default: the whole table is recreated.
    let sql = migration_sql(&p);
    assert!(sql.contains("DROP TABLE \"post\" CASCADE;"), "{sql}");
}

#[test]
fn a_rename_that_matches_nothing_is_an_error_naming_it() {
    let p = renamed_title();
    let before = p.files();
    p.run_at(V2, &["create-migration", "--rename", "post.subtitle=post.heading"]).code(1).stderr_says(
        "--rename post.subtitle=post.heading: column post.subtitle does not exist in the previous migration",
    );
    p.run_at(V2, &["create-migration", "--rename", "post.title"])
        .code(1)
        .stderr_says("--rename post.title: it has no \"=\"");
    assert_eq!(p.files(), before);
}

/// Runs create-migration on a pseudo-terminal, typing `answers`.
fn on_terminal(p: &Project, extra: &str, answers: &str) -> Run {
    let cmd = format!("{BIN} -C '{}' create-migration {extra}", p.dir.display());
    let mut child = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("STRATA_NOW", V2)
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux gives the command a terminal");
    child.stdin.take().unwrap().write_all(answers.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn on_a_terminal_yes_renames() {
    let p = renamed_title();
    on_terminal(&p, "", "y\n").code(0).says("Did you rename column post.title to post.heading? [y/N]");
    let sql = migration_sql(&p);
    assert!(sql.contains("RENAME COLUMN \"title\" TO \"heading\""), "{sql}");
}

#[test]
fn on_a_terminal_no_means_drop_and_add_which_still_needs_force() {
    let p = renamed_title();
    let before = p.files();
    on_terminal(&p, "", "n\n")
        .code(3)
        .says("Did you rename column post.title to post.heading?")
        .says("--force");
    assert_eq!(p.files(), before);
    on_terminal(&p, "--force", "\n").code(0);
    let sql = migration_sql(&p);
    assert!(sql.contains("DROP TABLE \"post\" CASCADE;") && !sql.contains("RENAME"), "{sql}");
}

/// `post.title` (nullable) is gone and two new columns of its shape appear.
fn two_matches() -> Project {
    let p = renamed_title();
    let model = |fields: &str| format!("class: Post\ntable: post\nfields:\n{fields}  views: int?\n");
    fs::write(p.dir.join("models/post.spy.yaml"), model("  title: String?\n")).unwrap();
    fs::remove_dir_all(p.dir.join("migrations")).unwrap();
    p.run_at(V1, &["create-migration"]).code(0);
    fs::write(p.dir.join("models/post.spy.yaml"), model("  heading: String?\n  subtitle: String?\n"))
        .unwrap();
    p
}

#[test]
fn an_ambiguous_rename_is_listed_as_such_and_asked_once_answered() {
    let p = two_matches();
    p.run_at(V2, &["create-migration"])
        .code(3)
        .stderr_says("column post.title to post.heading? (ambiguous")
        .stderr_says("column post.title to post.subtitle? (ambiguous");
    // Yes to the first pair: the second one uses the same column and is not asked.
    let run = on_terminal(&p, "", "y\n");
    run.code(0);
    assert_eq!(run.stdout.matches("Did you rename").count(), 1, "{}", run.stdout);
    let sql = migration_sql(&p);
    assert!(
        sql.contains("RENAME COLUMN \"title\" TO \"heading\"") && sql.contains("ADD COLUMN \"subtitle\""),
        "{sql}"
    );
}
