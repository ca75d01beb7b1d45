//! Live-capture benchmark (issue 5): `rmqdump live -i lo --stats` (or the output options in
//! `RMQDUMP_LIVE_MODE`: `--json`, or empty for text lines; output to /dev/null) while a paced sender pushes
//! producer traffic over loopback at a steady rate, and the frames it decoded and the packets
//! dropped (the kernel's PACKET_STATISTICS and ours) at each rate.
//!
//! The real broker here accepts about 1,600 messages/s, far below the rates to measure, so
//! the traffic is synthetic: a client sends SEND_MESSAGE_V2 requests (1 KiB bodies, V2
//! headers and properties as the Java producer sends them) to a local sink that answers each
//! with a SUCCESS response, both on TCP_NODELAY sockets and one write per frame, so the
//! sender batches nothing (the kernel may still coalesce writes under load: at 400,000
//! frames/s fewer packets than frames). Each rate runs for
//! `RMQDUMP_LIVE_SECONDS` (default 5) seconds, three times; the median is printed.
//!
//! Needs root (CAP_NET_RAW) and a release build: `scripts/bench-live.sh` (rates in frames/s
//! as arguments, default 50000 100000 200000 400000).

// The capture writer is not used here, only the request builder.
#[allow(dead_code)]
mod synth;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rmqdump::protocol::message::encode_properties;
use rmqdump::remoting::command::{RemotingCommand, encode_frame_into};

/// Requests carry opaques 1..=CYCLE, round and round: far more than are ever in flight, so
/// every response pairs with its request.
const CYCLE: i32 = 16384;

fn request(opaque: i32) -> Vec<u8> {
    let props = encode_properties(&[
        ("KEYS".into(), format!("order-{opaque}")),
        (
            "UNIQ_KEY".into(),
            format!("7F00000100002A9F0000{opaque:012X}"),
        ),
        ("WAIT".into(), "true".into()),
        ("TAGS".into(), "TagA".into()),
    ]);
    let cmd = synth::send_request(
        opaque,
        (opaque % 8) as u32,
        1_795_519_000_000,
        props,
        vec![b'm'; 1024],
    );
    let mut out = Vec::new();
    encode_frame_into(&cmd, &mut out);
    out
}

fn response(opaque: i32) -> Vec<u8> {
    let cmd = RemotingCommand {
        code: 0,
        flag: 1,
        version: 401,
        opaque,
        ext_fields: Some(vec![
            ("queueId".into(), (opaque % 8).to_string().into()),
            ("MSG_REGION".into(), "DefaultRegion".into()),
            (
                "msgId".into(),
                format!("7F00000100002A9F{opaque:016X}").into(),
            ),
            ("queueOffset".into(), (opaque / 8).to_string().into()),
        ]),
        ..Default::default()
    };
    let mut out = Vec::new();
    encode_frame_into(&cmd, &mut out);
    out
}

/// The figures `rmqdump live` prints on exit.
#[derive(Debug, Default)]
struct Summary {
    frames: u64,
    kernel_packets: u64,
    kernel_dropped: u64,
    ours_dropped: u64,
    gaps: u64,
    /// Problems it reported (stderr lines other than its start and summary).
    problems: u64,
}

fn parse_summary(stderr: &str) -> Option<Summary> {
    // "rmqdump live: N packets, F frames; kernel: KP packets, KD dropped; ours: X dropped by limits, G gaps"
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("rmqdump live:") && l.contains("kernel:"))?;
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or(0))
        .collect();
    // N, F, KP, KD, X, G
    (nums.len() >= 6).then(|| Summary {
        frames: nums[1],
        kernel_packets: nums[2],
        kernel_dropped: nums[3],
        ours_dropped: nums[4],
        gaps: nums[5],
        problems: stderr
            .lines()
            .filter(|l| !l.starts_with("rmqdump live:"))
            .count() as u64,
    })
}

/// The sink: answers every request frame with a response, one write each.
fn sink(listener: TcpListener) -> u64 {
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_nodelay(true).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut have = 0usize;
    let mut answered = 0u64;
    let responses: Vec<Vec<u8>> = (0..CYCLE).map(|i| response(i + 1)).collect();
    loop {
        let n = match conn.read(&mut buf[have..]) {
            Ok(0) | Err(_) => return answered,
            Ok(n) => n,
        };
        have += n;
        let mut at = 0;
        while have - at >= 4 {
            let len = u32::from_be_bytes(buf[at..at + 4].try_into().unwrap()) as usize + 4;
            if have - at < len {
                break;
            }
            // Requests come in order with opaques 1..=CYCLE, round and round (see `run`).
            if conn
                .write_all(&responses[(answered % CYCLE as u64) as usize])
                .is_err()
            {
                return answered;
            }
            answered += 1;
            at += len;
        }
        buf.copy_within(at..have, 0);
        have -= at;
    }
}

