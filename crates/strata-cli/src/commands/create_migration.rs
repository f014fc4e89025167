//! `strata create-migration`: diff the models against the latest migration and write a new
//! version directory (atomically), or explain why not.
//!
//! Exit codes: 0 created or nothing to do, 3 blocked by warnings (use `--force`), 1 on any
//! error (invalid models, corrupt migrations, bad tag, existing directory).

use std::path::Path;

use strata_project::migrations::MIGRATION_SQL as MIGRATION_SQL_FILE;
use strata_project::{
    create_migration, now_from_env, validate_tag, CreateOptions, PlanOutcome, ProjectConfig, ProjectError,
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
}

pub fn run(project_dir: &Path, args: Args) -> anyhow::Result<u8> {
    if let Some(tag) = &args.tag {
        validate_tag(tag)?;
    }
    let config = ProjectConfig::load(project_dir)?;
    let now = now_from_env()?;
    let options =
        CreateOptions { force: args.force, empty: args.empty, tag: args.tag, dry_run: args.dry_run };

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

    if !report.pruned.is_empty() {
        let verb = if args.dry_run { "Would remove" } else { "Removed" };
        eprintln!(
            "warning: {verb} empty migration version directory in \"{}\": {}.",
            config.display_path(&config.migrations_dir).display(),
            report.pruned.join(", ")
        );
    }
    for issue in &report.registry_issues {
        eprintln!("warning: {issue}");
    }

    let migrations = config.display_path(&config.migrations_dir);
    match report.outcome {
        PlanOutcome::NoChanges => {
            println!("No changes detected.");
            Ok(exit::OK)
        }
        PlanOutcome::Blocked { warnings, .. } => {
            print_warnings(&warnings);
            println!(
                "Migration aborted due to warnings; nothing was written. Review them, then re-run with \
                 --force to create the migration anyway."
            );
            Ok(exit::BLOCKED)
        }
        PlanOutcome::Created { version, files, warnings, .. } => {
            if !warnings.is_empty() {
                print_warnings(&warnings);
            }
            let shown = migrations.join(&version);
            if args.dry_run {
                println!("Dry run: would create {}/ with:", shown.display());
                for (name, bytes) in &files {
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
            Ok(exit::OK)
        }
    }
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
