//! Messages: the properties string, sysFlag, body compression, batch bodies, stored
//! messages (pull responses) and the two kinds of message id.
//!
//! Sources (apache/rocketmq): `common/.../message/MessageDecoder.java` (`decode`,
//! `decodesBatch`, `decodeMessages`, `string2messageProperties`, `createMessageId`),
//! `MessageClientIDSetter.java`, `sysflag/MessageSysFlag.java`,
//! `compression/CompressionType.java`; protocol.md sections 7–11.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;

/// `MessageSysFlag` bits.
pub mod sysflag {
    pub const COMPRESSED: i32 = 0x1;
    pub const MULTI_TAGS: i32 = 0x2;
    pub const TRANSACTION_MASK: i32 = 0xC;
    pub const TRANSACTION_PREPARED: i32 = 0x4;
    pub const TRANSACTION_COMMIT: i32 = 0x8;
    pub const TRANSACTION_ROLLBACK: i32 = 0xC;
    pub const BORNHOST_V6: i32 = 0x10;
    pub const STOREHOST_V6: i32 = 0x20;
    pub const NEED_UNWRAP: i32 = 0x40;
    pub const INNER_BATCH: i32 = 0x80;
    pub const COMPRESSION_TYPE_MASK: i32 = 0x700;
}

/// Names of the set sysFlag bits, e.g. `["COMPRESSED", "ZLIB"]`.
pub fn sysflag_names(flag: i32) -> Vec<&'static str> {
    let mut v = Vec::new();
    if flag & sysflag::COMPRESSED != 0 {
        v.push("COMPRESSED");
    }
    if flag & sysflag::MULTI_TAGS != 0 {
        v.push("MULTI_TAGS");
    }
    match flag & sysflag::TRANSACTION_MASK {
        sysflag::TRANSACTION_PREPARED => v.push("TRANSACTION_PREPARED"),
        sysflag::TRANSACTION_COMMIT => v.push("TRANSACTION_COMMIT"),
        sysflag::TRANSACTION_ROLLBACK => v.push("TRANSACTION_ROLLBACK"),
        _ => {}
    }
    if flag & sysflag::BORNHOST_V6 != 0 {
        v.push("BORNHOST_V6");
    }
    if flag & sysflag::STOREHOST_V6 != 0 {
        v.push("STOREHOST_V6");
    }
    if flag & sysflag::NEED_UNWRAP != 0 {
        v.push("NEED_UNWRAP");
    }
    if flag & sysflag::INNER_BATCH != 0 {
        v.push("INNER_BATCH");
    }
    match (flag & sysflag::COMPRESSION_TYPE_MASK) >> 8 {
        1 => v.push("LZ4"),
        2 => v.push("ZSTD"),
        3 => v.push("ZLIB"),
        0 => {}
        _ => v.push("UNKNOWN_COMPRESSION_TYPE"),
    }
    v
}

