//! `rmqdump produce`'s arguments and the job they describe (src/producer).

use clap::Args;
use clap::builder::RangedU64ValueParser;

use super::at_least_one;

#[derive(Args)]
pub struct ProduceArgs {
    /// NameServer address.
    #[arg(long, default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Topic to send to (auto-created through TBW102 when the broker allows it). Letters,
    /// digits, %, |, _ and -, at most 127 (as Java's Validators.checkTopic).
    #[arg(long, value_parser = crate::producer::validators::check_topic)]
    pub topic: String,
    /// Number of messages.
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    pub count: usize,
    /// Body size in bytes (a deterministic text), unless --body-file; at least 1 (Java
    /// refuses an empty body).
    #[arg(long, default_value_t = 64, value_parser = at_least_one)]
    pub size: usize,
    /// Tags, comma-separated: message i gets tag i mod n.
    #[arg(long)]
    pub tags: Option<String>,
    /// KEYS: message i gets `<keys>-<i>`.
    #[arg(long)]
    pub keys: Option<String>,
    /// A user property k=v (repeatable).
    #[arg(long)]
    pub property: Vec<String>,
    /// The body, from a file.
    #[arg(long)]
    pub body_file: Option<String>,
    /// Producer group (as Java's Validators.checkGroup: letters, digits, %, |, _ and -).
    #[arg(long, default_value = "rmqdump_producer", value_parser = crate::producer::validators::check_group)]
    pub group: String,
    /// Version sent in headers (ordinal or name such as V4_9_4).
    #[arg(long, default_value = "V4_9_4")]
    pub version: String,
    /// Send mode: sync (wait for each result), async (pipelined, --concurrency requests in
    /// flight) or oneway (no result).
    #[arg(long, default_value = "sync", value_parser = ["sync", "async", "oneway"])]
    pub mode: String,
    /// Requests in flight in async mode (1 to 65536).
    #[arg(long, default_value_t = 16,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=65_536))]
    pub concurrency: usize,
    /// Send messages in batches of N (SEND_BATCH_MESSAGE); 1 sends them one by one.
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    pub batch: usize,
    /// Header serialization: json or rocketmq (binary).
    #[arg(long, default_value = "json", value_parser = ["json", "rocketmq"])]
    pub serialize: String,
    /// Write the producer's own traffic to this pcap (`-w` / `--write` as for every capture
    /// written; `--record`, its first name, still accepted).
    #[arg(
        short = 'w',
        long = "write",
        visible_alias = "record",
        value_name = "PCAP"
    )]
    pub record: Option<String>,
    /// Write what was sent and what came back to this JSON manifest.
    #[arg(long)]
    pub manifest: Option<String>,
    /// Per-request timeout in milliseconds (at least 1).
    #[arg(long, default_value_t = 3000,
          value_parser = RangedU64ValueParser::<u64>::new().range(1..))]
    pub timeout_ms: u64,
    /// Send through the broker's VIP channel (listen port − 2), as Java clients ≤ 4.4 did.
    #[arg(long)]
    pub vip_channel: bool,
    /// The `language` the headers carry.
    #[arg(long, default_value = "java", value_parser = ["java", "rust"])]
    pub language: String,
    /// Print one line per message (its send result, or FAILED and the error) before the
    /// summary; without it only the summary is printed.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// `DefaultMQProducer.maxMessageSize`: 4 MiB.
pub const MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

impl ProduceArgs {
    /// The job these arguments describe; an error names the argument and what it expects.
    pub fn job(&self) -> Result<crate::producer::run::ProduceJob, String> {
        use crate::producer::client::{Mode, ProducerConfig};
        use crate::remoting::{LanguageCode, SerializeType};
        let version = match self.version.parse::<i32>() {
            Ok(v) => v,
            Err(_) => crate::remoting::codes::version_ordinal(&self.version).ok_or_else(|| {
                format!("--version {}: not a version ordinal or name", self.version)
            })?,
        };
        let mut properties = Vec::new();
        for p in &self.property {
            match p.split_once('=') {
                Some((k, v)) if !k.is_empty() => properties.push((k.to_string(), v.to_string())),
                _ => return Err(format!("--property {p}: expected k=v")),
            }
        }
        let port = self
            .namesrv
            .rsplit_once(':')
            .filter(|(h, _)| !h.is_empty() && !h.contains(';'))
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .filter(|&p| p > 0);
        if port.is_none() {
            return Err(format!(
                "--namesrv {:?}: expected one HOST:PORT",
                self.namesrv
            ));
        }
        let body = match &self.body_file {
            Some(f) => match std::fs::read(f) {
                // Java's Validators.checkMessage: "the message body length is zero".
                Ok(b) if b.is_empty() => {
                    return Err(format!(
                        "--body-file {f}: the file is empty; a message body cannot be"
                    ));
                }
                Ok(b) => Some(b),
                Err(e) => return Err(format!("--body-file {f}: {e}")),
            },
            None => None,
        };
        // Java's Validators.checkMessage: "the message body size over max value" (the
        // producer's maxMessageSize, 4 MiB by default); a batch is checked whole.
        let body_len = body.as_ref().map_or(self.size, Vec::len);
        if body_len > MAX_MESSAGE_SIZE {
            return Err(format!(
                "a body of {body_len} bytes: over the producer's maxMessageSize of {MAX_MESSAGE_SIZE} (Validators.checkMessage)"
            ));
        }
        if body_len.saturating_mul(self.batch) > MAX_MESSAGE_SIZE {
            return Err(format!(
                "--batch {} of {body_len}-byte bodies: over the producer's maxMessageSize of {MAX_MESSAGE_SIZE} for one batch (Validators.checkMessage)",
                self.batch
            ));
        }
        Ok(crate::producer::run::ProduceJob {
            producer: ProducerConfig {
                namesrv: self.namesrv.clone(),
                group: self.group.clone(),
                version,
                timeout: std::time::Duration::from_millis(self.timeout_ms),
                vip_channel: self.vip_channel,
                language: if self.language == "rust" {
                    LanguageCode::RUST
                } else {
                    LanguageCode::JAVA
                },
                serialize: if self.serialize == "rocketmq" {
                    SerializeType::RocketMq
                } else {
                    SerializeType::Json
                },
                ..Default::default()
            },
            topic: self.topic.clone(),
            count: self.count,
            size: self.size,
            tags: self
                .tags
                .as_deref()
                .map(|t| t.split(',').map(String::from).collect())
                .unwrap_or_default(),
            keys: self.keys.clone(),
            properties,
            body,
            mode: match self.mode.as_str() {
                "async" => Mode::Async,
                "oneway" => Mode::Oneway,
                _ => Mode::Sync,
            },
            concurrency: self.concurrency,
            batch: self.batch,
            record: self.record.clone(),
            manifest: self.manifest.clone(),
            verbose: self.verbose,
        })
    }
}
