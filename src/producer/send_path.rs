//! The producer's send path as pure functions (no sockets, no clock): route request and
//! route parsing, the publish queue list, queue selection, message ids, the
//! SEND_MESSAGE_V2 request and the processing of its response.
//!
//! Follows apache/rocketmq `client/src/main/java/org/apache/rocketmq/client/`:
//! `impl/producer/DefaultMQProducerImpl.java` (`tryToFindTopicPublishInfo`,
//! `sendDefaultImpl`, `sendKernelImpl`), `impl/factory/MQClientInstance.java`
//! (`topicRouteData2TopicPublishInfo`), `impl/producer/TopicPublishInfo.java`
//! (`selectOneMessageQueue`), `impl/MQClientAPIImpl.java` (`sendMessage`,
//! `processSendResponse`), `common/message/MessageClientIDSetter.java`.

use std::net::IpAddr;

use crate::protocol::message::{encode_properties, hex_upper};
use crate::remoting::codes::LanguageCode;
use crate::remoting::command::{ExtString, RemotingCommand};
use crate::remoting::json;

/// A broker of a route: name and addresses by broker id (0 = master).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteBroker {
    pub broker_name: String,
    pub addrs: Vec<(i64, String)>,
}

/// A QueueData of a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteQueues {
    pub broker_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
}

/// TopicRouteData: what the NameServer answered to GET_ROUTEINFO_BY_TOPIC.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicRoute {
    pub brokers: Vec<RouteBroker>,
    pub queues: Vec<RouteQueues>,
}

/// One queue a producer may send to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageQueue {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
}

/// The GET_ROUTEINFO_BY_TOPIC request (`GetRouteInfoRequestHeader`).
pub fn route_request(
    topic: &str,
    opaque: i32,
    version: i32,
    language: LanguageCode,
) -> RemotingCommand {
    RemotingCommand {
        code: 105,
        language,
        version,
        opaque,
        ext_fields: Some(vec![("topic".into(), topic.into())]),
        ..Default::default()
    }
}

/// Parses a TopicRouteData body, standard or with fastjson's bare integer keys.
pub fn parse_route(body: &[u8]) -> Result<TopicRoute, String> {
    let v = json::parse(body)
        .map_err(|e| format!("route body: {e}"))?
        .to_serde();
    let mut r = TopicRoute::default();
    for b in v["brokerDatas"]
        .as_array()
        .ok_or("route body: no brokerDatas")?
    {
        let mut addrs: Vec<(i64, String)> = b["brokerAddrs"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, a)| Some((k.parse().ok()?, a.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        addrs.sort();
        r.brokers.push(RouteBroker {
            broker_name: b["brokerName"].as_str().unwrap_or("").to_string(),
            addrs,
        });
    }
    for q in v["queueDatas"]
        .as_array()
        .ok_or("route body: no queueDatas")?
    {
        let n = |k: &str| q[k].as_i64().unwrap_or(0) as i32;
        r.queues.push(RouteQueues {
            broker_name: q["brokerName"].as_str().unwrap_or("").to_string(),
            read_queue_nums: n("readQueueNums"),
            write_queue_nums: n("writeQueueNums"),
            perm: n("perm"),
        });
    }
    Ok(r)
}

/// `PermName.PERM_WRITE`.
pub const PERM_WRITE: i32 = 0x2;

/// `topicRouteData2TopicPublishInfo`: QueueData sorted by brokerName; for each writable
/// one whose broker has a master (id 0), `writeQueueNums` queues.
pub fn publish_queues(topic: &str, route: &TopicRoute) -> Vec<MessageQueue> {
    let mut qds = route.queues.clone();
    qds.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
    let mut out = Vec::new();
    for qd in qds {
        if qd.perm & PERM_WRITE == 0 {
            continue;
        }
        let has_master = route
            .brokers
            .iter()
            .any(|b| b.broker_name == qd.broker_name && b.addrs.iter().any(|(id, _)| *id == 0));
        if !has_master {
            continue;
        }
        for q in 0..qd.write_queue_nums.max(0) {
            out.push(MessageQueue {
                topic: topic.to_string(),
                broker_name: qd.broker_name.clone(),
                queue_id: q,
            });
        }
    }
    out
}

/// The master address of a broker (`findBrokerAddressInPublish`).
pub fn master_addr<'a>(route: &'a TopicRoute, broker_name: &str) -> Option<&'a str> {
    route
        .brokers
        .iter()
        .find(|b| b.broker_name == broker_name)?
        .addrs
        .iter()
        .find(|(id, _)| *id == 0)
        .map(|(_, a)| a.as_str())
}

