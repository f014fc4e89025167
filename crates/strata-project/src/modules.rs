//! Where a project's dependency modules live. A module's tables are merged into every
//! `definition.json`, so a module that is not found must stop the command: otherwise the next
//! migration would drop its tables.
//!
//! Sources, first that exists wins: `module_dirs` in strata.toml, then
//! `.dart_tool/package_config.json` (written by `dart pub get`), then `pubspec.lock` (`path`
//! packages, and hosted and git ones in the pub cache), then the `path:` dependencies of
//! `pubspec.yaml`. In a pub workspace (`resolution: workspace`) the first two live in the
//! workspace root. See `docs/configuration.md`.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use saphyr::Yaml;

use crate::config::{load_yaml, read_optional, under};
use crate::error::ProjectError;

/// How a module's directory was found, for the "where it came from" lines of `status` and `diff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleOrigin {
    /// `module_dirs` in strata.toml.
    StrataToml,
    /// `.dart_tool/package_config.json`.
    PackageConfig,
    /// A `path:` dependency, from pubspec.lock or pubspec.yaml.
    PubspecPath,
    /// The version pinned in pubspec.lock, in the pub cache rooted here.
    PubCache(PathBuf),
}

impl fmt::Display for ModuleOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleOrigin::StrataToml => f.write_str("strata.toml module_dirs"),
            ModuleOrigin::PackageConfig => f.write_str("package_config.json"),
            ModuleOrigin::PubspecPath => f.write_str("pubspec path:"),
            ModuleOrigin::PubCache(cache) => write!(f, "pub cache at {}", cache.display()),
        }
    }
}

/// A dependency module's server package directory and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSource {
    /// The package name (`serverpod_auth_server`), or the directory for strata.toml entries.
    pub package: String,
    pub dir: PathBuf,
    pub origin: ModuleOrigin,
}

impl fmt::Display for ModuleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "module {}: {} ({})", self.package, self.dir.display(), self.origin)
    }
}

/// A dependency whose directory cannot be found, so whether it is a module is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingModule {
    pub package: String,
    /// Where it was looked for, as a sentence fragment (`pubspec.lock pins 2.0.0, but ... does
    /// not exist`).
    pub looked: String,
    /// Named like a module (`serverpod`, `*_server`, listed in generator.yaml, or a
    /// strata.toml entry): always an error when the modules are needed.
    pub looks_like_module: bool,
}

impl fmt::Display for MissingModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.package, self.looked)
    }
}

/// The project's dependency modules: those found, in merge order, and those that could not be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Modules {
    pub found: Vec<ModuleSource>,
    pub missing: Vec<MissingModule>,
}

impl Modules {
    /// The server package directories of the found modules, in merge order.
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.found.iter().map(|m| m.dir.clone()).collect()
    }

    /// Missing dependencies that may be modules: named like one, or (by module name) installed
    /// by the latest version, whose tables a migration built without them would drop.
    pub fn needed_missing(&self, installed: &[String]) -> Vec<MissingModule> {
        let installed_here = |package: &str| {
            let short = package.strip_suffix("_server").unwrap_or(package);
            installed.iter().any(|m| m == package || m == short)
        };
        self.missing.iter().filter(|m| m.looks_like_module || installed_here(&m.package)).cloned().collect()
    }

    /// One line per found module saying where it came from, then one per missing dependency
    /// that [`Modules::require`] would refuse (empty without modules): what `status` and `diff`
    /// print on stderr.
    pub fn report(&self, installed: &[String]) -> String {
        let mut out = String::new();
        for m in &self.found {
            out.push_str(&format!("{m}\n"));
        }
        for m in self.needed_missing(installed) {
            out.push_str(&format!("module {} not found: {} (run `dart pub get`)\n", m.package, m.looked));
        }
        out
    }

    /// Fails, naming each one and the fix, when a module the project may need is missing.
    pub fn require(&self, root: &Path, installed: &[String]) -> Result<(), ProjectError> {
        let missing = self.needed_missing(installed);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ProjectError::ModulesNotFound { root: root.to_path_buf(), modules: missing })
        }
    }
}

/// The pub cache directory (`$PUB_CACHE`, else `~/.pub-cache`, or `%LOCALAPPDATA%\Pub\Cache`
/// on Windows), if it can be known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubCache(Option<PathBuf>);

impl PubCache {
    /// Where `dart pub get` puts packages on this machine.
    pub fn from_env() -> PubCache {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        if let Some(dir) = var("PUB_CACHE") {
            return PubCache(Some(dir));
        }
        if cfg!(windows) {
            PubCache(var("LOCALAPPDATA").map(|d| d.join("Pub").join("Cache")))
        } else {
            PubCache(var("HOME").map(|d| d.join(".pub-cache")))
        }
    }

