//! §1.1 discovery rules.

use std::fs;
use std::path::Path;

use strata_models::discover_model_files;

fn touch(root: &Path, rel: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, "class: X\n").unwrap();
}

#[test]
fn discovery_rules() {
    let dir = tempfile::tempdir().unwrap();
    let server = dir.path().join("my_server");
    for rel in [
        "lib/src/models/b.yaml",
        "lib/src/models/nested/a.yml",
        "lib/src/protocol/p.yaml",
        "lib/src/endpoints/e.spy.yaml",
        "lib/other.spy",
        "lib/deep/x/y.spy.yml",
        "lib/src/config.yaml",
        "lib/src/endpoints/plain.yaml",
        "lib/src/models/readme.md",
        "config/generator.yaml",
        "test/t.spy.yaml",
    ] {
        touch(&server, rel);
    }
    let shared = dir.path().join("shared/lib/src/models");
    touch(&dir.path().join("shared"), "lib/src/models/s.yaml");
    touch(&dir.path().join("shared"), "lib/src/models/t.spy.yaml");
    let found = discover_model_files(&server, &[shared, dir.path().join("missing")]).unwrap();
    let rel: Vec<String> = found
        .iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().to_string_lossy().replace('\\', "/"))
        .collect();
    assert_eq!(
        rel,
        [
            "my_server/lib/deep/x/y.spy.yml",
            "my_server/lib/other.spy",
            "my_server/lib/src/endpoints/e.spy.yaml",
            "my_server/lib/src/models/b.yaml",
            "my_server/lib/src/models/nested/a.yml",
            "my_server/lib/src/protocol/p.yaml",
            "shared/lib/src/models/s.yaml",
            "shared/lib/src/models/t.spy.yaml",
        ]
    );
}

#[test]
fn missing_lib_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    assert!(discover_model_files(dir.path(), &[]).unwrap().is_empty());
}
