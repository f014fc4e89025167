//! `--live-diff N --strata BIN [--migra BIN]`: `strata diff --from db:A --to db:B` against
//! migra on two live N-table PostgreSQL databases, measured in the same run.
//!
//! A holds `strata_testdb::bench_schema`'s base shape, B the changed one (added and dropped
//! columns, a type change, new indexes, new and dropped foreign keys, new tables). Both tools
//! run as whole processes, as a user runs them, interleaved (strata, migra, strata, migra, ...)
//! so load from other processes on a shared machine falls on both alike. Before timing, each
//! tool's SQL is applied to its own copy of A and the copy is diffed against B by both tools,
//! so the figures compare tools that did the same job.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use strata_testdb::bench_schema::{pg_bench_schema, Shape, CHANGES, NEW_TABLES};
use strata_testdb::PgScratch;

use crate::{median, ms};

/// One finished process: what it printed, how it exited, how long it took.
struct Run {
    wall: Duration,
    /// User + system CPU of the process itself (not the server's work), from the parent's
    /// `cutime`/`cstime`: 10 ms resolution.
    cpu: Duration,
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// The two tools, as the command lines that diff `from` to `to`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tool<'a> {
    Strata(&'a Path),
    Migra(&'a Path),
}

impl Tool<'_> {
    fn name(self) -> &'static str {
        match self {
            Tool::Strata(_) => "strata",
            Tool::Migra(_) => "migra",
        }
    }

    fn command(self, from: &str, to: &str) -> Command {
        match self {
            Tool::Strata(bin) => {
                let mut c = Command::new(bin);
                c.args(["diff", "--from", &format!("db:{from}"), "--to", &format!("db:{to}")]);
                c
            }
            Tool::Migra(bin) => {
                // SQLAlchemy knows PostgreSQL URLs only as postgresql://.
                let url = |u: &str| u.replacen("postgres://", "postgresql://", 1);
                let mut c = Command::new(bin);
                c.args([url(from), url(to), "--unsafe".to_string()]);
                c
            }
        }
    }

    /// Runs the diff from `from` to `to` in `cwd` (a directory with no project in it).
    fn run(self, from: &str, to: &str, cwd: &Path) -> Run {
        let mut command = self.command(from, to);
        command.current_dir(cwd);
        let cpu0 = children_cpu();
        let start = Instant::now();
        let out = command.output().unwrap_or_else(|e| panic!("cannot run {}: {e}", self.name()));
        let wall = start.elapsed();
        let cpu = children_cpu().saturating_sub(cpu0);
        Run { wall, cpu, code: out.status.code(), stdout: out.stdout, stderr: out.stderr }
    }
}

/// CPU time of this process's finished children (`/proc/self/stat` `cutime` + `cstime`, in
/// clock ticks of 10 ms).
fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name start at field 3 (`state`).
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let field = |n: usize| after_name.split_whitespace().nth(n - 3).and_then(|f| f.parse::<u64>().ok());
    let ticks = field(16).unwrap_or(0) + field(17).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn create(prefix: &str, tables: usize, shape: Shape) -> PgScratch {
    let db = PgScratch::new(prefix);
    db.execute(&pg_bench_schema(tables, shape))
        .unwrap_or_else(|e| panic!("creating the {prefix} schema: {e}"));
    db.execute("ANALYZE").unwrap_or_else(|e| panic!("{e}"));
    db
}

