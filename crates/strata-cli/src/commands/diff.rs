//! `strata diff --from SIDE --to SIDE`: print the migration that takes one schema to another.
//!
//! A side is a `definition.json` file, a version directory (path or bare version name in the
//! project's migrations directory), `models` (the project's models merged with its modules, as
//! the next version's `definition.json`; `--from latest --to models` previews the next
//! `migration.sql`),
//! `latest` (the newest version), `empty` (no tables), or `db:URL` (a live database).
//!
//! Exit codes follow `diff(1)`: 0 when the schemas are equal, 2 when they differ, 1 on error.
//! Only the SQL or JSON goes to stdout (when equal: no SQL, or the empty migration.json), so
//! `> fix.sql` is a file psql runs; the drift report, "In sync" and the human summary (on a
//! terminal, or with `--summary`) go to stderr.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use strata_db::connection::scrub_urls;
use strata_project::{
    is_version_name, models_definition, now_from_env, version_name, MigrationsDir, ProjectConfig,
    ProjectError,
};
use strata_schema::{
    definition_from_json, migration_to_json, DatabaseDefinition, DatabaseMigration, MigrationAction,
};
use strata_sql::MigrationSqlInput;

use strata_introspect::object_diff::TableChanges;

use crate::commands::live::{Sides, Unrepresented};
use crate::commands::schemas::{Extras, SchemaPlan};
use crate::exit;

/// Output format of the migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `migration.sql` in the project's dialect.
    Sql,
    /// `migration.json`.
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The schema to start from: a definition.json, a version (directory or name), `models`,
    /// `latest`, `empty`, or `db:URL`.
    #[arg(long)]
    pub from: String,
    /// The schema to reach (same forms as --from).
    #[arg(long)]
    pub to: String,
    /// Print the migration as SQL (default) or as migration.json.
    #[arg(long, value_enum, default_value_t = Format::Sql)]
    pub format: Format,
    /// Also print a short human summary to stderr (automatic when stdout is a terminal).
    #[arg(long)]
    pub summary: bool,
    #[command(flatten)]
    pub connect_timeout: crate::commands::live::ConnectTimeout,
    /// Leave objects of this kind alone when comparing a live database (strata cannot diff them,
    /// so by default any that differ make the exit code 2): e.g. `view`, `trigger`,
    /// `check-constraint`, `enum-type`, `function`. Repeat for several.
    #[arg(long, value_name = "KIND")]
    pub ignore: Vec<String>,
    /// Which schemas of a live database to compare (default: public). Between two live
    /// PostgreSQL databases, several (`--schema a,b`) or all of them (`--schema '*'`) are diffed
    /// schema by schema, with `CREATE SCHEMA` and `DROP SCHEMA` for those only one side has.
    #[command(flatten)]
    pub schemas: crate::commands::live::SchemaArgs,
}

