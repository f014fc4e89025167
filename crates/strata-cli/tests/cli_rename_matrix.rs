//! The rename matrix on real servers (PostgreSQL and SQLite): for each case, version 1 is
//! created and applied, rows are seeded, the models change, `strata create-migration --rename
//! ...` writes version 2, and `strata apply` runs it. Then the rows must still be there, the
//! indexes and foreign keys must exist in the catalog and still work (a duplicate or a dangling
//! reference is refused), and the live schema must diff as empty against the new definition.

mod common;

use std::fs;
use std::path::Path;

use common::{block_on, Run, BIN};
use sqlx::{Connection, Row};
use strata_testdb::{PgScratch, SqliteScratch};

const V1: &str = "20260101000000001";
const V2: &str = "20260102000000001";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Db {
    Postgres,
    Sqlite,
}

/// A database to run a case on: its URL and the scratch that drops it.
struct Live {
    db: Db,
    url: String,
    _pg: Option<PgScratch>,
    _sqlite: Option<SqliteScratch>,
}

impl Live {
    fn new(db: Db) -> Live {
        match db {
            Db::Postgres => {
                let s = PgScratch::new("rename");
                Live { db, url: s.url.clone(), _pg: Some(s), _sqlite: None }
            }
            Db::Sqlite => {
                let s = SqliteScratch::new("rename");
                Live { db, url: s.url.clone(), _pg: None, _sqlite: Some(s) }
            }
        }
    }

    /// The first column of the first row, as text (`None` when the statement fails).
    fn value(&self, sql: &str) -> Result<String, String> {
        let sql = sql.to_string();
        let url = self.url.clone();
        let db = self.db;
        block_on(async move {
            match db {
                Db::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&url).await.map_err(|e| e.to_string())?;
                    let row = sqlx::query(&sql).fetch_one(&mut c).await.map_err(|e| e.to_string())?;
                    Ok(row.try_get::<Option<String>, _>(0).map_err(|e| e.to_string())?.unwrap_or_default())
                }
                Db::Sqlite => {
                    let mut c = sqlx::SqliteConnection::connect(&url).await.map_err(|e| e.to_string())?;
                    let row = sqlx::query(&sql).fetch_one(&mut c).await.map_err(|e| e.to_string())?;
                    Ok(row.try_get::<Option<String>, _>(0).map_err(|e| e.to_string())?.unwrap_or_default())
                }
            }
        })
    }

    /// Runs statements (foreign keys enforced on SQLite, as sqlx's default connection does).
    fn exec(&self, sql: &str) -> Result<(), String> {
        let sql = sql.to_string();
        let url = self.url.clone();
        let db = self.db;
        block_on(async move {
            match db {
                Db::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&url).await.map_err(|e| e.to_string())?;
                    sqlx::raw_sql(&sql).execute(&mut c).await.map_err(|e| e.to_string())?;
                }
                Db::Sqlite => {
                    let mut c = sqlx::SqliteConnection::connect(&url).await.map_err(|e| e.to_string())?;
                    sqlx::raw_sql(&sql).execute(&mut c).await.map_err(|e| e.to_string())?;
                }
            }
            Ok(())
        })
    }

    /// Whether the index `name` exists on `table`.
    fn has_index(&self, table: &str, name: &str) -> bool {
        let sql = match self.db {
            Db::Postgres => {
                format!("SELECT count(*)::text FROM pg_indexes WHERE tablename = '{table}' AND indexname = '{name}'")
            }
            Db::Sqlite => format!(
                "SELECT CAST(count(*) AS TEXT) FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}' AND name = '{name}'"
            ),
        };
        self.value(&sql).unwrap() == "1"
    }

    /// The foreign keys of `table` as `column->table.column`, sorted, comma separated.
    fn foreign_keys(&self, table: &str) -> String {
        let sql = match self.db {
            Db::Postgres => format!(
                "SELECT coalesce(string_agg(a.attname || '->' || r.relname || '.' || ra.attname, ',' ORDER BY a.attname), '') \
                 FROM pg_constraint c JOIN pg_class r ON r.oid = c.confrelid \
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
                 JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1] \
                 WHERE c.contype = 'f' AND c.conrelid = '\"{table}\"'::regclass"
            ),
            Db::Sqlite => format!(
                "SELECT coalesce(group_concat(x, ','), '') FROM (SELECT \"from\" || '->' || \"table\" || '.' || \"to\" AS x \
                 FROM pragma_foreign_key_list('{table}') ORDER BY 1)"
            ),
        };
        self.value(&sql).unwrap()
    }
}

