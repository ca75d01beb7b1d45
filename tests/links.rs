//! Every supported container and link type carries the same real conversation to the same
//! decoded frames: pcap (both byte orders, µs and ns), pcapng (two sections, several
//! interfaces, EPB and SPB), Ethernet with 802.1Q and QinQ, Linux SLL and SLL2, BSD NULL in
//! both byte orders, raw IPv4 and IPv6.

use etherparse::PacketBuilder;
use rmqdump::analysis::{Event, Options};

/// Frames of one real connection (client → broker, broker → client), in order.
fn real_frames() -> Vec<(bool, Vec<u8>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/captures/rust/rocketmq-rust-dev.pcap"
    );
    let o = Options {
        keep_wire: true,
        ..Default::default()
    };
    let mut v = Vec::new();
    let mut stream = None;
    rmqdump::dissect(std::fs::File::open(path).unwrap(), o, |e| {
        if let Event::Frame(f) = e
            && (f.dst.port() == 10911 || f.src.port() == 10911)
        {
            let s = *stream.get_or_insert(f.stream);
            if f.stream == s {
                v.push((f.dst.port() == 10911, f.wire.unwrap()));
            }
        }
    });
    assert!(v.len() > 10);
    v
}

/// (code, kind, opaque, source IP) of each decoded frame.
type Frames = Vec<(i32, String, i32, String)>;

/// What the dissector makes of a capture: (packet, code, kind, opaque) per frame, and problems.
fn decode(capture: &[u8]) -> (Frames, Vec<String>) {
    let mut frames = Vec::new();
    let mut problems = Vec::new();
    let (_, err) = rmqdump::dissect(capture, Options::default(), |e| match e {
        Event::Frame(f) => {
            let c = f.command.unwrap();
            frames.push((
                c.code,
                c.kind().as_str().to_string(),
                c.opaque,
                f.src.ip().to_string(),
            ));
        }
        Event::Problem(p) => {
            if !matches!(
                p.kind,
                rmqdump::analysis::ProblemKind::Unanswered
                    | rmqdump::analysis::ProblemKind::Pending
            ) {
                problems.push(p.message)
            }
        }
    });
    assert!(err.is_none(), "{err:?}");
    (frames, problems)
}

/// IP packets (no link header) for the conversation; `v6` picks the IP version.
fn ip_packets(v6: bool) -> Vec<Vec<u8>> {
    let mut seq = [1000u32, 9000u32];
    let mut out = Vec::new();
    for (to_broker, frame) in real_frames() {
        let i = if to_broker { 0 } else { 1 };
        let (sp, dp) = if to_broker {
            (40000, 10911)
        } else {
            (10911, 40000)
        };
        // Split every frame in two segments to exercise reassembly on each link type.
        let mid = frame.len() / 2;
        for part in [&frame[..mid], &frame[mid..]] {
            let b = if v6 {
                let (a, z) = (
                    [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                    [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                );
                let (s, d) = if to_broker { (a, z) } else { (z, a) };
                PacketBuilder::ipv6(s, d, 64).tcp(sp, dp, seq[i], 1000)
            } else {
                let (s, d) = if to_broker {
                    ([10, 0, 0, 1], [10, 0, 0, 2])
                } else {
                    ([10, 0, 0, 2], [10, 0, 0, 1])
                };
                PacketBuilder::ipv4(s, d, 64).tcp(sp, dp, seq[i], 1000)
            };
            let mut p = Vec::new();
            b.write(&mut p, part).unwrap();
            seq[i] = seq[i].wrapping_add(part.len() as u32);
            out.push(p);
        }
    }
    out
}

fn with_link(kind: &str, ip: &[u8], v6: bool) -> Vec<u8> {
    let et: u16 = if v6 { 0x86DD } else { 0x0800 };
    let mut p = Vec::new();
    match kind {
        "ethernet" => {
            p.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
            p.extend_from_slice(&et.to_be_bytes());
        }
        "vlan" => {
            p.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0, 0, 100]);
            p.extend_from_slice(&et.to_be_bytes());
        }
        "qinq" => {
            p.extend_from_slice(&[
                2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xa8, 0, 10, 0x81, 0, 0, 100,
            ]);
            p.extend_from_slice(&et.to_be_bytes());
        }
        "sll" => {
            p.extend_from_slice(&[0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
            p.extend_from_slice(&et.to_be_bytes());
        }
        "sll2" => {
            p.extend_from_slice(&et.to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        }
        "null-le" => p.extend_from_slice(&(if v6 { 30u32 } else { 2 }).to_le_bytes()),
        "null-be" => p.extend_from_slice(&(if v6 { 24u32 } else { 2 }).to_be_bytes()),
        "raw" => {}
        _ => unreachable!(),
    }
    p.extend_from_slice(ip);
    p
}

fn linktype(kind: &str) -> u32 {
    match kind {
        "ethernet" | "vlan" | "qinq" => 1,
        "sll" => 113,
        "sll2" => 276,
        "null-le" | "null-be" => 0,
        "raw" => 101,
        _ => unreachable!(),
    }
}

fn pcap(link: u32, pkts: &[Vec<u8>], big_endian: bool, nanos: bool) -> Vec<u8> {
    let w32 = |v: u32, o: &mut Vec<u8>| {
        o.extend_from_slice(&if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        })
    };
    let w16 = |v: u16, o: &mut Vec<u8>| {
        o.extend_from_slice(&if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        })
    };
    let mut o = Vec::new();
    w32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }, &mut o);
    w16(2, &mut o);
    w16(4, &mut o);
    w32(0, &mut o);
    w32(0, &mut o);
    w32(262_144, &mut o);
    w32(link, &mut o);
    for (i, p) in pkts.iter().enumerate() {
        w32(1_700_000_000 + i as u32, &mut o);
        w32(if nanos { 123_456_789 } else { 123_456 }, &mut o);
        w32(p.len() as u32, &mut o);
        w32(p.len() as u32, &mut o);
        o.extend_from_slice(p);
    }
    o
}

