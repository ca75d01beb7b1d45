//! Frame selection for `read` and `live`: `--code`, `--topic`, `--key`, `--group`,
//! `--stream`, `--broker`, `--since`, `--until`. Every message of a frame is looked at: sent
//! ones, batch items, stored messages of pull, pop, peek, query and view responses, and the
//! messages unwrapped from inner batches.
//!
//! A response is paired with its request by opaque (`NettyRemotingAbstract`
//! `processResponseCommand`); what it does not repeat it inherits: `--topic`, `--group` and
//! `--key` select the response to a request they selected (the send result of a selected
//! message, the route answer to a selected topic). The other way round, a send request is
//! selected by `--key` when its response's `msgId` header (the offsetMsgId,
//! `SendMessageResponseHeader`) is the key: that request is [`Verdict::Wait`] until its
//! response is seen ([`Filter::take_decided`]).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use serde_json::Value;

use crate::analysis::FrameRecord;
use crate::protocol::{Decoded, Message};
use crate::remoting::codes::{RequestCode, ResponseCode};
use crate::remoting::command::Kind;

/// Requests remembered so that their responses match `--group` / `--topic` / `--key` too
/// (oldest forgotten first).
const MAX_REMEMBERED: usize = 65_536;

/// Whether a frame is selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Yes,
    No,
    /// A send request that `--key` may select by its response (every other criterion
    /// holds): decided when the response is seen ([`Filter::take_decided`]), or not
    /// selected when the request has no response.
    Wait,
}

/// `--broker`: an address (`host:port`) or a host (any port).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broker {
    Addr(SocketAddr),
    Host(IpAddr),
}

impl Broker {
    /// `ip:port`, `[ipv6]:port`, or an IP address alone.
    pub fn parse(s: &str) -> Option<Broker> {
        if let Ok(a) = s.parse::<SocketAddr>() {
            return Some(Broker::Addr(a));
        }
        s.trim_matches(|c| c == '[' || c == ']')
            .parse::<IpAddr>()
            .ok()
            .map(Broker::Host)
    }

    /// Whether the connection between `a` and `b` is to or from this broker.
    pub fn on(&self, a: SocketAddr, b: SocketAddr) -> bool {
        match self {
            Broker::Addr(x) => a == *x || b == *x,
            Broker::Host(h) => a.ip() == *h || b.ip() == *h,
        }
    }
}

/// `--since` / `--until`: an RFC 3339 time, or seconds after the first packet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeBound {
    /// Nanoseconds since the Unix epoch.
    At(i64),
    /// Nanoseconds after the first packet of the input.
    After(i64),
}

impl TimeBound {
    /// `2026-11-30T15:59:05Z`, `2026-11-30T16:59:05.5+01:00`, or seconds (`12`, `0.25`).
    pub fn parse(s: &str) -> Option<TimeBound> {
        if let Ok(secs) = s.parse::<f64>() {
            return (secs.is_finite() && secs.abs() < 1e11)
                .then(|| TimeBound::After((secs * 1e9).round() as i64));
        }
        let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
        t.timestamp_nanos_opt().map(TimeBound::At)
    }

    fn resolve(self, first_ts: i64) -> i64 {
        match self {
            TimeBound::At(t) => t,
            TimeBound::After(d) => first_ts.saturating_add(d),
        }
    }
}

