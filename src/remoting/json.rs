//! A tolerant JSON reader for what RocketMQ peers really write, and fastjson's writer rules.
//!
//! serde_json rejects several things that fastjson (the Java broker's parser) accepts and
//! that real clients send: raw control characters inside strings (.NET client), bare integer
//! map keys (`{0:"ip:port"}` in TopicRouteData), object-valued map keys (ConsumeStats),
//! single-quoted strings and unquoted field names, extra commas, `NaN`, and trailing
//! whitespace (the C++ client's `\n`). This reader accepts all of them and keeps enough of
//! the source text (quote style, the exact escape text when it differs from fastjson's,
//! number literals) for a byte-exact re-encoding.
//!
//! Writer rules follow fastjson 1.2.69 `SerializeWriter.writeStringWithDoubleQuote`
//! (see shared/docs/protocol.md section 2.2).

use std::fmt;

/// Deepest nesting accepted; hostile input cannot overflow the stack.
pub const MAX_DEPTH: usize = 128;

/// How a string or key was quoted in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quote {
    Double,
    Single,
    /// An unquoted field name (fastjson `AllowUnQuotedFieldNames`).
    Bare,
}

/// A string as read: its value and, when fastjson would write it differently, the exact
/// source bytes between the quotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JStr {
    pub value: String,
    pub quote: Quote,
    /// The source text between the quotes when it is not what [`escape_fastjson`] gives
    /// for `value` (or when it was not valid UTF-8).
    pub raw: Option<Vec<u8>>,
}

impl JStr {
    pub fn plain(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            quote: Quote::Double,
            raw: None,
        }
    }
}

/// A JSON value with the source details a byte-exact writer needs.
#[derive(Clone, Debug, PartialEq)]
pub enum JValue {
    Null,
    Bool(bool),
    /// A number (or `NaN`/`Infinity`) with its literal text.
    Num(String),
    Str(JStr),
    Arr(Vec<JValue>),
    /// Members in source order. Keys are usually strings, but fastjson writes non-string
    /// map keys in their own JSON form (numbers, objects).
    Obj(Vec<(JValue, JValue)>),
}

/// Why a JSON text could not be read, with the byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for JsonError {}

/// Parses one JSON value from the start of `input`; returns it and the offset just past it
/// (trailing bytes are the caller's business).
pub fn parse_prefix(input: &[u8]) -> Result<(JValue, usize), JsonError> {
    parse_prefix_info(input).map(|(v, end, _)| (v, end))
}

/// [`parse_prefix`], also telling whether the text had whitespace or extra commas between
/// tokens, which a [`JValue`] does not keep (so [`write_value`] will not give it back).
pub fn parse_prefix_info(input: &[u8]) -> Result<(JValue, usize, bool), JsonError> {
    let mut p = Parser {
        s: input,
        i: 0,
        irregular: false,
    };
    p.ws();
    let v = p.value(0)?;
    Ok((v, p.i, p.irregular))
}

/// Parses a whole JSON document; only whitespace may follow the value.
pub fn parse(input: &[u8]) -> Result<JValue, JsonError> {
    let (v, end) = parse_prefix(input)?;
    let mut p = Parser {
        s: input,
        i: end,
        irregular: false,
    };
    p.ws();
    if p.i != input.len() {
        return Err(JsonError {
            offset: p.i,
            reason: "unexpected bytes after the JSON value",
        });
    }
    Ok(v)
}

/// The reader's cursor; the JSON header decoder (`json_header`) drives it too.
pub(crate) struct Parser<'a> {
    pub(crate) s: &'a [u8],
    pub(crate) i: usize,
    /// Whitespace or an extra comma was skipped somewhere.
    pub(crate) irregular: bool,
}

impl<'a> Parser<'a> {
    fn err(&self, reason: &'static str) -> JsonError {
        JsonError {
            offset: self.i,
            reason,
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0c) = self.peek() {
            self.i += 1;
            self.irregular = true;
        }
    }