fn block(o: &mut Vec<u8>, ty: u32, body: &[u8]) {
    let pad = (4 - body.len() % 4) % 4;
    let len = (12 + body.len() + pad) as u32;
    o.extend_from_slice(&ty.to_le_bytes());
    o.extend_from_slice(&len.to_le_bytes());
    o.extend_from_slice(body);
    o.extend(std::iter::repeat_n(0u8, pad));
    o.extend_from_slice(&len.to_le_bytes());
}

fn shb(o: &mut Vec<u8>) {
    let mut b = Vec::new();
    b.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(-1i64).to_le_bytes());
    block(o, 0x0A0D_0D0A, &b);
}

fn idb(o: &mut Vec<u8>, link: u16) {
    let mut b = Vec::new();
    b.extend_from_slice(&link.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&262_144u32.to_le_bytes());
    block(o, 1, &b);
}

fn epb(o: &mut Vec<u8>, iface: u32, ts: u64, p: &[u8]) {
    let mut b = Vec::new();
    b.extend_from_slice(&iface.to_le_bytes());
    b.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
    b.extend_from_slice(&(ts as u32).to_le_bytes());
    b.extend_from_slice(&(p.len() as u32).to_le_bytes());
    b.extend_from_slice(&(p.len() as u32).to_le_bytes());
    b.extend_from_slice(p);
    block(o, 6, &b);
}

#[test]
fn every_link_type_and_container_gives_the_same_frames() {
    let reference = decode(&pcap(
        1,
        &ip_packets(false)
            .iter()
            .map(|p| with_link("ethernet", p, false))
            .collect::<Vec<_>>(),
        false,
        false,
    ));
    assert!(reference.1.is_empty(), "{:?}", reference.1);
    assert!(reference.0.len() > 10);
    for v6 in [false, true] {
        let ips = ip_packets(v6);
        for kind in [
            "ethernet", "vlan", "qinq", "sll", "sll2", "null-le", "null-be", "raw",
        ] {
            let pkts: Vec<Vec<u8>> = ips.iter().map(|p| with_link(kind, p, v6)).collect();
            for (be, ns) in [(false, false), (true, false), (false, true), (true, true)] {
                let (frames, problems) = decode(&pcap(linktype(kind), &pkts, be, ns));
                assert!(problems.is_empty(), "{kind} v6={v6}: {problems:?}");
                let strip = |v: &[(i32, String, i32, String)]| {
                    v.iter()
                        .map(|f| (f.0, f.1.clone(), f.2))
                        .collect::<Vec<_>>()
                };
                assert_eq!(
                    strip(&frames),
                    strip(&reference.0),
                    "{kind} v6={v6} be={be} ns={ns}"
                );
                if v6 {
                    assert!(frames[0].3.starts_with("2001:db8"), "{kind}");
                }
            }
        }
    }
}

/// Inserts an 8-byte hop-by-hop options header (a PadN option) after the IPv6 header.
fn with_hop_by_hop(p: &[u8]) -> Vec<u8> {
    let mut v = p[..40].to_vec();
    let next = v[6];
    v[6] = 0; // next header: hop-by-hop
    let plen = u16::from_be_bytes([v[4], v[5]]) + 8;
    v[4..6].copy_from_slice(&plen.to_be_bytes());
    v.extend_from_slice(&[next, 0, 1, 4, 0, 0, 0, 0]);
    v.extend_from_slice(&p[40..]);
    v
}

#[test]
fn ipv6_extension_headers() {
    let reference = decode(&pcap(101, &ip_packets(false), false, false));
    let pkts: Vec<Vec<u8>> = ip_packets(true)
        .iter()
        .map(|p| with_hop_by_hop(p))
        .collect();
    let (frames, problems) = decode(&pcap(101, &pkts, false, false));
    assert!(problems.is_empty(), "{problems:?}");
    let strip = |v: &[(i32, String, i32, String)]| {
        v.iter()
            .map(|f| (f.0, f.1.clone(), f.2))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&frames), strip(&reference.0));
}

#[test]
fn pcapng_sections_interfaces_epb_and_spb() {
    let ips = ip_packets(false);
    let reference = decode(&pcap(
        1,
        &ips.iter()
            .map(|p| with_link("ethernet", p, false))
            .collect::<Vec<_>>(),
        false,
        false,
    ));
    // Section 1: interfaces 0 (Ethernet) and 1 (SLL); packets alternate between them.
    // Section 2: a single raw-IP interface, packets as simple packet blocks.
    let half = ips.len() / 2;
    let mut o = Vec::new();
    shb(&mut o);
    idb(&mut o, 1);
    idb(&mut o, 113);
    for (i, p) in ips[..half].iter().enumerate() {
        let (iface, kind) = if i % 2 == 0 {
            (0, "ethernet")
        } else {
            (1, "sll")
        };
        epb(
            &mut o,
            iface,
            1_700_000_000_000_000 + i as u64,
            &with_link(kind, p, false),
        );
    }
    shb(&mut o);
    idb(&mut o, 101);
    for p in &ips[half..] {
        let mut b = Vec::new();
        b.extend_from_slice(&(p.len() as u32).to_le_bytes());
        b.extend_from_slice(p);
        block(&mut o, 3, &b);
    }
    let (frames, problems) = decode(&o);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(frames, reference.0);
}
