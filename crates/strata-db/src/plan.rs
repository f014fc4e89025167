//! What `apply` will do, as a pure function of (installed state, files on disk, options).
//!
//! Rules (Serverpod's, plus integrity checks Serverpod lacks):
//! * no row for the project module in `serverpod_migrations` → fresh database: run only the
//!   target's `definition.sql`; the older versions are recorded as covered by it (baseline);
//! * otherwise the installed version must exist on disk, and each later version's
//!   `migration.sql` runs in order up to the target (the latest, or `--to`);
//! * every version at or below the installed one that strata recorded must still have the
//!   checksum it had when it ran, unless `--accept-modified <version>` says the edit is intended.

use std::path::PathBuf;

use crate::checksum::short;
use crate::disk::{DiskMigration, RepairFile, SqlFileInfo};
use crate::history::{HistoryRow, RunStatus};

/// Which file a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepKind {
    /// `<version>/definition.sql` (fresh database).
    Definition,
    /// `<version>/migration.sql`.
    Migration,
    /// `repair-migration/<version>.sql`.
    Repair,
    /// A down migration `strata rollback` computed from two definitions (recorded under the
    /// project module, with the version it rolled back to).
    Rollback,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Definition => "definition",
            StepKind::Migration => "migration",
            StepKind::Repair => "repair",
            StepKind::Rollback => "rollback",
        }
    }

    pub fn parse(s: &str) -> Option<StepKind> {
        Some(match s {
            "definition" => StepKind::Definition,
            "migration" => StepKind::Migration,
            "repair" => StepKind::Repair,
            "rollback" => StepKind::Rollback,
            _ => return None,
        })
    }

    /// The file name this kind runs, for messages.
    pub fn file_name(self) -> &'static str {
        match self {
            StepKind::Definition => "definition.sql",
            StepKind::Migration => "migration.sql",
            StepKind::Repair => "repair migration",
            StepKind::Rollback => "rollback",
        }
    }
}

impl std::fmt::Display for StepKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The database's migration state, as read under the lock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstalledState {
    /// The project module's version in `serverpod_migrations` (None: fresh database).
    pub version: Option<String>,
    /// The `_repair` row's version.
    pub repair_version: Option<String>,
    /// strata history rows of the project module and `_repair`, oldest first.
    pub history: Vec<HistoryRow>,
    /// The other modules recorded in `serverpod_migrations` (not the project, not `_repair`).
    pub other_modules: Vec<String>,
    /// What last set the installed version, when it committed after every project migration
    /// (`repair migration "<version>"`, or `strata rollback`): the database was deliberately put
    /// at that version (a rollback when newer versions exist on disk). Derived from history by
    /// [`InstalledState::derive`].
    pub set_back_by: Option<String>,
    /// Who holds the migration lock right now (a run in progress), as read by `status`.
    pub live_run: Option<String>,
    /// Each background job's stored state (`crate::background`), by name: what
    /// `-- strata:requires_background` lines are checked against.
    pub background_jobs: std::collections::BTreeMap<String, String>,
}

impl InstalledState {
    /// The row that defines a version's current recorded checksum: the latest `ok` or
    /// `accepted` row of the project module.
    pub fn recorded(&self, module: &str, version: &str) -> Option<&HistoryRow> {
        self.history.iter().rev().find(|r| {
            r.module == module
                && r.version == version
                && matches!(r.kind, StepKind::Definition | StepKind::Migration)
                && matches!(r.status, RunStatus::Ok | RunStatus::Accepted)
        })
    }

    /// The latest row of any status for a version.
    pub fn last_attempt(&self, module: &str, version: &str) -> Option<&HistoryRow> {
        self.history.iter().rev().find(|r| r.module == module && r.version == version)
    }

    /// Fills the fields derived from `history`.
    pub fn derive(mut self, module: &str) -> InstalledState {
        let last_ok =
            self.history.iter().rev().find(|r| {
                r.status == RunStatus::Ok && (r.module == crate::REPAIR_MODULE || r.module == module)
            });
        self.set_back_by = last_ok.and_then(|r| match r.kind {
            StepKind::Repair => Some(format!("repair migration \"{}\"", r.version)),
            StepKind::Rollback => Some(format!("strata rollback at {} UTC", r.started_at)),
            _ => None,
        });
        self
    }

    /// Evidence that strata ran here: the oldest version it recorded for `module`.
    fn first_recorded(&self, module: &str) -> Option<&str> {
        self.history
            .iter()
            .filter(|r| r.module == module && matches!(r.status, RunStatus::Ok | RunStatus::Baseline))
            .map(|r| r.version.as_str())
            .min()
    }

    /// True when history shows `version` ran (or was covered or accepted).
    fn has_evidence(&self, module: &str, version: &str) -> bool {
        self.history.iter().any(|r| {
            r.module == module
                && r.version == version
                && matches!(
                    r.status,
                    RunStatus::Ok | RunStatus::Baseline | RunStatus::Accepted | RunStatus::Skipped
                )
        })
    }

    /// The reason recorded when `version` was skipped (`apply --skip-failed`), if it was.
    pub fn skipped(&self, module: &str, version: &str) -> Option<&HistoryRow> {
        self.history
            .iter()
            .rev()
            .find(|r| {
                r.module == module
                    && r.version == version
                    && matches!(r.status, RunStatus::Ok | RunStatus::Baseline | RunStatus::Skipped)
            })
            .filter(|r| r.status == RunStatus::Skipped)
    }

    /// Versions on disk older than the installed one that never ran: merged from another branch
    /// after newer versions were applied. A version counts as applied outside strata only when it
    /// is older than anything strata recorded (strata took over a database migrated before).
    pub fn out_of_order<'a>(
        &self,
        module: &str,
        disk_versions: impl IntoIterator<Item = &'a str>,
    ) -> Vec<String> {
        let (Some(installed), Some(first)) = (self.version.as_deref(), self.first_recorded(module)) else {
            return Vec::new();
        };
        disk_versions
            .into_iter()
            .filter(|v| *v > first && *v < installed && !self.has_evidence(module, v))
            .map(str::to_string)
            .collect()
    }
}

