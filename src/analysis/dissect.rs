//! The pipeline from packets to paired, decoded commands: link decode → per-connection TCP
//! reassembly → frame splitting → frame decode → request/response pairing.
//!
//! Sans-IO: [`Dissector::handle_packet`] takes a packet (bytes, number, capture time) and
//! calls back with [`Event`]s; [`Dissector::finish`] flushes every stream at the end. No
//! clock is read: flow ages use packet time.

// foldhash: fast, and randomly seeded per process, so crafted captures cannot force
// collisions.
use foldhash::HashMap;
use foldhash::HashMapExt;
use foldhash::{HashSet, HashSetExt};
use std::net::SocketAddr;

use crate::capture::{LinkType, decode_packet};
use crate::reassembly::{HalfStream, StreamEvent, StreamLimits};
use crate::remoting::command::{
    FrameError, FrameLimits, Kind, LayoutNeed, RemotingCommand, decode_frame_as,
};
use crate::remoting::stream::{FrameSplitter, SplitEvent};

/// Dissector settings.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub frame: FrameLimits,
    pub stream: StreamLimits,
    /// Most bytes held in all reassembly and frame buffers together.
    pub max_buffered_total: usize,
    /// Most requests waiting for a response before the oldest are given up.
    pub max_pending_requests: usize,
    /// Keep each frame's wire bytes in the record (for verify).
    pub keep_wire: bool,
    /// A connection with no packet for this long (capture time, ns) is flushed and
    /// forgotten; a later packet starts it afresh (mid-connection).
    pub idle_timeout_ns: i64,
    /// Decode only what statistics need: the header's code, flag, opaque, language,
    /// version, remark, the extFields [`light_key`] names, and the body only of batches and
    /// of responses that look like JSON (route answers). Records are then partial.
    pub light: bool,
    /// Dissect only the connections of one shard (see [`Shard`]); `None`: all of them.
    pub shard: Option<Shard>,
    /// The decode and tracking budget (flows, messages, properties, extFields, inflation).
    pub limits: crate::limits::Limits,
}

/// One of `count` dissectors that read the same capture side by side, each taking the
/// connections of its clients: a connection belongs to the shard of its client's IP (the
/// side with the higher port), the client IPs dealt round robin in order of first
/// appearance (past [`MAX_DEALT_CLIENTS`], by hash). Every shard counts every packet, so
/// packet numbers agree; stream numbers are the shard's own (see
/// [`Dissector::stream_first_packets`] to number them as one dissector would).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u16,
    pub count: u16,
}

/// Client IPs dealt round robin to shards; later ones go by hash (bounded memory).
pub const MAX_DEALT_CLIENTS: usize = 65_536;

/// The extFields kept by [`Options::light`] decoding: producer group, topic, queue,
/// properties and batch flag, as V2 letters or V1 names.
pub fn light_key(k: &str) -> bool {
    match k.as_bytes() {
        // SEND_MESSAGE_V2's letters, the common case, without a string compare.
        [c] => matches!(c, b'a' | b'b' | b'e' | b'i' | b'm'),
        _ => matches!(
            k,
            "topic" | "producerGroup" | "queueId" | "properties" | "batch"
        ),
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            frame: FrameLimits::default(),
            stream: StreamLimits::default(),
            max_buffered_total: 256 << 20,
            max_pending_requests: 1 << 20,
            keep_wire: false,
            idle_timeout_ns: 600 * 1_000_000_000,
            light: false,
            shard: None,
            limits: crate::limits::Limits::default(),
        }
    }
}

/// The request a response answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRef {
    pub packet: u64,
    pub code: i32,
    pub ts: i64,
    /// The request's topic (extFields `topic`, or `b` of SEND_MESSAGE_V2), if it had one:
    /// the response does not repeat it.
    pub topic: Option<crate::remoting::command::ExtString>,
}

