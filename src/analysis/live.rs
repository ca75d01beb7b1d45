//! `rmqdump live`: capture from an interface ([`crate::capture::live::Live`], AF_PACKET),
//! dissect as packets come, and print frames like `read` or refresh the stats tables.
//! Linux only.
//!
//! Frames go through `read`'s selection driver ([`crate::output::follow::Follower`]): the
//! same filters (`--code`, `--topic`, `--key`, `--group`, `--broker`, `--since`, `--until`),
//! display filter (`-Y`), count of selected frames (`-c`) and problem lines obeying them.
//! `-w` writes every captured packet when nothing selects (and with `--stats`), else the
//! packets of the selected frames as `read -w` does ([`PacketRing`] keeps the recent packets
//! until their frame is decided); either way flushed after each block so that a reader of
//! the file (Wireshark through the extcap entry) sees packets as they come.

use std::collections::VecDeque;
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;

use super::stats::Stats;
use super::{Dissector, Event, Options};
use crate::output::display_filter::DisplayFilter;
use crate::output::{self, Filter, OutputOptions};

/// How `live` captures and prints.
pub struct LiveConfig {
    pub interface: String,
    /// TCP ports the kernel filter keeps.
    pub ports: Vec<u16>,
    pub opts: Options,
    pub output: OutputOptions,
    pub filter: Filter,
    /// `-Y`: the display filter (docs/display-filter.md).
    pub display: Option<DisplayFilter>,
    pub json: bool,
    pub verbose: bool,
    /// Print the stats tables (every `interval_ns`, and at the end) instead of frames.
    pub stats: bool,
    pub interval_ns: Option<i64>,
    /// Write to this pcap (raw IP link type): every captured packet when nothing selects
    /// (or with `stats`), else the packets of the selected frames.
    pub write: Option<String>,
    /// Stop after this many seconds.
    pub duration: Option<f64>,
    /// `-c`: stop after this many selected frames.
    pub count: Option<u64>,
    /// Stop after this many captured packets.
    pub packets: Option<u64>,
}

/// The ports `live` captures when none is given: NameServer, VIP channel, broker, HA.
pub const DEFAULT_PORTS: [u16; 4] = [9876, 10909, 10911, 10912];

/// Bytes of recent packets [`PacketRing`] keeps for `live -w` (a frame or a request whose
/// response is awaited that spans more is written in part, the rest reported).
pub const RING_BYTES: usize = 64 << 20;

/// What `live` saw.
#[derive(Debug, Default)]
pub struct LiveReport {
    pub packets: u64,
    pub frames: u64,
    /// Frames selected (printed).
    pub selected: u64,
    /// Packets written to `-w`.
    pub written: u64,
    pub kernel_packets: u64,
    pub kernel_dropped: u64,
}

struct Held {
    number: u64,
    ts: i64,
    orig_len: u32,
    data: Vec<u8>,
    /// (src, dst) of a TCP packet with payload; None: not one (never written).
    dir: Option<(SocketAddr, SocketAddr)>,
    written: bool,
}

/// The recent packets of a live capture, kept until the frames they carry are selected or
/// not, within [`RING_BYTES`] (the oldest given up first). Sans-IO: packets in, packets to
/// write out.
#[derive(Default)]
pub struct PacketRing {
    packets: VecDeque<Held>,
    bytes: usize,
    max_bytes: usize,
}

