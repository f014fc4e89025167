//! MySQL/MariaDB introspection on the real server: DDL in the emitter's spelling reads back
//! without drift, what strata cannot represent is named, and the query count is fixed.

mod common;

use common::*;
use sqlx::Connection;
use strata_introspect::{Introspection, WarningKind};
use strata_schema::*;
use strata_sql::mysql_types::{MYSQL_NOW_SQL, MYSQL_RANDOM_UUID_SQL, MYSQL_RANDOM_UUID_V7_SQL};
use strata_testdb::MysqlScratch;

const TABLE_OPTIONS: &str = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

fn has(live: &Introspection, kind: WarningKind, name: &str) -> bool {
    live.warnings.iter().any(|w| w.kind == kind && w.name == name)
}

/// A column type, its MySQL DDL type, and (abstract default, MySQL default) pairs.
type TypeCase = (ColumnType, &'static str, Vec<(&'static str, String)>);

/// Every column type with its defaults, as `mysql_types` spells them, and the definition they
/// come from.
fn all_types() -> (String, TableDefinition) {
    use ColumnType::*;
    let cases: Vec<TypeCase> = vec![
        (
            Text,
            "LONGTEXT",
            vec![("'abc'", "'abc'".into()), ("'it''s'", "'it''s'".into()), ("''", "''".into())],
        ),
        (Boolean, "TINYINT(1)", vec![("true", "1".into()), ("false", "0".into())]),
        (
            Bigint,
            "BIGINT",
            vec![("0", "0".into()), ("-1", "-1".into()), ("10000000000", "10000000000".into())],
        ),
        (Integer, "INT", vec![("5", "5".into())]),
        (DoublePrecision, "DOUBLE", vec![("1.5", "1.5".into()), ("-2", "-2".into())]),
        (
            TimestampWithoutTimeZone,
            "DATETIME(3)",
            vec![
                ("now", MYSQL_NOW_SQL.into()),
                ("2024-05-10T22:00:00.123Z", "'2024-05-10 22:00:00.123'".into()),
            ],
        ),
        (
            Uuid,
            "CHAR(36)",
            vec![
                ("random", format!("({MYSQL_RANDOM_UUID_SQL})")),
                ("random_v7", format!("({MYSQL_RANDOM_UUID_V7_SQL})")),
                ("'550e8400-e29b-41d4-a716-446655440000'", "'550e8400-e29b-41d4-a716-446655440000'".into()),
            ],
        ),
        (Json, "JSON", vec![("'{}'", "'{}'".into())]),
        (Bytea, "LONGBLOB", vec![]),
    ];
    let mut columns = vec![id()];
    let mut lines = vec!["`id` BIGINT AUTO_INCREMENT PRIMARY KEY".to_string()];
    for (t, sql_type, defaults) in &cases {
        let base = t.name();
        columns.push(col(&format!("{base}_plain"), *t));
        lines.push(format!("`{base}_plain` {sql_type} NOT NULL"));
        columns.push(nullable(col(&format!("{base}_null"), *t)));
        lines.push(format!("`{base}_null` {sql_type}"));
        for (i, (abstract_default, sql_default)) in defaults.iter().enumerate() {
            columns.push(with_default(col(&format!("{base}_d{i}"), *t), abstract_default));
            lines.push(format!("`{base}_d{i}` {sql_type} NOT NULL DEFAULT {sql_default}"));
            columns.push(with_default(nullable(col(&format!("{base}_nd{i}"), *t)), abstract_default));
            lines.push(format!("`{base}_nd{i}` {sql_type} DEFAULT {sql_default}"));
        }
    }
    let mut table = table("all_types", columns);
    table.indexes.push(index("all_types_text", &["text_plain"], "btree", false));
    table.indexes.push(index("all_types_text_unique", &["text_null"], "btree", true));
    table.indexes.push(index("all_types_pair", &["bigint_plain", "uuid_plain"], "btree", true));
    let ddl = format!(
        "CREATE TABLE `all_types` (\n  {}\n) {TABLE_OPTIONS};\n\
         CREATE INDEX `all_types_text` ON `all_types` (`text_plain`(255));\n\
         CREATE UNIQUE INDEX `all_types_text_unique` ON `all_types` (`text_null`);\n\
         CREATE UNIQUE INDEX `all_types_pair` ON `all_types` (`bigint_plain`, `uuid_plain`);\n",
        lines.join(",\n  ")
    );
    (ddl, table)
}

