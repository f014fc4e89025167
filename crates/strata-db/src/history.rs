//! strata's own history table: one row per attempt, next to Serverpod's `serverpod_migrations`
//! (which only holds the current version per module).
//!
//! ```sql
//! CREATE TABLE "strata_migration_history" (
//!     "id"                bigserial PRIMARY KEY,        -- INTEGER PRIMARY KEY AUTOINCREMENT on SQLite
//!     "module"            text NOT NULL,                -- project module, or `_repair`
//!     "version"           text NOT NULL,
//!     "kind"              text NOT NULL,                -- definition | migration | repair
//!     "dialect"           text NOT NULL,                -- postgres | sqlite | mysql
//!     "checksum"          text,                         -- SHA-256 of the file, CRLF→LF; NULL for baseline
//!     "status"            text NOT NULL,                -- ok | failed | baseline | accepted | running | skipped
//!     "started_at"        timestamptz NOT NULL,         -- UTC text on SQLite
//!     "finished_at"       timestamptz,
//!     "duration_ms"       bigint,
//!     "error"             text,                         -- failed: the database's message; skipped: the reason
//!     "covered_by"        text,                         -- baseline: the version whose definition.sql ran
//!     "previous_checksum" text,                         -- accepted: the checksum it replaced
//!     "strata_version"    text,
//!     "runner"            text,                         -- `pid 123 on host` of the run
//!     -- Attempts run statement by statement (no transactional DDL, e.g. MySQL):
//!     "statement_count"     bigint,                     -- statements in the file
//!     "statements_done"     bigint,                     -- completed ones, from the first
//!     "statement_checksums" text,                       -- SHA-256 of each completed statement
//!     "failed_statement"    bigint                      -- 1-based index of the one that failed
//! );
//! ```
//!
//! Each attempt's row is written as `running` before the step's transaction begins, and turned
//! into `ok` inside that transaction, so a row is `ok` if and only if the migration committed.
//! A failure turns it into `failed` after the rollback. A row left `running` with no run holding
//! the lock is a stale run (killed, crashed, or lost its connection); the next apply marks it
//! `failed` ("interrupted").

use crate::plan::StepKind;

/// The history table's name.
pub const HISTORY_TABLE: &str = "strata_migration_history";

/// The outcome recorded in a history row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// The file ran and committed.
    Ok,
    /// The file failed and was rolled back.
    Failed,
    /// Never run: covered by a later version's `definition.sql` on a fresh database.
    Baseline,
    /// An edited, already-applied file whose new checksum was accepted (`--accept-modified`)
    /// without running it.
    Accepted,
    /// Being applied right now, or a stale attempt (see module docs).
    Running,
    /// A failed version the operator moved past without running it (`apply --skip-failed V
    /// --reason R`); `error` holds the reason.
    Skipped,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Baseline => "baseline",
            RunStatus::Accepted => "accepted",
            RunStatus::Running => "running",
            RunStatus::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        Some(match s {
            "ok" => RunStatus::Ok,
            "failed" => RunStatus::Failed,
            "baseline" => RunStatus::Baseline,
            "accepted" => RunStatus::Accepted,
            "running" => RunStatus::Running,
            "skipped" => RunStatus::Skipped,
            _ => return None,
        })
    }
}

/// One row of [`HISTORY_TABLE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub id: i64,
    pub module: String,
    pub version: String,
    pub kind: StepKind,
    pub dialect: String,
    pub checksum: Option<String>,
    pub status: RunStatus,
    /// UTC, `YYYY-MM-DD HH:MM:SS.mmm`.
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub covered_by: Option<String>,
    pub previous_checksum: Option<String>,
    /// The run that wrote the row (`pid 123 on host`); None for rows of older strata versions.
    pub runner: Option<String>,
    /// Per-statement progress, for attempts run statement by statement (dialects without
    /// transactional DDL); None for attempts that ran as one transaction.
    pub progress: Option<Progress>,
}

/// How far an attempt run statement by statement got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Statements in the file.
    pub count: i64,
    /// Statements that completed (and committed), from the first.
    pub done: i64,
    /// The checksum of each completed statement, in order: a resume after an edit compares them.
    pub checksums: Vec<String>,
    /// The 1-based statement that failed, when one did.
    pub failed: Option<i64>,
}

