//! `strata create-migration`: diff the models against the latest migration and write a new
//! version directory (atomically), or explain why not.
//!
//! Exit codes: 0 created or nothing to do, 3 blocked by warnings (use `--force`) or by rename
//! candidates nobody decided (`--rename` / `--no-rename`, or answer on a terminal), 1 on any
//! error (invalid models, corrupt migrations, bad tag, existing directory). With `--check`
//! nothing is written and 2 means "the models have changes without a migration" (a CI gate).

use std::path::Path;

use anyhow::Context as _;

use serde_json::json;
use std::io::{BufRead as _, IsTerminal as _};
use strata_diff::{Rename, RenameCandidate, RenamePlan};
use strata_project::migrations::MIGRATION_SQL as MIGRATION_SQL_FILE;
use strata_project::{
    create_migration, now_from_env, validate_tag, CreateOptions, CreateReport, PlanOutcome, ProjectConfig,
    ProjectError,
};
use strata_schema::MigrationWarning;

use crate::exit;

#[derive(clap::Args)]
pub struct Args {
    /// Suffix for the version name: lowercase letters, numbers and single dashes.
    #[arg(short = 't', long)]
    pub tag: Option<String>,
    /// Create the migration even if it has warnings (possible data loss).
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Create the migration even if there are no database changes.
    #[arg(long)]
    pub empty: bool,
    /// Print what would be written (file names and migration.sql) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write nothing; exit 2 if the models need a new migration, 0 if they do not (for CI).
    #[arg(long, conflicts_with_all = ["force", "empty", "dry_run"])]
    pub check: bool,
    /// Print the outcome as one JSON object on stdout (errors still go to stderr as text,
    /// with exit 1).
    #[arg(long)]
    pub json: bool,
    /// With --database-url or --mode: check the new migration against that database's live
    /// data first (docs/preflight.md).
    #[command(flatten)]
    pub conn: crate::commands::apply::ConnArgs,
    #[command(flatten)]
    pub preflight: crate::commands::preflight::PreflightArgs,
    /// Rename a table (`old=new`) or a column (`table.old=table.new`) instead of dropping it
    /// and adding the new one, keeping its rows (repeatable; see docs/renames.md).
    #[arg(long = "rename", value_name = "OLD=NEW")]
    pub renames: Vec<String>,
    /// Drop and add the tables and columns that look renamed but have no --rename
    /// (Serverpod's behaviour: data loss, so --force is needed too).
    #[arg(long)]
    pub no_rename: bool,
    /// Also scaffold `background/<NAME>.sql` in the new version: a commented, valid background
    /// job template (docs/background.md). Creates the version even without schema changes.
    #[arg(long, value_name = "NAME")]
    pub background: Option<String>,
}

pub fn run(project_dir: &Path, args: Args) -> anyhow::Result<u8> {
    if let Some(tag) = &args.tag {
        validate_tag(tag)?;
    }
    if let Some(name) = &args.background {
        strata_db::background::validate_job_name(name).map_err(|m| anyhow::anyhow!("--background: {m}"))?;
    }
    let config = ProjectConfig::load(project_dir)?;
    let now = now_from_env()?;
    let mut options = CreateOptions {
        force: args.force || args.preflight.force_data,
        empty: args.empty || args.background.is_some(),
        tag: args.tag.clone(),
        dry_run: args.dry_run || args.check,
        renames: RenamePlan {
            renames: args.renames.iter().map(|r| Rename::parse(r)).collect::<Result<_, _>>()?,
        },
        no_rename: args.no_rename,
    };

    // Undecided renames are asked about on a terminal first, so that the preflight and the real
    // run both see the answers.
    if !args.json && !args.check && can_ask() {
        let probe = create_migration(&config, &CreateOptions { dry_run: true, ..options.clone() }, now);
        if let Ok(PlanOutcome::Blocked { renames, .. }) = probe.as_ref().map(|r| &r.outcome) {
            if !renames.is_empty() {
                options.renames.renames.extend(ask_renames(renames)?);
                // Every candidate got an answer: the declined ones are drop + add.
                options.no_rename = true;
            }
        }
    }

    let live = args.conn.database_url.is_some() || args.conn.mode.is_some();
    let preflight = if live {
        Some(crate::commands::preflight::before_create(&config, &options, now, &args.conn, &args.preflight)?)
    } else {
        None
    };
    if let Some(outcome) = preflight.as_ref().filter(|o| o.blocked && !args.check) {
        crate::commands::preflight::say_create_blocked();
        if args.json {
            println!(
                "{}",
                json!({"outcome": "blocked_by_data", "written": false, "preflight": outcome.findings})
            );
        }
        return Ok(exit::BLOCKED);
    }

    let report = match create_migration(&config, &options, now) {
        Ok(r) => r,
        Err(ProjectError::InvalidModels(diagnostics)) => {
            for d in &diagnostics.0 {
                eprintln!("{}:{}:{}: {}", d.path.display(), d.line, d.column, d.message);
            }
            eprintln!(
                "error: Unable to generate database definition for project: {} error(s) in model files.",
                diagnostics.0.len()
            );
            return Ok(exit::ERROR);
        }
        Err(e) => return Err(e.into()),
    };

    let broken_chain = report.registry_issues.iter().any(|i| i.breaks_lineage());
    let code =
        if args.check && broken_chain { exit::DIFFERS } else { exit_code(&report.outcome, args.check) };
    if args.json {
        let mut out = json_report(&config, &report, &args);
        if let Some(outcome) = &preflight {
            out["preflight"] = json!(outcome.findings);
        }
        println!("{out}");
    } else {
        print_text(&config, &report, &args);
    }
    if let (Some(dir), Some(name)) = (&report.written, &args.background) {
        write_background_template(&config, dir, name)?;
    }
    say_lint_findings(&config, &report, &options, now);
    Ok(code)
}

