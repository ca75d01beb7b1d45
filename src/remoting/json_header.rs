//! The JSON header: one decoder for what every client writes, and fastjson's writer.
//!
//! Java reads the header with `RemotingSerializable.decode` (fastjson `JSON.parseObject`
//! into `RemotingCommand`) and writes it with `RemotingSerializable.encode`
//! (`JSON.toJSONString`): keys sorted, nulls omitted (`RemotingCommand.java`,
//! `RemotingSerializable.java` of apache/rocketmq). Other clients write the same members in
//! their own order and forms (protocol.md "Tolerance"): C++ (jsoncpp) numbers and booleans
//! as extFields values and a trailing newline, rocketmq-rust `null` members in serde order,
//! .NET raw control characters and no `flag`, Node and others their own key order.
//!
//! [`decode_json_header_with`] reads any of them in one pass over the header bytes: keys
//! and values borrowed from the packet (a value is copied only into its `ExtString`, which
//! holds up to 24 bytes inline, or where unescaping needs it), no tree, no allocation but
//! the extFields vector itself (and a remark or language name when present). The byte-exact
//! re-encoding layout ([`JsonLayout`]) is built only when asked ([`LayoutNeed`]): a header
//! in exactly fastjson's form needs none (it re-encodes from the fields alone); any other
//! is read a second time keeping its layout. What the one-pass decoder does not handle
//! (a duplicate known key, an array or object where a field or extFields value is expected,
//! a non-string extFields key, anything malformed) goes to the reference reader,
//! [`decode_json_header_tolerant`], which also gives the error for a bad header.

use compact_str::CompactString;

use super::codes::{LanguageCode, SerializeType};
use super::command::{
    ExtForm, ExtLayout, ExtString, FrameError, HeaderLayout, JsonLayout, JsonMember,
    RemotingCommand, ferr,
};
use super::json::{self, JStr, JValue, Parser, Quote};

/// How much of a JSON header's written form a decode keeps, beyond the field values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LayoutNeed {
    /// None: the command re-encodes in fastjson's form, which may differ from the wire
    /// (statistics).
    None,
    /// The layout only of headers whose extFields hold numbers, booleans or null (output
    /// shows those values as their JSON kind, from the layout).
    ExtForms,
    /// Everything a byte-exact re-encoding needs (verify, check, the producer, the proxy).
    #[default]
    Full,
}

/// What [`decode_json_header_with`] keeps.
#[derive(Clone, Copy, Debug)]
pub struct JsonHeaderOptions {
    /// extFields entries kept (the first ones on the wire); the rest are checked, skipped
    /// and counted in `ext_fields_dropped`.
    pub max_ext: usize,
    /// Keep only the extFields keys this accepts (the others are checked and skipped).
    pub keep: Option<fn(&str) -> bool>,
    pub layout: LayoutNeed,
}

impl Default for JsonHeaderOptions {
    fn default() -> Self {
        Self {
            max_ext: usize::MAX,
            keep: None,
            layout: LayoutNeed::Full,
        }
    }
}

/// Decodes a JSON header, tolerating what real clients write (protocol.md "Tolerance"),
/// with its full layout: it re-encodes to the same bytes.
pub fn decode_json_header(h: &[u8]) -> Result<RemotingCommand, FrameError> {
    decode_json_header_with(h, &JsonHeaderOptions::default())
}

/// [`decode_json_header`] keeping at most `max_ext` extFields entries (the rest counted in
/// `ext_fields_dropped`, checked but never decoded).
pub fn decode_json_header_keeping(h: &[u8], max_ext: usize) -> Result<RemotingCommand, FrameError> {
    decode_json_header_with(
        h,
        &JsonHeaderOptions {
            max_ext,
            ..Default::default()
        },
    )
}

/// Decodes a JSON header in one pass (see the module documentation), keeping what `o` says.
pub fn decode_json_header_with(
    h: &[u8],
    o: &JsonHeaderOptions,
) -> Result<RemotingCommand, FrameError> {
    // Exactly fastjson's form (Java): the faster scanner, no layout needed.
    if let Some(cmd) = super::canonical::scan_keeping(h, o.keep, o.max_ext) {
        return Ok(cmd);
    }
    match scan(h, o, false) {
        Scan::Done(cmd) => return Ok(cmd),
        Scan::NeedLayout => {
            if let Scan::Done(cmd) = scan(h, o, true) {
                return Ok(cmd);
            }
        }
        Scan::Fallback => {}
    }
    let mut cmd = decode_json_header_tolerant(h)?;
    limit_ext_fields(&mut cmd, o.max_ext);
    if let (Some(keep), Some(ext)) = (o.keep, &mut cmd.ext_fields) {
        ext.retain(|(k, _)| keep(k));
    }
    Ok(cmd)
}

/// Keeps the first `max` extFields entries (wire order) and counts the rest in
/// `ext_fields_dropped`, for the reference reader, which reads the header whole first
/// (its bytes are in memory, bounded by the frame length).
fn limit_ext_fields(cmd: &mut RemotingCommand, max: usize) {
    if let Some(ext) = &mut cmd.ext_fields
        && ext.len() > max
    {
        cmd.ext_fields_dropped = ext.len() - max;
        ext.truncate(max);
        ext.shrink_to_fit();
    }
}

/// The members of `RemotingCommand` that fastjson writes, in its (sorted) order.
const KNOWN: [&str; 8] = [
    "code",
    "extFields",
    "flag",
    "language",
    "opaque",
    "remark",
    "serializeTypeCurrentRPC",
    "version",
];
const CODE: usize = 0;
const EXT: usize = 1;
const FLAG: usize = 2;
const LANGUAGE: usize = 3;
const OPAQUE: usize = 4;
const REMARK: usize = 5;
const VERSION: usize = 7;
/// The members fastjson always writes (`extFields` and `remark` only when not null).
const REQUIRED: u8 = !((1 << EXT) | (1 << REMARK));

enum Scan {
    Done(RemotingCommand),
    /// Read it again building the layout.
    NeedLayout,
    /// Not for the one-pass decoder: the reference reader decides.
    Fallback,
}

/// String text: borrowed from the header, or unescaped.
enum Text<'a> {
    Borrowed(&'a str),
    Owned(CompactString),
}

