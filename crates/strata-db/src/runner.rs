//! The apply / status runner: lock, read state, plan, run each step in its own transaction with
//! its history row, report progress.
//!
//! Locking:
//! * PostgreSQL: `pg_try_advisory_lock(hashtext('serverpod_migration_lock'))` on a dedicated
//!   connection, polled until `lock_timeout`. It is Serverpod's own key, so a Serverpod server
//!   started with `--apply-migrations` and `strata apply` exclude each other. Polling (never a
//!   blocking `pg_advisory_lock`) means a waiter holds no lock queue entry that could deadlock
//!   with `CREATE INDEX CONCURRENTLY`, and a timeout names the holder's pid. A session lock dies
//!   with its connection: nothing to clean up after a crash.
//! * SQLite: each step's transaction is `BEGIN IMMEDIATE` (the database's write lock, waited for
//!   up to `lock_timeout` through the busy timeout) and re-checks the installed version inside
//!   it, so concurrent runs never apply a step twice.
//!
//! The migration connection also sets `client_connection_check_interval`, so when strata is
//! killed mid-migration the server notices within a second and rolls back, instead of finishing
//! a long statement first and holding its locks.

use std::time::Duration;

use crate::connection::ConnectionTarget;
use crate::disk::{read_migrations, read_repair};
use crate::history::{self, NewRow, RunStatus};
use crate::plan::{self, plan_repair, recorded_version, Plan, PlanOptions, Step, StepKind};
use crate::status::StatusReport;
use crate::step::{run_step, Expect};
use crate::{ApplyFailure, DbError, InstalledState, Project, REPAIR_MODULE};

/// The advisory-lock name; `hashtext()` of it is the key (Serverpod's, see module docs).
pub const LOCK_NAME: &str = "serverpod_migration_lock";

/// The transaction-scoped advisory lock each PostgreSQL step transaction takes first.
pub const STEP_LOCK_NAME: &str = "strata_migration_step";

/// Serverpod's bookkeeping table.
pub const SERVERPOD_MIGRATIONS: &str = "serverpod_migrations";

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Stop at this version.
    pub to: Option<String>,
    /// Accept these versions' edited files (record the new checksum, do not re-run).
    pub accept_modified: Vec<String>,
    /// Apply `repair-migration/*.sql` first (once).
    pub repair: bool,
    /// Compute and report the plan; change nothing.
    pub dry_run: bool,
    /// How long to wait for another run's lock.
    pub lock_timeout: Duration,
    /// Also run versions older than the installed one that never ran (merged late).
    pub out_of_order: bool,
    /// Run these applied versions' rerunnable `migration.sql` again (after the pending ones).
    pub rerun: Vec<String>,
    /// Run only the failed or interrupted next version; refuse when there is none.
    pub retry_failed: bool,
    /// Record this failed version as skipped, with the reason, before planning.
    pub skip_failed: Option<SkipRequest>,
}

/// `--skip-failed V --reason R`.
#[derive(Debug, Clone)]
pub struct SkipRequest {
    pub version: String,
    pub reason: String,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            to: None,
            accept_modified: Vec::new(),
            repair: false,
            dry_run: false,
            lock_timeout: Duration::from_secs(60),
            out_of_order: false,
            rerun: Vec::new(),
            retry_failed: false,
            skip_failed: None,
        }
    }
}

/// Progress notifications, in order, for the CLI to print.
#[derive(Debug)]
pub enum ApplyEvent<'a> {
    /// Another run holds the lock; waiting (holders' backend pids when visible).
    LockWaiting {
        holders: &'a [i64],
    },
    LockAcquired {
        waited: Duration,
    },
    /// SQLite: another run holds the run lock file; waiting.
    RunLockWaiting {
        holder: &'a str,
    },
    NoRepairFile,
    /// A failed version was recorded as skipped (`--skip-failed`).
    Skipped {
        version: &'a str,
        reason: &'a str,
        error: &'a str,
    },
    RepairAlreadyApplied {
        version: &'a str,
    },
    /// The plan about to run (after the repair, if any).
    Planned {
        plan: &'a Plan,
    },
    Accepted {
        version: &'a str,
        kind: StepKind,
        recorded: Option<&'a str>,
        new: Option<&'a str>,
    },
    StepStarted {
        step: &'a Step,
    },
    StepFinished {
        step: &'a Step,
        duration: Duration,
    },
    StepFailed {
        step: &'a Step,
        duration: Duration,
        error: &'a str,
    },
}

