//! MySQL/MariaDB output: goldens in `fixtures/sql/mysql/`, each file executed statement by
//! statement on a scratch database of the real MariaDB, the reverse type and default mapping
//! checked against what MariaDB reports, and one test per refusal.

mod common;

use common::*;
use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};
use sqlx::{Connection, MySqlConnection, Row};
use strata_schema::*;
use strata_sql::mysql_types::*;
use strata_sql::*;

const MY: Mysql = Mysql;

/// Runs every statement of `sql` on a fresh scratch database and returns the connection.
async fn build(db: &strata_testdb::MysqlScratch, sql: &str) -> MySqlConnection {
    let mut conn = MySqlConnection::connect(&db.url).await.unwrap();
    run(&mut conn, sql).await;
    conn
}

/// Runs `sql` statement by statement, split where the MySQL tokenizer finds a `;` (never
/// inside a literal or comment). Statements go to the server exactly as the file has them.
async fn run(conn: &mut MySqlConnection, sql: &str) {
    let mut rest = sql;
    while let Some(end) = next_statement_end(rest) {
        let text = rest[..end].trim().to_string();
        rest = &rest[end + 1..];
        if let Err(e) = sqlx::raw_sql(&text).execute(&mut *conn).await {
            panic!("statement fails on MariaDB: {e}\n{text}");
        }
    }
    assert!(
        rest.lines().all(|l| l.trim().is_empty() || l.starts_with("--")),
        "text after the last `;`: {rest}"
    );
}

/// Byte offset of the first `;` token of `sql` (outside literals and comments).
fn next_statement_end(sql: &str) -> Option<usize> {
    let tokens = Tokenizer::new(&MySqlDialect {}, sql).tokenize_with_location().unwrap();
    let semicolon = tokens.iter().find(|t| t.token == Token::SemiColon)?;
    let (line, column) = (semicolon.span.start.line as usize, semicolon.span.start.column as usize);
    let line_start: usize = sql.split_inclusive('\n').take(line - 1).map(str::len).sum();
    Some(line_start + sql[line_start..].chars().take(column - 1).map(char::len_utf8).sum::<usize>())
}

