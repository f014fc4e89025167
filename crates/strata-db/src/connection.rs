//! Which database a command talks to, and how to talk about it without leaking the password.
//!
//! Resolution order ([`resolve_connection`]):
//! 1. `--database-url`;
//! 2. `--mode <m>`: Serverpod's `config/<m>.yaml` (`database:`) + `config/passwords.yaml`
//!    (`shared` and `<m>` sections) with the `SERVERPOD_DATABASE_*` / `SERVERPOD_PASSWORD_database`
//!    environment overrides. An explicit flag beats ambient environment on purpose: someone typing
//!    `--mode production` must never silently hit the `DATABASE_URL` left in their shell;
//! 3. the `DATABASE_URL` environment variable, then `DATABASE_URL` in the project's `.env`;
//! 4. the embedded SQLite file of the project (its parent directory is created).
//!
//! A [`ConnectionTarget`] renders only redacted ([`ConnectionTarget::redacted`], `Display`,
//! `Debug`) and knows its secrets, so driver messages can be scrubbed with
//! [`ConnectionTarget::sanitize`] before they reach an error.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::MySqlConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, MySqlConnection, PgConnection, SqliteConnection};
use std::collections::HashMap;

use saphyr::{LoadableYamlNode, Yaml};

use crate::{DbError, Driver, Project};

/// How long one connection attempt may take when neither `--connect-timeout` nor the URL's
/// `connect_timeout` says: long enough for a slow network, short enough that a server that
/// never answers is reported instead of waited on forever.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The run modes Serverpod knows (`--mode`).
pub const MODES: [&str; 4] = ["development", "test", "staging", "production"];

/// Where a connection came from; shown next to the redacted URL so users see *why* strata chose
/// that database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionSource {
    /// `--database-url`.
    Flag,
    /// `--mode <mode>`: `config/<mode>.yaml` (+ passwords.yaml, env overrides).
    Mode { mode: String, config: PathBuf },
    /// The `DATABASE_URL` environment variable.
    EnvVar,
    /// `DATABASE_URL` in this `.env` file.
    DotEnv(PathBuf),
    /// The project's embedded SQLite database.
    Embedded,
}

impl std::fmt::Display for ConnectionSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectionSource::Flag => f.write_str("--database-url"),
            ConnectionSource::Mode { mode, config } => write!(f, "--mode {mode}: {}", config.display()),
            ConnectionSource::EnvVar => f.write_str("DATABASE_URL"),
            ConnectionSource::DotEnv(p) => write!(f, "DATABASE_URL in {}", p.display()),
            ConnectionSource::Embedded => f.write_str("embedded SQLite default"),
        }
    }
}

#[derive(Clone)]
enum Kind {
    Postgres(Box<PgConnectOptions>),
    Sqlite { path: PathBuf, options: Box<SqliteConnectOptions> },
    Mysql(Box<MySqlConnectOptions>),
}

/// A resolved database to connect to. Never displays its password.
#[derive(Clone)]
pub struct ConnectionTarget {
    kind: Kind,
    display: String,
    source: ConnectionSource,
    secrets: Vec<String>,
    /// How long one connection attempt may take; `None` waits forever.
    connect_timeout: Option<Duration>,
    /// MySQL: `host:port` (or the socket), for the timeout message.
    mysql_endpoint: Option<String>,
    /// Set after resolution by the `with_*` builders; every URL and mode starts from the default.
    run: RunSettings,
    /// PostgreSQL: the URL says `pooling=transaction` (pgbouncer's transaction pooling).
    transaction_pooled: bool,
}

/// How a resolved target is run: by which engine, under which lock, in which schema.
#[derive(Clone, Default)]
struct RunSettings {
    /// The engine behind the driver (its capabilities), when the project says (CockroachDB on
    /// PostgreSQL's driver); `None` is the driver's own dialect.
    dialect: Option<&'static dyn strata_sql::Dialect>,
    /// How runs exclude each other (`--lock-strategy`); `Auto` asks the dialect.
    lock: crate::LockStrategy,
    /// PostgreSQL: the tenant schema this target migrates (a fleet's `schemas` line): it is the
    /// `search_path`, and it holds its own history table and migration lock.
    schema: Option<String>,
}

/// An open connection of any driver.
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
    Mysql(MySqlConnection),
}

impl ConnectionTarget {
    /// The driver of the database (its SQL dialect: `driver().dialect()`).
    pub fn driver(&self) -> Driver {
        match self.kind {
            Kind::Postgres(_) => Driver::Postgres,
            Kind::Sqlite { .. } => Driver::Sqlite,
            Kind::Mysql(_) => Driver::Mysql,
        }
    }

