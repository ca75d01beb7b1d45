//! The JSON Lines writer: each frame's object (docs/json-lines.md) written straight into a
//! byte buffer, with no `serde_json::Value` built per frame.
//!
//! The output is byte-identical to serializing the `serde_json::Value` the objects used to be
//! built as: serde_json's `Map` is a `BTreeMap` (no `preserve_order`), so every object's keys
//! are in byte order, and a key given twice keeps its last value (`Map::insert`). Fixed keys
//! are written in that order here (debug builds check it); maps from the wire (extFields,
//! the typed header, properties) are sorted, later duplicates winning. Strings and numbers go
//! through serde_json's own serializer (its escaping: `"`, `\`, `\b\f\n\r\t`, other control
//! characters as `\u00XX`, everything else raw), and numbers from a JSON header or body keep
//! serde_json's `arbitrary_precision` form. JSON bodies (route data, heartbeats…) are still a
//! `serde_json::Value` from the decoder and are serialized as they are.

use base64::Engine;
use serde::Serialize;

use crate::analysis::{FrameRecord, Problem};
use crate::protocol::headers::HVal;
use crate::protocol::message::{self, Message};
use crate::protocol::{self, Decoded, pop_info};
use crate::remoting::codes::{RequestCode, version_name};
use crate::remoting::command::{Kind, RemotingCommand};

use super::OutputOptions;

/// A scalar as serde_json writes it (strings escaped, integers, booleans, `null` for `None`).
fn val<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    // Serializing a string, number, boolean or option into a Vec cannot fail.
    let _ = serde_json::to_writer(out, v);
}

/// Whether any of 8 bytes needs a JSON escape (below 0x20, `"` or `\\`): the bit tricks
/// for "has a byte less than n" and "has a zero byte", exact as a yes/no.
fn needs_escape(x: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let below_20 = x.wrapping_sub(LO * 0x20) & !x & HI;
    let q = x ^ (LO * u64::from(b'"'));
    let quote = q.wrapping_sub(LO) & !q & HI;
    let b = x ^ (LO * u64::from(b'\\'));
    let backslash = b.wrapping_sub(LO) & !b & HI;
    below_20 | quote | backslash != 0
}

/// A string as serde_json writes it (`format_escaped_str`): `"` and `\\` backslashed,
/// `\b \t \n \f \r`, other control characters as `\u00XX` (lowercase hex), everything else
/// (DEL, non-ASCII, U+2028) as it is. Clean runs are scanned 8 bytes at a time and copied
/// whole.
fn str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut run = 0;
    let mut i = 0;
    while i < b.len() {
        while let Some(chunk) = b.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            if needs_escape(u64::from_le_bytes(w)) {
                break;
            }
            i += 8;
        }
        let Some(&c) = b.get(i) else { break };
        let short = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x09 => b't',
            0x0A => b'n',
            0x0C => b'f',
            0x0D => b'r',
            0..0x20 => b'u',
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&b[run..i]);
        out.push(b'\\');
        out.push(short);
        if short == b'u' {
            out.extend_from_slice(b"00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 0xF)]);
        }
        i += 1;
        run = i;
    }
    out.extend_from_slice(&b[run..]);
    out.push(b'"');
}

/// An optional string (`null` for `None`).
fn opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A decimal number without the formatting machinery.
fn dec(out: &mut Vec<u8>, mut n: u32) {
    let mut b = [0u8; 10];
    let mut i = b.len();
    loop {
        i -= 1;
        b[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&b[i..]);
}

/// A socket address as its `Display` string (`ip:port`, `[ip]:port`), which needs no escape.
fn addr(out: &mut Vec<u8>, a: &std::net::SocketAddr) {
    match a {
        std::net::SocketAddr::V4(v4) => {
            out.push(b'"');
            for (i, o) in v4.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                dec(out, o.into());
            }
            out.push(b':');
            dec(out, v4.port().into());
            out.push(b'"');
        }
        a => display_string(out, a),
    }
}

/// One JSON object being written: `{`, then `key:` per member, then `}`.
struct Obj<'o> {
    out: &'o mut Vec<u8>,
    members: usize,
    #[cfg(debug_assertions)]
    prev: String,
}

