//! End-to-end with the Go client of record (peers/go, built by `scripts/go-peers.sh install`)
//! against live servers: the harness runs while `rmqdump live -i lo` records, and every
//! message, result, transaction and read of its manifest must be recovered from the live
//! JSON Lines and the written capture; the Go push consumer reads back what
//! `rmqdump produce` sent. Ignored by `cargo test`; `scripts/go-peers.sh e2e` starts the
//! servers and runs `cargo test --test e2e_go -- --ignored`.
//!
//! Servers: RMQDUMP_GO_NAMESRV / RMQDUMP_GO_BROKER (default 127.0.0.1:39876 / 40911, the
//! Apache RocketMQ 5.3.3 pair `scripts/go-peers.sh e2e` starts with scripts/java-peers.sh).
//! The rocketmq-rust 1.0.0 servers close the connection on the Go client's JSON headers (no
//! serializeTypeCurrentRPC), so they can only be used through shared/peers/compat_shim.py.
//! Harness: RMQDUMP_GO_PEER (default $RMQDUMP_PEERS/go/rmqdump-go-peer, RMQDUMP_PEERS
//! defaulting to /opt/rmqdump-peers).

mod common;
mod go_check;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{rmqdump, signal, unique, wait_for_text};
use go_check::*;
use serde_json::Value;

fn env_or(k: &str, d: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| d.to_string())
}

fn namesrv() -> String {
    env_or("RMQDUMP_GO_NAMESRV", "127.0.0.1:39876")
}

fn broker() -> String {
    env_or("RMQDUMP_GO_BROKER", "127.0.0.1:40911")
}

fn peer() -> PathBuf {
    if let Ok(p) = std::env::var("RMQDUMP_GO_PEER") {
        return p.into();
    }
    Path::new(&env_or("RMQDUMP_PEERS", "/opt/rmqdump-peers")).join("go/rmqdump-go-peer")
}

fn port(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// `rmqdump live -i lo --json -w PCAP` on the NameServer port and the broker's four
/// (VIP = port-2, HA = port+1), started once it says it is capturing.
fn start_live(pcap: &Path, err: &Path) -> std::process::Child {
    let (ns, br) = (port(&namesrv()), port(&broker()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rmqdump"));
    cmd.args(["live", "-i", "lo", "--json"]);
    for p in [ns, br - 2, br - 1, br, br + 1] {
        cmd.args(["--port", &p.to_string()]);
    }
    let l = cmd
        .arg("-w")
        .arg(pcap)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(err).unwrap())
        .spawn()
        .unwrap();
    wait_for_text(err, "capturing on", "live did not start");
    l
}

fn stop_live(live: std::process::Child, err: &Path) -> Vec<Value> {
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(signal(live.id(), "INT"));
    let out = live.wait_with_output().unwrap();
    let stderr = std::fs::read_to_string(err).unwrap();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(" 0 dropped; ours: 0 dropped by limits"),
        "{stderr}"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Frames of the TCP connections the Go client opened (the capture starts while the broker's
/// own connection to the NameServer is already open).
fn go_streams(frames: Vec<Value>) -> Vec<Value> {
    let ours: std::collections::BTreeSet<u64> = frames
        .iter()
        .filter(|f| f["language"] == "GO")
        .map(|f| f["stream"].as_u64().unwrap())
        .collect();
    frames
        .into_iter()
        .filter(|f| ours.contains(&f["stream"].as_u64().unwrap()))
        .collect()
}

#[test]
#[ignore = "needs live servers (scripts/go-peers.sh e2e), the Go harness and CAP_NET_RAW"]
fn go_harness_recorded_live_and_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("go.pcap");
    let err = dir.path().join("live.err");
    let results = dir.path().join("results.json");
    let live = start_live(&pcap, &err);
    let topic = unique("E2eGo");
    let out = Command::new(peer())
        .args([
            "run",
            "-namesrv",
            &namesrv(),
            "-broker",
            &broker(),
            "-topic",
        ])
        .arg(&topic)
        .args(["-group-suffix", &unique("go")])
        .arg("-out")
        .arg(&results)
        .output()
        .expect("run the Go harness (scripts/go-peers.sh install)");
    let frames = stop_live(live, &err);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = decode(results.to_str().unwrap(), pcap.to_str().unwrap());
    // The live JSON Lines and the written capture decode to the same frames.
    assert_eq!(go_streams(frames).len(), go_streams(c.frames.clone()).len());
    c.frames = go_streams(std::mem::take(&mut c.frames));
    let failed: Vec<&Value> = c.manifest["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["send_result"]["ok"] != true)
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    check_run(&c, &broker());
}

#[test]
#[ignore = "needs live servers (scripts/go-peers.sh e2e) and the Go harness"]
fn go_consumer_reads_back_rmqdump_produce() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.json");
    let topic = unique("E2eGoRead");
    let (code, out, err) = rmqdump(&[
        "produce",
        "--namesrv",
        &namesrv(),
        "--topic",
        &topic,
        "--count",
        "12",
        "--size",
        "5000",
        "--tags",
        "TagA,TagB",
        "--keys",
        "gread",
        "--manifest",
        manifest.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    // What the broker took (answered SUCCESS), by msgId (UNIQ_KEY).
    let mut sent: BTreeMap<String, &Value> = BTreeMap::new();
    for x in m["messages"].as_array().unwrap() {
        if x["send_result"]["ok"] == true || x["send_result"]["status"] == "SEND_OK" {
            sent.insert(x["send_result"]["msg_id"].as_str().unwrap().to_string(), x);
        }
    }
    assert_eq!(sent.len(), 12, "{m}");
    let out = Command::new(peer())
        .args([
            "consume",
            "-namesrv",
            &namesrv(),
            "-topic",
            &topic,
            "-group",
        ])
        .arg(unique("CG_e2e_go"))
        .args(["-count", "12", "-timeout", "90s"])
        .output()
        .expect("run the Go harness (scripts/go-peers.sh install)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(read.len(), 12);
    for r in &read {
        let id = r["msg_id"].as_str().unwrap();
        let x = sent
            .get(id)
            .unwrap_or_else(|| panic!("read {id}, which rmqdump produce did not send"));
        assert_eq!(r["body_len"], 5000, "{id}");
        assert_eq!(r["queue_id"], x["send_result"]["queue_id"], "{id}");
        assert_eq!(r["queue_offset"], x["send_result"]["queue_offset"], "{id}");
        if let Some(h) = x["body_sha256"].as_str() {
            assert_eq!(r["body_sha256"], h, "{id}");
        }
    }
}
