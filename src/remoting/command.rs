//! `RemotingCommand`: the owned frame, its two header serializations, and the frame codec.
//!
//! ```text
//! 0        4        5            8
//! +--------+--------+------------+----------------+------------------+
//! | length | type   | headerLen  | header         | body             |
//! | u32 BE | u8     | u24 BE     | JSON or        | length - 4 -     |
//! |        | 0 JSON | 1 ROCKETMQ |                | headerLen bytes  |
//! +--------+--------+------------+----------------+------------------+
//! ```
//! `length` counts everything after itself. Follows `RemotingCommand.java` (`encode`,
//! `fastEncodeHeader`, `decode`, `headerDecode`, `markProtocolType`) and
//! `RocketMQSerializable.java` (`rocketMQProtocolEncode`, `rocketMQProtocolDecode`) of
//! apache/rocketmq; the rules are summarised in shared/docs/protocol.md sections 1–4.
//!
//! The same owned type is what the dissector decodes into and what the producer encodes
//! from. A decoded JSON header keeps a [`JsonLayout`] (key order, value kinds, escape text
//! that fastjson would not write) so that re-encoding gives the wire bytes back; a command
//! built by hand has no layout and is written exactly as Java's fastjson writes it.

use std::fmt;

use super::codes::{LanguageCode, SerializeType};

/// An extFields key or value: a string stored inline up to 24 bytes (most keys and values
/// are short), so that decoding a header allocates little.
pub type ExtString = compact_str::CompactString;
pub use super::binary::{decode_binary_header, decode_binary_header_keeping, encode_binary_header};
use super::json::{self, JStr, JValue, Quote};

/// Limits applied to lengths taken from the wire.
#[derive(Clone, Copy, Debug)]
pub struct FrameLimits {
    /// Largest accepted `length` field. Java: `com.rocketmq.remoting.frameMaxLength`
    /// (16 MiB) minus the 4 bytes of the length field itself = 16,777,212.
    pub max_frame_length: u32,
    /// extFields entries kept per header; the rest are dropped and counted in
    /// [`RemotingCommand::ext_fields_dropped`]. The dissector sets it from
    /// `crate::limits::Limits::max_ext_fields`.
    pub max_ext_fields: usize,
}

impl Default for FrameLimits {
    fn default() -> Self {
        Self {
            max_frame_length: 16_777_212,
            max_ext_fields: crate::limits::Limits::default().max_ext_fields,
        }
    }
}

/// The `flag` bits (`RemotingCommand.RPC_TYPE`, `RPC_ONEWAY`).
pub mod flag {
    /// Bit 0: this is a response.
    pub const RESPONSE: i32 = 0x1;
    /// Bit 1: one-way request, no response expected.
    pub const ONEWAY: i32 = 0x2;
}

/// Request, response or one-way request, from the flag bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Request,
    Response,
    Oneway,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Response => "response",
            Kind::Oneway => "oneway",
        }
    }
}

/// An extFields value as it was written in a JSON header.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtForm {
    pub key: JStr,
    pub value: JValue,
}

/// How the extFields object was written: its entry count and the entries that were not a
/// plain double-quoted string key and value in fastjson's escaping (numbers, booleans,
/// null, other quoting or escapes), by index.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ExtLayout {
    pub len: usize,
    pub exceptions: Vec<(usize, ExtForm)>,
}

impl ExtLayout {
    /// The recorded form of entry `i`, if it was not plain.
    pub fn form(&self, i: usize) -> Option<&ExtForm> {
        self.exceptions
            .binary_search_by_key(&i, |(j, _)| *j)
            .ok()
            .map(|x| &self.exceptions[x].1)
    }
}

fn plain(s: &JStr) -> bool {
    s.quote == Quote::Double && s.raw.is_none()
}

/// A member of a JSON header in wire order.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonMember {
    Code(JStr, JValue),
    ExtFields(JStr, Option<ExtLayout>),
    Flag(JStr, JValue),
    Language(JStr, JValue),
    Opaque(JStr, JValue),
    Remark(JStr, JValue),
    SerializeType(JStr, JValue),
    Version(JStr, JValue),
    /// An unknown key, or an earlier duplicate of a known one (the last one wins, as in
    /// fastjson), kept as written.
    Other(JValue, JValue),
}