impl<'o> Obj<'o> {
    fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj {
            out,
            members: 0,
            #[cfg(debug_assertions)]
            prev: String::new(),
        }
    }

    /// What comes before every key: the order check (debug builds) and the comma.
    fn next_member(&mut self, _k: &str) {
        #[cfg(debug_assertions)]
        {
            debug_assert!(
                self.members == 0 || self.prev.as_str() < _k,
                "JSON key {_k:?} after {:?}: keys must be in byte order",
                self.prev
            );
            self.prev = _k.to_string();
        }
        if self.members > 0 {
            self.out.push(b',');
        }
        self.members += 1;
    }

    /// Writes the next key (strictly after the previous one in byte order) and returns the
    /// buffer for its value.
    fn key(&mut self, k: &str) -> &mut Vec<u8> {
        self.next_member(k);
        str(self.out, k);
        self.out.push(b':');
        self.out
    }

    /// Writes the next key given as its JSON text with the colon (`"code":`, from [`k!`]):
    /// a literal that needs no escaping, copied as it is.
    fn fixed(&mut self, quoted: &'static str) -> &mut Vec<u8> {
        let k = &quoted[1..quoted.len() - 2];
        #[cfg(debug_assertions)]
        debug_assert!(
            !needs_escape_any(k),
            "JSON key literal {k:?} needs escaping"
        );
        self.next_member(k);
        self.out.extend_from_slice(quoted.as_bytes());
        self.out
    }

    fn end(self) {
        self.out.push(b'}');
    }
}

/// Whether a string has any byte that needs a JSON escape.
#[cfg(debug_assertions)]
fn needs_escape_any(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\')
}

/// The next member of an object under a literal key: `k!(o, "code")`.
macro_rules! k {
    ($o:expr, $key:literal) => {
        $o.fixed(concat!("\"", $key, "\":"))
    };
}

/// Indices of `keys` in byte order of the key, a key given more than once keeping only its
/// last index (what inserting them one by one into a `serde_json::Map` keeps).
pub(crate) fn sorted_last_wins<'k>(keys: impl Iterator<Item = &'k str>) -> Vec<(&'k str, usize)> {
    let mut v: Vec<(&str, usize)> = keys.enumerate().map(|(i, k)| (k, i)).collect();
    v.sort_unstable();
    // Equal keys are adjacent, ascending by index: keep the last of each run.
    let mut kept: Vec<(&str, usize)> = Vec::with_capacity(v.len());
    for (k, i) in v {
        match kept.last_mut() {
            Some(last) if last.0 == k => last.1 = i,
            _ => kept.push((k, i)),
        }
    }
    kept
}

fn base64_string(out: &mut Vec<u8>, b: &[u8]) {
    let engine = &base64::engine::general_purpose::STANDARD;
    out.push(b'"');
    // Base64 needs no escaping. The length is bounded by the body shown (at most
    // `max_body_print` bytes of a body already held).
    let start = out.len();
    let n = b.len().div_ceil(3) * 4;
    out.resize(start + n, 0);
    match engine.encode_slice(b, &mut out[start..]) {
        Ok(w) => out.truncate(start + w),
        Err(_) => {
            // Not reached (the slice is the encoded size); fall back to a String.
            out.truncate(start);
            out.extend_from_slice(engine.encode(b).as_bytes());
        }
    }
    out.push(b'"');
}

/// A `Display` value that needs no JSON escape (addresses, code names), as a string.
fn display_string(out: &mut Vec<u8>, v: &dyn std::fmt::Display) {
    use std::io::Write as _;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "\"{v}\"");
}

