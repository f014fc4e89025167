//! From answers to findings: the verdict each count means and the human line that says so.
//! Deterministic: the same counts give byte-identical lines.

use super::probe::{Probe, ProbeKind};
use super::{Check, Finding, Verdict};

/// `1,204`, or `at least 10,000` when the count reached the cap.
pub fn human_count(n: u64, at_least: bool) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 9);
    if at_least {
        out.push_str("at least ");
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `512 bytes`, `8 kB`, `12 MB`, `1.5 GB` (powers of 1024, rounded to the nearest unit).
pub fn human_size(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if b < KB * KB {
        format!("{:.0} kB", b / KB)
    } else if b < KB * KB * KB {
        format!("{:.0} MB", b / (KB * KB))
    } else {
        format!("{:.1} GB", b / (KB * KB * KB))
    }
}

/// `n thing` or `n things`.
fn counted(n: u64, at_least: bool, one: &str, many: &str) -> String {
    format!("{} {}", human_count(n, at_least), if n == 1 && !at_least { one } else { many })
}

/// The findings as the report commands print: one indented line each, in order.
pub fn format_findings(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("  {}\n", f.message)).collect()
}

fn finding(p: &Probe, verdict: Verdict, message: String) -> Finding {
    Finding {
        check: p.check,
        table: p.table.clone(),
        object: p.object.clone(),
        verdict,
        count: None,
        at_least: false,
        estimated: false,
        bytes: None,
        reason: None,
        message,
    }
}

/// The finding of a probe decided without a query (`None` for the others).
pub(crate) fn decided(p: &Probe) -> Option<Finding> {
    let ProbeKind::Decided { verdict, message, reason } = &p.kind else { return None };
    Some(Finding { reason: reason.clone(), ..finding(p, *verdict, message.clone()) })
}

/// The Unknown finding of a probe whose query gave no answer.
pub(crate) fn unknown(p: &Probe, reason: &str) -> Finding {
    let what = match p.check {
        Check::DroppedTable => format!("rows in table {}", p.table),
        Check::DroppedColumn => format!("values in {}", p.object),
        Check::NotNull => format!("NULLs in {}", p.object),
        Check::UniqueIndex => format!("duplicates for unique index {}", p.object),
        Check::ForeignKey => format!("orphan rows for foreign key {}", p.object),
        Check::Rewrite => format!("the size of {} (rewritten)", p.table),
    };
    Finding {
        reason: Some(reason.to_string()),
        ..finding(p, Verdict::Unknown, format!("unknown: {what}: {reason}"))
    }
}

/// What a probe's queries found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answer {
    /// Matching rows, at most the cap (or the planner's estimate, see `estimated`).
    pub count: u64,
    /// The count stopped at the cap.
    pub at_least: bool,
    /// The count is the planner's estimate.
    pub estimated: bool,
    /// A rewritten table's size.
    pub bytes: Option<u64>,
}

/// The finding for what a probe's queries found.
pub(crate) fn answered(p: &Probe, answer: &Answer) -> Finding {
    let (verdict, message) =
        if answer.count == 0 { (Verdict::Safe, safe_line(p)) } else { problem_line(p, answer) };
    Finding {
        count: Some(answer.count),
        at_least: answer.at_least,
        estimated: answer.estimated,
        bytes: answer.bytes,
        ..finding(p, verdict, message)
    }
}

fn columns_of(table: &str, columns: &[String]) -> String {
    format!("{table}({})", columns.join(", "))
}

fn safe_line(p: &Probe) -> String {
    let t = &p.table;
    match &p.kind {
        ProbeKind::Rows => format!("safe: table {t} is empty"),
        ProbeKind::Values { .. } => format!("safe: column {} is empty", p.object),
        ProbeKind::Nulls { .. } => format!("safe: no NULLs in {}", p.object),
        ProbeKind::RowsForNewNotNull { .. } => {
            format!("safe: table {t} is empty, so the new NOT NULL column {} needs no default", p.object)
        }
        ProbeKind::Duplicates { index, columns, .. } => {
            format!("safe: no duplicates in {} for unique index {index}", columns_of(t, columns))
        }
        ProbeKind::Orphans { constraint, columns, parent, parent_columns, .. } => format!(
            "safe: every {} has a match in {} for foreign key {constraint}",
            columns_of(t, columns),
            columns_of(parent, parent_columns)
        ),
        ProbeKind::Rewrite => format!("safe: {t} is empty, so its rewrite is instant"),
        ProbeKind::Decided { message, .. } => message.clone(),
    }
}

