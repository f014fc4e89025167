//! SQLite (Serverpod's SQLite dialect): one test per construct, each pinning the bytes Serverpod
//! writes (goldens in `fixtures/sql/sqlite/`) and executing them on an in-memory SQLite
//! database (bundled, via rusqlite) with foreign keys off around the transaction, as the runner
//! does.

mod common;

use common::*;
use rusqlite::Connection;
use strata_schema::*;
use strata_sql::*;

const LITE: Sqlite = Sqlite;

fn definition_file(def: &DatabaseDefinition) -> String {
    let sql = definition_sql(&LITE, def).unwrap_or_else(|e| panic!("definition_sql: {e}"));
    assert_parses_sqlite(&sql);
    assert_one_transaction(&sql);
    sql
}

fn migration_file(
    migration: &DatabaseMigration,
    source: &DatabaseDefinition,
    target: &DatabaseDefinition,
) -> Result<String, SqlError> {
    let installed = [MigrationVersion::project("project", "20260102000000000")];
    let input =
        MigrationSqlInput { migration, source, target, installed_modules: &installed, removed_modules: &[] };
    let sql = migration_sql(&LITE, &input)?;
    assert_parses_sqlite(&sql);
    assert_one_transaction(&sql);
    Ok(sql)
}

/// Runs a file the way the runner does: foreign keys off outside the transaction, the
/// foreign-key check before COMMIT.
fn apply(conn: &Connection, sql: &str) -> Result<(), String> {
    conn.execute_batch("PRAGMA foreign_keys = OFF;").unwrap();
    let result = conn.execute_batch(sql).map_err(|e| e.to_string());
    if result.is_err() && !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK;").unwrap();
    }
    conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
    result
}

fn installed() -> Vec<MigrationVersion> {
    vec![MigrationVersion::project("project", "20260101000000000")]
}

/// A Serverpod project definition with `tables` and the bookkeeping table.
fn project(tables: Vec<TableDefinition>) -> DatabaseDefinition {
    DatabaseDefinition { installed_modules: installed(), ..serverpod_target(tables) }
}

fn built(def: &DatabaseDefinition) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    apply(&conn, &definition_file(def)).unwrap();
    conn
}

