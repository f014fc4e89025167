//! Background-job throughput: a 1,000,000-row backfill on PostgreSQL through
//! `strata_db::background::run`, at several batch sizes (docs/performance.md).
//!
//! ```text
//! cargo build --release -p strata-bench --bin background_bench
//! target/release/background_bench [--rows 1000000] [--batch-sizes 10000,1000] [--runs 3]
//! ```
//!
//! Each run starts from a freshly filled, vacuumed table (`id bigserial`, `counter integer`) in a
//! scratch database, and the job increments `counter` over every row; the figure is rows per
//! second of wall-clock time for the whole job (key range read, every batch with its progress
//! update, commits), median of `--runs`. The server is `STRATA_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`).

use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::Connection;
use strata_db::{ApplyOptions, Driver, Project};

const VERSION: &str = "20260101000000000";

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.into())
}

/// A project whose one version carries one job per batch size.
fn write_project(root: &Path, sizes: &[i64]) {
    let v = root.join("migrations").join(VERSION);
    std::fs::create_dir_all(v.join("background")).unwrap();
    std::fs::write(root.join("strata.toml"), "module_name = \"bench\"\ndialect = \"postgres\"\n").unwrap();
    let sql = format!(
        "BEGIN;\nCREATE TABLE \"serverpod_migrations\" (\"id\" bigserial PRIMARY KEY, \"module\" text NOT NULL, \"version\" text NOT NULL, \"timestamp\" timestamp);\n\
         CREATE UNIQUE INDEX \"serverpod_migrations_ids\" ON \"serverpod_migrations\" (\"module\");\n\
         INSERT INTO \"serverpod_migrations\" (\"module\", \"version\", \"timestamp\") VALUES ('bench', '{VERSION}', now());\nCOMMIT;\n"
    );
    std::fs::write(v.join("definition.sql"), &sql).unwrap();
    std::fs::write(v.join("migration.sql"), &sql).unwrap();
    for size in sizes {
        let job = format!(
            "-- strata:table item\n-- strata:key id\n-- strata:batch_size {size}\n\
             UPDATE \"item\" SET \"counter\" = \"counter\" + 1 WHERE \"id\" BETWEEN $1 AND $2;\n"
        );
        std::fs::write(v.join("background").join(format!("bump_{size}.sql")), job).unwrap();
    }
}

async fn refill(url: &str, rows: i64) {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let sql = format!(
        "DROP TABLE IF EXISTS item; DELETE FROM strata_background_jobs;\
         CREATE TABLE item (id bigserial PRIMARY KEY, counter integer NOT NULL DEFAULT 0);\
         INSERT INTO item (counter) SELECT 0 FROM generate_series(1, {rows});"
    );
    sqlx::raw_sql(&sql).execute(&mut c).await.unwrap();
    sqlx::raw_sql("VACUUM ANALYZE item").execute(&mut c).await.unwrap();
    c.close().await.ok();
}

async fn bench(rows: i64, sizes: &[i64], runs: usize) {
    let db = strata_testdb::PgScratch::new("bg_bench");
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path(), sizes);
    let project = Project::with_defaults(dir.path(), "bench", Driver::Postgres);
    let target = strata_db::resolve_connection(&project, Some(&db.url), None).unwrap();
    strata_db::apply(&project, &target, &ApplyOptions::default(), &mut |_| {}).await.unwrap();
    // The first run creates the job table; refill clears it.
    let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE item (id bigint PRIMARY KEY, counter integer NOT NULL DEFAULT 0)")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.ok();
    strata_db::background::run(&project, &target, None, &mut |_| {}).await.unwrap();
    println!("rows      batch_size  batches  median_s  rows_per_s  (runs: {runs})");
    for &size in sizes {
        let mut times: Vec<Duration> = Vec::new();
        for _ in 0..runs {
            refill(&db.url, rows).await;
            let name = format!("bump_{size}");
            let t0 = Instant::now();
            strata_db::background::run(&project, &target, Some(&name), &mut |_| {}).await.unwrap();
            times.push(t0.elapsed());
        }
        times.sort();
        let median = times[times.len() / 2].as_secs_f64();
        let batches = (rows + size - 1) / size;
        println!("{rows:<9} {size:<11} {batches:<8} {median:<9.2} {:.0}", rows as f64 / median);
    }
}

fn main() {
    let rows: i64 = arg("--rows", "1000000").parse().expect("--rows N");
    let sizes: Vec<i64> = arg("--batch-sizes", "10000,1000")
        .split(',')
        .map(|s| s.trim().parse().expect("--batch-sizes N,M"))
        .collect();
    let runs: usize = arg("--runs", "3").parse().expect("--runs N");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(bench(rows, &sizes, runs));
}
