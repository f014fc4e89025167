//! `strata create-repair-migration` on SQLite: planted drift is reported, blocked, written
//! with --force, applied with `apply --repair`, and then nothing differs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sqlx::{Connection, SqliteConnection};

const BIN: &str = env!("CARGO_BIN_EXE_strata");

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

fn run(dir: &Path, now: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("STRATA_NOW", now)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn sqlite_drift_is_repaired() {
    let tmp = tempfile::tempdir().unwrap();
    let dir: PathBuf = tmp.path().join("store");
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/introspect/projects/store"), &dir);
    fs::write(dir.join("strata.toml"), "dialect = \"sqlite\"\n").unwrap();
    let db = tmp.path().join("store.db");
    let url = format!("sqlite:{}", db.display());
    let (code, out) = run(&dir, "20260101000000001", &["create-migration"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&dir, "20260101000000001", &["apply", "--database-url", &url]);
    assert_eq!(code, 0, "{out}");

    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let mut c = SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        sqlx::raw_sql(
            "ALTER TABLE employee ADD COLUMN legacy TEXT; CREATE TABLE stray (id INTEGER PRIMARY KEY); \
             DROP INDEX employee_email_idx;",
        )
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.ok();
    });

    let (code, out) = run(&dir, "20260103000000001", &["create-repair-migration", "--database-url", &url]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains(
            "table \"employee\": column \"legacy\" exists in the database but not in 20260101000000001"
        ),
        "{out}"
    );
    assert!(
        out.contains("table \"employee\": index \"employee_email_idx\" is missing from the database"),
        "{out}"
    );
    assert!(out.contains("table \"stray\" is not in the target and will be DROPPED"), "{out}");
    let (code, out) =
        run(&dir, "20260103000000001", &["create-repair-migration", "--database-url", &url, "--force"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&dir, "20260103000000001", &["apply", "--repair", "--database-url", &url]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&dir, "20260104000000001", &["create-repair-migration", "--database-url", &url]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("No changes detected."), "{out}");
}
