//! Ground truth from the reference implementation: captures of Apache RocketMQ's own Java
//! remoting client (peers/java: rocketmq-client and rocketmq-tools 5.3.3 and 4.9.7) against
//! the Java NameServer and Broker (scripts/java-peers.sh: 5.3.3 and 4.9.7), recorded with
//! tcpdump by peers/java/record.sh, each with the manifest the harness wrote (what the Java
//! API was given and what it reported back) and an independent tshark-based check.

mod common;

use common::rmqdump;

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// client version - broker version.
const CAPTURES: &[&str] = &[
    "java5-broker5",
    "java5-broker4",
    "java4-broker4",
    "java4-broker5",
];

fn path(name: &str, ext: &str) -> String {
    format!("{}/captures/java/{name}.{ext}", env!("CARGO_MANIFEST_DIR"))
}

fn load(name: &str) -> (Value, Vec<Value>) {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(path(name, "manifest.json")).unwrap())
            .unwrap();
    let (code, out, err) = rmqdump(&["read", "--json", &path(name, "pcap")]);
    assert_eq!(code, 0, "{name}: {err}");
    let frames = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    (manifest, frames)
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn body(m: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(m["body"].as_str().unwrap_or(""))
        .expect("base64 body")
}

fn requests(frames: &[Value], code: i64) -> Vec<&Value> {
    frames
        .iter()
        .filter(|f| f["kind"] != "response" && f["code"] == code)
        .collect()
}

fn responses_to(frames: &[Value], code: i64) -> Vec<&Value> {
    frames
        .iter()
        .filter(|f| f["kind"] == "response" && f["request"]["code"] == code)
        .collect()
}

/// The response that answered the request at `packet`.
fn response_of<'a>(frames: &'a [Value], packet: &Value) -> Option<&'a Value> {
    frames
        .iter()
        .find(|f| f["kind"] == "response" && &f["request"]["packet"] == packet)
}

#[test]
fn frames_and_codes_agree_with_the_independent_check() {
    for name in CAPTURES {
        let (manifest, frames) = load(name);
        let check = &manifest["capture_check"];
        assert_eq!(check["problems"], serde_json::json!([]), "{name}");
        assert_eq!(
            frames.len() as u64,
            check["remoting_frames"].as_u64().unwrap(),
            "{name}: frame count vs the tshark-based check"
        );
        let mut req: BTreeMap<String, u64> = BTreeMap::new();
        let mut resp: BTreeMap<String, u64> = BTreeMap::new();
        for f in &frames {
            let c = f["code"].as_i64().unwrap().to_string();
            let m = if f["kind"] == "response" {
                &mut resp
            } else {
                &mut req
            };
            *m.entry(c).or_default() += 1;
        }
        let want = |v: &Value| -> BTreeMap<String, u64> {
            v.as_object()
                .unwrap()
                .iter()
                .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
                .collect()
        };
        assert_eq!(req, want(&check["requests_by_code"]), "{name}");
        assert_eq!(resp, want(&check["responses_by_code"]), "{name}");
    }
}

#[test]
fn verify_is_byte_exact_and_agrees_with_the_manifest() {
    for name in CAPTURES {
        let (manifest, frames) = load(name);
        let (code, out, err) = rmqdump(&[
            "verify",
            &path(name, "pcap"),
            "--manifest",
            &path(name, "manifest.json"),
        ]);
        assert_eq!(code, 0, "{name}: {out}{err}");
        let n = frames.len();
        assert!(
            out.contains(&format!(
                "{n} frames, {n} re-encoded byte-exact, 0 mismatches, 0 undecodable; \
                 {n} of {n} JSON headers are exactly fastjson's canonical form"
            )),
            "{name}: {out}"
        );
        let messages = manifest["messages"].as_array().unwrap().len();
        assert!(
            out.contains(&format!("{messages} messages, 0 disagreements")),
            "{name}: {out}"
        );
    }
}

