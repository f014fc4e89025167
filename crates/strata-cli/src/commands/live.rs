//! Reading a live database's schema for `diff --from db:URL` (owned by the introspect helper).
//! PLACEHOLDER until the introspect helper replaces it.
use std::path::Path;
use strata_schema::DatabaseDefinition;

/// Introspects the database at `url` (relative to `project_dir` for SQLite paths).
pub fn live_definition(_project_dir: &Path, _url: &str) -> anyhow::Result<DatabaseDefinition> {
    anyhow::bail!("live databases are not supported yet")
}
