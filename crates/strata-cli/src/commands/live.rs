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
use strata_introspect::{comparable_tables, IntrospectOptions, Introspection, Introspector};
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

/// `--schema`, shared by `inspect` and `diff`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SchemaArgs {
    /// Schema to read (PostgreSQL): repeat or separate with commas for several; `'*'` reads every
    /// schema but the server's own and extensions'. Default: public.
    #[arg(long = "schema", value_name = "SCHEMA", value_delimiter = ',')]
    pub schemas: Vec<String>,
}

impl SchemaArgs {
    /// The introspection options the flags ask for (`public` without any).
    pub fn options(&self) -> IntrospectOptions {
        if self.schemas.is_empty() {
            IntrospectOptions::default()
        } else {
            IntrospectOptions::with_schemas(self.schemas.iter().cloned())
        }
    }

    /// Whether the flags may name more than one schema (several, or `'*'`).
    pub fn several(&self) -> bool {
        self.schemas.len() > 1 || self.schemas.iter().any(|s| s == strata_introspect::ALL_SCHEMAS)
    }
}

/// The project for connection resolution, or Serverpod's default layout under `dir` when the
/// directory is not a project (`inspect --database-url` works anywhere).
pub fn project_or_default(dir: &Path) -> Project {
    crate::commands::apply::load_project(dir)
        .unwrap_or_else(|_| Project::with_defaults(dir, "", Driver::Postgres))
}

/// A live database as the commands need it: its schema, and how SQL for it is written.
pub struct LiveSchema {
    pub introspection: Introspection,
    /// The dialect of the database that was read.
    pub dialect: &'static dyn strata_sql::Dialect,
    /// Makes a repair file's unqualified names resolve in the first schema read, where the
    /// database has several (PostgreSQL's `SET LOCAL search_path`).
    pub schema_scope_sql: Option<String>,
}

/// Connects to `target` with its driver's introspector: the one place that knows which drivers
/// exist. SQLite files are opened read-only.
async fn open_introspector(target: &ConnectionTarget) -> Result<Box<dyn Introspector>, strata_db::DbError> {
    Ok(match target.driver() {
        Driver::Postgres => Box::new(target.connect_postgres(INTROSPECT_APPLICATION).await?),
        Driver::Sqlite => Box::new(target.connect_sqlite_with(Duration::from_secs(5), true).await?),
        Driver::Mysql => Box::new(target.connect_mysql().await?),
    })
}

/// The `application_name` introspection connections carry (visible in `pg_stat_activity`).
pub const INTROSPECT_APPLICATION: &str = "strata-introspect";

/// Connects to `target` and reads it. Errors never contain the password.
async fn read_live(target: &ConnectionTarget, opts: &IntrospectOptions) -> anyhow::Result<LiveSchema> {
    let read = async {
        let mut introspector = open_introspector(target).await?;
        let introspection = introspector.introspect(opts).await?;
        let scope = opts.schemas.first().and_then(|s| introspector.schema_scope_sql(s));
        Ok::<_, anyhow::Error>(LiveSchema {
            // The project's engine where it names one (CockroachDB behind PostgreSQL's driver), so a
            // repair file is written as that engine runs it.
            dialect: target.dialect(),
            schema_scope_sql: scope,
            introspection,
        })
    };
    read.await
        .map_err(|e| anyhow::anyhow!("{}", target.sanitize(&e.to_string())))
        .with_context(|| format!("reading the schema of {}", target.redacted()))
}

/// Connects to `target` and introspects it, with what is needed to write SQL for it.
pub fn read_target(target: &ConnectionTarget, opts: &IntrospectOptions) -> anyhow::Result<LiveSchema> {
    crate::commands::apply::runtime()?.block_on(read_live(target, opts))
}

/// Connects to `target` and introspects it (SQLite files are opened read-only). Errors never
/// contain the password.
pub fn introspect_target(
    target: &ConnectionTarget,
    opts: &IntrospectOptions,
) -> anyhow::Result<Introspection> {
    read_target(target, opts).map(|live| live.introspection)
}

