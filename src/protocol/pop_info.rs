//! The offsets a POP_MESSAGE answer carries in its header (`PopMessageResponseHeader`
//! `startOffsetInfo`, `msgOffsetInfo`, `orderCountInfo`), as apache/rocketmq's
//! `remoting/protocol/header/ExtraInfoUtil.java` builds and parses them.
//!
//! ```text
//! startOffsetInfo  RETRY ' ' queueId ' ' startOffset           (buildStartOffsetInfo)
//! msgOffsetInfo    RETRY ' ' queueId ' ' offset(','offset)*     (buildMsgOffsetInfo)
//! orderCountInfo   RETRY ' ' queueId ' ' count                  (buildQueueIdOrderCountInfo)
//!                  RETRY ' ' 'qo' queueId '%' queueOffset ' ' count
//!                                                               (buildQueueOffsetOrderCountInfo)
//! entries joined by ';'; RETRY "0" the topic itself, "1" its pop retry topic
//! %RETRY%{group}_{topic}, "2" %RETRY%{group}+{topic} (KeyBuilder.buildPopRetryTopicV1/V2)
//! ```
//!
//! Java's `parse*Info` throw on an entry without exactly three fields, a number that does
//! not parse, or a queue named twice; here each such entry is a located [`PopInfoError`]
//! and the entries around it are still decoded. The entries and the offsets of one frame
//! are counted against `Limits::max_messages_per_frame` (an answer holds at most that
//! many messages, so at most that many offsets): past it the rest is counted, not kept.

use std::fmt;

use crate::limits::Limits;

/// Which topic an entry is about (`ExtraInfoUtil.getRetry`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Retry {
    /// "0": the topic popped.
    Normal,
    /// "1": `%RETRY%{group}_{topic}`.
    RetryV1,
    /// "2": `%RETRY%{group}+{topic}`.
    RetryV2,
}

impl Retry {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "0" => Some(Self::Normal),
            "1" => Some(Self::RetryV1),
            "2" => Some(Self::RetryV2),
            _ => None,
        }
    }

    /// The digit on the wire.
    pub fn wire(self) -> u8 {
        match self {
            Self::Normal => 0,
            Self::RetryV1 => 1,
            Self::RetryV2 => 2,
        }
    }

    /// The topic the entry's queue belongs to (`ExtraInfoUtil.getRealTopic`).
    pub fn topic(self, topic: &str, group: &str) -> String {
        match self {
            Self::Normal => topic.to_string(),
            Self::RetryV1 => format!("%RETRY%{group}_{topic}"),
            Self::RetryV2 => format!("%RETRY%{group}+{topic}"),
        }
    }
}

/// `startOffsetInfo`: where the pop of a queue started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartOffset {
    pub retry: Retry,
    pub queue_id: i32,
    pub start_offset: i64,
}

/// `msgOffsetInfo`: the queue offsets of the messages popped from a queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgOffsets {
    pub retry: Retry,
    pub queue_id: i32,
    pub offsets: Vec<i64>,
}

/// `orderCountInfo`: how often a queue (or one queue offset) was popped in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderCount {
    pub retry: Retry,
    pub queue_id: i32,
    /// The `qo{queueId}%{queueOffset}` form names one message.
    pub queue_offset: Option<i64>,
    pub count: i32,
}

/// The three fields decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PopInfo {
    pub start_offsets: Vec<StartOffset>,
    pub msg_offsets: Vec<MsgOffsets>,
    pub order_counts: Vec<OrderCount>,
}

/// What could not be decoded, located by header field and entry (0-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PopInfoError {
    /// An entry that is not `RETRY queue value` as Java builds it.
    Malformed {
        field: &'static str,
        entry: usize,
        /// The entry as written (its first 64 characters).
        text: String,
        reason: &'static str,
    },
    /// A queue named a second time in one field (Java refuses the whole field).
    Duplicate {
        field: &'static str,
        entry: usize,
        queue: String,
    },
    /// Entries or offsets past `max_messages_per_frame`, counted.
    Limit {
        field: &'static str,
        left_out: usize,
        max: usize,
    },
}

impl fmt::Display for PopInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed {
                field,
                entry,
                text,
                reason,
            } => write!(f, "{field} entry {entry} {text:?}: {reason}"),
            Self::Duplicate {
                field,
                entry,
                queue,
            } => write!(
                f,
                "{field} entry {entry}: queue {queue} named twice (ExtraInfoUtil refuses the field)"
            ),
            Self::Limit {
                field,
                left_out,
                max,
            } => write!(
                f,
                "{field}: {left_out} entries or offsets left out past max_messages_per_frame {max}"
            ),
        }
    }
}

impl PopInfoError {
    /// Whether this is a budget cut (a `limit` problem), not a malformed entry.
    pub fn is_limit(&self) -> bool {
        matches!(self, Self::Limit { .. })
    }
}

