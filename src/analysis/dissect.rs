//! The pipeline from packets to paired, decoded commands: link decode → per-connection TCP
//! reassembly → frame splitting → frame decode → request/response pairing.
//!
//! Sans-IO: [`Dissector::handle_packet`] takes a packet (bytes, number, capture time) and
//! calls back with [`Event`]s; [`Dissector::finish`] flushes every stream at the end. No
//! clock is read: flow ages use packet time.

// foldhash: fast, and randomly seeded per process, so crafted captures cannot force
// collisions.
use foldhash::{HashSet, HashSetExt};
use std::collections::BTreeMap;
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
    /// Record the streams whose connection ended (closed, idle, evicted), for
    /// [`Dissector::take_ended`]: statistics fold a connection's record when it ends.
    pub report_ended: bool,
    /// The decode and tracking budget (flows, messages, properties, extFields, inflation).
    pub limits: crate::limits::Limits,
}

/// One of `count` dissectors that read the same capture side by side, each taking some of
/// its connections: a connection belongs to the shard given by a fixed hash (FNV-1a) of its
/// two endpoints, in either order ([`Shard::owner`]), so loopback and single-IP captures
/// spread over every shard as well as captures of many clients. Every shard counts every
/// packet, so packet numbers agree; stream numbers are the shard's own (see
/// [`Dissector::stream_first_packets`] to number them as one dissector would).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u16,
    pub count: u16,
}

impl Shard {
    /// The shard that owns the connection between `a` and `b` (either order): FNV-1a over
    /// both endpoints, lower one first, the same in every shard, process and run. A reused
    /// 4-tuple (a new connection after FIN or idle time) stays in its shard.
    pub fn owner(count: u16, a: SocketAddr, b: SocketAddr) -> u16 {
        let (lo, hi) = flow_key(a, b);
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        let mut eat = |bytes: &[u8]| {
            for &x in bytes {
                h = (h ^ x as u64).wrapping_mul(0x0100_0000_01b3);
            }
        };
        for end in [lo, hi] {
            match end.ip() {
                std::net::IpAddr::V4(ip) => eat(&ip.octets()),
                std::net::IpAddr::V6(ip) => eat(&ip.octets()),
            }
            eat(&end.port().to_be_bytes());
        }
        // The low bits of FNV-1a are the weakest: fold the high half in.
        ((h ^ (h >> 32)) % count.max(1) as u64) as u16
    }
}

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
            report_ended: false,
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
    /// `capture` problems: damaged stretches skipped, and a damaged or truncated end of
    /// the file (whose lost bytes cannot be counted).
    pub capture_damage: u64,
    pub dropped_by_limits: u64,
    /// Connections flushed and forgotten before their end because more than
    /// `Limits::max_flows` were tracked (also counted in `dropped_by_limits`).
    pub evicted_flows: u64,
    /// Handshake-only connections (no payload yet) forgotten because more than
    /// `Limits::max_half_open_flows` were tracked (also counted in `dropped_by_limits`).
    pub evicted_half_open: u64,
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
    /// A packet with TCP payload was seen; until then the connection is half-open
    /// (handshake only) and counts against `Limits::max_half_open_flows`.
    has_data: bool,
}

type FlowKey = (SocketAddr, SocketAddr);

impl Flow {
    /// Whether direction `d`'s connection is known to be RocketMQ from elsewhere: the
    /// other direction has a frame whose header decodes, or either port is a RocketMQ
    /// port. Then `d` is not given up as not remoting for want of frames, and if it is
    /// given up anyway (a prologue, or before the other direction decoded), its bytes
    /// are counted as not checked.
    fn peer_remoting(&self, d: usize) -> bool {
        use crate::analysis::stats::RMQ_PORTS;
        self.ends.iter().any(|e| RMQ_PORTS.contains(&e.port()))
            || self.dirs[1 - d]
                .splitter
                .as_ref()
                .is_some_and(|s| s.good > 0)
    }
}

fn flow_key(a: SocketAddr, b: SocketAddr) -> FlowKey {
    if a <= b { (a, b) } else { (b, a) }
}

