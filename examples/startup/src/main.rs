//! An application that migrates at startup: its migrations are compiled in, so it runs from any
//! directory with no `migrations/` beside it. On SQLite it applies what is pending; on
//! PostgreSQL it only checks the database is up to date (see docs/deploy.md).
//!
//! `DATABASE_URL` says where the database is (default: `sqlite:app.db` in the working
//! directory). Progress goes to stderr; the exit code is 0 when the application may start.

use std::process::ExitCode;

use strata_db::{migrate_at_startup, Driver, EmbeddedMigration, StartupConfig, StartupOutcome};

/// The example project's migrations, embedded by `build.rs`.
static MIGRATIONS: &[EmbeddedMigration] = strata_db::include_migrations!();

/// The example project's module name and dialect (its `strata.toml`).
const MODULE: &str = "strata_example";
const DIALECT: Driver = Driver::Sqlite;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite:app.db".to_string());
    match migrate_at_startup(&StartupConfig::new(MODULE, DIALECT, &url, MIGRATIONS)).await {
        Ok(StartupOutcome::Applied { versions, installed }) => {
            eprintln!("applied {} migration(s): {}", versions.len(), versions.join(", "));
            eprintln!("database at {}; starting", installed.as_deref().unwrap_or("none"));
            ExitCode::SUCCESS
        }
        Ok(StartupOutcome::UpToDate { installed }) => {
            eprintln!("database up to date at {}; starting", installed.as_deref().unwrap_or("none"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: not starting: {e}");
            ExitCode::FAILURE
        }
    }
}
