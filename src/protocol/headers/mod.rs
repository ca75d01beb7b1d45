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

#[rustfmt::skip]
mod classes;
pub use classes::*;

/// Keys inherited from `RpcRequestHeader` / `TopicRequestHeader` (4.9.5+, 5.x).
const RPC: &[Field] = &[
    ("bname", "bname", Str),
    ("ns", "ns", Str),
    ("nsd", "nsd", Bool),
    ("oway", "oway", Bool),
    ("lo", "lo", Bool),
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

/// The request header class of a request code: `classes::request_class` (generated from
/// the Java callers), with the V2 send header's letters, and the classes whose callers the
/// generator cannot see (tools and proxy paths that build the command elsewhere).
pub fn request_class(code: i32) -> Option<(&'static str, &'static [Field])> {
    Some(match code {
        310 | 320 | 325 => ("SendMessageRequestHeaderV2", SEND_V2),
        // PeekMessageProcessor / PollingInfoProcessor decode these; sent by the 5.x proxy.
        200052 => ("PeekMessageRequestHeader", PEEK_MESSAGE_REQUEST_HEADER),
        200055 => ("PollingInfoRequestHeader", POLLING_INFO_REQUEST_HEADER),
        // ClientRemotingProcessor.getConsumeStatus (broker -> client).
        221 => (
            "GetConsumerStatusRequestHeader",
            GET_CONSUMER_STATUS_REQUEST_HEADER,
        ),
        // AdminBrokerProcessor.resetOffset / getConsumerStatus (mqadmin -> broker).
        212 => ("ResetOffsetRequestHeader", RESET_OFFSET_REQUEST_HEADER),
        _ => return classes::request_class(code),
    })
}

/// The header fields of a request code, if this build has its header class.
pub fn request_fields(code: i32) -> Option<&'static [Field]> {
    request_class(code).map(|(_, f)| f)
}

/// Request codes whose responses carry no custom header: the handler answers with
/// `createResponseCommand(null)` or `createResponseCommand(code, remark)`. Every
/// `case RequestCode.X` of AdminBrokerProcessor, ClientManageProcessor,
/// QueryAssignmentProcessor, AckMessageProcessor, SendMessageProcessor (consumer send-back)
/// and namesrv/DefaultRequestProcessor whose handler builds its response that way.
#[rustfmt::skip]
const NO_HEADER_RESPONSES: &[i32] = &[
    17, 18, 25, 28, 34, 36, 40, 41, 42, 43, 45, 46, 60, 61, 100, 102, 104, 105, 106, 200, 202,
    203, 204, 206, 207, 208, 215, 216, 217, 219, 220, 224, 225, 300, 303, 304, 305, 306, 307,
    308, 309, 311, 312, 313, 314, 315, 316, 317, 318, 319, 321, 323, 328, 329, 343, 345, 351,
    352, 353, 354, 355, 400, 401, 402, 513, 901, 904, 905, 907, 908, 1007, 1008, 2001, 2002,
    2003, 2004, 3001, 3002, 3003, 3004, 3005, 3006, 3007, 3008, 3009, 3010, 200051, 200056,
    200151,
];