/// Pending requests are keyed by (connection, direction of the request, opaque).
type PendingKey = (u64, u8, i32);

/// Insertion-ordered maps: the flow table in order of last packet (front: idle longest).
type Lru<K, V> = hashlink::LinkedHashMap<K, V, foldhash::fast::RandomState>;
type LruSet<K> = hashlink::LinkedHashSet<K, foldhash::fast::RandomState>;

/// Evictions reported one by one (with packet and stream); later ones are counted and
/// summed up in one problem at the end.
pub const EVICTIONS_REPORTED: u64 = 10;

/// Packets to dissected frames. See the module docs.
///
/// Memory is bounded whatever the capture holds: at most `Limits::max_flows` connections
/// (the one idle longest is flushed and forgotten first), of which at most
/// `Limits::max_half_open_flows` handshake-only ones, at most [`MAX_FINISHED_FLOWS`] closed
/// ones remembered, `max_pending_requests` requests waiting, `max_buffered_total` bytes
/// buffered.
pub struct Dissector {
    opts: Options,
    /// Live connections, least recently active first.
    flows: Lru<FlowKey, Flow>,
    /// The live connections with no payload yet, oldest first.
    half_open: LruSet<FlowKey>,
    /// Closed connections (both sides FIN or an RST), oldest first: their last ACKs are
    /// ignored instead of starting a new connection.
    closed: LruSet<FlowKey>,
    /// Sum of `Dir::buffered` over `flows`, kept up to date per packet.
    buffered: usize,
    /// Evictions reported so far (see [`EVICTIONS_REPORTED`]) and the last evicting packet.
    evictions_reported: u64,
    last_eviction_packet: u64,
    next_stream: u64,
    /// Ordered, so the requests of one connection are a range (given up together when the
    /// connection is evicted).
    pending: BTreeMap<PendingKey, RequestRef>,
    pending_order: std::collections::VecDeque<PendingKey>,
    pub totals: Totals,
    since_budget_check: u32,
    scratch_frames: Vec<FrameTuple>,
    scratch_problems: Vec<Problem>,
    /// Sharded: the last connection asked about and whether it is ours (packets come in
    /// runs of one connection), and the packet that started each of our streams.
    last_owned: Option<(FlowKey, bool)>,
    stream_first_packets: Vec<u64>,
    /// Streams ended since the last [`Dissector::take_ended`] (with `report_ended`).
    ended: Vec<u64>,
}

/// Closed connections remembered (so their last ACKs are not taken for new ones); past it
/// the oldest are forgotten (an ACK of one of those then starts a connection that carries
/// nothing and is flushed silently).
pub const MAX_FINISHED_FLOWS: usize = 65_536;

impl Dissector {
    pub fn new(mut opts: Options) -> Self {
        // Headers are decoded with FrameLimits: carry the extFields budget there.
        opts.frame.max_ext_fields = opts.limits.max_ext_fields;
        Self {
            opts,
            flows: Lru::default(),
            half_open: LruSet::default(),
            closed: LruSet::default(),
            buffered: 0,
            evictions_reported: 0,
            last_eviction_packet: 0,
            next_stream: 0,
            pending: BTreeMap::new(),
            pending_order: std::collections::VecDeque::new(),
            totals: Totals::default(),
            since_budget_check: 0,
            scratch_frames: Vec::new(),
            scratch_problems: Vec::new(),
            last_owned: None,
            stream_first_packets: Vec::new(),
            ended: Vec::new(),
        }
    }

    /// Sharded: the packet number that started each of this dissector's streams, by stream
    /// number. One dissector numbers streams in order of these packets, so sorting the
    /// shards' lists together gives the numbers it would have given.
    pub fn stream_first_packets(&self) -> &[u64] {
        &self.stream_first_packets
    }