/// One step that committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedStep {
    pub version: String,
    pub kind: StepKind,
    pub duration: Duration,
}

/// What an apply did (or, for a dry run, would do).
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub dry_run: bool,
    /// The project version before the run.
    pub installed_before: Option<String>,
    /// The project version after the run (predicted for a dry run).
    pub installed_after: Option<String>,
    pub repair_applied: Option<String>,
    pub repair_skipped: Option<String>,
    /// Committed steps, in order (repair excluded).
    pub applied: Vec<AppliedStep>,
    /// Versions whose new checksum was accepted.
    pub accepted: Vec<String>,
    /// The failed version recorded as skipped (`--skip-failed`).
    pub skipped: Option<String>,
    /// Dry run: every step that would run, repair first, with its SQL.
    pub planned: Vec<Step>,
}

/// The migration connection, seen through its driver's [`crate::session::Session`].
pub(crate) type Conn = dyn crate::session::Session;

pub(crate) fn check_dialect(project: &Project, target: &ConnectionTarget) -> Result<(), DbError> {
    if project.driver != target.driver() {
        return Err(DbError::DialectMismatch {
            project: project.driver.to_string(),
            database: target.driver().to_string(),
        });
    }
    Ok(())
}

async fn read_state_on(
    conn: &mut Conn,
    target: &ConnectionTarget,
    module: &str,
) -> Result<InstalledState, DbError> {
    let err = |what: &str, e: &sqlx::Error| target.sql_error(format!("reading {what}"), e);
    let versions = |e: sqlx::Error| err("the installed versions", &e);
    let mut state = InstalledState {
        version: conn.module_version(module).await.map_err(versions)?,
        repair_version: conn.module_version(REPAIR_MODULE).await.map_err(versions)?,
        other_modules: conn.modules().await.map_err(versions)?,
        ..Default::default()
    };
    state.other_modules.retain(|m| m != module && m != REPAIR_MODULE);
    if conn.has_history_table().await.map_err(|e| err(history::HISTORY_TABLE, &e))? {
        state.history = conn.history(module).await.map_err(|e| err(history::HISTORY_TABLE, &e))?;
    }
    let jobs = conn.background_job_states().await.map_err(|e| err(crate::background::JOBS_TABLE, &e))?;
    state.background_jobs = jobs.into_iter().collect();
    Ok(state.derive(module))
}

/// Reads the installed state without changing anything (fresh if the database is empty).
pub async fn read_state(project: &Project, target: &ConnectionTarget) -> Result<InstalledState, DbError> {
    check_dialect(project, target)?;
    match crate::session::open_read_only_session(target, Duration::from_secs(5)).await? {
        Some(mut conn) => {
            let s = read_state_on(conn.as_mut(), target, &project.module_name).await;
            conn.close().await;
            s
        }
        None => Ok(InstalledState::default()),
    }
}

/// Who holds the migration lock right now: a server session, or the SQLite run lock file's
/// holder. Read-only; errors read as "nobody".
async fn live_run(target: &ConnectionTarget) -> Option<String> {
    if let Some(path) = target.sqlite_path() {
        return crate::runlock::holder(path);
    }
    let mut session = crate::session::open_read_only_session(target, Duration::from_secs(5)).await.ok()??;
    let holders = session.lock_holders().await.ok();
    session.close().await;
    holders?.first().map(|p| format!("{} {p}", lock_holder_noun(target.driver())))
}

/// What a lock holder's id is called on each server.
pub(crate) fn lock_holder_noun(driver: crate::Driver) -> &'static str {
    match driver {
        crate::Driver::Postgres => "backend pid",
        crate::Driver::Mysql => "connection id",
        crate::Driver::Sqlite => "process",
    }
}

/// Status of every version on disk and in the database. Read-only.
pub async fn status(project: &Project, target: &ConnectionTarget) -> Result<StatusReport, DbError> {
    let disk = read_migrations(&project.migrations_dir)?;
    let repair = read_repair(&project.repair_dir)?;
    let mut state = read_state(project, target).await?;
    if state.history.iter().any(|r| r.status == RunStatus::Running) {
        state.live_run = live_run(target).await;
    }
    Ok(crate::status::build(&project.module_name, project.driver.name(), &state, &disk, repair.as_ref()))
}

