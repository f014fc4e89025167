//! Where a project's pieces live, from an optional `strata.toml` and otherwise from the
//! conventions of a Serverpod server package (so an unmodified Serverpod project just works).
//!
//! The format is documented in `docs/configuration.md`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use saphyr::{LoadableYamlNode, MarkedYaml, Yaml};
use serde::Deserialize;

use strata_models::SharedPackage;

use crate::error::ProjectError;
use crate::modules::{resolve_modules, Modules, PubCache};

/// File name of strata's own config at the project root.
pub const CONFIG_FILE: &str = "strata.toml";
/// The dialects a project can target (`sqlite` is Serverpod's own SQLite dialect, `mysql`
/// MySQL 8 / MariaDB; the last three are distributed engines on PostgreSQL's wire protocol,
/// docs/distributed.md). `strata_sql::dialect_by_name`'s aliases (`postgresql`, `mariadb`,
/// `crdb`, ...) are accepted too and stored as these names.
pub const DIALECTS: &[&str] = &["postgres", "sqlite", "mysql", "cockroachdb", "yugabytedb", "citus"];

/// Everything strata needs to know about a project's layout. All paths are the project
/// directory as given joined with the configured (relative) paths, so messages show paths the
/// user recognises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectConfig {
    /// The project (Serverpod server package) directory.
    pub root: PathBuf,
    /// The project's module name, recorded in `installedModules` and `serverpod_migrations`.
    pub module_name: String,
    /// One of [`DIALECTS`] (a `strata_sql::Dialect` name).
    pub dialect: String,
    /// Directories searched for model files.
    pub model_roots: Vec<PathBuf>,
    /// `<root>/migrations` unless configured.
    pub migrations_dir: PathBuf,
    /// `<root>/repair-migration` (Serverpod's name, not configurable).
    pub repair_dir: PathBuf,
    /// Dependency modules: the server package directories found, in merge order, with where
    /// each came from, and the dependencies that could not be found.
    pub modules: Modules,
    /// `serialize_as_jsonb_by_default`.
    pub jsonb_by_default: bool,
    /// Shared packages (`shared_packages:` in `config/generator.yaml`): their models, enums and
    /// tables are the project's own, as in Serverpod.
    pub shared_package_dirs: Vec<PathBuf>,
    /// Default database file for the embedded SQLite dialect.
    pub sqlite_path: PathBuf,
}

/// The keys `strata.toml` accepts. Every key is optional; unknown keys are errors so typos do
/// not silently fall back to defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    module_name: Option<toml::Spanned<String>>,
    dialect: Option<toml::Spanned<String>>,
    model_roots: Option<Vec<String>>,
    migrations_dir: Option<String>,
    module_dirs: Option<Vec<String>>,
    jsonb_by_default: Option<bool>,
    sqlite_path: Option<String>,
}

impl ProjectConfig {
    /// Loads the project at `project_dir`: `strata.toml` if present, then Serverpod's files
    /// (`pubspec.yaml`, `config/generator.yaml`, and for modules `.dart_tool/package_config.json`
    /// or `pubspec.lock` with the pub cache) for whatever the config leaves open.
    pub fn load(project_dir: &Path) -> Result<ProjectConfig, ProjectError> {
        ProjectConfig::load_in(project_dir, &PubCache::from_env())
    }

