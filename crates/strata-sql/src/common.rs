//! Pieces several dialects spell the same way.

use strata_schema::{
    ColumnType, Deferrable, ForeignKeyDefinition, IndexDefinition, IndexElement, IndexElementType,
};

use crate::emit::unsupported;
use crate::expression::check_index_expressions;
use crate::{Dialect, SqlError, SqlObject};

/// `"a"` for column elements; expression elements are SQL already and are kept verbatim
/// (only introspection produces them), after they and the predicate have passed
/// [`check_index_expressions`]: nothing else may reach the statement. One text per element,
/// for the dialect to add what it writes after each (class, collation, order).
pub(crate) fn index_elements(
    d: &dyn Dialect,
    table: &str,
    index: &IndexDefinition,
) -> Result<Vec<String>, SqlError> {
    if index.elements.is_empty() {
        return Err(SqlError::InvalidIndex {
            object: SqlObject::index(table, &index.index_name),
            reason: "the index has no elements".to_string(),
        });
    }
    check_index_expressions(d, table, index)?;
    Ok(index
        .elements
        .iter()
        .map(|e| match e.element_type {
            IndexElementType::Column => d.quote_identifier(&e.definition),
            IndexElementType::Expression => e.definition.clone(),
        })
        .collect())
}

/// `"a", "b" DESC` for a dialect whose index elements take nothing after them but `DESC`
/// (SQLite), after [`refuse_postgres_index_details`] has refused everything else.
pub(crate) fn plain_index_elements(
    d: &dyn Dialect,
    table: &str,
    index: &IndexDefinition,
) -> Result<String, SqlError> {
    refuse_postgres_index_details(d, table, index)?;
    Ok(index_elements(d, table, index)?
        .into_iter()
        .zip(&index.elements)
        .map(|(text, element)| text + sort_direction(element))
        .collect::<Vec<_>>()
        .join(", "))
}

/// ` DESC` for a descending element: the one ordering option every dialect writes.
pub(crate) fn sort_direction(element: &IndexElement) -> &'static str {
    if element.descending {
        " DESC"
    } else {
        ""
    }
}

/// Refuses, naming the index, the details only PostgreSQL writes: a nulls order other than
/// the direction's own, operator classes, collations, `INCLUDE` columns and storage
/// parameters. `DESC` is not refused: MySQL 8 and SQLite build descending indexes.
pub(crate) fn refuse_postgres_index_details(
    d: &dyn Dialect,
    table: &str,
    index: &IndexDefinition,
) -> Result<(), SqlError> {
    let refuse = |what: String| Err(unsupported(d, SqlObject::index(table, &index.index_name), &what));
    for e in &index.elements {
        if !e.nulls_order_is_default() {
            let order = if e.nulls_first { "FIRST" } else { "LAST" };
            return refuse(format!("NULLS {order} on element {:?}", e.definition));
        }
        if let Some(class) = &e.operator_class {
            return refuse(format!("the operator class {class:?} on element {:?}", e.definition));
        }
        if let Some(collation) = &e.collation {
            return refuse(format!("the collation {collation:?} on element {:?}", e.definition));
        }
    }
    if !index.include.is_empty() {
        return refuse(format!("INCLUDE columns ({})", index.include.join(", ")));
    }
    let params = written_parameters(index);
    if !params.is_empty() {
        let list: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        return refuse(format!("index storage parameters ({})", list.join(", ")));
    }
    Ok(())
}

/// The storage parameters `WITH (...)` says. A non-vector index that still names a vector
/// distance or column type is a vector index whose type was changed (as Serverpod allows):
/// its parameters were the vector method's and are not written, as Serverpod does not.
pub(crate) fn written_parameters(index: &IndexDefinition) -> &[(String, String)] {
    let leftover = !matches!(index.index_type.as_str(), "hnsw" | "ivfflat")
        && (index.vector_distance_function.is_some() || index.vector_column_type.is_some());
    if leftover {
        return &[];
    }
    index.parameters.as_deref().unwrap_or_default()
}

