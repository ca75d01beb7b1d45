//! The `-V` protocol tree: one frame laid out in wire order as `tshark -V` shows a packet.
//! The frame (packets, time, stream, addresses), the RemotingCommand fields
//! (`RemotingCommand.java`: `code`, `language`, `version`, `opaque`, `flag`, `remark`,
//! `extFields`; the length and serialize-type words of `RemotingCommand.encodeHeader`),
//! extFields once with the typed header's Java class (`protocol::headers`), each message
//! (`MessageDecoder.java`: properties, UNIQ_KEY per `MessageClientIDSetter.java`, offsetMsgId
//! per `MessageDecoder.createMessageId`), and the body. The layout is documented in
//! docs/text-output.md.

use std::fmt::Write as _;

use crate::analysis::FrameRecord;
use crate::protocol::headers::{self, HVal};
use crate::protocol::message::{self, Message};
use crate::protocol::{self, Decoded};
use crate::remoting::codes::{RequestCode, ResponseCode, version_name};
use crate::remoting::command::{Kind, RemotingCommand, flag};

use super::OutputOptions;
use super::text::quoted;

/// Lines with indentation.
struct Tree {
    s: String,
}

impl Tree {
    fn line(&mut self, depth: usize, text: impl std::fmt::Display) {
        for _ in 0..depth {
            self.s.push_str("    ");
        }
        let _ = writeln!(self.s, "{text}");
    }
}

/// A string as shown in the tree: as is, or escaped (Rust string escapes, quoted) when it
/// is empty or holds control characters (the properties separators \u{1} and \u{2} among
/// them).
fn text(v: &str) -> String {
    if v.is_empty() || v.chars().any(|c| c.is_control()) {
        format!("{v:?}")
    } else {
        v.to_string()
    }
}

fn secret(k: &str, v: &str, show: bool) -> String {
    if !show && protocol::is_secret(k) && !v.is_empty() {
        "<redacted>".into()
    } else {
        text(v)
    }
}

/// Millisecond timestamps from 2000 to 2100 get their date beside them.
fn looks_like_ms(ms: i64) -> bool {
    (946_684_800_000..4_102_444_800_000).contains(&ms)
}

/// Header fields holding a millisecond timestamp (Java field names).
fn is_time_field(name: &str) -> bool {
    name.ends_with("Timestamp") || matches!(name, "bornTime" | "popTime" | "fromTime" | "toTime")
}

/// The verbose tree for one frame. `uniq_key` is the UNIQ_KEY of the send request a send
/// response answers.
pub fn frame_tree(
    r: &FrameRecord,
    d: Option<&Decoded>,
    opts: &OutputOptions,
    uniq_key: Option<&str>,
) -> String {
    let mut t = Tree { s: String::new() };
    let packets = if r.last_packet > r.packet {
        format!("packets {}-{}", r.packet, r.last_packet)
    } else {
        format!("packet {}", r.packet)
    };
    t.line(
        0,
        format_args!(
            "Frame {}: {packets}, {}, stream {}, {} -> {}, {} bytes at stream offset {}",
            r.packet,
            opts.clock.show(r.ts),
            r.stream,
            r.src,
            r.dst,
            r.frame_len,
            r.offset
        ),
    );
    let cmd = match &r.command {
        Ok(c) => c,
        Err(e) => {
            t.line(0, "RocketMQ Remoting Protocol: undecodable frame");
            t.line(1, format_args!("Error: {e}"));
            return t.s;
        }
    };
    t.line(
        0,
        format_args!(
            "RocketMQ Remoting Protocol, {} {}",
            super::code_display(cmd),
            cmd.kind().as_str()
        ),
    );
    command(&mut t, r, cmd);
    ext_fields(&mut t, r, cmd, d, opts, uniq_key);
    if let Some(d) = d {
        let response = cmd.kind() == Kind::Response;
        let carries = !d.messages.is_empty()
            || !response && protocol::carries_sent_message(cmd.code) && !cmd.body.is_empty();
        if carries {
            t.line(
                1,
                format_args!(
                    "Body: {} bytes, {} message{}{}",
                    cmd.body.len(),
                    d.messages.len(),
                    if d.messages.len() == 1 { "" } else { "s" },
                    if d.batch { " (batch)" } else { "" }
                ),
            );
            let n = d.messages.len();
            for (i, m) in d.messages.iter().enumerate() {
                message_tree(&mut t, 2, m, i, n, opts);
            }
        } else {
            body(&mut t, cmd, d, opts);
        }
    } else if !cmd.body.is_empty() {
        t.line(1, format_args!("Body: {} bytes", cmd.body.len()));
        hexdump(&mut t, 2, &cmd.body, opts.decode.limits.max_body_print);
    }
    problems(&mut t, r, cmd, d);
    t.s
}

