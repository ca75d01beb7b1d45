//! Typed custom headers: which extFields keys a request or response code carries, with
//! their Java field names and types.
//!
//! Sources: apache/rocketmq `remoting/.../protocol/header/*.java` (4.x:
//! `common/.../protocol/header/`), e.g. `SendMessageRequestHeader.java`,
//! `SendMessageRequestHeaderV2.java` (single-letter keys), `SendMessageResponseHeader.java`,
//! `PullMessageRequestHeader.java`, `PullMessageResponseHeader.java`,
//! `namesrv/GetRouteInfoRequestHeader.java`; protocol.md section 6. Values are converted as
//! `RemotingCommand.decodeCommandCustomHeader` does: `Integer.parseInt`, `Long.parseLong`,
//! `Boolean.parseBoolean` (case-insensitive "true", anything else false) — except that "1"
//! reads as true, as the C++ 2.x client that writes it means.

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Str,
    Int,
    Long,
    Bool,
}

/// One header field: the key on the wire, the Java field name, the type.
pub type Field = (&'static str, &'static str, Ty);

use Ty::*;

/// Keys inherited from `RpcRequestHeader` / `TopicRequestHeader` (4.9.5+, 5.x).
const RPC: &[Field] = &[
    ("bname", "bname", Str),
    ("ns", "ns", Str),
    ("nsd", "nsd", Bool),
    ("oway", "oway", Bool),
    ("lo", "lo", Bool),
];

const SEND_V1: &[Field] = &[
    ("producerGroup", "producerGroup", Str),
    ("topic", "topic", Str),
    ("defaultTopic", "defaultTopic", Str),
    ("defaultTopicQueueNums", "defaultTopicQueueNums", Int),
    ("queueId", "queueId", Int),
    ("sysFlag", "sysFlag", Int),
    ("bornTimestamp", "bornTimestamp", Long),
    ("flag", "flag", Int),
    ("properties", "properties", Str),
    ("reconsumeTimes", "reconsumeTimes", Int),
    ("unitMode", "unitMode", Bool),
    ("batch", "batch", Bool),
    ("maxReconsumeTimes", "maxReconsumeTimes", Int),
];

/// `SendMessageRequestHeaderV2`: the letters and the V1 names they stand for.
pub static SEND_V2: &[Field] = &[
    ("a", "producerGroup", Str),
    ("b", "topic", Str),
    ("c", "defaultTopic", Str),
    ("d", "defaultTopicQueueNums", Int),
    ("e", "queueId", Int),
    ("f", "sysFlag", Int),
    ("g", "bornTimestamp", Long),
    ("h", "flag", Int),
    ("i", "properties", Str),
    ("j", "reconsumeTimes", Int),
    ("k", "unitMode", Bool),
    ("l", "maxReconsumeTimes", Int),
    ("m", "batch", Bool),
    ("n", "brokerName", Str),
];

const SEND_RESPONSE: &[Field] = &[
    ("msgId", "msgId", Str),
    ("queueId", "queueId", Int),
    ("queueOffset", "queueOffset", Long),
    ("transactionId", "transactionId", Str),
    ("batchUniqId", "batchUniqId", Str),
    ("recallHandle", "recallHandle", Str),
    ("MSG_REGION", "MSG_REGION", Str),
    ("TRACE_ON", "TRACE_ON", Bool),
];

const ROUTE: &[Field] = &[
    ("topic", "topic", Str),
    ("acceptStandardJsonOnly", "acceptStandardJsonOnly", Bool),
];

const UNREGISTER: &[Field] = &[
    ("clientID", "clientID", Str),
    ("producerGroup", "producerGroup", Str),
    ("consumerGroup", "consumerGroup", Str),
];

