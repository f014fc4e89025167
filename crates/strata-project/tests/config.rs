//! Project configuration: strata.toml, Serverpod conventions, module discovery, errors.

use std::fs;
use std::path::{Path, PathBuf};

use strata_project::{ProjectConfig, ProjectError};

mod common;
use common::{module, write};

#[test]
fn serverpod_server_package_needs_no_config() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        &root.join("pubspec.yaml"),
        "name: shop_server\ndescription: x\ndependencies:\n  serverpod: 2.0.0\n",
    );
    let c = ProjectConfig::load(root).unwrap();
    assert_eq!(c.module_name, "shop");
    assert_eq!(c.dialect, "postgres");
    assert_eq!(c.model_roots, [root.join("lib")]);
    assert_eq!(c.migrations_dir, root.join("migrations"));
    assert_eq!(c.repair_dir, root.join("repair-migration"));
    assert_eq!(c.sqlite_path, root.join(".strata/strata.db"));
    assert!(c.modules.found.is_empty());
    assert!(!c.jsonb_by_default);
    assert_eq!(c.root, root);
    assert_eq!(c.display_path(&root.join("migrations/1")), PathBuf::from("migrations/1"));
}

#[test]
fn package_name_without_server_suffix_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("pubspec.yaml"), "name: 'tooling'\n");
    assert_eq!(ProjectConfig::load(tmp.path()).unwrap().module_name, "tooling");
}

#[test]
fn generator_yaml_sets_jsonb_default() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("pubspec.yaml"), "name: a_server\n");
    write(
        &tmp.path().join("config/generator.yaml"),
        "type: server\nclient_package_path: ../a_client\nserialize_as_jsonb_by_default: true\n",
    );
    assert!(ProjectConfig::load(tmp.path()).unwrap().jsonb_by_default);
}

#[test]
fn modules_are_discovered_from_package_config_in_serverpod_order() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("app_server");
    // Serverpod's order is the pubspec's (breadth first), not package_config's.
    write(
        &root.join("pubspec.yaml"),
        "name: app_server\ndependencies:\n  serverpod_auth_server: 2.0.0\n  serverpod: 2.0.0\n",
    );
    write(
        &root.join("config/generator.yaml"),
        "type: server\nmodules:\n  serverpod_auth:\n    nickname: auth\n",
    );
    fs::create_dir_all(root.join("migrations")).unwrap();
    let cache = tmp.path().join("pub cache");
    module(&cache.join("serverpod-2.0.0"));
    module(&cache.join("serverpod_auth_server-2.0.0"));
    // A package without migrations and one without generator.yaml are not modules.
    write(&cache.join("plain/config/generator.yaml"), "");
    fs::create_dir_all(cache.join("nogen/migrations")).unwrap();
    let abs = |p: &Path| format!("file://{}", p.display().to_string().replace(' ', "%20"));
    write(
        &root.join(".dart_tool/package_config.json"),
        &format!(
            r#"{{"configVersion": 2, "packages": [
  {{"name": "plain", "rootUri": "{}", "packageUri": "lib/"}},
  {{"name": "serverpod", "rootUri": "{}", "packageUri": "lib/"}},
  {{"name": "nogen", "rootUri": "{}"}},
  {{"name": "serverpod_auth_server", "rootUri": "{}", "packageUri": "lib/"}},
  {{"name": "app_server", "rootUri": "../", "packageUri": "lib/"}}
]}}"#,
            abs(&cache.join("plain")),
            abs(&cache.join("serverpod-2.0.0")),
            abs(&cache.join("nogen")),
            abs(&cache.join("serverpod_auth_server-2.0.0")),
        ),
    );
    let c = ProjectConfig::load(&root).unwrap();
    assert_eq!(c.module_name, "app");
    assert_eq!(c.modules.dirs(), [cache.join("serverpod_auth_server-2.0.0"), cache.join("serverpod-2.0.0")]);
}

#[test]
fn relative_root_uris_resolve_against_dart_tool() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("app_server");
    write(&root.join("pubspec.yaml"), "name: app_server\n");
    module(&tmp.path().join("mod_server"));
    write(
        &root.join(".dart_tool/package_config.json"),
        r#"{"configVersion": 2, "packages": [{"name": "mod_server", "rootUri": "../../mod_server"}]}"#,
    );
    let c = ProjectConfig::load(&root).unwrap();
    assert_eq!(c.modules.found.len(), 1);
    assert!(c.modules.found[0].dir.ends_with("mod_server"));
    assert!(c.modules.found[0].dir.join("migrations").is_dir());
}