/// A message object (docs/json-lines.md, "Message object"), its body cut at
/// `max_body_print` bytes (then `body_truncated` is true).
pub fn write_message(out: &mut Vec<u8>, m: &Message, show_secrets: bool, max_body_print: usize) {
    let mut o = Obj::new(out);
    let shown = &m.body[..m.body.len().min(max_body_print)];
    base64_string(k!(o, "body"), shown);
    if let Some(s) = &m.stored {
        val(k!(o, "body_crc"), &s.body_crc);
    }
    val(k!(o, "body_len"), &m.body.len());
    if shown.len() < m.body.len() {
        val(k!(o, "body_truncated"), &true);
    }
    if let Some(s) = &m.stored {
        addr(k!(o, "born_host"), &s.born_host);
    }
    val(k!(o, "born_timestamp"), &m.born_timestamp);
    if let Some(s) = &m.stored {
        val(k!(o, "commit_log_offset"), &s.commit_log_offset);
    }
    val(k!(o, "compressed"), &m.compressed);
    if let Some(e) = &m.error {
        str(k!(o, "error"), e);
    }
    val(k!(o, "flag"), &m.flag);
    if !m.inner.is_empty() {
        let out = k!(o, "inner_messages");
        out.push(b'[');
        for (i, x) in m.inner.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_message(out, x, show_secrets, max_body_print);
        }
        out.push(b']');
    }
    opt_str(k!(o, "keys"), m.keys());
    if let Some(s) = &m.stored {
        display_string(k!(o, "magic"), &format_args!("{:08X}", s.magic));
        str(k!(o, "msg_id"), &s.offset_msg_id());
        val(
            k!(o, "prepared_transaction_offset"),
            &s.prepared_transaction_offset,
        );
    }
    {
        let props = sorted_last_wins(m.properties.iter().map(|(k, _)| k.as_ref()));
        let mut p = Obj::new(k!(o, "properties"));
        for (k, i) in props {
            let v: &str = if !show_secrets && protocol::is_secret(k) {
                "<redacted>"
            } else {
                &m.properties[i].1
            };
            str(p.key(k), v);
        }
        p.end();
    }
    if m.properties_dropped > 0 {
        val(k!(o, "properties_dropped"), &m.properties_dropped);
    }
    val(k!(o, "queue_id"), &m.queue_id);
    if let Some(s) = &m.stored {
        val(k!(o, "queue_offset"), &s.queue_offset);
        val(k!(o, "reconsume_times"), &s.reconsume_times);
        addr(k!(o, "store_host"), &s.store_host);
        val(k!(o, "store_size"), &s.store_size);
        val(k!(o, "store_timestamp"), &s.store_timestamp);
    }
    val(k!(o, "sys_flag"), &m.sys_flag);
    val(k!(o, "sys_flag_names"), &message::sysflag_names(m.sys_flag));
    opt_str(k!(o, "tags"), m.tags());
    str(k!(o, "topic"), &m.topic);
    let uniq = m.uniq_key();
    opt_str(k!(o, "uniq_key"), uniq);
    if let Some(k) = uniq.and_then(|k| message::decode_uniq_key(k, m.born_timestamp)) {
        let mut u = Obj::new(k!(o, "uniq_key_decoded"));
        val(k!(u, "class_loader"), &k.class_loader);
        val(k!(u, "counter"), &k.counter);
        display_string(k!(u, "ip"), &k.ip);
        val(k!(u, "month_offset_ms"), &k.month_offset_ms);
        val(k!(u, "month_start_ms"), &k.month_start_ms);
        val(k!(u, "pid"), &k.pid);
        val(k!(u, "utc_offset_minutes"), &k.utc_offset_minutes);
        u.end();
    }
    {
        // As `message::user_properties`, credentials redacted as in `properties`.
        let user: Vec<usize> = (0..m.properties.len())
            .filter(|&i| !message::is_system_property(&m.properties[i].0))
            .collect();
        let order = sorted_last_wins(user.iter().map(|&i| m.properties[i].0.as_ref()));
        let mut p = Obj::new(k!(o, "user_properties"));
        for (k, j) in order {
            let v: &str = if !show_secrets && protocol::is_secret(k) {
                "<redacted>"
            } else {
                &m.properties[user[j]].1
            };
            str(p.key(k), v);
        }
        p.end();
    }
    val(k!(o, "wire_body_len"), &m.wire_body_len);
    o.end();
}

