//! A Serverpod server package on Serverpod's SQLite dialect (`database: filePath:` in
//! `config/development.yaml`), end to end through the binary: the dialect is chosen from the
//! config, `apply` uses the configured file, a rebuild of a referenced table keeps the
//! referencing rows, and `serverpod_sqlite_schema` describes the schema afterwards.

mod common;

use common::{block_on, Project, LATER, V1};
use sqlx::{Connection, Row, SqliteConnection};

fn query(db: &std::path::Path, sql: &str) -> Vec<String> {
    block_on(async {
        let mut conn = SqliteConnection::connect(&format!("sqlite:{}", db.display())).await.unwrap();
        let rows = sqlx::query(sql).fetch_all(&mut conn).await.unwrap();
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| r.get::<Option<String>, _>(i).unwrap_or("NULL".into()))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    })
}

fn exec(db: &std::path::Path, sql: &str) {
    block_on(async {
        let mut conn = SqliteConnection::connect(&format!("sqlite:{}", db.display())).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    });
}

#[test]
fn serverpod_sqlite_project_generates_applies_and_rebuilds_keeping_children() {
    let p = Project::fixture("serverpod_sqlite/library");
    p.run_at(V1, &["create-migration"]).code(0);
    let sql = std::fs::read_to_string(p.dir.join("migrations").join(V1).join("definition.sql")).unwrap();
    assert!(sql.contains("CREATE TABLE \"author\" (\n    \"id\" INTEGER PRIMARY KEY,\n"), "{sql}");
    assert!(sql.contains("\"profile\" TEXT\n) STRICT;"), "{sql}");

    p.run(&["apply"]).code(0);
    let db = p.dir.join("library_dev.db");
    assert!(db.is_file(), "apply uses the file named by config/development.yaml");
    exec(
        &db,
        "INSERT INTO author (name) VALUES ('Ann'); INSERT INTO book (title, \"authorId\") VALUES ('B', 1);",
    );

    // Making `name` nullable rebuilds `author`, which `book` references with ON DELETE CASCADE.
    let model = p.dir.join("lib/src/models/author.spy.yaml");
    let text = std::fs::read_to_string(&model).unwrap().replace("name: String\n", "name: String?\n");
    std::fs::write(&model, text).unwrap();
    p.run_at(LATER, &["create-migration", "--force"]).code(0);
    let later = std::fs::read_dir(p.dir.join("migrations"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().into_string().unwrap())
        .find(|n| n != V1 && n.starts_with("2026"))
        .unwrap();
    let migration =
        std::fs::read_to_string(p.dir.join("migrations").join(&later).join("migration.sql")).unwrap();
    assert!(migration.contains("CREATE TABLE \"new_author\""), "{migration}");
    p.run(&["apply"]).code(0);

    assert_eq!(query(&db, "SELECT title FROM book"), ["B"], "the rebuild must not cascade to book");
    assert_eq!(
        query(&db, "SELECT table_name, column_name, column_type FROM serverpod_sqlite_schema ORDER BY rowid"),
        ["author|born|timestampWithoutTimeZone", "author|active|boolean", "author|profile|json"]
    );
    assert_eq!(
        query(&db, "SELECT version FROM serverpod_migrations WHERE module = 'library'"),
        std::slice::from_ref(&later)
    );

    // Introspection reads the database back with no false drift.
    let url = format!("db:sqlite:{}", db.display());
    p.run(&["diff", "--from", "latest", "--to", &url]).code(0).stderr_says("In sync");

    // A dropped index is drift; the repair file is written in Serverpod's dialect and fixes it.
    exec(&db, "DROP INDEX author_name_idx;");
    p.run(&["diff", "--from", "latest", "--to", &url]).code(2);
    p.run_at("20260103000000001", &["create-repair-migration", "--force"]).code(0);
    let repair_dir = p.dir.join("repair-migration");
    let repair = std::fs::read_dir(&repair_dir).unwrap().next().unwrap().unwrap().path();
    let repair_sql = std::fs::read_to_string(&repair).unwrap();
    assert!(
        repair_sql.contains("CREATE UNIQUE INDEX \"author_name_idx\" ON \"author\" (\"name\");"),
        "{repair_sql}"
    );
    assert!(repair_sql.contains("DROP TABLE IF EXISTS \"serverpod_sqlite_schema\";"), "{repair_sql}");
    p.run(&["apply", "--repair"]).code(0);
    p.run(&["diff", "--from", "latest", "--to", &url]).code(0).stderr_says("In sync");

    // `--mode production` reads `database: filePath:` of config/production.yaml as SQLite.
    p.run(&["apply", "--mode", "production"]).code(0);
    assert_eq!(
        query(&p.dir.join("library.db"), "SELECT version FROM serverpod_migrations WHERE module = 'library'"),
        [later]
    );
}
