//! PostgreSQL enum and domain types (read into the definition's `types`), and what columns and
//! domains need that strata does not create: functions their defaults and CHECKs call, and
//! extensions their types come from. Two catalog queries, whatever the database's size.

use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row};
use strata_schema::types::{DomainCheck, DomainDefinition, TypeDefinition, TypeKind};

use crate::{IntrospectError, IntrospectWarning, WarningKind};

/// The name of the types query in `QUERIES`.
pub(crate) const TYPES_QUERY: &str = "types";
/// The name of the dependencies query in `QUERIES`.
pub(crate) const DEPENDENCIES_QUERY: &str = "dependencies";

/// Extensions strata creates itself (`CREATE EXTENSION IF NOT EXISTS` in its prelude).
const MANAGED_EXTENSIONS: &str = "('postgis', 'vector')";

/// Enums (labels in sort order) and domains (base type, default, NOT NULL, named CHECKs),
/// extension-owned ones left out.
pub(crate) const SQL_TYPES: &str =
    "SELECT t.oid::int8 AS oid, n.nspname::text AS schema_name, t.typname::text AS name, \
        t.typtype::text AS kind, \
        ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid \
              ORDER BY e.enumsortorder) AS labels, \
        pg_catalog.format_type(t.typbasetype, t.typtypmod) \
          || CASE WHEN t.typcollation <> 0 AND t.typcollation <> COALESCE(bt.typcollation, 0) \
                  THEN ' COLLATE ' || quote_ident(co.collname) ELSE '' END AS base_type, \
        pg_catalog.pg_get_expr(t.typdefaultbin, 0) AS default_expr, t.typnotnull AS not_null, \
        ARRAY(SELECT dc.conname::text FROM pg_catalog.pg_constraint dc \
              WHERE dc.contypid = t.oid AND dc.contype = 'c' ORDER BY dc.conname) AS check_names, \
        ARRAY(SELECT pg_catalog.pg_get_constraintdef(dc.oid, true) FROM pg_catalog.pg_constraint dc \
              WHERE dc.contypid = t.oid AND dc.contype = 'c' ORDER BY dc.conname) AS check_defs \
     FROM pg_catalog.pg_type t \
     JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
     LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype \
     LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation \
     WHERE t.typtype IN ('e', 'd') AND n.nspname = ANY($1) \
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
           WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e') \
     ORDER BY n.nspname, t.typname";

/// Leaves out the UUIDv7 helper strata's own SQL creates (`uuid_v7_function_sql`).
const NOT_STRATA_FUNCTION: &str = "NOT (p.proname = 'gen_random_uuid_v7' AND p.pronargs = 0)";

/// What a user function or an extension provides, as `needs_kind` / `needs_schema` /
/// `needs_name`: a function of an extension counts as the extension.
const PROVIDER: &str = "CASE WHEN x.extname IS NULL THEN 'function' ELSE 'extension' END AS needs_kind, \
        pn.nspname::text AS needs_schema, COALESCE(x.extname, p.proname)::text AS needs_name";
const PROC_JOIN: &str =
    "JOIN pg_catalog.pg_proc p ON d.refclassid = 'pg_catalog.pg_proc'::regclass AND d.refobjid = p.oid \
     JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace \
     LEFT JOIN pg_catalog.pg_depend xd ON xd.classid = 'pg_catalog.pg_proc'::regclass AND xd.objid = p.oid \
          AND xd.deptype = 'e' \
     LEFT JOIN pg_catalog.pg_extension x ON x.oid = xd.refobjid";

