//! Partitions, inheritance children and `UNLOGGED` in the diff: which tables must be recreated,
//! in which order tables are created and altered, which columns a child changes itself, and
//! the `layoutChanges` of an altered table.

use std::collections::{BTreeMap, BTreeSet};

use strata_schema::layout::parents;
use strata_schema::{LayoutMigration, PartitionPlace, TableDefinition};

/// Whether `table` hangs under `parent`.
fn is_child_of(table: &TableDefinition, parent: &str) -> bool {
    parents(table).any(|p| p == parent)
}

/// Whether the table's partition key changes (including to or from none): PostgreSQL has no
/// `ALTER TABLE` for it, so the table is dropped and created again.
pub(crate) fn is_repartitioned(src: &TableDefinition, dst: &TableDefinition) -> bool {
    src.layout.partition_key != dst.layout.partition_key
}

/// The source tables a `DROP TABLE ... CASCADE` of any of `dropped` takes along (partitions and
/// inheritance children, transitively) that the target keeps under the same parent: they are
/// recreated too. Returned in source order, without those already in `dropped`.
pub(crate) fn children_dropped_along(
    dropped: &BTreeSet<String>,
    source_tables: &[&TableDefinition],
    target_by_name: &BTreeMap<&str, &TableDefinition>,
) -> Vec<String> {
    let mut all = dropped.clone();
    let mut found = Vec::new();
    loop {
        let more: Vec<String> = source_tables
            .iter()
            .filter(|s| !all.contains(&s.name))
            .filter(|s| {
                parents(s).any(|p| {
                    all.contains(p) && target_by_name.get(s.name.as_str()).is_some_and(|t| is_child_of(t, p))
                })
            })
            .map(|s| s.name.clone())
            .collect();
        if more.is_empty() {
            return found;
        }
        all.extend(more.iter().cloned());
        found.extend(more);
    }
}

/// The layout changes that take `src` to `dst` in place (the partition key is the same).
pub(crate) fn layout_migration(src: &TableDefinition, dst: &TableDefinition) -> LayoutMigration {
    let place = |t: &TableDefinition| (t.partition_of.clone(), t.layout.partition_bound.clone());
    let mut m = LayoutMigration::default();
    if place(src) != place(dst) {
        m.detach_from = src.partition_of.clone();
        m.attach_to = match (&dst.partition_of, &dst.layout.partition_bound) {
            (Some(parent), Some(bound)) => {
                Some(PartitionPlace { parent: parent.clone(), bound: bound.clone() })
            }
            _ => None,
        };
    }
    let (from, to) = (&src.layout.inherits, &dst.layout.inherits);
    m.drop_inherits = from.iter().filter(|p| !to.contains(p)).cloned().collect();
    m.add_inherits = to.iter().filter(|p| !from.contains(p)).cloned().collect();
    if src.layout.unlogged != dst.layout.unlogged {
        m.set_unlogged = Some(dst.layout.unlogged);
    }
    m
}

