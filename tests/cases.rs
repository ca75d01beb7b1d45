//! The cases from public bug reports (/work/shared/cases, copied to tests/data/cases/): each
//! test asserts the "Expected" section of the case's README through the real binary.
//! (Case 01, malformed frame headers, is tested with the frame splitter.)

mod common;

use common::rmqdump as run;

use std::path::PathBuf;

use base64::Engine;
use serde_json::Value;

fn case(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cases")
        .join(format!("{name}.pcap"))
        .to_str()
        .unwrap()
        .to_string()
}

/// `read --json` plus extra arguments: the frame objects; asserts a clean run.
fn frames(name: &str, extra: &[&str]) -> Vec<Value> {
    let c = case(name);
    let mut args = vec!["read", "--json", "--strict", c.as_str()];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{name}: {err}");
    assert!(err.is_empty(), "{name}: {err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn body(m: &Value) -> String {
    let b = base64::engine::general_purpose::STANDARD
        .decode(m["body"].as_str().unwrap())
        .unwrap();
    String::from_utf8(b).unwrap()
}

/// Every case re-encodes byte-exact, nothing undecodable.
#[test]
fn every_case_verifies_clean() {
    for name in [
        "02-language-codes",
        "03-pop-message-response",
        "04-stored-v2-long-topic",
        "05-ipv6-hosts-msgid",
        "06-lz4-zstd-compression",
        "07-properties-last-separator",
        "08-go-json-html-escape",
        "10-inner-batch-unwrap",
        "12-coalesced-split-frames",
        "14-binary-remark-utf8-empty-ext",
    ] {
        let (code, out, err) = run(&["verify", &case(name)]);
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert!(
            out.contains(" 0 mismatches, 0 undecodable"),
            "{name}: {out}"
        );
    }
}

#[test]
fn case_02_language_codes() {
    let f = frames("02-language-codes", &[]);
    let langs: Vec<&str> = f
        .iter()
        .filter(|o| o["kind"] == "request")
        .map(|o| o["language"].as_str().unwrap())
        .collect();
    // NODE_JS, RUST named; the undefined byte 42 kept, not turned into OTHER.
    assert_eq!(langs, ["NODE_JS", "RUST", "42", "NODE_JS"]);
}

#[test]
fn case_03_pop_message_response() {
    let f = frames("03-pop-message-response", &[]);
    let resp = f
        .iter()
        .find(|o| o["kind"] == "response" && o["request"]["name"] == "POP_MESSAGE")
        .unwrap();
    let msgs = resp["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    let want = [
        (10, "pop body one", "0A000005A1B218B4AAC23A8C50000001"),
        (11, "pop body two", "0A000005A1B218B4AAC23A8C50000002"),
    ];
    for (m, (off, text, uniq)) in msgs.iter().zip(want) {
        assert_eq!(m["topic"], "Pop_topic");
        assert_eq!(m["queue_id"], 2);
        assert_eq!(m["queue_offset"], off);
        assert_eq!(body(m), text);
        assert_eq!(m["uniq_key"], uniq);
    }
    // PopMessageResponseHeader typed: numbers as numbers.
    let h = &resp["header"];
    assert_eq!(h["reviveQid"], 3);
    assert_eq!(h["restNum"], 0);
    assert_eq!(h["invisibleTime"], 60000);
    assert!(h["popTime"].is_i64());
    assert_eq!(h["msgOffsetInfo"], "0 2 10,11");
    // The request (PopMessageRequestHeader) and ACK_MESSAGE (AckMessageRequestHeader).
    let pop = f.iter().find(|o| o["name"] == "POP_MESSAGE").unwrap();
    assert_eq!(pop["header"]["maxMsgNums"], 2);
    assert_eq!(pop["header"]["order"], false);
    let ack = f.iter().find(|o| o["name"] == "ACK_MESSAGE").unwrap();
    assert_eq!(ack["header"]["offset"], 10);
    assert_eq!(ack["header"]["queueId"], 2);
    // --topic / --key select the popped messages' frame.
    let by_topic = frames("03-pop-message-response", &["--topic", "Pop_topic"]);
    assert!(by_topic.iter().any(|o| o["packet"] == resp["packet"]));
    let by_key = frames(
        "03-pop-message-response",
        &["--key", "0A000005A1B218B4AAC23A8C50000001"],
    );
    assert_eq!(by_key.len(), 1);
    assert_eq!(by_key[0]["packet"], resp["packet"]);
    // --group CG-pop: the POP and ACK requests and their responses.
    let by_group = frames("03-pop-message-response", &["--group", "CG-pop"]);
    assert_eq!(by_group.len(), 4);
    assert!(frames("03-pop-message-response", &["--group", "other"]).is_empty());
}

#[test]
fn case_04_stored_v2_long_topic() {
    let f = frames("04-stored-v2-long-topic", &[]);
    let m = f.iter().find_map(|o| o["messages"].as_array()).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["topic"].as_str().unwrap().len(), 150);
    assert_eq!(m[0]["magic"], "DAA320AB");
    assert_eq!(m[0]["msg_id"], "0A01020A00002A9F0000000000001000");
    assert_eq!(m[1]["topic"], "short_topic");
    assert_eq!(m[1]["magic"], "DAA320A7");
}

