//! Following one message and selecting frames (`read --key/--topic/--code/--broker/
//! --since/--until/-c/-w/-Y`, several files), on the bundled captures, against the
//! manifests (what was sent and what the broker answered), the unfiltered output, tshark
//! and mergecap.

mod common;

use common::rmqdump as run;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cap(rel: &str) -> String {
    root()
        .join("captures")
        .join(rel)
        .to_str()
        .unwrap()
        .to_string()
}

/// `read --json ARGS`: the frame objects.
fn frames(args: &[&str]) -> Vec<Value> {
    let mut a = vec!["read", "--json"];
    a.extend_from_slice(args);
    let (code, out, err) = run(&a);
    assert_eq!(code, 0, "{a:?}: {err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn packets(v: &[Value]) -> Vec<u64> {
    v.iter().map(|f| f["packet"].as_u64().unwrap()).collect()
}

/// Every message of the reference captures that the broker accepted, followed by its
/// uniqKey (the producer's msgId) and by its offsetMsgId: exactly its send request and the
/// send response that answered it, nothing else (these captures hold no consumer).
#[test]
fn one_message_is_followed_by_uniq_key_and_by_offset_msg_id() {
    let mut followed = 0;
    for name in ["sync-json", "sync-rocketmq", "async", "compressed", "batch"] {
        let c = cap(&format!("reference/{name}.pcap"));
        let m: Value = serde_json::from_str(
            &std::fs::read_to_string(cap(&format!("reference/{name}.manifest.json"))).unwrap(),
        )
        .unwrap();
        for msg in m["messages"].as_array().unwrap() {
            let sr = &msg["send_result"];
            if sr["ok"] != true {
                continue;
            }
            let uniq = sr["msg_id"].as_str().unwrap();
            let offset = sr["offset_msg_id"].as_str().unwrap();
            let by_uniq = frames(&["--key", uniq, &c]);
            let by_offset = frames(&["--key", offset, &c]);
            assert_eq!(packets(&by_uniq), packets(&by_offset), "{name} {uniq}");
            assert_eq!(by_uniq.len(), 2, "{name} {uniq}: {by_uniq:?}");
            let (q, r) = (&by_uniq[0], &by_uniq[1]);
            assert_eq!(q["kind"], "request");
            assert!(
                q["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["uniq_key"] == uniq),
                "{name}: {q}"
            );
            assert_eq!(r["kind"], "response");
            assert_eq!(r["request"]["packet"], q["packet"]);
            assert!(
                r["header"]["msgId"]
                    .as_str()
                    .unwrap()
                    .split(',')
                    .any(|x| x == offset),
                "{name}: {r}"
            );
            followed += 1;
        }
    }
    assert!(followed >= 20, "{followed}");
}

/// A send request is selected by the offsetMsgId of its response also when the response
/// comes after other frames of the connection: the frames between are printed in capture
/// order after the request (the request is held until its response decides it).
#[test]
fn a_request_held_for_its_response_keeps_capture_order() {
    let c = cap("reference/async.pcap");
    let all = frames(&[&c]);
    // Responses whose request is not the frame just before them (pipelined sends).
    let r = all
        .iter()
        .enumerate()
        .find(|(i, f)| {
            f["kind"] == "response"
                && f["header"]["msgId"].is_string()
                && all[i - 1]["packet"] != f["request"]["packet"]
        })
        .map(|(_, f)| f.clone())
        .expect("a pipelined send response");
    let offset = r["header"]["msgId"].as_str().unwrap();
    let q = r["request"]["packet"].as_u64().unwrap();
    let y = format!("kind == \"request\" || packet == {}", r["packet"]);
    let got = frames(&["--key", offset, "-Y", &y, &c]);
    assert_eq!(packets(&got), [q, r["packet"].as_u64().unwrap()]);
    // ORD-0002 by the offsetMsgId of its send: the send request (held until its response
    // is seen), the send response, and the pull response that hands the stored message to
    // the consumer, in capture order.
    let c = cap("rust/rocketmq-rust-dev.pcap");
    let all = packets(&frames(&[&c]));
    let got = packets(&frames(&["--key", "7F00000100002A9F000000000000012A", &c]));
    assert_eq!(got, [24, 25, 113]);
    let pos: Vec<usize> = got
        .iter()
        .map(|p| all.iter().position(|x| x == p).unwrap())
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]));
}

