//! Memory limits: the total held in reassembly and frame buffers stays under
//! `max_buffered_total` (what is dropped is reported), and idle connections are flushed.

use rmqdump::analysis::{Event, Options, ProblemKind};
use rmqdump::capture::writer::{PcapWriter, TcpConversation};
use rmqdump::remoting::command::{RemotingCommand, encode_frame};

fn frame(opaque: i32, body: usize) -> Vec<u8> {
    encode_frame(&RemotingCommand {
        code: 310,
        opaque,
        body: vec![b'x'; body],
        ..Default::default()
    })
}

fn conv(i: u32) -> TcpConversation {
    TcpConversation::new(
        format!("10.0.{}.{}:40000", i / 250, i % 250 + 1)
            .parse()
            .unwrap(),
        "10.0.0.254:10911".parse().unwrap(),
    )
}

/// Runs the dissector; returns (frames, problems as (kind, packet, message)).
#[allow(clippy::type_complexity)]
fn run(capture: &[u8], opts: Options) -> (usize, Vec<(ProblemKind, u64, String)>) {
    let mut frames = 0;
    let mut problems = Vec::new();
    let (_, err) = rmqdump::dissect(capture, opts, |e| match e {
        Event::Frame(_) => frames += 1,
        Event::Problem(p) => problems.push((p.kind, p.packet, p.message)),
    });
    assert!(err.is_none());
    (frames, problems)
}

#[test]
fn total_buffered_bytes_are_bounded_and_drops_reported() {
    // 8 connections each leave half of a 1 MiB frame buffered, then 2000 packets of small
    // frames follow on another connection. With a 2 MiB total limit the biggest holders are
    // flushed (their partial frames reported as truncated) and the rest decodes.
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let big = frame(1, 1 << 20);
    for i in 0..8 {
        let mut c = conv(i);
        c.handshake(&mut w, 1_000_000_000).unwrap();
        c.send(&mut w, 1_000_000_000, true, &big[..big.len() / 2])
            .unwrap();
    }
    let mut c = conv(100);
    c.handshake(&mut w, 2_000_000_000).unwrap();
    for i in 0..2000 {
        c.send(&mut w, 2_000_000_000 + i, true, &frame(i as i32 + 10, 10))
            .unwrap();
    }
    let capture = w.into_inner();
    let opts = Options {
        max_buffered_total: 2 << 20,
        ..Default::default()
    };
    let (frames, problems) = run(&capture, opts);
    assert_eq!(frames, 2000);
    let limit: Vec<_> = problems
        .iter()
        .filter(|p| p.0 == ProblemKind::Limit)
        .collect();
    assert!(limit.len() >= 6, "{problems:?}");
    assert!(
        limit[0].2.contains("over the 2097152-byte total limit"),
        "{}",
        limit[0].2
    );
    // Every connection's partial frame is reported, flushed early or at the end.
    let truncated = problems
        .iter()
        .filter(|p| p.0 == ProblemKind::Truncated)
        .count();
    assert_eq!(truncated, 8, "{problems:?}");
}

#[test]
fn idle_connections_are_flushed_by_capture_time() {
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let f = frame(1, 100);
    let mut a = conv(1);
    a.handshake(&mut w, 1_000_000_000).unwrap();
    a.send(&mut w, 1_000_000_000, true, &f[..50]).unwrap(); // packet 4, half a frame
    // Twenty minutes later another connection is busy.
    let mut b = conv(2);
    let t = 1_200 * 1_000_000_000;
    b.handshake(&mut w, t).unwrap();
    for i in 0..1100 {
        b.send(&mut w, t + i, true, &frame(i as i32 + 2, 10))
            .unwrap();
    }
    let capture = w.into_inner();
    // How many frames were out when the idle connection's truncated frame was reported.
    let when = |opts: Options| {
        let mut frames = 0;
        let mut at = None;
        rmqdump::dissect(&capture[..], opts, |e| match e {
            Event::Frame(_) => frames += 1,
            Event::Problem(p) if p.kind == ProblemKind::Truncated => {
                assert_eq!(p.packet, 4);
                at = Some(frames);
            }
            _ => {}
        });
        assert_eq!(frames, 1100);
        at.expect("truncated frame reported")
    };
    // Reported while the capture is still being read (after the first 1024-packet sweep)...
    assert!(when(Options::default()) < 1100);
    // ...and only at the end when idle connections are kept forever.
    let opts = Options {
        idle_timeout_ns: i64::MAX,
        ..Default::default()
    };
    assert_eq!(when(opts), 1100);
}
