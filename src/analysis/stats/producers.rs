//! The producers' side of the statistics: each send request read straight from its header
//! (topic, queue, producer, tags, messages), and the per-client detail bounded by design:
//! the audits and topic producers of the lowest keys kept ([`keep_lowest`]), the rest
//! folded into counts, so that passes side by side merge exactly.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::*;

/// Detail for the `cap` lowest keys seen, whatever their order of arrival: `key` is kept
/// when there is room or when it is below the highest kept one, which is then evicted and
/// returned (to be folded into a count). `Err(())`: `key` is past the cap (fold it). The
/// kept keys are always the `cap` lowest seen, so a key folded once is folded for good and
/// passes side by side keep every key one pass keeps.
pub(crate) fn keep_lowest<K: Ord + Clone, V: Default>(
    map: &mut BTreeMap<K, V>,
    key: &K,
    cap: usize,
) -> Result<Option<(K, V)>, ()> {
    if map.contains_key(key) || map.len() < cap {
        return Ok(None);
    }
    match map.last_key_value() {
        Some((last, _)) if key < last => Ok(map.pop_last()),
        _ => Err(()),
    }
}

impl Stats {
    /// A send request: topic, queue, producer, tags and message count, read straight from
    /// the header (V2 letters or V1 names) without building typed headers. Returns the
    /// number of messages.
    pub(super) fn note_send(
        &mut self,
        cmd: &crate::remoting::command::RemotingCommand,
        body_len: usize,
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
            // Within the default per-frame budget: past max_messages_per_frame the items are
            // counted (stepped over), not decoded, so their tags and sizes are not seen.
            let mut budget =
                crate::protocol::body::Budget::new(crate::limits::Limits::default(), 0);
            let (msgs, _) =
                crate::protocol::body::decode_batch_in(&cmd.body, topic, queue, &mut budget);
            for m in &msgs {
                if let Some(t) = m.tags() {
                    batch_tags.push(t.to_string());
                }
            }
            (
                (msgs.len() + budget.messages_left_out) as u64,
                msgs.iter().map(|m| m.wire_body_len as u64).sum(),
            )
        } else {
            // The body as on the wire (compressed when the client compressed it); light
            // decoding leaves a single message's body out, its length is the frame's.
            single_tag = tag_of(get("i", "properties").unwrap_or(""));
            (1, body_len as u64)
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
            let ip = client.ip();
            match keep_lowest(&mut t.producers, &ip, MAX_TOPIC_PRODUCER_IPS) {
                Ok(evicted) => {
                    if let Some((_, p)) = evicted {
                        t.producers_folded_sends += p.sends;
                    }
                    let p = t.producers.entry(ip).or_default();
                    p.sends += 1;
                    if p.groups.len() < 1000 && !p.groups.contains(group) {
                        p.groups.insert(group.to_string());
                    }
                }
                Err(()) => t.producers_folded_sends += 1,
            }
        }
        // One pick per request (a batch goes to one queue).
        if let Some(q) = queue {
            let known = self
                .producers
                .get(&client.ip())
                .and_then(|g| g.get(group))
                .is_some_and(|t| t.contains_key(topic));
            if !known {
                if !self.admit_producer(client.ip(), group, topic) {
                    if let Some(t) = self.topics.get_mut(topic) {
                        t.queue_selection_folded_sends += 1;
                    }
                    return count;
                }
                self.producer_audits += 1;
            }
            let by_group = self.producers.entry(client.ip()).or_default();
            let by_topic = match by_group.get_mut(group) {
                Some(t) => t,
                None => by_group.entry(group.to_string()).or_default(),
            };
            let a = match by_topic.get_mut(topic) {
                Some(a) => a,
                None => by_topic.entry(topic.to_string()).or_default(),
            };
            let room = a.sequence.len() < MAX_SEQUENCE;
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
            }
            a.picks += 1;
            *a.counts.entry((server, q)).or_default() += 1;
        }
        count
    }

    /// Whether a new producer's audit may be kept: room, or it is below the highest kept
    /// (client IP, group, topic), which is then evicted, its picks folded into its topic's
    /// count ([`keep_lowest`]'s rule over the nested map).
    pub(super) fn admit_producer(&mut self, ip: IpAddr, group: &str, topic: &str) -> bool {
        if self.producer_audits < MAX_PRODUCERS {
            return true;
        }
        let above = self
            .producers
            .last_key_value()
            .and_then(|(i, g)| g.last_key_value().map(|(g, t)| (i, g, t)))
            .and_then(|(i, g, t)| {
                t.last_key_value()
                    .map(|(t, _)| (*i, g.as_str(), t.as_str()))
            })
            .is_some_and(|highest| highest > (ip, group, topic));
        if !above {
            return false;
        }
        self.fold_highest_producer();
        true
    }

    /// Removes the highest (client IP, group, topic) audit, its picks folded into its
    /// topic's `queue_selection_folded_sends`.
    pub(super) fn fold_highest_producer(&mut self) {
        let Some(mut by_ip) = self.producers.last_entry() else {
            return;
        };
        let Some(mut by_group) = by_ip.get_mut().last_entry() else {
            by_ip.remove();
            return;
        };
        let popped = by_group.get_mut().pop_last();
        if by_group.get().is_empty() {
            by_group.remove();
        }
        if by_ip.get().is_empty() {
            by_ip.remove();
        }
        if let Some((topic, a)) = popped {
            self.producer_audits = self.producer_audits.saturating_sub(1);
            if let Some(t) = self.topics.get_mut(&topic) {
                t.queue_selection_folded_sends += a.picks;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_lowest_keeps_the_lowest_whatever_the_order() {
        // 50 keys, each seen three times, in three orders: the 10 lowest are kept and the
        // rest folded, however they came.
        for step in [1u32, 7, 49] {
            let mut kept: BTreeMap<u32, u64> = BTreeMap::new();
            let mut folded = 0u64;
            for i in 0..150u32 {
                let k = (i * step) % 50;
                match keep_lowest(&mut kept, &k, 10) {
                    Ok(evicted) => {
                        folded += evicted.map_or(0, |(_, n)| n);
                        *kept.entry(k).or_default() += 1;
                    }
                    Err(()) => folded += 1,
                }
            }
            assert_eq!(
                kept.keys().copied().collect::<Vec<_>>(),
                (0..10).collect::<Vec<_>>()
            );
            assert_eq!(kept.values().sum::<u64>() + folded, 150, "step {step}");
        }
    }
}
