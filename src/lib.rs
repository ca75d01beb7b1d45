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

/// One item of the merged input ([`capture::merge`]) to its file's dissector: a packet, a
/// damaged stretch, or the file's end (renumbered over the merged input). A damaged or
/// truncated end comes back (it is also a located `capture` problem through `push`).
pub(crate) fn feed_merged(
    d: &mut Dissector,
    it: capture::merge::Merged<'_>,
    push: &mut dyn FnMut(Event),
) -> Option<CaptureError> {
    use capture::merge::Merged;
    let mut push = |e: Event| push(e);
    match it {
        Merged::Packet { packet: p, .. } => {
            d.handle_packet(p.number, p.ts, p.link, p.data, &mut push);
            None
        }
        Merged::Damage {
            after_packet,
            damage,
            ..
        } => {
            d.handle_capture_damage(
                &capture::Damage {
                    after_packet,
                    ..damage
                },
                &mut push,
            );
            None
        }
        Merged::End {
            last_packet,
            result,
            ..
        } => result.err().and_then(|e| {
            d.handle_capture_end(output::follow::renumber(e, last_packet), &mut push)
        }),
    }
}

/// [`dissect`] of several captures merged by packet time as `read` and `stats` merge
/// them: packets numbered as `mergecap` numbers the merged input, one dissector per file,
/// streams numbered over all files in order of their first packet, every file finished at
/// the merged input's last packet. `f` gets each event with its file's index; the totals
/// are the files' added, the capture errors come with their file's index.
pub fn dissect_files<R: Read + Send, F: FnMut(usize, Event)>(
    inputs: Vec<R>,
    opts: Options,
    mut f: F,
) -> (Totals, Vec<(usize, CaptureError)>) {
    use capture::merge::{Merged, for_each_merged};
    let n = inputs.len();
    let mut ds: Vec<Dissector> = (0..n).map(|_| Dissector::new(opts)).collect();
    let mut ids: Vec<Vec<u64>> = vec![Vec::new(); n];
    let mut next = 0u64;
    let mut events: Vec<Event> = Vec::new();
    let mut errors = Vec::new();
    let mut deliver = |file: usize, d: &Dissector, map: &mut Vec<u64>, events: &mut Vec<Event>| {
        while (map.len() as u64) < d.totals.streams {
            map.push(next);
            next += 1;
        }
        let global = |s: u64| map.get(s as usize).copied().unwrap_or(s);
        for e in events.drain(..) {
            f(
                file,
                match e {
                    Event::Frame(mut r) => {
                        r.stream = global(r.stream);
                        Event::Frame(r)
                    }
                    Event::Problem(mut p) => {
                        p.stream = p.stream.map(global);
                        Event::Problem(p)
                    }
                },
            );
        }
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    for_each_merged(inputs, &stop, |it| {
        let file = match &it {
            Merged::Packet { file, .. }
            | Merged::Damage { file, .. }
            | Merged::End { file, .. } => *file,
        };
        let d = &mut ds[file];
        if let Some(e) = feed_merged(d, it, &mut |e| events.push(e)) {
            errors.push((file, e));
        }
        deliver(file, d, &mut ids[file], &mut events);
    });
    let end = ds.iter().filter_map(|d| d.totals.last_ts).max();
    let mut totals = Totals::default();
    for (file, d) in ds.iter_mut().enumerate() {
        d.finish_at(end, &mut |e| events.push(e));
        deliver(file, d, &mut ids[file], &mut events);
        totals.absorb(&d.totals);
    }
    (totals, errors)
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
    opts: Options,
    so: impl Into<analysis::stats::StatsOptions>,
    observe: impl FnMut(&mut analysis::stats::Stats, &analysis::FrameRecord),
) -> (analysis::stats::ShardResult, Option<CaptureError>) {
    let (r, mut errors) = stats_pass_files(vec![input], opts, so, observe);
    (r, errors.pop().map(|(_, e)| e))
}

/// [`stats_pass_observed`] over several captures merged by packet time as `read` merges
/// them ([`capture::merge`]: packets numbered over the merged input as `mergecap` numbers
/// them; each file dissected on its own, so a connection never spans files, and stream
/// numbers given over all files in order of each stream's first packet). The capture
/// errors come with the index of their file.
pub fn stats_pass_files<R: Read + Send>(
    inputs: Vec<R>,
    opts: Options,
    so: impl Into<analysis::stats::StatsOptions>,
    observe: impl FnMut(&mut analysis::stats::Stats, &analysis::FrameRecord),
) -> (analysis::stats::ShardResult, Vec<(usize, CaptureError)>) {
    let stop = std::sync::atomic::AtomicBool::new(false);
    stats_pass_stoppable(inputs, opts, so, observe, &stop, false)
}

/// [`stats_pass_files`] as one of several passes side by side: it stops reading once `stop`
/// is set, and sets it itself when `stop_on_drop` and it dropped data at its limits (an
/// evicted flow: the passes cannot be merged, one pass runs instead, so the others stop and
/// give their memory back before it). A stopped pass's result is incomplete: only for
/// [`stats_files`] to discard.
fn stats_pass_stoppable<R: Read + Send>(
    inputs: Vec<R>,
    mut opts: Options,
    so: impl Into<analysis::stats::StatsOptions>,
    mut observe: impl FnMut(&mut analysis::stats::Stats, &analysis::FrameRecord),
    stop: &std::sync::atomic::AtomicBool,
    stop_on_drop: bool,
) -> (analysis::stats::ShardResult, Vec<(usize, CaptureError)>) {
    use capture::merge::{Merged, for_each_merged};
    use std::sync::atomic::Ordering;
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
    let dopts = DecodeOptions {
        inflate: false,
        ..Default::default()
    };
    let n = inputs.len();
    // The packet being read: frames come out at it (the flush at the end: u64::MAX).
    let mut at = 0u64;
    // One file's event, its stream already numbered over all files.
    let mut on_event = |st: &mut analysis::stats::Stats, at: u64, ev: Event| match ev {
        Event::Frame(r) => {
            st.at_packet(at);
            let route = r.request.as_ref().is_some_and(|q| q.code == 105);
            let d = r
                .command
                .as_ref()
                .ok()
                .filter(|_| route)
                .map(|c| protocol::decode(c, Some(105), &dopts));
            st.handle_frame(&r, d.as_ref());
            observe(st, &r);
        }
        Event::Problem(p) => st.handle_problem(&p),
    };
    let mut ds: Vec<Dissector> = (0..n).map(|_| Dissector::new(opts)).collect();
    // Several files: per file the number over all files of each of its streams, and the
    // first packet of each stream by that number; the events of a packet wait until the
    // stream it may have started is numbered.
    let one = n == 1;
    let mut ids: Vec<Vec<u64>> = vec![Vec::new(); n];
    let mut firsts: Vec<u64> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    let mut errors = Vec::new();
    // Numbers the streams `d` started, hands its waiting events on, folds its ended
    // connections (memory bounded whatever the number of connections).
    let mut deliver = |d: &mut Dissector,
                       map: &mut Vec<u64>,
                       events: &mut Vec<Event>,
                       st: &mut analysis::stats::Stats,
                       at: u64| {
        if !one {
            let fp = d.stream_first_packets();
            while (map.len() as u64) < d.totals.streams {
                map.push(firsts.len() as u64);
                firsts.push(fp.get(map.len() - 1).copied().unwrap_or(at));
            }
        }
        let global = |s: u64| map.get(s as usize).copied().unwrap_or(s);
        for e in events.drain(..) {
            let e = match e {
                Event::Frame(mut r) => {
                    r.stream = global(r.stream);
                    Event::Frame(r)
                }
                Event::Problem(mut p) => {
                    p.stream = p.stream.map(global);
                    Event::Problem(p)
                }
            };
            on_event(st, at, e);
        }
        for s in d.take_ended() {
            st.end_connection(global(s));
        }
    };
    for_each_merged(inputs, stop, |it| {
        let file = match &it {
            Merged::Packet { file, .. }
            | Merged::Damage { file, .. }
            | Merged::End { file, .. } => *file,
        };
        at = match &it {
            Merged::Packet { packet, .. } => packet.number,
            Merged::Damage { .. } => at,
            Merged::End { .. } => u64::MAX,
        };
        let ended = matches!(it, Merged::End { .. });
        let d = &mut ds[file];
        // A damaged or truncated end of the file is a located `capture` problem.
        if let Some(e) = feed_merged(d, it, &mut |e| events.push(e)) {
            errors.push((file, e));
        }
        // Several files end together, at the merged input's last packet (below).
        // A stopped pass is discarded: nothing to finish.
        if ended && one && !stop.load(Ordering::Relaxed) {
            d.finish(&mut |e| events.push(e));
        }
        if stop_on_drop && d.totals.dropped_by_limits > 0 {
            stop.store(true, Ordering::Relaxed);
        }
        deliver(d, &mut ids[file], &mut events, &mut st, at);
    });
    if !one && !stop.load(Ordering::Relaxed) {
        let end = ds.iter().filter_map(|d| d.totals.last_ts).max();
        for (file, d) in ds.iter_mut().enumerate() {
            d.finish_at(end, &mut |e| events.push(e));
            deliver(d, &mut ids[file], &mut events, &mut st, u64::MAX);
        }
    }
    let mut totals = Totals::default();
    for d in &ds {
        totals.absorb(&d.totals);
    }
    if n == 1 {
        firsts = ds[0].stream_first_packets().to_vec();
    }
    ((st, totals, firsts), errors)
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
    stats_files(|pass, _| open(pass), 1, opts, so, threads)
}

/// [`stats`] of `files` captures merged by packet time ([`stats_pass_files`]): `open(i, f)`
/// opens file `f` for pass `i`.
pub fn stats_files<R, O>(
    open: O,
    files: usize,
    opts: Options,
    so: impl Into<analysis::stats::StatsOptions>,
    threads: usize,
) -> std::io::Result<StatsRun>
where
    R: Read + Send,
    O: Fn(usize, usize) -> std::io::Result<R> + Sync,
{
    let so = so.into();
    let open_all = |pass: usize| -> std::io::Result<Vec<R>> {
        (0..files.max(1)).map(|f| open(pass, f)).collect()
    };
    // Passes side by side stop together once one dropped data at its limits (unmergeable).
    let stop = std::sync::atomic::AtomicBool::new(false);
    let pass = |inputs: Vec<R>, opts: Options| {
        stats_pass_stoppable(inputs, opts, so, |_, _| {}, &stop, opts.shard.is_some())
    };
    let one = |opts: Options| -> std::io::Result<_> {
        let alone = std::sync::atomic::AtomicBool::new(false);
        let ((stats, totals, _), capture_errors) =
            stats_pass_stoppable(open_all(0)?, opts, so, |_, _| {}, &alone, false);
        Ok(StatsRun {
            stats,
            totals,
            capture_errors,
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
                let (open_all, pass) = (&open_all, &pass);
                s.spawn(move || -> std::io::Result<_> { Ok(pass(open_all(i as usize)?, shard(i))) })
            })
            .collect();
        let mut out = vec![open_all(0).map(|r| pass(r, shard(0)))];
        for h in handles {
            out.push(
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("a stats pass panicked"))),
            );
        }
        out
    });
    if stop.load(std::sync::atomic::Ordering::Relaxed) {
        // The passes' state is given back before the one pass runs: its peak is not added
        // to theirs.
        drop(results);
        return one(opts).map(|r| StatsRun {
            unmergeable: Some(analysis::stats::Unmergeable(
                "a shard dropped data at its limits",
            )),
            ..r
        });
    }
    let mut parts = Vec::with_capacity(results.len());
    let mut cap_errs = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        let (part, e) = r?;
        if i == 0 {
            cap_errs = e;
        }
        parts.push(part);
    }
    let n = parts.len();
    match analysis::stats::merge(parts) {
        Ok((stats, totals)) => Ok(StatsRun {
            stats,
            totals,
            capture_errors: cap_errs,
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
    /// Truncated or corrupt captures, by file index: everything before was counted.
    pub capture_errors: Vec<(usize, CaptureError)>,
    /// How many passes side by side gave the result (1: one pass).
    pub merged_passes: usize,
    /// Why the passes side by side could not be merged (then one pass ran).
    pub unmergeable: Option<analysis::stats::Unmergeable>,
}