/// Parses a properties string (`name \x01 value \x02` …) like Java 4.9.4+
/// `string2messageProperties`: entries split at 0x02, the first 0x01 splits name from
/// value, entries with an empty name or value are dropped. Order is kept.
pub fn parse_properties(s: &str) -> Vec<(String, String)> {
    parse_properties_cow(Cow::Borrowed(s))
        .into_iter()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Properties as decoded: (name, value) in wire order, borrowed when possible.
pub type Properties<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// [`parse_properties`] borrowing from the text when it can.
pub fn parse_properties_cow(s: Cow<'_, str>) -> Properties<'_> {
    parse_properties_limited(s, usize::MAX).0
}

/// The entries of a properties string, as `string2messageProperties` keeps them.
fn property_entries(s: &str) -> impl Iterator<Item = (&str, &str)> {
    s.split('\u{2}').filter_map(|entry| {
        entry
            .split_once('\u{1}')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
    })
}

/// [`parse_properties_cow`] keeping at most `max` properties (`Limits::max_properties`);
/// also returns how many more the string holds (counted, not kept, nothing allocated for
/// them).
pub fn parse_properties_limited(s: Cow<'_, str>, max: usize) -> (Properties<'_>, usize) {
    match s {
        Cow::Borrowed(b) => {
            let mut it = property_entries(b);
            let kept = it
                .by_ref()
                .take(max)
                .map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
                .collect();
            (kept, it.count())
        }
        Cow::Owned(o) => {
            let mut it = property_entries(&o);
            let kept = it
                .by_ref()
                .take(max)
                .map(|(k, v)| (Cow::Owned(k.to_string()), Cow::Owned(v.to_string())))
                .collect();
            (kept, it.count())
        }
    }
}

/// Writes properties as Java's `messageProperties2String` does.
pub fn encode_properties(props: &[(String, String)]) -> String {
    let mut s = String::new();
    for (k, v) in props {
        s.push_str(k);
        s.push('\u{1}');
        s.push_str(v);
        s.push('\u{2}');
    }
    s
}

/// Decompresses a body per the sysFlag compression type (0 or 3 zlib, 1 LZ4 frame,
/// 2 zstd), reading at most `max_out` bytes.
pub fn decompress(sys_flag: i32, data: &[u8], max_out: usize) -> Result<Vec<u8>, String> {
    decompress_bounded(sys_flag, data, max_out).map_err(|e| e.to_string())
}

/// Why a body was not inflated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InflateError {
    /// The body inflates past the given limit (nothing past it was produced).
    TooBig { codec: &'static str, limit: usize },
    /// The compressed data is corrupt, or the compression type is unknown.
    Bad(String),
}

impl std::fmt::Display for InflateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InflateError::TooBig { codec, limit } => {
                write!(f, "{codec} body inflates past the {limit}-byte limit")
            }
            InflateError::Bad(e) => f.write_str(e),
        }
    }
}

/// [`decompress`] telling a body that is too big from a corrupt one.
pub fn decompress_bounded(
    sys_flag: i32,
    data: &[u8],
    max_out: usize,
) -> Result<Vec<u8>, InflateError> {
    decompress_counted(sys_flag, data, max_out).0
}

/// [`decompress_bounded`], also giving the bytes inflated whether or not it succeeded (at
/// most `max_out + 1`): what an attempt cost, charged to the frame's budget.
pub fn decompress_counted(
    sys_flag: i32,
    data: &[u8],
    max_out: usize,
) -> (Result<Vec<u8>, InflateError>, usize) {
    let kind = (sys_flag & sysflag::COMPRESSION_TYPE_MASK) >> 8;
    let limit = max_out as u64 + 1;
    let mut out = Vec::new();
    let r = match kind {
        0 | 3 => flate2::read::ZlibDecoder::new(data)
            .take(limit)
            .read_to_end(&mut out),
        1 => lz4_flex::frame::FrameDecoder::new(data)
            .take(limit)
            .read_to_end(&mut out),
        2 => match ruzstd::decoding::StreamingDecoder::new(data) {
            Ok(d) => d.take(limit).read_to_end(&mut out),
            Err(e) => return (Err(InflateError::Bad(format!("zstd: {e}"))), 0),
        },
        k => {
            return (
                Err(InflateError::Bad(format!(
                    "unknown compression type {k} in sysFlag"
                ))),
                0,
            );
        }
    };
    let produced = out.len();
    let codec = match kind {
        1 => "LZ4",
        2 => "zstd",
        _ => "zlib",
    };
    if let Err(e) = r {
        return (
            Err(InflateError::Bad(format!("{codec} inflate failed: {e}"))),
            produced,
        );
    }
    if out.len() > max_out {
        return (
            Err(InflateError::TooBig {
                codec,
                limit: max_out,
            }),
            produced,
        );
    }
    (Ok(out), produced)
}

