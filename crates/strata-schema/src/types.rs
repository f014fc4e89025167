//! User-defined PostgreSQL types a definition carries (strata's `types` extension to
//! `definition.json`, see docs/format.md): enums and domains, and the changes between two
//! definitions' types.
//!
//! Serverpod has no such types; a definition without any writes no `types` key, so its bytes
//! stay Serverpod's.

/// An enum or domain type, as the database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeDefinition {
    pub schema: String,
    pub name: String,
    pub kind: TypeKind,
}

/// What kind of user-defined type it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeKind {
    /// `CREATE TYPE ... AS ENUM`, its labels in sort order.
    Enum { values: Vec<String> },
    /// `CREATE DOMAIN`.
    Domain(DomainDefinition),
}

/// A domain: its base type and what it adds to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DomainDefinition {
    /// The base type as `format_type` renders it, with ` COLLATE "x"` when not the default.
    pub base_type: String,
    /// The default expression, as `pg_get_expr` renders it.
    pub default: Option<String>,
    pub not_null: bool,
    /// Named CHECK constraints, by name.
    pub checks: Vec<DomainCheck>,
}

/// One `CONSTRAINT name CHECK (expression)` of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainCheck {
    pub name: String,
    /// The expression inside `CHECK (...)`, referring to the value as `VALUE`.
    pub expression: String,
}

impl TypeDefinition {
    /// `"schema"."name"`-free key used in messages: `schema.name`.
    pub fn display_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    fn same_object(&self, other: &TypeDefinition) -> bool {
        self.schema == other.schema && self.name == other.name
    }
}

/// Where a new enum label goes among the existing ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnumPosition {
    Before(String),
    After(String),
}

/// One in-place change of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainChange {
    SetDefault(String),
    DropDefault,
    SetNotNull,
    DropNotNull,
    AddCheck(DomainCheck),
    DropCheck(String),
}

/// One step between two definitions' types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeChange {
    /// Created before any table that may use it.
    Create(TypeDefinition),
    /// `ALTER TYPE ... ADD VALUE`: written before the migration's transaction, since a label
    /// added inside a transaction cannot be used until it commits.
    AddEnumValue {
        schema: String,
        name: String,
        value: String,
        position: EnumPosition,
    },
    AlterDomain {
        schema: String,
        name: String,
        change: DomainChange,
    },
    /// Dropped after every table and column change (nothing uses it any more then).
    Drop(TypeDefinition),
}

/// The type changes between two definitions, and those that have no in-place SQL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TypePlan {
    /// In order: creations (dependencies first), label additions, domain changes, drops
    /// (dependents first).
    pub changes: Vec<TypeChange>,
    /// Why some change cannot be written (`enum public.mood: values removed or reordered ...`).
    /// While this is not empty, no SQL may be written for the migration.
    pub blocked: Vec<String>,
}

impl TypePlan {
    /// True when the types are the same on both sides.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.blocked.is_empty()
    }

    /// Whether the migration creates the type `schema.name`.
    pub fn creates(&self, schema: &str, name: &str) -> bool {
        self.changes
            .iter()
            .any(|c| matches!(c, TypeChange::Create(t) if t.schema == schema && t.name == name))
    }
}

impl std::fmt::Display for TypeChange {
    /// One line for drift reports: `public.mood: value "ok" added after "sad"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TypeChange::Create(t) => match &t.kind {
                TypeKind::Enum { values } => {
                    write!(f, "{}: created as an enum of {values:?}", t.display_name())
                }
                TypeKind::Domain(d) => {
                    write!(f, "{}: created as a domain over {}", t.display_name(), d.base_type)
                }
            },
            TypeChange::AddEnumValue { schema, name, value, position } => {
                let (word, anchor) = match position {
                    EnumPosition::Before(v) => ("before", v),
                    EnumPosition::After(v) => ("after", v),
                };
                write!(f, "{schema}.{name}: value {value:?} added {word} {anchor:?}")
            }
            TypeChange::AlterDomain { schema, name, change } => write!(f, "{schema}.{name}: {change:?}"),
            TypeChange::Drop(t) => write!(f, "{}: dropped", t.display_name()),
        }
    }
}