    /// A pub cache at `dir` (tests, or a caller that knows better).
    pub fn at(dir: impl Into<PathBuf>) -> PubCache {
        PubCache(Some(dir.into()))
    }
}

/// Resolves the project's modules. `configured` is `module_dirs` from strata.toml; `listed` the
/// module names of generator.yaml, which come first in merge order.
pub fn resolve_modules(
    root: &Path,
    configured: Option<&[String]>,
    listed: &[String],
    cache: &PubCache,
) -> Result<Modules, ProjectError> {
    let candidates = match configured {
        Some(dirs) => return Ok(from_strata_toml(root, dirs)),
        None => {
            let resolution = resolution_root(root)?;
            match from_package_config(&resolution)? {
                Some(c) => c,
                None => match from_pubspec_lock(&resolution, cache)? {
                    Some(c) => c,
                    None => from_pubspec_paths(root, &resolution)?,
                },
            }
        }
    };
    let mut modules = classify(root, candidates, listed);
    let order = serverpod_module_order(root, &modules.found)?;
    let rank = |pkg: &str| order.iter().position(|o| o == pkg).unwrap_or(usize::MAX);
    // Stable sort: Serverpod's order, then any module it would not reach in source order.
    modules.found.sort_by_key(|m| rank(&m.package));
    Ok(modules)
}

/// Serverpod's module order (`locate_modules.dart`): breadth first over the `dependencies` of
/// `pubspec.yaml` that are module packages (`serverpod`, or named `*_server`), starting with the
/// project's own, each module's in its pubspec's order. The order of `installedModules` in every
/// definition file follows it.
fn serverpod_module_order(root: &Path, found: &[ModuleSource]) -> Result<Vec<String>, ProjectError> {
    let is_module = |name: &str| name == "serverpod" || name.ends_with("_server");
    let mut queue: std::collections::VecDeque<String> =
        pubspec_section(root, "pubspec.yaml", "dependencies")?
            .into_iter()
            .map(|(name, _)| name)
            .filter(|n| is_module(n))
            .collect();
    let mut order: Vec<String> = Vec::new();
    while let Some(name) = queue.pop_front() {
        if order.contains(&name) {
            continue;
        }
        order.push(name.clone());
        let Some(module) = found.iter().find(|m| m.package == name) else { continue };
        for (dep, _) in pubspec_section(&module.dir, "pubspec.yaml", "dependencies")? {
            if is_module(&dep) {
                queue.push_back(dep);
            }
        }
    }
    Ok(order)
}

/// A dependency package and where it should be, or why its place is unknown.
struct Candidate {
    package: String,
    place: Result<(PathBuf, ModuleOrigin), String>,
}

/// strata.toml entries are modules by declaration; one that does not exist is missing.
fn from_strata_toml(root: &Path, dirs: &[String]) -> Modules {
    let mut modules = Modules::default();
    for d in dirs {
        let dir = under(root, d);
        if dir.is_dir() {
            modules.found.push(ModuleSource { package: d.clone(), dir, origin: ModuleOrigin::StrataToml });
        } else {
            modules.missing.push(MissingModule {
                package: d.clone(),
                looked: format!(
                    "module_dirs in strata.toml lists {}, which is not a directory",
                    dir.display()
                ),
                looks_like_module: true,
            });
        }
    }
    modules
}

/// Keeps the candidates that are module server packages (`config/generator.yaml` and
/// `migrations/`), other than the project itself, once each; unplaceable ones are missing.
fn classify(root: &Path, candidates: Vec<Candidate>, listed: &[String]) -> Modules {
    let own = fs::canonicalize(root).ok();
    let mut seen = BTreeSet::new();
    let mut modules = Modules::default();
    for Candidate { package, place } in candidates {
        let (dir, origin) = match place {
            Ok((dir, _)) if !dir.is_dir() => {
                let looked = format!("its directory {} does not exist", dir.display());
                modules.missing.push(missing(package, looked, listed));
                continue;
            }
            Ok(found) => found,
            Err(looked) => {
                modules.missing.push(missing(package, looked, listed));
                continue;
            }
        };
        if !dir.join("config").join("generator.yaml").is_file() || !dir.join("migrations").is_dir() {
            continue;
        }
        let canonical = fs::canonicalize(&dir).ok();
        if canonical.is_some() && canonical == own {
            continue;
        }
        if seen.insert(canonical.unwrap_or_else(|| dir.clone())) {
            modules.found.push(ModuleSource { package, dir, origin });
        }
    }
    modules
}

