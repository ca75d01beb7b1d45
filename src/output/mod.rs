//! Output sinks: one text line per frame (like tshark), a verbose tree, and JSON Lines
//! (the documented contract in docs/json-lines.md). All are generic over `io::Write`.

use std::fmt::Write as _;
use std::io::{self, Write};

pub mod tables;

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::analysis::{FrameRecord, Problem};
use crate::protocol::message::{self, Message};
use crate::protocol::{self, DecodeOptions, Decoded};
use crate::remoting::codes::{RequestCode, ResponseCode, version_name};
use crate::remoting::command::{Kind, RemotingCommand};

/// Output settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct OutputOptions {
    pub show_secrets: bool,
    pub decode: DecodeOptions,
}

/// RFC 3339 UTC with microseconds (nanoseconds when the capture has them).
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

/// The name shown for a command: request code name for requests, response code name for
/// responses.
pub fn code_name(cmd: &RemotingCommand) -> String {
    match cmd.kind() {
        Kind::Response => ResponseCode(cmd.code).to_string(),
        _ => RequestCode(cmd.code).to_string(),
    }
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

/// A message as a JSON object (schema in docs/json-lines.md).
pub fn message_json(m: &Message, show_secrets: bool) -> Value {
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
        json!(message::user_properties(&m.properties)),
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
    o.insert("body".into(), json!(b64(&m.body)));
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
    Value::Object(o)
}

/// Decodes a record's command with its request's code.
pub fn decode_record<'a>(r: &'a FrameRecord, opts: &OutputOptions) -> Option<Decoded<'a>> {
    let cmd = r.command.as_ref().ok()?;
    Some(protocol::decode(
        cmd,
        r.request.as_ref().map(|q| q.code),
        &opts.decode,
    ))
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
                    || matches!(crate::protocol::effective_code(cmd, r.request.as_ref().map(|q| q.code)), Some(10 | 310 | 320 | 324 | 325) if cmd.kind() != Kind::Response);
                if carries_messages {
                    o.insert("batch".into(), json!(d.batch));
                    o.insert(
                        "messages".into(),
                        Value::Array(
                            d.messages
                                .iter()
                                .map(|m| message_json(m, opts.show_secrets))
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

/// One tshark-like line.
pub fn frame_line(r: &FrameRecord, d: Option<&Decoded>, opts: &OutputOptions) -> String {
    let mut s = format!(
        "{:>6} {} {} -> {} ",
        r.packet,
        &format_ts(r.ts)[11..26],
        r.src,
        r.dst
    );
    let cmd = match &r.command {
        Ok(c) => c,
        Err(e) => {
            let _ = write!(s, "UNDECODABLE {e}");
            return s;
        }
    };
    let _ = write!(
        s,
        "{} {} opaque={}",
        code_name(cmd),
        cmd.kind().as_str(),
        cmd.opaque
    );
    if let Some(q) = &r.request {
        let _ = write!(s, " req={}@{}", RequestCode(q.code), q.packet);
    }
    if let Some(d) = d {
        if let Some(t) = d.topic() {
            let _ = write!(s, " topic={t}");
        }
        let get = |k: &str| d.field(k).map(|v| v.to_json());
        if let Some(q) = get("queueId") {
            let _ = write!(s, " queueId={q}");
        }
        if cmd.kind() == Kind::Response {
            if let Some(id) = d.field_str("msgId") {
                let _ = write!(s, " msgId={id}");
            }
            if let Some(q) = get("queueOffset") {
                let _ = write!(s, " queueOffset={q}");
            }
            if let Some(q) = get("nextBeginOffset") {
                let _ = write!(s, " nextBeginOffset={q}");
            }
        }
        if d.messages.len() == 1 {
            let m = &d.messages[0];
            if let Some(t) = m.tags() {
                let _ = write!(s, " tags={t}");
            }
            if let Some(k) = m.keys() {
                let _ = write!(s, " keys={k}");
            }
            if let Some(u) = m.uniq_key() {
                let _ = write!(s, " uniqKey={u}");
            }
            let _ = write!(s, " body={}B", m.body.len());
        } else if !d.messages.is_empty() {
            let _ = write!(s, " messages={}", d.messages.len());
        }
    }
    if let (Kind::Response, Some(rm)) = (cmd.kind(), &cmd.remark)
        && cmd.code != 0
    {
        let _ = write!(s, " remark={rm:?}");
    }
    if let Some(l) = r.latency_us() {
        let _ = write!(s, " latency={l}us");
    }
    let _ = opts;
    s
}

/// A verbose tree for one frame (the JSON object laid out as indented lines).
pub fn frame_tree(r: &FrameRecord, d: Option<&Decoded>, opts: &OutputOptions) -> String {
    let v = frame_json(r, d, opts);
    let mut s = String::new();
    let _ = writeln!(s, "{}", frame_line(r, d, opts));
    tree(&v, 1, &mut s);
    s
}

fn tree(v: &Value, depth: usize, s: &mut String) {
    let pad = "    ".repeat(depth);
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match x {
                    Value::Object(mm) if !mm.is_empty() => {
                        let _ = writeln!(s, "{pad}{k}:");
                        tree(x, depth + 1, s);
                    }
                    Value::Array(a) if a.iter().any(|e| e.is_object()) => {
                        let _ = writeln!(s, "{pad}{k}: [{}]", a.len());
                        for (i, e) in a.iter().enumerate() {
                            let _ = writeln!(s, "{pad}    [{i}]");
                            tree(e, depth + 2, s);
                        }
                    }
                    _ => {
                        let _ = writeln!(s, "{pad}{k}: {}", scalar(x));
                    }
                }
            }
        }
        other => {
            let _ = writeln!(s, "{pad}{}", scalar(other));
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(t) => {
            if t.chars().any(|c| c.is_control()) {
                format!("{t:?}")
            } else {
                t.clone()
            }
        }
        other => other.to_string(),
    }
}

/// A problem as a text line.
pub fn problem_line(p: &Problem) -> String {
    match p.stream {
        Some(st) => format!(
            "packet {}: {} (stream {st}): {}",
            p.packet,
            p.kind.as_str(),
            p.message
        ),
        None => format!("packet {}: {}: {}", p.packet, p.kind.as_str(), p.message),
    }
}

/// Writes a line, mapping broken pipes to a distinct error kind the CLI exits quietly on.
pub fn write_line<W: Write>(w: &mut W, line: &str) -> io::Result<()> {
    w.write_all(line.as_bytes())?;
    w.write_all(b"\n")
}

/// `; N connections evicted at the flow limits (…)` for the summary lines of `verify`, when
/// the flow limits forgot connections before their end; empty otherwise.
pub fn evictions_note(t: &crate::analysis::Totals) -> String {
    if t.evicted_flows + t.evicted_half_open == 0 {
        return String::new();
    }
    format!(
        "; {} connections evicted at the flow limits ({} over --max-flows, {} handshake-only over --max-half-open-flows)",
        t.evicted_flows + t.evicted_half_open,
        t.evicted_flows,
        t.evicted_half_open
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(format_ts(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            format_ts(1_624_246_456_683_000_000),
            "2021-06-21T03:34:16.683000Z"
        );
        assert_eq!(
            format_ts(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
    }
}
