//! The statement-by-statement runner on the real MariaDB: per-statement progress, resume after a
//! fix, a killed connection, connection errors, generated files. Concurrent `strata apply`
//! processes and `kill -9` are tested as processes in strata-cli's `mysql_cli_apply.rs`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{to, Env, V1, V2, V3};
use strata_db::{ApplyOptions, DbError, Driver, StepKind, VersionState};

const V2_FILE: &str = "migrations/20250102000000000-orders/migration.sql";

/// The marker rows statements 2, 3 and 5 of V2 insert, in insertion order.
async fn markers(env: &Env) -> Vec<String> {
    env.rows("SELECT step FROM run_log ORDER BY id").await
}

/// V2's marker rows when every statement ran exactly once.
fn all_v2_markers() -> Vec<String> {
    ["v2 statement 2", "v2 statement 3; with a semicolon", "v2 statement 5"].map(String::from).to_vec()
}

/// A fresh MariaDB project at V1.
async fn at_v1(prefix: &str) -> Env {
    let env = Env::new(Driver::Mysql, prefix);
    env.apply_ok(to(V1)).await;
    assert_eq!(env.installed().await.as_deref(), Some(V1));
    env
}

fn break_statement_3(env: &Env) -> String {
    let good = env.read(V2_FILE);
    env.write(
        V2_FILE,
        &good.replace(
            "INSERT INTO `run_log` (`step`) VALUES ('v2 statement 3",
            "INSERT INTO `no_such_table` (`step`) VALUES ('v2 statement 3",
        ),
    );
    good
}

#[tokio::test]
async fn failure_at_statement_3_of_5_then_resume_runs_3_to_5_only() {
    let env = at_v1("my_resume").await;
    let good = break_statement_3(&env);

    let failure = env.apply(to(V2)).await.unwrap_err();
    match &failure.error {
        DbError::StatementFailed { done: 2, failed: 3, count: 5, message, .. } => {
            assert!(message.contains("no_such_table"), "{message}")
        }
        other => panic!("expected StatementFailed, got {other}"),
    }
    let shown = failure.error.to_string();
    assert!(shown.contains("resumes at statement 3") && shown.contains(V2_FILE), "{shown}");
    assert_eq!(markers(&env).await, ["v2 statement 2"], "statements 1-2 committed");
    assert_eq!(env.installed().await.as_deref(), Some(V1));

    let status = strata_db::status(&env.project, &env.target).await.unwrap();
    let row = status.rows.iter().find(|r| r.version == V2).unwrap();
    assert_eq!(row.state, VersionState::Failed);
    assert_eq!(row.dialect, "mysql");
    let detail = row.detail.as_deref().unwrap();
    assert!(detail.starts_with("2 of 5 statements done, statement 3 failed: "), "{detail}");
    assert!(detail.contains("no_such_table") && detail.contains("line 12"), "{detail}");
    let progress = row.progress.as_ref().unwrap();
    assert_eq!((progress.done, progress.count, progress.failed), (2, 5, Some(3)));

    env.write(V2_FILE, &good);
    let report = env.apply_ok(to(V2)).await;
    assert_eq!(report.applied.len(), 1);
    assert_eq!(markers(&env).await, all_v2_markers(), "statements 3-5 ran once, 1-2 not again");
    assert_eq!(env.installed().await.as_deref(), Some(V2));
    assert_eq!(
        env.history().await,
        [format!("{V1} definition ok"), format!("{V2} migration failed"), format!("{V2} migration ok")]
    );
    let status = strata_db::status(&env.project, &env.target).await.unwrap();
    let row = status.rows.iter().find(|r| r.version == V2).unwrap();
    assert_eq!((row.state, row.detail.as_deref()), (VersionState::Applied, None));
    assert!(status.rows.iter().all(|r| r.dialect == "mysql"), "{:?}", status.rows);
}

