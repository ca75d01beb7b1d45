//! Decode-pass benchmark: builds a ≥ 100 MB capture of producer traffic (once, under
//! target/bench/) and times a full pass — every frame split, decoded, paired, and every
//! message decoded, nothing printed — five times; prints each run and the median.
//!
//! `cargo bench --bench decode` (`RMQDUMP_BENCH_MB` changes the size, default 128).

mod synth;

use std::time::Instant;

use rmqdump::analysis::{Event, Options};
use rmqdump::protocol::{self, DecodeOptions};

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
    let size = std::fs::metadata(&path).unwrap().len();
    println!("capture {} ({:.1} MB)", path.display(), size as f64 / 1e6);
    let mut times = Vec::new();
    for run in 0..5 {
        let t = Instant::now();
        let mut frames = 0u64;
        let mut messages = 0u64;
        let opts = DecodeOptions::default();
        let (totals, err) = rmqdump::dissect(
            std::fs::File::open(&path).unwrap(),
            Options::default(),
            |e| {
                if let Event::Frame(r) = e {
                    frames += 1;
                    if let Ok(cmd) = &r.command {
                        let d = protocol::decode(cmd, r.request.as_ref().map(|q| q.code), &opts);
                        messages += d.messages.len() as u64;
                    }
                }
            },
        );
        assert!(err.is_none());
        let s = t.elapsed().as_secs_f64();
        println!(
            "run {run}: {s:.3} s, {:.0} MB/s, {frames} frames ({} requests), {messages} messages, {} packets",
            size as f64 / 1e6 / s,
            totals.requests,
            totals.packets
        );
        times.push(s);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let med = times[2];
    println!("median: {med:.3} s = {:.0} MB/s", size as f64 / 1e6 / med);
}