/// Which frames to print. All set criteria must hold.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Request codes; a response matches by its request's code.
    pub codes: Vec<i32>,
    /// Response codes (`SYSTEM_BUSY`): responses with one of them.
    pub response_codes: Vec<i32>,
    /// The header's topic or any message's topic; a response also matches when its request
    /// did (a pull response without messages names no topic).
    pub topic: Option<String>,
    /// A KEYS entry, a UNIQ_KEY or offset msgId of any message, or a msgId in the header;
    /// a response also matches when its request did, and a send request when its
    /// response's msgId is the key.
    pub key: Option<String>,
    /// A consumerGroup / producerGroup / group / groupName header field, a group of a heartbeat or lock
    /// body (`HeartbeatData` producerDataSet/consumerDataSet `groupName`,
    /// `LockBatchRequestBody.consumerGroup`), a message's `PGROUP`; a response matches when
    /// its request did.
    pub group: Option<String>,
    /// TCP connection index.
    pub stream: Option<u64>,
    /// Connections to or from this broker address.
    pub broker: Option<Broker>,
    /// Frames whose first packet is at or after this time.
    pub since: Option<TimeBound>,
    /// Frames whose first packet is at or before this time.
    pub until: Option<TimeBound>,
    /// Time of the first packet of the input (for relative `since` / `until`).
    pub first_ts: Option<i64>,
    /// (stream, packet, opaque) of requests that matched `group`, `topic` or `key`, or
    /// wait for their response, with what they matched: each inherited criterion is
    /// remembered on its own, whatever the request's other criteria (`code`…) said, since
    /// the response is judged on those itself.
    matched: HashMap<(u64, u64, i32), Inherited>,
    order: VecDeque<(u64, u64, i32)>,
    /// A waiting request decided by its response: (stream, packet, selected).
    decided: Option<(u64, u64, bool)>,
}

/// The criteria a response inherits from its request (`NettyRemotingAbstract` pairs them
/// by opaque; the response repeats neither the group nor the topic).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Inherited {
    group: bool,
    topic: bool,
    key: bool,
    /// The request is [`Verdict::Wait`].
    wait: bool,
}

/// An unknown `--code` name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCode(pub String);

impl std::fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--code {}: not a request or response code name or number",
            self.0
        )
    }
}

impl std::error::Error for UnknownCode {}

/// A `--code` value: a request code (the requests and their responses) or a response code
/// (the responses). Names are looked up in RequestCode, then ResponseCode; a number is a
/// request code when RequestCode names it, else a response code when ResponseCode names
/// it, else a request code; `request:N` / `response:N` (or a name after them) say which.
pub fn parse_code(s: &str) -> Option<CodeSel> {
    let s = s.trim();
    if let Some(x) = s.strip_prefix("request:") {
        return RequestCode::parse(x).map(|c| CodeSel::Request(c.0));
    }
    if let Some(x) = s.strip_prefix("response:") {
        return ResponseCode::parse(x).map(|c| CodeSel::Response(c.0));
    }
    if let Ok(n) = s.parse::<i32>() {
        return Some(
            if RequestCode(n).name().is_none() && ResponseCode(n).name().is_some() {
                CodeSel::Response(n)
            } else {
                CodeSel::Request(n)
            },
        );
    }
    RequestCode::parse(s)
        .map(|c| CodeSel::Request(c.0))
        .or_else(|| ResponseCode::parse(s).map(|c| CodeSel::Response(c.0)))
}

/// A parsed `--code` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeSel {
    Request(i32),
    Response(i32),
}

impl Filter {
    /// The filter from the command line's options; codes by name or number.
    pub fn from_args(
        code: &[String],
        topic: Option<String>,
        key: Option<String>,
        group: Option<String>,
        stream: Option<u64>,
    ) -> Result<Filter, UnknownCode> {
        let mut f = Filter {
            topic,
            key,
            group,
            stream,
            ..Default::default()
        };
        for c in code {
            match parse_code(c).ok_or(UnknownCode(c.clone()))? {
                CodeSel::Request(n) => f.codes.push(n),
                CodeSel::Response(n) => f.response_codes.push(n),
            }
        }
        Ok(f)
    }

    /// Whether any criterion is set.
    pub fn active(&self) -> bool {
        self.content_active()
            || self.stream.is_some()
            || self.broker.is_some()
            || self.since.is_some()
            || self.until.is_some()
    }

    /// Whether a criterion on what frames carry is set (codes, topic, key, group).
    pub fn content_active(&self) -> bool {
        !self.codes.is_empty()
            || !self.response_codes.is_empty()
            || self.topic.is_some()
            || self.key.is_some()
            || self.group.is_some()
    }