    /// [`ProjectConfig::load`] with hosted modules looked up in `pub_cache`.
    pub fn load_in(project_dir: &Path, pub_cache: &PubCache) -> Result<ProjectConfig, ProjectError> {
        let root = project_dir.to_path_buf();
        let toml_path = root.join(CONFIG_FILE);
        let toml_text = read_optional(&toml_path)?;
        let file = match &toml_text {
            Some(text) => Some(parse_toml(&toml_path, text)?),
            None => None,
        };
        let toml_text = toml_text.unwrap_or_default();
        let pubspec_path = root.join("pubspec.yaml");
        let pubspec = read_optional(&pubspec_path)?;
        if file.is_none() && pubspec.is_none() {
            return Err(ProjectError::NotAProject { dir: root });
        }
        let file = file.unwrap_or_default();
        let generator_path = root.join("config").join("generator.yaml");
        let generator = match read_optional(&generator_path)? {
            Some(text) => Some(GeneratorYaml::parse(&generator_path, &text)?),
            None => None,
        };

        let module_name = match &file.module_name {
            Some(name) => {
                let value = name.get_ref().trim().to_string();
                if !is_module_name(&value) {
                    let (line, column) = line_col(&toml_text, name.span().start);
                    return Err(ProjectError::Config {
                        path: toml_path,
                        line,
                        column,
                        message: format!(
                            "module_name \"{value}\" must be lowercase letters, digits and underscores, \
                             starting with a letter"
                        ),
                    });
                }
                value
            }
            None => match &pubspec {
                Some(text) => module_name_from_pubspec(&pubspec_path, text)?,
                None => {
                    return Err(ProjectError::Config {
                        path: toml_path,
                        line: 1,
                        column: 1,
                        message: "module_name is required when there is no pubspec.yaml".into(),
                    })
                }
            },
        };

        let dialect = match &file.dialect {
            Some(d) => {
                let known = strata_sql::dialect_by_name(d.get_ref()).map(|d| d.name());
                let Some(value) = known.filter(|name| DIALECTS.contains(name)) else {
                    let (line, column) = line_col(&toml_text, d.span().start);
                    return Err(ProjectError::Config {
                        path: toml_path,
                        line,
                        column,
                        message: format!(
                            "unknown dialect \"{}\"; expected one of: {}",
                            d.get_ref(),
                            DIALECTS.join(", ")
                        ),
                    });
                };
                value.to_string()
            }
            None => serverpod_config_dialect(&root)?.unwrap_or("postgres").to_string(),
        };

        let model_roots = match &file.model_roots {
            Some(roots) => roots.iter().map(|r| under(&root, r)).collect(),
            None => vec![under(&root, "lib")],
        };
        let migrations_dir = under(&root, file.migrations_dir.as_deref().unwrap_or("migrations"));
        let jsonb_by_default = file
            .jsonb_by_default
            .or_else(|| generator.as_ref().and_then(|g| g.jsonb_by_default))
            .unwrap_or(false);
        let sqlite_path = match (&file.sqlite_path, serverpod_sqlite_file(&root)) {
            (Some(path), _) => under(&root, path),
            (None, Some(path)) => under(&root, path),
            (None, None) => under(&root, ".strata/strata.db"),
        };
        let listed = generator.as_ref().map(|g| g.modules.as_slice()).unwrap_or(&[]);
        let modules = resolve_modules(&root, file.module_dirs.as_deref(), listed, pub_cache)?;

        let shared_package_dirs = generator
            .as_ref()
            .map(|g| g.shared_packages.iter().map(|p| under(&root, p)).collect())
            .unwrap_or_default();
        Ok(ProjectConfig {
            shared_package_dirs,
            repair_dir: under(&root, "repair-migration"),
            root,
            module_name,
            dialect,
            model_roots,
            migrations_dir,
            modules,
            jsonb_by_default,
            sqlite_path,
        })
    }

    /// Module nicknames from `config/generator.yaml` (`modules: serverpod_auth: nickname: auth`),
    /// nickname -> module name, for resolving `module:auth:UserInfo` in models. Empty without
    /// the file.
    ///
    /// A module's own `nickname:` (in its `config/generator.yaml`) is its default nickname,
    /// as in Serverpod: `module:auth:UserInfo` works without the project listing the module.
    /// The project's `modules:` entries override it.
    pub fn module_aliases(&self) -> Result<BTreeMap<String, String>, ProjectError> {
        let mut aliases = self.module_own_nicknames()?;
        let path = self.root.join("config").join("generator.yaml");
        if let Some(text) = read_optional(&path)? {
            aliases.extend(GeneratorYaml::parse(&path, &text)?.aliases);
        }
        Ok(aliases)
    }

    /// nickname -> module name from each dependency module's own `config/generator.yaml`.
    fn module_own_nicknames(&self) -> Result<BTreeMap<String, String>, ProjectError> {
        let mut aliases = BTreeMap::new();
        for dir in &self.modules.dirs() {
            let path = dir.join("config").join("generator.yaml");
            let Some(text) = read_optional(&path)? else { continue };
            let Some(nickname) = GeneratorYaml::parse(&path, &text)?.nickname else { continue };
            let pubspec = dir.join("pubspec.yaml");
            let name = match read_optional(&pubspec)? {
                Some(text) => module_name_from_pubspec(&pubspec, &text)?,
                None => continue,
            };
            aliases.insert(nickname, name);
        }
        Ok(aliases)
    }

    /// Each shared package's name (from its `pubspec.yaml`) and directory.
    pub fn shared_packages(&self) -> Result<Vec<SharedPackage>, ProjectError> {
        let mut out = Vec::with_capacity(self.shared_package_dirs.len());
        for dir in &self.shared_package_dirs {
            let pubspec = dir.join("pubspec.yaml");
            let Some(text) = read_optional(&pubspec)? else {
                return Err(ProjectError::Config {
                    path: self.root.join("config").join("generator.yaml"),
                    line: 1,
                    column: 1,
                    message: format!(
                        "shared package {} has no pubspec.yaml; fix its path under shared_packages",
                        dir.display()
                    ),
                });
            };
            let name = package_name_from_pubspec(&pubspec, &text)?;
            out.push(SharedPackage { name, dir: dir.clone() });
        }
        Ok(out)
    }