#[tokio::test]
async fn an_edited_statement_that_already_ran_is_refused_unless_accepted() {
    let env = at_v1("my_edit").await;
    let good = break_statement_3(&env);
    env.apply(to(V2)).await.unwrap_err();

    // Statement 2 ran; the user "fixes" the file and also changes statement 2.
    let edited = good.replace("'v2 statement 2'", "'v2 statement 2, edited'");
    env.write(V2_FILE, &edited);
    let e = env.apply(to(V2)).await.unwrap_err().error;
    assert!(matches!(e, DbError::CompletedStatementChanged { index: 2, line: 10, .. }), "{e}");
    let shown = e.to_string();
    assert!(
        shown.contains("statement 2 (line 10: `INSERT INTO `run_log`") && shown.contains("--accept-modified"),
        "{shown}"
    );
    assert_eq!(markers(&env).await, ["v2 statement 2"], "the refusal ran nothing");

    let opts = ApplyOptions { accept_modified: vec![V2.into()], ..to(V2) };
    env.apply_ok(opts).await;
    assert_eq!(markers(&env).await, all_v2_markers(), "resumed at statement 3 anyway");
}

#[tokio::test]
async fn retry_failed_resumes_too() {
    let env = at_v1("my_retry").await;
    let good = break_statement_3(&env);
    env.apply(to(V2)).await.unwrap_err();
    env.write(V2_FILE, &good);
    let report = env.apply_ok(ApplyOptions { retry_failed: true, ..Default::default() }).await;
    assert_eq!(report.applied.iter().map(|s| s.version.as_str()).collect::<Vec<_>>(), [V2]);
    assert_eq!(markers(&env).await, all_v2_markers());
}

#[tokio::test]
async fn dry_run_and_skip_failed_work_on_a_partly_applied_version() {
    let env = at_v1("my_skip").await;
    break_statement_3(&env);
    env.apply(to(V2)).await.unwrap_err();
    let before = env.snapshot().await;

    let dry = env.apply_ok(ApplyOptions { dry_run: true, ..Default::default() }).await;
    assert_eq!(dry.planned.iter().map(|s| s.version.as_str()).collect::<Vec<_>>(), [V2, V3]);
    assert_eq!(env.snapshot().await, before, "a dry run changes nothing");

    let skip = strata_db::SkipRequest { version: V2.into(), reason: "statement 3 done by hand".into() };
    let report = env.apply_ok(ApplyOptions { skip_failed: Some(skip), ..Default::default() }).await;
    assert_eq!(report.skipped.as_deref(), Some(V2));
    assert_eq!(report.applied.iter().map(|s| s.version.as_str()).collect::<Vec<_>>(), [V3]);
    assert_eq!(env.installed().await.as_deref(), Some(V3));
    assert_eq!(markers(&env).await, ["v2 statement 2"], "the skipped version's statements did not run");
}

#[tokio::test]
async fn a_version_moved_mid_migration_keeps_the_committed_progress() {
    let env = at_v1("my_raced").await;
    // Statement 3 plays a run that ignores the lock and moves the installed version.
    let good = env.read(V2_FILE);
    env.write(
        V2_FILE,
        &good.replace(
            "INSERT INTO `run_log` (`step`) VALUES ('v2 statement 3; with a semicolon')",
            &format!(
                "UPDATE `{}` SET `version` = '{V3}' WHERE `module` = 'shop'",
                strata_db::MYSQL_VERSION_TABLE
            ),
        ),
    );
    env.apply(to(V2)).await.unwrap_err();
    let rows = env
        .rows(&format!(
            "SELECT CONCAT(status, ' ', statements_done, ' ', error) FROM strata_migration_history WHERE version = '{V2}'"
        ))
        .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].starts_with("failed 3 the installed version changed to"), "{rows:?}");
}

#[tokio::test]
async fn whole_chain_then_nothing_pending() {
    let env = at_v1("my_chain").await;
    let report = env.apply_ok(ApplyOptions::default()).await;
    assert_eq!(report.applied.iter().map(|s| s.version.as_str()).collect::<Vec<_>>(), [V2, V3]);
    assert_eq!(env.installed().await.as_deref(), Some(V3));
    let again = env.apply_ok(ApplyOptions::default()).await;
    assert!(again.applied.is_empty());
    let status = strata_db::status(&env.project, &env.target).await.unwrap();
    assert!(status.up_to_date(), "{status:?}");
}