    /// Whether the connection, its endpoints and the time pass `--stream`, `--broker`,
    /// `--since` and `--until`.
    pub fn place_matches(&self, stream: u64, src: SocketAddr, dst: SocketAddr, ts: i64) -> bool {
        if self.stream.is_some_and(|s| s != stream) {
            return false;
        }
        if self.broker.is_some_and(|b| !b.on(src, dst)) {
            return false;
        }
        let first = self.first_ts.unwrap_or(ts);
        if self.since.is_some_and(|t| ts < t.resolve(first)) {
            return false;
        }
        if self.until.is_some_and(|t| ts > t.resolve(first)) {
            return false;
        }
        true
    }

    /// Whether the frame is selected (a [`Verdict::Wait`] request counts as not).
    pub fn matches(&mut self, r: &FrameRecord, d: Option<&Decoded>) -> bool {
        self.verdict(r, d) == Verdict::Yes
    }

    /// A request that was [`Verdict::Wait`], decided by the response just judged:
    /// (stream, request packet, selected).
    pub fn take_decided(&mut self) -> Option<(u64, u64, bool)> {
        self.decided.take()
    }

    /// Whether the frame is selected. Call it for every frame in capture order (requests
    /// are remembered for their responses). Each criterion is decided on its own and all
    /// must hold.
    pub fn verdict(&mut self, r: &FrameRecord, d: Option<&Decoded>) -> Verdict {
        let cmd = r.command.as_ref().ok();
        let is_response = cmd.is_some_and(|c| c.kind() == Kind::Response);
        let place = self.place_matches(r.stream, r.src, r.dst, r.ts);
        let own_topic = self
            .topic
            .as_deref()
            .is_some_and(|t| d.is_some_and(|d| names_topic(d, t)));
        let own_key = self
            .key
            .as_deref()
            .is_some_and(|k| d.is_some_and(|d| names_key(d, k)));
        let code_ok = self.code_matches(r);
        // The inherited criteria first, so that a request is remembered for its response
        // even when it fails a criterion the response can satisfy by itself.
        let inherited = if is_response {
            let key = r
                .request
                .as_ref()
                .zip(cmd)
                .map(|(q, c)| (r.stream, q.packet, c.opaque));
            key.and_then(|k| self.matched.remove(&k))
                .unwrap_or_default()
        } else {
            let group = self
                .group
                .as_deref()
                .is_some_and(|g| d.is_some_and(|d| names_group(d, g)));
            // A send request failing only `--key` waits for its response's msgId.
            let wait = self.key.is_some()
                && !own_key
                && place
                && cmd.is_some_and(|c| RequestCode(c.code).is_send())
                && (self.codes.is_empty() || code_ok)
                && self.response_codes.is_empty()
                && (self.topic.is_none() || own_topic)
                && (self.group.is_none() || group);
            let inh = Inherited {
                group,
                topic: own_topic,
                key: own_key,
                wait,
            };
            if inh != Inherited::default()
                && let Some(c) = cmd
            {
                self.remember((r.stream, r.packet, c.opaque), inh);
            }
            if wait {
                return Verdict::Wait;
            }
            inh
        };
        if inherited.wait
            && let Some(q) = &r.request
        {
            self.decided = Some((r.stream, q.packet, own_key));
        }
        let ok = place
            && code_ok
            && (self.topic.is_none() || own_topic || inherited.topic)
            && (self.key.is_none() || own_key || inherited.key)
            && (self.group.is_none() || inherited.group);
        if ok { Verdict::Yes } else { Verdict::No }
    }

    /// `--code`: request codes select requests and the responses to them; response codes
    /// select responses.
    fn code_matches(&self, r: &FrameRecord) -> bool {
        if self.codes.is_empty() && self.response_codes.is_empty() {
            return true;
        }
        let Ok(c) = &r.command else { return false };
        let request_code = match c.kind() {
            Kind::Response => r.request.as_ref().map(|q| q.code),
            _ => Some(c.code),
        };
        request_code.is_some_and(|x| self.codes.contains(&x))
            || (c.kind() == Kind::Response && self.response_codes.contains(&c.code))
    }

