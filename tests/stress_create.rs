//! Stress: 50 rounds of four `strata create-migration` processes at once on one change, counting
//! forks (rounds that wrote more than one version). Not run by default (it takes minutes):
//!
//! ```sh
//! cargo test -p strata-cli --test stress_create -- --ignored --nocapture
//! ```

#[path = "../crates/strata-cli/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{copy_tree, BIN};

const ROUNDS: usize = 50;

fn versions(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn create(dir: &Path, now: &str) -> std::process::Child {
    Command::new(BIN)
        .arg("create-migration")
        .current_dir(dir)
        .env("STRATA_NOW", now)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
#[ignore = "stress: minutes; run with --ignored"]
fn concurrent_create_migration_never_forks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/projects/shop"), &dir);
    assert!(create(&dir, "20260101000000000").wait().unwrap().success());
    let (t0, mut forks, mut failures) = (Instant::now(), 0, 0);
    for round in 0..ROUNDS {
        let model = format!("class: Round{round}\ntable: round{round}\nfields:\n  n: int\n");
        std::fs::write(dir.join(format!("lib/src/models/round{round}.spy.yaml")), model).unwrap();
        let before = versions(&dir).len();
        let children: Vec<_> =
            (0..4).map(|k| create(&dir, &format!("202601010{round:03}00{k:03}"))).collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            if !out.status.success() {
                failures += 1;
                eprintln!("round {round}: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        if versions(&dir).len() != before + 1 {
            forks += 1;
        }
    }
    let check = Command::new(BIN).args(["create-migration", "--check"]).current_dir(&dir).output().unwrap();
    eprintln!(
        "stress_create: {ROUNDS} rounds of 4 concurrent runs, {forks} forks, {failures} failed runs, lineage warnings: {}; {:.0} s",
        if check.stderr.is_empty() { "none" } else { "some" },
        t0.elapsed().as_secs_f64()
    );
    assert_eq!((forks, failures), (0, 0));
    assert!(check.status.success() && check.stderr.is_empty(), "{}", String::from_utf8_lossy(&check.stderr));
}
