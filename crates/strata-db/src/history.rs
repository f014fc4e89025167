//! strata's own history table: one row per attempt, next to Serverpod's `serverpod_migrations`
//! (which only holds the current version per module).
//!
//! ```sql
//! CREATE TABLE "strata_migration_history" (
//!     "id"                bigserial PRIMARY KEY,        -- INTEGER PRIMARY KEY AUTOINCREMENT on SQLite
//!     "module"            text NOT NULL,                -- project module, or `_repair`
//!     "version"           text NOT NULL,
//!     "kind"              text NOT NULL,                -- definition | migration | repair
//!     "dialect"           text NOT NULL,                -- postgres | sqlite
//!     "checksum"          text,                         -- SHA-256 of the file, CRLF→LF; NULL for baseline
//!     "status"            text NOT NULL,                -- ok | failed | baseline | accepted | running | skipped
//!     "started_at"        timestamptz NOT NULL,         -- UTC text on SQLite
//!     "finished_at"       timestamptz,
//!     "duration_ms"       bigint,
//!     "error"             text,                         -- failed: the database's message; skipped: the reason
//!     "covered_by"        text,                         -- baseline: the version whose definition.sql ran
//!     "previous_checksum" text,                         -- accepted: the checksum it replaced
//!     "strata_version"    text,
//!     "runner"            text                          -- `pid 123 on host` of the run
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
}

/// `CREATE TABLE IF NOT EXISTS` for the history table (+ its lookup index).
pub(crate) fn create_sql(dialect: crate::Dialect) -> String {
    let t = crate::quote_ident(HISTORY_TABLE);
    let idx = crate::quote_ident(&format!("{HISTORY_TABLE}_version_idx"));
    let (id, ts, int) = match dialect {
        crate::Dialect::Postgres => ("bigserial PRIMARY KEY", "timestamptz", "bigint"),
        crate::Dialect::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "text", "integer"),
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {t} (\n    \"id\" {id},\n    \"module\" text NOT NULL,\n    \"version\" text NOT NULL,\n    \
         \"kind\" text NOT NULL,\n    \"dialect\" text NOT NULL,\n    \"checksum\" text,\n    \"status\" text NOT NULL,\n    \
         \"started_at\" {ts} NOT NULL,\n    \"finished_at\" {ts},\n    \"duration_ms\" {int},\n    \"error\" text,\n    \
         \"covered_by\" text,\n    \"previous_checksum\" text,\n    \"strata_version\" text,\n    \"runner\" text\n);\n\
         CREATE INDEX IF NOT EXISTS {idx} ON {t} (\"module\", \"version\");\n"
    )
}

/// Adds the columns later strata versions introduced to a table an older one created.
pub(crate) fn upgrade_sql(dialect: crate::Dialect, has_runner: bool) -> Option<String> {
    let t = crate::quote_ident(HISTORY_TABLE);
    match dialect {
        crate::Dialect::Postgres => Some(format!("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS \"runner\" text")),
        crate::Dialect::Sqlite => {
            (!has_runner).then(|| format!("ALTER TABLE {t} ADD COLUMN \"runner\" text"))
        }
    }
}

/// Turns a `running` row (`$5`) into its outcome: status `$1`, finished_at `$2`, duration_ms
/// `$3`, error `$4`.
pub(crate) fn finish_sql(dialect: crate::Dialect) -> String {
    let t = crate::quote_ident(HISTORY_TABLE);
    let ts = match dialect {
        crate::Dialect::Postgres => "($2::timestamp AT TIME ZONE 'UTC')",
        crate::Dialect::Sqlite => "$2",
    };
    format!(
        "UPDATE {t} SET \"status\" = $1, \"finished_at\" = {ts}, \"duration_ms\" = $3, \"error\" = $4 WHERE \"id\" = $5"
    )
}

/// Deletes the row `$1` (an attempt that never touched the database: a race or a lost lock).
pub(crate) fn delete_sql() -> String {
    format!("DELETE FROM {} WHERE \"id\" = $1", crate::quote_ident(HISTORY_TABLE))
}

