//! The migration files as the runner sees them: per version its `definition.sql` and
//! `migration.sql` with checksums, and the single repair migration.
//!
//! The SQL text is kept in memory together with its checksum, so the file that runs is exactly
//! the file that was checked (no window for an edit in between).

use std::path::{Path, PathBuf};

use crate::checksum::checksum;
use crate::DbError;

/// One SQL file of a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlFileInfo {
    pub path: PathBuf,
    /// [`crate::checksum::checksum`] of `sql`.
    pub checksum: String,
    pub sql: String,
}

impl SqlFileInfo {
    /// Builds the info for SQL text (the path is only used in messages).
    pub fn new(path: impl Into<PathBuf>, sql: impl Into<String>) -> SqlFileInfo {
        let sql = sql.into();
        SqlFileInfo { path: path.into(), checksum: checksum(&sql), sql }
    }
}

/// A version directory under `migrations/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskMigration {
    pub version: String,
    pub definition: Option<SqlFileInfo>,
    pub migration: Option<SqlFileInfo>,
}

impl DiskMigration {
    /// A version from text embedded in the binary (`strata_db::include_migrations!`): the
    /// same value [`read_migrations`] builds from disk, with `embedded:<version>/<file>` as the
    /// path shown in messages.
    pub fn from_embedded(
        version: &str,
        definition_sql: Option<&str>,
        migration_sql: Option<&str>,
    ) -> DiskMigration {
        let file = |name: &str, sql: &str| SqlFileInfo::new(format!("embedded:{version}/{name}"), sql);
        DiskMigration {
            version: version.to_string(),
            definition: definition_sql.map(|sql| file("definition.sql", sql)),
            migration: migration_sql.map(|sql| file("migration.sql", sql)),
        }
    }
}

/// The single `*.sql` in `repair-migration/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairFile {
    /// The file name up to the first `.sql` (Serverpod cuts at the first `.`, which breaks tags
    /// containing dots; the two agree for every name Serverpod itself generates).
    pub version: String,
    pub file: SqlFileInfo,
}

fn io(path: &Path, e: std::io::Error) -> DbError {
    DbError::Io { path: path.to_path_buf(), message: e.to_string() }
}

fn read_optional(path: PathBuf) -> Result<Option<SqlFileInfo>, DbError> {
    match std::fs::read_to_string(&path) {
        Ok(sql) => Ok(Some(SqlFileInfo::new(path, sql))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path, e)),
    }
}

/// Reads every version directory of `dir`, sorted by name (Serverpod's order). A missing
/// directory means no migrations. Completely empty directories (left by a discarded
/// `create-migration`) are not versions, as in Serverpod; any other directory is, even if its SQL
/// files are missing (the plan then says which file is missing).
pub fn read_migrations(dir: &Path) -> Result<Vec<DiskMigration>, DbError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io(dir, e))?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
        if name.starts_with('.') {
            continue;
        }
        let empty = std::fs::read_dir(&path).map_err(|e| io(&path, e))?.next().is_none();
        if !empty {
            names.push(name);
        }
    }
    names.sort();
    names
        .into_iter()
        .map(|version| {
            let vdir = dir.join(&version);
            Ok(DiskMigration {
                definition: read_optional(vdir.join("definition.sql"))?,
                migration: read_optional(vdir.join("migration.sql"))?,
                version,
            })
        })
        .collect()
}

/// Reads the repair migration, if there is one. Several `*.sql` files are an error (Serverpod
/// would pick none and crash).
pub fn read_repair(dir: &Path) -> Result<Option<RepairFile>, DbError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(dir, e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io(dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".sql") && entry.path().is_file() {
            files.push(name);
        }
    }
    files.sort();
    match files.len() {
        0 => Ok(None),
        1 => {
            let name = &files[0];
            let version = name.split(".sql").next().unwrap_or(name).to_string();
            let path = dir.join(name);
            let sql = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
            Ok(Some(RepairFile { version, file: SqlFileInfo::new(path, sql) }))
        }
        _ => Err(DbError::SeveralRepairFiles { dir: dir.to_path_buf(), files }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sorted_versions_and_skips_empty_dirs() {
        let d = tempfile::tempdir().unwrap();
        for v in ["20240102000000000", "20240101000000000-first", "20240103000000000"] {
            std::fs::create_dir_all(d.path().join(v)).unwrap();
        }
        std::fs::write(d.path().join("20240101000000000-first/definition.sql"), "BEGIN;\nCOMMIT;\n").unwrap();
        std::fs::write(d.path().join("20240102000000000/migration.sql"), "BEGIN;\r\nCOMMIT;\r\n").unwrap();
        std::fs::write(d.path().join("migration_registry.txt"), "x").unwrap();
        let m = read_migrations(d.path()).unwrap();
        let names: Vec<_> = m.iter().map(|m| m.version.as_str()).collect();
        assert_eq!(names, ["20240101000000000-first", "20240102000000000"]);
        assert!(m[0].definition.is_some() && m[0].migration.is_none());
        assert_eq!(m[1].migration.as_ref().unwrap().checksum, m[0].definition.as_ref().unwrap().checksum);
        assert!(read_migrations(&d.path().join("nope")).unwrap().is_empty());
    }

    #[test]
    fn repair_file_rules() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read_repair(d.path()).unwrap(), None);
        std::fs::write(d.path().join("20240301101010101-fix.v2.sql"), "BEGIN;\nCOMMIT;\n").unwrap();
        std::fs::write(d.path().join("README.md"), "x").unwrap();
        let r = read_repair(d.path()).unwrap().unwrap();
        assert_eq!(r.version, "20240301101010101-fix.v2");
        std::fs::write(d.path().join("other.sql"), "x").unwrap();
        assert!(matches!(read_repair(d.path()), Err(DbError::SeveralRepairFiles { .. })));
    }
}
