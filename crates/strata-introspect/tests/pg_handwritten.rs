//! A hand-written schema full of things strata never generates introspects without error;
//! every unrepresentable object is a warning naming it, and other schemas stay out of scope.

mod common;

use common::*;
use strata_introspect::repair::{repair_guards, repair_source};
use strata_introspect::{IntrospectOptions, Introspection, WarningKind};
use strata_schema::*;
use strata_testdb::PgScratch;

fn fixture(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/introspect").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn setup() -> (PgScratch, Introspection) {
    let db = PgScratch::new("handwritten");
    pg_exec(&db.url, &fixture("handwritten.sql"));
    pg_exec(&db.url, &fixture("inbound_fk.sql"));
    let live = pg_introspect(&db.url, &IntrospectOptions::default());
    (db, live)
}

/// A scratch database holding `sql`, read with the default options.
fn read_sql(name: &str, sql: &str) -> (PgScratch, Introspection) {
    let db = PgScratch::new(name);
    pg_exec(&db.url, sql);
    let live = pg_introspect(&db.url, &IntrospectOptions::default());
    (db, live)
}

fn has(live: &Introspection, kind: WarningKind, name: &str) -> bool {
    live.warnings.iter().any(|w| w.kind == kind && w.name == name)
}

#[test]
fn unrepresentable_objects_are_named_warnings() {
    let (_db, live) = setup();
    let all: Vec<String> = live.warnings.iter().map(|w| w.to_string()).collect();
    let expected = [
        (WarningKind::EnumType, "mood"),
        (WarningKind::DomainType, "posint"),
        (WarningKind::Sequence, "free_seq"),
        (WarningKind::CheckConstraint, "Customers_score_check"),
        (WarningKind::CheckConstraint, "amount_positive"),
        (WarningKind::ExclusionConstraint, "one_order_per_tenant_num"),
        (WarningKind::View, "big_orders"),
        (WarningKind::MaterializedView, "customer_names"),
        (WarningKind::Function, "touch"),
        (WarningKind::Trigger, "customers_touch"),
        (WarningKind::InboundForeignKey, "customer_events_customer_fkey"),
    ];
    for (kind, name) in expected {
        assert!(has(&live, kind, name), "missing {kind:?} {name}; got:\n{}", all.join("\n"));
    }
    // A descending index is part of the model, not a warning.
    assert!(!has(&live, WarningKind::IndexDetail, "customers_desc"), "{all:?}");
    let customers = live.definition.tables.iter().find(|t| t.name == "Customers").unwrap();
    let desc = customers.index("customers_desc").unwrap();
    assert!(desc.elements[0].descending && desc.elements[0].nulls_first, "{desc:?}");
    // Sequences owned by serial and identity columns are part of their column.
    assert!(!has(&live, WarningKind::Sequence, "Customers_id_seq"), "{all:?}");
    assert!(!has(&live, WarningKind::Sequence, "Customers_ident_seq"), "{all:?}");
    // The view names the tables it depends on.
    let view = live.warnings.iter().find(|w| w.name == "big_orders").unwrap();
    assert_eq!(view.depends_on, vec!["orders".to_string()]);
    let mood = live.warnings.iter().find(|w| w.kind == WarningKind::EnumType && w.name == "mood").unwrap();
    assert_eq!(mood.depends_on, vec!["Customers".to_string()], "the tables using a type are named");
    assert_eq!(mood.detail, "values 'sad', 'ok', 'happy'");

    // Other schemas are out of scope.
    let names: Vec<&str> = live.definition.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["Customers", "order_lines", "orders"]);
    // ... but not unseen: a schema left unread is named with a summary of what it holds.
    assert!(live.warnings.iter().all(|w| w.schema == "public"
        || matches!(w.kind, WarningKind::InboundForeignKey | WarningKind::OtherSchema)));
    let audit = live.warnings.iter().find(|w| w.kind == WarningKind::OtherSchema && w.name == "audit");
    assert!(audit.is_some_and(|w| w.detail.starts_with("not read (")), "{all:?}");

    // Every column keeps its exact type; none is an unknown-type warning any more.
    assert!(!live.warnings.iter().any(|w| w.kind == WarningKind::UnknownColumnType), "{all:?}");
    let c = live.definition.table("Customers").unwrap();
    let native = |table: &TableDefinition, column: &str| table.column(column).unwrap().native_type.clone();
    assert_eq!(c.column("code").unwrap().column_type, ColumnType::Unknown);
    assert_eq!(native(c, "code").as_deref(), Some("character varying(20)"));
    assert_eq!(native(c, "mood").as_deref(), Some("mood"));
    assert_eq!(native(c, "n").as_deref(), Some("posint"));
    assert_eq!(native(c, "tags").as_deref(), Some("text[]"));
    assert_eq!(native(c, "score").as_deref(), Some("integer"));
    assert_eq!(c.column("score").unwrap().column_type, ColumnType::Integer);
    let orders = live.definition.table("orders").unwrap();
    assert_eq!(native(orders, "amount").as_deref(), Some("numeric(10,2)"));
    // Identity, composite keys and unique constraints are part of the definition, not warnings.
    assert_eq!(c.column("ident").unwrap().identity, Some(Identity::ByDefault));
    assert_eq!(c.column("ident").unwrap().column_default, None);
    assert_eq!(c.keys.unique.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(), ["Customers_email_key"]);
    assert_eq!(c.keys.primary_key, None, "PRIMARY KEY (\"id\") under its default name is Serverpod's own");
    let pk = orders.keys.primary_key.as_ref().unwrap();
    assert_eq!(
        (pk.name.as_str(), pk.columns.clone()),
        ("orders_pkey", vec!["tenant".to_string(), "num".to_string()])
    );
    for (kind, name) in [
        (WarningKind::IdentityColumn, "ident"),
        (WarningKind::GeneratedColumn, "full"),
        (WarningKind::UniqueConstraint, "Customers_email_key"),
        (WarningKind::PrimaryKey, "orders"),
    ] {
        assert!(!has(&live, kind, name), "{kind:?} {name} is represented; got:\n{}", all.join("\n"));
    }
    assert_eq!(c.column("full").unwrap().column_default, None);
    // A generated column's expression is the server's own rendering of it.
    assert_eq!(c.column("full").unwrap().generated.as_deref(), Some("(\"FirstName\" || '!'::text)"));
    let expr = c.index("customers_lower_name").unwrap();
    assert_eq!(expr.elements, vec![IndexElement::new(IndexElementType::Expression, "lower(\"FirstName\")")]);
    let partial = c.index("customers_partial").unwrap();
    assert_eq!(partial.predicate.as_deref(), Some("code IS NOT NULL"));
    assert!(c.index("Customers_email_key").is_none(), "constraint-backed indexes are not plain indexes");
    let lines = live.definition.table("order_lines").unwrap();
    let k = &lines.foreign_keys[0];
    assert_eq!(k.columns, vec!["tenant", "num"]);
    assert_eq!(k.reference_columns, vec!["tenant", "num"]);
    assert_eq!(k.match_type, Some(ForeignKeyMatchType::Full));
    assert_eq!(k.deferrable, Some(Deferrable::InitiallyDeferred));
    assert_eq!(k.on_delete, Some(ForeignKeyAction::Cascade));
    let o = live.definition.table("orders").unwrap();
    assert_eq!(o.foreign_keys[0].on_delete, Some(ForeignKeyAction::SetNull));
    assert!(o.indexes.is_empty(), "the PK and exclusion indexes are not listed: {:?}", o.indexes);

    // Other schemas can be read explicitly, and then audit's tables appear.
    let both = pg_introspect(&_db.url, &IntrospectOptions::with_schemas(["public", "audit"]));
    assert!(both.definition.tables.iter().any(|t| t.name == "log" && t.schema == "audit"));
    assert!(!both.warnings.iter().any(|w| w.kind == WarningKind::InboundForeignKey));
    assert!(!both.warnings.iter().any(|w| w.kind == WarningKind::OtherSchema && w.name == "audit"));
}