#[test]
fn strata_toml_overrides_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(&root.join("pubspec.yaml"), "name: ignored_server\n");
    write(&root.join("config/generator.yaml"), "serialize_as_jsonb_by_default: true\n");
    write(
        &root.join("strata.toml"),
        r#"# strata project
module_name = "billing"
dialect = "sqlite"
model_roots = ["lib", "../shared/lib/src/models"]
migrations_dir = "db/migrations"
module_dirs = ["../auth_server"]
jsonb_by_default = false
sqlite_path = "data/app.db"
"#,
    );
    let c = ProjectConfig::load(root).unwrap();
    assert_eq!(c.module_name, "billing");
    assert_eq!(c.dialect, "sqlite");
    assert_eq!(c.model_roots, [root.join("lib"), root.join("../shared/lib/src/models")]);
    assert_eq!(c.migrations_dir, root.join("db/migrations"));
    // Declared, but not there: missing (an error once the modules are needed), never skipped.
    assert!(c.modules.found.is_empty());
    assert_eq!(c.modules.missing.len(), 1);
    assert_eq!(c.modules.missing[0].package, "../auth_server");
    assert!(c.modules.missing[0].looks_like_module);
    assert!(!c.jsonb_by_default);
    assert_eq!(c.sqlite_path, root.join("data/app.db"));
}

#[test]
fn strata_toml_alone_is_enough() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("strata.toml"), "module_name = \"solo\"\n");
    let c = ProjectConfig::load(tmp.path()).unwrap();
    assert_eq!(c.module_name, "solo");
    assert_eq!(c.dialect, "postgres");
}

fn config_error(toml: &str) -> (usize, usize, String) {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("pubspec.yaml"), "name: a_server\n");
    write(&tmp.path().join("strata.toml"), toml);
    match ProjectConfig::load(tmp.path()).unwrap_err() {
        ProjectError::Config { path, line, column, message } => {
            assert!(path.ends_with("strata.toml"));
            (line, column, message)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_keys_are_located_errors() {
    let (line, column, message) = config_error("dialect = \"postgres\"\nmigration_dir = \"m\"\n");
    assert_eq!((line, column), (2, 1));
    assert!(message.contains("unknown field `migration_dir`"), "{message}");
    assert!(message.contains("migrations_dir"), "suggests the known keys: {message}");
}

#[test]
fn bad_values_are_located_errors() {
    let (line, column, message) = config_error("\ndialect = \"oracle\"\n");
    assert_eq!((line, column), (2, 11));
    assert!(message.contains("unknown dialect \"oracle\""), "{message}");

    let (line, _, message) = config_error("jsonb_by_default = \"yes\"\n");
    assert_eq!(line, 1);
    assert!(message.contains("bool"), "{message}");

    let (line, _, message) = config_error("module_name = \"Bad Name\"\n");
    assert_eq!(line, 1);
    assert!(message.contains("module_name"), "{message}");

    let (line, _, _) = config_error("a = = 1\n");
    assert_eq!(line, 1);
}

#[test]
fn error_display_is_path_line_column() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("strata.toml"), "module_name = \"x\"\nbogus = 1\n");
    let msg = ProjectConfig::load(tmp.path()).unwrap_err().to_string();
    assert!(msg.contains("strata.toml:2:1: "), "{msg}");
}

#[test]
fn not_a_project_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let err = ProjectConfig::load(tmp.path()).unwrap_err();
    assert!(matches!(err, ProjectError::NotAProject { .. }));
    assert!(err.to_string().contains("strata.toml"), "{err}");
}

#[test]
fn strata_toml_without_pubspec_needs_module_name() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("strata.toml"), "dialect = \"postgres\"\n");
    let msg = ProjectConfig::load(tmp.path()).unwrap_err().to_string();
    assert!(msg.contains("module_name"), "{msg}");
}

