//! A connection's stream events to frames: splitting, decoding (full or light), and the
//! problems found on the way.

use std::net::SocketAddr;

use super::{Options, Problem, ProblemKind};
use crate::reassembly::StreamEvent;
use crate::remoting::command::{FrameError, Kind, LayoutNeed, RemotingCommand, decode_frame_as};
use crate::remoting::stream::{FrameSplitter, SplitEvent};

/// The extFields kept by [`Options::light`] decoding: producer group, topic, queue,
/// properties and batch flag, as V2 letters or V1 names (sends); the consumer's group,
/// offsets and long-poll fields (`PullMessageRequestHeader`, `PullMessageResponseHeader`,
/// `UpdateConsumerOffsetRequestHeader`, `GetMaxOffsetResponseHeader`,
/// `PopMessageRequestHeader`, `PopMessageResponseHeader`'s offset infos,
/// `AckMessageRequestHeader`, `ChangeInvisibleTimeRequestHeader`).
pub fn light_key(k: &str) -> bool {
    match k.as_bytes() {
        // SEND_MESSAGE_V2's letters, the common case, without a string compare.
        [c] => matches!(c, b'a' | b'b' | b'e' | b'i' | b'm'),
        _ => matches!(
            k,
            "topic"
                | "producerGroup"
                | "queueId"
                | "properties"
                | "batch"
                | "consumerGroup"
                | "queueOffset"
                | "commitOffset"
                | "sysFlag"
                | "suspendTimeoutMillis"
                | "pollTime"
                | "nextBeginOffset"
                | "maxOffset"
                | "offset"
                | "startOffsetInfo"
                | "msgOffsetInfo"
                | "orderCountInfo"
        ),
    }
}

/// The bytes of a whole frame after its header: `length - 4 - headerLength` (0 for a frame
/// too short to say).
fn body_len_of(frame: &[u8]) -> usize {
    let Some(word) = frame.get(4..8) else {
        return 0;
    };
    let header = (u32::from_be_bytes([word[0], word[1], word[2], word[3]]) & 0x00FF_FFFF) as usize;
    frame.len().saturating_sub(8usize.saturating_add(header))
}

pub(super) type FrameTuple = (
    Result<RemotingCommand, FrameError>,
    u64,
    u64,
    i64,
    u64,
    usize,
    usize,
    Option<Vec<u8>>,
);

/// The direction of a half-connection, for problem messages: its addresses and whether it
/// is client -> server (known when the handshake was seen).
#[derive(Clone, Copy)]
pub(super) struct Direction {
    src: SocketAddr,
    dst: SocketAddr,
    label: &'static str,
}

impl Direction {
    /// Direction `d` of a flow (0: from `ends[0]`).
    pub(super) fn of(flow: &super::Flow, d: usize) -> Self {
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
/// `Flow::peer_remoting`).
#[allow(clippy::too_many_arguments)]
pub(super) fn handle_stream_event(
    e: StreamEvent<'_>,
    splitter: &mut Option<Box<FrameSplitter>>,
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
                .get_or_insert_with(|| {
                    Box::new(FrameSplitter::new(opts.frame, offset == 0 && syn_known))
                });
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

pub(super) fn collect_split(
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
                            // Batches; HEART_BEAT's HeartbeatData and BATCH_ACK_MESSAGE's
                            // body (the consumer view).
                            c.code == 320
                                || c.code == 34
                                || c.code == 200151
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
                body_len_of(f.bytes),
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
