//! Introspection vs `pg_dump --schema-only` on a 1,000-table database, in the same run.
//!
//! Run: `cargo bench -p strata-introspect --bench introspect_bench` (PostgreSQL must be up;
//! `STRATA_BENCH_TABLES` overrides the table count). Each table has 15 columns, 2 indexes and
//! 1 foreign key (`strata_testdb::bench_schema`, shared with `strata-bench --live-diff`). Both tools read the same scratch database; the best and median of several
//! runs are printed.
//!
//! Then the live-vs-live scenario of `strata diff --from db:A --to db:B`: a second database of the
//! same size, read after the first (serial) and at the same time (`introspect_both`, as the CLI
//! does), fresh connections each round.

use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};
use strata_introspect::{introspect_both, introspect_postgres, IntrospectOptions, Introspector};
use strata_testdb::bench_schema::{pg_bench_schema, Shape};
use strata_testdb::PgScratch;

const RUNS: usize = 7;

fn create_schema(rt: &tokio::runtime::Runtime, url: &str, tables: usize) {
    rt.block_on(async {
        let mut c = PgConnection::connect(url).await.expect("connect");
        sqlx::raw_sql(&pg_bench_schema(tables, Shape::Base)).execute(&mut c).await.expect("create schema");
        sqlx::raw_sql("ANALYZE").execute(&mut c).await.expect("analyze");
        c.close().await.ok();
    });
}

/// Two databases read one after the other, then at the same time: (serial, concurrent) times.
fn live_vs_live(
    rt: &tokio::runtime::Runtime,
    a: &str,
    b: &str,
    tables: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let opts = IntrospectOptions::default();
    let (mut serial, mut concurrent) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for _ in 0..RUNS {
            let start = Instant::now();
            for url in [a, b] {
                let mut c = PgConnection::connect(url).await.expect("connect");
                let live = c.introspect(&opts).await.expect("introspect");
                assert_eq!(live.definition.tables.len(), tables);
            }
            serial.push(start.elapsed());

            let start = Instant::now();
            let (mut ca, mut cb) =
                tokio::try_join!(PgConnection::connect(a), PgConnection::connect(b)).expect("connect");
            let (la, lb) = introspect_both(&mut ca, &opts, &mut cb, &opts).await.expect("introspect");
            concurrent.push(start.elapsed());
            assert_eq!((la.definition.tables.len(), lb.definition.tables.len()), (tables, tables));
        }
    });
    (serial, concurrent)
}

fn summary(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[0], times[times.len() / 2])
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let tables: usize =
        std::env::var("STRATA_BENCH_TABLES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let db = PgScratch::new("introspect_bench");
    let created = Instant::now();
    create_schema(&rt, &db.url, tables);
    println!("created {tables} tables (15 columns, 2 indexes, 1 FK each) in {}", ms(created.elapsed()));

    let mut strata = Vec::new();
    let mut queries = 0;
    let mut columns = 0;
    rt.block_on(async {
        for _ in 0..RUNS {
            // A fresh connection per run, as the CLI does: connection setup is part of the cost.
            let start = Instant::now();
            let mut c = PgConnection::connect(&db.url).await.expect("connect");
            let live = introspect_postgres(&mut c, &IntrospectOptions::default()).await.expect("introspect");
            strata.push(start.elapsed());
            c.close().await.ok();
            assert_eq!(live.definition.tables.len(), tables);
            queries = live.query_count;
            columns = live.definition.tables.iter().map(|t| t.columns.len()).sum::<usize>();
        }
    });

    let mut dump = Vec::new();
    let mut dump_bytes = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = Command::new("pg_dump")
            .args(["--schema-only", "--no-owner", "--no-privileges", "-d", &db.url])
            .output()
            .expect("pg_dump must be installed");
        dump.push(start.elapsed());
        assert!(out.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
        dump_bytes = out.stdout.len();
    }

    let (s_best, s_median) = summary(strata);
    let (d_best, d_median) = summary(dump);
    println!(
        "strata introspection: best {}, median {} ({queries} catalog queries, {columns} columns)",
        ms(s_best),
        ms(s_median)
    );
    println!(
        "pg_dump --schema-only: best {}, median {} ({dump_bytes} bytes of SQL)",
        ms(d_best),
        ms(d_median)
    );
    println!(
        "ratio (median pg_dump / median strata): {:.1}x",
        d_median.as_secs_f64() / s_median.as_secs_f64()
    );

    let second = PgScratch::new("introspect_bench_b");
    create_schema(&rt, &second.url, tables);
    let (serial, concurrent) = live_vs_live(&rt, &db.url, &second.url, tables);
    let (s_best, s_median) = summary(serial);
    let (c_best, c_median) = summary(concurrent);
    println!("live vs live, {tables} tables each, serial: best {}, median {}", ms(s_best), ms(s_median));
    println!("live vs live, {tables} tables each, concurrent: best {}, median {}", ms(c_best), ms(c_median));
    println!(
        "ratio (median serial / median concurrent): {:.2}x",
        s_median.as_secs_f64() / c_median.as_secs_f64()
    );
}
