//! What the dissector gives out: frames, the requests they answer, located problems, and
//! the totals of a run.

use std::net::SocketAddr;

use crate::remoting::command::{FrameError, RemotingCommand};

/// The request a response answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestRef {
    pub packet: u64,
    pub code: i32,
    pub ts: i64,
    /// The request's topic (extFields `topic`, or `b` of SEND_MESSAGE_V2), if it had one:
    /// the response does not repeat it.
    pub topic: Option<crate::remoting::command::ExtString>,
    /// A long poll ([`long_poll_ms`]): the broker holds it until a message comes or the
    /// poll time passes, so its latency is a wait, not a service time.
    pub long_poll: bool,
    /// How long the client waits for the answer (ms): a long poll's time plus
    /// [`LONG_POLL_SLACK_MS`], else [`DEFAULT_TIMEOUT_MS`]. A request still within it when
    /// the capture ends is pending, not unanswered.
    pub timeout_ms: i64,
}

/// The Java client's default request timeout: `DefaultMQProducer.sendMsgTimeout` and
/// `ClientConfig.mqClientApiTimeout`, 3,000 ms.
pub const DEFAULT_TIMEOUT_MS: i64 = 3_000;

/// What the Java push consumer allows a long poll beyond its poll time:
/// `DefaultMQPushConsumer.consumerTimeoutMillisWhenSuspend` (30,000 ms) minus
/// `brokerSuspendMaxTimeMillis` (15,000 ms), the RPC timeout of a suspended pull or pop.
pub const LONG_POLL_SLACK_MS: i64 = 15_000;

/// `PullSysFlag.FLAG_SUSPEND` (`common/sysflag/PullSysFlag.java`): the broker may hold the
/// pull until a message arrives, up to `suspendTimeoutMillis`.
pub const PULL_FLAG_SUSPEND: i64 = 1 << 1;

/// `PullSysFlag.FLAG_COMMIT_OFFSET`: the pull carries the consumer's `commitOffset`.
pub const PULL_FLAG_COMMIT_OFFSET: i64 = 1;

/// How long a request may be held by the broker as a long poll (ms), or None: PULL_MESSAGE
/// (11) and LITE_PULL_MESSAGE (361) with the suspend bit in `sysFlag`, for
/// `suspendTimeoutMillis` (`PullMessageRequestHeader`, `PullMessageProcessor`);
/// POP_MESSAGE (200050), NOTIFICATION (200054) and POLLING_INFO (200055) with a `pollTime`
/// (`PopMessageRequestHeader`, `NotificationRequestHeader`, `PollingInfoRequestHeader`).
pub fn long_poll_ms(cmd: &RemotingCommand) -> Option<i64> {
    let num = |k: &str| cmd.ext(k).and_then(|v| v.trim().parse::<i64>().ok());
    let wait = match cmd.code {
        11 | 361 => {
            if num("sysFlag").unwrap_or(0) & PULL_FLAG_SUSPEND == 0 {
                return None;
            }
            num("suspendTimeoutMillis")?
        }
        200050 | 200054 | 200055 => num("pollTime")?,
        _ => return None,
    };
    (wait > 0).then_some(wait)
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
    /// Bytes of the frame after its header (`length - 4 - headerLength`), also when light
    /// decoding left the body out.
    pub body_len: usize,
    pub command: Result<RemotingCommand, FrameError>,
    /// For a response: its request, when the capture holds it.
    pub request: Option<RequestRef>,
    /// The frame as on the wire (when `Options::keep_wire`).
    pub wire: Option<Vec<u8>>,
}

impl FrameRecord {
    /// Latency from request to response in microseconds; `None` also when the response is
    /// timestamped before its request (the capture's clock stepped back: a `clock` problem,
    /// and no latency rather than a negative one in histograms and percentiles).
    pub fn latency_us(&self) -> Option<i64> {
        self.request
            .as_ref()
            .filter(|r| self.ts >= r.ts)
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
    /// A request with no response in the capture, past its timeout when the capture ends.
    Unanswered,
    /// A request with no response yet, still within its timeout when the capture ends
    /// ([`RequestRef::timeout_ms`]): not a fault, the capture stopped first.
    Pending,
    /// A response with no request in the capture.
    Unmatched,
    /// A limit was reached and data was dropped.
    Limit,
    /// Two copies of the same TCP bytes differ (one was used, the other dropped).
    Conflict,
    /// A damaged stretch of the capture file was skipped.
    Capture,
    /// A response timestamped before its request: the capture's clock stepped back, so
    /// the pair has no latency.
    Clock,
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
            ProblemKind::Pending => "pending",
            ProblemKind::Unmatched => "unmatched",
            ProblemKind::Limit => "limit",
            ProblemKind::Conflict => "conflict",
            ProblemKind::Capture => "capture",
            ProblemKind::Clock => "clock",
        }
    }
}

impl ProblemKind {
    /// Whether `read --strict` fails on it: every kind but `pending` (a request the capture
    /// ended too early to see answered).
    pub fn is_fault(self) -> bool {
        self != ProblemKind::Pending
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
    /// Requests still within their timeout when the capture ended (`pending` problems).
    pub pending_at_end: u64,
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
    /// The earliest packet time (ns since the epoch).
    pub first_ts: Option<i64>,
    /// The latest packet time (ns since the epoch; the end requests still waiting are
    /// judged at).
    pub last_ts: Option<i64>,
}

impl Totals {
    /// Adds the totals of another capture dissected on its own (`stats` of several files):
    /// every count added, the first and last times the earliest and the latest.
    pub fn absorb(&mut self, o: &Totals) {
        self.packets += o.packets;
        self.tcp_packets += o.tcp_packets;
        self.bytes += o.bytes;
        self.streams += o.streams;
        self.frames += o.frames;
        self.undecodable += o.undecodable;
        self.requests += o.requests;
        self.responses += o.responses;
        self.oneways += o.oneways;
        self.unanswered += o.unanswered;
        self.pending_at_end += o.pending_at_end;
        self.unmatched_responses += o.unmatched_responses;
        self.gaps += o.gaps;
        self.gap_bytes += o.gap_bytes;
        self.retransmitted_bytes += o.retransmitted_bytes;
        self.skipped_bytes += o.skipped_bytes;
        self.capture_bytes_skipped += o.capture_bytes_skipped;
        self.capture_damage += o.capture_damage;
        self.dropped_by_limits += o.dropped_by_limits;
        self.evicted_flows += o.evicted_flows;
        self.evicted_half_open += o.evicted_half_open;
        self.first_ts = match (self.first_ts, o.first_ts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_ts = match (self.last_ts, o.last_ts) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}