/// Applies the repair migration (with `repair`) and the pending migrations. On failure the
/// error carries what was committed before it.
pub async fn apply(
    project: &Project,
    target: &ConnectionTarget,
    opts: &ApplyOptions,
    observer: &mut dyn FnMut(&ApplyEvent),
) -> Result<ApplyReport, ApplyFailure> {
    let disk = read_migrations(&project.migrations_dir)
        .map_err(|error| ApplyFailure { error, report: ApplyReport::default() })?;
    apply_migrations(project, target, &disk, opts, observer).await
}

/// [`apply`] with the migrations given rather than read from `project.migrations_dir` (an
/// application that embeds them in its binary, `crate::startup`).
pub async fn apply_migrations(
    project: &Project,
    target: &ConnectionTarget,
    disk: &[crate::DiskMigration],
    opts: &ApplyOptions,
    observer: &mut dyn FnMut(&ApplyEvent),
) -> Result<ApplyReport, ApplyFailure> {
    let mut report = ApplyReport { dry_run: opts.dry_run, ..Default::default() };
    match apply_inner(project, target, disk, opts, observer, &mut report).await {
        Ok(()) => Ok(report),
        Err(error) => Err(ApplyFailure { error, report }),
    }
}

async fn apply_inner(
    project: &Project,
    target: &ConnectionTarget,
    disk: &[crate::DiskMigration],
    opts: &ApplyOptions,
    observer: &mut dyn FnMut(&ApplyEvent),
    report: &mut ApplyReport,
) -> Result<(), DbError> {
    check_dialect(project, target)?;
    let module = project.module_name.as_str();
    let repair = if opts.repair {
        let r = read_repair(&project.repair_dir)?;
        if r.is_none() {
            observer(&ApplyEvent::NoRepairFile);
        }
        r
    } else {
        None
    };
    let plan_opts = PlanOptions {
        to: opts.to.clone(),
        accept_modified: opts.accept_modified.clone(),
        out_of_order: opts.out_of_order,
        hold_after_rollback: opts.repair,
        rerun: opts.rerun.clone(),
        retry_failed: opts.retry_failed,
    };

    if opts.dry_run {
        let mut state = read_state(project, target).await?;
        report.installed_before = state.version.clone();
        if let Some(r) = &repair {
            match plan_repair(r, &state) {
                Some(step) => {
                    // Predict the state the repair leaves behind from its own upsert.
                    if let Some(v) = recorded_version(&step.file.sql, module) {
                        state.version = Some(v);
                    }
                    state.repair_version = Some(step.version.clone());
                    state.set_back_by = Some(format!("repair migration \"{}\"", step.version));
                    report.planned.push(step);
                }
                None => {
                    observer(&ApplyEvent::RepairAlreadyApplied { version: &r.version });
                    report.repair_skipped = Some(r.version.clone());
                }
            }
        }
        if let Some(skip) = &opts.skip_failed {
            plan::check_skip(module, &state, disk, &skip.version)?;
            state.version = Some(skip.version.clone());
            report.skipped = Some(skip.version.clone());
        }
        let p = plan::plan(module, &state, disk, &plan_opts)?;
        observer(&ApplyEvent::Planned { plan: &p });
        report.installed_after = p.target.clone().or(state.version.clone());
        report.accepted = p.accept.iter().map(|a| a.version.clone()).collect();
        report.planned.extend(p.steps);
        return Ok(());
    }

    let mut locked = Locked::open(target, opts.lock_timeout, observer).await?;
    let run = Run {
        project,
        target,
        disk,
        repair: repair.as_ref(),
        skip: opts.skip_failed.as_ref(),
        accept_modified: &opts.accept_modified,
    };
    let result = run_locked(locked.conn.as_mut(), &run, plan_opts, observer, report).await;
    locked.release().await;
    result
}

/// The migration connection with the run's lock held on it (SQLite: plus the run lock file).
pub(crate) struct Locked {
    pub(crate) conn: Box<Conn>,
    _run_lock: Option<crate::runlock::RunLock>,
}

