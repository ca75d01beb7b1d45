//! `-Y EXPR`: a display filter in the spirit of Wireshark's, over the field paths of the
//! JSON Lines frame object (docs/json-lines.md; grammar and semantics in
//! docs/display-filter.md).
//!
//! A path walks the frame object key by key; an array on the way (`messages`,
//! `inner_messages`, `errors`) stands for each of its elements, so a test on a path is true
//! when any value the path reaches passes it, as a Wireshark field that occurs several
//! times. A value that is null is absent. `!=` is true when the path reaches a value and
//! none is equal (Wireshark's `!=`, "all not equal").

mod parse;
mod prune;

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

/// A parsed display filter.
#[derive(Clone, Debug)]
pub struct DisplayFilter {
    expr: Expr,
    /// The members of the frame object the expression looks at.
    need: prune::Need,
}

/// A display filter that does not parse: where (0-based byte offset and 1-based column)
/// and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    pub text: String,
    pub offset: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for FilterError {
    /// `-Y: column C: MESSAGE`, then the expression and a caret under the column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "-Y: column {}: {}", self.column, self.message)?;
        writeln!(f, "    {}", self.text)?;
        write!(f, "    {}^", " ".repeat(self.column - 1))
    }
}

impl std::error::Error for FilterError {}

#[derive(Clone, Debug)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Test(Test),
}

#[derive(Clone, Debug)]
enum Test {
    Exists(Vec<String>),
    Compare(Vec<String>, Cmp, Literal),
    Matches(Vec<String>, regex::Regex),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Matches,
}

#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Str(String),
    /// As written; as an integer when it is one, and as a float.
    Num {
        text: String,
        int: Option<i128>,
        float: f64,
    },
    Bool(bool),
}

impl Literal {
    fn number(text: &str) -> Literal {
        Literal::Num {
            text: text.to_string(),
            int: text.parse().ok(),
            float: text.parse().unwrap_or(f64::NAN),
        }
    }

    fn text(&self) -> String {
        match self {
            Literal::Str(s) => s.clone(),
            Literal::Num { text, .. } => text.clone(),
            Literal::Bool(b) => b.to_string(),
        }
    }
}

impl DisplayFilter {
    /// Parses `text`; the error says at which column it fails.
    pub fn parse(text: &str) -> Result<DisplayFilter, FilterError> {
        parse::parse(text)
            .map(|expr| {
                let mut need = prune::Need::default();
                paths(&expr, &mut |p| need.add(p));
                DisplayFilter { expr, need }
            })
            .map_err(|(offset, message)| {
                let offset = offset.min(text.len());
                FilterError {
                    text: text.to_string(),
                    offset,
                    column: text[..offset].chars().count() + 1,
                    message,
                }
            })
    }

    /// Whether the frame object `frame` (the JSON Lines object) passes.
    pub fn matches(&self, frame: &Value) -> bool {
        eval(&self.expr, frame)
    }

    /// Whether the frame object written as JSON (`jsonl::write_frame`) passes: only the
    /// members the expression names are read into values. False when `json` is not JSON.
    pub fn matches_json(&self, json: &[u8]) -> bool {
        self.need.read(json).is_some_and(|v| self.matches(&v))
    }
}

fn paths(e: &Expr, f: &mut impl FnMut(&[String])) {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            paths(a, f);
            paths(b, f);
        }
        Expr::Not(a) => paths(a, f),
        Expr::Test(Test::Exists(p) | Test::Compare(p, ..) | Test::Matches(p, _)) => f(p),
    }
}

fn eval(e: &Expr, v: &Value) -> bool {
    match e {
        Expr::And(a, b) => eval(a, v) && eval(b, v),
        Expr::Or(a, b) => eval(a, v) || eval(b, v),
        Expr::Not(a) => !eval(a, v),
        Expr::Test(t) => test(t, v),
    }
}