/// Checks that every storage parameter of `index` is a plain word set to a plain word or
/// number: they are spliced into `WITH (...)` unquoted. Introspection calls it too, so a live
/// index with any other parameter is reported instead of modelled.
pub fn check_index_parameters(table: &str, index: &IndexDefinition) -> Result<(), SqlError> {
    let params = index.parameters.as_deref().unwrap_or_default();
    match params.iter().find(|(k, v)| !is_word(k) || !is_parameter_value(v)) {
        Some((k, v)) => Err(SqlError::InvalidIndex {
            object: SqlObject::index(table, &index.index_name),
            reason: format!("index parameter {k}={v} is not a plain word or number"),
        }),
        None => Ok(()),
    }
}

/// Checks the shape of a foreign key and returns its quoted column and reference-column lists.
pub(crate) fn foreign_key_columns(
    d: &dyn Dialect,
    table: &str,
    fk: &ForeignKeyDefinition,
) -> Result<(String, String), SqlError> {
    let invalid = |reason: &str| SqlError::InvalidForeignKey {
        object: SqlObject::foreign_key(table, &fk.constraint_name),
        reason: reason.to_string(),
    };
    if fk.columns.is_empty() {
        return Err(invalid("the foreign key has no columns"));
    }
    if fk.columns.len() != fk.reference_columns.len() {
        return Err(invalid("the foreign key has a different number of columns than it references"));
    }
    // Each column is quoted on its own (Serverpod quoted the joined list as one name).
    let list = |cols: &[String]| cols.iter().map(|c| d.quote_identifier(c)).collect::<Vec<_>>().join(", ");
    Ok((list(&fk.columns), list(&fk.reference_columns)))
}

/// `<sep>ON DELETE x<sep>ON UPDATE y` for the actions a foreign key declares.
pub(crate) fn referential_actions(fk: &ForeignKeyDefinition, separator: &str) -> String {
    let mut out = String::new();
    for (clause, action) in [("ON DELETE", fk.on_delete), ("ON UPDATE", fk.on_update)] {
        if let Some(action) = action {
            out.push_str(&format!("{separator}{clause} {}", action.sql()));
        }
    }
    out
}

/// `DEFERRABLE INITIALLY ...` for a deferrable foreign key.
pub(crate) fn deferrable_clause(deferrable: Deferrable) -> &'static str {
    match deferrable {
        Deferrable::InitiallyImmediate => "DEFERRABLE INITIALLY IMMEDIATE",
        Deferrable::InitiallyDeferred => "DEFERRABLE INITIALLY DEFERRED",
    }
}

