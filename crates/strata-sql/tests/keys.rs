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
        deferrable: None,
    });
    t.keys.unique.push(KeyConstraint {
        name: "member_id_key".into(),
        columns: vec!["id".into()],
        nulls_not_distinct: true,
        deferrable: None,
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

fn constrained_table() -> TableDefinition {
    let mut t = keyed_table();
    t.keys.checks.push(CheckConstraint {
        name: "member_a_check".into(),
        expression: "(a <> ''::text)".into(),
        ..Default::default()
    });
    t.keys.checks.push(CheckConstraint {
        name: "member_n_check".into(),
        expression: "(n > 0)".into(),
        not_valid: true,
        no_inherit: true,
    });
    t.keys.exclusions.push(ExclusionConstraint {
        name: "member_n_excl".into(),
        definition: "EXCLUDE USING btree (n WITH =)".into(),
    });
    t.keys.unique[0].deferrable = Some(Deferrable::InitiallyDeferred);
    t
}

#[test]
fn postgres_writes_checks_inline_except_not_valid_ones_which_it_adds_after() {
    let def = definition("p", vec![constrained_table()], vec![]);
    let sql = definition_sql(&*dialect_by_name("postgres").unwrap(), &def).unwrap();
    for needle in [
        "    CONSTRAINT \"member_id_key\" UNIQUE NULLS NOT DISTINCT (\"id\") DEFERRABLE INITIALLY DEFERRED,\n",
        "    CONSTRAINT \"member_a_check\" CHECK ((a <> ''::text)),\n",
        "    CONSTRAINT \"member_n_excl\" EXCLUDE USING btree (n WITH =)\n);\n\
         ALTER TABLE \"member\" ADD CONSTRAINT \"member_n_check\" CHECK ((n > 0)) NO INHERIT NOT VALID;\n",
    ] {
        assert!(sql.contains(needle), "missing {needle:?} in:\n{sql}");
    }
}

#[test]
fn crafted_check_and_exclusion_text_is_refused_by_name() {
    let d = dialect_by_name("postgres").unwrap();
    for (expression, exclusion) in [
        ("(n > 0)); DROP TABLE member; --", "EXCLUDE USING btree (n WITH =)"),
        ("(n > 0)", "EXCLUDE USING btree (n WITH =); DROP TABLE member"),
        ("(n > 0)", "EXCLUDE USING btree (n WITH =), DROP COLUMN a"),
        ("(n > 0)", "EXCLUDE USING btree (n WITH =) -- ("),
        ("(n > 0)", "CHECK (true)"),
    ] {
        let mut t = constrained_table();
        t.keys.checks[0].expression = expression.into();
        t.keys.exclusions[0].definition = exclusion.into();
        let err = definition_sql(&*d, &definition("p", vec![t], vec![])).unwrap_err();
        assert!(matches!(err, SqlError::InvalidConstraint { .. }), "{expression} / {exclusion}: {err}");
        assert!(err.to_string().contains("member"), "{err}");
    }
    // A `;` inside a string literal is the literal's.
    let mut t = constrained_table();
    t.keys.exclusions[0].definition = "EXCLUDE USING btree (n WITH =) WHERE ((a <> ';'::text))".into();
    assert!(definition_sql(&*d, &definition("p", vec![t], vec![])).is_ok());
}

#[test]
fn other_dialects_refuse_what_they_cannot_write_by_name() {
    let mut checks_only = table("member", "Member", vec![id(), col("a", ColumnType::Text, false)]);
    checks_only.keys.checks = constrained_table().keys.checks[..1].to_vec();
    for dialect in ["mysql", "sqlite"] {
        let d = dialect_by_name(dialect).unwrap();
        let err = definition_sql(&*d, &definition("p", vec![checks_only.clone()], vec![])).unwrap_err();
        assert!(matches!(err, SqlError::Unsupported { .. }), "{dialect}: {err}");
    }
    let cockroach = dialect_by_name("cockroachdb").unwrap();
    let mut deferred = checks_only.clone();
    deferred.keys.unique.push(KeyConstraint {
        name: "member_a_key".into(),
        columns: vec!["a".into()],
        nulls_not_distinct: false,
        deferrable: Some(Deferrable::InitiallyImmediate),
    });
    let err = definition_sql(&*cockroach, &definition("p", vec![deferred], vec![])).unwrap_err();
    assert!(err.to_string().contains("DEFERRABLE") && err.to_string().contains("member"), "{err}");
    assert!(definition_sql(&*cockroach, &definition("p", vec![checks_only], vec![])).is_ok());
    assert!(definition_sql(
        &*dialect_by_name("citus").unwrap(),
        &definition("p", vec![constrained_table()], vec![])
    )
    .is_ok());
}