/// The response header class for the request code a response answers: the class the
/// broker's or NameServer's processor passes to `RemotingCommand.createResponseCommand`
/// (`SendMessageProcessor`, `PullMessageProcessor`, `PopMessageProcessor`,
/// `PeekMessageProcessor`, `AdminBrokerProcessor`, `ConsumerManageProcessor`,
/// `QueryMessageProcessor`, `namesrv/DefaultRequestProcessor`...). `""` with no fields:
/// the processor answers with a plain `createResponseCommand(null)`.
pub fn response_class(request_code: i32) -> Option<(&'static str, &'static [Field])> {
    Some(match request_code {
        10 | 310 | 320 | 324 | 325 => ("SendMessageResponseHeader", SEND_RESPONSE),
        11 | 361 => ("PullMessageResponseHeader", PULL_MESSAGE_RESPONSE_HEADER),
        12 => ("QueryMessageResponseHeader", QUERY_MESSAGE_RESPONSE_HEADER),
        14 => (
            "QueryConsumerOffsetResponseHeader",
            QUERY_CONSUMER_OFFSET_RESPONSE_HEADER,
        ),
        15 => (
            "UpdateConsumerOffsetResponseHeader",
            UPDATE_CONSUMER_OFFSET_RESPONSE_HEADER,
        ),
        21 => (
            "GetAllTopicConfigResponseHeader",
            GET_ALL_TOPIC_CONFIG_RESPONSE_HEADER,
        ),
        26 => (
            "GetBrokerConfigResponseHeader",
            GET_BROKER_CONFIG_RESPONSE_HEADER,
        ),
        29 => ("SearchOffsetResponseHeader", SEARCH_OFFSET_RESPONSE_HEADER),
        30 => ("GetMaxOffsetResponseHeader", GET_MAX_OFFSET_RESPONSE_HEADER),
        31 => ("GetMinOffsetResponseHeader", GET_MIN_OFFSET_RESPONSE_HEADER),
        32 => (
            "GetEarliestMsgStoretimeResponseHeader",
            GET_EARLIEST_MSG_STORETIME_RESPONSE_HEADER,
        ),
        33 => ("ViewMessageResponseHeader", VIEW_MESSAGE_RESPONSE_HEADER),
        35 => (
            "UnregisterClientResponseHeader",
            UNREGISTER_CLIENT_RESPONSE_HEADER,
        ),
        37 => (
            "EndTransactionResponseHeader",
            END_TRANSACTION_RESPONSE_HEADER,
        ),
        38 => (
            "GetConsumerListByGroupResponseHeader",
            GET_CONSUMER_LIST_BY_GROUP_RESPONSE_HEADER,
        ),
        101 => ("GetKVConfigResponseHeader", GET_KVCONFIG_RESPONSE_HEADER),
        103 => (
            "RegisterBrokerResponseHeader",
            REGISTER_BROKER_RESPONSE_HEADER,
        ),
        201 => (
            "GetAllSubscriptionGroupResponseHeader",
            GET_ALL_SUBSCRIPTION_GROUP_RESPONSE_HEADER,
        ),
        205 => (
            "WipeWritePermOfBrokerResponseHeader",
            WIPE_WRITE_PERM_OF_BROKER_RESPONSE_HEADER,
        ),
        322 => (
            "QueryDataVersionResponseHeader",
            QUERY_DATA_VERSION_RESPONSE_HEADER,
        ),
        327 => (
            "AddWritePermOfBrokerResponseHeader",
            ADD_WRITE_PERM_OF_BROKER_RESPONSE_HEADER,
        ),
        370 => (
            "RecallMessageResponseHeader",
            RECALL_MESSAGE_RESPONSE_HEADER,
        ),
        906 => (
            "ExchangeHAInfoResponseHeader",
            EXCHANGE_HAINFO_RESPONSE_HEADER,
        ),
        200050 | 200052 => ("PopMessageResponseHeader", POP_MESSAGE_RESPONSE_HEADER),
        200053 => (
            "ChangeInvisibleTimeResponseHeader",
            CHANGE_INVISIBLE_TIME_RESPONSE_HEADER,
        ),
        200054 => ("NotificationResponseHeader", NOTIFICATION_RESPONSE_HEADER),
        200055 => ("PollingInfoResponseHeader", POLLING_INFO_RESPONSE_HEADER),
        c if NO_HEADER_RESPONSES.contains(&c) => ("", EMPTY),
        _ => return None,
    })
}

/// The response header fields for the request code a response answers.
pub fn response_fields(request_code: i32) -> Option<&'static [Field]> {
    response_class(request_code).map(|(_, f)| f)
}

const EMPTY: &[Field] = &[];

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
