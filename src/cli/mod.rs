//! The command line's definitions (clap derive): arguments, their ranges and help. They
//! live in the library, not in `src/main.rs`, so that the shell completions and the man page
//! (`rmqdump completions`, `rmqdump man`) are generated from the very definitions the binary
//! parses, and so that tests can build the same `Options` the binary does. The commands'
//! logic lives beside the layer each belongs to (`output::read`, `analysis::verify`,
//! `output::stats_cmd`, `analysis::regress::run`, `producer::run`, `proxy::run`,
//! `analysis::live`); `src/main.rs` only parses, wires and maps exit codes.

use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser, Subcommand};

use crate::analysis::Options;
use crate::limits::Limits;
use crate::output::display_filter::DisplayFilter;
use crate::output::{self, OutputOptions};

pub mod help;
mod produce;

pub use produce::{MAX_MESSAGE_SIZE, ProduceArgs};

/// Dissector and traffic analyzer for the Apache RocketMQ remoting protocol.
///
/// Reads Wireshark captures (pcap, pcapng, optionally gzip-compressed, or `-` for stdin),
/// reassembles TCP, rebuilds every RemotingCommand and decodes it.
#[derive(Parser)]
#[command(name = "rmqdump", version, about, after_help = help::AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Print every RemotingCommand of a capture: one line per frame, a tree (-V) or JSON Lines.
    Read(ReadArgs),
    /// Re-encode every decoded frame and compare it with the bytes on the wire; with
    /// --manifest, also check that every message of the manifest is in the capture, decoded
    /// as sent, with the send result the producer reported.
    Verify(VerifyArgs),
    /// What happened in a capture: overview, per request code, topic, connection, route,
    /// problems (tables, or one JSON document with --json).
    Stats(StatsArgs),
    /// Compare a capture with a golden JSON Lines file (fields that change from run to run
    /// are ignored); exit 1 on any difference. --bless writes the golden file.
    Check(CheckArgs),
    /// Send messages through the real send path (route lookup, round robin over the
    /// writable queues, SEND_MESSAGE_V2) to a NameServer and Broker.
    Produce(Box<ProduceArgs>),
    /// Capture live from an interface (AF_PACKET ring, kernel BPF filter on the RocketMQ
    /// ports) and print like `read`; needs CAP_NET_RAW (else use `proxy`).
    Live(LiveArgs),
    /// Sniff without privileges: clients use the proxy as their NameServer; route answers
    /// are rewritten so broker traffic flows through it too. Prints what passes like `read`.
    Proxy(ProxyArgs),
    /// Compare the shape of two captures of the same scenario: request sequences per
    /// connection, header keys, serialization, language, version, property keys, body
    /// shapes, response codes. Exit 1 when they differ.
    Diff(DiffArgs),
    /// Write captures as Parquet or Arrow IPC tables (frames, messages, connections,
    /// problems) for DuckDB, Spark or ClickHouse; several captures side by side
    /// (schema: docs/export.md).
    Export(ExportArgs),
    /// One self-contained HTML page (inline SVG plots and CSS, nothing fetched) of what
    /// `stats` finds in one or more captures (docs/report.md).
    Report(ReportArgs),
    /// Rewrite a capture as pcapng with a packet comment on every packet where a
    /// RemotingCommand starts (its text line) and on every packet a problem concerns; the
    /// packets themselves unchanged (docs/report.md).
    Annotate(AnnotateArgs),
    /// Wireshark's extcap interface: lets Wireshark's capture dialog start `proxy` or `live`
    /// (scripts/extcap/rmqdump-extcap; docs/report.md "Wireshark as the front end").
    Extcap(ExtcapArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell); see README.md
    /// ("Install") for where each shell looks for it.
    Completions(CompletionsArgs),
    /// Print the man page (roff): rmqdump(1), or a command's (`rmqdump man read` for
    /// rmqdump-read(1)); --dir writes them all. View with `rmqdump man | man -l -`.
    Man(ManArgs),
}