/// A diff that found differences: exit 2 and SQL on stdout (else the benchmark is void).
fn expect_differs(tool: Tool, run: &Run) {
    assert!(
        run.code == Some(2) && !run.stdout.is_empty(),
        "{} diff: exit {:?}, {} bytes of SQL; stderr:\n{}",
        tool.name(),
        run.code,
        run.stdout.len(),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// Applies `sql` to `copy`, then asks both tools whether `copy` now matches `target`: one line
/// per check on stdout, and whether all said so.
fn check_result(
    author: Tool,
    sql: &[u8],
    copy: &PgScratch,
    target: &str,
    tools: [Tool; 2],
    cwd: &Path,
) -> bool {
    let sql = String::from_utf8_lossy(sql);
    if let Err(e) = copy.execute(&sql) {
        println!("check: {}'s SQL does not apply to a copy of A: {e}", author.name());
        return false;
    }
    let mut all_in_sync = true;
    for judge in tools {
        let run = judge.run(&copy.url, target, cwd);
        let verdict = match run.code {
            Some(0) => "in sync".to_string(),
            code => {
                all_in_sync = false;
                let left = String::from_utf8_lossy(&run.stdout);
                let first: Vec<&str> = left.lines().filter(|l| !l.trim().is_empty()).take(6).collect();
                format!("NOT in sync (exit {code:?}); first lines:\n    {}", first.join("\n    "))
            }
        };
        println!("check: A + {}'s SQL vs B, by {}: {verdict}", author.name(), judge.name());
    }
    all_in_sync
}

struct Stats {
    median: Duration,
    min: Duration,
    max: Duration,
    cpu: Duration,
}

fn stats(runs: &[Run]) -> Stats {
    let walls: Vec<Duration> = runs.iter().map(|r| r.wall).collect();
    Stats {
        median: median(walls.clone()),
        min: *walls.iter().min().unwrap(),
        max: *walls.iter().max().unwrap(),
        cpu: median(runs.iter().map(|r| r.cpu).collect()),
    }
}

fn print_row(tool: Tool, s: &Stats, sql_bytes: usize) {
    let spread = (s.max - s.min).as_secs_f64() / s.median.as_secs_f64() * 100.0;
    println!(
        "{:<7} {:>9} {:>9} {:>9} {:>7.0}% {:>9} {:>9}",
        tool.name(),
        ms(s.median),
        ms(s.min),
        ms(s.max),
        spread,
        ms(s.cpu),
        sql_bytes
    );
}

/// Builds A and B of `tables` tables, checks both tools' SQL, then times `runs` interleaved
/// rounds after one warm-up round. Returns whether strata's SQL took A to B.
fn bench_size(tables: usize, runs: usize, strata: Tool, migra: Tool) -> bool {
    let start = Instant::now();
    let a = create("live_diff_a", tables, Shape::Base);
    let b = create("live_diff_b", tables, Shape::Changed);
    // Copies for the checks, taken before anything else connects to A.
    let (strata_copy, migra_copy) =
        (PgScratch::copy_of("live_diff_sa", &a), PgScratch::copy_of("live_diff_ma", &a));
    println!(
        "created A ({tables} tables) and B ({} tables) in {} ms",
        tables + NEW_TABLES,
        ms(start.elapsed())
    );

    let cwd = tempfile::tempdir().expect("temporary directory");
    let warm_strata = strata.run(&a.url, &b.url, cwd.path());
    expect_differs(strata, &warm_strata);
    let warm_migra = migra.run(&a.url, &b.url, cwd.path());
    expect_differs(migra, &warm_migra);
    let strata_ok =
        check_result(strata, &warm_strata.stdout, &strata_copy, &b.url, [strata, migra], cwd.path());
    check_result(migra, &warm_migra.stdout, &migra_copy, &b.url, [strata, migra], cwd.path());

    let (mut strata_runs, mut migra_runs) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        for (tool, into) in [(strata, &mut strata_runs), (migra, &mut migra_runs)] {
            let run = tool.run(&a.url, &b.url, cwd.path());
            expect_differs(tool, &run);
            into.push(run);
        }
    }
    let (s, m) = (stats(&strata_runs), stats(&migra_runs));
    println!("{tables} tables, {runs} interleaved rounds after 1 warm-up, ms (cpu: the tool's own process)");
    println!(
        "{:<7} {:>9} {:>9} {:>9} {:>8} {:>9} {:>9}",
        "tool", "median", "min", "max", "spread", "cpu", "SQL bytes"
    );
    print_row(strata, &s, warm_strata.stdout.len());
    print_row(migra, &m, warm_migra.stdout.len());
    println!(
        "ratio migra/strata: {:.1}x (medians), {:.1}x (mins)",
        m.median.as_secs_f64() / s.median.as_secs_f64(),
        m.min.as_secs_f64() / s.min.as_secs_f64()
    );
    strata_ok
}

/// The `--live-diff` mode. Fails (exit 1) when strata's SQL did not take A to B.
pub fn bench(sizes: &[usize], runs: usize, strata_bin: &Path, migra_bin: &Path) {
    println!("B differs from A by table number modulo 20:");
    for (k, what) in CHANGES {
        println!("  {k:>2}: {what}");
    }
    println!("  and {NEW_TABLES} new tables");
    let (strata, migra) = (Tool::Strata(strata_bin), Tool::Migra(migra_bin));
    let mut ok = true;
    for &tables in sizes {
        ok &= bench_size(tables, runs, strata, migra);
    }
    if !ok {
        eprintln!("strata's SQL did not take A to B (see the checks above)");
        std::process::exit(1);
    }
}