/// The fixed fields of the RemotingCommand, in wire order.
fn command(t: &mut Tree, r: &FrameRecord, cmd: &RemotingCommand) {
    t.line(
        1,
        format_args!(
            "Length: {} (frame of {} bytes)",
            r.frame_len.saturating_sub(4),
            r.frame_len
        ),
    );
    let header_len = r.frame_len.saturating_sub(8 + cmd.body.len());
    t.line(
        1,
        format_args!(
            "Serialize type: {} ({})",
            cmd.serialize.name(),
            cmd.serialize.byte()
        ),
    );
    t.line(1, format_args!("Header length: {header_len}"));
    let name = match cmd.kind() {
        Kind::Response => ResponseCode(cmd.code).to_string(),
        _ => RequestCode(cmd.code).to_string(),
    };
    t.line(1, format_args!("Code: {} ({name})", cmd.code));
    t.line(1, format_args!("Language: {}", cmd.language_str()));
    match version_name(cmd.version) {
        Some(v) => t.line(1, format_args!("Version: {} ({v})", cmd.version)),
        None => t.line(1, format_args!("Version: {} (unknown)", cmd.version)),
    }
    t.line(1, format_args!("Opaque: {}", cmd.opaque));
    t.line(1, format_args!("Flag: 0x{:08x}", cmd.flag));
    let bit = |set: bool| if set { "set" } else { "not set" };
    t.line(
        2,
        format_args!(
            ".... ...{} = RESPONSE: {}",
            u8::from(cmd.flag & flag::RESPONSE != 0),
            bit(cmd.flag & flag::RESPONSE != 0)
        ),
    );
    t.line(
        2,
        format_args!(
            ".... ..{}. = ONEWAY: {}",
            u8::from(cmd.flag & flag::ONEWAY != 0),
            bit(cmd.flag & flag::ONEWAY != 0)
        ),
    );
    let other = cmd.flag & !(flag::RESPONSE | flag::ONEWAY);
    if other != 0 {
        t.line(2, format_args!("other bits: 0x{other:08x}"));
    }
    match &cmd.remark {
        Some(rm) => t.line(1, format_args!("Remark: {}", text(rm))),
        None => t.line(1, "Remark: null"),
    }
    if cmd.kind() == Kind::Response {
        match &r.request {
            Some(q) => match r.latency_us() {
                Some(l) => t.line(
                    1,
                    format_args!(
                        "[Response to {} in packet {}, latency {l} us]",
                        RequestCode(q.code),
                        q.packet,
                    ),
                ),
                // A `clock` problem: the capture's clock stepped back between the two.
                None => t.line(
                    1,
                    format_args!(
                        "[Response to {} in packet {}, timestamped before it: no latency]",
                        RequestCode(q.code),
                        q.packet,
                    ),
                ),
            },
            None => t.line(1, "[Response to a request not in the capture]"),
        }
    }
}

