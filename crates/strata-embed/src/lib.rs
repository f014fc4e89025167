//! Embeds a project's `migrations/` directory in an application binary at build time, so the
//! application ships without it and [`strata_db::migrate_at_startup`] runs exactly the files it
//! was built with.
//!
//! In the application's `build.rs`:
//!
//! ```no_run
//! strata_embed::embed_migrations("migrations").expect("embedding migrations");
//! ```
//!
//! and in its code: `static MIGRATIONS: &[strata_db::EmbeddedMigration] = strata_db::include_migrations!();`
//!
//! The generated file only names each SQL file through `include_str!`, so the text in the binary
//! is the file's bytes, and Cargo rebuilds when anything under the directory changes.
//!
//! [`strata_db::migrate_at_startup`]: https://docs.rs/strata-db

use std::path::{Path, PathBuf};

/// The file [`embed_migrations`] writes under `OUT_DIR` (and `include_migrations!` includes).
pub const GENERATED_FILE: &str = "strata_migrations.rs";

/// Why the migrations could not be embedded.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(
        "{}: no migrations directory here; pass embed_migrations() the path of the project's migrations/ \
         (relative to the crate's Cargo.toml), or create the first migration with `strata create-migration`",
        .0.display()
    )]
    MissingDir(PathBuf),
    #[error("{}: {message}", .path.display())]
    Io { path: PathBuf, message: String },
    #[error("{}: the version directory's name is not UTF-8; rename it", .0.display())]
    NonUtf8Name(PathBuf),
    #[error("OUT_DIR is not set: call embed_migrations() from a build script (build.rs)")]
    NoOutDir,
}

fn io(path: &Path, e: std::io::Error) -> EmbedError {
    EmbedError::Io { path: path.to_path_buf(), message: e.to_string() }
}

/// The version directories of `dir`, sorted, by the runner's rule (`strata_db::disk::read_migrations`):
/// a version is a directory whose name does not start with `.` and that is not empty. A name
/// that is not UTF-8 is an error here (the runner would skip it), so nothing is left out silently.
pub fn version_dirs(dir: &Path) -> Result<Vec<String>, EmbedError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(EmbedError::MissingDir(dir.into())),
        Err(e) => return Err(io(dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| io(dir, e))?.path();
        if !path.is_dir() {
            continue;
        }
        let name = path.file_name().unwrap_or_default().to_str().map(str::to_string);
        let name = name.ok_or_else(|| EmbedError::NonUtf8Name(path.clone()))?;
        if name.starts_with('.') {
            continue;
        }
        if std::fs::read_dir(&path).map_err(|e| io(&path, e))?.next().is_some() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// `Some(include_str!("<abs path>"))` when the file exists, else `None`.
fn include_expr(file: &Path) -> Result<String, EmbedError> {
    if !file.is_file() {
        return Ok("None".into());
    }
    let text = file.to_str().ok_or_else(|| EmbedError::NonUtf8Name(file.to_path_buf()))?;
    Ok(format!("Some(include_str!({text:?}))"))
}

/// The Rust expression (a `&[strata_db::EmbeddedMigration]`) that embeds `dir`'s versions.
/// `dir` should be absolute, since `include_str!` resolves relative paths against the generated
/// file. Deterministic: the same directory gives the same text.
pub fn generate(dir: &Path) -> Result<String, EmbedError> {
    let mut out = String::from("&[\n");
    for version in version_dirs(dir)? {
        let vdir = dir.join(&version);
        out.push_str(&format!(
            "    ::strata_db::EmbeddedMigration {{ version: {version:?}, definition_sql: {}, migration_sql: {} }},\n",
            include_expr(&vdir.join("definition.sql"))?,
            include_expr(&vdir.join("migration.sql"))?,
        ));
    }
    out.push(']');
    Ok(out)
}

/// For `build.rs`: writes [`GENERATED_FILE`] into `OUT_DIR` for `dir` (relative to the crate's
/// manifest directory) and tells Cargo to rebuild when anything under `dir` changes.
pub fn embed_migrations(dir: impl AsRef<Path>) -> Result<(), EmbedError> {
    let out_dir = std::env::var_os("OUT_DIR").ok_or(EmbedError::NoOutDir)?;
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
    let dir = manifest.join(dir.as_ref());
    let dir = std::fs::canonicalize(&dir).map_err(|_| EmbedError::MissingDir(dir.clone()))?;
    println!("cargo:rerun-if-changed={}", dir.display());
    let code = generate(&dir)?;
    let target = Path::new(&out_dir).join(GENERATED_FILE);
    std::fs::write(&target, code).map_err(|e| io(&target, e))
}
