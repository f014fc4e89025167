//! `apply --targets FILE` and `status --targets FILE`: one command over many databases
//! (docs/fleets.md). The targets file is checked whole, and `schemas` lines expanded, before
//! any target runs; the per-target work is `strata_db::fleet`.

use std::io::Write;
use std::path::{Path, PathBuf};

use strata_db::fleet::{self, FleetOptions, FleetTarget, OnError, Outcome, TargetResult, TargetStatus};
use strata_db::{ApplyEvent, ApplyOptions, Project};

use super::apply::{fmt_duration, runtime};
use super::live::ConnectTimeout;
use super::status::aligned_table as table;
use crate::exit;

/// `--targets` and `--parallel`, shared by `apply` and `status`.
#[derive(clap::Args, Debug, Clone)]
pub struct FleetArgs {
    /// Run on every target listed in FILE: one database URL, `--mode NAME`, or
    /// `schemas URL QUERY` (one target per tenant schema) per line (docs/fleets.md).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["database_url", "mode"])]
    pub targets: Option<PathBuf>,
    /// With --targets: how many targets run at the same time (default 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: Option<u16>,
}

impl FleetArgs {
    /// How many targets run at once.
    pub fn parallel(&self) -> usize {
        usize::from(self.parallel.unwrap_or(4))
    }

    /// A fleet flag without `--targets` would be silently ignored: refuse it instead.
    pub fn check_needs_targets(&self, others: &[(&str, bool)]) -> anyhow::Result<()> {
        if self.targets.is_some() {
            return Ok(());
        }
        let given = std::iter::once(("--parallel", self.parallel.is_some())).chain(others.iter().copied());
        match given.filter(|(_, set)| *set).map(|(flag, _)| flag).next() {
            Some(flag) => {
                anyhow::bail!("{flag} only applies to a fleet: add --targets FILE (docs/fleets.md)")
            }
            None => Ok(()),
        }
    }
}

/// `apply`'s fleet flags.
#[derive(clap::Args, Debug, Clone)]
pub struct ApplyFleetArgs {
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// With --targets: after a target fails, `stop` starts no further target (running ones
    /// finish their own run); `continue` carries on with the rest.
    #[arg(long, value_name = "WHAT", value_parser = ["stop", "continue"])]
    pub on_error: Option<String>,
    /// With --targets: `text` (the default) prints the fleet table on stderr; `json` prints it on
    /// stdout.
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
    pub format: Option<String>,
}

impl ApplyFleetArgs {
    /// Refuses fleet flags given without `--targets`.
    pub fn check_needs_targets(&self) -> anyhow::Result<()> {
        self.fleet.check_needs_targets(&[
            ("--on-error", self.on_error.is_some()),
            ("--format", self.format.is_some()),
        ])
    }
}

/// Reads the targets file and expands its `schemas` lines, applying `--connect-timeout`.
fn load_targets(
    project: &Project,
    file: &Path,
    timeout: &ConnectTimeout,
) -> anyhow::Result<Vec<FleetTarget>> {
    let mut lines = fleet::read_targets(project, file)?;
    for l in &mut lines {
        l.target = timeout.apply(l.target.clone());
    }
    Ok(runtime()?.block_on(fleet::expand(file, lines))?)
}

/// `strata apply --targets FILE`.
pub fn apply(
    project: &Project,
    file: &Path,
    args: &ApplyFleetArgs,
    timeout: &ConnectTimeout,
    lock: strata_db::LockStrategy,
    apply: ApplyOptions,
) -> anyhow::Result<u8> {
    let mut targets = load_targets(project, file, timeout)?;
    for t in &mut targets {
        t.target = t.target.clone().with_lock_strategy(lock);
    }
    let on_error_flag = args.on_error.as_deref().unwrap_or("stop");
    let on_error = if on_error_flag == "continue" { OnError::Continue } else { OnError::Stop };
    let opts = FleetOptions { parallel: args.fleet.parallel(), on_error, apply };
    eprintln!(
        "fleet: {} target(s) from {}, {} at a time, on error: {}",
        targets.len(),
        file.display(),
        opts.parallel,
        on_error_flag
    );
    let results = runtime()?.block_on(fleet::apply_fleet(project, &targets, &opts, &print_progress));
    // Write errors are ignored: the runs are done, and a closed pipe must not change the exit code.
    let _ = write!(std::io::stderr(), "{}", apply_table(&results));
    if args.format.as_deref() == Some("json") {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(apply_json(&results).as_bytes());
        let _ = out.flush();
    }
    Ok(if results.iter().any(|r| r.outcome.is_failure()) { exit::ERROR } else { exit::OK })
}

