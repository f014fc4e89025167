//! `strata apply`: run the repair migration (with `--repair`) and the pending migrations
//! against a live database, under the migration lock, one transaction per migration.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use strata_db::plan::Step;
use strata_db::{ApplyEvent, ApplyOptions, ConnectionTarget, Driver, Project, SkipRequest, StepKind};
use strata_project::ProjectConfig;

use crate::exit;

/// Where the database is. Without either flag: `DATABASE_URL` (environment, then the
/// project's `.env`), else the project's embedded SQLite file.
#[derive(clap::Args, Debug, Clone)]
pub struct ConnArgs {
    /// Database URL: `postgres://user@host:5432/db` or `sqlite:path/to/file.db`.
    #[arg(long, value_name = "URL", conflicts_with = "mode")]
    pub database_url: Option<String>,
    /// Use Serverpod's `config/<MODE>.yaml` and `config/passwords.yaml` (with the
    /// `SERVERPOD_DATABASE_*` / `SERVERPOD_PASSWORD_database` environment overrides).
    #[arg(long, short = 'm', value_name = "MODE", value_parser = ["development", "test", "staging", "production"])]
    pub mode: Option<String>,
    #[command(flatten)]
    pub connect_timeout: crate::commands::live::ConnectTimeout,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// First apply the repair migration in `repair-migration/` (skipped if already applied).
    #[arg(long, conflicts_with = "targets")]
    pub repair: bool,
    /// Stop after this version instead of the latest.
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// Print the plan and the SQL; change nothing (not even strata's history table).
    #[arg(long, conflicts_with = "targets")]
    pub dry_run: bool,
    /// How long to wait for another run holding the migration lock (e.g. 30s, 2m, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// This applied migration's file was edited on purpose: record its new checksum without
    /// re-running it. Repeat for several versions.
    #[arg(long, value_name = "VERSION")]
    pub accept_modified: Vec<String>,
    /// Also run versions older than the installed one that never ran here (merged from another
    /// branch after newer versions were applied). The installed version stays the newest.
    #[arg(long)]
    pub out_of_order: bool,
    /// With --repair: apply the repair file even if it was computed from another database (its
    /// recorded fingerprint does not match this one).
    #[arg(long, requires = "repair")]
    pub force: bool,
    /// Run these applied versions' `migration.sql` again (only files whose header has the line
    /// `-- strata:rerunnable`); each run is a new history row.
    #[arg(long, value_name = "VERSION", num_args = 1.., conflicts_with = "targets")]
    pub rerun: Vec<String>,
    /// Retry only the failed or interrupted next version, and stop there; refuses when no
    /// version has failed (a plain apply also retries it, then goes on to the latest).
    #[arg(long, conflicts_with_all = ["to", "skip_failed"])]
    pub retry_failed: bool,
    /// Record this failed version as skipped (its file does not run) so apply moves past it.
    #[arg(long, value_name = "VERSION", requires = "reason", conflicts_with = "targets")]
    pub skip_failed: Option<String>,
    /// Why the --skip-failed version is skipped (kept in history and shown by `status`).
    #[arg(long, value_name = "TEXT", requires = "skip_failed")]
    pub reason: Option<String>,
    /// Before anything runs, check each pending migration against the live data; a change the
    /// data shows will fail stops the run (exit 3) unless --force-data (docs/preflight.md).
    #[arg(long, conflicts_with = "targets")]
    pub preflight: bool,
    #[command(flatten)]
    pub preflight_args: crate::commands::preflight::PreflightArgs,
    #[command(flatten)]
    pub lock: LockArgs,
    #[command(flatten)]
    pub fleet: crate::commands::fleet::ApplyFleetArgs,
}

/// How runs exclude each other (docs/distributed.md).
#[derive(clap::Args, Debug, Clone)]
pub struct LockArgs {
    /// `auto`: the dialect's session advisory lock where it has one, else a lease row with an
    /// expiry and a fencing token (CockroachDB, YugabyteDB); `advisory` or `lease` force one.
    #[arg(long, value_name = "STRATEGY", default_value = "auto", value_parser = ["auto", "advisory", "lease"])]
    pub lock_strategy: String,
    /// How long a lease outlives its last heartbeat: a run that dies blocks others at most this
    /// long (the heartbeat renews it every third of this while the run lives).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub lease_ttl: Duration,
}