/// extFields in wire order, each with its typed value and Java field name.
fn ext_fields(
    t: &mut Tree,
    r: &FrameRecord,
    cmd: &RemotingCommand,
    d: Option<&Decoded>,
    opts: &OutputOptions,
    uniq_key: Option<&str>,
) {
    let show = opts.show_secrets;
    let Some(ext) = &cmd.ext_fields else {
        t.line(1, "extFields: null");
        return;
    };
    let response = cmd.kind() == Kind::Response;
    let class = match (response, &r.request) {
        (false, _) => headers::request_class(cmd.code).map(|(c, _)| c),
        (true, Some(q)) => headers::response_class(q.code).map(|(c, _)| c),
        (true, None) => None,
    };
    let what = match class {
        Some("") => " (no custom header class)".to_string(),
        Some(c) => format!(" ({c})"),
        None if response && r.request.is_none() => {
            " (not typed: the request is not in the capture)".to_string()
        }
        None => " (not typed: header class not known)".to_string(),
    };
    t.line(
        1,
        format_args!(
            "extFields: {} field{}{what}",
            ext.len(),
            if ext.len() == 1 { "" } else { "s" }
        ),
    );
    let typed = d
        .and_then(|d| d.header.as_ref())
        .filter(|h| h.len() == ext.len());
    let send_response = response
        && r.request
            .as_ref()
            .is_some_and(|q| RequestCode(q.code).is_send());
    for (i, (k, raw)) in ext.iter().enumerate() {
        let (name, val) = match typed {
            Some(h) => (h[i].0, Some(&h[i].1)),
            None => (k.as_str(), None),
        };
        let label = if name == k.as_str() {
            name.to_string()
        } else {
            format!("{name} ({k})")
        };
        if !show && protocol::is_secret(k) && !raw.is_empty() {
            t.line(2, format_args!("{label}: <redacted>"));
            continue;
        }
        if name == "properties" && val.is_some() {
            let n = message::parse_properties(raw).len();
            t.line(
                2,
                format_args!("{label}: {n} properties (listed with the message)"),
            );
            continue;
        }
        let shown = match val {
            Some(HVal::Int(n)) => n.to_string(),
            Some(HVal::Bool(b)) => b.to_string(),
            Some(HVal::Str(s)) => text(s),
            None => text(raw),
        };
        let mut line = format!("{label}: {shown}");
        if shown != raw.as_str() && !matches!(val, Some(HVal::Str(_)) | None) {
            let _ = write!(line, " [raw {:?}]", raw.as_str());
        }
        if let Some(HVal::Int(ms)) = val
            && is_time_field(name)
            && looks_like_ms(*ms)
        {
            let _ = write!(line, " ({})", opts.clock.date_ms(*ms));
        }
        t.line(2, line);
        if let Some(p) = d.and_then(|d| d.pop.as_ref()) {
            pop_info_lines(t, name, p);
        }
        if send_response && name == "msgId" {
            for id in raw.split(',') {
                if let Some(o) = message::decode_offset_msg_id(id) {
                    t.line(
                        3,
                        format_args!(
                            "offsetMsgId {id}: store host {}, commit-log offset {}",
                            o.store_host, o.commit_log_offset
                        ),
                    );
                }
            }
            if let Some(u) = uniq_key {
                t.line(
                    3,
                    format_args!("[msgId (UNIQ_KEY of the request): {}]", quoted(u)),
                );
            }
        }
    }
    if cmd.ext_fields_dropped > 0 {
        t.line(
            2,
            format_args!(
                "[{} more extFields left out by --max-ext-fields]",
                cmd.ext_fields_dropped
            ),
        );
    }
}

/// A POP_MESSAGE answer's offset infos decoded under their raw lines
/// (`PopMessageResponseHeader`, `ExtraInfoUtil`): per queue (retry 1/2 are the pop retry
/// topic's queues), where the pop started, the offsets popped, the order counts.
fn pop_info_lines(t: &mut Tree, name: &str, p: &protocol::pop_info::PopInfo) {
    let q = |retry: protocol::pop_info::Retry, queue_id: i32| match retry.wire() {
        0 => format!("queueId {queue_id}"),
        r => format!("queueId {queue_id} of the retry topic ({r})"),
    };
    match name {
        "startOffsetInfo" => {
            for s in &p.start_offsets {
                t.line(
                    3,
                    format_args!("{}: startOffset {}", q(s.retry, s.queue_id), s.start_offset),
                );
            }
        }
        "msgOffsetInfo" => {
            for m in &p.msg_offsets {
                let list: Vec<String> = m.offsets.iter().map(i64::to_string).collect();
                t.line(
                    3,
                    format_args!(
                        "{}: queueOffset {} ({} popped)",
                        q(m.retry, m.queue_id),
                        list.join(", "),
                        m.offsets.len()
                    ),
                );
            }
        }
        "orderCountInfo" => {
            for o in &p.order_counts {
                let at = o.queue_offset.map(|x| format!(" at queueOffset {x}"));
                t.line(
                    3,
                    format_args!(
                        "{}{}: consumed {} times",
                        q(o.retry, o.queue_id),
                        at.unwrap_or_default(),
                        o.count
                    ),
                );
            }
        }
        _ => {}
    }
}

/// A command body that is not messages: JSON pretty-printed, else a hex dump.
fn body(t: &mut Tree, cmd: &RemotingCommand, d: &Decoded, opts: &OutputOptions) {
    let max = opts.decode.limits.max_body_print;
    if cmd.body.is_empty() {
        t.line(1, "Body: 0 bytes");
        return;
    }
    match &d.body_json {
        Some(j) => {
            t.line(1, format_args!("Body: {} bytes, JSON", cmd.body.len()));
            pretty(t, 2, j, max);
        }
        None => {
            t.line(1, format_args!("Body: {} bytes", cmd.body.len()));
            hexdump(t, 2, &cmd.body, max);
        }
    }
}

