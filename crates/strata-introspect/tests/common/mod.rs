//! Builders and database helpers shared by the introspection tests.
#![allow(dead_code)]

use sqlx::{Connection, PgConnection, SqliteConnection};
use strata_introspect::{introspect_postgres, introspect_sqlite, IntrospectOptions, Introspection};
use strata_schema::*;

/// A NOT NULL text column, as the model builder writes it (field name = column name).
pub fn col(name: &str, t: ColumnType) -> ColumnDefinition {
    ColumnDefinition {
        name: name.into(),
        field_name: Some(name.into()),
        column_type: t,
        is_nullable: false,
        column_default: None,
        dart_type: Some("String".into()),
        vector_dimension: None,
        native_type: None,
        identity: None,
        identity_options: None,
        generated: None,
    }
}

pub fn nullable(mut c: ColumnDefinition) -> ColumnDefinition {
    c.is_nullable = true;
    c
}

pub fn with_default(mut c: ColumnDefinition, d: &str) -> ColumnDefinition {
    c.column_default = Some(d.into());
    c
}

/// `"id" bigserial PRIMARY KEY`.
pub fn id() -> ColumnDefinition {
    with_default(col("id", ColumnType::Bigint), "serial")
}

pub fn table(name: &str, columns: Vec<ColumnDefinition>) -> TableDefinition {
    TableDefinition {
        name: name.into(),
        dart_name: Some(format!("Class{name}")),
        module: Some("proj".into()),
        schema: "public".into(),
        table_space: None,
        columns,
        foreign_keys: Vec::new(),
        indexes: Vec::new(),
        managed: Some(true),
        keys: Default::default(),
        partition_of: None,
        layout: Default::default(),
    }
}

pub fn index(name: &str, columns: &[&str], method: &str, unique: bool) -> IndexDefinition {
    IndexDefinition {
        index_name: name.into(),
        table_space: None,
        elements: columns.iter().map(|c| IndexElement::column(*c)).collect(),
        index_type: method.into(),
        is_unique: unique,
        is_primary: false,
        nulls_distinct: None,
        predicate: None,
        gin_operator_class: None,
        vector_distance_function: None,
        vector_column_type: None,
        parameters: None,
        include: Vec::new(),
    }
}

pub fn fk(
    name: &str,
    column: &str,
    parent: &str,
    on_delete: ForeignKeyAction,
    on_update: ForeignKeyAction,
) -> ForeignKeyDefinition {
    ForeignKeyDefinition {
        constraint_name: name.into(),
        columns: vec![column.into()],
        reference_table: parent.into(),
        reference_table_schema: "public".into(),
        reference_columns: vec!["id".into()],
        on_update: Some(on_update),
        on_delete: Some(on_delete),
        match_type: None,
        deferrable: None,
    }
}

pub fn definition(tables: Vec<TableDefinition>) -> DatabaseDefinition {
    let mut d = DatabaseDefinition::empty("proj");
    d.tables = tables;
    d
}

/// Runs a future on a fresh runtime (tests are sync so the scratch databases' own runtimes
/// never nest).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

/// Executes a multi-statement script on PostgreSQL.
pub fn pg_exec(url: &str, sql: &str) {
    block_on(async {
        let mut c = PgConnection::connect(url).await.expect("connect");
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap_or_else(|e| panic!("{e}\n--- SQL ---\n{sql}"));
        c.close().await.ok();
    })
}

/// Like [`pg_exec`], but returns PostgreSQL's error instead of panicking.
pub fn try_pg_exec(url: &str, sql: &str) -> Result<(), sqlx::Error> {
    block_on(async {
        let mut c = PgConnection::connect(url).await?;
        let r = sqlx::raw_sql(sql).execute(&mut c).await.map(|_| ());
        c.close().await.ok();
        r
    })
}

pub fn pg_introspect(url: &str, opts: &IntrospectOptions) -> Introspection {
    block_on(async {
        let mut c = PgConnection::connect(url).await.expect("connect");
        let r = introspect_postgres(&mut c, opts).await.expect("introspect");
        c.close().await.ok();
        r
    })
}

pub fn sqlite_exec(url: &str, sql: &str) {
    block_on(async {
        let mut c = SqliteConnection::connect(url).await.expect("connect");
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap_or_else(|e| panic!("{e}\n--- SQL ---\n{sql}"));
        c.close().await.ok();
    })
}

pub fn sqlite_introspect(url: &str) -> Introspection {
    block_on(async {
        let mut c = SqliteConnection::connect(url).await.expect("connect");
        let r = introspect_sqlite(&mut c, &IntrospectOptions::default()).await.expect("introspect");
        c.close().await.ok();
        r
    })
}

/// Asserts that diffing the live schema against `target` yields nothing to do, showing the
/// drift report and the actions otherwise.
pub fn assert_no_drift(live: &Introspection, target: &DatabaseDefinition, what: &str) {
    let comparable = strata_introspect::comparable_live(&live.definition, target);
    let migration = strata_diff::generate_migration(&comparable, target);
    if !migration.actions.is_empty() {
        let report = strata_introspect::drift::drift_report(&live.definition, target, "the database", what);
        panic!(
            "false drift for {what}:\n{report}\n--- actions ---\n{}\n--- live ---\n{}",
            migration_to_json(&migration),
            definition_to_json(&live.definition)
        );
    }
}

/// Executes a multi-statement script on MySQL/MariaDB.
pub fn mysql_exec(url: &str, sql: &str) {
    block_on(async {
        let mut c = sqlx::MySqlConnection::connect(url).await.expect("connect");
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap_or_else(|e| panic!("{e}\n--- SQL ---\n{sql}"));
        c.close().await.ok();
    })
}

pub fn mysql_introspect(url: &str) -> Introspection {
    block_on(async {
        let mut c = sqlx::MySqlConnection::connect(url).await.expect("connect");
        let r = strata_introspect::introspect_mysql(&mut c, &IntrospectOptions::default())
            .await
            .expect("introspect");
        c.close().await.ok();
        r
    })
}

/// Every golden case's `definition.json` under an `expected_dir` directory (`expected`,
/// `expected-sqlite`, `expected-mysql`), sorted.
pub fn golden_definition_files(expected_dir: &str) -> Vec<std::path::PathBuf> {
    fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else if p.file_name().is_some_and(|n| n == "definition.json") {
                out.push(p);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.retain(|f| f.components().any(|c| c.as_os_str() == expected_dir));
    files.sort();
    files
}
