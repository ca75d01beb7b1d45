//! Frame selection for `read` and `live`: `--code`, `--topic`, `--key`, `--group`,
//! `--stream`. Every message of a frame is looked at: sent ones, batch items, stored
//! messages of pull, pop, peek, query and view responses, and the messages unwrapped from
//! inner batches.

use std::collections::{HashMap, VecDeque};

use serde_json::Value;

use crate::analysis::FrameRecord;
use crate::protocol::{Decoded, Message};
use crate::remoting::codes::RequestCode;
use crate::remoting::command::Kind;

/// Requests remembered so that their responses match `--group` / `--topic` too (oldest
/// forgotten first).
const MAX_REMEMBERED: usize = 65_536;

/// Which frames to print. All set criteria must hold.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Request codes; a response matches by its request's code.
    pub codes: Vec<i32>,
    /// The header's topic or any message's topic; a response also matches when its request
    /// did (a pull response without messages names no topic).
    pub topic: Option<String>,
    /// A KEYS entry, a UNIQ_KEY or offset msgId of any message, or a msgId in the header.
    pub key: Option<String>,
    /// A consumerGroup / producerGroup / group / groupName header field, a group of a heartbeat or lock
    /// body (`HeartbeatData` producerDataSet/consumerDataSet `groupName`,
    /// `LockBatchRequestBody.consumerGroup`), a message's `PGROUP`; a response matches when
    /// its request did.
    pub group: Option<String>,
    /// TCP connection index.
    pub stream: Option<u64>,
    /// (stream, packet, opaque) of requests that matched `group` or `topic`, with what they
    /// matched: each inherited criterion is remembered on its own, whatever the request's
    /// other criteria (`key`, `code`…) said, since the response is judged on those itself.
    matched: HashMap<(u64, u64, i32), Inherited>,
    order: VecDeque<(u64, u64, i32)>,
}

/// The criteria a response inherits from its request (`NettyRemotingAbstract` pairs them
/// by opaque; the response repeats neither the group nor the topic).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Inherited {
    group: bool,
    topic: bool,
}

/// An unknown `--code` name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCode(pub String);

impl std::fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--code {}: not a request code name or number", self.0)
    }
}

impl std::error::Error for UnknownCode {}

