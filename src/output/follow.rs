//! `rmqdump read`: one or several captures, merged by time ([`crate::capture::merge`]),
//! dissected, filtered (`Filter`, `-Y`), printed, and counted (`-c`); the packets of the
//! selected frames collected for `-w` ([`super::pcap_writer`]).
//!
//! Several files: each file has its own dissector (a connection seen in two files is two
//! connections), packets are numbered over the merged input as `mergecap` numbers them, and
//! stream ids are numbered over the merged input in order of each connection's first
//! packet. Each problem line names its file.
//!
//! Problems obey the filters: with no filter every problem is printed. With `--stream`,
//! only the problems of that stream (and none of the problems that belong to no stream).
//! With any other criterion (`--code`, `--topic`, `--key`, `--group`, `--broker`,
//! `--since`, `--until`, `-Y`): a frame's own problems (decoding, per-frame limit) when the
//! frame is selected; a connection's problems (gap, truncated, unanswered, conflict…) when
//! a frame of that connection was selected before the problem was found; problems that
//! belong to no connection (an unreadable packet, a damaged stretch of the file) always.
//! The problems not printed are counted ([`ReadResult::hidden_problems`]) and said in one
//! line at the end.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use super::display_filter::DisplayFilter;
use super::filter::{Filter, Verdict};
use super::jsonl::write_frame;
use super::pcap_writer::PacketRanges;
use super::{FrameWriter, OutputOptions, decode_record, frame_problems, problem_line};
use crate::analysis::{Dissector, Event, FrameRecord, Options, Problem, ProblemKind};
use crate::capture::CaptureError;
use crate::capture::merge::{Merged, for_each_merged};
use crate::remoting::command::Kind;

/// Frames held behind a request that waits for its response (`--key` by offsetMsgId);
/// past it the oldest waiting request is given up (reported as a `limit` problem).
pub const MAX_HELD: usize = 65_536;

/// What `read` prints and selects.
pub struct ReadConfig {
    pub filter: Filter,
    pub display: Option<DisplayFilter>,
    /// Stop after this many selected frames.
    pub count: Option<u64>,
    pub json: bool,
    pub verbose: bool,
    pub output: OutputOptions,
    pub dissect: Options,
    /// Collect the packet ranges of the selected frames (`-w`).
    pub collect_packets: bool,
}

/// What `read` found.
#[derive(Debug, Default)]
pub struct ReadResult {
    pub packets: u64,
    pub undecodable: u64,
    /// Problems found (printed or not).
    pub problems: u64,
    /// Problems not printed because they are outside the filters.
    pub hidden_problems: u64,
    pub selected: u64,
    /// The count (`-c`) was reached: the rest of the input was not read.
    pub stopped: bool,
    /// Capture errors that are not a damaged end (not a capture, I/O), by file.
    pub capture_errors: Vec<(usize, CaptureError)>,
    pub ranges: PacketRanges,
}

struct Held {
    file: usize,
    record: Box<FrameRecord>,
    /// None: waits for its response.
    selected: Option<bool>,
}

/// The selection driver of `read` and `live`: fed packets' times ([`Follower::packet`])
/// and the dissector's events ([`Follower::event`]) as they come, it applies the filters,
/// `-Y` and `-c`, prints the selected frames and the problems the filters let through, and
/// collects the packet ranges of the selected frames (`-w`).
pub struct Follower<'a, W: Write, E: Write> {
    cfg: ReadConfig,
    names: &'a [String],
    out: &'a mut W,
    err: &'a mut E,
    writer: FrameWriter,
    held: VecDeque<Held>,
    selected_streams: HashSet<u64>,
    res: ReadResult,
    stop: &'a AtomicBool,
    /// A filter other than `--stream` is set (problems then obey it).
    content: bool,
    /// With `-w`: the last packet of recent requests, by (stream, first packet), so that
    /// the request a selected response answers is written whole.
    requests: HashMap<(u64, u64), u64>,
    request_order: VecDeque<(u64, u64)>,
    /// The frame object written for `-Y`.
    json: Vec<u8>,
}