/// A text value of a `utf8mb4_bin` column: the binary collation makes the server flag it as
/// binary, so sqlx hands it over as bytes.
fn utf8(row: &sqlx::mysql::MySqlRow, i: usize) -> String {
    String::from_utf8(row.get::<Vec<u8>, _>(i)).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn everything() -> TableDefinition {
    let mut t = table(
        "everything",
        "Everything",
        vec![
            id(),
            col_default("name", ColumnType::Text, false, "'it''s'"),
            col_default("path", ColumnType::Text, true, "'C:\\dir\\'"),
            col_default("count", ColumnType::Bigint, false, "-5"),
            col_default("small", ColumnType::Integer, true, "10"),
            col_default("flag", ColumnType::Boolean, false, "true"),
            col_default("ratio", ColumnType::DoublePrecision, true, "10.5"),
            col_default("createdAt", ColumnType::TimestampWithoutTimeZone, false, "now"),
            col_default("fixedAt", ColumnType::TimestampWithoutTimeZone, true, "2024-05-24T22:00:00.000Z"),
            col("data", ColumnType::Bytea, true),
            col_default("uid", ColumnType::Uuid, false, "random"),
            col_default("uid7", ColumnType::Uuid, true, "random_v7"),
            col_default("fixedUid", ColumnType::Uuid, true, "'550e8400-e29b-41d4-a716-446655440000'"),
            col("doc", ColumnType::Json, true),
            col("bin", ColumnType::Jsonb, true),
            ColumnDefinition {
                native_type: Some("varchar(20)".into()),
                identity: None,
                generated: None,
                ..col("code", ColumnType::Unknown, true)
            },
        ],
    );
    t.indexes = vec![
        index("everything_name_unique", &["name"], true),
        index("everything_name_count", &["name", "count"], false),
    ];
    t
}

fn child() -> TableDefinition {
    TableDefinition {
        foreign_keys: vec![ForeignKeyDefinition {
            on_delete: Some(ForeignKeyAction::Cascade),
            ..fk("child_fk_0", "parentId", "everything")
        }],
        ..table("child", "Child", vec![id(), col("parentId", ColumnType::Bigint, false)])
    }
}

#[test]
fn definition_executes_and_every_column_reads_back_as_written() {
    let def =
        definition("project", vec![everything(), child()], vec![MigrationVersion::project("project", "1")]);
    let sql = definition_sql(&MY, &def).unwrap();
    assert_golden("mysql/definition.sql", &sql);
    assert!(!sql.contains("BEGIN;") && !sql.contains("COMMIT;"), "{sql}");
    assert!(!sql.contains("serverpod_migrations"), "MySQL files keep no Serverpod bookkeeping:\n{sql}");
    rt().block_on(async {
        let db = strata_testdb::MysqlScratch::new("mysql_types");
        let mut conn = build(&db, &sql).await;
        let rows = sqlx::query(
            "SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.COLLATION_NAME, c.COLUMN_DEFAULT, c.EXTRA,
                    EXISTS(SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k
                           WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
                             AND k.CHECK_CLAUSE = CONCAT('json_valid(`', c.COLUMN_NAME, '`)')) AS json_check
             FROM information_schema.COLUMNS c
             WHERE c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME = 'everything' ORDER BY c.ORDINAL_POSITION",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let table = everything();
        assert_eq!(rows.len(), table.columns.len());
        for (row, column) in rows.iter().zip(&table.columns) {
            let text = |i: usize| -> Option<String> {
                row.try_get::<Option<String>, _>(i).unwrap_or_else(|_| {
                    row.get::<Option<Vec<u8>>, _>(i).map(|b| String::from_utf8(b).unwrap())
                })
            };
            let (data_type, column_type, collation) = (text(1).unwrap(), text(2).unwrap(), text(3));
            let facts = MysqlColumnFacts {
                data_type: &data_type,
                column_type: &column_type,
                collation: collation.as_deref(),
                has_json_check: row.get::<i64, _>(6) == 1,
            };
            let mapped = mysql_type_to_column_type(&facts);
            assert_eq!(
                mapped.column_type,
                mysql_read_back_type(column.column_type),
                "{}: {column_type}",
                column.name
            );
            assert_eq!(mapped.native_type, column.native_type, "{}", column.name);
            let default = mysql_default_to_abstract(
                text(4).as_deref(),
                &text(5).unwrap_or_default(),
                column.column_type,
            );
            let expected = match &column.column_default {
                None => MysqlReadDefault::Absent,
                Some(d) => MysqlReadDefault::Abstract(d.clone()),
            };
            assert_eq!(default, expected, "{}: {:?}", column.name, text(4));
        }
        // Random defaults produce version 4 and 7 UUIDs; the backslash default stays literal.
        sqlx::raw_sql("INSERT INTO `everything` () VALUES ()").execute(&mut conn).await.unwrap();
        let row = sqlx::query("SELECT `uid`, `uid7`, `path`, `name` FROM `everything`")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let (v4, v7) = (utf8(&row, 0), utf8(&row, 1));
        assert_eq!((v4.len(), &v4[14..15], v7.len(), &v7[14..15]), (36, "4", 36, "7"), "{v4} {v7}");
        assert_eq!(utf8(&row, 2), "C:\\dir\\");
        assert_eq!(utf8(&row, 3), "it's");
        let _ = conn.close().await;
    });
}

#[test]
fn text_index_prefixes_only_where_a_prefix_keeps_the_index_correct() {
    let sql = definition_sql(&MY, &definition("project", vec![everything()], vec![])).unwrap();
    assert!(sql.contains("CREATE UNIQUE INDEX `everything_name_unique` ON `everything` (`name`);"), "{sql}");
    assert!(
        sql.contains("CREATE INDEX `everything_name_count` ON `everything` (`name`(255), `count`);"),
        "{sql}"
    );
}

#[test]
fn column_changes_are_one_modify_column_and_execute() {
    let source_table = everything();
    let mut target_table = everything();
    let flag = target_table.columns.iter_mut().find(|c| c.name == "small").unwrap();
    flag.column_type = ColumnType::Bigint;
    flag.is_nullable = false;
    flag.column_default = Some("7".into());
    target_table.indexes.retain(|i| i.index_name != "everything_name_count");
    target_table.columns.retain(|c| c.name != "data");
    let source = definition("project", vec![source_table, child()], vec![]);
    let target = definition(
        "project",
        vec![target_table, TableDefinition { foreign_keys: vec![], ..child() }],
        vec![],
    );
    let mut change = alter("everything");
    change.delete_indexes = vec!["everything_name_count".into()];
    change.delete_columns = vec!["data".into()];
    change.modify_columns = vec![ColumnMigration {
        new_type: Some(ColumnType::Bigint),
        remove_nullable: true,
        change_default: true,
        new_default: Some("7".into()),
        ..modify("small")
    }];
    let mut unlink = alter("child");
    unlink.delete_foreign_keys = vec!["child_fk_0".into()];
    let m = migration(vec![MigrationAction::AlterTable(change), MigrationAction::AlterTable(unlink)]);
    let input = MigrationSqlInput {
        migration: &m,
        source: &source,
        target: &target,
        installed_modules: &[],
        removed_modules: &[],
    };
    let sql = migration_sql(&MY, &input).unwrap();
    assert_golden("mysql/alter_columns.sql", &sql);
    assert!(
        sql.contains("ALTER TABLE `everything` MODIFY COLUMN `small` BIGINT NOT NULL DEFAULT 7;"),
        "{sql}"
    );
    assert!(sql.contains("DROP INDEX `everything_name_count` ON `everything`;"), "{sql}");
    assert!(
        sql.contains("ALTER TABLE `child` DROP FOREIGN KEY `child_fk_0`, DROP INDEX `child_fk_0`;"),
        "{sql}"
    );
    rt().block_on(async {
        let db = strata_testdb::MysqlScratch::new("mysql_alter");
        let mut conn = build(&db, &definition_sql(&MY, &source).unwrap()).await;
        run(&mut conn, &sql).await;
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'child'
             AND INDEX_NAME = 'child_fk_0'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(left, 0, "the index InnoDB made for the foreign key must go with it");
        let _ = conn.close().await;
    });
}

#[test]
fn identifiers_and_literals_cannot_break_out() {
    let hostile = table(
        "t`x",
        "T",
        vec![id(), col_default("a`b", ColumnType::Text, true, "'x\\''); DROP TABLE t; --'")],
    );
    let sql = definition_sql(&MY, &definition("project", vec![hostile], vec![])).unwrap();
    assert!(sql.contains("CREATE TABLE `t``x` ("), "{sql}");
    assert!(sql.contains("`a``b` LONGTEXT DEFAULT ('x\\\\''); DROP TABLE t; --')"), "{sql}");
    rt().block_on(async {
        let db = strata_testdb::MysqlScratch::new("mysql_hostile");
        let mut conn = build(&db, &sql).await;
        sqlx::raw_sql("INSERT INTO `t``x` () VALUES ()").execute(&mut conn).await.unwrap();
        let row = sqlx::query("SELECT `a``b` FROM `t``x`").fetch_one(&mut conn).await.unwrap();
        assert_eq!(utf8(&row, 0), "x\\'); DROP TABLE t; --");
        let _ = conn.close().await;
    });
}

/// Every construct MySQL cannot express is an error naming the object, never a silent drop.
#[test]
fn refusals_name_the_object() {
    let def_with = |t: TableDefinition| definition("project", vec![t], vec![]);
    let err = |t: TableDefinition| definition_sql(&MY, &def_with(t)).unwrap_err().to_string();
    let with_index = |i: IndexDefinition| TableDefinition {
        indexes: vec![i],
        ..table("t", "T", vec![id(), col("a", ColumnType::Text, true)])
    };

    let e = err(table("t", "T", vec![id(), vector_col("v", ColumnType::Vector, 3)]));
    assert!(e.contains("column \"v\" of table \"t\"") && e.contains("pgvector"), "{e}");
    let e = err(table("t", "T", vec![id(), col("g", ColumnType::Geography, true)]));
    assert!(e.contains("column \"g\"") && e.contains("PostGIS"), "{e}");
    for method in ["gin", "gist", "hnsw", "ivfflat", "hash"] {
        let e = err(with_index(IndexDefinition { index_type: method.into(), ..index("t_a", &["a"], false) }));
        assert!(e.contains("index \"t_a\" on table \"t\"") && e.contains(method), "{e}");
    }
    let e = err(with_index(IndexDefinition { nulls_distinct: Some(false), ..index("t_a", &["a"], true) }));
    assert!(e.contains("NULLS NOT DISTINCT"), "{e}");
    let e = err(with_index(IndexDefinition {
        predicate: Some("a IS NULL".into()),
        ..index("t_a", &["a"], false)
    }));
    assert!(e.contains("partial index"), "{e}");
    let e = err(with_index(IndexDefinition {
        elements: vec![IndexElement::new(IndexElementType::Expression, "lower(a)")],
        ..index("t_a", &[], false)
    }));
    assert!(e.contains("expression"), "{e}");
    let e = err(with_index(index("t_a", &["missing"], false)));
    assert!(e.contains("column \"missing\" of table \"t\""), "{e}");
    let e = err(table("t", "T", vec![id(), col_default("seq", ColumnType::Bigint, false, "serial")]));
    assert!(e.contains("column \"seq\"") && e.contains("AUTO_INCREMENT"), "{e}");
    let e = err(table("t", "T", vec![ColumnDefinition { is_nullable: true, ..id() }]));
    assert!(e.contains("non-nullable"), "{e}");
    let e = err(table("t", "T", vec![id(), col("u", ColumnType::Unknown, true)]));
    assert!(e.contains("column \"u\""), "{e}");
    let e = err(table(
        "t",
        "T",
        vec![
            id(),
            ColumnDefinition {
                native_type: Some("int; DROP TABLE x".into()),
                identity: None,
                generated: None,
                ..col("n", ColumnType::Unknown, true)
            },
        ],
    ));
    assert!(e.contains("column \"n\"") && e.contains("';'"), "{e}");

    let parent = table("p", "P", vec![id()]);
    for bad in [
        ForeignKeyDefinition { deferrable: Some(Deferrable::InitiallyDeferred), ..fk("c_fk_0", "pid", "p") },
        ForeignKeyDefinition { on_delete: Some(ForeignKeyAction::SetDefault), ..fk("c_fk_0", "pid", "p") },
    ] {
        let c = TableDefinition {
            foreign_keys: vec![bad],
            ..table("c", "C", vec![id(), col("pid", ColumnType::Bigint, true)])
        };
        let e = definition_sql(&MY, &definition("project", vec![parent.clone(), c], vec![]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("foreign key \"c_fk_0\" of table \"c\""), "{e}");
    }
}

#[test]
fn dialect_names_and_capabilities() {
    for name in ["mysql", "MariaDB", "mysql8"] {
        assert_eq!(dialect_by_name(name).unwrap().name(), "mysql", "{name}");
    }
    assert!(!MY.supports_transactional_ddl());
    assert!(MY.version_bookkeeping().is_none());
    assert_eq!(MY.quote_identifier("a`b"), "`a``b`");
}

/// Definitions read from files may carry MySQL native types (introspected `enum('a','b')`):
/// the early check accepts them, and still refuses anything that is not a type name.
#[test]
fn definition_files_accept_mysql_native_types_only() {
    let with_native = |native: &str| {
        let column =
            ColumnDefinition { native_type: Some(native.into()), ..col("c", ColumnType::Unknown, true) };
        definition("project", vec![table("t", "T", vec![id(), column])], vec![])
    };
    assert!(check_definition_expressions(&with_native("enum('a','b')")).is_ok());
    assert!(check_definition_expressions(&with_native("character varying(20)")).is_ok());
    let e = check_definition_expressions(&with_native("int; DROP TABLE x")).unwrap_err().to_string();
    assert!(e.contains("nativeType"), "{e}");
}
