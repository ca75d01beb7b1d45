//! Checks shared by tests/go_captures.rs (bundled captures) and tests/e2e_go.rs (live runs):
//! the frames `rmqdump` decoded from a run of the Go harness (peers/go) against the
//! manifest that run wrote.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::{
    Sent, b64, check_body, frames, responses, rmqdump, root, sent_messages, sha256_hex, the_send,
};

pub struct Capture {
    pub manifest: Value,
    pub path: String,
    pub frames: Vec<Value>,
}

/// A bundled capture of captures/go and its manifest.
pub fn load(name: &str) -> Capture {
    let root = root();
    let c = decode(
        &format!("{root}/captures/go/{name}.manifest.json"),
        &format!("{root}/captures/go/{name}.pcap"),
    );
    let data = std::fs::read(&c.path).unwrap();
    assert_eq!(
        sha256_hex(&data),
        c.manifest["capture_sha256"].as_str().unwrap(),
        "{name}: the capture is the one the manifest describes"
    );
    c
}

/// `rmqdump read --json` of a capture, with the manifest of the run it recorded.
pub fn decode(manifest: &str, pcap: &str) -> Capture {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    Capture {
        manifest,
        path: pcap.to_string(),
        frames: frames(pcap),
    }
}

pub fn requests(frames: &[Value], code: i64) -> impl Iterator<Item = &Value> {
    frames
        .iter()
        .filter(move |f| f["kind"] != "response" && f["code"] == code)
}

/// Frame and code counts agree with the independent tshark-based check
/// (shared/peers/check_capture.py, stored in the manifest by scripts/go-peers.sh record).
pub fn check_counts(c: &Capture) {
    let check = &c.manifest["capture_check"];
    assert_eq!(
        c.frames.len() as u64,
        check["remoting_frames"].as_u64().unwrap(),
        "frame count vs tshark-based check"
    );
    let mut req: BTreeMap<String, u64> = BTreeMap::new();
    let mut resp: BTreeMap<String, u64> = BTreeMap::new();
    for f in &c.frames {
        let k = f["code"].as_i64().unwrap().to_string();
        *if f["kind"] == "response" {
            &mut resp
        } else {
            &mut req
        }
        .entry(k)
        .or_default() += 1;
    }
    let counts = |v: &Value| -> BTreeMap<String, u64> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
            .collect()
    };
    assert_eq!(req, counts(&check["requests_by_code"]));
    assert_eq!(resp, counts(&check["responses_by_code"]));
}

