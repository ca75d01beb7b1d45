//! Ground truth for the Go client of record (apache/rocketmq-client-go/v2, peers/go): the
//! captures in captures/go were recorded by scripts/go-peers.sh against the Apache RocketMQ
//! 5.3.3 Java NameServer/Broker and the rocketmq-rust 1.0.0 ones, with a manifest of what the
//! Go client sent and what its API reported back. The real `rmqdump` binary must recover
//! every message and result, re-encode every frame byte-exact, name every code and type
//! every header Java has a class for.

mod common;
mod go_check;

use go_check::*;

#[test]
fn go_client_against_java_5_3_3() {
    let c = check_all("go-java-5.3.3", "127.0.0.1:40911");
    // The pull consumer (Poll/ACK) read every message the push consumer read.
    let m = &c.manifest;
    assert_eq!(m["pull_consumer"]["complete"], true);
    assert_eq!(m["pull_consumer"]["received"], m["consumer"]["received"]);
    let group = m["pull_consumer"]["group"].as_str().unwrap();
    assert!(requests(&c.frames, 11).any(|f| f["header"]["consumerGroup"] == group));
    assert!(requests(&c.frames, 15).any(|f| f["header"]["consumerGroup"] == group));
    // The Java broker answers in its own language and version.
    assert!(
        c.frames
            .iter()
            .filter(|f| f["kind"] == "response")
            .all(|f| f["language"] == "JAVA" && f["version_name"] == "V5_3_3")
    );
}

#[test]
fn go_client_against_rocketmq_rust_1_0_0() {
    let c = check_all("go-rust-1.0.0", "127.0.0.1:10911");
    assert_eq!(c.manifest["topology"]["mode"], "shim");
    assert!(
        c.frames
            .iter()
            .filter(|f| f["kind"] == "response")
            .all(|f| f["language"] == "RUST")
    );
}
