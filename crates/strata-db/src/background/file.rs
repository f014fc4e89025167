//! A background job file, `migrations/<version>/background/<name>.sql`: a header of
//! `-- strata:<setting> <value>` lines, then one batched DML statement with `$1` (the batch's
//! first key, inclusive) and `$2` (its last key, inclusive).
//!
//! ```sql
//! -- strata:table order_line
//! -- strata:key id
//! -- strata:batch_size 10000
//! -- strata:pause 50ms
//! UPDATE "order_line" SET "amount_cents" = "amount" * 100 WHERE "id" BETWEEN $1 AND $2;
//! ```
//!
//! The header is parsed strictly (unknown or repeated settings, bad values and settings after
//! the statement are errors naming their line), and the statement is parsed with sqlparser: it
//! must be exactly one INSERT, UPDATE or DELETE using both `$1` and `$2` and no other parameter.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlparser::ast::Statement;
use sqlparser::dialect::{Dialect as ParserDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::checksum::checksum;
use crate::Driver;

/// The batch size when the header does not set one.
pub const DEFAULT_BATCH_SIZE: i64 = 10_000;
/// The largest batch size accepted: a bigger batch is a long transaction again.
pub const MAX_BATCH_SIZE: i64 = 1_000_000;
/// The prefix of every setting line.
const SETTING_PREFIX: &str = "-- strata:";

/// A parsed background job file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFile {
    /// The file name without `.sql`: the job's name, unique in the project.
    pub name: String,
    /// The version directory that carries it.
    pub version: String,
    pub path: PathBuf,
    /// [`crate::checksum::checksum`] of the whole file.
    pub checksum: String,
    /// The table whose key range is batched (`schema.table` or `table`), unquoted.
    pub table: Vec<String>,
    /// The integer key column the range is over, unquoted.
    pub key: String,
    pub batch_size: i64,
    /// How long the runner sleeps between batches.
    pub pause: Duration,
    /// The batched statement, as written (without its trailing `;`).
    pub statement: String,
}

/// A background file that cannot be used, with the 1-based line at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", .path.display())]
pub struct JobFileError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

/// The settings read from the header.
#[derive(Default)]
struct Header {
    table: Option<Vec<String>>,
    key: Option<String>,
    batch_size: Option<i64>,
    pause: Option<Duration>,
    /// The 1-based line where the statement starts.
    statement_line: usize,
}

/// Parses the text of `path` (a job of `version`) for a project whose files are written for
/// `driver`.
pub fn parse_job(path: &Path, version: &str, text: &str, driver: Driver) -> Result<JobFile, JobFileError> {
    let fail = |line: usize, message: String| JobFileError { path: path.to_path_buf(), line, message };
    let name = job_name(path).map_err(|m| fail(1, m))?;
    let header = parse_header(text).map_err(|(line, m)| fail(line, m))?;
    let body: String = text.lines().skip(header.statement_line - 1).collect::<Vec<_>>().join("\n");
    check_no_late_settings(&body, header.statement_line).map_err(|(line, m)| fail(line, m))?;
    let statement = check_statement(&body, driver).map_err(|m| fail(header.statement_line, m))?;
    let missing = |what: &str| fail(1, format!("missing `{SETTING_PREFIX}{what} ...` line in the header"));
    Ok(JobFile {
        table: header.table.ok_or_else(|| missing("table"))?,
        key: header.key.ok_or_else(|| missing("key"))?,
        batch_size: header.batch_size.unwrap_or(DEFAULT_BATCH_SIZE),
        pause: header.pause.unwrap_or(Duration::ZERO),
        name,
        version: version.to_string(),
        path: path.to_path_buf(),
        checksum: checksum(text),
        statement,
    })
}

/// The job's name from its file name: lowercase letters, digits and `_`.
fn job_name(path: &Path) -> Result<String, String> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    validate_job_name(stem).map(|()| stem.to_string())
}