#[derive(Args)]
pub struct ExportArgs {
    /// Capture files (pcap or pcapng, optionally .gz); `-` reads standard input.
    #[arg(required = true)]
    pub files: Vec<String>,
    /// Output directory: DIR/frames, DIR/messages, DIR/connections, DIR/problems (`-o` /
    /// `--output` as for report's page; `--out`, its first name, still accepted).
    #[arg(
        short = 'o',
        long = "output",
        visible_alias = "out",
        value_name = "DIR"
    )]
    pub out: String,
    /// File format.
    #[arg(long, default_value = "parquet", value_parser = ["parquet", "arrow"])]
    pub format: String,
    /// The `capture` column (e.g. the capture host's name); default the file name.
    #[arg(long)]
    pub label: Option<String>,
    /// Hive-style partition folders by the UTC date and hour of the capture time
    /// (date=YYYY-MM-DD/hour=HH); the only partitioning is `date,hour`.
    #[arg(long, value_parser = ["date,hour"])]
    pub partition_by: Option<String>,
    /// Write message bodies (messages.body; after decompression).
    #[arg(long)]
    pub bodies: bool,
    /// Captures exported side by side (default: the CPUs; at most 64).
    #[arg(long, value_parser = RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub threads: Option<usize>,
    /// Show credentials (AccessKey, Signature, SecurityToken) instead of `<redacted>`.
    #[arg(long)]
    pub show_secrets: bool,
    /// Largest accepted frame `length` field (Java default 16777212).
    #[arg(long, default_value_t = 16_777_212,
          value_parser = RangedU64ValueParser::<u32>::new().range(1..=u32::MAX as u64))]
    pub max_frame: u32,
    /// Most bytes held in reassembly and frame buffers together (per capture).
    #[arg(long, default_value_t = 256 << 20, value_parser = at_least_one)]
    pub max_buffered: usize,
    /// Most TCP connections tracked at once (per capture).
    #[arg(long, default_value_t = crate::limits::Limits::default().max_flows, value_parser = at_least_one)]
    pub max_flows: usize,
    /// Most handshake-only connections tracked at once (per capture).
    #[arg(long, default_value_t = crate::limits::Limits::default().max_half_open_flows, value_parser = at_least_one)]
    pub max_half_open_flows: usize,
    #[command(flatten)]
    pub limits: LimitArgs,
}

impl ExportArgs {
    /// The export settings of these arguments.
    pub fn options(&self) -> output::export::ExportOptions {
        use output::export::{ExportOptions, Format};
        let common = CommonArgs {
            file: String::new(),
            max_frame: self.max_frame,
            max_buffered: self.max_buffered,
            max_flows: self.max_flows,
            max_half_open_flows: self.max_half_open_flows,
            limits: self.limits.clone(),
        };
        let dissect = common.options(false);
        let mut output = OutputOptions {
            show_secrets: self.show_secrets,
            ..Default::default()
        };
        output.decode.limits = dissect.limits;
        ExportOptions {
            format: if self.format == "arrow" {
                Format::Arrow
            } else {
                Format::Parquet
            },
            out: self.out.clone().into(),
            label: self.label.clone(),
            partition: self.partition_by.is_some(),
            bodies: self.bodies,
            threads: self.threads.unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            }),
            dissect,
            output,
        }
    }
}

/// The arguments Wireshark passes to an extcap program.
#[derive(Args)]
pub struct ExtcapArgs {
    #[arg(long)]
    pub extcap_interfaces: bool,
    #[arg(long)]
    pub extcap_version: Option<String>,
    #[arg(long)]
    pub extcap_interface: Option<String>,
    #[arg(long)]
    pub extcap_dlts: bool,
    #[arg(long)]
    pub extcap_config: bool,
    #[arg(long)]
    pub capture: bool,
    #[arg(long)]
    pub fifo: Option<String>,
    /// rmqdump-live: an rmqdump display filter (`live -Y`); rmqdump-proxy takes none.
    /// Without --capture: checks it (an error on stdout, nothing when valid).
    #[arg(long)]
    pub extcap_capture_filter: Option<String>,
    #[arg(long)]
    pub debug: bool,
    #[arg(long)]
    pub debug_file: Option<String>,
    /// rmqdump-proxy: the address to listen on.
    #[arg(long)]
    pub listen: Option<String>,
    /// rmqdump-proxy: the real NameServer.
    #[arg(long)]
    pub namesrv: Option<String>,
    /// rmqdump-live: the network interface.
    #[arg(long)]
    pub live_interface: Option<String>,
    /// rmqdump-live: comma-separated TCP ports.
    #[arg(long)]
    pub ports: Option<String>,
}

