//! Live-data preflight: before a migration runs, look at the data behind each risky change with
//! bounded, read-only queries, and say whether it will fail, lose data, rewrite a big table, or
//! is safe.
//!
//! * [`probe`] turns a `DatabaseMigration` (and the definition it starts from) into questions;
//!   pure.
//! * [`sql`] writes each question as one capped `count(*)`; only names reach the text, quoted.
//! * [`session`] runs them read-only with a per-query timeout, per dialect.
//! * [`report`] turns answers into [`Finding`]s with a human line each.
//!
//! A query that times out or fails gives an [`Verdict::Unknown`] finding with the reason, never
//! a hang and never an error for the whole preflight; only failing to connect is an error.

mod probe;
mod report;
mod session;
mod sql;

use std::time::Duration;

use serde::Serialize;
use strata_schema::{DatabaseDefinition, DatabaseMigration};

use crate::{ConnectionTarget, DbError, Driver};
use probe::{Probe, ProbeKind};
pub use report::{format_findings, human_count, human_size};
use session::{ProbeError, Session};

/// Which risky change a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// A table is dropped: its rows are lost.
    DroppedTable,
    /// A column is dropped: its values are lost.
    DroppedColumn,
    /// A column becomes NOT NULL, or a NOT NULL column without a default is added.
    NotNull,
    /// A unique index is created.
    UniqueIndex,
    /// A foreign key is added.
    ForeignKey,
    /// The table is rewritten or rebuilt.
    Rewrite,
}

/// What the data says about one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The migration will fail on this data (blocks even `--force`; `--force-data` overrides).
    WillFail,
    /// The change discards data that exists.
    LosesData,
    /// Every row is rewritten; the finding carries the table's estimated size.
    Rewrite,
    /// The data raises no problem.
    Safe,
    /// The check could not run (timeout, error, or a change preflight does not evaluate).
    Unknown,
}

/// One change, checked against the live data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: Check,
    /// The table the change is on.
    pub table: String,
    /// `post`, `post.title`, or the index or foreign key name.
    pub object: String,
    pub verdict: Verdict,
    /// Rows, values, NULLs, duplicate groups or orphan rows found (at most the cap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// `count` reached the cap: there are at least that many.
    pub at_least: bool,
    /// `count` is the planner's estimate (a rewritten table bigger than the cap).
    pub estimated: bool,
    /// The table's estimated size in bytes (rewrites only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Why the verdict is Unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The human line: `will fail: 3 NULLs in post.title`.
    pub message: String,
}

/// How hard preflight may look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreflightOptions {
    /// The longest one query may run (lock waits included) before its check is Unknown.
    pub timeout: Duration,
    /// Counts stop here ("at least N"), so a huge table costs little.
    pub cap: u64,
}

impl Default for PreflightOptions {
    fn default() -> Self {
        PreflightOptions { timeout: Duration::from_secs(5), cap: 10_000 }
    }
}

/// True when a finding says the migration will fail on the live data.
pub fn blocks(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.verdict == Verdict::WillFail)
}

/// Checks `migration` against the database `target` (which is at the
/// version the migration starts from). `source` is that version's definition when known; it
/// sharpens the rewrite check. Only a failure to connect is an error.
pub async fn preflight(
    target: &ConnectionTarget,
    migration: &DatabaseMigration,
    source: Option<&DatabaseDefinition>,
    options: &PreflightOptions,
) -> Result<Vec<Finding>, DbError> {
    let driver = target.driver();
    let probes = probe::probes(migration, source, driver);
    if probes.iter().all(|p| matches!(p.kind, ProbeKind::Decided { .. })) {
        return Ok(answer_without_queries(&probes));
    }
    match driver {
        Driver::Postgres => {
            Ok(run(Session::postgres(target, options.timeout).await?, driver, &probes, options).await)
        }
        Driver::Sqlite => {
            Ok(run(Session::sqlite(target, options.timeout).await?, driver, &probes, options).await)
        }
        Driver::Mysql => {
            let mut conn = target.connect_mysql().await?;
            preflight_mysql(&mut conn, migration, source, options).await
        }
    }
}

/// [`preflight`] over a MySQL/MariaDB connection the caller opened. The session is made
/// read-only with a statement timeout while preflight runs, then put back.
pub async fn preflight_mysql(
    conn: &mut sqlx::MySqlConnection,
    migration: &DatabaseMigration,
    source: Option<&DatabaseDefinition>,
    options: &PreflightOptions,
) -> Result<Vec<Finding>, DbError> {
    let probes = probe::probes(migration, source, Driver::Mysql);
    if probes.iter().all(|p| matches!(p.kind, ProbeKind::Decided { .. })) {
        return Ok(answer_without_queries(&probes));
    }
    let session = Session::mysql(conn, options.timeout).await?;
    Ok(run(session, Driver::Mysql, &probes, options).await)
}

