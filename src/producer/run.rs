//! `rmqdump produce`: builds the messages, sends them with [`Producer::run`], prints a
//! summary (and with `-v` one line per message before it), and writes the recording (pcap)
//! and the manifest.

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
    /// One line per message before the summary (`-v`).
    pub verbose: bool,
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

/// Distinct errors the summary quotes.
pub const MAX_ERRORS: usize = 3;

/// What `produce` did: the summary.
#[derive(Debug, Default)]
pub struct Summary {
    /// Messages the broker answered with a send result (one-way: written to it).
    pub sent: usize,
    pub failed: usize,
    pub elapsed: std::time::Duration,
    /// Latency percentiles of the sent messages, in microseconds.
    pub p50_us: u64,
    pub p99_us: u64,
    /// Messages sent per `broker:queueId`.
    pub per_queue: BTreeMap<String, u64>,
    /// The first distinct errors, in the order they first came, with how many messages
    /// failed with each.
    pub errors: Vec<(String, usize)>,
}

impl Summary {
    /// Messages per second over what was actually sent (`None` when nothing was).
    pub fn rate(&self) -> Option<f64> {
        (self.sent > 0).then(|| self.sent as f64 / self.elapsed.as_secs_f64().max(1e-9))
    }

    /// The summary line (standard output).
    pub fn line(&self) -> String {
        let spread = match (self.per_queue.values().max(), self.per_queue.values().min()) {
            (Some(x), Some(n)) if *n > 0 => format!("{:.2}", *x as f64 / *n as f64),
            _ => "-".into(),
        };
        let rate = match self.rate() {
            Some(r) => format!("{r:.0} msg/s"),
            None => "- msg/s".into(),
        };
        // No latency without a message sent ("-", as the rate).
        let latency = if self.sent == 0 {
            "latency -".to_string()
        } else {
            format!("latency p50 {}us p99 {}us", self.p50_us, self.p99_us)
        };
        format!(
            "sent {} of {}, failed {}, {rate} over {:.3} s, {latency}, queues {:?} (spread {spread})",
            self.sent,
            self.sent + self.failed,
            self.failed,
            self.elapsed.as_secs_f64(),
            self.per_queue
        )
    }

    /// What to say on standard error when messages failed (`None` when none did): how
    /// many, the first distinct errors, and what to do when nothing was sent.
    pub fn error_report(&self, namesrv: &str) -> Option<String> {
        if self.failed == 0 {
            return None;
        }
        let total = self.sent + self.failed;
        let mut s = if self.sent == 0 {
            format!("produce: nothing was sent: all {total} messages failed")
        } else {
            format!("produce: {} of {total} messages failed", self.failed)
        };
        let distinct = self.errors.len();
        s.push_str(if distinct == 1 {
            "; the error:"
        } else {
            "; the first errors:"
        });
        for (e, n) in &self.errors {
            s.push_str(&format!(
                "\n  {e} ({n} message{})",
                if *n == 1 { "" } else { "s" }
            ));
        }
        if self.sent == 0 {
            s.push_str(&format!(
                "\ncheck that the NameServer {namesrv} (--namesrv) and its brokers are running and that the topic exists or the broker creates topics (autoCreateTopicEnable)"
            ));
        }
        Some(s)
    }
}

/// The `q` quantile of sorted latencies (0 when there are none).
fn percentile(sorted: &[u64], q: f64) -> u64 {
    sorted
        .get(((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1)) - 1)
        .copied()
        .unwrap_or(0)
}

/// The first `n` distinct errors of the outcomes with their counts.
fn first_errors(outcomes: &[Outcome], n: usize) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = Vec::new();
    for o in outcomes {
        if let Err(e) = &o.result {
            if let Some((_, k)) = v.iter_mut().find(|(x, _)| x == e) {
                *k += 1;
            } else if v.len() < n {
                v.push((e.clone(), 1));
            }
        }
    }
    v
}

/// `rmqdump produce`: the summary line to `out` (with `job.verbose`, one line per message
/// before it); the caller says [`Summary::error_report`] on standard error.
pub fn produce<W: Write>(job: &ProduceJob, out: W) -> io::Result<Summary> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seed = (now.as_nanos() as u32) ^ std::process::id();
    // The UNIQ_KEY counts milliseconds from the start of the month (UTC here).
    let month_start_ms = crate::protocol::message::utc_month_start_ms(now.as_millis() as i64);
    // The recording and the manifest are created before anything is sent: a path that
    // cannot be written is refused up front, not found out after the messages went.
    let create = |path: &String| {
        std::fs::File::create(path).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))
    };
    let record_file = job.record.as_ref().map(create).transpose()?;
    let manifest_file = job.manifest.as_ref().map(create).transpose()?;
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
                if !job.verbose {
                    continue;
                }
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
                if job.verbose {
                    writeln!(w, "{} FAILED msgId={} {e}", o.index, o.uniq_key)?;
                }
            }
        }
    }
    lat.sort_unstable();
    let sent = outcomes.len() - failed;
    let summary = Summary {
        sent,
        failed,
        elapsed,
        p50_us: percentile(&lat, 0.5),
        p99_us: percentile(&lat, 0.99),
        per_queue,
        errors: first_errors(&outcomes, MAX_ERRORS),
    };
    writeln!(w, "{}", summary.line())?;
    w.flush()?;
    if let (Some(f), Some(path)) = (record_file, &job.record) {
        producer
            .rec
            .write_pcap(BufWriter::new(f))
            .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
    }
    if let (Some(f), Some(path)) = (manifest_file, &job.manifest) {
        write_manifest(f, job, &messages, &outcomes)
            .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
    }
    Ok(summary)
}

/// The manifest (rocketmq-capture-manifest/1) of what was sent and what came back.
fn write_manifest(
    mut f: std::fs::File,
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
    f.write_all(&serde_json::to_vec_pretty(&doc).map_err(io::Error::from)?)?;
    f.flush()
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_counts_only_what_was_sent_and_errors_are_counted_once_each() {
        let s = Summary {
            sent: 50,
            failed: 150,
            elapsed: std::time::Duration::from_secs(2),
            errors: vec![("a".into(), 100), ("b".into(), 50)],
            ..Default::default()
        };
        assert_eq!(s.rate(), Some(25.0));
        assert!(
            s.line()
                .starts_with("sent 50 of 200, failed 150, 25 msg/s over 2.000 s")
        );
        let r = s.error_report("ns:1").unwrap();
        assert_eq!(
            r,
            "produce: 150 of 200 messages failed; the first errors:\n  a (100 messages)\n  b (50 messages)"
        );
        let none = Summary {
            failed: 3,
            ..Default::default()
        };
        assert_eq!(none.rate(), None);
        assert!(none.line().contains("- msg/s"));
        assert!(
            none.error_report("ns:1")
                .unwrap()
                .contains("NameServer ns:1 (--namesrv)")
        );
        assert!(Summary::default().error_report("ns:1").is_none());
    }

    #[test]
    fn first_errors_keeps_the_first_distinct_ones_in_order() {
        let o = |i: usize, r: Result<(), &str>| Outcome {
            index: i,
            result: r.map(|_| unreachable!()).map_err(String::from),
            latency_us: 0,
            uniq_key: String::new(),
            sent_to: None,
        };
        let v = [
            o(0, Err("x")),
            o(1, Err("y")),
            o(2, Err("x")),
            o(3, Err("z")),
            o(4, Err("w")),
            o(5, Err("z")),
        ];
        assert_eq!(
            first_errors(&v, 3),
            vec![("x".into(), 2), ("y".into(), 1), ("z".into(), 2)]
        );
    }
}
