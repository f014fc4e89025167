//! `strata create-repair-migration`: introspect the live database, diff it against a version's
//! `definition.json`, and write `repair-migration/<name>.sql` (spec §8.3).
//!
//! Beyond Serverpod: the database is read directly (no running server), only the configured
//! schema is ever read or touched, every dropped table is named, objects strata cannot
//! represent are never dropped as a side effect without `--force` (and tables referenced from
//! other schemas never), columns of unknown type are left alone instead of recreated, and a
//! rollback to an older version says plainly that data is not restored.

use std::path::Path;

use anyhow::Context;
use strata_introspect::repair::{
    removed_modules, repair_guards, repair_source, versions_mismatch, RepairNote,
};
use strata_introspect::{drift_report, IntrospectOptions, WarningKind, REPAIR_MODULE};
use strata_project::{now_from_env, version_name, write_file_atomic, MigrationsDir, ProjectConfig};
use strata_schema::MigrationVersion;
use strata_sql::{migration_sql, MigrationSqlInput};

use crate::commands::apply::ConnArgs;
use crate::commands::live::{print_warnings, read_target};
use crate::exit;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Target version (default: the latest). An older version rolls the schema back; data is
    /// not restored.
    #[arg(long, short = 'v', value_name = "VERSION")]
    pub version: Option<String>,
    /// Tag appended to the repair migration's name.
    #[arg(long, short = 't', value_name = "TAG")]
    pub tag: Option<String>,
    /// Write the file despite warnings, or even when nothing differs.
    #[arg(long, short = 'f')]
    pub force: bool,
    /// The PostgreSQL schema to repair (the one the project's tables live in). Nothing outside
    /// it is read or changed.
    #[arg(long, value_name = "SCHEMA", default_value = "public")]
    pub schema: String,
}

