//! tshark as an oracle for TCP reassembly: for every connection of every bundled capture
//! that has no gap, the frames rmqdump split out, concatenated per direction, are exactly
//! the stream tshark reassembles (`-z follow,tcp,raw,N`), and the connection numbering and
//! endpoints agree with tshark's `tcp.stream`.
//!
//! tshark is installed by `scripts/deps.sh` (run by the README's test command and CI).
//! Without tshark the test fails under CI and is skipped, saying so, elsewhere.

use std::collections::BTreeMap;
use std::process::Command;

use rmqdump::analysis::{Event, Options, ProblemKind};

/// Frames (stream offset, wire bytes) of each (connection, sender).
type FramesByDirection = BTreeMap<(u64, String), Vec<(u64, Vec<u8>)>>;

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// (node 0 address, node 1 address, bytes 0→1, bytes 1→0) for stream `n`.
fn tshark_follow(capture: &str, n: u64) -> (String, String, Vec<u8>, Vec<u8>) {
    let out = Command::new("tshark")
        .args(["-r", capture, "-q", "-z", &format!("follow,tcp,raw,{n}")])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut nodes = [String::new(), String::new()];
    let mut data = [Vec::new(), Vec::new()];
    for line in text.lines() {
        if let Some(a) = line.strip_prefix("Node 0: ") {
            nodes[0] = a.trim().to_string();
        } else if let Some(a) = line.strip_prefix("Node 1: ") {
            nodes[1] = a.trim().to_string();
        } else if !line.is_empty() && line.trim().chars().all(|c| c.is_ascii_hexdigit()) {
            let dir = usize::from(line.starts_with('\t'));
            let h = line.trim();
            for i in (0..h.len()).step_by(2) {
                data[dir].push(u8::from_str_radix(&h[i..i + 2], 16).unwrap());
            }
        }
    }
    let [a, b] = nodes;
    let [x, y] = data;
    (a, b, x, y)
}

#[test]
fn reassembly_matches_tshark_follow() {
    if !tshark_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tshark is missing: scripts/deps.sh installs it"
        );
        eprintln!("SKIPPED: tshark is not installed (bash scripts/deps.sh installs it)");
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let mut captures: Vec<String> = Vec::new();
    for d in ["cpp", "node", "rust", "public/deepflow", "public/newlife"] {
        for e in std::fs::read_dir(format!("{root}/captures/{d}")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                captures.push(p.to_str().unwrap().to_string());
            }
        }
    }
    captures.sort();
    let mut compared = 0;
    for c in &captures {
        let o = Options {
            keep_wire: true,
            ..Default::default()
        };
        // (stream, src) → (offset, bytes) frames; streams with problems other than
        // requests without answer or answers without request are not comparable byte for
        // byte.
        let mut frames: FramesByDirection = BTreeMap::new();
        let mut endpoints: BTreeMap<u64, (String, String)> = BTreeMap::new();
        let mut troubled: Vec<u64> = Vec::new();
        rmqdump::dissect(std::fs::File::open(c).unwrap(), o, |e| match e {
            Event::Frame(f) => {
                endpoints
                    .entry(f.stream)
                    .or_insert((f.src.to_string(), f.dst.to_string()));
                frames
                    .entry((f.stream, f.src.to_string()))
                    .or_default()
                    .push((f.offset, f.wire.unwrap()));
            }
            Event::Problem(p) => {
                if !matches!(
                    p.kind,
                    ProblemKind::Unanswered | ProblemKind::Pending | ProblemKind::Unmatched
                ) {
                    troubled.extend(p.stream);
                }
            }
        });
        for (&stream, (a, b)) in &endpoints {
            if troubled.contains(&stream) {
                continue;
            }
            let (n0, n1, d01, d10) = tshark_follow(c, stream);
            let ends = [n0.clone(), n1.clone()];
            assert!(
                ends.contains(a) && ends.contains(b),
                "{c} stream {stream}: tshark has {n0} <-> {n1}, rmqdump {a} <-> {b}"
            );
            let ours = |src: &str| -> Vec<u8> {
                let mut v = frames
                    .get(&(stream, src.to_string()))
                    .cloned()
                    .unwrap_or_default();
                v.sort_by_key(|x| x.0);
                v.into_iter().flat_map(|x| x.1).collect()
            };
            assert_eq!(ours(&n0), d01, "{c} stream {stream} {n0} -> {n1}");
            assert_eq!(ours(&n1), d10, "{c} stream {stream} {n1} -> {n0}");
            compared += 1;
        }
    }
    eprintln!("compared {compared} connections with tshark");
    assert!(compared >= 20, "only {compared} connections compared");
}
