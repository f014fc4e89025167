//! Words each dialect reserves: a name spelled like one works only while every query quotes it
//! (DT103). Only the words the database refuses unquoted as a table or column name are listed,
//! not its non-reserved keywords.

use crate::Dialect;

/// PostgreSQL's reserved key words (those its grammar never accepts as an unquoted name).
const POSTGRES: &[&str] = &[
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case", "cast",
    "check", "collate", "column", "constraint", "create", "current_catalog", "current_date", "current_role",
    "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do",
    "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant", "group", "having", "in",
    "initially", "intersect", "into", "lateral", "leading", "limit", "localtime", "localtimestamp", "not",
    "null", "offset", "on", "only", "or", "order", "placing", "primary", "references", "returning",
    "select", "session_user", "some", "symmetric", "system_user", "table", "then", "to", "trailing", "true",
    "union", "unique", "user", "using", "variadic", "when", "where", "window", "with",
];

/// MySQL's (and MariaDB's) most common reserved words.
const MYSQL: &[&str] = &[
    "add", "all", "alter", "analyze", "and", "as", "asc", "before", "between", "both", "by", "call",
    "cascade", "case", "change", "check", "collate", "column", "condition", "constraint", "continue",
    "convert", "create", "cross", "current_date", "current_time", "current_timestamp", "current_user",
    "cursor", "database", "databases", "default", "delete", "desc", "describe", "distinct", "div", "drop",
    "each", "else", "elseif", "exists", "exit", "explain", "false", "fetch", "for", "force", "foreign",
    "from", "fulltext", "grant", "group", "groups", "having", "if", "ignore", "in", "index", "inner",
    "insert", "interval", "into", "is", "join", "key", "keys", "kill", "leading", "leave", "left", "like",
    "limit", "lines", "load", "lock", "long", "loop", "match", "mod", "natural", "not", "null", "on",
    "option", "or", "order", "out", "outer", "over", "partition", "primary", "procedure", "range", "rank",
    "read", "references", "regexp", "release", "rename", "repeat", "replace", "require", "restrict",
    "return", "revoke", "right", "rlike", "row", "rows", "schema", "select", "set", "show", "signal",
    "spatial", "sql", "table", "then", "to", "trailing", "trigger", "true", "union", "unique", "unlock",
    "unsigned", "update", "usage", "use", "using", "values", "when", "where", "while", "window", "with",
    "write", "xor",
];

/// SQLite's keywords that cannot be an unquoted table or column name.
const SQLITE: &[&str] = &[
    "add", "all", "alter", "and", "as", "autoincrement", "between", "case", "check", "collate", "commit",
    "constraint", "create", "default", "deferrable", "delete", "distinct", "drop", "else", "escape",
    "except", "exists", "foreign", "from", "group", "having", "if", "in", "index", "insert", "intersect",
    "into", "is", "isnull", "join", "limit", "not", "notnull", "null", "on", "or", "order", "primary",
    "references", "select", "set", "table", "then", "to", "transaction", "union", "unique", "update",
    "using", "values", "when", "where",
];

/// Whether `name` is a reserved word of `dialect` (case-insensitive).
pub(crate) fn is_reserved(dialect: Dialect, name: &str) -> bool {
    let list = match dialect {
        Dialect::Postgres => POSTGRES,
        Dialect::Mysql => MYSQL,
        Dialect::Sqlite => SQLITE,
    };
    let lower = name.to_ascii_lowercase();
    list.binary_search(&lower.as_str()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_for_binary_search() {
        for list in [POSTGRES, MYSQL, SQLITE] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{:?}", list.windows(2).find(|w| w[0] >= w[1]));
        }
    }

    #[test]
    fn common_traps_are_reserved_and_common_names_are_not() {
        assert!(is_reserved(Dialect::Postgres, "User"));
        assert!(is_reserved(Dialect::Mysql, "order"));
        assert!(is_reserved(Dialect::Sqlite, "group"));
        for name in ["name", "email", "timestamp", "version", "module", "comment", "status", "body"] {
            for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
                assert!(!is_reserved(d, name), "{name} on {d:?}");
            }
        }
    }
}