impl PacketRing {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            ..Self::default()
        }
    }

    /// Keeps packet `number` (raw IP, as `live` captures), giving up the oldest past the
    /// byte budget.
    pub fn push(&mut self, number: u64, ts: i64, data: &[u8], orig_len: u32) {
        let dir = match crate::capture::decode_packet(crate::capture::LinkType::RAW, data) {
            Ok(Some(seg)) if !seg.payload.is_empty() => Some((seg.src, seg.dst)),
            _ => None,
        };
        self.bytes += data.len();
        self.packets.push_back(Held {
            number,
            ts,
            orig_len,
            data: data.to_vec(),
            dir,
            written: false,
        });
        while self.bytes > self.max_bytes
            && let Some(h) = self.packets.pop_front()
        {
            self.bytes -= h.data.len();
        }
    }

    /// The packets not yet written that carry payload `src` → `dst` numbered `first..=last`,
    /// for each range, in packet order, each handed to `write` once; the packets of a range
    /// already given up are said as (first, last) of what is missing.
    pub fn take<F: FnMut(i64, &[u8], u32) -> io::Result<()>>(
        &mut self,
        ranges: &[(SocketAddr, SocketAddr, u64, u64)],
        mut write: F,
    ) -> io::Result<Vec<(u64, u64)>> {
        let oldest = self.packets.front().map_or(u64::MAX, |h| h.number);
        let mut missing = Vec::new();
        for &(_, _, first, last) in ranges {
            if first < oldest {
                missing.push((first, last.min(oldest.saturating_sub(1))));
            }
        }
        // Packet numbers increase along the ring: each range is found by bisection, and
        // its packets written in order (ranges come sorted by their first packet).
        let mut order: Vec<usize> = Vec::new();
        for &(s, d, first, last) in ranges {
            let start = self.packets.partition_point(|h| h.number < first);
            for i in start..self.packets.len() {
                let h = &self.packets[i];
                if h.number > last {
                    break;
                }
                if !h.written && h.dir == Some((s, d)) {
                    order.push(i);
                }
            }
        }
        order.sort_unstable();
        order.dedup();
        for i in order {
            let h = &mut self.packets[i];
            h.written = true;
            write(h.ts, &h.data, h.orig_len)?;
        }
        Ok(missing)
    }
}

