//! `rmqdump check` and `rmqdump diff`: every bundled capture passes against its golden file,
//! and a capture with one field flipped (bytes changed in place, same length) makes check
//! and diff report exactly that difference.

mod common;

use common::rmqdump as run;

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden(rel: &str) -> String {
    root()
        .join("tests/golden")
        .join(format!("{}.jsonl", rel.replace('/', "__")))
        .to_str()
        .unwrap()
        .to_string()
}

fn capture(rel: &str) -> String {
    root()
        .join("captures")
        .join(rel)
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn every_bundled_capture_passes_its_golden_check() {
    for rel in [
        "cpp/rocketmq-cpp-dev.pcap",
        "cpp/rocketmq-cpp-dev.pcapng",
        "node/rocketmq-node-dev.pcap",
        "rust/rocketmq-rust-dev.pcap",
        "public/newlife/rmq_4.9.7.pcap",
        "public/deepflow/rocketmq-pull-message.pcap",
    ] {
        let (code, out, err) = run(&["check", &capture(rel), "--golden", &golden(rel)]);
        assert_eq!(code, 0, "{rel}: {out}{err}");
        assert!(out.ends_with(", 0 differences\n"), "{out}");
    }
}

/// Writes a copy of a bundled capture with the first occurrence of `from` replaced by `to`
/// (same length, so TCP lengths and sequence numbers stay right).
fn flipped(rel: &str, from: &[u8], to: &[u8], nth: usize) -> (tempfile::TempDir, String) {
    assert_eq!(from.len(), to.len());
    let mut data = std::fs::read(capture(rel)).unwrap();
    let pos = data
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from)
        .map(|(i, _)| i)
        .nth(nth)
        .expect("pattern in capture");
    data[pos..pos + to.len()].copy_from_slice(to);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("flipped.pcap");
    std::fs::write(&p, data).unwrap();
    let s = p.to_str().unwrap().to_string();
    (dir, s)
}

fn diff_lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.starts_with("frame ")).collect()
}

#[test]
fn flipped_response_code_is_the_only_difference() {
    // The node capture's SEND_MESSAGE_V2 answered with 13 MESSAGE_ILLEGAL: make it 14.
    let rel = "node/rocketmq-node-dev.pcap";
    let (_d, f) = flipped(rel, br#"{"code":13,"#, br#"{"code":14,"#, 0);
    let (code, out, _) = run(&["check", &f, "--golden", &golden(rel)]);
    assert_eq!(code, 1);
    let lines = diff_lines(&out);
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(": code: expected 13, actual 14")),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l
            .ends_with(": name: expected \"MESSAGE_ILLEGAL\", actual \"SERVICE_NOT_AVAILABLE\"")),
        "{out}"
    );
    // Both lines name the same frame and packet.
    let head = |l: &str| l.split(':').next().unwrap().to_string();
    assert_eq!(head(lines[0]), head(lines[1]));
    let (code, out, _) = run(&["diff", &capture(rel), &f]);
    assert_eq!(code, 1);
    let d: Vec<&str> = out.lines().filter(|l| !l.starts_with("A=")).collect();
    assert!(d.iter().any(|l| l.starts_with("SEND_MESSAGE_V2: response codes: A {\"MESSAGE_ILLEGAL\", \"SUCCESS\"}, B {\"SERVICE_NOT_AVAILABLE\", \"SUCCESS\"}")), "{out}");
}

#[test]
fn flipped_header_key_is_the_only_difference() {
    // The first GET_ROUTEINFO_BY_TOPIC of the rust capture: rename its `topic` key.
    let rel = "rust/rocketmq-rust-dev.pcap";
    let (_d, f) = flipped(
        rel,
        br#""extFields":{"topic":"CapDev"#,
        br#""extFields":{"topix":"CapDev"#,
        0,
    );
    let (code, out, _) = run(&["check", &f, "--golden", &golden(rel)]);
    assert_eq!(code, 1);
    let lines = diff_lines(&out);
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("frame 1 (golden packet 4, capture packet 4)")),
        "{out}"
    );
    let paths: Vec<&str> = lines
        .iter()
        .map(|l| l.split(": ").nth(1).unwrap())
        .collect();
    assert_eq!(
        paths,
        vec![
            "ext_fields.topic",
            "ext_fields.topix",
            "header.topic",
            "header.topix"
        ],
        "{out}"
    );
    let (code, out, _) = run(&["diff", &capture(rel), &f]);
    assert_eq!(code, 1);
    assert!(
        out.contains("GET_ROUTEINFO_BY_TOPIC request: header keys: added [\"topix\"], removed []"),
        "{out}"
    );
}

