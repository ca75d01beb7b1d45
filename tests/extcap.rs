//! The Wireshark extcap entry (scripts/extcap/rmqdump-extcap → `rmqdump extcap`) as
//! Wireshark uses it: installed in a personal configuration folder (WIRESHARK_CONFIG_DIR),
//! `tshark -D` lists its interfaces; the extcap arguments answer as the extcap guide says;
//! and `tshark -i rmqdump-proxy` starts the proxy through it (options given as Wireshark's
//! extcap preferences), a client's request to a stand-in NameServer passes through it, and
//! the pcap tshark read from the fifo holds the request and its response.
//!
//! tshark is installed by `scripts/deps.sh`; without it the test fails under CI and is
//! skipped, saying so, elsewhere.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rmqdump::remoting::codes::LanguageCode;
use rmqdump::remoting::command::{RemotingCommand, encode_frame_into};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tshark_or_skip() -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "tshark is missing: scripts/deps.sh installs it"
        );
        eprintln!("SKIPPED: tshark is not installed (bash scripts/deps.sh installs it)");
    }
    ok
}

/// A Wireshark personal configuration folder with the extcap entry installed as the docs
/// say.
fn install(dir: &Path) -> PathBuf {
    let extcap = dir.join("extcap");
    std::fs::create_dir_all(&extcap).unwrap();
    let to = extcap.join("rmqdump-extcap");
    std::fs::copy(root().join("scripts/extcap/rmqdump-extcap"), &to).unwrap();
    to
}

fn with_env<'a>(c: &'a mut Command, conf: &Path) -> &'a mut Command {
    c.env("WIRESHARK_CONFIG_DIR", conf)
        .env("RMQDUMP", env!("CARGO_BIN_EXE_rmqdump"))
}

fn stdout(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(out.status.success(), "{c:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn frame(code: i32, opaque: i32, response: bool) -> Vec<u8> {
    let cmd = RemotingCommand {
        code,
        flag: response as i32,
        language: LanguageCode::JAVA,
        version: 401,
        opaque,
        ext_fields: (!response).then(|| vec![("topic".into(), "ExtcapTopic".into())]),
        ..Default::default()
    };
    let mut out = Vec::new();
    encode_frame_into(&cmd, &mut out);
    out
}

fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut rest = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut rest).unwrap();
    rest
}

