//! `create-migration`: a pure planning step ([`plan_migration`]) that decides what to write,
//! and an I/O driver ([`create_migration`]) that gathers the inputs from disk and writes the
//! planned version directory atomically.
//!
//! The decision sequence follows Serverpod's `MigrationGenerator.createMigration` (spec §6.3).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use strata_diff::{RenameCandidate, RenamePlan};
use strata_models::{DatabaseRules, ModelOptions, SharedPackage, SourceFile};
use strata_schema::{
    migration_to_json, DatabaseDefinition, DatabaseMigration, MigrationVersion, MigrationWarning,
};
use strata_sql::{Dialect, MigrationSqlInput};

use crate::config::ProjectConfig;
use crate::error::ProjectError;
use crate::lock::{ProjectLock, LOCK_TIMEOUT};
use crate::migrations::{
    self, MigrationsDir, RegistryIssue, DEFINITION_JSON, DEFINITION_PROJECT_JSON, DEFINITION_SQL,
    MIGRATION_JSON, MIGRATION_SQL,
};
use crate::version::{version_name, version_timestamp};

/// A dependency module's latest state, as a consuming project sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleDefinition {
    /// The module's server package directory.
    pub dir: PathBuf,
    /// The module name (its `definition_project.json` `moduleName`).
    pub name: String,
    /// The module's latest migration version.
    pub version: String,
    /// That version's `definition_project.json`: the module's own tables.
    pub definition: DatabaseDefinition,
}

/// What the user asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateOptions {
    /// Create the migration even when it has warnings.
    pub force: bool,
    /// Create the migration even when there are no changes.
    pub empty: bool,
    /// Optional `-tag` suffix of the version name.
    pub tag: Option<String>,
    /// Plan and report, but write nothing (and prune nothing).
    pub dry_run: bool,
    /// Renames the user chose (`--rename`): emitted as `RENAME`, keeping the data.
    pub renames: RenamePlan,
    /// `--no-rename`: the rename candidates left undecided are dropped and added (Serverpod's
    /// behaviour) instead of blocking the migration.
    pub no_rename: bool,
}

/// Everything the planner needs; it reads nothing from disk.
pub struct PlanInput<'a> {
    /// The project's module name.
    pub module_name: &'a str,
    /// `serialize_as_jsonb_by_default`.
    pub jsonb_by_default: bool,
    /// Module nicknames from `config/generator.yaml` (nickname -> module name).
    pub module_aliases: &'a BTreeMap<String, String>,
    /// `extraClasses` entries from `config/generator.yaml`.
    pub extra_classes: &'a [String],
    /// Shared packages, whose model files are among `model_files`.
    pub shared_packages: &'a [SharedPackage],
    /// The dialect `definition.sql` and `migration.sql` are written for.
    pub dialect: &'a dyn Dialect,
    /// The latest version's `definition.json`, or an empty definition when there is none.
    pub previous: &'a DatabaseDefinition,
    /// Every model file's path and text.
    pub model_files: &'a [SourceFile],
    /// Dependency modules in merge order.
    pub modules: &'a [ModuleDefinition],
    /// `--force`.
    pub force: bool,
    /// `--empty`.
    pub empty: bool,
    /// `--rename`.
    pub renames: &'a RenamePlan,
    /// `--no-rename`.
    pub no_rename: bool,
    /// The new version's name.
    pub version: &'a str,
}

/// The result of planning.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanOutcome {
    /// A new version directory with these files, in write order.
    Created {
        version: String,
        files: Vec<(String, Vec<u8>)>,
        /// Warnings the user overrode with `--force` (empty otherwise).
        warnings: Vec<MigrationWarning>,
        migration: DatabaseMigration,
    },
    /// The models match the latest version; nothing to write.
    NoChanges,
    /// The migration has warnings and `--force` was not given, or a dropped table or column
    /// may be a rename nobody decided on (`renames`, whatever `--force` says); nothing to write.
    Blocked { warnings: Vec<MigrationWarning>, migration: DatabaseMigration, renames: Vec<RenameCandidate> },
}

