//! Connection targets: every attempt is bounded (a server that accepts TCP and never answers,
//! a locked SQLite file), libpq key=value strings, and redaction that does not depend on parsing.

mod common;

use std::time::Duration;

use common::*;
use sqlx::Connection;
use strata_db::connection::{parse_dsn, resolve_connection_with_env, scrub_urls, DEFAULT_CONNECT_TIMEOUT};
use strata_db::{DbError, Driver, Project};

/// Longer than any bound under test: reaching it means the connection attempt hung.
const HANG: Duration = Duration::from_secs(30);

fn project(dir: &std::path::Path) -> Project {
    Project::with_defaults(dir, "shop", Driver::Postgres)
}

fn resolve(url: &str) -> Result<strata_db::ConnectionTarget, DbError> {
    let dir = tempfile::tempdir().unwrap();
    resolve_connection_with_env(&project(dir.path()), Some(url), None, &|_| None)
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_naming_host_and_port() {
    let port = strata_testdb::silent_tcp_server();
    let target = resolve(&format!("postgres://app@127.0.0.1:{port}/shop"))
        .unwrap()
        .with_connect_timeout(Duration::from_millis(500));
    let e = tokio::time::timeout(HANG, target.connect_postgres("strata test"))
        .await
        .expect("the connection attempt hung")
        .unwrap_err();
    assert!(matches!(e, DbError::ConnectTimeout { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port} did not answer within 500ms")), "{text}");
    assert!(text.contains("--connect-timeout"), "{text}");
}

#[tokio::test]
async fn the_url_connect_timeout_bounds_the_attempt() {
    let port = strata_testdb::silent_tcp_server();
    let target = resolve(&format!("postgres://app@127.0.0.1:{port}/shop?connect_timeout=2")).unwrap();
    assert_eq!(target.connect_timeout(), Some(Duration::from_secs(2)));
    let e = tokio::time::timeout(HANG, target.connect_postgres("strata test"))
        .await
        .expect("the connection attempt hung")
        .unwrap_err();
    assert!(e.to_string().contains(&format!("127.0.0.1:{port} did not answer within 2s")), "{e}");
}

#[test]
fn connect_timeout_follows_libpq_and_the_flag_beats_the_url() {
    assert_eq!(resolve("postgres://a@h/d").unwrap().connect_timeout(), Some(DEFAULT_CONNECT_TIMEOUT));
    assert_eq!(resolve("sqlite:x.db").unwrap().connect_timeout(), Some(DEFAULT_CONNECT_TIMEOUT));
    // libpq: zero or negative waits forever; less than two seconds means two.
    assert_eq!(resolve("postgres://a@h/d?connect_timeout=0").unwrap().connect_timeout(), None);
    assert_eq!(resolve("postgres://a@h/d?connect_timeout=-3").unwrap().connect_timeout(), None);
    assert_eq!(
        resolve("postgres://a@h/d?connect_timeout=1").unwrap().connect_timeout(),
        Some(Duration::from_secs(2))
    );
    assert_eq!(resolve("host=h connect_timeout=7").unwrap().connect_timeout(), Some(Duration::from_secs(7)));
    let e = resolve("postgres://a@h/d?connect_timeout=soon").unwrap_err();
    assert!(e.to_string().contains("connect_timeout=soon") && e.to_string().contains("seconds"), "{e}");

    let t = resolve("postgres://a@h/d?connect_timeout=30").unwrap();
    assert_eq!(
        t.clone().with_connect_timeout(Duration::from_secs(3)).connect_timeout(),
        Some(Duration::from_secs(3))
    );
    assert_eq!(t.with_connect_timeout(Duration::ZERO).connect_timeout(), None);
}

#[tokio::test]
async fn a_locked_sqlite_file_times_out_instead_of_waiting_for_the_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let url = format!("sqlite:{}", path.display());
    // Another process holds an exclusive lock: even reading the schema must wait for it.
    let mut holder = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc")).await.unwrap();
    sqlx::raw_sql("PRAGMA journal_mode = DELETE; PRAGMA locking_mode = EXCLUSIVE; CREATE TABLE t (x INTEGER); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);")
        .execute(&mut holder)
        .await
        .unwrap();

    let target = resolve(&url).unwrap().with_connect_timeout(Duration::from_millis(500));
    let e = tokio::time::timeout(HANG, target.connect_sqlite(Duration::from_secs(120)))
        .await
        .expect("the connection attempt waited for the busy timeout")
        .unwrap_err();
    assert!(matches!(e, DbError::SqliteBusy { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("locked.db") && text.contains("lock") && text.contains("--connect-timeout"),
        "{text}"
    );
}

#[test]
fn key_value_strings_follow_libpq_quoting() {
    let pairs = parse_dsn(r"host=db.internal  port = 6432 user=app password='it\'s a \\ secret' dbname=shop")
        .unwrap();
    let values: Vec<(&str, &str)> = pairs.iter().map(|(k, v, _)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        values,
        [
            ("host", "db.internal"),
            ("port", "6432"),
            ("user", "app"),
            ("password", r"it's a \ secret"),
            ("dbname", "shop")
        ]
    );
    assert_eq!(parse_dsn(r"password=a\ b").unwrap()[0].1, "a b");

    let e = parse_dsn("host=h colour=blue").unwrap_err();
    assert!(matches!(e, DbError::InvalidConnectionString { column: 8, .. }), "{e:?}");
    assert!(e.to_string().contains("unknown key `colour`"), "{e}");
    let e = parse_dsn("host=h password='Unterminated9").unwrap_err();
    assert!(matches!(e, DbError::InvalidConnectionString { column: 17, .. }), "{e:?}");
    assert!(!e.to_string().contains("Unterminated9"), "{e}");
    let e = parse_dsn("host=h dbname").unwrap_err();
    assert!(e.to_string().contains("`dbname` is not followed by `=`"), "{e}");
}

#[test]
fn a_key_value_string_resolves_like_the_equivalent_url() {
    let t =
        resolve(r"host=db.internal port=6432 user=app password='p@ss w%rd\'9' dbname=shop sslmode=require")
            .unwrap();
    let o = t.pg_options().unwrap();
    assert_eq!((o.get_host(), o.get_port(), o.get_username()), ("db.internal", 6432, "app"));
    assert_eq!(o.get_database(), Some("shop"));
    assert_eq!(t.redacted(), "postgres://app@db.internal:6432/shop?sslmode=require");
    let shown = format!("{t} {t:?} {}", t.sanitize("auth failed: p@ss w%rd'9"));
    assert!(!shown.contains("w%rd"), "{shown}");

    let t = resolve("host=/run/postgresql user=app dbname=shop").unwrap();
    assert_eq!(
        t.pg_options().unwrap().get_socket().map(|p| p.display().to_string()),
        Some("/run/postgresql".into())
    );
    let e = resolve("host=h port=fifty").unwrap_err();
    assert!(e.to_string().contains("column 8") && e.to_string().contains("port=fifty"), "{e}");
}

#[tokio::test]
async fn a_key_value_string_connects_to_the_real_server() {
    let env = Env::new(Driver::Postgres, "dsn");
    let o = env.target.pg_options().unwrap();
    // Trust auth ignores the password; it is here to prove quoting parses.
    let dsn = format!(
        r"host={} port={} user={} password='x\'y z' dbname={}",
        o.get_host(),
        o.get_port(),
        o.get_username(),
        o.get_database().unwrap()
    );
    let target = resolve_connection_with_env(&env.project, Some(&dsn), None, &|_| None).unwrap();
    let mut conn = target.connect_postgres("strata test").await.unwrap();
    let db: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&mut conn).await.unwrap();
    assert_eq!(db, o.get_database().unwrap());
}

#[test]
fn passwords_are_masked_even_when_the_url_does_not_parse() {
    for (text, secret) in [
        ("postgres://u:pa#ss1@h/db", "pa#ss1"),
        ("postgres://u:pa/ss1@h/db", "pa/ss1"),
        ("postgres://u:pa?ss1@h/db", "pa?ss1"),
        ("db:postgresql://u:p@ss#w/rd?@h:5432/db?sslmode=require", "p@ss#w/rd?"),
        ("host=h user=u password=plain9 dbname=d", "plain9"),
        (r"host=h password = 'quo\'ted 9' dbname=d", "quo"),
        ("PASSWORD=Upper9 and more", "Upper9"),
    ] {
        let scrubbed = scrub_urls(text);
        assert!(!scrubbed.contains(secret), "{text} -> {scrubbed}");
        assert!(scrubbed.contains("***"), "{text} -> {scrubbed}");
    }
    assert_eq!(scrub_urls("postgres://u:pa#ss1@h/db"), "postgres://u:***@h/db");
    assert_eq!(scrub_urls(r"host=h password='a\'b c' dbname=d"), "host=h password=*** dbname=d");
    // Nothing else moves.
    assert_eq!(
        scrub_urls("postgres://u@h:5432/db?sslmode=require"),
        "postgres://u@h:5432/db?sslmode=require"
    );
    assert_eq!(scrub_urls("password authentication failed"), "password authentication failed");

    for url in ["postgres://u:pa#ss1@h/db", "postgres://u:pa?ss1@h/db", "mongodb://u:pa#ss1@h/db"] {
        let e = resolve(url).unwrap_err().to_string();
        assert!(!e.contains("ss1"), "{e}");
    }
    let e = resolve("postgres://u:pa#ss1@h/db").unwrap_err().to_string();
    assert!(e.contains("percent-encode"), "{e}");
}