/// A string as read: its text, quoting, source bytes between the quotes, and whether
/// fastjson writes exactly those bytes for the text.
struct RawStr<'a> {
    text: Text<'a>,
    quote: Quote,
    src: &'a [u8],
    exact: bool,
}

impl RawStr<'_> {
    fn as_str(&self) -> &str {
        match &self.text {
            Text::Borrowed(t) => t,
            Text::Owned(t) => t,
        }
    }
    /// Double-quoted, as fastjson writes it.
    fn plain(&self) -> bool {
        self.quote == Quote::Double && self.exact
    }
    fn to_jstr(&self) -> JStr {
        JStr {
            value: self.as_str().to_string(),
            quote: self.quote,
            raw: (!self.exact).then(|| self.src.to_vec()),
        }
    }
    fn into_ext(self) -> ExtString {
        match self.text {
            Text::Borrowed(t) => t.into(),
            Text::Owned(t) => t,
        }
    }
}

/// A scalar value as read.
enum Val<'a> {
    Null,
    Bool(bool),
    Num(&'a str),
    Str(RawStr<'a>),
}

impl Val<'_> {
    /// Text of a scalar as Java coerces it into a `String` field ([`JValue::as_text`]).
    fn text(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s.as_str()),
            Val::Num(n) => Some(n),
            Val::Bool(true) => Some("true"),
            Val::Bool(false) => Some("false"),
            Val::Null => None,
        }
    }
    fn to_jvalue(&self) -> JValue {
        match self {
            Val::Null => JValue::Null,
            Val::Bool(b) => JValue::Bool(*b),
            Val::Num(n) => JValue::Num(n.to_string()),
            Val::Str(s) => JValue::Str(s.to_jstr()),
        }
    }
    /// A string exactly as fastjson writes it.
    fn plain_str(&self) -> bool {
        matches!(self, Val::Str(s) if s.plain())
    }
}

