//! `strata rollback --to V | --steps N`: take a live database back to an older version with a
//! down migration computed from the two versions' `definition.json` (no hand-written down files),
//! after a data-loss preflight, under the migration lock, recorded in history.
//!
//! Afterwards `status` says "rolled back to V" and `apply --repair` stays there; a plain `apply`
//! rolls forward again and says so.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use strata_db::{ApplyEvent, ConnectionTarget, Driver, Project, RollbackRequest};
use strata_project::{MigrationsDir, ProjectConfig};
use strata_schema::{DatabaseDefinition, DatabaseMigration, MigrationAction};
use strata_sql::{migration_sql, MigrationSqlInput, Postgres, Sqlite};

use crate::commands::apply::{load_project, parse_duration, resolve, runtime, ConnArgs};
use crate::exit;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The version to go back to (older than the installed one).
    #[arg(long, value_name = "VERSION", required_unless_present = "steps", conflicts_with = "steps")]
    pub to: Option<String>,
    /// Go back this many versions.
    #[arg(long, value_name = "N")]
    pub steps: Option<usize>,
    /// Roll back even though it drops tables or columns (their data is not restored).
    #[arg(long)]
    pub force: bool,
    /// Print the preflight and the SQL; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait for another run holding the migration lock.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
}

pub fn run(project_dir: &Path, args: Args) -> anyhow::Result<u8> {
    let cfg = ProjectConfig::load(project_dir)?;
    let project = load_project(project_dir)?;
    let target = resolve(&project, &args.conn)?;
    say!("database: {target}");
    let rt = runtime()?;
    let status = rt.block_on(strata_db::status(&project, &target))?;
    let migrations = MigrationsDir::new(&cfg.migrations_dir);
    let (from, to) = choose_versions(status.installed.clone(), &migrations.versions()?, &args)?;
    if let Some(reason) = dirty(&status, &from, &to).filter(|_| !args.force) {
        say!("Rollback refused: {reason}. Re-run with --force to roll back anyway.");
        return Ok(exit::BLOCKED);
    }
    let from_def = migrations.read_definition(&from)?;
    let to_def = migrations.read_definition(&to)?;
    let migration = strata_diff::generate_migration(&from_def, &to_def);
    let sql = down_sql(&project, &migration, &from_def, &to_def)?;

    let destructive = preflight(&rt, &target, &migration, &from, &to)?;
    if args.dry_run {
        let _ = std::io::stdout().write_all(sql.as_bytes());
        return Ok(exit::OK);
    }
    if destructive && !args.force {
        say!("Rollback aborted: it loses data (see above). Re-run with --force to roll back anyway.");
        return Ok(exit::BLOCKED);
    }
    let request = RollbackRequest { from: from.clone(), to: to.clone(), sql };
    let mut progress = |e: &ApplyEvent| {
        if let ApplyEvent::RunLockWaiting { holder } = e {
            say!("waiting for the run lock ({holder})…");
        } else if let ApplyEvent::LockWaiting { .. } = e {
            say!("waiting for the migration lock…");
        }
    };
    rt.block_on(strata_db::rollback(&project, &target, &request, args.lock_timeout, &mut progress))
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    say!(
        "Rolled back from {from} to {to}. Newer versions stay on disk: `strata apply --repair` keeps the \
         rollback, `strata apply` applies them again."
    );
    Ok(exit::OK)
}

/// (installed, target) from `--to` or `--steps`, with an error saying what exists.
fn choose_versions(
    installed: Option<String>,
    versions: &[String],
    args: &Args,
) -> anyhow::Result<(String, String)> {
    let Some(from) = installed else {
        anyhow::bail!("nothing to roll back: the database has no version of this project installed");
    };
    let Some(at) = versions.iter().position(|v| *v == from) else {
        anyhow::bail!(
            "the database is at {from}, which is not in the project's migrations directory; restore it (e.g. from git) first"
        );
    };
    let to = match (&args.to, args.steps) {
        (Some(to), _) => {
            let Some(i) = versions.iter().position(|v| v == to) else {
                anyhow::bail!("--to {to}: no such version (available: {})", versions.join(", "));
            };
            if i >= at {
                anyhow::bail!("nothing to roll back: {to} is not older than the installed version {from}");
            }
            to.clone()
        }
        (None, Some(0)) | (None, None) => anyhow::bail!("--steps must be at least 1"),
        (None, Some(n)) if n > at => anyhow::bail!(
            "--steps {n}: only {at} older version(s) exist before the installed {from}; the oldest is {}",
            versions[0]
        ),
        (None, Some(n)) => versions[at - n].clone(),
    };
    Ok((from, to))
}

