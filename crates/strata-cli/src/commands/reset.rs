//! `strata reset`: drop every table strata manages (the latest `definition.json`'s tables,
//! `serverpod_migrations`, strata's history) and apply the latest `definition.sql`, as on a fresh
//! database. Development databases only: SQLite, or `--mode development`. The database's name
//! must be typed on a terminal, or given as `--yes-i-mean-it=<name>` without one.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use strata_db::{ApplyEvent, ConnectionSource, ConnectionTarget, Driver, ResetRequest};
use strata_project::{MigrationsDir, ProjectConfig};

use crate::commands::apply::{fmt_duration, load_project, parse_duration, resolve, runtime, ConnArgs};
use crate::exit;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The database's name (PostgreSQL: its name; SQLite: the file name), confirming the reset
    /// without a terminal.
    #[arg(long = "yes-i-mean-it", value_name = "DBNAME")]
    pub confirm: Option<String>,
    /// How long to wait for another run holding the migration lock.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
}

pub fn run(project_dir: &Path, args: Args) -> anyhow::Result<u8> {
    let cfg = ProjectConfig::load(project_dir)?;
    let project = load_project(project_dir)?;
    let target = resolve(&project, &args.conn)?;
    say!("database: {target}");
    if let Err(why) = allowed(&target) {
        say!("Reset refused: {why}");
        return Ok(exit::BLOCKED);
    }
    let name = database_name(&target);
    if let Err(why) = confirmed(&name, args.confirm.as_deref()) {
        say!("Reset refused: {why}");
        return Ok(exit::BLOCKED);
    }
    let migrations = MigrationsDir::new(&cfg.migrations_dir);
    let Some(latest) = migrations.latest()? else {
        anyhow::bail!("{}: no migration versions; nothing to reset to", cfg.migrations_dir.display());
    };
    let definition = migrations.read_definition(&latest)?;
    let tables = definition.tables.iter().map(|t| t.name.clone()).collect();
    let request = ResetRequest { tables, lock_timeout: args.lock_timeout };
    let mut progress = |e: &ApplyEvent| match e {
        ApplyEvent::RunLockWaiting { holder } => say!("waiting for the run lock ({holder})…"),
        ApplyEvent::LockWaiting { .. } => say!("waiting for the migration lock…"),
        ApplyEvent::StepFinished { step, duration } => {
            say!("applied {} ({}) in {}", step.version, step.kind.file_name(), fmt_duration(*duration))
        }
        _ => {}
    };
    let report = runtime()?
        .block_on(strata_db::reset(&project, &target, &request, &mut progress))
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    say!(
        "Reset {name}: dropped {} table(s) and the migration bookkeeping; the database is at {}.",
        request.tables.len(),
        report.installed_after.as_deref().unwrap_or("no version")
    );
    Ok(exit::OK)
}

/// Only a development database may be reset: SQLite, or one chosen with `--mode development`.
fn allowed(target: &ConnectionTarget) -> Result<(), String> {
    if target.driver() == Driver::Sqlite {
        return Ok(());
    }
    match target.source() {
        ConnectionSource::Mode { mode, .. } if mode == "development" => Ok(()),
        source => Err(format!(
            "reset drops every table, and {target} (from {source}) is not marked as a development database. \
             It runs only on SQLite, or on the PostgreSQL database of config/development.yaml chosen with \
             `--mode development`"
        )),
    }
}

/// The name the operator must type: PostgreSQL's database name, SQLite's file name.
fn database_name(target: &ConnectionTarget) -> String {
    match target.driver() {
        Driver::Postgres => {
            target.pg_options().and_then(|o| o.get_database()).unwrap_or("postgres").to_string()
        }
        Driver::Mysql => {
            target.mysql_options().and_then(|o| o.get_database()).unwrap_or_default().to_string()
        }
        Driver::Sqlite => target
            .sqlite_path()
            .and_then(|p| p.file_name())
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

/// `--yes-i-mean-it` must name the database; without it, a terminal asks for the name.
fn confirmed(name: &str, given: Option<&str>) -> Result<(), String> {
    let typed = match given {
        Some(g) => g.to_string(),
        None if std::io::stdin().is_terminal() => {
            let _ = write!(std::io::stderr(), "This drops every table of {name}. Type its name to go on: ");
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("reading the answer: {e}"))?;
            line.trim().to_string()
        }
        None => {
            return Err(format!("not on a terminal: confirm with --yes-i-mean-it={name}"));
        }
    };
    if typed != name {
        return Err(format!("`{typed}` is not the database's name ({name}); nothing was changed"));
    }
    Ok(())
}
