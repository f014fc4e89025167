//! The text of preflight's queries. Every identifier goes through the driver dialect's quoting function
//! and every count is capped with `LIMIT`, so a huge table costs at most `cap` rows of reading
//! (plus, for duplicates, the scan the GROUP BY needs; the statement timeout bounds that).
//! Nothing here comes from SQL text in input files: only names.

use super::probe::{Probe, ProbeKind};
use crate::Driver;

impl Driver {
    /// Quotes an identifier in this driver's dialect.
    pub(crate) fn quote(self, name: &str) -> String {
        self.dialect().quote_identifier(name)
    }

    /// A table name as the query writes it: schema-qualified on PostgreSQL when known.
    fn table(self, schema: &str, table: &str) -> String {
        match self {
            Driver::Postgres if !schema.is_empty() => format!("{}.{}", self.quote(schema), self.quote(table)),
            _ => self.quote(table),
        }
    }
}

/// `SELECT count(*)` of at most `cap` rows of `from` matching `filter`.
fn capped_count(from: &str, filter: &str, cap: u64) -> String {
    let filter = if filter.is_empty() { String::new() } else { format!(" WHERE {filter}") };
    format!("SELECT count(*) FROM (SELECT 1 AS one FROM {from}{filter} LIMIT {cap}) AS capped")
}

/// `a IS NOT NULL AND b IS NOT NULL`, each column prefixed with `alias.` when given.
fn all_not_null(driver: Driver, alias: &str, columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| format!("{alias}{} IS NOT NULL", driver.quote(c)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The counting query a probe runs (`None` for probes decided without one). Its single
/// result is a count of at most `cap`.
pub(crate) fn count_query(driver: Driver, probe: &Probe, cap: u64) -> Option<String> {
    let q = |name: &str| driver.quote(name);
    let table = driver.table(&probe.schema, &probe.table);
    Some(match &probe.kind {
        ProbeKind::Rows | ProbeKind::RowsForNewNotNull { .. } | ProbeKind::Rewrite => {
            capped_count(&table, "", cap)
        }
        ProbeKind::Values { column } => capped_count(&table, &format!("{} IS NOT NULL", q(column)), cap),
        ProbeKind::Nulls { column } => capped_count(&table, &format!("{} IS NULL", q(column)), cap),
        ProbeKind::Duplicates { columns, nulls_distinct, .. } => {
            let keys = columns.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ");
            // NULLs never collide in a NULLS DISTINCT index (the default everywhere).
            let filter = if *nulls_distinct {
                format!(" WHERE {}", all_not_null(driver, "", columns))
            } else {
                String::new()
            };
            format!(
                "SELECT count(*) FROM (SELECT 1 AS one FROM {table}{filter} GROUP BY {keys} HAVING count(*) > 1 \
                 LIMIT {cap}) AS capped"
            )
        }
        ProbeKind::Orphans { columns, parent, parent_schema, parent_columns, parent_is_new, .. } => {
            // MATCH SIMPLE: a key with a NULL part references nothing and is never an orphan.
            let mut filter = all_not_null(driver, "c.", columns);
            if !parent_is_new {
                let matches = columns
                    .iter()
                    .zip(parent_columns)
                    .map(|(c, p)| format!("p.{} = c.{}", q(p), q(c)))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                let parent = driver.table(parent_schema, parent);
                filter.push_str(&format!(" AND NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE {matches})"));
            }
            capped_count(&format!("{table} AS c"), &filter, cap)
        }
        ProbeKind::Decided { .. } => return None,
    })
}

/// The query for a table's size in bytes and the values it binds: names are bound as values,
/// never spliced. No row (or NULL) when the size is unknown.
pub(crate) fn size_query(driver: Driver, schema: &str, table: &str) -> (&'static str, Vec<String>) {
    match driver {
        Driver::Postgres => (
            "SELECT pg_total_relation_size(c.oid)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = \
             c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
            vec![
                if schema.is_empty() { "public".to_string() } else { schema.to_string() },
                table.to_string(),
            ],
        ),
        // dbstat (compiled into the bundled SQLite) sums the table's own pages.
        Driver::Sqlite => ("SELECT sum(pgsize) FROM dbstat WHERE name = ?1", vec![table.to_string()]),
        Driver::Mysql => (
            "SELECT CAST(DATA_LENGTH + INDEX_LENGTH AS SIGNED) FROM information_schema.TABLES WHERE \
             TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            vec![table.to_string()],
        ),
    }
}

/// The planner's row estimate for a table (`None` where the dialect keeps none): what a rewrite
/// of a table bigger than the cap reports instead of "at least <cap>".
pub(crate) fn row_estimate_query(
    driver: Driver,
    schema: &str,
    table: &str,
) -> Option<(&'static str, Vec<String>)> {
    match driver {
        // reltuples is -1 for a table never analyzed: the caller ignores values below the count.
        Driver::Postgres => Some((
            "SELECT c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE \
             n.nspname = $1 AND c.relname = $2",
            vec![if schema.is_empty() { "public".to_string() } else { schema.to_string() }, table.to_string()],
        )),
        Driver::Sqlite => None,
        Driver::Mysql => Some((
            "SELECT CAST(TABLE_ROWS AS SIGNED) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = ?",
            vec![table.to_string()],
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::Check;

    fn probe(kind: ProbeKind) -> Probe {
        Probe {
            check: Check::ForeignKey,
            table: "po\"st".into(),
            schema: "public".into(),
            object: "x".into(),
            kind,
        }
    }

    #[test]
    fn names_are_quoted_by_flavor_and_counts_capped() {
        let p = probe(ProbeKind::Nulls { column: "ti`tle".into() });
        assert_eq!(
            count_query(Driver::Postgres, &p, 10).unwrap(),
            "SELECT count(*) FROM (SELECT 1 AS one FROM \"public\".\"po\"\"st\" WHERE \"ti`tle\" IS NULL LIMIT 10) AS capped"
        );
        assert_eq!(
            count_query(Driver::Mysql, &p, 10).unwrap(),
            "SELECT count(*) FROM (SELECT 1 AS one FROM `po\"st` WHERE `ti``tle` IS NULL LIMIT 10) AS capped"
        );
    }

    #[test]
    fn orphans_of_a_new_parent_are_every_non_null_key() {
        let kind = |parent_is_new| ProbeKind::Orphans {
            constraint: "fk".into(),
            columns: vec!["a".into()],
            parent: "author".into(),
            parent_schema: "public".into(),
            parent_columns: vec!["id".into()],
            parent_is_new,
        };
        let existing = count_query(Driver::Sqlite, &probe(kind(false)), 5).unwrap();
        assert!(
            existing.contains("NOT EXISTS (SELECT 1 FROM \"author\" AS p WHERE p.\"id\" = c.\"a\")"),
            "{existing}"
        );
        let new = count_query(Driver::Sqlite, &probe(kind(true)), 5).unwrap();
        assert!(!new.contains("EXISTS") && new.contains("c.\"a\" IS NOT NULL"), "{new}");
    }
}
