//! A connection's life in the dissector: flushing at its end, eviction at the flow limits,
//! idle expiry, the buffer budget, and the end of the capture.

use super::*;

impl Dissector {
    pub(super) fn flush_flow<F: FnMut(Event)>(&mut self, flow: &mut Flow, out: &mut F) {
        let opts = self.opts;
        let stream = flow.index;
        let last_packet = flow.last_packet;
        for d in 0..2 {
            let (src, dst) = (flow.ends[d], flow.ends[1 - d]);
            let mut frames = Vec::new();
            let mut problems = Vec::new();
            let peer_remoting = flow.peer_remoting(d);
            let direction = Direction::of(flow, d);
            {
                let dir = &mut flow.dirs[d];
                let half = &mut dir.half;
                let splitter = &mut dir.splitter;
                let mut on_stream = |e: StreamEvent<'_>| {
                    handle_stream_event(
                        e,
                        splitter,
                        false,
                        peer_remoting,
                        &opts,
                        stream,
                        direction,
                        &mut frames,
                        &mut problems,
                    )
                };
                half.flush(&mut on_stream);
                self.totals.retransmitted_bytes += half.stats.retransmitted_bytes;
                self.totals.gap_bytes += half.stats.gap_bytes;
                if let Some(sp) = splitter.as_mut() {
                    self.totals.skipped_bytes +=
                        sp.finish_direction(peer_remoting, last_packet, &mut |e| {
                            collect_split(e, &opts, stream, &mut frames, &mut problems)
                        });
                }
            }
            self.emit_all(frames, stream, src, dst, out);
            for p in problems {
                self.note_problem(&p);
                out(Event::Problem(p));
            }
        }
        if opts.report_ended {
            self.ended.push(stream);
        }
    }

    /// Takes a connection out of the flow table (and out of the half-open set), keeping the
    /// buffered-bytes sum right.
    pub(super) fn remove_flow(&mut self, key: &FlowKey) -> Option<Flow> {
        let flow = self.flows.remove(key)?;
        if !flow.has_data {
            self.half_open.remove(key);
        }
        self.buffered = self.buffered.saturating_sub(flow.buffered());
        Some(flow)
    }

    /// Before a new connection is tracked: under `max_half_open_flows` handshake-only
    /// connections (when the new one carries no payload) and under `max_flows` in all,
    /// forgetting the oldest half-open / the one idle longest first.
    pub(super) fn make_room<F: FnMut(Event)>(&mut self, packet: u64, half_open: bool, out: &mut F) {
        let limits = self.opts.limits;
        if half_open {
            while self.half_open.len() >= limits.max_half_open_flows.max(1) {
                let Some(key) = self.half_open.pop_front() else {
                    break;
                };
                if let Some(flow) = self.flows.remove(&key) {
                    self.totals.evicted_half_open += 1;
                    let why = format!(
                        "more than {} handshake-only connections tracked: forgot the oldest (no payload seen)",
                        limits.max_half_open_flows
                    );
                    self.evicted(packet, flow, why, out);
                }
            }
        }
        while self.flows.len() >= limits.max_flows.max(1) {
            let Some(key) = self.flows.front().map(|(k, _)| *k) else {
                break;
            };
            if let Some(flow) = self.remove_flow(&key) {
                self.totals.evicted_flows += 1;
                let why = format!(
                    "more than {} connections tracked: flushed and forgot the one idle longest (last packet {})",
                    limits.max_flows, flow.last_packet
                );
                self.evicted(packet, flow, why, out);
            }
        }
    }

    /// An evicted connection: reported (the first [`EVICTIONS_REPORTED`] one by one),
    /// flushed like an idle one, and its waiting requests given up as unanswered (a response
    /// would now start a new connection).
    pub(super) fn evicted<F: FnMut(Event)>(
        &mut self,
        packet: u64,
        mut flow: Flow,
        why: String,
        out: &mut F,
    ) {
        self.totals.dropped_by_limits += 1;
        self.last_eviction_packet = packet;
        if self.evictions_reported < EVICTIONS_REPORTED {
            self.evictions_reported += 1;
            out(Event::Problem(Problem {
                packet,
                stream: Some(flow.index),
                kind: ProblemKind::Limit,
                message: why,
            }));
        }
        self.flush_flow(&mut flow, out);
        self.give_up_pending(
            flow.index,
            "its connection was evicted at the flow limit",
            out,
        );
    }

    /// Reports the waiting requests of one connection as unanswered and forgets them.
    pub(super) fn give_up_pending<F: FnMut(Event)>(&mut self, stream: u64, why: &str, out: &mut F) {
        let keys: Vec<PendingKey> = self
            .pending
            .range((stream, 0, i32::MIN)..=(stream, u8::MAX, i32::MAX))
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            if let Some(r) = self.pending.remove(&k) {
                self.totals.unanswered += 1;
                out(Event::Problem(Problem {
                    packet: r.packet,
                    stream: Some(stream),
                    kind: ProblemKind::Unanswered,
                    message: format!(
                        "request {} opaque {} has no response: {why}",
                        crate::remoting::codes::RequestCode(r.code),
                        k.2
                    ),
                }));
            }
        }
    }

    /// Flushes and forgets connections idle for longer than `idle_timeout_ns` of capture
    /// time: those at the front of the flow table (in order of last packet), flushed in
    /// stream order.
    pub(super) fn expire_idle<F: FnMut(Event)>(&mut self, now: i64, out: &mut F) {
        let limit = now.saturating_sub(self.opts.idle_timeout_ns);
        let mut idle: Vec<(u64, FlowKey)> = Vec::new();
        let mut cursor = self.flows.iter();
        for (k, f) in cursor.by_ref() {
            if f.last_ts >= limit {
                break;
            }
            idle.push((f.index, *k));
        }
        idle.sort_unstable();
        for (_, key) in idle {
            if let Some(mut flow) = self.remove_flow(&key) {
                self.flush_flow(&mut flow, out);
            }
        }
    }

    /// Keeps the total of buffered bytes under `max_buffered_total` by giving up the holes
    /// of the flows holding the most. The total is kept per packet; the flows are only
    /// scanned when it is over.
    pub(super) fn enforce_budget<F: FnMut(Event)>(&mut self, packet: u64, out: &mut F) {
        if self.buffered <= self.opts.max_buffered_total {
            return;
        }
        let total: usize = self.flows.values().map(Flow::buffered).sum();
        self.buffered = total;
        if total <= self.opts.max_buffered_total {
            return;
        }
        let mut sizes: Vec<(usize, FlowKey)> =
            self.flows.iter().map(|(k, f)| (f.buffered(), *k)).collect();
        sizes.sort_by_key(|s| std::cmp::Reverse(s.0));
        let mut excess = total - self.opts.max_buffered_total;
        for (size, key) in sizes {
            if excess == 0 {
                break;
            }
            if let Some(mut flow) = self.remove_flow(&key) {
                self.totals.dropped_by_limits += 1;
                out(Event::Problem(Problem {
                    packet,
                    stream: Some(flow.index),
                    kind: ProblemKind::Limit,
                    message: format!(
                        "buffers over the {}-byte total limit: flushed connection holding {size} bytes",
                        self.opts.max_buffered_total
                    ),
                }));
                self.flush_flow(&mut flow, out);
                excess = excess.saturating_sub(size);
            }
        }
    }

    /// End of capture: flush every stream and report requests that were never answered.
    pub fn finish<F: FnMut(Event)>(&mut self, out: &mut F) {
        self.finish_at(None, out)
    }

    /// [`Self::finish`] of a capture that ends at `end` (ns; None: this dissector's last
    /// packet): several files dissected apart and read as one (`stats` of several files)
    /// end at the merged input's last packet, so a request is pending or unanswered as in
    /// the merged capture.
    pub fn finish_at<F: FnMut(Event)>(&mut self, end: Option<i64>, out: &mut F) {
        // In stream order, taken out one at a time: a list of the keys, not a copy of every
        // flow (with the table still allocated, that copy and its sort doubled the peak).
        let mut keys: Vec<(u64, FlowKey)> = self.flows.iter().map(|(k, f)| (f.index, *k)).collect();
        keys.sort_unstable_by_key(|(index, _)| *index);
        for (_, k) in keys {
            if let Some(mut f) = self.flows.remove(&k) {
                self.flush_flow(&mut f, out);
            }
        }
        self.half_open.clear();
        self.closed.clear();
        self.buffered = 0;
        let unreported =
            self.totals.evicted_flows + self.totals.evicted_half_open - self.evictions_reported;
        if unreported > 0 {
            out(Event::Problem(Problem {
                packet: self.last_eviction_packet,
                stream: None,
                kind: ProblemKind::Limit,
                message: format!(
                    "{} connections evicted at the flow limits in all ({} over --max-flows {}, {} handshake-only over {}{}); the first {} reported one by one, {unreported} more not",
                    self.totals.evicted_flows + self.totals.evicted_half_open,
                    self.totals.evicted_flows,
                    self.opts.limits.max_flows,
                    self.totals.evicted_half_open,
                    self.opts.limits.max_half_open_flows,
                    match self.opts.shard {
                        Some(sh) if sh.count > 1 =>
                            format!("; this pass's share, 1/{} of each limit", sh.count),
                        _ => String::new(),
                    },
                    self.evictions_reported,
                ),
            }));
        }
        let mut left: Vec<(PendingKey, RequestRef)> =
            std::mem::take(&mut self.pending).into_iter().collect();
        left.sort_by_key(|(_, r)| r.packet);
        // Still within its timeout at the capture's last packet: pending, not unanswered.
        let end = end.or(self.totals.last_ts).unwrap_or(i64::MIN);
        for ((stream, _, opaque), r) in left {
            let waited_ms = end.saturating_sub(r.ts) / 1_000_000;
            let (kind, message) = if waited_ms <= r.timeout_ms {
                self.totals.pending_at_end += 1;
                (
                    ProblemKind::Pending,
                    format!(
                        "request {} opaque {opaque} pending at the end of the capture: sent {waited_ms} ms before its last packet, within its {} timeout of {} ms",
                        crate::remoting::codes::RequestCode(r.code),
                        if r.long_poll { "long-poll" } else { "default" },
                        r.timeout_ms
                    ),
                )
            } else {
                self.totals.unanswered += 1;
                (
                    ProblemKind::Unanswered,
                    format!(
                        "request {} opaque {opaque} has no response in the capture",
                        crate::remoting::codes::RequestCode(r.code)
                    ),
                )
            };
            out(Event::Problem(Problem {
                packet: r.packet,
                stream: Some(stream),
                kind,
                message,
            }));
        }
        self.pending_order.clear();
    }
}

impl Flow {
    pub(super) fn buffered(&self) -> usize {
        self.dirs.iter().map(Dir::buffered).sum()
    }
}

impl Dir {
    pub(super) fn new(l: StreamLimits) -> Self {
        Self {
            half: HalfStream::new(l),
            splitter: None,
        }
    }
    pub(super) fn buffered(&self) -> usize {
        self.half.pending_bytes() + self.splitter.as_ref().map(|s| s.buffered()).unwrap_or(0)
    }
}
