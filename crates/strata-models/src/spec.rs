//! The inline field syntax (`String?, default='a', relation(parent=t)`) and type expressions
//! (`Map<String, List<int?>>?`, `Vector(512)`, `(int, {String name})?`).

use crate::yaml::Loc;

/// One `key`, `!key`, `key=value` or `key(sub, ...)` item of a field string.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub key: String,
    pub value: ItemValue,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ItemValue {
    /// `key` (true) or `!key` (false).
    Flag(bool),
    /// `key=value`.
    Value(String),
    /// `key(a=b, c)`.
    Sub(Vec<Item>),
}

/// Splits at commas that are not nested in brackets or quotes; returns trimmed pieces with
/// their character offset in `s`.
pub fn split_top_level(s: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut depth: i32 = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut start = 0usize;
    let mut current = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if let Some(q) = quote {
            current.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '<' | '(' | '[' | '{' => depth += 1,
            '>' | ')' | ']' | '}' => depth -= 1,
            ',' if depth <= 0 => {
                push_piece(&mut out, start, &current);
                current.clear();
                start = i + 1;
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    push_piece(&mut out, start, &current);
    out
}

fn push_piece(out: &mut Vec<(usize, String)>, start: usize, raw: &str) {
    let lead = raw.chars().take_while(|c| c.is_whitespace()).count();
    out.push((start + lead, raw.trim().to_string()));
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses one item such as `relation(parent=x)`; `Err` carries a message.
pub fn parse_item(piece: &str, loc: Loc) -> Result<Item, String> {
    if let Some(rest) = piece.strip_prefix('!') {
        let rest = rest.trim();
        if !is_ident(rest) {
            return Err(format!("\"{piece}\" is not a valid negated flag; write it as !name"));
        }
        return Ok(Item { key: rest.to_string(), value: ItemValue::Flag(false), loc });
    }
    let eq = piece.find('=');
    let paren = piece.find('(');
    match (eq, paren) {
        (Some(e), p) if p.is_none_or(|p| e < p) => {
            let key = piece[..e].trim();
            if !is_ident(key) {
                return Err(format!("\"{piece}\" is not a valid key=value item"));
            }
            Ok(Item { key: key.to_string(), value: ItemValue::Value(piece[e + 1..].trim().to_string()), loc })
        }
        (_, Some(p)) => {
            let key = piece[..p].trim();
            let Some(inner) = piece[p + 1..].strip_suffix(')') else {
                return Err(format!("\"{piece}\" has an unclosed \"(\"; write it as {key}(key=value, ...)"));
            };
            if !is_ident(key) {
                return Err(format!("\"{piece}\" is not a valid key(...) item"));
            }
            let base = loc.shifted(piece[..=p].chars().count());
            let mut subs = Vec::new();
            if !inner.trim().is_empty() {
                for (off, sub) in split_top_level(inner) {
                    if sub.is_empty() {
                        return Err(format!("empty item inside \"{piece}\""));
                    }
                    let item = parse_item(&sub, base.shifted(off))?;
                    if matches!(item.value, ItemValue::Sub(_)) {
                        return Err(format!("\"{sub}\" cannot be nested inside \"{key}(...)\""));
                    }
                    subs.push(item);
                }
            }
            Ok(Item { key: key.to_string(), value: ItemValue::Sub(subs), loc })
        }
        _ => {
            if !is_ident(piece) {
                return Err(format!(
                    "\"{piece}\" is not a valid field item; expected key, !key, key=value or key(...)"
                ));
            }
            Ok(Item { key: piece.to_string(), value: ItemValue::Flag(true), loc })
        }
    }
}

/// A parsed type expression.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    /// The class name, possibly with a `module:alias:` prefix; empty for records.
    pub name: String,
    pub generics: Vec<TypeExpr>,
    pub nullable: bool,
    /// `Vector(512)` and friends.
    pub dimension: Option<i64>,
    /// Record fields; `Some` for `(…)` types.
    pub record: Option<Vec<RecordField>>,
}

/// A positional (`name == None`) or named record field.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordField {
    pub ty: TypeExpr,
    pub name: Option<String>,
}

struct TypeParser<'a> {
    chars: Vec<char>,
    pos: usize,
    text: &'a str,
}

