//! Consumer traffic in `stats` and `read`: outcomes are not errors, long polls have their
//! own latency class, requests still waiting at the end of the capture are pending, and a
//! response whose request is not in the capture is reported (`unmatched`). Checked on
//! captures written here, frame by frame, with the expected values worked out from what
//! was written (ResponseCode.java numbers, PullSysFlag bits).

use std::process::Command;

use rmqdump::capture::writer::{PcapWriter, TcpConversation};
use rmqdump::remoting::command::{RemotingCommand, encode_frame};
use serde_json::Value;

const S: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;

fn cmd(code: i32, opaque: i32, flag: i32, ext: &[(&str, &str)]) -> Vec<u8> {
    encode_frame(&RemotingCommand {
        code,
        opaque,
        flag,
        ext_fields: Some(
            ext.iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        ),
        ..Default::default()
    })
}

/// A push consumer's connection to a Broker, the capture ending at 100 s:
/// - a normal PULL (sysFlag 0) answered SUCCESS in 2 ms;
/// - a long-poll PULL (sysFlag 2 = FLAG_SUSPEND, suspendTimeoutMillis 15000) answered
///   PULL_NOT_FOUND (19) after 15 s; another answered PULL_RETRY_IMMEDIATELY (20) after 9 s;
/// - QUERY_CONSUMER_OFFSET answered QUERY_NOT_FOUND (22) in 1 ms;
/// - UPDATE_CONSUMER_OFFSET answered SYSTEM_ERROR (1) in 3 ms: the only error;
/// - a POP_MESSAGE with pollTime 20000 answered POLLING_TIMEOUT (210) after 20 s;
/// - at 90 s a normal QUERY_CONSUMER_OFFSET never answered: 10 s > 3 s, unanswered;
/// - at 99 s a GET_MAX_OFFSET never answered: 1 s < 3 s, pending;
/// - at 95 s a long-poll PULL never answered: 5 s < 15 + 15 s, pending.
///
/// And a second connection picked up mid-way (no SYN) whose first frame is a response
/// (SYSTEM_ERROR, opaque 500) to a request sent before the capture started: unmatched.
fn consumer_capture(f: &std::path::Path) {
    let mut w = PcapWriter::new(std::fs::File::create(f).unwrap()).unwrap();
    let mut c = TcpConversation::new(
        "10.0.0.1:40000".parse().unwrap(),
        "10.0.0.2:10911".parse().unwrap(),
    );
    let mut mid = TcpConversation::new(
        "10.0.0.3:41000".parse().unwrap(),
        "10.0.0.2:10911".parse().unwrap(),
    );
    // The connection already running: its first captured bytes are a response.
    mid.send(&mut w, S / 2, false, &cmd(1, 500, 1, &[]))
        .unwrap();
    let t0 = S;
    c.handshake(&mut w, t0).unwrap();
    let pull = |q: &str, sys: &str| {
        vec![
            ("consumerGroup", "cg"),
            ("topic", "T"),
            ("queueId", "0"),
            ("queueOffset", q),
            ("maxMsgNums", "32"),
            ("sysFlag", sys),
            ("commitOffset", "0"),
            ("suspendTimeoutMillis", "15000"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect::<Vec<_>>()
    };
    fn ext(v: &[(String, String)]) -> Vec<(&str, &str)> {
        v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
    }
    let mut send = |w: &mut PcapWriter<std::fs::File>, ts: i64, client: bool, b: &[u8]| {
        c.send(w, ts, client, b).unwrap()
    };
    // 1: normal pull, 2 ms.
    let p = pull("0", "0");
    send(&mut w, 2 * S, true, &cmd(11, 1, 0, &ext(&p)));
    send(&mut w, 2 * S + 2 * MS, false, &cmd(0, 1, 1, &[]));
    // 2: long poll, PULL_NOT_FOUND after 15 s.
    let p = pull("5", "2");
    send(&mut w, 3 * S, true, &cmd(11, 2, 0, &ext(&p)));
    send(&mut w, 18 * S, false, &cmd(19, 2, 1, &[]));
    // 3: long poll, PULL_RETRY_IMMEDIATELY after 9 s.
    send(&mut w, 20 * S, true, &cmd(11, 3, 0, &ext(&p)));
    send(&mut w, 29 * S, false, &cmd(20, 3, 1, &[]));
    // 4: QUERY_CONSUMER_OFFSET, QUERY_NOT_FOUND in 1 ms.
    let q = [("consumerGroup", "cg"), ("topic", "T"), ("queueId", "0")];
    send(&mut w, 30 * S, true, &cmd(14, 4, 0, &q));
    send(&mut w, 30 * S + MS, false, &cmd(22, 4, 1, &[]));
    // 5: UPDATE_CONSUMER_OFFSET, SYSTEM_ERROR in 3 ms.
    let u = [
        ("consumerGroup", "cg"),
        ("topic", "T"),
        ("queueId", "0"),
        ("commitOffset", "5"),
    ];
    send(&mut w, 31 * S, true, &cmd(15, 5, 0, &u));
    send(&mut w, 31 * S + 3 * MS, false, &cmd(1, 5, 1, &[]));
    // 6: POP_MESSAGE, pollTime 20000, POLLING_TIMEOUT after 20 s.
    let pop = [
        ("consumerGroup", "cg"),
        ("topic", "T"),
        ("queueId", "-1"),
        ("maxMsgNums", "32"),
        ("invisibleTime", "60000"),
        ("pollTime", "20000"),
    ];
    send(&mut w, 40 * S, true, &cmd(200050, 6, 0, &pop));
    send(&mut w, 60 * S, false, &cmd(210, 6, 1, &[]));
    // 7: unanswered; 8: pending (default timeout); 9: pending (long poll).
    send(&mut w, 90 * S, true, &cmd(14, 7, 0, &q));
    send(&mut w, 95 * S, true, &cmd(11, 9, 0, &ext(&p)));
    let m = [("topic", "T"), ("queueId", "0")];
    send(&mut w, 99 * S, true, &cmd(30, 8, 0, &m));
    // The capture's last packet: a one-way request (flag bit 1, RPC_ONEWAY), which waits
    // for nothing.
    mid.send(&mut w, 100 * S, true, &cmd(34, 501, 2, &[]))
        .unwrap();
    w.flush().unwrap();
}

fn rmqdump(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(args)
        .output()
        .unwrap()
}

fn stats(f: &str, threads: &str) -> Value {
    let out = rmqdump(&["stats", "--json", "--threads", threads, f]);
    assert_eq!(out.status.code(), Some(0));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn code<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn consumer_outcomes_long_polls_pending_and_unmatched() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("consumer.pcap");
    consumer_capture(&f);
    let f = f.to_str().unwrap();
    let s = stats(f, "1");
    let o = &s["overview"];
    assert_eq!(o["unanswered_requests"], 1, "{o}");
    assert_eq!(o["pending_at_end"], 2, "{o}");
    assert_eq!(o["unmatched_responses"], 1, "{o}");

    // Outcomes are counted apart; the error rate is over failures only.
    let pull = code(&s, "PULL_MESSAGE");
    assert_eq!(pull["outcomes"], 2);
    assert_eq!(pull["errors"], 0);
    assert_eq!(pull["error_rate"], 0.0);
    let q = code(&s, "QUERY_CONSUMER_OFFSET");
    assert_eq!(
        (q["outcomes"].as_u64(), q["error_rate"].as_f64()),
        (Some(1), Some(0.0))
    );
    let pop = code(&s, "POP_MESSAGE");
    assert_eq!(pop["outcomes"], 1);
    assert_eq!(pop["responses"]["POLLING_TIMEOUT"], 1);
    let u = code(&s, "UPDATE_CONSUMER_OFFSET");
    assert_eq!(
        (u["errors"].as_u64(), u["error_rate"].as_f64()),
        (Some(1), Some(1.0))
    );

    // Long polls: their own class; the normal class keeps the 2 ms pull only.
    assert_eq!(pull["latency_us"]["count"], 1);
    assert_eq!(pull["latency_us"]["max"], 2_000);
    assert_eq!(pull["long_poll_latency_us"]["count"], 2);
    assert_eq!(pull["long_poll_latency_us"]["max"], 15_000_000);
    assert_eq!(pop["long_poll_latency_us"]["max"], 20_000_000);
    assert_eq!(pop["latency_us"]["count"], 0);
    let slow: Vec<&str> = s["problems"]["slowest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["request"].as_str().unwrap())
        .collect();
    assert_eq!(
        slow,
        [
            "UPDATE_CONSUMER_OFFSET",
            "PULL_MESSAGE",
            "QUERY_CONSUMER_OFFSET"
        ]
    );

    // Error responses: the UPDATE_CONSUMER_OFFSET failure only; the unmatched SYSTEM_ERROR
    // answers an unknown request and is no error of its connection.
    let errs = s["problems"]["error_responses"].as_array().unwrap();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0]["request"], "UPDATE_CONSUMER_OFFSET");
    assert_eq!(s["connections_total"]["errors"], 1);
    let unpaired = code(&s, "(unpaired responses)");
    assert_eq!(unpaired["responses"]["SYSTEM_ERROR"], 1);
    assert_eq!(unpaired["error_rate"], Value::Null);
    let kinds = &s["problems"]["by_kind"];
    assert_eq!(kinds["unmatched"]["count"], 1);
    assert_eq!(kinds["pending"]["count"], 2);
    assert_eq!(kinds["unanswered"]["count"], 1);
    // Packet 1 the mid-way response, 2-4 the handshake, then one packet a frame: the
    // query at 90 s is packet 17.
    assert_eq!(kinds["unanswered"]["examples"][0]["packet"], 17, "{kinds}");

    // Passes side by side: the same document.
    assert_eq!(stats(f, "2"), s);

    // read: the problems are located lines; --strict fails on the unmatched response and
    // the unanswered request, not on the pending ones.
    let out = rmqdump(&["read", "--strict", f]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(": packet 1: unmatched (stream 0): response SYSTEM_ERROR opaque 500 answers no request in the capture"),
        "{err}"
    );
    assert_eq!(err.matches(": pending (").count(), 2, "{err}");
    assert_eq!(out.status.code(), Some(1));
}

/// Only requests still pending at the end: `read --strict` exits 0.
#[test]
fn pending_requests_alone_do_not_fail_strict() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pending.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&f).unwrap()).unwrap();
    let mut c = TcpConversation::new(
        "10.0.0.1:40000".parse().unwrap(),
        "10.0.0.2:10911".parse().unwrap(),
    );
    c.handshake(&mut w, S).unwrap();
    c.send(&mut w, 2 * S, true, &cmd(34, 1, 0, &[])).unwrap();
    c.send(&mut w, 2 * S + MS, false, &cmd(0, 1, 1, &[]))
        .unwrap();
    c.send(&mut w, 3 * S, true, &cmd(14, 2, 0, &[])).unwrap();
    w.flush().unwrap();
    drop(w);
    let out = rmqdump(&["read", "--strict", f.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pending (stream 0): request QUERY_CONSUMER_OFFSET opaque 2 pending at the end of the capture"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}