/// Parent and child tables with a foreign key per referential action.
fn relations() -> (String, Vec<TableDefinition>) {
    use ForeignKeyAction::*;
    let parent = table("parent", vec![id(), col("name", ColumnType::Text)]);
    let mut child = table(
        "child",
        vec![
            id(),
            nullable(col("p0", ColumnType::Bigint)),
            nullable(col("p1", ColumnType::Bigint)),
            nullable(col("p2", ColumnType::Bigint)),
        ],
    );
    child.foreign_keys.push(fk("child_fk_0", "p0", "parent", Cascade, NoAction));
    child.foreign_keys.push(fk("child_fk_1", "p1", "parent", SetNull, Restrict));
    child.foreign_keys.push(fk("child_fk_2", "p2", "parent", Restrict, Cascade));
    child.indexes.push(index("child_p2_idx", &["p2"], "btree", false));
    let ddl = format!(
        "CREATE TABLE `parent` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, `name` LONGTEXT NOT NULL) {TABLE_OPTIONS};\n\
         CREATE TABLE `child` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, `p0` BIGINT, `p1` BIGINT, `p2` BIGINT) {TABLE_OPTIONS};\n\
         CREATE INDEX `child_p2_idx` ON `child` (`p2`);\n\
         ALTER TABLE `child` ADD CONSTRAINT `child_fk_0` FOREIGN KEY (`p0`) REFERENCES `parent` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION;\n\
         ALTER TABLE `child` ADD CONSTRAINT `child_fk_1` FOREIGN KEY (`p1`) REFERENCES `parent` (`id`) ON DELETE SET NULL ON UPDATE RESTRICT;\n\
         ALTER TABLE `child` ADD CONSTRAINT `child_fk_2` FOREIGN KEY (`p2`) REFERENCES `parent` (`id`) ON DELETE RESTRICT ON UPDATE CASCADE;\n"
    );
    (ddl, vec![parent, child])
}

#[test]
fn ddl_in_the_emitters_spelling_reads_back_without_drift() {
    let (types_ddl, types_table) = all_types();
    let (relations_ddl, relation_tables) = relations();
    let db = MysqlScratch::new("mysql_types");
    mysql_exec(&db.url, &format!("{types_ddl}{relations_ddl}"));
    let live = mysql_introspect(&db.url);
    let mut tables = vec![types_table];
    tables.extend(relation_tables);
    let def = definition(tables);
    assert_no_drift(&live, &def, "hand-written MySQL DDL");
    assert!(live.warnings.is_empty(), "{:?}", live.warnings);
    let t = live.definition.table("all_types").unwrap();
    assert_eq!(t.column("integer_plain").unwrap().column_type, ColumnType::Integer);
    assert_eq!(t.column("json_plain").unwrap().column_type, ColumnType::Json);
    assert_eq!(t.column("id").unwrap().column_default.as_deref(), Some("serial"));
    assert_eq!(t.schema, db.name);
    // The index MySQL adds for a foreign key's columns is not the user's; an explicit one is.
    let child = live.definition.table("child").unwrap();
    let names: Vec<&str> = child.indexes.iter().map(|i| i.index_name.as_str()).collect();
    assert_eq!(names, vec!["child_p2_idx"]);
    assert_eq!(live.definition.name.as_deref(), Some(db.name.as_str()));
}

#[test]
fn json_and_jsonb_both_read_back_as_the_definitions_type() {
    let db = MysqlScratch::new("mysql_jsonb");
    mysql_exec(
        &db.url,
        &format!("CREATE TABLE `j` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, `doc` JSON) {TABLE_OPTIONS};"),
    );
    let live = mysql_introspect(&db.url);
    for t in [ColumnType::Json, ColumnType::Jsonb] {
        let def = definition(vec![table("j", vec![id(), nullable(col("doc", t))])]);
        assert_no_drift(&live, &def, t.name());
    }
}

