//! The live-data preflight of `create-migration --database-url` and `apply --preflight`: its
//! flags, running it, and its report on stderr (docs/preflight.md). A change the data shows
//! will fail blocks (exit 3) even with `--force`; `--force-data` overrides.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use strata_db::plan::StepKind;
use strata_db::preflight::{blocks, format_findings, Finding, PreflightOptions};
use strata_db::{ApplyOptions, ConnectionTarget, Project};
use strata_project::{create_migration, CreateOptions, MigrationsDir, PlanOutcome, ProjectConfig};
use strata_schema::{DatabaseDefinition, DatabaseMigration};

use crate::commands::apply::{parse_duration, project_of, resolve, runtime, ConnArgs};
use crate::exit;

/// The preflight flags shared by `create-migration` and `apply`.
#[derive(clap::Args, Debug, Clone)]
pub struct PreflightArgs {
    /// Go ahead even though the live data shows a change will fail (for create-migration it
    /// also implies --force).
    #[arg(long)]
    pub force_data: bool,
    /// The longest one preflight query may run (lock waits included) before its check is
    /// reported as unknown.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_timeout)]
    pub preflight_timeout: Duration,
}

/// A duration that bounds something: zero would make every check time out.
fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err(format!("`{s}`: the preflight timeout must be more than zero (e.g. 5s, 500ms)"));
    }
    Ok(d)
}

impl PreflightArgs {
    fn options(&self) -> PreflightOptions {
        PreflightOptions { timeout: self.preflight_timeout, ..PreflightOptions::default() }
    }
}

/// What preflight decided for a command.
pub struct Outcome {
    /// Every finding, in migration order (for `--json`).
    pub findings: Vec<Finding>,
    /// Set when the data blocks the command and `--force-data` was not given.
    pub blocked: bool,
}

/// Runs preflight for one migration and prints its report under `heading`.
fn check(
    rt: &tokio::runtime::Runtime,
    target: &ConnectionTarget,
    heading: &str,
    migration: &DatabaseMigration,
    source: Option<&DatabaseDefinition>,
    args: &PreflightArgs,
) -> anyhow::Result<Vec<Finding>> {
    let findings =
        rt.block_on(strata_db::preflight::preflight(target, migration, source, &args.options()))?;
    if findings.is_empty() {
        say!("preflight {heading}: no change that the data could break");
    } else {
        say!("preflight {heading}:");
        say_raw!("{}", format_findings(&findings));
    }
    Ok(findings)
}

/// `create-migration --database-url/--mode`: plans the migration without writing, checks it
/// against the database (which is at the latest version on disk), and reports. Nothing is
/// written here; the caller writes only when this does not block.
pub fn before_create(
    config: &ProjectConfig,
    options: &CreateOptions,
    now: SystemTime,
    conn: &ConnArgs,
    args: &PreflightArgs,
) -> anyhow::Result<Outcome> {
    // A planning error (invalid models, ...) is reported by the real run, with its locations.
    let Ok(planned) = create_migration(config, &CreateOptions { dry_run: true, ..options.clone() }, now)
    else {
        return Ok(Outcome { findings: Vec::new(), blocked: false });
    };
    let migration = match &planned.outcome {
        PlanOutcome::Created { migration, .. } | PlanOutcome::Blocked { migration, .. } => migration,
        PlanOutcome::NoChanges => return Ok(Outcome { findings: Vec::new(), blocked: false }),
    };
    let migrations = MigrationsDir::new(&config.migrations_dir);
    let source = match migrations.latest()? {
        Some(latest) => Some(migrations.read_definition(&latest)?),
        None => None,
    };
    let project = project_of(config)?;
    let target = resolve(&project, conn)?;
    say!("database: {target}");
    let rt = runtime()?;
    warn_if_not_at_latest(&rt, &project, &target);
    let findings = check(&rt, &target, "of the new migration", migration, source.as_ref(), args)?;
    let blocked = blocks(&findings) && !args.force_data;
    Ok(Outcome { findings, blocked })
}