    fn remember(&mut self, k: (u64, u64, i32), what: Inherited) {
        if self.matched.insert(k, what).is_none() {
            self.order.push_back(k);
        }
        while self.order.len() > MAX_REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.matched.remove(&old);
            }
        }
    }
}

/// Whether a decoded command carries the key `k`: a KEYS entry, UNIQ_KEY or offset msgId
/// of any message, or one of the header's msgIds (a batch send answers with several,
/// comma-separated).
fn names_key(d: &Decoded, k: &str) -> bool {
    all_messages(d).any(|m| {
        m.keys().is_some_and(|ks| ks.split(' ').any(|x| x == k))
            || m.uniq_key() == Some(k)
            || m.stored.as_ref().is_some_and(|s| s.offset_msg_id() == k)
    }) || d
        .field_str("msgId")
        .is_some_and(|id| id.split(',').any(|x| x == k))
}

/// Every message of a frame, inner-batch messages included.
fn all_messages<'d, 'a>(d: &'d Decoded<'a>) -> impl Iterator<Item = &'d Message<'a>> {
    d.messages.iter().flat_map(|m| m.with_inner())
}

/// Whether a decoded command names the topic `t` (header or any message).
fn names_topic(d: &Decoded, t: &str) -> bool {
    d.topic() == Some(t) || all_messages(d).any(|m| m.topic == t)
}

