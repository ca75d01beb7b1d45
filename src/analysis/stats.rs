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

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use serde_json::{Map, Value, json};

use super::dissect::{FrameRecord, Problem, ProblemKind, Totals};
use crate::protocol::Decoded;
use crate::remoting::codes::{RequestCode, ResponseCode, version_name};
use crate::remoting::command::Kind;

/// A sparse log-linear histogram of microsecond latencies: exact below 128 µs, then 128
/// buckets per power of two (under 0.8 % relative error). Memory grows with the number of
/// distinct buckets hit, not with the number of samples.
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    buckets: BTreeMap<u32, u64>,
    pub count: u64,
    pub max: u64,
    pub sum: u128,
}

const SUB: u32 = 7;

fn bucket_of(v: u64) -> u32 {
    if v < (1 << SUB) {
        return v as u32;
    }
    let e = 63 - v.leading_zeros(); // >= SUB
    let m = ((v >> (e - SUB)) & ((1 << SUB) - 1)) as u32;
    (1 << SUB) + (e - SUB) * (1 << SUB) + m
}

fn bucket_value(b: u32) -> u64 {
    if b < (1 << SUB) {
        return b as u64;
    }
    let k = b - (1 << SUB);
    let e = k / (1 << SUB) + SUB;
    let m = (k % (1 << SUB)) as u64;
    // The middle of the bucket.
    let lo = (1u64 << e) | (m << (e - SUB));
    lo + (1u64 << (e - SUB)) / 2
}

impl Histogram {
    pub fn record(&mut self, v: u64) {
        *self.buckets.entry(bucket_of(v)).or_default() += 1;
        self.count += 1;
        self.max = self.max.max(v);
        self.sum += v as u128;
    }

    /// The value at quantile `q` (0..=1), within the bucket's resolution; the maximum is exact.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (&b, &n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some(bucket_value(b).min(self.max));
            }
        }
        Some(self.max)
    }

    fn merge(&mut self, o: &Histogram) {
        for (&b, &n) in &o.buckets {
            *self.buckets.entry(b).or_default() += n;
        }
        self.count += o.count;
        self.max = self.max.max(o.max);
        self.sum += o.sum;
    }
}

/// Per request code.
#[derive(Clone, Debug, Default)]
pub struct CodeStats {
    pub requests: u64,
    pub oneways: u64,
    pub responses: BTreeMap<i32, u64>,
    pub latency: Histogram,
    pub request_bytes: u64,
    pub response_bytes: u64,
}

