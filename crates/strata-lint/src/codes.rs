//! Every finding code, once: its family, severity, title, the dialects it applies to and the
//! text docs/lint.md shows for it. Codes are stable: never renumber or reuse one; retire a
//! code by keeping its entry out of new findings instead.

use crate::RuleSet;

/// What a group of codes is about (the code's two-letter prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// `DS`: the migration loses data.
    Destructive,
    /// `MF`: the migration can fail, depending on the rows already in the table.
    DataDependent,
    /// `BC`: the application version still running during a rolling deploy breaks.
    BackwardIncompatible,
    /// `PG`: PostgreSQL holds a strong lock or rewrites the table while it runs.
    Locking,
    /// `DT`: a construct the dialect refuses or silently changes.
    DialectTrap,
    /// `LN`: about the lint itself (statements it could not read, suppressions).
    Lint,
}

impl Family {
    /// The family's name as docs and JSON spell it.
    pub fn name(self) -> &'static str {
        match self {
            Family::Destructive => "destructive",
            Family::DataDependent => "data-dependent",
            Family::BackwardIncompatible => "backward-incompatible",
            Family::Locking => "locking",
            Family::DialectTrap => "dialect-trap",
            Family::Lint => "lint",
        }
    }
}

/// How much a finding matters. Only `Warning` and `Error` make `strata lint` exit 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing; never fails a check.
    Info,
    /// A hazard to review; fails a check unless suppressed.
    Warning,
    /// Wrong as written; fails a check unless suppressed.
    Error,
}

impl Severity {
    /// The severity's name as text output and JSON spell it.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    TableDropped,
    ColumnDropped,
    TypeNarrowed,
    NotNullOnExistingRows,
    UniqueOnExistingRows,
    ForeignKeyOnExistingRows,
    CheckOnExistingRows,
    ColumnRenamed,
    ColumnDroppedWhileRead,
    TableRenamed,
    IndexWithoutConcurrently,
    TypeChangeRewrites,
    VolatileDefault,
    ForeignKeyValidated,
    BtreeOnJson,
    IdentifierTooLong,
    ReservedWord,
    NotAnalysed,
    MalformedSuppression,
    UnusedSuppression,
}

/// The documented facts about a code.
#[derive(Debug, Clone, Copy)]
pub struct CodeInfo {
    pub code: Code,
    /// The stable string, e.g. `DS101`.
    pub id: &'static str,
    pub family: Family,
    pub severity: Severity,
    /// A few words, used as the GitHub annotation title.
    pub title: &'static str,
    /// The dialects whose SQL can raise it.
    pub dialects: &'static [RuleSet],
    /// What it means and why it matters.
    pub meaning: &'static str,
    /// SQL that raises it (on the first of `dialects`).
    pub example: &'static str,
    /// How to fix it, or when to suppress it.
    pub fix: &'static str,
}

const ALL: &[RuleSet] = &[RuleSet::Postgres, RuleSet::Sqlite, RuleSet::Mysql];
const PG_MYSQL: &[RuleSet] = &[RuleSet::Postgres, RuleSet::Mysql];
const PG: &[RuleSet] = &[RuleSet::Postgres];

