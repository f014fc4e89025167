//! Connections through the `strata` binary: a server that never answers is reported within
//! `--connect-timeout` (or the URL's `connect_timeout`) by every command that connects, a
//! password never reaches stdout or stderr however the URL is malformed and wherever it comes
//! from, and a libpq key=value string connects.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Longer than any bound under test: reaching it means strata hung.
const HANG: Duration = Duration::from_secs(60);

/// A PostgreSQL project with one model and its first migration (written by strata itself).
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("strata.toml"),
        "module_name = \"shop\"\ndialect = \"postgres\"\nmodel_roots = [\"models\"]\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::fs::write(
        dir.path().join("models/product.spy.yaml"),
        "class: Product\ntable: product\nfields:\n  name: String\n",
    )
    .unwrap();
    let o = strata(dir.path(), &["create-migration", "--tag", "initial"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    dir
}

/// Runs strata in `dir` with `env`, killing it (and failing the test) if it outlives [`HANG`].
fn strata(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.arg("-C").arg(dir).args(args).env_remove("DATABASE_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > HANG {
            child.kill().unwrap();
            panic!("strata {args:?} still running after {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn every_command_that_connects_gives_up_on_a_silent_server() {
    let port = strata_testdb::silent_tcp_server();
    let dir = project();
    let url = format!("postgres://app@127.0.0.1:{port}/shop");
    let db_side = format!("db:{url}");
    let runs: [Vec<&str>; 5] = [
        vec!["status", "--database-url", &url],
        vec!["apply", "--database-url", &url],
        vec!["create-repair-migration", "--database-url", &url],
        vec!["inspect", "--database-url", &url],
        vec!["diff", "--from", &db_side, "--to", "empty"],
    ];
    for mut args in runs {
        args.extend(["--connect-timeout", "1s"]);
        let o = strata(dir.path(), &args, &[]);
        assert_eq!(o.status.code(), Some(1), "{args:?}\n{}", text(&o));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains(&format!("127.0.0.1:{port} did not answer within 1s")),
            "{args:?}\n{}",
            text(&o)
        );
        assert!(stderr.contains("--connect-timeout"), "{args:?}: says what to do\n{}", text(&o));
    }
}

#[test]
fn the_url_connect_timeout_is_honoured_and_the_flag_beats_it() {
    let port = strata_testdb::silent_tcp_server();
    let dir = project();
    let url = format!("postgres://app@127.0.0.1:{port}/shop?connect_timeout=2");
    let o = strata(dir.path(), &["status", "--database-url", &url], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did not answer within 2s"), "{}", text(&o));

    let o = strata(dir.path(), &["status", "--database-url", &url, "--connect-timeout", "1s"], &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("did not answer within 1s"), "{}", text(&o));

    let env_url = format!("postgres://app@127.0.0.1:{port}/shop?connect_timeout=3");
    let o = strata(dir.path(), &["status"], &[("DATABASE_URL", &env_url)]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("did not answer within 3s"), "{}", text(&o));
}

/// The shapes that used to be echoed verbatim, each with the password it must not show.
const LEAKY: [(&str, &str); 5] = [
    ("postgres://app:Hash#Secret41@127.0.0.1:1/shop", "Secret41"),
    ("postgres://app:Slash/Secret42@127.0.0.1:1/shop", "Secret42"),
    ("postgres://app:Quest?Secret43@127.0.0.1:1/shop", "Secret43"),
    ("host=127.0.0.1 port=1 user=app password=DsnSecret44 dbname=shop", "DsnSecret44"),
    ("host=127.0.0.1 user=app password='Quoted\\'Secret45' colour=blue", "Secret45"),
];

fn assert_no_password(o: &Output, secret: &str, how: &str) {
    let all = text(o);
    assert!(!all.contains(secret), "{how} printed the password:\n{all}");
    assert_eq!(o.status.code(), Some(1), "{how}\n{all}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("error:"), "{how} says what failed\n{all}");
}

#[test]
fn no_password_is_printed_from_the_flag() {
    let dir = project();
    for (url, secret) in LEAKY {
        let o = strata(dir.path(), &["status", "--database-url", url], &[]);
        assert_no_password(&o, secret, &format!("--database-url {secret}"));
    }
}

#[test]
fn no_password_is_printed_from_the_environment() {
    let dir = project();
    for (url, secret) in LEAKY {
        let o = strata(dir.path(), &["status"], &[("DATABASE_URL", url)]);
        assert_no_password(&o, secret, &format!("DATABASE_URL {secret}"));
    }
}

#[test]
fn no_password_is_printed_from_dotenv() {
    let dir = project();
    for (url, secret) in LEAKY {
        // Double quotes keep the key=value string's spaces; dotenv leaves single quotes alone.
        std::fs::write(
            dir.path().join(".env"),
            format!("OTHER=1\nDATABASE_URL=\"{}\"\n", url.replace('\\', "\\\\")),
        )
        .unwrap();
        let o = strata(dir.path(), &["status"], &[]);
        assert_no_password(&o, secret, &format!(".env {secret}"));
        assert!(String::from_utf8_lossy(&o.stderr).contains("***") || !url.contains("://"), "{}", text(&o));
    }
}

#[test]
fn no_password_is_printed_from_a_diff_side() {
    let dir = project();
    for (url, secret) in LEAKY {
        let side = format!("db:{url}");
        let o = strata(dir.path(), &["diff", "--from", &side, "--to", "empty"], &[]);
        assert_no_password(&o, secret, &format!("diff --from db: {secret}"));
    }
}

#[test]
fn a_key_value_string_connects_to_the_real_server() {
    let db = strata_testdb::PgScratch::new("cli_dsn");
    let url = url_parts(&db.url);
    let dir = project();
    // Trust auth ignores the password; it is quoted to prove libpq quoting works end to end.
    let dsn = format!(
        "host={} port={} user={} password='not \\'used\\' here' dbname={}",
        url.0, url.1, url.2, db.name
    );
    let o = strata(dir.path(), &["inspect", "--database-url", &dsn], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(j["tables"].as_array().is_some(), "{}", text(&o));
    assert!(!text(&o).contains("used"), "{}", text(&o));
}

/// (host, port, user) of a scratch database URL.
fn url_parts(url: &str) -> (String, u16, String) {
    use std::str::FromStr;
    let o = sqlx::postgres::PgConnectOptions::from_str(url).unwrap();
    (o.get_host().to_string(), o.get_port(), o.get_username().to_string())
}
