//! The pop side of the consumer view: POP_MESSAGE answers' offsets per queue
//! (`PopMessageResponseHeader` `startOffsetInfo` / `msgOffsetInfo`, decoded by
//! `protocol::pop_info` as `ExtraInfoUtil` parses them) and BATCH_ACK_MESSAGE's acked
//! messages (`BatchAckMessageRequestBody` / `BatchAck`: `startOffset` and the `bitSet` of
//! acked offsets, as `MQClientAPIImpl.batchAckMessageAsync` sets one bit per message).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::{Consumers, Inflight, MAX_QUEUES, Mark, QueueStats, bodies};
use crate::analysis::FrameRecord;
use crate::protocol::pop_info;
use crate::remoting::Kind;
use crate::remoting::command::RemotingCommand;

impl Consumers {
    /// A POP_MESSAGE request of (group, topic) waits for its answer.
    pub(super) fn wait_pop(&mut self, stream: u64, opaque: i32, group: &str, topic: &str) {
        let key = (group.to_string(), topic.to_string());
        let k = match self.pop_index.get(&key) {
            Some(&k) => k,
            None if self.pop_keys.len() < MAX_QUEUES => {
                let k = self.pop_keys.len() as u32;
                self.pop_keys.push(key.clone());
                self.pop_index.insert(key, k);
                k
            }
            None => {
                self.queues_more += 1;
                return;
            }
        };
        self.wait(stream, opaque, Inflight::Pop(k));
    }

    /// A SUCCESS answer to POP_MESSAGE: each queue of its `msgOffsetInfo` gets the offsets
    /// popped, each of its `startOffsetInfo` the start offset (a retry entry is the pop
    /// retry topic's queue). Entries that do not decode are counted in
    /// `pop_offsets_malformed` (read reports them, located).
    pub(super) fn pop_answer(
        &mut self,
        cmd: &RemotingCommand,
        k: u32,
        server: SocketAddr,
        bucket: Option<i64>,
        mark: impl Fn(i64) -> Mark,
    ) {
        let (group, topic) = self.pop_keys[k as usize].clone();
        let (info, errors) = pop_info::decode(
            cmd.ext("startOffsetInfo"),
            cmd.ext("msgOffsetInfo"),
            cmd.ext("orderCountInfo"),
            &crate::limits::Limits::default(),
        );
        if !errors.is_empty() {
            self.pop_offsets_malformed += 1;
        }
        for m in &info.msg_offsets {
            let t = m.retry.topic(&topic, &group);
            let Some(q) = self.queue(&group, &t, server, m.queue_id) else {
                continue;
            };
            let qs = &mut self.queues[q as usize];
            for &o in &m.offsets {
                qs.popped_offset.add(mark(o));
            }
            if let Some(s) = self.slice(q, bucket) {
                for &o in &m.offsets {
                    s.popped_offset.add(mark(o));
                }
            }
        }
        for s in &info.start_offsets {
            let t = s.retry.topic(&topic, &group);
            if let Some(q) = self.queue(&group, &t, server, s.queue_id) {
                self.queues[q as usize]
                    .pop_start_offset
                    .add(mark(s.start_offset));
            }
        }
    }

    /// BATCH_ACK_MESSAGE's body: each BatchAck (`c` consumerGroup, `t` topic, `q` queueId,
    /// or their long names) counts one entry on its queue, and the set bits of its `b`
    /// bitSet as acked (or failed) messages when the broker answers.
    pub(super) fn batch_ack(
        &mut self,
        r: &FrameRecord,
        cmd: &RemotingCommand,
        kind: Kind,
        server: SocketAddr,
    ) {
        let Some(acks) = bodies::parse::<bodies::BatchAckBody>(&cmd.body).and_then(|b| b.acks)
        else {
            self.batch_acks_undecoded += 1;
            return;
        };
        let mut sent = Vec::new();
        for a in &acks {
            let group = a.consumer_group.as_deref().unwrap_or("");
            let topic = a.topic.as_deref().unwrap_or("");
            let qid = a.queue_id.and_then(|q| i32::try_from(q).ok()).unwrap_or(-1);
            let acked = a.bit_set.as_ref().map(bodies::BitSet::count_ones);
            if acked.is_some_and(|n| n.is_none()) {
                self.batch_ack_bitsets_undecoded += 1;
            }
            if let Some(q) = self.queue(group, topic, server, qid) {
                let qs = &mut self.queues[q as usize];
                qs.batch_ack_entries += 1;
                sent.push((q, acked.flatten().unwrap_or(0)));
            }
        }
        self.ack_sent(r.stream, cmd.opaque, kind, sent);
    }

    /// The last max offset seen for each (topic, broker, queueId), whichever group's pull
    /// answer or GET_MAX_OFFSET carried it: the broker's max offset of a queue is the same
    /// for every group, and a pop consumer asks for none itself.
    pub(super) fn max_by_queue(&self) -> BTreeMap<(&str, SocketAddr, i32), Mark> {
        let mut m: BTreeMap<(&str, SocketAddr, i32), Mark> = BTreeMap::new();
        let mut put = |k, x: Option<Mark>| {
            if let Some(x) = x {
                let e = m.entry(k).or_insert(x);
                if x.key() >= e.key() {
                    *e = x;
                }
            }
        };
        for q in &self.queues {
            put((q.topic.as_str(), q.broker, q.queue_id), q.max_offset.last);
        }
        for (t, b, qid, span) in &self.max_offsets {
            put((t.as_str(), *b, *qid), span.last);
        }
        m
    }

    /// A popped queue's lag: the last max offset seen for it minus the offset after the
    /// last one popped (the messages the broker still holds past what was popped); None
    /// without both.
    pub(super) fn pop_lag(
        q: &QueueStats,
        max: &BTreeMap<(&str, SocketAddr, i32), Mark>,
    ) -> (Option<Mark>, Option<i64>) {
        let Some(last) = q.popped_offset.last else {
            return (None, None);
        };
        let m = max.get(&(q.topic.as_str(), q.broker, q.queue_id)).copied();
        (
            m,
            m.map(|m| m.value.saturating_sub(last.value.saturating_add(1))),
        )
    }
}
