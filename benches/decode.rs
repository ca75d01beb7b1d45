//! Decode-pass benchmark: builds a ≥ 100 MB capture of producer traffic (once, under
//! target/bench/) and times a full pass — every frame split, decoded, paired, and every
//! message decoded, nothing printed — five times; prints each run and the median. Alternating
//! with it, the same pass writing every frame as `read --json` does (`output::jsonl`) into a
//! byte-counting sink: the cost of the JSON Lines output over the decode pass.
//!
//! `cargo bench --bench decode` (`RMQDUMP_BENCH_MB` changes the size, default 128;
//! `RMQDUMP_BENCH_FILE` measures another capture instead).

mod synth;

use std::time::Instant;

use rmqdump::analysis::{Event, Options};
use rmqdump::output::OutputOptions;
use rmqdump::output::jsonl::JsonLines;
use rmqdump::protocol;

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
