//! Nothing lost silently (issue 10, item 4): malformed frames, conflicting retransmissions,
//! malformed packets and damaged containers are each reported, located, and decoding goes on.

use std::path::PathBuf;

use proptest::prelude::*;
use rmqdump::analysis::{Event, FrameRecord, Options, Problem, ProblemKind};
use rmqdump::capture::writer::{PcapWriter, TcpConversation};
use rmqdump::remoting::command::{RemotingCommand, encode_frame};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the dissector over a capture: frames, problems.
fn run(capture: &[u8], opts: Options) -> (Vec<FrameRecord>, Vec<Problem>) {
    let mut frames = Vec::new();
    let mut problems = Vec::new();
    let (_, err) = rmqdump::dissect(capture, opts, |e| match e {
        Event::Frame(r) => frames.push(*r),
        Event::Problem(p) => problems.push(p),
    });
    assert!(err.is_none(), "{err:?}");
    (frames, problems)
}

/// A one-way HEART_BEAT (one-way: no response expected, so no "unanswered" problems).
fn frame(opaque: i32, body: usize) -> Vec<u8> {
    encode_frame(&RemotingCommand {
        code: 34,
        flag: 2,
        opaque,
        body: vec![b'x'; body],
        ..Default::default()
    })
}

/// tests/cases/01-malformed-frame-header (from /work/shared/cases, README there): one
/// connection with a good HEART_BEAT (packet 4), a frame with serialize type 2 (packet 6), a
/// frame whose header length 596 exceeds its 100-byte length (packet 8), a good HEART_BEAT
/// (packet 10) and the two responses (12, 14).
#[test]
fn case_01_each_malformed_frame_reported_on_its_own() {
    let cap =
        std::fs::read(root().join("tests/cases/01-malformed-frame-header/case.pcap")).unwrap();
    let (frames, problems) = run(&cap, Options::default());
    let decoded: Vec<(u64, i32, bool)> = frames
        .iter()
        .filter_map(|r| {
            let c = r.command.as_ref().ok()?;
            Some((r.packet, c.opaque, r.request.is_some()))
        })
        .collect();
    assert_eq!(
        decoded,
        [(4, 1, false), (10, 4, false), (12, 1, true), (14, 4, true)]
    );
    let bad: Vec<u64> = frames
        .iter()
        .filter(|r| r.command.is_err())
        .map(|r| r.packet)
        .collect();
    assert_eq!(bad, [6, 8]);
    let located: Vec<(u64, Option<u64>, ProblemKind, &str)> = problems
        .iter()
        .map(|p| (p.packet, p.stream, p.kind, p.message.as_str()))
        .collect();
    assert_eq!(located.len(), 2, "{located:#?}");
    assert_eq!(located[0].0, 6);
    assert_eq!(located[0].1, Some(0));
    assert_eq!(located[0].2, ProblemKind::Frame);
    assert!(
        located[0]
            .3
            .contains("serialize type at frame byte 4: unknown value 2")
            && located[0].3.contains("stream offset 194"),
        "{}",
        located[0].3
    );
    assert_eq!(located[1].0, 8);
    assert_eq!(located[1].2, ProblemKind::Frame);
    assert!(
        located[1]
            .3
            .contains("596 exceeds the frame length 100 - 4")
            && located[1].3.contains("stream offset 298"),
        "{}",
        located[1].3
    );
}

/// How a frame is spoilt while its length word stays right.
#[derive(Clone, Copy, Debug)]
enum Spoil {
    /// Serialize-type byte neither 0 (JSON) nor 1 (ROCKETMQ).
    SerializeType(u8),
    /// Header length past `length - 4`.
    HeaderLength(u32),
    /// Header bytes that are not JSON.
    Header,
}

