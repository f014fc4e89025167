//! Index expression elements and partial-index predicates are the only SQL text a definition
//! carries, and it comes from files anyone can edit. Before any of it is spliced into a
//! statement it must parse as exactly one expression, with nothing after it: otherwise a
//! crafted `definition.json` (`"x); CREATE TABLE pwned (a int); --"`) would run its own
//! statements through `apply`.

use sqlparser::dialect::{Dialect as Grammar, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
use strata_schema::{DatabaseDefinition, IndexDefinition, IndexElementType, JsonError};

use crate::{Dialect, SqlError, SqlObject};

/// Which part of an index a piece of SQL text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexPart {
    /// The expression element at this position (0-based, as in the `elements` array; `u32`
    /// keeps [`SqlError`] small).
    Element(u32),
    /// The `WHERE` predicate.
    Predicate,
}

impl std::fmt::Display for IndexPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IndexPart::Element(i) => write!(f, "element {i}"),
            IndexPart::Predicate => f.write_str("predicate"),
        }
    }
}

/// Why `sql` is not exactly one expression in `grammar`, or `Ok` when it is.
///
/// Comments are refused too: the statement is written on one line, so a `--` inside the text
/// would hide the closing parenthesis, and a comment is where tokenizers disagree most.
pub(crate) fn check_one_expression(grammar: &dyn Grammar, sql: &str) -> Result<(), String> {
    parse_one_expression(grammar, sql).map(|_| ())
}

/// The one expression `sql` is in `grammar` (see [`check_one_expression`]).
fn parse_one_expression(grammar: &dyn Grammar, sql: &str) -> Result<sqlparser::ast::Expr, String> {
    let tokens = Tokenizer::new(grammar, sql).tokenize().map_err(|e| e.to_string())?;
    let has_comment = tokens.iter().any(|t| {
        matches!(t, Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)))
    });
    let mut parser = Parser::new(grammar).with_tokens(tokens);
    let expr = parser.parse_expr().map_err(|e| e.to_string())?;
    match parser.peek_token().token {
        Token::EOF if has_comment => Err("comments are not allowed".to_string()),
        Token::EOF => Ok(expr),
        rest => Err(format!("unexpected `{rest}` after the expression")),
    }
}

/// `sql` (a check or a partial-index predicate as PostgreSQL prints it) in a form that prints
/// back the same once the server re-creates it.
///
/// PostgreSQL prints `col IN ('a', 'b')` over a `varchar` column as
/// `((col)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))`, and
/// that text, parsed again, casts each element on its own and prints differently again: a
/// check copied as the server printed it would keep differing from its source on every diff.
/// Each such `= ANY` (and `<> ALL`) over a cast array of cast string literals is written back
/// as the `IN` (`NOT IN`) list it came from; anything else, or text sqlparser cannot read as one
/// expression, is returned unchanged.
pub fn postgres_reprintable(sql: &str) -> std::borrow::Cow<'_, str> {
    checked_postgres_reprintable(sql).unwrap_or(std::borrow::Cow::Borrowed(sql))
}

/// [`postgres_reprintable`] for text that must be one expression ([`check_postgres`]), with
/// one parse for both.
pub(crate) fn checked_postgres_reprintable(sql: &str) -> Result<std::borrow::Cow<'_, str>, String> {
    let mut expr = parse_one_expression(&PostgreSqlDialect {}, sql)?;
    Ok(if restore_in_lists(&mut expr) {
        std::borrow::Cow::Owned(expr.to_string())
    } else {
        std::borrow::Cow::Borrowed(sql)
    })
}

