//! A small located YAML tree built from `saphyr-parser` events.
//!
//! We build our own tree (instead of using a generic YAML value type) so that every node keeps
//! its 1-based line and column, scalars keep their raw text and quoting style (a model's
//! `default: 1.0` must stay `1.0`), and duplicate keys are reported with the location of the
//! first occurrence.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// A 1-based line and column in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loc {
    pub line: usize,
    pub column: usize,
}

impl Loc {
    pub fn new(line: usize, column: usize) -> Self {
        Loc { line, column }
    }

    /// The location `chars` characters to the right on the same line.
    pub fn shifted(self, chars: usize) -> Self {
        Loc { line: self.line, column: self.column + chars }
    }
}

/// How a scalar was written; matters for model defaults (`'abc'` vs `abc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Block,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Scalar(String, Style),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// One located YAML node.
#[derive(Debug, Clone)]
pub struct Node {
    pub loc: Loc,
    pub kind: Kind,
}

impl Node {
    /// The text of a scalar, `None` for collections.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// A plain `~`, `null` or empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar(s, Style::Plain) if s.is_empty() || s == "~" || s == "null" || s == "Null" || s == "NULL")
    }

    /// A YAML boolean (`true`/`false` in any of the core-schema spellings).
    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            Kind::Scalar(s, Style::Plain) => match s.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// A short description of the node's shape, for error messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar(..) => "a scalar",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a map",
        }
    }

    /// The scalar as it would be written inline: quoted scalars get their quotes back, so that
    /// `default: 'abc'` in the map form reads like `default='abc'` in the string form.
    pub fn raw_scalar(&self) -> Option<String> {
        match &self.kind {
            Kind::Scalar(s, Style::SingleQuoted) => Some(format!("'{}'", s.replace('\'', "\\'"))),
            Kind::Scalar(s, Style::DoubleQuoted) => Some(format!("\"{}\"", s.replace('"', "\\\""))),
            Kind::Scalar(s, _) => Some(s.clone()),
            _ => None,
        }
    }
}

/// A YAML syntax problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub loc: Loc,
    pub message: String,
}

/// Cap on nodes produced by alias expansion (guards against "billion laughs" input).
const ALIAS_NODE_BUDGET: usize = 10_000;

fn loc_of(span: &Span) -> Loc {
    Loc::new(span.start.line().max(1), span.start.col() + 1)
}

fn count_nodes(n: &Node) -> usize {
    match &n.kind {
        Kind::Scalar(..) => 1,
        Kind::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Kind::Map(entries) => 1 + entries.iter().map(|(k, v)| count_nodes(k) + count_nodes(v)).sum::<usize>(),
    }
}

enum Frame {
    Seq(Loc, usize, Vec<Node>),
    /// Location, anchor, entries, the key waiting for its value, and where each key was
    /// first seen (so a duplicate is found with one lookup, not a scan of the entries).
    Map(Loc, usize, Vec<(Node, Node)>, Option<Node>, HashMap<String, Loc>),
}

/// Parses one YAML text into its documents' root nodes.
pub fn parse(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: Vec<(usize, Node)> = Vec::new();
    let mut alias_budget = ALIAS_NODE_BUDGET;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| YamlError {
            loc: Loc::new(e.marker().line().max(1), e.marker().col() + 1),
            message: format!("invalid YAML: {}", e.info()),
        })?;
        let loc = loc_of(&span);
        let finished: Option<(Node, usize)> = match event {
            Event::Scalar(value, style, anchor, _tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    _ => Style::Block,
                };
                Some((Node { loc, kind: Kind::Scalar(value.into_owned(), style) }, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq(loc, anchor, Vec::new()));
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map(loc, anchor, Vec::new(), None, HashMap::new()));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(l, anchor, items)) => Some((Node { loc: l, kind: Kind::Seq(items) }, anchor)),
                _ => return Err(YamlError { loc, message: "invalid YAML: unbalanced sequence".into() }),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(l, anchor, entries, _, _)) => {
                    Some((Node { loc: l, kind: Kind::Map(entries) }, anchor))
                }
                _ => return Err(YamlError { loc, message: "invalid YAML: unbalanced mapping".into() }),
            },
            Event::Alias(id) => {
                let Some((_, node)) = anchors.iter().rev().find(|(a, _)| *a == id) else {
                    return Err(YamlError {
                        loc,
                        message: "invalid YAML: alias to an unknown anchor".into(),
                    });
                };
                let size = count_nodes(node);
                if size > alias_budget {
                    return Err(YamlError {
                        loc,
                        message: "invalid YAML: aliases expand to too many nodes".into(),
                    });
                }
                alias_budget -= size;
                let mut node = node.clone();
                node.loc = loc;
                Some((node, 0))
            }
            Event::DocumentEnd | Event::DocumentStart(_) | Event::StreamStart | Event::StreamEnd => None,
            Event::Nothing => None,
        };
        if let Some((node, anchor)) = finished {
            if anchor != 0 {
                anchors.push((anchor, node.clone()));
            }
            match stack.last_mut() {
                None => docs.push(node),
                Some(Frame::Seq(_, _, items)) => items.push(node),
                Some(Frame::Map(_, _, entries, pending, keys)) => match pending.take() {
                    None => *pending = Some(node),
                    Some(key) => {
                        if let Some(text) = key.as_str() {
                            if let Some(first) = keys.get(text) {
                                return Err(YamlError {
                                    loc: key.loc,
                                    message: format!(
                                        "duplicate key \"{text}\" (first defined at line {}, column {}); remove or rename one of them",
                                        first.line, first.column
                                    ),
                                });
                            }
                            keys.insert(text.to_string(), key.loc);
                        }
                        entries.push((key, node));
                    }
                },
            }
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based() {
        let docs = parse("class: A\nfields:\n  name: String\n").unwrap();
        let Kind::Map(entries) = &docs[0].kind else { panic!("map") };
        assert_eq!(entries[0].0.loc, Loc::new(1, 1));
        let Kind::Map(fields) = &entries[1].1.kind else { panic!("map") };
        assert_eq!(fields[0].0.loc, Loc::new(3, 3));
        assert_eq!(fields[0].1.loc, Loc::new(3, 9));
    }

    #[test]
    fn duplicate_keys_name_first_location() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.loc, Loc::new(3, 1));
        assert!(err.message.contains("first defined at line 1, column 1"), "{}", err.message);
    }

    #[test]
    fn raw_text_and_style_are_kept() {
        let docs = parse("x: 1.0\ny: 'a''b'\n").unwrap();
        let Kind::Map(entries) = &docs[0].kind else { panic!("map") };
        assert_eq!(entries[0].1.raw_scalar().as_deref(), Some("1.0"));
        assert_eq!(entries[1].1.raw_scalar().as_deref(), Some("'a\\'b'"));
    }

    #[test]
    fn aliases_expand_with_a_budget() {
        let docs = parse("a: &x [1, 2]\nb: *x\n").unwrap();
        let Kind::Map(entries) = &docs[0].kind else { panic!("map") };
        assert!(matches!(&entries[1].1.kind, Kind::Seq(v) if v.len() == 2));
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = i - 1
            ));
        }
        assert!(parse(&bomb).unwrap_err().message.contains("too many nodes"));
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
        assert!(err.loc.line >= 1);
    }
}
