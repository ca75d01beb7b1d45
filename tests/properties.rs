//! Property tests: random commands round-trip through the codec; real streams cut, reordered
//! and duplicated at random reassemble to the original frames.

use proptest::prelude::*;
use rmqdump::analysis::{Dissector, Event, Options};
use rmqdump::capture::LinkType;
use rmqdump::remoting::codes::{LanguageCode, SerializeType};
use rmqdump::remoting::command::{
    FrameLimits, HeaderLayout, RemotingCommand, decode_frame, encode_frame,
};

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_%]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(20).collect()),
        Just("UNIQ_KEY\u{1}AB\u{2}WAIT\u{1}true\u{2}".to_string()),
    ]
}

fn arb_command() -> impl Strategy<Value = RemotingCommand> {
    (
        any::<i16>(),
        0u8..14,
        any::<i16>(),
        any::<i32>(),
        0i32..4,
        proptest::option::of(arb_string()),
        proptest::option::of(proptest::collection::vec(
            (arb_string(), arb_string()),
            0..6,
        )),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(
            |(code, lang, version, opaque, flag, remark, ext, binary, body)| RemotingCommand {
                code: code as i32,
                language: LanguageCode(lang),
                version: version as i32,
                opaque,
                flag,
                remark,
                ext_fields: ext.map(|v| v.into_iter().map(|(k, v)| (k.into(), v.into())).collect()),
                serialize: if binary {
                    SerializeType::RocketMq
                } else {
                    SerializeType::Json
                },
                body,
                ..Default::default()
            },
        )
}

proptest! {
    #[test]
    fn encode_decode_encode(cmd in arb_command()) {
        let wire = encode_frame(&cmd);
        let back = decode_frame(&wire, &FrameLimits::default()).expect("decodes");
        prop_assert_eq!(back.code, cmd.code);
        prop_assert_eq!(back.opaque, cmd.opaque);
        prop_assert_eq!(back.flag, cmd.flag);
        prop_assert_eq!(back.version, cmd.version);
        prop_assert_eq!(&back.body, &cmd.body);
        match cmd.serialize {
            SerializeType::Json => {
                prop_assert_eq!(&back.remark, &cmd.remark);
                prop_assert_eq!(&back.ext_fields, &cmd.ext_fields);
            }
            SerializeType::RocketMq => {
                // A zero length means null in ROCKETMQ headers, so "" and None coincide.
                prop_assert_eq!(back.remark.clone().filter(|r| !r.is_empty()), cmd.remark.clone().filter(|r| !r.is_empty()));
                let ext = cmd.ext_fields.clone().filter(|e| !e.is_empty());
                prop_assert_eq!(&back.ext_fields, &ext);
            }
        }
        prop_assert_eq!(encode_frame(&back), wire.clone());
        // Without the recorded layout the canonical writer gives the same bytes too.
        let mut canon = back.clone();
        canon.layout = HeaderLayout::Canonical;
        prop_assert_eq!(encode_frame(&canon), wire);
    }

    #[test]
    fn truncated_frames_never_panic(cmd in arb_command(), cut in 0usize..200) {
        let wire = encode_frame(&cmd);
        let n = cut.min(wire.len());
        let _ = decode_frame(&wire[..n], &FrameLimits::default());
        let mut bad = wire.clone();
        if n < bad.len() { bad[n] ^= 0x5a; }
        let _ = decode_frame(&bad, &FrameLimits::default());
    }
}

/// Builds Ethernet/IPv4/TCP packets carrying `stream` from client to server.
fn packets(stream: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    let isn: u32 = 0xFFFF_FF00; // wraps inside the stream
    let syn = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, 10911, isn, 65535)
        .syn();
    let mut p = Vec::new();
    syn.write(&mut p, &[]).unwrap();
    out.push(p);
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    bounds.push(stream.len());
    bounds.sort();
    bounds.dedup();
    for end in bounds {
        if end <= start {
            continue;
        }
        let b = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(
                40000,
                10911,
                isn.wrapping_add(1).wrapping_add(start as u32),
                65535,
            );
        let mut p = Vec::new();
        b.write(&mut p, &stream[start..end]).unwrap();
        out.push(p);
        start = end;
    }
    out
}

fn real_stream() -> Vec<u8> {
    // Frames from a real capture (the rust client's send traffic), concatenated.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/captures/rust/rocketmq-rust-dev.pcap"
    );
    let o = Options {
        keep_wire: true,
        ..Default::default()
    };
    let mut by_stream: std::collections::BTreeMap<u64, Vec<u8>> = Default::default();
    rmqdump::dissect(std::fs::File::open(path).unwrap(), o, |e| {
        if let Event::Frame(f) = e
            && f.dst.port() == 10911
        {
            by_stream
                .entry(f.stream)
                .or_default()
                .extend(f.wire.unwrap());
        }
    });
    let frames = by_stream.into_values().max_by_key(|v| v.len()).unwrap();
    assert!(frames.len() > 5_000, "{}", frames.len());
    frames
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn resegmented_reordered_duplicated_streams_reassemble(
        cuts in proptest::collection::vec(any::<usize>(), 1..60),
        swaps in proptest::collection::vec((any::<usize>(), any::<usize>()), 0..20),
        dups in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let stream = real_stream();
        let mut pkts = packets(&stream, &cuts);
        let n = pkts.len();
        for d in dups { let p = pkts[1 + d % (n - 1)].clone(); pkts.push(p); }
        let m = pkts.len();
        for (a, b) in swaps { pkts.swap(1 + a % (m - 1), 1 + b % (m - 1)); }
        let o = Options {
            keep_wire: true,
            ..Default::default()
        };
        let mut d = Dissector::new(o);
        let mut got = Vec::new();
        let mut problems = Vec::new();
        let mut f = |e: Event| match e {
            Event::Frame(r) => got.extend(r.wire.unwrap()),
            Event::Problem(p) => if !matches!(p.kind, rmqdump::analysis::ProblemKind::Unanswered | rmqdump::analysis::ProblemKind::Pending) { problems.push(p.message) },
        };
        for (i, p) in pkts.iter().enumerate() {
            d.handle_packet(i as u64 + 1, i as i64, LinkType::ETHERNET, p, &mut f);
        }
        d.finish(&mut f);
        prop_assert!(problems.is_empty(), "{:?}", problems);
        prop_assert_eq!(got, stream);
    }
}