#[test]
fn case_05_ipv6_hosts_msgid() {
    let f = frames("05-ipv6-hosts-msgid", &[]);
    let send = &f[0]["messages"][0]["uniq_key_decoded"];
    assert_eq!(send["ip"], "fd00::5");
    assert_eq!(send["pid"], 1234);
    assert_eq!(send["counter"], 7);
    assert_eq!(send["utc_offset_minutes"], 0);
    let id = &f[1]["header"]["offsetMsgIdDecoded"][0];
    assert_eq!(id["store_host"], "[fd00::9]:10911");
    assert_eq!(id["commit_log_offset"], 123456);
    let pulled = f
        .iter()
        .rev()
        .find_map(|o| o["messages"].as_array())
        .unwrap();
    let hosts: Vec<(&str, &str)> = pulled
        .iter()
        .map(|m| {
            (
                m["born_host"].as_str().unwrap(),
                m["store_host"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        hosts,
        [
            ("[fd00::5]:40105", "[fd00::9]:10911"),
            ("[fd00::77]:40999", "10.0.0.9:10911")
        ]
    );
}

#[test]
fn case_06_lz4_zstd_compression() {
    let f = frames("06-lz4-zstd-compression", &[]);
    let got: Vec<(u64, Value)> = f
        .iter()
        .filter_map(|o| o["messages"].get(0))
        .map(|m| (m["body_len"].as_u64().unwrap(), m["sys_flag_names"].clone()))
        .collect();
    let want = [
        (53, serde_json::json!(["COMPRESSED", "LZ4"])),
        (62, serde_json::json!(["COMPRESSED", "ZSTD"])),
        (69, serde_json::json!(["COMPRESSED", "ZLIB"])),
        (54, serde_json::json!(["COMPRESSED"])),
    ];
    assert_eq!(got, want);
    // --max-body-print cuts what is printed, not what is decoded.
    let cut = frames("06-lz4-zstd-compression", &["--max-body-print", "10"]);
    let m = &cut[0]["messages"][0];
    assert_eq!(m["body_len"], 53);
    assert_eq!(body(m), "LZ4 compre");
    assert_eq!(m["body_truncated"], true);
    assert!(f[0]["messages"][0].get("body_truncated").is_none());
}

#[test]
fn case_07_properties_last_separator() {
    let f = frames("07-properties-last-separator", &[]);
    let props: Vec<&Value> = f
        .iter()
        .filter_map(|o| o["messages"].get(0))
        .map(|m| &m["properties"])
        .collect();
    assert_eq!(props.len(), 4);
    assert_eq!(props[0].as_object().unwrap().len(), 4);
    assert_eq!(props[1]["DELAY"], "4Pinpoint-Flags\u{1}0");
    let keys: Vec<&String> = props[2].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["TAGS", "UNIQ_KEY", "k"]);
    assert_eq!(props[3]["WAIT"], "trueCLUSTER\u{1}DefaultCluster");
    assert!(props[3].get("CLUSTER").is_none());
}

#[test]
fn case_08_go_json_html_escape() {
    let f = frames("08-go-json-html-escape", &[]);
    let pull = f.iter().find(|o| o["name"] == "PULL_MESSAGE").unwrap();
    assert_eq!(
        pull["header"]["subscription"],
        "price > 3 AND region <> 'eu' && x"
    );
    let hb = f.iter().find(|o| o["name"] == "HEART_BEAT").unwrap();
    let text = hb["body"]["json"].to_string();
    assert!(!text.contains("\\u003e"), "{text}");
}

#[test]
fn case_10_inner_batch_unwrap() {
    let f = frames("10-inner-batch-unwrap", &[]);
    let resp = f.iter().find(|o| o["kind"] == "response").unwrap();
    let outer = &resp["messages"][0];
    assert_eq!(outer["queue_offset"], 100);
    let inner = outer["inner_messages"].as_array().unwrap();
    assert_eq!(inner.len(), 3);
    for (i, m) in inner.iter().enumerate() {
        assert_eq!(m["keys"], format!("IB-{i}"));
        assert_eq!(body(m), format!("inner {i}"));
        assert_eq!(m["queue_offset"], 100 + i as i64);
        assert_eq!(m["topic"], outer["topic"]);
        assert_ne!(m["uniq_key"], outer["uniq_key"]);
        // Copied from the outer record as MessageDecoder.decodeMessage(MessageExt, List) does.
        for k in ["queue_id", "sys_flag", "born_host", "store_host", "msg_id"] {
            assert_eq!(m[k], outer[k], "{k}");
        }
        assert_eq!(m["body_crc"], 0);
    }
    let hit = frames("10-inner-batch-unwrap", &["--key", "IB-1"]);
    assert_eq!(hit.len(), 1);
    assert_eq!(hit[0]["packet"], resp["packet"]);
    assert!(frames("10-inner-batch-unwrap", &["--key", "IB-9"]).is_empty());
    // The text line says how many inner messages there are.
    let (_, text, _) = run(&["read", &case("10-inner-batch-unwrap")]);
    assert!(text.contains("inner_messages=3"), "{text}");
}

#[test]
fn case_12_coalesced_split_frames() {
    let f = frames("12-coalesced-split-frames", &[]);
    assert_eq!(f.len(), 6);
    assert!(
        f.iter()
            .filter(|o| o["kind"] == "response")
            .all(|o| !o["request"].is_null())
    );
    // Response 3 is attributed to the packet holding its first byte.
    assert_eq!(f[5]["packet"], 6);
}

#[test]
fn case_14_binary_remark_utf8_empty_ext() {
    let f = frames("14-binary-remark-utf8-empty-ext", &[]);
    let remarks: Vec<&str> = f
        .iter()
        .filter(|o| o["name"] == "SYSTEM_ERROR")
        .map(|o| o["remark"].as_str().unwrap())
        .collect();
    assert_eq!(remarks, ["消费者组不存在: CG-bin ✓"; 2]);
    assert_eq!(f[0]["serialize"], "ROCKETMQ");
    assert_eq!(f[0]["ext_fields"]["tag"], "");
}
