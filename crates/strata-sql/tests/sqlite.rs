//! SQLite output: goldens, typed "unsupported" errors, and execution on an in-memory database
//! (bundled SQLite via rusqlite) for every rebuild case: rows survive, renamed columns carry
//! their data, and a foreign-key violation fails the migration and rolls it back.

mod common;

use common::*;
use rusqlite::Connection;
use strata_schema::*;
use strata_sql::*;

const LITE: Sqlite = Sqlite;

fn lite_definition(def: &DatabaseDefinition) -> String {
    let sql = definition_sql(&LITE, def).unwrap_or_else(|e| panic!("definition_sql: {e}"));
    check_layout(&sql);
    sql
}

fn lite_migration(
    migration: &DatabaseMigration,
    source: &DatabaseDefinition,
    target: &DatabaseDefinition,
    installed: &[MigrationVersion],
) -> Result<String, SqlError> {
    let input =
        MigrationSqlInput { migration, source, target, installed_modules: installed, removed_modules: &[] };
    let sql = migration_sql(&LITE, &input)?;
    check_layout(&sql);
    Ok(sql)
}

/// PRAGMA off before the transaction, FK check last inside it, PRAGMA on after it.
fn check_layout(sql: &str) {
    assert_parses_sqlite(sql);
    assert_one_transaction(sql);
    assert!(sql.starts_with("PRAGMA foreign_keys = OFF;\nBEGIN;\n"), "{sql}");
    assert!(sql.ends_with(
        "INSERT INTO \"_strata_fk_check\" SELECT count(*) FROM pragma_foreign_key_check;\nDROP TABLE \"_strata_fk_check\";\n\nCOMMIT;\nPRAGMA foreign_keys = ON;\n"
    ), "{sql}");
}

/// Runs a file as the runner does: the part before `BEGIN;` and after `COMMIT;` outside the
/// transaction; a failure inside rolls the transaction back.
fn apply(conn: &Connection, sql: &str) -> Result<(), String> {
    let (pre, rest) = sql.split_once("BEGIN;\n").expect("BEGIN;");
    let (body, post) = rest.split_once("\nCOMMIT;\n").expect("COMMIT;");
    conn.execute_batch(pre).map_err(|e| e.to_string())?;
    let result = conn.execute_batch(&format!("BEGIN;\n{body}\nCOMMIT;\n")).map_err(|e| e.to_string());
    if result.is_err() && !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK;").expect("rollback");
    }
    conn.execute_batch(post).expect("after the transaction");
    result
}

fn db() -> Connection {
    let conn = Connection::open_in_memory().expect("in-memory sqlite");
    conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
    conn
}

fn query_strings(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let rows = stmt
        .query_map([], |r| {
            let v: rusqlite::types::Value = r.get(0)?;
            Ok(match v {
                rusqlite::types::Value::Null => "NULL".to_string(),
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Real(f) => f.to_string(),
                rusqlite::types::Value::Text(t) => t,
                rusqlite::types::Value::Blob(b) => format!("{b:?}"),
            })
        })
        .unwrap();
    rows.map(|r| r.unwrap()).collect()
}