#[tokio::test]
async fn fresh_database_runs_the_latest_definition() {
    let env = Env::new(Driver::Mysql, "my_fresh");
    let report = env.apply_ok(ApplyOptions::default()).await;
    assert_eq!(report.applied[0].kind, StepKind::Definition);
    assert_eq!(env.installed().await.as_deref(), Some(V3));
    assert_eq!(markers(&env).await, all_v2_markers());
}

#[tokio::test]
async fn reset_and_rollback_refuse_clearly() {
    let env = at_v1("my_refuse").await;
    let before = env.snapshot().await;
    let request =
        strata_db::ResetRequest { tables: vec!["customer".into()], lock_timeout: Duration::from_secs(5) };
    let e = strata_db::reset(&env.project, &env.target, &request, &mut |_| {}).await.unwrap_err().error;
    assert!(matches!(e, DbError::NotSupported { driver: "mysql", .. }), "{e}");
    assert!(e.to_string().contains("DROP DATABASE"), "{e}");

    let request = strata_db::RollbackRequest {
        from: V1.into(),
        to: "20241231000000000".into(),
        sql: "DROP TABLE `customer`;".into(),
    };
    let e = strata_db::rollback(&env.project, &env.target, &request, Duration::from_secs(5), &mut |_| {})
        .await
        .unwrap_err()
        .error;
    assert!(matches!(e, DbError::NotSupported { .. }), "{e}");
    assert_eq!(env.snapshot().await, before, "nothing changed");
}

// ---- a killed connection (processes: crates/strata-cli/tests/mysql_cli_apply.rs) ------------------

/// Puts a 3-second `SELECT SLEEP(3)` as V2's statement 3 (after statement 2's marker).
fn slow_statement_3(env: &Env) {
    let good = env.read(V2_FILE);
    let slow = good.replacen(
        "INSERT INTO `run_log` (`step`) VALUES ('v2 statement 3",
        "SELECT SLEEP(3);\n\nINSERT INTO `run_log` (`step`) VALUES ('v2 statement 3",
        1,
    );
    env.write(V2_FILE, &slow);
}

