//! Shared scaffolding for the apply/status tests: a copy of a fixture project in a temp dir and
//! a scratch database of the same dialect, plus catalog snapshots to prove "nothing changed".
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sqlx::Connection;
use strata_db::{ApplyEvent, ApplyFailure, ApplyOptions, ApplyReport, ConnectionTarget, Driver, Project};
use strata_testdb::{MysqlScratch, PgScratch, SqliteScratch};

pub const V1: &str = "20250101000000000";
pub const V2: &str = "20250102000000000-orders";
pub const V3: &str = "20250103000000000";
pub const RV: &str = "20250201000000000-repair";

pub fn fixture_dir(dialect: Driver) -> PathBuf {
    let name = match dialect {
        Driver::Postgres => "pg",
        Driver::Sqlite => "sqlite",
        Driver::Mysql => "mysql",
    };
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/apply").join(name)
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

enum Scratch {
    Pg(PgScratch),
    Lite(SqliteScratch),
    My(MysqlScratch),
}

/// A fixture project copy + its scratch database.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub project: Project,
    pub target: ConnectionTarget,
    scratch: Scratch,
}

impl Env {
    pub fn new(dialect: Driver, prefix: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixture_dir(dialect), dir.path());
        let project = Project::with_defaults(dir.path(), "shop", dialect);
        let (scratch, url) = match dialect {
            Driver::Postgres => {
                let s = PgScratch::new(prefix);
                let u = s.url.clone();
                (Scratch::Pg(s), u)
            }
            Driver::Sqlite => {
                let s = SqliteScratch::new(prefix);
                let u = format!("sqlite:{}", s.path.display());
                (Scratch::Lite(s), u)
            }
            Driver::Mysql => {
                let s = MysqlScratch::new(prefix);
                let u = s.url.clone();
                (Scratch::My(s), u)
            }
        };
        let target = strata_db::resolve_connection(&project, Some(&url), None).unwrap();
        Env { dir, project, target, scratch }
    }

    pub fn dialect(&self) -> Driver {
        self.project.driver
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Puts the repair template in `repair-migration/`.
    pub fn install_repair(&self) {
        let text = self.read(&format!("repair-templates/{RV}.sql"));
        self.write(&format!("repair-migration/{RV}.sql"), &text);
    }

    pub async fn apply(&self, opts: ApplyOptions) -> Result<ApplyReport, ApplyFailure> {
        strata_db::apply(&self.project, &self.target, &opts, &mut |_e: &ApplyEvent| {}).await
    }

    pub async fn apply_ok(&self, opts: ApplyOptions) -> ApplyReport {
        match self.apply(opts).await {
            Ok(r) => r,
            Err(e) => panic!("apply failed: {e}"),
        }
    }

    /// The scratch database's URL (what an application would be configured with).
    pub fn url(&self) -> String {
        match &self.scratch {
            Scratch::Pg(s) => s.url.clone(),
            Scratch::Lite(s) => format!("sqlite:{}", s.path.display()),
            Scratch::My(s) => s.url.clone(),
        }
    }

    pub fn sqlite_exists(&self) -> bool {
        match &self.scratch {
            Scratch::Lite(s) => s.path.exists(),
            Scratch::Pg(_) | Scratch::My(_) => true,
        }
    }

    /// Runs a query returning text rows (each row's columns joined by `|`).
    pub async fn rows(&self, sql: &str) -> Vec<String> {
        match &self.scratch {
            Scratch::Pg(s) => {
                let mut c = sqlx::PgConnection::connect(&s.url).await.unwrap();
                let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&mut c).await.unwrap();
                rows.into_iter().map(|r| r.0).collect()
            }
            Scratch::Lite(s) => {
                if !s.path.exists() {
                    return Vec::new();
                }
                let mut c =
                    sqlx::SqliteConnection::connect(&format!("sqlite:{}", s.path.display())).await.unwrap();
                let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&mut c).await.unwrap();
                rows.into_iter().map(|r| r.0).collect()
            }
            Scratch::My(s) => {
                let mut c = sqlx::MySqlConnection::connect(&s.url).await.unwrap();
                let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&mut c).await.unwrap();
                rows.into_iter().map(|r| r.0).collect()
            }
        }
    }

    pub async fn exec(&self, sql: &str) {
        match &self.scratch {
            Scratch::Pg(s) => {
                let mut c = sqlx::PgConnection::connect(&s.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
            Scratch::Lite(s) => {
                let mut c =
                    sqlx::SqliteConnection::connect(&format!("sqlite:{}", s.path.display())).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
            Scratch::My(s) => {
                let mut c = sqlx::MySqlConnection::connect(&s.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
        }
    }

    /// Every table, column and index of the user schema, plus the `serverpod_migrations` rows:
    /// equal snapshots mean the schema and the recorded versions did not change.
    pub async fn snapshot(&self) -> Vec<String> {
        let mut out = match self.dialect() {
            Driver::Postgres => {
                self.rows(
                    "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable \
                     FROM information_schema.columns WHERE table_schema = 'public' \
                     UNION ALL SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public' \
                     UNION ALL SELECT 'constraint ' || conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' \
                     ORDER BY 1",
                )
                .await
            }
            Driver::Sqlite => self.rows("SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY 1").await,
            Driver::Mysql => {
                self.rows(
                    "SELECT CAST(CONCAT(table_name, '.', column_name, ' ', column_type, ' ', is_nullable) AS CHAR) \
                     FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY 1",
                )
                .await
            }
        };
        if self.has_table("serverpod_migrations").await {
            out.extend(
                self.rows(
                    "SELECT 'version ' || module || '=' || version FROM serverpod_migrations ORDER BY 1",
                )
                .await,
            );
        }
        out
    }

    /// The snapshot without strata's own table (for comparisons across runs that add history).
    pub async fn user_snapshot(&self) -> Vec<String> {
        self.snapshot().await.into_iter().filter(|l| !l.contains("strata_migration_history")).collect()
    }

    pub async fn has_table(&self, name: &str) -> bool {
        let sql = match self.dialect() {
            Driver::Postgres => format!("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_name = '{name}'"),
            Driver::Sqlite => format!("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '{name}'"),
            Driver::Mysql => format!("SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{name}'"),
        };
        !self.rows(&sql).await.is_empty()
    }

    /// `version kind status` per history row, oldest first.
    pub async fn history(&self) -> Vec<String> {
        if !self.has_table("strata_migration_history").await {
            return Vec::new();
        }
        let row = match self.dialect() {
            Driver::Mysql => "CONCAT(version, ' ', kind, ' ', status)",
            _ => "version || ' ' || kind || ' ' || status",
        };
        self.rows(&format!("SELECT {row} FROM strata_migration_history ORDER BY id")).await
    }

    pub async fn installed(&self) -> Option<String> {
        if self.dialect() == Driver::Mysql {
            return self
                .rows(&format!(
                    "SELECT version FROM {} WHERE module = 'shop'",
                    strata_db::MYSQL_VERSION_TABLE
                ))
                .await
                .into_iter()
                .next();
        }
        if !self.has_table("serverpod_migrations").await {
            return None;
        }
        self.rows("SELECT version FROM serverpod_migrations WHERE module = 'shop'").await.into_iter().next()
    }
}

pub fn to(v: &str) -> ApplyOptions {
    ApplyOptions { to: Some(v.into()), ..Default::default() }
}

/// A version after the fixture's three.
pub const V4: &str = "20250104000000000";

impl Env {
    /// Replaces versions `versions` (after V1) with migrations that run `pre` and then add one
    /// to `counter.n`, so a double execution shows as a count above the number of versions.
    /// Call after applying V1; creates the counter table.
    pub async fn counter_project(&self, versions: &[&str], pre: &str) {
        self.exec("CREATE TABLE counter (n int NOT NULL); INSERT INTO counter VALUES (0);").await;
        for v in [V2, V3, V4] {
            let _ = std::fs::remove_dir_all(self.path(&format!("migrations/{v}")));
        }
        let now = match self.dialect() {
            Driver::Postgres => "now()",
            Driver::Sqlite | Driver::Mysql => "CURRENT_TIMESTAMP",
        };
        for v in versions {
            let sql = format!(
                "BEGIN;\n{pre}\nUPDATE counter SET n = n + 1;\n\
                 INSERT INTO \"serverpod_migrations\" (\"module\", \"version\", \"timestamp\")\n    \
                 VALUES ('shop', '{v}', {now})\n    ON CONFLICT (\"module\")\n    \
                 DO UPDATE SET \"version\" = '{v}', \"timestamp\" = {now};\n\nCOMMIT;\n"
            );
            self.write(&format!("migrations/{v}/migration.sql"), &sql);
            self.write(&format!("migrations/{v}/definition.sql"), &sql);
        }
    }

    pub async fn counter(&self) -> i64 {
        self.rows("SELECT CAST(n AS text) FROM counter").await[0].parse().unwrap()
    }

    /// `version:count` of `ok` history rows per version, in version order.
    pub async fn ok_rows(&self) -> Vec<String> {
        self.rows(
            "SELECT version || ':' || count(*) FROM strata_migration_history WHERE status = 'ok' \
             GROUP BY version ORDER BY version",
        )
        .await
    }
}