#[derive(Args)]
pub struct AnnotateArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The pcapng file to write (`-`: standard output).
    #[arg(short = 'w', long)]
    pub write: String,
}

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// More captures, each reported in its own part of the page.
    pub more: Vec<String>,
    /// The HTML file to write (`-`: standard output).
    #[arg(short = 'o', long)]
    pub output: String,
    /// Plot interval (e.g. 1s, 500ms, 1m); default: chosen from the capture's span (about
    /// 120 intervals).
    #[arg(long, value_parser = output::tables::parse_interval)]
    pub interval: Option<i64>,
    /// Connections listed: the top N by bytes, by frames and by error responses.
    #[arg(long, default_value_t = crate::analysis::stats::TOP_CONNECTIONS, value_parser = at_least_one)]
    pub top: usize,
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args)]
pub struct ManArgs {
    /// The command whose page to print (read, verify, stats, ...); none: rmqdump(1).
    pub command: Option<String>,
    /// Write every page (rmqdump.1, rmqdump-read.1, ...) into this directory instead.
    #[arg(long, conflicts_with = "command")]
    pub dir: Option<String>,
}

#[derive(Args)]
// `--list-ignored` needs neither the capture nor the golden file.
#[command(mut_arg("file", |a| a.required(false).required_unless_present("list_ignored").default_value("").hide_default_value(true)))]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The golden JSON Lines file (as written by `rmqdump read --json` or --bless).
    #[arg(
        long,
        required_unless_present = "list_ignored",
        default_value = "",
        hide_default_value = true
    )]
    pub golden: String,
    /// Also ignore this field: a key name anywhere, or a dotted path (header.topic). Repeatable.
    #[arg(long)]
    pub ignore: Vec<String>,
    /// Compare this normally ignored field after all. Repeatable.
    #[arg(long)]
    pub keep: Vec<String>,
    /// Write the capture's JSON Lines to the golden file instead of comparing.
    #[arg(long)]
    pub bless: bool,
    /// Show the ignored-by-default fields and exit (no capture or golden file needed).
    #[arg(long)]
    pub list_ignored: bool,
}

#[derive(Args)]
pub struct LiveArgs {
    /// Interface (`lo`, `eth0`, `any`).
    #[arg(short = 'i', long)]
    pub interface: String,
    /// TCP ports to capture (repeatable, 1 to 65535); default 9876, 10909, 10911, 10912.
    #[arg(long, value_parser = RangedU64ValueParser::<u16>::new().range(1..=65_535))]
    pub port: Vec<u16>,
    #[command(flatten)]
    pub frames: FrameArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Print the stats tables (refreshed every --interval, and at the end) instead of frames.
    #[arg(long)]
    pub stats: bool,
    /// With --stats: refresh period (e.g. 5s).
    #[arg(long, value_parser = output::tables::parse_interval, requires = "stats")]
    pub interval: Option<i64>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Write to this pcap (raw IP link type), flushed as packets come: every captured
    /// packet when nothing selects (or with --stats), else the packets of the selected frames.
    #[arg(short = 'w', long)]
    pub write: Option<String>,
    /// Stop after this many seconds (more than 0).
    #[arg(long, value_parser = positive_seconds)]
    pub duration: Option<f64>,
    /// Stop after this many captured packets (at least 1).
    #[arg(long, value_parser = RangedU64ValueParser::<u64>::new().range(1..))]
    pub packets: Option<u64>,
    /// Show AccessKey, Signature and SecurityToken values.
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Args)]
pub struct ProxyArgs {
    /// Address clients connect to as their NameServer.
    #[arg(long, default_value = "127.0.0.1:19876")]
    pub listen: String,
    /// The real NameServer.
    #[arg(long, default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Also write what passed through as a pcap (synthesised TCP packets).
    #[arg(short = 'w', long)]
    pub write: Option<String>,
    /// JSON Lines instead of text lines.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many seconds, more than 0 (default: run until Ctrl-C / SIGTERM).
    #[arg(long, value_parser = positive_seconds)]
    pub duration: Option<f64>,
}

#[derive(Args)]
pub struct DiffArgs {
    /// The first capture (A).
    pub a: String,
    /// The second capture (B).
    pub b: String,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// More capture files, merged with the first by packet time into one result
    /// (docs/architecture.md, "Byte-exact re-encoding").
    pub more: Vec<String>,
    /// A manifest of what was sent and what came back (rmqdump produce --manifest, or a
    /// rocketmq-capture-manifest/1 file).
    #[arg(long)]
    pub manifest: Option<String>,
}

