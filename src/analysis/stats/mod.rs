//! Traffic statistics: what happened in a capture, per request code, topic, connection,
//! route answer and time bucket, with the problems found. Sans-IO: fed with the dissector's
//! events (and each frame's decoded meaning), it keeps bounded memory (sparse latency
//! histograms, top-N lists, capped sample lists) whatever the capture size.
//!
//! The queue-selection audit follows the producer's send path in
//! `DefaultMQProducerImpl` / `MQFaultStrategy.selectOneMessageQueue` and
//! `TopicPublishInfo.selectOneMessageQueue` (apache/rocketmq `client/`): the route's queue
//! list is built by `MQClientInstance.topicRouteData2TopicPublishInfo` — QueueData sorted by
//! brokerName, for each writable one `writeQueueNums` queues 0..n — and a producer picks
//! `list[index++ % size]` from a random start, so consecutive sends of one producer step
//! through that list by one.

mod consumer_bodies;
mod consumers;
mod histogram;
mod merge;
mod producers;
mod report;

pub use consumers::{Consumers, GroupStats, Mark, QueueStats, Slice, Span};
pub use histogram::Histogram;
pub use merge::{ShardResult, Unmergeable, merge};
pub use report::{Audit, on_rocketmq_port};

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use serde_json::{Map, Value, json};

use super::dissect::{FrameRecord, Problem, ProblemKind, Totals};
use crate::protocol::Decoded;
use crate::remoting::codes::{LanguageCode, RequestCode, ResponseCode, version_name};
use crate::remoting::command::Kind;
/// Per request code.
#[derive(Clone, Debug, Default)]
pub struct CodeStats {
    pub requests: u64,
    pub oneways: u64,
    pub responses: BTreeMap<i32, u64>,
    /// Latency of the normal requests.
    pub latency: Histogram,
    /// Latency of the long polls ([`crate::analysis::long_poll_ms`]): how long the broker
    /// held them, apart so they neither fill the normal p99 nor the slowest list.
    pub long_poll_latency: Histogram,
    pub request_bytes: u64,
    pub response_bytes: u64,
}

/// Response codes that tell a consumer's outcome, not a failure (`ResponseCode.java`):
/// PULL_NOT_FOUND 19 (nothing new, the long poll ended empty), PULL_RETRY_IMMEDIATELY 20,
/// PULL_OFFSET_MOVED 21, QUERY_NOT_FOUND 22 (no committed offset yet), NO_MESSAGE 208,
/// POLLING_FULL 209, POLLING_TIMEOUT 210. Counted as outcomes, out of the error rate and
/// the error responses.
pub fn is_outcome(response_code: i32) -> bool {
    matches!(response_code, 19..=22 | 208..=210)
}

/// A response code that is a failure: neither SUCCESS nor an outcome ([`is_outcome`]).
pub fn is_error(response_code: i32) -> bool {
    response_code != 0 && !is_outcome(response_code)
}

impl CodeStats {
    /// Responses that are failures ([`is_error`]).
    pub fn errors(&self) -> u64 {
        self.responses
            .iter()
            .filter(|(c, _)| is_error(**c))
            .map(|(_, n)| n)
            .sum()
    }
    /// Responses that are consumer outcomes ([`is_outcome`]).
    pub fn outcomes(&self) -> u64 {
        self.responses
            .iter()
            .filter(|(c, _)| is_outcome(**c))
            .map(|(_, n)| n)
            .sum()
    }
    pub fn answered(&self) -> u64 {
        self.responses.values().sum()
    }
}

/// Per topic.
#[derive(Clone, Debug, Default)]
pub struct TopicStats {
    pub messages: u64,
    pub body_bytes: u64,
    /// (broker address, queueId) → messages; shown with the broker's name when a route
    /// answer told it.
    pub queues: BTreeMap<(SocketAddr, i32), u64>,
    pub tags: BTreeSet<String>,
    /// Producer groups by client IP: the [`MAX_TOPIC_PRODUCER_IPS`] lowest client addresses
    /// (see [`producers::keep_lowest`]); the sends of the others are counted in `producers_folded_sends`.
    pub producers: BTreeMap<IpAddr, TopicProducer>,
    /// Send requests from client addresses past the [`MAX_TOPIC_PRODUCER_IPS`] kept.
    pub producers_folded_sends: u64,
    /// Queue picks (sends with a queueId) of producers whose audit was not kept (past the
    /// [`MAX_PRODUCERS`] lowest (client IP, group, topic) of `Stats::producers`).
    pub queue_selection_folded_sends: u64,
    pub send_errors: u64,
}

