//! OWNED BY THE DIFF HELPER: this skeleton only fixes the public contract.
use strata_schema::{DatabaseDefinition, DatabaseMigration};

/// The migration that takes `source` to `target` (Serverpod's `generateDatabaseMigration`).
pub fn generate_migration(_source: &DatabaseDefinition, _target: &DatabaseDefinition) -> DatabaseMigration {
    unimplemented!("strata-diff helper")
}
