//! The job-state table, `strata_background_jobs`: one row per background job, created by strata
//! next to its history table.
//!
//! ```sql
//! CREATE TABLE "strata_background_jobs" (
//!     "name"          text PRIMARY KEY,   -- the file name without .sql
//!     "version"       text NOT NULL,      -- the version directory that carries it
//!     "checksum"      text NOT NULL,      -- of the file when the job started
//!     "table_name"    text NOT NULL,      -- the batched table and key, as in the header
//!     "key_column"    text NOT NULL,
//!     "range_min"     bigint,             -- the key range read when the job started
//!     "range_max"     bigint,             -- (NULL: the table was empty)
//!     "last_bound"    bigint,             -- the last key of the last committed batch
//!     "batches_done"  bigint NOT NULL,
//!     "rows_affected" bigint NOT NULL,
//!     "state"         text NOT NULL,      -- pending | running | paused | finalized | failed
//!     "error"         text,               -- failed: the database's message
//!     "runner"        text,               -- `pid 123 on host` of the last runner
//!     "started_at"    timestamptz,        -- UTC text on SQLite
//!     "updated_at"    timestamptz,
//!     "finished_at"   timestamptz
//! );
//! ```
//!
//! A batch and its progress update (`last_bound`, counters) commit in one transaction, so the
//! row always says exactly which batches committed.

use sqlx::{PgConnection, Row, SqliteConnection};

use crate::history::Spelling;

/// The job-state table's name.
pub const JOBS_TABLE: &str = "strata_background_jobs";

/// The state of a job, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Not started, or stopped cleanly between batches (a timed-out finalize).
    Pending,
    /// A runner is working on it, or one died mid-job (see [`super::JobStatus::live`]).
    Running,
    /// `strata background pause`: runners stop at the next batch boundary and skip it.
    Paused,
    /// Every batch committed.
    Finalized,
    /// A batch failed and was rolled back; `run` retries from the last committed bound.
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Paused => "paused",
            JobState::Finalized => "finalized",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        Some(match s {
            "pending" => JobState::Pending,
            "running" => JobState::Running,
            "paused" => JobState::Paused,
            "finalized" => JobState::Finalized,
            "failed" => JobState::Failed,
            _ => return None,
        })
    }
}

/// One row of [`JOBS_TABLE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub name: String,
    pub version: String,
    pub checksum: String,
    pub table_name: String,
    pub key_column: String,
    pub range_min: Option<i64>,
    pub range_max: Option<i64>,
    pub last_bound: Option<i64>,
    pub batches_done: i64,
    pub rows_affected: i64,
    pub state: JobState,
    pub error: Option<String>,
    pub runner: Option<String>,
    pub started_at: Option<String>,
    pub updated_at: Option<String>,
    pub finished_at: Option<String>,
}

impl JobRow {
    /// The first key of the next batch (None: nothing left).
    pub fn next_key(&self) -> Option<i64> {
        let (min, max) = (self.range_min?, self.range_max?);
        let next = match self.last_bound {
            Some(b) => b.checked_add(1)?,
            None => min,
        };
        (next <= max).then_some(next)
    }

    /// The share of the key range done, 0.0 to 1.0 (an empty range is done).
    pub fn fraction_done(&self) -> f64 {
        let (Some(min), Some(max)) = (self.range_min, self.range_max) else { return 1.0 };
        let span = (max as f64 - min as f64) + 1.0;
        let done = self.last_bound.map(|b| (b as f64 - min as f64) + 1.0).unwrap_or(0.0);
        (done / span).clamp(0.0, 1.0)
    }
}

/// The job table's columns in table (and [`JobRow`]) order; the last three are timestamps.
const COLUMNS: [&str; 16] = [
    "name",
    "version",
    "checksum",
    "table_name",
    "key_column",
    "range_min",
    "range_max",
    "last_bound",
    "batches_done",
    "rows_affected",
    "state",
    "error",
    "runner",
    "started_at",
    "updated_at",
    "finished_at",
];

/// The job table's column list, in [`JobRow`] order, timestamps as UTC text.
fn select_list(sp: &Spelling) -> String {
    let (plain, times) = COLUMNS.split_at(13);
    let mut cols: Vec<String> = plain.iter().map(|c| (sp.quote)(c)).collect();
    cols.extend(times.iter().map(|c| (sp.ts_out)(&(sp.quote)(c))));
    cols.join(", ")
}