fn table_names(conn: &Connection) -> Vec<String> {
    query_strings(
        conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
}

fn declared_types(conn: &Connection, table: &str) -> Vec<String> {
    query_strings(
        conn,
        &format!("SELECT name || ' ' || type || ' ' || \"notnull\" FROM pragma_table_info('{table}')"),
    )
}

fn project(tables: Vec<TableDefinition>) -> DatabaseDefinition {
    serverpod_target(tables)
}

const V1: &str = "20250101000000000";
const V2: &str = "20250202000000000";

/// Creates `source` on a fresh database and inserts `seed`.
fn setup(source: &DatabaseDefinition, seed: &str) -> Connection {
    let conn = db();
    let sql = lite_definition(&DatabaseDefinition {
        installed_modules: vec![MigrationVersion::project("project", V1)],
        ..source.clone()
    });
    apply(&conn, &sql).unwrap_or_else(|e| panic!("definition: {e}\n{sql}"));
    conn.execute_batch(seed).unwrap_or_else(|e| panic!("seed: {e}"));
    conn
}

fn migrate(
    conn: &Connection,
    m: &DatabaseMigration,
    source: &DatabaseDefinition,
    target: &DatabaseDefinition,
) -> (String, Result<(), String>) {
    let sql = lite_migration(m, source, target, &[MigrationVersion::project("project", V2)])
        .unwrap_or_else(|e| panic!("{e}"));
    let result = apply(conn, &sql);
    (sql, result)
}

fn users(columns: Vec<ColumnDefinition>) -> TableDefinition {
    table("users", "User", columns)
}

// =============================================================================================
// Goldens
// =============================================================================================

fn sample_definition() -> DatabaseDefinition {
    let parent = TableDefinition {
        indexes: vec![index("parent_name_idx", &["name"], true)],
        ..table(
            "parent",
            "Parent",
            vec![
                id(),
                col("name", ColumnType::Text, false),
                col_default("active", ColumnType::Boolean, false, "true"),
                col_default("score", ColumnType::DoublePrecision, true, "1.5"),
                col_default("created", ColumnType::TimestampWithoutTimeZone, false, "now"),
                col_default("since", ColumnType::TimestampWithoutTimeZone, true, "2024-05-24T22:00:00.000Z"),
                col("data", ColumnType::Json, true),
                col("doc", ColumnType::Jsonb, true),
                col("blob", ColumnType::Bytea, true),
                col_default("token", ColumnType::Uuid, false, "random"),
                col_default("label", ColumnType::Text, false, "'it''s'"),
                col_default("count", ColumnType::Bigint, false, "-3"),
            ],
        )
    };
    let child = TableDefinition {
        foreign_keys: vec![ForeignKeyDefinition {
            on_delete: Some(ForeignKeyAction::Cascade),
            deferrable: Some(Deferrable::InitiallyDeferred),
            ..fk("child_fk_0", "parentId", "parent")
        }],
        indexes: vec![IndexDefinition {
            nulls_distinct: Some(true),
            ..index("child_parent_idx", &["parentId"], false)
        }],
        ..table(
            "child",
            "Child",
            vec![
                col_default("id", ColumnType::Uuid, false, "random_v7"),
                col("parentId", ColumnType::Bigint, false),
            ],
        )
    };
    definition(
        "project",
        vec![child, parent, migrations_table()],
        vec![MigrationVersion::project("project", V1)],
    )
}

#[test]
fn definition_golden_executes_and_round_trips_declared_types() {
    let def = sample_definition();
    let sql = lite_definition(&def);
    assert_golden("sqlite/definition.sql", &sql);
    let conn = db();
    apply(&conn, &sql).unwrap();
    assert_eq!(table_names(&conn), ["child", "parent", "serverpod_migrations"]);
    // Every declared type maps back to the column type it came from.
    for t in &def.tables {
        let mut stmt =
            conn.prepare(&format!("SELECT name, type FROM pragma_table_info('{}')", t.name)).unwrap();
        let rows: Vec<(String, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
        for (name, declared) in rows {
            let column = t.column(&name).unwrap();
            let back = sqlite_declared_type_to_column_type(&declared).unwrap();
            assert!(
                back == column.column_type || (back.is_integer() && column.column_type.is_integer()),
                "{name}: {declared}"
            );
        }
    }
    // Defaults work: uuid v4/v7 text, timestamps, booleans.
    conn.execute_batch(
        "INSERT INTO parent (name) VALUES ('a'); INSERT INTO child (\"parentId\") VALUES (1);",
    )
    .unwrap();
    let token = query_strings(&conn, "SELECT token FROM parent")[0].clone();
    assert_uuid(&token, '4');
    let child_id = query_strings(&conn, "SELECT id FROM child")[0].clone();
    assert_uuid(&child_id, '7');
    let row = query_strings(
        &conn,
        "SELECT active || '|' || score || '|' || since || '|' || label || '|' || count FROM parent",
    );
    assert_eq!(row, ["1|1.5|2024-05-24 22:00:00.000|it's|-3"]);
    assert_eq!(
        query_strings(&conn, "SELECT module || ' ' || version FROM serverpod_migrations"),
        [format!("project {V1}")]
    );
}

fn assert_uuid(s: &str, version: char) {
    let parts: Vec<&str> = s.split('-').collect();
    assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{s}");
    assert!(s.chars().all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)), "{s}");
    assert_eq!(s.chars().nth(14), Some(version), "{s}");
    assert!("89ab".contains(s.chars().nth(19).unwrap()), "{s}");
}

