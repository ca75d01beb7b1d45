//! The Value-building JSON objects the frame output was built as before the direct writer
//! ([`super::jsonl`]), kept only as the writer's test oracle: the writer's bytes must equal
//! `serde_json::to_vec` of these for every frame (tests in `jsonl`, `tests/golden`).

use base64::Engine;
use serde_json::{Map, Value, json};

use super::{OutputOptions, code_name};
use crate::analysis::{FrameRecord, Problem};
use crate::protocol::message::{self, Message};
use crate::protocol::{self, Decoded};
use crate::remoting::codes::{RequestCode, version_name};
use crate::remoting::command::{Kind, RemotingCommand};

/// RFC 3339 UTC with microseconds (nanoseconds when the capture has them), as it was
/// formatted before [`super::write_ts`].
pub fn format_ts(ts: i64) -> String {
    let secs = ts.div_euclid(1_000_000_000);
    let nanos = ts.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    let frac = if nanos % 1000 == 0 {
        format!("{:06}", nanos / 1000)
    } else {
        format!("{nanos:09}")
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

fn redact(k: &str, v: &str, show: bool) -> String {
    if !show && protocol::is_secret(k) && !v.is_empty() {
        "<redacted>".to_string()
    } else {
        v.to_string()
    }
}

/// extFields as on the wire: strings, or numbers/booleans/null where the JSON header had them.
pub fn ext_fields_json(cmd: &RemotingCommand, show_secrets: bool) -> Value {
    use crate::remoting::command::{HeaderLayout, JsonMember};
    use crate::remoting::json::JValue;
    let Some(ext) = &cmd.ext_fields else {
        return Value::Null;
    };
    let forms = match &cmd.layout {
        HeaderLayout::Json(l) => l.members.iter().find_map(|m| match m {
            JsonMember::ExtFields(_, Some(el)) if el.len == ext.len() => Some(el),
            _ => None,
        }),
        _ => None,
    };
    let mut m = Map::new();
    for (i, (k, v)) in ext.iter().enumerate() {
        let val = match forms.and_then(|el| el.form(i)).map(|f| &f.value) {
            _ if !show_secrets && protocol::is_secret(k) => Value::String(redact(k, v, false)),
            Some(JValue::Null) => Value::Null,
            Some(jv @ (JValue::Num(_) | JValue::Bool(_))) => jv.to_serde(),
            _ => Value::String(v.to_string()),
        };
        m.insert(k.to_string(), val);
    }
    Value::Object(m)
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A message as a JSON object (schema in docs/json-lines.md), its body cut at
/// `max_body_print` bytes (then `body_truncated` is true).
pub fn message_json(m: &Message, show_secrets: bool, max_body_print: usize) -> Value {
    let mut o = Map::new();
    o.insert("topic".into(), json!(m.topic));
    o.insert("queue_id".into(), json!(m.queue_id));
    o.insert("tags".into(), json!(m.tags()));
    o.insert("keys".into(), json!(m.keys()));
    let mut props = message::properties_json(&m.properties);
    if !show_secrets {
        for k in protocol::SECRET_KEYS {
            if let Some(v) = props.get_mut(*k) {
                *v = json!("<redacted>");
            }
        }
    }
    o.insert("properties".into(), Value::Object(props));
    o.insert(
        "user_properties".into(),
        json!(
            message::user_properties(&m.properties)
                .into_iter()
                .map(|(k, v)| {
                    let v = if !show_secrets && protocol::is_secret(&k) {
                        "<redacted>".to_string()
                    } else {
                        v
                    };
                    (k, v)
                })
                .collect::<std::collections::BTreeMap<_, _>>()
        ),
    );
    o.insert("born_timestamp".into(), json!(m.born_timestamp));
    o.insert("flag".into(), json!(m.flag));
    o.insert("sys_flag".into(), json!(m.sys_flag));
    o.insert(
        "sys_flag_names".into(),
        json!(message::sysflag_names(m.sys_flag)),
    );
    o.insert("compressed".into(), json!(m.compressed));
    o.insert("uniq_key".into(), json!(m.uniq_key()));
    if let Some(k) = m
        .uniq_key()
        .and_then(|k| message::decode_uniq_key(k, m.born_timestamp))
    {
        o.insert(
            "uniq_key_decoded".into(),
            json!({
                "ip": k.ip.to_string(),
                "pid": k.pid,
                "class_loader": k.class_loader,
                "month_offset_ms": k.month_offset_ms,
                "counter": k.counter,
                "month_start_ms": k.month_start_ms,
                "utc_offset_minutes": k.utc_offset_minutes,
            }),
        );
    }
    o.insert("body_len".into(), json!(m.body.len()));
    o.insert("wire_body_len".into(), json!(m.wire_body_len));
    let shown = &m.body[..m.body.len().min(max_body_print)];
    o.insert("body".into(), json!(b64(shown)));
    if shown.len() < m.body.len() {
        o.insert("body_truncated".into(), json!(true));
    }
    if m.properties_dropped > 0 {
        o.insert("properties_dropped".into(), json!(m.properties_dropped));
    }
    if let Some(s) = &m.stored {
        o.insert("queue_offset".into(), json!(s.queue_offset));
        o.insert("commit_log_offset".into(), json!(s.commit_log_offset));
        o.insert("msg_id".into(), json!(s.offset_msg_id()));
        o.insert("born_host".into(), json!(s.born_host.to_string()));
        o.insert("store_host".into(), json!(s.store_host.to_string()));
        o.insert("store_timestamp".into(), json!(s.store_timestamp));
        o.insert("reconsume_times".into(), json!(s.reconsume_times));
        o.insert(
            "prepared_transaction_offset".into(),
            json!(s.prepared_transaction_offset),
        );
        o.insert("body_crc".into(), json!(s.body_crc));
        o.insert("store_size".into(), json!(s.store_size));
        o.insert("magic".into(), json!(format!("{:08X}", s.magic)));
    }
    if let Some(e) = &m.error {
        o.insert("error".into(), json!(e));
    }
    if !m.inner.is_empty() {
        o.insert(
            "inner_messages".into(),
            Value::Array(
                m.inner
                    .iter()
                    .map(|x| message_json(x, show_secrets, max_body_print))
                    .collect(),
            ),
        );
    }
    Value::Object(o)
}

/// The JSON Lines object for one frame.
pub fn frame_json(r: &FrameRecord, d: Option<&Decoded>, opts: &OutputOptions) -> Value {
    let mut o = Map::new();
    o.insert("packet".into(), json!(r.packet));
    o.insert("ts".into(), json!(format_ts(r.ts)));
    o.insert("stream".into(), json!(r.stream));
    o.insert("src".into(), json!(r.src.to_string()));
    o.insert("dst".into(), json!(r.dst.to_string()));
    o.insert("frame_len".into(), json!(r.frame_len));
    let mut errors: Vec<String> = Vec::new();
    match &r.command {
        Err(e) => {
            o.insert("kind".into(), Value::Null);
            errors.push(format!("undecodable frame: {e}"));
        }
        Ok(cmd) => {
            o.insert("kind".into(), json!(cmd.kind().as_str()));
            o.insert("code".into(), json!(cmd.code));
            o.insert("name".into(), json!(code_name(cmd)));
            o.insert("opaque".into(), json!(cmd.opaque));
            o.insert("flag".into(), json!(cmd.flag));
            o.insert("language".into(), json!(cmd.language_str()));
            o.insert("version".into(), json!(cmd.version));
            o.insert("version_name".into(), json!(version_name(cmd.version)));
            o.insert("serialize".into(), json!(cmd.serialize.name()));
            o.insert("remark".into(), json!(cmd.remark));
            o.insert("ext_fields".into(), ext_fields_json(cmd, opts.show_secrets));
            let mut header = d
                .and_then(|d| d.header_json())
                .map(Value::Object)
                .unwrap_or(Value::Null);
            if let Value::Object(h) = &mut header {
                if !opts.show_secrets {
                    for k in protocol::SECRET_KEYS {
                        if let Some(v) = h.get_mut(*k)
                            && v.as_str().is_some_and(|s| !s.is_empty())
                        {
                            *v = json!("<redacted>");
                        }
                    }
                }
                // Decoded ids of a send result.
                if let Some(id) = h.get("msgId").and_then(Value::as_str).map(str::to_string) {
                    let ids: Vec<Value> = id
                        .split(',')
                        .filter_map(message::decode_offset_msg_id)
                        .map(|x| json!({"store_host": x.store_host.to_string(), "commit_log_offset": x.commit_log_offset}))
                        .collect();
                    if !ids.is_empty()
                        && r.request
                            .as_ref()
                            .is_some_and(|q| RequestCode(q.code).is_send())
                    {
                        h.insert("offsetMsgIdDecoded".into(), Value::Array(ids));
                    }
                }
                if let Some(p) = d.and_then(|d| d.pop.as_ref()) {
                    if !p.start_offsets.is_empty() {
                        let v: Vec<Value> = p.start_offsets.iter().map(|x| json!({"queue_id": x.queue_id, "retry": x.retry.wire(), "start_offset": x.start_offset})).collect();
                        h.insert("startOffsetInfoDecoded".into(), Value::Array(v));
                    }
                    if !p.msg_offsets.is_empty() {
                        let v: Vec<Value> = p.msg_offsets.iter().map(|x| json!({"offsets": x.offsets, "queue_id": x.queue_id, "retry": x.retry.wire()})).collect();
                        h.insert("msgOffsetInfoDecoded".into(), Value::Array(v));
                    }
                    if !p.order_counts.is_empty() {
                        let v: Vec<Value> = p.order_counts.iter().map(|x| json!({"count": x.count, "queue_id": x.queue_id, "queue_offset": x.queue_offset, "retry": x.retry.wire()})).collect();
                        h.insert("orderCountInfoDecoded".into(), Value::Array(v));
                    }
                }
            }
            o.insert("header".into(), header);
            if cmd.kind() == Kind::Response {
                o.insert(
                    "request".into(),
                    match &r.request {
                        Some(q) => json!({
                            "packet": q.packet,
                            "code": q.code,
                            "name": RequestCode(q.code).to_string(),
                        }),
                        None => Value::Null,
                    },
                );
                o.insert("latency_us".into(), json!(r.latency_us()));
            }
            if let Some(d) = d {
                let carries_messages = !d.messages.is_empty()
                    || cmd.kind() != Kind::Response && protocol::carries_sent_message(cmd.code);
                if carries_messages {
                    o.insert("batch".into(), json!(d.batch));
                    o.insert(
                        "messages".into(),
                        Value::Array(
                            d.messages
                                .iter()
                                .map(|m| {
                                    message_json(
                                        m,
                                        opts.show_secrets,
                                        opts.decode.limits.max_body_print,
                                    )
                                })
                                .collect(),
                        ),
                    );
                } else if !cmd.body.is_empty() {
                    let mut b = Map::new();
                    b.insert("len".into(), json!(cmd.body.len()));
                    if let Some(j) = &d.body_json {
                        b.insert("json".into(), j.clone());
                    }
                    o.insert("body".into(), Value::Object(b));
                }
                errors.extend(d.errors.iter().cloned());
                if let Some(l) = &d.limit {
                    errors.push(format!("limit: {l}"));
                }
            }
            if r.request.is_none() && cmd.kind() == Kind::Response {
                errors.push("no request with this opaque in the capture".into());
            }
        }
    }
    o.insert("errors".into(), json!(errors));
    Value::Object(o)
}

/// The JSON Lines object for a problem.
pub fn problem_json(p: &Problem) -> Value {
    json!({
        "problem": p.kind.as_str(),
        "packet": p.packet,
        "stream": p.stream,
        "message": p.message,
    })
}

/// The writer ([`super::jsonl`]) against this oracle on generated frames and messages with
/// awkward strings (quotes, backslashes, control characters, DEL, non-ASCII, U+2028),
/// duplicate and secret keys, numbers of every form a JSON header may hold, stored
/// messages with IPv6 hosts, inner batches, cut bodies.
#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

    use proptest::prelude::*;

    use super::super::jsonl;
    use super::*;
    use crate::analysis::{ProblemKind, RequestRef};
    use crate::protocol::headers::HVal;
    use crate::protocol::message::StoredInfo;
    use crate::remoting::command::{FrameError, FrameLimits, decode_frame};

    const AWKWARD: &[&str] = &[
        "\"",
        "\\",
        "\u{0}",
        "\u{1}",
        "\u{2}",
        "\u{8}",
        "\t",
        "\n",
        "\u{b}",
        "\u{c}",
        "\r",
        "\u{1f}",
        "\u{7f}",
        "\u{80}",
        "é",
        "\u{2028}",
        "😀",
        "/",
        "<redacted>",
        " ",
        "a",
        "Z",
    ];

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9_]{0,8}",
            any::<String>().prop_map(|s| s.chars().take(12).collect()),
            proptest::collection::vec(proptest::sample::select(AWKWARD), 0..6)
                .prop_map(|v| v.concat()),
        ]
    }

    /// Keys that mean something to the output (secrets, ids) or collide, and any text.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(
                &[
                    "TAGS",
                    "KEYS",
                    "UNIQ_KEY",
                    "AccessKey",
                    "Signature",
                    "SecurityToken",
                    "WAIT",
                    "msgId",
                    "offsetMsgIdDecoded",
                    "startOffsetInfo",
                    "msgOffsetInfo",
                    "orderCountInfo",
                    "msgOffsetInfoDecoded",
                    "topic",
                    "a",
                    "b",
                    "i",
                    "queueId",
                ][..]
            )
            .prop_map(str::to_string),
            text(),
        ]
    }

    fn addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>())
                .prop_map(|(ip, p)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), p)),
            (any::<[u8; 16]>(), any::<u16>())
                .prop_map(|(ip, p)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), p)),
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            text(),
            Just(String::new()),
            Just("7F00000154A00D716361697AD16B0000".to_string()),
            Just("0A8C18BD00002A9F00000000000C6228".to_string()),
        ]
    }

    fn stored() -> impl Strategy<Value = StoredInfo> {
        (
            any::<u32>(),
            any::<(i32, i64, i64, i64, i64, i32, i64, i32)>(),
            addr(),
            addr(),
        )
            .prop_map(|(magic, (crc, qo, clo, bt, st, rt, pto, size), bh, sh)| {
                StoredInfo {
                    magic,
                    body_crc: crc,
                    queue_offset: qo,
                    commit_log_offset: clo,
                    born_timestamp: bt,
                    born_host: bh,
                    store_timestamp: st,
                    store_host: sh,
                    reconsume_times: rt,
                    prepared_transaction_offset: pto,
                    store_size: size,
                }
            })
    }

    type Msg = Message<'static>;

    fn leaf_message() -> impl Strategy<Value = Msg> {
        (
            (
                text(),
                proptest::option::of(any::<i32>()),
                any::<i32>(),
                any::<i32>(),
            ),
            proptest::collection::vec((key(), value()), 0..6),
            proptest::collection::vec(any::<u8>(), 0..40),
            (0usize..100, any::<bool>(), proptest::option::of(stored())),
            proptest::option::of(text()),
            // Producer times (decode_uniq_key subtracts a month offset from it).
            proptest::option::of(-(1i64 << 50)..(1i64 << 50)),
            0usize..3,
        )
            .prop_map(
                |((topic, queue_id, flag, sys_flag), props, body, (wbl, c, st), err, bt, pd)| {
                    Message {
                        topic: Cow::Owned(topic),
                        queue_id,
                        flag,
                        sys_flag,
                        properties: props
                            .into_iter()
                            .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
                            .collect(),
                        body: Cow::Owned(body),
                        wire_body_len: wbl,
                        compressed: c,
                        stored: st,
                        error: err,
                        born_timestamp: bt,
                        properties_dropped: pd,
                        inner: Vec::new(),
                    }
                },
            )
    }

    fn message() -> impl Strategy<Value = Msg> {
        (
            leaf_message(),
            proptest::collection::vec(leaf_message(), 0..3),
        )
            .prop_map(|(mut m, inner)| {
                m.inner = inner;
                m
            })
    }

    /// A JSON number, boolean, null or string as a JSON header may hold it.
    fn raw_json_value() -> impl Strategy<Value = String> {
        prop_oneof![
            text().prop_map(|s| serde_json::to_string(&s).unwrap()),
            proptest::sample::select(
                &[
                    "0",
                    "-0",
                    "12",
                    "1.50",
                    "99999999999999999999999",
                    "-1E5",
                    "1e-7",
                    "2.5E+3",
                    "true",
                    "false",
                    "null",
                ][..]
            )
            .prop_map(str::to_string),
        ]
    }

    /// A JSON body: objects with awkward keys, numbers written as on the wire, nesting.
    fn raw_json_doc() -> impl Strategy<Value = String> {
        let leaf = raw_json_value();
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec((key(), inner), 0..4).prop_map(|v| {
                    let m: Vec<String> = v
                        .into_iter()
                        .map(|(k, x)| format!("{}:{x}", serde_json::to_string(&k).unwrap()))
                        .collect();
                    format!("{{{}}}", m.join(","))
                }),
            ]
        })
    }

    /// A whole frame with a JSON header written out by hand (so its extFields keep their
    /// forms through the real decoder), decoded as `read` decodes it.
    fn frame_bytes() -> impl Strategy<Value = Vec<u8>> {
        (
            proptest::sample::select(&[0, 10, 11, 34, 105, 310, 320, 1, 17, 200050][..]),
            0i32..4,
            proptest::option::of(text()),
            proptest::sample::select(&["JAVA", "CPP", "RUST", "\u{1}X\"\\"][..]),
            proptest::option::of(proptest::collection::vec((key(), raw_json_value()), 0..8)),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..40),
                raw_json_doc().prop_map(String::into_bytes),
            ],
        )
            .prop_map(|(code, flag, remark, lang, ext, body)| {
                let mut h = format!("{{\"code\":{code},");
                if let Some(ext) = ext {
                    let m: Vec<String> = ext
                        .into_iter()
                        .map(|(k, v)| format!("{}:{v}", serde_json::to_string(&k).unwrap()))
                        .collect();
                    h += &format!("\"extFields\":{{{}}},", m.join(","));
                }
                h += &format!(
                    "\"flag\":{flag},\"language\":{},\"opaque\":7,",
                    serde_json::to_string(lang).unwrap()
                );
                if let Some(r) = remark {
                    h += &format!("\"remark\":{},", serde_json::to_string(&r).unwrap());
                }
                h += "\"serializeTypeCurrentRPC\":\"JSON\",\"version\":401}";
                let mut f = Vec::new();
                f.extend_from_slice(&((4 + h.len() + body.len()) as u32).to_be_bytes());
                f.extend_from_slice(&(h.len() as u32).to_be_bytes());
                f.extend_from_slice(h.as_bytes());
                f.extend_from_slice(&body);
                f
            })
    }

    fn record(
        command: Result<RemotingCommand, FrameError>,
        (packet, ts, stream, src, dst): (u64, i64, u64, SocketAddr, SocketAddr),
        request: Option<(u64, i32)>,
    ) -> FrameRecord {
        FrameRecord {
            packet,
            last_packet: packet,
            ts,
            stream,
            src,
            dst,
            offset: 0,
            frame_len: 99,
            body_len: 0,
            command,
            request: request.map(|(packet, code)| RequestRef {
                packet,
                code,
                ts: ts - 1_500,
                topic: None,
                ..Default::default()
            }),
            wire: None,
        }
    }

    fn place() -> impl Strategy<Value = (u64, i64, u64, SocketAddr, SocketAddr)> {
        (
            any::<u64>(),
            -(1i64 << 62)..(1i64 << 62),
            any::<u64>(),
            addr(),
            addr(),
        )
    }

    fn request() -> impl Strategy<Value = Option<(u64, i32)>> {
        proptest::option::of((
            any::<u64>(),
            proptest::sample::select(&[310, 10, 320, 105, 11, 34, 200050, -5][..]),
        ))
    }

    fn opts(show_secrets: bool, max_body_print: usize) -> OutputOptions {
        let mut o = OutputOptions {
            show_secrets,
            ..Default::default()
        };
        o.decode.limits.max_body_print = max_body_print;
        o
    }

    fn same(written: &[u8], oracle: &Value) -> Result<(), TestCaseError> {
        let want = serde_json::to_string(oracle).unwrap();
        prop_assert_eq!(String::from_utf8_lossy(written), want);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn messages_as_serde_json_writes_them(
            m in message(), show in any::<bool>(), max in 0usize..50
        ) {
            let mut out = Vec::new();
            jsonl::write_message(&mut out, &m, show, max);
            same(&out, &message_json(&m, show, max))?;
            prop_assert_eq!(super::super::message_json(&m, show, max), message_json(&m, show, max));
        }

        #[test]
        fn decoded_frames_as_serde_json_writes_them(
            wire in frame_bytes(), at in place(), req in request(),
            show in any::<bool>(), max in 0usize..50,
        ) {
            let command = decode_frame(&wire, &FrameLimits::default());
            let r = record(command, at, req);
            let o = opts(show, max);
            let d = super::super::decode_record(&r, &o);
            let mut out = Vec::new();
            jsonl::write_frame(&mut out, &r, d.as_ref(), &o);
            same(&out, &frame_json(&r, d.as_ref(), &o))?;
        }

        /// Typed headers with duplicate, secret and id keys, messages, JSON bodies, errors
        /// and limits, and undecodable frames.
        #[test]
        fn built_frames_as_serde_json_writes_them(
            at in place(), req in request(), show in any::<bool>(), max in 0usize..50,
            flag in 0i32..4, code in proptest::sample::select(&[0, 310, 105, 17, 999][..]),
            ext in proptest::option::of(proptest::collection::vec((key(), value()), 0..6)),
            header in proptest::option::of(proptest::collection::vec(
                (key(), prop_oneof![
                    value().prop_map(Ok),
                    any::<i64>().prop_map(|n| Err(Ok(n))),
                    any::<bool>().prop_map(|b| Err(Err(b))),
                    Just(Ok("0A8C18BD00002A9F00000000000C6228,7F000001000027FF0000000000000010".to_string())),
                ]),
                0..6,
            )),
            messages in proptest::collection::vec(message(), 0..3),
            body in proptest::collection::vec(any::<u8>(), 0..8),
            body_json in proptest::option::of(raw_json_doc()),
            errors in proptest::collection::vec(text(), 0..3),
            limit in proptest::option::of(text()),
            batch in any::<bool>(),
            undecodable in proptest::option::of(text()),
        ) {
            let cmd = RemotingCommand {
                code,
                flag,
                remark: None,
                ext_fields: ext.map(|v| v.into_iter().map(|(k, v)| (k.into(), v.into())).collect()),
                body,
                ..Default::default()
            };
            let command = match undecodable {
                Some(reason) => Err(FrameError { offset: 4, field: "header", reason }),
                None => Ok(cmd),
            };
            let r = record(command, at, req);
            let header_vals: Option<Vec<(String, HVal<'_>)>> = header.as_ref().map(|h| {
                h.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Ok(s) => HVal::Str(s.as_str()),
                            Err(Ok(n)) => HVal::Int(*n),
                            Err(Err(b)) => HVal::Bool(*b),
                        };
                        (k.clone(), v)
                    })
                    .collect()
            });
            let d = Decoded {
                header: header_vals
                    .as_ref()
                    .map(|h| h.iter().map(|(k, v)| (k.as_str(), v.clone())).collect()),
                messages,
                body_json: body_json.map(|j| serde_json::from_str(&j).unwrap()),
                batch,
                errors,
                limit,
                pop: None,
            };
            let o = opts(show, max);
            for d in [Some(&d), None] {
                let mut out = Vec::new();
                jsonl::write_frame(&mut out, &r, d, &o);
                same(&out, &frame_json(&r, d, &o))?;
                prop_assert_eq!(super::super::frame_json(&r, d, &o), frame_json(&r, d, &o));
            }
        }

        /// A POP_MESSAGE answer's offset infos (valid, malformed, mixed) come out decoded
        /// as the oracle builds them.
        #[test]
        fn pop_answers_as_serde_json_writes_them(
            start in proptest::sample::select(&["", "0 0 5;1 1 7", "0 0 5;0 x"][..]),
            msg in proptest::sample::select(&["", "0 0 0,1,2;2 3 9", "0 0 1,z;0 1 4"][..]),
            order in proptest::sample::select(&["", "0 qo3%17 2;1 5 1", "0 qo1 2"][..]),
            at in place(),
        ) {
            let ext: Vec<(&str, &str)> = [("startOffsetInfo", start), ("msgOffsetInfo", msg), ("orderCountInfo", order)]
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .collect();
            let cmd = RemotingCommand {
                code: 0,
                flag: 1,
                ext_fields: Some(ext.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()),
                ..Default::default()
            };
            let r = record(Ok(cmd), at, Some((1, 200050)));
            let o = opts(false, 16);
            let d = super::super::decode_record(&r, &o);
            let mut out = Vec::new();
            jsonl::write_frame(&mut out, &r, d.as_ref(), &o);
            same(&out, &frame_json(&r, d.as_ref(), &o))?;
            let text = String::from_utf8_lossy(&out);
            prop_assert_eq!(
                text.contains(r#""msgOffsetInfoDecoded":[{"offsets":[0,1,2],"queue_id":0,"retry":0},{"offsets":[9],"queue_id":3,"retry":2}]"#),
                msg == "0 0 0,1,2;2 3 9"
            );
            prop_assert_eq!(text.contains("decoding") || text.contains("entry"), start.contains('x') || msg.contains('z') || order == "0 qo1 2");
        }

        #[test]
        fn timestamps_as_formatted_before(ts in prop_oneof![
            any::<i64>(),
            -(1i64 << 62)..(1i64 << 62),
            Just(i64::MIN),
            Just(i64::MAX),
            Just(-1i64),
            Just(0i64),
        ]) {
            prop_assert_eq!(super::super::format_ts(ts), format_ts(ts));
        }

        #[test]
        fn problems_as_serde_json_writes_them(
            packet in any::<u64>(), stream in proptest::option::of(any::<u64>()), message in text()
        ) {
            let p = Problem { packet, stream, kind: ProblemKind::Gap, message };
            let mut out = Vec::new();
            jsonl::write_problem(&mut out, &p);
            same(&out, &problem_json(&p))?;
        }
    }
}