/// Decides what `create-migration` writes. Pure: the same inputs always give the same bytes.
pub fn plan_migration(input: &PlanInput) -> Result<PlanOutcome, ProjectError> {
    let options = ModelOptions {
        database: database_rules(input.dialect.name()),
        extra_classes: input.extra_classes.to_vec(),
        shared_packages: input.shared_packages.to_vec(),
        ..model_options(input.module_name, input.jsonb_by_default, input.module_aliases, input.modules)
    };
    let project = strata_models::build_project_definition(input.model_files, &options)
        .map_err(ProjectError::InvalidModels)?;
    let (project, target) = merge_owned(project, input.module_name, input.version, input.modules);

    let migration = strata_diff::generate_migration_with_renames(input.previous, &target, input.renames)?;
    // Never silently: a drop that may be a rename needs a decision, even with --force.
    let undecided = match input.no_rename {
        true => Vec::new(),
        false => strata_diff::rename_candidates(input.previous, &target, input.renames),
    };
    let dialect_error = |e: strata_sql::SqlError| ProjectError::Dialect {
        dialect: input.dialect.name().into(),
        message: e.to_string(),
    };
    // Dialect rejection comes before the warnings check: --force cannot override it. Every
    // unsupported column and index is listed, not just the first one rendering hit.
    let definition_sql = strata_sql::definition_sql(input.dialect, &target).map_err(|first| {
        let all = strata_sql::unsupported_objects(input.dialect, &target);
        if all.is_empty() {
            dialect_error(first)
        } else {
            ProjectError::Dialect {
                dialect: input.dialect.name().into(),
                message: all.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  • "),
            }
        }
    })?;

    if !undecided.is_empty() || (!migration.warnings.is_empty() && !input.force) {
        return Ok(PlanOutcome::Blocked {
            warnings: migration.warnings.clone(),
            migration,
            renames: undecided,
        });
    }
    if migration.actions.is_empty() && !input.empty {
        return Ok(PlanOutcome::NoChanges);
    }

    let removed_modules = removed_modules(input.previous, &target);
    let migration_sql = strata_sql::migration_sql(
        input.dialect,
        &MigrationSqlInput {
            migration: &migration,
            source: input.previous,
            target: &target,
            installed_modules: &target.installed_modules,
            removed_modules: &removed_modules,
        },
    )
    .map_err(dialect_error)?;

    // Without modules both definitions hold the same tables: serialised once.
    let (project_json, target_json) = strata_schema::json::definitions_to_json(&project, &target);
    let files = vec![
        (DEFINITION_PROJECT_JSON.to_string(), project_json.into_bytes()),
        (DEFINITION_JSON.to_string(), target_json.into_bytes()),
        (DEFINITION_SQL.to_string(), definition_sql.into_bytes()),
        (MIGRATION_JSON.to_string(), migration_to_json(&migration).into_bytes()),
        (MIGRATION_SQL.to_string(), migration_sql.into_bytes()),
    ];
    Ok(PlanOutcome::Created {
        version: input.version.to_string(),
        files,
        warnings: migration.warnings.clone(),
        migration,
    })
}

/// Model options: the project's settings, plus the modules' tables so relations to them resolve.
fn model_options(
    module_name: &str,
    jsonb_by_default: bool,
    module_aliases: &BTreeMap<String, String>,
    modules: &[ModuleDefinition],
) -> ModelOptions {
    ModelOptions {
        module_name: module_name.to_string(),
        jsonb_by_default,
        module_aliases: module_aliases.clone(),
        external_tables: modules.iter().flat_map(|m| m.definition.tables.iter().cloned()).collect(),
        ..ModelOptions::default()
    }
}