/// An entry's first 64 characters, for messages.
fn cut(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Splits `s` into (RETRY, queue part, value part) entries and hands each to `each`,
/// while `room` (what is left of `max`) lasts (`each` takes from it what it keeps); the
/// entries past it are counted in one limit error. An empty field has no entries (Java's null).
fn entries<'a>(
    field: &'static str,
    s: &'a str,
    errors: &mut Vec<PopInfoError>,
    room: &mut usize,
    max: usize,
    mut each: impl FnMut(usize, Retry, &'a str, &'a str, &mut usize) -> Result<(), &'static str>,
) {
    if s.is_empty() {
        return;
    }
    let mut left_out = 0usize;
    for (i, one) in s.split(';').enumerate() {
        if *room == 0 {
            left_out += 1 + one.matches(',').count();
            continue;
        }
        let mut parts = one.split(' ');
        let (Some(r), Some(q), Some(v), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            errors.push(PopInfoError::Malformed {
                field,
                entry: i,
                text: cut(one),
                reason: "not three space-separated fields",
            });
            continue;
        };
        let Some(retry) = Retry::parse(r) else {
            errors.push(PopInfoError::Malformed {
                field,
                entry: i,
                text: cut(one),
                reason: "the retry field is not 0, 1 or 2",
            });
            continue;
        };
        if let Err(reason) = each(i, retry, q, v, room) {
            errors.push(PopInfoError::Malformed {
                field,
                entry: i,
                text: cut(one),
                reason,
            });
        }
    }
    if left_out > 0 {
        errors.push(PopInfoError::Limit {
            field,
            left_out,
            max,
        });
    }
}

fn queue_id(q: &str) -> Result<i32, &'static str> {
    q.parse().map_err(|_| "the queueId is not an int")
}

