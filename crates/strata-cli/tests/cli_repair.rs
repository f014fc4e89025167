//! `strata create-repair-migration` end to end on PostgreSQL: planted drift is repaired,
//! rollbacks work and say data is not restored, "no changes" exits 1, unrepresentable objects
//! and other schemas are never touched.

mod common;

use std::fs;
use std::path::PathBuf;

use common::{pg_exec as exec, pg_strings as query_strings, Project, Run, V1};
use strata_testdb::PgScratch;

const V2: &str = "20260102000000001";
const NOW: &str = "20260103000000001";

fn fixture(rel: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/introspect").join(rel)
}

/// What these tests do with the `store` project, at the clock `NOW`.
trait RepairProject {
    fn add_v2(&self);
    fn now(&self, args: &[&str]) -> Run;
    fn repair(&self, url: &str, extra: &[&str]) -> Run;
    fn repair_file(&self) -> (String, String);
}

impl RepairProject for Project {
    /// Adds a second version: a new table and a new column.
    fn add_v2(&self) {
        fs::write(
            self.dir.join("lib/src/models/product.spy.yaml"),
            "class: Product\ntable: product\nfields:\n  title: String\n",
        )
        .unwrap();
        fs::write(
            self.dir.join("lib/src/models/company.spy.yaml"),
            "class: Company\ntable: company\nfields:\n  name: String\n  foundedAt: DateTime?\n  \
             rating: double, default=0.5\n  website: String?\nindexes:\n  company_name_idx:\n    \
             fields: name\n    unique: true\n",
        )
        .unwrap();
        self.run_at(V2, &["create-migration"]).code(0);
    }

    fn now(&self, args: &[&str]) -> Run {
        self.run_at(NOW, args)
    }

    fn repair(&self, url: &str, extra: &[&str]) -> Run {
        let mut args = vec!["create-repair-migration", "--database-url", url];
        args.extend_from_slice(extra);
        self.now(&args)
    }

    /// The single repair file.
    fn repair_file(&self) -> (String, String) {
        let dir = self.dir.join("repair-migration");
        let files: Vec<PathBuf> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let name = files[0].file_stem().unwrap().to_string_lossy().into_owned();
        (name, fs::read_to_string(&files[0]).unwrap())
    }
}

const PLANTED_DRIFT: &str = r#"
CREATE TABLE stray (id bigserial PRIMARY KEY, x text);
ALTER TABLE employee ADD COLUMN legacy text;
ALTER TABLE company DROP COLUMN "foundedAt";
ALTER TABLE employee ALTER COLUMN email TYPE bigint USING NULL;
DROP INDEX company_name_idx;
ALTER TABLE employee DROP CONSTRAINT employee_fk_0;
ALTER TABLE employee ADD CONSTRAINT employee_fk_0 FOREIGN KEY ("companyId") REFERENCES company (id) ON DELETE SET NULL;
ALTER TABLE employee ALTER COLUMN active SET DEFAULT false;
ALTER TABLE company ALTER COLUMN name DROP NOT NULL;
"#;

