//! The `rmqdump` command line: argument parsing, wiring and exit codes only.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser, Subcommand};
use rmqdump::analysis::{Event, Options};
use rmqdump::capture::{self, CaptureError};
use rmqdump::limits::Limits;
use rmqdump::output::{self, OutputOptions};
use rmqdump::remoting::SerializeType;

/// Dissector and traffic analyzer for the Apache RocketMQ remoting protocol.
///
/// Reads Wireshark captures (pcap, pcapng, optionally gzip-compressed, or `-` for stdin),
/// reassembles TCP, rebuilds every RemotingCommand and decodes it.
#[derive(Parser)]
#[command(name = "rmqdump", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
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
}

/// The arguments Wireshark passes to an extcap program.
#[derive(Args)]
struct ExtcapArgs {
    #[arg(long)]
    extcap_interfaces: bool,
    #[arg(long)]
    extcap_version: Option<String>,
    #[arg(long)]
    extcap_interface: Option<String>,
    #[arg(long)]
    extcap_dlts: bool,
    #[arg(long)]
    extcap_config: bool,
    #[arg(long)]
    capture: bool,
    #[arg(long)]
    fifo: Option<String>,
    /// Accepted and not applied: proxy and live choose their traffic themselves.
    #[arg(long)]
    extcap_capture_filter: Option<String>,
    #[arg(long)]
    debug: bool,
    #[arg(long)]
    debug_file: Option<String>,
    /// rmqdump-proxy: the address to listen on.
    #[arg(long)]
    listen: Option<String>,
    /// rmqdump-proxy: the real NameServer.
    #[arg(long)]
    namesrv: Option<String>,
    /// rmqdump-live: the network interface.
    #[arg(long)]
    live_interface: Option<String>,
    /// rmqdump-live: comma-separated TCP ports.
    #[arg(long)]
    ports: Option<String>,
}

#[derive(Args)]
struct AnnotateArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The pcapng file to write (`-`: standard output).
    #[arg(short = 'w', long)]
    write: String,
}

#[derive(Args)]
struct ReportArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// More captures, each reported in its own part of the page.
    more: Vec<String>,
    /// The HTML file to write (`-`: standard output).
    #[arg(short = 'o', long)]
    output: String,
    /// Plot interval (e.g. 1s, 500ms, 1m); default: chosen from the capture's span (about
    /// 120 intervals).
    #[arg(long, value_parser = output::tables::parse_interval)]
    interval: Option<i64>,
    /// Connections listed: the top N by bytes, by frames and by error responses.
    #[arg(long, default_value_t = rmqdump::analysis::stats::TOP_CONNECTIONS)]
    top: usize,
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The golden JSON Lines file (as written by `rmqdump read --json` or --bless).
    #[arg(long)]
    golden: String,
    /// Also ignore this field: a key name anywhere, or a dotted path (header.topic). Repeatable.
    #[arg(long)]
    ignore: Vec<String>,
    /// Compare this normally ignored field after all. Repeatable.
    #[arg(long)]
    keep: Vec<String>,
    /// Write the capture's JSON Lines to the golden file instead of comparing.
    #[arg(long)]
    bless: bool,
    /// Show the ignored-by-default fields and exit.
    #[arg(long)]
    list_ignored: bool,
}

#[derive(Args)]
struct ProduceArgs {
    /// NameServer address.
    #[arg(long, default_value = "127.0.0.1:9876")]
    namesrv: String,
    /// Topic to send to (auto-created through TBW102 when the broker allows it).
    #[arg(long)]
    topic: String,
    /// Number of messages.
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// Body size in bytes (a deterministic text), unless --body-file.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Tags, comma-separated: message i gets tag i mod n.
    #[arg(long)]
    tags: Option<String>,
    /// KEYS: message i gets `<keys>-<i>`.
    #[arg(long)]
    keys: Option<String>,
    /// A user property k=v (repeatable).
    #[arg(long)]
    property: Vec<String>,
    /// The body, from a file.
    #[arg(long)]
    body_file: Option<String>,
    /// Producer group.
    #[arg(long, default_value = "rmqdump_producer")]
    group: String,
    /// Version sent in headers (ordinal or name such as V4_9_4).
    #[arg(long, default_value = "V4_9_4")]
    version: String,
    /// Send mode: sync (wait for each result), async (pipelined, --concurrency requests in
    /// flight) or oneway (no result).
    #[arg(long, default_value = "sync", value_parser = ["sync", "async", "oneway"])]
    mode: String,
    /// Requests in flight in async mode.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Send messages in batches of N (SEND_BATCH_MESSAGE).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Header serialization: json or rocketmq (binary).
    #[arg(long, default_value = "json", value_parser = ["json", "rocketmq"])]
    serialize: String,
    /// Write the producer's own traffic to this pcap.
    #[arg(long)]
    record: Option<String>,
    /// Write what was sent and what came back to this JSON manifest.
    #[arg(long)]
    manifest: Option<String>,
    /// Per-request timeout in milliseconds.
    #[arg(long, default_value_t = 3000)]
    timeout_ms: u64,
    /// Send through the broker's VIP channel (listen port − 2), as Java clients ≤ 4.4 did.
    #[arg(long)]
    vip_channel: bool,
    /// The `language` the headers carry.
    #[arg(long, default_value = "java", value_parser = ["java", "rust"])]
    language: String,
}

