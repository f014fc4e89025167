//! Errors of the project layer. Every variant names the file or version it concerns and,
//! where there is one, the fix, because these messages are what a developer sees in CI.

use std::fmt::Write as _;
use std::path::PathBuf;

use strata_schema::JsonError;

/// Something about the project on disk that stops a command.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// A file or directory could not be read or written.
    #[error("{action} {}: {error}", path.display())]
    Io {
        /// What was being done (`cannot read`, `cannot write`, ...).
        action: &'static str,
        path: PathBuf,
        /// Included in the message (not chained), so `{:#}` does not repeat it.
        error: std::io::Error,
    },

    /// The directory is neither configured for strata nor a Serverpod server package.
    #[error(
        "{} is not a strata project: it has neither a strata.toml nor a pubspec.yaml. Run strata \
         from a Serverpod server package, pass --project-dir, or create a strata.toml (see \
         docs/configuration.md).",
        dir.display()
    )]
    NotAProject { dir: PathBuf },

    /// `strata.toml`, `pubspec.yaml`, `config/generator.yaml` or `package_config.json` is
    /// malformed or holds an invalid value.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Config { path: PathBuf, line: usize, column: usize, message: String },

    /// A JSON artifact (`definition.json`, `migration.json`, ...) that cannot be read.
    #[error("{}", json_message(path, error))]
    Json { path: PathBuf, error: JsonError },

    /// A JSON artifact that parses but cannot be right (see
    /// [`definition_problems`](crate::migrations::definition_problems)).
    #[error("{}: {}", path.display(), problems.join("\n  "))]
    InvalidArtifact { path: PathBuf, problems: Vec<String> },

    /// A version directory lacks one of its files.
    #[error("Required migration artifact is missing: {}", path.display())]
    MissingArtifact { path: PathBuf },

    /// The latest version cannot be loaded, so nothing can be diffed against it (Serverpod's
    /// `MigrationVersionLoadException`, plus the fix).
    #[error(
        "Unable to determine latest database definition due to a corrupted migration. Please \
         re-create or remove the migration version and try again. Migration version: \"{version}\" \
         for module \"{module}\".\n{cause}\nTo fix: restore migrations/{version} from version \
         control, or, if it was never applied to a database, delete that directory and run \
         `strata create-migration` again."
    )]
    CorruptedMigration { version: String, module: String, cause: Box<ProjectError> },

    /// A dependency module's latest `definition_project.json` cannot be loaded.
    #[error(
        "cannot load the dependency module at {}: {cause}\nThe module's latest \
         migrations/<version>/definition_project.json is needed to merge its tables. Check \
         module_dirs in strata.toml, or run `dart pub get` if the module comes from \
         .dart_tool/package_config.json.",
        dir.display()
    )]
    Module { dir: PathBuf, cause: Box<ProjectError> },

    /// Dependencies that may be modules cannot be found. Going on would leave their tables out
    /// of the schema, and the migration would drop them.
    #[error("{}", modules_not_found_message(root, modules))]
    ModulesNotFound { root: PathBuf, modules: Vec<crate::modules::MissingModule> },

    /// The version directory to create already exists (Serverpod's message).
    #[error(
        "Unable to create migration. A directory with the same name already exists: \"{}\".",
        path.display()
    )]
    VersionExists { path: PathBuf },

    /// The new version would not sort after the latest one, so it would never be applied
    /// after it.
    #[error(
        "Unable to create migration \"{version}\": it does not sort after the latest version \
         \"{latest}\". Versions are ordered by name; check the system clock (or STRATA_NOW)."
    )]
    VersionOutOfOrder { version: String, latest: String },

    /// `--tag` is not lowercase letters, digits and single dashes (Serverpod's message).
    /// Control characters are shown escaped, so a newline cannot forge a line of output.
    #[error(
        "Invalid tag \"{}\": Tag names can only contain lowercase letters, numbers, and dashes.",
        tag.escape_debug()
    )]
    InvalidTag { tag: String },

    /// A directory named like a version holds a control character (a newline would split the
    /// registry's one-version-per-line format and forge lines of output).
    #[error(
        "{}: the version directory name \"{}\" holds a control character. Rename the directory \
         (version names are a 17-digit timestamp, optionally followed by a dash and a tag of \
         lowercase letters, numbers and dashes).",
        dir.display(),
        name.escape_debug()
    )]
    InvalidVersionName { dir: PathBuf, name: String },

    /// `STRATA_NOW` is set but not a 17-digit `yyyyMMddHHmmssSSS` UTC timestamp.
    #[error("STRATA_NOW=\"{value}\" is not a 17-digit yyyyMMddHHmmssSSS UTC timestamp")]
    InvalidNow { value: String },

    /// `migration_registry.txt` still holds git merge-conflict markers: two branches each
    /// added migrations on top of the same parent.
    #[error("{}", conflict_message(path, base, ours, theirs))]
    RegistryConflict {
        path: PathBuf,
        /// The last version both sides agree on, if any.
        base: Option<String>,
        /// Versions between `<<<<<<<` and `=======`.
        ours: Vec<String>,
        /// Versions between `=======` and `>>>>>>>`.
        theirs: Vec<String>,
    },

    /// The model files do not describe a valid schema; every diagnostic is included.
    #[error("Unable to generate database definition for project.\n{}", diagnostics_message(.0))]
    InvalidModels(strata_models::Diagnostics),

    /// The SQL dialect cannot express the schema (`--force` cannot override this).
    #[error(
        "Unable to create migration for the \"{dialect}\" database. The following is not \
         supported by this database:\n  • {message}"
    )]
    Dialect { dialect: String, message: String },

    /// A `--rename` that names nothing, or that cannot be made without losing data.
    #[error("{0}")]
    Rename(#[from] strata_diff::RenameError),

    /// Another `create-migration` held the project lock for longer than the timeout.
    #[error(
        "another strata create-migration is still running in this project: it has held {} for \
         more than {waited_secs} s. Wait for it to finish and run again; the lock is released \
         as soon as that process exits.",
        path.display()
    )]
    LockTimeout { path: PathBuf, waited_secs: u64 },

    /// A file name handed to the version writer is not a plain file name.
    #[error("invalid artifact file name {name:?}: must be a plain, non-hidden file name")]
    InvalidArtifactName { name: String },
}