fn spoil(mut f: Vec<u8>, how: Spoil) -> Vec<u8> {
    let length = u32::from_be_bytes([f[0], f[1], f[2], f[3]]);
    match how {
        Spoil::SerializeType(t) => f[4] = t,
        Spoil::HeaderLength(extra) => {
            let hl = (length - 4 + 1 + extra).min(0x00FF_FFFF);
            f[5..8].copy_from_slice(&hl.to_be_bytes()[1..]);
        }
        Spoil::Header => {
            let hl = u32::from_be_bytes([0, f[5], f[6], f[7]]) as usize;
            f[8..8 + hl].fill(b'!');
        }
    }
    f
}

fn arb_spoil() -> impl Strategy<Value = Spoil> {
    prop_oneof![
        (2u8..=255).prop_map(Spoil::SerializeType),
        (0u32..100_000).prop_map(Spoil::HeaderLength),
        Just(Spoil::Header),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any number of malformed frames (with right length words), in any order between good
    /// frames, whatever the segmentation: every good frame decodes and each bad frame is
    /// reported exactly once, at the packet holding its first byte.
    #[test]
    fn malformed_frames_in_any_order_each_reported_once(
        items in proptest::collection::vec(proptest::option::of(arb_spoil()), 1..12),
        bodies in proptest::collection::vec(0usize..300, 12),
        chunk in 1usize..400,
    ) {
        // The connection's first frame may be bad too: it is one bad frame like the others,
        // not a sign that the connection carries something else.
        let mut stream = Vec::new();
        let mut expect_good = Vec::new();
        let mut expect_bad = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let offset = stream.len();
            let f = frame(i as i32, bodies[i]);
            match item {
                None => {
                    expect_good.push((i as i32, offset));
                    stream.extend(f);
                }
                Some(how) => {
                    expect_bad.push(offset);
                    stream.extend(spoil(f, *how));
                }
            }
        }
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        let mut c = TcpConversation::new(
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:10911".parse().unwrap(),
        );
        c.handshake(&mut w, 1).unwrap();
        for part in stream.chunks(chunk) {
            c.send(&mut w, 2, true, part).unwrap();
        }
        let (frames, problems) = run(&w.into_inner(), Options::default());
        // Packet holding stream byte `o`: three handshake packets, then one per chunk.
        let packet_of = |o: usize| (o / chunk) as u64 + 4;
        let good: Vec<(i32, u64)> = frames
            .iter()
            .filter_map(|r| r.command.as_ref().ok().map(|c| (c.opaque, r.packet)))
            .collect();
        let want: Vec<(i32, u64)> =
            expect_good.iter().map(|&(o, off)| (o, packet_of(off))).collect();
        prop_assert_eq!(good, want);
        let reported: Vec<(ProblemKind, u64)> =
            problems.iter().map(|p| (p.kind, p.packet)).collect();
        let want: Vec<(ProblemKind, u64)> = expect_bad
            .iter()
            .map(|&off| (ProblemKind::Frame, packet_of(off)))
            .collect();
        prop_assert_eq!(reported, want, "{:#?}", problems);
    }
}