fn test(t: &Test, v: &Value) -> bool {
    let mut found = Vec::new();
    let path = match t {
        Test::Exists(p) | Test::Compare(p, ..) | Test::Matches(p, _) => p,
    };
    leaves(v, path, &mut found);
    match t {
        Test::Exists(_) => !found.is_empty(),
        Test::Matches(_, re) => found
            .iter()
            .any(|x| scalar_text(x).is_some_and(|s| re.is_match(&s))),
        Test::Compare(_, Cmp::Ne, lit) => {
            !found.is_empty() && !found.iter().any(|x| order(x, lit) == Some(Ordering::Equal))
        }
        Test::Compare(_, Cmp::Contains, lit) => {
            let needle = lit.text();
            found
                .iter()
                .any(|x| scalar_text(x).is_some_and(|s| s.contains(&needle)))
        }
        Test::Compare(_, cmp, lit) => found.iter().any(|x| {
            order(x, lit).is_some_and(|o| match cmp {
                Cmp::Eq => o == Ordering::Equal,
                Cmp::Lt => o == Ordering::Less,
                Cmp::Le => o != Ordering::Greater,
                Cmp::Gt => o == Ordering::Greater,
                Cmp::Ge => o != Ordering::Less,
                Cmp::Ne | Cmp::Contains | Cmp::Matches => false,
            })
        }),
    }
}

/// The values `path` reaches from `v`, arrays standing for each element; nulls left out.
fn leaves<'v>(v: &'v Value, path: &[String], out: &mut Vec<&'v Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| leaves(x, path, out)),
        Value::Null => {}
        _ => match path.split_first() {
            None => out.push(v),
            Some((k, rest)) => {
                if let Some(x) = v.as_object().and_then(|o| o.get(k)) {
                    leaves(x, rest, out);
                }
            }
        },
    }
}

/// A scalar as text (a number with the digits it was written with); None for objects.
fn scalar_text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        Value::String(s) => Some(s.as_str().into()),
        Value::Number(n) => Some(n.to_string().into()),
        Value::Bool(b) => Some(b.to_string().into()),
        _ => None,
    }
}

