//! Typed errors: every failure names the object and says what went wrong, so a user can find the
//! model field to change without reading SQL.

use std::fmt;

use crate::IndexPart;

/// The schema object an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlObject {
    Table { table: String },
    Column { table: String, column: String },
    Index { table: String, index: String },
    ForeignKey { table: String, constraint: String },
}

impl SqlObject {
    pub fn table(table: &str) -> Self {
        SqlObject::Table { table: table.to_string() }
    }
    pub fn column(table: &str, column: &str) -> Self {
        SqlObject::Column { table: table.to_string(), column: column.to_string() }
    }
    pub fn index(table: &str, index: &str) -> Self {
        SqlObject::Index { table: table.to_string(), index: index.to_string() }
    }
    pub fn foreign_key(table: &str, constraint: &str) -> Self {
        SqlObject::ForeignKey { table: table.to_string(), constraint: constraint.to_string() }
    }
}

impl fmt::Display for SqlObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlObject::Table { table } => write!(f, "table \"{table}\""),
            SqlObject::Column { table, column } => write!(f, "column \"{column}\" of table \"{table}\""),
            SqlObject::Index { table, index } => write!(f, "index \"{index}\" on table \"{table}\""),
            SqlObject::ForeignKey { table, constraint } => {
                write!(f, "foreign key \"{constraint}\" of table \"{table}\"")
            }
        }
    }
}

/// A definition or migration that a dialect cannot express, or that is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// The dialect has no way to express this construct.
    #[error("{object}: {what} is unsupported by the {dialect} dialect")]
    Unsupported { dialect: &'static str, object: SqlObject, what: String },
    /// `ColumnType::Unknown` (an introspected type strata does not model) cannot be created.
    #[error("{object}: column type \"unknown\" cannot be rendered as SQL")]
    UnknownColumnType { object: SqlObject },
    /// A native type that is not a plain type name: it would be spliced into the statement.
    #[error(
        "{object}: native type {native:?} is not a PostgreSQL type name ({reason}); write it as \
         format_type prints it, such as character varying(20) or \"Mood\"[]"
    )]
    InvalidNativeType { object: SqlObject, native: String, reason: String },
    /// A vector-like column without its dimension.
    #[error("{object}: {column_type} column has no vectorDimension")]
    MissingVectorDimension { object: SqlObject, column_type: &'static str },
    /// The primary key (`id`) must be NOT NULL.
    #[error("{object}: the id column must be non-nullable")]
    NullablePrimaryKey { object: SqlObject },
    /// A default that is not one of the abstract forms valid for the column type.
    #[error("{object}: invalid default {default:?} for a {column_type} column: {reason}")]
    InvalidDefault { object: SqlObject, default: String, column_type: &'static str, reason: String },
    /// `serial` cannot be set on an existing column: the sequence only comes with the column.
    #[error(
        "{object}: cannot SET DEFAULT \"serial\"; an auto-increment default must be applied by \
         dropping and re-adding the column"
    )]
    SerialDefaultChange { object: SqlObject },
    /// An index whose method, parameters or operator classes cannot be rendered.
    #[error("{object}: {reason}")]
    InvalidIndex { object: SqlObject, reason: String },
    /// An index expression element or predicate that is not exactly one SQL expression: it
    /// would be spliced into the statement, so anything else could run statements of its own.
    #[error(
        "{object}: {part} {text:?} is not one SQL expression ({reason}); it must be exactly one \
         expression, such as lower(\"email\"): fix or remove it"
    )]
    InvalidIndexExpression { object: SqlObject, part: IndexPart, text: String, reason: String },
    /// A generation expression that is not exactly one SQL expression: it would be spliced into
    /// the statement.
    #[error(
        "{object}: generation expression {text:?} is not one SQL expression ({reason}); write it as \
         the server prints it, such as (price * quantity)"
    )]
    InvalidGeneratedExpression { object: SqlObject, text: String, reason: String },
    /// A partition key or bound that could run statements of its own (it is spliced into the
    /// statement as the server printed it).
    #[error("{object}: {part} {text:?} is refused ({reason}); write it as PostgreSQL prints it")]
    InvalidLayout { object: SqlObject, part: &'static str, text: String, reason: String },
    /// A foreign key without columns, or with a column count that does not match its reference.
    #[error("{object}: {reason}")]
    InvalidForeignKey { object: SqlObject, reason: String },
    /// A primary key or unique constraint that cannot be rendered (`primaryKey`,
    /// `uniqueConstraints`).
    #[error("{object}: key constraint \"{name}\": {reason}; give it at least one column")]
    InvalidKey { object: SqlObject, name: String, reason: String },
    /// A check or exclusion constraint whose SQL text is not what it must be (one expression;
    /// one `EXCLUDE` clause): it would be spliced into the statement.
    #[error("{object}: constraint \"{name}\": {text:?} is refused ({reason}); fix it in the definition")]
    InvalidConstraint { object: SqlObject, name: String, text: String, reason: String },
    /// The migration refers to a table the definitions passed alongside it do not contain.
    #[error("table \"{table}\" is missing from the {side} definition, which is needed to {purpose}")]
    MissingTable { table: String, side: &'static str, purpose: &'static str },
    /// A domain's base type, default or CHECK that is not what it must be (a type name, one
    /// expression): it would be spliced into the statement.
    #[error("type {name}: {part} {text:?} is refused ({reason}); fix it in the definition's \"types\"")]
    InvalidType { name: String, part: &'static str, text: String, reason: String },
    /// Enum and domain types in a definition for a database that has none.
    #[error("type {name}: {dialect} has no enum or domain types; remove it from the definition's \"types\"")]
    TypesUnsupported { name: String, dialect: &'static str },
    /// A domain type for an engine that has enums but no domains (CockroachDB).
    #[error("domain {name}: {dialect} has no domain types (CREATE DOMAIN); use its base type with a CHECK constraint instead")]
    DomainsUnsupported { name: String, dialect: &'static str },
    /// A type change with no in-place SQL (enum values removed or reordered, ...).
    #[error("{reason}")]
    TypeChangeBlocked { reason: String },
    /// The migration refers to a column the target definition does not contain.
    #[error("{object} is missing from the target definition, which is needed to {purpose}")]
    MissingColumn { object: SqlObject, purpose: &'static str },
}
