//! The consumer view: per consumer group its clients and subscriptions (from HEART_BEAT's
//! `HeartbeatData`), and per queue it pulled or popped the pull offsets, `nextBeginOffset`,
//! committed offsets, the max offset seen, the lag, and the acks.
//!
//! Java followed (apache/rocketmq `remoting/protocol/header/` and `body/`):
//! `PullMessageRequestHeader` (consumerGroup, topic, queueId, queueOffset, sysFlag,
//! commitOffset), `PullMessageResponseHeader` (nextBeginOffset, minOffset, maxOffset),
//! `UpdateConsumerOffsetRequestHeader` (commitOffset), `GetMaxOffsetRequestHeader` /
//! `GetMaxOffsetResponseHeader` (offset), `PopMessageRequestHeader`,
//! `AckMessageRequestHeader`, `ChangeInvisibleTimeRequestHeader`, `BatchAckMessageRequestBody`
//! / `BatchAck` (`c`, `t`, `q`), `HeartbeatData` / `ConsumerData` / `SubscriptionData`.
//! `PullSysFlag.FLAG_COMMIT_OFFSET` says the pull carries a commitOffset.
//!
//! Memory is bounded: at most [`MAX_GROUPS`] groups, [`MAX_QUEUES`] queues,
//! [`MAX_SET`] clients, client addresses and subscriptions per group, [`MAX_SLICES`] queue
//! intervals in all and [`MAX_INFLIGHT`] requests awaiting their answer; past a cap the
//! frames are counted in `*_more`, not itemized. First and last values carry the packet
//! (and stream) they were seen at and are kept as the minimum and maximum by that, so passes
//! side by side merge into exactly one pass's result.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use serde_json::{Value, json};

use super::consumer_bodies as bodies;

mod json;
mod pop;
use super::{Unmergeable, is_outcome};
use crate::analysis::{FrameRecord, PULL_FLAG_COMMIT_OFFSET};
use crate::remoting::command::{Kind, RemotingCommand};

/// Consumer groups itemized.
pub const MAX_GROUPS: usize = 1_000;
/// Queues (group, topic, broker, queueId) itemized, in all.
pub const MAX_QUEUES: usize = 10_000;
/// Clients, client addresses and subscriptions kept per group.
pub const MAX_SET: usize = 1_000;
/// Per-interval queue records (with `--interval`), in all.
pub const MAX_SLICES: usize = 100_000;
/// Requests remembered until their answer (pulls, GET_MAX_OFFSET).
pub const MAX_INFLIGHT: usize = 1 << 20;

/// A value seen at a frame: ordered by (packet, stream), so the first and the last are the
/// same whatever order frames of several connections came out in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub packet: u64,
    pub stream: u64,
    pub value: i64,
}

impl Mark {
    fn key(&self) -> (u64, u64) {
        (self.packet, self.stream)
    }
}

/// How many values, the first and the last.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub count: u64,
    pub first: Option<Mark>,
    pub last: Option<Mark>,
}

impl Span {
    fn add(&mut self, m: Mark) {
        self.count += 1;
        if self.first.is_none_or(|f| m.key() < f.key()) {
            self.first = Some(m);
        }
        if self.last.is_none_or(|l| m.key() >= l.key()) {
            self.last = Some(m);
        }
    }
    fn merge(&mut self, o: &Span) {
        self.count += o.count;
        if let Some(f) = o.first
            && self.first.is_none_or(|x| f.key() < x.key())
        {
            self.first = Some(f);
        }
        if let Some(l) = o.last
            && self.last.is_none_or(|x| l.key() >= x.key())
        {
            self.last = Some(l);
        }
    }
    fn json(&self) -> Value {
        let v = |m: Option<Mark>| m.map(|m| json!({"value": m.value, "packet": m.packet}));
        json!({"count": self.count, "first": v(self.first), "last": v(self.last)})
    }
}

/// One interval of one queue (with `--interval`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Slice {
    pub pulls: u64,
    pub pull_offset: Span,
    pub next_begin_offset: Span,
    /// The pull answers' `maxOffset` in the interval.
    pub max_offset: Span,
    /// The commits in the interval (UPDATE_CONSUMER_OFFSET's `commitOffset`, and a pull's
    /// with FLAG_COMMIT_OFFSET).
    pub committed: Span,
    /// The queue offsets POP_MESSAGE answers' `msgOffsetInfo` name in the interval.
    pub popped_offset: Span,
}

