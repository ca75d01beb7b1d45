//! `rmqdump proxy`: runs a [`Proxy`] until a signal or a duration, turning what passes
//! through the tap into TCP packets (`capture::writer::TcpConversation`) that go to a pcap
//! (`-w`) and through a dissector whose frames are printed like `read`'s.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;

use super::{Proxy, Tap};
use crate::analysis::{Dissector, Event, Options};
use crate::capture::LinkType;
use crate::capture::writer::{PacketSink, PcapWriter, TcpConversation};
use crate::output::{self, OutputOptions};

/// How the proxy runs.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// Where clients connect, as their NameServer.
    pub listen: SocketAddr,
    /// The real NameServer.
    pub namesrv: String,
    /// Also write what passed as a pcap.
    pub write: Option<String>,
    /// JSON Lines instead of text lines.
    pub json: bool,
    /// Stop after this many seconds (`None`: at Ctrl-C / SIGTERM).
    pub duration: Option<f64>,
}

/// What the proxy did.
#[derive(Debug, Default)]
pub struct ProxyReport {
    pub packets: u64,
    pub rewrites: u64,
    /// Client connections closed because their upstream could not be reached.
    pub unreachable: u64,
}

/// What to say when an upstream cannot be reached.
fn unreachable_line(upstream: &str, namesrv: bool, error: &str) -> String {
    if namesrv {
        format!(
            "rmqdump: proxy: NameServer {upstream} cannot be reached ({error}); clients are closed until it answers, the proxy keeps listening: start the NameServer or check --namesrv"
        )
    } else {
        format!(
            "rmqdump: proxy: broker {upstream} (named by a route answer) cannot be reached ({error}); its clients are closed, the proxy keeps listening"
        )
    }
}

/// Packets synthesised from what the proxy forwarded: to the pcap (-w) and to a dissector
/// whose output is printed.
struct ProxySink<'a, W: Write> {
    pcap: Option<PcapWriter<BufWriter<std::fs::File>>>,
    dissector: Dissector,
    number: u64,
    out: &'a mut W,
    writer: output::FrameWriter,
    err: Option<io::Error>,
}

impl<W: Write> ProxySink<'_, W> {
    fn print(&mut self, ev: Event) {
        let oo = OutputOptions::default();
        let r = match ev {
            Event::Frame(r) => {
                let d = output::decode_record(&r, &oo);
                self.writer
                    .write(&mut *self.out, &r, d.as_ref(), &oo)
                    .and_then(|_| self.out.flush())
            }
            Event::Problem(p) => {
                eprintln!("proxy: {}", output::problem_line(&p));
                Ok(())
            }
        };
        if let Err(e) = r {
            self.err.get_or_insert(e);
        }
    }
}

impl<W: Write> PacketSink for ProxySink<'_, W> {
    fn packet(&mut self, ts: i64, data: &[u8]) -> io::Result<()> {
        if let Some(p) = &mut self.pcap {
            p.write_packet(ts, data)?;
        }
        self.number += 1;
        let mut events = Vec::new();
        self.dissector
            .handle_packet(self.number, ts, LinkType::ETHERNET, data, &mut |e| {
                events.push(e)
            });
        for e in events {
            self.print(e);
        }
        Ok(())
    }
}