/// User choices that shape the plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Stop at this version (inclusive) instead of the latest.
    pub to: Option<String>,
    /// Versions whose edited, already-applied file is accepted as is (`--accept-modified`).
    pub accept_modified: Vec<String>,
    /// Run out-of-order versions (older than the installed one, never applied) first.
    pub out_of_order: bool,
    /// `apply --repair`: after a repair that rolled the database back, stay there (a deploy that
    /// applies its repair on every start must not undo the rollback on the next start).
    pub hold_after_rollback: bool,
    /// Already-applied versions whose `migration.sql` (marked [`RERUNNABLE_MARKER`]) runs again,
    /// after the pending steps (`--rerun`).
    pub rerun: Vec<String>,
    /// `--retry-failed`: run only the failed (or interrupted) next version, and refuse when there
    /// is none, instead of rolling forward to the latest.
    pub retry_failed: bool,
}

/// The header line that marks a `migration.sql` as safe to run twice (`apply --rerun`).
pub const RERUNNABLE_MARKER: &str = "-- strata:rerunnable";

/// True when the file's leading comment block has the [`RERUNNABLE_MARKER`] line.
pub fn is_rerunnable(sql: &str) -> bool {
    sql.lines()
        .map(str::trim)
        .take_while(|l| l.is_empty() || l.starts_with("--"))
        .any(|l| l == RERUNNABLE_MARKER)
}

/// The header line prefix by which a `migration.sql` requires a background job to be finalized
/// before it applies: `-- strata:requires_background <name>`, one job per line.
pub const REQUIRES_BACKGROUND_PREFIX: &str = "-- strata:requires_background";

/// The background jobs the file's leading comment block requires, in file order.
pub fn required_background_jobs(sql: &str) -> Vec<String> {
    sql.lines()
        .map(str::trim)
        .take_while(|l| l.is_empty() || l.starts_with("--"))
        .filter_map(|l| l.strip_prefix(REQUIRES_BACKGROUND_PREFIX))
        .filter(|rest| rest.starts_with(char::is_whitespace))
        .map(|rest| rest.trim().to_string())
        .collect()
}

/// Refuses the first step whose `migration.sql` requires a background job that is not finalized.
fn check_background_requirements(steps: &[Step], installed: &InstalledState) -> Result<(), PlanError> {
    for step in steps.iter().filter(|s| s.kind == StepKind::Migration) {
        for job in required_background_jobs(&step.file.sql) {
            let state = installed.background_jobs.get(&job);
            if state.map(String::as_str) != Some("finalized") {
                return Err(PlanError::BackgroundNotFinalized {
                    version: step.version.clone(),
                    job,
                    state: state.cloned().unwrap_or_else(|| "not started".into()),
                });
            }
        }
    }
    Ok(())
}

/// One file to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub version: String,
    pub kind: StepKind,
    pub file: SqlFileInfo,
    /// For a definition step: the older versions it covers (recorded as baseline).
    pub covers: Vec<String>,
    /// The error of the previous attempt, when this step failed last time (a retry).
    pub previous_error: Option<String>,
    /// An older version merged after newer ones were applied (`--out-of-order`): it runs, but
    /// the installed version stays where it is.
    pub out_of_order: bool,
    /// An applied version run again (`--rerun`): it may record itself again, and the installed
    /// version stays where it is.
    pub rerun: bool,
}

/// An intended edit to an applied file: record `new` instead of `recorded`, without running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    pub version: String,
    pub kind: StepKind,
    pub recorded: Option<String>,
    pub new: Option<String>,
}

/// An edited (or deleted) applied file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifiedFile {
    pub version: String,
    pub kind: StepKind,
    pub path: Option<PathBuf>,
    pub recorded: Option<String>,
    /// None when the file is gone.
    pub current: Option<String>,
}

/// The result of [`plan`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The installed project version before the plan runs (None: fresh).
    pub installed: Option<String>,
    /// The version the database will be at afterwards.
    pub target: Option<String>,
    pub steps: Vec<Step>,
    pub accept: Vec<Acceptance>,
    /// The repair that rolled the database back, when newer versions are held (not applied)
    /// because of it.
    pub rolled_back_by: Option<String>,
    /// Versions newer than the installed one that stay unapplied after a rollback (`--to` applies
    /// them again).
    pub held: Vec<String>,
    /// A plain `apply` re-applying versions a repair had rolled back: the repair's version, so the
    /// run can say so.
    pub rolls_forward_over: Option<String>,
}

impl Plan {
    /// Nothing to run and nothing to record.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.accept.is_empty()
    }
}