/// Runs a live capture until a signal, `duration`, `packets` or `count`: frames (or
/// tables) to `out`, problems and progress on standard error. Opening the interface fails
/// without CAP_NET_RAW (the error says to use `rmqdump proxy` instead).
#[cfg(target_os = "linux")]
pub fn run<W: Write>(cfg: LiveConfig, out: W) -> io::Result<LiveReport> {
    use crate::capture::live::{Live, stop_flag};
    use crate::output::follow::{Follower, ReadConfig};
    use std::sync::atomic::{AtomicBool, Ordering};
    let LiveConfig {
        interface,
        ports,
        opts,
        output: oo,
        filter,
        display,
        json,
        verbose,
        stats,
        interval_ns: interval,
        write,
        duration,
        count,
        packets: max_packets,
    } = cfg;
    crate::output::read::refuse_write_to_stdout(write.as_deref())?;
    let mut cap = Live::open(&interface, &ports)?;
    let stop = stop_flag();
    let mut pcap = match &write {
        Some(f) => {
            let mut p = crate::capture::writer::PcapWriter::with_linktype(
                BufWriter::new(
                    std::fs::File::create(f)
                        .map_err(|e| io::Error::new(e.kind(), format!("{f}: {e}")))?,
                ),
                101,
            )?;
            // The file header at once: a reader (Wireshark's extcap fifo) waits for it.
            p.flush()?;
            Some(p)
        }
        None => None,
    };
    let mut ring = PacketRing::new(RING_BYTES);
    // Nothing selects (or `--stats`): `-w` records every captured packet as it comes, as
    // tcpdump -w would (handshakes and bare ACKs included); a selection writes the packets
    // of the selected frames, as `read -w` does.
    let every_packet = stats || (!filter.active() && display.is_none());
    let mut write_error: Option<io::Error> = None;
    eprintln!("rmqdump live: capturing on {interface} (tcp ports {ports:?}); Ctrl-C to stop");
    let mut d = Dissector::new(opts);
    let mut w = BufWriter::new(out);
    let mut err = io::stderr();
    let names = ["live".to_string()];
    let selected_enough = AtomicBool::new(false);
    let mut sink = if stats {
        Sink::Stats {
            st: Box::new(Stats::new(None)),
            out: &mut w,
            decode: oo,
        }
    } else {
        Sink::Frames(Box::new(Follower::new(
            ReadConfig {
                filter,
                display,
                count,
                json,
                verbose,
                output: oo,
                dissect: opts,
                collect_packets: write.is_some() && !every_packet,
            },
            &names,
            &mut w,
            &mut err,
            &selected_enough,
        )))
    };
    let started = std::time::Instant::now();
    let mut last_table = std::time::Instant::now();
    let mut number = 0u64;
    let mut written = 0u64;
    let mut events: Vec<Event> = Vec::new();
    let result: io::Result<()> = (|| {
        // On a signal or --duration, blocks the kernel has already filled are still read
        // (and the open one, retired within its 50 ms timeout): stop once no block comes
        // within 100 ms (or 1 s after the stop on a busy link), so packets captured before
        // the stop are not lost.
        let mut draining: Option<std::time::Instant> = None;
        loop {
            if max_packets.is_some_and(|c| number >= c) || selected_enough.load(Ordering::Relaxed) {
                return Ok(());
            }
            if draining.is_none()
                && (stop.load(Ordering::SeqCst)
                    || duration.is_some_and(|s| started.elapsed().as_secs_f64() >= s))
            {
                draining = Some(std::time::Instant::now());
            }
            let mut got_block = false;
            cap.next_block(100, |ts, pkt, len| {
                got_block = true;
                if max_packets.is_some_and(|c| number >= c) {
                    return;
                }
                number += 1;
                if let Some(p) = &mut pcap {
                    if !every_packet {
                        ring.push(number, ts, pkt, len);
                    } else if write_error.is_none() {
                        match p.write_packet_orig(ts, pkt, len) {
                            Ok(()) => written += 1,
                            Err(e) => write_error = Some(e),
                        }
                    }
                }
                if let Sink::Frames(f) = &mut sink {
                    f.packet(ts);
                }
                d.handle_packet(number, ts, crate::capture::LinkType::RAW, pkt, &mut |e| {
                    events.push(e)
                });
            })?;
            if let Some(e) = write_error.take() {
                return Err(e);
            }
            if every_packet
                && got_block
                && let Some(p) = &mut pcap
            {
                // Flushed per block, as `proxy -w` is: a reader sees the packets as they come.
                p.flush()?;
            }
            sink.handle(&mut events)?;
            if let Sink::Frames(f) = &mut sink {
                let mut ranges = f.take_ranges();
                written += write_ranges(&mut ranges, &mut ring, &mut pcap)?;
            }
            let ended = d.take_ended();
            match &mut sink {
                Sink::Frames(f) => f.flush()?,
                Sink::Stats { st, out, .. } => {
                    for s in ended {
                        st.end_connection(s);
                    }
                    if interval.is_some_and(|i| last_table.elapsed().as_nanos() as i64 >= i) {
                        last_table = std::time::Instant::now();
                        let mut s2 = (**st).clone();
                        s2.finish_roles();
                        out.write_all(output::tables::render(&s2.to_json(&d.totals)).as_bytes())?;
                    }
                    out.flush()?;
                }
            }
            if draining.is_some_and(|t| !got_block || t.elapsed().as_secs() >= 1) {
                return Ok(());
            }
        }
    })();
    if !selected_enough.load(Ordering::Relaxed) {
        d.finish(&mut |e| events.push(e));
        let _ = sink.handle(&mut events);
    }
    let mut selected = 0;
    match sink {
        Sink::Frames(f) => {
            let res = f.finish()?;
            selected = res.selected;
            let mut ranges = res.ranges;
            written += write_ranges(&mut ranges, &mut ring, &mut pcap)?;
        }
        Sink::Stats { mut st, out, .. } => {
            st.finish_roles();
            let _ = out.write_all(output::tables::render(&st.to_json(&d.totals)).as_bytes());
        }
    }
    let _ = w.flush();
    if let Some(p) = &mut pcap {
        p.flush()?;
    }
    let (kp, kd) = cap.kernel_stats().unwrap_or((0, 0));
    eprintln!(
        "rmqdump live: {number} packets, {} frames; kernel: {kp} packets, {kd} dropped; ours: {} dropped by limits, {} gaps",
        d.totals.frames, d.totals.dropped_by_limits, d.totals.gaps
    );
    let report = LiveReport {
        packets: number,
        frames: d.totals.frames,
        selected,
        written,
        kernel_packets: kp as u64,
        kernel_dropped: kd as u64,
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(report),
        Err(e) => Err(e),
        Ok(()) => Ok(report),
    }
}

/// Where `live`'s events go: `read`'s selection driver (frames printed), or the stats
/// (`--stats`, tables to `out`).
#[cfg(target_os = "linux")]
enum Sink<'a, W: Write, E: Write> {
    Frames(Box<crate::output::follow::Follower<'a, W, E>>),
    Stats {
        st: Box<Stats>,
        out: &'a mut W,
        decode: OutputOptions,
    },
}

