//! Fleets: the same migrations applied to, or read from, many databases (or tenant schemas).
//!
//! Each target is an ordinary [`crate::apply`] with its own connection, migration lock and
//! history, so a fleet run is resumable by construction: run it again and each target applies
//! only what it lacks. At most `parallel` targets run at once. With [`OnError::Stop`], no target
//! starts after one has failed; those already running finish their own run (a migration is never
//! cut off), the rest are reported as not started.

mod targets;

use std::cell::Cell;
use std::time::{Duration, Instant};

pub use targets::{expand, parse_targets, read_targets, FleetError, FleetTarget, TargetLine, TargetSpec};

use crate::{ApplyEvent, ApplyOptions, Project, StatusReport};

/// What one failed target does to the rest of the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Start no further target.
    Stop,
    /// Carry on with every other target.
    Continue,
}

/// How a fleet is applied.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Targets running at the same time (at least 1).
    pub parallel: usize,
    pub on_error: OnError,
    /// The options of each target's apply.
    pub apply: ApplyOptions,
}

/// What happened on one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// These many migrations were applied.
    Applied(usize),
    /// Nothing was pending.
    UpToDate,
    /// The apply failed (what it committed before is in `after`).
    Failed(String),
    /// Not started: an earlier target failed under [`OnError::Stop`].
    NotStarted,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Applied(_) => "applied",
            Outcome::UpToDate => "up to date",
            Outcome::Failed(_) => "failed",
            Outcome::NotStarted => "not started",
        }
    }

    /// True for a target the fleet did not bring to the latest version.
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed(_) | Outcome::NotStarted)
    }
}

/// One target's line in the fleet report.
#[derive(Debug, Clone)]
pub struct TargetResult {
    /// The line of the targets file.
    pub line: usize,
    /// The redacted URL (and schema).
    pub target: String,
    /// The installed version before the run (None: none, or never read).
    pub before: Option<String>,
    /// The installed version after the run.
    pub after: Option<String>,
    pub outcome: Outcome,
    pub duration: Duration,
}

/// Runs `work` on every target, at most `parallel` at once (that many workers, each taking the
/// next target when it is done), and returns the results in the targets' order.
async fn run_bounded<'a, T, F, Fut>(targets: &'a [FleetTarget], parallel: usize, work: F) -> Vec<T>
where
    F: Fn(&'a FleetTarget) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let next = Cell::new(0usize);
    let done: std::cell::RefCell<Vec<Option<T>>> =
        std::cell::RefCell::new(targets.iter().map(|_| None).collect());
    let worker = || async {
        loop {
            let i = next.get();
            if i >= targets.len() {
                return;
            }
            next.set(i + 1);
            let result = work(&targets[i]).await;
            done.borrow_mut()[i] = Some(result);
        }
    };
    let workers: Vec<_> = (0..parallel.clamp(1, targets.len().max(1))).map(|_| worker()).collect();
    futures_util::future::join_all(workers).await;
    done.into_inner().into_iter().flatten().collect()
}

/// Applies the migrations to every target (see the module docs). `observer` sees each target's
/// runner events as they happen, for progress lines.
pub async fn apply_fleet(
    project: &Project,
    targets: &[FleetTarget],
    opts: &FleetOptions,
    observer: &dyn Fn(&FleetTarget, &ApplyEvent),
) -> Vec<TargetResult> {
    let stopped = Cell::new(false);
    run_bounded(targets, opts.parallel, |t| {
        let stopped = &stopped;
        async move {
            if stopped.get() {
                return not_started(t);
            }
            let result = apply_one(project, t, &opts.apply, observer).await;
            if result.outcome.is_failure() && opts.on_error == OnError::Stop {
                stopped.set(true);
            }
            result
        }
    })
    .await
}

fn not_started(t: &FleetTarget) -> TargetResult {
    TargetResult {
        line: t.line,
        target: t.name().to_string(),
        before: None,
        after: None,
        outcome: Outcome::NotStarted,
        duration: Duration::ZERO,
    }
}

async fn apply_one(
    project: &Project,
    t: &FleetTarget,
    opts: &ApplyOptions,
    observer: &dyn Fn(&FleetTarget, &ApplyEvent),
) -> TargetResult {
    let started = Instant::now();
    let mut events = |e: &ApplyEvent| observer(t, e);
    let (report, outcome) = match crate::apply(project, &t.target, opts, &mut events).await {
        Ok(report) => {
            let outcome = if report.applied.is_empty() {
                Outcome::UpToDate
            } else {
                Outcome::Applied(report.applied.len())
            };
            (report, outcome)
        }
        Err(failure) => {
            let error = t.target.sanitize(&failure.error.to_string());
            (failure.report, Outcome::Failed(error))
        }
    };
    let after = report
        .installed_after
        .clone()
        .or_else(|| report.applied.last().map(|s| s.version.clone()))
        .or_else(|| report.installed_before.clone());
    TargetResult {
        line: t.line,
        target: t.name().to_string(),
        before: report.installed_before,
        after,
        outcome,
        duration: started.elapsed(),
    }
}

/// One target's status: its report, or why it could not be read.
#[derive(Debug)]
pub struct TargetStatus {
    pub line: usize,
    pub target: String,
    pub status: Result<StatusReport, String>,
}

/// Reads every target's status (read-only), at most `parallel` at once.
pub async fn status_fleet(project: &Project, targets: &[FleetTarget], parallel: usize) -> Vec<TargetStatus> {
    run_bounded(targets, parallel, |t| async move {
        let status = crate::status(project, &t.target).await.map_err(|e| t.target.sanitize(&e.to_string()));
        TargetStatus { line: t.line, target: t.name().to_string(), status }
    })
    .await
}