/// Runs the proxy: frames printed to `out`, progress and problems on standard error.
pub fn run<W: Write>(cfg: &ProxyConfig, opts: Options, mut out: W) -> io::Result<ProxyReport> {
    let listen = cfg.listen;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (tx, mut rx) = super::tap_channel();
    let pcap = match &cfg.write {
        Some(f) => {
            let mut w = PcapWriter::new(BufWriter::new(
                std::fs::File::create(f)
                    .map_err(|e| io::Error::new(e.kind(), format!("{f}: {e}")))?,
            ))?;
            // The file header at once: a reader of a fifo (Wireshark's extcap) waits for it.
            w.flush()?;
            Some(w)
        }
        None => None,
    };
    let mut sink = ProxySink {
        pcap,
        dissector: Dissector::new(Options {
            keep_wire: false,
            ..opts
        }),
        number: 0,
        out: &mut out,
        writer: output::FrameWriter::new(cfg.json, false),
        err: None,
    };
    let mut convs: BTreeMap<usize, TcpConversation> = Default::default();
    let mut rewrites = 0u64;
    let mut unreachable: BTreeMap<String, u64> = BTreeMap::new();
    // Upstreams whose failure was already said. (The NameServer is not probed at start:
    // the proxy connects upstream only for a client, as the NameServer would see it.)
    let mut said = std::collections::BTreeSet::new();
    let result: io::Result<()> = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            let hint = match e.kind() {
                io::ErrorKind::AddrInUse => {
                    "; another program listens there: pick another --listen"
                }
                io::ErrorKind::AddrNotAvailable => "; not an address of this host: check --listen",
                io::ErrorKind::PermissionDenied => {
                    "; ports below 1024 need privileges: pick another --listen"
                }
                _ => "",
            };
            io::Error::new(e.kind(), format!("listen on {listen}: {e}{hint}"))
        })?;
        eprintln!(
            "rmqdump proxy: listening on {listen}, NameServer {}",
            cfg.namesrv
        );
        let p = Proxy::new(tx, listen.ip());
        let server = tokio::spawn(p.serve_namesrv(listener, cfg.namesrv.clone()));
        let stop = async {
            match cfg.duration {
                Some(s) => tokio::time::sleep(std::time::Duration::from_secs_f64(s)).await,
                None => {
                    let mut term =
                        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                            .expect("signal handler");
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
            }
        };
        let mut on_tap = |t: Tap| -> io::Result<()> {
            match t {
                Tap::Open {
                    conn,
                    client,
                    server,
                    ts,
                } => {
                    let mut c = TcpConversation::new(client, server);
                    c.handshake(&mut sink, ts)?;
                    convs.insert(conn, c);
                }
                Tap::Data {
                    conn,
                    from_client,
                    ts,
                    bytes,
                } => {
                    if let Some(c) = convs.get_mut(&conn) {
                        c.send(&mut sink, ts, from_client, &bytes)?;
                    }
                }
                Tap::Close { conn, ts } => {
                    if let Some(mut c) = convs.remove(&conn) {
                        c.close(&mut sink, ts)?;
                    }
                }
                Tap::Unreachable {
                    upstream,
                    namesrv,
                    error,
                    ..
                } => {
                    // The first failure of each upstream is said; the rest are counted.
                    if said.insert(upstream.clone()) {
                        eprintln!("{}", unreachable_line(&upstream, namesrv, &error));
                    }
                    *unreachable.entry(upstream).or_default() += 1;
                }
                Tap::Rewrote { addrs, .. } => {
                    rewrites += 1;
                    for (from, to) in addrs {
                        eprintln!("rmqdump proxy: route answer: broker {from} -> {to}");
                    }
                }
            }
            // Each event's packets out at once (a fifo's reader shows them as they pass).
            if let Some(p) = sink.pcap.as_mut() {
                p.flush()?;
            }
            match sink.err.take() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        };
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                t = rx.recv() => match t {
                    Some(t) => on_tap(t)?,
                    None => break,
                },
            }
        }
        server.abort();
        // What was forwarded before the stop is still in the tap: print and write it all.
        rx.close();
        while let Some(t) = rx.recv().await {
            on_tap(t)?;
        }
        Ok(())
    });
    // Connections still open at the end are closed in the capture.
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    for (_, mut c) in std::mem::take(&mut convs) {
        c.close(&mut sink, end)?;
    }
    let mut events = Vec::new();
    sink.dissector.finish(&mut |e| events.push(e));
    for e in events {
        sink.print(e);
    }
    if let Some(p) = &mut sink.pcap {
        p.flush()?;
    }
    eprintln!(
        "rmqdump proxy: {} packets, {rewrites} route answers rewritten",
        sink.number
    );
    for (upstream, n) in &unreachable {
        eprintln!(
            "rmqdump: proxy: {n} client connection(s) closed because {upstream} could not be reached"
        );
    }
    let report = ProxyReport {
        packets: sink.number,
        rewrites,
        unreachable: unreachable.values().sum(),
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(report),
        Err(e) => Err(e),
        Ok(()) => Ok(report),
    }
}