/// Index methods and storage-parameter keys are spliced into SQL unquoted, so they must be
/// plain words.
pub(crate) fn is_word(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Storage-parameter values: numbers and plain words only.
pub(crate) fn is_parameter_value(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

/// A column type that needs a dimension (`vector(3)`).
pub(crate) fn dimension(
    table: &str,
    column: &str,
    column_type: ColumnType,
    dim: Option<i64>,
) -> Result<i64, SqlError> {
    match dim {
        Some(n) if n > 0 => Ok(n),
        _ => Err(SqlError::MissingVectorDimension {
            object: SqlObject::column(table, column),
            column_type: column_type.name(),
        }),
    }
}

/// A foreign key as a table-constraint line inside `CREATE TABLE`.
pub(crate) fn inline_foreign_key(
    d: &dyn Dialect,
    table: &str,
    fk: &ForeignKeyDefinition,
) -> Result<String, SqlError> {
    let (columns, references) = foreign_key_columns(d, table, fk)?;
    let mut out = format!(
        "CONSTRAINT {} FOREIGN KEY ({columns}) REFERENCES {} ({references})",
        d.quote_identifier(&fk.constraint_name),
        d.quote_identifier(&fk.reference_table),
    );
    out.push_str(&referential_actions(fk, " "));
    if let Some(deferrable) = fk.deferrable {
        out.push(' ');
        out.push_str(deferrable_clause(deferrable));
    }
    Ok(out)
}

/// Refuses pgvector and PostGIS column types on a dialect without them, naming the column.
/// Every dialect's `column_type_sql` starts here, so the capabilities decide, not the dialect.
pub(crate) fn check_type_supported(
    d: &dyn Dialect,
    table: &str,
    column: &strata_schema::ColumnDefinition,
) -> Result<(), SqlError> {
    if column.identity.is_some() && !d.supports_identity_columns() {
        return Err(crate::emit::unsupported(
            d,
            SqlObject::column(table, &column.name),
            "an identity column (GENERATED ... AS IDENTITY; give it a serial default instead)",
        ));
    }
    if column.generated.is_some() && !d.supports_generated_columns() {
        return Err(crate::emit::unsupported(
            d,
            SqlObject::column(table, &column.name),
            "a generated column (GENERATED ALWAYS AS ... STORED)",
        ));
    }
    let t = column.column_type;
    let missing = if t.is_vector() && !d.supports_vector() {
        "pgvector"
    } else if t.is_geography() && !d.supports_geography() {
        "PostGIS"
    } else {
        return Ok(());
    };
    Err(SqlError::Unsupported {
        dialect: d.name(),
        object: SqlObject::column(table, &column.name),
        what: format!(
            "the {} column type (it needs {missing}, which only PostgreSQL has; remove the column \
             or target the postgres dialect)",
            t.name()
        ),
    })
}

// ---- ANSI spellings PostgreSQL, SQLite and MySQL share ---------------------------------------

/// `ALTER TABLE t DROP COLUMN c;`
pub(crate) fn drop_column(d: &dyn Dialect, table: &str, column: &str) -> String {
    format!("ALTER TABLE {} DROP COLUMN {};\n", d.quote_identifier(table), d.quote_identifier(column))
}

/// `ALTER TABLE t RENAME COLUMN a TO b;` (MySQL 8, MariaDB 10.5+, PostgreSQL, SQLite 3.25+).
pub(crate) fn rename_column(d: &dyn Dialect, table: &str, from: &str, to: &str) -> String {
    format!(
        "ALTER TABLE {} RENAME COLUMN {} TO {};\n",
        d.quote_identifier(table),
        d.quote_identifier(from),
        d.quote_identifier(to)
    )
}

/// `ALTER TABLE t ADD COLUMN <column_sql>;`
pub(crate) fn add_column(d: &dyn Dialect, table: &str, column_sql: &str) -> String {
    format!("ALTER TABLE {} ADD COLUMN {column_sql};\n", d.quote_identifier(table))
}

/// `ALTER TABLE a RENAME TO b;`
pub(crate) fn rename_table(d: &dyn Dialect, from: &str, to: &str) -> String {
    format!("ALTER TABLE {} RENAME TO {};\n", d.quote_identifier(from), d.quote_identifier(to))
}

/// Serverpod's upsert of one module's version (`ON CONFLICT`: PostgreSQL and SQLite).
pub(crate) fn upsert_version_on_conflict(
    d: &dyn Dialect,
    now: &str,
    table: &str,
    module: &str,
    version: &str,
) -> String {
    let q = |s: &str| d.quote_identifier(s);
    let version = d.quote_literal(version);
    format!(
        "INSERT INTO {} ({}, {}, {})\n    VALUES ({}, {version}, {now})\n    ON CONFLICT ({})\n    \
         DO UPDATE SET {} = {version}, {} = {now};\n",
        q(table),
        q("module"),
        q("version"),
        q("timestamp"),
        d.quote_literal(module),
        q("module"),
        q("version"),
        q("timestamp"),
    )
}

/// Deletes the bookkeeping rows of removed modules.
///
/// Serverpod writes `"serverpod_migrations"WHERE` (no space); both parse the same, and
/// strata writes the space because only correctness, not these bytes, matters to a runner.
pub(crate) fn delete_versions(d: &dyn Dialect, table: &str, modules: &[String]) -> String {
    let list = modules.iter().map(|m| d.quote_literal(m)).collect::<Vec<_>>().join(", ");
    format!("DELETE FROM {} WHERE {} IN ({list});\n", d.quote_identifier(table), d.quote_identifier("module"))
}
