//! An identity column's sequence options, where they are not PostgreSQL's defaults.
//!
//! Files carry them as text (`identityOptions`, strata's own key, written only when set), in one
//! canonical spelling: the clauses that differ from an ascending identity's defaults (`START WITH
//! 1`, `INCREMENT BY 1`, `MINVALUE 1`, the type's largest value, `CACHE 1`, `NO CYCLE`), in that
//! order. The text is parsed into numbers on reading, so SQL is only ever written from numbers.

use std::fmt;

/// The options that are not the defaults; `None` (or `false`) is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IdentityOptions {
    pub start: Option<i64>,
    pub increment: Option<i64>,
    pub min_value: Option<i64>,
    pub max_value: Option<i64>,
    pub cache: Option<i64>,
    pub cycle: bool,
}

impl IdentityOptions {
    /// From a sequence's settings, for a column whose type's largest value is `type_max`;
    /// `None` when all are the defaults.
    pub fn of_sequence(
        start: i64,
        increment: i64,
        min_value: i64,
        max_value: i64,
        cache: i64,
        cycle: bool,
        type_max: i64,
    ) -> Option<IdentityOptions> {
        let differs = |value: i64, default: i64| (value != default).then_some(value);
        let options = IdentityOptions {
            start: differs(start, 1),
            increment: differs(increment, 1),
            min_value: differs(min_value, 1),
            max_value: differs(max_value, type_max),
            cache: differs(cache, 1),
            cycle,
        };
        (options != IdentityOptions::default()).then_some(options)
    }

    /// Reads the canonical text (see the module); `None` for anything else.
    pub fn parse(text: &str) -> Option<IdentityOptions> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let mut options = IdentityOptions::default();
        let mut rest = &words[..];
        let number = |w: Option<&&str>| w.and_then(|w| w.parse::<i64>().ok());
        while !rest.is_empty() {
            let (slot, used) = match rest {
                ["START", "WITH", n, ..] => (&mut options.start, number(Some(n))),
                ["INCREMENT", "BY", n, ..] => (&mut options.increment, number(Some(n))),
                ["MINVALUE", n, ..] => (&mut options.min_value, number(Some(n))),
                ["MAXVALUE", n, ..] => (&mut options.max_value, number(Some(n))),
                ["CACHE", n, ..] => (&mut options.cache, number(Some(n))),
                ["CYCLE", ..] if !options.cycle => {
                    options.cycle = true;
                    rest = &rest[1..];
                    continue;
                }
                _ => return None,
            };
            let value = used?;
            if slot.replace(value).is_some() {
                return None;
            }
            let width = if matches!(rest[0], "START" | "INCREMENT") { 3 } else { 2 };
            rest = &rest[width..];
        }
        (options != IdentityOptions::default() && options.to_string() == text).then_some(options)
    }
}

impl fmt::Display for IdentityOptions {
    /// The canonical text, which is also the SQL inside `AS IDENTITY (...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut clauses = Vec::new();
        let mut push = |clause: &str, value: Option<i64>| {
            if let Some(v) = value {
                clauses.push(format!("{clause} {v}"));
            }
        };
        push("START WITH", self.start);
        push("INCREMENT BY", self.increment);
        push("MINVALUE", self.min_value);
        push("MAXVALUE", self.max_value);
        push("CACHE", self.cache);
        if self.cycle {
            clauses.push("CYCLE".to_string());
        }
        f.write_str(&clauses.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_differs_from_the_defaults_is_kept_and_read_back() {
        assert_eq!(IdentityOptions::of_sequence(1, 1, 1, i32::MAX as i64, 1, false, i32::MAX as i64), None);
        let options = IdentityOptions::of_sequence(1000, 10, 1, i64::MAX, 1, true, i64::MAX).unwrap();
        assert_eq!(options.to_string(), "START WITH 1000 INCREMENT BY 10 CYCLE");
        assert_eq!(IdentityOptions::parse("START WITH 1000 INCREMENT BY 10 CYCLE"), Some(options));
        let down = IdentityOptions::of_sequence(-1, -1, -32768, -1, 5, false, 32767).unwrap();
        assert_eq!(down.to_string(), "START WITH -1 INCREMENT BY -1 MINVALUE -32768 MAXVALUE -1 CACHE 5");
        assert_eq!(IdentityOptions::parse(&down.to_string()), Some(down));
    }

    #[test]
    fn anything_but_the_canonical_text_is_refused() {
        for text in [
            "",
            "START WITH x",
            "START 5",
            "INCREMENT BY 2 START WITH 5",
            "CACHE 2 CACHE 3",
            "CYCLE CYCLE",
            "START  WITH 5",
            "START WITH 5; DROP TABLE t",
            "MAXVALUE 9223372036854775808",
        ] {
            assert_eq!(IdentityOptions::parse(text), None, "{text:?}");
        }
    }
}