#[test]
fn uuid_v7_embeds_the_current_millisecond() {
    let def = definition(
        "p",
        vec![table("t", "T", vec![col_default("id", ColumnType::Uuid, false, "random_v7")])],
        vec![],
    );
    let conn = db();
    apply(&conn, &lite_definition(&def)).unwrap();
    conn.execute_batch("INSERT INTO t DEFAULT VALUES;").unwrap();
    let id = query_strings(&conn, "SELECT id FROM t")[0].replace('-', "");
    let ms = i64::from_str_radix(&id[..12], 16).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!((now - ms).abs() < 60_000, "{ms} vs {now}");
}

#[test]
fn circular_foreign_keys_are_inline_and_create_in_any_order() {
    let a = TableDefinition {
        foreign_keys: vec![fk("a_fk_0", "bId", "b")],
        ..table("a", "A", vec![id(), col("bId", ColumnType::Bigint, true)])
    };
    let b = TableDefinition {
        foreign_keys: vec![fk("b_fk_0", "aId", "a")],
        ..table("b", "B", vec![id(), col("aId", ColumnType::Bigint, true)])
    };
    let m = migration(vec![MigrationAction::CreateTable(a.clone()), MigrationAction::CreateTable(b.clone())]);
    let empty = DatabaseDefinition::empty("project");
    let sql = lite_migration(&m, &empty, &project(vec![a, b]), &[MigrationVersion::project("project", V1)])
        .unwrap();
    assert_golden("sqlite/create_circular.sql", &sql);
    assert!(!sql.contains("ALTER TABLE"));
    let conn = db();
    // The target has serverpod_migrations; on a fresh database it must exist first.
    apply(&conn, &lite_definition(&project(vec![]))).unwrap();
    apply(&conn, &sql).unwrap();
    conn.execute_batch("INSERT INTO a (\"bId\") VALUES (NULL); INSERT INTO b (\"aId\") VALUES (1);").unwrap();
    assert!(
        conn.execute_batch("INSERT INTO b (\"aId\") VALUES (99);").is_err(),
        "FKs are enforced afterwards"
    );
}

#[test]
fn bookkeeping_creates_the_table_when_missing_and_upserts() {
    let conn = db();
    let bare = definition("p", vec![table("t", "T", vec![id()])], vec![MigrationVersion::project("p", V1)]);
    let sql = lite_definition(&bare);
    assert_golden("sqlite/definition_without_migrations_table.sql", &sql);
    apply(&conn, &sql).unwrap();
    let m = migration(vec![]);
    let sql = lite_migration(
        &m,
        &bare,
        &bare,
        &[MigrationVersion::project("p", V2), MigrationVersion::dependency("serverpod", V1)],
    )
    .unwrap();
    apply(&conn, &sql).unwrap();
    assert_eq!(
        query_strings(&conn, "SELECT module || ' ' || version FROM serverpod_migrations ORDER BY module"),
        [format!("p {V2}"), format!("serverpod {V1}")]
    );
}

// =============================================================================================
// Unsupported constructs
// =============================================================================================

