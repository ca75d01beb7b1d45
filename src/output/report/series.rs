//! What the report draws over time beyond the statistics' own time buckets: per interval,
//! each request code's frames, messages and bytes and each response code's count, and a
//! log-scale latency histogram. Fed frame by frame beside [`Stats`] in the same pass
//! ([`crate::stats_pass_observed`]); memory is bounded: at most [`MAX_BUCKETS`] intervals
//! (coarser intervals are chosen as the capture goes on) and [`MAX_SERIES`] codes of each
//! kind (the others are counted together as "other").

use std::collections::BTreeMap;

use crate::analysis::FrameRecord;
use crate::analysis::stats::{Bucket, Histogram, Stats};
use crate::remoting::command::Kind;

/// Intervals kept at most while the pass goes on: past them the next coarser interval of
/// [`LADDER_NS`] is taken and the buckets merged.
pub const MAX_BUCKETS: usize = 480;
/// Intervals aimed at for the whole capture when no --interval is given.
pub const TARGET_BUCKETS: i64 = 120;
/// Request codes and response codes drawn separately (the rest as [`OTHER`]).
pub const MAX_SERIES: usize = 24;
/// The key of the codes past [`MAX_SERIES`].
pub const OTHER: i32 = i32::MIN;

const MS: i64 = 1_000_000;
const S: i64 = 1_000 * MS;
/// The intervals chosen from, each a multiple of the one before (so a bucket of one lies
/// inside one bucket of the next, and merging them is exact).
pub const LADDER_NS: [i64; 19] = [
    MS,
    2 * MS,
    10 * MS,
    20 * MS,
    100 * MS,
    200 * MS,
    S,
    2 * S,
    10 * S,
    20 * S,
    60 * S,
    120 * S,
    600 * S,
    1_200 * S,
    3_600 * S,
    7_200 * S,
    21_600 * S,
    86_400 * S,
    7 * 86_400 * S,
];

/// One request code in one interval: frames (requests and their responses), messages sent,
/// frame bytes, and the latency of its answered requests (long polls apart, as in `stats`).
#[derive(Clone, Debug, Default)]
pub struct CodeBucket {
    pub frames: u64,
    pub requests: u64,
    pub messages: u64,
    pub bytes: u64,
    pub latency: Histogram,
}

/// Latencies in powers of two of microseconds: bin `i` holds `[2^(i-1), 2^i)` µs, bin 0
/// holds 0 µs.
pub const LATENCY_BINS: usize = 48;

/// The report's series.
#[derive(Clone, Debug)]
pub struct Series {
    /// The interval (ns); fixed when given, else moved up [`LADDER_NS`].
    pub interval_ns: i64,
    fixed: bool,
    /// Interval start → request code → counts.
    pub by_code: BTreeMap<i64, BTreeMap<i32, CodeBucket>>,
    /// Interval start → response code → responses.
    pub by_response: BTreeMap<i64, BTreeMap<i32, u64>>,
    /// Codes drawn separately, in order of first appearance.
    pub request_codes: Vec<i32>,
    pub response_codes: Vec<i32>,
    pub latency_bins: [u64; LATENCY_BINS],
    /// `Stats::messages` at the last frame: the difference is the frame's messages.
    messages_seen: u64,
}

impl Series {
    /// `interval_ns`: the interval asked for (kept), or none (chosen from the span).
    pub fn new(interval_ns: Option<i64>) -> Self {
        let fixed = interval_ns.is_some_and(|i| i > 0);
        Self {
            interval_ns: interval_ns.filter(|&i| i > 0).unwrap_or(LADDER_NS[0]),
            fixed,
            by_code: BTreeMap::new(),
            by_response: BTreeMap::new(),
            request_codes: Vec::new(),
            response_codes: Vec::new(),
            latency_bins: [0; LATENCY_BINS],
            messages_seen: 0,
        }
    }

    fn key(codes: &mut Vec<i32>, code: i32) -> i32 {
        if codes.contains(&code) {
            code
        } else if codes.len() < MAX_SERIES {
            codes.push(code);
            code
        } else {
            OTHER
        }
    }

    /// Counts one frame, after `st` counted it.
    pub fn handle_frame(&mut self, st: &mut Stats, r: &FrameRecord) {
        let messages = st.messages.saturating_sub(self.messages_seen);
        self.messages_seen = st.messages;
        if !self.fixed && (st.buckets.len() > MAX_BUCKETS || self.by_code.len() > MAX_BUCKETS) {
            let next = LADDER_NS
                .iter()
                .copied()
                .find(|&i| i > self.interval_ns)
                .unwrap_or(self.interval_ns);
            self.coarsen(st, next);
        }
        let Ok(cmd) = &r.command else {
            return;
        };
        let start = r.ts.div_euclid(self.interval_ns) * self.interval_ns;
        let kind = cmd.kind();
        let code = match kind {
            Kind::Response => r.request.as_ref().map(|q| q.code).unwrap_or(-1),
            _ => cmd.code,
        };
        let key = Self::key(&mut self.request_codes, code);
        let b = self
            .by_code
            .entry(start)
            .or_default()
            .entry(key)
            .or_default();
        b.frames += 1;
        b.bytes += r.frame_len as u64;
        b.messages += messages;
        if kind != Kind::Response {
            b.requests += 1;
        } else {
            if let Some(l) = r.latency_us()
                && !r.request.as_ref().is_some_and(|q| q.long_poll)
            {
                b.latency.record(l.max(0) as u64);
            }
            let key = Self::key(&mut self.response_codes, cmd.code);
            *self
                .by_response
                .entry(start)
                .or_default()
                .entry(key)
                .or_default() += 1;
            // Long polls are a wait, not a service time: apart, as in `stats`
            // (codes[].long_poll_latency_us).
            if let Some(l) = r.latency_us()
                && !r.request.as_ref().is_some_and(|q| q.long_poll)
            {
                self.latency_bins[latency_bin(l.max(0) as u64)] += 1;
            }
        }
    }