/// The lint findings of a migration that has warnings (blocked, or forced), so the user sees
/// the same codes `strata lint` reports. A blocked plan has no SQL yet: it is planned again as
/// a forced dry run, which writes nothing.
fn say_lint_findings(
    config: &ProjectConfig,
    report: &CreateReport,
    options: &CreateOptions,
    now: std::time::SystemTime,
) {
    let planned = match &report.outcome {
        PlanOutcome::Created { warnings, .. } if !warnings.is_empty() => report.outcome.clone(),
        PlanOutcome::Blocked { .. } => {
            let forced = CreateOptions { force: true, dry_run: true, ..options.clone() };
            match create_migration(config, &forced, now) {
                Ok(r) => r.outcome,
                Err(_) => return,
            }
        }
        _ => return,
    };
    if let PlanOutcome::Created { version, files, .. } = planned {
        if let Some((_, sql)) = files.iter().find(|(n, _)| n == MIGRATION_SQL_FILE) {
            super::lint::say_findings_of_new_version(config, &version, sql, report.written.is_some());
        }
    }
}

/// Writes `background/<name>.sql` into the new version (through a temporary file, so a killed
/// run never leaves half a template).
fn write_background_template(config: &ProjectConfig, version_dir: &Path, name: &str) -> anyhow::Result<()> {
    let dir = version_dir.join(strata_db::background::BACKGROUND_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{name}.sql"));
    let temporary = dir.join(format!(".{name}.sql.tmp"));
    std::fs::write(&temporary, strata_db::background::template(name))
        .and_then(|()| std::fs::rename(&temporary, &path))
        .with_context(|| format!("writing {}", path.display()))?;
    say!(
        "Background job template: {} (edit it, then `strata background run {name}` after applying)",
        config.display_path(&path).display()
    );
    Ok(())
}

fn exit_code(outcome: &PlanOutcome, check: bool) -> u8 {
    match outcome {
        PlanOutcome::NoChanges => exit::OK,
        PlanOutcome::Created { .. } | PlanOutcome::Blocked { .. } if check => exit::DIFFERS,
        PlanOutcome::Created { .. } => exit::OK,
        PlanOutcome::Blocked { .. } => exit::BLOCKED,
    }
}

fn print_text(config: &ProjectConfig, report: &CreateReport, args: &Args) {
    let migrations = config.display_path(&config.migrations_dir);
    if !report.pruned.is_empty() {
        let note = if report.pruned_removed {
            "Removed empty migration version directory"
        } else {
            "Ignoring empty migration version directory (removed when a migration is created)"
        };
        eprintln!("warning: {note} in \"{}\": {}.", migrations.display(), report.pruned.join(", "));
    }
    for issue in &report.registry_issues {
        eprintln!("warning: {issue}");
    }
    if args.check && report.registry_issues.iter().any(|i| i.breaks_lineage()) {
        eprintln!(
            "error: --check: the migration chain is broken (see the warning above); fix it before merging."
        );
    }
    for leftover in &report.removed_temporaries {
        eprintln!(
            "Removed {}, left behind by an interrupted create-migration.",
            config.display_path(leftover).display()
        );
    }

    match &report.outcome {
        PlanOutcome::NoChanges => println!("No changes detected."),
        PlanOutcome::Blocked { renames, .. } if !renames.is_empty() => print_undecided_renames(renames),
        PlanOutcome::Blocked { warnings, .. } => {
            print_warnings(warnings);
            if args.check {
                println!(
                    "The models have changes that need a migration (with warnings); nothing was written."
                );
            } else {
                println!(
                    "Migration aborted due to warnings; nothing was written. Review them, then re-run \
                     with --force to create the migration anyway."
                );
            }
        }
        PlanOutcome::Created { version, files, warnings, .. } => {
            if !warnings.is_empty() {
                print_warnings(warnings);
            }
            let shown = migrations.join(version);
            if args.check {
                println!(
                    "The models have changes that need a migration; run `strata create-migration`. \
                     Nothing was written."
                );
            } else if args.dry_run {
                println!("Dry run: would create {}/ with:", shown.display());
                for (name, bytes) in files {
                    println!("  {name} ({} bytes)", bytes.len());
                }
                if let Some((_, sql)) = files.iter().find(|(n, _)| n == MIGRATION_SQL_FILE) {
                    println!("\n--- {MIGRATION_SQL_FILE} ---");
                    print!("{}", String::from_utf8_lossy(sql));
                    if !sql.ends_with(b"\n") {
                        println!();
                    }
                }
                println!("Nothing was written.");
            } else {
                println!("Migration created: {}", shown.display());
            }
        }
    }
}

/// Whether a person can answer the rename questions: stdin and stderr are a terminal.
fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks about each candidate, Django style; a pair whose table or column an earlier "yes"
/// already took is not asked. Returns the accepted renames.
fn ask_renames(candidates: &[RenameCandidate]) -> anyhow::Result<Vec<Rename>> {
    let mut accepted: Vec<Rename> = Vec::new();
    for c in candidates {
        if accepted.iter().any(|a| overlaps(a, &c.rename)) {
            continue;
        }
        say_raw!("Did you rename {}? [y/N] ", c.rename);
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if matches!(line.trim(), "y" | "Y" | "yes" | "Yes") {
            accepted.push(c.rename.clone());
        }
    }
    Ok(accepted)
}

/// Whether two renames move the same object or onto the same name.
fn overlaps(a: &Rename, b: &Rename) -> bool {
    match (a, b) {
        (Rename::Table { from: f1, to: t1 }, Rename::Table { from: f2, to: t2 }) => f1 == f2 || t1 == t2,
        (Rename::Column { table: a, from: f1, to: t1 }, Rename::Column { table: b, from: f2, to: t2 }) => {
            a == b && (f1 == f2 || t1 == t2)
        }
        _ => false,
    }
}

/// The refusal when renames are undecided off a terminal: each candidate and the flag that
/// chooses it.
fn print_undecided_renames(candidates: &[RenameCandidate]) {
    say!("error: these drops may be renames; nothing was written. Decide each one:");
    for c in candidates {
        let note =
            if c.ambiguous { " (ambiguous: it pairs with more than one; pick at most one)" } else { "" };
        say!("  • {}?{note}  --rename {}", c.rename, c.rename.flag());
    }
    say!(
        "Pass --rename for each real rename (it keeps the data), or --no-rename to drop and re-add \
         them (data loss: --force is needed too)."
    );
}

/// One bullet per warning, destructive ones marked, like Serverpod's
/// `Migration warnings:\n  • <message>` block.
fn print_warnings(warnings: &[MigrationWarning]) {
    println!("Migration warnings:");
    for w in warnings {
        let mark = if w.destructive { "[destructive] " } else { "" };
        println!("  • {mark}{}", w.message);
    }
}

/// The outcome as one JSON object, for tools and CI.
fn json_report(config: &ProjectConfig, report: &CreateReport, args: &Args) -> serde_json::Value {
    let warnings_json = |warnings: &[MigrationWarning]| {
        warnings
            .iter()
            .map(|w| {
                json!({
                    "type": w.warning_type.name(),
                    "message": w.message,
                    "table": w.table,
                    "columns": w.columns,
                    "destructive": w.destructive,
                })
            })
            .collect::<Vec<_>>()
    };
    let migrations = config.display_path(&config.migrations_dir);
    let mut out = json!({
        "outcome": match report.outcome {
            PlanOutcome::NoChanges => "no_changes",
            PlanOutcome::Blocked { .. } => "blocked",
            PlanOutcome::Created { .. } => "created",
        },
        "written": report.written.is_some(),
        "pruned": report.pruned,
        "pruned_removed": report.pruned_removed,
        "notices": report.registry_issues.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
        "removed_temporaries": report
            .removed_temporaries
            .iter()
            .map(|p| config.display_path(p).display().to_string())
            .collect::<Vec<_>>(),
        "warnings": [],
    });
    match &report.outcome {
        PlanOutcome::NoChanges => {}
        PlanOutcome::Blocked { warnings, renames, .. } => {
            out["warnings"] = warnings_json(warnings).into();
            out["renames"] = renames
                .iter()
                .map(|c| json!({"rename": c.rename.to_string(), "flag": c.rename.flag(), "ambiguous": c.ambiguous}))
                .collect();
        }
        PlanOutcome::Created { version, files, warnings, .. } => {
            out["warnings"] = warnings_json(warnings).into();
            out["version"] = json!(version);
            out["path"] = json!(migrations.join(version).display().to_string());
            out["files"] =
                files.iter().map(|(name, bytes)| json!({"name": name, "bytes": bytes.len()})).collect();
            if args.dry_run && !args.check {
                if let Some((_, sql)) = files.iter().find(|(n, _)| n == MIGRATION_SQL_FILE) {
                    out["migration_sql"] = json!(String::from_utf8_lossy(sql));
                }
            }
        }
    }
    out
}
