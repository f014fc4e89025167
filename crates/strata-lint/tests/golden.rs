//! Golden cases: `fixtures/lint/<dialect>/<case>/migration.sql`, with the previous version's
//! `definition.json` when the case needs one, and `expected.txt` (re-bless with
//! `STRATA_BLESS=1`). Every code has a case named after it on every dialect it applies to, and
//! docs/lint.md carries the catalogue as the crate renders it.

use std::fs;
use std::path::{Path, PathBuf};

use strata_lint::{lint, render, LintInput, RuleSet, CATALOGUE};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn blessing() -> bool {
    std::env::var_os("STRATA_BLESS").is_some()
}

/// What a case's expected.txt holds: the findings as text, then the suppressed ones.
fn render_case(dialect: RuleSet, dir: &Path) -> String {
    let sql = fs::read_to_string(dir.join("migration.sql")).unwrap();
    let previous = match fs::read_to_string(dir.join("definition.json")) {
        Ok(text) => Some(strata_schema::definition_from_json(&text).unwrap()),
        Err(_) => None,
    };
    let report = lint(&LintInput { dialect, sql: &sql, previous: previous.as_ref() });
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&render::text_line("migration.sql", f));
        out.push('\n');
    }
    for s in &report.suppressed {
        out.push_str(&format!(
            "suppressed {} ({})\n",
            render::text_line("migration.sql", &s.finding),
            s.reason
        ));
    }
    out
}

fn cases(dialect: RuleSet) -> Vec<PathBuf> {
    let dir = root().join("fixtures/lint").join(dialect.name());
    let mut out: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("migration.sql").exists())
        .collect();
    out.sort();
    out
}

fn compare(path: &Path, actual: &str) -> Option<String> {
    if blessing() {
        fs::write(path, actual).unwrap();
        return None;
    }
    let expected = fs::read_to_string(path).unwrap_or_default();
    (expected != actual).then(|| {
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .header("expected", "actual")
            .to_string();
        format!("{}:\n{diff}", path.display())
    })
}

fn run_dialect(dialect: RuleSet) {
    let failures: Vec<String> = cases(dialect)
        .iter()
        .filter_map(|dir| compare(&dir.join("expected.txt"), &render_case(dialect, dir)))
        .collect();
    assert!(
        failures.is_empty(),
        "golden mismatches (re-bless with STRATA_BLESS=1):\n{}",
        failures.join("\n")
    );
}

#[test]
fn postgres_cases() {
    run_dialect(RuleSet::Postgres);
}

#[test]
fn sqlite_cases() {
    run_dialect(RuleSet::Sqlite);
}

#[test]
fn mysql_cases() {
    run_dialect(RuleSet::Mysql);
}

/// Each code's own case (`<dialect>/<code in lower case>`) raises it, on every dialect the
/// catalogue says it applies to; no case raises a code on a dialect it does not list.
#[test]
fn every_code_has_a_golden_case_on_each_of_its_dialects() {
    let mut missing = Vec::new();
    for info in CATALOGUE {
        for dialect in info.dialects {
            let dir = root().join("fixtures/lint").join(dialect.name()).join(info.id.to_ascii_lowercase());
            let expected = fs::read_to_string(dir.join("expected.txt")).unwrap_or_default();
            if !expected
                .lines()
                .any(|l| !l.starts_with("suppressed") && l.contains(&format!(" {} ", info.id)))
            {
                missing.push(format!("{} on {}", info.id, dialect.name()));
            }
        }
    }
    assert!(missing.is_empty(), "codes without a golden case that raises them: {missing:?}");
    for dialect in [RuleSet::Postgres, RuleSet::Sqlite, RuleSet::Mysql] {
        for dir in cases(dialect) {
            let expected = fs::read_to_string(dir.join("expected.txt")).unwrap_or_default();
            for info in CATALOGUE.iter().filter(|i| !i.dialects.contains(&dialect)) {
                assert!(
                    !expected.contains(&format!(" {} ", info.id)),
                    "{} raises {} on {}, which its catalogue entry does not list",
                    dir.display(),
                    info.id,
                    dialect.name()
                );
            }
        }
    }
}

/// Each case named `clean*` has no findings at all.
#[test]
fn clean_cases_have_no_findings() {
    for dialect in [RuleSet::Postgres, RuleSet::Sqlite, RuleSet::Mysql] {
        let clean: Vec<PathBuf> = cases(dialect)
            .into_iter()
            .filter(|d| d.file_name().unwrap().to_string_lossy().starts_with("clean"))
            .collect();
        assert!(!clean.is_empty(), "no clean case for {}", dialect.name());
        for dir in clean {
            assert_eq!(render_case(dialect, &dir), "", "{}", dir.display());
        }
    }
}

const BEGIN: &str =
    "<!-- BEGIN CODES (generated from strata_lint::CATALOGUE; re-bless with STRATA_BLESS=1) -->\n";
const END: &str = "<!-- END CODES -->";

/// docs/lint.md's catalogue is the crate's, so code, meaning, example and fix cannot drift.
#[test]
fn docs_list_every_code_as_the_crate_does() {
    let path = root().join("docs/lint.md");
    let doc = fs::read_to_string(&path).unwrap();
    let (start, end) = (
        doc.find(BEGIN).expect("BEGIN CODES marker") + BEGIN.len(),
        doc.find(END).expect("END CODES marker"),
    );
    let generated = render::catalogue_markdown();
    if blessing() {
        fs::write(&path, format!("{}{generated}{}", &doc[..start], &doc[end..])).unwrap();
        return;
    }
    assert_eq!(&doc[start..end], generated, "docs/lint.md is out of date: re-bless with STRATA_BLESS=1");
    for info in CATALOGUE {
        assert!(doc.contains(&format!("### {}", info.id)), "{} missing from docs/lint.md", info.id);
    }
}

/// The example docs/lint.md shows for each code raises that code (linted on the code's first
/// dialect, after fixtures/lint/definition.json), so the documentation cannot show an example
/// that no longer triggers.
#[test]
fn every_catalogue_example_raises_its_code() {
    let text = fs::read_to_string(root().join("fixtures/lint/definition.json")).unwrap();
    let previous = strata_schema::definition_from_json(&text).unwrap();
    for info in CATALOGUE {
        let report =
            lint(&LintInput { dialect: info.dialects[0], sql: info.example, previous: Some(&previous) });
        assert!(
            report.findings.iter().any(|f| f.code == info.code),
            "the example of {} does not raise it: {:?}",
            info.id,
            report.findings
        );
    }
}