impl Locked {
    /// Connects and takes the lock. A server's session lock sits on the migration connection
    /// itself: it dies with its session, and so does any transaction that session had open, so
    /// no migration can commit once the lock is gone (see module docs). A SQLite file gets the
    /// run lock file next to it.
    pub(crate) async fn open(
        target: &ConnectionTarget,
        lock_timeout: Duration,
        observer: &mut dyn FnMut(&ApplyEvent),
    ) -> Result<Locked, DbError> {
        let conn = crate::session::open_migration_session(target, lock_timeout, observer).await?;
        let run_lock = match target.sqlite_path() {
            Some(path) => {
                let mut waiting = |holder: &str| observer(&ApplyEvent::RunLockWaiting { holder });
                let path = crate::runlock::lock_path(path);
                match crate::runlock::acquire(&path, lock_timeout, &mut waiting).await {
                    Ok(lock) => Some(lock),
                    Err(e) => {
                        conn.close().await;
                        return Err(e);
                    }
                }
            }
            None => None,
        };
        Ok(Locked { conn, _run_lock: run_lock })
    }

    pub(crate) async fn release(mut self) {
        let _ = self.conn.unlock().await;
        self.conn.close().await;
    }
}

/// Under the lock: creates (or upgrades) the history table and marks attempts left `running` by
/// runs that died as interrupted.
async fn prepare_history(conn: &mut Conn, target: &ConnectionTarget, module: &str) -> Result<(), DbError> {
    conn.ensure_history_table()
        .await
        .map_err(|e| target.sql_error(format!("creating {}", history::HISTORY_TABLE), &e))?;
    conn.interrupt_stale_runs(module).await.map_err(|e| {
        target.sql_error(format!("marking interrupted runs in {}", history::HISTORY_TABLE), &e)
    })?;
    Ok(())
}

/// What `strata rollback` asks the runner to do: take the database from `from` back to `to` with
/// `sql` (a down migration computed from the two versions' definitions).
#[derive(Debug, Clone)]
pub struct RollbackRequest {
    pub from: String,
    pub to: String,
    pub sql: String,
}

/// Applies a rollback under the migration lock, as one step recorded in history (kind
/// `rollback`, version `to`), after checking that the database is still at `from`. Afterwards
/// `apply --repair` stays at `to` and `status` says "rolled back".
pub async fn rollback(
    project: &Project,
    target: &ConnectionTarget,
    request: &RollbackRequest,
    lock_timeout: Duration,
    observer: &mut dyn FnMut(&ApplyEvent),
) -> Result<ApplyReport, ApplyFailure> {
    let mut report = ApplyReport::default();
    let result = async {
        check_dialect(project, target)?;
        let mut locked = Locked::open(target, lock_timeout, observer).await?;
        let r = rollback_locked(locked.conn.as_mut(), project, target, request, observer, &mut report).await;
        locked.release().await;
        r
    }
    .await;
    match result {
        Ok(()) => Ok(report),
        Err(error) => Err(ApplyFailure { error, report }),
    }
}

async fn rollback_locked(
    conn: &mut Conn,
    project: &Project,
    target: &ConnectionTarget,
    request: &RollbackRequest,
    observer: &mut dyn FnMut(&ApplyEvent),
    report: &mut ApplyReport,
) -> Result<(), DbError> {
    let module = project.module_name.as_str();
    prepare_history(conn, target, module).await?;
    let state = read_state_on(conn, target, module).await?;
    report.installed_before = state.version.clone();
    if state.version.as_deref() != Some(request.from.as_str()) {
        return Err(DbError::Raced {
            module: module.to_string(),
            expected: request.from.clone(),
            found: state.version.clone().unwrap_or_else(|| "nothing".into()),
        });
    }
    let step = Step {
        version: request.to.clone(),
        kind: StepKind::Rollback,
        file: crate::SqlFileInfo::new(
            format!("rollback {} -> {}", request.from, request.to),
            request.sql.clone(),
        ),
        covers: Vec::new(),
        previous_error: None,
        out_of_order: false,
        rerun: false,
    };
    let expect = Expect { module: module.to_string(), version: state.version.clone(), accept_changed: false };
    let duration = run_step(conn, target, module, &step, &expect, observer).await?;
    report.applied.push(AppliedStep { version: step.version.clone(), kind: step.kind, duration });
    report.installed_after = Some(request.to.clone());
    Ok(())
}

