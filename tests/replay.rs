//! The benchmark replay (`capture::replay`, `examples/replay.rs`) is the bundled captures
//! copied with new client addresses: each copy decodes exactly like its original (same
//! frames, same problems, same connections, byte-exact), and tshark finds exactly the
//! checksums right and wrong that the originals have (incremental checksum update).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use rmqdump::analysis::{Event, Options};
use rmqdump::capture::replay::{self, Source};
use rmqdump::capture::writer::PcapWriter;

const COPIES: u32 = 3;

/// (frames, problems by kind, streams, frames that re-encode byte-exact).
fn dissect(capture: &[u8]) -> (u64, BTreeMap<&'static str, u64>, u64, u64) {
    let mut problems = BTreeMap::new();
    let (mut frames, mut exact) = (0, 0);
    let opts = Options {
        keep_wire: true,
        ..Options::default()
    };
    let (totals, err) = rmqdump::dissect(capture, opts, |e| match e {
        Event::Frame(r) => {
            frames += 1;
            if let Ok(c) = &r.command
                && Some(rmqdump::remoting::command::encode_frame(c)) == r.wire
            {
                exact += 1;
            }
        }
        // A request without answer is pending or unanswered by where the capture ends,
        // which the copies after it move: counted together.
        Event::Problem(p) => {
            let kind = match p.kind {
                rmqdump::analysis::ProblemKind::Pending => "unanswered",
                k => k.as_str(),
            };
            *problems.entry(kind).or_default() += 1
        }
    });
    assert!(err.is_none());
    (frames, problems, totals.streams, exact)
}

fn copies(src: &Source, n: u32) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let mut t = 1_795_519_000_000_000_000;
    for c in 0..n {
        t = src.write_copy(&mut w, c, t).unwrap();
    }
    w.into_inner()
}

/// tshark's verdicts on the IPv4 and TCP checksums of every packet (1 right, 0 wrong), in
/// one run: (right, wrong) counted over both.
fn checksums(file: &Path) -> (usize, usize) {
    let out = Command::new("tshark")
        .args([
            "-r",
            file.to_str().unwrap(),
            "-o",
            "tcp.check_checksum:TRUE",
        ])
        .args(["-o", "ip.check_checksum:TRUE", "-T", "fields"])
        .args(["-e", "ip.checksum.status", "-e", "tcp.checksum.status"])
        .output()
        .expect("tshark");
    let text = String::from_utf8_lossy(&out.stdout);
    let verdicts = text.lines().flat_map(|l| l.split(['\t', ',']));
    verdicts.fold((0, 0), |(g, b), v| match v {
        "1" => (g + 1, b),
        "0" => (g, b + 1),
        _ => (g, b),
    })
}

#[test]
fn every_copy_decodes_like_its_original() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let groups = replay::load_groups(root, replay::BUNDLED_GROUPS).unwrap();
    assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), 20);
    let dir = tempfile::tempdir().unwrap();
    for src in groups.iter().flatten() {
        let orig = std::fs::read(root.join(&src.name)).unwrap();
        let (f, p, s, x) = dissect(&orig);
        let rep = copies(src, COPIES);
        let (rf, rp, rs, rx) = dissect(&rep);
        let n = COPIES as u64;
        assert!(f > 0, "{}", src.name);
        assert_eq!(rf, n * f, "{}: frames", src.name);
        assert_eq!(rs, n * s, "{}: connections", src.name);
        assert_eq!(rx, n * x, "{}: byte-exact frames", src.name);
        let want: BTreeMap<&str, u64> = p.iter().map(|(k, v)| (*k, v * n)).collect();
        assert_eq!(rp, want, "{}: problems", src.name);
        let o = dir.path().join("o.pcap");
        let r = dir.path().join("r.pcap");
        std::fs::write(&o, &orig).unwrap();
        std::fs::write(&r, &rep).unwrap();
        let (good, bad) = checksums(&o);
        assert_eq!(
            checksums(&r),
            (COPIES as usize * good, COPIES as usize * bad),
            "{}: checksums",
            src.name
        );
    }
}

#[test]
fn groups_get_equal_byte_shares_and_distinct_clients() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let groups = replay::load_groups(root, replay::BUNDLED_GROUPS).unwrap();
    let mut out = Vec::new();
    let target = 4 << 20;
    let r = replay::replay(&mut out, &groups, target, 0).unwrap();
    assert!(r.bytes >= target && out.len() as u64 == r.bytes);
    // Each group's share within one copy of its largest source of the others'.
    let mut shares = Vec::new();
    let mut k = 0;
    for g in &groups {
        let bytes: u64 = g
            .iter()
            .zip(&r.copies[k..k + g.len()])
            .map(|(s, c)| s.bytes * c.1 as u64)
            .sum();
        k += g.len();
        shares.push(bytes);
    }
    let biggest = groups.iter().flatten().map(|s| s.bytes).max().unwrap();
    let (lo, hi) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
    assert!(hi - lo <= biggest, "{shares:?}");
    // Every copy is its own set of connections.
    let conns: u64 = r.copies.iter().map(|c| c.1 as u64 * c.2 as u64).sum();
    let (_, _, streams, _) = dissect(&out);
    assert_eq!(streams, conns);
}