#[test]
fn malformed_yaml_is_located() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("pubspec.yaml"), "name: a_server\ndependencies: [unclosed\n");
    match ProjectConfig::load(tmp.path()).unwrap_err() {
        ProjectError::Config { path, line, message, .. } => {
            assert!(path.ends_with("pubspec.yaml"));
            assert!(line >= 2, "{line}");
            assert!(message.contains("invalid YAML"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    write(&tmp.path().join("pubspec.yaml"), "name: a_server\n");
    write(&tmp.path().join("config/generator.yaml"), "modules:\n  - a\n  b: c\n");
    let err = ProjectConfig::load(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("generator.yaml"), "{err}");
}

#[test]
fn pubspec_without_name_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("pubspec.yaml"), "description: no name\n");
    let msg = ProjectConfig::load(tmp.path()).unwrap_err().to_string();
    assert!(msg.contains("pubspec.yaml") && msg.contains("name"), "{msg}");
}

/// The pubspec name becomes the module name, so it is held to the same rule as
/// `module_name` in strata.toml, and the error points at the value.
#[test]
fn invalid_pubspec_name_is_a_located_error() {
    for bad in ["My-App_server", "\"shop server\"", "'9lives'", "\"shop\\nserver\""] {
        let tmp = tempfile::tempdir().unwrap();
        write(&tmp.path().join("pubspec.yaml"), &format!("# the server\nname: {bad}\n"));
        match ProjectConfig::load(tmp.path()).unwrap_err() {
            ProjectError::Config { path, line, column, message } => {
                assert!(path.ends_with("pubspec.yaml"), "{bad}: {path:?}");
                assert_eq!((line, column), (2, 7), "{bad}: {message}");
                assert!(message.contains("must be lowercase letters, digits and underscores"), "{message}");
                assert!(message.contains("set module_name in strata.toml"), "{message}");
                assert!(!message.contains('\n'), "control characters are escaped: {message}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    // Valid names still work, quoted or not.
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("pubspec.yaml"), "name: 'shop_2_server'\n");
    assert_eq!(ProjectConfig::load(tmp.path()).unwrap().module_name, "shop_2");
}

#[test]
fn malformed_package_config_is_located() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("pubspec.yaml"), "name: a_server\n");
    write(&tmp.path().join(".dart_tool/package_config.json"), "{\n  \"packages\": [,]\n}");
    match ProjectConfig::load(tmp.path()).unwrap_err() {
        ProjectError::Config { path, line, .. } => {
            assert!(path.ends_with("package_config.json"));
            assert_eq!(line, 2);
        }
        other => panic!("{other:?}"),
    }
}

/// `installedModules` (and the merge) follow Serverpod's order: breadth first over the pubspec
/// dependencies that are modules, the project's first, then each module's own, whatever the
/// order of package_config.json or of `modules:` in generator.yaml.
#[test]
fn module_order_is_breadth_first_over_pubspec_dependencies() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("app_server");
    write(
        &root.join("pubspec.yaml"),
        "name: app_server\ndependencies:\n  b_server: 1.0.0\n  a_server: 1.0.0\n  uuid: 4.0.0\n",
    );
    write(&root.join("config/generator.yaml"), "type: server\nmodules:\n  c:\n    nickname: c\n");
    fs::create_dir_all(root.join("migrations")).unwrap();
    let cache = tmp.path().join("cache");
    for (name, deps) in [
        ("a_server", "  c_server: 1.0.0\n"),
        ("b_server", "  serverpod: 1.0.0\n"),
        ("c_server", ""),
        ("serverpod", ""),
    ] {
        module(&cache.join(name));
        write(&cache.join(name).join("pubspec.yaml"), &format!("name: {name}\ndependencies:\n{deps}"));
    }
    let entries: Vec<String> = ["serverpod", "a_server", "c_server", "b_server"]
        .iter()
        .map(|n| {
            format!(
                r#"{{"name": "{n}", "rootUri": "file://{}", "packageUri": "lib/"}}"#,
                cache.join(n).display()
            )
        })
        .collect();
    write(
        &root.join(".dart_tool/package_config.json"),
        &format!(r#"{{"configVersion": 2, "packages": [{}]}}"#, entries.join(", ")),
    );
    let c = ProjectConfig::load(&root).unwrap();
    let order: Vec<PathBuf> =
        ["b_server", "a_server", "serverpod", "c_server"].iter().map(|n| cache.join(n)).collect();
    assert_eq!(c.modules.dirs(), order);
}

#[test]
fn distributed_engines_are_dialects_stored_by_their_canonical_names() {
    for (written, stored) in [("crdb", "cockroachdb"), ("YugabyteDB", "yugabytedb"), ("citus", "citus")] {
        let tmp = tempfile::tempdir().unwrap();
        write(&tmp.path().join("pubspec.yaml"), "name: a_server\n");
        write(&tmp.path().join("strata.toml"), &format!("dialect = \"{written}\"\n"));
        assert_eq!(ProjectConfig::load(tmp.path()).unwrap().dialect, stored);
    }
    let (_, _, message) = config_error("dialect = \"spanner\"\n");
    assert!(message.contains("cockroachdb, yugabytedb, citus"), "lists them: {message}");
}
