//! The fast path for JSON headers in exactly fastjson's form (every Java client and
//! broker): the keys of `encode_json_header_canonical` in that order, integers in plain
//! decimal, strings with exactly fastjson's escapes, read straight from the bytes. It gives
//! up (`None`) at the first deviation, and the one-pass decoder (`json_header`) reads the
//! header; everything it accepts re-encodes byte-exact with no layout. Kept because it
//! measurably beats the general decoder on such headers (`cargo bench --bench decode`:
//! synthetic Java traffic, 0.177 s with it against 0.289 s without).
//!

use super::codes::LanguageCode;
use super::command::{ExtString, RemotingCommand};

struct S<'a> {
    b: &'a [u8],
    /// The same bytes, validated as UTF-8 once.
    t: &'a str,
    i: usize,
}

/// The first `"` or `\\` at or after `pos`: a plain loop over the first bytes (most
/// header strings are short, where a vector search costs more to set up than it saves),
/// then memchr.
#[inline]
fn quote_or_backslash(b: &[u8], pos: usize) -> Option<usize> {
    let rest = b.get(pos..)?;
    for (i, &c) in rest.iter().take(16).enumerate() {
        if c == b'"' || c == b'\\' {
            return Some(i);
        }
    }
    if rest.len() <= 16 {
        return None;
    }
    memchr::memchr2(b'"', b'\\', &rest[16..]).map(|n| n + 16)
}

impl<'a> S<'a> {
    // Inlined, so each literal's length is known where it is compared.
    #[inline(always)]
    fn lit(&mut self, l: &[u8]) -> Option<()> {
        // One byte (the `:` and `,` between fields): no call to compare.
        if let [c] = l {
            return (self.peek()? == *c).then(|| self.i += 1);
        }
        if self.b.get(self.i..self.i + l.len())? == l {
            self.i += l.len();
            Some(())
        } else {
            None
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    /// A plain decimal i32 as Java's `Integer.toString` writes it.
    fn int(&mut self) -> Option<i32> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let ds = self.i;
        // Digits read as they are stepped over; at most 10 (no overflow in i64), then
        // the range of an i32.
        let mut m = 0i64;
        while let Some(&c @ b'0'..=b'9') = self.b.get(self.i) {
            if self.i - ds == 10 {
                return None;
            }
            m = m * 10 + (c - b'0') as i64;
            self.i += 1;
        }
        let n = self.i - ds;
        if n == 0 || (n > 1 && self.b[ds] == b'0') {
            return None;
        }
        let v = i32::try_from(if start != ds { -m } else { m }).ok()?;
        if v == 0 && start != ds {
            return None; // "-0"
        }
        Some(v)
    }
    /// Steps over a string value without decoding it.
    fn skip_string(&mut self) -> Option<()> {
        if self.peek()? != b'"' {
            return None;
        }
        let b = self.b;
        let mut pos = self.i + 1;
        loop {
            let n = quote_or_backslash(b, pos)?;
            if b[pos + n] == b'"' {
                self.i = pos + n + 1;
                return Some(());
            }
            pos += n + 2;
            if pos > b.len() {
                return None;
            }
        }
    }

    /// A string in fastjson's escaping; returns its value.
    fn string(&mut self) -> Option<ExtString> {
        Some(match self.string_cow()? {
            std::borrow::Cow::Borrowed(t) => t.into(),
            std::borrow::Cow::Owned(o) => o.into(),
        })
    }

    /// [`Self::string`], borrowing the value when it has no escapes (extFields keys
    /// that are skipped then cost no string of their own).
    fn string_cow(&mut self) -> Option<std::borrow::Cow<'a, str>> {
        if self.peek()? != b'"' {
            return None;
        }
        // One plain ASCII character (SEND_MESSAGE_V2's keys "a" … "n"): no search.
        if let Some(&[c, b'"']) = self.b.get(self.i + 1..self.i + 3)
            && (0x20..0x7f).contains(&c)
            && c != b'\\'
            && c != b'"'
        {
            let t: &'a str = self.t;
            let v = t.get(self.i + 1..self.i + 2)?;
            self.i += 3;
            return Some(std::borrow::Cow::Borrowed(v));
        }
        let b = self.b;
        let t: &'a str = self.t;
        let start = self.i + 1;
        let first = start + quote_or_backslash(b, start)?;
        if b[first] == b'"' {
            // No escapes: the text as it stands. Quote and backslash are ASCII, so
            // these are character boundaries.
            let raw = plain_text(t.get(start..first)?)?;
            self.i = first + 1;
            return Some(std::borrow::Cow::Borrowed(raw));
        }
        // Escapes (a send's properties carry several): decoded in one pass to the
        // closing quote, checking as it goes what `plain_text` checks.
        // Room for the rest of the header (bounded), so it is allocated once.
        let mut o = String::with_capacity((b.len() - start).min(256));
        o.push_str(plain_text(t.get(start..first)?)?);
        let mut i = first;
        loop {
            match *b.get(i)? {
                b'"' => break,
                b'\\' => {
                    match *b.get(i + 1)? {
                        b'u' => {
                            o.push(unicode_escape(b.get(i + 2..i + 6)?)?);
                            i += 4;
                        }
                        e => o.push(short_escape(e)?),
                    }
                    i += 2;
                }
                0..=0x1f | 0x7f => return None,
                c if c < 0x80 => {
                    o.push(c as char);
                    i += 1;
                }
                _ => {
                    // A whole character: `i` only ever moves by whole characters.
                    let ch = t.get(i..)?.chars().next()?;
                    if matches!(ch, '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}') {
                        return None;
                    }
                    o.push(ch);
                    i += ch.len_utf8();
                }
            }
        }
        self.i = i + 1;
        Some(std::borrow::Cow::Owned(o))
    }
}