    /// The entries under `extraClasses` in `config/generator.yaml`
    /// (`package:<pkg>/<file>.dart:<Class>`): custom serializable classes, stored as json.
    pub fn extra_classes(&self) -> Result<Vec<String>, ProjectError> {
        let path = self.root.join("config").join("generator.yaml");
        match read_optional(&path)? {
            Some(text) => Ok(GeneratorYaml::parse(&path, &text)?.extra_classes),
            None => Ok(Vec::new()),
        }
    }

    /// `path` relative to the project root when it lies inside it (for messages such as
    /// `Migration created: migrations/<version>`), otherwise unchanged.
    pub fn display_path(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.root).map(Path::to_path_buf).unwrap_or_else(|_| path.to_path_buf())
    }
}

/// `root/rel`, without a leading `./` when the root is the current directory, so messages
/// show `migrations/...` rather than `./migrations/...`.
pub(crate) fn under(root: &Path, rel: impl AsRef<Path>) -> PathBuf {
    if root == Path::new(".") || root.as_os_str().is_empty() {
        rel.as_ref().to_path_buf()
    } else {
        root.join(rel)
    }
}

/// Dart package / Serverpod module names: `[a-z][a-z0-9_]*` (a leading `_` is tolerated, as
/// Serverpod's internal `_repair`).
fn is_module_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, ProjectError> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ProjectError::io("cannot read", path, e)),
    }
}

fn parse_toml(path: &Path, text: &str) -> Result<FileConfig, ProjectError> {
    toml::from_str::<FileConfig>(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        ProjectError::Config {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Parses a small YAML file into its first document; syntax errors are located.
pub(crate) fn load_yaml<'a>(path: &Path, text: &'a str) -> Result<Option<Yaml<'a>>, ProjectError> {
    let mut docs = Yaml::load_from_str(text).map_err(|e| yaml_error(path, &e))?;
    Ok(if docs.is_empty() { None } else { Some(docs.swap_remove(0)) })
}

/// A YAML syntax error, located.
fn yaml_error(path: &Path, e: &saphyr::ScanError) -> ProjectError {
    ProjectError::Config {
        path: path.to_path_buf(),
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: format!("invalid YAML: {}", e.info()),
    }
}

/// Serverpod's rule: the module name is the server package name without `_server`. The name
/// must be a valid package name, like `module_name` in strata.toml, since it ends up in every
/// `definition.json` and in the bookkeeping rows.
fn module_name_from_pubspec(path: &Path, text: &str) -> Result<String, ProjectError> {
    let name = package_name_from_pubspec(path, text)?;
    Ok(name.strip_suffix("_server").filter(|s| !s.is_empty()).unwrap_or(&name).to_string())
}

/// The validated `name:` of a `pubspec.yaml`.
fn package_name_from_pubspec(path: &Path, text: &str) -> Result<String, ProjectError> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| yaml_error(path, &e))?;
    let node = docs.first().and_then(|d| d.data.as_mapping_get("name"));
    let name = node.and_then(|n| n.data.as_str().map(|s| (s.trim(), n.span.start)));
    let Some((name, at)) = name.filter(|(n, _)| !n.is_empty()) else {
        return Err(ProjectError::Config {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: "pubspec.yaml has no `name:`; set module_name in strata.toml".into(),
        });
    };
    if !is_module_name(name) {
        return Err(ProjectError::Config {
            path: path.to_path_buf(),
            line: at.line().max(1),
            column: at.col() + 1,
            message: format!(
                "the package name \"{}\" must be lowercase letters, digits and underscores, \
                 starting with a letter; fix `name:` or set module_name in strata.toml",
                name.escape_debug()
            ),
        });
    }
    Ok(name.to_string())
}

/// The run-mode config files Serverpod reads the database dialect from: every
/// `config/*.yaml`/`*.yml` except `generator.*` and `passwords.*`, in name order.
fn serverpod_run_mode_configs(root: &Path) -> Result<Vec<PathBuf>, ProjectError> {
    let dir = root.join("config");
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ProjectError::io("cannot read", &dir, e)),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            (name.ends_with(".yaml") || name.ends_with(".yml"))
                && !name.starts_with("generator.")
                && !name.starts_with("passwords.")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The `database:` section's `filePath` (`Some`) or its absence (`None`) in one config file;
/// the outer `None` when the file has no `database:` section. A file that does not parse is
/// skipped here: the connection code reports it, located, when its run mode is used.
fn database_file_path(path: &Path) -> Option<Option<String>> {
    let text = fs::read_to_string(path).ok()?;
    let doc = load_yaml(path, &text).ok()??;
    let database = doc.as_mapping_get("database")?;
    database.as_mapping()?;
    Some(database.as_mapping_get("filePath").and_then(|f| f.as_str()).map(str::to_string))
}

