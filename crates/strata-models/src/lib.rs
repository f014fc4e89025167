//! Serverpod model files (`*.spy.yaml`) -> the project's own `DatabaseDefinition`.
//!
//! [`discover_model_files`] finds the files (the only I/O here); [`build_project_definition`]
//! parses and validates all of them and builds the tables exactly as Serverpod's
//! `createDatabaseDefinitionFromModels` would, or returns every problem found, each located at
//! `path:line:column`.

mod build;
mod defaults;
mod model;
mod names;
mod spec;
mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata_schema::{DatabaseDefinition, TableDefinition};

/// One model file's path (as shown in diagnostics) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// Project-level options that change how models map to tables.
///
/// Build with [`ModelOptions::new`] (or `..Default::default()`) so that fields added later do
/// not break callers.
#[derive(Debug, Clone, Default)]
pub struct ModelOptions {
    /// The project's module name (Serverpod: the server package name minus `_server`).
    pub module_name: String,
    /// `serialize_as_jsonb_by_default` from `config/generator.yaml` (Serverpod's default: false).
    pub jsonb_by_default: bool,
    /// Module nicknames from `config/generator.yaml` (`modules: serverpod_auth: nickname: auth`),
    /// nickname -> module name; used to print `module:auth:UserInfo` as `serverpod_auth:UserInfo`.
    /// Unlisted nicknames are printed as written.
    pub module_aliases: BTreeMap<String, String>,
    /// Tables of dependency modules (their latest `definition_project.json`), so that
    /// `relation(parent=serverpod_user_info)` and `module:auth:UserInfo?, relation` resolve.
    /// Never emitted into the project definition.
    pub external_tables: Vec<TableDefinition>,
    /// What the target database refuses that the model format allows. The default refuses
    /// nothing beyond the format's own rules.
    pub database: DatabaseRules,
    /// `extraClasses` from `config/generator.yaml` (`package:<pkg>/<file>.dart:<Class>`):
    /// custom serializable classes, usable as field types and stored as json.
    pub extra_classes: Vec<String>,
    /// Shared packages (`shared_packages:`): model files under `dir` belong to the package
    /// `name`, whose types print as `<name>:<Class>` and may be written that way.
    pub shared_packages: Vec<SharedPackage>,
}

/// A shared package whose models are part of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedPackage {
    /// The package name from its `pubspec.yaml`.
    pub name: String,
    /// Its directory, as the paths of its model files begin.
    pub dir: PathBuf,
}

/// Limits of the database the models are deployed to, checked while parsing so that the error
/// points at the model file instead of at a `migration.sql` that fails at deploy time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatabaseRules {
    /// The database's name as shown in messages (`PostgreSQL`).
    pub name: &'static str,
    /// Most columns one table may have (PostgreSQL: 1,600).
    pub max_columns: Option<usize>,
    /// Identifiers that differ only in case name the same object (SQLite).
    pub case_insensitive_names: bool,
    /// `json` columns have no index operator class (PostgreSQL: only `jsonb` does).
    pub json_unindexable: bool,
}

impl DatabaseRules {
    /// PostgreSQL's limits.
    pub const POSTGRES: DatabaseRules = DatabaseRules {
        name: "PostgreSQL",
        max_columns: Some(1600),
        case_insensitive_names: false,
        json_unindexable: true,
    };

    /// SQLite's limits (`SQLITE_MAX_COLUMN` defaults to 2,000).
    pub const SQLITE: DatabaseRules = DatabaseRules {
        name: "SQLite",
        max_columns: Some(2000),
        case_insensitive_names: true,
        json_unindexable: false,
    };
}

impl ModelOptions {
    /// Options for `module_name` with Serverpod's defaults (json, no modules).
    pub fn new(module_name: impl Into<String>) -> Self {
        ModelOptions { module_name: module_name.into(), ..Default::default() }
    }
}

/// A problem in a model file, located (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.path.display(), self.line, self.column, self.message)
    }
}

fn one_per_line(diags: &[Diagnostic]) -> String {
    diags.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n")
}