/// The changes that take `source`'s types to `target`'s. Deterministic: it follows the two
/// lists' order (introspection sorts them by schema and name).
pub fn type_plan(source: &[TypeDefinition], target: &[TypeDefinition]) -> TypePlan {
    let mut plan = TypePlan::default();
    let created: Vec<&TypeDefinition> =
        target.iter().filter(|t| !source.iter().any(|s| s.same_object(t))).collect();
    let dropped: Vec<&TypeDefinition> =
        source.iter().filter(|s| !target.iter().any(|t| t.same_object(s))).collect();
    for t in creation_order(&created) {
        plan.changes.push(TypeChange::Create(t.clone()));
    }
    for t in target {
        if let Some(s) = source.iter().find(|s| s.same_object(t)) {
            changed_type(s, t, &mut plan);
        }
    }
    for t in creation_order(&dropped).into_iter().rev() {
        plan.changes.push(TypeChange::Drop(t.clone()));
    }
    plan
}

/// Enums first, then domains with each domain after the domain it is over.
fn creation_order<'a>(types: &[&'a TypeDefinition]) -> Vec<&'a TypeDefinition> {
    let mut ordered: Vec<&TypeDefinition> =
        types.iter().copied().filter(|t| matches!(t.kind, TypeKind::Enum { .. })).collect();
    let mut pending: Vec<&TypeDefinition> =
        types.iter().copied().filter(|t| matches!(t.kind, TypeKind::Domain(_))).collect();
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|d| !pending.iter().any(|other| !other.same_object(d) && is_over(d, other)))
            .unwrap_or(0);
        ordered.push(pending.remove(ready));
    }
    ordered
}

/// Whether domain `d`'s base type is the type `other`.
fn is_over(d: &TypeDefinition, other: &TypeDefinition) -> bool {
    let TypeKind::Domain(dom) = &d.kind else { return false };
    let base = dom.base_type.replace('"', "");
    base == other.name || base == format!("{}.{}", other.schema, other.name)
}

fn changed_type(s: &TypeDefinition, t: &TypeDefinition, plan: &mut TypePlan) {
    match (&s.kind, &t.kind) {
        (TypeKind::Enum { values: old }, TypeKind::Enum { values: new }) => enum_changes(t, old, new, plan),
        (TypeKind::Domain(old), TypeKind::Domain(new)) => domain_changes(t, old, new, plan),
        _ => plan.blocked.push(format!(
            "type {} changes between enum and domain: there is no in-place SQL (drop the columns \
             using it, then the type, and create it again)",
            t.display_name()
        )),
    }
}

/// New labels, each placed before the existing label that follows it (after the last one at
/// the end). Removed or reordered labels have no SQL.
fn enum_changes(t: &TypeDefinition, old: &[String], new: &[String], plan: &mut TypePlan) {
    let kept: Vec<&String> = new.iter().filter(|v| old.contains(v)).collect();
    if kept.len() != old.len() || kept.iter().zip(old).any(|(a, b)| *a != b) {
        let removed: Vec<&str> = old.iter().filter(|v| !new.contains(v)).map(String::as_str).collect();
        let what = if removed.is_empty() {
            "values reordered".to_string()
        } else {
            format!("values removed ({})", removed.join(", "))
        };
        plan.blocked.push(format!(
            "enum {}: {what}; PostgreSQL cannot remove or reorder enum values in place (create a \
             new type, move the columns to it, drop the old one)",
            t.display_name()
        ));
        return;
    }
    for (i, value) in new.iter().enumerate() {
        if old.contains(value) {
            continue;
        }
        let position = match new[i + 1..].iter().find(|v| old.contains(v)) {
            Some(next) => EnumPosition::Before(next.clone()),
            None => EnumPosition::After(new[..i].last().cloned().unwrap_or_default()),
        };
        plan.changes.push(TypeChange::AddEnumValue {
            schema: t.schema.clone(),
            name: t.name.clone(),
            value: value.clone(),
            position,
        });
    }
}