impl Slice {
    /// Adds another record of the same queue (another pass, or a finer interval inside
    /// this one).
    pub fn merge(&mut self, o: &Slice) {
        self.pulls += o.pulls;
        self.pull_offset.merge(&o.pull_offset);
        self.next_begin_offset.merge(&o.next_begin_offset);
        self.max_offset.merge(&o.max_offset);
        self.committed.merge(&o.committed);
        self.popped_offset.merge(&o.popped_offset);
    }
}

/// One queue as one consumer group used it.
#[derive(Clone, Debug)]
pub struct QueueStats {
    pub group: String,
    pub topic: String,
    pub broker: SocketAddr,
    pub queue_id: i32,
    /// PULL_MESSAGE / LITE_PULL_MESSAGE requests, and their answers by kind.
    pub pulls: u64,
    pub pulls_found: u64,
    pub pull_outcomes: u64,
    pub pull_errors: u64,
    /// The requests' `queueOffset`.
    pub pull_offset: Span,
    /// The answers' `nextBeginOffset`.
    pub next_begin_offset: Span,
    /// The answers' `maxOffset` (the broker's max offset of the queue).
    pub max_offset: Span,
    /// UPDATE_CONSUMER_OFFSET's and the pulls' (with FLAG_COMMIT_OFFSET) `commitOffset`.
    pub committed: Span,
    pub pops: u64,
    /// The queue offsets popped (POP_MESSAGE answers' `msgOffsetInfo`), one per message.
    pub popped_offset: Span,
    /// The answers' `startOffsetInfo` for this queue.
    pub pop_start_offset: Span,
    pub acks: u64,
    /// Messages acknowledged: one per ACK_MESSAGE, the set bits of each BATCH_ACK_MESSAGE
    /// entry's `bitSet`, counted when the broker answers SUCCESS (or the ack is one-way).
    pub acked_messages: u64,
    /// Messages whose ack the broker answered with an error (`AckMessageProcessor`:
    /// SYSTEM_ERROR, NO_MESSAGE…): not acknowledged, they come back after their
    /// invisible time.
    pub ack_failed_messages: u64,
    pub batch_ack_entries: u64,
    pub invisible_time_changes: u64,
    pub intervals: BTreeMap<i64, Slice>,
}

/// One consumer group.
#[derive(Clone, Debug, Default)]
pub struct GroupStats {
    /// clientIDs of the heartbeats that named the group, and of the connections it used.
    pub clients: BTreeSet<String>,
    /// Addresses of the clients that sent the group's requests.
    pub client_ips: BTreeSet<IpAddr>,
    /// (topic, subString, expressionType) from heartbeats.
    pub subscriptions: BTreeSet<(String, String, String)>,
    pub heartbeats: u64,
    /// Items not kept past [`MAX_SET`].
    pub set_more: u64,
}

/// (broker, queueId) → index.
type QueueIndex = BTreeMap<(SocketAddr, i32), u32>;

/// What a request waits for.
#[derive(Clone, Debug)]
enum Inflight {
    /// A pull of queue `.0`.
    Pull(u32),
    /// GET_MAX_OFFSET of (topic, broker, queue) `.0`.
    MaxOffset(u32),
    /// POP_MESSAGE of (group, topic) `.0` of `pop_keys`.
    Pop(u32),
    /// ACK_MESSAGE / BATCH_ACK_MESSAGE: (queue, messages) acknowledged if the broker
    /// answers SUCCESS.
    Acks(Vec<(u32, u64)>),
}

/// The consumer view of a capture (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Consumers {
    pub groups: BTreeMap<String, GroupStats>,
    /// Consumer frames of groups past [`MAX_GROUPS`].
    pub groups_more: u64,
    pub queues: Vec<QueueStats>,
    /// Consumer frames of queues past [`MAX_QUEUES`].
    pub queues_more: u64,
    /// group → topic → (broker, queueId) → index in `queues`.
    index: BTreeMap<String, BTreeMap<String, QueueIndex>>,
    /// GET_MAX_OFFSET answers: (topic, broker, queueId) and the offset.
    pub max_offsets: Vec<(String, SocketAddr, i32, Span)>,
    max_index: BTreeMap<String, QueueIndex>,
    /// Requests awaiting their answer, by (stream, opaque).
    inflight: BTreeMap<(u64, i32), Inflight>,
    /// Answers not attributed because [`MAX_INFLIGHT`] requests were waiting.
    pub inflight_more: u64,
    /// The clientID each connection's heartbeat gave.
    stream_client: BTreeMap<u64, String>,
    /// HEART_BEAT bodies that did not parse as HeartbeatData.
    pub heartbeats_undecoded: u64,
    /// BATCH_ACK_MESSAGE bodies that did not parse.
    pub batch_acks_undecoded: u64,
    /// BATCH_ACK_MESSAGE entries whose `bitSet` did not decode (their messages uncounted).
    pub batch_ack_bitsets_undecoded: u64,
    /// POP_MESSAGE answers with offset entries that did not decode (`pop_info` errors).
    pub pop_offsets_malformed: u64,
    /// (group, topic) of the POP_MESSAGE requests awaiting their answer, and their index.
    pop_keys: Vec<(String, String)>,
    pop_index: BTreeMap<(String, String), u32>,
    slices: usize,
    pub slices_more: u64,
}