/// What the dialect's database refuses that the model format allows. `strata_sql::Dialect`
/// has no capability methods for these limits, so the dialect's name selects them.
fn database_rules(dialect: &str) -> DatabaseRules {
    match dialect {
        "postgres" => DatabaseRules::POSTGRES,
        "sqlite" => DatabaseRules::SQLITE,
        _ => DatabaseRules::default(),
    }
}

/// Builds `definition_project.json` and `definition.json` (spec §2.4): the project's tables
/// sorted by name, then each module's tables in module order; `installedModules` lists the
/// modules (project file) or the project with `version` followed by the modules (full file).
pub fn merge_definitions(
    project: &mut DatabaseDefinition,
    module_name: &str,
    version: &str,
    modules: &[ModuleDefinition],
) -> (DatabaseDefinition, DatabaseDefinition) {
    let target = merge_into(project, module_name, version, modules);
    (project.clone(), target)
}

/// [`merge_definitions`] for a caller that gives up `project`: one clone of it fewer.
fn merge_owned(
    mut project: DatabaseDefinition,
    module_name: &str,
    version: &str,
    modules: &[ModuleDefinition],
) -> (DatabaseDefinition, DatabaseDefinition) {
    let target = merge_into(&mut project, module_name, version, modules);
    (project, target)
}

/// Completes `project` in place and returns the full definition.
fn merge_into(
    project: &mut DatabaseDefinition,
    module_name: &str,
    version: &str,
    modules: &[ModuleDefinition],
) -> DatabaseDefinition {
    project.module_name = module_name.to_string();
    project.tables.sort_by(|a, b| a.name.cmp(&b.name));
    project.installed_modules =
        modules.iter().map(|m| MigrationVersion::dependency(m.name.clone(), m.version.clone())).collect();
    let mut target = project.clone();
    for m in modules {
        target.tables.extend(m.definition.tables.iter().cloned());
    }
    target.installed_modules.insert(0, MigrationVersion::project(module_name, version));
    target
}

/// Modules the previous definition had installed that the new one no longer has.
fn removed_modules(previous: &DatabaseDefinition, target: &DatabaseDefinition) -> Vec<String> {
    previous
        .installed_modules
        .iter()
        .map(|m| m.module.clone())
        .filter(|m| !target.installed_modules.iter().any(|t| &t.module == m))
        .collect()
}

/// Loads a dependency module's latest `definition_project.json` (read-only: a module's
/// directory is never pruned). `None` when the module has no migrations yet, which Serverpod
/// treats as "no tables".
pub fn load_module(dir: &Path) -> Result<Option<ModuleDefinition>, ProjectError> {
    let wrap = |e: ProjectError| ProjectError::Module { dir: dir.to_path_buf(), cause: Box::new(e) };
    let migrations = MigrationsDir::new(dir.join("migrations"));
    let Some(version) = migrations.latest().map_err(wrap)? else { return Ok(None) };
    let definition = migrations.read_definition_project(&version).map_err(wrap)?;
    let name = if definition.module_name.is_empty() {
        fallback_module_name(dir)
    } else {
        definition.module_name.clone()
    };
    Ok(Some(ModuleDefinition { dir: dir.to_path_buf(), name, version, definition }))
}

/// Every found module with migrations, in merge order. Fails first when a dependency that may
/// be a module (or one `previous` has installed) is missing: a definition built without it
/// would drop its tables.
pub fn load_modules(
    config: &ProjectConfig,
    previous: &DatabaseDefinition,
) -> Result<Vec<ModuleDefinition>, ProjectError> {
    let installed: Vec<String> = previous.installed_modules.iter().map(|m| m.module.clone()).collect();
    config.modules.require(&config.root, &installed)?;
    let mut modules = Vec::new();
    for dir in config.modules.dirs() {
        if let Some(def) = load_module(&dir)? {
            modules.push(def);
        }
    }
    Ok(modules)
}

