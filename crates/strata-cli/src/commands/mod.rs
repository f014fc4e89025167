//! One module per subcommand; each exposes `Args` (clap) and `run(project_dir, args) -> exit code`.

/// A line of a human report, on stderr. Write errors are ignored (SIGPIPE is too, see main): a
/// closed pipe must never stop a command that changes things between two of its steps.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// [`say!`] without the newline.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

pub mod apply;
pub mod background;
pub mod create_migration;
pub mod diff;
pub mod fleet;
pub mod inspect;
pub mod lint;
pub mod live;
pub mod objects;
pub mod preflight;
pub mod repair;
pub mod reset;
pub mod rollback;
pub mod schemas;
pub mod status;