/// Why there is no plan. Each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error(
        "the database has migration version {version} registered for module {module}, but it is not found in the project files (versions on disk: {}). \
         Restore that version directory (e.g. from git), or check that the project's module name is right; if the database was changed by hand, \
         write a repair migration towards a version you have",
        list(.found)
    )]
    InstalledNotOnDisk { module: String, version: String, found: Vec<String> },
    #[error("--to {to}: no such version on disk (versions on disk: {})", list(.found))]
    ToNotFound { to: String, found: Vec<String> },
    #[error(
        "--to {to} is older than the installed version {installed}; apply never rolls back. \
         To go back, create a repair migration targeting {to} and apply it with --repair"
    )]
    ToOlderThanInstalled { to: String, installed: String },
    #[error("version {version} has no {}; cannot apply it", .kind.file_name())]
    MissingFile { version: String, kind: StepKind },
    #[error("{}", modified_message(.files))]
    Modified { files: Vec<ModifiedFile> },
    #[error(
        "serverpod_migrations has rows for module(s) {} but none for this project's module `{module}`, so the database \
         was set up by a project with another module name. Check the module name (strata.toml `module_name`, or the \
         pubspec name without `_server`); running definition.sql here would fail on the existing tables",
        .others.join(", ")
    )]
    ModuleNotInstalled { module: String, others: Vec<String> },
    #[error(
        "version {version} requires background job `{job}` to be finalized before it applies, and that job is {state}; \
         nothing was applied. Run `strata background finalize {job}` (if the job's own version is pending too, first \
         `strata apply --to <that version>`), then apply again"
    )]
    BackgroundNotFinalized { version: String, job: String, state: String },
    #[error("--accept-modified {version}: {reason}")]
    NothingToAccept { version: String, reason: String },
    #[error(
        "version(s) {} sort before the installed version {installed} but never ran here (merged from another branch \
         after newer versions were applied; strata's history has no record of them). Applying them now runs them \
         on top of newer changes: review them, then run `strata apply --out-of-order`, or give them a newer version \
         (re-create the migration on top of the latest)",
        .versions.join(", ")
    )]
    OutOfOrder { installed: String, versions: Vec<String> },
    #[error("--rerun {version}: {reason}")]
    CannotRerun { version: String, reason: String },
    #[error("--retry-failed: nothing to retry: {reason}. A plain `strata apply` applies what is pending")]
    NothingToRetry { reason: String },
    #[error("--skip-failed {version}: {reason}")]
    CannotSkip { version: String, reason: String },
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else if v.len() <= 12 {
        v.join(", ")
    } else {
        format!("{}, … ({} more), {}", v[..5].join(", "), v.len() - 11, v[v.len() - 6..].join(", "))
    }
}

fn modified_message(files: &[ModifiedFile]) -> String {
    let mut out = String::from("applied migration files were changed after they ran:");
    for f in files {
        let path = f
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| format!("{}/{}", f.version, f.kind.file_name()));
        match &f.current {
            Some(cur) => out.push_str(&format!(
                "\n  {path}: recorded checksum {}, now {}",
                f.recorded.as_deref().map(short).unwrap_or("none"),
                short(cur)
            )),
            None => out.push_str(&format!("\n  {path}: the file is gone")),
        }
    }
    out.push_str(
        "\nThe database already ran the old content, so the edit has no effect on it. Undo the edit (e.g. `git checkout` the file), \
         or if it is intended (a comment, formatting, a fix already applied by hand), accept it with",
    );
    let mut seen = Vec::new();
    for f in files {
        if !seen.contains(&f.version) {
            seen.push(f.version.clone());
        }
    }
    let flags: Vec<String> = seen.iter().map(|v| format!("--accept-modified {v}")).collect();
    out.push_str(&format!(
        " `strata apply {}`, which records the new checksum without re-running the file",
        flags.join(" ")
    ));
    out
}