/// A project directory with models and a strata.toml for the dialect.
struct Project {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
}

impl Project {
    fn new(db: Db) -> Project {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        fs::create_dir_all(dir.join("models")).unwrap();
        let dialect = match db {
            Db::Postgres => "postgres",
            Db::Sqlite => "sqlite",
        };
        fs::write(
            dir.join("strata.toml"),
            format!("module_name = \"renames\"\nmodel_roots = [\"models\"]\ndialect = \"{dialect}\"\n"),
        )
        .unwrap();
        Project { _tmp: tmp, dir }
    }

    /// Replaces every model file with `models` (`name`, YAML).
    fn models(&self, models: &[(&str, &str)]) {
        for entry in fs::read_dir(self.dir.join("models")).unwrap() {
            fs::remove_file(entry.unwrap().path()).unwrap();
        }
        for (name, yaml) in models {
            fs::write(self.dir.join("models").join(format!("{name}.spy.yaml")), yaml).unwrap();
        }
    }

    fn run(&self, now: &str, args: &[&str]) -> Run {
        run_in(&self.dir, now, args)
    }
}

fn run_in(dir: &Path, now: &str, args: &[&str]) -> Run {
    let out = std::process::Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("STRATA_NOW", now)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// One row of the matrix.
struct Case {
    what: &'static str,
    before: &'static [(&'static str, &'static str)],
    seed: &'static str,
    after: &'static [(&'static str, &'static str)],
    renames: &'static [&'static str],
    /// Single-value queries and their expected result after the migration.
    values: &'static [(&'static str, &'static str)],
    /// Indexes that must exist: (table, index).
    indexes: &'static [(&'static str, &'static str)],
    /// Foreign keys that must exist: (table, `column->table.column` list).
    foreign_keys: &'static [(&'static str, &'static str)],
    /// Statements that must now fail (a duplicate for a unique index, a dangling reference).
    refused: &'static [&'static str],
    /// Why the live schema cannot be compared with the definition (a known limit), if so.
    drift_unchecked: Option<&'static str>,
}

/// Runs the case: v1, seed, v2 with the renames, apply, then every check and zero drift.
fn run_case(db: Db, case: &Case) {
    let live = Live::new(db);
    let p = Project::new(db);
    let ctx = |what: &str| format!("{:?}, {}: {what}", db, case.what);
    p.models(case.before);
    p.run(V1, &["create-migration"]).code(0);
    p.run(V1, &["apply", "--database-url", &live.url]).code(0);
    live.exec(case.seed).unwrap_or_else(|e| panic!("{}", ctx(&format!("seed: {e}"))));

    p.models(case.after);
    let mut args = vec!["create-migration"];
    for r in case.renames {
        args.push("--rename");
        args.push(r);
    }
    let created = p.run(V2, &args);
    assert_eq!(created.code, 0, "{}\n{}{}", ctx("create-migration"), created.stdout, created.stderr);
    let sql = fs::read_to_string(p.dir.join("migrations").join(V2).join("migration.sql")).unwrap();
    assert!(!sql.contains("DROP TABLE \"") || db == Db::Sqlite, "{}\n{sql}", ctx("a rename dropped a table"));
    assert!(!sql.contains("DROP COLUMN"), "{}\n{sql}", ctx("a rename dropped a column"));
    let applied = p.run(V2, &["apply", "--database-url", &live.url]);
    assert_eq!(applied.code, 0, "{}\n{sql}\n{}{}", ctx("apply"), applied.stdout, applied.stderr);

    for (query, expected) in case.values {
        let got = live.value(query).unwrap_or_else(|e| panic!("{}", ctx(&format!("{query}: {e}\n{sql}"))));
        assert_eq!(&got, expected, "{}\n{sql}", ctx(query));
    }
    for (table, index) in case.indexes {
        assert!(live.has_index(table, index), "{}\n{sql}", ctx(&format!("index {index} on {table}")));
    }
    for (table, keys) in case.foreign_keys {
        assert_eq!(&live.foreign_keys(table), keys, "{}\n{sql}", ctx(&format!("foreign keys of {table}")));
    }
    for statement in case.refused {
        assert!(live.exec(statement).is_err(), "{}\n{sql}", ctx(&format!("accepted {statement}")));
    }
    if case.drift_unchecked.is_some() {
        return;
    }
    let side = format!("db:{}", live.url);
    let drift = p.run(V2, &["diff", "--from", &side, "--to", "latest"]);
    assert_eq!(
        drift.code,
        0,
        "{}\n{sql}\n{}{}",
        ctx("drift after the migration"),
        drift.stdout,
        drift.stderr
    );
}