/// Everything `verify` cannot check is counted, each kind on its own: bytes skipped to
/// resynchronise, a hole, a packet that is not TCP/IP, a frame cut by the end of the capture.
#[test]
fn verify_counts_every_kind_of_unchecked_bytes() {
    use rmqdump::analysis::verify::{Summary, verify};
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let mut c = TcpConversation::new(
        "10.0.0.1:40000".parse().unwrap(),
        "10.0.0.2:10911".parse().unwrap(),
    );
    c.handshake(&mut w, 1).unwrap(); // packets 1-3
    c.send(&mut w, 2, true, &frame(1, 10)).unwrap(); // 4
    // 5: 9 bytes with no plausible length word (2 < 4), then a good frame.
    let mut junk = b"\x00\x00\x00\x02junk!".to_vec();
    junk.extend(frame(2, 10));
    c.send(&mut w, 3, true, &junk).unwrap();
    // A whole frame never captured.
    let lost = frame(3, 10);
    c.send(&mut PcapWriter::new(Vec::new()).unwrap(), 4, true, &lost)
        .unwrap();
    c.send(&mut w, 5, true, &frame(4, 10)).unwrap(); // 6
    // 7: an Ethernet frame too short to hold an Ethernet header.
    w.write_packet(6, &[0u8; 10]).unwrap();
    let last = frame(5, 10);
    c.send(&mut w, 7, true, &last[..20]).unwrap(); // 8
    let mut lines = Vec::new();
    let (s, err) = verify(&w.into_inner()[..], Options::default(), |l| {
        lines.push(l.to_string())
    });
    assert!(err.is_none());
    assert_eq!(
        s,
        Summary {
            frames: 3,
            identical: 3,
            json_frames: 3,
            canonical: 3,
            truncated: 1,
            skipped_bytes: 9,
            gaps: 1,
            gap_bytes: lost.len() as u64,
            unreadable_packets: 1,
            packets: 8,
            streams: 1,
            ..Default::default()
        },
        "{lines:#?}"
    );
    assert!(!s.clean());
    // One line each (a hole is declared once data past it is acknowledged or flushed, so the
    // lines come in the order found, not by packet).
    let mut kinds: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            let mut p = l.split(": ");
            (
                p.next().unwrap(),
                p.next().unwrap().split(' ').next().unwrap(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("packet 5", "frame"),
            ("packet 6", "gap"),
            ("packet 7", "packet"),
            ("packet 8", "truncated")
        ],
        "{lines:#?}"
    );
    // Each kind alone makes the capture unclean.
    for one in [
        Summary {
            undecodable: 1,
            ..Default::default()
        },
        Summary {
            truncated: 1,
            ..Default::default()
        },
        Summary {
            skipped_bytes: 1,
            ..Default::default()
        },
        Summary {
            gaps: 1,
            ..Default::default()
        },
        Summary {
            unreadable_packets: 1,
            ..Default::default()
        },
        Summary {
            mismatches: 1,
            ..Default::default()
        },
    ] {
        assert!(!one.clean(), "{one:?}");
    }
    assert!(Summary::default().clean());
}

/// A header with more extFields entries than `Limits::max_ext_fields` keeps the first N,
/// reports one located problem with the count dropped, and verify counts the frame as not
/// fully decoded (undecodable), not as a mismatch. JSON and ROCKETMQ headers alike.
#[test]
fn ext_fields_past_the_budget_are_cut_and_reported() {
    use rmqdump::analysis::verify::verify;
    use rmqdump::remoting::codes::SerializeType;
    for serialize in [SerializeType::Json, SerializeType::RocketMq] {
        let ext: Vec<(String, String)> = (0..10)
            .map(|i| (format!("k{i}"), format!("v{i}")))
            .collect();
        let f = encode_frame(&RemotingCommand {
            code: 34,
            flag: 2,
            opaque: 9,
            serialize,
            ext_fields: Some(
                ext.iter()
                    .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
                    .collect(),
            ),
            ..Default::default()
        });
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        let mut c = TcpConversation::new(
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:10911".parse().unwrap(),
        );
        c.handshake(&mut w, 1).unwrap();
        c.send(&mut w, 2, true, &frame(1, 0)).unwrap();
        c.send(&mut w, 3, true, &f).unwrap(); // packet 5
        let cap = w.into_inner();
        let mut opts = Options::default();
        opts.limits.max_ext_fields = 3;
        let (frames, problems) = run(&cap, opts);
        let cmd = frames[1].command.as_ref().unwrap();
        let kept: Vec<(&str, &str)> = cmd
            .ext_fields
            .as_ref()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(kept, [("k0", "v0"), ("k1", "v1"), ("k2", "v2")]);
        assert_eq!(cmd.ext_fields_dropped, 7);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!(problems[0].kind, ProblemKind::Limit);
        assert_eq!(problems[0].packet, 5);
        assert!(
            problems[0]
                .message
                .contains("7 entries past the limit of 3 dropped")
        );
        let (s, _) = verify(&cap[..], opts, |_| {});
        assert_eq!(
            (s.undecodable, s.mismatches, s.identical),
            (1, 0, 1),
            "{s:?}"
        );
        // Within the budget, nothing is cut.
        let (frames, problems) = run(&cap, Options::default());
        assert!(problems.is_empty());
        assert_eq!(
            frames[1]
                .command
                .as_ref()
                .unwrap()
                .ext_fields
                .as_ref()
                .unwrap()
                .len(),
            10
        );
    }
}

