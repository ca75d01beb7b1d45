//! The pipeline from packets to paired, decoded commands: link decode → per-connection TCP
//! reassembly → frame splitting → frame decode → request/response pairing.
//!
//! Sans-IO: [`Dissector::handle_packet`] takes a packet (bytes, number, capture time) and
//! calls back with [`Event`]s; [`Dissector::finish`] flushes every stream at the end. No
//! clock is read: flow ages use packet time.

mod frames;
mod lifecycle;
mod pairing;
mod records;

// foldhash: fast, and randomly seeded per process, so crafted captures cannot force
// collisions.
use foldhash::{HashSet, HashSetExt};
use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::capture::{LinkType, decode_packet};
use crate::reassembly::{HalfStream, StreamEvent, StreamLimits};
use crate::remoting::command::{FrameError, FrameLimits, Kind, RemotingCommand};
use crate::remoting::stream::FrameSplitter;

pub use frames::light_key;
use frames::{Direction, FrameTuple, collect_split, handle_stream_event};
pub use records::*;

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
        let mut h = FNV_OFFSET;
        for end in [lo, hi] {
            match end.ip() {
                std::net::IpAddr::V4(ip) => fnv(&mut h, &ip.octets()),
                std::net::IpAddr::V6(ip) => fnv(&mut h, &ip.octets()),
            }
            fnv(&mut h, &end.port().to_be_bytes());
        }
        fold(h, count)
    }

    /// [`Shard::owner`] of an IPv4 connection given as `(address << 16) | port` of each
    /// end (as [`crate::capture::ipv4_tcp_ends`] reads them): the same shard, without
    /// building socket addresses. Such values order as the socket addresses do.
    pub fn owner_v4(count: u16, a: u64, b: u64) -> u16 {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let mut h = FNV_OFFSET;
        fnv(&mut h, &lo.to_be_bytes()[2..]);
        fnv(&mut h, &hi.to_be_bytes()[2..]);
        fold(h, count)
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over `bytes`.
fn fnv(h: &mut u64, bytes: &[u8]) {
    for &x in bytes {
        *h = (*h ^ x as u64).wrapping_mul(0x0100_0000_01b3);
    }
}

/// The shard of hash `h`: the low bits of FNV-1a are the weakest, so the high half is
/// folded in.
fn fold(h: u64, count: u16) -> u16 {
    ((h ^ (h >> 32)) % count.max(1) as u64) as u16
}

/// `(address << 16) | port` of an IPv4 endpoint ([`Shard::owner_v4`]).
fn v4_end(ip: [u8; 4], port: u16) -> u64 {
    ((u32::from_be_bytes(ip) as u64) << 16) | port as u64
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

struct Dir {
    half: HalfStream,
    /// Boxed: a direction that never carries data (the answer side of a SYN flood or of
    /// one-packet connections) costs a pointer, not a splitter's couple of hundred bytes.
    splitter: Option<Box<FrameSplitter>>,
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
/// buffered. A sharded pass ([`Options::shard`]) gets `1/count` of each of these, so the
/// passes together hold what one pass would.
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
    /// The same for IPv4 endpoints read at fixed offsets (before any decoding).
    last_owned_v4: Option<((u64, u64), bool)>,
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
        // Sharded, the passes run at once: each gets its share of the tracking budget, so
        // that `--threads N` holds what one pass holds, not N times it.
        if let Some(shard) = opts.shard
            && shard.count > 1
        {
            let share = |n: usize| n.div_ceil(shard.count as usize).max(1);
            opts.limits.max_flows = share(opts.limits.max_flows);
            opts.limits.max_half_open_flows = share(opts.limits.max_half_open_flows);
            opts.max_buffered_total = share(opts.max_buffered_total);
            opts.max_pending_requests = share(opts.max_pending_requests);
        }
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
            last_owned_v4: None,
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

    /// Sharded: whether the connection of a packet whose endpoints are read at fixed
    /// offsets ([`crate::capture::ipv4_tcp_ends`]) is ours.
    fn owns_v4(&mut self, shard: Shard, a: u64, b: u64) -> bool {
        let key = if a <= b { (a, b) } else { (b, a) };
        if let Some((k, ours)) = self.last_owned_v4
            && k == key
        {
            return ours;
        }
        let ours = Shard::owner_v4(shard.count, a, b) == shard.index;
        self.last_owned_v4 = Some((key, ours));
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
        // The earliest and the latest packet time: a capture whose clock stepped back
        // spans from its earliest to its latest packet, never a negative span.
        self.totals.first_ts = Some(self.totals.first_ts.map_or(ts, |f| f.min(ts)));
        self.totals.last_ts = Some(self.totals.last_ts.map_or(ts, |l| l.max(ts)));
        // Every 1024 packets of the capture, whatever they are (so passes side by side
        // sweep at the same packets, and times, as one pass): idle connections, budget.
        self.since_budget_check += 1;
        if self.since_budget_check >= 1024 {
            self.since_budget_check = 0;
            self.expire_idle(ts, out);
            self.enforce_budget(number, out);
        }
        // Sharded, the other shards' packets are skipped before any decoding where their
        // endpoints can be read at fixed offsets (nearly all packets): a pass then costs
        // little more than reading the capture for the connections it does not own.
        let mut owned = false;
        if let Some(shard) = self.opts.shard
            && let Some((sip, sport, dip, dport)) = crate::capture::ipv4_tcp_ends(link, data)
        {
            if !self.owns_v4(shard, v4_end(sip, sport), v4_end(dip, dport)) {
                return;
            }
            owned = true;
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
            && !owned
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
            let finished = match self.opts.shard {
                Some(sh) if sh.count > 1 => MAX_FINISHED_FLOWS.div_ceil(sh.count as usize),
                _ => MAX_FINISHED_FLOWS,
            };
            if self.closed.len() > finished {
                self.closed.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::writer::{PacketSink, TcpConversation};
    use crate::remoting::command::encode_frame;

    proptest::proptest! {
        /// The fixed-offset shard of an IPv4 connection is the one its socket addresses
        /// give, in either direction and for any number of shards (ends that share an
        /// address or a port included).
        #[test]
        fn owner_v4_is_owner(
            a in proptest::prelude::any::<([u8; 4], u16)>(),
            b in proptest::prelude::any::<([u8; 4], u16)>(),
            same_ip: bool,
            count in 1u16..9,
        ) {
            let b = if same_ip { (a.0, b.1) } else { b };
            let (sa, sb) = (SocketAddr::from(a), SocketAddr::from(b));
            let want = Shard::owner(count, sa, sb);
            proptest::prop_assert_eq!(Shard::owner_v4(count, v4_end(a.0, a.1), v4_end(b.0, b.1)), want);
            proptest::prop_assert_eq!(Shard::owner_v4(count, v4_end(b.0, b.1), v4_end(a.0, a.1)), want);
        }
    }

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
        let mut pending = 0;
        d.finish(&mut |e| {
            if let Event::Problem(p) = e {
                unanswered += (p.kind == ProblemKind::Unanswered) as usize;
                pending += (p.kind == ProblemKind::Pending) as usize;
            }
        });
        assert_eq!(frames, n as usize);
        // Each reuse of the opaque gives up the request before; the last one is still
        // within the 3 s default timeout at the capture's last packet (20 µs later).
        assert_eq!(unanswered, n as usize - 1);
        assert_eq!(pending, 1);
        assert!(
            max_queue <= 2 + 1024 + 1,
            "pending queue grew to {max_queue}"
        );
    }
}
