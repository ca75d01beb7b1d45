//! `rmqdump stats` by passes side by side (`--threads`) gives exactly what one pass gives:
//! on a capture of many producers (route queries, sends to two brokers, busy answers,
//! a gap) the merged statistics equal one pass's, field for field, also where one
//! producer's connections land in several passes (its queue picks are interleaved back in
//! capture order) and on a single-IP loopback capture, whose connections every pass
//! shares; and the bundled captures agree too.

use std::net::SocketAddr;
use std::path::Path;

use rmqdump::analysis::{Options, Shard};
use rmqdump::capture::writer::{PcapWriter, TcpConversation};
use rmqdump::protocol::message::encode_properties;
use rmqdump::remoting::codes::LanguageCode;
use rmqdump::remoting::command::{RemotingCommand, encode_frame_into};

/// Packets that never reach the capture.
struct Discard;

impl rmqdump::capture::writer::PacketSink for Discard {
    fn packet(&mut self, _: i64, _: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
}

fn frame(cmd: &RemotingCommand) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame_into(cmd, &mut out);
    out
}

fn request(code: i32, opaque: i32, ext: Vec<(&str, String)>, body: Vec<u8>) -> Vec<u8> {
    frame(&RemotingCommand {
        code,
        language: LanguageCode::JAVA,
        version: 401,
        opaque,
        ext_fields: Some(ext.into_iter().map(|(k, v)| (k.into(), v.into())).collect()),
        body,
        ..Default::default()
    })
}

fn response(code: i32, opaque: i32, remark: Option<&str>, ext: Vec<(&str, String)>) -> Vec<u8> {
    frame(&RemotingCommand {
        code,
        flag: 1,
        version: 401,
        opaque,
        remark: remark.map(Into::into),
        ext_fields: Some(ext.into_iter().map(|(k, v)| (k.into(), v.into())).collect()),
        ..Default::default()
    })
}

const ROUTE: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"10.0.0.1:10911"},"brokerName":"broker-a","cluster":"c1"},{"brokerAddrs":{"0":"10.0.0.2:10911"},"brokerName":"broker-b","cluster":"c1"}],"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4},{"brokerName":"broker-b","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;

/// Where the clients and servers of [`write_capture`] are.
#[derive(Clone, Copy, PartialEq)]
enum Hosts {
    /// Each client its own IP, servers on others.
    Spread,
    /// Everything on 127.0.0.1 (a loopback recording): clients differ by port only, and
    /// clients of one producer group are one producer (`group@127.0.0.1`) whose sends
    /// come over many connections.
    Loopback,
}