fn rows(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                r.get_ref(i).map(|v| match v {
                    rusqlite::types::ValueRef::Null => "NULL".to_string(),
                    rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                    rusqlite::types::ValueRef::Real(f) => f.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    rusqlite::types::ValueRef::Blob(b) => format!("blob{}", b.len()),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.join("|"))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn documents() -> TableDefinition {
    table(
        "document",
        "Document",
        vec![
            id(),
            col("title", ColumnType::Text, false),
            col("body", ColumnType::Json, true),
            col("meta", ColumnType::Jsonb, true),
            col("published", ColumnType::Boolean, false),
            col("createdAt", ColumnType::TimestampWithoutTimeZone, false),
        ],
    )
}

#[test]
fn tables_are_strict_and_id_is_the_rowid() {
    let def = project(vec![documents()]);
    let sql = definition_file(&def);
    assert_golden("sqlite/definition.sql", &sql);
    assert!(sql.contains("CREATE TABLE \"document\" (\n    \"id\" INTEGER PRIMARY KEY,\n"), "{sql}");
    assert!(sql.contains("\"createdAt\" INTEGER NOT NULL\n) STRICT;\n"), "{sql}");

    let conn = built(&def);
    conn.execute("INSERT INTO document (title, published, \"createdAt\") VALUES ('a', 1, 1716588000000)", [])
        .unwrap();
    assert_eq!(rows(&conn, "SELECT id, rowid FROM document"), ["1|1"]);
    // STRICT: a value of the wrong storage class is refused instead of stored.
    let wrong =
        conn.execute("INSERT INTO document (title, published, \"createdAt\") VALUES ('b', 1, 'soon')", []);
    assert!(wrong.unwrap_err().to_string().contains("cannot store TEXT value in INTEGER column"));
}

#[test]
fn json_is_text_and_jsonb_is_blob() {
    let sql = definition_file(&project(vec![documents()]));
    assert!(sql.contains("    \"body\" TEXT,\n    \"meta\" BLOB,\n"), "{sql}");
}

#[test]
fn geography_and_vectors_are_text_with_their_type_recorded() {
    let place = table(
        "place",
        "Place",
        vec![
            id(),
            col("location", ColumnType::Geography, false),
            col("route", ColumnType::GeographyLineString, true),
            vector_col("embedding", ColumnType::Vector, 3),
        ],
    );
    let def = project(vec![place]);
    let sql = definition_file(&def);
    assert!(
        sql.contains(
            "    \"location\" TEXT NOT NULL,\n    \"route\" TEXT,\n    \"embedding\" TEXT NOT NULL\n"
        ),
        "{sql}"
    );
    let conn = built(&def);
    assert_eq!(
        rows(&conn, "SELECT * FROM serverpod_sqlite_schema WHERE table_name = 'place' ORDER BY rowid"),
        ["place|location|geography|NULL", "place|route|geographyLineString|NULL", "place|embedding|vector|3"]
    );
}

fn indexed() -> TableDefinition {
    let mut gin = index("doc_meta_gin", &["meta"], false);
    gin.index_type = "gin".into();
    TableDefinition {
        indexes: vec![index("doc_title_idx", &["title", "published"], true), gin],
        ..documents()
    }
}

#[test]
fn indexes_have_no_using_and_gin_is_left_out() {
    let sql = definition_file(&project(vec![indexed()]));
    assert!(
        sql.contains(
            ") STRICT;\n\n-- Indexes\nCREATE UNIQUE INDEX \"doc_title_idx\" ON \"document\" (\"title\", \"published\");\n\n\n"
        ),
        "{sql}"
    );
    assert!(!sql.contains("gin") && !sql.contains("USING"), "{sql}");

    // A migration's CREATE TABLE keeps the (then empty) section, as Serverpod's does.
    let mut only_gin = indexed();
    only_gin.indexes.remove(0);
    let target = project(vec![only_gin.clone()]);
    let sql =
        migration_file(&migration(vec![MigrationAction::CreateTable(only_gin)]), &project(vec![]), &target)
            .unwrap();
    assert!(sql.contains(") STRICT;\n\n-- Indexes\n\n--\n-- STORE COLUMN TYPES"), "{sql}");
}

#[test]
fn nulls_not_distinct_is_an_error_naming_the_index() {
    let mut t = documents();
    let mut unique = index("doc_title_idx", &["title"], true);
    unique.nulls_distinct = Some(false);
    t.indexes.push(unique);
    let err = definition_sql(&LITE, &project(vec![t])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "index \"doc_title_idx\" on table \"document\": NULLS NOT DISTINCT (null values treated as equal) is \
         unsupported by the sqlite dialect"
    );
}

#[test]
fn serial_outside_id_is_an_error_naming_the_column() {
    let t = table("counter", "Counter", vec![id(), col_default("n", ColumnType::Bigint, false, "serial")]);
    let err = definition_sql(&LITE, &project(vec![t])).unwrap_err();
    assert!(err.to_string().starts_with("column \"n\" of table \"counter\": a serial default"), "{err}");
}

#[test]
fn column_types_table_records_only_what_storage_classes_lose() {
    let def = project(vec![documents()]);
    let sql = definition_file(&def);
    assert!(sql.contains(
        "DROP TABLE IF EXISTS \"serverpod_sqlite_schema\";\n\nCREATE TABLE \"serverpod_sqlite_schema\" ("
    ));
    let conn = built(&def);
    assert_eq!(
        rows(&conn, "SELECT * FROM serverpod_sqlite_schema ORDER BY rowid"),
        [
            "document|body|json|NULL",
            "document|meta|jsonb|NULL",
            "document|published|boolean|NULL",
            "document|createdAt|timestampWithoutTimeZone|NULL",
            "serverpod_migrations|timestamp|timestampWithoutTimeZone|NULL",
        ]
    );
    assert_eq!(
        rows(&conn, "SELECT module, version FROM serverpod_migrations"),
        ["project|20260101000000000"]
    );
}

#[test]
fn defaults_use_serverpod_forms_and_work() {
    let t = table(
        "defaults",
        "Defaults",
        vec![
            col_default("id", ColumnType::Uuid, false, "random_v7"),
            col_default("flag", ColumnType::Boolean, false, "true"),
            col_default("at", ColumnType::TimestampWithoutTimeZone, false, "now"),
            col_default("fixed", ColumnType::TimestampWithoutTimeZone, false, "2024-05-24T22:00:00.000Z"),
            col_default("token", ColumnType::Uuid, false, "random"),
            col_default("known", ColumnType::Uuid, false, "'550e8400-e29b-41d4-a716-446655440000'"),
            col_default("name", ColumnType::Text, false, "'it''s'"),
            col_default("ratio", ColumnType::DoublePrecision, false, "10.5"),
        ],
    );
    let def = project(vec![t]);
    let sql = definition_file(&def);
    assert_golden("sqlite/defaults.sql", &sql);
    for expected in [
        "\"id\" BLOB PRIMARY KEY DEFAULT (unhex(printf('%012x', CAST(unixepoch('now', 'subsecond') * 1000 AS INTEGER))",
        "\"flag\" INTEGER NOT NULL DEFAULT (1),",
        "\"at\" INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsecond') * 1000 AS INTEGER)),",
        "\"fixed\" INTEGER NOT NULL DEFAULT (1716588000000),",
        "\"known\" BLOB NOT NULL DEFAULT (X'550e8400e29b41d4a716446655440000'),",
        "\"name\" TEXT NOT NULL DEFAULT ('it''s'),",
    ] {
        assert!(sql.contains(expected), "missing {expected}\n{sql}");
    }
    let conn = built(&def);
    conn.execute("INSERT INTO defaults DEFAULT VALUES", []).unwrap();
    let got = rows(
        &conn,
        "SELECT length(id), substr(hex(id), 13, 1), flag, typeof(at), fixed, length(token), \
         substr(hex(token), 13, 1), hex(known), name, ratio FROM defaults",
    );
    assert_eq!(got, ["16|7|1|integer|1716588000000|16|4|550E8400E29B41D4A716446655440000|it's|10.5"]);
}

fn seeded(def: &DatabaseDefinition) -> Connection {
    let conn = built(def);
    conn.execute_batch(
        "INSERT INTO document (title, body, meta, published, \"createdAt\") VALUES ('a', '{\"k\": 1}', NULL, 1, 5);",
    )
    .unwrap();
    conn
}

#[test]
fn json_to_jsonb_change_rebuilds_and_converts_documents() {
    let source = project(vec![documents()]);
    let mut changed = documents();
    changed.columns[2].column_type = ColumnType::Jsonb;
    let target = project(vec![changed]);
    let mut change = alter("document");
    change.modify_columns.push(ColumnMigration { new_type: Some(ColumnType::Jsonb), ..modify("body") });
    let sql =
        migration_file(&migration(vec![MigrationAction::AlterTable(change)]), &source, &target).unwrap();
    assert_golden("sqlite/rebuild_json_to_jsonb.sql", &sql);
    assert!(sql.contains(
        "INSERT INTO \"new_document\" (\"id\", \"title\", \"body\", \"meta\", \"published\", \"createdAt\") \
         SELECT \"id\", \"title\", jsonb(\"body\"), \"meta\", \"published\", \"createdAt\" FROM \"document\";\n\
         DROP TABLE \"document\";\nALTER TABLE \"new_document\" RENAME TO \"document\";\n"
    ));
    let conn = seeded(&source);
    apply(&conn, &sql).unwrap();
    assert_eq!(rows(&conn, "SELECT title, typeof(body), json(body) FROM document"), ["a|blob|{\"k\":1}"]);
    assert_eq!(
        rows(&conn, "SELECT column_type FROM serverpod_sqlite_schema WHERE column_name = 'body'"),
        ["jsonb"]
    );
}

#[test]
fn nullability_and_default_changes_rebuild_keeping_rows_and_renames() {
    let source = project(vec![documents()]);
    let mut changed = documents();
    changed.columns[1].name = "heading".into();
    changed.columns[1].is_nullable = true;
    changed.columns[4].column_default = Some("false".into());
    let target = project(vec![changed]);
    let mut change = alter("document");
    change.modify_columns.push(ColumnMigration {
        new_column_name: Some("heading".into()),
        add_nullable: true,
        ..modify("title")
    });
    change.modify_columns.push(ColumnMigration {
        change_default: true,
        new_default: Some("false".into()),
        ..modify("published")
    });
    let sql =
        migration_file(&migration(vec![MigrationAction::AlterTable(change)]), &source, &target).unwrap();
    assert!(sql.contains("SELECT \"id\", \"title\", \"body\""), "{sql}");
    let conn = seeded(&source);
    apply(&conn, &sql).unwrap();
    conn.execute("INSERT INTO document (\"createdAt\") VALUES (6)", []).unwrap();
    assert_eq!(rows(&conn, "SELECT heading, published FROM document ORDER BY id"), ["a|1", "NULL|0"]);
}

#[test]
fn added_columns_stay_in_place_unless_sqlite_cannot_add_them() {
    let source = project(vec![documents()]);
    let mut wider = documents();
    wider.columns.push(col("note", ColumnType::Text, true));
    let mut change = alter("document");
    change.add_columns.push(col("note", ColumnType::Text, true));
    let sql = migration_file(
        &migration(vec![MigrationAction::AlterTable(change.clone())]),
        &source,
        &project(vec![wider.clone()]),
    )
    .unwrap();
    assert!(
        sql.contains(
            "--\n-- ACTION ALTER TABLE\n--\nALTER TABLE \"document\" ADD COLUMN \"note\" TEXT;\n\n--"
        ),
        "{sql}"
    );

    // With a default (Serverpod's rule) or NOT NULL without one (SQLite refuses that ADD
    // COLUMN), the table is rebuilt.
    for column in [col_default("note", ColumnType::Text, true, "'x'"), col("note", ColumnType::Text, false)] {
        let mut wider = documents();
        wider.columns.push(column.clone());
        let mut change = alter("document");
        change.add_columns.push(column);
        let target = project(vec![wider]);
        let sql =
            migration_file(&migration(vec![MigrationAction::AlterTable(change)]), &source, &target).unwrap();
        assert!(sql.contains("CREATE TABLE \"new_document\""), "{sql}");
        let conn = built(&source);
        apply(&conn, &sql).unwrap();
    }
}

#[test]
fn dropping_an_indexed_column_rebuilds_instead_of_failing() {
    let source = project(vec![indexed()]);
    let mut narrower = indexed();
    narrower.columns.retain(|c| c.name != "published");
    narrower.indexes = vec![index("doc_title_idx", &["title"], true)];
    let mut change = alter("document");
    change.delete_columns.push("published".into());
    change.delete_indexes.push("doc_title_idx".into());
    change.add_indexes.push(index("doc_title_idx", &["title"], true));
    // The gin index on `meta` is not in the database, so it does not force anything.
    let target = project(vec![narrower]);
    let sql = migration_file(&migration(vec![MigrationAction::AlterTable(change.clone())]), &source, &target)
        .unwrap();
    assert!(sql.contains("ALTER TABLE \"document\" DROP COLUMN \"published\";"), "{sql}");
    apply(&seeded(&source), &sql).unwrap();

    // Keeping the index on the dropped column: SQLite would refuse DROP COLUMN.
    let mut keep = change;
    keep.delete_indexes.clear();
    keep.add_indexes.clear();
    let sql = migration_file(&migration(vec![MigrationAction::AlterTable(keep)]), &source, &target).unwrap();
    assert!(sql.contains("CREATE TABLE \"new_document\"") && !sql.contains("DROP COLUMN"), "{sql}");
    let conn = seeded(&source);
    apply(&conn, &sql).unwrap();
    assert_eq!(rows(&conn, "SELECT title FROM document"), ["a"]);
}

#[test]
fn foreign_keys_are_inline_and_a_rebuilt_parent_keeps_its_children() {
    let parent = documents();
    let mut child = table("comment", "Comment", vec![id(), col("documentId", ColumnType::Bigint, false)]);
    child.foreign_keys.push(ForeignKeyDefinition {
        on_delete: Some(ForeignKeyAction::Cascade),
        ..fk("comment_fk_0", "documentId", "document")
    });
    let source = project(vec![child.clone(), parent.clone()]);
    let sql = definition_file(&source);
    assert!(sql.contains(
        "    CONSTRAINT \"comment_fk_0\" FOREIGN KEY (\"documentId\") REFERENCES \"document\" (\"id\") ON DELETE CASCADE ON UPDATE NO ACTION\n) STRICT;"
    ), "{sql}");

    let mut changed = parent;
    changed.columns[1].is_nullable = true;
    let target = project(vec![child, changed]);
    let mut change = alter("document");
    change.modify_columns.push(ColumnMigration { add_nullable: true, ..modify("title") });
    let sql =
        migration_file(&migration(vec![MigrationAction::AlterTable(change)]), &source, &target).unwrap();
    let conn = seeded(&source);
    conn.execute("INSERT INTO comment (\"documentId\") VALUES (1)", []).unwrap();
    apply(&conn, &sql).unwrap();
    // With foreign keys off during the rebuild, DROP TABLE did not cascade to the comment.
    assert_eq!(rows(&conn, "SELECT count(*) FROM comment"), ["1"]);
    assert!(rows(&conn, "SELECT * FROM pragma_foreign_key_check").is_empty());
}

#[test]
fn bookkeeping_creates_the_migrations_table_when_the_project_has_none() {
    let bare = definition(
        "p",
        vec![table("t", "T", vec![id()])],
        vec![MigrationVersion::project("p", "20260101000000000")],
    );
    let sql = definition_file(&bare);
    assert_golden("sqlite/definition_without_migrations_table.sql", &sql);
    assert!(sql.contains("CREATE TABLE IF NOT EXISTS \"serverpod_migrations\" ("), "{sql}");
    let conn = built(&bare);
    let sql = migration_file(&migration(vec![]), &bare, &bare).unwrap();
    apply(&conn, &sql).unwrap();
    assert_eq!(
        rows(&conn, "SELECT module, version FROM serverpod_migrations ORDER BY module"),
        ["p|20260101000000000", "project|20260102000000000"]
    );
}

/// Rendering stops at the first unsupported object; `unsupported_objects` lists them all so the
/// user can fix every model in one pass. Geography, vectors and gin indexes are not among them:
/// they are TEXT columns and a left-out index.
#[test]
fn unsupported_objects_lists_every_problem() {
    let mut t = table(
        "place",
        "Place",
        vec![
            id(),
            col("point", ColumnType::Geography, true),
            vector_col("v", ColumnType::Vector, 3),
            col_default("n", ColumnType::Bigint, false, "serial"),
            col_default("at", ColumnType::TimestampWithoutTimeZone, false, "tomorrow"),
        ],
    );
    let mut gin = index("place_v_idx", &["v"], false);
    gin.index_type = "gin".into();
    let mut not_distinct = index("place_n_idx", &["n"], true);
    not_distinct.nulls_distinct = Some(false);
    t.indexes = vec![gin, not_distinct];
    let problems = unsupported_objects(&LITE, &project(vec![t]));
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 3, "{text:#?}");
    assert!(text[0].starts_with("column \"n\" of table \"place\": a serial default"), "{text:#?}");
    assert!(text[1].starts_with("column \"at\" of table \"place\": invalid default"), "{text:#?}");
    assert!(text[2].starts_with("index \"place_n_idx\" on table \"place\": NULLS NOT DISTINCT"), "{text:#?}");
}