    pub(crate) fn value(&mut self, depth: usize) -> Result<JValue, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("JSON nested too deeply"));
        }
        match self.peek() {
            None => Err(self.err("unexpected end of JSON")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(q @ (b'"' | b'\'')) => Ok(JValue::Str(self.string(q)?)),
            Some(b'-' | b'+' | b'0'..=b'9' | b'.') => Ok(JValue::Num(self.number()?)),
            Some(_) => {
                let word = self.word();
                match word {
                    "null" => Ok(JValue::Null),
                    "true" => Ok(JValue::Bool(true)),
                    "false" => Ok(JValue::Bool(false)),
                    "NaN" | "Infinity" => Ok(JValue::Num(word.to_string())),
                    _ => Err(self.err("unexpected character in JSON")),
                }
            }
        }
    }

    pub(crate) fn word(&mut self) -> &'a str {
        let start = self.i;
        while let Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'$') = self.peek() {
            self.i += 1;
        }
        // Only ASCII was consumed.
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }

    fn number(&mut self) -> Result<String, JsonError> {
        self.number_str().map(str::to_string)
    }

    /// A number literal as written (borrowed: only ASCII is consumed).
    pub(crate) fn number_str(&mut self) -> Result<&'a str, JsonError> {
        let start = self.i;
        if let Some(b'-' | b'+') = self.peek() {
            self.i += 1;
        }
        if self.peek() == Some(b'I') {
            let w = self.word();
            if w != "Infinity" {
                return Err(self.err("bad number"));
            }
        } else {
            let mut digits = 0;
            while let Some(b'0'..=b'9' | b'.' | b'e' | b'E') = self.peek() {
                let b = self.s[self.i];
                self.i += 1;
                if b.is_ascii_digit() {
                    digits += 1;
                }
                if matches!(b, b'e' | b'E')
                    && let Some(b'-' | b'+') = self.peek()
                {
                    self.i += 1;
                }
            }
            if digits == 0 {
                return Err(self.err("bad number"));
            }
        }
        // Only ASCII signs, digits, `.`, `e`/`E` and `Infinity` were consumed.
        Ok(std::str::from_utf8(&self.s[start..self.i]).unwrap_or(""))
    }

    pub(crate) fn string(&mut self, q: u8) -> Result<JStr, JsonError> {
        self.i += 1;
        let start = self.i;
        // Fast path: no escape before the closing quote, and nothing fastjson would escape.
        let rest = &self.s[start..];
        if let Some(end) = rest.iter().position(|&b| b == q || b == b'\\')
            && rest[end] == q
        {
            let raw = &rest[..end];
            if !needs_escape(raw)
                && let Ok(v) = std::str::from_utf8(raw)
            {
                self.i = start + end + 1;
                return Ok(JStr {
                    value: v.to_string(),
                    quote: if q == b'"' {
                        Quote::Double
                    } else {
                        Quote::Single
                    },
                    raw: None,
                });
            }
        }
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            if b == q {
                break;
            }
            if b == b'\\' {
                self.i += 1;
                let Some(e) = self.peek() else {
                    return Err(self.err("unterminated escape"));
                };
                self.i += 1;
                match e {
                    b'"' | b'\'' | b'\\' | b'/' => out.push(e),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'x' => {
                        let v = self.hex(2)?;
                        push_char(&mut out, v);
                    }
                    b'u' => {
                        let hi = self.hex(4)?;
                        if (0xD800..0xDC00).contains(&hi)
                            && self.s.get(self.i) == Some(&b'\\')
                            && self.s.get(self.i + 1) == Some(&b'u')
                        {
                            let save = self.i;
                            self.i += 2;
                            let lo = self.hex(4)?;
                            if (0xDC00..0xE000).contains(&lo) {
                                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                push_char(&mut out, c);
                            } else {
                                push_char(&mut out, hi);
                                self.i = save;
                            }
                        } else {
                            push_char(&mut out, hi);
                        }
                    }
                    _ => return Err(self.err("bad escape in string")),
                }
            } else {
                out.push(b);
                self.i += 1;
            }
        }
        let raw = &self.s[start..self.i];
        self.i += 1; // closing quote
        let (value, valid) = match String::from_utf8(out) {
            Ok(s) => (s, true),
            Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), false),
        };
        let quote = if q == b'"' {
            Quote::Double
        } else {
            Quote::Single
        };
        let needs_raw = !valid || escape_fastjson(&value).as_bytes() != raw;
        Ok(JStr {
            raw: needs_raw.then(|| raw.to_vec()),
            value,
            quote,
        })
    }

    fn hex(&mut self, n: usize) -> Result<u32, JsonError> {
        let Some(h) = self.s.get(self.i..self.i + n) else {
            return Err(self.err("short hex escape"));
        };
        let mut v = 0u32;
        for &c in h {
            let d = (c as char)
                .to_digit(16)
                .ok_or_else(|| self.err("bad hex escape"))?;
            v = v * 16 + d;
        }
        self.i += n;
        Ok(v)
    }

    fn key(&mut self, depth: usize) -> Result<JValue, JsonError> {
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => Ok(JValue::Str(self.string(q)?)),
            Some(b'{' | b'[') => self.value(depth + 1),
            Some(b'-' | b'0'..=b'9') => Ok(JValue::Num(self.number()?)),
            Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'$') => {
                let w = self.word().to_string();
                Ok(JValue::Str(JStr {
                    value: w,
                    quote: Quote::Bare,
                    raw: None,
                }))
            }
            _ => Err(self.err("expected an object key")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<JValue, JsonError> {
        self.i += 1;
        let mut members = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                Some(b'}') => {
                    self.i += 1;
                    // A trailing comma before the close is not kept either.
                    self.irregular |= self.s.get(self.i.wrapping_sub(2)) == Some(&b',');
                    return Ok(JValue::Obj(members));
                }
                Some(b',') => {
                    // fastjson AllowArbitraryCommas
                    self.i += 1;
                    self.irregular = true;
                    continue;
                }
                None => return Err(self.err("unterminated object")),
                _ => {}
            }
            let k = self.key(depth)?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expected ':' after object key"));
            }
            self.i += 1;
            self.ws();
            let v = self.value(depth + 1)?;
            members.push((k, v));
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {}
                _ => return Err(self.err("expected ',' or '}' in object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<JValue, JsonError> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                Some(b']') => {
                    self.i += 1;
                    // A trailing comma before the close is not kept either.
                    self.irregular |= self.s.get(self.i.wrapping_sub(2)) == Some(&b',');
                    return Ok(JValue::Arr(items));
                }
                Some(b',') => {
                    self.i += 1;
                    self.irregular = true;
                    continue;
                }
                None => return Err(self.err("unterminated array")),
                _ => {}
            }
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {}
                _ => return Err(self.err("expected ',' or ']' in array")),
            }
        }
    }
}