#[test]
fn unsupported_constructs_are_typed_errors_naming_the_object() {
    let def_with = |t: TableDefinition| definition_sql(&LITE, &definition("p", vec![t], vec![]));
    let err =
        def_with(table("t", "T", vec![id(), vector_col("embedding", ColumnType::Vector, 3)])).unwrap_err();
    assert!(
        matches!(&err, SqlError::Unsupported { dialect: "sqlite", object: SqlObject::Column { column, .. }, .. } if column == "embedding"),
        "{err}"
    );
    assert!(err.to_string().contains("unsupported by the sqlite dialect"), "{err}");
    assert!(err.to_string().contains("column \"embedding\" of table \"t\""), "{err}");
    let err =
        def_with(table("t", "T", vec![id(), col("where", ColumnType::GeographyPolygon, true)])).unwrap_err();
    assert!(matches!(err, SqlError::Unsupported { .. }));
    for idx in [
        IndexDefinition {
            index_type: "gin".into(),
            gin_operator_class: Some(GinOperatorClass::JsonbPathOps),
            ..index("g", &["d"], false)
        },
        IndexDefinition {
            index_type: "hnsw".into(),
            vector_column_type: Some(ColumnType::Vector),
            vector_distance_function: Some(VectorDistanceFunction::L2),
            ..index("h", &["d"], false)
        },
        IndexDefinition { index_type: "brin".into(), ..index("b", &["d"], false) },
        IndexDefinition { nulls_distinct: Some(false), ..index("n", &["d"], true) },
    ] {
        let name = idx.index_name.clone();
        let err = def_with(TableDefinition {
            indexes: vec![idx],
            ..table("t", "T", vec![id(), col("d", ColumnType::Text, true)])
        })
        .unwrap_err();
        assert!(
            matches!(&err, SqlError::Unsupported { object: SqlObject::Index { index, .. }, .. } if *index == name),
            "{err}"
        );
    }
    let err = def_with(table("t", "T", vec![id(), col_default("seq", ColumnType::Bigint, false, "serial")]))
        .unwrap_err();
    assert!(matches!(err, SqlError::Unsupported { .. }), "{err}");
}

// =============================================================================================
// In-place changes
// =============================================================================================

#[test]
fn in_place_changes_keep_data_without_rebuild() {
    let source_users = TableDefinition {
        indexes: vec![index("users_email_idx", &["email"], false)],
        ..users(vec![
            id(),
            col("name", ColumnType::Text, false),
            col("email", ColumnType::Text, true),
            col("old", ColumnType::Text, true),
        ])
    };
    let target_users = TableDefinition {
        indexes: vec![index("users_fullName_idx", &["fullName"], true)],
        ..users(vec![
            id(),
            col("fullName", ColumnType::Text, false),
            col("email", ColumnType::Text, true),
            col("nickname", ColumnType::Text, true),
            col_default("level", ColumnType::Bigint, false, "1"),
        ])
    };
    let source = project(vec![source_users]);
    let target = project(vec![target_users]);
    let mut change = alter("users");
    change.delete_indexes.push("users_email_idx".into());
    change.delete_columns.push("old".into());
    change
        .modify_columns
        .push(ColumnMigration { new_column_name: Some("fullName".into()), ..modify("name") });
    change.add_columns.push(col("nickname", ColumnType::Text, true));
    change.add_columns.push(col_default("level", ColumnType::Bigint, false, "1"));
    change.add_indexes.push(index("users_fullName_idx", &["fullName"], true));
    let m = migration(vec![MigrationAction::AlterTable(change)]);

    let conn = setup(
        &source,
        "INSERT INTO users (name, email, old) VALUES ('Ada', 'a@x', 'o'), ('Bob', NULL, NULL);",
    );
    let (sql, result) = migrate(&conn, &m, &source, &target);
    result.unwrap();
    assert_golden("sqlite/alter_in_place.sql", &sql);
    assert!(!sql.contains("_strata_new_"), "{sql}");
    assert_eq!(
        query_strings(
            &conn,
            "SELECT \"fullName\" || ',' || coalesce(email, '-') || ',' || level FROM users ORDER BY id"
        ),
        ["Ada,a@x,1", "Bob,-,1"]
    );
    assert_eq!(
        query_strings(
            &conn,
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' AND sql IS NOT NULL"
        ),
        ["users_fullName_idx"]
    );
    assert_eq!(query_strings(&conn, "SELECT version FROM serverpod_migrations"), [V2]);
}