/// One client address's sends to one topic: how many, and its producer groups.
#[derive(Clone, Debug, Default)]
pub struct TopicProducer {
    pub sends: u64,
    pub groups: BTreeSet<String>,
}

/// Client addresses whose producer groups are kept per topic.
pub const MAX_TOPIC_PRODUCER_IPS: usize = 1_000;
/// Producers — (client IP, producerGroup, topic) — whose queue-selection audit is kept: the
/// lowest ones in that order. Memory does not grow with the number of clients; a pass of
/// several keeps its own lowest ones, which hold every one of the lowest overall (a pass
/// sees a subset of the keys), so the merge is exactly one pass's result.
pub const MAX_PRODUCERS: usize = 1_000;

/// One producer's sends to one topic, for the queue-selection audit.
#[derive(Clone, Debug, Default)]
pub struct ProducerAudit {
    /// Queues picked (broker address, queueId), in send order (capped; `picks` counts all).
    /// (index into `Stats::brokers`, queueId) — 4 bytes a pick.
    pub sequence: Vec<(u16, u16)>,
    /// In a pass of several ([`Stats::for_shard`]): when each stored pick was seen — the
    /// packet being read when its frame came out, and its stream — so the merge can put
    /// one producer's picks from several passes back in the order one pass sees them.
    pub packets: Vec<(u64, u64)>,
    pub picks: u64,
    pub counts: BTreeMap<(SocketAddr, i32), u64>,
}

/// Picks kept per producer and topic: the audit looks at the first ones (at most
/// [`MAX_PRODUCERS`] × 1,024 picks in all, 4 bytes each, 20 in a pass of several).
const MAX_SEQUENCE: usize = 1_024;
/// Picks shown in the output.
const SHOWN_PICKS: usize = 64;

/// How a statistics pass is run: time buckets, and how many connections the report lists by
/// each ranking (ended connections that cannot rank are folded away as the pass goes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsOptions {
    pub interval_ns: Option<i64>,
    pub top: usize,
}

impl Default for StatsOptions {
    fn default() -> Self {
        Self {
            interval_ns: None,
            top: TOP_CONNECTIONS,
        }
    }
}

/// An interval alone: the default top.
impl From<Option<i64>> for StatsOptions {
    fn from(interval_ns: Option<i64>) -> Self {
        Self {
            interval_ns,
            ..Self::default()
        }
    }
}

/// Per connection: a fixed-size record (a language name no [`LanguageCode`] knows aside),
/// 184 bytes; the report lists only the top ones ([`Stats::top_connections`]).
#[derive(Clone, Debug)]
pub struct ConnStats {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub role: &'static str,
    /// The client's language: its code, and the JSON name when the code has none.
    pub language: Option<(LanguageCode, Option<Box<str>>)>,
    pub version: Option<i32>,
    pub frames: [u64; 2],
    pub bytes: [u64; 2],
    /// Error responses ([`is_error`], to a request in the capture) on this connection.
    pub errors: u64,
    pub first_ts: i64,
    pub last_ts: i64,
    /// The client sent NameServer request codes / Broker request codes (for the role).
    namesrv_codes: bool,
    broker_codes: bool,
}

impl ConnStats {
    /// The client's language as shown (see `RemotingCommand::language_str`).
    pub fn language_str(&self) -> Option<String> {
        let (code, name) = self.language.as_ref()?;
        Some(match (name, code.name()) {
            (Some(n), _) => n.to_string(),
            (None, Some(n)) => n.to_string(),
            (None, None) => code.0.to_string(),
        })
    }
}

/// Request codes only a NameServer answers (`RequestCode.java`: route, KV config, broker
/// registration and cluster queries).
fn is_namesrv_code(c: i32) -> bool {
    matches!(c, 100..=106 | 205 | 206 | 216 | 217 | 219 | 224 | 304 | 311..=313)
}

