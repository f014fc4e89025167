//! The targets file of a fleet: one target per line, checked whole before anything runs.
//!
//! ```text
//! # comments and blank lines are allowed
//! postgres://app@db1.internal/shop
//! --mode production
//! schemas postgres://app@db2.internal/saas SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\_%'
//! ```
//!
//! A `schemas URL QUERY` line runs QUERY (one read-only `SELECT`, in a `READ ONLY` transaction)
//! on URL's database and becomes one target per schema name it returns.

use std::path::{Path, PathBuf};

use crate::connection::ConnectionTarget;
use crate::{resolve_connection, DbError, Driver, Project};

/// What one line of a targets file asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// A database URL.
    Url(String),
    /// `--mode NAME`: the project's `config/NAME.yaml` connection.
    Mode(String),
    /// `schemas URL QUERY`: one target per schema the query lists.
    Schemas { url: String, query: String },
}

/// A parsed line of a targets file, with its connection resolved (not yet connected).
#[derive(Debug, Clone)]
pub struct TargetLine {
    /// 1-based line number in the file.
    pub line: usize,
    pub spec: TargetSpec,
    pub target: ConnectionTarget,
}

/// One database (or tenant schema) of a fleet, ready to run.
#[derive(Debug, Clone)]
pub struct FleetTarget {
    /// The line of the targets file it comes from.
    pub line: usize,
    pub target: ConnectionTarget,
}

impl FleetTarget {
    /// How reports name it: the redacted URL (and schema).
    pub fn name(&self) -> &str {
        self.target.redacted()
    }
}

/// Why a targets file cannot be used. Nothing has run when one of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("{}: cannot read the targets file: {message}", .path.display())]
    Read { path: PathBuf, message: String },
    #[error("{}:{line}: {message}", .path.display())]
    BadLine { path: PathBuf, line: usize, message: String },
    #[error("{}: no targets: the file has only blank lines and comments; list one database URL, `--mode NAME` or `schemas URL QUERY` per line", .path.display())]
    Empty { path: PathBuf },
}

/// Reads and checks a targets file: every line parsed and its connection resolved (URLs,
/// `--mode` config files), before anything connects.
pub fn read_targets(project: &Project, path: &Path) -> Result<Vec<TargetLine>, FleetError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FleetError::Read { path: path.to_path_buf(), message: e.to_string() })?;
    parse_targets(project, path, &text)
}

/// [`read_targets`] on the file's text.
pub fn parse_targets(project: &Project, path: &Path, text: &str) -> Result<Vec<TargetLine>, FleetError> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let bad = |message: String| FleetError::BadLine { path: path.to_path_buf(), line, message };
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let spec = parse_line(trimmed).map_err(bad)?;
        let target = resolve_spec(project, &spec).map_err(|e| bad(e.to_string()))?;
        if matches!(spec, TargetSpec::Schemas { .. }) && target.driver() != Driver::Postgres {
            return Err(bad(format!(
                "`schemas` lists PostgreSQL schemas, but {} is {}",
                target.redacted(),
                target.driver().name()
            )));
        }
        if target.driver() != project.driver {
            return Err(bad(DbError::DialectMismatch {
                project: project.driver.name().into(),
                database: target.driver().name().into(),
            }
            .to_string()));
        }
        lines.push(TargetLine { line, spec, target });
    }
    if lines.is_empty() {
        return Err(FleetError::Empty { path: path.to_path_buf() });
    }
    Ok(lines)
}

/// One non-blank, non-comment line. Errors never quote the line (it may hold a password).
fn parse_line(line: &str) -> Result<TargetSpec, String> {
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    match word {
        "--mode" | "-m" => parse_mode(rest),
        "schemas" => parse_schemas(rest),
        _ if word.starts_with('-') => Err(format!(
            "`{word}` is not a target: a line is a database URL, `--mode NAME` or `schemas URL QUERY`"
        )),
        _ if !word.contains(':') => Err(format!(
            "`{word}` is not a database URL (postgres://…, mysql://…, sqlite:…), `--mode NAME` or `schemas URL QUERY`"
        )),
        _ if !rest.is_empty() => Err(format!(
            "unexpected text after the URL `{}`: one target per line (a schema query is written `schemas URL QUERY`)",
            crate::connection::scrub_urls(word)
        )),
        _ => Ok(TargetSpec::Url(word.to_string())),
    }
}