/// No frame carries an error, every code is named, `verify` re-encodes every frame
/// byte-exact.
pub fn check_frames(c: &Capture) {
    for f in &c.frames {
        assert_eq!(f["errors"], serde_json::json!([]), "error in {f}");
        // Every code the Go client and both brokers used is a named Java RequestCode /
        // ResponseCode.
        let name = f["name"].as_str().unwrap_or("");
        assert!(
            !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
                && !name.starts_with("UNKNOWN"),
            "unnamed code in {f}"
        );
    }
    // The whole capture (a live one also holds the servers' own traffic, which `frames`
    // may leave out).
    let (code, out, _) = rmqdump(&["verify", &c.path]);
    assert_eq!(code, 0, "{out}");
    let words: Vec<&str> = out
        .lines()
        .last()
        .unwrap()
        .split(": ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    let n: usize = words[0].parse().unwrap();
    assert!(n >= c.frames.len(), "{out}");
    assert!(
        out.contains(&format!(
            ": {n} frames, {n} re-encoded byte-exact, 0 mismatches, 0 undecodable;"
        )),
        "{out}"
    );
}

/// The Go client's own headers: language GO, version 317 (V4_5_2), remark "" and no
/// serializeTypeCurrentRPC (internal/remote/codec.go), decoded as such.
pub fn check_go_headers(c: &Capture) {
    let go: Vec<&Value> = c.frames.iter().filter(|f| f["language"] == "GO").collect();
    assert!(go.len() > 50, "{} frames from the Go client", go.len());
    for f in go {
        assert_ne!(
            f["kind"], "response",
            "the Go client answers no request here"
        );
        assert_eq!(f["version"], 317, "{f}");
        assert_eq!(f["version_name"], "V4_5_2");
        assert_eq!(f["remark"], "", "Go always writes remark \"\"");
        assert_eq!(f["serialize"], "JSON");
    }
}

/// Fields Java declares as numbers or booleans in the header class of each code (e.g.
/// SendMessageRequestHeader, PullMessageRequestHeader, EndTransactionRequestHeader) come
/// out typed, not as the wire's strings.
pub fn check_typed_headers(c: &Capture) {
    let typed: &[(i64, &str, &str)] = &[
        (10, "queueId", "n"),
        (10, "sysFlag", "n"),
        (10, "bornTimestamp", "n"),
        (10, "batch", "b"),
        (10, "unitMode", "b"),
        (320, "queueId", "n"),
        (320, "batch", "b"),
        (11, "queueOffset", "n"),
        (11, "maxMsgNums", "n"),
        (11, "suspendTimeoutMillis", "n"),
        (14, "queueId", "n"),
        (15, "commitOffset", "n"),
        (17, "readQueueNums", "n"),
        (17, "order", "b"),
        (37, "commitOrRollback", "n"),
        (37, "fromTransactionCheck", "b"),
        (37, "tranStateTableOffset", "n"),
        (39, "commitLogOffset", "n"),
    ];
    let mut seen = BTreeSet::new();
    for f in c.frames.iter().filter(|f| f["kind"] != "response") {
        let code = f["code"].as_i64().unwrap();
        for (_, field, ty) in typed.iter().filter(|t| t.0 == code) {
            let v = &f["header"][*field];
            if v.is_null() {
                continue;
            }
            let ok = match *ty {
                "n" => v.is_i64(),
                _ => v.is_boolean(),
            };
            assert!(ok, "{} {field} not typed: {v}", f["name"]);
            seen.insert((code, *field));
        }
    }
    assert_eq!(seen.len(), typed.len(), "every typed field was seen");
    // The send response: SendMessageResponseHeader, with the offset msgId decoded.
    let resp = responses(&c.frames);
    for f in requests(&c.frames, 10) {
        let r = resp[&f["packet"].as_u64().unwrap()];
        assert!(r["header"]["queueOffset"].is_i64(), "{r}");
        assert!(r["header"]["queueId"].is_i64(), "{r}");
    }
}

/// Every manifest message is in exactly one send, with its bytes, properties, compression,
/// delay level and transaction flags, and the response carries what the Go API reported.
pub fn check_messages(c: &Capture, store_host: &str) {
    let m = &c.manifest;
    let topic = m["topic"].as_str().unwrap();
    let resp = responses(&c.frames);
    let sent = sent_messages(&c.frames);
    let mut ordered_queues = BTreeSet::new();
    let mut modes = BTreeSet::new();
    for want in m["messages"].as_array().unwrap() {
        let id = want["id"].as_str().unwrap();
        assert_eq!(want["on_wire"], true);
        let s: &Sent = the_send(&sent, id, |msg| {
            msg["keys"] == want["keys_property"] && msg["tags"] == want["tags"]
        });
        let msg = s.message;
        modes.insert(want["send_mode"].as_str().unwrap().to_string());
        assert_eq!(msg["topic"], topic, "{id}");
        let body = check_body(msg, want, id);
        // The Go producer compresses bodies of at least 4096 bytes, never a batch
        // (producer.go tryCompressMsg); the manifest says which.
        assert_eq!(
            msg["compressed"], want["expect_client_compression"],
            "{id} compressed on the wire"
        );
        if msg["compressed"] == true {
            assert!(msg["wire_body_len"].as_u64().unwrap() < body.len() as u64);
            assert!(
                msg["sys_flag_names"]
                    .as_array()
                    .unwrap()
                    .contains(&Value::from("COMPRESSED"))
            );
        }
        assert_eq!(
            msg["user_properties"], want["user_properties"],
            "{id} user properties"
        );
        assert_eq!(msg["keys"], want["keys_property"], "{id} KEYS");
        let mode = want["send_mode"].as_str().unwrap();
        assert_eq!(
            s.frame["batch"] == true,
            mode == "batch",
            "{id}: only the batch goes as SEND_BATCH_MESSAGE"
        );
        if let Some(level) = want["delay_level"].as_i64() {
            assert_eq!(msg["properties"]["DELAY"], level.to_string(), "{id} DELAY");
        }
        if mode == "transaction" {
            assert_eq!(msg["properties"]["TRAN_MSG"], "true", "{id} half message");
            assert_eq!(
                msg["properties"]["PGROUP"],
                format!("{}_tx", m["producer_group"].as_str().unwrap()),
                "{id}"
            );
            assert!(
                msg["sys_flag_names"]
                    .as_array()
                    .unwrap()
                    .contains(&Value::from("TRANSACTION_PREPARED"))
            );
        }

        let r = &want["send_result"];
        assert_eq!(r["ok"], true, "{id} was sent");
        // SendOneWay does not set the oneway bit (flag 2): internal/remote
        // remote_client.go InvokeOneWay writes the command as built, flag 0, so the
        // broker answers it; the API reports no result to compare with.
        assert_eq!(s.frame["kind"], "request", "{id}");
        assert_eq!(s.frame["flag"], 0, "{id}");
        if mode == "oneway" {
            assert_eq!(r["status"], "ONEWAY_NO_RESULT");
            assert_eq!(
                resp[&s.frame["packet"].as_u64().unwrap()]["code"],
                0,
                "{id}"
            );
            continue;
        }
        let rf = resp[&s.frame["packet"].as_u64().unwrap()];
        assert_eq!(rf["code"], 0, "{id} SUCCESS");
        let h = &rf["header"];
        assert_eq!(h["msgId"], r["offset_msg_id"], "{id} offsetMsgId");
        assert_eq!(h["queueId"], r["queue_id"], "{id} queueId");
        assert_eq!(h["queueOffset"], r["queue_offset"], "{id} queueOffset");
        assert_eq!(
            h["offsetMsgIdDecoded"][0]["store_host"], store_host,
            "{id} the offset msgId names the broker's store address"
        );
        if mode == "batch" {
            // The Go client sets no UNIQ_KEY on batch members and reports no MsgID.
            assert!(msg["uniq_key"].is_null(), "{id}");
            assert!(r["msg_id"].is_null(), "{id}");
        } else {
            assert_eq!(msg["uniq_key"], r["msg_id"], "{id} UNIQ_KEY is the msgId");
        }
        // Queue chosen by the client is the one in the request header.
        assert_eq!(s.frame["header"]["queueId"], r["queue_id"], "{id}");
        if mode == "ordered" {
            ordered_queues.insert(r["queue_id"].as_i64().unwrap());
        }
        if mode == "transaction" {
            assert_eq!(h["transactionId"], r["transaction_id"], "{id}");
        }
    }
    assert_eq!(ordered_queues.len(), 1, "one sharding key, one queue");
    let all: BTreeSet<String> = [
        "sync",
        "async",
        "oneway",
        "batch",
        "delay",
        "ordered",
        "transaction",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(modes, all);
}

/// Half message, END_TRANSACTION with the local state (COMMIT 8, ROLLBACK 12, unknown 0:
/// MessageSysFlag), and the broker's CHECK_TRANSACTION_STATE answered by an END_TRANSACTION
/// from the check, as the manifest recorded on the client side.
pub fn check_transactions(c: &Capture) {
    let ends: Vec<&Value> = requests(&c.frames, 37).collect();
    let checks: Vec<&Value> = requests(&c.frames, 39).collect();
    let mut checked = 0;
    for want in c.manifest["messages"].as_array().unwrap() {
        if want["send_mode"] != "transaction" {
            continue;
        }
        let id = want["id"].as_str().unwrap();
        let tx = want["send_result"]["transaction_id"].as_str().unwrap();
        let flag = match want["transaction"]["local_state"].as_str().unwrap() {
            "COMMIT_MESSAGE" => 8,
            "ROLLBACK_MESSAGE" => 12,
            _ => 0,
        };
        let first: Vec<&&Value> = ends
            .iter()
            .filter(|e| {
                e["header"]["transactionId"] == tx && e["header"]["fromTransactionCheck"] == false
            })
            .collect();
        assert_eq!(
            first.len(),
            1,
            "{id}: one END_TRANSACTION after the half message"
        );
        assert_eq!(first[0]["header"]["commitOrRollback"], flag, "{id}");
        assert_eq!(
            first[0]["header"]["producerGroup"],
            format!("{}_tx", c.manifest["producer_group"].as_str().unwrap())
        );
        let check = &want["transaction"]["broker_check"];
        let on_wire: Vec<&&Value> = checks
            .iter()
            .filter(|k| k["header"]["transactionId"] == tx)
            .collect();
        if check.is_null() {
            assert!(on_wire.is_empty(), "{id}: a check the client did not see");
            continue;
        }
        checked += 1;
        assert_eq!(on_wire.len(), 1, "{id}: the broker's check");
        assert_eq!(on_wire[0]["kind"], "oneway");
        assert_eq!(on_wire[0]["header"]["msgId"], check["msg_id"]);
        let answer = match check["answer"].as_str().unwrap() {
            "COMMIT_MESSAGE" => 8,
            _ => 12,
        };
        let after: Vec<&&Value> = ends
            .iter()
            .filter(|e| {
                e["header"]["transactionId"] == tx && e["header"]["fromTransactionCheck"] == true
            })
            .collect();
        assert_eq!(after.len(), 1, "{id}: END_TRANSACTION from the check");
        assert_eq!(after[0]["header"]["commitOrRollback"], answer, "{id}");
        assert!(after[0]["packet"].as_u64() > on_wire[0]["packet"].as_u64());
    }
    assert!(
        checked >= 1,
        "the unknown transaction was checked by the broker"
    );
}

/// The push consumer: heartbeat with its subscription, long-poll PULL_MESSAGE, and every
/// message it read is in a pull response; the rolled-back one never is.
pub fn check_consumer(c: &Capture) {
    let m = &c.manifest;
    let topic = m["topic"].as_str().unwrap();
    let group = m["consumer_group"].as_str().unwrap();
    let beat = requests(&c.frames, 34).any(|f| {
        f["body"]["json"]["consumerDataSet"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| {
                d["groupName"] == group
                    && d["subscriptionDataSet"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|s| s["topic"] == topic && s["subString"] == "*")
            })
    });
    assert!(
        beat,
        "a heartbeat carries {group}'s subscription to {topic}"
    );
    let pulls: Vec<&Value> = requests(&c.frames, 11)
        .filter(|f| f["header"]["consumerGroup"] == group)
        .collect();
    assert!(!pulls.is_empty());
    assert!(
        pulls
            .iter()
            .all(|p| p["header"]["suspendTimeoutMillis"].as_i64() > Some(0))
    );
    assert!(
        requests(&c.frames, 15).any(|f| f["header"]["consumerGroup"] == group
            && f["header"]["topic"] == topic
            && f["header"]["commitOffset"].as_i64() > Some(0)),
        "UPDATE_CONSUMER_OFFSET for {group}"
    );
    let pulled: Vec<&Value> = c
        .frames
        .iter()
        .filter(|f| f["kind"] == "response" && f["request"]["code"] == 11)
        .flat_map(|f| f["messages"].as_array().into_iter().flatten())
        .collect();
    let mut read = 0;
    for want in m["messages"].as_array().unwrap() {
        let id = want["id"].as_str().unwrap();
        let keys = &want["keys_property"];
        if want["expect_consumed"] == false {
            assert!(want["consumed"].is_null(), "{id}");
            assert!(
                !pulled
                    .iter()
                    .any(|p| p["topic"] == topic && &p["keys"] == keys),
                "{id} must not be delivered"
            );
            continue;
        }
        let got = &want["consumed"];
        assert!(!got.is_null(), "{id} was read by the Go push consumer");
        read += 1;
        let p = pulled
            .iter()
            .find(|p| {
                p["topic"] == topic
                    && p["queue_id"] == got["queue_id"]
                    && p["queue_offset"] == got["queue_offset"]
            })
            .unwrap_or_else(|| panic!("{id} not in a pull response"));
        assert_eq!(&p["keys"], keys, "{id}");
        assert_eq!(p["commit_log_offset"], got["commit_log_offset"], "{id}");
        assert_eq!(
            sha256_hex(&b64(p["body"].as_str().unwrap())),
            got["body_sha256"].as_str().unwrap(),
            "{id} pulled body (decompressed)"
        );
        // MessageExt.MsgId in the Go client is the UNIQ_KEY when the message has one, else
        // the offset msgId (primitive/message.go DecodeMessage).
        let msg_id = if p["uniq_key"].is_null() {
            &p["msg_id"]
        } else {
            &p["uniq_key"]
        };
        assert_eq!(msg_id, &got["msg_id"], "{id} msgId");
    }
    assert_eq!(read as u64, m["consumer"]["received"].as_u64().unwrap());
    // The last offset the push consumer committed on each queue is one past the last
    // message it read there (OffsetStore: the next offset to consume).
    let mut next: BTreeMap<i64, i64> = BTreeMap::new();
    for want in m["messages"].as_array().unwrap() {
        let got = &want["consumed"];
        if let (Some(q), Some(o)) = (got["queue_id"].as_i64(), got["queue_offset"].as_i64()) {
            let e = next.entry(q).or_insert(0);
            *e = (*e).max(o + 1);
        }
    }
    let mut committed: BTreeMap<i64, i64> = BTreeMap::new();
    for f in requests(&c.frames, 15)
        .filter(|f| f["header"]["consumerGroup"] == group && f["header"]["topic"] == topic)
    {
        committed.insert(
            f["header"]["queueId"].as_i64().unwrap(),
            f["header"]["commitOffset"].as_i64().unwrap(),
        );
    }
    assert_eq!(committed, next, "committed offsets of {group}");
}

/// The admin API: UPDATE_AND_CREATE_TOPIC to the broker (CreateTopicRequestHeader) answered
/// SUCCESS, and the NameServer's topic list names the topic.
pub fn check_admin(c: &Capture) {
    let m = &c.manifest;
    let topic = m["topic"].as_str().unwrap();
    let want = &m["admin"]["create_topic"];
    assert_eq!(want["ok"], true);
    let resp = responses(&c.frames);
    let create: Vec<&Value> = requests(&c.frames, 17).collect();
    assert_eq!(create.len(), 1);
    let h = &create[0]["header"];
    assert_eq!(h["topic"], topic);
    assert_eq!(h["readQueueNums"], want["queues"]);
    assert_eq!(h["writeQueueNums"], want["queues"]);
    assert_eq!(resp[&create[0]["packet"].as_u64().unwrap()]["code"], 0);
    let list: Vec<&Value> = requests(&c.frames, 206).collect();
    assert_eq!(list.len(), 1);
    let r = resp[&list[0]["packet"].as_u64().unwrap()];
    let topics = r["body"]["json"]["topicList"].as_array().unwrap();
    assert_eq!(
        topics.len() as u64,
        m["admin"]["fetch_all_topic_list"]["topics"]
            .as_u64()
            .unwrap()
    );
    assert!(topics.contains(&Value::from(topic)));
}

/// Everything but the tshark counts, for a capture of one `rmqdump-go-peer run`.
pub fn check_run(c: &Capture, store_host: &str) {
    check_frames(c);
    check_go_headers(c);
    check_typed_headers(c);
    check_messages(c, store_host);
    check_transactions(c);
    check_consumer(c);
    check_admin(c);
}

pub fn check_all(name: &str, store_host: &str) -> Capture {
    let c = load(name);
    check_counts(&c);
    check_frames(&c);
    check_go_headers(&c);
    check_typed_headers(&c);
    check_messages(&c, store_host);
    check_transactions(&c);
    check_consumer(&c);
    check_admin(&c);
    c
}
