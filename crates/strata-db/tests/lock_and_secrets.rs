//! PostgreSQL locking, password hygiene and dialect checks.

mod common;

use std::time::{Duration, Instant};

use common::*;
use sqlx::Connection;
use strata_db::{ApplyEvent, ApplyOptions, DbError, Driver};

#[tokio::test]
async fn lock_timeout_names_the_holder_pid_and_lock_is_released_after() {
    let env = Env::new(Driver::Postgres, "lock");
    let url = env.target.redacted().to_string(); // trust auth: no password in the scratch URL
    let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut holder).await.unwrap();
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('serverpod_migration_lock'))")
        .fetch_one(&mut holder)
        .await
        .unwrap();
    assert!(got);

    let opts = ApplyOptions { lock_timeout: Duration::from_millis(400), ..Default::default() };
    let mut waiting_holders = Vec::new();
    let t0 = Instant::now();
    let e = strata_db::apply(&env.project, &env.target, &opts, &mut |e: &ApplyEvent| {
        if let ApplyEvent::LockWaiting { holders } = e {
            waiting_holders = holders.to_vec();
        }
    })
    .await
    .unwrap_err();
    assert!(t0.elapsed() >= Duration::from_millis(400));
    assert!(matches!(&e.error, DbError::LockTimeout { holders, .. } if holders == &[i64::from(pid)]), "{e}");
    assert!(e.to_string().contains(&pid.to_string()), "{e}");
    assert_eq!(waiting_holders, [i64::from(pid)]);
    assert!(env.history().await.is_empty(), "nothing may run without the lock");

    // Closing the holder's session frees the lock: nothing to clean up.
    holder.close().await.unwrap();
    env.apply_ok(opts).await;
    // Only this test's database: tests running in parallel hold their own locks elsewhere.
    let left: Vec<String> = env
        .rows(
            "SELECT pid::text FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .await;
    assert!(left.is_empty(), "advisory lock left behind: {left:?}");
}

#[tokio::test]
async fn passwords_never_appear_in_errors() {
    let env = Env::new(Driver::Postgres, "secret");
    // Port 1: connection refused; the password must not surface anywhere.
    let target = strata_db::resolve_connection(
        &env.project,
        Some("postgres://bob:Pa55w0rdXYZ@127.0.0.1:1/nodb"),
        None,
    )
    .unwrap();
    let e = strata_db::apply(&env.project, &target, &ApplyOptions::default(), &mut |_: &ApplyEvent| {})
        .await
        .unwrap_err();
    for text in [e.to_string(), format!("{e:?}"), target.to_string(), format!("{target:?}")] {
        assert!(!text.contains("Pa55w0rdXYZ"), "{text}");
    }
    assert!(e.to_string().contains("bob@127.0.0.1:1/nodb"), "{e}");
    let e = strata_db::status(&env.project, &target).await.unwrap_err();
    assert!(!format!("{e} {e:?}").contains("Pa55w0rdXYZ"));

    // A reachable server, wrong database: still no password.
    let admin = strata_testdb::PgScratch::admin_url();
    let bad = admin
        .replacen("postgres://postgres@", "postgres://postgres:Pa55w0rdXYZ@", 1)
        .replace("/postgres", "/no_such_db_strata");
    let target = strata_db::resolve_connection(&env.project, Some(&bad), None).unwrap();
    let e = strata_db::status(&env.project, &target).await.unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(!text.contains("Pa55w0rdXYZ") && text.contains("no_such_db_strata"), "{text}");
}

#[tokio::test]
async fn dialect_mismatch_is_refused() {
    let env = Env::new(Driver::Postgres, "dialect");
    let lite = strata_testdb::SqliteScratch::new("dialect");
    let target = strata_db::resolve_connection(&env.project, Some(&lite.url), None).unwrap();
    let e = strata_db::apply(&env.project, &target, &ApplyOptions::default(), &mut |_: &ApplyEvent| {})
        .await
        .unwrap_err();
    assert!(matches!(e.error, DbError::DialectMismatch { .. }), "{e}");
    assert!(!lite.path.exists());
}