/// Decodes the three header fields of a POP_MESSAGE answer (absent ones are empty),
/// within `limits.max_messages_per_frame` items in all; the entries that do not decode
/// are left out and said in the errors, in field order.
pub fn decode(
    start_offset_info: Option<&str>,
    msg_offset_info: Option<&str>,
    order_count_info: Option<&str>,
    limits: &Limits,
) -> (PopInfo, Vec<PopInfoError>) {
    let mut info = PopInfo::default();
    let mut errors = Vec::new();
    let mut room = limits.max_messages_per_frame;
    let mut dup = Vec::new();
    let mut cut_offsets = 0usize;
    const START: &str = "startOffsetInfo";
    entries(
        START,
        start_offset_info.unwrap_or(""),
        &mut errors,
        &mut room,
        limits.max_messages_per_frame,
        |i, retry, q, v, room| {
            let queue_id = queue_id(q)?;
            let start_offset = v.parse().map_err(|_| "the startOffset is not a long")?;
            if info
                .start_offsets
                .iter()
                .any(|x| (x.retry, x.queue_id) == (retry, queue_id))
            {
                dup.push((START, i, format!("{} {queue_id}", retry.wire())));
                return Ok(());
            }
            *room -= 1;
            info.start_offsets.push(StartOffset {
                retry,
                queue_id,
                start_offset,
            });
            Ok(())
        },
    );
    const MSG: &str = "msgOffsetInfo";
    entries(
        MSG,
        msg_offset_info.unwrap_or(""),
        &mut errors,
        &mut room,
        limits.max_messages_per_frame,
        |i, retry, q, v, room| {
            let queue_id = queue_id(q)?;
            if info
                .msg_offsets
                .iter()
                .any(|x| (x.retry, x.queue_id) == (retry, queue_id))
            {
                dup.push((MSG, i, format!("{} {queue_id}", retry.wire())));
                return Ok(());
            }
            // Checked before anything is kept: a bad offset leaves the entry out whole.
            let mut n = 0usize;
            for o in v.split(',') {
                o.parse::<i64>().map_err(|_| "an offset is not a long")?;
                n += 1;
            }
            let keep = n.min(*room);
            let offsets: Vec<i64> = v
                .split(',')
                .take(keep)
                .filter_map(|o| o.parse().ok())
                .collect();
            *room -= keep;
            info.msg_offsets.push(MsgOffsets {
                retry,
                queue_id,
                offsets,
            });
            cut_offsets += n - keep;
            Ok(())
        },
    );
    const ORDER: &str = "orderCountInfo";
    entries(
        ORDER,
        order_count_info.unwrap_or(""),
        &mut errors,
        &mut room,
        limits.max_messages_per_frame,
        |i, retry, q, v, room| {
            let (queue_id, queue_offset) = match q.strip_prefix("qo") {
                Some(rest) => {
                    let (qid, off) = rest
                        .split_once('%')
                        .ok_or("a qo key without %queueOffset")?;
                    (
                        queue_id(qid)?,
                        Some(off.parse().map_err(|_| "the queueOffset is not a long")?),
                    )
                }
                None => (queue_id(q)?, None),
            };
            let count = v.parse().map_err(|_| "the count is not an int")?;
            if info
                .order_counts
                .iter()
                .any(|x| (x.retry, x.queue_id, x.queue_offset) == (retry, queue_id, queue_offset))
            {
                dup.push((ORDER, i, format!("{} {q}", retry.wire())));
                return Ok(());
            }
            *room -= 1;
            info.order_counts.push(OrderCount {
                retry,
                queue_id,
                queue_offset,
                count,
            });
            Ok(())
        },
    );
    for (field, entry, queue) in dup {
        errors.push(PopInfoError::Duplicate {
            field,
            entry,
            queue,
        });
    }
    if cut_offsets > 0 {
        errors.push(PopInfoError::Limit {
            field: MSG,
            left_out: cut_offsets,
            max: limits.max_messages_per_frame,
        });
    }
    (info, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header of the POP_MESSAGE answer in captures/java/java5-broker5.pcap (packet
    /// 375, the Java 5.3.3 broker), and the strings of ExtraInfoUtilTest's builders.
    #[test]
    fn decodes_what_the_java_broker_wrote() {
        let (info, errors) = decode(
            Some("0 0 0;0 1 0;0 2 0;0 3 0"),
            Some("0 0 0,1,2,3;0 1 0,1,2,3,4;0 2 0,1,2;0 3 0,1,2,3"),
            None,
            &Limits::default(),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(info.start_offsets.len(), 4);
        assert_eq!(
            info.start_offsets[1],
            StartOffset {
                retry: Retry::Normal,
                queue_id: 1,
                start_offset: 0
            }
        );
        let n: Vec<usize> = info.msg_offsets.iter().map(|m| m.offsets.len()).collect();
        assert_eq!(n, [4, 5, 3, 4]);
        assert_eq!(info.msg_offsets[1].offsets, [0, 1, 2, 3, 4]);
        // buildQueueOffsetOrderCountInfo and buildQueueIdOrderCountInfo, a retry topic.
        let (info, errors) = decode(None, None, Some("0 qo3%17 2;1 5 1"), &Limits::default());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            info.order_counts,
            [
                OrderCount {
                    retry: Retry::Normal,
                    queue_id: 3,
                    queue_offset: Some(17),
                    count: 2
                },
                OrderCount {
                    retry: Retry::RetryV1,
                    queue_id: 5,
                    queue_offset: None,
                    count: 1
                }
            ]
        );
        assert_eq!(Retry::RetryV2.topic("T", "G"), "%RETRY%G+T");
    }

    /// Each kind of malformed entry is located and its neighbours still decode.
    #[test]
    fn malformed_entries_are_located_and_the_rest_decodes() {
        let (info, errors) = decode(
            Some("0 0 5;0 1;7 2 0;0 x 1;0 3 y;0 0 6;0 4 9"),
            Some("0 0 1,2,z;0 1 4"),
            Some("0 qo1 2;0 2 n"),
            &Limits::default(),
        );
        let q: Vec<i32> = info.start_offsets.iter().map(|s| s.queue_id).collect();
        assert_eq!(q, [0, 4]);
        assert_eq!(info.msg_offsets.len(), 1);
        assert_eq!(info.msg_offsets[0].offsets, [4]);
        assert!(info.order_counts.is_empty());
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "startOffsetInfo entry 1 \"0 1\": not three space-separated fields",
                "startOffsetInfo entry 2 \"7 2 0\": the retry field is not 0, 1 or 2",
                "startOffsetInfo entry 3 \"0 x 1\": the queueId is not an int",
                "startOffsetInfo entry 4 \"0 3 y\": the startOffset is not a long",
                "msgOffsetInfo entry 0 \"0 0 1,2,z\": an offset is not a long",
                "orderCountInfo entry 0 \"0 qo1 2\": a qo key without %queueOffset",
                "orderCountInfo entry 1 \"0 2 n\": the count is not an int",
                "startOffsetInfo entry 5: queue 0 0 named twice (ExtraInfoUtil refuses the field)",
            ]
        );
        assert!(errors.iter().all(|e| !e.is_limit()));
    }

    /// Offsets and entries count against max_messages_per_frame: past it they are
    /// counted, and nothing is allocated for them.
    #[test]
    fn offsets_past_the_budget_are_counted_not_kept() {
        let limits = Limits {
            max_messages_per_frame: 5,
            ..Limits::default()
        };
        let many = format!("0 0 {}", vec!["7"; 1000].join(","));
        let (info, errors) = decode(Some("0 0 1;0 1 1"), Some(&many), Some("0 1 1"), &limits);
        assert_eq!(info.start_offsets.len(), 2);
        assert_eq!(info.msg_offsets[0].offsets.len(), 3);
        assert!(info.order_counts.is_empty());
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "orderCountInfo: 1 entries or offsets left out past max_messages_per_frame 5",
                "msgOffsetInfo: 997 entries or offsets left out past max_messages_per_frame 5",
            ]
        );
        assert!(errors.iter().all(PopInfoError::is_limit));
    }
}
