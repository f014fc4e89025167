//! Shared support for the strata-project tests that lay out projects on disk.
#![allow(dead_code)]

use std::fs;
use std::path::Path;

/// Writes `text` to `path`, creating its parent directories.
pub fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A module package with the two markers Serverpod looks for.
pub fn module(dir: &Path) {
    write(&dir.join("config/generator.yaml"), "type: module\n");
    fs::create_dir_all(dir.join("migrations")).unwrap();
}
