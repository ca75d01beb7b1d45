//! The consumer view of `stats` (`consumers` in `--json`) against the frames themselves:
//! for every bundled capture with consumer traffic, the groups, clients, subscriptions and
//! per-queue pulls, offsets, commits and max offsets are recomputed here from `read --json`
//! (the full decoder, not the statistics' light one) and compared; on the Rust capture the
//! max offsets are also checked against the manifest (a fresh topic: each queue's max
//! offset is the number of messages sent to it).

use std::collections::{BTreeMap, BTreeSet};
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
    assert!(out.status.success(), "{args:?}");
    out.stdout
}

fn stats(p: &str) -> Value {
    serde_json::from_slice(&run(&["stats", "--json", p])).unwrap()
}

/// (group, topic, broker address, queueId)
type Key = (String, String, String, i64);

#[derive(Default, Debug)]
struct Want {
    pulls: u64,
    offsets: Vec<(u64, i64)>,
    next: Vec<(u64, i64)>,
    max: Vec<(u64, i64)>,
    committed: Vec<(u64, i64)>,
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// The consumer view recomputed from the frames: per queue and per group (clients and
/// subscriptions from HEART_BEAT bodies).
#[allow(clippy::type_complexity)]
fn from_frames(
    p: &str,
) -> (
    BTreeMap<Key, Want>,
    BTreeMap<String, (BTreeSet<String>, BTreeSet<(String, String, String)>)>,
) {
    let out = run(&["read", "--json", p]);
    let mut queues: BTreeMap<Key, Want> = BTreeMap::new();
    let mut groups: BTreeMap<String, (BTreeSet<String>, BTreeSet<(String, String, String)>)> =
        BTreeMap::new();
    let mut pulls: BTreeMap<u64, Key> = BTreeMap::new();
    for l in String::from_utf8(out).unwrap().lines() {
        let f: Value = serde_json::from_str(l).unwrap();
        let packet = f["packet"].as_u64().unwrap();
        let e = &f["ext_fields"];
        let key = || -> Key {
            (
                e["consumerGroup"].as_str().unwrap().to_string(),
                e["topic"].as_str().unwrap().to_string(),
                f["dst"].as_str().unwrap().to_string(),
                int(&e["queueId"]).unwrap(),
            )
        };
        // One-way requests (a client's UPDATE_CONSUMER_OFFSET) count as requests.
        let kind = match f["kind"].as_str().unwrap() {
            "oneway" => "request",
            k => k,
        };
        match (kind, f["code"].as_i64().unwrap()) {
            ("request", 11 | 361) => {
                let k = key();
                let q = queues.entry(k.clone()).or_default();
                q.pulls += 1;
                q.offsets.push((packet, int(&e["queueOffset"]).unwrap()));
                // PullSysFlag.FLAG_COMMIT_OFFSET
                if int(&e["sysFlag"]).unwrap() & 1 != 0 {
                    q.committed.push((packet, int(&e["commitOffset"]).unwrap()));
                }
                pulls.insert(packet, k);
            }
            ("request", 15) => {
                let q = queues.entry(key()).or_default();
                q.committed.push((packet, int(&e["commitOffset"]).unwrap()));
            }
            ("request", 34) => {
                let hb = &f["body"]["json"];
                for cd in hb["consumerDataSet"].as_array().into_iter().flatten() {
                    let g = groups
                        .entry(cd["groupName"].as_str().unwrap().to_string())
                        .or_default();
                    g.0.insert(hb["clientID"].as_str().unwrap().to_string());
                    for s in cd["subscriptionDataSet"].as_array().into_iter().flatten() {
                        let x = |k: &str| s[k].as_str().unwrap_or("").to_string();
                        g.1.insert((x("topic"), x("subString"), x("expressionType")));
                    }
                }
            }
            ("response", _) => {
                let Some(k) = f["request"]["packet"].as_u64().and_then(|r| pulls.get(&r)) else {
                    continue;
                };
                let q = queues.get_mut(k).unwrap();
                if let Some(n) = int(&e["nextBeginOffset"]) {
                    q.next.push((packet, n));
                }
                if let Some(m) = int(&e["maxOffset"]) {
                    q.max.push((packet, m));
                }
            }
            _ => {}
        }
    }
    (queues, groups)
}

fn span_check(got: &Value, want: &[(u64, i64)], what: &str) {
    assert_eq!(got["count"], want.len() as u64, "{what}");
    let first = want.iter().min_by_key(|x| x.0);
    let last = want.iter().rev().max_by_key(|x| x.0);
    let v = |x: Option<&(u64, i64)>| {
        x.map(|(p, v)| serde_json::json!({"packet": p, "value": v}))
            .unwrap_or(Value::Null)
    };
    assert_eq!(got["first"], v(first), "{what} first");
    assert_eq!(got["last"], v(last), "{what} last");
}

fn check(rel: &str) -> Value {
    let p = path(rel);
    let s = stats(&p);
    let (want_q, want_g) = from_frames(&p);
    let groups = s["consumers"]["groups"].as_array().unwrap();
    let mut got_q = 0;
    for g in groups {
        let name = g["group"].as_str().unwrap();
        let (clients, subs) = want_g.get(name).cloned().unwrap_or_default();
        let got_clients: BTreeSet<String> = g["clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        assert_eq!(got_clients, clients, "{rel} {name} clients");
        let got_subs: BTreeSet<(String, String, String)> = g["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                let f = |k: &str| x[k].as_str().unwrap().to_string();
                (f("topic"), f("sub_string"), f("expression_type"))
            })
            .collect();
        assert_eq!(got_subs, subs, "{rel} {name} subscriptions");
        for q in g["queues"].as_array().unwrap() {
            got_q += 1;
            let k: Key = (
                name.to_string(),
                q["topic"].as_str().unwrap().to_string(),
                q["broker_addr"].as_str().unwrap().to_string(),
                q["queue_id"].as_i64().unwrap(),
            );
            let w = want_q
                .get(&k)
                .unwrap_or_else(|| panic!("{rel}: {k:?} not in the frames"));
            let what = format!("{rel} {k:?}");
            assert_eq!(q["pulls"], w.pulls, "{what}");
            span_check(
                &q["pull_offset"],
                &w.offsets,
                &format!("{what} pull_offset"),
            );
            span_check(
                &q["next_begin_offset"],
                &w.next,
                &format!("{what} next_begin_offset"),
            );
            span_check(
                &q["committed_offset"],
                &w.committed,
                &format!("{what} committed"),
            );
            let max = w.max.iter().rev().max_by_key(|x| x.0);
            assert_eq!(
                q["max_offset"]["value"].as_i64(),
                max.map(|m| m.1),
                "{what} max"
            );
            let committed = w.committed.iter().rev().max_by_key(|x| x.0);
            let lag = max.zip(committed).map(|(m, c)| m.1 - c.1);
            assert_eq!(q["lag"].as_i64(), lag, "{what} lag");
        }
    }
    assert_eq!(got_q, want_q.len(), "{rel}: queues");
    // Heartbeat groups with no queue are listed too.
    for name in want_g.keys() {
        assert!(groups.iter().any(|g| g["group"] == *name), "{rel}: {name}");
    }
    s
}

#[test]
fn consumer_view_matches_the_frames_on_the_bundled_captures() {
    for rel in [
        "node/rocketmq-node-dev.pcap",
        "cpp/rocketmq-cpp-dev.pcap",
        "public/deepflow/rocketmq-consumer-otel.pcap",
        "public/deepflow/rocketmq-consumer-skywalking.pcap",
        "public/deepflow/rocketmq-pull-message.pcap",
        "public/deepflow/rocketmq-update-consumer-offset.pcap",
        "public/deepflow/rocketmq-heartbeat.pcap",
    ] {
        check(rel);
    }
}

#[test]
fn consumer_view_of_the_rust_capture_against_its_manifest() {
    let s = check("rust/rocketmq-rust-dev.pcap");
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(path("rust/rocketmq-rust-dev.manifest.json")).unwrap(),
    )
    .unwrap();
    let groups = s["consumers"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    let g = &groups[0];
    assert_eq!(g["group"], m["consumer_group"]);
    assert!(
        g["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["topic"] == m["topic"] && x["sub_string"] == "*"),
        "{g}"
    );
    // Messages the manifest says went to each queue of the (fresh) topic: the max offset
    // the pull answers carry, and after the consumer committed, a lag of 0.
    let mut sent: BTreeMap<i64, i64> = BTreeMap::new();
    for x in m["messages"].as_array().unwrap() {
        if x["on_wire"] == true
            && let Some(q) = int(&x["send_result"]["queue_id"])
        {
            *sent.entry(q).or_default() += 1;
        }
    }
    // The oneway message reports no queue; the consumer saw it on queue 3 (the manifest's
    // consumer section), so count it from there.
    for x in m["messages"].as_array().unwrap() {
        if x["on_wire"] == true && x["send_result"]["queue_id"].is_null() {
            let q = int(&x["consumed"]["queue_id"]).expect("consumed queue");
            *sent.entry(q).or_default() += 1;
        }
    }
    let mut got: BTreeMap<i64, i64> = BTreeMap::new();
    for q in g["queues"].as_array().unwrap() {
        if q["topic"] == m["topic"] {
            got.insert(
                q["queue_id"].as_i64().unwrap(),
                q["max_offset"]["value"].as_i64().unwrap(),
            );
            assert_eq!(q["lag"], 0, "{q}");
        }
    }
    assert_eq!(got, sent);
    assert_eq!(got, BTreeMap::from([(0, 6), (1, 3), (2, 1), (3, 2)]));
    // The text tables show the same rows: queue 0 pulled at 0 then 6, committed 6, max 6,
    // lag 0 (the row's cells in order).
    let text = String::from_utf8(run(&["stats", &path("rust/rocketmq-rust-dev.pcap")])).unwrap();
    assert!(
        text.contains("Consumer groups (HEART_BEAT consumerDataSet)"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| {
            l.starts_with("│ CG_dev_rust")
                && l.contains("CapDev_rust_topic")
                && l.contains("broker-a:0 ")
        })
        .unwrap();
    let cells: Vec<&str> = row
        .split('┆')
        .map(|c| c.trim_matches(|x: char| x == '│' || x.is_whitespace()))
        .collect();
    assert_eq!(
        cells,
        [
            "CG_dev_rust",
            "CapDev_rust_topic",
            "broker-a:0",
            "2 (1/0/0)",
            "0→6 (2)",
            "6",
            "6",
            "6",
            "0",
            "0",
            "-",
            "0 (0/0/0)"
        ]
    );
}

/// A written capture with every consumer request the view reads, values worked out by
/// hand: two clients of group `cg` on two connections (so two passes can split them),
/// `--interval 10s`.
#[test]
fn consumer_view_of_a_written_capture() {
    use rmqdump::capture::writer::{PcapWriter, TcpConversation};
    use rmqdump::remoting::command::{RemotingCommand, encode_frame};
    const S: i64 = 1_000_000_000;
    fn frame(code: i32, opaque: i32, flag: i32, ext: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        encode_frame(&RemotingCommand {
            code,
            opaque,
            flag,
            ext_fields: Some(
                ext.iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
            ),
            body: body.to_vec(),
            ..Default::default()
        })
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("consumers.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&f).unwrap()).unwrap();
    let broker = "10.0.0.9:10911".parse().unwrap();
    let mut a = TcpConversation::new("10.0.0.1:40000".parse().unwrap(), broker);
    let mut b = TcpConversation::new("10.0.0.2:40000".parse().unwrap(), broker);
    a.handshake(&mut w, S).unwrap();
    b.handshake(&mut w, S).unwrap();
    let hb = |id: &str| {
        format!(
            r#"{{"clientID":"{id}","consumerDataSet":[{{"groupName":"cg","subscriptionDataSet":[{{"topic":"T","subString":"TagA || TagB","expressionType":"TAG"}}]}}],"producerDataSet":[]}}"#
        )
    };
    a.send(
        &mut w,
        2 * S,
        true,
        &frame(34, 1, 0, &[], hb("A@1").as_bytes()),
    )
    .unwrap();
    a.send(&mut w, 2 * S, false, &frame(0, 1, 1, &[], b""))
        .unwrap();
    b.send(
        &mut w,
        2 * S,
        true,
        &frame(34, 1, 0, &[], hb("B@2").as_bytes()),
    )
    .unwrap();
    b.send(&mut w, 2 * S, false, &frame(0, 1, 1, &[], b""))
        .unwrap();
    // A body that is no HeartbeatData: counted, not read.
    b.send(&mut w, 2 * S, true, &frame(34, 2, 0, &[], b"not json"))
        .unwrap();
    b.send(&mut w, 2 * S, false, &frame(0, 2, 1, &[], b""))
        .unwrap();
    let pull = |q: &str, off: &str, sys: &str, commit: &str| {
        [
            ("consumerGroup", "cg".to_string()),
            ("topic", "T".to_string()),
            ("queueId", q.to_string()),
            ("queueOffset", off.to_string()),
            ("sysFlag", sys.to_string()),
            ("commitOffset", commit.to_string()),
            ("suspendTimeoutMillis", "15000".to_string()),
        ]
    };
    let ext = |v: &[(&'static str, String)]| -> Vec<(&'static str, String)> { v.to_vec() };
    let send = |c: &mut TcpConversation,
                w: &mut PcapWriter<std::fs::File>,
                ts: i64,
                client: bool,
                code: i32,
                opaque: i32,
                e: &[(&str, String)]| {
        let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
        c.send(
            w,
            ts,
            client,
            &frame(code, opaque, i32::from(!client), &e, b""),
        )
        .unwrap();
    };
    // Queue 0 by client A: pulls at offsets 0 (t 3 s) and 10 (t 12 s, committing 10:
    // sysFlag 3 = COMMIT_OFFSET | SUSPEND), answered nextBeginOffset 10 / 20, maxOffset 40.
    send(
        &mut a,
        &mut w,
        3 * S,
        true,
        11,
        10,
        &ext(&pull("0", "0", "2", "0")),
    );
    let ans = |n: &str, m: &str| {
        vec![
            ("nextBeginOffset", n.to_string()),
            ("minOffset", "0".to_string()),
            ("maxOffset", m.to_string()),
        ]
    };
    send(&mut a, &mut w, 3 * S, false, 0, 10, &ans("10", "40"));
    send(
        &mut a,
        &mut w,
        12 * S,
        true,
        11,
        11,
        &ext(&pull("0", "10", "3", "10")),
    );
    send(&mut a, &mut w, 12 * S, false, 0, 11, &ans("20", "40"));
    // GET_MAX_OFFSET of queue 0 answered 45 later (t 14 s): the last max offset.
    let q0 = vec![("topic", "T".to_string()), ("queueId", "0".to_string())];
    send(&mut a, &mut w, 14 * S, true, 30, 12, &q0);
    send(
        &mut a,
        &mut w,
        14 * S,
        false,
        0,
        12,
        &[("offset", "45".to_string())],
    );
    // UPDATE_CONSUMER_OFFSET of queue 0 to 20 (one-way: flag 2).
    let upd: Vec<(&str, &str)> = vec![
        ("consumerGroup", "cg"),
        ("topic", "T"),
        ("queueId", "0"),
        ("commitOffset", "20"),
    ];
    a.send(&mut w, 15 * S, true, &frame(15, 13, 2, &upd, b""))
        .unwrap();
    // Queue 1 by client B: one pull at 7, PULL_NOT_FOUND (an outcome).
    send(
        &mut b,
        &mut w,
        4 * S,
        true,
        11,
        20,
        &ext(&pull("1", "7", "2", "0")),
    );
    send(&mut b, &mut w, 19 * S, false, 19, 20, &ans("7", "7"));
    // Pop side by B on queue 2: a POP, an ACK, a CHANGE_INVISIBLETIME and a BATCH_ACK of
    // two entries (queue 2 and queue 3).
    let pq = |q: &str| {
        vec![
            ("consumerGroup", "cg".to_string()),
            ("topic", "T".to_string()),
            ("queueId", q.to_string()),
        ]
    };
    send(
        &mut b,
        &mut w,
        20 * S,
        true,
        200050,
        21,
        &[pq("2"), vec![("pollTime", "5000".to_string())]].concat(),
    );
    // Its answer popped offsets 3 and 4 of queue 2 (msgOffsetInfo as ExtraInfoUtil builds
    // it), and an entry that does not decode.
    send(
        &mut b,
        &mut w,
        20 * S,
        false,
        0,
        21,
        &[
            ("startOffsetInfo", "0 2 3".to_string()),
            ("msgOffsetInfo", "0 2 3,4;0 x 1".to_string()),
        ],
    );
    send(
        &mut b,
        &mut w,
        21 * S,
        true,
        200051,
        22,
        &[pq("2"), vec![("offset", "3".to_string())]].concat(),
    );
    // Acks count when the broker answers SUCCESS (this one), not on the request.
    send(&mut b, &mut w, 21 * S, false, 0, 22, &[]);
    send(
        &mut b,
        &mut w,
        21 * S,
        true,
        200053,
        23,
        &[pq("2"), vec![("offset", "4".to_string())]].concat(),
    );
    // BatchAckTest's entry (offsets so+1, so+3, so+5: BitSet.toByteArray [0x2A], base64 as
    // fastjson's writeByteArray writes it), one as a byte array (bit 0), and one whose
    // bitSet is no base64 (an entry, its messages uncounted).
    let body = br#"{"acks":[{"c":"cg","t":"T","q":2,"so":100,"b":"Kg=="},{"c":"cg","t":"T","q":3,"so":0,"b":[1]},{"c":"cg","t":"T","q":3,"so":0,"b":"!!"}],"brokerName":"broker-a"}"#;
    b.send(&mut w, 22 * S, true, &frame(200151, 24, 0, &[], body))
        .unwrap();
    send(&mut b, &mut w, 22 * S, false, 0, 24, &[]);
    // An ack the broker fails (SYSTEM_ERROR, as the Java broker's OutOfMemoryError in the
    // java5 capture): its message is not acknowledged.
    send(
        &mut b,
        &mut w,
        23 * S,
        true,
        200051,
        25,
        &[pq("2"), vec![("offset", "4".to_string())]].concat(),
    );
    send(&mut b, &mut w, 23 * S, false, 1, 25, &[]);
    w.flush().unwrap();
    drop(w);
    let p = f.to_str().unwrap();
    let s: Value = serde_json::from_slice(&run(&[
        "stats",
        "--json",
        "--interval",
        "10s",
        "--threads",
        "1",
        p,
    ]))
    .unwrap();
    let two: Value = serde_json::from_slice(&run(&[
        "stats",
        "--json",
        "--interval",
        "10s",
        "--threads",
        "2",
        p,
    ]))
    .unwrap();
    assert_eq!(two, s);
    // And the two passes were merged (not run again as one): the consumer view merges.
    let run2 = rmqdump::stats(
        |_| std::fs::File::open(p),
        rmqdump::analysis::Options::default(),
        Some(10 * S),
        2,
    )
    .unwrap();
    assert_eq!(run2.merged_passes, 2, "{:?}", run2.unmergeable);
    let c = &s["consumers"];
    assert_eq!(c["heartbeats_undecoded"], 1);
    assert_eq!(c["batch_acks_undecoded"], 0);
    assert_eq!(c["batch_ack_bitsets_undecoded"], 1);
    assert_eq!(c["pop_offsets_malformed"], 1);
    let g = &c["groups"][0];
    assert_eq!(g["group"], "cg");
    assert_eq!(g["clients"], serde_json::json!(["A@1", "B@2"]));
    assert_eq!(g["client_ips"], serde_json::json!(["10.0.0.1", "10.0.0.2"]));
    assert_eq!(g["heartbeats"], 2);
    assert_eq!(
        g["subscriptions"],
        serde_json::json!([{"topic": "T", "sub_string": "TagA || TagB", "expression_type": "TAG"}])
    );
    let qs = g["queues"].as_array().unwrap();
    assert_eq!(qs.len(), 4);
    let mk = |p: u64, v: i64| serde_json::json!({"packet": p, "value": v});
    // Packets: 1-6 handshakes, 7-12 heartbeats; then one per frame from 13.
    let q0 = &qs[0];
    assert_eq!(q0["queue_id"], 0);
    assert_eq!(q0["pulls"], 2);
    assert_eq!(q0["pulls_found"], 2);
    assert_eq!(
        q0["pull_offset"],
        serde_json::json!({"count": 2, "first": mk(13, 0), "last": mk(15, 10)})
    );
    assert_eq!(
        q0["next_begin_offset"],
        serde_json::json!({"count": 2, "first": mk(14, 10), "last": mk(16, 20)})
    );
    // Committed: the pull's commitOffset 10 (packet 15), then UPDATE_CONSUMER_OFFSET 20.
    assert_eq!(
        q0["committed_offset"],
        serde_json::json!({"count": 2, "first": mk(15, 10), "last": mk(19, 20)})
    );
    // Max offset: GET_MAX_OFFSET's 45 (packet 18) is later than the pulls' 40.
    assert_eq!(q0["max_offset"], mk(18, 45));
    assert_eq!(q0["lag"], 25);
    let iv = q0["intervals"].as_array().unwrap();
    assert_eq!(iv.len(), 2);
    assert_eq!(iv[0]["pulls"], 1);
    assert_eq!(iv[0]["pull_offset"]["last"], mk(13, 0));
    assert_eq!(iv[1]["pulls"], 1);
    assert_eq!(iv[1]["next_begin_offset"]["last"], mk(16, 20));
    let q1 = &qs[1];
    assert_eq!(
        (
            q1["queue_id"].as_i64(),
            q1["pulls"].as_u64(),
            q1["pull_outcomes"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(q1["lag"], Value::Null);
    let q2 = &qs[2];
    assert_eq!(q2["queue_id"], 2);
    assert_eq!(
        (
            q2["pops"].as_u64(),
            q2["acks"].as_u64(),
            q2["invisible_time_changes"].as_u64(),
            q2["batch_ack_entries"].as_u64()
        ),
        (Some(1), Some(2), Some(1), Some(1))
    );
    // One ACK_MESSAGE answered SUCCESS and the three bits of the batch entry; the ack
    // answered SYSTEM_ERROR is a failed one.
    assert_eq!(q2["acked_messages"], 4);
    assert_eq!(q2["ack_failed_messages"], 1);
    assert_eq!(
        q2["popped_offset"],
        serde_json::json!({"count": 2, "first": mk(23, 3), "last": mk(23, 4)})
    );
    assert_eq!(
        q2["pop_start_offset"],
        serde_json::json!({"count": 1, "first": mk(23, 3), "last": mk(23, 3)})
    );
    // No max offset of queue 2 in the capture: no lag.
    assert_eq!(
        (&q2["pop_max_offset"], &q2["pop_lag"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(
        (
            qs[3]["queue_id"].as_i64(),
            qs[3]["batch_ack_entries"].as_u64(),
            qs[3]["acked_messages"].as_u64()
        ),
        (Some(3), Some(2), Some(1))
    );
    // read locates the entry that did not decode, at the answer's packet.
    let out = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(["read", p])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "packet 23: frame (stream 1): decoding: msgOffsetInfo entry 1 \"0 x 1\": the queueId is not an int"
        ),
        "{err}"
    );
}

/// The Java 5.3.3 pop consumer (captures/java/java5-broker5.pcap) against its manifest:
/// per queue the offsets popped are the deliveries' POP_CK queue offsets, the acks sent
/// (acknowledged or failed by the broker) are the deliveries less the one consumed later
/// (CHANGE_MESSAGE_INVISIBLETIME), the acknowledged ones the SUCCESS answers,
/// and the max offset seen for each queue (the push consumer's pull answers) is the
/// broker's offset the admin read afterwards, so the lag is 0.
#[test]
fn pop_consumer_of_the_java_capture_against_its_manifest() {
    let p = path("java/java5-broker5.pcap");
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(path("java/java5-broker5.manifest.json")).unwrap(),
    )
    .unwrap();
    let pop = &m["consumers"]["pop"];
    let later: BTreeSet<&str> = pop["reconsume_later_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    // queueId -> (offsets popped, messages acked)
    let mut want: BTreeMap<i64, (BTreeSet<i64>, u64)> = BTreeMap::new();
    for d in pop["deliveries"].as_array().unwrap() {
        let ck: Vec<i64> = d["pop_ck"]
            .as_str()
            .unwrap()
            .split(' ')
            .filter_map(|x| x.parse().ok())
            .collect();
        // POP_CK: ckQueueOffset popTime invisibleTime reviveQid retry brokerName queueId
        // queueOffset (ExtraInfoUtil.buildExtraInfo; brokerName does not parse).
        let (qid, off) = (ck[ck.len() - 2], ck[ck.len() - 1]);
        let e = want.entry(qid).or_default();
        e.0.insert(off);
        if !later.contains(d["keys"].as_str().unwrap()) {
            e.1 += 1;
        }
    }
    assert_eq!(want.values().map(|w| w.1).sum::<u64>(), 15);
    let broker: BTreeMap<i64, i64> = m["admin"]["consume_stats"]["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["queue_id"].as_i64().unwrap(),
                q["broker_offset"].as_i64().unwrap(),
            )
        })
        .collect();
    let s = stats(&p);
    let two: Value =
        serde_json::from_slice(&run(&["stats", "--json", "--threads", "2", &p])).unwrap();
    assert_eq!(two["consumers"], s["consumers"]);
    let g = s["consumers"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == pop["group"])
        .unwrap();
    let mut got: BTreeMap<i64, (BTreeSet<i64>, u64)> = BTreeMap::new();
    let mut acked = 0;
    for q in g["queues"].as_array().unwrap() {
        if q["topic"] != m["topic"] || q["queue_id"] == -1 {
            continue;
        }
        let qid = q["queue_id"].as_i64().unwrap();
        let po = &q["popped_offset"];
        let (first, last) = (
            po["first"]["value"].as_i64().unwrap(),
            po["last"]["value"].as_i64().unwrap(),
        );
        // The offsets of one answer are contiguous here: count, first and last say them.
        assert_eq!(po["count"].as_i64().unwrap(), last - first + 1, "{q}");
        // The consumer acked what the manifest says; the broker failed some of those acks
        // (SYSTEM_ERROR), which are not acknowledged messages.
        got.insert(
            qid,
            (
                (first..=last).collect(),
                q["acked_messages"].as_u64().unwrap() + q["ack_failed_messages"].as_u64().unwrap(),
            ),
        );
        acked += q["acked_messages"].as_u64().unwrap();
        assert_eq!(
            q["pop_max_offset"]["value"].as_i64(),
            broker.get(&qid).copied(),
            "{q}"
        );
        assert_eq!(q["pop_lag"], 0, "{q}");
    }
    assert_eq!(got, want);
    // Acknowledged: the ACK_MESSAGE answers that are SUCCESS (8 here; 7 are SYSTEM_ERROR).
    let success = String::from_utf8(run(&["read", "--json", &p]))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|f| f["kind"] == "response" && f["request"]["code"] == 200051 && f["code"] == 0)
        .count() as u64;
    assert_eq!(acked, success);
    assert!(success > 0 && success < 15, "{success}");
}

/// `--interval 1s`: each queue's per-interval committed offsets, pull-answer max offsets
/// and lag, against the frames themselves (`read --json`, bucketed by the second of their
/// `ts`): the spans of each second, and the lag at each interval's end carried from the
/// last max offset and the last commit seen up to then.
#[test]
fn consumer_intervals_match_the_frames() {
    type Sec = BTreeMap<String, (Vec<(u64, i64)>, Vec<(u64, i64)>)>;
    for rel in [
        "java/java5-broker5.pcap",
        "java/java4-broker4.pcap",
        "node/rocketmq-node-dev.pcap",
        "public/deepflow/rocketmq-update-consumer-offset.pcap",
    ] {
        let p = path(rel);
        let s: Value =
            serde_json::from_slice(&run(&["stats", "--json", "--interval", "1s", &p])).unwrap();
        // (key) → second → (committed, max) from the frames.
        let mut want: BTreeMap<Key, Sec> = BTreeMap::new();
        let mut pulls: BTreeMap<u64, Key> = BTreeMap::new();
        for l in String::from_utf8(run(&["read", "--json", &p]))
            .unwrap()
            .lines()
        {
            let f: Value = serde_json::from_str(l).unwrap();
            let packet = f["packet"].as_u64().unwrap();
            let sec = f["ts"].as_str().unwrap()[..19].to_string();
            let e = &f["ext_fields"];
            let key = || -> Key {
                (
                    e["consumerGroup"].as_str().unwrap().to_string(),
                    e["topic"].as_str().unwrap().to_string(),
                    f["dst"].as_str().unwrap().to_string(),
                    int(&e["queueId"]).unwrap(),
                )
            };
            let kind = f["kind"].as_str().unwrap();
            match (kind, f["code"].as_i64().unwrap()) {
                ("request" | "oneway", 11 | 361) => {
                    let k = key();
                    if int(&e["sysFlag"]).unwrap() & 1 != 0 {
                        let c = int(&e["commitOffset"]).unwrap();
                        let w = want.entry(k.clone()).or_default();
                        w.entry(sec).or_default().0.push((packet, c));
                    }
                    pulls.insert(packet, k);
                }
                ("request" | "oneway", 15) => {
                    let c = int(&e["commitOffset"]).unwrap();
                    let w = want.entry(key()).or_default();
                    w.entry(sec).or_default().0.push((packet, c));
                }
                ("response", _) => {
                    let Some(k) = f["request"]["packet"].as_u64().and_then(|r| pulls.get(&r))
                    else {
                        continue;
                    };
                    if let Some(m) = int(&e["maxOffset"]) {
                        let w = want.entry(k.clone()).or_default();
                        w.entry(sec).or_default().1.push((packet, m));
                    }
                }
                _ => {}
            }
        }
        let mut checked = 0;
        for g in s["consumers"]["groups"].as_array().unwrap() {
            for q in g["queues"].as_array().unwrap() {
                let k: Key = (
                    g["group"].as_str().unwrap().to_string(),
                    q["topic"].as_str().unwrap().to_string(),
                    q["broker_addr"].as_str().unwrap().to_string(),
                    q["queue_id"].as_i64().unwrap(),
                );
                let w = want.remove(&k).unwrap_or_default();
                let intervals = q["intervals"].as_array().cloned().unwrap_or_default();
                let (mut max, mut committed) = (None::<i64>, None::<i64>);
                let mut seen = 0;
                for i in &intervals {
                    let sec = &i["start"].as_str().unwrap()[..19];
                    let (c, m) = w.get(sec).cloned().unwrap_or_default();
                    seen += (!c.is_empty() || !m.is_empty()) as usize;
                    let what = format!("{rel} {k:?} {sec}");
                    span_check(&i["committed_offset"], &c, &format!("{what} committed"));
                    span_check(&i["max_offset"], &m, &format!("{what} max"));
                    max = m.iter().max_by_key(|x| x.0).map(|x| x.1).or(max);
                    committed = c.iter().max_by_key(|x| x.0).map(|x| x.1).or(committed);
                    let lag = max.zip(committed).map(|(m, c)| m - c);
                    assert_eq!(i["lag"].as_i64(), lag, "{what} lag");
                    checked += 1;
                }
                // Every second with a commit or a max offset has its interval.
                assert_eq!(seen, w.len(), "{rel} {k:?}: seconds");
            }
        }
        assert!(want.is_empty(), "{rel}: queues not in stats: {want:?}");
        assert!(checked > 0, "{rel}: intervals checked");
    }
}
