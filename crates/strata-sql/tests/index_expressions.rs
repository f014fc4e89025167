//! Index expression elements and predicates are SQL text from definitions anyone can edit:
//! every emitter writes them only when they are exactly one expression. Crafted text is refused
//! by every entry point (definition.sql, migration.sql, a single CREATE INDEX, the located
//! load-time check); legitimate expressions render unchanged; and on the real server nothing a
//! crafted element tries to run gets through.

mod common;

use common::*;
use sqlx::{Connection, PgConnection, Row};
use strata_schema::*;
use strata_sql::*;
use strata_testdb::PgScratch;

/// The element from the report: it closes the element list and starts a statement of its own.
const CRAFTED: &str = "x); CREATE TABLE pwned (a int); --";

fn expression(definition: &str) -> IndexElement {
    IndexElement::new(IndexElementType::Expression, definition)
}

fn expression_index(name: &str, element: &str) -> IndexDefinition {
    IndexDefinition { elements: vec![expression(element)], ..index(name, &[], false) }
}

fn users(indexes: Vec<IndexDefinition>) -> TableDefinition {
    TableDefinition {
        indexes,
        ..table(
            "users",
            "User",
            vec![id(), col("email", ColumnType::Text, false), col("deletedAt", ColumnType::Text, true)],
        )
    }
}

fn assert_refused(result: Result<String, SqlError>, part: IndexPart, text: &str) {
    match result {
        Err(SqlError::InvalidIndexExpression { object, part: p, text: t, .. }) => {
            assert_eq!(object, SqlObject::index("users", "users_bad_idx"));
            assert_eq!(p, part);
            assert_eq!(t, text);
        }
        other => panic!("{text:?} was not refused as an index expression: {other:?}"),
    }
}

#[test]
fn crafted_element_is_refused_by_every_emitter_and_dialect() {
    let bad = expression_index("users_bad_idx", CRAFTED);
    let def = definition("project", vec![users(vec![bad.clone()])], vec![]);
    for dialect in [&Postgres as &dyn Dialect, &Sqlite] {
        assert_refused(definition_sql(dialect, &def), IndexPart::Element(0), CRAFTED);
        assert_refused(
            dialect.create_index_sql(&named("users"), &bad, false),
            IndexPart::Element(0),
            CRAFTED,
        );

        let mut change = alter("users");
        change.add_indexes.push(bad.clone());
        let m = migration(vec![MigrationAction::AlterTable(change)]);
        let source = definition("project", vec![users(vec![])], vec![]);
        let input = MigrationSqlInput {
            migration: &m,
            source: &source,
            target: &def,
            installed_modules: &[],
            removed_modules: &[],
        };
        assert_refused(migration_sql(dialect, &input), IndexPart::Element(0), CRAFTED);
        assert_eq!(unsupported_objects(dialect, &def).len(), 1, "{}", dialect.name());
    }
}

#[test]
fn the_error_names_table_index_element_and_what_to_do() {
    let def = definition("project", vec![users(vec![expression_index("users_bad_idx", CRAFTED)])], vec![]);
    let message = definition_sql(&Postgres, &def).unwrap_err().to_string();
    for needle in ["index \"users_bad_idx\" on table \"users\"", "element 0", CRAFTED, "fix or remove it"] {
        assert!(message.contains(needle), "{needle:?} missing from: {message}");
    }
}

#[test]
fn crafted_predicates_and_hiding_tricks_are_refused() {
    let with_predicate = |p: &str| IndexDefinition {
        predicate: Some(p.to_string()),
        ..index("users_bad_idx", &["email"], false)
    };
    let predicate = "true; DROP TABLE users";
    assert_refused(
        PG.create_index_sql(&named("users"), &with_predicate(predicate), false),
        IndexPart::Predicate,
        predicate,
    );
    // Comments would swallow the rest of the one-line statement; a second element smuggled in
    // with a comma, a trailing keyword, an empty text and unbalanced quoting are not one
    // expression either.
    for text in [
        "lower(email) --",
        "lower(email) /* ) */",
        "email, (SELECT 1)",
        "email DESC",
        "",
        "'unterminated",
        "E'\\'') ; CREATE TABLE pwned (a int); SELECT ('",
        "$$x$$); CREATE TABLE pwned (a int); SELECT ($$",
    ] {
        for dialect in [&Postgres as &dyn Dialect, &Sqlite] {
            let result =
                dialect.create_index_sql(&named("users"), &expression_index("users_bad_idx", text), false);
            assert_refused(result, IndexPart::Element(0), text);
        }
    }
}

