//! Shared support for end-to-end tests that run the `strata` binary on a copy of a fixture
//! project (used by `cli_index_safety.rs`, `cli_streams.rs` and `cli_repair.rs`).
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_strata");
/// The clock for the first version a test creates.
pub const V1: &str = "20260101000000001";
/// The clock for everything run after it.
pub const LATER: &str = "20260102000000001";

/// One finished run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
    /// `text` is on stdout or stderr.
    #[track_caller]
    pub fn says(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text) || self.stderr.contains(text),
            "expected {text:?}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
    #[track_caller]
    pub fn stderr_says(&self, text: &str) -> &Self {
        assert!(self.stderr.contains(text), "expected {text:?} on stderr\nstderr:\n{}", self.stderr);
        self
    }
}

/// A fixture project copied into a temporary directory.
pub struct Project {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

/// Writes `text` to `path`, creating its parent directories.
pub fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

pub fn copy_tree(from: &Path, to: &Path) {
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

impl Project {
    /// A project a test laid out itself in `dir`, inside `tmp` (kept alive with it).
    pub fn laid_out(tmp: tempfile::TempDir, dir: PathBuf) -> Project {
        Project { _tmp: tmp, dir }
    }

    /// A copy of the fixture project at `fixtures/<rel>`, nothing run yet.
    pub fn fixture(rel: &str) -> Project {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("project");
        copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(rel), &dir);
        Project { _tmp: tmp, dir }
    }

    /// The PostgreSQL `store` fixture (company, employee) with its first version `V1` created.
    pub fn store() -> Project {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/introspect/projects/store"),
            &dir,
        );
        let p = Project { _tmp: tmp, dir };
        p.run_at(V1, &["create-migration"]).code(0);
        p
    }

    /// [`Project::store`], on SQLite when `sqlite` (its V1 re-created for that dialect).
    pub fn store_on(sqlite: bool) -> Project {
        let p = Project::store();
        if sqlite {
            fs::write(p.dir.join("strata.toml"), "dialect = \"sqlite\"\n").unwrap();
            fs::remove_dir_all(p.dir.join("migrations")).unwrap();
            p.run_at(V1, &["create-migration"]).code(0);
        }
        p
    }

    /// Edits the `store` model `file` (e.g. `company`) by adding `field` before its indexes, and
    /// creates the next version at clock `at`.
    pub fn add_store_field(&self, file: &str, field: &str, at: &str) {
        let path = self.dir.join("lib/src/models").join(format!("{file}.spy.yaml"));
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replace("indexes:", &format!("  {field}\nindexes:"))).unwrap();
        self.run_at(at, &["create-migration"]).code(0);
    }

    /// Runs `strata` in the project directory at clock `now`, without the caller's
    /// `DATABASE_URL`.
    pub fn run_at(&self, now: &str, args: &[&str]) -> Run {
        self.run_env(now, args, &[])
    }

    /// [`Project::run_at`] with environment variables set (`Some`) or removed (`None`).
    pub fn run_env(&self, now: &str, args: &[&str], env: &[(&str, Option<&Path>)]) -> Run {
        let mut command = Command::new(BIN);
        command.args(args).current_dir(&self.dir).env("STRATA_NOW", now);
        command.env_remove("DATABASE_URL").env_remove("RUST_BACKTRACE");
        for (name, value) in env {
            match value {
                Some(v) => command.env(name, v),
                None => command.env_remove(name),
            };
        }
        let out = command.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `strata` at the clock after `V1`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_at(LATER, args)
    }

    /// `migrations/<version>/definition.json`.
    pub fn definition_path(&self, version: &str) -> PathBuf {
        self.dir.join("migrations").join(version).join("definition.json")
    }

    /// The version directories under `migrations/`, sorted (oldest first).
    pub fn versions(&self) -> Vec<String> {
        version_dirs(&self.dir.join("migrations"))
    }

    /// Every path under the project, relative and sorted: compared before and after a run to
    /// prove that nothing was written.
    pub fn files(&self) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                out.push(path.strip_prefix(root).unwrap().display().to_string());
                if path.is_dir() {
                    walk(root, &path, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.dir, &self.dir, &mut out);
        out.sort();
        out
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// The first column (text) of every row `sql` returns on the PostgreSQL database at `url`.
pub fn pg_strings(url: &str, sql: &str) -> Vec<String> {
    use sqlx::{Connection, Row};
    block_on(async {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let rows = sqlx::query(sql).fetch_all(&mut c).await.unwrap();
        c.close().await.ok();
        rows.iter().map(|r| r.get::<String, _>(0)).collect()
    })
}

/// Runs `sql` on the PostgreSQL database at `url`, panicking with the error.
pub fn pg_exec(url: &str, sql: &str) {
    use sqlx::Connection;
    block_on(async {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap_or_else(|e| panic!("{e}\n{sql}"));
        c.close().await.ok();
    })
}

/// The first column (text) of the first row `sql` returns, or "" when there is none.
pub fn pg_one(url: &str, sql: &str) -> String {
    pg_strings(url, sql).into_iter().next().unwrap_or_default()
}

/// A directory with no strata project: `diff` between two databases needs none.
pub fn no_project() -> Project {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    Project::laid_out(tmp, dir)
}

/// `strata diff --from db:<from> --to db:<to>`.
pub fn diff_dbs(p: &Project, from: &strata_testdb::PgScratch, to: &strata_testdb::PgScratch) -> Run {
    p.run(&["diff", "--from", &format!("db:{}", from.url), "--to", &format!("db:{}", to.url)])
}

/// Diffs `old` → `new` (exit 2), runs the printed SQL on `old` and checks the two are then in
/// sync. Returns the SQL.
#[track_caller]
pub fn migrate_in_sync(
    p: &Project,
    old: &strata_testdb::PgScratch,
    new: &strata_testdb::PgScratch,
) -> String {
    let r = diff_dbs(p, old, new);
    r.code(2);
    pg_exec(&old.url, &r.stdout);
    diff_dbs(p, old, new).code(0).stderr_says("In sync");
    r.stdout
}

/// Zero false drift: `db` diffed against a `CREATE DATABASE ... TEMPLATE` clone of itself prints
/// nothing and exits 0.
#[track_caller]
pub fn assert_no_false_drift(p: &Project, db: &strata_testdb::PgScratch) {
    let clone = db.template_clone("drift_clone");
    let r = diff_dbs(p, db, &clone);
    r.code(0).stderr_says("In sync");
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

/// Polls `f` every 100 ms until it holds, failing the test after `timeout`.
#[track_caller]
pub fn wait_until(what: &str, timeout: std::time::Duration, mut f: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !f() {
        assert!(t0.elapsed() < timeout, "timed out waiting for: {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The directories directly under `migrations`, sorted (oldest version first).
pub fn version_dirs(migrations: &Path) -> Vec<String> {
    let mut versions: Vec<String> = fs::read_dir(migrations)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort();
    versions
}
