//! The flow table is bounded (issue 9 item 4): past `Limits::max_flows` connections the one
//! idle longest is flushed and forgotten, past `max_half_open_flows` handshake-only ones the
//! oldest is forgotten; the first evictions are reported with packet and stream, the rest
//! summed up in one problem, and the connections that stay decode completely.

use rmqdump::analysis::dissect::EVICTIONS_REPORTED;
use rmqdump::analysis::{Event, Options, ProblemKind};
use rmqdump::capture::hostile;
use rmqdump::capture::writer::{PcapWriter, TcpConversation};
use rmqdump::remoting::command::{RemotingCommand, encode_frame};

const GOOD: u32 = 20;
const HOSTILE: u64 = 5_000;
const TS: i64 = 1_700_000_000_000_000_000;

fn request(opaque: i32) -> Vec<u8> {
    encode_frame(&RemotingCommand {
        code: 310,
        opaque,
        body: b"good".to_vec(),
        ..Default::default()
    })
}

fn response(opaque: i32) -> Vec<u8> {
    encode_frame(&RemotingCommand {
        code: 0,
        flag: 1,
        opaque,
        ..Default::default()
    })
}

/// `GOOD` well-formed connections (handshake, requests answered, close) whose packets are
/// interleaved with `HOSTILE` packets of the hostile class, two hostile packets after each
/// good one, so a good connection is never among the 100 idle longest.
fn capture(hostile: fn(&mut PcapWriter<Vec<u8>>, u64, i64) -> std::io::Result<()>) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let mut convs: Vec<TcpConversation> = (0..GOOD)
        .map(|i| {
            TcpConversation::new(
                format!("192.168.1.{}:50000", i + 1).parse().unwrap(),
                "192.168.0.1:10911".parse().unwrap(),
            )
        })
        .collect();
    let mut ts = TS;
    for c in &mut convs {
        c.handshake(&mut w, ts).unwrap();
    }
    let mut h = 0u64;
    let mut round = 0i32;
    while h < HOSTILE {
        for c in convs.iter_mut() {
            ts += 1000;
            if round % 2 == 0 {
                c.send(&mut w, ts, true, &request(round / 2)).unwrap();
            } else {
                c.send(&mut w, ts, false, &response(round / 2)).unwrap();
            }
            for _ in 0..2 {
                if h < HOSTILE {
                    hostile(&mut w, h, ts).unwrap();
                    h += 1;
                }
            }
        }
        round += 1;
    }
    // Every good request answered.
    if round % 2 == 1 {
        for c in convs.iter_mut() {
            ts += 1000;
            c.send(&mut w, ts, false, &response(round / 2)).unwrap();
        }
        round += 1;
    }
    for c in &mut convs {
        c.close(&mut w, ts).unwrap();
    }
    assert!(round >= 2);
    w.into_inner()
}

struct Seen {
    good_requests: u64,
    good_paired: u64,
    hostile_frames: u64,
    undecodable: u64,
    located: Vec<(u64, Option<u64>, String)>,
    summary: Vec<String>,
    unanswered: u64,
    other: Vec<String>,
    totals: rmqdump::analysis::Totals,
}

fn run(capture: &[u8], max_flows: usize, max_half_open: usize) -> Seen {
    let mut opts = Options::default();
    opts.limits.max_flows = max_flows;
    opts.limits.max_half_open_flows = max_half_open;
    let mut s = Seen {
        good_requests: 0,
        good_paired: 0,
        hostile_frames: 0,
        undecodable: 0,
        located: Vec::new(),
        summary: Vec::new(),
        unanswered: 0,
        other: Vec::new(),
        totals: Default::default(),
    };
    let (totals, err) = rmqdump::dissect(capture, opts, |e| match e {
        Event::Frame(r) => {
            let good = r.src.ip().to_string().starts_with("192.168.");
            match &r.command {
                Err(_) => s.undecodable += 1,
                Ok(c) if good && c.flag & 1 == 0 => s.good_requests += 1,
                Ok(_) if good => s.good_paired += r.request.is_some() as u64,
                Ok(_) => s.hostile_frames += 1,
            }
        }
        Event::Problem(p) if p.kind == ProblemKind::Limit && p.stream.is_some() => {
            s.located.push((p.packet, p.stream, p.message))
        }
        Event::Problem(p) if p.kind == ProblemKind::Limit => s.summary.push(p.message),
        // Unanswered, or pending when still within the 3 s default timeout at the end.
        Event::Problem(p) if matches!(p.kind, ProblemKind::Unanswered | ProblemKind::Pending) => {
            s.unanswered += 1
        }
        Event::Problem(p) => s.other.push(format!("{} {}", p.packet, p.message)),
    });
    assert!(err.is_none());
    s.totals = totals;
    s
}