#[tokio::test]
async fn malformed_file_is_a_typed_error_naming_it() {
    let env = Env::new(Driver::Sqlite, "malformed");
    env.write(&format!("migrations/{V3}/definition.sql"), "CREATE TABLE x (id int);\n");
    let e = env.apply(ApplyOptions::default()).await.unwrap_err();
    assert!(matches!(e.error, DbError::MalformedFile { .. }), "{e}");
    assert!(e.to_string().contains("definition.sql"), "{e}");
}

#[tokio::test]
async fn concurrent_sqlite_applies_run_each_step_once() {
    let env = Env::new(Driver::Sqlite, "lite_conc");
    env.apply_ok(to(V1)).await;
    let runs = (0..4)
        .map(|_| env.apply(ApplyOptions { lock_timeout: Duration::from_secs(20), ..Default::default() }));
    let results = futures_join_all(runs).await;
    let mut applied = Vec::new();
    for r in results {
        let r = r.unwrap_or_else(|e| panic!("{e}"));
        applied.extend(r.applied.into_iter().map(|s| s.version));
    }
    applied.sort();
    assert_eq!(applied, [V2.to_string(), V3.to_string()], "each step exactly once across all runs");
    assert_eq!(
        env.history().await,
        [format!("{V1} definition ok"), format!("{V2} migration ok"), format!("{V3} migration ok")]
    );
}

/// Runs futures concurrently on the current task (no extra dependency for `join_all`).
async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    let mut handles: Vec<Option<_>> = handles.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (h, out) in handles.iter_mut().zip(outputs.iter_mut()) {
            if let Some(f) = h {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *out = Some(v);
                        *h = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("completed")).collect()
}

#[tokio::test]
async fn statements_after_commit_run_outside_the_transaction() {
    // `CREATE INDEX CONCURRENTLY` cannot run inside a transaction block: a hand-edited
    // migration.sql can put it after `COMMIT;`, and strata runs it there, after the commit.
    let env = Env::new(Driver::Postgres, "cic");
    env.apply_ok(to(V2)).await;
    let v3 = format!("migrations/{V3}/migration.sql");
    env.write(
        &v3,
        &format!(
            "{}CREATE INDEX CONCURRENTLY \"customer_name_idx\" ON \"customer\" (\"name\");\n",
            env.read(&v3)
        ),
    );
    let r = env.apply_ok(ApplyOptions::default()).await;
    assert_eq!(r.applied.len(), 1);
    let valid = env
        .rows("SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'customer_name_idx'::regclass")
        .await;
    assert_eq!(valid, ["true"]);
}

#[tokio::test]
async fn a_file_that_does_not_record_its_version_is_rolled_back() {
    for d in [Driver::Postgres, Driver::Sqlite] {
        let env = Env::new(d, "noupsert");
        env.apply_ok(to(V1)).await;
        let v2 = format!("migrations/{V2}/migration.sql");
        let text = env.read(&v2);
        let cut = text.find("--\n-- MIGRATION VERSION FOR shop").unwrap();
        let end = text.find("\nCOMMIT;").unwrap();
        env.write(&v2, &format!("{}{}", &text[..cut], &text[end..]));
        let before = env.user_snapshot().await;
        let e = env.apply(ApplyOptions::default()).await.unwrap_err();
        assert!(e.to_string().contains(&format!("did not record version {V2}")), "{e}");
        assert_eq!(env.user_snapshot().await, before);
        assert!(!env.has_table("order").await);
    }
}

#[tokio::test]
async fn wrong_module_name_is_named_instead_of_rerunning_definition() {
    let env = Env::new(Driver::Sqlite, "module");
    env.apply_ok(ApplyOptions::default()).await;
    let renamed = strata_db::Project { module_name: "shop_v2".into(), ..env.project.clone() };
    let e = strata_db::apply(&renamed, &env.target, &ApplyOptions::default(), &mut |_: &ApplyEvent| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&e.error, DbError::Plan(strata_db::PlanError::ModuleNotInstalled { others, .. }) if others == &["shop"]),
        "{e}"
    );
    assert!(e.to_string().contains("shop_v2"), "{e}");
}
