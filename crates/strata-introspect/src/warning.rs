//! Objects inside the configured schemas that strata's schema model cannot express.
//!
//! They are reported, never dropped silently and never "fixed": a repair leaves them as they
//! are, and refuses (without `--force`) to run actions that would destroy them as a side effect.

use std::fmt;

/// Declares [`WarningKind`] with its message label, [`WarningKind::label`] and the list of every
/// kind, [`WarningKind::ALL`], from one table.
macro_rules! warning_kinds {
    ($($(#[$doc:meta])* $kind:ident => $label:literal,)*) => {
        /// What kind of unrepresentable object a warning is about.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum WarningKind {
            $($(#[$doc])* $kind,)*
        }

        impl WarningKind {
            /// Every kind, for listing them (`diff --ignore`).
            pub const ALL: &'static [WarningKind] = &[$(WarningKind::$kind),*];

            /// How the kind reads in messages.
            pub fn label(self) -> &'static str {
                match self {
                    $(WarningKind::$kind => $label,)*
                }
            }
        }
    };
}

warning_kinds! {
    CheckConstraint => "check constraint",
    /// A `UNIQUE` constraint (its backing index is not listed as an index: `DROP INDEX` on it
    /// would fail).
    UniqueConstraint => "unique constraint",
    ExclusionConstraint => "exclusion constraint",
    /// A primary key that is not exactly `("id")`, or a table without one.
    PrimaryKey => "primary key",
    Trigger => "trigger",
    EnumType => "enum type",
    DomainType => "domain",
    CompositeType => "composite type",
    RangeType => "range type",
    View => "view",
    MaterializedView => "materialized view",
    /// A sequence not owned by a column (`serial`/identity sequences are part of their column).
    Sequence => "sequence",
    ForeignTable => "foreign table",
    Function => "function",
    Policy => "row-level security policy",
    Rule => "rule",
    Statistics => "extended statistics",
    /// A column whose type strata has no `ColumnType` for; it is introspected as `unknown`.
    UnknownColumnType => "column of unknown type",
    /// MySQL and SQLite: a generated column (PostgreSQL's are part of the definition).
    GeneratedColumn => "generated column",
    /// An identity column; introspected with the `serial` default it behaves like.
    IdentityColumn => "identity column",
    ColumnCollation => "column collation",
    /// A collation created in one of the configured schemas.
    Collation => "collation",
    PartitionedTable => "partitioned table",
    Partition => "partition",
    InheritedTable => "inheritance child table",
    UnloggedTable => "unlogged table",
    RowLevelSecurity => "row-level security",
    /// Index properties the model lacks (sort order, INCLUDE columns, operator classes,
    /// collations, storage parameters, validity).
    IndexDetail => "index",
    /// A foreign key created `NOT VALID` and never validated.
    UnvalidatedForeignKey => "unvalidated foreign key",
    /// A foreign key on a table outside the configured schemas that references a table inside
    /// them: `DROP TABLE ... CASCADE` of the referenced table would remove it.
    InboundForeignKey => "foreign key from another schema",
    /// `serverpod_migrations` exists but could not be read.
    MigrationsTable => "bookkeeping table",
    /// A `COMMENT ON` any object in the configured schemas.
    Comment => "comment",
    /// Privileges granted on a relation, function or schema, or default privileges.
    Grant => "grant",
    /// An installed extension (its version is compared). `postgis` and `vector` are left out:
    /// strata's own `definition.sql` creates them for geography and vector columns.
    Extension => "extension",
    /// A schema outside the configured ones: not read, but its contents are summarised so that a
    /// difference there is still noticed.
    OtherSchema => "schema",
    /// MySQL: a scheduled event.
    Event => "event",
    /// MySQL: a storage engine other than the one strata writes (`InnoDB`).
    TableOptions => "table option",
    /// SQLite: something in `sqlite_master` strata does not model.
    SqliteObject => "object",
    /// A column default, column type or domain that needs a function or extension strata does
    /// not create (a migration creating it is refused while the other side lacks it).
    Dependency => "dependency",
}

impl WarningKind {
    /// Whether the object is destroyed along with a table it is attached to (or depends on)
    /// when that table is dropped or rebuilt: such warnings block a repair that does so.
    pub fn dies_with_table(self) -> bool {
        !matches!(
            self,
            WarningKind::EnumType
                | WarningKind::DomainType
                | WarningKind::CompositeType
                | WarningKind::RangeType
                | WarningKind::Sequence
                | WarningKind::Collation
                | WarningKind::Function
                | WarningKind::Extension
                | WarningKind::OtherSchema
                | WarningKind::Event
                | WarningKind::MigrationsTable
        )
    }
}

/// One object strata cannot represent, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrospectWarning {
    pub kind: WarningKind,
    /// The schema the object lives in (`main` for SQLite; empty for MySQL, where the connection's
    /// database is the only scope, so that two databases' objects compare by what they are).
    pub schema: String,
    /// The table the object belongs to, if it belongs to one.
    pub table: Option<String>,
    /// The object's own name (the column name for column warnings).
    pub name: String,
    /// What it is, as the database renders it (a constraint definition, a type, ...).
    pub detail: String,
    /// Tables in the configured schemas the object is attached to or depends on (a view's
    /// base tables, a trigger's table). A repair that drops or rebuilds one of them would
    /// destroy the object.
    pub depends_on: Vec<String>,
}

impl IntrospectWarning {
    /// Whether dropping, rebuilding or altering `table` would affect this object.
    pub fn depends_on_table(&self, table: &str) -> bool {
        self.table.as_deref() == Some(table) || self.depends_on.iter().any(|t| t == table)
    }

    /// Whether this is about column `column` of `table` (unknown type, generated, ...).
    pub fn is_column(&self, table: &str, column: &str) -> bool {
        matches!(
            self.kind,
            WarningKind::UnknownColumnType
                | WarningKind::GeneratedColumn
                | WarningKind::IdentityColumn
                | WarningKind::ColumnCollation
        ) && self.table.as_deref() == Some(table)
            && self.name == column
    }
}

impl fmt::Display for IntrospectWarning {
    /// `check constraint "positive" on table "public"."orders": CHECK ((amount > 0))`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No schema to name where the connection's database is the only scope (MySQL).
        let schema = if self.schema.is_empty() { String::new() } else { format!("\"{}\".", self.schema) };
        match &self.table {
            Some(t) if *t != self.name => {
                write!(f, "{} \"{}\" on table {schema}\"{t}\"", self.kind.label(), self.name)?
            }
            _ => write!(f, "{} {schema}\"{}\"", self.kind.label(), self.name)?,
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        let others: Vec<&String> =
            self.depends_on.iter().filter(|d| Some(d.as_str()) != self.table.as_deref()).collect();
        if !others.is_empty() {
            let names: Vec<String> = others.iter().map(|t| format!("\"{t}\"")).collect();
            write!(f, " (depends on {})", names.join(", "))?;
        }
        Ok(())
    }
}

/// A warning for a live index whose expression elements or predicate are not exactly one SQL
/// expression in `dialect`'s grammar, or whose storage parameters are not plain words. The emitters refuse to write such an index, so the user
/// learns it here, named, rather than from a failed `inspect --format sql` or diff.
pub(crate) fn unwritable_index(
    dialect: &dyn strata_sql::Dialect,
    schema: &str,
    table: &str,
    index: &strata_schema::IndexDefinition,
) -> Option<IntrospectWarning> {
    let checked = strata_sql::check_index_expressions(dialect, table, index)
        .and_then(|()| strata_sql::check_index_parameters(table, index));
    let reason = match checked {
        Ok(()) => return None,
        Err(strata_sql::SqlError::InvalidIndexExpression { part, text, reason, .. }) => {
            format!("{part} {text:?} is not one SQL expression ({reason})")
        }
        Err(other) => other.to_string(),
    };
    Some(IntrospectWarning {
        kind: WarningKind::IndexDetail,
        schema: schema.to_string(),
        table: Some(table.to_string()),
        name: index.index_name.clone(),
        detail: format!("strata will not write SQL for it: {reason}"),
        depends_on: vec![table.to_string()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(kind: WarningKind, table: Option<&str>, name: &str) -> IntrospectWarning {
        IntrospectWarning {
            kind,
            schema: "public".into(),
            table: table.map(Into::into),
            name: name.into(),
            detail: String::new(),
            depends_on: table.map(|t| vec![t.to_string()]).unwrap_or_default(),
        }
    }

    #[test]
    fn display_names_the_object_and_its_table() {
        let mut c = w(WarningKind::CheckConstraint, Some("orders"), "positive");
        c.detail = "CHECK ((amount > 0))".into();
        assert_eq!(
            c.to_string(),
            "check constraint \"positive\" on table \"public\".\"orders\": CHECK ((amount > 0))"
        );
        let mut v = w(WarningKind::View, None, "active_orders");
        v.depends_on = vec!["orders".into(), "users".into()];
        assert_eq!(v.to_string(), "view \"public\".\"active_orders\" (depends on \"orders\", \"users\")");
    }

    #[test]
    fn dependency_and_column_matching() {
        let c = w(WarningKind::UnknownColumnType, Some("t"), "c");
        assert!(c.depends_on_table("t"));
        assert!(!c.depends_on_table("u"));
        assert!(c.is_column("t", "c"));
        assert!(!c.is_column("t", "d"));
        assert!(!w(WarningKind::Trigger, Some("t"), "c").is_column("t", "c"));
        assert!(WarningKind::View.dies_with_table());
        assert!(!WarningKind::EnumType.dies_with_table());
    }
}
