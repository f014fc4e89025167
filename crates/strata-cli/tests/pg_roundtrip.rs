//! Round trip on a real PostgreSQL: a long sequence of model edits, each turned into a migration
//! by the real `strata create-migration --force --no-rename` (Serverpod's drop + add for renames) and applied cumulatively to database A. At the
//! end the last `definition.sql` is applied to an empty database B, and A and B are compared
//! through the system catalogs (tables, columns with `format_type`/nullability/`pg_get_expr`
//! defaults, `pg_get_indexdef`, `pg_get_constraintdef`). Rows inserted along the way must
//! survive renames and json <-> jsonb changes.
//!
//! Needs PostgreSQL 15 with PostGIS (`apt-get install postgresql-15-postgis-3`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use sqlx::{Connection, PgConnection, Row};
use strata_testdb::PgScratch;

const BIN: &str = env!("CARGO_BIN_EXE_strata");
const MODULE: &str = "roundtrip";

/// One model edit.
struct Step {
    what: &'static str,
    /// Model files to write (`name`, YAML); an empty YAML deletes the file.
    set: &'static [(&'static str, &'static str)],
    /// Whether the edit must produce a migration (false: "no changes detected").
    creates: bool,
    /// Data fix-ups run on A before the migration (what a user would do before a risky step).
    before: &'static str,
    /// SQL run on A after the migration (inserting rows to follow through later steps).
    after: &'static str,
    /// Single-value queries on A after the migration and their expected text result.
    checks: &'static [(&'static str, &'static str)],
}

const COMPANY_1: &str = "class: Company
table: company
fields:
  name: String
  foundedAt: DateTime?
  legacyCode: String?
";

const EMPLOYEE_1: &str = "class: Employee
table: employee
fields:
  name: String
  companyId: int, relation(parent=company)
  status: Status?
";

const STATUS_BY_NAME: &str = "enum: Status
serialized: byName
values:
  - active
  - retired
";

const DOC_1: &str = "class: Doc
table: doc
fields:
  title: String
  tags: List<String>
  meta: Map<String,String>?
";

const PLACE_1: &str = "class: Place
table: place
fields:
  name: String
  point: GeographyPoint
indexes:
  place_point_idx:
    fields: point
";

const TICKET_1: &str = "class: Ticket
table: ticket
fields:
  id: UuidValue?, defaultPersist=random
  title: String
";

const COUNTER_1: &str = "class: Counter
table: counter
fields:
  name: String
  seq: int
";

const AUDIT_1: &str = "class: Audit
table: audit
fields:
  action: String
";