/// Computes the plan. Pure: no I/O. `disk` must be the versions on disk in any order (sorted
/// here); `module` is the project's module name.
pub fn plan(
    module: &str,
    installed: &InstalledState,
    disk: &[DiskMigration],
    opts: &PlanOptions,
) -> Result<Plan, PlanError> {
    let mut disk: Vec<&DiskMigration> = disk.iter().collect();
    disk.sort_by(|a, b| a.version.cmp(&b.version));
    let names: Vec<String> = disk.iter().map(|d| d.version.clone()).collect();
    let index = |v: &str| names.iter().position(|n| n == v);

    // Serverpod would run the full definition.sql here and fail on the existing tables
    // (issues #4633, #4864: a wrong module name). Say what is actually wrong instead.
    if installed.version.is_none() && !installed.other_modules.is_empty() {
        return Err(PlanError::ModuleNotInstalled {
            module: module.to_string(),
            others: installed.other_modules.clone(),
        });
    }
    let installed_idx = match &installed.version {
        Some(v) => Some(index(v).ok_or_else(|| PlanError::InstalledNotOnDisk {
            module: module.to_string(),
            version: v.clone(),
            found: names.clone(),
        })?),
        None => None,
    };

    // After a repair set the version, `apply --repair` leaves newer versions for an explicit
    // `--to`: running them straight away would undo a rollback the moment it was applied. A plain
    // `apply` goes forward, and says so.
    let rolled_back_by =
        installed.set_back_by.clone().filter(|_| opts.to.is_none() && opts.hold_after_rollback);
    let target_idx = match &opts.to {
        Some(to) => {
            Some(index(to).ok_or_else(|| PlanError::ToNotFound { to: to.clone(), found: names.clone() })?)
        }
        None if rolled_back_by.is_some() && installed_idx.is_some() => installed_idx,
        None => names.len().checked_sub(1),
    };
    let held: Vec<String> = match (&rolled_back_by, installed_idx) {
        (Some(_), Some(i)) => names[i + 1..].to_vec(),
        _ => Vec::new(),
    };
    if let (Some(t), Some(i), Some(to)) = (target_idx, installed_idx, &opts.to) {
        if t < i {
            return Err(PlanError::ToOlderThanInstalled { to: to.clone(), installed: names[i].clone() });
        }
    }

    // Integrity of what already ran.
    let mut modified = Vec::new();
    let mut accept = Vec::new();
    let upto = installed_idx.map(|i| i + 1).unwrap_or(0);
    for d in &disk[..upto] {
        let Some(row) = installed.recorded(module, &d.version) else { continue };
        let file = match row.kind {
            StepKind::Definition => d.definition.as_ref(),
            StepKind::Migration => d.migration.as_ref(),
            StepKind::Repair | StepKind::Rollback => continue,
        };
        let current = file.map(|f| f.checksum.clone());
        if current == row.checksum {
            continue;
        }
        if opts.accept_modified.contains(&d.version) {
            accept.push(Acceptance {
                version: d.version.clone(),
                kind: row.kind,
                recorded: row.checksum.clone(),
                new: current,
            });
        } else {
            modified.push(ModifiedFile {
                version: d.version.clone(),
                kind: row.kind,
                path: file.map(|f| f.path.clone()),
                recorded: row.checksum.clone(),
                current,
            });
        }
    }
    if !modified.is_empty() {
        return Err(PlanError::Modified { files: modified });
    }
    for v in &opts.accept_modified {
        // A partly applied version (run statement by statement) resumes after its edited,
        // completed statements: the runner reads the flag.
        if accept.iter().any(|a| &a.version == v) || partly_applied(installed, module, v) {
            continue;
        }
        let reason = match index(v) {
            None => "no such version on disk".to_string(),
            Some(i) if installed_idx.is_none_or(|ii| i > ii) => "that version is not applied yet; it will run as it is now".to_string(),
            Some(_) if installed.recorded(module, v).is_none() => {
                "strata has no checksum recorded for that version (applied by another tool or covered by a baseline); nothing to accept".to_string()
            }
            Some(_) => "its file is unchanged; nothing to accept".to_string(),
        };
        return Err(PlanError::NothingToAccept { version: v.clone(), reason });
    }

    let late = installed.out_of_order(module, names.iter().map(String::as_str));
    if !late.is_empty() && !opts.out_of_order {
        return Err(PlanError::OutOfOrder {
            installed: installed.version.clone().unwrap_or_default(),
            versions: late,
        });
    }

    let mut steps = Vec::new();
    let retry = |v: &str| {
        installed
            .last_attempt(module, v)
            .filter(|r| matches!(r.status, RunStatus::Failed | RunStatus::Running))
            .map(|r| r.error.clone().unwrap_or_else(|| "interrupted".into()))
    };
    let migration_step = |d: &DiskMigration, out_of_order: bool| -> Result<Step, PlanError> {
        let file = d.migration.clone().ok_or_else(|| PlanError::MissingFile {
            version: d.version.clone(),
            kind: StepKind::Migration,
        })?;
        Ok(Step {
            version: d.version.clone(),
            kind: StepKind::Migration,
            file,
            covers: Vec::new(),
            previous_error: retry(&d.version),
            out_of_order,
            rerun: false,
        })
    };
    for v in &late {
        steps.push(migration_step(disk[index(v).unwrap_or_default()], true)?);
    }
    match (installed_idx, target_idx) {
        (_, None) => {}
        (None, Some(t)) => {
            let d = disk[t];
            let file = d.definition.clone().ok_or_else(|| PlanError::MissingFile {
                version: d.version.clone(),
                kind: StepKind::Definition,
            })?;
            steps.push(Step {
                version: d.version.clone(),
                kind: StepKind::Definition,
                file,
                covers: names[..t].to_vec(),
                previous_error: retry(&d.version),
                out_of_order: false,
                rerun: false,
            });
        }
        (Some(i), Some(t)) => {
            for d in disk.iter().take(t + 1).skip(i + 1) {
                steps.push(migration_step(d, false)?);
            }
        }
    }
    let mut target = match (target_idx, installed_idx) {
        (Some(t), _) => Some(names[t].clone()),
        (None, _) => installed.version.clone(),
    };
    if opts.retry_failed {
        let step = only_the_retry(&mut steps)?;
        target = Some(step);
    }
    check_background_requirements(&steps, installed)?;
    let mut reruns: Vec<&String> = opts.rerun.iter().collect();
    reruns.sort();
    reruns.dedup();
    for v in reruns {
        let d = index(v).map(|i| disk[i]);
        steps.push(rerun_step(module, installed, installed_idx, index(v), d, v)?);
    }
    let rolled_back_by = rolled_back_by.filter(|_| !held.is_empty());
    let rolls_forward_over = match (&installed.set_back_by, &rolled_back_by) {
        (Some(r), None) if steps.iter().any(|s| !s.out_of_order && s.kind == StepKind::Migration) => {
            Some(r.clone())
        }
        _ => None,
    };
    Ok(Plan {
        installed: installed.version.clone(),
        target,
        steps,
        accept,
        rolled_back_by,
        held,
        rolls_forward_over,
    })
}

/// The repair step, unless the `_repair` row already records this repair's version
/// (Serverpod's "applied once" rule).
pub fn plan_repair(repair: &RepairFile, installed: &InstalledState) -> Option<Step> {
    if installed.repair_version.as_deref() == Some(repair.version.as_str()) {
        return None;
    }
    Some(Step {
        version: repair.version.clone(),
        kind: StepKind::Repair,
        file: repair.file.clone(),
        covers: Vec::new(),
        previous_error: installed
            .last_attempt(crate::REPAIR_MODULE, &repair.version)
            .filter(|r| r.status == RunStatus::Failed)
            .map(|r| r.error.clone().unwrap_or_default()),
        out_of_order: false,
        rerun: false,
    })
}

/// `--retry-failed`: keeps only the first in-order step, which must retry a failed or
/// interrupted attempt; returns its version (the run's target).
fn only_the_retry(steps: &mut Vec<Step>) -> Result<String, PlanError> {
    let first = steps.iter().position(|s| !s.out_of_order);
    let Some(i) = first else {
        return Err(PlanError::NothingToRetry { reason: "no version is pending".into() });
    };
    if steps[i].previous_error.is_none() {
        return Err(PlanError::NothingToRetry {
            reason: format!("the next version, {}, has not failed (it never ran)", steps[i].version),
        });
    }
    steps.truncate(i + 1);
    Ok(steps[i].version.clone())
}

/// The version's last attempt failed after committing some of its statements.
fn partly_applied(installed: &InstalledState, module: &str, version: &str) -> bool {
    let last = installed.history.iter().rev().find(|r| r.module == module && r.version == version);
    last.is_some_and(|r| r.status == RunStatus::Failed && r.progress.as_ref().is_some_and(|p| p.done > 0))
}