/// The columns an inheritance child changes itself, as (source, target) views of the table;
/// `None` when neither side inherits (the tables are diffed as they are).
///
/// A column that a parent the child keeps still has in the target is the parent's to change:
/// left out on both sides (its `ALTER TABLE` reaches the child, and a column the parent adds
/// merges with the child's own). A source column that only a parent provided disappears when
/// that parent drops it, so it is left out unless the child leaves that parent (`NO INHERIT`
/// then makes it the child's own). A target column from a parent the child joins stays in: it
/// must exist before `INHERIT`.
pub(crate) fn inheritance_views<'a>(
    src: &TableDefinition,
    dst: &TableDefinition,
    source_table: impl Fn(&str) -> Option<&'a TableDefinition>,
    target_table: impl Fn(&str) -> Option<&'a TableDefinition>,
) -> Option<(TableDefinition, TableDefinition)> {
    if src.layout.inherits.is_empty() && dst.layout.inherits.is_empty() {
        return None;
    }
    let kept: Vec<&str> =
        src.layout.inherits.iter().filter(|p| dst.layout.inherits.contains(p)).map(String::as_str).collect();
    let left: Vec<&str> =
        src.layout.inherits.iter().filter(|p| !dst.layout.inherits.contains(p)).map(String::as_str).collect();
    let has =
        |table: Option<&TableDefinition>, column: &str| table.is_some_and(|t| t.column(column).is_some());
    let through_kept = |column: &str| kept.iter().any(|p| has(target_table(p), column));
    let own_in_source =
        |column: &str| !src.layout.is_inherited(column) || left.iter().any(|p| has(source_table(p), column));
    let mut src_view = src.clone();
    src_view.columns.retain(|c| !through_kept(&c.name) && own_in_source(&c.name));
    let mut dst_view = dst.clone();
    dst_view.columns.retain(|c| !through_kept(&c.name));
    Some((src_view, dst_view))
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_schema::ColumnDefinition;

    fn table(name: &str, columns: &[&str]) -> TableDefinition {
        TableDefinition {
            name: name.into(),
            schema: "public".into(),
            columns: columns
                .iter()
                .map(|c| ColumnDefinition { name: c.to_string(), ..Default::default() })
                .collect(),
            ..Default::default()
        }
    }

    fn child(name: &str, parent: &str, columns: &[&str], inherited: &[&str]) -> TableDefinition {
        let mut t = table(name, columns);
        t.layout.inherits = vec![parent.into()];
        t.layout.inherited_columns = inherited.iter().map(|c| c.to_string()).collect();
        t
    }

    fn names(t: &TableDefinition) -> Vec<&str> {
        t.columns.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn a_column_the_parent_drops_becomes_the_childs_own_by_add() {
        let (base_old, base_new) = (table("base", &["at", "e"]), table("base", &["at"]));
        let src = child("a", "base", &["at", "e", "a1", "a2"], &["at", "e"]);
        let dst = child("a", "base", &["at", "a1", "e"], &["at"]);
        let (s, d) = inheritance_views(&src, &dst, |_| Some(&base_old), |_| Some(&base_new)).unwrap();
        assert_eq!(names(&s), ["a1", "a2"]);
        assert_eq!(names(&d), ["a1", "e"]);
    }

    #[test]
    fn leaving_a_parent_keeps_its_columns_and_joining_one_needs_them() {
        let base = table("base", &["at"]);
        let (inherited, plain) = (child("a", "base", &["at", "x"], &["at"]), table("a", &["at", "x"]));
        let (s, d) = inheritance_views(&inherited, &plain, |_| Some(&base), |_| Some(&base)).unwrap();
        assert_eq!((names(&s), names(&d)), (vec!["at", "x"], vec!["at", "x"]));
        let (s, d) = inheritance_views(&plain, &inherited, |_| Some(&base), |_| Some(&base)).unwrap();
        assert_eq!((names(&s), names(&d)), (vec!["at", "x"], vec!["at", "x"]));
        let m = layout_migration(&plain, &inherited);
        assert_eq!((m.drop_inherits, m.add_inherits), (vec![], vec!["base".to_string()]));
    }

    #[test]
    fn parents_come_first_and_their_recreation_takes_children_along() {
        let mut part = table("a_part", &["k"]);
        part.partition_of = Some("z_parent".into());
        part.layout.partition_bound = Some("FOR VALUES IN (1)".into());
        let parent = table("z_parent", &["k"]);
        let grandchild = child("a_sub", "a_part", &["k"], &["k"]);
        let tables = [&grandchild, &part, &parent];
        let by_name: BTreeMap<&str, &TableDefinition> =
            tables.iter().map(|t| (t.name.as_str(), *t)).collect();
        let order: Vec<&str> =
            strata_schema::layout::parents_first(&tables).iter().map(|t| t.name.as_str()).collect();
        assert_eq!(order, ["z_parent", "a_part", "a_sub"]);
        let dropped = BTreeSet::from(["z_parent".to_string()]);
        assert_eq!(children_dropped_along(&dropped, &tables, &by_name), ["a_part", "a_sub"]);
    }

    #[test]
    fn a_new_bound_detaches_and_attaches_again() {
        let mut src = table("p1", &["k"]);
        src.partition_of = Some("p".into());
        src.layout.partition_bound = Some("FOR VALUES IN (1)".into());
        let mut dst = src.clone();
        dst.layout.partition_bound = Some("FOR VALUES IN (2)".into());
        dst.layout.unlogged = true;
        let m = layout_migration(&src, &dst);
        assert_eq!(m.detach_from.as_deref(), Some("p"));
        assert_eq!(m.attach_to.map(|p| p.bound), Some("FOR VALUES IN (2)".to_string()));
        assert_eq!(m.set_unlogged, Some(true));
        assert!(layout_migration(&src, &src).is_empty());
    }
}