/// Raw frame around a JSON header given as text.
fn json_frame(header: &str, body: &[u8]) -> Vec<u8> {
    let h = header.as_bytes();
    let mut f = Vec::new();
    f.extend(((4 + h.len() + body.len()) as u32).to_be_bytes());
    f.extend((h.len() as u32).to_be_bytes());
    f.extend(h);
    f.extend(body);
    f
}

/// Numbers in a JSON header's extFields (C++ and ali-ons clients write some unquoted) reach
/// the JSON Lines output with their digits as on the wire: no float rounding
/// (99999999999999999999999 once became 1e+23), no normalising (1.50, -0); only an exponent
/// marker is written as serde_json writes it (`E5` → `e+5`, same digits).
#[test]
fn ext_fields_numbers_keep_their_digits() {
    use rmqdump::analysis::verify::verify;
    use rmqdump::output::{OutputOptions, decode_record, frame_json};
    // (on the wire, in the output)
    let numbers = [
        ("99999999999999999999999", "99999999999999999999999"),
        (
            "-99999999999999999999999.123456789123456789",
            "-99999999999999999999999.123456789123456789",
        ),
        ("1.50", "1.50"),
        ("1E5", "1e+5"),
        ("2.5e-300", "2.5e-300"),
        ("-0", "-0"),
        ("12345678901234567890", "12345678901234567890"),
        ("0.1", "0.1"),
    ];
    let member = |i: usize, n: &str| format!("\"n{i}\":{n}");
    let members: Vec<String> = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| member(i, n.0))
        .collect();
    let shown: Vec<String> = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| member(i, n.1))
        .collect();
    let header = format!(
        "{{\"code\":34,\"extFields\":{{{}}},\"flag\":2,\"language\":\"CPP\",\"opaque\":1,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":0}}",
        members.join(",")
    );
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let mut c = TcpConversation::new(
        "10.0.0.1:40000".parse().unwrap(),
        "10.0.0.2:10911".parse().unwrap(),
    );
    c.handshake(&mut w, 1).unwrap();
    c.send(&mut w, 2, true, &json_frame(&header, b"")).unwrap();
    let cap = w.into_inner();
    let (frames, problems) = run(&cap, Options::default());
    assert!(problems.is_empty(), "{problems:#?}");
    let oo = OutputOptions::default();
    let d = decode_record(&frames[0], &oo);
    let line = serde_json::to_string(&frame_json(&frames[0], d.as_ref(), &oo)).unwrap();
    let want = format!("\"ext_fields\":{{{}}}", shown.join(","));
    assert!(line.contains(&want), "want {want}\n in {line}");
    // And the frame re-encodes byte-exact.
    let (s, _) = verify(&cap[..], Options::default(), |_| {});
    assert_eq!((s.frames, s.identical), (1, 1), "{s:?}");
}

/// Packets kept in memory instead of written.
#[derive(Default)]
struct Packets(Vec<Vec<u8>>);

impl rmqdump::capture::writer::PacketSink for Packets {
    fn packet(&mut self, _ts: i64, data: &[u8]) -> std::io::Result<()> {
        self.0.push(data.to_vec());
        Ok(())
    }
}