/// Marks the `running` rows of modules `$1`, `$2` as interrupted. Only run under the lock, when
/// no other run can be writing them.
pub(crate) fn interrupt_sql() -> String {
    let t = crate::quote_ident(HISTORY_TABLE);
    format!(
        "UPDATE {t} SET \"status\" = 'failed', \"error\" = 'interrupted: ' || coalesce(\"runner\", 'a strata run') || \
         ' started this attempt and never finished it (killed, crashed or lost its connection); its transaction did not commit' \
         WHERE \"module\" IN ($1, $2) AND \"status\" = 'running'"
    )
}

/// The INSERT for one row, returning its id; parameters in order: module, version, kind,
/// dialect, checksum, status, started_at, finished_at, duration_ms, error, covered_by,
/// previous_checksum, strata_version, runner.
pub(crate) fn insert_sql(dialect: crate::Dialect) -> String {
    let t = crate::quote_ident(HISTORY_TABLE);
    let ts = |n: u8| match dialect {
        crate::Dialect::Postgres => format!("(${n}::timestamp AT TIME ZONE 'UTC')"),
        crate::Dialect::Sqlite => format!("${n}"),
    };
    format!(
        "INSERT INTO {t} (\"module\", \"version\", \"kind\", \"dialect\", \"checksum\", \"status\", \"started_at\", \
         \"finished_at\", \"duration_ms\", \"error\", \"covered_by\", \"previous_checksum\", \"strata_version\", \"runner\") \
         VALUES ($1, $2, $3, $4, $5, $6, {}, {}, $9, $10, $11, $12, $13, $14) RETURNING \"id\"",
        ts(7),
        ts(8)
    )
}

/// SELECT of all rows of the given modules ($1, $2), oldest first, timestamps as UTC text.
pub(crate) fn select_sql(dialect: crate::Dialect) -> String {
    let t = crate::quote_ident(HISTORY_TABLE);
    let ts = |c: &str| match dialect {
        crate::Dialect::Postgres => {
            format!("to_char(\"{c}\" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')")
        }
        crate::Dialect::Sqlite => format!("\"{c}\""),
    };
    format!(
        "SELECT \"id\", \"module\", \"version\", \"kind\", \"dialect\", \"checksum\", \"status\", {}, {}, \
         \"duration_ms\", \"error\", \"covered_by\", \"previous_checksum\", \"runner\" FROM {t} \
         WHERE \"module\" IN ($1, $2) ORDER BY \"id\"",
        ts("started_at"),
        ts("finished_at")
    )
}

/// Counts the rows saying a version is applied now: `ok` or `baseline` rows of module `$1` for
/// version `$2` newer than the last committed repair (module `$3`) or rollback, either of which
/// may have rolled it back.
pub(crate) fn current_applied_sql() -> String {
    let t = crate::quote_ident(HISTORY_TABLE);
    format!(
        "SELECT count(*) FROM {t} WHERE \"module\" = $1 AND \"version\" = $2 \
         AND \"kind\" IN ('migration', 'definition') AND \"status\" IN ('ok', 'baseline') \
         AND \"id\" > (SELECT coalesce(max(\"id\"), 0) FROM {t} WHERE \"status\" = 'ok' \
         AND (\"module\" = $3 OR (\"module\" = $1 AND \"kind\" = 'rollback')))"
    )
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

    #[test]
    fn sql_uses_dialect_types() {
        let pg = create_sql(crate::Dialect::Postgres);
        assert!(pg.contains("bigserial") && pg.contains("timestamptz"));
        let lite = create_sql(crate::Dialect::Sqlite);
        assert!(lite.contains("AUTOINCREMENT") && !lite.contains("timestamptz"));
        assert!(insert_sql(crate::Dialect::Postgres).contains("$7::timestamp AT TIME ZONE 'UTC'"));
        assert!(!insert_sql(crate::Dialect::Sqlite).contains("::"));
    }
}