/// Request codes only a Broker answers (send, pull, offsets, consumer lists, heartbeat).
fn is_broker_code(c: i32) -> bool {
    matches!(c, 10..=15 | 30..=43 | 310 | 320 | 361)
}

/// All connections together, exact however many there are (the report lists only the
/// top ones).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnTotals {
    /// Connections that carried at least one decoded command.
    pub connections: u64,
    pub frames: [u64; 2],
    pub bytes: [u64; 2],
    pub errors: u64,
}

/// Connections listed by default: the top 20 by bytes, by frames and by error responses.
pub const TOP_CONNECTIONS: usize = 20;

/// One GET_ROUTEINFO_BY_TOPIC answer.
#[derive(Clone, Debug)]
pub struct RouteAnswer {
    pub packet: u64,
    pub ts: i64,
    pub topic: String,
    pub client: SocketAddr,
    pub brokers: Vec<RouteBroker>,
}

#[derive(Clone, Debug)]
pub struct RouteBroker {
    pub broker_name: String,
    pub addrs: BTreeMap<String, String>,
    pub read_queue_nums: i64,
    pub write_queue_nums: i64,
    pub perm: i64,
}

/// A slow request.
#[derive(Clone, Debug)]
pub struct Slow {
    pub latency_us: i64,
    pub request_packet: u64,
    pub response_packet: u64,
    pub code: i32,
    pub stream: u64,
}

/// Per time bucket.
#[derive(Clone, Debug, Default)]
pub struct Bucket {
    pub frames: u64,
    pub requests: u64,
    pub responses: u64,
    pub errors: u64,
    pub messages: u64,
    pub bytes: u64,
    pub latency: Histogram,
}

/// An error response, aggregated by (request code, response code, remark).
#[derive(Clone, Debug, Default)]
pub struct ErrorAgg {
    pub count: u64,
    pub first_packet: u64,
}

/// Problems by kind: how many, and the first few packets.
#[derive(Clone, Debug, Default)]
pub struct ProblemAgg {
    pub count: u64,
    pub examples: Vec<(u64, String)>,
}

const TOP_SLOW: usize = 10;
const PROBLEM_EXAMPLES: usize = 5;
/// The default RocketMQ ports: name server 9876, broker VIP channel 10909, broker 10911, HA 10912.
pub(crate) const RMQ_PORTS: [u16; 4] = [9876, 10909, 10911, 10912];

/// The statistics of one capture.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub interval_ns: Option<i64>,
    pub codes: BTreeMap<i32, CodeStats>,
    pub topics: BTreeMap<String, TopicStats>,
    /// The queue-selection audits of the [`MAX_PRODUCERS`] lowest (client IP, producer
    /// group, topic); the others' picks are counted in their topic's
    /// `queue_selection_folded_sends`.
    pub producers: BTreeMap<IpAddr, BTreeMap<String, BTreeMap<String, ProducerAudit>>>,
    /// How many audits `producers` holds.
    producer_audits: usize,
    /// Connections still open (and, after [`Stats::finish_roles`] or a merge, the ended ones
    /// kept in `ended_conns` too).
    pub conns: BTreeMap<u64, ConnStats>,
    /// Connections that ended ([`Stats::end_connection`]), kept only while they may still
    /// rank among the top [`Stats::top`] by bytes, frames or errors: memory does not grow with
    /// the number of connections; the totals are in `conn_totals`.
    pub ended_conns: BTreeMap<u64, ConnStats>,
    /// All connections together.
    pub conn_totals: ConnTotals,
    /// How many connections the report lists by each ranking (bytes, frames, errors).
    pub top: usize,
    pub routes: Vec<RouteAnswer>,
    /// Error responses by (request code, response code, remark), the first
    /// [`MAX_ERROR_KINDS`] kinds.
    pub errors: BTreeMap<(i32, i32, String), ErrorAgg>,
    /// Error responses of a kind past the first [`MAX_ERROR_KINDS`].
    pub errors_more: u64,
    pub slow: Vec<Slow>,
    pub problems: BTreeMap<ProblemKind, ProblemAgg>,
    pub buckets: BTreeMap<i64, Bucket>,
    pub messages: u64,
    /// The consumer view: groups, their clients, subscriptions and queues.
    pub consumers: Consumers,
    /// Broker address → broker name, from route answers.
    broker_names: BTreeMap<String, String>,
    /// Send destinations: broker address → topics producers sent there.
    sent_to: BTreeMap<SocketAddr, BTreeSet<String>>,
    /// Broker addresses picks refer to, and their indexes.
    brokers: Vec<SocketAddr>,
    broker_index: BTreeMap<SocketAddr, u16>,
    max_routes: usize,
    /// One pass of several: remember when each stored pick was seen (see [`merge`]).
    keep_pick_packets: bool,
    /// The packet being read (see [`Stats::at_packet`]).
    at_packet: u64,
}