#[derive(Args)]
struct LiveArgs {
    /// Interface (`lo`, `eth0`, `any`).
    #[arg(short = 'i', long)]
    interface: String,
    /// TCP ports to capture (repeatable); default 9876, 10909, 10911, 10912.
    #[arg(long)]
    port: Vec<u16>,
    #[command(flatten)]
    frames: FrameArgs,
    #[command(flatten)]
    limits: LimitArgs,
    /// Print the stats tables (refreshed every --interval, and at the end) instead of frames.
    #[arg(long)]
    stats: bool,
    /// With --stats: refresh period (e.g. 5s).
    #[arg(long, value_parser = output::tables::parse_interval)]
    interval: Option<i64>,
    /// Also write the captured packets to this pcap (raw IP link type).
    #[arg(short = 'w', long)]
    write: Option<String>,
    /// Stop after this many seconds.
    #[arg(long)]
    duration: Option<f64>,
    /// Stop after this many packets.
    #[arg(long)]
    count: Option<u64>,
    /// Show AccessKey, Signature and SecurityToken values.
    #[arg(long)]
    show_secrets: bool,
}

#[derive(Args)]
struct ProxyArgs {
    /// Address clients connect to as their NameServer.
    #[arg(long, default_value = "127.0.0.1:19876")]
    listen: String,
    /// The real NameServer.
    #[arg(long, default_value = "127.0.0.1:9876")]
    namesrv: String,
    /// Also write what passed through as a pcap (synthesised TCP packets).
    #[arg(short = 'w', long)]
    write: Option<String>,
    /// JSON Lines instead of text lines.
    #[arg(long)]
    json: bool,
    /// Stop after this many seconds (default: run until Ctrl-C / SIGTERM).
    #[arg(long)]
    duration: Option<f64>,
}

#[derive(Args)]
struct DiffArgs {
    /// The first capture (A).
    a: String,
    /// The second capture (B).
    b: String,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Args)]
struct VerifyArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// A manifest of what was sent and what came back (rmqdump produce --manifest, or a
    /// rocketmq-capture-manifest/1 file).
    #[arg(long)]
    manifest: Option<String>,
}

#[derive(Args)]
struct StatsArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// One JSON document instead of tables (schema: docs/stats.md).
    #[arg(long)]
    json: bool,
    /// Also count per time bucket of this length (e.g. 1s, 500ms, 1m).
    #[arg(long, value_parser = output::tables::parse_interval)]
    interval: Option<i64>,
    /// Passes side by side, each over some of the connections, merged into the same
    /// result as one pass (default: the CPUs, at most 4; at most 64; always 1 for standard
    /// input).
    #[arg(long)]
    threads: Option<usize>,
    /// Connections listed: the top N by bytes, by frames and by error responses (totals
    /// count them all).
    #[arg(long, default_value_t = rmqdump::analysis::stats::TOP_CONNECTIONS)]
    top: usize,
}

#[derive(Args)]
struct CommonArgs {
    /// Capture file (pcap or pcapng, optionally .gz); `-` reads standard input.
    file: String,
    /// Largest accepted frame `length` field (Java default 16777212).
    #[arg(long, default_value_t = 16_777_212)]
    max_frame: u32,
    /// Most bytes held in reassembly and frame buffers together.
    #[arg(long, default_value_t = 256 << 20)]
    max_buffered: usize,
    /// Most TCP connections tracked at once; past it the one idle longest is flushed and
    /// forgotten (reported, and counted in dropped_by_limits).
    #[arg(long, default_value_t = rmqdump::limits::Limits::default().max_flows)]
    max_flows: usize,
    /// Most handshake-only connections (no payload yet) tracked at once; past it the
    /// oldest is forgotten (a SYN flood).
    #[arg(long, default_value_t = rmqdump::limits::Limits::default().max_half_open_flows)]
    max_half_open_flows: usize,
    #[command(flatten)]
    limits: LimitArgs,
}