fn parse_mode(rest: &str) -> Result<TargetSpec, String> {
    match rest.split_whitespace().collect::<Vec<_>>()[..] {
        [mode] if crate::connection::MODES.contains(&mode) => Ok(TargetSpec::Mode(mode.to_string())),
        [mode] => Err(DbError::UnknownMode(mode.to_string()).to_string()),
        [] => Err("`--mode` needs a mode: development, test, staging or production".into()),
        _ => Err("`--mode NAME` takes one mode, and one target per line".into()),
    }
}

fn parse_schemas(rest: &str) -> Result<TargetSpec, String> {
    let (url, query) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let query = query.trim();
    if url.is_empty() || query.is_empty() {
        return Err(
            "`schemas` needs a PostgreSQL URL and a query: `schemas postgres://… SELECT nspname FROM …`"
                .into(),
        );
    }
    check_schema_query(query)?;
    Ok(TargetSpec::Schemas { url: url.to_string(), query: query.trim_end_matches(';').trim().to_string() })
}

/// The query must parse as exactly one `SELECT` (or `WITH … SELECT`, `VALUES`): it comes from
/// a file and is run, so it is checked first (and then run in a read-only transaction).
pub(crate) fn check_schema_query(query: &str) -> Result<(), String> {
    use sqlparser::ast::Statement;
    use sqlparser::dialect::PostgreSqlDialect;
    let parsed = sqlparser::parser::Parser::parse_sql(&PostgreSqlDialect {}, query)
        .map_err(|e| format!("the schema query does not parse: {e}"))?;
    match &parsed[..] {
        [Statement::Query(_)] => Ok(()),
        [_] => Err("the schema query must be a SELECT listing schema names (it is only read, never run to change anything)".into()),
        _ => Err(format!("the schema query must be one SELECT statement, found {} statements", parsed.len())),
    }
}

fn resolve_spec(project: &Project, spec: &TargetSpec) -> Result<ConnectionTarget, DbError> {
    match spec {
        TargetSpec::Url(url) | TargetSpec::Schemas { url, .. } => {
            resolve_connection(project, Some(url), None)
        }
        TargetSpec::Mode(mode) => resolve_connection(project, None, Some(mode)),
    }
}

/// Turns the lines into targets: `schemas` lines run their query (each in a `READ ONLY`
/// transaction) and become one target per schema. Any failure names its line, and a target
/// listed twice is refused: two runs of one fleet must never contend for one database.
pub async fn expand(path: &Path, lines: Vec<TargetLine>) -> Result<Vec<FleetTarget>, FleetError> {
    let mut out: Vec<FleetTarget> = Vec::new();
    for l in lines {
        let bad = |message: String| FleetError::BadLine { path: path.to_path_buf(), line: l.line, message };
        let found = match &l.spec {
            TargetSpec::Schemas { query, .. } => {
                let schemas = list_schemas(&l.target, query).await.map_err(bad)?;
                schemas.iter().map(|s| l.target.clone().with_schema(s)).collect()
            }
            TargetSpec::Url(_) | TargetSpec::Mode(_) => vec![l.target.clone()],
        };
        for target in found {
            if let Some(first) = out.iter().find(|t| t.name() == target.redacted()) {
                return Err(bad(format!(
                    "{} is already the target of line {}",
                    target.redacted(),
                    first.line
                )));
            }
            out.push(FleetTarget { line: l.line, target });
        }
    }
    Ok(out)
}

