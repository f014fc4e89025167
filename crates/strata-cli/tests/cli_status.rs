//! `strata status`: formats and exit codes (0 up to date, 2 pending, 1 error).

use std::path::Path;
use std::process::{Command, Output};

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

fn strata(dir: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("-C")
        .arg(dir)
        .args(args)
        .arg("--database-url")
        .arg(url)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

#[test]
fn status_formats_and_exit_codes_on_postgres() {
    let db = strata_testdb::PgScratch::new("status");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/apply/pg"), dir.path());

    let o = strata(dir.path(), &db.url, &["status"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("Version")
            && out.contains("Dialect")
            && out.contains("Started At")
            && out.contains("Finished At")
    );
    assert_eq!(out.matches("pending").count(), 3, "{out}");

    assert_eq!(
        strata(dir.path(), &db.url, &["apply", "--to", "20250102000000000-orders"]).status.code(),
        Some(0)
    );
    let o = strata(dir.path(), &db.url, &["status", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let states: Vec<&str> =
        j["versions"].as_array().unwrap().iter().map(|v| v["status"].as_str().unwrap()).collect();
    assert_eq!(states, ["baseline", "applied", "pending"]);
    assert_eq!(j["installed"], "20250102000000000-orders");
    assert_eq!(j["versions"][1]["kind"], "definition");
    assert!(j["versions"][1]["duration_ms"].is_i64());

    assert_eq!(strata(dir.path(), &db.url, &["apply"]).status.code(), Some(0));
    let o = strata(dir.path(), &db.url, &["status", "--format", "md"]);
    assert_eq!(o.status.code(), Some(0));
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(md.starts_with("| Version | Dialect | Started At | Finished At | Duration | Status |"), "{md}");
    assert!(md.contains("| postgres |"), "{md}");

    // Installed version gone from disk: exit 1, the table still shows it.
    std::fs::remove_dir_all(dir.path().join(format!("migrations/{V3}"))).unwrap();
    let o = strata(dir.path(), &db.url, &["status"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("missing on disk"));
    assert!(String::from_utf8_lossy(&o.stderr).contains(V3));
    let o = strata(dir.path(), &db.url, &["apply"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(V3) && err.contains("not found in the project files"), "{err}");
}