/// Whether a decoded request names the group `g`.
fn names_group(d: &Decoded, g: &str) -> bool {
    const FIELDS: &[&str] = &["consumerGroup", "producerGroup", "group", "groupName"];
    if FIELDS.iter().any(|f| d.field_str(f) == Some(g)) {
        return true;
    }
    if all_messages(d).any(|m| m.property("PGROUP") == Some(g)) {
        return true;
    }
    let Some(Value::Object(body)) = &d.body_json else {
        return false;
    };
    if body.get("consumerGroup").and_then(Value::as_str) == Some(g) {
        return true;
    }
    ["producerDataSet", "consumerDataSet"].iter().any(|set| {
        body.get(*set).and_then(Value::as_array).is_some_and(|a| {
            a.iter()
                .any(|x| x.get("groupName").and_then(Value::as_str) == Some(g))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::RequestRef;
    use crate::protocol::{DecodeOptions, decode};
    use crate::remoting::command::RemotingCommand;

    fn record(packet: u64, cmd: RemotingCommand, request: Option<(u64, i32)>) -> FrameRecord {
        FrameRecord {
            packet,
            last_packet: packet,
            ts: 0,
            stream: 0,
            src: "10.0.0.5:40000".parse().unwrap(),
            dst: "10.0.0.9:10911".parse().unwrap(),
            offset: 0,
            frame_len: 0,
            body_len: 0,
            command: Ok(cmd),
            request: request.map(|(packet, code)| RequestRef {
                packet,
                code,
                ts: 0,
                topic: None,
                ..Default::default()
            }),
            wire: None,
        }
    }

    fn cmd(code: i32, opaque: i32, ext: &[(&str, &str)], body: &[u8]) -> RemotingCommand {
        RemotingCommand {
            code,
            opaque,
            ext_fields: Some(
                ext.iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
            ),
            body: body.to_vec(),
            ..Default::default()
        }
    }

    fn response(opaque: i32) -> RemotingCommand {
        RemotingCommand {
            opaque,
            flag: 1,
            ..Default::default()
        }
    }

    fn hits(f: &mut Filter, frames: &[FrameRecord]) -> Vec<u64> {
        frames
            .iter()
            .filter(|r| {
                let c = r.command.as_ref().unwrap();
                let d = decode(
                    c,
                    r.request.as_ref().map(|q| q.code),
                    &DecodeOptions::default(),
                );
                f.matches(r, Some(&d))
            })
            .map(|r| r.packet)
            .collect()
    }

    fn filter(group: Option<&str>, topic: Option<&str>, key: Option<&str>) -> Filter {
        Filter::from_args(
            &[],
            topic.map(String::from),
            key.map(String::from),
            group.map(String::from),
            None,
        )
        .unwrap()
    }

    #[test]
    fn group_matches_headers_bodies_and_the_responses_to_them() {
        let hb = br#"{"clientID":"c1","consumerDataSet":[{"groupName":"CG-a"}],"producerDataSet":[{"groupName":"PG-b"}]}"#;
        let frames = [
            record(
                1,
                cmd(11, 1, &[("consumerGroup", "CG-a"), ("topic", "T")], b""),
                None,
            ),
            record(
                2,
                cmd(11, 2, &[("consumerGroup", "CG-x"), ("topic", "T")], b""),
                None,
            ),
            record(3, response(2), Some((2, 11))),
            record(4, response(1), Some((1, 11))),
            record(5, cmd(34, 3, &[], hb), None),
            record(6, cmd(310, 4, &[("a", "PG-b"), ("b", "T")], b"x"), None),
            record(7, cmd(36, 5, &[("group", "CG-a")], b""), None),
            record(8, cmd(207, 6, &[("groupName", "CG-a")], b""), None),
            record(
                9,
                cmd(41, 7, &[], br#"{"consumerGroup":"CG-a","mqSet":[]}"#),
                None,
            ),
        ];
        assert_eq!(
            hits(&mut filter(Some("CG-a"), None, None), &frames),
            [1, 4, 5, 7, 8, 9]
        );
        assert_eq!(hits(&mut filter(Some("PG-b"), None, None), &frames), [5, 6]);
        // A response matches once (its request is forgotten after).
        let mut f = filter(Some("CG-a"), None, None);
        hits(&mut f, &frames);
        assert!(!f.matched.contains_key(&(0, 1, 1)));
        assert!(
            f.matched.contains_key(&(0, 5, 3)),
            "unanswered requests stay remembered"
        );
        assert_eq!(
            hits(&mut filter(None, None, None), &frames).len(),
            frames.len()
        );
        assert!(!filter(None, None, None).active());
    }

    /// `--key` with an offsetMsgId: the send request waits for its response, which
    /// decides it; with a uniqKey, the response inherits the request's match. A request
    /// that fails another criterion does not wait.
    #[test]
    fn key_follows_a_send_both_ways() {
        let req = |packet, opaque| {
            record(
                packet,
                cmd(
                    310,
                    opaque,
                    &[
                        ("a", "PG"),
                        ("b", "T"),
                        ("e", "0"),
                        ("i", "UNIQ_KEY\u{1}U1\u{2}"),
                    ],
                    b"x",
                ),
                None,
            )
        };
        let resp = |packet, opaque, req_packet, msg_id: &str| {
            let mut c = response(opaque);
            c.ext_fields = Some(vec![("msgId".into(), msg_id.into())]);
            record(packet, c, Some((req_packet, 310)))
        };
        let frames = [
            req(1, 1),
            resp(2, 1, 1, "OFF1"),
            req(3, 2),
            resp(4, 2, 3, "OFF2"),
        ];
        type Decided = Option<(u64, u64, bool)>;
        let verdicts = |f: &mut Filter| -> Vec<(Verdict, Decided)> {
            frames
                .iter()
                .map(|r| {
                    let c = r.command.as_ref().unwrap();
                    let d = decode(
                        c,
                        r.request.as_ref().map(|q| q.code),
                        &DecodeOptions::default(),
                    );
                    let v = f.verdict(r, Some(&d));
                    (v, f.take_decided())
                })
                .collect()
        };
        use Verdict::*;
        let mut f = filter(None, None, Some("OFF2"));
        assert_eq!(
            verdicts(&mut f),
            [
                (Wait, None),
                (No, Some((0, 1, false))),
                (Wait, None),
                (Yes, Some((0, 3, true)))
            ]
        );
        // The request names U1 in UNIQ_KEY: it and its response.
        let mut f = filter(None, None, Some("U1"));
        let v: Vec<Verdict> = verdicts(&mut f).into_iter().map(|x| x.0).collect();
        assert_eq!(v, [Yes, Yes, Yes, Yes]);
        // Another topic: the requests do not wait, and nothing is selected.
        let mut f = filter(None, Some("OTHER"), Some("OFF2"));
        let v: Vec<Verdict> = verdicts(&mut f).into_iter().map(|x| x.0).collect();
        assert_eq!(v, [No, No, No, No]);
    }

    #[test]
    fn response_codes_and_places() {
        assert_eq!(parse_code("SYSTEM_BUSY"), Some(CodeSel::Response(2)));
        assert_eq!(parse_code("response:2"), Some(CodeSel::Response(2)));
        assert_eq!(parse_code("request:10"), Some(CodeSel::Request(10)));
        assert_eq!(parse_code("10"), Some(CodeSel::Request(10)));
        assert_eq!(parse_code("SEND_MESSAGE_V2"), Some(CodeSel::Request(310)));
        assert_eq!(parse_code("NOPE"), None);
        let f = Filter {
            broker: Broker::parse("10.0.0.9:10911"),
            since: TimeBound::parse("1"),
            until: TimeBound::parse("1970-01-01T00:00:03Z"),
            first_ts: Some(0),
            ..Default::default()
        };
        let a = "10.0.0.5:40000".parse().unwrap();
        let b = "10.0.0.9:10911".parse().unwrap();
        let c = "10.0.0.9:9876".parse().unwrap();
        assert!(f.place_matches(0, a, b, 2_000_000_000));
        assert!(f.place_matches(0, b, a, 3_000_000_000));
        assert!(!f.place_matches(0, a, c, 2_000_000_000));
        assert!(!f.place_matches(0, a, b, 999_999_999));
        assert!(!f.place_matches(0, a, b, 3_000_000_001));
        assert_eq!(
            Broker::parse("10.0.0.9"),
            Some(Broker::Host("10.0.0.9".parse().unwrap()))
        );
        assert_eq!(
            Broker::parse("[::1]:10911"),
            Some(Broker::Addr("[::1]:10911".parse().unwrap()))
        );
        assert_eq!(Broker::parse("broker-a"), None);
        assert_eq!(
            TimeBound::parse("2026-11-30T16:59:05.5+01:00"),
            Some(TimeBound::At(1_796_054_345_500_000_000))
        );
        assert_eq!(
            TimeBound::parse("0.25"),
            Some(TimeBound::After(250_000_000))
        );
        assert_eq!(TimeBound::parse("yesterday"), None);
    }

    #[test]
    fn remembered_requests_are_bounded() {
        let mut f = filter(Some("G"), None, None);
        for i in 0..(MAX_REMEMBERED as u64 + 10) {
            let r = record(i, cmd(11, i as i32, &[("consumerGroup", "G")], b""), None);
            let c = r.command.as_ref().unwrap();
            let d = decode(c, None, &DecodeOptions::default());
            assert!(f.matches(&r, Some(&d)));
        }
        assert_eq!(f.matched.len(), MAX_REMEMBERED);
        assert_eq!(f.order.len(), MAX_REMEMBERED);
    }

    #[test]
    fn unknown_code_names_are_refused() {
        let e = Filter::from_args(&["NO_SUCH_CODE".into()], None, None, None, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--code NO_SUCH_CODE: not a request or response code name or number"
        );
        let f = Filter::from_args(
            &["PULL_MESSAGE".into(), "310".into()],
            None,
            None,
            None,
            None,
        )
        .unwrap();
        assert_eq!(f.codes, [11, 310]);
    }
}