/// What one locked apply works from.
pub(crate) struct Run<'a> {
    pub project: &'a Project,
    pub target: &'a ConnectionTarget,
    pub disk: &'a [crate::DiskMigration],
    pub repair: Option<&'a crate::RepairFile>,
    pub skip: Option<&'a SkipRequest>,
    /// `--accept-modified`: these versions may also resume after edited completed statements.
    pub accept_modified: &'a [String],
}

pub(crate) async fn run_locked(
    conn: &mut Conn,
    run: &Run<'_>,
    mut plan_opts: PlanOptions,
    observer: &mut dyn FnMut(&ApplyEvent),
    report: &mut ApplyReport,
) -> Result<(), DbError> {
    let (target, module) = (run.target, run.project.module_name.as_str());
    prepare_history(conn, target, module).await?;

    let mut state = read_state_on(conn, target, module).await?;
    report.installed_before = state.version.clone();
    if let Some(r) = run.repair {
        state = apply_repair(conn, run, r, state, observer, report).await?;
    }
    if let Some(skip) = run.skip {
        let error = plan::check_skip(module, &state, run.disk, &skip.version)?;
        record_skip(conn, target, module, &state, skip).await?;
        observer(&ApplyEvent::Skipped { version: &skip.version, reason: &skip.reason, error: &error });
        report.skipped = Some(skip.version.clone());
        state = read_state_on(conn, target, module).await?;
    }
    loop {
        let p = plan::plan(module, &state, run.disk, &plan_opts)?;
        observer(&ApplyEvent::Planned { plan: &p });
        record_accepted(conn, target, module, &p, observer, report).await?;
        plan_opts.accept_modified.clear();
        match run_plan_steps(conn, run, &p, &state, &mut plan_opts, observer, report).await? {
            PlanOutcome::Raced => state = read_state_on(conn, target, module).await?,
            PlanOutcome::Done => break,
        }
    }
    report.installed_after = plan_target(conn, module, report).await;
    Ok(())
}

/// The repair migration first (once): re-planned if another run moved the repair version.
async fn apply_repair(
    conn: &mut Conn,
    run: &Run<'_>,
    repair: &crate::RepairFile,
    mut state: InstalledState,
    observer: &mut dyn FnMut(&ApplyEvent),
    report: &mut ApplyReport,
) -> Result<InstalledState, DbError> {
    let (target, module) = (run.target, run.project.module_name.as_str());
    loop {
        let Some(step) = plan_repair(repair, &state) else {
            observer(&ApplyEvent::RepairAlreadyApplied { version: &repair.version });
            report.repair_skipped = Some(repair.version.clone());
            return Ok(state);
        };
        let expect = Expect {
            module: REPAIR_MODULE.to_string(),
            version: state.repair_version.clone(),
            accept_changed: false,
        };
        match run_step(conn, target, module, &step, &expect, observer).await {
            Ok(_) => {
                report.repair_applied = Some(step.version.clone());
                return read_state_on(conn, target, module).await;
            }
            Err(DbError::Raced { .. }) => state = read_state_on(conn, target, module).await?,
            Err(e) => return Err(e),
        }
    }
}

/// Records an `accepted` row for every edited file the plan accepts (`--accept-modified`).
async fn record_accepted(
    conn: &mut Conn,
    target: &ConnectionTarget,
    module: &str,
    p: &Plan,
    observer: &mut dyn FnMut(&ApplyEvent),
    report: &mut ApplyReport,
) -> Result<(), DbError> {
    for a in &p.accept {
        let now = crate::timefmt::now_utc();
        let row = NewRow {
            module: module.to_string(),
            version: a.version.clone(),
            kind: a.kind,
            checksum: a.new.clone(),
            status: RunStatus::Accepted,
            started_at: now.clone(),
            finished_at: Some(now),
            duration_ms: Some(0),
            error: None,
            covered_by: None,
            previous_checksum: a.recorded.clone(),
            runner: Some(crate::runlock::this_runner()),
            statement_count: None,
        };
        conn.insert_history(&row)
            .await
            .map_err(|e| target.sql_error("recording the accepted checksum", &e))?;
        observer(&ApplyEvent::Accepted {
            version: &a.version,
            kind: a.kind,
            recorded: a.recorded.as_deref(),
            new: a.new.as_deref(),
        });
        report.accepted.push(a.version.clone());
    }
    Ok(())
}