/// One progress line per finished or failed step, prefixed with its target.
fn print_progress(t: &FleetTarget, e: &ApplyEvent) {
    let line = match e {
        ApplyEvent::StepFinished { step, duration } => {
            format!("applied {} ({}) in {}", step.version, step.kind.file_name(), fmt_duration(*duration))
        }
        ApplyEvent::StepFailed { step, .. } => format!("FAILED {} ({})", step.version, step.kind.file_name()),
        ApplyEvent::LockWaiting { .. } => "waiting for the migration lock…".to_string(),
        _ => return,
    };
    eprintln!("[{}] {line}", t.name());
}

fn version(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "none".into())
}

/// The first line of an error, for a table cell (the whole error follows the table).
fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn result_cell(r: &TargetResult) -> String {
    match &r.outcome {
        Outcome::Applied(n) => format!("applied {n} ({})", fmt_duration(r.duration)),
        Outcome::UpToDate => "up to date".into(),
        Outcome::Failed(e) => format!("FAILED: {}", first_line(e)),
        Outcome::NotStarted => "not started (stopped after a failure)".into(),
    }
}

/// Counts of each outcome, in the report's order.
fn counts(results: &[TargetResult]) -> [(&'static str, usize); 4] {
    let n = |f: fn(&Outcome) -> bool| results.iter().filter(|r| f(&r.outcome)).count();
    [
        ("applied", n(|o| matches!(o, Outcome::Applied(_)))),
        ("up_to_date", n(|o| matches!(o, Outcome::UpToDate))),
        ("failed", n(|o| matches!(o, Outcome::Failed(_)))),
        ("not_started", n(|o| matches!(o, Outcome::NotStarted))),
    ]
}

/// The fleet report for a terminal or a log: the table, each error in full, a summary.
pub fn apply_table(results: &[TargetResult]) -> String {
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![r.line.to_string(), r.target.clone(), version(&r.before), version(&r.after), result_cell(r)]
        })
        .collect();
    let mut out = format!("\n{}", table(&["Line", "Target", "Before", "After", "Result"], &rows));
    let failed: Vec<&TargetResult> =
        results.iter().filter(|r| matches!(r.outcome, Outcome::Failed(_))).collect();
    if !failed.is_empty() {
        out.push_str("\nerrors:\n");
        for r in failed {
            if let Outcome::Failed(e) = &r.outcome {
                out.push_str(&format!(
                    "  line {} {}:\n    {}\n",
                    r.line,
                    r.target,
                    e.replace('\n', "\n    ")
                ));
            }
        }
    }
    let c = counts(results);
    out.push_str(&format!(
        "\n{} target(s): {} applied, {} up to date, {} failed, {} not started\n",
        results.len(),
        c[0].1,
        c[1].1,
        c[2].1,
        c[3].1
    ));
    out
}

/// The fleet report as JSON (no timings, so the same fleet state gives the same bytes).
pub fn apply_json(results: &[TargetResult]) -> String {
    let targets: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let (applied, error) = match &r.outcome {
                Outcome::Applied(n) => (*n, None),
                Outcome::Failed(e) => (0, Some(e.as_str())),
                _ => (0, None),
            };
            serde_json::json!({
                "line": r.line,
                "target": r.target,
                "before": r.before,
                "after": r.after,
                "result": r.outcome.as_str(),
                "applied": applied,
                "error": error,
            })
        })
        .collect();
    let mut summary = serde_json::Map::new();
    summary.insert("targets".into(), results.len().into());
    for (name, n) in counts(results) {
        summary.insert(name.into(), n.into());
    }
    let v = serde_json::json!({ "summary": summary, "targets": targets });
    format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
}

/// `strata status --targets FILE`: exit 1 if a target could not be read (or has a problem), else 2
/// if any is behind, else 0.
pub fn status(
    project: &Project,
    file: &Path,
    args: &FleetArgs,
    timeout: &ConnectTimeout,
    format: &str,
) -> anyhow::Result<u8> {
    if !matches!(format, "table" | "json") {
        anyhow::bail!("--format {format} is not available with --targets: use table or json");
    }
    let targets = load_targets(project, file, timeout)?;
    let statuses = runtime()?.block_on(fleet::status_fleet(project, &targets, args.parallel()));
    let text = if format == "json" { status_json(&statuses) } else { status_table(&statuses) };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    let broken = statuses.iter().any(|s| s.status.as_ref().map_or(true, |r| status_error(r).is_some()));
    Ok(if broken {
        exit::ERROR
    } else if statuses.iter().all(|s| s.status.as_ref().is_ok_and(|r| r.up_to_date())) {
        exit::OK
    } else {
        exit::DIFFERS
    })
}