/// `stats --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    Table,
    Csv,
}

#[derive(Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// More capture files, merged with the first by packet time into one result
    /// (docs/stats.md).
    pub more: Vec<String>,
    /// One JSON document instead of tables (schema: docs/stats.md).
    #[arg(long)]
    pub json: bool,
    /// Tables drawn (fitted to the terminal), or every table as CSV (docs/stats.md).
    #[arg(long, value_enum, default_value_t = TableFormat::Table, conflicts_with = "json")]
    pub format: TableFormat,
    /// Do not fit tables to the terminal width (COLUMNS, else the terminal's): print
    /// every cell whole.
    #[arg(long)]
    pub wide: bool,
    /// Also count per time bucket of this length (e.g. 1s, 500ms, 1m).
    #[arg(long, value_parser = output::tables::parse_interval)]
    pub interval: Option<i64>,
    /// Passes side by side, each over some of the connections, merged into the same
    /// result as one pass (default: the CPUs, at most 4; at most 64; always 1 for standard
    /// input).
    #[arg(long, value_parser = RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub threads: Option<usize>,
    /// Connections listed: the top N by bytes, by frames and by error responses (totals
    /// count them all).
    #[arg(long, default_value_t = crate::analysis::stats::TOP_CONNECTIONS, value_parser = at_least_one)]
    pub top: usize,
}

#[derive(Args)]
pub struct CommonArgs {
    /// Capture file (pcap or pcapng, optionally .gz); `-` reads standard input.
    pub file: String,
    /// Largest accepted frame `length` field (Java default 16777212).
    #[arg(long, default_value_t = 16_777_212,
          value_parser = RangedU64ValueParser::<u32>::new().range(1..=u32::MAX as u64))]
    pub max_frame: u32,
    /// Most bytes held in reassembly and frame buffers together.
    #[arg(long, default_value_t = 256 << 20, value_parser = at_least_one)]
    pub max_buffered: usize,
    /// Most TCP connections tracked at once; past it the one idle longest is flushed and
    /// forgotten (reported, and counted in dropped_by_limits).
    #[arg(long, default_value_t = Limits::default().max_flows, value_parser = at_least_one)]
    pub max_flows: usize,
    /// Most handshake-only connections (no payload yet) tracked at once; past it the
    /// oldest is forgotten (a SYN flood).
    #[arg(long, default_value_t = Limits::default().max_half_open_flows, value_parser = at_least_one)]
    pub max_half_open_flows: usize,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The decode budget ([`Limits`]) of every command that decodes; defaults
/// and meanings in README.md ("Limits").
#[derive(Args, Clone)]
pub struct LimitArgs {
    /// Messages decoded per frame (batch items, stored and inner-batch messages); the rest
    /// are counted, not decoded.
    #[arg(long, default_value_t = Limits::default().max_messages_per_frame,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=16_777_216))]
    pub max_messages_per_frame: usize,
    /// Properties kept per message.
    #[arg(long, default_value_t = Limits::default().max_properties,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=1_048_576))]
    pub max_properties: usize,
    /// Bytes all compressed bodies of one frame may inflate to (failed attempts count).
    #[arg(long, default_value_t = Limits::default().max_inflated_per_frame,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=1 << 32))]
    pub max_inflated_per_frame: usize,
    /// extFields entries kept per header.
    #[arg(long, default_value_t = Limits::default().max_ext_fields,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=1_048_576))]
    pub max_ext_fields: usize,
    /// Bytes of a JSON body turned into a tree; a larger one is shown as its length.
    #[arg(long, default_value_t = Limits::default().max_json_body,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=1 << 31))]
    pub max_json_body: usize,
    /// Nodes (values and keys) of a JSON body turned into a tree.
    #[arg(long, default_value_t = Limits::default().max_json_nodes,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=1 << 28))]
    pub max_json_nodes: usize,
    /// Topic configs and mappings decoded from one compressed RegisterBrokerBody.
    #[arg(long, default_value_t = Limits::default().max_body_entries,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=16_777_216))]
    pub max_body_entries: usize,
}

