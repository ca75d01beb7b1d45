//! The producer (tokio): route lookup, brokers, heartbeats and the send loops (sync,
//! async pipelined, one-way, batches) over the connections of [`super::conn`].

use std::io::{self, Write};
use std::time::Duration;

use super::conn::now_ns;
pub use super::conn::{Conn, Recorder};
use super::send_path::{
    self, MessageQueue, OutMessage, QueueSelector, SendResult, TopicRoute, UniqIdGen,
    java_properties,
};
use crate::protocol::message::sysflag;
use crate::remoting::codes::LanguageCode;
use crate::remoting::command::RemotingCommand;

/// Producer settings.
#[derive(Clone, Debug)]
pub struct ProducerConfig {
    pub namesrv: String,
    pub group: String,
    pub version: i32,
    pub language: LanguageCode,
    pub timeout: Duration,
    /// Bodies at least this long are zlib-compressed (`compressMsgBodyOverHowmuch`).
    pub compress_over: usize,
    /// `retryTimesWhenSendFailed`.
    pub retries: u32,
    pub vip_channel: bool,
    /// Header serialization of every request.
    pub serialize: crate::remoting::SerializeType,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        Self {
            namesrv: "127.0.0.1:9876".into(),
            group: "rmqdump_producer".into(),
            version: 401,
            language: LanguageCode::JAVA,
            timeout: Duration::from_secs(3),
            compress_over: 4096,
            retries: 2,
            vip_channel: false,
            serialize: crate::remoting::SerializeType::Json,
        }
    }
}

/// Response codes a Java producer retries on (`DefaultMQProducer.retryResponseCodes`:
/// TOPIC_NOT_EXIST, SERVICE_NOT_AVAILABLE, SYSTEM_ERROR, SYSTEM_BUSY, NO_PERMISSION,
/// NO_BUYER_ID, NOT_IN_CURRENT_UNIT).
pub fn retryable(code: i32) -> bool {
    matches!(code, 17 | 14 | 1 | 2 | 16 | 204 | 205)
}

/// How messages are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Sync,
    Async,
    Oneway,
}

/// One send's outcome.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub index: usize,
    pub result: Result<SendResult, String>,
    pub latency_us: u64,
    pub uniq_key: String,
    pub sent_to: Option<MessageQueue>,
}

/// A sync producer: route lookup, publish queues, round robin, SEND_MESSAGE_V2.
pub struct Producer {
    cfg: ProducerConfig,
    pub rec: Recorder,
    namesrv: Option<Conn>,
    brokers: Vec<(String, Conn)>,
    opaque: i32,
    selector: QueueSelector,
    ids: UniqIdGen,
    routes: Vec<(String, TopicRoute, Vec<MessageQueue>)>,
    last_heartbeat: std::time::Instant,
}

/// `heartbeatBrokerInterval` and `pollNameServerInterval` (30 s in Java).
const PERIOD: Duration = Duration::from_secs(30);

impl Producer {
    pub fn new(cfg: ProducerConfig, seed: u32) -> Self {
        let ip = "127.0.0.1".parse().expect("literal");
        Self {
            cfg,
            rec: Recorder::default(),
            namesrv: None,
            brokers: Vec::new(),
            opaque: 0,
            selector: QueueSelector::new(seed),
            ids: UniqIdGen::new(ip, std::process::id(), seed.rotate_left(7)),
            routes: Vec::new(),
            last_heartbeat: std::time::Instant::now(),
        }
    }

    fn next_opaque(&mut self) -> i32 {
        self.opaque = self.opaque.wrapping_add(1) & 0x7FFF_FFFF;
        self.opaque
    }

    /// Sends a request to the NameServer (connecting first if needed).
    async fn namesrv_request(&mut self, req: &RemotingCommand) -> io::Result<RemotingCommand> {
        let mut ns = match self.namesrv.take() {
            Some(c) => c,
            None => Conn::connect(&self.cfg.namesrv, &mut self.rec).await?,
        };
        let mut req = req.clone();
        req.serialize = self.cfg.serialize;
        let r = ns.request(&req, self.cfg.timeout, &mut self.rec).await;
        if r.is_ok() {
            self.namesrv = Some(ns);
        }
        r
    }

