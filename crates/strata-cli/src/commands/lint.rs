//! `strata lint`: the hazards of migration files (generated or hand-edited), each with a stable
//! code (docs/lint.md). Findings are the product and go to stdout as text, JSON or GitHub
//! annotations; the summary goes to stderr.
//!
//! Exit codes: 0 no findings (info ones do not count), 2 findings, 1 the lint could not run.

use std::path::Path;

use anyhow::{bail, Context};
use strata_lint::render::{self, FileReport};
use strata_lint::{LintInput, RuleSet, Severity};
use strata_project::migrations::MIGRATION_SQL;
use strata_project::{MigrationsDir, ProjectConfig, ProjectError, SqlFile};
use strata_schema::DatabaseDefinition;

use crate::exit;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Versions to lint (directory names under migrations/). Default: the latest version.
    #[arg(value_name = "VERSION", conflicts_with_all = ["all", "since"])]
    pub versions: Vec<String>,
    /// Lint every version.
    #[arg(long, conflicts_with = "since")]
    pub all: bool,
    /// Lint the versions after V (not V itself).
    #[arg(long, value_name = "V")]
    pub since: Option<String>,
    /// Output format: text (file:line:column: severity CODE message), json, or github
    /// (workflow-command annotations).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json", "github"])]
    pub format: String,
    /// With --database-url or --mode: also check each version the database has not applied yet
    /// against its live data (docs/preflight.md); what the data shows is attached to the findings.
    #[command(flatten)]
    pub conn: crate::commands::apply::ConnArgs,
    #[command(flatten)]
    pub preflight: crate::commands::preflight::PreflightArgs,
}

pub fn run(project_dir: &Path, args: Args) -> anyhow::Result<u8> {
    let config = ProjectConfig::load(project_dir)?;
    let dialect = RuleSet::from_name(&config.dialect)?;
    let dir = MigrationsDir::new(&config.migrations_dir);
    let versions = dir.versions()?;
    let selected = select(&versions, &args, &config)?;
    let mut files = Vec::with_capacity(selected.len());
    for version in &selected {
        files.push(lint_version(&config, &dir, dialect, &versions, version)?);
    }
    let mut data_blocks = false;
    if args.conn.database_url.is_some() || args.conn.mode.is_some() {
        let checked = crate::commands::preflight::for_lint(&config, &selected, &args.conn, &args.preflight)?;
        for file in &mut files {
            if let Some(found) = file.version.as_ref().and_then(|v| checked.get(v)) {
                attach_data(file, found);
                data_blocks |= strata_db::preflight::blocks(found);
            }
        }
    }
    let stdout = match args.format.as_str() {
        "json" => format!("{}\n", render::json(&files)),
        "github" => render::github(&files),
        _ => render::text(&files),
    };
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(stdout.as_bytes());
        let _ = out.flush();
    }
    say_summary(&files);
    Ok(if data_blocks || files.iter().any(|f| f.report.fails()) { exit::DIFFERS } else { exit::OK })
}

/// Puts what the live data shows next to the findings about the same table (and column, when
/// the data is about one): "loses data: 3 values in employee.email".
fn attach_data(file: &mut FileReport, found: &[strata_db::preflight::Finding]) {
    for f in &mut file.report.findings {
        let Some(table) = f.table.as_deref() else { continue };
        let notes: Vec<&str> = found
            .iter()
            .filter(|d| d.table == table)
            .filter(|d| match (f.column_name.as_deref(), d.object.split_once('.')) {
                (Some(column), Some((_, object_column))) => column == object_column,
                _ => true,
            })
            .map(|d| d.message.as_str())
            .collect();
        if !notes.is_empty() {
            f.data = Some(notes.join("; "));
        }
    }
}

/// The versions the arguments name, in order; every named version must exist.
fn select(versions: &[String], args: &Args, config: &ProjectConfig) -> anyhow::Result<Vec<String>> {
    let shown = config.display_path(&config.migrations_dir);
    let known = |v: &str| -> anyhow::Result<()> {
        if versions.iter().any(|x| x == v) {
            Ok(())
        } else {
            bail!(
                "there is no version \"{v}\" in {}; `strata status` lists the versions (give directory names such as {})",
                shown.display(),
                versions.last().map(String::as_str).unwrap_or("20260101000000000-initial")
            )
        }
    };
    if args.all {
        return Ok(versions.to_vec());
    }
    if let Some(since) = &args.since {
        known(since)?;
        return Ok(versions.iter().filter(|v| v.as_str() > since.as_str()).cloned().collect());
    }
    if !args.versions.is_empty() {
        for v in &args.versions {
            known(v)?;
        }
        let mut chosen = args.versions.clone();
        chosen.sort();
        chosen.dedup();
        return Ok(chosen);
    }
    Ok(versions.last().cloned().into_iter().collect())
}