const PULL: &[Field] = &[
    ("consumerGroup", "consumerGroup", Str),
    ("topic", "topic", Str),
    ("queueId", "queueId", Int),
    ("queueOffset", "queueOffset", Long),
    ("maxMsgNums", "maxMsgNums", Int),
    ("sysFlag", "sysFlag", Int),
    ("commitOffset", "commitOffset", Long),
    ("suspendTimeoutMillis", "suspendTimeoutMillis", Long),
    ("subscription", "subscription", Str),
    ("subVersion", "subVersion", Long),
    ("expressionType", "expressionType", Str),
    ("maxMsgBytes", "maxMsgBytes", Int),
    ("requestSource", "requestSource", Int),
    ("proxyFrowardClientId", "proxyFrowardClientId", Str),
];

const PULL_RESPONSE: &[Field] = &[
    ("suggestWhichBrokerId", "suggestWhichBrokerId", Long),
    ("nextBeginOffset", "nextBeginOffset", Long),
    ("minOffset", "minOffset", Long),
    ("maxOffset", "maxOffset", Long),
    ("offsetDelta", "offsetDelta", Long),
    ("topicSysFlag", "topicSysFlag", Int),
    ("groupSysFlag", "groupSysFlag", Int),
    ("forbiddenType", "forbiddenType", Int),
];

const QUERY_OFFSET: &[Field] = &[
    ("consumerGroup", "consumerGroup", Str),
    ("topic", "topic", Str),
    ("queueId", "queueId", Int),
    ("setZeroIfNotFound", "setZeroIfNotFound", Bool),
];

const OFFSET_RESPONSE: &[Field] = &[("offset", "offset", Long)];

const UPDATE_OFFSET: &[Field] = &[
    ("consumerGroup", "consumerGroup", Str),
    ("topic", "topic", Str),
    ("queueId", "queueId", Int),
    ("commitOffset", "commitOffset", Long),
];

const CONSUMER_GROUP: &[Field] = &[("consumerGroup", "consumerGroup", Str)];

const SEND_BACK: &[Field] = &[
    ("offset", "offset", Long),
    ("group", "group", Str),
    ("delayLevel", "delayLevel", Int),
    ("originMsgId", "originMsgId", Str),
    ("originTopic", "originTopic", Str),
    ("unitMode", "unitMode", Bool),
    ("maxReconsumeTimes", "maxReconsumeTimes", Int),
];

const END_TX: &[Field] = &[
    ("topic", "topic", Str),
    ("producerGroup", "producerGroup", Str),
    ("tranStateTableOffset", "tranStateTableOffset", Long),
    ("commitLogOffset", "commitLogOffset", Long),
    ("commitOrRollback", "commitOrRollback", Int),
    ("fromTransactionCheck", "fromTransactionCheck", Bool),
    ("msgId", "msgId", Str),
    ("transactionId", "transactionId", Str),
];

const CHECK_TX: &[Field] = &[
    ("tranStateTableOffset", "tranStateTableOffset", Long),
    ("commitLogOffset", "commitLogOffset", Long),
    ("msgId", "msgId", Str),
    ("transactionId", "transactionId", Str),
    ("offsetMsgId", "offsetMsgId", Str),
    ("topic", "topic", Str),
];

const MAX_OFFSET: &[Field] = &[
    ("topic", "topic", Str),
    ("queueId", "queueId", Int),
    ("committed", "committed", Bool),
];

const REGISTER_BROKER: &[Field] = &[
    ("brokerName", "brokerName", Str),
    ("brokerAddr", "brokerAddr", Str),
    ("clusterName", "clusterName", Str),
    ("haServerAddr", "haServerAddr", Str),
    ("brokerId", "brokerId", Long),
    ("heartbeatTimeoutMillis", "heartbeatTimeoutMillis", Long),
    ("enableActingMaster", "enableActingMaster", Bool),
    ("compressed", "compressed", Bool),
    ("bodyCrc32", "bodyCrc32", Int),
];

const EMPTY: &[Field] = &[];