/// The catalogue, in documentation order.
pub const CATALOGUE: &[CodeInfo] = &[
    CodeInfo {
        code: Code::TableDropped,
        id: "DS101",
        family: Family::Destructive,
        severity: Severity::Warning,
        title: "table dropped",
        dialects: ALL,
        meaning: "A table that existed before this migration is dropped, with every row in it. \
                  A SQLite rebuild (`new_t` copied and renamed to `t`) keeps the rows and is not reported.",
        example: "DROP TABLE \"invoice\";",
        fix: "Make sure the data is no longer needed (or copied elsewhere) before the migration runs, \
              then suppress the finding with the reason.",
    },
    CodeInfo {
        code: Code::ColumnDropped,
        id: "DS102",
        family: Family::Destructive,
        severity: Severity::Warning,
        title: "column dropped",
        dialects: ALL,
        meaning: "A column of an existing table is dropped, with its values. On SQLite a rebuild that \
                  leaves out a column of the previous definition counts too.",
        example: "ALTER TABLE \"invoice\" DROP COLUMN \"note\";",
        fix: "Copy the values somewhere first if they matter, then suppress the finding with the reason.",
    },
    CodeInfo {
        code: Code::TypeNarrowed,
        id: "DS103",
        family: Family::Destructive,
        severity: Severity::Warning,
        title: "type narrowed",
        dialects: PG_MYSQL,
        meaning: "A column changes to a type that holds less than the old one (a shorter `varchar`, \
                  `bigint` to `integer`, fewer `numeric` digits, `timestamp` to `date`, text to a number): \
                  existing values are cut, rounded or make the migration fail. The old type comes from \
                  the previous version's `definition.json`.",
        example: "ALTER TABLE \"invoice\" ALTER COLUMN \"code\" TYPE varchar(5);",
        fix: "Check the longest or largest stored value first (`SELECT max(length(code)) ...`), or keep \
              the wider type.",
    },
    CodeInfo {
        code: Code::NotNullOnExistingRows,
        id: "MF101",
        family: Family::DataDependent,
        severity: Severity::Warning,
        title: "NOT NULL on existing rows",
        dialects: ALL,
        meaning: "A `NOT NULL` column without a default is added to an existing table, or an existing \
                  column becomes `NOT NULL` (`SET NOT NULL`, or a SQLite rebuild of a column that was \
                  nullable). Existing rows without a value make the migration fail (MySQL fills them with \
                  the type's implicit default instead).",
        example: "ALTER TABLE \"invoice\" ADD COLUMN \"total\" bigint NOT NULL;",
        fix: "Give the column a default, or add it nullable, backfill it, then set `NOT NULL` in a later \
              migration.",
    },
    CodeInfo {
        code: Code::UniqueOnExistingRows,
        id: "MF102",
        family: Family::DataDependent,
        severity: Severity::Warning,
        title: "unique index on existing rows",
        dialects: ALL,
        meaning: "A unique index or constraint is added to an existing table: duplicate values already \
                  stored make the migration fail.",
        example: "CREATE UNIQUE INDEX \"invoice_code_idx\" ON \"invoice\" (\"code\");",
        fix: "Look for duplicates first (`SELECT code FROM invoice GROUP BY code HAVING count(*) > 1`) and \
              resolve them in an earlier migration.",
    },
    CodeInfo {
        code: Code::ForeignKeyOnExistingRows,
        id: "MF103",
        family: Family::DataDependent,
        severity: Severity::Warning,
        title: "foreign key on existing rows",
        dialects: ALL,
        meaning: "A foreign key is added to an existing table and checked against its rows: a row whose \
                  value has no match in the referenced table makes the migration fail. On PostgreSQL \
                  `NOT VALID` skips that check (existing rows are validated later).",
        example: "ALTER TABLE \"invoice\" ADD CONSTRAINT \"invoice_fk_0\" FOREIGN KEY (\"customerId\") REFERENCES \"customer\" (\"id\");",
        fix: "Delete or fix orphaned rows first; on PostgreSQL add the key `NOT VALID` and run \
              `VALIDATE CONSTRAINT` in a later migration.",
    },
    CodeInfo {
        code: Code::CheckOnExistingRows,
        id: "MF104",
        family: Family::DataDependent,
        severity: Severity::Warning,
        title: "check constraint on existing rows",
        dialects: PG_MYSQL,
        meaning: "A `CHECK` constraint is added to an existing table and checked against its rows: a row \
                  that violates it makes the migration fail. On PostgreSQL `NOT VALID` skips that check.",
        example: "ALTER TABLE \"invoice\" ADD CONSTRAINT \"total_positive\" CHECK (\"total\" > 0);",
        fix: "Fix the violating rows first; on PostgreSQL add the constraint `NOT VALID` and validate it \
              later.",
    },
    CodeInfo {
        code: Code::ColumnRenamed,
        id: "BC101",
        family: Family::BackwardIncompatible,
        severity: Severity::Warning,
        title: "column renamed",
        dialects: ALL,
        meaning: "A column of an existing table is renamed: the application version still running during a \
                  rolling deploy queries the old name and fails until every instance runs the new version.",
        example: "ALTER TABLE \"invoice\" RENAME COLUMN \"note\" TO \"memo\";",
        fix: "Add the new column, write both, backfill, switch reads, and drop the old column in a later \
              release; or suppress when the deploy stops every old instance first.",
    },
    CodeInfo {
        code: Code::ColumnDroppedWhileRead,
        id: "BC102",
        family: Family::BackwardIncompatible,
        severity: Severity::Warning,
        title: "column dropped that the previous version reads",
        dialects: ALL,
        meaning: "A dropped column belongs to a model class of the previous version's `definition.json`: \
                  that version's application selects it, and fails while it still runs during a rolling \
                  deploy. Needs the previous definition.",
        example: "ALTER TABLE \"invoice\" DROP COLUMN \"note\";",
        fix: "Release a version whose model no longer has the field first, then drop the column in a later \
              migration.",
    },
    CodeInfo {
        code: Code::TableRenamed,
        id: "BC103",
        family: Family::BackwardIncompatible,
        severity: Severity::Warning,
        title: "table renamed",
        dialects: ALL,
        meaning: "An existing table is renamed: the application version still running queries the old \
                  name. A SQLite rebuild's rename of `new_t` to `t` is not reported.",
        example: "ALTER TABLE \"invoice\" RENAME TO \"bill\";",
        fix: "Create the new table alongside the old one and move over in steps, or suppress when the \
              deploy stops every old instance first.",
    },
    CodeInfo {
        code: Code::IndexWithoutConcurrently,
        id: "PG101",
        family: Family::Locking,
        severity: Severity::Warning,
        title: "CREATE INDEX without CONCURRENTLY",
        dialects: PG,
        meaning: "An index is built on an existing table without `CONCURRENTLY`: writes to the table \
                  block until the build finishes, which on a large table can take minutes.",
        example: "CREATE INDEX \"invoice_date_idx\" ON \"invoice\" (\"date\");",
        fix: "Use `CREATE INDEX CONCURRENTLY`. It cannot run inside a transaction, so put it after the \
              file's `COMMIT;` line (strata runs that part after the transaction), or suppress when the \
              table is small.",
    },
    CodeInfo {
        code: Code::TypeChangeRewrites,
        id: "PG102",
        family: Family::Locking,
        severity: Severity::Warning,
        title: "type change rewrites the table",
        dialects: PG,
        meaning: "`ALTER COLUMN ... TYPE` rewrites every row and rebuilds every index under an ACCESS \
                  EXCLUSIVE lock (reads and writes wait). Widening a `varchar` or `numeric`, or `varchar` \
                  to `text`, only changes the catalog and is not reported. The old type comes from the \
                  previous `definition.json`; without it the change is assumed to rewrite.",
        example: "ALTER TABLE \"invoice\" ALTER COLUMN \"total\" TYPE numeric(12,2);",
        fix: "Add a new column of the new type, backfill it in batches, and switch over; or suppress \
              when the table is small.",
    },
    CodeInfo {
        code: Code::VolatileDefault,
        id: "PG103",
        family: Family::Locking,
        severity: Severity::Warning,
        title: "ADD COLUMN with a volatile default",
        dialects: PG,
        meaning: "A column added to an existing table has a volatile default (`gen_random_uuid()`, \
                  `random()`, `clock_timestamp()`, `nextval(...)`, a `serial` type): PostgreSQL computes it \
                  for every row, rewriting the table under an ACCESS EXCLUSIVE lock. Constant and stable \
                  defaults such as `now()` are stored once and are not reported.",
        example: "ALTER TABLE \"invoice\" ADD COLUMN \"token\" uuid NOT NULL DEFAULT gen_random_uuid();",
        fix: "Add the column without a default (or with a constant one), backfill it in batches, then set \
              the default.",
    },
    CodeInfo {
        code: Code::ForeignKeyValidated,
        id: "PG104",
        family: Family::Locking,
        severity: Severity::Warning,
        title: "foreign key without NOT VALID",
        dialects: PG,
        meaning: "Adding a foreign key to an existing table without `NOT VALID` scans the whole table while \
                  holding a SHARE ROW EXCLUSIVE lock on it and on the referenced table: writes to both \
                  wait.",
        example: "ALTER TABLE \"invoice\" ADD CONSTRAINT \"invoice_fk_0\" FOREIGN KEY (\"customerId\") REFERENCES \"customer\" (\"id\");",
        fix: "Add it `NOT VALID`, then `ALTER TABLE ... VALIDATE CONSTRAINT` in a later migration (that \
              takes a weaker lock).",
    },
    CodeInfo {
        code: Code::BtreeOnJson,
        id: "DT101",
        family: Family::DialectTrap,
        severity: Severity::Error,
        title: "btree index on json",
        dialects: PG_MYSQL,
        meaning: "A plain (btree) index on a `json` or `jsonb` column: PostgreSQL has no btree operator class \
                  for `json` and refuses it (for `jsonb` it compares whole documents, which no query \
                  uses); MySQL cannot index a JSON column at all.",
        example: "CREATE INDEX \"invoice_payload_idx\" ON \"invoice\" (\"payload\");",
        fix: "Use a `gin` index on `jsonb` (PostgreSQL), or index an expression or generated column that \
              extracts the value you search on.",
    },
    CodeInfo {
        code: Code::IdentifierTooLong,
        id: "DT102",
        family: Family::DialectTrap,
        severity: Severity::Error,
        title: "identifier too long",
        dialects: PG_MYSQL,
        meaning: "A name is longer than the database allows: PostgreSQL silently cuts it to 63 bytes (two \
                  long names can then collide, and later migrations name an object that does not \
                  exist); MySQL refuses names over 64 characters.",
        example: "CREATE INDEX \"invoice_customer_and_date_and_status_and_total_for_monthly_reports_idx\" ON \"invoice\" (\"date\");",
        fix: "Choose a shorter name (`indexes:` keys and `table:` in the model file).",
    },
    CodeInfo {
        code: Code::ReservedWord,
        id: "DT103",
        family: Family::DialectTrap,
        severity: Severity::Warning,
        title: "reserved word as a name",
        dialects: ALL,
        meaning: "A table, column, index or constraint is named with a word the dialect reserves (`user`, \
                  `order`, `group`, ...). strata quotes every name, but every hand-written query, view and \
                  tool must quote it too, or fails with a syntax error.",
        example: "CREATE TABLE \"order\" (\"id\" bigserial PRIMARY KEY);",
        fix: "Rename it (`table:` in the model file, or the field), or suppress when every consumer quotes \
              names.",
    },
    CodeInfo {
        code: Code::NotAnalysed,
        id: "LN001",
        family: Family::Lint,
        severity: Severity::Info,
        title: "statement not analysed",
        dialects: ALL,
        meaning: "The SQL parser does not know this statement's syntax (extensions such as PostGIS or \
                  pgvector, procedural blocks), so no rule looked at it. The rest of the file is still \
                  linted. Informational: it does not fail a check.",
        example: "CREATE INDEX \"place_geo_idx\" ON \"place\" USING gist (\"geo\" gist_geography_ops(siglen=12));",
        fix: "Review the statement by hand; suppress to say it was reviewed.",
    },
    CodeInfo {
        code: Code::MalformedSuppression,
        id: "LN002",
        family: Family::Lint,
        severity: Severity::Error,
        title: "suppression without a reason or code",
        dialects: ALL,
        meaning: "A `-- strata:ignore` comment names no code, an unknown code, or gives no reason. It \
                  suppresses nothing: a suppression must say why, so reviewers can judge it.",
        example: "-- strata:ignore DS101\nDROP TABLE \"invoice\";",
        fix: "Write `-- strata:ignore CODE reason`, with a known code and a reason.",
    },
    CodeInfo {
        code: Code::UnusedSuppression,
        id: "LN003",
        family: Family::Lint,
        severity: Severity::Warning,
        title: "suppression that matches nothing",
        dialects: ALL,
        meaning: "A `-- strata:ignore CODE` comment is not on or directly above a statement that raises \
                  CODE: it is stale (the statement changed) or misplaced.",
        example: "-- strata:ignore DS101 the archive is copied first\nCREATE TABLE \"archive\" (\"id\" bigserial PRIMARY KEY);",
        fix: "Remove it, or move it to the line directly above the statement it is meant for.",
    },
];