fn num(cmd: &RemotingCommand, k: &str) -> Option<i64> {
    cmd.ext(k).and_then(|v| v.trim().parse().ok())
}

/// Whether a request code feeds the consumer view.
fn is_consumer_code(code: i32) -> bool {
    matches!(
        code,
        11 | 15 | 30 | 34 | 361 | 200050 | 200051 | 200053 | 200151
    )
}

impl Consumers {
    /// The queue's record, made when new (None past the caps).
    fn queue(
        &mut self,
        group: &str,
        topic: &str,
        broker: SocketAddr,
        queue_id: i32,
    ) -> Option<u32> {
        if let Some(&i) = self
            .index
            .get(group)
            .and_then(|t| t.get(topic))
            .and_then(|q| q.get(&(broker, queue_id)))
        {
            return Some(i);
        }
        if !self.groups.contains_key(group) && self.groups.len() >= MAX_GROUPS {
            self.groups_more += 1;
            return None;
        }
        if self.queues.len() >= MAX_QUEUES {
            self.queues_more += 1;
            return None;
        }
        self.groups.entry(group.to_string()).or_default();
        let i = self.queues.len() as u32;
        self.queues.push(QueueStats {
            group: group.to_string(),
            topic: topic.to_string(),
            broker,
            queue_id,
            pulls: 0,
            pulls_found: 0,
            pull_outcomes: 0,
            pull_errors: 0,
            pull_offset: Span::default(),
            next_begin_offset: Span::default(),
            max_offset: Span::default(),
            committed: Span::default(),
            pops: 0,
            popped_offset: Span::default(),
            pop_start_offset: Span::default(),
            acks: 0,
            acked_messages: 0,
            ack_failed_messages: 0,
            batch_ack_entries: 0,
            invisible_time_changes: 0,
            intervals: BTreeMap::new(),
        });
        self.index
            .entry(group.to_string())
            .or_default()
            .entry(topic.to_string())
            .or_default()
            .insert((broker, queue_id), i);
        Some(i)
    }

    fn slice(&mut self, q: u32, bucket: Option<i64>) -> Option<&mut Slice> {
        let b = bucket?;
        let qs = &mut self.queues[q as usize];
        if !qs.intervals.contains_key(&b) {
            if self.slices >= MAX_SLICES {
                self.slices_more += 1;
                return None;
            }
            self.slices += 1;
        }
        Some(qs.intervals.entry(b).or_default())
    }

    /// The group's client from this connection: its heartbeat's clientID, and its address.
    fn note_client(&mut self, group: &str, stream: u64, ip: IpAddr) {
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        if !g.client_ips.contains(&ip) {
            if g.client_ips.len() < MAX_SET {
                g.client_ips.insert(ip);
            } else {
                g.set_more += 1;
            }
        }
        if let Some(c) = self.stream_client.get(&stream)
            && !g.clients.contains(c)
        {
            if g.clients.len() < MAX_SET {
                g.clients.insert(c.clone());
            } else {
                g.set_more += 1;
            }
        }
    }

