//! `strata apply` end to end on the embedded SQLite default and with `--mode` config files.

use std::path::Path;
use std::process::{Command, Output};

const V1: &str = "20250101000000000";
const V2: &str = "20250102000000000-orders";
const V3: &str = "20250103000000000";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/apply").join(name), dir.path());
    dir
}

fn strata(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("SERVERPOD_DATABASE_HOST")
        .env_remove("SERVERPOD_PASSWORD_database")
        .env_remove("SERVERPOD_DATABASE_PASSWORD")
        .output()
        .unwrap()
}

/// (stdout, stderr). `apply` and `status` errors go to stderr; apply's progress report too, so
/// for apply the first element is stdout followed by stderr (a dry run's SQL is on stdout).
fn text(o: &Output) -> (String, String) {
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    (format!("{out}{err}"), err.into_owned())
}

#[test]
fn embedded_sqlite_default_dry_run_apply_fail_retry() {
    let dir = fixture("sqlite");
    let db = dir.path().join(".strata/strata.db");

    // Dry run: prints the plan and the SQL, creates nothing.
    let o = strata(dir.path(), &["apply", "--dry-run"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(
        out.contains("dry run")
            && out.contains(&format!("{V3} (definition.sql)"))
            && out.contains("CREATE TABLE \"customer\""),
        "{out}"
    );
    assert!(out.contains("embedded SQLite default"), "{out}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.starts_with("-- plan (1 step):") && !stdout.contains("database:"),
        "only SQL on stdout: {stdout}"
    );
    assert!(!db.exists() && !dir.path().join(".strata").exists());

    let o = strata(dir.path(), &["apply", "--to", V1]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(db.exists());
    assert!(
        out.contains(&format!("applying {V1} (definition.sql)"))
            && out.contains(&format!("applied {V1} (definition.sql) in ")),
        "{out}"
    );
    assert!(out.contains(&format!("the database is at {V1}")), "{out}");

    // Break V3: V2 applies, V3 fails; exit 1 naming the failure and the partial progress.
    let v3 = dir.path().join(format!("migrations/{V3}/migration.sql"));
    let good = std::fs::read_to_string(&v3).unwrap();
    std::fs::write(&v3, good.replace("\nCOMMIT;", "\nINSERT INTO \"nope\" VALUES (1);\nCOMMIT;")).unwrap();
    let o = strata(dir.path(), &["apply"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains(&format!("applied {V2} (migration.sql)")), "{out}");
    assert!(out.contains(&format!("failed {V3} (migration.sql)")), "{out}");
    assert!(
        err.contains("no such table: nope")
            && err.contains(&format!("applied before the failure (committed): {V2}")),
        "{err}"
    );

    let o = strata(dir.path(), &["status"]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("failed") && out.contains("no such table: nope"), "{out}");

    std::fs::write(&v3, good).unwrap();
    let o = strata(dir.path(), &["apply"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("retrying after a failed attempt"), "{out}");
    let o = strata(dir.path(), &["apply"]);
    assert!(text(&o).0.contains(&format!("Latest database migration already applied ({V3})")));
    assert_eq!(strata(dir.path(), &["status"]).status.code(), Some(0));
}

#[test]
fn modified_file_is_refused_until_accepted() {
    let dir = fixture("sqlite");
    assert!(strata(dir.path(), &["apply", "--to", V2]).status.success());
    let v2 = dir.path().join(format!("migrations/{V2}/definition.sql"));
    let edited = std::fs::read_to_string(&v2).unwrap().replace("BEGIN;", "-- formatted\nBEGIN;");
    std::fs::write(&v2, edited).unwrap();

    let o = strata(dir.path(), &["status", "--format", "csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).0.contains(&format!("{V2},definition,sqlite,")) && text(&o).0.contains(",modified,"),
        "{}",
        text(&o).0
    );

    let o = strata(dir.path(), &["apply"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(err.contains(&format!("strata apply --accept-modified {V2}")), "{err}");
    assert!(!out.contains(&format!("applying {V3}")), "nothing may run while a file is modified: {out}");

    let o = strata(dir.path(), &["apply", "--accept-modified", V2]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains(&format!("accepted the edited definition.sql of {V2}")), "{out}");
    assert!(out.contains(&format!("applied {V3} (migration.sql)")), "{out}");
    assert_eq!(strata(dir.path(), &["status"]).status.code(), Some(0));
}

#[test]
fn mode_config_password_never_printed() {
    let pg = strata_testdb::PgScratch::new("clipw");
    let dir = fixture("pg");
    let secret = "Zq9-very-secret-pw";
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/staging.yaml"),
        format!(
            "database:\n  host: 127.0.0.1\n  port: 5432\n  name: {}\n  user: postgres\n  requireSsl: false\n",
            pg.name
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("config/passwords.yaml"), format!("shared:\n  database: '{secret}'\n"))
        .unwrap();

    let mut all = String::new();
    for args in [
        &["status", "--mode", "staging"][..],
        &["apply", "--mode", "staging", "--dry-run"],
        &["apply", "--mode", "staging"],
        &["status", "--mode", "staging", "--format", "json"],
    ] {
        let o = strata(dir.path(), args);
        let (out, err) = text(&o);
        all.push_str(&out);
        all.push_str(&err);
        assert!(o.status.code() == Some(0) || o.status.code() == Some(2), "{args:?}: {out}{err}");
    }
    assert!(all.contains(&format!("postgres://postgres@127.0.0.1:5432/{}", pg.name)), "{all}");
    // An unreachable port: a connection error, still without the password.
    std::fs::write(
        dir.path().join("config/production.yaml"),
        "database:\n  host: 127.0.0.1\n  port: 1\n  name: x\n  user: postgres\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config/passwords.yaml"),
        format!("production:\n  database: '{secret}'\n"),
    )
    .unwrap();
    let o = strata(dir.path(), &["apply", "--mode", "production"]);
    assert_eq!(o.status.code(), Some(1));
    let (out, err) = text(&o);
    all.push_str(&out);
    all.push_str(&err);
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!all.contains(secret), "password leaked:\n{all}");
}

/// `strata apply | head -1`: the reader goes away after one line. The run must still apply every
/// migration and exit 0 (before the fix SIGPIPE killed it part-way, exit 141).
#[test]
fn a_closed_output_pipe_does_not_stop_apply_part_way() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = fixture("sqlite");
    assert!(strata(dir.path(), &["apply", "--to", V1]).status.success());
    for v in [V2, V3] {
        std::fs::remove_dir_all(dir.path().join("migrations").join(v)).unwrap();
    }
    let versions: Vec<String> = (0..150).map(|i| format!("20250201{i:09}")).collect();
    for v in &versions {
        let sql = format!(
            "BEGIN;\nINSERT INTO \"customer\" (\"name\") VALUES ('{v}');\n\
             INSERT INTO \"serverpod_migrations\" (\"module\", \"version\", \"timestamp\")\n    VALUES ('shop', '{v}', CURRENT_TIMESTAMP)\n    \
             ON CONFLICT (\"module\")\n    DO UPDATE SET \"version\" = '{v}', \"timestamp\" = CURRENT_TIMESTAMP;\nCOMMIT;\n"
        );
        let d = dir.path().join("migrations").join(v);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("migration.sql"), &sql).unwrap();
        std::fs::write(d.join("definition.sql"), &sql).unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("-C")
        .arg(dir.path())
        .arg("apply")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut first).unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "apply must finish whatever happens to its output (first line: {first})"
    );
    let o = strata(dir.path(), &["status", "--format", "json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["installed"], versions.last().unwrap().as_str());
    assert_eq!(j["up_to_date"], true);
}
