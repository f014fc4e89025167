//! A strata project on disk: where its models and migrations live ([`ProjectConfig`]), the
//! migrations directory and its registry ([`MigrationsDir`]), version names ([`version`]), and
//! `create-migration` ([`plan_migration`], [`create_migration`]).
//!
//! Everything that writes goes through [`write_file_atomic`] or [`write_version`], so an
//! interrupted run never leaves a half-written file or version directory behind.

mod atomic;
pub mod config;
pub mod create;
mod error;
pub mod lock;
pub mod migrations;
pub mod modules;
pub mod version;

pub use atomic::write_file_atomic;
pub use config::{ProjectConfig, CONFIG_FILE, DIALECTS};
pub use create::{
    create_migration, load_module, load_modules, load_state, merge_definitions, models_definition,
    module_report, plan_migration, read_model_files, CreateOptions, CreateReport, ModuleDefinition,
    PlanInput, PlanOutcome, ProjectState,
};
pub use error::ProjectError;
pub use lock::{ProjectLock, LOCK_FILE, LOCK_TIMEOUT};
pub use migrations::{
    parse_registry, registry_text, write_version, MigrationsDir, RegistryIssue, SqlFile, REGISTRY_FILE,
    REGISTRY_HEADER,
};
pub use modules::{MissingModule, ModuleOrigin, ModuleSource, Modules, PubCache};
pub use version::{
    is_version_name, now_from_env, parse_timestamp, timestamp, validate_tag, version_name, NOW_ENV,
};
