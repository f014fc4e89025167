//! `apply --targets` / `status --targets` on the local PostgreSQL: a 50-database fleet with one
//! broken database, resumption, `--on-error stop`, tenant schemas with their own history and
//! lock, and the error paths (bad line, empty file, failing schema query, unreachable target).

mod common;

use std::time::{Duration, Instant};

use common::{pg_exec, pg_strings, Project, V1};
use strata_testdb::PgScratch;

/// Writes the targets file `fleet.txt` into the project and returns its path.
fn targets_file(p: &Project, text: &str) -> String {
    let path = p.dir.join("fleet.txt");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}\n{stdout}"))
}

fn ok_rows(url: &str) -> Vec<String> {
    pg_strings(url, "SELECT version FROM strata_migration_history WHERE status = 'ok' ORDER BY id")
}

#[test]
fn fifty_databases_one_broken_then_fixed_and_resumed() {
    let p = Project::store();
    let t0 = Instant::now();
    let dbs = PgScratch::many("fleet50", 50);
    let created = t0.elapsed();
    // A table in the way makes the first migration fail on database 17 only.
    pg_exec(&dbs[17].url, "CREATE TABLE company (id int)");
    let mut text = "# the whole fleet\n\n".to_string();
    for db in dbs.iter() {
        text.push_str(&format!("{}\n", db.url));
    }
    let file = targets_file(&p, &text);

    let t1 = Instant::now();
    let run = p.run(&[
        "apply",
        "--targets",
        &file,
        "--parallel",
        "4",
        "--on-error",
        "continue",
        "--format",
        "json",
    ]);
    let first = t1.elapsed();
    run.code(1).stderr_says("50 target(s): 49 applied, 0 up to date, 1 failed, 0 not started");
    let report = json(&run.stdout);
    assert_eq!(report["summary"]["applied"], 49, "{report}");
    assert_eq!(report["summary"]["failed"], 1);
    let broken = &report["targets"][17];
    assert_eq!(broken["line"], 20, "comments and blank lines keep the file's line numbers");
    assert_eq!(broken["result"], "failed");
    assert_eq!(broken["after"], serde_json::Value::Null);
    assert!(broken["error"].as_str().unwrap().contains("relation \"company\" already exists"), "{broken}");
    assert_eq!(report["targets"][0]["before"], serde_json::Value::Null);
    assert_eq!(report["targets"][0]["after"], V1);
    run.stderr_says("| FAILED: migration ").stderr_says(&format!("line 20 {}:", dbs[17].url));

    // Fixed by hand, then the same command again: only the broken one runs.
    pg_exec(&dbs[17].url, "DROP TABLE company");
    let run = p.run(&["apply", "--targets", &file, "--format", "json"]);
    run.code(0).stderr_says("50 target(s): 1 applied, 49 up to date, 0 failed, 0 not started");
    let report = json(&run.stdout);
    assert_eq!(report["targets"][17]["result"], "applied");
    assert_eq!(report["targets"][3]["result"], "up to date");
    for db in [&dbs[0], &dbs[17], &dbs[49]] {
        assert_eq!(ok_rows(&db.url), [V1], "each version ran once on {}", db.name);
    }

    let status = p.run(&["status", "--targets", &file]);
    status.code(0).says("50 target(s): 50 up to date, 0 behind or failed, 0 unreadable");
    let t2 = Instant::now();
    drop(dbs);
    eprintln!(
        "fleet of 50: created in {created:?}, first apply (--parallel 4) {first:?}, dropped in {:?}",
        t2.elapsed()
    );
}

#[test]
fn on_error_stop_starts_no_further_target() {
    let p = Project::store();
    let dbs = PgScratch::many("fleetstop", 3);
    pg_exec(&dbs[0].url, "CREATE TABLE company (id int)");
    let file = targets_file(&p, &format!("{}\n{}\n{}\n", dbs[0].url, dbs[1].url, dbs[2].url));
    let run = p.run(&["apply", "--targets", &file, "--parallel", "1"]);
    run.code(1).stderr_says("3 target(s): 0 applied, 0 up to date, 1 failed, 2 not started");
    run.stderr_says("not started (stopped after a failure)");
    for db in &dbs[1..] {
        let tables = pg_strings(&db.url, "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'");
        assert!(tables.is_empty(), "{} was not touched: {tables:?}", db.name);
    }
}