/// The header fields of a request code, if this build has its header class.
pub fn request_fields(code: i32) -> Option<&'static [Field]> {
    Some(match code {
        10 | 324 => SEND_V1,
        310 | 320 | 325 => SEND_V2,
        105 => ROUTE,
        34 => EMPTY,
        35 => UNREGISTER,
        11 | 361 => PULL,
        14 => QUERY_OFFSET,
        15 => UPDATE_OFFSET,
        38 | 40 => CONSUMER_GROUP,
        36 => SEND_BACK,
        37 => END_TX,
        39 => CHECK_TX,
        30 | 31 => MAX_OFFSET,
        103 => REGISTER_BROKER,
        _ => return None,
    })
}

/// The response header fields for the request code a response answers.
pub fn response_fields(request_code: i32) -> Option<&'static [Field]> {
    Some(match request_code {
        10 | 310 | 320 | 324 | 325 => SEND_RESPONSE,
        11 | 361 => PULL_RESPONSE,
        14 | 30 | 31 => OFFSET_RESPONSE,
        103 => &[
            ("haServerAddr", "haServerAddr", Str),
            ("masterAddr", "masterAddr", Str),
        ],
        105 | 34 | 35 | 15 | 38 | 36 | 37 => EMPTY,
        _ => return None,
    })
}

/// A typed header value.
#[derive(Clone, Debug, PartialEq)]
pub enum HVal<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
}

impl HVal<'_> {
    pub fn to_json(&self) -> Value {
        match self {
            HVal::Str(s) => Value::String(s.to_string()),
            HVal::Int(i) => Value::from(*i),
            HVal::Bool(b) => Value::Bool(*b),
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            HVal::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            HVal::Int(i) => Some(*i),
            HVal::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            HVal::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

/// Converts a value like Java's header decoding; `Err` when it does not parse.
pub fn convert(ty: Ty, v: &str) -> Result<HVal<'_>, String> {
    match ty {
        Str => Ok(HVal::Str(v)),
        Int => v
            .trim()
            .parse::<i32>()
            .map(|x| HVal::Int(x.into()))
            .map_err(|_| format!("{v:?} is not an Integer")),
        Long => v
            .trim()
            .parse::<i64>()
            .map(HVal::Int)
            .map_err(|_| format!("{v:?} is not a Long")),
        // Java's Boolean.parseBoolean, plus the C++ 2.x client's "1" (it writes booleans
        // as "0"/"1"; its batches are code 10 with batch "1" and only make sense as true).
        Bool => Ok(HVal::Bool(v.eq_ignore_ascii_case("true") || v == "1")),
    }
}

/// The typed header: (Java field name, value) in wire order. Keys the class does not
/// declare are kept under their own names as strings; values that do not parse are kept
/// as strings and reported in `errors`.
pub fn typed<'a>(
    fields: &[Field],
    ext: &'a [(
        crate::remoting::command::ExtString,
        crate::remoting::command::ExtString,
    )],
    errors: &mut Vec<String>,
) -> Vec<(&'a str, HVal<'a>)> {
    let mut m = Vec::with_capacity(ext.len());
    for (k, v) in ext {
        let kb = k.as_bytes();
        let def = match kb {
            // SendMessageRequestHeaderV2's letters: a direct index.
            [c @ b'a'..=b'n'] if std::ptr::eq(fields, SEND_V2) => {
                Some(&SEND_V2[(c - b'a') as usize])
            }
            _ => fields.iter().chain(RPC).find(|f| {
                f.0.len() == kb.len() && f.0.as_bytes()[0] == kb[0] && f.0.as_bytes() == kb
            }),
        };
        match def {
            Some(&(_, name, ty)) => match convert(ty, v) {
                Ok(val) => m.push((name, val)),
                Err(e) => {
                    errors.push(format!("header field {name} ({k}): {e}"));
                    m.push((name, HVal::Str(v)));
                }
            },
            None => m.push((k.as_str(), HVal::Str(v))),
        }
    }
    m
}