/// `CREATE TABLE IF NOT EXISTS` of the job table.
pub(crate) fn create_sql(sp: &Spelling) -> String {
    let (q, int, ts) = (sp.quote, sp.integer, sp.timestamp);
    let text = |c: &str, null: &str| format!("{} text{null}", q(c));
    let cols = [
        format!("{} {} PRIMARY KEY", q("name"), sp.key_text),
        text("version", " NOT NULL"),
        text("checksum", " NOT NULL"),
        text("table_name", " NOT NULL"),
        text("key_column", " NOT NULL"),
        format!("{} {int}", q("range_min")),
        format!("{} {int}", q("range_max")),
        format!("{} {int}", q("last_bound")),
        format!("{} {int} NOT NULL", q("batches_done")),
        format!("{} {int} NOT NULL", q("rows_affected")),
        text("state", " NOT NULL"),
        text("error", ""),
        text("runner", ""),
        format!("{} {ts}", q("started_at")),
        format!("{} {ts}", q("updated_at")),
        format!("{} {ts}", q("finished_at")),
    ];
    format!("CREATE TABLE IF NOT EXISTS {} (\n    {}\n)", q(JOBS_TABLE), cols.join(",\n    "))
}

/// Selects one job (`$1`: name); `lock` adds the row lock a batch transaction takes.
pub(crate) fn select_one_sql(sp: &Spelling, lock: &str) -> String {
    format!(
        "SELECT {} FROM {} WHERE {} = {}{lock}",
        select_list(sp),
        (sp.quote)(JOBS_TABLE),
        (sp.quote)("name"),
        (sp.param)(1)
    )
}

/// Selects every job, by name.
pub(crate) fn select_all_sql(sp: &Spelling) -> String {
    format!("SELECT {} FROM {} ORDER BY {}", select_list(sp), (sp.quote)(JOBS_TABLE), (sp.quote)("name"))
}

/// Every job's name and state, by name (what the plan checks `requires_background` against).
pub(crate) fn states_sql(sp: &Spelling) -> String {
    let q = sp.quote;
    format!("SELECT {}, {} FROM {} ORDER BY {}", q("name"), q("state"), q(JOBS_TABLE), q("name"))
}

/// Inserts a job row (`$1`..`$9`: name, version, checksum, table, key, min, max, runner, now).
pub(crate) fn insert_sql(sp: &Spelling) -> String {
    let q = sp.quote;
    let p = sp.param;
    // The key range as read at the start, then who started it and when.
    let started = ["runner", "started_at", "updated_at", "batches_done", "rows_affected", "state"];
    let cols: Vec<&str> = COLUMNS[..7].iter().chain(&started).copied().collect();
    let values = [p(1), p(2), p(3), p(4), p(5), p(6), p(7), p(8), (sp.ts_in)(&p(9)), (sp.ts_in)(&p(10))];
    let values = format!("{}, 0, 0, 'running'", values.join(", "));
    let cols: Vec<String> = cols.iter().map(|c| q(c)).collect();
    format!("INSERT INTO {} ({}) VALUES ({values})", q(JOBS_TABLE), cols.join(", "))
}

/// Records a committed batch (`$1` bound, `$2` rows, `$3` state, `$4` now, `$5` finished_at, `$6` name).
pub(crate) fn batch_done_sql(sp: &Spelling) -> String {
    let (q, p) = (sp.quote, sp.param);
    format!(
        "UPDATE {t} SET {lb} = {p1}, {bd} = {bd} + 1, {ra} = {ra} + {p2}, {st} = {p3}, {ua} = {p4}, {fa} = {p5} WHERE {n} = {p6}",
        t = q(JOBS_TABLE),
        lb = q("last_bound"),
        bd = q("batches_done"),
        ra = q("rows_affected"),
        st = q("state"),
        ua = q("updated_at"),
        fa = q("finished_at"),
        n = q("name"),
        p1 = p(1),
        p2 = p(2),
        p3 = p(3),
        p4 = (sp.ts_in)(&p(4)),
        p5 = (sp.ts_in)(&p(5)),
        p6 = p(6),
    )
}

/// Marks a job finalized (`$1` updated_at, `$2` finished_at, `$3` name).
pub(crate) fn finish_sql(sp: &Spelling) -> String {
    let (q, p) = (sp.quote, sp.param);
    format!(
        "UPDATE {} SET {} = 'finalized', {} = {}, {} = {} WHERE {} = {}",
        q(JOBS_TABLE),
        q("state"),
        q("updated_at"),
        (sp.ts_in)(&p(1)),
        q("finished_at"),
        (sp.ts_in)(&p(2)),
        q("name"),
        p(3)
    )
}

