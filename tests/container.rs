//! Damaged capture files: what precedes the damage is read, the damage is reported in words
//! (file offset, bytes skipped, why), and reading goes on after it where the format allows
//! (pcapng blocks carry their length twice; legacy pcap records are re-found by scanning).

use std::io::Write;
use std::path::PathBuf;

use rmqdump::analysis::{Event, Options, ProblemKind};
use rmqdump::capture::{CaptureError, Damage, Item, for_each_packet, open_input};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Packets (number, data) and damage reports of a capture, and how reading ended.
#[allow(clippy::type_complexity)]
fn read(bytes: &[u8]) -> (Vec<(u64, Vec<u8>)>, Vec<Damage>, Result<u64, CaptureError>) {
    let mut packets = Vec::new();
    let mut damage = Vec::new();
    let res = for_each_packet(bytes, |it| match it {
        Item::Packet(p) => packets.push((p.number, p.data.to_vec())),
        Item::Damage(d) => damage.push(d),
    });
    (packets, damage, res)
}

/// Offsets and lengths of the blocks of a little-endian pcapng file.
fn blocks(d: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut o = 0;
    while o + 8 <= d.len() {
        let l = u32::from_le_bytes(d[o + 4..o + 8].try_into().unwrap()) as usize;
        v.push((o, l));
        o += l;
    }
    v
}

/// Offsets and lengths (header included) of the records of a little-endian pcap file.
fn records(d: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut o = 24;
    while o + 16 <= d.len() {
        let l = 16 + u32::from_le_bytes(d[o + 8..o + 12].try_into().unwrap()) as usize;
        v.push((o, l));
        o += l;
    }
    v
}

fn pcap() -> Vec<u8> {
    std::fs::read(root().join("captures/rust/rocketmq-rust-dev.pcap")).unwrap()
}

fn pcapng() -> Vec<u8> {
    std::fs::read(root().join("captures/cpp/rocketmq-cpp-dev.pcapng")).unwrap()
}