/// Column defaults, generation expressions, table CHECKs and domain CHECKs/defaults that call a
/// function outside `pg_catalog`, and columns whose type (or array element type) belongs to an
/// extension strata does not create.
/// The column types start from the extensions' types (and their array types), fenced: with none
/// (the usual case) no column is read at all, where probing every table's columns for one was
/// most of this query's time.
pub(crate) fn sql_dependencies() -> String {
    format!(
        "SELECT DISTINCT kind, table_oid, schema_name, object_name, needs_kind, needs_schema, needs_name FROM ( \
           SELECT CASE WHEN a.attgenerated = '' THEN 'default' ELSE 'generated' END AS kind, ad.adrelid::int8 AS table_oid, NULL::text AS schema_name, \
                  a.attname::text AS object_name, {PROVIDER} \
           FROM pg_catalog.pg_depend d \
           JOIN pg_catalog.pg_attrdef ad ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.objid = ad.oid \
           JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum \
           {PROC_JOIN} \
           WHERE pn.nspname <> 'pg_catalog' AND {NOT_STRATA_FUNCTION} \
             AND (x.extname IS NULL OR x.extname NOT IN {MANAGED_EXTENSIONS}) \
         UNION ALL \
           SELECT 'domain', NULL::int8, tn.nspname::text, t.typname::text, {PROVIDER} \
           FROM pg_catalog.pg_depend d \
           JOIN pg_catalog.pg_constraint con ON d.classid = 'pg_catalog.pg_constraint'::regclass \
                AND d.objid = con.oid AND con.contypid <> 0 \
           JOIN pg_catalog.pg_type t ON t.oid = con.contypid \
           JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace \
           {PROC_JOIN} \
           WHERE tn.nspname = ANY($1) AND pn.nspname <> 'pg_catalog' AND {NOT_STRATA_FUNCTION} \
             AND (x.extname IS NULL OR x.extname NOT IN {MANAGED_EXTENSIONS}) \
         UNION ALL \
           SELECT 'check', con.conrelid::int8, NULL::text, con.conname::text, {PROVIDER} \
           FROM pg_catalog.pg_depend d \
           JOIN pg_catalog.pg_constraint con ON d.classid = 'pg_catalog.pg_constraint'::regclass \
                AND d.objid = con.oid AND con.conrelid <> 0 AND con.contype = 'c' \
           {PROC_JOIN} \
           WHERE pn.nspname <> 'pg_catalog' AND {NOT_STRATA_FUNCTION} \
             AND (x.extname IS NULL OR x.extname NOT IN {MANAGED_EXTENSIONS}) \
         UNION ALL \
           SELECT 'column_type', a.attrelid::int8, NULL::text, a.attname::text, 'extension', \
                  et.ext_schema, et.ext_name \
           FROM (SELECT u.type_oid, xn.nspname::text AS ext_schema, x.extname::text AS ext_name \
                 FROM pg_catalog.pg_depend xd \
                 JOIN pg_catalog.pg_type t ON t.oid = xd.objid \
                 JOIN pg_catalog.pg_extension x ON x.oid = xd.refobjid \
                 JOIN pg_catalog.pg_namespace xn ON xn.oid = x.extnamespace \
                 CROSS JOIN LATERAL unnest(ARRAY[t.oid, t.typarray]) AS u(type_oid) \
                 WHERE xd.classid = 'pg_catalog.pg_type'::regclass \
                   AND xd.refclassid = 'pg_catalog.pg_extension'::regclass AND xd.deptype = 'e' \
                   AND u.type_oid <> 0 AND x.extname NOT IN {MANAGED_EXTENSIONS} OFFSET 0) et \
           JOIN pg_catalog.pg_attribute a ON a.atttypid = et.type_oid \
           JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped \
         ) x ORDER BY 1, 2, 3, 4, 5, 6, 7"
    )
}

fn get<'r, T>(row: &'r PgRow, column: &str, query: &'static str) -> Result<T, IntrospectError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(|source| IntrospectError::Query { query, source })
}

/// The definition's `types`, in schema and name order, each with its oid.
pub(crate) fn read_types(rows: &[PgRow]) -> Result<Vec<(i64, TypeDefinition)>, IntrospectError> {
    let q = TYPES_QUERY;
    rows.iter()
        .map(|row| {
            let kind = if get::<String>(row, "kind", q)? == "e" {
                TypeKind::Enum { values: get(row, "labels", q)? }
            } else {
                let names: Vec<String> = get(row, "check_names", q)?;
                let defs: Vec<String> = get(row, "check_defs", q)?;
                TypeKind::Domain(DomainDefinition {
                    base_type: get(row, "base_type", q)?,
                    default: get(row, "default_expr", q)?,
                    not_null: get(row, "not_null", q)?,
                    checks: names
                        .into_iter()
                        .zip(defs)
                        .map(|(name, def)| DomainCheck { name, expression: check_expression(&def) })
                        .collect(),
                })
            };
            let t = TypeDefinition { schema: get(row, "schema_name", q)?, name: get(row, "name", q)?, kind };
            Ok((get(row, "oid", q)?, t))
        })
        .collect()
}

/// The enum and domain warnings, for sides the types are not compared on (a Serverpod
/// definition has none; the database's own are then left alone and named). `users` gives the
/// tables whose columns use the type with this oid.
pub(crate) fn type_warnings(
    types: &[(i64, TypeDefinition)],
    users: impl Fn(i64) -> Vec<String>,
) -> Vec<IntrospectWarning> {
    types
        .iter()
        .map(|(oid, t)| {
            let (kind, detail) = match &t.kind {
                TypeKind::Enum { values } => {
                    let labels: Vec<String> = values.iter().map(|v| strata_sql::quote::literal(v)).collect();
                    (WarningKind::EnumType, format!("values {}", labels.join(", ")))
                }
                TypeKind::Domain(d) => (WarningKind::DomainType, format!("over {}", domain_text(d))),
            };
            IntrospectWarning {
                kind,
                schema: t.schema.clone(),
                table: None,
                name: t.name.clone(),
                detail,
                depends_on: users(*oid),
            }
        })
        .collect()
}