    /// `tryToFindTopicPublishInfo`: the topic's route, or TBW102's (auto-creation) with
    /// `defaultTopicQueueNums` = 4 queues per broker when the topic does not exist yet.
    pub async fn route(&mut self, topic: &str) -> io::Result<Vec<MessageQueue>> {
        if let Some((_, _, q)) = self.routes.iter().find(|r| r.0 == topic) {
            return Ok(q.clone());
        }
        let (version, language) = (self.cfg.version, self.cfg.language);
        let op = self.next_opaque();
        let req = send_path::route_request(topic, op, version, language);
        let mut resp = self.namesrv_request(&req).await?;
        let mut route_topic = topic;
        if resp.code == 17 {
            let op = self.next_opaque();
            let req = send_path::route_request("TBW102", op, version, language);
            resp = self.namesrv_request(&req).await?;
            route_topic = "TBW102";
        }
        if resp.code != 0 {
            return Err(io::Error::other(format!(
                "no route for {topic}: {} {}",
                crate::remoting::codes::ResponseCode(resp.code),
                resp.remark.unwrap_or_default()
            )));
        }
        let mut route = send_path::parse_route(&resp.body).map_err(io::Error::other)?;
        if route_topic == "TBW102" {
            for q in &mut route.queues {
                q.write_queue_nums = q.write_queue_nums.min(4);
                q.read_queue_nums = q.read_queue_nums.min(4);
            }
        }
        let queues = send_path::publish_queues(topic, &route);
        self.routes.push((topic.to_string(), route, queues.clone()));
        Ok(queues)
    }

    async fn broker(&mut self, broker_name: &str, topic: &str) -> io::Result<usize> {
        let route = &self
            .routes
            .iter()
            .find(|r| r.0 == topic)
            .expect("route looked up first")
            .1;
        let mut addr = send_path::master_addr(route, broker_name)
            .ok_or_else(|| io::Error::other(format!("no master address for broker {broker_name}")))?
            .to_string();
        if self.cfg.vip_channel {
            addr = send_path::vip_channel(&addr);
        }
        if let Some(i) = self.brokers.iter().position(|(a, _)| *a == addr) {
            return Ok(i);
        }
        let mut c = Conn::connect(&addr, &mut self.rec).await?;
        let req = self.heartbeat_request();
        c.request(&req, self.cfg.timeout, &mut self.rec).await?;
        self.brokers.push((addr, c));
        self.last_heartbeat = std::time::Instant::now();
        Ok(self.brokers.len() - 1)
    }

    /// HEART_BEAT with the producer's HeartbeatData, as `MQClientInstance.sendHeartbeatToAllBroker`.
    fn heartbeat_request(&mut self) -> RemotingCommand {
        let op = self.next_opaque();
        heartbeat_command(&self.cfg, op)
    }
}

/// HEART_BEAT with a producer's HeartbeatData (`MQClientInstance.prepareHeartbeatData`),
/// written as fastjson writes it (keys sorted). From V5_0_0 (ordinal 413) HeartbeatData
/// also has `heartbeatFingerprint` and `withoutSub` (HeartbeatData.java of 5.x); the Java
/// client fills them only with `useHeartbeatV2`, off by default, so they go as 0 and false.
fn heartbeat_command(cfg: &ProducerConfig, opaque: i32) -> RemotingCommand {
    let mut hb = serde_json::json!({
        "clientID": format!("127.0.0.1@{}", std::process::id()),
        "consumerDataSet": [],
        "producerDataSet": [{"groupName": cfg.group}, {"groupName": "CLIENT_INNER_PRODUCER"}],
    });
    if cfg.version >= 413 {
        hb["heartbeatFingerprint"] = 0.into();
        hb["withoutSub"] = false.into();
    }
    RemotingCommand {
        code: 34,
        language: cfg.language,
        version: cfg.version,
        opaque,
        body: serde_json::to_vec(&hb).unwrap_or_default(),
        serialize: cfg.serialize,
        ..Default::default()
    }
}