/// Every request and response code is a RequestCode / ResponseCode constant, and every header
/// is typed by the Java class of its code (empty when Java sends none); only the answers to
/// requests outside the capture (no request to pair with) stay untyped.
#[test]
fn every_code_is_named_and_every_header_typed() {
    for name in CAPTURES {
        let (_, frames) = load(name);
        for f in &frames {
            let n = f["name"].as_str().unwrap();
            let generic = |p: &str| {
                n.strip_prefix(p)
                    .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
            };
            assert!(
                !generic("REQUEST_") && !generic("RESPONSE_"),
                "{name}: unnamed code in {f}"
            );
            assert_eq!(f["language"], "JAVA", "{name}: {f}");
            if f["kind"] == "response" && f["request"].is_null() {
                continue;
            }
            assert!(!f["header"].is_null(), "{name}: untyped header in {f}");
            assert!(
                f["errors"].as_array().unwrap().is_empty(),
                "{name}: {}",
                f["errors"]
            );
        }
    }
}

#[test]
fn every_sent_message_and_send_result_is_recovered() {
    for name in CAPTURES {
        let (manifest, frames) = load(name);
        let topic = manifest["topic"].as_str().unwrap();
        let broker = manifest["broker_addr"].as_str().unwrap();
        let mut sends = requests(&frames, 310);
        sends.extend(requests(&frames, 320));
        let mut order_queues = Vec::new();
        for m in manifest["messages"].as_array().unwrap() {
            let id = m["id"].as_str().unwrap();
            let hits: Vec<(&Value, usize)> = sends
                .iter()
                .flat_map(|f| {
                    f["messages"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| s["tags"] == m["tags"] && s["keys"] == m["keys_property"])
                        .map(move |(i, _)| (*f, i))
                })
                .collect();
            assert_eq!(hits.len(), 1, "{name} {id}: sends carrying it");
            let (f, i) = hits[0];
            let s = &f["messages"][i];
            assert_eq!(s["topic"], topic, "{name} {id}");
            let b = body(s);
            assert_eq!(
                b.len() as u64,
                m["body_len"].as_u64().unwrap(),
                "{name} {id}"
            );
            assert_eq!(sha256_hex(&b), m["body_sha256"], "{name} {id} body");
            assert_eq!(
                s["user_properties"], m["user_properties"],
                "{name} {id} user properties"
            );
            assert_eq!(
                s["compressed"], m["expect_client_compression"],
                "{name} {id} compressed on the wire"
            );
            let r = &m["send_result"];
            assert_eq!(r["ok"], true, "{name} {id}");
            match m["send_mode"].as_str().unwrap() {
                "oneway" => {
                    assert_eq!(f["kind"], "oneway", "{name} {id}");
                    assert!(response_of(&frames, &f["packet"]).is_none());
                    continue;
                }
                "batch" => assert_eq!(f["code"], 320, "{name} {id}"),
                _ => assert_eq!(f["code"], 310, "{name} {id}"),
            }
            if let Some(level) = m["delay_level"].as_i64() {
                assert_eq!(s["properties"]["DELAY"], level.to_string(), "{name} {id}");
            }
            if m["send_mode"] == "transaction" {
                assert_eq!(s["properties"]["TRAN_MSG"], "true", "{name} {id}");
                assert_eq!(
                    s["properties"]["PGROUP"], manifest["transaction_producer_group"],
                    "{name} {id}"
                );
            } else {
                assert_eq!(
                    f["header"]["producerGroup"], manifest["producer_group"],
                    "{name} {id}"
                );
            }
            // SendResult.msgId is the client's UNIQ_KEY; offsetMsgId, queueId and
            // queueOffset come from the broker's SendMessageResponseHeader.
            assert_eq!(s["uniq_key"], r["msg_id"], "{name} {id} UNIQ_KEY");
            let resp = response_of(&frames, &f["packet"])
                .unwrap_or_else(|| panic!("{name} {id}: no response"));
            assert_eq!(resp["code"], 0, "{name} {id}");
            let h = &resp["header"];
            assert_eq!(h["queueId"], r["queue_id"], "{name} {id} queueId");
            let offsets: Vec<&str> = h["msgId"].as_str().unwrap().split(',').collect();
            assert_eq!(
                offsets.len(),
                f["messages"].as_array().unwrap().len(),
                "{name} {id}"
            );
            if let Some(off) = r["offset_msg_id"].as_str() {
                assert_eq!(offsets[i], off, "{name} {id} offsetMsgId");
            }
            assert_eq!(
                h["queueOffset"].as_i64().unwrap() + i as i64,
                r["queue_offset"].as_i64().unwrap(),
                "{name} {id} queueOffset"
            );
            assert_eq!(
                h["offsetMsgIdDecoded"][i]["store_host"], broker,
                "{name} {id}"
            );
            if m["order_id"].is_i64() {
                order_queues.push(h["queueId"].clone());
            }
        }
        // MessageQueueSelector: orderId 7 over 4 queues -> one queue, 7 % 4.
        assert_eq!(order_queues, vec![Value::from(3); 3], "{name}");
    }
}