/// Bytes the string scanner stops at: quotes, backslash, control characters, DEL, and the
/// lead bytes of U+0080–U+009F (C2) and U+2028/U+2029 (E2), which fastjson escapes.
const STOP: [bool; 256] = {
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

fn hex_digits(h: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in h {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

/// Whether fastjson writes the character `v` as this `\uXXXX` (uppercase hex, and only for
/// what has no short escape: control characters, U+007F–U+009F, U+2028/U+2029).
fn fastjson_u_escape(digits: &[u8], v: u32) -> bool {
    digits.iter().all(|c| !c.is_ascii_lowercase())
        && matches!(v, 0..=0x1f | 0x7f..=0x9f | 0x2028 | 0x2029)
        && !matches!(v, 8 | 9 | 10 | 12 | 13)
}

/// What string reading needs beyond the bytes.
#[derive(Clone, Copy)]
struct Cx<'a> {
    /// The whole header, when it is valid UTF-8 (then a string without escapes is borrowed
    /// from it with no check of its own).
    whole: Option<&'a str>,
    /// Whether fastjson's escaping of the text must be compared with the source (for the
    /// layout); when not, [`RawStr::exact`] means nothing.
    exact: bool,
}

/// The escape at `s[j]` (a backslash), checked as [`Parser::string`] checks it: its length
/// and whether fastjson writes its character so.
fn escape(s: &[u8], j: usize) -> Option<(usize, bool)> {
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
fn string<'a>(p: &mut Parser<'a>, q: u8, decode: bool, cx: Cx<'a>) -> Option<RawStr<'a>> {
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
fn unescape(src: &[u8]) -> Option<CompactString> {
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
fn key<'a>(p: &mut Parser<'a>, cx: Cx<'a>) -> Option<RawStr<'a>> {
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
fn scalar<'a>(p: &mut Parser<'a>, decode: bool, cx: Cx<'a>) -> Option<Val<'a>> {
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
fn canonical_int(t: &str) -> bool {
    let d = t.strip_prefix('-').unwrap_or(t).as_bytes();
    !d.is_empty()
        && d.iter().all(u8::is_ascii_digit)
        && (d[0] != b'0' || (d.len() == 1 && d.len() == t.len()))
        && t.parse::<i32>().is_ok()
}

/// After a member or entry: `,` or the closing brace (not consumed).
fn after_member(p: &mut Parser<'_>) -> Option<()> {
    p.ws();
    match p.peek()? {
        b',' => p.i += 1,
        b'}' => {}
        _ => return None,
    }
    Some(())
}

/// Before a member or entry: skips extra commas; `true` at the closing brace (consumed).
fn at_close(p: &mut Parser<'_>) -> Option<bool> {
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

/// One pass over the header; `build` records the layout from the start.
fn scan(h: &[u8], o: &JsonHeaderOptions, build: bool) -> Scan {
    match scan_inner(h, o, build) {
        Ok(Some(cmd)) => Scan::Done(cmd),
        Ok(None) => Scan::Fallback,
        Err(NeedLayout) => Scan::NeedLayout,
    }
}

struct NeedLayout;

/// Whether the layout is needed (and not being built yet) once the header is known to be
/// off fastjson's form (`canon` false) or to hold non-string extFields values (`forms`).
fn needed(o: &JsonHeaderOptions, canon: bool, forms: bool) -> bool {
    match o.layout {
        LayoutNeed::None => false,
        LayoutNeed::ExtForms => forms,
        LayoutNeed::Full => !canon,
    }
}

/// The layout of the members read so far (`seen`), all in fastjson's form and order: what
/// the reference reader records for them, from the field values alone.
fn canonical_members(seen: u8, cmd: &RemotingCommand) -> Vec<JsonMember> {
    let num = |n: i32| JValue::Num(n.to_string());
    let key = |w: usize| JStr::plain(KNOWN[w]);
    let mut m = Vec::with_capacity(8);
    for w in (0..KNOWN.len()).filter(|w| seen & (1 << w) != 0) {
        m.push(match w {
            CODE => JsonMember::Code(key(w), num(cmd.code)),
            EXT => JsonMember::ExtFields(
                key(w),
                Some(ExtLayout {
                    len: cmd.ext_fields.as_ref().map_or(0, Vec::len),
                    exceptions: Vec::new(),
                }),
            ),
            FLAG => JsonMember::Flag(key(w), num(cmd.flag)),
            LANGUAGE => JsonMember::Language(key(w), JValue::Str(JStr::plain(cmd.language_str()))),
            OPAQUE => JsonMember::Opaque(key(w), num(cmd.opaque)),
            REMARK => JsonMember::Remark(
                key(w),
                JValue::Str(JStr::plain(cmd.remark.clone().unwrap_or_default())),
            ),
            VERSION => JsonMember::Version(key(w), num(cmd.version)),
            _ => JsonMember::SerializeType(key(w), JValue::Str(JStr::plain("JSON"))),
        });
    }
    m
}

fn scan_inner(
    h: &[u8],
    o: &JsonHeaderOptions,
    mut build: bool,
) -> Result<Option<RemotingCommand>, NeedLayout> {
    let mut p = Parser {
        s: h,
        i: 0,
        irregular: false,
    };
    let cx = Cx {
        whole: std::str::from_utf8(h).ok(),
        // Without a layout, the escaping is not compared.
        exact: o.layout != LayoutNeed::None,
    };
    let mut cmd = RemotingCommand::default();
    let mut members = Vec::new();
    // Written exactly as fastjson writes it so far: then no layout is needed, and, if one
    // turns out to be, the members so far are known from the fields.
    let mut canon = true;
    let mut seen = 0u8;
    let mut last = None;
    macro_rules! get {
        ($e:expr) => {
            match $e {
                Some(v) => v,
                None => return Ok(None),
            }
        };
    }
    // Start building the layout (at the first member off fastjson's form), or read again.
    macro_rules! switch {
        ($was_canon:expr, $seen_before:expr, $forms:expr) => {
            if !build && needed(o, canon, $forms) {
                if !$was_canon {
                    return Err(NeedLayout);
                }
                members = canonical_members($seen_before, &cmd);
                build = true;
            }
        };
    }
    p.ws();
    if p.peek() != Some(b'{') {
        return Ok(None);
    }
    p.i += 1;
    while !get!(at_close(&mut p)) {
        let k = get!(key(&mut p, cx));
        p.ws();
        if p.peek() != Some(b':') {
            return Ok(None);
        }
        p.i += 1;
        p.ws();
        let was_canon = canon;
        let Some(which) = KNOWN.iter().position(|n| *n == k.as_str()) else {
            canon = false;
            switch!(was_canon, seen, false);
            let v = get!(p.value(1).ok());
            if build {
                members.push(JsonMember::Other(JValue::Str(k.to_jstr()), v));
            }
            get!(after_member(&mut p));
            continue;
        };
        if seen & (1 << which) != 0 {
            // A duplicate: the last one wins, the earlier ones are kept as written.
            return Ok(None);
        }
        let seen_before = seen;
        seen |= 1 << which;
        canon &= k.plain() && last.is_none_or(|l| l < which);
        last = Some(which);
        if which == EXT && p.peek() == Some(b'{') {
            switch!(was_canon, seen_before, false);
            let built_before = build;
            let Some(el) = ext_fields(&mut p, cx, o, &mut build, &mut cmd, &mut canon)? else {
                return Ok(None);
            };
            if build && !built_before {
                // Switched inside, at a value fastjson would not write.
                members = canonical_members(seen_before, &cmd);
            }
            // Entries past the budget.
            switch!(was_canon, seen_before, false);
            if build {
                members.push(JsonMember::ExtFields(k.to_jstr(), Some(el)));
            }
            get!(after_member(&mut p));
            continue;
        }
        let v = get!(scalar(&mut p, true, cx));
        match which {
            CODE | FLAG | OPAQUE | VERSION => {
                let n = get!(v.text().and_then(int_of_text));
                canon &= matches!(v, Val::Num(t) if canonical_int(t));
                match which {
                    CODE => cmd.code = n,
                    FLAG => cmd.flag = n,
                    OPAQUE => cmd.opaque = n,
                    _ => cmd.version = n,
                }
            }
            EXT => {
                // Not an object: null, or the reference reader's error.
                if !matches!(v, Val::Null) {
                    return Ok(None);
                }
                canon = false;
            }
            LANGUAGE => {
                let name = v.text().unwrap_or_default();
                match LanguageCode::from_name(name) {
                    Some(l) => cmd.language = l,
                    None => {
                        canon = false;
                        cmd.language = LanguageCode(u8::MAX);
                        cmd.language_name = Some(name.to_string());
                    }
                }
                canon &= v.plain_str();
            }
            REMARK => {
                canon &= v.plain_str();
                cmd.remark = match &v {
                    Val::Null => None,
                    v => Some(v.text().unwrap_or_default().to_string()),
                };
            }
            // serializeTypeCurrentRPC: kept as written.
            _ => canon &= v.plain_str() && v.text() == Some("JSON"),
        }
        switch!(was_canon, seen_before, false);
        if build {
            let (k, v) = (k.to_jstr(), v.to_jvalue());
            members.push(match which {
                CODE => JsonMember::Code(k, v),
                EXT => JsonMember::ExtFields(k, None),
                FLAG => JsonMember::Flag(k, v),
                LANGUAGE => JsonMember::Language(k, v),
                OPAQUE => JsonMember::Opaque(k, v),
                REMARK => JsonMember::Remark(k, v),
                VERSION => JsonMember::Version(k, v),
                _ => JsonMember::SerializeType(k, v),
            });
        }
        get!(after_member(&mut p));
    }
    let trailing = &h[p.i..];
    if !trailing
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return Ok(None);
    }
    let was_canon = canon;
    canon &= trailing.is_empty() && !p.irregular && seen & REQUIRED == REQUIRED;
    switch!(was_canon, seen, false);
    cmd.serialize = SerializeType::Json;
    if build {
        cmd.layout = HeaderLayout::Json(Box::new(JsonLayout {
            members,
            trailing: trailing.to_vec(),
            irregular: p.irregular,
        }));
    }
    Ok(Some(cmd))
}

/// The extFields object (at its `{`): the entries into `cmd`, their forms once `build`
/// (which it sets at the first entry fastjson would not write so, if the header was in
/// fastjson's form up to there). `Ok(None)` for what the reference reader must read.
fn ext_fields<'a>(
    p: &mut Parser<'a>,
    cx: Cx<'a>,
    o: &JsonHeaderOptions,
    build: &mut bool,
    cmd: &mut RemotingCommand,
    canon: &mut bool,
) -> Result<Option<ExtLayout>, NeedLayout> {
    p.i += 1;
    let mut ext: Vec<(ExtString, ExtString)> = Vec::new();
    let mut el = ExtLayout::default();
    macro_rules! get {
        ($e:expr) => {
            match $e {
                Some(v) => v,
                None => return Ok(None),
            }
        };
    }
    while !get!(at_close(p)) {
        let idx = el.len;
        el.len += 1;
        let k = get!(match p.peek() {
            Some(q @ (b'"' | b'\'')) => string(p, q, true, cx),
            Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'$') => key(p, cx),
            _ => None,
        });
        p.ws();
        if p.peek() != Some(b':') {
            return Ok(None);
        }
        p.i += 1;
        p.ws();
        if idx >= o.max_ext {
            cmd.ext_fields_dropped += 1;
            *canon = false;
            get!(scalar(p, false, cx));
        } else if o.keep.is_some_and(|f| !f(k.as_str())) {
            get!(scalar(p, false, cx));
        } else {
            let v = get!(scalar(p, true, cx));
            if !(k.plain() && v.plain_str()) {
                if !*build && needed(o, false, true) {
                    if !*canon {
                        return Err(NeedLayout);
                    }
                    *build = true;
                }
                *canon = false;
                if *build {
                    el.exceptions.push((
                        idx,
                        ExtForm {
                            key: k.to_jstr(),
                            value: v.to_jvalue(),
                        },
                    ));
                }
            }
            let text: ExtString = match v {
                Val::Str(s) => s.into_ext(),
                Val::Num(n) => n.into(),
                Val::Bool(b) => if b { "true" } else { "false" }.into(),
                Val::Null => ExtString::default(),
            };
            if ext.capacity() == 0 {
                // A send carries 12–14 entries, and keeps five when filtered: one
                // allocation, not several.
                ext.reserve(if o.keep.is_some() { 8 } else { 16 });
            }
            ext.push((k.into_ext(), text));
        }
        get!(after_member(p));
    }
    cmd.ext_fields = Some(ext);
    Ok(Some(el))
}

fn jstr_plain(s: &JStr) -> bool {
    s.quote == Quote::Double && s.raw.is_none()
}

fn int_of(v: &JValue) -> Option<i32> {
    int_of_text(&v.as_text()?)
}

/// An integer field as fastjson reads it into an `int`: the text of a number or string,
/// trimmed, as an i32 (an i64 wraps).
fn int_of_text(t: &str) -> Option<i32> {
    let t = t.trim();
    t.parse::<i32>()
        .ok()
        .or_else(|| t.parse::<i64>().ok().map(|x| x as i32))
}

/// The reference reader: the whole header read into a [`JValue`] tree first, then into the
/// command, always with its [`JsonLayout`]. [`decode_json_header_with`] falls back to it
/// for what the one-pass decoder does not handle, and the tests check the one-pass decoder
/// against it.
pub fn decode_json_header_tolerant(h: &[u8]) -> Result<RemotingCommand, FrameError> {
    let (v, end, irregular) =
        json::parse_prefix_info(h).map_err(|e| ferr(e.offset, "JSON header", e.reason))?;
    let trailing = &h[end..];
    if !trailing
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return Err(ferr(
            end,
            "JSON header",
            "unexpected bytes after the header object",
        ));
    }
    let JValue::Obj(members) = v else {
        return Err(ferr(0, "JSON header", "the header is not a JSON object"));
    };
    let mut cmd = RemotingCommand::default();
    let mut layout = JsonLayout {
        members: Vec::with_capacity(members.len()),
        trailing: trailing.to_vec(),
        irregular,
    };
    // Which member index holds the last occurrence of each known key.
    let last_of = |name: &str| {
        members
            .iter()
            .rposition(|(k, _)| matches!(k, JValue::Str(s) if s.value == name))
    };
    let known = [
        "code",
        "extFields",
        "flag",
        "language",
        "opaque",
        "remark",
        "serializeTypeCurrentRPC",
        "version",
    ];
    let lasts: Vec<Option<usize>> = known.iter().map(|k| last_of(k)).collect();
    for (i, (k, v)) in members.into_iter().enumerate() {
        let key = match k {
            JValue::Str(s) => s,
            other => {
                layout.members.push(JsonMember::Other(other, v));
                continue;
            }
        };
        let which = known.iter().position(|n| *n == key.value);
        let Some(which) = which.filter(|&w| lasts[w] == Some(i)) else {
            layout.members.push(JsonMember::Other(JValue::Str(key), v));
            continue;
        };
        let bad = |what: &'static str| ferr(0, what, format!("unexpected value {v:?}"));
        let m = match which {
            0 => {
                cmd.code = int_of(&v).ok_or_else(|| bad("code"))?;
                JsonMember::Code(key, v)
            }
            1 => match v {
                JValue::Null => JsonMember::ExtFields(key, None),
                JValue::Obj(entries) => {
                    let mut ext = Vec::with_capacity(entries.len());
                    let mut el = ExtLayout {
                        len: entries.len(),
                        exceptions: Vec::new(),
                    };
                    for (idx, (ek, ev)) in entries.into_iter().enumerate() {
                        match (ek, ev) {
                            (JValue::Str(ks), JValue::Str(vs))
                                if jstr_plain(&ks) && jstr_plain(&vs) =>
                            {
                                ext.push((ks.value.into(), vs.value.into()));
                            }
                            (ek, ev) => {
                                let ekey = match ek {
                                    JValue::Str(s) => s,
                                    other => {
                                        let mut b = Vec::new();
                                        json::write_value(&other, &mut b);
                                        JStr {
                                            value: String::from_utf8_lossy(&b).into_owned(),
                                            quote: Quote::Bare,
                                            raw: None,
                                        }
                                    }
                                };
                                let text = match &ev {
                                    JValue::Null => String::new(),
                                    JValue::Arr(_) | JValue::Obj(_) => {
                                        let mut b = Vec::new();
                                        json::write_value(&ev, &mut b);
                                        String::from_utf8_lossy(&b).into_owned()
                                    }
                                    other => other.as_text().unwrap_or_default(),
                                };
                                ext.push((ekey.value.as_str().into(), text.into()));
                                el.exceptions.push((
                                    idx,
                                    ExtForm {
                                        key: ekey,
                                        value: ev,
                                    },
                                ));
                            }
                        }
                    }
                    cmd.ext_fields = Some(ext);
                    JsonMember::ExtFields(key, Some(el))
                }
                _ => {
                    return Err(ferr(
                        0,
                        "extFields",
                        "extFields is neither an object nor null",
                    ));
                }
            },
            2 => {
                cmd.flag = int_of(&v).ok_or_else(|| bad("flag"))?;
                JsonMember::Flag(key, v)
            }
            3 => {
                let name = v.as_text().unwrap_or_default();
                match LanguageCode::from_name(&name) {
                    Some(l) => cmd.language = l,
                    None => {
                        cmd.language = LanguageCode(u8::MAX);
                        cmd.language_name = Some(name);
                    }
                }
                JsonMember::Language(key, v)
            }
            4 => {
                cmd.opaque = int_of(&v).ok_or_else(|| bad("opaque"))?;
                JsonMember::Opaque(key, v)
            }
            5 => {
                cmd.remark = match &v {
                    JValue::Null => None,
                    other => Some(other.as_text().unwrap_or_default()),
                };
                JsonMember::Remark(key, v)
            }
            6 => JsonMember::SerializeType(key, v),
            _ => {
                cmd.version = int_of(&v).ok_or_else(|| bad("version"))?;
                JsonMember::Version(key, v)
            }
        };
        layout.members.push(m);
    }
    cmd.serialize = SerializeType::Json;
    cmd.layout = HeaderLayout::Json(Box::new(layout));
    Ok(cmd)
}

fn push_key(out: &mut Vec<u8>, key: &str) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    json::escape_fastjson_bytes(s, out);
    out.push(b'"');
}

fn push_int(out: &mut Vec<u8>, n: i64) {
    use std::io::Write;
    let _ = write!(out, "{n}");
}

/// Writes a scalar field: the original form when it still says the same, else canonical.
fn push_scalar<F: Fn(&mut Vec<u8>)>(out: &mut Vec<u8>, orig: &JValue, same: bool, canon: F) {
    if same {
        json::write_value(orig, out);
    } else {
        canon(out);
    }
}

fn ext_canonical(out: &mut Vec<u8>, ext: &[(ExtString, ExtString)]) {
    out.push(b'{');
    for (i, (k, v)) in ext.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, k);
        out.push(b':');
        push_str(out, v);
    }
    out.push(b'}');
}

/// Writes the JSON header: fastjson's canonical form (sorted keys, nulls omitted, strings
/// escaped as fastjson does) or, for a decoded header, its recorded layout.
pub fn encode_json_header(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    let layout = match &cmd.layout {
        HeaderLayout::Json(l) => l,
        _ => {
            encode_json_canonical(cmd, out);
            return;
        }
    };
    out.push(b'{');
    for (i, m) in layout.members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let k = match m {
            JsonMember::Other(k, v) => {
                json::write_value(k, out);
                out.push(b':');
                json::write_value(v, out);
                continue;
            }
            JsonMember::Code(k, _)
            | JsonMember::ExtFields(k, _)
            | JsonMember::Flag(k, _)
            | JsonMember::Language(k, _)
            | JsonMember::Opaque(k, _)
            | JsonMember::Remark(k, _)
            | JsonMember::SerializeType(k, _)
            | JsonMember::Version(k, _) => k,
        };
        json::write_jstr(k, out);
        out.push(b':');
        match m {
            JsonMember::Code(_, v) => push_scalar(out, v, int_of(v) == Some(cmd.code), |o| {
                push_int(o, cmd.code.into())
            }),
            JsonMember::Flag(_, v) => push_scalar(out, v, int_of(v) == Some(cmd.flag), |o| {
                push_int(o, cmd.flag.into())
            }),
            JsonMember::Opaque(_, v) => push_scalar(out, v, int_of(v) == Some(cmd.opaque), |o| {
                push_int(o, cmd.opaque.into())
            }),
            JsonMember::Version(_, v) => push_scalar(out, v, int_of(v) == Some(cmd.version), |o| {
                push_int(o, cmd.version.into())
            }),
            JsonMember::Language(_, v) => {
                // What is no string (null, an array) read as the name "".
                let name = cmd.language_str();
                push_scalar(out, v, v.as_text().unwrap_or_default() == name, |o| {
                    push_str(o, &name)
                })
            }
            JsonMember::SerializeType(_, v) => {
                push_scalar(out, v, true, |_| {});
            }
            JsonMember::Remark(_, v) => {
                let same = match (v, &cmd.remark) {
                    (JValue::Null, None) => true,
                    (JValue::Null, Some(_)) | (_, None) => false,
                    // An array or object was read as "".
                    (v, Some(r)) => v.as_text().unwrap_or_default() == *r,
                };
                push_scalar(out, v, same, |o| match &cmd.remark {
                    Some(r) => push_str(o, r),
                    None => o.extend_from_slice(b"null"),
                })
            }
            JsonMember::ExtFields(_, forms) => match (&cmd.ext_fields, forms) {
                (None, _) => out.extend_from_slice(b"null"),
                (Some(ext), Some(el)) if el.len == ext.len() => {
                    out.push(b'{');
                    for (i, (k, v)) in ext.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        let Some(f) = el.form(i) else {
                            push_str(out, k);
                            out.push(b':');
                            push_str(out, v);
                            continue;
                        };
                        if f.key.value == *k {
                            json::write_jstr(&f.key, out);
                        } else {
                            push_str(out, k);
                        }
                        out.push(b':');
                        let same = match &f.value {
                            JValue::Null => v.is_empty(),
                            JValue::Arr(_) | JValue::Obj(_) => {
                                let mut b = Vec::new();
                                json::write_value(&f.value, &mut b);
                                b == v.as_bytes()
                            }
                            fv => fv.as_text().as_deref() == Some(v.as_str()),
                        };
                        push_scalar(out, &f.value, same, |o| push_str(o, v));
                    }
                    out.push(b'}');
                }
                (Some(ext), _) => ext_canonical(out, ext),
            },
            JsonMember::Other(..) => unreachable!("handled above"),
        }
    }
    out.push(b'}');
    out.extend_from_slice(&layout.trailing);
}