/// The decode budget (`rmqdump::limits::Limits`) of every command that decodes; defaults
/// and meanings in README.md ("Limits").
#[derive(Args, Clone)]
struct LimitArgs {
    /// Messages decoded per frame (batch items, stored and inner-batch messages); the rest
    /// are counted, not decoded.
    #[arg(long, default_value_t = Limits::default().max_messages_per_frame,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=16_777_216))]
    max_messages_per_frame: usize,
    /// Properties kept per message.
    #[arg(long, default_value_t = Limits::default().max_properties,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=1_048_576))]
    max_properties: usize,
    /// Bytes all compressed bodies of one frame may inflate to (failed attempts count).
    #[arg(long, default_value_t = Limits::default().max_inflated_per_frame,
          value_parser = RangedU64ValueParser::<usize>::new().range(0..=1 << 32))]
    max_inflated_per_frame: usize,
    /// extFields entries kept per header.
    #[arg(long, default_value_t = Limits::default().max_ext_fields,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=1_048_576))]
    max_ext_fields: usize,
    /// Bytes of a JSON body turned into a tree; a larger one is shown as its length.
    #[arg(long, default_value_t = Limits::default().max_json_body,
          value_parser = RangedU64ValueParser::<usize>::new().range(0..=1 << 31))]
    max_json_body: usize,
    /// Nodes (values and keys) of a JSON body turned into a tree.
    #[arg(long, default_value_t = Limits::default().max_json_nodes,
          value_parser = RangedU64ValueParser::<usize>::new().range(0..=1 << 28))]
    max_json_nodes: usize,
    /// Topic configs and mappings decoded from one compressed RegisterBrokerBody.
    #[arg(long, default_value_t = Limits::default().max_body_entries,
          value_parser = RangedU64ValueParser::<usize>::new().range(0..=16_777_216))]
    max_body_entries: usize,
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
fn limits(a: &LimitArgs) -> Limits {
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
struct FrameArgs {
    /// Full tree per frame: header fields, properties, decoded ids, body summary.
    #[arg(short = 'V', long)]
    verbose: bool,
    /// JSON Lines, one object per frame (schema: docs/json-lines.md).
    #[arg(long, conflicts_with = "verbose")]
    json: bool,
    /// Only frames with this request code (name or number); a response matches by its request's code. Repeatable.
    #[arg(long)]
    code: Vec<String>,
    /// Only frames about this topic.
    #[arg(long)]
    topic: Option<String>,
    /// Only frames carrying this key: a KEYS entry, a UNIQ_KEY or a msgId (of any sent,
    /// pulled, popped, queried, viewed or inner-batch message).
    #[arg(long)]
    key: Option<String>,
    /// Only frames of this consumer or producer group (header consumerGroup/producerGroup/
    /// group/groupName, heartbeat and lock bodies, PGROUP), and the responses to them.
    #[arg(long)]
    group: Option<String>,
    /// Print at most this many bytes of each message body (JSON marks the cut with
    /// "body_truncated": true).
    #[arg(long, default_value_t = rmqdump::limits::Limits::default().max_body_print)]
    max_body_print: usize,
}

#[derive(Args)]
struct ReadArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    frames: FrameArgs,
    /// Only this TCP stream (connection index, as in tshark's tcp.stream).
    #[arg(long)]
    stream: Option<u64>,
    /// Exit 1 when any problem was found (undecodable frame, gap, truncation...).
    #[arg(long)]
    strict: bool,
    /// Show AccessKey, Signature and SecurityToken values instead of <redacted>.
    #[arg(long)]
    show_secrets: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Read(a) => read(a),
        Cmd::Verify(a) => verify(a),
        Cmd::Stats(a) => stats(a),
        Cmd::Report(a) => report(a),
        Cmd::Annotate(a) => annotate(a),
        Cmd::Extcap(a) => extcap(a),
        Cmd::Check(a) => check(a),
        Cmd::Diff(a) => diff(a),
        Cmd::Produce(a) => produce(*a),
        Cmd::Proxy(a) => proxy(a),
        Cmd::Live(a) => live(a),
    };
    match r {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rmqdump: {e}");
            ExitCode::from(2)
        }
    }
}

fn options(c: &CommonArgs, keep_wire: bool) -> Options {
    let mut o = Options {
        limits: limits(&c.limits),
        ..Options::default()
    };
    o.frame.max_frame_length = c.max_frame;
    o.max_buffered_total = c.max_buffered;
    o.limits.max_flows = c.max_flows;
    o.limits.max_half_open_flows = c.max_half_open_flows;
    o.keep_wire = keep_wire;
    o
}

fn open(file: &str) -> io::Result<Box<dyn io::Read + Send>> {
    capture::open_input(file).map_err(|e| io::Error::new(e.kind(), format!("{file}: {e}")))
}

/// Maps a capture error: "not a capture" is a usage/I/O error (exit 2), a truncated or
/// corrupt file is a problem found after decoding everything before it.
fn capture_error(file: &str, e: CaptureError) -> Result<bool, io::Error> {
    match e {
        CaptureError::NotACapture | CaptureError::Io(_) => {
            Err(io::Error::other(format!("{file}: {e}")))
        }
        other => {
            eprintln!("rmqdump: {file}: {other}");
            Ok(true)
        }
    }
}

/// The filter of `read` and `live` from their options; `None` (after saying why on
/// stderr) when a code is unknown.
fn filter_from_args(f: &FrameArgs, stream: Option<u64>) -> Option<output::Filter> {
    output::Filter::from_args(
        &f.code,
        f.topic.clone(),
        f.key.clone(),
        f.group.clone(),
        stream,
    )
    .map_err(|e| eprintln!("rmqdump: {e}"))
    .ok()
}

/// Output options of `read` and `live`: body decoding within the same `Limits` as the
/// dissector's, body printing cut at `--max-body-print`.
fn output_options(f: &FrameArgs, show_secrets: bool, opts: &Options) -> OutputOptions {
    let mut oo = OutputOptions {
        show_secrets,
        ..Default::default()
    };
    oo.decode.limits = opts.limits;
    oo.decode.limits.max_body_print = f.max_body_print;
    oo
}