/// Each transactional send ends with END_TRANSACTION (COMMIT 8, ROLLBACK 12, NOT_TYPE 0 for
/// UNKNOW: MessageSysFlag), and the broker's CHECK_TRANSACTION_STATE for a message the client
/// left unknown is answered with END_TRANSACTION fromTransactionCheck=true.
#[test]
fn transactions_end_and_the_broker_checks_the_unknown_one() {
    for name in CAPTURES {
        let (manifest, frames) = load(name);
        let ends = requests(&frames, 37);
        let checks = requests(&frames, 39);
        for (id, state, want) in [
            ("j15", "COMMIT_MESSAGE", 8),
            ("j16", "ROLLBACK_MESSAGE", 12),
            ("j17", "UNKNOW", 0),
        ] {
            let m = manifest["messages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["id"] == id)
                .unwrap();
            let r = &m["send_result"];
            assert_eq!(r["local_transaction_state"], state, "{name} {id}");
            let first = ends
                .iter()
                .find(|e| {
                    e["header"]["msgId"] == r["msg_id"]
                        && e["header"]["fromTransactionCheck"] == false
                })
                .unwrap_or_else(|| panic!("{name} {id}: no END_TRANSACTION"));
            assert_eq!(first["kind"], "oneway");
            assert_eq!(first["header"]["commitOrRollback"], want, "{name} {id}");
            assert_eq!(
                first["header"]["producerGroup"], manifest["transaction_producer_group"],
                "{name} {id}"
            );
        }
        let checked = manifest["transaction_checks"]["checked_keys"]
            .as_array()
            .unwrap();
        assert!(checked.contains(&Value::from("tx-check")), "{name}");
        for key in checked {
            let m = manifest["messages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| &m["keys_property"] == key)
                .unwrap();
            let msg_id = &m["send_result"]["msg_id"];
            let check = checks
                .iter()
                .find(|c| &c["header"]["msgId"] == msg_id)
                .unwrap_or_else(|| panic!("{name} {key}: no CHECK_TRANSACTION_STATE"));
            // 5.x brokers name the half topic (CheckTransactionStateRequestHeader.topic,
            // absent from 4.9.x's class).
            if name.ends_with("broker5") {
                assert_eq!(
                    check["header"]["topic"], "RMQ_SYS_TRANS_HALF_TOPIC",
                    "{name}"
                );
            }
            // The half message rides in the check's body (MessageDecoder.decode).
            assert_eq!(check["messages"][0]["keys"], *key, "{name}");
            let end = ends
                .iter()
                .find(|e| {
                    &e["header"]["msgId"] == msg_id && e["header"]["fromTransactionCheck"] == true
                })
                .unwrap_or_else(|| panic!("{name} {key}: no END_TRANSACTION after the check"));
            assert_eq!(end["header"]["commitOrRollback"], 8, "{name} {key}");
        }
    }
}

/// What each consumer read back (push: PULL_MESSAGE; lite pull: PULL_MESSAGE from 4.9.x
/// clients, LITE_PULL_MESSAGE from 5.x ones; pop: POP_MESSAGE) is in the answers on the wire,
/// at the queue and offset the consumer reported, with the same body.
#[test]
fn consumers_read_back_what_the_manifest_says() {
    for name in CAPTURES {
        let (manifest, frames) = load(name);
        let delivered = |codes: &[i64]| -> Vec<Value> {
            codes
                .iter()
                .flat_map(|c| responses_to(&frames, *c))
                .flat_map(|f| f["messages"].as_array().cloned().unwrap_or_default())
                .collect()
        };
        for (kind, codes) in [
            ("push", &[11][..]),
            ("lite_pull", &[11, 361][..]),
            ("pop", &[200050][..]),
        ] {
            let c = &manifest["consumers"][kind];
            if c.is_null() {
                assert_eq!(kind, "pop", "{name}");
                continue;
            }
            let wire = delivered(codes);
            for m in c["messages"].as_array().unwrap() {
                let hit = wire.iter().find(|w| {
                    w["queue_id"] == m["queue_id"]
                        && w["queue_offset"] == m["queue_offset"]
                        && w["topic"] == m["topic"]
                });
                let w =
                    hit.unwrap_or_else(|| panic!("{name} {kind}: {} not on the wire", m["keys"]));
                assert_eq!(w["keys"], m["keys"], "{name} {kind}");
                assert_eq!(
                    w["commit_log_offset"], m["commit_log_offset"],
                    "{name} {kind}"
                );
                // MessageClientExt.getMsgId is the UNIQ_KEY (the stored msgId without one).
                let id = if w["uniq_key"].is_null() {
                    &w["msg_id"]
                } else {
                    &w["uniq_key"]
                };
                assert_eq!(id, &m["msg_id"], "{name} {kind} msgId");
                assert_eq!(sha256_hex(&body(w)), m["body_sha256"], "{name} {kind} body");
            }
            // The consumer's subscription travels in its heartbeat (HeartbeatData).
            let group = c["group"].as_str().unwrap();
            let subscribed = requests(&frames, 34).iter().any(|h| {
                h["body"]["json"]["consumerDataSet"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|d| {
                        d["groupName"] == group
                            && d["subscriptionDataSet"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .any(|s| s["topic"] == manifest["topic"] && s["subString"] == "*")
                    })
            });
            assert!(
                subscribed,
                "{name} {kind}: no heartbeat with the subscription"
            );
        }
        // The push consumer commits its offsets.
        let cg = &manifest["consumer_group"];
        assert!(
            requests(&frames, 15)
                .iter()
                .any(|u| &u["header"]["consumerGroup"] == cg
                    && u["header"]["topic"] == manifest["topic"]),
            "{name}: no UPDATE_CONSUMER_OFFSET"
        );
        // Pop: every message popped is acked, but the one the listener asked to reconsume
        // later, whose invisible time is changed instead (ConsumeMessagePopConcurrentlyService).
        let pop = &manifest["consumers"]["pop"];
        if !pop.is_null() {
            let acks = requests(&frames, 200051);
            let changes = requests(&frames, 200053);
            let later = pop["reconsume_later_keys"].as_array().unwrap().len();
            assert_eq!(later, 1, "{name}");
            assert_eq!(changes.len(), later, "{name}");
            assert_eq!(
                acks.len() + later,
                pop["deliveries"].as_array().unwrap().len(),
                "{name}: one ACK per delivery consumed"
            );
            assert_eq!(
                requests(&frames, 401)[0]["kind"],
                "request",
                "{name}: SET_MESSAGE_REQUEST_MODE"
            );
        }
    }
}

#[test]
fn admin_and_broker_registration_are_on_the_wire() {
    for name in CAPTURES {
        let (manifest, frames) = load(name);
        let topic = &manifest["topic"];
        let create = requests(&frames, 17);
        assert_eq!(create.len(), 1, "{name}");
        assert_eq!(&create[0]["header"]["topic"], topic);
        assert_eq!(create[0]["header"]["writeQueueNums"], 4);
        // GET_BROKER_CLUSTER_INFO answered with the ClusterInfo the admin reported.
        let ci = responses_to(&frames, 106);
        let brokers = &manifest["admin"]["cluster_brokers"];
        assert!(
            ci.iter().any(|r| {
                let t = &r["body"]["json"]["brokerAddrTable"];
                brokers
                    .as_object()
                    .unwrap()
                    .iter()
                    .all(|(b, addrs)| t[b]["brokerAddrs"] == *addrs)
            }),
            "{name}: cluster info"
        );
        // Query by key: QUERY_MESSAGE's answer holds the messages the admin listed.
        let q = requests(&frames, 12);
        assert_eq!(q[0]["header"]["key"], "JORD-0001", "{name}");
        let listed = &manifest["admin"]["query_by_key"]["messages"];
        let answered: Vec<Value> = responses_to(&frames, 12)
            .iter()
            .flat_map(|r| r["messages"].as_array().cloned().unwrap_or_default())
            .collect();
        for m in listed.as_array().unwrap() {
            assert!(
                answered
                    .iter()
                    .any(|a| a["commit_log_offset"] == m["commit_log_offset"]
                        && a["keys"] == m["keys"]),
                "{name}: queried {m}"
            );
        }
        // View by id: VIEW_MESSAGE_BY_ID asks for the commit log offset inside the offsetMsgId.
        let view = &manifest["admin"]["view_by_id"];
        let v = requests(&frames, 33);
        assert_eq!(
            v[0]["header"]["offset"], view["message"]["commit_log_offset"],
            "{name}"
        );
        let vr = responses_to(&frames, 33);
        assert_eq!(
            vr[0]["messages"][0]["msg_id"], view["offset_msg_id"],
            "{name}"
        );
        // Consume stats for the push group were asked for.
        assert!(
            requests(&frames, 208)
                .iter()
                .any(|r| r["header"]["consumerGroup"] == manifest["consumer_group"]),
            "{name}: GET_CONSUME_STATS"
        );
        // The broker's own traffic: REGISTER_BROKER to the NameServer, answered.
        let reg = requests(&frames, 103);
        assert!(!reg.is_empty(), "{name}: REGISTER_BROKER");
        assert_eq!(reg[0]["header"]["brokerName"], manifest["broker_name"]);
        assert!(response_of(&frames, &reg[0]["packet"]).is_some());
    }
}

/// The only requests without an answer are long polls the broker still held when the
/// consumer stopped (PullMessageProcessor / PopMessageProcessor suspend them): `pending`
/// when the capture ends within their long-poll time, else `unanswered`; everything else
/// is answered.
#[test]
fn only_held_long_polls_go_unanswered() {
    for name in CAPTURES {
        let (_, frames) = load(name);
        let (_, _, err) = rmqdump(&["read", "--json", &path(name, "pcap")]);
        let unanswered: Vec<&str> = err
            .lines()
            .filter(|l| l.contains(": unanswered ") || l.contains(": pending "))
            .collect();
        assert_eq!(unanswered.len(), err.lines().count(), "{name}: {err}");
        for l in unanswered {
            let packet: u64 = l
                .split("packet ")
                .nth(1)
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let f = frames
                .iter()
                .find(|f| f["packet"] == packet && f["kind"] == "request")
                .unwrap();
            assert!(
                matches!(f["code"].as_i64(), Some(11 | 361 | 200050)),
                "{name}: {l}"
            );
            // Suspended: a pull with FLAG_SUSPEND (PullSysFlag bit 1), or a pop with a poll time.
            if f["code"] == 200050 {
                assert!(f["header"]["pollTime"].as_i64().unwrap() > 0, "{name}: {l}");
            } else {
                assert!(
                    f["header"]["suspendTimeoutMillis"].as_i64().unwrap() > 0,
                    "{name}: {l}"
                );
            }
        }
    }
}