/// `integer DEFAULT 1 NOT NULL CONSTRAINT "pos" CHECK (VALUE > 0)`: a domain in one line.
fn domain_text(d: &DomainDefinition) -> String {
    let mut text = d.base_type.clone();
    if let Some(default) = &d.default {
        text.push_str(&format!(" DEFAULT {default}"));
    }
    if d.not_null {
        text.push_str(" NOT NULL");
    }
    for c in &d.checks {
        text.push_str(&format!(" CONSTRAINT {} CHECK ({})", crate::quote_ident(&c.name), c.expression));
    }
    text
}

/// `VALUE > 0` from `pg_get_constraintdef`'s `CHECK (VALUE > 0)` (a `NOT VALID` mark dropped:
/// a domain created from the definition checks every value).
fn check_expression(def: &str) -> String {
    let def = def.trim().trim_end_matches(" NOT VALID");
    def.strip_prefix("CHECK (").and_then(|d| d.strip_suffix(')')).unwrap_or(def).to_string()
}

/// The key of what a dependency needs, as [`provided_key`] names what a warning provides.
pub(crate) fn needs_key(kind: &str, schema: &str, name: &str) -> String {
    match kind {
        "extension" => format!("extension \"{name}\""),
        _ => format!("function \"{schema}\".\"{name}\""),
    }
}

const NEEDS: &str = "needs ";
const NEEDS_END: &str = ", which strata does not create";

/// The function or extension a dependency warning says its object needs.
pub fn needed_key(w: &IntrospectWarning) -> Option<&str> {
    if w.kind != WarningKind::Dependency {
        return None;
    }
    w.detail.split_once(NEEDS)?.1.split_once(NEEDS_END).map(|(key, _)| key)
}

/// What a function or extension warning provides to dependencies ([`needed_key`]).
pub fn provided_key(w: &IntrospectWarning) -> Option<String> {
    match w.kind {
        WarningKind::Function => Some(needs_key("function", &w.schema, &w.name)),
        WarningKind::Extension => Some(needs_key("extension", &w.schema, &w.name)),
        _ => None,
    }
}

/// One warning per dependency row, attached to its table (defaults, column types) or to its
/// domain. `table_of` resolves a table oid to (schema, name), `None` for tables not read.
pub(crate) fn read_dependencies(
    rows: &[PgRow],
    table_of: impl Fn(i64) -> Option<(String, String)>,
) -> Result<Vec<IntrospectWarning>, IntrospectError> {
    let q = DEPENDENCIES_QUERY;
    let mut out = Vec::new();
    for row in rows {
        let kind: String = get(row, "kind", q)?;
        let object: String = get(row, "object_name", q)?;
        let key = needs_key(
            &get::<String>(row, "needs_kind", q)?,
            &get::<String>(row, "needs_schema", q)?,
            &get::<String>(row, "needs_name", q)?,
        );
        let (what, schema, table) = match get::<Option<i64>>(row, "table_oid", q)? {
            Some(oid) => {
                let Some((schema, table)) = table_of(oid) else { continue };
                let what = match kind.as_str() {
                    "column_type" => "its type",
                    "check" => "the CHECK constraint",
                    "generated" => "its generation expression",
                    _ => "its default",
                };
                (what, schema, Some(table))
            }
            None => ("a CHECK or the default of the domain", get(row, "schema_name", q)?, None),
        };
        out.push(IntrospectWarning {
            kind: WarningKind::Dependency,
            schema,
            depends_on: table.iter().cloned().collect(),
            table,
            name: object,
            detail: format!("{what} {NEEDS}{key}{NEEDS_END}"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dependency_names_what_it_needs_and_what_provides_it_matches() {
        let dep = IntrospectWarning {
            kind: WarningKind::Dependency,
            schema: "public".into(),
            table: Some("users".into()),
            name: "status".into(),
            detail: format!("its default {NEEDS}{}{NEEDS_END}", needs_key("function", "public", "f")),
            depends_on: vec!["users".into()],
        };
        let function = IntrospectWarning {
            kind: WarningKind::Function,
            schema: "public".into(),
            table: None,
            name: "f".into(),
            detail: "() RETURNS text".into(),
            depends_on: Vec::new(),
        };
        assert_eq!(needed_key(&dep), Some("function \"public\".\"f\""));
        assert_eq!(provided_key(&function).as_deref(), needed_key(&dep));
        assert_eq!(check_expression("CHECK (VALUE > 0) NOT VALID"), "VALUE > 0");
    }
}