/// Where each module came from, and which needed ones are missing (see [`Modules::report`]),
/// judged against the latest version's installed modules.
///
/// [`Modules::report`]: crate::modules::Modules::report
pub fn module_report(config: &ProjectConfig) -> String {
    let installed: Vec<String> =
        latest_installed(config).installed_modules.into_iter().map(|m| m.module).collect();
    config.modules.report(&installed)
}

/// The latest version's `definition.json`, for its installed modules; empty when there is no
/// readable one (a command that needs it reports why itself).
fn latest_installed(config: &ProjectConfig) -> DatabaseDefinition {
    let dir = MigrationsDir::new(&config.migrations_dir);
    let latest = dir.latest().ok().flatten();
    latest
        .and_then(|v| dir.read_definition(&v).ok())
        .unwrap_or_else(|| DatabaseDefinition::empty(config.module_name.clone()))
}

/// A module's name from its directory (`serverpod_auth_server` -> `serverpod_auth`), for
/// definitions that lack `moduleName`.
fn fallback_module_name(dir: &Path) -> String {
    let base = dir.file_name().and_then(|n| n.to_str()).unwrap_or("module");
    base.strip_suffix("_server").unwrap_or(base).to_string()
}

/// Every model file of the project with its text, sorted by path.
pub fn read_model_files(config: &ProjectConfig) -> Result<Vec<SourceFile>, ProjectError> {
    // `lib/` follows Serverpod's rules (plain YAML only under lib/src/models and
    // lib/src/protocol); every other root is a models directory of its own.
    let lib = crate::config::under(&config.root, "lib");
    let scan_lib = config.model_roots.contains(&lib);
    let extra: Vec<PathBuf> = config.model_roots.iter().filter(|r| **r != lib).cloned().collect();
    let found = strata_models::discover_model_files(&config.root, &extra)
        .map_err(|e| ProjectError::io("cannot list model files in", &config.root, e))?;
    // Without the `./` a root of `.` adds, so a file found twice is read once and diagnostics
    // read `lib/src/x.spy.yaml:3:5: ...`.
    let mut paths: Vec<PathBuf> =
        found.into_iter().map(|p| p.strip_prefix(".").map(Path::to_path_buf).unwrap_or(p)).collect();
    paths.sort();
    paths.dedup();
    if !scan_lib {
        paths.retain(|p| !p.starts_with(&lib) || extra.iter().any(|r| p.starts_with(r)));
    }
    paths.extend(shared_package_model_files(config)?);
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let text = fs::read_to_string(&path).map_err(|e| ProjectError::io("cannot read", &path, e))?;
        files.push(SourceFile { path, text });
    }
    Ok(files)
}

/// Model files of the shared packages, found under each package's `lib/` by the same rules
/// as the project's own, sorted by path after the project's.
fn shared_package_model_files(config: &ProjectConfig) -> Result<Vec<PathBuf>, ProjectError> {
    let mut out = Vec::new();
    for dir in &config.shared_package_dirs {
        let found = strata_models::discover_model_files(dir, &[])
            .map_err(|e| ProjectError::io("cannot list model files in", dir, e))?;
        out.extend(found);
    }
    Ok(out)
}

/// The loaded state `create-migration` starts from.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectState {
    /// Version directories, sorted (after pruning, unless dry-run).
    pub versions: Vec<String>,
    /// The previous definition (latest `definition.json`, or empty).
    pub previous: DatabaseDefinition,
    /// Dependency modules that have migrations, in merge order.
    pub modules: Vec<ModuleDefinition>,
}

/// Reads the latest version's definition and the modules. A latest version that cannot be read
/// is Serverpod's "corrupted migration" error, with the fix.
pub fn load_state(config: &ProjectConfig, versions: Vec<String>) -> Result<ProjectState, ProjectError> {
    let dir = MigrationsDir::new(&config.migrations_dir);
    let previous = match versions.last() {
        Some(latest) => read_latest_definition(&dir, latest, &config.module_name).map_err(|cause| {
            ProjectError::CorruptedMigration {
                version: latest.clone(),
                module: config.module_name.clone(),
                cause: Box::new(cause),
            }
        })?,
        None => DatabaseDefinition::empty(config.module_name.clone()),
    };
    let modules = load_modules(config, &previous)?;
    Ok(ProjectState { versions, previous, modules })
}