/// Whether a plan ran to its end or must be made again (another run moved the version).
enum PlanOutcome {
    Done,
    Raced,
}

/// Runs the plan's steps in order, each through [`run_step`].
async fn run_plan_steps(
    conn: &mut Conn,
    run: &Run<'_>,
    p: &Plan,
    state: &InstalledState,
    plan_opts: &mut PlanOptions,
    observer: &mut dyn FnMut(&ApplyEvent),
    report: &mut ApplyReport,
) -> Result<PlanOutcome, DbError> {
    let (target, module) = (run.target, run.project.module_name.as_str());
    let mut expected = state.version.clone();
    for step in &p.steps {
        let expect = Expect {
            module: module.to_string(),
            version: expected.clone(),
            accept_changed: run.accept_modified.contains(&step.version),
        };
        match run_step(conn, target, module, step, &expect, observer).await {
            Ok(duration) => {
                report.applied.push(AppliedStep { version: step.version.clone(), kind: step.kind, duration });
                if step.rerun {
                    // A re-plan after a race must not run it a second time.
                    plan_opts.rerun.retain(|v| v != &step.version);
                } else if !step.out_of_order {
                    expected = Some(step.version.clone());
                }
            }
            Err(DbError::Raced { .. }) => return Ok(PlanOutcome::Raced),
            Err(e @ DbError::CommittedThenFailed { .. }) => {
                // The migration itself committed: the report must say so.
                let applied =
                    AppliedStep { version: step.version.clone(), kind: step.kind, duration: Duration::ZERO };
                report.applied.push(applied);
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
    report.installed_after = p.target.clone().or(state.version.clone());
    Ok(PlanOutcome::Done)
}

/// The version the run ended at: the plan's target, unless the database says otherwise (a file
/// that recorded a different version than its directory).
async fn plan_target(conn: &mut Conn, module: &str, report: &ApplyReport) -> Option<String> {
    let after = report.installed_after.clone()?;
    let actual = conn.module_version(module).await.ok().flatten();
    match actual {
        Some(actual) if actual != after => Some(actual),
        _ => Some(after),
    }
}

/// Records `skip` in one transaction: the installed version moves to the skipped one (its file
/// does not run) and a `skipped` history row keeps the reason. Refuses if another run moved the
/// installed version meanwhile.
async fn record_skip(
    conn: &mut Conn,
    target: &ConnectionTarget,
    module: &str,
    state: &InstalledState,
    skip: &SkipRequest,
) -> Result<(), DbError> {
    let now = crate::timefmt::now_utc();
    let row = NewRow {
        module: module.to_string(),
        version: skip.version.clone(),
        kind: StepKind::Migration,
        checksum: None,
        status: RunStatus::Skipped,
        started_at: now.clone(),
        finished_at: Some(now),
        duration_ms: Some(0),
        error: Some(skip.reason.clone()),
        covered_by: None,
        previous_checksum: None,
        runner: Some(crate::runlock::this_runner()),
        statement_count: None,
    };
    let err = |e: &sqlx::Error| target.sql_error(format!("recording {} as skipped", skip.version), e);
    conn.begin().await.map_err(|e| err(&e))?;
    let result = async {
        conn.lock_step().await?;
        let found = conn.module_version(module).await?;
        if found != state.version {
            return Ok(Some(found));
        }
        conn.set_module_version(module, &skip.version).await?;
        conn.insert_history(&row).await?;
        Ok::<_, sqlx::Error>(None)
    }
    .await;
    match result {
        Ok(None) => conn.execute("COMMIT").await.map_err(|e| err(&e)),
        Ok(Some(found)) => {
            let _ = conn.execute("ROLLBACK").await;
            Err(DbError::Raced {
                module: module.to_string(),
                expected: state.version.clone().unwrap_or_else(|| "nothing".into()),
                found: found.unwrap_or_else(|| "nothing".into()),
            })
        }
        Err(e) => {
            let _ = conn.execute("ROLLBACK").await;
            Err(err(&e))
        }
    }
}