/// Runs a `schemas` query and returns the names (one text column; none is an error, as a
/// pattern matching nothing is more likely a typo than a fleet of zero tenants).
async fn list_schemas(target: &ConnectionTarget, query: &str) -> Result<Vec<String>, String> {
    let mut conn = target.connect_postgres("strata fleet").await.map_err(|e| e.to_string())?;
    let run = async {
        sqlx::raw_sql("BEGIN READ ONLY").execute(&mut conn).await?;
        // The simple protocol: no prepared statement is left on a pooled server connection.
        let rows = sqlx::raw_sql(query).fetch_all(&mut conn).await;
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut conn).await;
        rows?.iter().map(|r| sqlx::Row::try_get::<Option<String>, _>(r, 0)).collect::<Result<Vec<_>, _>>()
    };
    let rows = run.await.map_err(|e| {
        let e = target.sql_error("the schema query failed", &e);
        format!("{e} (it must return one text column of schema names)")
    })?;
    let _ = sqlx::Connection::close(conn).await;
    let names: Vec<String> = rows.into_iter().flatten().collect();
    if names.is_empty() {
        return Err(format!("the schema query returned no schemas on {}", target.redacted()));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Project {
        Project::with_defaults(std::env::temp_dir().join("strata-fleet-unit"), "shop", Driver::Postgres)
    }

    fn parse(text: &str) -> Result<Vec<TargetLine>, FleetError> {
        parse_targets(&project(), Path::new("fleet.txt"), text)
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn lines_comments_and_blank_lines() {
        let t = parse(
            "# fleet\n\npostgres://u:secret@h/a\n  postgres://u@h/b  \nschemas postgres://u@h/c SELECT nspname FROM pg_namespace;\n",
        )
        .unwrap();
        assert_eq!(t.iter().map(|l| l.line).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(t[0].target.redacted(), "postgres://u@h/a");
        assert_eq!(
            t[2].spec,
            TargetSpec::Schemas {
                url: "postgres://u@h/c".into(),
                query: "SELECT nspname FROM pg_namespace".into()
            }
        );
    }

    #[test]
    fn bad_lines_name_the_file_and_line_and_never_the_password() {
        assert_eq!(error("postgres://u@h/a\nfoo\n"), "fleet.txt:2: `foo` is not a database URL (postgres://…, mysql://…, sqlite:…), `--mode NAME` or `schemas URL QUERY`");
        let e = error("postgres://u:hunter2@h/a extra\n");
        assert!(e.starts_with("fleet.txt:1: unexpected text after the URL") && !e.contains("hunter2"), "{e}");
        assert!(error("\n--mode prod\n").starts_with("fleet.txt:2: unknown run mode `prod`"));
        assert!(error("--mode\n").contains("needs a mode"));
        assert!(error("--database-url x\n").contains("`--database-url` is not a target"));
        assert!(error("schemas postgres://u@h/a\n").contains("needs a PostgreSQL URL and a query"));
        assert!(error("schemas postgres://u@h/a DROP SCHEMA x\n").contains("must be a SELECT"));
        assert!(error("schemas postgres://u@h/a SELECT 1; DROP SCHEMA x\n")
            .contains("one SELECT statement, found 2"));
        assert!(error("schemas postgres://u@h/a SELEC nspname\n").contains("does not parse"));
        assert!(error("schemas sqlite:x.db SELECT 1\n").contains("lists PostgreSQL schemas"));
        assert!(error("mysql://root@h/a\n")
            .contains("fleet.txt:1: the project's migrations are written for postgres"));
        assert!(
            error("postgres://u@h/a?connect_timeout=x\n").starts_with("fleet.txt:1: invalid database URL")
        );
    }

    #[test]
    fn a_file_without_targets_is_an_error() {
        assert_eq!(
            error("# nothing\n\n"),
            "fleet.txt: no targets: the file has only blank lines and comments; list one database URL, `--mode NAME` or `schemas URL QUERY` per line"
        );
    }

    #[tokio::test]
    async fn a_database_listed_twice_is_refused() {
        let lines = parse("postgres://u@h/a\npostgres://u:pw@h/a\n").unwrap();
        let e = expand(Path::new("fleet.txt"), lines).await.unwrap_err().to_string();
        assert_eq!(e, "fleet.txt:2: postgres://u@h/a is already the target of line 1");
    }
}
