//! `strata background status | run [NAME] | pause NAME | resume NAME | finalize NAME`: batched
//! background data migrations (docs/background.md). `status` prints its table or JSON on stdout;
//! everything else reports on stderr (progress with rate and ETA on a terminal, plain lines
//! otherwise).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use strata_db::background::{self, JobEvent, JobState, JobStatus, RunOutcome};

use super::apply::{fmt_duration, load_project, parse_duration, resolve, runtime, ConnArgs};
use crate::exit;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Every background job with its state and progress. Exit 0 when all are finalized, 2 when
    /// some are not.
    Status {
        #[command(flatten)]
        conn: ConnArgs,
        /// Output format.
        #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// Run the named job to completion, or every job that can run (applied, not paused).
    Run {
        /// The job (its file name under `background/`, without `.sql`).
        name: Option<String>,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Make the job's runner stop at its next batch boundary; `run` skips it until resumed.
    Pause {
        name: String,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Let a paused job run again (`run` continues from its last committed batch).
    Resume {
        name: String,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Run the job to completion (or wait for the runner holding it) and block until it is
    /// finalized.
    Finalize {
        name: String,
        #[command(flatten)]
        conn: ConnArgs,
        /// Give up after this long (e.g. 30s, 10m); without it, wait as long as it takes.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
    },
}

pub fn run(project_dir: &Path, args: Args) -> anyhow::Result<u8> {
    let project = load_project(project_dir)?;
    match args.action {
        Action::Status { conn, format } => {
            let target = resolve(&project, &conn)?;
            let jobs = runtime()?.block_on(background::status(&project, &target))?;
            let text = if format == "json" { render_json(&jobs) } else { render_table(&jobs) };
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            let all_done = jobs.iter().all(|j| j.state() == JobState::Finalized);
            Ok(if all_done { exit::OK } else { exit::DIFFERS })
        }
        Action::Run { name, conn } => {
            let target = resolve(&project, &conn)?;
            say!("database: {target}");
            let mut progress = Progress::new();
            let mut observer = |e: &JobEvent| progress.observe(e);
            let outcomes =
                runtime()?.block_on(background::run(&project, &target, name.as_deref(), &mut observer))?;
            progress.end_line();
            report_outcomes(&outcomes);
            Ok(exit::OK)
        }
        Action::Pause { name, conn } => {
            let target = resolve(&project, &conn)?;
            let before = runtime()?.block_on(background::pause(&project, &target, &name))?;
            say!(
                "paused background job `{name}` (was {}); a runner stops at its next batch boundary",
                before.as_str()
            );
            Ok(exit::OK)
        }
        Action::Resume { name, conn } => {
            let target = resolve(&project, &conn)?;
            runtime()?.block_on(background::resume(&project, &target, &name))?;
            say!("resumed background job `{name}`: `strata background run {name}` continues it from its last committed batch");
            Ok(exit::OK)
        }
        Action::Finalize { name, conn, timeout } => {
            let target = resolve(&project, &conn)?;
            say!("database: {target}");
            let mut progress = Progress::new();
            let mut observer = |e: &JobEvent| progress.observe(e);
            let outcome =
                runtime()?.block_on(background::finalize(&project, &target, &name, timeout, &mut observer));
            progress.end_line();
            report_outcomes(&[(name, outcome?)]);
            Ok(exit::OK)
        }
    }
}

fn report_outcomes(outcomes: &[(String, RunOutcome)]) {
    if outcomes.is_empty() {
        say!("no background jobs");
    }
    for (name, outcome) in outcomes {
        match outcome {
            RunOutcome::Finalized => say!("{name}: finalized"),
            RunOutcome::AlreadyFinalized => say!("{name}: already finalized"),
            RunOutcome::Paused => say!(
                "{name}: paused; stopped at a batch boundary (`strata background resume {name}` to continue)"
            ),
            RunOutcome::Skipped => {}
            RunOutcome::TimedOut => say!("{name}: stopped at a batch boundary (time limit)"),
        }
    }
}

/// Prints runner events: one rewritten line on a terminal, a plain line per second otherwise.
struct Progress {
    tty: bool,
    /// The fraction of the key range done when this run started (for the ETA).
    start_fraction: f64,
    last_print: Option<Instant>,
    line_open: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            start_fraction: 0.0,
            last_print: None,
            line_open: false,
        }
    }

    fn observe(&mut self, e: &JobEvent) {
        match e {
            JobEvent::Started { job, resumed } => {
                self.end_line();
                self.start_fraction = job.fraction_done();
                let range = match (job.range_min, job.range_max) {
                    (Some(a), Some(b)) => format!("keys {a}..={b}"),
                    _ => "an empty table".to_string(),
                };
                let how = if *resumed { "continuing" } else { "starting" };
                say!(
                    "{}: {how} over {range} of {}.{} ({:.1}% done)",
                    job.name,
                    job.table_name,
                    job.key_column,
                    job.fraction_done() * 100.0
                );
            }
            JobEvent::Batch { job, run_rows, run_elapsed, .. } => self.batch(job, *run_rows, *run_elapsed),
            JobEvent::Skipped { name, reason } => {
                self.end_line();
                say!("{name}: skipped: {reason}");
            }
            JobEvent::Waiting { name, holder } => {
                self.end_line();
                say!("{name}: waiting for {holder}, which is running it");
            }
        }
    }

    fn batch(&mut self, job: &strata_db::background::JobRow, run_rows: u64, elapsed: Duration) {
        let done = job.state == JobState::Finalized;
        let due = self.last_print.is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if !done && !due && !self.tty {
            return;
        }
        if !done && !due && self.last_print.is_some_and(|t| t.elapsed() < Duration::from_millis(100)) {
            return;
        }
        self.last_print = Some(Instant::now());
        let line = progress_line(job, run_rows, elapsed, self.start_fraction);
        if self.tty {
            say_raw!("\r\x1b[2K{line}");
            self.line_open = true;
            if done {
                self.end_line();
            }
        } else {
            say!("{line}");
        }
    }

    fn end_line(&mut self) {
        if self.line_open {
            say!("");
            self.line_open = false;
        }
    }
}

/// `fill: 45.2% of keys, batch 46, 452000 rows, 31234 rows/s, ETA 12 s`.
fn progress_line(
    job: &strata_db::background::JobRow,
    run_rows: u64,
    elapsed: Duration,
    start_fraction: f64,
) -> String {
    let fraction = job.fraction_done();
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { run_rows as f64 / secs } else { 0.0 };
    let gained = fraction - start_fraction;
    let eta = if job.state == JobState::Finalized {
        "done".to_string()
    } else if gained > 0.0 {
        format!("ETA {}", fmt_duration(Duration::from_secs_f64(secs * (1.0 - fraction) / gained)))
    } else {
        "ETA unknown".to_string()
    };
    format!(
        "{}: {:.1}% of keys, batch {}, {} rows, {:.0} rows/s, {eta}",
        job.name,
        fraction * 100.0,
        job.batches_done,
        job.rows_affected,
        rate
    )
}

/// The state as shown: `running (interrupted)` when no runner holds a `running` job.
fn shown_state(job: &JobStatus) -> String {
    let mut s = job.state().as_str().to_string();
    if job.interrupted() {
        s.push_str(" (interrupted)");
    }
    if job.modified() {
        s.push_str(" (file modified)");
    }
    if job.file.is_none() {
        s.push_str(" (file missing)");
    }
    if job.row.is_none() && !job.version_applied {
        s.push_str(" (version not applied)");
    }
    s
}

const HEADERS: [&str; 7] = ["Job", "Version", "State", "Done", "Batches", "Rows", "Updated At"];

fn cells(job: &JobStatus) -> [String; 7] {
    let row = job.row.as_ref();
    [
        job.name.clone(),
        job.version.clone(),
        shown_state(job),
        row.map(|r| format!("{:.1}%", r.fraction_done() * 100.0)).unwrap_or_else(|| "0.0%".into()),
        row.map(|r| r.batches_done.to_string()).unwrap_or_else(|| "0".into()),
        row.map(|r| r.rows_affected.to_string()).unwrap_or_else(|| "0".into()),
        row.and_then(|r| r.updated_at.clone()).unwrap_or_default(),
    ]
}

fn render_table(jobs: &[JobStatus]) -> String {
    if jobs.is_empty() {
        return "no background jobs (they are migrations/<version>/background/<name>.sql files)\n".into();
    }
    let rows: Vec<Vec<String>> = jobs.iter().map(|j| cells(j).to_vec()).collect();
    let mut out = super::status::aligned_table(&HEADERS, &rows);
    for job in jobs {
        if let Some(e) =
            job.row.as_ref().and_then(|r| r.error.as_deref()).filter(|_| job.state() == JobState::Failed)
        {
            out.push_str(&format!("  {}: {e}\n", job.name));
        }
        if let Some(h) = &job.live {
            out.push_str(&format!("  {}: being run by {h}\n", job.name));
        }
    }
    out
}

fn render_json(jobs: &[JobStatus]) -> String {
    let list: Vec<serde_json::Value> = jobs
        .iter()
        .map(|j| {
            let r = j.row.as_ref();
            serde_json::json!({
                "name": j.name,
                "version": j.version,
                "state": j.state().as_str(),
                "interrupted": j.interrupted(),
                "runner_alive": j.live.is_some(),
                "file": j.file.as_ref().map(|f| f.path.display().to_string()),
                "file_modified": j.modified(),
                "version_applied": j.version_applied,
                "table": r.map(|r| r.table_name.clone()).or_else(|| j.file.as_ref().map(|f| f.table.join("."))),
                "key": r.map(|r| r.key_column.clone()).or_else(|| j.file.as_ref().map(|f| f.key.clone())),
                "batch_size": j.file.as_ref().map(|f| f.batch_size),
                "range_min": r.and_then(|r| r.range_min),
                "range_max": r.and_then(|r| r.range_max),
                "last_bound": r.and_then(|r| r.last_bound),
                "fraction_done": r.map(|r| r.fraction_done()).unwrap_or(0.0),
                "batches_done": r.map(|r| r.batches_done).unwrap_or(0),
                "rows_affected": r.map(|r| r.rows_affected).unwrap_or(0),
                "error": r.and_then(|r| r.error.clone()),
                "runner": r.and_then(|r| r.runner.clone()),
                "started_at": r.and_then(|r| r.started_at.clone()),
                "updated_at": r.and_then(|r| r.updated_at.clone()),
                "finished_at": r.and_then(|r| r.finished_at.clone()),
            })
        })
        .collect();
    let all_done = jobs.iter().all(|j| j.state() == JobState::Finalized);
    let v = serde_json::json!({ "all_finalized": all_done, "jobs": list });
    format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_db::background::JobRow;

    fn row(last: Option<i64>, state: JobState) -> JobRow {
        JobRow {
            name: "fill".into(),
            version: "v1".into(),
            checksum: "c".into(),
            table_name: "item".into(),
            key_column: "id".into(),
            range_min: Some(1),
            range_max: Some(1000),
            last_bound: last,
            batches_done: 5,
            rows_affected: 500,
            state,
            error: Some("boom".into()),
            runner: None,
            started_at: None,
            updated_at: Some("2026-01-01 00:00:00.000".into()),
            finished_at: None,
        }
    }

    #[test]
    fn progress_shows_share_rate_and_eta() {
        // 25% done at the start of this run, 50% now after 10 s: 20 s to go.
        let line = progress_line(&row(Some(500), JobState::Running), 250, Duration::from_secs(10), 0.25);
        assert_eq!(line, "fill: 50.0% of keys, batch 5, 500 rows, 25 rows/s, ETA 20.00 s");
        let done = progress_line(&row(Some(1000), JobState::Finalized), 0, Duration::ZERO, 1.0);
        assert!(done.ends_with("0 rows/s, done"), "{done}");
    }

    #[test]
    fn status_table_and_json() {
        let job = |state, live: Option<&str>| JobStatus {
            name: "fill".into(),
            version: "v1".into(),
            file: None,
            row: Some(row(Some(250), state)),
            live: live.map(str::to_string),
            version_applied: true,
        };
        let t = render_table(&[job(JobState::Running, None)]);
        assert!(t.starts_with("Job  | Version | State"), "{t}");
        assert!(t.contains("running (interrupted) (file missing) | 25.0%"), "{t}");
        let t = render_table(&[job(JobState::Failed, Some("backend pid 7"))]);
        assert!(t.contains("  fill: boom\n") && t.contains("  fill: being run by backend pid 7"), "{t}");
        let v: serde_json::Value =
            serde_json::from_str(&render_json(&[job(JobState::Running, None)])).unwrap();
        assert_eq!(
            (v["all_finalized"].clone(), v["jobs"][0]["interrupted"].clone()),
            (false.into(), true.into())
        );
        assert_eq!(v["jobs"][0]["fraction_done"], 0.25);
        assert!(render_table(&[]).starts_with("no background jobs"));
    }
}