/// `clients` producers, each from its own IP (source ports from `first_port`): a route
/// query to the NameServer, then sends round robin over the route's 8 queues on two broker
/// connections, every 7th answered SYSTEM_BUSY; client 3 loses one request on its way to the
/// capture (a gap). Packets of all clients interleave in time.
fn write_capture(path: &Path, clients: u32, sends: u32, first_port: u16, hosts: Hosts) {
    let mut pw = PcapWriter::new(std::fs::File::create(path).unwrap()).unwrap();
    let (namesrv, b0, b1) = match hosts {
        Hosts::Spread => ("10.0.0.100:9876", "10.0.0.1:10911", "10.0.0.2:10911"),
        Hosts::Loopback => ("127.0.0.1:9876", "127.0.0.1:10911", "127.0.0.1:20911"),
    };
    let namesrv: SocketAddr = namesrv.parse().unwrap();
    let brokers: [SocketAddr; 2] = [b0.parse().unwrap(), b1.parse().unwrap()];
    let route = ROUTE
        .replace("10.0.0.1:10911", b0)
        .replace("10.0.0.2:10911", b1);
    let mut ts: i64 = 1_795_519_000_000_000_000;
    let ip = |c: u32| match hosts {
        Hosts::Spread => format!("10.0.1.{}", c + 1),
        Hosts::Loopback => "127.0.0.1".to_string(),
    };
    let mut ns: Vec<TcpConversation> = (0..clients)
        .map(|c| {
            TcpConversation::new(
                format!("{}:{}", ip(c), first_port + c as u16)
                    .parse()
                    .unwrap(),
                namesrv,
            )
        })
        .collect();
    let mut bc: Vec<[TcpConversation; 2]> = (0..clients)
        .map(|c| {
            [0u16, 1].map(|b| {
                TcpConversation::new(
                    format!("{}:{}", ip(c), first_port + 100 + 2 * c as u16 + b)
                        .parse()
                        .unwrap(),
                    brokers[b as usize],
                )
            })
        })
        .collect();
    for (n, conns) in ns.iter_mut().zip(bc.iter_mut()) {
        ts += 1_000;
        n.handshake(&mut pw, ts).unwrap();
        let q = request(105, 1, vec![("topic", "ParTopic".into())], Vec::new());
        n.send(&mut pw, ts, true, &q).unwrap();
        ts += 300_000;
        let mut r = response(0, 1, None, Vec::new());
        // The route as the body of the answer.
        let hl = u32::from_be_bytes([0, r[5], r[6], r[7]]) as usize;
        r.truncate(8 + hl);
        r.extend_from_slice(route.as_bytes());
        let len = (r.len() - 4) as u32;
        r[..4].copy_from_slice(&len.to_be_bytes());
        n.send(&mut pw, ts, false, &r).unwrap();
        for b in conns {
            b.handshake(&mut pw, ts).unwrap();
        }
    }
    for i in 0..sends {
        for (c, conns) in bc.iter_mut().enumerate() {
            let pick = (i + c as u32) % 8;
            let (b, queue) = ((pick / 4) as usize, pick % 4);
            let opaque = 10 + i as i32;
            let props = encode_properties(&[
                ("KEYS".into(), format!("k{c}-{i}")),
                ("UNIQ_KEY".into(), format!("0A000{c:03X}{i:020X}")),
                ("TAGS".into(), format!("T{}", i % 3)),
            ]);
            let req = request(
                310,
                opaque,
                vec![
                    ("a", format!("group-{}", c % 3)),
                    ("b", "ParTopic".into()),
                    ("e", queue.to_string()),
                    ("i", props),
                ],
                vec![b'x'; 100 + (i as usize % 50)],
            );
            ts += 20_000;
            let gap = c == 3 && i == sends / 2;
            if gap {
                // Lost on the way to the capture: the conversation moves on without it.
                conns[b].send(&mut Discard, ts, true, &req).unwrap();
            } else {
                conns[b].send(&mut pw, ts, true, &req).unwrap();
            }
            ts += 50_000 + (i as i64 % 13) * 10_000;
            let resp = if i % 7 == 6 {
                response(
                    2,
                    opaque,
                    Some("[TIMEOUT_CLEAN_QUEUE]broker busy"),
                    Vec::new(),
                )
            } else {
                response(
                    0,
                    opaque,
                    None,
                    vec![
                        ("queueId", queue.to_string()),
                        ("msgId", format!("0A00000{b}00002A9F{:016X}", i)),
                        ("queueOffset", i.to_string()),
                    ],
                )
            };
            conns[b].send(&mut pw, ts, false, &resp).unwrap();
        }
    }
    for (n, conns) in ns.iter_mut().zip(bc.iter_mut()) {
        ts += 1_000;
        n.close(&mut pw, ts).unwrap();
        for b in conns {
            b.close(&mut pw, ts).unwrap();
        }
    }
    pw.flush().unwrap();
}

fn run(
    path: &Path,
    threads: usize,
    interval: Option<i64>,
) -> (serde_json::Value, rmqdump::StatsRun) {
    let mut r = rmqdump::stats(
        |_| std::fs::File::open(path),
        Options::default(),
        interval,
        threads,
    )
    .unwrap();
    r.stats.finish_roles();
    (r.stats.to_json(&r.totals), r)
}

#[test]
fn passes_side_by_side_equal_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.pcap");
    write_capture(&path, 12, 300, 40000, Hosts::Spread);
    // Some producer's connections are in two passes: its picks must be interleaved.
    let owner = |c: u16, b: u16| {
        let client: SocketAddr = format!("10.0.1.{}:{}", c + 1, 40100 + 2 * c + b)
            .parse()
            .unwrap();
        let broker: SocketAddr = ["10.0.0.1:10911", "10.0.0.2:10911"][b as usize]
            .parse()
            .unwrap();
        Shard::owner(2, client, broker)
    };
    assert!((0..12).any(|c| owner(c, 0) != owner(c, 1)));
    for interval in [None, Some(50_000_000)] {
        let (one, r1) = run(&path, 1, interval);
        assert_eq!(r1.merged_passes, 1);
        // The capture is what it should be: 12 clients × (route + 300 sends), 2 brokers.
        assert_eq!(one["overview"]["tcp_connections"], 36);
        assert_eq!(one["overview"]["gaps"], 1, "{}", one["problems"]);
        assert_eq!(one["topics"][0]["messages"], 12 * 300 - 1);
        for threads in [2, 3, 4] {
            let (many, r) = run(&path, threads, interval);
            assert!(r.unmergeable.is_none(), "{:?}", r.unmergeable);
            assert_eq!(r.merged_passes, threads);
            assert_eq!(many, one, "{threads} passes differ from one");
        }
    }
}

