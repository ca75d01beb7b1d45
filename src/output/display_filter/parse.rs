//! The `-Y` grammar (docs/display-filter.md), parsed with winnow: a small, well-kept parser
//! combinator crate (the parser of toml_edit) that works on `&str`, reports the byte offset
//! of a failure, and adds no build step (pest needs a grammar file and a derive; chumsky's
//! compile times are far larger).
//!
//! ```text
//! expr       = or
//! or         = and { ("||" | "or") and }
//! and        = unary { ("&&" | "and") unary }
//! unary      = ("!" | "not") unary | "(" expr ")" | test
//! test       = path [ cmp_op literal | "contains" literal | "matches" string ]
//! cmp_op     = "==" | "!=" | "<=" | ">=" | "<" | ">" | "eq" | "ne" | "le" | "ge" | "lt" | "gt"
//! path       = name { "." name }            name = [A-Za-z_][A-Za-z0-9_]*
//! literal    = number | string | "true" | "false"
//! number     = ["-"] digits ["." digits] [("e"|"E") ["+"|"-"] digits]
//! string     = '"' { char | "\" ( '"' | "\" | "n" | "t" | "r" ) } '"'
//! ```

use winnow::ascii::{digit1, multispace0};
use winnow::combinator::{alt, cut_err, delimited, opt};
use winnow::error::{ContextError, ErrMode, ModalResult, StrContext, StrContextValue};
use winnow::prelude::*;
use winnow::token::{any, one_of, take_while};

use super::{Cmp, Expr, Literal, Test};

type In<'a> = &'a str;

fn expected(what: &'static str) -> StrContext {
    StrContext::Expected(StrContextValue::Description(what))
}

fn ws(i: &mut In) -> ModalResult<()> {
    multispace0.void().parse_next(i)
}

/// A word operator (`and`, `contains`…) not followed by a name character.
fn word<'a>(w: &'static str) -> impl Parser<In<'a>, (), ErrMode<ContextError>> {
    move |i: &mut In<'a>| {
        let start = i.checkpoint();
        w.void().parse_next(i)?;
        if i.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            i.reset(&start);
            return Err(ErrMode::Backtrack(ContextError::new()));
        }
        Ok(())
    }
}

pub(super) fn expr(i: &mut In) -> ModalResult<Expr> {
    or(i)
}

fn or(i: &mut In) -> ModalResult<Expr> {
    let mut left = and(i)?;
    loop {
        ws(i)?;
        if opt(alt(("||".void(), word("or")))).parse_next(i)?.is_none() {
            return Ok(left);
        }
        ws(i)?;
        let right = cut_err(and)
            .context(expected("an expression after ||"))
            .parse_next(i)?;
        left = Expr::Or(Box::new(left), Box::new(right));
    }
}

fn and(i: &mut In) -> ModalResult<Expr> {
    let mut left = unary(i)?;
    loop {
        ws(i)?;
        if opt(alt(("&&".void(), word("and"))))
            .parse_next(i)?
            .is_none()
        {
            return Ok(left);
        }
        ws(i)?;
        let right = cut_err(unary)
            .context(expected("an expression after &&"))
            .parse_next(i)?;
        left = Expr::And(Box::new(left), Box::new(right));
    }
}

fn unary(i: &mut In) -> ModalResult<Expr> {
    ws(i)?;
    if opt(alt((
        // `!` but not `!=` (which has no left side here).
        ('!', winnow::combinator::not('=')).void(),
        word("not"),
    )))
    .parse_next(i)?
    .is_some()
    {
        ws(i)?;
        let e = cut_err(unary)
            .context(expected("an expression after !"))
            .parse_next(i)?;
        return Ok(Expr::Not(Box::new(e)));
    }
    if opt('(').parse_next(i)?.is_some() {
        let e = cut_err(expr).parse_next(i)?;
        ws(i)?;
        cut_err(')').context(expected(")")).parse_next(i)?;
        return Ok(e);
    }
    test(i)
}

fn test(i: &mut In) -> ModalResult<Expr> {
    let path = path
        .context(expected("a field path (e.g. header.queueId)"))
        .parse_next(i)?;
    ws(i)?;
    let cmp = opt(alt((
        "==".value(Cmp::Eq),
        "!=".value(Cmp::Ne),
        "<=".value(Cmp::Le),
        ">=".value(Cmp::Ge),
        "<".value(Cmp::Lt),
        ">".value(Cmp::Gt),
        alt((
            word("eq").value(Cmp::Eq),
            word("ne").value(Cmp::Ne),
            word("le").value(Cmp::Le),
            word("ge").value(Cmp::Ge),
            word("lt").value(Cmp::Lt),
            word("gt").value(Cmp::Gt),
            word("contains").value(Cmp::Contains),
            word("matches").value(Cmp::Matches),
        )),
    )))
    .parse_next(i)?;
    let Some(cmp) = cmp else {
        return Ok(Expr::Test(Test::Exists(path)));
    };
    ws(i)?;
    if cmp == Cmp::Matches {
        let re = cut_err(string.try_map(|s| regex::Regex::new(&s).map_err(BadRegex::from)))
            .context(expected("a string holding a valid regular expression"))
            .parse_next(i)?;
        return Ok(Expr::Test(Test::Matches(path, re)));
    }
    let lit = cut_err(literal)
        .context(expected("a number, a \"string\", true or false"))
        .parse_next(i)?;
    Ok(Expr::Test(Test::Compare(path, cmp, lit)))
}

