//! Scratch databases for tests on the real servers.
//!
//! Every test gets its own uniquely named database, created on construction and dropped when the
//! value is dropped (even if the test panics), so tests run in parallel without interfering.
//! A missing server is a loud failure that says how to start it: database tests never skip.
//!
//! Servers (override with environment variables):
//! * PostgreSQL: `STRATA_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`
//! * MariaDB/MySQL: `STRATA_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306/mysql`
//! * pgbouncer in transaction pooling (fleet tests): `STRATA_TEST_PGBOUNCER_URL`, default
//!   `postgres://postgres@127.0.0.1:6432/postgres` (`tests/pgbouncer/start.sh` starts one)

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Connection;

pub mod bench_schema;

const PG_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const PGBOUNCER_DEFAULT: &str = "postgres://postgres@127.0.0.1:6432/postgres";
const PGBOUNCER_START: &str = "tests/pgbouncer/start.sh (pool_mode = transaction on 127.0.0.1:6432)";
const MYSQL_DEFAULT: &str = "mysql://root@127.0.0.1:3306/mysql";
const PG_START: &str = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";
const MYSQL_START: &str = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database name no other test (or test process) uses: `strata_<prefix>_<pid>_<n>_<nanos>`.
pub fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let clean: String = prefix
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .take(24)
        .collect();
    format!("strata_{}_{}_{}_{}", clean, std::process::id(), n, nanos)
}

/// Runs the future built by `make` on a private runtime (usable from sync tests, async tests and
/// `Drop`). The future is built on the worker thread, so it need not be `Send`.
fn block_on<F, Fut, T>(make: F) -> T
where
    F: FnOnce() -> Fut + Send,
    Fut: std::future::Future<Output = T>,
    T: Send,
{
    std::thread::scope(|s| {
        s.spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime")
                .block_on(make())
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

fn replace_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end).unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path_start], db);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A scratch PostgreSQL database.
pub struct PgScratch {
    /// Connection URL of the scratch database.
    pub url: String,
    /// Its name.
    pub name: String,
    admin_url: String,
}

impl PgScratch {
    /// The admin connection URL (a database that always exists).
    pub fn admin_url() -> String {
        std::env::var("STRATA_TEST_PG_URL").unwrap_or_else(|_| PG_DEFAULT.to_string())
    }

    /// Creates a fresh empty database. Panics, saying how to start the server, if PostgreSQL
    /// is not reachable.
    pub fn new(prefix: &str) -> Self {
        let admin_url = Self::admin_url();
        let name = unique_name(prefix);
        let sql = format!("CREATE DATABASE \"{name}\"");
        let admin = admin_url.clone();
        block_on(move || async move {
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                panic!("PostgreSQL is not reachable at {admin}: {e}\nStart it with: {PG_START}")
            });
            sqlx::raw_sql(&sql).execute(&mut conn).await.expect("CREATE DATABASE");
            let _ = conn.close().await;
        });
        let url = replace_db(&admin_url, &name);
        PgScratch { url, name, admin_url }
    }

    /// A copy of this database made by `CREATE DATABASE ... TEMPLATE` (nothing may be
    /// connected to it meanwhile): for zero-false-drift checks, a clone must diff as empty.
    pub fn template_clone(&self, prefix: &str) -> Self {
        let name = unique_name(prefix);
        let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{}\"", self.name);
        let admin = self.admin_url.clone();
        block_on(move || async move {
            let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to PostgreSQL");
            sqlx::raw_sql(&sql).execute(&mut conn).await.expect("CREATE DATABASE ... TEMPLATE");
            let _ = conn.close().await;
        });
        let url = replace_db(&self.admin_url, &name);
        PgScratch { url, name, admin_url: self.admin_url.clone() }
    }
}

impl PgScratch {
    /// `n` fresh databases, created `CREATE DATABASE`s at a time in parallel (a fleet test's
    /// setup time is the server's, not one round trip after another).
    pub fn many(prefix: &str, n: usize) -> PgScratches {
        let slots: Vec<std::sync::Mutex<Option<PgScratch>>> =
            (0..n).map(|_| std::sync::Mutex::new(None)).collect();
        let next = AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..8.min(n) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= n {
                        return;
                    }
                    *slots[i].lock().unwrap() = Some(PgScratch::new(prefix));
                });
            }
        });
        PgScratches(slots.into_iter().filter_map(|m| m.into_inner().unwrap()).collect())
    }

    /// This database through the test pgbouncer (transaction pooling), with strata's
    /// `pooling=transaction`. Panics, saying how to start it, if pgbouncer does not answer.
    pub fn pgbouncer_url(&self) -> String {
        let base =
            std::env::var("STRATA_TEST_PGBOUNCER_URL").unwrap_or_else(|_| PGBOUNCER_DEFAULT.to_string());
        let check = base.clone();
        block_on(move || async move {
            let mut conn = sqlx::PgConnection::connect(&check).await.unwrap_or_else(|e| {
                panic!("pgbouncer is not reachable at {check}: {e}\nStart it with: {PGBOUNCER_START}")
            });
            let _ = sqlx::raw_sql("SELECT 1").execute(&mut conn).await;
            let _ = conn.close().await;
        });
        let url = replace_db(&base, &self.name);
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}pooling=transaction")
    }
}

/// Scratch databases made by [`PgScratch::many`], dropped side by side: each `DROP DATABASE`
/// waits for a checkpoint, and concurrent ones share it.
pub struct PgScratches(Vec<PgScratch>);