#[test]
fn unrepresentable_objects_are_named_warnings() {
    let db = MysqlScratch::new("mysql_handwritten");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/introspect/mysql/handwritten.sql");
    mysql_exec(&db.url, &std::fs::read_to_string(&path).unwrap());
    let live = mysql_introspect(&db.url);
    let expect = [
        (WarningKind::CheckConstraint, "positive_total"),
        (WarningKind::View, "order_totals"),
        (WarningKind::Trigger, "orders_touch"),
        (WarningKind::Function, "order_count"),
        (WarningKind::Event, "nightly_cleanup"),
        (WarningKind::PartitionedTable, "events_log"),
        (WarningKind::PrimaryKey, "pairs"),
        (WarningKind::PrimaryKey, "keyless"),
        (WarningKind::TableOptions, "memory_cache"),
        (WarningKind::UnknownColumnType, "code"),
        (WarningKind::UnknownColumnType, "label"),
        (WarningKind::GeneratedColumn, "total_twice"),
        (WarningKind::IndexDetail, "orders_total_desc"),
        (WarningKind::IndexDetail, "orders_note_short"),
    ];
    for (kind, name) in expect {
        assert!(has(&live, kind, name), "no {kind:?} warning for {name}: {:#?}", live.warnings);
    }
    assert_eq!(live.warnings.len(), expect.len(), "{:#?}", live.warnings);
    // What strata can read still reads: columns of unknown type keep their exact type.
    let orders = live.definition.table("orders").unwrap();
    assert_eq!(orders.column("code").unwrap().native_type.as_deref(), Some("varchar(20)"));
    assert_eq!(orders.column("code").unwrap().column_type, ColumnType::Unknown);
    assert!(live.definition.table("order_totals").is_none(), "a view is not a table");
    // A trigger dies with its table: a repair dropping `orders` must name it.
    let trigger = live.warnings.iter().find(|w| w.kind == WarningKind::Trigger).unwrap();
    assert_eq!(trigger.depends_on, vec!["orders".to_string()]);
    // The database is the only scope: warnings name no schema, so two databases compare.
    assert_eq!(trigger.schema, "");
    assert_eq!(trigger.to_string(), "trigger \"orders_touch\" on table \"orders\": BEFORE UPDATE");
}

#[test]
fn query_count_does_not_grow_with_tables() {
    let ddl = |n: usize| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "CREATE TABLE `t{i}` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, `name` LONGTEXT NOT NULL, \
                     `parentId` BIGINT, CONSTRAINT `t{i}_fk_0` FOREIGN KEY (`parentId`) REFERENCES `t{i}` (`id`)) {TABLE_OPTIONS};\n\
                     CREATE INDEX `t{i}_name` ON `t{i}` (`name`(255));\n"
                )
            })
            .collect()
    };
    let small = MysqlScratch::new("mysql_qc_small");
    mysql_exec(&small.url, &ddl(1));
    let big = MysqlScratch::new("mysql_qc_big");
    mysql_exec(&big.url, &ddl(40));
    let a = mysql_introspect(&small.url);
    let b = mysql_introspect(&big.url);
    assert_eq!(b.definition.tables.len(), 40);
    assert_eq!(a.query_count, b.query_count);
    assert_eq!(a.query_count, strata_introspect::mysql::QUERIES.len() - 1, "no bookkeeping table here");
}

#[test]
fn a_connection_without_a_database_is_refused_saying_what_to_do() {
    let db = MysqlScratch::new("mysql_nodb");
    let server = db.url.rsplit_once('/').unwrap().0.to_string();
    let err = block_on(async {
        let mut c = sqlx::MySqlConnection::connect(&server).await.expect("connect");
        strata_introspect::introspect_mysql(&mut c, &Default::default()).await.unwrap_err()
    });
    let text = err.to_string();
    assert!(text.contains("no database selected") && text.contains("mysql://host/DATABASE"), "{text}");
}