impl Producer {
    /// Every 30 s, as a Java client's scheduled tasks do: heartbeat every broker in use
    /// (`heartbeatBrokerInterval`) and forget cached routes so they are looked up again
    /// (`pollNameServerInterval`).
    async fn periodic(&mut self) {
        if self.last_heartbeat.elapsed() < PERIOD {
            return;
        }
        self.last_heartbeat = std::time::Instant::now();
        self.routes.clear();
        let mut brokers = std::mem::take(&mut self.brokers);
        for (_, c) in &mut brokers {
            let req = self.heartbeat_request();
            let _ = c.request(&req, self.cfg.timeout, &mut self.rec).await;
        }
        self.brokers = brokers;
    }

    /// Sends one message the way `DefaultMQProducer.send(msg)` does (sync), retrying on
    /// another broker as `retryTimesWhenSendFailed` allows.
    pub async fn send(&mut self, index: usize, m: &OutMessage, month_start_ms: i64) -> Outcome {
        let started = std::time::Instant::now();
        let mut last_broker: Option<String> = None;
        let mut last_err = String::new();
        let mut sent_to = None;
        let mut uniq = String::new();
        for _attempt in 0..=self.cfg.retries {
            let reuse = (!uniq.is_empty()).then(|| uniq.clone());
            let (q, bi, ids, req) = match self
                .prepare(
                    std::slice::from_ref(m),
                    month_start_ms,
                    last_broker.as_deref(),
                    reuse.as_deref(),
                )
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    last_err = e;
                    break;
                }
            };
            uniq = ids[0].clone();
            sent_to = Some(q.clone());
            let timeout = self.cfg.timeout;
            match self.brokers[bi]
                .1
                .request(&req, timeout, &mut self.rec)
                .await
            {
                Ok(r) => match send_path::process_send_response(&r, &q, &uniq) {
                    Ok(res) => {
                        return Outcome {
                            index,
                            result: Ok(res),
                            latency_us: started.elapsed().as_micros() as u64,
                            uniq_key: uniq,
                            sent_to,
                        };
                    }
                    Err((code, remark)) => {
                        last_err = format!(
                            "{} ({code}): {remark}",
                            crate::remoting::codes::ResponseCode(code)
                        );
                        if !retryable(code) {
                            break;
                        }
                        last_broker = Some(q.broker_name.clone());
                    }
                },
                Err(e) => {
                    last_err = e.to_string();
                    last_broker = Some(q.broker_name.clone());
                    self.brokers.remove(bi);
                }
            }
        }
        Outcome {
            index,
            result: Err(last_err),
            latency_us: started.elapsed().as_micros() as u64,
            uniq_key: uniq,
            sent_to,
        }
    }

    /// Picks a queue and builds the request for one message (or a batch of them), as
    /// `sendKernelImpl` does. Returns (queue, broker connection index, the message ids,
    /// request).
    async fn prepare(
        &mut self,
        msgs: &[OutMessage],
        month_start_ms: i64,
        last_broker: Option<&str>,
        reuse_id: Option<&str>,
    ) -> Result<(MessageQueue, usize, Vec<String>, RemotingCommand), String> {
        let m = &msgs[0];
        let queues = self.route(&m.topic).await.map_err(|e| e.to_string())?;
        let q = self
            .selector
            .select(&queues, last_broker)
            .cloned()
            .ok_or_else(|| format!("no writable queue for {}", m.topic))?;
        let now_ms = now_ns() / 1_000_000;
        let op = self.next_opaque();
        let (ids, mut req) = if msgs.len() == 1 {
            // A retry keeps the message's id (MessageClientIDSetter.setUniqID sets it once).
            let uniq = match reuse_id {
                Some(u) => u.to_string(),
                None => self.ids.next(now_ms, month_start_ms),
            };
            let props = java_properties(m, &uniq);
            let (body, sys_flag) = if m.body.len() >= self.cfg.compress_over {
                let mut enc =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(5));
                let _ = enc.write_all(&m.body);
                let z = enc.finish().unwrap_or_default();
                (
                    z,
                    sysflag::COMPRESSED | if self.cfg.version >= 401 { 0x300 } else { 0 },
                )
            } else {
                (m.body.clone(), 0)
            };
            let req = send_path::send_request_v2(
                m,
                &self.cfg.group,
                q.queue_id,
                &props,
                now_ms,
                sys_flag,
                body,
                op,
                self.cfg.version,
                self.cfg.language,
                false,
            );
            (vec![uniq], req)
        } else {
            // DefaultMQProducer.batch: every message gets its UNIQ_KEY; the batch its own
            // (WAIT, UNIQ_KEY); batches are never compressed.
            let mut ids = Vec::new();
            let mut items = Vec::new();
            for x in msgs {
                let uniq = self.ids.next(now_ms, month_start_ms);
                items.push((x, java_properties(x, &uniq)));
                ids.push(uniq);
            }
            let body = send_path::encode_batch(&items);
            let batch_id = self.ids.next(now_ms, month_start_ms);
            let props = send_path::java_hashmap_order(&[
                ("WAIT".into(), "true".into()),
                ("UNIQ_KEY".into(), batch_id),
            ]);
            let req = send_path::send_request_v2(
                m,
                &self.cfg.group,
                q.queue_id,
                &props,
                now_ms,
                0,
                body,
                op,
                self.cfg.version,
                self.cfg.language,
                true,
            );
            (ids, req)
        };
        req.serialize = self.cfg.serialize;
        // Java 5.x clients name the target broker: SendMessageRequestHeaderV2.bname (`n`,
        // written last; DefaultMQProducerImpl.sendKernelImpl), from V5_0_0 (ordinal 413).
        if self.cfg.version >= 413
            && let Some(ext) = req.ext_fields.as_mut()
        {
            ext.push(("n".into(), q.broker_name.as_str().into()));
        }
        let bi = self
            .broker(&q.broker_name, &m.topic)
            .await
            .map_err(|e| e.to_string())?;
        Ok((q, bi, ids, req))
    }

    /// Sends `msgs` in `mode`: sync one by one, async pipelined with at most `concurrency`
    /// requests in flight, or one-way; `batch` > 1 groups messages into SEND_BATCH_MESSAGE
    /// requests (sent sync).
    pub async fn run(
        &mut self,
        msgs: &[OutMessage],
        mode: Mode,
        concurrency: usize,
        batch: usize,
        month_start_ms: i64,
    ) -> Vec<Outcome> {
        let mut out: Vec<Outcome> = Vec::new();
        if batch > 1 {
            for (ci, chunk) in msgs.chunks(batch).enumerate() {
                let started = std::time::Instant::now();
                let base = ci * batch;
                match self.prepare(chunk, month_start_ms, None, None).await {
                    Ok((q, bi, ids, req)) => {
                        let r = self.brokers[bi]
                            .1
                            .request(&req, self.cfg.timeout, &mut self.rec)
                            .await;
                        let lat = started.elapsed().as_micros() as u64;
                        for (k, id) in ids.iter().enumerate() {
                            let result = match &r {
                                Ok(resp) => send_path::process_send_response(resp, &q, id)
                                    .map(|mut res| {
                                        res.offset_msg_id = res
                                            .offset_msg_id
                                            .split(',')
                                            .nth(k)
                                            .unwrap_or("")
                                            .to_string();
                                        res.queue_offset += k as i64;
                                        res
                                    })
                                    .map_err(|(c, r)| {
                                        format!(
                                            "{} ({c}): {r}",
                                            crate::remoting::codes::ResponseCode(c)
                                        )
                                    }),
                                Err(e) => Err(e.to_string()),
                            };
                            out.push(Outcome {
                                index: base + k,
                                result,
                                latency_us: lat,
                                uniq_key: id.clone(),
                                sent_to: Some(q.clone()),
                            });
                        }
                    }
                    Err(e) => {
                        for k in 0..chunk.len() {
                            out.push(Outcome {
                                index: base + k,
                                result: Err(e.clone()),
                                latency_us: 0,
                                uniq_key: String::new(),
                                sent_to: None,
                            });
                        }
                    }
                }
            }
            return out;
        }
        match mode {
            Mode::Sync => {
                for (i, m) in msgs.iter().enumerate() {
                    self.periodic().await;
                    out.push(self.send(i, m, month_start_ms).await);
                }
            }
            Mode::Oneway => {
                for (i, m) in msgs.iter().enumerate() {
                    self.periodic().await;
                    let started = std::time::Instant::now();
                    let o = match self
                        .prepare(std::slice::from_ref(m), month_start_ms, None, None)
                        .await
                    {
                        Ok((q, bi, ids, mut req)) => {
                            req.flag |= crate::remoting::command::flag::ONEWAY;
                            let r = self.brokers[bi].1.send_only(&req, &mut self.rec).await;
                            Outcome {
                                index: i,
                                result: r
                                    .map(|_| SendResult {
                                        status: send_path::SendStatus::OnewayNoResult,
                                        msg_id: ids[0].clone(),
                                        offset_msg_id: String::new(),
                                        queue: q.clone(),
                                        queue_offset: -1,
                                    })
                                    .map_err(|e| e.to_string()),
                                latency_us: started.elapsed().as_micros() as u64,
                                uniq_key: ids[0].clone(),
                                sent_to: Some(q),
                            }
                        }
                        Err(e) => Outcome {
                            index: i,
                            result: Err(e),
                            latency_us: 0,
                            uniq_key: String::new(),
                            sent_to: None,
                        },
                    };
                    out.push(o);
                }
            }
            Mode::Async => {
                // (opaque, message index, queue, id, start, broker)
                let mut in_flight: Vec<(
                    i32,
                    usize,
                    MessageQueue,
                    String,
                    std::time::Instant,
                    usize,
                )> = Vec::new();
                let mut next = 0;
                // Messages to send again (retryTimesWhenSendAsyncFailed): index, id, broker.
                let mut retry: std::collections::VecDeque<(usize, String, String)> =
                    Default::default();
                let mut attempts = vec![0u32; msgs.len()];
                while next < msgs.len() || !in_flight.is_empty() || !retry.is_empty() {
                    if in_flight.is_empty() {
                        // A heartbeat waits for its own response: only with nothing in flight.
                        self.periodic().await;
                    }
                    if (next < msgs.len() || !retry.is_empty())
                        && in_flight.len() < concurrency.max(1)
                    {
                        let (i, reuse, avoid) = match retry.pop_front() {
                            Some((i, id, b)) => (i, Some(id), Some(b)),
                            None => {
                                next += 1;
                                (next - 1, None, None)
                            }
                        };
                        match self
                            .prepare(
                                std::slice::from_ref(&msgs[i]),
                                month_start_ms,
                                avoid.as_deref(),
                                reuse.as_deref(),
                            )
                            .await
                        {
                            Ok((q, bi, ids, req)) => {
                                let started = std::time::Instant::now();
                                match self.brokers[bi].1.send_only(&req, &mut self.rec).await {
                                    Ok(()) => in_flight.push((
                                        req.opaque,
                                        i,
                                        q,
                                        ids[0].clone(),
                                        started,
                                        bi,
                                    )),
                                    Err(e) => out.push(Outcome {
                                        index: i,
                                        result: Err(e.to_string()),
                                        latency_us: 0,
                                        uniq_key: ids[0].clone(),
                                        sent_to: Some(q),
                                    }),
                                }
                            }
                            Err(e) => out.push(Outcome {
                                index: i,
                                result: Err(e),
                                latency_us: 0,
                                uniq_key: String::new(),
                                sent_to: None,
                            }),
                        }
                        continue;
                    }
                    // The window is full (or everything is sent): take the next response
                    // on the connection of the oldest request in flight.
                    let bi = in_flight[0].5;
                    match self.brokers[bi]
                        .1
                        .next_response(self.cfg.timeout, &mut self.rec)
                        .await
                    {
                        Ok(resp) => {
                            if let Some(pos) = in_flight
                                .iter()
                                .position(|f| f.0 == resp.opaque && f.5 == bi)
                            {
                                let (_, i, q, id, started, _) = in_flight.remove(pos);
                                if retryable(resp.code) && attempts[i] < self.cfg.retries {
                                    attempts[i] += 1;
                                    retry.push_back((i, id, q.broker_name.clone()));
                                    continue;
                                }
                                let result = send_path::process_send_response(&resp, &q, &id)
                                    .map_err(|(c, r)| {
                                        format!(
                                            "{} ({c}): {r}",
                                            crate::remoting::codes::ResponseCode(c)
                                        )
                                    });
                                out.push(Outcome {
                                    index: i,
                                    result,
                                    latency_us: started.elapsed().as_micros() as u64,
                                    uniq_key: id,
                                    sent_to: Some(q),
                                });
                            }
                        }
                        Err(e) => {
                            // The connection failed or timed out: everything in flight on it fails.
                            let (failed, kept): (Vec<_>, Vec<_>) =
                                in_flight.drain(..).partition(|f| f.5 == bi);
                            in_flight = kept;
                            for (_, i, q, id, started, _) in failed {
                                out.push(Outcome {
                                    index: i,
                                    result: Err(e.to_string()),
                                    latency_us: started.elapsed().as_micros() as u64,
                                    uniq_key: id,
                                    sent_to: Some(q),
                                });
                            }
                        }
                    }
                }
                out.sort_by_key(|o| o.index);
            }
        }
        out
    }

    /// `DefaultMQProducer.shutdown`: UNREGISTER_CLIENT to every broker used.
    pub async fn shutdown(&mut self) {
        let mut brokers = std::mem::take(&mut self.brokers);
        for (_, c) in &mut brokers {
            let op = self.next_opaque();
            let req = RemotingCommand {
                code: 35,
                language: self.cfg.language,
                version: self.cfg.version,
                opaque: op,
                ext_fields: Some(
                    send_path::java_hashmap_order(&[
                        (
                            "clientID".into(),
                            format!("127.0.0.1@{}", std::process::id()),
                        ),
                        ("producerGroup".into(), self.cfg.group.clone()),
                    ])
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
                ),
                serialize: self.cfg.serialize,
                ..Default::default()
            };
            let _ = c.request(&req, self.cfg.timeout, &mut self.rec).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The HeartbeatData keys in fastjson's order, as the Java 5.3.3 producer's HEART_BEAT
    /// in captures/java/java5-broker5.pcap: the two 5.x fields from V5_0_0 only.
    #[test]
    fn heartbeat_body_has_the_5x_fields_from_v5_0_0() {
        let keys = |version: i32| -> Vec<String> {
            let cfg = ProducerConfig {
                version,
                ..ProducerConfig::default()
            };
            let body = heartbeat_command(&cfg, 1).body;
            let text = String::from_utf8(body).unwrap();
            // Keys in the order written (a Value would sort them anyway).
            let mut keys = Vec::new();
            let mut depth = 0;
            for (i, c) in text.char_indices() {
                match c {
                    '{' | '[' => depth += 1,
                    '}' | ']' => depth -= 1,
                    '"' if depth == 1 && text[..i].ends_with(['{', ',']) => {
                        let end = text[i + 1..].find('"').unwrap();
                        keys.push(text[i + 1..i + 1 + end].to_string());
                    }
                    _ => {}
                }
            }
            keys
        };
        assert_eq!(
            keys(401),
            ["clientID", "consumerDataSet", "producerDataSet"]
        );
        assert_eq!(
            keys(413),
            [
                "clientID",
                "consumerDataSet",
                "heartbeatFingerprint",
                "producerDataSet",
                "withoutSub"
            ]
        );
    }
}