#[test]
fn legacy_record_with_an_absurd_length_is_reported_and_the_next_record_found() {
    let mut d = pcap();
    let (whole, _, _) = read(&d);
    let recs = records(&d);
    let (at, len) = recs[40];
    d[at + 8..at + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let (packets, damage, res) = read(&d);
    assert_eq!(res.unwrap(), whole.len() as u64 - 1);
    assert_eq!(
        damage,
        [Damage {
            offset: at as u64,
            skipped: len as u64,
            after_packet: 40,
            reason: "record length 4294967295 exceeds the limit of 262144 bytes (the file header's snap length)".into(),
        }]
    );
    // Every other record is read, in order, with its bytes.
    let mut want: Vec<Vec<u8>> = whole.into_iter().map(|p| p.1).collect();
    want.remove(40);
    assert_eq!(packets.into_iter().map(|p| p.1).collect::<Vec<_>>(), want);
}

/// The reason names the limit applied, not the header's raw snap length: a header snap
/// length of 0xFFFFFFFF is capped at the largest record this reader accepts.
#[test]
fn legacy_record_over_the_limit_names_the_limit_actually_applied() {
    let mut d = pcap();
    d[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    let recs = records(&d);
    let (at, _) = recs[40];
    d[at + 8..at + 12].copy_from_slice(&(i32::MAX as u32).to_le_bytes());
    let (_, damage, res) = read(&d);
    assert!(res.is_ok());
    let limit = rmqdump::capture::MAX_BLOCK - 16;
    assert_eq!(damage.len(), 1);
    assert_eq!(
        damage[0].reason,
        format!(
            "record length 2147483647 exceeds the limit of {limit} bytes (the file header's snap length 4294967295 capped at the {limit}-byte record limit)"
        )
    );
    // A small snap length is raised to the standard 262,144.
    let mut d = pcap();
    d[16..20].copy_from_slice(&1500u32.to_le_bytes());
    d[at + 8..at + 12].copy_from_slice(&300_000u32.to_le_bytes());
    let (_, damage, _) = read(&d);
    assert_eq!(
        damage[0].reason,
        "record length 300000 exceeds the limit of 262144 bytes (the file header's snap length 1500 raised to the standard 262144)"
    );
}

#[test]
fn legacy_garbage_between_records_is_skipped_by_scanning() {
    let d = pcap();
    let (whole, _, _) = read(&d);
    let recs = records(&d);
    let (at, _) = recs[10];
    // 37 bytes of 0xff: read as a record header, its length is absurd.
    let mut bad = d[..at].to_vec();
    bad.extend([0xff; 37]);
    bad.extend(&d[at..]);
    let (packets, damage, res) = read(&bad);
    assert_eq!(res.unwrap(), whole.len() as u64);
    assert_eq!(damage.len(), 1);
    assert_eq!((damage[0].offset, damage[0].skipped), (at as u64, 37));
    assert_eq!(packets.len(), whole.len());
    assert!(packets.iter().zip(&whole).all(|(a, b)| a.1 == b.1));
}

#[test]
fn pcapng_block_whose_lengths_disagree_is_skipped_to_the_next_block() {
    let mut d = pcapng();
    let (whole, _, _) = read(&d);
    let b = blocks(&d);
    // Block 2 is the first EPB (after SHB and IDB): damage the 11th packet's trailing length.
    let (at, len) = b[12];
    d[at + len - 4..at + len].copy_from_slice(&7u32.to_le_bytes());
    let (packets, damage, res) = read(&d);
    assert_eq!(res.unwrap(), whole.len() as u64 - 1);
    assert_eq!(damage.len(), 1, "{damage:#?}");
    assert_eq!(damage[0].offset, at as u64);
    assert_eq!(damage[0].skipped, len as u64);
    assert_eq!(damage[0].after_packet, 10);
    assert!(
        damage[0]
            .reason
            .starts_with(&format!("block length {len} at its start but 7 at its end")),
        "{}",
        damage[0].reason
    );
    let mut want: Vec<Vec<u8>> = whole.into_iter().map(|p| p.1).collect();
    want.remove(10);
    assert_eq!(packets.into_iter().map(|p| p.1).collect::<Vec<_>>(), want);
}

#[test]
fn pcapng_block_with_a_bad_body_but_matching_lengths_is_skipped_by_its_length() {
    let mut d = pcapng();
    let (whole, _, _) = read(&d);
    let b = blocks(&d);
    let (at, len) = b[20];
    // EPB caplen (body offset 12, file offset +20) far past the block.
    d[at + 20..at + 24].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    let (packets, damage, res) = read(&d);
    assert_eq!(res.unwrap(), whole.len() as u64 - 1);
    assert_eq!(damage.len(), 1, "{damage:#?}");
    assert_eq!(
        (damage[0].offset, damage[0].skipped, damage[0].after_packet),
        (at as u64, len as u64, 18)
    );
    assert_eq!(
        damage[0].reason,
        format!("the body of this {len}-byte enhanced packet block (type 0x6) does not parse")
    );
    assert_eq!(packets.len(), whole.len() - 1);
}

#[test]
fn pcapng_garbage_and_absurd_block_lengths_are_skipped_by_scanning() {
    let d = pcapng();
    let (whole, _, _) = read(&d);
    let b = blocks(&d);
    let (at, _) = b[30];
    let mut bad = d[..at].to_vec();
    // A block header claiming 4 GiB, then junk.
    bad.extend([6, 0, 0, 0, 0xfc, 0xff, 0xff, 0xff]);
    bad.extend(b"junk junk junk");
    bad.extend(&d[at..]);
    let (packets, damage, res) = read(&bad);
    assert_eq!(res.unwrap(), whole.len() as u64);
    assert_eq!(damage.len(), 1, "{damage:#?}");
    assert_eq!((damage[0].offset, damage[0].skipped), (at as u64, 22));
    assert!(damage[0].reason.contains("block length 4294967292"));
    assert_eq!(packets.len(), whole.len());
}

#[test]
fn damage_reaches_the_dissector_as_a_located_capture_problem() {
    let mut d = pcap();
    let (at, _) = records(&d)[40];
    d[at + 8..at + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut problems = Vec::new();
    let (totals, err) = rmqdump::dissect(&d[..], Options::default(), |e| {
        if let Event::Problem(p) = e
            && p.kind == ProblemKind::Capture
        {
            problems.push(p)
        }
    });
    assert!(err.is_none());
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].packet, 40);
    assert_eq!(
        problems[0].message,
        format!(
            "damaged capture at file offset {at} (after packet 40): record length 4294967295 exceeds the limit of 262144 bytes (the file header's snap length); skipped {} bytes, reading again at offset {}",
            records(&pcap())[40].1,
            at + records(&pcap())[40].1
        )
    );
    assert!(totals.capture_bytes_skipped > 0);
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Reads a gzip file through `open_input` (which sniffs gzip by content).
fn read_gz(bytes: &[u8]) -> (usize, Result<u64, CaptureError>) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.pcap.gz");
    std::fs::write(&p, bytes).unwrap();
    let input = open_input(p.to_str().unwrap()).unwrap();
    let mut n = 0;
    let res = for_each_packet(input, |it| {
        if let Item::Packet(_) = it {
            n += 1
        }
    });
    (n, res)
}

#[test]
fn damaged_gzip_keeps_every_packet_before_the_damage_and_says_where_and_why() {
    let raw = pcap();
    let whole = read(&raw).0.len();
    let z = gz(&raw);
    let (n, res) = read_gz(&z);
    assert_eq!((n, res.unwrap()), (whole, whole as u64));

    // Truncated: the packets inflated before the cut are read.
    let cut = &z[..z.len() / 2];
    let (n, res) = read_gz(cut);
    let Err(CaptureError::Gzip { packets, damage }) = res else {
        panic!("{res:?}")
    };
    assert_eq!(packets, n as u64);
    assert!(n > 0 && n < whole, "{n} of {whole}");
    assert!(damage.reason.starts_with("truncated"), "{damage}");
    assert!(damage.compressed_offset <= cut.len() as u64);
    // Every packet whose bytes came out whole was read: the next record ends past the
    // inflated bytes.
    let recs = records(&raw);
    let end = recs[n - 1].0 + recs[n - 1].1;
    assert!(end as u64 <= damage.uncompressed_offset);
    assert!(recs[n].0 + recs[n].1 > damage.uncompressed_offset as usize);

    // CRC-32 mismatch in the trailer: all the data came out; the error says CRC.
    let mut crc = z.clone();
    let l = crc.len();
    crc[l - 8] ^= 0xff;
    let (n, res) = read_gz(&crc);
    let Err(CaptureError::Gzip { damage, .. }) = res else {
        panic!("{res:?}")
    };
    assert_eq!(n, whole);
    assert!(damage.reason.starts_with("CRC-32 mismatch"), "{damage}");
    assert_eq!(damage.uncompressed_offset, raw.len() as u64);

    // Trailing garbage after the member.
    let mut tail = z.clone();
    tail.extend(b"this is not gzip");
    let (n, res) = read_gz(&tail);
    let Err(CaptureError::Gzip { damage, .. }) = res else {
        panic!("{res:?}")
    };
    assert_eq!(n, whole);
    assert!(damage.reason.starts_with("trailing garbage"), "{damage}");
    assert_eq!(damage.compressed_offset, z.len() as u64);
    let text = CaptureError::Gzip {
        packets: n as u64,
        damage,
    }
    .to_string();
    assert!(
        text.starts_with(&format!(
            "damaged gzip stream at compressed offset {} (uncompressed offset {})",
            z.len(),
            raw.len()
        )),
        "{text}"
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Whatever is overwritten or inserted, reading and dissecting a damaged file ends
        /// without a panic; every packet it yields lies inside the file, and every damage
        /// report names a stretch inside it.
        #[test]
        fn any_damage_is_survived(
            ng in any::<bool>(),
            edits in proptest::collection::vec((0.0f64..1.0, any::<u32>(), 0usize..40), 1..6),
        ) {
            let mut d = if ng { pcapng() } else { pcap() };
            for (at, word, junk) in edits {
                let i = 24 + ((d.len() - 28) as f64 * at) as usize;
                if junk == 0 {
                    d[i..i + 4].copy_from_slice(&word.to_le_bytes());
                } else {
                    let fill = word.to_le_bytes()[0];
                    d.splice(i..i, std::iter::repeat_n(fill, junk));
                }
            }
            let (packets, damage, res) = read(&d);
            prop_assert!(packets.iter().all(|p| p.1.len() <= d.len()));
            for x in &damage {
                prop_assert!(x.skipped > 0 && x.offset + x.skipped <= d.len() as u64, "{x:?}");
            }
            if let Ok(n) = res {
                prop_assert_eq!(n, packets.len() as u64);
            }
            let _ = rmqdump::analysis::verify::verify(&d[..], Options::default(), |_| {});
        }
    }
}

/// An oversize first record followed by zero bytes (a zero-filled stretch): the zeros are
/// skipped with the record, not read as a run of empty packets (a zero record header has
/// caplen 0, and with no record before it no time to compare with). tshark stops at the
/// oversize record ("bigger than maximum of 262144"); we scan on to the next record that
/// carries bytes, or to the end of the file.
#[test]
fn zero_bytes_after_an_oversize_record_are_skipped_not_read_as_empty_packets() {
    let d = pcap();
    let (whole, _, _) = read(&d);
    let mut oversize = 1_700_000_000u32.to_le_bytes().to_vec();
    oversize.extend(0u32.to_le_bytes());
    oversize.extend(0x00ff_ffffu32.to_le_bytes());
    oversize.extend(0x00ff_ffffu32.to_le_bytes());
    let mut bad = d[..24].to_vec();
    bad.extend(&oversize);
    bad.extend([0u8; 64]);
    bad.extend(&d[24..]);
    let (packets, damage, res) = read(&bad);
    assert_eq!(res.unwrap(), whole.len() as u64);
    assert_eq!(damage.len(), 1, "{damage:?}");
    assert_eq!((damage[0].offset, damage[0].skipped), (24, 16 + 64));
    assert_eq!(packets.len(), whole.len());
    assert!(packets.iter().zip(&whole).all(|(a, b)| a.1 == b.1));
    // Zeros to the end of the file: one damaged stretch to the end, no packet.
    let mut tail = d[..24].to_vec();
    tail.extend(&oversize);
    tail.extend([0u8; 64]);
    let (packets, damage, res) = read(&tail);
    assert_eq!(res.unwrap(), 0);
    assert!(packets.is_empty(), "{} packets", packets.len());
    assert_eq!(damage.len(), 1, "{damage:?}");
    assert_eq!((damage[0].offset, damage[0].skipped), (24, 16 + 64));
}

/// A little-endian pcapng: SHB, one IDB (raw IP) with `if_tsresol` `resol`, one EPB per
/// timestamp (in the interface's units), each a 20-byte IPv4 header alone.
fn pcapng_with_tsresol(resol: u8, stamps: &[u64]) -> Vec<u8> {
    fn block(t: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len()) as u32;
        let mut b = t.to_le_bytes().to_vec();
        b.extend(len.to_le_bytes());
        b.extend(body);
        b.extend(len.to_le_bytes());
        b
    }
    let mut shb = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
    shb.extend(1u16.to_le_bytes());
    shb.extend(0u16.to_le_bytes());
    shb.extend((-1i64).to_le_bytes());
    let mut d = block(0x0A0D_0D0A, &shb);
    let mut idb = 101u16.to_le_bytes().to_vec(); // LINKTYPE_RAW
    idb.extend(0u16.to_le_bytes());
    idb.extend(65535u32.to_le_bytes());
    idb.extend(9u16.to_le_bytes()); // if_tsresol
    idb.extend(1u16.to_le_bytes());
    idb.extend([resol, 0, 0, 0]);
    idb.extend([0u8; 4]); // opt_endofopt
    d.extend(block(1, &idb));
    let ip = [
        0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    for &ts in stamps {
        let mut epb = 0u32.to_le_bytes().to_vec();
        epb.extend(((ts >> 32) as u32).to_le_bytes());
        epb.extend((ts as u32).to_le_bytes());
        epb.extend(20u32.to_le_bytes());
        epb.extend(20u32.to_le_bytes());
        epb.extend(ip);
        d.extend(block(6, &epb));
    }
    d
}

/// Packet times of an interface with a binary resolution (`if_tsresol` bit 7: 2^-30 s)
/// are those tshark reads (pcap-parser 0.17 refused every binary resolution and they were
/// read as microseconds: 1970 instead of 2026, the breaker's finding); a resolution no u64
/// counts in (10^-127) is a located damage report, its times read as microseconds.
#[test]
fn pcapng_binary_timestamp_resolution_is_read_as_tshark_reads_it() {
    let t = |secs: u64, frac: u64| (secs << 30) | frac;
    let stamps = [t(1_795_000_000, 1 << 29), t(1_795_000_001, 1 << 28)];
    let d = pcapng_with_tsresol(0x80 | 30, &stamps);
    let mut times = Vec::new();
    let res = for_each_packet(&d[..], |it| {
        if let Item::Packet(p) = it {
            times.push(p.ts);
        }
    });
    assert!(res.is_ok(), "{res:?}");
    assert_eq!(
        times,
        [1_795_000_000_500_000_000, 1_795_000_001_250_000_000]
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bin.pcapng");
    std::fs::write(&f, &d).unwrap();
    if let Ok(o) = std::process::Command::new("tshark")
        .arg("-r")
        .arg(&f)
        .args(["-T", "fields", "-e", "frame.time_epoch"])
        .output()
    {
        let got: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(got, ["1795000000.500000000", "1795000001.250000000"]);
    }
    let bad = pcapng_with_tsresol(127, &[1_000_000]);
    let (packets, damage, res) = read(&bad);
    assert!(res.is_ok());
    assert_eq!(packets.len(), 1);
    assert!(
        damage.iter().any(|x| x.reason.contains("if_tsresol 0x7f")),
        "{damage:?}"
    );
}

/// A gzip header followed by bytes that never inflate holds no capture: "not a capture",
/// exit 2 for every command, as random bytes are (it was "capture holds no packets", exit
/// 0: the breaker's finding). A stream damaged after some of the capture came out is still
/// a located problem after the packets before it (the test above).
#[test]
fn gzip_that_never_inflates_is_not_a_capture() {
    let mut d = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff];
    d.extend((0..3000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x07));
    let (n, res) = read_gz(&d);
    assert_eq!(n, 0);
    let e = res.unwrap_err();
    assert!(e.damaged_end().is_none(), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.pcap.gz");
    std::fs::write(&p, &d).unwrap();
    for cmd in ["read", "stats", "verify"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rmqdump"))
            .args([cmd, p.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains("not a capture: damaged gzip stream"),
            "{cmd}: {err}"
        );
    }
}