#[test]
fn source_ports_below_the_servers_merge_too() {
    // Source ports below the servers': which side is the client does not decide the pass
    // (the connection does), and the merge gives one pass's result.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lowports.pcap");
    write_capture(&path, 4, 50, 5000, Hosts::Spread);
    let (one, _) = run(&path, 1, None);
    for threads in [2, 3] {
        let (many, r) = run(&path, threads, None);
        assert!(r.unmergeable.is_none(), "{:?}", r.unmergeable);
        assert_eq!(r.merged_passes, threads);
        assert_eq!(many, one, "{threads} passes differ from one");
    }
}

#[test]
fn a_loopback_capture_uses_every_pass() {
    // 24 clients on 127.0.0.1, 72 connections; the clients of one group are one producer
    // whose sends come over 16 connections, so its picks come from every pass.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loopback.pcap");
    write_capture(&path, 24, 60, 40000, Hosts::Loopback);
    for interval in [None, Some(50_000_000)] {
        let (one, _) = run(&path, 1, interval);
        assert_eq!(one["overview"]["tcp_connections"], 72);
        assert_eq!(one["topics"][0]["messages"], 24 * 60 - 1);
        let sel = one["topics"][0]["queue_selection"].as_array().unwrap();
        assert_eq!(sel.len(), 3, "{sel:?}");
        for threads in [2, 3, 4] {
            // Every pass dissects some of the connections, not one pass all of them.
            for index in 0..threads {
                let shard = Some(Shard {
                    index,
                    count: threads,
                });
                let opts = Options {
                    shard,
                    ..Options::default()
                };
                let f = std::fs::File::open(&path).unwrap();
                let ((_, totals, _), _) = rmqdump::stats_pass(f, opts, interval);
                assert!(
                    totals.streams >= 72 / threads as u64 / 3,
                    "pass {index} of {threads}: {} connections",
                    totals.streams
                );
            }
            let (many, r) = run(&path, threads as usize, interval);
            assert!(r.unmergeable.is_none(), "{:?}", r.unmergeable);
            assert_eq!(r.merged_passes, threads as usize);
            assert_eq!(many, one, "{threads} passes differ from one");
        }
    }
}

#[test]
fn bundled_captures_agree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.to_string_lossy().contains(".pcap") {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 15, "{files:?}");
    for f in files {
        let (one, _) = run(&f, 1, Some(1_000_000_000));
        for threads in [2, 3] {
            let (many, r) = run(&f, threads, Some(1_000_000_000));
            assert!(
                r.unmergeable.is_none(),
                "{}: {:?}",
                f.display(),
                r.unmergeable
            );
            assert_eq!(many, one, "{}: {threads} passes", f.display());
        }
    }
}