// =============================================================================================
// Rebuilds
// =============================================================================================

/// Applies `change` from `source_users` to `target_users`, seeded with `seed`; returns the SQL
/// and the connection after a successful migration.
fn rebuild_case(
    golden: &str,
    source_tables: Vec<TableDefinition>,
    target_tables: Vec<TableDefinition>,
    change: TableMigration,
    seed: &str,
) -> Connection {
    let source = project(source_tables);
    let target = project(target_tables);
    let m = migration(vec![MigrationAction::AlterTable(change)]);
    let conn = setup(&source, seed);
    let (sql, result) = migrate(&conn, &m, &source, &target);
    result.unwrap_or_else(|e| panic!("{e}\n{sql}"));
    assert!(sql.contains("CREATE TABLE \"_strata_new_"), "expected a rebuild:\n{sql}");
    assert!(!table_names(&conn).iter().any(|t| t.starts_with("_strata")), "scratch table left behind");
    assert_golden(&format!("sqlite/{golden}.sql"), &sql);
    conn
}

#[test]
fn rebuild_for_rename_plus_nullability_carries_renamed_data() {
    let mut change = alter("users");
    change.modify_columns.push(ColumnMigration {
        new_column_name: Some("displayName".into()),
        add_nullable: true,
        ..modify("name")
    });
    let conn = rebuild_case(
        "rebuild_rename_nullable",
        vec![users(vec![id(), col("name", ColumnType::Text, false), col("age", ColumnType::Bigint, false)])],
        vec![users(vec![
            id(),
            col("displayName", ColumnType::Text, true),
            col("age", ColumnType::Bigint, false),
        ])],
        change,
        "INSERT INTO users (name, age) VALUES ('Ada', 36), ('Bob', 7);",
    );
    assert_eq!(
        query_strings(&conn, "SELECT id || ':' || \"displayName\" || ':' || age FROM users ORDER BY id"),
        ["1:Ada:36", "2:Bob:7"]
    );
    conn.execute_batch("INSERT INTO users (\"displayName\", age) VALUES (NULL, 1);").unwrap();
    assert_eq!(declared_types(&conn, "users")[1], "displayName TEXT 0");
    // AUTOINCREMENT continues after the copied ids.
    assert_eq!(query_strings(&conn, "SELECT max(id) FROM users"), ["3"]);
}

#[test]
fn rebuild_for_default_change_keeps_rows_and_applies_new_default() {
    let mut change = alter("users");
    change.modify_columns.push(ColumnMigration {
        change_default: true,
        new_default: Some("'guest'".into()),
        ..modify("role")
    });
    change.modify_columns.push(ColumnMigration {
        change_default: true,
        new_default: None,
        ..modify("score")
    });
    let conn = rebuild_case(
        "rebuild_default_change",
        vec![users(vec![
            id(),
            col("role", ColumnType::Text, true),
            col_default("score", ColumnType::Bigint, true, "5"),
        ])],
        vec![users(vec![
            id(),
            col_default("role", ColumnType::Text, true, "'guest'"),
            col("score", ColumnType::Bigint, true),
        ])],
        change,
        "INSERT INTO users (role) VALUES ('admin');",
    );
    conn.execute_batch("INSERT INTO users DEFAULT VALUES;").unwrap();
    assert_eq!(
        query_strings(&conn, "SELECT role || ':' || coalesce(score, 'null') FROM users ORDER BY id"),
        ["admin:5", "guest:null"]
    );
}