/// How a JSON header was written, where that is not derivable from the fields.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct JsonLayout {
    pub members: Vec<JsonMember>,
    /// Bytes after the closing brace inside the header (the C++ client's `\n`).
    pub trailing: Vec<u8>,
    /// The header had whitespace or extra commas between tokens, which are not kept: it
    /// will not re-encode byte-exact (`rmqdump verify` reports it).
    pub irregular: bool,
}

/// How a ROCKETMQ binary header was written, where that is not derivable from the fields.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BinaryLayout {
    /// Bytes after the extFields map inside `headerLen` (Java ignores them).
    pub trailing: Vec<u8>,
}

/// Header layout: none (write as Java would), or what a decoded header looked like.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum HeaderLayout {
    #[default]
    Canonical,
    Json(Box<JsonLayout>),
    Binary(Box<BinaryLayout>),
}

/// One remoting command, request or response.
#[derive(Clone, Debug, PartialEq)]
pub struct RemotingCommand {
    /// Request code for requests, response code for responses.
    pub code: i32,
    pub language: LanguageCode,
    /// The JSON `language` name when it is not one [`LanguageCode`] knows.
    pub language_name: Option<String>,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    /// extFields in wire order (duplicates kept; `None` when absent or `null`).
    pub ext_fields: Option<Vec<(ExtString, ExtString)>>,
    pub serialize: SerializeType,
    pub body: Vec<u8>,
    pub layout: HeaderLayout,
    /// extFields entries left out by [`FrameLimits::max_ext_fields`] (the first ones on the
    /// wire are kept). Nonzero means the command is not fully decoded: it does not re-encode
    /// to the wire bytes.
    pub ext_fields_dropped: usize,
}

impl Default for RemotingCommand {
    fn default() -> Self {
        Self {
            code: 0,
            language: LanguageCode::JAVA,
            language_name: None,
            version: 0,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: None,
            serialize: SerializeType::Json,
            body: Vec::new(),
            layout: HeaderLayout::Canonical,
            ext_fields_dropped: 0,
        }
    }
}

impl RemotingCommand {
    pub fn kind(&self) -> Kind {
        if self.flag & flag::RESPONSE != 0 {
            Kind::Response
        } else if self.flag & flag::ONEWAY != 0 {
            Kind::Oneway
        } else {
            Kind::Request
        }
    }

    /// The last value of an extFields key (Java's map keeps the last duplicate).
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields
            .as_ref()?
            .iter()
            .rev()
            .find(|(k, _)| match (k.as_bytes(), key.as_bytes()) {
                // SEND_MESSAGE_V2's one-letter keys: no call to compare.
                ([a], [b]) => a == b,
                (a, b) => a == b,
            })
            .map(|(_, v)| v.as_str())
    }

    /// The language as shown: the enum name, or the JSON name as written.
    pub fn language_str(&self) -> String {
        match (&self.language_name, self.language.name()) {
            (Some(n), _) => n.clone(),
            (None, Some(n)) => n.to_string(),
            (None, None) => self.language.0.to_string(),
        }
    }
}

/// Where and why a frame could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    /// Byte offset inside the frame (0 = the length field).
    pub offset: usize,
    pub field: &'static str,
    pub reason: String,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at frame byte {}: {}",
            self.field, self.offset, self.reason
        )
    }
}

impl std::error::Error for FrameError {}

pub(super) fn ferr(offset: usize, field: &'static str, reason: impl Into<String>) -> FrameError {
    FrameError {
        offset,
        field,
        reason: reason.into(),
    }
}

/// Outcome of looking for a frame at the start of a byte stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameCheck {
    /// A whole frame of this many bytes (length field included) is available.
    Complete(usize),
    /// The frame header looks valid; this many bytes in total are needed.
    NeedMore(usize),
    /// These bytes cannot start a frame.
    Invalid(FrameError),
}

