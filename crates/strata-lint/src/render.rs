//! The three output formats of findings (text, JSON, GitHub annotations) and the catalogue
//! section of docs/lint.md, all from the same data so `lint` and `create-migration` agree.

use serde_json::json;

use crate::{Code, Finding, LintReport, CATALOGUE};

/// One linted file: how to name it in output, its version, and its report.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The path as the user should see it (relative to the project when possible).
    pub file: String,
    /// The migration version the file belongs to, if any.
    pub version: Option<String>,
    pub report: LintReport,
}

/// `file:line:column: severity CODE message`, one line per finding.
pub fn text_line(file: &str, f: &Finding) -> String {
    let mut line =
        format!("{file}:{}:{}: {} {} {}", f.line, f.column, f.severity().name(), f.id(), f.message);
    if let Some(data) = &f.data {
        line.push_str(&format!("\n    data: {data}"));
    }
    line
}

/// Every finding of every file as text lines, each ending in a newline.
pub fn text(files: &[FileReport]) -> String {
    let mut out = String::new();
    for file in files {
        for f in &file.report.findings {
            out.push_str(&text_line(&file.file, f));
            out.push('\n');
        }
    }
    out
}

/// One JSON document: every finding, and how many were suppressed per file.
pub fn json(files: &[FileReport]) -> serde_json::Value {
    let findings: Vec<serde_json::Value> = files
        .iter()
        .flat_map(|file| file.report.findings.iter().map(move |f| finding_json(file, f)))
        .collect();
    let suppressed: Vec<serde_json::Value> = files
        .iter()
        .flat_map(|file| {
            file.report.suppressed.iter().map(move |s| {
                let mut v = finding_json(file, &s.finding);
                v["reason"] = json!(s.reason);
                v
            })
        })
        .collect();
    json!({ "findings": findings, "suppressed": suppressed })
}

fn finding_json(file: &FileReport, f: &Finding) -> serde_json::Value {
    let info = f.code.info();
    json!({
        "file": file.file,
        "version": file.version,
        "line": f.line,
        "column": f.column,
        "code": info.id,
        "family": info.family.name(),
        "severity": info.severity.name(),
        "title": info.title,
        "message": f.message,
        "table": f.table,
        "column_name": f.column_name,
        "data": f.data,
    })
}

/// GitHub Actions workflow commands: `::warning file=F,line=L,col=C,title=CODE title::message`.
pub fn github(files: &[FileReport]) -> String {
    let mut out = String::new();
    for file in files {
        for f in &file.report.findings {
            let level = match f.severity() {
                crate::Severity::Info => "notice",
                crate::Severity::Warning => "warning",
                crate::Severity::Error => "error",
            };
            let mut message = f.message.clone();
            if let Some(data) = &f.data {
                message.push_str(&format!("\ndata: {data}"));
            }
            out.push_str(&format!(
                "::{level} file={},line={},col={},title={}::{}\n",
                escape_property(&file.file),
                f.line,
                f.column,
                escape_property(&format!("{} {}", f.id(), f.code.info().title)),
                escape_data(&message)
            ));
        }
    }
    out
}

/// GitHub's escaping of a command's message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// GitHub's escaping of a command property (also `:` and `,`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The catalogue as docs/lint.md shows it: a summary table, then one section per code.
pub fn catalogue_markdown() -> String {
    let mut out = String::from("| code | family | severity | dialects | title |\n|---|---|---|---|---|\n");
    for info in CATALOGUE {
        let dialects: Vec<&str> = info.dialects.iter().map(|d| d.name()).collect();
        out.push_str(&format!(
            "| [{id}](#{anchor}) | {} | {} | {} | {} |\n",
            info.family.name(),
            info.severity.name(),
            dialects.join(", "),
            info.title,
            id = info.id,
            anchor = info.id.to_ascii_lowercase(),
        ));
    }
    for info in CATALOGUE {
        // Findings about a suppression comment belong to no statement, so none can silence them.
        let suppress = match info.code {
            Code::MalformedSuppression | Code::UnusedSuppression => {
                "not possible: the finding is about the comment itself; fix or remove it.".to_string()
            }
            _ => format!("`-- strata:ignore {} <reason>` on the line above the statement.", info.id),
        };
        out.push_str(&format!(
            "\n### {}\n\n**{}** · {} · {}\n\n{}\n\n```sql\n{}\n```\n\n**Fix:** {}\n\n**Suppress:** {suppress}\n",
            info.id,
            info.title,
            info.family.name(),
            info.severity.name(),
            info.meaning,
            info.example,
            info.fix,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_annotations_escape_what_would_end_a_property_or_the_message() {
        let finding = Finding {
            code: Code::TableDropped,
            line: 3,
            column: 1,
            message: "100% gone\nreally".into(),
            table: None,
            column_name: None,
            data: Some("12 rows".into()),
        };
        let file = FileReport {
            file: "migrations/a,b:c/migration.sql".into(),
            version: None,
            report: LintReport { findings: vec![finding], suppressed: Vec::new() },
        };
        assert_eq!(
            github(&[file]),
            "::warning file=migrations/a%2Cb%3Ac/migration.sql,line=3,col=1,title=DS101 table dropped::100%25 gone%0Areally%0Adata: 12 rows\n"
        );
    }
}