/// Introspects the database at `url` (relative to `project_dir` for SQLite paths) and prints
/// what it cannot represent to stderr.
///
/// strata's bookkeeping table is left out unless the project's latest `definition.json`
/// defines it (see [`strata_introspect::comparable_live`]): strata creates it implicitly, and reporting it would
/// make every diff against the database show a spurious `DROP TABLE`.
pub fn live_definition(
    project_dir: &Path,
    url: &str,
    timeout: &ConnectTimeout,
    opts: &IntrospectOptions,
) -> anyhow::Result<(DatabaseDefinition, Vec<Unrepresented>)> {
    let target = live_target(project_dir, url, timeout)?;
    let mut live = introspect_target(&target, opts)?;
    Ok(comparable(project_dir, &mut live))
}

/// [`live_definition`] of two databases, read at the same time: each side's connection is open
/// while the other is read, so the wall time is that of the slower side. An error names its side
/// (`labels`, e.g. `--from db:…`).
pub fn live_definition_pair(
    project_dir: &Path,
    urls: [&str; 2],
    labels: [&str; 2],
    timeout: &ConnectTimeout,
    opts: &IntrospectOptions,
) -> anyhow::Result<Sides> {
    let targets = [
        live_target(project_dir, urls[0], timeout).with_context(|| labels[0].to_string())?,
        live_target(project_dir, urls[1], timeout).with_context(|| labels[1].to_string())?,
    ];
    // Each side reads on its own thread and runtime: the reads overlap on the server, and
    // decoding one side's rows runs beside the other's instead of between its queries. The first
    // error returns at once (the other thread ends with the process).
    let (tx, rx) = std::sync::mpsc::channel();
    for (i, target) in targets.into_iter().enumerate() {
        let (label, tx, opts) = (labels[i].to_string(), tx.clone(), opts.clone());
        std::thread::spawn(move || {
            let read = |rt: tokio::runtime::Runtime| rt.block_on(read_live(&target, &opts));
            let _ = tx.send((i, crate::commands::apply::runtime().and_then(read).with_context(|| label)));
        });
    }
    drop(tx);
    let mut sides = [None, None];
    for _ in 0..2 {
        let (i, live) = rx.recv().context("reading the schemas: an introspection thread failed")?;
        sides[i] = Some(live?);
    }
    let [Some(mut a), Some(mut b)] = sides else {
        anyhow::bail!("reading the schemas: a side gave no answer")
    };
    let sides =
        [comparable(project_dir, &mut a.introspection), comparable(project_dir, &mut b.introspection)];
    let both_postgres = a.dialect.name() == "postgres" && b.dialect.name() == "postgres";
    let objects = both_postgres.then(|| [LiveObjects::of(a.introspection), LiveObjects::of(b.introspection)]);
    Ok((sides, objects))
}

/// A diff side: its definition and what it cannot represent.
pub type DiffSide = (DatabaseDefinition, Vec<Unrepresented>);

/// Both diff sides, and their database-defined objects when both are live PostgreSQL databases.
pub type Sides = ([DiffSide; 2], Option<[LiveObjects; 2]>);

/// What a live PostgreSQL database holds besides its tables: the objects a diff between two
/// live databases writes SQL for, and the warnings that name the rest.
pub struct LiveObjects {
    pub warnings: Vec<strata_introspect::IntrospectWarning>,
    pub objects: Vec<strata_introspect::pg_objects::PgObject>,
    /// The schemas that were read and exist (empty ones too).
    pub schemas: Vec<String>,
}

impl LiveObjects {
    fn of(live: Introspection) -> LiveObjects {
        LiveObjects { warnings: live.warnings, objects: live.objects, schemas: live.schemas }
    }

    /// The objects, kinds `ignore` names (`--ignore` spellings) left out.
    pub fn kept(&self, ignore: &[String]) -> Vec<strata_introspect::pg_objects::PgObject> {
        self.objects.iter().filter(|o| !ignore.contains(&kind_slug(o.kind.warning_kind()))).cloned().collect()
    }
}

