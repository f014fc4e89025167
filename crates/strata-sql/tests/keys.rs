//! Stated primary keys, unique constraints and identity columns as PostgreSQL writes them, and
//! the dialects that cannot write them refusing by name.

mod common;

use common::*;
use strata_schema::*;
use strata_sql::{definition_sql, dialect_by_name, SqlError};

fn keyed_table() -> TableDefinition {
    let mut t = table(
        "member",
        "Member",
        vec![col("id", ColumnType::Integer, true), col("a", ColumnType::Text, false)],
    );
    let mut n = col("n", ColumnType::Bigint, false);
    n.identity = Some(Identity::Always);
    t.columns.push(n);
    t.keys.primary_key = Some(KeyConstraint {
        name: "member_pk".into(),
        columns: vec!["a".into(), "n".into()],
        nulls_not_distinct: false,
    });
    t.keys.unique.push(KeyConstraint {
        name: "member_id_key".into(),
        columns: vec!["id".into()],
        nulls_not_distinct: true,
    });
    t
}

#[test]
fn postgres_writes_stated_keys_as_table_constraints_and_id_as_a_plain_column() {
    let def = definition("p", vec![keyed_table()], vec![]);
    let sql = definition_sql(&*dialect_by_name("postgres").unwrap(), &def).unwrap();
    let expected = "CREATE TABLE \"member\" (\n    \"id\" integer,\n    \"a\" text NOT NULL,\n    \
                    \"n\" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,\n    \
                    CONSTRAINT \"member_pk\" PRIMARY KEY (\"a\", \"n\"),\n    \
                    CONSTRAINT \"member_id_key\" UNIQUE NULLS NOT DISTINCT (\"id\")\n);\n";
    assert!(sql.contains(expected), "{sql}");
}

#[test]
fn an_identity_column_with_a_default_is_refused() {
    let mut t = keyed_table();
    t.columns[2].column_default = Some("5".into());
    let err = definition_sql(&*dialect_by_name("postgres").unwrap(), &definition("p", vec![t], vec![]))
        .unwrap_err();
    assert!(err.to_string().contains("column \"n\" of table \"member\""), "{err}");
    assert!(err.to_string().contains("an identity column has no default"), "{err}");
}

#[test]
fn mysql_and_sqlite_refuse_stated_keys_and_identity_by_name() {
    for dialect in ["mysql", "sqlite"] {
        let d = dialect_by_name(dialect).unwrap();
        let err = definition_sql(&*d, &definition("p", vec![keyed_table()], vec![])).unwrap_err();
        assert!(matches!(err, SqlError::Unsupported { .. }), "{dialect}: {err}");
        assert!(err.to_string().contains("member"), "{dialect}: {err}");
    }
}
