//! The JSON bodies the consumer view reads, as typed serde structs that borrow their
//! strings and step over every other field without building it (no `serde_json::Value`).
//! Java: `HeartbeatData` / `ConsumerData` / `SubscriptionData`
//! (`remoting/protocol/heartbeat/`), `BatchAckMessageRequestBody` / `BatchAck`
//! (`remoting/protocol/body/`, JSON names `c`, `t`, `q`, `so`, `b` with the long names as
//! alternates; `b` by `remoting/protocol/BitSetSerializerDeserializer.java`).

use std::borrow::Cow;

use serde::Deserialize;

#[derive(Deserialize)]
pub struct HeartbeatData<'a> {
    #[serde(rename = "clientID", borrow, default)]
    pub client_id: Option<Cow<'a, str>>,
    #[serde(rename = "consumerDataSet", borrow, default)]
    pub consumer_data_set: Option<Vec<ConsumerData<'a>>>,
}

#[derive(Deserialize)]
pub struct ConsumerData<'a> {
    #[serde(rename = "groupName", borrow, default)]
    pub group_name: Option<Cow<'a, str>>,
    #[serde(rename = "subscriptionDataSet", borrow, default)]
    pub subscription_data_set: Option<Vec<SubscriptionData<'a>>>,
}

#[derive(Deserialize)]
pub struct SubscriptionData<'a> {
    #[serde(borrow, default)]
    pub topic: Option<Cow<'a, str>>,
    #[serde(rename = "subString", borrow, default)]
    pub sub_string: Option<Cow<'a, str>>,
    #[serde(rename = "expressionType", borrow, default)]
    pub expression_type: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
pub struct BatchAckBody<'a> {
    #[serde(borrow, default)]
    pub acks: Option<Vec<BatchAck<'a>>>,
}

#[derive(Deserialize)]
pub struct BatchAck<'a> {
    #[serde(rename = "c", alias = "consumerGroup", borrow, default)]
    pub consumer_group: Option<Cow<'a, str>>,
    #[serde(rename = "t", alias = "topic", borrow, default)]
    pub topic: Option<Cow<'a, str>>,
    #[serde(rename = "q", alias = "queueId", default)]
    pub queue_id: Option<i64>,
    /// The acked offsets, `startOffset` (`so`) + `i` for each set bit `i`.
    #[serde(rename = "b", alias = "bitSet", default)]
    pub bit_set: Option<BitSet>,
}

/// A `java.util.BitSet` as `BitSetSerializerDeserializer` writes it: fastjson's
/// `writeByteArray` of `BitSet.toByteArray()` (little-endian: bit `i` is bit `i % 8` of
/// byte `i / 8`), a base64 string; fastjson also reads a byte array written as numbers.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum BitSet {
    Base64(String),
    Bytes(Vec<i64>),
}

impl BitSet {
    /// How many bits are set (messages acked); None when it is not a byte array.
    pub fn count_ones(&self) -> Option<u64> {
        use base64::Engine;
        match self {
            Self::Base64(s) => base64::engine::general_purpose::STANDARD
                .decode(s)
                .ok()
                .map(|b| b.iter().map(|x| u64::from(x.count_ones())).sum()),
            Self::Bytes(v) => v.iter().try_fold(0u64, |n, &x| {
                // A Java byte is signed; fastjson takes either spelling.
                let b = i8::try_from(x)
                    .map(|b| b as u8)
                    .or_else(|_| u8::try_from(x));
                b.ok().map(|b| n + u64::from(b.count_ones()))
            }),
        }
    }
}

/// Bodies up to this size are parsed without counting their nodes first: the typed
/// structs cost at most about 20 bytes per body byte (a list of `{}`), so 1.3 MB.
const UNCOUNTED: usize = 64 << 10;

/// A body parsed as `T`, within the default `max_json_body` and `max_json_nodes` (as the
/// decoder's JSON bodies, `protocol::json_bound`, so a body of many tiny items cannot
/// build a large list; counted only past [`UNCOUNTED`] bytes); None past them or when it
/// does not parse as `T`.
pub fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Option<T> {
    if body.len() > UNCOUNTED {
        crate::protocol::json_bound::check("", body, &crate::limits::Limits::default()).ok()?;
    }
    serde_json::from_slice(body).ok()
}