/// Rewrites every printed `IN` list inside `expr` (through parentheses, `AND`, `OR` and `NOT`);
/// whether it rewrote any.
fn restore_in_lists(expr: &mut sqlparser::ast::Expr) -> bool {
    use sqlparser::ast::{BinaryOperator, Expr};
    match expr {
        Expr::Nested(inner) | Expr::UnaryOp { expr: inner, .. } => restore_in_lists(inner),
        Expr::BinaryOp { left, op: BinaryOperator::And | BinaryOperator::Or, right } => {
            let l = restore_in_lists(left);
            restore_in_lists(right) || l
        }
        Expr::AnyOp { left, compare_op: BinaryOperator::Eq, right, is_some: false } => {
            printed_in_list(left, right, false).map(|list| *expr = list).is_some()
        }
        Expr::AllOp { left, compare_op: BinaryOperator::NotEq, right } => {
            printed_in_list(left, right, true).map(|list| *expr = list).is_some()
        }
        _ => false,
    }
}

/// `(x)::text` against `(ARRAY['a'::character varying, ...])::text[]`, as the `IN` list
/// `x IN ('a', ...)`; `None` for any other shape.
fn printed_in_list(
    left: &sqlparser::ast::Expr,
    right: &sqlparser::ast::Expr,
    negated: bool,
) -> Option<sqlparser::ast::Expr> {
    use sqlparser::ast::{ArrayElemTypeDef, DataType, Expr};
    fn unnest(mut e: &Expr) -> &Expr {
        while let Expr::Nested(inner) = e {
            e = inner;
        }
        e
    }
    let Expr::Cast { expr: column, data_type: DataType::Text, format: None, .. } = unnest(left) else {
        return None;
    };
    let Expr::Cast { expr: array, data_type: DataType::Array(element_type), format: None, .. } =
        unnest(right)
    else {
        return None;
    };
    if !matches!(element_type, ArrayElemTypeDef::SquareBracket(t, None) if **t == DataType::Text) {
        return None;
    }
    let Expr::Array(array) = unnest(array) else { return None };
    let list = array
        .elem
        .iter()
        .map(|e| match e {
            Expr::Cast { expr: literal, data_type: DataType::CharacterVarying(None), format: None, .. }
                if matches!(**literal, Expr::Value(ref v) if matches!(v.value, sqlparser::ast::Value::SingleQuotedString(_))) =>
            {
                Some((**literal).clone())
            }
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    (!list.is_empty()).then(|| Expr::InList { expr: column.clone(), list, negated })
}

/// The PostgreSQL expression grammar.
pub(crate) fn check_postgres(sql: &str) -> Result<(), String> {
    check_one_expression(&PostgreSqlDialect {}, sql)
}

/// A PostgreSQL column default: one expression that is not a bare name (PostgreSQL refuses
/// column references in a default, and a bare word is more likely a typo than a default).
pub(crate) fn check_postgres_default(sql: &str) -> Result<(), String> {
    use sqlparser::ast::Expr;
    match parse_one_expression(&PostgreSqlDialect {}, sql)? {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
            Err("a bare name is a column reference, which a default cannot be".to_string())
        }
        _ => Ok(()),
    }
}

/// A PostgreSQL `EXCLUDE` table-constraint clause, as `pg_get_constraintdef` prints it: it starts
/// with `EXCLUDE`, its parentheses balance, and nothing at the top level could end the clause
/// (a `;` starting another statement, a `,` starting another `ALTER TABLE` action) or hide the
/// rest of the line (a comment). String literals are tokens of their own, so their contents never
/// count. The clause's grammar itself (method, operators, predicate) is the server's to judge.
pub(crate) fn check_postgres_exclusion(sql: &str) -> Result<(), String> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().map_err(|e| e.to_string())?;
    let mut words = tokens.iter().filter(|t| !matches!(t, Token::Whitespace(_)));
    match words.next() {
        Some(Token::Word(w)) if w.value.eq_ignore_ascii_case("EXCLUDE") => {}
        _ => return Err("it must start with EXCLUDE".to_string()),
    }
    let mut depth = 0usize;
    for token in &tokens {
        match token {
            Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)) => {
                return Err("comments are not allowed".to_string())
            }
            Token::SemiColon => return Err("`;` is not allowed".to_string()),
            Token::LParen => depth += 1,
            Token::RParen => {
                depth = depth.checked_sub(1).ok_or_else(|| "unbalanced `)`".to_string())?;
            }
            Token::Comma if depth == 0 => return Err("`,` outside parentheses is not allowed".to_string()),
            _ => {}
        }
    }
    match depth {
        0 => Ok(()),
        _ => Err("unbalanced `(`".to_string()),
    }
}

