//! Meaning of a command: typed headers, messages (send requests, batches, pulled stored
//! messages), message ids and JSON bodies. A response is interpreted with the code of the
//! request it answers (`NettyRemotingAbstract.processResponseCommand` matches by opaque;
//! only the requester knows what the response body means).

pub mod body;
mod cursor;
pub mod headers;
pub mod json_bound;
pub mod message;
pub mod msg_id;
pub mod pop_info;
pub mod register_broker;
pub mod uniq_key;

use serde_json::{Map, Value};

use crate::remoting::command::{Kind, RemotingCommand};
use crate::remoting::json;

pub use message::Message;

/// Limits for body decoding.
#[derive(Clone, Copy, Debug)]
pub struct DecodeOptions {
    /// Largest body a compressed message may inflate to.
    pub max_inflated: usize,
    /// Inflate compressed bodies (off for statistics, which only need sizes).
    pub inflate: bool,
    /// The per-frame budget (messages, properties, total inflated size).
    pub limits: crate::limits::Limits,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_inflated: 64 << 20,
            inflate: true,
            limits: crate::limits::Limits::default(),
        }
    }
}

impl DecodeOptions {
    /// The body limit handed to the message decoders: 0 keeps bodies as on the wire.
    fn body_limit(&self) -> usize {
        if self.inflate { self.max_inflated } else { 0 }
    }
}

/// What a command means. Borrows from the command it was decoded from.
#[derive(Clone, Debug, Default)]
pub struct Decoded<'a> {
    /// Typed header, (Java field name, value) in wire order, when the header class is known.
    pub header: Option<Vec<(&'a str, headers::HVal<'a>)>>,
    /// Messages carried: send request (one, or the batch's items) or pull response.
    pub messages: Vec<Message<'a>>,
    /// The body as JSON when it is a JSON document (route data, heartbeat…).
    pub body_json: Option<Value>,
    /// Whether the send request was a batch.
    pub batch: bool,
    pub errors: Vec<String>,
    /// The frame's one limit problem (`limits::Limits` reached: what was left out, counted).
    pub limit: Option<String>,
    /// A POP_MESSAGE answer's startOffsetInfo / msgOffsetInfo / orderCountInfo, decoded.
    pub pop: Option<pop_info::PopInfo>,
}

impl<'a> Decoded<'a> {
    /// A typed header field (the last one, as Java's map keeps).
    pub fn field(&self, name: &str) -> Option<&headers::HVal<'a>> {
        self.header
            .as_ref()?
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// A string header field.
    pub fn field_str(&self, name: &str) -> Option<&'a str> {
        match self.field(name)? {
            headers::HVal::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The typed header as a JSON object (keys sorted).
    pub fn header_json(&self) -> Option<Map<String, Value>> {
        self.header.as_ref().map(|h| {
            h.iter()
                .map(|(k, v)| (k.to_string(), v.to_json()))
                .collect()
        })
    }

    /// The topic the command is about (header topic, else first message's).
    pub fn topic(&self) -> Option<&str> {
        self.field_str("topic")
            .or_else(|| self.messages.first().map(|m| m.topic.as_ref()))
    }
}

/// The code a response's header and body must be read with.
pub fn effective_code(cmd: &RemotingCommand, request_code: Option<i32>) -> Option<i32> {
    match cmd.kind() {
        Kind::Response => request_code,
        _ => Some(cmd.code),
    }
}

/// Decodes the header and body of `cmd`. `request_code` is the paired request's code for a
/// response (None if unpaired: then only raw extFields and a JSON body are given).
pub fn decode<'a>(
    cmd: &'a RemotingCommand,
    request_code: Option<i32>,
    opts: &DecodeOptions,
) -> Decoded<'a> {
    use std::borrow::Cow;
    let mut d = Decoded::default();
    let is_response = cmd.kind() == Kind::Response;
    let code = effective_code(cmd, request_code);
    let fields = match (is_response, code) {
        (false, Some(c)) => headers::request_fields(c),
        (true, Some(c)) => headers::response_fields(c),
        _ => None,
    };
    if let Some(f) = fields {
        let ext = cmd.ext_fields.as_deref().unwrap_or(&[]);
        d.header = Some(headers::typed(f, ext, &mut d.errors));
    }
    let body = &cmd.body[..];
    let mut budget = body::Budget::new(opts.limits, opts.body_limit());
    let mut body_limit = None;
    if is_response && code == Some(200050) {
        let f = |k: &str| d.field_str(k);
        let (info, errors) = pop_info::decode(
            f("startOffsetInfo"),
            f("msgOffsetInfo"),
            f("orderCountInfo"),
            &opts.limits,
        );
        let mut cut = Vec::new();
        for e in errors {
            if e.is_limit() {
                cut.push(e.to_string());
            } else {
                d.errors.push(e.to_string());
            }
        }
        body_limit = (!cut.is_empty()).then(|| cut.join("; "));
        d.pop = Some(info).filter(|p| *p != pop_info::PopInfo::default());
    }
    match (is_response, code) {
        (false, Some(c)) if carries_sent_message(c) => {
            let topic = d.field_str("topic").unwrap_or("");
            let num = |k: &str| d.field(k).and_then(|v| v.as_i64());
            let queue_id = num("queueId").map(|q| q as i32);
            let sys_flag = num("sysFlag").unwrap_or(0) as i32;
            let flag = num("flag").unwrap_or(0) as i32;
            let born = num("bornTimestamp");
            let props = d.field_str("properties").unwrap_or("");
            let batch =
                code == Some(320) || d.field("batch").and_then(|v| v.as_bool()).unwrap_or(false);
            d.batch = batch;
            if batch {
                let (mut msgs, err) = body::decode_batch_in(body, topic, queue_id, &mut budget);
                for m in &mut msgs {
                    m.born_timestamp = born;
                }
                d.messages = msgs;
                d.errors.extend(err);
            } else {
                let mut m = Message::with_body_in(
                    Cow::Borrowed(topic),
                    sys_flag,
                    Cow::Borrowed(props),
                    Cow::Borrowed(body),
                    &mut budget,
                );
                m.queue_id = queue_id;
                m.flag = flag;
                m.born_timestamp = born;
                if let Some(e) = &m.error
                    && !e.starts_with(body::LEFT_COMPRESSED)
                {
                    d.errors.push(format!("message body: {e}"));
                }
                d.messages.push(m);
            }
        }
        (_, Some(c)) if !body.is_empty() && carries_stored_messages(c, is_response) => {
            if !is_response || cmd.code == 0 {
                let (msgs, err) = body::decode_stored_in(body, &mut budget);
                d.messages = msgs;
                d.errors.extend(err);
            }
        }
        (false, Some(103))
            if !body.is_empty()
                && opts.inflate
                && d.field("compressed").and_then(|v| v.as_bool()) == Some(true) =>
        {
            let max = opts.max_inflated.min(opts.limits.max_inflated_per_frame);
            match register_broker::decode_compressed(body, cmd.version, max, &opts.limits) {
                Ok((v, limit)) => {
                    d.body_json = Some(v);
                    body_limit = limit;
                }
                Err(e) => d.errors.push(format!("compressed RegisterBrokerBody: {e}")),
            }
        }
        _ => {
            if let Some(first) = body.iter().find(|b| !b.is_ascii_whitespace())
                && matches!(first, b'{' | b'[')
            {
                // Measured before it is parsed: past the limits the body is shown as its
                // length, with one limit problem.
                match json_bound::check("JSON body", body, &opts.limits) {
                    Err(l) => body_limit = Some(l),
                    Ok(()) => match json::parse(body) {
                        Ok(v) => d.body_json = Some(v.to_serde()),
                        Err(e) => d.errors.push(format!("JSON body: {e}")),
                    },
                }
            }
        }
    }
    d.limit = match (budget.report(), body_limit) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    };
    d
}