/// Two copies of one TCP sequence range with different bytes: one problem naming both
/// packets and the copy used; the frame is decoded from that copy; verify counts it.
#[test]
fn conflicting_retransmission_is_reported_with_both_packets() {
    use rmqdump::analysis::verify::verify;
    let mut c = TcpConversation::new(
        "10.0.0.1:40000".parse().unwrap(),
        "10.0.0.2:10911".parse().unwrap(),
    );
    let mut pk = Packets::default();
    c.handshake(&mut pk, 1).unwrap();
    c.send(&mut pk, 2, true, &frame(1, 10)).unwrap();
    let f = frame(2, 100);
    let (a, b) = f.split_at(f.len() - 60);
    c.send(&mut pk, 3, true, a).unwrap();
    c.send(&mut pk, 3, true, b).unwrap();
    let [h1, h2, h3, p4, pa, pb] = &pk.0[..] else {
        panic!()
    };
    // The second half twice (the copy with one body byte changed), then the first half.
    let mut pb2 = pb.clone();
    let last = pb2.len() - 5;
    pb2[last] ^= 0x20;
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    for p in [h1, h2, h3, p4, pb, &pb2, pa] {
        w.write_packet(4, p).unwrap();
    }
    let cap = w.into_inner();
    let (frames, problems) = run(&cap, Options::default());
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let p = &problems[0];
    assert_eq!(
        (p.kind, p.packet, p.stream),
        (ProblemKind::Conflict, 6, Some(0))
    );
    let first_diff = f.len() - 5;
    assert_eq!(
        p.message,
        format!(
            "retransmission conflict: packets 5 and 6 carry different bytes for the 60 stream bytes at offset {} (first difference at offset {}); packet 5's copy was used, packet 6's dropped",
            f.len() - 60 + 112,
            first_diff + 112
        )
    );
    // The frame is the first copy's.
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].command.as_ref().unwrap().body, vec![b'x'; 100]);
    let (s, _) = verify(&cap[..], Options::default(), |_| {});
    assert_eq!((s.conflicts, s.identical), (1, 2));
    assert!(!s.clean());
}

/// The same when the first copy arrived in order and was already handed on: the copy is
/// compared with the delivered segment's CRC-32 (the bytes are gone), reported naming both
/// packets, and verify counts it.
#[test]
fn conflicting_retransmission_of_delivered_bytes_is_reported() {
    use rmqdump::analysis::verify::verify;
    let mut c = TcpConversation::new(
        "10.0.0.1:40000".parse().unwrap(),
        "10.0.0.2:10911".parse().unwrap(),
    );
    let mut pk = Packets::default();
    c.handshake(&mut pk, 1).unwrap();
    c.send(&mut pk, 2, true, &frame(1, 10)).unwrap();
    c.send(&mut pk, 3, true, &frame(2, 100)).unwrap();
    let [h1, h2, h3, p4, p5] = &pk.0[..] else {
        panic!()
    };
    let mut changed = p5.clone();
    let last = changed.len() - 5;
    changed[last] ^= 0x20;
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    // An identical retransmission of packet 4 (no problem), then a different copy of 5.
    for p in [h1, h2, h3, p4, p5, p4, &changed] {
        w.write_packet(4, p).unwrap();
    }
    let cap = w.into_inner();
    let (frames, problems) = run(&cap, Options::default());
    assert_eq!(frames.len(), 2);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let p = &problems[0];
    assert_eq!(
        (p.kind, p.packet, p.stream),
        (ProblemKind::Conflict, 7, Some(0))
    );
    let f1 = frame(1, 10).len();
    let f2 = frame(2, 100).len();
    assert_eq!(
        p.message,
        format!(
            "retransmission conflict: packets 5 and 7 carry different bytes for the {f2} stream bytes at offset {f1} (the CRC-32 of packet 5's copy differs); packet 5's copy was used, packet 7's dropped"
        )
    );
    let (s, _) = verify(&cap[..], Options::default(), |_| {});
    assert_eq!((s.conflicts, s.identical), (1, 2));
    assert!(!s.clean());
}