/// `--topic` and `--group` select the responses to the requests they select (the route
/// answer, send results): every selected response's request is selected, and every
/// response to a selected request is.
#[test]
fn topic_and_group_select_the_responses_to_their_requests() {
    for (c, crit) in [
        (
            cap("reference/sync-json.pcap"),
            ["--topic", "RmqdumpRef_sync-json"],
        ),
        (
            cap("rust/rocketmq-rust-dev.pcap"),
            ["--topic", "CapDev_rust_topic"],
        ),
        (
            cap("rust/rocketmq-rust-dev.pcap"),
            ["--group", "CG_dev_rust"],
        ),
    ] {
        let all = frames(&[&c]);
        let sel: BTreeSet<u64> = packets(&frames(&[crit[0], crit[1], &c]))
            .into_iter()
            .collect();
        let mut responses = 0;
        for f in &all {
            if f["kind"] != "response" || f["request"].is_null() {
                continue;
            }
            let q = f["request"]["packet"].as_u64().unwrap();
            let p = f["packet"].as_u64().unwrap();
            assert_eq!(sel.contains(&q), sel.contains(&p), "{crit:?}: {f}");
            responses += sel.contains(&p) as usize;
        }
        assert!(responses > 0, "{crit:?}");
    }
    // The route answer to the topic.
    let c = cap("reference/sync-json.pcap");
    let got = frames(&["--topic", "RmqdumpRef_sync-json", &c]);
    assert!(
        got.iter()
            .any(|f| f["kind"] == "response" && f["request"]["code"] == 105)
    );
}

/// `--code` takes response codes by name (`TOPIC_NOT_EXIST`) and number (`response:17`,
/// or a number that is no request code): exactly the responses with that code. Request
/// codes still select requests and their responses.
#[test]
fn code_takes_response_codes() {
    let c = cap("rust/rocketmq-rust-dev.pcap");
    let all = frames(&[&c]);
    for code in [17u64, 22] {
        let want: Vec<u64> = all
            .iter()
            .filter(|f| f["kind"] == "response" && f["code"] == code)
            .map(|f| f["packet"].as_u64().unwrap())
            .collect();
        assert!(!want.is_empty());
        let name = all
            .iter()
            .find(|f| f["kind"] == "response" && f["code"] == code)
            .unwrap()["name"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(packets(&frames(&["--code", &name, &c])), want, "{name}");
        let n = format!("response:{code}");
        assert_eq!(packets(&frames(&["--code", &n, &c])), want, "{n}");
    }
    // Both kinds together: either.
    let both = frames(&[
        "--code",
        "TOPIC_NOT_EXIST",
        "--code",
        "GET_ROUTEINFO_BY_TOPIC",
        &c,
    ]);
    assert!(
        both.iter()
            .all(|f| f["code"] == 17 || f["code"] == 105 || f["request"]["code"] == 105)
    );
    let (code, _, err) = run(&["read", "--code", "NOT_A_CODE", &c]);
    assert_eq!(code, 2);
    assert!(err.contains("not a request or response code"), "{err}");
}

/// `--broker`, `--since`, `--until` and `-c` against the unfiltered output (times against
/// tshark's relative times).
#[test]
fn broker_time_and_count() {
    let c = cap("rust/rocketmq-rust-dev.pcap");
    let all = frames(&[&c]);
    let addr = all[0]["dst"].as_str().unwrap().to_string();
    let want: Vec<u64> = all
        .iter()
        .filter(|f| f["src"] == addr.as_str() || f["dst"] == addr.as_str())
        .map(|f| f["packet"].as_u64().unwrap())
        .collect();
    assert!(want.len() < all.len());
    assert_eq!(packets(&frames(&["--broker", &addr, &c])), want);
    let host = addr.rsplit_once(':').unwrap().0;
    assert_eq!(
        packets(&frames(&["--broker", host, &c])).len(),
        all.iter()
            .filter(
                |f| f["src"].as_str().unwrap().starts_with(&format!("{host}:"))
                    || f["dst"].as_str().unwrap().starts_with(&format!("{host}:"))
            )
            .count()
    );
    let (code, _, _) = run(&["read", "--broker", "nohost", &c]);
    assert_eq!(code, 2);

    // Relative times of every packet, from tshark.
    let out = Command::new("tshark")
        .args([
            "-r",
            &c,
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.time_relative",
        ])
        .output()
        .expect("tshark");
    let rel: std::collections::HashMap<u64, f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let (n, t) = l.split_once('\t').unwrap();
            (n.parse().unwrap(), t.parse().unwrap())
        })
        .collect();
    let mid = rel[&all[all.len() / 2]["packet"].as_u64().unwrap()];
    let (lo, hi) = (mid / 2.0, mid * 1.5);
    let want: Vec<u64> = packets(&all)
        .into_iter()
        .filter(|p| rel[p] >= lo - 1e-9 && rel[p] <= hi + 1e-9)
        .collect();
    let got = packets(&frames(&[
        "--since",
        &format!("{lo:.9}"),
        "--until",
        &format!("{hi:.9}"),
        &c,
    ]));
    assert!(!want.is_empty() && want.len() < all.len());
    assert_eq!(got, want);
    // RFC 3339: from a frame's own time on.
    let k = all.len() / 3;
    let ts = all[k]["ts"].as_str().unwrap();
    let got = frames(&["--since", ts, &c]);
    assert_eq!(
        got.len(),
        all.iter()
            .filter(|f| f["ts"].as_str().unwrap() >= ts)
            .count()
    );
    let (code, _, err) = run(&["read", "--since", "yesterday", &c]);
    assert_eq!(code, 2, "{err}");

    // -c: the first N selected frames.
    assert_eq!(packets(&frames(&["-c", "5", &c])), packets(&all[..5]));
    let sends = frames(&["--code", "SEND_MESSAGE", &c]);
    assert_eq!(
        packets(&frames(&["-c", "3", "--code", "SEND_MESSAGE", &c])),
        packets(&sends[..3])
    );
}