    /// The SQL dialect of the engine behind the driver: the project's, or the driver's own.
    pub fn dialect(&self) -> &'static dyn strata_sql::Dialect {
        self.run.dialect.unwrap_or_else(|| self.driver().dialect())
    }

    /// Says which engine is behind the driver (a project's `dialect`); ignored when the dialect
    /// speaks another driver's protocol (the runner then reports the mismatch).
    pub fn with_dialect(mut self, name: &str) -> Self {
        if let Some(d) = crate::dialect_named(name).filter(|d| d.wire_protocol() == self.driver().name()) {
            self.run.dialect = Some(d);
        }
        self
    }

    /// The lock strategy runs on this database use (`--lock-strategy`).
    pub fn with_lock_strategy(mut self, lock: crate::LockStrategy) -> Self {
        self.run.lock = lock;
        self
    }

    /// The lock strategy asked for (see [`crate::LockStrategy::resolve`]).
    pub fn lock_strategy(&self) -> crate::LockStrategy {
        self.run.lock
    }

    /// `postgres://user@host:port/db` or `sqlite:<path>`: safe to print and log.
    pub fn redacted(&self) -> &str {
        &self.display
    }

    /// Where this target came from.
    pub fn source(&self) -> &ConnectionSource {
        &self.source
    }

    /// The SQLite file, for SQLite targets.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.kind {
            Kind::Sqlite { path, .. } => Some(path),
            Kind::Postgres(_) | Kind::Mysql(_) => None,
        }
    }

    /// The PostgreSQL connect options (they hold the password: do not `{:?}` them).
    pub fn pg_options(&self) -> Option<&PgConnectOptions> {
        match &self.kind {
            Kind::Postgres(o) => Some(o),
            Kind::Sqlite { .. } | Kind::Mysql(_) => None,
        }
    }

    /// The MySQL/MariaDB connect options (they hold the password: do not `{:?}` them).
    pub fn mysql_options(&self) -> Option<&MySqlConnectOptions> {
        match &self.kind {
            Kind::Mysql(o) => Some(o),
            Kind::Sqlite { .. } | Kind::Postgres(_) => None,
        }
    }

    /// The error for a connect call of the wrong driver.
    fn wrong_driver(&self, wanted: Driver) -> DbError {
        DbError::DialectMismatch { project: wanted.name().into(), database: self.driver().name().into() }
    }

    /// Removes this target's password (and any `user:password@` in URLs) from a message.
    pub fn sanitize(&self, message: &str) -> String {
        sanitize(message, &self.secrets)
    }

    /// Opens a PostgreSQL connection tagged with `application_name` (visible in `pg_stat_activity`
    /// so a lock holder can be identified).
    pub async fn connect_postgres(&self, application_name: &str) -> Result<PgConnection, DbError> {
        let Kind::Postgres(opts) = &self.kind else {
            return Err(self.wrong_driver(Driver::Postgres));
        };
        let opts = (**opts).clone().application_name(application_name);
        let mut conn = self.bounded(PgConnection::connect_with(&opts)).await?;
        // Through a transaction pooler a session setting would stick to a shared server
        // connection: there the session sets it per transaction instead (`SET LOCAL`).
        if let (Some(sql), false) = (self.search_path_sql("SET"), self.transaction_pooled) {
            set_search_path(&mut conn, &sql).await.map_err(|e| self.sql_error("setting search_path", &e))?;
        }
        Ok(conn)
    }

    /// The tenant schema of a fleet `schemas` target.
    pub fn schema(&self) -> Option<&str> {
        self.run.schema.as_deref()
    }

    /// This target migrates `schema` of its database: its `search_path`, history table and
    /// migration lock are that schema's. Shown as `… [schema NAME]`.
    pub fn with_schema(mut self, schema: &str) -> Self {
        self.display = format!("{} [schema {schema}]", self.display);
        self.run.schema = Some(schema.to_string());
        self
    }

    /// `SET search_path TO "schema"` (or `SET LOCAL …` with `verb`), for a schema target.
    pub fn search_path_sql(&self, verb: &str) -> Option<String> {
        self.run.schema.as_deref().map(|s| format!("{verb} search_path TO {}", crate::quote_ident(s)))
    }

    /// The URL says `pooling=transaction`: session state (locks, settings, prepared statements)
    /// does not survive between transactions.
    pub fn transaction_pooled(&self) -> bool {
        self.transaction_pooled
    }

    /// Opens a MySQL/MariaDB connection, within the connect timeout.
    pub async fn connect_mysql(&self) -> Result<MySqlConnection, DbError> {
        let Kind::Mysql(opts) = &self.kind else {
            return Err(self.wrong_driver(Driver::Mysql));
        };
        self.bounded(MySqlConnection::connect_with(opts)).await
    }

    /// Opens the SQLite file (creating it and its directory) with `busy_timeout` as the time to
    /// wait for another writer's lock.
    pub async fn connect_sqlite(&self, busy_timeout: Duration) -> Result<SqliteConnection, DbError> {
        self.connect_sqlite_with(busy_timeout, false).await
    }

    /// [`Self::connect_sqlite`], optionally read-only (then the file must exist and is never
    /// created or written).
    pub async fn connect_sqlite_with(
        &self,
        busy_timeout: Duration,
        read_only: bool,
    ) -> Result<SqliteConnection, DbError> {
        let Kind::Sqlite { path, options } = &self.kind else {
            return Err(self.wrong_driver(Driver::Sqlite));
        };
        if read_only {
            let opts =
                (**options).clone().busy_timeout(busy_timeout).create_if_missing(false).read_only(true);
            return self.bounded(open_sqlite(opts)).await;
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| DbError::Io { path: parent.to_path_buf(), message: e.to_string() })?;
        }
        let opts = (**options).clone().busy_timeout(busy_timeout);
        self.bounded(open_sqlite(opts)).await
    }

    /// Opens a connection of whichever driver this target is.
    pub async fn connect(&self) -> Result<DbConnection, DbError> {
        match self.driver() {
            Driver::Postgres => Ok(DbConnection::Postgres(self.connect_postgres("strata").await?)),
            Driver::Sqlite => Ok(DbConnection::Sqlite(self.connect_sqlite(Duration::from_secs(5)).await?)),
            Driver::Mysql => Ok(DbConnection::Mysql(self.connect_mysql().await?)),
        }
    }

    /// How long one connection attempt may take (`None`: forever).
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// Replaces the connect timeout (from the URL or the default) with an explicit one, as
    /// `--connect-timeout` does; zero waits forever, as in libpq.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = (!timeout.is_zero()).then_some(timeout);
        self
    }

    /// Runs one connection attempt within the connect timeout, so a server that accepts TCP
    /// and never answers (or a SQLite file locked by another process) ends in an error.
    async fn bounded<C>(
        &self,
        attempt: impl std::future::Future<Output = Result<C, sqlx::Error>>,
    ) -> Result<C, DbError> {
        let Some(limit) = self.connect_timeout else {
            return attempt.await.map_err(|e| self.connect_error(&e));
        };
        match tokio::time::timeout(limit, attempt).await {
            Ok(result) => result.map_err(|e| self.connect_error(&e)),
            Err(_) => Err(self.timeout_error(limit)),
        }
    }

    fn timeout_error(&self, waited: Duration) -> DbError {
        match &self.kind {
            Kind::Postgres(opts) => {
                DbError::ConnectTimeout { endpoint: endpoint(opts), target: self.display.clone(), waited }
            }
            Kind::Mysql(_) => DbError::ConnectTimeout {
                endpoint: self.mysql_endpoint.clone().unwrap_or_default(),
                target: self.display.clone(),
                waited,
            },
            Kind::Sqlite { path, .. } => DbError::SqliteBusy { path: path.clone(), waited },
        }
    }

    fn connect_error(&self, e: &sqlx::Error) -> DbError {
        DbError::Connect { target: self.display.clone(), message: self.sanitize(&e.to_string()) }
    }

    /// Wraps a driver error with context, scrubbing secrets.
    pub fn sql_error(&self, context: impl Into<String>, e: &sqlx::Error) -> DbError {
        let message = self.sanitize(&db_message(e));
        let message = match pooler_hint(&message) {
            Some(hint) if !self.transaction_pooled => format!("{message}\n{hint}"),
            _ => message,
        };
        DbError::Sql { context: context.into(), message }
    }
}