#[test]
fn planted_drift_is_reported_blocked_then_repaired() {
    let p = Project::store();
    let db = PgScratch::new("repair_drift");
    p.now(&["apply", "--database-url", &db.url]).code(0);
    exec(&db.url, PLANTED_DRIFT);

    let blocked = p.repair(&db.url, &[]);
    blocked
        .code(3)
        .says(&format!("table \"employee\": column \"email\" is bigint in the database, text in {V1}"))
        .says(&format!("table \"company\": column \"name\" is nullable in the database, not null in {V1}"))
        .says(&format!("table \"company\": column \"foundedAt\" is missing from the database ({V1} has it)"))
        .says("table \"company\": index \"company_name_idx\" is missing from the database")
        .says("table \"employee\": foreign key \"employee_fk_0\" has on delete SET NULL in the database, CASCADE in")
        .says("table \"employee\": column \"active\" has default false in the database, true in")
        .says("table \"stray\" is not in the target and will be DROPPED")
        .says("Migration aborted. Use --force to ignore warnings.");
    assert!(!p.dir.join("repair-migration").exists(), "nothing is written when blocked");

    p.repair(&db.url, &["--force", "--tag", "fix"]).code(0).says("Repair migration created: ");
    let (name, sql) = p.repair_file();
    assert_eq!(name, format!("{NOW}-fix"));
    assert!(sql.contains("SET LOCAL search_path TO \"public\";"), "{sql}");
    assert!(sql.contains(&format!("VALUES ('_repair', '{NOW}-fix', now())")), "{sql}");
    assert!(sql.contains(&format!("VALUES ('store', '{V1}', now())")), "{sql}");
    exec(&db.url, &sql);

    // After the repair nothing differs and the versions match: no changes, exit 1.
    p.repair(&db.url, &[])
        .code(1)
        .says("No changes detected. Use --force to create an empty repair migration.");
    let repair_row =
        query_strings(&db.url, "SELECT version FROM serverpod_migrations WHERE module = '_repair'");
    assert_eq!(repair_row, vec![format!("{NOW}-fix")]);
    let tables = query_strings(
        &db.url,
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    assert!(!tables.contains(&"stray".to_string()), "{tables:?}");
    assert!(
        tables.contains(&"strata_migration_history".to_string()),
        "the runner's history survives: {tables:?}"
    );
}

#[test]
fn strata_own_lease_and_background_tables_are_never_drift() {
    let p = Project::store();
    let db = PgScratch::new("repair_own_tables");
    p.now(&["apply", "--database-url", &db.url]).code(0);
    // What the lease lock and `strata background` create beside the history table.
    exec(&db.url, "CREATE TABLE strata_migration_lease (name text PRIMARY KEY, fence bigint)");
    exec(
        &db.url,
        "CREATE TABLE strata_background_jobs (version text, name text, PRIMARY KEY (version, name))",
    );
    p.repair(&db.url, &[]).code(1).says("No drift: the database matches");
    p.run(&["diff", "--from", &format!("db:{}", db.url), "--to", "latest"]).code(0);
}

#[test]
fn no_drift_exits_1_and_force_writes_an_empty_repair() {
    let p = Project::store();
    let db = PgScratch::new("repair_clean");
    p.now(&["apply", "--database-url", &db.url]).code(0);
    p.repair(&db.url, &[]).code(1).says("No drift: the database matches").says("No changes detected.");
    assert!(!p.dir.join("repair-migration").exists());
    p.repair(&db.url, &["--force"]).code(0);
    let (name, sql) = p.repair_file();
    assert_eq!(name, NOW);
    assert!(!sql.contains("DROP") && !sql.contains("-- ACTION"), "only bookkeeping: {sql}");
    // A second repair replaces the first (at most one file).
    p.run_at("20260104000000001", &["create-repair-migration", "--database-url", &db.url, "--force"]).code(0);
    assert_eq!(p.repair_file().0, "20260104000000001");
    // Unknown versions list what exists, as Serverpod does.
    p.repair(&db.url, &["--version", "20990101000000000"]).code(1).says(&format!(
        "Unable to find the specified target migration \"20990101000000000\". Available versions: [{V1}]."
    ));
}

#[test]
fn rollback_to_an_older_version_says_data_is_not_restored() {
    let p = Project::store();
    p.add_v2();
    let db = PgScratch::new("repair_rollback");
    p.now(&["apply", "--database-url", &db.url]).code(0);
    p.repair(&db.url, &["--version", V1])
        .code(3)
        .says("schema ROLLBACK")
        .says("data is NOT restored")
        .says("table \"product\" is not in the target and will be DROPPED");
    p.repair(&db.url, &["--version", V1, "--force"]).code(0);
    let (_, sql) = p.repair_file();
    exec(&db.url, &sql);
    p.repair(&db.url, &["--version", V1]).code(1).says("No changes detected.");
    let project_row =
        query_strings(&db.url, "SELECT version FROM serverpod_migrations WHERE module = 'store'");
    assert_eq!(project_row, vec![V1.to_string()]);
    let columns = query_strings(
        &db.url,
        "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'company' ORDER BY 1",
    );
    assert!(!columns.contains(&"website".to_string()), "{columns:?}");
}

#[test]
fn repair_then_migrations_with_apply_repair() {
    let p = Project::store();
    let db = PgScratch::new("repair_apply");
    p.now(&["apply", "--database-url", &db.url]).code(0);
    exec(&db.url, "ALTER TABLE employee DROP COLUMN email;");
    p.repair(&db.url, &["--force"]).code(0);
    let (name, _) = p.repair_file();
    p.now(&["apply", "--repair", "--database-url", &db.url]).code(0);
    p.repair(&db.url, &[]).code(1).says("No changes detected.");
    // Applying again skips the repair it already recorded.
    let again = p.now(&["apply", "--repair", "--database-url", &db.url]);
    again.code(0);
    let repair_row =
        query_strings(&db.url, "SELECT version FROM serverpod_migrations WHERE module = '_repair'");
    assert_eq!(repair_row, vec![name]);
}

/// A project whose only version has no tables: a repair towards it would drop everything.
fn empty_project() -> Project {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("empty");
    fs::create_dir_all(dir.join(format!("migrations/{V1}"))).unwrap();
    fs::write(dir.join("pubspec.yaml"), "name: empty_server\n").unwrap();
    let mut def = strata_schema::DatabaseDefinition::empty("empty");
    def.installed_modules.push(strata_schema::MigrationVersion::project("empty", V1));
    fs::write(dir.join(format!("migrations/{V1}/definition.json")), strata_schema::definition_to_json(&def))
        .unwrap();
    Project::laid_out(tmp, dir)
}

#[test]
fn repair_to_an_empty_target_names_every_table_and_never_touches_other_schemas() {
    let p = empty_project();
    let db = PgScratch::new("repair_handwritten");
    exec(&db.url, &fs::read_to_string(fixture("handwritten.sql")).unwrap());
    exec(&db.url, "INSERT INTO audit.log (msg) VALUES ('keep me');");
    p.repair(&db.url, &[])
        .code(3)
        .says("table \"Customers\" is not in the target and will be DROPPED")
        .says("table \"orders\" is not in the target and will be DROPPED")
        .says("table \"order_lines\" is not in the target and will be DROPPED")
        .says("dropping table \"orders\" also destroys view \"public\".\"big_orders\"")
        .says("check constraint \"amount_positive\"")
        .says("enum type \"public\".\"mood\"");
    p.repair(&db.url, &["--force"]).code(0);
    let (_, sql) = p.repair_file();
    assert!(!sql.contains("audit"), "{sql}");
    exec(&db.url, &sql);
    let public = query_strings(
        &db.url,
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    assert_eq!(public, vec!["serverpod_migrations".to_string()]);
    let kept = query_strings(&db.url, "SELECT msg FROM audit.log");
    assert_eq!(kept, vec!["keep me".to_string()]);
}

#[test]
fn tables_referenced_from_other_schemas_are_never_dropped() {
    let p = empty_project();
    let db = PgScratch::new("repair_inbound");
    exec(&db.url, &fs::read_to_string(fixture("handwritten.sql")).unwrap());
    exec(&db.url, &fs::read_to_string(fixture("inbound_fk.sql")).unwrap());
    p.repair(&db.url, &["--force"])
        .code(3)
        .says("Repair refused")
        .says("customer_events_customer_fkey")
        .says("--force does not override this");
    assert!(!p.dir.join("repair-migration").exists());
}

/// A rollback applied with `apply --repair` stays rolled back: the newer version is not
/// re-applied (the dropped column does not come back empty), status exits 2 saying so, and only
/// an explicit `--to` goes forward again.
#[test]
fn apply_repair_of_a_rollback_stops_at_the_older_version() {
    let p = Project::store();
    p.add_v2();
    let db = PgScratch::new("repair_rollback_apply");
    p.now(&["apply", "--database-url", &db.url]).code(0);
    p.repair(&db.url, &["--version", V1, "--force"]).code(0);
    let applied = p.now(&["apply", "--repair", "--database-url", &db.url]);
    applied
        .code(0)
        .says(&format!("rolled back to {V1} by repair migration"))
        .says(&format!("strata apply --to {V2}"));
    let project_row =
        query_strings(&db.url, "SELECT version FROM serverpod_migrations WHERE module = 'store'");
    assert_eq!(project_row, vec![V1.to_string()]);
    let columns = query_strings(
        &db.url,
        "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'company' ORDER BY 1",
    );
    assert!(!columns.contains(&"website".to_string()), "V2 must not be re-applied: {columns:?}");
    p.now(&["status", "--database-url", &db.url]).code(2).says(&format!("rolled back to {V1}"));
    // Every later start with --repair keeps it rolled back.
    p.now(&["apply", "--repair", "--database-url", &db.url]).code(0);
    assert_eq!(
        query_strings(&db.url, "SELECT version FROM serverpod_migrations WHERE module = 'store'"),
        [V1]
    );
    // A plain apply goes forward again, and says so.
    p.now(&["apply", "--database-url", &db.url])
        .code(0)
        .says(&format!("the database was rolled back to {V1} by repair migration"));
    assert_eq!(
        query_strings(&db.url, "SELECT version FROM serverpod_migrations WHERE module = 'store'"),
        [V2]
    );
    p.now(&["status", "--database-url", &db.url]).code(0);
}

/// A repair file records the database it was computed from; `apply --repair` refuses another
/// database (a leftover file would drop what that one needs) unless --force.
#[test]
fn a_repair_file_is_refused_on_a_database_it_was_not_computed_from() {
    let p = Project::store();
    let a = PgScratch::new("repair_source_a");
    let b = PgScratch::new("repair_source_b");
    p.now(&["apply", "--database-url", &a.url]).code(0);
    p.now(&["apply", "--database-url", &b.url]).code(0);
    exec(&a.url, "ALTER TABLE employee DROP COLUMN email;");
    exec(&b.url, "ALTER TABLE company ADD COLUMN extra text;");
    p.repair(&a.url, &["--force"]).code(0);
    let (_, sql) = p.repair_file();
    assert!(sql.starts_with("-- strata-source-fingerprint: schema=public sha256:"), "{sql}");

    let refused = p.now(&["apply", "--repair", "--database-url", &b.url]);
    refused.code(1).says("computed from another database").says("--force");
    let extra = query_strings(
        &b.url,
        "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'company' AND column_name = 'extra'",
    );
    assert_eq!(extra, ["extra"], "nothing ran on the other database");
    assert!(
        query_strings(&b.url, "SELECT version FROM serverpod_migrations WHERE module = '_repair'").is_empty()
    );

    // The database it was computed from accepts it, and a later run skips it (already applied).
    p.now(&["apply", "--repair", "--database-url", &a.url]).code(0);
    p.now(&["apply", "--repair", "--database-url", &a.url]).code(0);
    p.repair(&a.url, &[]).code(1).says("No changes detected.");
    // --force skips the check: the file then really runs on b (and, computed for a, fails there).
    p.now(&["apply", "--repair", "--force", "--database-url", &b.url])
        .code(1)
        .says("column \"email\" of relation \"employee\" already exists");
}