#[test]
fn rebuild_for_json_to_jsonb_keeps_documents() {
    let mut change = alter("users");
    change.modify_columns.push(ColumnMigration { new_type: Some(ColumnType::Jsonb), ..modify("data") });
    let conn = rebuild_case(
        "rebuild_type_change",
        vec![users(vec![id(), col("data", ColumnType::Json, false)])],
        vec![users(vec![id(), col("data", ColumnType::Jsonb, false)])],
        change,
        r#"INSERT INTO users (data) VALUES ('{"a":[1,2]}'), ('1e5');"#,
    );
    assert_eq!(query_strings(&conn, "SELECT data FROM users ORDER BY id"), [r#"{"a":[1,2]}"#, "1e5"]);
    assert_eq!(declared_types(&conn, "users")[1], "data JSONB_TEXT 1");
}

#[test]
fn rebuild_for_dropping_an_indexed_column_recreates_the_other_indexes() {
    let source_users = TableDefinition {
        indexes: vec![index("users_code_idx", &["code"], true), index("users_name_idx", &["name"], false)],
        ..users(vec![id(), col("name", ColumnType::Text, false), col("code", ColumnType::Text, false)])
    };
    let target_users = TableDefinition {
        indexes: vec![index("users_name_idx", &["name"], false)],
        ..users(vec![id(), col("name", ColumnType::Text, false)])
    };
    let mut change = alter("users");
    change.delete_columns.push("code".into());
    // `users_code_idx` is not dropped first, so DROP COLUMN would fail in place.
    let conn = rebuild_case(
        "rebuild_drop_indexed_column",
        vec![source_users],
        vec![target_users],
        change,
        "INSERT INTO users (name, code) VALUES ('Ada', 'A'), ('Bob', 'B');",
    );
    assert_eq!(query_strings(&conn, "SELECT name FROM users ORDER BY id"), ["Ada", "Bob"]);
    assert_eq!(
        query_strings(
            &conn,
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' AND sql IS NOT NULL"
        ),
        ["users_name_idx"]
    );
}

#[test]
fn rebuild_for_added_columns_with_non_constant_defaults() {
    let mut change = alter("users");
    change.add_columns.push(col_default("createdAt", ColumnType::TimestampWithoutTimeZone, false, "now"));
    change.add_columns.push(col_default("token", ColumnType::Uuid, false, "random"));
    change.add_columns.push(col("required", ColumnType::Text, true));
    let conn = rebuild_case(
        "rebuild_add_non_constant_defaults",
        vec![users(vec![id(), col("name", ColumnType::Text, false)])],
        vec![users(vec![
            id(),
            col("name", ColumnType::Text, false),
            col_default("createdAt", ColumnType::TimestampWithoutTimeZone, false, "now"),
            col_default("token", ColumnType::Uuid, false, "random"),
            col("required", ColumnType::Text, true),
        ])],
        change,
        "INSERT INTO users (name) VALUES ('Ada'), ('Bob');",
    );
    let tokens = query_strings(&conn, "SELECT token FROM users ORDER BY id");
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1]);
    tokens.iter().for_each(|t| assert_uuid(t, '4'));
    assert_eq!(query_strings(&conn, "SELECT count(*) FROM users WHERE \"createdAt\" IS NOT NULL"), ["2"]);
}

fn parent_child(child_fks: Vec<ForeignKeyDefinition>) -> Vec<TableDefinition> {
    vec![
        table("parent", "Parent", vec![id(), col("name", ColumnType::Text, false)]),
        TableDefinition {
            foreign_keys: child_fks,
            ..table("child", "Child", vec![id(), col("parentId", ColumnType::Bigint, true)])
        },
    ]
}

#[test]
fn rebuild_for_added_foreign_key_enforces_it_afterwards() {
    let mut change = alter("child");
    change.add_foreign_keys.push(fk("child_fk_0", "parentId", "parent"));
    let conn = rebuild_case(
        "rebuild_add_foreign_key",
        parent_child(vec![]),
        parent_child(vec![fk("child_fk_0", "parentId", "parent")]),
        change,
        "INSERT INTO parent (name) VALUES ('p'); INSERT INTO child (\"parentId\") VALUES (1), (NULL);",
    );
    assert_eq!(query_strings(&conn, "SELECT count(*) FROM child"), ["2"]);
    assert!(conn.execute_batch("INSERT INTO child (\"parentId\") VALUES (42);").is_err());
}

