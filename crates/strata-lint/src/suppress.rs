//! `-- strata:ignore CODE[,CODE] reason` comments: on the statement's own lines, or on the
//! lines directly above it, they silence those codes for that statement. A suppression without
//! a reason or with an unknown code is itself a finding (LN002), and one that silences nothing
//! is reported (LN003) so stale ones get cleaned up.

use std::collections::BTreeSet;

use crate::rules::Raw;
use crate::split::{LineComment, SqlStatement};
use crate::{Code, Finding, LintReport, Suppressed};

/// The marker that starts a suppression comment.
pub const MARKER: &str = "strata:ignore";

/// One suppression comment.
#[derive(Debug)]
pub(crate) struct Suppression {
    line: usize,
    column: usize,
    /// The statement it applies to, if it sits on or directly above one.
    target: Option<usize>,
    /// `Ok((codes, reason))`, or what is wrong with it.
    parsed: Result<(Vec<Code>, String), String>,
}

/// Every suppression comment of the file, each tied to its statement.
pub(crate) fn parse(comments: &[LineComment], statements: &[SqlStatement]) -> Vec<Suppression> {
    let marked: BTreeSet<usize> =
        comments.iter().filter(|c| c.text.trim_start().starts_with(MARKER)).map(|c| c.line).collect();
    comments
        .iter()
        .filter_map(|c| {
            let rest = c.text.trim_start().strip_prefix(MARKER)?;
            Some(Suppression {
                line: c.line,
                column: c.column,
                target: target(c.line, statements, &marked),
                parsed: parse_body(rest),
            })
        })
        .collect()
}

/// `CODE[,CODE] reason`.
fn parse_body(rest: &str) -> Result<(Vec<Code>, String), String> {
    let rest = rest.trim();
    let (list, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if list.is_empty() {
        return Err("names no code".into());
    }
    let mut codes = Vec::new();
    for id in list.split(',').filter(|s| !s.is_empty()) {
        match Code::from_id(id) {
            Some(code) => codes.push(code),
            None => return Err(format!("names the unknown code \"{id}\"")),
        }
    }
    if reason.trim().is_empty() {
        return Err("gives no reason".into());
    }
    Ok((codes, reason.trim().to_string()))
}

/// The statement a comment on `line` belongs to: the last one whose lines include it, else the
/// next one, if every line in between holds a suppression too.
fn target(line: usize, statements: &[SqlStatement], marked: &BTreeSet<usize>) -> Option<usize> {
    if let Some(i) = statements.iter().rposition(|s| s.line <= line && line <= s.end_line) {
        return Some(i);
    }
    let next = statements.iter().position(|s| s.line > line)?;
    let gap = (line + 1)..statements[next].line;
    gap.clone().all(|l| marked.contains(&l)).then_some(next)
}

/// Splits the findings into kept and suppressed, and adds LN002/LN003 for bad and stale
/// suppressions.
pub(crate) fn apply(raw: Vec<Raw>, suppressions: Vec<Suppression>) -> LintReport {
    let mut used: BTreeSet<(usize, Code)> = BTreeSet::new();
    let mut report = LintReport::default();
    for r in raw {
        let by = suppressions.iter().enumerate().find(|(_, s)| {
            s.target.is_some()
                && s.target == r.statement
                && matches!(&s.parsed, Ok((codes, _)) if codes.contains(&r.finding.code))
        });
        match by {
            Some((i, s)) => {
                used.insert((i, r.finding.code));
                let reason = s.parsed.as_ref().map(|(_, reason)| reason.clone()).unwrap_or_default();
                report.suppressed.push(Suppressed { finding: r.finding, reason });
            }
            None => report.findings.push(r.finding),
        }
    }
    for (i, s) in suppressions.iter().enumerate() {
        match &s.parsed {
            Err(problem) => report.findings.push(suppression_finding(
                s,
                Code::MalformedSuppression,
                format!(
                    "this suppression {problem}, so it silences nothing; write \
                     `-- strata:ignore CODE reason` with a code from docs/lint.md"
                ),
            )),
            Ok((codes, _)) => {
                for code in codes.iter().filter(|c| !used.contains(&(i, **c))) {
                    let place = if s.target.is_some() {
                        "the statement on or below it raises no"
                    } else {
                        "it is not on or directly above a statement, so it silences no"
                    };
                    report.findings.push(suppression_finding(
                        s,
                        Code::UnusedSuppression,
                        format!("suppression of {}: {place} {} finding; remove it", code.id(), code.id()),
                    ));
                }
            }
        }
    }
    report
}

fn suppression_finding(s: &Suppression, code: Code, message: String) -> Finding {
    Finding { code, line: s.line, column: s.column, message, table: None, column_name: None, data: None }
}
