//! PostgreSQL indexes: the indexes query, its rows gathered back into one [`IndexRow`] per
//! index, and their mapping onto the model's indexes and unique constraints.
//!
//! The query returns one row per index element (key columns and expressions, then `INCLUDE`
//! columns), an index's rows one after another in element order. Aggregating the elements
//! into arrays on the server cost a third of the query (one sort per array per index).

use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row};
use strata_schema::{ColumnType, IndexDefinition, IndexElement, IndexElementType, KeyConstraint};

use crate::pg_types::{gin_operator_class, method_is_vector, parse_reloptions, vector_operator_class};
use crate::{IntrospectError, IntrospectWarning, WarningKind};

/// The query's name in [`crate::postgres::QUERIES`].
const QUERY: &str = "indexes";

/// `indnullsnotdistinct` exists from PostgreSQL 15 on; older servers have no such indexes.
/// Each element's column is an index probe on `(attrelid, attnum)`, fenced (`OFFSET 0`) so that
/// the planner, which underestimates the elements, does not hash every `pg_attribute` row
/// instead (a quarter of this query's time at 1,000 tables).
/// Primary-key indexes are left out here (the tables query reads the keys), and so are a
/// partition's copies of its parent's indexes (the parent's index creates them).
/// `indclass`, `indoption` and `indcollation` cover the key elements only, so an `INCLUDE`
/// column's row has NULLs there.
pub(crate) fn sql(server_version: i32) -> String {
    let nulls_not_distinct = if server_version >= 150000 { "i.indnullsnotdistinct" } else { "false" };
    format!(
        "SELECT i.indrelid::int8 AS table_oid, i.indexrelid::int8 AS index_oid, k.ord::int4 AS ord, \
                ic.relname::text AS name, am.amname::text AS method, \
                i.indisunique AS is_unique, {nulls_not_distinct} AS nulls_not_distinct, i.indisvalid AS is_valid, \
                i.indnkeyatts::int4 AS key_count, i.indnatts::int4 AS att_count, \
                pg_catalog.pg_get_expr(i.indpred, i.indrelid, true) AS predicate, ts.spcname::text AS tablespace, \
                COALESCE(ic.reloptions::text[], '{{}}'::text[]) AS reloptions, \
                con.contype::text AS constraint_type, COALESCE(con.condeferrable, false) AS constraint_deferrable, \
                COALESCE(con.condeferred, false) AS constraint_deferred, \
                COALESCE(con.conparentid <> 0, false) AS constraint_inherited, \
                CASE WHEN k.attnum > 0 THEN a.attname::text \
                     ELSE pg_catalog.pg_get_indexdef(i.indexrelid, k.ord::int4, true) END AS element_def, \
                k.attnum > 0 AS element_is_column, COALESCE(opc.opcname::text, '') AS opclass, \
                COALESCE(opc.opcdefault, true) AS opclass_is_default, COALESCE(k.opt, 0)::int4 AS sort_option, \
                CASE WHEN k.coll NOT IN (0, 100) AND k.coll <> COALESCE(a.attcollation, 0) \
                     THEN coll.collname::text ELSE '' END AS collation \
         FROM pg_catalog.pg_index i \
         JOIN pg_catalog.pg_class c ON c.oid = i.indrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indclass::oid[], i.indoption::int2[], \
                                   i.indcollation::oid[]) WITH ORDINALITY AS k(attnum, opc, opt, coll, ord) \
         LEFT JOIN LATERAL (SELECT a.attname, a.attcollation FROM pg_catalog.pg_attribute a \
                            WHERE a.attrelid = i.indrelid AND a.attnum = k.attnum OFFSET 0) a ON true \
         LEFT JOIN pg_catalog.pg_opclass opc ON opc.oid = k.opc \
         LEFT JOIN pg_catalog.pg_collation coll ON coll.oid = k.coll \
         JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
         JOIN pg_catalog.pg_am am ON am.oid = ic.relam \
         LEFT JOIN pg_catalog.pg_tablespace ts ON ts.oid = ic.reltablespace \
         LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid \
                                               AND con.contype IN ('u', 'x') \
         WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1) AND NOT i.indisprimary \
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits ih WHERE ih.inhrelid = i.indexrelid) \
         ORDER BY i.indrelid, ic.relname, k.ord"
    )
}

fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T, IntrospectError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(|source| IntrospectError::Query { query: QUERY, source })
}