/// All problems found in one run (never just the first); displays one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", one_per_line(.0))]
pub struct Diagnostics(pub Vec<Diagnostic>);

/// Model files under `<server_dir>/lib` and each extra root, sorted by path.
///
/// Under `lib/`, `.spy`, `.spy.yaml` and `.spy.yml` files count anywhere, plain `.yaml`/`.yml`
/// only below `lib/src/models` or `lib/src/protocol` (§1.1). An extra root (a shared package's
/// `lib/src/models`) is a models directory itself, so plain YAML counts anywhere below it.
/// Missing directories contribute nothing.
pub fn discover_model_files(server_dir: &Path, extra_roots: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let lib = server_dir.join("lib");
    let plain_roots = [lib.join("src").join("models"), lib.join("src").join("protocol")];
    let mut out = Vec::new();
    collect(&lib, &mut out, |p| plain_roots.iter().any(|r| p.starts_with(r)))?;
    for root in extra_roots {
        collect(root, &mut out, |_| true)?;
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn is_spy(name: &str) -> bool {
    name.ends_with(".spy") || name.ends_with(".spy.yaml") || name.ends_with(".spy.yml")
}

fn collect(root: &Path, out: &mut Vec<PathBuf>, plain_ok: impl Fn(&Path) -> bool) -> std::io::Result<()> {
    if !root.is_dir() {
        return Ok(());
    }
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.map_err(std::io::Error::other)?;
        if !entry.file_type().is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        let plain = name.ends_with(".yaml") || name.ends_with(".yml");
        if is_spy(&name) || (plain && plain_ok(entry.path())) {
            out.push(entry.into_path());
        }
    }
    Ok(())
}

/// Parses and validates every model file, and builds the project's own tables (sorted by name).
///
/// Pure: no I/O. Every error of every file is returned, sorted by file then position.
pub fn build_project_definition(
    files: &[SourceFile],
    options: &ModelOptions,
) -> Result<DatabaseDefinition, Diagnostics> {
    let mut sink = model::Sink::default();
    let mut defs = Vec::new();
    for (i, file) in files.iter().enumerate() {
        match yaml::parse(&file.text) {
            Ok(docs) => {
                if let Some(def) = model::parse_file(i, &docs, &mut sink) {
                    defs.push(def);
                }
            }
            Err(e) => sink.err(i, e.loc, e.message),
        }
    }
    let packages: Vec<Option<&str>> = files.iter().map(|f| shared_package_of(&f.path, options)).collect();
    let (definition, sink) = build::build(&defs, options, &packages, sink);
    if sink.errors.is_empty() {
        return Ok(definition);
    }
    let mut errors = sink.errors;
    // Same problem reached by two paths (e.g. an over-long explicit index name) is reported once.
    errors.sort_by(|a, b| (a.0, a.1.line, a.1.column, &a.2).cmp(&(b.0, b.1.line, b.1.column, &b.2)));
    errors.dedup();
    let path_of = |i: usize| files.get(i).map(|f| f.path.display().to_string()).unwrap_or_default();
    Err(Diagnostics(
        errors
            .into_iter()
            .map(|(file, loc, message)| Diagnostic {
                path: files.get(file).map(|f| f.path.clone()).unwrap_or_default(),
                line: loc.line,
                column: loc.column,
                message: resolve_paths(&message, &path_of),
            })
            .collect(),
    ))
}

/// The shared package a model file belongs to, if any.
fn shared_package_of<'o>(path: &Path, options: &'o ModelOptions) -> Option<&'o str> {
    options.shared_packages.iter().find(|p| path.starts_with(&p.dir)).map(|p| p.name.as_str())
}

/// Replaces `{file:N}` placeholders (cross-file references) with the file's path.
fn resolve_paths(message: &str, path_of: &impl Fn(usize) -> String) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("{file:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 6..];
        match after.find('}').and_then(|end| after[..end].parse::<usize>().ok().map(|n| (n, end))) {
            Some((n, end)) => {
                out.push_str(&path_of(n));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("{file:");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}
