//! Executes generated PostgreSQL on a scratch database of the real server (strata-testdb): a
//! definition, data, then a migration exercising renames, the fixed DROP DEFAULT + type change,
//! a recreated table whose inbound foreign key is restored, and UUIDv7 defaults.
//! (pgvector is not assumed to be installed, so vector columns are covered by goldens only.)

mod common;

use common::*;
use sqlx::{Connection, PgConnection, Row};
use strata_schema::*;
use strata_sql::*;
use strata_testdb::PgScratch;

async fn run(conn: &mut PgConnection, sql: &str) {
    if let Err(e) = sqlx::raw_sql(sql).execute(&mut *conn).await {
        panic!("executing failed: {e}\n{sql}");
    }
}

async fn strings(conn: &mut PgConnection, sql: &str) -> Vec<String> {
    sqlx::query(sql).fetch_all(&mut *conn).await.unwrap().iter().map(|r| r.get::<String, _>(0)).collect()
}

fn source_tables() -> Vec<TableDefinition> {
    vec![
        TableDefinition {
            indexes: vec![index("parent_name_idx", &["name"], true)],
            ..table(
                "parent",
                "Parent",
                vec![
                    col_default("id", ColumnType::Uuid, false, "random_v7"),
                    col("name", ColumnType::Text, false),
                    col_default("data", ColumnType::Json, true, "'{}'"),
                ],
            )
        },
        TableDefinition {
            foreign_keys: vec![ForeignKeyDefinition {
                on_delete: Some(ForeignKeyAction::Cascade),
                deferrable: Some(Deferrable::InitiallyDeferred),
                ..fk("child_fk_0", "parentId", "parent")
            }],
            ..table(
                "child",
                "Child",
                vec![
                    id(),
                    col("parentId", ColumnType::Uuid, false),
                    col_default("label", ColumnType::Text, false, "'it''s'"),
                    col_default("at", ColumnType::TimestampWithoutTimeZone, false, "now"),
                ],
            )
        },
        table("place", "Place", vec![id(), col("point", ColumnType::Geography, true)]),
        migrations_table(),
    ]
}