fn read(a: ReadArgs) -> io::Result<u8> {
    let f = &a.frames;
    let Some(mut filter) = filter_from_args(f, a.stream) else {
        return Ok(2);
    };
    let opts = options(&a.common, false);
    let oo = output_options(f, a.show_secrets, &opts);
    let input = open(&a.common.file)?;
    let name = if a.common.file == "-" {
        "<stdin>"
    } else {
        a.common.file.as_str()
    };
    let stdout = io::stdout();
    let mut w = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut out = output::FrameWriter::new(f.json, f.verbose);
    let mut err: Option<io::Error> = None;
    let mut problems = 0u64;
    let (totals, cap_err) = rmqdump::dissect(input, opts, |ev| {
        if err.is_some() {
            return;
        }
        let res = match ev {
            Event::Frame(r) => {
                let d = output::decode_record(&r, &oo);
                let frame_problems = output::frame_problems(&r, d.as_ref());
                if !frame_problems.is_empty() {
                    problems += 1;
                }
                if filter.stream.is_none_or(|s| s == r.stream) {
                    for p in &frame_problems {
                        eprintln!("{name}: {}", output::problem_line(p));
                    }
                }
                if filter.active() && !filter.matches(&r, d.as_ref()) {
                    return;
                }
                out.write(&mut w, &r, d.as_ref(), &oo)
            }
            Event::Problem(p) => {
                problems += 1;
                if filter.stream.is_some_and(|s| p.stream != Some(s)) {
                    return;
                }
                eprintln!("{name}: {}", output::problem_line(&p));
                Ok(())
            }
        };
        if let Err(e) = res {
            err = Some(e);
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    w.flush()?;
    let mut bad = false;
    if let Some(e) = cap_err {
        bad |= capture_error(&a.common.file, e)?;
    }
    if totals.packets == 0 && !bad {
        eprintln!("rmqdump: {}: capture holds no packets", a.common.file);
    }
    bad |= problems > 0 || totals.undecodable > 0;
    Ok(if a.strict && bad { 1 } else { 0 })
}

fn verify(v: VerifyArgs) -> io::Result<u8> {
    let mut code = verify_frames(&v.common)?;
    if let Some(m) = &v.manifest {
        let text = std::fs::read_to_string(m)
            .map_err(|e| io::Error::new(e.kind(), format!("{m}: {e}")))?;
        let manifest: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| io::Error::other(format!("{m}: not JSON: {e}")))?;
        let (frames, _) = frames_json(&v.common)?;
        let problems = rmqdump::analysis::manifest::check(&manifest, &frames);
        let n = manifest["messages"]
            .as_array()
            .map(|a| a.len())
            .unwrap_or(0);
        for p in &problems {
            println!("{p}");
        }
        println!(
            "{}: manifest {m}: {n} messages, {} disagreements",
            v.common.file,
            problems.len()
        );
        if !problems.is_empty() {
            code = 1;
        }
    }
    Ok(code)
}

fn verify_frames(a: &CommonArgs) -> io::Result<u8> {
    let input = open(&a.file)?;
    let stdout = io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    let mut err = None;
    // Its findings are its output (stdout), located as the problem lines of `read` are.
    let (summary, cap_err) = rmqdump::analysis::verify::verify(input, options(a, true), |l| {
        if err.is_none()
            && let Err(e) = output::write_line(&mut w, &format!("{}: {l}", a.file))
        {
            err = Some(e);
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    let mut bad = false;
    if let Some(e) = cap_err {
        bad |= capture_error(&a.file, e)?;
    }
    writeln!(w, "{}: {}", a.file, summary.line())?;
    w.flush()?;
    Ok(if bad || !summary.clean() { 1 } else { 0 })
}

/// Counts bytes read, for the progress bar.
/// A reader that moves a progress bar.
struct Counting<R> {
    inner: R,
    n: u64,
    bar: Option<indicatif::ProgressBar>,
}

impl<R: io::Read> io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        if let Some(b) = &self.bar {
            b.set_position(self.n);
        }
        Ok(k)
    }
}

fn stats(a: StatsArgs) -> io::Result<u8> {
    use std::io::IsTerminal;
    let interval = a.interval;
    let size = std::fs::metadata(&a.common.file)
        .map(|m| m.len())
        .unwrap_or(0);
    // A progress bar for large files, only when stderr is a terminal.
    let bar = (io::stderr().is_terminal() && size > 64 << 20).then(|| {
        let b = indicatif::ProgressBar::new(size);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} {wide_bar} {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let threads = if a.common.file == "-" {
        1
    } else {
        a.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().min(4))
                .unwrap_or(1)
        })
    };
    // One pass opens the input once, so standard input works too.
    let run = rmqdump::stats(
        |i| -> io::Result<Counting<Box<dyn io::Read + Send>>> {
            // The first pass moves the progress bar.
            Ok(Counting {
                inner: open(&a.common.file)?,
                n: 0,
                bar: if i == 0 { bar.clone() } else { None },
            })
        },
        options(&a.common, false),
        rmqdump::analysis::stats::StatsOptions {
            interval_ns: interval,
            top: a.top,
        },
        threads,
    )?;
    let (mut st, totals, cap_err) = (run.stats, run.totals, run.capture_error);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(e) = cap_err {
        capture_error(&a.common.file, e)?;
    }
    st.finish_roles();
    let doc = st.to_json(&totals);
    let stdout = io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    if a.json {
        serde_json::to_writer_pretty(&mut w, &doc).map_err(io::Error::from)?;
        w.write_all(b"\n")?;
    } else {
        w.write_all(output::tables::render(&doc).as_bytes())?;
    }
    w.flush()?;
    Ok(0)
}

fn extcap(a: ExtcapArgs) -> io::Result<u8> {
    use rmqdump::output::extcap::{self, CaptureOptions, Interface};
    if a.extcap_interfaces {
        print!("{}", extcap::interfaces());
        return Ok(0);
    }
    let name = a.extcap_interface.as_deref().unwrap_or("");
    let i = Interface::parse(name)
        .ok_or_else(|| io::Error::other(format!("--extcap-interface {name:?}: unknown")))?;
    if a.extcap_dlts {
        print!("{}", extcap::dlts(i));
        return Ok(0);
    }
    if a.extcap_config {
        print!("{}", extcap::config(i));
        return Ok(0);
    }
    let (true, Some(fifo)) = (a.capture, a.fifo.as_deref()) else {
        return Err(io::Error::other(
            "extcap: give --extcap-interfaces, --extcap-dlts, --extcap-config or --capture --fifo",
        ));
    };
    let o = CaptureOptions {
        listen: a.listen,
        namesrv: a.namesrv,
        live_interface: a.live_interface,
        ports: a.ports,
    };
    let args = extcap::capture_args(i, fifo, &o).map_err(io::Error::other)?;
    let cli = Cli::try_parse_from(std::iter::once("rmqdump".to_string()).chain(args))
        .map_err(|e| io::Error::other(e.to_string()))?;
    match cli.cmd {
        Cmd::Proxy(p) => proxy(p),
        Cmd::Live(l) => live(l),
        _ => Err(io::Error::other("extcap: not a capture command")),
    }
}

fn annotate(a: AnnotateArgs) -> io::Result<u8> {
    use rmqdump::output::annotate;
    let file = &a.common.file;
    if file == "-" {
        return Err(io::Error::other(
            "annotate reads the capture twice: give a file, not standard input",
        ));
    }
    let (comments, err) = annotate::comments(open(file)?, options(&a.common, false));
    if let Some(e) = err {
        capture_error(file, e)?;
    }
    let out: Box<dyn Write> = if a.write == "-" {
        Box::new(io::stdout().lock())
    } else {
        Box::new(
            std::fs::File::create(&a.write)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", a.write)))?,
        )
    };
    // The first pass reported the capture's damage: the second only copies.
    let (done, _) = annotate::write(open(file)?, &comments, BufWriter::new(out))?;
    eprintln!(
        "{file}: wrote {} packets to {}, {} with comments ({} RemotingCommands, {} problems){}",
        done.packets,
        a.write,
        done.commented,
        comments.frames,
        comments.problems,
        if done.damaged > 0 {
            format!("; {} damaged stretches not copied", done.damaged)
        } else {
            String::new()
        }
    );
    Ok(0)
}

fn report(a: ReportArgs) -> io::Result<u8> {
    let mut done = Vec::new();
    for file in std::iter::once(&a.common.file).chain(&a.more) {
        let (analysis, err) = output::report::analyse(
            file,
            open(file)?,
            options(&a.common, false),
            a.interval,
            a.top,
        );
        if let Some(e) = err {
            capture_error(file, e)?;
        }
        done.push(analysis);
    }
    let page = output::report::render(&done);
    if a.output == "-" {
        io::stdout().lock().write_all(page.as_bytes())?;
    } else {
        std::fs::write(&a.output, page)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", a.output)))?;
    }
    Ok(0)
}

/// Every frame of a capture as its JSON Lines object, and the problem lines.
fn frames_json(c: &CommonArgs) -> io::Result<(Vec<serde_json::Value>, Vec<String>)> {
    let input = open(&c.file)?;
    let opts = options(c, false);
    let mut oo = OutputOptions::default();
    oo.decode.limits = opts.limits;
    let mut frames = Vec::new();
    let mut problems = Vec::new();
    let (_, cap_err) = rmqdump::dissect(input, opts, |ev| match ev {
        Event::Frame(r) => {
            let d = output::decode_record(&r, &oo);
            frames.push(output::frame_json(&r, d.as_ref(), &oo));
        }
        Event::Problem(p) => problems.push(output::problem_line(&p)),
    });
    if let Some(e) = cap_err {
        capture_error(&c.file, e)?;
    }
    Ok((frames, problems))
}

fn check(a: CheckArgs) -> io::Result<u8> {
    use rmqdump::analysis::regress;
    if a.list_ignored {
        for f in regress::DEFAULT_IGNORE {
            println!("{f}");
        }
        return Ok(0);
    }
    let file = &a.common.file;
    let on_err = &mut |f: &str, e| capture_error(f, e);
    if a.bless {
        let out = std::fs::File::create(&a.golden)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", a.golden)))?;
        let n = regress::run::bless((file, open(file)?), options(&a.common, false), out, on_err)?;
        println!("{file}: wrote {n} frames to {}", a.golden);
        return Ok(0);
    }
    let golden = std::fs::File::open(&a.golden)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", a.golden)))?;
    let stdout = io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    let diffs = regress::run::check(
        (file, open(file)?),
        options(&a.common, false),
        (&a.golden, io::BufReader::new(golden)),
        regress::Ignore::new(&a.ignore, &a.keep),
        &mut w,
        on_err,
    )?;
    w.flush()?;
    Ok(if diffs == 0 { 0 } else { 1 })
}

fn diff(a: DiffArgs) -> io::Result<u8> {
    let stdout = io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    let n = rmqdump::analysis::regress::run::diff(
        (&a.a, open(&a.a)?),
        (&a.b, open(&a.b)?),
        Options {
            limits: limits(&a.limits),
            ..Options::default()
        },
        &mut w,
        &mut |f: &str, e| capture_error(f, e),
    )?;
    w.flush()?;
    Ok(if n == 0 { 0 } else { 1 })
}

fn produce(a: ProduceArgs) -> io::Result<u8> {
    use rmqdump::producer::client::{Mode, Producer, ProducerConfig};
    use rmqdump::producer::send_path::OutMessage;
    let mode = match a.mode.as_str() {
        "async" => Mode::Async,
        "oneway" => Mode::Oneway,
        _ => Mode::Sync,
    };
    let version = match a.version.parse::<i32>() {
        Ok(v) => v,
        Err(_) => match rmqdump::remoting::codes::version_ordinal(&a.version) {
            Some(v) => v,
            None => {
                eprintln!(
                    "rmqdump: --version {}: not a version ordinal or name",
                    a.version
                );
                return Ok(2);
            }
        },
    };
    let mut props = Vec::new();
    for p in &a.property {
        match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => props.push((k.to_string(), v.to_string())),
            _ => {
                eprintln!("rmqdump: --property {p}: expected k=v");
                return Ok(2);
            }
        }
    }
    let file_body = match &a.body_file {
        Some(f) => {
            Some(std::fs::read(f).map_err(|e| io::Error::new(e.kind(), format!("{f}: {e}")))?)
        }
        None => None,
    };
    let tags: Vec<String> = a
        .tags
        .as_deref()
        .map(|t| t.split(',').map(String::from).collect())
        .unwrap_or_default();
    let cfg = ProducerConfig {
        namesrv: a.namesrv.clone(),
        group: a.group.clone(),
        version,
        timeout: std::time::Duration::from_millis(a.timeout_ms),
        vip_channel: a.vip_channel,
        language: if a.language == "rust" {
            rmqdump::remoting::LanguageCode::RUST
        } else {
            rmqdump::remoting::LanguageCode::JAVA
        },
        serialize: if a.serialize == "rocketmq" {
            SerializeType::RocketMq
        } else {
            SerializeType::Json
        },
        ..Default::default()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seed = (now.as_nanos() as u32) ^ std::process::id();
    // The UNIQ_KEY counts milliseconds from the start of the month (UTC here).
    let month_start_ms = rmqdump::protocol::message::utc_month_start_ms(now.as_millis() as i64);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut producer = Producer::new(cfg, seed);
    producer.rec.enabled = a.record.is_some();
    let mut outcomes = Vec::new();
    let mut messages = Vec::new();
    let started = std::time::Instant::now();
    rt.block_on(async {
        for i in 0..a.count {
            let body = match &file_body {
                Some(b) => b.clone(),
                None => {
                    let text = format!("rmqdump message {i} ");
                    text.bytes().cycle().take(a.size).collect()
                }
            };
            let m = OutMessage {
                topic: a.topic.clone(),
                tags: (!tags.is_empty()).then(|| tags[i % tags.len()].clone()),
                keys: a.keys.iter().map(|k| format!("{k}-{i}")).collect(),
                properties: props.clone(),
                body,
                flag: 0,
            };
            messages.push(m);
        }
        outcomes = producer
            .run(&messages, mode, a.concurrency, a.batch, month_start_ms)
            .await;
        producer.shutdown().await;
    });
    let elapsed = started.elapsed();
    let stdout = io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    let mut failed = 0;
    let mut lat: Vec<u64> = Vec::new();
    let mut per_queue: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
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
    if let Some(path) = &a.record {
        let f = std::fs::File::create(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
        producer.rec.write_pcap(BufWriter::new(f))?;
    }
    if let Some(path) = &a.manifest {
        use base64::Engine;
        let msgs: Vec<serde_json::Value> = messages
            .iter()
            .zip(&outcomes)
            .map(|(m, o)| {
                serde_json::json!({
                    "id": format!("m{:04}", o.index),
                    "send_mode": if a.batch > 1 { "batch" } else { a.mode.as_str() },
                    "tags": m.tags,
                    "keys": m.keys,
                    "keys_property": if m.keys.is_empty() { None } else { Some(m.keys.join(" ")) },
                    "user_properties": m.properties.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
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
        let doc = serde_json::json!({
            "format": "rocketmq-capture-manifest/1",
            "capture": a.record,
            "client": {"name": "rmqdump produce", "version": env!("CARGO_PKG_VERSION"), "send_modes": ["sync", "async", "oneway", "batch"], "serialize": a.serialize},
            "namesrv": a.namesrv,
            "topic": a.topic,
            "producer_group": a.group,
            "messages": msgs,
        });
        std::fs::write(
            path,
            serde_json::to_vec_pretty(&doc).map_err(io::Error::from)?,
        )
        .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Packets synthesised from what the proxy forwarded: to the pcap (-w) and to a dissector
/// whose output is printed.
struct ProxySink<'a, W: Write> {
    pcap: Option<rmqdump::capture::writer::PcapWriter<BufWriter<std::fs::File>>>,
    dissector: rmqdump::analysis::Dissector,
    number: u64,
    out: &'a mut W,
    writer: output::FrameWriter,
    err: Option<io::Error>,
}

impl<W: Write> ProxySink<'_, W> {
    fn print(&mut self, ev: Event) {
        let oo = OutputOptions::default();
        let r = match ev {
            Event::Frame(r) => {
                let d = output::decode_record(&r, &oo);
                self.writer
                    .write(&mut *self.out, &r, d.as_ref(), &oo)
                    .and_then(|_| self.out.flush())
            }
            Event::Problem(p) => {
                eprintln!("proxy: {}", output::problem_line(&p));
                Ok(())
            }
        };
        if let Err(e) = r {
            self.err.get_or_insert(e);
        }
    }
}

impl<W: Write> rmqdump::capture::writer::PacketSink for ProxySink<'_, W> {
    fn packet(&mut self, ts: i64, data: &[u8]) -> io::Result<()> {
        if let Some(p) = &mut self.pcap {
            p.write_packet(ts, data)?;
        }
        self.number += 1;
        let mut events = Vec::new();
        self.dissector.handle_packet(
            self.number,
            ts,
            rmqdump::capture::LinkType::ETHERNET,
            data,
            &mut |e| events.push(e),
        );
        for e in events {
            self.print(e);
        }
        Ok(())
    }
}

fn proxy(a: ProxyArgs) -> io::Result<u8> {
    use rmqdump::capture::writer::{PcapWriter, TcpConversation};
    use rmqdump::proxy::{Proxy, Tap};
    let listen: std::net::SocketAddr = a
        .listen
        .parse()
        .map_err(|_| io::Error::other(format!("--listen {}: not an ip:port", a.listen)))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (tx, mut rx) = rmqdump::proxy::tap_channel();
    let pcap = match &a.write {
        Some(f) => {
            let mut w = PcapWriter::new(BufWriter::new(
                std::fs::File::create(f)
                    .map_err(|e| io::Error::new(e.kind(), format!("{f}: {e}")))?,
            ))?;
            // The file header at once: a reader of a fifo (Wireshark's extcap) waits for it.
            w.flush()?;
            Some(w)
        }
        None => None,
    };
    let stdout = io::stdout();
    let mut lock = stdout.lock();
    let mut sink = ProxySink {
        pcap,
        dissector: rmqdump::analysis::Dissector::new(options(
            &CommonArgs {
                file: String::new(),
                max_frame: 16_777_212,
                max_buffered: 256 << 20,
                max_flows: rmqdump::limits::Limits::default().max_flows,
                max_half_open_flows: rmqdump::limits::Limits::default().max_half_open_flows,
                limits: LimitArgs::default(),
            },
            false,
        )),
        number: 0,
        out: &mut lock,
        writer: output::FrameWriter::new(a.json, false),
        err: None,
    };
    let mut convs: std::collections::BTreeMap<usize, TcpConversation> = Default::default();
    let mut rewrites = 0u64;
    let result: io::Result<()> = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("listen on {listen}: {e}")))?;
        eprintln!(
            "rmqdump proxy: listening on {listen}, NameServer {}",
            a.namesrv
        );
        let p = Proxy::new(tx, listen.ip());
        let server = tokio::spawn(p.serve_namesrv(listener, a.namesrv.clone()));
        let stop = async {
            match a.duration {
                Some(s) => tokio::time::sleep(std::time::Duration::from_secs_f64(s)).await,
                None => {
                    let mut term =
                        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                            .expect("signal handler");
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
            }
        };
        let mut on_tap = |t: Tap| -> io::Result<()> {
            match t {
                Tap::Open {
                    conn,
                    client,
                    server,
                    ts,
                } => {
                    let mut c = TcpConversation::new(client, server);
                    c.handshake(&mut sink, ts)?;
                    convs.insert(conn, c);
                }
                Tap::Data {
                    conn,
                    from_client,
                    ts,
                    bytes,
                } => {
                    if let Some(c) = convs.get_mut(&conn) {
                        c.send(&mut sink, ts, from_client, &bytes)?;
                    }
                }
                Tap::Close { conn, ts } => {
                    if let Some(mut c) = convs.remove(&conn) {
                        c.close(&mut sink, ts)?;
                    }
                }
                Tap::Rewrote { addrs, .. } => {
                    rewrites += 1;
                    for (from, to) in addrs {
                        eprintln!("rmqdump proxy: route answer: broker {from} -> {to}");
                    }
                }
            }
            // Each event's packets out at once (a fifo's reader shows them as they pass).
            if let Some(p) = sink.pcap.as_mut() {
                p.flush()?;
            }
            match sink.err.take() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        };
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                t = rx.recv() => match t {
                    Some(t) => on_tap(t)?,
                    None => break,
                },
            }
        }
        server.abort();
        // What was forwarded before the stop is still in the tap: print and write it all.
        rx.close();
        while let Some(t) = rx.recv().await {
            on_tap(t)?;
        }
        Ok(())
    });
    // Connections still open at the end are closed in the capture.
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    for (_, mut c) in std::mem::take(&mut convs) {
        c.close(&mut sink, end)?;
    }
    let mut events = Vec::new();
    sink.dissector.finish(&mut |e| events.push(e));
    for e in events {
        sink.print(e);
    }
    if let Some(p) = &mut sink.pcap {
        p.flush()?;
    }
    eprintln!(
        "rmqdump proxy: {} packets, {rewrites} route answers rewritten",
        sink.number
    );
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e),
        Ok(()) => Ok(0),
    }
}

