//! Byte-level checks against migration.json files Serverpod wrote (verbatim in the spec, §3.3–3.5).

mod common;

use common::*;
use strata_diff::generate_migration;
use strata_schema::*;

fn log_table(name: &str, index: Option<&[&str]>) -> TableDefinition {
    let t =
        table(name, vec![col("sessionLogId").ty(ColumnType::Bigint), col("order").ty(ColumnType::Bigint)]);
    match index {
        Some(cols) => t.index(idx(&format!("{name}_sessionLogId_idx"), cols)),
        None => t,
    }
}

#[test]
fn index_changes_match_serverpod_bytes() {
    let old = db(vec![
        log_table("serverpod_log", Some(&["sessionLogId"])),
        log_table("serverpod_message_log", None),
        log_table("serverpod_query_log", Some(&["sessionLogId"])),
        table("serverpod_session_log", vec![]),
    ]);
    let new = db(vec![
        log_table("serverpod_log", Some(&["sessionLogId", "order"])),
        log_table("serverpod_message_log", Some(&["sessionLogId", "order"])),
        log_table("serverpod_query_log", Some(&["sessionLogId", "order"])),
        table("serverpod_session_log", vec![]),
    ]);
    let expected = include_str!("fixtures/index_changes.json");
    assert_eq!(migration_to_json(&generate_migration(&old, &new)), expected);
}

#[test]
fn table_dropped_matches_serverpod_v1_file() {
    let old = db(vec![table("serverpod_auth_key", vec![col("hash")]), table("serverpod_user_info", vec![])]);
    let new = db(vec![table("serverpod_user_info", vec![])]);
    let expected = migration_from_json(include_str!("fixtures/table_dropped_v1.json")).unwrap();
    assert_eq!(generate_migration(&old, &new), expected);
}

#[test]
fn nullability_change_matches_serverpod_v1_file() {
    let before =
        table("serverpod_user_info", vec![col("userIdentifier"), col("userName"), col("email").nullable()]);
    let mut after = before.clone();
    after.columns[2].is_nullable = true;
    let expected = migration_from_json(include_str!("fixtures/nullability_v1.json")).unwrap();
    assert_eq!(generate_migration(&db(vec![before]), &db(vec![after])), expected);
}
