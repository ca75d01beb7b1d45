//! The JSON bodies the consumer view reads, as typed serde structs that borrow their
//! strings and step over every other field without building it (no `serde_json::Value`).
//! Java: `HeartbeatData` / `ConsumerData` / `SubscriptionData`
//! (`remoting/protocol/heartbeat/`), `BatchAckMessageRequestBody` / `BatchAck`
//! (`remoting/protocol/body/`, JSON names `c`, `t`, `q` with the long names as alternates).

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
