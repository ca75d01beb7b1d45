//! The one-pass decoder's lexing: strings (borrowed, or unescaped where needed), keys,
//! scalars and member separators, as fastjson reads them.

use super::*;

pub(super) enum Scan {
    Done(RemotingCommand),
    /// Read it again building the layout.
    NeedLayout,
    /// Not for the one-pass decoder: the reference reader decides.
    Fallback,
}

/// String text: borrowed from the header, or unescaped.
pub(super) enum Text<'a> {
    Borrowed(&'a str),
    Owned(CompactString),
}

/// A string as read: its text, quoting, source bytes between the quotes, and whether
/// fastjson writes exactly those bytes for the text.
pub(super) struct RawStr<'a> {
    pub(super) text: Text<'a>,
    pub(super) quote: Quote,
    pub(super) src: &'a [u8],
    pub(super) exact: bool,
}

impl RawStr<'_> {
    pub(super) fn as_str(&self) -> &str {
        match &self.text {
            Text::Borrowed(t) => t,
            Text::Owned(t) => t,
        }
    }
    /// Double-quoted, as fastjson writes it.
    pub(super) fn plain(&self) -> bool {
        self.quote == Quote::Double && self.exact
    }
    pub(super) fn to_jstr(&self) -> JStr {
        JStr {
            value: self.as_str().to_string(),
            quote: self.quote,
            raw: (!self.exact).then(|| self.src.to_vec()),
        }
    }
    pub(super) fn into_ext(self) -> ExtString {
        match self.text {
            Text::Borrowed(t) => t.into(),
            Text::Owned(t) => t,
        }
    }
}

/// A scalar value as read.
pub(super) enum Val<'a> {
    Null,
    Bool(bool),
    Num(&'a str),
    Str(RawStr<'a>),
}

impl Val<'_> {
    /// Text of a scalar as Java coerces it into a `String` field ([`JValue::as_text`]).
    pub(super) fn text(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s.as_str()),
            Val::Num(n) => Some(n),
            Val::Bool(true) => Some("true"),
            Val::Bool(false) => Some("false"),
            Val::Null => None,
        }
    }
    pub(super) fn to_jvalue(&self) -> JValue {
        match self {
            Val::Null => JValue::Null,
            Val::Bool(b) => JValue::Bool(*b),
            Val::Num(n) => JValue::Num(n.to_string()),
            Val::Str(s) => JValue::Str(s.to_jstr()),
        }
    }
    /// A string exactly as fastjson writes it.
    pub(super) fn plain_str(&self) -> bool {
        matches!(self, Val::Str(s) if s.plain())
    }
}

/// Bytes the string scanner stops at: quotes, backslash, control characters, DEL, and the
/// lead bytes of U+0080–U+009F (C2) and U+2028/U+2029 (E2), which fastjson escapes.
pub(super) const STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    t[b'\\' as usize] = true;
    t[0x7f] = true;
    t[0xC2] = true;
    t[0xE2] = true;
    t
};