const STEPS: &[Step] = &[
    Step {
        what: "initial schema: relations, enum, json, geography, uuid id",
        set: &[
            ("company.spy.yaml", COMPANY_1),
            ("employee.spy.yaml", EMPLOYEE_1),
            ("status.spy.yaml", STATUS_BY_NAME),
            ("doc.spy.yaml", DOC_1),
            ("place.spy.yaml", PLACE_1),
            ("ticket.spy.yaml", TICKET_1),
            ("counter.spy.yaml", COUNTER_1),
            ("audit.spy.yaml", AUDIT_1),
        ],
        creates: true,
        before: "",
        after: r#"
            INSERT INTO company (id, name) VALUES (1, 'Acme');
            INSERT INTO employee (name, "companyId", status) VALUES ('Ann', 1, 'active'), ('Bob', 1, 'retired');
            INSERT INTO doc (title, tags) VALUES ('d1', '["a","b"]');
            INSERT INTO place (name, point) VALUES ('origin', 'SRID=4326;POINT(0 0)');
        "#,
        checks: &[("SELECT count(*)::text FROM employee", "2")],
    },
    Step {
        what: "add a nullable column and columns with defaults",
        set: &[(
            "company.spy.yaml",
            "class: Company
table: company
fields:
  name: String
  foundedAt: DateTime?
  legacyCode: String?
  nickname: String?
  rating: double, default=1.5
  active: bool, default=true
",
        )],
        creates: true,
        before: "",
        after: "",
        checks: &[("SELECT rating::text || '/' || active::text FROM company WHERE id = 1", "1.5/true")],
    },
    Step {
        what: "physical rename via column= (field name unchanged)",
        set: &[(
            "employee.spy.yaml",
            "class: Employee
table: employee
fields:
  name: String, column=full_name
  companyId: int, relation(parent=company)
  status: Status?
",
        )],
        creates: true,
        before: "",
        after: "",
        checks: &[("SELECT string_agg(full_name, ',' ORDER BY id) FROM employee", "Ann,Bob")],
    },
    Step {
        what: "field renamed, physical name kept via column= (no migration)",
        set: &[(
            "employee.spy.yaml",
            "class: Employee
table: employee
fields:
  fullName: String, column=full_name
  companyId: int, relation(parent=company)
  status: Status?
",
        )],
        creates: false,
        before: "",
        after: "",
        checks: &[("SELECT string_agg(full_name, ',' ORDER BY id) FROM employee", "Ann,Bob")],
    },
    Step {
        what: "json -> jsonb",
        set: &[(
            "doc.spy.yaml",
            "class: Doc
table: doc
fields:
  title: String
  tags: List<String>, serializationDataType=jsonb
  meta: Map<String,String>?
",
        )],
        creates: true,
        before: "",
        after: "",
        checks: &[("SELECT pg_typeof(tags)::text || ':' || (tags->>1) FROM doc WHERE title = 'd1'", "jsonb:b")],
    },
    Step {
        what: "add indexes (btree, unique, spgist on a new geography column)",
        set: &[
            (
                "company.spy.yaml",
                "class: Company
table: company
fields:
  name: String
  foundedAt: DateTime?
  legacyCode: String?
  nickname: String?
  rating: double, default=1.5
  active: bool, default=true
indexes:
  company_name_idx:
    fields: name
    unique: true
",
            ),
            (
                "doc.spy.yaml",
                "class: Doc
table: doc
fields:
  title: String
  tags: List<String>, serializationDataType=jsonb
  meta: Map<String,String>?
indexes:
  doc_title_idx:
    fields: title
  doc_tags_idx:
    fields: tags
    operatorClass: jsonbPathOps
",
            ),
            (
                "place.spy.yaml",
                "class: Place
table: place
fields:
  name: String
  point: GeographyPoint
  area: GeographyPolygon?
indexes:
  place_point_idx:
    fields: point
  place_area_idx:
    fields: area
    type: spgist
",
            ),
        ],
        creates: true,
        before: "",
        after: "",
        checks: &[],
    },
    Step {
        what: "NOT NULL -> nullable",
        set: &[(
            "company.spy.yaml",
            "class: Company
table: company
fields:
  name: String?
  foundedAt: DateTime?
  legacyCode: String?
  nickname: String?
  rating: double, default=1.5
  active: bool, default=true
indexes:
  company_name_idx:
    fields: name
    unique: true
",
        )],
        creates: true,
        before: "",
        after: "INSERT INTO company (id, name) VALUES (2, NULL)",
        checks: &[("SELECT count(*)::text FROM company WHERE name IS NULL", "1")],
    },
    Step {
        what: "nullable -> NOT NULL with a default",
        set: &[(
            "company.spy.yaml",
            "class: Company
table: company
fields:
  name: String?
  foundedAt: DateTime?
  legacyCode: String?
  nickname: String, default='none'
  rating: double, default=1.5
  active: bool, default=true
indexes:
  company_name_idx:
    fields: name
    unique: true
",
        )],
        creates: true,
        before: "UPDATE company SET nickname = coalesce(name, 'anon') WHERE nickname IS NULL",
        after: "INSERT INTO company (id) VALUES (3)",
        checks: &[("SELECT string_agg(nickname, ',' ORDER BY id) FROM company", "Acme,anon,none")],
    },
    Step {
        what: "add, change and drop defaults",
        set: &[(
            "company.spy.yaml",
            "class: Company
table: company
fields:
  name: String?
  foundedAt: DateTime?, default=now
  legacyCode: String?
  nickname: String, default='none'
  rating: double, default=2.5
  active: bool
indexes:
  company_name_idx:
    fields: name
    unique: true
",
        )],
        creates: true,
        before: "",
        after: "INSERT INTO company (id, active) VALUES (4, false)",
        checks: &[(
            r#"SELECT rating::text || '/' || ("foundedAt" IS NOT NULL)::text FROM company WHERE id = 4"#,
            "2.5/true",
        )],
    },
    Step {
        what: "type change json -> text (drop + add)",
        set: &[(
            "doc.spy.yaml",
            "class: Doc
table: doc
fields:
  title: String
  tags: List<String>, serializationDataType=jsonb
  meta: String?
indexes:
  doc_title_idx:
    fields: title
  doc_tags_idx:
    fields: tags
    operatorClass: jsonbPathOps
",
        )],
        creates: true,
        before: "",
        after: "",
        checks: &[("SELECT pg_typeof(meta)::text FROM doc WHERE title = 'd1'", "text")],
    },
    Step {
        what: "enum byName -> byIndex (text -> bigint, drop + add)",
        set: &[(
            "status.spy.yaml",
            "enum: Status
serialized: byIndex
values:
  - active
  - retired
",
        )],
        creates: true,
        before: "",
        after: "UPDATE employee SET status = 1",
        checks: &[("SELECT pg_typeof(status)::text FROM employee LIMIT 1", "bigint")],
    },
    Step {
        what: "add a relation on a new column",
        set: &[(
            "doc.spy.yaml",
            "class: Doc
table: doc
fields:
  title: String
  tags: List<String>, serializationDataType=jsonb
  meta: String?
  companyId: int?, relation(parent=company)
indexes:
  doc_title_idx:
    fields: title
  doc_tags_idx:
    fields: tags
    operatorClass: jsonbPathOps
",
        )],
        creates: true,
        before: "",
        after: r#"UPDATE doc SET "companyId" = 1"#,
        checks: &[],
    },
    Step {
        what: "change a relation's action and make it deferrable",
        set: &[(
            "doc.spy.yaml",
            "class: Doc
table: doc
fields:
  title: String
  tags: List<String>, serializationDataType=jsonb
  meta: String?
  companyId: int?, relation(parent=company, onDelete=SetNull, deferrable)
indexes:
  doc_title_idx:
    fields: title
  doc_tags_idx:
    fields: tags
    operatorClass: jsonbPathOps
",
        )],
        creates: true,
        before: "",
        after: "",
        checks: &[(
            "SELECT condeferrable::text || '/' || confdeltype::text FROM pg_constraint WHERE conname = 'doc_fk_0'",
            "true/n",
        )],
    },
    Step {
        what: "remove a column, remove an index, change an index",
        set: &[
            (
                "company.spy.yaml",
                "class: Company
table: company
fields:
  name: String?
  foundedAt: DateTime?, default=now
  nickname: String, default='none'
  rating: double, default=2.5
  active: bool
indexes:
  company_name_idx:
    fields: name, nickname
    unique: true
",
            ),
            (
                "doc.spy.yaml",
                "class: Doc
table: doc
fields:
  title: String
  tags: List<String>, serializationDataType=jsonb
  meta: String?
  companyId: int?, relation(parent=company, onDelete=SetNull, deferrable)
indexes:
  doc_tags_idx:
    fields: tags
    operatorClass: jsonbOps
",
            ),
        ],
        creates: true,
        before: "",
        after: "",
        checks: &[("SELECT count(*)::text FROM company", "4")],
    },
    Step {
        what: "jsonb -> json, data preserved",
        set: &[(
            "doc.spy.yaml",
            "class: Doc
table: doc
fields:
  title: String
  tags: List<String>, serializationDataType=json
  meta: String?
  companyId: int?, relation(parent=company, onDelete=SetNull, deferrable)
",
        )],
        creates: true,
        before: "",
        after: "",
        checks: &[("SELECT pg_typeof(tags)::text || ':' || (tags->>0) FROM doc WHERE title = 'd1'", "json:a")],
    },
    Step {
        what: "add a NOT NULL column without default: table recreated, inbound FKs restored",
        set: &[(
            "company.spy.yaml",
            "class: Company
table: company
fields:
  name: String?
  foundedAt: DateTime?, default=now
  nickname: String, default='none'
  rating: double, default=2.5
  active: bool
  code: String
indexes:
  company_name_idx:
    fields: name, nickname
    unique: true
",
        )],
        creates: true,
        // The recreated table comes back empty: rows pointing at it would block the restored FKs.
        before: r#"DELETE FROM employee; UPDATE doc SET "companyId" = NULL"#,
        after: r#"
            INSERT INTO company (id, code, active) VALUES (10, 'c10', true);
            INSERT INTO employee (full_name, "companyId") VALUES ('Cy', 10);
        "#,
        checks: &[(
            "SELECT count(*)::text FROM pg_constraint WHERE contype = 'f' AND confrelid = 'company'::regclass",
            "2",
        )],
    },
    Step {
        what: "uuid id v4 -> v7 default",
        set: &[(
            "ticket.spy.yaml",
            "class: Ticket
table: ticket
fields:
  id: UuidValue?, defaultPersist=random_v7
  title: String
",
        )],
        creates: true,
        before: "",
        after: "INSERT INTO ticket (title) VALUES ('t1')",
        checks: &[("SELECT substr(id::text, 15, 1) FROM ticket WHERE title = 't1'", "7")],
    },
    Step {
        what: "id int -> UUID (table recreated)",
        set: &[(
            "counter.spy.yaml",
            "class: Counter
table: counter
fields:
  id: UuidValue?, defaultPersist=random
  name: String
  seq: int
",
        )],
        creates: true,
        before: "",
        after: "",
        checks: &[("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'counter'::regclass AND attname = 'id'", "uuid")],
    },
    Step {
        what: "an int column gains defaultPersist=serial",
        set: &[(
            "counter.spy.yaml",
            "class: Counter
table: counter
fields:
  id: UuidValue?, defaultPersist=random
  name: String
  seq: int, defaultPersist=serial
",
        )],
        creates: true,
        before: "",
        after: "INSERT INTO counter (name) VALUES ('a'), ('b')",
        checks: &[("SELECT string_agg(seq::text, ',' ORDER BY seq) FROM counter", "1,2")],
    },
    Step {
        what: "managedMigration: false on an existing table (recorded along with another change)",
        set: &[
            (
                "audit.spy.yaml",
                "class: Audit
table: audit
managedMigration: false
fields:
  action: String
",
            ),
            (
                "ticket.spy.yaml",
                "class: Ticket
table: ticket
fields:
  id: UuidValue?, defaultPersist=random_v7
  title: String
  note: String?
",
            ),
        ],
        creates: true,
        before: "",
        after: "",
        checks: &[],
    },
    Step {
        what: "managedMigration back to true (CREATE TABLE IF NOT EXISTS)",
        set: &[("audit.spy.yaml", AUDIT_1)],
        creates: true,
        before: "",
        after: "INSERT INTO audit (action) VALUES ('kept')",
        checks: &[("SELECT string_agg(action, ',') FROM audit", "kept")],
    },
    Step {
        what: "rename a table referenced by others (dependents recreated)",
        set: &[
            (
                "company.spy.yaml",
                "class: Company
table: firm
fields:
  name: String?
  foundedAt: DateTime?, default=now
  nickname: String, default='none'
  rating: double, default=2.5
  active: bool
  code: String
indexes:
  company_name_idx:
    fields: name, nickname
    unique: true
",
            ),
            (
                "employee.spy.yaml",
                "class: Employee
table: employee
fields:
  fullName: String, column=full_name
  companyId: int, relation(parent=firm)
  status: Status?
",
            ),
            (
                "doc.spy.yaml",
                "class: Doc
table: doc
fields:
  title: String
  tags: List<String>, serializationDataType=json
  meta: String?
  companyId: int?, relation(parent=firm, onDelete=SetNull, deferrable)
",
            ),
        ],
        creates: true,
        before: "",
        after: "",
        checks: &[("SELECT count(*)::text FROM pg_class WHERE relname = 'company'", "0")],
    },
    Step {
        what: "remove a relation, remove a table, deferred FK",
        set: &[
            ("place.spy.yaml", ""),
            (
                "doc.spy.yaml",
                "class: Doc
table: doc
fields:
  title: String
  tags: List<String>, serializationDataType=json
  meta: String?
  companyId: int?
",
            ),
            (
                "employee.spy.yaml",
                "class: Employee
table: employee
fields:
  fullName: String, column=full_name
  companyId: int, relation(parent=firm, onDelete=Cascade, deferred)
  status: Status?
",
            ),
        ],
        creates: true,
        before: "",
        after: "",
        checks: &[("SELECT count(*)::text FROM pg_class WHERE relname = 'place'", "0")],
    },
    Step {
        what: "rename a field without column= (drop + add) and rename an index",
        set: &[
            (
                "employee.spy.yaml",
                "class: Employee
table: employee
fields:
  fullName: String, column=full_name
  companyId: int, relation(parent=firm, onDelete=Cascade, deferred)
  state: Status?
",
            ),
            (
                "company.spy.yaml",
                "class: Company
table: firm
fields:
  name: String?
  foundedAt: DateTime?, default=now
  nickname: String, default='none'
  rating: double, default=2.5
  active: bool
  code: String
indexes:
  firm_name_idx:
    fields: name, nickname
    unique: true
",
            ),
        ],
        creates: true,
        before: "",
        after: "",
        checks: &[(
            "SELECT count(*)::text FROM pg_attribute WHERE attrelid = 'employee'::regclass AND attname = 'status'",
            "0",
        )],
    },
];