#[test]
fn one_packet_flows_are_evicted_idle_longest_first_and_nothing_else_is_lost() {
    let cap = capture(hostile::one_packet_flow);
    let s = run(&cap, 100, 100);
    // At the end 100 connections are live; every other one was evicted.
    let connections = GOOD as u64 + HOSTILE;
    assert_eq!(s.totals.streams, connections);
    assert_eq!(s.totals.evicted_flows, connections - 100);
    assert_eq!(s.totals.evicted_half_open, 0);
    assert_eq!(s.totals.dropped_by_limits, connections - 100);
    // The first few located, with the limit and the stream evicted (the oldest hostile
    // connections, in order), then one summary.
    assert_eq!(s.located.len() as u64, EVICTIONS_REPORTED);
    for (n, (_, stream, msg)) in s.located.iter().enumerate() {
        assert!(msg.contains("more than 100 connections tracked"), "{msg}");
        // Streams 0..GOOD are the good ones; the hostile ones follow in order.
        assert_eq!(*stream, Some(GOOD as u64 + n as u64), "{msg}");
    }
    assert_eq!(s.summary.len(), 1, "{:?}", s.summary);
    let want = format!(
        "{} connections evicted at the flow limits in all ({} over --max-flows 100, 0 handshake-only over 100); the first {EVICTIONS_REPORTED} reported one by one, {} more not",
        connections - 100,
        connections - 100,
        connections - 100 - EVICTIONS_REPORTED
    );
    assert_eq!(s.summary[0], want);
    // Nothing lost: every hostile frame decoded when its connection was flushed, every good
    // request decoded and answered (good connections were never evicted).
    assert_eq!(s.hostile_frames, HOSTILE);
    assert_eq!(s.undecodable, 0);
    assert!(s.good_requests > 0);
    assert_eq!(s.good_paired, s.good_requests);
    // The hostile requests are never answered: each reported once.
    assert_eq!(s.unanswered, HOSTILE);
    assert!(s.other.is_empty(), "{:?}", &s.other[..s.other.len().min(5)]);
}

#[test]
fn a_syn_flood_is_forgotten_oldest_first_and_nothing_else_is_lost() {
    let cap = capture(hostile::syn);
    let s = run(&cap, 1_000, 100);
    assert_eq!(s.totals.streams, GOOD as u64 + HOSTILE);
    assert_eq!(s.totals.evicted_half_open, HOSTILE - 100);
    assert_eq!(s.totals.evicted_flows, 0);
    assert_eq!(s.located.len() as u64, EVICTIONS_REPORTED);
    for (n, (_, stream, msg)) in s.located.iter().enumerate() {
        assert!(
            msg.contains("more than 100 handshake-only connections tracked"),
            "{msg}"
        );
        assert_eq!(*stream, Some(GOOD as u64 + n as u64), "{msg}");
    }
    assert_eq!(s.summary.len(), 1, "{:?}", s.summary);
    assert!(
        s.summary[0].starts_with(&format!(
            "{} connections evicted at the flow limits in all (0 over --max-flows 1000, {} handshake-only over 100)",
            HOSTILE - 100,
            HOSTILE - 100
        )),
        "{}",
        s.summary[0]
    );
    assert_eq!(s.hostile_frames, 0);
    assert_eq!(s.undecodable, 0);
    assert!(s.good_requests > 0);
    assert_eq!(s.good_paired, s.good_requests);
    assert_eq!(s.unanswered, 0);
    assert!(s.other.is_empty(), "{:?}", &s.other[..s.other.len().min(5)]);
}

#[test]
fn under_the_limits_nothing_is_evicted() {
    let cap = capture(hostile::one_packet_flow);
    let s = run(&cap, 10_000, 10_000);
    assert_eq!(s.totals.evicted_flows + s.totals.evicted_half_open, 0);
    assert!(s.located.is_empty() && s.summary.is_empty());
    assert_eq!(s.hostile_frames, HOSTILE);
    assert_eq!(s.good_paired, s.good_requests);
}

