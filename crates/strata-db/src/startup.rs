//! Startup migration for applications: [`migrate_at_startup`] with the migrations embedded in
//! the binary at build time (`strata-embed` in `build.rs`, [`include_migrations!`] in code).
//!
//! The rule (docs/deploy.md): an application on SQLite owns its database file, so it applies
//! pending migrations when it starts. On PostgreSQL (and MySQL when it lands) many instances
//! share one database and migrating is a separate deploy step, so the application only checks
//! that the database is at its embedded version and refuses to start otherwise. strata's lock
//! would make concurrent starts safe; the separate step gives failures one place to be seen.

use std::path::PathBuf;
use std::time::Duration;

use crate::status::{self, StatusReport, VersionState};
use crate::{ApplyFailure, ApplyOptions, DbError, DiskMigration, Driver, Project};

/// One version's files as embedded by `strata-embed` (a missing file is `None`, as on disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedMigration {
    pub version: &'static str,
    pub definition_sql: Option<&'static str>,
    pub migration_sql: Option<&'static str>,
}

impl EmbeddedMigration {
    /// The runner's view of this version.
    pub fn to_disk(&self) -> DiskMigration {
        DiskMigration::from_embedded(self.version, self.definition_sql, self.migration_sql)
    }
}

/// The `&'static [EmbeddedMigration]` that `strata_embed::embed_migrations` generated in this
/// crate's `build.rs`.
#[macro_export]
macro_rules! include_migrations {
    () => {
        include!(concat!(env!("OUT_DIR"), "/strata_migrations.rs"))
    };
}

/// What [`migrate_at_startup`] needs: the application's module, the dialect its migrations are
/// written for, where the database is, and the embedded migrations.
#[derive(Debug, Clone)]
pub struct StartupConfig<'a> {
    /// The project's module name (its row in `serverpod_migrations`).
    pub module_name: &'a str,
    /// The dialect the embedded migrations are written for.
    pub dialect: Driver,
    /// `sqlite:…` or `postgres://…`; a relative SQLite path is relative to the working directory.
    pub database_url: &'a str,
    pub migrations: &'a [EmbeddedMigration],
    /// SQLite: how long to wait for another process applying to the same file.
    pub lock_timeout: Duration,
}

impl<'a> StartupConfig<'a> {
    /// A configuration with a 60 s lock timeout.
    pub fn new(
        module_name: &'a str,
        dialect: Driver,
        database_url: &'a str,
        migrations: &'a [EmbeddedMigration],
    ) -> Self {
        StartupConfig {
            module_name,
            dialect,
            database_url,
            migrations,
            lock_timeout: Duration::from_secs(60),
        }
    }
}

/// What happened at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupOutcome {
    /// SQLite: these versions were applied, in order.
    Applied { versions: Vec<String>, installed: Option<String> },
    /// Nothing to do: the database is at the embedded latest version.
    UpToDate { installed: Option<String> },
}

/// Why the application must not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    #[error(
        "{target} is behind this build (installed: {}, built with: {}; pending: {}). The application \
         does not migrate {dialect} itself, since several instances share the database: run `strata apply` \
         against it as a deploy step before starting the application (see docs/deploy.md)",
        .installed.as_deref().unwrap_or("none"), .latest.as_deref().unwrap_or("none"), .pending.join(", ")
    )]
    Behind {
        target: String,
        dialect: Driver,
        installed: Option<String>,
        latest: Option<String>,
        pending: Vec<String>,
    },
    #[error(
        "{target} does not match the migrations this build embeds: {}; run `strata status` against it \
         for the details and fix it with `strata apply` before starting the application",
        .problems.join("; ")
    )]
    Mismatch { target: String, problems: Vec<String> },
    #[error(transparent)]
    Db(#[from] DbError),
    /// Boxed: a failure carries the whole apply report.
    #[error(transparent)]
    Apply(Box<ApplyFailure>),
}

/// Brings the database to the embedded migrations (SQLite) or checks that it is there
/// (PostgreSQL). See the module docs for why the two differ.
pub async fn migrate_at_startup(config: &StartupConfig<'_>) -> Result<StartupOutcome, StartupError> {
    match config.dialect {
        Driver::Sqlite => apply_embedded(config).await,
        // A server database is migrated by `strata apply` in the deployment, not by each instance.
        Driver::Postgres | Driver::Mysql => verify_embedded(config).await,
    }
}

/// A project with no files of its own: the migrations come from the binary, so `migrations_dir`
/// only names them in messages.
fn project_for(config: &StartupConfig<'_>, migrations_dir: PathBuf) -> Project {
    let root = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut project = Project::with_defaults(root, config.module_name, config.dialect);
    project.repair_dir = migrations_dir.join(".no-repair");
    project.migrations_dir = migrations_dir;
    project
}

async fn apply_embedded(config: &StartupConfig<'_>) -> Result<StartupOutcome, StartupError> {
    let project = project_for(config, PathBuf::from("embedded"));
    let target = crate::resolve_connection(&project, Some(config.database_url), None)?;
    let opts = ApplyOptions { lock_timeout: config.lock_timeout, ..ApplyOptions::default() };
    let disk: Vec<DiskMigration> = config.migrations.iter().map(EmbeddedMigration::to_disk).collect();
    let report = crate::runner::apply_migrations(&project, &target, &disk, &opts, &mut |_| {})
        .await
        .map_err(|e| StartupError::Apply(Box::new(e)))?;
    let versions: Vec<String> = report.applied.into_iter().map(|s| s.version).collect();
    let installed = report.installed_after.or(report.installed_before);
    Ok(match versions.is_empty() {
        true => StartupOutcome::UpToDate { installed },
        false => StartupOutcome::Applied { versions, installed },
    })
}

async fn verify_embedded(config: &StartupConfig<'_>) -> Result<StartupOutcome, StartupError> {
    let project = project_for(config, PathBuf::from("embedded"));
    let target = crate::resolve_connection(&project, Some(config.database_url), None)?;
    let state = crate::read_state(&project, &target).await?;
    let disk: Vec<DiskMigration> = config.migrations.iter().map(EmbeddedMigration::to_disk).collect();
    let report = status::build(config.module_name, config.dialect.name(), &state, &disk, None);
    if report.up_to_date() {
        return Ok(StartupOutcome::UpToDate { installed: report.installed });
    }
    Err(not_up_to_date(&report, target.redacted(), config.dialect))
}

/// `Behind` when only pending versions stand between the database and the build, else
/// `Mismatch` listing every version that needs attention.
fn not_up_to_date(report: &StatusReport, target: &str, dialect: Driver) -> StartupError {
    let attention: Vec<_> = report.rows.iter().filter(|r| r.state.needs_attention()).collect();
    let only_pending = report.problem.is_none() && attention.iter().all(|r| r.state == VersionState::Pending);
    if only_pending && !attention.is_empty() {
        return StartupError::Behind {
            target: target.to_string(),
            dialect,
            installed: report.installed.clone(),
            latest: report.latest.clone(),
            pending: attention.iter().map(|r| r.version.clone()).collect(),
        };
    }
    let mut problems: Vec<String> = report.problem.iter().cloned().collect();
    problems.extend(attention.iter().map(|r| match &r.detail {
        Some(d) => format!("{} is {} ({d})", r.version, r.state.as_str()),
        None => format!("{} is {}", r.version, r.state.as_str()),
    }));
    if problems.is_empty() {
        problems.push(format!("installed version {:?} is not one this build knows", report.installed));
    }
    StartupError::Mismatch { target: target.to_string(), problems }
}