/// extFields as on the wire: strings, or numbers/booleans/null where the JSON header had them
/// (credentials redacted unless `show_secrets`).
fn write_ext_fields(out: &mut Vec<u8>, cmd: &RemotingCommand, show_secrets: bool) {
    use crate::remoting::command::{HeaderLayout, JsonMember};
    use crate::remoting::json::JValue;
    let Some(ext) = &cmd.ext_fields else {
        out.extend_from_slice(b"null");
        return;
    };
    let forms = match &cmd.layout {
        HeaderLayout::Json(l) => l.members.iter().find_map(|m| match m {
            JsonMember::ExtFields(_, Some(el)) if el.len == ext.len() => Some(el),
            _ => None,
        }),
        _ => None,
    };
    let mut o = Obj::new(out);
    for (k, i) in sorted_last_wins(ext.iter().map(|(k, _)| k.as_str())) {
        let v = &ext[i].1;
        let out = o.key(k);
        match forms.and_then(|el| el.form(i)).map(|f| &f.value) {
            _ if !show_secrets && protocol::is_secret(k) => {
                str(out, if v.is_empty() { "" } else { "<redacted>" })
            }
            Some(JValue::Null) => out.extend_from_slice(b"null"),
            Some(JValue::Bool(b)) => val(out, b),
            // The digits as written (serde_json's arbitrary-precision Number).
            Some(jv @ JValue::Num(_)) => val(out, &jv.to_serde()),
            _ => str(out, v),
        }
    }
    o.end();
}

/// What the `header` member holds for one key.
enum HeaderItem<'a, 'v> {
    Val(&'a HVal<'v>),
    Redacted,
    Ids(Vec<message::OffsetMsgId>),
    StartOffsets(&'a [pop_info::StartOffset]),
    MsgOffsets(&'a [pop_info::MsgOffsets]),
    OrderCounts(&'a [pop_info::OrderCount]),
}

/// The typed header (keys sorted, later duplicates winning), credentials redacted unless
/// `show_secrets`, and for a send response `offsetMsgIdDecoded`.
pub(crate) fn write_header(
    out: &mut Vec<u8>,
    r: &FrameRecord,
    d: Option<&Decoded>,
    show_secrets: bool,
) {
    let Some(h) = d.and_then(|d| d.header.as_ref()) else {
        out.extend_from_slice(b"null");
        return;
    };
    let order = sorted_last_wins(h.iter().map(|(k, _)| *k));
    let mut items: Vec<(&str, HeaderItem)> = order
        .into_iter()
        .map(|(k, i)| {
            let v = &h[i].1;
            let redact = !show_secrets
                && protocol::is_secret(k)
                && matches!(v, HVal::Str(s) if !s.is_empty());
            (
                k,
                if redact {
                    HeaderItem::Redacted
                } else {
                    HeaderItem::Val(v)
                },
            )
        })
        .collect();
    // Decoded ids of a send result.
    let msg_id = items.iter().find_map(|(k, v)| match v {
        HeaderItem::Val(HVal::Str(s)) if *k == "msgId" => Some(*s),
        _ => None,
    });
    if let Some(id) = msg_id
        && r.request
            .as_ref()
            .is_some_and(|q| RequestCode(q.code).is_send())
    {
        let ids: Vec<message::OffsetMsgId> = id
            .split(',')
            .filter_map(message::decode_offset_msg_id)
            .collect();
        if !ids.is_empty() {
            const KEY: &str = "offsetMsgIdDecoded";
            match items.binary_search_by(|(k, _)| (*k).cmp(KEY)) {
                Ok(i) => items[i].1 = HeaderItem::Ids(ids),
                Err(i) => items.insert(i, (KEY, HeaderItem::Ids(ids))),
            }
        }
    }
    // A POP_MESSAGE answer's offset infos, decoded (protocol::pop_info).
    if let Some(p) = d.and_then(|d| d.pop.as_ref()) {
        let decoded = [
            (
                "startOffsetInfoDecoded",
                !p.start_offsets.is_empty(),
                HeaderItem::StartOffsets(&p.start_offsets),
            ),
            (
                "msgOffsetInfoDecoded",
                !p.msg_offsets.is_empty(),
                HeaderItem::MsgOffsets(&p.msg_offsets),
            ),
            (
                "orderCountInfoDecoded",
                !p.order_counts.is_empty(),
                HeaderItem::OrderCounts(&p.order_counts),
            ),
        ];
        for (key, any, item) in decoded {
            if any {
                match items.binary_search_by(|(k, _)| (*k).cmp(key)) {
                    Ok(i) => items[i].1 = item,
                    Err(i) => items.insert(i, (key, item)),
                }
            }
        }
    }
    let mut o = Obj::new(out);
    for (k, v) in &items {
        let out = o.key(k);
        match v {
            HeaderItem::StartOffsets(v) => {
                out.push(b'[');
                for (j, x) in v.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    let mut e = Obj::new(out);
                    val(k!(e, "queue_id"), &x.queue_id);
                    val(k!(e, "retry"), &x.retry.wire());
                    val(k!(e, "start_offset"), &x.start_offset);
                    e.end();
                }
                out.push(b']');
            }
            HeaderItem::MsgOffsets(v) => {
                out.push(b'[');
                for (j, x) in v.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    let mut e = Obj::new(out);
                    val(k!(e, "offsets"), &x.offsets);
                    val(k!(e, "queue_id"), &x.queue_id);
                    val(k!(e, "retry"), &x.retry.wire());
                    e.end();
                }
                out.push(b']');
            }
            HeaderItem::OrderCounts(v) => {
                out.push(b'[');
                for (j, x) in v.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    let mut e = Obj::new(out);
                    val(k!(e, "count"), &x.count);
                    val(k!(e, "queue_id"), &x.queue_id);
                    val(k!(e, "queue_offset"), &x.queue_offset);
                    val(k!(e, "retry"), &x.retry.wire());
                    e.end();
                }
                out.push(b']');
            }
            HeaderItem::Val(HVal::Str(s)) => str(out, s),
            HeaderItem::Val(HVal::Int(n)) => val(out, n),
            HeaderItem::Val(HVal::Bool(b)) => val(out, b),
            HeaderItem::Redacted => str(out, "<redacted>"),
            HeaderItem::Ids(ids) => {
                out.push(b'[');
                for (j, x) in ids.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    let mut e = Obj::new(out);
                    val(k!(e, "commit_log_offset"), &x.commit_log_offset);
                    addr(k!(e, "store_host"), &x.store_host);
                    e.end();
                }
                out.push(b']');
            }
        }
    }
    o.end();
}