/// How the value compares with the literal: numbers as numbers (a string that is a number,
/// as extFields values are, too; integers exactly), strings as strings (a number's text),
/// booleans as booleans. None when they cannot be compared.
fn order(v: &Value, lit: &Literal) -> Option<Ordering> {
    match lit {
        Literal::Num { int, float, .. } => {
            let text = match v {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.trim().to_string(),
                _ => return None,
            };
            if let (Some(a), Some(b)) = (text.parse::<i128>().ok(), int) {
                return Some(a.cmp(b));
            }
            text.parse::<f64>().ok()?.partial_cmp(float)
        }
        Literal::Str(s) => Some(scalar_text(v)?.as_ref().cmp(s.as_str())),
        Literal::Bool(b) => match v {
            Value::Bool(x) => Some(x.cmp(b)),
            Value::String(s) => s.parse::<bool>().ok().map(|x| x.cmp(b)),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A field path of 30,000 names overflowed the stack (the breaker's finding, also
    /// through the extcap capture filter): past 64 names it is a located error.
    #[test]
    fn long_paths_are_an_error_not_a_crash() {
        let long = format!("{} == 1", vec!["a"; 30_000].join("."));
        let e = DisplayFilter::parse(&long).unwrap_err();
        assert!(e.message.contains("more than 64 names"), "{e}");
        let bare = vec!["a"; 30_000].join(".");
        assert!(DisplayFilter::parse(&bare).is_err());
        let ok = format!("{} == 1", vec!["a"; 64].join("."));
        assert!(DisplayFilter::parse(&ok).is_ok());
        assert!(DisplayFilter::parse("header.queueId == 1.5 && x == \"a.b.c\"").is_ok());
    }

    /// Nesting past the limit is a located error, not a stack overflow (the breaker's
    /// 5,000 parentheses and 30,000 `!` aborted the process).
    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let ok = format!("{}code == 310{}", "(".repeat(200), ")".repeat(200));
        assert!(DisplayFilter::parse(&ok).is_ok());
        let parens = format!("{}code == 310{}", "(".repeat(5000), ")".repeat(5000));
        let e = DisplayFilter::parse(&parens).unwrap_err();
        assert!(e.message.contains("nested deeper than 256"), "{e}");
        assert_eq!(e.column, 257, "{e}");
        let bangs = format!("{}code == 310", "!".repeat(30_000));
        assert!(
            DisplayFilter::parse(&bangs)
                .unwrap_err()
                .message
                .contains("nested")
        );
        let chain = vec!["code == 310"; 5000].join(" && ");
        assert!(
            DisplayFilter::parse(&chain)
                .unwrap_err()
                .message
                .contains("operators")
        );
        // `!=` and strings holding brackets are not nesting.
        let strings = format!("remark != \"{}\"", "(".repeat(1000));
        assert!(DisplayFilter::parse(&strings).is_ok());
    }

    fn frame() -> Value {
        json!({
            "code": 310, "name": "SEND_MESSAGE_V2", "kind": "request", "remark": null,
            "header": {"queueId": 3, "topic": "T", "producerGroup": "PG-1"},
            "ext_fields": {"a": "PG-1", "e": "3", "consumerGroup": "CG-orders"},
            "batch": false,
            "messages": [
                {"topic": "T", "keys": "K1 K2", "uniq_key": "AB01"},
                {"topic": "U", "keys": null, "inner_messages": [{"topic": "V"}]}
            ],
            "errors": []
        })
    }

    /// On the value, and on its JSON text (read pruned to the paths): the same.
    fn yes(e: &str) -> bool {
        let y = DisplayFilter::parse(e).unwrap_or_else(|x| panic!("{x}"));
        let on_value = y.matches(&frame());
        let text = serde_json::to_vec(&frame()).unwrap();
        assert_eq!(y.matches_json(&text), on_value, "{e}");
        on_value
    }

    #[test]
    fn comparisons() {
        assert!(yes("header.queueId == 3"));
        assert!(yes("header.queueId >= 3 && header.queueId < 4"));
        assert!(!yes("header.queueId > 3"));
        assert!(yes("code == 310"));
        assert!(yes("code eq 310 and name == \"SEND_MESSAGE_V2\""));
        assert!(yes("ext_fields.e == 3"), "a string holding a number");
        assert!(yes("ext_fields.consumerGroup contains \"CG\""));
        assert!(yes("name matches \"^SEND_.*V2$\""));
        assert!(yes("batch == false"));
        assert!(!yes("batch == true"));
        assert!(yes("code != 10"));
        assert!(!yes("code != 310"));
    }

    #[test]
    fn arrays_match_if_any_element_does() {
        assert!(yes("messages.topic == \"U\""));
        assert!(yes("messages.topic == \"T\""));
        assert!(yes("messages.inner_messages.topic == \"V\""));
        assert!(!yes("messages.topic == \"W\""));
        // `!=`: none equal.
        assert!(!yes("messages.topic != \"T\""));
        assert!(yes("messages.topic != \"W\""));
        assert!(yes("!(messages.topic == \"W\")"));
        assert!(yes("messages.keys contains \"K2\""));
    }

    #[test]
    fn existence_and_logic() {
        assert!(yes("header"));
        assert!(yes("messages.uniq_key"));
        assert!(!yes("remark"), "null is absent");
        assert!(!yes("header.nope"));
        assert!(!yes("errors"), "an empty array reaches nothing");
        assert!(yes("!remark"));
        assert!(yes("not remark && (code == 1 || code == 310)"));
        assert!(
            !yes("code == 1 || code == 2 && code == 310"),
            "&& binds tighter"
        );
        assert!(!yes("!code == 310"), "! binds to the test");
        assert!(!yes("remark != \"x\""), "!= needs the field");
    }

    #[test]
    fn errors_point_at_their_column() {
        let e = |s: &str| DisplayFilter::parse(s).unwrap_err();
        assert_eq!(e("header.queueId == ").column, 19);
        assert_eq!(e("code == 310 &&").column, 15);
        assert_eq!(e("(code == 310").column, 13);
        assert_eq!(e("code === 310").column, 8);
        assert_eq!(e("code == 310 )").column, 13);
        assert_eq!(e("name matches \"(\"").column, 14);
        assert_eq!(e("name == \"abc").column, 13);
        assert_eq!(e("header. == 3").column, 8);
        assert_eq!(e("== 3").column, 1);
        assert_eq!(e("").column, 1);
        let x = e("header.queueId == ");
        assert_eq!(
            x.to_string(),
            format!(
                "-Y: column 19: {}\n    header.queueId == \n    {}^",
                x.message,
                " ".repeat(18)
            )
        );
        assert!(x.message.contains("expected"), "{}", x.message);
    }
}
