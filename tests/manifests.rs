//! Ground truth: every bundled capture with a manifest (what three independent clients were
//! asked to send and what they reported back) is decoded by the real `rmqdump` binary, and
//! every message and send result in the manifest must be recovered from its JSON Lines.

mod common;

use std::collections::BTreeMap;

use common::{Sent, b64, check_body, frames, rmqdump, sent_messages, sha256_hex, the_send};
use serde_json::Value;

fn check_capture(dir: &str, name: &str, pcap_ext: &str) {
    let root = env!("CARGO_MANIFEST_DIR");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/captures/{dir}/{name}.manifest.json")).unwrap(),
    )
    .unwrap();
    let capture = format!("{root}/captures/{dir}/{name}.{pcap_ext}");
    let frames = frames(&capture);
    let check = &manifest["capture_check"];
    assert_eq!(
        frames.len() as u64,
        check["remoting_frames"].as_u64().unwrap(),
        "frame count vs tshark-based check"
    );
    // Request code counts agree with the independent check (tshark reassembly + own splitter).
    let mut req_counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut resp_counts: BTreeMap<String, u64> = BTreeMap::new();
    for f in &frames {
        let c = f["code"].as_i64().unwrap().to_string();
        if f["kind"] == "response" {
            *resp_counts.entry(c).or_default() += 1;
        } else {
            *req_counts.entry(c).or_default() += 1;
        }
        assert!(
            f["errors"].as_array().unwrap().iter().all(|e| e
                .as_str()
                .unwrap()
                .starts_with("no request with this opaque")),
            "unexplained error in {f}"
        );
    }
    let expect = |v: &Value| -> BTreeMap<String, u64> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
            .collect()
    };
    assert_eq!(req_counts, expect(&check["requests_by_code"]));
    assert_eq!(resp_counts, expect(&check["responses_by_code"]));

    let sent = sent_messages(&frames);
    let topic = manifest["topic"].as_str().unwrap();
    let client = dir;
    let mut matched = 0;
    for m in manifest["messages"].as_array().unwrap() {
        let id = m["id"].as_str().unwrap();
        if m["on_wire"] != true {
            assert!(
                !sent.iter().any(|s| s.message["keys"] == m["keys_property"]
                    && !m["keys_property"].is_null()
                    && s.message["tags"] == m["tags"]),
                "{id} was not sent but appears"
            );
            continue;
        }
        // Identify the message by tags + KEYS (each message of the dev set has distinct ones).
        let s: &Sent = the_send(&sent, &format!("{client} {id}"), |msg| {
            msg["tags"] == m["tags"]
                && (msg["keys"] == m["keys_property"]
                    || (m["keys_property"].as_str() == Some("") && msg["keys"].is_null()))
        });
        let msg = s.message;
        assert_eq!(msg["topic"], topic, "{id} topic");
        check_body(msg, m, id);
        if m["expect_client_compression"] == true {
            assert_eq!(msg["compressed"], true, "{id} compressed on the wire");
        }
        for (k, v) in m["user_properties"].as_object().unwrap() {
            assert_eq!(&msg["properties"][k], v, "{id} property {k}");
        }
        // Exactly the properties the script set, once the system ones are set aside.
        assert_eq!(
            msg["user_properties"], m["user_properties"],
            "{id} user properties"
        );
        assert_eq!(msg["keys"], m["keys_property"], "{id} KEYS");
        let r = &m["send_result"];
        if s.frame["kind"] == "oneway" {
            assert!(s.response.is_none());
            assert_eq!(r["status"], "ONEWAY_NO_RESULT");
            matched += 1;
            continue;
        }
        if r["status"] == "ONEWAY_NO_RESULT" {
            // The C++ client's oneway API sends an ordinary request (flag 0); the broker
            // answers it, but the API reports no result to compare with.
            assert_eq!(
                client, "cpp",
                "{id}: only the C++ client sends oneway as a request"
            );
            matched += 1;
            continue;
        }
        let resp = s
            .response
            .as_ref()
            .unwrap_or_else(|| panic!("{id}: no response"));
        if r["ok"] == false {
            assert_ne!(resp["code"], 0, "{id} failed send has an error response");
            assert_eq!(resp["remark"], r["error"], "{id} error text");
            matched += 1;
            continue;
        }
        assert_eq!(resp["code"], 0, "{id} send response code");
        let h = &resp["header"];
        let uniq_of = |x: &Value| x["uniq_key"].as_str().unwrap_or("").to_string();
        let uniq: Vec<String> = if s.frame["batch"] == true {
            s.frame["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(uniq_of)
                .collect()
        } else {
            vec![uniq_of(msg)]
        };
        match client {
            "rust" => {
                assert_eq!(
                    r["msg_id"].as_str().unwrap(),
                    uniq.join(","),
                    "{id} UNIQ_KEY msgId"
                );
                assert_eq!(h["msgId"], r["offset_msg_id"], "{id} offsetMsgId");
                assert_eq!(h["queueId"], r["queue_id"], "{id} queueId");
            }
            "cpp" => {
                if s.frame["batch"] != true {
                    assert_eq!(
                        r["msg_id"].as_str(),
                        Some(uniq[0].as_str()),
                        "{id} UNIQ_KEY msgId"
                    );
                }
            }
            "node" => {
                assert_eq!(h["msgId"], r["msg_id"], "{id} offsetMsgId");
                assert_eq!(
                    h["queueId"].to_string(),
                    r["queue_id"].as_str().unwrap(),
                    "{id} queueId"
                );
            }
            _ => unreachable!(),
        }
        assert_eq!(h["queueOffset"], r["queue_offset"], "{id} queueOffset");
        // The offset msgId decodes to the broker's store address.
        let dec = &h["offsetMsgIdDecoded"][0];
        assert_eq!(dec["store_host"], "127.0.0.1:10911", "{id}");
        matched += 1;
    }
    assert_eq!(
        matched,
        manifest["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["on_wire"] == true)
            .count()
    );

    // Every small body the consumer read back is found in a pull response.
    let pulled: Vec<Value> = frames
        .iter()
        .filter(|f| f["kind"] == "response" && f["request"]["code"] == 11)
        .flat_map(|f| f["messages"].as_array().cloned().unwrap_or_default())
        .collect();
    for m in manifest["messages"].as_array().unwrap() {
        let c = &m["consumed"];
        if c.is_null() || c["queue_offset"].is_null() {
            continue;
        }
        let hit = pulled
            .iter()
            .find(|p| p["queue_offset"] == c["queue_offset"] && p["queue_id"] == c["queue_id"]);
        let p =
            hit.unwrap_or_else(|| panic!("{} consumed message not in a pull response", m["id"]));
        assert_eq!(p["topic"], topic);
        if let Some(h) = c["body_sha256"].as_str() {
            assert_eq!(
                sha256_hex(&b64(p["body"].as_str().unwrap())),
                h,
                "{} pulled body",
                m["id"]
            );
        }
        if let Some(off) = c["commit_log_offset"].as_i64() {
            assert_eq!(p["commit_log_offset"].as_i64(), Some(off));
        }
    }
}

#[test]
fn rust_client_capture_matches_manifest() {
    check_capture("rust", "rocketmq-rust-dev", "pcap");
}

#[test]
fn cpp_client_capture_matches_manifest() {
    check_capture("cpp", "rocketmq-cpp-dev", "pcap");
}

#[test]
fn cpp_client_pcapng_matches_manifest() {
    check_capture("cpp", "rocketmq-cpp-dev", "pcapng");
}

#[test]
fn node_client_capture_matches_manifest() {
    check_capture("node", "rocketmq-node-dev", "pcap");
}

/// `rmqdump verify CAPTURE --manifest M` agrees with the manifests of the bundled captures,
/// and says where a capture and a manifest disagree.
#[test]
fn verify_manifest_option() {
    let root = env!("CARGO_MANIFEST_DIR");
    for c in [
        "rust/rocketmq-rust-dev",
        "cpp/rocketmq-cpp-dev",
        "node/rocketmq-node-dev",
    ] {
        let (code, out, err) = rmqdump(&[
            "verify",
            &format!("{root}/captures/{c}.pcap"),
            "--manifest",
            &format!("{root}/captures/{c}.manifest.json"),
        ]);
        assert_eq!(code, 0, "{c}: {out}{err}");
        assert!(out.contains("13 messages, 0 disagreements"), "{out}");
    }
    // The bundled producer's reference captures (one per send mode) against theirs.
    for c in [
        "sync-json",
        "sync-rocketmq",
        "async",
        "oneway",
        "batch",
        "compressed",
    ] {
        let (code, out, err) = rmqdump(&[
            "verify",
            &format!("{root}/captures/reference/{c}.pcap"),
            "--manifest",
            &format!("{root}/captures/reference/{c}.manifest.json"),
        ]);
        assert_eq!(code, 0, "{c}: {out}{err}");
        assert!(out.contains(" 0 mismatches, 0 undecodable"), "{out}");
        assert!(out.contains(", 0 disagreements"), "{out}");
        // Every request the producer wrote is exactly what Java's fastjson would write.
        if c != "sync-rocketmq" {
            let (_, frames, _) = rmqdump(&[
                "read",
                "--json",
                &format!("{root}/captures/reference/{c}.pcap"),
            ]);
            let requests = frames
                .lines()
                .filter(|l| l.contains("\"kind\":\"request\"") || l.contains("\"kind\":\"oneway\""))
                .count();
            assert!(
                out.contains(&format!("; {requests} of ")),
                "{c}: {requests} requests: {out}"
            );
        }
    }
    // The rust client's capture against the node client's manifest: other topic, bodies,
    // results.
    let (code, out, _) = rmqdump(&[
        "verify",
        &format!("{root}/captures/rust/rocketmq-rust-dev.pcap"),
        "--manifest",
        &format!("{root}/captures/node/rocketmq-node-dev.manifest.json"),
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "d01 (packet 17): topic: manifest \"CapDev_node_topic\", capture \"CapDev_rust_topic\""
        ),
        "{out}"
    );
}