impl CodeStats {
    pub fn errors(&self) -> u64 {
        self.responses
            .iter()
            .filter(|(c, _)| **c != 0)
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
    /// Producer groups by client IP.
    pub producers: BTreeMap<IpAddr, BTreeSet<String>>,
    pub send_errors: u64,
}

/// One producer's sends to one topic, for the queue-selection audit.
#[derive(Clone, Debug, Default)]
pub struct ProducerAudit {
    /// Queues picked (broker address, queueId), in send order (capped; `picks` counts all).
    /// (index into [`Stats::brokers`], queueId) — 4 bytes a pick.
    pub sequence: Vec<(u16, u16)>,
    /// In a pass of several ([`Stats::for_shard`]): when each stored pick was seen — the
    /// packet being read when its frame came out, and its stream — so the merge can put
    /// one producer's picks from several passes back in the order one pass sees them.
    pub packets: Vec<(u64, u64)>,
    pub picks: u64,
    pub counts: BTreeMap<(SocketAddr, i32), u64>,
}

/// Picks kept per producer and topic, and in all: the audit looks at the first ones.
const MAX_SEQUENCE: usize = 4_096;
const MAX_SEQUENCE_TOTAL: usize = 4 << 20;
/// Picks shown in the output.
const SHOWN_PICKS: usize = 64;

/// Per connection.
#[derive(Clone, Debug)]
pub struct ConnStats {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub role: &'static str,
    pub language: Option<String>,
    pub version: Option<i32>,
    pub frames: [u64; 2],
    pub bytes: [u64; 2],
    pub first_ts: i64,
    pub last_ts: i64,
    codes_seen: BTreeSet<i32>,
}

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
const RMQ_PORTS: [u16; 4] = [9876, 10909, 10911, 10912];

/// The statistics of one capture.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub interval_ns: Option<i64>,
    pub codes: BTreeMap<i32, CodeStats>,
    pub topics: BTreeMap<String, TopicStats>,
    /// Client IP → producer group → topic → picks.
    pub producers: BTreeMap<IpAddr, BTreeMap<String, BTreeMap<String, ProducerAudit>>>,
    pub conns: BTreeMap<u64, ConnStats>,
    pub routes: Vec<RouteAnswer>,
    pub errors: BTreeMap<(i32, i32, String), ErrorAgg>,
    pub slow: Vec<Slow>,
    pub problems: BTreeMap<ProblemKind, ProblemAgg>,
    pub buckets: BTreeMap<i64, Bucket>,
    pub messages: u64,
    /// Broker address → broker name, from route answers.
    broker_names: BTreeMap<String, String>,
    /// Send destinations: broker address → topics producers sent there.
    sent_to: BTreeMap<SocketAddr, BTreeSet<String>>,
    /// Broker addresses picks refer to, and their indexes.
    brokers: Vec<SocketAddr>,
    broker_index: BTreeMap<SocketAddr, u16>,
    sequence_total: usize,
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

impl Stats {
    pub fn new(interval_ns: Option<i64>) -> Self {
        Self {
            interval_ns: interval_ns.filter(|&i| i > 0),
            max_routes: MAX_ROUTES,
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
        let conn = self.conns.entry(r.stream).or_insert_with(|| {
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
                first_ts: r.ts,
                last_ts: r.ts,
                codes_seen: BTreeSet::new(),
            }
        });
        let from_client = r.src == conn.client;
        let dir = usize::from(!from_client);
        conn.frames[dir] += 1;
        conn.bytes[dir] += r.frame_len as u64;
        conn.last_ts = r.ts;
        if from_client && kind != Kind::Response {
            conn.language.get_or_insert_with(|| cmd.language_str());
            conn.version.get_or_insert(cmd.version);
            if conn.codes_seen.len() < 64 {
                conn.codes_seen.insert(cmd.code);
            }
        }
        let server = conn.server;
        let client = conn.client;
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
                    messages = self.note_send(cmd, r.stream, client, server);
                }
            }
            Kind::Response => {
                let code = r.request.as_ref().map(|q| q.code).unwrap_or(-1);
                let c = self.codes.entry(code).or_default();
                *c.responses.entry(cmd.code).or_default() += 1;
                c.response_bytes += r.frame_len as u64;
                if let Some(l) = r.latency_us() {
                    c.latency.record(l.max(0) as u64);
                    self.note_slow(r, code, l);
                }
                if cmd.code != 0 {
                    let remark = cmd.remark.clone().unwrap_or_default();
                    let remark: String = remark.chars().take(200).collect();
                    let e = self.errors.entry((code, cmd.code, remark)).or_default();
                    if e.count == 0 {
                        e.first_packet = r.packet;
                    }
                    e.count += 1;
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
        let latency = if kind == Kind::Response {
            r.latency_us()
        } else {
            None
        };
        let is_err = kind == Kind::Response && cmd.code != 0;
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

    /// A send request: topic, queue, producer, tags and message count, read straight from
    /// the header (V2 letters or V1 names) without building typed headers. Returns the
    /// number of messages.
    fn note_send(
        &mut self,
        cmd: &crate::remoting::command::RemotingCommand,
        stream: u64,
        client: SocketAddr,
        server: SocketAddr,
    ) -> u64 {
        let v2 = matches!(cmd.code, 310 | 320 | 325);
        let get = |l: &str, n: &str| cmd.ext(if v2 { l } else { n });
        let topic = get("b", "topic").unwrap_or("");
        let group = get("a", "producerGroup").unwrap_or("");
        let queue = get("e", "queueId").and_then(|q| q.trim().parse::<i32>().ok());
        let batch = cmd.code == 320
            || get("m", "batch").is_some_and(|b| b.eq_ignore_ascii_case("true") || b == "1");
        // (messages, body bytes), and the tags: a single message's borrowed from its header.
        let mut batch_tags: Vec<String> = Vec::new();
        let mut single_tag: Option<&str> = None;
        let (count, bytes) = if batch {
            let (msgs, _) = crate::protocol::message::decode_batch(&cmd.body, topic, queue);
            for m in &msgs {
                if let Some(t) = m.tags() {
                    batch_tags.push(t.to_string());
                }
            }
            (
                msgs.len() as u64,
                msgs.iter().map(|m| m.wire_body_len as u64).sum(),
            )
        } else {
            single_tag = tag_of(get("i", "properties").unwrap_or(""));
            (1, cmd.body.len() as u64)
        };
        self.messages += count;
        let sent = self.sent_to.entry(server).or_default();
        if !sent.contains(topic) {
            sent.insert(topic.to_string());
        }
        // One lookup on the common path (the topic, group… already known).
        if !self.topics.contains_key(topic) {
            self.topics.insert(topic.to_string(), TopicStats::default());
        }
        if let Some(t) = self.topics.get_mut(topic) {
            t.messages += count;
            t.body_bytes += bytes;
            if let Some(q) = queue {
                *t.queues.entry((server, q)).or_default() += count;
            }
            for tag in single_tag
                .into_iter()
                .chain(batch_tags.iter().map(String::as_str))
            {
                if t.tags.len() < 1000 && !t.tags.contains(tag) {
                    t.tags.insert(tag.to_string());
                }
            }
            let groups = t.producers.entry(client.ip()).or_default();
            if groups.len() < 1000 && !groups.contains(group) {
                groups.insert(group.to_string());
            }
        }
        // One pick per request (a batch goes to one queue).
        if let Some(q) = queue {
            let by_group = self.producers.entry(client.ip()).or_default();
            let by_topic = match by_group.get_mut(group) {
                Some(t) => t,
                None => by_group.entry(group.to_string()).or_default(),
            };
            let a = match by_topic.get_mut(topic) {
                Some(a) => a,
                None => by_topic.entry(topic.to_string()).or_default(),
            };
            let room = self.sequence_total < MAX_SEQUENCE_TOTAL && a.sequence.len() < MAX_SEQUENCE;
            let idx = match self.broker_index.get(&server) {
                Some(&i) => Some(i),
                None if self.brokers.len() < u16::MAX as usize => {
                    self.brokers.push(server);
                    let i = (self.brokers.len() - 1) as u16;
                    self.broker_index.insert(server, i);
                    Some(i)
                }
                None => None,
            };
            if room && let (Some(i), Ok(q16)) = (idx, u16::try_from(q)) {
                a.sequence.push((i, q16));
                if self.keep_pick_packets {
                    a.packets.push((self.at_packet, stream));
                }
                self.sequence_total += 1;
            }
            a.picks += 1;
            *a.counts.entry((server, q)).or_default() += 1;
        }
        count
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

    /// A broker address as shown: its name from a route answer (or its VIP channel's), else
    /// the address.
    pub fn broker_label(&self, a: SocketAddr) -> String {
        self.broker_names
            .get(&a.to_string())
            .cloned()
            .unwrap_or_else(|| a.to_string())
    }

    /// The route's writable queue list for a topic, as the producer builds it
    /// (`topicRouteData2TopicPublishInfo`): QueueData sorted by brokerName, writable ones
    /// (perm & 2) with a master address, `writeQueueNums` queues each.
    pub fn publish_queues(&self, topic: &str) -> Option<Vec<(String, i32)>> {
        let route = self.routes.iter().rev().find(|r| r.topic == topic)?;
        let mut brokers: Vec<&RouteBroker> = route.brokers.iter().collect();
        brokers.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        let mut v = Vec::new();
        for b in brokers {
            if b.perm & 2 == 0 || !b.addrs.contains_key("0") {
                continue;
            }
            for q in 0..b.write_queue_nums.clamp(0, 1 << 16) {
                v.push((b.broker_name.clone(), q as i32));
            }
        }
        Some(v)
    }

    /// The audit of one producer's picks: (queue list used, steps that followed +1 round
    /// robin, steps, max/min share).
    pub fn audit(&self, ip: IpAddr, group: &str, topic: &str) -> Option<Audit> {
        let a = self.producers.get(&ip)?.get(group)?.get(topic)?;
        let from_route = self.publish_queues(topic);
        // Labels once per broker, not once per pick: the picks are walked as indexes.
        let labels: Vec<String> = self.brokers.iter().map(|b| self.broker_label(*b)).collect();
        let named = |(addr, q): &(SocketAddr, i32)| (self.broker_label(*addr), *q);
        let mut counts: BTreeMap<(String, i32), u64> = BTreeMap::new();
        for (k, n) in &a.counts {
            *counts.entry(named(k)).or_default() += n;
        }
        let list = match &from_route {
            Some(l) if !l.is_empty() => l.clone(),
            _ => counts.keys().cloned().collect(),
        };
        let n = list.len();
        let idx = |p: &(String, i32)| list.iter().position(|q| q == p);
        let positions: foldhash::HashMap<(&str, i32), usize> = list
            .iter()
            .enumerate()
            .map(|(i, (b, q))| ((b.as_str(), *q), i))
            .collect();
        // A stored pick's place in the list (None: not in it), looked up once per distinct
        // (broker, queue).
        let mut places: foldhash::HashMap<(u16, u16), Option<usize>> = foldhash::HashMap::default();
        let mut place = |&(b, q): &(u16, u16)| {
            *places.entry((b, q)).or_insert_with(|| {
                labels
                    .get(b as usize)
                    .and_then(|l| positions.get(&(l.as_str(), q as i32)).copied())
            })
        };
        let mut steps = 0u64;
        let mut rr = 0u64;
        let stored: Vec<&(u16, u16)> = a
            .sequence
            .iter()
            .filter(|(b, _)| (*b as usize) < labels.len())
            .collect();
        let mut prev: Option<Option<usize>> = None;
        for p in &stored {
            let here = place(p);
            if let Some(before) = prev {
                steps += 1;
                if let (Some(i), Some(j)) = (before, here)
                    && n > 0
                    && (i + 1) % n == j
                {
                    rr += 1;
                }
            }
            prev = Some(here);
        }
        let sequence: Vec<(String, i32)> = stored
            .iter()
            .take(SHOWN_PICKS)
            .map(|&&(b, q)| (labels[b as usize].clone(), q as i32))
            .collect();
        let unused = list.iter().filter(|q| !counts.contains_key(*q)).count();
        let outside: u64 = counts
            .iter()
            .filter(|(q, _)| idx(q).is_none())
            .map(|(_, c)| c)
            .sum();
        let max = counts.values().copied().max().unwrap_or(0);
        let min = if unused > 0 {
            0
        } else {
            counts.values().copied().min().unwrap_or(0)
        };
        Some(Audit {
            sequence,
            sequence_stored: stored.len(),
            queue_list: list,
            from_route: from_route.is_some(),
            steps,
            round_robin_steps: rr,
            unused_queues: unused,
            picks_outside_route: outside,
            max_share: max,
            min_share: min,
        })
    }

    /// Overall latency histogram.
    pub fn all_latency(&self) -> Histogram {
        let mut h = Histogram::default();
        for c in self.codes.values() {
            h.merge(&c.latency);
        }
        h
    }

    /// Whether producers sent to the addresses a route gave.
    pub fn route_used(&self, r: &RouteAnswer) -> Vec<(String, bool)> {
        let mut v = Vec::new();
        for b in &r.brokers {
            for a in b.addrs.values() {
                let used = [Some(a.clone()), vip_of(a)]
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.parse::<SocketAddr>().ok())
                    .any(|x| self.sent_to.get(&x).is_some_and(|t| t.contains(&r.topic)));
                v.push((a.clone(), used));
            }
        }
        v
    }

    /// Server roles, decided from what each connection carried (ports only as hints).
    pub fn finish_roles(&mut self) {
        let broker_ports: BTreeSet<String> = self.broker_names.keys().cloned().collect();
        for c in self.conns.values_mut() {
            let s = &c.codes_seen;
            let namesrv = s.iter().any(
                |c| matches!(c, 100..=106 | 205 | 206 | 216 | 217 | 219 | 224 | 304 | 311..=313),
            );
            let broker = s
                .iter()
                .any(|c| matches!(c, 10..=15 | 30..=43 | 310 | 320 | 361));
            let addr = c.server.to_string();
            c.role = if namesrv && !broker {
                "NameServer"
            } else if broker || broker_ports.contains(&addr) {
                if broker_ports
                    .iter()
                    .any(|b| vip_of(b).as_deref() == Some(addr.as_str()))
                    || (c.server.port() == 10909 && !broker_ports.contains(&addr))
                {
                    "Broker (VIP channel)"
                } else {
                    "Broker"
                }
            } else if c.server.port() == 10912 {
                "HA"
            } else if c.server.port() == 9876 {
                "NameServer"
            } else {
                "unknown"
            };
        }
    }
}

/// Why shards' statistics could not be merged into exactly what one pass gives: the caller
/// then runs one pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmergeable(pub &'static str);

/// One shard's result: its statistics, its totals, and the packet that started each of its
/// streams ([`super::dissect::Dissector::stream_first_packets`]).
pub type ShardResult = (Stats, Totals, Vec<u64>);

/// Merges the statistics of shards that each dissected some of a capture's connections
/// (the same packets, see [`super::dissect::Shard`]) into what one pass over all of them
/// gives: stream numbers renumbered in order of first packet, counts and histograms added,
/// lists merged in capture order, one producer's queue picks from several shards
/// interleaved in the order one pass sees them ([`merge_audit`]). Fails where the shards'
/// parts cannot be put together exactly: a capped set or list that filled up (tags, groups,
/// stored picks), conflicting broker names, or a shard that dropped data at its limits (the
/// limits are per pass).
pub fn merge(parts: Vec<ShardResult>) -> Result<(Stats, Totals), Unmergeable> {
    // Stream numbers: one pass numbers streams in order of their first packet.
    let mut order: Vec<(u64, usize, usize)> = Vec::new();
    for (i, (_, _, firsts)) in parts.iter().enumerate() {
        order.extend(firsts.iter().enumerate().map(|(l, &p)| (p, i, l)));
    }
    order.sort_unstable();
    let mut renumber: Vec<Vec<u64>> = parts.iter().map(|(_, _, f)| vec![0; f.len()]).collect();
    for (g, &(_, i, l)) in order.iter().enumerate() {
        renumber[i][l] = g as u64;
    }
    if parts.iter().any(|(_, t, _)| t.dropped_by_limits > 0) {
        return Err(Unmergeable("a shard dropped data at its limits"));
    }
    // Every pass's streams by their one-pass numbers, then merged into the first.
    let mut parts = parts
        .into_iter()
        .zip(&renumber)
        .map(|((mut st, t, _), map)| {
            let re = |k: u64| map.get(k as usize).copied().unwrap_or(k);
            st.conns = std::mem::take(&mut st.conns)
                .into_iter()
                .map(|(k, v)| (re(k), v))
                .collect();
            for sl in &mut st.slow {
                sl.stream = re(sl.stream);
            }
            for a in st.producers.values_mut().flat_map(|g| g.values_mut()) {
                for a in a.values_mut() {
                    for p in &mut a.packets {
                        p.1 = re(p.1);
                    }
                }
            }
            (st, t)
        });
    let Some((mut st, mut t)) = parts.next() else {
        return Err(Unmergeable("no shards"));
    };
    if full_of_picks(&st) {
        return Err(Unmergeable("the stored picks are full"));
    }
    for (o, ot) in parts {
        if full_of_picks(&o) {
            return Err(Unmergeable("the stored picks are full"));
        }
        // Totals: every shard counted every packet; the rest is the shard's own.
        t.tcp_packets += ot.tcp_packets;
        t.streams += ot.streams;
        t.frames += ot.frames;
        t.undecodable += ot.undecodable;
        t.requests += ot.requests;
        t.responses += ot.responses;
        t.oneways += ot.oneways;
        t.unanswered += ot.unanswered;
        t.unmatched_responses += ot.unmatched_responses;
        t.gaps += ot.gaps;
        t.gap_bytes += ot.gap_bytes;
        t.retransmitted_bytes += ot.retransmitted_bytes;
        t.skipped_bytes += ot.skipped_bytes;
        for (code, c) in o.codes {
            let m = st.codes.entry(code).or_default();
            m.requests += c.requests;
            m.oneways += c.oneways;
            for (r, n) in c.responses {
                *m.responses.entry(r).or_default() += n;
            }
            m.latency.merge(&c.latency);
            m.request_bytes += c.request_bytes;
            m.response_bytes += c.response_bytes;
        }
        for (name, x) in o.topics {
            let m = st.topics.entry(name).or_default();
            m.messages += x.messages;
            m.body_bytes += x.body_bytes;
            for (q, n) in x.queues {
                *m.queues.entry(q).or_default() += n;
            }
            union_capped(&mut m.tags, x.tags, "a topic's tag set is full")?;
            for (ip, groups) in x.producers {
                let g = m.producers.entry(ip).or_default();
                union_capped(g, groups, "a client's producer group set is full")?;
            }
            m.send_errors += x.send_errors;
        }
        // Broker indexes of the picks, into the merged list.
        let mut bmap: Vec<u16> = Vec::with_capacity(o.brokers.len());
        for b in &o.brokers {
            let i = match st.broker_index.get(b) {
                Some(&i) => i,
                None if st.brokers.len() < u16::MAX as usize => {
                    st.brokers.push(*b);
                    let i = (st.brokers.len() - 1) as u16;
                    st.broker_index.insert(*b, i);
                    i
                }
                None => return Err(Unmergeable("too many brokers")),
            };
            bmap.push(i);
        }
        for (ip, groups) in o.producers {
            let mg = st.producers.entry(ip).or_default();
            for (group, topics) in groups {
                let mt = mg.entry(group).or_default();
                for (topic, mut a) in topics {
                    for p in &mut a.sequence {
                        p.0 = bmap[p.0 as usize];
                    }
                    match mt.get_mut(&topic) {
                        Some(m) => merge_audit(m, a)?,
                        None => {
                            mt.insert(topic, a);
                        }
                    }
                }
            }
        }
        st.conns.extend(o.conns);
        st.routes.extend(o.routes);
        for (k, e) in o.errors {
            let m = st.errors.entry(k).or_default();
            m.first_packet = if m.count == 0 {
                e.first_packet
            } else {
                m.first_packet.min(e.first_packet)
            };
            m.count += e.count;
        }
        st.slow.extend(o.slow);
        for (k, a) in o.problems {
            let m = st.problems.entry(k).or_default();
            m.count += a.count;
            m.examples.extend(a.examples);
            m.examples.sort();
            m.examples.truncate(PROBLEM_EXAMPLES);
        }
        for (k, b) in o.buckets {
            let m = st.buckets.entry(k).or_default();
            m.frames += b.frames;
            m.requests += b.requests;
            m.responses += b.responses;
            m.errors += b.errors;
            m.messages += b.messages;
            m.bytes += b.bytes;
            m.latency.merge(&b.latency);
        }
        st.messages += o.messages;
        for (k, v) in o.broker_names {
            match st.broker_names.get(&k) {
                Some(x) if *x != v => return Err(Unmergeable("conflicting broker names")),
                Some(_) => {}
                None => {
                    st.broker_names.insert(k, v);
                }
            }
        }
        for (k, v) in o.sent_to {
            st.sent_to.entry(k).or_default().extend(v);
        }
    }
    // One pass stores each producer's first picks until 4 Mi are stored in all: the merged
    // producers kept their first ones; exact while the cap was never reached.
    st.sequence_total = st
        .producers
        .values()
        .flat_map(|g| g.values())
        .flat_map(|t| t.values())
        .map(|a| a.sequence.len())
        .sum();
    if st.sequence_total > MAX_SEQUENCE_TOTAL {
        return Err(Unmergeable("the stored picks are full"));
    }
    st.routes.sort_by_key(|r| r.packet);
    st.routes.truncate(st.max_routes);
    st.slow.sort_by(|a, b| {
        b.latency_us
            .cmp(&a.latency_us)
            .then(a.request_packet.cmp(&b.request_packet))
    });
    st.slow.truncate(TOP_SLOW);
    Ok((st, t))
}

/// Whether a pass stopped storing picks because 4 Mi were stored in all (then which ones
/// one pass would have stored is unknown), or could not name a broker any more.
fn full_of_picks(st: &Stats) -> bool {
    st.sequence_total >= MAX_SEQUENCE_TOTAL || st.brokers.len() >= u16::MAX as usize
}

/// One producer's picks on one topic from two passes, as one pass records them: counts
/// added, stored picks merged in the order one pass sees them — by the packet being read
/// when the frame came out, then by (one-pass) stream number, as the dissector flushes
/// streams in that order. Each pass kept its own first 4,096, so the first 4,096 of the
/// merge are the producer's first 4,096.
fn merge_audit(m: &mut ProducerAudit, o: ProducerAudit) -> Result<(), Unmergeable> {
    if m.packets.len() != m.sequence.len() || o.packets.len() != o.sequence.len() {
        return Err(Unmergeable("a producer's picks carry no packet numbers"));
    }
    m.picks += o.picks;
    for (k, n) in o.counts {
        *m.counts.entry(k).or_default() += n;
    }
    let total = (m.sequence.len() + o.sequence.len()).min(MAX_SEQUENCE);
    let mut sequence = Vec::with_capacity(total);
    let mut packets = Vec::with_capacity(total);
    let (mut i, mut j) = (0, 0);
    while sequence.len() < total {
        let take_m = match (m.packets.get(i), o.packets.get(j)) {
            (Some(a), Some(b)) => a <= b,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_m {
            sequence.push(m.sequence[i]);
            packets.push(m.packets[i]);
            i += 1;
        } else {
            sequence.push(o.sequence[j]);
            packets.push(o.packets[j]);
            j += 1;
        }
    }
    m.sequence = sequence;
    m.packets = packets;
    Ok(())
}

/// Adds `b` to `a`, sets that stop growing at 1,000 entries: exact only while neither was
/// full and the union stays within the cap (else which entries one pass kept is unknown).
fn union_capped(
    a: &mut BTreeSet<String>,
    b: BTreeSet<String>,
    why: &'static str,
) -> Result<(), Unmergeable> {
    if a.len() >= 1000 || b.len() >= 1000 {
        return Err(Unmergeable(why));
    }
    a.extend(b);
    if a.len() > 1000 {
        return Err(Unmergeable(why));
    }
    Ok(())
}

fn vip_of(addr: &str) -> Option<String> {
    let (h, p) = addr.rsplit_once(':')?;
    let p: u16 = p.parse().ok()?;
    (p >= 2).then(|| format!("{h}:{}", p - 2))
}

/// The queue-selection audit of one producer on one topic.
#[derive(Clone, Debug)]
pub struct Audit {
    /// The first picks (at most the 64 shown), as (broker, queueId).
    pub sequence: Vec<(String, i32)>,
    /// Picks stored for the audit (the first 4,096 of each producer and topic).
    pub sequence_stored: usize,
    pub queue_list: Vec<(String, i32)>,
    pub from_route: bool,
    pub steps: u64,
    pub round_robin_steps: u64,
    pub unused_queues: usize,
    pub picks_outside_route: u64,
    pub max_share: u64,
    pub min_share: u64,
}

impl Audit {
    /// Round robin when every step went to the next queue of the list.
    pub fn is_round_robin(&self) -> bool {
        self.steps > 0 && self.round_robin_steps == self.steps && self.picks_outside_route == 0
    }
    pub fn spread(&self) -> Option<f64> {
        (self.min_share > 0).then(|| self.max_share as f64 / self.min_share as f64)
    }
}

fn us(v: Option<u64>) -> Value {
    v.map(Value::from).unwrap_or(Value::Null)
}

fn rfc3339(ts: i64) -> String {
    crate::output::format_ts(ts)
}

/// Whether a not-remoting problem sits on a RocketMQ port (TLS or another protocol there).
pub fn on_rocketmq_port(p: &Problem, conns: &BTreeMap<u64, (SocketAddr, SocketAddr)>) -> bool {
    p.stream
        .and_then(|s| conns.get(&s))
        .is_some_and(|(a, b)| RMQ_PORTS.contains(&a.port()) || RMQ_PORTS.contains(&b.port()))
}

impl Stats {
    /// Everything as one JSON document (the `--json` output; schema in docs/stats.md).
    pub fn to_json(&self, t: &Totals) -> Value {
        let span = match (t.first_ts, t.last_ts) {
            (Some(a), Some(b)) => {
                json!({"first": rfc3339(a), "last": rfc3339(b), "seconds": (b - a) as f64 / 1e9})
            }
            _ => Value::Null,
        };
        let overview = json!({
            "span": span,
            "packets": t.packets,
            "bytes": t.bytes,
            "tcp_connections": t.streams,
            "remoting_commands": t.frames,
            "requests": t.requests,
            "responses": t.responses,
            "oneways": t.oneways,
            "unanswered_requests": t.unanswered,
            "unmatched_responses": t.unmatched_responses,
            "undecodable_frames": t.undecodable,
            "messages_sent": self.messages,
            "gaps": self.problems.get(&ProblemKind::Gap).map(|p| p.count).unwrap_or(0),
            "gap_bytes": t.gap_bytes,
            "retransmitted_bytes": t.retransmitted_bytes,
            "skipped_bytes": t.skipped_bytes,
            "dropped_by_limits": t.dropped_by_limits,
        });
        let codes: Vec<Value> = self
            .codes
            .iter()
            .map(|(code, c)| {
                let responses: Map<String, Value> = c
                    .responses
                    .iter()
                    .map(|(rc, n)| (ResponseCode(*rc).to_string(), json!(n)))
                    .collect();
                json!({
                    "code": code,
                    "name": if *code < 0 { "(unpaired responses)".to_string() } else { RequestCode(*code).to_string() },
                    "requests": c.requests,
                    "oneways": c.oneways,
                    "responses": responses,
                    "error_rate": if c.answered() > 0 { Value::from(c.errors() as f64 / c.answered() as f64) } else { Value::Null },
                    "latency_us": {
                        "p50": us(c.latency.quantile(0.5)),
                        "p90": us(c.latency.quantile(0.9)),
                        "p99": us(c.latency.quantile(0.99)),
                        "max": if c.latency.count > 0 { Value::from(c.latency.max) } else { Value::Null },
                        "count": c.latency.count,
                    },
                    "request_bytes": c.request_bytes,
                    "response_bytes": c.response_bytes,
                })
            })
            .collect();
        let topics: Vec<Value> = self
            .topics
            .iter()
            .map(|(name, s)| {
                let queues: Vec<Value> = s
                    .queues
                    .iter()
                    .map(|((b, q), n)| json!({"broker": self.broker_label(*b), "broker_addr": b.to_string(), "queue_id": q, "messages": n}))
                    .collect();
                let mut producers: Vec<Value> = Vec::new();
                for (ip, groups) in &self.producers {
                    for (group, topics) in groups {
                        let Some(p) = topics.get(name) else { continue };
                        let a = self.audit(*ip, group, name);
                        producers.push(json!({
                            "producer": format!("{group}@{ip}"),
                            "picks": p.picks,
                            // The first picks (the audit used up to 4,096 of them).
                            "sequence": a.as_ref().map(|a| a.sequence.iter().map(|(b, q)| format!("{b}:{q}")).collect::<Vec<_>>()),
                            "sequence_stored": a.as_ref().map(|a| a.sequence_stored),
                            "queue_list": a.as_ref().map(|a| a.queue_list.iter().map(|(b, q)| format!("{b}:{q}")).collect::<Vec<_>>()),
                            "queue_list_from_route": a.as_ref().map(|a| a.from_route),
                            "round_robin": a.as_ref().map(|a| a.is_round_robin()),
                            "round_robin_steps": a.as_ref().map(|a| a.round_robin_steps),
                            "steps": a.as_ref().map(|a| a.steps),
                            "unused_queues": a.as_ref().map(|a| a.unused_queues),
                            "max_share": a.as_ref().map(|a| a.max_share),
                            "min_share": a.as_ref().map(|a| a.min_share),
                            "spread": a.as_ref().and_then(|a| a.spread()),
                        }));
                    }
                }
                let producer_names: Vec<String> = s
                    .producers
                    .iter()
                    .flat_map(|(ip, gs)| gs.iter().map(move |g| format!("{g}@{ip}")))
                    .collect();
                json!({
                    "topic": name,
                    "messages": s.messages,
                    "body_bytes": s.body_bytes,
                    "send_errors": s.send_errors,
                    "queues": queues,
                    "tags": s.tags,
                    "producers": producer_names,
                    "queue_selection": producers,
                })
            })
            .collect();
        let conns: Vec<Value> = self
            .conns
            .iter()
            .map(|(i, c)| {
                json!({
                    "stream": i,
                    "client": c.client.to_string(),
                    "server": c.server.to_string(),
                    "role": c.role,
                    "client_language": c.language,
                    "client_version": c.version,
                    "client_version_name": c.version.and_then(version_name),
                    "frames_to_server": c.frames[0],
                    "frames_to_client": c.frames[1],
                    "bytes_to_server": c.bytes[0],
                    "bytes_to_client": c.bytes[1],
                    "first": rfc3339(c.first_ts),
                    "last": rfc3339(c.last_ts),
                })
            })
            .collect();
        let routes: Vec<Value> = self
            .routes
            .iter()
            .map(|r| {
                json!({
                    "packet": r.packet,
                    "ts": rfc3339(r.ts),
                    "topic": r.topic,
                    "client": r.client.to_string(),
                    "brokers": r.brokers.iter().map(|b| json!({
                        "broker_name": b.broker_name,
                        "addrs": b.addrs,
                        "read_queue_nums": b.read_queue_nums,
                        "write_queue_nums": b.write_queue_nums,
                        "perm": b.perm,
                    })).collect::<Vec<_>>(),
                    "producers_sent_to": self.route_used(r).into_iter().map(|(a, u)| json!({"addr": a, "used": u})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let errors: Vec<Value> = self
            .errors
            .iter()
            .map(|((req, resp, remark), e)| {
                json!({
                    "request": RequestCode(*req).to_string(),
                    "response": ResponseCode(*resp).to_string(),
                    "code": resp,
                    "remark": remark,
                    "count": e.count,
                    "first_packet": e.first_packet,
                })
            })
            .collect();
        let slow: Vec<Value> = self
            .slow
            .iter()
            .map(|s| {
                json!({
                    "latency_us": s.latency_us,
                    "request": RequestCode(s.code).to_string(),
                    "request_packet": s.request_packet,
                    "response_packet": s.response_packet,
                    "stream": s.stream,
                })
            })
            .collect();
        let problems: Map<String, Value> = self
            .problems
            .iter()
            .map(|(k, a)| {
                (
                    k.as_str().to_string(),
                    json!({
                        "count": a.count,
                        "examples": a.examples.iter().map(|(p, m)| json!({"packet": p, "message": m})).collect::<Vec<_>>(),
                    }),
                )
            })
            .collect();
        let mut out = json!({
            "overview": overview,
            "codes": codes,
            "topics": topics,
            "connections": conns,
            "routes": routes,
            "problems": {
                "error_responses": errors,
                "slowest": slow,
                "by_kind": problems,
            },
        });
        if let Some(i) = self.interval_ns {
            let b: Vec<Value> = self
                .buckets
                .iter()
                .map(|(t, b)| {
                    json!({
                        "start": rfc3339(*t),
                        "frames": b.frames,
                        "requests": b.requests,
                        "responses": b.responses,
                        "errors": b.errors,
                        "messages": b.messages,
                        "bytes": b.bytes,
                        "latency_us": {"p50": us(b.latency.quantile(0.5)), "p99": us(b.latency.quantile(0.99)), "max": if b.latency.count > 0 { Value::from(b.latency.max) } else { Value::Null }},
                    })
                })
                .collect();
            out["interval_seconds"] = json!(i as f64 / 1e9);
            out["intervals"] = Value::Array(b);
        }
        out
    }
}

#[cfg(test)]
mod tests {
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

    use super::*;

    #[test]
    fn histogram_quantiles_within_resolution() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        for (q, want) in [(0.5, 50_000.0), (0.9, 90_000.0), (0.99, 99_000.0)] {
            let got = h.quantile(q).unwrap() as f64;
            assert!((got - want).abs() / want < 0.01, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.quantile(1.0), Some(100_000));
        assert_eq!(h.max, 100_000);
        for v in [0u64, 1, 127, 128, 129, 1000, 123_456_789, u64::MAX / 2] {
            let b = bucket_of(v);
            let back = bucket_value(b);
            assert!(
                v < 128 && back == v || (back as f64 - v as f64).abs() / (v as f64) < 0.01,
                "{v} -> {back}"
            );
        }
        // 128 exact buckets, then 128 per octave: about 1,360 for 1..100,000, not 100,000.
        assert!(h.buckets.len() < 1400, "sparse: {}", h.buckets.len());
    }
}