/// Checks the 8-byte prefix of a frame against the limits (sans-IO, no allocation).
pub fn check_frame(buf: &[u8], limits: &FrameLimits) -> FrameCheck {
    if buf.len() < 4 {
        return FrameCheck::NeedMore(8);
    }
    let length = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if length < 4 {
        return FrameCheck::Invalid(ferr(
            0,
            "length",
            format!("{length} is below the 4-byte minimum"),
        ));
    }
    if length > limits.max_frame_length {
        return FrameCheck::Invalid(ferr(
            0,
            "length",
            format!(
                "{length} exceeds the maximum frame length {}",
                limits.max_frame_length
            ),
        ));
    }
    if buf.len() < 8 {
        return FrameCheck::NeedMore(8);
    }
    if SerializeType::from_byte(buf[4]).is_none() {
        return FrameCheck::Invalid(ferr(
            4,
            "serialize type",
            format!("unknown value {}", buf[4]),
        ));
    }
    let header_len = u32::from_be_bytes([0, buf[5], buf[6], buf[7]]);
    if header_len > length - 4 {
        return FrameCheck::Invalid(ferr(
            5,
            "header length",
            format!("{header_len} exceeds the frame length {length} - 4"),
        ));
    }
    let total = length as usize + 4;
    if buf.len() >= total {
        FrameCheck::Complete(total)
    } else {
        FrameCheck::NeedMore(total)
    }
}

/// Decodes one whole frame (`frame` starts with the length field and holds exactly the frame).
pub fn decode_frame(frame: &[u8], limits: &FrameLimits) -> Result<RemotingCommand, FrameError> {
    match check_frame(frame, limits) {
        FrameCheck::Complete(n) if n == frame.len() => {}
        FrameCheck::Complete(n) => {
            return Err(ferr(
                0,
                "length",
                format!("frame is {n} bytes but {} were given", frame.len()),
            ));
        }
        FrameCheck::NeedMore(n) => {
            return Err(ferr(
                frame.len(),
                "frame",
                format!("truncated: {} of {n} bytes", frame.len()),
            ));
        }
        FrameCheck::Invalid(e) => return Err(e),
    }
    let st = SerializeType::from_byte(frame[4]).unwrap_or(SerializeType::Json);
    let header_len = u32::from_be_bytes([0, frame[5], frame[6], frame[7]]) as usize;
    let header = &frame[8..8 + header_len];
    let body = &frame[8 + header_len..];
    let mut cmd = match st {
        SerializeType::Json => {
            decode_json_header_keeping(header, limits.max_ext_fields).map_err(|mut e| {
                e.offset += 8;
                e
            })?
        }
        SerializeType::RocketMq => decode_binary_header_keeping(header, limits.max_ext_fields)
            .map_err(|mut e| {
                e.offset += 8;
                e
            })?,
    };
    cmd.body = body.to_vec();
    Ok(cmd)
}

/// Keeps the first `max` extFields entries (wire order) and counts the rest in
/// `ext_fields_dropped`: for JSON headers off the fast path, which the tolerant reader
/// reads whole first (their bytes are in memory, bounded by the frame length, so the entries
/// cost a small multiple of that). ROCKETMQ headers and canonical JSON ones are cut while
/// read ([`decode_binary_header_keeping`], [`decode_json_header_keeping`]).
fn limit_ext_fields(cmd: &mut RemotingCommand, max: usize) {
    if let Some(ext) = &mut cmd.ext_fields
        && ext.len() > max
    {
        cmd.ext_fields_dropped = ext.len() - max;
        ext.truncate(max);
        ext.shrink_to_fit();
    }
}