/// True when fastjson would write `raw` (UTF-8 text without backslashes) differently:
/// a quote, a control character, U+007F–U+009F or U+2028/U+2029.
pub(crate) fn needs_escape(raw: &[u8]) -> bool {
    raw.iter().enumerate().any(|(i, &b)| match b {
        0..=0x1f | b'"' | 0x7f => true,
        // U+0080–U+009F are C2 80..C2 9F; U+2028/2029 are E2 80 A8/A9.
        0xC2 => matches!(raw.get(i + 1), Some(0x80..=0x9f)),
        0xE2 => raw.get(i + 1) == Some(&0x80) && matches!(raw.get(i + 2), Some(0xA8 | 0xA9)),
        _ => false,
    })
}

fn push_char(out: &mut Vec<u8>, c: u32) {
    let ch = char::from_u32(c).unwrap_or('\u{FFFD}');
    let mut buf = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
}

/// Escapes `s` as fastjson's default writer does (without the quotes): `"` and `\`
/// backslashed, `\b \t \n \f \r` short escapes, other U+0000–U+001F, U+007F–U+009F and
/// U+2028/U+2029 as `\uXXXX` (uppercase hex); `/` and other non-ASCII unchanged.
pub fn escape_fastjson(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    escape_fastjson_into(s, &mut out);
    out
}

/// [`escape_fastjson`] appending to `out`.
pub fn escape_fastjson_into(s: &str, out: &mut String) {
    escape_with(s, |t| out.push_str(t));
}