/// The step re-running an applied version's `migration.sql`, or why it may not run again.
fn rerun_step(
    module: &str,
    installed: &InstalledState,
    installed_idx: Option<usize>,
    idx: Option<usize>,
    d: Option<&DiskMigration>,
    version: &str,
) -> Result<Step, PlanError> {
    let refuse =
        |reason: &str| PlanError::CannotRerun { version: version.to_string(), reason: reason.into() };
    let (Some(i), Some(d)) = (idx, d) else { return Err(refuse("no such version on disk")) };
    if installed_idx.is_none_or(|ii| i > ii) {
        return Err(refuse("that version is not applied yet; `strata apply` runs it"));
    }
    if let Some(row) = installed.skipped(module, version) {
        let why = row.error.as_deref().unwrap_or("");
        return Err(refuse(&format!(
            "it was skipped ({why}), never applied; only an applied version can run again"
        )));
    }
    let Some(file) = d.migration.clone() else { return Err(refuse("it has no migration.sql")) };
    if !is_rerunnable(&file.sql) {
        return Err(refuse(&format!(
            "{} is not marked as safe to run twice; if every statement in it is idempotent (IF NOT EXISTS, \
             CREATE OR REPLACE, upserts), add the line `{RERUNNABLE_MARKER}` to its header and accept the edit \
             with --accept-modified {version}",
            file.path.display()
        )));
    }
    Ok(Step {
        version: version.to_string(),
        kind: StepKind::Migration,
        file,
        covers: Vec::new(),
        previous_error: None,
        out_of_order: false,
        rerun: true,
    })
}

/// Checks that `--skip-failed version` may skip it: the next version after the installed one,
/// whose last attempt failed (or was interrupted). Returns that attempt's error.
pub fn check_skip(
    module: &str,
    installed: &InstalledState,
    disk: &[DiskMigration],
    version: &str,
) -> Result<String, PlanError> {
    let refuse = |reason: String| PlanError::CannotSkip { version: version.to_string(), reason };
    let mut names: Vec<&str> = disk.iter().map(|d| d.version.as_str()).collect();
    names.sort();
    if !names.contains(&version) {
        return Err(refuse(format!("no such version on disk (versions on disk: {})", names.join(", "))));
    }
    let Some(inst) = installed.version.as_deref() else {
        return Err(refuse(
            "nothing is installed yet: a fresh database runs the latest definition.sql, which cannot be skipped"
                .into(),
        ));
    };
    let next = names.iter().find(|v| **v > inst).copied();
    if next != Some(version) {
        return Err(refuse(match next {
            _ if version <= inst => format!("it is not pending (the database is at {inst})"),
            Some(n) => format!("only the next pending version can be skipped, and that is {n}"),
            None => "nothing is pending".into(),
        }));
    }
    match installed.last_attempt(module, version) {
        Some(r) if matches!(r.status, RunStatus::Failed | RunStatus::Running) => {
            Ok(r.error.clone().unwrap_or_else(|| "interrupted".into()))
        }
        _ => Err(refuse("it has not failed here; only a failed version can be skipped".into())),
    }
}

