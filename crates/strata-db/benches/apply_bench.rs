//! Apply benchmark: 200 small pending migrations applied by strata (one transaction + history
//! row each, under the advisory lock) versus the floor, `psql -1 -f` of the same statements
//! concatenated into a single transaction.
//!
//! Run: `cargo bench -p strata-db --bench apply_bench` (needs PostgreSQL as for the tests and
//! `psql` on PATH). Prints both timings (median and best of 7 rounds) and the ratios;
//! on a busy machine the best round is the fairer comparison.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use strata_db::{ApplyEvent, ApplyOptions, Driver, Project};
use strata_testdb::PgScratch;

const N: usize = 200;
const ROUNDS: usize = 7;

fn version(i: usize) -> String {
    format!("20250101{i:09}")
}

fn upsert(v: &str) -> String {
    format!(
        "INSERT INTO \"serverpod_migrations\" (\"module\", \"version\", \"timestamp\")\n    VALUES ('bench', '{v}', now())\n    \
         ON CONFLICT (\"module\")\n    DO UPDATE SET \"version\" = '{v}', \"timestamp\" = now();\n"
    )
}

/// A small, realistic migration body: a table with a few columns, an index, a FK, the upsert.
fn body(i: usize) -> String {
    let v = version(i);
    let fk = if i > 1 {
        format!(
            "ALTER TABLE ONLY \"t{i:04}\"\n    ADD CONSTRAINT \"t{i:04}_fk_0\"\n    FOREIGN KEY(\"parentId\")\n    REFERENCES \"t{:04}\"(\"id\")\n    ON DELETE CASCADE\n    ON UPDATE NO ACTION;\n",
            i - 1
        )
    } else {
        String::new()
    };
    format!(
        "--\n-- ACTION CREATE TABLE\n--\nCREATE TABLE \"t{i:04}\" (\n    \"id\" bigserial PRIMARY KEY,\n    \"name\" text NOT NULL,\n    \
         \"parentId\" bigint,\n    \"createdAt\" timestamp without time zone NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n\n\
         -- Indexes\nCREATE INDEX \"t{i:04}_name_idx\" ON \"t{i:04}\" USING btree (\"name\");\n\n{fk}\n{}",
        upsert(&v)
    )
}

const BASE: &str = "CREATE TABLE \"serverpod_migrations\" (\n    \"id\" bigserial PRIMARY KEY,\n    \"module\" text NOT NULL,\n    \
                    \"version\" text NOT NULL,\n    \"timestamp\" timestamp without time zone\n);\n\
                    CREATE UNIQUE INDEX \"serverpod_migrations_ids\" ON \"serverpod_migrations\" USING btree (\"module\");\n";

fn write_project(root: &Path) {
    let base = format!("BEGIN;\n\n{BASE}{}\nCOMMIT;\n", upsert(&version(0)));
    let dir = root.join("migrations").join(version(0));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("definition.sql"), &base).unwrap();
    std::fs::write(dir.join("migration.sql"), &base).unwrap();
    for i in 1..=N {
        let dir = root.join("migrations").join(version(i));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("migration.sql"), format!("BEGIN;\n\n{}\nCOMMIT;\n", body(i))).unwrap();
        // Only the last version's definition.sql matters (fresh installs); keep the layout complete.
        std::fs::write(dir.join("definition.sql"), "BEGIN;\nCOMMIT;\n").unwrap();
    }
}

fn psql(url: &str, file: &Path) -> Duration {
    let t0 = Instant::now();
    let out = Command::new("psql")
        .args(["-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", url, "-f"])
        .arg(file)
        .output()
        .expect("psql on PATH");
    let d = t0.elapsed();
    assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
    d
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let project = Project::with_defaults(dir.path(), "bench", Driver::Postgres);

    // The floor: the same statements (minus each file's BEGIN/COMMIT) in one transaction.
    let floor_sql = dir.path().join("all.sql");
    let all: String = (1..=N).map(body).collect();
    std::fs::write(&floor_sql, all).unwrap();
    let base_sql = dir.path().join("base.sql");
    std::fs::write(&base_sql, format!("{BASE}{}", upsert(&version(0)))).unwrap();

    let mut strata_times = Vec::new();
    let mut floor_times = Vec::new();
    for round in 0..ROUNDS {
        // strata: base applied (not timed), then 200 pending migrations.
        let db = PgScratch::new("bench_strata");
        let target = strata_db::resolve_connection(&project, Some(&db.url), None).unwrap();
        let to = ApplyOptions { to: Some(version(0)), ..Default::default() };
        rt.block_on(strata_db::apply(&project, &target, &to, &mut |_: &ApplyEvent| {})).unwrap();
        let t0 = Instant::now();
        let report = rt
            .block_on(strata_db::apply(&project, &target, &ApplyOptions::default(), &mut |_: &ApplyEvent| {}))
            .unwrap();
        let d = t0.elapsed();
        assert_eq!(report.applied.len(), N);
        strata_times.push(d);
        drop(db);

        let db = PgScratch::new("bench_psql");
        psql(&db.url, &base_sql);
        let f = psql(&db.url, &floor_sql);
        floor_times.push(f);
        println!(
            "round {}: strata {:>7.1} ms   psql -1 -f {:>7.1} ms",
            round + 1,
            d.as_secs_f64() * 1e3,
            f.as_secs_f64() * 1e3
        );
    }
    let (smin, fmin) = (*strata_times.iter().min().unwrap(), *floor_times.iter().min().unwrap());
    let s = median(strata_times);
    let f = median(floor_times);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("\n{N} pending migrations, {ROUNDS} rounds          median      best");
    println!(
        "strata apply                       : {:>7.1} ms {:>7.1} ms ({:.2} ms per migration)",
        ms(s),
        ms(smin),
        ms(smin) / N as f64
    );
    println!("psql -1 -f (floor, one transaction): {:>7.1} ms {:>7.1} ms", ms(f), ms(fmin));
    println!("ratio                              : {:>7.2}x   {:>7.2}x", ms(s) / ms(f), ms(smin) / ms(fmin));
}
