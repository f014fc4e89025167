//! `status`: every version on disk and every version the database knows, with its state.
//! Pure, like the plan: built from the same [`InstalledState`] and disk listing.

use crate::checksum::short;
use crate::disk::{DiskMigration, RepairFile};
use crate::history::{HistoryRow, RunStatus};
use crate::plan::{InstalledState, StepKind};

/// The state of one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionState {
    /// Ran (or was applied outside strata) and its file is unchanged.
    Applied,
    /// Covered by a later version's `definition.sql` on a fresh database.
    Baseline,
    /// Not applied yet.
    Pending,
    /// Not applied; the last attempt failed (the next apply retries it).
    Failed,
    /// Applied, but the file changed since.
    Modified,
    /// Known to the database, but its directory is gone.
    MissingOnDisk,
    /// Older than the installed version but never ran here (merged late): apply refuses until
    /// `--out-of-order`.
    OutOfOrder,
    /// Being applied right now by a run holding the lock.
    Running,
    /// An attempt that started and never finished, with no run holding the lock (the process was
    /// killed or lost its connection); the next apply marks it interrupted and retries it.
    Stale,
    /// Moved past without running its file (`apply --skip-failed V --reason R`). A deliberate,
    /// recorded decision, so it does not make `status` exit 2; the reason is shown.
    Skipped,
}

impl VersionState {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Applied => "applied",
            VersionState::Baseline => "baseline",
            VersionState::Pending => "pending",
            VersionState::Failed => "failed",
            VersionState::Modified => "modified",
            VersionState::MissingOnDisk => "missing on disk",
            VersionState::OutOfOrder => "pending (out of order)",
            VersionState::Running => "running",
            VersionState::Stale => "stale run",
            VersionState::Skipped => "skipped",
        }
    }

    /// States that mean "apply has work to do (or refuses)".
    pub fn needs_attention(self) -> bool {
        matches!(
            self,
            VersionState::Pending
                | VersionState::Failed
                | VersionState::Modified
                | VersionState::MissingOnDisk
                | VersionState::OutOfOrder
                | VersionState::Running
                | VersionState::Stale
        )
    }
}

/// One line of the status table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub version: String,
    /// Which file ran (or will run), when known.
    pub kind: Option<StepKind>,
    pub dialect: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub state: VersionState,
    /// Error text, checksum change, "covered by …", "applied outside strata", …
    pub detail: Option<String>,
    /// For an unfinished attempt run statement by statement: how far it got.
    pub progress: Option<crate::history::Progress>,
}

/// The whole status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub module: String,
    /// The project module's version in `serverpod_migrations`.
    pub installed: Option<String>,
    /// The latest version on disk.
    pub latest: Option<String>,
    /// Migrations in version order, then the repair migration (kind `repair`) if any.
    pub rows: Vec<StatusRow>,
    /// A condition apply would refuse, explained (e.g. a module-name mismatch).
    pub problem: Option<String>,
    /// The repair that rolled the database back to `installed` while newer versions exist on
    /// disk (apply holds them until `--to`).
    pub rolled_back_by: Option<String>,
}

impl StatusReport {
    /// The installed version exists in the database but not on disk: apply would fail.
    pub fn installed_missing(&self) -> bool {
        self.installed.as_ref().is_some_and(|v| {
            self.rows.iter().any(|r| {
                &r.version == v && r.state == VersionState::MissingOnDisk && r.kind != Some(StepKind::Repair)
            })
        })
    }

    /// Nothing pending, failed or modified.
    pub fn up_to_date(&self) -> bool {
        self.problem.is_none()
            && !self.installed_missing()
            && !self.rows.iter().any(|r| r.state.needs_attention())
    }
}