/// The JSON Lines object for one frame (docs/json-lines.md, "Frame object"), without the
/// newline.
pub fn write_frame(out: &mut Vec<u8>, r: &FrameRecord, d: Option<&Decoded>, opts: &OutputOptions) {
    let cmd = match &r.command {
        Err(e) => {
            let mut o = Obj::new(out);
            addr(k!(o, "dst"), &r.dst);
            let errors = [format!("undecodable frame: {e}")];
            val(k!(o, "errors"), &errors);
            val(k!(o, "frame_len"), &r.frame_len);
            k!(o, "kind").extend_from_slice(b"null");
            val(k!(o, "packet"), &r.packet);
            addr(k!(o, "src"), &r.src);
            val(k!(o, "stream"), &r.stream);
            write_ts(k!(o, "ts"), r.ts);
            o.end();
            return;
        }
        Ok(cmd) => cmd,
    };
    let response = cmd.kind() == Kind::Response;
    let carries_messages = d.is_some_and(|d| {
        !d.messages.is_empty() || !response && protocol::carries_sent_message(cmd.code)
    });
    let mut o = Obj::new(out);
    if let Some(d) = d {
        if carries_messages {
            val(k!(o, "batch"), &d.batch);
        } else if !cmd.body.is_empty() {
            let mut b = Obj::new(k!(o, "body"));
            if let Some(j) = &d.body_json {
                val(k!(b, "json"), j);
            }
            val(k!(b, "len"), &cmd.body.len());
            b.end();
        }
    }
    val(k!(o, "code"), &cmd.code);
    addr(k!(o, "dst"), &r.dst);
    {
        let out = k!(o, "errors");
        out.push(b'[');
        let mut n = 0;
        let mut item = |out: &mut Vec<u8>, s: &str| {
            if n > 0 {
                out.push(b',');
            }
            n += 1;
            str(out, s);
        };
        if let Some(d) = d {
            for e in &d.errors {
                item(out, e);
            }
            if let Some(l) = &d.limit {
                item(out, &format!("limit: {l}"));
            }
        }
        if r.request.is_none() && response {
            item(out, "no request with this opaque in the capture");
        }
        out.push(b']');
    }
    write_ext_fields(k!(o, "ext_fields"), cmd, opts.show_secrets);
    val(k!(o, "flag"), &cmd.flag);
    val(k!(o, "frame_len"), &r.frame_len);
    write_header(k!(o, "header"), r, d, opts.show_secrets);
    str(k!(o, "kind"), cmd.kind().as_str());
    str(k!(o, "language"), &cmd.language_str());
    if response {
        val(k!(o, "latency_us"), &r.latency_us());
    }
    if let Some(d) = d
        && carries_messages
    {
        let out = k!(o, "messages");
        out.push(b'[');
        for (i, m) in d.messages.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_message(out, m, opts.show_secrets, opts.decode.limits.max_body_print);
        }
        out.push(b']');
    }
    display_string(k!(o, "name"), &super::code_display(cmd));
    val(k!(o, "opaque"), &cmd.opaque);
    val(k!(o, "packet"), &r.packet);
    opt_str(k!(o, "remark"), cmd.remark.as_deref());
    if response {
        let out = k!(o, "request");
        match &r.request {
            Some(q) => {
                let mut rq = Obj::new(out);
                val(k!(rq, "code"), &q.code);
                display_string(k!(rq, "name"), &RequestCode(q.code));
                val(k!(rq, "packet"), &q.packet);
                rq.end();
            }
            None => out.extend_from_slice(b"null"),
        }
    }
    str(k!(o, "serialize"), cmd.serialize.name());
    addr(k!(o, "src"), &r.src);
    val(k!(o, "stream"), &r.stream);
    write_ts(k!(o, "ts"), r.ts);
    val(k!(o, "version"), &cmd.version);
    opt_str(k!(o, "version_name"), version_name(cmd.version));
    o.end();
}

