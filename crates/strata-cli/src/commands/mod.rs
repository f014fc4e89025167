//! One module per subcommand; each exposes `Args` (clap) and `run(project_dir, args) -> exit code`.

pub mod apply;
pub mod create_migration;
pub mod diff;
pub mod inspect;
pub mod live;
pub mod repair;
pub mod reset;
pub mod rollback;
pub mod status;
