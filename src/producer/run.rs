//! `rmqdump produce`: builds the messages, sends them with [`Producer::run`], prints one
//! line per message and a summary, and writes the recording (pcap) and the manifest.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};

use super::client::{Mode, Outcome, Producer, ProducerConfig};
use super::send_path::OutMessage;
use crate::remoting::SerializeType;

/// What to send and where to write what happened.
#[derive(Clone, Debug)]
pub struct ProduceJob {
    pub producer: ProducerConfig,
    pub topic: String,
    pub count: usize,
    /// Body size (a deterministic text) when there is no `body`.
    pub size: usize,
    /// Message i gets tag i mod n.
    pub tags: Vec<String>,
    /// Message i gets KEYS `<keys>-<i>`.
    pub keys: Option<String>,
    pub properties: Vec<(String, String)>,
    /// Every message's body (from a file).
    pub body: Option<Vec<u8>>,
    pub mode: Mode,
    pub concurrency: usize,
    pub batch: usize,
    /// Write the producer's own traffic to this pcap.
    pub record: Option<String>,
    /// Write what was sent and what came back to this JSON manifest.
    pub manifest: Option<String>,
}

impl ProduceJob {
    /// The messages: bodies, tags and keys numbered by message.
    pub fn messages(&self) -> Vec<OutMessage> {
        (0..self.count)
            .map(|i| OutMessage {
                topic: self.topic.clone(),
                tags: (!self.tags.is_empty()).then(|| self.tags[i % self.tags.len()].clone()),
                keys: self.keys.iter().map(|k| format!("{k}-{i}")).collect(),
                properties: self.properties.clone(),
                body: match &self.body {
                    Some(b) => b.clone(),
                    None => {
                        let text = format!("rmqdump message {i} ");
                        text.bytes().cycle().take(self.size).collect()
                    }
                },
                flag: 0,
            })
            .collect()
    }
}

/// The name of a send mode as the command line and the manifest spell it.
pub fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Sync => "sync",
        Mode::Async => "async",
        Mode::Oneway => "oneway",
    }
}

/// What `produce` did.
#[derive(Debug, Default)]
pub struct ProduceReport {
    pub sent: usize,
    pub failed: usize,
}

/// `rmqdump produce`: one line per message and the summary to `out`.
pub fn produce<W: Write>(job: &ProduceJob, out: W) -> io::Result<ProduceReport> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seed = (now.as_nanos() as u32) ^ std::process::id();
    // The UNIQ_KEY counts milliseconds from the start of the month (UTC here).
    let month_start_ms = crate::protocol::message::utc_month_start_ms(now.as_millis() as i64);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut producer = Producer::new(job.producer.clone(), seed);
    producer.rec.enabled = job.record.is_some();
    let messages = job.messages();
    let started = std::time::Instant::now();
    let outcomes = rt.block_on(async {
        let o = producer
            .run(
                &messages,
                job.mode,
                job.concurrency,
                job.batch,
                month_start_ms,
            )
            .await;
        producer.shutdown().await;
        o
    });
    let elapsed = started.elapsed();
    let mut w = BufWriter::new(out);
    let mut failed = 0;
    let mut lat: Vec<u64> = Vec::new();
    let mut per_queue: BTreeMap<String, u64> = BTreeMap::new();
    for o in &outcomes {
        match &o.result {
            Ok(r) => {
                lat.push(o.latency_us);
                *per_queue
                    .entry(format!("{}:{}", r.queue.broker_name, r.queue.queue_id))
                    .or_default() += 1;
                writeln!(
                    w,
                    "{} {} msgId={} offsetMsgId={} queue={}:{} queueOffset={} latency={}us",
                    o.index,
                    r.status.as_str(),
                    r.msg_id,
                    r.offset_msg_id,
                    r.queue.broker_name,
                    r.queue.queue_id,
                    r.queue_offset,
                    o.latency_us
                )?;
            }
            Err(e) => {
                failed += 1;
                writeln!(w, "{} FAILED msgId={} {e}", o.index, o.uniq_key)?;
            }
        }
    }
    lat.sort_unstable();
    let pct = |q: f64| {
        lat.get(((q * lat.len() as f64).ceil() as usize).clamp(1, lat.len().max(1)) - 1)
            .copied()
            .unwrap_or(0)
    };
    let spread = match (per_queue.values().max(), per_queue.values().min()) {
        (Some(x), Some(n)) if *n > 0 => format!("{:.2}", *x as f64 / *n as f64),
        _ => "-".into(),
    };
    writeln!(
        w,
        "sent {} of {}, failed {failed}, {:.0} msg/s, latency p50 {}us p99 {}us, queues {:?} (spread {spread})",
        outcomes.len() - failed,
        outcomes.len(),
        outcomes.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        pct(0.5),
        pct(0.99),
        per_queue
    )?;
    w.flush()?;
    if let Some(path) = &job.record {
        let f = std::fs::File::create(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
        producer.rec.write_pcap(BufWriter::new(f))?;
    }
    if let Some(path) = &job.manifest {
        write_manifest(path, job, &messages, &outcomes)?;
    }
    Ok(ProduceReport {
        sent: outcomes.len() - failed,
        failed,
    })
}

/// The manifest (rocketmq-capture-manifest/1) of what was sent and what came back.
fn write_manifest(
    path: &str,
    job: &ProduceJob,
    messages: &[OutMessage],
    outcomes: &[Outcome],
) -> io::Result<()> {
    use base64::Engine;
    let msgs: Vec<serde_json::Value> = messages
        .iter()
        .zip(outcomes)
        .map(|(m, o)| {
            serde_json::json!({
                "id": format!("m{:04}", o.index),
                "send_mode": if job.batch > 1 { "batch" } else { mode_name(job.mode) },
                "tags": m.tags,
                "keys": m.keys,
                "keys_property": if m.keys.is_empty() { None } else { Some(m.keys.join(" ")) },
                "user_properties": m.properties.iter().cloned().collect::<BTreeMap<_, _>>(),
                "body_len": m.body.len(),
                "body_sha256": sha256_hex(&m.body),
                // Small bodies inline, as the bundled manifests do.
                "body_b64": (m.body.len() <= 1024).then(|| base64::engine::general_purpose::STANDARD.encode(&m.body)),
                "on_wire": o.sent_to.is_some(),
                "send_result": match &o.result {
                    Ok(r) => serde_json::json!({
                        "ok": true,
                        "status": r.status.as_str(),
                        "msg_id": r.msg_id,
                        "offset_msg_id": r.offset_msg_id,
                        "broker_name": r.queue.broker_name,
                        "queue_id": r.queue.queue_id,
                        "queue_offset": r.queue_offset,
                    }),
                    Err(e) => serde_json::json!({"ok": false, "error": e, "msg_id": o.uniq_key}),
                },
            })
        })
        .collect();
    let serialize = match job.producer.serialize {
        SerializeType::RocketMq => "rocketmq",
        _ => "json",
    };
    let doc = serde_json::json!({
        "format": "rocketmq-capture-manifest/1",
        "capture": job.record,
        "client": {"name": "rmqdump produce", "version": env!("CARGO_PKG_VERSION"), "send_modes": ["sync", "async", "oneway", "batch"], "serialize": serialize},
        "namesrv": job.producer.namesrv,
        "topic": job.topic,
        "producer_group": job.producer.group,
        "messages": msgs,
    });
    std::fs::write(
        path,
        serde_json::to_vec_pretty(&doc).map_err(io::Error::from)?,
    )
    .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}