/// A capture time as a JSON string ([`super::format_ts`]).
fn write_ts(out: &mut Vec<u8>, ts: i64) {
    out.push(b'"');
    super::write_ts(out, ts);
    out.push(b'"');
}

/// The JSON object for a problem: `{message, packet, problem, stream}`.
pub fn write_problem(out: &mut Vec<u8>, p: &Problem) {
    let mut o = Obj::new(out);
    str(k!(o, "message"), &p.message);
    val(k!(o, "packet"), &p.packet);
    str(k!(o, "problem"), p.kind.as_str());
    val(k!(o, "stream"), &p.stream);
    o.end();
}

/// Writes frames as JSON Lines to an `io::Write`, one reused buffer per writer.
#[derive(Default)]
pub struct JsonLines {
    buf: Vec<u8>,
}

impl JsonLines {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes one frame's object and a newline.
    pub fn frame<W: std::io::Write>(
        &mut self,
        w: &mut W,
        r: &FrameRecord,
        d: Option<&Decoded>,
        opts: &OutputOptions,
    ) -> std::io::Result<()> {
        self.buf.clear();
        write_frame(&mut self.buf, r, d, opts);
        self.buf.push(b'\n');
        let res = w.write_all(&self.buf);
        // A frame with a huge body should not keep its buffer for the rest of the run.
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::new();
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every ASCII character and some non-ASCII ones, at every place around the 8-byte
    /// chunks, escaped as serde_json escapes them.
    #[test]
    fn strings_escaped_as_serde_json_escapes_them() {
        let mut chars: Vec<char> = (0u8..=0x7F).map(char::from).collect();
        chars.extend(['\u{80}', 'é', '\u{2028}', '\u{FFFF}', '😀']);
        for c in chars {
            for len in 0..20 {
                for at in 0..=len {
                    let mut s: String = "abcdefghijklmnopqrstu".chars().take(len).collect();
                    s.insert(at, c);
                    s.push(c);
                    let mut out = Vec::new();
                    str(&mut out, &s);
                    assert_eq!(
                        String::from_utf8(out).unwrap(),
                        serde_json::to_string(&s).unwrap(),
                        "{s:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn addresses_as_displayed() {
        for a in [
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "10.2.30.4:10911",
            "[::1]:9876",
            "[fe80::1%7]:1",
        ] {
            let a: std::net::SocketAddr = a.parse().unwrap();
            let mut out = Vec::new();
            addr(&mut out, &a);
            assert_eq!(String::from_utf8(out).unwrap(), format!("\"{a}\""));
        }
    }
}
