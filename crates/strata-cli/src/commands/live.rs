//! Reading a live database's schema: shared by `inspect`, `create-repair-migration` and
//! `diff --from db:URL`.
//!
//! For a human-readable drift report between a live database and a definition, call
//! [`strata_introspect::drift_report`] (`table "x": column "y" is text in the database, bigint
//! in 20240101…`), after [`strata_introspect::comparable_live`].

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use strata_db::{ConnectionTarget, Driver, Project};
use strata_introspect::{comparable_live, IntrospectOptions, Introspection};
use strata_project::{MigrationsDir, ProjectConfig};
use strata_schema::DatabaseDefinition;

/// `--connect-timeout`, shared by every command that connects (flattened into their `Args`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConnectTimeout {
    /// Give up on a database that does not answer within this time (e.g. 5s, 1m; 0 waits
    /// forever). Beats `connect_timeout` in the URL; without either, 10s.
    #[arg(long = "connect-timeout", value_name = "DURATION", value_parser = crate::commands::apply::parse_duration)]
    pub value: Option<Duration>,
}

impl ConnectTimeout {
    /// The target with the flag's timeout, if given (else the URL's or the default stays).
    pub fn apply(&self, target: ConnectionTarget) -> ConnectionTarget {
        match self.value {
            Some(timeout) => target.with_connect_timeout(timeout),
            None => target,
        }
    }
}

/// The project for connection resolution, or Serverpod's default layout under `dir` when the
/// directory is not a project (`inspect --database-url` works anywhere).
pub fn project_or_default(dir: &Path) -> Project {
    crate::commands::apply::load_project(dir)
        .unwrap_or_else(|_| Project::with_defaults(dir, "", Driver::Postgres))
}

/// Connects to `target` and introspects it (SQLite files are opened read-only). Errors never
/// contain the password.
pub fn introspect_target(
    target: &ConnectionTarget,
    opts: &IntrospectOptions,
) -> anyhow::Result<Introspection> {
    let rt = crate::commands::apply::runtime()?;
    rt.block_on(async {
        let result = match target.driver() {
            Driver::Postgres => {
                let mut conn = target.connect_postgres("strata-introspect").await?;
                strata_introspect::introspect_postgres(&mut conn, opts).await
            }
            Driver::Sqlite => {
                let mut conn = target.connect_sqlite_with(Duration::from_secs(5), true).await?;
                strata_introspect::introspect_sqlite(&mut conn, opts).await
            }
            Driver::Mysql => anyhow::bail!(
                "reading the schema of a MySQL/MariaDB database is not in this build; apply and status work on it"
            ),
        };
        result.map_err(|e| anyhow::anyhow!("{}", target.sanitize(&e.to_string())))
    })
    .with_context(|| format!("reading the schema of {}", target.redacted()))
}

/// Introspects the database at `url` (relative to `project_dir` for SQLite paths) and prints
/// what it cannot represent to stderr.
///
/// strata's bookkeeping table is left out unless the project's latest `definition.json`
/// defines it (see [`comparable_live`]): strata creates it implicitly, and reporting it would
/// make every diff against the database show a spurious `DROP TABLE`.
pub fn live_definition(
    project_dir: &Path,
    url: &str,
    timeout: &ConnectTimeout,
) -> anyhow::Result<(DatabaseDefinition, Vec<Unrepresented>)> {
    let project = project_or_default(project_dir);
    let target = timeout.apply(strata_db::resolve_connection(&project, Some(url), None)?);
    let live = introspect_target(&target, &IntrospectOptions::default())?;
    print_warnings(&live);
    let unrepresented = unrepresented(&live);
    let latest = ProjectConfig::load(project_dir).ok().and_then(|cfg| {
        let dir = MigrationsDir::new(&cfg.migrations_dir);
        let v = dir.latest().ok()??;
        dir.read_definition(&v).ok()
    });
    let definition = match latest {
        Some(target) => comparable_live(&live.definition, &target),
        None => comparable_live(&live.definition, &DatabaseDefinition::empty("")),
    };
    Ok((definition, unrepresented))
}

/// An object in a live database that the definition cannot hold: never diffed, but compared, so a
/// difference in one is never reported as "in sync".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unrepresented {
    /// `--ignore` spelling of its kind (`check-constraint`, `view`, ...).
    pub kind: String,
    /// How it is shown (`check constraint "positive" on table "public"."orders": CHECK ...`).
    pub text: String,
}

/// The `--ignore` spelling of a kind: its label with dashes.
pub fn kind_slug(kind: strata_introspect::WarningKind) -> String {
    kind.label().replace(' ', "-")
}

/// What strata cannot represent in `live`, strata's own bookkeeping left out.
fn unrepresented(live: &Introspection) -> Vec<Unrepresented> {
    let mut out: Vec<Unrepresented> = live
        .warnings
        .iter()
        .filter(|w| !w.table.as_deref().is_some_and(|t| strata_introspect::BOOKKEEPING_TABLES.contains(&t)))
        .map(|w| Unrepresented { kind: kind_slug(w.kind), text: w.to_string() })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Prints introspection warnings to stderr, one per line. strata's own bookkeeping tables
/// are not the user's concern and are left out.
pub fn print_warnings(live: &Introspection) {
    let shown: Vec<_> = live
        .warnings
        .iter()
        .filter(|w| !w.table.as_deref().is_some_and(|t| strata_introspect::BOOKKEEPING_TABLES.contains(&t)))
        .collect();
    if shown.is_empty() {
        return;
    }
    eprintln!(
        "warning: {} object(s) in the database cannot be represented; strata leaves them untouched:",
        shown.len()
    );
    for w in shown {
        eprintln!("  - {w}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_runner_history_table_is_bookkeeping() {
        assert_eq!(strata_db::HISTORY_TABLE, strata_introspect::HISTORY_TABLE);
        assert!(strata_introspect::BOOKKEEPING_TABLES.contains(&strata_db::HISTORY_TABLE));
    }
}