/// What a missing or colliding prepared statement means: this session's statements reached
/// server connections other clients share, which only a transaction pooler in between does.
fn pooler_hint(message: &str) -> Option<&'static str> {
    let collided = (message.contains("prepared statement \"sqlx_s_")
        && (message.contains("42P05") || message.contains("26000")))
        || message.contains("unnamed prepared statement does not exist");
    collided.then_some(
        "HINT: the connection goes through a transaction pooler (pgbouncer pool_mode=transaction?), which hands \
         this session's statements to server connections other clients share; add `pooling=transaction` to \
         the URL (docs/fleets.md)",
    )
}

/// Opens a SQLite file and reads its header, so that "connected" means the file is a readable
/// database (a file another process holds locked waits here, within the connect timeout).
async fn open_sqlite(opts: SqliteConnectOptions) -> Result<SqliteConnection, sqlx::Error> {
    let mut conn = SqliteConnection::connect_with(&opts).await?;
    sqlx::raw_sql("PRAGMA schema_version").execute(&mut conn).await?;
    Ok(conn)
}

/// `host:port` (`[v6]:port`) or the Unix socket a PostgreSQL target connects to.
fn endpoint(opts: &PgConnectOptions) -> String {
    if let Some(socket) = opts.get_socket() {
        return format!("{} (port {})", socket.display(), opts.get_port());
    }
    let host = opts.get_host();
    if host.contains(':') {
        format!("[{host}]:{}", opts.get_port())
    } else {
        format!("{host}:{}", opts.get_port())
    }
}

/// The most useful text of a driver error: for database errors the server's message plus its
/// detail/hint where PostgreSQL gives them.
pub(crate) fn db_message(e: &sqlx::Error) -> String {
    if let sqlx::Error::Database(d) = e {
        let mut msg = d.message().to_string();
        if let Some(code) = d.code() {
            msg = format!("{msg} (SQLSTATE {code})");
        }
        if let Some(pg) = d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
            if let Some(detail) = pg.detail() {
                msg.push_str(&format!("\nDETAIL: {detail}"));
            }
            if let Some(hint) = pg.hint() {
                msg.push_str(&format!("\nHINT: {hint}"));
            }
            if let Some(w) = pg.r#where() {
                msg.push_str(&format!("\nWHERE: {w}"));
            }
        }
        msg
    } else {
        e.to_string()
    }
}

impl std::fmt::Display for ConnectionTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (from {})", self.display, self.source)
    }
}

impl std::fmt::Debug for ConnectionTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionTarget")
            .field("driver", &self.driver())
            .field("url", &self.display)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Resolves the database for a command; see the module docs for the order. Reads the process
/// environment and the project's `config/` and `.env` files.
pub fn resolve_connection(
    project: &Project,
    url: Option<&str>,
    mode: Option<&str>,
) -> Result<ConnectionTarget, DbError> {
    resolve_connection_with_env(project, url, mode, &|k| std::env::var(k).ok())
}