fn problem_line(p: &Probe, answer: &Answer) -> (Verdict, String) {
    let Answer { count: n, at_least, estimated, bytes } = *answer;
    let t = &p.table;
    match &p.kind {
        ProbeKind::Rows => {
            (Verdict::LosesData, format!("loses data: {} in table {t}", counted(n, at_least, "row", "rows")))
        }
        ProbeKind::Values { .. } => (
            Verdict::LosesData,
            format!("loses data: {} in {}", counted(n, at_least, "value", "values"), p.object),
        ),
        ProbeKind::Nulls { .. } => (
            Verdict::WillFail,
            format!("will fail: {} in {}", counted(n, at_least, "NULL", "NULLs"), p.object),
        ),
        ProbeKind::RowsForNewNotNull { .. } => (
            Verdict::WillFail,
            format!(
                "will fail: {t} has {} and the new column {} is NOT NULL without a default",
                counted(n, at_least, "row", "rows"),
                p.object
            ),
        ),
        ProbeKind::Duplicates { index, columns, .. } => (
            Verdict::WillFail,
            format!(
                "will fail: {} in {} for unique index {index}",
                counted(n, at_least, "duplicate group", "duplicate groups"),
                columns_of(t, columns)
            ),
        ),
        ProbeKind::Orphans { constraint, columns, parent, parent_columns, .. } => (
            Verdict::WillFail,
            format!(
                "will fail: {} in {} with no match in {} for foreign key {constraint}",
                counted(n, at_least, "orphan row", "orphan rows"),
                columns_of(t, columns),
                columns_of(parent, parent_columns)
            ),
        ),
        ProbeKind::Rewrite => {
            let size = bytes.map(|b| format!("~{} ", human_size(b))).unwrap_or_default();
            let rows = counted(n, at_least, "row", "rows");
            let rows = if estimated { format!("~{rows}") } else { rows };
            (Verdict::Rewrite, format!("rewrite: {t} is {size}({rows})"))
        }
        ProbeKind::Decided { verdict, message, .. } => (*verdict, message.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_sizes_read_like_a_person_wrote_them() {
        assert_eq!(human_count(0, false), "0");
        assert_eq!(human_count(999, false), "999");
        assert_eq!(human_count(1204, false), "1,204");
        assert_eq!(human_count(41_000_000, true), "at least 41,000,000");
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(8192), "8 kB");
        assert_eq!(human_size(12 * 1024 * 1024 + 1), "12 MB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024 / 2), "1.5 GB");
    }

    fn found(count: u64) -> Answer {
        Answer { count, at_least: false, estimated: false, bytes: None }
    }

    #[test]
    fn lines_name_the_object_and_the_count() {
        let p = Probe {
            check: Check::NotNull,
            table: "post".into(),
            schema: "public".into(),
            object: "post.title".into(),
            kind: ProbeKind::Nulls { column: "title".into() },
        };
        assert_eq!(answered(&p, &found(3)).message, "will fail: 3 NULLs in post.title");
        assert_eq!(answered(&p, &found(1)).message, "will fail: 1 NULL in post.title");
        assert_eq!(answered(&p, &found(0)).message, "safe: no NULLs in post.title");
        let rewrite =
            Probe { check: Check::Rewrite, object: "post".into(), kind: ProbeKind::Rewrite, ..p.clone() };
        let f = answered(&rewrite, &Answer { bytes: Some(12 * 1024 * 1024), ..found(41_000) });
        assert_eq!(
            (f.verdict, f.message.as_str()),
            (Verdict::Rewrite, "rewrite: post is ~12 MB (41,000 rows)")
        );
        let dropped = Probe {
            check: Check::DroppedTable,
            object: "order".into(),
            table: "order".into(),
            kind: ProbeKind::Rows,
            ..p
        };
        assert_eq!(answered(&dropped, &found(1204)).message, "loses data: 1,204 rows in table order");
    }
}