fn missing(package: String, looked: String, listed: &[String]) -> MissingModule {
    let short = package.strip_suffix("_server").unwrap_or(&package);
    let looks_like_module = package == "serverpod"
        || package.ends_with("_server")
        || listed.iter().any(|m| m == &package || m == short);
    MissingModule { package, looked, looks_like_module }
}

/// Every package of `.dart_tool/package_config.json`, or `None` without the file.
fn from_package_config(root: &Path) -> Result<Option<Vec<Candidate>>, ProjectError> {
    let dart_tool = under(root, ".dart_tool");
    let path = dart_tool.join("package_config.json");
    let Some(text) = read_optional(&path)? else { return Ok(None) };
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| ProjectError::Config {
        path: path.clone(),
        line: e.line(),
        column: e.column(),
        message: format!("invalid JSON: {e}"),
    })?;
    let packages = json.get("packages").and_then(|p| p.as_array()).cloned().unwrap_or_default();
    let candidates = packages
        .iter()
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?;
            let uri = p.get("rootUri")?.as_str()?;
            let dir = resolve_root_uri(&dart_tool, uri);
            Some(Candidate { package: name.to_string(), place: Ok((dir, ModuleOrigin::PackageConfig)) })
        })
        .collect();
    Ok(Some(candidates))
}

/// Every package pinned in `pubspec.lock`, or `None` without the file.
fn from_pubspec_lock(root: &Path, cache: &PubCache) -> Result<Option<Vec<Candidate>>, ProjectError> {
    let path = under(root, "pubspec.lock");
    let Some(text) = read_optional(&path)? else { return Ok(None) };
    let Some(doc) = load_yaml(&path, &text)? else { return Ok(Some(Vec::new())) };
    let Some(packages) = doc.as_mapping_get("packages").and_then(|p| p.as_mapping()) else {
        return Ok(Some(Vec::new()));
    };
    let mut candidates = Vec::new();
    for (name, entry) in packages.iter() {
        let Some(name) = name.as_str() else { continue };
        if let Some(place) = locked_place(root, name, entry, cache) {
            candidates.push(Candidate { package: name.to_string(), place });
        }
    }
    Ok(Some(candidates))
}

/// Where pub put a locked package; `None` for SDK packages (never modules).
fn locked_place(
    root: &Path,
    name: &str,
    entry: &Yaml,
    cache: &PubCache,
) -> Option<Result<(PathBuf, ModuleOrigin), String>> {
    let text = |node: Option<&Yaml>, key: &str| node.and_then(|n| n.as_mapping_get(key)).and_then(yaml_text);
    let description = entry.as_mapping_get("description");
    let version = text(Some(entry), "version").unwrap_or_default();
    match text(Some(entry), "source").as_deref() {
        Some("path") => {
            let rel = text(description, "path").unwrap_or_default();
            Some(Ok((under(root, rel), ModuleOrigin::PubspecPath)))
        }
        Some("hosted") => {
            let url = text(description, "url").unwrap_or_else(|| "https://pub.dev".into());
            let dir =
                |c: &Path| c.join("hosted").join(hosted_dir_name(&url)).join(format!("{name}-{version}"));
            Some(in_cache(cache, dir, &format!("pubspec.lock pins {version} from {url}")))
        }
        Some("git") => {
            let url = text(description, "url").unwrap_or_default();
            let reference = text(description, "resolved-ref").unwrap_or_default();
            let sub = text(description, "path").unwrap_or_else(|| ".".into());
            let repo = git_repo_name(&url);
            let dir = |c: &Path| c.join("git").join(format!("{repo}-{reference}")).join(&sub);
            Some(in_cache(cache, dir, &format!("pubspec.lock pins {url} at {reference}")))
        }
        Some("sdk") => None,
        other => Some(Err(format!("pubspec.lock gives the unknown source {:?}", other.unwrap_or("")))),
    }
}

/// A package directory in the pub cache, or why it is not there.
fn in_cache(
    cache: &PubCache,
    dir: impl Fn(&Path) -> PathBuf,
    pinned: &str,
) -> Result<(PathBuf, ModuleOrigin), String> {
    let Some(root) = &cache.0 else {
        return Err(format!("{pinned}, but the pub cache is unknown (neither PUB_CACHE nor HOME is set)"));
    };
    let dir = dir(root);
    if dir.is_dir() {
        Ok((dir, ModuleOrigin::PubCache(root.clone())))
    } else {
        Err(format!("{pinned}, but {} does not exist", dir.display()))
    }
}

