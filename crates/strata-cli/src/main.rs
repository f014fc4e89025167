//! The `strata` binary: argument parsing and exit codes only; the work lives in the library crates.

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes shared by every command, so CI can gate on them.
pub mod exit {
    /// Success; also "nothing to do".
    pub const OK: u8 = 0;
    /// An error: bad input, corrupt files, unreachable database.
    pub const ERROR: u8 = 1;
    /// Something differs or is pending (diff, status).
    pub const DIFFERS: u8 = 2;
    /// Refused by a safety guard (warnings without --force).
    pub const BLOCKED: u8 = 3;
}

#[derive(Parser)]
#[command(name = "strata", version, about = "Schema-diffing migrations for Serverpod-style projects", long_about = None)]
pub struct Cli {
    /// Project directory (holds strata.toml or a Serverpod server package). Defaults to the
    /// current directory.
    #[arg(short = 'C', long = "project-dir", global = true, default_value = ".")]
    pub project_dir: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Diff the models against the latest migration and write a new migration version.
    CreateMigration(commands::create_migration::Args),
    /// Print the migration between two sides (definition.json, version dir, models, or db:URL).
    Diff(commands::diff::Args),
    /// Apply pending migrations to a live database.
    Apply(commands::apply::Args),
    /// List every migration version and its state in a live database.
    Status(commands::status::Args),
    /// Introspect a live database and write a repair migration towards a chosen version.
    CreateRepairMigration(commands::repair::Args),
    /// Print a live database's schema as definition JSON or SQL.
    Inspect(commands::inspect::Args),
    /// Take a live database back to an older version (a down migration computed from the two
    /// versions' definitions).
    Rollback(commands::rollback::Args),
    /// Drop every table strata manages and apply the latest definition.sql (development
    /// databases only).
    Reset(commands::reset::Args),
    /// Report the hazards of migration files (data loss, failures on existing rows, rolling
    /// deploys, locks, dialect traps), each with a stable code (docs/lint.md).
    Lint(commands::lint::Args),
    /// Batched background data migrations: status, run, pause, resume, finalize (docs/background.md).
    Background(commands::background::Args),
}

/// Rust ignores SIGPIPE, so `strata diff … | head` would panic on the closed pipe. Restore the
/// default disposition: like any Unix filter, strata then ends quietly when its reader goes.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    // clap exits 2 on usage errors, which would read as "differs" to CI: map them to ERROR.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::ERROR } else { exit::OK });
        }
    };
    // Only for commands that just print: a command that changes things (apply, create-migration,
    // create-repair-migration) keeps SIGPIPE ignored and ignores write errors, so `strata apply |
    // head` still finishes the run instead of dying between two migrations.
    if matches!(cli.command, Command::Diff(_) | Command::Status(_) | Command::Inspect(_) | Command::Lint(_)) {
        restore_sigpipe();
    }
    let dir = cli.project_dir.clone();
    let result = match cli.command {
        Command::CreateMigration(a) => commands::create_migration::run(&dir, a),
        Command::Diff(a) => commands::diff::run(&dir, a),
        Command::Apply(a) => commands::apply::run(&dir, a),
        Command::Status(a) => commands::status::run(&dir, a),
        Command::CreateRepairMigration(a) => commands::repair::run(&dir, a),
        Command::Inspect(a) => commands::inspect::run(&dir, a),
        Command::Rollback(a) => commands::rollback::run(&dir, a),
        Command::Reset(a) => commands::reset::run(&dir, a),
        Command::Lint(a) => commands::lint::run(&dir, a),
        Command::Background(a) => commands::background::run(&dir, a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}
