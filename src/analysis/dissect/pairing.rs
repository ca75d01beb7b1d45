//! Frames given out, and paired: a request waits (by connection, direction and opaque) for
//! its response; a response takes its request, or is reported `unmatched`.

use super::*;

impl Dissector {
    pub(super) fn note_problem(&mut self, p: &Problem) {
        if p.kind == ProblemKind::Gap {
            self.totals.gaps += 1;
        }
    }

    /// Emits frames of one direction (src → dst) of a connection.
    // Called per packet from `handle_packet` in the parent module: inlined there as it was
    // before the split (another codegen unit otherwise).
    #[inline]
    pub(super) fn emit_all<F: FnMut(Event), I: IntoIterator<Item = FrameTuple>>(
        &mut self,
        frames: I,
        stream: u64,
        src: SocketAddr,
        dst: SocketAddr,
        out: &mut F,
    ) {
        for (res, packet, last_packet, fts, offset, len, body_len, wire) in frames {
            self.emit_frame(
                stream,
                src,
                dst,
                res,
                packet,
                last_packet,
                fts,
                offset,
                (len, body_len),
                wire,
                out,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(super) fn emit_frame<F: FnMut(Event)>(
        &mut self,
        stream: u64,
        src: SocketAddr,
        dst: SocketAddr,
        res: Result<RemotingCommand, FrameError>,
        packet: u64,
        last_packet: u64,
        ts: i64,
        offset: u64,
        (frame_len, body_len): (usize, usize),
        wire: Option<Vec<u8>>,
        out: &mut F,
    ) {
        self.totals.frames += 1;
        let mut request = None;
        let dir = if src <= dst { 0u8 } else { 1u8 };
        if let Ok(cmd) = &res
            && cmd.ext_fields_dropped > 0
        {
            self.totals.dropped_by_limits += 1;
            out(Event::Problem(Problem {
                packet,
                stream: Some(stream),
                kind: ProblemKind::Limit,
                message: format!(
                    "extFields: {} entries past the limit of {} dropped (the first {} kept) in the frame at stream offset {offset}",
                    cmd.ext_fields_dropped,
                    self.opts.limits.max_ext_fields,
                    self.opts.limits.max_ext_fields
                ),
            }));
        }
        match &res {
            Ok(cmd) => match cmd.kind() {
                Kind::Request => {
                    self.totals.requests += 1;
                    let key = (stream, dir, cmd.opaque);
                    if self.pending.len() >= self.opts.max_pending_requests {
                        while let Some(old) = self.pending_order.pop_front() {
                            if let Some(r) = self.pending.remove(&old) {
                                self.totals.dropped_by_limits += 1;
                                out(Event::Problem(Problem {
                                    packet: r.packet,
                                    stream: Some(old.0),
                                    kind: ProblemKind::Limit,
                                    message: format!(
                                        "request opaque {} given up unanswered: more than {} requests pending",
                                        old.2, self.opts.max_pending_requests
                                    ),
                                }));
                                break;
                            }
                        }
                    }
                    let topic = match cmd.code {
                        310 | 320 | 325 => cmd.ext("b"),
                        _ => cmd.ext("topic"),
                    }
                    .map(Into::into);
                    if let Some(prev) = self.pending.insert(key, {
                        let wait = long_poll_ms(cmd);
                        RequestRef {
                            packet,
                            code: cmd.code,
                            ts,
                            topic,
                            long_poll: wait.is_some(),
                            timeout_ms: wait.map_or(DEFAULT_TIMEOUT_MS, |w| {
                                w.saturating_add(LONG_POLL_SLACK_MS)
                            }),
                        }
                    }) {
                        self.totals.unanswered += 1;
                        out(Event::Problem(Problem {
                            packet: prev.packet,
                            stream: Some(stream),
                            kind: ProblemKind::Unanswered,
                            message: format!(
                                "request {} opaque {} has no response before packet {packet} reused the opaque",
                                crate::remoting::codes::RequestCode(prev.code),
                                cmd.opaque
                            ),
                        }));
                    }
                    self.pending_order.push_back(key);
                    // Answered requests and reused opaques leave stale or repeated keys
                    // behind: compact now and then (keeping the newest copy of each pending
                    // key), so the queue stays proportional to what is really pending and
                    // the work per request stays amortised O(1), also when every request
                    // reuses one opaque.
                    if self.pending_order.len() > 2 * self.pending.len() + 1024 {
                        let pending = &self.pending;
                        let mut seen = HashSet::with_capacity(pending.len());
                        let mut kept: std::collections::VecDeque<PendingKey> = self
                            .pending_order
                            .iter()
                            .rev()
                            .filter(|k| pending.contains_key(*k) && seen.insert(**k))
                            .copied()
                            .collect();
                        kept.make_contiguous().reverse();
                        self.pending_order = kept;
                    }
                }
                Kind::Oneway => self.totals.oneways += 1,
                Kind::Response => {
                    self.totals.responses += 1;
                    request = self.pending.remove(&(stream, 1 - dir, cmd.opaque));
                    if let Some(q) = request.as_ref().filter(|q| ts < q.ts) {
                        out(Event::Problem(clock_stepped_back(
                            packet, stream, ts, cmd, q,
                        )));
                    }
                    if request.is_none() {
                        // Its request is not in the capture: sent before the capture
                        // started (a connection picked up mid-way), lost in a gap, or given
                        // up at a limit; or a response nobody asked for.
                        self.totals.unmatched_responses += 1;
                        out(Event::Problem(Problem {
                            packet,
                            stream: Some(stream),
                            kind: ProblemKind::Unmatched,
                            message: format!(
                                "response {} opaque {} answers no request in the capture",
                                crate::remoting::codes::ResponseCode(cmd.code),
                                cmd.opaque
                            ),
                        }));
                    }
                }
            },
            Err(e) => {
                // One located problem per undecodable frame; the frame was delimited by its
                // length, so the frames after it still decode.
                self.totals.undecodable += 1;
                out(Event::Problem(Problem {
                    packet,
                    stream: Some(stream),
                    kind: ProblemKind::Frame,
                    message: format!(
                        "undecodable frame of {frame_len} bytes at stream offset {offset}: {e}; skipped by its length"
                    ),
                }));
            }
        }
        out(Event::Frame(Box::new(FrameRecord {
            packet,
            last_packet,
            ts,
            stream,
            src,
            dst,
            offset,
            frame_len,
            body_len,
            command: res,
            request,
            wire,
        })));
    }
}

/// The `clock` problem of a response timestamped before its request (at the response's
/// packet, both packets and times named): its latency is left out of every figure
/// ([`super::FrameRecord::latency_us`] is `None`).
fn clock_stepped_back(
    packet: u64,
    stream: u64,
    ts: i64,
    cmd: &RemotingCommand,
    q: &RequestRef,
) -> Problem {
    use crate::output::format_ts;
    Problem {
        packet,
        stream: Some(stream),
        kind: ProblemKind::Clock,
        message: format!(
            "response {} opaque {} at {} is timestamped {} µs before its request {} at packet {} ({}): the capture's clock stepped back; no latency for this pair",
            crate::remoting::codes::ResponseCode(cmd.code),
            cmd.opaque,
            format_ts(ts),
            (q.ts - ts) / 1000,
            crate::remoting::codes::RequestCode(q.code),
            q.packet,
            format_ts(q.ts)
        ),
    }
}
