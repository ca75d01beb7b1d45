//! Helpers shared by the integration tests that run the binary and match manifests:
//! tests/e2e.rs, tests/e2e_java.rs, tests/e2e_go.rs (and tests/go_check), tests/manifests.rs,
//! and the runner of cases, cli, cli_errors, cli_help, follow, java_captures and regress.
//! Each test file takes it with `mod common;` and uses what it needs.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The repository root.
pub fn root() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

/// Runs the rmqdump binary: exit code (-1 when killed by a signal), stdout, stderr.
pub fn rmqdump(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(args)
        .output()
        .expect("run rmqdump");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `rmqdump read --json CAPTURE` (exit 0 required): its frames.
pub fn frames(capture: &str) -> Vec<Value> {
    let (code, out, err) = rmqdump(&["read", "--json", capture]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// `NAME_<milliseconds>_<pid>`: a topic, group or suffix no earlier run used.
pub fn unique(name: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    format!("{name}_{t}_{}", std::process::id())
}

/// Sends signal `sig` (`TERM`, `INT`) to `pid` through the `kill` command; whether it
/// was delivered.
pub fn signal(pid: u32, sig: &str) -> bool {
    Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// Waits until the file at `path` contains `needle` (a started process saying it is
/// ready, e.g. `rmqdump live`'s "capturing on"); panics with `what` after 10 s.
pub fn wait_for_text(path: &Path, needle: &str, what: &str) {
    let t = Instant::now();
    while !std::fs::read_to_string(path).is_ok_and(|e| e.contains(needle)) {
        assert!(t.elapsed().as_secs() < 10, "{what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether the tests run as root (live capture, tcpdump).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

pub fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

pub fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

/// The response that answered each request, by the request's packet number.
pub fn responses(frames: &[Value]) -> BTreeMap<u64, &Value> {
    frames
        .iter()
        .filter(|f| f["kind"] == "response" && !f["request"].is_null())
        .map(|f| (f["request"]["packet"].as_u64().unwrap(), f))
        .collect()
}

/// One message of a send request (SEND_MESSAGE, _V2, SEND_BATCH_MESSAGE), with the
/// response that answered its request when the capture holds it.
pub struct Sent<'a> {
    pub frame: &'a Value,
    pub message: &'a Value,
    pub response: Option<&'a Value>,
}

/// Every message of every send request, in capture order.
pub fn sent_messages(frames: &[Value]) -> Vec<Sent<'_>> {
    let resp = responses(frames);
    frames
        .iter()
        .filter(|f| f["kind"] != "response" && matches!(f["code"].as_i64(), Some(10 | 310 | 320)))
        .filter(|f| !f["messages"].is_null())
        .flat_map(|f| {
            let response = resp.get(&f["packet"].as_u64().unwrap()).copied();
            f["messages"].as_array().unwrap().iter().map(move |m| Sent {
                frame: f,
                message: m,
                response,
            })
        })
        .collect()
}

/// The one send carrying the manifest message `id` (`is_it` tells it by its tags and
/// keys): exactly one, else a failure naming `id`.
pub fn the_send<'a, 'b>(
    sent: &'b [Sent<'a>],
    id: &str,
    is_it: impl Fn(&Value) -> bool,
) -> &'b Sent<'a> {
    let hits: Vec<&Sent> = sent.iter().filter(|s| is_it(s.message)).collect();
    assert_eq!(
        hits.len(),
        1,
        "{id}: expected one send carrying it, found {}",
        hits.len()
    );
    hits[0]
}

/// The decoded body of `msg` is the manifest message `want`'s: its length, SHA-256 and,
/// when the manifest holds them, its bytes. Returns the body.
pub fn check_body(msg: &Value, want: &Value, id: &str) -> Vec<u8> {
    let body = b64(msg["body"].as_str().unwrap());
    assert_eq!(
        body.len() as u64,
        want["body_len"].as_u64().unwrap(),
        "{id} body length"
    );
    assert_eq!(
        sha256_hex(&body),
        want["body_sha256"].as_str().unwrap(),
        "{id} body bytes"
    );
    if let Some(b) = want["body_b64"].as_str() {
        assert_eq!(body, b64(b), "{id} body");
    }
    body
}
