//! PostgreSQL's statements for enum and domain types (a definition's `types`). The expression
//! text a domain carries (its default and CHECKs) comes from files anyone can edit, so it is
//! written only after it parses as exactly one expression, like index expressions.

use strata_schema::types::{
    DomainChange, DomainDefinition, EnumPosition, TypeChange, TypeDefinition, TypeKind,
};

use crate::expression::check_postgres;
use crate::{Dialect, SqlError};

/// The statement for one type change (with its `;` and newline).
pub(crate) fn postgres_type_change_sql(d: &dyn Dialect, change: &TypeChange) -> Result<String, SqlError> {
    let qualified =
        |schema: &str, name: &str| format!("{}.{}", d.quote_identifier(schema), d.quote_identifier(name));
    Ok(match change {
        TypeChange::Create(t) => create_sql(d, &qualified(&t.schema, &t.name), t)?,
        TypeChange::AddEnumValue { schema, name, value, position } => {
            let (word, anchor) = match position {
                EnumPosition::Before(v) => ("BEFORE", v),
                EnumPosition::After(v) => ("AFTER", v),
            };
            format!(
                "ALTER TYPE {} ADD VALUE IF NOT EXISTS {} {word} {};\n",
                qualified(schema, name),
                d.quote_literal(value),
                d.quote_literal(anchor)
            )
        }
        TypeChange::AlterDomain { schema, name, change } => {
            let label = format!("{schema}.{name}");
            let action = match change {
                DomainChange::SetDefault(e) => format!("SET DEFAULT {}", expression(&label, "default", e)?),
                DomainChange::DropDefault => "DROP DEFAULT".to_string(),
                DomainChange::SetNotNull => "SET NOT NULL".to_string(),
                DomainChange::DropNotNull => "DROP NOT NULL".to_string(),
                DomainChange::AddCheck(c) => format!(
                    "ADD CONSTRAINT {} CHECK ({})",
                    d.quote_identifier(&c.name),
                    expression(&label, "check", &c.expression)?
                ),
                DomainChange::DropCheck(c) => format!("DROP CONSTRAINT {}", d.quote_identifier(c)),
            };
            format!("ALTER DOMAIN {} {action};\n", qualified(schema, name))
        }
        TypeChange::Drop(t) => {
            let what = if matches!(t.kind, TypeKind::Enum { .. }) { "TYPE" } else { "DOMAIN" };
            format!("DROP {what} {};\n", qualified(&t.schema, &t.name))
        }
    })
}

fn create_sql(d: &dyn Dialect, qualified: &str, t: &TypeDefinition) -> Result<String, SqlError> {
    match &t.kind {
        TypeKind::Enum { values } => {
            let labels: Vec<String> = values.iter().map(|v| d.quote_literal(v)).collect();
            Ok(format!("CREATE TYPE {qualified} AS ENUM ({});\n", labels.join(", ")))
        }
        TypeKind::Domain(domain) => domain_sql(d, qualified, &t.display_name(), domain),
    }
}

fn domain_sql(
    d: &dyn Dialect,
    qualified: &str,
    label: &str,
    domain: &DomainDefinition,
) -> Result<String, SqlError> {
    crate::postgres::check_native_type(&domain.base_type)
        .map_err(|reason| invalid(label, "base type", &domain.base_type, reason))?;
    let mut sql = format!("CREATE DOMAIN {qualified} AS {}", domain.base_type);
    if let Some(default) = &domain.default {
        sql.push_str(&format!(" DEFAULT {}", expression(label, "default", default)?));
    }
    if domain.not_null {
        sql.push_str(" NOT NULL");
    }
    for check in &domain.checks {
        sql.push_str(&format!(
            " CONSTRAINT {} CHECK ({})",
            d.quote_identifier(&check.name),
            expression(label, "check", &check.expression)?
        ));
    }
    sql.push_str(";\n");
    Ok(sql)
}

/// `text` once it is one expression.
fn expression(label: &str, part: &'static str, text: &str) -> Result<String, SqlError> {
    check_postgres(text).map_err(|reason| invalid(label, part, text, reason))?;
    Ok(text.to_string())
}

fn invalid(label: &str, part: &'static str, text: &str, reason: String) -> SqlError {
    SqlError::InvalidType { name: label.to_string(), part, text: text.to_string(), reason }
}

/// A dialect without enum and domain types refuses a definition that has them.
pub(crate) fn types_unsupported(change: &TypeChange, dialect: &'static str) -> SqlError {
    let name = match change {
        TypeChange::Create(t) | TypeChange::Drop(t) => t.display_name(),
        TypeChange::AddEnumValue { schema, name, .. } | TypeChange::AlterDomain { schema, name, .. } => {
            format!("{schema}.{name}")
        }
    };
    SqlError::TypesUnsupported { name, dialect }
}
