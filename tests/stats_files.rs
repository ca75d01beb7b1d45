//! `stats` and `verify` of several capture files: one result for the files merged by
//! packet time.
//! Ground truth: `mergecap` (Wireshark's) merge of the same files gives the same document,
//! and where the files' connections are apart, the counts are those of each file added.

use std::process::Command;

use serde_json::Value;

fn path(rel: &str) -> String {
    format!("{}/captures/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn stats(files: &[&str], threads: &str) -> Value {
    let mut args = vec!["stats", "--json", "--threads", threads];
    args.extend_from_slice(files);
    serde_json::from_slice(&run(&args)).unwrap()
}

/// Pairs of bundled captures recorded apart (their connections never overlap).
const PAIRS: &[(&str, &str)] = &[
    ("rust/rocketmq-rust-dev.pcap", "node/rocketmq-node-dev.pcap"),
    ("java/java5-broker5.pcap", "java/java4-broker4.pcap"),
    ("cpp/rocketmq-cpp-dev.pcap", "go/go-java-5.3.3.pcap"),
];

#[test]
fn stats_of_several_files_is_mergecaps_merge_and_the_sum_of_each() {
    let have_mergecap = Command::new("mergecap").arg("-v").output().is_ok();
    if !have_mergecap {
        eprintln!("mergecap not installed: the comparison with its merge is skipped");
    }
    let dir = tempfile::tempdir().unwrap();
    for (a, b) in PAIRS {
        let (a, b) = (path(a), path(b));
        let both = stats(&[&a, &b], "1");
        // Passes side by side give the same document.
        assert_eq!(stats(&[&a, &b], "2"), both, "{a} {b}: --threads 2");
        if have_mergecap {
            let m = dir.path().join("merged.pcap");
            let st = Command::new("mergecap")
                .args(["-F", "pcap", "-w", m.to_str().unwrap(), &a, &b])
                .status()
                .unwrap();
            assert!(st.success());
            assert_eq!(
                stats(&[m.to_str().unwrap()], "1"),
                both,
                "{a} {b}: mergecap's merge"
            );
        }
        // Each file alone, added: the counts of the overview, per code and per topic.
        let (sa, sb) = (stats(&[&a], "1"), stats(&[&b], "1"));
        let o = |s: &Value, k: &str| s["overview"][k].as_u64().unwrap();
        for k in [
            "packets",
            "bytes",
            "tcp_connections",
            "remoting_commands",
            "requests",
            "responses",
            "oneways",
            "unmatched_responses",
            "messages_sent",
            "gaps",
            "undecodable_frames",
        ] {
            assert_eq!(o(&both, k), o(&sa, k) + o(&sb, k), "{a} {b}: {k}");
        }
        // A request left waiting is judged at the end of the merged input, as in the
        // merged capture: pending in one file may be past its timeout there.
        let waiting = |s: &Value| o(s, "pending_at_end") + o(s, "unanswered_requests");
        assert_eq!(waiting(&both), waiting(&sa) + waiting(&sb), "{a} {b}");
        let codes = |s: &Value| -> std::collections::BTreeMap<i64, (u64, u64)> {
            let mut m = std::collections::BTreeMap::new();
            for c in s["codes"].as_array().unwrap() {
                let e = m.entry(c["code"].as_i64().unwrap()).or_insert((0, 0));
                e.0 += c["requests"].as_u64().unwrap();
                e.1 += c["request_bytes"].as_u64().unwrap();
            }
            m
        };
        let mut want = codes(&sa);
        for (k, v) in codes(&sb) {
            let e = want.entry(k).or_insert((0, 0));
            e.0 += v.0;
            e.1 += v.1;
        }
        assert_eq!(codes(&both), want, "{a} {b}: codes");
        let groups = |s: &Value| -> Vec<String> {
            s["consumers"]["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["group"].as_str().unwrap().to_string())
                .collect()
        };
        let mut want = groups(&sa);
        want.extend(groups(&sb));
        want.sort();
        assert_eq!(groups(&both), want, "{a} {b}: consumer groups");
    }
    // The tables and CSV take several files too, with both captures' topics.
    let (a, b) = (
        path("rust/rocketmq-rust-dev.pcap"),
        path("node/rocketmq-node-dev.pcap"),
    );
    let csv = String::from_utf8(run(&["stats", "--format", "csv", &a, &b])).unwrap();
    assert!(
        csv.contains("CapDev_rust_topic") && csv.contains("CapDev_node_topic"),
        "{csv}"
    );
}

fn verify(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .arg("verify")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The summary line's counts: `F frames, I re-encoded …` after the `FILES: ` prefix.
fn counts(line: &str) -> Vec<u64> {
    line.split([' ', ','])
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// `verify A B` is one result: its counts are each file's added and the counts of
/// mergecap's merge; the summary names both files; a manifest needs one capture.
#[test]
fn verify_of_several_files_is_one_result() {
    let dir = tempfile::tempdir().unwrap();
    for (a, b) in PAIRS {
        let (a, b) = (path(a), path(b));
        let (code, out, err) = verify(&[&a, &b]);
        assert_eq!(code, 0, "{out}{err}");
        let last = out.lines().last().unwrap();
        let prefix = format!("{a} + {b}: ");
        assert!(last.starts_with(&prefix), "{last}");
        let both = counts(&last[prefix.len()..]);
        let one = |f: &str| {
            let (code, out, _) = verify(&[f]);
            assert_eq!(code, 0);
            let l = out.lines().last().unwrap().to_string();
            counts(&l[f.len() + 2..])
        };
        let (ca, cb) = (one(&a), one(&b));
        let sum: Vec<u64> = ca.iter().zip(&cb).map(|(x, y)| x + y).collect();
        assert_eq!(both, sum, "{last}");
        assert!(both[0] > 0, "{last}");
        if Command::new("mergecap").arg("-v").output().is_ok() {
            let m = dir.path().join("merged.pcap");
            let m = m.to_str().unwrap();
            assert!(
                Command::new("mergecap")
                    .args(["-F", "pcap", "-w", m, &a, &b])
                    .status()
                    .unwrap()
                    .success()
            );
            let (_, out, _) = verify(&[m]);
            let l = out.lines().last().unwrap();
            assert_eq!(counts(&l[m.len() + 2..]), both, "mergecap's merge: {l}");
        }
    }
    let (a, b) = (path(PAIRS[0].0), path(PAIRS[0].1));
    let manifest = path("rust/rocketmq-rust-dev.manifest.json");
    let (code, _, err) = verify(&[&a, &b, "--manifest", &manifest]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--manifest checks one capture"), "{err}");
}

/// `read` of several files judges the requests still waiting at the end as `stats` does:
/// at the merged input's last packet, so its frames and its problem lines (kind, packet,
/// what they say; the file name in front left aside; in any order) are those of `read` of
/// mergecap's merge.
/// Judged per file, the rust capture's long polls came out `unanswered` where the merge has
/// them `pending`.
#[test]
fn read_of_several_files_judges_waiting_requests_as_their_merge_does() {
    if Command::new("mergecap").arg("-v").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "mergecap is installed in CI"
        );
        eprintln!("SKIPPED: mergecap not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let read = |files: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
            .args(["read", "--json"])
            .args(files)
            .output()
            .unwrap();
        let problems: Vec<String> = String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(|l| l.split_once(".pcap: ").map_or(l, |(_, p)| p).to_string())
            .collect();
        (out.stdout, problems)
    };
    for (a, b) in PAIRS {
        let (a, b) = (path(a), path(b));
        let m = dir.path().join("merged.pcap");
        let st = Command::new("mergecap")
            .args(["-F", "pcap", "-w", m.to_str().unwrap(), &a, &b])
            .status()
            .unwrap();
        assert!(st.success());
        let (frames, mut problems) = read(&[&a, &b]);
        let (m_frames, mut m_problems) = read(&[m.to_str().unwrap()]);
        assert_eq!(frames, m_frames, "{a} {b}: frames");
        // The end-of-capture judgements come file by file (one dissector each), the merge's
        // by its one dissector's streams: the same lines, in another order.
        problems.sort();
        m_problems.sort();
        assert_eq!(problems, m_problems, "{a} {b}: problems");
    }
}