impl Progress {
    /// `2 of 5 statements done`.
    pub fn summary(&self) -> String {
        format!("{} of {} statements done", self.done, self.count)
    }
}

/// How one driver spells the history table's SQL: its placeholders, column types, timestamp
/// conversions and identifier quoting. Each driver module owns one; the statement shapes below are
/// shared, so the three drivers' history SQL differs only where their databases do.
pub(crate) struct Spelling {
    /// The `n`th (1-based) bind parameter. Every statement below uses its parameters once each, in
    /// order, so positional `?` works as well as `$n`.
    pub param: fn(usize) -> String,
    /// Quotes an identifier (through the driver's `strata_sql::Dialect`).
    pub quote: fn(&str) -> String,
    /// The `id` column: an auto-incrementing primary key.
    pub id_column: &'static str,
    /// Columns that are looked up and indexed (`module`, `version`, ...).
    pub key_text: &'static str,
    pub timestamp: &'static str,
    pub integer: &'static str,
    /// A UTC `YYYY-MM-DD HH:MM:SS.mmm` text parameter as a timestamp value.
    pub ts_in: fn(&str) -> String,
    /// A timestamp column as UTC `YYYY-MM-DD HH:MM:SS.mmm` text.
    pub ts_out: fn(&str) -> String,
    /// String concatenation of SQL expressions.
    pub concat: fn(&[&str]) -> String,
}

/// `a || b` (PostgreSQL, SQLite).
pub(crate) fn concat_pipes(parts: &[&str]) -> String {
    parts.join(" || ")
}

/// The columns of [`HISTORY_TABLE`] after `id`, in table order, with their type class.
const COLUMNS: [(&str, Col); 18] = [
    ("module", Col::Key),
    ("version", Col::Key),
    ("kind", Col::Key),
    ("dialect", Col::Key),
    ("checksum", Col::Text),
    ("status", Col::Key),
    ("started_at", Col::Ts),
    ("finished_at", Col::Ts),
    ("duration_ms", Col::Int),
    ("error", Col::Text),
    ("covered_by", Col::Text),
    ("previous_checksum", Col::Text),
    ("strata_version", Col::Text),
    ("runner", Col::Text),
    ("statement_count", Col::Int),
    ("statements_done", Col::Int),
    ("statement_checksums", Col::Text),
    ("failed_statement", Col::Int),
];

/// Columns later strata versions added; an older table gets them through [`upgrade_sql`].
pub(crate) const ADDED_COLUMNS: [&str; 5] =
    ["runner", "statement_count", "statements_done", "statement_checksums", "failed_statement"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Key,
    Text,
    Ts,
    Int,
}

fn column_type(sp: &Spelling, col: Col) -> &'static str {
    match col {
        Col::Key => sp.key_text,
        Col::Text => "text",
        Col::Ts => sp.timestamp,
        Col::Int => sp.integer,
    }
}

fn not_null(name: &str) -> bool {
    matches!(name, "module" | "version" | "kind" | "dialect" | "status" | "started_at")
}

/// `CREATE TABLE IF NOT EXISTS` for the history table, and separately its lookup index.
pub(crate) fn create_sql(sp: &Spelling) -> (String, String) {
    let q = sp.quote;
    let t = q(HISTORY_TABLE);
    let mut lines = vec![format!("    {} {}", q("id"), sp.id_column)];
    for (name, col) in COLUMNS {
        let null = if not_null(name) { " NOT NULL" } else { "" };
        lines.push(format!("    {} {}{null}", q(name), column_type(sp, col)));
    }
    let table = format!("CREATE TABLE IF NOT EXISTS {t} (\n{}\n)", lines.join(",\n"));
    let idx = q(&format!("{HISTORY_TABLE}_version_idx"));
    let index = format!("CREATE INDEX {idx} ON {t} ({}, {})", q("module"), q("version"));
    (table, index)
}

/// `ALTER TABLE ... ADD COLUMN` for one of [`ADDED_COLUMNS`] an older table lacks.
pub(crate) fn add_column_sql(sp: &Spelling, name: &str) -> String {
    let col = COLUMNS.iter().find(|c| c.0 == name).map(|c| c.1).unwrap_or(Col::Text);
    format!(
        "ALTER TABLE {} ADD COLUMN {} {}",
        (sp.quote)(HISTORY_TABLE),
        (sp.quote)(name),
        column_type(sp, col)
    )
}