/// Decodes a frame keeping only some of its extFields (and no body unless `keep_body` says
/// so): the fast path for statistics, which need a few header fields of every frame. The
/// command it returns is partial and does not re-encode to the wire bytes.
pub fn decode_frame_light(
    frame: &[u8],
    limits: &FrameLimits,
    keys: fn(&str) -> bool,
    keep_body: impl Fn(&RemotingCommand, &[u8]) -> bool,
) -> Result<RemotingCommand, FrameError> {
    match check_frame(frame, limits) {
        FrameCheck::Complete(n) if n == frame.len() => {}
        _ => return decode_frame(frame, limits),
    }
    let header_len = u32::from_be_bytes([0, frame[5], frame[6], frame[7]]) as usize;
    let header = &frame[8..8 + header_len];
    let body = &frame[8 + header_len..];
    let light = if frame[4] == 0 {
        canonical::scan_keeping(header, Some(keys), usize::MAX)
    } else {
        None
    };
    let mut cmd = match light {
        Some(c) => c,
        None => {
            let mut c = decode_frame(frame, limits)?;
            c.body = Vec::new();
            if let Some(e) = &mut c.ext_fields {
                e.retain(|(k, _)| keys(k.as_str()));
            }
            c
        }
    };
    if keep_body(&cmd, body) {
        cmd.body = body.to_vec();
    }
    Ok(cmd)
}

/// Encodes a command into a whole frame.
pub fn encode_frame(cmd: &RemotingCommand) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + cmd.body.len());
    encode_frame_into(cmd, &mut out);
    out
}

/// Appends the encoded frame to `out`.
pub fn encode_frame_into(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    match cmd.serialize {
        SerializeType::Json => encode_json_header(cmd, out),
        SerializeType::RocketMq => encode_binary_header(cmd, out),
    }
    let header_len = out.len() - start - 8;
    out.extend_from_slice(&cmd.body);
    let length = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&length.to_be_bytes());
    let word = ((cmd.serialize.byte() as u32) << 24) | (header_len as u32 & 0x00FF_FFFF);
    out[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
}

// ---------------------------------------------------------------------------------------
// JSON header

fn int_of(v: &JValue) -> Option<i32> {
    let t = v.as_text()?;
    let t = t.trim();
    t.parse::<i32>()
        .ok()
        .or_else(|| t.parse::<i64>().ok().map(|x| x as i32))
}

/// Decodes a JSON header, tolerating what real clients write (protocol.md section 2.3).
///
/// Headers in exactly fastjson's canonical form (every Java client and broker) take a
/// fast path that reads the fields straight from the bytes; anything else goes through the
/// tolerant reader and keeps a [`JsonLayout`].
pub fn decode_json_header(h: &[u8]) -> Result<RemotingCommand, FrameError> {
    decode_json_header_keeping(h, usize::MAX)
}

/// [`decode_json_header`] keeping at most `max_ext` extFields entries (the rest counted in
/// `ext_fields_dropped`). The fast path cuts while it reads (the entries past the budget
/// are checked and skipped, never decoded); the tolerant reader reads the header whole and
/// the entries are cut after.
pub fn decode_json_header_keeping(h: &[u8], max_ext: usize) -> Result<RemotingCommand, FrameError> {
    if let Some(cmd) = canonical::scan_keeping(h, None, max_ext) {
        return Ok(cmd);
    }
    let mut cmd = decode_json_header_tolerant(h)?;
    limit_ext_fields(&mut cmd, max_ext);
    Ok(cmd)
}

/// The tolerant path of [`decode_json_header`], for any header.
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
                            (JValue::Str(ks), JValue::Str(vs)) if plain(&ks) && plain(&vs) => {
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
    let mut t = String::with_capacity(s.len() + 2);
    t.push('"');
    json::escape_fastjson_into(s, &mut t);
    t.push('"');
    out.extend_from_slice(t.as_bytes());
}

