//! One text line per frame, as tshark's summary line: packet, time, addresses, the code's
//! name and kind, opaque, the request a response answers, then the code's key fields
//! (docs/text-output.md lists them), values with spaces or control characters quoted.

use std::fmt::{self, Write as _};

use crate::analysis::{FrameRecord, Problem};
use crate::protocol::Decoded;
use crate::protocol::headers::HVal;
use crate::protocol::message;
use crate::remoting::codes::RequestCode;
use crate::remoting::command::Kind;

use super::{OutputOptions, code_name};

/// Typed header fields shown on the line when the header has them, in this order (Java
/// field names: `PullMessageRequestHeader`, `UpdateConsumerOffsetRequestHeader`,
/// `QueryConsumerOffsetRequestHeader`/`ResponseHeader`, `SearchOffsetRequestHeader`/
/// `ResponseHeader`, `GetMaxOffset*`, `GetMinOffset*`, `QueryMessageRequestHeader`,
/// `ViewMessageRequestHeader`, `PopMessageRequestHeader`, `AckMessageRequestHeader`,
/// `ChangeInvisibleTimeRequestHeader`, `SendMessageResponseHeader`,
/// `PullMessageResponseHeader`).
const KEY_FIELDS: &[&str] = &[
    "consumerGroup",
    "group",
    "queueId",
    "queueOffset",
    "commitOffset",
    "offset",
    "timestamp",
    "key",
    "nextBeginOffset",
    "minOffset",
    "maxOffset",
];

/// A value as shown on a text line: as is, or quoted (Rust string escapes) when it is
/// empty or holds spaces, quotes, `=` or control characters, so that the line splits
/// unambiguously at spaces.
pub fn quoted(v: &str) -> impl fmt::Display + '_ {
    struct Q<'a>(&'a str);
    impl fmt::Display for Q<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let plain = !self.0.is_empty()
                && !self
                    .0
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=');
            if plain {
                f.write_str(self.0)
            } else {
                write!(f, "{:?}", self.0)
            }
        }
    }
    Q(v)
}

fn hval(v: &HVal) -> String {
    match v {
        HVal::Str(s) => quoted(s).to_string(),
        HVal::Int(i) => i.to_string(),
        HVal::Bool(b) => b.to_string(),
    }
}

/// One tshark-like line. `uniq_key` is the UNIQ_KEY of the send request a send response
/// answers (the response carries only the store's offsetMsgId).
pub fn frame_line(
    r: &FrameRecord,
    d: Option<&Decoded>,
    opts: &OutputOptions,
    uniq_key: Option<&str>,
) -> String {
    let mut s = format!(
        "{:>6} {} {} -> {} ",
        r.packet,
        opts.clock.show(r.ts),
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
    let response = cmd.kind() == Kind::Response;
    let _ = write!(
        s,
        "{} {} opaque={}",
        code_name(cmd),
        cmd.kind().as_str(),
        cmd.opaque
    );
    let send_response = response
        && r.request
            .as_ref()
            .is_some_and(|q| RequestCode(q.code).is_send());
    if let Some(q) = &r.request {
        let _ = write!(s, " req={}@{}", RequestCode(q.code), q.packet);
    }
    if let Some(d) = d {
        if let Some(t) = d.topic() {
            let _ = write!(s, " topic={}", quoted(t));
        }
        for k in KEY_FIELDS {
            if let Some(v) = d.field(k) {
                let _ = write!(s, " {k}={}", hval(v));
            }
        }
        if send_response {
            // SendMessageResponseHeader.msgId is the store's offsetMsgId; the id operators
            // mean by "msgId" is the request's UNIQ_KEY.
            if let Some(u) = uniq_key {
                let _ = write!(s, " msgId={}", quoted(u));
            }
            if let Some(id) = d.field_str("msgId") {
                let _ = write!(s, " offsetMsgId={}", quoted(id));
            }
        } else if let Some(id) = d.field_str("msgId") {
            let _ = write!(s, " msgId={}", quoted(id));
        }
        if d.messages.len() == 1 {
            let m = &d.messages[0];
            if let Some(t) = m.tags() {
                let _ = write!(s, " tags={}", quoted(t));
            }
            if let Some(k) = m.keys() {
                let _ = write!(s, " keys={}", quoted(k));
            }
            if let Some(u) = m.uniq_key() {
                let _ = write!(s, " msgId={}", quoted(u));
            }
            if let Some(st) = &m.stored {
                let _ = write!(s, " offsetMsgId={}", st.offset_msg_id());
                if d.field("queueOffset").is_none() {
                    let _ = write!(s, " queueOffset={}", st.queue_offset);
                }
            }
            let _ = write!(s, " body={}B", m.body.len());
        } else if !d.messages.is_empty() {
            let _ = write!(s, " messages={}", d.messages.len());
            if let (Some(a), Some(b)) = (
                d.messages.first().and_then(|m| m.stored.as_ref()),
                d.messages.last().and_then(|m| m.stored.as_ref()),
            ) {
                let _ = write!(s, " queueOffsets={}..{}", a.queue_offset, b.queue_offset);
            }
        }
        let inner: usize = d.messages.iter().map(|m| m.inner.len()).sum();
        if inner > 0 {
            let _ = write!(s, " inner_messages={inner}");
        }
    }
    if let (true, Some(rm)) = (response, &cmd.remark)
        && cmd.code != 0
    {
        let _ = write!(s, " remark={:?}", rm);
    }
    if let Some(l) = r.latency_us() {
        let _ = write!(s, " latency={l}us");
    }
    s
}

/// The msgId a send's SendResult reports: the request's UNIQ_KEY, for a batch its
/// messages' UNIQ_KEYs joined by `,` (`MQClientAPIImpl.processSendResponse`); `None` for
/// frames that are not send requests or carry no UNIQ_KEY.
pub fn send_uniq_key(r: &FrameRecord, d: Option<&Decoded>) -> Option<String> {
    let cmd = r.command.as_ref().ok()?;
    if cmd.kind() == Kind::Response || !RequestCode(cmd.code).is_send() {
        return None;
    }
    let ids: Vec<&str> = d?
        .messages
        .iter()
        .filter_map(message::Message::uniq_key)
        .collect();
    (!ids.is_empty()).then(|| ids.join(","))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quoted("TopicTest").to_string(), "TopicTest");
        assert_eq!(quoted("k1 k2").to_string(), "\"k1 k2\"");
        assert_eq!(quoted("").to_string(), "\"\"");
        assert_eq!(quoted("a=b").to_string(), "\"a=b\"");
        assert_eq!(quoted("a\u{1}b").to_string(), "\"a\\u{1}b\"");
    }
}