#[test]
fn foreign_key_violation_fails_the_migration_and_rolls_back() {
    let source = project(parent_child(vec![]));
    let target = project(parent_child(vec![fk("child_fk_0", "parentId", "parent")]));
    let mut change = alter("child");
    change.add_foreign_keys.push(fk("child_fk_0", "parentId", "parent"));
    let m = migration(vec![MigrationAction::AlterTable(change)]);
    let conn = setup(
        &source,
        "INSERT INTO parent (name) VALUES ('p'); INSERT INTO child (\"parentId\") VALUES (1), (42);",
    );
    let before = query_strings(&conn, "SELECT sql FROM sqlite_master WHERE name = 'child'");
    let (_, result) = migrate(&conn, &m, &source, &target);
    let err = result.unwrap_err();
    assert!(err.contains("foreign_key_violations_after_migration"), "{err}");
    // Rolled back: old shape, all rows, old version, no scratch tables, FKs back on.
    assert_eq!(query_strings(&conn, "SELECT sql FROM sqlite_master WHERE name = 'child'"), before);
    assert_eq!(query_strings(&conn, "SELECT \"parentId\" FROM child ORDER BY id"), ["1", "42"]);
    assert_eq!(query_strings(&conn, "SELECT version FROM serverpod_migrations"), [V1]);
    assert!(!table_names(&conn).iter().any(|t| t.starts_with("_strata")));
    assert_eq!(query_strings(&conn, "PRAGMA foreign_keys"), ["1"]);
}

#[test]
fn rebuild_for_dropped_foreign_key_and_its_column() {
    let mut change = alter("child");
    change.delete_foreign_keys.push("child_fk_0".into());
    change.delete_columns.push("parentId".into());
    let conn = rebuild_case(
        "rebuild_drop_foreign_key",
        parent_child(vec![fk("child_fk_0", "parentId", "parent")]),
        vec![
            table("parent", "Parent", vec![id(), col("name", ColumnType::Text, false)]),
            table("child", "Child", vec![id()]),
        ],
        change,
        "INSERT INTO parent (name) VALUES ('p'); INSERT INTO child (\"parentId\") VALUES (1), (1);",
    );
    assert_eq!(query_strings(&conn, "SELECT count(*) FROM child"), ["2"]);
    conn.execute_batch("DELETE FROM parent;").unwrap();
}

#[test]
fn rebuilt_parent_keeps_inbound_foreign_keys() {
    let mut change = alter("parent");
    change.modify_columns.push(ColumnMigration { remove_nullable: true, ..modify("name") });
    let source_tables = vec![
        table("parent", "Parent", vec![id(), col("name", ColumnType::Text, true)]),
        TableDefinition {
            foreign_keys: vec![ForeignKeyDefinition {
                on_delete: Some(ForeignKeyAction::Cascade),
                ..fk("child_fk_0", "parentId", "parent")
            }],
            ..table("child", "Child", vec![id(), col("parentId", ColumnType::Bigint, false)])
        },
    ];
    let mut target_tables = source_tables.clone();
    target_tables[0] = table("parent", "Parent", vec![id(), col("name", ColumnType::Text, false)]);
    let conn = rebuild_case(
        "rebuild_parent_with_inbound_fk",
        source_tables,
        target_tables,
        change,
        "INSERT INTO parent (name) VALUES ('a'), ('b'); INSERT INTO child (\"parentId\") VALUES (1), (2), (2);",
    );
    assert_eq!(query_strings(&conn, "SELECT count(*) FROM child"), ["3"]);
    // The inbound FK still works (ON DELETE CASCADE through the rebuilt table).
    conn.execute_batch("DELETE FROM parent WHERE id = 2;").unwrap();
    assert_eq!(query_strings(&conn, "SELECT count(*) FROM child"), ["1"]);
    assert!(conn.execute_batch("INSERT INTO child (\"parentId\") VALUES (9);").is_err());
}