/// Requests whose last packet is remembered for `-w`.
const MAX_REQUESTS: usize = 65_536;

/// Reads `inputs` (named `names` in problem lines) merged by time, writing the selected
/// frames to `out` and the problems to `err`.
pub fn read<R: Read + Send, W: Write, E: Write>(
    inputs: Vec<R>,
    names: &[String],
    cfg: ReadConfig,
    out: &mut W,
    err: &mut E,
) -> io::Result<ReadResult> {
    let n = inputs.len();
    let stop = AtomicBool::new(false);
    let mut run = Follower::new(cfg, names, out, err, &stop);
    let mut dissectors: Vec<Dissector> = (0..n).map(|_| Dissector::new(run.cfg.dissect)).collect();
    // Per file: global stream id of each of its dissector's streams.
    let mut streams: Vec<Vec<u64>> = vec![Vec::new(); n];
    let mut next_stream = 0u64;
    let mut events: Vec<Event> = Vec::new();
    let mut io_err: Option<io::Error> = None;
    for_each_merged(inputs, &stop, |it| {
        if io_err.is_some() {
            return;
        }
        let file = match &it {
            Merged::Packet { file, .. }
            | Merged::Damage { file, .. }
            | Merged::End { file, .. } => *file,
        };
        if let Merged::Packet { packet, .. } = &it {
            run.packet(packet.ts);
        }
        let d = &mut dissectors[file];
        if let Some(e) = crate::feed_merged(d, it, &mut |e| events.push(e)) {
            run.res.capture_errors.push((file, e));
        }
        let ids = &mut streams[file];
        deliver(
            &mut run,
            file,
            d,
            ids,
            &mut next_stream,
            &mut events,
            &mut io_err,
        );
    });
    // Requests still waiting are judged at the merged input's last packet, every file
    // alike, as `stats` and `verify` judge them ([`crate::dissect_files`]): a file that
    // ends early does not make its waiting requests unanswered.
    if io_err.is_none() && !stop.load(Ordering::Relaxed) {
        let end = dissectors.iter().filter_map(|d| d.totals.last_ts).max();
        for (file, d) in dissectors.iter_mut().enumerate() {
            d.finish_at(end, &mut |e| events.push(e));
            run.res.undecodable += d.totals.undecodable;
            let ids = &mut streams[file];
            deliver(
                &mut run,
                file,
                d,
                ids,
                &mut next_stream,
                &mut events,
                &mut io_err,
            );
        }
    }
    if let Some(e) = io_err {
        return Err(e);
    }
    run.finish()
}

/// Hands the events of file `file` to the follower, its streams numbered over all files
/// (`ids`: global id of each of its dissector's streams, extended from `next` as streams
/// appear).
fn deliver<W: Write, E: Write>(
    run: &mut Follower<'_, W, E>,
    file: usize,
    d: &Dissector,
    ids: &mut Vec<u64>,
    next: &mut u64,
    events: &mut Vec<Event>,
    io_err: &mut Option<io::Error>,
) {
    while (ids.len() as u64) < d.totals.streams {
        ids.push(*next);
        *next += 1;
    }
    for e in events.drain(..) {
        if io_err.is_some() || run.stop.load(Ordering::Relaxed) {
            continue;
        }
        if let Err(e) = run.event(file, e, ids) {
            *io_err = Some(e);
        }
    }
}

/// A damaged end located after the merged number of the file's last packet.
pub(crate) fn renumber(e: CaptureError, last: u64) -> CaptureError {
    match e {
        CaptureError::Truncated {
            offset, end, what, ..
        } => CaptureError::Truncated {
            packets: last,
            offset,
            end,
            what,
        },
        CaptureError::Corrupt { offset, reason, .. } => CaptureError::Corrupt {
            packets: last,
            offset,
            reason,
        },
        CaptureError::Gzip { damage, .. } => CaptureError::Gzip {
            packets: last,
            damage,
        },
        other => other,
    }
}