/// `-w`: tshark reads the file; its packets are the original packets (times and bytes) of
/// the selected frames; rmqdump reading it selects the same frames.
#[test]
fn write_selected_packets() {
    let dir = tempfile::tempdir().unwrap();
    for (c, key) in [
        (
            cap("reference/sync-json.pcap"),
            "7F00000100002A9F00000000000033AC",
        ),
        (cap("rust/rocketmq-rust-dev.pcap"), "ORD-0002"),
    ] {
        let out = dir.path().join("o.pcap");
        let o = out.to_str().unwrap();
        let sel = frames(&["--key", key, "-w", o, &c]);
        assert!(!sel.is_empty());
        let fields = |file: &str| -> Vec<String> {
            let out = Command::new("tshark")
                .args([
                    "-r",
                    file,
                    "-T",
                    "fields",
                    "-e",
                    "frame.time_epoch",
                    "-e",
                    "tcp.payload",
                ])
                .output()
                .expect("tshark");
            assert!(out.status.success());
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(String::from)
                .collect()
        };
        let written = fields(o);
        let original = fields(&c);
        // Every packet written is an original packet, each at most once.
        for w in &written {
            assert!(original.contains(w), "{w}");
        }
        // One packet per frame here (small frames), and one per request of a selected
        // response that is not selected itself (a pull response needs its request).
        let requests: BTreeSet<u64> = sel
            .iter()
            .filter_map(|f| f["request"]["packet"].as_u64())
            .filter(|q| !packets(&sel).contains(q))
            .collect();
        assert_eq!(written.len(), sel.len() + requests.len(), "{c}");
        let again = frames(&["--key", key, o]);
        let id = |f: &Value| {
            (
                f["ts"].to_string(),
                f["code"].to_string(),
                f["opaque"].to_string(),
                f["src"].to_string(),
            )
        };
        assert_eq!(
            again.iter().map(id).collect::<Vec<_>>(),
            sel.iter().map(id).collect::<Vec<_>>()
        );
    }
    let (code, _, err) = run(&["read", "-w", "/tmp/x.pcap", "-"]);
    assert_eq!(code, 2, "{err}");
}

/// Several files: merged by time with packets numbered as mergecap numbers them; a
/// connection in two files is two streams; problems name their file.
#[test]
fn several_files_merge_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let a = cap("reference/sync-json.pcap");
    let b = cap("reference/async.pcap");
    let m = dir.path().join("m.pcap");
    let st = Command::new("mergecap")
        .args(["-w", m.to_str().unwrap(), &a, &b])
        .status()
        .expect("mergecap");
    assert!(st.success());
    let merged = frames(&[&a, &b]);
    assert_eq!(merged, frames(&[m.to_str().unwrap()]));
    // -w over several files (one gzip-compressed): the same frames read back.
    let gz = dir.path().join("b.pcap.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, &std::fs::read(&b).unwrap()).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    let w = dir.path().join("w.pcap");
    let (w, gz) = (w.to_str().unwrap(), gz.to_str().unwrap());
    let sel = frames(&["--code", "SEND_MESSAGE_V2", "-w", w, &a, gz]);
    assert_eq!(sel, frames(&["--code", "SEND_MESSAGE_V2", &a, &b]));
    let back = frames(&["--code", "SEND_MESSAGE_V2", w]);
    let id = |f: &Value| {
        (
            f["ts"].to_string(),
            f["opaque"].to_string(),
            f["src"].to_string(),
        )
    };
    assert_eq!(
        back.iter().map(id).collect::<Vec<_>>(),
        sel.iter().map(id).collect::<Vec<_>>()
    );
    // The same file twice: every frame twice, each copy on its own streams.
    let one = frames(&[&a]);
    let two = frames(&[&a, &a]);
    assert_eq!(two.len(), 2 * one.len());
    let streams = |v: &[Value]| -> BTreeSet<u64> {
        v.iter().map(|f| f["stream"].as_u64().unwrap()).collect()
    };
    assert_eq!(streams(&two).len(), 2 * streams(&one).len());
    // A truncated second file: its problem names it.
    let bytes = std::fs::read(&b).unwrap();
    let t = dir.path().join("cut.pcap");
    std::fs::write(&t, &bytes[..bytes.len() - 10]).unwrap();
    let (code, _, err) = run(&["read", &a, t.to_str().unwrap()]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{}: packet ", t.display())) && l.contains("capture")),
        "{err}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with(&format!("{a}: "))),
        "{err}"
    );
}

