//! The pure create-migration planner, and the model-file reader feeding it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use strata_models::SourceFile;
use strata_project::{
    plan_migration, read_model_files, ModuleDefinition, PlanInput, PlanOutcome, ProjectConfig, ProjectError,
};
use strata_schema::{
    definition_from_json, migration_from_json, DatabaseDefinition, MigrationAction, MigrationVersion,
};

const COMPANY: &str = "class: Company\ntable: company\nfields:\n  name: String\n";
const EMPLOYEE: &str = "class: Employee\ntable: employee\nfields:\n  name: String\n  \
                        companyId: int, relation(parent=company)\n";

fn files(models: &[(&str, &str)]) -> Vec<SourceFile> {
    models.iter().map(|(p, t)| SourceFile { path: PathBuf::from(p), text: t.to_string() }).collect()
}

struct Case {
    previous: DatabaseDefinition,
    models: Vec<SourceFile>,
    modules: Vec<ModuleDefinition>,
    force: bool,
    empty: bool,
    version: &'static str,
}

impl Case {
    fn new(models: &[(&str, &str)]) -> Case {
        Case {
            previous: DatabaseDefinition::empty("shop"),
            models: files(models),
            modules: Vec::new(),
            force: false,
            empty: false,
            version: "20260101000000001",
        }
    }

    fn plan(&self) -> Result<PlanOutcome, ProjectError> {
        let dialect = strata_sql::dialect_by_name("postgres").unwrap();
        let aliases = BTreeMap::new();
        plan_migration(&PlanInput {
            module_name: "shop",
            jsonb_by_default: false,
            module_aliases: &aliases,
            extra_classes: &[],
            shared_packages: &[],
            dialect: dialect.as_ref(),
            previous: &self.previous,
            model_files: &self.models,
            modules: &self.modules,
            force: self.force,
            empty: self.empty,
            renames: &Default::default(),
            // These cases pin Serverpod's drop + add; rename candidates have their own tests.
            no_rename: true,
            version: self.version,
        })
    }
}

fn created(outcome: PlanOutcome) -> (String, BTreeMap<String, String>, Vec<String>) {
    match outcome {
        PlanOutcome::Created { version, files, warnings, .. } => {
            let names = files.iter().map(|(n, _)| n.clone()).collect();
            let map = files.into_iter().map(|(n, b)| (n, String::from_utf8(b).unwrap())).collect();
            let _ = warnings;
            (version, map, names)
        }
        other => panic!("expected Created, got {other:?}"),
    }
}

#[test]
fn first_migration_writes_five_files_in_serverpods_order() {
    let case = Case::new(&[("lib/employee.spy.yaml", EMPLOYEE), ("lib/company.spy.yaml", COMPANY)]);
    let (version, files, names) = created(case.plan().unwrap());
    assert_eq!(version, "20260101000000001");
    assert_eq!(
        names,
        ["definition_project.json", "definition.json", "definition.sql", "migration.json", "migration.sql"]
    );
    let def = definition_from_json(&files["definition.json"]).unwrap();
    let tables: Vec<&str> = def.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tables, ["company", "employee"], "project tables sorted by name");
    assert_eq!(def.installed_modules, [MigrationVersion::project("shop", "20260101000000001")]);
    let project = definition_from_json(&files["definition_project.json"]).unwrap();
    assert!(project.installed_modules.is_empty());
    let migration = migration_from_json(&files["migration.json"]).unwrap();
    assert_eq!(migration.actions.len(), 2);
    assert!(files["migration.sql"].contains("'20260101000000001'"), "bookkeeping upsert");
    assert!(files["definition.sql"].contains("CREATE TABLE \"company\""));
}

#[test]
fn planning_is_deterministic() {
    let case = Case::new(&[("lib/company.spy.yaml", COMPANY), ("lib/employee.spy.yaml", EMPLOYEE)]);
    assert_eq!(case.plan().unwrap(), case.plan().unwrap());
}

/// The definition a previous run wrote for these models.
fn previous_for(models: &[(&str, &str)]) -> DatabaseDefinition {
    let (_, files, _) = created(Case::new(models).plan().unwrap());
    definition_from_json(&files["definition.json"]).unwrap()
}