impl<'a, W: Write, E: Write> Follower<'a, W, E> {
    /// A driver printing to `out` (frames) and `err` (problem lines, each prefixed by the
    /// name of its file in `names`); `stop` is set when `-c` is reached.
    pub fn new(
        cfg: ReadConfig,
        names: &'a [String],
        out: &'a mut W,
        err: &'a mut E,
        stop: &'a AtomicBool,
    ) -> Self {
        let content = cfg.filter.content_active()
            || cfg.filter.broker.is_some()
            || cfg.filter.since.is_some()
            || cfg.filter.until.is_some()
            || cfg.display.is_some();
        Self {
            writer: FrameWriter::new(cfg.json, cfg.verbose),
            cfg,
            names,
            out,
            err,
            held: VecDeque::new(),
            selected_streams: HashSet::new(),
            res: ReadResult::default(),
            stop,
            content,
            requests: HashMap::new(),
            request_order: VecDeque::new(),
            json: Vec::new(),
        }
    }

    /// A packet of time `ts` was read (before it is given to the dissector): the first sets
    /// the start of `--time relative` and of relative `--since`/`--until`.
    pub fn packet(&mut self, ts: i64) {
        if self.res.packets == 0 {
            self.cfg.output.clock.start = ts;
        }
        self.res.packets += 1;
        self.cfg.filter.first_ts.get_or_insert(ts);
    }

    /// Flushes the frames printed so far.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// What was found so far.
    pub fn result(&self) -> &ReadResult {
        &self.res
    }

    /// The packet ranges of the frames selected since the last call (`-w` as packets come).
    pub fn take_ranges(&mut self) -> PacketRanges {
        std::mem::take(&mut self.res.ranges)
    }

    /// The end of the input: requests still waiting for their response are not selected,
    /// the count of problems not shown is said.
    pub fn finish(mut self) -> io::Result<ReadResult> {
        if !self.res.stopped {
            // The end: requests still waiting had no response.
            for h in self.held.iter_mut() {
                h.selected.get_or_insert(false);
            }
            self.release()?;
        }
        if self.res.hidden_problems > 0 {
            writeln!(
                self.err,
                "rmqdump: {} problems outside the filters not shown",
                self.res.hidden_problems
            )?;
        }
        Ok(self.res)
    }

    /// One event of file `file`'s dissector, whose stream ids map to `ids` (merged
    /// numbering; an id past `ids` is kept).
    pub fn event(&mut self, file: usize, e: Event, ids: &[u64]) -> io::Result<()> {
        let global = |s: u64| ids.get(s as usize).copied().unwrap_or(s);
        match e {
            Event::Frame(mut r) => {
                r.stream = global(r.stream);
                self.frame(file, r)
            }
            Event::Problem(mut p) => {
                p.stream = p.stream.map(global);
                self.problem(file, p)
            }
        }
    }

    fn frame(&mut self, file: usize, r: Box<FrameRecord>) -> io::Result<()> {
        let oo = self.cfg.output;
        if self.cfg.collect_packets && r.command.as_ref().is_ok_and(|c| c.kind() == Kind::Request) {
            let k = (r.stream, r.packet);
            if self.requests.insert(k, r.last_packet).is_none() {
                self.request_order.push_back(k);
            }
            if self.request_order.len() > MAX_REQUESTS
                && let Some(old) = self.request_order.pop_front()
            {
                self.requests.remove(&old);
            }
        }
        let d = decode_record(&r, &oo);
        let mut verdict = self.cfg.filter.verdict(&r, d.as_ref());
        if verdict != Verdict::No
            && let Some(y) = &self.cfg.display
        {
            self.json.clear();
            write_frame(&mut self.json, &r, d.as_ref(), &oo);
            if !y.matches_json(&self.json) {
                verdict = Verdict::No;
            }
        }
        if let Some((stream, packet, yes)) = self.cfg.filter.take_decided()
            && let Some(h) = self.held.iter_mut().find(|h| {
                h.selected.is_none() && h.record.stream == stream && h.record.packet == packet
            })
        {
            h.selected = Some(yes);
        }
        match verdict {
            Verdict::No => {
                // The text line of a send response names its request's UNIQ_KEY, also
                // when the request itself is not printed.
                self.writer.note(&r, d.as_ref());
                self.count_problems(frame_problems(&r, d.as_ref()).len() as u64);
            }
            Verdict::Yes if self.held.is_empty() => {
                self.emit(file, &r, d.as_ref())?;
            }
            v => {
                drop(d);
                self.held.push_back(Held {
                    file,
                    record: r,
                    selected: (v == Verdict::Yes).then_some(true),
                });
                if self.held.len() > MAX_HELD
                    && let Some(h) = self.held.iter_mut().find(|h| h.selected.is_none())
                {
                    h.selected = Some(false);
                    let p = Problem {
                        packet: h.record.packet,
                        stream: Some(h.record.stream),
                        kind: ProblemKind::Limit,
                        message: format!(
                            "--key: the request still waits for its response after {MAX_HELD} selected frames; not selected"
                        ),
                    };
                    let f = h.file;
                    self.print_problem(f, &p)?;
                }
            }
        }
        self.release()
    }

