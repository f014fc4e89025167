//! Native PostgreSQL types end to end on the real server: exact types are read, compared,
//! altered in place with `ALTER COLUMN ... TYPE ... USING`, and printed by `inspect --format sql`.

mod common;

use common::{no_project, pg_exec, pg_strings};
use strata_testdb::PgScratch;

#[test]
fn integer_to_bigint_and_longer_varchar_are_detected_and_altered_in_place() {
    let (a, b) = (PgScratch::new("types_a"), PgScratch::new("types_b"));
    pg_exec(&a.url, "CREATE TABLE t (id bigserial PRIMARY KEY, n integer, s varchar(10)); INSERT INTO t (n, s) VALUES (7, 'seven');");
    pg_exec(&b.url, "CREATE TABLE t (id bigserial PRIMARY KEY, n bigint, s varchar(20));");
    let p = no_project();
    let r = p.diff_live(&a, &b);
    r.code(2)
        .stderr_says(&format!("column \"n\" is integer in db:…/{}, bigint in db:…/{}", a.name, b.name))
        .stderr_says(&format!(
            "column \"s\" is character varying(10) in db:…/{}, character varying(20) in db:…/{}",
            a.name, b.name
        ));
    assert!(
        r.stdout.contains("ALTER TABLE \"t\" ALTER COLUMN \"n\" SET DATA TYPE bigint USING \"n\"::bigint;"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "ALTER COLUMN \"s\" SET DATA TYPE character varying(20) USING \"s\"::character varying(20);"
        ),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("DROP COLUMN"), "{}", r.stdout);
    assert!(!r.stderr.contains("the database"), "{}", r.stderr);

    pg_exec(&a.url, &r.stdout);
    p.diff_live(&a, &b).code(0).stderr_says("In sync");
    assert_eq!(pg_strings(&a.url, "SELECT n::text || ' ' || s FROM t"), vec!["7 seven"]);
}

#[test]
fn timestamptz_to_timestamp_keeps_the_data() {
    let (a, b) = (PgScratch::new("tstz_a"), PgScratch::new("tstz_b"));
    pg_exec(
        &a.url,
        "SET TIME ZONE 'UTC'; CREATE TABLE ev (id bigserial PRIMARY KEY, at timestamptz NOT NULL); \
         INSERT INTO ev (at) VALUES ('2024-05-10 12:34:56+00');",
    );
    pg_exec(&b.url, "CREATE TABLE ev (id bigserial PRIMARY KEY, at timestamp NOT NULL);");
    let p = no_project();
    let r = p.diff_live(&a, &b);
    r.code(2).stderr_says(&format!(
        "column \"at\" is timestamp with time zone in db:…/{}, timestamp without time zone in db:…/{}",
        a.name, b.name
    ));
    assert!(
        r.stdout.contains(
            "ALTER TABLE \"ev\" ALTER COLUMN \"at\" SET DATA TYPE timestamp without time zone USING \"at\"::timestamp without time zone;"
        ),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("DROP COLUMN"), "{}", r.stdout);

    pg_exec(&a.url, &format!("SET TIME ZONE 'UTC';\n{}", r.stdout));
    p.diff_live(&a, &b).code(0);
    assert_eq!(pg_strings(&a.url, "SELECT at::text FROM ev"), vec!["2024-05-10 12:34:56"]);
}

#[test]
fn a_type_with_no_cast_is_dropped_and_re_added_as_destructive() {
    let (a, b) = (PgScratch::new("nocast_a"), PgScratch::new("nocast_b"));
    pg_exec(&a.url, "CREATE TABLE t (id bigserial PRIMARY KEY, u uuid);");
    pg_exec(&b.url, "CREATE TABLE t (id bigserial PRIMARY KEY, u bigint);");
    let p = no_project();
    let r = p.run(&[
        "diff",
        "--from",
        &format!("db:{}", a.url),
        "--to",
        &format!("db:{}", b.url),
        "--format",
        "json",
    ]);
    r.code(2).says("must be deleted and recreated").says("\"destrucive\": true");
}

/// Every listed type, an enum and arrays: inspected, printed as SQL, loaded into an empty
/// database, and that copy diffs as empty against the source.
#[test]
fn inspect_sql_round_trips_native_types() {
    const TYPES: &str = "CREATE TYPE mood AS ENUM ('sad', 'o''k', 'happy'); \
                         CREATE DOMAIN posint AS integer DEFAULT 1 NOT NULL CHECK (VALUE > 0);";
    let src = PgScratch::new("native_src");
    pg_exec(
        &src.url,
        &format!(
            "{TYPES} CREATE TABLE every (id bigserial PRIMARY KEY, \
               v varchar(10) NOT NULL DEFAULT 'x', v2 character varying, c char(3), \
               ts6 timestamp(6), ts3 timestamp(3) without time zone, tz timestamptz DEFAULT now(), \
               n numeric, n2 numeric(10,2) DEFAULT 0, d date, s smallint NOT NULL DEFAULT 1, r real, \
               tags text[] DEFAULT '{{}}', grid integer[][], m mood DEFAULT 'o''k', ms mood[], \
               cs text COLLATE \"C\", i integer, b bigint, p posint);"
        ),
    );
    let p = no_project();
    let r = p.run(&["inspect", "--database-url", &src.url, "--format", "sql"]);
    r.code(0);
    for native in
        ["character varying(10)", "timestamp(6) without time zone", "numeric(10,2)", "text[]", "mood[]"]
    {
        assert!(r.stdout.contains(native), "{native} missing:\n{}", r.stdout);
    }
    let copy = PgScratch::new("native_copy");
    // The enum and domain types come first, inside the one transaction.
    assert!(
        r.stdout.contains("CREATE TYPE \"public\".\"mood\" AS ENUM ('sad', 'o''k', 'happy');"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("CREATE DOMAIN \"public\".\"posint\" AS integer DEFAULT 1 NOT NULL CONSTRAINT"),
        "{}",
        r.stdout
    );
    pg_exec(&copy.url, &r.stdout);
    p.diff_live(&src, &copy).code(0).stderr_says("In sync");
    let domain = "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = 'posint'::regtype";
    assert_eq!(pg_strings(&copy.url, domain), pg_strings(&src.url, domain));

    // The JSON keeps each type that Serverpod's columnType cannot say under nativeType.
    let json = p.run(&["inspect", "--database-url", &src.url]);
    json.code(0).says("\"nativeType\": \"character varying(10)\"").says("\"nativeType\": \"mood\"");
    assert!(!json.stdout.contains("\"nativeType\": \"bigint\""), "{}", json.stdout);

    // Enum and array columns differ when their types do.
    pg_exec(&copy.url, "ALTER TABLE every ALTER COLUMN ms TYPE text[] USING ms::text[]");
    p.diff_live(&src, &copy).code(2).stderr_says("column \"ms\" is mood[] in");
}