/// JSON pretty-printed, cut after `max` bytes of output (at a line end).
fn pretty(t: &mut Tree, depth: usize, j: &serde_json::Value, max: usize) {
    let p = serde_json::to_string_pretty(j).unwrap_or_default();
    let mut used = 0;
    let total = p.lines().count();
    for (n, l) in p.lines().enumerate() {
        if used + l.len() > max && n > 0 {
            t.line(
                depth,
                format_args!(
                    "[{} more lines not shown, past --max-body-print {max}]",
                    total - n
                ),
            );
            return;
        }
        used += l.len() + 1;
        t.line(depth, l);
    }
}

/// The first `max` bytes as tshark's hex dump: offset, 16 bytes in hex, the ASCII.
fn hexdump(t: &mut Tree, depth: usize, b: &[u8], max: usize) {
    let shown = &b[..b.len().min(max)];
    for (i, row) in shown.chunks(16).enumerate() {
        let mut l = format!("{:04x}  ", i * 16);
        for j in 0..16 {
            match row.get(j) {
                Some(x) => {
                    let _ = write!(l, "{x:02x} ");
                }
                None => l.push_str("   "),
            }
        }
        l.push_str("  ");
        l.extend(row.iter().map(|&x| {
            if (0x20..0x7f).contains(&x) {
                x as char
            } else {
                '.'
            }
        }));
        t.line(depth, l.trim_end());
    }
    if b.len() > shown.len() {
        t.line(
            depth,
            format_args!(
                "[{} more bytes not shown, past --max-body-print {max}]",
                b.len() - shown.len()
            ),
        );
    }
}

/// One message. A stored message (pull, pop, query, view answers) in the order of
/// `MessageDecoder.decode`: totalSize, magic, bodyCRC, queueId, flag, queueOffset,
/// physicalOffset, sysFlag, bornTimestamp, bornHost, storeTimestamp, storeHost,
/// reconsumeTimes, preparedTransactionOffset, body, topic, properties. A sent message
/// (whose topic, queue, flags and born time come from the send header): topic, queue id,
/// flag, sysFlag, born time, properties, body.
fn message_tree(t: &mut Tree, depth: usize, m: &Message, i: usize, n: usize, opts: &OutputOptions) {
    t.line(depth, format_args!("Message {} of {n}", i + 1));
    let depth = depth + 1;
    match &m.stored {
        Some(s) => {
            t.line(depth, format_args!("Store size: {}", s.store_size));
            t.line(depth, format_args!("Magic: 0x{:08x}", s.magic));
            t.line(depth, format_args!("Body CRC: {}", s.body_crc));
            if let Some(q) = m.queue_id {
                t.line(depth, format_args!("Queue id: {q}"));
            }
            t.line(depth, format_args!("Flag: {}", m.flag));
            t.line(depth, format_args!("Queue offset: {}", s.queue_offset));
            t.line(
                depth,
                format_args!("Commit-log offset: {}", s.commit_log_offset),
            );
            sys_flag(t, depth, m);
            born(t, depth, m, opts);
            t.line(depth, format_args!("Born host: {}", s.born_host));
            t.line(
                depth,
                format_args!(
                    "Store time: {} ({})",
                    opts.clock.date_ms(s.store_timestamp),
                    s.store_timestamp
                ),
            );
            t.line(depth, format_args!("Store host: {}", s.store_host));
            t.line(
                depth,
                format_args!("Reconsume times: {}", s.reconsume_times),
            );
            t.line(
                depth,
                format_args!(
                    "Prepared transaction offset: {}",
                    s.prepared_transaction_offset
                ),
            );
            message_body(t, depth, m, opts);
            t.line(depth, format_args!("Topic: {}", text(&m.topic)));
            properties(t, depth, m, opts);
            uniq_key(t, depth, m);
            t.line(
                depth,
                format_args!(
                    "offsetMsgId: {} (store host {}, commit-log offset {})",
                    s.offset_msg_id(),
                    s.store_host,
                    s.commit_log_offset
                ),
            );
        }
        None => {
            t.line(depth, format_args!("Topic: {}", text(&m.topic)));
            if let Some(q) = m.queue_id {
                t.line(depth, format_args!("Queue id: {q}"));
            }
            t.line(depth, format_args!("Flag: {}", m.flag));
            sys_flag(t, depth, m);
            born(t, depth, m, opts);
            properties(t, depth, m, opts);
            uniq_key(t, depth, m);
            message_body(t, depth, m, opts);
        }
    }
    if let Some(e) = &m.error {
        t.line(depth, format_args!("[Error: {e}]"));
    }
    if !m.inner.is_empty() {
        t.line(depth, format_args!("Inner messages: {}", m.inner.len()));
        let n = m.inner.len();
        for (j, x) in m.inner.iter().enumerate() {
            message_tree(t, depth + 1, x, j, n, opts);
        }
    }
}