/// Why the versions being undone may not match their definitions (the down migration is computed
/// from definitions, so it assumes each of them really ran as written): a skipped version, an
/// edited applied file, an attempt that never finished.
fn dirty(status: &strata_db::StatusReport, from: &str, to: &str) -> Option<String> {
    use strata_db::VersionState as S;
    let reasons: Vec<String> = status
        .rows
        .iter()
        .filter(|r| r.version.as_str() > to && r.version.as_str() <= from)
        .filter_map(|r| {
            let why = match r.state {
                S::Skipped => "was skipped (its changes never ran, so undoing them may fail)",
                S::Modified => "has an edited migration file (the database ran the old one)",
                S::Stale | S::Running => "has an unfinished attempt",
                _ => return None,
            };
            Some(format!("{} {why}", r.version))
        })
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// The down migration's SQL in the project's dialect; it records `to` in `serverpod_migrations`.
fn down_sql(
    project: &Project,
    migration: &DatabaseMigration,
    from: &DatabaseDefinition,
    to: &DatabaseDefinition,
) -> anyhow::Result<String> {
    let removed: Vec<String> = from
        .installed_modules
        .iter()
        .filter(|m| !to.installed_modules.iter().any(|t| t.module == m.module))
        .map(|m| m.module.clone())
        .collect();
    let input = MigrationSqlInput {
        migration,
        source: from,
        target: to,
        installed_modules: &to.installed_modules,
        removed_modules: &removed,
    };
    Ok(match project.driver {
        Driver::Postgres => migration_sql(&Postgres, &input)?,
        Driver::Sqlite => migration_sql(&Sqlite, &input)?,
        // MySQL commits each DDL statement: a down migration that fails half-way cannot be undone.
        Driver::Mysql => anyhow::bail!(
            "rollback is not supported on MySQL/MariaDB: its DDL cannot be rolled back if the down migration fails \
             half-way; write a new migration that makes the change"
        ),
    })
}

/// Prints what the rollback drops, with the rows of live data each drop loses, and the
/// migration's warnings. True when it loses data.
fn preflight(
    rt: &tokio::runtime::Runtime,
    target: &ConnectionTarget,
    migration: &DatabaseMigration,
    from: &str,
    to: &str,
) -> anyhow::Result<bool> {
    let drops = dropped_objects(migration);
    let counts = rt.block_on(strata_db::preflight::count_rows(target, &drops))?;
    say!("Rollback from {from} to {to}: {} action(s).", migration.actions.len());
    for ((table, column), rows) in drops.iter().zip(&counts) {
        match column {
            Some(c) => say!("  drops column \"{table}\".\"{c}\": {rows} row(s) with a value are lost"),
            None => say!("  drops table \"{table}\": {rows} row(s) are lost"),
        }
    }
    for w in &migration.warnings {
        say!("  warning: {}{}", if w.destructive { "[destructive] " } else { "" }, w.message);
    }
    Ok(!drops.is_empty() || migration.warnings.iter().any(|w| w.destructive))
}

/// (table, column) for every dropped column, (table, None) for every dropped table.
fn dropped_objects(migration: &DatabaseMigration) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for action in &migration.actions {
        match action {
            MigrationAction::DeleteTable(t) => out.push((t.clone(), None)),
            MigrationAction::AlterTable(t) => {
                out.extend(t.delete_columns.iter().map(|c| (t.name.clone(), Some(c.clone()))))
            }
            _ => {}
        }
    }
    out
}