/// Sets a job's state (`$1` state, `$2` error, `$3` runner or NULL to keep it, `$4` now, `$5` name), only where its
/// current state is one of `from` (a job another runner finalized meanwhile stays finalized).
pub(crate) fn set_state_sql(sp: &Spelling, from: &[JobState]) -> String {
    let (q, p) = (sp.quote, sp.param);
    let from: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    format!(
        "UPDATE {} SET {} = {}, {} = {}, {} = COALESCE({}, {}), {} = {} WHERE {} = {} AND {} IN ({})",
        q(JOBS_TABLE),
        q("state"),
        p(1),
        q("error"),
        p(2),
        q("runner"),
        p(3),
        q("runner"),
        q("updated_at"),
        (sp.ts_in)(&p(4)),
        q("name"),
        p(5),
        q("state"),
        from.join(", ")
    )
}

/// A connection to a database that holds background jobs. One enum rather than a trait: the
/// queries are the same sqlx calls on both drivers, spelled by each driver's [`Spelling`].
pub(crate) enum JobConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs `$body` with `$c` bound to the connection of either driver.
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            crate::background::store::JobConn::Pg($c) => $body,
            crate::background::store::JobConn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_conn;

/// Decodes a row selected with [`select_list`] (a macro: the same code for both drivers' rows).
macro_rules! decode {
    ($r:expr) => {{
        let r = $r;
        let state: String = r.try_get(10)?;
        Ok::<JobRow, sqlx::Error>(JobRow {
            name: r.try_get(0)?,
            version: r.try_get(1)?,
            checksum: r.try_get(2)?,
            table_name: r.try_get(3)?,
            key_column: r.try_get(4)?,
            range_min: r.try_get(5)?,
            range_max: r.try_get(6)?,
            last_bound: r.try_get(7)?,
            batches_done: r.try_get(8)?,
            rows_affected: r.try_get(9)?,
            state: JobState::parse(&state).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown job state `{state}` in {JOBS_TABLE}").into())
            })?,
            error: r.try_get(11)?,
            runner: r.try_get(12)?,
            started_at: r.try_get(13)?,
            updated_at: r.try_get(14)?,
            finished_at: r.try_get(15)?,
        })
    }};
}