/// Serverpod's rule for the dialect: a `database:` section with `filePath:` is SQLite, any
/// other `database:` section PostgreSQL; all run modes must agree. `None` when no
/// config file has a `database:` section.
fn serverpod_config_dialect(root: &Path) -> Result<Option<&'static str>, ProjectError> {
    let mut found: Vec<(PathBuf, &'static str)> = Vec::new();
    for path in serverpod_run_mode_configs(root)? {
        if let Some(file_path) = database_file_path(&path) {
            found.push((path, if file_path.is_some() { "sqlite" } else { "postgres" }));
        }
    }
    let Some((first_path, first)) = found.first().cloned() else { return Ok(None) };
    if let Some((path, other)) = found.iter().find(|(_, d)| *d != first) {
        return Err(ProjectError::Config {
            path: path.clone(),
            line: 1,
            column: 1,
            message: format!(
                "its `database:` section is {other} but {} is {first}; a Serverpod project uses one database \
                 dialect in every run mode (`filePath:` means SQLite): make them agree, or set `dialect` in strata.toml",
                first_path.display()
            ),
        });
    }
    Ok(Some(first))
}

/// The SQLite file of the development run mode (`database: filePath:` in
/// `config/development.yaml`), the database `apply` uses when given no other.
fn serverpod_sqlite_file(root: &Path) -> Option<String> {
    database_file_path(&root.join("config").join("development.yaml")).flatten()
}

/// The parts of `config/generator.yaml` that affect the database.
#[derive(Debug, Default)]
struct GeneratorYaml {
    jsonb_by_default: Option<bool>,
    /// Module names listed under `modules:`, in file order.
    modules: Vec<String>,
    /// `nickname` -> module name.
    aliases: BTreeMap<String, String>,
    /// The package's own `nickname:` (a module's default nickname).
    nickname: Option<String>,
    /// `shared_packages:` paths, relative to the server package.
    shared_packages: Vec<String>,
    /// `extraClasses:` entries.
    extra_classes: Vec<String>,
}

impl GeneratorYaml {
    fn parse(path: &Path, text: &str) -> Result<GeneratorYaml, ProjectError> {
        let Some(doc) = load_yaml(path, text)? else { return Ok(GeneratorYaml::default()) };
        let jsonb_by_default = doc.as_mapping_get("serialize_as_jsonb_by_default").and_then(|v| v.as_bool());
        let mut modules = Vec::new();
        let mut aliases = BTreeMap::new();
        if let Some(m) = doc.as_mapping_get("modules") {
            if let Some(map) = m.as_mapping() {
                for (k, v) in map.iter() {
                    let Some(name) = k.as_str() else { continue };
                    modules.push(name.to_string());
                    if let Some(nick) = v.as_mapping_get("nickname").and_then(|n| n.as_str()) {
                        aliases.insert(nick.to_string(), name.to_string());
                    }
                }
            } else if let Some(seq) = m.as_sequence() {
                modules.extend(seq.iter().filter_map(|k| k.as_str()).map(str::to_string));
            }
        }
        let nickname = doc.as_mapping_get("nickname").and_then(|v| v.as_str()).map(str::to_string);
        let extra_classes = string_list(&doc, "extraClasses").iter().map(|e| e.trim().to_string()).collect();
        let shared_packages = shared_package_paths(path, &doc)?;
        Ok(GeneratorYaml { jsonb_by_default, modules, aliases, nickname, shared_packages, extra_classes })
    }
}

/// The strings of the list under `key` (non-strings skipped; no list, no strings).
fn string_list(doc: &Yaml, key: &str) -> Vec<String> {
    let Some(seq) = doc.as_mapping_get(key).and_then(|v| v.as_sequence()) else { return Vec::new() };
    seq.iter().filter_map(|v| v.as_str()).map(str::to_string).collect()
}

/// `shared_packages:`, which Serverpod requires to be a list of paths relative to the server
/// package.
fn shared_package_paths(path: &Path, doc: &Yaml) -> Result<Vec<String>, ProjectError> {
    let Some(value) = doc.as_mapping_get("shared_packages") else { return Ok(Vec::new()) };
    let invalid =
        |message: String| ProjectError::Config { path: path.to_path_buf(), line: 1, column: 1, message };
    let Some(seq) = value.as_sequence() else {
        return Err(invalid(
            "\"shared_packages\" must be a list of package paths relative to the server package".into(),
        ));
    };
    let mut out = Vec::new();
    for entry in seq {
        match entry.as_str() {
            Some(p) if !Path::new(p).is_absolute() => out.push(p.to_string()),
            _ => {
                return Err(invalid(format!(
                    "each entry of \"shared_packages\" must be a path relative to the server package, found {entry:?}"
                )))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("", 0), (1, 1));
    }
}
