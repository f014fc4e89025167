//! `strata status`: every migration version on disk and in the database, with its state.
//! Exit 0 when up to date, 2 when something is pending, failed or modified, 1 on error.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use strata_db::{StatusReport, StatusRow, StepKind, VersionState};

use strata_project::ProjectConfig;

use super::apply::{fmt_duration, project_of, resolve, runtime, ConnArgs};
use crate::exit;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "table", value_parser = ["table", "json", "md", "csv"])]
    pub format: String,
    #[command(flatten)]
    pub fleet: crate::commands::fleet::FleetArgs,
}

const HEADERS: [&str; 6] = ["Version", "Dialect", "Started At", "Finished At", "Duration", "Status"];

fn cells(r: &StatusRow) -> [String; 6] {
    let version =
        if r.kind == Some(StepKind::Repair) { format!("{} (repair)", r.version) } else { r.version.clone() };
    let status = match (r.state, r.kind) {
        (VersionState::Applied, Some(StepKind::Definition)) => "applied (definition)".to_string(),
        (s, _) => s.as_str().to_string(),
    };
    [
        version,
        r.dialect.clone(),
        r.started_at.clone().unwrap_or_default(),
        r.finished_at.clone().unwrap_or_default(),
        r.duration_ms.map(|ms| fmt_duration(Duration::from_millis(ms.max(0) as u64))).unwrap_or_default(),
        status,
    ]
}

fn table(report: &StatusReport) -> String {
    let rows: Vec<Vec<String>> = report.rows.iter().map(|r| cells(r).to_vec()).collect();
    aligned_table(&HEADERS, &rows)
}