pub fn run(project_dir: &Path, args: Args) -> anyhow::Result<u8> {
    // The project is optional: two definition files can be diffed anywhere.
    let config = match ProjectConfig::load(project_dir) {
        Ok(c) => Some(c),
        Err(ProjectError::NotAProject { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(config) = config.as_ref().filter(|_| args.from == "models" || args.to == "models") {
        // Where each module merged into `models` came from.
        eprint!("{}", strata_project::module_report(config));
    }
    check_ignored_kinds(&args.ignore)?;
    let (from_live, to_live) = (args.from.starts_with("db:"), args.to.starts_with("db:"));
    let dialect_name = config.as_ref().map(|c| c.dialect.as_str()).unwrap_or("postgres");
    if args.schemas.several() && !(from_live && to_live && dialect_name == "postgres") {
        bail!(
            "--schema {}: several schemas are diffed between two live PostgreSQL databases only \
             (--from db:URL --to db:URL)",
            args.schemas.schemas.join(",")
        );
    }
    let ([(mut from, mut from_objects), (mut to, mut to_objects)], live_objects) =
        resolve_sides(project_dir, config.as_ref(), &args)?;
    let keep_from_types = !from_live || to_live || !to.types.is_empty();
    let keep_to_types = !to_live || from_live || !from.types.is_empty();
    align_types(&mut from, &mut from_objects, keep_from_types);
    align_types(&mut to, &mut to_objects, keep_to_types);
    if let Some([a, _]) = &live_objects {
        // Ownership of a sequence is the sequence's to set, not the default's (object SQL).
        strata_introspect::catalog_diff::align_serial_defaults(&mut from, &mut to, &a.objects);
    }
    let keep_from_checks = !from_live || to_live || strata_introspect::can_hold_checks(&to);
    let keep_to_checks = !to_live || from_live || strata_introspect::can_hold_checks(&from);
    align_checks(&mut from, &mut from_objects, keep_from_checks);
    align_checks(&mut to, &mut to_objects, keep_to_checks);

    let schema_plan = match &live_objects {
        Some([a, b]) if dialect_name == "postgres" && beyond_public(&a.schemas, &b.schemas) => {
            let left: Vec<Unrepresented> = from_objects
                .iter()
                .filter(|o| !o.has_ddl || args.ignore.contains(&o.kind))
                .cloned()
                .collect();
            Some(SchemaPlan::new(&from, &to, [&a.schemas, &b.schemas], &left))
        }
        _ => None,
    };
    let migration = match &schema_plan {
        Some(plan) => plan.migration(),
        None => strata_diff::generate_migration(&from, &to),
    };
    let types = strata_schema::types::type_plan(&from.types, &to.types);
    let objects = match &live_objects {
        Some([a, b]) if dialect_name == "postgres" => {
            let changes = match &schema_plan {
                Some(plan) => plan.table_changes(),
                None => TableChanges::of(&migration, &from),
            };
            Some(crate::commands::objects::plan(&changes, [(&from, a), (&to, b)], &args.ignore))
        }
        _ => None,
    };
    let show_summary = args.summary || std::io::stdout().is_terminal();
    let live_side = args.from.starts_with("db:") || args.to.starts_with("db:");
    let (from_label, to_label) = side_labels(&args.from, &args.to);
    let (from_label, to_label) = (from_label.as_str(), to_label.as_str());
    let with_ddl = objects.is_some();
    let mut unmatched =
        unmatched_objects(&from_objects, &to_objects, &args.ignore, with_ddl, from_label, to_label);
    if let Some(plan) = &objects {
        crate::commands::objects::report_left_alone(plan, &mut unmatched);
    }
    for line in &unmatched {
        eprintln!("{line}");
    }
    // What the SQL itself creates before the table changes: extensions, and functions
    // (between two live databases).
    let mut created = extensions_created(&to_objects, with_ddl, &args.ignore);
    created.extend(objects.iter().flat_map(|p| p.functions_before.iter().cloned()));
    let blocked = blocked_changes(&migration, &types, [&from_objects, &to_objects], &created, from_label);
    if !blocked.is_empty() {
        eprintln!("Not written: strata cannot write SQL for this migration that would run on {from_label}:");
        for line in &blocked {
            eprintln!("  - {line}");
        }
        eprintln!(
            "Nothing was printed. Make these changes by hand (or on {from_label} first), then diff again."
        );
        return Ok(exit::DIFFERS);
    }
    let objects = objects.filter(|p| !p.is_empty());
    let schemas_match = schema_plan.as_ref().is_none_or(SchemaPlan::is_empty);
    if migration.actions.is_empty() && types.is_empty() && objects.is_none() && schemas_match {
        // stdout stays machine-readable: valid (empty) SQL, or the empty migration.json.
        if args.format == Format::Json {
            println!("{}", migration_to_json(&migration));
        }
        if !unmatched.is_empty() {
            eprintln!(
                "Not in sync: {} object(s) strata cannot diff differ (above); the definitions match. \
                 `--ignore KIND` leaves a kind alone.",
                unmatched.len() - 1
            );
            return Ok(exit::DIFFERS);
        }
        if live_side {
            eprintln!("In sync: {from_label} matches {to_label}.");
        } else if show_summary {
            eprintln!("No differences.");
        }
        return Ok(exit::OK);
    }
    // With a live database on either side, explain the drift object by object (on stderr, so
    // `> fix.sql` captures only the SQL that fixes it).
    if live_side {
        if let Some(plan) = schema_plan.as_ref().filter(|p| !p.is_empty()) {
            eprint!("{}", plan.drift_report(from_label, to_label));
            for change in &types.changes {
                eprintln!("type {change}");
            }
            eprintln!();
        } else if !migration.actions.is_empty() || !types.is_empty() {
            let report = strata_introspect::drift_between(&from, &to, from_label, to_label);
            eprint!("{report}");
            for change in &types.changes {
                eprintln!("type {change}");
            }
            eprintln!();
        }
        if let Some(plan) = &objects {
            eprintln!(
                "Views, functions, triggers, policies, comments and grants: {} statement(s) before the \
                 table changes, {} after.",
                plan.before.len(),
                plan.after.len()
            );
        }
        eprintln!("The migration on stdout takes {from_label} to {to_label}.");
    }

    match args.format {
        Format::Json if objects.is_some() => {
            println!("{}", migration_to_json(&migration));
            eprintln!("Views, functions, triggers, policies, comments and grants differ too: --format sql writes them.");
        }
        Format::Json => println!("{}", migration_to_json(&migration)),
        Format::Sql => {
            let dialect = strata_sql::dialect_by_name(dialect_name)
                .with_context(|| format!("unknown dialect \"{dialect_name}\""))?;
            let removed: Vec<String> = from
                .installed_modules
                .iter()
                .map(|m| m.module.clone())
                .filter(|m| !to.installed_modules.iter().any(|t| &t.module == m))
                .collect();
            let sql = if let Some(plan) = &schema_plan {
                let extras = Extras {
                    types: &types,
                    objects: objects.as_ref(),
                    installed_modules: &to.installed_modules,
                    removed_modules: &removed,
                };
                plan.sql(dialect.as_ref(), &extras)
            } else if migration.actions.is_empty() && types.is_empty() {
                Ok(String::new())
            } else {
                strata_sql::migration_sql(
                    dialect.as_ref(),
                    &MigrationSqlInput {
                        migration: &migration,
                        source: &from,
                        target: &to,
                        installed_modules: &to.installed_modules,
                        removed_modules: &removed,
                    },
                )
            }
            .map_err(|e| ProjectError::Dialect {
                dialect: dialect.name().to_string(),
                message: e.to_string(),
            })?;
            let sql = match &objects {
                Some(plan) if schema_plan.is_none() => plan.wrap(&sql),
                _ => sql,
            };
            print!("{sql}");
            if !sql.ends_with('\n') {
                println!();
            }
        }
    }
    if show_summary {
        eprint!("{}", summary(&migration));
    }
    // The process ends next: freeing two large definitions piece by piece would only delay the
    // exit (a few percent of a 1,000-table live diff).
    std::mem::forget((from, to));
    Ok(exit::DIFFERS)
}

/// How a side is named in messages: a live one by its database name only (`db:…/shop`: the
/// URL may carry a password), otherwise the argument as given.
fn side_label(side: &str) -> String {
    let Some(url) = side.strip_prefix("db:") else {
        return side.to_string();
    };
    let url = url.split(['?', '#']).next().unwrap_or_default();
    // Only the path names the database; the authority (user, password, host) never shows.
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        None => url.split_once(':').map_or(url, |(_, path)| path),
    };
    match path.rsplit('/').next() {
        Some(name) if !name.is_empty() => format!("db:…/{name}"),
        _ => "db:…".to_string(),
    }
}

/// The labels of both sides, told apart when they would read the same (`db:…/app` on two
/// servers).
fn side_labels(from: &str, to: &str) -> (String, String) {
    let (a, b) = (side_label(from), side_label(to));
    if a == b {
        (format!("{a} (--from)"), format!("{b} (--to)"))
    } else {
        (a, b)
    }
}

/// Every kind `--ignore` accepts.
fn ignorable_kinds() -> Vec<String> {
    strata_introspect::WarningKind::ALL.iter().map(|k| crate::commands::live::kind_slug(*k)).collect()
}

fn check_ignored_kinds(ignore: &[String]) -> anyhow::Result<()> {
    let known = ignorable_kinds();
    match ignore.iter().find(|k| !known.contains(k)) {
        Some(k) => bail!("--ignore {k}: no such kind (kinds: {})", known.join(", ")),
        None => Ok(()),
    }
}

/// The objects strata cannot diff that are on one side only (a heading line first), kinds in
/// `ignore` left out, and (`with_ddl`: both sides are live PostgreSQL databases) those strata
/// writes SQL for. A side that is not a live database has none.
fn unmatched_objects(
    from: &[Unrepresented],
    to: &[Unrepresented],
    ignore: &[String],
    with_ddl: bool,
    from_label: &str,
    to_label: &str,
) -> Vec<String> {
    let kept = |o: &&Unrepresented| !(ignore.contains(&o.kind) || with_ddl && o.has_ddl);
    let only = |a: &[Unrepresented], b: &[Unrepresented], label: &str| -> Vec<String> {
        a.iter()
            .filter(kept)
            .filter(|o| !b.contains(o))
            .map(|o| format!("  only in {label}: {}", o.text))
            .collect()
    };
    let mut lines = only(from, to, from_label);
    lines.extend(only(to, from, to_label));
    if !lines.is_empty() {
        lines.insert(0, "Objects strata cannot diff that differ between the two sides:".to_string());
    }
    lines
}

/// Whether two live databases' schemas are anything but `public` alone: then they are diffed
/// schema by schema (a database of `public` only keeps the single-schema SQL, byte for byte).
fn beyond_public(from: &[String], to: &[String]) -> bool {
    from.iter().chain(to).any(|s| s != "public")
}

/// A live side's enum and domain types are diffed (`keep`) when the other side is live too or
/// carries types; else they are left alone and reported as objects strata cannot diff, as
/// against a Serverpod definition, which never has any.
fn align_types(side: &mut DatabaseDefinition, objects: &mut Vec<Unrepresented>, keep: bool) {
    use strata_introspect::WarningKind;
    if keep {
        let slugs = [WarningKind::EnumType, WarningKind::DomainType].map(crate::commands::live::kind_slug);
        objects.retain(|o| !slugs.contains(&o.kind));
    } else {
        side.types.clear();
    }
}

/// What the extensions of `to` provide when the object SQL creates them (`with_ddl`: both sides
/// are live PostgreSQL databases, and `--ignore extension` is not given).
fn extensions_created(to: &[Unrepresented], with_ddl: bool, ignore: &[String]) -> Vec<String> {
    let kind = crate::commands::live::kind_slug(strata_introspect::WarningKind::Extension);
    if !with_ddl || ignore.contains(&kind) {
        return Vec::new();
    }
    to.iter().filter(|o| o.kind == kind).filter_map(|o| o.provides.clone()).collect()
}

/// Why no SQL may be printed: type changes without in-place SQL, and objects the migration
/// creates or changes that need a function or extension strata does not create and that
/// `from` lacks (the SQL would fail on it). What the SQL itself creates first (`created`:
/// extensions, and functions between two live databases) is there in time.
fn blocked_changes(
    migration: &DatabaseMigration,
    types: &strata_schema::types::TypePlan,
    [from, to]: [&[Unrepresented]; 2],
    created: &[String],
    from_label: &str,
) -> Vec<String> {
    let mut provided: Vec<&str> = from.iter().filter_map(|o| o.provides.as_deref()).collect();
    provided.extend(created.iter().map(String::as_str));
    let unmet = to.iter().filter(|o| o.needs.as_deref().is_some_and(|k| !provided.contains(&k)));
    let touched = unmet.filter(|o| match &o.place {
        Some((Some(table), object)) => {
            migration.actions.iter().any(|a| writes_column_or_check(a, table, object))
        }
        Some((None, domain)) => types.creates(&o.schema, domain),
        None => false,
    });
    let mut out = types.blocked.clone();
    out.extend(touched.map(|o| {
        format!(
            "{}; {from_label} lacks it (strata creates no functions or extensions but pgvector and PostGIS)",
            o.text
        )
    }));
    out
}

/// Whether `action` creates `table`'s column or check constraint `name`, or sets the column's
/// default or type.
fn writes_column_or_check(action: &MigrationAction, table: &str, name: &str) -> bool {
    match action {
        MigrationAction::CreateTable(t) | MigrationAction::CreateTableIfNotExists(t) => t.name == table,
        MigrationAction::AlterTable(m) => {
            m.final_name() == table
                && (m.add_columns.iter().any(|c| c.name == name)
                    || m.keys.add_checks.iter().any(|c| c.name == name)
                    || m.modify_columns
                        .iter()
                        .any(|c| c.final_name() == name && (c.change_default || c.new_type.is_some())))
        }
        MigrationAction::DeleteTable(_) => false,
    }
}

/// A live side's check and exclusion constraints are compared (`keep`) under the rule of its
/// types ([`align_types`]); else they are left out of its definition and reported, as against a
/// Serverpod definition, which never has any.
fn align_checks(side: &mut DatabaseDefinition, objects: &mut Vec<Unrepresented>, keep: bool) {
    if keep {
        objects.retain(|o| !o.modeled);
    } else {
        for table in &mut side.tables {
            table.keys.checks.clear();
            table.keys.exclusions.clear();
        }
    }
}

/// Both sides; two live databases are read at the same time.
fn resolve_sides(project_dir: &Path, config: Option<&ProjectConfig>, args: &Args) -> anyhow::Result<Sides> {
    let from_label = format!("--from {}", scrub_urls(&args.from));
    let to_label = format!("--to {}", scrub_urls(&args.to));
    if let (Some(from), Some(to)) = (args.from.strip_prefix("db:"), args.to.strip_prefix("db:")) {
        let labels = [from_label.as_str(), to_label.as_str()];
        return crate::commands::live::live_definition_pair(
            project_dir,
            [from, to],
            labels,
            &args.connect_timeout,
            &args.schemas.options(),
        );
    }
    let from = resolve_side(project_dir, config, &args.from, args).context(from_label)?;
    let to = resolve_side(project_dir, config, &args.to, args).context(to_label)?;
    Ok(([from, to], None))
}

/// Turns a side argument into a definition, and for a live database what strata cannot
/// represent in it.
fn resolve_side(
    project_dir: &Path,
    config: Option<&ProjectConfig>,
    side: &str,
    args: &Args,
) -> anyhow::Result<(DatabaseDefinition, Vec<Unrepresented>)> {
    if let Some(url) = side.strip_prefix("db:") {
        let opts = args.schemas.options();
        return crate::commands::live::live_definition(project_dir, url, &args.connect_timeout, &opts);
    }
    resolve_file_side(project_dir, config, side).map(|d| (d, Vec::new()))
}

/// A side that is not a live database.
fn resolve_file_side(
    project_dir: &Path,
    config: Option<&ProjectConfig>,
    side: &str,
) -> anyhow::Result<DatabaseDefinition> {
    let need_project = || {
        config.ok_or_else(|| ProjectError::NotAProject { dir: project_dir.to_path_buf() }.into())
            as anyhow::Result<&ProjectConfig>
    };
    match side {
        "models" => {
            // Named like the version create-migration would create now, so the SQL's
            // bookkeeping matches the next migration.sql.
            let version = version_name(now_from_env()?, None)?;
            return Ok(models_definition(need_project()?, &version)?);
        }
        "empty" => {
            let name = config.map(|c| c.module_name.clone()).unwrap_or_default();
            return Ok(DatabaseDefinition::empty(name));
        }
        "latest" => {
            let config = need_project()?;
            let dir = MigrationsDir::new(&config.migrations_dir);
            let Some(latest) = dir.latest()? else {
                bail!(
                    "there are no migration versions in {} (use `empty` for the empty schema)",
                    config.display_path(&config.migrations_dir).display()
                );
            };
            return Ok(dir.read_definition(&latest)?);
        }
        _ => {}
    }

    // A path as typed, then relative to the project directory.
    let candidates = [PathBuf::from(side), project_dir.join(side)];
    if let Some(path) = candidates.iter().find(|p| p.exists()) {
        let file = if path.is_dir() { path.join("definition.json") } else { path.clone() };
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ProjectError::MissingArtifact { path: file }.into())
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot read {}", file.display()))),
        };
        let definition =
            definition_from_json(&text).map_err(|error| ProjectError::Json { path: file.clone(), error })?;
        // The same located refusal of crafted index SQL as for definitions read from a version.
        strata_sql::check_definition_expressions(&definition)
            .map_err(|error| ProjectError::Json { path: file, error })?;
        return Ok(definition);
    }

    if is_version_name(side) {
        let config = need_project()?;
        let dir = MigrationsDir::new(&config.migrations_dir);
        let versions = dir.versions()?;
        if !versions.iter().any(|v| v == side) {
            bail!(
                "Unable to find the specified migration \"{side}\" in {}. Available versions: [{}].",
                config.display_path(&config.migrations_dir).display(),
                versions.join(", ")
            );
        }
        return Ok(dir.read_definition(side)?);
    }
    bail!(
        "no such file, directory or version \"{side}\"; a side is a definition.json path, a version \
         directory or version name, `models`, `latest`, `empty`, or `db:URL`"
    )
}