/// [`resolve_connection`] with an injectable environment (tests).
pub fn resolve_connection_with_env(
    project: &Project,
    url: Option<&str>,
    mode: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ConnectionTarget, DbError> {
    Ok(resolve_target(project, url, mode, env)?.with_dialect(project.dialect))
}

fn resolve_target(
    project: &Project,
    url: Option<&str>,
    mode: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ConnectionTarget, DbError> {
    if let Some(url) = url {
        return from_url(url, ConnectionSource::Flag, &project.root);
    }
    if let Some(mode) = mode {
        return from_mode(project, mode, env);
    }
    if let Some(url) = env("DATABASE_URL").filter(|u| !u.trim().is_empty()) {
        return from_url(&url, ConnectionSource::EnvVar, &project.root);
    }
    let dotenv = project.root.join(".env");
    if dotenv.is_file() {
        if let Some(url) = read_dotenv_url(&dotenv)? {
            return from_url(&url, ConnectionSource::DotEnv(dotenv), &project.root);
        }
    }
    Ok(sqlite_target(project.sqlite_path.clone(), ConnectionSource::Embedded))
}

fn read_dotenv_url(path: &Path) -> Result<Option<String>, DbError> {
    let iter = dotenvy::from_path_iter(path)
        .map_err(|e| DbError::Config { path: path.to_path_buf(), message: e.to_string() })?;
    for item in iter {
        // A malformed line elsewhere in .env must not stop us, but it must not leak either:
        // dotenvy's error text can quote the line, which may hold a secret.
        let Ok((k, v)) = item else {
            return Err(DbError::Config {
                path: path.to_path_buf(),
                message: "cannot parse this .env file".into(),
            });
        };
        if k == "DATABASE_URL" && !v.trim().is_empty() {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

fn sqlite_target(path: PathBuf, source: ConnectionSource) -> ConnectionTarget {
    let options = SqliteConnectOptions::new().filename(&path).create_if_missing(true);
    ConnectionTarget {
        display: format!("sqlite:{}", path.display()),
        kind: Kind::Sqlite { path, options: Box::new(options) },
        source,
        secrets: Vec::new(),
        connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
        mysql_endpoint: None,
        run: RunSettings::default(),
        transaction_pooled: false,
    }
}

/// [`parse_url`], with errors that say where the bad string came from.
fn from_url(raw: &str, source: ConnectionSource, root: &Path) -> Result<ConnectionTarget, DbError> {
    let origin = source.to_string();
    parse_url(raw, source, root).map_err(|e| match e {
        DbError::InvalidUrl(message) => DbError::InvalidUrl(format!("{message} (from {origin})")),
        DbError::InvalidConnectionString { column, message } => {
            DbError::InvalidConnectionString { column, message: format!("{message} (from {origin})") }
        }
        other => other,
    })
}

fn parse_url(raw: &str, source: ConnectionSource, root: &Path) -> Result<ConnectionTarget, DbError> {
    let raw = raw.trim();
    if looks_like_dsn(raw) {
        let url = dsn_to_url(raw)?;
        return postgres_target(&url, source);
    }
    let scheme = raw.split(':').next().unwrap_or("").to_ascii_lowercase();
    match scheme.as_str() {
        "postgres" | "postgresql" => postgres_target(raw, source),
        "sqlite" => sqlite_from_url(raw, source, root),
        "mysql" | "mariadb" => mysql_target(raw, source),
        _ => Err(DbError::UnsupportedScheme(scrub_urls(raw))),
    }
}

/// The strata URL parameter that says a PostgreSQL URL goes through a transaction pooler.
pub const POOLING_PARAM: &str = "pooling";

/// `pooling=transaction` (true) or `pooling=session` (false, the default).
fn parse_pooling(value: &str) -> Result<bool, DbError> {
    match value {
        "transaction" => Ok(true),
        "session" => Ok(false),
        other => Err(DbError::InvalidUrl(format!(
            "`{POOLING_PARAM}={other}`: expected `{POOLING_PARAM}=transaction` (a pooler such as pgbouncer in \
             pool_mode=transaction between strata and the server) or `{POOLING_PARAM}=session`"
        ))),
    }
}

/// A `postgres://` URL: its options, its redacted form, its secrets and its `connect_timeout`.
fn postgres_target(raw: &str, source: ConnectionSource) -> Result<ConnectionTarget, DbError> {
    let parsed = url::Url::parse(raw).map_err(|e| invalid_url(raw, &e))?;
    let mut secrets = Vec::new();
    if let Some(p) = parsed.password() {
        secrets.push(p.to_string());
        if let Ok(decoded) = percent_decode(p) {
            secrets.push(decoded);
        }
    }
    let mut connect_timeout = Some(DEFAULT_CONNECT_TIMEOUT);
    let mut transaction_pooled = false;
    for (k, v) in parsed.query_pairs() {
        if k.eq_ignore_ascii_case("password") {
            secrets.push(v.to_string());
        } else if k == "connect_timeout" {
            connect_timeout = parse_connect_timeout(&v)?;
        } else if k == POOLING_PARAM {
            transaction_pooled = parse_pooling(&v)?;
        }
    }
    let opts = PgConnectOptions::from_str(raw)
        .map_err(|e| DbError::InvalidUrl(sanitize(&e.to_string(), &secrets)))?;
    let mut shown = parsed.clone();
    let _ = shown.set_password(None);
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("password"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        shown.set_query(None);
    } else {
        shown.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok(ConnectionTarget {
        kind: Kind::Postgres(Box::new(opts)),
        display: shown.to_string(),
        source,
        secrets,
        connect_timeout,
        mysql_endpoint: None,
        run: RunSettings::default(),
        transaction_pooled,
    })
}

/// A `mysql://` or `mariadb://` URL (sqlx's MySQL driver speaks to both): its options, redacted
/// form, secrets and `connect_timeout` (whole seconds, as for PostgreSQL). Unknown query keys are
/// refused by sqlx with a message naming them.
fn mysql_target(raw: &str, source: ConnectionSource) -> Result<ConnectionTarget, DbError> {
    let mut parsed = url::Url::parse(raw).map_err(|e| invalid_url(raw, &e))?;
    let mut secrets = Vec::new();
    if let Some(p) = parsed.password() {
        secrets.push(p.to_string());
        if let Ok(decoded) = percent_decode(p) {
            secrets.push(decoded);
        }
    }
    let mut connect_timeout = Some(DEFAULT_CONNECT_TIMEOUT);
    let mut kept: Vec<(String, String)> = Vec::new();
    for (k, v) in parsed.query_pairs() {
        if k.eq_ignore_ascii_case("password") {
            secrets.push(v.to_string());
        } else if k == "connect_timeout" {
            connect_timeout = parse_connect_timeout(&v)?;
        } else {
            kept.push((k.into_owned(), v.into_owned()));
        }
    }
    // sqlx knows `mysql://` only, and not strata's `connect_timeout`.
    let _ = parsed.set_scheme("mysql");
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(&kept);
    }
    let driver_url = parsed.to_string();
    let opts = MySqlConnectOptions::from_str(&driver_url)
        .map_err(|e| DbError::InvalidUrl(sanitize(&e.to_string(), &secrets)))?;
    let kept: Vec<(String, String)> =
        kept.into_iter().filter(|(k, _)| !k.eq_ignore_ascii_case("password")).collect();
    let mut shown = url::Url::parse(raw).map_err(|e| invalid_url(raw, &e))?;
    let _ = shown.set_password(None);
    if kept.is_empty() {
        shown.set_query(None);
    } else {
        shown.query_pairs_mut().clear().extend_pairs(kept);
    }
    let endpoint = format!("{}:{}", parsed.host_str().unwrap_or("localhost"), parsed.port().unwrap_or(3306));
    Ok(ConnectionTarget {
        kind: Kind::Mysql(Box::new(opts)),
        display: shown.to_string(),
        source,
        secrets,
        connect_timeout,
        mysql_endpoint: Some(endpoint),
        run: RunSettings::default(),
        transaction_pooled: false,
    })
}

/// The error for a URL that does not parse. The password is masked even then (it is what makes
/// such URLs fail most often), and the fix is named.
fn invalid_url(raw: &str, e: &url::ParseError) -> DbError {
    let secrets: Vec<String> = url_password_guess(raw).into_iter().collect();
    let mut message = format!("{e} (in {})", sanitize(raw, &secrets));
    if raw.contains('@') {
        message.push_str(
            "; if the password contains `#`, `/`, `?`, `@`, `:` or spaces, percent-encode them \
             (%23, %2F, %3F, %40, %3A, %20) or use a key=value string: host=… user=… password='…' dbname=…",
        );
    }
    DbError::InvalidUrl(message)
}

/// What sits between `scheme://user:` and the last `@` of a single URL, whether or not it parses.
fn url_password_guess(raw: &str) -> Option<String> {
    let start = raw.find("://")? + 3;
    let rest = &raw[start..];
    let user_end = rest.find([':', '@', '/', '?', '#'])?;
    if !rest[user_end..].starts_with(':') {
        return None;
    }
    let password = &rest[user_end + 1..];
    let at = password.rfind('@')?;
    Some(password[..at].to_string()).filter(|p| !p.is_empty())
}

/// libpq's `connect_timeout`: whole seconds; zero or negative waits forever, and less than two
/// seconds means two (libpq's minimum).
fn parse_connect_timeout(value: &str) -> Result<Option<Duration>, DbError> {
    let secs: i64 = value.trim().parse().map_err(|_| {
        DbError::InvalidUrl(format!(
            "`connect_timeout={value}` is not a whole number of seconds; write e.g. connect_timeout=10 (0 waits forever)"
        ))
    })?;
    Ok((secs > 0).then(|| Duration::from_secs(secs.max(2) as u64)))
}

fn sqlite_from_url(raw: &str, source: ConnectionSource, root: &Path) -> Result<ConnectionTarget, DbError> {
    let rest = raw["sqlite:".len()..].trim_start_matches("//");
    let path_part = rest.split('?').next().unwrap_or("");
    if path_part.is_empty() || path_part == ":memory:" {
        return Err(DbError::InvalidUrl(format!(
            "`{raw}`: give a database file (sqlite:path/to/file.db); an in-memory database would forget the migrations"
        )));
    }
    let mut path = PathBuf::from(path_part);
    // Relative paths in a project's config are relative to the project, not the shell.
    if path.is_relative() && !matches!(source, ConnectionSource::Flag) {
        path = root.join(path);
    }
    Ok(sqlite_target(path, source))
}

/// The keys a libpq `key=value` connection string may use here.
const DSN_KEYS: [&str; 13] = [
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "options",
    "connect_timeout",
];

/// `host=… user=…`: a libpq connection string rather than a URL (its first word is `key=`).
fn looks_like_dsn(raw: &str) -> bool {
    let key_end = raw.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(raw.len());
    key_end > 0 && raw[key_end..].trim_start().starts_with('=')
}

/// Parses a libpq `key=value` string and rewrites it as the equivalent `postgres://` URL, so both
/// forms share one parser for options, display and secrets. Host and port default to
/// localhost:5432.
fn dsn_to_url(raw: &str) -> Result<String, DbError> {
    let mut url = url::Url::parse("postgres://localhost").map_err(|e| DbError::InvalidUrl(e.to_string()))?;
    for (key, value, column) in parse_dsn(raw)? {
        // The url crate leaves `%` alone, and sqlx percent-decodes: escape it first.
        let escaped = value.replace('%', "%25");
        let placed = match key.as_str() {
            "host" => !value.starts_with('/') && url.set_host(Some(&escaped)).is_ok(),
            "port" => {
                let port: u16 = value
                    .trim()
                    .parse()
                    .map_err(|_| dsn_error(column - 1, format!("port={value} is not a port number")))?;
                url.set_port(Some(port)).is_ok()
            }
            "user" => url.set_username(&escaped).is_ok(),
            "password" => url.set_password(Some(&escaped)).is_ok(),
            "dbname" => {
                url.set_path(&escaped);
                true
            }
            _ => false,
        };
        if !placed {
            url.query_pairs_mut().append_pair(&key, &value);
        }
    }
    Ok(url.to_string())
}

/// libpq conninfo syntax: `key = value` pairs separated by whitespace; a value is either bare
/// (backslash escapes the next character) or single-quoted (`\'` and `\\` inside). Error
/// messages name keys and columns, never values.
/// Each pair comes with the column of its key.
pub fn parse_dsn(raw: &str) -> Result<Vec<(String, String, usize)>, DbError> {
    let chars: Vec<char> = raw.chars().collect();
    let mut pairs = Vec::new();
    let mut i = skip_whitespace(&chars, 0);
    while i < chars.len() {
        let key_start = i;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '=' {
            i += 1;
        }
        let key: String = chars[key_start..i].iter().collect();
        i = skip_whitespace(&chars, i);
        if chars.get(i) != Some(&'=') {
            return Err(dsn_error(key_start, format!("`{key}` is not followed by `=` (write key=value)")));
        }
        if !DSN_KEYS.contains(&key.as_str()) {
            return Err(dsn_error(
                key_start,
                format!("unknown key `{key}`; strata accepts {}", DSN_KEYS.join(", ")),
            ));
        }
        i = skip_whitespace(&chars, i + 1);
        let (value, next) = dsn_value(&chars, i)
            .map_err(|column| dsn_error(column, format!("the quoted value of `{key}` has no closing `'`")))?;
        pairs.push((key, value, key_start + 1));
        i = skip_whitespace(&chars, next);
    }
    if pairs.is_empty() {
        return Err(dsn_error(0, "it is empty".into()));
    }
    Ok(pairs)
}

fn skip_whitespace(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    i
}

/// One value starting at `i`: the unescaped text and where it ends; `Err(column)` for an
/// unterminated quote.
fn dsn_value(chars: &[char], mut i: usize) -> Result<(String, usize), usize> {
    let quoted = chars.get(i) == Some(&'\'');
    let open = i;
    if quoted {
        i += 1;
    }
    let mut value = String::new();
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                value.push(chars[i + 1]);
                i += 2;
                continue;
            }
            '\'' if quoted => return Ok((value, i + 1)),
            c if !quoted && c.is_whitespace() => break,
            c => value.push(c),
        }
        i += 1;
    }
    if quoted {
        Err(open)
    } else {
        Ok((value, i))
    }
}

fn dsn_error(index: usize, message: String) -> DbError {
    DbError::InvalidConnectionString { column: index + 1, message }
}

fn percent_decode(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).map_err(|_| ())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// The scalar keys of the named top-level sections of a YAML file (`None`: no such file).
/// Values are extracted immediately, so nothing borrows the file text afterwards.
fn load_sections(path: &Path, sections: &[&str]) -> Result<Option<Vec<HashMap<String, String>>>, DbError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(DbError::Io { path: path.to_path_buf(), message: e.to_string() }),
    };
    // The parser's error names a position, never file content (which may hold passwords).
    let docs = Yaml::load_from_str(&text).map_err(|e| DbError::Config {
        path: path.to_path_buf(),
        message: format!("invalid YAML at line {}, column {}", e.marker().line(), e.marker().col() + 1),
    })?;
    let doc = docs.first();
    let out = sections
        .iter()
        .map(|name| {
            let mut map = HashMap::new();
            if let Some(m) = doc.and_then(|d| d.as_mapping_get(name)).and_then(|s| s.as_mapping()) {
                for (k, v) in m.iter() {
                    if let (Some(k), Some(v)) = (k.as_str(), yaml_scalar(v)) {
                        map.insert(k.to_string(), v);
                    }
                }
            }
            map
        })
        .collect();
    Ok(Some(out))
}

