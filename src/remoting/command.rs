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
use super::json::{JStr, JValue};
use super::json_header::encode_json_canonical;
pub use super::json_header::{
    JsonHeaderOptions, KeyFilter, LayoutNeed, decode_json_header, decode_json_header_keeping,
    decode_json_header_tolerant, decode_json_header_with, encode_json_header,
    encode_json_header_canonical,
};

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

/// Decodes one whole frame (`frame` starts with the length field and holds exactly the frame),
/// with the full layout of its header: it re-encodes to the same bytes.
pub fn decode_frame(frame: &[u8], limits: &FrameLimits) -> Result<RemotingCommand, FrameError> {
    decode_frame_as(frame, limits, LayoutNeed::Full)
}

/// The header and body bounds of a whole frame, checked.
fn split_frame<'a>(
    frame: &'a [u8],
    limits: &FrameLimits,
) -> Result<(SerializeType, &'a [u8], &'a [u8]), FrameError> {
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
    Ok((st, &frame[8..8 + header_len], &frame[8 + header_len..]))
}

/// Decodes a frame's header (offsets in errors counted from the frame start).
fn decode_header(
    st: SerializeType,
    header: &[u8],
    o: &JsonHeaderOptions,
) -> Result<RemotingCommand, FrameError> {
    let res = match st {
        SerializeType::Json => decode_json_header_with(header, o),
        SerializeType::RocketMq => decode_binary_header_keeping(header, o.max_ext).map(|mut c| {
            if let (Some(keep), Some(ext)) = (o.keep, &mut c.ext_fields) {
                let code = c.code;
                ext.retain(|(k, _)| keep(Some(code), k));
            }
            c
        }),
    };
    res.map_err(|mut e| {
        e.offset += 8;
        e
    })
}

/// [`decode_frame`] keeping as much of a JSON header's written form as `layout` says
/// (a ROCKETMQ header always keeps its layout, which costs nothing).
pub fn decode_frame_as(
    frame: &[u8],
    limits: &FrameLimits,
    layout: LayoutNeed,
) -> Result<RemotingCommand, FrameError> {
    let (st, header, body) = split_frame(frame, limits)?;
    let o = JsonHeaderOptions {
        max_ext: limits.max_ext_fields,
        keep: None,
        layout,
    };
    let mut cmd = decode_header(st, header, &o)?;
    cmd.body = body.to_vec();
    Ok(cmd)
}

/// Decodes a frame keeping only the extFields whose keys `keys` accepts, no header layout,
/// and no body unless `keep_body` says so (the body is never copied otherwise): the path
/// for statistics, which need a few header fields of every frame. The command it returns
/// is partial and does not re-encode to the wire bytes.
pub fn decode_frame_light(
    frame: &[u8],
    limits: &FrameLimits,
    keys: KeyFilter,
    keep_body: impl Fn(&RemotingCommand, &[u8]) -> bool,
) -> Result<RemotingCommand, FrameError> {
    let (st, header, body) = split_frame(frame, limits)?;
    let o = JsonHeaderOptions {
        max_ext: limits.max_ext_fields,
        keep: Some(keys),
        layout: LayoutNeed::None,
    };
    let mut cmd = decode_header(st, header, &o)?;
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
    encode_frame_parts(cmd, false, out);
}

/// The frame with its JSON header exactly as fastjson writes it, whatever layout the
/// command recorded (a ROCKETMQ header as usual).
pub fn encode_frame_canonical(cmd: &RemotingCommand) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + cmd.body.len());
    encode_frame_parts(cmd, true, &mut out);
    out
}

fn encode_frame_parts(cmd: &RemotingCommand, canonical: bool, out: &mut Vec<u8>) {
    encode_frame_head(cmd, canonical, out);
    out.extend_from_slice(&cmd.body);
}

/// Appends the encoded frame without its body: the length and header-length words and the
/// header, as [`encode_frame`] (`canonical` false) or [`encode_frame_canonical`] writes
/// them; the whole frame is these bytes followed by `cmd.body`. For comparing with the
/// wire (`rmqdump verify`) without copying the body.
pub fn encode_frame_head(cmd: &RemotingCommand, canonical: bool, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    match cmd.serialize {
        SerializeType::Json if canonical => encode_json_canonical(cmd, out),
        SerializeType::Json => encode_json_header(cmd, out),
        SerializeType::RocketMq => encode_binary_header(cmd, out),
    }
    let header_len = out.len() - start - 8;
    let length = (header_len + 4 + cmd.body.len()) as u32;
    out[start..start + 4].copy_from_slice(&length.to_be_bytes());
    let word = ((cmd.serialize.byte() as u32) << 24) | (header_len as u32 & 0x00FF_FFFF);
    out[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
}

#[cfg(test)]
mod tests {
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
            // a null language and an array remark, read as "" (were written back as "")
            br#"{"code":1,"language":null,"opaque":2,"remark":[1,{"y":null}]}"#,
        ] {
            let mut frame = ((h.len() + 4) as u32).to_be_bytes().to_vec();
            frame.extend_from_slice(&(h.len() as u32).to_be_bytes());
            frame.extend_from_slice(h);
            let cmd = decode_frame(&frame, &FrameLimits::default()).unwrap();
            assert_eq!(encode_frame(&cmd), frame, "{}", String::from_utf8_lossy(h));
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

    /// A JSON header keeps the first N extFields entries, cut while read (the entries past
    /// the budget are checked, not decoded), in fastjson's form or not.
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
        for h in [h, text.into_bytes()] {
            let c = decode_json_header_keeping(&h, 3).unwrap();
            let ext = c.ext_fields.as_ref().unwrap();
            let keys: Vec<&str> = ext.iter().map(|e| e.0.as_str()).collect();
            assert_eq!(keys, ["k0", "k1", "k2"]);
            assert_eq!(c.ext_fields_dropped, 97);
            assert!(ext.capacity() < 100);
        }
    }
}
