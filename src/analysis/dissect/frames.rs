//! A connection's stream events to frames: splitting, decoding (full or light), and the
//! problems found on the way.

use std::net::SocketAddr;

use super::{Options, Problem, ProblemKind};
use crate::reassembly::StreamEvent;
use crate::remoting::command::{FrameError, Kind, LayoutNeed, RemotingCommand, decode_frame_as};
use crate::remoting::stream::{FrameSplitter, SplitEvent};

/// The extFields kept by [`Options::light`] decoding, by the header's code (see
/// [`crate::remoting::command::KeyFilter`]): what statistics read and nothing else.
///
/// - Any request: `topic` (the pairing keeps it with the request).
/// - Sends (`RequestCode::is_send`): producer group, topic, queue, properties and batch
///   flag, as V2 letters or V1 names (`SendMessageRequestHeaderV2`, `SendMessageRequestHeader`).
/// - The consumer view's requests: `consumerGroup`, `queueId`, and by code the offsets and
///   long-poll fields (`PullMessageRequestHeader`, `UpdateConsumerOffsetRequestHeader`,
///   `GetMaxOffsetRequestHeader`, `PopMessageRequestHeader`, `AckMessageRequestHeader`,
///   `ChangeInvisibleTimeRequestHeader`, `NotificationRequestHeader`,
///   `PollingInfoRequestHeader`).
/// - Answers (any code may be a response code: the flag saying which usually comes after
///   extFields): `nextBeginOffset`, `maxOffset` (`PullMessageResponseHeader`), `offset`
///   (`GetMaxOffsetResponseHeader`) and `PopMessageResponseHeader`'s offset infos
///   (`startOffsetInfo`, `msgOffsetInfo`, `orderCountInfo`).
///
/// A header whose code comes after its extFields (`None`) keeps every key named above.
pub fn light_key(code: Option<i32>, k: &str) -> bool {
    let Some(code) = code else {
        return any_light_key(k);
    };
    if matches!(
        k,
        "nextBeginOffset"
            | "maxOffset"
            | "offset"
            | "topic"
            | "startOffsetInfo"
            | "msgOffsetInfo"
            | "orderCountInfo"
    ) {
        return true;
    }
    match code {
        10 | 310 | 320 | 324 | 325 => match k.as_bytes() {
            // SEND_MESSAGE_V2's letters, the common case, without a string compare.
            [c] => matches!(c, b'a' | b'b' | b'e' | b'i' | b'm'),
            _ => matches!(k, "producerGroup" | "queueId" | "properties" | "batch"),
        },
        // PULL_MESSAGE, LITE_PULL_MESSAGE
        11 | 361 => matches!(
            k,
            "consumerGroup"
                | "queueId"
                | "queueOffset"
                | "commitOffset"
                | "sysFlag"
                | "suspendTimeoutMillis"
        ),
        // UPDATE_CONSUMER_OFFSET
        15 => matches!(k, "consumerGroup" | "queueId" | "commitOffset"),
        // GET_MAX_OFFSET, HEART_BEAT, ACK_MESSAGE, CHANGE_MESSAGE_INVISIBLETIME,
        // BATCH_ACK_MESSAGE
        30 | 34 | 200051 | 200053 | 200151 => matches!(k, "consumerGroup" | "queueId"),
        // POP_MESSAGE, NOTIFICATION, POLLING_INFO
        200050 | 200054 | 200055 => matches!(k, "consumerGroup" | "queueId" | "pollTime"),
        _ => false,
    }
}

/// Every key [`light_key`] keeps for some code.
fn any_light_key(k: &str) -> bool {
    match k.as_bytes() {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A header whose code is known keeps only what the statistics read for that code
    /// (and the answers' offsets, any code being possibly a response code); the union of
    /// them when the code comes after the extFields.
    #[test]
    fn light_keys_follow_the_code() {
        let all = [
            "a",
            "b",
            "e",
            "i",
            "m",
            "topic",
            "producerGroup",
            "queueId",
            "properties",
            "batch",
            "consumerGroup",
            "queueOffset",
            "commitOffset",
            "sysFlag",
            "suspendTimeoutMillis",
            "pollTime",
            "nextBeginOffset",
            "maxOffset",
            "offset",
        ];
        let kept = |code: Option<i32>| -> Vec<&str> {
            all.iter().copied().filter(|k| light_key(code, k)).collect()
        };
        let answers = ["nextBeginOffset", "maxOffset", "offset"];
        // SEND_MESSAGE_V2: its letters, no consumer keys.
        assert_eq!(
            kept(Some(310)),
            [
                "a",
                "b",
                "e",
                "i",
                "m",
                "topic",
                "producerGroup",
                "queueId",
                "properties",
                "batch",
                "nextBeginOffset",
                "maxOffset",
                "offset"
            ]
        );
        // GET_ROUTEINFO_BY_TOPIC (and a SUCCESS answer): the topic and the offsets.
        assert_eq!(
            kept(Some(105)),
            ["topic", "nextBeginOffset", "maxOffset", "offset"]
        );
        assert_eq!(kept(Some(0)), kept(Some(105)));
        // PULL_MESSAGE: group, queue, offsets and the long-poll fields.
        for k in [
            "consumerGroup",
            "queueId",
            "queueOffset",
            "commitOffset",
            "sysFlag",
            "suspendTimeoutMillis",
        ]
        .iter()
        .chain(&answers)
        {
            assert!(light_key(Some(11), k), "{k}");
        }
        assert!(!light_key(Some(11), "b") && !light_key(Some(11), "pollTime"));
        assert!(light_key(Some(200050), "pollTime") && !light_key(Some(200050), "sysFlag"));
        // Unknown keys never, whatever the code; the code unknown: every key above.
        assert!(!light_key(Some(310), "c") && !light_key(None, "c"));
        assert_eq!(kept(None), all);
        for code in [10, 11, 15, 30, 34, 105, 310, 320, 361, 200050, 200151, -1] {
            assert!(kept(Some(code)).iter().all(|k| light_key(None, k)));
        }
    }
}
