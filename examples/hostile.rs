//! Writes a full-size hostile capture for `scripts/bench-hostile.sh`.
//!
//! `cargo run --release --example hostile -- CLASS COUNT OUT.pcap`, CLASS one of
//! `one-packet-flows` (COUNT connections of one request packet each) or `syn-flood` (COUNT
//! SYNs from distinct clients). See `rmqdump::capture::hostile`.

use std::io::BufWriter;

use rmqdump::capture::hostile;
use rmqdump::capture::writer::PcapWriter;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [class, count, out] = args.as_slice() else {
        eprintln!("usage: hostile one-packet-flows|syn-flood COUNT OUT.pcap");
        std::process::exit(2);
    };
    let n: u64 = count.parse().map_err(std::io::Error::other)?;
    let f = std::fs::File::create(out)?;
    let mut w = PcapWriter::new(BufWriter::with_capacity(1 << 20, f))?;
    let ts = 1_700_000_000_000_000_000;
    match class.as_str() {
        "one-packet-flows" => hostile::one_packet_flows(&mut w, n, ts)?,
        "syn-flood" => hostile::syn_flood(&mut w, n, ts)?,
        _ => {
            eprintln!("unknown class {class}");
            std::process::exit(2);
        }
    }
    w.flush()
}
