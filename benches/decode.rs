//! Decode-pass benchmark: builds a ≥ 100 MB capture of producer traffic (once, under
//! target/bench/) and times a full pass — every frame split, decoded, paired, and every
//! message decoded, nothing printed — five times; prints each run and the median. Alternating
//! with it, the same pass writing every frame as `read --json` does (`output::jsonl`) into a
//! byte-counting sink: the cost of the JSON Lines output over the decode pass.
//!
//! Then the JSON header decoder alone, per client: every JSON header of the bundled captures
//! (C++, Node, Rust, .NET, Java; `captures/`), decoded in each layout mode (`None` as
//! `stats`, `ExtForms` as `read`, `Full` as `verify`) and by the reference reader, in
//! nanoseconds per header (median of 5 rounds).
//!
//! `cargo bench --bench decode` (`RMQDUMP_BENCH_MB` changes the size, default 128;
//! `RMQDUMP_BENCH_FILE` measures another capture instead).

mod synth;

use std::time::Instant;

use rmqdump::analysis::dissect::light_key;
use rmqdump::analysis::{Event, Options};
use rmqdump::output::OutputOptions;
use rmqdump::output::jsonl::JsonLines;
use rmqdump::protocol;
use rmqdump::remoting::command::{
    JsonHeaderOptions, LayoutNeed, decode_json_header_tolerant, decode_json_header_with,
};

