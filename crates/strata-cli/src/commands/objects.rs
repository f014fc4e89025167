//! `diff` between two live PostgreSQL databases: the SQL for their views, functions, triggers,
//! policies, comments and grants (strata_introspect::object_diff), around the table SQL.

use strata_introspect::object_diff::{self, ObjectPlan, Side, TableChanges};
use strata_schema::DatabaseDefinition;

use crate::commands::live::LiveObjects;

/// The object statements taking `sides[0]` to `sides[1]` around the table SQL that makes
/// `changes`, kinds `ignore` names left out.
pub fn plan(
    changes: &TableChanges,
    sides: [(&DatabaseDefinition, &LiveObjects); 2],
    ignore: &[String],
) -> ObjectPlan {
    let [(from_def, from), (to_def, to)] = sides;
    let (from_objects, to_objects) = (from.kept(ignore), to.kept(ignore));
    object_diff::plan(
        Side { definition: from_def, warnings: &from.warnings, objects: &from_objects },
        Side { definition: to_def, warnings: &to.warnings, objects: &to_objects },
        changes,
    )
}

/// Adds the differences the plan could not write SQL for to the report of unmatched objects
/// (whose first line is its heading).
pub fn report_left_alone(plan: &ObjectPlan, unmatched: &mut Vec<String>) {
    if plan.left_alone.is_empty() {
        return;
    }
    if unmatched.is_empty() {
        unmatched.push("Objects strata cannot diff that differ between the two sides:".to_string());
    }
    unmatched.extend(plan.left_alone.iter().map(|l| format!("  left alone: {l}")));
}