/// Checks a job name (`create-migration --background NAME`, or a file's name).
pub fn validate_job_name(stem: &str) -> Result<(), String> {
    let valid = !stem.is_empty()
        && stem.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !stem.starts_with(|c: char| c.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{stem}` is not a valid job name: name the file with lowercase letters, digits and `_`, starting with a letter (e.g. backfill_amount.sql)"
        ))
    }
}

/// Reads the leading comment block; stops at the first line that is neither blank nor `--`.
fn parse_header(text: &str) -> Result<Header, (usize, String)> {
    let mut header = Header::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || (line.starts_with("--") && !line.starts_with(SETTING_PREFIX)) {
            continue;
        }
        let Some(setting) = line.strip_prefix(SETTING_PREFIX) else {
            header.statement_line = i + 1;
            return Ok(header);
        };
        apply_setting(&mut header, setting.trim()).map_err(|m| (i + 1, m))?;
    }
    Err((
        text.lines().count().max(1),
        "no statement after the header: add the batched statement using $1 and $2".into(),
    ))
}

/// Applies one `-- strata:` setting to the header.
fn apply_setting(header: &mut Header, setting: &str) -> Result<(), String> {
    let (key, value) =
        setting.split_once(char::is_whitespace).map(|(k, v)| (k, v.trim())).unwrap_or((setting, ""));
    if value.is_empty() {
        return Err(format!("`{SETTING_PREFIX}{key}` needs a value"));
    }
    let repeated = || format!("`{SETTING_PREFIX}{key}` is set twice");
    match key {
        "table" => set_once(&mut header.table, parse_table(value)?, repeated),
        "key" => set_once(&mut header.key, parse_identifier(value, "key column")?, repeated),
        "batch_size" => set_once(&mut header.batch_size, parse_batch_size(value)?, repeated),
        "pause" => set_once(&mut header.pause, parse_pause(value)?, repeated),
        _ => {
            Err(format!("unknown setting `{SETTING_PREFIX}{key}` (expected table, key, batch_size or pause)"))
        }
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, repeated: impl Fn() -> String) -> Result<(), String> {
    if slot.is_some() {
        return Err(repeated());
    }
    *slot = Some(value);
    Ok(())
}

/// `table` or `schema.table`, unquoted.
fn parse_table(value: &str) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = value.split('.').collect();
    if parts.len() > 2 {
        return Err(format!("`{value}`: write the table as `table` or `schema.table`"));
    }
    parts.into_iter().map(|p| parse_identifier(p, "table")).collect()
}

/// An unquoted identifier: letters, digits, `_`, not starting with a digit.
fn parse_identifier(value: &str, what: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !value.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(value.to_string())
    } else {
        Err(format!("`{value}` is not a valid {what} name (write it unquoted: letters, digits and `_`)"))
    }
}

fn parse_batch_size(value: &str) -> Result<i64, String> {
    match value.replace('_', "").parse::<i64>() {
        Ok(n) if (1..=MAX_BATCH_SIZE).contains(&n) => Ok(n),
        _ => Err(format!("batch_size `{value}` must be a whole number from 1 to {MAX_BATCH_SIZE}")),
    }
}

/// `100ms`, `2s`, `0`.
pub fn parse_pause(value: &str) -> Result<Duration, String> {
    let bad = || format!("pause `{value}` must be a duration such as 0, 100ms or 2s (at most 1h)");
    let (digits, unit) = value.split_at(value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len()));
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" | "" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => return Err(bad()),
    };
    if d > Duration::from_secs(3600) {
        return Err(bad());
    }
    Ok(d)
}

/// A `-- strata:` line below the statement is a setting the runner would silently ignore.
fn check_no_late_settings(body: &str, first_line: usize) -> Result<(), (usize, String)> {
    match body.lines().position(|l| l.trim().starts_with(SETTING_PREFIX)) {
        Some(i) => Err((
            first_line + i,
            "settings must come before the statement (move this line into the header)".into(),
        )),
        None => Ok(()),
    }
}

/// The sqlparser dialect that reads a driver's files.
fn parser_dialect(driver: Driver) -> Box<dyn ParserDialect> {
    match driver {
        Driver::Sqlite => Box::new(SQLiteDialect {}),
        Driver::Postgres | Driver::Mysql => Box::new(PostgreSqlDialect {}),
    }
}

/// Checks that `body` is exactly one INSERT/UPDATE/DELETE using `$1` and `$2` (and no other
/// parameter); returns it without its trailing `;`.
fn check_statement(body: &str, driver: Driver) -> Result<String, String> {
    let dialect = parser_dialect(driver);
    let statements =
        Parser::parse_sql(dialect.as_ref(), body).map_err(|e| format!("cannot parse the statement: {e}"))?;
    let [statement] = statements.as_slice() else {
        return Err(format!(
            "a background file holds exactly one statement, found {}; put each batched change in its own file",
            statements.len()
        ));
    };
    if !matches!(statement, Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_)) {
        return Err("the statement must be an INSERT, UPDATE or DELETE (one batch of a data change)".into());
    }
    let tokens = Tokenizer::new(dialect.as_ref(), body)
        .tokenize()
        .map_err(|e| format!("cannot parse the statement: {e}"))?;
    let mut params: Vec<String> = tokens
        .iter()
        .filter_map(|t| match t {
            Token::Placeholder(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    params.sort();
    params.dedup();
    if params != ["$1", "$2"] {
        let found = if params.is_empty() { "none".to_string() } else { params.join(", ") };
        return Err(format!(
            "the statement must use exactly the parameters $1 (the batch's first key) and $2 (its last key), found {found}"
        ));
    }
    Ok(body.trim().trim_end_matches(';').trim_end().to_string())
}

/// The file `create-migration --background NAME` scaffolds: every setting, commented, and a
/// statement that parses (its table and column names are the user's to fill in).
pub fn template(name: &str) -> String {
    format!(
        "-- Background job `{name}` (docs/background.md). It runs after this version is applied:\n\
         --   strata background run {name}        (or `finalize {name}` to block until done)\n\
         -- in batches of `batch_size` existing keys of `table`.`key`, sleeping `pause` between\n\
         -- batches. $1 is a batch's first key and $2 its last (both inclusive). Each batch commits\n\
         -- together with the job's progress, so a killed run resumes after its last committed batch.\n\
         -- A later version waits for this job with `-- strata:requires_background {name}` at the top\n\
         -- of its migration.sql. Edit the settings and the statement before the first run: once a\n\
         -- job has started, its file must not change.\n\
         --\n\
         -- strata:table my_table\n\
         -- strata:key id\n\
         -- strata:batch_size {DEFAULT_BATCH_SIZE}\n\
         -- strata:pause 0ms\n\
         \n\
         UPDATE \"my_table\"\n\
         SET \"new_column\" = \"old_column\"\n\
         WHERE \"id\" BETWEEN $1 AND $2\n\
         \x20 AND \"new_column\" IS NULL;\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "-- Backfills amount_cents.\n-- strata:table shop.order_line\n-- strata:key id\n\
                        -- strata:batch_size 5_000\n-- strata:pause 20ms\n\n\
                        UPDATE order_line SET amount_cents = amount * 100 WHERE id BETWEEN $1 AND $2;\n";

    fn parse(text: &str) -> Result<JobFile, JobFileError> {
        parse_job(Path::new("m/v1/background/fill_cents.sql"), "v1", text, Driver::Postgres)
    }

    fn error_at(text: &str) -> (usize, String) {
        let e = parse(text).unwrap_err();
        (e.line, e.message)
    }

    #[test]
    fn reads_header_and_statement() {
        let job = parse(GOOD).unwrap();
        assert_eq!(job.name, "fill_cents");
        assert_eq!(job.table, ["shop", "order_line"]);
        assert_eq!(job.key, "id");
        assert_eq!((job.batch_size, job.pause), (5000, Duration::from_millis(20)));
        assert!(job.statement.starts_with("UPDATE") && job.statement.ends_with("$2"), "{}", job.statement);
        let defaults =
            parse("-- strata:table t\n-- strata:key id\nDELETE FROM t WHERE id >= $1 AND id <= $2").unwrap();
        assert_eq!((defaults.batch_size, defaults.pause), (DEFAULT_BATCH_SIZE, Duration::ZERO));
    }

    #[test]
    fn header_errors_name_their_line() {
        let (line, m) = error_at("-- strata:table t\n-- strata:key id\n-- strata:batch 10\nUPDATE t SET a = 1 WHERE id BETWEEN $1 AND $2");
        assert_eq!(line, 3);
        assert!(m.contains("unknown setting `-- strata:batch`"), "{m}");
        let (line, m) = error_at("-- strata:table t\n-- strata:table u\n");
        assert_eq!((line, m.contains("set twice")), (2, true), "{m}");
        let (line, m) =
            error_at("-- strata:table t\n-- strata:key id\n-- strata:batch_size 0\nUPDATE t SET a = 1");
        assert_eq!((line, m.contains("from 1 to")), (3, true), "{m}");
        let (line, m) =
            error_at("-- strata:table t\n-- strata:key id\n-- strata:pause soon\nUPDATE t SET a = 1");
        assert_eq!((line, m.contains("pause `soon`")), (3, true), "{m}");
        let (line, m) = error_at("-- strata:table a.b.c\n");
        assert_eq!((line, m.contains("schema.table")), (1, true), "{m}");
        let (_, m) = error_at("-- strata:key id\nUPDATE t SET a = 1 WHERE id BETWEEN $1 AND $2");
        assert!(m.contains("missing `-- strata:table"), "{m}");
        let (line, m) = error_at("-- strata:table t\n-- strata:key id\n");
        assert_eq!((line, m.contains("no statement")), (2, true), "{m}");
    }

    #[test]
    fn statement_errors_name_its_line() {
        let head = "-- strata:table t\n-- strata:key id\n\n";
        let (line, m) =
            error_at(&format!("{head}UPDATE t SET a = 1 WHERE id BETWEEN $1 AND $2;\nDELETE FROM t;"));
        assert_eq!((line, m.contains("exactly one statement, found 2")), (4, true), "{m}");
        let (_, m) = error_at(&format!("{head}UPDATE t SET a = 1 WHERE id >= $1"));
        assert!(m.contains("found $1"), "{m}");
        let (_, m) = error_at(&format!("{head}UPDATE t SET a = $3 WHERE id BETWEEN $1 AND $2"));
        assert!(m.contains("found $1, $2, $3"), "{m}");
        let (_, m) = error_at(&format!("{head}DROP TABLE t"));
        assert!(m.contains("INSERT, UPDATE or DELETE"), "{m}");
        let (_, m) = error_at(&format!("{head}UPDATE t SET WHERE"));
        assert!(m.contains("cannot parse"), "{m}");
        // `$1` inside a string literal is text, not a parameter.
        let (_, m) = error_at(&format!("{head}UPDATE t SET a = '$1 $2' WHERE id = 1"));
        assert!(m.contains("found none"), "{m}");
        let (line, m) =
            error_at(&format!("{head}UPDATE t SET a = 1 WHERE id BETWEEN $1 AND $2\n-- strata:pause 1s"));
        assert_eq!((line, m.contains("before the statement")), (5, true), "{m}");
    }

    #[test]
    fn the_template_is_a_valid_job() {
        for driver in [Driver::Postgres, Driver::Sqlite] {
            let job = parse_job(Path::new("bg/backfill.sql"), "v1", &template("backfill"), driver).unwrap();
            assert_eq!(
                (job.table, job.key, job.batch_size),
                (vec!["my_table".to_string()], "id".to_string(), DEFAULT_BATCH_SIZE)
            );
        }
    }

    #[test]
    fn job_names_are_plain() {
        let e = parse_job(Path::new("bg/Fill-Cents.sql"), "v1", GOOD, Driver::Postgres).unwrap_err();
        assert!(e.message.contains("not a valid job name"), "{e}");
        assert!(parse_job(Path::new("bg/fill_cents_2.sql"), "v1", GOOD, Driver::Sqlite).is_ok());
    }
}