fn main() {
    let mb: u64 = std::env::var("RMQDUMP_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(128);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("producer-{mb}MB.pcap"));
    if !path.exists() {
        let f = std::fs::File::create(&path).unwrap();
        synth::producer_capture(f, mb << 20).unwrap();
    }
    let path = std::env::var_os("RMQDUMP_BENCH_FILE")
        .map(std::path::PathBuf::from)
        .unwrap_or(path);
    let size = std::fs::metadata(&path).unwrap().len();
    println!("capture {} ({:.1} MB)", path.display(), size as f64 / 1e6);
    // Decode-only and decode + JSON Lines passes alternate, so that both see the same load.
    let mut times = Vec::new();
    let mut json_times = Vec::new();
    for run in 0..5 {
        for json in [false, true] {
            let p = pass(&path, json);
            println!(
                "run {run}{}: {:.3} s, {:.0} MB/s, {} frames ({} requests), {} messages, {} packets{}",
                if json { " (+ JSON Lines)" } else { "" },
                p.secs,
                size as f64 / 1e6 / p.secs,
                p.frames,
                p.requests,
                p.messages,
                p.packets,
                if json {
                    format!(", {:.1} MB of JSON", p.out_bytes as f64 / 1e6)
                } else {
                    String::new()
                }
            );
            if json { &mut json_times } else { &mut times }.push(p.secs);
        }
    }
    let median = |t: &mut Vec<f64>| {
        t.sort_by(|a, b| a.total_cmp(b));
        t[2]
    };
    let med = median(&mut times);
    let jmed = median(&mut json_times);
    println!("median: {med:.3} s = {:.0} MB/s", size as f64 / 1e6 / med);
    println!(
        "median with JSON Lines (read --json's writer into a sink): {jmed:.3} s = {:.0} MB/s, {:.2} x the decode pass",
        size as f64 / 1e6 / jmed,
        jmed / med
    );
    headers();
}

struct Pass {
    secs: f64,
    frames: u64,
    requests: u64,
    messages: u64,
    packets: u64,
    out_bytes: u64,
}

/// One pass: every frame split, decoded, paired, every message decoded; with `json`, each
/// frame also written as `read --json` writes it, into a byte-counting sink.
fn pass(path: &std::path::Path, json: bool) -> Pass {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len() as u64;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let t = Instant::now();
    let mut frames = 0u64;
    let mut messages = 0u64;
    let oo = OutputOptions::default();
    let mut jsonl = JsonLines::new();
    let mut sink = Count(0);
    let (totals, err) = rmqdump::dissect(
        std::fs::File::open(path).unwrap(),
        Options::default(),
        |e| {
            if let Event::Frame(r) = e {
                frames += 1;
                let d = r.command.as_ref().ok().map(|cmd| {
                    protocol::decode(cmd, r.request.as_ref().map(|q| q.code), &oo.decode)
                });
                messages += d.as_ref().map_or(0, |d| d.messages.len() as u64);
                if json {
                    jsonl.frame(&mut sink, &r, d.as_ref(), &oo).unwrap();
                }
            }
        },
    );
    assert!(err.is_none());
    Pass {
        secs: t.elapsed().as_secs_f64(),
        frames,
        requests: totals.requests,
        messages,
        packets: totals.packets,
        out_bytes: sink.0,
    }
}

/// The JSON headers of a capture's frames.
fn json_headers(path: &std::path::Path) -> Vec<Vec<u8>> {
    let opts = Options {
        keep_wire: true,
        ..Options::default()
    };
    let mut out = Vec::new();
    rmqdump::dissect(std::fs::File::open(path).unwrap(), opts, |e| {
        if let Event::Frame(r) = e
            && let Some(w) = r.wire.as_deref()
            && w.len() >= 8
            && w[4] == 0
        {
            let hl = u32::from_be_bytes([0, w[5], w[6], w[7]]) as usize;
            if let Some(h) = w.get(8..8 + hl) {
                out.push(h.to_vec());
            }
        }
    });
    out
}

fn headers() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let clients: &[(&str, &[&str])] = &[
        ("C++", &["cpp/rocketmq-cpp-dev.pcap"]),
        ("Node", &["node/rocketmq-node-dev.pcap"]),
        ("Rust", &["rust/rocketmq-rust-dev.pcap"]),
        (".NET", &["public/newlife/rmq_4.9.7.pcap"]),
        (
            "Java",
            &[
                "reference/async.pcap",
                "reference/batch.pcap",
                "reference/sync-json.pcap",
                "public/deepflow/rocketmq-send-message-v2.pcap",
                "public/deepflow/rocketmq-pull-message.pcap",
                "public/deepflow/rocketmq-heartbeat.pcap",
            ],
        ),
    ];
    println!("JSON header decode, ns per header (median of 5 rounds)");
    println!(
        "{:<6} {:>7} {:>8} {:>8} {:>8} {:>10}",
        "client", "headers", "None", "ExtForms", "Full", "reference"
    );
    for (name, files) in clients {
        let hs: Vec<Vec<u8>> = files
            .iter()
            .flat_map(|f| json_headers(&root.join(f)))
            .collect();
        let mode = |layout: LayoutNeed, keep: Option<rmqdump::remoting::command::KeyFilter>| {
            let o = JsonHeaderOptions {
                layout,
                keep,
                ..Default::default()
            };
            time_per_header(&hs, |h| decode_json_header_with(h, &o).is_ok())
        };
        println!(
            "{:<6} {:>7} {:>8.0} {:>8.0} {:>8.0} {:>10.0}",
            name,
            hs.len(),
            mode(LayoutNeed::None, Some(light_key)),
            mode(LayoutNeed::ExtForms, None),
            mode(LayoutNeed::Full, None),
            time_per_header(&hs, |h| decode_json_header_tolerant(h).is_ok()),
        );
    }
}

/// Median over 5 rounds of the time per header, each round decoding every header until at
/// least 200,000 have been decoded.
fn time_per_header(hs: &[Vec<u8>], f: impl Fn(&[u8]) -> bool) -> f64 {
    if hs.is_empty() {
        return f64::NAN;
    }
    let reps = 200_000usize.div_ceil(hs.len());
    let mut ns: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let mut ok = 0usize;
            for _ in 0..reps {
                for h in hs {
                    ok += std::hint::black_box(f(std::hint::black_box(h))) as usize;
                }
            }
            assert!(ok > 0);
            t.elapsed().as_nanos() as f64 / (reps * hs.len()) as f64
        })
        .collect();
    ns.sort_by(|a, b| a.total_cmp(b));
    ns[2]
}