impl LockArgs {
    /// The strategy the flags ask for.
    pub fn strategy(&self) -> strata_db::LockStrategy {
        match self.lock_strategy.as_str() {
            "advisory" => strata_db::LockStrategy::Advisory,
            "lease" => strata_db::LockStrategy::Lease { ttl: self.lease_ttl },
            _ => strata_db::LockStrategy::Auto { lease_ttl: self.lease_ttl },
        }
    }
}

/// Parses `500ms`, `30s`, `2m`, `1h` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, "s"),
    };
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a duration (e.g. 30s, 2m, 500ms)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "sec" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{s}` is not a duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Loads the project and maps it to what strata-db needs.
pub fn load_project(dir: &Path) -> anyhow::Result<Project> {
    project_of(&ProjectConfig::load(dir)?)
}

/// The runner's view of a loaded project.
pub fn project_of(cfg: &ProjectConfig) -> anyhow::Result<Project> {
    if Driver::for_dialect(&cfg.dialect).is_none() {
        anyhow::bail!("unsupported dialect `{}`", cfg.dialect);
    }
    Ok(Project::from(cfg))
}

/// Resolves the database from the flags (see [`ConnArgs`]).
pub fn resolve(project: &Project, conn: &ConnArgs) -> anyhow::Result<ConnectionTarget> {
    let target = strata_db::resolve_connection(project, conn.database_url.as_deref(), conn.mode.as_deref())?;
    Ok(conn.connect_timeout.apply(target))
}

/// A tokio runtime for one command (the CLI is otherwise synchronous).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")
}

/// `12 ms`, `1.25 s`.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

fn describe(step: &Step) -> String {
    match step.kind {
        StepKind::Repair => format!("repair migration {}", step.version),
        k => format!("{} ({})", step.version, k.file_name()),
    }
}

pub fn run(project_dir: &Path, args: Args) -> anyhow::Result<u8> {
    let project = load_project(project_dir)?;
    let opts = ApplyOptions {
        to: args.to,
        accept_modified: args.accept_modified,
        repair: args.repair,
        dry_run: args.dry_run,
        lock_timeout: args.lock_timeout,
        out_of_order: args.out_of_order,
        rerun: args.rerun,
        retry_failed: args.retry_failed,
        skip_failed: skip_request(args.skip_failed, args.reason)?,
    };
    args.fleet.check_needs_targets()?;
    if let Some(file) = &args.fleet.fleet.targets {
        let lock = args.lock.strategy();
        return crate::commands::fleet::apply(
            &project,
            file,
            &args.fleet,
            &args.conn.connect_timeout,
            lock,
            opts,
        );
    }
    let target = resolve(&project, &args.conn)?.with_lock_strategy(args.lock.strategy());
    // Progress and the outcome are a human report: stderr. Only a dry run's plan and SQL (what
    // it exists to produce) go to stdout. Write errors are ignored (SIGPIPE is too, see main):
    // a closed pipe must never stop a run between two migrations.
    if opts.repair && !args.force {
        check_repair_source(&project, &target)?;
    }
    if args.preflight {
        if let Some(code) =
            crate::commands::preflight::before_apply(&project, &target, &opts, &args.preflight_args)?
        {
            return Ok(code);
        }
    }
    let tty = std::io::stderr().is_terminal();
    let mut err = std::io::stderr();
    let _ = writeln!(err, "database: {target}");
    if opts.dry_run {
        let _ = writeln!(err, "dry run: nothing will be changed");
    }
    let started = Instant::now();
    // On a terminal each step shows its position in the run, so a long upgrade shows progress.
    let mut position = Position::default();
    let mut printer = |e: &ApplyEvent| {
        position.observe(e);
        let _ = print_event(&mut std::io::stderr(), e, tty.then_some(position), opts.dry_run);
    };
    let result = runtime()?.block_on(strata_db::apply(&project, &target, &opts, &mut printer));
    let report = match result {
        Ok(r) => r,
        Err(failure) => return Err(anyhow::anyhow!("{failure}")),
    };
    if report.dry_run {
        print_dry_run(&mut std::io::stdout().lock(), &report)?;
        return Ok(exit::OK);
    }
    let _ = print_outcome(&mut err, &report, started.elapsed());
    Ok(exit::OK)
}

/// `--skip-failed V --reason R`; an empty reason is refused (history must say why).
fn skip_request(version: Option<String>, reason: Option<String>) -> anyhow::Result<Option<SkipRequest>> {
    let Some(version) = version else { return Ok(None) };
    let reason = reason.unwrap_or_default().trim().to_string();
    if reason.is_empty() {
        anyhow::bail!("--skip-failed {version}: --reason must say why it is skipped (it is kept in history)");
    }
    Ok(Some(SkipRequest { version, reason }))
}

/// Refuses a repair file computed from another database: its recorded fingerprint must match
/// this database, unless the repair already ran here (then the runner skips it).
fn check_repair_source(project: &Project, target: &ConnectionTarget) -> anyhow::Result<()> {
    use strata_introspect::fingerprint::{fingerprint, recorded_fingerprint};
    let Some(repair) = strata_db::disk::read_repair(&project.repair_dir)? else { return Ok(()) };
    let Some((schema, recorded)) = recorded_fingerprint(&repair.file.sql) else { return Ok(()) };
    let opts = strata_introspect::IntrospectOptions::with_schemas([schema]);
    let live = crate::commands::live::introspect_target(target, &opts)?;
    let done = live
        .installed_versions
        .iter()
        .any(|v| v.module == strata_db::REPAIR_MODULE && v.version == repair.version);
    let current = fingerprint(&live);
    if done || current == recorded {
        return Ok(());
    }
    anyhow::bail!(
        "{}: this repair migration was computed from another database (or this one changed since): it records \
         fingerprint {recorded}, but {target} is {current}. Applied here it could drop what this database still \
         needs. Re-create it against this database with `strata create-repair-migration`, or pass --force if you \
         are sure",
        repair.file.path.display()
    )
}

/// The dry run's plan and the SQL it would run, on stdout.
fn print_dry_run(out: &mut impl Write, report: &strata_db::ApplyReport) -> std::io::Result<()> {
    if report.planned.is_empty() && report.accepted.is_empty() {
        return writeln!(
            out,
            "-- nothing to apply; the database is at {}",
            report.installed_before.as_deref().unwrap_or("no version")
        );
    }
    let n = report.planned.len();
    writeln!(out, "-- plan ({n} step{}):", if n == 1 { "" } else { "s" })?;
    for (i, s) in report.planned.iter().enumerate() {
        let extra = if s.covers.is_empty() {
            String::new()
        } else {
            format!(", covers {} older version(s)", s.covers.len())
        };
        writeln!(out, "--   {}. {} [{}{extra}]", i + 1, describe(s), s.file.path.display())?;
    }
    for v in &report.accepted {
        writeln!(out, "--   would accept the edited file of {v} (record its new checksum)")?;
    }
    for s in &report.planned {
        writeln!(out, "\n-- ===== {} : {} =====", describe(s), s.file.path.display())?;
        write!(out, "{}", s.file.sql)?;
        if !s.file.sql.ends_with('\n') {
            writeln!(out)?;
        }
    }
    writeln!(
        out,
        "\n-- after apply the database would be at {}",
        report.installed_after.as_deref().unwrap_or("no version")
    )
}

/// The one-line outcome of a real run.
fn print_outcome(
    out: &mut impl Write,
    report: &strata_db::ApplyReport,
    took: Duration,
) -> std::io::Result<()> {
    let n = report.applied.len();
    match (n, &report.installed_after) {
        (0, Some(v))
            if report.repair_applied.is_none() && report.accepted.is_empty() && report.skipped.is_none() =>
        {
            writeln!(out, "Latest database migration already applied ({v}).")
        }
        (0, None) => writeln!(out, "No migrations to apply (none on disk)."),
        _ => writeln!(
            out,
            "Applied {n} migration{} in {}; the database is at {}.",
            if n == 1 { "" } else { "s" },
            fmt_duration(took),
            report.installed_after.as_deref().unwrap_or("no version")
        ),
    }
}

/// Which step of how many is running (counted from the plan and the steps started).
#[derive(Debug, Clone, Copy, Default)]
struct Position {
    current: usize,
    total: usize,
}

impl Position {
    fn observe(&mut self, e: &ApplyEvent) {
        match e {
            ApplyEvent::Planned { plan } => self.total += plan.steps.len(),
            ApplyEvent::StepStarted { .. } => {
                self.current += 1;
                self.total = self.total.max(self.current);
            }
            _ => {}
        }
    }
}

/// Prints one runner event. `tty` carries the run position when stdout is a terminal (inline
/// `… ok (12 ms)` updates); otherwise every event is one plain line for logs.
fn print_event(
    out: &mut impl Write,
    e: &ApplyEvent,
    tty: Option<Position>,
    dry_run: bool,
) -> std::io::Result<()> {
    match e {
        ApplyEvent::LockWaiting { holders } => {
            let who = if holders.is_empty() {
                String::new()
            } else {
                format!(
                    " (held by backend pid {})",
                    holders.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
                )
            };
            writeln!(out, "waiting for the migration lock{who}…")
        }
        ApplyEvent::RunLockWaiting { holder } => writeln!(out, "waiting for the run lock ({holder})…"),
        ApplyEvent::LockAcquired { waited } => writeln!(out, "lock acquired after {}", fmt_duration(*waited)),
        ApplyEvent::NoRepairFile => writeln!(out, "No repair migration to apply."),
        ApplyEvent::Skipped { version, reason, error } => writeln!(
            out,
            "skipped {version} (its migration.sql did not run; its last attempt failed: {}): {reason}",
            error.lines().next().unwrap_or("")
        ),
        ApplyEvent::RepairAlreadyApplied { version } => {
            writeln!(out, "Repair migration \"{version}\" already applied.")
        }
        ApplyEvent::Planned { plan } => {
            if let Some(repair) = &plan.rolled_back_by {
                writeln!(
                    out,
                    "rolled back to {} by {repair}: {} newer version(s) remain on disk and are not \
                     applied ({}); `strata apply` (without --repair) or `strata apply --to {}` applies them again",
                    plan.installed.as_deref().unwrap_or("?"),
                    plan.held.len(),
                    plan.held.join(", "),
                    plan.held.last().map(String::as_str).unwrap_or("?")
                )?;
            }
            if let Some(repair) = &plan.rolls_forward_over {
                writeln!(
                    out,
                    "the database was rolled back to {} by {repair}; applying the newer versions \
                     again (`strata apply --repair` stays rolled back)",
                    plan.installed.as_deref().unwrap_or("?")
                )?;
            }
            if !dry_run && !plan.steps.is_empty() {
                writeln!(
                    out,
                    "installed: {}; applying {} step{} up to {}",
                    plan.installed.as_deref().unwrap_or("none (fresh database)"),
                    plan.steps.len(),
                    if plan.steps.len() == 1 { "" } else { "s" },
                    plan.target.as_deref().unwrap_or("?")
                )?;
            }
            Ok(())
        }
        ApplyEvent::Accepted { version, kind, recorded, new } => writeln!(
            out,
            "accepted the edited {} of {version}: checksum {} -> {} (not re-run)",
            kind.file_name(),
            recorded.map(strata_db::checksum::short).unwrap_or("none"),
            new.map(strata_db::checksum::short).unwrap_or("none")
        ),
        ApplyEvent::StepStarted { step } => {
            let retry = match (step.previous_error.is_some(), step.out_of_order, step.rerun) {
                (true, _, _) => " (retrying after a failed attempt)",
                (false, true, _) => " (out of order)",
                (false, false, true) => " (re-run)",
                _ => "",
            };
            if let Some(p) = tty {
                write!(out, "[{}/{}] applying {}{retry} … ", p.current, p.total, describe(step))?;
                out.flush()
            } else {
                writeln!(out, "applying {}{retry}", describe(step))
            }
        }
        ApplyEvent::StepFinished { step, duration } => {
            if tty.is_some() {
                writeln!(out, "ok ({})", fmt_duration(*duration))
            } else {
                writeln!(out, "applied {} in {}", describe(step), fmt_duration(*duration))
            }?;
            if step.kind == StepKind::Repair {
                writeln!(out, "Database repair migration \"{}\" applied.", step.version)?;
            }
            Ok(())
        }
        ApplyEvent::StepFailed { step, duration, .. } => {
            if tty.is_some() {
                writeln!(out, "FAILED ({})", fmt_duration(*duration))
            } else {
                writeln!(out, "failed {} after {}", describe(step), fmt_duration(*duration))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("5 days").is_err());
        assert_eq!(fmt_duration(Duration::from_millis(12)), "12 ms");
        assert_eq!(fmt_duration(Duration::from_millis(1250)), "1.25 s");
    }
}