impl Code {
    /// The catalogue entry of this code.
    pub fn info(self) -> &'static CodeInfo {
        CATALOGUE.iter().find(|i| i.code == self).expect("every code has a catalogue entry (tested)")
    }

    /// The stable string, e.g. `DS101`.
    pub fn id(self) -> &'static str {
        self.info().id
    }

    /// The code whose stable string is `id` (exact, upper case).
    pub fn from_id(id: &str) -> Option<Code> {
        CATALOGUE.iter().find(|i| i.id == id).map(|i| i.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_entry_and_ids_are_unique_and_prefixed_by_family() {
        let codes = [
            Code::TableDropped,
            Code::ColumnDropped,
            Code::TypeNarrowed,
            Code::NotNullOnExistingRows,
            Code::UniqueOnExistingRows,
            Code::ForeignKeyOnExistingRows,
            Code::CheckOnExistingRows,
            Code::ColumnRenamed,
            Code::ColumnDroppedWhileRead,
            Code::TableRenamed,
            Code::IndexWithoutConcurrently,
            Code::TypeChangeRewrites,
            Code::VolatileDefault,
            Code::ForeignKeyValidated,
            Code::BtreeOnJson,
            Code::IdentifierTooLong,
            Code::ReservedWord,
            Code::NotAnalysed,
            Code::MalformedSuppression,
            Code::UnusedSuppression,
        ];
        assert_eq!(codes.len(), CATALOGUE.len());
        for code in codes {
            assert_eq!(CATALOGUE.iter().filter(|i| i.code == code).count(), 1, "{code:?}");
        }
        for info in CATALOGUE {
            let prefix = match info.family {
                Family::Destructive => "DS",
                Family::DataDependent => "MF",
                Family::BackwardIncompatible => "BC",
                Family::Locking => "PG",
                Family::DialectTrap => "DT",
                Family::Lint => "LN",
            };
            assert!(info.id.starts_with(prefix), "{}", info.id);
            assert_eq!(Code::from_id(info.id), Some(info.code));
        }
    }
}