pub fn run(project_dir: &Path, args: Args) -> anyhow::Result<u8> {
    let cfg = ProjectConfig::load(project_dir)?;
    let project = crate::commands::apply::load_project(project_dir)?;
    if let Some(tag) = &args.tag {
        strata_project::validate_tag(tag)?;
    }
    let migrations = MigrationsDir::new(&cfg.migrations_dir);
    let versions = migrations.versions()?;
    let Some(latest) = versions.last().cloned() else {
        anyhow::bail!("Unable to find any migration versions.");
    };
    let version = match &args.version {
        Some(v) if versions.contains(v) => v.clone(),
        Some(v) => anyhow::bail!(
            "Unable to find the specified target migration \"{v}\". Available versions: [{}].",
            versions.join(", ")
        ),
        None => latest.clone(),
    };
    let target_def = migrations.read_definition(&version)?;

    let target = crate::commands::apply::resolve(&project, &args.conn)?;
    say!("database: {target}");
    let read = read_target(&target, &IntrospectOptions::with_schemas([args.schema.clone()]))?;
    let live = &read.introspection;
    print_warnings(live);

    let (source, notes) = repair_source(live, &target_def);
    let migration = strata_diff::generate_migration(&source, &target_def);
    let report = drift_report(&source, &target_def, "the database", &version);
    say_raw!("{report}");
    if version != latest {
        say!(
            "Target {version} is older than the latest version {latest}: this is a schema ROLLBACK. \
             Tables and columns added after {version} are dropped; their data is NOT restored."
        );
    }
    for n in &notes {
        say!("note: {n}");
    }

    // Tables referenced from outside the repaired schema are never dropped: the CASCADE would
    // reach into a schema strata must not touch. --force does not override this.
    let dropped = strata_introspect::repair::dropped_tables(&migration);
    let reaching_out: Vec<String> = live
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::InboundForeignKey && dropped.iter().any(|t| w.depends_on_table(t)))
        .map(|w| w.to_string())
        .collect();
    if !reaching_out.is_empty() {
        say!("Repair refused: it would drop tables that other schemas reference:");
        for r in &reaching_out {
            say!("  - {r}");
        }
        say!("Drop those foreign keys yourself first; --force does not override this.");
        return Ok(exit::BLOCKED);
    }

    let mismatch = versions_mismatch(&live.installed_versions, &target_def.installed_modules);
    if migration.actions.is_empty() && !mismatch && !args.force {
        say!("No changes detected. Use --force to create an empty repair migration.");
        return Ok(exit::ERROR);
    }

    let mut warnings: Vec<RepairNote> = migration
        .warnings
        .iter()
        .map(|w| RepairNote { blocking: true, message: w.message.clone() })
        .collect();
    warnings.extend(repair_guards(&migration, live));
    // Round-trip check before writing: the schema the repair produces must diff as empty
    // against the target, or the repair is not worth applying.
    let after = strata_diff::apply_migration(&source, &migration);
    if !strata_diff::generate_migration(&after, &target_def).actions.is_empty() {
        let rest = drift_report(&after, &target_def, "the repaired database", &version);
        warnings.push(RepairNote {
            blocking: true,
            message: format!("the repair would not reach {version}; afterwards:\n{rest}"),
        });
    }
    if !warnings.is_empty() {
        say!("Warnings:");
        for w in &warnings {
            say!("  - {w}");
        }
        if !args.force {
            say!("Migration aborted. Use --force to ignore warnings.");
            return Ok(exit::BLOCKED);
        }
    }

    let name = version_name(now_from_env()?, args.tag.as_deref())?;
    let mut installed = target_def.installed_modules.clone();
    installed.push(MigrationVersion::dependency(REPAIR_MODULE, name.clone()));
    let removed = removed_modules(&live.installed_versions, &installed);
    let input = MigrationSqlInput {
        migration: &migration,
        source: &source,
        target: &target_def,
        installed_modules: &installed,
        removed_modules: &removed,
    };
    let sql = migration_sql(read.dialect, &input)?;
    let sql = match &read.schema_scope_sql {
        Some(scope) => scoped_to_schema(&sql, scope),
        None => sql,
    };
    // Bind the file to the database it was computed from (see strata_introspect::fingerprint).
    let fp = strata_introspect::fingerprint::fingerprint(live);
    let mut sql = strata_introspect::fingerprint::fingerprint_line(&args.schema, &fp) + &sql;
    if read.dialect.version_bookkeeping().is_none() {
        // The file records no versions itself (MySQL): the runner reads them from this line.
        let line = strata_db::repairfile::installs_line(
            installed.iter().map(|v| (v.module.as_str(), v.version.as_str())),
        );
        sql.insert_str(sql.find('\n').map_or(0, |i| i + 1), &line);
    }

    let path = cfg.repair_dir.join(format!("{name}.sql"));
    std::fs::create_dir_all(&cfg.repair_dir)
        .with_context(|| format!("creating {}", cfg.repair_dir.display()))?;
    write_file_atomic(&path, sql.as_bytes())?;
    // At most one repair migration exists: the runner applies "the" file.
    for entry in std::fs::read_dir(&cfg.repair_dir)?.flatten() {
        let p = entry.path();
        if p != path && p.extension().is_some_and(|e| e == "sql") {
            std::fs::remove_file(&p).with_context(|| format!("removing the earlier {}", p.display()))?;
        }
    }
    say!("Repair migration created: {}", cfg.display_path(&path).display());
    say!("Done.");
    Ok(exit::OK)
}

/// strata's SQL never qualifies names; the scope statement (PostgreSQL: `SET LOCAL
/// search_path`) right after `BEGIN;` makes every statement act on the schema that was inspected,
/// whatever the role's default path.
fn scoped_to_schema(sql: &str, scope: &str) -> String {
    match sql.find("BEGIN;\n") {
        Some(i) => format!("{}BEGIN;\n{scope}\n{}", &sql[..i], &sql[i + "BEGIN;\n".len()..]),
        None => format!("{scope}\n{sql}"),
    }
}

#[cfg(test)]
mod tests {
    use super::scoped_to_schema;
    use strata_introspect::postgres::search_path_sql;

    #[test]
    fn search_path_is_pinned_inside_the_transaction() {
        assert_eq!(
            scoped_to_schema("BEGIN;\n\nX;\nCOMMIT;\n", &search_path_sql("public")),
            "BEGIN;\nSET LOCAL search_path TO \"public\";\n\nX;\nCOMMIT;\n"
        );
        assert_eq!(
            scoped_to_schema("BEGIN;\nX;\n", &search_path_sql("app")),
            "BEGIN;\nSET LOCAL search_path TO \"app\", \"public\";\nX;\n"
        );
    }
}