/// `-Y` on the bundled captures gives what the same test on the unfiltered JSON gives;
/// a bad expression exits 2 with a caret under its column.
#[test]
fn display_filter_on_captures() {
    let c = cap("rust/rocketmq-rust-dev.pcap");
    let all = frames(&[&c]);
    type Pred = fn(&Value) -> bool;
    let cases: [(&str, Pred); 5] = [
        ("header.queueId == 3", |f| f["header"]["queueId"] == 3),
        ("messages.topic == \"CapDev_rust_topic\"", |f| {
            f["messages"]
                .as_array()
                .is_some_and(|a| a.iter().any(|m| m["topic"] == "CapDev_rust_topic"))
        }),
        ("code == 17 || (kind == \"request\" && code == 105)", |f| {
            f["code"] == 17 || (f["kind"] == "request" && f["code"] == 105)
        }),
        ("ext_fields.consumerGroup contains \"CG\"", |f| {
            f["ext_fields"]["consumerGroup"]
                .as_str()
                .is_some_and(|s| s.contains("CG"))
        }),
        ("!request && name matches \"^PULL\"", |f| {
            f["request"].is_null() && f["name"].as_str().unwrap().starts_with("PULL")
        }),
    ];
    for (y, pred) in cases {
        let want: Vec<u64> = all
            .iter()
            .filter(|f| pred(f))
            .map(|f| f["packet"].as_u64().unwrap())
            .collect();
        assert!(!want.is_empty(), "{y}");
        assert_eq!(packets(&frames(&["-Y", y, &c])), want, "{y}");
    }
    let (code, out, err) = run(&["read", "-Y", "header.queueId == ", &c]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.starts_with("rmqdump: -Y: column 19: expected"), "{err}");
    let caret = err.lines().nth(2).unwrap();
    assert_eq!(caret.find('^'), Some(4 + 18), "{err}");
}

/// Problems obey the filters: none of a connection that has no selected frame (said in
/// one line at the end), all of the selected stream.
#[test]
fn problems_obey_the_filters() {
    let c = cap("rust/rocketmq-rust-dev.pcap");
    let (_, _, all) = run(&["read", &c]);
    // The long polls still waiting at the end of the capture (`pending`).
    let unanswered: Vec<&str> = all.lines().filter(|l| l.contains(": pending (")).collect();
    assert!(!unanswered.is_empty());
    // A key no frame carries: no problem line, one count.
    let (_, out, err) = run(&["read", "--key", "NO-SUCH-KEY", &c]);
    assert!(out.is_empty());
    assert_eq!(
        err.trim(),
        format!(
            "rmqdump: {} problems outside the filters not shown",
            all.lines().count()
        )
    );
    // `--code PULL_MESSAGE`: the pending pulls are on a selected connection.
    let (_, _, err) = run(&["read", "--code", "PULL_MESSAGE", &c]);
    for u in &unanswered {
        assert!(err.contains(u), "{u}\n{err}");
    }
    // `--stream`: that stream's problems only.
    let s = unanswered[0]
        .split("(stream ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let (_, _, err) = run(&["read", "--stream", s, &c]);
    let mine: Vec<&str> = all
        .lines()
        .filter(|l| l.contains(&format!("(stream {s})")))
        .collect();
    let shown: Vec<&str> = err.lines().filter(|l| !l.starts_with("rmqdump:")).collect();
    assert_eq!(shown, mine);
}
