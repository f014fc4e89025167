//! Which database server a connection talks to. The SQL dialect of its migration files is
//! `strata_sql`'s (the workspace's one `Dialect` concept); this enum only picks the sqlx driver
//! and the [`crate::session`] implementation that speaks to it.

use std::sync::OnceLock;

use strata_sql::Dialect;

/// A database driver strata can run migrations through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Driver {
    Postgres,
    Sqlite,
    Mysql,
}

impl Driver {
    /// Every driver, in the order `strata --help` lists them.
    pub const ALL: [Driver; 3] = [Driver::Postgres, Driver::Sqlite, Driver::Mysql];

    /// The dialect name of this driver's migration files (`postgres`, `sqlite`, `mysql`): what
    /// config files and the history table's `dialect` column say.
    pub fn name(self) -> &'static str {
        match self {
            Driver::Postgres => "postgres",
            Driver::Sqlite => "sqlite",
            Driver::Mysql => "mysql",
        }
    }

    /// The driver for a project's `dialect` setting, by `strata_sql::dialect_by_name` (so its
    /// aliases, e.g. `postgresql` or `mariadb`, are the emitter's).
    pub fn for_dialect(name: &str) -> Option<Driver> {
        let canonical = strata_sql::dialect_by_name(name)?.name();
        Driver::ALL.into_iter().find(|d| d.name() == canonical)
    }

    /// The SQL dialect of this driver's migration files: what the runner asks capabilities of
    /// (`supports_transactional_ddl`) and quotes identifiers with.
    pub fn dialect(self) -> &'static dyn Dialect {
        static DIALECTS: OnceLock<Vec<(Driver, &'static dyn Dialect)>> = OnceLock::new();
        let all = DIALECTS.get_or_init(|| {
            Driver::ALL
                .into_iter()
                .filter_map(|d| strata_sql::dialect_by_name(d.name()).map(|b| (d, &*Box::leak(b))))
                .collect()
        });
        match all.iter().find(|(d, _)| *d == self) {
            Some((_, dialect)) => *dialect,
            // strata-sql knows every driver's dialect (tested below); PostgreSQL's spelling is
            // only a last resort that keeps this total.
            None => &strata_sql::Postgres,
        }
    }
}

impl std::fmt::Display for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_driver_has_its_own_dialect() {
        for d in Driver::ALL {
            assert_eq!(d.dialect().name(), d.name(), "strata_sql::dialect_by_name({:?})", d.name());
            assert_eq!(Driver::for_dialect(d.name()), Some(d));
        }
        assert_eq!(Driver::for_dialect("postgresql"), Some(Driver::Postgres));
        assert_eq!(Driver::for_dialect("oracle"), None);
    }

    #[test]
    fn only_mysql_runs_statement_by_statement() {
        assert!(Driver::Postgres.dialect().supports_transactional_ddl());
        assert!(Driver::Sqlite.dialect().supports_transactional_ddl());
        assert!(!Driver::Mysql.dialect().supports_transactional_ddl());
    }
}