/// The connection target a `db:` side names.
fn live_target(project_dir: &Path, url: &str, timeout: &ConnectTimeout) -> anyhow::Result<ConnectionTarget> {
    let project = project_or_default(project_dir);
    Ok(timeout.apply(strata_db::resolve_connection(&project, Some(url), None)?))
}

/// The live definition as a diff side, and what it cannot represent (printed to stderr). The
/// definition is moved out of `live` (a 1,000-table copy and its drop would be a fifth of a
/// diff's own time); the rest of `live` stays for the object statements.
fn comparable(project_dir: &Path, live: &mut Introspection) -> (DatabaseDefinition, Vec<Unrepresented>) {
    print_warnings(live);
    let unrepresented = unrepresented(live);
    let latest = ProjectConfig::load(project_dir).ok().and_then(|cfg| {
        let dir = MigrationsDir::new(&cfg.migrations_dir);
        let v = dir.latest().ok()??;
        dir.read_definition(&v).ok()
    });
    let mut definition = std::mem::replace(&mut live.definition, DatabaseDefinition::empty(""));
    // Types, checks and exclusions stay: whether they are compared depends on the other side
    // (`diff` decides).
    comparable_tables(&mut definition, latest.as_ref().unwrap_or(&DatabaseDefinition::empty("")));
    (definition, unrepresented)
}

/// An object in a live database that the definition cannot hold: never diffed, but compared, so a
/// difference in one is never reported as "in sync".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unrepresented {
    /// `--ignore` spelling of its kind (`check-constraint`, `view`, ...).
    pub kind: String,
    /// How it is shown (`check constraint "positive" on table "public"."orders": CHECK ...`).
    pub text: String,
    /// A dependency's function or extension (`function "public"."f"`), see
    /// [`strata_introspect::needed_key`].
    pub needs: Option<String>,
    /// What a function or extension provides to dependencies.
    pub provides: Option<String>,
    /// Where a dependency is: (table, column), or (`None`, domain) with the schema in `schema`.
    pub place: Option<(Option<String>, String)>,
    pub schema: String,
    /// Whether introspection read the object with its DDL (a view, a grant, ...): between two
    /// live PostgreSQL databases strata writes SQL for it instead of reporting it.
    pub has_ddl: bool,
    /// Whether the definition holds it too (a check or exclusion constraint read into its
    /// table): compared, not reported, when the other side can hold such constraints.
    pub modeled: bool,
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
        .map(|w| {
            let needs = strata_introspect::needed_key(w).map(str::to_string);
            Unrepresented {
                kind: kind_slug(w.kind),
                text: w.to_string(),
                place: needs.is_some().then(|| (w.table.clone(), w.name.clone())),
                needs,
                provides: strata_introspect::provided_key(w),
                schema: w.schema.clone(),
                has_ddl: live.objects.iter().any(|o| o.reports(w)),
                modeled: is_modeled_constraint(live, w),
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether `w` names a check or exclusion constraint that `live`'s definition holds.
fn is_modeled_constraint(live: &Introspection, w: &strata_introspect::IntrospectWarning) -> bool {
    use strata_introspect::WarningKind;
    let table =
        live.definition.tables.iter().find(|t| Some(&t.name) == w.table.as_ref() && t.schema == w.schema);
    match (w.kind, table) {
        (WarningKind::CheckConstraint, Some(t)) => t.keys.check(&w.name).is_some(),
        (WarningKind::ExclusionConstraint, Some(t)) => t.keys.exclusion(&w.name).is_some(),
        _ => false,
    }
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
        assert_eq!(strata_db::MYSQL_VERSION_TABLE, strata_introspect::MYSQL_VERSION_TABLE);
        assert!(strata_introspect::BOOKKEEPING_TABLES.contains(&strata_db::MYSQL_VERSION_TABLE));
        assert_eq!(strata_db::LEASE_TABLE, strata_introspect::LEASE_TABLE);
        assert_eq!(strata_db::background::JOBS_TABLE, strata_introspect::BACKGROUND_JOBS_TABLE);
        for table in [strata_db::LEASE_TABLE, strata_db::background::JOBS_TABLE] {
            assert!(strata_introspect::BOOKKEEPING_TABLES.contains(&table), "{table}");
        }
    }
}
