//! `rmqdump live` with `read`'s selection: `--topic`, `--broker`, `-Y`, `-c` and `-w` on
//! the loopback interface. A small peer in the test writes RemotingCommand frames over a
//! local TCP connection (no RocketMQ server); what `live` prints and the pcap it writes are
//! checked against what the peer sent, and the pcap against `rmqdump read` and tshark.
//!
//! Live capture needs CAP_NET_RAW: as another user the tests are skipped, saying so (CI
//! runs as root and must run them).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rmqdump::remoting::codes::LanguageCode;
use rmqdump::remoting::command::{RemotingCommand, encode_frame_into};
use serde_json::Value;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn root_or_skip() -> bool {
    let root = is_root();
    if !root {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root and must capture live"
        );
        eprintln!("SKIPPED: live capture needs CAP_NET_RAW (not root)");
    }
    root
}

/// A request (`topic` in its extFields) or a response, with this opaque.
fn frame(code: i32, opaque: i32, topic: Option<&str>) -> Vec<u8> {
    let cmd = RemotingCommand {
        code,
        flag: topic.is_none() as i32,
        language: LanguageCode::JAVA,
        version: 401,
        opaque,
        ext_fields: topic.map(|t| vec![("topic".into(), t.into())]),
        ..Default::default()
    };
    let mut out = Vec::new();
    encode_frame_into(&cmd, &mut out);
    out
}

fn read_frame(s: &mut TcpStream) {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut rest = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut rest).unwrap();
}

