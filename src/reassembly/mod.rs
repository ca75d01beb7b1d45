//! TCP reassembly, one direction at a time. Knows nothing of RocketMQ: it turns segments
//! (sequence number, payload, packet number) into in-order stream bytes and gaps.
//!
//! Sequence numbers are compared with wrapping arithmetic relative to the next expected
//! byte, so streams longer than 4 GiB and wrapped ISNs work. Retransmitted and overlapping
//! bytes are delivered once (the first copy wins, as in most stacks). Out-of-order segments
//! wait in a bounded buffer; when it is full, or at the end, the hole is declared a gap and
//! delivery goes on past it.
//!
//! Two copies of the same bytes that differ are reported ([`StreamEvent::Conflict`], naming
//! both packets and the copy delivered) whenever both copies are held at once: a segment
//! overlapping out-of-order segments still waiting. Only the overlapping bytes are compared
//! (one `memcmp`), so identical retransmissions cost little. A retransmission of bytes
//! already delivered is not compared: those bytes are no longer held.

use std::collections::BTreeMap;

/// A capture timestamp in nanoseconds since the Unix epoch.
pub type Ts = i64;

/// Limits for one direction.
#[derive(Clone, Copy, Debug)]
pub struct StreamLimits {
    /// Most out-of-order bytes held before the hole is given up as a gap.
    pub max_out_of_order: usize,
    /// Segments further ahead than this are treated as garbage, not buffered.
    pub max_window: u64,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            max_out_of_order: 4 << 20,
            max_window: 1 << 30,
        }
    }
}

/// What one segment (or a flush) produced.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEvent<'a> {
    /// In-order bytes at this stream offset, from this packet.
    Data {
        offset: u64,
        bytes: &'a [u8],
        packet: u64,
        ts: Ts,
    },
    /// Bytes `offset .. offset+len` were never seen; `packet` is the one after the hole.
    Gap { offset: u64, len: u64, packet: u64 },
    /// Two packets carry different bytes for the stream bytes `offset .. offset+len`
    /// (their overlap); `first_difference` is the stream offset of the first byte that
    /// differs, when both copies were held (`None`: the first copy had been delivered and
    /// only its checksum was kept, see [`HalfStream`]). The copy of packet `used` is the one
    /// delivered, that of `other` is dropped.
    Conflict {
        offset: u64,
        len: u64,
        first_difference: Option<u64>,
        used: u64,
        other: u64,
    },
}

/// Counters for one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    pub segments: u64,
    pub bytes: u64,
    pub retransmitted_bytes: u64,
    pub out_of_order_segments: u64,
    pub gap_bytes: u64,
    pub gaps: u64,
    /// Segments dropped because they lay beyond `max_window`.
    pub dropped_segments: u64,
    /// Overlapping copies with different bytes (see [`StreamEvent::Conflict`]).
    pub conflicts: u64,
}

/// A delivered segment remembered by its CRC-32, so that a later retransmission of the same
/// stream bytes can be told apart from one that carries different bytes after the bytes
/// themselves were handed on (the common case: the original arrived in order).
#[derive(Clone, Copy, Debug, Default)]
struct Recent {
    offset: u64,
    len: u32,
    crc: u32,
    packet: u64,
}

/// How many delivered segments each direction remembers (retransmissions repeat the last
/// unacknowledged ones): 4 × 24 bytes a direction.
const RECENT: usize = 4;

#[derive(Debug)]
struct Pending {
    data: Vec<u8>,
    packet: u64,
    ts: Ts,
}

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct HalfStream {
    started: bool,
    /// The SYN was seen, so offset 0 is the first byte the sender wrote.
    pub saw_syn: bool,
    next_seq: u32,
    delivered: u64,
    pending: BTreeMap<u64, Pending>,
    pending_bytes: usize,
    /// Highest stream offset the peer has acknowledged.
    acked_to: Option<u64>,
    /// The packet whose ACK moved `acked_to` there.
    acked_packet: u64,
    /// Last packet that carried data for this direction.
    last_packet: u64,
    pub fin: bool,
    pub rst: bool,
    pub stats: StreamStats,
    limits: StreamLimits,
    /// The last delivered segments, by checksum (a ring; `recent_next` is the oldest).
    recent: [Recent; RECENT],
    recent_next: u8,
}

