//! `rmqdump proxy` never buffers without bound (issue 5), and closing either side closes the
//! other. A server that stops reading stalls the client, a client that stops reading stalls
//! the server, and an output nobody reads (stdout) slows the traffic without losing any of it. The peers here are deliberately
//! stalled TCP endpoints: no real RocketMQ server or client can be told to stop reading.
//! The bounds asserted are far below what is pushed (512 MiB), so a proxy that queues what
//! it cannot deliver fails them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rmqdump::remoting::codes::LanguageCode;
use rmqdump::remoting::command::{RemotingCommand, encode_frame_into};

const MIB: u64 = 1 << 20;
/// What each test tries to push through the proxy.
const PUSH: u64 = 512 * MIB;
/// The most a stalled path may absorb: the proxy's one frame per direction and its 16 MiB
/// tap, plus the kernel's socket buffers on both sides of it (a few MiB each on loopback).
const BOUND: u64 = 64 * MIB;

/// A SEND_MESSAGE_V2 request (or, with `response`, a SUCCESS answer) with a body of `body` bytes.
fn frame(opaque: i32, body: usize, response: bool) -> Vec<u8> {
    let cmd = RemotingCommand {
        code: if response { 0 } else { 310 },
        flag: response as i32,
        language: LanguageCode::JAVA,
        version: 401,
        opaque,
        ext_fields: Some(vec![
            ("a".into(), "backpressure_group".into()),
            ("b".into(), "BackpressureTopic".into()),
            ("e".into(), "0".into()),
        ]),
        body: vec![b'x'; body],
        ..Default::default()
    };
    let mut out = Vec::new();
    encode_frame_into(&cmd, &mut out);
    out
}

/// Starts `rmqdump proxy` in front of `server` and waits until it forwards a connection (the
/// probe's upstream connection is accepted and closed here, so the test's peer gets the next).
fn proxy(server: &TcpListener, json_out: Stdio) -> (Child, SocketAddr) {
    let upstream = server.local_addr().unwrap();
    let listen = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args([
            "proxy",
            "--listen",
            &listen.to_string(),
            "--namesrv",
            &upstream.to_string(),
            "--json",
        ])
        .stdout(json_out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let probe = loop {
        if let Ok(c) = TcpStream::connect(listen) {
            break c;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "proxy did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(server.accept().unwrap());
    drop(probe);
    (child, listen)
}

/// Peak resident memory of a process (VmHWM), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = s
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Writes `frame`s until `PUSH` bytes are written or a write stalls for 2 s; returns the
/// bytes written in whole frames.
fn write_until_stalled(s: &mut TcpStream, f: &[u8]) -> u64 {
    s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut written = 0;
    while written < PUSH {
        if s.write_all(f).is_err() {
            break;
        }
        written += f.len() as u64;
    }
    written
}

#[test]
fn a_server_that_never_reads_stalls_the_client() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let (child, listen) = proxy(&server, Stdio::null());
    let (hold_tx, hold_rx) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let (_conn, _) = server.accept().unwrap();
        // Never reads; keeps the connection open until the test is done.
        let _ = hold_rx.recv();
    });
    let mut client = TcpStream::connect(listen).unwrap();
    let written = write_until_stalled(&mut client, &frame(1, (MIB - 200) as usize, false));
    let rss = peak_rss(child.id());
    drop(hold_tx);
    holder.join().unwrap();
    stop(child);
    eprintln!(
        "server never reads: client wrote {} MiB, proxy peak RSS {} MiB",
        written / MIB,
        rss / MIB
    );
    assert!(
        written < BOUND,
        "the client wrote {} MiB into a server that never reads",
        written / MIB
    );
    assert!(rss < BOUND, "proxy peak RSS {} MiB", rss / MIB);
}

#[test]
fn a_client_that_never_reads_stalls_the_server() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let (child, listen) = proxy(&server, Stdio::null());
    let firehose = std::thread::spawn(move || {
        let (mut conn, _) = server.accept().unwrap();
        write_until_stalled(&mut conn, &frame(1, (MIB - 200) as usize, true))
    });
    let client = TcpStream::connect(listen).unwrap();
    // The client never reads.
    let written = firehose.join().unwrap();
    let rss = peak_rss(child.id());
    drop(client);
    stop(child);
    eprintln!(
        "client never reads: server wrote {} MiB, proxy peak RSS {} MiB",
        written / MIB,
        rss / MIB
    );
    assert!(
        written < BOUND,
        "the server wrote {} MiB to a client that never reads",
        written / MIB
    );
    assert!(rss < BOUND, "proxy peak RSS {} MiB", rss / MIB);
}

#[test]
fn a_stalled_output_slows_the_traffic_and_loses_nothing() {
    let frames = (PUSH / (128 * 1024)) as i32;
    let f = frame(7, 128 * 1024 - 200, false);
    let total = f.len() as u64 * frames as u64;
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    // The proxy prints a JSON line per frame to a pipe nobody reads (yet).
    let (mut child, listen) = proxy(&server, Stdio::piped());
    let received = Arc::new(AtomicU64::new(0));
    let sink = {
        let received = received.clone();
        std::thread::spawn(move || {
            let (mut conn, _) = server.accept().unwrap();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => received.fetch_add(n as u64, Ordering::SeqCst),
                };
            }
        })
    };
    let sender = std::thread::spawn(move || {
        let mut c = TcpStream::connect(listen).unwrap();
        for _ in 0..frames {
            c.write_all(&f).unwrap();
        }
        c
    });
    // Wait until the traffic stops moving.
    let mut last = u64::MAX;
    loop {
        std::thread::sleep(Duration::from_millis(1000));
        let now = received.load(Ordering::SeqCst);
        if now == last || now == total {
            break;
        }
        last = now;
    }
    let stalled_at = received.load(Ordering::SeqCst);
    let rss = peak_rss(child.id());
    // Now read the output: the traffic resumes and every frame arrives and is printed.
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).unwrap();
        s
    });
    let client = sender.join().unwrap();
    let t = Instant::now();
    while received.load(Ordering::SeqCst) < total {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "traffic did not resume"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(client);
    sink.join().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let printed = reader.join().unwrap();
    let _ = child.wait();
    eprintln!(
        "output stalled: {} of {} MiB went through, proxy peak RSS {} MiB",
        stalled_at / MIB,
        total / MIB,
        rss / MIB
    );
    assert!(
        stalled_at < BOUND,
        "{} MiB of {} MiB went through while the output was stalled",
        stalled_at / MIB,
        total / MIB
    );
    assert!(rss < BOUND, "proxy peak RSS {} MiB", rss / MIB);
    let requests = printed
        .lines()
        .filter(|l| l.contains("\"kind\":\"request\""))
        .count();
    assert_eq!(requests, frames as usize, "every frame was printed");
}

#[test]
fn closing_either_side_closes_the_other() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let (child, listen) = proxy(&server, Stdio::null());
    // The server closes: the client reads end of stream.
    let mut client = TcpStream::connect(listen).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (conn, _) = server.accept().unwrap();
    drop(conn);
    let mut b = [0u8; 16];
    assert_eq!(
        client.read(&mut b).expect("closed, not timed out"),
        0,
        "the client sees the server's close"
    );
    // The client closes: the server reads end of stream (after what was sent before).
    let mut client = TcpStream::connect(listen).unwrap();
    let (mut conn, _) = server.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let f = frame(3, 10, false);
    client.write_all(&f).unwrap();
    drop(client);
    let mut got = Vec::new();
    conn.read_to_end(&mut got).expect("closed, not timed out");
    assert_eq!(got, f, "the server got the frame, then the client's close");
    stop(child);
}