fn run_strata(project: &Path, now: &str) -> (i32, String) {
    let out = Command::new(BIN)
        .args(["create-migration", "--force", "--no-rename"])
        .current_dir(project)
        .env("STRATA_NOW", now)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run strata");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn versions(project: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(project.join("migrations"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url).await.unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

async fn exec(conn: &mut PgConnection, sql: &str, context: &str) {
    if sql.trim().is_empty() {
        return;
    }
    if let Err(e) = sqlx::raw_sql(sql).execute(&mut *conn).await {
        panic!("{context}: {e}\n--- SQL ---\n{sql}");
    }
}

/// The bookkeeping table a Serverpod project gets from the `serverpod` core module; created
/// up front in both databases when the generated SQL only upserts into it.
const BOOKKEEPING: &str = r#"
CREATE TABLE "serverpod_migrations" (
    "id" bigserial PRIMARY KEY,
    "module" text NOT NULL,
    "version" text NOT NULL,
    "timestamp" timestamp without time zone
);
CREATE UNIQUE INDEX "serverpod_migrations_ids" ON "serverpod_migrations" USING btree ("module");
"#;

fn creates_bookkeeping(sql: &str) -> bool {
    sql.contains("CREATE TABLE \"serverpod_migrations\"")
        || sql.contains("CREATE TABLE IF NOT EXISTS \"serverpod_migrations\"")
}

/// The schema of `public` as seen by the catalogs, one line per object, sorted.
async fn catalog(conn: &mut PgConnection) -> Vec<String> {
    let mut lines = Vec::new();
    let not_extension = "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')";
    let rows = sqlx::query(&format!(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND {not_extension} ORDER BY 1"
    ))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for r in rows {
        lines.push(format!("table {}", r.get::<String, _>(0)));
    }
    let rows = sqlx::query(&format!(
        "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(ad.adbin, ad.adrelid)
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
           AND {not_extension}
         ORDER BY 1, 2"
    ))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for r in rows {
        let default: Option<String> = r.get(4);
        lines.push(format!(
            "column {}.{} {}{}{}",
            r.get::<String, _>(0),
            r.get::<String, _>(1),
            r.get::<String, _>(2),
            if r.get::<bool, _>(3) { " NOT NULL" } else { "" },
            default.map(|d| format!(" DEFAULT {d}")).unwrap_or_default()
        ));
    }
    let rows = sqlx::query(&format!(
        "SELECT c.relname::text, i.relname::text, pg_get_indexdef(x.indexrelid)
         FROM pg_index x
         JOIN pg_class c ON c.oid = x.indrelid
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND {not_extension}
         ORDER BY 1, 2"
    ))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for r in rows {
        lines.push(format!(
            "index {}.{}: {}",
            r.get::<String, _>(0),
            r.get::<String, _>(1),
            r.get::<String, _>(2)
        ));
    }
    let rows = sqlx::query(&format!(
        "SELECT c.relname::text, k.conname::text, k.contype::text, pg_get_constraintdef(k.oid)
         FROM pg_constraint k
         JOIN pg_class c ON c.oid = k.conrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND k.contype IN ('f', 'p', 'u', 'c') AND {not_extension}
         ORDER BY 1, 2"
    ))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for r in rows {
        lines.push(format!(
            "constraint {}.{} [{}]: {}",
            r.get::<String, _>(0),
            r.get::<String, _>(1),
            r.get::<String, _>(2),
            r.get::<String, _>(3)
        ));
    }
    // Sequences are not listed on their own: the ones in use already appear in the column
    // defaults (`nextval('t_c_seq'::regclass)`), and dropping a serial default deliberately
    // leaves the column's sequence behind (as Serverpod does), which is not schema drift.
    lines
}

async fn require_postgis(conn: &mut PgConnection) {
    let available: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert!(
        available > 0,
        "PostGIS is not installed on the test PostgreSQL server; the round trip covers geography columns.\n\
         Install it with: apt-get install -y postgresql-15-postgis-3"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn migrations_applied_in_sequence_match_the_final_definition() {
    let db_a = PgScratch::new("roundtrip_a");
    let db_b = PgScratch::new("roundtrip_b");
    let mut a = connect(&db_a.url).await;
    require_postgis(&mut a).await;

    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path();
    fs::write(project.join("pubspec.yaml"), format!("name: {MODULE}_server\n")).unwrap();
    let models = project.join("lib/src/models");
    fs::create_dir_all(&models).unwrap();
    let mut current: BTreeMap<&str, &str> = BTreeMap::new();
    let mut bookkeeping_created = false;

    for (i, step) in STEPS.iter().enumerate() {
        let label = format!("step {} ({})", i + 1, step.what);
        for (name, yaml) in step.set {
            if yaml.is_empty() {
                current.remove(name);
                fs::remove_file(models.join(name)).unwrap();
            } else {
                current.insert(name, yaml);
                fs::write(models.join(name), yaml).unwrap();
            }
        }
        let before = versions(project);
        let now = format!("20260201000000{:03}", i + 1);
        let (code, output) = run_strata(project, &now);
        assert_eq!(code, 0, "{label}: create-migration failed:\n{output}");
        let after = versions(project);
        if !step.creates {
            assert_eq!(before, after, "{label}: expected no migration, got one:\n{output}");
            continue;
        }
        let version = after.last().cloned().unwrap_or_default();
        assert_eq!(after.len(), before.len() + 1, "{label}: expected a new version:\n{output}");
        assert_eq!(version, now, "{label}: version name");
        let sql = fs::read_to_string(project.join("migrations").join(&version).join("migration.sql"))
            .unwrap_or_else(|e| panic!("{label}: migration.sql: {e}"));
        if !bookkeeping_created && !creates_bookkeeping(&sql) {
            exec(&mut a, BOOKKEEPING, "bootstrap serverpod_migrations on A").await;
        }
        bookkeeping_created = true;
        exec(&mut a, step.before, &format!("{label}: data fix-up")).await;
        exec(&mut a, &sql, &format!("{label}: applying migrations/{version}/migration.sql to A")).await;
        let recorded: Option<String> =
            sqlx::query_scalar("SELECT version FROM serverpod_migrations WHERE module = $1")
                .bind(MODULE)
                .fetch_optional(&mut a)
                .await
                .unwrap_or_else(|e| panic!("{label}: reading serverpod_migrations: {e}"));
        assert_eq!(recorded.as_deref(), Some(version.as_str()), "{label}: version recorded in A");
        exec(&mut a, step.after, &format!("{label}: inserting rows")).await;
        for (query, expected) in step.checks {
            let got: Option<String> = sqlx::query_scalar(query)
                .fetch_one(&mut a)
                .await
                .unwrap_or_else(|e| panic!("{label}: check `{query}`: {e}"));
            assert_eq!(got.as_deref(), Some(*expected), "{label}: check `{query}`");
        }
    }
    assert!(STEPS.len() >= 15);

    // B: the final definition.sql on an empty database.
    let last = versions(project).last().cloned().expect("at least one version");
    let definition_sql =
        fs::read_to_string(project.join("migrations").join(&last).join("definition.sql")).unwrap();
    let mut b = connect(&db_b.url).await;
    if !creates_bookkeeping(&definition_sql) {
        exec(&mut b, BOOKKEEPING, "bootstrap serverpod_migrations on B").await;
    }
    exec(&mut b, &definition_sql, &format!("applying migrations/{last}/definition.sql to B")).await;

    let cat_a = catalog(&mut a).await.join("\n") + "\n";
    let cat_b = catalog(&mut b).await.join("\n") + "\n";
    if cat_a != cat_b {
        let diff = similar::TextDiff::from_lines(&cat_b, &cat_a)
            .unified_diff()
            .context_radius(2)
            .header("B: definition.sql on an empty database", "A: every migration.sql in sequence")
            .to_string();
        panic!("the migrated database differs from the final definition.sql:\n{diff}");
    }
    let _ = a.close().await;
    let _ = b.close().await;
}

/// Golden cases whose migrations are not expected to reproduce their `definition.sql`:
/// `managed` re-manages a table that gained a column while unmanaged, and Serverpod's
/// `CREATE TABLE IF NOT EXISTS` deliberately leaves the existing table alone (spec §7.1);
/// `legacy_v1` starts from a hand-written v1 version that has no SQL to replay.
const REPLAY_EXCLUDED: &[&str] = &["managed", "legacy_v1"];

fn golden_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden")
}

fn sorted_dirs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

async fn reset_schema(conn: &mut PgConnection) {
    exec(conn, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;", "resetting schema public").await;
}

/// Every PostgreSQL golden case, replayed: its blessed `migration.sql` files applied in order to
/// database A must give the same catalog as its last `definition.sql` applied to database B.
/// Cases using pgvector are skipped (the extension is not installed on the test server).
#[tokio::test(flavor = "current_thread")]
async fn golden_migrations_replay_to_their_final_definition() {
    let db_a = PgScratch::new("golden_replay_a");
    let db_b = PgScratch::new("golden_replay_b");
    let mut a = connect(&db_a.url).await;
    let mut b = connect(&db_b.url).await;
    require_postgis(&mut a).await;
    let mut failures = Vec::new();
    let mut replayed = 0;
    for case in sorted_dirs(&golden_root()) {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let steps = sorted_dirs(&case.join("expected"));
        let migrations: Vec<String> =
            steps.iter().filter_map(|s| fs::read_to_string(s.join("migration.sql")).ok()).collect();
        let Some(last_definition) =
            steps.iter().rev().find_map(|s| fs::read_to_string(s.join("definition.sql")).ok())
        else {
            continue;
        };
        if REPLAY_EXCLUDED.contains(&name.as_str())
            || migrations
                .iter()
                .chain([&last_definition])
                .any(|s| s.contains("CREATE EXTENSION IF NOT EXISTS vector"))
        {
            continue;
        }
        reset_schema(&mut a).await;
        reset_schema(&mut b).await;
        let mut failed = false;
        for (i, sql) in migrations.iter().enumerate() {
            if let Err(e) = sqlx::raw_sql(sql).execute(&mut a).await {
                failures.push(format!("{name}: migration #{} fails on PostgreSQL: {e}", i + 1));
                failed = true;
                break;
            }
        }
        if let Err(e) = sqlx::raw_sql(&last_definition).execute(&mut b).await {
            failures.push(format!("{name}: last definition.sql fails on PostgreSQL: {e}"));
            failed = true;
        }
        if failed {
            continue;
        }
        let cat_a = catalog(&mut a).await.join("\n") + "\n";
        let cat_b = catalog(&mut b).await.join("\n") + "\n";
        if cat_a != cat_b {
            let diff = similar::TextDiff::from_lines(&cat_b, &cat_a)
                .unified_diff()
                .context_radius(2)
                .header("definition.sql", "migrations replayed")
                .to_string();
            failures.push(format!("{name}: replayed migrations differ from definition.sql:\n{diff}"));
        }
        replayed += 1;
    }
    assert!(replayed >= 20, "only {replayed} golden cases replayed");
    assert!(
        failures.is_empty(),
        "{} golden case(s) fail to replay:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    let _ = a.close().await;
    let _ = b.close().await;
}