#[test]
fn not_null_violation_during_rebuild_rolls_back() {
    let source = project(vec![users(vec![id(), col("name", ColumnType::Text, true)])]);
    let target = project(vec![users(vec![id(), col("name", ColumnType::Text, false)])]);
    let mut change = alter("users");
    change.modify_columns.push(ColumnMigration { remove_nullable: true, ..modify("name") });
    let conn = setup(&source, "INSERT INTO users (name) VALUES ('a'), (NULL);");
    let (_, result) = migrate(&conn, &migration(vec![MigrationAction::AlterTable(change)]), &source, &target);
    assert!(result.unwrap_err().contains("NOT NULL"));
    assert_eq!(query_strings(&conn, "SELECT count(*) FROM users"), ["2"]);
    assert!(!table_names(&conn).iter().any(|t| t.starts_with("_strata")));
}

#[test]
fn recreated_table_with_orphaned_children_fails_the_fk_check() {
    // Serverpod expresses "add a NOT NULL column without default" as drop + create.
    let parent_v1 = table("parent", "Parent", vec![id(), col("name", ColumnType::Text, false)]);
    let parent_v2 = table(
        "parent",
        "Parent",
        vec![id(), col("name", ColumnType::Text, false), col("code", ColumnType::Text, false)],
    );
    let child = TableDefinition {
        foreign_keys: vec![fk("child_fk_0", "parentId", "parent")],
        ..table("child", "Child", vec![id(), col("parentId", ColumnType::Bigint, false)])
    };
    let source = project(vec![parent_v1, child.clone()]);
    let target = project(vec![parent_v2.clone(), child]);
    let m = migration(vec![
        MigrationAction::DeleteTable("parent".into()),
        MigrationAction::CreateTable(parent_v2),
    ]);
    let conn = setup(
        &source,
        "INSERT INTO parent (name) VALUES ('p'); INSERT INTO child (\"parentId\") VALUES (1);",
    );
    let (sql, result) = migrate(&conn, &m, &source, &target);
    assert_golden("sqlite/recreate_table.sql", &sql);
    assert!(!sql.contains("RESTORE"), "inline FKs survive DROP TABLE in SQLite");
    assert!(result.unwrap_err().contains("foreign_key_violations_after_migration"));
    assert_eq!(query_strings(&conn, "SELECT name FROM parent"), ["p"]);

    // Without orphans the same migration applies.
    let conn = setup(&source, "INSERT INTO parent (name) VALUES ('p');");
    let (_, result) = migrate(&conn, &m, &source, &target);
    result.unwrap();
    assert_eq!(declared_types(&conn, "parent"), ["id INTEGER 0", "name TEXT 1", "code TEXT 1"]);
}

/// Rendering stops at the first unsupported object; `unsupported_objects` lists them all so the
/// user can fix every model in one pass.
#[test]
fn unsupported_objects_lists_every_problem() {
    use strata_schema::*;
    let col = |name: &str, ty: ColumnType| ColumnDefinition {
        name: name.into(),
        column_type: ty,
        is_nullable: true,
        vector_dimension: ty.is_vector().then_some(3),
        ..Default::default()
    };
    let table = TableDefinition {
        name: "place".into(),
        schema: "public".into(),
        columns: vec![
            col("point", ColumnType::Geography),
            col("v", ColumnType::Vector),
            col("name", ColumnType::Text),
        ],
        indexes: vec![IndexDefinition {
            index_name: "place_name_idx".into(),
            elements: vec![IndexElement::column("name")],
            index_type: "gin".into(),
            ..Default::default()
        }],
        managed: Some(true),
        ..Default::default()
    };
    let def = DatabaseDefinition { tables: vec![table], ..DatabaseDefinition::empty("p") };
    let problems = strata_sql::unsupported_objects(&strata_sql::Sqlite, &def);
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 3, "{text:#?}");
    assert!(text[0].contains("column \"point\""), "{text:#?}");
    assert!(text[1].contains("column \"v\""), "{text:#?}");
    assert!(text[2].contains("index \"place_name_idx\""), "{text:#?}");
    assert!(strata_sql::unsupported_objects(&strata_sql::Postgres, &def).is_empty());
}
