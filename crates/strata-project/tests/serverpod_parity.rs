//! A Serverpod server package that uses shared packages, `extraClasses` and a module class
//! relation through the module's own nickname works with no configuration (issue 7). The
//! fixture is `fixtures/projects/parity/` (our own): `garden_server` lists the shared package
//! `garden_shared` and depends on the module `tools_server` (module `tools`, nickname
//! `garden_tools`).

use std::path::{Path, PathBuf};

use strata_project::create::models_definition;
use strata_project::ProjectConfig;
use strata_schema::{ColumnType, DatabaseDefinition, TableDefinition};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/projects/parity").join(name)
}

fn garden_definition() -> DatabaseDefinition {
    let config = ProjectConfig::load(&fixture("garden_server")).expect("config loads");
    models_definition(&config, "20990101000000000").unwrap_or_else(|e| panic!("models build:\n{e}"))
}

fn table<'a>(def: &'a DatabaseDefinition, name: &str) -> &'a TableDefinition {
    def.table(name).unwrap_or_else(|| panic!("no table {name}"))
}

/// (column type, nullable, dart type) of a column.
fn column(t: &TableDefinition, name: &str) -> (ColumnType, bool, String) {
    let c = t.column(name).unwrap_or_else(|| panic!("no column {name} in {}", t.name));
    (c.column_type, c.is_nullable, c.dart_type.clone().unwrap_or_default())
}

/// A class may extend a class of a shared package, and inherits its fields.
#[test]
fn a_class_extends_a_class_of_a_shared_package() {
    let def = garden_definition();
    let plot = table(&def, "plot");
    let names: Vec<&str> = plot.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "label", "soil", "subsoil", "corner", "gardenerId", "favourite"]);
}

/// A shared package's enum is a project type, printed `<package>:<Enum>` and usable with that
/// prefix, its values (PascalCase here) valid defaults.
#[test]
fn a_shared_package_enum_is_a_project_type() {
    let def = garden_definition();
    let plot = table(&def, "plot");
    assert_eq!(column(plot, "soil"), (ColumnType::Text, false, "garden_shared:SoilKind".into()));
    assert_eq!(column(plot, "subsoil"), (ColumnType::Text, true, "garden_shared:SoilKind?".into()));
    assert_eq!(plot.column("soil").unwrap().column_default.as_deref(), Some("'Clay'"));
}

/// A table declared in a shared package belongs to the project that lists the package.
#[test]
fn a_shared_package_table_belongs_to_the_project() {
    let def = garden_definition();
    let seeds = table(&def, "seed_packet");
    assert_eq!(seeds.module.as_deref(), Some("garden"));
    assert_eq!(column(seeds, "variety"), (ColumnType::Text, false, "String".into()));
}

/// An `extraClasses` class is a json column typed with the entry Serverpod records.
#[test]
fn an_extra_class_is_stored_as_json() {
    let def = garden_definition();
    let plot = table(&def, "plot");
    assert_eq!(
        column(plot, "corner"),
        (ColumnType::Json, false, "package:garden_shared/garden_shared.dart:Coordinates".into())
    );
}

/// `module:garden_tools:Gardener` resolves through the module's own nickname (its
/// `config/generator.yaml`), with no `modules:` entry in the project: an object relation gets
/// its foreign key, a plain field the module's type.
#[test]
fn a_module_class_is_found_by_the_module_nickname() {
    let def = garden_definition();
    let plot = table(&def, "plot");
    assert_eq!(column(plot, "favourite"), (ColumnType::Json, true, "tools:Gardener?".into()));
    assert_eq!(column(plot, "gardenerId"), (ColumnType::Bigint, false, "int".into()));
    let fks: Vec<_> =
        plot.foreign_keys.iter().map(|f| (f.constraint_name.as_str(), f.reference_table.as_str())).collect();
    assert_eq!(fks, [("plot_fk_0", "gardener")]);
}

/// A `shared_packages` entry that is not a relative path to a package is refused, naming
/// `config/generator.yaml` and what to fix.
#[test]
fn a_bad_shared_package_entry_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("config")).unwrap();
    std::fs::write(root.join("pubspec.yaml"), "name: shop_server\n").unwrap();
    let generator = root.join("config/generator.yaml");
    let cases = [
        ("shared_packages: ../shop_shared\n", "must be a list of package paths"),
        ("shared_packages:\n  - /abs/shop_shared\n", "must be a path relative to the server package"),
    ];
    for (yaml, message) in cases {
        std::fs::write(&generator, yaml).unwrap();
        let err = ProjectConfig::load(root).unwrap_err().to_string();
        assert!(err.contains("generator.yaml") && err.contains(message), "{err}");
    }
    std::fs::write(&generator, "shared_packages:\n  - ../missing_shared\n").unwrap();
    let config = ProjectConfig::load(root).expect("the path is only followed when models are read");
    let err = config.shared_packages().unwrap_err().to_string();
    assert!(err.contains("missing_shared") && err.contains("has no pubspec.yaml"), "{err}");
}
