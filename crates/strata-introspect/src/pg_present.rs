//! Which optional kinds of object a PostgreSQL database holds at all, read by the server query,
//! so that the unrepresentable-objects and database-objects queries leave out the branches that
//! could find nothing.
//!
//! Most databases have no policies, rules, user functions, extended statistics, default
//! privileges, triggers, materialized views, user collations, comments or extensions; planning
//! and scanning those branches anyway was a third of both queries on a 1,000-table schema. Each
//! test here is exact in one direction: when it says a kind is absent, the branches it guards
//! return no rows. (Objects made after `initdb` have oids from 16384 on.) The tests run in the
//! same snapshot as the queries they prune.

/// An optional kind of object, guarding the branches that read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Policies,
    Rules,
    Functions,
    Statistics,
    DefaultAcls,
    Triggers,
    MatViews,
    Collations,
    Comments,
    Extensions,
}

/// Each kind's name in the server query's `present` column, and its test.
const TESTS: &[(Kind, &str, &str)] = &[
    (Kind::Policies, "policies", "EXISTS (SELECT 1 FROM pg_catalog.pg_policy)"),
    (
        Kind::Rules,
        "rules",
        "EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite WHERE oid >= 16384 AND rulename <> '_RETURN')",
    ),
    (Kind::Functions, "functions", "EXISTS (SELECT 1 FROM pg_catalog.pg_proc WHERE oid >= 16384)"),
    (Kind::Statistics, "statistics", "EXISTS (SELECT 1 FROM pg_catalog.pg_statistic_ext)"),
    (Kind::DefaultAcls, "default_acls", "EXISTS (SELECT 1 FROM pg_catalog.pg_default_acl)"),
    (Kind::Triggers, "triggers", "EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE NOT tgisinternal)"),
    (
        Kind::MatViews,
        "matviews",
        "EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE oid >= 16384 AND relkind = 'm')",
    ),
    (Kind::Collations, "collations", "EXISTS (SELECT 1 FROM pg_catalog.pg_collation WHERE oid >= 16384)"),
    (Kind::Comments, "comments", "EXISTS (SELECT 1 FROM pg_catalog.pg_description WHERE objoid >= 16384)"),
    (
        Kind::Extensions,
        "extensions",
        "EXISTS (SELECT 1 FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_namespace n \
         ON n.oid = x.extnamespace WHERE n.nspname <> 'pg_catalog' AND x.extname NOT IN ('postgis', 'vector'))",
    ),
];

/// The server query's columns for this module: `present`, the kinds found, and
/// `commented_schemas`, the schemas with a comment of their own (a schema's oid can be below
/// 16384, and `public` comes with a standard one).
pub(crate) fn sql_columns() -> String {
    let kinds: Vec<String> =
        TESTS.iter().map(|(_, name, test)| format!("CASE WHEN {test} THEN '{name}' END")).collect();
    format!(
        "array_remove(ARRAY[{}]::text[], NULL) AS present, \
         ARRAY(SELECT n.nspname::text FROM pg_catalog.pg_description d \
               JOIN pg_catalog.pg_namespace n ON d.classoid = 'pg_catalog.pg_namespace'::regclass AND d.objoid = n.oid \
               WHERE NOT (n.nspname = 'public' AND d.description = 'standard public schema') ORDER BY 1) \
           AS commented_schemas",
        kinds.join(", ")
    )
}

/// The kinds a database holds, for the schemas being read.
#[derive(Clone, Debug, Default)]
pub(crate) struct Present {
    kinds: Vec<Kind>,
}

impl Present {
    /// From the server query's `present` and `commented_schemas`, once the schemas to read are
    /// known.
    pub(crate) fn new(present: &[String], commented_schemas: &[String], schemas: &[String]) -> Present {
        let mut kinds: Vec<Kind> = TESTS
            .iter()
            .filter(|(_, name, _)| present.iter().any(|p| p == name))
            .map(|(k, _, _)| *k)
            .collect();
        if commented_schemas.iter().any(|s| schemas.contains(s)) && !kinds.contains(&Kind::Comments) {
            kinds.push(Kind::Comments);
        }
        Present { kinds }
    }

    /// Every kind, as if each were there.
    #[cfg(test)]
    pub(crate) fn all() -> Present {
        Present { kinds: TESTS.iter().map(|(k, _, _)| *k).collect() }
    }

    fn has(&self, kind: Kind) -> bool {
        self.kinds.contains(&kind)
    }
}

/// `sql`, a `SELECT ... FROM ( branch UNION ALL branch ... ) x ...`, without the branches whose
/// guard (a prefix of the branch text, see `guards`) names a kind that is not present.
/// Unguarded branches always stay, and the first branch (which names the columns) must be one.
pub(crate) fn prune(sql: &str, guards: &[(&str, Kind)], present: &Present) -> String {
    let Some((head, rest)) = sql.split_once(" FROM ( ") else { return sql.to_string() };
    let Some((body, tail)) = rest.rsplit_once(" ) x ") else { return sql.to_string() };
    let kept: Vec<&str> = body
        .split(" UNION ALL ")
        .filter(|branch| {
            let guard = guards.iter().find(|(prefix, _)| branch.trim_start().starts_with(prefix));
            guard.is_none_or(|(_, kind)| present.has(*kind))
        })
        .collect();
    format!("{head} FROM ( {} ) x {tail}", kept.join(" UNION ALL "))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Checks `guards` against `sql`: each guard picks exactly one branch, never the first, and
    /// with every kind present the text is unchanged.
    pub(crate) fn check_guards(sql: &str, guards: &[(&str, Kind)]) {
        let (_, rest) = sql.split_once(" FROM ( ").expect("a FROM ( ... ) x query");
        let (body, _) = rest.rsplit_once(" ) x ").expect("a FROM ( ... ) x query");
        let branches: Vec<&str> = body.split(" UNION ALL ").map(str::trim_start).collect();
        for (prefix, kind) in guards {
            let matching = branches.iter().filter(|b| b.starts_with(prefix)).count();
            assert_eq!(matching, 1, "guard {prefix:?} ({kind:?}) matches {matching} branches");
            assert!(!branches[0].starts_with(prefix), "guard {prefix:?} would drop the first branch");
        }
        assert_eq!(prune(sql, guards, &Present::all()), sql);
    }

    #[test]
    fn absent_kinds_drop_their_branches_only() {
        let sql =
            "SELECT a FROM ( SELECT 1 AS a UNION ALL SELECT 'policy' UNION ALL SELECT 'rule' ) x ORDER BY 1";
        let guards = [("SELECT 'policy'", Kind::Policies), ("SELECT 'rule'", Kind::Rules)];
        check_guards(sql, &guards);
        let rules_only = Present::new(&["rules".to_string()], &[], &[]);
        assert_eq!(
            prune(sql, &guards, &rules_only),
            "SELECT a FROM ( SELECT 1 AS a UNION ALL SELECT 'rule' ) x ORDER BY 1"
        );
        assert_eq!(prune(sql, &guards, &Present::default()), "SELECT a FROM ( SELECT 1 AS a ) x ORDER BY 1");
    }

    #[test]
    fn a_comment_on_a_schema_being_read_counts_as_comments() {
        let commented = ["pg_catalog".to_string(), "sales".to_string()];
        assert!(!Present::new(&[], &commented, &["public".to_string()]).has(Kind::Comments));
        assert!(Present::new(&[], &commented, &["sales".to_string()]).has(Kind::Comments));
        assert!(Present::new(&["comments".to_string()], &[], &[]).has(Kind::Comments));
    }
}