#[test]
fn status_shows_which_database_is_behind() {
    let p = Project::store();
    let dbs = PgScratch::many("fleetstatus", 2);
    p.run(&["apply", "--database-url", &dbs[0].url]).code(0);
    // The second database is the project's `--mode staging` connection.
    let yaml =
        format!("database:\n  host: 127.0.0.1\n  port: 5432\n  name: {}\n  user: postgres\n", dbs[1].name);
    common::write(&p.dir.join("config/staging.yaml"), &yaml);
    let file = targets_file(&p, &format!("{}\n--mode staging\n", dbs[0].url));
    let run = p.run(&["status", "--targets", &file, "--format", "json"]);
    run.code(2);
    let s = json(&run.stdout);
    assert_eq!(s["targets"][0]["installed"], V1);
    assert_eq!(s["targets"][0]["up_to_date"], true);
    assert_eq!(s["targets"][1]["target"], format!("postgres://postgres@127.0.0.1:5432/{}", dbs[1].name));
    assert_eq!(s["targets"][1]["installed"], serde_json::Value::Null);
    assert_eq!(s["targets"][1]["pending"], 1);
    let table = p.run(&["status", "--targets", &file]);
    table
        .code(2)
        .says("1 version(s) need `strata apply`")
        .says("1 up to date, 1 behind or failed, 0 unreadable");
    p.run(&["status", "--targets", &file, "--format", "csv"])
        .code(1)
        .says("--format csv is not available with --targets");
}

#[test]
fn an_unreachable_target_is_its_own_failure_and_never_hangs() {
    let p = Project::store();
    let db = PgScratch::new("fleetunreach");
    let silent = strata_testdb::silent_tcp_server();
    let dead = format!("postgres://postgres:s3cret@127.0.0.1:{silent}/nowhere");
    let file = targets_file(&p, &format!("{dead}\n{}\n", db.url));
    let t0 = Instant::now();
    let run = p.run(&["apply", "--targets", &file, "--on-error", "continue", "--connect-timeout", "1s"]);
    assert!(t0.elapsed() < Duration::from_secs(20), "took {:?}", t0.elapsed());
    run.code(1).stderr_says("1 applied, 0 up to date, 1 failed").stderr_says("did not answer within 1s");
    assert!(!run.stderr.contains("s3cret") && !run.stdout.contains("s3cret"), "{}", run.stderr);
    let status = p.run(&["status", "--targets", &file, "--connect-timeout", "1s"]);
    status.code(1).says("ERROR: ").says("1 unreadable");
    assert!(!status.stdout.contains("s3cret") && !status.stderr.contains("s3cret"));
}

#[test]
fn fleet_flags_without_targets_are_refused_not_ignored() {
    let p = Project::store();
    let db = PgScratch::new("fleetflags");
    for (flags, named) in [
        (&["--parallel", "2"][..], "--parallel"),
        (&["--on-error", "continue"][..], "--on-error"),
        (&["--format", "json"][..], "--format"),
    ] {
        let mut args = vec!["apply", "--database-url", &db.url];
        args.extend_from_slice(flags);
        p.run(&args).code(1).stderr_says(&format!("{named} only applies to a fleet: add --targets FILE"));
    }
    p.run(&["status", "--database-url", &db.url, "--parallel", "2"])
        .code(1)
        .stderr_says("--parallel only applies");
    assert!(
        pg_strings(&db.url, "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'").is_empty()
    );
}