/// A few lines a reviewer can take in at a glance.
fn summary(migration: &DatabaseMigration) -> String {
    let mut created = Vec::new();
    let mut dropped = Vec::new();
    let mut altered = Vec::new();
    for action in &migration.actions {
        match action {
            MigrationAction::CreateTable(t) | MigrationAction::CreateTableIfNotExists(t) => {
                created.push(t.name.clone())
            }
            MigrationAction::DeleteTable(name) => dropped.push(name.clone()),
            MigrationAction::AlterTable(t) => {
                let mut parts = Vec::new();
                let mut count = |n: usize, what: &str| {
                    if n > 0 {
                        parts.push(format!("{what} {n}"));
                    }
                };
                count(t.add_columns.len(), "+columns");
                count(t.delete_columns.len(), "-columns");
                count(t.modify_columns.len(), "~columns");
                count(t.add_indexes.len(), "+indexes");
                count(t.delete_indexes.len(), "-indexes");
                count(t.add_foreign_keys.len(), "+foreign keys");
                count(t.delete_foreign_keys.len(), "-foreign keys");
                altered.push(format!("{} ({})", t.name, parts.join(", ")));
            }
        }
    }
    let recreated: Vec<String> = created.iter().filter(|c| dropped.contains(c)).cloned().collect();
    created.retain(|c| !recreated.contains(c));
    dropped.retain(|d| !recreated.contains(d));

    let mut out = String::from("Summary:\n");
    for (label, list) in [
        ("created", &created),
        ("dropped", &dropped),
        ("recreated (data lost)", &recreated),
        ("altered", &altered),
    ] {
        if !list.is_empty() {
            out.push_str(&format!("  tables {label}: {}\n", list.join(", ")));
        }
    }
    if migration.warnings.is_empty() {
        out.push_str("  no warnings\n");
    } else {
        out.push_str(&format!("  warnings ({}):\n", migration.warnings.len()));
        for w in &migration.warnings {
            let mark = if w.destructive { "[destructive] " } else { "" };
            out.push_str(&format!("    • {mark}{}\n", w.message));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use strata_db::connection::scrub_urls;

    #[test]
    fn sides_in_messages_never_show_a_password() {
        assert_eq!(scrub_urls("db:postgres://app:pw@h:5432/d"), "db:postgres://app:***@h:5432/d");
        assert_eq!(scrub_urls("db:postgres://app@h/d"), "db:postgres://app@h/d");
        assert_eq!(scrub_urls("db:sqlite:x.db"), "db:sqlite:x.db");
        assert_eq!(scrub_urls("latest"), "latest");
    }

    #[test]
    fn live_sides_are_named_by_database_without_credentials() {
        use super::{side_label, side_labels};
        assert_eq!(side_label("db:postgres://app:pw@h:5432/shop?sslmode=disable"), "db:…/shop");
        assert_eq!(side_label("db:postgres://app:pw@h:5432"), "db:…");
        assert_eq!(side_label("db:postgres://app:pw@h/"), "db:…");
        assert_eq!(side_label("db:sqlite:data/app.db"), "db:…/app.db");
        assert_eq!(side_label("latest"), "latest");
        assert_eq!(
            side_labels("db:postgres://a/x", "db:postgres://b/y"),
            ("db:…/x".to_string(), "db:…/y".to_string())
        );
        assert_eq!(
            side_labels("db:postgres://a/x", "db:postgres://b/x"),
            ("db:…/x (--from)".to_string(), "db:…/x (--to)".to_string())
        );
    }
}