/// A text table: each column padded to its widest cell, ` | ` between columns, a `-+-` rule
/// under the headers (also `strata background status`'s).
pub fn aligned_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String]| {
        let padded: Vec<String> = cols.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("{}\n", padded.join(" | ").trim_end())
    };
    let mut out = line(&headers.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    out.push_str(&format!("{}\n", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-")));
    for r in rows {
        out.push_str(&line(r));
    }
    out
}

fn notes(report: &StatusReport) -> String {
    let mut out = String::new();
    for r in report.rows.iter().filter(|r| r.detail.is_some()) {
        out.push_str(&format!("  {}: {}\n", r.version, r.detail.as_deref().unwrap_or("")));
    }
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn render(report: &StatusReport, format: &str, database: &str) -> String {
    match format {
        "json" => {
            let versions: Vec<serde_json::Value> = report
                .rows
                .iter()
                .map(|r| {
                    let mut v = serde_json::json!({
                        "version": r.version,
                        "kind": r.kind.map(|k| k.as_str()),
                        "dialect": r.dialect,
                        "started_at": r.started_at,
                        "finished_at": r.finished_at,
                        "duration_ms": r.duration_ms,
                        "status": r.state.as_str(),
                        "detail": r.detail,
                    });
                    // Only attempts run statement by statement (MySQL) have per-statement progress.
                    if let Some(p) = &r.progress {
                        v["statements"] = serde_json::json!({
                            "count": p.count,
                            "done": p.done,
                            "failed": p.failed,
                        });
                    }
                    v
                })
                .collect();
            let v = serde_json::json!({
                "rolled_back_by": report.rolled_back_by,
                "database": database,
                "module": report.module,
                "installed": report.installed,
                "latest": report.latest,
                "up_to_date": report.up_to_date(),
                "versions": versions,
            });
            format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
        }
        "md" => {
            let mut out = format!("| {} |\n|{}|\n", HEADERS.join(" | "), HEADERS.map(|_| "---").join("|"));
            for r in &report.rows {
                let c = cells(r).map(|c| md_escape(&c));
                out.push_str(&format!("| {} |\n", c.join(" | ")));
            }
            let n = notes(report);
            if !n.is_empty() {
                out.push('\n');
                for l in n.lines() {
                    out.push_str(&format!("- {}\n", md_escape(l.trim())));
                }
            }
            out
        }
        "csv" => {
            let mut out =
                "version,kind,dialect,started_at,finished_at,duration_ms,status,detail\n".to_string();
            for r in &report.rows {
                let f = [
                    r.version.clone(),
                    r.kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
                    r.dialect.clone(),
                    r.started_at.clone().unwrap_or_default(),
                    r.finished_at.clone().unwrap_or_default(),
                    r.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
                    r.state.as_str().to_string(),
                    r.detail.clone().unwrap_or_default(),
                ];
                out.push_str(&f.iter().map(|x| csv_field(x)).collect::<Vec<_>>().join(","));
                out.push('\n');
            }
            out
        }
        _ => {
            let mut out = format!(
                "database: {database}\nmodule {}: installed {}, latest on disk {} (times in UTC)\n\n",
                report.module,
                report.installed.as_deref().unwrap_or("none"),
                report.latest.as_deref().unwrap_or("none")
            );
            if report.rows.is_empty() {
                out.push_str("no migrations on disk or in the database\n");
            } else {
                out.push_str(&table(report));
            }
            let n = notes(report);
            if !n.is_empty() {
                out.push_str("\nnotes:\n");
                out.push_str(&n);
            }
            if let (Some(repair), Some(v)) = (&report.rolled_back_by, &report.installed) {
                out.push_str(&format!(
                    "\nrolled back to {v} by {repair}; newer versions remain on disk: \
                     `strata apply --repair` keeps the rollback, `strata apply` applies them again\n"
                ));
            }
            let pending = report.rows.iter().filter(|r| r.state.needs_attention()).count();
            out.push_str(&if report.up_to_date() {
                "\nup to date\n".to_string()
            } else if report.installed_missing() {
                String::new()
            } else {
                format!("\n{pending} version(s) need `strata apply`\n")
            });
            out
        }
    }
}

pub fn run(project_dir: &Path, args: Args) -> anyhow::Result<u8> {
    let config = ProjectConfig::load(project_dir)?;
    // Where each module came from, so a missing one is never a surprise.
    eprint!("{}", strata_project::module_report(&config));
    let project = project_of(&config)?;
    args.fleet.check_needs_targets(&[])?;
    if let Some(file) = &args.fleet.targets {
        return crate::commands::fleet::status(
            &project,
            file,
            &args.fleet,
            &args.conn.connect_timeout,
            &args.format,
        );
    }
    let target = resolve(&project, &args.conn)?;
    let report = runtime()?.block_on(strata_db::status(&project, &target))?;
    let database = target.to_string();
    let mut out = std::io::stdout().lock();
    out.write_all(render(&report, &args.format, &database).as_bytes())?;
    out.flush()?;
    if let Some(problem) = &report.problem {
        eprintln!("error: {problem}");
        return Ok(exit::ERROR);
    }
    if report.installed_missing() {
        let v = report.installed.as_deref().unwrap_or("?");
        eprintln!(
            "error: the database has migration version {v} registered for module {}, but it is not found in the project files",
            report.module
        );
        return Ok(exit::ERROR);
    }
    Ok(if report.up_to_date() { exit::OK } else { exit::DIFFERS })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> StatusReport {
        StatusReport {
            module: "shop".into(),
            rolled_back_by: None,
            installed: Some("a".into()),
            latest: Some("b".into()),
            rows: vec![
                StatusRow {
                    version: "a".into(),
                    kind: Some(StepKind::Definition),
                    dialect: "postgres".into(),
                    started_at: Some("2026-01-01 00:00:00.000".into()),
                    finished_at: Some("2026-01-01 00:00:00.012".into()),
                    duration_ms: Some(12),
                    state: VersionState::Applied,
                    detail: None,
                    progress: None,
                },
                StatusRow {
                    version: "b".into(),
                    kind: Some(StepKind::Migration),
                    dialect: "postgres".into(),
                    started_at: None,
                    finished_at: None,
                    duration_ms: None,
                    state: VersionState::Failed,
                    detail: Some("syntax error, at \"x|y\"".into()),
                    progress: None,
                },
            ],
            problem: None,
        }
    }

    #[test]
    fn table_has_the_columns_and_notes() {
        let t = render(&report(), "table", "postgres://u@h/d");
        assert!(t.contains("Version | Dialect  | Started At"), "{t}");
        assert!(t.contains("applied (definition)") && t.contains("12 ms") && t.contains("failed"));
        assert!(t.contains("b: syntax error"));
        assert!(t.contains("1 version(s) need"));
    }

    #[test]
    fn partly_applied_mysql_version_says_which_statements_ran() {
        let mut r = report();
        let detail = "2 of 5 statements done, statement 3 failed: no such table (line 12: `INSERT INTO t`)";
        for row in &mut r.rows {
            row.dialect = "mysql".into();
        }
        r.rows[1].detail = Some(detail.into());
        r.rows[1].progress = Some(strata_db::Progress {
            count: 5,
            done: 2,
            checksums: vec!["a".into(), "b".into()],
            failed: Some(3),
        });
        let t = render(&r, "table", "mysql://u@h/d");
        assert!(t.contains("| mysql ") && t.contains(&format!("b: {detail}")), "{t}");
        let j: serde_json::Value = serde_json::from_str(&render(&r, "json", "db")).unwrap();
        assert_eq!(j["versions"][1]["dialect"], "mysql");
        assert_eq!(j["versions"][1]["detail"], detail);
        assert_eq!(j["versions"][1]["statements"], serde_json::json!({"count": 5, "done": 2, "failed": 3}));
        assert!(j["versions"][0].get("statements").is_none(), "only partly applied rows carry a count");
    }

    #[test]
    fn machine_formats() {
        let j: serde_json::Value = serde_json::from_str(&render(&report(), "json", "db")).unwrap();
        assert_eq!(j["versions"][1]["status"], "failed");
        assert_eq!(j["up_to_date"], false);
        let c = render(&report(), "csv", "db");
        assert!(c.lines().nth(2).unwrap().ends_with(",failed,\"syntax error, at \"\"x|y\"\"\""), "{c}");
        let m = render(&report(), "md", "db");
        assert!(m.starts_with("| Version | Dialect |") && m.contains("x\\|y"), "{m}");
    }
}