/// One index of the query: its own fields, read from its first row, and its elements.
#[derive(Debug, Default)]
pub(crate) struct IndexRow {
    pub(crate) table_oid: i64,
    oid: i64,
    name: String,
    method: String,
    is_unique: bool,
    nulls_not_distinct: bool,
    is_valid: bool,
    key_count: i32,
    att_count: i32,
    predicate: Option<String>,
    tablespace: Option<String>,
    reloptions: Vec<String>,
    /// `u` or `x` when the index backs a UNIQUE or EXCLUDE constraint.
    pub(crate) constraint_type: Option<String>,
    constraint_deferrable: bool,
    constraint_deferred: bool,
    constraint_inherited: bool,
    /// Per key element, in order: its column name or expression, whether it is a column, its
    /// operator class (and whether that is the type's default), `indoption`, and its collation
    /// where that is not the column's (empty otherwise).
    element_defs: Vec<String>,
    element_is_column: Vec<bool>,
    opclasses: Vec<String>,
    opclass_is_default: Vec<bool>,
    sort_options: Vec<i32>,
    collations: Vec<String>,
    include_columns: Vec<String>,
}

impl IndexRow {
    /// The index's own fields, from the row of its first element.
    fn first(row: &PgRow) -> Result<IndexRow, IntrospectError> {
        if get::<i32>(row, "ord")? != 1 {
            let message = format!("index \"{}\" starts at a later element", get::<String>(row, "name")?);
            return Err(IntrospectError::Query { query: QUERY, source: sqlx::Error::Protocol(message) });
        }
        Ok(IndexRow {
            table_oid: get(row, "table_oid")?,
            oid: get(row, "index_oid")?,
            name: get(row, "name")?,
            method: get(row, "method")?,
            is_unique: get(row, "is_unique")?,
            nulls_not_distinct: get(row, "nulls_not_distinct")?,
            is_valid: get(row, "is_valid")?,
            key_count: get(row, "key_count")?,
            att_count: get(row, "att_count")?,
            predicate: get(row, "predicate")?,
            tablespace: get(row, "tablespace")?,
            reloptions: get(row, "reloptions")?,
            constraint_type: get(row, "constraint_type")?,
            constraint_deferrable: get(row, "constraint_deferrable")?,
            constraint_deferred: get(row, "constraint_deferred")?,
            constraint_inherited: get(row, "constraint_inherited")?,
            ..IndexRow::default()
        })
    }

    /// Adds the element `row` describes: a key element up to `key_count`, an `INCLUDE` column
    /// after.
    fn add_element(&mut self, row: &PgRow) -> Result<(), IntrospectError> {
        let definition: String = get(row, "element_def")?;
        if get::<i32>(row, "ord")? > self.key_count {
            self.include_columns.push(definition);
            return Ok(());
        }
        self.element_defs.push(definition);
        self.element_is_column.push(get(row, "element_is_column")?);
        self.opclasses.push(get(row, "opclass")?);
        self.opclass_is_default.push(get(row, "opclass_is_default")?);
        self.sort_options.push(get(row, "sort_option")?);
        self.collations.push(get(row, "collation")?);
        Ok(())
    }
}

/// Gathers the query's element rows back into indexes.
#[derive(Default)]
pub(crate) struct IndexRows {
    current: Option<IndexRow>,
}

impl IndexRows {
    /// Adds one row; returns the index before it once `row` starts another.
    pub(crate) fn push(&mut self, row: &PgRow) -> Result<Option<IndexRow>, IntrospectError> {
        let oid: i64 = get(row, "index_oid")?;
        if let Some(current) = self.current.as_mut().filter(|c| c.oid == oid) {
            current.add_element(row)?;
            return Ok(None);
        }
        let mut next = IndexRow::first(row)?;
        next.add_element(row)?;
        Ok(self.current.replace(next))
    }

    /// The last index, once every row is in.
    pub(crate) fn finish(self) -> Option<IndexRow> {
        self.current
    }
}

/// A `UNIQUE` constraint's index as a key constraint, when the definition can say all of it
/// (plain columns, btree defaults, not a partition's copy of its parent's); otherwise `None`,
/// and the unrepresentable-objects scan names it.
pub(crate) fn unique_constraint(index: &IndexRow) -> Option<KeyConstraint> {
    let plain = index.method == "btree"
        && !index.constraint_inherited
        && index.key_count == index.att_count
        && index.element_is_column.iter().all(|c| *c)
        && index.opclass_is_default.iter().all(|d| *d)
        && index.sort_options.iter().all(|o| *o == 0)
        && index.collations.iter().all(String::is_empty)
        && index.reloptions.is_empty()
        && index.tablespace.is_none();
    if !plain {
        return None;
    }
    Some(KeyConstraint {
        name: index.name.clone(),
        columns: index.element_defs.clone(),
        nulls_not_distinct: index.nulls_not_distinct,
        deferrable: crate::pg_types::fk_deferrable(index.constraint_deferrable, index.constraint_deferred),
    })
}