/// [`escape_fastjson`] appending to a byte buffer.
pub fn escape_fastjson_bytes(s: &str, out: &mut Vec<u8>) {
    escape_with(s, |t| out.extend_from_slice(t.as_bytes()));
}

/// Runs of text that fastjson writes unchanged are passed on whole, escapes between them.
fn escape_with(s: &str, mut push: impl FnMut(&str)) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // Bytes that may start something to escape (the C2 and E2 lead bytes only with the
    // right continuation, checked below): everything else is stepped over by one lookup.
    const MAYBE: [bool; 256] = {
        let mut t = [false; 256];
        let mut i = 0;
        while i < 0x20 {
            t[i] = true;
            i += 1;
        }
        t[b'"' as usize] = true;
        t[b'\\' as usize] = true;
        t[0x7f] = true;
        t[0xC2] = true;
        t[0xE2] = true;
        t
    };
    let b = s.as_bytes();
    let (mut run, mut i) = (0, 0);
    loop {
        while let Some(&c) = b.get(i)
            && !MAYBE[c as usize]
        {
            i += 1;
        }
        let Some(&c) = b.get(i) else { break };
        // The length of the character to escape here, if any.
        let n = match c {
            b'"' | b'\\' | 0..=0x1f | 0x7f => 1,
            // U+0080–U+009F are C2 80..C2 9F; U+2028/2029 are E2 80 A8/A9.
            0xC2 if matches!(b.get(i + 1), Some(0x80..=0x9f)) => 2,
            0xE2 if b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xA8 | 0xA9)) => 3,
            _ => {
                i += 1;
                continue;
            }
        };
        // `i` is at an ASCII byte or a lead byte (C2, E2): a character boundary.
        push(&s[run..i]);
        let mut u = [b'\\', b'u', b'0', b'0', b'0', b'0'];
        push(match c {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            8 => "\\b",
            9 => "\\t",
            10 => "\\n",
            12 => "\\f",
            13 => "\\r",
            _ => {
                let v = s[i..].chars().next().map_or(0, |ch| ch as usize);
                for (k, d) in u[2..].iter_mut().enumerate() {
                    *d = HEX[(v >> (12 - 4 * k)) & 15];
                }
                std::str::from_utf8(&u).unwrap_or_default()
            }
        });
        i += n;
        run = i;
    }
    push(&s[run..]);
}

/// Writes a string with its original quoting and escape text when it had any, else as
/// fastjson would.
pub fn write_jstr(s: &JStr, out: &mut Vec<u8>) {
    let q: &[u8] = match s.quote {
        Quote::Double => b"\"",
        Quote::Single => b"'",
        Quote::Bare => b"",
    };
    out.extend_from_slice(q);
    match &s.raw {
        Some(raw) => out.extend_from_slice(raw),
        None => escape_fastjson_bytes(&s.value, out),
    }
    out.extend_from_slice(q);
}

/// Writes a value compactly, with each string in its source form.
pub fn write_value(v: &JValue, out: &mut Vec<u8>) {
    match v {
        JValue::Null => out.extend_from_slice(b"null"),
        JValue::Bool(true) => out.extend_from_slice(b"true"),
        JValue::Bool(false) => out.extend_from_slice(b"false"),
        JValue::Num(n) => out.extend_from_slice(n.as_bytes()),
        JValue::Str(s) => write_jstr(s, out),
        JValue::Arr(items) => {
            out.push(b'[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(it, out);
            }
            out.push(b']');
        }
        JValue::Obj(members) => {
            out.push(b'{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(k, out);
                out.push(b':');
                write_value(v, out);
            }
            out.push(b'}');
        }
    }
}