#[test]
fn picks_are_merged_in_the_order_one_pass_sees_them() {
    // One producer (PG@127.0.0.1) sends over two connections that land in different passes.
    // Each send on connection A is split over two packets with a whole send of connection B
    // between them: one pass sees B's send first (A's completes later), though A's starts
    // first. The merged picks must follow that order, not the packets the sends start at.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("split.pcap");
    let broker: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    let a: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let b: SocketAddr = (40001..41000)
        .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
        .find(|b| Shard::owner(2, *b, broker) != Shard::owner(2, a, broker))
        .unwrap();
    let mut pw = PcapWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    let mut ts: i64 = 1_795_519_000_000_000_000;
    let mut ca = TcpConversation::new(a, broker);
    let mut cb = TcpConversation::new(b, broker);
    ca.handshake(&mut pw, ts).unwrap();
    cb.handshake(&mut pw, ts).unwrap();
    let send = |opaque: i32, queue: u32| {
        request(
            310,
            opaque,
            vec![
                ("a", "PG".into()),
                ("b", "SplitTopic".into()),
                ("e", queue.to_string()),
            ],
            vec![b'x'; 64],
        )
    };
    let mut expected = Vec::new();
    for i in 0..40u32 {
        let (qa, qb) = (i % 4, (i + 2) % 4);
        let fa = send(2 * i as i32, qa);
        let fb = send(2 * i as i32 + 1, qb);
        ts += 1_000;
        ca.send(&mut pw, ts, true, &fa[..30]).unwrap();
        ts += 1_000;
        cb.send(&mut pw, ts, true, &fb).unwrap();
        ts += 1_000;
        ca.send(&mut pw, ts, true, &fa[30..]).unwrap();
        expected.push(format!("127.0.0.1:10911:{qb}"));
        expected.push(format!("127.0.0.1:10911:{qa}"));
    }
    ca.close(&mut pw, ts).unwrap();
    cb.close(&mut pw, ts).unwrap();
    pw.flush().unwrap();
    drop(pw);
    let (one, _) = run(&path, 1, None);
    let sel = &one["topics"][0]["queue_selection"][0];
    assert_eq!(sel["picks"], 80);
    assert_eq!(sel["sequence"], serde_json::json!(expected[..64]));
    for threads in [2, 3, 4] {
        let (many, r) = run(&path, threads, None);
        assert!(r.unmergeable.is_none(), "{:?}", r.unmergeable);
        assert_eq!(r.merged_passes, threads);
        assert_eq!(many, one, "{threads} passes differ from one");
    }
}

#[test]
fn idle_connections_expire_at_the_same_packets_in_every_pass() {
    // Connection X sends, falls silent past the idle timeout (1 s here) while connection Y,
    // in the other pass, sends 3,000 packets, then X sends again. One pass sweeps idle
    // connections every 1,024 packets, forgets X and starts a new stream for its late send;
    // the pass holding X must sweep at the same packets, or it numbers streams otherwise.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idle.pcap");
    let broker: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    let x: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let y: SocketAddr = (40001..41000)
        .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
        .find(|y| Shard::owner(2, *y, broker) != Shard::owner(2, x, broker))
        .unwrap();
    let mut pw = PcapWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    let mut ts: i64 = 1_795_519_000_000_000_000;
    let mut cx = TcpConversation::new(x, broker);
    let mut cy = TcpConversation::new(y, broker);
    cx.handshake(&mut pw, ts).unwrap();
    cy.handshake(&mut pw, ts).unwrap();
    let hb = |opaque: i32| request(34, opaque, Vec::new(), vec![b'h'; 20]);
    cx.send(&mut pw, ts, true, &hb(1)).unwrap();
    for i in 0..3000 {
        ts += 1_000_000;
        cy.send(&mut pw, ts, true, &hb(10 + i)).unwrap();
    }
    cx.send(&mut pw, ts, true, &hb(2)).unwrap();
    pw.flush().unwrap();
    drop(pw);
    let opts = Options {
        idle_timeout_ns: 1_000_000_000,
        ..Options::default()
    };
    let run = |threads| {
        let mut r = rmqdump::stats(|_| std::fs::File::open(&path), opts, None, threads).unwrap();
        r.stats.finish_roles();
        r.stats.to_json(&r.totals)
    };
    let one = run(1);
    // X's late send started a stream of its own.
    assert_eq!(one["overview"]["tcp_connections"], 3, "{}", one["overview"]);
    for threads in [2, 3] {
        assert_eq!(run(threads), one, "{threads} passes differ from one");
    }
}

