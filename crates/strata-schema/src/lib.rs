//! strata's schema model: the vocabulary every other crate speaks.
//!
//! * [`definition`]: a database's tables, columns, indexes and foreign keys
//!   (`definition.json`).
//! * [`migration`]: the actions and warnings between two definitions (`migration.json`).
//! * [`json`]: Serverpod-compatible reading (v1 and v2) and writing (v2, byte-exact).
//! * [`defaults`]: abstract column defaults and their PostgreSQL spellings.
//! * [`layout`]: partitioning, inheritance and `UNLOGGED` (strata's extension).
//! * [`types`]: enum and domain types (strata's extension) and the changes between them.
//!
//! This crate does no I/O and knows nothing of YAML models, SQL dialects or databases.

pub mod defaults;
pub mod definition;
pub mod identity_options;
pub mod json;
pub mod keys;
pub mod layout;
pub mod migration;
pub mod normalize;
pub mod types;

pub use definition::*;
pub use identity_options::IdentityOptions;
pub use json::{definition_from_json, definition_to_json, migration_from_json, migration_to_json, JsonError};
pub use keys::{
    default_primary_key_name, CheckConstraint, ExclusionConstraint, KeyConstraint, KeyMigration, TableKeys,
};
pub use layout::{LayoutMigration, PartitionPlace, TableLayout};
pub use migration::*;