/// One message as it appears in a send request, batch or pull response. Text and body
/// borrow from the command they were decoded from (the body is owned only when it was
/// decompressed).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Message<'a> {
    pub topic: Cow<'a, str>,
    pub queue_id: Option<i32>,
    pub flag: i32,
    pub sys_flag: i32,
    pub properties: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// Body after decompression (as sent when not compressed).
    pub body: Cow<'a, [u8]>,
    /// Body length on the wire.
    pub wire_body_len: usize,
    pub compressed: bool,
    /// Stored-message fields (pull responses).
    pub stored: Option<StoredInfo>,
    /// Problem decoding this message (body kept as on the wire).
    pub error: Option<String>,
    /// The producer's born time (ms) when known from the send header or the stored message.
    pub born_timestamp: Option<i64>,
    /// Properties past `Limits::max_properties` that were not kept.
    pub properties_dropped: usize,
    /// The messages of an inner batch (stored sysFlag INNER_BATCH | NEED_UNWRAP), unwrapped
    /// as `MessageDecoder.decodeMessage(MessageExt, List)` does.
    pub inner: Vec<Message<'a>>,
}

impl<'a> Message<'a> {
    pub fn property(&self, k: &str) -> Option<&str> {
        self.properties
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_ref())
    }
    pub fn tags(&self) -> Option<&str> {
        self.property("TAGS")
    }
    pub fn keys(&self) -> Option<&str> {
        self.property("KEYS")
    }
    pub fn uniq_key(&self) -> Option<&str> {
        self.property("UNIQ_KEY")
    }

    /// Builds a message from a body and its sysFlag, inflating when compressed (unless
    /// `max_body` is 0: then the body stays as on the wire).
    pub fn with_body(
        topic: Cow<'a, str>,
        sys_flag: i32,
        props: Cow<'a, str>,
        wire: &'a [u8],
        max_body: usize,
    ) -> Self {
        let mut budget = super::body::Budget::unlimited(max_body);
        Self::with_body_in(topic, sys_flag, props, Cow::Borrowed(wire), &mut budget)
    }

    /// [`Message::with_body`] within a frame's budget: properties past `max_properties`
    /// are counted, not kept; a compressed body inflates only within what is left of
    /// `max_inflated_per_frame` (else it stays as on the wire, counted by the budget).
    pub fn with_body_in(
        topic: Cow<'a, str>,
        sys_flag: i32,
        props: Cow<'a, str>,
        wire: Cow<'a, [u8]>,
        budget: &mut super::body::Budget,
    ) -> Self {
        let (properties, properties_dropped) =
            parse_properties_limited(props, budget.limits().max_properties);
        budget.note_properties_dropped(properties_dropped);
        let mut m = Message {
            topic,
            sys_flag,
            properties,
            properties_dropped,
            wire_body_len: wire.len(),
            compressed: sys_flag & sysflag::COMPRESSED != 0,
            body: wire,
            ..Default::default()
        };
        if m.compressed && budget.max_body() > 0 {
            let (limit, frame_bound) = budget.inflate_limit();
            let left_compressed = |budget: &mut super::body::Budget| {
                budget.note_not_inflated();
                format!(
                    "{}: the frame's inflate budget ({} bytes) is spent",
                    super::body::LEFT_COMPRESSED,
                    budget.limits().max_inflated_per_frame
                )
            };
            if limit == 0 && frame_bound {
                m.error = Some(left_compressed(budget));
                return m;
            }
            // Every attempt is charged what it inflated, failed or not: one frame costs at
            // most one `max_inflated_per_frame` of inflating.
            let (r, produced) = decompress_counted(sys_flag, &m.body, limit);
            budget.note_inflated(produced);
            match r {
                Ok(b) => m.body = Cow::Owned(b),
                Err(InflateError::TooBig { .. }) if frame_bound => {
                    m.error = Some(left_compressed(budget));
                }
                Err(e) => m.error = Some(e.to_string()),
            }
        }
        m
    }

    /// The same message owning all its text and bytes.
    pub fn into_owned(self) -> Message<'static> {
        Message {
            topic: Cow::Owned(self.topic.into_owned()),
            queue_id: self.queue_id,
            flag: self.flag,
            sys_flag: self.sys_flag,
            properties: self
                .properties
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), Cow::Owned(v.into_owned())))
                .collect(),
            body: Cow::Owned(self.body.into_owned()),
            wire_body_len: self.wire_body_len,
            compressed: self.compressed,
            stored: self.stored,
            error: self.error,
            born_timestamp: self.born_timestamp,
            properties_dropped: self.properties_dropped,
            inner: self.inner.into_iter().map(Message::into_owned).collect(),
        }
    }

    /// This message and its inner-batch messages, outer first.
    pub fn with_inner(&self) -> impl Iterator<Item = &Message<'a>> {
        std::iter::once(self).chain(self.inner.iter())
    }
}