/// Malformed IP/TCP packets in a capture: each reported with its packet number and
/// reason (not dropped as "not TCP"), counted by verify, and the rest decodes.
#[test]
fn malformed_packets_are_reported_located() {
    use rmqdump::analysis::verify::verify;
    let mut c = TcpConversation::new(
        "10.0.0.1:40000".parse().unwrap(),
        "10.0.0.2:10911".parse().unwrap(),
    );
    let mut pk = Packets::default();
    c.handshake(&mut pk, 1).unwrap();
    c.send(&mut pk, 2, true, &frame(1, 10)).unwrap();
    c.send(&mut pk, 2, true, &frame(2, 10)).unwrap();
    let mut ihl = pk.0[3].clone();
    ihl[14] = 0x44; // IPv4 IHL 4
    let mut doff = pk.0[3].clone();
    doff[14 + 20 + 12] = 0x40 | (doff[14 + 20 + 12] & 0x0f); // TCP data offset 4
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    for p in [
        &pk.0[0], &pk.0[1], &pk.0[2], &ihl, &doff, &pk.0[3], &pk.0[4],
    ] {
        w.write_packet(3, p).unwrap();
    }
    let cap = w.into_inner();
    let (frames, problems) = run(&cap, Options::default());
    let got: Vec<(u64, ProblemKind)> = problems.iter().map(|p| (p.packet, p.kind)).collect();
    assert_eq!(got, [(4, ProblemKind::Packet), (5, ProblemKind::Packet)]);
    assert!(
        problems[0]
            .message
            .contains("'internet header length' value '4'")
    );
    assert!(problems[1].message.contains("at the TCP header"));
    assert_eq!(frames.len(), 2);
    let (s, _) = verify(&cap[..], Options::default(), |_| {});
    assert_eq!((s.unreadable_packets, s.identical), (2, 2));
}

/// The client's FIN is not in the capture, but the server's FIN/ACK acknowledges it: a FIN
/// takes one sequence number and carries no data, so nothing is missing from the stream.
#[test]
fn lost_fin_is_not_a_gap() {
    use rmqdump::analysis::verify::verify;
    use rmqdump::capture::writer::PacketSink;
    struct Keep(Vec<Vec<u8>>);
    impl PacketSink for Keep {
        fn packet(&mut self, _ts: i64, data: &[u8]) -> std::io::Result<()> {
            self.0.push(data.to_vec());
            Ok(())
        }
    }
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let mut c = TcpConversation::new(
        "10.0.0.1:40000".parse().unwrap(),
        "10.0.0.2:10911".parse().unwrap(),
    );
    c.handshake(&mut w, 1).unwrap(); // 1-3
    c.send(&mut w, 2, true, &frame(1, 10)).unwrap(); // 4
    let mut close = Keep(Vec::new());
    c.close(&mut close, 3).unwrap();
    // Client FIN lost; the server's FIN/ACK (5) and the client's last ACK (6) are captured.
    for p in &close.0[1..] {
        w.write_packet(3, p).unwrap();
    }
    let cap = w.into_inner();
    let (frames, problems) = run(&cap, Options::default());
    assert_eq!(frames.len(), 1);
    assert!(problems.is_empty(), "{problems:#?}");
    let (s, err) = verify(&cap[..], Options::default(), |_| {});
    assert!(err.is_none());
    assert!(s.clean(), "{s:?}");
}