/// The character of a two-character escape (`\\n` …) as fastjson writes them.
fn short_escape(e: u8) -> Option<char> {
    Some(match e {
        b'"' => '"',
        b'\\' => '\\',
        b'b' => '\u{8}',
        b't' => '\t',
        b'n' => '\n',
        b'f' => '\u{c}',
        b'r' => '\r',
        _ => return None,
    })
}

/// The character of a `\\uXXXX` escape (its four digits), if fastjson writes it so:
/// uppercase hex, and only for what it escapes that way (control characters other than
/// those with a short escape, U+007F–U+009F, U+2028/U+2029).
fn unicode_escape(h: &[u8]) -> Option<char> {
    let mut v = 0u32;
    for &c in h {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None, // fastjson writes uppercase hex
        };
        v = v * 16 + d as u32;
    }
    let escaped =
        matches!(v, 0..=0x1f | 0x7f..=0x9f | 0x2028 | 0x2029) && !matches!(v, 8 | 9 | 10 | 12 | 13);
    if !escaped {
        return None;
    }
    char::from_u32(v)
}

/// The decoder before it was made one pass, kept to check the new one against.
#[cfg(test)]
pub(super) fn string_reference(b: &[u8]) -> Option<(String, usize)> {
    let t = std::str::from_utf8(b).ok()?;
    if b.first()? != &b'"' {
        return None;
    }
    let start = 1;
    let mut pos = start;
    let mut escapes = false;
    let end = loop {
        let n = memchr::memchr2(b'"', b'\\', &b[pos..])?;
        if b[pos + n] == b'"' {
            break pos + n;
        }
        escapes = true;
        pos += n + 2;
        if pos > b.len() {
            return None;
        }
    };
    let raw = plain_text(t.get(start..end)?)?;
    if !escapes {
        return Some((raw.to_string(), end + 1));
    }
    let mut o = String::new();
    let rb = raw.as_bytes();
    let mut i = 0;
    while let Some(n) = memchr::memchr(b'\\', &rb[i..]) {
        o.push_str(raw.get(i..i + n)?);
        i += n;
        let e = *rb.get(i + 1)?;
        i += 2;
        match e {
            b'u' => {
                o.push(unicode_escape(rb.get(i..i + 4)?)?);
                i += 4;
            }
            e => o.push(short_escape(e)?),
        }
    }
    o.push_str(raw.get(i..)?);
    Some((o, end + 1))
}

/// [`S::string`] on `b` from its start: the value and where it ended.
#[cfg(test)]
pub(super) fn string_at(b: &[u8]) -> Option<(String, usize)> {
    let t = std::str::from_utf8(b).ok()?;
    let mut s = S { b, t, i: 0 };
    let v = s.string()?;
    Some((v.as_str().to_string(), s.i))
}

/// Text between escapes: valid UTF-8 with nothing fastjson would have escaped (control
/// characters, U+007F–U+009F, U+2028/U+2029).
fn plain_text(t: &str) -> Option<&str> {
    // One pass with no early exit, so the compiler can vectorise it: control characters,
    // and whether there is anything beyond ASCII to look at more closely.
    let (control, high) = t.bytes().fold((false, false), |(a, h), c| {
        (a | (c < 0x20) | (c == 0x7f), h | (c >= 0x80))
    });
    if control {
        return None;
    }
    if high
        && t.chars()
            .any(|c| matches!(c, '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}'))
    {
        return None;
    }
    Some(t)
}