impl JValue {
    /// The member `key` of an object (the last one, as fastjson into a map keeps).
    pub fn get(&self, key: &str) -> Option<&JValue> {
        match self {
            JValue::Obj(m) => m
                .iter()
                .rev()
                .find(|(k, _)| matches!(k, JValue::Str(s) if s.value == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Text of a scalar as Java would coerce it into a `String` field.
    pub fn as_text(&self) -> Option<String> {
        match self {
            JValue::Str(s) => Some(s.value.clone()),
            JValue::Num(n) => Some(n.clone()),
            JValue::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Converts to a serde_json value for output. Non-string keys become their compact JSON
    /// text (`0` → `"0"`). Numbers keep their digits (serde_json's `arbitrary_precision`:
    /// `99999999999999999999999` is not rounded through an f64); only the exponent marker
    /// takes serde_json's form (`1E5` → `1e+5`). What is no JSON number (`NaN`,
    /// `Infinity`, `+1`, `.5`, which fastjson reads) becomes a string.
    pub fn to_serde(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            JValue::Null => Value::Null,
            JValue::Bool(b) => Value::Bool(*b),
            JValue::Num(n) => n
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .unwrap_or_else(|_| Value::String(n.clone())),
            JValue::Str(s) => Value::String(s.value.clone()),
            JValue::Arr(a) => Value::Array(a.iter().map(|v| v.to_serde()).collect()),
            JValue::Obj(m) => {
                let mut map = serde_json::Map::new();
                for (k, v) in m {
                    let key = match k {
                        JValue::Str(s) => s.value.clone(),
                        other => {
                            let mut b = Vec::new();
                            write_value(other, &mut b);
                            String::from_utf8_lossy(&b).into_owned()
                        }
                    };
                    map.insert(key, v.to_serde());
                }
                Value::Object(map)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(s: &[u8]) {
        let v = parse(s).unwrap();
        let mut out = Vec::new();
        write_value(&v, &mut out);
        assert_eq!(out, s, "{}", String::from_utf8_lossy(s));
    }

    #[test]
    fn fastjson_forms_round_trip() {
        rt(br#"{"brokerAddrs":{0:"10.140.24.189:10911"},"brokerName":"N"}"#);
        rt(br#"{"i":"UNIQ_KEY\u00017F000001\u0002WAIT\u0001true\u0002"}"#);
        rt(b"{\"i\":\"TAGS\x01T0200\x02\"}");
        rt(br#"{{"brokerName":"b","queueId":0,"topic":"t"}:{"brokerOffset":1}}"#);
        rt(br#"{"a":-12,"b":1.5e3,"c":null,"d":[true,false],"e":"\u4E2D"}"#);
        rt(br#"{'a':'b',c:1}"#);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            escape_fastjson("a\u{1}\u{7f}/\"\\\n"),
            "a\\u0001\\u007F/\\\"\\\\\\n"
        );
        let v = parse(br#""\u0041\ud83d\ude00""#).unwrap();
        assert_eq!(
            v,
            JValue::Str(JStr {
                value: "A😀".into(),
                quote: Quote::Double,
                raw: Some(br"\u0041\ud83d\ude00".to_vec())
            })
        );
    }

    /// The writer's escaping before it copied runs whole: one character at a time.
    fn escape_reference(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{8}' => out.push_str("\\b"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\u{c}' => out.push_str("\\f"),
                '\r' => out.push_str("\\r"),
                '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' => {
                    out.push_str(&format!("\\u{:04X}", c as u32))
                }
                _ => out.push(c),
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn escaping_writes_what_fastjson_writes(
            s in "(\\PC|[\\x00-\\x1f\"\\\\\u{7f}-\u{a0}\u{2027}-\u{202a}é中😀])*"
        ) {
            proptest::prop_assert_eq!(escape_fastjson(&s), escape_reference(&s));
            let mut b = b"x".to_vec();
            escape_fastjson_bytes(&s, &mut b);
            let want = escape_reference(&s);
            proptest::prop_assert_eq!(&b[1..], want.as_bytes());
        }
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        for s in [
            &b"{"[..],
            b"[1,",
            b"\"abc",
            b"{\"a\" 1}",
            b"\\",
            b"-",
            b"{\"a\":\"\\u12\"}",
        ] {
            assert!(parse(s).is_err(), "{:?}", s);
        }
        let deep = vec![b'['; 10_000];
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn bare_keys_to_serde() {
        let v = parse(br#"{"brokerAddrs":{0:"a",1:"b"}}"#).unwrap();
        assert_eq!(v.to_serde()["brokerAddrs"]["1"], "b");
    }
}