    /// The streams whose connection ended since the last call, in the order they ended
    /// (only with [`Options::report_ended`]): every frame and problem of such a stream has
    /// been given out, and later packets of its 4-tuple start a new stream.
    pub fn take_ended(&mut self) -> std::vec::Drain<'_, u64> {
        self.ended.drain(..)
    }

    /// Sharded: whether the connection of this segment is ours.
    fn owns(&mut self, shard: Shard, src: SocketAddr, dst: SocketAddr) -> bool {
        let key = flow_key(src, dst);
        if let Some((k, ours)) = self.last_owned
            && k == key
        {
            return ours;
        }
        let ours = Shard::owner(shard.count, src, dst) == shard.index;
        self.last_owned = Some((key, ours));
        ours
    }

    /// A damaged stretch of the capture file was skipped: one `capture` problem, located
    /// by file offset and the packet before it.
    pub fn handle_capture_damage<F: FnMut(Event)>(
        &mut self,
        d: &crate::capture::Damage,
        out: &mut F,
    ) {
        self.totals.capture_bytes_skipped += d.skipped;
        self.capture_problem(d.after_packet, d.to_string(), out);
    }

    /// The capture file ends damaged or truncated (`e.damaged_end()` is Some): one
    /// `capture` problem located after the last packet read, like a damaged stretch.
    /// Returns the error back when it is not such an end (not a capture, I/O error).
    pub fn handle_capture_end<F: FnMut(Event)>(
        &mut self,
        e: crate::capture::CaptureError,
        out: &mut F,
    ) -> Option<crate::capture::CaptureError> {
        let Some(after) = e.damaged_end() else {
            return Some(e);
        };
        self.capture_problem(after, e.to_string(), out);
        None
    }

    fn capture_problem<F: FnMut(Event)>(&mut self, after: u64, message: String, out: &mut F) {
        self.totals.capture_damage += 1;
        // Sharded, every pass reads the file; the first one reports.
        if self.opts.shard.is_none_or(|s| s.index == 0) {
            out(Event::Problem(Problem {
                packet: after,
                stream: None,
                kind: ProblemKind::Capture,
                message,
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
        // Every 1024 packets of the capture, whatever they are (so passes side by side
        // sweep at the same packets, and times, as one pass): idle connections, budget.
        self.since_budget_check += 1;
        if self.since_budget_check >= 1024 {
            self.since_budget_check = 0;
            self.expire_idle(ts, out);
            self.enforce_budget(number, out);
        }
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
        if !self.flows.contains_key(&key) {
            if self.closed.contains(&key) {
                if !seg.syn || seg.ack {
                    // A late packet (final ACK) of a closed connection.
                    return;
                }
                // Port reuse: a new connection on the same 4-tuple.
                self.closed.remove(&key);
            }
            self.make_room(number, seg.payload.is_empty(), out);
            let index = self.next_stream;
            self.next_stream += 1;
            self.totals.streams += 1;
            if opts.shard.is_some() {
                self.stream_first_packets.push(number);
            }
            // A lone SYN-ACK means the other side is the client.
            let client_first = !(seg.syn && seg.ack);
            let ends = if client_first {
                [seg.src, seg.dst]
            } else {
                [seg.dst, seg.src]
            };
            self.flows.insert(
                key,
                Flow {
                    index,
                    ends,
                    dirs: [Dir::new(opts.stream), Dir::new(opts.stream)],
                    last_packet: number,
                    last_ts: ts,
                    closed: [false; 2],
                    has_data: false,
                },
            );
            self.half_open.insert(key);
        }
        // Most recently active last: the front is the connection idle longest.
        let Some(flow) = self.flows.to_back(&key) else {
            return;
        };
        if !flow.has_data && !seg.payload.is_empty() {
            flow.has_data = true;
            self.half_open.remove(&key);
        }
        let buffered_before = flow.buffered();
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
        let peer = [flow.peer_remoting(0), flow.peer_remoting(1)];
        let dirs = [Direction::of(flow, 0), Direction::of(flow, 1)];
        if seg.ack && !seg.rst {
            let peer_remoting = peer[1 - d];
            let dir = &mut flow.dirs[1 - d];
            let half = &mut dir.half;
            let splitter = &mut dir.splitter;
            let syn_known = half.saw_syn;
            let mut on_stream = |e: StreamEvent<'_>| {
                handle_stream_event(
                    e,
                    splitter,
                    syn_known,
                    peer_remoting,
                    &opts,
                    stream,
                    dirs[1 - d],
                    &mut acked_frames,
                    &mut problems,
                )
            };
            half.handle_ack(seg.ack_number, number, &mut on_stream);
        }
        {
            let peer_remoting = peer[d];
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
                    peer_remoting,
                    &opts,
                    stream,
                    dirs[d],
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
        self.buffered = (self.buffered + flow.buffered()).saturating_sub(buffered_before);
        self.emit_all(acked_frames.drain(..), stream, dst, src, out);
        self.emit_all(frames.drain(..), stream, src, dst, out);
        for p in problems.drain(..) {
            self.note_problem(&p);
            out(Event::Problem(p));
        }
        self.scratch_frames = frames;
        self.scratch_problems = problems;
        if done && let Some(mut flow) = self.remove_flow(&key) {
            self.flush_flow(&mut flow, out);
            self.closed.insert(key);
            if self.closed.len() > MAX_FINISHED_FLOWS {
                self.closed.pop_front();
            }
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
    fn remove_flow(&mut self, key: &FlowKey) -> Option<Flow> {
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
    fn make_room<F: FnMut(Event)>(&mut self, packet: u64, half_open: bool, out: &mut F) {
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
    fn evicted<F: FnMut(Event)>(&mut self, packet: u64, mut flow: Flow, why: String, out: &mut F) {
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
    fn give_up_pending<F: FnMut(Event)>(&mut self, stream: u64, why: &str, out: &mut F) {
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
    fn expire_idle<F: FnMut(Event)>(&mut self, now: i64, out: &mut F) {
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
    fn enforce_budget<F: FnMut(Event)>(&mut self, packet: u64, out: &mut F) {
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
                    "{} connections evicted at the flow limits in all ({} over --max-flows {}, {} handshake-only over {}); the first {} reported one by one, {unreported} more not",
                    self.totals.evicted_flows + self.totals.evicted_half_open,
                    self.totals.evicted_flows,
                    self.opts.limits.max_flows,
                    self.totals.evicted_half_open,
                    self.opts.limits.max_half_open_flows,
                    self.evictions_reported,
                ),
            }));
        }
        let mut left: Vec<(PendingKey, RequestRef)> =
            std::mem::take(&mut self.pending).into_iter().collect();
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

impl Flow {
    fn buffered(&self) -> usize {
        self.dirs.iter().map(Dir::buffered).sum()
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

/// The direction of a half-connection, for problem messages: its addresses and whether it
/// is client -> server (known when the handshake was seen).
#[derive(Clone, Copy)]
struct Direction {
    src: SocketAddr,
    dst: SocketAddr,
    label: &'static str,
}

impl Direction {
    /// Direction `d` of a flow (0: from `ends[0]`).
    fn of(flow: &Flow, d: usize) -> Self {
        let handshake = flow.dirs.iter().any(|x| x.half.saw_syn);
        let label = match (handshake, d) {
            (true, 0) => "client->server",
            (true, _) => "server->client",
            (false, 0) => "from the first sender; no handshake seen",
            (false, _) => "to the first sender; no handshake seen",
        };
        Self {
            src: flow.ends[d],
            dst: flow.ends[1 - d],
            label,
        }
    }
}
/// `peer_remoting`: the connection is known to be RocketMQ from elsewhere (see
/// [`Flow::peer_remoting`]).
#[allow(clippy::too_many_arguments)]
fn handle_stream_event(
    e: StreamEvent<'_>,
    splitter: &mut Option<FrameSplitter>,
    syn_known: bool,
    peer_remoting: bool,
    opts: &Options,
    stream: u64,
    dir: Direction,
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
            sp.set_peer_remoting(peer_remoting);
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
                message: format!("{len} bytes missing from the stream {} -> {} ({}) at offset {offset}: never captured (noticed at packet {packet})", dir.src, dir.dst, dir.label),
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
                "retransmission conflict: packets {} and {} carry different bytes for the {len} stream bytes at offset {offset} ({}); packet {used}'s copy was used, packet {other}'s dropped",
                used.min(other),
                used.max(other),
                match first_difference {
                    Some(d) => format!("first difference at offset {d}"),
                    None => format!("the CRC-32 of packet {used}'s copy differs"),
                }
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