pub(super) fn hex_digits(h: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in h {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

/// Whether fastjson writes the character `v` as this `\uXXXX` (uppercase hex, and only for
/// what has no short escape: control characters, U+007F–U+009F, U+2028/U+2029).
pub(super) fn fastjson_u_escape(digits: &[u8], v: u32) -> bool {
    digits.iter().all(|c| !c.is_ascii_lowercase())
        && matches!(v, 0..=0x1f | 0x7f..=0x9f | 0x2028 | 0x2029)
        && !matches!(v, 8 | 9 | 10 | 12 | 13)
}

/// What string reading needs beyond the bytes.
#[derive(Clone, Copy)]
pub(super) struct Cx<'a> {
    /// The whole header, when it is valid UTF-8 (then a string without escapes is borrowed
    /// from it with no check of its own).
    pub(super) whole: Option<&'a str>,
    /// Whether fastjson's escaping of the text must be compared with the source (for the
    /// layout); when not, [`RawStr::exact`] means nothing.
    pub(super) exact: bool,
}

/// The escape at `s[j]` (a backslash), checked as [`Parser::string`] checks it: its length
/// and whether fastjson writes its character so.
pub(super) fn escape(s: &[u8], j: usize) -> Option<(usize, bool)> {
    Some(match *s.get(j + 1)? {
        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => (2, true),
        b'\'' | b'/' => (2, false),
        b'x' => {
            hex_digits(s.get(j + 2..j + 4)?)?;
            (4, false)
        }
        b'u' => {
            let d = s.get(j + 2..j + 6)?;
            let v = hex_digits(d)?;
            (6, fastjson_u_escape(d, v))
        }
        _ => return None,
    })
}

/// Reads the string whose opening quote `q` is at `p.i`, as [`Parser::string`] does (same
/// escapes, same errors), borrowing when there is no escape; `decode: false` only checks
/// and steps over it. `None` on a malformed string.
pub(super) fn string<'a>(
    p: &mut Parser<'a>,
    q: u8,
    decode: bool,
    cx: Cx<'a>,
) -> Option<RawStr<'a>> {
    let s = p.s;
    let open = p.i;
    let start = open + 1;
    let mut j = start;
    let mut exact = true;
    let mut escapes = false;
    if !cx.exact {
        // Only the closing quote and the escapes matter.
        loop {
            j += memchr::memchr2(q, b'\\', s.get(j..)?)?;
            if s[j] == q {
                break;
            }
            escapes = true;
            j += escape(s, j)?.0;
        }
    } else {
        loop {
            while let Some(&b) = s.get(j)
                && !STOP[b as usize]
            {
                j += 1;
            }
            let b = *s.get(j)?;
            if b == q {
                break;
            }
            match b {
                b'\\' => {
                    escapes = true;
                    let (n, e) = escape(s, j)?;
                    exact &= e;
                    j += n;
                }
                // The other quote character: fastjson escapes `"` only.
                b'"' | b'\'' => {
                    exact &= b != b'"';
                    j += 1;
                }
                0xC2 => {
                    exact &= !matches!(s.get(j + 1), Some(0x80..=0x9f));
                    j += 1;
                }
                0xE2 => {
                    exact &=
                        !(s.get(j + 1) == Some(&0x80) && matches!(s.get(j + 2), Some(0xA8 | 0xA9)));
                    j += 1;
                }
                // Control characters and DEL, raw.
                _ => {
                    exact = false;
                    j += 1;
                }
            }
        }
    }
    let src = &s[start..j];
    p.i = j + 1;
    let quote = if q == b'"' {
        Quote::Double
    } else {
        Quote::Single
    };
    let text = if !decode {
        Text::Borrowed("")
    } else if !escapes {
        // Both ends are next to an ASCII quote: character boundaries of a valid header.
        let borrowed = match cx.whole.and_then(|t| t.get(start..j)) {
            Some(t) => Ok(t),
            None => std::str::from_utf8(src),
        };
        match borrowed {
            Ok(t) => Text::Borrowed(t),
            Err(_) => {
                exact = false;
                Text::Owned(String::from_utf8_lossy(src).as_ref().into())
            }
        }
    } else {
        match unescape(src) {
            Some(t) => Text::Owned(t),
            None => {
                // Not valid UTF-8 between the escapes: the reference reader's lossy text.
                exact = false;
                let mut r = Parser {
                    s,
                    i: open,
                    irregular: false,
                };
                Text::Owned(r.string(q).ok()?.value.into())
            }
        }
    };
    Some(RawStr {
        text,
        quote,
        src,
        exact,
    })
}