/// Reads a header in exactly fastjson's form, keeping only the extFields keys in `keep`
/// (others are skipped without being decoded), and at most `max` entries (the rest skipped
/// too, and counted in `ext_fields_dropped`).
/// `t` is the header, already validated as UTF-8.
pub(super) fn scan_keeping(
    t: &str,
    keep: Option<super::json_header::KeyFilter>,
    max: usize,
) -> Option<RemotingCommand> {
    let h = t.as_bytes();
    let mut s = S { b: h, t, i: 0 };
    let mut cmd = RemotingCommand::default();
    s.lit(b"{\"code\":")?;
    cmd.code = s.int()?;
    if s.lit(b",\"extFields\":{").is_some() {
        // Send requests carry 12–14 entries: avoid regrowing; keeping a few (or, for
        // most answers, none), allocate as they come.
        let mut ext = Vec::with_capacity(if keep.is_some() { 0 } else { 16 });
        if s.peek()? != b'}' {
            loop {
                let k = s.string_cow()?;
                s.lit(b":")?;
                if ext.len() >= max {
                    s.skip_string()?;
                    cmd.ext_fields_dropped += 1;
                } else if keep.is_none_or(|f| f(Some(cmd.code), &k)) {
                    let v = s.string()?;
                    let k: ExtString = match k {
                        std::borrow::Cow::Borrowed(t) => t.into(),
                        std::borrow::Cow::Owned(o) => o.into(),
                    };
                    if ext.capacity() == 0 {
                        // A send keeps five: one allocation, not three.
                        ext.reserve(8);
                    }
                    ext.push((k, v));
                } else {
                    s.skip_string()?;
                }
                if s.lit(b",").is_none() {
                    break;
                }
            }
        }
        s.lit(b"}")?;
        cmd.ext_fields = Some(ext);
    }
    s.lit(b",\"flag\":")?;
    cmd.flag = s.int()?;
    s.lit(b",\"language\":")?;
    let lang = s.string()?;
    cmd.language = LanguageCode::from_name(&lang)?;
    s.lit(b",\"opaque\":")?;
    cmd.opaque = s.int()?;
    if s.lit(b",\"remark\":").is_some() {
        cmd.remark = Some(s.string()?.into());
    }
    s.lit(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":")?;
    cmd.version = s.int()?;
    s.lit(b"}")?;
    (s.i == h.len()).then_some(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// The one-pass string decoder accepts and decodes exactly what the one it replaced
        /// did: quotes, backslashes, every short and \\u escape (valid or not, upper- and
        /// lowercase hex), control characters, U+0080–U+009F, U+2028 and other non-ASCII.
        #[test]
        fn one_pass_strings_decode_as_before(
            parts in proptest::collection::vec(prop_oneof![
                Just("a".to_string()), Just("TAGS".to_string()), Just("\"".to_string()),
                Just("\\".to_string()), Just("\\\"".to_string()), Just("\\\\".to_string()),
                Just("\\u0001".to_string()), Just("\\u0002".to_string()), Just("\\u001F".to_string()),
                Just("\\u001f".to_string()), Just("\\u0041".to_string()), Just("\\u2028".to_string()),
                Just("\\u007F".to_string()), Just("\\u00".to_string()), Just("\\n".to_string()),
                Just("\\t".to_string()), Just("\\/".to_string()), Just("\\b".to_string()),
                Just("\u{1}".to_string()), Just("\u{7f}".to_string()), Just("é".to_string()),
                Just("\u{85}".to_string()), Just("\u{2028}".to_string()), Just("中".to_string()),
                Just("\\é".to_string()), Just("u".to_string()), Just("0".to_string()),
                Just("F".to_string()),
            ], 0..24),
            tail in prop_oneof![Just(""), Just(",\"x\":1}"), Just("\\"), Just("\\u")],
        ) {
            let text = format!("\"{}{}", parts.concat(), tail);
            let b = text.as_bytes();
            prop_assert_eq!(string_at(b), string_reference(b), "{:?}", text);
        }
    }

    #[test]
    fn properties_string_decodes() {
        let b = r#""KEYS\u0001k1\u0002TAGS\u0001T\"é","x":1}"#.as_bytes();
        let want = Some(("KEYS\u{1}k1\u{2}TAGS\u{1}T\"é".to_string(), 35));
        assert_eq!(string_reference(b), want);
        assert_eq!(string_at(b), want);
    }
}