fn answer_without_queries(probes: &[Probe]) -> Vec<Finding> {
    probes.iter().filter_map(report::decided).collect()
}

/// Asks every probe in order on one session, then closes it.
async fn run(
    mut session: Session<'_>,
    driver: Driver,
    probes: &[Probe],
    options: &PreflightOptions,
) -> Vec<Finding> {
    let mut findings = Vec::with_capacity(probes.len());
    for p in probes {
        findings.push(ask(&mut session, driver, p, options).await);
    }
    session.finish().await;
    findings
}

/// One probe's finding: its count, and for a non-empty rewritten table its size.
async fn ask(session: &mut Session<'_>, driver: Driver, p: &Probe, options: &PreflightOptions) -> Finding {
    if let Some(decided) = report::decided(p) {
        return decided;
    }
    let Some(count_sql) = sql::count_query(driver, p, options.cap) else {
        return report::unknown(p, "preflight has no query for this change");
    };
    let count = match session.scalar(&count_sql, &[]).await {
        Ok(n) => n.unwrap_or(0).max(0) as u64,
        Err(e) => return report::unknown(p, &reason(&e, options)),
    };
    let mut answer = report::Answer { count, at_least: count >= options.cap, estimated: false, bytes: None };
    if p.kind == ProbeKind::Rewrite && count > 0 {
        size_rewrite(session, driver, p, &mut answer).await;
    }
    report::answered(p, &answer)
}

/// Adds a rewritten table's size, and its estimated rows when the count stopped at the cap.
/// Both only sharpen the message: a failure leaves them out.
async fn size_rewrite(session: &mut Session<'_>, driver: Driver, p: &Probe, answer: &mut report::Answer) {
    let (size_sql, binds) = sql::size_query(driver, &p.schema, &p.table);
    answer.bytes = session.scalar(size_sql, &binds).await.ok().flatten().map(|b| b.max(0) as u64);
    if !answer.at_least {
        return;
    }
    let Some((rows_sql, binds)) = sql::row_estimate_query(driver, &p.schema, &p.table) else { return };
    if let Ok(Some(estimate)) = session.scalar(rows_sql, &binds).await {
        if estimate > 0 && estimate as u64 > answer.count {
            *answer = report::Answer { count: estimate as u64, at_least: false, estimated: true, ..*answer };
        }
    }
}

/// The Unknown reason for a query that gave no answer.
fn reason(e: &ProbeError, options: &PreflightOptions) -> String {
    match e {
        ProbeError::TimedOut => {
            format!(
                "timed out after {} (raise --preflight-timeout)",
                crate::error::human_duration(&options.timeout)
            )
        }
        ProbeError::Failed(message) => format!("could not run: {message}"),
    }
}

/// For each (table, column): the rows of `table` (column None), or the rows whose `column` holds
/// a value. One `count(*)` per object, on a read-only connection; an empty list opens none.
/// (`strata rollback`'s exact counts; [`preflight`] is the bounded, verdict-giving form.)
pub async fn count_rows(
    target: &ConnectionTarget,
    objects: &[(String, Option<String>)],
) -> Result<Vec<i64>, DbError> {
    if objects.is_empty() {
        return Ok(Vec::new());
    }
    let driver = target.driver();
    let quote = |name: &str| driver.dialect().quote_identifier(name);
    let sql: Vec<String> = objects
        .iter()
        .map(|(t, c)| match c {
            Some(c) => format!("SELECT count(*) FROM {} WHERE {} IS NOT NULL", quote(t), quote(c)),
            None => format!("SELECT count(*) FROM {}", quote(t)),
        })
        .collect();
    let err =
        |i: usize, e: sqlx::Error| target.sql_error(format!("counting the rows of \"{}\"", objects[i].0), &e);
    let mut counts = Vec::with_capacity(sql.len());
    match driver {
        Driver::Postgres => {
            let mut c = target.connect_postgres("strata preflight").await?;
            for (i, q) in sql.iter().enumerate() {
                counts.push(sqlx::query_scalar::<_, i64>(q).fetch_one(&mut c).await.map_err(|e| err(i, e))?);
            }
        }
        Driver::Sqlite => {
            let mut c = target.connect_sqlite_with(Duration::from_secs(5), true).await?;
            for (i, q) in sql.iter().enumerate() {
                counts.push(sqlx::query_scalar::<_, i64>(q).fetch_one(&mut c).await.map_err(|e| err(i, e))?);
            }
        }
        Driver::Mysql => {
            let mut c = target.connect_mysql().await?;
            for (i, q) in sql.iter().enumerate() {
                counts.push(sqlx::query_scalar::<_, i64>(q).fetch_one(&mut c).await.map_err(|e| err(i, e))?);
            }
        }
    }
    Ok(counts)
}