impl HalfStream {
    pub fn new(limits: StreamLimits) -> Self {
        Self {
            limits,
            ..Default::default()
        }
    }

    /// Stream offset of the next byte to deliver.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Bytes waiting out of order.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Feeds one segment; `out` receives data and gaps in order.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_segment<F: FnMut(StreamEvent<'_>)>(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        rst: bool,
        payload: &[u8],
        packet: u64,
        ts: Ts,
        out: &mut F,
    ) {
        self.rst |= rst;
        if syn {
            if !self.started || (!self.saw_syn && self.delivered == 0) {
                self.started = true;
                self.saw_syn = true;
                self.next_seq = seq.wrapping_add(1);
                self.delivered = 0;
            }
            // Data on a SYN (TFO) starts at seq+1.
            if payload.is_empty() {
                return;
            }
            return self.handle_segment(
                seq.wrapping_add(1),
                false,
                fin,
                rst,
                payload,
                packet,
                ts,
                out,
            );
        }
        if payload.is_empty() {
            if fin {
                self.fin = true;
            }
            return;
        }
        if !self.started {
            self.started = true;
            self.next_seq = seq;
        }
        self.stats.segments += 1;
        self.last_packet = packet;
        let diff = seq.wrapping_sub(self.next_seq) as i32 as i64;
        let start = self.delivered as i64 + diff;
        let end = start + payload.len() as i64;
        if end <= self.delivered as i64 {
            self.stats.retransmitted_bytes += payload.len() as u64;
            self.compare_recent(start, payload, packet, out);
            return;
        }
        if start <= self.delivered as i64 {
            let skip = (self.delivered as i64 - start) as usize;
            self.stats.retransmitted_bytes += skip as u64;
            self.compare_recent(start, &payload[..skip], packet, out);
            // Waiting segments this one overlaps are skipped in their overlap when drained:
            // this copy is the one delivered.
            self.compare_pending(self.delivered, &payload[skip..], packet, |_, _| true, out);
            self.deliver(&payload[skip..], packet, ts, out);
            self.drain(out);
        } else {
            let ahead = (start - self.delivered as i64) as u64;
            if ahead > self.limits.max_window {
                self.stats.dropped_segments += 1;
                return;
            }
            self.stats.out_of_order_segments += 1;
            let key = start as u64;
            // Which copy of an overlap is delivered: the segment starting first (drain
            // delivers in offset order); at the same start, the longer one (kept below),
            // the waiting one on a tie.
            let len = payload.len();
            self.compare_pending(
                key,
                payload,
                packet,
                |k, l| k > key || (k == key && l < len),
                out,
            );
            let keep = match self.pending.get(&key) {
                Some(p) => p.data.len() < payload.len(),
                None => true,
            };
            if keep {
                if let Some(old) = self.pending.insert(
                    key,
                    Pending {
                        data: payload.to_vec(),
                        packet,
                        ts,
                    },
                ) {
                    self.pending_bytes -= old.data.len();
                }
                self.pending_bytes += payload.len();
            } else {
                self.stats.retransmitted_bytes += payload.len() as u64;
            }
            self.gap_if_acked(out);
            if self.pending_bytes > self.limits.max_out_of_order {
                self.skip_gap(out);
            }
        }
        if fin {
            self.fin = true;
        }
    }

    /// Compares `data` (at stream offset `at`, from `packet`) with the waiting segments it
    /// overlaps, and reports each that differs. `new_used(key, len)` says whether this copy
    /// or the waiting one at `key` of `len` bytes is delivered. Waiting segments starting
    /// inside `data` are all looked at; before it, those reaching into it, walking back
    /// from the nearest.
    fn compare_pending<F: FnMut(StreamEvent<'_>)>(
        &mut self,
        at: u64,
        data: &[u8],
        packet: u64,
        new_used: impl Fn(u64, usize) -> bool,
        out: &mut F,
    ) {
        if self.pending.is_empty() || data.is_empty() {
            return;
        }
        let end = at + data.len() as u64;
        let before = self
            .pending
            .range(..at)
            .rev()
            .take_while(|(k, p)| *k + p.data.len() as u64 > at);
        let inside = self.pending.range(at..end);
        for (&k, p) in before.chain(inside) {
            let (lo, hi) = (k.max(at), (k + p.data.len() as u64).min(end));
            if lo >= hi {
                continue;
            }
            let mine = &data[(lo - at) as usize..(hi - at) as usize];
            let theirs = &p.data[(lo - k) as usize..(hi - k) as usize];
            if mine == theirs {
                continue;
            }
            let d = mine
                .iter()
                .zip(theirs)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            let (used, other) = if new_used(k, p.data.len()) {
                (packet, p.packet)
            } else {
                (p.packet, packet)
            };
            self.stats.conflicts += 1;
            out(StreamEvent::Conflict {
                offset: lo,
                len: hi - lo,
                first_difference: Some(lo + d as u64),
                used,
                other,
            });
        }
    }

    /// Compares a retransmitted copy of delivered bytes (`data` at stream offset `at`, which
    /// may be negative for bytes before the first one seen) with the remembered segments it
    /// covers whole, by CRC-32, and reports each that differs; the delivered copy was used.
    fn compare_recent<F: FnMut(StreamEvent<'_>)>(
        &mut self,
        at: i64,
        data: &[u8],
        packet: u64,
        out: &mut F,
    ) {
        let end = at + data.len() as i64;
        for i in 0..RECENT {
            let r = self.recent[i];
            let (lo, hi) = (r.offset as i64, r.offset as i64 + r.len as i64);
            if r.len == 0 || r.packet == packet || lo < at || hi > end {
                continue;
            }
            let copy = &data[(lo - at) as usize..(hi - at) as usize];
            if crc32fast::hash(copy) == r.crc {
                continue;
            }
            self.stats.conflicts += 1;
            out(StreamEvent::Conflict {
                offset: r.offset,
                len: r.len as u64,
                first_difference: None,
                used: r.packet,
                other: packet,
            });
        }
    }

    fn deliver<F: FnMut(StreamEvent<'_>)>(
        &mut self,
        bytes: &[u8],
        packet: u64,
        ts: Ts,
        out: &mut F,
    ) {
        out(StreamEvent::Data {
            offset: self.delivered,
            bytes,
            packet,
            ts,
        });
        self.recent[self.recent_next as usize] = Recent {
            offset: self.delivered,
            len: bytes.len() as u32,
            crc: crc32fast::hash(bytes),
            packet,
        };
        self.recent_next = (self.recent_next + 1) % RECENT as u8;
        self.delivered += bytes.len() as u64;
        self.next_seq = self.next_seq.wrapping_add(bytes.len() as u32);
        self.stats.bytes += bytes.len() as u64;
    }

    /// Delivers pending segments that have become in-order.
    fn drain<F: FnMut(StreamEvent<'_>)>(&mut self, out: &mut F) {
        while let Some((&key, _)) = self.pending.first_key_value() {
            if key > self.delivered {
                break;
            }
            let Some((_, p)) = self.pending.pop_first() else {
                break;
            };
            self.pending_bytes -= p.data.len();
            let end = key + p.data.len() as u64;
            if end <= self.delivered {
                self.stats.retransmitted_bytes += p.data.len() as u64;
                continue;
            }
            let skip = (self.delivered - key) as usize;
            self.stats.retransmitted_bytes += skip as u64;
            self.deliver(&p.data[skip..], p.packet, p.ts, out);
        }
    }

    /// Gives up on the first hole: reports it and delivers what follows.
    fn skip_gap<F: FnMut(StreamEvent<'_>)>(&mut self, out: &mut F) {
        if let Some((&key, p)) = self.pending.first_key_value() {
            let (len, packet) = (key - self.delivered, p.packet);
            self.skip(len, packet, out);
        }
    }

    /// Declares the next `len` bytes lost: reports the gap, moves past it, and delivers
    /// whatever waited behind it.
    fn skip<F: FnMut(StreamEvent<'_>)>(&mut self, len: u64, packet: u64, out: &mut F) {
        out(StreamEvent::Gap {
            offset: self.delivered,
            len,
            packet,
        });
        self.stats.gaps += 1;
        self.stats.gap_bytes += len;
        self.delivered += len;
        self.next_seq = self.next_seq.wrapping_add(len as u32);
        self.drain(out);
    }

    /// The peer acknowledged everything before `ack`. Bytes up to there that the capture
    /// has not delivered were received by the peer: once data after them has been captured
    /// too (now or later), the capture lost them, and the hole is declared a gap at once
    /// instead of waiting for the buffer limit or the end. An ACK alone, with nothing
    /// captured beyond the hole, declares nothing: a capture that merely put a segment
    /// after its ACK stays gap-free.
    /// `packet` is the packet carrying the ACK: a hole found only at the end is located there.
    pub fn handle_ack<F: FnMut(StreamEvent<'_>)>(&mut self, ack: u32, packet: u64, out: &mut F) {
        if !self.started {
            return;
        }
        let diff = ack.wrapping_sub(self.next_seq) as i32;
        if diff <= 0 {
            return;
        }
        let to = self.delivered + diff as u64;
        if self.acked_to.is_none_or(|a| a < to) {
            self.acked_to = Some(to);
            self.acked_packet = packet;
        }
        // Data beyond the hole was captured already: the hole is a capture loss.
        self.gap_if_acked(out);
    }

    /// Declares the hole before the first pending segment when the peer has acknowledged it.
    fn gap_if_acked<F: FnMut(StreamEvent<'_>)>(&mut self, out: &mut F) {
        let (Some(acked), Some((&first, p))) = (self.acked_to, self.pending.first_key_value())
        else {
            return;
        };
        let hole_end = first.min(acked);
        if hole_end <= self.delivered {
            return;
        }
        let (len, packet) = (hole_end - self.delivered, p.packet);
        self.skip(len, packet, out);
    }

    /// The capture promised `missing` more bytes after the `present` bytes of the segment
    /// at `seq` but does not hold them (snap length): when they are the next bytes to
    /// deliver, declare them a gap right away.
    pub fn declare_lost<F: FnMut(StreamEvent<'_>)>(
        &mut self,
        seq: u32,
        present: usize,
        missing: u32,
        packet: u64,
        out: &mut F,
    ) {
        if missing == 0 || seq.wrapping_add(present as u32) != self.next_seq {
            return;
        }
        self.skip(missing as u64, packet, out);
    }

    /// End of the capture or of the connection: every remaining hole becomes a gap, and so
    /// do bytes the peer acknowledged that the capture never held.
    pub fn flush<F: FnMut(StreamEvent<'_>)>(&mut self, out: &mut F) {
        while !self.pending.is_empty() {
            self.skip_gap(out);
        }
        if let Some(a) = self.acked_to {
            // A FIN takes one sequence number that carries no data. When the capture missed
            // the FIN, the peer's acknowledgement of it is exactly one past the delivered
            // bytes: that sequence number is the FIN, not a lost byte.
            let fin = self.fin || a == self.delivered + 1;
            let end = if fin { a.saturating_sub(1) } else { a };
            if end > self.delivered {
                // Located at the ACK that showed the bytes were sent.
                let at = self.acked_packet.max(self.last_packet);
                self.skip(end - self.delivered, at, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(h: &mut HalfStream, segs: &[(u32, &[u8])]) -> (Vec<u8>, Vec<(u64, u64)>) {
        let mut data = Vec::new();
        let mut gaps = Vec::new();
        let mut f = |e: StreamEvent<'_>| match e {
            StreamEvent::Data { offset, bytes, .. } => {
                assert_eq!(
                    offset as usize,
                    data.len()
                        + gaps
                            .iter()
                            .map(|g: &(u64, u64)| g.1 as usize)
                            .sum::<usize>()
                );
                data.extend_from_slice(bytes)
            }
            StreamEvent::Gap { offset, len, .. } => gaps.push((offset, len)),
            StreamEvent::Conflict { .. } => {}
        };
        for (i, (seq, p)) in segs.iter().enumerate() {
            h.handle_segment(*seq, false, false, false, p, i as u64 + 1, 0, &mut f);
        }
        h.flush(&mut f);
        (data, gaps)
    }

    #[test]
    fn reorder_retransmit_overlap() {
        let mut h = HalfStream::new(StreamLimits::default());
        let (d, g) = run(
            &mut h,
            &[
                (100, b"abc"),
                (106, b"ghi"),
                (103, b"def"),
                (101, b"bcdefg"),
                (109, b"j"),
            ],
        );
        assert_eq!(d, b"abcdefghij");
        assert!(g.is_empty());
        // Every overlap there carried the same bytes.
        assert_eq!(h.stats.conflicts, 0);
    }

    /// A conflict as (offset, len, first difference, used, other).
    type Seen = (u64, u64, Option<u64>, u64, u64);

    /// The delivered bytes and the conflicts.
    fn conflicts(segs: &[(u32, &[u8])]) -> (Vec<u8>, Vec<Seen>) {
        let mut h = HalfStream::new(StreamLimits::default());
        let mut data = Vec::new();
        let mut c = Vec::new();
        let mut f = |e: StreamEvent<'_>| match e {
            StreamEvent::Data { bytes, .. } => data.extend_from_slice(bytes),
            StreamEvent::Gap { .. } => panic!("no gap here"),
            StreamEvent::Conflict {
                offset,
                len,
                first_difference,
                used,
                other,
            } => c.push((offset, len, first_difference, used, other)),
        };
        for (i, (seq, p)) in segs.iter().enumerate() {
            h.handle_segment(*seq, false, false, false, p, i as u64 + 1, 0, &mut f);
        }
        h.flush(&mut f);
        assert_eq!(h.stats.conflicts, c.len() as u64);
        (data, c)
    }

    #[test]
    fn conflicting_copies_are_reported_with_the_copy_used() {
        // Two waiting copies at the same offset, same length: the first one is kept.
        let (d, c) = conflicts(&[(100, b"abc"), (106, b"ghi"), (106, b"gXi"), (103, b"def")]);
        assert_eq!(d, b"abcdefghi");
        assert_eq!(c, [(6, 3, Some(7), 2, 3)]);
        // A longer copy at the same offset replaces the waiting one: it is used.
        let (d, c) = conflicts(&[(100, b"abc"), (106, b"ghi"), (106, b"gXij"), (103, b"def")]);
        assert_eq!(d, b"abcdefgXij");
        assert_eq!(c, [(6, 3, Some(7), 3, 2)]);
        // The in-order segment is delivered; the waiting copy's overlap is dropped.
        let (d, c) = conflicts(&[(100, b"abc"), (106, b"ghij"), (103, b"defgXi")]);
        assert_eq!(d, b"abcdefgXij");
        assert_eq!(c, [(6, 3, Some(7), 3, 2)]);
        // A waiting segment starting earlier wins the overlap; one starting later loses it,
        // also when the new copy spans several waiting ones.
        let (d, c) = conflicts(&[
            (100, b"a"),
            (103, b"defg"),
            (108, b"ij"),
            (105, b"FgHiJ"),
            (101, b"bc"),
        ]);
        assert_eq!(d, b"abcdefgHiJ");
        assert_eq!(c, [(5, 2, Some(5), 2, 4), (8, 2, Some(9), 4, 3)]);
    }

    #[test]
    fn retransmissions_of_delivered_bytes_are_compared_by_checksum() {
        // The original arrived in order and was handed on; the copy differs: reported, the
        // delivered copy (packet 2) used.
        let (d, c) = conflicts(&[(100, b"abc"), (103, b"def"), (103, b"dXf")]);
        assert_eq!(d, b"abcdef");
        assert_eq!(c, [(3, 3, None, 2, 3)]);
        // The same bytes again: nothing to report.
        let (_, c) = conflicts(&[(100, b"abc"), (103, b"def"), (103, b"def"), (100, b"abc")]);
        assert!(c.is_empty());
        // One copy covering two delivered segments, the second of which differs; and a
        // partial retransmission that also brings new bytes.
        let (d, c) = conflicts(&[(100, b"abc"), (103, b"def"), (100, b"abcdeF")]);
        assert_eq!(d, b"abcdef");
        assert_eq!(c, [(3, 3, None, 2, 3)]);
        let (d, c) = conflicts(&[(100, b"abc"), (103, b"def"), (103, b"Defghi")]);
        assert_eq!(d, b"abcdefghi");
        assert_eq!(c, [(3, 3, None, 2, 3)]);
        // A copy that covers a delivered segment only in part cannot be compared.
        let (_, c) = conflicts(&[(100, b"abcdef"), (102, b"cX")]);
        assert!(c.is_empty());
    }

    #[test]
    fn wraparound() {
        let mut h = HalfStream::new(StreamLimits::default());
        let (d, _) = run(&mut h, &[(u32::MAX - 1, b"ab"), (0, b"cd")]);
        assert_eq!(d, b"abcd");
    }

    #[test]
    fn out_of_order_memory_is_bounded() {
        let limits = StreamLimits {
            max_out_of_order: 10_000,
            ..Default::default()
        };
        let mut h = HalfStream::new(limits);
        let mut gaps = Vec::new();
        let mut delivered = 0usize;
        let mut f = |e: StreamEvent<'_>| match e {
            StreamEvent::Data { bytes, .. } => delivered += bytes.len(),
            StreamEvent::Gap { offset, len, .. } => gaps.push((offset, len)),
            StreamEvent::Conflict { .. } => {}
        };
        h.handle_segment(0, false, false, false, b"x", 1, 0, &mut f);
        // The byte at 1 is lost; 1000-byte segments keep coming after it.
        let seg = vec![7u8; 1000];
        for i in 0..50u32 {
            h.handle_segment(
                2 + i * 1000,
                false,
                false,
                false,
                &seg,
                2 + i as u64,
                0,
                &mut f,
            );
            assert!(
                h.pending_bytes() <= 10_000 + 1000,
                "held {}",
                h.pending_bytes()
            );
        }
        // The hole was given up as soon as the buffer filled, and delivery went on past it.
        assert_eq!(gaps, vec![(1, 1)]);
        assert_eq!(delivered, 1 + 50_000);
        assert_eq!(h.stats.gap_bytes, 1);
    }

    #[test]
    fn acked_hole_is_declared_when_later_data_arrives() {
        let mut h = HalfStream::new(StreamLimits::default());
        let mut ev = Vec::new();
        let mut f = |e: StreamEvent<'_>| {
            ev.push(match e {
                StreamEvent::Data { offset, bytes, .. } => format!("data {offset}+{}", bytes.len()),
                StreamEvent::Gap { offset, len, .. } => format!("gap {offset}+{len}"),
                StreamEvent::Conflict { .. } => "conflict".into(),
            })
        };
        h.handle_segment(100, false, false, false, b"abc", 1, 0, &mut f);
        // The peer acknowledges up to 110: bytes 103..110 were sent; the capture has none.
        h.handle_ack(110, 2, &mut f);
        // Later data beyond the hole: the hole is declared and the data delivered at once.
        h.handle_segment(110, false, false, false, b"xyz", 2, 0, &mut f);
        // Reordered capture: the ACK comes before the segment it acknowledges, which then
        // arrives in order — no gap.
        h.handle_ack(116, 3, &mut f);
        h.handle_segment(113, false, false, false, b"uvw", 3, 0, &mut f);
        // Data captured beyond a hole first, then the ACK covering the hole: declared at the ACK.
        h.handle_segment(120, false, false, false, b"q", 4, 0, &mut f);
        h.handle_ack(121, 5, &mut f);
        assert_eq!(
            ev,
            vec![
                "data 0+3",
                "gap 3+7",
                "data 10+3",
                "data 13+3",
                "gap 16+4",
                "data 20+1"
            ]
        );
    }

    #[test]
    fn gap_reported_at_flush() {
        let mut h = HalfStream::new(StreamLimits::default());
        let (d, g) = run(&mut h, &[(1, b"ab"), (10, b"xy")]);
        assert_eq!(d, b"abxy");
        assert_eq!(g, vec![(2, 7)]);
    }

    /// The peer acknowledges the sender's FIN, which the capture missed: its sequence number
    /// is not a lost byte. Bytes acknowledged beyond it are, located at the ACK's packet.
    #[test]
    fn lost_fin_is_not_a_gap_and_end_holes_are_located_at_the_ack() {
        let gaps = |acks: &[(u32, u64)]| {
            let mut h = HalfStream::new(StreamLimits::default());
            let mut g = Vec::new();
            let mut f = |e: StreamEvent<'_>| {
                if let StreamEvent::Gap {
                    offset,
                    len,
                    packet,
                } = e
                {
                    g.push((offset, len, packet));
                }
            };
            h.handle_segment(100, false, false, false, b"abc", 4, 0, &mut f);
            for &(ack, packet) in acks {
                h.handle_ack(ack, packet, &mut f);
            }
            h.flush(&mut f);
            g
        };
        // FIN at 103 not captured; the peer's FIN/ACK (packet 6) acknowledges 104.
        assert_eq!(gaps(&[(103, 5), (104, 6)]), []);
        // Seven bytes after "abc" acknowledged by packet 9 but never captured.
        assert_eq!(gaps(&[(103, 5), (110, 9)]), [(3, 7, 9)]);
    }
}
