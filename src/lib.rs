//! rmqdump: a dissector and traffic analyzer for the Apache RocketMQ remoting protocol.
//!
//! The pipeline, each arrow one module, each stage sans-IO except `capture`:
//!
//! ```text
//! capture (pcap/pcapng/gzip/stdin, link layers → TCP segments)
//!   → reassembly (per-direction TCP: order, retransmits, gaps, limits)
//!     → remoting (frame splitting, JSON + ROCKETMQ headers, codes, byte-exact encoder)
//!       → protocol (typed headers, messages, properties, ids, bodies)
//!         → analysis (pipeline, request/response pairing)
//!           → output (text lines, verbose tree, JSON Lines)
//! ```
//!
//! The Java source of record is apache/rocketmq; each module cites the files it follows.

// No unsafe code, except in `capture::live`, which talks to the kernel (each block there
// carries a `SAFETY:` comment).
#![deny(unsafe_code)]

pub mod analysis;
pub mod capture;
pub mod output;
pub mod producer;
pub mod protocol;
pub mod proxy;
pub mod reassembly;
pub mod remoting;

use std::io::Read;

use analysis::{Dissector, Event, Options, Totals};
use capture::CaptureError;

/// Runs the whole pipeline over a capture, calling `f` for every event. On a capture error
/// (truncated or corrupt file) everything read before it is still dissected and flushed;
/// the error is returned beside the totals.
pub fn dissect<R: Read + Send, F: FnMut(Event)>(
    input: R,
    opts: Options,
    mut f: F,
) -> (Totals, Option<CaptureError>) {
    let mut d = Dissector::new(opts);
    let res = capture::for_each_packet(input, |p| {
        d.handle_packet(p.number, p.ts, p.link, p.data, &mut f)
    });
    d.finish(&mut f);
    (d.totals.clone(), res.err())
}