impl JobConn {
    pub(crate) fn spelling(&self) -> &'static Spelling {
        match self {
            JobConn::Pg(_) => &crate::session::PG_SPELLING,
            JobConn::Sqlite(_) => &crate::session::SQLITE_SPELLING,
        }
    }

    /// Runs SQL text that takes no parameters (strata's own statements).
    pub(crate) async fn execute(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        on_conn!(self, c => sqlx::raw_sql(sql).execute(&mut *c).await.map(|_| ()))
    }

    pub(crate) async fn has_jobs_table(&mut self) -> Result<bool, sqlx::Error> {
        match self {
            JobConn::Pg(c) => {
                let sql = "SELECT to_regclass($1) IS NOT NULL";
                sqlx::query_scalar(sql).bind(crate::quote_ident(JOBS_TABLE)).fetch_one(c).await
            }
            JobConn::Sqlite(c) => {
                let sql = "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1";
                sqlx::query_scalar(sql).bind(JOBS_TABLE).fetch_one(c).await
            }
        }
    }

    pub(crate) async fn ensure_jobs_table(&mut self) -> Result<(), sqlx::Error> {
        let sql = create_sql(self.spelling());
        self.execute(&sql).await
    }

    /// The job `name`'s row; `lock` is appended (PostgreSQL's ` FOR UPDATE` inside a batch).
    pub(crate) async fn job(&mut self, name: &str, lock: &str) -> Result<Option<JobRow>, sqlx::Error> {
        let sql = select_one_sql(self.spelling(), lock);
        on_conn!(self, c => {
            let row = sqlx::query(&sql).bind(name).fetch_optional(&mut *c).await?;
            row.map(|r| decode!(&r)).transpose()
        })
    }

    pub(crate) async fn jobs(&mut self) -> Result<Vec<JobRow>, sqlx::Error> {
        let sql = select_all_sql(self.spelling());
        on_conn!(self, c => {
            let rows = sqlx::query(&sql).fetch_all(&mut *c).await?;
            rows.iter().map(|r| decode!(r)).collect()
        })
    }

    /// Sets `name`'s state where it is one of `from`; true when a row changed.
    pub(crate) async fn set_state(
        &mut self,
        name: &str,
        from: &[JobState],
        to: JobState,
        error: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let sql = set_state_sql(self.spelling(), from);
        // Only a runner taking the job records itself; pause and resume keep the last runner.
        let runner = (to == JobState::Running).then(crate::runlock::this_runner);
        let now = crate::timefmt::now_utc();
        on_conn!(self, c => {
            let done = sqlx::query(&sql)
                .bind(to.as_str())
                .bind(error)
                .bind(&runner)
                .bind(&now)
                .bind(name)
                .execute(&mut *c)
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(min: Option<i64>, max: Option<i64>, last: Option<i64>) -> JobRow {
        JobRow {
            name: "j".into(),
            version: "v".into(),
            checksum: "c".into(),
            table_name: "t".into(),
            key_column: "id".into(),
            range_min: min,
            range_max: max,
            last_bound: last,
            batches_done: 0,
            rows_affected: 0,
            state: JobState::Running,
            error: None,
            runner: None,
            started_at: None,
            updated_at: None,
            finished_at: None,
        }
    }

    #[test]
    fn next_key_and_fraction_follow_the_last_bound() {
        assert_eq!(row(Some(1), Some(10), None).next_key(), Some(1));
        assert_eq!(row(Some(1), Some(10), Some(4)).next_key(), Some(5));
        assert_eq!(row(Some(1), Some(10), Some(10)).next_key(), None);
        assert_eq!(row(None, None, None).next_key(), None);
        assert_eq!(row(Some(1), Some(i64::MAX), Some(i64::MAX)).next_key(), None);
        assert!((row(Some(1), Some(10), Some(4)).fraction_done() - 0.4).abs() < 1e-9);
        assert_eq!(row(None, None, None).fraction_done(), 1.0);
    }

    /// The table's SQL round-trips a row on SQLite: create, insert, a batch, a state change.
    #[tokio::test]
    async fn job_rows_round_trip_through_the_table() {
        use sqlx::Connection;
        let mut conn = JobConn::Sqlite(SqliteConnection::connect("sqlite::memory:").await.unwrap());
        conn.ensure_jobs_table().await.unwrap();
        conn.ensure_jobs_table().await.unwrap();
        assert!(conn.has_jobs_table().await.unwrap());
        let insert = insert_sql(conn.spelling());
        let JobConn::Sqlite(c) = &mut conn else { unreachable!() };
        sqlx::query(&insert)
            .bind("j")
            .bind("v1")
            .bind("sum")
            .bind("t")
            .bind("id")
            .bind(3i64)
            .bind(90i64)
            .bind("pid 1 on h")
            .bind("2026-01-01 00:00:00.000")
            .bind("2026-01-01 00:00:00.000")
            .execute(&mut *c)
            .await
            .unwrap();
        let batch = batch_done_sql(&crate::session::SQLITE_SPELLING);
        sqlx::query(&batch)
            .bind(12i64)
            .bind(10i64)
            .bind("running")
            .bind("2026-01-01 00:00:01.000")
            .bind(None::<String>)
            .bind("j")
            .execute(&mut *c)
            .await
            .unwrap();
        let row = conn.job("j", "").await.unwrap().unwrap();
        assert_eq!((row.range_min, row.range_max, row.last_bound), (Some(3), Some(90), Some(12)));
        assert_eq!((row.batches_done, row.rows_affected, row.state), (1, 10, JobState::Running));
        assert_eq!(row.updated_at.as_deref(), Some("2026-01-01 00:00:01.000"));
        assert!(!conn.set_state("j", &[JobState::Paused], JobState::Pending, None).await.unwrap());
        assert!(conn.set_state("j", &[JobState::Running], JobState::Failed, Some("boom")).await.unwrap());
        let rows = conn.jobs().await.unwrap();
        assert_eq!(
            (rows.len(), rows[0].state, rows[0].error.as_deref()),
            (1, JobState::Failed, Some("boom"))
        );
    }

    #[test]
    fn states_round_trip() {
        for s in
            [JobState::Pending, JobState::Running, JobState::Paused, JobState::Finalized, JobState::Failed]
        {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
        assert_eq!(JobState::parse("done"), None);
    }
}