impl ProjectError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        ProjectError::Io { action, path: path.into(), error }
    }
}

fn json_message(path: &std::path::Path, source: &JsonError) -> String {
    match source {
        JsonError::Syntax { line, column, message } => {
            // serde_json reports column 0 at the end of a line; editors count from 1.
            format!("{}:{line}:{}: invalid JSON: {message}", path.display(), (*column).max(1))
        }
        JsonError::Shape { path: json_path, message } => {
            format!("{}: at {json_path}: {message}", path.display())
        }
    }
}

fn modules_not_found_message(root: &std::path::Path, modules: &[crate::modules::MissingModule]) -> String {
    let mut out = match modules {
        [one] => format!("cannot find the dependency module {one}."),
        _ => {
            let mut list = format!("cannot find {} dependency modules:", modules.len());
            for m in modules {
                let _ = write!(list, "\n  {m}");
            }
            list
        }
    };
    let dir = if root.as_os_str().is_empty() { std::path::Path::new(".") } else { root };
    let _ = write!(
        out,
        "\nWithout a module, its tables would be missing from the schema and a migration would drop \
         them, so nothing was written. Run `dart pub get` in {} (or list the module's directory \
         in module_dirs in strata.toml), then run strata again.",
        dir.display()
    );
    out
}

fn diagnostics_message(d: &strata_models::Diagnostics) -> String {
    let mut out = String::new();
    for (i, diag) in d.0.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{}:{}:{}: {}", diag.path.display(), diag.line, diag.column, diag.message);
    }
    out
}

fn conflict_message(
    path: &std::path::Path,
    base: &Option<String>,
    ours: &[String],
    theirs: &[String],
) -> String {
    let list = |v: &[String]| if v.is_empty() { "(none)".to_string() } else { v.join(", ") };
    let parent = match base {
        Some(b) => format!("on top of {b}"),
        None => "on top of the same parent".to_string(),
    };
    format!(
        "{} has unresolved merge conflict markers: two branches each created migrations {parent}.\n  \
         ours:   {}\n  theirs: {}\n\
         Their definitions do not include each other's changes, and a database that applied one \
         would skip the other.\n\
         To fix: keep the migrations of the branch that was merged first, delete the version \
         directories of the other side from the migrations directory (only if they were never \
         applied to a shared database), resolve the conflict in the registry by keeping the \
         remaining versions, and run `strata create-migration` to re-create the deleted changes \
         on top.",
        path.display(),
        list(ours),
        list(theirs)
    )
}