/// Fields only a stored message has (`MessageExt`).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredInfo {
    pub magic: u32,
    pub body_crc: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub store_size: i32,
}

impl StoredInfo {
    /// The offset message id (`MessageDecoder.createMessageId`).
    pub fn offset_msg_id(&self) -> String {
        create_offset_msg_id(self.store_host, self.commit_log_offset)
    }
}

pub use super::msg_id::{OffsetMsgId, create_offset_msg_id, decode_offset_msg_id, hex_upper};
pub use super::uniq_key::{
    UniqKey, decode_uniq_key, utc_month_start_ms, utc_offset_from_month_start,
};

pub use super::body::{MAGIC_V1, MAGIC_V2, decode_batch, decode_stored_messages};

/// Properties as a JSON object (later duplicates win).
pub fn properties_json(
    props: &[(Cow<'_, str>, Cow<'_, str>)],
) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    for (k, v) in props {
        m.insert(k.to_string(), serde_json::Value::String(v.to_string()));
    }
    m
}

/// User properties: everything that is not a well-known system key.
pub fn user_properties(props: &[(Cow<'_, str>, Cow<'_, str>)]) -> BTreeMap<String, String> {
    props
        .iter()
        .filter(|(k, _)| !is_system_property(k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Keys from `MessageConst` (and the trace agents' keys).
pub fn is_system_property(k: &str) -> bool {
    const SYS: &[&str] = &[
        "KEYS",
        "TAGS",
        "WAIT",
        "DELAY",
        "RETRY_TOPIC",
        "REAL_TOPIC",
        "REAL_QID",
        "TRAN_MSG",
        "PGROUP",
        "MIN_OFFSET",
        "MAX_OFFSET",
        "BUYER_ID",
        "ORIGIN_MESSAGE_ID",
        "TRANSFER_FLAG",
        "CORRECTION_FLAG",
        "MQ2_FLAG",
        "RECONSUME_TIME",
        "MSG_REGION",
        "TRACE_ON",
        "UNIQ_KEY",
        "EXTEND_UNIQ_INFO",
        "MAX_RECONSUME_TIMES",
        "CONSUME_START_TIME",
        "INNER_NUM",
        "INNER_BASE",
        "DUP_INFO",
        "CHECK_IMMUNITY_TIME_IN_SECONDS",
        "TRAN_PREPARED_QUEUE_OFFSET",
        "__transactionId__",
        "TRANSACTION_CHECK_TIMES",
        "INSTANCE_ID",
        "CORRELATION_ID",
        "REPLY_TO_CLIENT",
        "TTL",
        "ARRIVE_TIME",
        "PUSH_REPLY_TIME",
        "MSG_TYPE",
        "CLUSTER",
        "POP_CK",
        "POP_CK_OFFSET",
        "1ST_POP_TIME",
        "__SHARDINGKEY",
        "TRACE_CONTEXT",
        "__BORNHOST",
        "BORN_TIMESTAMP",
        "DLQ_ORIGIN_TOPIC",
        "DLQ_ORIGIN_MESSAGE_ID",
        "__STARTDELIVERTIME",
        "traceparent",
        "sw8",
        "TIMER_DELAY_SEC",
        "TIMER_DELIVER_MS",
        "TIMER_DELAY_MS",
        "TIMER_DELAY_LEVEL",
        "TIMER_ENQUEUE_MS",
        "TIMER_DEQUEUE_MS",
        "TIMER_ROLL_TIMES",
        "TIMER_OUT_MS",
        "TIMER_DEL_UNIQKEY",
    ];
    SYS.contains(&k) || k.starts_with("__RMQ.TRANSIENT.") || k.starts_with("__CRC32#")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::msg_id::unhex;
    use std::net::Ipv6Addr;

    /// A stored message in the 5.1 V2 layout (i16 topic length) with IPv6 born and store
    /// hosts (sysFlag 0x30), built field by field as `MessageDecoder.encode` writes it.
    #[test]
    fn stored_message_v2_ipv6() {
        let body = b"hello v6";
        let topic = "T".repeat(130);
        let props = "UNIQ_KEY\u{1}AB\u{2}TAGS\u{1}x\u{2}";
        let mut r = Vec::new();
        r.extend_from_slice(&0i32.to_be_bytes()); // totalSize, patched below
        r.extend_from_slice(&MAGIC_V2.to_be_bytes());
        r.extend_from_slice(&7i32.to_be_bytes()); // bodyCRC
        r.extend_from_slice(&3i32.to_be_bytes()); // queueId
        r.extend_from_slice(&0i32.to_be_bytes()); // flag
        r.extend_from_slice(&42i64.to_be_bytes()); // queueOffset
        r.extend_from_slice(&4096i64.to_be_bytes()); // physicalOffset
        r.extend_from_slice(&0x30i32.to_be_bytes()); // sysFlag: both hosts IPv6
        r.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        r.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        r.extend_from_slice(&50000i32.to_be_bytes());
        r.extend_from_slice(&1_700_000_000_001i64.to_be_bytes());
        r.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        r.extend_from_slice(&10911i32.to_be_bytes());
        r.extend_from_slice(&0i32.to_be_bytes()); // reconsumeTimes
        r.extend_from_slice(&0i64.to_be_bytes()); // preparedTransactionOffset
        r.extend_from_slice(&(body.len() as i32).to_be_bytes());
        r.extend_from_slice(body);
        r.extend_from_slice(&(topic.len() as i16).to_be_bytes());
        r.extend_from_slice(topic.as_bytes());
        r.extend_from_slice(&(props.len() as i16).to_be_bytes());
        r.extend_from_slice(props.as_bytes());
        let n = r.len() as i32;
        r[..4].copy_from_slice(&n.to_be_bytes());
        let mut two = r.clone();
        two.extend_from_slice(&r);
        let (msgs, err) = decode_stored_messages(&two, 1 << 20);
        assert!(err.is_empty(), "{err:?}");
        assert_eq!(msgs.len(), 2);
        let m = &msgs[0];
        assert_eq!(m.topic, topic.as_str());
        assert_eq!(&*m.body, body);
        assert_eq!(m.tags(), Some("x"));
        let st = m.stored.as_ref().unwrap();
        assert_eq!(st.born_host, "[::1]:50000".parse().unwrap());
        assert_eq!(st.store_host, "[2001:db8::1]:10911".parse().unwrap());
        assert_eq!((st.queue_offset, st.commit_log_offset), (42, 4096));
        // A 56-hex-digit offset msgId for an IPv6 store host, and back.
        let id = st.offset_msg_id();
        assert_eq!(id.len(), 56);
        let back = decode_offset_msg_id(&id).unwrap();
        assert_eq!(
            (back.store_host, back.commit_log_offset),
            (st.store_host, 4096)
        );
        // A truncated second record is reported with its offset, the first one kept.
        let (msgs, err) = decode_stored_messages(&two[..two.len() - 3], 1 << 20);
        assert_eq!(msgs.len(), 1);
        assert!(err[0].contains(&format!("stored message 1 at body offset {n}")));
    }

    #[test]
    fn offset_msg_id_round_trip() {
        let id = decode_offset_msg_id("0A8C18BD00002A9F00000000000C6228").unwrap();
        assert_eq!(id.store_host, "10.140.24.189:10911".parse().unwrap());
        assert_eq!(id.commit_log_offset, 811560);
        assert_eq!(
            create_offset_msg_id(id.store_host, id.commit_log_offset),
            "0A8C18BD00002A9F00000000000C6228"
        );
    }

    #[test]
    fn properties_like_java() {
        let p = parse_properties(
            "UNIQ_KEY\u{1}ABC\u{2}WAIT\u{1}true\u{2}\u{1}x\u{2}k\u{1}\u{2}v\u{1}a\u{1}b\u{2}",
        );
        assert_eq!(
            p,
            vec![
                ("UNIQ_KEY".into(), "ABC".into()),
                ("WAIT".into(), "true".into()),
                ("v".into(), "a\u{1}b".into())
            ]
        );
        assert_eq!(
            encode_properties(&p[..2]),
            "UNIQ_KEY\u{1}ABC\u{2}WAIT\u{1}true\u{2}"
        );
    }

    #[test]
    fn hostile_lengths_do_not_allocate() {
        let mut b = vec![0u8; 100];
        b[4..8].copy_from_slice(&MAGIC_V1.to_be_bytes());
        b[84..88].copy_from_slice(&i32::MAX.to_be_bytes());
        let (m, e) = decode_stored_messages(&b, 1 << 20);
        assert!(m.is_empty());
        assert!(e[0].contains("body"));
        let (m, e) = decode_batch(&[0, 0, 0, 10, 1, 2], "t", None);
        assert!(m.is_empty() && !e.is_empty());
    }

    fn unhex_vec(s: &str) -> Vec<u8> {
        unhex(s).unwrap()
    }

    /// Bodies compressed by the reference tools (zstd 1.5 CLI, lz4 1.9 CLI: the LZ4 frame
    /// format lz4-java's LZ4FrameOutputStream writes), decoded per the 5.x type bits.
    #[test]
    fn lz4_frame_and_zstd_vectors() {
        let text = b"Hello RocketMQ compressed body, Hello RocketMQ compressed body!";
        let zstd = unhex_vec(
            "28B52FFD243F4D0100140248656C6C6F20526F636B65744D5120636F6D7072657373656420626F64792C2021010018A27A023EF90D4C",
        );
        let lz4 = unhex_vec(
            "04224D186440A72B000000FF1148656C6C6F20526F636B65744D5120636F6D7072657373656420626F64792C2020000750626F64792100000000D0FF818A",
        );
        assert_eq!(decompress(0x201, &zstd, 1 << 20).unwrap(), text);
        assert_eq!(decompress(0x101, &lz4, 1 << 20).unwrap(), text);
        // Wrong type bits give a located error, not garbage.
        assert!(
            decompress(0x301, &zstd, 1 << 20)
                .unwrap_err()
                .contains("zlib")
        );
        assert!(
            decompress(0x401, &zstd, 1 << 20)
                .unwrap_err()
                .contains("unknown compression type")
        );
        let m = Message::with_body("t".into(), 0x201, "".into(), &zstd, 1 << 20);
        assert_eq!(&*m.body, text);
        assert!(m.compressed && m.error.is_none());
        assert_eq!(sysflag_names(0x201), vec!["COMPRESSED", "ZSTD"]);
    }

    #[test]
    fn zlib_bomb_is_capped() {
        use std::io::Write;
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 1 << 20]).unwrap();
        let z = enc.finish().unwrap();
        assert!(decompress(1, &z, 1000).is_err());
        assert_eq!(decompress(1, &z, 1 << 20).unwrap().len(), 1 << 20);
    }
}
