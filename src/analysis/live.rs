//! `rmqdump live`: capture from an interface ([`crate::capture::live::Live`], AF_PACKET),
//! dissect as packets come, and print frames like `read` or refresh the stats tables.
//! Linux only.

use std::io::{self, BufWriter, Write};

use super::stats::Stats;
use super::{Dissector, Event, Options};
use crate::output::{self, Filter, OutputOptions};

/// How `live` captures and prints.
pub struct LiveConfig {
    pub interface: String,
    /// TCP ports the kernel filter keeps.
    pub ports: Vec<u16>,
    pub opts: Options,
    pub output: OutputOptions,
    pub filter: Filter,
    pub json: bool,
    pub verbose: bool,
    /// Print the stats tables (every `interval_ns`, and at the end) instead of frames.
    pub stats: bool,
    pub interval_ns: Option<i64>,
    /// Also write the packets to this pcap (raw IP link type).
    pub write: Option<String>,
    /// Stop after this many seconds / packets.
    pub duration: Option<f64>,
    pub count: Option<u64>,
}

/// The ports `live` captures when none is given: NameServer, VIP channel, broker, HA.
pub const DEFAULT_PORTS: [u16; 4] = [9876, 10909, 10911, 10912];

/// What `live` saw.
#[derive(Debug, Default)]
pub struct LiveReport {
    pub packets: u64,
    pub frames: u64,
    pub kernel_packets: u64,
    pub kernel_dropped: u64,
}

/// Runs a live capture until a signal, `duration` or `count`: frames (or tables) to `out`,
/// problems and progress on standard error. Opening the interface fails without
/// CAP_NET_RAW (the error says to use `rmqdump proxy` instead).
#[cfg(target_os = "linux")]
pub fn run<W: Write>(cfg: LiveConfig, out: W) -> io::Result<LiveReport> {
    use crate::capture::live::{Live, stop_flag};
    use std::sync::atomic::Ordering;
    let LiveConfig {
        interface,
        ports,
        opts,
        output: mut oo,
        mut filter,
        json,
        verbose,
        stats,
        interval_ns: interval,
        write,
        duration,
        count,
    } = cfg;
    let mut cap = Live::open(&interface, &ports)?;
    let stop = stop_flag();
    let mut pcap = match &write {
        Some(f) => Some(crate::capture::writer::PcapWriter::with_linktype(
            BufWriter::new(
                std::fs::File::create(f)
                    .map_err(|e| io::Error::new(e.kind(), format!("{f}: {e}")))?,
            ),
            101,
        )?),
        None => None,
    };
    eprintln!("rmqdump live: capturing on {interface} (tcp ports {ports:?}); Ctrl-C to stop");
    // `--time relative` counts from the start of the capture.
    oo.clock.start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.as_nanos() as i64)
        .unwrap_or(0);
    let mut d = Dissector::new(opts);
    let mut st = Stats::new(None);
    let mut w = BufWriter::new(out);
    let mut writer = output::FrameWriter::new(json, verbose);
    let started = std::time::Instant::now();
    let mut last_table = std::time::Instant::now();
    let mut number = 0u64;
    let mut events: Vec<Event> = Vec::new();
    let mut handle = |ev: Event, w: &mut BufWriter<W>, st: &mut Stats| -> io::Result<()> {
        match ev {
            Event::Frame(r) => {
                if stats {
                    let dd = r.command.as_ref().ok().map(|c| {
                        crate::protocol::decode(c, r.request.as_ref().map(|q| q.code), &oo.decode)
                    });
                    st.handle_frame(&r, dd.as_ref());
                    return Ok(());
                }
                let dd = output::decode_record(&r, &oo);
                for p in output::frame_problems(&r, dd.as_ref()) {
                    eprintln!("live: {}", output::problem_line(&p));
                }
                if filter.active() && !filter.matches(&r, dd.as_ref()) {
                    writer.note(&r, dd.as_ref());
                    return Ok(());
                }
                // Flushed once per ring block (below), not per frame: a write per frame
                // cost a system call each and made live fall behind at high rates.
                writer.write(&mut *w, &r, dd.as_ref(), &oo)
            }
            Event::Problem(p) => {
                st.handle_problem(&p);
                eprintln!("live: {}", output::problem_line(&p));
                Ok(())
            }
        }
    };
    let result: io::Result<()> = (|| {
        // On a signal or --duration, blocks the kernel has already filled are still read
        // (and the open one, retired within its 50 ms timeout): stop once no block comes
        // within 100 ms (or 1 s after the stop on a busy link), so packets captured before
        // the stop are not lost.
        let mut draining: Option<std::time::Instant> = None;
        loop {
            if count.is_some_and(|c| number >= c) {
                return Ok(());
            }
            if draining.is_none()
                && (stop.load(Ordering::SeqCst)
                    || duration.is_some_and(|s| started.elapsed().as_secs_f64() >= s))
            {
                draining = Some(std::time::Instant::now());
            }
            let mut werr = None;
            let mut got_block = false;
            cap.next_block(100, |ts, pkt, len| {
                got_block = true;
                if count.is_some_and(|c| number >= c) {
                    return;
                }
                number += 1;
                if let Some(p) = &mut pcap
                    && let Err(e) = p.write_packet_orig(ts, pkt, len)
                {
                    werr.get_or_insert(e);
                }
                d.handle_packet(number, ts, crate::capture::LinkType::RAW, pkt, &mut |e| {
                    events.push(e)
                });
            })?;
            if let Some(e) = werr {
                return Err(e);
            }
            for ev in events.drain(..) {
                handle(ev, &mut w, &mut st)?;
            }
            for s in d.take_ended() {
                st.end_connection(s);
            }
            w.flush()?;
            if draining.is_some_and(|t| !got_block || t.elapsed().as_secs() >= 1) {
                return Ok(());
            }
            if stats && interval.is_some_and(|i| last_table.elapsed().as_nanos() as i64 >= i) {
                last_table = std::time::Instant::now();
                let mut s2 = st.clone();
                s2.finish_roles();
                w.write_all(output::tables::render(&s2.to_json(&d.totals)).as_bytes())?;
                w.flush()?;
            }
        }
    })();
    d.finish(&mut |e| events.push(e));
    for ev in events.drain(..) {
        let _ = handle(ev, &mut w, &mut st);
    }
    if stats {
        st.finish_roles();
        let _ = w.write_all(output::tables::render(&st.to_json(&d.totals)).as_bytes());
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
        kernel_packets: kp as u64,
        kernel_dropped: kd as u64,
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(report),
        Err(e) => Err(e),
        Ok(()) => Ok(report),
    }
}

/// Live capture needs Linux (AF_PACKET).
#[cfg(not(target_os = "linux"))]
pub fn run<W: Write>(_: LiveConfig, _: W) -> io::Result<LiveReport> {
    Err(io::Error::other(
        "live capture needs Linux (AF_PACKET); use `rmqdump proxy`",
    ))
}
