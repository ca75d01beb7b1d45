//! Putting together the statistics of passes side by side (see [`merge`]).

use super::*;

/// Why shards' statistics could not be merged into exactly what one pass gives: the caller
/// then runs one pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmergeable(pub &'static str);

/// One shard's result: its statistics, its totals, and the packet that started each of its
/// streams ([`crate::analysis::Dissector::stream_first_packets`]).
pub type ShardResult = (Stats, Totals, Vec<u64>);

/// Merges the statistics of shards that each dissected some of a capture's connections
/// (the same packets, see [`crate::analysis::Shard`]) into what one pass over all of them
/// gives: stream numbers renumbered in order of first packet, counts and histograms added,
/// lists merged in capture order, one producer's queue picks from several shards
/// interleaved in the order one pass sees them (`merge_audit`). Fails where the shards'
/// parts cannot be put together exactly: a capped set or list that filled up (tags, groups,
/// stored picks), conflicting broker names, or a shard that dropped data at its limits (the
/// limits are per pass).
pub fn merge(mut parts: Vec<ShardResult>) -> Result<(Stats, Totals), Unmergeable> {
    // Stream numbers: one pass numbers streams in order of their first packet. Each
    // shard's list is in that order already (a stream is numbered at its first packet), so
    // a k-way merge numbers them all, no sort; each shard's list becomes its map from its
    // stream numbers to one pass's.
    let mut renumber: Vec<Vec<u64>> = parts.iter_mut().map(|p| std::mem::take(&mut p.2)).collect();
    let mut heads = vec![0usize; renumber.len()];
    for g in 0u64.. {
        let mut best: Option<usize> = None;
        for (i, f) in renumber.iter().enumerate() {
            if let Some(&p) = f.get(heads[i])
                && best.is_none_or(|b| p < renumber[b][heads[b]])
            {
                best = Some(i);
            }
        }
        let Some(i) = best else { break };
        // Behind the head, never compared again.
        renumber[i][heads[i]] = g;
        heads[i] += 1;
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
            st.rejoin_ended();
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
    if full_of_brokers(&st) {
        return Err(Unmergeable("too many brokers"));
    }
    for (o, ot) in parts {
        if full_of_brokers(&o) {
            return Err(Unmergeable("too many brokers"));
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
        t.pending_at_end += ot.pending_at_end;
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
            m.long_poll_latency.merge(&c.long_poll_latency);
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
            m.producers_folded_sends += x.producers_folded_sends;
            m.queue_selection_folded_sends += x.queue_selection_folded_sends;
            for (ip, p) in x.producers {
                let g = m.producers.entry(ip).or_default();
                g.sends += p.sends;
                union_capped(
                    &mut g.groups,
                    p.groups,
                    "a client's producer group set is full",
                )?;
            }
            // Each pass kept its lowest addresses, so the lowest of the union are one pass's.
            while m.producers.len() > MAX_TOPIC_PRODUCER_IPS {
                if let Some((_, p)) = m.producers.pop_last() {
                    m.producers_folded_sends += p.sends;
                }
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
        let (a, b) = (&mut st.conn_totals, o.conn_totals);
        a.connections += b.connections;
        for d in 0..2 {
            a.frames[d] += b.frames[d];
            a.bytes[d] += b.bytes[d];
        }
        a.errors += b.errors;
        st.routes.extend(o.routes);
        if st.errors_more > 0 || o.errors_more > 0 {
            return Err(Unmergeable("the error response kinds are full"));
        }
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
        st.consumers.merge(o.consumers)?;
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
    // Each pass kept the audits of its lowest producers, which hold all of the lowest
    // overall: past the cap the highest are folded as one pass folds them.
    st.producer_audits = st
        .producers
        .values()
        .flat_map(|g| g.values())
        .map(|t| t.len())
        .sum();
    while st.producer_audits > MAX_PRODUCERS {
        st.fold_highest_producer();
    }
    // Which kinds one pass would have itemized past the cap is unknown.
    if st.errors.len() > MAX_ERROR_KINDS {
        return Err(Unmergeable("the error response kinds are full"));
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

/// Whether a pass could not name a broker any more (then which picks one pass would have
/// stored is unknown).
fn full_of_brokers(st: &Stats) -> bool {
    st.brokers.len() >= u16::MAX as usize
}

/// One producer's picks on one topic from two passes, as one pass records them: counts
/// added, stored picks merged in the order one pass sees them — by the packet being read
/// when the frame came out, then by (one-pass) stream number, as the dissector flushes
/// streams in that order. Each pass kept its own first 1,024, so the first 1,024 of the
/// merge are the producer's first 1,024.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn audit(picks: impl Iterator<Item = (u64, u64, u16)>) -> ProducerAudit {
        let mut a = ProducerAudit::default();
        for (packet, stream, q) in picks {
            a.sequence.push((0, q));
            a.packets.push((packet, stream));
            a.picks += 1;
        }
        a
    }

    #[test]
    fn merged_picks_are_the_first_ones_in_one_pass_order() {
        // Pass 1 stored 3,001 picks (even packets, then one at 6000), pass 2 3,001 of its
        // 5,000 (odd packets, then one at 6000): the merge keeps the first 1,024 of them in
        // packet order.
        let mut m = audit((0..3000).map(|i| (2 * i, 9, (i % 7) as u16)));
        m.sequence.push((0, 100));
        m.packets.push((6000, 9));
        m.picks += 1;
        let mut o = audit((0..3000).map(|i| (2 * i + 1, 7, (i % 5) as u16)));
        o.sequence.push((0, 200));
        o.packets.push((6000, 7));
        o.picks = 5000;
        merge_audit(&mut m, o).unwrap();
        assert_eq!(m.picks, 3001 + 5000);
        assert_eq!(m.sequence.len(), MAX_SEQUENCE);
        let want: Vec<(u64, u64)> = (0..MAX_SEQUENCE as u64)
            .map(|p| (p, if p % 2 == 0 { 9 } else { 7 }))
            .collect();
        assert_eq!(m.packets, want);
        assert_eq!(m.sequence[3], (0, 1));
        // Frames that came out at one packet (the flush at the end) go by stream.
        let mut m = audit([(6000, 9, 100)].into_iter());
        merge_audit(&mut m, audit([(6000, 7, 200)].into_iter())).unwrap();
        assert_eq!(m.sequence, vec![(0, 200), (0, 100)]);
    }
}