#[test]
fn wireshark_lists_and_starts_the_extcap_interfaces() {
    if !tshark_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path();
    let entry = install(conf);

    // The calls Wireshark makes, answered as the extcap guide says.
    let list = stdout(
        with_env(&mut Command::new(&entry), conf)
            .args(["--extcap-interfaces", "--extcap-version=4.0"]),
    );
    assert!(list.starts_with("extcap {version="), "{list}");
    {
        let i = "rmqdump-proxy";
        assert!(list.contains(&format!("interface {{value={i}}}")), "{list}");
        let dlts = stdout(with_env(&mut Command::new(&entry), conf).args([
            "--extcap-interface",
            i,
            "--extcap-dlts",
        ]));
        assert!(dlts.starts_with("dlt {number="), "{dlts}");
        let config = stdout(with_env(&mut Command::new(&entry), conf).args([
            "--extcap-interface",
            i,
            "--extcap-config",
        ]));
        assert!(config.lines().all(|l| l.starts_with("arg {number=")));
    }
    let unknown = with_env(&mut Command::new(&entry), conf)
        .args(["--extcap-interface", "nope", "--extcap-dlts"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2), "an unknown interface");

    // tshark finds them.
    let d = stdout(with_env(Command::new("tshark").arg("-D"), conf));
    assert!(d.contains("rmqdump-proxy (RocketMQ proxy"), "{d}");

    // A capture through tshark: the proxy in front of a stand-in NameServer.
    let namesrv = TcpListener::bind("127.0.0.1:0").unwrap();
    let namesrv_addr = namesrv.local_addr().unwrap();
    let listen = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = namesrv.accept().unwrap();
        let req = read_frame(&mut s);
        assert!(!req.is_empty());
        // TOPIC_NOT_EXIST (17) to GET_ROUTEINFO_BY_TOPIC opaque 7.
        s.write_all(&frame(17, 7, true)).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let pcap = dir.path().join("out.pcap");
    let tshark = with_env(&mut Command::new("tshark"), conf)
        .args(["-i", "rmqdump-proxy", "-o"])
        .arg(format!("extcap.rmqdump_proxy.listen:{listen}"))
        .arg("-o")
        .arg(format!("extcap.rmqdump_proxy.namesrv:{namesrv_addr}"))
        .args(["-a", "duration:8", "-w"])
        .arg(&pcap)
        .env("RMQDUMP_EXTCAP_LOG", dir.path().join("extcap.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let mut client = loop {
        if let Ok(c) = TcpStream::connect(listen) {
            break c;
        }
        assert!(
            t.elapsed() < Duration::from_secs(8),
            "the proxy did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    client.write_all(&frame(105, 7, false)).unwrap();
    let resp = read_frame(&mut client);
    assert!(!resp.is_empty());
    drop(client);
    server.join().unwrap();
    let out = tshark.wait_with_output().unwrap();
    assert!(out.status.success(), "tshark: {out:?}");
    let read = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .arg("read")
        .arg(&pcap)
        .output()
        .unwrap();
    let lines = String::from_utf8(read.stdout).unwrap();
    assert!(
        lines.contains("GET_ROUTEINFO_BY_TOPIC request opaque=7 topic=ExtcapTopic"),
        "{lines}"
    );
    assert!(
        lines.contains("TOPIC_NOT_EXIST response opaque=7 req=GET_ROUTEINFO_BY_TOPIC"),
        "{lines}"
    );
}

/// `tshark -i rmqdump-live` with a capture filter: Wireshark's capture filter is live's
/// display filter (`-Y`), checked through the extcap first; the pcap tshark wrote holds the
/// packets of the selected frames only. Needs CAP_NET_RAW (skipped otherwise, not in CI).
#[test]
fn wireshark_captures_live_with_a_capture_filter() {
    if !tshark_or_skip() {
        return;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("SKIPPED: live capture needs CAP_NET_RAW (not root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path();
    let entry = install(conf);
    // Listed, with its options; a capture filter checked as Wireshark's dialog does.
    let list = stdout(with_env(&mut Command::new(&entry), conf).arg("--extcap-interfaces"));
    assert!(list.contains("interface {value=rmqdump-live}"), "{list}");
    let d = stdout(with_env(Command::new("tshark").arg("-D"), conf));
    assert!(d.contains("rmqdump-live (RocketMQ live capture"), "{d}");
    let check = |f: &str| {
        stdout(with_env(&mut Command::new(&entry), conf).args([
            "--extcap-capture-filter",
            f,
            "--extcap-interface",
            "rmqdump-live",
        ]))
    };
    assert_eq!(check("header.topic == \"LiveX\""), "");
    let bad = check("header.topic ==");
    assert!(
        bad.starts_with("column 16: ") && bad.lines().count() == 1,
        "{bad}"
    );

    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let pcap = dir.path().join("live.pcap");
    let log = dir.path().join("extcap.log");
    let tshark = with_env(&mut Command::new("tshark"), conf)
        .args([
            "-i",
            "rmqdump-live",
            "-o",
            "extcap.rmqdump_live.liveinterface:lo",
        ])
        .arg("-o")
        .arg(format!("extcap.rmqdump_live.ports:{port}"))
        .args(["-f", "header.topic == \"LiveX\"", "-a", "duration:6", "-w"])
        .arg(&pcap)
        .env("RMQDUMP_EXTCAP_LOG", &log)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !std::fs::read_to_string(&log).is_ok_and(|l| l.contains("capturing on")) {
        assert!(t.elapsed() < Duration::from_secs(6), "live did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let request = |opaque: i32, topic: &str| {
        let cmd = RemotingCommand {
            code: 105,
            language: LanguageCode::JAVA,
            version: 401,
            opaque,
            ext_fields: Some(vec![("topic".into(), topic.into())]),
            ..Default::default()
        };
        let mut out = Vec::new();
        encode_frame_into(&cmd, &mut out);
        out
    };
    let peer = std::thread::spawn(move || {
        let (mut s, _) = server.accept().unwrap();
        for opaque in 1..=3 {
            read_frame(&mut s);
            s.write_all(&frame(17, opaque, true)).unwrap();
        }
    });
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_nodelay(true).unwrap();
    for (opaque, topic) in [(1, "LiveX"), (2, "LiveY"), (3, "LiveX")] {
        c.write_all(&request(opaque, topic)).unwrap();
        read_frame(&mut c);
        std::thread::sleep(Duration::from_millis(30));
    }
    drop(c);
    peer.join().unwrap();
    let out = tshark.wait_with_output().unwrap();
    assert!(out.status.success(), "tshark: {out:?}");
    let read = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(["read", "--json"])
        .arg(&pcap)
        .output()
        .unwrap();
    let frames: Vec<(String, i64)> = String::from_utf8_lossy(&read.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|f| {
            (
                f["header"]["topic"].as_str().unwrap_or("").to_string(),
                f["opaque"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(frames, [("LiveX".into(), 1), ("LiveX".into(), 3)]);
}