/// One decoded (or undecodable) frame.
#[derive(Debug)]
pub struct FrameRecord {
    /// Packet where the frame starts (1-based) and where it ends.
    pub packet: u64,
    pub last_packet: u64,
    pub ts: i64,
    /// Connection index, in order of first appearance (like tshark's `tcp.stream`).
    pub stream: u64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// Stream offset of the frame.
    pub offset: u64,
    pub frame_len: usize,
    pub command: Result<RemotingCommand, FrameError>,
    /// For a response: its request, when the capture holds it.
    pub request: Option<RequestRef>,
    /// The frame as on the wire (when `Options::keep_wire`).
    pub wire: Option<Vec<u8>>,
}

impl FrameRecord {
    /// Latency from request to response in microseconds.
    pub fn latency_us(&self) -> Option<i64> {
        self.request
            .as_ref()
            .map(|r| self.ts.saturating_sub(r.ts) / 1000)
    }
}

/// What kind of problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProblemKind {
    /// A packet that could not be decoded down to TCP.
    Packet,
    /// Bytes lost in a TCP stream.
    Gap,
    /// A frame that could not be split out or decoded, or bytes skipped to resynchronise.
    Frame,
    /// A frame cut off at the end of the capture or before a gap.
    Truncated,
    /// A TCP connection that carries something else (TLS, other protocols).
    NotRemoting,
    /// A request with no response in the capture.
    Unanswered,
    /// A response with no request in the capture.
    Unmatched,
    /// A limit was reached and data was dropped.
    Limit,
    /// Two copies of the same TCP bytes differ (one was used, the other dropped).
    Conflict,
    /// A damaged stretch of the capture file was skipped.
    Capture,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Packet => "packet",
            ProblemKind::Gap => "gap",
            ProblemKind::Frame => "frame",
            ProblemKind::Truncated => "truncated",
            ProblemKind::NotRemoting => "not-remoting",
            ProblemKind::Unanswered => "unanswered",
            ProblemKind::Unmatched => "unmatched",
            ProblemKind::Limit => "limit",
            ProblemKind::Conflict => "conflict",
            ProblemKind::Capture => "capture",
        }
    }
}

/// A located problem.
#[derive(Clone, Debug)]
pub struct Problem {
    pub packet: u64,
    pub stream: Option<u64>,
    pub kind: ProblemKind,
    pub message: String,
}

/// Output of the dissector.
#[derive(Debug)]
pub enum Event {
    Frame(Box<FrameRecord>),
    Problem(Problem),
}

/// Totals for a run.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    pub packets: u64,
    pub tcp_packets: u64,
    pub bytes: u64,
    pub streams: u64,
    pub frames: u64,
    pub undecodable: u64,
    pub requests: u64,
    pub responses: u64,
    pub oneways: u64,
    pub unanswered: u64,
    pub unmatched_responses: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub retransmitted_bytes: u64,
    pub skipped_bytes: u64,
    /// Bytes of the capture file skipped as damaged (see `capture::Damage`).
    pub capture_bytes_skipped: u64,
    pub dropped_by_limits: u64,
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
}

struct Dir {
    half: HalfStream,
    splitter: Option<FrameSplitter>,
}

struct Flow {
    index: u64,
    /// Endpoint 0 (the client when the SYN was seen, else the first sender).
    ends: [SocketAddr; 2],
    dirs: [Dir; 2],
    last_packet: u64,
    last_ts: i64,
    closed: [bool; 2],
    /// Both sides closed and flushed; later packets (final ACKs) are ignored.
    finished: bool,
}

type FlowKey = (SocketAddr, SocketAddr);

fn flow_key(a: SocketAddr, b: SocketAddr) -> FlowKey {
    if a <= b { (a, b) } else { (b, a) }
}

/// Pending requests are keyed by (connection, direction of the request, opaque).
type PendingKey = (u64, u8, i32);

/// Packets to dissected frames. See the module docs.
pub struct Dissector {
    opts: Options,
    flows: HashMap<FlowKey, Flow>,
    next_stream: u64,
    pending: HashMap<PendingKey, RequestRef>,
    pending_order: std::collections::VecDeque<PendingKey>,
    pub totals: Totals,
    since_budget_check: u32,
    finished_flows: usize,
    scratch_frames: Vec<FrameTuple>,
    scratch_problems: Vec<Problem>,
    /// Sharded: client IP → shard, and the packet that started each of our streams.
    dealt: HashMap<std::net::IpAddr, u16>,
    last_dealt: Option<(std::net::IpAddr, u16)>,
    stream_first_packets: Vec<u64>,
}

