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
    /// aliases, e.g. `postgresql` or `mariadb`, are the emitter's): the dialect's wire protocol
    /// (CockroachDB, YugabyteDB and Citus are reached through PostgreSQL's driver).
    pub fn for_dialect(name: &str) -> Option<Driver> {
        let protocol = strata_sql::dialect_by_name(name)?.wire_protocol();
        Driver::ALL.into_iter().find(|d| d.name() == protocol)
    }

    /// The SQL dialect this driver speaks when nothing says which engine is behind it: what the
    /// runner asks capabilities of (`supports_transactional_ddl`) and quotes identifiers with.
    pub fn dialect(self) -> &'static dyn Dialect {
        // strata-sql knows every driver's dialect (tested below); PostgreSQL's spelling is only
        // a last resort that keeps this total.
        dialect_named(self.name()).unwrap_or(&strata_sql::Postgres)
    }
}

/// `strata_sql::dialect_by_name`, kept for the life of the process (sessions and targets hold
/// `&'static` dialects). Each canonical dialect is built once.
pub fn dialect_named(name: &str) -> Option<&'static dyn Dialect> {
    static DIALECTS: OnceLock<Vec<&'static dyn Dialect>> = OnceLock::new();
    let all = DIALECTS.get_or_init(|| {
        strata_project::DIALECTS
            .iter()
            .filter_map(|n| strata_sql::dialect_by_name(n).map(|b| &*Box::leak(b)))
            .collect()
    });
    let canonical = strata_sql::dialect_by_name(name)?.name();
    all.iter().copied().find(|d| d.name() == canonical)
}

impl Driver {}

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
    fn distributed_engines_use_the_postgres_driver_with_their_own_dialect() {
        for name in ["cockroachdb", "crdb", "yugabytedb", "citus"] {
            assert_eq!(Driver::for_dialect(name), Some(Driver::Postgres), "{name}");
        }
        assert_eq!(dialect_named("crdb").map(|d| d.name()), Some("cockroachdb"));
        assert_eq!(dialect_named("oracle").map(|d| d.name()), None);
        assert!(!dialect_named("yugabytedb").unwrap().supports_transactional_ddl());
    }

    #[test]
    fn only_mysql_runs_statement_by_statement() {
        assert!(Driver::Postgres.dialect().supports_transactional_ddl());
        assert!(Driver::Sqlite.dialect().supports_transactional_ddl());
        assert!(!Driver::Mysql.dialect().supports_transactional_ddl());
    }
}
