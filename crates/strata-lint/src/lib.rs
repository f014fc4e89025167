//! `strata lint`: finds the hazards in a migration's SQL, generated or hand-edited, and names
//! each with a stable code ([`codes::CATALOGUE`], documented in docs/lint.md).
//!
//! Pure: the caller passes the SQL text and, when it has it, the previous version's
//! `definition.json` (for facts SQL alone does not give: which columns the previous application
//! reads, a column's old type). Each statement is parsed on its own with sqlparser; one it cannot
//! parse is reported as [`Code::NotAnalysed`] and the rest is still linted.

pub mod codes;
pub mod render;
mod rules;
mod split;
mod suppress;
mod types;
mod words;

pub use codes::{Code, CodeInfo, Family, Severity, CATALOGUE};
use strata_schema::DatabaseDefinition;

/// Which dialect's rules and grammar a lint applies. It is the lint's own table of hazards per
/// dialect, not a second dialect concept: it is picked by the project's `strata_sql::Dialect`
/// name ([`RuleSet::from_name`] resolves the aliases through `strata_sql::dialect_by_name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleSet {
    Postgres,
    Sqlite,
    Mysql,
}

impl RuleSet {
    /// The rules for the dialect named like `strata.toml`'s `dialect` key (`postgres`, `sqlite`,
    /// `mysql`, or an alias such as `mariadb`). The engines on PostgreSQL's wire protocol
    /// (`cockroachdb`, `yugabytedb`, `citus`) get PostgreSQL's rules.
    pub fn from_name(name: &str) -> Result<RuleSet, LintError> {
        let canonical = strata_sql::dialect_by_name(name).map(|d| d.wire_protocol()).unwrap_or(name);
        match canonical {
            "postgres" => Ok(RuleSet::Postgres),
            "sqlite" => Ok(RuleSet::Sqlite),
            "mysql" => Ok(RuleSet::Mysql),
            other => Err(LintError::UnknownDialect(other.to_string())),
        }
    }

    /// The name `strata.toml` uses.
    pub fn name(self) -> &'static str {
        match self {
            RuleSet::Postgres => "postgres",
            RuleSet::Sqlite => "sqlite",
            RuleSet::Mysql => "mysql",
        }
    }

    /// sqlparser's grammar for the dialect.
    fn grammar(self) -> Box<dyn sqlparser::dialect::Dialect> {
        match self {
            RuleSet::Postgres => Box::new(sqlparser::dialect::PostgreSqlDialect {}),
            RuleSet::Sqlite => Box::new(sqlparser::dialect::SQLiteDialect {}),
            RuleSet::Mysql => Box::new(sqlparser::dialect::MySqlDialect {}),
        }
    }
}

/// What can stop a lint before it starts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LintError {
    #[error("unknown dialect \"{0}\": strata lints postgres, sqlite and mysql migrations")]
    UnknownDialect(String),
}

/// One hazard found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: Code,
    /// 1-based line and column of the statement (or comment) it is about.
    pub line: usize,
    pub column: usize,
    /// What is wrong here, naming the objects.
    pub message: String,
    /// The table it is about, when there is one.
    pub table: Option<String>,
    /// The column it is about, when there is one.
    pub column_name: Option<String>,
    /// What a check of live data found (such as the rows a drop loses), attached by a caller
    /// that connected to a database; the lint itself never sets it.
    pub data: Option<String>,
}

impl Finding {
    /// The code's stable string (`DS101`).
    pub fn id(&self) -> &'static str {
        self.code.id()
    }

    pub fn severity(&self) -> Severity {
        self.code.info().severity
    }
}

/// A finding that a `-- strata:ignore CODE reason` comment silenced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    pub finding: Finding,
    pub reason: String,
}

/// Everything the lint needs about one migration.
#[derive(Debug, Clone, Copy)]
pub struct LintInput<'a> {
    pub dialect: RuleSet,
    /// The `migration.sql` text.
    pub sql: &'a str,
    /// The previous version's `definition.json`; `None` for a first version or a file linted
    /// on its own (then the lint cannot tell which columns the old application reads, nor old
    /// types, and says so where it matters).
    pub previous: Option<&'a DatabaseDefinition>,
}

/// The lint of one file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LintReport {
    /// Findings that were not suppressed, by line, column and code.
    pub findings: Vec<Finding>,
    /// Findings a suppression comment silenced, in the same order.
    pub suppressed: Vec<Suppressed>,
}

impl LintReport {
    /// Whether a check fails on this file: any unsuppressed warning or error (info never fails).
    pub fn fails(&self) -> bool {
        self.findings.iter().any(|f| f.severity() >= Severity::Warning)
    }
}

/// Lints one migration file. Never fails: what it cannot read is itself a finding.
pub fn lint(input: &LintInput) -> LintReport {
    let (raw, suppressions) = match split::split(input.dialect, input.sql) {
        Ok(file) => {
            let raw = rules::check(input.dialect, input.previous, &file.statements);
            (raw, suppress::parse(&file.comments, &file.statements))
        }
        Err(failure) => (vec![rules::unreadable_file(failure)], Vec::new()),
    };
    let mut report = suppress::apply(raw, suppressions);
    let order = |f: &Finding| (f.line, f.column, f.code.id());
    report.findings.sort_by(|a, b| order(a).cmp(&order(b)).then_with(|| a.message.cmp(&b.message)));
    report.suppressed.sort_by(|a, b| order(&a.finding).cmp(&order(&b.finding)));
    report
}

#[cfg(test)]
mod rule_set_tests {
    use super::*;

    #[test]
    fn rule_sets_follow_the_dialect_names_and_aliases_of_strata_sql() {
        assert_eq!(RuleSet::from_name("mariadb"), Ok(RuleSet::Mysql));
        assert_eq!(RuleSet::from_name("postgresql"), Ok(RuleSet::Postgres));
        assert_eq!(RuleSet::from_name("sqlite"), Ok(RuleSet::Sqlite));
        assert_eq!(RuleSet::from_name("oracle"), Err(LintError::UnknownDialect("oracle".into())));
    }
}