/// The pub cache directory of a hosted repository: `pub.dev` for the default one, otherwise the
/// URL without `https://`, with characters that cannot be in a file name written `%<code>`.
fn hosted_dir_name(url: &str) -> String {
    let url = url.trim_end_matches('/');
    let bare = url.strip_prefix("https://").unwrap_or(url);
    if bare == "pub.dev" || bare == "pub.dartlang.org" {
        return "pub.dev".into();
    }
    bare.chars()
        .map(|c| if "<>:\"\\/|?*%".contains(c) { format!("%{}", c as u32) } else { c.to_string() })
        .collect()
}

/// `https://github.com/org/repo.git` -> `repo`, the name pub gives a git checkout.
fn git_repo_name(url: &str) -> String {
    let last = url.trim_end_matches('/').rsplit(['/', ':']).next().unwrap_or(url);
    last.strip_suffix(".git").unwrap_or(last).to_string()
}

/// Without a lock: the `path:` dependencies of pubspec.yaml, followed through each path
/// package's own pubspec.yaml, with the `dependency_overrides` of the resolution root (the
/// project, or its workspace root) replacing them as pub does. Hosted and git dependencies
/// cannot be placed without the versions a lock pins.
fn from_pubspec_paths(root: &Path, resolution: &Path) -> Result<Vec<Candidate>, ProjectError> {
    let mut deps = overrides(resolution)?;
    let mut todo = vec![root.to_path_buf()];
    // Canonical paths, so a cycle of path dependencies (`a` -> `../b` -> `../a`) ends.
    let key = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut visited = BTreeSet::from([key(root)]);
    while let Some(dir) = todo.pop() {
        for (name, dep) in pubspec_section(&dir, "pubspec.yaml", "dependencies")? {
            if deps.iter().any(|(n, _, _)| *n == name) {
                continue;
            }
            deps.push((name, dir.clone(), dep));
        }
        // Follow each path package once, overridden or not.
        for (_, base, dep) in &deps {
            if let Dependency::Path(rel) = dep {
                let path = under(base, rel);
                if visited.insert(key(&path)) {
                    todo.push(path);
                }
            }
        }
    }
    let mut candidates: Vec<Candidate> = deps
        .into_iter()
        .filter_map(|(package, base, dep)| {
            let place = match dep {
                Dependency::Path(rel) => Ok((under(&base, rel), ModuleOrigin::PubspecPath)),
                Dependency::Pinned => Err("pubspec.yaml needs it, but there is neither \
                                           .dart_tool/package_config.json nor pubspec.lock to say \
                                           which version and where"
                    .to_string()),
                Dependency::Sdk => return None,
            };
            Some(Candidate { package, place })
        })
        .collect();
    candidates.sort_by(|a, b| a.package.cmp(&b.package));
    Ok(candidates)
}

/// A dependency as pubspec.yaml states it.
enum Dependency {
    Path(String),
    /// A hosted or git dependency: where it lives depends on the resolved version.
    Pinned,
    Sdk,
}

/// The `dependency_overrides` of `dir`: pubspec_overrides.yaml's when it has them, otherwise
/// pubspec.yaml's; each with the directory its paths are relative to.
fn overrides(dir: &Path) -> Result<Vec<(String, PathBuf, Dependency)>, ProjectError> {
    let mut found = pubspec_section(dir, "pubspec_overrides.yaml", "dependency_overrides")?;
    if found.is_empty() {
        found = pubspec_section(dir, "pubspec.yaml", "dependency_overrides")?;
    }
    Ok(found.into_iter().map(|(name, dep)| (name, dir.to_path_buf(), dep)).collect())
}

/// The dependencies under `key` in `dir/file`, in file order (none without the file or key).
fn pubspec_section(dir: &Path, file: &str, key: &str) -> Result<Vec<(String, Dependency)>, ProjectError> {
    let path = dir.join(file);
    let Some(text) = read_optional(&path)? else { return Ok(Vec::new()) };
    let Some(doc) = load_yaml(&path, &text)? else { return Ok(Vec::new()) };
    let Some(map) = doc.as_mapping_get(key).and_then(|m| m.as_mapping()) else { return Ok(Vec::new()) };
    let mut deps = Vec::new();
    for (name, value) in map.iter() {
        let Some(name) = name.as_str() else { continue };
        let dep = match value.as_mapping_get("path").and_then(yaml_text) {
            Some(rel) => Dependency::Path(rel),
            None if value.as_mapping_get("sdk").is_some() => Dependency::Sdk,
            None => Dependency::Pinned,
        };
        deps.push((name.to_string(), dep));
    }
    Ok(deps)
}

