//! The consumer view as the `consumers` part of `stats --json` (docs/stats.md): groups,
//! queues with their spans, lags and per-interval records.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde_json::{Value, json};

use super::{Consumers, Mark, QueueStats};

impl Consumers {
    /// The last max offset seen for a queue: its pull answers' `maxOffset` or a
    /// GET_MAX_OFFSET answer for the same (topic, broker, queueId), whichever came later.
    pub(super) fn last_max(&self, q: &QueueStats) -> Option<Mark> {
        let from_get = self
            .max_index
            .get(&q.topic)
            .and_then(|m| m.get(&(q.broker, q.queue_id)))
            .and_then(|&i| self.max_offsets[i as usize].3.last);
        match (q.max_offset.last, from_get) {
            (Some(a), Some(b)) => Some(if b.key() > a.key() { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    /// The `consumers` part of `stats --json` (docs/stats.md); `label` names a broker.
    pub fn to_json(
        &self,
        label: &dyn Fn(SocketAddr) -> String,
        rfc3339: &dyn Fn(i64) -> String,
    ) -> Value {
        let mut order: Vec<&QueueStats> = self.queues.iter().collect();
        order.sort_by(|a, b| {
            (&a.group, &a.topic, a.broker, a.queue_id)
                .cmp(&(&b.group, &b.topic, b.broker, b.queue_id))
        });
        let mut by_group: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        let max_by_queue = self.max_by_queue();
        for q in order {
            let (pop_max, pop_lag) = Self::pop_lag(q, &max_by_queue);
            let max = self.last_max(q);
            let committed = q.committed.last;
            let lag = match (max, committed) {
                (Some(m), Some(c)) => Value::from(m.value.saturating_sub(c.value)),
                _ => Value::Null,
            };
            // The lag at each interval's end: the last max offset and the last committed
            // offset seen up to then (pull answers' maxOffset; commits), as `lag` is at the
            // end of the capture.
            let (mut last_max, mut last_committed) = (None::<Mark>, None::<Mark>);
            let intervals: Vec<Value> = q
                .intervals
                .iter()
                .map(|(b, s)| {
                    last_max = s.max_offset.last.or(last_max);
                    last_committed = s.committed.last.or(last_committed);
                    let lag = match (last_max, last_committed) {
                        (Some(m), Some(c)) => Value::from(m.value.saturating_sub(c.value)),
                        _ => Value::Null,
                    };
                    json!({
                        "start": rfc3339(*b),
                        "pulls": s.pulls,
                        "pull_offset": s.pull_offset.json(),
                        "next_begin_offset": s.next_begin_offset.json(),
                        "max_offset": s.max_offset.json(),
                        "committed_offset": s.committed.json(),
                        "lag": lag,
                        "popped_offset": s.popped_offset.json(),
                    })
                })
                .collect();
            let mut v = json!({
                "topic": q.topic,
                "broker": label(q.broker),
                "broker_addr": q.broker.to_string(),
                "queue_id": q.queue_id,
                "pulls": q.pulls,
                "pulls_found": q.pulls_found,
                "pull_outcomes": q.pull_outcomes,
                "pull_errors": q.pull_errors,
                "pull_offset": q.pull_offset.json(),
                "next_begin_offset": q.next_begin_offset.json(),
                "committed_offset": q.committed.json(),
                "max_offset": max.map(|m| json!({"value": m.value, "packet": m.packet})),
                "lag": lag,
                "pops": q.pops,
                "popped_offset": q.popped_offset.json(),
                "pop_start_offset": q.pop_start_offset.json(),
                "pop_max_offset": pop_max.map(|m| json!({"value": m.value, "packet": m.packet})),
                "pop_lag": pop_lag,
                "acks": q.acks,
                "acked_messages": q.acked_messages,
                "ack_failed_messages": q.ack_failed_messages,
                "batch_ack_entries": q.batch_ack_entries,
                "invisible_time_changes": q.invisible_time_changes,
            });
            if !q.intervals.is_empty() {
                v["intervals"] = Value::Array(intervals);
            }
            by_group.entry(q.group.as_str()).or_default().push(v);
        }
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|(name, g)| {
                json!({
                    "group": name,
                    "clients": g.clients,
                    "client_ips": g.client_ips.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
                    "subscriptions": g.subscriptions.iter().map(|(t, s, e)| json!({"topic": t, "sub_string": s, "expression_type": e})).collect::<Vec<_>>(),
                    "heartbeats": g.heartbeats,
                    "not_kept": g.set_more,
                    "queues": by_group.remove(name.as_str()).unwrap_or_default(),
                })
            })
            .collect();
        json!({
            "groups": groups,
            "groups_more": self.groups_more,
            "queues_more": self.queues_more,
            "intervals_more": self.slices_more,
            "answers_unattributed": self.inflight_more,
            "heartbeats_undecoded": self.heartbeats_undecoded,
            "batch_acks_undecoded": self.batch_acks_undecoded,
            "batch_ack_bitsets_undecoded": self.batch_ack_bitsets_undecoded,
            "pop_offsets_malformed": self.pop_offsets_malformed,
        })
    }
}
