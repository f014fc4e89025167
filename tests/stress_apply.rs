//! Stress: the lock-loss scenarios of `crates/strata-db/tests/exactly_once.rs`, 50 rounds each,
//! counting double executions. Not run by default (it takes minutes):
//!
//! ```sh
//! cargo test -p strata-db --test stress_apply -- --ignored --nocapture
//! ```

#[path = "../crates/strata-db/tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use strata_db::{ApplyOptions, Driver};

const ROUNDS: usize = 50;

fn opts() -> ApplyOptions {
    ApplyOptions { lock_timeout: Duration::from_secs(30), ..Default::default() }
}

/// One round: two runs, the server closing idle sessions after 1 s. Returns the counter.
async fn idle_timeout_round(i: usize) -> i64 {
    let env = Env::new(Driver::Postgres, &format!("stress_idle_{i}"));
    env.apply_ok(to(V1)).await;
    env.counter_project(&[V2, V3, V4], "SELECT pg_sleep(0.6);").await;
    env.exec("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET idle_session_timeout = %L', current_database(), '1s'); END $$")
        .await;
    let second = async {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        env.apply(opts()).await
    };
    let (a, b) = tokio::join!(env.apply(opts()), second);
    assert!(
        a.is_ok() && b.is_ok(),
        "round {i}: {:?} / {:?}",
        a.err().map(|e| e.to_string()),
        b.err().map(|e| e.to_string())
    );
    env.counter().await
}

/// One round: the lock holder's backend is terminated mid-migration; a second run finishes.
async fn terminate_round(i: usize) -> i64 {
    let env = Env::new(Driver::Postgres, &format!("stress_term_{i}"));
    env.apply_ok(to(V1)).await;
    env.counter_project(&[V2, V3, V4], "SELECT pg_sleep(0.3);").await;
    let killer = async {
        tokio::time::sleep(Duration::from_millis(150 + (i as u64 * 37) % 600)).await;
        env.exec(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .await;
        env.apply(opts()).await
    };
    let (_, b) = tokio::join!(env.apply(opts()), killer);
    b.unwrap_or_else(|e| panic!("round {i}: the second run failed: {e}"));
    env.counter().await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "stress: minutes; run with --ignored"]
async fn lock_loss_never_double_applies() {
    let t0 = Instant::now();
    let mut doubles = (0, 0);
    for i in 0..ROUNDS {
        if idle_timeout_round(i).await != 3 {
            doubles.0 += 1;
        }
        if terminate_round(i).await != 3 {
            doubles.1 += 1;
        }
    }
    eprintln!(
        "stress_apply: {ROUNDS} idle_session_timeout rounds, {} double executions; {ROUNDS} pg_terminate_backend rounds, \
         {} double executions; {:.0} s",
        doubles.0,
        doubles.1,
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(doubles, (0, 0));
}