const AUTHOR: &str = "class: Author\ntable: author\nfields:\n  name: String\n";
const POST: &str =
    "class: Post\ntable: post\nfields:\n  title: String\n  authorId: int, relation(parent=author)\n\
indexes:\n  post_title_idx:\n    fields: title\n    unique: true\n";
const COMMENT_ON_POST: &str =
    "class: Comment\ntable: comment\nfields:\n  body: String\n  postId: int, relation(parent=post)\n";
const ARTICLE: &str =
    "class: Article\ntable: article\nfields:\n  title: String\n  authorId: int, relation(parent=author)\n\
indexes:\n  post_title_idx:\n    fields: title\n    unique: true\n";
const COMMENT_ON_ARTICLE: &str =
    "class: Comment\ntable: comment\nfields:\n  body: String\n  postId: int, relation(parent=article)\n";
const SEED_POSTS: &str = "INSERT INTO author (name) VALUES ('ann');\n\
INSERT INTO post (title, \"authorId\") VALUES ('first', 1), ('second', 1);\n\
INSERT INTO comment (body, \"postId\") VALUES ('nice', 2);\n";

/// Why Serverpod's own `column=` chains and swaps are not drift-checked: a live database has no
/// field names, and Serverpod's rule pairs live column `x` with the definition's column whose
/// field is `x` (now under another name). Such models read as drift even on a database built
/// straight from their definition.sql; the values and the SQL are still checked.
const FIELD_NAME_DRIFT: &str = "field-name pairing of a live schema (Serverpod's rule)";

