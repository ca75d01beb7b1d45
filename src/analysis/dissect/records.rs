//! What the dissector gives out: frames, the requests they answer, located problems, and
//! the totals of a run.

use std::net::SocketAddr;

use crate::remoting::command::{FrameError, RemotingCommand};

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