#[test]
fn the_bookkeeping_table_gives_the_installed_versions() {
    let db = MysqlScratch::new("mysql_bookkeeping");
    mysql_exec(
        &db.url,
        &format!(
            "CREATE TABLE `serverpod_migrations` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, `module` LONGTEXT NOT NULL, \
             `version` LONGTEXT NOT NULL, `timestamp` DATETIME(3)) {TABLE_OPTIONS};\n\
             INSERT INTO `serverpod_migrations` (`module`, `version`) VALUES ('proj', '20240101000000000'), ('auth', '1');"
        ),
    );
    let live = mysql_introspect(&db.url);
    let versions: Vec<(String, String)> =
        live.installed_versions.iter().map(|v| (v.module.clone(), v.version.clone())).collect();
    assert_eq!(versions, vec![("auth".into(), "1".into()), ("proj".into(), "20240101000000000".into())]);
    assert_eq!(live.query_count, strata_introspect::mysql::QUERIES.len());

    // The runner's own table, once it exists, is where MySQL keeps the versions.
    mysql_exec(
        &db.url,
        "CREATE TABLE `strata_migration_version` (`module` varchar(255) NOT NULL PRIMARY KEY,          `version` varchar(255) NOT NULL, `timestamp` datetime(3) NOT NULL);
         INSERT INTO `strata_migration_version` VALUES ('proj', '20250101000000000', NOW(3));",
    );
    let live = mysql_introspect(&db.url);
    assert_eq!(live.installed_versions, vec![MigrationVersion::dependency("proj", "20250101000000000")]);
    assert_eq!(live.query_count, strata_introspect::mysql::QUERIES.len());
}

/// Every golden case's MySQL output (`expected-mysql/`, the emitter's `definition.sql`): the
/// database it builds on MariaDB introspects to its `definition.json` without drift.
#[test]
fn golden_mysql_definitions() {
    let files = golden_definition_files("expected-mysql");
    let mut seen = std::collections::HashSet::new();
    let mut cases = Vec::new();
    for f in &files {
        let sql = std::fs::read_to_string(f.with_file_name("definition.sql"))
            .unwrap_or_else(|e| panic!("{}: no definition.sql beside it: {e}", f.display()));
        if !seen.insert(sql.clone()) {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let mut def = definition_from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        strata_schema::normalize::normalize_definition(&mut def);
        cases.push((f.clone(), sql, def));
    }
    for chunk in cases.chunks(8) {
        std::thread::scope(|s| {
            for (f, sql, def) in chunk {
                s.spawn(move || {
                    let db = MysqlScratch::new("golden");
                    mysql_exec(&db.url, sql);
                    let live = mysql_introspect(&db.url);
                    assert_no_drift(&live, def, &f.display().to_string());
                });
            }
        });
    }
    eprintln!("golden MySQL definitions round-tripped on MariaDB: {}", cases.len());
    assert!(!cases.is_empty(), "no MySQL golden definition found");
}

#[test]
fn foreign_keys_from_another_database_are_named_as_inbound() {
    // Dropped in reverse order: the referencing database first.
    let parent = MysqlScratch::new("mysql_inbound_parent");
    let other = MysqlScratch::new("mysql_inbound_other");
    mysql_exec(
        &parent.url,
        &format!("CREATE TABLE `parent` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY) {TABLE_OPTIONS};"),
    );
    mysql_exec(
        &other.url,
        &format!(
            "CREATE TABLE `child` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, `parentId` BIGINT, \
             CONSTRAINT `child_to_parent` FOREIGN KEY (`parentId`) REFERENCES `{}`.`parent` (`id`)) {TABLE_OPTIONS};",
            parent.name
        ),
    );
    let live = mysql_introspect(&parent.url);
    let inbound: Vec<_> = live.warnings.iter().filter(|w| w.kind == WarningKind::InboundForeignKey).collect();
    assert_eq!(inbound.len(), 1, "{:#?}", live.warnings);
    assert_eq!(inbound[0].name, "child_to_parent");
    assert_eq!(inbound[0].schema, other.name, "it lives in the other database");
    assert!(inbound[0].depends_on_table("parent"));
    assert!(live.definition.table("parent").unwrap().foreign_keys.is_empty());
    // Read from its own side, the same key is an ordinary foreign key across databases.
    let live = mysql_introspect(&other.url);
    let fk = &live.definition.table("child").unwrap().foreign_keys[0];
    assert_eq!(
        (fk.reference_table.as_str(), fk.reference_table_schema.as_str()),
        ("parent", parent.name.as_str())
    );
}