#[test]
fn a_bad_targets_file_stops_before_anything_runs() {
    let p = Project::store();
    let db = PgScratch::new("fleetbad");
    let untouched = |db: &PgScratch| {
        pg_strings(&db.url, "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'").is_empty()
    };
    let file = targets_file(&p, &format!("{}\n# ok so far\nfoo bar\n", db.url));
    p.run(&["apply", "--targets", &file]).code(1).stderr_says("fleet.txt:3: `foo` is not a database URL");
    assert!(untouched(&db));

    let file = targets_file(&p, "# nobody\n\n");
    p.run(&["apply", "--targets", &file]).code(1).stderr_says("fleet.txt: no targets");
    p.run(&["status", "--targets", &file]).code(1).stderr_says("fleet.txt: no targets");

    let file = targets_file(
        &p,
        &format!("{}\nschemas {} SELECT no_such_column FROM pg_namespace\n", db.url, db.url),
    );
    let run = p.run(&["apply", "--targets", &file]);
    run.code(1).stderr_says("fleet.txt:2: the schema query failed").stderr_says("no_such_column");
    assert!(untouched(&db));

    let file =
        targets_file(&p, &format!("schemas {} SELECT nspname FROM pg_namespace WHERE false\n", db.url));
    p.run(&["apply", "--targets", &file])
        .code(1)
        .stderr_says("fleet.txt:1: the schema query returned no schemas");

    p.run(&["apply", "--targets", "missing.txt"])
        .code(1)
        .stderr_says("missing.txt: cannot read the targets file");
    p.run(&["apply", "--targets", &file, "--dry-run"]).code(1).stderr_says("cannot be used with");
}

#[test]
fn tenant_schemas_have_their_own_history_and_lock() {
    let p = Project::store();
    let db = PgScratch::new("fleettenants");
    pg_exec(
        &db.url,
        "CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b; CREATE SCHEMA \"tenant C\"; CREATE SCHEMA other",
    );
    let line = format!(
        "schemas {} SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant%' ORDER BY nspname COLLATE \"C\"\n",
        db.url
    );
    let file = targets_file(&p, &line);
    let run = p.run(&["apply", "--targets", &file, "--format", "json"]);
    run.code(0).stderr_says("3 target(s): 3 applied");
    let report = json(&run.stdout);
    assert_eq!(report["targets"][0]["target"], format!("{} [schema tenant C]", db.url));
    for schema in ["tenant_a", "tenant_b", "tenant C"] {
        let tables = pg_strings(
            &db.url,
            &format!("SELECT tablename::text FROM pg_tables WHERE schemaname = '{schema}' ORDER BY 1"),
        );
        assert_eq!(
            tables,
            ["company", "employee", "serverpod_migrations", "strata_migration_history"],
            "{schema}"
        );
    }
    let elsewhere =
        pg_strings(&db.url, "SELECT tablename::text FROM pg_tables WHERE schemaname IN ('public', 'other')");
    assert!(elsewhere.is_empty(), "{elsewhere:?}");

    // A tenant's lock blocks that tenant only, and the database's own lock blocks no tenant.
    p.add_store_field("company", "city: String?", common::LATER);
    let held = [
        "SELECT pg_advisory_lock(hashtext('serverpod_migration_lock:tenant_b'))",
        "SELECT pg_advisory_lock(hashtext('serverpod_migration_lock'))",
    ];
    let run = common::block_on(async {
        use sqlx::Connection;
        let mut holder = sqlx::PgConnection::connect(&db.url).await.unwrap();
        for sql in held {
            sqlx::raw_sql(sql).execute(&mut holder).await.unwrap();
        }
        let run = p.run(&["apply", "--targets", &file, "--on-error", "continue", "--lock-timeout", "1s"]);
        holder.close().await.unwrap();
        run
    });
    run.code(1).stderr_says("3 target(s): 2 applied, 0 up to date, 1 failed");
    run.stderr_says(&format!("{} [schema tenant_b]", db.url)).stderr_says("migration lock");
    let status = p.run(&["status", "--targets", &file, "--format", "json"]);
    let s = json(&status.stdout);
    let up: Vec<bool> = (0..3).map(|i| s["targets"][i]["up_to_date"].as_bool().unwrap()).collect();
    assert_eq!(up, [true, true, false], "{s}");
    p.run(&["apply", "--targets", &file]).code(0).stderr_says("1 applied, 2 up to date");
}