/// The TAGS property of a properties string (the first TAGS entry; none when it is
/// empty), without parsing the rest.
fn tag_of(props: &str) -> Option<&str> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"TAGS\x01"));
    let b = props.as_bytes();
    let mut from = 0;
    while let Some(p) = FINDER.find(&b[from..]) {
        let at = from + p;
        // An entry starts the string or follows a \u{2}.
        if at == 0 || b[at - 1] == 2 {
            let v = &props[at + 5..];
            let v = &v[..memchr::memchr(2, v.as_bytes()).unwrap_or(v.len())];
            return (!v.is_empty()).then_some(v);
        }
        from = at + 1;
    }
    None
}

const MAX_ROUTES: usize = 1000;
/// Kinds of error response (request code, response code, remark) itemized.
pub const MAX_ERROR_KINDS: usize = 1000;

impl Stats {
    pub fn new(interval_ns: Option<i64>) -> Self {
        Self {
            interval_ns: interval_ns.filter(|&i| i > 0),
            max_routes: MAX_ROUTES,
            top: TOP_CONNECTIONS,
            ..Default::default()
        }
    }

    /// The statistics of one pass of several: as [`Stats::new`], and each stored queue pick
    /// keeps its packet number so [`merge`] can interleave a producer's picks across passes.
    pub fn for_shard(interval_ns: Option<i64>) -> Self {
        Self {
            keep_pick_packets: true,
            ..Self::new(interval_ns)
        }
    }

    /// The packet the dissector is reading: the frames it gives out next come out at this
    /// packet (`u64::MAX` for the flush at the end). A pass of several records it with each
    /// stored queue pick, as [`merge`] orders them by it.
    pub fn at_packet(&mut self, n: u64) {
        self.at_packet = n;
    }

    fn bucket(&mut self, ts: i64) -> Option<&mut Bucket> {
        let i = self.interval_ns?;
        Some(self.buckets.entry(ts.div_euclid(i) * i).or_default())
    }

    /// A connection ended: its record can no longer change, so it is kept only if it may
    /// still be listed (pruned to the top of the ended ones by each ranking once they
    /// outnumber four times what is listed).
    pub fn end_connection(&mut self, stream: u64) {
        self.consumers.end_connection(stream);
        let Some(c) = self.conns.remove(&stream) else {
            return;
        };
        self.ended_conns.insert(stream, c);
        if self.ended_conns.len() > 4 * self.top.max(1) + 64 {
            let keep = report::top_of(&self.ended_conns, self.top);
            self.ended_conns.retain(|s, _| keep.contains(s));
        }
    }

    /// Puts the ended connections kept back beside the open ones (for the report and the
    /// merge, which list from `conns`).
    pub fn rejoin_ended(&mut self) {
        self.conns.append(&mut self.ended_conns);
    }