fn push_int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(n.to_string().as_bytes());
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
                let name = cmd.language_str();
                push_scalar(out, v, v.as_text().as_deref() == Some(&name), |o| {
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
                    (v, Some(r)) => v.as_text().as_deref() == Some(r.as_str()),
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
fn encode_json_canonical(cmd: &RemotingCommand, out: &mut Vec<u8>) {
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

/// A scanner for headers in exactly fastjson's canonical form: the keys of
/// [`encode_json_header_canonical`] in that order, integers in plain decimal, strings with
/// exactly fastjson's escapes. It returns `None` at the first deviation, so that everything
/// it accepts re-encodes byte-exact with no layout (the fuzz target `frame` and the unit
/// tests check this against the tolerant path).
mod canonical {
    use super::{LanguageCode, RemotingCommand};

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
        fn string(&mut self) -> Option<super::ExtString> {
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
        let escaped = matches!(v, 0..=0x1f | 0x7f..=0x9f | 0x2028 | 0x2029)
            && !matches!(v, 8 | 9 | 10 | 12 | 13);
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

    #[cfg(test)]
    pub(super) fn scan(h: &[u8]) -> Option<RemotingCommand> {
        scan_keeping(h, None, usize::MAX)
    }

    /// [`scan`], keeping only the extFields keys in `keep` (others are skipped without
    /// being decoded), and at most `max` entries (the rest skipped too, and counted in
    /// `ext_fields_dropped`).
    pub(super) fn scan_keeping(
        h: &[u8],
        keep: Option<fn(&str) -> bool>,
        max: usize,
    ) -> Option<RemotingCommand> {
        let t = std::str::from_utf8(h).ok()?;
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
                    } else if keep.is_none_or(|f| f(&k)) {
                        let v = s.string()?;
                        let k: super::ExtString = match k {
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
}

#[cfg(test)]
mod tests {
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
            prop_assert_eq!(canonical::string_at(b), canonical::string_reference(b), "{:?}", text);
        }
    }

    #[test]
    fn properties_string_decodes() {
        let b = r#""KEYS\u0001k1\u0002TAGS\u0001T\"é","x":1}"#.as_bytes();
        let want = Some(("KEYS\u{1}k1\u{2}TAGS\u{1}T\"é".to_string(), 35));
        assert_eq!(canonical::string_reference(b), want);
        assert_eq!(canonical::string_at(b), want);
    }

    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// protocol.md section 1, from the Java 4.8.0 producer capture: GET_ROUTEINFO_BY_TOPIC.
    #[test]
    fn json_vector_java_route_request() {
        let header = br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":373}"#;
        let mut frame = hex("00 00 00 87 00 00 00 83");
        frame.extend_from_slice(header);
        let cmd = decode_frame(&frame, &FrameLimits::default()).unwrap();
        assert_eq!(cmd.code, 105);
        assert_eq!(cmd.version, 373);
        assert_eq!(cmd.ext("topic"), Some("TopicTest"));
        assert_eq!(cmd.kind(), Kind::Request);
        assert_eq!(encode_frame(&cmd), frame);
        let mut canonical = cmd.clone();
        canonical.layout = HeaderLayout::Canonical;
        assert_eq!(encode_frame(&canonical), frame, "fastjson canonical form");
    }

    /// protocol.md section 3, from NewLife rmq_4.9.7.pcap: a binary SEND_MESSAGE_V2 reply.
    #[test]
    fn binary_vector_send_response() {
        let mut frame =
            hex("00 00 00 99 01 00 00 95 0000 00 0175 00000628 00000001 00000000 00000080");
        for (k, v) in [
            ("queueId", "6"),
            ("TRACE_ON", "true"),
            ("MSG_REGION", "DefaultRegion"),
            ("msgId", "0A090F2800002A9F0000229E897CF382"),
            ("queueOffset", "6379881"),
        ] {
            frame.extend_from_slice(&(k.len() as u16).to_be_bytes());
            frame.extend_from_slice(k.as_bytes());
            frame.extend_from_slice(&(v.len() as u32).to_be_bytes());
            frame.extend_from_slice(v.as_bytes());
        }
        let cmd = decode_frame(&frame, &FrameLimits::default()).unwrap();
        assert_eq!(cmd.serialize, SerializeType::RocketMq);
        assert_eq!(
            (cmd.code, cmd.version, cmd.opaque, cmd.flag),
            (0, 373, 1576, 1)
        );
        assert_eq!(cmd.kind(), Kind::Response);
        assert_eq!(cmd.ext("queueOffset"), Some("6379881"));
        assert_eq!(encode_frame(&cmd), frame);
    }

    /// A frame as the Apache C++ client wrote it (captures/cpp, packet 4): jsoncpp sorted
    /// keys, empty AccessKey/Signature fields, `remark:""` and a newline counted in headerLen.
    #[test]
    fn json_vector_cpp_route_request() {
        let mut frame = hex("000000c8 000000c4");
        frame.extend_from_slice(b"{\"code\":105,\"extFields\":{\"AccessKey\":\"\",\"OnsChannel\":\"ALIYUN\",\"Signature\":\"kX0WvoAGxIsM8L4AOXH71ccHz38=\",\"topic\":\"CapDev_cpp_topic\"},\"flag\":0,\"language\":\"CPP\",\"opaque\":0,\"remark\":\"\",\"version\":63}\n");
        assert_eq!(frame.len(), 204);
        let cmd = decode_frame(&frame, &FrameLimits::default()).unwrap();
        assert_eq!(
            (cmd.code, cmd.version, cmd.language),
            (105, 63, LanguageCode::CPP)
        );
        assert_eq!(cmd.remark.as_deref(), Some(""));
        assert_eq!(cmd.ext("topic"), Some("CapDev_cpp_topic"));
        assert_eq!(encode_frame(&cmd), frame);
    }

    #[test]
    fn tolerant_json_headers_round_trip() {
        for h in [
            // C++: numbers in extFields, empty remark, trailing newline
            &b"{\"code\":310,\"extFields\":{\"d\":4,\"e\":0,\"k\":false},\"flag\":0,\"language\":\"CPP\",\"opaque\":3,\"remark\":\"\",\"version\":333}\n"[..],
            // rocketmq-rust: nulls written, serde order
            br#"{"code":0,"language":"RUST","version":474,"opaque":1,"flag":1,"remark":null,"extFields":null,"serializeTypeCurrentRPC":"JSON"}"#,
            // .NET: raw control characters, no flag
            b"{\"code\":310,\"extFields\":{\"i\":\"TAGS\x01T\x02\"},\"language\":\"DOTNET\",\"opaque\":1,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":373,\"remark\":\"SEND_MESSAGE_V2\"}",
            // duplicates, unknown keys and languages
            br#"{"code":1,"code":2,"x":[1,{"y":null}],"language":"KOTLIN","opaque":-5}"#,
        ] {
            let mut frame = ((h.len() + 4) as u32).to_be_bytes().to_vec();
            frame.extend_from_slice(&(h.len() as u32).to_be_bytes());
            frame.extend_from_slice(h);
            let cmd = decode_frame(&frame, &FrameLimits::default()).unwrap();
            assert_eq!(encode_frame(&cmd), frame, "{}", String::from_utf8_lossy(h));
        }
    }

    /// The canonical fast path gives the same command as the tolerant path, and only
    /// accepts what re-encodes byte-exact without a layout.
    #[test]
    fn canonical_fast_path_agrees_with_tolerant_path() {
        let accepted: &[&[u8]] = &[
            br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":373}"#,
            br#"{"code":310,"extFields":{"i":"UNIQ_KEY\u0001AB\u0002\"q\"\\\n"},"flag":0,"language":"JAVA","opaque":-6,"remark":"x","serializeTypeCurrentRPC":"JSON","version":373}"#,
            br#"{"code":0,"extFields":{},"flag":1,"language":"RUST","opaque":2147483647,"serializeTypeCurrentRPC":"JSON","version":474}"#,
        ];
        for h in accepted {
            let fast =
                canonical::scan(h).unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(h)));
            let slow = decode_json_header_tolerant(h).unwrap();
            assert_eq!(
                (
                    fast.code,
                    fast.flag,
                    fast.opaque,
                    fast.version,
                    fast.language
                ),
                (
                    slow.code,
                    slow.flag,
                    slow.opaque,
                    slow.version,
                    slow.language
                )
            );
            assert_eq!(
                (&fast.remark, &fast.ext_fields),
                (&slow.remark, &slow.ext_fields)
            );
            assert_eq!(encode_json_header_canonical(&fast), *h);
        }
        let rejected: &[&[u8]] = &[
            br#"{"code":01,"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
            br#"{"code":1,"flag":0,"language":"JAVA","opaque":-0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
            br#"{"code":1,"extFields":{"a":"\u0041"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
            br#"{"code":1,"extFields":{"a":"\u001f"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
            br#"{"code":1,"extFields":{"a":"\/"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
            br#"{"code":1,"flag":0,"language":"KOTLIN","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
            br#"{"code":1,"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1} "#,
            b"{\"code\":1,\"extFields\":{\"a\":\"\x01\"},\"flag\":0,\"language\":\"JAVA\",\"opaque\":0,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":1}",
            "{\"code\":1,\"remark\":\"\u{85}\",\"flag\":0,\"language\":\"JAVA\",\"opaque\":0,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":1}".as_bytes(),
        ];
        for h in rejected {
            assert!(
                canonical::scan(h).is_none(),
                "{}",
                String::from_utf8_lossy(h)
            );
            // The tolerant path still reads them and re-encodes them exactly.
            if let Ok(c) = decode_json_header(h) {
                let mut out = Vec::new();
                encode_json_header(&c, &mut out);
                assert_eq!(out, *h);
            }
        }
    }

    #[test]
    fn changed_fields_are_written_canonically() {
        let h = br#"{"code":"310","extFields":{"d":4},"language":"CPP","opaque":3}"#;
        let mut cmd = decode_json_header(h).unwrap();
        assert_eq!(cmd.code, 310);
        assert_eq!(cmd.ext("d"), Some("4"));
        cmd.code = 11;
        cmd.ext_fields = Some(vec![("d".into(), "5".into())]);
        let mut out = Vec::new();
        encode_json_header(&cmd, &mut out);
        assert_eq!(
            out,
            br#"{"code":11,"extFields":{"d":"5"},"language":"CPP","opaque":3}"#
        );
    }

    #[test]
    fn frame_checks() {
        let l = FrameLimits::default();
        assert!(matches!(
            check_frame(&[0, 0, 0, 2], &l),
            FrameCheck::Invalid(_)
        ));
        assert!(matches!(
            check_frame(&[1, 0, 0, 0, 0, 0, 0, 0], &l),
            FrameCheck::Invalid(_)
        ));
        assert!(matches!(
            check_frame(&[0, 0, 0, 8, 2, 0, 0, 0], &l),
            FrameCheck::Invalid(_)
        ));
        assert!(matches!(
            check_frame(&[0, 0, 0, 8, 0, 0, 0, 5], &l),
            FrameCheck::Invalid(_)
        ));
        assert_eq!(
            check_frame(&[0, 0, 0, 8, 0, 0, 0, 4], &l),
            FrameCheck::NeedMore(12)
        );
        // Java's limit is inclusive: 16,777,212 passes, one more fails.
        assert!(matches!(
            check_frame(&[0, 0xFF, 0xFF, 0xFC, 0, 0, 0, 0], &l),
            FrameCheck::NeedMore(_)
        ));
        assert!(matches!(
            check_frame(&[0, 0xFF, 0xFF, 0xFD, 0, 0, 0, 0], &l),
            FrameCheck::Invalid(_)
        ));
    }

    /// A JSON header keeps the first N extFields entries: cut while read on the fastjson
    /// canonical path, cut after on the tolerant one; the same entries either way.
    #[test]
    fn json_ext_fields_cut_to_the_budget() {
        let cmd = RemotingCommand {
            code: 10,
            ext_fields: Some(
                (0..100)
                    .map(|i| (format!("k{i}").into(), "v".into()))
                    .collect(),
            ),
            ..Default::default()
        };
        let mut h = Vec::new();
        encode_json_header(&cmd, &mut h);
        // The same header with a space after the first comma: off the fast path.
        let text = String::from_utf8(h.clone()).unwrap().replacen(",", ", ", 1);
        for (h, fast) in [(h, true), (text.into_bytes(), false)] {
            assert_eq!(canonical::scan(&h).is_some(), fast);
            let c = decode_json_header_keeping(&h, 3).unwrap();
            let ext = c.ext_fields.as_ref().unwrap();
            let keys: Vec<&str> = ext.iter().map(|e| e.0.as_str()).collect();
            assert_eq!(keys, ["k0", "k1", "k2"]);
            assert_eq!(c.ext_fields_dropped, 97);
            if fast {
                assert!(ext.capacity() < 100);
            }
        }
    }
}