/// The directory `dart pub get` resolves the package at `root` in: for a package with
/// `resolution: workspace`, the nearest parent whose pubspec.yaml has `workspace:` (where
/// package_config.json and pubspec.lock then live); otherwise `root` itself.
fn resolution_root(root: &Path) -> Result<PathBuf, ProjectError> {
    let path = root.join("pubspec.yaml");
    let Some(text) = read_optional(&path)? else { return Ok(root.to_path_buf()) };
    let in_workspace = load_yaml(&path, &text)?
        .and_then(|doc| doc.as_mapping_get("resolution").and_then(|r| r.as_str().map(str::to_string)))
        .is_some_and(|r| r == "workspace");
    if !in_workspace {
        return Ok(root.to_path_buf());
    }
    let mut dir = root.to_path_buf();
    let mut previous = fs::canonicalize(&dir).ok();
    loop {
        dir = parent_of(&dir);
        let current = fs::canonicalize(&dir).ok();
        if current.is_none() || current == previous {
            return Err(ProjectError::Config {
                path,
                line: 1,
                column: 1,
                message: "`resolution: workspace`, but no parent directory has a pubspec.yaml with \
                          `workspace:`; run `dart pub get` in the workspace, or remove `resolution:`"
                    .into(),
            });
        }
        let parent_pubspec = dir.join("pubspec.yaml");
        if let Some(text) = read_optional(&parent_pubspec)? {
            if load_yaml(&parent_pubspec, &text)?.is_some_and(|doc| doc.as_mapping_get("workspace").is_some())
            {
                return Ok(dir);
            }
        }
        previous = current;
    }
}

/// The parent directory, written as the user would (`app` -> `.`, `.` -> `..`, `..` -> `../..`).
fn parent_of(dir: &Path) -> PathBuf {
    match dir.components().next_back() {
        Some(std::path::Component::Normal(_)) => match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        },
        Some(std::path::Component::CurDir) | None => PathBuf::from(".."),
        _ => dir.join(".."),
    }
}

/// A scalar as text (versions can parse as numbers).
fn yaml_text(node: &Yaml) -> Option<String> {
    if let Some(s) = node.as_str() {
        return Some(s.to_string());
    }
    node.as_integer().map(|i| i.to_string()).or_else(|| node.as_floating_point().map(|f| f.to_string()))
}

/// Resolves a package_config `rootUri` (absolute `file://` URI or a URI relative to the
/// `.dart_tool` directory) to a path.
fn resolve_root_uri(dart_tool: &Path, uri: &str) -> PathBuf {
    if let Some(rest) = uri.strip_prefix("file://") {
        // `file:///C:/x` on Windows; `file:///home/x` on Unix.
        let decoded = percent_decode(rest);
        #[cfg(windows)]
        let decoded = decoded.trim_start_matches('/').to_string();
        PathBuf::from(decoded)
    } else {
        join_lexically(dart_tool, &percent_decode(uri))
    }
}

/// `base` joined with a relative URI path, `..` taken lexically as URI resolution does (so
/// `.dart_tool` + `../../shared_server/` is `../shared_server`).
fn join_lexically(base: &Path, rel: &str) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = base.components().filter(|c| *c != Component::CurDir).collect();
    for part in Path::new(rel).components() {
        match part {
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            // Above the root is the root, as in URI resolution.
            Component::ParentDir if matches!(out.last(), Some(Component::RootDir)) => {}
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex =
                std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b/c%2"), "a b/c%2");
        assert_eq!(percent_decode("%41%42"), "AB");
    }

    #[test]
    fn relative_root_uris_are_joined_lexically() {
        assert_eq!(join_lexically(Path::new(".dart_tool"), "../../shared/"), Path::new("../shared"));
        assert_eq!(join_lexically(Path::new("/a/app/.dart_tool"), "../"), Path::new("/a/app"));
        assert_eq!(join_lexically(Path::new("/a/.dart_tool"), "../../../x"), Path::new("/x"));
    }

    #[test]
    fn hosted_and_git_directory_names() {
        assert_eq!(hosted_dir_name("https://pub.dev"), "pub.dev");
        assert_eq!(hosted_dir_name("https://pub.dartlang.org/"), "pub.dev");
        assert_eq!(hosted_dir_name("https://pub.example.com/api"), "pub.example.com%47api");
        assert_eq!(git_repo_name("https://github.com/org/auth.git"), "auth");
        assert_eq!(git_repo_name("git@github.com:org/auth"), "auth");
    }
}