impl Default for LimitArgs {
    fn default() -> Self {
        let l = Limits::default();
        LimitArgs {
            max_messages_per_frame: l.max_messages_per_frame,
            max_properties: l.max_properties,
            max_inflated_per_frame: l.max_inflated_per_frame,
            max_ext_fields: l.max_ext_fields,
            max_json_body: l.max_json_body,
            max_json_nodes: l.max_json_nodes,
            max_body_entries: l.max_body_entries,
        }
    }
}

/// The `--max-*` options as `Limits` (the others keep their defaults).
pub fn limits(a: &LimitArgs) -> Limits {
    Limits {
        max_messages_per_frame: a.max_messages_per_frame,
        max_properties: a.max_properties,
        max_inflated_per_frame: a.max_inflated_per_frame,
        max_ext_fields: a.max_ext_fields,
        max_json_body: a.max_json_body,
        max_json_nodes: a.max_json_nodes,
        max_body_entries: a.max_body_entries,
        ..Limits::default()
    }
}

/// How frames are printed and which: the same for `read` and `live`.
#[derive(Args)]
pub struct FrameArgs {
    /// A protocol tree per frame in wire order, as tshark -V: frame, RemotingCommand
    /// fields, extFields with the typed header, messages, body (docs/text-output.md).
    #[arg(short = 'V', long, visible_short_alias = 'v')]
    pub verbose: bool,
    /// How text lines and the tree show times: local (date, time and UTC offset; TZ
    /// honoured), utc (RFC 3339 with Z), epoch (seconds), relative (seconds since the first
    /// packet). JSON Lines keep their UTC `ts`.
    #[arg(long, value_enum, default_value_t = output::TimeFormat::Local)]
    pub time: output::TimeFormat,
    /// JSON Lines, one object per frame (schema: docs/json-lines.md).
    #[arg(long, conflicts_with = "verbose")]
    pub json: bool,
    /// Only frames with this request code (name or number); a response matches by its request's code. Repeatable.
    #[arg(long)]
    pub code: Vec<String>,
    /// Only frames about this topic.
    #[arg(long)]
    pub topic: Option<String>,
    /// Only frames carrying this key: a KEYS entry, a UNIQ_KEY or a msgId (of any sent,
    /// pulled, popped, queried, viewed or inner-batch message).
    #[arg(long)]
    pub key: Option<String>,
    /// Only frames of this consumer or producer group (header consumerGroup/producerGroup/
    /// group/groupName, heartbeat and lock bodies, PGROUP), and the responses to them.
    #[arg(long)]
    pub group: Option<String>,
    /// Print at most this many bytes of each message body (JSON marks the cut with
    /// "body_truncated": true).
    #[arg(long, default_value_t = Limits::default().max_body_print)]
    pub max_body_print: usize,
}

/// The selection `read` and `live` share beyond [`FrameArgs`]'s criteria.
#[derive(Args)]
pub struct SelectArgs {
    /// Only connections to or from this broker address (ip:port, or ip for any port).
    #[arg(long, value_parser = parse_broker)]
    pub broker: Option<output::filter::Broker>,
    /// Only frames at or after this time: RFC 3339, or seconds after the first packet.
    #[arg(long, value_parser = parse_time_bound)]
    pub since: Option<output::filter::TimeBound>,
    /// Only frames at or before this time: RFC 3339, or seconds after the first packet.
    #[arg(long, value_parser = parse_time_bound)]
    pub until: Option<output::filter::TimeBound>,
    /// Stop after this many selected frames.
    #[arg(short = 'c', long = "count", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Display filter on the JSON Lines fields (docs/display-filter.md), e.g.
    /// 'header.queueId == 3 && messages.topic == "T"'.
    #[arg(short = 'Y', long = "display-filter")]
    pub display_filter: Option<String>,
}

impl SelectArgs {
    /// Sets `filter`'s broker and time bounds; the display filter parsed (its error points
    /// at the column).
    pub fn apply(&self, filter: &mut output::Filter) -> Result<Option<DisplayFilter>, String> {
        filter.broker = self.broker;
        filter.since = self.since;
        filter.until = self.until;
        self.display_filter
            .as_deref()
            .map(DisplayFilter::parse)
            .transpose()
            .map_err(|e| e.to_string())
    }
}