/// The SQLite expression grammar.
pub(crate) fn check_sqlite(sql: &str) -> Result<(), String> {
    check_one_expression(&SQLiteDialect {}, sql)
}

/// The MySQL expression grammar.
pub(crate) fn check_mysql(sql: &str) -> Result<(), String> {
    check_one_expression(&MySqlDialect {}, sql)
}

/// A partition key (`RANGE (day)`) or bound (`FOR VALUES FROM ('a') TO ('b')`, `DEFAULT`): not
/// an expression, so it is only checked to stay inside its statement: no `;`, no comment, and
/// parentheses that never close more than they opened and end balanced.
pub fn check_layout_clause(sql: &str) -> Result<(), String> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().map_err(|e| e.to_string())?;
    let mut depth = 0usize;
    for token in &tokens {
        match token {
            Token::SemiColon => return Err("a `;` would end the statement".to_string()),
            Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)) => {
                return Err("comments are not allowed".to_string())
            }
            Token::LParen => depth += 1,
            Token::RParen => {
                depth = depth.checked_sub(1).ok_or_else(|| "a `)` closes more than was opened".to_string())?
            }
            _ => {}
        }
    }
    match (depth, tokens.iter().all(|t| matches!(t, Token::Whitespace(_)))) {
        (_, true) => Err("it is empty".to_string()),
        (0, false) => Ok(()),
        _ => Err("a `(` is never closed".to_string()),
    }
}

/// The SQL text of `index` (expression elements, then the predicate) with its part.
fn sql_parts(index: &IndexDefinition) -> impl Iterator<Item = (IndexPart, &str)> {
    let elements = (0u32..).zip(&index.elements).filter_map(|(i, e)| {
        (e.element_type == IndexElementType::Expression)
            .then_some((IndexPart::Element(i), e.definition.as_str()))
    });
    elements.chain(index.predicate.as_deref().map(|p| (IndexPart::Predicate, p)))
}

/// The typed error for one refused piece of index SQL.
fn invalid(table: &str, index: &IndexDefinition, part: IndexPart, text: &str, reason: String) -> SqlError {
    SqlError::InvalidIndexExpression {
        object: SqlObject::index(table, &index.index_name),
        part,
        text: text.to_string(),
        reason,
    }
}

/// Checks every expression element and the predicate of `index` against `dialect`'s grammar.
/// Every emitter calls this before it writes the index, whatever the definition's origin;
/// introspection calls it to report live indexes strata will not write.
pub fn check_index_expressions(
    dialect: &dyn Dialect,
    table: &str,
    index: &IndexDefinition,
) -> Result<(), SqlError> {
    for (part, text) in sql_parts(index) {
        dialect.check_expression(text).map_err(|reason| invalid(table, index, part, text, reason))?;
    }
    Ok(())
}