/// A server answering every request with SUCCESS (0) on the same opaque, and a client
/// sending GET_ROUTEINFO_BY_TOPIC (105) for each topic in turn (opaque 1, 2, …), waiting
/// for each answer.
fn exchange(listener: TcpListener, topics: &[&str]) {
    let n = topics.len();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        for i in 0..n {
            read_frame(&mut s);
            s.write_all(&frame(0, i as i32 + 1, None)).unwrap();
        }
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    for (i, t) in topics.iter().enumerate() {
        c.write_all(&frame(105, i as i32 + 1, Some(t))).unwrap();
        read_frame(&mut c);
        // One frame per packet: each write its own segment.
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(c);
    server.join().unwrap();
}

fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// `rmqdump live -i lo --port PORT ARGS`, once it says it is capturing.
fn start_live(port: u16, args: &[&str], err: &Path) -> Child {
    let l = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(["live", "-i", "lo", "--port", &port.to_string(), "--json"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(err).unwrap())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !std::fs::read_to_string(err).is_ok_and(|e| e.contains("capturing on")) {
        assert!(t.elapsed().as_secs() < 10, "live did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    l
}

fn json_lines(s: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(s)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `rmqdump read --json PCAP`: (kind, opaque, topic) of each frame.
fn read_pcap(pcap: &Path) -> Vec<(String, i64, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(["read", "--json"])
        .arg(pcap)
        .output()
        .unwrap();
    json_lines(&out.stdout)
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or("").to_string(),
                f["opaque"].as_i64().unwrap(),
                f["header"]["topic"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn stop(child: Child) -> std::process::Output {
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn display_filter_and_count_select_what_is_printed_and_written() {
    if !root_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("sel.pcap");
    let err = dir.path().join("live.err");
    let l = listener();
    let port = l.local_addr().unwrap().port();
    let live = start_live(
        port,
        &[
            "-Y",
            "header.topic == \"LiveB\"",
            "-c",
            "2",
            "-w",
            pcap.to_str().unwrap(),
        ],
        &err,
    );
    exchange(l, &["LiveA", "LiveB", "LiveA", "LiveB", "LiveB"]);
    // -c 2: live stops by itself after the second selected frame.
    let t = Instant::now();
    let mut live = live;
    while live.try_wait().unwrap().is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "live did not stop at -c 2"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = live.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let printed: Vec<(i64, String)> = json_lines(&out.stdout)
        .iter()
        .map(|f| {
            (
                f["opaque"].as_i64().unwrap(),
                f["header"]["topic"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(printed, [(2, "LiveB".into()), (4, "LiveB".into())]);
    // The pcap holds the packets of those two requests, as `read -w` would write them.
    assert_eq!(
        read_pcap(&pcap),
        [
            ("request".into(), 2, "LiveB".into()),
            ("request".into(), 4, "LiveB".into())
        ]
    );
    let tshark = Command::new("tshark")
        .args(["-r"])
        .arg(&pcap)
        .args(["-T", "fields", "-e", "tcp.len"])
        .output();
    // tshark is installed by scripts/deps.sh; without it this part is left out.
    if let Ok(t) = tshark {
        assert!(t.status.success(), "tshark: {t:?}");
        let lens: Vec<String> = String::from_utf8_lossy(&t.stdout)
            .lines()
            .map(String::from)
            .collect();
        let one = frame(105, 2, Some("LiveB")).len().to_string();
        assert_eq!(lens, [one.clone(), one], "tshark reads the pcap");
    }
}

#[test]
fn topic_selects_the_responses_and_w_is_flushed_as_frames_come() {
    if !root_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("topic.pcap");
    let err = dir.path().join("live.err");
    let l = listener();
    let port = l.local_addr().unwrap().port();
    let live = start_live(
        port,
        &["--topic", "LiveB", "-w", pcap.to_str().unwrap()],
        &err,
    );
    exchange(l, &["LiveA", "LiveB"]);
    // While live still runs, the pcap already holds the request and its response.
    let want = vec![
        ("request".to_string(), 2, "LiveB".to_string()),
        ("response".to_string(), 2, String::new()),
    ];
    let t = Instant::now();
    while read_pcap(&pcap) != want {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the pcap was not flushed: {:?}",
            read_pcap(&pcap)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = stop(live);
    assert!(out.status.success(), "{out:?}");
    let printed: Vec<(String, i64)> = json_lines(&out.stdout)
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["opaque"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(printed, [("request".into(), 2), ("response".into(), 2)]);
    assert_eq!(read_pcap(&pcap), want);
}

#[test]
fn broker_selects_connections_by_address() {
    if !root_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let err = dir.path().join("live.err");
    let l = listener();
    let port = l.local_addr().unwrap().port();
    // Another port than the server's: nothing is selected, and the problems of the
    // connection are not printed either.
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let wrong = format!("127.0.0.1:{}", other.local_addr().unwrap().port());
    let live = start_live(port, &["--broker", &wrong], &err);
    exchange(l, &["LiveA"]);
    std::thread::sleep(Duration::from_millis(300));
    let out = stop(live);
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let l = listener();
    let port = l.local_addr().unwrap().port();
    let right = format!("127.0.0.1:{port}");
    let live = start_live(port, &["--broker", &right], &err);
    exchange(l, &["LiveA"]);
    std::thread::sleep(Duration::from_millis(300));
    let out = stop(live);
    assert_eq!(json_lines(&out.stdout).len(), 2, "request and response");
}

#[test]
fn live_refuses_filters_with_stats_and_a_bad_display_filter() {
    let out = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(["live", "-i", "lo", "--stats", "-Y", "code == 10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--stats"));
    let out = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(["live", "-i", "lo", "-Y", "code =="])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("rmqdump: "));
}

/// With nothing selecting (and with `--stats`), `-w` records every captured packet, the
/// connection's handshake and close included, as tcpdump -w would: tshark finds the SYN
/// and SYN-ACK once each (loopback's outgoing copies skipped, as libpcap skips them), a
/// FIN, and `rmqdump read` the request and its response.
#[test]
fn without_a_selection_w_records_every_packet() {
    if !root_or_skip() {
        return;
    }
    for extra in [&[][..], &["--stats"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let pcap = dir.path().join("all.pcap");
        let err = dir.path().join("live.err");
        let l = listener();
        let port = l.local_addr().unwrap().port();
        let mut args = vec!["-w", pcap.to_str().unwrap()];
        args.extend_from_slice(extra);
        let live = start_live(port, &args, &err);
        exchange(l, &["LiveAll"]);
        std::thread::sleep(Duration::from_millis(300));
        let out = stop(live);
        assert!(out.status.success(), "{extra:?}: {out:?}");
        assert_eq!(
            read_pcap(&pcap),
            [
                ("request".into(), 1, "LiveAll".into()),
                ("response".into(), 1, String::new())
            ],
            "{extra:?}"
        );
        let t = Command::new("tshark")
            .args(["-r"])
            .arg(&pcap)
            .args(["-T", "fields", "-e", "tcp.flags.syn", "-e", "tcp.flags.fin"])
            .output()
            .expect("tshark (scripts/deps.sh installs it)");
        assert!(t.status.success(), "tshark: {t:?}");
        let rows = String::from_utf8_lossy(&t.stdout).to_string();
        let syn = rows.lines().filter(|l| l.starts_with("1\t")).count();
        let fin = rows.lines().filter(|l| l.ends_with("\t1")).count();
        assert_eq!(syn, 2, "{extra:?}: SYN and SYN-ACK, once each\n{rows}");
        assert!(fin >= 1, "{extra:?}: a FIN\n{rows}");
    }
}