/// The version a migration file records for `module` through its `serverpod_migrations` upsert
/// (`VALUES ('<module>', '<version>', …)`). Lets a dry run predict the state after a repair.
pub fn recorded_version(sql: &str, module: &str) -> Option<String> {
    let needle = format!("VALUES ({}, '", strata_sql::quote::literal(module));
    let start = sql.find(&needle)? + needle.len();
    let end = sql[start..].find('\'')?;
    Some(sql[start..start + end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str = "shop";

    fn file(version: &str, kind: &str, body: &str) -> SqlFileInfo {
        SqlFileInfo::new(format!("migrations/{version}/{kind}.sql"), format!("BEGIN;\n{body}\nCOMMIT;\n"))
    }

    fn disk(versions: &[&str]) -> Vec<DiskMigration> {
        versions
            .iter()
            .map(|v| DiskMigration {
                version: v.to_string(),
                definition: Some(file(v, "definition", &format!("-- def {v}"))),
                migration: Some(file(v, "migration", &format!("-- mig {v}"))),
            })
            .collect()
    }

    fn row(
        id: i64,
        version: &str,
        kind: StepKind,
        status: RunStatus,
        checksum: Option<String>,
    ) -> HistoryRow {
        HistoryRow {
            id,
            module: M.into(),
            version: version.into(),
            kind,
            dialect: "postgres".into(),
            checksum,
            status,
            started_at: "2026-01-01 00:00:00.000".into(),
            finished_at: None,
            duration_ms: None,
            error: (status == RunStatus::Failed).then(|| "boom".to_string()),
            covered_by: None,
            previous_checksum: None,
            runner: None,
            progress: None,
        }
    }

    fn ok_row(id: i64, d: &DiskMigration, kind: StepKind) -> HistoryRow {
        let f = if kind == StepKind::Definition { &d.definition } else { &d.migration };
        row(id, &d.version, kind, RunStatus::Ok, f.as_ref().map(|f| f.checksum.clone()))
    }

    fn at(version: Option<&str>, history: Vec<HistoryRow>) -> InstalledState {
        InstalledState { version: version.map(str::to_string), history, ..Default::default() }
    }

    fn versions(p: &Plan) -> Vec<(String, StepKind)> {
        p.steps.iter().map(|s| (s.version.clone(), s.kind)).collect()
    }

    const V: [&str; 4] =
        ["20240101000000000", "20240102000000000-tag", "20240103000000000", "20240104000000000"];

    #[test]
    fn requires_background_lines_are_read_from_the_header_only() {
        let sql = "-- strata:requires_background fill_cents\n--strata:other x\n-- strata:requires_background  b2 \n\
                   -- strata:requires_backgroundx c\nBEGIN;\n-- strata:requires_background late\nCOMMIT;\n";
        assert_eq!(required_background_jobs(sql), ["fill_cents", "b2"]);
        assert!(required_background_jobs("BEGIN;\nCOMMIT;\n").is_empty());
    }

    #[test]
    fn a_pending_migration_waits_for_its_background_job() {
        let mut d = disk(&V[..3]);
        let m = d[2].migration.as_mut().unwrap();
        *m = SqlFileInfo::new(m.path.clone(), format!("-- strata:requires_background fill\n{}", m.sql));
        let mut st = at(Some(V[0]), vec![ok_row(1, &d[0], StepKind::Definition)]);
        let e = plan(M, &st, &d, &PlanOptions::default()).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(&e, PlanError::BackgroundNotFinalized { version, job, state }
            if version == V[2] && job == "fill" && state == "not started"),
            "{msg}"
        );
        assert!(
            msg.contains("strata background finalize fill") && msg.contains("nothing was applied"),
            "{msg}"
        );
        st.background_jobs.insert("fill".into(), "running".into());
        assert!(plan(M, &st, &d, &PlanOptions::default())
            .unwrap_err()
            .to_string()
            .contains("that job is running"));
        // Up to the version before it, nothing requires the job.
        let opts = PlanOptions { to: Some(V[1].into()), ..Default::default() };
        assert_eq!(versions(&plan(M, &st, &d, &opts).unwrap()).len(), 1);
        st.background_jobs.insert("fill".into(), "finalized".into());
        assert_eq!(versions(&plan(M, &st, &d, &PlanOptions::default()).unwrap()).len(), 2);
        // A fresh database runs definition.sql only: migration headers do not apply.
        st = at(None, vec![]);
        assert_eq!(versions(&plan(M, &st, &d, &PlanOptions::default()).unwrap()).len(), 1);
    }

    #[test]
    fn fresh_runs_only_latest_definition_and_covers_older() {
        let d = disk(&V);
        let p = plan(M, &at(None, vec![]), &d, &PlanOptions::default()).unwrap();
        assert_eq!(versions(&p), [(V[3].to_string(), StepKind::Definition)]);
        assert_eq!(p.steps[0].covers, V[..3].to_vec());
        assert_eq!(p.steps[0].file, d[3].definition.clone().unwrap());
        assert_eq!(p.installed, None);
        assert_eq!(p.target.as_deref(), Some(V[3]));
    }

    #[test]
    fn fresh_with_to_runs_that_definition() {
        let p = plan(
            M,
            &at(None, vec![]),
            &disk(&V),
            &PlanOptions { to: Some(V[1].into()), ..Default::default() },
        )
        .unwrap();
        assert_eq!(versions(&p), [(V[1].to_string(), StepKind::Definition)]);
        assert_eq!(p.steps[0].covers, [V[0]]);
    }

    #[test]
    fn unsorted_disk_input_is_sorted() {
        let mut d = disk(&V);
        d.reverse();
        let p = plan(M, &at(Some(V[0]), vec![]), &d, &PlanOptions::default()).unwrap();
        assert_eq!(versions(&p).iter().map(|v| v.0.as_str()).collect::<Vec<_>>(), &V[1..]);
    }

    #[test]
    fn incremental_runs_each_newer_migration_in_order() {
        let d = disk(&V);
        let p = plan(M, &at(Some(V[1]), vec![]), &d, &PlanOptions::default()).unwrap();
        assert_eq!(
            versions(&p),
            [(V[2].to_string(), StepKind::Migration), (V[3].to_string(), StepKind::Migration)]
        );
        assert!(p.steps.iter().all(|s| s.covers.is_empty() && s.previous_error.is_none()));
        assert_eq!(p.installed.as_deref(), Some(V[1]));
    }

    #[test]
    fn incremental_with_to() {
        let p = plan(
            M,
            &at(Some(V[0]), vec![]),
            &disk(&V),
            &PlanOptions { to: Some(V[2].into()), ..Default::default() },
        )
        .unwrap();
        assert_eq!(versions(&p).len(), 2);
        assert_eq!(p.target.as_deref(), Some(V[2]));
    }

    #[test]
    fn up_to_date_and_to_equal_installed_are_empty() {
        let p = plan(M, &at(Some(V[3]), vec![]), &disk(&V), &PlanOptions::default()).unwrap();
        assert!(p.is_empty());
        assert_eq!(p.target.as_deref(), Some(V[3]));
        let p = plan(
            M,
            &at(Some(V[2]), vec![]),
            &disk(&V),
            &PlanOptions { to: Some(V[2].into()), ..Default::default() },
        )
        .unwrap();
        assert!(p.is_empty());
    }

    #[test]
    fn no_migrations_and_fresh_is_empty() {
        let p = plan(M, &at(None, vec![]), &[], &PlanOptions::default()).unwrap();
        assert!(p.is_empty());
        assert_eq!(p.target, None);
    }

    #[test]
    fn installed_missing_on_disk_names_it_and_lists_found() {
        let e =
            plan(M, &at(Some("20230101000000000"), vec![]), &disk(&V), &PlanOptions::default()).unwrap_err();
        assert!(
            matches!(&e, PlanError::InstalledNotOnDisk { version, found, .. } if version == "20230101000000000" && found.len() == 4)
        );
        let msg = e.to_string();
        assert!(
            msg.contains("20230101000000000")
                && msg.contains(V[0])
                && msg.contains(V[3])
                && msg.contains("shop"),
            "{msg}"
        );
        let e = plan(M, &at(Some("x"), vec![]), &[], &PlanOptions::default()).unwrap_err();
        assert!(e.to_string().contains("versions on disk: none"), "{e}");
    }

    #[test]
    fn long_version_lists_are_abbreviated() {
        let names: Vec<String> = (0..40).map(|i| format!("2024{i:013}")).collect();
        let s = list(&names);
        assert!(s.contains(&names[0]) && s.contains(&names[39]) && s.contains("more"), "{s}");
    }

    #[test]
    fn to_errors() {
        let e = plan(
            M,
            &at(Some(V[0]), vec![]),
            &disk(&V),
            &PlanOptions { to: Some("nope".into()), ..Default::default() },
        )
        .unwrap_err();
        assert!(matches!(e, PlanError::ToNotFound { .. }));
        let e = plan(
            M,
            &at(Some(V[2]), vec![]),
            &disk(&V),
            &PlanOptions { to: Some(V[1].into()), ..Default::default() },
        )
        .unwrap_err();
        assert!(
            matches!(&e, PlanError::ToOlderThanInstalled { to, installed } if to == V[1] && installed == V[2])
        );
        assert!(e.to_string().contains("repair"));
    }

    #[test]
    fn missing_files() {
        let mut d = disk(&V);
        d[3].definition = None;
        let e = plan(M, &at(None, vec![]), &d, &PlanOptions::default()).unwrap_err();
        assert_eq!(e, PlanError::MissingFile { version: V[3].into(), kind: StepKind::Definition });
        let mut d = disk(&V);
        d[2].migration = None;
        let e = plan(M, &at(Some(V[1]), vec![]), &d, &PlanOptions::default()).unwrap_err();
        assert!(e.to_string().contains("migration.sql") && e.to_string().contains(V[2]));
        // A missing migration.sql below the installed version does not matter.
        let mut d = disk(&V);
        d[1].migration = None;
        assert!(plan(M, &at(Some(V[2]), vec![]), &d, &PlanOptions::default()).is_ok());
    }

    fn failed_at_v2() -> (Vec<DiskMigration>, InstalledState) {
        let d = disk(&V);
        let h = vec![
            ok_row(1, &d[1], StepKind::Migration),
            row(2, V[2], StepKind::Migration, RunStatus::Failed, None),
        ];
        (d, at(Some(V[1]), h))
    }

    #[test]
    fn retry_failed_runs_only_the_failed_version() {
        let (d, state) = failed_at_v2();
        let opts = PlanOptions { retry_failed: true, ..Default::default() };
        let p = plan(M, &state, &d, &opts).unwrap();
        assert_eq!(versions(&p), [(V[2].to_string(), StepKind::Migration)]);
        assert_eq!(p.target.as_deref(), Some(V[2]));
        let fine = at(Some(V[1]), vec![ok_row(1, &d[1], StepKind::Migration)]);
        let e = plan(M, &fine, &d, &opts).unwrap_err();
        assert!(e.to_string().contains("has not failed"), "{e}");
        let e = plan(M, &at(Some(V[3]), vec![]), &d, &opts).unwrap_err();
        assert!(e.to_string().contains("no version is pending"), "{e}");
    }

    #[test]
    fn only_the_failed_next_version_can_be_skipped() {
        let (d, state) = failed_at_v2();
        assert_eq!(check_skip(M, &state, &d, V[2]).unwrap(), "boom");
        for (v, why) in [
            (V[3], "that is 20240103000000000"),
            (V[1], "not pending"),
            ("20990101000000000", "no such version"),
        ] {
            let e = check_skip(M, &state, &d, v).unwrap_err().to_string();
            assert!(e.contains(why), "{v}: {e}");
        }
        let e = check_skip(M, &at(None, vec![]), &d, V[0]).unwrap_err().to_string();
        assert!(e.contains("nothing is installed yet"), "{e}");
    }

    #[test]
    fn a_skipped_version_counts_as_passed_not_applied() {
        let (d, mut state) = failed_at_v2();
        state.history.push(HistoryRow {
            error: Some("by hand".into()),
            ..row(3, V[2], StepKind::Migration, RunStatus::Skipped, None)
        });
        state.version = Some(V[2].to_string());
        let p = plan(M, &state, &d, &PlanOptions::default()).unwrap();
        assert_eq!(versions(&p), [(V[3].to_string(), StepKind::Migration)]);
        assert!(state.out_of_order(M, V).is_empty());
        let opts = PlanOptions { rerun: vec![V[2].into()], ..Default::default() };
        let e = plan(M, &state, &d, &opts).unwrap_err().to_string();
        assert!(e.contains("it was skipped (by hand)"), "{e}");
    }

    #[test]
    fn rerun_needs_an_applied_marked_file() {
        let mut d = disk(&V);
        d[1].migration = Some(SqlFileInfo::new(
            "migrations/v1/migration.sql",
            format!("-- seed\n{RERUNNABLE_MARKER}\nBEGIN;\nCOMMIT;\n"),
        ));
        let h = vec![ok_row(1, &d[0], StepKind::Definition), ok_row(2, &d[1], StepKind::Migration)];
        let state = at(Some(V[1]), h);
        let opts = |v: &[&str]| PlanOptions {
            rerun: v.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let p = plan(M, &state, &d, &opts(&[V[1], V[1]])).unwrap();
        let reruns: Vec<_> = p.steps.iter().filter(|s| s.rerun).map(|s| s.version.as_str()).collect();
        assert_eq!(reruns, [V[1]], "named twice, runs once, after the pending steps");
        assert!(p.steps.last().unwrap().rerun);
        for (v, why) in [
            (V[0], "is not marked as safe to run twice"),
            (V[2], "not applied yet"),
            ("20990101000000000", "no such version on disk"),
        ] {
            let e = plan(M, &state, &d, &opts(&[v])).unwrap_err().to_string();
            assert!(e.contains(why), "{v}: {e}");
        }
        assert!(!is_rerunnable(&format!("BEGIN;\n{RERUNNABLE_MARKER}\n")), "only in the header");
    }

    #[test]
    fn failed_last_attempt_is_retried() {
        let d = disk(&V);
        let h = vec![
            ok_row(1, &d[1], StepKind::Migration),
            row(2, V[2], StepKind::Migration, RunStatus::Failed, None),
        ];
        let p = plan(M, &at(Some(V[1]), h), &d, &PlanOptions::default()).unwrap();
        assert_eq!(p.steps[0].version, V[2]);
        assert_eq!(p.steps[0].previous_error.as_deref(), Some("boom"));
        assert_eq!(p.steps[1].previous_error, None);
    }

    #[test]
    fn modified_applied_file_is_refused_with_the_flag_named() {
        let d = disk(&V);
        let mut h: Vec<HistoryRow> =
            d[..3].iter().enumerate().map(|(i, m)| ok_row(i as i64, m, StepKind::Migration)).collect();
        h[1].checksum = Some("0".repeat(64));
        let e = plan(M, &at(Some(V[2]), h.clone()), &d, &PlanOptions::default()).unwrap_err();
        let PlanError::Modified { files } = &e else { panic!("{e:?}") };
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].version, V[1]);
        let msg = e.to_string();
        assert!(msg.contains(&format!("--accept-modified {}", V[1])), "{msg}");
        assert!(msg.contains("000000000000") && msg.contains("migration.sql"), "{msg}");

        // Accepted: the plan records the new checksum and still applies the rest.
        let opts = PlanOptions { accept_modified: vec![V[1].into()], ..Default::default() };
        let p = plan(M, &at(Some(V[2]), h), &d, &opts).unwrap();
        assert_eq!(p.accept.len(), 1);
        assert_eq!(p.accept[0].new.as_deref(), Some(d[1].migration.as_ref().unwrap().checksum.as_str()));
        assert_eq!(versions(&p), [(V[3].to_string(), StepKind::Migration)]);
    }

    #[test]
    fn modified_definition_of_fresh_install_is_detected() {
        let d = disk(&V);
        let mut h = vec![ok_row(1, &d[2], StepKind::Definition)];
        h[0].checksum = Some("f".repeat(64));
        let e = plan(M, &at(Some(V[2]), h), &d, &PlanOptions::default()).unwrap_err();
        assert!(e.to_string().contains("definition.sql"), "{e}");
        // The migration.sql of the same version may change freely: it never ran.
        let mut d2 = disk(&V);
        d2[2].migration = Some(file(V[2], "migration", "-- edited"));
        let h = vec![ok_row(1, &d[2], StepKind::Definition)];
        assert!(plan(M, &at(Some(V[2]), h), &d2, &PlanOptions::default()).is_ok());
    }

    #[test]
    fn deleted_applied_file_counts_as_modified() {
        let d = disk(&V);
        let h = vec![ok_row(1, &d[1], StepKind::Migration)];
        let mut d2 = d.clone();
        d2[1].migration = None;
        let e = plan(M, &at(Some(V[1]), h), &d2, &PlanOptions::default()).unwrap_err();
        assert!(e.to_string().contains("gone"), "{e}");
    }

    #[test]
    fn latest_recorded_row_wins_and_accepted_rows_count() {
        let d = disk(&V);
        let cur = d[1].migration.as_ref().unwrap().checksum.clone();
        let h = vec![
            row(1, V[1], StepKind::Migration, RunStatus::Ok, Some("a".repeat(64))),
            row(2, V[1], StepKind::Migration, RunStatus::Accepted, Some(cur.clone())),
            row(3, V[1], StepKind::Migration, RunStatus::Failed, Some("b".repeat(64))),
        ];
        assert!(plan(M, &at(Some(V[1]), h), &d, &PlanOptions::default()).is_ok());
    }

    #[test]
    fn versions_above_installed_are_not_checked() {
        // After a repair back to V[1], V[2]'s old ok row must not block a re-run of its edited file.
        let d = disk(&V);
        let h = vec![row(1, V[2], StepKind::Migration, RunStatus::Ok, Some("c".repeat(64)))];
        let p = plan(M, &at(Some(V[1]), h), &d, &PlanOptions::default()).unwrap();
        assert_eq!(p.steps.len(), 2);
    }

    #[test]
    fn rows_of_other_modules_are_ignored() {
        let d = disk(&V);
        let mut r = row(1, V[1], StepKind::Migration, RunStatus::Ok, Some("c".repeat(64)));
        r.module = "other".into();
        assert!(plan(M, &at(Some(V[2]), vec![r]), &d, &PlanOptions::default()).is_ok());
    }

    #[test]
    fn accept_without_reason_is_an_error() {
        let d = disk(&V);
        let h = vec![ok_row(1, &d[1], StepKind::Migration)];
        let st = at(Some(V[1]), h);
        let case = |v: &str| {
            plan(M, &st, &d, &PlanOptions { accept_modified: vec![v.into()], ..Default::default() })
                .unwrap_err()
        };
        assert!(case("nope").to_string().contains("no such version"));
        assert!(case(V[3]).to_string().contains("not applied yet"));
        assert!(case(V[0]).to_string().contains("no checksum recorded"));
        assert!(case(V[1]).to_string().contains("unchanged"));
    }

    #[test]
    fn other_modules_without_the_project_row_mean_a_wrong_module_name() {
        let st = InstalledState {
            other_modules: vec!["serverpod".into(), "wrong_name".into()],
            ..Default::default()
        };
        let e = plan(M, &st, &disk(&V), &PlanOptions::default()).unwrap_err();
        assert!(matches!(&e, PlanError::ModuleNotInstalled { module, .. } if module == M));
        assert!(e.to_string().contains("wrong_name") && e.to_string().contains("module_name"), "{e}");
        // With the project row present, other modules are just informational.
        let st = InstalledState {
            version: Some(V[3].into()),
            other_modules: vec!["serverpod".into()],
            ..Default::default()
        };
        assert!(plan(M, &st, &disk(&V), &PlanOptions::default()).unwrap().is_empty());
    }

    #[test]
    fn repair_applied_once() {
        let r = RepairFile {
            version: "20240301101010101-fix".into(),
            file: SqlFileInfo::new("r.sql", "BEGIN;\nCOMMIT;\n"),
        };
        let mut st = at(Some(V[0]), vec![]);
        assert_eq!(plan_repair(&r, &st).unwrap().kind, StepKind::Repair);
        st.repair_version = Some("20240301101010101-fix".into());
        assert!(plan_repair(&r, &st).is_none());
        st.repair_version = Some("20230101000000000-older".into());
        assert!(plan_repair(&r, &st).is_some());
    }

    #[test]
    fn recorded_version_from_upsert() {
        let sql = "INSERT INTO \"serverpod_migrations\" (\"module\", \"version\", \"timestamp\")\n    VALUES ('serverpod', '20240101', now())\n\
                   INSERT INTO \"serverpod_migrations\" (\"module\", \"version\", \"timestamp\")\n    VALUES ('shop', '20240102000000000-x', now())\n";
        assert_eq!(recorded_version(sql, "shop").as_deref(), Some("20240102000000000-x"));
        assert_eq!(recorded_version(sql, "serverpod").as_deref(), Some("20240101"));
        assert_eq!(recorded_version(sql, "nope"), None);
    }
}
