//! Builds the production-like benchmark capture (`scripts/bench.sh`): copies of every
//! bundled real capture in equal byte shares per client group, each copy with its own client
//! addresses, one after another in time. See `rmqdump::capture::replay`.
//!
//! `cargo run --release --example replay -- OUT.pcap MB` writes OUT.pcap (at least MB MiB)
//! and OUT.pcap.copies (one line per source: name, copies, connections per copy).

use std::io::Write;

use rmqdump::capture::replay;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, mb] = args.as_slice() else {
        eprintln!("usage: replay OUT.pcap MB");
        std::process::exit(2);
    };
    let mb: u64 = mb.parse().map_err(std::io::Error::other)?;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let groups = replay::load_groups(root, replay::BUNDLED_GROUPS)?;
    let f = std::fs::File::create(out)?;
    let r = replay::replay(f, &groups, mb << 20, 1_795_519_000_000_000_000)?;
    let mut list = std::io::BufWriter::new(std::fs::File::create(format!("{out}.copies"))?);
    let mut conns = 0u64;
    for (name, copies, c) in &r.copies {
        writeln!(list, "{name} {copies} {c}")?;
        conns += *copies as u64 * *c as u64;
    }
    list.flush()?;
    eprintln!(
        "{out}: {} bytes, {} packets, {} copies, {conns} connections",
        r.bytes,
        r.packets,
        r.copies.iter().map(|c| c.1 as u64).sum::<u64>()
    );
    Ok(())
}
