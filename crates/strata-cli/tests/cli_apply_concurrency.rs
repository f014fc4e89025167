//! 8 `strata apply` processes started at once against one PostgreSQL database: the advisory
//! lock makes every migration run exactly once and every process succeed.

use std::path::Path;
use std::process::{Command, Stdio};

use sqlx::Connection;

const V1: &str = "20250101000000000";

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

fn strata(dir: &Path, url: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_strata"));
    c.arg("-C").arg(dir).arg("apply").arg("--database-url").arg(url).args(extra).env_remove("DATABASE_URL");
    c
}

#[test]
fn eight_concurrent_processes_apply_each_migration_exactly_once() {
    let db = strata_testdb::PgScratch::new("concurrent");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/apply/pg"), dir.path());
    let st = strata(dir.path(), &db.url, &["--to", V1]).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));

    let children: Vec<_> = (0..8)
        .map(|_| {
            strata(dir.path(), &db.url, &[]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for o in &outputs {
        let stdout = String::from_utf8_lossy(&o.stdout);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
        // apply reports on stderr; stdout stays empty (it carries only a dry run's SQL).
        assert!(stdout.trim().is_empty(), "stdout:\n{stdout}");
        assert!(!stderr.to_lowercase().contains("error") && !stderr.contains("failed"), "{stderr}");
    }
    let applied_by: usize = outputs
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stderr).contains("Applied 2 migrations"))
        .count();
    assert_eq!(applied_by, 1, "exactly one process should have applied the two pending migrations");

    let rows: Vec<(String, String, i64)> = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query_as("SELECT version, status, count(*) FROM strata_migration_history GROUP BY version, status ORDER BY version, status")
            .fetch_all(&mut c)
            .await
            .unwrap()
    });
    let expected: Vec<(String, String, i64)> =
        ["20250101000000000", "20250102000000000-orders", "20250103000000000"]
            .iter()
            .map(|v| (v.to_string(), "ok".to_string(), 1))
            .collect();
    assert_eq!(rows, expected);
}