#[test]
fn flipped_property_is_the_only_difference() {
    // The user property `color` of the first send request becomes `colox`.
    let rel = "rust/rocketmq-rust-dev.pcap";
    let (_d, f) = flipped(rel, br#""properties":"color"#, br#""properties":"colox"#, 0);
    let (code, out, _) = run(&["check", &f, "--golden", &golden(rel)]);
    assert_eq!(code, 1);
    let lines = diff_lines(&out);
    let paths: Vec<&str> = lines
        .iter()
        .map(|l| l.split(": ").nth(1).unwrap())
        .collect();
    assert_eq!(
        paths,
        vec![
            "messages[0].properties.color",
            "messages[0].properties.colox",
            "messages[0].user_properties.color",
            "messages[0].user_properties.colox"
        ],
        "{out}"
    );
    let (code, out, _) = run(&["diff", &capture(rel), &f]);
    assert_eq!(code, 1);
    // `color` was only on that message.
    assert!(
        out.contains("SEND_MESSAGE request: property keys: added [\"colox\"], removed [\"color\"]"),
        "{out}"
    );
}

#[test]
fn ignore_and_keep() {
    let rel = "rust/rocketmq-rust-dev.pcap";
    let (_d, f) = flipped(rel, br#""properties":"color"#, br#""properties":"colox"#, 0);
    // Ignoring the fields that changed makes the check pass.
    let (code, out, _) = run(&[
        "check",
        &f,
        "--golden",
        &golden(rel),
        "--ignore",
        "messages.properties",
        "--ignore",
        "messages.user_properties",
    ]);
    assert_eq!(code, 0, "{out}");
    // Keeping a field that is normally ignored makes a real run-to-run field count:
    // comparing a capture with another client's golden file shows queue ids.
    let (_, out, _) = run(&[
        "check",
        &capture(rel),
        "--golden",
        &golden(rel),
        "--keep",
        "opaque",
    ]);
    assert!(out.ends_with(", 0 differences\n"));
    let (code, out, _) = run(&["check", "--list-ignored", &capture(rel), "--golden", "x"]);
    assert_eq!(code, 0);
    assert!(out.lines().any(|l| l == "opaque"));
}

#[test]
fn bless_writes_a_golden_file_that_check_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.jsonl");
    let c = capture("public/newlife/rmq_4.9.7.pcap");
    let (code, out, _) = run(&["check", &c, "--golden", g.to_str().unwrap(), "--bless"]);
    assert_eq!(code, 0, "{out}");
    let (code, _, _) = run(&["check", &c, "--golden", g.to_str().unwrap()]);
    assert_eq!(code, 0);
    // A different scenario fails.
    let (code, out, _) = run(&[
        "check",
        &capture("rust/rocketmq-rust-dev.pcap"),
        "--golden",
        g.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("<frame>"), "{out}");
}

/// A golden file whose lines are JSON but not frames (an array, another object, a `stats
/// --json` report) is refused as a usage error naming the line (exit 2), not compared into
/// a list of differences.
#[test]
fn golden_lines_that_are_not_frames_are_refused_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let c = capture("public/newlife/rmq_4.9.7.pcap");
    let (code, stats, _) = run(&["stats", "--json", &c]);
    assert_eq!(code, 0);
    let good = std::fs::read_to_string(golden("public/newlife/rmq_4.9.7.pcap")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(2, r#"{"packet":1,"stream":0}"#);
    let mixed = lines.join("\n");
    // stats --json is pretty-printed: as is, its first line is not JSON; on one line, it is
    // JSON but not a frame.
    let stats_line = serde_json::from_str::<serde_json::Value>(&stats)
        .unwrap()
        .to_string();
    let cases: &[(&str, &str, &str)] = &[
        ("[1,2]\n", "line 1", "an array, not a frame object"),
        (
            "\n{\"a\":1}\n",
            "line 2",
            "not a frame object (no packet, stream, frame_len, kind)",
        ),
        (&stats, "line 1", "not JSON"),
        (
            &stats_line,
            "line 1",
            "not a frame object (no packet, stream, frame_len, kind)",
        ),
        ("7", "line 1", "a number, not a frame object"),
        (&mixed, "line 3", "not a frame object (no frame_len, kind)"),
    ];
    for (i, (text, line, why)) in cases.iter().enumerate() {
        let g = dir.path().join(format!("g{i}.jsonl"));
        std::fs::write(&g, text).unwrap();
        let g = g.to_str().unwrap();
        let (code, out, err) = run(&["check", &c, "--golden", g]);
        assert_eq!(code, 2, "{text}: {out}{err}");
        assert!(
            err.starts_with(&format!("rmqdump: {g}: {line}: {why}")),
            "{err}"
        );
        assert!(!out.contains("differences"), "{out}");
    }
}
