//! The start of a connection direction (the SYN seen, so offset 0 is a frame boundary): a
//! bad first frame is one bad frame, reported and skipped, not a reason to drop the whole
//! direction; a direction is "not remoting" only on evidence (a prologue of another
//! protocol, or nothing decoding in either direction of a connection on other ports); and
//! a direction given up on a RocketMQ connection is counted by `verify` as not checked.

use rmqdump::analysis::verify::{Summary, verify};
use rmqdump::analysis::{Event, FrameRecord, Options, Problem, ProblemKind};
use rmqdump::capture::writer::{PcapWriter, TcpConversation};
use rmqdump::remoting::command::{RemotingCommand, encode_frame};

fn run(capture: &[u8]) -> (Vec<FrameRecord>, Vec<Problem>) {
    let mut frames = Vec::new();
    let mut problems = Vec::new();
    let (_, err) = rmqdump::dissect(capture, Options::default(), |e| match e {
        Event::Frame(r) => frames.push(*r),
        Event::Problem(p) => problems.push(p),
    });
    assert!(err.is_none(), "{err:?}");
    (frames, problems)
}

fn check(capture: &[u8]) -> (Summary, Vec<String>) {
    let mut lines = Vec::new();
    let (s, err) = verify(capture, Options::default(), |l| lines.push(l.to_string()));
    assert!(err.is_none(), "{err:?}");
    (s, lines)
}

/// HEART_BEAT request (code 34) or its SUCCESS response.
fn frame(opaque: i32, response: bool) -> Vec<u8> {
    encode_frame(&RemotingCommand {
        code: if response { 0 } else { 34 },
        flag: response as i32,
        opaque,
        body: b"{}".to_vec(),
        ..Default::default()
    })
}

fn conversation(server_port: u16) -> (PcapWriter<Vec<u8>>, TcpConversation) {
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let mut c = TcpConversation::new(
        "10.0.0.5:40100".parse().unwrap(),
        format!("10.0.0.9:{server_port}").parse().unwrap(),
    );
    c.handshake(&mut w, 1).unwrap(); // packets 1-3
    (w, c)
}

fn decoded(frames: &[FrameRecord]) -> Vec<(u64, i32)> {
    frames
        .iter()
        .filter_map(|r| r.command.as_ref().ok().map(|c| (r.packet, c.opaque)))
        .collect()
}

/// Three frames with plausible length words but bad contents (serialize type 5, header
/// length past the frame, a header that is not JSON), then a good HEART_BEAT, all in the
/// connection's first segment: each bad frame is one undecodable frame skipped by its
/// length, and the request and its response pair up.
#[test]
fn bad_first_frames_with_plausible_lengths_are_skipped_by_their_length() {
    let (mut w, mut c) = conversation(10911);
    let good = frame(4, false);
    let mut bad = Vec::new();
    let mut a = frame(1, false);
    a[4] = 5;
    let mut b = frame(2, false);
    b[5..8].copy_from_slice(&[0xFF, 0xFF, 0xFF]);
    let mut j = frame(3, false);
    j[8..12].copy_from_slice(b"!!!!");
    for f in [&a, &b, &j] {
        bad.extend_from_slice(f);
    }
    let mut seg = bad.clone();
    seg.extend_from_slice(&good);
    c.send(&mut w, 2, true, &seg).unwrap(); // 4
    c.send(&mut w, 3, false, &frame(4, true)).unwrap(); // 5
    let cap = w.into_inner();
    let (frames, problems) = run(&cap);
    assert_eq!(decoded(&frames), [(4, 4), (5, 4)]);
    let paired = frames.iter().find(|r| r.packet == 5).unwrap();
    assert_eq!(paired.request.as_ref().map(|q| q.packet), Some(4));
    let located: Vec<(u64, ProblemKind, bool)> = problems
        .iter()
        .map(|p| (p.packet, p.kind, p.message.starts_with("undecodable frame")))
        .collect();
    assert_eq!(located, [(4, ProblemKind::Frame, true); 3], "{problems:#?}");
    let offsets: Vec<u64> = frames
        .iter()
        .filter(|r| r.command.is_err())
        .map(|r| r.offset)
        .collect();
    assert_eq!(offsets, [0, a.len() as u64, (a.len() + b.len()) as u64]);
    let (s, _) = check(&cap);
    assert_eq!((s.frames, s.identical, s.undecodable), (5, 2, 3));
    assert!(!s.clean());
}