/// The VIP channel of a broker address: port − 2 (`MixAll.brokerVIPChannel`).
pub fn vip_channel(addr: &str) -> String {
    match addr
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
    {
        Some((h, p)) if p >= 2 => format!("{h}:{}", p - 2),
        _ => addr.to_string(),
    }
}

/// `TopicPublishInfo.selectOneMessageQueue` with a per-task index (`ThreadLocalIndex`): round
/// robin from a random start, and on retry the first queue not on the broker that failed
/// last (`lastBrokerName`), if there is one.
#[derive(Clone, Debug)]
pub struct QueueSelector {
    index: u32,
}

impl QueueSelector {
    /// `start` is the random initial index (ThreadLocalIndex seeds it with `Random.nextInt`).
    pub fn new(start: u32) -> Self {
        Self { index: start }
    }

    pub fn select<'a>(
        &mut self,
        queues: &'a [MessageQueue],
        last_broker: Option<&str>,
    ) -> Option<&'a MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        let n = queues.len() as u32;
        if let Some(last) = last_broker {
            for _ in 0..n {
                self.index = self.index.wrapping_add(1);
                let q = &queues[((self.index & 0x7FFF_FFFF) % n) as usize];
                if q.broker_name != last {
                    return Some(q);
                }
            }
        }
        self.index = self.index.wrapping_add(1);
        Some(&queues[((self.index & 0x7FFF_FFFF) % n) as usize])
    }
}

/// A `MessageClientIDSetter` message id generator.
#[derive(Clone, Debug)]
pub struct UniqIdGen {
    prefix: String,
    counter: u16,
}

impl UniqIdGen {
    /// IP (4 or 16 bytes), low 16 bits of the pid, and a 4-byte stand-in for Java's
    /// class-loader hash.
    pub fn new(ip: IpAddr, pid: u32, loader: u32) -> Self {
        let mut b = match ip {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        b.extend_from_slice(&(pid as u16).to_be_bytes());
        b.extend_from_slice(&loader.to_be_bytes());
        Self {
            prefix: hex_upper(&b),
            counter: 0,
        }
    }

    /// The next id for a message born at `now_ms`, in a month that started (local time) at
    /// `month_start_ms`.
    pub fn next(&mut self, now_ms: i64, month_start_ms: i64) -> String {
        let mut s = self.prefix.clone();
        let off = (now_ms - month_start_ms) as u32;
        s.push_str(&hex_upper(&off.to_be_bytes()));
        s.push_str(&hex_upper(&self.counter.to_be_bytes()));
        self.counter = self.counter.wrapping_add(1);
        s
    }
}

/// What to send.
#[derive(Clone, Debug, Default)]
pub struct OutMessage {
    pub topic: String,
    pub tags: Option<String>,
    pub keys: Vec<String>,
    pub properties: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub flag: i32,
}

/// The SEND_MESSAGE_V2 request (`SendMessageRequestHeaderV2`, single-letter keys in the
/// order fastjson writes Java's HashMap of them: a, b, c, … m).
#[allow(clippy::too_many_arguments)]
pub fn send_request_v2(
    m: &OutMessage,
    group: &str,
    queue_id: i32,
    properties: &[(String, String)],
    born_ms: i64,
    sys_flag: i32,
    body: Vec<u8>,
    opaque: i32,
    version: i32,
    language: LanguageCode,
    batch: bool,
) -> RemotingCommand {
    let ext: Vec<(ExtString, ExtString)> = vec![
        ("a".into(), group.into()),
        ("b".into(), m.topic.as_str().into()),
        ("c".into(), "TBW102".into()),
        ("d".into(), "4".into()),
        ("e".into(), queue_id.to_string().into()),
        ("f".into(), sys_flag.to_string().into()),
        ("g".into(), born_ms.to_string().into()),
        ("h".into(), m.flag.to_string().into()),
        ("i".into(), encode_properties(properties).into()),
        ("j".into(), "0".into()),
        ("k".into(), "false".into()),
        ("m".into(), batch.to_string().into()),
    ];
    RemotingCommand {
        code: if batch { 320 } else { 310 },
        language,
        version,
        opaque,
        ext_fields: Some(ext),
        body,
        ..Default::default()
    }
}

/// Encodes messages as a MessageBatch body (`MessageDecoder.encodeMessages`): per item
/// totalSize, magic 0, bodyCRC 0, flag, bodyLen, body, i16 propertiesLen, properties.
pub fn encode_batch(items: &[(&OutMessage, Vec<(String, String)>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (m, props) in items {
        let p = encode_properties(props);
        let total = 4 + 4 + 4 + 4 + 4 + m.body.len() + 2 + p.len();
        out.extend_from_slice(&(total as i32).to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&m.flag.to_be_bytes());
        out.extend_from_slice(&(m.body.len() as i32).to_be_bytes());
        out.extend_from_slice(&m.body);
        out.extend_from_slice(&(p.len() as i16).to_be_bytes());
        out.extend_from_slice(p.as_bytes());
    }
    out
}

/// `SendStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendStatus {
    SendOk,
    FlushDiskTimeout,
    FlushSlaveTimeout,
    SlaveNotAvailable,
    /// A one-way send: nothing comes back.
    OnewayNoResult,
}

impl SendStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SendStatus::SendOk => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
            SendStatus::OnewayNoResult => "ONEWAY_NO_RESULT",
        }
    }
}