    /// Prints the held frames that are decided, from the front.
    fn release(&mut self) -> io::Result<()> {
        while self.held.front().is_some_and(|h| h.selected.is_some()) && !self.res.stopped {
            let Some(h) = self.held.pop_front() else {
                break;
            };
            let d = decode_record(&h.record, &self.cfg.output);
            if h.selected == Some(true) {
                self.emit(h.file, &h.record, d.as_ref())?;
            } else {
                self.writer.note(&h.record, d.as_ref());
                self.count_problems(frame_problems(&h.record, d.as_ref()).len() as u64);
            }
        }
        Ok(())
    }

    fn emit(
        &mut self,
        file: usize,
        r: &FrameRecord,
        d: Option<&crate::protocol::Decoded>,
    ) -> io::Result<()> {
        if self.res.stopped {
            return Ok(());
        }
        self.selected_streams.insert(r.stream);
        for p in frame_problems(r, d) {
            self.res.problems += 1;
            self.print_problem(file, &p)?;
        }
        self.writer.write(self.out, r, d, &self.cfg.output)?;
        if self.cfg.collect_packets {
            self.res
                .ranges
                .add(file, r.src, r.dst, r.packet, r.last_packet);
            // A response decodes with its request (the request code says what the body
            // is): the request's packets are written too.
            if let Some(q) = &r.request {
                let last = self
                    .requests
                    .get(&(r.stream, q.packet))
                    .copied()
                    .unwrap_or(q.packet);
                self.res.ranges.add(file, r.dst, r.src, q.packet, last);
            }
        }
        self.res.selected += 1;
        if self.cfg.count.is_some_and(|c| self.res.selected >= c) {
            self.res.stopped = true;
            self.stop.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    fn count_problems(&mut self, n: u64) {
        self.res.problems += n;
        self.res.hidden_problems += n;
    }

    fn problem(&mut self, file: usize, p: Problem) -> io::Result<()> {
        if p.kind == ProblemKind::Unanswered
            && let Some(h) = self.held.iter_mut().find(|h| {
                h.selected.is_none()
                    && Some(h.record.stream) == p.stream
                    && h.record.packet == p.packet
            })
        {
            h.selected = Some(false);
            self.release()?;
        }
        // A request pending at the end of the capture is reported, not a fault.
        self.res.problems += u64::from(p.kind.is_fault());
        let f = &self.cfg.filter;
        let shown = match p.stream {
            Some(s) => {
                f.stream.is_none_or(|x| x == s)
                    && (!self.content || self.selected_streams.contains(&s))
            }
            None => f.stream.is_none(),
        };
        if shown {
            self.print_problem(file, &p)
        } else {
            self.res.hidden_problems += 1;
            Ok(())
        }
    }

    fn print_problem(&mut self, file: usize, p: &Problem) -> io::Result<()> {
        let name = self.names.get(file).map(String::as_str).unwrap_or("-");
        // Problem lines in packet order with the frames (stdout and stderr on one terminal).
        self.out.flush()?;
        writeln!(self.err, "{name}: {}", problem_line(p))
    }
}