/// The text of string source `src` (escapes already checked by [`string`]), as
/// [`Parser::string`] decodes it; `None` if the text between escapes is not UTF-8.
pub(super) fn unescape(src: &[u8]) -> Option<CompactString> {
    // Every escape is at least as long as what it stands for.
    let mut out = CompactString::with_capacity(src.len());
    let mut i = 0;
    while let Some(n) = memchr::memchr(b'\\', &src[i..]) {
        out.push_str(std::str::from_utf8(&src[i..i + n]).ok()?);
        i += n + 1;
        let e = src[i];
        i += 1;
        let c = match e {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'x' => {
                let v = hex_digits(&src[i..i + 2])?;
                i += 2;
                char::from_u32(v).unwrap_or('\u{FFFD}')
            }
            b'u' => {
                let hi = hex_digits(&src[i..i + 4])?;
                i += 4;
                let mut c = hi;
                if (0xD800..0xDC00).contains(&hi)
                    && src.get(i) == Some(&b'\\')
                    && src.get(i + 1) == Some(&b'u')
                {
                    let lo = hex_digits(src.get(i + 2..i + 6)?)?;
                    if (0xDC00..0xE000).contains(&lo) {
                        c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        i += 6;
                    }
                }
                char::from_u32(c).unwrap_or('\u{FFFD}')
            }
            other => other as char, // `"`, `'`, `\`, `/`
        };
        out.push(c);
    }
    out.push_str(std::str::from_utf8(&src[i..]).ok()?);
    Some(out)
}

/// A key: a quoted string or a bare name (fastjson `AllowUnQuotedFieldNames`).
pub(super) fn key<'a>(p: &mut Parser<'a>, cx: Cx<'a>) -> Option<RawStr<'a>> {
    match p.peek()? {
        q @ (b'"' | b'\'') => string(p, q, true, cx),
        b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'$' => {
            let w = p.word();
            Some(RawStr {
                text: Text::Borrowed(w),
                quote: Quote::Bare,
                src: w.as_bytes(),
                exact: true,
            })
        }
        // Numbers, objects: the reference reader keeps them.
        _ => None,
    }
}

/// A scalar value; `None` for arrays, objects and anything malformed.
pub(super) fn scalar<'a>(p: &mut Parser<'a>, decode: bool, cx: Cx<'a>) -> Option<Val<'a>> {
    Some(match p.peek()? {
        q @ (b'"' | b'\'') => Val::Str(string(p, q, decode, cx)?),
        b'-' | b'+' | b'0'..=b'9' | b'.' => Val::Num(p.number_str().ok()?),
        b'{' | b'[' => return None,
        _ => match p.word() {
            "null" => Val::Null,
            "true" => Val::Bool(true),
            "false" => Val::Bool(false),
            w @ ("NaN" | "Infinity") => Val::Num(w),
            _ => return None,
        },
    })
}

/// `t` exactly as Java's `Integer.toString` writes its value.
pub(super) fn canonical_int(t: &str) -> bool {
    let d = t.strip_prefix('-').unwrap_or(t).as_bytes();
    !d.is_empty()
        && d.iter().all(u8::is_ascii_digit)
        && (d[0] != b'0' || (d.len() == 1 && d.len() == t.len()))
        && t.parse::<i32>().is_ok()
}

/// After a member or entry: `,` or the closing brace (not consumed).
pub(super) fn after_member(p: &mut Parser<'_>) -> Option<()> {
    p.ws();
    match p.peek()? {
        b',' => p.i += 1,
        b'}' => {}
        _ => return None,
    }
    Some(())
}

/// Before a member or entry: skips extra commas; `true` at the closing brace (consumed).
pub(super) fn at_close(p: &mut Parser<'_>) -> Option<bool> {
    loop {
        p.ws();
        match p.peek()? {
            b'}' => {
                p.i += 1;
                // A trailing comma before the close is not kept either.
                p.irregular |= p.s.get(p.i.wrapping_sub(2)) == Some(&b',');
                return Some(true);
            }
            b',' => {
                // fastjson AllowArbitraryCommas
                p.i += 1;
                p.irregular = true;
            }
            _ => return Some(false),
        }
    }
}