/// The server connection id of the session running `SLEEP`, once it does.
async fn sleeping_connection(env: &Env) -> String {
    let sql =
        "SELECT CAST(id AS CHAR) FROM information_schema.processlist WHERE db = DATABASE() AND info LIKE 'SELECT SLEEP(3)%'";
    let t0 = Instant::now();
    loop {
        if let Some(id) = env.rows(sql).await.into_iter().next() {
            return id;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "the migration never reached its SLEEP");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn killed_migration_connection_stops_the_run_and_the_next_apply_completes() {
    let env = at_v1("my_killconn").await;
    slow_statement_3(&env);
    let run =
        async { strata_db::apply(&env.project, &env.target, &ApplyOptions::default(), &mut |_| {}).await };
    let kill = async {
        let id = sleeping_connection(&env).await;
        env.exec(&format!("KILL {id}")).await;
    };
    let (result, ()) = tokio::join!(run, kill);
    let e = result.unwrap_err().error;
    assert!(matches!(e, DbError::ConnectionLost { .. }), "{e}");
    assert!(e.to_string().contains("the database connection was lost while applying"), "{e}");
    assert_eq!(markers(&env).await, ["v2 statement 2"]);

    env.apply_ok(ApplyOptions::default()).await;
    assert_eq!(markers(&env).await, all_v2_markers(), "nothing recorded or run twice");
    assert_eq!(env.installed().await.as_deref(), Some(V3));
}

// ---- connection errors --------------------------------------------------------------------------

fn target(url: &str) -> strata_db::ConnectionTarget {
    let dir = tempfile::tempdir().unwrap();
    let project = strata_db::Project::with_defaults(dir.path(), "shop", Driver::Mysql);
    strata_db::resolve_connection(&project, Some(url), None).unwrap()
}

#[tokio::test]
async fn unreachable_host_fails_with_a_redacted_connect_error() {
    let t = target("mysql://root:Unreach4ble@127.0.0.1:1/shop");
    let e = strata_db::status(&strata_db::Project::with_defaults(".", "shop", Driver::Mysql), &t)
        .await
        .unwrap_err();
    assert!(matches!(e, DbError::Connect { .. }), "{e}");
    assert!(
        e.to_string().contains("mysql://root@127.0.0.1:1/shop") && !e.to_string().contains("Unreach4ble"),
        "{e}"
    );
}

#[tokio::test]
async fn silent_server_ends_in_the_connect_timeout() {
    let port = strata_testdb::silent_tcp_server();
    let t = target(&format!("mariadb://root:S1lentPass@127.0.0.1:{port}/shop?connect_timeout=2"));
    assert_eq!(t.connect_timeout(), Some(Duration::from_secs(2)));
    let t0 = Instant::now();
    let e = t.connect_mysql().await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(10), "bounded by the connect timeout");
    assert!(matches!(e, DbError::ConnectTimeout { .. }), "{e}");
    let shown = e.to_string();
    assert!(shown.contains(&format!("127.0.0.1:{port}")) && !shown.contains("S1lentPass"), "{shown}");
}

#[tokio::test]
async fn bad_password_is_refused_without_showing_it() {
    let db = strata_testdb::MysqlScratch::new("my_badpw");
    let url = db.url.replacen("mysql://root@", "mysql://root:Wr0ngPassw0rd@", 1);
    assert_ne!(url, db.url, "the scratch URL names root without a password: {}", db.url);
    let e = target(&url).connect_mysql().await.unwrap_err();
    let shown = e.to_string();
    assert!(matches!(e, DbError::Connect { .. }), "{shown}");
    assert!(shown.contains("Access denied") && !shown.contains("Wr0ngPassw0rd"), "{shown}");
}

// ---- generated files ------------------------------------------------------------------------------

/// Lays out a golden case's generated MySQL steps as a migrations directory: each step that
/// wrote files becomes the version its registry lists last. Returns the versions in order.
fn golden_project(case: &Path, project: &Path) -> Vec<String> {
    let mut steps: Vec<_> =
        std::fs::read_dir(case.join("expected-mysql")).unwrap().map(|e| e.unwrap().path()).collect();
    steps.sort();
    let mut versions = Vec::new();
    for step in steps.iter().filter(|s| s.join("migration.sql").is_file()) {
        let registry = std::fs::read_to_string(step.join("migration_registry.txt")).unwrap();
        let version = registry
            .lines()
            .rfind(|l| !l.starts_with('#') && !l.trim().is_empty())
            .unwrap()
            .trim()
            .to_string();
        let dir = project.join("migrations").join(&version);
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["migration.sql", "definition.sql"] {
            std::fs::copy(step.join(file), dir.join(file)).unwrap();
        }
        versions.push(version);
    }
    versions
}

#[tokio::test]
async fn every_generated_golden_chain_applies_statement_by_statement() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden");
    let mut cases: Vec<_> = std::fs::read_dir(&golden).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    let mut applied = 0;
    for case in cases.iter().filter(|c| c.join("expected-mysql").is_dir()) {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let dir = tempfile::tempdir().unwrap();
        let versions = golden_project(case, dir.path());
        let Some(first) = versions.first() else { continue };
        let db = strata_testdb::MysqlScratch::new("my_golden");
        let project = strata_db::Project::with_defaults(dir.path(), "golden", Driver::Mysql);
        let target = strata_db::resolve_connection(&project, Some(&db.url), None).unwrap();
        let apply = |opts: ApplyOptions| {
            let (project, target) = (project.clone(), target.clone());
            async move { strata_db::apply(&project, &target, &opts, &mut |_| {}).await }
        };
        // The first version from its definition.sql, every later one from its migration.sql.
        if let Err(e) = apply(to(first)).await {
            panic!("{name}: {first}: {e}");
        }
        if let Err(e) = apply(ApplyOptions::default()).await {
            panic!("{name}: {e}");
        }
        let status = strata_db::status(&project, &target).await.unwrap();
        assert!(status.up_to_date(), "{name}: {status:?}");
        assert_eq!(status.installed.as_ref(), versions.last(), "{name}");
        applied += versions.len();
    }
    assert!(applied > 20, "only {applied} generated versions found");
}
