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

/// Which extFields keys a light decode keeps: given the header's `code` when it was read
/// before the extFields object (always for fastjson's and the binary form, whose `code`
/// comes first; `None` when a header writes it later), and the key. The code may be a
/// request's or a response's: the flag that says which usually comes after extFields.
pub type KeyFilter = fn(Option<i32>, &str) -> bool;

/// What [`decode_json_header_with`] keeps.
#[derive(Clone, Copy, Debug)]
pub struct JsonHeaderOptions {
    /// extFields entries kept (the first ones on the wire); the rest are checked, skipped
    /// and counted in `ext_fields_dropped`.
    pub max_ext: usize,
    /// Keep only the extFields keys this accepts (the others are checked and skipped).
    pub keep: Option<KeyFilter>,
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
    // The header's bytes validated as UTF-8 once, for both scanners (and a second scan).
    let whole = std::str::from_utf8(h).ok();
    // Exactly fastjson's form (Java): the faster scanner, no layout needed.
    if let Some(t) = whole
        && let Some(cmd) = super::canonical::scan_keeping(t, o.keep, o.max_ext)
    {
        return Ok(cmd);
    }
    match scan(h, whole, o, false) {
        Scan::Done(cmd) => return Ok(cmd),
        Scan::NeedLayout => {
            if let Scan::Done(cmd) = scan(h, whole, o, true) {
                return Ok(cmd);
            }
        }
        Scan::Fallback => {}
    }
    let mut cmd = decode_json_header_tolerant(h)?;
    limit_ext_fields(&mut cmd, o.max_ext);
    if let (Some(keep), Some(ext)) = (o.keep, &mut cmd.ext_fields) {
        let code = cmd.code;
        ext.retain(|(k, _)| keep(Some(code), k));
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

mod encode;
mod lex;
#[cfg(test)]
mod tests;
mod tolerant;

pub(super) use encode::encode_json_canonical;
pub use encode::{encode_json_header, encode_json_header_canonical};
use lex::*;
pub use tolerant::decode_json_header_tolerant;
use tolerant::*;

/// One pass over the header; `build` records the layout from the start.
fn scan(h: &[u8], whole: Option<&str>, o: &JsonHeaderOptions, build: bool) -> Scan {
    match scan_inner(h, whole, o, build) {
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

fn scan_inner<'a>(
    h: &'a [u8],
    whole: Option<&'a str>,
    o: &JsonHeaderOptions,
    mut build: bool,
) -> Result<Option<RemotingCommand>, NeedLayout> {
    let mut p = Parser {
        s: h,
        i: 0,
        irregular: false,
    };
    let cx = Cx {
        whole,
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
            let code = (seen_before & (1 << CODE) != 0).then_some(cmd.code);
            let Some(el) = ext_fields(&mut p, cx, o, code, &mut build, &mut cmd, &mut canon)?
            else {
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
    code: Option<i32>,
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
        } else if o.keep.is_some_and(|f| !f(code, k.as_str())) {
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
