//! The statement-by-statement runner on the real MariaDB: per-statement progress, resume after a
//! fix, exactly once under concurrency, SIGKILL and a killed connection, connection errors.

mod common;

use std::process::{Command, Stdio};
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

// ---- separate processes -----------------------------------------------------------------------

/// Set in a child process: apply the project in this directory to this URL, then exit.
const CHILD_DIR: &str = "STRATA_TEST_MYSQL_CHILD_DIR";
const CHILD_URL: &str = "STRATA_TEST_MYSQL_CHILD_URL";

/// Not a test of its own: the body of a child `apply` process (this test binary run again with
/// `--exact child_apply`), which exits 0 on success and 1 on failure, as `strata apply` does.
#[tokio::test]
async fn child_apply() {
    let (Ok(dir), Ok(url)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_URL)) else { return };
    let project = strata_db::Project::with_defaults(&dir, "shop", Driver::Mysql);
    let target = strata_db::resolve_connection(&project, Some(&url), None).unwrap();
    let opts = ApplyOptions { lock_timeout: Duration::from_secs(60), ..Default::default() };
    match strata_db::apply(&project, &target, &opts, &mut |_| {}).await {
        Ok(_) => std::process::exit(0),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}

fn child(env: &Env) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "child_apply", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, env.dir.path())
        .env(CHILD_URL, env.url())
        .stdout(Stdio::null());
    c
}

#[tokio::test]
async fn eight_concurrent_apply_processes_run_each_migration_once() {
    let env = at_v1("my_conc").await;
    let children: Vec<_> = (0..8).map(|_| child(&env).stderr(Stdio::piped()).spawn().unwrap()).collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(markers(&env).await, all_v2_markers(), "each statement of V2 ran once");
    assert_eq!(env.installed().await.as_deref(), Some(V3));
    let ok: Vec<String> = env.history().await.into_iter().filter(|h| h.ends_with(" ok")).collect();
    assert_eq!(
        ok,
        [format!("{V1} definition ok"), format!("{V2} migration ok"), format!("{V3} migration ok")]
    );
}

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
async fn sigkill_mid_migration_then_apply_completes() {
    let env = at_v1("my_kill9").await;
    slow_statement_3(&env);
    let mut process = child(&env).stderr(Stdio::null()).spawn().unwrap();
    sleeping_connection(&env).await;
    process.kill().unwrap(); // SIGKILL
    process.wait().unwrap();
    assert_eq!(markers(&env).await, ["v2 statement 2"]);

    // The server releases the dead session's GET_LOCK once it notices; this apply waits for it,
    // marks the killed attempt interrupted and resumes after its two recorded statements.
    let report =
        env.apply_ok(ApplyOptions { lock_timeout: Duration::from_secs(30), ..Default::default() }).await;
    assert_eq!(report.applied.iter().map(|s| s.version.as_str()).collect::<Vec<_>>(), [V2, V3]);
    assert_eq!(markers(&env).await, all_v2_markers(), "nothing ran twice");
    let v2: Vec<String> = env.history().await.into_iter().filter(|h| h.starts_with(V2)).collect();
    assert_eq!(v2, [format!("{V2} migration failed"), format!("{V2} migration ok")]);
    let error = env
        .rows(&format!(
            "SELECT error FROM strata_migration_history WHERE version = '{V2}' ORDER BY id LIMIT 1"
        ))
        .await;
    assert!(error[0].starts_with("interrupted: "), "{error:?}");
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