/// Closed connections remembered (so their last ACKs are not taken for new ones).
const MAX_FINISHED_FLOWS: usize = 65_536;

impl Dissector {
    pub fn new(mut opts: Options) -> Self {
        // Headers are decoded with FrameLimits: carry the extFields budget there.
        opts.frame.max_ext_fields = opts.limits.max_ext_fields;
        Self {
            opts,
            flows: HashMap::new(),
            next_stream: 0,
            pending: HashMap::new(),
            pending_order: std::collections::VecDeque::new(),
            totals: Totals::default(),
            since_budget_check: 0,
            finished_flows: 0,
            scratch_frames: Vec::new(),
            scratch_problems: Vec::new(),
            dealt: HashMap::new(),
            last_dealt: None,
            stream_first_packets: Vec::new(),
        }
    }

    /// Sharded: the packet number that started each of this dissector's streams, by stream
    /// number. One dissector numbers streams in order of these packets, so sorting the
    /// shards' lists together gives the numbers it would have given.
    pub fn stream_first_packets(&self) -> &[u64] {
        &self.stream_first_packets
    }

    /// Sharded: whether the connection of this segment is ours.
    fn owns(&mut self, shard: Shard, src: SocketAddr, dst: SocketAddr) -> bool {
        let client = match src.port().cmp(&dst.port()) {
            std::cmp::Ordering::Greater => src.ip(),
            std::cmp::Ordering::Less => dst.ip(),
            std::cmp::Ordering::Equal => src.ip().min(dst.ip()),
        };
        // Packets come in runs of one connection: the last answer first.
        if let Some((ip, owner)) = self.last_dealt
            && ip == client
        {
            return owner == shard.index;
        }
        let n = self.dealt.len();
        let owner = match self.dealt.get(&client) {
            Some(&o) => o,
            None if n < MAX_DEALT_CLIENTS => {
                let o = (n % shard.count as usize) as u16;
                self.dealt.insert(client, o);
                o
            }
            None => {
                // FNV-1a over the address: the same in every shard and every run.
                let bytes: Vec<u8> = match client {
                    std::net::IpAddr::V4(a) => a.octets().to_vec(),
                    std::net::IpAddr::V6(a) => a.octets().to_vec(),
                };
                let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                    (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3)
                });
                (h % shard.count as u64) as u16
            }
        };
        self.last_dealt = Some((client, owner));
        owner == shard.index
    }

    /// A damaged stretch of the capture file was skipped: one `capture` problem, located
    /// by file offset and the packet before it.
    pub fn handle_capture_damage<F: FnMut(Event)>(
        &mut self,
        d: &crate::capture::Damage,
        out: &mut F,
    ) {
        self.totals.capture_bytes_skipped += d.skipped;
        // Sharded, every pass reads the file; the first one reports.
        if self.opts.shard.is_none_or(|s| s.index == 0) {
            out(Event::Problem(Problem {
                packet: d.after_packet,
                stream: None,
                kind: ProblemKind::Capture,
                message: d.to_string(),
            }));
        }
    }

    /// Feeds one captured packet.
    pub fn handle_packet<F: FnMut(Event)>(
        &mut self,
        number: u64,
        ts: i64,
        link: LinkType,
        data: &[u8],
        out: &mut F,
    ) {
        self.totals.packets += 1;
        self.totals.bytes += data.len() as u64;
        self.totals.first_ts.get_or_insert(ts);
        self.totals.last_ts = Some(ts);
        let seg = match decode_packet(link, data) {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => {
                // Sharded, the first shard reports packets that belong to no connection.
                if self.opts.shard.is_none_or(|s| s.index == 0) {
                    out(Event::Problem(Problem {
                        packet: number,
                        stream: None,
                        kind: ProblemKind::Packet,
                        message: e.0,
                    }));
                }
                return;
            }
        };
        if let Some(shard) = self.opts.shard
            && !self.owns(shard, seg.src, seg.dst)
        {
            return;
        }
        self.totals.tcp_packets += 1;
        let key = flow_key(seg.src, seg.dst);
        let opts = self.opts;
        let sharded = opts.shard.is_some();
        let firsts = &mut self.stream_first_packets;
        let flow = self.flows.entry(key).or_insert_with(|| {
            let index = self.next_stream;
            self.next_stream += 1;
            self.totals.streams += 1;
            if sharded {
                firsts.push(number);
            }
            // A lone SYN-ACK means the other side is the client.
            let client_first = !(seg.syn && seg.ack);
            let ends = if client_first {
                [seg.src, seg.dst]
            } else {
                [seg.dst, seg.src]
            };
            Flow {
                index,
                ends,
                dirs: [Dir::new(opts.stream), Dir::new(opts.stream)],
                last_packet: number,
                last_ts: ts,
                closed: [false; 2],
                finished: false,
            }
        });
        if flow.finished {
            if seg.syn && !seg.ack {
                // Port reuse: a new connection on the same 4-tuple.
                let index = self.next_stream;
                self.next_stream += 1;
                self.totals.streams += 1;
                if sharded {
                    self.stream_first_packets.push(number);
                }
                *flow = Flow {
                    index,
                    ends: [seg.src, seg.dst],
                    dirs: [Dir::new(opts.stream), Dir::new(opts.stream)],
                    last_packet: number,
                    last_ts: ts,
                    closed: [false; 2],
                    finished: false,
                };
            } else {
                return;
            }
        }
        flow.last_packet = number;
        flow.last_ts = ts;
        let d = if seg.src == flow.ends[0] { 0 } else { 1 };
        let stream = flow.index;
        let (src, dst) = (seg.src, seg.dst);
        // Reused between packets: no allocation per packet.
        let mut frames = std::mem::take(&mut self.scratch_frames);
        let mut problems = std::mem::take(&mut self.scratch_problems);
        // This side's ACK tells what the other direction really sent: a hole in the
        // capture is declared as soon as data beyond it is captured too. Frames this
        // releases belong to the other direction and come out first.
        let mut acked_frames: Vec<FrameTuple> = Vec::new();
        if seg.ack && !seg.rst {
            let dir = &mut flow.dirs[1 - d];
            let half = &mut dir.half;
            let splitter = &mut dir.splitter;
            let syn_known = half.saw_syn;
            let mut on_stream = |e: StreamEvent<'_>| {
                handle_stream_event(
                    e,
                    splitter,
                    syn_known,
                    &opts,
                    stream,
                    &mut acked_frames,
                    &mut problems,
                )
            };
            half.handle_ack(seg.ack_number, &mut on_stream);
        }
        {
            let dir = &mut flow.dirs[d];
            let half = &mut dir.half;
            let splitter = &mut dir.splitter;
            // Offset 0 is a frame boundary only when the stream's start (SYN) was seen.
            let syn_known = half.saw_syn || seg.syn;
            let mut on_stream = |e: StreamEvent<'_>| {
                handle_stream_event(
                    e,
                    splitter,
                    syn_known,
                    &opts,
                    stream,
                    &mut frames,
                    &mut problems,
                )
            };
            half.handle_segment(
                seg.seq,
                seg.syn,
                seg.fin,
                seg.rst,
                seg.payload,
                number,
                ts,
                &mut on_stream,
            );
            if seg.missing > 0 {
                half.declare_lost(
                    seg.seq,
                    seg.payload.len(),
                    seg.missing,
                    number,
                    &mut on_stream,
                );
            }
        }
        if seg.missing > 0 {
            problems.push(Problem {
                packet: number,
                stream: Some(stream),
                kind: ProblemKind::Packet,
                message: format!(
                    "packet cut short by the capture's snap length: {} TCP payload bytes missing",
                    seg.missing
                ),
            });
        }
        if seg.fin || seg.rst {
            flow.closed[d] = true;
            if seg.rst {
                flow.closed = [true, true];
            }
        }
        let done = flow.closed[0] && flow.closed[1];
        self.emit_all(acked_frames.drain(..), stream, dst, src, out);
        self.emit_all(frames.drain(..), stream, src, dst, out);
        for p in problems.drain(..) {
            self.note_problem(&p);
            out(Event::Problem(p));
        }
        self.scratch_frames = frames;
        self.scratch_problems = problems;
        if done && let Some(mut flow) = self.flows.remove(&key) {
            self.flush_flow(&mut flow, out);
            flow.finished = true;
            flow.dirs = [Dir::new(opts.stream), Dir::new(opts.stream)];
            self.flows.insert(key, flow);
            self.finished_flows += 1;
            if self.finished_flows > MAX_FINISHED_FLOWS {
                self.flows.retain(|_, f| !f.finished);
                self.finished_flows = 0;
            }
        }
        self.since_budget_check += 1;
        if self.since_budget_check >= 1024 {
            self.since_budget_check = 0;
            self.expire_idle(ts, out);
            self.enforce_budget(number, out);
        }
    }

    fn note_problem(&mut self, p: &Problem) {
        if p.kind == ProblemKind::Gap {
            self.totals.gaps += 1;
        }
    }

    /// Emits frames of one direction (src → dst) of a connection.
    fn emit_all<F: FnMut(Event), I: IntoIterator<Item = FrameTuple>>(
        &mut self,
        frames: I,
        stream: u64,
        src: SocketAddr,
        dst: SocketAddr,
        out: &mut F,
    ) {
        for (res, packet, last_packet, fts, offset, len, wire) in frames {
            self.emit_frame(
                stream,
                src,
                dst,
                res,
                packet,
                last_packet,
                fts,
                offset,
                len,
                wire,
                out,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_frame<F: FnMut(Event)>(
        &mut self,
        stream: u64,
        src: SocketAddr,
        dst: SocketAddr,
        res: Result<RemotingCommand, FrameError>,
        packet: u64,
        last_packet: u64,
        ts: i64,
        offset: u64,
        frame_len: usize,
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
                    if let Some(prev) = self.pending.insert(
                        key,
                        RequestRef {
                            packet,
                            code: cmd.code,
                            ts,
                            topic,
                        },
                    ) {
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
                    if request.is_none() {
                        self.totals.unmatched_responses += 1;
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
            command: res,
            request,
            wire,
        })));
    }

    fn flush_flow<F: FnMut(Event)>(&mut self, flow: &mut Flow, out: &mut F) {
        let opts = self.opts;
        let stream = flow.index;
        for d in 0..2 {
            let (src, dst) = (flow.ends[d], flow.ends[1 - d]);
            let mut frames = Vec::new();
            let mut problems = Vec::new();
            {
                let dir = &mut flow.dirs[d];
                let half = &mut dir.half;
                let splitter = &mut dir.splitter;
                let mut on_stream = |e: StreamEvent<'_>| {
                    handle_stream_event(
                        e,
                        splitter,
                        false,
                        &opts,
                        stream,
                        &mut frames,
                        &mut problems,
                    )
                };
                half.flush(&mut on_stream);
                self.totals.retransmitted_bytes += half.stats.retransmitted_bytes;
                self.totals.gap_bytes += half.stats.gap_bytes;
                if let Some(sp) = splitter.as_mut() {
                    sp.finish(&mut |e| collect_split(e, &opts, stream, &mut frames, &mut problems));
                    // Bytes hunted through on a connection found not to be remoting
                    // traffic were not RocketMQ bytes: not counted as skipped.
                    if !sp.is_ignored() {
                        self.totals.skipped_bytes += sp.skipped;
                    }
                }
            }
            self.emit_all(frames, stream, src, dst, out);
            for p in problems {
                self.note_problem(&p);
                out(Event::Problem(p));
            }
        }
    }

    /// Flushes and forgets connections idle for longer than `idle_timeout_ns` of capture time.
    fn expire_idle<F: FnMut(Event)>(&mut self, now: i64, out: &mut F) {
        let limit = now.saturating_sub(self.opts.idle_timeout_ns);
        let idle: Vec<FlowKey> = self
            .flows
            .iter()
            .filter(|(_, f)| f.last_ts < limit)
            .map(|(k, _)| *k)
            .collect();
        let mut idle: Vec<(u64, FlowKey)> = idle
            .into_iter()
            .map(|k| (self.flows[&k].index, k))
            .collect();
        idle.sort();
        for (_, key) in idle {
            if let Some(mut flow) = self.flows.remove(&key)
                && !flow.finished
            {
                self.flush_flow(&mut flow, out);
            }
        }
    }

    /// Keeps the total of buffered bytes under `max_buffered_total` by giving up the holes
    /// of the flows holding the most.
    fn enforce_budget<F: FnMut(Event)>(&mut self, packet: u64, out: &mut F) {
        let total: usize = self
            .flows
            .values()
            .map(|f| f.dirs.iter().map(|d| d.buffered()).sum::<usize>())
            .sum();
        if total <= self.opts.max_buffered_total {
            return;
        }
        let mut sizes: Vec<(usize, FlowKey)> = self
            .flows
            .iter()
            .map(|(k, f)| (f.dirs.iter().map(|d| d.buffered()).sum(), *k))
            .collect();
        sizes.sort_by_key(|s| std::cmp::Reverse(s.0));
        let mut excess = total - self.opts.max_buffered_total;
        for (size, key) in sizes {
            if excess == 0 {
                break;
            }
            if let Some(mut flow) = self.flows.remove(&key) {
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
        let mut flows: Vec<Flow> = self
            .flows
            .drain()
            .map(|(_, f)| f)
            .filter(|f| !f.finished)
            .collect();
        flows.sort_by_key(|f| f.index);
        for mut f in flows {
            self.flush_flow(&mut f, out);
        }
        let mut left: Vec<(PendingKey, RequestRef)> = self.pending.drain().collect();
        left.sort_by_key(|(_, r)| r.packet);
        for ((stream, _, opaque), r) in left {
            self.totals.unanswered += 1;
            out(Event::Problem(Problem {
                packet: r.packet,
                stream: Some(stream),
                kind: ProblemKind::Unanswered,
                message: format!(
                    "request {} opaque {opaque} has no response in the capture",
                    crate::remoting::codes::RequestCode(r.code)
                ),
            }));
        }
        self.pending_order.clear();
    }
}

impl Dir {
    fn new(l: StreamLimits) -> Self {
        Self {
            half: HalfStream::new(l),
            splitter: None,
        }
    }
    fn buffered(&self) -> usize {
        self.half.pending_bytes() + self.splitter.as_ref().map(|s| s.buffered()).unwrap_or(0)
    }
}

type FrameTuple = (
    Result<RemotingCommand, FrameError>,
    u64,
    u64,
    i64,
    u64,
    usize,
    Option<Vec<u8>>,
);

fn handle_stream_event(
    e: StreamEvent<'_>,
    splitter: &mut Option<FrameSplitter>,
    syn_known: bool,
    opts: &Options,
    stream: u64,
    frames: &mut Vec<FrameTuple>,
    problems: &mut Vec<Problem>,
) {
    match e {
        StreamEvent::Data {
            offset,
            bytes,
            packet,
            ts,
        } => {
            let sp = splitter
                .get_or_insert_with(|| FrameSplitter::new(opts.frame, offset == 0 && syn_known));
            sp.push(offset, bytes, packet, ts, &mut |se| {
                collect_split(se, opts, stream, frames, problems)
            });
        }
        StreamEvent::Gap {
            offset,
            len,
            packet,
        } => {
            problems.push(Problem {
                packet,
                stream: Some(stream),
                kind: ProblemKind::Gap,
                message: format!("{len} bytes missing from the stream at offset {offset}: never captured (noticed at packet {packet})"),
            });
            if let Some(sp) = splitter.as_mut() {
                sp.gap(offset, len, &mut |se| {
                    collect_split(se, opts, stream, frames, problems)
                });
            }
        }
        StreamEvent::Conflict {
            offset,
            len,
            first_difference,
            used,
            other,
        } => problems.push(Problem {
            packet: used.max(other),
            stream: Some(stream),
            kind: ProblemKind::Conflict,
            message: format!(
                "retransmission conflict: packets {} and {} carry different bytes for the {len} stream bytes at offset {offset} (first difference at offset {first_difference}); packet {used}'s copy was used, packet {other}'s dropped",
                used.min(other),
                used.max(other)
            ),
        }),
    }
}

fn collect_split(
    e: SplitEvent<'_>,
    opts: &Options,
    stream: u64,
    frames: &mut Vec<FrameTuple>,
    problems: &mut Vec<Problem>,
) {
    match e {
        SplitEvent::Frame(f) => {
            let res = if opts.light {
                crate::remoting::command::decode_frame_light(
                    f.bytes,
                    &opts.frame,
                    light_key,
                    |c, body| {
                        if c.kind() == Kind::Response {
                            body.first() == Some(&b'{')
                        } else {
                            c.code == 320
                                || c.ext("m")
                                    .or_else(|| c.ext("batch"))
                                    .is_some_and(|b| b.eq_ignore_ascii_case("true") || b == "1")
                        }
                    },
                )
            } else {
                // The header's re-encoding layout only where the wire is kept to compare
                // with (verify, check); the extFields value kinds, which output shows,
                // always.
                let layout = if opts.keep_wire {
                    LayoutNeed::Full
                } else {
                    LayoutNeed::ExtForms
                };
                decode_frame_as(f.bytes, &opts.frame, layout)
            };
            let wire = opts.keep_wire.then(|| f.bytes.to_vec());
            frames.push((
                res,
                f.packet,
                f.last_packet,
                f.ts,
                f.offset,
                f.bytes.len(),
                wire,
            ));
        }
        SplitEvent::Problem(p) => {
            let kind = if p.reason.starts_with("truncated") || p.reason.starts_with("incomplete") {
                ProblemKind::Truncated
            } else {
                ProblemKind::Frame
            };
            problems.push(Problem {
                packet: p.packet,
                stream: Some(stream),
                kind,
                message: format!("{} (stream offset {})", p.reason, p.offset),
            });
        }
        SplitEvent::NotRemoting(p) => problems.push(Problem {
            packet: p.packet,
            stream: Some(stream),
            kind: ProblemKind::NotRemoting,
            message: p.reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::writer::{PacketSink, TcpConversation};
    use crate::remoting::command::encode_frame;

    /// Collects the synthesised raw-IP packets.
    struct Packets(Vec<Vec<u8>>);
    impl PacketSink for Packets {
        fn packet(&mut self, _ts: i64, data: &[u8]) -> std::io::Result<()> {
            self.0.push(data.to_vec());
            Ok(())
        }
    }

    /// A sender that reuses one opaque for every request and never gets an answer (what a
    /// load generator, or a hostile capture, looks like): every request is counted and
    /// reported, and the pairing queue stays bounded by what is pending instead of growing
    /// with every request (it grew without bound before, which made each request cost a
    /// scan of all earlier ones).
    #[test]
    fn reused_opaques_keep_the_pending_queue_bounded() {
        let mut sink = Packets(Vec::new());
        let mut c = TcpConversation::new(
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:10911".parse().unwrap(),
        );
        c.handshake(&mut sink, 0).unwrap();
        let frame = encode_frame(&RemotingCommand {
            code: 310,
            opaque: 1,
            body: b"x".to_vec(),
            ..Default::default()
        });
        let n = 20_000;
        for i in 0..n {
            c.send(&mut sink, i, true, &frame).unwrap();
        }
        let mut d = Dissector::new(Options::default());
        let (mut frames, mut unanswered, mut max_queue) = (0, 0, 0);
        for (i, p) in sink.0.iter().enumerate() {
            d.handle_packet(
                i as u64 + 1,
                i as i64,
                LinkType::ETHERNET,
                p,
                &mut |e| match e {
                    Event::Frame(_) => frames += 1,
                    Event::Problem(p) if p.kind == ProblemKind::Unanswered => unanswered += 1,
                    Event::Problem(_) => {}
                },
            );
            max_queue = max_queue.max(d.pending_order.len());
        }
        d.finish(&mut |e| {
            if let Event::Problem(p) = e {
                unanswered += (p.kind == ProblemKind::Unanswered) as usize;
            }
        });
        assert_eq!(frames, n as usize);
        assert_eq!(unanswered, n as usize);
        assert!(
            max_queue <= 2 + 1024 + 1,
            "pending queue grew to {max_queue}"
        );
    }
}