/// Maps one index of `schema`.`table`. Indexes backing UNIQUE or EXCLUDE constraints are not
/// the model's indexes (they cannot be dropped with `DROP INDEX`): the unrepresentable-objects
/// scan reports them. What the model cannot hold of an index becomes a warning.
pub(crate) fn map_index(
    index: IndexRow,
    schema: &str,
    table: &str,
    warnings: &mut Vec<IntrospectWarning>,
) -> Option<IndexDefinition> {
    if index.constraint_type.is_some() {
        return None;
    }
    let mut details = Vec::new();
    let mut elements = map_index_elements(&index);
    let classes = map_operator_classes(
        &index.method,
        &index.opclasses,
        &index.opclass_is_default,
        &mut elements,
        &mut details,
    );
    let parameters = (!index.reloptions.is_empty()).then(|| parse_reloptions(&index.reloptions));
    if !index.is_valid {
        details.push("it is INVALID (a failed concurrent build; REINDEX it)".into());
    }
    if !details.is_empty() {
        warnings.push(IntrospectWarning {
            kind: WarningKind::IndexDetail,
            schema: schema.to_string(),
            table: Some(table.to_string()),
            name: index.name.clone(),
            detail: format!("not represented: {}", details.join("; ")),
            depends_on: vec![table.to_string()],
        });
    }
    Some(IndexDefinition {
        index_name: index.name,
        table_space: index.tablespace,
        elements,
        index_type: index.method,
        is_unique: index.is_unique,
        is_primary: false,
        // `None` is the database default (distinct), which is what generated definitions say
        // when the model does not mention it; only the non-default is worth stating.
        nulls_distinct: if index.nulls_not_distinct { Some(false) } else { None },
        predicate: index.predicate,
        gin_operator_class: classes.gin,
        vector_distance_function: classes.vector_distance_function,
        vector_column_type: classes.vector_column_type,
        parameters,
        include: index.include_columns,
    })
}

/// The key elements of an index, with their sort order and collation. `indoption` bit 0
/// is `DESC`, bit 1 `NULLS FIRST`; a collation is listed only where it is not the column's.
/// Operator classes are filled in by [`map_operator_classes`].
fn map_index_elements(index: &IndexRow) -> Vec<IndexElement> {
    index
        .element_defs
        .iter()
        .enumerate()
        .map(|(i, definition)| {
            let element_type = if index.element_is_column.get(i).copied().unwrap_or(false) {
                IndexElementType::Column
            } else {
                IndexElementType::Expression
            };
            let option = index.sort_options.get(i).copied().unwrap_or(0);
            IndexElement {
                descending: option & 1 != 0,
                nulls_first: option & 2 != 0,
                collation: index.collations.get(i).filter(|c| !c.is_empty()).cloned(),
                ..IndexElement::new(element_type, definition.clone())
            }
        })
        .collect()
}

/// What an index's operator classes say in the model's terms (gin's class, a vector index's
/// distance and column type).
#[derive(Default)]
struct OperatorClasses {
    gin: Option<strata_schema::GinOperatorClass>,
    vector_distance_function: Option<strata_schema::VectorDistanceFunction>,
    vector_column_type: Option<ColumnType>,
}

/// Maps the operator classes of an index using `method`. A gin index whose elements all use
/// one class Serverpod names keeps it as `ginOperatorClass` (Serverpod's key, same bytes);
/// a vector index's class becomes its distance and column type; any other non-default class
/// goes on its element. Vector classes the model cannot hold are added to `details`.
fn map_operator_classes(
    method: &str,
    opclasses: &[String],
    opclass_is_default: &[bool],
    elements: &mut [IndexElement],
    details: &mut Vec<String>,
) -> OperatorClasses {
    let mut classes = OperatorClasses::default();
    if method_is_vector(method) {
        match opclasses.first().and_then(|o| vector_operator_class(o)) {
            Some((t, d)) => {
                classes.vector_column_type = Some(t);
                classes.vector_distance_function = Some(d);
            }
            None => details.push(format!("operator class {}", opclasses.join(", "))),
        }
        return classes;
    }
    if method == "gin" {
        let mapped: Vec<_> = opclasses.iter().map(|o| gin_operator_class(o)).collect();
        if let Some(Some(first)) = mapped.first() {
            if mapped.iter().all(|m| m == &Some(*first)) {
                classes.gin = Some(*first);
                return classes;
            }
        }
    }
    for ((element, class), is_default) in elements.iter_mut().zip(opclasses).zip(opclass_is_default) {
        if !is_default && !class.is_empty() {
            element.operator_class = Some(class.clone());
        }
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection as _;

    /// Rows that do not start an index at its first element are refused, naming the index,
    /// rather than read as an index missing its leading elements.
    #[test]
    fn an_index_whose_rows_start_past_its_first_element_is_refused_by_name() {
        let db = strata_testdb::PgScratch::new("index_rows");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            let row = sqlx::query("SELECT 7::int8 AS index_oid, 2::int4 AS ord, 'orders_idx'::text AS name")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            let error = IndexRows::default().push(&row).unwrap_err().to_string();
            assert!(error.contains("index \"orders_idx\" starts at a later element"), "{error}");
        });
    }
}