#[test]
fn unchanged_models_are_no_changes() {
    let models = [("lib/company.spy.yaml", COMPANY)];
    let mut case = Case::new(&models);
    case.previous = previous_for(&models);
    case.version = "20260101000000002";
    assert_eq!(case.plan().unwrap(), PlanOutcome::NoChanges);

    case.empty = true;
    let (_, files, _) = created(case.plan().unwrap());
    assert!(migration_from_json(&files["migration.json"]).unwrap().actions.is_empty());
    let def = definition_from_json(&files["definition.json"]).unwrap();
    assert_eq!(def.installed_modules[0].version, "20260101000000002");
}

#[test]
fn warnings_block_unless_forced() {
    let mut case = Case::new(&[("lib/company.spy.yaml", COMPANY)]);
    case.previous = previous_for(&[("lib/company.spy.yaml", COMPANY), ("lib/employee.spy.yaml", EMPLOYEE)]);
    match case.plan().unwrap() {
        PlanOutcome::Blocked { warnings, migration, .. } => {
            assert!(warnings.iter().any(|w| w.destructive && w.table == "employee"), "{warnings:?}");
            assert!(matches!(&migration.actions[..], [MigrationAction::DeleteTable(t)] if t == "employee"));
        }
        other => panic!("{other:?}"),
    }
    case.force = true;
    match case.plan().unwrap() {
        PlanOutcome::Created { warnings, .. } => assert!(!warnings.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_models_return_every_diagnostic() {
    let case = Case::new(&[
        ("lib/a.spy.yaml", "class: A\ntable: a\nfields:\n  x: Nope\n"),
        ("lib/b.spy.yaml", "class: B\ntable: b\nfields:\n  y: Nada\n"),
    ]);
    match case.plan().unwrap_err() {
        ProjectError::InvalidModels(d) => {
            let paths: Vec<&Path> = d.0.iter().map(|d| d.path.as_path()).collect();
            assert!(
                paths.contains(&Path::new("lib/a.spy.yaml")) && paths.contains(&Path::new("lib/b.spy.yaml"))
            );
            let msg = ProjectError::InvalidModels(d.clone()).to_string();
            assert!(msg.starts_with("Unable to generate database definition for project."), "{msg}");
            assert!(msg.contains("lib/a.spy.yaml:4:"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
}

fn module(name: &str, version: &str, table_model: &str) -> ModuleDefinition {
    let mut case = Case::new(&[("lib/m.spy.yaml", table_model)]);
    case.version = "20250101000000000";
    let (_, files, _) = created(case.plan().unwrap());
    let mut definition = definition_from_json(&files["definition_project.json"]).unwrap();
    definition.module_name = name.to_string();
    for t in &mut definition.tables {
        t.module = Some(name.to_string());
    }
    ModuleDefinition {
        dir: PathBuf::from(format!("../{name}_server")),
        name: name.into(),
        version: version.into(),
        definition,
    }
}

#[test]
fn modules_are_merged_after_the_project_tables() {
    let mut case = Case::new(&[("lib/company.spy.yaml", COMPANY)]);
    case.modules = vec![
        module("zeta", "20250101000000000", "class: Z\ntable: aaa_zeta\nfields:\n  n: int\n"),
        module("alpha", "20250202000000000-x", "class: A\ntable: alpha_user\nfields:\n  n: int\n"),
    ];
    let (_, files, _) = created(case.plan().unwrap());
    let def = definition_from_json(&files["definition.json"]).unwrap();
    let tables: Vec<&str> = def.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tables, ["company", "aaa_zeta", "alpha_user"], "project first, then modules in order");
    let installed: Vec<(&str, &str)> =
        def.installed_modules.iter().map(|m| (m.module.as_str(), m.version.as_str())).collect();
    assert_eq!(
        installed,
        [("shop", "20260101000000001"), ("zeta", "20250101000000000"), ("alpha", "20250202000000000-x")]
    );
    assert!(def.installed_modules[0].is_model_class && !def.installed_modules[1].is_model_class);
    let project = definition_from_json(&files["definition_project.json"]).unwrap();
    let tables: Vec<&str> = project.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tables, ["company"]);
    let installed: Vec<&str> = project.installed_modules.iter().map(|m| m.module.as_str()).collect();
    assert_eq!(installed, ["zeta", "alpha"]);
}

#[test]
fn project_models_may_relate_to_module_tables() {
    let mut case = Case::new(&[(
        "lib/profile.spy.yaml",
        "class: Profile\ntable: profile\nfields:\n  userId: int, relation(parent=auth_user)\n",
    )]);
    case.modules =
        vec![module("auth", "20250101000000000", "class: U\ntable: auth_user\nfields:\n  n: int\n")];
    let (_, files, _) = created(case.plan().unwrap());
    let def = definition_from_json(&files["definition.json"]).unwrap();
    assert_eq!(def.table("profile").unwrap().foreign_keys[0].reference_table, "auth_user");
}

#[test]
fn removed_modules_lose_their_bookkeeping_row() {
    let models = [("lib/company.spy.yaml", COMPANY)];
    let mut first = Case::new(&models);
    first.modules = vec![module("gone", "20250101000000000", "class: G\ntable: gone_t\nfields:\n  n: int\n")];
    let (_, files, _) = created(first.plan().unwrap());
    let mut case = Case::new(&models);
    case.previous = definition_from_json(&files["definition.json"]).unwrap();
    case.version = "20260101000000002";
    case.force = true; // dropping the module's table is destructive
    let (_, files, _) = created(case.plan().unwrap());
    let sql = &files["migration.sql"];
    assert!(sql.contains("DELETE FROM \"serverpod_migrations\"") && sql.contains("'gone'"), "{sql}");
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

#[test]
fn model_roots_follow_serverpod_rules_for_lib_and_add_extra_roots() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("app_server");
    write(&root.join("pubspec.yaml"), "name: app_server\n");
    write(&root.join("lib/src/models/a.yaml"), COMPANY);
    write(&root.join("lib/src/endpoints/not_a_model.yaml"), "x: 1\n");
    write(&root.join("lib/src/b.spy.yaml"), EMPLOYEE);
    write(&tmp.path().join("shared/models/c.yaml"), "class: C\ntable: c\nfields:\n  n: int\n");

    let config = ProjectConfig::load(&root).unwrap();
    let found: Vec<PathBuf> = read_model_files(&config).unwrap().into_iter().map(|f| f.path).collect();
    assert_eq!(found, [root.join("lib/src/b.spy.yaml"), root.join("lib/src/models/a.yaml")]);

    write(&root.join("strata.toml"), "model_roots = [\"lib\", \"../shared/models\"]\n");
    let config = ProjectConfig::load(&root).unwrap();
    let found = read_model_files(&config).unwrap();
    assert_eq!(found.len(), 3);
    let shared = found.iter().find(|f| f.path.ends_with("shared/models/c.yaml")).expect("extra root scanned");
    assert!(shared.text.contains("table: c"));

    // Without `lib`, only the listed roots count.
    write(&root.join("strata.toml"), "model_roots = [\"lib/src/models\"]\n");
    let config = ProjectConfig::load(&root).unwrap();
    let found: Vec<PathBuf> = read_model_files(&config).unwrap().into_iter().map(|f| f.path).collect();
    assert_eq!(found, [root.join("lib/src/models/a.yaml")]);
}

#[test]
fn lineage_check_follows_the_migration_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = strata_project::MigrationsDir::new(tmp.path());
    let mut case = Case::new(&[("lib/company.spy.yaml", COMPANY)]);
    let (v1, first, _) = created(case.plan().unwrap());
    strata_project::write_version(
        &dir,
        &v1,
        &first.clone().into_iter().map(|(n, t)| (n, t.into_bytes())).collect::<Vec<_>>(),
    )
    .unwrap();
    assert_eq!(
        dir.check_lineage(&dir.versions().unwrap()).unwrap(),
        None,
        "first version builds on the empty schema"
    );

    case.previous = definition_from_json(&first["definition.json"]).unwrap();
    case.models = files(&[("lib/company.spy.yaml", COMPANY), ("lib/employee.spy.yaml", EMPLOYEE)]);
    case.version = "20260101000000002";
    let (v2, files2, _) = created(case.plan().unwrap());
    let bytes: Vec<(String, Vec<u8>)> = files2.into_iter().map(|(n, t)| (n, t.into_bytes())).collect();
    strata_project::write_version(&dir, &v2, &bytes).unwrap();
    assert_eq!(dir.check_lineage(&dir.versions().unwrap()).unwrap(), None);

    // A migration.json that does not lead from v1 to v2's definition.
    fs::write(
        dir.version_path(&v2).join("migration.json"),
        strata_schema::migration_to_json(&Default::default()),
    )
    .unwrap();
    assert_eq!(
        dir.check_lineage(&dir.versions().unwrap()).unwrap(),
        Some(strata_project::RegistryIssue::NotBuiltOnPredecessor { version: v2, predecessor: Some(v1) })
    );
}
