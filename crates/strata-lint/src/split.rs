//! Cuts a migration file into statements with sqlparser's tokenizer, parses each one on its
//! own (so one statement the grammar does not know never hides the others), and collects the
//! `--` comments that may hold suppressions.

use sqlparser::ast::Statement;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

use crate::RuleSet;

/// One statement of the file.
#[derive(Debug)]
pub(crate) struct SqlStatement {
    /// 1-based line and column of its first token.
    pub line: usize,
    pub column: usize,
    /// 1-based line of its last token (the `;` when there is one).
    pub end_line: usize,
    /// The parsed statement, or why sqlparser could not parse it.
    pub parsed: Result<Statement, String>,
}

/// A `--` comment, without its `--`.
#[derive(Debug)]
pub(crate) struct LineComment {
    pub line: usize,
    pub column: usize,
    pub text: String,
}

/// The file, cut up.
#[derive(Debug)]
pub(crate) struct SplitFile {
    pub statements: Vec<SqlStatement>,
    pub comments: Vec<LineComment>,
}

/// Where and why the tokenizer gave up on the whole file.
#[derive(Debug)]
pub(crate) struct TokenizeFailure {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Splits `sql` at its top-level semicolons. Strings, quoted names, comments and dollar-quoted
/// bodies are single tokens, so a `;` inside them never splits.
pub(crate) fn split(dialect: RuleSet, sql: &str) -> Result<SplitFile, TokenizeFailure> {
    let grammar = dialect.grammar();
    let tokens =
        Tokenizer::new(grammar.as_ref(), sql).tokenize_with_location().map_err(|e| TokenizeFailure {
            line: e.location.line as usize,
            column: e.location.column as usize,
            message: e.message,
        })?;
    let mut comments = Vec::new();
    let mut statements = Vec::new();
    let mut current: Vec<TokenWithSpan> = Vec::new();
    for token in tokens {
        if let Token::Whitespace(Whitespace::SingleLineComment { comment, prefix }) = &token.token {
            if prefix == "--" {
                comments.push(LineComment {
                    line: token.span.start.line as usize,
                    column: token.span.start.column as usize,
                    text: comment.trim_end_matches(['\n', '\r']).to_string(),
                });
            }
            continue;
        }
        let is_end = token.token == Token::SemiColon;
        let is_blank = matches!(token.token, Token::Whitespace(_));
        // A `;` with nothing before it is an empty statement: skipped.
        let empty_statement = is_end && current.is_empty();
        if !(is_blank || empty_statement) {
            current.push(token);
        }
        if is_end && !current.is_empty() {
            statements.push(parse_one(dialect, std::mem::take(&mut current)));
        }
    }
    if !current.is_empty() {
        statements.push(parse_one(dialect, current));
    }
    Ok(SplitFile { statements, comments })
}

/// Parses one statement's tokens (its `;` included); the parse must use every token.
fn parse_one(dialect: RuleSet, tokens: Vec<TokenWithSpan>) -> SqlStatement {
    let first = tokens[0].span.start;
    let last = tokens[tokens.len() - 1].span.end;
    let grammar = dialect.grammar();
    let mut parser = Parser::new(grammar.as_ref()).with_tokens_with_locations(tokens);
    let parsed = parser.parse_statement().map_err(|e| e.to_string()).and_then(|statement| {
        let _ = parser.consume_token(&Token::SemiColon);
        match parser.peek_token().token {
            Token::EOF => Ok(statement),
            other => Err(format!("unexpected `{other}` after the statement")),
        }
    });
    SqlStatement {
        line: first.line as usize,
        column: first.column as usize,
        end_line: last.line as usize,
        parsed,
    }
}