/// Turns a `running` row (param 5) into its outcome: status, finished_at, duration_ms, error.
pub(crate) fn finish_sql(sp: &Spelling) -> String {
    let (q, p) = (sp.quote, sp.param);
    format!(
        "UPDATE {} SET {} = {}, {} = {}, {} = {}, {} = {} WHERE {} = {}",
        q(HISTORY_TABLE),
        q("status"),
        p(1),
        q("finished_at"),
        (sp.ts_in)(&p(2)),
        q("duration_ms"),
        p(3),
        q("error"),
        p(4),
        q("id"),
        p(5)
    )
}

/// Records per-statement progress of the row (param 5): statements_done, statement_checksums,
/// failed_statement, error.
pub(crate) fn progress_sql(sp: &Spelling) -> String {
    let (q, p) = (sp.quote, sp.param);
    format!(
        "UPDATE {} SET {} = {}, {} = {}, {} = {}, {} = {} WHERE {} = {}",
        q(HISTORY_TABLE),
        q("statements_done"),
        p(1),
        q("statement_checksums"),
        p(2),
        q("failed_statement"),
        p(3),
        q("error"),
        p(4),
        q("id"),
        p(5)
    )
}

/// Deletes the row (param 1): an attempt that never touched the database (a race or a lost lock).
pub(crate) fn delete_sql(sp: &Spelling) -> String {
    format!("DELETE FROM {} WHERE {} = {}", (sp.quote)(HISTORY_TABLE), (sp.quote)("id"), (sp.param)(1))
}

/// Marks the `running` rows of modules params 1, 2 as interrupted. Only run under the lock, when
/// no other run can be writing them.
pub(crate) fn interrupt_sql(sp: &Spelling) -> String {
    let (q, p) = (sp.quote, sp.param);
    let runner = format!("coalesce({}, 'a strata run')", q("runner"));
    let message = (sp.concat)(&[
        "'interrupted: '",
        &runner,
        "' started this attempt and never finished it (killed, crashed or lost its connection); \
         what it did not record as done did not commit'",
    ]);
    format!(
        "UPDATE {} SET {} = 'failed', {} = {message} WHERE {} IN ({}, {}) AND {} = 'running'",
        q(HISTORY_TABLE),
        q("status"),
        q("error"),
        q("module"),
        p(1),
        p(2),
        q("status")
    )
}

/// The INSERT for one row; parameters in [`COLUMNS`] order up to `statement_count` (15 of them).
/// Drivers that can add `RETURNING "id"`.
pub(crate) fn insert_sql(sp: &Spelling) -> String {
    let (q, p) = (sp.quote, sp.param);
    let inserted = &COLUMNS[..15];
    let names: Vec<String> = inserted.iter().map(|c| q(c.0)).collect();
    let values: Vec<String> = inserted
        .iter()
        .enumerate()
        .map(|(i, c)| if c.1 == Col::Ts { (sp.ts_in)(&p(i + 1)) } else { p(i + 1) })
        .collect();
    format!("INSERT INTO {} ({}) VALUES ({})", q(HISTORY_TABLE), names.join(", "), values.join(", "))
}

/// SELECT of all rows of the given modules (params 1, 2), oldest first, timestamps as UTC text,
/// in [`RawRow`] order.
pub(crate) fn select_sql(sp: &Spelling) -> String {
    let (q, p) = (sp.quote, sp.param);
    let mut cols = vec![q("id")];
    for (name, col) in COLUMNS {
        if name == "strata_version" {
            continue;
        }
        cols.push(if col == Col::Ts { (sp.ts_out)(&q(name)) } else { q(name) });
    }
    format!(
        "SELECT {} FROM {} WHERE {} IN ({}, {}) ORDER BY {}",
        cols.join(", "),
        q(HISTORY_TABLE),
        q("module"),
        p(1),
        p(2),
        q("id")
    )
}