const PG: Postgres = Postgres;

#[test]
fn legitimate_expressions_render_verbatim() {
    let cases = [
        (
            "lower(\"email\")",
            None,
            r#"CREATE INDEX "users_expr_idx" ON "users" USING btree (lower("email"));"#,
        ),
        ("(email || 'x')", None, r#"CREATE INDEX "users_expr_idx" ON "users" USING btree ((email || 'x'));"#),
        (
            "lower(email)",
            Some("\"deletedAt\" IS NULL"),
            r#"CREATE INDEX "users_expr_idx" ON "users" USING btree (lower(email)) WHERE "deletedAt" IS NULL;"#,
        ),
    ];
    for (element, predicate, expected) in cases {
        let idx = IndexDefinition {
            predicate: predicate.map(str::to_string),
            ..expression_index("users_expr_idx", element)
        };
        let sql = PG.create_index_sql(&named("users"), &idx, false).unwrap();
        assert_eq!(sql, format!("{expected}\n"));
        assert_parses_postgres(&sql);
    }
    let sqlite =
        Sqlite.create_index_sql(&named("users"), &expression_index("users_expr_idx", "lower(email)"), false);
    assert_eq!(sqlite.unwrap(), "CREATE INDEX \"users_expr_idx\" ON \"users\" (lower(email));\n");
}

#[test]
fn the_load_time_check_points_into_the_json_file() {
    let good = expression_index("users_expr_idx", "lower(email)");
    let bad = expression_index("users_bad_idx", CRAFTED);
    let fine = definition("project", vec![users(vec![good.clone()])], vec![]);
    assert_eq!(check_definition_expressions(&fine), Ok(()));

    let crafted = definition("project", vec![migrations_table(), users(vec![good, bad])], vec![]);
    match check_definition_expressions(&crafted) {
        Err(JsonError::Shape { path, message }) => {
            assert_eq!(path, "$.tables[1].indexes[1].elements[0].definition");
            assert!(message.contains("index \"users_bad_idx\" on table \"users\": element 0"), "{message}");
        }
        other => panic!("the crafted element was accepted: {other:?}"),
    }
    let predicate = IndexDefinition {
        predicate: Some("1=1; DROP TABLE users".into()),
        ..index("users_bad_idx", &["email"], false)
    };
    let crafted = definition("project", vec![users(vec![predicate])], vec![]);
    let err = check_definition_expressions(&crafted).unwrap_err();
    assert!(
        matches!(err, JsonError::Shape { ref path, .. } if path == "$.tables[0].indexes[0].predicate"),
        "{err}"
    );
}

/// Whatever the checker accepts, the server runs as one CREATE INDEX: no extra table appears.
#[tokio::test]
async fn nothing_accepted_runs_a_second_statement_on_postgres() {
    let scratch = PgScratch::new("strata_sql_expr");
    let mut conn = PgConnection::connect(&scratch.url).await.unwrap();
    let base = definition("project", vec![users(vec![])], vec![]);
    sqlx::raw_sql(&definition_sql(&Postgres, &base).unwrap()).execute(&mut conn).await.unwrap();
    // Each attack names a real column so that, unchecked, its first statement would succeed.
    let attempts = [
        "email); CREATE TABLE pwned (a int); --",
        "lower(email)",
        "lower(email) -- ); CREATE TABLE pwned (a int); --",
        "email) ; CREATE TABLE pwned (a int); SELECT (E'\\''",
        "E'\\\\' || email",
        "$$x$$) ; CREATE TABLE pwned (a int); SELECT ($$",
        "$a$x$a$ || email",
        "'x'' || email",
        "\"e\"\"mail\") ; CREATE TABLE pwned (a int); SELECT (\"",
    ];
    let mut accepted = 0;
    for (n, text) in attempts.iter().enumerate() {
        let idx = expression_index(&format!("users_try_{n}"), text);
        let Ok(sql) = PG.create_index_sql(&named("users"), &idx, false) else { continue };
        accepted += 1;
        // The statement may fail (no such column, not immutable): that is fine, it is one.
        let _ = sqlx::raw_sql(&sql).execute(&mut conn).await;
    }
    assert!(accepted >= 2, "the legitimate expressions must pass");
    let tables: Vec<String> =
        sqlx::query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(tables, vec!["users".to_string()]);
}