    /// Feeds one frame with its decoded meaning.
    pub fn handle_frame(&mut self, r: &FrameRecord, d: Option<&Decoded<'_>>) {
        let Ok(cmd) = &r.command else {
            if let Some(b) = self.bucket(r.ts) {
                b.frames += 1;
                b.bytes += r.frame_len as u64;
            }
            return;
        };
        let kind = cmd.kind();
        // Connection: the client is the side that sends requests to the well-known side.
        let totals = &mut self.conn_totals;
        let conn = self.conns.entry(r.stream).or_insert_with(|| {
            totals.connections += 1;
            let (client, server) = if kind == Kind::Response {
                (r.dst, r.src)
            } else {
                (r.src, r.dst)
            };
            ConnStats {
                client,
                server,
                role: "",
                language: None,
                version: None,
                frames: [0; 2],
                bytes: [0; 2],
                errors: 0,
                first_ts: r.ts,
                last_ts: r.ts,
                namesrv_codes: false,
                broker_codes: false,
            }
        });
        let from_client = r.src == conn.client;
        let dir = usize::from(!from_client);
        conn.frames[dir] += 1;
        conn.bytes[dir] += r.frame_len as u64;
        totals.frames[dir] += 1;
        totals.bytes[dir] += r.frame_len as u64;
        conn.last_ts = r.ts;
        if from_client && kind != Kind::Response {
            conn.language
                .get_or_insert_with(|| (cmd.language, cmd.language_name.as_deref().map(Box::from)));
            conn.version.get_or_insert(cmd.version);
            conn.namesrv_codes |= is_namesrv_code(cmd.code);
            conn.broker_codes |= is_broker_code(cmd.code);
        }
        // An answer to a request the capture does not hold (sent before it started) is not
        // counted as an error: what it answers is unknown.
        let is_err = kind == Kind::Response && r.request.is_some() && is_error(cmd.code);
        if is_err {
            conn.errors += 1;
            totals.errors += 1;
        }
        let server = conn.server;
        let client = conn.client;
        let at = self.interval_ns.map(|i| r.ts.div_euclid(i) * i);
        self.consumers
            .handle_frame(r, cmd, kind, client, server, at);
        let mut messages = 0u64;
        match kind {
            Kind::Request | Kind::Oneway => {
                let c = self.codes.entry(cmd.code).or_default();
                c.requests += 1;
                if kind == Kind::Oneway {
                    c.oneways += 1;
                }
                c.request_bytes += r.frame_len as u64;
                if RequestCode(cmd.code).is_send() {
                    messages = self.note_send(cmd, r.body_len, r.stream, client, server);
                }
            }
            Kind::Response => {
                let code = r.request.as_ref().map(|q| q.code).unwrap_or(-1);
                let c = self.codes.entry(code).or_default();
                *c.responses.entry(cmd.code).or_default() += 1;
                c.response_bytes += r.frame_len as u64;
                let long_poll = r.request.as_ref().is_some_and(|q| q.long_poll);
                if let Some(l) = r.latency_us() {
                    if long_poll {
                        c.long_poll_latency.record(l.max(0) as u64);
                    } else {
                        c.latency.record(l.max(0) as u64);
                        self.note_slow(r, code, l);
                    }
                }
                if is_err {
                    let remark = cmd.remark.as_deref().unwrap_or("");
                    let remark: String = remark.chars().take(200).collect();
                    let key = (code, cmd.code, remark);
                    // Distinct remarks (ids, offsets, topic names in them) are capped: past
                    // the cap a new kind is only counted.
                    if self.errors.len() < MAX_ERROR_KINDS || self.errors.contains_key(&key) {
                        let e = self.errors.entry(key).or_default();
                        if e.count == 0 {
                            e.first_packet = r.packet;
                        }
                        e.count += 1;
                    } else {
                        self.errors_more += 1;
                    }
                    if RequestCode(code).is_send()
                        && let Some(t) = r.request.as_ref().and_then(|q| q.topic.as_deref())
                    {
                        self.topics.entry(t.to_string()).or_default().send_errors += 1;
                    }
                }
                if code == 105
                    && cmd.code == 0
                    && let Some(route) = d.and_then(|d| d.body_json.as_ref())
                {
                    let topic = r
                        .request
                        .as_ref()
                        .and_then(|q| q.topic.as_deref())
                        .unwrap_or("")
                        .to_string();
                    self.note_route(r, client, route, topic);
                }
            }
        }
        // Long polls' waits stay out of the interval's latency, as out of the code's.
        let latency = if kind == Kind::Response && r.request.as_ref().is_some_and(|q| !q.long_poll)
        {
            r.latency_us()
        } else {
            None
        };
        if let Some(b) = self.bucket(r.ts) {
            b.frames += 1;
            b.bytes += r.frame_len as u64;
            b.messages += messages;
            match kind {
                Kind::Response => b.responses += 1,
                _ => b.requests += 1,
            }
            if is_err {
                b.errors += 1;
            }
            if let Some(l) = latency {
                b.latency.record(l.max(0) as u64);
            }
        }
    }