/// What `create-migration` says when the data blocks it.
pub fn say_create_blocked() {
    say!(
        "Migration aborted: the live data shows it will fail (see \"will fail\" above); nothing was written. \
         Fix the data first, or re-run with --force-data to create it anyway."
    );
}

/// The new migration starts from the latest version on disk; a database elsewhere shows the
/// checks data of another shape, so say so (a failure here leaves it to the preflight's own).
fn warn_if_not_at_latest(rt: &tokio::runtime::Runtime, project: &Project, target: &ConnectionTarget) {
    let Ok(status) = rt.block_on(strata_db::status(project, target)) else { return };
    if status.installed != status.latest {
        say!(
            "warning: the database is at {}, not at the latest version {}: the checks below see its data as it is \
             now, before the versions in between run",
            status.installed.as_deref().unwrap_or("no version"),
            status.latest.as_deref().unwrap_or("(none)")
        );
    }
}

/// `apply --preflight`: checks every pending version's `migration.json` against the database
/// before anything runs. Returns the exit code when the data blocks the run.
pub fn before_apply(
    project: &Project,
    target: &ConnectionTarget,
    opts: &ApplyOptions,
    args: &PreflightArgs,
) -> anyhow::Result<Option<u8>> {
    let rt = runtime()?;
    let dry = ApplyOptions { dry_run: true, ..opts.clone() };
    let plan = rt
        .block_on(strata_db::apply(project, target, &dry, &mut |_| {}))
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    let migrations = MigrationsDir::new(&project.migrations_dir);
    let versions = migrations.versions()?;
    let mut blocking = Vec::new();
    for step in &plan.planned {
        if step.kind != StepKind::Migration {
            // A fresh database (definition.sql) has no data; a repair file has no migration.json.
            continue;
        }
        let migration = migrations.read_migration(&step.version)?;
        let source = match versions.iter().position(|v| *v == step.version) {
            Some(at) if at > 0 => Some(migrations.read_definition(&versions[at - 1])?),
            _ => None,
        };
        let findings = check(&rt, target, &step.version, &migration, source.as_ref(), args)?;
        if blocks(&findings) {
            blocking.push(step.version.clone());
        }
    }
    if blocking.is_empty() || args.force_data {
        return Ok(None);
    }
    say!(
        "Apply stopped before anything ran: the live data shows {} will fail (see \"will fail\" above). Fix the \
         data first, or re-run with --force-data to apply anyway.",
        blocking.join(", ")
    );
    Ok(Some(exit::BLOCKED))
}

/// `lint --database-url/--mode`: preflights each linted version this database has not applied
/// yet (an applied one already ran on this data), reporting on stderr. Returns the findings by
/// version, for the lint to attach to its own.
pub fn for_lint(
    config: &ProjectConfig,
    versions: &[String],
    conn: &ConnArgs,
    args: &PreflightArgs,
) -> anyhow::Result<BTreeMap<String, Vec<Finding>>> {
    let project = project_of(config)?;
    let target = resolve(&project, conn)?;
    say!("database: {target}");
    let rt = runtime()?;
    let installed = rt.block_on(strata_db::status(&project, &target))?.installed;
    let migrations = MigrationsDir::new(&config.migrations_dir);
    let all = migrations.versions()?;
    let mut out = BTreeMap::new();
    for version in versions {
        if installed.as_deref().is_some_and(|i| version.as_str() <= i) {
            say!("preflight {version}: already applied on this database, not checked");
            continue;
        }
        let migration = match migrations.read_migration(version) {
            Ok(m) => m,
            Err(strata_project::ProjectError::MissingArtifact { .. }) => {
                say!("preflight {version}: no migration.json, not checked");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let source = crate::commands::lint::previous_definition(&migrations, &all, version)?;
        let findings = check(&rt, &target, version, &migration, source.as_ref(), args)?;
        out.insert(version.clone(), findings);
    }
    Ok(out)
}