fn from_row(
    version: &str,
    row: Option<&HistoryRow>,
    dialect: &str,
    state: VersionState,
    detail: Option<String>,
) -> StatusRow {
    StatusRow {
        version: version.to_string(),
        kind: row.map(|r| r.kind),
        dialect: row.map(|r| r.dialect.clone()).unwrap_or_else(|| dialect.to_string()),
        started_at: row.map(|r| r.started_at.clone()),
        finished_at: row.and_then(|r| r.finished_at.clone()),
        duration_ms: row.and_then(|r| r.duration_ms),
        progress: row.filter(|r| r.status != RunStatus::Ok).and_then(|r| r.progress.clone()),
        detail: with_progress(row, detail),
        state,
    }
}

/// Puts "2 of 5 statements done, " before the detail of a failed or running attempt that ran
/// statement by statement (finished ones need no count).
fn with_progress(row: Option<&HistoryRow>, detail: Option<String>) -> Option<String> {
    let Some(progress) = row.filter(|r| r.status != RunStatus::Ok).and_then(|r| r.progress.as_ref()) else {
        return detail;
    };
    Some(match detail {
        Some(d) => format!("{}, {d}", progress.summary()),
        None => progress.summary(),
    })
}

/// A version whose last attempt is still `running`: live when a run holds the lock, else stale.
fn running_row(v: &str, r: &HistoryRow, dialect: &str, live: Option<&str>) -> StatusRow {
    let who = r.runner.as_deref().unwrap_or("a strata run");
    match live {
        Some(holder) => {
            let detail = format!("running ({who}, since {} UTC; lock held by {holder})", r.started_at);
            from_row(v, Some(r), dialect, VersionState::Running, Some(detail))
        }
        None => {
            // Run statement by statement, the statements it recorded did commit.
            let outcome = match &r.progress {
                Some(_) => {
                    "the statements it recorded as done committed, and the next apply resumes after them"
                }
                None => "nothing of it committed, and the next apply retries it",
            };
            let detail = format!(
                "stale: {who} started it at {} UTC and never finished (killed, crashed or lost its connection); \
                 {outcome}",
                r.started_at
            );
            from_row(v, Some(r), dialect, VersionState::Stale, Some(detail))
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// Builds the status report. `dialect` is the project's, shown for versions with no history.
pub fn build(
    module: &str,
    dialect: &str,
    installed: &InstalledState,
    disk: &[DiskMigration],
    repair: Option<&RepairFile>,
) -> StatusReport {
    let mut disk: Vec<&DiskMigration> = disk.iter().collect();
    disk.sort_by(|a, b| a.version.cmp(&b.version));
    let inst = installed.version.as_deref();
    let late = installed.out_of_order(module, disk.iter().map(|d| d.version.as_str()));
    let rolled_back_by = installed
        .set_back_by
        .clone()
        .filter(|_| disk.last().is_some_and(|d| inst.is_some_and(|i| d.version.as_str() > i)));
    let mut rows = Vec::new();
    for d in &disk {
        let v = d.version.as_str();
        let applied = inst.is_some_and(|i| v <= i);
        let last = installed.last_attempt(module, v);
        let row = if applied {
            match installed.recorded(module, v) {
                Some(rec) => {
                    let file = match rec.kind {
                        StepKind::Definition => d.definition.as_ref(),
                        _ => d.migration.as_ref(),
                    };
                    let current = file.map(|f| f.checksum.clone());
                    if current != rec.checksum {
                        let detail = match current {
                            Some(c) => format!(
                                "{} changed: recorded {}, now {} (apply --accept-modified {v} to accept)",
                                rec.kind.file_name(),
                                rec.checksum.as_deref().map(short).unwrap_or("none"),
                                short(&c)
                            ),
                            None => format!("{} was deleted", rec.kind.file_name()),
                        };
                        from_row(v, Some(rec), dialect, VersionState::Modified, Some(detail))
                    } else {
                        let detail =
                            (rec.status == RunStatus::Accepted).then(|| "edited file accepted".to_string());
                        from_row(v, Some(rec), dialect, VersionState::Applied, detail)
                    }
                }
                None if installed.skipped(module, v).is_some() => {
                    let r = installed.skipped(module, v);
                    let detail = format!(
                        "skipped: {} (its migration.sql never ran here)",
                        r.and_then(|r| r.error.as_deref()).unwrap_or("no reason given")
                    );
                    from_row(v, r, dialect, VersionState::Skipped, Some(detail))
                }
                None => match installed
                    .history
                    .iter()
                    .rev()
                    .find(|r| r.module == module && r.version == v && r.status == RunStatus::Baseline)
                {
                    Some(b) => {
                        let detail =
                            b.covered_by.as_ref().map(|c| format!("covered by definition.sql of {c}"));
                        from_row(v, Some(b), dialect, VersionState::Baseline, detail)
                    }
                    None if late.iter().any(|l| l == v) => from_row(
                        v,
                        last.filter(|r| r.status == RunStatus::Failed),
                        dialect,
                        VersionState::OutOfOrder,
                        Some(format!(
                            "older than the installed {} but never ran here (merged late); `strata apply --out-of-order` runs it",
                            inst.unwrap_or_default()
                        )),
                    ),
                    None => from_row(
                        v,
                        None,
                        dialect,
                        VersionState::Applied,
                        Some("applied outside strata (no history; older than strata's first record)".into()),
                    ),
                },
            }
        } else {
            match last.filter(|r| matches!(r.status, RunStatus::Failed | RunStatus::Running)) {
                Some(r) if r.status == RunStatus::Running => {
                    running_row(v, r, dialect, installed.live_run.as_deref())
                }
                Some(f) => {
                    let detail = f.error.as_deref().map(first_line);
                    from_row(v, Some(f), dialect, VersionState::Failed, detail)
                }
                None => {
                    let held = rolled_back_by.as_ref().map(|r| {
                        format!("held: {r} rolled the database back; `strata apply --repair` keeps it there, `strata apply` applies it again")
                    });
                    let mut r = from_row(v, None, dialect, VersionState::Pending, held);
                    r.kind = Some(if inst.is_none() { StepKind::Definition } else { StepKind::Migration });
                    if inst.is_none() && Some(d) != disk.last() {
                        r.kind = None;
                    }
                    r
                }
            }
        };
        rows.push(row);
    }
    // Versions the database knows that are not on disk.
    let on_disk = |v: &str| disk.iter().any(|d| d.version == v);
    let mut missing: Vec<String> = installed
        .history
        .iter()
        .filter(|r| r.module == module && !on_disk(&r.version))
        .map(|r| r.version.clone())
        .collect();
    if let Some(i) = inst.filter(|i| !on_disk(i)) {
        missing.push(i.to_string());
    }
    missing.sort();
    missing.dedup();
    for v in missing {
        let last = installed
            .history
            .iter()
            .rev()
            .find(|r| r.module == module && r.version == v && r.status != RunStatus::Failed);
        let detail = if Some(v.as_str()) == inst {
            "installed version; restore its directory".to_string()
        } else {
            "recorded in history; its directory is gone".to_string()
        };
        rows.push(from_row(&v, last, dialect, VersionState::MissingOnDisk, Some(detail)));
    }
    rows.sort_by(|a, b| a.version.cmp(&b.version));

    // The repair migration.
    let repair_row =
        |v: &str| installed.history.iter().rev().find(|r| r.module == crate::REPAIR_MODULE && r.version == v);
    match (repair, installed.repair_version.as_deref()) {
        (Some(r), applied) => {
            let last = repair_row(&r.version);
            let mut row = if applied == Some(r.version.as_str()) {
                from_row(
                    &r.version,
                    last.filter(|x| x.status == RunStatus::Ok),
                    dialect,
                    VersionState::Applied,
                    None,
                )
            } else if let Some(f) = last.filter(|x| x.status == RunStatus::Failed) {
                from_row(
                    &r.version,
                    Some(f),
                    dialect,
                    VersionState::Failed,
                    f.error.as_deref().map(first_line),
                )
            } else {
                from_row(
                    &r.version,
                    None,
                    dialect,
                    VersionState::Pending,
                    Some("apply --repair to run it".into()),
                )
            };
            row.kind = Some(StepKind::Repair);
            rows.push(row);
        }
        (None, Some(applied)) => {
            let mut row = from_row(
                applied,
                repair_row(applied),
                dialect,
                VersionState::Applied,
                Some("repair file no longer present".into()),
            );
            row.kind = Some(StepKind::Repair);
            rows.push(row);
        }
        (None, None) => {}
    }

    StatusReport {
        module: module.to_string(),
        rolled_back_by,
        installed: installed.version.clone(),
        latest: disk.last().map(|d| d.version.clone()),
        rows,
        problem: (installed.version.is_none() && !installed.other_modules.is_empty()).then(|| {
            crate::PlanError::ModuleNotInstalled {
                module: module.to_string(),
                others: installed.other_modules.clone(),
            }
            .to_string()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::SqlFileInfo;

    const M: &str = "shop";

    fn disk(versions: &[&str]) -> Vec<DiskMigration> {
        versions
            .iter()
            .map(|v| DiskMigration {
                version: v.to_string(),
                definition: Some(SqlFileInfo::new("d.sql", format!("BEGIN;\n-- d {v}\nCOMMIT;\n"))),
                migration: Some(SqlFileInfo::new("m.sql", format!("BEGIN;\n-- m {v}\nCOMMIT;\n"))),
            })
            .collect()
    }

    fn row(id: i64, v: &str, kind: StepKind, status: RunStatus, checksum: Option<String>) -> HistoryRow {
        HistoryRow {
            id,
            module: M.into(),
            version: v.into(),
            kind,
            dialect: "postgres".into(),
            checksum,
            status,
            started_at: "2026-01-01 00:00:00.000".into(),
            finished_at: Some("2026-01-01 00:00:00.010".into()),
            duration_ms: Some(10),
            error: (status == RunStatus::Failed).then(|| "syntax error at or near \"SELEC\"\nLINE 1".into()),
            covered_by: (status == RunStatus::Baseline).then(|| "b".into()),
            previous_checksum: None,
            runner: None,
            progress: None,
        }
    }

    fn states(r: &StatusReport) -> Vec<(&str, VersionState)> {
        r.rows.iter().map(|r| (r.version.as_str(), r.state)).collect()
    }

    #[test]
    fn every_state() {
        let d = disk(&["a", "b", "c", "d", "e"]);
        let mig = |i: usize| d[i].migration.as_ref().unwrap().checksum.clone();
        let st = InstalledState {
            version: Some("c".into()),
            repair_version: None,
            other_modules: Vec::new(),
            set_back_by: None,
            live_run: None,
            background_jobs: Default::default(),
            history: vec![
                row(1, "a", StepKind::Definition, RunStatus::Baseline, None),
                row(
                    2,
                    "b",
                    StepKind::Definition,
                    RunStatus::Ok,
                    Some(d[1].definition.as_ref().unwrap().checksum.clone()),
                ),
                row(3, "c", StepKind::Migration, RunStatus::Ok, Some("0".repeat(64))),
                row(4, "d", StepKind::Migration, RunStatus::Failed, None),
                row(5, "0-gone", StepKind::Migration, RunStatus::Ok, Some(mig(0))),
            ],
        };
        let r = build(M, "postgres", &st, &d, None);
        assert_eq!(
            states(&r),
            [
                ("0-gone", VersionState::MissingOnDisk),
                ("a", VersionState::Baseline),
                ("b", VersionState::Applied),
                ("c", VersionState::Modified),
                ("d", VersionState::Failed),
                ("e", VersionState::Pending),
            ]
        );
        assert_eq!(r.rows[4].detail.as_deref(), Some("syntax error at or near \"SELEC\""));
        assert!(r.rows[3].detail.as_deref().unwrap().contains("--accept-modified c"));
        assert!(!r.up_to_date());
        assert!(!r.installed_missing());
        assert_eq!(r.latest.as_deref(), Some("e"));
    }

    #[test]
    fn partly_applied_attempts_say_how_far_they_got() {
        let d = disk(&["a", "b", "c"]);
        let progress = |failed| {
            Some(crate::history::Progress {
                count: 5,
                done: 2,
                checksums: vec!["x".into(), "y".into()],
                failed,
            })
        };
        let mut failed = row(2, "b", StepKind::Migration, RunStatus::Failed, None);
        failed.error = Some("statement 3 failed: no such table (line 12: `INSERT INTO t`)".into());
        failed.progress = progress(Some(3));
        let mut stale = row(3, "c", StepKind::Migration, RunStatus::Running, None);
        stale.progress = progress(None);
        let mut done = row(
            1,
            "a",
            StepKind::Definition,
            RunStatus::Ok,
            Some(d[0].definition.as_ref().unwrap().checksum.clone()),
        );
        done.progress =
            Some(crate::history::Progress { count: 2, done: 2, checksums: Vec::new(), failed: None });
        let st = InstalledState {
            version: Some("a".into()),
            history: vec![done, failed, stale],
            ..Default::default()
        };
        let r = build(M, "mysql", &st, &d, None);
        assert_eq!(
            r.rows[1].detail.as_deref(),
            Some("2 of 5 statements done, statement 3 failed: no such table (line 12: `INSERT INTO t`)")
        );
        let stale = r.rows[2].detail.as_deref().unwrap();
        assert!(
            stale.starts_with("2 of 5 statements done, stale: ") && stale.contains("resumes after them"),
            "{stale}"
        );
        assert_eq!(
            (&r.rows[0].detail, &r.rows[0].progress),
            (&None, &None),
            "a finished attempt needs no count"
        );
    }

    #[test]
    fn up_to_date_and_untracked() {
        let d = disk(&["a", "b"]);
        let st = InstalledState { version: Some("b".into()), ..Default::default() };
        let r = build(M, "sqlite", &st, &d, None);
        assert!(r.up_to_date());
        assert!(r.rows.iter().all(|x| x.state == VersionState::Applied && x.dialect == "sqlite"));
        assert!(r.rows[0].detail.as_deref().unwrap().contains("outside strata"));
    }

    #[test]
    fn fresh_database_marks_definition_for_latest() {
        let d = disk(&["a", "b"]);
        let r = build(M, "postgres", &InstalledState::default(), &d, None);
        assert_eq!(states(&r), [("a", VersionState::Pending), ("b", VersionState::Pending)]);
        assert_eq!(r.rows[1].kind, Some(StepKind::Definition));
        assert_eq!(r.rows[0].kind, None);
    }

    #[test]
    fn installed_missing_is_reported() {
        let d = disk(&["a", "b"]);
        let st = InstalledState { version: Some("aa".into()), ..Default::default() };
        let r = build(M, "postgres", &st, &d, None);
        assert_eq!(
            states(&r),
            [("a", VersionState::Applied), ("aa", VersionState::MissingOnDisk), ("b", VersionState::Pending)]
        );
        assert!(r.installed_missing());
        assert!(!r.up_to_date());
    }

    #[test]
    fn module_mismatch_is_a_problem() {
        let st = InstalledState { other_modules: vec!["other".into()], ..Default::default() };
        let r = build(M, "postgres", &st, &disk(&["a"]), None);
        assert!(r.problem.as_deref().unwrap().contains("other"));
        assert!(!r.up_to_date());
    }

    #[test]
    fn repair_rows() {
        let d = disk(&["a"]);
        let rf = RepairFile { version: "r1".into(), file: SqlFileInfo::new("r1.sql", "BEGIN;\nCOMMIT;\n") };
        let mut st = InstalledState { version: Some("a".into()), ..Default::default() };
        let r = build(M, "postgres", &st, &d, Some(&rf));
        assert_eq!(r.rows.last().unwrap().state, VersionState::Pending);
        assert_eq!(r.rows.last().unwrap().kind, Some(StepKind::Repair));
        assert!(!r.up_to_date());
        st.repair_version = Some("r1".into());
        let r = build(M, "postgres", &st, &d, Some(&rf));
        assert_eq!(r.rows.last().unwrap().state, VersionState::Applied);
        assert!(r.up_to_date());
        let r = build(M, "postgres", &st, &d, None);
        assert_eq!(r.rows.last().unwrap().version, "r1");
    }
}