    /// A connection ended: its waiting requests and its clientID are forgotten.
    pub fn end_connection(&mut self, stream: u64) {
        self.stream_client.remove(&stream);
        let keys: Vec<(u64, i32)> = self
            .inflight
            .range((stream, i32::MIN)..=(stream, i32::MAX))
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            self.inflight.remove(&k);
        }
    }

    /// Feeds one decoded frame (`bucket`: its interval's start, with `--interval`).
    pub fn handle_frame(
        &mut self,
        r: &FrameRecord,
        cmd: &RemotingCommand,
        kind: Kind,
        client: SocketAddr,
        server: SocketAddr,
        bucket: Option<i64>,
    ) {
        let mark = |value: i64| Mark {
            packet: r.packet,
            stream: r.stream,
            value,
        };
        if kind == Kind::Response {
            let Some(req) = r
                .request
                .as_ref()
                .filter(|q| matches!(q.code, 11 | 30 | 361 | 200050 | 200051 | 200151))
            else {
                return;
            };
            let Some(w) = self.inflight.remove(&(r.stream, cmd.opaque)) else {
                return;
            };
            match w {
                Inflight::Pull(q) => {
                    let next = num(cmd, "nextBeginOffset");
                    let max = num(cmd, "maxOffset");
                    let qs = &mut self.queues[q as usize];
                    match cmd.code {
                        0 => qs.pulls_found += 1,
                        c if is_outcome(c) => qs.pull_outcomes += 1,
                        _ => qs.pull_errors += 1,
                    }
                    if let Some(n) = next {
                        qs.next_begin_offset.add(mark(n));
                    }
                    if let Some(m) = max {
                        qs.max_offset.add(mark(m));
                    }
                    if (next.is_some() || max.is_some())
                        && let Some(s) = self.slice(q, bucket)
                    {
                        if let Some(n) = next {
                            s.next_begin_offset.add(mark(n));
                        }
                        if let Some(m) = max {
                            s.max_offset.add(mark(m));
                        }
                    }
                }
                Inflight::MaxOffset(i) if req.code == 30 && cmd.code == 0 => {
                    if let Some(o) = num(cmd, "offset") {
                        self.max_offsets[i as usize].3.add(mark(o));
                    }
                }
                Inflight::MaxOffset(_) => {}
                Inflight::Pop(k) if req.code == 200050 && cmd.code == 0 => {
                    self.pop_answer(cmd, k, server, bucket, mark);
                }
                Inflight::Pop(_) => {}
                Inflight::Acks(acks) => {
                    for (q, n) in acks {
                        let qs = &mut self.queues[q as usize];
                        if cmd.code == 0 {
                            qs.acked_messages += n;
                        } else {
                            qs.ack_failed_messages += n;
                        }
                    }
                }
            }
            return;
        }
        if !is_consumer_code(cmd.code) {
            return;
        }
        let group = cmd.ext("consumerGroup").unwrap_or("");
        let topic = cmd.ext("topic").unwrap_or("");
        let queue_id = num(cmd, "queueId").and_then(|q| i32::try_from(q).ok());
        match cmd.code {
            34 => self.heartbeat(cmd, r.stream),
            30 => {
                let Some(qid) = queue_id else { return };
                let i = match self
                    .max_index
                    .get(topic)
                    .and_then(|m| m.get(&(server, qid)))
                {
                    Some(&i) => i,
                    None if self.max_offsets.len() < MAX_QUEUES => {
                        let i = self.max_offsets.len() as u32;
                        self.max_offsets
                            .push((topic.to_string(), server, qid, Span::default()));
                        self.max_index
                            .entry(topic.to_string())
                            .or_default()
                            .insert((server, qid), i);
                        i
                    }
                    None => {
                        self.queues_more += 1;
                        return;
                    }
                };
                self.wait(r.stream, cmd.opaque, Inflight::MaxOffset(i));
            }
            200151 => self.batch_ack(r, cmd, kind, server),
            code => {
                let Some(qid) = queue_id else { return };
                let Some(q) = self.queue(group, topic, server, qid) else {
                    return;
                };
                self.note_client(group, r.stream, client.ip());
                let qs = &mut self.queues[q as usize];
                match code {
                    11 | 361 => {
                        qs.pulls += 1;
                        let offset = num(cmd, "queueOffset");
                        if let Some(o) = offset {
                            qs.pull_offset.add(mark(o));
                        }
                        let commit = num(cmd, "commitOffset").filter(|_| {
                            num(cmd, "sysFlag").unwrap_or(0) & PULL_FLAG_COMMIT_OFFSET != 0
                        });
                        if let Some(c) = commit {
                            qs.committed.add(mark(c));
                        }
                        if let Some(s) = self.slice(q, bucket) {
                            s.pulls += 1;
                            if let Some(o) = offset {
                                s.pull_offset.add(mark(o));
                            }
                            if let Some(c) = commit {
                                s.committed.add(mark(c));
                            }
                        }
                        self.wait(r.stream, cmd.opaque, Inflight::Pull(q));
                    }
                    15 => {
                        if let Some(c) = num(cmd, "commitOffset") {
                            qs.committed.add(mark(c));
                            if let Some(s) = self.slice(q, bucket) {
                                s.committed.add(mark(c));
                            }
                        }
                    }
                    200050 => {
                        qs.pops += 1;
                        self.wait_pop(r.stream, cmd.opaque, group, topic);
                    }
                    200051 => {
                        qs.acks += 1;
                        self.ack_sent(r.stream, cmd.opaque, kind, vec![(q, 1)]);
                    }
                    200053 => qs.invisible_time_changes += 1,
                    _ => {}
                }
            }
        }
    }

    /// Acks sent: one-way, acknowledged at once; else when the broker answers SUCCESS.
    fn ack_sent(&mut self, stream: u64, opaque: i32, kind: Kind, acks: Vec<(u32, u64)>) {
        if kind == Kind::Oneway {
            for (q, n) in acks {
                self.queues[q as usize].acked_messages += n;
            }
        } else {
            self.wait(stream, opaque, Inflight::Acks(acks));
        }
    }

    fn wait(&mut self, stream: u64, opaque: i32, w: Inflight) {
        if self.inflight.len() < MAX_INFLIGHT || self.inflight.contains_key(&(stream, opaque)) {
            self.inflight.insert((stream, opaque), w);
        } else {
            self.inflight_more += 1;
        }
    }

    /// HEART_BEAT's HeartbeatData: clientID, and per consumerDataSet entry its groupName
    /// and subscriptionDataSet (topic, subString, expressionType).
    fn heartbeat(&mut self, cmd: &RemotingCommand, stream: u64) {
        let Some(hb) = bodies::parse::<bodies::HeartbeatData>(&cmd.body) else {
            self.heartbeats_undecoded += 1;
            return;
        };
        let client = hb.client_id.as_deref();
        if let Some(c) = client
            && self.stream_client.get(&stream).is_none_or(|x| x != c)
        {
            self.stream_client.insert(stream, c.to_string());
        }
        for cd in hb.consumer_data_set.iter().flatten() {
            let Some(group) = cd.group_name.as_deref() else {
                continue;
            };
            if !self.groups.contains_key(group) && self.groups.len() >= MAX_GROUPS {
                self.groups_more += 1;
                continue;
            }
            let g = self.groups.entry(group.to_string()).or_default();
            g.heartbeats += 1;
            if let Some(c) = client
                && !g.clients.contains(c)
            {
                if g.clients.len() < MAX_SET {
                    g.clients.insert(c.to_string());
                } else {
                    g.set_more += 1;
                }
            }
            for s in cd.subscription_data_set.iter().flatten() {
                let f =
                    |v: &Option<std::borrow::Cow<'_, str>>| v.as_deref().unwrap_or("").to_string();
                let sub = (f(&s.topic), f(&s.sub_string), f(&s.expression_type));
                if !g.subscriptions.contains(&sub) {
                    if g.subscriptions.len() < MAX_SET {
                        g.subscriptions.insert(sub);
                    } else {
                        g.set_more += 1;
                    }
                }
            }
        }
    }

    /// Moves the per-interval records to a coarser interval: `at` gives the start of the
    /// new interval an old start lies in (the report chooses its interval as the capture
    /// goes on, src/output/report/series.rs).
    pub fn coarsen_intervals(&mut self, at: impl Fn(i64) -> i64) {
        for q in &mut self.queues {
            for (b, s) in std::mem::take(&mut q.intervals) {
                q.intervals.entry(at(b)).or_default().merge(&s);
            }
        }
        self.slices = self.queues.iter().map(|q| q.intervals.len()).sum();
    }

    /// Adds another pass's consumer view (its connections were not this one's).
    pub fn merge(&mut self, o: Consumers) -> Result<(), Unmergeable> {
        if self.full() || o.full() {
            return Err(Unmergeable("the consumer view is full"));
        }
        for (name, g) in o.groups {
            let m = self.groups.entry(name).or_default();
            m.heartbeats += g.heartbeats;
            m.set_more += g.set_more;
            m.clients.extend(g.clients);
            m.client_ips.extend(g.client_ips);
            m.subscriptions.extend(g.subscriptions);
            if m.clients.len() > MAX_SET
                || m.client_ips.len() > MAX_SET
                || m.subscriptions.len() > MAX_SET
            {
                return Err(Unmergeable("a consumer group's client set is full"));
            }
        }
        for q in o.queues {
            let Some(i) = self.queue(&q.group, &q.topic, q.broker, q.queue_id) else {
                return Err(Unmergeable("the consumer view is full"));
            };
            let m = &mut self.queues[i as usize];
            m.pulls += q.pulls;
            m.pulls_found += q.pulls_found;
            m.pull_outcomes += q.pull_outcomes;
            m.pull_errors += q.pull_errors;
            m.pull_offset.merge(&q.pull_offset);
            m.next_begin_offset.merge(&q.next_begin_offset);
            m.max_offset.merge(&q.max_offset);
            m.committed.merge(&q.committed);
            m.pops += q.pops;
            m.popped_offset.merge(&q.popped_offset);
            m.pop_start_offset.merge(&q.pop_start_offset);
            m.acks += q.acks;
            m.acked_messages += q.acked_messages;
            m.ack_failed_messages += q.ack_failed_messages;
            m.batch_ack_entries += q.batch_ack_entries;
            m.invisible_time_changes += q.invisible_time_changes;
            for (b, s) in q.intervals {
                m.intervals.entry(b).or_default().merge(&s);
            }
        }
        self.slices = self.queues.iter().map(|q| q.intervals.len()).sum();
        for (topic, broker, qid, span) in o.max_offsets {
            let i = match self
                .max_index
                .get(&topic)
                .and_then(|m| m.get(&(broker, qid)))
            {
                Some(&i) => i as usize,
                None => {
                    self.max_offsets
                        .push((topic.clone(), broker, qid, Span::default()));
                    let i = self.max_offsets.len() - 1;
                    self.max_index
                        .entry(topic)
                        .or_default()
                        .insert((broker, qid), i as u32);
                    i
                }
            };
            self.max_offsets[i].3.merge(&span);
        }
        self.heartbeats_undecoded += o.heartbeats_undecoded;
        self.batch_acks_undecoded += o.batch_acks_undecoded;
        self.batch_ack_bitsets_undecoded += o.batch_ack_bitsets_undecoded;
        self.pop_offsets_malformed += o.pop_offsets_malformed;
        if self.groups.len() > MAX_GROUPS
            || self.queues.len() > MAX_QUEUES
            || self.max_offsets.len() > MAX_QUEUES
            || self.slices > MAX_SLICES
        {
            return Err(Unmergeable("the consumer view is full"));
        }
        Ok(())
    }

    /// Whether a cap was reached (which items one pass would have kept is then unknown).
    fn full(&self) -> bool {
        self.groups_more > 0
            || self.queues_more > 0
            || self.slices_more > 0
            || self.inflight_more > 0
            || self.groups.values().any(|g| g.set_more > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heartbeat(body: &[u8]) -> RemotingCommand {
        RemotingCommand {
            code: 34,
            body: body.to_vec(),
            ..Default::default()
        }
    }

    /// HeartbeatData bodies are read within the JSON budget: one past `max_json_nodes`
    /// is counted as undecoded, not turned into a tree.
    #[test]
    fn heartbeat_bodies_past_the_json_budget_are_not_parsed() {
        let mut c = Consumers::default();
        let nodes = crate::limits::Limits::default().max_json_nodes;
        let hostile = format!(
            r#"{{"clientID":"x","consumerDataSet":[{{"groupName":"g","subscriptionDataSet":[{}]}}]}}"#,
            vec!["[]"; nodes].join(",")
        );
        c.heartbeat(&heartbeat(hostile.as_bytes()), 0);
        assert_eq!(c.heartbeats_undecoded, 1);
        assert!(c.groups.is_empty());
        c.heartbeat(
            &heartbeat(br#"{"clientID":"x","consumerDataSet":[{"groupName":"g"}]}"#),
            0,
        );
        assert_eq!(c.groups["g"].heartbeats, 1);
        assert!(c.groups["g"].clients.contains("x"));
    }

    /// Spans keep the earliest and latest by (packet, stream) whatever order values come
    /// in, and merge to the same.
    #[test]
    fn spans_are_ordered_by_packet_and_merge_exactly() {
        let m = |packet, stream, value| Mark {
            packet,
            stream,
            value,
        };
        let all = [m(5, 1, 50), m(2, 9, 20), m(9, 0, 90), m(2, 3, 21)];
        let mut one = Span::default();
        for x in all {
            one.add(x);
        }
        assert_eq!(
            (one.count, one.first, one.last),
            (4, Some(m(2, 3, 21)), Some(m(9, 0, 90)))
        );
        let (mut a, mut b) = (Span::default(), Span::default());
        a.add(all[0]);
        a.add(all[2]);
        b.add(all[1]);
        b.add(all[3]);
        a.merge(&b);
        assert_eq!(a, one);
    }
}