/// Requests whose body is one message (or a batch) described by the header: the send
/// codes (`SendMessageRequestHeader`/`V2`: SEND_MESSAGE 10, SEND_MESSAGE_V2 310,
/// SEND_BATCH_MESSAGE 320, SEND_REPLY_MESSAGE 324/_V2 325) and PUSH_REPLY_MESSAGE_TO_CLIENT
/// 326 (`ReplyMessageRequestHeader`; `ClientRemotingProcessor.receiveReplyMessage` inflates
/// the body per sysFlag).
pub fn carries_sent_message(request_code: i32) -> bool {
    matches!(request_code, 10 | 310 | 320 | 324 | 325 | 326)
}

/// Whether a body of this code holds stored messages (`MessageDecoder.decode*` callers in
/// apache/rocketmq): responses to PULL_MESSAGE 11 and LITE_PULL_MESSAGE 361
/// (`MQClientAPIImpl.processPullResponse`, `PullAPIWrapper.processPullResult`,
/// broker-to-broker `BrokerOuterAPI.pullMessageFromSpecificBroker`), QUERY_MESSAGE 12
/// (`MQAdminImpl.queryMessage`, `MqClientAdminImpl.queryMessage`), VIEW_MESSAGE_BY_ID 33
/// (`MQClientAPIImpl.viewMessage`), POP_MESSAGE 200050 (`MQClientAPIImpl.processPopResponse`)
/// and PEEK_MESSAGE 200052 (`PeekMessageProcessor` answers in the pop layout); requests
/// CHECK_TRANSACTION_STATE 39 and CONSUME_MESSAGE_DIRECTLY 309 (broker -> client,
/// `ClientRemotingProcessor.checkTransactionState` / `consumeMessageDirectly`).
pub fn carries_stored_messages(code: i32, is_response: bool) -> bool {
    if is_response {
        matches!(code, 11 | 361 | 12 | 33 | 200050 | 200052)
    } else {
        matches!(code, 39 | 309)
    }
}

/// extFields keys that carry credentials (`AclClientRPCHook`, `SessionCredentials`).
pub const SECRET_KEYS: &[&str] = &["AccessKey", "Signature", "SecurityToken"];

/// True for keys whose values are redacted unless `--show-secrets`.
pub fn is_secret(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSON body past `max_json_nodes` / `max_json_body` is not turned into a tree (the
    /// breaker's j01/j02: one 16 MB body of `[]`s cost 465 MB): it is shown as its length
    /// with one limit problem, and nothing is an error.
    #[test]
    fn json_bodies_past_the_limits_are_not_parsed() {
        let body = format!("[{}]", vec!["[]"; 100].join(","));
        let cmd = RemotingCommand {
            code: 34,
            body: body.clone().into_bytes(),
            ..Default::default()
        };
        let d = decode(&cmd, None, &DecodeOptions::default());
        assert_eq!(d.body_json.as_ref().unwrap().as_array().unwrap().len(), 100);
        assert!(d.limit.is_none());
        let mut opts = DecodeOptions::default();
        opts.limits.max_json_nodes = 100;
        let d = decode(&cmd, None, &opts);
        assert!(d.body_json.is_none() && d.errors.is_empty());
        assert_eq!(
            d.limit.unwrap(),
            format!(
                "JSON body of {} bytes not parsed past max_json_nodes 100 (more than 100 nodes)",
                body.len()
            )
        );
        let mut opts = DecodeOptions::default();
        opts.limits.max_json_body = 100;
        let d = decode(&cmd, None, &opts);
        assert!(d.body_json.is_none());
        assert!(d.limit.unwrap().contains("past max_json_body 100"));
    }
}