#[cfg(target_os = "linux")]
impl<W: Write, E: Write> Sink<'_, W, E> {
    fn handle(&mut self, events: &mut Vec<Event>) -> io::Result<()> {
        for ev in events.drain(..) {
            match (&mut *self, ev) {
                (Sink::Frames(f), ev) => f.event(0, ev, &[])?,
                (Sink::Stats { st, decode, .. }, Event::Frame(r)) => {
                    let dd = r.command.as_ref().ok().map(|c| {
                        crate::protocol::decode(
                            c,
                            r.request.as_ref().map(|q| q.code),
                            &decode.decode,
                        )
                    });
                    st.handle_frame(&r, dd.as_ref());
                }
                (Sink::Stats { st, .. }, Event::Problem(p)) => {
                    st.handle_problem(&p);
                    eprintln!("live: {}", output::problem_line(&p));
                }
            }
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn write_ranges<P: Write>(
    ranges: &mut crate::output::pcap_writer::PacketRanges,
    ring: &mut PacketRing,
    pcap: &mut Option<crate::capture::writer::PcapWriter<P>>,
) -> io::Result<u64> {
    let Some(p) = pcap else { return Ok(0) };
    let r: Vec<_> = std::mem::take(ranges)
        .into_ranges()
        .into_iter()
        .map(|(_, s, d, a, b)| (s, d, a, b))
        .collect();
    if r.is_empty() {
        return Ok(0);
    }
    let mut n = 0;
    let missing = ring.take(&r, |ts, data, len| {
        n += 1;
        p.write_packet_orig(ts, data, len)
    })?;
    for (a, b) in missing {
        eprintln!(
            "live: packets {a} to {b} of a selected frame not written: older than the last {} MiB kept",
            RING_BYTES >> 20
        );
    }
    // Flushed per event, as `proxy -w` is: a reader sees the packets as they come.
    p.flush()?;
    Ok(n)
}

/// Live capture needs Linux (AF_PACKET).
#[cfg(not(target_os = "linux"))]
pub fn run<W: Write>(_: LiveConfig, _: W) -> io::Result<LiveReport> {
    Err(io::Error::other(
        "live capture needs Linux (AF_PACKET); use `rmqdump proxy`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A raw IPv4 TCP packet `from` → `to` carrying `payload`.
    fn packet(from: u16, to: u16, payload: &[u8]) -> Vec<u8> {
        let b = etherparse::PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(from, to, 1, 1000);
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    }

    fn addr(p: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], p))
    }

    #[test]
    fn ring_writes_the_packets_of_a_range_once_in_order_and_says_what_it_gave_up() {
        let mut ring = PacketRing::new(10_000);
        ring.push(1, 10, &packet(1, 2, b"a"), 41);
        ring.push(2, 20, &packet(2, 1, b"b"), 41);
        ring.push(3, 30, &packet(1, 2, b""), 40); // an ACK: no payload, never written
        ring.push(4, 40, &packet(1, 2, b"c"), 41);
        let mut got = Vec::new();
        let r = [(addr(1), addr(2), 1, 4), (addr(2), addr(1), 2, 2)];
        let missing = ring
            .take(&r, |ts, _, _| {
                got.push(ts);
                Ok(())
            })
            .unwrap();
        assert_eq!(got, [10, 20, 40]);
        assert!(missing.is_empty());
        // Written once: the same ranges again write nothing.
        got.clear();
        ring.take(&r, |ts, _, _| {
            got.push(ts);
            Ok(())
        })
        .unwrap();
        assert!(got.is_empty());
        // Past the budget the oldest are given up, and a range reaching them says so.
        let big = vec![0u8; 6000];
        ring.push(5, 50, &packet(1, 2, &big), 6041);
        ring.push(6, 60, &packet(1, 2, &big), 6041);
        let missing = ring
            .take(&[(addr(1), addr(2), 4, 6)], |ts, _, _| {
                got.push(ts);
                Ok(())
            })
            .unwrap();
        assert_eq!(got, [60]);
        assert_eq!(missing, [(4, 5)]);
    }
}
