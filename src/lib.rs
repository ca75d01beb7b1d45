//! rmqdump: a dissector and traffic analyzer for the Apache RocketMQ remoting protocol.
//!
//! The pipeline, each arrow one module, each stage sans-IO except `capture`:
//!
//! ```text
//! capture (pcap/pcapng/gzip/stdin, link layers → TCP segments)
//!   → reassembly (per-direction TCP: order, retransmits, gaps, limits)
//!     → remoting (frame splitting, JSON + ROCKETMQ headers, codes, byte-exact encoder)
//!       → protocol (typed headers, messages, properties, ids, bodies)
//!         → analysis (pipeline, request/response pairing)
//!           → output (text lines, verbose tree, JSON Lines)
//! ```
//!
//! The Java source of record is apache/rocketmq; each module cites the files it follows.

// No unsafe code, except in `capture::live`, which talks to the kernel (each block there
// carries a `SAFETY:` comment).
#![deny(unsafe_code)]

pub mod analysis;
pub mod capture;
pub mod cli;
pub mod limits;
pub mod output;
pub mod producer;
pub mod protocol;
pub mod proxy;
pub mod reassembly;
pub mod remoting;

use std::io::Read;

use analysis::{Dissector, Event, Options, Totals};
use capture::CaptureError;

/// Runs the whole pipeline over a capture, calling `f` for every event. On a capture error
/// (truncated or corrupt file) everything read before it is still dissected and flushed;
/// the error is returned beside the totals.
pub fn dissect<R: Read + Send, F: FnMut(Event)>(
    input: R,
    opts: Options,
    mut f: F,
) -> (Totals, Option<CaptureError>) {
    dissect_timed(input, opts, |e, _| f(e))
}

/// [`dissect`], `f` also given the time of the capture's first packet (nanoseconds since
/// the epoch; 0 before any packet), for times shown relative to it.
pub fn dissect_timed<R: Read + Send, F: FnMut(Event, i64)>(
    input: R,
    opts: Options,
    mut f: F,
) -> (Totals, Option<CaptureError>) {
    let mut d = Dissector::new(opts);
    let mut first: Option<i64> = None;
    let res = capture::for_each_packet(input, |it| match it {
        capture::Item::Packet(p) => {
            let start = *first.get_or_insert(p.ts);
            d.handle_packet(p.number, p.ts, p.link, p.data, &mut |e| f(e, start))
        }
        capture::Item::Damage(x) => {
            let start = first.unwrap_or(0);
            d.handle_capture_damage(&x, &mut |e| f(e, start))
        }
    });
    let start = first.unwrap_or(0);
    let mut f = |e| f(e, start);
    // A damaged or truncated end of the file is a located `capture` problem.
    let err = res.err().and_then(|e| d.handle_capture_end(e, &mut f));
    d.finish(&mut f);
    (d.totals.clone(), err)
}

/// One pass of statistics over a capture (or over one shard's connections when
/// `opts.shard` is set): the statistics, the totals, the first packet of each stream, and
/// the capture error if any. Only route answers get their body decoded; sends are read from
/// the header.
pub fn stats_pass<R: Read + Send>(
    input: R,
    opts: Options,
    so: impl Into<analysis::stats::StatsOptions>,
) -> (analysis::stats::ShardResult, Option<CaptureError>) {
    stats_pass_observed(input, opts, so, |_, _| {})
}