/// Counts the rows saying a version is applied now: `ok` or `baseline` rows of module param 1
/// for version param 2 newer than the last committed repair (module param 3) or rollback of the
/// module (param 4, the same as param 1), either of which may have rolled it back.
pub(crate) fn current_applied_sql(sp: &Spelling) -> String {
    let (q, p) = (sp.quote, sp.param);
    let t = q(HISTORY_TABLE);
    let (id, module, kind, status) = (q("id"), q("module"), q("kind"), q("status"));
    format!(
        "SELECT count(*) FROM {t} WHERE {module} = {} AND {} = {} \
         AND {kind} IN ('migration', 'definition') AND {status} IN ('ok', 'baseline') \
         AND {id} > (SELECT coalesce(max({id}), 0) FROM {t} WHERE {status} = 'ok' \
         AND ({module} = {} OR ({module} = {} AND {kind} = 'rollback')))",
        p(1),
        q("version"),
        p(2),
        p(3),
        p(4)
    )
}

/// A history row as selected by [`select_sql`].
pub(crate) type RawRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The progress columns that follow a [`RawRow`]'s: statement_count, statements_done,
/// statement_checksums, failed_statement.
pub(crate) type RawProgress = (Option<i64>, Option<i64>, Option<String>, Option<i64>);

/// Decodes a [`RawRow`], refusing kinds and statuses this strata does not know.
pub(crate) fn decode(r: RawRow, p: RawProgress) -> Result<HistoryRow, sqlx::Error> {
    let bad = |what: &str, v: &str| {
        sqlx::Error::Protocol(format!("{HISTORY_TABLE} row {}: unknown {what} `{v}`", r.0))
    };
    let (statement_count, statements_done, statement_checksums, failed_statement) = p;
    Ok(HistoryRow {
        id: r.0,
        kind: StepKind::parse(&r.3).ok_or_else(|| bad("kind", &r.3))?,
        status: RunStatus::parse(&r.6).ok_or_else(|| bad("status", &r.6))?,
        module: r.1,
        version: r.2,
        dialect: r.4,
        checksum: r.5,
        started_at: r.7,
        finished_at: r.8,
        duration_ms: r.9,
        error: r.10,
        covered_by: r.11,
        previous_checksum: r.12,
        runner: r.13,
        progress: statement_count.map(|count| Progress {
            count,
            done: statements_done.unwrap_or(0),
            checksums: statement_checksums
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            failed: failed_statement,
        }),
    })
}

/// A row about to be written (no id yet).
#[derive(Debug, Clone)]
pub(crate) struct NewRow {
    pub module: String,
    pub version: String,
    pub kind: StepKind,
    pub checksum: Option<String>,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub covered_by: Option<String>,
    pub previous_checksum: Option<String>,
    pub runner: Option<String>,
    /// Statements in the file, for attempts run statement by statement.
    pub statement_count: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips() {
        for s in [
            RunStatus::Ok,
            RunStatus::Failed,
            RunStatus::Baseline,
            RunStatus::Accepted,
            RunStatus::Running,
            RunStatus::Skipped,
        ] {
            assert_eq!(RunStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RunStatus::parse("done"), None);
    }

    fn spelled(param: fn(usize) -> String) -> Spelling {
        Spelling {
            param,
            quote: strata_sql::quote::ident,
            id_column: "bigserial PRIMARY KEY",
            key_text: "text",
            timestamp: "timestamptz",
            integer: "bigint",
            ts_in: |p| format!("({p}::timestamp AT TIME ZONE 'UTC')"),
            ts_out: |c| c.to_string(),
            concat: concat_pipes,
        }
    }

    #[test]
    fn parameters_appear_once_each_in_order() {
        let sp = spelled(|n| format!("${n}"));
        for sql in
            [insert_sql(&sp), finish_sql(&sp), progress_sql(&sp), select_sql(&sp), current_applied_sql(&sp)]
        {
            let found: Vec<usize> = sql
                .split('$')
                .skip(1)
                .map(|s| s.chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap())
                .collect();
            assert_eq!(found, (1..=found.len()).collect::<Vec<_>>(), "{sql}");
        }
        assert!(insert_sql(&sp).contains("($7::timestamp AT TIME ZONE 'UTC')"));
        let (table, index) = create_sql(&sp);
        assert!(table.contains("\"statements_done\" bigint") && index.starts_with("CREATE INDEX"), "{table}");
    }
}