/// fastjson's output for a `RemotingCommand`: keys sorted, `extFields`/`remark` omitted
/// when null, `serializeTypeCurrentRPC` always `"JSON"`.
pub(super) fn encode_json_canonical(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    out.push(b'{');
    push_key(out, "code");
    push_int(out, cmd.code.into());
    if let Some(ext) = &cmd.ext_fields {
        out.push(b',');
        push_key(out, "extFields");
        ext_canonical(out, ext);
    }
    out.push(b',');
    push_key(out, "flag");
    push_int(out, cmd.flag.into());
    out.push(b',');
    push_key(out, "language");
    push_str(out, &cmd.language_str());
    out.push(b',');
    push_key(out, "opaque");
    push_int(out, cmd.opaque.into());
    if let Some(r) = &cmd.remark {
        out.push(b',');
        push_key(out, "remark");
        push_str(out, r);
    }
    out.push(b',');
    push_key(out, "serializeTypeCurrentRPC");
    push_str(out, "JSON");
    out.push(b',');
    push_key(out, "version");
    push_int(out, cmd.version.into());
    out.push(b'}');
}

/// The JSON header exactly as fastjson would write it, ignoring any recorded layout.
pub fn encode_json_header_canonical(cmd: &RemotingCommand) -> Vec<u8> {
    let mut out = Vec::new();
    encode_json_canonical(cmd, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::remoting::command::encode_frame;

    /// Pieces of string source text: every escape the reader knows (valid or not, upper- and
    /// lowercase hex, surrogates), both quotes, control characters, U+0080–U+009F, U+2028,
    /// other non-ASCII, a byte that is not UTF-8.
    fn piece() -> impl Strategy<Value = &'static [u8]> {
        prop_oneof![
            Just(&b"a"[..]),
            Just(&b"TAGS"[..]),
            Just(&b"\""[..]),
            Just(&b"'"[..]),
            Just(&b"\\"[..]),
            Just(&b"\\\""[..]),
            Just(&b"\\'"[..]),
            Just(&b"\\\\"[..]),
            Just(&b"\\/"[..]),
            Just(&b"\\u0001"[..]),
            Just(&b"\\u001F"[..]),
            Just(&b"\\u001f"[..]),
            Just(&b"\\u0041"[..]),
            Just(&b"\\u2028"[..]),
            Just(&b"\\u007F"[..]),
            Just(&b"\\u0008"[..]),
            Just(&b"\\ud83d\\ude00"[..]),
            Just(&b"\\uD800"[..]),
            Just(&b"\\uDC00"[..]),
            Just(&b"\\u00"[..]),
            Just(&b"\\x41"[..]),
            Just(&b"\\xZ"[..]),
            Just(&b"\\n"[..]),
            Just(&b"\\t"[..]),
            Just(&b"\\b"[..]),
            Just(&b"\\q"[..]),
            Just(&b"\x01"[..]),
            Just(&b"\x7f"[..]),
            Just("é".as_bytes()),
            Just("\u{85}".as_bytes()),
            Just("\u{2028}".as_bytes()),
            Just("中".as_bytes()),
            Just(&b"\xff"[..]),
            Just(&b"\xc3"[..]),
            Just(&b"0"[..]),
        ]
    }

    fn text(parts: &[&[u8]], q: u8) -> Vec<u8> {
        let mut v = vec![q];
        for p in parts {
            v.extend_from_slice(p);
        }
        v.push(q);
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// The one-pass string reader gives the reference reader's value, quoting and
        /// source text kept (`raw`) for every string, and fails where it fails.
        #[test]
        fn strings_read_as_the_reference_reader(
            parts in proptest::collection::vec(piece(), 0..16),
            q in prop_oneof![Just(b'"'), Just(b'\'')],
            tail in prop_oneof![Just(&b""[..]), Just(&b",\"x\":1}"[..])],
        ) {
            let mut b = text(&parts, q);
            if tail.is_empty() {
                b.pop(); // unterminated
            } else {
                b.extend_from_slice(tail);
            }
            let mut reference = Parser { s: &b, i: 0, irregular: false };
            let want = reference.string(q).ok().map(|s| (s, reference.i));
            for whole in [None, std::str::from_utf8(&b).ok()] {
                let mut p = Parser { s: &b, i: 0, irregular: false };
                let got = string(&mut p, q, true, Cx { whole, exact: true }).map(|s| (s.to_jstr(), p.i));
                prop_assert_eq!(&got, &want, "{:?}", String::from_utf8_lossy(&b));
                // Not comparing the escaping: the same text, the same end.
                let mut p = Parser { s: &b, i: 0, irregular: false };
                let got = string(&mut p, q, true, Cx { whole, exact: false })
                    .map(|s| (s.as_str().to_string(), p.i));
                prop_assert_eq!(got, want.as_ref().map(|(s, i)| (s.value.clone(), *i)));
            }
            // Stepping over without decoding ends at the same place.
            let mut p = Parser { s: &b, i: 0, irregular: false };
            let skipped = string(&mut p, q, false, Cx { whole: None, exact: true }).map(|_| p.i);
            prop_assert_eq!(skipped, want.map(|w| w.1));
        }

        /// Headers as any client might write them — members in any order, duplicates,
        /// unknown keys, every value form, quoting, escapes, whitespace, extra commas, a
        /// trailing newline — decode as the reference reader decodes them, in every layout
        /// mode; with the full layout they re-encode to the same bytes.
        #[test]
        fn headers_decode_as_the_reference_reader(
            members in proptest::collection::vec(
                (0usize..12, 0usize..6, proptest::collection::vec(piece(), 0..4),
                 proptest::collection::vec((0usize..8, 0usize..6, proptest::collection::vec(piece(), 0..3)), 0..5)),
                0..11),
            ws in any::<bool>(),
            trailing in prop_oneof![Just(&b""[..]), Just(&b"\n"[..]), Just(&b" x"[..])],
        ) {
            let h = render(&members, ws, trailing);
            let reference = decode_json_header_tolerant(&h);
            for layout in [LayoutNeed::Full, LayoutNeed::ExtForms, LayoutNeed::None] {
                let o = JsonHeaderOptions { layout, ..Default::default() };
                let got = decode_json_header_with(&h, &o);
                match (&got, &reference) {
                    (Ok(g), Ok(r)) => {
                        prop_assert_eq!(
                            (g.code, g.flag, g.opaque, g.version, g.language, &g.language_name, &g.remark, &g.ext_fields),
                            (r.code, r.flag, r.opaque, r.version, r.language, &r.language_name, &r.remark, &r.ext_fields),
                            "{:?}", String::from_utf8_lossy(&h));
                        let forms = |c: &RemotingCommand| match &c.layout {
                            HeaderLayout::Json(l) => l.members.iter().find_map(|m| match m {
                                JsonMember::ExtFields(_, Some(el)) => Some(el.exceptions.clone()),
                                _ => None,
                            }),
                            _ => None,
                        };
                        match layout {
                            LayoutNeed::Full => {
                                if let HeaderLayout::Json(_) = g.layout {
                                    prop_assert_eq!(&g.layout, &r.layout);
                                }
                                let irregular = matches!(&r.layout, HeaderLayout::Json(l) if l.irregular);
                                if !irregular {
                                    let mut out = Vec::new();
                                    encode_json_header(g, &mut out);
                                    prop_assert_eq!(out, h.clone(), "{:?}", String::from_utf8_lossy(&h));
                                }
                            }
                            // The extFields value kinds output shows are there.
                            LayoutNeed::ExtForms => {
                                let want = forms(r).filter(|e| !e.is_empty());
                                prop_assert_eq!(forms(g).filter(|e| !e.is_empty()), want);
                            }
                            LayoutNeed::None => {}
                        }
                    }
                    (Err(g), Err(r)) => prop_assert_eq!(g, r),
                    _ => prop_assert!(false, "{:?}: {:?} vs {:?}", String::from_utf8_lossy(&h), got, reference),
                }
            }
        }
    }

    const NAMES: [&str; 12] = [
        "code",
        "extFields",
        "flag",
        "language",
        "opaque",
        "remark",
        "serializeTypeCurrentRPC",
        "version",
        "zoneName",
        "x",
        "code",
        "language",
    ];

    /// A key in one of the quote styles.
    fn render_key(out: &mut Vec<u8>, name: &str, style: usize) {
        match style {
            0..=2 => out.extend_from_slice(format!("\"{name}\"").as_bytes()),
            3 => out.extend_from_slice(format!("'{name}'").as_bytes()),
            4 => out.extend_from_slice(name.as_bytes()),
            _ => out.extend_from_slice(b"\"c\\u006fde\""),
        }
    }

    /// A value: form `f` with string pieces `s`.
    fn render_value(out: &mut Vec<u8>, name: &str, f: usize, s: &[&[u8]]) {
        match (name, f) {
            (_, 0) => out.extend_from_slice(b"null"),
            ("code" | "flag" | "opaque" | "version", 1) => out.extend_from_slice(b"-0"),
            ("code" | "flag" | "opaque" | "version", 2) => out.extend_from_slice(b"\"12\""),
            ("code" | "flag" | "opaque" | "version", 3) => out.extend_from_slice(b"01"),
            ("code" | "flag" | "opaque" | "version", 4) => out.extend_from_slice(b"4294967297"),
            ("code" | "flag" | "opaque" | "version", _) => out.extend_from_slice(b"310"),
            ("language", 1) => out.extend_from_slice(b"\"KOTLIN\""),
            ("language", 2) => out.extend_from_slice(b"7"),
            ("language", _) => out.extend_from_slice(b"\"CPP\""),
            ("serializeTypeCurrentRPC", 1) => out.extend_from_slice(b"\"JSON\""),
            (_, 1) => out.extend_from_slice(b"true"),
            (_, 2) => out.extend_from_slice(b"-1.5e3"),
            (_, 3) => out.extend_from_slice(b"[1,{\"y\":null}]"),
            _ => out.extend_from_slice(&text(s, b'"')),
        }
    }

    type Member<'a> = (
        usize,
        usize,
        Vec<&'a [u8]>,
        Vec<(usize, usize, Vec<&'a [u8]>)>,
    );

    fn render(members: &[Member<'_>], ws: bool, trailing: &[u8]) -> Vec<u8> {
        let mut h = b"{".to_vec();
        for (i, (n, f, s, entries)) in members.iter().enumerate() {
            if i > 0 {
                h.extend_from_slice(if ws && i == 1 { b", " } else { b"," });
            }
            let name = NAMES[*n];
            render_key(&mut h, name, *f);
            h.push(b':');
            if name == "extFields" && *f != 0 {
                h.push(b'{');
                for (j, (kf, vf, vs)) in entries.iter().enumerate() {
                    if j > 0 {
                        h.push(b',');
                    }
                    let k = ["a", "topic", "i", "KEYS", "é", "b", "c", "a"][*kf];
                    render_key(&mut h, k, *vf % 5);
                    h.push(b':');
                    match vf {
                        0 => h.extend_from_slice(b"4"),
                        1 => h.extend_from_slice(b"false"),
                        2 => h.extend_from_slice(b"null"),
                        _ => h.extend_from_slice(&text(vs, if *vf == 5 { b'\'' } else { b'"' })),
                    }
                }
                h.push(b'}');
            } else {
                render_value(&mut h, name, *f, s);
            }
        }
        h.push(b'}');
        h.extend_from_slice(trailing);
        h
    }

    /// Headers in exactly fastjson's form need no layout (they re-encode from the fields);
    /// any other header keeps one, and both re-encode byte-exact.
    #[test]
    fn fastjson_form_needs_no_layout() {
        let accepted: &[&[u8]] = &[
            br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":373}"#,
            br#"{"code":310,"extFields":{"i":"UNIQ_KEY\u0001AB\u0002\"q\"\\\n"},"flag":0,"language":"JAVA","opaque":-6,"remark":"x","serializeTypeCurrentRPC":"JSON","version":373}"#,
            br#"{"code":0,"extFields":{},"flag":1,"language":"RUST","opaque":2147483647,"serializeTypeCurrentRPC":"JSON","version":474}"#,
        ];
        let rejected: &[&[u8]] = &[
            br#"{"code":01,"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
            br#"{"code":1,"flag":0,"language":"JAVA","opaque":-0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
            br#"{"code":1,"extFields":{"a":"\u0041"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
            br#"{"code":1,"extFields":{"a":"\u001f"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
            br#"{"code":1,"extFields":{"a":"\/"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
            br#"{"code":1,"flag":0,"language":"KOTLIN","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
            br#"{"code":1,"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1} "#,
            br#"{"code":1,"flag":0,"language":"JAVA","opaque":0,"version":1}"#,
            br#"{"code":1,"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1,"x":2}"#,
            br#"{"flag":0,"code":1,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
            b"{\"code\":1,\"extFields\":{\"a\":\"\x01\"},\"flag\":0,\"language\":\"JAVA\",\"opaque\":0,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":1}",
            "{\"code\":1,\"remark\":\"\u{85}\",\"flag\":0,\"language\":\"JAVA\",\"opaque\":0,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":1}".as_bytes(),
        ];
        for (h, canonical) in accepted
            .iter()
            .map(|h| (h, true))
            .chain(rejected.iter().map(|h| (h, false)))
        {
            let c = decode_json_header(h).unwrap();
            let r = decode_json_header_tolerant(h).unwrap();
            assert_eq!(
                (
                    c.code,
                    c.flag,
                    c.opaque,
                    c.version,
                    c.language,
                    &c.remark,
                    &c.ext_fields
                ),
                (
                    r.code,
                    r.flag,
                    r.opaque,
                    r.version,
                    r.language,
                    &r.remark,
                    &r.ext_fields
                )
            );
            assert_eq!(
                matches!(c.layout, HeaderLayout::Canonical),
                canonical,
                "{}",
                String::from_utf8_lossy(h)
            );
            // The one-pass decoder alone (the fastjson-form scanner goes first) tells the
            // same.
            let Scan::Done(one) = scan(h, &JsonHeaderOptions::default(), false) else {
                panic!("{}", String::from_utf8_lossy(h));
            };
            assert_eq!(one.layout, c.layout, "{}", String::from_utf8_lossy(h));
            if !canonical {
                // Built from where the header leaves fastjson's form on, the members
                // before it from the fields: the same layout as the reference reader's.
                assert_eq!(c.layout, r.layout, "{}", String::from_utf8_lossy(h));
            }
            let mut out = Vec::new();
            encode_json_header(&c, &mut out);
            assert_eq!(out, **h);
        }
    }

    /// What each client writes (bundled captures) is read in one pass, never by the
    /// reference reader; only a header off fastjson's form is read a second time, and only
    /// when its extFields kinds are asked for and it left fastjson's form before them.
    #[test]
    fn every_client_takes_the_one_pass_path() {
        let clients: &[(&[u8], bool)] = &[
            // C++ (captures/cpp): numbers and booleans in extFields, trailing newline
            (b"{\"code\":310,\"extFields\":{\"a\":\"g\",\"d\":4,\"e\":0,\"k\":false},\"flag\":0,\"language\":\"CPP\",\"opaque\":3,\"remark\":\"\",\"version\":333}\n", false),
            // rocketmq-rust (captures/rust): serde order, nulls
            (br#"{"code":0,"language":"RUST","version":474,"opaque":1,"flag":1,"remark":null,"extFields":null,"serializeTypeCurrentRPC":"JSON"}"#, false),
            // NewLife .NET: raw control characters, no flag, remark last
            (b"{\"code\":310,\"extFields\":{\"i\":\"TAGS\x01T\x02\"},\"language\":\"DOTNET\",\"opaque\":1,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":373,\"remark\":\"SEND_MESSAGE_V2\"}", false),
            // Node (captures/node)
            (br#"{"code":105,"language":"JAVA","opaque":1,"flag":0,"version":121,"extFields":{"topic":"CapDev_node_topic"}}"#, false),
            // Java: fastjson's form
            (br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":373}"#, false),
            // Numbers in extFields after the header left fastjson's form: read again for
            // their kinds.
            (br#"{"language":"CPP","code":310,"extFields":{"d":4}}"#, true),
        ];
        for &(h, again) in clients {
            for layout in [LayoutNeed::None, LayoutNeed::ExtForms, LayoutNeed::Full] {
                let o = JsonHeaderOptions {
                    layout,
                    ..Default::default()
                };
                let first = scan(h, &o, false);
                assert!(
                    match first {
                        Scan::Done(_) => true,
                        Scan::NeedLayout => again && layout == LayoutNeed::ExtForms,
                        Scan::Fallback => false,
                    },
                    "{} {layout:?}",
                    String::from_utf8_lossy(h)
                );
            }
        }
    }

    /// Light decoding keeps the asked-for keys and no layout; a value it skips is still
    /// checked (a bad escape fails the header as in a full decode).
    #[test]
    fn light_decoding_keeps_only_what_is_asked() {
        let h = b"{\"code\":310,\"extFields\":{\"a\":\"g\",\"b\":\"T\",\"d\":4,\"k\":false},\"language\":\"CPP\",\"opaque\":3,\"remark\":\"\",\"version\":333}\n";
        let o = JsonHeaderOptions {
            keep: Some(|k| k == "b"),
            layout: LayoutNeed::None,
            ..Default::default()
        };
        let c = decode_json_header_with(h, &o).unwrap();
        assert_eq!(c.ext_fields, Some(vec![("b".into(), "T".into())]));
        assert_eq!(c.layout, HeaderLayout::Canonical);
        assert_eq!((c.code, c.opaque, c.version), (310, 3, 333));
        let bad = br#"{"code":1,"extFields":{"a":"\q","b":"T"},"language":"CPP","opaque":3}"#;
        assert_eq!(
            decode_json_header_with(bad, &o),
            decode_json_header_tolerant(bad).map(|_| unreachable!())
        );
        // The extFields value kinds survive where output needs them.
        let o = JsonHeaderOptions {
            layout: LayoutNeed::ExtForms,
            ..Default::default()
        };
        let c = decode_json_header_with(h, &o).unwrap();
        assert!(matches!(c.layout, HeaderLayout::Json(_)));
        let frame = {
            let mut f = ((h.len() + 4) as u32).to_be_bytes().to_vec();
            f.extend_from_slice(&(h.len() as u32).to_be_bytes());
            f.extend_from_slice(h);
            f
        };
        assert_eq!(encode_frame(&c), frame);
    }
}