fn domain_changes(t: &TypeDefinition, old: &DomainDefinition, new: &DomainDefinition, plan: &mut TypePlan) {
    if old.base_type != new.base_type {
        plan.blocked.push(format!(
            "domain {}: its base type changes from {} to {}; PostgreSQL cannot change a domain's \
             type in place",
            t.display_name(),
            old.base_type,
            new.base_type
        ));
        return;
    }
    let mut push = |change| {
        plan.changes.push(TypeChange::AlterDomain { schema: t.schema.clone(), name: t.name.clone(), change })
    };
    for check in &old.checks {
        if !new.checks.contains(check) {
            push(DomainChange::DropCheck(check.name.clone()));
        }
    }
    if old.default != new.default {
        push(match &new.default {
            Some(d) => DomainChange::SetDefault(d.clone()),
            None => DomainChange::DropDefault,
        });
    }
    if old.not_null != new.not_null {
        push(if new.not_null { DomainChange::SetNotNull } else { DomainChange::DropNotNull });
    }
    for check in &new.checks {
        if !old.checks.contains(check) {
            push(DomainChange::AddCheck(check.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enum_type(name: &str, values: &[&str]) -> TypeDefinition {
        TypeDefinition {
            schema: "public".into(),
            name: name.into(),
            kind: TypeKind::Enum { values: values.iter().map(|v| v.to_string()).collect() },
        }
    }

    fn domain(name: &str, base: &str) -> TypeDefinition {
        TypeDefinition {
            schema: "public".into(),
            name: name.into(),
            kind: TypeKind::Domain(DomainDefinition { base_type: base.into(), ..Default::default() }),
        }
    }

    #[test]
    fn new_labels_go_before_the_next_existing_one_or_after_the_last() {
        let plan = type_plan(&[enum_type("m", &["a", "c"])], &[enum_type("m", &["x", "a", "b", "c", "d"])]);
        let positions: Vec<_> = plan
            .changes
            .iter()
            .map(|c| match c {
                TypeChange::AddEnumValue { value, position, .. } => (value.as_str(), position.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            positions,
            [
                ("x", EnumPosition::Before("a".into())),
                ("b", EnumPosition::Before("c".into())),
                ("d", EnumPosition::After("c".into())),
            ]
        );
        assert!(plan.blocked.is_empty());
    }

    #[test]
    fn removed_or_reordered_labels_are_blocked() {
        let removed = type_plan(&[enum_type("m", &["a", "b"])], &[enum_type("m", &["a"])]);
        assert!(removed.changes.is_empty());
        assert!(removed.blocked[0].contains("values removed (b)"), "{:?}", removed.blocked);
        let reordered = type_plan(&[enum_type("m", &["a", "b"])], &[enum_type("m", &["b", "a"])]);
        assert!(reordered.blocked[0].contains("values reordered"), "{:?}", reordered.blocked);
    }

    #[test]
    fn domains_come_after_what_they_are_over_and_drop_in_reverse() {
        let types = [domain("outer", "inner"), domain("inner", "mood"), enum_type("mood", &["a"])];
        let plan = type_plan(&[], &types);
        let names: Vec<_> = plan
            .changes
            .iter()
            .map(|c| match c {
                TypeChange::Create(t) => t.name.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, ["mood", "inner", "outer"]);
        let drops: Vec<_> = type_plan(&types, &[])
            .changes
            .iter()
            .map(|c| match c {
                TypeChange::Drop(t) => t.name.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(drops, ["outer", "inner", "mood"]);
    }

    #[test]
    fn a_changed_check_is_dropped_and_added_back() {
        let mut old = domain("d", "integer");
        let mut new = old.clone();
        if let TypeKind::Domain(d) = &mut old.kind {
            d.checks.push(DomainCheck { name: "pos".into(), expression: "VALUE > 0".into() });
        }
        if let TypeKind::Domain(d) = &mut new.kind {
            d.checks.push(DomainCheck { name: "pos".into(), expression: "VALUE >= 0".into() });
            d.not_null = true;
        }
        let plan = type_plan(&[old], &[new]);
        let changes: Vec<_> = plan
            .changes
            .iter()
            .map(|c| match c {
                TypeChange::AlterDomain { change, .. } => change.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            changes,
            [
                DomainChange::DropCheck("pos".into()),
                DomainChange::SetNotNull,
                DomainChange::AddCheck(DomainCheck { name: "pos".into(), expression: "VALUE >= 0".into() }),
            ]
        );
        let base = type_plan(&[domain("d", "integer")], &[domain("d", "bigint")]);
        assert!(base.blocked[0].contains("base type changes"), "{:?}", base.blocked);
    }
}