/// A readable target whose state is itself an error (`status` exits 1 for it).
fn status_error(r: &strata_db::StatusReport) -> Option<String> {
    if let Some(problem) = &r.problem {
        return Some(problem.clone());
    }
    r.installed_missing().then(|| {
        format!("installed version {} is not in the project files", r.installed.as_deref().unwrap_or("?"))
    })
}

fn pending(r: &strata_db::StatusReport) -> usize {
    r.rows.iter().filter(|row| row.state.needs_attention()).count()
}

fn state_cell(s: &TargetStatus) -> String {
    match &s.status {
        Err(e) => format!("ERROR: {}", first_line(e)),
        Ok(r) => match status_error(r) {
            Some(e) => format!("ERROR: {}", first_line(&e)),
            None if r.up_to_date() => "up to date".into(),
            None => format!("{} version(s) need `strata apply`", pending(r)),
        },
    }
}

/// Which target is at which version.
pub fn status_table(statuses: &[TargetStatus]) -> String {
    let rows: Vec<Vec<String>> = statuses
        .iter()
        .map(|s| {
            let (installed, latest) = match &s.status {
                Ok(r) => (version(&r.installed), version(&r.latest)),
                Err(_) => ("?".into(), "?".into()),
            };
            vec![s.line.to_string(), s.target.clone(), installed, latest, state_cell(s)]
        })
        .collect();
    let behind = statuses.iter().filter(|s| s.status.as_ref().is_ok_and(|r| !r.up_to_date())).count();
    let errors = statuses.iter().filter(|s| s.status.is_err()).count();
    format!(
        "{}\n{} target(s): {} up to date, {behind} behind or failed, {errors} unreadable\n",
        table(&["Line", "Target", "Installed", "Latest", "Status"], &rows),
        statuses.len(),
        statuses.len() - behind - errors,
    )
}

/// [`status_table`] as JSON.
pub fn status_json(statuses: &[TargetStatus]) -> String {
    let targets: Vec<serde_json::Value> = statuses
        .iter()
        .map(|s| match &s.status {
            Ok(r) => serde_json::json!({
                "line": s.line,
                "target": s.target,
                "installed": r.installed,
                "latest": r.latest,
                "up_to_date": r.up_to_date(),
                "pending": pending(r),
                "error": status_error(r),
            }),
            Err(e) => serde_json::json!({
                "line": s.line,
                "target": s.target,
                "installed": null,
                "latest": null,
                "up_to_date": false,
                "pending": null,
                "error": e,
            }),
        })
        .collect();
    let v = serde_json::json!({ "targets": targets });
    format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn result(line: usize, outcome: Outcome) -> TargetResult {
        TargetResult {
            line,
            target: format!("postgres://u@h/db{line}"),
            before: None,
            after: Some("20260101000000001".into()),
            outcome,
            duration: Duration::from_millis(5),
        }
    }

    #[test]
    fn the_apply_report_lists_every_target_and_each_error_in_full() {
        let results = [
            result(1, Outcome::Applied(2)),
            result(2, Outcome::Failed("migration x failed\nDETAIL: why".into())),
            result(3, Outcome::NotStarted),
        ];
        let t = apply_table(&results);
        assert!(t.contains("Line | Target             | Before | After             | Result"), "{t}");
        assert!(t.contains("| FAILED: migration x failed\n"), "{t}");
        assert!(t.contains("  line 2 postgres://u@h/db2:\n    migration x failed\n    DETAIL: why\n"), "{t}");
        assert!(t.ends_with("3 target(s): 1 applied, 0 up to date, 1 failed, 1 not started\n"), "{t}");
        let j: serde_json::Value = serde_json::from_str(&apply_json(&results)).unwrap();
        assert_eq!(j["summary"]["failed"], 1);
        assert_eq!(j["targets"][0]["applied"], 2);
        assert_eq!(j["targets"][1]["error"], "migration x failed\nDETAIL: why");
        assert_eq!(j["targets"][2]["result"], "not started");
        assert_eq!(apply_json(&results), apply_json(&results));
    }
}
