//! Serverpod model files -> the project's `DatabaseDefinition`.
//! OWNED BY THE MODELS HELPER: this skeleton only fixes the public contract.

use std::path::PathBuf;
use strata_schema::DatabaseDefinition;

/// One model file's path (as shown in diagnostics) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// Project-level options that change how models map to tables.
#[derive(Debug, Clone)]
pub struct ModelOptions {
    /// The project's module name (Serverpod: the server package name minus `_server`).
    pub module_name: String,
    /// `serialize_as_jsonb_by_default` from `config/generator.yaml`.
    pub jsonb_by_default: bool,
}

/// A problem in a model file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// All problems found in one run (never just the first).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} error(s) in model files", .0.len())]
pub struct Diagnostics(pub Vec<Diagnostic>);

/// Finds model files under the server package directory, sorted by path.
pub fn discover_model_files(
    _server_dir: &std::path::Path,
    _extra_roots: &[PathBuf],
) -> std::io::Result<Vec<PathBuf>> {
    unimplemented!("strata-models helper")
}

/// Parses and validates every model file, and builds the project's own tables (sorted by name).
pub fn build_project_definition(
    _files: &[SourceFile],
    _options: &ModelOptions,
) -> Result<DatabaseDefinition, Diagnostics> {
    unimplemented!("strata-models helper")
}