/// The latest `definition.json`, refused when it parses but cannot be right: everything
/// generated next is diffed against it.
fn read_latest_definition(
    dir: &MigrationsDir,
    version: &str,
    module: &str,
) -> Result<DatabaseDefinition, ProjectError> {
    let definition = dir.read_definition(version)?;
    let problems = migrations::definition_problems(&definition, Some(module));
    if problems.is_empty() {
        Ok(definition)
    } else {
        Err(ProjectError::InvalidArtifact { path: dir.version_path(version).join(DEFINITION_JSON), problems })
    }
}

/// The schema the project's models describe right now, merged with its modules exactly as
/// `create-migration` would write `definition.json` for a new version named `version`. Used by
/// `strata diff ... models`, so that its SQL previews the next `migration.sql`.
pub fn models_definition(config: &ProjectConfig, version: &str) -> Result<DatabaseDefinition, ProjectError> {
    let modules = load_modules(config, &latest_installed(config))?;
    let files = read_model_files(config)?;
    let aliases = config.module_aliases()?;
    let options = ModelOptions {
        database: database_rules(&config.dialect),
        extra_classes: config.extra_classes()?,
        shared_packages: config.shared_packages()?,
        ..model_options(&config.module_name, config.jsonb_by_default, &aliases, &modules)
    };
    let mut project =
        strata_models::build_project_definition(&files, &options).map_err(ProjectError::InvalidModels)?;
    let (_, target) = merge_definitions(&mut project, &config.module_name, version, &modules);
    Ok(target)
}

/// What [`create_migration`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateReport {
    /// The planner's decision.
    pub outcome: PlanOutcome,
    /// Where the version was written (`None` unless created and not a dry run).
    pub written: Option<PathBuf>,
    /// Trailing empty version directories, ignored as versions; removed only when a version
    /// was written (see `pruned_removed`).
    pub pruned: Vec<String>,
    /// Whether `pruned` were deleted (and the registry rewritten without them).
    pub pruned_removed: bool,
    /// Registry and history oddities worth telling the user about (never fatal).
    pub registry_issues: Vec<RegistryIssue>,
    /// Leftover temporaries of a killed run that this run removed (under the project lock).
    pub removed_temporaries: Vec<PathBuf>,
}

/// The whole `create-migration`: check the registry, load, plan, then (only when a version is
/// created) prune trailing empty directories and write the version.
///
/// Unless it is a dry run, everything from reading the latest version to writing the registry
/// happens under the project lock ([`ProjectLock`]), so concurrent runs create one version
/// between them. A run that finds nothing to write does not create the lock file.
pub fn create_migration(
    config: &ProjectConfig,
    options: &CreateOptions,
    now: SystemTime,
) -> Result<CreateReport, ProjectError> {
    // Cheap input checks first, so a bad tag or dialect never touches the disk.
    let version = version_name(now, options.tag.as_deref())?;
    let dialect = strata_sql::dialect_by_name(&config.dialect).ok_or_else(|| ProjectError::Dialect {
        dialect: config.dialect.clone(),
        message: "unknown dialect".into(),
    })?;
    let dir = MigrationsDir::new(&config.migrations_dir);
    let plan = || plan_on_disk(config, options, dialect.as_ref(), &dir, &version);
    if options.dry_run {
        return Ok(plan()?.into_report(None, false, Vec::new()));
    }

    let mut lock = ProjectLock::acquire_existing(&dir, LOCK_TIMEOUT)?;
    let mut planned = plan()?;
    let needs_lock = planned.is_created() || !dir.temporaries().is_empty();
    if lock.is_none() && needs_lock {
        // The first write in this directory: take the lock, then plan again if another run
        // wrote (or pruned) a version in the meantime.
        lock = Some(ProjectLock::acquire(&dir, LOCK_TIMEOUT)?);
        if dir.versions()? != planned.versions_seen {
            planned = plan()?;
        }
    }
    let cleaned = match &lock {
        Some(held) => dir.remove_temporaries(held)?,
        None => Vec::new(),
    };
    let (written, pruned_removed) = match &planned.outcome {
        PlanOutcome::Created { version, files, .. } => {
            let removed = dir.prune_trailing_empty()?;
            (Some(migrations::write_version(&dir, version, files)?), !removed.is_empty())
        }
        _ => (None, false),
    };
    Ok(planned.into_report(written, pruned_removed, cleaned))
}