/// [`stats_pass`], calling `observe` with the statistics and each frame right after the
/// frame was counted (the HTML report keeps its own per-interval series beside them).
pub fn stats_pass_observed<R: Read + Send>(
    input: R,
    mut opts: Options,
    so: impl Into<analysis::stats::StatsOptions>,
    mut observe: impl FnMut(&mut analysis::stats::Stats, &analysis::FrameRecord),
) -> (analysis::stats::ShardResult, Option<CaptureError>) {
    let so = so.into();
    let interval_ns = so.interval_ns;
    use protocol::DecodeOptions;
    opts.light = true;
    opts.report_ended = true;
    let mut st = if opts.shard.is_some() {
        analysis::stats::Stats::for_shard(interval_ns)
    } else {
        analysis::stats::Stats::new(interval_ns)
    };
    st.top = so.top;
    let st = std::cell::RefCell::new(st);
    let dopts = DecodeOptions {
        inflate: false,
        ..Default::default()
    };
    // The packet being read: frames come out at it (the flush at the end: u64::MAX).
    let at = std::cell::Cell::new(0u64);
    let mut on_event = |ev: Event| match ev {
        Event::Frame(r) => {
            let mut st = st.borrow_mut();
            st.at_packet(at.get());
            let route = r.request.as_ref().is_some_and(|q| q.code == 105);
            let d = r
                .command
                .as_ref()
                .ok()
                .filter(|_| route)
                .map(|c| protocol::decode(c, Some(105), &dopts));
            st.handle_frame(&r, d.as_ref());
            observe(&mut st, &r);
        }
        Event::Problem(p) => st.borrow_mut().handle_problem(&p),
    };
    let mut d = Dissector::new(opts);
    // A connection's record is folded as soon as the connection ends (memory bounded
    // whatever the number of connections).
    let fold = |d: &mut Dissector| {
        for s in d.take_ended() {
            st.borrow_mut().end_connection(s);
        }
    };
    let res = capture::for_each_packet(input, |it| {
        match it {
            capture::Item::Packet(p) => {
                at.set(p.number);
                d.handle_packet(p.number, p.ts, p.link, p.data, &mut on_event)
            }
            capture::Item::Damage(x) => d.handle_capture_damage(&x, &mut on_event),
        }
        fold(&mut d);
    });
    // A damaged or truncated end of the file is a located `capture` problem.
    let err = res
        .err()
        .and_then(|e| d.handle_capture_end(e, &mut on_event));
    at.set(u64::MAX);
    d.finish(&mut on_event);
    fold(&mut d);
    let firsts = d.stream_first_packets().to_vec();
    ((st.into_inner(), d.totals.clone(), firsts), err)
}

/// Statistics of a capture by `threads` passes side by side, each over some of its
/// connections ([`analysis::Shard`], by a hash of the connection's endpoints), merged into exactly what one pass gives
/// ([`analysis::stats::merge`]); where they cannot be merged exactly, one pass.
/// `open(i)` opens the capture for pass `i`; each pass reads the whole file (about 15 % of a
/// pass; one reading shared with the others measured slower), in one buffer a pass.
pub fn stats<R, O>(
    open: O,
    opts: Options,
    so: impl Into<analysis::stats::StatsOptions>,
    threads: usize,
) -> std::io::Result<StatsRun>
where
    R: Read + Send,
    O: Fn(usize) -> std::io::Result<R> + Sync,
{
    let so = so.into();
    let one = |opts: Options| -> std::io::Result<_> {
        let ((stats, totals, _), capture_error) = stats_pass(open(0)?, opts, so);
        Ok(StatsRun {
            stats,
            totals,
            capture_error,
            merged_passes: 1,
            unmergeable: None,
        })
    };
    // Each pass reads the whole capture: more passes than cores only cost.
    let count = threads.clamp(1, 64) as u16;
    if count == 1 {
        return one(opts);
    }
    let shard = |i: u16| Options {
        shard: Some(analysis::Shard { index: i, count }),
        ..opts
    };
    let results: Vec<std::io::Result<_>> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..count)
            .map(|i| {
                let open = &open;
                s.spawn(move || -> std::io::Result<_> {
                    Ok(stats_pass(open(i as usize)?, shard(i), so))
                })
            })
            .collect();
        let mut out = vec![open(0).map(|r| stats_pass(r, shard(0), so))];
        for h in handles {
            out.push(
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("a stats pass panicked"))),
            );
        }
        out
    });
    let mut parts = Vec::with_capacity(results.len());
    let mut cap_err = None;
    for (i, r) in results.into_iter().enumerate() {
        let (part, e) = r?;
        if i == 0 {
            cap_err = e;
        }
        parts.push(part);
    }
    let n = parts.len();
    match analysis::stats::merge(parts) {
        Ok((stats, totals)) => Ok(StatsRun {
            stats,
            totals,
            capture_error: cap_err,
            merged_passes: n,
            unmergeable: None,
        }),
        Err(why) => one(opts).map(|r| StatsRun {
            unmergeable: Some(why),
            ..r
        }),
    }
}

/// What [`stats`] found and how.
pub struct StatsRun {
    pub stats: analysis::stats::Stats,
    pub totals: Totals,
    /// A truncated or corrupt capture: everything before it was counted.
    pub capture_error: Option<CaptureError>,
    /// How many passes side by side gave the result (1: one pass).
    pub merged_passes: usize,
    /// Why the passes side by side could not be merged (then one pass ran).
    pub unmergeable: Option<analysis::stats::Unmergeable>,
}
