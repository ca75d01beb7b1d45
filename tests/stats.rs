//! `rmqdump stats` checked against ground truth: the manifests of the bundled captures (what
//! the clients sent and where it landed) and tshark's own per-connection payload counts.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

fn stats(capture: &str, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(["stats", "--json"])
        .args(extra)
        .arg(capture)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn path(rel: &str) -> String {
    format!("{}/captures/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn manifest(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path(rel)).unwrap()).unwrap()
}

fn check(dir: &str, name: &str) {
    let m = manifest(&format!("{dir}/{name}.manifest.json"));
    let s = stats(&path(&format!("{dir}/{name}.pcap")), &[]);
    let cc = &m["capture_check"];
    // Overview against the independent tshark-based check.
    assert_eq!(s["overview"]["remoting_commands"], cc["remoting_frames"]);
    assert_eq!(s["overview"]["tcp_connections"], cc["tcp_streams"]);
    let mut req: BTreeMap<String, u64> = BTreeMap::new();
    for c in s["codes"].as_array().unwrap() {
        if c["requests"].as_u64().unwrap() > 0 {
            req.insert(c["code"].to_string(), c["requests"].as_u64().unwrap());
        }
    }
    let want: BTreeMap<String, u64> = cc["requests_by_code"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(req, want);
    let mut resp: BTreeMap<String, u64> = BTreeMap::new();
    for c in s["codes"].as_array().unwrap() {
        for (name, n) in c["responses"].as_object().unwrap() {
            let code = rmqdump::remoting::ResponseCode::parse(name).unwrap().0;
            *resp.entry(code.to_string()).or_default() += n.as_u64().unwrap();
        }
    }
    let want: BTreeMap<String, u64> = cc["responses_by_code"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(resp, want);

    // Topic: messages and body bytes of every message that went on the wire.
    let topic = m["topic"].as_str().unwrap();
    let t = s["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == topic)
        .unwrap();
    let on_wire: Vec<&Value> = m["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["on_wire"] == true)
        .collect();
    assert_eq!(t["messages"].as_u64().unwrap(), on_wire.len() as u64);
    // Tags seen = tags the script set.
    let mut tags: Vec<String> = on_wire
        .iter()
        .filter_map(|x| x["tags"].as_str().map(String::from))
        .collect();
    tags.sort();
    tags.dedup();
    let mut got: Vec<String> = t["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(got, tags);
    // Per queue, where the client reported the queue of each message.
    if dir != "cpp" {
        let mut want: BTreeMap<i64, u64> = BTreeMap::new();
        for x in &on_wire {
            let q = &x["send_result"]["queue_id"];
            let q = q
                .as_i64()
                .or_else(|| q.as_str().and_then(|s| s.parse().ok()));
            if let Some(q) = q {
                *want.entry(q).or_default() += 1;
            }
        }
        let mut got: BTreeMap<i64, u64> = BTreeMap::new();
        for q in t["queues"].as_array().unwrap() {
            *got.entry(q["queue_id"].as_i64().unwrap()).or_default() +=
                q["messages"].as_u64().unwrap();
        }
        // Oneway sends report no queue: compare on the queues the client reported.
        for (q, n) in &want {
            assert!(
                got.get(q).copied().unwrap_or(0) >= *n,
                "queue {q}: {got:?} vs {want:?}"
            );
        }
        assert_eq!(got.values().sum::<u64>(), on_wire.len() as u64);
    }
    // Queue selection: the C++ and ali-ons producers step round robin through the route's
    // four queues; rocketmq-client-rust does not (it picked 0,3,0,1,2,3,1,0,0,1).
    let audit = &t["queue_selection"][0];
    assert_eq!(
        audit["queue_list"],
        serde_json::json!(["broker-a:0", "broker-a:1", "broker-a:2", "broker-a:3"])
    );
    assert_eq!(audit["round_robin"], dir != "rust", "{dir}: {audit}");
    if dir == "rust" {
        let seq: Vec<&str> = audit["sequence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        let qs: Vec<String> = seq
            .iter()
            .map(|x| x.rsplit(':').next().unwrap().to_string())
            .collect();
        assert_eq!(qs.join(","), "0,3,0,1,2,3,1,0,0,1");
    }
    // The broker is named from the route answer.
    assert!(
        t["queues"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["broker"] == "broker-a"),
        "{t}"
    );
    // Error responses carry the broker's remark (node: the empty body rejected, code 13).
    if dir == "node" {
        let e = s["problems"]["error_responses"].as_array().unwrap();
        assert!(e.iter().any(|e| {
            e["code"] == 13
                && e["remark"]
                    .as_str()
                    .unwrap()
                    .starts_with("Message validation failed")
        }));
        assert_eq!(t["send_errors"], 1);
    }
}

#[test]
fn stats_match_the_manifests() {
    check("rust", "rocketmq-rust-dev");
    check("cpp", "rocketmq-cpp-dev");
    check("node", "rocketmq-node-dev");
}

/// Per-connection payload bytes each way equal tshark's sum of `tcp.len` over the segments
/// it does not flag as retransmissions (captures without gaps), and the capture's
/// retransmitted bytes are counted in the overview.
#[test]
fn connection_bytes_match_tshark() {
    if Command::new("tshark").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tshark is missing: scripts/deps.sh installs it"
        );
        eprintln!("SKIPPED: tshark is not installed");
        return;
    }
    for rel in [
        "rust/rocketmq-rust-dev.pcap",
        "cpp/rocketmq-cpp-dev.pcap",
        "node/rocketmq-node-dev.pcap",
        "public/newlife/rmq_4.9.7.pcap",
    ] {
        let p = path(rel);
        let s = stats(&p, &[]);
        let out = Command::new("tshark")
            .args([
                "-r",
                &p,
                "-2",
                "-R",
                "!tcp.analysis.retransmission && !tcp.analysis.spurious_retransmission",
                "-T",
                "fields",
                "-e",
                "tcp.stream",
                "-e",
                "tcp.srcport",
                "-e",
                "tcp.len",
            ])
            .output()
            .unwrap();
        let mut t: BTreeMap<(u64, u16), u64> = BTreeMap::new();
        for l in String::from_utf8(out.stdout).unwrap().lines() {
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() == 3 && !f[2].is_empty() {
                *t.entry((f[0].parse().unwrap(), f[1].parse().unwrap()))
                    .or_default() += f[2].parse::<u64>().unwrap();
            }
        }
        for c in s["connections"].as_array().unwrap() {
            let st = c["stream"].as_u64().unwrap();
            let port = |k: &str| {
                c[k].as_str()
                    .unwrap()
                    .rsplit_once(':')
                    .unwrap()
                    .1
                    .parse::<u16>()
                    .unwrap()
            };
            assert_eq!(
                c["bytes_to_server"].as_u64(),
                Some(t.get(&(st, port("client"))).copied().unwrap_or(0)),
                "{rel} stream {st}"
            );
            assert_eq!(
                c["bytes_to_client"].as_u64(),
                Some(t.get(&(st, port("server"))).copied().unwrap_or(0)),
                "{rel} stream {st}"
            );
        }
        if rel.starts_with("rust") {
            // Packet 111 of the rust capture is a TCP retransmission of 417 bytes.
            assert_eq!(s["overview"]["retransmitted_bytes"], 417);
        }
    }
}

#[test]
fn roles_languages_and_intervals() {
    let s = stats(
        &path("public/newlife/rmq_4.9.7.pcap"),
        &["--interval", "1s"],
    );
    let conns = s["connections"].as_array().unwrap();
    assert!(conns.iter().any(|c| c["role"] == "Broker"
        && c["client_language"] == "DOTNET"
        && c["client_version_name"] == "V4_8_0"));
    assert!(conns.iter().any(|c| c["role"] == "NameServer"));
    // Buckets add up to the totals.
    let iv = s["intervals"].as_array().unwrap();
    assert!(iv.len() > 1);
    let frames: u64 = iv.iter().map(|b| b["frames"].as_u64().unwrap()).sum();
    assert_eq!(frames, s["overview"]["remoting_commands"].as_u64().unwrap());
    // The deepflow 4.4 capture is on the VIP port (10909).
    let s = stats(
        &path("public/deepflow/rocketmq-get-consumer-list-by-group.pcap"),
        &[],
    );
    assert_eq!(
        s["connections"][0]["role"], "Broker (VIP channel)",
        "{}",
        s["connections"]
    );
}

#[test]
fn queue_selection_audit_on_a_round_robin_producer() {
    // A synthetic Java-style producer that picks queues exactly as selectOneMessageQueue
    // does (index++ % 4 from a start of 2), after a route answer with 4 writable queues.
    use rmqdump::capture::writer::{PcapWriter, TcpConversation};
    use rmqdump::remoting::command::{RemotingCommand, encode_frame};
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("rr.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&f).unwrap()).unwrap();
    let mut ns = TcpConversation::new(
        "10.0.0.1:40000".parse().unwrap(),
        "10.0.0.9:9876".parse().unwrap(),
    );
    ns.handshake(&mut w, 1_000_000_000).unwrap();
    let req = RemotingCommand {
        code: 105,
        opaque: 1,
        ext_fields: Some(vec![("topic".into(), "T".into())]),
        ..Default::default()
    };
    ns.send(&mut w, 1_000_000_000, true, &encode_frame(&req))
        .unwrap();
    let route = br#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.8:10911"},"brokerName":"b1","cluster":"C"}],"filterServerTable":{},"queueDatas":[{"brokerName":"b1","perm":6,"readQueueNums":4,"topicSynFlag":0,"writeQueueNums":4}]}"#;
    let resp = RemotingCommand {
        code: 0,
        flag: 1,
        opaque: 1,
        body: route.to_vec(),
        ..Default::default()
    };
    ns.send(&mut w, 1_001_000_000, false, &encode_frame(&resp))
        .unwrap();
    let mut b = TcpConversation::new(
        "10.0.0.1:40001".parse().unwrap(),
        "10.0.0.8:10911".parse().unwrap(),
    );
    b.handshake(&mut w, 1_002_000_000).unwrap();
    for i in 0..12i32 {
        let q = (2 + i) % 4;
        let send = RemotingCommand {
            code: 310,
            opaque: 10 + i,
            ext_fields: Some(vec![
                ("a".into(), "PG".into()),
                ("b".into(), "T".into()),
                ("e".into(), q.to_string().into()),
                ("f".into(), "0".into()),
                ("i".into(), "TAGS\u{1}x\u{2}".into()),
                ("m".into(), "false".into()),
            ]),
            body: vec![b'x'; 10],
            ..Default::default()
        };
        b.send(&mut w, 1_003_000_000 + i as i64, true, &encode_frame(&send))
            .unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let s = stats(f.to_str().unwrap(), &[]);
    let a = &s["topics"][0]["queue_selection"][0];
    assert_eq!(a["producer"], "PG@10.0.0.1");
    assert_eq!(a["round_robin"], true, "{a}");
    assert_eq!(a["queue_list_from_route"], true);
    assert_eq!(
        a["queue_list"],
        serde_json::json!(["b1:0", "b1:1", "b1:2", "b1:3"])
    );
    assert_eq!(a["spread"], 1.0);
    assert_eq!(s["routes"][0]["producers_sent_to"][0]["used"], true);
    assert_eq!(s["routes"][0]["topic"], "T");
}

#[test]
fn connections_listed_are_the_top_ones_and_totals_count_all() {
    // 30 connections from one IP: connection i sends i + 1 heartbeats of one size, each
    // answered; every 5th connection's first answer is SYSTEM_ERROR. With --top 3 the rows
    // are the 3 busiest (27, 28, 29, by bytes and by frames) and the 3 lowest streams with
    // an error (0, 5, 10: one error each, ties to the lower stream).
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("many.pcap");
    heartbeat_connections(&f, 30, 40000, |c| c + 1, |c| c % 5 == 0);
    let f = f.to_str().unwrap();
    let all = stats(f, &["--top", "1000"]);
    let top = stats(f, &["--top", "3"]);
    let streams = |s: &Value| -> Vec<u64> {
        s["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["stream"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(streams(&all), (0..30).collect::<Vec<_>>());
    assert_eq!(all["connections_more"], 0);
    assert_eq!(streams(&top), vec![0, 5, 10, 27, 28, 29]);
    assert_eq!(top["connections_more"], 24);
    // The rows shown are the same rows, and the totals are exact: every frame and error.
    for c in top["connections"].as_array().unwrap() {
        let i = c["stream"].as_u64().unwrap() as usize;
        assert_eq!(*c, all["connections"][i]);
        assert_eq!(c["frames_to_server"], i as u64 + 1);
    }
    let t = &top["connections_total"];
    assert_eq!(*t, all["connections_total"]);
    assert_eq!(t["connections"], 30);
    assert_eq!(t["frames_to_server"], 465);
    assert_eq!(t["frames_to_client"], 465);
    assert_eq!(t["errors"], 6);
    for k in ["bytes_to_server", "bytes_to_client"] {
        let sum: u64 = all["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c[k].as_u64().unwrap())
            .sum();
        assert_eq!(t[k], sum, "{k}");
    }
    // The tables say how many are left out.
    let out = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(["stats", "--top", "3", f])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("24 more"), "{text}");
    assert!(text.contains("30 connections"), "{text}");
}

#[test]
fn queue_selection_lists_the_top_producers_by_sends() {
    // Producer k (PG@10.0.0.k, k = 1..6) sends k messages to topic T: with --top 2 the audit
    // rows are producers 5 and 6, in address order, and the rest are counted.
    use rmqdump::capture::writer::{PcapWriter, TcpConversation};
    use rmqdump::remoting::command::{RemotingCommand, encode_frame};
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("producers.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&f).unwrap()).unwrap();
    let mut ts = 1_000_000_000i64;
    for k in 1..=6u8 {
        let mut conv = TcpConversation::new(
            format!("10.0.0.{k}:40000").parse().unwrap(),
            "10.0.0.100:10911".parse().unwrap(),
        );
        conv.handshake(&mut w, ts).unwrap();
        for i in 0..k as i32 {
            ts += 1_000;
            let send = RemotingCommand {
                code: 310,
                opaque: i,
                ext_fields: Some(vec![
                    ("a".into(), "PG".into()),
                    ("b".into(), "T".into()),
                    ("e".into(), (i % 4).to_string().into()),
                ]),
                body: vec![b'x'; 10],
                ..Default::default()
            };
            conv.send(&mut w, ts, true, &encode_frame(&send)).unwrap();
        }
    }
    w.flush().unwrap();
    drop(w);
    let f = f.to_str().unwrap();
    let all = stats(f, &[]);
    let top = stats(f, &["--top", "2"]);
    let t = &top["topics"][0];
    assert_eq!(t["messages"], 21);
    let rows: Vec<(&str, u64)> = t["queue_selection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["producer"].as_str().unwrap(),
                a["picks"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, vec![("PG@10.0.0.5", 5), ("PG@10.0.0.6", 6)]);
    assert_eq!(t["queue_selection_more"], 4);
    assert_eq!(
        t["queue_selection"][1],
        all["topics"][0]["queue_selection"][5]
    );
    assert_eq!(
        t["producers"],
        serde_json::json!(["PG@10.0.0.1", "PG@10.0.0.2"])
    );
    assert_eq!(t["producers_more"], 4);
    assert_eq!(all["topics"][0]["queue_selection_more"], 0);
    assert_eq!(all["topics"][0]["producers_more"], 0);
}

#[test]
fn error_response_kinds_are_capped_and_the_rest_counted() {
    // 1,003 SYSTEM_ERROR answers, each with its own remark: the first 1,000 kinds are
    // itemized, the last 3 counted; the per-code counts stay exact, and passes side by
    // side give the same document (they fall back to one pass).
    use rmqdump::capture::writer::{PcapWriter, TcpConversation};
    use rmqdump::remoting::command::{RemotingCommand, encode_frame};
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("remarks.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&f).unwrap()).unwrap();
    let mut conv = TcpConversation::new(
        "127.0.0.1:40000".parse().unwrap(),
        "127.0.0.1:10911".parse().unwrap(),
    );
    let mut ts = 1_000_000_000i64;
    conv.handshake(&mut w, ts).unwrap();
    for i in 0..1003 {
        ts += 1_000;
        let req = RemotingCommand {
            code: 34,
            opaque: i,
            ..Default::default()
        };
        conv.send(&mut w, ts, true, &encode_frame(&req)).unwrap();
        let resp = RemotingCommand {
            code: 1,
            flag: 1,
            opaque: i,
            remark: Some(format!("bad offset {i}")),
            ..Default::default()
        };
        conv.send(&mut w, ts + 100, false, &encode_frame(&resp))
            .unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let f = f.to_str().unwrap();
    let s = stats(f, &["--threads", "1"]);
    let p = &s["problems"];
    let errs = p["error_responses"].as_array().unwrap();
    assert_eq!(errs.len(), 1000);
    assert!(errs.iter().all(|e| e["count"] == 1));
    assert_eq!(p["error_responses_more"], 3);
    assert_eq!(s["codes"][0]["responses"]["SYSTEM_ERROR"], 1003);
    assert_eq!(stats(f, &["--threads", "2"]), s);
}

#[test]
fn ended_connections_are_folded_and_the_top_ones_still_listed() {
    // 300 connections, each closed with FIN: connection c sends (c * 37) % 50 + 1 heartbeats
    // (busiest spread over the capture, not last), and (c % 7 == 0) ones get one
    // SYSTEM_ERROR. Ended connections are folded as they end, keeping only those that may
    // still rank: --top 3 must list exactly the top 3 of all 300 by bytes, frames and
    // errors, each row as --top 1000 (nothing pruned) shows it; the totals count all.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ended.pcap");
    heartbeat_connections(&f, 300, 20000, |c| (c * 37) % 50 + 1, |c| c % 7 == 0);
    let f = f.to_str().unwrap();
    let all = stats(f, &["--top", "1000"]);
    let rows = all["connections"].as_array().unwrap();
    assert_eq!(rows.len(), 300);
    // The expected listing, from all rows: the top 3 by each key, ties to the lower stream.
    let top3 = |key: &dyn Fn(&Value) -> u64| -> Vec<u64> {
        let mut v: Vec<(u64, u64)> = rows
            .iter()
            .map(|r| (key(r), r["stream"].as_u64().unwrap()))
            .filter(|(k, _)| *k > 0)
            .collect();
        v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        v.into_iter().take(3).map(|(_, s)| s).collect()
    };
    let n = |r: &Value, k: &str| r[k].as_u64().unwrap();
    let mut want = std::collections::BTreeSet::new();
    want.extend(top3(&|r| n(r, "bytes_to_server") + n(r, "bytes_to_client")));
    want.extend(top3(&|r| {
        n(r, "frames_to_server") + n(r, "frames_to_client")
    }));
    want.extend(top3(&|r| n(r, "errors")));
    for threads in ["1", "2"] {
        let top = stats(f, &["--top", "3", "--threads", threads]);
        let got: Vec<u64> = top["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["stream"].as_u64().unwrap())
            .collect();
        assert_eq!(
            got,
            want.iter().copied().collect::<Vec<_>>(),
            "threads {threads}"
        );
        for c in top["connections"].as_array().unwrap() {
            assert_eq!(*c, rows[c["stream"].as_u64().unwrap() as usize]);
        }
        assert_eq!(top["connections_more"], 300 - want.len() as u64);
        assert_eq!(top["connections_total"], all["connections_total"]);
    }
    // What a pass holds: no open connection, and of the 300 ended ones only a bounded set
    // (at most 4 x --top + 64 between prunings).
    let opts = rmqdump::analysis::Options::default();
    let ((st, _, _), err) = rmqdump::stats_pass(std::fs::File::open(f).unwrap(), opts, None);
    assert!(err.is_none());
    assert!(st.conns.is_empty());
    assert!(
        st.ended_conns.len() <= 4 * st.top + 64,
        "{}",
        st.ended_conns.len()
    );
    assert!(st.ended_conns.len() < 300);
}

/// Writes `n` connections from 127.0.0.1 (client ports from `port`) to a Broker, one after
/// another, each closed with FIN: connection c sends `beats(c)` HEART_BEATs of 100 body
/// bytes, each answered, the first answer SYSTEM_ERROR when `error(c)`.
fn heartbeat_connections(
    f: &std::path::Path,
    n: u32,
    port: u32,
    beats: impl Fn(u32) -> u32,
    error: impl Fn(u32) -> bool,
) {
    use rmqdump::capture::writer::{PcapWriter, TcpConversation};
    use rmqdump::remoting::command::{RemotingCommand, encode_frame};
    let mut w = PcapWriter::new(std::fs::File::create(f).unwrap()).unwrap();
    let mut ts = 1_000_000_000i64;
    for c in 0..n {
        let mut conv = TcpConversation::new(
            format!("127.0.0.1:{}", port + c).parse().unwrap(),
            "127.0.0.1:10911".parse().unwrap(),
        );
        conv.handshake(&mut w, ts).unwrap();
        for i in 0..beats(c) as i32 {
            ts += 1_000;
            let req = RemotingCommand {
                code: 34,
                opaque: i,
                body: vec![b'h'; 100],
                ..Default::default()
            };
            conv.send(&mut w, ts, true, &encode_frame(&req)).unwrap();
            let resp = RemotingCommand {
                code: if error(c) && i == 0 { 1 } else { 0 },
                flag: 1,
                opaque: i,
                ..Default::default()
            };
            conv.send(&mut w, ts + 500, false, &encode_frame(&resp))
                .unwrap();
        }
        conv.close(&mut w, ts + 1_000).unwrap();
    }
    w.flush().unwrap();
}

/// Body bytes count the body of every send, as on the wire (a compressed body at its
/// compressed size): the send requests found in tshark's reassembled TCP payload (frames
/// split by their length field, code and flag read from the header), each single send's
/// body length `length - 4 - headerLength`, plus each batch's messages' bodies from the
/// manifest. The issue's figures: 600 for six 100-byte sync sends, 7,070 on the Rust
/// capture (the old code counted batches only: 0 and 75).
#[test]
fn body_bytes_count_every_send() {
    if Command::new("tshark").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "tshark is missing");
        eprintln!("SKIPPED: tshark is not installed");
        return;
    }
    for (dir, name, want) in [
        ("reference", "sync-json", Some(600)),
        ("reference", "sync-rocketmq", None),
        ("reference", "batch", None),
        ("reference", "compressed", None),
        ("rust", "rocketmq-rust-dev", Some(7_070)),
        ("cpp", "rocketmq-cpp-dev", None),
        ("node", "rocketmq-node-dev", None),
    ] {
        let p = path(&format!("{dir}/{name}.pcap"));
        let m = manifest(&format!("{dir}/{name}.manifest.json"));
        let out = Command::new("tshark")
            .args([
                "-r",
                &p,
                "-2",
                "-R",
                "tcp.len > 0 && !tcp.analysis.retransmission && !tcp.analysis.spurious_retransmission",
                "-T",
                "fields",
                "-e",
                "tcp.stream",
                "-e",
                "tcp.srcport",
                "-e",
                "tcp.payload",
            ])
            .output()
            .unwrap();
        let mut dirs: BTreeMap<(u64, u16), Vec<u8>> = BTreeMap::new();
        for l in String::from_utf8(out.stdout).unwrap().lines() {
            let f: Vec<&str> = l.split('\t').collect();
            let bytes: Vec<u8> = (0..f[2].len() / 2)
                .map(|i| u8::from_str_radix(&f[2][2 * i..2 * i + 2], 16).unwrap())
                .collect();
            dirs.entry((f[0].parse().unwrap(), f[1].parse().unwrap()))
                .or_default()
                .extend(bytes);
        }
        let mut single = 0u64;
        for b in dirs.values() {
            let mut at = 0;
            while at + 8 <= b.len() {
                let len = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize;
                let word = u32::from_be_bytes(b[at + 4..at + 8].try_into().unwrap());
                let hlen = (word & 0xFF_FFFF) as usize;
                let header = &b[at + 8..(at + 8 + hlen).min(b.len())];
                // A send flagged `batch` (V2 `m`) carries an encoded batch: its messages'
                // bodies are the manifest's.
                let (code, flag) = if word >> 24 == 0 {
                    let h: Value = serde_json::from_slice(header).unwrap();
                    let e = &h["extFields"];
                    let batch = [&e["m"], &e["batch"]]
                        .iter()
                        .any(|v| *v == "true" || *v == "1");
                    let code = if batch {
                        320
                    } else {
                        h["code"].as_i64().unwrap()
                    };
                    (code, h["flag"].as_i64().unwrap())
                } else {
                    // ROCKETMQ: code i16, language u8, version i16, opaque i32, flag i32.
                    let code = i16::from_be_bytes([header[0], header[1]]) as i64;
                    let flag = i32::from_be_bytes(header[7..11].try_into().unwrap()) as i64;
                    (code, flag)
                };
                if flag & 1 == 0 && matches!(code, 10 | 310 | 324 | 325) {
                    single += (len - 4 - hlen) as u64;
                }
                at += 4 + len;
            }
        }
        let batched: u64 = m["messages"]
            .as_array()
            .unwrap()
            .iter()
            // The reference manifests mark batch members by their send mode.
            .filter(|x| {
                x["on_wire"] == true && (!x["batch"].is_null() || x["send_mode"] == "batch")
            })
            .map(|x| x["body_len"].as_u64().unwrap())
            .sum();
        let s = stats(&p, &[]);
        let t = s["topics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["topic"] == m["topic"])
            .unwrap();
        assert_eq!(
            t["body_bytes"].as_u64(),
            Some(single + batched),
            "{dir}/{name}"
        );
        if let Some(w) = want {
            assert_eq!(single + batched, w, "{dir}/{name}");
        }
    }
}