#[cfg(not(target_os = "linux"))]
fn live(_: LiveArgs) -> io::Result<u8> {
    eprintln!("rmqdump: live capture needs Linux (AF_PACKET); use `rmqdump proxy`");
    Ok(2)
}

#[cfg(target_os = "linux")]
fn live(a: LiveArgs) -> io::Result<u8> {
    use rmqdump::analysis::stats::Stats;
    use rmqdump::capture::live::{Live, stop_flag};
    use std::sync::atomic::Ordering;
    let ports = if a.port.is_empty() {
        vec![9876, 10909, 10911, 10912]
    } else {
        a.port.clone()
    };
    let f = &a.frames;
    let Some(mut filter) = filter_from_args(f, None) else {
        return Ok(2);
    };
    let interval = a.interval;
    let mut cap = match Live::open(&a.interface, &ports) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rmqdump: {e}");
            return Ok(2);
        }
    };
    let stop = stop_flag();
    let mut pcap = match &a.write {
        Some(f) => Some(rmqdump::capture::writer::PcapWriter::with_linktype(
            BufWriter::new(
                std::fs::File::create(f)
                    .map_err(|e| io::Error::new(e.kind(), format!("{f}: {e}")))?,
            ),
            101,
        )?),
        None => None,
    };
    eprintln!(
        "rmqdump live: capturing on {} (tcp ports {:?}); Ctrl-C to stop",
        a.interface, ports
    );
    let opts = Options {
        ..Options::default()
    };
    let oo = output_options(f, a.show_secrets, &opts);
    let mut d = rmqdump::analysis::Dissector::new(opts);
    let mut st = Stats::new(None);
    let stdout = io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    let mut out = output::FrameWriter::new(f.json, f.verbose);
    let started = std::time::Instant::now();
    let mut last_table = std::time::Instant::now();
    let mut number = 0u64;
    let mut events: Vec<Event> = Vec::new();
    let mut handle = |ev: Event,
                      w: &mut BufWriter<io::StdoutLock>,
                      st: &mut Stats|
     -> io::Result<()> {
        match ev {
            Event::Frame(r) => {
                if a.stats {
                    let dd = r.command.as_ref().ok().map(|c| {
                        rmqdump::protocol::decode(c, r.request.as_ref().map(|q| q.code), &oo.decode)
                    });
                    st.handle_frame(&r, dd.as_ref());
                    return Ok(());
                }
                let dd = output::decode_record(&r, &oo);
                for p in output::frame_problems(&r, dd.as_ref()) {
                    eprintln!("live: {}", output::problem_line(&p));
                }
                if filter.active() && !filter.matches(&r, dd.as_ref()) {
                    return Ok(());
                }
                // Flushed once per ring block (below), not per frame: a write per frame
                // cost a system call each and made live fall behind at high rates.
                out.write(&mut *w, &r, dd.as_ref(), &oo)
            }
            Event::Problem(p) => {
                st.handle_problem(&p);
                eprintln!("live: {}", output::problem_line(&p));
                Ok(())
            }
        }
    };
    let result: io::Result<()> = (|| {
        // On a signal or --duration, blocks the kernel has already filled are still read
        // (and the open one, retired within its 50 ms timeout): stop once no block comes
        // within 100 ms (or 1 s after the stop on a busy link), so packets captured before
        // the stop are not lost.
        let mut draining: Option<std::time::Instant> = None;
        loop {
            if a.count.is_some_and(|c| number >= c) {
                return Ok(());
            }
            if draining.is_none()
                && (stop.load(Ordering::SeqCst)
                    || a.duration
                        .is_some_and(|s| started.elapsed().as_secs_f64() >= s))
            {
                draining = Some(std::time::Instant::now());
            }
            let mut werr = None;
            let mut got_block = false;
            cap.next_block(100, |ts, pkt, len| {
                got_block = true;
                if a.count.is_some_and(|c| number >= c) {
                    return;
                }
                number += 1;
                if let Some(p) = &mut pcap
                    && let Err(e) = write_raw(p, ts, pkt, len)
                {
                    werr.get_or_insert(e);
                }
                d.handle_packet(number, ts, rmqdump::capture::LinkType::RAW, pkt, &mut |e| {
                    events.push(e)
                });
            })?;
            if let Some(e) = werr {
                return Err(e);
            }
            for ev in events.drain(..) {
                handle(ev, &mut w, &mut st)?;
            }
            for s in d.take_ended() {
                st.end_connection(s);
            }
            w.flush()?;
            if draining.is_some_and(|t| !got_block || t.elapsed().as_secs() >= 1) {
                return Ok(());
            }
            if a.stats && interval.is_some_and(|i| last_table.elapsed().as_nanos() as i64 >= i) {
                last_table = std::time::Instant::now();
                let mut s2 = st.clone();
                s2.finish_roles();
                w.write_all(output::tables::render(&s2.to_json(&d.totals)).as_bytes())?;
                w.flush()?;
            }
        }
    })();
    d.finish(&mut |e| events.push(e));
    for ev in events.drain(..) {
        let _ = handle(ev, &mut w, &mut st);
    }
    if a.stats {
        st.finish_roles();
        let _ = w.write_all(output::tables::render(&st.to_json(&d.totals)).as_bytes());
    }
    let _ = w.flush();
    if let Some(p) = &mut pcap {
        p.flush()?;
    }
    let (kp, kd) = cap.kernel_stats().unwrap_or((0, 0));
    eprintln!(
        "rmqdump live: {number} packets, {} frames; kernel: {kp} packets, {kd} dropped; ours: {} dropped by limits, {} gaps",
        d.totals.frames, d.totals.dropped_by_limits, d.totals.gaps
    );
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e),
        Ok(()) => Ok(0),
    }
}

/// A captured packet into a pcap, keeping its original length.
#[cfg(target_os = "linux")]
fn write_raw(
    p: &mut rmqdump::capture::writer::PcapWriter<BufWriter<std::fs::File>>,
    ts: i64,
    pkt: &[u8],
    orig: u32,
) -> io::Result<()> {
    p.write_packet_orig(ts, pkt, orig)
}