impl TypeParser<'_> {
    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }
    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.chars.get(self.pos).copied()
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn err(&self, what: &str) -> String {
        format!("malformed type \"{}\": {what} at character {}", self.text, self.pos + 1)
    }
    fn ident(&mut self) -> Result<String, String> {
        self.skip_ws();
        let start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.'))
        {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.err("expected a type name"));
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }
    fn ty(&mut self, depth: usize) -> Result<TypeExpr, String> {
        if depth > 32 {
            return Err(self.err("types nested too deeply"));
        }
        if self.eat('(') {
            let mut fields = Vec::new();
            let mut named = false;
            loop {
                if self.eat(')') {
                    break;
                }
                if !named && self.eat('{') {
                    named = true;
                    continue;
                }
                if named && self.eat('}') {
                    if !self.eat(')') {
                        return Err(self.err("expected \")\" after named record fields"));
                    }
                    break;
                }
                let ty = self.ty(depth + 1)?;
                let name = match self.peek() {
                    Some(c) if c.is_ascii_alphabetic() || c == '_' => Some(self.ident()?),
                    _ => None,
                };
                if named && name.is_none() {
                    return Err(self.err("named record fields need a name"));
                }
                fields.push(RecordField { ty, name: if named { name } else { None } });
                if !self.eat(',') {
                    match self.peek() {
                        Some(')') | Some('}') => {}
                        _ => return Err(self.err("expected \",\" or \")\" in record type")),
                    }
                }
            }
            if fields.is_empty() {
                return Err(self.err("a record type needs at least one field"));
            }
            let nullable = self.eat('?');
            return Ok(TypeExpr {
                name: String::new(),
                generics: vec![],
                nullable,
                dimension: None,
                record: Some(fields),
            });
        }
        let name = self.ident()?;
        let mut dimension = None;
        if self.eat('(') {
            self.skip_ws();
            let start = self.pos;
            while self.chars.get(self.pos).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
            let digits: String = self.chars[start..self.pos].iter().collect();
            let Ok(n) = digits.parse::<i64>() else {
                return Err(self.err("expected a dimension such as (512)"));
            };
            if !self.eat(')') {
                return Err(self.err("expected \")\" after the dimension"));
            }
            dimension = Some(n);
        }
        let mut generics = Vec::new();
        if self.eat('<') {
            loop {
                generics.push(self.ty(depth + 1)?);
                if self.eat(',') {
                    continue;
                }
                if self.eat('>') {
                    break;
                }
                return Err(self.err("expected \",\" or \">\" in type arguments"));
            }
        }
        let nullable = self.eat('?');
        Ok(TypeExpr { name, generics, nullable, dimension, record: None })
    }
}

/// Parses a whole type expression.
pub fn parse_type(text: &str) -> Result<TypeExpr, String> {
    let mut p = TypeParser { chars: text.chars().collect(), pos: 0, text };
    let ty = p.ty(0)?;
    if p.peek().is_some() {
        return Err(p.err("unexpected text after the type"));
    }
    Ok(ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_respecting_nesting_and_quotes() {
        let parts =
            split_top_level("Map<String, int>?, default='a, b', relation(parent=x, onDelete=Cascade)");
        let texts: Vec<&str> = parts.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(texts, ["Map<String, int>?", "default='a, b'", "relation(parent=x, onDelete=Cascade)"]);
        assert_eq!(parts[1].0, 19);
    }

    #[test]
    fn items() {
        let loc = Loc::new(1, 1);
        assert_eq!(parse_item("!persist", loc).unwrap().value, ItemValue::Flag(false));
        assert_eq!(parse_item("unique", loc).unwrap().value, ItemValue::Flag(true));
        assert_eq!(parse_item("default='x=(y)'", loc).unwrap().value, ItemValue::Value("'x=(y)'".into()));
        let rel = parse_item("relation(parent=t, optional)", Loc::new(1, 10)).unwrap();
        let ItemValue::Sub(subs) = rel.value else { panic!("sub") };
        assert_eq!(subs[0].key, "parent");
        assert_eq!(subs[0].loc, Loc::new(1, 19));
        assert_eq!(subs[1].value, ItemValue::Flag(true));
        assert!(parse_item("relation(parent=x", loc).is_err());
        assert!(parse_item("a b", loc).is_err());
    }

    #[test]
    fn types() {
        let t = parse_type("Map<String, List<int?>>?").unwrap();
        assert_eq!(t.name, "Map");
        assert!(t.nullable);
        assert_eq!(t.generics[1].generics[0].name, "int");
        assert!(t.generics[1].generics[0].nullable);
        assert_eq!(parse_type("Vector(512)").unwrap().dimension, Some(512));
        let r = parse_type("(String, {Uri? optionalUri})?").unwrap();
        let fields = r.record.unwrap();
        assert_eq!(fields[1].name.as_deref(), Some("optionalUri"));
        assert!(r.nullable);
        assert_eq!(parse_type("module:auth:UserInfo?").unwrap().name, "module:auth:UserInfo");
        assert!(parse_type("List<int").is_err());
        assert!(parse_type("Vector(x)").is_err());
        assert!(parse_type("").is_err());
        assert!(parse_type("int int").is_err());
    }
}