/// A send result (`SendResult`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendResult {
    pub status: SendStatus,
    /// The UNIQ_KEY.
    pub msg_id: String,
    /// The broker's offset message id.
    pub offset_msg_id: String,
    pub queue: MessageQueue,
    pub queue_offset: i64,
}

/// `processSendResponse`: response code → status, or the error with its remark.
pub fn process_send_response(
    resp: &RemotingCommand,
    queue: &MessageQueue,
    uniq: &str,
) -> Result<SendResult, (i32, String)> {
    let status = match resp.code {
        0 => SendStatus::SendOk,
        10 => SendStatus::FlushDiskTimeout,
        11 => SendStatus::SlaveNotAvailable,
        12 => SendStatus::FlushSlaveTimeout,
        c => return Err((c, resp.remark.clone().unwrap_or_default())),
    };
    let q = resp
        .ext("queueId")
        .and_then(|x| x.parse().ok())
        .unwrap_or(queue.queue_id);
    Ok(SendResult {
        status,
        msg_id: uniq.to_string(),
        offset_msg_id: resp.ext("msgId").unwrap_or("").to_string(),
        queue: MessageQueue {
            queue_id: q,
            ..queue.clone()
        },
        queue_offset: resp
            .ext("queueOffset")
            .and_then(|x| x.parse().ok())
            .unwrap_or(-1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_to_queues_and_round_robin() {
        let body = br#"{"brokerDatas":[{"brokerAddrs":{1:"10.0.0.2:10911",0:"10.0.0.1:10911"},"brokerName":"b","cluster":"C"},{"brokerAddrs":{0:"10.0.0.3:10911"},"brokerName":"a","cluster":"C"}],"filterServerTable":{},"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":2,"topicSynFlag":0,"writeQueueNums":2},{"brokerName":"a","perm":6,"readQueueNums":1,"topicSynFlag":0,"writeQueueNums":1},{"brokerName":"c","perm":4,"readQueueNums":4,"writeQueueNums":4}]}"#;
        let r = parse_route(body).unwrap();
        let qs = publish_queues("T", &r);
        let names: Vec<String> = qs
            .iter()
            .map(|q| format!("{}:{}", q.broker_name, q.queue_id))
            .collect();
        // Sorted by broker name; the read-only broker c is left out.
        assert_eq!(names, vec!["a:0", "b:0", "b:1"]);
        assert_eq!(master_addr(&r, "b"), Some("10.0.0.1:10911"));
        assert_eq!(vip_channel("10.0.0.1:10911"), "10.0.0.1:10909");
        let mut s = QueueSelector::new(7);
        let picks: Vec<usize> = (0..6)
            .map(|_| {
                let q = s.select(&qs, None).unwrap().clone();
                qs.iter().position(|x| *x == q).unwrap()
            })
            .collect();
        assert_eq!(picks, vec![2, 0, 1, 2, 0, 1]);
        // On retry the broker that failed is avoided.
        let q = s.select(&qs, Some("b")).unwrap();
        assert_eq!(q.broker_name, "a");
    }

    #[test]
    fn uniq_ids_decode() {
        let mut g = UniqIdGen::new("127.0.0.1".parse().unwrap(), 0x1_54A0, 0x0D716361);
        let id = g.next(1624246456683, 1622476800000);
        assert_eq!(id, "7F00000154A00D716361697AD16B0000");
        assert_eq!(
            g.next(1624246456683, 1622476800000),
            "7F00000154A00D716361697AD16B0001"
        );
    }

    /// The V2 header is written as Java 4.8's producer wrote it (protocol.md section 2.2).
    #[test]
    fn send_v2_matches_java() {
        let m = OutMessage {
            topic: "TopicTest".into(),
            tags: Some("TagA".into()),
            ..Default::default()
        };
        let props = vec![
            (
                "UNIQ_KEY".to_string(),
                "7F00000154A00D716361697AD16B0000".to_string(),
            ),
            ("WAIT".to_string(), "true".to_string()),
            ("TAGS".to_string(), "TagA".to_string()),
        ];
        let cmd = send_request_v2(
            &m,
            "please_rename_unique_group_name",
            2,
            &props,
            1624246456683,
            0,
            vec![],
            6,
            373,
            LanguageCode::JAVA,
            false,
        );
        let mut out = Vec::new();
        crate::remoting::command::encode_json_header(&cmd, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"code":310,"extFields":{"a":"please_rename_unique_group_name","b":"TopicTest","c":"TBW102","d":"4","e":"2","f":"0","g":"1624246456683","h":"0","i":"UNIQ_KEY\u00017F00000154A00D716361697AD16B0000\u0002WAIT\u0001true\u0002TAGS\u0001TagA\u0002","j":"0","k":"false","m":"false"},"flag":0,"language":"JAVA","opaque":6,"serializeTypeCurrentRPC":"JSON","version":373}"#
        );
    }
}

/// Java's `String.hashCode` (UTF-16 code units, `31*h + c`, wrapping).
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// The iteration order of a `java.util.HashMap` (default capacity 16, load factor 0.75)
/// into which `entries` were put in this order: buckets ascending, insertion order inside a
/// bucket (a resize splits buckets keeping relative order, which this reproduces by
/// placing every entry in the final table). Later puts of an existing key keep its place.
pub fn java_hashmap_order(entries: &[(String, String)]) -> Vec<(String, String)> {
    let mut uniq: Vec<(String, String)> = Vec::new();
    for (k, v) in entries {
        match uniq.iter_mut().find(|(x, _)| x == k) {
            Some(e) => e.1 = v.clone(),
            None => uniq.push((k.clone(), v.clone())),
        }
    }
    let mut cap = 16usize;
    while uniq.len() > cap * 3 / 4 {
        cap *= 2;
    }
    let spread = |k: &str| {
        let h = java_string_hash(k);
        (h ^ ((h as u32) >> 16) as i32) as u32 as usize & (cap - 1)
    };
    let mut idx: Vec<(usize, usize)> = uniq
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (spread(k), i))
        .collect();
    idx.sort();
    idx.into_iter().map(|(_, i)| uniq[i].clone()).collect()
}

/// The properties a Java producer puts on the wire for `m`: put in the order `Message`
/// and the send path put them (TAGS, KEYS, WAIT in the constructor, user properties,
/// UNIQ_KEY at send), iterated as the HashMap holds them.
pub fn java_properties(m: &OutMessage, uniq: &str) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = Vec::new();
    if let Some(t) = &m.tags {
        p.push(("TAGS".into(), t.clone()));
    }
    if !m.keys.is_empty() {
        p.push(("KEYS".into(), m.keys.join(" ")));
    }
    p.push(("WAIT".into(), "true".into()));
    p.extend(m.properties.iter().cloned());
    p.push(("UNIQ_KEY".into(), uniq.into()));
    java_hashmap_order(&p)
}

#[cfg(test)]
mod java_order_tests {
    use super::*;

    #[test]
    fn hashmap_order_matches_java_captures() {
        // Java 4.8.0 producer (protocol.md 2.2): UNIQ_KEY, WAIT, TAGS.
        let m = OutMessage {
            topic: "TopicTest".into(),
            tags: Some("TagA".into()),
            ..Default::default()
        };
        let keys: Vec<String> = java_properties(&m, "X")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec!["UNIQ_KEY", "WAIT", "TAGS"]);
        // The send response's extFields (Java 4.8, capacity 16):
        // queueId, TRACE_ON, MSG_REGION, msgId, queueOffset.
        let e: Vec<(String, String)> =
            ["msgId", "queueId", "queueOffset", "MSG_REGION", "TRACE_ON"]
                .iter()
                .map(|k| (k.to_string(), String::new()))
                .collect();
        let order: Vec<String> = java_hashmap_order(&e).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            order,
            vec!["queueId", "TRACE_ON", "MSG_REGION", "msgId", "queueOffset"]
        );
    }
}