/// Lints one version's `migration.sql`, after the previous version's `definition.json`.
fn lint_version(
    config: &ProjectConfig,
    dir: &MigrationsDir,
    dialect: RuleSet,
    versions: &[String],
    version: &str,
) -> anyhow::Result<FileReport> {
    let path = dir.version_path(version).join(MIGRATION_SQL);
    let shown = config.display_path(&path).display().to_string();
    let sql = dir.read_sql(version, SqlFile::Migration).with_context(|| format!("cannot lint {shown}"))?;
    let previous = previous_definition(dir, versions, version)?;
    Ok(lint_text(dialect, &sql, previous.as_ref(), shown, Some(version.to_string())))
}

/// Lints SQL text (also used by `create-migration` for the file it writes or would write).
pub fn lint_text(
    dialect: RuleSet,
    sql: &str,
    previous: Option<&DatabaseDefinition>,
    file: String,
    version: Option<String>,
) -> FileReport {
    let report = strata_lint::lint(&LintInput { dialect, sql, previous });
    FileReport { file, version, report }
}

/// The `definition.json` of the version before `version`: `None` for the first version, or
/// when that version has none (legacy directories); unreadable or invalid is an error.
pub fn previous_definition(
    dir: &MigrationsDir,
    versions: &[String],
    version: &str,
) -> anyhow::Result<Option<DatabaseDefinition>> {
    let Some(before) = versions.iter().rfind(|v| v.as_str() < version) else { return Ok(None) };
    match dir.read_definition(before) {
        Ok(definition) => Ok(Some(definition)),
        Err(ProjectError::MissingArtifact { .. }) => Ok(None),
        Err(e) => Err(e)
            .context(format!("cannot read the definition of {before}, which the lint of {version} needs")),
    }
}

/// One stderr line: how many findings of each severity, and how many were suppressed.
fn say_summary(files: &[FileReport]) {
    let count =
        |s: Severity| files.iter().flat_map(|f| &f.report.findings).filter(|f| f.severity() == s).count();
    let suppressed: usize = files.iter().map(|f| f.report.suppressed.len()).sum();
    let (errors, warnings, infos) = (count(Severity::Error), count(Severity::Warning), count(Severity::Info));
    let linted = match files.len() {
        0 => "no migration versions to lint".to_string(),
        1 => "1 migration file".to_string(),
        n => format!("{n} migration files"),
    };
    if errors + warnings + infos == 0 {
        say!("lint: {linted}: no findings ({suppressed} suppressed).");
    } else {
        say!(
            "lint: {linted}: {errors} error(s), {warnings} warning(s), {infos} info ({suppressed} suppressed). \
             Codes are explained in docs/lint.md; suppress a reviewed one with `-- strata:ignore CODE reason`."
        );
    }
}

/// What `create-migration` shows next to Serverpod's warnings: the lint findings of the
/// `migration.sql` it wrote (or, when blocked, would write), on stderr, in `lint`'s text form.
pub fn say_findings_of_new_version(config: &ProjectConfig, version: &str, sql: &[u8], written: bool) {
    let Ok(dialect) = RuleSet::from_name(&config.dialect) else { return };
    let dir = MigrationsDir::new(&config.migrations_dir);
    let previous =
        dir.versions().ok().and_then(|versions| previous_definition(&dir, &versions, version).ok().flatten());
    let path = config.display_path(&dir.version_path(version).join(MIGRATION_SQL)).display().to_string();
    let file = lint_text(dialect, &String::from_utf8_lossy(sql), previous.as_ref(), path.clone(), None);
    if file.report.findings.is_empty() {
        return;
    }
    let state = if written { "" } else { " (not written)" };
    say!("Lint findings of {path}{state} (codes in docs/lint.md; `strata lint` shows them again):");
    for f in &file.report.findings {
        say!("  {}", render::text_line(&path, f));
    }
}