fn sys_flag(t: &mut Tree, depth: usize, m: &Message) {
    let names = message::sysflag_names(m.sys_flag);
    if names.is_empty() {
        t.line(depth, format_args!("Sys flag: 0x{:08x}", m.sys_flag));
    } else {
        t.line(
            depth,
            format_args!("Sys flag: 0x{:08x} ({})", m.sys_flag, names.join(", ")),
        );
    }
}

fn born(t: &mut Tree, depth: usize, m: &Message, opts: &OutputOptions) {
    if let Some(b) = m.born_timestamp {
        t.line(depth, format_args!("Born: {} ({b})", opts.clock.date_ms(b)));
    }
}

/// Properties one per line, in wire order, credentials redacted.
fn properties(t: &mut Tree, depth: usize, m: &Message, opts: &OutputOptions) {
    t.line(depth, format_args!("Properties: {}", m.properties.len()));
    for (k, v) in &m.properties {
        t.line(
            depth + 1,
            format_args!("{}: {}", text(k), secret(k, v, opts.show_secrets)),
        );
    }
    if m.properties_dropped > 0 {
        t.line(
            depth + 1,
            format_args!(
                "[{} more properties left out by --max-properties]",
                m.properties_dropped
            ),
        );
    }
}

/// The UNIQ_KEY (the client's msgId) decoded per `MessageClientIDSetter`.
fn uniq_key(t: &mut Tree, depth: usize, m: &Message) {
    let Some(u) = m.uniq_key() else { return };
    t.line(depth, format_args!("msgId (UNIQ_KEY): {}", text(u)));
    match message::decode_uniq_key(u, m.born_timestamp) {
        Some(k) => {
            let mut l = format!(
                "client {}, pid {}, counter {}, {} ms into the producer's month",
                k.ip, k.pid, k.counter, k.month_offset_ms
            );
            if let Some(off) = k.utc_offset_minutes {
                let sign = if off < 0 { '-' } else { '+' };
                let a = off.unsigned_abs();
                let _ = write!(
                    l,
                    ", producer's UTC offset {sign}{:02}:{:02}",
                    a / 60,
                    a % 60
                );
            }
            t.line(depth + 1, l);
        }
        None => t.line(depth + 1, "[not in MessageClientIDSetter's format]"),
    }
}

/// A message body: length, compression, then JSON pretty-printed or a hex dump.
fn message_body(t: &mut Tree, depth: usize, m: &Message, opts: &OutputOptions) {
    let max = opts.decode.limits.max_body_print;
    let compression = if m.compressed {
        let c = message::sysflag_names(m.sys_flag)
            .into_iter()
            .find(|n| matches!(*n, "LZ4" | "ZSTD" | "ZLIB"))
            .unwrap_or("ZLIB");
        // The body is owned only when it was inflated (`Message::body`).
        if matches!(m.body, std::borrow::Cow::Owned(_)) {
            format!(", inflated from {} bytes ({c})", m.wire_body_len)
        } else {
            format!(", compressed ({c}), not inflated")
        }
    } else {
        String::new()
    };
    t.line(
        depth,
        format_args!("Body: {} bytes{compression}", m.body.len()),
    );
    let json = (m.body.len() <= max)
        .then(|| {
            let first = m.body.iter().find(|b| !b.is_ascii_whitespace())?;
            if !matches!(first, b'{' | b'[') {
                return None;
            }
            protocol::json_bound::check("message body", &m.body, &opts.decode.limits).ok()?;
            serde_json::from_slice::<serde_json::Value>(&m.body).ok()
        })
        .flatten();
    match json {
        Some(j) => pretty(t, depth + 1, &j, max),
        None => hexdump(t, depth + 1, &m.body, max),
    }
}

/// The frame's decoding problems (also printed on stderr) and an unmatched response.
fn problems(t: &mut Tree, r: &FrameRecord, cmd: &RemotingCommand, d: Option<&Decoded>) {
    let mut v: Vec<String> = Vec::new();
    if let Some(d) = d {
        v.extend(d.errors.iter().cloned());
        if let Some(l) = &d.limit {
            v.push(format!("limit: {l}"));
        }
    }
    if cmd.kind() == Kind::Response && r.request.is_none() {
        v.push("no request with this opaque in the capture".into());
    }
    for e in v {
        t.line(1, format_args!("[Expert: {e}]"));
    }
}