fn name<'a>(i: &mut In<'a>) -> ModalResult<&'a str> {
    (
        one_of(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(0.., |c: char| c.is_ascii_alphanumeric() || c == '_'),
    )
        .take()
        .parse_next(i)
}

fn path(i: &mut In) -> ModalResult<Vec<String>> {
    let first = name(i)?;
    if matches!(first, "not" | "and" | "or" | "true" | "false") {
        return Err(ErrMode::Backtrack(ContextError::new()));
    }
    let mut v = vec![first.to_string()];
    while opt('.').parse_next(i)?.is_some() {
        let n = cut_err(name)
            .context(expected("a field name after ."))
            .parse_next(i)?;
        v.push(n.to_string());
    }
    Ok(v)
}

fn literal(i: &mut In) -> ModalResult<Literal> {
    alt((
        string.map(Literal::Str),
        number,
        word("true").value(Literal::Bool(true)),
        word("false").value(Literal::Bool(false)),
    ))
    .parse_next(i)
}

fn number(i: &mut In) -> ModalResult<Literal> {
    let text = (
        opt('-'),
        digit1,
        opt(('.', digit1)),
        opt((one_of(['e', 'E']), opt(one_of(['+', '-'])), digit1)),
    )
        .take()
        .parse_next(i)?;
    Ok(Literal::number(text))
}

fn string(i: &mut In) -> ModalResult<String> {
    '"'.parse_next(i)?;
    let mut s = String::new();
    loop {
        let c = cut_err(any)
            .context(expected("a closing \""))
            .parse_next(i)?;
        match c {
            '"' => return Ok(s),
            '\\' => {
                let e = cut_err(one_of(['"', '\\', 'n', 't', 'r']))
                    .context(expected("an escape: \\\" \\\\ \\n \\t \\r"))
                    .parse_next(i)?;
                s.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    other => other,
                });
            }
            c => s.push(c),
        }
    }
}

/// Deepest nesting of parentheses and `!` accepted, and most `&&` / `||` operators: the
/// parser and the evaluator recurse that deep, and a stack overflow would abort the process.
pub const MAX_NESTING: usize = 256;
pub const MAX_OPERATORS: usize = 4_096;
/// Most names in one field path (`messages.properties.KEYS` has 3; the JSON Lines
/// documents go 5 deep): the evaluator walks a path recursively too.
pub const MAX_PATH_NAMES: usize = 64;

/// Where the expression first goes past [`MAX_NESTING`] or [`MAX_OPERATORS`] (strings
/// skipped), with what.
fn too_deep(text: &str) -> Option<(usize, String)> {
    let b = text.as_bytes();
    let (mut depth, mut bangs, mut ops, mut i) = (0usize, 0usize, 0usize, 0usize);
    let mut names = 0usize;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                bangs = 0;
            }
            b'!' if b.get(i + 1) != Some(&b'=') => bangs += 1,
            b'&' | b'|' if b.get(i + 1) == Some(&b[i]) => {
                ops += 1;
                bangs = 0;
                i += 1;
            }
            b'.' if names > 0 => names += 1,
            c if c.is_ascii_alphanumeric() || c == b'_' => names = names.max(1),
            _ => names = 0,
        }
        if names > MAX_PATH_NAMES {
            return Some((
                i,
                format!("a field path of more than {MAX_PATH_NAMES} names"),
            ));
        }
        if depth + bangs > MAX_NESTING {
            return Some((
                i,
                format!("nested deeper than {MAX_NESTING} levels of ( and !"),
            ));
        }
        if ops > MAX_OPERATORS {
            return Some((i, format!("more than {MAX_OPERATORS} && and || operators")));
        }
        i += 1;
    }
    None
}

/// The whole expression, nothing after it.
pub(super) fn parse(text: &str) -> Result<Expr, (usize, String)> {
    if let Some(e) = too_deep(text) {
        return Err(e);
    }
    delimited(ws, expr, ws).parse(text).map_err(|e| {
        let offset = e.offset();
        let inner = e.inner().to_string();
        let why = if inner.is_empty() {
            if offset >= text.len() {
                "unexpected end of the expression".to_string()
            } else {
                "unexpected text (expected &&, ||, ) or the end)".to_string()
            }
        } else {
            inner.replace('\n', "; ")
        };
        (offset, why)
    })
}

/// A regex that does not compile, in one line (regex's own message spans several, with its
/// own caret).
#[derive(Debug)]
struct BadRegex(String);

impl From<regex::Error> for BadRegex {
    fn from(e: regex::Error) -> Self {
        let text = e.to_string();
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        BadRegex(last.trim().trim_start_matches("error: ").to_string())
    }
}

impl std::fmt::Display for BadRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadRegex {}