#[tokio::test]
async fn definition_and_migration_execute_on_postgres() {
    let scratch = PgScratch::new("strata_sql");
    let mut conn = PgConnection::connect(&scratch.url).await.unwrap();

    let source = definition("project", source_tables(), vec![MigrationVersion::project("project", "v1")]);
    let sql = definition_sql(&Postgres, &source).unwrap();
    run(&mut conn, &sql).await;
    run(&mut conn, "INSERT INTO parent (name, data) VALUES ('a', '{\"k\": 1}'); INSERT INTO child (\"parentId\") SELECT id FROM parent;").await;
    let ids = strings(&mut conn, "SELECT id::text FROM parent").await;
    assert_eq!(ids[0].chars().nth(14), Some('7'), "UUIDv7 default: {}", ids[0]);

    // Target: parent.name renamed to title, data becomes jsonb without default; child gets a
    // column; place is recreated (drop + create) and child keeps its FK to parent; a unique
    // index switches to NULLS NOT DISTINCT.
    let mut target_tables = source_tables();
    target_tables[0] = TableDefinition {
        indexes: vec![IndexDefinition {
            nulls_distinct: Some(false),
            ..index("parent_name_idx", &["title"], true)
        }],
        ..table(
            "parent",
            "Parent",
            vec![
                col_default("id", ColumnType::Uuid, false, "random_v7"),
                col("title", ColumnType::Text, true),
                col("data", ColumnType::Jsonb, true),
            ],
        )
    };
    target_tables[1].columns.push(col_default("score", ColumnType::DoublePrecision, false, "0.5"));
    let place_v2 = table(
        "place",
        "Place",
        vec![id(), col("point", ColumnType::Geography, true), col("name", ColumnType::Text, false)],
    );
    target_tables[2] = place_v2.clone();
    let target = definition("project", target_tables, vec![]);

    let mut parent = alter("parent");
    parent.delete_indexes.push("parent_name_idx".into());
    parent.modify_columns.push(ColumnMigration {
        new_column_name: Some("title".into()),
        add_nullable: true,
        ..modify("name")
    });
    parent.modify_columns.push(ColumnMigration {
        change_default: true,
        new_default: None,
        new_type: Some(ColumnType::Jsonb),
        ..modify("data")
    });
    parent.add_indexes.push(target.tables[0].indexes[0].clone());
    let mut child = alter("child");
    child.add_columns.push(col_default("score", ColumnType::DoublePrecision, false, "0.5"));
    let m = migration(vec![
        MigrationAction::AlterTable(parent),
        MigrationAction::AlterTable(child),
        MigrationAction::DeleteTable("place".into()),
        MigrationAction::CreateTable(place_v2),
    ]);
    let installed = [MigrationVersion::project("project", "v2")];
    let input = MigrationSqlInput {
        migration: &m,
        source: &source,
        target: &target,
        installed_modules: &installed,
        removed_modules: &["gone".to_string()],
    };
    let sql = migration_sql(&Postgres, &input).unwrap();
    assert_parses_postgres(&sql);
    run(&mut conn, &sql).await;

    assert_eq!(strings(&mut conn, "SELECT title || ' ' || (data->>'k') FROM parent").await, ["a 1"]);
    assert_eq!(strings(&mut conn, "SELECT label || ' ' || score::text FROM child").await, ["it's 0.5"]);
    assert_eq!(strings(&mut conn, "SELECT data_type FROM information_schema.columns WHERE table_name = 'parent' AND column_name = 'data'").await, ["jsonb"]);
    assert_eq!(strings(&mut conn, "SELECT version FROM serverpod_migrations").await, ["v2"]);
    // The FK survived (child was never dropped) and is still deferred and cascading.
    assert_eq!(
        strings(&mut conn, "SELECT conname || ' ' || condeferred::text || ' ' || confdeltype::text FROM pg_constraint WHERE contype = 'f'").await,
        ["child_fk_0 true c"]
    );
    // NULLS NOT DISTINCT is in force.
    run(&mut conn, "INSERT INTO parent (title) VALUES (NULL)").await;
    assert!(sqlx::raw_sql("INSERT INTO parent (title) VALUES (NULL)").execute(&mut conn).await.is_err());
    conn.close().await.unwrap();
}

#[tokio::test]
async fn restored_inbound_foreign_key_exists_after_recreate() {
    let scratch = PgScratch::new("strata_sql_restore");
    let mut conn = PgConnection::connect(&scratch.url).await.unwrap();
    let parent = table("parent", "Parent", vec![id(), col("name", ColumnType::Text, false)]);
    let child = TableDefinition {
        foreign_keys: vec![ForeignKeyDefinition {
            on_delete: Some(ForeignKeyAction::SetNull),
            ..fk("child_fk_0", "parentId", "parent")
        }],
        ..table("child", "Child", vec![id(), col("parentId", ColumnType::Bigint, true)])
    };
    let source = serverpod_target(vec![parent.clone(), child.clone()]);
    run(&mut conn, &definition_sql(&Postgres, &source).unwrap()).await;
    let parent_v2 = table(
        "parent",
        "Parent",
        vec![id(), col("name", ColumnType::Text, false), col("code", ColumnType::Text, false)],
    );
    let target = serverpod_target(vec![parent_v2.clone(), child]);
    let m = migration(vec![
        MigrationAction::DeleteTable("parent".into()),
        MigrationAction::CreateTable(parent_v2),
    ]);
    let input = MigrationSqlInput {
        migration: &m,
        source: &source,
        target: &target,
        installed_modules: &[],
        removed_modules: &[],
    };
    run(&mut conn, &migration_sql(&Postgres, &input).unwrap()).await;
    assert_eq!(
        strings(
            &mut conn,
            "SELECT conname || ' ' || confdeltype::text FROM pg_constraint WHERE contype = 'f'"
        )
        .await,
        ["child_fk_0 n"]
    );
    conn.close().await.unwrap();
}