/// A first length word over the maximum frame length: the splitter hunts for the next
/// frame, reports the bytes it skipped, and the later requests decode.
#[test]
fn bad_first_length_word_is_skipped_by_hunting() {
    let (mut w, mut c) = conversation(10911);
    let mut junk = 0x0100_0100u32.to_be_bytes().to_vec();
    junk.extend_from_slice(&[0x41; 60]);
    c.send(&mut w, 2, true, &junk).unwrap(); // 4
    c.send(&mut w, 3, true, &frame(2, false)).unwrap(); // 5
    c.send(&mut w, 4, false, &frame(2, true)).unwrap(); // 6
    c.send(&mut w, 5, true, &frame(3, false)).unwrap(); // 7
    c.send(&mut w, 6, false, &frame(3, true)).unwrap(); // 8
    let cap = w.into_inner();
    let (frames, problems) = run(&cap);
    assert_eq!(decoded(&frames), [(5, 2), (6, 2), (7, 3), (8, 3)]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(
        (problems[0].packet, problems[0].kind),
        (4, ProblemKind::Frame)
    );
    assert!(
        problems[0]
            .message
            .contains("16777472 exceeds the maximum frame length")
            && problems[0].message.contains("skipped 64 bytes"),
        "{}",
        problems[0].message
    );
    let (s, _) = check(&cap);
    assert_eq!((s.frames, s.identical, s.skipped_bytes), (4, 4, 64));
    assert!(!s.clean());
}

/// Neither direction decodes and the ports are not RocketMQ's: the connection carries
/// something else, reported once per direction as not-remoting, and nothing is counted as
/// unchecked RocketMQ bytes.
#[test]
fn nothing_decoding_on_other_ports_is_not_remoting() {
    let (mut w, mut c) = conversation(2222);
    c.send(&mut w, 2, true, b"SSH-2.0-OpenSSH_9.6\r\n").unwrap();
    c.send(
        &mut w,
        3,
        false,
        b"SSH-2.0-OpenSSH_9.2p1\r\n\x00\x00\x05\xdc\x07\x14",
    )
    .unwrap();
    let cap = w.into_inner();
    let (frames, problems) = run(&cap);
    assert!(frames.is_empty());
    let kinds: Vec<ProblemKind> = problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::NotRemoting; 2], "{problems:#?}");
    let (s, lines) = check(&cap);
    assert!(s.clean(), "{s:?} {lines:#?}");
}

/// An HTTP/1 request line on a connection whose other direction is RocketMQ: the direction
/// is given up at once (a prologue is evidence), and verify counts its bytes as not
/// checked; the same bytes on a connection where nothing is RocketMQ are not counted.
#[test]
fn direction_given_up_on_a_rocketmq_connection_is_not_checked() {
    let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let (mut w, mut c) = conversation(8080);
    c.send(&mut w, 2, true, get).unwrap(); // 4
    c.send(&mut w, 3, false, &frame(7, true)).unwrap(); // 5
    let cap = w.into_inner();
    let (frames, problems) = run(&cap);
    assert_eq!(decoded(&frames), [(5, 7)]);
    assert!(
        problems
            .iter()
            .any(|p| p.kind == ProblemKind::NotRemoting && p.message.contains("HTTP/1")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.kind == ProblemKind::Frame
            && p.packet == 5
            && p.message.starts_with(&format!(
                "{} bytes of this direction not checked",
                get.len()
            ))
            && p.message.ends_with("(stream offset 0)")),
        "{problems:#?}"
    );
    let (s, _) = check(&cap);
    assert_eq!(s.skipped_bytes, get.len() as u64);
    assert!(!s.clean());

    // On a RocketMQ port, a TLS handshake is RocketMQ over TLS: not checked either.
    let (mut w, mut c) = conversation(10911);
    let hello = [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5];
    c.send(&mut w, 2, true, &hello).unwrap();
    let (s, _) = check(&w.into_inner());
    assert_eq!(s.skipped_bytes, hello.len() as u64);
    assert!(!s.clean());

    // Other ports, nothing RocketMQ: not counted.
    let (mut w, mut c) = conversation(8080);
    c.send(&mut w, 2, true, get).unwrap();
    c.send(&mut w, 3, false, b"HTTP/1.1 200 OK\r\n\r\n")
        .unwrap();
    let (s, _) = check(&w.into_inner());
    assert!(s.clean(), "{s:?}");
}