    /// At the end: when no interval was given, the interval of the ladder that cuts the
    /// span into about [`TARGET_BUCKETS`] (never finer than the one reached).
    pub fn finish(&mut self, st: &mut Stats, span_ns: i64) {
        if self.fixed {
            return;
        }
        let want = span_ns / TARGET_BUCKETS;
        let pick = LADDER_NS
            .iter()
            .copied()
            .find(|&i| i >= want)
            .unwrap_or(LADDER_NS[LADDER_NS.len() - 1]);
        if pick > self.interval_ns {
            self.coarsen(st, pick);
        }
    }

    /// Moves the series and the statistics' buckets to interval `to`, a multiple of the
    /// current one (exact: each old bucket lies in one new bucket).
    fn coarsen(&mut self, st: &mut Stats, to: i64) {
        if to <= self.interval_ns || to % self.interval_ns != 0 {
            return;
        }
        let at = |t: i64| t.div_euclid(to) * to;
        let mut buckets: BTreeMap<i64, Bucket> = BTreeMap::new();
        for (t, b) in std::mem::take(&mut st.buckets) {
            let n = buckets.entry(at(t)).or_default();
            n.frames += b.frames;
            n.requests += b.requests;
            n.responses += b.responses;
            n.errors += b.errors;
            n.messages += b.messages;
            n.bytes += b.bytes;
            n.latency.merge(&b.latency);
        }
        st.buckets = buckets;
        st.interval_ns = Some(to);
        st.consumers.coarsen_intervals(at);
        let mut by_code: BTreeMap<i64, BTreeMap<i32, CodeBucket>> = BTreeMap::new();
        for (t, codes) in std::mem::take(&mut self.by_code) {
            let n = by_code.entry(at(t)).or_default();
            for (c, b) in codes {
                let m = n.entry(c).or_default();
                m.frames += b.frames;
                m.requests += b.requests;
                m.messages += b.messages;
                m.bytes += b.bytes;
                m.latency.merge(&b.latency);
            }
        }
        self.by_code = by_code;
        let mut by_response: BTreeMap<i64, BTreeMap<i32, u64>> = BTreeMap::new();
        for (t, codes) in std::mem::take(&mut self.by_response) {
            let n = by_response.entry(at(t)).or_default();
            for (c, k) in codes {
                *n.entry(c).or_default() += k;
            }
        }
        self.by_response = by_response;
        self.interval_ns = to;
    }
}

/// The bin of a latency: 0 for 0 µs, else 1 + floor(log2(µs)), capped.
pub fn latency_bin(us: u64) -> usize {
    if us == 0 {
        0
    } else {
        ((64 - us.leading_zeros()) as usize).min(LATENCY_BINS - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_steps_are_multiples() {
        for w in LADDER_NS.windows(2) {
            assert!(w[1] > w[0] && w[1] % w[0] == 0, "{} -> {}", w[0], w[1]);
        }
    }

    #[test]
    fn latency_bins_are_powers_of_two() {
        assert_eq!(latency_bin(0), 0);
        assert_eq!(latency_bin(1), 1);
        assert_eq!(latency_bin(2), 2);
        assert_eq!(latency_bin(3), 2);
        assert_eq!(latency_bin(4), 3);
        assert_eq!(latency_bin(1023), 10);
        assert_eq!(latency_bin(1024), 11);
        assert_eq!(latency_bin(u64::MAX), LATENCY_BINS - 1);
    }

    #[test]
    fn coarsening_equals_counting_at_the_coarser_interval() {
        // Buckets counted at 1 ms then merged to 1 s are those counted at 1 s.
        let mut fine = Stats::new(Some(MS));
        let mut coarse = Stats::new(Some(S));
        for (i, ts) in [0i64, 5 * MS, 999 * MS, S, 1_500 * MS, 7 * S + 3]
            .into_iter()
            .enumerate()
        {
            for st in [&mut fine, &mut coarse] {
                let i_ns = st.interval_ns.unwrap();
                let b = st.buckets.entry(ts.div_euclid(i_ns) * i_ns).or_default();
                b.frames += 1;
                b.bytes += i as u64;
                b.latency.record(i as u64 * 100);
            }
        }
        let mut s = Series::new(None);
        s.coarsen(&mut fine, S);
        assert_eq!(fine.interval_ns, Some(S));
        assert_eq!(
            fine.buckets.keys().collect::<Vec<_>>(),
            coarse.buckets.keys().collect::<Vec<_>>()
        );
        for (a, b) in fine.buckets.values().zip(coarse.buckets.values()) {
            assert_eq!((a.frames, a.bytes), (b.frames, b.bytes));
            assert_eq!(a.latency.quantile(0.5), b.latency.quantile(0.5));
            assert_eq!(a.latency.count, b.latency.count);
        }
    }
}