/// `n` producers, each from its own client address (10.9.a.b), arriving highest address
/// first then scrambled, producer k sending k % 3 + 1 messages with a queueId to one topic
/// over one connection each: past the 1,000 kept, the lowest addresses keep their detail.
fn write_many_producers(path: &Path, n: u32) -> Vec<(u32, u32)> {
    let mut pw = PcapWriter::new(std::fs::File::create(path).unwrap()).unwrap();
    let broker: SocketAddr = "10.0.0.1:10911".parse().unwrap();
    let mut ts: i64 = 1_795_519_000_000_000_000;
    let order: Vec<u32> = (0..n).map(|i| (n - 1 - i) * 7 % n).collect();
    let mut sent = Vec::new();
    for &k in &order {
        let mut c = TcpConversation::new(
            format!("10.9.{}.{}:40000", k / 250, k % 250 + 1)
                .parse()
                .unwrap(),
            broker,
        );
        ts += 1_000;
        c.handshake(&mut pw, ts).unwrap();
        for i in 0..k % 3 + 1 {
            ts += 1_000;
            let q = request(
                310,
                i as i32,
                vec![
                    ("a", "PG".into()),
                    ("b", "ManyTopic".into()),
                    ("e", (i % 4).to_string()),
                ],
                vec![b'x'; 10],
            );
            c.send(&mut pw, ts, true, &q).unwrap();
        }
        c.close(&mut pw, ts).unwrap();
        sent.push((k, k % 3 + 1));
    }
    pw.flush().unwrap();
    sent
}

#[test]
fn producers_past_the_cap_are_folded_alike_in_every_pass() {
    // 1,100 producers: the audits and the per-topic producer lists keep the 1,000 lowest
    // client addresses whatever order they came in; the 100 highest's sends are counted
    // (`*_folded_sends`), the totals stay exact, and passes side by side merge to exactly
    // one pass's document (no fallback).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("producers.pcap");
    let sent = write_many_producers(&path, 1100);
    let folded: u64 = sent
        .iter()
        .filter(|(k, _)| *k >= 1000)
        .map(|(_, s)| *s as u64)
        .sum();
    let all: u64 = sent.iter().map(|(_, s)| *s as u64).sum();
    let (one, r1) = run(&path, 1, None);
    assert_eq!(r1.merged_passes, 1);
    let t = &one["topics"][0];
    assert_eq!(t["messages"], all);
    assert_eq!(t["queue_selection_folded_sends"], folded, "{t}");
    assert_eq!(t["producers_folded_sends"], folded);
    // 1,000 audits kept: the top 20 listed, 980 more; the names listed are the lowest.
    assert_eq!(t["queue_selection"].as_array().unwrap().len(), 20);
    assert_eq!(t["queue_selection_more"], 980);
    assert_eq!(t["producers"][0], "PG@10.9.0.1");
    assert_eq!(t["producers_more"], 980);
    let listed: u64 = t["queue_selection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["picks"].as_u64().unwrap())
        .sum();
    assert_eq!(listed, 20 * 3);
    for threads in [2, 3] {
        let (many, r) = run(&path, threads, None);
        assert!(r.unmergeable.is_none(), "{:?}", r.unmergeable);
        assert_eq!(r.merged_passes, threads);
        assert_eq!(many, one, "{threads} passes differ from one");
    }
    // The tables say it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(["stats", path.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("980 more, and more not audited"), "{text}");
    assert!(text.contains(&format!("{folded} (not audited)")), "{text}");
    assert!(
        text.contains(&format!("+{folded} sends from more addresses")),
        "{text}"
    );
    // So does the report.
    let html = dir.path().join("report.html");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args([
            "report",
            path.to_str().unwrap(),
            "-o",
            html.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains(&format!(
            "980 more producers audited, not listed; {folded} sends of producers not audited"
        )),
        "no note in the report"
    );
}

#[test]
fn passes_that_evict_stop_and_one_pass_gives_the_result() {
    // Past max_flows a pass evicts flows: passes side by side cannot be merged, they stop
    // and one pass runs; the result is that pass's.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flows.pcap");
    write_capture(&path, 12, 50, 40000, Hosts::Spread);
    let mut opts = Options::default();
    opts.limits.max_flows = 8;
    let run = |threads| {
        let mut r = rmqdump::stats(|_| std::fs::File::open(&path), opts, None, threads).unwrap();
        r.stats.finish_roles();
        (r.stats.to_json(&r.totals), r.unmergeable, r.merged_passes)
    };
    let (one, why, n) = run(1);
    assert_eq!((why, n), (None, 1));
    assert!(one["overview"]["dropped_by_limits"].as_u64().unwrap() > 0);
    for threads in [2, 3] {
        let (many, why, n) = run(threads);
        assert_eq!(n, 1);
        assert_eq!(
            why,
            Some(rmqdump::analysis::stats::Unmergeable(
                "a shard dropped data at its limits"
            ))
        );
        assert_eq!(many, one, "{threads} passes");
    }
}