/// On the command line: `--max-flows` and `--max-half-open-flows` set the limits, `read`
/// prints the located evictions and the summary, `verify` counts them in its summary line
/// (and still re-encodes every frame byte-exact).
#[test]
fn the_command_line_sets_the_limits_and_reports_evictions() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("h.pcap");
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    hostile::one_packet_flows(&mut w, 500, TS).unwrap();
    for i in 500..800 {
        hostile::syn(&mut w, i, TS + 1_000_000_000 + i as i64).unwrap();
    }
    std::fs::write(&f, w.into_inner()).unwrap();
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_rmqdump"))
            .args(args)
            .arg(&f)
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let limits = ["--max-flows", "100", "--max-half-open-flows", "50"];
    let (_, err) = run(&[&["read"][..], &limits].concat());
    let evictions: Vec<&str> = err.lines().filter(|l| l.contains(": limit")).collect();
    // 500 one-packet connections past 100: 400 evicted; then the first 50 SYNs evict 50
    // more of them (100 in all), and each of the other 250 SYNs the oldest SYN (50
    // half-open at most).
    assert_eq!(
        evictions.len() as u64,
        EVICTIONS_REPORTED + 1,
        "{evictions:?}"
    );
    assert!(
        evictions[EVICTIONS_REPORTED as usize].ends_with(&format!(
            "700 connections evicted at the flow limits in all (450 over --max-flows 100, 250 handshake-only over 50); the first {EVICTIONS_REPORTED} reported one by one, {} more not",
            700 - EVICTIONS_REPORTED
        )),
        "{evictions:?}"
    );
    let (out, _) = run(&[&["verify"][..], &limits].concat());
    assert!(
        out.trim_end().ends_with(
            "500 frames, 500 re-encoded byte-exact, 0 mismatches, 0 undecodable; 500 of 500 JSON headers are exactly fastjson's canonical form; 800 packets, 800 TCP streams; not checked: 0 truncated frames, 0 bytes skipped, 0 gaps (0 bytes missing), 0 unreadable packets, 0 conflicting retransmissions, 0 damaged capture file stretches (0 bytes skipped); 700 connections evicted at the flow limits (450 over --max-flows, 250 handshake-only over --max-half-open-flows)"
        ),
        "{out}"
    );
    // Default limits: nothing evicted, nothing said.
    let (out, _) = run(&["verify"]);
    assert!(
        out.trim_end()
            .ends_with("0 damaged capture file stretches (0 bytes skipped)"),
        "{out}"
    );
}

/// Passes side by side (`stats --threads N`) share the flow limits: each tracks at most
/// `1/N` of `--max-flows`, so together they hold what one pass holds (on
/// /work/bench/flows-1M.pcap two passes of 65,536 flows each took 236 MiB, one 120 MiB).
#[test]
fn passes_side_by_side_share_the_flow_limits() {
    let n = 3_000u64;
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    hostile::one_packet_flows(&mut w, n, TS).unwrap();
    let cap = w.into_inner();
    let max_flows = 400;
    let pass = |shard: Option<rmqdump::analysis::Shard>| {
        let mut opts = Options::default();
        opts.limits.max_flows = max_flows;
        opts.shard = shard;
        let mut frames = 0u64;
        let mut summary = Vec::new();
        let (totals, err) = rmqdump::dissect(&cap[..], opts, |e| match e {
            Event::Frame(_) => frames += 1,
            Event::Problem(p) if p.kind == ProblemKind::Limit && p.stream.is_none() => {
                summary.push(p.message)
            }
            _ => {}
        });
        assert!(err.is_none());
        (totals, frames, summary)
    };
    let (one, frames, _) = pass(None);
    assert_eq!(frames, n);
    assert_eq!(one.evicted_flows, n - max_flows as u64);
    let count = 2;
    let mut evicted = 0;
    let mut frames = 0;
    for index in 0..count {
        let (t, f, summary) = pass(Some(rmqdump::analysis::Shard { index, count }));
        // Each pass has well over its 200 of the 3,000 connections.
        assert!(t.streams > 1_000, "{}", t.streams);
        assert_eq!(t.evicted_flows, t.streams - max_flows as u64 / 2);
        assert!(
            summary.iter().any(|m| m.contains("over --max-flows 200")
                && m.contains("this pass's share, 1/2 of each limit")),
            "{summary:?}"
        );
        evicted += t.evicted_flows;
        frames += f;
    }
    // Nothing lost: every frame comes out once, and as many connections are forgotten as
    // by one pass.
    assert_eq!(frames, n);
    assert_eq!(evicted, one.evicted_flows);
}