const CASES: &[Case] = &[
    Case {
        what: "table rename, FK to it and FK from it, unique index",
        before: &[("author", AUTHOR), ("post", POST), ("comment", COMMENT_ON_POST)],
        seed: SEED_POSTS,
        after: &[("author", AUTHOR), ("article", ARTICLE), ("comment", COMMENT_ON_ARTICLE)],
        renames: &["post=article"],
        values: &[
            ("SELECT CAST(count(*) AS TEXT) FROM article", "2"),
            ("SELECT title FROM article WHERE id = 2", "second"),
            ("SELECT a.title FROM comment c JOIN article a ON a.id = c.\"postId\"", "second"),
        ],
        indexes: &[("article", "post_title_idx")],
        foreign_keys: &[("comment", "postId->article.id"), ("article", "authorId->author.id")],
        refused: &[
            "INSERT INTO article (title, \"authorId\") VALUES ('first', 1)",
            "INSERT INTO comment (body, \"postId\") VALUES ('dangling', 99)",
            "INSERT INTO article (title, \"authorId\") VALUES ('third', 99)",
        ],
        drift_unchecked: None,
    },
    Case {
        what: "column rename with a unique index",
        before: &[("author", AUTHOR), ("post", POST), ("comment", COMMENT_ON_POST)],
        seed: SEED_POSTS,
        after: &[
            ("author", AUTHOR),
            (
                "post",
                "class: Post\ntable: post\nfields:\n  heading: String\n  authorId: int, relation(parent=author)\n\
                 indexes:\n  post_title_idx:\n    fields: heading\n    unique: true\n",
            ),
            ("comment", COMMENT_ON_POST),
        ],
        renames: &["post.title=post.heading"],
        values: &[("SELECT heading FROM post WHERE id = 1", "first")],
        indexes: &[("post", "post_title_idx")],
        foreign_keys: &[("post", "authorId->author.id")],
        refused: &["INSERT INTO post (heading, \"authorId\") VALUES ('first', 1)"],
        drift_unchecked: None,
    },
    Case {
        what: "column rename of a foreign key column",
        before: &[("author", AUTHOR), ("post", POST), ("comment", COMMENT_ON_POST)],
        seed: SEED_POSTS,
        after: &[
            ("author", AUTHOR),
            ("post", POST),
            (
                "comment",
                "class: Comment\ntable: comment\nfields:\n  body: String\n  parentId: int, relation(parent=post)\n",
            ),
        ],
        renames: &["comment.postId=comment.parentId"],
        values: &[("SELECT CAST(\"parentId\" AS TEXT) FROM comment", "2")],
        indexes: &[],
        foreign_keys: &[("comment", "parentId->post.id")],
        refused: &["INSERT INTO comment (body, \"parentId\") VALUES ('dangling', 99)"],
        drift_unchecked: None,
    },
    Case {
        what: "chained column renames a -> b -> c",
        before: &[("t", "class: T\ntable: t\nfields:\n  a: String\n  b: String\n")],
        seed: "INSERT INTO t (a, b) VALUES ('was a', 'was b');",
        after: &[("t", "class: T\ntable: t\nfields:\n  b: String\n  c: String\n")],
        renames: &["t.a=t.b", "t.b=t.c"],
        values: &[("SELECT b || '|' || c FROM t", "was a|was b")],
        indexes: &[],
        foreign_keys: &[],
        refused: &[],
        drift_unchecked: None,
    },
    Case {
        what: "swapped columns x <-> y",
        before: &[("t", "class: T\ntable: t\nfields:\n  x: String\n  y: String\n")],
        seed: "INSERT INTO t (x, y) VALUES ('was x', 'was y');",
        after: &[("t", "class: T\ntable: t\nfields:\n  x: String\n  y: String\n")],
        renames: &["t.x=t.y", "t.y=t.x"],
        values: &[("SELECT x || '|' || y FROM t", "was y|was x")],
        indexes: &[],
        foreign_keys: &[],
        refused: &[],
        drift_unchecked: None,
    },
    Case {
        what: "chained table renames a -> b -> c",
        before: &[
            ("a", "class: A\ntable: a\nfields:\n  x: String\n"),
            ("b", "class: B\ntable: b\nfields:\n  y: String\n"),
        ],
        seed: "INSERT INTO a (x) VALUES ('in a'); INSERT INTO b (y) VALUES ('in b');",
        after: &[
            ("b", "class: B\ntable: b\nfields:\n  x: String\n"),
            ("c", "class: C\ntable: c\nfields:\n  y: String\n"),
        ],
        renames: &["a=b", "b=c"],
        values: &[("SELECT x FROM b", "in a"), ("SELECT y FROM c", "in b")],
        indexes: &[],
        foreign_keys: &[],
        refused: &[],
        drift_unchecked: None,
    },
    Case {
        what: "swapped tables a <-> b, with a foreign key between them",
        before: &[
            ("a", "class: A\ntable: a\nfields:\n  x: String\n"),
            ("b", "class: B\ntable: b\nfields:\n  y: String\n  aId: int, relation(parent=a)\n"),
        ],
        seed: "INSERT INTO a (x) VALUES ('in a'); INSERT INTO b (y, \"aId\") VALUES ('in b', 1);",
        after: &[
            ("a", "class: A\ntable: a\nfields:\n  y: String\n  aId: int, relation(parent=b)\n"),
            ("b", "class: B\ntable: b\nfields:\n  x: String\n"),
        ],
        renames: &["a=b", "b=a"],
        values: &[("SELECT x FROM b", "in a"), ("SELECT a.y || '|' || b.x FROM a JOIN b ON b.id = a.\"aId\"", "in b|in a")],
        indexes: &[],
        foreign_keys: &[("a", "aId->b.id")],
        refused: &["INSERT INTO a (y, \"aId\") VALUES ('dangling', 99)"],
        drift_unchecked: None,
    },
    Case {
        what: "Serverpod's column= rename of a uniquely indexed column (no flag, no warning)",
        before: &[("u", "class: U\ntable: u\nfields:\n  code: String\nindexes:\n  u_code_idx:\n    fields: code\n    unique: true\n")],
        seed: "INSERT INTO u (code) VALUES ('k1');",
        after: &[(
            "u",
            "class: U\ntable: u\nfields:\n  code: String, column=ref\nindexes:\n  u_code_idx:\n    fields: code\n    unique: true\n",
        )],
        renames: &[],
        values: &[("SELECT ref FROM u", "k1")],
        indexes: &[("u", "u_code_idx")],
        foreign_keys: &[],
        refused: &["INSERT INTO u (ref) VALUES ('k1')"],
        drift_unchecked: None,
    },
    Case {
        what: "Serverpod's column= swap (no flag)",
        before: &[("t", "class: T\ntable: t\nfields:\n  x: String\n  y: String\n")],
        seed: "INSERT INTO t (x, y) VALUES ('field x', 'field y');",
        after: &[("t", "class: T\ntable: t\nfields:\n  x: String, column=y\n  y: String, column=x\n")],
        renames: &[],
        values: &[("SELECT y || '|' || x FROM t", "field x|field y")],
        indexes: &[],
        foreign_keys: &[],
        refused: &[],
        drift_unchecked: Some(FIELD_NAME_DRIFT),
    },
    Case {
        what: "Serverpod's column= chain a -> b -> c (no flag)",
        before: &[("t", "class: T\ntable: t\nfields:\n  a: String\n  b: String\n")],
        seed: "INSERT INTO t (a, b) VALUES ('field a', 'field b');",
        after: &[("t", "class: T\ntable: t\nfields:\n  a: String, column=b\n  b: String, column=c\n")],
        renames: &[],
        values: &[("SELECT b || '|' || c FROM t", "field a|field b")],
        indexes: &[],
        foreign_keys: &[],
        refused: &[],
        drift_unchecked: Some(FIELD_NAME_DRIFT),
    },
    Case {
        what: "rename plus a type change (json -> jsonb)",
        before: &[("doc", "class: Doc\ntable: doc\nfields:\n  meta: Map<String,String>?\n")],
        seed: "INSERT INTO doc (meta) VALUES ('{\"k\":\"v\"}');",
        after: &[("doc", "class: Doc\ntable: doc\nserializationDataType: jsonb\nfields:\n  data: Map<String,String>?\n")],
        renames: &["doc.meta=doc.data"],
        values: &[("SELECT CAST(count(*) AS TEXT) FROM doc WHERE data IS NOT NULL", "1")],
        indexes: &[],
        foreign_keys: &[],
        refused: &[],
        drift_unchecked: None,
    },
];

fn run_all(db: Db) {
    for case in CASES {
        run_case(db, case);
    }
}

#[test]
fn rename_matrix_on_postgres() {
    run_all(Db::Postgres);
}

#[test]
fn rename_matrix_on_sqlite() {
    run_all(Db::Sqlite);
}

#[test]
fn rename_plus_impossible_type_change_is_refused_and_nothing_is_written() {
    let p = Project::new(Db::Postgres);
    p.models(&[("t", "class: T\ntable: t\nfields:\n  count: String\n")]);
    p.run(V1, &["create-migration"]).code(0);
    p.models(&[("t", "class: T\ntable: t\nfields:\n  total: int\n")]);
    let before = fs::read_dir(p.dir.join("migrations")).unwrap().count();
    p.run(V2, &["create-migration", "--rename", "t.count=t.total"])
        .code(1)
        .stderr_says("--rename t.count=t.total: the column changes type from String to int");
    assert_eq!(fs::read_dir(p.dir.join("migrations")).unwrap().count(), before);
}