#[test]
fn repair_towards_an_empty_target_names_every_table_and_what_dies_with_it() {
    let (_db, live) = setup();
    let target = definition(vec![]);
    let (source, notes) = repair_source(&live, &target);
    assert!(notes.is_empty(), "{notes:?}");
    let migration = strata_diff::generate_migration(&source, &target);
    let guards = repair_guards(&migration, &live);
    let text: Vec<String> = guards.iter().map(|g| g.message.clone()).collect();
    for t in ["Customers", "orders", "order_lines"] {
        assert!(
            text.iter()
                .any(|m| m.contains(&format!("table \"{t}\" is not in the target and will be DROPPED"))),
            "{t} not named: {text:#?}"
        );
    }
    for object in ["view \"public\".\"big_orders\"", "customer_events_customer_fkey", "customers_touch"] {
        assert!(text.iter().any(|m| m.contains(object)), "{object} not named: {text:#?}");
    }
    assert!(!text.iter().any(|m| m.contains("\"log\"")), "audit.log is out of scope: {text:#?}");
}

#[test]
fn native_columns_the_target_types_differently_are_altered_in_place() {
    let (_db, live) = setup();
    // A target file that wants "code" (varchar(20)) as text: altered in place, never dropped.
    let mut customers = live.definition.table("Customers").unwrap().clone();
    let code = customers.columns.iter_mut().find(|c| c.name == "code").unwrap();
    code.column_type = ColumnType::Text;
    code.native_type = None;
    let mut target = definition(vec![customers]);
    target.tables.extend(live.definition.tables.iter().filter(|t| t.name != "Customers").cloned());
    let (source, _notes) = repair_source(&live, &target);
    let migration = strata_diff::generate_migration(&source, &target);
    let json = migration_to_json(&migration);
    let Some(MigrationAction::AlterTable(t)) =
        migration.actions.iter().find(|a| a.table_name() == "Customers")
    else {
        panic!("no alteration of Customers: {json}");
    };
    assert!(t.delete_columns.is_empty() && t.add_columns.is_empty(), "{json}");
    assert_eq!(t.modify_columns.len(), 1, "{json}");
    assert_eq!(t.modify_columns[0].new_type, Some(ColumnType::Text), "{json}");
    assert!(
        migration
            .warnings
            .iter()
            .any(|w| w.message.contains("changes type from character varying(20) to text")
                && w.message.contains("only the catalog changes")),
        "{json}"
    );
}