impl std::ops::Deref for PgScratches {
    type Target = [PgScratch];
    fn deref(&self) -> &[PgScratch] {
        &self.0
    }
}

impl Drop for PgScratches {
    fn drop(&mut self) {
        let all = std::mem::take(&mut self.0);
        std::thread::scope(|s| {
            for db in all {
                s.spawn(move || drop(db));
            }
        });
    }
}

impl PgScratch {
    /// A copy of `template` (`CREATE DATABASE ... TEMPLATE`, so no other session may be connected
    /// to it meanwhile), dropped like any scratch database.
    pub fn copy_of(prefix: &str, template: &PgScratch) -> Self {
        let name = unique_name(prefix);
        let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{}\"", template.name);
        pg_execute(&template.admin_url, &sql).unwrap_or_else(|e| panic!("{e}"));
        PgScratch { url: replace_db(&template.admin_url, &name), name, admin_url: template.admin_url.clone() }
    }

    /// Runs `sql` (any number of statements) on this database.
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        pg_execute(&self.url, sql)
    }
}

/// Runs `sql` (any number of statements, through the simple-query protocol) on the PostgreSQL
/// database at `url`. The error names the database (never the URL, which may hold a password)
/// and gives the server's message.
pub fn pg_execute(url: &str, sql: &str) -> Result<(), String> {
    let db = database_of(url);
    block_on(move || async move {
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .map_err(|e| format!("connecting to database {db}: {e}"))?;
        let result = sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .map(drop)
            .map_err(|e| format!("on database {db}: {e}"));
        let _ = conn.close().await;
        result
    })
}

/// The database name in a connection URL (its last path segment).
fn database_of(url: &str) -> &str {
    let base = url.split(['?', '#']).next().unwrap_or_default();
    base.rsplit_once('/').map_or(base, |(_, db)| db)
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        block_on(move || async move {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                let _ = sqlx::raw_sql(&sql).execute(&mut conn).await;
                let _ = conn.close().await;
            }
        });
    }
}

/// A scratch MariaDB/MySQL database.
pub struct MysqlScratch {
    pub url: String,
    pub name: String,
    admin_url: String,
}

impl MysqlScratch {
    /// Creates a fresh empty database. Panics, saying how to start the server, if MariaDB is
    /// not reachable.
    pub fn new(prefix: &str) -> Self {
        let admin_url = std::env::var("STRATA_TEST_MYSQL_URL").unwrap_or_else(|_| MYSQL_DEFAULT.to_string());
        let name = unique_name(prefix);
        let sql = format!("CREATE DATABASE `{name}`");
        let admin = admin_url.clone();
        block_on(move || async move {
            let mut conn = sqlx::MySqlConnection::connect(&admin).await.unwrap_or_else(|e| {
                panic!("MariaDB is not reachable at {admin}: {e}\nStart it with: {MYSQL_START}")
            });
            sqlx::raw_sql(&sql).execute(&mut conn).await.expect("CREATE DATABASE");
            let _ = conn.close().await;
        });
        let url = replace_db(&admin_url, &name);
        MysqlScratch { url, name, admin_url }
    }
}

impl Drop for MysqlScratch {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS `{}`", self.name);
        block_on(move || async move {
            if let Ok(mut conn) = sqlx::MySqlConnection::connect(&admin).await {
                let _ = sqlx::raw_sql(&sql).execute(&mut conn).await;
                let _ = conn.close().await;
            }
        });
    }
}

/// A scratch SQLite database file in the temp directory, removed on drop.
pub struct SqliteScratch {
    pub path: PathBuf,
    /// `sqlite://<path>?mode=rwc`
    pub url: String,
}

impl SqliteScratch {
    /// Reserves a fresh file path (the file is created on first connection).
    pub fn new(prefix: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{}.db", unique_name(prefix)));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        SqliteScratch { path, url }
    }
}

impl Drop for SqliteScratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{}", self.path.display(), suffix));
        }
    }
}

/// A port on 127.0.0.1 that accepts TCP connections and never sends a byte: a hung server, for
/// testing that connection attempts are bounded. A background thread holds every accepted
/// socket open until the test process ends.
pub fn silent_tcp_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let port = listener.local_addr().expect("listener address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    port
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rewrite() {
        assert_eq!(
            replace_db("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_db("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(replace_db("mysql://root@127.0.0.1:3306", "x"), "mysql://root@127.0.0.1:3306/x");
    }

    #[test]
    fn database_names_come_without_credentials() {
        assert_eq!(database_of("postgres://u:secret@h:5432/shop?sslmode=disable"), "shop");
        assert_eq!(database_of("postgres://postgres@127.0.0.1:5432/postgres"), "postgres");
    }

    #[test]
    fn names_are_unique() {
        assert_ne!(unique_name("a"), unique_name("a"));
    }

    #[test]
    fn pg_scratch_lifecycle() {
        let name;
        {
            let db = PgScratch::new("lifecycle");
            name = db.name.clone();
            let url = db.url.clone();
            block_on(move || async move {
                let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::raw_sql("CREATE TABLE t (id int)").execute(&mut c).await.unwrap();
            });
        }
        let admin = PgScratch::admin_url();
        let exists: i64 = block_on(move || async move {
            let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
                .bind(name)
                .fetch_one(&mut c)
                .await
                .unwrap()
        });
        assert_eq!(exists, 0, "scratch database was not dropped");
    }
}