fn yaml_scalar(y: &Yaml) -> Option<String> {
    y.as_str()
        .map(str::to_string)
        .or_else(|| y.as_integer().map(|i| i.to_string()))
        .or_else(|| y.as_bool().map(|b| b.to_string()))
        .or_else(|| y.as_floating_point().map(|f| f.to_string()))
}

fn parse_bool(s: &str) -> bool {
    matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on")
}

fn from_mode(
    project: &Project,
    mode: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ConnectionTarget, DbError> {
    if !MODES.contains(&mode) {
        return Err(DbError::UnknownMode(mode.to_string()));
    }
    let config_path = project.root.join("config").join(format!("{mode}.yaml"));
    let config = load_sections(&config_path, &["database"])?;
    let db = config.as_ref().and_then(|c| c.first().cloned()).unwrap_or_default();
    let setting = |key: &str, env_key: &str| -> Option<String> {
        env(env_key).filter(|v| !v.is_empty()).or_else(|| db.get(key).cloned())
    };
    let source = ConnectionSource::Mode { mode: mode.to_string(), config: config_path.clone() };

    // Serverpod's rule: a `filePath` means SQLite.
    let file_path = setting("filePath", "SERVERPOD_DATABASE_FILE_PATH");
    let inferred = if file_path.is_some() { "sqlite" } else { "postgres" };
    let dialect = setting("dialect", "SERVERPOD_DATABASE_DIALECT").unwrap_or_else(|| inferred.into());
    let driver = Driver::for_dialect(&dialect);
    if driver == Some(Driver::Mysql) {
        return Err(DbError::Config {
            path: config_path,
            message: format!(
                "`database.dialect: {dialect}`: Serverpod's config files describe PostgreSQL and SQLite databases only; \
                 give a MySQL/MariaDB database as a URL instead (--database-url mysql://user@host:3306/db or DATABASE_URL)"
            ),
        });
    }
    if driver == Some(Driver::Sqlite) {
        let path = file_path.map(|p| project.root.join(p)).unwrap_or_else(|| project.sqlite_path.clone());
        return Ok(sqlite_target(path, source));
    }
    if config.is_none() && env("SERVERPOD_DATABASE_HOST").is_none() {
        return Err(DbError::Config {
            path: config_path,
            message: format!("not found; create it with a `database:` section (host, port, name, user) or set SERVERPOD_DATABASE_HOST etc. for --mode {mode}"),
        });
    }
    let missing = |key: &str| DbError::Config {
        path: config_path.clone(),
        message: format!(
            "`database.{key}` is missing (or set SERVERPOD_DATABASE_{})",
            key.to_ascii_uppercase()
        ),
    };
    let host = setting("host", "SERVERPOD_DATABASE_HOST").ok_or_else(|| missing("host"))?;
    let name = setting("name", "SERVERPOD_DATABASE_NAME").ok_or_else(|| missing("name"))?;
    let user = setting("user", "SERVERPOD_DATABASE_USER").ok_or_else(|| missing("user"))?;
    let port: u16 = match setting("port", "SERVERPOD_DATABASE_PORT") {
        Some(p) => p.trim().parse().map_err(|_| DbError::Config {
            path: config_path.clone(),
            message: format!("`database.port` is not a port number: {p}"),
        })?,
        None => 5432,
    };
    let require_ssl =
        setting("requireSsl", "SERVERPOD_DATABASE_REQUIRE_SSL").map(|v| parse_bool(&v)).unwrap_or(false);
    let unix_socket =
        setting("isUnixSocket", "SERVERPOD_DATABASE_IS_UNIX_SOCKET").map(|v| parse_bool(&v)).unwrap_or(false);

    let passwords_path = project.root.join("config").join("passwords.yaml");
    let password = match env("SERVERPOD_PASSWORD_database").or_else(|| env("SERVERPOD_DATABASE_PASSWORD")) {
        Some(p) => Some(p),
        None => {
            let pw = load_sections(&passwords_path, &[mode, "shared"])?.unwrap_or_default();
            pw.iter().find_map(|section| section.get("database").cloned())
        }
    };

    let mut opts = PgConnectOptions::new().port(port).username(&user).database(&name);
    opts = if unix_socket { opts.socket(&host) } else { opts.host(&host) };
    if let Some(p) = &password {
        opts = opts.password(p);
    }
    if require_ssl {
        opts = opts.ssl_mode(PgSslMode::Require);
    }
    let mut display =
        url::Url::parse("postgres://localhost/").map_err(|e| DbError::InvalidUrl(e.to_string()))?;
    let _ = display.set_username(&user);
    let _ = display.set_host(Some(if unix_socket { "localhost" } else { &host }));
    let _ = display.set_port(Some(port));
    display.set_path(&name);
    if unix_socket {
        display.query_pairs_mut().append_pair("host", &host);
    }
    if require_ssl {
        display.query_pairs_mut().append_pair("sslmode", "require");
    }
    let secrets = password.into_iter().collect();
    Ok(ConnectionTarget {
        kind: Kind::Postgres(Box::new(opts)),
        display: display.to_string(),
        source,
        secrets,
        connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
        mysql_endpoint: None,
        run: RunSettings::default(),
        transaction_pooled: false,
    })
}

/// Masks every secret of four or more characters and every `scheme://user:password@` in `text`.
/// Shorter secrets are only masked inside URLs (masking every `ab` would garble messages).
pub fn sanitize(text: &str, secrets: &[String]) -> String {
    let mut out = scrub_urls(text);
    for s in secrets {
        if s.chars().count() >= 4 {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

/// Masks what looks like a password in `text`, whether or not it would parse: in any
/// `scheme://user:…@host`, everything between the user's `:` and the URL's last `@` (so an
/// unencoded `#`, `/` or `?` in the password is covered), and the value of every `password=`
/// (bare or single-quoted, libpq rules). When unsure it masks too much, never too little.
pub fn scrub_urls(text: &str) -> String {
    mask_password_params(&mask_url_userinfo(text))
}

fn mask_url_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        rest = tail;
        let url_end =
            tail.find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`')).unwrap_or(tail.len());
        let url = &tail[..url_end];
        let Some(colon) = url.find([':', '@', '/', '?', '#']).filter(|&i| url[i..].starts_with(':')) else {
            continue;
        };
        if let Some(at) = url.rfind('@').filter(|&at| at > colon + 1) {
            out.push_str(&tail[..=colon]);
            out.push_str("***");
            rest = &tail[at..];
        }
    }
    out.push_str(rest);
    out
}

/// Replaces the value of every `password = value` (any case, libpq quoting) with `***`.
fn mask_password_params(text: &str) -> String {
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` index `text`.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find("password") {
        let key_end = search + found + "password".len();
        search = key_end;
        let after_key = skip_ascii_whitespace(text, key_end);
        if !text[after_key..].starts_with('=') {
            continue;
        }
        let value_start = skip_ascii_whitespace(text, after_key + 1);
        let value_end = password_value_end(text, value_start);
        if value_end > value_start {
            out.push_str(&text[copied..value_start]);
            out.push_str("***");
            copied = value_end;
            search = value_end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

fn skip_ascii_whitespace(text: &str, from: usize) -> usize {
    from + text[from..].bytes().take_while(u8::is_ascii_whitespace).count()
}

/// Where a libpq value starting at `start` ends: after its closing quote, or at whitespace for a
/// bare value; a backslash escapes the next character. Unterminated: the end of `text`.
fn password_value_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let quoted = bytes.get(start) == Some(&b'\'');
    let mut i = start + usize::from(quoted);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\'' if quoted => return i + 1,
            c if !quoted && c.is_ascii_whitespace() => return i,
            _ => i += 1,
        }
    }
    text.len()
}

/// Runs a fleet schema target's `SET search_path` (a function of its own, so the future that
/// calls it stays `Send` for every connection lifetime, as the lease heartbeat's spawn needs).
async fn set_search_path(conn: &mut sqlx::PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(conn, sql).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn project(dir: &Path) -> Project {
        Project::with_defaults(dir, "shop", Driver::Postgres)
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn scrubs_userinfo() {
        assert_eq!(scrub_urls("postgres://bob:s3cret@h:5432/db"), "postgres://bob:***@h:5432/db");
        assert_eq!(scrub_urls("x postgres://bob@h/db y"), "x postgres://bob@h/db y");
        assert_eq!(
            scrub_urls("a 'mysql://u:p@x' and postgresql://v:w@y:1/z?ssl=1"),
            "a 'mysql://u:***@x' and postgresql://v:***@y:1/z?ssl=1"
        );
        assert_eq!(scrub_urls("no url"), "no url");
        assert_eq!(scrub_urls("http://"), "http://");
    }

    #[test]
    fn sanitize_masks_secrets_and_urls() {
        let s = sanitize("password hunter22 rejected for postgres://a:hunter22@h/d", &["hunter22".into()]);
        assert!(!s.contains("hunter22"), "{s}");
        // Short secrets stay readable outside URLs but never inside them.
        let s = sanitize("ab postgres://u:ab@h/d", &["ab".into()]);
        assert_eq!(s, "ab postgres://u:***@h/d");
    }

    #[test]
    fn flag_url_is_redacted_everywhere() {
        let dir = tempfile::tempdir().unwrap();
        let t = resolve_connection_with_env(
            &project(dir.path()),
            Some(
                "postgres://alice:Sup3r%40Secret@db.example:6543/shop?sslmode=require&password=Sup3r@Secret",
            ),
            None,
            &no_env,
        )
        .unwrap();
        for shown in [t.redacted().to_string(), t.to_string(), format!("{t:?}")] {
            assert!(!shown.contains("Sup3r"), "{shown}");
            assert!(shown.contains("alice@db.example:6543/shop"), "{shown}");
        }
        assert!(t.redacted().contains("sslmode=require"));
        assert_eq!(t.driver(), Driver::Postgres);
        assert_eq!(t.source(), &ConnectionSource::Flag);
        assert!(!t.sanitize("auth failed for Sup3r@Secret").contains("Sup3r"));
    }

    #[test]
    fn precedence_flag_then_mode_then_env_then_dotenv_then_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path());
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(
            dir.path().join("config/development.yaml"),
            "database:\n  host: modehost\n  port: 8090\n  name: m\n  user: postgres\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "# comment\nOTHER=1\nDATABASE_URL=postgres://dot@dothost/d\n",
        )
        .unwrap();
        let env: HashMap<&str, &str> = [("DATABASE_URL", "postgres://env@envhost/e")].into();
        let env = |k: &str| env.get(k).map(|v| v.to_string());

        let t =
            resolve_connection_with_env(&p, Some("postgres://flag@flaghost/f"), Some("development"), &env)
                .unwrap();
        assert!(t.redacted().contains("flaghost"));
        let t = resolve_connection_with_env(&p, None, Some("development"), &env).unwrap();
        assert!(t.redacted().contains("modehost:8090/m"), "{}", t.redacted());
        let t = resolve_connection_with_env(&p, None, None, &env).unwrap();
        assert_eq!(t.source(), &ConnectionSource::EnvVar);
        let t = resolve_connection_with_env(&p, None, None, &no_env).unwrap();
        assert!(matches!(t.source(), ConnectionSource::DotEnv(_)));
        assert!(t.redacted().contains("dothost"));
        std::fs::remove_file(dir.path().join(".env")).unwrap();
        let t = resolve_connection_with_env(&p, None, None, &no_env).unwrap();
        assert_eq!(t.source(), &ConnectionSource::Embedded);
        assert_eq!(t.driver(), Driver::Sqlite);
        assert_eq!(t.sqlite_path(), Some(p.sqlite_path.as_path()));
    }

    #[test]
    fn mode_reads_passwords_and_env_overrides_without_showing_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path());
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(
            dir.path().join("config/production.yaml"),
            "database:\n  host: prod.internal\n  port: 5433\n  name: shop\n  user: app\n  requireSsl: true\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("config/passwords.yaml"),
            "shared:\n  database: 'shared_pw_123'\nproduction:\n  database: 'prod_pw_456'\n  serviceSecret: 'xxxxxxxxxxxxxxxxxxxxxxxx'\n",
        )
        .unwrap();
        let t = resolve_connection_with_env(&p, None, Some("production"), &no_env).unwrap();
        assert_eq!(t.redacted(), "postgres://app@prod.internal:5433/shop?sslmode=require");
        let o = t.pg_options().unwrap();
        assert_eq!(o.get_host(), "prod.internal");
        assert_eq!(o.get_port(), 5433);
        assert_eq!(o.get_database(), Some("shop"));
        let all = format!("{t} {t:?} {}", t.sanitize("error: prod_pw_456 shared_pw_123"));
        assert!(!all.contains("prod_pw_456"), "{all}");

        // Per-mode password missing → shared; env overrides beat both files.
        let t = resolve_connection_with_env(&p, None, Some("production"), &|k| match k {
            "SERVERPOD_DATABASE_HOST" => Some("override.host".into()),
            "SERVERPOD_DATABASE_PORT" => Some("6000".into()),
            "SERVERPOD_PASSWORD_database" => Some("env_pw_789".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(t.redacted(), "postgres://app@override.host:6000/shop?sslmode=require");
        assert!(!format!("{t:?}{t}").contains("env_pw_789"));
        assert!(t.sanitize("x env_pw_789").contains("***"));

        std::fs::write(
            dir.path().join("config/staging.yaml"),
            "database:\n  host: s\n  name: n\n  user: u\n",
        )
        .unwrap();
        let t = resolve_connection_with_env(&p, None, Some("staging"), &no_env).unwrap();
        assert!(t.sanitize("shared_pw_123").contains("***"), "shared password is a secret too");
        assert_eq!(t.pg_options().unwrap().get_port(), 5432);
    }

    #[test]
    fn mode_errors_are_typed_and_helpful() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path());
        assert!(matches!(
            resolve_connection_with_env(&p, None, Some("prod"), &no_env),
            Err(DbError::UnknownMode(_))
        ));
        let e = resolve_connection_with_env(&p, None, Some("staging"), &no_env).unwrap_err();
        assert!(e.to_string().contains("staging.yaml"), "{e}");
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(dir.path().join("config/test.yaml"), "database:\n  host: h\n  user: u\n").unwrap();
        let e = resolve_connection_with_env(&p, None, Some("test"), &no_env).unwrap_err();
        assert!(e.to_string().contains("database.name"), "{e}");
        std::fs::write(
            dir.path().join("config/test.yaml"),
            "database:\n  host: h\n  name: n\n  user: u\n  port: abc\n",
        )
        .unwrap();
        let e = resolve_connection_with_env(&p, None, Some("test"), &no_env).unwrap_err();
        assert!(e.to_string().contains("port"), "{e}");
    }

    #[test]
    fn mode_with_sqlite_dialect_uses_file_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path());
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(
            dir.path().join("config/development.yaml"),
            "database:\n  dialect: sqlite\n  filePath: data/dev.db\n",
        )
        .unwrap();
        let t = resolve_connection_with_env(&p, None, Some("development"), &no_env).unwrap();
        assert_eq!(t.sqlite_path(), Some(dir.path().join("data/dev.db").as_path()));
    }

    #[test]
    fn bad_urls() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path());
        let e =
            resolve_connection_with_env(&p, Some("mongodb://u:topsecret@h/x"), None, &no_env).unwrap_err();
        assert!(matches!(e, DbError::UnsupportedScheme(_)));
        assert!(!e.to_string().contains("topsecret"), "{e}");
        assert!(matches!(
            resolve_connection_with_env(&p, Some("sqlite::memory:"), None, &no_env),
            Err(DbError::InvalidUrl(_))
        ));
        let e = resolve_connection_with_env(&p, Some("postgres://u:topsecret@h:notaport/x"), None, &no_env)
            .unwrap_err();
        assert!(!e.to_string().contains("topsecret"), "{e}");
        let t = resolve_connection_with_env(&p, Some("sqlite://rel/x.db?mode=rwc"), None, &no_env).unwrap();
        assert_eq!(t.sqlite_path(), Some(Path::new("rel/x.db")));
    }

    #[test]
    fn mysql_and_mariadb_urls_are_redacted_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path());
        for scheme in ["mysql", "mariadb", "MySQL"] {
            let url = format!(
                "{scheme}://app:My%23Secret9@db.internal:3307/shop?connect_timeout=5&ssl-mode=required"
            );
            let t = resolve_connection_with_env(&p, Some(&url), None, &no_env).unwrap();
            assert_eq!(t.driver(), Driver::Mysql, "{scheme}");
            assert_eq!(t.connect_timeout(), Some(Duration::from_secs(5)));
            for shown in [t.redacted().to_string(), t.to_string(), format!("{t:?}")] {
                assert!(!shown.contains("Secret9"), "{shown}");
                assert!(shown.contains("app@db.internal:3307/shop?ssl-mode=required"), "{shown}");
            }
            assert!(!t.sanitize("denied for My#Secret9").contains("Secret9"));
            let o = t.mysql_options().unwrap();
            assert_eq!((o.get_host(), o.get_port(), o.get_database()), ("db.internal", 3307, Some("shop")));
        }
        let t = resolve_connection_with_env(&p, Some("mysql://root@h/d"), None, &no_env).unwrap();
        assert_eq!(t.connect_timeout(), Some(DEFAULT_CONNECT_TIMEOUT));
        let e =
            resolve_connection_with_env(&p, Some("mysql://u:Hidden123@h/d?connect_timeout=x"), None, &no_env)
                .unwrap_err();
        assert!(e.to_string().contains("connect_timeout=x") && !e.to_string().contains("Hidden123"), "{e}");
        let e = resolve_connection_with_env(&p, Some("mysql://u:Hidden123@h:99999/d"), None, &no_env)
            .unwrap_err();
        assert!(!e.to_string().contains("Hidden123"), "{e}");
    }

    #[test]
    fn mode_naming_mysql_says_to_use_a_url() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path());
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(
            dir.path().join("config/development.yaml"),
            "database:\n  dialect: mysql\n  host: h\n  name: n\n  user: u\n",
        )
        .unwrap();
        let e = resolve_connection_with_env(&p, None, Some("development"), &no_env).unwrap_err();
        assert!(
            e.to_string().contains("development.yaml") && e.to_string().contains("--database-url mysql://"),
            "{e}"
        );
    }

    #[test]
    fn a_statement_name_collision_points_at_the_pooler() {
        let e = "prepared statement \"sqlx_s_1\" already exists (SQLSTATE 42P05)";
        assert!(pooler_hint(e).unwrap().contains("add `pooling=transaction`"));
        assert!(pooler_hint("prepared statement \"sqlx_s_3\" does not exist (SQLSTATE 26000)").is_some());
        assert!(pooler_hint("unnamed prepared statement does not exist (SQLSTATE 26000)").is_some());
        assert!(pooler_hint("relation \"x\" already exists (SQLSTATE 42P07)").is_none());
    }

    #[test]
    fn pooling_is_read_from_the_url_and_kept_in_its_display() {
        let p = project(Path::new("/p"));
        let t =
            resolve_connection_with_env(&p, Some("postgres://u:pw@h/db?pooling=transaction"), None, &no_env)
                .unwrap();
        assert!(t.transaction_pooled());
        assert_eq!(t.redacted(), "postgres://u@h/db?pooling=transaction");
        let t = resolve_connection_with_env(&p, Some("postgres://u@h/db"), None, &no_env).unwrap();
        assert!(!t.transaction_pooled());
        let e = resolve_connection_with_env(&p, Some("postgres://u@h/db?pooling=statement"), None, &no_env)
            .unwrap_err();
        assert!(e.to_string().contains("`pooling=statement`: expected `pooling=transaction`"), "{e}");
        let tenant = t.with_schema("tenant a");
        assert_eq!(tenant.redacted(), "postgres://u@h/db [schema tenant a]");
        assert_eq!(tenant.search_path_sql("SET LOCAL").unwrap(), "SET LOCAL search_path TO \"tenant a\"");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%40b%2Fc").unwrap(), "a@b/c");
        assert_eq!(percent_decode("plain").unwrap(), "plain");
        assert!(percent_decode("bad%zz").is_err());
    }
}