/// PostgreSQL deparses some index expressions into syntax the SQL parser does not read
/// (`XMLSERIALIZE(CONTENT XMLPARSE(...))`): strata cannot prove such text is one expression, so
/// the index is named as one it will not write, while the ordinary expressions beside it pass.
#[test]
fn live_index_expressions_strata_cannot_write_are_named() {
    let (_db, live) = read_sql(
        "expr_check",
        "CREATE TABLE t (id bigserial PRIMARY KEY, a text, b int);
         CREATE INDEX t_xml ON t ((xmlserialize(content xmlparse(content a) AS text)));
         CREATE INDEX t_expr ON t (lower(a), (b + 1)) WHERE b > 0;",
    );
    let unwritable = |name: &str| {
        live.warnings.iter().find(|w| {
            w.kind == WarningKind::IndexDetail && w.name == name && w.detail.contains("will not write SQL")
        })
    };
    let warning = unwritable("t_xml").unwrap_or_else(|| panic!("{:#?}", live.warnings));
    assert!(warning.detail.contains("element 0 \"XMLSERIALIZE("), "{warning}");
    assert!(unwritable("t_expr").is_none(), "{:#?}", live.warnings);
    let t = live.definition.table("t").unwrap();
    assert_eq!(t.index("t_expr").unwrap().elements[1].definition, "(b + 1)");
}

/// A column can own several sequences (`ALTER SEQUENCE ... OWNED BY`), and a default can use
/// several: the column is still read once, and a default using only one sequence it owns is
/// still its serial default.
#[test]
fn a_column_owning_several_sequences_is_read_once() {
    let (_db, live) = read_sql(
        "owned_twice",
        "CREATE TABLE two (id bigint NOT NULL, n bigint, m text);
         CREATE SEQUENCE s_a OWNED BY two.id; CREATE SEQUENCE s_b OWNED BY two.id;
         ALTER TABLE two ALTER id SET DEFAULT nextval('s_a');
         CREATE SEQUENCE s_c OWNED BY two.n; CREATE SEQUENCE s_d OWNED BY two.n;
         ALTER TABLE two ALTER n SET DEFAULT nextval('s_c') + nextval('s_d');",
    );
    let two = live.definition.tables.iter().find(|t| t.name == "two").unwrap();
    let names: Vec<&str> = two.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "n", "m"]);
    assert_eq!(two.column("id").unwrap().column_default.as_deref(), Some(defaults::SERIAL), "{two:?}");
}

/// A primary key's columns are read in the key's order, not the table's, past dropped columns.
#[test]
fn primary_key_columns_keep_the_key_order_past_dropped_columns() {
    let (_db, live) = read_sql(
        "pk_order",
        "CREATE TABLE k (gone int, a int NOT NULL, b text NOT NULL, CONSTRAINT k_key PRIMARY KEY (b, a));
         ALTER TABLE k DROP COLUMN gone;",
    );
    let k = live.definition.tables.iter().find(|t| t.name == "k").unwrap();
    let key = k.keys.primary_key.as_ref().expect("the stated primary key");
    assert_eq!(
        (key.name.as_str(), key.columns.as_slice()),
        ("k_key", &["b".to_string(), "a".to_string()][..])
    );
}

/// A schema's comment has no schema of its own in `pg_identify_object`: it is the schema's, and
/// `public`'s (whose oid predates user objects) is read like any other once it is not the
/// standard one.
#[test]
fn a_comment_on_the_public_schema_is_a_named_warning() {
    let (_db, live) = read_sql(
        "schema_comment",
        "CREATE TABLE t (id bigserial PRIMARY KEY); COMMENT ON SCHEMA public IS 'the shop';",
    );
    let comment =
        live.warnings.iter().find(|w| w.kind == WarningKind::Comment).expect("the schema's comment");
    assert_eq!((comment.schema.as_str(), comment.name.as_str()), ("public", "schema public"), "{comment:?}");
    assert!(comment.detail.contains("'the shop'"), "{comment:?}");
}

/// Columns of an extension's type (or an array of one) need the extension; others do not.
#[test]
fn columns_of_an_extension_type_are_named_dependencies() {
    let (_db, live) = read_sql(
        "extension_types",
        "CREATE EXTENSION hstore; CREATE EXTENSION citext;
         CREATE TABLE e (id bigserial PRIMARY KEY, h hstore, ha hstore[], c citext, plain text);",
    );
    let mut needs: Vec<(String, String)> = live
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::Dependency)
        .map(|w| (w.name.clone(), w.detail.clone()))
        .collect();
    needs.sort();
    let expect = |column: &str, extension: &str| {
        (
            column.to_string(),
            format!("its type needs extension \"{extension}\", which strata does not create"),
        )
    };
    assert_eq!(needs, [expect("c", "citext"), expect("h", "hstore"), expect("ha", "hstore")]);
}