/// A plan made from what is on disk right now, not yet written.
struct Planned {
    /// Every version directory when planning started, to tell whether the plan is stale.
    versions_seen: Vec<String>,
    outcome: PlanOutcome,
    pruned: Vec<String>,
    registry_issues: Vec<RegistryIssue>,
}

impl Planned {
    fn is_created(&self) -> bool {
        matches!(self.outcome, PlanOutcome::Created { .. })
    }

    fn into_report(
        self,
        written: Option<PathBuf>,
        pruned_removed: bool,
        cleaned: Vec<PathBuf>,
    ) -> CreateReport {
        CreateReport {
            outcome: self.outcome,
            written,
            pruned: self.pruned,
            pruned_removed,
            registry_issues: self.registry_issues,
            removed_temporaries: cleaned,
        }
    }
}

/// Reads the registry, the latest version, the modules and the models, and plans. Writes
/// nothing.
fn plan_on_disk(
    config: &ProjectConfig,
    options: &CreateOptions,
    dialect: &dyn Dialect,
    dir: &MigrationsDir,
    version: &str,
) -> Result<Planned, ProjectError> {
    // Conflict markers stop everything; other registry issues are reported.
    let mut registry_issues = dir.check_registry()?;
    // Trailing empty directories (a git "discard changes") do not count as versions. They are
    // only removed when a version is written, so every other outcome leaves the disk as it was.
    let pruned = dir.trailing_empty()?;
    let versions_seen = dir.versions()?;
    let mut versions = versions_seen.clone();
    versions.retain(|v| !pruned.contains(v));

    let latest = versions.last().cloned();
    let state = load_state(config, versions)?;
    // After loading, so the lineage check reuses the latest definition instead of reading it
    // again; when it cannot be read, `load_state` has already failed.
    registry_issues.extend(dir.check_lineage_of(&state.versions, &state.previous)?);
    let model_files = read_model_files(config)?;
    let module_aliases = config.module_aliases()?;
    let outcome = plan_migration(&PlanInput {
        module_name: &config.module_name,
        jsonb_by_default: config.jsonb_by_default,
        module_aliases: &module_aliases,
        extra_classes: &config.extra_classes()?,
        shared_packages: &config.shared_packages()?,
        dialect,
        previous: &state.previous,
        model_files: &model_files,
        modules: &state.modules,
        force: options.force,
        empty: options.empty,
        renames: &options.renames,
        no_rename: options.no_rename,
        version,
    })?;

    // Where the new version would go only matters when there is something to write, so a
    // skewed clock never turns "no changes" (or `--check`) into an error.
    if matches!(outcome, PlanOutcome::Created { .. }) {
        let final_path = dir.version_path(version);
        if final_path.exists() && !pruned.iter().any(|p| p == version) {
            return Err(ProjectError::VersionExists { path: final_path });
        }
        if let Some(latest) = latest {
            if version_timestamp(version) <= version_timestamp(&latest) {
                return Err(ProjectError::VersionOutOfOrder { version: version.to_string(), latest });
            }
        }
    }
    Ok(Planned { versions_seen, outcome, pruned, registry_issues })
}