    fn note_slow(&mut self, r: &FrameRecord, code: i32, l: i64) {
        if self.slow.len() == TOP_SLOW && self.slow.last().is_some_and(|s| s.latency_us >= l) {
            return;
        }
        self.slow.push(Slow {
            latency_us: l,
            request_packet: r.request.as_ref().map(|q| q.packet).unwrap_or(0),
            response_packet: r.packet,
            code,
            stream: r.stream,
        });
        self.slow.sort_by(|a, b| {
            b.latency_us
                .cmp(&a.latency_us)
                .then(a.request_packet.cmp(&b.request_packet))
        });
        self.slow.truncate(TOP_SLOW);
    }

    fn note_route(&mut self, r: &FrameRecord, client: SocketAddr, route: &Value, topic: String) {
        let mut brokers = Vec::new();
        let datas = route
            .get("brokerDatas")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let queues = route
            .get("queueDatas")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for q in &queues {
            let name = q
                .get("brokerName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let addrs: BTreeMap<String, String> = datas
                .iter()
                .find(|b| b.get("brokerName").and_then(Value::as_str) == Some(name.as_str()))
                .and_then(|b| b.get("brokerAddrs"))
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default();
            for a in addrs.values() {
                self.broker_names.insert(a.clone(), name.clone());
                // The VIP channel (listen port − 2) is the same broker.
                if let Some((host, port)) = a.rsplit_once(':')
                    && let Ok(p) = port.parse::<u16>()
                    && p >= 2
                {
                    self.broker_names
                        .insert(format!("{host}:{}", p - 2), name.clone());
                }
            }
            brokers.push(RouteBroker {
                broker_name: name,
                addrs,
                read_queue_nums: q.get("readQueueNums").and_then(Value::as_i64).unwrap_or(0),
                write_queue_nums: q.get("writeQueueNums").and_then(Value::as_i64).unwrap_or(0),
                perm: q.get("perm").and_then(Value::as_i64).unwrap_or(0),
            });
        }
        if self.routes.len() < self.max_routes {
            self.routes.push(RouteAnswer {
                packet: r.packet,
                ts: r.ts,
                topic,
                client,
                brokers,
            });
        }
    }

    /// Feeds one problem.
    pub fn handle_problem(&mut self, p: &Problem) {
        let a = self.problems.entry(p.kind).or_default();
        a.count += 1;
        // The examples are the earliest in the capture (by packet, then text), whatever
        // order the problems were found in, so they do not depend on how the work was split.
        let e = (p.packet, p.message.clone());
        if a.examples.len() < PROBLEM_EXAMPLES || a.examples.last().is_some_and(|l| e < *l) {
            let at = a.examples.partition_point(|x| *x <= e);
            a.examples.insert(at, e);
            a.examples.truncate(PROBLEM_EXAMPLES);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_of_takes_the_first_tags_entry() {
        // As splitting on \u{2} and taking the first entry that starts with TAGS\u{1}.
        let reference = |p: &str| -> Option<String> {
            p.split('\u{2}')
                .find_map(|e| e.strip_prefix("TAGS\u{1}"))
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        };
        for p in [
            "",
            "TAGS\u{1}A",
            "KEYS\u{1}k\u{2}TAGS\u{1}TagA\u{2}WAIT\u{1}true",
            "KEYS\u{1}xTAGS\u{1}no\u{2}TAGS\u{1}yes",
            "TAGS\u{1}\u{2}TAGS\u{1}later",
            "XTAGS\u{1}a",
            "KEYS\u{1}k\u{2}TAGS\u{1}",
            "TAGS",
            "\u{2}TAGS\u{1}é\u{2}",
        ] {
            assert_eq!(tag_of(p).map(str::to_string), reference(p), "{p:?}");
        }
    }
}