/// A response timestamped before its request (the capture's clock stepped back) is a located
/// `clock` problem naming both packets and times; the pair has no latency (JSON null, left
/// out of `stats` histograms and percentiles, counted under `problems.by_kind.clock`), and
/// `read --strict` fails on it. The next pair, in order, keeps its latency.
#[test]
fn a_response_timestamped_before_its_request_is_a_clock_problem_without_latency() {
    let cmd = |code: i32, flag: i32, opaque: i32| {
        encode_frame(&RemotingCommand {
            code,
            flag,
            opaque,
            ext_fields: (flag == 0).then(|| vec![("topic".into(), "T".into())]),
            ..Default::default()
        })
    };
    let s = 1_700_000_000_000_000_000i64;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clock.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    let mut c = TcpConversation::new(
        "10.0.0.1:40000".parse().unwrap(),
        "10.0.0.2:9876".parse().unwrap(),
    );
    c.handshake(&mut w, s).unwrap(); // packets 1-3
    c.send(&mut w, s + 5_000_000_000, true, &cmd(105, 0, 1))
        .unwrap(); // packet 4
    c.send(&mut w, s + 4_000_000_000, false, &cmd(0, 1, 1))
        .unwrap(); // packet 5: 1 s before
    c.send(&mut w, s + 6_000_000_000, true, &cmd(105, 0, 2))
        .unwrap(); // packet 6
    c.send(&mut w, s + 6_001_000_000, false, &cmd(0, 1, 2))
        .unwrap(); // packet 7: 1 ms after
    w.flush().unwrap();
    drop(w);
    let p = path.to_str().unwrap();
    let bin = || std::process::Command::new(env!("CARGO_BIN_EXE_rmqdump"));
    let out = bin().args(["read", "--json", p]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let frames: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let latencies: Vec<_> = frames.iter().map(|f| f["latency_us"].clone()).collect();
    assert_eq!(
        latencies,
        [
            serde_json::Value::Null,
            serde_json::Value::Null,
            serde_json::Value::Null,
            serde_json::json!(1000)
        ]
    );
    assert_eq!(
        err.lines()
            .filter(|l| l.contains(": clock (stream 0): "))
            .collect::<Vec<_>>(),
        [format!(
            "{p}: packet 5: clock (stream 0): response SUCCESS opaque 1 at 2023-11-14T22:13:24.000000Z is timestamped 1000000 µs before its request GET_ROUTEINFO_BY_TOPIC at packet 4 (2023-11-14T22:13:25.000000Z): the capture's clock stepped back; no latency for this pair"
        )],
        "{err}"
    );
    let out = bin().args(["read", "-V", p]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(
        "[Response to GET_ROUTEINFO_BY_TOPIC in packet 4, timestamped before it: no latency]"
    ));
    let out = bin().args(["stats", "--json", p]).output().unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let code = stats["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == 105)
        .unwrap();
    assert_eq!(code["latency_us"]["count"], 1, "{code}");
    assert_eq!(code["latency_us"]["max"], 1000, "{code}");
    assert_eq!(stats["problems"]["by_kind"]["clock"]["count"], 1, "{stats}");
    let out = bin().args(["read", "--strict", p]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// A capture whose clock steps back an hour after its first packets spans from its
/// earliest to its latest packet (the breaker saw "-3599.990 s"), in `stats --json` as in
/// its text overview.
#[test]
fn a_clock_stepping_back_gives_no_negative_capture_span() {
    let s = 1_700_000_000_000_000_000i64;
    let hour = 3_600_000_000_000i64;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("step.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    let mut c = TcpConversation::new(
        "10.0.0.1:40000".parse().unwrap(),
        "10.0.0.2:9876".parse().unwrap(),
    );
    c.handshake(&mut w, s).unwrap(); // packets 1-3 at s
    let req = encode_frame(&RemotingCommand {
        code: 105,
        opaque: 1,
        ext_fields: Some(vec![("topic".into(), "T".into())]),
        ..Default::default()
    });
    c.send(&mut w, s + 2_000_000_000, true, &req).unwrap(); // packet 4: s + 2 s
    c.send(&mut w, s - hour, true, &req).unwrap(); // packet 5: an hour back
    w.flush().unwrap();
    drop(w);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(["stats", "--json", path.to_str().unwrap()])
        .output()
        .unwrap();
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let span = &st["overview"]["span"];
    assert_eq!(span["seconds"].as_f64(), Some(3602.0), "{span}");
    assert_eq!(span["first"], "2023-11-14T21:13:20.000000Z", "{span}");
    assert_eq!(span["last"], "2023-11-14T22:13:22.000000Z", "{span}");
}