impl Filter {
    /// The filter from the command line's options; codes by name or number.
    pub fn from_args(
        code: &[String],
        topic: Option<String>,
        key: Option<String>,
        group: Option<String>,
        stream: Option<u64>,
    ) -> Result<Filter, UnknownCode> {
        let codes = code
            .iter()
            .map(|c| {
                RequestCode::parse(c)
                    .map(|rc| rc.0)
                    .ok_or(UnknownCode(c.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Filter {
            codes,
            topic,
            key,
            group,
            stream,
            ..Default::default()
        })
    }

    /// Whether any criterion is set.
    pub fn active(&self) -> bool {
        !self.codes.is_empty()
            || self.topic.is_some()
            || self.key.is_some()
            || self.group.is_some()
            || self.stream.is_some()
    }

    /// Whether the frame is selected. Call it for every frame in capture order (`--group`
    /// and `--topic` remember matching requests for their responses). Each criterion is
    /// decided on its own and all must hold.
    pub fn matches(&mut self, r: &FrameRecord, d: Option<&Decoded>) -> bool {
        if let Some(s) = self.stream
            && r.stream != s
        {
            return false;
        }
        let cmd = r.command.as_ref().ok();
        let is_response = cmd.is_some_and(|c| c.kind() == Kind::Response);
        let own_topic = self
            .topic
            .as_deref()
            .is_some_and(|t| d.is_some_and(|d| names_topic(d, t)));
        // The inherited criteria first, so that a request is remembered for its response
        // even when it fails a criterion the response can satisfy by itself (a key).
        let inherited = if is_response {
            let key = r
                .request
                .as_ref()
                .zip(cmd)
                .map(|(q, c)| (r.stream, q.packet, c.opaque));
            key.and_then(|k| self.matched.remove(&k))
                .unwrap_or_default()
        } else {
            let inh = Inherited {
                group: self
                    .group
                    .as_deref()
                    .is_some_and(|g| d.is_some_and(|d| names_group(d, g))),
                topic: own_topic,
            };
            if inh != Inherited::default()
                && let Some(c) = cmd
            {
                self.remember((r.stream, r.packet, c.opaque), inh);
            }
            inh
        };
        if !self.codes.is_empty() {
            let code = cmd.and_then(|c| match c.kind() {
                Kind::Response => r.request.as_ref().map(|q| q.code),
                _ => Some(c.code),
            });
            if !code.is_some_and(|c| self.codes.contains(&c)) {
                return false;
            }
        }
        if self.topic.is_some() && !(own_topic || inherited.topic) {
            return false;
        }
        if let Some(k) = &self.key {
            let hit = d.is_some_and(|d| {
                all_messages(d).any(|m| {
                    m.keys().is_some_and(|ks| ks.split(' ').any(|x| x == k))
                        || m.uniq_key() == Some(k.as_str())
                        || m.stored.as_ref().is_some_and(|s| &s.offset_msg_id() == k)
                }) || d
                    .field_str("msgId")
                    .is_some_and(|id| id.split(',').any(|x| x == k))
            });
            if !hit {
                return false;
            }
        }
        if self.group.is_some() && !inherited.group {
            return false;
        }
        true
    }

    fn remember(&mut self, k: (u64, u64, i32), what: Inherited) {
        if self.matched.insert(k, what).is_none() {
            self.order.push_back(k);
        }
        while self.order.len() > MAX_REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.matched.remove(&old);
            }
        }
    }
}

/// Every message of a frame, inner-batch messages included.
fn all_messages<'d, 'a>(d: &'d Decoded<'a>) -> impl Iterator<Item = &'d Message<'a>> {
    d.messages.iter().flat_map(|m| m.with_inner())
}

/// Whether a decoded command names the topic `t` (header or any message).
fn names_topic(d: &Decoded, t: &str) -> bool {
    d.topic() == Some(t) || all_messages(d).any(|m| m.topic == t)
}

/// Whether a decoded request names the group `g`.
fn names_group(d: &Decoded, g: &str) -> bool {
    const FIELDS: &[&str] = &["consumerGroup", "producerGroup", "group", "groupName"];
    if FIELDS.iter().any(|f| d.field_str(f) == Some(g)) {
        return true;
    }
    if all_messages(d).any(|m| m.property("PGROUP") == Some(g)) {
        return true;
    }
    let Some(Value::Object(body)) = &d.body_json else {
        return false;
    };
    if body.get("consumerGroup").and_then(Value::as_str) == Some(g) {
        return true;
    }
    ["producerDataSet", "consumerDataSet"].iter().any(|set| {
        body.get(*set).and_then(Value::as_array).is_some_and(|a| {
            a.iter()
                .any(|x| x.get("groupName").and_then(Value::as_str) == Some(g))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::RequestRef;
    use crate::protocol::{DecodeOptions, decode};
    use crate::remoting::command::RemotingCommand;

    fn record(packet: u64, cmd: RemotingCommand, request: Option<(u64, i32)>) -> FrameRecord {
        FrameRecord {
            packet,
            last_packet: packet,
            ts: 0,
            stream: 0,
            src: "10.0.0.5:40000".parse().unwrap(),
            dst: "10.0.0.9:10911".parse().unwrap(),
            offset: 0,
            frame_len: 0,
            body_len: 0,
            command: Ok(cmd),
            request: request.map(|(packet, code)| RequestRef {
                packet,
                code,
                ts: 0,
                topic: None,
                ..Default::default()
            }),
            wire: None,
        }
    }

    fn cmd(code: i32, opaque: i32, ext: &[(&str, &str)], body: &[u8]) -> RemotingCommand {
        RemotingCommand {
            code,
            opaque,
            ext_fields: Some(
                ext.iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
            ),
            body: body.to_vec(),
            ..Default::default()
        }
    }

    fn response(opaque: i32) -> RemotingCommand {
        RemotingCommand {
            opaque,
            flag: 1,
            ..Default::default()
        }
    }

    fn hits(f: &mut Filter, frames: &[FrameRecord]) -> Vec<u64> {
        frames
            .iter()
            .filter(|r| {
                let c = r.command.as_ref().unwrap();
                let d = decode(
                    c,
                    r.request.as_ref().map(|q| q.code),
                    &DecodeOptions::default(),
                );
                f.matches(r, Some(&d))
            })
            .map(|r| r.packet)
            .collect()
    }

    fn filter(group: Option<&str>, topic: Option<&str>, key: Option<&str>) -> Filter {
        Filter::from_args(
            &[],
            topic.map(String::from),
            key.map(String::from),
            group.map(String::from),
            None,
        )
        .unwrap()
    }

    #[test]
    fn group_matches_headers_bodies_and_the_responses_to_them() {
        let hb = br#"{"clientID":"c1","consumerDataSet":[{"groupName":"CG-a"}],"producerDataSet":[{"groupName":"PG-b"}]}"#;
        let frames = [
            record(
                1,
                cmd(11, 1, &[("consumerGroup", "CG-a"), ("topic", "T")], b""),
                None,
            ),
            record(
                2,
                cmd(11, 2, &[("consumerGroup", "CG-x"), ("topic", "T")], b""),
                None,
            ),
            record(3, response(2), Some((2, 11))),
            record(4, response(1), Some((1, 11))),
            record(5, cmd(34, 3, &[], hb), None),
            record(6, cmd(310, 4, &[("a", "PG-b"), ("b", "T")], b"x"), None),
            record(7, cmd(36, 5, &[("group", "CG-a")], b""), None),
            record(8, cmd(207, 6, &[("groupName", "CG-a")], b""), None),
            record(
                9,
                cmd(41, 7, &[], br#"{"consumerGroup":"CG-a","mqSet":[]}"#),
                None,
            ),
        ];
        assert_eq!(
            hits(&mut filter(Some("CG-a"), None, None), &frames),
            [1, 4, 5, 7, 8, 9]
        );
        assert_eq!(hits(&mut filter(Some("PG-b"), None, None), &frames), [5, 6]);
        // A response matches once (its request is forgotten after).
        let mut f = filter(Some("CG-a"), None, None);
        hits(&mut f, &frames);
        assert!(!f.matched.contains_key(&(0, 1, 1)));
        assert!(
            f.matched.contains_key(&(0, 5, 3)),
            "unanswered requests stay remembered"
        );
        assert_eq!(
            hits(&mut filter(None, None, None), &frames).len(),
            frames.len()
        );
        assert!(!filter(None, None, None).active());
    }

    #[test]
    fn remembered_requests_are_bounded() {
        let mut f = filter(Some("G"), None, None);
        for i in 0..(MAX_REMEMBERED as u64 + 10) {
            let r = record(i, cmd(11, i as i32, &[("consumerGroup", "G")], b""), None);
            let c = r.command.as_ref().unwrap();
            let d = decode(c, None, &DecodeOptions::default());
            assert!(f.matches(&r, Some(&d)));
        }
        assert_eq!(f.matched.len(), MAX_REMEMBERED);
        assert_eq!(f.order.len(), MAX_REMEMBERED);
    }

    #[test]
    fn unknown_code_names_are_refused() {
        let e = Filter::from_args(&["NO_SUCH_CODE".into()], None, None, None, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--code NO_SUCH_CODE: not a request code name or number"
        );
        let f = Filter::from_args(
            &["PULL_MESSAGE".into(), "310".into()],
            None,
            None,
            None,
            None,
        )
        .unwrap();
        assert_eq!(f.codes, [11, 310]);
    }
}