/// One run at `rate` frames/s (half requests, half responses) for `secs` seconds: the
/// frames sent and what live reported.
fn run(bin: &str, mode: &str, rate: u64, secs: f64, err_path: &str) -> (u64, f64, Summary) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut live = Command::new(bin)
        .args(["live", "-i", "lo", "--port", &port.to_string()])
        .args(mode.split_whitespace())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(err_path).unwrap())
        .spawn()
        .unwrap();
    // Traffic starts once live says it is capturing.
    let t = Instant::now();
    while !std::fs::read_to_string(err_path).is_ok_and(|e| e.contains("capturing on")) {
        assert!(t.elapsed() < Duration::from_secs(10), "live did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let server = std::thread::spawn(move || sink(listener));
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_nodelay(true).unwrap();
    // The client drains the responses so the sink never blocks.
    let mut rd = c.try_clone().unwrap();
    let drain = std::thread::spawn(move || {
        let mut b = vec![0u8; 1 << 20];
        while matches!(rd.read(&mut b), Ok(n) if n > 0) {}
    });
    let requests_per_s = rate / 2;
    let total = (requests_per_s as f64 * secs) as u64;
    let frames: Vec<Vec<u8>> = (0..CYCLE).map(|i| request(i + 1)).collect();
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < total {
        // Pace: the requests due by now, one write each.
        let due = ((start.elapsed().as_secs_f64() * requests_per_s as f64) as u64).min(total);
        if sent >= due {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        while sent < due {
            c.write_all(&frames[(sent % CYCLE as u64) as usize])
                .unwrap();
            sent += 1;
        }
    }
    let took = start.elapsed().as_secs_f64();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let answered = server.join().unwrap();
    drop(c);
    let _ = drain.join();
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill")
        .args(["-INT", &live.id().to_string()])
        .status();
    let _ = live.wait();
    let err = std::fs::read_to_string(err_path).unwrap_or_default();
    let s = parse_summary(&err).unwrap_or_else(|| panic!("no summary from live: {err}"));
    (sent + answered, took, s)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    if !std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    {
        println!("live bench skipped: needs root (CAP_NET_RAW)");
        return;
    }
    let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/rmqdump");
    assert!(
        std::path::Path::new(bin).exists(),
        "{bin}: run `cargo build --release` first"
    );
    let secs: f64 = std::env::var("RMQDUMP_LIVE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let rates: Vec<u64> = std::env::var("RMQDUMP_LIVE_RATES")
        .ok()
        .map(|s| {
            s.split_whitespace()
                .filter_map(|r| r.parse().ok())
                .collect()
        })
        .filter(|v: &Vec<u64>| !v.is_empty())
        .unwrap_or_else(|| vec![50_000, 100_000, 200_000, 400_000]);
    // How live reports: `--stats` (tables at the end) by default; `--json` prints a JSON
    // line per frame, an empty value the default text line per frame (both to /dev/null).
    let mode = std::env::var("RMQDUMP_LIVE_MODE").unwrap_or_else(|_| "--stats".into());
    println!(
        "live -i lo {mode}, {secs} s per run, one write per frame (1 KiB SEND_MESSAGE_V2 requests and their responses)"
    );
    for rate in rates {
        let mut achieved = Vec::new();
        let mut decoded_share = Vec::new();
        for r in 0..3 {
            // live's stderr (its problems and summary) stays there for a look.
            let err_path = format!("/tmp/rmqdump-live-bench-{rate}-{}.err", r + 1);
            let (sent, took, s) = run(bin, &mode, rate, secs, &err_path);
            let fps = sent as f64 / took;
            println!(
                "  rate {rate}/s run {}: sent {sent} frames in {took:.2} s ({fps:.0}/s); live decoded {} ({}), kernel {} packets, {} dropped; ours {} dropped, {} gaps, {} problems reported",
                r + 1,
                s.frames,
                if s.frames == sent { "all" } else { "MISSING" },
                s.kernel_packets,
                s.kernel_dropped,
                s.ours_dropped,
                s.gaps,
                s.problems
            );
            achieved.push(fps);
            decoded_share.push(s.frames as f64 / sent as f64);
        }
        println!(
            "rate {rate}/s: median sent {:.0} frames/s, median decoded {:.4} of them",
            median(achieved),
            median(decoded_share)
        );
    }
}