/// The early, located check for a definition just read from a file: every index expression
/// element and predicate must be one expression in a grammar strata writes (PostgreSQL or
/// SQLite; the emitter later checks the project's own). The error names the JSON path, the
/// table, the index and the element, so the file can be fixed before anything is generated.
pub fn check_definition_expressions(definition: &DatabaseDefinition) -> Result<(), JsonError> {
    for (t, table) in definition.tables.iter().enumerate() {
        for (c, column) in table.columns.iter().enumerate() {
            let Some(native) = &column.native_type else { continue };
            // A native type is PostgreSQL's `format_type` text or MySQL's `COLUMN_TYPE` text
            // (`enum('a','b')`); the emitter later checks the project's own dialect.
            let checked = crate::postgres::check_native_type(native).or_else(|pg_reason| {
                crate::mysql_types::check_mysql_native_type(native).map_err(|_| pg_reason)
            });
            if let Err(reason) = checked {
                let object = crate::SqlObject::column(&table.name, &column.name);
                let error = crate::SqlError::InvalidNativeType { object, native: native.clone(), reason };
                return Err(JsonError::Shape {
                    path: format!("$.tables[{t}].columns[{c}].nativeType"),
                    message: error.to_string(),
                });
            }
        }
        for (i, index) in table.indexes.iter().enumerate() {
            for (part, text) in sql_parts(index) {
                let Err(reason) = check_postgres(text) else { continue };
                if check_sqlite(text).is_ok() {
                    continue;
                }
                let key = match part {
                    IndexPart::Element(e) => format!("elements[{e}].definition"),
                    IndexPart::Predicate => "predicate".to_string(),
                };
                return Err(JsonError::Shape {
                    path: format!("$.tables[{t}].indexes[{i}].{key}"),
                    message: invalid(&table.name, index, part, text, reason).to_string(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_printed_in_list_is_written_back_as_the_in_list() {
        let printed = "((status)::text = ANY ((ARRAY['pending'::character varying, 'shipped'::character varying])::text[]))";
        assert_eq!(postgres_reprintable(printed), "((status) IN ('pending', 'shipped'))");
        let pretty = "status::text = ANY (ARRAY['a'::character varying, 'b''c'::character varying]::text[])";
        assert_eq!(postgres_reprintable(pretty), "status IN ('a', 'b''c')");
        let negated = "((kind)::text <> ALL ((ARRAY['x'::character varying])::text[]))";
        assert_eq!(postgres_reprintable(negated), "((kind) NOT IN ('x'))");
    }

    #[test]
    fn a_printed_in_list_inside_and_or_not_is_rewritten_too() {
        let printed =
            "((amount > (0)::numeric) AND (NOT ((s)::text = ANY ((ARRAY['a'::character varying])::text[]))))";
        let out = postgres_reprintable(printed);
        assert!(out.contains("(s) IN ('a')") && out.contains("amount > (0)::NUMERIC"), "{out}");
    }

    #[test]
    fn other_expressions_keep_the_servers_bytes() {
        for sql in [
            "(amount > (0)::numeric)",
            // Already the re-created form: its elements are cast one by one, not the array.
            "((s)::text = ANY (ARRAY[('a'::character varying)::text, ('b'::character varying)::text]))",
            // An array of another type, or a column not cast to text.
            "(n = ANY ((ARRAY[1, 2])::integer[]))",
            "(s = ANY ((ARRAY['a'::character varying])::text[]))",
            "(s)::text = ANY (ARRAY[('a'::character varying)::text] || ARRAY['b'::text])",
            "not an expression ((",
        ] {
            assert!(matches!(postgres_reprintable(sql), std::borrow::Cow::Borrowed(_)), "{sql}");
        }
    }

    use super::{check_layout_clause, check_postgres_default, postgres_reprintable};

    #[test]
    fn a_partition_clause_stays_inside_its_statement() {
        for good in [
            "RANGE (logdate)",
            "LIST (lower(name) COLLATE \"C\")",
            "FOR VALUES FROM ('2006-02-01') TO ('2006-03-01')",
            "FOR VALUES IN ('a;b', ')')",
            "DEFAULT",
        ] {
            assert!(check_layout_clause(good).is_ok(), "{good}");
        }
        for bad in ["RANGE (a); DROP TABLE t", "RANGE (a)) x (", "RANGE ((a)", "RANGE (a) -- c", "  "] {
            assert!(check_layout_clause(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_default_is_one_expression_and_not_a_bare_name() {
        assert!(check_postgres_default("(now() AT TIME ZONE 'utc'::text)").is_ok());
        assert!(check_postgres_default("CURRENT_DATE").is_ok());
        assert!(check_postgres_default("'{}'::text[]").is_ok());
        for bad in ["1; DROP TABLE t", "abc", "a.b", "1 -- hidden", "now()) , (1"] {
            assert!(check_postgres_default(bad).is_err(), "{bad}");
        }
    }
}