#[derive(Args)]
pub struct ReadArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// More capture files, merged with the first by packet time (docs/follow.md).
    pub more: Vec<String>,
    #[command(flatten)]
    pub frames: FrameArgs,
    /// Only this TCP stream (connection index, as in tshark's tcp.stream).
    #[arg(long)]
    pub stream: Option<u64>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Write the packets of the selected frames to this pcap file (not with standard input).
    #[arg(short = 'w', long = "write")]
    pub write: Option<String>,
    /// Exit 1 when any problem was found (undecodable frame, gap, truncation, unanswered
    /// request, response without request...; not a request pending at the end).
    #[arg(long)]
    pub strict: bool,
    /// Show AccessKey, Signature and SecurityToken values instead of <redacted>.
    #[arg(long)]
    pub show_secrets: bool,
}

impl CommonArgs {
    /// The dissector options of these arguments (`keep_wire`: keep each frame's wire bytes,
    /// for `verify`).
    pub fn options(&self, keep_wire: bool) -> Options {
        let mut o = Options {
            limits: limits(&self.limits),
            ..Options::default()
        };
        o.frame.max_frame_length = self.max_frame;
        o.max_buffered_total = self.max_buffered;
        o.limits.max_flows = self.max_flows;
        o.limits.max_half_open_flows = self.max_half_open_flows;
        o.keep_wire = keep_wire;
        o
    }
}

impl FrameArgs {
    /// The filter of `read` and `live` (an unknown code is an error naming it).
    pub fn filter(
        &self,
        stream: Option<u64>,
    ) -> Result<output::Filter, output::filter::UnknownCode> {
        output::Filter::from_args(
            &self.code,
            self.topic.clone(),
            self.key.clone(),
            self.group.clone(),
            stream,
        )
    }

    /// Output options of `read` and `live`: body decoding within the same `Limits` as the
    /// dissector's, body printing cut at `--max-body-print`.
    pub fn output_options(&self, show_secrets: bool, opts: &Options) -> OutputOptions {
        let mut oo = OutputOptions {
            show_secrets,
            clock: output::Clock::new(self.time),
            ..Default::default()
        };
        oo.decode.limits = opts.limits;
        oo.decode.limits.max_body_print = self.max_body_print;
        oo
    }
}

impl ProxyArgs {
    /// The proxy's settings; an error names the argument.
    pub fn config(&self) -> Result<crate::proxy::run::ProxyConfig, String> {
        Ok(crate::proxy::run::ProxyConfig {
            listen: self
                .listen
                .parse()
                .map_err(|_| format!("--listen {}: not an ip:port", self.listen))?,
            namesrv: self.namesrv.clone(),
            write: self.write.clone(),
            json: self.json,
            duration: self.duration,
        })
    }
}

impl LiveArgs {
    /// The live capture's settings (an unknown `--code` is an error).
    pub fn config(&self) -> Result<crate::analysis::live::LiveConfig, String> {
        let opts = Options {
            limits: limits(&self.limits),
            ..Options::default()
        };
        let f = &self.frames;
        let mut filter = f.filter(None).map_err(|e| e.to_string())?;
        let display = self.select.apply(&mut filter)?;
        if self.stats && (filter.active() || display.is_some() || self.select.count.is_some()) {
            return Err(
                "--stats counts every frame: the filters, -Y and -c select frames to print".into(),
            );
        }
        Ok(crate::analysis::live::LiveConfig {
            interface: self.interface.clone(),
            ports: if self.port.is_empty() {
                crate::analysis::live::DEFAULT_PORTS.to_vec()
            } else {
                self.port.clone()
            },
            opts,
            output: f.output_options(self.show_secrets, &opts),
            filter,
            display,
            json: f.json,
            verbose: f.verbose,
            stats: self.stats,
            interval_ns: self.interval,
            write: self.write.clone(),
            duration: self.duration,
            count: self.select.count,
            packets: self.packets,
        })
    }
}

/// A count or size of at least 1.
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("0: must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{s:?}: {e}")),
    }
}

/// A duration in seconds: finite and more than 0.
pub fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e9 => Ok(v),
        Ok(_) => Err(format!("{s}: must be a number of seconds above 0")),
        Err(e) => Err(format!("{s:?}: {e}")),
    }
}

fn parse_broker(s: &str) -> Result<output::filter::Broker, String> {
    output::filter::Broker::parse(s).ok_or_else(|| "not an ip:port or ip".to_string())
}

fn parse_time_bound(s: &str) -> Result<output::filter::TimeBound, String> {
    output::filter::TimeBound::parse(s)
        .ok_or_else(|| "not an RFC 3339 time nor a number of seconds".to_string())
}
